/* test_adapter_guesty.c - adapters/guesty.c against pmsim's Guesty dialect.
 *
 * Run: PMSIM_BIN=$PWD/pmsim build/tests/integration/test_adapter_guesty (from the top of the
 * tree, or with PORTER_TOP set; the fixture is data/demo/guesty.json).
 *
 * One pmsim for the whole file: demo fixture, rate limiter off, --epoch now (so pmsim's
 * stamps and Svix timestamps are wall-clock times) and webhooks delivered to a receiver in
 * this process. The tests run in order and build on each other. The recording sink (strict)
 * refuses, like the store, a record whose parent it has not seen (STORE_ENOPARENT).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>
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

#define CLIENT_ID     "pmsim-guesty"
#define CLIENT_SECRET "pmsim-guesty-secret"
#define HOOK_SECRET   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

#include "rec_sink.h"

/* ---- in-memory adapter_host: the shared token cache ---- */

struct mhost {
    pthread_mutex_t mu;
    char *tok;
    int64_t exp;
    int puts;
    int extra; /* mints reported beyond puts (the 5-per-24 h cap test) */
    struct adapter_host host;
};

static int mh_get(void *ctx, char **tok, int64_t *exp)
{
    struct mhost *m = ctx;
    pthread_mutex_lock(&m->mu);
    int rc = m->tok ? 0 : -1;
    *tok = xstrdup(m->tok);
    *exp = m->tok ? m->exp : -1;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int mh_put(void *ctx, const char *tok, int64_t exp)
{
    struct mhost *m = ctx;
    pthread_mutex_lock(&m->mu);
    free(m->tok);
    m->tok = xstrdup(tok);
    m->exp = exp;
    m->puts++;
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static int mh_mints(void *ctx, int64_t window_ms)
{
    (void)window_ms;
    return ((struct mhost *)ctx)->puts + ((struct mhost *)ctx)->extra;
}

static void mh_init(struct mhost *m)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    m->host = (struct adapter_host){m, mh_get, mh_put, mh_mints};
}

static void mh_fini(struct mhost *m)
{
    free(m->tok);
    m->tok = NULL;
    pthread_mutex_destroy(&m->mu);
}

/* ---- fixture: one pmsim, one receiver ---- */

extern const struct adapter_ops guesty_adapter;
#define G guesty_adapter

static struct simproc sim;
static struct receiver *rv;
static char base_url[128];
static struct account_conf conf;
static struct http_client *hc;
static struct mhost host;
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
    return control("GET", p, NULL);
}

static int minted(void)
{
    cJSON *h = control("GET", "/_sim/health", NULL);
    int n = cJSON_GetObjectItemCaseSensitive(h, "tokens_minted")->valueint;
    cJSON_Delete(h);
    return n;
}

static const char *sstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *by_oid(const cJSON *arr, const char *id)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        if (sstr(r, "_id") && strcmp(sstr(r, "_id"), id) == 0)
            return r;
    }
    return NULL;
}

static struct adapter *mk(const struct account_conf *c, struct mhost *h)
{
    struct err e;
    struct adapter *a = adapter_new(&G, c, hc, &h->host, &e);
    assert_non_null(a);
    return a;
}

static void pull_all(struct adapter *a, enum entity ent, char **cur, struct tsink *t)
{
    for (int i = 0; i < 1000; i++) {
        char *next = NULL;
        struct err e;
        err_clear(&e);
        int rc = G.pull(a, ent, *cur, &t->s, &next, &e);
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
    char data[1024], hook[128], epoch[32];
    snprintf(data, sizeof(data), "%s/data/demo", top ? top : ".");
    rv = receiver_start(200);
    if (!rv)
        return -1;
    snprintf(hook, sizeof(hook), "http://127.0.0.1:%d/hooks/{dialect}", receiver_port(rv));
    snprintf(epoch, sizeof(epoch), "%lld", (long long)now_ms());
    const char *argv[] = {
        "--account", "guesty:0", "--data",        data, "--fault",       "rate_limit_off=1",
        "--epoch",   epoch,      "--webhook-url", hook, "--time-factor", "0.001",
        NULL};
    if (sim_spawn(&sim, argv) != 0)
        return -1;
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d/v1", sim.port[0]);
    conf.name = xstrdup("guesty-test");
    conf.adapter = xstrdup("guesty");
    conf.base_url = base_url;
    conf.client_id = xstrdup(CLIENT_ID);
    conf.secret = xstrdup(CLIENT_SECRET);
    conf.webhook_secret = xstrdup(HOOK_SECRET);
    log_set_level(LOG_ERROR);
    struct http_opts o = {.log_name = "guesty-test"};
    hc = http_client_new(&o, NULL);
    mh_init(&host);
    struct err e;
    A = adapter_new(&G, &conf, hc, &host.host, &e);
    full = ts_new(1);
    return hc && A ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    adapter_free(&A);
    http_client_free(&hc);
    mh_fini(&host);
    ts_free(&full);
    for (int i = 0; i < ENTITY_COUNT; i++)
        free(cursor[i]);
    sim_kill(&sim);
    receiver_stop(&rv);
    free(conf.name);
    free(conf.adapter);
    free(conf.client_id);
    free(conf.secret);
    free(conf.webhook_secret);
    return 0;
}

/* ---- the ops table ---- */

static void test_ops_table(void **st)
{
    (void)st;
    assert_string_equal(G.name, "guesty");
    assert_string_equal(G.default_base_url, "https://open-api.guesty.com/v1");
    assert_true(G.rate_burst + G.rate_per_sec <= 15.0);
    assert_true(G.rate_burst + 60 * G.rate_per_sec <= 120.0);
    assert_true(G.rate_burst + 3600 * G.rate_per_sec <= 5000.0);
    int pos[ENTITY_COUNT + 1];
    for (int i = 0; i <= ENTITY_COUNT; i++)
        pos[i] = -1;
    for (int n = 0; G.pull_order[n] != ENTITY_COUNT; n++)
        pos[G.pull_order[n]] = n;
    assert_true(pos[ENT_PROPERTY] < pos[ENT_UNIT] && pos[ENT_UNIT] < pos[ENT_STAY]);
    assert_true(pos[ENT_STAY] < pos[ENT_THREAD] && pos[ENT_THREAD] < pos[ENT_MESSAGE]);
    assert_true(pos[ENT_VENDOR] < pos[ENT_WORK_ORDER] && pos[ENT_STAY] < pos[ENT_WORK_ORDER]);
    assert_true(G.full_walk & (1u << ENT_WORK_ORDER));
    assert_false(G.full_walk & (1u << ENT_MESSAGE));
}

/* ---- Svix verifier ---- */

struct hreq {
    struct webhook_req rq;
    const char *id, *ts, *sig;
};

static const char *hreq_header(const struct webhook_req *r, const char *name)
{
    const struct hreq *h = r->ctx;
    if (strcasecmp(name, "svix-id") == 0)
        return h->id;
    if (strcasecmp(name, "svix-timestamp") == 0)
        return h->ts;
    if (strcasecmp(name, "svix-signature") == 0)
        return h->sig;
    return NULL;
}

static int verify(const char *body, const char *id, const char *ts, const char *sig, int64_t now,
                  char **eid, char **kind, struct err *e)
{
    struct hreq h = {.id = id, .ts = ts, .sig = sig};
    h.rq = (struct webhook_req){.path = "/hooks/guesty",
                                .body = body,
                                .body_len = strlen(body),
                                .client_ip = "127.0.0.1",
                                .now_ms = now,
                                .header = hreq_header,
                                .ctx = &h};
    *eid = *kind = NULL;
    err_clear(e);
    return G.webhook_verify(A, &h.rq, eid, kind, e);
}

static void test_svix_known_answer(void **st)
{
    (void)st;
    const char *id = "msg_p5jXN8AQM9LWM0D4loKWxJek", *ts = "1614265330";
    const char *body = "{\"test\": 2432232314}";
    const char *sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    int64_t at = 1614265330LL * 1000;
    char *eid, *kind;
    struct err e;
    assert_int_equal(verify(body, id, ts, sig, at, &eid, &kind, &e), 0);
    assert_string_equal(eid, id);
    assert_string_equal(kind, "unknown");
    free(eid);
    free(kind);
    /* one of several entries may match */
    assert_int_equal(verify(body, id, ts,
                            "v1,AAAA v2,xyz v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", at,
                            &eid, &kind, &e),
                     0);
    free(eid);
    free(kind);
    /* the real clock: years stale */
    assert_int_equal(verify(body, id, ts, sig, now_ms(), &eid, &kind, &e), -1);
    assert_int_equal(e.code, 401);
    assert_null(eid);
    /* stale and future beyond 5 min */
    assert_int_equal(verify(body, id, ts, sig, at + 6 * 60000, &eid, &kind, &e), -1);
    assert_int_equal(e.code, 401);
    assert_int_equal(verify(body, id, ts, sig, at - 6 * 60000, &eid, &kind, &e), -1);
    assert_int_equal(e.code, 401);
    /* within the window */
    assert_int_equal(verify(body, id, ts, sig, at + 4 * 60000, &eid, &kind, &e), 0);
    free(eid);
    free(kind);
    /* tampered body */
    assert_int_equal(verify("{\"test\": 2432232315}", id, ts, sig, at, &eid, &kind, &e), -1);
    assert_int_equal(e.code, 401);
    assert_int_equal(e.retry, FINAL);
    /* tampered id */
    assert_int_equal(verify(body, "msg_other", ts, sig, at, &eid, &kind, &e), -1);
    assert_int_equal(e.code, 401);
    /* missing headers */
    assert_int_equal(verify(body, NULL, ts, sig, at, &eid, &kind, &e), -1);
    assert_int_equal(e.code, 401);
    assert_int_equal(verify(body, id, NULL, sig, at, &eid, &kind, &e), -1);
    assert_int_equal(e.code, 401);
    assert_int_equal(verify(body, id, ts, NULL, at, &eid, &kind, &e), -1);
    assert_int_equal(e.code, 401);
}

/* ---- auth ---- */

static void test_auth_bad_secret(void **st)
{
    (void)st;
    struct mhost h;
    mh_init(&h);
    struct account_conf bad = conf;
    bad.secret = (char *)(uintptr_t) "not-the-secret";
    struct adapter *a = mk(&bad, &h);
    int before = minted();
    struct err e;
    assert_int_equal(G.auth(a, &e), -1);
    assert_int_equal(e.code, ADAPTER_EAUTH);
    assert_int_equal(e.retry, FINAL);
    assert_int_equal(minted(), before);
    assert_int_equal(h.puts, 0);
    adapter_free(&a);
    mh_fini(&h);
}

static void test_auth_mint_cap(void **st)
{
    (void)st;
    struct mhost h;
    mh_init(&h);
    h.extra = 5;
    struct adapter *a = mk(&conf, &h);
    int before = minted();
    struct err e;
    assert_int_equal(G.auth(a, &e), -1);
    assert_int_equal(e.code, ADAPTER_EAUTH);
    assert_int_equal(e.retry, FINAL);
    assert_non_null(strstr(e.msg, "5"));
    assert_non_null(strstr(e.msg, "24 hours"));
    assert_int_equal(minted(), before); /* no request reached pmsim */
    assert_int_equal(h.puts, 0);
    adapter_free(&a);
    mh_fini(&h);
}

static void test_auth_ok_and_shared(void **st)
{
    (void)st;
    int before = minted();
    struct err e;
    assert_int_equal(G.auth(A, &e), 0);
    assert_int_equal(minted(), before + 1);
    assert_int_equal(host.puts, 1);
    /* another instance (or a restart) reuses the cached token */
    struct adapter *b = mk(&conf, &host);
    assert_int_equal(G.auth(b, &e), 0);
    struct tsink *t = ts_new(0);
    char *cur = NULL;
    pull_all(b, ENT_VENDOR, &cur, t);
    free(cur);
    assert_int_equal(ts_count(t, ENT_VENDOR), 4);
    assert_int_equal(minted(), before + 1);
    ts_free(&t);
    adapter_free(&b);
}

static void test_auth_expired_once(void **st)
{
    (void)st;
    int before = minted();
    ctl("/_sim/inject", "{\"kind\":\"expire_tokens\"}");
    struct tsink *t = ts_new(0);
    char *next = NULL;
    struct err e;
    assert_int_equal(G.pull(A, ENT_VENDOR, NULL, &t->s, &next, &e), -1);
    assert_int_equal(e.code, ADAPTER_EAUTH);
    assert_int_equal(e.retry, RETRY_NOW);
    assert_int_equal(minted(), before + 1);
    free(next);
    next = NULL;
    assert_int_equal(G.auth(A, &e), 0);
    assert_int_equal(G.pull(A, ENT_VENDOR, NULL, &t->s, &next, &e), 0);
    free(next);
    assert_int_equal(ts_count(t, ENT_VENDOR), 4);
    assert_int_equal(minted(), before + 1);
    ts_free(&t);
}

/* ---- pull ---- */

static void test_full_pull(void **st)
{
    (void)st;
    for (int i = 0; G.pull_order[i] != ENTITY_COUNT; i++)
        pull_all(A, G.pull_order[i], &cursor[G.pull_order[i]], full);
    static const struct {
        enum entity ent;
        const char *coll;
    } cmp[] = {{ENT_PROPERTY, "listings"},    {ENT_UNIT, "listings"}, {ENT_STAY, "reservations"},
               {ENT_THREAD, "conversations"}, {ENT_MESSAGE, "posts"}, {ENT_VENDOR, "users"},
               {ENT_WORK_ORDER, "tasks"}};
    for (size_t i = 0; i < ARRAY_LEN(cmp); i++) {
        cJSON *s = state(cmp[i].coll);
        int want = cJSON_GetArraySize(s);
        if (cmp[i].ent == ENT_THREAD) { /* only guest conversations are listed by default */
            want = 0;
            const cJSON *c;
            cJSON_ArrayForEach(c, s)
            {
                want += sstr(c, "type") && strcmp(sstr(c, "type"), "guest") == 0;
            }
        }
        if (ts_count(full, cmp[i].ent) != want)
            fail_msg("%s: %d put, pmsim has %d", entity_name(cmp[i].ent),
                     ts_count(full, cmp[i].ent), want);
        assert_no_dups(full, cmp[i].ent);
        cJSON_Delete(s);
    }
    assert_int_equal(full->ndrift, 0);
    for (int i = 0; i < full->nev; i++)
        if (full->ev[i].refused)
            fail_msg("%s %s refused", entity_name(full->ev[i].ent), full->ev[i].id);
    /* a few mappings */
    cJSON *tasks = state("tasks");
    const cJSON *t = cJSON_GetArrayItem(tasks, 0);
    const struct put_ev *w = must_find(full, ENT_WORK_ORDER, sstr(t, "_id"));
    assert_string_equal(w->rstatus, sstr(t, "status"));
    if (strcmp(sstr(t, "status"), "in progress") == 0)
        assert_int_equal(w->status, WO_IN_PROGRESS);
    if (strcmp(sstr(t, "priority"), "high") == 0)
        assert_int_equal(w->prio, PRIO_HIGH);
    cJSON_Delete(tasks);
    cJSON *posts = state("posts");
    const cJSON *p;
    cJSON_ArrayForEach(p, posts)
    {
        const struct put_ev *m = must_find(full, ENT_MESSAGE, sstr(p, "_id"));
        const char *by = sstr(p, "sentBy");
        const char *mt = sstr(cJSON_GetObjectItemCaseSensitive(p, "module"), "type");
        int want = strcmp(mt, "note") == 0    ? DIR_NOTE
                   : strcmp(by, "guest") == 0 ? DIR_IN
                   : strcmp(by, "host") == 0  ? DIR_OUT
                                              : DIR_SYSTEM;
        assert_int_equal(m->dir, want);
        if (strcmp(mt, "airbnb2") == 0)
            assert_int_equal(m->ch, CH_AIRBNB);
        assert_string_equal(m->thread, sstr(p, "conversationId"));
        assert_true(m->sent_at > 0);
    }
    cJSON_Delete(posts);
    /* a second pull right away: nothing changed beyond the overlap, cursors stay valid */
    struct tsink *again = ts_new(0);
    pull_all(A, ENT_MESSAGE, &cursor[ENT_MESSAGE], again);
    assert_no_dups(again, ENT_MESSAGE);
    ts_free(&again);
}

/* ---- push ---- */

static int count_writes(const char *path, const char *body, const cJSON **last)
{
    static cJSON *w;
    cJSON_Delete(w);
    w = control("GET", "/_sim/writes", NULL);
    int n = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, w)
    {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(x, "body");
        if (path && strcmp(sstr(x, "path"), path) != 0)
            continue;
        if (body && !(sstr(b, "body") && strcmp(sstr(b, "body"), body) == 0))
            continue;
        n++;
        if (last)
            *last = x;
    }
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

static void conv_id(int i, char out[32])
{
    cJSON *c = state("conversations");
    snprintf(out, 32, "%s", sstr(cJSON_GetArrayItem(c, i), "_id"));
    cJSON_Delete(c);
}

static void test_push_reply_and_note(void **st)
{
    (void)st;
    ctl("/_sim/writes/clear", "{}");
    static const struct {
        const char *channel, *module;
    } cases[] = {
        {"airbnb", "airbnb2"}, {"email", "email"}, {"sms", "sms"}, {"whatsapp", "whatsapp"}};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char cid[32], body[96], payload[256], path[128];
        conv_id((int)i, cid);
        snprintf(body, sizeof(body), "Reply %zu: check-in from 15:00", i);
        snprintf(payload, sizeof(payload), "{\"thread\":\"%s\",\"channel\":\"%s\",\"body\":\"%s\"}",
                 cid, cases[i].channel, body);
        snprintf(path, sizeof(path), "/v1/communication/conversations/%s/send-message", cid);
        struct outbox_op op = op_of("reply", payload, NULL);
        struct push_result res;
        struct err e;
        if (G.push(A, &op, &res, &e) != 0)
            fail_msg("push reply: %s", e.msg);
        const cJSON *w = NULL;
        assert_int_equal(count_writes(path, body, &w), 1);
        const cJSON *mod =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(w, "body"), "module");
        assert_string_equal(sstr(mod, "type"), cases[i].module);
        assert_int_equal(strlen(res.remote_id), 24);
        cJSON *posts = state("posts");
        const cJSON *p = by_oid(posts, res.remote_id);
        assert_non_null(p);
        assert_string_equal(sstr(p, "body"), body);
        cJSON_Delete(posts);
    }
    /* a note is stored, not sent */
    char cid[32], payload[256], path[128];
    conv_id(5, cid);
    snprintf(payload, sizeof(payload),
             "{\"thread\":\"%s\",\"channel\":\"note\",\"body\":\"Internal: "
             "call the plumber\"}",
             cid);
    snprintf(path, sizeof(path), "/v1/communication/conversations/%s/posts", cid);
    struct outbox_op note = op_of("note", payload, NULL);
    struct push_result res;
    struct err e;
    if (G.push(A, &note, &res, &e) != 0)
        fail_msg("push note: %s", e.msg);
    assert_int_equal(count_writes(path, "Internal: call the plumber", NULL), 1);
    assert_int_equal(count_writes(NULL, NULL, NULL), (int)ARRAY_LEN(cases) + 1);
    /* a channel Guesty cannot send on */
    snprintf(payload, sizeof(payload), "{\"thread\":\"%s\",\"channel\":\"portal\",\"body\":\"x\"}",
             cid);
    struct outbox_op bad = op_of("reply", payload, NULL);
    assert_int_equal(G.push(A, &bad, &res, &e), -1);
    assert_int_equal(e.retry, FINAL);
}

static void test_push_dropped_then_find(void **st)
{
    (void)st;
    ctl("/_sim/writes/clear", "{}");
    char cid[32], payload[256], path[128];
    conv_id(7, cid);
    const char *body = "Your door code is 4821 (sent once, exactly once)";
    snprintf(payload, sizeof(payload), "{\"thread\":\"%s\",\"channel\":\"email\",\"body\":\"%s\"}",
             cid, body);
    snprintf(path, sizeof(path), "/v1/communication/conversations/%s/send-message", cid);
    struct outbox_op op = op_of("reply", payload, NULL);
    struct push_result res;
    struct err e;
    ctl("/_sim/faults", "{\"drop_after_write\":1}");
    int rc = G.push(A, &op, &res, &e);
    ctl("/_sim/faults", "{\"drop_after_write\":0}");
    assert_int_equal(rc, -1);
    assert_int_equal(e.retry, RETRY_LATER);
    assert_int_equal(count_writes(path, body, NULL), 1);
    op.attempts = 1;
    assert_int_equal(G.find(A, &op, &res, &e), 1);
    assert_int_equal(strlen(res.remote_id), 24);
    cJSON *posts = state("posts");
    assert_string_equal(sstr(by_oid(posts, res.remote_id), "body"), body);
    cJSON_Delete(posts);
    assert_int_equal(count_writes(NULL, NULL, NULL), 1);
    /* queued 10 min after it was sent: not it */
    op.created_at = now_ms() + 10 * 60 * 1000;
    assert_int_equal(G.find(A, &op, &res, &e), 0);
    /* never sent */
    snprintf(payload, sizeof(payload),
             "{\"thread\":\"%s\",\"channel\":\"email\",\"body\":\"never\"}", cid);
    struct outbox_op never = op_of("reply", payload, NULL);
    assert_int_equal(G.find(A, &never, &res, &e), 0);
}

static void test_work_order_status(void **st)
{
    (void)st;
    ctl("/_sim/writes/clear", "{}");
    cJSON *tasks = state("tasks");
    char id[32];
    snprintf(id, sizeof(id), "%s", sstr(cJSON_GetArrayItem(tasks, 1), "_id"));
    cJSON_Delete(tasks);
    static const struct {
        const char *canon, *pms;
    } cases[] = {{"in_progress", "in progress"},
                 {"scheduled", "confirmed"},
                 {"completed", "completed"},
                 {"cancelled", "canceled"}};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char payload[256];
        snprintf(payload, sizeof(payload),
                 "{\"remote_id\":\"%s\",\"from\":\"new\",\"status\":\"%s\"}", id, cases[i].canon);
        struct outbox_op op = op_of("wo_status", payload, id);
        struct push_result res;
        struct err e;
        if (G.push(A, &op, &res, &e) != 0)
            fail_msg("wo_status %s: %s", cases[i].canon, e.msg);
        assert_string_equal(res.remote_id, id);
        tasks = state("tasks");
        assert_string_equal(sstr(by_oid(tasks, id), "status"), cases[i].pms);
        cJSON_Delete(tasks);
        assert_int_equal(G.find(A, &op, &res, &e), 1);
    }
    char path[96];
    snprintf(path, sizeof(path), "/v1/tasks-open-api/%s", id);
    const cJSON *w = NULL;
    assert_int_equal(count_writes(path, NULL, &w), (int)ARRAY_LEN(cases));
    assert_string_equal(sstr(w, "method"), "PUT");
    /* the pull maps it back */
    struct tsink *t = ts_new(0);
    char *cur = NULL;
    pull_all(A, ENT_WORK_ORDER, &cur, t);
    free(cur);
    const struct put_ev *p = must_find(t, ENT_WORK_ORDER, id);
    assert_int_equal(p->status, WO_CANCELLED);
    assert_string_equal(p->rstatus, "canceled");
    ts_free(&t);
}

/* ---- webhooks ---- */

static int wait_hook(const char *needle, const char *event)
{
    for (int tries = 0; tries < 100; tries++) {
        int n = receiver_count(rv);
        for (int i = 0; i < n; i++) {
            const char *b = receiver_body(rv, i);
            if (b && strstr(b, needle) && strstr(b, event))
                return i;
        }
        receiver_wait(rv, n + 1, 100);
    }
    fail_msg("no %s webhook containing %s", event, needle);
    return -1;
}

static struct tsink *seeded(const char *hide)
{
    struct tsink *t = ts_new(1);
    for (int i = 0; i < full->nev; i++)
        if (!full->ev[i].refused &&
            !(full->ev[i].ent == ENT_THREAD && strcmp(full->ev[i].id, hide) == 0))
            learn(t, full->ev[i].ent, full->ev[i].id);
    return t;
}

static void test_webhook_message(void **st)
{
    (void)st;
    char cid[32], ev[256];
    conv_id(2, cid);
    const char *body = "Webhook test: can we check in at noon?";
    snprintf(ev, sizeof(ev),
             "{\"kind\":\"message\",\"conversationId\":\"%s\",\"body\":\"%s\",\"module\":\"sms\"}",
             cid, body);
    ctl("/_sim/inject", ev);
    int i = wait_hook(body, "reservation.messageReceived");
    const char *raw = receiver_body(rv, i);
    char *eid, *kind;
    struct err e;
    assert_int_equal(verify(raw, receiver_header(rv, i, "svix-id"),
                            receiver_header(rv, i, "svix-timestamp"),
                            receiver_header(rv, i, "svix-signature"), now_ms(), &eid, &kind, &e),
                     0);
    assert_string_equal(kind, "reservation.messageReceived");
    assert_string_equal(eid, receiver_header(rv, i, "svix-id"));
    /* tampered */
    char *bad = xstrdup(raw);
    char *q = strstr(bad, "noon");
    q[0] = 'm';
    char *eid2, *kind2;
    assert_int_equal(verify(bad, receiver_header(rv, i, "svix-id"),
                            receiver_header(rv, i, "svix-timestamp"),
                            receiver_header(rv, i, "svix-signature"), now_ms(), &eid2, &kind2, &e),
                     -1);
    assert_int_equal(e.code, 401);
    free(bad);
    /* apply with the thread unknown: message refused, thread fetched and put, message put */
    struct adapter *a = mk(&conf, &host);
    struct tsink *t = seeded(cid);
    if (G.webhook_apply(a, kind, raw, &t->s, &e) != 0)
        fail_msg("webhook_apply: %s", e.msg);
    assert_int_equal(t->ndrift, 0);
    assert_int_equal(t->nev, 4);
    assert_int_equal(t->ev[0].ent, ENT_MESSAGE);
    assert_true(t->ev[0].refused);
    assert_int_equal(t->ev[1].ent, ENT_CONTACT); /* the conversation's guest */
    assert_int_equal(t->ev[2].ent, ENT_THREAD);
    assert_string_equal(t->ev[2].id, cid);
    assert_false(t->ev[2].refused);
    assert_int_equal(t->ev[3].ent, ENT_MESSAGE);
    assert_false(t->ev[3].refused);
    assert_string_equal(t->ev[3].body, body);
    assert_string_equal(t->ev[3].thread, cid);
    assert_int_equal(t->ev[3].dir, DIR_IN);
    assert_int_equal(t->ev[3].ch, CH_SMS);
    cJSON *posts = state("posts");
    const cJSON *p;
    const char *pid = NULL;
    cJSON_ArrayForEach(p, posts)
    {
        if (sstr(p, "body") && strcmp(sstr(p, "body"), body) == 0)
            pid = sstr(p, "_id");
    }
    assert_non_null(pid);
    assert_string_equal(t->ev[3].id, pid);
    cJSON_Delete(posts);
    free(eid);
    free(kind);
    ts_free(&t);
    adapter_free(&a);
}

static void test_webhook_task(void **st)
{
    (void)st;
    cJSON *tasks = state("tasks");
    char id[32], ev[160];
    snprintf(id, sizeof(id), "%s", sstr(cJSON_GetArrayItem(tasks, 2), "_id"));
    cJSON_Delete(tasks);
    snprintf(ev, sizeof(ev),
             "{\"kind\":\"task_status\",\"taskId\":\"%s\",\"status\":\"confirmed\"}", id);
    ctl("/_sim/inject", ev);
    int i = wait_hook(id, "task.updated");
    const char *raw = receiver_body(rv, i);
    char *eid, *kind;
    struct err e;
    assert_int_equal(verify(raw, receiver_header(rv, i, "svix-id"),
                            receiver_header(rv, i, "svix-timestamp"),
                            receiver_header(rv, i, "svix-signature"), now_ms(), &eid, &kind, &e),
                     0);
    assert_string_equal(kind, "task.updated");
    struct tsink *t = seeded("");
    if (G.webhook_apply(A, kind, raw, &t->s, &e) != 0)
        fail_msg("webhook_apply: %s", e.msg);
    const struct put_ev *w = must_find(t, ENT_WORK_ORDER, id);
    assert_int_equal(w->status, WO_SCHEDULED);
    assert_string_equal(w->rstatus, "confirmed");
    free(eid);
    free(kind);
    ts_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_table),
        cmocka_unit_test(test_svix_known_answer),
        cmocka_unit_test(test_auth_bad_secret),
        cmocka_unit_test(test_auth_mint_cap),
        cmocka_unit_test(test_auth_ok_and_shared),
        cmocka_unit_test(test_auth_expired_once),
        cmocka_unit_test(test_full_pull),
        cmocka_unit_test(test_push_reply_and_note),
        cmocka_unit_test(test_push_dropped_then_find),
        cmocka_unit_test(test_work_order_status),
        cmocka_unit_test(test_webhook_message),
        cmocka_unit_test(test_webhook_task),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
