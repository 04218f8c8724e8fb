/* test_adapter_hostaway.c - adapters/hostaway.c against pmsim's Hostaway dialect.
 *
 * Run: PMSIM_BIN=$PWD/pmsim build/tests/integration/test_adapter_hostaway (from the top of
 * the tree, or with PORTER_TOP set; the fixture is data/demo/hostaway.json).
 *
 * One pmsim for the whole file: demo fixture, rate limiter off (the adapter's own bucket
 * would make a full pull take a minute), --epoch now (so the times pmsim stamps on writes
 * are real wall-clock times, which find()'s time window compares with op->created_at) and
 * webhooks delivered to a receiver in this process. The tests run in order and build on
 * each other: the full pull's cursors feed the incremental pulls, its records seed the
 * strict sink of the webhook tests.
 *
 * The recording sink keeps every put (entity, remote id, a few mapped fields) and every
 * drift call. In strict mode it refuses, like the store, a record whose parent it has not
 * seen (STORE_ENOPARENT), so a wrong pull order or a missing parent repair fails here.
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

#define CLIENT_ID     "10450"
#define CLIENT_SECRET "c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d"
#define HOOK_SECRET   "porter:change-me"
#define OVERLAP_MS    (5 * 60 * 1000LL)
#include "rec_sink.h"

/* ---- in-memory adapter_host: the shared token cache ---- */

struct mhost {
    pthread_mutex_t mu;
    char *tok;
    int64_t exp;
    int puts;
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
    return ((struct mhost *)ctx)->puts;
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

static struct simproc sim;
static struct receiver *rv;
static char base_url[128];
static struct account_conf conf;
static struct http_client *hc;
static struct mhost host;     /* shared by the main instances */
static struct adapter *A;     /* the main instance */
static struct tsink *full;    /* what the full pull delivered */
static struct tsink *overlap; /* what the second pull repeated */
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

static cJSON *writes(void)
{
    return control("GET", "/_sim/writes", NULL);
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

static int64_t stime(const cJSON *o, const char *k)
{
    const char *s = sstr(o, k);
    if (!s || strlen(s) != 19)
        return 0;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    tm.tm_hour = atoi(s + 11);
    tm.tm_min = atoi(s + 14);
    tm.tm_sec = atoi(s + 17);
    return (int64_t)timegm(&tm) * 1000;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* The record of collection `coll` with numeric id `id` (in a state array). */
static const cJSON *by_id(const cJSON *arr, double id)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        if (snum(r, "id") == id)
            return r;
    }
    return NULL;
}

static struct adapter *mk(const struct account_conf *c, struct mhost *h)
{
    struct err e;
    struct adapter *a = adapter_new(&hostaway_adapter, c, hc, &h->host, &e);
    assert_non_null(a);
    return a;
}

/* Pull `ent` from *cur until caught up; *cur is replaced by the final cursor. */
static void pull_all(struct adapter *a, enum entity ent, char **cur, struct tsink *t)
{
    for (int i = 0; i < 1000; i++) {
        char *next = NULL;
        struct err e;
        err_clear(&e);
        int rc = hostaway_adapter.pull(a, ent, *cur, &t->s, &next, &e);
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
        "--account", "hostaway:0", "--data",        data, "--fault",       "rate_limit_off=1",
        "--epoch",   epoch,        "--webhook-url", hook, "--time-factor", "0.001",
        NULL};
    if (sim_spawn(&sim, argv) != 0)
        return -1;
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d/v1", sim.port[0]);
    conf.name = xstrdup("hostaway-test");
    conf.adapter = xstrdup("hostaway");
    conf.base_url = base_url;
    conf.client_id = xstrdup(CLIENT_ID);
    conf.secret = xstrdup(CLIENT_SECRET);
    conf.webhook_secret = xstrdup(HOOK_SECRET);
    log_set_level(LOG_ERROR); /* the drift tests warn by design */
    struct http_opts o = {.log_name = "hostaway-test"};
    hc = http_client_new(&o, NULL); /* pmsim's limiter is off: no bucket here either */
    mh_init(&host);
    struct err e;
    A = adapter_new(&hostaway_adapter, &conf, hc, &host.host, &e);
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
    ts_free(&overlap);
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
    const struct adapter_ops *o = adapter_find("hostaway");
    assert_ptr_equal(o, &hostaway_adapter);
    assert_string_equal(o->default_base_url, "https://api.hostaway.com/v1");
    /* the limiter holds at most burst requests in any burst / rate seconds (http.h): never
     * more than 15 in any 10 s, and the whole of it */
    assert_true(o->rate_per_sec > 0 && o->rate_burst >= 1);
    assert_true(o->rate_burst <= 15 && o->rate_burst / o->rate_per_sec >= 10.0 - 1e-9);
    assert_true(o->rate_per_sec >= 1.5 - 1e-9);
    /* parents first: every entity's position */
    int pos[ENTITY_COUNT + 1];
    for (int i = 0; i <= ENTITY_COUNT; i++)
        pos[i] = -1;
    int n = 0;
    for (; o->pull_order[n] != ENTITY_COUNT; n++) {
        assert_true(n < ENTITY_COUNT);
        assert_int_equal(pos[o->pull_order[n]], -1);
        pos[o->pull_order[n]] = n;
    }
    assert_int_equal(n, 7); /* every entity but contacts, which come with their stays */
    assert_int_equal(pos[ENT_CONTACT], -1);
    assert_true(pos[ENT_PROPERTY] < pos[ENT_UNIT] && pos[ENT_UNIT] < pos[ENT_STAY]);
    assert_true(pos[ENT_STAY] < pos[ENT_THREAD] && pos[ENT_THREAD] < pos[ENT_MESSAGE]);
    assert_true(pos[ENT_VENDOR] < pos[ENT_WORK_ORDER] && pos[ENT_STAY] < pos[ENT_WORK_ORDER]);
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
    assert_int_equal(hostaway_adapter.auth(a, &e), -1);
    assert_int_equal(e.code, ADAPTER_EAUTH);
    assert_int_equal(e.retry, FINAL);
    assert_non_null(strstr(e.msg, "Invalid client credentials")); /* pmsim's own message */
    assert_int_equal(minted(), before);
    assert_int_equal(h.puts, 0);
    /* missing credentials: init refuses */
    struct account_conf none = conf;
    none.secret = NULL;
    assert_null(adapter_new(&hostaway_adapter, &none, hc, &h.host, &e));
    assert_int_equal(e.retry, FINAL);
    adapter_free(&a);
    mh_fini(&h);
}

static void test_auth_shared_token(void **st)
{
    (void)st;
    int before = minted();
    int64_t t0 = mono_ms();
    struct err e;
    assert_int_equal(hostaway_adapter.auth(A, &e), 0);
    /* the token is usable only 1 s after issue: auth waited before publishing it */
    assert_true(mono_ms() - t0 >= 1000);
    assert_int_equal(minted(), before + 1);
    assert_int_equal(host.puts, 1);
    /* a second instance of the account takes the token from the host */
    struct adapter *b = mk(&conf, &host);
    t0 = mono_ms();
    assert_int_equal(hostaway_adapter.auth(b, &e), 0);
    assert_true(mono_ms() - t0 < 1000);
    struct tsink *t = ts_new(0);
    char *cur = NULL;
    pull_all(b, ENT_VENDOR, &cur, t);
    assert_int_equal(ts_count(t, ENT_VENDOR), 4);
    free(cur);
    cur = NULL;
    pull_all(A, ENT_PROPERTY, &cur, t);
    free(cur);
    assert_int_equal(minted(), before + 1); /* reused by both, not re-minted */
    assert_int_equal(host.puts, 1);
    /* auth again is a no-op while the token lasts */
    assert_int_equal(hostaway_adapter.auth(b, &e), 0);
    assert_int_equal(minted(), before + 1);
    adapter_free(&b);
    ts_free(&t);
}

static void test_auth_wrapped_token(void **st)
{
    (void)st;
    ctl("/_sim/inject", "{\"kind\":\"config\",\"wrap_token\":1}");
    struct mhost h;
    mh_init(&h);
    struct adapter *a = mk(&conf, &h);
    int before = minted();
    struct err e;
    int rc = hostaway_adapter.auth(a, &e);
    ctl("/_sim/inject", "{\"kind\":\"config\",\"wrap_token\":0}");
    assert_int_equal(rc, 0);
    assert_int_equal(minted(), before + 1);
    assert_int_equal(h.puts, 1);
    struct tsink *t = ts_new(0);
    char *cur = NULL;
    pull_all(a, ENT_VENDOR, &cur, t);
    assert_int_equal(ts_count(t, ENT_VENDOR), 4);
    free(cur);
    ts_free(&t);
    adapter_free(&a);
    mh_fini(&h);
}

/* 403 -> re-mint once, RETRY_NOW + ADAPTER_EAUTH; a second instance adopts the new token. */
static void test_auth_expired_remint(void **st)
{
    (void)st;
    struct adapter *b = mk(&conf, &host);
    struct err e;
    assert_int_equal(hostaway_adapter.auth(b, &e), 0);
    int before = minted();
    ctl("/_sim/inject", "{\"kind\":\"expire_tokens\"}");
    struct tsink *t = ts_new(0);
    char *next = NULL;
    assert_int_equal(hostaway_adapter.pull(A, ENT_VENDOR, NULL, &t->s, &next, &e), -1);
    assert_int_equal(e.code, ADAPTER_EAUTH);
    assert_int_equal(e.retry, RETRY_NOW);
    assert_int_equal(minted(), before + 1);
    free(next);
    next = NULL;
    /* b's token expired too: it adopts A's new one instead of minting */
    assert_int_equal(hostaway_adapter.pull(b, ENT_VENDOR, NULL, &t->s, &next, &e), -1);
    assert_int_equal(e.code, ADAPTER_EAUTH);
    assert_int_equal(e.retry, RETRY_NOW);
    assert_int_equal(minted(), before + 1);
    free(next);
    next = NULL;
    assert_int_equal(t->nev, 0);
    /* the engine calls auth (a no-op now) and the op again */
    assert_int_equal(hostaway_adapter.auth(A, &e), 0);
    assert_int_equal(hostaway_adapter.pull(A, ENT_VENDOR, NULL, &t->s, &next, &e), 0);
    free(next);
    next = NULL;
    assert_int_equal(hostaway_adapter.pull(b, ENT_VENDOR, NULL, &t->s, &next, &e), 0);
    free(next);
    assert_int_equal(ts_count(t, ENT_VENDOR), 8);
    assert_int_equal(minted(), before + 1);
    ts_free(&t);
    adapter_free(&b);
}

/* ---- pull ---- */

static int sent_messages(const cJSON *msgs)
{
    int n = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        n += sstr(m, "status") && strcmp(sstr(m, "status"), "sent") == 0;
    }
    return n;
}

/* The canonical channel the test expects for a reservation's channelId. */
static enum channel ota_of(int channel_id)
{
    switch (channel_id) {
    case 2018:
        return CH_AIRBNB;
    case 2005:
        return CH_BOOKING;
    case 2002:
        return CH_VRBO;
    default:
        return CH_OTA;
    }
}

static void test_full_pull(void **st)
{
    (void)st;
    const enum entity *order = hostaway_adapter.pull_order;
    for (int i = 0; order[i] != ENTITY_COUNT; i++)
        pull_all(A, order[i], &cursor[order[i]], full);
    assert_int_equal(full->ndrift, 0);
    for (int i = 0; i < full->nev; i++)
        if (full->ev[i].refused)
            fail_msg("%s %s refused: parent missing", entity_name(full->ev[i].ent), full->ev[i].id);

    cJSON *listings = state("listings"), *res = state("reservations"),
          *convs = state("conversations"), *msgs = state("messages"), *tasks = state("tasks"),
          *users = state("users");
    assert_int_equal(ts_count(full, ENT_PROPERTY), cJSON_GetArraySize(listings));
    assert_int_equal(ts_count(full, ENT_UNIT), cJSON_GetArraySize(listings));
    assert_int_equal(ts_count(full, ENT_STAY), cJSON_GetArraySize(res));
    assert_int_equal(ts_count(full, ENT_CONTACT), cJSON_GetArraySize(res));
    assert_int_equal(ts_count(full, ENT_THREAD), cJSON_GetArraySize(convs));
    /* messages are listed with status=sent only (scheduled ones are not sent yet) */
    assert_int_equal(ts_count(full, ENT_MESSAGE), sent_messages(msgs));
    assert_true(sent_messages(msgs) > 100);
    assert_int_equal(ts_count(full, ENT_WORK_ORDER), cJSON_GetArraySize(tasks));
    assert_int_equal(ts_count(full, ENT_VENDOR), cJSON_GetArraySize(users));
    for (int ent = 0; ent < ENTITY_COUNT; ent++)
        assert_no_dups(full, (enum entity)ent);

    /* stays and their guests */
    const cJSON *r;
    cJSON_ArrayForEach(r, res)
    {
        char id[32], guest[48];
        snprintf(id, sizeof(id), "%.0f", snum(r, "id"));
        snprintf(guest, sizeof(guest), "guest:%s", id);
        const struct put_ev *s = must_find(full, ENT_STAY, id);
        assert_string_equal(s->contact, guest);
        assert_non_null(ts_find(full, ENT_CONTACT, guest));
        assert_string_equal(s->rstatus, sstr(r, "status"));
        char unit[32];
        snprintf(unit, sizeof(unit), "%.0f", snum(r, "listingMapId"));
        assert_string_equal(s->unit, unit);
        int ch = (int)snum(r, "channelId");
        const char *want = ch == 2000 || ch == 2013 ? "email" : channel_name(ota_of(ch));
        assert_string_equal(s->channel, want);
    }
    /* threads: OTA channel from the reservation */
    const cJSON *c;
    cJSON_ArrayForEach(c, convs)
    {
        char id[32];
        snprintf(id, sizeof(id), "%.0f", snum(c, "id"));
        const struct put_ev *t = must_find(full, ENT_THREAD, id);
        const cJSON *rr = by_id(res, snum(c, "reservationId"));
        assert_non_null(rr);
        int ch = (int)snum(rr, "channelId");
        if (ch != 2000 && ch != 2013)
            assert_int_equal(t->ch, ota_of(ch));
        else
            assert_true(t->ch == CH_EMAIL || t->ch == CH_SMS || t->ch == CH_WHATSAPP);
    }
    /* every message: direction, channel, time, thread */
    int checked = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        if (strcmp(sstr(m, "status"), "sent") != 0)
            continue;
        char id[32], conv[32];
        snprintf(id, sizeof(id), "%.0f", snum(m, "id"));
        snprintf(conv, sizeof(conv), "%.0f", snum(m, "conversationId"));
        const struct put_ev *p = must_find(full, ENT_MESSAGE, id);
        assert_string_equal(p->thread, conv);
        assert_string_equal(p->body, sstr(m, "body"));
        assert_int_equal(p->dir, snum(m, "isIncoming") == 1 ? DIR_IN : DIR_OUT);
        assert_true(p->sent_at > 0);
        assert_int_equal(p->sent_at, stime(m, "date"));
        const char *type = sstr(m, "communicationType");
        if (strcmp(type, "channel") == 0) {
            const cJSON *rr = by_id(res, snum(m, "reservationId"));
            assert_int_equal(p->ch, ota_of((int)snum(rr, "channelId")));
        } else {
            assert_int_equal(p->ch, channel_parse(type));
        }
        if (p->dir == DIR_OUT)
            assert_string_equal(p->author, "host");
        else
            assert_string_equal(p->author,
                                sstr(by_id(convs, snum(m, "conversationId")), "recipientName"));
        checked++;
    }
    assert_int_equal(checked, sent_messages(msgs));
    /* work orders */
    static const struct {
        const char *id;
        enum wo_status status;
        enum priority prio;
        const char *vendor, *trade;
    } wo[] = {
        {"880101", WO_ASSIGNED, PRIO_HIGH, "7001", "maintenance"},
        {"880102", WO_SCHEDULED, PRIO_EMERGENCY, "7004", "maintenance"},
        {"880103", WO_NEW, PRIO_LOW, "", "maintenance"},
        {"880104", WO_IN_PROGRESS, PRIO_NORMAL, "7002", "cleaning"},
        {"880105", WO_COMPLETED, PRIO_NORMAL, "7001", "maintenance"},
    };
    for (size_t i = 0; i < ARRAY_LEN(wo); i++) {
        const struct put_ev *w = must_find(full, ENT_WORK_ORDER, wo[i].id);
        assert_int_equal(w->status, wo[i].status);
        assert_int_equal(w->prio, wo[i].prio);
        assert_string_equal(w->vendor, wo[i].vendor);
        assert_string_equal(w->trade, wo[i].trade);
        assert_string_equal(w->rstatus, sstr(by_id(tasks, atof(wo[i].id)), "status"));
    }
    cJSON_Delete(listings);
    cJSON_Delete(res);
    cJSON_Delete(convs);
    cJSON_Delete(msgs);
    cJSON_Delete(tasks);
    cJSON_Delete(users);
}

/* Records whose stamp is within the overlap of the newest: the most a re-pull may repeat. */
static int within_overlap(const int64_t *t, int n)
{
    int64_t newest = 0;
    for (int i = 0; i < n; i++)
        newest = max64(newest, t[i]);
    int k = 0;
    for (int i = 0; i < n; i++)
        k += t[i] >= newest - OVERLAP_MS;
    return k;
}

static void test_second_pull_only_overlap(void **st)
{
    (void)st;
    assert_non_null(cursor[ENT_MESSAGE]);
    struct tsink *t = ts_new(0);
    const enum entity *order = hostaway_adapter.pull_order;
    for (int i = 0; order[i] != ENTITY_COUNT; i++)
        pull_all(A, order[i], &cursor[order[i]], t);
    assert_int_equal(t->ndrift, 0);
    /* nothing new: every record was delivered by the full pull */
    for (int i = 0; i < t->nev; i++)
        if (!ts_find(full, t->ev[i].ent, t->ev[i].id))
            fail_msg("new %s %s on a pull with nothing new", entity_name(t->ev[i].ent),
                     t->ev[i].id);
    /* listings, users and tasks are small lists walked whole every cycle */
    assert_int_equal(ts_count(t, ENT_PROPERTY), ts_count(full, ENT_PROPERTY));
    assert_int_equal(ts_count(t, ENT_VENDOR), ts_count(full, ENT_VENDOR));
    assert_int_equal(ts_count(t, ENT_WORK_ORDER), ts_count(full, ENT_WORK_ORDER));

    /* incremental entities repeat at most the 5-minute overlap */
    cJSON *res = state("reservations"), *convs = state("conversations"), *msgs = state("messages");
    int64_t rt[256], ct[256], mt[1024];
    int nr = 0, nc = 0, nm = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, res)
    {
        rt[nr++] = max64(stime(x, "latestActivityOn"), stime(x, "updatedOn"));
    }
    cJSON_ArrayForEach(x, convs)
    {
        ct[nc++] = max64(stime(x, "messageSentOn"), stime(x, "messageReceivedOn"));
    }
    cJSON_ArrayForEach(x, msgs)
    {
        if (strcmp(sstr(x, "status"), "sent") == 0)
            mt[nm++] = max64(stime(x, "date"), stime(x, "updatedOn"));
    }
    assert_true(ts_count(t, ENT_STAY) <= within_overlap(rt, nr));
    assert_true(ts_count(t, ENT_THREAD) <= within_overlap(ct, nc));
    assert_true(ts_count(t, ENT_MESSAGE) <= within_overlap(mt, nm));
    assert_true(ts_count(t, ENT_STAY) < nr / 2);
    assert_true(ts_count(t, ENT_THREAD) < nc / 2);
    assert_true(ts_count(t, ENT_MESSAGE) < nm / 4);
    cJSON_Delete(res);
    cJSON_Delete(convs);
    cJSON_Delete(msgs);
    overlap = t;
}

/* The conversation with the oldest activity (not within any overlap). */
static double quiet_conversation(void)
{
    cJSON *convs = state("conversations");
    double id = 0;
    int64_t oldest = INT64_MAX;
    const cJSON *c;
    cJSON_ArrayForEach(c, convs)
    {
        int64_t t = max64(stime(c, "messageSentOn"), stime(c, "messageReceivedOn"));
        if (t > 0 && t < oldest) {
            oldest = t;
            id = snum(c, "id");
        }
    }
    cJSON_Delete(convs);
    assert_true(id > 0);
    return id;
}

/* The id pmsim gave the one message with this body (0: none; fails on two). */
static double message_id_by_body(const char *body)
{
    cJSON *msgs = state("messages");
    double id = 0;
    int n = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        if (sstr(m, "body") && strcmp(sstr(m, "body"), body) == 0) {
            id = snum(m, "id");
            n++;
        }
    }
    cJSON_Delete(msgs);
    assert_true(n <= 1);
    return id;
}

static void test_pull_after_inject(void **st)
{
    (void)st;
    double conv = quiet_conversation();
    char ev[256];
    snprintf(ev, sizeof(ev),
             "{\"kind\":\"message\",\"conversationId\":%.0f,\"body\":\"Injected: is the sauna "
             "heated? \\u2668\",\"communicationType\":\"sms\"}",
             conv);
    ctl("/_sim/inject", ev);
    const char *body = "Injected: is the sauna heated? \u2668";
    double id = message_id_by_body(body);
    assert_true(id > 0);
    /* threads: the conversation changed */
    struct tsink *t = ts_new(0);
    pull_all(A, ENT_THREAD, &cursor[ENT_THREAD], t);
    char cid[32], mid[32];
    snprintf(cid, sizeof(cid), "%.0f", conv);
    snprintf(mid, sizeof(mid), "%.0f", id);
    assert_non_null(ts_find(t, ENT_THREAD, cid));
    /* messages: exactly one new message; anything else is a repeat from the overlap */
    ts_reset(t);
    pull_all(A, ENT_MESSAGE, &cursor[ENT_MESSAGE], t);
    assert_int_equal(t->ndrift, 0);
    int fresh = 0;
    for (int i = 0; i < t->nev; i++) {
        assert_int_equal(t->ev[i].ent, ENT_MESSAGE);
        if (strcmp(t->ev[i].id, mid) == 0)
            fresh++;
        else if (!ts_find(overlap, ENT_MESSAGE, t->ev[i].id))
            fail_msg("message %s is neither new nor in the overlap", t->ev[i].id);
    }
    assert_int_equal(fresh, 1);
    assert_true(ts_count(t, ENT_MESSAGE) <= 1 + ts_count(overlap, ENT_MESSAGE));
    const struct put_ev *p = must_find(t, ENT_MESSAGE, mid);
    assert_string_equal(p->body, body);
    assert_string_equal(p->thread, cid);
    assert_int_equal(p->dir, DIR_IN);
    assert_int_equal(p->ch, CH_SMS);
    ts_free(&t);
}

/* ---- push and find ---- */

/* A conversation whose reservation came through `channel_id` (0: any direct one). */
static double conversation_on(int channel_id)
{
    cJSON *convs = state("conversations"), *res = state("reservations");
    double id = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, convs)
    {
        const cJSON *r = by_id(res, snum(c, "reservationId"));
        int ch = r ? (int)snum(r, "channelId") : 0;
        if (channel_id ? ch == channel_id : (ch == 2000 || ch == 2013)) {
            id = snum(c, "id");
            break;
        }
    }
    cJSON_Delete(convs);
    cJSON_Delete(res);
    assert_true(id > 0);
    return id;
}

/* Writes to `path` whose JSON body has "body" == body (NULL: any). */
static int count_writes(const char *path, const char *body, const cJSON **last)
{
    static cJSON *w;
    cJSON_Delete(w);
    w = writes();
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

static void test_push_reply(void **st)
{
    (void)st;
    ctl("/_sim/writes/clear", "{}");
    static const struct {
        int channel_id;
        const char *channel, *type;
    } cases[] = {{2018, "airbnb", "channel"},
                 {2005, "booking", "channel"},
                 {0, "sms", "sms"},
                 {0, "whatsapp", "whatsapp"},
                 {0, "email", "email"}};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        double conv = conversation_on(cases[i].channel_id);
        char body[128], payload[512], path[64];
        snprintf(body, sizeof(body), "Reply %zu: check-in is from 15:00 \\u2014 welcome!", i);
        snprintf(payload, sizeof(payload),
                 "{\"thread\":\"%.0f\",\"channel\":\"%s\",\"body\":\"%s\"}", conv, cases[i].channel,
                 body);
        snprintf(body, sizeof(body), "Reply %zu: check-in is from 15:00 \u2014 welcome!", i);
        snprintf(path, sizeof(path), "/v1/conversations/%.0f/messages", conv);
        struct outbox_op op = op_of("reply", payload, NULL);
        struct push_result res;
        struct err e;
        int rc = hostaway_adapter.push(A, &op, &res, &e);
        if (rc != 0)
            fail_msg("push reply: %s", e.msg);
        const cJSON *w = NULL;
        assert_int_equal(count_writes(path, body, &w), 1);
        assert_string_equal(sstr(w, "method"), "POST");
        const cJSON *wb = cJSON_GetObjectItemCaseSensitive(w, "body");
        assert_string_equal(sstr(wb, "communicationType"), cases[i].type);
        char want[32];
        snprintf(want, sizeof(want), "%.0f", message_id_by_body(body));
        assert_string_equal(res.remote_id, want);
        assert_true(res.remote_updated_at > 0);
    }
    assert_int_equal(count_writes(NULL, NULL, NULL), (int)ARRAY_LEN(cases));
    /* a channel Hostaway cannot send on: FINAL, nothing written */
    char payload[128];
    snprintf(payload, sizeof(payload),
             "{\"thread\":\"%.0f\",\"channel\":\"portal\",\"body\":\"x\"}", conversation_on(0));
    struct outbox_op op = op_of("reply", payload, NULL);
    struct push_result res;
    struct err e;
    assert_int_equal(hostaway_adapter.push(A, &op, &res, &e), -1);
    assert_int_equal(e.retry, FINAL);
    /* notes: Hostaway has none */
    struct outbox_op note =
        op_of("note", "{\"thread\":\"1\",\"channel\":\"note\",\"body\":\"x\"}", NULL);
    assert_int_equal(hostaway_adapter.push(A, &note, &res, &e), ADAPTER_LOCAL_ONLY);
    assert_int_equal(count_writes(NULL, NULL, NULL), (int)ARRAY_LEN(cases));
}

static void test_push_dropped_then_find(void **st)
{
    (void)st;
    ctl("/_sim/writes/clear", "{}");
    double conv = conversation_on(2018);
    const char *body = "Your door code is 4821 (sent once, exactly once)";
    char payload[256], path[64];
    snprintf(payload, sizeof(payload),
             "{\"thread\":\"%.0f\",\"channel\":\"airbnb\",\"body\":\"%s\"}", conv, body);
    snprintf(path, sizeof(path), "/v1/conversations/%.0f/messages", conv);
    struct outbox_op op = op_of("reply", payload, NULL);
    struct push_result res;
    struct err e;
    ctl("/_sim/faults", "{\"drop_after_write\":1}");
    int rc = hostaway_adapter.push(A, &op, &res, &e);
    ctl("/_sim/faults", "{\"drop_after_write\":0}");
    assert_int_equal(rc, -1);
    assert_int_equal(e.retry, RETRY_LATER);
    assert_int_equal(count_writes(path, body, NULL), 1); /* it landed nevertheless */
    double id = message_id_by_body(body);
    assert_true(id > 0);
    /* the pusher looks before resending */
    op.attempts = 1;
    memset(&res, 0, sizeof(res));
    assert_int_equal(hostaway_adapter.find(A, &op, &res, &e), 1);
    char want[32];
    snprintf(want, sizeof(want), "%.0f", id);
    assert_string_equal(res.remote_id, want);
    assert_int_equal(count_writes(path, body, NULL), 1);
    /* outside the time window (queued 10 min after the message was sent): not it */
    op.created_at = now_ms() + 10 * 60 * 1000;
    assert_int_equal(hostaway_adapter.find(A, &op, &res, &e), 0);
    /* an incoming message with the same body is not porter's write */
    struct outbox_op in = op;
    in.created_at = now_ms() - 60000;
    char ev[256];
    snprintf(ev, sizeof(ev), "{\"kind\":\"message\",\"conversationId\":%.0f,\"body\":\"%s\"}",
             conversation_on(2005), "Guest echo body");
    ctl("/_sim/inject", ev);
    snprintf(payload, sizeof(payload),
             "{\"thread\":\"%.0f\",\"channel\":\"booking\",\"body\":\"Guest echo body\"}",
             conversation_on(2005));
    in.payload = payload;
    assert_int_equal(hostaway_adapter.find(A, &in, &res, &e), 0);
}

static void test_find_never_sent(void **st)
{
    (void)st;
    char payload[256];
    snprintf(payload, sizeof(payload),
             "{\"thread\":\"%.0f\",\"channel\":\"airbnb\",\"body\":\"never sent %lld\"}",
             conversation_on(2018), (long long)now_ms());
    struct outbox_op op = op_of("reply", payload, NULL);
    op.attempts = 1;
    struct push_result res;
    struct err e;
    assert_int_equal(hostaway_adapter.find(A, &op, &res, &e), 0);
    assert_string_equal(res.remote_id, "");
    /* an unknown conversation: the PMS's 404 is a final error, not "not found" */
    struct outbox_op bad = op_of("reply", "{\"thread\":\"999999999\",\"body\":\"x\"}", NULL);
    assert_int_equal(hostaway_adapter.find(A, &bad, &res, &e), -1);
    assert_int_equal(e.code, 404);
    assert_int_equal(e.retry, FINAL);
}

static const cJSON *task_in(const cJSON *tasks, const char *id)
{
    const cJSON *t = by_id(tasks, atof(id));
    assert_non_null(t);
    return t;
}

static void test_work_order_round_trip(void **st)
{
    (void)st;
    ctl("/_sim/writes/clear", "{}");
    cJSON *res = state("reservations");
    const cJSON *r = cJSON_GetArrayItem(res, 3);
    char payload[512], stay[32], unit[32];
    snprintf(stay, sizeof(stay), "%.0f", snum(r, "id"));
    snprintf(unit, sizeof(unit), "%.0f", snum(r, "listingMapId"));
    cJSON_Delete(res);
    snprintf(payload, sizeof(payload),
             "{\"title\":\"Boiler pressure low\",\"description\":\"Guest reports no hot "
             "water\",\"priority\":\"emergency\",\"unit\":\"%s\",\"property\":\"%s\","
             "\"stay\":\"%s\",\"trade\":\"plumbing\"}",
             unit, unit, stay);
    struct outbox_op create = op_of("wo_create", payload, NULL);
    struct push_result pr;
    struct err e;
    if (hostaway_adapter.push(A, &create, &pr, &e) != 0)
        fail_msg("wo_create: %s", e.msg);
    assert_true(pr.remote_id[0] != '\0');
    char id[128];
    snprintf(id, sizeof(id), "%s", pr.remote_id);
    assert_int_equal(count_writes("/v1/tasks", NULL, NULL), 1);
    cJSON *tasks = state("tasks");
    const cJSON *t = task_in(tasks, id);
    assert_string_equal(sstr(t, "title"), "Boiler pressure low");
    assert_string_equal(sstr(t, "status"), "pending");
    assert_int_equal((int)snum(t, "priority"), 4);
    assert_int_equal((int)snum(t, "listingMapId"), atoi(unit));
    assert_int_equal((int)snum(t, "reservationId"), atoi(stay));
    const cJSON *cats = cJSON_GetObjectItemCaseSensitive(t, "categoriesMap");
    assert_int_equal(cJSON_GetArraySize(cats), 1);
    assert_int_equal(cJSON_GetArrayItem(cats, 0)->valueint, 2);
    cJSON_Delete(tasks);
    /* find adopts it after an unknown outcome */
    create.attempts = 1;
    struct push_result fr;
    assert_int_equal(hostaway_adapter.find(A, &create, &fr, &e), 1);
    assert_string_equal(fr.remote_id, id);
    /* a different title is not it */
    struct outbox_op other =
        op_of("wo_create", "{\"title\":\"Not created\",\"priority\":\"low\"}", NULL);
    assert_int_equal(hostaway_adapter.find(A, &other, &fr, &e), 0);

    /* status changes, canonical -> Hostaway */
    static const struct {
        const char *canon, *pms;
    } st_cases[] = {{"in_progress", "inProgress"},
                    {"scheduled", "confirmed"},
                    {"on_hold", "pending"},
                    {"closed", "completed"}};
    for (size_t i = 0; i < ARRAY_LEN(st_cases); i++) {
        snprintf(payload, sizeof(payload),
                 "{\"remote_id\":\"%s\",\"from\":\"new\",\"status\":\"%s\"}", id,
                 st_cases[i].canon);
        struct outbox_op op = op_of("wo_status", payload, id);
        if (hostaway_adapter.push(A, &op, &pr, &e) != 0)
            fail_msg("wo_status %s: %s", st_cases[i].canon, e.msg);
        assert_string_equal(pr.remote_id, id);
        tasks = state("tasks");
        assert_string_equal(sstr(task_in(tasks, id), "status"), st_cases[i].pms);
        cJSON_Delete(tasks);
        assert_int_equal(hostaway_adapter.find(A, &op, &fr, &e), 1);
    }
    char path[160];
    const cJSON *w = NULL;
    snprintf(path, sizeof(path), "/v1/tasks/%s", id);
    assert_int_equal(count_writes(path, NULL, &w), (int)ARRAY_LEN(st_cases));
    assert_string_equal(sstr(w, "method"), "PUT");
    assert_string_equal(sstr(cJSON_GetObjectItemCaseSensitive(w, "body"), "status"), "completed");
    /* find for a status it does not have */
    snprintf(payload, sizeof(payload), "{\"remote_id\":\"%s\",\"status\":\"cancelled\"}", id);
    struct outbox_op not_yet = op_of("wo_status", payload, id);
    assert_int_equal(hostaway_adapter.find(A, &not_yet, &fr, &e), 0);
    /* the board sees it: a pull maps completed back */
    struct tsink *ts = ts_new(0);
    char *cur = NULL;
    pull_all(A, ENT_WORK_ORDER, &cur, ts);
    free(cur);
    const struct put_ev *p = must_find(ts, ENT_WORK_ORDER, id);
    assert_int_equal(p->status, WO_COMPLETED);
    assert_int_equal(p->prio, PRIO_EMERGENCY);
    assert_string_equal(p->rstatus, "completed");
    assert_string_equal(p->stay, stay);
    ts_free(&ts);
}

static void test_push_validation_final(void **st)
{
    (void)st;
    ctl("/_sim/writes/clear", "{}");
    struct push_result pr;
    struct err e;
    /* pmsim refuses an empty title: FINAL with its own words */
    struct outbox_op op = op_of("wo_create", "{\"title\":\"\",\"priority\":\"normal\"}", NULL);
    assert_int_equal(hostaway_adapter.push(A, &op, &pr, &e), -1);
    assert_int_equal(e.retry, FINAL);
    assert_int_equal(e.code, 400);
    assert_string_equal(e.msg, "Task title is required");
    /* a status porter cannot map is refused before anything is sent */
    struct outbox_op bad =
        op_of("wo_status", "{\"remote_id\":\"880101\",\"status\":\"bogus\"}", "880101");
    assert_int_equal(hostaway_adapter.push(A, &bad, &pr, &e), -1);
    assert_int_equal(e.retry, FINAL);
    assert_non_null(strstr(e.msg, "bogus"));
    /* an unknown task: pmsim's 404 message */
    struct outbox_op gone =
        op_of("wo_status", "{\"remote_id\":\"999999999\",\"status\":\"new\"}", "999999999");
    assert_int_equal(hostaway_adapter.push(A, &gone, &pr, &e), -1);
    assert_int_equal(e.retry, FINAL);
    assert_int_equal(e.code, 404);
    assert_string_equal(e.msg, "Not found");
    assert_int_equal(count_writes(NULL, NULL, NULL), 0);
    cJSON *tasks = state("tasks");
    assert_string_equal(sstr(task_in(tasks, "880101"), "status"), "pending");
    cJSON_Delete(tasks);
}

/* ---- webhooks ---- */

struct hreq {
    struct webhook_req rq;
    const char *auth;
};

static const char *hreq_header(const struct webhook_req *r, const char *name)
{
    const struct hreq *h = r->ctx;
    return strcasecmp(name, "Authorization") == 0 ? h->auth : NULL;
}

static int verify(struct adapter *a, const char *body, const char *auth, char **id, char **kind,
                  struct err *e)
{
    struct hreq h = {.auth = auth};
    h.rq = (struct webhook_req){.path = "/hooks/hostaway",
                                .body = body,
                                .body_len = strlen(body),
                                .client_ip = "127.0.0.1",
                                .now_ms = now_ms(),
                                .header = hreq_header,
                                .ctx = &h};
    *id = *kind = NULL;
    return hostaway_adapter.webhook_verify(a, &h.rq, id, kind, e);
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void test_webhook_verify(void **st)
{
    (void)st;
    const char *body = "{\"object\":\"conversationMessage\",\"event\":\"message.received\","
                       "\"accountId\":10450,\"data\":{\"id\":1}}";
    const char *good = "Basic cG9ydGVyOmNoYW5nZS1tZQ=="; /* porter:change-me */
    char *id, *kind, *id2, *kind2;
    struct err e;
    assert_int_equal(verify(A, body, good, &id, &kind, &e), 0);
    assert_string_equal(kind, "message.received");
    char hex[65], want[80];
    sha256_hex(body, hex);
    snprintf(want, sizeof(want), "sha256:%s", hex);
    assert_string_equal(id, want);
    /* identical bodies (Hostaway's duplicates) share the id; another body does not */
    assert_int_equal(verify(A, body, good, &id2, &kind2, &e), 0);
    assert_string_equal(id2, id);
    free(id2);
    free(kind2);
    const char *other = "{\"event\":\"reservation.updated\",\"data\":{\"id\":2}}";
    assert_int_equal(verify(A, other, good, &id2, &kind2, &e), 0);
    assert_string_not_equal(id2, id);
    assert_string_equal(kind2, "reservation.updated");
    free(id2);
    free(kind2);
    /* unknown events are accepted (Hostaway sends every event) */
    assert_int_equal(
        verify(A, "{\"event\":\"listing.calendar.updated\",\"data\":{}}", good, &id2, &kind2, &e),
        0);
    assert_string_equal(kind2, "listing.calendar.updated");
    free(id2);
    free(kind2);
    /* refused: wrong password, missing header, another scheme */
    static const char *const refused[] = {
        "Basic cG9ydGVyOndyb25n", /* porter:wrong */
        NULL, "Bearer cG9ydGVyOmNoYW5nZS1tZQ==", "Basic cG9ydGVyOmNoYW5nZS1tZQ==x", "Basic "};
    for (size_t i = 0; i < ARRAY_LEN(refused); i++) {
        assert_int_equal(verify(A, body, refused[i], &id2, &kind2, &e), -1);
        assert_int_equal(e.code, 401);
        assert_null(id2);
        assert_null(kind2);
    }
    /* malformed JSON, with good auth: 400 */
    assert_int_equal(verify(A, "{\"event\":\"message.received\",", good, &id2, &kind2, &e), -1);
    assert_int_equal(e.code, 400);
    assert_int_equal(verify(A, "[1,2]", good, &id2, &kind2, &e), -1);
    assert_int_equal(e.code, 400);
    /* no secret configured: accepted without auth */
    struct account_conf open = conf;
    open.webhook_secret = NULL;
    struct mhost h;
    mh_init(&h);
    struct adapter *a = mk(&open, &h);
    assert_int_equal(verify(a, body, NULL, &id2, &kind2, &e), 0);
    assert_string_equal(id2, id);
    free(id2);
    free(kind2);
    adapter_free(&a);
    mh_fini(&h);
    free(id);
    free(kind);
}

/* Wait for the webhook whose body contains `needle`; its index, or fail. */
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

/* A strict sink that knows everything the full pull delivered except thread `hide`. */
static struct tsink *seeded(const char *hide)
{
    struct tsink *t = ts_new(1);
    for (int i = 0; i < full->nev; i++)
        if (!full->ev[i].refused &&
            !(full->ev[i].ent == ENT_THREAD && strcmp(full->ev[i].id, hide) == 0))
            learn(t, full->ev[i].ent, full->ev[i].id);
    return t;
}

static void test_webhook_apply_unknown_thread(void **st)
{
    (void)st;
    double conv = conversation_on(2005);
    const char *body = "Webhook test: can we check in at noon?";
    char ev[256], cid[32], mid[32];
    snprintf(ev, sizeof(ev),
             "{\"kind\":\"message\",\"conversationId\":%.0f,\"body\":\"%s\","
             "\"communicationType\":\"channel\"}",
             conv, body);
    ctl("/_sim/inject", ev);
    int i = wait_hook(body, "message.received");
    snprintf(cid, sizeof(cid), "%.0f", conv);
    snprintf(mid, sizeof(mid), "%.0f", message_id_by_body(body));
    /* what pmsim really sent: its Basic auth passes, the kind is the event */
    char *id, *kind;
    struct err e;
    struct hreq h = {.auth = receiver_header(rv, i, "Authorization")};
    assert_non_null(h.auth);
    const char *raw = receiver_body(rv, i);
    h.rq = (struct webhook_req){.path = "/hooks/hostaway",
                                .body = raw,
                                .body_len = strlen(raw),
                                .header = hreq_header,
                                .ctx = &h};
    assert_int_equal(hostaway_adapter.webhook_verify(A, &h.rq, &id, &kind, &e), 0);
    assert_string_equal(kind, "message.received");
    assert_int_equal(strncmp(id, "sha256:", 7), 0);
    /* a fresh instance (empty conversation cache) and a store without the thread */
    struct adapter *a = mk(&conf, &host);
    struct tsink *t = seeded(cid);
    int rc = hostaway_adapter.webhook_apply(a, kind, raw, &t->s, &e);
    if (rc != 0)
        fail_msg("webhook_apply: %s", e.msg);
    assert_int_equal(t->ndrift, 0);
    /* exactly: message refused (thread unknown), thread put, message put */
    assert_int_equal(t->nev, 3);
    assert_int_equal(t->ev[0].ent, ENT_MESSAGE);
    assert_true(t->ev[0].refused);
    assert_string_equal(t->ev[0].id, mid);
    assert_int_equal(t->ev[1].ent, ENT_THREAD);
    assert_false(t->ev[1].refused);
    assert_string_equal(t->ev[1].id, cid);
    assert_int_equal(t->ev[1].ch, CH_BOOKING);
    assert_int_equal(t->ev[2].ent, ENT_MESSAGE);
    assert_false(t->ev[2].refused);
    assert_string_equal(t->ev[2].id, mid);
    assert_string_equal(t->ev[2].body, body);
    assert_string_equal(t->ev[2].thread, cid);
    assert_int_equal(t->ev[2].dir, DIR_IN);
    assert_int_equal(t->ev[2].ch, CH_BOOKING); /* "channel" on a booking.com reservation */
    cJSON *convs = state("conversations");
    assert_string_equal(t->ev[2].author, sstr(by_id(convs, conv), "recipientName"));
    cJSON_Delete(convs);
    /* applying the same event again (a duplicate delivery) is harmless */
    ts_reset(t);
    assert_int_equal(hostaway_adapter.webhook_apply(a, kind, raw, &t->s, &e), 0);
    assert_int_equal(t->nev, 1);
    assert_int_equal(t->ev[0].ent, ENT_MESSAGE);
    assert_false(t->ev[0].refused);
    free(id);
    free(kind);
    ts_free(&t);
    adapter_free(&a);
}

static void test_webhook_apply_reservation(void **st)
{
    (void)st;
    ctl("/_sim/inject", "{\"kind\":\"reservation\",\"listingMapId\":40162,\"channelId\":2002,"
                        "\"guestFirstName\":\"Ada\",\"guestLastName\":\"Lovelace\","
                        "\"arrivalDate\":\"2031-02-03\",\"departureDate\":\"2031-02-06\"}");
    int i = wait_hook("Lovelace", "reservation.created");
    const char *raw = receiver_body(rv, i);
    cJSON *j = cJSON_Parse(raw);
    char rid[32], guest[48];
    snprintf(rid, sizeof(rid), "%.0f", snum(cJSON_GetObjectItemCaseSensitive(j, "data"), "id"));
    snprintf(guest, sizeof(guest), "guest:%s", rid);
    cJSON_Delete(j);
    struct tsink *t = seeded("");
    struct err e;
    int rc = hostaway_adapter.webhook_apply(A, "reservation.created", raw, &t->s, &e);
    if (rc != 0)
        fail_msg("webhook_apply: %s", e.msg);
    assert_int_equal(t->nev, 2);
    assert_int_equal(t->ev[0].ent, ENT_CONTACT);
    assert_string_equal(t->ev[0].id, guest);
    assert_int_equal(t->ev[1].ent, ENT_STAY);
    assert_false(t->ev[1].refused);
    assert_string_equal(t->ev[1].id, rid);
    assert_string_equal(t->ev[1].channel, "vrbo");
    assert_string_equal(t->ev[1].unit, "40162");
    assert_string_equal(t->ev[1].contact, guest);
    /* events porter does not use are ignored */
    ts_reset(t);
    assert_int_equal(hostaway_adapter.webhook_apply(A, "listing.updated",
                                                    "{\"event\":\"listing.updated\"}", &t->s, &e),
                     0);
    assert_int_equal(t->nev, 0);
    ts_free(&t);
}

static void test_webhook_apply_drift(void **st)
{
    (void)st;
    struct tsink *t = seeded("");
    struct err e;
    /* isIncoming missing: quarantined (FINAL + EDRIFT), drift names the field */
    const char *no_dir = "{\"object\":\"conversationMessage\",\"event\":\"message.received\","
                         "\"data\":{\"id\":99000001,\"conversationId\":35460014,"
                         "\"reservationId\":2107,\"body\":\"hi\",\"date\":\"2026-05-06 "
                         "05:01:00\",\"communicationType\":\"email\"}}";
    assert_int_equal(hostaway_adapter.webhook_apply(A, "message.received", no_dir, &t->s, &e), -1);
    assert_int_equal(e.retry, FINAL);
    assert_int_equal(e.code, ADAPTER_EDRIFT);
    assert_int_equal(t->ndrift, 1);
    assert_int_equal(t->drift[0].ent, ENT_MESSAGE);
    assert_string_equal(t->drift[0].field, "isIncoming");
    assert_string_equal(t->drift[0].id, "99000001");
    assert_int_equal(t->nev, 0);
    /* body retyped to a number */
    ts_reset(t);
    const char *num_body = "{\"event\":\"message.received\",\"data\":{\"id\":99000002,"
                           "\"conversationId\":35460014,\"body\":42,\"isIncoming\":1,"
                           "\"date\":\"2026-05-06 05:01:00\"}}";
    assert_int_equal(hostaway_adapter.webhook_apply(A, "message.received", num_body, &t->s, &e),
                     -1);
    assert_int_equal(e.code, ADAPTER_EDRIFT);
    assert_string_equal(t->drift[0].field, "body");
    assert_int_equal(t->nev, 0);
    /* a reservation with an unknown status */
    ts_reset(t);
    const char *res = "{\"event\":\"reservation.updated\",\"data\":{\"id\":2107,"
                      "\"listingMapId\":40160,\"arrivalDate\":\"2026-07-11\","
                      "\"status\":\"teleported\"}}";
    assert_int_equal(hostaway_adapter.webhook_apply(A, "reservation.updated", res, &t->s, &e), -1);
    assert_int_equal(e.code, ADAPTER_EDRIFT);
    assert_string_equal(t->drift[0].field, "status");
    assert_int_equal(t->nev, 0);
    ts_free(&t);
}

static void test_drift_pull_messages(void **st)
{
    (void)st;
    ctl("/_sim/faults", "{\"drift_from\":\"isIncoming\",\"drift_to\":\"incoming\"}");
    struct tsink *t = ts_new(0);
    char *cur = NULL;
    for (int i = 0; i < 1000; i++) {
        char *next = NULL;
        struct err e;
        int rc = hostaway_adapter.pull(A, ENT_MESSAGE, cur, &t->s, &next, &e);
        if (rc < 0) {
            ctl("/_sim/faults", "{\"drift_from\":\"\",\"drift_to\":\"\"}");
            fail_msg("pull: %s", e.msg);
        }
        free(cur);
        cur = next;
        if (rc == 0)
            break;
    }
    free(cur);
    ctl("/_sim/faults", "{\"drift_from\":\"\",\"drift_to\":\"\"}");
    assert_int_equal(ts_count(t, ENT_MESSAGE), 0);
    assert_true(t->ndrift >= ts_count(full, ENT_MESSAGE));
    for (int i = 0; i < t->ndrift && i < (int)ARRAY_LEN(t->drift); i++) {
        assert_int_equal(t->drift[i].ent, ENT_MESSAGE);
        assert_string_equal(t->drift[i].field, "isIncoming");
        assert_true(t->drift[i].id[0] >= '1' && t->drift[i].id[0] <= '9');
    }
    /* and with the field back, the same pull delivers again */
    ts_reset(t);
    cur = NULL;
    pull_all(A, ENT_MESSAGE, &cur, t);
    free(cur);
    assert_int_equal(t->ndrift, 0);
    assert_true(ts_count(t, ENT_MESSAGE) > 100);
    ts_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_table),
        cmocka_unit_test(test_auth_bad_secret),
        cmocka_unit_test(test_auth_shared_token),
        cmocka_unit_test(test_auth_wrapped_token),
        cmocka_unit_test(test_auth_expired_remint),
        cmocka_unit_test(test_full_pull),
        cmocka_unit_test(test_second_pull_only_overlap),
        cmocka_unit_test(test_pull_after_inject),
        cmocka_unit_test(test_push_reply),
        cmocka_unit_test(test_push_dropped_then_find),
        cmocka_unit_test(test_find_never_sent),
        cmocka_unit_test(test_work_order_round_trip),
        cmocka_unit_test(test_push_validation_final),
        cmocka_unit_test(test_webhook_verify),
        cmocka_unit_test(test_webhook_apply_unknown_thread),
        cmocka_unit_test(test_webhook_apply_reservation),
        cmocka_unit_test(test_webhook_apply_drift),
        cmocka_unit_test(test_drift_pull_messages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
