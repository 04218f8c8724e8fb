/* test_adapter_buildium.c - adapters/buildium.c against pmsim's Buildium dialect.
 *
 * Run: PMSIM_BIN=$PWD/pmsim build/tests/integration/test_adapter_buildium (from the top of
 * the tree, or with PORTER_TOP set; the fixture is data/demo/buildium.json).
 *
 * One pmsim for the whole file: demo fixture, rate limiter off, --epoch now (so the times
 * pmsim stamps on writes are wall-clock times that find()'s window compares). The tests
 * run in order and build on each other (the full pull's records seed the strict sink of the
 * webhook test). The recording sink refuses, like the store, a record whose parent it has
 * not seen (STORE_ENOPARENT).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adapter.h"
#include "http.h"
#include "log.h"
#include "simctl.h"
#include "store.h"

#include "rec_sink.h"

/* ---- fixture ---- */

#define CLIENT_ID     "pmsim-buildium-client"
#define CLIENT_SECRET "pmsim-buildium-secret"
#define HOOK_SECRET   "pmsim-buildium-webhook-key"

extern const struct adapter_ops buildium_adapter;

static struct simproc sim;
static char base_url[128];
static struct account_conf conf;
static struct http_client *hc;
static struct adapter *A;
static struct tsink *full;
static char *cursor[ENTITY_COUNT];

static const char *url(const char *path)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "http://127.0.0.1:%d%s", sim.port[0], path);
    return buf[k];
}

static cJSON *control(const char *method, const char *path, const char *body)
{
    struct http_result r;
    http_do(method, url(path), NULL, body, &r);
    assert_int_equal(r.status, 200);
    cJSON *j = cJSON_Parse(r.body);
    http_result_free(&r);
    assert_non_null(j);
    return j;
}

static void ctl(const char *path, const char *body)
{
    cJSON_Delete(control("POST", path, body));
}

static cJSON *state(const char *coll)
{
    char p[128];
    snprintf(p, sizeof(p), "/_sim/state?collection=%s", coll);
    cJSON *j = control("GET", p, NULL);
    if (cJSON_IsObject(j) && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, coll))) {
        cJSON *a = cJSON_DetachItemFromObjectCaseSensitive(j, coll);
        cJSON_Delete(j);
        return a;
    }
    assert_true(cJSON_IsArray(j));
    return j;
}

static const char *sstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double snum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static cJSON *by_id(const cJSON *arr, double id)
{
    cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        if (snum(r, "Id") == id)
            return r;
    }
    return NULL;
}

/* A JSON snapshot of the fields of task `id` a whole-record PUT could blank. */
static char *task_fields(double id)
{
    cJSON *tasks = state("tasks");
    const cJSON *t = by_id(tasks, id);
    assert_non_null(t);
    static const char *const keep[] = {"Title",    "Priority",      "AssignedToUserId",
                                       "Category", "DueDate",       "Description",
                                       "UnitId",   "UnitAgreement", "Property"};
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < ARRAY_LEN(keep); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, keep[i]);
        cJSON_AddItemToObject(o, keep[i], v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    cJSON_Delete(tasks);
    return s;
}

static char *wo_fields(double id)
{
    cJSON *wos = state("workorders");
    cJSON *w = by_id(wos, id);
    assert_non_null(w);
    cJSON *o = cJSON_Duplicate(w, 1);
    static const char *const drop[] = {"Status", "Task", "_LastUpdated"};
    for (size_t i = 0; i < ARRAY_LEN(drop); i++)
        cJSON_DeleteItemFromObjectCaseSensitive(o, drop[i]);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    cJSON_Delete(wos);
    return s;
}

/* Writes to `path` (NULL: any) whose body has Message `msg` (NULL: any). */
static int count_writes(const char *path, const char *msg)
{
    cJSON *w = control("GET", "/_sim/writes", NULL);
    const cJSON *list = cJSON_IsArray(w) ? w : cJSON_GetObjectItemCaseSensitive(w, "writes");
    int n = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, list)
    {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(x, "body");
        if (path && strcmp(sstr(x, "path"), path) != 0)
            continue;
        if (msg && !(sstr(b, "Message") && strcmp(sstr(b, "Message"), msg) == 0))
            continue;
        n++;
    }
    cJSON_Delete(w);
    return n;
}

static struct outbox_op op_of(const char *name, const char *payload, const char *remote_id)
{
    static int64_t seq;
    struct outbox_op op = {.id = ++seq,
                           .op = name,
                           .payload = payload,
                           .idem_key = "idem",
                           .remote_id = remote_id,
                           .attempts = 0,
                           .created_at = now_ms()};
    return op;
}

/* The id of the newest history entry of task `tid` with Message `msg` (0: none). */
static double history_id(double tid, const char *msg)
{
    cJSON *h = state("task_history");
    double id = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, h)
    {
        if (snum(x, "_TaskId") == tid && sstr(x, "Message") && strcmp(sstr(x, "Message"), msg) == 0)
            id = snum(x, "Id");
    }
    cJSON_Delete(h);
    return id;
}

static void pull_all(struct adapter *a, enum entity ent, char **cur, struct tsink *t)
{
    for (int i = 0; i < 1000; i++) {
        char *next = NULL;
        struct err e;
        err_clear(&e);
        int rc = buildium_adapter.pull(a, ent, *cur, &t->s, &next, &e);
        if (rc < 0)
            fail_msg("pull %s: %s (%s)", entity_name(ent), e.msg, retry_class_name(e.retry));
        assert_non_null(next);
        free(*cur);
        *cur = next;
        if (rc == 0)
            return;
        assert_int_equal(rc, 1);
    }
    fail_msg("pull %s never caught up", entity_name(ent));
}

static int setup(void **st)
{
    (void)st;
    const char *top = getenv("PORTER_TOP");
    char data[1024], epoch[32];
    snprintf(data, sizeof(data), "%s/data/demo", top ? top : ".");
    snprintf(epoch, sizeof(epoch), "%lld", (long long)now_ms());
    const char *argv[] = {"--account",        "buildium:0", "--data", data, "--fault",
                          "rate_limit_off=1", "--epoch",    epoch,    NULL};
    if (sim_spawn(&sim, argv) != 0)
        return -1;
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d/v1", sim.port[0]);
    conf.name = xstrdup("buildium-test");
    conf.adapter = xstrdup("buildium");
    conf.base_url = base_url;
    conf.client_id = xstrdup(CLIENT_ID);
    conf.secret = xstrdup(CLIENT_SECRET);
    conf.webhook_secret = xstrdup(HOOK_SECRET);
    log_set_level(LOG_ERROR); /* the drift test warns by design */
    struct http_opts o = {.log_name = "buildium-test"};
    hc = http_client_new(&o, NULL);
    struct err e;
    A = adapter_new(&buildium_adapter, &conf, hc, NULL, &e);
    full = ts_new(1);
    return hc && A ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    adapter_free(&A);
    http_client_free(&hc);
    ts_free(&full);
    for (int i = 0; i < ENTITY_COUNT; i++)
        free(cursor[i]);
    sim_kill(&sim);
    free(conf.name);
    free(conf.adapter);
    free(conf.client_id);
    free(conf.secret);
    free(conf.webhook_secret);
    return 0;
}

/* ---- tests ---- */

static void test_ops_table(void **st)
{
    (void)st;
    assert_string_equal(buildium_adapter.name, "buildium");
    assert_string_equal(buildium_adapter.default_base_url, "https://api.buildium.com/v1");
    const enum entity *o = buildium_adapter.pull_order;
    int pos[ENTITY_COUNT], n = 0;
    for (; o[n] != ENTITY_COUNT; n++)
        pos[o[n]] = n;
    assert_int_equal(n, ENTITY_COUNT);
    assert_true(pos[ENT_PROPERTY] < pos[ENT_UNIT] && pos[ENT_UNIT] < pos[ENT_STAY] &&
                pos[ENT_CONTACT] < pos[ENT_STAY] && pos[ENT_STAY] < pos[ENT_THREAD] &&
                pos[ENT_THREAD] < pos[ENT_MESSAGE] && pos[ENT_VENDOR] < pos[ENT_WORK_ORDER] &&
                pos[ENT_THREAD] < pos[ENT_WORK_ORDER]);
    assert_true(buildium_adapter.full_walk & (1u << ENT_VENDOR));
    assert_false(buildium_adapter.full_walk & (1u << ENT_MESSAGE));
}

static void test_auth(void **st)
{
    (void)st;
    struct err e;
    err_clear(&e);
    assert_int_equal(buildium_adapter.auth(A, &e), 0);
    /* a wrong secret: the first call answers 401 -> FINAL ADAPTER_EAUTH with the message */
    struct account_conf bad = conf;
    bad.secret = (char *)(uintptr_t) "wrong-secret";
    struct adapter *b = adapter_new(&buildium_adapter, &bad, hc, NULL, &e);
    assert_non_null(b);
    struct tsink *t = ts_new(0);
    char *next = NULL;
    err_clear(&e);
    assert_int_equal(buildium_adapter.pull(b, ENT_PROPERTY, NULL, &t->s, &next, &e), -1);
    assert_int_equal(e.code, ADAPTER_EAUTH);
    assert_int_equal(e.retry, FINAL);
    assert_non_null(strstr(e.msg, "couldn't be authorized"));
    free(next);
    adapter_free(&b);
    ts_free(&t);
    /* a missing secret: auth (and init) refuse at once */
    bad.secret = NULL;
    struct adapter shell = {
        .ops = &buildium_adapter, .conf = &bad, .base_url = base_url, .http = hc};
    err_clear(&e);
    assert_int_equal(buildium_adapter.auth(&shell, &e), -1);
    assert_int_equal(e.code, ADAPTER_EAUTH);
    assert_int_equal(e.retry, FINAL);
}

static void test_full_pull(void **st)
{
    (void)st;
    for (const enum entity *o = buildium_adapter.pull_order; *o != ENTITY_COUNT; o++)
        pull_all(A, *o, &cursor[*o], full);
    for (int i = 0; i < full->nev; i++)
        if (full->ev[i].refused)
            fail_msg("%s %s refused: parent missing", entity_name(full->ev[i].ent), full->ev[i].id);
    for (int ent = 0; ent < ENTITY_COUNT; ent++)
        assert_no_dups(full, (enum entity)ent);
    static const struct {
        enum entity ent;
        const char *coll;
    } same[] = {{ENT_PROPERTY, "rentals"}, {ENT_UNIT, "units"},     {ENT_CONTACT, "tenants"},
                {ENT_STAY, "leases"},      {ENT_VENDOR, "vendors"}, {ENT_THREAD, "tasks"}};
    for (size_t i = 0; i < ARRAY_LEN(same); i++) {
        cJSON *c = state(same[i].coll);
        assert_int_equal(ts_count(full, same[i].ent), cJSON_GetArraySize(c));
        cJSON_Delete(c);
    }
    /* messages: history entries with a Message; directions from the author */
    cJSON *h = state("task_history");
    int nmsg = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, h)
    {
        const char *m = sstr(x, "Message");
        if (!m || !*m)
            continue;
        nmsg++;
        char id[32];
        snprintf(id, sizeof(id), "%.0f", snum(x, "Id"));
        const struct put_ev *p = must_find(full, ENT_MESSAGE, id);
        assert_string_equal(p->body, m);
        const char *ut = sstr(cJSON_GetObjectItemCaseSensitive(x, "CreatedByUser"), "UserType");
        assert_int_equal(p->dir, strcmp(ut, "Staff") == 0 ? DIR_OUT : DIR_IN);
        assert_true(p->sent_at > 0);
    }
    cJSON_Delete(h);
    assert_int_equal(ts_count(full, ENT_MESSAGE), nmsg);
    /* work orders: all of them; an off-spec status is kept (status unknown, the PMS's string
     * beside it) and reported as drift on Status */
    cJSON *w = state("workorders");
    int nwo = 0, offspec = 0;
    cJSON_ArrayForEach(x, w)
    {
        const char *s = sstr(x, "Status");
        if (strcmp(s, "New") && strcmp(s, "InProgress") && strcmp(s, "Completed") &&
            strcmp(s, "Deferred") && strcmp(s, "Closed")) {
            char id[32];
            snprintf(id, sizeof(id), "%.0f", snum(x, "Id"));
            assert_true(must_find(full, ENT_WORK_ORDER, id)->status_unknown);
            offspec++;
        }
        nwo++;
    }
    cJSON_Delete(w);
    assert_true(offspec >= 1);
    assert_int_equal(ts_count(full, ENT_WORK_ORDER), nwo);
    int drift_status = 0;
    for (int i = 0; i < full->ndrift && i < (int)ARRAY_LEN(full->drift); i++)
        drift_status += full->drift[i].ent == ENT_WORK_ORDER &&
                        strcmp(full->drift[i].field, "Status") == 0 && full->drift[i].kept;
    assert_int_equal(drift_status, offspec);
    const struct put_ev *wo = must_find(full, ENT_WORK_ORDER, "8001");
    assert_string_equal(wo->vendor, "501");
    assert_int_equal(wo->status, WO_NEW);
    /* cursors: dated walks restart at yesterday's date */
    assert_non_null(strstr(cursor[ENT_WORK_ORDER], "from="));
    assert_string_equal(cursor[ENT_VENDOR], "off=0");
}

static void test_push_reply(void **st)
{
    (void)st;
    ctl("/_sim/writes/clear", "{}");
    char *before = task_fields(7001);
    const char *body = "A plumber is booked for Tuesday 9-11am. \\u2014 Dana";
    const char *plain = "A plumber is booked for Tuesday 9-11am. \u2014 Dana";
    char payload[256];
    snprintf(payload, sizeof(payload),
             "{\"thread\":\"7001\",\"channel\":\"portal\",\"body\":\"%s\"}", body);
    struct outbox_op op = op_of("reply", payload, NULL);
    struct push_result res;
    struct err e;
    err_clear(&e);
    if (buildium_adapter.push(A, &op, &res, &e) != 0)
        fail_msg("push reply: %s", e.msg);
    assert_int_equal(count_writes("/v1/tasks/residentrequests/7001", plain), 1);
    assert_int_equal(count_writes(NULL, NULL), 1);
    char *after = task_fields(7001);
    assert_string_equal(before, after); /* the whole-record PUT blanked nothing */
    free(before);
    free(after);
    char want[32];
    snprintf(want, sizeof(want), "%.0f", history_id(7001, plain));
    assert_string_equal(res.remote_id, want);
    /* notes stay local */
    struct outbox_op note =
        op_of("note", "{\"thread\":\"7001\",\"channel\":\"note\",\"body\":\"x\"}", NULL);
    assert_int_equal(buildium_adapter.push(A, &note, &res, &e), ADAPTER_LOCAL_ONLY);
    assert_int_equal(count_writes(NULL, NULL), 1);
}

static void test_push_dropped_then_find(void **st)
{
    (void)st;
    ctl("/_sim/writes/clear", "{}");
    const char *body = "Door code for the plumber: 4821 (exactly once)";
    char payload[256];
    snprintf(payload, sizeof(payload),
             "{\"thread\":\"7001\",\"channel\":\"portal\",\"body\":\"%s\"}", body);
    struct outbox_op op = op_of("reply", payload, NULL);
    struct push_result res;
    struct err e;
    err_clear(&e);
    ctl("/_sim/faults", "{\"drop_after_write\":1}");
    int rc = buildium_adapter.push(A, &op, &res, &e);
    ctl("/_sim/faults", "{\"drop_after_write\":0}");
    assert_int_equal(rc, -1);
    assert_int_equal(e.retry, RETRY_LATER);
    assert_int_equal(count_writes(NULL, body), 1);
    op.attempts = 1;
    assert_int_equal(buildium_adapter.find(A, &op, &res, &e), 1);
    char want[32];
    snprintf(want, sizeof(want), "%.0f", history_id(7001, body));
    assert_string_equal(res.remote_id, want);
    assert_int_equal(count_writes(NULL, NULL), 1);
    /* queued long after that entry: not it */
    op.created_at = now_ms() + 10 * 60 * 1000;
    assert_int_equal(buildium_adapter.find(A, &op, &res, &e), 0);
}

static void test_wo_status_round_trip(void **st)
{
    (void)st;
    ctl("/_sim/writes/clear", "{}");
    cJSON *wos = state("workorders");
    double tid = snum(cJSON_GetObjectItemCaseSensitive(by_id(wos, 8001), "Task"), "Id");
    cJSON_Delete(wos);
    assert_true(tid > 0);
    char *tb = task_fields(tid), *wb = wo_fields(8001);
    const char *payload = "{\"remote_id\":\"8001\",\"from\":\"new\",\"status\":\"on_hold\"}";
    struct outbox_op op = op_of("wo_status", payload, "8001");
    struct push_result res;
    struct err e;
    err_clear(&e);
    assert_int_equal(buildium_adapter.find(A, &op, &res, &e), 0);
    if (buildium_adapter.push(A, &op, &res, &e) != 0)
        fail_msg("wo_status: %s", e.msg);
    assert_string_equal(res.remote_id, "8001");
    assert_int_equal(count_writes(NULL, NULL), 1);
    wos = state("workorders");
    assert_string_equal(sstr(by_id(wos, 8001), "Status"), "Deferred");
    cJSON_Delete(wos);
    char *ta = task_fields(tid), *wa = wo_fields(8001);
    assert_string_equal(tb, ta);
    assert_string_equal(wb, wa);
    free(tb);
    free(ta);
    free(wb);
    free(wa);
    assert_int_equal(buildium_adapter.find(A, &op, &res, &e), 1);
    /* pulled back: on_hold */
    struct tsink *t = ts_new(0);
    char *cur = NULL;
    pull_all(A, ENT_WORK_ORDER, &cur, t);
    assert_int_equal(must_find(t, ENT_WORK_ORDER, "8001")->status, WO_ON_HOLD);
    free(cur);
    ts_free(&t);
    /* an unknown canonical status: FINAL, nothing written */
    struct outbox_op badop =
        op_of("wo_status", "{\"remote_id\":\"8001\",\"status\":\"exploded\"}", "8001");
    assert_int_equal(buildium_adapter.push(A, &badop, &res, &e), -1);
    assert_int_equal(e.retry, FINAL);
    assert_int_equal(count_writes(NULL, NULL), 1);
}

/* ---- webhooks ---- */

struct hreq {
    struct webhook_req rq;
    const char *ts, *sig;
};

static const char *hreq_header(const struct webhook_req *r, const char *name)
{
    const struct hreq *h = r->ctx;
    if (strcasecmp(name, "buildium-webhook-timestamp") == 0)
        return h->ts;
    if (strcasecmp(name, "buildium-webhook-signature") == 0)
        return h->sig;
    return NULL;
}

static void sign(const char *ts, const char *body, char out[128])
{
    char *msg = xasprintf("%s.%s", ts, body);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), HOOK_SECRET, (int)strlen(HOOK_SECRET), (const unsigned char *)msg,
         strlen(msg), md, &n);
    free(msg);
    EVP_EncodeBlock((unsigned char *)out, md, (int)n);
}

static int verify(const char *body, const char *ts, const char *sig, char **id, char **kind,
                  struct err *e)
{
    struct hreq h = {.ts = ts, .sig = sig};
    h.rq = (struct webhook_req){.path = "/hooks/buildium",
                                .body = body,
                                .body_len = strlen(body),
                                .client_ip = "127.0.0.1",
                                .now_ms = now_ms(),
                                .header = hreq_header,
                                .ctx = &h};
    *id = *kind = NULL;
    err_clear(e);
    return buildium_adapter.webhook_verify(A, &h.rq, id, kind, e);
}

static void test_webhook_verify(void **st)
{
    (void)st;
    const char *body =
        "{\"EventName\":\"WorkOrder.Updated\",\"EventDateTime\":"
        "\"2026-05-10T15:12:46.2317653Z\",\"AccountId\":514285,\"WorkOrderId\":8001}";
    char ts[32], sig[128];
    snprintf(ts, sizeof(ts), "%lld", (long long)(now_ms() / 1000));
    sign(ts, body, sig);
    char *id, *kind;
    struct err e;
    assert_int_equal(verify(body, ts, sig, &id, &kind, &e), 0);
    assert_string_equal(kind, "WorkOrder.Updated");
    assert_true(strncmp(id, "sha256:", 7) == 0 && strlen(id) == 7 + 64);
    free(id);
    free(kind);
    /* tampered body */
    char *tampered = xstrdup(body);
    tampered[strlen(tampered) - 2] = '2';
    assert_int_equal(verify(tampered, ts, sig, &id, &kind, &e), -1);
    assert_int_equal(e.code, 401);
    free(tampered);
    /* missing signature */
    assert_int_equal(verify(body, ts, NULL, &id, &kind, &e), -1);
    assert_int_equal(e.code, 401);
    /* a replay 10 minutes old, correctly signed */
    snprintf(ts, sizeof(ts), "%lld", (long long)(now_ms() / 1000 - 600));
    sign(ts, body, sig);
    assert_int_equal(verify(body, ts, sig, &id, &kind, &e), -1);
    assert_int_equal(e.code, 401);
    /* not JSON, signed: 400 */
    snprintf(ts, sizeof(ts), "%lld", (long long)(now_ms() / 1000));
    sign(ts, "nope", sig);
    assert_int_equal(verify("nope", ts, sig, &id, &kind, &e), -1);
    assert_int_equal(e.code, 400);
}

static void test_webhook_apply_message(void **st)
{
    (void)st;
    ctl("/_sim/inject", "{\"kind\":\"message\",\"task_id\":7001,\"body\":\"Still dripping!\"}");
    double hid = history_id(7001, "Still dripping!");
    assert_true(hid > 0);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"EventName\":\"Task.History.Created\",\"EventDateTime\":\"2026-05-10T15:12:46."
             "2317653Z\",\"AccountId\":514285,\"TaskId\":7001,\"TaskHistoryId\":%.0f}",
             hid);
    /* a strict sink that knows what the full pull stored */
    struct tsink *t = ts_new(1);
    for (int i = 0; i < full->nknown; i++)
        snprintf(t->known[t->nknown++], 48, "%s", full->known[i]);
    struct err e;
    err_clear(&e);
    if (buildium_adapter.webhook_apply(A, "Task.History.Created", body, &t->s, &e) != 0)
        fail_msg("apply: %s", e.msg);
    char id[32];
    snprintf(id, sizeof(id), "%.0f", hid);
    const struct put_ev *m = must_find(t, ENT_MESSAGE, id);
    assert_string_equal(m->body, "Still dripping!");
    assert_string_equal(m->thread, "7001");
    assert_int_equal(m->dir, DIR_IN);
    /* a work-order event GETs and puts the work order */
    ts_reset(t);
    err_clear(&e);
    assert_int_equal(buildium_adapter.webhook_apply(
                         A, "WorkOrder.Updated",
                         "{\"EventName\":\"WorkOrder.Updated\",\"WorkOrderId\":8001}", &t->s, &e),
                     0);
    assert_int_equal(must_find(t, ENT_WORK_ORDER, "8001")->status, WO_ON_HOLD);
    /* deletions and unrelated events are ignored */
    ts_reset(t);
    assert_int_equal(
        buildium_adapter.webhook_apply(A, "Vendor.Updated", "{\"VendorId\":501}", &t->s, &e), 0);
    assert_int_equal(t->nev, 0);
    ts_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_table),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_full_pull),
        cmocka_unit_test(test_push_reply),
        cmocka_unit_test(test_push_dropped_then_find),
        cmocka_unit_test(test_wo_status_round_trip),
        cmocka_unit_test(test_webhook_verify),
        cmocka_unit_test(test_webhook_apply_message),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
