/* inbox.c - the unified inbox: one thread list over every account, the conversation pane,
 * replies, notes, templates and triage.
 *
 * The list is virtualised: only the rows on screen are read, by keyset paging from the
 * key of the row just above the window (struct page_key), never with OFFSET. Scrolling
 * down reads after the last row, scrolling up reads before the first, the end is read
 * backwards from nothing; the position shown ("123/100000") is kept by arithmetic and
 * recounted only when the data or the filter change. So 100k threads scroll as 100 do.
 *
 * The filter is one query string, the single source of truth: the filter keys add and
 * remove its tokens, `/` edits it directly.
 *
 *   is:needs-reply is:unread is:mine is:unassigned is:snoozed is:done
 *   channel:sms account:NAME property:ID checkin:today|YYYY-MM-DD tag:T assignee:WHO
 *   any other words: full-text search of the messages (every word, as a prefix)
 */
#define _XOPEN_SOURCE_EXTENDED 1
#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "draw.h"
#include "log.h"
#include "text.h"
#include "ui.h"

#define WIDE_PANE 120 /* at this width the conversation opens beside the list */

struct line {
    char *text; /* owned, clean */
    enum role role;
    int bold;
};

struct inbox {
    struct app *a;
    char query[512];      /* the filter as typed */
    char query_prev[512]; /* restored when `/` is cancelled */
    struct thread_filter f;
    char f_channel[16], f_account_name[64], f_assignee[64], f_tag[40], f_checkin[16];
    char f_search[400];

    struct thread_page rows;
    int have_before; /* before_top is the key of the row above the window */
    struct page_key before_top;
    int sel;
    int64_t sel_id;
    int64_t top_rank, total;
    int list_h;

    int open; /* the conversation pane shows `thread` */
    int64_t thread;
    struct thread_detail d;
    int have_d;
    struct message_list msgs;
    int scroll;           /* conversation lines scrolled up from the newest */
    int64_t seen_inbound; /* newest inbound message when the user last looked */
    int64_t presence_at;
    char who[128];

    int64_t *marks;
    size_t nmarks;

    char draft[EDIT_MAX]; /* a reply waiting for the y/n of the collision guard */
    int draft_note;
    int sla_warn_min, sla_breach_min;
};

/* ---- filter ---- */

static int has_token(const char *q, const char *tok)
{
    size_t n = strlen(tok);
    for (const char *p = q; (p = strstr(p, tok)); p += n)
        if ((p == q || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return 1;
    return 0;
}

/* Remove every token starting with `prefix` (or equal to it when exact). */
static void drop_token(char *q, const char *prefix, int exact)
{
    char out[512] = "";
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", q);
    for (char *save = NULL, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        int match = exact ? strcmp(t, prefix) == 0 : strncmp(t, prefix, strlen(prefix)) == 0;
        if (match)
            continue;
        if (out[0])
            strncat(out, " ", sizeof(out) - strlen(out) - 1);
        strncat(out, t, sizeof(out) - strlen(out) - 1);
    }
    snprintf(q, 512, "%s", out);
}

static void add_token(char *q, const char *tok)
{
    size_t len = strlen(q);
    snprintf(q + len, 512 - len, "%s%s", len ? " " : "", tok);
}

static void today(char *out, size_t n, int64_t now)
{
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d", &tm);
}

/* Parse in->query into in->f. Returns 0, or -1 with a message for a bad token. */
static int parse_query(struct inbox *in, char *why, size_t nwhy)
{
    struct thread_filter f = {.now = now_ms()};
    in->f_channel[0] = in->f_account_name[0] = in->f_assignee[0] = in->f_tag[0] = '\0';
    in->f_checkin[0] = in->f_search[0] = '\0';
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", in->query);
    for (char *save = NULL, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        const char *v = strchr(t, ':') ? strchr(t, ':') + 1 : NULL;
        if (strcmp(t, "is:needs-reply") == 0)
            f.needs_reply = 1;
        else if (strcmp(t, "is:unread") == 0)
            f.unread = 1;
        else if (strcmp(t, "is:mine") == 0)
            snprintf(in->f_assignee, sizeof(in->f_assignee), "%s", in->a->me);
        else if (strcmp(t, "is:unassigned") == 0)
            f.unassigned = 1;
        else if (strcmp(t, "is:snoozed") == 0)
            f.include_snoozed = 1;
        else if (strcmp(t, "is:done") == 0)
            f.include_done = 1;
        else if (strncmp(t, "is:", 3) == 0) {
            snprintf(why, nwhy,
                     "'%s': expected is:needs-reply, is:unread, is:mine, is:unassigned, "
                     "is:snoozed or is:done",
                     t);
            return -1;
        } else if (strncmp(t, "channel:", 8) == 0) {
            if (channel_parse(v) < 0) {
                snprintf(why, nwhy, "'%s': no such channel (sms, email, whatsapp, airbnb, ...)", t);
                return -1;
            }
            snprintf(in->f_channel, sizeof(in->f_channel), "%s", v);
        } else if (strncmp(t, "account:", 8) == 0) {
            size_t i;
            for (i = 0; i < in->a->health.n; i++)
                if (strcmp(in->a->health.rows[i].name, v) == 0)
                    break;
            if (i == in->a->health.n) {
                snprintf(why, nwhy, "'%s': no account of that name", t);
                return -1;
            }
            f.account = in->a->health.rows[i].account;
            snprintf(in->f_account_name, sizeof(in->f_account_name), "%s", v);
        } else if (strncmp(t, "property:", 9) == 0) {
            char *end;
            long long id = strtoll(v, &end, 10);
            if (*end || id <= 0) {
                snprintf(why, nwhy,
                         "'%s': expected property:ID (P filters by the selected "
                         "thread's property)",
                         t);
                return -1;
            }
            f.property = id;
        } else if (strncmp(t, "checkin:", 8) == 0) {
            if (strcmp(v, "today") == 0)
                today(in->f_checkin, sizeof(in->f_checkin), f.now);
            else if (strlen(v) == 10 && v[4] == '-' && v[7] == '-')
                snprintf(in->f_checkin, sizeof(in->f_checkin), "%s", v);
            else {
                snprintf(why, nwhy, "'%s': expected checkin:today or checkin:YYYY-MM-DD", t);
                return -1;
            }
        } else if (strncmp(t, "tag:", 4) == 0) {
            snprintf(in->f_tag, sizeof(in->f_tag), "%s", v);
        } else if (strncmp(t, "assignee:", 9) == 0) {
            snprintf(in->f_assignee, sizeof(in->f_assignee), "%s", v);
        } else {
            size_t len = strlen(in->f_search);
            snprintf(in->f_search + len, sizeof(in->f_search) - len, "%s%s", len ? " " : "", t);
        }
    }
    f.channel = in->f_channel[0] ? in->f_channel : NULL;
    f.assignee = in->f_assignee[0] ? in->f_assignee : NULL;
    f.tag = in->f_tag[0] ? in->f_tag : NULL;
    f.checkin_on = in->f_checkin[0] ? in->f_checkin : NULL;
    f.search = in->f_search[0] ? in->f_search : NULL;
    in->f = f;
    return 0;
}

/* ---- the list window ---- */

static void fetch(struct inbox *in)
{
    struct err e;
    int h = in->list_h > 0 ? in->list_h : 20;
    thread_page_free(&in->rows);
    in->f.now = now_ms();
    if (store_threads_page(in->a->s, &in->f, THREAD_SORT_INBOX,
                           in->have_before ? &in->before_top : NULL, (size_t)h, &in->rows, &e) != 0)
        app_say(in->a, 1, "cannot read the inbox: %s", e.msg);
    if (in->rows.n == 0 && in->have_before) { /* the window fell off the end */
        in->have_before = 0;
        in->top_rank = 0;
        if (store_threads_page(in->a->s, &in->f, THREAD_SORT_INBOX, NULL, (size_t)h, &in->rows,
                               &e) != 0)
            app_say(in->a, 1, "cannot read the inbox: %s", e.msg);
    }
    /* keep the selection on the same thread when it is still in the window */
    for (size_t i = 0; i < in->rows.n; i++)
        if (in->rows.rows[i].id == in->sel_id)
            in->sel = (int)i;
    if (in->sel >= (int)in->rows.n)
        in->sel = in->rows.n ? (int)in->rows.n - 1 : 0;
    in->sel_id = in->rows.n ? in->rows.rows[in->sel].id : 0;
}

static void recount(struct inbox *in)
{
    struct err e;
    in->f.now = now_ms();
    if (store_threads_count(in->a->s, &in->f, &in->total, &e) != 0)
        in->total = 0;
    in->top_rank = 0;
    if (in->have_before && store_threads_rank(in->a->s, &in->f, THREAD_SORT_INBOX, &in->before_top,
                                              &in->top_rank, &e) == 0)
        in->top_rank++; /* the window starts one after the row above it */
}

static const struct thread_row *selected(const struct inbox *in)
{
    return in->rows.n ? &in->rows.rows[in->sel] : NULL;
}

/* Move the window down by k rows (k > 0) if there are rows below it. */
static void scroll_down(struct inbox *in, int k)
{
    struct err e;
    struct thread_page more;
    if (!in->rows.n || k <= 0)
        return;
    if (store_threads_page(in->a->s, &in->f, THREAD_SORT_INBOX, &in->rows.rows[in->rows.n - 1].key,
                           (size_t)k, &more, &e) != 0)
        return;
    int got = (int)more.n;
    thread_page_free(&more);
    if (got == 0)
        return;
    /* the new row above the window is the got-th row of the current window */
    in->before_top = in->rows.rows[got - 1 < (int)in->rows.n ? got - 1 : (int)in->rows.n - 1].key;
    if (got > (int)in->rows.n) { /* a jump further than one window: re-anchor */
        struct thread_page skip;
        if (store_threads_page(in->a->s, &in->f, THREAD_SORT_INBOX,
                               &in->rows.rows[in->rows.n - 1].key, (size_t)(got - in->rows.n),
                               &skip, &e) == 0 &&
            skip.n)
            in->before_top = skip.rows[skip.n - 1].key;
        thread_page_free(&skip);
    }
    in->have_before = 1;
    in->top_rank += got;
    fetch(in);
}

/* Move the window up by k rows. */
static void scroll_up(struct inbox *in, int k)
{
    struct err e;
    if (!in->have_before || k <= 0)
        return;
    struct thread_page prev;
    if (store_threads_page_before(in->a->s, &in->f, THREAD_SORT_INBOX, &in->before_top, (size_t)k,
                                  &prev, &e) != 0)
        return;
    int got = (int)prev.n; /* rows above the row above the window */
    if (got < k) {         /* reached the top */
        in->have_before = 0;
        in->top_rank = 0;
    } else {
        in->before_top = prev.rows[0].key;
        in->top_rank -= k;
    }
    thread_page_free(&prev);
    fetch(in);
}

static void go_top(struct inbox *in)
{
    in->have_before = 0;
    in->top_rank = 0;
    in->sel = 0;
    in->sel_id = 0;
    fetch(in);
    in->sel = 0;
    in->sel_id = in->rows.n ? in->rows.rows[0].id : 0;
}

static void go_bottom(struct inbox *in)
{
    struct err e;
    struct thread_page tail;
    int h = in->list_h > 0 ? in->list_h : 20;
    if (store_threads_page_before(in->a->s, &in->f, THREAD_SORT_INBOX, NULL, (size_t)h, &tail,
                                  &e) != 0)
        return;
    if (tail.n) {
        struct thread_page above;
        in->have_before = 0;
        if (store_threads_page_before(in->a->s, &in->f, THREAD_SORT_INBOX, &tail.rows[0].key, 1,
                                      &above, &e) == 0 &&
            above.n) {
            in->have_before = 1;
            in->before_top = above.rows[0].key;
        }
        thread_page_free(&above);
        in->top_rank = in->total - (int64_t)tail.n;
        in->sel_id = tail.rows[tail.n - 1].id;
    }
    thread_page_free(&tail);
    fetch(in);
    in->sel = in->rows.n ? (int)in->rows.n - 1 : 0;
    in->sel_id = in->rows.n ? in->rows.rows[in->sel].id : 0;
}

static void move_sel(struct inbox *in, int d)
{
    int h = in->list_h > 0 ? in->list_h : 20;
    if (d > 0) {
        if (in->sel + d < (int)in->rows.n)
            in->sel += d;
        else {
            int before = (int)in->top_rank;
            /* how far past the last loaded row: at most a window (a list shorter than the
             * window has nothing below it, and scroll_down finds that out) */
            int over = in->sel + d - (int)in->rows.n + 1;
            scroll_down(in, over > h ? h : over);
            int moved = (int)in->top_rank - before;
            in->sel = in->sel + d - moved;
            if (in->sel >= (int)in->rows.n)
                in->sel = in->rows.n ? (int)in->rows.n - 1 : 0;
        }
    } else if (d < 0) {
        if (in->sel + d >= 0)
            in->sel += d;
        else {
            int need = -(in->sel + d);
            int before = (int)in->top_rank;
            scroll_up(in, need);
            int moved = before - (int)in->top_rank;
            in->sel = in->sel + d + moved;
            if (in->sel < 0)
                in->sel = 0;
        }
    }
    in->sel_id = in->rows.n ? in->rows.rows[in->sel].id : 0;
}

static void apply_filter_counted(struct inbox *in, int quiet, int count);

static void apply_filter(struct inbox *in, int quiet)
{
    apply_filter_counted(in, quiet, 1);
}

/* count 0: the rows only (while a search is typed, the count waits for Enter: on a large
 * inbox it costs as much as the rows). */
static void apply_filter_counted(struct inbox *in, int quiet, int count)
{
    char why[256];
    if (parse_query(in, why, sizeof(why)) != 0) {
        if (!quiet)
            app_say(in->a, 1, "%s", why);
        return;
    }
    in->have_before = 0;
    in->sel = 0;
    in->sel_id = 0;
    fetch(in);
    if (count)
        recount(in);
    else
        in->total = -1, in->top_rank = 0;
    in->a->dirty = 1;
}

/* ---- the conversation ---- */

static void close_detail(struct inbox *in)
{
    if (in->have_d)
        thread_detail_free(&in->d);
    in->have_d = 0;
    message_list_free(&in->msgs);
}

static void load_conversation(struct inbox *in)
{
    struct err e;
    close_detail(in);
    if (!in->open)
        return;
    if (store_thread_get(in->a->s, in->thread, in->who, now_ms(), &in->d, &e) != 0) {
        app_say(in->a, 1, "cannot read the thread: %s", e.msg);
        in->open = 0;
        return;
    }
    in->have_d = 1;
    if (store_messages(in->a->s, in->thread, &in->msgs, &e) != 0)
        app_say(in->a, 1, "cannot read the messages: %s", e.msg);
}

static void touch_presence(struct inbox *in)
{
    struct err e;
    int64_t now = now_ms();
    if (!in->open || now - in->presence_at < 10000)
        return;
    in->presence_at = now;
    if (store_presence_touch(in->a->s, in->thread, in->who, now, &e) != 0)
        log_warn("ui", "presence: %s", e.msg);
}

static void open_thread(struct inbox *in, int64_t id)
{
    struct err e;
    in->open = 1;
    in->thread = id;
    in->scroll = 0;
    in->presence_at = 0;
    touch_presence(in);
    if (store_thread_read(in->a->s, id, &e) != 0)
        app_say(in->a, 1, "%s", e.msg);
    load_conversation(in);
    in->seen_inbound = in->have_d ? in->d.last_seen_inbound : 0;
    fetch(in); /* the unread mark goes */
}

void inbox_leave(struct inbox *in)
{
    struct err e;
    if (in && in->open)
        store_presence_leave(in->a->s, in->who, &e);
    if (in)
        in->presence_at = 0;
}

int inbox_conversation_open(const struct inbox *in)
{
    return in->open;
}

/* ---- lifecycle ---- */

static int conf_int(const struct config *c, const char *key, int def)
{
    const char *v = config_get(c, "ui", key);
    return v && atoi(v) > 0 ? atoi(v) : def;
}

struct inbox *inbox_new(struct app *a)
{
    struct inbox *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    in->a = a;
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    snprintf(in->who, sizeof(in->who), "%s@%s:%d", a->me, host, (int)getpid());
    in->sla_warn_min = conf_int(a->c, "sla_warn", 15);
    in->sla_breach_min = conf_int(a->c, "sla_breach", 60);
    const char *q = config_get(a->c, "ui", "inbox_filter");
    snprintf(in->query, sizeof(in->query), "%s", q ? q : "");
    char why[256];
    if (parse_query(in, why, sizeof(why)) != 0) {
        app_say(a, 1, "[ui] inbox_filter: %s", why);
        in->query[0] = '\0';
        parse_query(in, why, sizeof(why));
    }
    return in;
}

void inbox_free(struct inbox **in)
{
    if (!*in)
        return;
    close_detail(*in);
    thread_page_free(&(*in)->rows);
    free((*in)->marks);
    free(*in);
    *in = NULL;
}

void inbox_recount(struct inbox *in)
{
    recount(in);
    in->a->dirty = 1;
}

void inbox_reload(struct inbox *in)
{
    fetch(in);
    if (in->a->counts_due)
        in->total = -1;
    else
        recount(in);
    if (in->open) {
        int64_t keep = in->seen_inbound;
        load_conversation(in);
        in->seen_inbound = keep;
        touch_presence(in);
    }
}

/* ---- painting ---- */

static const char *channel_glyph(const char *ch)
{
    static const struct {
        const char *name, *glyph;
    } g[] = {{"sms", "S"},     {"email", "@"}, {"whatsapp", "W"}, {"airbnb", "A"},
             {"booking", "B"}, {"vrbo", "V"},  {"ota", "O"},      {"portal", "P"},
             {"phone", "T"},   {"note", "N"},  {"system", "-"}};
    for (size_t i = 0; ch && i < sizeof(g) / sizeof(g[0]); i++)
        if (strcmp(ch, g[i].name) == 0)
            return g[i].glyph;
    return "?";
}

static int is_marked(const struct inbox *in, int64_t id)
{
    for (size_t i = 0; i < in->nmarks; i++)
        if (in->marks[i] == id)
            return 1;
    return 0;
}

/* "12m" waiting, with a glyph at warn (~) and breach (!!): never colour alone. */
static enum role sla(const struct inbox *in, const struct thread_row *r, char *out, size_t n)
{
    out[0] = '\0';
    if (!r->needs_reply || r->sla_since <= 0)
        return R_NORMAL;
    int64_t min = (now_ms() - r->sla_since) / 60000;
    if (min < 0)
        min = 0;
    char t[16];
    if (min < 60)
        snprintf(t, sizeof(t), "%lldm", (long long)min);
    else if (min < 600)
        snprintf(t, sizeof(t), "%lldh%02lld", (long long)(min / 60), (long long)(min % 60));
    else if (min < 60 * 48)
        snprintf(t, sizeof(t), "%lldh", (long long)(min / 60));
    else
        snprintf(t, sizeof(t), "%lldd", (long long)(min / 1440));
    enum role role = min >= in->sla_breach_min ? R_BAD
                     : min >= in->sla_warn_min ? R_WARN
                                               : R_NORMAL;
    snprintf(out, n, "%s%s", role == R_BAD ? "!!" : role == R_WARN ? "~" : "", t);
    return role;
}

static void paint_row(struct inbox *in, const struct thread_row *r, int y, int w, int is_sel)
{
    attr_t base = is_sel ? draw_attr(R_SELECTED) : A_NORMAL;
    int wide = w >= 100;
    int name_w = wide ? 18 : 14, prop_w = w >= 70 ? (wide ? 18 : 12) : 0, who_w = wide ? 9 : 0;
    char buf[256];
    attrset(base);
    draw_blank(stdscr, y, 0, w);
    int x = 0;
    int marked = is_marked(in, r->id);
    attrset(base | (marked ? draw_attr(R_MARK) : 0));
    x += draw_text(stdscr, y, x, marked ? "*" : " ", 1, 1);
    attrset(base | (r->needs_reply ? draw_attr(R_NEEDS) : 0));
    snprintf(buf, sizeof(buf), "%s%s", r->needs_reply ? "!" : " ",
             r->unread                     ? "+"
             : r->done                     ? "d"
             : r->snoozed_until > now_ms() ? "z"
                                           : " ");
    x += draw_text(stdscr, y, x, buf, 2, 1);
    attrset(base);
    x += draw_text(stdscr, y, x, " ", 1, 1);
    x += draw_text(stdscr, y, x, channel_glyph(r->channel), 1, 1);
    x += draw_text(stdscr, y, x, " ", 1, 1);
    attrset(base | (r->unread ? A_BOLD : 0));
    x += draw_remote(stdscr, y, x, r->contact[0] ? r->contact : r->subject, name_w, 1);
    attrset(base);
    x += draw_text(stdscr, y, x, " ", 1, 1);
    if (prop_w) {
        snprintf(buf, sizeof(buf), "%s%s%s", r->unit[0] ? r->unit : r->property,
                 r->unit[0] && r->property[0] ? " · " : "", r->unit[0] ? r->property : "");
        attrset(base | (is_sel ? 0 : draw_attr(R_DIM)));
        x += draw_remote(stdscr, y, x, buf, prop_w, 1);
        attrset(base);
        x += draw_text(stdscr, y, x, " ", 1, 1);
    }
    char slas[24], age[16];
    enum role sr = sla(in, r, slas, sizeof(slas));
    draw_age(age, sizeof(age), r->last_message_at, now_ms());
    int tail = 7 + 1 + 6 + (who_w ? who_w + 1 : 0);
    int pw = w - x - tail;
    if (pw > 0) {
        if (r->pending || r->failed) {
            snprintf(buf, sizeof(buf), "%s ", r->failed ? "✗" : "…");
            attrset(base | (r->failed ? draw_attr(R_BAD) : 0));
            int k = draw_text(stdscr, y, x, buf, pw, 0);
            x += k;
            pw -= k;
            attrset(base);
        }
        x += draw_remote(stdscr, y, x, r->preview, pw, 1);
    }
    x = w - tail;
    attrset(base | (sr != R_NORMAL ? draw_attr(sr) : 0));
    draw_text(stdscr, y, x + 1, slas, 7, 1);
    attrset(base);
    draw_text(stdscr, y, x + 8, age, 6, 1);
    if (who_w)
        draw_remote(stdscr, y, x + 15, r->assignee ? r->assignee : "", who_w, 1);
    attrset(A_NORMAL);
}

static void paint_list(struct inbox *in, int y0, int h, int w)
{
    attrset(A_NORMAL);
    char head[700];
    int64_t pos = in->rows.n ? in->top_rank + in->sel + 1 : 0;
    char total[24];
    if (in->total < 0)
        snprintf(total, sizeof(total), "…");
    else
        snprintf(total, sizeof(total), "%lld", (long long)in->total);
    snprintf(head, sizeof(head), " %lld/%s  %s%s%s", (long long)pos, total,
             in->query[0] ? "filter: " : "all open threads (/ filters)", in->query,
             in->nmarks ? "" : "");
    if (in->nmarks) {
        size_t len = strlen(head);
        snprintf(head + len, sizeof(head) - len, "  [%zu marked]", in->nmarks);
    }
    attrset(A_BOLD);
    draw_text(stdscr, y0, 0, head, w, 1);
    attrset(A_NORMAL);
    int rows = h - 1;
    if (rows != in->list_h) { /* the window size changed: read the rows it now holds */
        in->list_h = rows;
        fetch(in);
    }
    for (int i = 0; i < rows; i++) {
        if (i < (int)in->rows.n)
            paint_row(in, &in->rows.rows[i], y0 + 1 + i, w, i == in->sel);
        else
            draw_blank(stdscr, y0 + 1 + i, 0, w);
    }
    if (!in->rows.n)
        draw_text(stdscr, y0 + 2, 2,
                  in->query[0] ? "No thread matches the filter (x clears it)."
                               : "No conversations yet.",
                  w - 4, 0);
}

struct lines {
    struct line *l;
    size_t n, cap;
    enum role role;
    int bold;
    int indent;
};

static void push_line(struct lines *ls, const char *s, size_t n)
{
    if (ls->n == ls->cap) {
        ls->cap = ls->cap ? ls->cap * 2 : 64;
        ls->l = xrealloc(ls->l, ls->cap * sizeof(*ls->l));
    }
    char *t = xmalloc(n + (size_t)ls->indent + 1);
    memset(t, ' ', (size_t)ls->indent);
    memcpy(t + ls->indent, s, n);
    t[n + (size_t)ls->indent] = '\0';
    ls->l[ls->n++] = (struct line){t, ls->role, ls->bold};
}

static void wrap_cb(const char *line, size_t n, void *arg)
{
    push_line(arg, line, n);
}

static void add_text(struct lines *ls, const char *raw, int w, enum role role, int bold, int indent,
                     int multiline)
{
    char *clean = text_clean(raw ? raw : "", raw ? strlen(raw) : 0, multiline ? TEXT_MULTILINE : 0);
    ls->role = role;
    ls->bold = bold;
    ls->indent = indent;
    text_wrap(clean, w - indent > 1 ? w - indent : 1, wrap_cb, ls);
    free(clean);
}

static void free_lines(struct lines *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        free(ls->l[i].text);
    free(ls->l);
}

static void fmt_time(char *out, size_t n, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%b %d %H:%M", &tm);
}

static void conversation_lines(struct inbox *in, struct lines *ls, int w)
{
    const struct thread_detail *d = &in->d;
    char buf[1024];
    for (size_t i = 0; i < in->msgs.n; i++) {
        const struct message_row *m = &in->msgs.rows[i];
        char when[32];
        fmt_time(when, sizeof(when), m->sent_at);
        const char *state = "";
        enum role sr = R_NORMAL;
        if (m->direction == DIR_OUT || m->direction == DIR_NOTE) {
            if (m->send_state == SEND_PENDING)
                state = " · … pending";
            else if (m->send_state == SEND_FAILED || m->send_state == SEND_DEAD)
                state = " · ✗ FAILED", sr = R_BAD;
            else if (m->direction == DIR_OUT)
                state = " · ✓ sent";
        }
        push_line(ls, "", 0);
        if (m->direction == DIR_NOTE) {
            snprintf(buf, sizeof(buf), "✎ INTERNAL NOTE · not sent to the guest · %s · %s%s",
                     m->author ? m->author : "", when, state);
            add_text(ls, buf, w, R_NOTE, 1, 0, 0);
            add_text(ls, m->body, w, R_NOTE, 0, 2, 1);
        } else if (m->direction == DIR_SYSTEM) {
            snprintf(buf, sizeof(buf), "· %s · %s", when, m->body ? m->body : "");
            add_text(ls, buf, w, R_DIM, 0, 0, 0);
        } else {
            int out = m->direction == DIR_OUT;
            snprintf(buf, sizeof(buf), "%s %s · %s · %s%s", out ? "◂ out" : "▸ in ",
                     m->channel ? m->channel : "", when, m->author ? m->author : "", state);
            add_text(ls, buf, w, sr != R_NORMAL ? sr : out ? R_OUT : R_NORMAL, 1, 0, 0);
            add_text(ls, m->body, w, R_NORMAL, 0, 2, 1);
        }
        if (m->send_error && (m->send_state == SEND_FAILED || m->send_state == SEND_DEAD)) {
            snprintf(buf, sizeof(buf), "  the PMS said: %s  (y retries, X discards)",
                     m->send_error);
            add_text(ls, buf, w, R_BAD, 0, 0, 0);
        }
    }
    (void)d;
}

static void paint_conversation(struct inbox *in, int y0, int x0, int h, int w)
{
    attrset(A_NORMAL);
    for (int y = y0; y < y0 + h; y++)
        draw_blank(stdscr, y, x0, w);
    if (!in->have_d)
        return;
    const struct thread_detail *d = &in->d;
    char buf[1024];
    int y = y0;
    attrset(A_BOLD);
    snprintf(buf, sizeof(buf), "%s · %s · %s", d->guest_name[0] ? d->guest_name : d->t.subject,
             d->t.channel, d->t.account_name);
    draw_remote(stdscr, y++, x0 + 1, buf, w - 2, 1);
    attrset(A_NORMAL);
    const char *unit = d->unit_name, *prop = d->property_name;
    if (strcmp(unit, prop) == 0) /* a single-unit property: its name once */
        unit = "";
    snprintf(buf, sizeof(buf), "%s%s%s", unit, unit[0] && prop[0] ? " · " : "", prop);
    draw_remote(stdscr, y++, x0 + 1, buf, w - 2, 1);
    if (d->stay) {
        snprintf(buf, sizeof(buf), "stay: %s · %s → %s", d->stay_status,
                 d->arrival[0] ? d->arrival : "?", d->departure[0] ? d->departure : "?");
        if (d->guests > 0) {
            size_t len = strlen(buf);
            snprintf(buf + len, sizeof(buf) - len, " · %d guest%s", d->guests,
                     d->guests == 1 ? "" : "s");
        }
        draw_remote(stdscr, y++, x0 + 1, buf, w - 2, 1);
        snprintf(buf, sizeof(buf), "door code: %s · confirmation: %s",
                 d->door_code[0] ? d->door_code : "(none in the PMS)",
                 d->confirmation[0] ? d->confirmation : "-");
        draw_remote(stdscr, y++, x0 + 1, buf, w - 2, 1);
    } else {
        draw_text(stdscr, y++, x0 + 1, "no stay linked", w - 2, 1);
    }
    snprintf(buf, sizeof(buf), "assigned: %s · tags: %s", d->t.assignee ? d->t.assignee : "nobody",
             d->t.tags && strlen(d->t.tags) > 2 ? d->t.tags : "-");
    attrset(draw_attr(R_DIM));
    draw_remote(stdscr, y++, x0 + 1, buf, w - 2, 1);
    attrset(A_NORMAL);
    if (d->presence && d->presence[0]) {
        snprintf(buf, sizeof(buf), "⚠ also open in %s", d->presence);
        attrset(draw_attr(R_WARN));
        draw_remote(stdscr, y++, x0 + 1, buf, w - 2, 1);
        attrset(A_NORMAL);
    }
    if (d->t.pending) {
        snprintf(buf, sizeof(buf), "⚠ %d repl%s of this thread still queued", d->t.pending,
                 d->t.pending == 1 ? "y" : "ies");
        attrset(draw_attr(R_WARN));
        draw_text(stdscr, y++, x0 + 1, buf, w - 2, 1);
        attrset(A_NORMAL);
    }
    draw_rule(stdscr, y++, x0, w);
    struct lines ls = {0};
    conversation_lines(in, &ls, w - 2);
    int room = y0 + h - y;
    int max_scroll = (int)ls.n - room > 0 ? (int)ls.n - room : 0;
    if (in->scroll > max_scroll)
        in->scroll = max_scroll;
    int first = (int)ls.n - room - in->scroll;
    if (first < 0)
        first = 0;
    for (int i = first; i < (int)ls.n && y < y0 + h; i++, y++) {
        attrset(draw_attr(ls.l[i].role) | (ls.l[i].bold ? A_BOLD : 0));
        draw_text(stdscr, y, x0 + 1, ls.l[i].text, w - 2, 1);
    }
    attrset(A_NORMAL);
    if (!in->msgs.n)
        draw_text(stdscr, y, x0 + 1, "(no messages)", w - 2, 0);
    free_lines(&ls);
}

void inbox_paint(struct inbox *in, int y, int h, int w)
{
    if (in->open && w >= WIDE_PANE) {
        int lw = w * 2 / 5;
        paint_list(in, y, h, lw);
        draw_column_rule(stdscr, y, lw, h);
        paint_conversation(in, y, lw + 1, h, w - lw - 1);
    } else if (in->open) {
        paint_conversation(in, y, 0, h, w);
    } else {
        paint_list(in, y, h, w);
    }
}

/* ---- actions ---- */

/* The threads an action applies to: the marked ones, else the selected (or open) one. */
static size_t targets(struct inbox *in, int64_t *out, size_t max)
{
    if (in->nmarks) {
        size_t n = in->nmarks < max ? in->nmarks : max;
        memcpy(out, in->marks, n * sizeof(*out));
        return n;
    }
    if (in->open) {
        out[0] = in->thread;
        return 1;
    }
    const struct thread_row *r = selected(in);
    if (!r)
        return 0;
    out[0] = r->id;
    return 1;
}

static void after_write(struct inbox *in)
{
    inbox_reload(in);
    in->a->dirty = 1;
}

static void queue(struct inbox *in, const char *text, int note)
{
    struct err e;
    if (!in->have_d)
        return;
    enum channel ch = note ? CH_NOTE : (enum channel)channel_parse(in->d.t.channel);
    if ((int)ch < 0)
        ch = CH_EMAIL;
    int64_t msg;
    if (store_queue_reply(in->a->s, in->thread, note ? DIR_NOTE : DIR_OUT, ch, in->a->me, text,
                          NULL, &msg, &e) != 0) {
        app_say(in->a, 1, "not queued: %s", e.msg);
        return;
    }
    history_add(&in->a->reply_hist, text);
    in->seen_inbound = in->d.last_seen_inbound;
    app_say(in->a, 0,
            note ? "note saved (internal: never sent to the guest)"
                 : "reply queued: pending until the PMS confirms it");
    after_write(in);
}

/* The collision guard: an inbound message arrived since the user last looked. */
static void send_reply(struct inbox *in, const char *text, int note)
{
    struct err e;
    while (*text == ' ')
        text++;
    if (!*text) {
        app_say(in->a, 0, "nothing to send");
        return;
    }
    struct thread_detail now;
    if (!note && store_thread_get(in->a->s, in->thread, in->who, now_ms(), &now, &e) == 0) {
        int newer = now.last_seen_inbound != in->seen_inbound;
        thread_detail_free(&now);
        if (newer) {
            snprintf(in->draft, sizeof(in->draft), "%s", text);
            in->draft_note = note;
            load_conversation(in);
            app_prompt(in->a, "The guest wrote again since you opened this. Send anyway? (y/n) ",
                       "", P_CONFIRM_SEND, NULL);
            return;
        }
    }
    queue(in, text, note);
}

static void need_thread(struct inbox *in)
{
    const struct thread_row *r = selected(in);
    if (!in->open && r)
        open_thread(in, r->id);
}

/* {variable} expansion of a template (text_expand); a variable with no value blocks. */
static int expand(struct inbox *in, const char *tpl, char *out, size_t n, char *why, size_t nwhy)
{
    const struct thread_detail *d = &in->d;
    const struct text_var vars[] = {
        {"guest_first_name", d->guest_first},
        {"guest_name", d->guest_name},
        {"unit", d->unit_name},
        {"property", d->property_name},
        {"checkin", d->arrival},
        {"checkout", d->departure},
        {"door_code", d->door_code},
        {"confirmation", d->confirmation},
        {"me", in->a->me},
    };
    return text_expand(tpl, vars, sizeof(vars) / sizeof(vars[0]), out, n, why, nwhy);
}

static void use_template(struct inbox *in, const char *name)
{
    const char *tpl = config_get(in->a->c, "templates", name);
    if (!tpl) {
        app_say(in->a, 1, "no template '%s' in [templates] of porter.conf", name);
        return;
    }
    char text[EDIT_MAX], why[200];
    if (expand(in, tpl, text, sizeof(text), why, sizeof(why)) != 0) {
        app_say(in->a, 1, "template '%s': %s", name, why);
        return;
    }
    app_prompt(in->a, "Reply (Enter sends): ", text, P_REPLY, &in->a->reply_hist);
}

static void reply_in_editor(struct inbox *in)
{
    const char *ed = getenv("VISUAL");
    if (!ed || !*ed)
        ed = getenv("EDITOR");
    if (!ed || !*ed)
        ed = "vi";
    char path[] = "/tmp/porter-reply-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        app_say(in->a, 1, "cannot make a draft file: %s", strerror(errno));
        return;
    }
    FILE *f = fdopen(fd, "w");
    const char *guest = in->d.guest_first[0] ? in->d.guest_first : "";
    fprintf(f, "Hi%s%s,\n\n\n", guest[0] ? " " : "", guest);
    fprintf(f,
            "# Reply to %s on %s. Lines starting with # are removed;\n# an empty reply is "
            "not sent.\n",
            in->d.guest_name[0] ? in->d.guest_name : "the guest", in->d.t.channel);
    for (size_t i = in->msgs.n; i-- > 0;) /* quote the last inbound message */
        if (in->msgs.rows[i].direction == DIR_IN) {
            char *q =
                text_clean(in->msgs.rows[i].body, strlen(in->msgs.rows[i].body), TEXT_MULTILINE);
            fprintf(f, "#\n# > ");
            for (char *p = q; *p; p++)
                fputs(*p == '\n' ? "\n# > " : (char[2]){*p, 0}, f);
            fputc('\n', f);
            free(q);
            break;
        }
    fclose(f);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "%s \"$1\"", ed);
    const char *argv[] = {"sh", "-c", cmd, "sh", path, NULL};
    int rc = app_shell_out(in->a, argv);
    char text[EDIT_MAX] = "";
    f = fopen(path, "r");
    if (f) {
        char line[1024];
        size_t o = 0;
        while (fgets(line, sizeof(line), f))
            if (line[0] != '#' && o + strlen(line) < sizeof(text))
                o += (size_t)snprintf(text + o, sizeof(text) - o, "%s", line);
        fclose(f);
    }
    unlink(path);
    size_t len = strlen(text);
    while (len && isspace((unsigned char)text[len - 1]))
        text[--len] = '\0';
    char greeting[80];
    snprintf(greeting, sizeof(greeting), "Hi%s%s,", guest[0] ? " " : "", guest);
    if (rc != 0 || !len || strcmp(text, greeting) == 0) {
        app_say(in->a, 0, rc != 0 ? "the editor failed: nothing sent" : "empty reply: not sent");
        return;
    }
    snprintf(in->draft, sizeof(in->draft), "%s", text);
    in->draft_note = 0;
    app_prompt(in->a, "Send this reply? (y/n) ", "", P_CONFIRM_SEND, NULL);
}

static void triage(struct inbox *in, int purpose, const char *text)
{
    struct err e;
    int64_t ids[512];
    size_t n = targets(in, ids, 512);
    if (!n) {
        app_say(in->a, 1, "no thread selected");
        return;
    }
    int64_t until = 0;
    if (purpose == P_SNOOZE && (until = snooze_parse(text, now_ms())) < 0) {
        app_say(in->a, 1, "'%s': expected 30m, 2h, 1d, tomorrow, reply, YYYY-MM-DD [HH:MM] or -",
                text);
        return;
    }
    char tag[64] = "";
    int add = 1;
    if (purpose == P_TAG) {
        if (text[0] == '-' || text[0] == '+')
            add = text[0] == '+', text++;
        snprintf(tag, sizeof(tag), "%s", text);
    }
    const char *who = text;
    if (purpose == P_ASSIGN && strcmp(text, "me") == 0)
        who = in->a->me;
    if (purpose == P_ASSIGN && (!*text || strcmp(text, "-") == 0))
        who = NULL;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = purpose == P_ASSIGN   ? store_thread_assign(in->a->s, ids[i], who, &e)
                 : purpose == P_SNOOZE ? store_thread_snooze(in->a->s, ids[i], until, &e)
                                       : store_thread_tag(in->a->s, ids[i], tag, add, &e);
        if (rc != 0) {
            app_say(in->a, 1, "%s", e.msg);
            break;
        }
        ok++;
    }
    if (ok == n)
        app_say(in->a, 0, "%s %zu thread%s",
                purpose == P_ASSIGN   ? "assigned"
                : purpose == P_SNOOZE ? (until ? "snoozed" : "woke")
                : add                 ? "tagged"
                                      : "untagged",
                ok, ok == 1 ? "" : "s");
    in->nmarks = 0;
    after_write(in);
}

static void toggle_done(struct inbox *in)
{
    struct err e;
    int64_t ids[512];
    size_t n = targets(in, ids, 512);
    const struct thread_row *r = selected(in);
    int done = !(r && r->id == ids[0] && r->done);
    for (size_t i = 0; i < n; i++)
        if (store_thread_done(in->a->s, ids[i], done, &e) != 0) {
            app_say(in->a, 1, "%s", e.msg);
            return;
        }
    app_say(in->a, 0, "%zu thread%s %s", n, n == 1 ? "" : "s", done ? "done" : "reopened");
    in->nmarks = 0;
    if (in->open && done)
        in->open = 0, close_detail(in);
    after_write(in);
}

static void toggle_mark(struct inbox *in)
{
    const struct thread_row *r = selected(in);
    if (!r)
        return;
    for (size_t i = 0; i < in->nmarks; i++)
        if (in->marks[i] == r->id) {
            in->marks[i] = in->marks[--in->nmarks];
            move_sel(in, 1);
            return;
        }
    in->marks = xrealloc(in->marks, (in->nmarks + 1) * sizeof(*in->marks));
    in->marks[in->nmarks++] = r->id;
    move_sel(in, 1);
}

static void toggle_token(struct inbox *in, const char *tok)
{
    if (has_token(in->query, tok))
        drop_token(in->query, tok, 1);
    else
        add_token(in->query, tok);
    apply_filter(in, 0);
}

/* Cycle prefix:VALUE through values (NULL-terminated); after the last, the token goes. */
static void cycle_token(struct inbox *in, const char *prefix, const char *const *values, size_t n)
{
    int cur = -1;
    char tok[128];
    for (size_t i = 0; i < n; i++) {
        snprintf(tok, sizeof(tok), "%s%s", prefix, values[i]);
        if (has_token(in->query, tok))
            cur = (int)i;
    }
    drop_token(in->query, prefix, 0);
    if (cur + 1 < (int)n) {
        snprintf(tok, sizeof(tok), "%s%s", prefix, values[cur + 1]);
        add_token(in->query, tok);
    }
    apply_filter(in, 0);
}

/* A work order from the open thread: property, unit and stay from the thread, the guest's
 * last message quoted as its description; linked both ways (w jumps). */
static void create_wo(struct inbox *in, const char *title)
{
    struct err e;
    while (*title == ' ')
        title++;
    if (!*title) {
        app_say(in->a, 0, "no title: no work order created");
        return;
    }
    char desc[2048] = "";
    for (size_t i = in->msgs.n; i-- > 0;)
        if (in->msgs.rows[i].direction == DIR_IN) {
            snprintf(desc, sizeof(desc), "%s wrote: %s",
                     in->msgs.rows[i].author ? in->msgs.rows[i].author : "The guest",
                     in->msgs.rows[i].body);
            break;
        }
    int64_t wo = 0;
    if (store_queue_wo_create(in->a->s, in->d.t.account, title, desc, PRIO_NORMAL, in->thread,
                              in->a->me, &wo, &e) != 0) {
        app_say(in->a, 1, "no work order: %s", e.msg);
        return;
    }
    app_say(in->a, 0, "work order #%lld created for this thread (w jumps to it): pending",
            (long long)wo);
    board_reload(in->a->board);
    after_write(in);
}

void inbox_show_thread(struct inbox *in, int64_t thread)
{
    open_thread(in, thread);
}

int inbox_command(struct inbox *in, const char *cmd, const char *arg)
{
    struct app *a = in->a;
    int h = in->list_h > 0 ? in->list_h : 20;
    a->dirty = 1;
    if (in->open && a->cols < WIDE_PANE &&
        (strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0)) /* full-screen pane: scroll */
        cmd = strcmp(cmd, "down") == 0 ? "scroll-down" : "scroll-up";
    if (strcmp(cmd, "down") == 0)
        move_sel(in, 1);
    else if (strcmp(cmd, "up") == 0)
        move_sel(in, -1);
    else if (strcmp(cmd, "page-down") == 0)
        move_sel(in, h);
    else if (strcmp(cmd, "page-up") == 0)
        move_sel(in, -h);
    else if (strcmp(cmd, "top") == 0)
        go_top(in);
    else if (strcmp(cmd, "bottom") == 0)
        go_bottom(in);
    else if (strcmp(cmd, "search-next") == 0 || strcmp(cmd, "search-prev") == 0) {
        if (!in->f_search[0]) {
            app_say(a, 0, "no search: type / and words to search the messages");
            return 1;
        }
        move_sel(in, cmd[7] == 'n' ? 1 : -1);
        if (in->open && selected(in))
            open_thread(in, selected(in)->id);
    } else if (strcmp(cmd, "open") == 0) {
        const struct thread_row *r = selected(in);
        if (r)
            open_thread(in, r->id);
    } else if (strcmp(cmd, "back") == 0) {
        inbox_leave(in);
        in->open = 0;
        close_detail(in);
    } else if (strcmp(cmd, "scroll-down") == 0) {
        in->scroll = in->scroll > 3 ? in->scroll - 3 : 0;
    } else if (strcmp(cmd, "scroll-up") == 0) {
        in->scroll += 3;
    } else if (strcmp(cmd, "reply") == 0 || strcmp(cmd, "note") == 0) {
        need_thread(in);
        if (!in->open)
            return 1;
        int note = cmd[0] == 'n';
        if (arg) {
            send_reply(in, arg, note);
        } else {
            char prompt[160];
            if (note)
                snprintf(prompt, sizeof(prompt), "Internal note (never sent to the guest): ");
            else
                snprintf(prompt, sizeof(prompt),
                         "Reply via %s (Enter sends, Esc cancels): ", in->d.t.channel);
            app_prompt(a, prompt, "", note ? P_NOTE : P_REPLY, &a->reply_hist);
        }
    } else if (strcmp(cmd, "reply-editor") == 0) {
        need_thread(in);
        if (in->open)
            reply_in_editor(in);
    } else if (strcmp(cmd, "template") == 0) {
        need_thread(in);
        if (!in->open)
            return 1;
        if (arg)
            use_template(in, arg);
        else
            app_prompt(a, "Template (Tab lists them): ", "", P_TEMPLATE, NULL);
    } else if (strcmp(cmd, "retry") == 0 || strcmp(cmd, "discard") == 0) {
        need_thread(in);
        struct err e;
        int64_t msg = 0;
        for (size_t i = in->msgs.n; i-- > 0 && !msg;)
            if (in->msgs.rows[i].send_state == SEND_FAILED ||
                in->msgs.rows[i].send_state == SEND_DEAD)
                msg = in->msgs.rows[i].id;
        if (!msg)
            app_say(a, 0, "no failed reply in this thread");
        else if ((cmd[0] == 'r' ? store_message_retry(a->s, msg, &e)
                                : store_message_discard(a->s, msg, &e)) != 0)
            app_say(a, 1, "%s", e.msg);
        else {
            app_say(a, 0, cmd[0] == 'r' ? "queued again: pending" : "discarded");
            after_write(in);
        }
    } else if (strcmp(cmd, "work-order") == 0) {
        need_thread(in);
        if (!in->open)
            return 1;
        if (arg) {
            inbox_accept(in, P_WO_TITLE, arg);
        } else { /* pre-filled with the guest's last words */
            char title[96] = "";
            for (size_t i = in->msgs.n; i-- > 0;)
                if (in->msgs.rows[i].direction == DIR_IN) {
                    char *c = text_clean(in->msgs.rows[i].body, strlen(in->msgs.rows[i].body), 0);
                    text_fit(c, 60, 0, title, sizeof(title));
                    free(c);
                    break;
                }
            app_prompt(a, "Work order title: ", title, P_WO_TITLE, NULL);
        }
    } else if (strcmp(cmd, "jump") == 0) {
        int64_t t = in->open ? in->thread : selected(in) ? selected(in)->id : 0;
        if (t && board_show_thread_wo(a->board, t))
            app_view(a, VIEW_BOARD);
        else
            app_say(a, 0, "no work order is linked to this thread (W creates one)");
    } else if (strcmp(cmd, "assign") == 0) {
        if (arg)
            triage(in, P_ASSIGN, arg);
        else
            app_prompt(a, "Assign to (me, a name, - for nobody): ", "me", P_ASSIGN, NULL);
    } else if (strcmp(cmd, "snooze") == 0) {
        if (arg)
            triage(in, P_SNOOZE, arg);
        else
            app_prompt(a,
                       "Snooze until (30m 2h 1d tomorrow reply YYYY-MM-DD [HH:MM], - wakes): ", "",
                       P_SNOOZE, NULL);
    } else if (strcmp(cmd, "tag") == 0) {
        if (arg)
            triage(in, P_TAG, arg);
        else
            app_prompt(a, "Tag (+name adds, -name removes): ", "+", P_TAG, NULL);
    } else if (strcmp(cmd, "done") == 0) {
        toggle_done(in);
    } else if (strcmp(cmd, "mark") == 0) {
        toggle_mark(in);
    } else if (strcmp(cmd, "unmark-all") == 0) {
        in->nmarks = 0;
    } else if (strcmp(cmd, "filter") == 0) {
        if (arg) {
            snprintf(in->query, sizeof(in->query), "%s", arg);
            apply_filter(in, 0);
        } else {
            snprintf(in->query_prev, sizeof(in->query_prev), "%s", in->query);
            app_prompt(a, "/", in->query, P_FILTER, &a->filter_hist);
        }
    } else if (strcmp(cmd, "filter-needs-reply") == 0)
        toggle_token(in, "is:needs-reply");
    else if (strcmp(cmd, "filter-unread") == 0)
        toggle_token(in, "is:unread");
    else if (strcmp(cmd, "filter-mine") == 0)
        toggle_token(in, "is:mine");
    else if (strcmp(cmd, "filter-unassigned") == 0)
        toggle_token(in, "is:unassigned");
    else if (strcmp(cmd, "filter-checkin") == 0)
        toggle_token(in, "checkin:today");
    else if (strcmp(cmd, "filter-channel") == 0) {
        static const char *const ch[] = {"sms",     "email", "whatsapp", "airbnb",
                                         "booking", "vrbo",  "portal"};
        cycle_token(in, "channel:", ch, sizeof(ch) / sizeof(ch[0]));
    } else if (strcmp(cmd, "filter-account") == 0) {
        const char *names[32];
        size_t n = 0;
        for (size_t i = 0; i < a->health.n && n < 32; i++)
            names[n++] = a->health.rows[i].name;
        cycle_token(in, "account:", names, n);
    } else if (strcmp(cmd, "filter-property") == 0) {
        const struct thread_row *r = selected(in);
        char tok[48];
        if (has_token(in->query, "property:") || strstr(in->query, "property:")) {
            drop_token(in->query, "property:", 0);
            apply_filter(in, 0);
        } else if (r && r->property_id) {
            snprintf(tok, sizeof(tok), "property:%lld", (long long)r->property_id);
            add_token(in->query, tok);
            apply_filter(in, 0);
            app_say(a, 0, "only %s (P again clears)",
                    r->property[0] ? r->property : "this property");
        } else {
            app_say(a, 0, "the selected thread has no property");
        }
    } else if (strcmp(cmd, "filter-clear") == 0) {
        in->query[0] = '\0';
        apply_filter(in, 0);
    } else {
        return 0;
    }
    return 1;
}

void inbox_accept(struct inbox *in, int purpose, const char *text)
{
    switch (purpose) {
    case P_FILTER:
        snprintf(in->query, sizeof(in->query), "%s", text);
        history_add(&in->a->filter_hist, text);
        apply_filter(in, 0);
        break;
    case P_REPLY:
    case P_NOTE:
        if (in->open)
            send_reply(in, text, purpose == P_NOTE);
        break;
    case P_CONFIRM_SEND:
        if (text[0] == 'y' || text[0] == 'Y')
            queue(in, in->draft, in->draft_note);
        else
            app_prompt(in->a, "Reply (Enter sends): ", in->draft, P_REPLY, &in->a->reply_hist);
        break;
    case P_TEMPLATE:
        if (in->open)
            use_template(in, text);
        break;
    case P_ASSIGN:
    case P_SNOOZE:
    case P_TAG:
        triage(in, purpose, text);
        break;
    case P_WO_TITLE:
        if (in->open && in->have_d)
            create_wo(in, text);
        break;
    default:
        break;
    }
}

void inbox_cancel(struct inbox *in, int purpose)
{
    if (purpose == P_FILTER) { /* back to the filter from before `/` */
        snprintf(in->query, sizeof(in->query), "%s", in->query_prev);
        apply_filter(in, 1);
    }
}

/* The filter follows the typing; a search word starts searching at 3 characters (one
 * or two letters match a large part of the messages and cost a noticeable pause: Enter
 * runs them). */
void inbox_typing(struct inbox *in, int purpose, const char *text)
{
    if (purpose != P_FILTER)
        return;
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", text);
    for (char *save = NULL, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
        if (!strchr(t, ':') && text_width(t) < 3)
            return;
    snprintf(in->query, sizeof(in->query), "%s", text);
    apply_filter_counted(in, 1, 0); /* incremental: a half-typed token says nothing */
    if (!in->f_search[0])
        recount(in); /* cheap without a search */
}

void inbox_complete(struct inbox *in, int purpose, struct edit *ed)
{
    if (purpose != P_TEMPLATE)
        return;
    char list[400] = "";
    const char *only = NULL;
    int n = 0;
    for (size_t i = 0; i < in->a->c->nentries; i++) {
        const struct conf_entry *c = &in->a->c->entries[i];
        if (strcmp(c->section, "templates") != 0 || strncmp(c->key, ed->buf, ed->len) != 0)
            continue;
        only = c->key;
        n++;
        strncat(list, c->key, sizeof(list) - strlen(list) - 2);
        strncat(list, " ", sizeof(list) - strlen(list) - 1);
    }
    if (n == 1)
        edit_set(ed, only);
    else
        app_say(in->a, n == 0, "%s", n ? list : "no template (add them to [templates])");
}

void inbox_click(struct inbox *in, int y, int x)
{
    (void)x;
    int row = y - 2; /* the tab bar and the list's header */
    if (row >= 0 && row < (int)in->rows.n) {
        in->sel = row;
        in->sel_id = in->rows.rows[row].id;
        in->a->dirty = 1;
    }
}
