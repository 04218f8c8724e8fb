/* cli.c - see cli.h. Text output is for people (remote text with control bytes replaced),
 * --json output is for scripts (cJSON escapes everything). Exit status: 0 ok, 1 error,
 * 2 usage. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "notify.h"
#include "rules.h"
#include "text.h"

static int has_flag(int argc, char **argv, const char *flag)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], flag) == 0)
            return 1;
    return 0;
}

/* Print remote text on one line with control bytes (C0, DEL, ESC sequences) replaced. */
/* Remote text for a terminal: the interface's sanitiser (escape sequences, C0/C1 controls
 * and bidi overrides removed, invalid UTF-8 as U+FFFD, one line), at most max bytes of it
 * without cutting a character. */
static void put_clean(FILE *f, const char *s, size_t max)
{
    char *clean = text_clean(s, strlen(s), 0);
    size_t n = strlen(clean);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)clean[n] & 0xc0) == 0x80)
            n--;
    }
    fwrite(clean, 1, n, f);
    free(clean);
}

/* Length of the valid UTF-8 sequence at p (code point in *cp), or 0. */
static size_t utf8_seq(const unsigned char *p, unsigned *cp)
{
    unsigned c = p[0];
    size_t n = 0;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    if (!n)
        return 0;
    unsigned v = c & (0xff >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff)))
        return 0; /* overlong, or a surrogate */
    if (n == 4 && (v < 0x10000 || v > 0x10ffff))
        return 0;
    *cp = v;
    return n;
}

/* JSON for a terminal and for strict parsers. cJSON prints a string as it is stored, and
 * remote text may hold invalid UTF-8 (not JSON at all), DEL, C1 controls (a terminal takes
 * U+009B for CSI) and bidirectional overrides. Outside strings cJSON prints only ASCII, so
 * each of those is inside a string and becomes a \uXXXX escape: the same JSON value, valid
 * UTF-8, inert on a terminal. */
static void put_json(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp = *p;
        size_t n = *p < 0x80 ? 1 : utf8_seq(p, &cp);
        if (!n) {
            fputs("\\ufffd", f); /* invalid UTF-8: U+FFFD, one byte at a time */
            p++;
            continue;
        }
        if (cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
            (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029)
            fprintf(f, "\\u%04x", cp);
        else
            fwrite(p, 1, n, f);
        p += n;
    }
}

static void print_json(cJSON *j)
{
    char *out = cJSON_Print(j);
    put_json(stdout, out);
    putchar('\n');
    free(out);
    cJSON_Delete(j);
}

static void fmt_time(int64_t ms, char out[32])
{
    if (ms <= 0) {
        strcpy(out, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static volatile sig_atomic_t stop_requested;
static struct notify sig_notify;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
    notify_poke(&sig_notify);
}

int cli_sync(struct config *c, struct store *s, int argc, char **argv)
{
    (void)s;
    int once = has_flag(argc, argv, "--once");
    struct err e;
    if (c->naccounts == 0) {
        fprintf(stderr, "porter: no accounts in %s; nothing to sync\n", c->accounts_path);
        return 1;
    }
    struct engine *g = engine_new(c, NULL, &e);
    if (!g) {
        fprintf(stderr, "porter: %s\n", e.msg);
        return 1;
    }
    if (once) {
        int rc = engine_run_once(g, &e);
        if (rc != 0)
            fprintf(stderr, "porter: %s\n", e.msg);
        engine_free(&g);
        return rc == 0 ? 0 : 1;
    }
    if (notify_init(&sig_notify, &e) != 0 || engine_start(g, &e) != 0) {
        fprintf(stderr, "porter: %s\n", e.msg);
        engine_free(&g);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "porter: syncing %zu account(s); webhooks on %s; SIGTERM stops\n", c->naccounts,
            c->listen);
    while (!stop_requested)
        notify_wait(&sig_notify, 1000);
    engine_free(&g);
    notify_fini(&sig_notify);
    log_info("cli", "sync stopped by signal");
    return 0;
}

enum { STATUS_OK, STATUS_DEGRADED, STATUS_DOWN, STATUS_UNKNOWN };

int cli_status(struct config *c, struct store *s, int argc, char **argv)
{
    (void)c;
    struct health h;
    struct err e;
    if (store_health(s, &h, &e) != 0) {
        fprintf(stderr, "porter: %s\n", e.msg);
        return STATUS_UNKNOWN;
    }
    /* monitoring exit codes (as Nagios plugins): 0 healthy, 1 degraded, 2 down */
    int worst = STATUS_OK;
    for (size_t i = 0; i < h.n; i++) {
        const struct health_row *r = &h.rows[i];
        int down = strcmp(r->state, "down") == 0 || strcmp(r->state, "auth_failed") == 0;
        int degraded = strcmp(r->state, "degraded") == 0 || strcmp(r->circuit, "closed") != 0;
        int st = down ? STATUS_DOWN : degraded ? STATUS_DEGRADED : STATUS_OK;
        worst = st > worst ? st : worst;
    }
    if (has_flag(argc, argv, "--json")) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < h.n; i++) {
            const struct health_row *r = &h.rows[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "account", r->name);
            cJSON_AddStringToObject(o, "adapter", r->adapter);
            cJSON_AddStringToObject(o, "state", r->state);
            if (r->reason)
                cJSON_AddStringToObject(o, "reason", r->reason);
            cJSON_AddStringToObject(o, "circuit", r->circuit);
            cJSON_AddNumberToObject(o, "last_pull_at", (double)r->last_pull_at);
            cJSON_AddNumberToObject(o, "last_webhook_at", (double)r->last_webhook_at);
            cJSON_AddNumberToObject(o, "latency_p50_ms", r->lat_p50);
            cJSON_AddNumberToObject(o, "latency_p95_ms", r->lat_p95);
            cJSON_AddNumberToObject(o, "latency_max_ms", r->lat_max);
            cJSON_AddNumberToObject(o, "outbox_depth", (double)r->outbox_depth);
            cJSON_AddNumberToObject(o, "outbox_oldest_at", (double)r->outbox_oldest);
            cJSON_AddNumberToObject(o, "failures_24h", (double)r->failures);
            cJSON_AddNumberToObject(o, "rate_limited_24h", (double)r->rate_limited);
            cJSON_AddNumberToObject(o, "open_alerts", (double)r->open_alerts);
            cJSON_AddItemToArray(arr, o);
        }
        print_json(arr);
    } else {
        printf("%-16s %-9s %-11s %-20s %-20s %9s %6s %6s %5s\n", "ACCOUNT", "ADAPTER", "STATE",
               "LAST PULL", "LAST WEBHOOK", "P95 MS", "QUEUE", "FAILS", "429S");
        for (size_t i = 0; i < h.n; i++) {
            const struct health_row *r = &h.rows[i];
            char pull[32], hook[32];
            fmt_time(r->last_pull_at, pull);
            fmt_time(r->last_webhook_at, hook);
            printf("%-16s %-9s %-11s %-20s %-20s %9.1f %6lld %6lld %5lld\n", r->name, r->adapter,
                   r->state, pull, hook, r->lat_p95, (long long)r->outbox_depth,
                   (long long)r->failures, (long long)r->rate_limited);
            if (r->reason) {
                printf("  reason: ");
                put_clean(stdout, r->reason, 200);
                putchar('\n');
            }
        }
        if (h.n == 0)
            printf("(no accounts have synced yet)\n");
    }
    health_free(&h);
    return worst;
}

int cli_threads(struct config *c, struct store *s, int argc, char **argv)
{
    (void)c;
    int json = has_flag(argc, argv, "--json");
    struct thread_filter f = {.include_done = has_flag(argc, argv, "--all")};
    struct err e;
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    struct page_key key, *after = NULL;
    for (;;) {
        struct thread_page p;
        if (store_threads_page(s, &f, THREAD_SORT_NEWEST, after, 500, &p, &e) != 0) {
            fprintf(stderr, "porter: %s\n", e.msg);
            cJSON_Delete(arr);
            return 1;
        }
        for (size_t i = 0; i < p.n; i++) {
            const struct thread_row *r = &p.rows[i];
            if (json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "id", (double)r->id);
                cJSON_AddStringToObject(o, "account", r->account_name);
                cJSON_AddStringToObject(o, "remote_id", r->remote_id);
                cJSON_AddStringToObject(o, "contact", r->contact);
                cJSON_AddStringToObject(o, "property", r->property);
                cJSON_AddStringToObject(o, "channel", r->channel);
                cJSON_AddStringToObject(o, "last", r->preview);
                cJSON_AddNumberToObject(o, "last_message_at", (double)r->last_message_at);
                cJSON_AddBoolToObject(o, "needs_reply", r->needs_reply);
                cJSON_AddNumberToObject(o, "messages", r->message_count);
                cJSON_AddNumberToObject(o, "pending", r->pending);
                cJSON_AddNumberToObject(o, "failed", r->failed);
                cJSON_AddItemToArray(arr, o);
            } else {
                printf("%6lld %c %-10s %-8s ", (long long)r->id, r->needs_reply ? '*' : ' ',
                       r->account_name, r->channel);
                put_clean(stdout, r->contact, 24);
                fputs(" | ", stdout);
                put_clean(stdout, r->preview, 60);
                putchar('\n');
            }
        }
        size_t n = p.n;
        if (n)
            key = p.rows[n - 1].key;
        thread_page_free(&p);
        if (n < 500)
            break;
        after = &key;
    }
    if (json)
        print_json(arr);
    return 0;
}

static int parse_id(const char *s, int64_t *id)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v <= 0)
        return -1;
    *id = v;
    return 0;
}

int cli_messages(struct config *c, struct store *s, int argc, char **argv)
{
    (void)c;
    int64_t thread;
    if (argc < 1 || parse_id(argv[0], &thread) != 0) {
        fprintf(stderr, "usage: porter messages THREAD [--json]\n");
        return 2;
    }
    struct message_list l;
    struct err e;
    struct thread_detail t;
    if (store_thread_get(s, thread, NULL, 0, &t, &e) != 0) { /* no such thread: say so */
        fprintf(stderr, "porter: %s\n", e.msg);
        return 1;
    }
    thread_detail_free(&t);
    if (store_messages(s, thread, &l, &e) != 0) {
        fprintf(stderr, "porter: %s\n", e.msg);
        return 1;
    }
    if (has_flag(argc, argv, "--json")) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < l.n; i++) {
            const struct message_row *m = &l.rows[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", (double)m->id);
            if (m->remote_id)
                cJSON_AddStringToObject(o, "remote_id", m->remote_id);
            cJSON_AddStringToObject(o, "direction", direction_name(m->direction));
            cJSON_AddStringToObject(o, "channel", m->channel);
            cJSON_AddStringToObject(o, "author", m->author);
            cJSON_AddStringToObject(o, "body", m->body);
            cJSON_AddNumberToObject(o, "sent_at", (double)m->sent_at);
            cJSON_AddStringToObject(o, "state", send_state_name(m->send_state));
            if (m->send_error)
                cJSON_AddStringToObject(o, "error", m->send_error);
            cJSON_AddItemToArray(arr, o);
        }
        print_json(arr);
    } else {
        for (size_t i = 0; i < l.n; i++) {
            const struct message_row *m = &l.rows[i];
            char when[32];
            fmt_time(m->sent_at, when);
            printf("%s %-6s %-8s [%s] ", when, direction_name(m->direction), m->channel,
                   send_state_name(m->send_state));
            put_clean(stdout, m->author, 30);
            fputs(": ", stdout);
            put_clean(stdout, m->body, 4000);
            putchar('\n');
        }
    }
    message_list_free(&l);
    return 0;
}

static int queue(struct store *s, int argc, char **argv, enum direction dir, const char *usage)
{
    int64_t thread, msg;
    if (argc < 2 || parse_id(argv[0], &thread) != 0) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    struct err e; /* a reply goes out on the channel the conversation uses */
    enum channel ch = CH_NOTE;
    if (dir == DIR_OUT) {
        struct message_list l;
        if (store_messages(s, thread, &l, &e) == 0) {
            for (size_t i = 0; i < l.n; i++)
                if (l.rows[i].direction == DIR_IN || l.rows[i].direction == DIR_OUT) {
                    int c = channel_parse(l.rows[i].channel);
                    ch = c >= 0 ? (enum channel)c : CH_EMAIL;
                }
            message_list_free(&l);
        }
        if (ch == CH_NOTE)
            ch = CH_EMAIL;
    }
    const char *user = getenv("USER");
    if (store_queue_reply(s, thread, dir, ch, user ? user : "porter", argv[1], NULL, &msg, &e) !=
        0) {
        fprintf(stderr, "porter: %s\n", e.msg);
        return 1;
    }
    printf("queued message %lld on thread %lld (%s)\n", (long long)msg, (long long)thread,
           channel_name(ch));
    return 0;
}

int cli_send(struct config *c, struct store *s, int argc, char **argv)
{
    (void)c;
    return queue(s, argc, argv, DIR_OUT, "porter send THREAD TEXT");
}

int cli_note(struct config *c, struct store *s, int argc, char **argv)
{
    (void)c;
    return queue(s, argc, argv, DIR_NOTE, "porter note THREAD TEXT");
}

int cli_wo(struct config *c, struct store *s, int argc, char **argv)
{
    (void)c;
    struct err e;
    if (argc >= 1 && strcmp(argv[0], "list") == 0) {
        struct wo_list l;
        if (store_work_orders(s, -1, 100000, &l, &e) != 0) {
            fprintf(stderr, "porter: %s\n", e.msg);
            return 1;
        }
        int json = has_flag(argc, argv, "--json");
        cJSON *arr = json ? cJSON_CreateArray() : NULL;
        for (size_t i = 0; i < l.n; i++) {
            const struct wo_row *w = &l.rows[i];
            if (json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "id", (double)w->id);
                if (w->remote_id)
                    cJSON_AddStringToObject(o, "remote_id", w->remote_id);
                cJSON_AddStringToObject(o, "title", w->title);
                cJSON_AddStringToObject(o, "status", wo_status_name(w->status));
                cJSON_AddStringToObject(o, "priority", priority_name(w->priority));
                cJSON_AddStringToObject(o, "property", w->property);
                cJSON_AddStringToObject(o, "vendor", w->vendor);
                cJSON_AddStringToObject(o, "sync", w->sync_state);
                if (w->sync_error)
                    cJSON_AddStringToObject(o, "error", w->sync_error);
                cJSON_AddItemToArray(arr, o);
            } else {
                printf("%6lld %-11s %-9s %-7s %s", (long long)w->id, wo_status_name(w->status),
                       priority_name(w->priority), w->sync_state,
                       w->priority == PRIO_EMERGENCY ? "!! " : "");
                put_clean(stdout, w->title, 80);
                putchar('\n');
            }
        }
        if (json)
            print_json(arr);
        wo_list_free(&l);
        return 0;
    }
    int64_t wo;
    if (argc >= 3 && strcmp(argv[0], "set") == 0 && parse_id(argv[1], &wo) == 0 &&
        strncmp(argv[2], "status=", 7) == 0) {
        int st = wo_status_parse(argv[2] + 7);
        if (st < 0) {
            fprintf(stderr,
                    "porter: unknown status '%s' (new, assigned, scheduled, in_progress, "
                    "on_hold, completed, closed, cancelled)\n",
                    argv[2] + 7);
            return 2;
        }
        const char *user = getenv("USER");
        if (store_queue_wo_status(s, wo, (enum wo_status)st, user ? user : "porter", &e) != 0) {
            fprintf(stderr, "porter: %s\n", e.msg);
            return 1;
        }
        printf("work order %lld: status %s queued\n", (long long)wo, argv[2] + 7);
        return 0;
    }
    fprintf(stderr, "usage: porter wo list [--json] | porter wo set WO status=STATUS\n");
    return 2;
}

/* ---- rules ---- */

static void time_fmt(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M", &tm);
}

static int rules_list(struct rules *r, struct store *s, int json)
{
    struct err e;
    struct rule_stat_list st = {0};
    if (s && store_rule_stats(s, &st, &e) != 0) {
        fprintf(stderr, "porter: %s\n", e.msg);
        return 1;
    }
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    for (size_t i = 0; i < rules_count(r); i++) {
        char where[300], desc[600], last[32] = "never";
        const struct rule_stat_row *row = NULL;
        for (size_t k = 0; k < st.n; k++)
            if (strcmp(st.rows[k].rule, rules_name(r, i)) == 0)
                row = &st.rows[k];
        if (row && row->last_at)
            time_fmt(row->last_at, last, sizeof(last));
        rules_where(r, i, where, sizeof(where));
        rules_describe(r, i, desc, sizeof(desc));
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", rules_name(r, i));
            cJSON_AddBoolToObject(o, "enabled", rules_enabled(r, i));
            cJSON_AddStringToObject(o, "where", where);
            cJSON_AddStringToObject(o, "rule", desc);
            cJSON_AddNumberToObject(o, "fired", row ? (double)row->fired : 0);
            cJSON_AddNumberToObject(o, "errors", row ? (double)row->errors : 0);
            cJSON_AddNumberToObject(o, "last_fired", row ? (double)row->last_at : 0);
            cJSON_AddItemToArray(arr, o);
            continue;
        }
        printf("%-24s %-3s fired %-5lld errors %-4lld last %s  (%s)\n    ", rules_name(r, i),
               rules_enabled(r, i) ? "on" : "off", row ? (long long)row->fired : 0LL,
               row ? (long long)row->errors : 0LL, last, where);
        put_clean(stdout, desc, 500);
        putchar('\n');
    }
    if (json)
        print_json(arr);
    rule_stat_list_free(&st);
    return 0;
}

static int rules_log(struct store *s, int json)
{
    struct err e;
    struct rule_fire_list fl;
    if (store_rule_fires(s, 0, 50, &fl, &e) != 0) {
        fprintf(stderr, "porter: %s\n", e.msg);
        return 1;
    }
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    for (size_t i = 0; i < fl.n; i++) {
        const struct rule_fire_row *f = &fl.rows[i];
        char when[32];
        time_fmt(f->at, when, sizeof(when));
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", (double)f->id);
            cJSON_AddStringToObject(o, "rule", f->rule);
            cJSON_AddStringToObject(o, "event", f->event_kind);
            cJSON_AddNumberToObject(o, "at", (double)f->at);
            cJSON_AddStringToObject(o, "outcome", f->outcome);
            cJSON_AddStringToObject(o, "summary", f->summary);
            if (f->error[0])
                cJSON_AddStringToObject(o, "error", f->error);
            cJSON_AddBoolToObject(o, "undone", f->undone_at != 0);
            cJSON_AddItemToArray(arr, o);
            continue;
        }
        printf("%6lld %s %-20s %-8s %s", (long long)f->id, when, f->rule, f->outcome,
               f->undone_at ? "[undone] " : "");
        put_clean(stdout, f->summary, 300);
        putchar('\n');
    }
    if (json)
        print_json(arr);
    rule_fire_list_free(&fl);
    return 0;
}

int cli_rules(struct config *c, struct store *s, int argc, char **argv)
{
    struct err e;
    const char *sub = argc >= 1 ? argv[0] : "list";
    struct rules *r = rules_load(c);
    int rc = 2;
    if (strcmp(sub, "check") == 0) {
        for (size_t i = 0; i < rules_nerrors(r); i++) {
            fputs("porter: ", stderr);
            put_clean(stderr, rules_error(r, i), 500);
            fputc('\n', stderr);
        }
        size_t on = 0;
        for (size_t i = 0; i < rules_count(r); i++)
            on += (size_t)rules_enabled(r, i);
        printf("%zu rule(s) loaded (%zu on), %zu error(s)\n", rules_count(r), on, rules_nerrors(r));
        rc = rules_nerrors(r) ? 1 : 0;
    } else if (strcmp(sub, "list") == 0) {
        rc = rules_list(r, s, has_flag(argc, argv, "--json"));
    } else if (strcmp(sub, "log") == 0) {
        rc = rules_log(s, has_flag(argc, argv, "--json"));
    } else if (strcmp(sub, "test") == 0 && argc == 2) {
        char *json = file_slurp(argv[1], 1024 * 1024);
        if (!json)
            err_set(&e, errno, FINAL, "cannot read %s: %s", argv[1], strerror(errno));
        rc = json && rules_test(r, s, json, stdout, &e) == 0 ? 0 : 1;
        if (rc)
            fprintf(stderr, "porter: %s\n", e.msg);
        free(json);
    } else if (strcmp(sub, "undo") == 0 && argc == 2) {
        int64_t fire;
        char msg[600];
        const char *user = getenv("USER");
        if (parse_id(argv[1], &fire) != 0) {
            fprintf(stderr, "porter: not a firing id: %s\n", argv[1]);
        } else if (rules_undo(s, fire, user ? user : "porter", msg, sizeof(msg), &e) != 0) {
            fprintf(stderr, "porter: %s\n", e.msg);
            rc = 1;
        } else {
            put_clean(stdout, msg, 600);
            putchar('\n');
            rc = 0;
        }
    }
    if (rc == 2)
        fprintf(stderr, "usage: porter rules [list [--json] | check | log [--json] | "
                        "test EVENT.json | undo FIRING]\n");
    rules_free(&r);
    return rc;
}

/* ---- doctor ---- */

static int check_line(const char *result, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int check_line(const char *result, const char *what, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("%-5s %-9s ", result, what);
    put_clean(stdout, msg, 500);
    putchar('\n');
    fflush(stdout);
    return strcmp(result, "FAIL") == 0;
}

int cli_doctor(struct config *c, struct store *s, int argc, char **argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    struct err e;
    int failed = 0;
    /* config_load has refused an unsafe accounts.conf before we got here (main reports
     * that as a failed check too) */
    check_line("ok", "config", "%s (%s), %s (%s)", c->accounts_path,
               access(c->accounts_path, F_OK) == 0 ? "owner only" : "none", c->porter_path,
               access(c->porter_path, F_OK) == 0 ? "read" : "none: defaults");
    /* the database is created (with its directory, 0700) as any porter command would */
    char *dir = xstrdup(c->db_path), *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        mkdir_p(dir, 0700, &e);
    }
    free(dir);
    struct store *db = store_open(c->db_path, &e);
    if (!db) {
        failed |= check_line("FAIL", "database", "%s", e.msg);
    } else if (store_check(db, &e) != 0) {
        failed |= check_line("FAIL", "database", "%s: %s", c->db_path, e.msg);
    } else {
        check_line("ok", "database", "%s: schema %d, integrity ok", c->db_path, store_version(db));
    }
    store_close(&db);
    if (c->naccounts == 0) {
        check_line("warn", "accounts", "none in %s: nothing to sync", c->accounts_path);
        return failed;
    }
    int rc = engine_listen_check(c, &e);
    if (rc < 0)
        failed |= check_line("FAIL", "listener", "%s", e.msg);
    else if (rc == 1)
        check_line("warn", "listener",
                   "%s is in use: a running porter (sync or the interface) receives the "
                   "webhooks there; if not, another program holds the port",
                   c->listen);
    else
        check_line("ok", "listener", "%s can be bound for webhooks", c->listen);
    struct engine *g = engine_new(c, NULL, &e);
    if (!g)
        return check_line("FAIL", "engine", "%s", e.msg) | 1;
    for (size_t i = 0; i < engine_accounts(g); i++) {
        int64_t ms = 0;
        const char *name = engine_account_name(g, i);
        const struct account_conf *ac = config_account(c, name);
        if (engine_probe(g, i, &ms, &e) == 0)
            check_line("ok", "account",
                       "%s (%s): reachable and authenticated, first page read "
                       "in %lld ms",
                       name, ac ? ac->adapter : "?", (long long)ms);
        else
            failed |=
                check_line("FAIL", "account", "%s (%s): %s", name, ac ? ac->adapter : "?", e.msg);
    }
    if (engine_accounts(g) < c->naccounts)
        failed |= check_line("FAIL", "account",
                             "%zu account(s) name an adapter this porter "
                             "does not have (see porter config)",
                             c->naccounts - engine_accounts(g));
    engine_free(&g);
    return failed ? 1 : 0;
}
