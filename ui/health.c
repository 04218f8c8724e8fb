/* health.c - the health view, the integration log operators ask for:
 *
 *   accounts   state, last pull, webhook latency, queue depth and oldest age, failures,
 *              429s, circuit, sync mode (webhooks + poll interval);
 *   alerts     kind, subject, first/last seen, count; a acknowledges;
 *   conflicts  field, porter's value, the PMS's value, the rule applied; < keeps porter's
 *              (pushed), > keeps the PMS's;
 *   failed     writes the PMS refused: y retries, E edits (the text, status, priority or
 *              window, queued again in its place), X discards;
 *   ownership  for each synced field its owner (PMS / porter / shared), direction, rule;
 *   automations
 *              each loaded rule (on/off, times fired, errors, last fired, what it does), the
 *              rule errors of the configuration (file:line), and the recent firings: u undoes
 *              the selected one after a y/n.
 *
 * One cursor walks the rows that can be acted on (alerts, conflicts, failed writes, firings);
 * the section it is in decides what a key does. Every string from the database or from a
 * configuration file is cleaned (src/text.c) before it is laid out.
 */
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "rules.h"
#include "text.h"
#include "ui.h"

enum { FIRES_SHOWN = 20 }; /* recent firings listed */

enum item { IT_ALERT, IT_CONFLICT, IT_OP, IT_FIRE };

struct healthv {
    struct app *a;
    struct alert_list alerts;
    struct conflict_list conflicts;
    struct op_list ops;
    struct owner_list owners;
    struct rules *rules;         /* owned: loaded once, as the sync engine loads them */
    struct rule_stat_list stats; /* per rule: fired, errors, last */
    struct rule_fire_list fires; /* the recent firings, newest first */
    int sel;                     /* index over alerts, then conflicts, then ops, then firings */
    int top;                     /* first painted line of the scrolled part */
    int free_scroll; /* the page is not kept on the selected row (opened, or j/k went past) */
    int sel_below;   /* at the last paint, the selected row was below the window */
    int stale;       /* re-read when next shown (only the visible view reads the store) */
    int64_t edit_op; /* the failed write the edit prompt replaces */
    int64_t undo;    /* the firing the open y/n prompt undoes; 0: the prompt is an edit */
};

struct healthv *health_new(struct app *a)
{
    struct healthv *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->a = a;
    h->rules = rules_load(a->c);
    h->free_scroll = 1; /* opens at the top of the page, wherever the first row is */
    return h;
}

static void release(struct healthv *h)
{
    alert_list_free(&h->alerts);
    conflict_list_free(&h->conflicts);
    op_list_free(&h->ops);
    owner_list_free(&h->owners);
    rule_stat_list_free(&h->stats);
    rule_fire_list_free(&h->fires);
}

void health_free_view(struct healthv **h)
{
    if (!*h)
        return;
    release(*h);
    rules_free(&(*h)->rules);
    free(*h);
    *h = NULL;
}

static int items(const struct healthv *h)
{
    return (int)(h->alerts.n + h->conflicts.n + h->ops.n + h->fires.n);
}

static void load(struct healthv *h);

void health_reload(struct healthv *h)
{
    h->stale = 1;
    if (h->a->view == VIEW_HEALTH)
        load(h);
}

static enum item kind_of(const struct healthv *h, int i, int *k)
{
    if (i < (int)h->alerts.n) {
        *k = i;
        return IT_ALERT;
    }
    i -= (int)h->alerts.n;
    if (i < (int)h->conflicts.n) {
        *k = i;
        return IT_CONFLICT;
    }
    i -= (int)h->conflicts.n;
    if (i < (int)h->ops.n) {
        *k = i;
        return IT_OP;
    }
    *k = i - (int)h->ops.n;
    return IT_FIRE;
}

/* The database id of item i (alert, conflict, op or firing), to find it again after a
 * re-read: new rows (a firing is listed newest first) must not move the cursor off it. */
static int64_t item_id(const struct healthv *h, int i, enum item *it)
{
    int k;
    if (i >= items(h))
        return 0;
    *it = kind_of(h, i, &k);
    switch (*it) {
    case IT_ALERT:
        return h->alerts.rows[k].id;
    case IT_CONFLICT:
        return h->conflicts.rows[k].id;
    case IT_OP:
        return h->ops.rows[k].id;
    case IT_FIRE:
        return h->fires.rows[k].id;
    }
    return 0;
}

static void load(struct healthv *h)
{
    struct err e;
    enum item sel_kind = IT_ALERT;
    int64_t sel_id = item_id(h, h->sel, &sel_kind);
    h->stale = 0;
    release(h);
    if (store_alerts(h->a->s, 1, 50, &h->alerts, &e) != 0 ||
        store_conflicts(h->a->s, 50, &h->conflicts, &e) != 0 ||
        store_failed_ops(h->a->s, 50, &h->ops, &e) != 0 ||
        store_field_owners(h->a->s, &h->owners, &e) != 0 ||
        store_rule_stats(h->a->s, &h->stats, &e) != 0 ||
        store_rule_fires(h->a->s, 0, FIRES_SHOWN, &h->fires, &e) != 0)
        app_say(h->a, 1, "cannot read the health tables: %s", e.msg);
    for (int i = 0; sel_id && i < items(h); i++) {
        enum item it = IT_ALERT;
        if (item_id(h, i, &it) == sel_id && it == sel_kind) {
            h->sel = i;
            break;
        }
    }
    if (h->sel >= items(h))
        h->sel = items(h) ? items(h) - 1 : 0;
}

/* ---- painting: lines are laid out first, then the window shows a slice ---- */

struct out {
    int y, y0, y1; /* next virtual line; the visible window [y0, y1) in virtual lines */
    int base;      /* screen row of virtual line y0 */
    int w;
};

static void line(struct out *o, attr_t at, const char *text, int remote)
{
    if (o->y >= o->y0 && o->y < o->y1) {
        attrset(at);
        if (remote)
            draw_remote(stdscr, o->base + o->y - o->y0, 1, text, o->w - 2, 1);
        else
            draw_text(stdscr, o->base + o->y - o->y0, 1, text, o->w - 2, 1);
        attrset(A_NORMAL);
    }
    o->y++;
}

static void heading(struct out *o, const char *text)
{
    line(o, A_NORMAL, "", 0);
    line(o, A_BOLD | A_UNDERLINE, text, 0);
}

static void accounts(struct healthv *h, struct out *o)
{
    struct app *a = h->a;
    char buf[512];
    line(o, A_BOLD,
         "ACCOUNT        ADAPTER   STATE        CIRCUIT   PULL   P50/P95/MAX MS    QUEUE OLDEST "
         "FAILS 429S",
         0);
    int64_t now = now_ms();
    for (size_t i = 0; i < a->health.n; i++) {
        const struct health_row *r = &a->health.rows[i];
        char pull[16], oldest[16];
        draw_age(pull, sizeof(pull), r->last_pull_at, now);
        draw_age(oldest, sizeof(oldest), r->outbox_oldest, now);
        const char *st = account_state(r);
        int broken = state_is_broken(st);
        snprintf(buf, sizeof(buf),
                 "%-14.14s %-9.9s %s %-10.10s %-9.9s %-6s %4.0f/%4.0f/%5.0f %5lld %-6s %5lld %4lld",
                 r->name, r->adapter,
                 broken                  ? "✖"
                 : strcmp(st, "ok") == 0 ? "●"
                                         : "▲",
                 st, r->circuit, pull, r->lat_p50, r->lat_p95, r->lat_max,
                 (long long)r->outbox_depth, r->outbox_depth ? oldest : "-", (long long)r->failures,
                 (long long)r->rate_limited);
        line(o, broken ? draw_attr(R_BAD) : A_NORMAL, buf, 1);
        if (r->reason && *r->reason) {
            snprintf(buf, sizeof(buf), "    why: %s", r->reason);
            line(o, broken ? draw_attr(R_BAD) : draw_attr(R_DIM), buf, 1);
        }
        const struct account_conf *ac = config_account(a->c, r->name);
        if (ac) {
            snprintf(buf, sizeof(buf), "    sync: %s, poll every %d s",
                     ac->webhook_secret ? "webhooks (authenticated)"
                                        : "webhooks (NOT authenticated)",
                     ac->poll_interval);
            line(o, draw_attr(R_DIM), buf, 1);
        }
    }
    if (!a->health.n)
        line(o, A_NORMAL, "No accounts have synced yet (accounts.conf, porter.conf(5)).", 0);
}

/* Text from the database or a configuration file, cleaned (escape sequences and controls
 * removed), cut to cols display columns with an ellipsis and padded to exactly cols; cols < 0:
 * cleaned only (the line is cut to the window when drawn). */
static const char *fit(const char *raw, int cols, char *out, size_t n)
{
    char *clean = text_clean(raw ? raw : "", raw ? strlen(raw) : 0, 0);
    int w = text_fit(clean, cols < 0 ? 1 << 20 : cols, cols >= 0, out, n);
    free(clean);
    size_t len = strlen(out);
    for (; cols >= 0 && w < cols && len + 1 < n; w++)
        out[len++] = ' ';
    out[len] = '\0';
    return out;
}

static const struct rule_stat_row *stat_of(const struct healthv *h, const char *rule)
{
    for (size_t i = 0; i < h->stats.n; i++)
        if (strcmp(h->stats.rows[i].rule, rule) == 0)
            return &h->stats.rows[i];
    return NULL;
}

/* AUTOMATIONS: every loaded rule with what it did, then the rule errors of the
 * configuration; RECENT AUTOMATION FIRINGS: the firings (items: u undoes one). *idx counts
 * the items drawn so far; *sel_line gets the selected one's line. */
static void automations(struct healthv *h, struct out *o, int *idx, int *sel_line)
{
    char buf[1200], name[200], desc[600], what[800];
    int64_t now = now_ms();
    heading(o, "AUTOMATIONS  (rules of porter.conf and rules.conf; porter rules check)");
    size_t n = rules_count(h->rules);
    if (n) {
        snprintf(buf, sizeof(buf), "  %-22s %-3s %5s %4s %-6s %s", "RULE", "ON", "FIRED", "ERRS",
                 "LAST", "WHAT IT DOES");
        line(o, A_BOLD, buf, 0);
    }
    for (size_t i = 0; i < n; i++) {
        const char *rule = rules_name(h->rules, i);
        const struct rule_stat_row *st = stat_of(h, rule);
        char last[16];
        draw_age(last, sizeof(last), st ? st->last_at : 0, now);
        int on = rules_enabled(h->rules, i);
        rules_describe(h->rules, i, desc, sizeof(desc));
        snprintf(buf, sizeof(buf), "  %s %-3s %5lld %4lld %-6s %s",
                 fit(rule, 22, name, sizeof(name)), on ? "on" : "off",
                 st ? (long long)st->fired : 0LL, st ? (long long)st->errors : 0LL, last,
                 fit(desc, -1, what, sizeof(what)));
        line(o, on ? A_NORMAL : draw_attr(R_DIM), buf, 1);
        if (st && st->errors && st->last_error && *st->last_error) {
            snprintf(buf, sizeof(buf), "    last error: %s",
                     fit(st->last_error, -1, what, sizeof(what)));
            line(o, draw_attr(R_BAD), buf, 1);
        }
    }
    if (!n)
        line(o, A_NORMAL, "  no rules ([rule NAME] sections of porter.conf or rules.conf)", 0);
    size_t nerr = rules_nerrors(h->rules);
    if (nerr)
        line(o, A_BOLD, "  Rule errors (those rules are left out):", 0);
    for (size_t i = 0; i < nerr; i++) {
        snprintf(buf, sizeof(buf), "  ! %s", fit(rules_error(h->rules, i), -1, what, sizeof(what)));
        line(o, draw_attr(R_WARN), buf, 1);
    }

    heading(o, "RECENT AUTOMATION FIRINGS  (u undoes what the selected one did)");
    for (size_t i = 0; i < h->fires.n; i++, (*idx)++) {
        const struct rule_fire_row *r = &h->fires.rows[i];
        char when[16];
        draw_age(when, sizeof(when), r->at, now);
        const char *sum = r->summary && *r->summary ? r->summary : r->error ? r->error : "";
        snprintf(buf, sizeof(buf), "  #%-5lld %-5s %s %-7s %s%s", (long long)r->id, when,
                 fit(r->rule, 22, name, sizeof(name)), r->outcome ? r->outcome : "",
                 r->undone_at ? "[undone] " : "", fit(sum, -1, what, sizeof(what)));
        attr_t at = A_NORMAL;
        if (*idx == h->sel)
            at = draw_attr(R_SELECTED), *sel_line = o->y;
        else if (r->undone_at)
            at = draw_attr(R_DIM);
        else if (r->outcome && strcmp(r->outcome, "failed") == 0)
            at = draw_attr(R_BAD);
        else if (r->outcome && strcmp(r->outcome, "partial") == 0)
            at = draw_attr(R_WARN);
        line(o, at, buf, 1);
    }
    if (!h->fires.n)
        line(o, A_NORMAL, "  none", 0);
}

void health_paint(struct healthv *h, int y0, int hgt, int w)
{
    if (h->stale)
        load(h);
    attrset(A_NORMAL);
    for (int y = y0; y < y0 + hgt; y++)
        draw_blank(stdscr, y, 0, w);
    /* a first pass counts where the selected row falls, to scroll it into view */
    struct out o = {.y = 0, .y0 = 0, .y1 = 0, .base = y0, .w = w};
    int sel_line = 0;
    for (int pass = 0; pass < 2; pass++) {
        int total = o.y; /* after the first pass: every line of the page */
        o.y = 0;
        if (pass == 1) {
            if (items(h) && !h->free_scroll) { /* keep the selected row in view */
                if (sel_line < h->top)
                    h->top = sel_line;
                if (sel_line >= h->top + hgt - 1)
                    h->top = sel_line - hgt + 2;
            }
            if (h->top > total - hgt + 1)
                h->top = total - hgt + 1;
            if (h->top < 0)
                h->top = 0;
            o.y0 = h->top;
            o.y1 = h->top + hgt;
        }
        char buf[700];
        int idx = 0;
        accounts(h, &o);
        heading(&o, "ALERTS  (a acknowledges)");
        int64_t now = now_ms();
        for (size_t i = 0; i < h->alerts.n; i++, idx++) {
            const struct alert_row *r = &h->alerts.rows[i];
            char first[16], last[16];
            draw_age(first, sizeof(first), r->first_seen, now);
            draw_age(last, sizeof(last), r->last_seen, now);
            snprintf(buf, sizeof(buf), "%s %-14s %-10s %s ×%lld  first %s, last %s  %s",
                     r->acked_at ? "  ack" : "!    ", r->kind, r->account, r->subject,
                     (long long)r->count, first, last, r->message);
            if (idx == h->sel)
                sel_line = o.y;
            line(&o,
                 idx == h->sel ? draw_attr(R_SELECTED)
                 : r->acked_at ? draw_attr(R_DIM)
                               : draw_attr(R_WARN),
                 buf, 1);
        }
        if (!h->alerts.n)
            line(&o, A_NORMAL, "  none", 0);
        heading(&o,
                "CONFLICTS TO REVIEW  (< keeps porter's value and sends it, > keeps the PMS's)");
        for (size_t i = 0; i < h->conflicts.n; i++, idx++) {
            const struct conflict_row *r = &h->conflicts.rows[i];
            /* the values first: at 80 columns the title is what gets cut */
            snprintf(buf, sizeof(buf),
                     "  #%lld %s.%s porter '%s', PMS '%s' (was '%s'); %s: %s won; %s \"%s\"",
                     (long long)r->row_id, r->entity, r->field, r->local, r->remote, r->base,
                     r->rule, r->winner, r->account, r->title);
            if (idx == h->sel)
                sel_line = o.y;
            line(&o, idx == h->sel ? draw_attr(R_SELECTED) : A_NORMAL, buf, 1);
        }
        if (!h->conflicts.n)
            line(&o, A_NORMAL, "  none", 0);
        heading(&o, "FAILED WRITES  (y retries, E edits, X discards)");
        for (size_t i = 0; i < h->ops.n; i++, idx++) {
            const struct op_row *r = &h->ops.rows[i];
            snprintf(buf, sizeof(buf), "  ✗ %s %s %s #%lld \"%s\" after %d attempt%s: %s",
                     r->account, r->op, r->entity, (long long)r->entity_id, r->what, r->attempts,
                     r->attempts == 1 ? "" : "s", r->error);
            if (idx == h->sel)
                sel_line = o.y;
            line(&o, idx == h->sel ? draw_attr(R_SELECTED) : draw_attr(R_BAD), buf, 1);
        }
        if (!h->ops.n)
            line(&o, A_NORMAL, "  none", 0);
        heading(&o, "OWNERSHIP  (who is the system of record for each synced field)");
        line(&o, A_BOLD, "  FIELD                     OWNER    DIRECTION         CONFLICT RULE", 0);
        for (size_t i = 0; i < h->owners.n; i++) {
            const struct owner_row *r = &h->owners.rows[i];
            const char *dir = strcmp(r->owner, "pms") == 0     ? "PMS -> porter"
                              : strcmp(r->owner, "local") == 0 ? "porter only"
                                                               : "both ways";
            const char *who = strcmp(r->owner, "pms") == 0     ? "PMS"
                              : strcmp(r->owner, "local") == 0 ? "porter"
                                                               : "shared";
            snprintf(buf, sizeof(buf), "  %-25s %-8s %-17s %s", "", who, dir,
                     strcmp(r->owner, "shared") == 0 ? r->rule : "-");
            char name[64];
            snprintf(name, sizeof(name), "%s.%s", r->entity, r->field);
            memcpy(buf + 2, name, strlen(name) < 25 ? strlen(name) : 25);
            line(&o, A_NORMAL, buf, 0);
        }
        automations(h, &o, &idx, &sel_line);
    }
    h->sel_below = items(h) && sel_line >= h->top + hgt - 1;
}

/* A message from rules.c or the database on the message line: cleaned first (it carries rule
 * names, tags and who undid a firing). */
static void say_clean(struct app *a, int bad, const char *prefix, const char *text)
{
    char *clean = text_clean(text, strlen(text), 0);
    app_say(a, bad, "%s%s", prefix, clean);
    free(clean);
}

/* u: the y/n before undoing a firing (what it undoes is fixed now, whatever arrives). The
 * line editor shows at most half the width of prompt, so the rule's name is cut to leave
 * "(y/n)" in view; what the firing did is shown above the prompt until the next key. */
static void ask_undo(struct healthv *h, const struct rule_fire_row *r)
{
    struct app *a = h->a;
    char name[200], what[800], head[32], prompt[96];
    if (r->undone_at) {
        char by[120];
        app_say(a, 1, "#%lld of %s was already undone by %s", (long long)r->id,
                fit(r->rule, -1, name, sizeof(name)), fit(r->undone_by, -1, by, sizeof(by)));
        return;
    }
    static const char tail[] = "? (y/n) ";
    snprintf(head, sizeof(head), "Undo #%lld of ", (long long)r->id);
    int room = a->cols / 2 - (int)strlen(head) - (int)strlen(tail);
    fit(r->rule, room < 4 ? 4 : room > 40 ? 40 : room, name, sizeof(name));
    for (size_t len = strlen(name); len && name[len - 1] == ' ';) /* fit pads */
        name[--len] = '\0';
    snprintf(prompt, sizeof(prompt), "%s%s%s", head, name, tail);
    h->undo = r->id;
    app_prompt(a, prompt, "", P_OP_EDIT, NULL);
    app_say(a, 0, "#%lld %s did: %s", (long long)r->id, fit(r->rule, -1, name, sizeof(name)),
            fit(r->summary && *r->summary ? r->summary : "nothing", -1, what, sizeof(what)));
}

static void undo_fire(struct healthv *h, int64_t fire)
{
    struct app *a = h->a;
    struct err e;
    char msg[512];
    if (rules_undo(a->s, fire, a->me, msg, sizeof(msg), &e) != 0)
        say_clean(a, 1, "not undone: ", e.msg);
    else
        say_clean(a, 0, "", msg);
    health_reload(h);
    board_reload(a->board);
    inbox_reload(a->inbox);
}

int health_command(struct healthv *h, const char *cmd, const char *arg)
{
    (void)arg;
    struct app *a = h->a;
    struct err e;
    int n = items(h), k;
    int nav = strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0 || strcmp(cmd, "top") == 0 ||
              strcmp(cmd, "bottom") == 0 || strcmp(cmd, "page-down") == 0 ||
              strcmp(cmd, "page-up") == 0;
    int was_free = h->free_scroll;
    if (nav)
        h->free_scroll = 0;
    if (strcmp(cmd, "down") == 0 && was_free && h->sel_below)
        ; /* the selected row is further down the page: j first brings it into view */
    else if (strcmp(cmd, "down") == 0 && h->sel < n - 1)
        h->sel++;
    else if (strcmp(cmd, "down") == 0) /* past the last actionable row: scroll the page */
        h->top++, h->free_scroll = 1;
    else if (strcmp(cmd, "up") == 0 && h->sel > 0 && !(h->free_scroll && h->top > 0))
        h->sel--;
    else if (strcmp(cmd, "up") == 0)
        h->top = h->top > 0 ? h->top - 1 : 0, h->free_scroll = 1;
    else if (strcmp(cmd, "top") == 0)
        h->sel = 0, h->top = 0;
    else if (strcmp(cmd, "bottom") == 0)
        h->sel = n ? n - 1 : 0, h->top = 1 << 20, h->free_scroll = 1;
    else if (strcmp(cmd, "page-down") == 0)
        h->sel = h->sel + 10 < n ? h->sel + 10 : (n ? n - 1 : 0);
    else if (strcmp(cmd, "page-up") == 0)
        h->sel = h->sel > 10 ? h->sel - 10 : 0;
    else if (n == 0)
        app_say(a, 0, "nothing to act on: no alert, conflict, failed write or automation firing");
    else {
        enum item it = kind_of(h, h->sel, &k);
        int rc = 0;
        if (strcmp(cmd, "undo") == 0 && it == IT_FIRE) {
            ask_undo(h, &h->fires.rows[k]);
            return 1;
        } else if (strcmp(cmd, "undo") == 0) {
            app_say(a, 1,
                    "'undo' undoes an automation firing: select one under RECENT "
                    "AUTOMATION FIRINGS (G)");
            return 1;
        } else if (strcmp(cmd, "ack") == 0 && it == IT_ALERT)
            rc = store_alert_ack(a->s, h->alerts.rows[k].id, &e);
        else if ((strcmp(cmd, "keep-porter") == 0 || strcmp(cmd, "keep-pms") == 0) &&
                 it == IT_CONFLICT)
            rc = store_conflict_resolve(a->s, h->conflicts.rows[k].id,
                                        cmd[5] == 'p' && cmd[6] == 'o', a->me, &e);
        else if (strcmp(cmd, "retry") == 0 && it == IT_OP)
            rc = store_op_retry(a->s, h->ops.rows[k].id, &e);
        else if (strcmp(cmd, "discard") == 0 && it == IT_OP)
            rc = store_op_discard(a->s, h->ops.rows[k].id, &e);
        else if (strcmp(cmd, "edit") == 0 && it == IT_OP && !arg) {
            const struct op_row *r = &h->ops.rows[k];
            char prompt[96];
            h->edit_op = r->id;
            h->undo = 0;
            snprintf(prompt, sizeof(prompt), "Edit the %s (Enter queues it again): ", r->op);
            app_prompt(a, prompt, r->what, P_OP_EDIT, NULL);
            a->dirty = 1;
            return 1;
        } else if (strcmp(cmd, "edit") == 0 && it == IT_OP)
            rc = store_op_edit(a->s, h->ops.rows[k].id, arg, a->me, &e);
        else {
            app_say(a, 1, "'%s' does not apply to the selected row", cmd);
            return 1;
        }
        if (rc != 0)
            app_say(a, 1, "%s", e.msg);
        else
            app_say(a, 0, "%s: done", cmd);
        health_reload(h);
        board_reload(a->board);
        inbox_reload(a->inbox);
    }
    a->dirty = 1;
    return 1;
}

/* Enter on the view's prompt: the y/n of an undo (u), or the edit prompt (E): the failed
 * write chosen when the prompt opened is replaced. */
void health_accept(struct healthv *h, const char *text)
{
    struct err e;
    struct app *a = h->a;
    if (h->undo) {
        int64_t fire = h->undo;
        h->undo = 0;
        if (text[0] == 'y' || text[0] == 'Y')
            undo_fire(h, fire);
        else
            app_say(a, 0, "not undone");
        return;
    }
    if (store_op_edit(a->s, h->edit_op, text, a->me, &e) != 0) {
        app_say(a, 1, "not edited: %s", e.msg);
        return;
    }
    app_say(a, 0, "edited: queued again for the PMS");
    health_reload(h);
    board_reload(a->board);
    inbox_reload(a->inbox);
}
