/* bench_sync.c - sync engine figures against pmsim (Hostaway dialect), on loopback:
 *
 *   webhook-to-committed latency: webhooks POSTed to a running `porter sync` at a fixed
 *     rate (open loop); the 200 is sent only after the event is committed, so the time to
 *     the answer is the webhook-to-committed latency. p50/p99 at 50, 200, 1000 events/s.
 *   apply throughput: N stored events applied by `porter sync --once`, minus the time of
 *     an empty `sync --once` (the same poll with nothing to apply).
 *   outbox throughput: N queued replies drained by `porter sync --once` against pmsim with
 *     its rate limit off, minus the empty run.
 *
 * Each figure is the median of RUNS runs. Prints one table: metric, median, target.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "simctl.h"
#include "store.h"

#define RUNS 3

static char dir[64], db[128];
static struct simproc sim;
static int hook_port;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_d);
    return v[(int)((n - 1) * p)];
}

static double median3(double a, double b, double c)
{
    double v[3] = {a, b, c};
    return pct(v, 3, 0.5);
}

static int porter_run(const char *a1, const char *a2)
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(getenv("PORTER_BIN"), "porter", "--config", dir, "--db", db, a1, a2, NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static pid_t porter_daemon(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execl(getenv("PORTER_BIN"), "porter", "--config", dir, "--db", db, "sync", NULL);
        _exit(127);
    }
    return pid;
}

/* A conversation and its reservation, for realistic message events. */
static void pick_conversation(long *conv, long *res)
{
    char url[128];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/state?collection=conversations",
             sim.port[0]);
    http_do("GET", url, NULL, NULL, &r);
    cJSON *j = cJSON_Parse(r.body);
    cJSON *c = cJSON_GetArrayItem(j, 0);
    *conv = (long)cJSON_GetObjectItem(c, "id")->valuedouble;
    *res = (long)cJSON_GetObjectItem(c, "reservationId")->valuedouble;
    cJSON_Delete(j);
    http_result_free(&r);
}

static char *event_body(long conv, long res, long id)
{
    char *b = malloc(512);
    snprintf(b, 512,
             "{\"object\":\"conversationMessage\",\"event\":\"message.received\","
             "\"accountId\":10450,\"data\":{\"id\":%ld,\"accountId\":10450,"
             "\"reservationId\":%ld,\"conversationId\":%ld,\"body\":\"bench message %ld\","
             "\"communicationType\":\"email\",\"status\":\"sent\",\"isIncoming\":1,\"isSeen\":0,"
             "\"date\":\"2026-11-22 10:00:00\",\"updatedOn\":\"2026-11-22 10:00:00\"}}",
             id, res, conv, id);
    return b;
}

/* Open-loop webhook sender at `rate`/s for `n` events; fills p50/p99 in ms. */
static void webhook_latency(int rate, int n, long conv, long res, long *next_id, double *p50,
                            double *p99)
{
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hooks/ha", hook_port);
    const char *hdr[] = {
        "Authorization: Basic cG9ydGVyOmNoYW5nZS1tZQ==", "Content-Type: application/json", NULL};
    double *lat = calloc((size_t)n, sizeof(*lat));
    double start = now_s();
    int ok = 0;
    for (int i = 0; i < n; i++) {
        double due = start + (double)i / rate;
        double wait = due - now_s();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
            nanosleep(&ts, NULL);
        }
        char *body = event_body(conv, res, (*next_id)++);
        struct http_result r;
        double t0 = now_s();
        http_do("POST", url, hdr, body, &r);
        /* latency counts from when the event was due, so a sender that falls behind shows
         * up as latency (no coordinated omission) */
        lat[i] = (now_s() - (t0 > due ? due : t0)) * 1000.0;
        ok += r.status == 200;
        http_result_free(&r);
        free(body);
    }
    if (ok != n)
        fprintf(stderr, "bench: %d of %d webhooks answered 200\n", ok, n);
    *p50 = pct(lat, n, 0.50);
    *p99 = pct(lat, n, 0.99);
    free(lat);
}

static double timed_once(void)
{
    double t0 = now_s();
    porter_run("sync", "--once");
    return now_s() - t0;
}

int main(void)
{
    strcpy(dir, "/tmp/porter-bench-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(db, sizeof(db), "%s/porter.db", dir);
    hook_port = sim_free_port();
    char epoch[32];
    snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL) * 1000);
    const char *argv[] = {"--account", "hostaway:0", "--data",           "data/demo", "--epoch",
                          epoch,       "--fault",    "rate_limit_off=1", NULL};
    if (sim_spawn(&sim, argv) != 0) {
        fprintf(stderr, "bench: cannot start pmsim ($PMSIM_BIN)\n");
        return 1;
    }
    char path[160];
    snprintf(path, sizeof(path), "%s/accounts.conf", dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "[ha]\nadapter = hostaway\nbase_url = http://127.0.0.1:%d/v1\nclient_id = 10450\n"
            "secret = c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d\n"
            "webhook_secret = porter:change-me\npoll_interval = 3600\nrate_limit = 10000\n"
            "rate_burst = 10000\n",
            sim.port[0]);
    fclose(f);
    chmod(path, 0600);
    snprintf(path, sizeof(path), "%s/porter.conf", dir);
    f = fopen(path, "w");
    fprintf(f,
            "[general]\nlog_level = warn\n[webhook]\nlisten = 127.0.0.1:%d\n"
            "max_connections = 256\n",
            hook_port);
    fclose(f);
    setenv("XDG_STATE_HOME", dir, 1);
    porter_run("sync", "--once"); /* initial import */
    long conv, res, next_id = 900000000;
    pick_conversation(&conv, &res);

    /* 1. webhook-to-committed latency */
    static const int rates[] = {50, 200, 1000};
    double p50[3][RUNS], p99[3][RUNS];
    pid_t d = porter_daemon();
    sleep(1);
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < RUNS; k++)
            webhook_latency(rates[r], rates[r] * 3 > 600 ? 1000 : 600, conv, res, &next_id,
                            &p50[r][k], &p99[r][k]);
    kill(d, SIGTERM);
    waitpid(d, NULL, 0);

    /* 2. apply throughput and 3. outbox throughput */
    enum { EVENTS = 20000, OPS = 2000 };
    double apply[RUNS], push[RUNS];
    struct err e;
    for (int k = 0; k < RUNS; k++) {
        double base = timed_once();
        struct store *s = store_open(db, &e);
        int64_t acct = 0, thread = 1;
        store_account_ensure(s, "ha", "hostaway", &acct, &e);
        store_begin(s, &e);
        for (int i = 0; i < EVENTS; i++) {
            char *body = event_body(conv, res, next_id++);
            char id[32];
            snprintf(id, sizeof(id), "bench-%ld", next_id);
            store_inbound_put(s, acct, id, "message.received", body, &e);
            free(body);
        }
        store_commit(s, &e);
        store_close(&s);
        apply[k] = EVENTS / (timed_once() - base);

        base = timed_once();
        s = store_open(db, &e);
        store_begin(s, &e);
        for (int i = 0; i < OPS; i++) {
            char body[64];
            snprintf(body, sizeof(body), "bench reply %d.%d", k, i);
            store_queue_reply(s, thread, DIR_OUT, CH_EMAIL, "bench", body, NULL, NULL, &e);
        }
        store_commit(s, &e);
        store_close(&s);
        push[k] = OPS / (timed_once() - base);
    }
    sim_kill(&sim);

    printf("%-44s %12s %12s\n", "metric", "median", "target");
    for (int r = 0; r < 3; r++) {
        char name[64];
        snprintf(name, sizeof(name), "webhook-to-committed p50 @ %d/s (ms)", rates[r]);
        printf("%-44s %12.2f %12s\n", name, median3(p50[r][0], p50[r][1], p50[r][2]), "-");
        snprintf(name, sizeof(name), "webhook-to-committed p99 @ %d/s (ms)", rates[r]);
        printf("%-44s %12.2f %12s\n", name, median3(p99[r][0], p99[r][1], p99[r][2]),
               rates[r] == 200 ? "< 50" : "-");
    }
    printf("%-44s %12.0f %12s\n", "apply throughput (events/s)",
           median3(apply[0], apply[1], apply[2]), ">= 10000");
    printf("%-44s %12.0f %12s\n", "outbox drain, rate limit off (ops/s)",
           median3(push[0], push[1], push[2]), ">= 500");
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
