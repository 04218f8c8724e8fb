/* test_sync_e2e.c - the sync engine end to end: the real porter binary against the real
 * pmsim over loopback HTTP, webhooks included. Every scenario asserts exact outcomes: counts
 * at the PMS's write log and in porter's database.
 *
 * The scenarios are written once and run for each dialect (Hostaway, Guesty, Buildium): a
 * struct dialect carries what differs (credentials, how to inject a status change, which
 * field to drift, whether the PMS sends Retry-After). A scenario a PMS cannot express (a
 * mass delete needs an API that deletes tasks) is left out of that dialect's group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "simctl.h"

/* The inject bodies are printf formats from the dialect table below. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

struct dialect {
    const char *name;  /* adapter, account name and pmsim --account dialect */
    const char *creds; /* accounts.conf lines after adapter and base_url */
    /* {"kind":...} that moves work order <remote id> to the PMS's cancelled status, and the
     * canonical status porter must end with */
    const char *cancel_fmt, *cancelled;
    const char *drift_from, *drift_to, *drift_subject;
    int drift_quarantines;      /* webhooks carry the record (1) or ids only (0) */
    const char *reply_key;      /* the key of a reply's text in the PMS's write body */
    const char *storm_setup;    /* inject that makes 429s carry Retry-After, or NULL */
    int retry_after;            /* 429s carry Retry-After (porter must then stay silent) */
    const char *res_status_fmt; /* inject a reservation status change, or NULL */
    int outage_s, kills, events;
    void (*import_check)(void);
    void (*extra)(void **); /* a scenario only this PMS can express */
    const char *extra_name;
    const char *emergency_inject; /* a tenant's message into a thread a work order can be
                                     made from (a listing; Buildium: a preferred plumber) */
};

struct fx {
    const struct dialect *d;
    struct simproc sim;
    char dir[64];
    char db[128];
    int hook_port;
    pid_t daemon;
};

static struct fx F;

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Run porter with args; capture stdout into out (may be NULL). Returns exit status. */
static int porter(char *out, size_t n, const char *const *args)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        const char *argv[32] = {getenv("PORTER_BIN"), "--config", F.dir, "--db", F.db};
        int k = 5;
        for (int i = 0; args[i] && k < 31; i++)
            argv[k++] = args[i];
        argv[k] = NULL;
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    char sink[4096];
    while ((r = read(fds[0], out && got < n - 1 ? out + got : sink,
                     out && got < n - 1 ? n - 1 - got : sizeof(sink))) > 0)
        if (out && got < n - 1)
            got += (size_t)r;
    if (out)
        out[got] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int64_t db_count(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t v = -1;
    assert_int_equal(sqlite3_open_v2(F.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

static void db_text(const char *sql, char *out, size_t n)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    out[0] = '\0';
    assert_int_equal(sqlite3_open_v2(F.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

static cJSON *sim_get(const char *path)
{
    char url[160];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", F.sim.port[0], path);
    http_do("GET", url, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    cJSON *j = cJSON_Parse(r.body);
    http_result_free(&r);
    assert_non_null(j);
    return j;
}

static void sim_post(const char *path, const char *body)
{
    char url[160];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", F.sim.port[0], path);
    http_do("POST", url, NULL, body, &r);
    assert_int_equal(r.status, 200);
    http_result_free(&r);
}

/* Writes at the PMS whose body contains `needle`. */
static int writes_with(const char *needle)
{
    cJSON *w = sim_get("/_sim/writes"), *x;
    int n = 0;
    cJSON_ArrayForEach(x, w)
    {
        char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(x, "body"));
        if (s && strstr(s, needle))
            n++;
        free(s);
    }
    cJSON_Delete(w);
    return n;
}

static int coll_size(const char *coll)
{
    char path[96];
    snprintf(path, sizeof(path), "/_sim/state?collection=%s", coll);
    cJSON *j = sim_get(path);
    int n = cJSON_GetArraySize(j);
    cJSON_Delete(j);
    return n;
}

static void start_daemon(void)
{
    F.daemon = fork();
    if (F.daemon == 0) {
        int devnull = open("/dev/null", 1);
        dup2(devnull, 2);
        execl(getenv("PORTER_BIN"), "porter", "--config", F.dir, "--db", F.db, "sync", NULL);
        _exit(127);
    }
}

static void stop_daemon(void)
{
    if (F.daemon > 0) {
        kill(F.daemon, SIGTERM);
        int st;
        waitpid(F.daemon, &st, 0);
        F.daemon = 0;
    }
}

static int setup(void **state)
{
    memset(&F, 0, sizeof(F));
    F.d = *state;
    strcpy(F.dir, "/tmp/porter-sync-XXXXXX");
    assert_non_null(mkdtemp(F.dir));
    snprintf(F.db, sizeof(F.db), "%s/porter.db", F.dir);
    F.hook_port = sim_free_port();
    char hook[128], acct[32];
    snprintf(hook, sizeof(hook), "http://127.0.0.1:%d/hooks/%s", F.hook_port, F.d->name);
    snprintf(acct, sizeof(acct), "%s:0", F.d->name);
    /* the PMS's clock is the real one: find() matches a write by its time window */
    char epoch[32];
    snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL) * 1000);
    const char *argv[] = {
        "--account", acct,  "--data",        "data/demo", "--webhook-url", hook,
        "--epoch",   epoch, "--time-factor", "0.001",     "--fault",       "rate_limit_off=1",
        NULL};
    assert_int_equal(sim_spawn(&F.sim, argv), 0);
    char path[160];
    snprintf(path, sizeof(path), "%s/accounts.conf", F.dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "[%s]\nadapter = %s\nbase_url = http://127.0.0.1:%d/v1\n%s"
            "poll_interval = 5\nrate_limit = 200\nrate_burst = 50\n",
            F.d->name, F.d->name, F.sim.port[0], F.d->creds);
    fclose(f);
    chmod(path, 0600);
    snprintf(path, sizeof(path), "%s/porter.conf", F.dir);
    f = fopen(path, "w");
    fprintf(f, "[webhook]\nlisten = 127.0.0.1:%d\n", F.hook_port);
    fclose(f);
    setenv("XDG_STATE_HOME", F.dir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stop_daemon();
    sim_kill(&F.sim);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", F.dir);
    if (getenv("PORTER_TEST_KEEP")) /* keep the database and log for a post-mortem */
        snprintf(cmd, sizeof(cmd), "echo kept %s", F.dir);
    if (system(cmd) != 0)
        return -1;
    return 0;
}

/* Hostaway: every conversation, reservation, task and sent message, exactly. */
static void import_hostaway(void)
{
    assert_int_equal(db_count("SELECT count(*) FROM thread"), coll_size("conversations"));
    assert_int_equal(db_count("SELECT count(*) FROM stay"), coll_size("reservations"));
    cJSON *msgs = sim_get("/_sim/state?collection=messages"), *m;
    int sent = 0;
    cJSON_ArrayForEach(m, msgs)
    {
        cJSON *st = cJSON_GetObjectItem(m, "status");
        sent += cJSON_IsString(st) && strcmp(st->valuestring, "sent") == 0;
    }
    cJSON_Delete(msgs);
    assert_int_equal(db_count("SELECT count(*) FROM message"), sent);
    assert_int_equal(db_count("SELECT count(*) FROM work_order"), coll_size("tasks"));
}

/* Guesty: every conversation, reservation and task; every post is a message. */
static void import_guesty(void)
{
    assert_int_equal(db_count("SELECT count(*) FROM thread"), coll_size("conversations"));
    assert_int_equal(db_count("SELECT count(*) FROM stay"), coll_size("reservations"));
    assert_int_equal(db_count("SELECT count(*) FROM message"), coll_size("posts"));
    assert_int_equal(db_count("SELECT count(*) FROM work_order"), coll_size("tasks"));
}

/* Buildium: every work order and vendor; request tasks are threads, with a message for each
 * history entry that carries one. */
static void import_buildium(void)
{
    assert_int_equal(db_count("SELECT count(*) FROM work_order"), coll_size("workorders"));
    assert_int_equal(db_count("SELECT count(*) FROM vendor"), coll_size("vendors"));
    assert_int_equal(db_count("SELECT count(*) FROM stay"), coll_size("leases"));
    assert_true(db_count("SELECT count(*) FROM thread") > 0);
}

static void test_initial_import_matches_pms(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    F.d->import_check();
    int64_t msgs = db_count("SELECT count(*) FROM message");
    int64_t threads = db_count("SELECT count(*) FROM thread");
    assert_true(msgs > 0);
    assert_int_equal(db_count("SELECT count(*) FROM (SELECT remote_id FROM message"
                              " GROUP BY remote_id HAVING count(*) > 1)"),
                     0);
    /* a second pass is idempotent: same rows, nothing written to the PMS */
    assert_int_equal(porter(NULL, 0, once), 0);
    assert_int_equal(db_count("SELECT count(*) FROM message"), msgs);
    assert_int_equal(db_count("SELECT count(*) FROM thread"), threads);
    cJSON *w = sim_get("/_sim/writes");
    assert_int_equal(cJSON_GetArraySize(w), 0);
    cJSON_Delete(w);
    char out[4096];
    const char *status[] = {"status", "--json", NULL};
    assert_int_equal(porter(out, sizeof(out), status), 0);
    assert_non_null(strstr(out, "\"state\":\t\"ok\""));
}

static void test_reply_delivered_exactly_once(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    const char *send[] = {"send", "1", "Your door code is 4417", NULL};
    char out[8192];
    assert_int_equal(porter(out, sizeof(out), send), 0);
    assert_int_equal(db_count("SELECT count(*) FROM outbox WHERE state = 'pending'"), 1);
    assert_int_equal(porter(NULL, 0, once), 0);
    assert_int_equal(writes_with("Your door code is 4417"), 1);
    assert_int_equal(db_count("SELECT count(*) FROM outbox WHERE state = 'sent'"), 1);
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body = 'Your door code is 4417'"
                              " AND send_state = 'synced' AND remote_id IS NOT NULL"),
                     1);
    /* the PMS echoes porter's own message back (webhook and poll): still one row, one write */
    assert_int_equal(porter(NULL, 0, once), 0);
    assert_int_equal(writes_with("Your door code is 4417"), 1);
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body = 'Your door code is 4417'"),
                     1);
}

static void test_dropped_answer_not_duplicated(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    sim_post("/_sim/faults", "{\"drop_after_write\":1}");
    const char *send[] = {"send", "2", "Checkout is at 11", NULL};
    assert_int_equal(porter(NULL, 0, send), 0);
    porter(NULL, 0, once); /* the write lands, the answer is lost: retry later */
    assert_int_equal(writes_with("Checkout is at 11"), 1);
    assert_int_equal(db_count("SELECT count(*) FROM outbox WHERE state = 'pending'"
                              " AND attempts = 1"),
                     1);
    sim_post("/_sim/faults", "{\"drop_after_write\":0}");
    sqlite3 *db;
    sqlite3_open(F.db, &db);
    sqlite3_exec(db, "UPDATE outbox SET next_attempt_at = 0", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(porter(NULL, 0, once), 0);
    assert_int_equal(writes_with("Checkout is at 11"), 1); /* found, not resent */
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body = 'Checkout is at 11'"
                              " AND send_state = 'synced'"),
                     1);
}

static void test_webhooks_live(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    int64_t before = db_count("SELECT count(*) FROM message");
    start_daemon();
    msleep(500);
    sim_post("/_sim/faults", "{\"webhook_dup\":1}");
    sim_post("/_sim/inject", "{\"kind\":\"message\",\"body\":\"Is the pool heated? zq81\"}");
    int64_t got = 0;
    for (int i = 0; i < 100 && got == 0; i++) {
        msleep(100);
        got = db_count("SELECT count(*) FROM message WHERE body LIKE '%zq81%'");
    }
    assert_int_equal(got, 1);
    msleep(700); /* the duplicate delivery has arrived by now */
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body LIKE '%zq81%'"), 1);
    assert_int_equal(db_count("SELECT count(*) FROM message"), before + 1);
    assert_true(db_count("SELECT count(*) FROM inbound_event") >= 1);
    /* bad auth: 401 and nothing stored */
    int64_t events = db_count("SELECT count(*) FROM inbound_event");
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hooks/%s", F.hook_port, F.d->name);
    const char *bad[] = {"Authorization: Basic cG9ydGVyOndyb25n", "Content-Type: application/json",
                         NULL};
    struct http_result r;
    http_do("POST", url, bad, "{\"object\":\"reservation\",\"event\":\"reservation.updated\"}", &r);
    assert_int_equal(r.status, 401);
    http_result_free(&r);
    http_do("POST", url, NULL, "{\"event\":\"x\"}", &r);
    assert_int_equal(r.status, 401);
    http_result_free(&r);
    assert_int_equal(db_count("SELECT count(*) FROM inbound_event"), events);
    stop_daemon();
}

/* Seq numbers of the PMS writes whose body starts with `prefix`, in write order. */
static int write_order(const char *prefix, int *ks, int max)
{
    cJSON *w = sim_get("/_sim/writes"), *x;
    int n = 0;
    cJSON_ArrayForEach(x, w)
    {
        const cJSON *b = cJSON_GetObjectItem(cJSON_GetObjectItem(x, "body"), F.d->reply_key);
        if (cJSON_IsString(b) && strncmp(b->valuestring, prefix, strlen(prefix)) == 0 && n < max)
            ks[n++] = atoi(b->valuestring + strlen(prefix));
    }
    cJSON_Delete(w);
    return n;
}

static void test_outage_drains_in_order_exactly_once(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    start_daemon();
    msleep(300);
    /* the PMS is down until lifted below, at least outage_s: queueing 200 replies takes a
     * varying time on a loaded machine, and must all happen inside the outage */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sim_post("/_sim/faults", "{\"outage_s\":600}");
    enum { THREADS = 10, PER = 20 };
    for (int k = 0; k < PER; k++) {
        for (int t = 1; t <= THREADS; t++) {
            char id[8], body[64];
            snprintf(id, sizeof(id), "%d", t);
            snprintf(body, sizeof(body), "outage t%d #%d", t, k);
            const char *send[] = {"send", id, body, NULL};
            assert_int_equal(porter(NULL, 0, send), 0);
        }
    }
    assert_int_equal(db_count("SELECT count(*) FROM outbox WHERE state <> 'sent'"), THREADS * PER);
    /* the circuit opens while the PMS is down, and nothing is lost */
    int64_t open = 0;
    for (int i = 0; i < 200 && !open; i++) {
        msleep(100);
        open = db_count("SELECT count(*) FROM alert WHERE kind = 'sync_down'");
    }
    assert_int_equal(open, 1);
    assert_int_equal(db_count("SELECT count(*) FROM account WHERE circuit = 'open'"), 1);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t down_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (down_ms < F.d->outage_s * 1000)
        msleep((int)(F.d->outage_s * 1000 - down_ms));
    sim_post("/_sim/faults", "{\"outage_s\":0}"); /* the PMS is back */
    int64_t left = -1;
    for (int i = 0; i < 900 && left != 0; i++) { /* up to 90 s */
        msleep(100);
        left = db_count("SELECT count(*) FROM outbox WHERE state <> 'sent'");
    }
    assert_int_equal(left, 0);
    assert_int_equal(db_count("SELECT count(*) FROM account WHERE circuit = 'closed'"
                              " AND state = 'ok'"),
                     1);
    for (int t = 1; t <= THREADS; t++) {
        char prefix[32];
        int ks[PER * 2];
        snprintf(prefix, sizeof(prefix), "outage t%d #", t);
        int n = write_order(prefix, ks, PER * 2);
        assert_int_equal(n, PER); /* each exactly once */
        for (int i = 0; i < n; i++)
            assert_int_equal(ks[i], i); /* in the order they were queued */
    }
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body LIKE 'outage t%'"),
                     THREADS * PER);
    stop_daemon();
}

static void test_concurrent_status_edits_conflict(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    int64_t wo = db_count("SELECT min(id) FROM work_order WHERE status NOT IN"
                          " ('completed', 'closed', 'cancelled')");
    assert_true(wo > 0);
    char sql[256], id[24], remote[64], was[24];
    snprintf(sql, sizeof(sql), "SELECT status FROM work_order WHERE id = %lld", (long long)wo);
    db_text(sql, was, sizeof(was));
    snprintf(sql, sizeof(sql), "SELECT remote_id FROM work_order WHERE id = %lld", (long long)wo);
    db_text(sql, remote, sizeof(remote));
    snprintf(id, sizeof(id), "%lld", (long long)wo);
    /* porter sets completed (queued, not yet pushed) while the PMS cancels it */
    const char *set[] = {"wo", "set", id, "status=completed", NULL};
    assert_int_equal(porter(NULL, 0, set), 0);
    char body[160];
    snprintf(body, sizeof(body), F.d->cancel_fmt, remote);
    sim_post("/_sim/inject", body);
    assert_int_equal(porter(NULL, 0, once), 0);
    /* one conflict, both values kept, the rule (pms_wins) applied, nothing overwritten */
    assert_int_equal(db_count("SELECT count(*) FROM conflict"), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM conflict WHERE local_value = 'completed' AND remote_value ="
             " '%s' AND base_value = '%s' AND winner = 'remote' AND rule = 'pms_wins'",
             F.d->cancelled, was);
    assert_int_equal(db_count(sql), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM work_order WHERE id = %s AND status = '%s'",
             id, F.d->cancelled);
    assert_int_equal(db_count(sql), 1);
    assert_int_equal(db_count("SELECT count(*) FROM outbox WHERE op = 'wo_status' AND"
                              " state = 'failed' AND last_error LIKE '%conflict%'"),
                     1);
    cJSON *w = sim_get("/_sim/writes"); /* porter's losing value never reached the PMS */
    assert_int_equal(cJSON_GetArraySize(w), 0);
    cJSON_Delete(w);
}

/* The PMS suddenly lists most of an entity as gone: an alert, and nothing deleted here. */
static void test_mass_delete_guard(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    int64_t wos = db_count("SELECT count(*) FROM work_order");
    assert_true(wos >= 4);
    char url[160];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/accessTokens", F.sim.port[0]);
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    http_do("POST", url, form,
            "grant_type=client_credentials&client_id=10450&scope=general&client_secret="
            "c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d",
            &r);
    cJSON *tok = cJSON_Parse(r.body);
    http_result_free(&r);
    char auth[600];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
             cJSON_GetObjectItem(tok, "access_token")->valuestring);
    cJSON_Delete(tok);
    msleep(1100); /* Hostaway tokens work one second after issue */
    const char *hdr[] = {auth, NULL};
    cJSON *tasks = sim_get("/_sim/state?collection=tasks"), *t;
    int left = cJSON_GetArraySize(tasks);
    cJSON_ArrayForEach(t, tasks)
    {
        if (left * 2 < wos - 1)
            break;
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/tasks/%.0f", F.sim.port[0],
                 cJSON_GetObjectItem(t, "id")->valuedouble);
        http_do("DELETE", url, hdr, NULL, &r);
        assert_int_equal(r.status, 200);
        http_result_free(&r);
        left--;
    }
    cJSON_Delete(tasks);
    assert_int_equal(porter(NULL, 0, once), 0);
    assert_int_equal(db_count("SELECT count(*) FROM alert WHERE kind = 'mass_delete' AND"
                              " subject = 'hostaway/work_order'"),
                     1);
    assert_int_equal(db_count("SELECT count(*) FROM work_order"), wos); /* nothing deleted */
    /* a normal pass over the other lists raised nothing */
    assert_int_equal(db_count("SELECT count(*) FROM alert WHERE kind = 'mass_delete'"), 1);
}

/* Webhooks duplicated and overtaking each other: each message once, and the reservation
 * ends in the PMS's final status (an older update never overwrites a newer one). */
static void test_reordered_duplicated_webhooks(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    double rid = 0;
    if (F.d->res_status_fmt) {
        cJSON *res = sim_get("/_sim/state?collection=reservations");
        rid = cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "id")->valuedouble;
        cJSON_Delete(res);
    }
    start_daemon();
    msleep(400);
    sim_post("/_sim/faults", "{\"webhook_dup\":0.5,\"webhook_reorder\":1}");
    static const char *const steps[] = {"modified", "cancelled", "new", "modified", "cancelled"};
    char body[128];
    for (int i = 0; i < 30; i++) {
        snprintf(body, sizeof(body), "{\"kind\":\"message\",\"body\":\"reorder m%d\"}", i);
        sim_post("/_sim/inject", body);
        if (i % 6 == 0 && F.d->res_status_fmt) {
            snprintf(body, sizeof(body), F.d->res_status_fmt, rid, steps[i / 6]);
            sim_post("/_sim/inject", body);
        }
    }
    int64_t got = 0;
    for (int i = 0; i < 150 && got < 30; i++) {
        msleep(100);
        got = db_count("SELECT count(*) FROM message WHERE body LIKE 'reorder m%'");
    }
    msleep(1000); /* late duplicates have arrived */
    stop_daemon();
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body LIKE 'reorder m%'"), 30);
    assert_int_equal(db_count("SELECT count(DISTINCT body) FROM message WHERE body LIKE"
                              " 'reorder m%'"),
                     30);
    if (!F.d->res_status_fmt)
        return;
    char sql[128];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM stay WHERE remote_id = '%.0f' AND status = 'cancelled'", rid);
    assert_int_equal(db_count(sql), 1); /* the last status the PMS set */
}

static double sim_health(const char *field);

/* Guesty allows 5 token mints per 24 h per client. porter keeps its token in the database:
 * restarts reuse it, an expired one is refreshed once, and after 5 mints porter stops asking
 * (an auth alert naming the budget) instead of running into the PMS's own cap. */
static void test_guesty_token_budget(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    for (int i = 0; i < 3; i++) /* three restarts, one token */
        assert_int_equal(porter(NULL, 0, once), 0);
    assert_int_equal(sim_health("tokens_minted"), 1);
    for (int i = 0; i < 6; i++) { /* the PMS revokes every token: each run refreshes once */
        sim_post("/_sim/inject", "{\"kind\":\"expire_tokens\"}");
        porter(NULL, 0, once);
    }
    assert_int_equal(sim_health("tokens_minted"), 5); /* never a sixth */
    assert_int_equal(db_count("SELECT count(*) FROM token_mint"), 5);
    assert_int_equal(db_count("SELECT count(*) FROM alert WHERE kind = 'auth_failed'"), 1);
    assert_int_equal(db_count("SELECT count(*) FROM account WHERE state = 'auth_failed'"), 1);
}

static double sim_health(const char *field)
{
    cJSON *h = sim_get("/_sim/health");
    double v = cJSON_GetObjectItem(h, field)->valuedouble;
    cJSON_Delete(h);
    return v;
}

static void test_schema_drift_alert_and_quarantine(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    int64_t before = db_count("SELECT count(*) FROM message");
    char fault[128];
    snprintf(fault, sizeof(fault), "{\"drift_from\":\"%s\",\"drift_to\":\"%s\"}", F.d->drift_from,
             F.d->drift_to);
    sim_post("/_sim/faults", fault);
    sim_post("/_sim/inject", "{\"kind\":\"message\",\"body\":\"drifted hello k4\"}");
    porter(NULL, 0, once);
    /* the record is skipped, never written half-empty, and the alert names the field */
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body LIKE '%k4%'"), 0);
    assert_int_equal(db_count("SELECT count(*) FROM message"), before);
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM alert WHERE kind = 'schema_drift' AND subject = '%s'",
             F.d->drift_subject);
    assert_int_equal(db_count(sql), 1);
    /* the same drift arriving by webhook: event quarantined, nothing applied */
    start_daemon();
    msleep(400);
    sim_post("/_sim/inject", "{\"kind\":\"message\",\"body\":\"drifted again k5\"}");
    if (F.d->drift_quarantines) { /* the payload itself drifted */
        int64_t q = 0;
        for (int i = 0; i < 100 && !q; i++) {
            msleep(100);
            q = db_count("SELECT count(*) FROM inbound_event WHERE state = 'quarantined'");
        }
        assert_true(q >= 1);
    } else { /* ids only: the event applies, the fetched record is skipped */
        int64_t got = 0;
        for (int i = 0; i < 100 && !got; i++) {
            msleep(100);
            got = db_count("SELECT count(*) FROM inbound_event WHERE state = 'applied'");
        }
        assert_true(got >= 1);
    }
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body LIKE '%k5%'"), 0);
    stop_daemon();
    /* the drift ends: the next pass brings the messages in, once */
    sim_post("/_sim/faults", "{\"drift_from\":\"\"}");
    assert_int_equal(porter(NULL, 0, once), 0);
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body LIKE '%k4%'"), 1);
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body LIKE '%k5%'"), 1);
}

/* Every answer 429, with Retry-After: 10 where the PMS sends it. With Retry-After, porter is
 * silent for the time asked (the storm lasts 4 s, the 6 s after the first 429 see no
 * request). Without it (Buildium documents none), porter backs off on its own, 1 s doubling
 * per 429 in a row: through 6 s of a storm that goes on, a handful of requests, not a storm
 * of its own. */
static void test_rate_limit_storm_honours_retry_after(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    if (F.d->storm_setup)
        sim_post("/_sim/inject", F.d->storm_setup);
    sim_post("/_sim/faults", F.d->retry_after ? "{\"storm_s\":4}" : "{\"storm_s\":20}");
    start_daemon();
    int64_t limited = 0;
    for (int i = 0; i < 100 && !limited; i++) {
        msleep(100);
        limited = db_count("SELECT count(*) FROM metric WHERE name = 'rate_limited'");
    }
    assert_true(limited >= 1);
    double seen = sim_health("requests");
    msleep(6000);
    double more = sim_health("requests") - seen;
    print_message("# %.0f requests in the 6 s after the first 429\n", more);
    if (F.d->retry_after)
        assert_true(more == 0);
    else
        assert_true(more <= 8);
    stop_daemon();
}

static void test_one_leader_and_takeover(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    start_daemon();
    pid_t first = F.daemon;
    msleep(300);
    pid_t second = fork();
    if (second == 0) {
        int devnull = open("/dev/null", 1);
        dup2(devnull, 2);
        execl(getenv("PORTER_BIN"), "porter", "--config", F.dir, "--db", F.db, "sync", NULL);
        _exit(127);
    }
    msleep(1500);
    char want[64];
    snprintf(want, sizeof(want), "SELECT count(*) FROM lease WHERE holder LIKE '%%:%d'", first);
    assert_int_equal(db_count("SELECT count(*) FROM lease"), 1);
    assert_int_equal(db_count(want), 1);
    /* a reply queued now is sent once, by the leader only */
    const char *send[] = {"send", "3", "two daemons, one write x7", NULL};
    assert_int_equal(porter(NULL, 0, send), 0);
    for (int i = 0; i < 50 && writes_with("one write x7") == 0; i++)
        msleep(100);
    msleep(1500);
    assert_int_equal(writes_with("one write x7"), 1);
    /* the leader dies without releasing: the other takes the stale lease over */
    kill(first, SIGKILL);
    waitpid(first, NULL, 0);
    snprintf(want, sizeof(want), "SELECT count(*) FROM lease WHERE holder LIKE '%%:%d'", second);
    int64_t took = 0;
    for (int i = 0; i < 300 && !took; i++) { /* TTL 15 s + one renewal period */
        msleep(100);
        took = db_count(want);
    }
    assert_int_equal(took, 1);
    F.daemon = second;
    stop_daemon();
}

/* kill -9 at random points of a two-way run: every event exactly once on both sides. */
static void test_kill9_exactly_once(void **state)
{
    (void)state;
    const int INBOUND = F.d->events, OUTBOUND = F.d->events, KILLS = F.d->kills;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    srand((unsigned)time(NULL));
    int in = 0, out = 0;
    for (int k = 0; k < KILLS; k++) {
        start_daemon();
        int burst = 40 + rand() % 30;
        for (int i = 0; i < burst && (in < INBOUND || out < OUTBOUND); i++) {
            char body[96];
            if (in < INBOUND) {
                snprintf(body, sizeof(body), "{\"kind\":\"message\",\"body\":\"kill9 in %d\"}",
                         in++);
                sim_post("/_sim/inject", body);
            }
            if (out < OUTBOUND) {
                char id[8];
                snprintf(id, sizeof(id), "%d", 1 + out % 10);
                snprintf(body, sizeof(body), "kill9 out %d", out++);
                const char *send[] = {"send", id, body, NULL};
                assert_int_equal(porter(NULL, 0, send), 0);
            }
        }
        msleep(50 + rand() % 400);
        kill(F.daemon, SIGKILL);
        waitpid(F.daemon, NULL, 0);
        F.daemon = 0;
    }
    /* restart and drain: the lease the last one held goes stale first */
    msleep(16000);
    for (int pass = 0; pass < 5; pass++) {
        sqlite3 *db;
        sqlite3_open(F.db, &db);
        sqlite3_exec(db,
                     "UPDATE outbox SET next_attempt_at = 0; UPDATE inbound_event SET"
                     " next_attempt_at = 0",
                     NULL, NULL, NULL);
        sqlite3_close(db);
        porter(NULL, 0, once);
        if (db_count("SELECT count(*) FROM outbox WHERE state <> 'sent'") == 0)
            break;
    }
    assert_int_equal(db_count("SELECT count(*) FROM outbox WHERE state <> 'sent'"), 0);
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body LIKE 'kill9 in %'"), in);
    assert_int_equal(db_count("SELECT count(DISTINCT body) FROM message WHERE body LIKE"
                              " 'kill9 in %'"),
                     in);
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body LIKE 'kill9 out %'"), out);
    int total = 0;
    for (int i = 0; i < out; i++) {
        char needle[32];
        snprintf(needle, sizeof(needle), "\"kill9 out %d\"", i);
        int n = writes_with(needle);
        if (n != 1)
            fprintf(stderr, "kill9 out %d written %d times\n", i, n);
        total += n == 1;
    }
    assert_int_equal(total, out);
    sqlite3 *db;
    sqlite3_stmt *st;
    sqlite3_open(F.db, &db);
    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* The default emergency rule end to end (docs/automations.md): a tenant writes "water is
 * leaking through the ceiling" (every webhook delivered twice); porter makes an emergency
 * work order from it and tells the tenant; porter is killed (SIGKILL) right after the rule
 * fired, and started again. At the PMS: exactly one work order and one reply. */
static void test_emergency_rule_exactly_once(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    start_daemon();
    msleep(400);
    sim_post("/_sim/faults", "{\"webhook_dup\":1}");
    sim_post("/_sim/inject", F.d->emergency_inject);
    for (int i = 0; i < 200 && db_count("SELECT count(*) FROM rule_fire") < 1; i++)
        msleep(25);
    kill(F.daemon, SIGKILL); /* the rule has fired: its writes are queued, maybe in flight */
    waitpid(F.daemon, NULL, 0);
    F.daemon = 0;
    assert_int_equal(db_count("SELECT count(*) FROM rule_fire WHERE rule = 'emergency'"), 1);
    sqlite3 *db;
    sqlite3_open(F.db, &db);
    sqlite3_exec(db, "UPDATE lease SET expires_at = 0", NULL, NULL, NULL); /* its holder died */
    sqlite3_close(db);
    start_daemon();
    for (int i = 0; i < 300; i++) {
        msleep(50);
        if (db_count("SELECT count(*) FROM outbox WHERE state <> 'sent'") == 0 &&
            db_count("SELECT count(*) FROM outbox") >= 2)
            break;
    }
    msleep(1500); /* the echoes and the duplicated webhooks have come back */
    stop_daemon();
    assert_int_equal(db_count("SELECT count(*) FROM outbox WHERE state <> 'sent'"), 0);
    assert_int_equal(writes_with("logged this as an emergency"), 1);
    assert_int_equal(writes_with("water is leaking through the ceiling"), 1); /* the create */
    assert_int_equal(db_count("SELECT count(*) FROM rule_fire"), 1);
    /* (its priority is the PMS's once pulled back: Buildium keeps priority on the request) */
    assert_int_equal(db_count("SELECT count(*) FROM work_order w WHERE remote_id IS NOT NULL"
                              " AND thread_id IS NOT NULL AND EXISTS (SELECT 1 FROM wo_event ev"
                              " WHERE ev.work_order_id = w.id AND ev.kind = 'created'"
                              " AND ev.actor = 'rule:emergency')"),
                     1);
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE origin = 'rule'"
                              " AND send_state = 'synced' AND remote_id IS NOT NULL"),
                     1);
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE body LIKE"
                              " 'Help, water is leaking%'"),
                     1);
}

/* Every trigger and every action against pmsim (Hostaway, the dialect with the most to
 * express): a rules.conf with one rule per trigger, events injected at the PMS, the
 * daemon acting on them, and the outcome counted at the PMS's write log and in the
 * database. Other dialects: the emergency scenario above. */
static void test_rules_every_trigger_live(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof(path), "%s/rules.conf", F.dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "[rule parking]\non = message\nwords = parking\naction = tag parking\n"
            "action = assign frontdesk\naction = note \"parking: {guest_name|a guest}\"\n"
            "action = snooze 2h\n"
            "[rule broken]\non = message\nwords = broken\naction = work_order high\n"
            "action = dispatch any\naction = status in_progress\n"
            "action = reply \"We are on it: {work_order}\"\naction = bell\n"
            "[rule followup]\non = wo_status\nstatus = completed\norigin = pms\n"
            "action = reply \"Done: {work_order}\"\n"
            "[rule bye]\non = reservation_cancelled\n"
            "action = reply \"Sorry to see you go, {guest_first_name|there}.\"\n"
            "[rule moved]\non = reservation_modified\naction = tag changed\n"
            "[rule booked]\non = reservation_created\naction = tag booked\n"
            "[rule arriving]\non = checkin\naction = note \"arrives today\"\n"
            "[rule late]\non = sla\nafter = 2s\naction = tag late\n"
            "[rule made]\non = wo_created\norigin = rule\naction = note \"made by a rule\"\n"
            "[rule alerted]\non = alert\naction = notify echo \"$PORTER_RULE $PORTER_EVENT\""
            " >> %s/notified\n"
            "[rule bad]\non = message\naction = fly\n", /* a config alert for 'alerted' */
            F.dir);
    fclose(f);
    f = fopen(strcat(strcpy(path, F.dir), "/porter.conf"), "a");
    fprintf(f, "[rules]\ndefaults = off\n");
    fclose(f);
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(NULL, 0, once), 0);
    cJSON *res = sim_get("/_sim/state?collection=reservations");
    double r0 = cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "id")->valuedouble;
    double r1 = cJSON_GetObjectItem(cJSON_GetArrayItem(res, 1), "id")->valuedouble;
    cJSON *conv = sim_get("/_sim/state?collection=conversations");
    double c[3];
    for (int i = 0; i < 3; i++)
        c[i] = cJSON_GetObjectItem(cJSON_GetArrayItem(conv, 10 + i), "id")->valuedouble;
    cJSON_Delete(res);
    cJSON_Delete(conv);
    start_daemon();
    msleep(500);
    char body[256], today[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    snprintf(body, sizeof(body),
             "{\"kind\":\"message\",\"conversationId\":%.0f,\"body\":\"Where is the parking?\"}",
             c[0]);
    sim_post("/_sim/inject", body);
    snprintf(body, sizeof(body),
             "{\"kind\":\"message\",\"conversationId\":%.0f,\"body\":\"The dishwasher is"
             " broken\"}",
             c[1]);
    sim_post("/_sim/inject", body);
    snprintf(body, sizeof(body),
             "{\"kind\":\"message\",\"conversationId\":%.0f,\"body\":\"Hello, anyone?\"}", c[2]);
    sim_post("/_sim/inject", body);
    snprintf(body, sizeof(body),
             "{\"kind\":\"reservation\",\"status\":\"new\",\"arrivalDate\":\"%s\","
             "\"departureDate\":\"2999-01-02\",\"guestFirstName\":\"Ines\"}",
             today);
    sim_post("/_sim/inject", body);
    /* the new booking's guest writes: its conversation (and so its thread) comes with it */
    conv = sim_get("/_sim/state?collection=conversations");
    double booked =
        cJSON_GetObjectItem(cJSON_GetArrayItem(conv, cJSON_GetArraySize(conv) - 1), "id")
            ->valuedouble;
    cJSON_Delete(conv);
    snprintf(body, sizeof(body),
             "{\"kind\":\"message\",\"conversationId\":%.0f,\"body\":\"See you soon\"}", booked);
    sim_post("/_sim/inject", body);
    snprintf(body, sizeof(body),
             "{\"kind\":\"reservation_status\",\"id\":%.0f,\"status\":"
             "\"cancelled\"}",
             r0);
    sim_post("/_sim/inject", body);
    snprintf(body, sizeof(body),
             "{\"kind\":\"reservation_status\",\"id\":%.0f,\"status\":"
             "\"awaitingPayment\"}",
             r1);
    sim_post("/_sim/inject", body);
    /* the work order 'broken' made reaches the PMS; the PMS then completes it */
    char rid[64] = "";
    for (int i = 0; i < 200 && !rid[0]; i++) {
        msleep(50);
        db_text("SELECT w.remote_id FROM work_order w JOIN wo_event ev ON ev.work_order_id = w.id"
                " AND ev.actor = 'rule:broken' AND ev.kind = 'created'",
                rid, sizeof(rid));
    }
    assert_true(rid[0]);
    for (int i = 0; i < 100 && db_count("SELECT count(*) FROM outbox WHERE state <> 'sent'"); i++)
        msleep(50);
    snprintf(body, sizeof(body), "{\"kind\":\"task_status\",\"id\":%s,\"status\":\"completed\"}",
             rid);
    sim_post("/_sim/inject", body);
    for (int i = 0; i < 200 && writes_with("Done: The dishwasher is broken") < 1; i++)
        msleep(50);
    stop_daemon();
    msleep(2000); /* the third thread has now waited 2 s */
    assert_int_equal(porter(NULL, 0, once), 0);
    assert_int_equal(db_count("SELECT count(*) FROM outbox WHERE state <> 'sent'"), 0);

    /* at the PMS: each write once */
    assert_int_equal(writes_with("We are on it: The dishwasher is broken"), 1);
    assert_int_equal(writes_with("Done: The dishwasher is broken"), 1);
    assert_int_equal(writes_with("Sorry to see you go"), 1);
    assert_int_equal(writes_with("\"title\":\"The dishwasher is broken\""), 1); /* the create */
    assert_int_equal(writes_with("assigneeUserId"), 1); /* dispatched with the create */
    assert_int_equal(writes_with("inProgress"), 1);     /* the status */
    /* in porter: every trigger fired once */
    static const char *const fired[] = {"parking", "broken", "followup", "bye",
                                        "moved",   "booked", "made",     "alerted"};
    for (size_t i = 0; i < sizeof(fired) / sizeof(fired[0]); i++) {
        char sql[160];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM rule_fire WHERE rule = '%s' AND outcome = 'done'", fired[i]);
        if (db_count(sql) != 1)
            fail_msg("rule %s fired %lld times", fired[i], (long long)db_count(sql));
    }
    assert_int_equal(db_count("SELECT count(*) FROM (SELECT 1 FROM rule_fire GROUP BY rule,"
                              " event_id HAVING count(*) > 1)"),
                     0);
    assert_int_equal(db_count("SELECT count(*) FROM thread WHERE tags LIKE '%,parking,%'"
                              " AND assignee = 'frontdesk' AND snoozed_until > 0"),
                     1);
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE direction = 'note' AND"
                              " body = 'parking: ' || (SELECT name FROM contact c JOIN thread t"
                              " ON t.contact_id = c.id WHERE t.tags LIKE '%,parking,%')"),
                     1);
    /* every thread left waiting between 2 s and max_age (24 h): the new booking's among them */
    assert_int_equal(db_count("SELECT count(*) FROM rule_fire WHERE rule = 'late'"),
                     db_count("SELECT count(*) FROM rule_event WHERE kind = 'sla'"));
    assert_int_equal(db_count("SELECT count(*) FROM thread WHERE tags LIKE '%,booked,late,%'"), 1);
    assert_int_equal(db_count("SELECT count(*) FROM thread WHERE tags LIKE '%,changed,%'"), 1);
    assert_int_equal(db_count("SELECT count(*) FROM thread WHERE tags LIKE '%,booked,%'"), 1);
    /* every stay arriving today (the booking made above, and any of the fixture's) */
    assert_true(db_count("SELECT count(*) FROM rule_event WHERE kind = 'checkin'") >= 1);
    assert_int_equal(db_count("SELECT count(*) FROM rule_fire WHERE rule = 'arriving'"),
                     db_count("SELECT count(*) FROM rule_event WHERE kind = 'checkin'"));
    assert_true(db_count("SELECT count(*) FROM message m JOIN thread t ON t.id = m.thread_id"
                         " JOIN stay s ON s.id = t.stay_id JOIN contact c ON c.id = s.contact_id"
                         " WHERE m.body = 'arrives today' AND c.name LIKE 'Ines %'") == 1);
    /* the work order is linked to the tenant's thread: the note goes there */
    assert_int_equal(db_count("SELECT count(*) FROM message WHERE direction = 'note' AND"
                              " body = 'made by a rule' AND thread_id = (SELECT thread_id FROM"
                              " work_order WHERE title = 'The dishwasher is broken')"),
                     1);
    assert_int_equal(db_count("SELECT count(*) FROM rule_action WHERE action = 'bell'"), 1);
    char notified[128], line[128] = "";
    snprintf(notified, sizeof(notified), "%s/notified", F.dir);
    f = fopen(notified, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line, "alerted alert\n");
}

#define CREDS_HOSTAWAY                                                                             \
    "client_id = 10450\n"                                                                          \
    "secret = c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d\n"                  \
    "webhook_secret = porter:change-me\n"
#define CREDS_GUESTY                                                                               \
    "client_id = pmsim-guesty\nsecret = pmsim-guesty-secret\n"                                     \
    "webhook_secret = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
#define CREDS_BUILDIUM                                                                             \
    "client_id = pmsim-buildium-client\nsecret = pmsim-buildium-secret\n"                          \
    "webhook_secret = pmsim-buildium-webhook-key\n"

static const struct dialect dialects[] = {
    {.name = "hostaway",
     .creds = CREDS_HOSTAWAY,
     .cancel_fmt = "{\"kind\":\"task_status\",\"id\":%s,\"status\":\"cancelled\"}",
     .cancelled = "cancelled",
     .drift_from = "isIncoming",
     .drift_to = "incoming",
     .drift_subject = "hostaway/message.isIncoming",
     .drift_quarantines = 1,
     .reply_key = "body",
     .storm_setup = "{\"kind\":\"config\",\"retry_after\":true}",
     .retry_after = 1,
     .res_status_fmt = "{\"kind\":\"reservation_status\",\"id\":%.0f,\"status\":\"%s\"}",
     .outage_s = 30,
     .kills = 20,
     .events = 1000,
     .import_check = import_hostaway,
     .extra = test_mass_delete_guard,
     .extra_name = "test_mass_delete_guard",
     .emergency_inject = "{\"kind\":\"message\",\"body\":\"Help, water is leaking through the"
                         " ceiling\"}"},
    {.name = "guesty",
     .creds = CREDS_GUESTY,
     .cancel_fmt = "{\"kind\":\"task_status\",\"taskId\":\"%s\",\"status\":\"canceled\"}",
     .cancelled = "cancelled",
     .drift_from = "body",
     .drift_to = "text",
     .drift_subject = "guesty/message.body",
     .reply_key = "body",
     .drift_quarantines = 1,
     .retry_after = 1,
     .outage_s = 10,
     .kills = 8,
     .events = 300,
     .import_check = import_guesty,
     .extra = test_guesty_token_budget,
     .extra_name = "test_guesty_token_budget",
     .emergency_inject = "{\"kind\":\"message\",\"conversationId\":\"69e92d52e53967060000010c\","
                         "\"body\":\"Help, water is leaking through the ceiling\"}"},
    {.name = "buildium",
     .creds = CREDS_BUILDIUM,
     .cancel_fmt = "{\"kind\":\"status\",\"work_order_id\":%s,\"status\":\"Closed\"}",
     .cancelled = "closed",
     .drift_from = "CreatedByUser",
     .drift_to = "Creator",
     .drift_subject = "buildium/message.CreatedByUser",
     .reply_key = "Message",
     .outage_s = 10,
     .kills = 8,
     .events = 300,
     .import_check = import_buildium,
     .emergency_inject = "{\"kind\":\"message\",\"task_id\":7001,\"body\":\"Help, water is"
                         " leaking through the ceiling\"}"},
};

#define SCENARIO(f, d)                                                                             \
    cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)(uintptr_t)(d))

static int run_dialect(const struct dialect *d)
{
    const struct CMUnitTest all[] = {
        SCENARIO(test_initial_import_matches_pms, d),
        SCENARIO(test_reply_delivered_exactly_once, d),
        SCENARIO(test_dropped_answer_not_duplicated, d),
        SCENARIO(test_webhooks_live, d),
        SCENARIO(test_outage_drains_in_order_exactly_once, d),
        SCENARIO(test_schema_drift_alert_and_quarantine, d),
        SCENARIO(test_rate_limit_storm_honours_retry_after, d),
        SCENARIO(test_one_leader_and_takeover, d),
        SCENARIO(test_kill9_exactly_once, d),
        SCENARIO(test_emergency_rule_exactly_once, d),
        SCENARIO(test_concurrent_status_edits_conflict, d),
        SCENARIO(test_reordered_duplicated_webhooks, d),
        {d->extra_name, d->extra, setup, teardown, (void *)(uintptr_t)d}, /* only where one is */
        SCENARIO(test_rules_every_trigger_live, d),                       /* Hostaway only */
    };
    struct CMUnitTest run[sizeof(all) / sizeof(all[0])];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if ((all[i].test_func != test_rules_every_trigger_live ||
             strcmp(d->name, "hostaway") == 0) &&
            all[i].test_func)
            run[n++] = all[i];
    return _cmocka_run_group_tests(d->name, run, n, NULL, NULL);
}

/* test_sync_e2e [DIALECT]; TEST_FILTER=pattern runs the matching scenarios only. */
int main(int argc, char **argv)
{
    int failed = 0;
    if (getenv("TEST_FILTER"))
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    for (size_t i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++)
        if (argc < 2 || strcmp(argv[1], dialects[i].name) == 0)
            failed += run_dialect(&dialects[i]);
    return failed != 0;
}
