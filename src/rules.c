/* rules.c - see rules.h and docs/automations.md.
 *
 * Loading: every rule's lines, from the built-in set, porter.conf and rules.conf, become
 * `struct src_line`s grouped by rule name (a later definition of a name replaces an earlier
 * one whole: `[rule emergency] enabled = no` in porter.conf switches the built-in off);
 * each rule is then checked key by key and either kept or reported and left out.
 *
 * Running: see rules_run(). Acting: each action is one store call with actor "rule:NAME";
 * what it did (and the value before, for undo) is a rule_action row of the firing.
 */
#include "rules.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "model.h"
#include "text.h"

#define RULE_NAME_MAX   40
#define TEXT_MAX        4000 /* a reply or note a rule writes */
#define COMMAND_TIMEOUT 10   /* seconds a notify command may run */
#define DEFAULT_MAX_AGE (24 * 3600 * 1000LL)
#define OPEN_WO_WINDOW  (24 * 3600 * 1000LL) /* a second report joins the first work order */
#define EVENTS_PER_PASS 64
#define KEEP_EVENTS_MS  (7 * 86400000LL) /* handled events no rule fired for, kept a week */
#define TICK_MS         30000 /* time-based events (check-in today, SLA) are looked for this often */

/* The triggers: the names are rule_event.kind (data/schema.sql, migration 4). */
#define TRIGGERS(X)                                                                                \
    X(T_MESSAGE, "message")                                                                        \
    X(T_RES_CREATED, "reservation_created")                                                        \
    X(T_RES_MODIFIED, "reservation_modified")                                                      \
    X(T_RES_CANCELLED, "reservation_cancelled")                                                    \
    X(T_CHECKIN, "checkin")                                                                        \
    X(T_CHECKOUT, "checkout")                                                                      \
    X(T_WO_CREATED, "wo_created")                                                                  \
    X(T_WO_STATUS, "wo_status")                                                                    \
    X(T_WO_SCHEDULED, "wo_scheduled")                                                              \
    X(T_SLA, "sla")                                                                                \
    X(T_ALERT, "alert")

#define ACTIONS(X)                                                                                 \
    X(A_ASSIGN, "assign")                                                                          \
    X(A_TAG, "tag")                                                                                \
    X(A_PRIORITY, "priority")                                                                      \
    X(A_SNOOZE, "snooze")                                                                          \
    X(A_WORK_ORDER, "work_order")                                                                  \
    X(A_DISPATCH, "dispatch")                                                                      \
    X(A_STATUS, "status")                                                                          \
    X(A_REPLY, "reply")                                                                            \
    X(A_NOTE, "note")                                                                              \
    X(A_BELL, "bell")                                                                              \
    X(A_NOTIFY, "notify")

#define ENUM_ITEM(id, name) id,
#define NAME_ITEM(id, name) name,
enum trigger { TRIGGERS(ENUM_ITEM) T_COUNT };
enum action_kind { ACTIONS(ENUM_ITEM) A_COUNT };
static const char *const trigger_names[] = {TRIGGERS(NAME_ITEM)};
static const char *const action_names[] = {ACTIONS(NAME_ITEM)};

/* Conditions that are lists of words, each "any of". */
#define LISTS(X)                                                                                   \
    X(L_ACCOUNT, "account")                                                                        \
    X(L_ADAPTER, "adapter")                                                                        \
    X(L_PROPERTY, "property")                                                                      \
    X(L_CHANNEL, "channel")                                                                        \
    X(L_KIND, "kind")                                                                              \
    X(L_WORDS, "words")                                                                            \
    X(L_PRIORITY, "priority")                                                                      \
    X(L_STATUS, "status")                                                                          \
    X(L_FROM, "from")                                                                              \
    X(L_TRADE, "trade")                                                                            \
    X(L_ALERT, "alert")                                                                            \
    X(L_ORIGIN, "origin")
enum list_id { LISTS(ENUM_ITEM) L_COUNT };
static const char *const list_names[] = {LISTS(NAME_ITEM)};

struct list {
    char **v; /* owned, lowercased */
    size_t n;
};

struct action {
    enum action_kind kind;
    char *arg;   /* owned: assignee, tag, snooze, text (reply/note), command, title */
    char *trade; /* owned: work_order trade= ("auto": from the words), may be NULL */
    int prio;    /* priority / work_order: -1 none */
    int status;  /* status */
    int any;     /* dispatch any */
    int line;
};

struct rule {
    char *name, *file; /* owned */
    int line, enabled, stop;
    enum trigger on;
    int64_t after_ms; /* sla */
    int at_min;       /* checkin/checkout: not before this minute of the day (-1: any) */
    struct list lists[L_COUNT];
    char *pattern; /* owned */
    regex_t re;
    int has_re;
    struct action *acts; /* owned */
    size_t nacts;
};

struct rules {
    struct rule *v; /* owned */
    size_t n;
    char **errors; /* owned */
    size_t nerrors;
    int64_t max_age;
    int64_t last_tick; /* when the time-based events were last journaled */
};

/* ---- the default rule set (docs/automations.md) ---- */

static const char *const builtin_rules =
    "[rule emergency]\n"
    "on     = message\n"
    "words  = leak, leaks, leaking, leaked, flood, flooded, flooding, burst pipe, fire,"
    " smoke, gas, no heat, no heating, no hot water, no water, lockout, locked out\n"
    "action = work_order emergency trade=auto\n"
    "action = dispatch\n"
    "action = reply \"Thank you for telling us. We have logged this as an emergency and"
    " {vendor|our maintenance team} will contact you shortly. If anyone is in danger, call"
    " the emergency services first.\"\n"
    "\n"
    "[rule completed-follow-up]\n"
    "on     = wo_status\n"
    "status = completed\n"
    "action = reply \"Hi {guest_first_name|there}, the work on \\\"{work_order}\\\" has been"
    " marked as completed. Is everything working as it should? Just reply here if not.\"\n";

/* Which trade an emergency is, from its words (trade=auto). First match wins. */
static const struct {
    const char *word, *trade;
} trade_words[] = {
    {"gas", "plumbing"},       {"leak", "plumbing"},    {"flood", "plumbing"},
    {"pipe", "plumbing"},      {"water", "plumbing"},   {"toilet", "plumbing"},
    {"heat", "hvac"},          {"furnace", "hvac"},     {"boiler", "hvac"},
    {"air condition", "hvac"}, {"smoke", "electrical"}, {"fire", "electrical"},
    {"spark", "electrical"},   {"power", "electrical"}, {"locked out", "locksmith"},
    {"lockout", "locksmith"},  {"key", "locksmith"},
};

/* ---- small helpers ---- */

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

static void list_free(struct list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* "a, b ,c" -> {"a", "b", "c"} lowercased; empty items are dropped. */
static void list_parse(struct list *l, const char *value)
{
    list_free(l);
    char *copy = xstrdup(value), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *t = trim(tok);
        if (!*t)
            continue;
        l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
        l->v[l->n] = xstrdup(t);
        lower(l->v[l->n++]);
    }
    free(copy);
}

static int ieq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/* Does hay contain needle, ignoring ASCII case? */
static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}

static int list_has(const struct list *l, const char *v)
{
    for (size_t i = 0; i < l->n; i++)
        if (ieq(l->v[i], v))
            return 1;
    return 0;
}

static int word_char(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

/* Does text contain `word` at word boundaries (case-insensitive)? "leak*": any word
 * starting with leak. A phrase matches with any run of blanks between its words. */
static int has_word(const char *text, const char *word)
{
    size_t wn = strlen(word);
    int prefix = wn && word[wn - 1] == '*';
    if (prefix)
        wn--;
    if (!wn)
        return 0;
    for (const char *p = text; *p; p++) {
        if (p > text && word_char((unsigned char)p[-1]))
            continue;
        const char *t = p;
        size_t i = 0;
        while (i < wn && *t) {
            if (word[i] == ' ') {
                if (!isspace((unsigned char)*t))
                    break;
                while (isspace((unsigned char)*t))
                    t++;
                while (i < wn && word[i] == ' ')
                    i++;
                continue;
            }
            if (tolower((unsigned char)*t) != tolower((unsigned char)word[i]))
                break;
            t++;
            i++;
        }
        if (i == wn && (prefix || !word_char((unsigned char)*t)))
            return 1;
    }
    return 0;
}

static void today_local(int64_t now, char *out, size_t n, int *minute)
{
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d", &tm);
    if (minute)
        *minute = tm.tm_hour * 60 + tm.tm_min;
}

/* ---- loading ---- */

/* One line of a rule's definition. */
struct src_line {
    char *rule, *key, *value, *file; /* owned */
    int line;
};

struct loader {
    struct rules *r;
    struct src_line *lines; /* owned */
    size_t n;
    int defaults;
};

static void add_error(struct rules *r, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_error(struct rules *r, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *what = xvasprintf(fmt, ap);
    va_end(ap);
    r->errors = xrealloc(r->errors, (r->nerrors + 1) * sizeof(*r->errors));
    r->errors[r->nerrors++] =
        line > 0 ? xasprintf("%s:%d: %s", file, line, what) : xasprintf("%s: %s", file, what);
    free(what);
}

static void add_line(struct loader *ld, const char *rule, const char *key, const char *value,
                     const char *file, int line)
{
    ld->lines = xrealloc(ld->lines, (ld->n + 1) * sizeof(*ld->lines));
    struct src_line *l = &ld->lines[ld->n++];
    l->rule = xstrdup(rule);
    l->key = xstrdup(key);
    l->value = xstrdup(value);
    l->file = xstrdup(file);
    l->line = line;
}

/* "rule NAME" -> NAME; NULL when the section is not a rule. */
static const char *rule_section(const char *section)
{
    if (strncmp(section, "rule ", 5) != 0)
        return NULL;
    const char *n = section + 5;
    while (*n == ' ')
        n++;
    return n;
}

static int valid_rule_name(const char *n)
{
    size_t len = strlen(n);
    if (len < 1 || len > RULE_NAME_MAX)
        return 0;
    for (; *n; n++)
        if (!isalnum((unsigned char)*n) && *n != '-' && *n != '_')
            return 0;
    return 1;
}

/* An INI text of [rule NAME] sections (rules.conf, the built-in set). Lenient on purpose:
 * a bad line is reported and skipped, the rest is read. */
static void read_ini(struct loader *ld, const char *text, const char *file)
{
    char *copy = xstrdup(text), *save = NULL;
    char *rule = NULL;
    int lineno = 0;
    for (char *p = copy, *nl; p; p = nl) {
        nl = strchr(p, '\n');
        if (nl)
            *nl++ = '\0';
        lineno++;
        char *s = trim(p);
        if (!*s || *s == ';' || *s == '#')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            free(rule);
            rule = NULL;
            if (!end || trim(end + 1)[0]) {
                add_error(ld->r, file, lineno, "expected [rule NAME]");
                continue;
            }
            *end = '\0';
            const char *name = rule_section(trim(s + 1));
            if (!name || !valid_rule_name(name)) {
                add_error(ld->r, file, lineno,
                          "expected [rule NAME] with NAME of 1 to %d letters, digits, - or _",
                          RULE_NAME_MAX);
                continue;
            }
            rule = xstrdup(name);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            add_error(ld->r, file, lineno, "expected 'key = value'");
            continue;
        }
        if (!rule) {
            add_error(ld->r, file, lineno, "'key = value' outside a [rule NAME] section");
            continue;
        }
        *eq = '\0';
        add_line(ld, rule, trim(s), trim(eq + 1), file, lineno);
    }
    (void)save;
    free(rule);
    free(copy);
}

/* A quoted "text" (with \" \\ \n) or a bare word. *rest gets what follows. NULL when a
 * quote is not closed. */
static char *take_arg(const char *s, const char **rest)
{
    while (isspace((unsigned char)*s))
        s++;
    if (*s != '"') {
        size_t n = strcspn(s, " \t");
        *rest = s + n;
        return xstrndup(s, n);
    }
    struct buf b;
    buf_init(&b);
    for (s++; *s && *s != '"'; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            buf_append(&b, *s == 'n' ? "\n" : s, 1);
        } else {
            buf_append(&b, s, 1);
        }
    }
    if (*s != '"') {
        buf_free(&b);
        return NULL;
    }
    *rest = s + 1;
    return buf_steal(&b);
}

static int parse_action(struct rules *r, const struct config *c, const struct src_line *l,
                        struct action *a)
{
    memset(a, 0, sizeof(*a));
    a->prio = -1;
    a->line = l->line;
    char word[32];
    const char *v = l->value;
    size_t wn = strcspn(v, " \t");
    snprintf(word, sizeof(word), "%.*s", (int)(wn < sizeof(word) ? wn : sizeof(word) - 1), v);
    lower(word);
    int k = name_index(action_names, A_COUNT, word);
    if (k < 0) {
        char all[200] = "";
        for (int i = 0; i < A_COUNT; i++)
            snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", i ? ", " : "",
                     action_names[i]);
        add_error(r, l->file, l->line, "unknown action '%s' (expected one of %s)", word, all);
        return -1;
    }
    a->kind = (enum action_kind)k;
    const char *rest = v + wn;
    while (isspace((unsigned char)*rest))
        rest++;
    switch (a->kind) {
    case A_ASSIGN:
    case A_TAG:
    case A_SNOOZE:
        if (!*rest) {
            add_error(r, l->file, l->line, "%s needs a value (e.g. %s)", word,
                      a->kind == A_ASSIGN ? "assign maint"
                      : a->kind == A_TAG  ? "tag urgent"
                                          : "snooze 2h");
            return -1;
        }
        a->arg = xstrdup(rest);
        if (a->kind == A_SNOOZE && snooze_parse(rest, 0) < 0) {
            add_error(r, l->file, l->line,
                      "snooze: expected 30m, 2h, 1d, tomorrow, YYYY-MM-DD or reply, got '%s'",
                      rest);
            return -1;
        }
        if (a->kind == A_TAG) {
            for (const char *p = rest; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
                    add_error(r, l->file, l->line,
                              "tag: only A-Z a-z 0-9 _ - are allowed, got '%s'", rest);
                    return -1;
                }
        }
        return 0;
    case A_PRIORITY:
        if ((a->prio = priority_parse(rest)) < 0) {
            add_error(r, l->file, l->line,
                      "priority: expected low, normal, high or emergency, got '%s'", rest);
            return -1;
        }
        return 0;
    case A_STATUS:
        if ((a->status = wo_status_parse(rest)) < 0) {
            add_error(r, l->file, l->line,
                      "status: expected new, assigned, scheduled, in_progress, on_hold,"
                      " completed, closed or cancelled, got '%s'",
                      rest);
            return -1;
        }
        return 0;
    case A_WORK_ORDER:
        while (*rest) {
            const char *after;
            char *tok = take_arg(rest, &after);
            if (!tok) {
                add_error(r, l->file, l->line, "work_order: an unclosed quote");
                return -1;
            }
            if (strncmp(tok, "trade=", 6) == 0) {
                free(a->trade);
                a->trade = xstrdup(tok + 6);
            } else if (strncmp(tok, "title=", 6) == 0) {
                free(a->arg);
                a->arg = xstrdup(tok + 6);
            } else if (priority_parse(tok) >= 0) {
                a->prio = priority_parse(tok);
            } else {
                add_error(r, l->file, l->line,
                          "work_order: expected a priority, trade=TRADE or trade=auto, or"
                          " title=\"...\", got '%s'",
                          tok);
                free(tok);
                return -1;
            }
            free(tok);
            rest = after;
            while (isspace((unsigned char)*rest))
                rest++;
        }
        return 0;
    case A_DISPATCH:
        if (*rest && strcmp(rest, "any") != 0) {
            add_error(r, l->file, l->line,
                      "dispatch: expected nothing (the preferred vendor) or 'any', got '%s'", rest);
            return -1;
        }
        a->any = *rest != '\0';
        return 0;
    case A_REPLY:
    case A_NOTE: {
        if (!*rest) {
            add_error(r, l->file, l->line,
                      "%s needs \"text\" or the name of a template in [templates]", word);
            return -1;
        }
        const char *after;
        if (*rest == '"') {
            a->arg = take_arg(rest, &after);
            if (!a->arg || after[strspn(after, " \t")]) {
                add_error(r, l->file, l->line, "%s: expected one \"quoted text\"", word);
                return -1;
            }
        } else {
            const char *tpl = c ? config_get(c, "templates", rest) : NULL;
            if (!tpl) {
                add_error(r, l->file, l->line,
                          "%s: no template '%s' in [templates] of porter.conf (or write the"
                          " text in double quotes)",
                          word, rest);
                return -1;
            }
            a->arg = xstrdup(tpl);
        }
        if (strlen(a->arg) > TEXT_MAX) {
            add_error(r, l->file, l->line, "%s: the text is longer than %d bytes", word, TEXT_MAX);
            return -1;
        }
        return 0;
    }
    case A_NOTIFY:
        if (!*rest) {
            add_error(r, l->file, l->line, "notify needs a command");
            return -1;
        }
        a->arg = xstrdup(rest);
        return 0;
    case A_BELL:
        if (*rest) {
            add_error(r, l->file, l->line, "bell takes no value");
            return -1;
        }
        return 0;
    case A_COUNT:
        break;
    }
    return -1;
}

static void rule_clear(struct rule *u)
{
    free(u->name);
    free(u->file);
    for (int i = 0; i < L_COUNT; i++)
        list_free(&u->lists[i]);
    free(u->pattern);
    if (u->has_re)
        regfree(&u->re);
    for (size_t i = 0; i < u->nacts; i++) {
        free(u->acts[i].arg);
        free(u->acts[i].trade);
    }
    free(u->acts);
    memset(u, 0, sizeof(*u));
}

/* Variables a template of a rule may use (the inbox's, and what the rule did). */
static const char *const template_vars[] = {
    "guest_first_name", "guest_name",   "unit",    "property", "checkin", "checkout",
    "door_code",        "confirmation", "me",      "vendor",   "window",  "work_order",
    "status",           "rule",         "account", "text",
};

static int check_template(struct rules *r, const char *file, int line, const char *tpl)
{
    struct text_var vars[ARRAY_LEN(template_vars)];
    for (size_t i = 0; i < ARRAY_LEN(template_vars); i++)
        vars[i] = (struct text_var){template_vars[i], "x"};
    char out[64], why[160];
    if (text_expand(tpl, vars, ARRAY_LEN(vars), out, sizeof(out), why, sizeof(why)) != 0) {
        add_error(r, file, line,
                  "%s (variables: guest_first_name, guest_name, unit, property,"
                  " checkin, checkout, door_code, confirmation, vendor, window,"
                  " work_order, status, rule, account, text)",
                  why);
        return -1;
    }
    return 0;
}

/* Build rule `name` from its lines [from, to) of ld. 0 kept, -1 reported. */
static int build_rule(struct loader *ld, const struct config *c, const char *name, size_t from,
                      size_t to, struct rule *u)
{
    struct rules *r = ld->r;
    memset(u, 0, sizeof(*u));
    u->name = xstrdup(name);
    u->file = xstrdup(ld->lines[from].file);
    u->line = ld->lines[from].line; /* the first key's line */
    u->enabled = 1;
    u->on = T_COUNT;
    u->at_min = -1;
    int bad = 0, seen_on = 0, only_enabled = 1;
    for (size_t i = from; i < to; i++) {
        const struct src_line *l = &ld->lines[i];
        if (strcmp(l->rule, name) != 0)
            continue;
        const char *k = l->key, *v = l->value;
        if (strcmp(k, "enabled") != 0)
            only_enabled = 0;
        int li = name_index(list_names, L_COUNT, k);
        if (strcmp(k, "on") == 0) {
            int t = name_index(trigger_names, T_COUNT, v);
            if (t < 0) {
                add_error(r, l->file, l->line,
                          "on: expected message, reservation_created, reservation_modified,"
                          " reservation_cancelled, checkin, checkout, wo_created, wo_status,"
                          " wo_scheduled, sla or alert, got '%s'",
                          v);
                bad = 1;
            }
            u->on = t < 0 ? T_COUNT : (enum trigger)t;
            seen_on = 1;
        } else if (li >= 0) {
            list_parse(&u->lists[li], v);
            if (!u->lists[li].n) {
                add_error(r, l->file, l->line, "%s: expected a comma-separated list", k);
                bad = 1;
            }
        } else if (strcmp(k, "pattern") == 0) {
            free(u->pattern);
            u->pattern = xstrdup(v);
            if (u->has_re)
                regfree(&u->re);
            int rc = regcomp(&u->re, v, REG_EXTENDED | REG_ICASE | REG_NOSUB);
            u->has_re = rc == 0;
            if (rc != 0) {
                char why[120];
                regerror(rc, &u->re, why, sizeof(why));
                add_error(r, l->file, l->line, "pattern: not a POSIX extended regex: %s", why);
                bad = 1;
            }
        } else if (strcmp(k, "after") == 0) {
            if ((u->after_ms = duration_parse(v)) < 0) {
                add_error(r, l->file, l->line, "after: expected a duration like 30m, 2h or 1d");
                bad = 1;
            }
        } else if (strcmp(k, "at") == 0) {
            int hh, mm;
            char tail;
            if (sscanf(v, "%d:%d%c", &hh, &mm, &tail) != 2 || hh < 0 || hh > 23 || mm < 0 ||
                mm > 59) {
                add_error(r, l->file, l->line, "at: expected HH:MM (local time)");
                bad = 1;
            } else {
                u->at_min = hh * 60 + mm;
            }
        } else if (strcmp(k, "enabled") == 0 || strcmp(k, "stop") == 0) {
            int yes = ieq(v, "yes") || ieq(v, "true") || ieq(v, "on") || strcmp(v, "1") == 0;
            int no = ieq(v, "no") || ieq(v, "false") || ieq(v, "off") || strcmp(v, "0") == 0;
            if (!yes && !no) {
                add_error(r, l->file, l->line, "%s: expected yes or no", k);
                bad = 1;
            }
            *(strcmp(k, "enabled") == 0 ? &u->enabled : &u->stop) = yes;
        } else if (strcmp(k, "action") == 0) {
            struct action a;
            if (parse_action(r, c, l, &a) != 0 ||
                ((a.kind == A_REPLY || a.kind == A_NOTE) &&
                 check_template(r, l->file, l->line, a.arg) != 0)) {
                free(a.arg);
                free(a.trade);
                bad = 1;
                continue;
            }
            u->acts = xrealloc(u->acts, (u->nacts + 1) * sizeof(*u->acts));
            u->acts[u->nacts++] = a;
        } else {
            add_error(r, l->file, l->line,
                      "unknown key '%s' (expected on, action, account, adapter, property,"
                      " channel, kind, words, pattern, priority, status, from, trade, alert,"
                      " origin, after, at, stop or enabled)",
                      k);
            bad = 1;
        }
    }
    if (!u->enabled && only_enabled)
        return 0; /* switched off: nothing else is needed */
    if (!bad && !seen_on) {
        add_error(r, u->file, u->line, "rule '%s' has no 'on =' (what triggers it)", name);
        bad = 1;
    }
    if (!bad && !u->nacts) {
        add_error(r, u->file, u->line, "rule '%s' has no 'action =' (what it does)", name);
        bad = 1;
    }
    if (!bad && u->on == T_SLA && !u->after_ms) {
        add_error(r, u->file, u->line, "rule '%s': on = sla needs after = DURATION (e.g. 30m)",
                  name);
        bad = 1;
    }
    if (bad) {
        rule_clear(u);
        return -1;
    }
    return 0;
}

struct rules *rules_load(const struct config *c)
{
    struct rules *r = xcalloc(1, sizeof(*r));
    struct loader ld = {.r = r, .defaults = 1};
    r->max_age = DEFAULT_MAX_AGE;

    const char *v;
    if (c && (v = config_get(c, "rules", "defaults"))) {
        if (ieq(v, "off") || ieq(v, "no") || ieq(v, "false") || strcmp(v, "0") == 0)
            ld.defaults = 0;
        else if (!(ieq(v, "on") || ieq(v, "yes") || ieq(v, "true") || strcmp(v, "1") == 0))
            add_error(r, c->porter_path, 0, "[rules] defaults: expected on or off, got '%s'", v);
    }
    if (c && (v = config_get(c, "rules", "max_age"))) {
        int64_t ms = duration_parse(v);
        if (ms < 0)
            add_error(r, c->porter_path, 0, "[rules] max_age: expected a duration like 24h");
        else
            r->max_age = ms;
    }
    if (ld.defaults)
        read_ini(&ld, builtin_rules, "built-in");
    if (c) {
        for (size_t i = 0; i < c->nentries; i++) {
            const struct conf_entry *en = &c->entries[i];
            const char *name = rule_section(en->section);
            if (name && !valid_rule_name(name))
                add_error(r, c->porter_path, en->line,
                          "expected [rule NAME] with NAME of 1 to %d letters, digits, - or _",
                          RULE_NAME_MAX);
            else if (name)
                add_line(&ld, name, en->key, en->value, c->porter_path, en->line);
            else if (strcmp(en->section, "rules") == 0 && strcmp(en->key, "defaults") != 0 &&
                     strcmp(en->key, "max_age") != 0)
                add_error(r, c->porter_path, en->line,
                          "[rules]: unknown key '%s' (expected defaults or max_age)", en->key);
        }
        char *path = xasprintf("%s/rules.conf", c->config_dir);
        char *text = file_slurp(path, 1024 * 1024);
        if (text)
            read_ini(&ld, text, path);
        else if (errno != ENOENT)
            add_error(r, path, 0, "cannot read: %s", strerror(errno));
        free(text);
        free(path);
    }

    /* Group by name: a name's last file wins whole (porter.conf and rules.conf replace the
     * built-in rule of the same name; rules.conf replaces porter.conf). */
    for (size_t i = 0; i < ld.n; i++) {
        const char *name = ld.lines[i].rule;
        int first = 1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(ld.lines[k].rule, name) == 0)
                first = 0;
        if (!first)
            continue;
        /* the last file that defines it */
        const char *file = ld.lines[i].file;
        for (size_t k = i; k < ld.n; k++)
            if (strcmp(ld.lines[k].rule, name) == 0)
                file = ld.lines[k].file;
        size_t from = ld.n, to = ld.n;
        for (size_t k = 0; k < ld.n; k++)
            if (strcmp(ld.lines[k].rule, name) == 0 && strcmp(ld.lines[k].file, file) == 0) {
                if (from == ld.n)
                    from = k;
                to = k + 1;
            }
        /* lines of `name` between from and to in other files are skipped by build_rule's
         * name check only when they are another rule's; keep to this file's */
        struct rule u;
        struct loader one = ld;
        struct src_line *sub = xcalloc(to - from, sizeof(*sub));
        size_t m = 0;
        for (size_t k = from; k < to; k++)
            if (strcmp(ld.lines[k].file, file) == 0)
                sub[m++] = ld.lines[k];
        one.lines = sub;
        one.n = m;
        if (build_rule(&one, c, name, 0, m, &u) == 0) {
            r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
            r->v[r->n++] = u;
        }
        free(sub);
    }
    for (size_t i = 0; i < ld.n; i++) {
        free(ld.lines[i].rule);
        free(ld.lines[i].key);
        free(ld.lines[i].value);
        free(ld.lines[i].file);
    }
    free(ld.lines);
    return r;
}

void rules_free(struct rules **rp)
{
    struct rules *r = rp ? *rp : NULL;
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        rule_clear(&r->v[i]);
    free(r->v);
    for (size_t i = 0; i < r->nerrors; i++)
        free(r->errors[i]);
    free(r->errors);
    free(r);
    *rp = NULL;
}

size_t rules_count(const struct rules *r)
{
    return r->n;
}

const char *rules_name(const struct rules *r, size_t i)
{
    return r->v[i].name;
}

int rules_enabled(const struct rules *r, size_t i)
{
    return r->v[i].enabled;
}

const char *rules_where(const struct rules *r, size_t i, char *buf, size_t n)
{
    if (strcmp(r->v[i].file, "built-in") == 0)
        snprintf(buf, n, "built-in");
    else
        snprintf(buf, n, "%s:%d", r->v[i].file, r->v[i].line);
    return buf;
}

size_t rules_nerrors(const struct rules *r)
{
    return r->nerrors;
}

const char *rules_error(const struct rules *r, size_t i)
{
    return r->errors[i];
}

void rules_describe(const struct rules *r, size_t i, char *out, size_t n)
{
    const struct rule *u = &r->v[i];
    if (u->on == T_COUNT) { /* only `enabled = no`: a default switched off */
        snprintf(out, n, "switched off (enabled = no)");
        return;
    }
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "on %s", trigger_names[u->on]);
    if (u->after_ms)
        buf_printf(&b, " after %lldm", (long long)(u->after_ms / 60000));
    if (u->at_min >= 0)
        buf_printf(&b, " at %02d:%02d", u->at_min / 60, u->at_min % 60);
    const char *sep = " if ";
    for (int k = 0; k < L_COUNT; k++) {
        if (!u->lists[k].n)
            continue;
        buf_printf(&b, "%s%s ", sep, list_names[k]);
        for (size_t j = 0; j < u->lists[k].n; j++)
            buf_printf(&b, "%s%s", j ? "," : "", u->lists[k].v[j]);
        sep = " and ";
    }
    if (u->pattern)
        buf_printf(&b, "%spattern /%s/", sep, u->pattern);
    buf_puts(&b, ":");
    for (size_t k = 0; k < u->nacts; k++) {
        const struct action *a = &u->acts[k];
        buf_printf(&b, "%s %s", k ? ";" : "", action_names[a->kind]);
        if (a->kind == A_PRIORITY || (a->kind == A_WORK_ORDER && a->prio >= 0))
            buf_printf(&b, " %s", priority_name((enum priority)a->prio));
        if (a->kind == A_STATUS)
            buf_printf(&b, " %s", wo_status_name((enum wo_status)a->status));
        if (a->kind == A_DISPATCH && a->any)
            buf_puts(&b, " any");
        if (a->kind == A_WORK_ORDER && a->trade)
            buf_printf(&b, " trade=%s", a->trade);
        if (a->kind == A_ASSIGN || a->kind == A_TAG || a->kind == A_SNOOZE || a->kind == A_NOTIFY)
            buf_printf(&b, " %s", a->arg);
    }
    if (u->stop)
        buf_puts(&b, "; stop");
    char *s = buf_steal(&b);
    snprintf(out, n, "%s", s);
    free(s);
}

/* ---- matching ---- */

/* The event's text: the message, else the work order's title, else the alert's message. */
static const char *event_text(const struct rule_event_row *ev)
{
    return ev->text[0] ? ev->text : ev->wo_title[0] ? ev->wo_title : ev->alert_message;
}

/* The status a status condition looks at: a work order's new one, else the stay's. */
static const char *event_status(const struct rule_event_row *ev)
{
    if (strncmp(ev->kind, "wo_", 3) == 0)
        return strcmp(ev->kind, "wo_status") == 0 && ev->new_value[0] ? ev->new_value
                                                                      : ev->wo_status;
    return ev->stay_status;
}

static int matches(const struct rule *u, const struct rule_event_row *ev, int minute)
{
    if (strcmp(trigger_names[u->on], ev->kind) != 0)
        return 0;
    if (u->on == T_SLA && atoll(ev->new_value) != u->after_ms)
        return 0;
    if ((u->on == T_CHECKIN || u->on == T_CHECKOUT) && u->at_min >= 0 && minute < u->at_min)
        return 0;
    const struct list *L = u->lists;
    if (L[L_ACCOUNT].n && !list_has(&L[L_ACCOUNT], ev->account_name))
        return 0;
    if (L[L_ADAPTER].n && !list_has(&L[L_ADAPTER], ev->adapter))
        return 0;
    if (L[L_PROPERTY].n) {
        int any = 0;
        for (size_t i = 0; i < L[L_PROPERTY].n && !any; i++)
            any = ci_contains(ev->property, L[L_PROPERTY].v[i]) ||
                  ci_contains(ev->unit, L[L_PROPERTY].v[i]);
        if (!any)
            return 0;
    }
    if (L[L_CHANNEL].n && !list_has(&L[L_CHANNEL], ev->channel))
        return 0;
    if (L[L_KIND].n && !list_has(&L[L_KIND], ev->thread_kind))
        return 0;
    if (L[L_WORDS].n) {
        int any = 0;
        for (size_t i = 0; i < L[L_WORDS].n && !any; i++)
            any = has_word(event_text(ev), L[L_WORDS].v[i]);
        if (!any)
            return 0;
    }
    if (u->has_re && regexec(&u->re, event_text(ev), 0, NULL, 0) != 0)
        return 0;
    if (L[L_PRIORITY].n && !list_has(&L[L_PRIORITY], ev->wo_priority))
        return 0;
    if (L[L_STATUS].n && !list_has(&L[L_STATUS], event_status(ev)))
        return 0;
    if (L[L_FROM].n && !list_has(&L[L_FROM], ev->old_value))
        return 0;
    if (L[L_TRADE].n && !list_has(&L[L_TRADE], ev->wo_trade))
        return 0;
    if (L[L_ALERT].n && !list_has(&L[L_ALERT], ev->alert_kind))
        return 0;
    if (L[L_ORIGIN].n && !list_has(&L[L_ORIGIN], ev->origin))
        return 0;
    return 1;
}

/* ---- acting ---- */

/* What one firing has done so far: later actions build on earlier ones (dispatch the work
 * order the rule just made; say which vendor in the reply). */
struct act {
    const struct rule *u;
    const struct rule_event_row *ev;
    struct store *s;
    int64_t fire, now;
    char actor[64];
    char today[16];
    int64_t wo;                      /* the event's work order, or the one made */
    char *wo_title, *trade, *vendor; /* owned */
    int prio;                        /* of wo, -1 unknown */
    int64_t start, end;              /* wo's window */
    struct buf summary;
    int done, skipped, failed;
    struct err first_error;
};

static void summary_add(struct act *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void summary_add(struct act *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    if (x->summary.len)
        buf_puts(&x->summary, "; ");
    buf_puts(&x->summary, s);
    free(s);
}

/* Record an action. state "done", "skipped", "failed" or "queued". -1 only when the
 * database failed (the whole event is then rolled back and retried). */
static int record(struct act *x, const char *action, const char *entity, int64_t id,
                  const char *old_value, const char *new_value, const char *state,
                  const char *detail)
{
    struct err e;
    if (strcmp(state, "done") == 0 || strcmp(state, "queued") == 0)
        x->done++;
    else if (strcmp(state, "skipped") == 0)
        x->skipped++;
    else
        x->failed++;
    if (strcmp(state, "done") != 0 && strcmp(state, "queued") != 0)
        summary_add(x, "%s %s: %s", action, state, detail);
    else if (detail && *detail)
        summary_add(x, "%s", detail);
    if (store_rule_action_add(x->s, x->fire, action, entity, id, old_value, new_value, state,
                              detail, NULL, &e) != 0) {
        x->first_error = e;
        return -1;
    }
    return 0;
}

/* A store call failed: a database failure stops the event; anything else (a refused
 * value) is recorded and the rule goes on. */
static int store_failed(struct act *x, const char *action, const struct err *e)
{
    if (e->code < 1000 || e->retry == RETRY_LATER) { /* SQLite's codes are below 1000 */
        x->first_error = *e;
        return -1;
    }
    if (!x->first_error.msg[0])
        x->first_error = *e;
    return record(x, action, NULL, 0, NULL, NULL, "failed", e->msg);
}

static void fmt_window(int64_t start, int64_t end, char *out, size_t n)
{
    if (start > 0 && end > start)
        wo_window_fmt(start, end, out, n);
    else
        out[0] = '\0';
}

static int expand_for(struct act *x, const char *tpl, char *out, size_t n, char *why, size_t nwhy)
{
    const struct rule_event_row *ev = x->ev;
    char window[64], *text = text_clean(ev->text, strlen(ev->text), TEXT_MULTILINE);
    fmt_window(x->start, x->end, window, sizeof(window));
    const struct text_var vars[] = {
        {"guest_first_name", ev->guest_first},
        {"guest_name", ev->guest_name},
        {"unit", ev->unit},
        {"property", ev->property},
        {"checkin", ev->arrival},
        {"checkout", ev->departure},
        {"door_code", ev->door_code},
        {"confirmation", ev->confirmation},
        {"me", x->actor},
        {"vendor", x->vendor},
        {"window", window},
        {"work_order", x->wo_title},
        {"status", event_status(ev)},
        {"rule", x->u->name},
        {"account", ev->account_name},
        {"text", text},
    };
    int rc = text_expand(tpl, vars, ARRAY_LEN(vars), out, n, why, nwhy);
    free(text);
    return rc;
}

/* trade=auto: the first trade word of the event's text; "" when none. */
static const char *auto_trade(const char *text)
{
    for (size_t i = 0; i < ARRAY_LEN(trade_words); i++)
        if (ci_contains(text, trade_words[i].word))
            return trade_words[i].trade;
    return "";
}

/* The first line of a message, cleaned, at most 80 bytes (cut at a character boundary). */
static char *title_from(const char *text)
{
    char *clean = text_clean(text, strlen(text), TEXT_MULTILINE);
    char *t = trim(clean);
    size_t n = strcspn(t, "\n");
    if (n > 80) {
        n = 80;
        while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
            n--;
    }
    char *out = xstrndup(t, n);
    free(clean);
    return out;
}

static int act_thread_triage(struct act *x, const struct action *a)
{
    const struct rule_event_row *ev = x->ev;
    const char *name = action_names[a->kind];
    struct err e;
    if (!ev->thread) {
        if (a->kind == A_ASSIGN && x->wo) {
            if (store_wo_assign(x->s, x->wo, a->arg, x->actor, &e) != 0)
                return store_failed(x, name, &e);
            return record(x, name, "work_order", x->wo, ev->wo_assignee, a->arg, "done", NULL);
        }
        return record(x, name, NULL, 0, NULL, NULL, "skipped", "the event has no thread");
    }
    int rc;
    char old[32] = "", detail[120];
    const char *oldv = NULL, *newv = a->arg;
    if (a->kind == A_ASSIGN) {
        oldv = ev->assignee;
        rc = store_thread_assign(x->s, ev->thread, a->arg, &e);
        snprintf(detail, sizeof(detail), "assigned to %s", a->arg);
    } else if (a->kind == A_TAG) {
        char needle[48];
        snprintf(needle, sizeof(needle), ",%s,", a->arg);
        lower(needle);
        if (strstr(ev->tags, needle))
            return record(x, name, "thread", ev->thread, NULL, a->arg, "skipped", "already tagged");
        rc = store_thread_tag(x->s, ev->thread, a->arg, 1, &e);
        snprintf(detail, sizeof(detail), "tagged %s", a->arg);
    } else {
        int64_t until = snooze_parse(a->arg, x->now);
        snprintf(old, sizeof(old), "%lld", (long long)ev->snoozed_until);
        oldv = old;
        rc = store_thread_snooze(x->s, ev->thread, until, &e);
        snprintf(detail, sizeof(detail), "snoozed %s", a->arg);
    }
    if (rc != 0)
        return store_failed(x, name, &e);
    return record(x, name, "thread", ev->thread, oldv, newv, "done", detail);
}

static int act_work_order(struct act *x, const struct action *a)
{
    const struct rule_event_row *ev = x->ev;
    struct err e;
    if (!ev->thread || !ev->account)
        return record(x, "work_order", NULL, 0, NULL, NULL, "skipped",
                      "the event has no thread to make a work order from");
    int64_t open = 0;
    int f = store_wo_open_by(x->s, ev->thread, x->actor, OPEN_WO_WINDOW, &open, &e);
    if (f < 0)
        return store_failed(x, "work_order", &e);
    if (f == 1) {
        /* a second report of the same thing joins the first */
        x->wo = open;
        char *title = NULL;
        store_field_get(x->s, "work_order", open, "title", &title, &e);
        free(x->wo_title);
        x->wo_title = title ? title : xstrdup("");
        char detail[160];
        snprintf(detail, sizeof(detail), "work order #%lld is already open for this thread",
                 (long long)open);
        return record(x, "work_order", "work_order", open, NULL, NULL, "skipped", detail);
    }
    char *title = a->arg ? xstrdup(a->arg) : title_from(ev->text[0] ? ev->text : ev->subject);
    if (!*title) {
        free(title);
        title = xstrdup(ev->subject[0] ? ev->subject : "Work order");
    }
    char *desc = text_clean(ev->text, strlen(ev->text), TEXT_MULTILINE);
    int prio = a->prio >= 0 ? a->prio : PRIO_NORMAL;
    const char *trade = !a->trade                       ? ""
                        : strcmp(a->trade, "auto") == 0 ? auto_trade(ev->text)
                                                        : a->trade;
    int64_t wo = 0;
    int rc = store_queue_wo_create(x->s, ev->account, title, desc, (enum priority)prio, ev->thread,
                                   x->actor, &wo, &e);
    if (rc == 0)
        rc = store_wo_classify(x->s, wo, *trade ? trade : NULL, ev->message, &e);
    free(desc);
    if (rc != 0) {
        free(title);
        return store_failed(x, "work_order", &e);
    }
    x->wo = wo;
    x->prio = prio;
    free(x->wo_title);
    x->wo_title = title;
    free(x->trade);
    x->trade = xstrdup(trade);
    char detail[200];
    snprintf(detail, sizeof(detail), "work order #%lld %s%s%s", (long long)wo,
             priority_name((enum priority)prio), *trade ? " " : "", trade);
    return record(x, "work_order", "work_order", wo, NULL, title, "done", detail);
}

static int act_dispatch(struct act *x, const struct action *a)
{
    struct err e;
    if (!x->wo)
        return record(x, "dispatch", NULL, 0, NULL, NULL, "skipped", "no work order");
    char *cur = NULL;
    if (store_field_get(x->s, "work_order", x->wo, "vendor_id", &cur, &e) != 0)
        return store_failed(x, "dispatch", &e);
    if (cur) {
        free(cur);
        return record(x, "dispatch", "work_order", x->wo, NULL, NULL, "skipped",
                      "the work order already has a vendor");
    }
    const char *trade = x->trade ? x->trade : x->ev->wo_trade;
    int64_t vendor = 0;
    char *name = NULL;
    int f = store_rule_vendor(x->s, x->wo, trade, !a->any, x->today, &vendor, &name, &e);
    if (f < 0)
        return store_failed(x, "dispatch", &e);
    if (f == 0) {
        char why[200];
        snprintf(why, sizeof(why), "no %s%s%svendor with valid insurance%s%s",
                 a->any ? "" : "preferred ", trade, *trade ? " " : "",
                 x->ev->property[0] ? " for " : "", x->ev->property);
        return record(x, "dispatch", "work_order", x->wo, NULL, NULL, "skipped", why);
    }
    if (store_queue_wo_vendor(x->s, x->wo, vendor, x->actor, &e) != 0) {
        free(name);
        return store_failed(x, "dispatch", &e);
    }
    free(x->vendor);
    x->vendor = name;
    char id[24], detail[160];
    snprintf(id, sizeof(id), "%lld", (long long)vendor);
    snprintf(detail, sizeof(detail), "dispatched %s", name);
    return record(x, "dispatch", "work_order", x->wo, "", id, "done", detail);
}

static int act_wo_field(struct act *x, const struct action *a)
{
    const char *name = action_names[a->kind];
    struct err e;
    if (!x->wo)
        return record(x, name, NULL, 0, NULL, NULL, "skipped", "no work order");
    const char *field = a->kind == A_PRIORITY ? "priority" : "status";
    const char *want = a->kind == A_PRIORITY ? priority_name((enum priority)a->prio)
                                             : wo_status_name((enum wo_status)a->status);
    char *cur = NULL;
    if (store_field_get(x->s, "work_order", x->wo, field, &cur, &e) != 0)
        return store_failed(x, name, &e);
    if (cur && strcmp(cur, want) == 0) {
        free(cur);
        return record(x, name, "work_order", x->wo, want, want, "skipped", "already so");
    }
    int rc = a->kind == A_PRIORITY
                 ? store_queue_wo_priority(x->s, x->wo, (enum priority)a->prio, x->actor, &e)
                 : store_queue_wo_status(x->s, x->wo, (enum wo_status)a->status, x->actor, &e);
    if (rc != 0) {
        free(cur);
        return store_failed(x, name, &e);
    }
    char detail[96];
    snprintf(detail, sizeof(detail), "%s %s", field, want);
    rc = record(x, name, "work_order", x->wo, cur ? cur : "", want, "done", detail);
    free(cur);
    return rc;
}

static int act_message(struct act *x, const struct action *a)
{
    const struct rule_event_row *ev = x->ev;
    const char *name = action_names[a->kind];
    struct err e;
    char text[TEXT_MAX + 512], why[200];
    if (expand_for(x, a->arg, text, sizeof(text), why, sizeof(why)) != 0)
        return record(x, name, NULL, 0, NULL, NULL, "skipped", why);
    if (!ev->thread) {
        if (a->kind == A_NOTE && x->wo) {
            if (store_queue_wo_note(x->s, x->wo, text, x->actor, &e) != 0)
                return store_failed(x, name, &e);
            return record(x, name, "work_order", x->wo, NULL, text, "done",
                          "noted on the work order");
        }
        return record(x, name, NULL, 0, NULL, NULL, "skipped", "the event has no thread");
    }
    int ch = channel_parse(ev->channel);
    int64_t msg = 0;
    if (store_queue_reply(x->s, ev->thread, a->kind == A_REPLY ? DIR_OUT : DIR_NOTE,
                          ch < 0 ? CH_EMAIL : (enum channel)ch, x->actor, text, NULL, &msg,
                          &e) != 0)
        return store_failed(x, name, &e);
    return record(x, name, "message", msg, NULL, text, "done",
                  a->kind == A_REPLY ? "replied" : "noted");
}

static int act_one(struct act *x, const struct action *a)
{
    switch (a->kind) {
    case A_ASSIGN:
    case A_TAG:
    case A_SNOOZE:
        return act_thread_triage(x, a);
    case A_WORK_ORDER:
        return act_work_order(x, a);
    case A_DISPATCH:
        return act_dispatch(x, a);
    case A_PRIORITY:
    case A_STATUS:
        return act_wo_field(x, a);
    case A_REPLY:
    case A_NOTE:
        return act_message(x, a);
    case A_BELL:
        return record(x, "bell", NULL, 0, NULL, NULL, "done", "rang the bell");
    case A_NOTIFY:
        return record(x, "notify", NULL, 0, NULL, a->arg, "queued", "notified");
    case A_COUNT:
        break;
    }
    return 0;
}

static void act_clear(struct act *x)
{
    free(x->wo_title);
    free(x->trade);
    free(x->vendor);
    buf_free(&x->summary);
}

/* Is the event (through its chain of causes) a change `rule` made? */
static int own_change(struct store *s, const char *rule, int64_t cause, struct err *e)
{
    for (int hops = 0; cause && hops <= RULES_MAX_DEPTH; hops++) {
        char *who = NULL;
        int64_t next = 0;
        if (store_rule_fire_cause(s, cause, &who, &next, e) != 0)
            return -1;
        int mine = who && strcmp(who, rule) == 0;
        free(who);
        if (mine)
            return 1;
        cause = next;
    }
    return 0;
}

/* Fire rule u for event ev (inside the caller's transaction). 1 fired, 0 not, -1 database. */
static int fire(const struct rule *u, const struct rule_event_row *ev, struct store *s, int64_t now,
                int dry, FILE *out, struct err *e)
{
    if (!dry) {
        int f = store_rule_fired(s, u->name, ev->id, e);
        if (f != 0)
            return f < 0 ? -1 : 0;
    }
    int own = own_change(s, u->name, ev->cause_fire, e);
    if (own < 0)
        return -1;
    const char *skip = own ? "not again: the event is this rule's own change"
                       : ev->depth >= RULES_MAX_DEPTH
                           ? "not fired: a chain of rule-made changes reached its limit"
                           : NULL;
    if (skip) {
        if (out)
            fprintf(out, "  %s: %s\n", u->name, skip);
        if (skip && ev->depth >= RULES_MAX_DEPTH)
            log_warn("rules", "%s: event %lld: %s", u->name, (long long)ev->id, skip);
        return store_rule_fire_add(s, u->name, ev->id, "skipped", skip, NULL, NULL, e) ? -1 : 0;
    }
    int64_t water = 0;
    struct act x;
    memset(&x, 0, sizeof(x));
    x.u = u;
    x.ev = ev;
    x.s = s;
    x.now = now;
    x.wo = ev->wo;
    x.prio = priority_parse(ev->wo_priority);
    x.vendor = xstrdup(ev->vendor);
    x.wo_title = xstrdup(ev->wo_title);
    x.start = ev->window_start;
    x.end = ev->window_end;
    buf_init(&x.summary);
    snprintf(x.actor, sizeof(x.actor), "rule:%s", u->name);
    today_local(now, x.today, sizeof(x.today), NULL);
    if (store_rule_event_max(s, &water, e) != 0 ||
        store_rule_fire_add(s, u->name, ev->id, "done", "", NULL, &x.fire, e) != 0) {
        act_clear(&x);
        return -1;
    }
    for (size_t i = 0; i < u->nacts; i++)
        if (act_one(&x, &u->acts[i]) != 0) {
            *e = x.first_error;
            act_clear(&x);
            return -1;
        }
    const char *outcome = !x.failed ? (x.done ? "done" : "skipped") : x.done ? "partial" : "failed";
    char *summary = buf_steal(&x.summary);
    buf_init(&x.summary);
    int rc =
        store_rule_fire_set(s, x.fire, outcome, summary, x.failed ? x.first_error.msg : NULL, e);
    if (rc == 0)
        rc = store_rule_events_caused(s, water, x.fire, ev->depth + 1, e);
    if (rc == 0 && !dry)
        log_info("rules", "%s fired on %s %lld: %s: %s", u->name, ev->kind, (long long)ev->id,
                 outcome, summary);
    if (out)
        fprintf(out, "  %s (%s): %s\n", u->name, outcome, summary[0] ? summary : "nothing");
    free(summary);
    act_clear(&x);
    return rc == 0 ? 1 : -1;
}

/* Every rule for one event; the caller holds the transaction. Returns rules fired, -1. */
static int handle_event(struct rules *r, struct store *s, const struct rule_event_row *ev,
                        int64_t now, int dry, FILE *out, struct err *e)
{
    int fired = 0, minute = 0;
    char today[16];
    today_local(now, today, sizeof(today), &minute);
    /* History is not news: what happened longer than max_age ago fires nothing. */
    int64_t when = strcmp(ev->kind, "message") == 0 && ev->sent_at ? ev->sent_at : ev->at;
    if (!dry && when < now - r->max_age)
        return 0;
    /* A status that did not hold (a conflict the PMS won, a later change) is not acted on. */
    if (!dry && strcmp(ev->kind, "wo_status") == 0 && ev->wo && ev->new_value[0] &&
        strcmp(ev->wo_status, ev->new_value) != 0)
        return 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct rule *u = &r->v[i];
        if (!u->enabled || !matches(u, ev, minute))
            continue;
        int f = fire(u, ev, s, now, dry, out, e);
        if (f < 0)
            return -1;
        fired += f;
        if (u->stop)
            break;
    }
    return fired;
}

/* Journal the time-based events the rules listen for. */
static int time_events(struct rules *r, struct store *s, int64_t now, struct err *e)
{
    char today[16];
    int minute;
    today_local(now, today, sizeof(today), &minute);
    int want_in = 0, want_out = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct rule *u = &r->v[i];
        if (!u->enabled)
            continue;
        if (u->on == T_CHECKIN && (u->at_min < 0 || minute >= u->at_min))
            want_in = 1;
        if (u->on == T_CHECKOUT && (u->at_min < 0 || minute >= u->at_min))
            want_out = 1;
        if (u->on == T_SLA &&
            store_rule_time_events(s, "sla", today, now, u->after_ms, r->max_age, e) < 0)
            return -1;
    }
    if (store_rule_prune(s, now - KEEP_EVENTS_MS, e) < 0)
        return -1;
    if (want_in && store_rule_time_events(s, "checkin", today, now, 0, 0, e) < 0)
        return -1;
    if (want_out && store_rule_time_events(s, "checkout", today, now, 0, 0, e) < 0)
        return -1;
    return 0;
}

int rules_run(struct rules *r, struct store *s, int64_t now, int *fired, struct err *e)
{
    int handled = 0, total = 0;
    if (fired)
        *fired = 0;
    if (now - r->last_tick >= TICK_MS || now < r->last_tick) {
        if (time_events(r, s, now, e) != 0)
            return -1;
        r->last_tick = now;
    }
    for (;;) {
        struct rule_event_list evs;
        if (store_rule_events(s, now, EVENTS_PER_PASS, &evs, e) != 0)
            return -1;
        if (!evs.n) {
            rule_event_list_free(&evs);
            break;
        }
        /* one transaction for the batch: all of it or none of it is done (a failure rolls
         * every event of the batch back, and they are handled again next time) */
        if (store_begin(s, e) != 0) {
            rule_event_list_free(&evs);
            return -1;
        }
        int batch_fired = 0, events_fired = 0;
        for (size_t i = 0; i < evs.n; i++) {
            int f = handle_event(r, s, &evs.rows[i], now, 0, NULL, e);
            if (f < 0 || store_rule_event_done(s, evs.rows[i].id, e) != 0) {
                store_rollback(s);
                rule_event_list_free(&evs);
                return -1;
            }
            batch_fired += f;
            events_fired += f > 0;
        }
        if (store_commit(s, e) != 0) {
            store_rollback(s);
            rule_event_list_free(&evs);
            return -1;
        }
        for (int k = 0; k < events_fired; k++)
            engine_step("rule fired"); /* test hook: the firings and their ops are durable */
        total += batch_fired;
        handled += (int)evs.n;
        rule_event_list_free(&evs);
    }
    if (fired)
        *fired = total;
    return handled;
}

/* ---- notify commands ---- */

/* "NAME=value" with the value cleaned of control bytes (guests write these texts). */
static char *env_pair(const char *name, const char *value)
{
    char *v = text_clean(value ? value : "", value ? strlen(value) : 0, TEXT_MULTILINE);
    char *pair = xasprintf("%s=%s", name, v);
    free(v);
    return pair;
}

/* Run one command in a child with the event in its environment; its exit status, or -1.
 * The environment is built before fork: the child only calls async-signal-safe functions. */
static int run_command(const char *cmd, const struct rule_fire_row *f,
                       const struct rule_event_row *ev, char *why, size_t nwhy)
{
    extern char **environ;
    size_t base = 0;
    while (environ[base])
        base++;
    char **envp = xcalloc(base + 16, sizeof(*envp));
    size_t n = 0;
    for (size_t i = 0; i < base; i++)
        if (strncmp(environ[i], "PORTER_", 7) != 0)
            envp[n++] = environ[i];
    size_t own = n;
    char num[32];
    envp[n++] = env_pair("PORTER_RULE", f->rule);
    envp[n++] = env_pair("PORTER_EVENT", ev ? ev->kind : f->event_kind);
    envp[n++] = env_pair("PORTER_SUMMARY", f->summary);
    if (ev) {
        envp[n++] = env_pair("PORTER_ACCOUNT", ev->account_name);
        envp[n++] = env_pair("PORTER_PROPERTY", ev->property);
        envp[n++] = env_pair("PORTER_GUEST", ev->guest_name);
        envp[n++] = env_pair("PORTER_TEXT", event_text(ev));
        snprintf(num, sizeof(num), "%lld", (long long)ev->thread);
        envp[n++] = env_pair("PORTER_THREAD", num);
        snprintf(num, sizeof(num), "%lld", (long long)ev->wo);
        envp[n++] = env_pair("PORTER_WORK_ORDER", num);
    }
    envp[n] = NULL;
    char sh[] = "sh", dash_c[] = "-c";
    char *command = xstrdup(cmd);
    char *argv[] = {sh, dash_c, command, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execve("/bin/sh", argv, envp);
        _exit(127);
    }
    int saved = errno;
    free(command);
    for (size_t i = own; i < n; i++)
        free(envp[i]);
    free(envp);
    if (pid < 0) {
        snprintf(why, nwhy, "fork: %s", strerror(saved));
        return -1;
    }
    int status = 0;
    for (int waited = 0; waited < COMMAND_TIMEOUT * 20; waited++) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    snprintf(why, nwhy, "stopped after %d s", COMMAND_TIMEOUT);
    return -1;
}

int rules_commands(struct rules *r, struct store *s, struct err *e)
{
    (void)r;
    struct rule_fire_list fl;
    if (store_rule_commands(s, 16, &fl, e) != 0)
        return -1;
    int ran = 0;
    for (size_t i = 0; i < fl.n; i++) {
        struct rule_fire_row *f = &fl.rows[i];
        struct rule_event_list evs;
        if (store_rule_event_get(s, f->event, &evs, e) != 0) {
            rule_fire_list_free(&fl);
            return -1;
        }
        for (size_t k = 0; k < f->nactions; k++) {
            struct rule_action_row *a = &f->actions[k];
            /* marked running first: a crash while it runs never runs it again */
            if (store_rule_action_set(s, a->id, "running", NULL, e) != 0)
                break;
            char why[120] = "", detail[160];
            int rc = run_command(a->new_value, f, evs.n ? &evs.rows[0] : NULL, why, sizeof(why));
            if (rc == 0)
                snprintf(detail, sizeof(detail), "notified");
            else if (rc > 0)
                snprintf(detail, sizeof(detail), "the notify command exited with status %d", rc);
            else
                snprintf(detail, sizeof(detail), "the notify command failed: %s", why);
            if (rc != 0)
                log_warn("rules", "%s: %s", f->rule, detail);
            store_rule_action_set(s, a->id, rc == 0 ? "done" : "failed", detail, e);
            ran++;
        }
        rule_event_list_free(&evs);
    }
    rule_fire_list_free(&fl);
    return ran;
}

/* ---- porter rules test ---- */

static const char *jstr(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t jint(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* Replace *field with the JSON's string k, when it has one. */
static void override(char **field, const cJSON *j, const char *k)
{
    const char *v = jstr(j, k);
    if (v) {
        free(*field);
        *field = xstrdup(v);
    }
}

int rules_test(struct rules *r, struct store *s, const char *json, FILE *out, struct err *e)
{
    cJSON *j = cJSON_Parse(json);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return err_set(e, EINVAL, FINAL, "the event is not a JSON object (see porter(1), rules)");
    }
    int rc = -1;
    const char *on = jstr(j, "on");
    int64_t event = jint(j, "event"), account = 0;
    const char *acct = jstr(j, "account");
    if (!event && (!on || name_index(trigger_names, T_COUNT, on) < 0)) {
        err_set(e, EINVAL, FINAL,
                "the event needs \"on\": message, reservation_created, reservation_modified,"
                " reservation_cancelled, checkin, checkout, wo_created, wo_status,"
                " wo_scheduled, sla or alert (or \"event\": the id of a journaled event)");
        goto out;
    }
    if (acct) {
        int f = store_account_find(s, acct, &account, e);
        if (f <= 0) {
            if (f == 0)
                err_set(e, EINVAL, FINAL, "no account '%s' in the database", acct);
            goto out;
        }
    }
    if (store_begin(s, e) != 0)
        goto out;
    struct rule_event_list evs = {0};
    if (!event && store_rule_event_add(s, on, account, jint(j, "thread"), jint(j, "message"),
                                       jint(j, "stay"), jint(j, "work_order"), jstr(j, "from"),
                                       jstr(j, "status"), &event, e) != 0)
        goto rollback;
    if (store_rule_event_get(s, event, &evs, e) != 0)
        goto rollback;
    if (!evs.n) {
        err_set(e, EINVAL, FINAL, "no event %lld in the journal", (long long)event);
        goto rollback;
    }
    struct rule_event_row *ev = &evs.rows[0];
    /* what the JSON says wins over what the records say */
    const char *const fields[][2] = {{"text", NULL},     {"channel", NULL}, {"kind", NULL},
                                     {"property", NULL}, {"guest", NULL},   {"priority", NULL},
                                     {"trade", NULL},    {"alert", NULL}};
    (void)fields;
    override(&ev->text, j, "text");
    override(&ev->channel, j, "channel");
    override(&ev->thread_kind, j, "kind");
    override(&ev->property, j, "property");
    override(&ev->guest_name, j, "guest");
    if (jstr(j, "guest")) {
        free(ev->guest_first);
        ev->guest_first = xstrndup(ev->guest_name, strcspn(ev->guest_name, " "));
    }
    override(&ev->wo_priority, j, "priority");
    override(&ev->wo_trade, j, "trade");
    override(&ev->alert_kind, j, "alert");
    if (jint(j, "after_minutes")) {
        free(ev->new_value);
        ev->new_value = xasprintf("%lld", (long long)jint(j, "after_minutes") * 60000LL);
    }
    fprintf(out, "event: %s%s%s%s%s\n", ev->kind, ev->account_name[0] ? " on " : "",
            ev->account_name, ev->thread ? " in a thread" : "", ev->wo ? " of a work order" : "");
    int fired = handle_event(r, s, ev, now_ms(), 1, out, e);
    if (fired == 0)
        fprintf(out, "  no rule fires\n");
    if (fired >= 0) {
        fprintf(out, "(a dry run: nothing was written, nothing was sent)\n");
        rc = 0;
    }
rollback:
    rule_event_list_free(&evs);
    store_rollback(s);
out:
    cJSON_Delete(j);
    return rc;
}

/* ---- undo ---- */

/* Undo one action (reverse order of the firing). Writes what happened to b. -1 database. */
static int undo_one(struct store *s, const struct rule_action_row *a, const char *who,
                    int64_t cancelled_wo, struct buf *b)
{
    struct err e;
    char *cur = NULL;
    int rc = 0;
    const char *note = NULL;
    char tmp[160];
    if (strcmp(a->state, "done") != 0)
        return 0; /* skipped, failed, queued commands: nothing to reverse */
    if (strcmp(a->action, "work_order") == 0) {
        int w = store_wo_withdraw(s, a->entity_id, &e);
        if (w < 0 && e.code < 1000)
            return -1;
        if (w == 1) {
            snprintf(tmp, sizeof(tmp), "work order #%lld withdrawn before it was sent",
                     (long long)a->entity_id);
        } else if (store_field_get(s, "work_order", a->entity_id, "status", &cur, &e) == 0 && cur &&
                   strcmp(cur, "cancelled") != 0 && strcmp(cur, "completed") != 0 &&
                   strcmp(cur, "closed") != 0) {
            rc = store_queue_wo_status(s, a->entity_id, WO_CANCELLED, who, &e);
            snprintf(tmp, sizeof(tmp),
                     rc == 0 ? "work order #%lld cancelled" : "work order #%lld not cancelled: %s",
                     (long long)a->entity_id, e.msg);
        } else {
            snprintf(tmp, sizeof(tmp), "work order #%lld left (%s)", (long long)a->entity_id,
                     cur ? cur : "gone");
        }
        note = tmp;
    } else if (strcmp(a->action, "dispatch") == 0 || strcmp(a->action, "priority") == 0 ||
               strcmp(a->action, "status") == 0) {
        if (a->entity_id == cancelled_wo)
            return 0; /* the work order itself is withdrawn or cancelled */
        if (strcmp(a->action, "dispatch") == 0) {
            note = "the dispatch stays (a PMS has no un-dispatch: choose another vendor with d)";
        } else {
            const char *field = a->action;
            if (store_field_get(s, "work_order", a->entity_id, field, &cur, &e) != 0)
                return -1;
            if (!cur || strcmp(cur, a->new_value) != 0 || !a->old_value[0]) {
                snprintf(tmp, sizeof(tmp), "%s left: changed since", field);
            } else {
                rc = strcmp(field, "priority") == 0
                         ? store_queue_wo_priority(s, a->entity_id,
                                                   (enum priority)priority_parse(a->old_value), who,
                                                   &e)
                         : store_queue_wo_status(s, a->entity_id,
                                                 (enum wo_status)wo_status_parse(a->old_value), who,
                                                 &e);
                snprintf(tmp, sizeof(tmp), "%s back to %s", field, a->old_value);
            }
            note = tmp;
        }
    } else if (strcmp(a->action, "reply") == 0 || strcmp(a->action, "note") == 0) {
        int w = store_message_withdraw(s, a->entity_id, &e);
        if (w < 0 && e.code < 1000)
            return -1;
        note = w == 1 ? (strcmp(a->action, "reply") == 0 ? "reply withdrawn before it was sent"
                                                         : "note withdrawn")
                      : (strcmp(a->action, "reply") == 0
                             ? "the reply was already sent: it cannot be taken back"
                             : "the note was already sent");
    } else if (strcmp(a->action, "assign") == 0 && strcmp(a->entity, "thread") == 0) {
        rc = store_thread_assign(s, a->entity_id, a->old_value, &e);
        note = a->old_value[0] ? "assignee restored" : "unassigned";
    } else if (strcmp(a->action, "assign") == 0) {
        rc = store_wo_assign(s, a->entity_id, a->old_value, who, &e);
        note = "coordinator restored";
    } else if (strcmp(a->action, "tag") == 0) {
        rc = store_thread_tag(s, a->entity_id, a->new_value, 0, &e);
        snprintf(tmp, sizeof(tmp), "tag %s removed", a->new_value);
        note = tmp;
    } else if (strcmp(a->action, "snooze") == 0) {
        rc = store_thread_snooze(s, a->entity_id, atoll(a->old_value), &e);
        note = "snooze undone";
    } else {
        return 0; /* bell, notify: nothing to reverse */
    }
    free(cur);
    if (rc != 0 && e.code < 1000)
        return -1;
    if (rc == 0 && store_rule_action_set(s, a->id, "undone", note, &e) != 0)
        return -1;
    if (note) {
        if (b->len)
            buf_puts(b, "; ");
        buf_puts(b, note);
    }
    return 0;
}

int rules_undo(struct store *s, int64_t fire, const char *who, char *msg, size_t n, struct err *e)
{
    struct rule_fire_list fl;
    if (store_rule_fires(s, fire, 1, &fl, e) != 0)
        return -1;
    if (!fl.n) {
        rule_fire_list_free(&fl);
        return err_set(e, EINVAL, FINAL, "no automation firing %lld", (long long)fire);
    }
    struct rule_fire_row *f = &fl.rows[0];
    if (f->undone_at) {
        err_set(e, EINVAL, FINAL, "firing %lld of %s was already undone by %s", (long long)fire,
                f->rule, f->undone_by);
        rule_fire_list_free(&fl);
        return -1;
    }
    char actor[96];
    snprintf(actor, sizeof(actor), "%s (undo of rule %s)", who && *who ? who : "you", f->rule);
    struct buf b;
    buf_init(&b);
    int rc = store_begin(s, e);
    /* the work order the firing made, if any: its own later changes go with it */
    int64_t made = 0;
    for (size_t i = 0; i < f->nactions; i++)
        if (strcmp(f->actions[i].action, "work_order") == 0 &&
            strcmp(f->actions[i].state, "done") == 0)
            made = f->actions[i].entity_id;
    for (size_t i = f->nactions; rc == 0 && i-- > 0;)
        if (undo_one(s, &f->actions[i], actor, made, &b) != 0)
            rc = err_set(e, EIO, RETRY_LATER, "undo failed: the database refused a write");
    if (rc == 0)
        rc = store_rule_fire_undone(s, fire, who && *who ? who : "you", e);
    if (rc == 0)
        rc = store_commit(s, e);
    if (rc != 0)
        store_rollback(s);
    else
        snprintf(msg, n, "undid %s: %s", f->rule, b.len ? b.data : "nothing to reverse");
    buf_free(&b);
    rule_fire_list_free(&fl);
    return rc;
}
