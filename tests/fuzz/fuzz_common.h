/* fuzz_common.h - shared pieces of porter's libFuzzer targets (header-only: each target is
 * one translation unit built by tests/fuzz/fuzz.mk).
 *
 *  - FUZZ_CHECK(cond): an invariant; a violation is a crash (__builtin_trap) that libFuzzer
 *    saves as an artifact, like an ASan or UBSan report.
 *  - fuzz_split(): the targets' inputs are text with parts separated by a line "%%"
 *    ("\n%%\n"), so recorded payloads can be used as seeds as they are.
 *  - a fake network: the adapters reach HTTP only through http_request(), which the link
 *    wraps (-Wl,--wrap=http_request) to __wrap_http_request below. It answers from a queue
 *    of canned responses taken from the fuzz input; when the queue is empty it fails like a
 *    refused connection (RETRY_LATER). A response part is either a bare body (status 200),
 *    or "HTTP <status>\n<Header: value lines>\n\n<body>", or "!" (a timeout).
 *  - a checking sink: records are validated against model.h's contract (required ids,
 *    enumerations in range, every string readable), then deep-copied through the engine's
 *    buffer sink (apply.c) so that copying code runs on fuzzed records too. Bit i of
 *    fuzz_sink.enoparent makes the i-th put fail with STORE_ENOPARENT, which drives the
 *    adapters' fetch-the-parent paths.
 */
#ifndef PORTER_FUZZ_COMMON_H
#define PORTER_FUZZ_COMMON_H

#include <cjson/cJSON.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapter.h"
#include "apply.h"
#include "http.h"
#include "log.h"
#include "model.h"
#include "store.h"
#include "util.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);         \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

/* Logging: every line is formatted (the formatting is code under test) and thrown away. */
static __attribute__((unused)) void fuzz_log_init(void)
{
    struct err e;
    setlocale(LC_ALL, "C.UTF-8");
    log_quiet_stderr(1);
    if (log_open("/dev/null", LOG_DEBUG, &e) != 0)
        log_set_level(LOG_ERROR);
}

/* A private temporary directory under $FUZZ_TMPDIR (run.sh), else /dev/shm or /tmp,
 * removed at exit. */
static char fuzz_tmp[512];

static int fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void fuzz_tmp_cleanup(void)
{
    if (fuzz_tmp[0])
        nftw(fuzz_tmp, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static __attribute__((unused)) const char *fuzz_tmpdir(const char *name)
{
    const char *base = getenv("FUZZ_TMPDIR");
    if (!base || !*base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_tmp, sizeof(fuzz_tmp), "%s/porter-fuzz-%s-XXXXXX", base, name);
    if (!mkdtemp(fuzz_tmp)) {
        perror(fuzz_tmp);
        exit(1);
    }
    atexit(fuzz_tmp_cleanup);
    return fuzz_tmp;
}

/* ---- input splitting ---- */

struct fuzz_part {
    const char *p;
    size_t n;
};

#define FUZZ_SEP     "\n%%\n"
#define FUZZ_SEP_LEN 4

/* Split s[0..n) at every FUZZ_SEP into at most max parts; returns how many. */
static __attribute__((unused)) size_t fuzz_split(const char *s, size_t n, struct fuzz_part *parts,
                                                 size_t max)
{
    size_t np = 0, start = 0;
    for (size_t i = 0; np + 1 < max && i + FUZZ_SEP_LEN <= n;) {
        if (memcmp(s + i, FUZZ_SEP, FUZZ_SEP_LEN) == 0) {
            parts[np++] = (struct fuzz_part){s + start, i - start};
            i += FUZZ_SEP_LEN;
            start = i;
        } else {
            i++;
        }
    }
    if (np < max)
        parts[np++] = (struct fuzz_part){s + start, n - start};
    return np;
}

/* A NUL-terminated copy (malloc). */
static char *fuzz_strndup(const char *p, size_t n)
{
    char *s = xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Is body exactly one JSON object (whitespace around it, no NUL byte anywhere)? What the
 * webhook verifiers accept as a body (wire.h), computed independently of wire.c. */
static __attribute__((unused)) int fuzz_json_object(const char *p, size_t n)
{
    if (!p || memchr(p, '\0', n))
        return 0;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(p, n, &end, 0);
    int ok = cJSON_IsObject(j);
    for (; ok && end && end < p + n; end++)
        ok = *end == ' ' || *end == '\t' || *end == '\r' || *end == '\n';
    cJSON_Delete(j);
    return ok;
}

/* ---- the fake network ---- */

#define FUZZ_MAX_RESP 48

static struct fuzz_part fuzz_resp[FUZZ_MAX_RESP];
static size_t fuzz_nresp, fuzz_next_resp;
static size_t fuzz_requests;

static __attribute__((unused)) void fuzz_http_reset(const struct fuzz_part *r, size_t n)
{
    if (n > FUZZ_MAX_RESP)
        n = FUZZ_MAX_RESP;
    for (size_t i = 0; i < n; i++)
        fuzz_resp[i] = r[i];
    fuzz_nresp = n;
    fuzz_next_resp = 0;
    fuzz_requests = 0;
}

int __wrap_http_request(struct http_client *c, const struct http_req *rq, struct http_resp *out,
                        struct err *e);
int __wrap_http_request(struct http_client *c, const struct http_req *rq, struct http_resp *out,
                        struct err *e)
{
    (void)c;
    memset(out, 0, sizeof(*out));
    out->retry_after_ms = -1;
    /* what an adapter sends must be well formed */
    FUZZ_CHECK(rq && rq->method && rq->url);
    FUZZ_CHECK(strlen(rq->method) > 0 && strlen(rq->url) > 0);
    for (size_t i = 0; i < rq->nheaders; i++)
        FUZZ_CHECK(rq->headers[i].name && rq->headers[i].value &&
                   strlen(rq->headers[i].name) + strlen(rq->headers[i].value) < (1u << 20));
    if (rq->body && !rq->body_len)
        FUZZ_CHECK(strlen(rq->body) < (1u << 24));
    fuzz_requests++;
    if (fuzz_next_resp >= fuzz_nresp)
        return err_set(e, 7, RETRY_LATER, "%s %s: fuzz: connection refused", rq->method, rq->url);
    struct fuzz_part r = fuzz_resp[fuzz_next_resp++];
    if (r.n == 1 && r.p[0] == '!')
        return err_set(e, 28, RETRY_LATER, "%s %s: fuzz: timed out", rq->method, rq->url);
    out->status = 200;
    if (r.n >= 5 && memcmp(r.p, "HTTP ", 5) == 0) {
        size_t i = 5;
        long st = 0;
        while (i < r.n && r.p[i] >= '0' && r.p[i] <= '9' && st < 100000)
            st = st * 10 + (r.p[i++] - '0');
        out->status = st;
        while (i < r.n && r.p[i] != '\n')
            i++;
        size_t hstart = i < r.n ? i + 1 : i, hend = hstart;
        /* headers up to an empty line */
        while (hend < r.n && !(r.p[hend] == '\n' && (hend == hstart || r.p[hend - 1] == '\n')))
            hend++;
        out->headers = fuzz_strndup(r.p + hstart, hend - hstart);
        size_t b = hend < r.n ? hend + 1 : hend;
        r.p += b;
        r.n -= b;
    }
    out->body = fuzz_strndup(r.p, r.n);
    out->len = r.n;
    return 0;
}

/* No sleeping while fuzzing (Hostaway waits 1 s after minting a token). */
int __wrap_nanosleep(const struct timespec *req, struct timespec *rem);
int __wrap_nanosleep(const struct timespec *req, struct timespec *rem)
{
    (void)req;
    if (rem)
        rem->tv_sec = rem->tv_nsec = 0;
    return 0;
}

/* ---- the checking sink ---- */

struct fuzz_sink {
    uint64_t enoparent; /* bit i: the i-th put answers STORE_ENOPARENT */
    unsigned puts, drifts;
    struct rec_buffer *buf;
    struct apply_ctx ctx;
    struct sink copy;
};

/* Every string an adapter hands over must be readable to its NUL (ASan checks the reads);
 * NULL is allowed unless required. */
static __attribute__((unused)) size_t fuzz_str(const char *s, int required)
{
    if (!s) {
        FUZZ_CHECK(!required);
        return 0;
    }
    size_t n = strlen(s);
    if (required)
        FUZZ_CHECK(n > 0);
    return n;
}

static __attribute__((unused)) void fuzz_check_record(enum entity ent, const void *rec)
{
    switch (ent) {
    case ENT_PROPERTY: {
        const struct rec_property *r = rec;
        fuzz_str(r->remote_id, 1);
        fuzz_str(r->name, 0);
        fuzz_str(r->address, 0);
        fuzz_str(r->timezone, 0);
        break;
    }
    case ENT_UNIT: {
        const struct rec_unit *r = rec;
        fuzz_str(r->remote_id, 1);
        fuzz_str(r->property_remote_id, 0);
        fuzz_str(r->name, 0);
        break;
    }
    case ENT_CONTACT: {
        const struct rec_contact *r = rec;
        fuzz_str(r->remote_id, 1);
        FUZZ_CHECK((unsigned)r->kind < CONTACT_KIND_COUNT);
        fuzz_str(r->name, 0);
        fuzz_str(r->email, 0);
        fuzz_str(r->phone, 0);
        break;
    }
    case ENT_STAY: {
        const struct rec_stay *r = rec;
        fuzz_str(r->remote_id, 1);
        FUZZ_CHECK(r->is_lease == 0 || r->is_lease == 1);
        fuzz_str(r->property_remote_id, 0);
        fuzz_str(r->unit_remote_id, 0);
        fuzz_str(r->contact_remote_id, 0);
        fuzz_str(r->status, 0);
        fuzz_str(r->remote_status, 0);
        if (fuzz_str(r->channel, 0))
            FUZZ_CHECK(channel_parse(r->channel) >= 0);
        fuzz_str(r->arrival, 0);
        fuzz_str(r->departure, 0);
        FUZZ_CHECK(r->guests >= 0);
        fuzz_str(r->confirmation_code, 0);
        fuzz_str(r->door_code, 0);
        break;
    }
    case ENT_THREAD: {
        const struct rec_thread *r = rec;
        fuzz_str(r->remote_id, 1);
        FUZZ_CHECK((unsigned)r->kind < THREAD_KIND_COUNT);
        FUZZ_CHECK((unsigned)r->channel < CHANNEL_COUNT);
        fuzz_str(r->subject, 0);
        fuzz_str(r->contact_remote_id, 0);
        fuzz_str(r->stay_remote_id, 0);
        fuzz_str(r->property_remote_id, 0);
        fuzz_str(r->unit_remote_id, 0);
        break;
    }
    case ENT_MESSAGE: {
        const struct rec_message *r = rec;
        fuzz_str(r->remote_id, 1);
        fuzz_str(r->thread_remote_id, 1);
        FUZZ_CHECK((unsigned)r->direction < DIRECTION_COUNT);
        FUZZ_CHECK((unsigned)r->channel < CHANNEL_COUNT);
        fuzz_str(r->author, 0);
        fuzz_str(r->body, 0);
        fuzz_str(r->idem_key, 0);
        break;
    }
    case ENT_VENDOR: {
        const struct rec_vendor *r = rec;
        fuzz_str(r->remote_id, 1);
        fuzz_str(r->name, 0);
        fuzz_str(r->trade, 0);
        fuzz_str(r->phone, 0);
        fuzz_str(r->email, 0);
        fuzz_str(r->insurance_expires, 0);
        for (const char *const *p = r->preferred_property_remote_ids; p && *p; p++)
            fuzz_str(*p, 1);
        break;
    }
    case ENT_WORK_ORDER: {
        const struct rec_work_order *r = rec;
        fuzz_str(r->remote_id, 1);
        FUZZ_CHECK((unsigned)r->status < WO_STATUS_COUNT);
        FUZZ_CHECK((unsigned)r->priority < PRIORITY_COUNT);
        FUZZ_CHECK(r->status_unknown == 0 || r->status_unknown == 1);
        fuzz_str(r->title, 0);
        fuzz_str(r->description, 0);
        fuzz_str(r->remote_status, 0);
        fuzz_str(r->trade, 0);
        fuzz_str(r->property_remote_id, 0);
        fuzz_str(r->unit_remote_id, 0);
        fuzz_str(r->stay_remote_id, 0);
        fuzz_str(r->thread_remote_id, 0);
        fuzz_str(r->vendor_remote_id, 0);
        fuzz_str(r->due_date, 0);
        break;
    }
    default:
        FUZZ_CHECK(!"put of an unknown entity");
    }
}

static __attribute__((unused)) int fuzz_put(struct sink *sk, enum entity ent, const void *rec,
                                            struct err *e)
{
    struct fuzz_sink *fs = sk->ctx;
    FUZZ_CHECK(rec != NULL);
    fuzz_check_record(ent, rec);
    unsigned i = fs->puts++;
    FUZZ_CHECK(fs->puts < 100000); /* an adapter that puts without end */
    if (i < 64 && (fs->enoparent >> i & 1))
        return err_set(e, STORE_ENOPARENT, RETRY_LATER, "fuzz: parent of %s not stored",
                       entity_name(ent));
    return fs->copy.put(&fs->copy, ent, rec, e);
}

static __attribute__((unused)) void fuzz_drift(struct sink *sk, enum entity ent,
                                               const char *remote_id, const char *field,
                                               const char *why)
{
    struct fuzz_sink *fs = sk->ctx;
    FUZZ_CHECK((unsigned)ent < ENTITY_COUNT);
    fuzz_str(remote_id, 0);
    fuzz_str(field, 1);
    fuzz_str(why, 1);
    fs->drifts++;
}

static __attribute__((unused)) void fuzz_sink_init(struct fuzz_sink *fs, struct sink *sk,
                                                   uint64_t enoparent)
{
    memset(fs, 0, sizeof(*fs));
    fs->enoparent = enoparent;
    fs->ctx.adapter = "fuzz";
    apply_buffer_sink(&fs->copy, &fs->buf, &fs->ctx);
    sk->ctx = fs;
    sk->put = fuzz_put;
    sk->drift = fuzz_drift;
}

static __attribute__((unused)) void fuzz_sink_done(struct fuzz_sink *fs)
{
    FUZZ_CHECK(apply_buffer_count(fs->buf) <= fs->puts);
    apply_buffer_free(&fs->buf);
}

/* The error contract of adapter.h: -1 comes with a class and a message. */
static __attribute__((unused)) void fuzz_check_err(int rc, const struct err *e)
{
    if (rc >= 0)
        return;
    FUZZ_CHECK(rc == -1);
    FUZZ_CHECK(e->retry != RETRY_NONE);
    FUZZ_CHECK(memchr(e->msg, '\0', sizeof(e->msg)) != NULL && e->msg[0] != '\0');
}

#endif
