/* test_sync_multi.c - one porter over three PMSs at once: a Hostaway, a Guesty and a
 * Buildium account served by one pmsim, synced into one database; a reply queued in each
 * reaches its own PMS exactly once and no other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include "simctl.h"

static struct simproc sim;
static char dir[64], db[128];

static int porter(const char *const *args)
{
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[16] = {getenv("PORTER_BIN"), "--config", dir, "--db", db};
        int k = 5;
        for (int i = 0; args[i] && k < 15; i++)
            argv[k++] = args[i];
        argv[k] = NULL;
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int64_t count(const char *sql)
{
    sqlite3 *d;
    sqlite3_stmt *st;
    int64_t v = -1;
    sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL);
    if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(d);
    return v;
}

static int up(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/porter-multi-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/p.db", dir);
    char epoch[32];
    snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL) * 1000);
    const char *argv[] = {"--account",  "hostaway:0",       "--account", "guesty:0", "--account",
                          "buildium:0", "--data",           "data/demo", "--epoch",  epoch,
                          "--fault",    "rate_limit_off=1", NULL};
    assert_int_equal(sim_spawn(&sim, argv), 0);
    assert_int_equal(sim.nports, 3);
    char path[160];
    snprintf(path, sizeof(path), "%s/accounts.conf", dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "[ha]\nadapter = hostaway\nbase_url = http://127.0.0.1:%d/v1\nclient_id = 10450\n"
            "secret = c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d\n"
            "rate_limit = 200\n\n"
            "[gy]\nadapter = guesty\nbase_url = http://127.0.0.1:%d/v1\n"
            "client_id = pmsim-guesty\nsecret = pmsim-guesty-secret\nrate_limit = 200\n\n"
            "[bd]\nadapter = buildium\nbase_url = http://127.0.0.1:%d/v1\n"
            "client_id = pmsim-buildium-client\nsecret = pmsim-buildium-secret\n"
            "rate_limit = 200\n",
            sim.port[0], sim.port[1], sim.port[2]);
    fclose(f);
    chmod(path, 0600);
    setenv("XDG_STATE_HOME", dir, 1);
    return 0;
}

static int down(void **state)
{
    (void)state;
    sim_kill(&sim);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Queue "<what> <account> <tag>" on the first thread of each account. */
static void send_each(const char *const names[3], const char *what, const char *tag)
{
    for (int i = 0; i < 3; i++) {
        char sql[160], id[24], body[64];
        snprintf(sql, sizeof(sql),
                 "SELECT min(t.id) FROM thread t JOIN account a ON a.id = t.account_id"
                 " WHERE a.name = '%s'",
                 names[i]);
        snprintf(id, sizeof(id), "%lld", (long long)count(sql));
        snprintf(body, sizeof(body), "%s %s %s", what, names[i], tag);
        const char *send[] = {"send", id, body, NULL};
        assert_int_equal(porter(send), 0);
    }
}

static void test_three_pms_one_inbox(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(once), 0);
    /* every account brought its conversations into the one inbox */
    assert_true(count("SELECT count(*) FROM thread t JOIN account a ON a.id = t.account_id"
                      " WHERE a.name = 'ha'") > 0);
    assert_true(count("SELECT count(*) FROM thread t JOIN account a ON a.id = t.account_id"
                      " WHERE a.name = 'gy'") > 0);
    assert_true(count("SELECT count(*) FROM thread t JOIN account a ON a.id = t.account_id"
                      " WHERE a.name = 'bd'") > 0);
    assert_true(count("SELECT count(*) FROM work_order w JOIN account a ON a.id = w.account_id"
                      " WHERE a.name = 'bd'") > 0);
    /* a reply in each account reaches its own PMS once, and no other */
    static const char *const names[] = {"ha", "gy", "bd"};
    send_each(names, "multi reply to", "q7");
    assert_int_equal(porter(once), 0);
    for (int i = 0; i < 3; i++)
        for (int p = 0; p < 3; p++) {
            char needle[48];
            snprintf(needle, sizeof(needle), "multi reply to %s q7", names[i]);
            assert_int_equal(sim_writes_with(sim.port[p], needle), i == p ? 1 : 0);
        }
    assert_int_equal(count("SELECT count(*) FROM outbox WHERE state <> 'sent'"), 0);
}

/* One PMS down: the other two sync and deliver as before; the third catches up after. */
static void test_one_pms_down_others_unaffected(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(once), 0);
    char url[96];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/faults", sim.port[1]);
    http_do("POST", url, NULL, "{\"outage_s\":600}", &r); /* Guesty is down */
    assert_int_equal(r.status, 200);
    http_result_free(&r);
    static const char *const names[] = {"ha", "gy", "bd"};
    send_each(names, "outage reply to", "w3");
    assert_true(porter(once) != 0); /* says a sync failed ... */
    const char *status[] = {"status", NULL};
    int st = porter(status);
    assert_true(st == 1 || st == 2); /* degraded or down: a monitor sees it */
    /* ... but the two healthy PMSs got their replies, once */
    assert_int_equal(sim_writes_with(sim.port[0], "outage reply to ha w3"), 1);
    assert_int_equal(sim_writes_with(sim.port[2], "outage reply to bd w3"), 1);
    assert_int_equal(count("SELECT count(*) FROM outbox o JOIN account a ON a.id = o.account_id"
                           " WHERE a.name = 'gy' AND o.state = 'pending'"),
                     1);
    http_do("POST", url, NULL, "{\"outage_s\":0}", &r); /* Guesty is back */
    http_result_free(&r);
    sqlite3 *d;
    sqlite3_open(db, &d);
    sqlite3_exec(d, "UPDATE outbox SET next_attempt_at = 0", NULL, NULL, NULL);
    sqlite3_close(d);
    assert_int_equal(porter(once), 0);
    assert_int_equal(porter(status), 0); /* healthy again */
    assert_int_equal(sim_writes_with(sim.port[1], "outage reply to gy w3"), 1);
    assert_int_equal(sim_writes_with(sim.port[0], "outage reply to ha w3"), 1);
    assert_int_equal(sim_writes_with(sim.port[2], "outage reply to bd w3"), 1);
}

/* Accounts named after their dialects, each PMS delivering signed webhooks to porter. */
static int up_hooks(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/porter-hooks-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/p.db", dir);
    int hook = sim_free_port();
    char url[96], epoch[32];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hooks/{dialect}", hook);
    snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL) * 1000);
    const char *argv[] = {"--account",     "hostaway:0", "--account", "guesty:0",
                          "--account",     "buildium:0", "--data",    "data/demo",
                          "--epoch",       epoch,        "--fault",   "rate_limit_off=1",
                          "--webhook-url", url,          NULL};
    assert_int_equal(sim_spawn(&sim, argv), 0);
    char path[160];
    snprintf(path, sizeof(path), "%s/accounts.conf", dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "[hostaway]\nadapter = hostaway\nbase_url = http://127.0.0.1:%d/v1\n"
            "client_id = 10450\n"
            "secret = c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d\n"
            "webhook_secret = porter:change-me\npoll_interval = 3600\nrate_limit = 200\n\n"
            "[guesty]\nadapter = guesty\nbase_url = http://127.0.0.1:%d/v1\n"
            "client_id = pmsim-guesty\nsecret = pmsim-guesty-secret\n"
            "webhook_secret = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\npoll_interval = 3600\n"
            "rate_limit = 200\n\n"
            "[buildium]\nadapter = buildium\nbase_url = http://127.0.0.1:%d/v1\n"
            "client_id = pmsim-buildium-client\nsecret = pmsim-buildium-secret\n"
            "webhook_secret = pmsim-buildium-webhook-key\npoll_interval = 3600\n"
            "rate_limit = 200\n",
            sim.port[0], sim.port[1], sim.port[2]);
    fclose(f);
    chmod(path, 0600);
    snprintf(path, sizeof(path), "%s/porter.conf", dir);
    f = fopen(path, "w");
    fprintf(f, "[webhook]\nlisten = 127.0.0.1:%d\n", hook);
    fclose(f);
    setenv("XDG_STATE_HOME", dir, 1);
    return 0;
}

/* Each PMS's signed webhook (Basic, Svix, HMAC) reaches porter and is applied once; with
 * polling an hour away, only the webhooks can have brought the messages. */
static void test_signed_webhooks_from_three_pms(void **state)
{
    (void)state;
    const char *once[] = {"sync", "--once", NULL};
    assert_int_equal(porter(once), 0);
    pid_t d = fork();
    if (d == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execl(getenv("PORTER_BIN"), "porter", "--config", dir, "--db", db, "sync", NULL);
        _exit(127);
    }
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL); /* the first pull of the daemon is done by now */
    static const char *const names[] = {"hostaway", "guesty", "buildium"};
    for (int i = 0; i < 3; i++) {
        char url[96], body[96];
        struct http_result r;
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/inject", sim.port[i]);
        snprintf(body, sizeof(body), "{\"kind\":\"message\",\"body\":\"hook to %s k2\"}", names[i]);
        http_do("POST", url, NULL, body, &r);
        assert_int_equal(r.status, 200);
        http_result_free(&r);
    }
    int64_t got = 0;
    for (int i = 0; i < 150 && got < 3; i++) {
        struct timespec t = {0, 100 * 1000000L};
        nanosleep(&t, NULL);
        got = count("SELECT count(*) FROM message WHERE body LIKE 'hook to % k2'");
    }
    kill(d, SIGTERM);
    waitpid(d, NULL, 0);
    for (int i = 0; i < 3; i++) {
        char sql[200];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM message m JOIN account a ON a.id = m.account_id"
                 " WHERE a.name = '%s' AND m.body = 'hook to %s k2'",
                 names[i], names[i]);
        assert_int_equal(count(sql), 1);
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM inbound_event e JOIN account a ON a.id = e.account_id"
                 " WHERE a.name = '%s' AND e.state = 'applied'",
                 names[i]);
        assert_true(count(sql) >= 1);
    }
    assert_int_equal(count("SELECT count(*) FROM alert WHERE kind = 'webhook_rejected'"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_three_pms_one_inbox, up, down),
        cmocka_unit_test_setup_teardown(test_one_pms_down_others_unaffected, up, down),
        cmocka_unit_test_setup_teardown(test_signed_webhooks_from_three_pms, up_hooks, down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
