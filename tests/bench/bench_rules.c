/* bench_rules.c - what the automations cost (docs/automations.md, docs/PERFORMANCE.md).
 *
 * In one process, on a real database, through the real store and rules code:
 *   1. journal cost: messages stored per second into an imported account (each is journaled
 *      by the migration-4 trigger) against the same into an account not imported yet
 *      (nothing journaled): the price of the journal on the apply path;
 *   2. throughput: N journaled messages handled by rules_run with the default rules, one
 *      in ten an emergency (work order, dispatch, reply: eleven rows and three outbox ops),
 *      the rest matching nothing;
 *   3. latency: one emergency message, from its commit to the end of the rules transaction
 *      that queued the work order, the dispatch and the reply (p50/p99 of 200).
 * Medians of RUNS runs. Prints its table and appends the rows to $BENCH_ROWS (rows.h).
 *
 *   bench_rules [N]      (default 20000)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "rows.h"
#include "rules.h"
#include "store.h"

#define RUNS 3

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_d);
    int i = (int)ceil(p / 100.0 * n) - 1;
    return v[i < 0 ? 0 : i];
}

static double median3(double *v)
{
    return pct(v, RUNS, 50);
}

struct fx {
    char dir[64], db[128];
    struct store *s;
    struct config *c;
    struct rules *r;
    int64_t acct, fresh;
};

static void die(const char *what, const struct err *e)
{
    fprintf(stderr, "bench_rules: %s%s%s\n", what, e ? ": " : "", e ? e->msg : "");
    exit(1);
}

/* An imported account with a property, a preferred plumber and 50 tenant threads; and a
 * second account that has not had its first pull yet. */
static void fx_open(struct fx *f)
{
    struct err e;
    strcpy(f->dir, "/tmp/porter-bench-rules-XXXXXX");
    if (!mkdtemp(f->dir))
        die("mkdtemp", NULL);
    snprintf(f->db, sizeof(f->db), "%s/p.db", f->dir);
    char path[160];
    snprintf(path, sizeof(path), "%s/accounts.conf", f->dir);
    FILE *fp = fopen(path, "w");
    fclose(fp);
    chmod(path, 0600);
    if (!(f->s = store_open(f->db, &e)) ||
        store_account_ensure(f->s, "ha", "hostaway", &f->acct, &e) != 0 ||
        store_account_ensure(f->s, "fresh", "hostaway", &f->fresh, &e) != 0)
        die("store", &e);
    struct rec_property p = {.remote_id = "P1", .name = "Elm Court"};
    const char *pref[] = {"P1", NULL};
    struct rec_vendor v = {.remote_id = "V1",
                           .name = "Ace Plumbing",
                           .trade = "plumbing",
                           .active = 1,
                           .preferred_property_remote_ids = pref};
    if (store_property_upsert(f->s, f->acct, &p, NULL, &e) < 0 ||
        store_property_upsert(f->s, f->fresh, &p, NULL, &e) < 0 ||
        store_vendor_upsert(f->s, f->acct, &v, NULL, &e) < 0)
        die("fixture", &e);
    for (int i = 0; i < 50; i++) {
        char rid[16];
        snprintf(rid, sizeof(rid), "T%d", i);
        struct rec_thread t = {.remote_id = rid,
                               .kind = THREAD_TENANT,
                               .property_remote_id = "P1",
                               .channel = CH_EMAIL,
                               .subject = "Unit"};
        if (store_thread_upsert(f->s, f->acct, &t, NULL, &e) < 0 ||
            store_thread_upsert(f->s, f->fresh, &t, NULL, &e) < 0)
            die("thread", &e);
    }
    if (store_account_touch(f->s, f->acct, 0, &e) != 0)
        die("touch", &e);
    if (!(f->c = config_new(f->dir, f->db, &e)) || config_load(f->c, &e) != 0)
        die("config", &e);
    f->r = rules_load(f->c);
}

static void fx_close(struct fx *f)
{
    rules_free(&f->r);
    config_free(&f->c);
    store_close(&f->s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_rules: could not remove %s\n", f->dir);
}

/* n inbound messages into `acct`, 500 per transaction (as the apply worker batches);
 * every `every`-th an emergency (0: none). Returns messages per second. */
static double put_messages(struct fx *f, int64_t acct, int n, int every, int *seq)
{
    struct err e;
    double t0 = now_s();
    int64_t at = wall_ms();
    for (int i = 0; i < n; i++) {
        if (i % 500 == 0 && store_begin(f->s, &e) != 0)
            die("begin", &e);
        char rid[32], thread[16];
        snprintf(rid, sizeof(rid), "M%d", (*seq)++);
        snprintf(thread, sizeof(thread), "T%d", *seq % 50);
        struct rec_message m = {.remote_id = rid,
                                .thread_remote_id = thread,
                                .direction = DIR_IN,
                                .channel = CH_EMAIL,
                                .body = every && i % every == 0
                                            ? "Water is leaking through the ceiling!"
                                            : "Hi, what time is check-in tomorrow?",
                                .sent_at = at,
                                .remote_updated_at = at};
        if (store_message_upsert(f->s, acct, &m, NULL, &e) < 0)
            die("message", &e);
        if ((i % 500 == 499 || i == n - 1) && store_commit(f->s, &e) != 0)
            die("commit", &e);
    }
    return n / (now_s() - t0);
}

static void row(const char *name, const char *unit, double v, int decimals, const char *target,
                int pass)
{
    char label[128], metric[128];
    snprintf(label, sizeof(label), "%s (%s)", name, unit);
    printf("%-64s %12.*f %10s  %s\n", label, decimals, v, target,
           pass < 0 ? ""
           : pass   ? "pass"
                    : "FAIL");
    snprintf(metric, sizeof(metric), "rules: %s", name);
    bench_rows_add(metric, v, decimals, unit, target, pass, NULL);
}

int main(int argc, char **argv)
{
    struct err le;
    if (log_open("/dev/null", LOG_WARN, &le) != 0) /* one log line per firing otherwise */
        fprintf(stderr, "bench_rules: %s\n", le.msg);
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    if (n < 1000)
        n = 1000;
    double journaled[RUNS], plain[RUNS], handled[RUNS], p50[RUNS], p99[RUNS];
    int fired_total = 0;
    for (int run = 0; run < RUNS; run++) {
        struct fx f;
        memset(&f, 0, sizeof(f));
        fx_open(&f);
        int seq = run * 10 * n;
        /* 1. the journal's cost on the apply path */
        plain[run] = put_messages(&f, f.fresh, n, 0, &seq);
        journaled[run] = put_messages(&f, f.acct, n, 10, &seq);
        /* 2. handling them */
        struct err e;
        int fired = 0;
        double t0 = now_s();
        int got = rules_run(f.r, f.s, wall_ms(), &fired, &e);
        double dt = now_s() - t0;
        /* the messages, and the events the rules' own work orders made */
        if (got < n)
            die("rules_run handled fewer events than journaled", got < 0 ? &e : NULL);
        handled[run] = got / dt;
        fired_total = fired;
        /* 3. one emergency at a time */
        double lat[200];
        for (int i = 0; i < 200; i++) {
            double a = now_s();
            put_messages(&f, f.acct, 1, 1, &seq);
            int h1 = rules_run(f.r, f.s, wall_ms(), &fired, &e);
            if (h1 < 1 || fired < 1) {
                fprintf(stderr, "bench_rules: one emergency: %d handled, %d fired\n", h1, fired);
                die("one emergency", h1 < 0 ? &e : NULL);
            }
            lat[i] = (now_s() - a) * 1000;
        }
        p50[run] = pct(lat, 200, 50);
        p99[run] = pct(lat, 200, 99);
        fx_close(&f);
    }
    double plain_m = median3(plain), jour_m = median3(journaled);
    printf("bench_rules: %d messages a run, one in ten an emergency, default rules; medians of "
           "%d runs\n",
           n, RUNS);
    printf("  (rules fired in the last run's batch: %d; an emergency that joins a thread's open "
           "work order replies only)\n",
           fired_total);
    row("messages stored, account not imported (nothing journaled)", "msg/s", plain_m, 0, "-", -1);
    row("messages stored and journaled", "msg/s", jour_m, 0, "-", -1);
    row("journal cost on the apply path", "%", (plain_m - jour_m) / plain_m * 100, 1, "-", -1);
    double h = median3(handled);
    row("events handled by the default rules", "events/s", h, 0, ">= 10000", h >= 10000);
    row("one emergency: commit to work order, dispatch and reply queued, p50", "ms", median3(p50),
        2, "-", -1);
    double l99 = median3(p99);
    row("one emergency: commit to work order, dispatch and reply queued, p99", "ms", l99, 2, "< 50",
        l99 < 50);
    return 0;
}
