/* bench_sync.c - sync engine figures against pmsim, on loopback:
 *
 *   webhook-to-committed latency (Hostaway): webhooks POSTed to a running `porter sync` at a
 *     fixed rate (open loop); the 200 is sent only after the event is committed, so the time
 *     to the answer is the webhook-to-committed latency. p50/p99 at 50, 200, 1000 events/s.
 *   apply throughput: N stored events applied by `porter sync --once`, minus the time of
 *     an empty `sync --once` (the same poll with nothing to apply).
 *   outbox throughput: N queued replies drained by `porter sync --once` against pmsim with
 *     its rate limit off, minus the empty run.
 *   initial import: `porter sync --once` into an empty database from a Hostaway account of
 *     100,000 messages (pmsim's rate limit off, porter's rate_limit 10000), from start to
 *     exit. The world is a fixture in pmsim's --data wire format generated once from
 *     data/demo/hostaway.json into $BENCH_DIR/sync-100k/ (default build/bench). A run
 *     counts only when porter exits 0 and the database then holds every message.
 *   drain at the real limits: per dialect, pmsim enforcing its real windows and porter with
 *     its default limiter (no rate_limit in accounts.conf), a running `porter sync` drains N
 *     queued replies. Reported: the steady rate (the writes of the drain's first window,
 *     where the limiter's burst goes, left out: the first `settle` seconds and at least the
 *     first 10%), the share of pmsim's sustained request budget it uses (requests per
 *     reply counted at pmsim) and every 429 pmsim answered (its --verbose log, from the
 *     daemon's first poll to the last reply). A run counts only when pmsim logged exactly N
 *     writes and porter marked N ops sent.
 *
 * Each figure is the median of RUNS runs (429s: the total of all runs). Prints one table:
 * metric, median, target, and pass/fail for every metric with a target; with $BENCH_ROWS
 * set, the same rows go to that file for the combined table of make bench (rows.h).
 * Progress and per-run details go to stderr. Exit status 1 when a run failed its check.
 *
 *   bench_sync [base] [import] [drain]   (no argument: all; `make bench` runs all)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "rows.h"
#include "simctl.h"
#include "store.h"

#define RUNS         3
#define IMPORT_MSGS  100000
#define IMPORT_CONVS 100 /* the demo's 30 conversations and 70 more on the same stays */

static char dir[64], db[128];
static struct simproc sim;
static int hook_port;
static int broken; /* a run failed its check */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The machine is shared: say how busy it was when a section started. */
static void note_load(const char *section)
{
    double l[3] = {0, 0, 0};
    getloadavg(l, 3);
    fprintf(stderr, "bench: %s (load average %.2f %.2f %.2f)\n", section, l[0], l[1], l[2]);
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

/* Median of RUNS figures; NAN when any run failed. */
static double median(const double *v)
{
    double c[RUNS];
    for (int i = 0; i < RUNS; i++) {
        if (isnan(v[i]))
            return NAN;
        c[i] = v[i];
    }
    return pct(c, RUNS, 0.5);
}

/* ---- porter ---- */

static pid_t porter_spawn(const char *cfg, const char *dbp, const char *a1, const char *a2)
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        setenv("XDG_STATE_HOME", cfg, 1); /* porter/porter.log under the config dir */
        execl(getenv("PORTER_BIN"), "porter", "--config", cfg, "--db", dbp, a1, a2, NULL);
        _exit(127);
    }
    return pid;
}

/* Run porter to its exit; *cpu (optional) gets its user + system CPU seconds. */
static int porter_run_cpu(const char *cfg, const char *dbp, const char *a1, const char *a2,
                          double *cpu)
{
    int st;
    struct rusage ru;
    wait4(porter_spawn(cfg, dbp, a1, a2), &st, 0, &ru);
    if (cpu)
        *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int porter_run(const char *cfg, const char *dbp, const char *a1, const char *a2)
{
    return porter_run_cpu(cfg, dbp, a1, a2, NULL);
}

/* CPU seconds (user + system) a running process has used so far. */
static double proc_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NAN;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return NAN;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static pid_t porter_daemon(const char *cfg, const char *dbp)
{
    return porter_spawn(cfg, dbp, "sync", NULL);
}

static void stop_daemon(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench: cannot write %s\n", path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

/* A fresh config directory with porter.conf (webhook listener on a free port). */
static void make_config(char *out, size_t n, int listen_port)
{
    snprintf(out, n, "/tmp/porter-bench-XXXXXX");
    if (!mkdtemp(out)) {
        perror("bench: mkdtemp");
        exit(1);
    }
    char path[160], text[256];
    snprintf(path, sizeof(path), "%s/porter.conf", out);
    snprintf(text, sizeof(text),
             "[general]\nlog_level = warn\n[webhook]\nlisten = 127.0.0.1:%d\n"
             "max_connections = 256\n",
             listen_port);
    write_file(path, text, 0644);
}

static void write_accounts(const char *cfg, const char *text)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/accounts.conf", cfg);
    write_file(path, text, 0600);
}

static void remove_db(const char *dbp)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        char p[160];
        snprintf(p, sizeof(p), "%s%s", dbp, suffix[i]);
        unlink(p);
    }
}

static void remove_dir(const char *d)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", d);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: could not remove %s\n", d);
}

/* ---- pmsim control ---- */

static cJSON *sim_json(int port, const char *method, const char *path, const char *body)
{
    char url[160];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    http_do(method, url, NULL, body, &r);
    cJSON *j = r.status == 200 ? cJSON_Parse(r.body) : NULL;
    http_result_free(&r);
    return j;
}

static double sim_health(int port, const char *field)
{
    cJSON *j = sim_json(port, "GET", "/_sim/health", NULL);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    cJSON_Delete(j);
    return d;
}

/* Start pmsim with stderr (its --verbose request log) going to `log` (NULL: inherited). */
static int spawn_logged(struct simproc *p, const char *const *argv, const char *log)
{
    int saved = -1, fd = -1;
    if (log) {
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        saved = dup(2);
        if (fd < 0 || saved < 0)
            return -1;
        dup2(fd, 2);
    }
    int rc = sim_spawn(p, argv);
    if (log) {
        dup2(saved, 2);
        close(saved);
        close(fd);
    }
    return rc;
}

/* Lines of `path` containing `needle`. */
static int count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* ---- webhook latency, apply, outbox (rate limit off) ---- */

/* A conversation and its reservation, for realistic message events. */
static void pick_conversation(long *conv, long *res)
{
    cJSON *j = sim_json(sim.port[0], "GET", "/_sim/state?collection=conversations", NULL);
    cJSON *c = cJSON_GetArrayItem(j, 0);
    *conv = (long)cJSON_GetObjectItem(c, "id")->valuedouble;
    *res = (long)cJSON_GetObjectItem(c, "reservationId")->valuedouble;
    cJSON_Delete(j);
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
        if (wait > 0)
            sleep_s(wait);
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
    porter_run(dir, db, "sync", "--once");
    return now_s() - t0;
}

/* ---- initial import of a 100k-message account ---- */

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

/* Replace o[key] in place (the key keeps its position), or add it. */
static void set_num(cJSON *o, const char *key, double v)
{
    if (!cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateNumber(v)))
        cJSON_AddNumberToObject(o, key, v);
}

/* $fixdir/hostaway.json: the demo world plus conversations and messages up to IMPORT_MSGS
 * listed messages (status "sent"; pmsim lists only those), regenerated when missing or
 * older than the demo fixture. 0 or -1. */
static int make_import_fixture(const char *fixdir)
{
    static const char *demo = "data/demo/hostaway.json";
    char path[256], tmp[272];
    snprintf(path, sizeof(path), "%s/hostaway.json", fixdir);
    struct stat sd, sf;
    if (stat(demo, &sd) != 0) {
        fprintf(stderr, "bench: %s not found (run from the source tree)\n", demo);
        return -1;
    }
    if (stat(path, &sf) == 0 && sf.st_mtime >= sd.st_mtime)
        return 0;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", fixdir);
    if (system(cmd) != 0)
        return -1;
    fprintf(stderr, "bench: generating %s (%d messages)\n", path, IMPORT_MSGS);
    char *text = read_all(demo);
    cJSON *w = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON *convs = cJSON_GetObjectItemCaseSensitive(w, "conversations");
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(w, "messages");
    int nconv = cJSON_GetArraySize(convs);
    if (!cJSON_IsArray(convs) || !cJSON_IsArray(msgs) || nconv == 0 || nconv > IMPORT_CONVS) {
        fprintf(stderr, "bench: %s is not the expected fixture\n", demo);
        cJSON_Delete(w);
        return -1;
    }
    int sent = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(m, "status");
        sent += cJSON_IsString(st) && strcmp(st->valuestring, "sent") == 0;
    }
    /* more conversations on the same stays, so a page of messages is not one huge thread */
    cJSON *all[IMPORT_CONVS];
    for (int i = 0; i < IMPORT_CONVS; i++) {
        if (i < nconv) {
            all[i] = cJSON_GetArrayItem(convs, i);
            continue;
        }
        all[i] = cJSON_Duplicate(cJSON_GetArrayItem(convs, i % nconv), 1);
        set_num(all[i], "id", 36000000 + i);
        cJSON_AddItemToArray(convs, all[i]);
    }
    /* Every field of a Hostaway message, conversationId, status and date first: pmsim finds
     * a conversation's messages by scanning all of them with linear key lookups, and JSON
     * key order means nothing to porter. */
    time_t base = 1767225600; /* 2026-01-01 00:00:00 UTC, before the demo's activity */
    for (int i = 0; i < IMPORT_MSGS - sent; i++) {
        const cJSON *c = all[i % IMPORT_CONVS];
        char when[24], body[192], hash[48];
        time_t t = base + (time_t)i * 100;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        int incoming = i % 3 != 2;
        snprintf(body, sizeof(body),
                 incoming ? "Hi! Message %d from the guest: could you confirm the check-in time "
                            "and where we can leave the car? Thanks a lot."
                          : "Hello, reply %d from the host: check-in is from 15:00, the code "
                            "comes the day before; parking is in the courtyard.",
                 i);
        snprintf(hash, sizeof(hash), "%040x", (unsigned)i * 2654435761u);
        cJSON *n = cJSON_CreateObject();
        cJSON_AddNumberToObject(n, "conversationId", cJSON_GetObjectItem(c, "id")->valuedouble);
        cJSON_AddStringToObject(n, "status", "sent");
        cJSON_AddStringToObject(n, "date", when);
        cJSON_AddNumberToObject(n, "id", 500000000.0 + i);
        cJSON_AddNumberToObject(n, "accountId", 10450);
        cJSON_AddNumberToObject(n, "listingMapId",
                                cJSON_GetObjectItem(c, "listingMapId")->valuedouble);
        cJSON_AddNumberToObject(n, "reservationId",
                                cJSON_GetObjectItem(c, "reservationId")->valuedouble);
        cJSON_AddNullToObject(n, "communicationId");
        cJSON_AddStringToObject(n, "body", body);
        cJSON_AddStringToObject(n, "communicationType", "email");
        cJSON_AddNumberToObject(n, "isIncoming", incoming);
        cJSON_AddNumberToObject(n, "isSeen", 1);
        cJSON_AddNumberToObject(n, "sentUsingHostaway", !incoming);
        cJSON_AddStringToObject(n, "hash", hash);
        cJSON_AddStringToObject(n, "sentChannelDate", when);
        cJSON_AddItemToObject(n, "attachments", cJSON_CreateArray());
        cJSON_AddStringToObject(n, "insertedOn", when);
        cJSON_AddStringToObject(n, "updatedOn", when);
        cJSON_AddItemToArray(msgs, n);
    }
    char *out = cJSON_PrintUnformatted(w);
    cJSON_Delete(w);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(out, f) >= 0;
    if (f)
        ok = fclose(f) == 0 && ok;
    free(out);
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "bench: cannot write %s\n", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

struct import_result {
    double secs[RUNS];       /* start to exit; NAN for a failed run */
    double porter_cpu[RUNS]; /* porter's user + system CPU */
    double sim_cpu[RUNS];    /* pmsim's CPU over the same run */
    double requests;         /* API requests of one import (median) */
};

static int bench_import(struct import_result *out)
{
    const char *bench_dir = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "build/bench";
    char fixdir[200];
    snprintf(fixdir, sizeof(fixdir), "%s/sync-100k", bench_dir);
    if (make_import_fixture(fixdir) != 0)
        return -1;
    char epoch[32];
    snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL) * 1000);
    const char *argv[] = {"--account", "hostaway:0", "--data",           fixdir, "--epoch",
                          epoch,       "--fault",    "rate_limit_off=1", NULL};
    struct simproc s;
    double t0 = now_s();
    if (sim_spawn(&s, argv) != 0) {
        fprintf(stderr, "bench: cannot start pmsim on %s\n", fixdir);
        return -1;
    }
    fprintf(stderr, "bench: pmsim loaded the 100k world in %.1f s\n", now_s() - t0);
    char cfg[64], dbp[128], text[512];
    make_config(cfg, sizeof(cfg), sim_free_port());
    snprintf(dbp, sizeof(dbp), "%s/import.db", cfg);
    snprintf(text, sizeof(text),
             "[ha]\nadapter = hostaway\nbase_url = http://127.0.0.1:%d/v1\nclient_id = 10450\n"
             "secret = c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d\n"
             "poll_interval = 3600\nrate_limit = 10000\nrate_burst = 10000\n",
             s.port[0]);
    write_accounts(cfg, text);
    double req[RUNS];
    for (int k = 0; k < RUNS; k++) {
        remove_db(dbp);
        double r0 = sim_health(s.port[0], "requests"), c0 = proc_cpu(s.pid);
        double t = now_s();
        int rc = porter_run_cpu(cfg, dbp, "sync", "--once", &out->porter_cpu[k]);
        t = now_s() - t;
        out->sim_cpu[k] = proc_cpu(s.pid) - c0;
        req[k] = sim_health(s.port[0], "requests") - r0;
        int64_t n = -1, acct = 0;
        struct err e;
        struct store *st = store_open(dbp, &e);
        if (st && store_account_ensure(st, "ha", "hostaway", &acct, &e) == 0)
            store_entity_count(st, acct, "message", &n, &e);
        store_close(&st);
        int good = rc == 0 && n == IMPORT_MSGS;
        fprintf(stderr,
                "bench: import run %d: %.1f s, exit %d, %lld messages stored, %.0f requests, "
                "porter CPU %.1f s, pmsim CPU %.1f s%s\n",
                k + 1, t, rc, (long long)n, req[k], out->porter_cpu[k], out->sim_cpu[k],
                good ? "" : "  FAILED");
        out->secs[k] = good ? t : NAN;
        if (!good)
            broken = 1;
    }
    sim_kill(&s);
    out->requests = pct(req, RUNS, 0.5);
    remove_dir(cfg);
    return 0;
}

/* ---- draining queued replies at each dialect's real limit ---- */

struct dialect {
    const char *name, *account;
    const char *conf; /* accounts.conf lines after adapter and base_url */
    double budget;    /* requests/s pmsim allows a single client to sustain */
    const char *budget_text;
    int n;         /* replies per run */
    double settle; /* seconds of the drain left out of the steady rate: one window */
};

/* Sized so that a run drains in about 40 to 45 s at the full budget. The first window's
 * writes are left out of the steady rate: a limiter may send a burst there (up to the
 * window's allowance) and then wait for the window to pass; a long drain is the steady
 * part. Guesty's binding window is the hour, longer than a run: its 10 s cover porter's
 * own window (10 requests per 7.4 s by default). */
static const struct dialect dialects[] = {
    {"hostaway", "ha",
     "client_id = 10450\n"
     "secret = c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d\n",
     1.5, "15 req/10 s", 60, 10.0},
    {"guesty", "gy",
     "client_id = pmsim-guesty\n"
     "secret = pmsim-guesty-secret\n",
     5000.0 / 3600.0, "5000 req/h", 60, 10.0},
    {"buildium", "bd", "client_id = pmsim-buildium-client\nsecret = pmsim-buildium-secret\n", 10.0,
     "10 req/s", 150, 1.0},
};
#define NDIALECTS ((int)(sizeof(dialects) / sizeof(dialects[0])))

struct drain_result {
    double ops[RUNS];  /* steady replies/s */
    double used[RUNS]; /* % of the request budget */
    double req_per_op; /* median */
    int limited;       /* 429s answered by pmsim, all runs */
    int porter_limited;
};

/* Up to `max` threads of the account, each with the channel a reply on it would take
 * (the latest inbound or outbound message's, as `porter send` does). */
static int pick_threads(struct store *st, const char *dbp, const char *account, int64_t *ids,
                        enum channel *chs, int max)
{
    sqlite3 *h;
    sqlite3_stmt *q;
    int n = 0;
    if (sqlite3_open_v2(dbp, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_prepare_v2(h,
                           "SELECT t.id FROM thread t JOIN account a ON a.id = t.account_id"
                           " WHERE a.name = ?1 AND t.remote_id IS NOT NULL ORDER BY t.id",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, account, -1, SQLITE_STATIC);
        while (n < max && sqlite3_step(q) == SQLITE_ROW)
            ids[n++] = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    sqlite3_close(h);
    for (int i = 0; i < n; i++) {
        struct message_list l;
        struct err e;
        chs[i] = CH_EMAIL;
        if (store_messages(st, ids[i], &l, &e) != 0)
            continue;
        for (size_t k = 0; k < l.n; k++)
            if (l.rows[k].direction == DIR_IN || l.rows[k].direction == DIR_OUT) {
                int c = channel_parse(l.rows[k].channel);
                chs[i] = c >= 0 && c != CH_NOTE ? (enum channel)c : CH_EMAIL;
            }
        message_list_free(&l);
    }
    return n;
}

/* Wait until pmsim has seen no API request for `quiet` s (at most `max` s). */
static void wait_idle(int port, int quiet, int max)
{
    double last = sim_health(port, "requests");
    for (int still = 0, waited = 0; still < quiet && waited < max; waited++) {
        sleep_s(1);
        double cur = sim_health(port, "requests");
        still = cur == last ? still + 1 : 0;
        last = cur;
    }
}

static int64_t outbox_count(const char *dbp, int64_t acct, const char *state)
{
    struct err e;
    int64_t n = -1;
    struct store *st = store_open(dbp, &e);
    if (st)
        store_outbox_count(st, acct, state, &n, &e);
    store_close(&st);
    return n;
}

static int bench_drain(const struct dialect *d, struct drain_result *out)
{
    memset(out, 0, sizeof(*out));
    char cfg[64], dbp[128], log[128], plog[160], arg[32], epoch[32], text[768];
    make_config(cfg, sizeof(cfg), sim_free_port());
    snprintf(dbp, sizeof(dbp), "%s/drain.db", cfg);
    snprintf(log, sizeof(log), "%s/pmsim.log", cfg);
    snprintf(plog, sizeof(plog), "%s/porter/porter.log", cfg);
    snprintf(arg, sizeof(arg), "%s:0", d->name);
    snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL) * 1000);
    const char *argv[] = {"--account", arg,       "--data",           "data/demo", "--epoch",
                          epoch,       "--fault", "rate_limit_off=1", "--verbose", NULL};
    struct simproc s;
    if (spawn_logged(&s, argv, log) != 0) {
        fprintf(stderr, "bench: cannot start pmsim (%s)\n", d->name);
        return -1;
    }
    int port = s.port[0];
    /* 1. the initial import, fast: rate limits off on both sides */
    snprintf(text, sizeof(text),
             "[%s]\nadapter = %s\nbase_url = http://127.0.0.1:%d/v1\n%s"
             "poll_interval = 3600\nrate_limit = 10000\nrate_burst = 10000\n",
             d->account, d->name, port, d->conf);
    write_accounts(cfg, text);
    if (porter_run(cfg, dbp, "sync", "--once") != 0)
        fprintf(stderr, "bench: %s: the initial import exited non-zero\n", d->name);
    /* 2. the real limits: pmsim's windows on, porter's default limiter */
    cJSON_Delete(sim_json(port, "POST", "/_sim/faults", "{\"rate_limit_off\":0}"));
    snprintf(text, sizeof(text),
             "[%s]\nadapter = %s\nbase_url = http://127.0.0.1:%d/v1\n%spoll_interval = 3600\n",
             d->account, d->name, port, d->conf);
    write_accounts(cfg, text);
    struct err e;
    int64_t acct = 0, threads[8];
    enum channel chs[8];
    struct store *st = store_open(dbp, &e);
    store_account_ensure(st, d->account, d->name, &acct, &e);
    int nthreads = pick_threads(st, dbp, d->account, threads, chs, 8);
    store_close(&st);
    if (nthreads == 0) {
        fprintf(stderr, "bench: %s: no thread to reply on after the import\n", d->name);
        sim_kill(&s);
        return -1;
    }
    pid_t daemon = porter_daemon(cfg, dbp);
    /* its first poll, at the real limit. 8 s of quiet: after a burst a window limiter may
     * pause for up to half its window (5 s for Hostaway's 15 per 10 s) mid-poll */
    wait_idle(port, 8, 240);
    double rpo[RUNS];
    for (int k = 0; k < RUNS; k++) {
        cJSON_Delete(sim_json(port, "POST", "/_sim/writes/clear", NULL));
        int64_t sent0 = outbox_count(dbp, acct, "sent");
        double r0 = sim_health(port, "requests");
        st = store_open(dbp, &e);
        store_begin(st, &e);
        for (int i = 0; i < d->n; i++) {
            char body[96];
            snprintf(body, sizeof(body), "bench drain %s %d.%d: thanks, see you soon", d->name, k,
                     i);
            store_queue_reply(st, threads[i % nthreads], DIR_OUT, chs[i % nthreads], "bench", body,
                              NULL, NULL, &e);
        }
        store_commit(st, &e);
        store_close(&st);
        double t0 = now_s(), limit = t0 + 60.0 + 4.0 * d->n * 4 / d->budget;
        while (sim_health(port, "writes") < d->n && now_s() < limit)
            sleep_s(0.1);
        double t1 = now_s();
        int64_t sent = 0;
        while ((sent = outbox_count(dbp, acct, "sent") - sent0) < d->n && now_s() < limit)
            sleep_s(0.1);
        sleep_s(0.5); /* a reply's last request (Buildium's history lookup) follows its write */
        double requests = sim_health(port, "requests") - r0;
        cJSON *wl = sim_json(port, "GET", "/_sim/writes", NULL);
        int nw = cJSON_GetArraySize(wl);
        double *at = calloc((size_t)(nw ? nw : 1), sizeof(*at));
        for (int i = 0; i < nw; i++)
            at[i] = cJSON_GetObjectItem(cJSON_GetArrayItem(wl, i), "at")->valuedouble / 1000.0;
        cJSON_Delete(wl);
        int good = nw == d->n && sent == d->n && nw > 2, skip = 0;
        if (good) {
            qsort(at, (size_t)nw, sizeof(*at), cmp_d);
            skip = nw / 10; /* the limiter's burst: the first window */
            while (skip < nw - 2 && at[skip] < at[0] + d->settle)
                skip++;
            out->ops[k] = (nw - 1 - skip) / (at[nw - 1] - at[skip]);
            rpo[k] = requests / d->n;
            out->used[k] = out->ops[k] * rpo[k] / d->budget * 100.0;
        } else {
            out->ops[k] = out->used[k] = rpo[k] = NAN;
            broken = 1;
        }
        fprintf(stderr,
                "bench: %s drain run %d: %d replies, %d writes at pmsim, %lld sent; %.1f s; "
                "%.2f replies/s steady, %.2f requests/reply, %.1f%% of %s%s\n",
                d->name, k + 1, d->n, nw, (long long)sent, t1 - t0, out->ops[k], rpo[k],
                out->used[k], d->budget_text, good ? "" : "  FAILED");
        if (good)
            fprintf(stderr,
                    "bench: %s drain run %d: %d writes of the first %.0f s left out; first to "
                    "last write %.1f s, %.2f replies/s\n",
                    d->name, k + 1, skip, d->settle, at[nw - 1] - at[0],
                    (nw - 1) / (at[nw - 1] - at[0]));
        free(at);
    }
    stop_daemon(daemon);
    sim_kill(&s);
    out->limited = count_lines(log, "-> 429");
    out->porter_limited = count_lines(plog, ": 429,");
    if (count_lines(log, " -> ") == 0) { /* no request log: the 429 count would be a guess */
        fprintf(stderr, "bench: %s: pmsim's request log %s is empty\n", d->name, log);
        out->limited = -1;
        broken = 1;
    }
    double c[RUNS];
    memcpy(c, rpo, sizeof(c));
    out->req_per_op = median(c);
    fprintf(stderr, "bench: %s: %d 429s in pmsim's log, %d in porter's\n", d->name, out->limited,
            out->porter_limited);
    remove_dir(cfg);
    return 0;
}

/* ---- the table ---- */

/* One line of the table, "name (unit)": v with `decimals`, NAN shown as "failed"; the same
 * row, "sync: name", to $BENCH_ROWS. pass: 1, 0 or -1 (no target). */
static void row(const char *name, const char *unit, double v, int decimals, const char *target,
                int pass)
{
    char val[32], label[128], metric[128];
    if (isnan(v))
        snprintf(val, sizeof(val), "failed");
    else
        snprintf(val, sizeof(val), "%.*f", decimals, v);
    snprintf(label, sizeof(label), "%s (%s)", name, unit);
    printf("%-58s %12s %12s  %s\n", label, val, target,
           pass < 0 && !isnan(v) ? ""
           : isnan(v)            ? "FAIL"
           : pass                ? "pass"
                                 : "FAIL");
    snprintf(metric, sizeof(metric), "sync: %s", name);
    bench_rows_add(metric, v, decimals, unit, target, pass, NULL);
}

/* Sections: `base` (latency, apply, outbox), `import`, `drain`; no argument runs all. */
static int wanted(int argc, char **argv, const char *section)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], section) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int do_base = wanted(argc, argv, "base"), do_import = wanted(argc, argv, "import"),
        do_drain = wanted(argc, argv, "drain");
    if (!do_base && !do_import && !do_drain) {
        fprintf(stderr, "usage: bench_sync [base] [import] [drain]\n");
        return 2;
    }
    static const int rates[] = {50, 200, 1000};
    double p50[3][RUNS], p99[3][RUNS], apply[RUNS], push[RUNS];
    if (do_base) {
        strcpy(dir, "/tmp/porter-bench-XXXXXX");
        if (!mkdtemp(dir))
            return 1;
        snprintf(db, sizeof(db), "%s/porter.db", dir);
        hook_port = sim_free_port();
        char epoch[32];
        snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL) * 1000);
        const char *sargv[] = {"--account", "hostaway:0",       "--data",
                               "data/demo", "--epoch",          epoch,
                               "--fault",   "rate_limit_off=1", NULL};
        if (sim_spawn(&sim, sargv) != 0) {
            fprintf(stderr, "bench: cannot start pmsim ($PMSIM_BIN)\n");
            return 1;
        }
        char path[160], text[512];
        snprintf(text, sizeof(text),
                 "[ha]\nadapter = hostaway\nbase_url = http://127.0.0.1:%d/v1\nclient_id = 10450\n"
                 "secret = c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d\n"
                 "webhook_secret = porter:change-me\npoll_interval = 3600\nrate_limit = 10000\n"
                 "rate_burst = 10000\n",
                 sim.port[0]);
        write_accounts(dir, text);
        snprintf(path, sizeof(path), "%s/porter.conf", dir);
        snprintf(text, sizeof(text),
                 "[general]\nlog_level = warn\n[webhook]\nlisten = 127.0.0.1:%d\n"
                 "max_connections = 256\n",
                 hook_port);
        write_file(path, text, 0644);
        porter_run(dir, db, "sync", "--once"); /* initial import */
        long conv, res, next_id = 900000000;
        pick_conversation(&conv, &res);

        /* 1. webhook-to-committed latency */
        note_load("webhook latency");
        pid_t d = porter_daemon(dir, db);
        sleep(1);
        for (int r = 0; r < 3; r++)
            for (int k = 0; k < RUNS; k++)
                webhook_latency(rates[r], rates[r] * 3 > 600 ? 1000 : 600, conv, res, &next_id,
                                &p50[r][k], &p99[r][k]);
        stop_daemon(d);

        /* 2. apply throughput and 3. outbox throughput */
        note_load("apply and outbox throughput");
        enum { EVENTS = 20000, OPS = 2000 };
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
        remove_dir(dir);
    }

    /* 4. initial import of 100k messages */
    struct import_result imp;
    int have_import = 0;
    if (do_import) {
        note_load("initial import of 100,000 messages");
        have_import = bench_import(&imp) == 0;
        if (!have_import)
            broken = 1;
    }

    /* 5. draining queued replies at each dialect's real limit */
    struct drain_result drain[NDIALECTS];
    int have_drain[NDIALECTS] = {0};
    for (int i = 0; do_drain && i < NDIALECTS; i++) {
        char what[64];
        snprintf(what, sizeof(what), "%s drain at the real limit, %d replies a run",
                 dialects[i].name, dialects[i].n);
        note_load(what);
        have_drain[i] = bench_drain(&dialects[i], &drain[i]) == 0;
        if (!have_drain[i])
            broken = 1;
    }

    printf("%-58s %12s %12s  %s\n", "metric", "median", "target", "pass/fail");
    double v;
    char name[96], unit[48];
    if (do_base) {
        for (int r = 0; r < 3; r++) {
            snprintf(name, sizeof(name), "webhook-to-committed p50 @ %d/s", rates[r]);
            row(name, "ms", median(p50[r]), 2, "-", -1);
            snprintf(name, sizeof(name), "webhook-to-committed p99 @ %d/s", rates[r]);
            v = median(p99[r]);
            row(name, "ms", v, 2, rates[r] == 200 ? "< 50" : "-", rates[r] == 200 ? v < 50 : -1);
        }
        v = median(apply);
        row("apply throughput", "events/s", v, 0, ">= 10000", v >= 10000);
        v = median(push);
        row("outbox drain, rate limit off", "ops/s", v, 0, ">= 500", v >= 500);
    }
    if (do_import) {
        snprintf(name, sizeof(name), "initial import, %dk messages, limit off", IMPORT_MSGS / 1000);
        row(name, "s", have_import ? median(imp.secs) : NAN, 1, "-", -1);
        row("initial import: porter CPU, user + system", "s",
            have_import ? median(imp.porter_cpu) : NAN, 1, "-", -1);
        row("initial import: pmsim CPU in the same time", "s",
            have_import ? median(imp.sim_cpu) : NAN, 1, "-", -1);
        if (have_import)
            fprintf(stderr, "bench: an import makes %.0f API requests\n", imp.requests);
    }
    for (int i = 0; do_drain && i < NDIALECTS; i++) {
        const struct dialect *dl = &dialects[i];
        const struct drain_result *r = &drain[i];
        snprintf(name, sizeof(name), "drain %s, N=%d ops, real limit", dl->name, dl->n);
        row(name, "ops/s", have_drain[i] ? median(r->ops) : NAN, 2, "-", -1);
        snprintf(name, sizeof(name), "drain %s: budget used, %.2f req/op", dl->name,
                 have_drain[i] ? r->req_per_op : 0.0);
        snprintf(unit, sizeof(unit), "%% of %s", dl->budget_text);
        v = have_drain[i] ? median(r->used) : NAN;
        row(name, unit, v, 1, ">= 95", v >= 95);
        snprintf(name, sizeof(name), "drain %s: 429s", dl->name);
        snprintf(unit, sizeof(unit), "total of %d runs", RUNS);
        row(name, unit, have_drain[i] && r->limited >= 0 ? r->limited : NAN, 0, "0",
            r->limited == 0);
    }
    return broken;
}
