/* test_pmsim_hostaway.c - pmsim's Hostaway dialect, driven over real HTTP.
 *
 * Run: PMSIM_BIN=$PWD/pmsim build/tests/integration/test_pmsim_hostaway (from the top of the
 * tree, or with PORTER_TOP set; the demo fixture is data/demo/hostaway.json).
 *
 * Most tests share one pmsim (demo fixture, rate limiter off, one token minted and aged past
 * its first second); tests that need other flags or a pristine world start their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "simctl.h"

#define CLIENT_ID     "10450"
#define CLIENT_SECRET "c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d"
#define RATE_MSG_PART "exceeded the rate limits"

struct sim {
    struct simproc p;
    char token[4096];
};

static struct sim shared;
static struct sim local;    /* a test's own pmsim: killed by the teardown even on failure */
static struct receiver *rv; /* a test's webhook receiver, likewise */
static char data_dir[1024];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *url(const struct sim *s, const char *path)
{
    static char buf[4][8192];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "http://127.0.0.1:%d%s", s->p.port[0], path);
    return buf[k];
}

/* Spawn pmsim: --account hostaway:0 plus extra flags (NULL-terminated). */
static int spawn(struct sim *s, const char *const *extra)
{
    const char *argv[40] = {"--account", "hostaway:0"};
    int n = 2;
    for (int i = 0; extra && extra[i] && n < 39; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    memset(s, 0, sizeof(*s));
    return sim_spawn(&s->p, argv);
}

static long mint_raw(const struct sim *s, const char *form, struct http_result *r)
{
    static const char *const h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    http_do("POST", url(s, "/v1/accessTokens"), h, form, r);
    return r->status;
}

/* Mint a token into s->token; wait past its first second when `age`. */
static void mint(struct sim *s, int age)
{
    struct http_result r;
    long st = mint_raw(s,
                       "grant_type=client_credentials&client_id=" CLIENT_ID
                       "&client_secret=" CLIENT_SECRET "&scope=general",
                       &r);
    assert_int_equal(st, 200);
    cJSON *j = cJSON_Parse(r.body);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "access_token");
    assert_true(cJSON_IsString(t));
    snprintf(s->token, sizeof(s->token), "%s", t->valuestring);
    cJSON_Delete(j);
    http_result_free(&r);
    if (age)
        sleep_ms(1100);
}

/* An authorized API call; returns the status, the parsed body in *out (may be NULL). */
static long api(const struct sim *s, const char *method, const char *path, const char *body,
                cJSON **out)
{
    char auth[4200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s->token);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    struct http_result r;
    http_do(method, url(s, path), h, body, &r);
    long st = r.status;
    if (out)
        *out = cJSON_Parse(r.body);
    http_result_free(&r);
    return st;
}

static long raw(const struct sim *s, const char *method, const char *path, const char *const *h,
                const char *body, struct http_result *r)
{
    http_do(method, url(s, path), h, body, r);
    return r->status;
}

static cJSON *control(const struct sim *s, const char *method, const char *path, const char *body)
{
    struct http_result r;
    http_do(method, url(s, path), NULL, body, &r);
    assert_int_equal(r.status, 200);
    cJSON *j = cJSON_Parse(r.body);
    http_result_free(&r);
    assert_non_null(j);
    return j;
}

static void faults(const struct sim *s, const char *json)
{
    cJSON_Delete(control(s, "POST", "/_sim/faults", json));
}

static void inject_ok(const struct sim *s, const char *json)
{
    cJSON_Delete(control(s, "POST", "/_sim/inject", json));
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static const cJSON *jget(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_non_null(v);
    return v;
}

/* {"status":"fail", key: "<text>"} and nothing else */
static void assert_fail_body(const cJSON *j, const char *key)
{
    assert_non_null(j);
    assert_string_equal(jstr(j, "status"), "fail");
    assert_true(strlen(jstr(j, key)) > 0);
    assert_int_equal(cJSON_GetArraySize(j), 2);
}

static int writes_count(const struct sim *s)
{
    cJSON *w = control(s, "GET", "/_sim/writes", NULL);
    int n = cJSON_GetArraySize(w);
    cJSON_Delete(w);
    return n;
}

static cJSON *state(const struct sim *s, const char *coll)
{
    char path[128];
    snprintf(path, sizeof(path), "/_sim/state?collection=%s", coll);
    return control(s, "GET", path, NULL);
}

static cJSON *find_by_id(const cJSON *arr, double id)
{
    cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (cJSON_IsNumber(v) && v->valuedouble == id)
            return e;
    }
    return NULL;
}

/* ---- setup ---- */

static int group_setup(void **st)
{
    (void)st;
    const char *top = getenv("PORTER_TOP");
    snprintf(data_dir, sizeof(data_dir), "%s/data/demo", top ? top : ".");
    const char *extra[] = {"--seed", "7", "--data", data_dir, "--fault", "rate_limit_off=1", NULL};
    if (spawn(&shared, extra) != 0)
        return -1;
    mint(&shared, 1);
    return 0;
}

static int test_teardown(void **st)
{
    (void)st;
    sim_kill(&local.p);
    receiver_stop(&rv);
    return 0;
}

static int group_teardown(void **st)
{
    (void)st;
    sim_kill(&shared.p);
    return 0;
}

/* ---- auth ---- */

static void test_auth(void **st)
{
    (void)st;
    const char *extra[] = {"--data", data_dir, "--fault", "rate_limit_off=1", NULL};
    assert_int_equal(spawn(&local, extra), 0);
    struct http_result r;
    cJSON *j;

    /* good credentials: the documented unwrapped answer */
    assert_int_equal(mint_raw(&local,
                              "grant_type=client_credentials&client_id=" CLIENT_ID
                              "&client_secret=" CLIENT_SECRET "&scope=general",
                              &r),
                     200);
    j = cJSON_Parse(r.body);
    assert_string_equal(jstr(j, "token_type"), "Bearer");
    assert_int_equal((int)jnum(j, "expires_in"), 15897600);
    assert_true(strlen(jstr(j, "access_token")) > 40);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "status"));
    snprintf(local.token, sizeof(local.token), "%s", jstr(j, "access_token"));
    cJSON_Delete(j);
    http_result_free(&r);

    /* used at once: not valid for its first second */
    assert_int_equal(api(&local, "GET", "/v1/listings", NULL, &j), 403);
    assert_fail_body(j, "message");
    cJSON_Delete(j);
    sleep_ms(1100);
    assert_int_equal(api(&local, "GET", "/v1/listings", NULL, &j), 200);
    assert_string_equal(jstr(j, "status"), "success");
    cJSON_Delete(j);

    /* bad secret, bad grant type: 403 with the fail body (UNCONFIRMED status) */
    assert_int_equal(mint_raw(&local,
                              "grant_type=client_credentials&client_id=" CLIENT_ID
                              "&client_secret=wrong&scope=general",
                              &r),
                     403);
    j = cJSON_Parse(r.body);
    assert_fail_body(j, "message");
    cJSON_Delete(j);
    http_result_free(&r);
    assert_int_equal(mint_raw(&local,
                              "grant_type=password&client_id=" CLIENT_ID
                              "&client_secret=" CLIENT_SECRET "&scope=general",
                              &r),
                     403);
    http_result_free(&r);

    /* missing and forged tokens */
    assert_int_equal(raw(&local, "GET", "/v1/reservations", NULL, NULL, &r), 403);
    j = cJSON_Parse(r.body);
    assert_fail_body(j, "message");
    cJSON_Delete(j);
    http_result_free(&r);
    const char *forged[] = {"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged", NULL};
    assert_int_equal(raw(&local, "GET", "/v1/reservations", forged, NULL, &r), 403);
    j = cJSON_Parse(r.body);
    assert_fail_body(j, "message");
    cJSON_Delete(j);
    http_result_free(&r);

    /* expired */
    inject_ok(&local, "{\"kind\":\"expire_tokens\"}");
    assert_int_equal(api(&local, "GET", "/v1/listings", NULL, &j), 403);
    assert_string_equal(jstr(j, "message"), "Token expired");
    cJSON_Delete(j);

    /* revoke */
    mint(&local, 1);
    char path[4200];
    snprintf(path, sizeof(path), "/v1/accessTokens?token=%s", local.token);
    assert_int_equal(raw(&local, "DELETE", path, NULL, NULL, &r), 200);
    assert_string_equal(r.body, "{\"status\":\"success\",\"result\":[]}");
    http_result_free(&r);
    assert_int_equal(api(&local, "GET", "/v1/listings", NULL, NULL), 403);

    /* the UNCONFIRMED wrapped token answer, switched on */
    inject_ok(&local, "{\"kind\":\"config\",\"wrap_token\":true}");
    assert_int_equal(mint_raw(&local,
                              "grant_type=client_credentials&client_id=" CLIENT_ID
                              "&client_secret=" CLIENT_SECRET "&scope=general",
                              &r),
                     200);
    j = cJSON_Parse(r.body);
    assert_string_equal(jstr(j, "status"), "success");
    assert_string_equal(jstr(jget(j, "result"), "token_type"), "Bearer");
    assert_true(strlen(jstr(jget(j, "result"), "access_token")) > 40);
    cJSON_Delete(j);
    http_result_free(&r);

    cJSON *h = control(&local, "GET", "/_sim/health", NULL);
    assert_int_equal((int)jnum(h, "tokens_minted"), 3);
    cJSON_Delete(h);
    sim_kill(&local.p);
}

/* ---- paging ---- */

static void test_paging_offset(void **st)
{
    (void)st;
    cJSON *seen = cJSON_CreateObject();
    int total = 0, pages = 0;
    for (int offset = 0;; offset += 7) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/reservations?limit=7&offset=%d", offset);
        cJSON *j;
        assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
        assert_string_equal(jstr(j, "status"), "success");
        assert_int_equal((int)jnum(j, "count"), 30);
        assert_int_equal((int)jnum(j, "limit"), 7);
        assert_int_equal((int)jnum(j, "offset"), offset);
        assert_int_equal((int)jnum(j, "page"), offset / 7 + 1);
        assert_int_equal((int)jnum(j, "totalPages"), 5);
        const cJSON *res = jget(j, "result"), *r;
        int n = cJSON_GetArraySize(res);
        assert_true(n <= 7);
        cJSON_ArrayForEach(r, res)
        {
            char key[32];
            snprintf(key, sizeof(key), "%.0f", jnum(r, "id"));
            assert_null(cJSON_GetObjectItemCaseSensitive(seen, key));
            cJSON_AddTrueToObject(seen, key);
            total++;
        }
        cJSON_Delete(j);
        if (n == 0)
            break;
        pages++;
        assert_true(pages < 10);
    }
    assert_int_equal(total, 30);
    assert_int_equal(pages, 5);
    cJSON_Delete(seen);

    /* default limit 100 on reservations; limit/offset null on lists that got none */
    cJSON *j;
    assert_int_equal(api(&shared, "GET", "/v1/reservations", NULL, &j), 200);
    assert_int_equal((int)jnum(j, "limit"), 100);
    assert_int_equal(cJSON_GetArraySize(jget(j, "result")), 30);
    cJSON_Delete(j);
    assert_int_equal(api(&shared, "GET", "/v1/listings", NULL, &j), 200);
    assert_true(cJSON_IsNull(jget(j, "limit")));
    assert_true(cJSON_IsNull(jget(j, "offset")));
    assert_int_equal((int)jnum(j, "count"), 6);
    cJSON_Delete(j);

    /* page size and offset are validated */
    static const char *const bad[] = {"/v1/reservations?limit=0", "/v1/reservations?limit=abc",
                                      "/v1/tasks?offset=-1", "/v1/conversations?limit=-5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(api(&shared, "GET", bad[i], NULL, &j), 400);
        assert_fail_body(j, "result");
        cJSON_Delete(j);
    }
}

static void test_paging_after_id(void **st)
{
    (void)st;
    double last = 0;
    int total = 0, pages = 0;
    for (;;) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/reservations?limit=7&afterId=%.0f&offset=20", last);
        cJSON *j;
        assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
        const cJSON *res = jget(j, "result"), *r;
        int n = cJSON_GetArraySize(res);
        cJSON_ArrayForEach(r, res)
        {
            assert_true(jnum(r, "id") > last); /* strictly ascending: no duplicates */
            last = jnum(r, "id");
            total++;
        }
        cJSON_Delete(j);
        if (n == 0)
            break; /* stop on the empty page, as the docs say */
        pages++;
        assert_true(pages < 10);
    }
    assert_int_equal(total, 30); /* offset=20 was ignored */
    assert_int_equal(pages, 5);
}

static void test_paging_conversations_messages(void **st)
{
    (void)st;
    int total = 0;
    cJSON *seen = cJSON_CreateObject();
    for (int offset = 0; offset < 40; offset += 8) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/conversations?limit=8&offset=%d", offset);
        cJSON *j;
        assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
        assert_int_equal((int)jnum(j, "count"), 30);
        assert_int_equal((int)jnum(j, "totalPages"), 4);
        const cJSON *c;
        cJSON_ArrayForEach(c, jget(j, "result"))
        {
            char key[32];
            snprintf(key, sizeof(key), "%.0f", jnum(c, "id"));
            assert_null(cJSON_GetObjectItemCaseSensitive(seen, key));
            cJSON_AddTrueToObject(seen, key);
            assert_int_equal(cJSON_GetArraySize(jget(c, "conversationMessages")), 1);
            assert_true(cJSON_IsObject(jget(c, "Reservation")));
            assert_true(jnum(jget(c, "Reservation"), "id") == jnum(c, "reservationId"));
            total++;
        }
        cJSON_Delete(j);
    }
    assert_int_equal(total, 30);
    cJSON_Delete(seen);

    /* a conversation with a scheduled message: hidden unless includeScheduledMessages=1 */
    cJSON *msgs = state(&shared, "messages"), *m, *sched = NULL;
    cJSON_ArrayForEach(m, msgs)
    {
        if (strcmp(jstr(m, "status"), "awaiting") == 0) {
            sched = m;
            break;
        }
    }
    assert_non_null(sched);
    double conv = jnum(sched, "conversationId");
    int in_state = 0;
    cJSON_ArrayForEach(m, msgs)
    {
        in_state += jnum(m, "conversationId") == conv;
    }
    cJSON_Delete(msgs);
    char path[160];
    cJSON *j;
    snprintf(path, sizeof(path), "/v1/conversations/%.0f/messages", conv);
    assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
    assert_int_equal((int)jnum(j, "count"), in_state - 1);
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/v1/conversations/%.0f/messages?includeScheduledMessages=1",
             conv);
    assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
    assert_int_equal((int)jnum(j, "count"), in_state);
    cJSON_Delete(j);
    /* walk one by one, newest first */
    char prev[32] = "9999";
    for (int off = 0; off < in_state - 1; off++) {
        snprintf(path, sizeof(path), "/v1/conversations/%.0f/messages?limit=1&offset=%d", conv,
                 off);
        assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
        const cJSON *one = cJSON_GetArrayItem(jget(j, "result"), 0);
        assert_non_null(one);
        assert_true(strcmp(jstr(one, "date"), prev) <= 0);
        snprintf(prev, sizeof(prev), "%s", jstr(one, "date"));
        cJSON_Delete(j);
    }
}

/* ---- updated-since ---- */

static void test_updated_since(void **st)
{
    (void)st;
    cJSON *convs = state(&shared, "conversations");
    const cJSON *c = cJSON_GetArrayItem(convs, 4);
    double conv = jnum(c, "id"), resv = jnum(c, "reservationId");
    cJSON_Delete(convs);
    char ev[160];
    snprintf(ev, sizeof(ev), "{\"kind\":\"message\",\"conversationId\":%.0f,\"body\":\"hej\"}",
             conv);
    inject_ok(&shared, ev);
    cJSON *rs = state(&shared, "reservations");
    char since[32];
    snprintf(since, sizeof(since), "%s", jstr(find_by_id(rs, resv), "latestActivityOn"));
    int expect = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rs)
    {
        expect += strcmp(jstr(r, "latestActivityOn"), since) >= 0;
    }
    cJSON_Delete(rs);
    assert_true(expect >= 1);

    char path[256], enc[64];
    snprintf(enc, sizeof(enc), "%.10s%%20%s", since, since + 11);
    snprintf(path, sizeof(path), "/v1/reservations?latestActivityStart=%s", enc);
    cJSON *j;
    assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
    assert_int_equal((int)jnum(j, "count"), expect);
    int found = 0;
    cJSON_ArrayForEach(r, jget(j, "result"))
    {
        assert_true(strcmp(jstr(r, "latestActivityOn"), since) >= 0);
        found += jnum(r, "id") == resv;
    }
    assert_int_equal(found, 1);
    cJSON_Delete(j);
    /* the end bound excludes it */
    snprintf(path, sizeof(path), "/v1/reservations?latestActivityEnd=2000-01-01");
    assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
    assert_int_equal((int)jnum(j, "count"), 0);
    cJSON_Delete(j);

    /* sortOrder=updatedOn is ascending */
    assert_int_equal(api(&shared, "GET", "/v1/reservations?sortOrder=updatedOn", NULL, &j), 200);
    char prev[32] = "";
    cJSON_ArrayForEach(r, jget(j, "result"))
    {
        assert_true(strcmp(jstr(r, "updatedOn"), prev) >= 0);
        snprintf(prev, sizeof(prev), "%s", jstr(r, "updatedOn"));
    }
    cJSON_Delete(j);

    /* conversations and messages have no updated-since filter: the parameter is ignored */
    snprintf(path, sizeof(path), "/v1/conversations?latestActivityStart=%s&updatedSince=%s", enc,
             enc);
    assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
    assert_int_equal((int)jnum(j, "count"), 30);
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/v1/conversations/%.0f/messages", conv);
    assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
    int all = (int)jnum(j, "count");
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/v1/conversations/%.0f/messages?since=%s&latestActivityStart=%s",
             conv, enc, enc);
    assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
    assert_int_equal((int)jnum(j, "count"), all);
    assert_true(all > 1);
    cJSON_Delete(j);
}

/* ---- writes ---- */

static void test_write_message(void **st)
{
    (void)st;
    cJSON_Delete(control(&shared, "POST", "/_sim/writes/clear", NULL));
    cJSON *convs = state(&shared, "conversations");
    double conv = jnum(cJSON_GetArrayItem(convs, 2), "id");
    cJSON_Delete(convs);
    char path[128];
    snprintf(path, sizeof(path), "/v1/conversations/%.0f/messages", conv);
    cJSON *j;
    assert_int_equal(
        api(&shared, "POST", path, "{\"body\":\"Hej Søren — door code is 4711 🔑\"}", &j), 200);
    assert_string_equal(jstr(j, "status"), "success");
    const cJSON *m = jget(j, "result");
    double id = jnum(m, "id");
    assert_string_equal(jstr(m, "body"), "Hej Søren — door code is 4711 🔑");
    assert_string_equal(jstr(m, "communicationType"), "email"); /* the default */
    assert_string_equal(jstr(m, "status"), "sent");
    assert_int_equal((int)jnum(m, "isIncoming"), 0);
    assert_true(jnum(m, "conversationId") == conv);
    assert_int_equal((int)jnum(m, "accountId"), 10450);
    assert_int_equal((int)strlen(jstr(m, "date")), 19);
    cJSON_Delete(j);

    /* sms explicitly */
    assert_int_equal(
        api(&shared, "POST", path, "{\"body\":\"On our way\",\"communicationType\":\"sms\"}", &j),
        200);
    assert_string_equal(jstr(jget(j, "result"), "communicationType"), "sms");
    cJSON_Delete(j);

    /* rejected: no body, unknown type, malformed JSON, unknown conversation */
    assert_int_equal(api(&shared, "POST", path, "{\"communicationType\":\"email\"}", &j), 400);
    assert_fail_body(j, "result");
    cJSON_Delete(j);
    assert_int_equal(
        api(&shared, "POST", path, "{\"body\":\"x\",\"communicationType\":\"fax\"}", &j), 400);
    assert_fail_body(j, "result");
    cJSON_Delete(j);
    assert_int_equal(api(&shared, "POST", path, "{\"body\": \"x\"", &j), 400);
    assert_fail_body(j, "result");
    cJSON_Delete(j);
    assert_int_equal(api(&shared, "POST", "/v1/conversations/1/messages", "{\"body\":\"x\"}", &j),
                     404);
    assert_fail_body(j, "message");
    cJSON_Delete(j);

    cJSON *w = control(&shared, "GET", "/_sim/writes", NULL);
    assert_int_equal(cJSON_GetArraySize(w), 2);
    const cJSON *w0 = cJSON_GetArrayItem(w, 0);
    assert_string_equal(jstr(w0, "method"), "POST");
    assert_string_equal(jstr(w0, "path"), path);
    assert_string_equal(jstr(jget(w0, "body"), "body"), "Hej Søren — door code is 4711 🔑");
    cJSON_Delete(w);

    cJSON *msgs = state(&shared, "messages");
    const cJSON *stored = find_by_id(msgs, id);
    assert_non_null(stored);
    assert_int_equal((int)jnum(stored, "isIncoming"), 0);
    cJSON_Delete(msgs);
    /* and it is the conversation's latest message */
    snprintf(path, sizeof(path), "/v1/conversations/%.0f/messages?limit=1", conv);
    assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
    assert_string_equal(jstr(cJSON_GetArrayItem(jget(j, "result"), 0), "body"), "On our way");
    cJSON_Delete(j);
}

static void test_write_task(void **st)
{
    (void)st;
    cJSON_Delete(control(&shared, "POST", "/_sim/writes/clear", NULL));
    cJSON *j;
    assert_int_equal(api(&shared, "POST", "/v1/tasks",
                         "{\"title\":\"Fix leaking tap\",\"categoriesMap\":[2],"
                         "\"listingMapId\":40162,\"assigneeUserId\":7001,\"priority\":3}",
                         &j),
                     200);
    assert_string_equal(jstr(j, "status"), "success");
    const cJSON *t = jget(j, "result");
    double id = jnum(t, "id");
    assert_string_equal(jstr(t, "title"), "Fix leaking tap");
    assert_string_equal(jstr(t, "status"), "pending");
    assert_int_equal(cJSON_GetArraySize(jget(t, "categoriesMap")), 1);
    assert_int_equal(cJSON_GetArrayItem(jget(t, "categoriesMap"), 0)->valueint, 2);
    assert_int_equal((int)jnum(t, "assigneeUserId"), 7001);
    assert_true(cJSON_IsNull(jget(t, "startedAt")));
    cJSON_Delete(j);

    char path[64];
    snprintf(path, sizeof(path), "/v1/tasks/%.0f", id);
    /* partial update keeps the other fields */
    assert_int_equal(api(&shared, "PUT", path, "{\"status\":\"inProgress\"}", &j), 200);
    t = jget(j, "result");
    assert_string_equal(jstr(t, "status"), "inProgress");
    assert_string_equal(jstr(t, "title"), "Fix leaking tap");
    assert_int_equal((int)jnum(t, "priority"), 3);
    assert_int_equal((int)strlen(jstr(t, "startedAt")), 19);
    cJSON_Delete(j);
    assert_int_equal(api(&shared, "GET", path, NULL, &j), 200);
    assert_string_equal(jstr(jget(j, "result"), "status"), "inProgress");
    cJSON_Delete(j);

    /* rejected: bad status, missing title, malformed JSON, unknown task */
    assert_int_equal(api(&shared, "PUT", path, "{\"status\":\"in progress\"}", &j), 400);
    assert_fail_body(j, "result");
    cJSON_Delete(j);
    assert_int_equal(api(&shared, "POST", "/v1/tasks", "{\"categoriesMap\":[2]}", &j), 400);
    assert_fail_body(j, "result");
    cJSON_Delete(j);
    assert_int_equal(api(&shared, "POST", "/v1/tasks", "not json", &j), 400);
    assert_fail_body(j, "result");
    cJSON_Delete(j);
    assert_int_equal(api(&shared, "PUT", "/v1/tasks/1", "{\"status\":\"completed\"}", &j), 404);
    assert_fail_body(j, "message");
    cJSON_Delete(j);

    cJSON *tasks = state(&shared, "tasks");
    assert_string_equal(jstr(find_by_id(tasks, id), "status"), "inProgress");
    cJSON_Delete(tasks);

    assert_int_equal(api(&shared, "DELETE", path, NULL, &j), 200);
    assert_string_equal(jstr(j, "status"), "success");
    cJSON_Delete(j);
    assert_int_equal(api(&shared, "GET", path, NULL, NULL), 404);

    cJSON *w = control(&shared, "GET", "/_sim/writes", NULL);
    assert_int_equal(cJSON_GetArraySize(w), 3);
    assert_string_equal(jstr(cJSON_GetArrayItem(w, 0), "what"), "task.create");
    assert_string_equal(jstr(cJSON_GetArrayItem(w, 1), "what"), "task.update");
    assert_string_equal(jstr(cJSON_GetArrayItem(w, 2), "what"), "task.delete");
    assert_string_equal(jstr(cJSON_GetArrayItem(w, 1), "path"), path);
    cJSON_Delete(w);
}

static void test_write_reservation_status(void **st)
{
    (void)st;
    cJSON_Delete(control(&shared, "POST", "/_sim/writes/clear", NULL));
    cJSON *cfg = state(&shared, "_hostaway");
    const cJSON *lk = cJSON_GetArrayItem(jget(cfg, "locked"), 0);
    assert_true(cJSON_IsNumber(lk));
    double locked = lk->valuedouble;
    cJSON_Delete(cfg);
    cJSON *rs = state(&shared, "reservations");
    double id = 0;
    char before[32] = "";
    const cJSON *r;
    cJSON_ArrayForEach(r, rs)
    {
        if (jnum(r, "id") != locked && strcmp(jstr(r, "status"), "new") == 0) {
            id = jnum(r, "id");
            snprintf(before, sizeof(before), "%s", jstr(r, "updatedOn"));
            break;
        }
    }
    cJSON_Delete(rs);
    assert_true(id > 0);
    char path[64];
    snprintf(path, sizeof(path), "/v1/reservations/%.0f", id);
    cJSON *j;
    assert_int_equal(api(&shared, "PUT", path, "{\"status\":\"cancelled\"}", &j), 200);
    assert_string_equal(jstr(j, "status"), "success");
    r = jget(j, "result");
    assert_string_equal(jstr(r, "status"), "cancelled");
    assert_string_equal(jstr(r, "cancelledBy"), "host");
    assert_true(strcmp(jstr(r, "updatedOn"), before) > 0);
    cJSON_Delete(j);
    assert_int_equal(api(&shared, "PUT", path, "{\"status\":\"bogus\"}", &j), 400);
    assert_fail_body(j, "result");
    cJSON_Delete(j);
    assert_int_equal(api(&shared, "PUT", path, "{oops", &j), 400);
    assert_fail_body(j, "result");
    cJSON_Delete(j);

    /* a channel-managed reservation: the overloaded 403 */
    snprintf(path, sizeof(path), "/v1/reservations/%.0f", locked);
    assert_int_equal(api(&shared, "PUT", path, "{\"status\":\"cancelled\"}", &j), 403);
    assert_fail_body(j, "message");
    cJSON_Delete(j);

    assert_int_equal(writes_count(&shared), 1);
    rs = state(&shared, "reservations");
    assert_string_equal(jstr(find_by_id(rs, id), "status"), "cancelled");
    assert_string_equal(jstr(find_by_id(rs, locked), "status"), "ownerStay");
    cJSON_Delete(rs);
}

static void test_not_found(void **st)
{
    (void)st;
    static const char *const paths[] = {"/v1/nope", "/v1/reservations/999999999",
                                        "/v1/conversations/abc", "/v2/listings",
                                        "/v1/listings/1/x/y/z/w"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        cJSON *j;
        assert_int_equal(api(&shared, "GET", paths[i], NULL, &j), 404);
        assert_non_null(j);
        assert_string_equal(jstr(j, "status"), "fail");
        assert_string_equal(jstr(j, "message"), "Not found");
        cJSON_Delete(j);
    }
}

/* ---- faults ---- */

static void test_drop_after_write(void **st)
{
    (void)st;
    cJSON_Delete(control(&shared, "POST", "/_sim/writes/clear", NULL));
    faults(&shared, "{\"drop_after_write\":1}");
    cJSON *j = NULL;
    long status = api(&shared, "POST", "/v1/tasks", "{\"title\":\"Dropped answer task\"}", &j);
    cJSON_Delete(j);
    faults(&shared, "{\"drop_after_write\":0}");
    assert_int_equal(status, 0); /* applied, never answered */
    cJSON *w = control(&shared, "GET", "/_sim/writes", NULL);
    assert_int_equal(cJSON_GetArraySize(w), 1);
    assert_string_equal(jstr(jget(cJSON_GetArrayItem(w, 0), "body"), "title"),
                        "Dropped answer task");
    cJSON_Delete(w);
    cJSON *tasks = state(&shared, "tasks");
    int n = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tasks)
    {
        n += strcmp(jstr(t, "title"), "Dropped answer task") == 0;
    }
    cJSON_Delete(tasks);
    assert_int_equal(n, 1);
}

static void test_drift(void **st)
{
    (void)st;
    faults(&shared, "{\"drift_from\":\"guestName\",\"drift_to\":\"guest_name\"}");
    cJSON *j;
    long status = api(&shared, "GET", "/v1/reservations?limit=3", NULL, &j);
    faults(&shared, "{\"drift_from\":\"\",\"drift_to\":\"\"}");
    assert_int_equal(status, 200);
    const cJSON *r;
    int n = 0;
    cJSON_ArrayForEach(r, jget(j, "result"))
    {
        assert_null(cJSON_GetObjectItemCaseSensitive(r, "guestName"));
        assert_true(strlen(jstr(r, "guest_name")) > 0);
        n++;
    }
    assert_int_equal(n, 3);
    cJSON_Delete(j);
    assert_int_equal(api(&shared, "GET", "/v1/reservations?limit=1", NULL, &j), 200);
    r = cJSON_GetArrayItem(jget(j, "result"), 0);
    assert_true(strlen(jstr(r, "guestName")) > 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(r, "guest_name"));
    cJSON_Delete(j);
}

static void assert_429(const struct http_result *r, int want_retry_after)
{
    assert_int_equal(r->status, 429);
    cJSON *j = cJSON_Parse(r->body);
    assert_fail_body(j, "message");
    assert_non_null(strstr(jstr(j, "message"), RATE_MSG_PART));
    assert_true(strncmp(jstr(j, "message"), "This error occurs because", 25) == 0);
    cJSON_Delete(j);
    char v[64];
    assert_int_equal(http_header(r, "X-RateLimit-Limit", v, sizeof(v)), -1);
    assert_int_equal(http_header(r, "X-RateLimit-Remaining", v, sizeof(v)), -1);
    if (want_retry_after) {
        assert_int_equal(http_header(r, "Retry-After", v, sizeof(v)), 0);
        assert_string_equal(v, "10");
    } else {
        assert_int_equal(http_header(r, "Retry-After", v, sizeof(v)), -1);
    }
}

static void test_rate_limit(void **st)
{
    (void)st;
    assert_int_equal(spawn(&local, NULL), 0);
    struct http_result r;
    /* 15 requests per 10 s per IP: the 16th is refused (auth comes after the limiter) */
    for (int i = 0; i < 15; i++) {
        assert_int_equal(raw(&local, "GET", "/v1/listings", NULL, NULL, &r), 403);
        http_result_free(&r);
    }
    raw(&local, "GET", "/v1/listings", NULL, NULL, &r);
    assert_429(&r, 0);
    http_result_free(&r);
    /* the control API is never limited */
    cJSON_Delete(control(&local, "GET", "/_sim/health", NULL));
    sim_kill(&local.p);

    /* a storm, then with the UNCONFIRMED Retry-After switched on */
    const char *extra[] = {"--fault", "rate_limit_off=1", NULL};
    assert_int_equal(spawn(&local, extra), 0);
    faults(&local, "{\"storm_s\":5}");
    raw(&local, "POST", "/v1/accessTokens", NULL, "grant_type=client_credentials", &r);
    assert_429(&r, 0);
    http_result_free(&r);
    inject_ok(&local, "{\"kind\":\"config\",\"retry_after\":1}");
    raw(&local, "GET", "/v1/reservations", NULL, NULL, &r);
    assert_429(&r, 1);
    http_result_free(&r);
    faults(&local, "{\"storm_s\":0}");
    assert_int_equal(raw(&local, "GET", "/v1/reservations", NULL, NULL, &r), 403);
    http_result_free(&r);
    sim_kill(&local.p);
}

/* ---- webhooks ---- */

/* Independent check of HTTP Basic auth: "Basic " + base64(user ":" pass). */
static int basic_ok(const char *header, const char *user, const char *pass)
{
    char plain[256], enc[400];
    int n = snprintf(plain, sizeof(plain), "%s:%s", user, pass);
    EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)plain, n);
    char want[420];
    snprintf(want, sizeof(want), "Basic %s", enc);
    return header && strcmp(header, want) == 0;
}

static void test_webhook_basic_auth(void **st)
{
    (void)st;
    rv = receiver_start(200);
    assert_non_null(rv);
    char hook[128];
    snprintf(hook, sizeof(hook), "http://127.0.0.1:%d/hooks/{dialect}", receiver_port(rv));
    const char *extra[] = {"--data",
                           data_dir,
                           "--fault",
                           "rate_limit_off=1",
                           "--webhook-url",
                           hook,
                           "--webhook-secret",
                           "hostaway=porter:s3cr3t ü",
                           NULL};
    assert_int_equal(spawn(&local, extra), 0);
    cJSON *convs = state(&local, "conversations");
    double conv = jnum(cJSON_GetArrayItem(convs, 0), "id");
    cJSON_Delete(convs);
    char ev[200];
    snprintf(ev, sizeof(ev),
             "{\"kind\":\"message\",\"conversationId\":%.0f,\"body\":\"Kein heißes Wasser 🚿\"}",
             conv);
    inject_ok(&local, ev);
    assert_int_equal(receiver_wait(rv, 1, 5000), 1);
    const char *auth = receiver_header(rv, 0, "Authorization");
    assert_true(basic_ok(auth, "porter", "s3cr3t ü"));
    /* negative checks: wrong password, tampered header */
    assert_false(basic_ok(auth, "porter", "s3cr3t"));
    char tampered[256];
    snprintf(tampered, sizeof(tampered), "%s", auth);
    tampered[strlen(tampered) - 2] ^= 1;
    assert_false(basic_ok(tampered, "porter", "s3cr3t ü"));
    /* Basic auth does not cover the body (Hostaway has no body signature): the payload is
     * checked for shape instead */
    cJSON *p = cJSON_Parse(receiver_body(rv, 0));
    assert_string_equal(jstr(p, "object"), "conversationMessage");
    assert_string_equal(jstr(p, "event"), "message.received");
    assert_int_equal((int)jnum(p, "accountId"), 10450);
    const cJSON *d = jget(p, "data");
    assert_string_equal(jstr(d, "body"), "Kein heißes Wasser 🚿");
    assert_int_equal((int)jnum(d, "isIncoming"), 1);
    assert_true(jnum(d, "conversationId") == conv);
    assert_int_equal(cJSON_GetArraySize(p), 4);
    cJSON_Delete(p);

    /* a new reservation -> reservation.created */
    inject_ok(&local, "{\"kind\":\"reservation\",\"listingMapId\":40162,\"channelId\":2005,"
                      "\"guestFirstName\":\"Åsa\",\"guestLastName\":\"Lindgren\","
                      "\"arrivalDate\":\"2030-02-01\",\"departureDate\":\"2030-02-04\"}");
    assert_int_equal(receiver_wait(rv, 2, 5000), 2);
    p = cJSON_Parse(receiver_body(rv, 1));
    assert_string_equal(jstr(p, "object"), "reservation");
    assert_string_equal(jstr(p, "event"), "reservation.created");
    d = jget(p, "data");
    assert_string_equal(jstr(d, "guestName"), "Åsa Lindgren");
    assert_int_equal((int)jnum(d, "channelId"), 2005);
    assert_int_equal((int)jnum(d, "listingMapId"), 40162);
    assert_string_equal(jstr(d, "arrivalDate"), "2030-02-01");
    double rid = jnum(d, "id");
    cJSON_Delete(p);
    assert_true(basic_ok(receiver_header(rv, 1, "Authorization"), "porter", "s3cr3t ü"));

    /* a client write -> reservation.updated */
    mint(&local, 1);
    char path[64];
    snprintf(path, sizeof(path), "/v1/reservations/%.0f", rid);
    assert_int_equal(api(&local, "PUT", path, "{\"numberOfGuests\":3}", NULL), 200);
    assert_int_equal(receiver_wait(rv, 3, 5000), 3);
    p = cJSON_Parse(receiver_body(rv, 2));
    assert_string_equal(jstr(p, "event"), "reservation.updated");
    assert_int_equal((int)jnum(jget(p, "data"), "numberOfGuests"), 3);
    cJSON_Delete(p);
    sim_kill(&local.p);
    receiver_stop(&rv);
}

static void test_webhook_retries(void **st)
{
    (void)st;
    rv = receiver_start(500);
    assert_non_null(rv);
    char hook[128];
    snprintf(hook, sizeof(hook), "http://127.0.0.1:%d/h", receiver_port(rv));
    const char *extra[] = {"--data", data_dir, "--webhook-url", hook, "--time-factor",
                           "0.001",  NULL};
    assert_int_equal(spawn(&local, extra), 0);
    inject_ok(&local, "{\"kind\":\"message\",\"body\":\"retry me\"}");
    /* 1 attempt + 3 retries at 60 s, 600 s, 3000 s (x0.001) */
    assert_int_equal(receiver_wait(rv, 4, 10000), 4);
    sleep_ms(1500);
    assert_int_equal(receiver_count(rv), 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(receiver_body(rv, i), receiver_body(rv, 0));
    cJSON *d = state(&local, "_deliveries");
    assert_int_equal(cJSON_GetArraySize(d), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal((int)jnum(cJSON_GetArrayItem(d, i), "attempt"), i + 1);
        assert_int_equal((int)jnum(cJSON_GetArrayItem(d, i), "status"), 500);
    }
    cJSON_Delete(d);
    /* a 4xx is permanent: not retried */
    receiver_set_status(rv, 400);
    inject_ok(&local, "{\"kind\":\"message\",\"body\":\"no retry\"}");
    assert_int_equal(receiver_wait(rv, 5, 5000), 5);
    sleep_ms(1500);
    assert_int_equal(receiver_count(rv), 5);
    sim_kill(&local.p);
    receiver_stop(&rv);
}

/* ---- scenario, inject, determinism ---- */

static char *run_and_dump(unsigned seed, int ticks)
{
    char sd[16], body[64];
    snprintf(sd, sizeof(sd), "%u", seed);
    const char *extra[] = {"--seed", sd, NULL};
    if (spawn(&local, extra) != 0)
        return NULL;
    snprintf(body, sizeof(body), "{\"ticks\":%d}", ticks);
    cJSON_Delete(control(&local, "POST", "/_sim/tick", body));
    struct http_result r;
    http_do("GET", url(&local, "/_sim/state"), NULL, NULL, &r);
    sim_kill(&local.p);
    free(r.headers);
    return r.body;
}

static void test_determinism(void **st)
{
    (void)st;
    for (int attempt = 0; attempt < 2; attempt++) {
        time_t day0 = time(NULL) / 86400;
        char *a = run_and_dump(42, 80), *b = run_and_dump(42, 80), *c = run_and_dump(43, 80);
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(c);
        int crossed = time(NULL) / 86400 != day0; /* the clock starts at UTC midnight */
        if (!crossed) {
            assert_true(strlen(a) > 1000);
            assert_string_equal(a, b);
            assert_string_not_equal(a, c);
        }
        free(a);
        free(b);
        free(c);
        if (!crossed)
            return;
    }
    fail_msg("crossed midnight twice");
}

static void test_scenario_ticks(void **st)
{
    (void)st;
    const char *extra[] = {"--seed", "5", "--data", data_dir, NULL};
    assert_int_equal(spawn(&local, extra), 0);
    cJSON *before = state(&local, "tasks");
    cJSON *msgs0 = state(&local, "messages");
    int nmsg0 = cJSON_GetArraySize(msgs0);
    cJSON_Delete(msgs0);
    cJSON_Delete(control(&local, "POST", "/_sim/tick", "{\"ticks\":400}"));
    cJSON *msgs = state(&local, "messages");
    int hostile = 0, longmsg = 0, nonascii = 0, emoji = 0;
    const cJSON *m;
    int i = 0;
    cJSON_ArrayForEach(m, msgs)
    {
        if (i++ < nmsg0)
            continue;
        const char *b = jstr(m, "body");
        hostile += strstr(b, "\x1b[2J\x1b]52;c;aGk=\x07") != NULL;
        longmsg += strlen(b) > 2000;
        for (const unsigned char *p = (const unsigned char *)b; *p; p++)
            if (*p >= 0x80) {
                nonascii++;
                break;
            }
        emoji += strstr(b, "\xf0\x9f") != NULL;
        assert_int_equal((int)jnum(m, "isIncoming"), 1);
    }
    assert_true(cJSON_GetArraySize(msgs) - nmsg0 > 150);
    assert_true(hostile > 0);
    assert_true(longmsg > 0);
    assert_true(nonascii > 0);
    assert_true(emoji > 0);
    cJSON_Delete(msgs);
    cJSON *rs = state(&local, "reservations");
    int cancelled = 0, modified = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rs)
    {
        cancelled += strcmp(jstr(r, "status"), "cancelled") == 0;
        modified += strcmp(jstr(r, "status"), "modified") == 0;
    }
    assert_true(cJSON_GetArraySize(rs) > 30);
    assert_true(cancelled > 2);
    assert_true(modified > 3);
    cJSON_Delete(rs);
    cJSON *after = state(&local, "tasks");
    int progressed = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, after)
    {
        const cJSON *o = find_by_id(before, jnum(t, "id"));
        progressed += o && strcmp(jstr(o, "status"), jstr(t, "status")) != 0;
    }
    assert_true(progressed > 0);
    cJSON_Delete(before);
    cJSON_Delete(after);
    sim_kill(&local.p);
}

static void test_inject(void **st)
{
    (void)st;
    const char *extra[] = {"--data", data_dir, NULL};
    assert_int_equal(spawn(&local, extra), 0);
    static const char *const bad[] = {
        "{\"kind\":\"earthquake\"}",
        "{\"kind\":\"message\",\"conversationId\":1}",
        "{\"kind\":\"message\",\"body\":42}",
        "{\"kind\":\"task_status\",\"id\":880101,\"status\":\"done\"}",
        "{\"kind\":\"task_status\",\"id\":1,\"status\":\"completed\"}",
        "{\"kind\":\"reservation\",\"listingMapId\":1}",
        "{\"kind\":\"reservation\",\"arrivalDate\":\"next week\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_result r;
        http_do("POST", url(&local, "/_sim/inject"), NULL, bad[i], &r);
        assert_int_equal(r.status, 400);
        cJSON *j = cJSON_Parse(r.body);
        assert_true(strlen(jstr(j, "error")) > 0);
        cJSON_Delete(j);
        http_result_free(&r);
    }
    inject_ok(&local, "{\"kind\":\"task_status\",\"id\":880101,\"status\":\"completed\"}");
    cJSON *tasks = state(&local, "tasks");
    const cJSON *t = find_by_id(tasks, 880101);
    assert_string_equal(jstr(t, "status"), "completed");
    assert_int_equal((int)strlen(jstr(t, "completedAt")), 19);
    cJSON_Delete(tasks);
    cJSON *rs = state(&local, "reservations");
    int n0 = cJSON_GetArraySize(rs);
    cJSON_Delete(rs);
    inject_ok(&local, "{\"kind\":\"reservation\"}");
    rs = state(&local, "reservations");
    assert_int_equal(cJSON_GetArraySize(rs), n0 + 1);
    cJSON_Delete(rs);
    sim_kill(&local.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_auth, test_teardown),
        cmocka_unit_test_teardown(test_paging_offset, test_teardown),
        cmocka_unit_test_teardown(test_paging_after_id, test_teardown),
        cmocka_unit_test_teardown(test_paging_conversations_messages, test_teardown),
        cmocka_unit_test_teardown(test_updated_since, test_teardown),
        cmocka_unit_test_teardown(test_write_message, test_teardown),
        cmocka_unit_test_teardown(test_write_task, test_teardown),
        cmocka_unit_test_teardown(test_write_reservation_status, test_teardown),
        cmocka_unit_test_teardown(test_not_found, test_teardown),
        cmocka_unit_test_teardown(test_drop_after_write, test_teardown),
        cmocka_unit_test_teardown(test_drift, test_teardown),
        cmocka_unit_test_teardown(test_rate_limit, test_teardown),
        cmocka_unit_test_teardown(test_webhook_basic_auth, test_teardown),
        cmocka_unit_test_teardown(test_webhook_retries, test_teardown),
        cmocka_unit_test_teardown(test_determinism, test_teardown),
        cmocka_unit_test_teardown(test_scenario_ticks, test_teardown),
        cmocka_unit_test_teardown(test_inject, test_teardown),
    };
    return cmocka_run_group_tests_name("pmsim_hostaway", tests, group_setup, group_teardown);
}
