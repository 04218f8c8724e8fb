/* test_pmsim_guesty.c - pmsim's Guesty dialect over real HTTP: auth and the token quota,
 * skip and cursor paging, updated-since filters, every write, 429s, Svix webhooks (verified
 * here with libcrypto), retries, drop-after-write, schema drift and determinism.
 *
 *   PMSIM_BIN=$PWD/pmsim build/tests/integration/test_pmsim_guesty
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "simctl.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define FORM   "Content-Type: application/x-www-form-urlencoded"
#define CREDS  "grant_type=client_credentials&scope=open-api&client_id=pmsim-guesty&client_secret="

static char data_dir[1024];
static pid_t live[16]; /* every pmsim started, so a failed test leaves none behind */
static int nlive;

static void track(const struct simproc *p)
{
    if (nlive < 16)
        live[nlive++] = p->pid;
}

/* Kill what a failed test left running (an already reaped pid is not touched). */
static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < nlive; i++)
        if (live[i] > 0 && waitpid(live[i], NULL, WNOHANG) == 0) {
            kill(live[i], SIGTERM);
            waitpid(live[i], NULL, 0);
        }
    nlive = 0;
    return 0;
}

struct g {
    struct simproc p;
    char base[64];
    char auth[1200];
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Start pmsim (guesty only) with extra flags; the demo fixture unless no_data. The rate
 * limiter is off unless limited (tests that need it on say so). */
static void start_opt(struct g *g, int no_data, int limited, const char *const *extra)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = "--account";
    argv[n++] = "guesty:0";
    argv[n++] = "--seed";
    argv[n++] = "7";
    if (!no_data) {
        argv[n++] = "--data";
        argv[n++] = data_dir;
    }
    if (!limited) {
        argv[n++] = "--fault";
        argv[n++] = "rate_limit_off=1";
    }
    for (int i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    assert_int_equal(sim_spawn(&g->p, argv), 0);
    track(&g->p);
    snprintf(g->base, sizeof(g->base), "http://127.0.0.1:%d", g->p.port[0]);
    g->auth[0] = '\0';
}

static void start(struct g *g, int no_data, const char *const *extra)
{
    start_opt(g, no_data, 0, extra);
}

static long req(struct g *g, const char *method, const char *path, const char *body,
                struct http_result *r)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", g->base, path);
    const char *h[3] = {g->auth[0] ? g->auth : NULL, NULL, NULL};
    if (body) {
        h[g->auth[0] ? 1 : 0] = "Content-Type: application/json";
    }
    http_do(method, url, h, body, r);
    return r->status;
}

/* GET/POST returning parsed JSON (caller frees); asserts the status. */
static cJSON *jreq(struct g *g, const char *method, const char *path, const char *body, long want)
{
    struct http_result r;
    long st = req(g, method, path, body, &r);
    if (st != want)
        fprintf(stderr, "%s %s -> %ld %s\n", method, path, st, r.body);
    assert_int_equal(st, want);
    cJSON *j = cJSON_Parse(r.body);
    http_result_free(&r);
    return j;
}

static long mint(struct g *g, const char *secret, struct http_result *r)
{
    char url[128], body[256];
    snprintf(url, sizeof(url), "%s/oauth2/token", g->base);
    snprintf(body, sizeof(body), CREDS "%s", secret);
    const char *h[] = {FORM, "Accept: application/json", NULL};
    http_do("POST", url, h, body, r);
    return r->status;
}

static void login(struct g *g)
{
    struct http_result r;
    assert_int_equal(mint(g, "pmsim-guesty-secret", &r), 200);
    cJSON *j = cJSON_Parse(r.body);
    const cJSON *t = cJSON_GetObjectItem(j, "access_token");
    assert_true(cJSON_IsString(t));
    snprintf(g->auth, sizeof(g->auth), "Authorization: Bearer %s", t->valuestring);
    cJSON_Delete(j);
    http_result_free(&r);
}

static void ctl(struct g *g, const char *path, const char *body)
{
    cJSON *j = jreq(g, "POST", path, body, 200);
    cJSON_Delete(j);
}

static int nwrites(struct g *g)
{
    cJSON *w = jreq(g, "GET", "/_sim/writes", NULL, 200);
    int n = cJSON_GetArraySize(w);
    cJSON_Delete(w);
    return n;
}

static const char *s(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* {"error":{"code":code,...}} */
static void assert_error_code(const char *body, const char *code)
{
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    assert_true(cJSON_IsObject(e));
    assert_string_equal(s(e, "code"), code);
    cJSON_Delete(j);
}

static void assert_validation(const char *body, const char *msg)
{
    cJSON *j = cJSON_Parse(body);
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    assert_string_equal(s(e, "code"), "VALIDATION_FAILED");
    assert_string_equal(s(e, "message"), "Bad Request");
    assert_int_equal(num(e, "status"), 400);
    const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "data"), 0);
    assert_true(cJSON_IsString(d));
    if (msg)
        assert_string_equal(d->valuestring, msg);
    cJSON_Delete(j);
}

/* ---- an independent Svix verifier (not pmsim code) ---- */

static int svix_verify(const char *secret, const char *id, const char *ts, const char *body,
                       const char *sig_header)
{
    const char *k64 = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : secret;
    unsigned char key[128];
    size_t kl = strlen(k64);
    int klen = EVP_DecodeBlock(key, (const unsigned char *)k64, (int)kl);
    if (klen < 0)
        return 0;
    while (kl && k64[kl - 1] == '=') {
        klen--;
        kl--;
    }
    size_t n = strlen(id) + strlen(ts) + strlen(body) + 3;
    char *content = malloc(n);
    snprintf(content, n, "%s.%s.%s", id, ts, body);
    unsigned char mac[32];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), key, klen, (unsigned char *)content, strlen(content), mac, &ml);
    free(content);
    char want[64];
    EVP_EncodeBlock((unsigned char *)want, mac, (int)ml);
    /* any space-separated v1,<sig> entry */
    char *hdr = strdup(sig_header), *save = NULL;
    int ok = 0;
    for (char *t = strtok_r(hdr, " ", &save); t; t = strtok_r(NULL, " ", &save))
        if (strncmp(t, "v1,", 3) == 0 && strlen(t + 3) == strlen(want) &&
            CRYPTO_memcmp(t + 3, want, strlen(want)) == 0)
            ok = 1;
    free(hdr);
    return ok;
}

static void test_svix_known_answer(void **state)
{
    (void)state;
    /* Standard Webhooks vector: proves the verifier itself */
    assert_true(svix_verify(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                            "{\"test\": 2432232314}",
                            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    assert_false(svix_verify(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                             "{\"test\": 2432232315}",
                             "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    assert_false(svix_verify(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265331",
                             "{\"test\": 2432232314}",
                             "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
}

/* ---- auth ---- */

static void test_auth(void **state)
{
    (void)state;
    struct g g;
    start(&g, 0, NULL);
    struct http_result r;

    /* no token, a made-up token */
    assert_int_equal(req(&g, "GET", "/v1/listings", NULL, &r), 401);
    assert_string_equal(r.body,
                        "{\"error\":{\"code\":\"UNAUTHORIZED\",\"message\":\"Unauthorized\"}}");
    http_result_free(&r);
    strcpy(g.auth, "Authorization: Bearer not-a-token");
    assert_int_equal(req(&g, "GET", "/v1/listings", NULL, &r), 401);
    assert_error_code(r.body, "UNAUTHORIZED");
    http_result_free(&r);
    g.auth[0] = '\0';

    /* bad client secret: OAuth error, no token counted */
    assert_int_equal(mint(&g, "wrong", &r), 401);
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(s(j, "error"), "invalid_client");
    assert_non_null(s(j, "error_description"));
    cJSON_Delete(j);
    http_result_free(&r);
    /* wrong grant type */
    {
        char url[128];
        snprintf(url, sizeof(url), "%s/oauth2/token", g.base);
        const char *h[] = {FORM, NULL};
        http_do("POST", url, h,
                "grant_type=password&scope=open-api&client_id=pmsim-guesty&client_secret=x", &r);
        assert_int_equal(r.status, 400);
        j = cJSON_Parse(r.body);
        assert_string_equal(s(j, "error"), "unsupported_grant_type");
        cJSON_Delete(j);
        http_result_free(&r);
    }

    /* a good token: the exact response fields */
    assert_int_equal(mint(&g, "pmsim-guesty-secret", &r), 200);
    j = cJSON_Parse(r.body);
    assert_string_equal(s(j, "token_type"), "Bearer");
    assert_int_equal(num(j, "expires_in"), 86400);
    assert_string_equal(s(j, "scope"), "open-api");
    assert_true(strlen(s(j, "access_token")) > 100);
    char tok[1100];
    snprintf(tok, sizeof(tok), "%s", s(j, "access_token"));
    cJSON_Delete(j);
    http_result_free(&r);
    snprintf(g.auth, sizeof(g.auth), "Authorization: Bearer %s", tok);
    assert_int_equal(req(&g, "GET", "/v1/listings", NULL, &r), 200);
    char hv[128];
    assert_int_equal(http_header(&r, "x-request-id", hv, sizeof(hv)), 0);
    http_result_free(&r);
    /* the token without "Bearer " */
    snprintf(g.auth, sizeof(g.auth), "Authorization: %s", tok);
    assert_int_equal(req(&g, "GET", "/v1/listings", NULL, &r), 403);
    http_result_free(&r);

    /* expired: 401, or 403 "Forbidden" with the switch */
    snprintf(g.auth, sizeof(g.auth), "Authorization: Bearer %s", tok);
    ctl(&g, "/_sim/inject", "{\"kind\":\"expire_tokens\"}");
    assert_int_equal(req(&g, "GET", "/v1/listings", NULL, &r), 401);
    assert_error_code(r.body, "UNAUTHORIZED");
    http_result_free(&r);
    ctl(&g, "/_sim/inject", "{\"kind\":\"settings\",\"expired_token_status\":403}");
    assert_int_equal(req(&g, "GET", "/v1/listings", NULL, &r), 403);
    assert_string_equal(r.body, "Forbidden");
    http_result_free(&r);

    /* the quota: 5 tokens per 24 h; the 6th is refused */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(mint(&g, "pmsim-guesty-secret", &r), 200);
        http_result_free(&r);
    }
    assert_int_equal(mint(&g, "pmsim-guesty-secret", &r), 429);
    j = cJSON_Parse(r.body);
    assert_string_equal(s(j, "error"), "too_many_requests");
    assert_non_null(s(j, "error_description"));
    cJSON_Delete(j);
    assert_int_equal(http_header(&r, "Retry-After", hv, sizeof(hv)), 0);
    assert_true(atoi(hv) > 86000 && atoi(hv) <= 86400);
    http_result_free(&r);
    g.auth[0] = '\0';
    j = jreq(&g, "GET", "/_sim/health", NULL, 200);
    assert_int_equal(num(j, "tokens_minted"), 5);
    cJSON_Delete(j);
    sim_kill(&g.p);
}

/* ---- paging ---- */

static int has_id(char ids[][25], int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return 1;
    return 0;
}

static void test_paging_reservations(void **state)
{
    (void)state;
    struct g g;
    start(&g, 0, NULL);
    login(&g);
    char ids[200][25];
    int n = 0, total = -1;
    for (int skip = 0;; skip += 7) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/reservations?limit=7&skip=%d&sort=_id", skip);
        cJSON *j = jreq(&g, "GET", path, NULL, 200);
        total = num(j, "count");
        assert_int_equal(num(j, "limit"), 7);
        assert_int_equal(num(j, "skip"), skip);
        const cJSON *res = cJSON_GetObjectItem(j, "results");
        const cJSON *r;
        int page = 0;
        cJSON_ArrayForEach(r, res)
        {
            assert_int_equal(strlen(s(r, "_id")), 24);
            assert_false(has_id(ids, n, s(r, "_id")));
            snprintf(ids[n++], 25, "%s", s(r, "_id"));
            page++;
        }
        cJSON_Delete(j);
        if (page < 7)
            break;
    }
    assert_int_equal(total, 20);
    assert_int_equal(n, 20);
    /* limit is capped at 100; below 1 is refused */
    cJSON *j = jreq(&g, "GET", "/v1/reservations?limit=500", NULL, 200);
    assert_int_equal(num(j, "limit"), 100);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "results")), 20);
    cJSON_Delete(j);
    struct http_result r;
    assert_int_equal(req(&g, "GET", "/v1/reservations?limit=0", NULL, &r), 400);
    assert_validation(r.body, NULL);
    http_result_free(&r);
    /* default page size 25, fields projection */
    j = jreq(&g, "GET", "/v1/listings?fields=nickname", NULL, 200);
    assert_int_equal(num(j, "limit"), 25);
    assert_int_equal(num(j, "count"), 6);
    const cJSON *l0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    assert_non_null(s(l0, "nickname"));
    assert_null(cJSON_GetObjectItem(l0, "title"));
    cJSON_Delete(j);
    sim_kill(&g.p);
}

/* Walk conversations with cursorAfter; returns the number seen (asserting no duplicates). */
static void test_paging_conversations(void **state)
{
    (void)state;
    struct g g;
    start(&g, 0, NULL);
    login(&g);
    char ids[200][25], after[512] = "", second_before[512] = "", first_ids[7][25];
    int n = 0, pages = 0;
    for (;;) {
        char path[700];
        snprintf(path, sizeof(path), "/v1/communication/conversations?limit=7%s%s",
                 after[0] ? "&cursorAfter=" : "", after);
        cJSON *j = jreq(&g, "GET", path, NULL, 200);
        assert_int_equal(num(j, "status"), 200);
        const cJSON *d = cJSON_GetObjectItem(j, "data");
        assert_int_equal(num(d, "count"), 30);
        assert_int_equal(num(d, "limit"), 7);
        assert_true(num(d, "countUnread") >= 1);
        const cJSON *cur = cJSON_GetObjectItem(d, "cursor");
        if (pages == 0)
            assert_string_equal(s(cur, "before"), "");
        if (pages == 1)
            snprintf(second_before, sizeof(second_before), "%s", s(cur, "before"));
        const cJSON *c;
        int k = 0;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(d, "conversations"))
        {
            assert_false(has_id(ids, n, s(c, "_id")));
            assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "meta"), "guest"));
            if (pages == 0)
                snprintf(first_ids[k], 25, "%s", s(c, "_id"));
            snprintf(ids[n++], 25, "%s", s(c, "_id"));
            k++;
        }
        pages++;
        snprintf(after, sizeof(after), "%s", s(cur, "after"));
        cJSON_Delete(j);
        if (!after[0])
            break;
        assert_true(pages < 10);
    }
    assert_int_equal(n, 30);
    assert_int_equal(pages, 5);
    /* cursorBefore from page 2 gives page 1 back */
    assert_true(second_before[0] != '\0');
    char path[700];
    snprintf(path, sizeof(path), "/v1/communication/conversations?limit=7&cursorBefore=%s",
             second_before);
    cJSON *j = jreq(&g, "GET", path, NULL, 200);
    const cJSON *list = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "conversations");
    assert_int_equal(cJSON_GetArraySize(list), 7);
    for (int i = 0; i < 7; i++)
        assert_string_equal(s(cJSON_GetArrayItem(list, i), "_id"), first_ids[i]);
    cJSON_Delete(j);
    /* sorting on modifiedAt without it in fields: the cursor comes back empty (SPEC) */
    j = jreq(&g, "GET", "/v1/communication/conversations?limit=7&sort=-modifiedAt&fields=_id", NULL,
             200);
    assert_string_equal(s(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "cursor"), "after"),
                        "");
    cJSON_Delete(j);
    j = jreq(&g, "GET",
             "/v1/communication/conversations?limit=7&sort=-modifiedAt&fields=_id%20modifiedAt",
             NULL, 200);
    assert_true(strlen(s(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "cursor"), "after")) >
                0);
    cJSON_Delete(j);
    struct http_result r;
    assert_int_equal(req(&g, "GET", "/v1/communication/conversations?cursorAfter=%21%21", NULL, &r),
                     400);
    assert_validation(r.body, NULL);
    http_result_free(&r);
    sim_kill(&g.p);
}

static void test_paging_posts(void **state)
{
    (void)state;
    struct g g;
    start(&g, 0, NULL);
    login(&g);
    cJSON *j = jreq(&g, "GET", "/v1/communication/conversations?limit=1", NULL, 200);
    char cid[25];
    snprintf(cid, sizeof(cid), "%s",
             s(cJSON_GetArrayItem(
                   cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "conversations"), 0),
               "_id"));
    cJSON_Delete(j);
    char after[512] = "", prev[32] = "9999";
    int n = 0, total = -1;
    char ids[100][25];
    for (int guard = 0; guard < 50; guard++) {
        char path[800];
        snprintf(path, sizeof(path), "/v1/communication/conversations/%s/posts?limit=1%s%s", cid,
                 after[0] ? "&cursorAfter=" : "", after);
        j = jreq(&g, "GET", path, NULL, 200);
        const cJSON *d = cJSON_GetObjectItem(j, "data");
        total = num(d, "count");
        assert_string_equal(s(d, "sort"), "-createdAt");
        const cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "posts"), 0);
        if (p) {
            assert_string_equal(s(p, "conversationId"), cid);
            assert_true(strcmp(s(p, "createdAt"), prev) <= 0); /* newest first */
            snprintf(prev, sizeof(prev), "%s", s(p, "createdAt"));
            assert_false(has_id(ids, n, s(p, "_id")));
            snprintf(ids[n++], 25, "%s", s(p, "_id"));
        }
        snprintf(after, sizeof(after), "%s", s(cJSON_GetObjectItem(d, "cursor"), "after"));
        cJSON_Delete(j);
        if (!after[0])
            break;
    }
    assert_true(total >= 2);
    assert_int_equal(n, total);
    sim_kill(&g.p);
}

/* ---- updated-since ---- */

static void test_updated_since(void **state)
{
    (void)state;
    struct g g;
    start(&g, 0, NULL);
    login(&g);
    /* the latest lastUpdatedAt of the fixture */
    cJSON *j = jreq(&g, "GET", "/v1/reservations?limit=1&sort=-lastUpdatedAt", NULL, 200);
    char since[40];
    snprintf(since, sizeof(since), "%s",
             s(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0), "lastUpdatedAt"));
    cJSON_Delete(j);
    char path[512];
    snprintf(path, sizeof(path),
             "/v1/reservations?filters=%%5B%%7B%%22field%%22%%3A%%22lastUpdatedAt%%22%%2C%%22"
             "operator%%22%%3A%%22%%24gt%%22%%2C%%22value%%22%%3A%%22%s%%22%%7D%%5D",
             since);
    j = jreq(&g, "GET", path, NULL, 200);
    assert_int_equal(num(j, "count"), 0);
    cJSON_Delete(j);
    /* a new reservation and a guest message: only the new one is newer */
    ctl(&g, "/_sim/inject", "{\"kind\":\"reservation\",\"guestName\":\"Ådne Brøgger\"}");
    j = jreq(&g, "GET", path, NULL, 200);
    assert_int_equal(num(j, "count"), 1);
    const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    assert_string_equal(s(cJSON_GetObjectItem(r, "guest"), "fullName"), "Ådne Brøgger");
    assert_string_equal(s(r, "status"), "confirmed");
    cJSON_Delete(j);
    /* conversations have no updated-since filter: modifiedAt is not a filter field */
    struct http_result hr;
    assert_int_equal(req(&g, "GET",
                         "/v1/communication/conversations?filters=%5B%7B%22field%22%3A%22"
                         "modifiedAt%22%2C%22operator%22%3A%22%24gt%22%2C%22value%22%3A%222026%22"
                         "%7D%5D",
                         NULL, &hr),
                     400);
    assert_validation(hr.body, NULL);
    http_result_free(&hr);
    /* but a documented field works */
    j = jreq(&g, "GET",
             "/v1/communication/conversations?filters=%5B%7B%22field%22%3A%22read%22%2C%22"
             "operator%22%3A%22%24eq%22%2C%22value%22%3Afalse%7D%5D",
             NULL, 200);
    const cJSON *d = cJSON_GetObjectItem(j, "data");
    assert_int_equal(num(d, "count"), num(d, "countUnread"));
    assert_true(num(d, "count") >= 1 && num(d, "count") < 30);
    cJSON_Delete(j);
    sim_kill(&g.p);
}

/* ---- writes ---- */

static int count_posts(struct g *g, const char *cid)
{
    char path[200];
    snprintf(path, sizeof(path), "/v1/communication/conversations/%s/posts?limit=100", cid);
    cJSON *j = jreq(g, "GET", path, NULL, 200);
    int n = num(cJSON_GetObjectItem(j, "data"), "count");
    cJSON_Delete(j);
    return n;
}

static void first_conv(struct g *g, char cid[25])
{
    cJSON *j = jreq(g, "GET", "/v1/communication/conversations?limit=1", NULL, 200);
    snprintf(cid, 25, "%s",
             s(cJSON_GetArrayItem(
                   cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "conversations"), 0),
               "_id"));
    cJSON_Delete(j);
}

static void test_write_send_message(void **state)
{
    (void)state;
    struct g g;
    start(&g, 0, NULL);
    login(&g);
    char cid[25], path[200];
    first_conv(&g, cid);
    int before = count_posts(&g, cid);
    snprintf(path, sizeof(path), "/v1/communication/conversations/%s/send-message", cid);
    cJSON *j = jreq(&g, "POST", path,
                    "{\"module\":{\"type\":\"email\",\"to\":[\"a@b.c\"]},\"body\":\"Olá 👋\"}", 200);
    assert_int_equal(num(j, "status"), 200);
    const cJSON *p = cJSON_GetObjectItem(j, "data");
    assert_int_equal(strlen(s(p, "_id")), 24);
    assert_string_equal(s(p, "conversationId"), cid);
    assert_string_equal(s(p, "body"), "Olá 👋");
    assert_string_equal(s(p, "sentBy"), "host");
    assert_string_equal(s(cJSON_GetObjectItem(p, "module"), "type"), "email");
    const cJSON *to0 =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "module"), "to"), 0);
    assert_true(cJSON_IsString(to0));
    assert_string_equal(to0->valuestring, "a@b.c");
    assert_int_equal(strlen(s(p, "createdAt")), 24);
    cJSON_Delete(j);
    assert_int_equal(count_posts(&g, cid), before + 1);
    cJSON *w = jreq(&g, "GET", "/_sim/writes", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(w), 1);
    assert_string_equal(s(cJSON_GetArrayItem(w, 0), "path"), path);
    assert_string_equal(s(cJSON_GetArrayItem(w, 0), "method"), "POST");
    cJSON_Delete(w);
    /* module as a bare string (3P clients) */
    j = jreq(&g, "POST", path, "{\"module\":\"airbnb2\",\"body\":\"See you soon\"}", 200);
    assert_string_equal(s(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "module"), "type"),
                        "airbnb2");
    cJSON_Delete(j);
    assert_int_equal(nwrites(&g), 2);
    /* missing body, a note via send-message, malformed JSON: refused, nothing written */
    struct http_result r;
    assert_int_equal(req(&g, "POST", path, "{\"module\":{\"type\":\"sms\"}}", &r), 400);
    assert_validation(r.body, "body should not be empty");
    http_result_free(&r);
    assert_int_equal(req(&g, "POST", path, "{\"module\":{\"type\":\"note\"},\"body\":\"x\"}", &r),
                     400);
    assert_validation(r.body, NULL);
    http_result_free(&r);
    assert_int_equal(req(&g, "POST", path, "{\"module\":", &r), 400);
    assert_error_code(r.body, "BAD_REQUEST");
    http_result_free(&r);
    assert_int_equal(req(&g, "POST",
                         "/v1/communication/conversations/000000000000000000000000/send-message",
                         "{\"module\":{\"type\":\"sms\"},\"body\":\"x\"}", &r),
                     404);
    assert_error_code(r.body, "NOT_FOUND");
    http_result_free(&r);
    assert_int_equal(nwrites(&g), 2);
    assert_int_equal(count_posts(&g, cid), before + 2);
    sim_kill(&g.p);
}

static void test_write_note(void **state)
{
    (void)state;
    struct g g;
    start(&g, 0, NULL);
    login(&g);
    char cid[25], path[200];
    first_conv(&g, cid);
    int before = count_posts(&g, cid);
    snprintf(path, sizeof(path), "/v1/communication/conversations/%s/posts", cid);
    cJSON *j = jreq(
        &g, "POST", path,
        "{\"module\":{\"type\":\"note\"},\"body\":\"Plumber booked\",\"sentBy\":\"host\"}", 200);
    const cJSON *p = cJSON_GetObjectItem(j, "data");
    assert_string_equal(s(cJSON_GetObjectItem(p, "module"), "type"), "note");
    assert_string_equal(s(p, "body"), "Plumber booked");
    cJSON_Delete(j);
    assert_int_equal(count_posts(&g, cid), before + 1);
    cJSON *w = jreq(&g, "GET", "/_sim/writes", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(w), 1);
    assert_string_equal(s(cJSON_GetArrayItem(w, 0), "path"), path);
    cJSON_Delete(w);
    sim_kill(&g.p);
}

static void test_write_reservation(void **state)
{
    (void)state;
    struct g g;
    start(&g, 0, NULL);
    login(&g);
    cJSON *j = jreq(&g, "GET",
                    "/v1/reservations?filters=%5B%7B%22field%22%3A%22status%22%2C%22operator%22%3A"
                    "%22%24eq%22%2C%22value%22%3A%22confirmed%22%7D%5D&limit=1",
                    NULL, 200);
    char rid[25], path[100], cid[25];
    const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    snprintf(rid, sizeof(rid), "%s", s(r0, "_id"));
    snprintf(cid, sizeof(cid), "%s", s(r0, "conversationId"));
    cJSON_Delete(j);
    int posts = count_posts(&g, cid);
    snprintf(path, sizeof(path), "/v1/reservations/%s", rid);
    struct http_result r;
    /* two l's is not a Guesty status */
    assert_int_equal(req(&g, "PUT", path, "{\"status\":\"cancelled\"}", &r), 400);
    assert_validation(r.body, NULL);
    http_result_free(&r);
    j = jreq(&g, "PUT", path, "{\"status\":\"canceled\"}", 200);
    assert_string_equal(s(j, "status"), "canceled");
    assert_string_equal(s(j, "_id"), rid);
    cJSON_Delete(j);
    j = jreq(&g, "GET", path, NULL, 200);
    assert_string_equal(s(j, "status"), "canceled");
    cJSON_Delete(j);
    assert_int_equal(count_posts(&g, cid), posts + 1); /* the log line */
    assert_int_equal(nwrites(&g), 1);
    /* missing: a plain string */
    assert_int_equal(req(&g, "GET", "/v1/reservations/000000000000000000000000", NULL, &r), 404);
    assert_string_equal(r.body, "Reservation Not Found");
    http_result_free(&r);
    assert_int_equal(req(&g, "PUT", "/v1/reservations/000000000000000000000000",
                         "{\"status\":\"canceled\"}", &r),
                     404);
    assert_string_equal(r.body, "Reservation Not Found");
    http_result_free(&r);
    assert_int_equal(req(&g, "PUT", path, "{status", &r), 400);
    assert_error_code(r.body, "BAD_REQUEST");
    http_result_free(&r);
    assert_int_equal(nwrites(&g), 1);
    sim_kill(&g.p);
}

static void test_tasks(void **state)
{
    (void)state;
    struct g g;
    start(&g, 0, NULL);
    login(&g);
    struct http_result r;
    assert_int_equal(req(&g, "GET", "/v1/tasks-open-api/tasks", NULL, &r), 400);
    assert_validation(r.body, "columns should not be empty");
    http_result_free(&r);
    assert_int_equal(req(&g, "GET", "/v1/tasks-open-api/tasks?columns=status&limit=10", NULL, &r),
                     400);
    assert_validation(r.body, "limit must not be less than 25");
    http_result_free(&r);
    cJSON *j =
        jreq(&g, "GET", "/v1/tasks-open-api/tasks?columns=status%20taskTitle%20listing", NULL, 200);
    int before = num(j, "count");
    assert_int_equal(before, 6);
    const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    assert_non_null(s(row, "status"));
    assert_non_null(s(row, "taskTitle"));
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(row, "listing")));
    assert_null(cJSON_GetObjectItem(row, "priority")); /* only the columns asked for */
    cJSON_Delete(j);
    j = jreq(&g, "GET", "/v1/listings?limit=1", NULL, 200);
    char lid[25];
    snprintf(lid, sizeof(lid), "%s",
             s(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0), "_id"));
    cJSON_Delete(j);
    /* missing title: the tasks service's own validation shape */
    char body[512];
    snprintf(body, sizeof(body), "{\"listingId\":\"%s\",\"type\":\"maintenance\"}", lid);
    assert_int_equal(req(&g, "POST", "/v1/tasks-open-api/create-single-task", body, &r), 400);
    j = cJSON_Parse(r.body);
    assert_string_equal(s(j, "code"), "ValidationError");
    assert_non_null(s(j, "message"));
    assert_non_null(s(j, "requestId"));
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "details")));
    cJSON_Delete(j);
    http_result_free(&r);
    /* both create paths */
    snprintf(body, sizeof(body),
             "{\"listingId\":\"%s\",\"title\":\"Fix tap\",\"type\":\"maintenance\","
             "\"priority\":\"high\",\"startTime\":\"2026-05-03T10:00:00.000Z\"}",
             lid);
    j = jreq(&g, "POST", "/v1/tasks-open-api/create-single-task", body, 201);
    char tid[25];
    snprintf(tid, sizeof(tid), "%s", s(j, "_id"));
    assert_string_equal(s(j, "status"), "pending");
    assert_string_equal(s(j, "priority"), "high");
    assert_string_equal(s(cJSON_GetObjectItem(j, "timing"), "startTime"),
                        "2026-05-03T10:00:00.000Z");
    cJSON_Delete(j);
    j = jreq(&g, "POST", "/v1/tasks-open-api/tasks", body, 201);
    assert_string_equal(s(j, "title"), "Fix tap");
    cJSON_Delete(j);
    char path[100];
    snprintf(path, sizeof(path), "/v1/tasks-open-api/%s", tid);
    /* status enum: "in progress" with a space */
    assert_int_equal(req(&g, "PUT", path, "{\"status\":\"in_progress\"}", &r), 400);
    assert_validation(r.body, NULL);
    http_result_free(&r);
    j = jreq(&g, "PUT", path, "{\"status\":\"in progress\"}", 200);
    assert_string_equal(s(j, "status"), "in progress");
    cJSON_Delete(j);
    j = jreq(&g, "GET", path, NULL, 200);
    assert_string_equal(s(j, "status"), "in progress");
    cJSON_Delete(j);
    assert_int_equal(req(&g, "DELETE", path, NULL, &r), 204);
    http_result_free(&r);
    assert_int_equal(req(&g, "GET", path, NULL, &r), 404);
    assert_error_code(r.body, "NOT_FOUND");
    http_result_free(&r);
    j = jreq(&g, "GET",
             "/v1/tasks-open-api/tasks?columns=status&filters=%7B%22status%22%3A%7B%22%40in%22%3A"
             "%5B%22pending%22%5D%7D%7D",
             NULL, 200);
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(j, "results"))
    {
        assert_string_equal(s(x, "status"), "pending");
    }
    cJSON_Delete(j);
    j = jreq(&g, "GET", "/v1/tasks-open-api/tasks?columns=status", NULL, 200);
    assert_int_equal(num(j, "count"), before + 1);
    cJSON_Delete(j);
    cJSON *w = jreq(&g, "GET", "/_sim/writes", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(w), 4);
    assert_string_equal(s(cJSON_GetArrayItem(w, 3), "method"), "DELETE");
    cJSON_Delete(w);
    j = jreq(&g, "GET", "/v1/users", NULL, 200);
    assert_int_equal(num(j, "count"), 4);
    cJSON_Delete(j);
    /* unknown route */
    assert_int_equal(req(&g, "GET", "/v1/nope", NULL, &r), 404);
    assert_error_code(r.body, "NOT_FOUND");
    http_result_free(&r);
    sim_kill(&g.p);
}

/* ---- 429 ---- */

static void test_rate_limit(void **state)
{
    (void)state;
    struct g g;
    start_opt(&g, 0, 1, NULL);
    login(&g);
    struct http_result r;
    char hv[64];
    /* hammer: the per-second window (15) runs out */
    int ok = 0, limited = 0;
    for (int i = 0; i < 40 && !limited; i++) {
        req(&g, "GET", "/v1/users", NULL, &r);
        if (r.status == 200) {
            ok++;
            assert_int_equal(http_header(&r, "X-RateLimit-Limit-Second", hv, sizeof(hv)), 0);
            assert_string_equal(hv, "15");
        } else {
            assert_int_equal(r.status, 429);
            limited = 1;
            assert_string_equal(
                r.body,
                "{\"error\":{\"code\":\"TOO_MANY_REQUESTS\",\"message\":\"Too Many Requests\"}}");
            assert_int_equal(http_header(&r, "Retry-After", hv, sizeof(hv)), 0);
            assert_string_equal(hv, "1");
            assert_int_equal(http_header(&r, "X-RateLimit-Remaining-Second", hv, sizeof(hv)), 0);
            assert_string_equal(hv, "0");
        }
        http_result_free(&r);
    }
    assert_true(limited);
    assert_true(ok <= 15);
    sleep_ms(1100);
    /* a storm: every request 429 */
    ctl(&g, "/_sim/faults", "{\"storm_s\":5}");
    assert_int_equal(req(&g, "GET", "/v1/listings", NULL, &r), 429);
    assert_error_code(r.body, "TOO_MANY_REQUESTS");
    assert_int_equal(http_header(&r, "Retry-After", hv, sizeof(hv)), 0);
    assert_string_equal(hv, "10");
    static const char *const names[] = {"X-RateLimit-Limit-Second",
                                        "X-RateLimit-Limit-Minute",
                                        "X-RateLimit-Limit-Hour",
                                        "X-RateLimit-Remaining-Second",
                                        "X-RateLimit-Remaining-Minute",
                                        "X-RateLimit-Remaining-Hour",
                                        "x-request-id"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_int_equal(http_header(&r, names[i], hv, sizeof(hv)), 0);
    assert_int_equal(http_header(&r, "X-RateLimit-Limit-Minute", hv, sizeof(hv)), 0);
    assert_string_equal(hv, "120");
    assert_int_equal(http_header(&r, "X-RateLimit-Limit-Hour", hv, sizeof(hv)), 0);
    assert_string_equal(hv, "5000");
    http_result_free(&r);
    sim_kill(&g.p);
}

/* ---- webhooks ---- */

static void start_hooks(struct g *g, struct receiver *rv, const char *time_factor)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hooks/{dialect}", receiver_port(rv));
    const char *extra[] = {"--webhook-url", url, "--time-factor", time_factor, NULL};
    start(g, 0, extra);
}

static void test_webhook_signature(void **state)
{
    (void)state;
    struct receiver *rv = receiver_start(200);
    assert_non_null(rv);
    struct g g;
    start_hooks(&g, rv, "1");
    char cid[25], inj[256];
    login(&g);
    first_conv(&g, cid);
    snprintf(inj, sizeof(inj),
             "{\"kind\":\"message\",\"conversationId\":\"%s\",\"body\":\"Bonjour ☀ \\u001b[2J\","
             "\"module\":\"whatsapp\"}",
             cid);
    ctl(&g, "/_sim/inject", inj);
    assert_int_equal(receiver_wait(rv, 1, 5000), 1);
    const char *id = receiver_header(rv, 0, "svix-id");
    const char *ts = receiver_header(rv, 0, "svix-timestamp");
    const char *sig = receiver_header(rv, 0, "svix-signature");
    const char *body = receiver_body(rv, 0);
    assert_non_null(id);
    assert_non_null(ts);
    assert_non_null(sig);
    assert_int_equal(strncmp(id, "msg_", 4), 0);
    long long t = atoll(ts), now = (long long)time(NULL);
    assert_true(t > now - 300 && t <= now + 5);
    assert_true(svix_verify(SECRET, id, ts, body, sig));
    /* tampered body, wrong secret: rejected */
    char *bad = strdup(body);
    bad[strlen(bad) / 2] ^= 1;
    assert_false(svix_verify(SECRET, id, ts, bad, sig));
    free(bad);
    assert_false(
        svix_verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", id, ts, body, sig));
    cJSON *j = cJSON_Parse(body);
    assert_string_equal(s(j, "event"), "reservation.messageReceived");
    const cJSON *m = cJSON_GetObjectItem(j, "message");
    assert_string_equal(s(m, "type"), "fromGuest");
    assert_string_equal(s(m, "body"), "Bonjour ☀ \x1b[2J");
    assert_string_equal(s(m, "module"), "whatsapp");
    assert_string_equal(s(cJSON_GetObjectItem(j, "conversation"), "_id"), cid);
    cJSON_Delete(j);
    /* a write sends its webhook too: messageSent; a task update: task.updated */
    char path[200];
    snprintf(path, sizeof(path), "/v1/communication/conversations/%s/send-message", cid);
    j = jreq(&g, "POST", path, "{\"module\":{\"type\":\"sms\"},\"body\":\"On our way\"}", 200);
    cJSON_Delete(j);
    assert_int_equal(receiver_wait(rv, 2, 5000), 2);
    j = cJSON_Parse(receiver_body(rv, 1));
    assert_string_equal(s(j, "event"), "reservation.messageSent");
    assert_string_equal(s(cJSON_GetObjectItem(j, "message"), "type"), "fromHost");
    cJSON_Delete(j);
    assert_true(svix_verify(SECRET, receiver_header(rv, 1, "svix-id"),
                            receiver_header(rv, 1, "svix-timestamp"), receiver_body(rv, 1),
                            receiver_header(rv, 1, "svix-signature")));
    assert_string_not_equal(receiver_header(rv, 0, "svix-id"), receiver_header(rv, 1, "svix-id"));
    ctl(&g, "/_sim/inject", "{\"kind\":\"task_status\",\"status\":\"completed\"}");
    assert_int_equal(receiver_wait(rv, 3, 5000), 3);
    j = cJSON_Parse(receiver_body(rv, 2));
    assert_string_equal(s(j, "event"), "task.updated");
    assert_string_equal(s(cJSON_GetObjectItem(j, "task"), "status"), "completed");
    assert_non_null(s(j, "by"));
    cJSON_Delete(j);
    ctl(&g, "/_sim/inject", "{\"kind\":\"reservation\"}");
    assert_int_equal(receiver_wait(rv, 4, 5000), 4);
    j = cJSON_Parse(receiver_body(rv, 3));
    assert_string_equal(s(j, "event"), "reservation.created.v2");
    assert_non_null(s(j, "publishedAt"));
    assert_non_null(s(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "reservation"), "_id"));
    cJSON_Delete(j);
    /* duplicates carry the same svix-id */
    ctl(&g, "/_sim/faults", "{\"webhook_dup\":1}");
    ctl(&g, "/_sim/inject", "{\"kind\":\"message\"}");
    assert_int_equal(receiver_wait(rv, 6, 5000), 6);
    assert_string_equal(receiver_header(rv, 4, "svix-id"), receiver_header(rv, 5, "svix-id"));
    assert_string_equal(receiver_body(rv, 4), receiver_body(rv, 5));
    sim_kill(&g.p);
    receiver_stop(&rv);
}

static void test_webhook_retries(void **state)
{
    (void)state;
    struct receiver *rv = receiver_start(500);
    assert_non_null(rv);
    struct g g;
    /* Svix schedule 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: ~27.6 h; x0.0001 = ~10 s */
    start_hooks(&g, rv, "0.0001");
    ctl(&g, "/_sim/inject", "{\"kind\":\"message\",\"body\":\"retry me\"}");
    assert_int_equal(receiver_wait(rv, 8, 20000), 8);
    sleep_ms(1500);
    assert_int_equal(receiver_count(rv), 8); /* 1 + 7 retries, then it stops */
    for (int i = 1; i < 8; i++) {
        assert_string_equal(receiver_header(rv, i, "svix-id"), receiver_header(rv, 0, "svix-id"));
        assert_string_equal(receiver_body(rv, i), receiver_body(rv, 0));
        assert_true(svix_verify(SECRET, receiver_header(rv, i, "svix-id"),
                                receiver_header(rv, i, "svix-timestamp"), receiver_body(rv, i),
                                receiver_header(rv, i, "svix-signature")));
    }
    /* the first retry comes after ~5 s x factor, the last ones after 10 h x factor = 3.6 s */
    cJSON *d = jreq(&g, "GET", "/_sim/state?collection=_deliveries", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(d), 8);
    double t6 = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 6), "at"));
    double t7 = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 7), "at"));
    assert_true(t7 - t6 >= 3500);
    assert_int_equal(num(cJSON_GetArrayItem(d, 7), "status"), 500);
    cJSON_Delete(d);
    sim_kill(&g.p);
    receiver_stop(&rv);
}

/* ---- faults ---- */

static void test_drop_after_write(void **state)
{
    (void)state;
    struct g g;
    start(&g, 0, NULL);
    login(&g);
    char cid[25], path[200];
    first_conv(&g, cid);
    int before = count_posts(&g, cid);
    ctl(&g, "/_sim/faults", "{\"drop_after_write\":1}");
    snprintf(path, sizeof(path), "/v1/communication/conversations/%s/send-message", cid);
    struct http_result r;
    assert_int_equal(req(&g, "POST", path, "{\"module\":{\"type\":\"sms\"},\"body\":\"once\"}", &r),
                     0);
    http_result_free(&r);
    /* reads are not dropped */
    assert_int_equal(count_posts(&g, cid), before + 1);
    cJSON *w = jreq(&g, "GET", "/_sim/writes", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(w), 1);
    assert_string_equal(s(cJSON_GetObjectItem(cJSON_GetArrayItem(w, 0), "body"), "body"), "once");
    cJSON_Delete(w);
    sim_kill(&g.p);
}

static void test_drift(void **state)
{
    (void)state;
    struct g g;
    start(&g, 0, NULL);
    login(&g);
    ctl(&g, "/_sim/faults", "{\"drift_from\":\"confirmationCode\",\"drift_to\":\"confCode\"}");
    cJSON *j = jreq(&g, "GET", "/v1/reservations?limit=3", NULL, 200);
    const cJSON *r;
    int n = 0;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "results"))
    {
        assert_null(cJSON_GetObjectItem(r, "confirmationCode"));
        assert_non_null(s(r, "confCode"));
        n++;
    }
    assert_int_equal(n, 3);
    cJSON_Delete(j);
    ctl(&g, "/_sim/faults", "{\"drift_from\":\"\",\"drift_to\":\"\"}");
    j = jreq(&g, "GET", "/v1/reservations?limit=1", NULL, 200);
    assert_non_null(
        s(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0), "confirmationCode"));
    cJSON_Delete(j);
    sim_kill(&g.p);
}

/* ---- determinism and the scenario ---- */

static char *run_state(const char *seed, int no_data, int ticks)
{
    struct simproc p;
    const char *argv[] = {"--account", "guesty:0", "--seed", seed, no_data ? NULL : "--data",
                          data_dir,    NULL};
    assert_int_equal(sim_spawn(&p, argv), 0);
    track(&p);
    char url[128], body[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/tick", p.port[0]);
    snprintf(body, sizeof(body), "{\"ticks\":%d}", ticks);
    struct http_result r;
    http_do("POST", url, NULL, body, &r);
    assert_int_equal(r.status, 200);
    http_result_free(&r);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/state", p.port[0]);
    http_do("GET", url, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    sim_kill(&p);
    free(r.headers);
    return r.body;
}

static void test_determinism(void **state)
{
    (void)state;
    for (int no_data = 0; no_data < 2; no_data++) {
        char *a = run_state("11", no_data, 300);
        char *b = run_state("11", no_data, 300);
        char *c = run_state("12", no_data, 300);
        assert_true(strlen(a) > 1000);
        assert_string_equal(a, b);
        assert_string_not_equal(a, c);
        free(a);
        free(b);
        free(c);
    }
}

static void test_scenario(void **state)
{
    (void)state;
    struct g g;
    start(&g, 0, NULL);
    login(&g);
    cJSON *before = jreq(&g, "GET", "/_sim/state", NULL, 200);
    int posts0 = cJSON_GetArraySize(cJSON_GetObjectItem(before, "posts"));
    int res0 = cJSON_GetArraySize(cJSON_GetObjectItem(before, "reservations"));
    cJSON_Delete(before);
    ctl(&g, "/_sim/tick", "{\"ticks\":400}");
    cJSON *st = jreq(&g, "GET", "/_sim/state", NULL, 200);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(st, "posts")) > posts0 + 100);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(st, "reservations")) > res0 + 10);
    int hostile = 0, nonascii = 0, longmsg = 0, canceled = 0, done = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(st, "posts"))
    {
        const char *b = s(x, "body");
        if (strchr(b, 0x1b))
            hostile++;
        for (const char *q = b; *q; q++)
            if ((unsigned char)*q >= 0x80) {
                nonascii++;
                break;
            }
        if (strlen(b) > 2000)
            longmsg++;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(st, "reservations"))
    {
        canceled += strcmp(s(x, "status"), "canceled") == 0;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(st, "tasks"))
    {
        done += strcmp(s(x, "status"), "completed") == 0;
    }
    assert_true(hostile >= 2);
    assert_true(nonascii >= 20);
    assert_true(longmsg >= 2);
    assert_true(canceled >= 3);
    assert_true(done >= 2);
    cJSON_Delete(st);
    /* inject: bad kinds and fields are refused */
    struct http_result r;
    assert_int_equal(req(&g, "POST", "/_sim/inject", "{\"kind\":\"nope\"}", &r), 400);
    http_result_free(&r);
    assert_int_equal(req(&g, "POST", "/_sim/inject",
                         "{\"kind\":\"task_status\",\"status\":\"in_progress\"}", &r),
                     400);
    http_result_free(&r);
    assert_int_equal(req(&g, "POST", "/_sim/inject",
                         "{\"kind\":\"message\",\"conversationId\":\"000000000000000000000000\"}",
                         &r),
                     400);
    http_result_free(&r);
    sim_kill(&g.p);
}

int main(void)
{
    const char *top = getenv("PORTER_TOP");
    snprintf(data_dir, sizeof(data_dir), "%s/data/demo", top ? top : ".");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_svix_known_answer, teardown),
        cmocka_unit_test_teardown(test_auth, teardown),
        cmocka_unit_test_teardown(test_paging_reservations, teardown),
        cmocka_unit_test_teardown(test_paging_conversations, teardown),
        cmocka_unit_test_teardown(test_paging_posts, teardown),
        cmocka_unit_test_teardown(test_updated_since, teardown),
        cmocka_unit_test_teardown(test_write_send_message, teardown),
        cmocka_unit_test_teardown(test_write_note, teardown),
        cmocka_unit_test_teardown(test_write_reservation, teardown),
        cmocka_unit_test_teardown(test_tasks, teardown),
        cmocka_unit_test_teardown(test_rate_limit, teardown),
        cmocka_unit_test_teardown(test_webhook_signature, teardown),
        cmocka_unit_test_teardown(test_webhook_retries, teardown),
        cmocka_unit_test_teardown(test_drop_after_write, teardown),
        cmocka_unit_test_teardown(test_drift, teardown),
        cmocka_unit_test_teardown(test_determinism, teardown),
        cmocka_unit_test_teardown(test_scenario, teardown),
    };
    return cmocka_run_group_tests_name("pmsim_guesty", tests, NULL, NULL);
}
