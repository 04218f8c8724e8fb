/* webhook.c - the inbound side: the webhook listener and the apply worker.
 *
 * Listener (libmicrohttpd, one internal thread, its own SQLite connection): POST
 * /hooks/<account> is authenticated by the account's adapter (bad or missing auth: 401,
 * nothing stored), then its raw body is committed to inbound_event, deduplicated on
 * (account, event id), and only then answered 200 — so an acknowledged event survives any
 * crash. Oversized bodies get 413, malformed ones 400, unknown accounts 404, a database
 * failure 503 (the PMS retries). Every refusal is counted and raises an alert.
 *
 * Slow clients: every connection is tracked from its accept. A request must arrive whole
 * within conn_timeout seconds of its connection's start (or of the previous answer on a
 * kept-alive connection): MHD's own timeout is an idle timeout, which a client sending one
 * byte a second never reaches. And when more than max_connections are open, the oldest
 * that has waited SLOT_GRACE_MS or more for its request is dropped (MHD's own limit sits a
 * little above max_connections, so that a new connection is still accepted and seen). So
 * connections trickling headers or bodies delay a well-formed webhook, which arrives whole
 * within milliseconds, by a bounded time (about a second) and never starve it. The checks
 * run when a connection arrives and every REAP_EVERY_MS in the reaper thread; a dropped
 * connection's socket is shut down, and MHD closes it on its next turn.
 *
 * Apply worker: takes due events in arrival order and lets the adapter turn them into
 * records through the store sink. Transient failures (parent not stored yet, PMS down for
 * an id-only event's GET) are retried with backoff, never dropped; drifted or malformed
 * events are quarantined with an alert.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "log.h"
#include "sync.h"

/* Room is made only by dropping a connection that has waited this long: a burst of fresh
 * connections (a PMS catching up) is not dropped in favour of even fresher ones. */
#define SLOT_GRACE_MS 500
#define REAP_EVERY_MS 250

/* One open connection (see the top); lives from MHD's STARTED to its CLOSED notice, which
 * MHD sends before it closes the socket. Guarded by the listener's lock. */
struct slot {
    struct slot *prev, *next; /* the listener's list, oldest `since` first */
    int fd;
    int64_t since; /* mono_ms: accepted, or its last answer sent (keep-alive) */
    int answered;  /* a response is queued: not dropped */
    int dropped;   /* shut down by us; MHD closes it on its next turn */
};

struct listener {
    struct engine *g;
    struct MHD_Daemon *d;
    struct store *s;      /* used only by the MHD thread */
    struct adapter **ads; /* one per account, for verification (no network) */
    struct http_client **https;
    /* connections (see the top) */
    pthread_mutex_t lock; /* the slots, and the fields below */
    pthread_cond_t wake;  /* the reaper: stop */
    pthread_t reaper;
    int reaper_on, stop;
    struct slot *head, *tail;
    unsigned open;     /* slots not yet dropped */
    unsigned dropped;  /* since the last warning */
    int64_t warned_at; /* mono_ms of the last "dropped" warning */
};

struct hook_conn {
    struct buf body;
    int too_big;
};

struct hook_req {
    struct MHD_Connection *conn;
};

static const char *hook_header(const struct webhook_req *r, const char *name)
{
    const struct hook_req *h = r->ctx;
    return MHD_lookup_connection_value(h->conn, MHD_HEADER_KIND, name);
}

static struct slot *slot_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static enum MHD_Result answer(struct listener *l, struct MHD_Connection *c, unsigned status,
                              const char *msg)
{
    struct slot *sl = slot_of(c);
    if (sl) {
        pthread_mutex_lock(&l->lock);
        sl->answered = 1;
        pthread_mutex_unlock(&l->lock);
    }
    char body[600];
    /* the message is ours (no request data is echoed), JSON-safe by construction */
    snprintf(body, sizeof(body), "{\"status\":%u,\"message\":\"%s\"}", status, msg);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void refused(struct listener *l, int64_t account, const char *what, const char *detail)
{
    struct err e;
    store_metric(l->s, account, "webhook_rejected", 1, &e);
    store_alert(l->s, account, "webhook_rejected", what, detail, &e);
}

static enum MHD_Result on_hook(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **con_cls)
{
    (void)version;
    struct listener *l = cls;
    struct engine *g = l->g;
    struct hook_conn *hc = *con_cls;
    if (!hc) {
        hc = xcalloc(1, sizeof(*hc));
        buf_init(&hc->body);
        *con_cls = hc;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > g->cfg->body_limit)
            hc->too_big = 1;
        if (!hc->too_big)
            return MHD_YES;
        /* announced too large: answered now, the body is never read (MHD closes) */
    } else if (*size) {
        if (!hc->too_big && hc->body.len + *size > g->cfg->body_limit) {
            hc->too_big = 1;
            buf_free(&hc->body);
        }
        if (!hc->too_big)
            buf_append(&hc->body, data, *size);
        *size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0)
        return answer(l, conn, 405, "webhooks are POSTed");
    const char *name = strncmp(url, "/hooks/", 7) == 0 ? url + 7 : NULL;
    size_t idx = g->n;
    for (size_t i = 0; name && i < g->n; i++)
        if (strcmp(g->accts[i].conf->name, name) == 0)
            idx = i;
    if (idx == g->n)
        return answer(l, conn, 404, "no such account");
    struct acct *a = &g->accts[idx];
    if (hc->too_big) {
        refused(l, a->id, "body too large", "a webhook body exceeded [webhook] body_limit");
        return answer(l, conn, 413, "body too large");
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char ip[64] = "?";
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                  ip, sizeof(ip));
    struct hook_req hr = {conn};
    struct webhook_req rq = {.path = url,
                             .body = hc->body.data ? hc->body.data : "",
                             .body_len = hc->body.len,
                             .client_ip = ip,
                             .now_ms = now_ms(),
                             .header = hook_header,
                             .ctx = &hr};
    char *event_id = NULL, *kind = NULL;
    struct err e;
    err_clear(&e);
    int vrc = a->ops->webhook_verify(l->ads[idx], &rq, &event_id, &kind, &e);
    if (vrc == 0 && memchr(rq.body, '\0', rq.body_len)) {
        /* no JSON text holds a raw NUL, and the stored body would end at it */
        free(event_id);
        free(kind);
        event_id = kind = NULL;
        vrc = err_set(&e, 400, FINAL, "webhook: body contains a NUL byte");
    }
    if (vrc != 0) {
        unsigned status = e.code == 400 ? 400 : 401;
        log_warn("webhook", "%s: refused from %s: %s", a->conf->name, ip, e.msg);
        refused(l, a->id, status == 401 ? "bad signature" : "malformed body", e.msg);
        return answer(l, conn, status, status == 401 ? "unauthorized" : "malformed body");
    }
    int rc = store_inbound_put(l->s, a->id, event_id, kind, rq.body, &e);
    log_debug("webhook", "%s: %s %s %s", a->conf->name, kind, event_id,
              rc == 0   ? "stored"
              : rc == 1 ? "duplicate"
                        : "NOT stored");
    free(event_id);
    free(kind);
    if (rc < 0) {
        log_error("webhook", "%s: cannot store event: %s", a->conf->name, e.msg);
        return answer(l, conn, 503, "cannot store the event now; retry");
    }
    engine_step("event stored");
    store_account_touch(l->s, a->id, 1, &e);
    if (rc == 0)
        notify_poke(&g->wake_apply);
    return answer(l, conn, 200, rc == 0 ? "stored" : "duplicate");
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct listener *l = cls;
    struct slot *sl = slot_of(c);
    pthread_mutex_lock(&l->lock);
    if (sl && !sl->dropped) { /* kept alive: the next request has its own conn_timeout */
        sl->answered = 0;
        sl->since = mono_ms();
        if (sl != l->tail) {
            *(sl->prev ? &sl->prev->next : &l->head) = sl->next;
            sl->next->prev = sl->prev;
            sl->prev = l->tail;
            sl->next = NULL;
            l->tail->next = sl;
            l->tail = sl;
        }
    }
    pthread_mutex_unlock(&l->lock);
    struct hook_conn *hc = *con_cls;
    if (hc) {
        buf_free(&hc->body);
        free(hc);
        *con_cls = NULL;
    }
}

/* Shut a connection's socket down: MHD sees the end on its next turn and closes it. The
 * socket is still open: MHD sends CLOSED, which needs the lock we hold, before it closes. */
static void slot_drop(struct listener *l, struct slot *sl)
{
    shutdown(sl->fd, SHUT_RDWR);
    sl->dropped = 1;
    l->open--;
    l->dropped++;
}

/* Drop the connections past their deadline, then the oldest waiting ones while more than
 * max_connections are open. Lock held. */
static void slots_sweep(struct listener *l, int64_t now)
{
    int64_t deadline = now - (int64_t)l->g->cfg->conn_timeout * 1000;
    for (struct slot *sl = l->head; sl; sl = sl->next)
        if (!sl->dropped && !sl->answered && sl->since < deadline)
            slot_drop(l, sl);
    for (struct slot *sl = l->head; sl && l->open > (unsigned)l->g->cfg->max_connections;
         sl = sl->next)
        if (!sl->dropped && !sl->answered && sl->since <= now - SLOT_GRACE_MS)
            slot_drop(l, sl);
    if (l->dropped && now - l->warned_at >= 60000) {
        log_warn("webhook",
                 "dropped %u slow connection(s) (a request must arrive within conn_timeout = %d"
                 " s; at most max_connections = %d wait at once)",
                 l->dropped, l->g->cfg->conn_timeout, l->g->cfg->max_connections);
        l->dropped = 0;
        l->warned_at = now;
    }
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct listener *l = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci)
            return;
        struct slot *sl = xcalloc(1, sizeof(*sl));
        sl->fd = ci->connect_fd;
        sl->since = mono_ms();
        pthread_mutex_lock(&l->lock);
        sl->prev = l->tail;
        *(l->tail ? &l->tail->next : &l->head) = sl;
        l->tail = sl;
        l->open++;
        *socket_context = sl;
        slots_sweep(l, sl->since);
        pthread_mutex_unlock(&l->lock);
        return;
    }
    struct slot *sl = *socket_context;
    if (!sl)
        return;
    pthread_mutex_lock(&l->lock);
    *(sl->prev ? &sl->prev->next : &l->head) = sl->next;
    *(sl->next ? &sl->next->prev : &l->tail) = sl->prev;
    if (!sl->dropped)
        l->open--;
    pthread_mutex_unlock(&l->lock);
    free(sl);
    *socket_context = NULL;
}

/* The periodic sweep: without it, connections that filled every slot at once, and then
 * trickle, would never be looked at again (MHD accepts nothing more, so no STARTED). */
static void *reaper_main(void *arg)
{
    struct listener *l = arg;
    pthread_mutex_lock(&l->lock);
    while (!l->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += REAP_EVERY_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&l->wake, &l->lock, &ts);
        if (!l->stop)
            slots_sweep(l, mono_ms());
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

/* libmicrohttpd's own messages ("connection limit reached", a client that went away) go to
 * the log at debug, not to standard error: a flood of them is the sender's doing. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    log_debug("webhook", "libmicrohttpd: %s", msg);
}

/* "host:port" or "[v6]:port" into a socket address. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, struct err *e)
{
    memset(ss, 0, sizeof(*ss));
    const char *colon = strrchr(spec, ':');
    if (!colon)
        return err_set(e, 0, FINAL, "webhook listen address '%s' has no port", spec);
    char host[128];
    size_t hl = (size_t)(colon - spec);
    if (hl >= sizeof(host))
        return err_set(e, 0, FINAL, "webhook listen address '%s' is too long", spec);
    memcpy(host, spec, hl);
    host[hl] = '\0';
    int port = atoi(colon + 1);
    if (host[0] == '[') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;
        host[hl - 1] = '\0';
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return err_set(e, 0, FINAL, "bad IPv6 address in '%s'", spec);
        return 0;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &s4->sin_addr) != 1)
        return err_set(e, 0, FINAL, "bad IPv4 address in '%s'", spec);
    return 0;
}

int engine_listen_check(const struct config *c, struct err *e)
{
    struct sockaddr_storage ss;
    if (parse_listen(c->listen, &ss, e) != 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return err_set(e, errno, FINAL, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    socklen_t len =
        ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int rc = bind(fd, (struct sockaddr *)&ss, len);
    int err = errno;
    close(fd);
    if (rc == 0)
        return 0;
    if (err == EADDRINUSE)
        return 1;
    return err_set(e, err, FINAL, "cannot bind %s: %s", c->listen, strerror(err));
}

int webhook_start(struct engine *g, struct err *e)
{
    if (g->n == 0)
        return 0;
    struct sockaddr_storage ss;
    if (parse_listen(g->cfg->listen, &ss, e) != 0)
        return -1;
    struct listener *l = xcalloc(1, sizeof(*l));
    l->g = g;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->wake, NULL);
    l->ads = xcalloc(g->n, sizeof(*l->ads));
    l->https = xcalloc(g->n, sizeof(*l->https));
    /* this connection acknowledges webhooks: every commit durable before the 200 */
    if (!(l->s = sync_store(g, e)) || store_synchronous(l->s, 1, e) != 0) {
        g->listener = l;
        webhook_stop(g);
        return -1;
    }
    for (size_t i = 0; i < g->n; i++) {
        if (!(l->ads[i] = sync_adapter(&g->accts[i], &l->https[i], e))) {
            g->listener = l;
            webhook_stop(g);
            return -1;
        }
        if (!g->accts[i].conf->webhook_secret)
            log_warn("webhook",
                     "account [%s] has no webhook_secret: its webhooks are not"
                     " authenticated",
                     g->accts[i].conf->name);
    }
    /* One internal thread, with epoll where there is one, so that max_connections may
     * exceed select()'s FD_SETSIZE. MHD's own limit leaves room above max_connections: a
     * connection must be accepted to be seen (see the top). */
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    unsigned spare = (unsigned)g->cfg->max_connections / 4 + 4;
    l->d = MHD_start_daemon(flags, 0, NULL, NULL, on_hook, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                            NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done, l,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)g->cfg->max_connections + spare,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)g->cfg->conn_timeout,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_END);
    g->listener = l;
    if (!l->d) {
        webhook_stop(g);
        return err_set(e, 0, RETRY_LATER, "cannot listen on %s (address in use?)", g->cfg->listen);
    }
    l->reaper_on = pthread_create(&l->reaper, NULL, reaper_main, l) == 0;
    if (!l->reaper_on)
        log_warn("webhook", "no reaper thread: slow connections are dropped only when another"
                            " arrives");
    log_info("webhook", "listening on %s", g->cfg->listen);
    return 0;
}

void webhook_stop(struct engine *g)
{
    struct listener *l = g->listener;
    if (!l)
        return;
    if (l->reaper_on) {
        pthread_mutex_lock(&l->lock);
        l->stop = 1;
        pthread_cond_signal(&l->wake);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->reaper, NULL);
    }
    if (l->d)
        MHD_stop_daemon(l->d); /* every slot is freed by its CLOSED notice */
    for (size_t i = 0; i < g->n; i++) {
        adapter_free(&l->ads[i]);
        http_client_free(&l->https[i]);
    }
    free(l->ads);
    free(l->https);
    store_close(&l->s);
    pthread_cond_destroy(&l->wake);
    pthread_mutex_destroy(&l->lock);
    free(l);
    g->listener = NULL;
}

/* ---- apply worker ---- */

static struct acct *acct_by_id(struct engine *g, int64_t id, size_t *idx)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->accts[i].id == id) {
            *idx = i;
            return &g->accts[i];
        }
    return NULL;
}

/* The apply worker's transaction: opened by the first write of a batch, and committed
 * before any request leaves for a PMS (an event that carries ids only, a parent fetched,
 * a token refreshed), so that a rate-limit wait or a slow PMS never holds the database's
 * write lock against the UI, the poller and the other accounts. */
struct batch {
    struct store *s;
    int open;
    int failed; /* a commit before network I/O failed: the batch is abandoned */
    struct err err;
    struct sink inner; /* the store sink */
};

static int batch_open(struct batch *b, struct err *e)
{
    if (b->failed)
        return err_set(e, b->err.code, RETRY_LATER, "%s", b->err.msg);
    if (!b->open && store_begin(b->s, e) != 0)
        return -1;
    b->open = 1;
    return 0;
}

static void batch_before_io(void *arg)
{
    struct batch *b = arg;
    if (!b->open)
        return;
    b->open = 0;
    if (store_commit(b->s, &b->err) != 0) {
        store_rollback(b->s);
        b->failed = 1;
    }
}

static int batch_put(struct sink *sk, enum entity ent, const void *rec, struct err *e)
{
    struct batch *b = sk->ctx;
    if (batch_open(b, e) != 0)
        return -1;
    return b->inner.put(&b->inner, ent, rec, e);
}

static void batch_drift(struct sink *sk, enum entity ent, const char *remote_id, const char *field,
                        const char *why)
{
    struct batch *b = sk->ctx;
    struct err e;
    if (batch_open(b, &e) == 0)
        b->inner.drift(&b->inner, ent, remote_id, field, why);
}

int apply_events_once(struct engine *g, struct store *s, struct adapter **ads, struct err *e)
{
    struct inbound_batch ib;
    if (store_inbound_due(s, now_ms(), 256, &ib, e) != 0)
        return -1;
    if (ib.n == 0) {
        inbound_batch_free(&ib);
        return 0;
    }
    /* Mostly one transaction per batch: one fsync for up to 256 events instead of several
     * per event; split only where an adapter goes to the network. */
    struct batch b = {.s = s};
    for (size_t i = 0; i < g->n; i++)
        http_client_before_io(ads[i]->http, batch_before_io, &b);
    int applied = 0, rc = 0;
    for (size_t i = 0; i < ib.n && rc == 0 && !atomic_load(&g->stop); i++) {
        struct inbound_row *ev = &ib.rows[i];
        size_t idx;
        struct acct *a = acct_by_id(g, ev->account, &idx);
        if (!a) { /* an account removed from accounts.conf: keep the event for later */
            rc = batch_open(&b, e);
            if (rc == 0)
                rc = store_inbound_mark(s, ev->id, "retry", now_ms() + 3600 * 1000,
                                        "account not configured", e);
            continue;
        }
        struct apply_ctx ctx = {.store = s, .account = a->id, .adapter = a->ops->name};
        apply_store_sink(&b.inner, &ctx);
        struct sink sk = {.ctx = &b, .put = batch_put, .drift = batch_drift};
        struct err ae;
        err_clear(&ae);
        int arc = a->ops->webhook_apply(ads[idx], ev->kind, ev->body, &sk, &ae);
        if (arc < 0 && ae.retry == RETRY_NOW && !b.failed && a->ops->auth(ads[idx], &ae) == 0)
            arc = a->ops->webhook_apply(ads[idx], ev->kind, ev->body, &sk, &ae);
        if (b.failed || (rc = batch_open(&b, e)) != 0) {
            if (b.failed)
                rc = err_set(e, b.err.code, RETRY_LATER, "%s", b.err.msg);
            break;
        }
        if (arc >= 0) {
            rc = store_inbound_mark(s, ev->id, "applied", 0, NULL, e);
            store_metric(s, a->id, "webhook_latency_ms", (double)(now_ms() - ev->received_at), e);
            applied++;
        } else if (ae.retry == FINAL) {
            log_warn("apply", "%s: event %lld quarantined: %s", a->conf->name, (long long)ev->id,
                     ae.msg);
            rc = store_inbound_mark(s, ev->id, "quarantined", 0, ae.msg, e);
            if (ae.code != ADAPTER_EDRIFT) /* drift was already reported, by field, via the sink */
                store_alert(s, a->id, "webhook_rejected", ev->kind, ae.msg, e);
        } else {
            int64_t delay = sync_backoff_ms(ev->attempts + 1) + 200;
            log_info("apply", "%s: event %lld (%s) retried in %lld ms: %s", a->conf->name,
                     (long long)ev->id, ev->kind, (long long)delay, ae.msg);
            rc = store_inbound_mark(s, ev->id, "retry", now_ms() + delay, ae.msg, e);
        }
    }
    for (size_t i = 0; i < g->n; i++)
        http_client_before_io(ads[i]->http, NULL, NULL);
    size_t processed = ib.n;
    inbound_batch_free(&ib);
    if (b.open && rc == 0 && store_commit(s, e) != 0)
        rc = -1;
    if (b.open && rc != 0)
        store_rollback(s);
    if (rc != 0)
        return -1;
    for (int i = 0; i < applied; i++)
        engine_step("event applied");
    if (applied)
        sync_ui_poke(g);
    return (int)processed;
}

void *apply_main(void *arg)
{
    struct engine *g = arg;
    struct err e;
    struct store *s = sync_store(g, &e);
    struct adapter **ads = xcalloc(g->n ? g->n : 1, sizeof(*ads));
    struct http_client **https = xcalloc(g->n ? g->n : 1, sizeof(*https));
    int ok = s != NULL;
    for (size_t i = 0; ok && i < g->n; i++)
        ok = (ads[i] = sync_adapter(&g->accts[i], &https[i], &e)) != NULL;
    if (!ok)
        log_error("apply", "cannot start: %s", e.msg);
    while (ok && !atomic_load(&g->stop)) {
        int n = 0;
        if (atomic_load(&g->leader) && (n = apply_events_once(g, s, ads, &e)) < 0)
            log_error("apply", "%s", e.msg);
        if (n > 0)
            continue; /* more may be due */
        sync_sleep(g, &g->wake_apply, 500);
    }
    for (size_t i = 0; i < g->n; i++) {
        adapter_free(&ads[i]);
        http_client_free(&https[i]);
    }
    free(ads);
    free(https);
    store_close(&s);
    return NULL;
}
