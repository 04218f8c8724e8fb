/* http.c - see http.h
 *
 * Request lifecycle (http_request):
 *   1. take a slot of the account's ratelim; the wait is bounded by the request's
 *      timeout, so a long Retry-After block fails fast (-1, RETRY_LATER) instead of parking
 *      the worker thread; the slot is handed back (ratelim_done) as soon as the answer or
 *      the failure is in, before anything else;
 *   2. curl_easy_reset() the client's handle (this keeps its connection cache, so
 *      connections are reused) and set every option afresh: no state leaks between requests;
 *   3. perform; the header callback restarts its buffer at every status line, so only the
 *      final response's headers are kept (no 100 Continue, no proxy CONNECT answer);
 *   4. any answer -> 0 (the caller maps the status); a 429 blocks the shared limiter for
 *      Retry-After (1 s when absent or unparseable) before returning; no answer -> -1;
 *   5. one log line: INFO for an answer, WARN for a transport failure; request headers and
 *      bodies (redacted, truncated to 2 KB) at DEBUG.
 *
 * Choices: redirects are never followed (the 3xx comes back to the caller, and is logged at
 * WARN with its Location); Accept-Encoding is "" (curl offers every encoding it was built
 * with and decodes transparently: list endpoints compress well); only http and https are
 * allowed; "Expect: 100-continue" is suppressed unless the caller sets an Expect header.
 * Date parsing is done by hand rather than with strptime, whose %a/%b follow the locale
 * (the TUI calls setlocale).
 */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "log.h"

#ifndef PORTER_VERSION
#define PORTER_VERSION "dev"
#endif

#define HTTP_MOD         "http"
#define LOG_BODY_MAX     2048        /* bytes of a body shown at DEBUG */
#define RESP_BODY_MAX    (64L << 20) /* larger answers are refused */
#define URL_SHOW_MAX     320         /* redacted URL as shown in messages */
#define DEFAULT_CONNECT  5000
#define DEFAULT_TIMEOUT  30000
#define BLOCK_DEFAULT_MS 1000  /* a first 429 without a usable Retry-After... */
#define BLOCK_MAX_MS     60000 /* ...doubling with each one in a row, up to this */

/* ---- rate limiter ----
 *
 * State: `ends` is a ring of the answer times (microseconds) of the requests answered in the last
 * window, oldest first (answers are recorded under the lock, so they arrive in order);
 * `inflight` counts the admitted requests not answered yet. The requests that count against
 * the window at `now` are inflight + those of `ends` later than now - window. The ring never
 * holds more than `limit` entries: a request is admitted only while inflight + ring < limit,
 * and ratelim_done moves one request from the first count to the second. */

#define RATELIM_MAX 100000 /* most requests per window (rate_burst's upper bound) */

struct ratelim {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* an answer came or a block was set: waiters re-check */
    int limit;              /* requests in any window; 0: no window (only blocks apply) */
    int at_once;            /* how many may go without spacing: limit / 2, rounded up */
    int64_t window_us;
    int64_t gap_us;        /* window / limit: the spacing past at_once */
    int64_t *ends;         /* owned: ring of `limit` answer times */
    int head, nends;       /* the ring's oldest entry and its count */
    int inflight;          /* admitted, not answered */
    int64_t last_us;       /* the last admission */
    int64_t blocked_until; /* microseconds */
    int64_t limited;       /* 429s seen */
    int streak;            /* 429s in a row, reset by any other answer */
    int64_t waited_ms;     /* total time spent waiting in ratelim_take */
};

static int64_t clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* mono_ms's clock */
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct ratelim *ratelim_new(double per_sec, int burst)
{
    struct ratelim *r = xcalloc(1, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->changed, &ca);
    pthread_condattr_destroy(&ca);
    if (per_sec > 0) {
        int n = burst < 1 ? 1 : burst > RATELIM_MAX ? RATELIM_MAX : burst;
        double w = (double)n / per_sec * 1e6;
        int64_t wu = w < 1 ? 1 : w > 1e15 ? (int64_t)1e15 : (int64_t)w;
        r->limit = n;
        r->at_once = (n + 1) / 2;
        r->window_us = (double)wu < w ? wu + 1 : wu; /* rounded up: never a shorter window */
        r->gap_us = (r->window_us + n - 1) / n;
        r->ends = xcalloc((size_t)n, sizeof(*r->ends));
    }
    return r;
}

void ratelim_free(struct ratelim **r)
{
    if (!r || !*r)
        return;
    pthread_cond_destroy(&(*r)->changed);
    pthread_mutex_destroy(&(*r)->lock);
    free((*r)->ends);
    free(*r);
    *r = NULL;
}

/* ratelim_try with the lock held. */
static int64_t try_locked(struct ratelim *r, int64_t now)
{
    if (r->blocked_until > now)
        return r->blocked_until - now;
    if (r->limit > 0) {
        while (r->nends > 0 && r->ends[r->head] + r->window_us <= now) {
            r->head = (r->head + 1) % r->limit;
            r->nends--;
        }
        int held = r->inflight + r->nends;
        if (held >= r->limit) {
            /* the k-th oldest answer must leave the window; in-flight ones first answer */
            int k = held - r->limit + 1;
            if (k > r->nends)
                return RATELIM_UNTIL_ANSWER;
            return r->ends[(r->head + k - 1) % r->limit] + r->window_us - now;
        }
        if (held >= r->at_once && r->last_us + r->gap_us > now)
            return r->last_us + r->gap_us - now;
    }
    r->inflight++;
    r->last_us = now;
    return 0;
}

int64_t ratelim_try(struct ratelim *r, int64_t now_us)
{
    if (!r)
        return 0;
    pthread_mutex_lock(&r->lock);
    int64_t w = try_locked(r, now_us);
    pthread_mutex_unlock(&r->lock);
    return w;
}

void ratelim_done_at(struct ratelim *r, int64_t now_us)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    if (r->inflight > 0) { /* a done without a take is ignored */
        r->inflight--;
        if (r->limit > 0) {
            if (r->nends == r->limit) { /* cannot happen (see the top); keep the ring sound */
                r->head = (r->head + 1) % r->limit;
                r->nends--;
            }
            r->ends[(r->head + r->nends) % r->limit] = now_us;
            r->nends++;
        }
        pthread_cond_broadcast(&r->changed);
    }
    pthread_mutex_unlock(&r->lock);
}

void ratelim_done(struct ratelim *r)
{
    ratelim_done_at(r, clock_us());
}

int64_t ratelim_take(struct ratelim *r, int64_t deadline_ms)
{
    if (!r)
        return 0;
    int64_t deadline = deadline_ms > 0 ? deadline_ms * 1000 : 0;
    int64_t start = 0; /* of the first wait */
    pthread_mutex_lock(&r->lock);
    for (;;) {
        int64_t now = clock_us();
        int64_t wait = try_locked(r, now);
        if (wait == 0) {
            pthread_mutex_unlock(&r->lock);
            return start ? (now - start) / 1000 : 0;
        }
        if (!start)
            start = now;
        int known = wait != RATELIM_UNTIL_ANSWER;
        if (deadline && (known ? wait > deadline - now : now >= deadline)) {
            pthread_mutex_unlock(&r->lock);
            return -1;
        }
        int64_t wake = known ? now + wait : deadline;
        if (wake) {
            struct timespec ts = {(time_t)(wake / 1000000), (long)(wake % 1000000) * 1000L};
            pthread_cond_timedwait(&r->changed, &r->lock, &ts);
        } else {
            pthread_cond_wait(&r->changed, &r->lock);
        }
        r->waited_ms += (clock_us() - now) / 1000;
    }
}

void ratelim_block_until(struct ratelim *r, int64_t until_ms)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    if (until_ms * 1000 > r->blocked_until) {
        r->blocked_until = until_ms * 1000;
        pthread_cond_broadcast(&r->changed);
    }
    pthread_mutex_unlock(&r->lock);
}

void ratelim_stats(struct ratelim *r, int64_t *limited, int64_t *waited_ms)
{
    int64_t l = 0, w = 0;
    if (r) {
        pthread_mutex_lock(&r->lock);
        l = r->limited;
        w = r->waited_ms;
        pthread_mutex_unlock(&r->lock);
    }
    if (limited)
        *limited = l;
    if (waited_ms)
        *waited_ms = w;
}

/* Count an answer: for a 429, how long to block when the PMS gave no Retry-After
 * (1 s, doubling with each 429 in a row up to a minute, so a PMS that documents no
 * Retry-After, like Buildium, is not hammered at 1 request/s through a long storm). */
static int64_t ratelim_answer(struct ratelim *r, long status)
{
    if (!r)
        return BLOCK_DEFAULT_MS;
    pthread_mutex_lock(&r->lock);
    int64_t block = BLOCK_DEFAULT_MS;
    if (status == 429) {
        r->limited++;
        for (int i = 0; i < r->streak && block < BLOCK_MAX_MS; i++)
            block *= 2;
        r->streak++;
    } else {
        r->streak = 0;
    }
    pthread_mutex_unlock(&r->lock);
    return block < BLOCK_MAX_MS ? block : BLOCK_MAX_MS;
}

/* A PMS that announces its quota (Guesty's X-RateLimit-Remaining-Second|Minute|Hour) is
 * paced by it: when a window has no request left, hold every request of the account for
 * that window (the hour's is re-checked each minute) instead of running into a 429. */
static int64_t quota_spent_ms(const struct http_resp *r)
{
    static const struct {
        const char *header;
        int64_t hold_ms;
    } win[] = {{"X-RateLimit-Remaining-Second", 1000},
               {"X-RateLimit-Remaining-Minute", 60000},
               {"X-RateLimit-Remaining-Hour", 60000}};
    int64_t hold = 0;
    for (size_t i = 0; i < sizeof(win) / sizeof(win[0]); i++) {
        char *v = http_resp_header(r, win[i].header);
        if (v && *v && strspn(v, "0123456789") == strlen(v) && atol(v) == 0 &&
            win[i].hold_ms > hold)
            hold = win[i].hold_ms;
        free(v);
    }
    return hold;
}

/* ---- client ---- */

struct http_client;
static int on_progress(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un);

struct http_client {
    CURL *curl;         /* owned; reused so its connection cache survives between requests */
    struct ratelim *rl; /* borrowed */
    int connect_timeout_ms;
    int timeout_ms;
    char *user_agent; /* owned copies of the borrowed option strings */
    char *log_name;
    char *ca_file;
    const atomic_int *cancel; /* borrowed */
    void (*before_io)(void *arg);
    void *before_arg;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_global(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct http_client *http_client_new(const struct http_opts *o, struct ratelim *rl)
{
    pthread_once(&curl_once, curl_global);
    if (curl_init_rc != CURLE_OK) {
        log_error(HTTP_MOD, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        log_error(HTTP_MOD, "curl_easy_init failed");
        return NULL;
    }
    struct http_client *c = xcalloc(1, sizeof(*c));
    c->curl = curl;
    c->rl = rl;
    c->connect_timeout_ms =
        o && o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT;
    c->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT;
    c->user_agent = xstrdup(o && o->user_agent ? o->user_agent : "porter/" PORTER_VERSION);
    c->log_name = xstrdup(o && o->log_name ? o->log_name : NULL);
    c->ca_file = xstrdup(o && o->ca_file ? o->ca_file : NULL);
    c->cancel = o ? o->cancel : NULL;
    return c;
}

void http_client_before_io(struct http_client *c, void (*fn)(void *arg), void *arg)
{
    if (!c)
        return;
    c->before_io = fn;
    c->before_arg = arg;
}

void http_client_free(struct http_client **cp)
{
    if (!cp || !*cp)
        return;
    struct http_client *c = *cp;
    curl_easy_cleanup(c->curl);
    free(c->user_agent);
    free(c->log_name);
    free(c->ca_file);
    free(c);
    *cp = NULL;
}

void http_resp_free(struct http_resp *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->headers);
    r->body = NULL;
    r->headers = NULL;
    r->len = 0;
}

struct xfer {
    struct buf body;
    struct buf headers;
    int too_large;
};

/* Called by libcurl about once a second and on every chunk: non-zero abandons the
 * transfer (CURLE_ABORTED_BY_CALLBACK). */
static int on_progress(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    const struct http_client *c = p;
    return c->cancel && atomic_load(c->cancel) ? 1 : 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *u)
{
    struct xfer *x = u;
    size_t len = size * n;
    if (x->body.len + len > (size_t)RESP_BODY_MAX) {
        x->too_large = 1;
        return 0; /* CURLE_WRITE_ERROR */
    }
    buf_append(&x->body, p, len);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *u)
{
    struct xfer *x = u;
    size_t len = size * n;
    /* a status line starts a new response: keep only the final one's headers */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        x->headers.len = 0;
    buf_append(&x->headers, p, len);
    return len;
}

/* Header names whose values are never logged. */
static int header_is_secret(const char *name)
{
    static const char *const words[] = {"authorization", "x-buildium-client-secret",
                                        "token",         "secret",
                                        "cookie",        "password",
                                        "api-key",       "apikey",
                                        "api_key"};
    char low[128];
    size_t i;
    for (i = 0; name[i] && i + 1 < sizeof(low); i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[i] = '\0';
    for (size_t w = 0; w < ARRAY_LEN(words); w++)
        if (strstr(low, words[w]))
            return 1;
    return 0;
}

static int has_crlf(const char *s)
{
    return s && strpbrk(s, "\r\n") != NULL;
}

/* Body (not NUL-terminated, may contain NULs) redacted and cut to LOG_BODY_MAX bytes, into
 * out (LOG_BODY_OUT bytes). Redacting only a bounded prefix is safe: nothing past the cut is
 * ever shown, and a secret value that straddles the cut is masked to its end. */
#define LOG_BODY_OUT (LOG_BODY_MAX + 8)
static void body_for_log(const char *p, size_t len, char out[LOG_BODY_OUT])
{
    char in[2 * LOG_BODY_MAX + 1];
    size_t m = len < sizeof(in) - 1 ? len : sizeof(in) - 1;
    memcpy(in, p, m);
    in[m] = '\0';
    log_redact(in, out, LOG_BODY_MAX + 1);
    if (len > m || strlen(in) < m || strlen(out) == LOG_BODY_MAX)
        strcat(out, " ...");
}

static const char *transport_reason(CURLcode rc, long os_errno, int64_t connected, int timeout_ms,
                                    int connect_timeout_ms, const char *detail, char *tmp, size_t n)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        if (!connected)
            snprintf(tmp, n, "connect timed out after %d ms", connect_timeout_ms);
        else
            snprintf(tmp, n, "timed out after %d ms", timeout_ms);
        return tmp;
    case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED || os_errno == 0)
            return "connection refused";
        snprintf(tmp, n, "cannot connect: %s", strerror((int)os_errno));
        return tmp;
    case CURLE_COULDNT_RESOLVE_HOST:
        return "cannot resolve host name";
    case CURLE_ABORTED_BY_CALLBACK:
        return "cancelled: porter is stopping";
    case CURLE_PEER_FAILED_VERIFICATION: /* porter always verifies; nothing turns it off */
        snprintf(tmp, n, "TLS certificate not trusted%s%s", detail[0] ? ": " : "", detail);
        return tmp;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return "connection reset (no answer)";
    default:
        break;
    }
    snprintf(tmp, n, "%s%s%s", curl_easy_strerror(rc), detail[0] ? ": " : "", detail);
    return tmp;
}

static int rc_is_final(CURLcode rc)
{
    return rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
           rc == CURLE_BAD_FUNCTION_ARGUMENT;
}

static struct curl_slist *build_headers(const struct http_req *rq, struct buf *dbg)
{
    struct curl_slist *list = NULL;
    int has_expect = 0;
    for (size_t i = 0; i < rq->nheaders; i++) {
        const struct http_header *h = &rq->headers[i];
        const char *v = h->value ? h->value : "";
        char *line = v[0] ? xasprintf("%s: %s", h->name, v) : xasprintf("%s;", h->name);
        struct curl_slist *nl = curl_slist_append(list, line);
        free(line);
        if (!nl) {
            curl_slist_free_all(list);
            log_error(HTTP_MOD, "out of memory building headers");
            abort();
        }
        list = nl;
        if (strcasecmp(h->name, "Expect") == 0)
            has_expect = 1;
        buf_printf(dbg, "%s%s: %s", dbg->len ? ", " : "", h->name,
                   header_is_secret(h->name) ? "***" : v);
    }
    if (!has_expect) {
        struct curl_slist *nl = curl_slist_append(list, "Expect:");
        if (!nl) {
            curl_slist_free_all(list);
            abort();
        }
        list = nl;
    }
    return list;
}

static void set_method(CURL *curl, const char *method, const char *body, size_t body_len)
{
    if (strcmp(method, "GET") == 0 && !body) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        return;
    }
    int wants_body = body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                     strcmp(method, "PATCH") == 0;
    if (wants_body) {
        /* POSTFIELDS makes it a POST with a Content-Length (0 when there is no body) */
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
    }
    if (strcmp(method, "POST") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    /* A write never rides a reused connection: when a reused connection dies without an
     * answer, libcurl silently resends the request on a new one ("connection died,
     * retrying a fresh connect"), and a write the server had applied would land twice.
     * A fresh connection turns that into an error the outbox handles (find, then retry). */
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
}

int http_request(struct http_client *c, const struct http_req *rq, struct http_resp *out,
                 struct err *e)
{
    err_clear(e);
    if (out) {
        memset(out, 0, sizeof(*out));
        out->retry_after_ms = -1;
    }
    if (!c || !rq || !out || !rq->method || !rq->url || !rq->method[0] ||
        (rq->nheaders && !rq->headers))
        return err_set(e, CURLE_BAD_FUNCTION_ARGUMENT, FINAL, "http_request: bad arguments");

    const char *name = c->log_name ? c->log_name : "";
    const char *sep = c->log_name ? ": " : "";
    char url[URL_SHOW_MAX];
    log_redact(rq->url, url, sizeof(url));
    for (size_t i = 0; i < rq->nheaders; i++) {
        if (!rq->headers[i].name || !rq->headers[i].name[0] || has_crlf(rq->headers[i].name) ||
            has_crlf(rq->headers[i].value))
            return err_set(e, CURLE_BAD_FUNCTION_ARGUMENT, FINAL,
                           "%s %s: invalid request header #%zu", rq->method, url, i);
    }
    if (c->before_io)
        c->before_io(c->before_arg);
    if (has_crlf(rq->method))
        return err_set(e, CURLE_BAD_FUNCTION_ARGUMENT, FINAL, "http_request: invalid method");

    int timeout_ms = rq->timeout_ms > 0 ? rq->timeout_ms : c->timeout_ms;
    size_t body_len = rq->body ? (rq->body_len ? rq->body_len : strlen(rq->body)) : 0;

    /* 1. rate limit, bounded by the request's own timeout */
    int64_t waited = ratelim_take(c->rl, mono_ms() + timeout_ms);
    if (waited < 0) {
        log_warn(HTTP_MOD, "%s%s%s %s: rate limited, no slot within %d ms", name, sep, rq->method,
                 url, timeout_ms);
        return err_set(e, CURLE_OPERATION_TIMEDOUT, RETRY_LATER,
                       "%s %s: rate limited, no slot within %d ms", rq->method, url, timeout_ms);
    }

    /* 2. a clean handle (connections survive curl_easy_reset) */
    CURL *curl = c->curl;
    curl_easy_reset(curl);
    struct xfer x;
    buf_init(&x.body);
    buf_init(&x.headers);
    x.too_large = 0;
    char errbuf[CURL_ERROR_SIZE];
    errbuf[0] = '\0';
    struct buf dbg_hdrs;
    buf_init(&dbg_hdrs);
    buf_puts(&dbg_hdrs, "");
    struct curl_slist *hdrs = build_headers(rq, &dbg_hdrs);

    curl_easy_setopt(curl, CURLOPT_URL, rq->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
    set_method(curl, rq->method, rq->body, body_len);
    if (c->cancel) {
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, c);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    } else {
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 1L);
    }

    char dbg_body[LOG_BODY_OUT];
    if (rq->body) {
        body_for_log(rq->body, body_len, dbg_body);
        log_debug(HTTP_MOD, "%s%s%s %s headers: %s; body: %s", name, sep, rq->method, url,
                  dbg_hdrs.data, dbg_body);
    } else {
        log_debug(HTTP_MOD, "%s%s%s %s headers: %s", name, sep, rq->method, url, dbg_hdrs.data);
    }
    buf_free(&dbg_hdrs);

    /* 3. perform */
    int64_t t0 = mono_ms();
    CURLcode rc = curl_easy_perform(curl);
    ratelim_done(c->rl); /* answered or failed: the PMS counted it by now, if at all */
    int64_t elapsed = mono_ms() - t0;
    curl_slist_free_all(hdrs);

    if (rc != CURLE_OK) {
        long os_errno = 0;
        curl_off_t connect_us = 0;
        curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
        curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
        char tmp[CURL_ERROR_SIZE + 64];
        char detail[CURL_ERROR_SIZE];
        log_redact(errbuf, detail, sizeof(detail));
        const char *why;
        if (rc == CURLE_WRITE_ERROR && x.too_large)
            why = "answer larger than 64 MB";
        else
            why = transport_reason(rc, os_errno, connect_us > 0, timeout_ms, c->connect_timeout_ms,
                                   detail, tmp, sizeof(tmp));
        enum retry_class rcl = rc_is_final(rc) || x.too_large ? FINAL : RETRY_LATER;
        log_warn(HTTP_MOD, "%s%s%s %s: %s (%lld ms, %zu bytes sent)", name, sep, rq->method, url,
                 why, (long long)elapsed, body_len);
        err_set(e, (int)rc, rcl, "%s %s: %s", rq->method, url, why);
        buf_free(&x.body);
        buf_free(&x.headers);
        return -1;
    }

    /* 4. an answer */
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    out->status = status;
    out->len = x.body.len;
    out->body = x.body.data ? buf_steal(&x.body) : xstrdup("");
    out->headers = x.headers.data ? buf_steal(&x.headers) : xstrdup("");
    out->elapsed_ms = elapsed;
    char *ra = http_resp_header(out, "Retry-After");
    if (ra) {
        out->retry_after_ms = http_parse_retry_after(ra, now_ms());
        free(ra);
    }
    int64_t backoff = ratelim_answer(c->rl, status);
    int64_t spent = quota_spent_ms(out);
    if (spent > 0 && status != 429)
        ratelim_block_until(c->rl, mono_ms() + spent);
    if (status == 429)
        ratelim_block_until(c->rl,
                            mono_ms() + (out->retry_after_ms >= 0 ? out->retry_after_ms : backoff));

    /* 5. log */
    char waited_s[48] = "";
    if (waited > 0)
        snprintf(waited_s, sizeof(waited_s), ", waited %lld ms", (long long)waited);
    log_info(HTTP_MOD, "%s%s%s %s -> %ld (%lld ms%s, %zu bytes sent, %zu received)", name, sep,
             rq->method, url, status, (long long)elapsed, waited_s, body_len, out->len);
    if (status >= 300 && status < 400) {
        char *loc = http_resp_header(out, "Location");
        char loc_r[URL_SHOW_MAX];
        log_redact(loc ? loc : "(none)", loc_r, sizeof(loc_r));
        log_warn(HTTP_MOD, "%s%s%s %s: redirect to %s not followed", name, sep, rq->method, url,
                 loc_r);
        free(loc);
    }
    if (status == 429)
        log_warn(HTTP_MOD, "%s%s%s %s: 429, requests blocked for %lld ms", name, sep, rq->method,
                 url, (long long)(out->retry_after_ms >= 0 ? out->retry_after_ms : backoff));
    if (out->len) {
        char dbg_resp[LOG_BODY_OUT];
        body_for_log(out->body, out->len, dbg_resp);
        log_debug(HTTP_MOD, "%s%s%s %s answer body: %s", name, sep, rq->method, url, dbg_resp);
    }
    return 0;
}

char *http_resp_header(const struct http_resp *r, const char *name)
{
    if (!r || !r->headers || !name)
        return NULL;
    size_t nl = strlen(name);
    for (const char *l = r->headers; *l;) {
        const char *end = strchr(l, '\n');
        if (!end)
            end = l + strlen(l);
        if ((size_t)(end - l) > nl && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = end;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            return xstrndup(v, (size_t)(ve - v));
        }
        l = *end ? end + 1 : end;
    }
    return NULL;
}

enum retry_class http_status_retry(long status)
{
    if (status >= 200 && status < 400)
        return RETRY_NONE;
    if (status == 408 || status == 425 || status == 429 || (status >= 500 && status < 600))
        return RETRY_LATER;
    /* other 4xx, and anything that is not a final HTTP status at all */
    return FINAL;
}

/* ---- Retry-After ---- */

static int month_index(const char *s)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (strncmp(s, names + 3 * i, 3) == 0)
            return i;
    return -1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Read exactly `min`..`max` digits. */
static int read_num(const char **p, int min, int max, int *out)
{
    int v = 0, n = 0;
    while (n < max && isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    if (n < min)
        return -1;
    *out = v;
    return 0;
}

static int read_lit(const char **p, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n) != 0)
        return -1;
    *p += n;
    return 0;
}

static int read_time(const char **p, int *h, int *mi, int *s)
{
    if (read_num(p, 2, 2, h) || read_lit(p, ":") || read_num(p, 2, 2, mi) || read_lit(p, ":") ||
        read_num(p, 2, 2, s))
        return -1;
    return 0;
}

/* IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT",
 * asctime "Sun Nov  6 08:49:37 1994". Returns 0 and the epoch milliseconds in *ms. */
static int parse_http_date(const char *p, int64_t *ms)
{
    int day, mon, year, h, mi, s;
    const char *w = p;
    while (isalpha((unsigned char)*p))
        p++;
    if (p - w < 3)
        return -1;
    if (*p == ',') {
        p++;
        if (read_lit(&p, " ") || read_num(&p, 2, 2, &day))
            return -1;
        char dsep = *p;
        if (dsep != ' ' && dsep != '-')
            return -1;
        p++;
        if ((mon = month_index(p)) < 0)
            return -1;
        p += 3;
        if (*p++ != dsep)
            return -1;
        if (dsep == ' ') {
            if (read_num(&p, 4, 4, &year))
                return -1;
        } else {
            if (read_num(&p, 2, 2, &year))
                return -1;
            year += year < 70 ? 2000 : 1900;
        }
        if (read_lit(&p, " ") || read_time(&p, &h, &mi, &s) || read_lit(&p, " GMT"))
            return -1;
    } else if (*p == ' ') {
        p++;
        if ((mon = month_index(p)) < 0)
            return -1;
        p += 3;
        if (read_lit(&p, " "))
            return -1;
        if (*p == ' ')
            p++;
        if (read_num(&p, 1, 2, &day) || read_lit(&p, " ") || read_time(&p, &h, &mi, &s) ||
            read_lit(&p, " ") || read_num(&p, 4, 4, &year))
            return -1;
    } else {
        return -1;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return -1;
    if (day < 1 || day > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    int64_t days = days_from_civil(year, mon + 1, day);
    *ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)s * 1000;
    return 0;
}

int64_t http_parse_retry_after(const char *value, int64_t now)
{
    if (!value)
        return -1;
    const char *p = value;
    while (*p == ' ' || *p == '\t')
        p++;
    if (isdigit((unsigned char)*p)) {
        int64_t secs = 0;
        while (isdigit((unsigned char)*p)) {
            if (secs > (INT64_MAX / 1000 - 9) / 10)
                return -1;
            secs = secs * 10 + (*p - '0');
            p++;
        }
        while (*p == ' ' || *p == '\t')
            p++;
        return *p ? -1 : secs * 1000;
    }
    int64_t at;
    if (parse_http_date(p, &at) != 0)
        return -1;
    return at > now ? at - now : 0;
}

/* ---- escaping ---- */

char *http_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *out = xmalloc(3 * n + 1);
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        /* ASCII only: isalnum() would follow the locale */
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}
