/* test_fuzz_regress.c - one regression test per defect found by fuzzing (tests/fuzz/).
 *
 * Each test drives the same public function the fuzz target reached (an adapter's pull,
 * push or webhook_apply through struct adapter_ops, or text_wrap) with the minimised input,
 * and checks what went wrong in a way that does not need a sanitizer: a value a plain
 * build gets wrong as well (for the undefined conversions, the x86-64 result of the
 * overflow), so every test fails before its fix both here and under make check-asan.
 *
 * The adapters talk to a tiny in-process PMS: a thread on a loopback port that answers
 * each connection with the next canned response, in order (Connection: close), and keeps
 * the request line and body of every request it served.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <locale.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "adapter.h"
#include "http.h"
#include "log.h"
#include "text.h"
#include "util.h"

/* ---- a canned PMS ---- */

struct answer {
    int status;
    const char *headers; /* extra header lines, each ending "\r\n"; may be NULL */
    const char *body;
};

#define MAX_REQ 16

struct pms {
    int fd, port;
    pthread_t th;
    const struct answer *answers;
    size_t n;
    char *req[MAX_REQ]; /* "METHOD PATH\nBODY" of each request served */
    size_t nreq;
};

static char *read_request(int c)
{
    struct buf b;
    buf_init(&b);
    char chunk[4096];
    size_t need = 0;
    for (;;) {
        char *hdr_end = b.data ? strstr(b.data, "\r\n\r\n") : NULL;
        if (hdr_end && !need) {
            const char *cl = strstr(b.data, "\r\nContent-Length:"); /* as curl spells it */
            size_t len = cl && cl < hdr_end ? strtoul(cl + 17, NULL, 10) : 0;
            need = (size_t)(hdr_end + 4 - b.data) + len;
        }
        if (need && b.len >= need)
            break;
        ssize_t r = recv(c, chunk, sizeof(chunk), 0);
        if (r <= 0)
            break;
        buf_append(&b, chunk, (size_t)r);
    }
    /* "METHOD PATH\nBODY" */
    char *line_end = b.data ? strstr(b.data, " HTTP/") : NULL;
    char *body = b.data ? strstr(b.data, "\r\n\r\n") : NULL;
    char *out = xasprintf("%.*s\n%s", line_end ? (int)(line_end - b.data) : 0, b.data ? b.data : "",
                          body ? body + 4 : "");
    buf_free(&b);
    return out;
}

static void *serve(void *arg)
{
    struct pms *p = arg;
    for (size_t i = 0; i < p->n; i++) {
        struct pollfd pf = {.fd = p->fd, .events = POLLIN};
        if (poll(&pf, 1, 10000) != 1)
            break;
        int c = accept(p->fd, NULL, NULL);
        if (c < 0)
            break;
        char *r = read_request(c);
        if (p->nreq < MAX_REQ)
            p->req[p->nreq++] = r;
        else
            free(r);
        const struct answer *a = &p->answers[i];
        char *resp = xasprintf("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                               "Content-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
                               a->status, strlen(a->body), a->headers ? a->headers : "", a->body);
        ssize_t w = send(c, resp, strlen(resp), MSG_NOSIGNAL);
        (void)w;
        free(resp);
        close(c);
    }
    return NULL;
}

static void pms_start(struct pms *p, const struct answer *answers, size_t n)
{
    memset(p, 0, sizeof(*p));
    p->answers = answers;
    p->n = n;
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(p->fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(p->fd, 8), 0);
    assert_int_equal(getsockname(p->fd, (struct sockaddr *)&sa, &len), 0);
    p->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&p->th, NULL, serve, p), 0);
}

static void pms_stop(struct pms *p)
{
    shutdown(p->fd, SHUT_RDWR);
    pthread_join(p->th, NULL);
    close(p->fd);
    for (size_t i = 0; i < p->nreq; i++)
        free(p->req[i]);
}

/* ---- an adapter on that PMS ---- */

struct host_state {
    int have_token;      /* token_get answers a valid cached token */
    int64_t put_expires; /* what token_put was given (0: never called) */
};

static int host_get(void *ctx, char **token, int64_t *expires_at)
{
    struct host_state *h = ctx;
    if (!h->have_token)
        return -1;
    *token = xstrdup("cached-token");
    *expires_at = now_ms() + 3600 * 1000;
    return 0;
}

static int host_put(void *ctx, const char *token, int64_t expires_at)
{
    struct host_state *h = ctx;
    (void)token;
    h->put_expires = expires_at;
    return 0;
}

static int host_mints(void *ctx, int64_t window_ms)
{
    (void)ctx;
    (void)window_ms;
    return 0;
}

struct rig {
    struct pms pms;
    char url[64];
    char name[16], adapter[16], client_id[16], secret[16];
    struct account_conf conf;
    struct http_client *http;
    struct host_state hs;
    struct adapter_host host;
    struct adapter *a;
};

static void rig_start(struct rig *r, const struct adapter_ops *ops, int have_token,
                      const struct answer *answers, size_t n)
{
    memset(r, 0, sizeof(*r));
    pms_start(&r->pms, answers, n);
    snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d/v1", r->pms.port);
    snprintf(r->name, sizeof(r->name), "regress");
    snprintf(r->adapter, sizeof(r->adapter), "%s", ops->name);
    snprintf(r->client_id, sizeof(r->client_id), "10450");
    snprintf(r->secret, sizeof(r->secret), "secret");
    r->conf.name = r->name;
    r->conf.adapter = r->adapter;
    r->conf.base_url = r->url;
    r->conf.client_id = r->client_id;
    r->conf.secret = r->secret;
    r->conf.poll_interval = 60;
    struct http_opts o = {.timeout_ms = 10000};
    r->http = http_client_new(&o, NULL);
    r->hs.have_token = have_token;
    r->host = (struct adapter_host){&r->hs, host_get, host_put, host_mints};
    struct err e;
    r->a = adapter_new(ops, &r->conf, r->http, &r->host, &e);
    assert_non_null(r->a);
}

static void rig_stop(struct rig *r)
{
    adapter_free(&r->a);
    http_client_free(&r->http);
    pms_stop(&r->pms);
}

/* ---- a sink that keeps what it was given ---- */

#define MAX_REC 256

struct seen {
    size_t n;
    enum entity ent[MAX_REC];
    char *id[MAX_REC];      /* remote_id */
    char *contact[MAX_REC]; /* contact_remote_id of stays and threads */
};

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static int seen_put(struct sink *s, enum entity ent, const void *rec, struct err *e)
{
    (void)e;
    struct seen *k = s->ctx;
    if (k->n == MAX_REC)
        return 0;
    const char *id = *(const char *const *)rec; /* every record starts with remote_id */
    const char *contact = ent == ENT_STAY     ? ((const struct rec_stay *)rec)->contact_remote_id
                          : ent == ENT_THREAD ? ((const struct rec_thread *)rec)->contact_remote_id
                                              : NULL;
    k->ent[k->n] = ent;
    k->id[k->n] = dup_or_null(id);
    k->contact[k->n] = dup_or_null(contact);
    k->n++;
    return 0;
}

static void seen_free(struct seen *k)
{
    for (size_t i = 0; i < k->n; i++) {
        free(k->id[i]);
        free(k->contact[i]);
    }
}

static struct sink seen_sink(struct seen *k)
{
    memset(k, 0, sizeof(*k));
    return (struct sink){.ctx = k, .put = seen_put, .drift = NULL};
}

/* A page of 100 listings, Hostaway's envelope or Guesty's, with the given "count". */
static char *full_page(int guesty, const char *count)
{
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "%s", guesty ? "{\"results\":[" : "{\"status\":\"success\",\"result\":[");
    for (int i = 0; i < 100; i++) {
        if (guesty)
            buf_printf(&b, "%s{\"_id\":\"67ebab10b3e2a9c5000%05d\",\"title\":\"L\"}", i ? "," : "",
                       i);
        else
            buf_printf(&b, "%s{\"id\":%d,\"name\":\"L\"}", i ? "," : "", 40000 + i);
    }
    buf_printf(&b, "],\"count\":%s}", count);
    return buf_steal(&b);
}

/* ---- Hostaway ---- */

/* fuzz_hostaway, walk_done(): "count": 1e300 was converted to int64 (undefined; INT64_MIN
 * on x86-64), so a full page was taken for the last one and the walk stopped early. */
static void test_hostaway_page_count_beyond_int64(void **state)
{
    (void)state;
    char *page = full_page(0, "1e300");
    struct answer ans[] = {{200, NULL, page}};
    struct rig r;
    rig_start(&r, &hostaway_adapter, 1, ans, 1);
    struct seen k;
    struct sink sk = seen_sink(&k);
    char *next = NULL;
    struct err e;
    int rc = r.a->ops->pull(r.a, ENT_PROPERTY, NULL, &sk, &next, &e);
    assert_int_equal(rc, 1); /* more pages follow */
    assert_string_equal(next, "off=100");
    assert_int_equal(k.n, 100);
    free(next);
    seen_free(&k);
    rig_stop(&r);
    free(page);
}

/* fuzz_hostaway, mint(): "expires_in": 1e300 overflowed the conversion to milliseconds,
 * so the token was published as already expired (and re-minted on every call). */
static void test_hostaway_token_lifetime_beyond_int64(void **state)
{
    (void)state;
    struct answer ans[] = {
        {200, NULL, "{\"access_token\":\"fresh\",\"expires_in\":1e300}"},
        {200, NULL, "{\"status\":\"success\",\"result\":[],\"count\":0}"},
    };
    struct rig r;
    rig_start(&r, &hostaway_adapter, 0, ans, 2);
    struct seen k;
    struct sink sk = seen_sink(&k);
    char *next = NULL;
    struct err e;
    int64_t t0 = now_ms();
    int rc = r.a->ops->pull(r.a, ENT_PROPERTY, NULL, &sk, &next, &e);
    assert_int_equal(rc, 0);
    assert_true(r.hs.put_expires > t0); /* a usable token, not one that expired in 1970 */
    assert_int_equal(r.pms.nreq, 2);    /* one mint, one page */
    free(next);
    seen_free(&k);
    rig_stop(&r);
}

/* fuzz_hostaway, push_task(): a wo_schedule payload with "end": 1e300 was converted to
 * int64 (undefined) and formatted from an unset struct tm (gmtime_r failed): garbage in
 * shouldEndBy. A time past year 9999 is now left out. */
static void test_hostaway_schedule_beyond_year_9999(void **state)
{
    (void)state;
    struct answer ans[] = {{200, NULL, "{\"status\":\"success\",\"result\":{\"id\":880101}}"}};
    struct rig r;
    rig_start(&r, &hostaway_adapter, 1, ans, 1);
    struct outbox_op op = {.id = 1,
                           .op = "wo_schedule",
                           .payload = "{\"start\":1778000000000,\"end\":1e300}",
                           .idem_key = "k",
                           .remote_id = "880101",
                           .created_at = now_ms()};
    struct push_result res;
    struct err e;
    assert_int_equal(r.a->ops->push(r.a, &op, &res, &e), 0);
    assert_int_equal(r.pms.nreq, 1);
    assert_non_null(strstr(r.pms.req[0], "PUT /v1/tasks/880101\n"));
    assert_non_null(strstr(r.pms.req[0], "\"canStartFrom\":\"2026-05-05 16:53:20\""));
    assert_null(strstr(r.pms.req[0], "shouldEndBy"));
    rig_stop(&r);
}

/* ---- Guesty ---- */

/* fuzz_guesty, pull_skip(): the same count conversion as Hostaway's. */
static void test_guesty_page_count_beyond_int64(void **state)
{
    (void)state;
    char *page = full_page(1, "1e300");
    struct answer ans[] = {{200, NULL, page}};
    struct rig r;
    rig_start(&r, &guesty_adapter, 1, ans, 1);
    struct seen k;
    struct sink sk = seen_sink(&k);
    char *next = NULL;
    struct err e;
    int rc = r.a->ops->pull(r.a, ENT_PROPERTY, NULL, &sk, &next, &e);
    assert_int_equal(rc, 1);
    assert_string_equal(next, "skip=100");
    free(next);
    seen_free(&k);
    rig_stop(&r);
    free(page);
}

/* fuzz_guesty, mint(): the same expires_in conversion as Hostaway's. */
static void test_guesty_token_lifetime_beyond_int64(void **state)
{
    (void)state;
    struct answer ans[] = {
        {200, NULL, "{\"access_token\":\"fresh\",\"expires_in\":1e300}"},
        {200, NULL, "{\"results\":[],\"count\":0}"},
    };
    struct rig r;
    rig_start(&r, &guesty_adapter, 0, ans, 2);
    struct seen k;
    struct sink sk = seen_sink(&k);
    char *next = NULL;
    struct err e;
    int64_t t0 = now_ms();
    assert_int_equal(r.a->ops->pull(r.a, ENT_PROPERTY, NULL, &sk, &next, &e), 0);
    assert_true(r.hs.put_expires > t0);
    free(next);
    seen_free(&k);
    rig_stop(&r);
}

/* fuzz_guesty (minimised):
 *   pull s
 *   {"results":[{"id":"0","listing":"7","guestId":"","status":"confirmed"}]}
 * An empty guestId gave the guest the contact id "": every reservation with an empty
 * guestId shared one contact. It now falls back to "guest:<reservation id>". */
static void test_guesty_empty_guest_id(void **state)
{
    (void)state;
    struct answer ans[] = {
        {200, NULL,
         "{\"results\":[{\"id\":\"0\",\"listing\":\"7\",\"guestId\":\"\",\"status\":\"confirmed\"},"
         "{\"_id\":\"r2\",\"listingId\":\"7\",\"guestId\":\"\",\"guest\":{\"_id\":\"\"},"
         "\"status\":\"confirmed\"}]}"},
    };
    struct rig r;
    rig_start(&r, &guesty_adapter, 1, ans, 1);
    struct seen k;
    struct sink sk = seen_sink(&k);
    char *next = NULL;
    struct err e;
    assert_int_equal(r.a->ops->pull(r.a, ENT_STAY, NULL, &sk, &next, &e), 0);
    assert_int_equal(k.n, 4); /* contact, stay, contact, stay */
    assert_int_equal(k.ent[0], ENT_CONTACT);
    assert_string_equal(k.id[0], "guest:0");
    assert_string_equal(k.contact[1], "guest:0");
    assert_string_equal(k.id[2], "guest:r2");
    assert_string_equal(k.contact[3], "guest:r2");
    free(next);
    seen_free(&k);
    rig_stop(&r);
}

/* fuzz_guesty: a conversation whose meta.guest._id is "" put a contact with the id "" (and
 * linked the thread to it). */
static void test_guesty_empty_conversation_guest(void **state)
{
    (void)state;
    struct answer ans[] = {
        {200, NULL,
         "{\"status\":200,\"data\":{\"conversations\":[{\"_id\":\"69e92d52e53967060000010c\","
         "\"meta\":{\"guest\":{\"_id\":\"\",\"fullName\":\"Nobody\"},"
         "\"reservations\":[{\"_id\":\"\"}]}}],\"cursor\":{\"after\":\"\"}}}"},
        {200, NULL, "{\"status\":200,\"data\":{\"posts\":[]}}"},
    };
    struct rig r;
    rig_start(&r, &guesty_adapter, 1, ans, 2);
    struct seen k;
    struct sink sk = seen_sink(&k);
    char *next = NULL;
    struct err e;
    assert_int_equal(r.a->ops->pull(r.a, ENT_THREAD, NULL, &sk, &next, &e), 0);
    assert_int_equal(k.n, 1); /* the thread only: no contact "" */
    assert_int_equal(k.ent[0], ENT_THREAD);
    assert_null(k.contact[0]);
    free(next);
    seen_free(&k);
    rig_stop(&r);
}

/* ---- Buildium ---- */

/* fuzz_buildium, pull_dated(): a cursor "start=-9223372036854775808" overflowed start -
 * 1 day (undefined), and the next cursor's date came from an unset struct tm. An
 * out-of-range start now counts as absent (the walk starts now). */
static void test_buildium_cursor_start_out_of_range(void **state)
{
    (void)state;
    struct answer ans[] = {{200, "X-Total-Count: 0\r\n", "[]"}};
    struct rig r;
    rig_start(&r, &buildium_adapter, 1, ans, 1);
    struct seen k;
    struct sink sk = seen_sink(&k);
    char *next = NULL;
    struct err e;
    int rc = r.a->ops->pull(r.a, ENT_WORK_ORDER, "from=2026-11-01;off=0;start=-9223372036854775808",
                            &sk, &next, &e);
    assert_int_equal(rc, 0);
    /* from = the UTC date of now - 1 day */
    char want[32];
    time_t t = (time_t)(now_ms() / 1000 - 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(want, sizeof(want), "from=%Y-%m-%d;off=0", &tm);
    assert_string_equal(next, want);
    free(next);
    seen_free(&k);
    rig_stop(&r);
}

/* ---- text ---- */

struct lines {
    int n;
    int widest;
};

static void on_line(const char *line, size_t n, void *arg)
{
    struct lines *l = arg;
    char *s = xstrndup(line, n);
    int w = text_width(s);
    free(s);
    if (w > l->widest)
        l->widest = w;
    l->n++;
}

/* fuzz_text (minimised): flags 0x3d, 0 columns, "\t\0\0\xcc\x81\x80\x01". Cleaned, that
 * is eight spaces of tab, U+0301 and U+FFFD; text_wrap(…, 1) gave the line "        ́"
 * (8 columns in a 1-column pane): a zero-width character after spaces that went past the
 * edge glued them into the line. */
static void test_text_wrap_zero_width_after_spaces(void **state)
{
    (void)state;
    static const char in[] = "\t\0\0\xcc\x81\x80\x01";
    char *clean = text_clean(in, sizeof(in) - 1, TEXT_MULTILINE);
    assert_string_equal(clean, "        \xcc\x81\xef\xbf\xbd");
    struct lines l = {0, 0};
    text_wrap(clean, 1, on_line, &l);
    assert_true(l.widest <= 1);
    free(clean);

    /* the same inside a paragraph: "a", ten spaces, a combining mark, in 3 columns */
    l = (struct lines){0, 0};
    text_wrap("a          \xcc\x81z", 3, on_line, &l);
    assert_true(l.widest <= 3);
}

int main(void)
{
    setlocale(LC_ALL, "C.UTF-8");
    log_quiet_stderr(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostaway_page_count_beyond_int64),
        cmocka_unit_test(test_hostaway_token_lifetime_beyond_int64),
        cmocka_unit_test(test_hostaway_schedule_beyond_year_9999),
        cmocka_unit_test(test_guesty_page_count_beyond_int64),
        cmocka_unit_test(test_guesty_token_lifetime_beyond_int64),
        cmocka_unit_test(test_guesty_empty_guest_id),
        cmocka_unit_test(test_guesty_empty_conversation_guest),
        cmocka_unit_test(test_buildium_cursor_start_out_of_range),
        cmocka_unit_test(test_text_wrap_zero_width_after_spaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
