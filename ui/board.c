/* board.c - the work-order board (columns by canonical status) and the health view.
 *
 * Columns: new, assigned, scheduled, in progress, on hold, completed; closed and cancelled
 * behind a toggle. Each column scrolls on its own; emergencies come first (the store's
 * column order). As many columns as fit at 26 columns each are shown, the focused one
 * always among them: at 80 columns that is three at a time.
 */
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "draw.h"
#include "text.h"
#include "ui.h"

enum { COL_W = 26, CARD_H = 3, COL_MAX = 500 };

struct board {
    struct app *a;
    struct wo_list col[WO_STATUS_COUNT]; /* the first COL_MAX cards of each column */
    int64_t count[WO_STATUS_COUNT];      /* every card of each column */
    int stale;                           /* the columns are re-read when next shown */
    int sel[WO_STATUS_COUNT], top[WO_STATUS_COUNT];
    int focus; /* index into the shown statuses */
    int closed;
    /* the vendor picker (d) */
    int picking, all_trades, vsel;
    int64_t pick_wo;
    struct vendor_list vendors;
    /* filters: emergencies only, overdue, mine (coordinator is me), a text */
    int f_emergency, f_overdue, f_mine;
    char f_text[128];
    /* the detail of one card (Enter): description and history */
    int detail;
    int64_t detail_wo;
    struct wo_detail d;
};

static int shown(const struct board *b, int *st)
{
    int n = 0;
    for (int s = 0; s < WO_STATUS_COUNT; s++)
        if (b->closed || (s != WO_CLOSED && s != WO_CANCELLED))
            st[n++] = s;
    return n;
}

struct board *board_new(struct app *a)
{
    struct board *b = calloc(1, sizeof(*b));
    if (b)
        b->a = a;
    return b;
}

void board_free(struct board **b)
{
    if (!*b)
        return;
    for (int s = 0; s < WO_STATUS_COUNT; s++)
        wo_list_free(&(*b)->col[s]);
    vendor_list_free(&(*b)->vendors);
    wo_detail_free(&(*b)->d);
    free(*b);
    *b = NULL;
}

static void load_cards(struct board *b);
static void paint_detail(struct board *b, int y0, int h, int w);
static void today_str(char *out, size_t n);
static void load_detail(struct board *b, int64_t id);

static int filtering(const struct board *b)
{
    return b->f_emergency || b->f_overdue || b->f_mine || b->f_text[0];
}

/* The counts always (the tab bar shows them); the cards only when the board is on screen,
 * so that starting in the inbox does not read thousands of cards. */
void board_reload(struct board *b)
{
    struct err e;
    b->a->open_wos = 0;
    if (store_work_order_counts(b->a->s, b->count, &e) != 0)
        app_say(b->a, 1, "cannot count work orders: %s", e.msg);
    for (int s = 0; s < WO_STATUS_COUNT; s++)
        if (s != WO_COMPLETED && s != WO_CLOSED && s != WO_CANCELLED)
            b->a->open_wos += b->count[s];
    b->stale = 1;
    if (b->a->view == VIEW_BOARD) {
        load_cards(b);
        if (b->detail) /* the open card's history follows the sync too */
            load_detail(b, b->detail_wo);
    }
}

static void load_cards(struct board *b)
{
    struct err e;
    b->stale = 0;
    char today[16];
    today_str(today, sizeof(today));
    struct wo_filter f = {.emergency = b->f_emergency,
                          .overdue_before = b->f_overdue ? today : NULL,
                          .text = b->f_text[0] ? b->f_text : NULL,
                          .assignee = b->f_mine ? b->a->me : NULL};
    for (int s = 0; s < WO_STATUS_COUNT; s++) {
        wo_list_free(&b->col[s]);
        if (store_work_orders_filtered(b->a->s, s, &f, COL_MAX, &b->col[s], &e) != 0) {
            app_say(b->a, 1, "cannot read work orders: %s", e.msg);
            continue;
        }
        if (b->sel[s] >= (int)b->col[s].n)
            b->sel[s] = b->col[s].n ? (int)b->col[s].n - 1 : 0;
    }
}

static void card(struct board *b, const struct wo_row *w, int y, int x, int cw, int selected)
{
    struct app *a = b->a;
    attr_t base = selected ? draw_attr(R_SELECTED) : A_NORMAL;
    int emergency = w->priority == PRIO_EMERGENCY;
    char line[256];
    attrset(base | (emergency ? A_BOLD : 0));
    snprintf(line, sizeof(line), "%s#%lld ", emergency ? "!! " : "", (long long)w->id);
    int used = draw_text(stdscr, y, x, line, cw, 0);
    draw_remote(stdscr, y, x + used, w->title, cw - used, 1);
    attrset(base);
    snprintf(line, sizeof(line), "%s%s%s", w->property, w->unit[0] ? " / " : "", w->unit);
    draw_remote(stdscr, y + 1, x, line, cw, 1);
    char age[24]; /* a scheduled card shows its start, others their age */
    if (w->schedule_start > 0) {
        time_t t = (time_t)(w->schedule_start / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(age, sizeof(age), "@%d %b %H:%M", &tm);
    } else {
        draw_age(age, sizeof(age), w->created_at, now_ms());
    }
    const char *sync = w->sync_state ? w->sync_state : "synced";
    int failed = strcmp(sync, "failed") == 0;
    if (failed) /* the PMS's reason, not a silent move back */
        snprintf(line, sizeof(line), "✗ failed: %s", w->sync_error ? w->sync_error : "?");
    else
        snprintf(line, sizeof(line), "%s %s %s%s%s", /* the sync state first: never cut */
                 strcmp(sync, "pending") == 0 ? "… pending" : "✓", priority_name(w->priority), age,
                 w->vendor[0] ? " · " : "", w->vendor);
    if (failed)
        attrset(base | draw_attr(R_BAD));
    draw_remote(stdscr, y + 2, x, line, cw, 1);
    attrset(A_NORMAL);
    (void)a;
}

static void today_str(char *out, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d", &tm);
}

/* The vendor picker, over the board: preferred first (★), with the insurance state. */
static void paint_picker(struct board *b, int y0, int h, int w)
{
    char buf[400], today[16];
    today_str(today, sizeof(today));
    attrset(A_NORMAL);
    for (int y = y0; y < y0 + h; y++)
        draw_blank(stdscr, y, 0, w);
    snprintf(buf, sizeof(buf),
             "Dispatch a vendor for #%lld  (%s; t: %s; Enter chooses, Esc cancels)",
             (long long)b->pick_wo, b->all_trades ? "every trade" : "its trade",
             b->all_trades ? "its trade only" : "every trade");
    attrset(A_BOLD);
    draw_text(stdscr, y0, 1, buf, w - 2, 1);
    attrset(A_NORMAL);
    int top = b->vsel >= h - 3 ? b->vsel - (h - 3) + 1 : 0;
    for (int i = top, y = y0 + 2; i < (int)b->vendors.n && y < y0 + h; i++, y++) {
        const struct vendor_row *v = &b->vendors.rows[i];
        const char *ins = v->insurance_expires;
        int expired = ins[0] && strcmp(ins, today) < 0;
        snprintf(buf, sizeof(buf), "%s %-24s %-12s %-16s %s%s", v->preferred ? "★" : " ", v->name,
                 v->trade, v->phone,
                 !ins[0]   ? "insurance: unknown"
                 : expired ? "⚠ INSURANCE EXPIRED "
                           : "insured until ",
                 ins);
        attrset(i == b->vsel ? draw_attr(R_SELECTED) : expired ? draw_attr(R_WARN) : A_NORMAL);
        draw_remote(stdscr, y, 1, buf, w - 2, 1);
        attrset(A_NORMAL);
    }
    if (!b->vendors.n)
        draw_text(stdscr, y0 + 2, 1,
                  b->all_trades ? "No vendor in this account."
                                : "No vendor of this trade (t shows every trade).",
                  w - 2, 0);
}

static void pick_load(struct board *b)
{
    struct err e;
    vendor_list_free(&b->vendors);
    if (store_vendors_for_wo(b->a->s, b->pick_wo, b->all_trades, &b->vendors, &e) != 0)
        app_say(b->a, 1, "cannot read vendors: %s", e.msg);
    b->vsel = 0;
}

void board_paint(struct board *b, int y0, int h, int w)
{
    if (b->stale)
        load_cards(b);
    if (b->picking) {
        paint_picker(b, y0, h, w);
        return;
    }
    if (b->detail) {
        paint_detail(b, y0, h, w);
        return;
    }
    int st[WO_STATUS_COUNT];
    int n = shown(b, st);
    if (b->focus >= n)
        b->focus = n - 1;
    int fit = w / COL_W;
    if (fit < 1)
        fit = 1;
    if (fit > n)
        fit = n;
    int first = b->focus - fit + 1 > 0 ? b->focus - fit + 1 : 0;
    int cw = w / fit - 1;
    attrset(A_NORMAL);
    for (int y = y0; y < y0 + h; y++)
        draw_blank(stdscr, y, 0, w);
    for (int i = 0; i < fit; i++) {
        int s = st[first + i], x = i * (cw + 1);
        int focused = first + i == b->focus;
        char head[64];
        if (filtering(b))
            snprintf(head, sizeof(head), "%s%s (%zu%s of %lld)%s", focused ? "[" : " ",
                     wo_status_name(s), b->col[s].n, b->col[s].n == COL_MAX ? "+" : "",
                     (long long)b->count[s], focused ? "]" : " ");
        else if (b->count[s] > (int64_t)b->col[s].n) /* a capped column says so */
            snprintf(head, sizeof(head), "%s%s (%lld, %zu shown)%s", focused ? "[" : " ",
                     wo_status_name(s), (long long)b->count[s], b->col[s].n, focused ? "]" : " ");
        else
            snprintf(head, sizeof(head), "%s%s (%lld)%s", focused ? "[" : " ", wo_status_name(s),
                     (long long)b->count[s], focused ? "]" : " ");
        attrset(A_BOLD | (focused ? A_UNDERLINE : 0));
        draw_text(stdscr, y0, x, head, cw, 1);
        attrset(A_NORMAL);
        int per = (h - 1) / (CARD_H + 1);
        if (per < 1)
            per = 1;
        if (b->sel[s] < b->top[s])
            b->top[s] = b->sel[s];
        if (b->sel[s] >= b->top[s] + per)
            b->top[s] = b->sel[s] - per + 1;
        for (int k = 0; k < per && b->top[s] + k < (int)b->col[s].n; k++) {
            int idx = b->top[s] + k;
            card(b, &b->col[s].rows[idx], y0 + 1 + k * (CARD_H + 1), x, cw,
                 focused && idx == b->sel[s]);
        }
        if (!b->col[s].n)
            draw_text(stdscr, y0 + 1, x, "  (none)", cw, 0);
        if (i < fit - 1)
            draw_column_rule(stdscr, y0, x + cw, h);
    }
    char foot[256];
    if (filtering(b))
        snprintf(foot, sizeof(foot), "filter:%s%s%s%s%s  (x clears)", b->f_mine ? " mine" : "",
                 b->f_emergency ? " emergency" : "", b->f_overdue ? " overdue" : "",
                 b->f_text[0] ? " " : "", b->f_text);
    else
        snprintf(foot, sizeof(foot), "%s%d of %d columns  h/l: columns  H/L: move  Enter: detail",
                 first > 0 ? "< " : "", fit, n);
    attrset(draw_attr(R_DIM));
    draw_text(stdscr, y0 + h - 1, 0, foot, w, 1);
    attrset(A_NORMAL);
}

/* Move the selected card one column: the status change and its outbox op in one
 * transaction; the card shows pending until the PMS confirmed it, and failed with the
 * PMS's reason if it refused (it does not silently move back). */
/* Queue the selected card's move to `status` and follow it to its column (closed and
 * cancelled are shown when it goes there). */
static void move_to(struct board *b, int64_t id, enum wo_status status)
{
    struct err e;
    if (store_queue_wo_status(b->a->s, id, status, b->a->me, &e) != 0) {
        app_say(b->a, 1, "#%lld not moved: %s", (long long)id, e.msg);
        return;
    }
    app_say(b->a, 0, "#%lld → %s: pending until the PMS confirms it", (long long)id,
            wo_status_name(status));
    if (status == WO_CLOSED || status == WO_CANCELLED)
        b->closed = 1;
    board_reload(b);
    int st[WO_STATUS_COUNT];
    int n = shown(b, st);
    for (int f = 0; f < n; f++)
        if (st[f] == (int)status)
            b->focus = f;
    for (size_t i = 0; i < b->col[status].n; i++)
        if (b->col[status].rows[i].id == id)
            b->sel[status] = (int)i;
}

static void move_card(struct board *b, int *st, int n, int dir)
{
    int s = st[b->focus];
    int to = b->focus + dir;
    if (!b->col[s].n || to < 0 || to >= n)
        return;
    move_to(b, b->col[s].rows[b->sel[s]].id, (enum wo_status)st[to]);
}

int board_picking(const struct board *b)
{
    return b->picking || b->detail;
}

static const struct wo_row *selected_card(const struct board *b)
{
    int st[WO_STATUS_COUNT];
    int n = shown(b, st);
    int s = st[b->focus < n ? b->focus : 0];
    return b->col[s].n ? &b->col[s].rows[b->sel[s]] : NULL;
}

static void fmt_when(char *out, size_t n, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%b %d %H:%M", &tm);
}

struct dl {
    int y, y1;
    int w;
};

static void dline(struct dl *o, attr_t at, const char *text)
{
    if (o->y < o->y1) {
        attrset(at);
        draw_remote(stdscr, o->y, 1, text, o->w - 2, 1);
        attrset(A_NORMAL);
    }
    o->y++;
}

static void wrap_cb(const char *line, size_t n, void *arg)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "  %.*s", (int)(n < 500 ? n : 500), line);
    dline(arg, A_NORMAL, buf);
}

/* One card in full: what it is, where, who, its sync state, the description and every
 * change with who made it and whether it came from porter, the PMS or a rule. */
static void paint_detail(struct board *b, int y0, int h, int w)
{
    attrset(A_NORMAL);
    for (int y = y0; y < y0 + h; y++)
        draw_blank(stdscr, y, 0, w);
    const struct wo_row *c = NULL;
    for (int s = 0; s < WO_STATUS_COUNT && !c; s++)
        for (size_t i = 0; i < b->col[s].n; i++)
            if (b->col[s].rows[i].id == b->detail_wo)
                c = &b->col[s].rows[i];
    struct dl o = {y0, y0 + h, w};
    char buf[700];
    if (!c) {
        dline(&o, A_NORMAL, "This work order is no longer on the board (Esc).");
        return;
    }
    snprintf(buf, sizeof(buf), "%s#%lld %s", c->priority == PRIO_EMERGENCY ? "!! " : "",
             (long long)c->id, c->title);
    dline(&o, A_BOLD, buf);
    snprintf(buf, sizeof(buf), "%s · priority %s · %s%s", wo_status_name(c->status),
             priority_name(c->priority), c->trade[0] ? "trade " : "no trade", c->trade);
    dline(&o, A_NORMAL, buf);
    snprintf(buf, sizeof(buf), "%s%s%s · vendor: %s", c->property, c->unit[0] ? " / " : "", c->unit,
             c->vendor[0] ? c->vendor : "none (d dispatches)");
    dline(&o, A_NORMAL, buf);
    char win[64];
    wo_window_fmt(c->schedule_start, c->schedule_end, win, sizeof(win));
    snprintf(buf, sizeof(buf), "scheduled: %s · coordinator: %s", win[0] ? win : "no (s sets it)",
             c->assignee[0] ? c->assignee : "nobody (a takes it)");
    dline(&o, A_NORMAL, buf);
    snprintf(buf, sizeof(buf), "sync: %s%s%s%s", c->sync_state,
             c->sync_error ? " — the PMS said: " : "", c->sync_error ? c->sync_error : "",
             c->remote_id ? "" : " (not yet created at the PMS)");
    dline(&o, strcmp(c->sync_state, "failed") == 0 ? draw_attr(R_BAD) : A_NORMAL, buf);
    if (b->d.description && *b->d.description) {
        dline(&o, A_NORMAL, "");
        char *clean = text_clean(b->d.description, strlen(b->d.description), TEXT_MULTILINE);
        text_wrap(clean, w - 4, wrap_cb, &o);
        free(clean);
    }
    dline(&o, A_NORMAL, "");
    dline(&o, A_BOLD | A_UNDERLINE, "History");
    for (size_t i = 0; i < b->d.n; i++) {
        const struct wo_event_row *ev = &b->d.events[i];
        char when[32];
        fmt_when(when, sizeof(when), ev->at);
        /* where porter's note went: the PMS, or nowhere but porter */
        const char *landed = strcmp(ev->kind, "note") != 0 || strcmp(ev->origin, "porter") != 0 ? ""
                             : !ev->remote_id    ? " · pending"
                             : !ev->remote_id[0] ? " · kept in porter (the PMS has no notes)"
                                                 : " · on the PMS";
        if (strcmp(ev->kind, "note") == 0)
            snprintf(buf, sizeof(buf), "%s  note     by %s (%s)%s:", when,
                     ev->actor[0] ? ev->actor : "?", ev->origin, landed);
        else if (ev->old_value[0])
            snprintf(buf, sizeof(buf), "%s  %-8s %s -> %s  by %s (%s)", when, ev->kind,
                     ev->old_value, ev->new_value, ev->actor[0] ? ev->actor : "?", ev->origin);
        else
            snprintf(buf, sizeof(buf), "%s  %-8s %s  by %s (%s)", when, ev->kind, ev->new_value,
                     ev->actor[0] ? ev->actor : "?", ev->origin);
        dline(&o, strcmp(ev->origin, "porter") == 0 ? A_NORMAL : draw_attr(R_DIM), buf);
        if (strcmp(ev->kind, "note") == 0) {
            char *clean = text_clean(ev->new_value, strlen(ev->new_value), TEXT_MULTILINE);
            text_wrap(clean, w - 6, wrap_cb, &o);
            free(clean);
        }
    }
    if (!b->d.n)
        dline(&o, A_NORMAL, "  (no change recorded yet)");
}

static void load_detail(struct board *b, int64_t id)
{
    struct err e;
    wo_detail_free(&b->d);
    if (store_wo_detail(b->a->s, id, &b->d, &e) != 0) {
        app_say(b->a, 1, "%s", e.msg);
        b->detail = 0;
        return;
    }
    b->detail = 1;
    b->detail_wo = id;
}

static void open_detail(struct board *b)
{
    const struct wo_row *c = selected_card(b);
    if (c)
        load_detail(b, c->id);
}

int board_show_thread_wo(struct board *b, int64_t thread)
{
    int st[WO_STATUS_COUNT];
    int n = shown(b, st);
    if (b->stale)
        load_cards(b);
    for (int f = 0; f < n; f++)
        for (size_t i = 0; i < b->col[st[f]].n; i++)
            if (b->col[st[f]].rows[i].thread == thread) {
                b->focus = f;
                b->sel[st[f]] = (int)i;
                b->a->dirty = 1;
                return 1;
            }
    return 0;
}

static void set_priority(struct board *b, const char *text)
{
    struct err e;
    const struct wo_row *c = selected_card(b);
    int p = priority_parse(text);
    if (!c)
        return;
    if (p < 0) {
        app_say(b->a, 1, "'%s': expected low, normal, high or emergency", text);
        return;
    }
    int64_t id = c->id;
    if (store_queue_wo_priority(b->a->s, id, (enum priority)p, b->a->me, &e) != 0) {
        app_say(b->a, 1, "#%lld: %s", (long long)id, e.msg);
        return;
    }
    app_say(b->a, 0, "#%lld priority %s: pending until the PMS confirms it", (long long)id, text);
    board_reload(b);
}

/* After a change to the selected card: the columns, and its detail when open. */
static void set_schedule(struct board *b, int64_t id, const char *text)
{
    struct err e;
    char why[160];
    int64_t start, end;
    if (wo_window_parse(text, now_ms(), &start, &end, why, sizeof(why)) != 0) {
        app_say(b->a, 1, "'%s': %s (e.g. 2026-11-23 09:00-11:00, tomorrow 14:00)", text, why);
        return;
    }
    if (store_queue_wo_schedule(b->a->s, id, start, end, b->a->me, &e) != 0) {
        app_say(b->a, 1, "#%lld: %s", (long long)id, e.msg);
        return;
    }
    char win[64];
    wo_window_fmt(start, end, win, sizeof(win));
    app_say(b->a, 0, "#%lld scheduled %s: pending until the PMS confirms it", (long long)id, win);
    board_reload(b);
}

static void add_note(struct board *b, int64_t id, const char *text)
{
    struct err e;
    while (*text == ' ')
        text++;
    if (!*text) {
        app_say(b->a, 0, "empty: no note added");
        return;
    }
    if (store_queue_wo_note(b->a->s, id, text, b->a->me, &e) != 0) {
        app_say(b->a, 1, "#%lld: %s", (long long)id, e.msg);
        return;
    }
    app_say(b->a, 0, "note added to #%lld's history", (long long)id);
    board_reload(b);
}

static void set_assignee(struct board *b, int64_t id, const char *text)
{
    struct err e;
    while (*text == ' ')
        text++;
    const char *who = strcmp(text, "me") == 0 ? b->a->me : strcmp(text, "-") == 0 ? "" : text;
    if (store_wo_assign(b->a->s, id, who, b->a->me, &e) != 0) {
        app_say(b->a, 1, "#%lld: %s", (long long)id, e.msg);
        return;
    }
    if (*who)
        app_say(b->a, 0, "#%lld: coordinator %s", (long long)id, who);
    else
        app_say(b->a, 0, "#%lld: no coordinator", (long long)id);
    board_reload(b);
}

void board_accept(struct board *b, int purpose, const char *text)
{
    struct err e;
    const struct wo_row *c = selected_card(b);
    if ((purpose == P_WO_SCHEDULE || purpose == P_WO_NOTE || purpose == P_WO_ASSIGN ||
         purpose == P_WO_MOVE) &&
        !c) {
        app_say(b->a, 0, "no work order selected");
        return;
    }
    if (purpose == P_WO_SCHEDULE) {
        set_schedule(b, c->id, text);
        return;
    }
    if (purpose == P_WO_MOVE) {
        while (*text == ' ')
            text++;
        int st = wo_status_parse(text);
        if (st < 0)
            app_say(b->a, 1,
                    "'%s': expected new, assigned, scheduled, in_progress, on_hold, completed, "
                    "closed or cancelled",
                    text);
        else
            move_to(b, c->id, (enum wo_status)st);
        return;
    }
    if (purpose == P_WO_NOTE) {
        add_note(b, c->id, text);
        return;
    }
    if (purpose == P_WO_ASSIGN) {
        set_assignee(b, c->id, text);
        return;
    }
    if (purpose == P_BOARD_FILTER) {
        snprintf(b->f_text, sizeof(b->f_text), "%s", text);
        load_cards(b);
        b->a->dirty = 1;
        return;
    }
    if (purpose == P_PRIORITY) {
        set_priority(b, text);
        return;
    }
    if (purpose != P_NEW_WO)
        return;
    while (*text == ' ')
        text++;
    if (!*text) {
        app_say(b->a, 0, "no title: no work order created");
        return;
    }
    /* the account of the selected card, else the first one */
    int st[WO_STATUS_COUNT];
    shown(b, st);
    int s = st[b->focus];
    int64_t account = b->col[s].n      ? b->col[s].rows[b->sel[s]].account
                      : b->a->health.n ? b->a->health.rows[0].account
                                       : 0;
    if (!account) {
        app_say(b->a, 1, "no account to create the work order in");
        return;
    }
    int64_t wo = 0;
    if (store_queue_wo_create(b->a->s, account, text, "", PRIO_NORMAL, 0, b->a->me, &wo, &e) != 0) {
        app_say(b->a, 1, "no work order: %s", e.msg);
        return;
    }
    app_say(b->a, 0, "work order #%lld created: pending until the PMS confirms it", (long long)wo);
    board_reload(b);
    b->focus = 0;
    for (size_t i = 0; i < b->col[WO_NEW].n; i++)
        if (b->col[WO_NEW].rows[i].id == wo)
            b->sel[WO_NEW] = (int)i;
}

static int picker_command(struct board *b, const char *cmd)
{
    struct err e;
    int n = (int)b->vendors.n;
    if (strcmp(cmd, "down") == 0 && b->vsel < n - 1)
        b->vsel++;
    else if (strcmp(cmd, "up") == 0 && b->vsel > 0)
        b->vsel--;
    else if (strcmp(cmd, "all-trades") == 0) {
        b->all_trades = !b->all_trades;
        pick_load(b);
    } else if (strcmp(cmd, "back") == 0 || strcmp(cmd, "quit") == 0) {
        b->picking = 0;
    } else if (strcmp(cmd, "open") == 0 && n) {
        const struct vendor_row *v = &b->vendors.rows[b->vsel];
        char today[16];
        today_str(today, sizeof(today));
        if (store_queue_wo_vendor(b->a->s, b->pick_wo, v->id, b->a->me, &e) != 0) {
            app_say(b->a, 1, "not dispatched: %s", e.msg);
        } else {
            app_say(b->a, 0, "#%lld dispatched to %s%s: pending until the PMS confirms it",
                    (long long)b->pick_wo, v->name,
                    v->insurance_expires[0] && strcmp(v->insurance_expires, today) < 0
                        ? " (their insurance has EXPIRED)"
                        : "");
            b->picking = 0;
            board_reload(b);
        }
    } else {
        return 0;
    }
    b->a->dirty = 1;
    return 1;
}

int board_command(struct board *b, const char *cmd, const char *arg)
{
    if (b->stale) /* keys typed before the first paint act on the cards as they are */
        load_cards(b);
    if (b->picking) /* above the detail it was opened from: Esc cancels the picker */
        return picker_command(b, cmd) || (app_say(b->a, 0, "Enter chooses, Esc cancels"), 1);
    if (b->detail && (strcmp(cmd, "back") == 0 || strcmp(cmd, "open") == 0)) {
        b->detail = 0;
        b->a->dirty = 1;
        return 1;
    }
    static const char *const in_detail[] = {"priority",   "dispatch", "jump", "move-left",
                                            "move-right", "schedule", "note", "assign"};
    int keep = 0;
    for (size_t i = 0; i < sizeof(in_detail) / sizeof(in_detail[0]); i++)
        keep |= strcmp(cmd, in_detail[i]) == 0;
    if (b->detail && !keep)
        b->detail = 0; /* anything else goes back to the columns first */
    int st[WO_STATUS_COUNT];
    int n = shown(b, st);
    int s = st[b->focus < n ? b->focus : 0];
    int len = (int)b->col[s].n;
    if (strcmp(cmd, "column-left") == 0 && b->focus > 0)
        b->focus--;
    else if (strcmp(cmd, "column-right") == 0 && b->focus < n - 1)
        b->focus++;
    else if (strcmp(cmd, "move-left") == 0 || strcmp(cmd, "move-right") == 0)
        move_card(b, st, n, cmd[5] == 'l' ? -1 : 1);
    else if (strcmp(cmd, "dispatch") == 0) {
        if (!len) {
            app_say(b->a, 0, "no work order selected");
        } else {
            b->pick_wo = b->col[s].rows[b->sel[s]].id;
            b->picking = 1;
            b->all_trades = 0;
            pick_load(b);
            if (!b->vendors.n) { /* no vendor of its trade: show them all */
                b->all_trades = 1;
                pick_load(b);
            }
        }
    } else if (strcmp(cmd, "open") == 0) {
        open_detail(b);
    } else if (strcmp(cmd, "filter-emergency") == 0 || strcmp(cmd, "filter-overdue") == 0 ||
               strcmp(cmd, "filter-mine") == 0 || strcmp(cmd, "filter-clear") == 0) {
        if (cmd[7] == 'e')
            b->f_emergency = !b->f_emergency;
        else if (cmd[7] == 'o')
            b->f_overdue = !b->f_overdue;
        else if (cmd[7] == 'm')
            b->f_mine = !b->f_mine;
        else
            b->f_emergency = b->f_overdue = b->f_mine = 0, b->f_text[0] = '\0';
        load_cards(b);
    } else if (strcmp(cmd, "move") == 0) {
        if (!len)
            app_say(b->a, 0, "no work order selected");
        else if (arg)
            board_accept(b, P_WO_MOVE, arg);
        else
            app_prompt(b->a,
                       "Move to (new assigned scheduled in_progress on_hold completed closed "
                       "cancelled): ",
                       "", P_WO_MOVE, NULL);
    } else if (strcmp(cmd, "schedule") == 0 || strcmp(cmd, "note") == 0 ||
               strcmp(cmd, "assign") == 0) {
        int purpose = cmd[0] == 's' ? P_WO_SCHEDULE : cmd[0] == 'n' ? P_WO_NOTE : P_WO_ASSIGN;
        const struct wo_row *c = len ? &b->col[s].rows[b->sel[s]] : NULL;
        char win[64] = "";
        if (!c)
            app_say(b->a, 0, "no work order selected");
        else if (arg)
            board_accept(b, purpose, arg);
        else if (purpose == P_WO_ASSIGN) /* a takes the card, or gives it back */
            board_accept(b, purpose, strcmp(c->assignee, b->a->me) == 0 ? "-" : "me");
        else if (purpose == P_WO_NOTE)
            app_prompt(b->a, "Note (kept in the history): ", "", P_WO_NOTE, NULL);
        else {
            if (c->schedule_start > 0) { /* the current window, editable */
                time_t t0 = (time_t)(c->schedule_start / 1000),
                       t1 = (time_t)(c->schedule_end / 1000);
                struct tm a0, a1;
                localtime_r(&t0, &a0);
                localtime_r(&t1, &a1);
                char d0[24], d1[8];
                strftime(d0, sizeof(d0), "%Y-%m-%d %H:%M", &a0);
                strftime(d1, sizeof(d1), "%H:%M", &a1);
                snprintf(win, sizeof(win), "%s-%s", d0, d1);
            }
            app_prompt(b->a, "Window (DATE HH:MM-HH:MM; DATE: YYYY-MM-DD, today, tomorrow): ", win,
                       P_WO_SCHEDULE, NULL);
        }
    } else if (strcmp(cmd, "filter") == 0) {
        if (arg)
            board_accept(b, P_BOARD_FILTER, arg);
        else
            app_prompt(b->a, "Board filter (title, property, unit, vendor, trade): ", b->f_text,
                       P_BOARD_FILTER, NULL);
    } else if (strcmp(cmd, "back") == 0) {
        return 0;
    } else if (strcmp(cmd, "priority") == 0) {
        if (!len)
            app_say(b->a, 0, "no work order selected");
        else if (arg)
            board_accept(b, P_PRIORITY, arg);
        else
            app_prompt(b->a, "Priority (low normal high emergency): ",
                       priority_name(b->col[s].rows[b->sel[s]].priority), P_PRIORITY, NULL);
    } else if (strcmp(cmd, "new") == 0) {
        if (arg)
            board_accept(b, P_NEW_WO, arg);
        else
            app_prompt(b->a, "New work order title: ", "", P_NEW_WO, NULL);
    } else if (strcmp(cmd, "jump") == 0) {
        if (len && b->col[s].rows[b->sel[s]].thread) {
            app_view(b->a, VIEW_INBOX);
            inbox_show_thread(b->a->inbox, b->col[s].rows[b->sel[s]].thread);
        } else {
            app_say(b->a, 0, "this work order has no thread");
        }
    } else if (strcmp(cmd, "toggle-closed") == 0)
        b->closed = !b->closed;
    else if (strcmp(cmd, "down") == 0 && b->sel[s] < len - 1)
        b->sel[s]++;
    else if (strcmp(cmd, "up") == 0 && b->sel[s] > 0)
        b->sel[s]--;
    else if (strcmp(cmd, "top") == 0)
        b->sel[s] = 0;
    else if (strcmp(cmd, "bottom") == 0)
        b->sel[s] = len ? len - 1 : 0;
    else if (strcmp(cmd, "page-down") == 0)
        b->sel[s] = b->sel[s] + 5 < len ? b->sel[s] + 5 : (len ? len - 1 : 0);
    else if (strcmp(cmd, "page-up") == 0)
        b->sel[s] = b->sel[s] > 5 ? b->sel[s] - 5 : 0;
    else
        return 0;
    b->a->dirty = 1;
    return 1;
}
