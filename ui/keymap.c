/* keymap.c - the command table, default bindings and [keys] from porter.conf. */
#define _XOPEN_SOURCE_EXTENDED 1
#include "keymap.h"

#include <ctype.h>
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define I VIEW_INBOX
#define B VIEW_BOARD
#define H VIEW_HEALTH
#define A VIEW_ANY

const struct command commands[] = {
    /* everywhere */
    {"view-inbox", A, NULL, "show the inbox"},
    {"view-board", A, NULL, "show the work-order board"},
    {"view-health", A, NULL, "show sync health"},
    {"view-next", A, NULL, "next view"},
    {"help", A, NULL, "this help (type to filter)"},
    {"command", A, NULL, "command line (Tab completes, Up/Down history)"},
    {"redraw", A, NULL, "redraw the screen"},
    {"quit", A, NULL, "close the conversation, or quit porter"},
    {"down", A, NULL, "next row"},
    {"up", A, NULL, "previous row"},
    {"page-down", A, NULL, "next page"},
    {"page-up", A, NULL, "previous page"},
    {"top", A, NULL, "first row"},
    {"bottom", A, NULL, "last row"},
    /* inbox */
    {"open", I | B, NULL, "open the conversation / choose in a picker"},
    {"back", I | B, NULL, "close the conversation / the picker"},
    {"scroll-down", I, NULL, "scroll the conversation down"},
    {"scroll-up", I, NULL, "scroll the conversation up"},
    {"reply", I, "[text]", "reply on the guest's channel"},
    {"reply-editor", I, NULL, "reply in $VISUAL/$EDITOR"},
    {"note", I | B, "[text]", "internal note (never sent to the guest; on a card: its history)"},
    {"template", I, "[name]", "reply from a template"},
    {"retry", I | H, NULL, "send the failed write again"},
    {"discard", I | H, NULL, "discard the failed write"},
    {"edit", H, "[value]", "edit the failed write (text, status, priority, window) and queue it"},
    {"work-order", I, "[title]", "create a work order from this thread, linked both ways"},
    {"jump", I | B, NULL, "jump between a thread and its work order"},
    {"new", B, "[title]", "create a work order"},
    {"priority", B, "[low|normal|high|emergency]", "set the work order's priority"},
    {"schedule", B, "[DATE HH:MM-HH:MM]", "set the work order's schedule window"},
    {"dispatch", B, NULL, "pick a vendor for the work order (its trade, preferred first)"},
    {"all-trades", B, NULL, "in the vendor picker: every trade, or the work order's only"},
    {"assign", I | B, "[who|me|-]", "assign the thread (marked threads) or the work order"},
    {"snooze", I, "[2h|tomorrow|reply|-]", "snooze until a time or the guest's reply"},
    {"tag", I, "[+tag|-tag]", "add or remove a tag"},
    {"done", I, NULL, "mark done / not done"},
    {"mark", I, NULL, "mark the thread for a bulk action"},
    {"unmark-all", I, NULL, "clear every mark"},
    {"filter", I | B, "[query]",
     "filter: is:needs-reply is:unread is:mine is:unassigned "
     "channel:X account:X property:X checkin:today words"},
    {"filter-needs-reply", I, NULL, "toggle: needs a reply"},
    {"filter-unread", I, NULL, "toggle: unread"},
    {"filter-mine", I | B, NULL, "toggle: assigned to me"},
    {"filter-unassigned", I, NULL, "toggle: nobody assigned"},
    {"filter-channel", I, NULL, "cycle the channel filter"},
    {"filter-account", I, NULL, "cycle the account filter"},
    {"filter-property", I, NULL, "cycle the property filter"},
    {"filter-checkin", I, NULL, "toggle: checks in today"},
    {"filter-clear", I | B, NULL, "clear every filter"},
    {"filter-emergency", B, NULL, "toggle: emergencies only"},
    {"filter-overdue", B, NULL, "toggle: past their due date"},
    {"search-next", I, NULL, "next thread matching the search"},
    {"search-prev", I, NULL, "previous thread matching the search"},
    /* board */
    {"column-left", B, NULL, "previous column"},
    {"column-right", B, NULL, "next column"},
    {"toggle-closed", B, NULL, "show closed and cancelled"},
    {"ack", H, NULL, "acknowledge the alert"},
    {"keep-porter", H, NULL, "settle the conflict with porter's value (pushed to the PMS)"},
    {"keep-pms", H, NULL, "settle the conflict with the PMS's value"},
    {"undo", H, NULL, "undo the automation's actions"},
    {"move-left", B, NULL, "move the card to the previous status (written to the PMS)"},
    {"move-right", B, NULL, "move the card to the next status (written to the PMS)"},
    {"move", B, "[status]", "move the card to a status by name (written to the PMS)"},
    {NULL, 0, NULL, NULL},
};

#undef I
#undef B
#undef H
#undef A

const struct command *command_find(const char *name)
{
    for (const struct command *c = commands; name && c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

size_t command_complete(const char *prefix, unsigned view, const char **out, size_t max)
{
    size_t n = 0, len = strlen(prefix);
    for (const struct command *c = commands; c->name; c++) {
        if (!(c->views & view) || strncmp(c->name, prefix, len) != 0)
            continue;
        if (n < max)
            out[n] = c->name;
        n++;
    }
    return n;
}

/* ---- bindings ---- */

struct binding {
    unsigned views;
    int key;
    const char *command; /* a name from commands[] (static), NULL when unbound */
};

struct keymap {
    struct binding *b;
    size_t n, cap;
};

static const struct {
    unsigned views;
    const char *key;
    const char *command;
} defaults[] = {
    {VIEW_ANY, "1", "view-inbox"},
    {VIEW_ANY, "2", "view-board"},
    {VIEW_ANY, "3", "view-health"},
    {VIEW_ANY, "<Tab>", "view-next"},
    {VIEW_ANY, "?", "help"},
    {VIEW_ANY, ":", "command"},
    {VIEW_ANY, "C-l", "redraw"},
    {VIEW_ANY, "q", "quit"},
    {VIEW_ANY, "j", "down"},
    {VIEW_ANY, "<Down>", "down"},
    {VIEW_ANY, "k", "up"},
    {VIEW_ANY, "<Up>", "up"},
    {VIEW_ANY, "C-d", "page-down"},
    {VIEW_ANY, "<PageDown>", "page-down"},
    {VIEW_ANY, "C-u", "page-up"},
    {VIEW_ANY, "<PageUp>", "page-up"},
    {VIEW_ANY, "g", "top"},
    {VIEW_ANY, "<Home>", "top"},
    {VIEW_ANY, "G", "bottom"},
    {VIEW_ANY, "<End>", "bottom"},
    {VIEW_INBOX | VIEW_BOARD, "<Enter>", "open"},
    {VIEW_INBOX | VIEW_BOARD, "<Esc>", "back"},
    {VIEW_INBOX, "J", "scroll-down"},
    {VIEW_INBOX, "K", "scroll-up"},
    {VIEW_INBOX, "r", "reply"},
    {VIEW_INBOX, "E", "reply-editor"},
    {VIEW_INBOX | VIEW_BOARD, "I", "note"},
    {VIEW_INBOX, "t", "template"},
    {VIEW_INBOX | VIEW_HEALTH, "y", "retry"},
    {VIEW_INBOX | VIEW_HEALTH, "X", "discard"},
    {VIEW_HEALTH, "a", "ack"},
    {VIEW_HEALTH, "E", "edit"},
    {VIEW_HEALTH, "<", "keep-porter"},
    {VIEW_HEALTH, ">", "keep-pms"},
    {VIEW_HEALTH, "u", "undo"},
    {VIEW_INBOX, "W", "work-order"},
    {VIEW_INBOX | VIEW_BOARD, "w", "jump"},
    {VIEW_BOARD, "N", "new"},
    {VIEW_BOARD, "d", "dispatch"},
    {VIEW_BOARD, "p", "priority"},
    {VIEW_BOARD, "s", "schedule"},
    {VIEW_BOARD, "t", "all-trades"},
    {VIEW_INBOX | VIEW_BOARD, "a", "assign"},
    {VIEW_INBOX, "z", "snooze"},
    {VIEW_INBOX, "T", "tag"},
    {VIEW_INBOX, "e", "done"},
    {VIEW_INBOX, "v", "mark"},
    {VIEW_INBOX, "V", "unmark-all"},
    {VIEW_INBOX | VIEW_BOARD, "/", "filter"},
    {VIEW_BOARD, "!", "filter-emergency"},
    {VIEW_BOARD, "o", "filter-overdue"},
    {VIEW_INBOX, "R", "filter-needs-reply"},
    {VIEW_INBOX, "U", "filter-unread"},
    {VIEW_INBOX | VIEW_BOARD, "M", "filter-mine"},
    {VIEW_INBOX, "u", "filter-unassigned"},
    {VIEW_INBOX, "c", "filter-channel"},
    {VIEW_INBOX, "@", "filter-account"},
    {VIEW_INBOX, "P", "filter-property"},
    {VIEW_INBOX, "D", "filter-checkin"},
    {VIEW_INBOX | VIEW_BOARD, "x", "filter-clear"},
    {VIEW_INBOX, "n", "search-next"},
    {VIEW_INBOX, "N", "search-prev"},
    {VIEW_BOARD, "h", "column-left"},
    {VIEW_BOARD, "<Left>", "column-left"},
    {VIEW_BOARD, "l", "column-right"},
    {VIEW_BOARD, "<Right>", "column-right"},
    {VIEW_BOARD, "C", "toggle-closed"},
    {VIEW_BOARD, "H", "move-left"},
    {VIEW_BOARD, "L", "move-right"},
    {VIEW_BOARD, "m", "move"},
};

/* Set one (views, key) slot: a later binding of the same key in an overlapping view takes
 * those views away from the earlier one. */
static void set(struct keymap *km, unsigned views, int key, const char *command)
{
    for (size_t i = 0; i < km->n; i++)
        if (km->b[i].key == key)
            km->b[i].views &= ~views;
    if (km->n == km->cap) {
        km->cap = km->cap ? km->cap * 2 : 64;
        km->b = xrealloc(km->b, km->cap * sizeof(*km->b));
    }
    km->b[km->n++] = (struct binding){views, key, command};
}

struct keymap *keymap_new(void)
{
    struct keymap *km = xcalloc(1, sizeof(*km));
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        keymap_bind(km, defaults[i].views, keymap_parse_key(defaults[i].key), defaults[i].command);
    return km;
}

void keymap_free(struct keymap **km)
{
    if (!*km)
        return;
    free((*km)->b);
    free(*km);
    *km = NULL;
}

int keymap_bind(struct keymap *km, unsigned views, int key, const char *command)
{
    if (key < 0)
        return -1;
    if (!command) {
        set(km, views, key, NULL);
        return 0;
    }
    const struct command *c = command_find(command);
    if (!c || !(c->views & views))
        return -1;
    set(km, views & c->views, key, c->name);
    return 0;
}

const char *keymap_lookup(const struct keymap *km, unsigned view, int key)
{
    for (size_t i = km->n; i-- > 0;) /* the latest binding wins */
        if (km->b[i].key == key && (km->b[i].views & view))
            return km->b[i].command;
    return NULL;
}

static const struct {
    const char *name;
    int key;
} named[] = {
    {"<Enter>", '\n'},      {"<Esc>", 27},           {"<Tab>", '\t'},
    {"<BTab>", KEY_BTAB},   {"<Space>", ' '},        {"<Backspace>", KEY_BACKSPACE},
    {"<Up>", KEY_UP},       {"<Down>", KEY_DOWN},    {"<Left>", KEY_LEFT},
    {"<Right>", KEY_RIGHT}, {"<PageUp>", KEY_PPAGE}, {"<PageDown>", KEY_NPAGE},
    {"<Home>", KEY_HOME},   {"<End>", KEY_END},      {"<Delete>", KEY_DC},
};

int keymap_parse_key(const char *s)
{
    if (!s || !*s)
        return -1;
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if (strcasecmp(s, named[i].name) == 0)
            return named[i].key;
    if ((s[0] == '<' && (s[1] == 'F' || s[1] == 'f')) && isdigit((unsigned char)s[2])) {
        char *end;
        long f = strtol(s + 2, &end, 10);
        if (strcmp(end, ">") == 0 && f >= 1 && f <= 12)
            return KEY_F((int)f);
        return -1;
    }
    if ((s[0] == 'C' || s[0] == 'c') && s[1] == '-' && s[2] && !s[3]) {
        int ch = tolower((unsigned char)s[2]);
        if (ch >= 'a' && ch <= 'z' && ch != 'i' && ch != 'j' && ch != 'm' && ch != '[')
            return ch - 'a' + 1; /* C-i, C-j, C-m are <Tab> and <Enter> */
        return -1;
    }
    if (!s[1] && isgraph((unsigned char)s[0]))
        return (unsigned char)s[0];
    return -1;
}

void keymap_key_name(int key, char *out, size_t n)
{
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if (named[i].key == key) {
            snprintf(out, n, "%s", named[i].name);
            return;
        }
    if (key == KEY_ENTER || key == '\r') {
        snprintf(out, n, "<Enter>");
        return;
    }
    if (key >= KEY_F(1) && key <= KEY_F(12)) {
        snprintf(out, n, "<F%d>", key - KEY_F(0));
        return;
    }
    if (key >= 1 && key <= 26) {
        snprintf(out, n, "C-%c", 'a' + key - 1);
        return;
    }
    if (key > ' ' && key < 127) {
        snprintf(out, n, "%c", key);
        return;
    }
    snprintf(out, n, "<%d>", key);
}

void keymap_keys_of(const struct keymap *km, unsigned view, const char *command, char *out,
                    size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < km->n; i++) {
        const struct binding *b = &km->b[i];
        if (!b->command || strcmp(b->command, command) != 0 || !(b->views & view) ||
            keymap_lookup(km, view, b->key) != b->command)
            continue;
        char name[24];
        keymap_key_name(b->key, name, sizeof(name));
        int w = snprintf(out + used, n - used, "%s%s", used ? ", " : "", name);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
}

static void warn_add(char ***warn, size_t *nwarn, const struct config *c, int line,
                     const char *what)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "%s:%d: %s", c->porter_path ? c->porter_path : "porter.conf", line,
             what);
    *warn = xrealloc(*warn, (*nwarn + 1) * sizeof(**warn));
    (*warn)[(*nwarn)++] = xstrdup(msg);
}

void keymap_load(struct keymap *km, const struct config *c, char ***warn, size_t *nwarn)
{
    for (size_t i = 0; c && i < c->nentries; i++) {
        const struct conf_entry *en = &c->entries[i];
        if (strcmp(en->section, "keys") != 0)
            continue;
        unsigned views = VIEW_ANY;
        const char *key = en->key;
        static const struct {
            const char *prefix;
            unsigned view;
        } scopes[] = {{"inbox.", VIEW_INBOX}, {"board.", VIEW_BOARD}, {"health.", VIEW_HEALTH}};
        for (size_t k = 0; k < sizeof(scopes) / sizeof(scopes[0]); k++)
            if (strncmp(key, scopes[k].prefix, strlen(scopes[k].prefix)) == 0) {
                views = scopes[k].view;
                key += strlen(scopes[k].prefix);
            }
        int code = keymap_parse_key(key);
        char what[400];
        if (code < 0) {
            snprintf(what, sizeof(what),
                     "[keys] '%s': not a key (expected a character, C-x, <Enter>, <F1>, ...)",
                     en->key);
            warn_add(warn, nwarn, c, en->line, what);
            continue;
        }
        if (strcmp(en->value, "none") == 0) {
            keymap_bind(km, views, code, NULL);
            continue;
        }
        if (keymap_bind(km, views, code, en->value) != 0) {
            if (command_find(en->value))
                snprintf(what, sizeof(what), "[keys] %s: command '%s' does not exist in that view",
                         en->key, en->value);
            else
                snprintf(what, sizeof(what),
                         "[keys] %s: no command '%s' (the help screen, ?, lists them)", en->key,
                         en->value);
            warn_add(warn, nwarn, c, en->line, what);
        }
    }
}
