/* test_engine.c - the sync engine against a scripted fake adapter: what the pusher does with
 * each answer class, lane order, lookups before resends, the circuit breaker, and how the
 * apply worker treats events. No network: the fake answers from a script. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapter.h"
#include "engine.h"
#include "store.h"

/* ---- the scripted fake ---- */

enum answer { OK, TRANSIENT, REFUSED, LOCAL };

static struct {
    enum answer script[64]; /* answers to successive push calls; OK when exhausted */
    int nscript, pushes, finds;
    int find_says_landed;
    char pushed[64][64]; /* bodies in push order */
    int apply_answer;    /* 0 ok, 1 transient, 2 drift */
} fk;

static int fk_auth(struct adapter *a, struct err *e)
{
    (void)a;
    (void)e;
    return 0;
}

static int fk_pull(struct adapter *a, enum entity ent, const char *cursor, struct sink *out,
                   char **next, struct err *e)
{
    (void)a;
    (void)cursor;
    (void)e;
    if (ent == ENT_THREAD) { /* six threads to reply on */
        for (int i = 1; i <= 6; i++) {
            char id[8];
            snprintf(id, sizeof(id), "T%d", i);
            struct rec_thread t = {.remote_id = id, .kind = THREAD_GUEST, .channel = CH_SMS};
            if (out->put(out, ENT_THREAD, &t, e) != 0)
                return -1;
        }
    }
    *next = xstrdup("done");
    return 0;
}

static int fk_push(struct adapter *a, const struct outbox_op *op, struct push_result *res,
                   struct err *e)
{
    (void)a;
    cJSON *p = cJSON_Parse(op->payload);
    const cJSON *b = cJSON_GetObjectItem(p, "body");
    if (fk.pushes < 64)
        snprintf(fk.pushed[fk.pushes], 64, "%s", cJSON_IsString(b) ? b->valuestring : "?");
    cJSON_Delete(p);
    enum answer ans = fk.pushes < fk.nscript ? fk.script[fk.pushes] : OK;
    fk.pushes++;
    switch (ans) {
    case TRANSIENT:
        return err_set(e, 0, RETRY_LATER, "timed out");
    case REFUSED:
        return err_set(e, 422, FINAL, "Message body too long for this channel");
    case LOCAL:
        return ADAPTER_LOCAL_ONLY;
    case OK:
        break;
    }
    snprintf(res->remote_id, sizeof(res->remote_id), "R%lld", (long long)op->id);
    return 0;
}

static int fk_find(struct adapter *a, const struct outbox_op *op, struct push_result *res,
                   struct err *e)
{
    (void)a;
    (void)e;
    fk.finds++;
    if (!fk.find_says_landed)
        return 0;
    snprintf(res->remote_id, sizeof(res->remote_id), "LANDED%lld", (long long)op->id);
    return 1;
}

static int fk_verify(struct adapter *a, const struct webhook_req *rq, char **id, char **kind,
                     struct err *e)
{
    (void)a;
    (void)e;
    *id = xstrdup(rq->body);
    *kind = xstrdup("message");
    return 0;
}

static int fk_apply(struct adapter *a, const char *kind, const char *body, struct sink *out,
                    struct err *e)
{
    (void)a;
    (void)kind;
    if (fk.apply_answer == 1)
        return err_set(e, 0, RETRY_LATER, "parent not there yet");
    if (fk.apply_answer == 2) {
        out->drift(out, ENT_MESSAGE, body, "isIncoming", "is missing");
        return err_set(e, ADAPTER_EDRIFT, FINAL, "message isIncoming is missing");
    }
    struct rec_message m = {.remote_id = body,
                            .thread_remote_id = "T1",
                            .direction = DIR_IN,
                            .channel = CH_SMS,
                            .body = "from a webhook",
                            .sent_at = now_ms()};
    return out->put(out, ENT_MESSAGE, &m, e);
}

static const enum entity fk_order[] = {ENT_THREAD, ENTITY_COUNT};

static const struct adapter_ops fake_ops = {
    .name = "fake",
    .default_base_url = "http://fake.invalid",
    .rate_per_sec = 0,
    .rate_burst = 0,
    .pull_order = fk_order,
    .auth = fk_auth,
    .pull = fk_pull,
    .push = fk_push,
    .find = fk_find,
    .webhook_verify = fk_verify,
    .webhook_apply = fk_apply,
};

/* ---- fixture: a config with one fake account and a fresh database ---- */

static char dir[64], db[128];
static struct account_conf acct_conf = {
    .name = (char *)(uintptr_t) "fk", .adapter = (char *)(uintptr_t) "fake", .poll_interval = 60};
static struct config cfg;

static int setup(void **state)
{
    (void)state;
    memset(&fk, 0, sizeof(fk));
    strcpy(dir, "/tmp/porter-engine-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/e.db", dir);
    memset(&cfg, 0, sizeof(cfg));
    cfg.db_path = db;
    cfg.accounts = &acct_conf;
    cfg.naccounts = 1;
    cfg.listen = (char *)(uintptr_t) "127.0.0.1:0";
    cfg.body_limit = 1 << 20;
    cfg.max_connections = 8;
    cfg.conn_timeout = 5;
    adapter_register(&fake_ops);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int64_t q(const char *sql)
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

static void exec_sql(const char *sql)
{
    sqlite3 *d;
    sqlite3_open(db, &d);
    assert_int_equal(sqlite3_exec(d, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(d);
}

/* One engine pass (pull, drain, apply). */
static void pass(void)
{
    struct err e;
    struct engine *g = engine_new(&cfg, NULL, &e);
    assert_non_null(g);
    engine_run_once(g, &e);
    engine_free(&g);
    assert_null(g);
}

static void queue(int thread, const char *body)
{
    struct err e;
    struct store *s = store_open(db, &e);
    assert_non_null(s);
    assert_int_equal(store_queue_reply(s, thread, DIR_OUT, CH_SMS, "me", body, NULL, NULL, &e), 0);
    store_close(&s);
}

static void test_lanes_keep_order(void **state)
{
    (void)state;
    pass(); /* brings threads T1 (id 1) and T2 (id 2) */
    queue(1, "a1");
    queue(2, "b1");
    queue(1, "a2");
    queue(2, "b2");
    queue(1, "a3");
    pass();
    assert_int_equal(fk.pushes, 5);
    int a = 0, b = 0;
    for (int i = 0; i < fk.pushes; i++) { /* per thread, in the order queued */
        char want[16];
        if (fk.pushed[i][0] == 'a')
            snprintf(want, sizeof(want), "a%d", ++a);
        else
            snprintf(want, sizeof(want), "b%d", ++b);
        assert_string_equal(fk.pushed[i], want);
    }
    assert_int_equal(q("SELECT count(*) FROM outbox WHERE state = 'sent'"), 5);
    assert_int_equal(q("SELECT count(*) FROM message WHERE send_state = 'synced' AND"
                       " remote_id LIKE 'R%'"),
                     5);
}

static void test_transient_then_lookup_before_resend(void **state)
{
    (void)state;
    pass();
    fk.script[0] = TRANSIENT;
    fk.nscript = 1;
    queue(1, "hello");
    queue(1, "second"); /* same lane: must wait behind the first */
    pass();
    assert_int_equal(fk.pushes, 1); /* the second did not overtake the first */
    assert_int_equal(q("SELECT count(*) FROM outbox WHERE state = 'pending' AND attempts = 1"), 1);
    assert_int_equal(q("SELECT count(*) FROM outbox WHERE state = 'pending' AND attempts = 0"), 1);
    exec_sql("UPDATE outbox SET next_attempt_at = 0");
    pass();
    assert_int_equal(fk.finds, 1); /* attempts > 0: looked up first */
    assert_int_equal(fk.pushes, 3);
    assert_string_equal(fk.pushed[1], "hello");
    assert_string_equal(fk.pushed[2], "second");
    assert_int_equal(q("SELECT count(*) FROM outbox WHERE state = 'sent'"), 2);
}

static void test_landed_write_adopted_not_resent(void **state)
{
    (void)state;
    pass();
    fk.script[0] = TRANSIENT;
    fk.nscript = 1;
    fk.find_says_landed = 1;
    queue(2, "once only");
    pass();
    exec_sql("UPDATE outbox SET next_attempt_at = 0");
    pass();
    assert_int_equal(fk.pushes, 1); /* never sent twice */
    assert_int_equal(fk.finds, 1);
    assert_int_equal(q("SELECT count(*) FROM message WHERE remote_id LIKE 'LANDED%' AND"
                       " send_state = 'synced'"),
                     1);
}

static void test_refused_and_local_only(void **state)
{
    (void)state;
    pass();
    fk.script[0] = REFUSED;
    fk.script[1] = LOCAL;
    fk.nscript = 2;
    queue(1, "too long");
    queue(2, "a note kept here");
    pass();
    assert_int_equal(q("SELECT count(*) FROM outbox WHERE state = 'failed' AND last_error ="
                       " 'Message body too long for this channel'"),
                     1);
    assert_int_equal(q("SELECT count(*) FROM message WHERE send_state = 'failed' AND"
                       " send_error = 'Message body too long for this channel'"),
                     1);
    assert_int_equal(q("SELECT count(*) FROM alert WHERE kind = 'push_failed'"), 1);
    assert_int_equal(q("SELECT count(*) FROM message WHERE local_only = 1 AND send_state ="
                       " 'synced' AND remote_id IS NULL"),
                     1);
    pass(); /* a failed op is never retried by itself */
    assert_int_equal(fk.pushes, 2);
}

static void test_circuit_opens(void **state)
{
    (void)state;
    pass();
    for (int i = 0; i < 6; i++) {
        char body[16];
        snprintf(body, sizeof(body), "m%d", i);
        queue(1 + i, body); /* six lanes: all six are claimable at once */
        fk.script[i] = TRANSIENT;
    }
    fk.nscript = 6;
    pass();
    assert_int_equal(fk.pushes, 5); /* the sixth is held back once the circuit opened */
    assert_int_equal(q("SELECT count(*) FROM alert WHERE kind = 'sync_down'"), 1);
    assert_int_equal(q("SELECT count(*) FROM account WHERE circuit = 'open' AND state = 'down'"),
                     1);
    assert_int_equal(q("SELECT count(*) FROM outbox WHERE state IN ('pending', 'inflight')"), 6);
}

static void test_apply_worker_outcomes(void **state)
{
    (void)state;
    pass();
    struct err e;
    struct store *s = store_open(db, &e);
    int64_t acct;
    store_account_ensure(s, "fk", "fake", &acct, &e);
    assert_int_equal(store_inbound_put(s, acct, "ev-ok", "message", "ev-ok", &e), 0);
    store_close(&s);
    pass();
    assert_int_equal(q("SELECT count(*) FROM inbound_event WHERE state = 'applied'"), 1);
    assert_int_equal(q("SELECT count(*) FROM message WHERE remote_id = 'ev-ok'"), 1);
    assert_true(q("SELECT count(*) FROM metric WHERE name = 'webhook_latency_ms'") >= 1);
    fk.apply_answer = 1;
    s = store_open(db, &e);
    store_inbound_put(s, acct, "ev-later", "message", "ev-later", &e);
    store_close(&s);
    pass();
    assert_int_equal(q("SELECT count(*) FROM inbound_event WHERE event_id = 'ev-later' AND"
                       " state = 'retry' AND next_attempt_at > 0"),
                     1);
    fk.apply_answer = 2;
    exec_sql("UPDATE inbound_event SET next_attempt_at = 0");
    pass();
    assert_int_equal(q("SELECT count(*) FROM inbound_event WHERE event_id = 'ev-later' AND"
                       " state = 'quarantined'"),
                     1);
    assert_int_equal(q("SELECT count(*) FROM alert WHERE kind = 'schema_drift' AND subject ="
                       " 'fake/message.isIncoming'"),
                     1);
    assert_int_equal(q("SELECT count(*) FROM message WHERE remote_id = 'ev-later'"), 0);
    assert_int_equal(q("SELECT count(*) FROM alert"), 1); /* one alert, by field, not two */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lanes_keep_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transient_then_lookup_before_resend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_landed_write_adopted_not_resent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_and_local_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_circuit_opens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_worker_outcomes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
