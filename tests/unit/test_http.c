/* test_http.c - the HTTP client against a scripted libmicrohttpd server on loopback, the rate
 * limiter, Retry-After parsing, status classes, escaping and secret redaction in the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"

/* ---- scripted server ---- */

#define SRV_MAX 64

struct srv_req {
    char method[16];
    char path[128];
    char *body; /* owned */
    size_t body_len;
    char *hdrs; /* "name\0value\0..." with lowercase names */
    size_t hlen;
    int client_port;
    int64_t arrived_ms; /* mono_ms when the request line and headers arrived */
};

struct srv {
    struct MHD_Daemon *d;
    pthread_mutex_t lock;
    int port;
    int n;
    int conns; /* TCP connections accepted */
    int stopping;
    struct srv_req reqs[SRV_MAX];
};

static struct srv srv;

struct conn_ctx {
    int slot; /* index in srv.reqs, -1 when the table is full */
    struct srv_req *q;
};

static enum MHD_Result srv_hdr(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    struct srv_req *q = cls;
    size_t kl = strlen(key) + 1, vl = strlen(value ? value : "") + 1;
    q->hdrs = realloc(q->hdrs, q->hlen + kl + vl);
    for (size_t i = 0; i < kl; i++)
        q->hdrs[q->hlen + i] = (char)((key[i] >= 'A' && key[i] <= 'Z') ? key[i] + 32 : key[i]);
    memcpy(q->hdrs + q->hlen + kl, value ? value : "", vl);
    q->hlen += kl + vl;
    return MHD_YES;
}

static int srv_stopping(void)
{
    pthread_mutex_lock(&srv.lock);
    int s = srv.stopping;
    pthread_mutex_unlock(&srv.lock);
    return s;
}

static enum MHD_Result srv_reply(struct MHD_Connection *conn, unsigned status, const char *body,
                                 size_t len, const char *const *hdrs)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    for (int i = 0; hdrs && hdrs[i]; i += 2)
        MHD_add_response_header(r, hdrs[i], hdrs[i + 1]);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result srv_cb(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct conn_ctx *c = *con_cls;
    if (!c) {
        /* headers are in: record the arrival */
        if (strcmp(url, "/close") == 0)
            return MHD_NO; /* drop the connection without an answer */
        c = calloc(1, sizeof(*c));
        *con_cls = c;
        pthread_mutex_lock(&srv.lock);
        c->slot = srv.n < SRV_MAX ? srv.n++ : -1;
        if (c->slot >= 0) {
            struct srv_req *q = &srv.reqs[c->slot];
            memset(q, 0, sizeof(*q));
            q->arrived_ms = mono_ms();
            snprintf(q->method, sizeof(q->method), "%s", method);
            snprintf(q->path, sizeof(q->path), "%s", url);
            MHD_get_connection_values(conn, MHD_HEADER_KIND, srv_hdr, q);
            const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
            if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET) {
                const struct sockaddr_in *sin = (const struct sockaddr_in *)ci->client_addr;
                q->client_port = ntohs(sin->sin_port);
            }
            q->body = calloc(1, 1);
            c->q = q;
        }
        pthread_mutex_unlock(&srv.lock);
        return MHD_YES;
    }
    if (*size) {
        if (c->q) {
            pthread_mutex_lock(&srv.lock);
            struct srv_req *q = c->q;
            q->body = realloc(q->body, q->body_len + *size + 1);
            memcpy(q->body + q->body_len, data, *size);
            q->body_len += *size;
            q->body[q->body_len] = '\0';
            pthread_mutex_unlock(&srv.lock);
        }
        *size = 0;
        return MHD_YES;
    }

    if (strcmp(url, "/echo") == 0) {
        const char *h[] = {"X-Reply", "  yes  ", "Content-Type", "text/plain", NULL};
        pthread_mutex_lock(&srv.lock);
        size_t len = c->q ? c->q->body_len : 0;
        char *copy = malloc(len + 1);
        if (len)
            memcpy(copy, c->q->body, len);
        pthread_mutex_unlock(&srv.lock);
        enum MHD_Result ret = srv_reply(conn, 200, copy, len, h);
        free(copy);
        return ret;
    }
    if (strcmp(url, "/ok") == 0)
        return srv_reply(conn, 200, "fine", 4, NULL);
    if (strcmp(url, "/429s") == 0) {
        const char *h[] = {"Retry-After", "2", NULL};
        return srv_reply(conn, 429, "slow down", 9, h);
    }
    if (strcmp(url, "/429one") == 0) {
        const char *h[] = {"Retry-After", "1", NULL};
        return srv_reply(conn, 429, "", 0, h);
    }
    if (strcmp(url, "/429none") == 0)
        return srv_reply(conn, 429, "", 0, NULL);
    if (strcmp(url, "/quota0") == 0) {
        const char *h[] = {"X-RateLimit-Remaining-Second", "0", "X-RateLimit-Remaining-Minute",
                           "118", NULL};
        return srv_reply(conn, 200, "ok", 2, h);
    }
    if (strcmp(url, "/quota5") == 0) {
        const char *h[] = {"X-RateLimit-Remaining-Second", "5", "X-RateLimit-Remaining-Minute",
                           "118", NULL};
        return srv_reply(conn, 200, "ok", 2, h);
    }
    if (strcmp(url, "/429date") == 0) {
        char date[64];
        time_t t = time(NULL) + 3;
        struct tm tm;
        gmtime_r(&t, &tm);
        static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday],
                 tm.tm_mday, mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        const char *h[] = {"Retry-After", date, NULL};
        return srv_reply(conn, 429, "", 0, h);
    }
    if (strcmp(url, "/503") == 0) {
        const char *h[] = {"Retry-After", "7", NULL};
        return srv_reply(conn, 503, "down", 4, h);
    }
    if (strcmp(url, "/redirect") == 0) {
        const char *h[] = {"Location", "/ok", NULL};
        return srv_reply(conn, 302, "", 0, h);
    }
    if (strcmp(url, "/sleep") == 0) {
        for (int i = 0; i < 80 && !srv_stopping(); i++) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        return srv_reply(conn, 200, "late", 4, NULL);
    }
    return srv_reply(conn, 404, "no such path", 12, NULL);
}

static void srv_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                     enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)conn;
    (void)t;
    free(*con_cls);
    *con_cls = NULL;
}

static void srv_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                       enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)conn;
    (void)socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&srv.lock);
        srv.conns++;
        pthread_mutex_unlock(&srv.lock);
    }
}

static void srv_clear(void)
{
    pthread_mutex_lock(&srv.lock);
    for (int i = 0; i < srv.n; i++) {
        free(srv.reqs[i].body);
        free(srv.reqs[i].hdrs);
    }
    memset(srv.reqs, 0, sizeof(srv.reqs));
    srv.n = 0;
    pthread_mutex_unlock(&srv.lock);
}

static int srv_count(void)
{
    pthread_mutex_lock(&srv.lock);
    int n = srv.n;
    pthread_mutex_unlock(&srv.lock);
    return n;
}

static int srv_conns(void)
{
    pthread_mutex_lock(&srv.lock);
    int n = srv.conns;
    pthread_mutex_unlock(&srv.lock);
    return n;
}

/* Header `name` of recorded request i (the table is only read between requests). */
static const char *srv_header(int i, const char *name)
{
    const struct srv_req *q = &srv.reqs[i];
    for (size_t o = 0; o < q->hlen;) {
        const char *k = q->hdrs + o;
        const char *v = k + strlen(k) + 1;
        if (strcasecmp(k, name) == 0)
            return v;
        o = (size_t)(v + strlen(v) + 1 - q->hdrs);
    }
    return NULL;
}

static int srv_setup(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.lock, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                             NULL, NULL, srv_cb, NULL, MHD_OPTION_NOTIFY_COMPLETED, srv_done, NULL,
                             MHD_OPTION_NOTIFY_CONNECTION, srv_notify, NULL, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&sa, MHD_OPTION_END);
    if (!srv.d)
        return -1;
    srv.port = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    log_quiet_stderr(1); /* no log file yet: keep the test output clean */
    return 0;
}

static int srv_teardown(void **state)
{
    (void)state;
    pthread_mutex_lock(&srv.lock);
    srv.stopping = 1;
    pthread_mutex_unlock(&srv.lock);
    MHD_stop_daemon(srv.d);
    srv_clear();
    pthread_mutex_destroy(&srv.lock);
    return 0;
}

static int per_test_clear(void **state)
{
    (void)state;
    srv_clear();
    return 0;
}

static char *url_of(const char *path)
{
    return xasprintf("http://127.0.0.1:%d%s", srv.port, path);
}

/* One request without headers or body; returns http_request's result. */
static int do_get(struct http_client *c, const char *path, struct http_resp *r, struct err *e)
{
    char *url = url_of(path);
    struct http_req rq = {.method = "GET", .url = url};
    int rc = http_request(c, &rq, r, e);
    free(url);
    return rc;
}

/* A port on 127.0.0.1 with nothing listening. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
        return -1;
    close(fd);
    return ntohs(sa.sin_port);
}

/* ---- pure functions ---- */

static void test_escape_table(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } t[] = {
        {"", ""},
        {"AZaz09-._~", "AZaz09-._~"},
        {"a b", "a%20b"},
        {"a/b?c&d=e", "a%2Fb%3Fc%26d%3De"},
        {"caf\xc3\xa9", "caf%C3%A9"},
        {"100%+#", "100%25%2B%23"},
        {"\x01\x7f", "%01%7F"},
    };
    assert_null(http_escape(NULL));
    for (size_t i = 0; i < ARRAY_LEN(t); i++) {
        char *s = http_escape(t[i].in);
        assert_string_equal(s, t[i].out);
        free(s);
    }
}

static void test_status_retry_table(void **state)
{
    (void)state;
    static const struct {
        long status;
        enum retry_class want;
    } t[] = {
        {0, FINAL},         {100, FINAL},       {200, RETRY_NONE},  {204, RETRY_NONE},
        {301, RETRY_NONE},  {304, RETRY_NONE},  {400, FINAL},       {401, FINAL},
        {403, FINAL},       {404, FINAL},       {408, RETRY_LATER}, {409, FINAL},
        {422, FINAL},       {425, RETRY_LATER}, {429, RETRY_LATER}, {500, RETRY_LATER},
        {502, RETRY_LATER}, {503, RETRY_LATER}, {599, RETRY_LATER}, {600, FINAL},
    };
    for (size_t i = 0; i < ARRAY_LEN(t); i++) {
        if (http_status_retry(t[i].status) != t[i].want)
            fail_msg("status %ld: got %s, want %s", t[i].status,
                     retry_class_name(http_status_retry(t[i].status)), retry_class_name(t[i].want));
    }
}

static void test_parse_retry_after_table(void **state)
{
    (void)state;
    const int64_t now = 784111777000; /* Sun, 06 Nov 1994 08:49:37 GMT */
    static const struct {
        const char *in;
        int64_t want;
    } t[] = {
        {NULL, -1},
        {"", -1},
        {"   ", -1},
        {"0", 0},
        {"2", 2000},
        {" 120 ", 120000},
        {"-1", -1},
        {"+5", -1},
        {"1.5", -1},
        {"2abc", -1},
        {"soon", -1},
        {"99999999999999999999", -1},
        {"Sun, 06 Nov 1994 08:50:07 GMT", 30000},  /* IMF-fixdate, future */
        {"Sun, 06 Nov 1994 08:49:37 GMT", 0},      /* now */
        {"Sat, 05 Nov 1994 08:49:37 GMT", 0},      /* past */
        {"Sunday, 06-Nov-94 08:49:47 GMT", 10000}, /* RFC 850 */
        {"Sun Nov  6 08:49:57 1994", 20000},       /* asctime */
        {"Mon, 07 Nov 1994 08:49:37 GMT", 86400000},
        {"Thu, 01 Mar 2001 00:00:00 GMT", 983404800000 - now},  /* after a non-leap Feb */
        {"Fri, 01 Mar 2024 00:00:00 GMT", 1709251200000 - now}, /* after a leap Feb */
        {"Sun, 06 Foo 1994 08:50:07 GMT", -1},
        {"Sun, 06 Nov 1994 08:50:07", -1},      /* no GMT */
        {"Sun, 06 Nov 1994 08:50:07 GMTx", -1}, /* trailing junk */
        {"Sun, 06 Nov 1994 25:50:07 GMT", -1},  /* hour out of range */
        {"06 Nov 1994 08:50:07 GMT", -1},       /* no weekday */
    };
    for (size_t i = 0; i < ARRAY_LEN(t); i++) {
        int64_t got = http_parse_retry_after(t[i].in, now);
        if (got != t[i].want)
            fail_msg("\"%s\": got %lld, want %lld", t[i].in ? t[i].in : "(null)", (long long)got,
                     (long long)t[i].want);
    }
}

static void test_null_and_bad_arguments(void **state)
{
    (void)state;
    struct err e;
    struct http_resp r;
    http_client_free(NULL);
    http_resp_free(NULL);
    ratelim_free(NULL);
    struct ratelim *nrl = NULL;
    ratelim_free(&nrl);
    assert_int_equal(ratelim_take(NULL, 0), 0);
    int64_t l = 7, w = 7;
    ratelim_stats(NULL, &l, &w);
    assert_int_equal(l, 0);
    assert_int_equal(w, 0);
    assert_null(http_resp_header(NULL, "x"));

    struct http_client *c = http_client_new(NULL, NULL);
    assert_non_null(c);
    assert_int_equal(http_request(NULL, NULL, &r, &e), -1);
    assert_int_equal(e.retry, FINAL);
    assert_int_equal(http_request(c, NULL, &r, &e), -1);
    assert_int_equal(e.retry, FINAL);
    struct http_req rq = {.method = "GET", .url = NULL};
    assert_int_equal(http_request(c, &rq, &r, &e), -1);
    assert_int_equal(e.retry, FINAL);
    /* a header with CR/LF would inject headers: refused before anything is sent */
    char *url = url_of("/ok");
    struct http_header bad[] = {{"X-Evil", "a\r\nX-Injected: 1"}};
    struct http_req rq2 = {.method = "GET", .url = url, .headers = bad, .nheaders = 1};
    assert_int_equal(http_request(c, &rq2, &r, &e), -1);
    assert_int_equal(e.retry, FINAL);
    assert_int_equal(srv_count(), 0);
    /* an unsupported scheme is final too */
    struct http_req rq3 = {.method = "GET", .url = "ftp://127.0.0.1/x"};
    assert_int_equal(http_request(c, &rq3, &r, &e), -1);
    assert_int_equal(e.retry, FINAL);
    assert_int_equal(e.code, CURLE_UNSUPPORTED_PROTOCOL);
    free(url);
    http_client_free(&c);
    assert_null(c);
}

/* ---- rate limiter alone ---- */

static void test_ratelim_unlimited_block_and_deadline(void **state)
{
    (void)state;
    struct ratelim *rl = ratelim_new(0, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(ratelim_take(rl, 0), 0); /* unlimited: no answer needed either */
    int64_t limited, waited;
    ratelim_stats(rl, &limited, &waited);
    assert_int_equal(limited, 0);
    assert_int_equal(waited, 0);

    /* a block is never moved earlier; a wait past the deadline gives up without sleeping */
    int64_t now = mono_ms();
    ratelim_block_until(rl, now + 400);
    ratelim_block_until(rl, now + 50);
    assert_int_equal(ratelim_take(rl, mono_ms() + 200), -1);
    ratelim_stats(rl, NULL, &waited);
    assert_int_equal(waited, 0);
    int64_t got = ratelim_take(rl, mono_ms() + 2000);
    assert_true(got >= 300 && got <= 1500);
    assert_true(mono_ms() >= now + 400);
    ratelim_free(&rl);
    assert_null(rl);

    /* 10/s, burst 2: at most 2 in any 200 ms. One at once, the second 100 ms later; the
     * third waits for an answer: with none coming it gives up at its deadline */
    rl = ratelim_new(10, 2);
    assert_int_equal(ratelim_take(rl, 0), 0);
    got = ratelim_take(rl, 0);
    assert_true(got >= 80 && got <= 1000);
    int64_t t0 = mono_ms();
    assert_int_equal(ratelim_take(rl, mono_ms() + 60), -1);
    assert_true(mono_ms() - t0 >= 50);
    ratelim_done(rl);
    ratelim_done(rl);
    ratelim_done(rl); /* one more than taken: ignored */
    t0 = mono_ms();
    got = ratelim_take(rl, 0); /* a window after the first answer */
    assert_true(got >= 150 && got <= 1500);
    ratelim_stats(rl, NULL, &waited);
    assert_true(waited >= 200);
    ratelim_free(&rl);
}

/* A thread that waits for an answer wakes when it comes (not at its deadline). */
struct answerer {
    struct ratelim *rl;
    int delay_ms;
};

static void *answer_later(void *arg)
{
    struct answerer *a = arg;
    struct timespec ts = {0, (long)a->delay_ms * 1000000L};
    nanosleep(&ts, NULL);
    ratelim_done(a->rl);
    return NULL;
}

static void test_ratelim_wakes_on_answer(void **state)
{
    (void)state;
    struct ratelim *rl = ratelim_new(1000, 1); /* 1 in any 1 ms */
    assert_int_equal(ratelim_take(rl, 0), 0);
    struct answerer a = {rl, 100};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, answer_later, &a), 0);
    int64_t got = ratelim_take(rl, mono_ms() + 10000);
    pthread_join(th, NULL);
    assert_true(got >= 90 && got < 5000);
    ratelim_done(rl);
    ratelim_free(&rl);
}

struct taker {
    struct ratelim *rl;
    int n;
    int failures;
};

static void *taker_run(void *arg)
{
    struct taker *t = arg;
    for (int i = 0; i < t->n; i++) {
        if (ratelim_take(t->rl, 0) < 0)
            t->failures++;
        else
            ratelim_done(t->rl);
    }
    return NULL;
}

/* Four threads share one limiter: 20 requests at 1 in any 20 ms cannot take less than
 * 19 * 20 ms of wall time, whatever the interleaving. */
static void test_ratelim_shared_by_threads(void **state)
{
    (void)state;
    struct ratelim *rl = ratelim_new(50, 1);
    struct taker t[4];
    pthread_t th[4];
    int64_t t0 = mono_ms();
    for (int i = 0; i < 4; i++) {
        t[i] = (struct taker){rl, 5, 0};
        assert_int_equal(pthread_create(&th[i], NULL, taker_run, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].failures, 0);
    }
    int64_t took = mono_ms() - t0;
    if (took < 380)
        fail_msg("20 requests at 1 per 20 ms taken in %lld ms", (long long)took);
    ratelim_free(&rl);
}

/* ---- rate limiter on a simulated clock (ratelim_try / ratelim_done_at) ---- */

#define SEC 1000000LL /* microseconds */
#define T0  (1000 * SEC)

static void test_ratelim_try_edges(void **state)
{
    (void)state;
    assert_int_equal(ratelim_try(NULL, T0), 0);
    ratelim_done_at(NULL, T0);
    ratelim_done(NULL);

    /* 2 in any 1 s: one at once, the next a gap (500 ms) later */
    struct ratelim *rl = ratelim_new(2, 2);
    assert_int_equal(ratelim_try(rl, T0), 0);
    assert_int_equal(ratelim_try(rl, T0), SEC / 2);
    assert_int_equal(ratelim_try(rl, T0 + SEC / 2), 0);
    /* both in flight: only an answer can free a slot, however long it takes */
    assert_true(ratelim_try(rl, T0 + 60 * SEC) == RATELIM_UNTIL_ANSWER);
    /* answered at +61 s: the slot is free a whole window after the answer, not the send */
    ratelim_done_at(rl, T0 + 61 * SEC);
    assert_int_equal(ratelim_try(rl, T0 + 61 * SEC), SEC);
    assert_int_equal(ratelim_try(rl, T0 + 62 * SEC - 1), 1);
    assert_int_equal(ratelim_try(rl, T0 + 62 * SEC), 0);
    ratelim_done_at(rl, T0 + 62 * SEC);
    ratelim_done_at(rl, T0 + 62 * SEC);
    /* a block holds everything, and is never moved earlier */
    ratelim_block_until(rl, (T0 + 70 * SEC) / 1000);
    ratelim_block_until(rl, (T0 + 65 * SEC) / 1000);
    assert_int_equal(ratelim_try(rl, T0 + 64 * SEC), 6 * SEC);
    assert_int_equal(ratelim_try(rl, T0 + 70 * SEC), 0);
    ratelim_free(&rl);

    /* 15 in any 10 s (Hostaway): 8 at once, then one every 10/15 s */
    rl = ratelim_new(1.5, 15);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(ratelim_try(rl, T0), 0);
        ratelim_done_at(rl, T0);
    }
    assert_int_equal(ratelim_try(rl, T0), 666667);
    ratelim_free(&rl);

    /* a burst above the cap keeps the rate: 100000 in any 10 s */
    rl = ratelim_new(10000, 1000000);
    for (int i = 0; i < 50000; i++)
        assert_int_equal(ratelim_try(rl, T0), 0);
    assert_int_equal(ratelim_try(rl, T0), 100);
    ratelim_free(&rl);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

struct sim_case {
    const char *name;
    double rate;
    int burst;
    int clients;                    /* concurrent senders, each always wanting to send */
    int64_t lat_min_us, lat_max_us; /* answer time after the send, uniform */
    double min_share;               /* requests in the 60 s / (rate * 60 s), at least */
};

/* Max requests counted in any half-open window [t, t + span) of the sorted times. */
static int max_in_window(const int64_t *t, int n, int64_t span)
{
    int best = 0;
    for (int i = 0, j = 0; i < n; i++) {
        if (j < i)
            j = i;
        while (j < n && t[j] < t[i] + span)
            j++;
        if (j - i > best)
            best = j - i;
    }
    return best;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* 60 simulated seconds of clients sending as fast as the limiter lets them, on a 100 us
 * tick; the PMS counts each request at a random instant between its send and its answer. */
static void sim_run(const struct sim_case *c)
{
    enum { MAXC = 8, MAXN = 20000 };
    const int64_t dur = 60 * SEC, tick = 100;
    struct ratelim *rl = ratelim_new(c->rate, c->burst);
    int64_t answer_at[MAXC] = {0}; /* 0: idle */
    int sent_by[MAXC] = {0};
    static int64_t counted[MAXN];
    int n = 0;
    uint32_t seed = 12345u;
    for (int64_t now = T0; now < T0 + dur; now += tick) {
        for (int k = 0; k < c->clients; k++)
            if (answer_at[k] && answer_at[k] <= now) {
                ratelim_done_at(rl, now);
                answer_at[k] = 0;
            }
        for (int i = 0; i < c->clients; i++) {
            int k = (int)((now / tick + i) % c->clients); /* no client always first */
            if (answer_at[k] || ratelim_try(rl, now) != 0)
                continue;
            int64_t lat = c->lat_min_us +
                          (int64_t)(lcg(&seed) % (uint32_t)(c->lat_max_us - c->lat_min_us + 1));
            int64_t at_pms = now + (int64_t)(lcg(&seed) % (uint32_t)(lat + 1));
            assert_true(n < MAXN);
            counted[n++] = at_pms;
            answer_at[k] = now + (lat > 0 ? lat : 1);
            sent_by[k]++;
        }
    }
    ratelim_free(&rl);
    qsort(counted, (size_t)n, sizeof(*counted), cmp_i64);

    /* never more than `burst` in any window of burst / rate */
    double win_s = (double)c->burst / c->rate;
    int64_t win = (int64_t)(win_s * SEC);
    int most = max_in_window(counted, n, win);
    if (most > c->burst)
        fail_msg("%s: %d requests in one window of %.3f s (limit %d)", c->name, most, win_s,
                 c->burst);
    /* never more than a token bucket of the same figures, at any span */
    static const double spans_s[] = {0.001, 0.1, 0.5, 1, 2.5, 10, 30, 60};
    for (size_t i = 0; i < sizeof(spans_s) / sizeof(spans_s[0]); i++) {
        int m = max_in_window(counted, n, (int64_t)(spans_s[i] * SEC));
        if (m > c->burst + c->rate * spans_s[i] + 1e-9)
            fail_msg("%s: %d requests in %.3f s, above %d + %.2f/s", c->name, m, spans_s[i],
                     c->burst, c->rate);
    }
    /* and close to the budget: `rate` requests a second over the 60 s */
    double budget = c->rate * (double)(dur / SEC);
    if (getenv("RATELIM_SIM_SHOW"))
        fprintf(stderr, "%-40s %5d requests, %5.1f%% of %.0f; most in a window %d of %d\n", c->name,
                n, 100.0 * n / budget, budget, most, c->burst);
    if (n < c->min_share * budget)
        fail_msg("%s: %d requests in 60 s, %.1f%% of the %.0f allowed", c->name, n,
                 100.0 * n / budget, budget);
    for (int k = 0; k < c->clients; k++)
        if (sent_by[k] == 0)
            fail_msg("%s: client %d never got a slot", c->name, k);
}

/* The real limits of the three PMSs as the adapters can express them, and the old defaults,
 * with one sender and short answers (a drain) and with several senders and answers of up to
 * 1.5 s (several worker threads on a slow PMS). */
static void test_ratelim_windows_simulated(void **state)
{
    (void)state;
    static const struct sim_case cases[] = {
        {"Hostaway 15 per 10 s, drain", 1.5, 15, 1, 1000, 20000, 0.97},
        {"Hostaway 15 per 10 s, 4 threads, slow", 1.5, 15, 4, 1000, 1500000, 0.80},
        {"Buildium 10 per 1 s, drain", 10, 10, 1, 1000, 5000, 0.97},
        {"Buildium 10 per 1 s, 4 threads, slow", 10, 10, 4, 1000, 1500000, 0.30},
        {"Guesty 10 per 7.4 s, drain", 1.35, 10, 1, 1000, 20000, 0.97},
        {"Guesty 10 per 7.4 s, 3 threads", 1.35, 10, 3, 1000, 800000, 0.85},
        {"old Hostaway default, 3 per 2.5 s", 1.2, 3, 2, 1000, 300000, 0.85},
        {"old Buildium default, 2 per 250 ms", 8, 2, 3, 1000, 50000, 0.80},
        {"1 per 200 ms", 5, 1, 2, 0, 1000, 0.98},
        {"tests' 50 per 250 ms", 200, 50, 4, 100, 5000, 0.95},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        sim_run(&cases[i]);
}

/* ---- client against the scripted server ---- */

static void test_request_arrives_as_sent(void **state)
{
    (void)state;
    struct http_client *c = http_client_new(NULL, NULL);
    struct http_resp r;
    struct err e;
    char *url = url_of("/echo?a=1&b=two");
    struct http_header h[] = {{"Content-Type", "application/json"}, {"X-Test", "abc def"}};
    const char *body = "{\"name\":\"Villa \\u00e9\",\"n\":1}";
    struct http_req rq = {.method = "POST", .url = url, .headers = h, .nheaders = 2, .body = body};
    assert_int_equal(http_request(c, &rq, &r, &e), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, strlen(body));
    assert_string_equal(r.body, body);
    assert_int_equal(r.retry_after_ms, -1);
    assert_true(r.elapsed_ms >= 0);
    assert_int_equal(strncmp(r.headers, "HTTP/1.1 200", 12), 0);
    char *v = http_resp_header(&r, "x-REPLY");
    assert_string_equal(v, "yes");
    free(v);
    assert_null(http_resp_header(&r, "X-Absent"));
    http_resp_free(&r);
    assert_null(r.body);
    assert_null(r.headers);

    assert_int_equal(srv_count(), 1);
    assert_string_equal(srv.reqs[0].method, "POST");
    assert_string_equal(srv.reqs[0].path, "/echo");
    assert_string_equal(srv.reqs[0].body, body);
    assert_string_equal(srv_header(0, "content-type"), "application/json");
    assert_string_equal(srv_header(0, "x-test"), "abc def");
    assert_string_equal(srv_header(0, "user-agent"), "porter/" PORTER_VERSION);
    assert_null(srv_header(0, "expect"));

    /* PUT with an explicit length (embedded NUL), DELETE with no body, GET */
    struct http_req put = {.method = "PUT", .url = url, .body = "a\0b", .body_len = 3};
    assert_int_equal(http_request(c, &put, &r, &e), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 3);
    assert_memory_equal(r.body, "a\0b", 3);
    http_resp_free(&r);
    struct http_req del = {.method = "DELETE", .url = url};
    assert_int_equal(http_request(c, &del, &r, &e), 0);
    http_resp_free(&r);
    struct http_req get = {.method = "GET", .url = url};
    assert_int_equal(http_request(c, &get, &r, &e), 0);
    assert_int_equal(r.len, 0);
    assert_string_equal(r.body, "");
    http_resp_free(&r);

    assert_int_equal(srv_count(), 4);
    assert_string_equal(srv.reqs[1].method, "PUT");
    assert_int_equal(srv.reqs[1].body_len, 3);
    assert_memory_equal(srv.reqs[1].body, "a\0b", 3);
    assert_string_equal(srv.reqs[2].method, "DELETE");
    assert_int_equal(srv.reqs[2].body_len, 0);
    assert_string_equal(srv.reqs[3].method, "GET");
    assert_int_equal(srv.reqs[3].body_len, 0);
    /* the client's own User-Agent option wins */
    http_client_free(&c);
    struct http_opts o = {.user_agent = "porter-test/9"};
    c = http_client_new(&o, NULL);
    assert_int_equal(http_request(c, &get, &r, &e), 0);
    http_resp_free(&r);
    assert_string_equal(srv_header(4, "user-agent"), "porter-test/9");
    free(url);
    http_client_free(&c);
}

static void test_connection_reused(void **state)
{
    (void)state;
    struct http_client *c = http_client_new(NULL, NULL);
    struct http_resp r;
    struct err e;
    int before = srv_conns();
    for (int i = 0; i < 3; i++) {
        assert_int_equal(do_get(c, "/ok", &r, &e), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "fine");
        http_resp_free(&r);
    }
    assert_int_equal(srv_count(), 3);
    assert_true(srv.reqs[0].client_port > 0);
    assert_int_equal(srv.reqs[1].client_port, srv.reqs[0].client_port);
    assert_int_equal(srv.reqs[2].client_port, srv.reqs[0].client_port);
    assert_int_equal(srv_conns() - before, 1);
    http_client_free(&c);
}

static void test_only_final_response_headers(void **state)
{
    (void)state;
    struct http_client *c = http_client_new(NULL, NULL);
    struct http_resp r;
    struct err e;
    char *url = url_of("/echo");
    /* the server answers "100 Continue" first; only the 200's headers may be kept */
    struct http_header h[] = {{"Expect", "100-continue"}};
    struct http_req rq = {.method = "POST", .url = url, .headers = h, .nheaders = 1, .body = "x=1"};
    assert_int_equal(http_request(c, &rq, &r, &e), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(srv_count(), 1);
    assert_string_equal(srv_header(0, "expect"), "100-continue");
    assert_int_equal(strncmp(r.headers, "HTTP/1.1 200", 12), 0);
    assert_null(strstr(r.headers, "100 Continue"));
    http_resp_free(&r);
    free(url);
    http_client_free(&c);
}

static void test_redirect_not_followed(void **state)
{
    (void)state;
    struct http_client *c = http_client_new(NULL, NULL);
    struct http_resp r;
    struct err e;
    assert_int_equal(do_get(c, "/redirect", &r, &e), 0);
    assert_int_equal(r.status, 302);
    char *loc = http_resp_header(&r, "Location");
    assert_string_equal(loc, "/ok");
    free(loc);
    http_resp_free(&r);
    assert_int_equal(srv_count(), 1); /* /ok was never asked for */
    http_client_free(&c);
}

static void test_429_retry_after_seconds(void **state)
{
    (void)state;
    struct ratelim *rl = ratelim_new(0, 0);
    struct http_client *c = http_client_new(NULL, rl);
    struct http_resp r;
    struct err e;
    assert_int_equal(do_get(c, "/429s", &r, &e), 0);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.body, "slow down");
    assert_int_equal(r.retry_after_ms, 2000);
    http_resp_free(&r);
    int64_t limited, waited;
    ratelim_stats(rl, &limited, &waited);
    assert_int_equal(limited, 1);
    /* blocked ~2 s: no slot within 1 s, one within 3 s (not taken, to save time) */
    assert_int_equal(ratelim_take(rl, mono_ms() + 1000), -1);
    /* and a request through the client is refused fast, without reaching the server */
    char *url = url_of("/ok");
    struct http_req rq = {.method = "GET", .url = url, .timeout_ms = 500};
    assert_int_equal(http_request(c, &rq, &r, &e), -1);
    assert_int_equal(e.retry, RETRY_LATER);
    assert_non_null(strstr(e.msg, "rate limited"));
    assert_int_equal(srv_count(), 1);
    free(url);
    http_client_free(&c);
    ratelim_free(&rl);
}

static void test_429_retry_after_date(void **state)
{
    (void)state;
    struct ratelim *rl = ratelim_new(0, 0);
    struct http_client *c = http_client_new(NULL, rl);
    struct http_resp r;
    struct err e;
    assert_int_equal(do_get(c, "/429date", &r, &e), 0);
    assert_int_equal(r.status, 429);
    /* the date is now+3 s at one-second resolution */
    assert_true(r.retry_after_ms > 1000 && r.retry_after_ms <= 3000);
    http_resp_free(&r);
    assert_int_equal(ratelim_take(rl, mono_ms() + 900), -1);
    http_client_free(&c);
    ratelim_free(&rl);
}

static void test_429_without_header_blocks_one_second(void **state)
{
    (void)state;
    struct ratelim *rl = ratelim_new(0, 0);
    struct http_client *c = http_client_new(NULL, rl);
    struct http_resp r;
    struct err e;
    assert_int_equal(do_get(c, "/429none", &r, &e), 0);
    assert_int_equal(r.status, 429);
    assert_int_equal(r.retry_after_ms, -1);
    http_resp_free(&r);
    assert_int_equal(ratelim_take(rl, mono_ms() + 700), -1);
    int64_t limited;
    ratelim_stats(rl, &limited, NULL);
    assert_int_equal(limited, 1);
    /* a second 429 in a row (after waiting out the first second) holds for 2 s */
    assert_int_equal(do_get(c, "/429none", &r, &e), 0);
    http_resp_free(&r);
    assert_int_equal(ratelim_take(rl, mono_ms() + 1500), -1);
    http_client_free(&c);
    ratelim_free(&rl);
}

/* X-RateLimit-Remaining-Second: 0 holds the next request for the window; 5 does not. */
static void test_quota_headers_pace_requests(void **state)
{
    (void)state;
    struct ratelim *rl = ratelim_new(0, 0);
    struct http_client *c = http_client_new(NULL, rl);
    struct http_resp r;
    struct err e;
    assert_int_equal(do_get(c, "/quota5", &r, &e), 0);
    http_resp_free(&r);
    assert_int_equal(ratelim_take(rl, mono_ms() + 50), 0);
    assert_int_equal(do_get(c, "/quota0", &r, &e), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    assert_int_equal(ratelim_take(rl, mono_ms() + 700), -1);
    int64_t limited;
    ratelim_stats(rl, &limited, NULL);
    assert_int_equal(limited, 0); /* paced, not refused */
    http_client_free(&c);
    ratelim_free(&rl);
}

static void test_503_reports_retry_after_without_blocking(void **state)
{
    (void)state;
    struct ratelim *rl = ratelim_new(0, 0);
    struct http_client *c = http_client_new(NULL, rl);
    struct http_resp r;
    struct err e;
    assert_int_equal(do_get(c, "/503", &r, &e), 0);
    assert_int_equal(r.status, 503);
    assert_int_equal(r.retry_after_ms, 7000);
    assert_int_equal(http_status_retry(r.status), RETRY_LATER);
    http_resp_free(&r);
    int64_t limited;
    ratelim_stats(rl, &limited, NULL);
    assert_int_equal(limited, 0);
    assert_int_equal(ratelim_take(rl, mono_ms() + 50), 0);
    http_client_free(&c);
    ratelim_free(&rl);
}

static void test_429_blocks_every_client_of_the_limiter(void **state)
{
    (void)state;
    struct ratelim *rl = ratelim_new(0, 0);
    struct http_client *a = http_client_new(NULL, rl);
    struct http_client *b = http_client_new(NULL, rl);
    struct http_resp r;
    struct err e;
    assert_int_equal(do_get(a, "/429one", &r, &e), 0);
    assert_int_equal(r.status, 429);
    assert_int_equal(r.retry_after_ms, 1000);
    http_resp_free(&r);
    assert_int_equal(do_get(b, "/ok", &r, &e), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    assert_int_equal(srv_count(), 2);
    int64_t gap = srv.reqs[1].arrived_ms - srv.reqs[0].arrived_ms;
    if (gap < 900)
        fail_msg("second request arrived %lld ms after the 429", (long long)gap);
    int64_t limited, waited;
    ratelim_stats(rl, &limited, &waited);
    assert_int_equal(limited, 1);
    assert_true(waited >= 900);
    http_client_free(&a);
    http_client_free(&b);
    ratelim_free(&rl);
}

static void test_limiter_paces_requests(void **state)
{
    (void)state;
    struct ratelim *rl = ratelim_new(5, 1);
    struct http_client *c = http_client_new(NULL, rl);
    struct http_resp r;
    struct err e;
    for (int i = 0; i < 6; i++) {
        assert_int_equal(do_get(c, "/ok", &r, &e), 0);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
    }
    assert_int_equal(srv_count(), 6);
    int64_t limited, waited;
    ratelim_stats(rl, &limited, &waited);
    assert_int_equal(limited, 0);
    /* five waits of ~200 ms each */
    if (waited < 900)
        fail_msg("waited only %lld ms for 6 requests at 5/s", (long long)waited);
    http_client_free(&c);
    ratelim_free(&rl);
}

static void test_timeout(void **state)
{
    (void)state;
    /* 1 request in any 1 ms: a request that failed must hand its slot back, or the next
     * one would wait for an answer that never comes */
    struct ratelim *rl = ratelim_new(1000, 1);
    struct http_client *c = http_client_new(NULL, rl); /* default 30 s, overridden below */
    struct http_resp r;
    struct err e;
    char *url = url_of("/sleep");
    struct http_req rq = {.method = "GET", .url = url, .timeout_ms = 300};
    int64_t t0 = mono_ms();
    assert_int_equal(http_request(c, &rq, &r, &e), -1);
    assert_true(mono_ms() - t0 < 5000);
    assert_int_equal(e.retry, RETRY_LATER);
    assert_int_equal(e.code, CURLE_OPERATION_TIMEDOUT);
    char want[128];
    snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/sleep: timed out after 300 ms", srv.port);
    assert_string_equal(e.msg, want);
    assert_null(r.body);
    http_resp_free(&r);
    /* the same client still works afterwards, at once */
    t0 = mono_ms();
    assert_int_equal(do_get(c, "/ok", &r, &e), 0);
    assert_int_equal(r.status, 200);
    assert_true(mono_ms() - t0 < 5000);
    http_resp_free(&r);
    free(url);
    http_client_free(&c);
    ratelim_free(&rl);
}

static void test_closed_without_answer(void **state)
{
    (void)state;
    struct http_client *c = http_client_new(NULL, NULL);
    struct http_resp r;
    struct err e;
    assert_int_equal(do_get(c, "/close", &r, &e), -1);
    assert_int_equal(e.retry, RETRY_LATER);
    assert_true(e.code == CURLE_GOT_NOTHING || e.code == CURLE_RECV_ERROR);
    assert_non_null(strstr(e.msg, "connection reset (no answer)"));
    assert_non_null(strstr(e.msg, "GET http://127.0.0.1:"));
    http_client_free(&c);
}

static void test_connection_refused(void **state)
{
    (void)state;
    int port = closed_port();
    assert_true(port > 0);
    struct http_client *c = http_client_new(NULL, NULL);
    struct http_resp r;
    struct err e;
    char *url = xasprintf("http://127.0.0.1:%d/v1/x?access_token=SECRETX&page=2", port);
    struct http_req rq = {.method = "POST", .url = url, .body = "{}"};
    assert_int_equal(http_request(c, &rq, &r, &e), -1);
    assert_int_equal(e.retry, RETRY_LATER);
    assert_int_equal(e.code, CURLE_COULDNT_CONNECT);
    char want[128];
    snprintf(want, sizeof(want),
             "POST http://127.0.0.1:%d/v1/x?access_token=***&page=2: "
             "connection refused",
             port);
    assert_string_equal(e.msg, want);
    assert_null(strstr(e.msg, "SECRETX"));
    free(url);
    http_client_free(&c);
}

static char log_dir[64];
static char log_path[128];

/* Runs even when an assertion failed: no log file is left behind. */
static int log_teardown(void **state)
{
    (void)state;
    log_close();
    log_set_level(LOG_INFO);
    if (log_path[0])
        unlink(log_path);
    if (log_dir[0])
        rmdir(log_dir);
    log_path[0] = log_dir[0] = '\0';
    return 0;
}

static void test_log_has_no_secrets(void **state)
{
    (void)state;
    strcpy(log_dir, "/tmp/porter-http-XXXXXX");
    assert_non_null(mkdtemp(log_dir));
    const char *path = log_path;
    snprintf(log_path, sizeof(log_path), "%s/porter.log", log_dir);
    struct err e;
    assert_int_equal(log_open(path, LOG_DEBUG, &e), 0);

    struct http_opts o = {.log_name = "acct1"};
    struct http_client *c = http_client_new(&o, NULL);
    struct http_resp r;
    char *url = url_of("/echo?access_token=SECRET789&x=1");
    struct http_header h[] = {{"Authorization", "Bearer SECRET123"},
                              {"X-Api-Token", "SECRET321"},
                              {"Content-Type", "application/x-www-form-urlencoded"}};
    const char *body = "grant_type=client_credentials&client_secret=SECRET456&scope=general";
    struct http_req rq = {.method = "POST", .url = url, .headers = h, .nheaders = 3, .body = body};
    assert_int_equal(http_request(c, &rq, &r, &e), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, body); /* echoed: the answer body is logged too */
    http_resp_free(&r);
    /* the server got the real secrets */
    assert_string_equal(srv_header(0, "authorization"), "Bearer SECRET123");
    free(url);

    /* a 2 MB body: sent whole, without "Expect: 100-continue" (a wasted round trip), and
     * logged only as a 2 KB prefix */
    size_t big_len = 2u << 20;
    char *big = xmalloc(big_len + 1);
    memset(big, 'a', big_len);
    memcpy(big, "note=", 5);
    big[big_len] = '\0';
    url = url_of("/echo");
    struct http_req brq = {.method = "POST", .url = url, .body = big};
    assert_int_equal(http_request(c, &brq, &r, &e), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, big_len);
    assert_memory_equal(r.body, big, big_len);
    http_resp_free(&r);
    assert_int_equal(srv_count(), 2);
    assert_int_equal(srv.reqs[1].body_len, big_len);
    assert_null(srv_header(1, "expect"));
    free(big);
    free(url);
    http_client_free(&c);
    log_close();
    log_set_level(LOG_INFO);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    /* the request was logged, with its headers and bodies, at debug and info */
    assert_non_null(strstr(text, "info  [http] acct1: POST http://127.0.0.1:"));
    assert_non_null(strstr(text, "/echo?access_token=***&x=1 -> 200"));
    assert_non_null(strstr(text, "Authorization: ***"));
    assert_non_null(strstr(text, "X-Api-Token: ***"));
    assert_non_null(strstr(text, "grant_type=client_credentials&client_secret=***&scope"));
    assert_non_null(strstr(text, "answer body: grant_type="));
    assert_null(strstr(text, "SECRET123"));
    assert_null(strstr(text, "SECRET456"));
    assert_null(strstr(text, "SECRET789"));
    assert_null(strstr(text, "SECRET321"));
    assert_true(n < 16384); /* the 2 MB bodies were cut */
    assert_non_null(strstr(text, "aaaa ..."));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_table),
        cmocka_unit_test(test_status_retry_table),
        cmocka_unit_test(test_parse_retry_after_table),
        cmocka_unit_test_setup(test_null_and_bad_arguments, per_test_clear),
        cmocka_unit_test(test_ratelim_unlimited_block_and_deadline),
        cmocka_unit_test(test_ratelim_wakes_on_answer),
        cmocka_unit_test(test_ratelim_shared_by_threads),
        cmocka_unit_test(test_ratelim_try_edges),
        cmocka_unit_test(test_ratelim_windows_simulated),
        cmocka_unit_test_setup(test_request_arrives_as_sent, per_test_clear),
        cmocka_unit_test_setup(test_connection_reused, per_test_clear),
        cmocka_unit_test_setup(test_only_final_response_headers, per_test_clear),
        cmocka_unit_test_setup(test_redirect_not_followed, per_test_clear),
        cmocka_unit_test_setup(test_429_retry_after_seconds, per_test_clear),
        cmocka_unit_test_setup(test_429_retry_after_date, per_test_clear),
        cmocka_unit_test_setup(test_429_without_header_blocks_one_second, per_test_clear),
        cmocka_unit_test_setup(test_quota_headers_pace_requests, per_test_clear),
        cmocka_unit_test_setup(test_503_reports_retry_after_without_blocking, per_test_clear),
        cmocka_unit_test_setup(test_429_blocks_every_client_of_the_limiter, per_test_clear),
        cmocka_unit_test_setup(test_limiter_paces_requests, per_test_clear),
        cmocka_unit_test_setup(test_timeout, per_test_clear),
        cmocka_unit_test_setup(test_closed_without_answer, per_test_clear),
        cmocka_unit_test_setup(test_connection_refused, per_test_clear),
        cmocka_unit_test_setup_teardown(test_log_has_no_secrets, per_test_clear, log_teardown),
    };
    return cmocka_run_group_tests(tests, srv_setup, srv_teardown);
}
