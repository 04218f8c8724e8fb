/* http.h - porter's HTTP client over libcurl. Adapters reach the network only through this.
 *
 * One struct http_client per thread (it owns a CURL easy handle, so connections are reused
 * between its requests). A struct ratelim is shared by every client of one PMS account: a
 * sliding window sized from the dialect's documented limit (overridable in accounts.conf),
 * plus a "blocked until" instant set by a 429's Retry-After, so no request of that account
 * leaves before it. TLS peer and host verification are always on. Every request is logged
 * (method, URL, status, duration) with secrets redacted (log_redact); bodies only at debug.
 *
 * Errors: http_request() returns 0 whenever an HTTP answer arrived, whatever its status
 * (the caller maps statuses; http_status_retry() helps). It returns -1 when no answer came:
 * timeout, refused, reset, DNS, TLS — e->retry is RETRY_LATER, e->code the CURLcode, and
 * e->msg says what happened, e.g. "POST https://.../messages: timed out after 30000 ms".
 */
#ifndef PORTER_HTTP_H
#define PORTER_HTTP_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "util.h"

/* ---- rate limiter (thread-safe) ----
 *
 * A PMS counts requests in windows ("15 per 10 s"). The limiter keeps, for one account, at
 * most `limit` requests in any window of `window` length as the PMS sees them:
 *
 *   - a request counts from the moment it is admitted (ratelim_take / ratelim_try) until a
 *     full window after its answer came (ratelim_done). The PMS counts a request somewhere
 *     between those two instants, so whatever the latency, and however it varies between
 *     requests, no window of the PMS's clock holds more than `limit` of them (only the
 *     clocks' rates must agree, not their readings). A request in flight occupies its slot
 *     until it is answered;
 *   - the first half of the window's allowance (limit / 2, rounded up) may go at once; past
 *     it requests are spaced window / limit apart, so a long drain runs at the full rate,
 *     evenly, instead of in bursts of `limit` requests once per window.
 *
 * A long drain thus sends `limit` requests per window plus one answer's latency.
 * The "blocked until" instant (a 429's Retry-After, a quota header) holds every request.
 * Every successful take must be followed by exactly one ratelim_done, also when the request
 * failed: until then the request holds its slot. */

struct ratelim;

/* At most `burst` requests in any window of burst / per_sec seconds (a long drain runs at
 * `per_sec` requests per second). burst < 1 counts as 1, and a burst above 100000 is cut to
 * 100000 with the window shortened to keep per_sec. per_sec <= 0 means unlimited (only
 * blocks apply). A token bucket of the same two figures lets at most burst + per_sec * T
 * requests through in any T seconds; this limiter never lets more through, for any T. */
struct ratelim *ratelim_new(double per_sec, int burst);
void ratelim_free(struct ratelim **r);

/* Take a slot, sleeping until one is free and any block has passed. Returns the
 * milliseconds waited. `deadline_ms` (mono_ms clock, 0 = none): give up and return -1 when
 * the wait would pass it (at once when its end is known, else at the deadline). Every
 * successful take (>= 0) must be followed by one ratelim_done(). */
int64_t ratelim_take(struct ratelim *r, int64_t deadline_ms);

/* The request of an earlier take was answered, or failed: its slot frees a window later. */
void ratelim_done(struct ratelim *r);

/* No request before `until_ms` (mono_ms clock); never moves an existing block earlier. */
void ratelim_block_until(struct ratelim *r, int64_t until_ms);

/* Counters for the health view: 429s seen and milliseconds spent waiting. */
void ratelim_stats(struct ratelim *r, int64_t *limited, int64_t *waited_ms);

/* The decisions of ratelim_take and ratelim_done at a given instant, without sleeping, for
 * tests with a simulated clock: `now_us` is in microseconds on the mono_ms clock's scale
 * (mono_ms() * 1000 is a valid instant; blocks are compared on that scale). ratelim_try
 * returns 0 when the request is admitted (it then holds a slot until ratelim_done_at), the
 * microseconds to wait before a slot can be free, or RATELIM_UNTIL_ANSWER when every slot
 * is held by a request in flight. NULL: 0. */
#define RATELIM_UNTIL_ANSWER INT64_MAX
int64_t ratelim_try(struct ratelim *r, int64_t now_us);
void ratelim_done_at(struct ratelim *r, int64_t now_us);

/* ---- client ---- */

struct http_opts {
    int connect_timeout_ms;   /* default 5000 */
    int timeout_ms;           /* whole request; default 30000 */
    const char *user_agent;   /* default "porter/VERSION" */
    const char *log_name;     /* borrowed: prefix for log lines, e.g. the account name */
    const char *ca_file;      /* borrowed: extra CA bundle (tests), may be NULL */
    const atomic_int *cancel; /* borrowed, may be NULL: when it becomes non-zero, a request
                                 in flight is abandoned (RETRY_LATER, "cancelled") so that a
                                 shutdown does not wait out a slow PMS */
};

struct http_client;

/* rl is borrowed and may be NULL (no limit). */
struct http_client *http_client_new(const struct http_opts *o, struct ratelim *rl);
void http_client_free(struct http_client **c);
/* fn(arg) runs before each request leaves (before any rate-limit wait); NULL removes it.
 * The apply worker commits its open transaction there, so that no network wait ever holds
 * the database's write lock. */
void http_client_before_io(struct http_client *c, void (*fn)(void *arg), void *arg);

struct http_header {
    const char *name;
    const char *value;
};

struct http_req {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *url;
    const struct http_header *headers; /* borrowed array, may be NULL */
    size_t nheaders;
    const char *body; /* borrowed, may be NULL */
    size_t body_len;  /* 0: strlen(body) */
    int timeout_ms;   /* 0: the client's default */
};

struct http_resp {
    long status; /* HTTP status */
    char *body;  /* owned, NUL-terminated (may contain NULs before len) */
    size_t len;
    char *headers;          /* owned: raw header block of the final response */
    int64_t retry_after_ms; /* from Retry-After (seconds or HTTP-date), relative; -1 none */
    int64_t elapsed_ms;
};

/* Send one request (after taking a slot of the account's limiter, which is given back to it
 * when the answer or the failure comes). On a 429 the account's limiter is blocked for
 * Retry-After (or 1 s when absent) before this returns. */
int http_request(struct http_client *c, const struct http_req *rq, struct http_resp *out,
                 struct err *e);
void http_resp_free(struct http_resp *r);

/* The value of response header `name` (case-insensitive) in a newly allocated string, or
 * NULL. */
char *http_resp_header(const struct http_resp *r, const char *name);

/* Retry class of an HTTP status: RETRY_NONE for 2xx/3xx, RETRY_LATER for 408, 425, 429 and
 * 5xx, FINAL for other 4xx. */
enum retry_class http_status_retry(long status);

/* Parse a Retry-After value, seconds or an HTTP-date, into milliseconds from `now_ms`
 * (wall clock). -1 when it does not parse; 0 for a date in the past. */
int64_t http_parse_retry_after(const char *value, int64_t now_ms);

/* URL-encode s (RFC 3986 unreserved kept) into a new string. */
char *http_escape(const char *s);

#endif
