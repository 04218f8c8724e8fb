/* http.c - pmsim's HTTP core: one libmicrohttpd daemon per account, thread per connection.
 *
 * Order of a request: collect the body; /_sim/ goes to the control API; otherwise faults
 * (outage -> reset, reset_rate -> reset, error_rate -> 503, latency) and the rate limiter
 * (429 from the dialect), then the dialect's handler under sim_lock. A write answered while
 * drop_after_write fires is applied and then its connection is reset, the case that makes
 * a naive client send it twice. An answer picked by partial_rate (a read's or a write's,
 * applied) announces its whole Content-Length, sends the first half of its body and closes
 * the connection. Every injected fault is counted (GET /_sim/health, "injected").
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "pmsim.h"
#include "util.h"

#define BODY_MAX (4 * 1024 * 1024)

struct conn_state {
    struct buf body;
};

const char *sim_header(const struct sim_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *sim_query(const struct sim_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct qall {
    const char *name;
    const char **out;
    int max, n;
};

static enum MHD_Result qall_it(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    struct qall *q = cls;
    if (key && strcmp(key, q->name) == 0 && q->n < q->max)
        q->out[q->n++] = value ? value : "";
    return MHD_YES;
}

int sim_query_all(const struct sim_req *r, const char *name, const char **out, int max)
{
    struct qall q = {name, out, max, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, qall_it, &q);
    return q.n;
}

void resp_header(struct sim_resp *r, const char *name, const char *fmt, ...)
{
    if (r->nheaders >= SIM_MAX_HEADERS)
        return;
    va_list ap;
    va_start(ap, fmt);
    r->hname[r->nheaders] = xstrdup(name);
    r->hvalue[r->nheaders] = xvasprintf(fmt, ap);
    r->nheaders++;
    va_end(ap);
}

/* Schema drift: rename (and optionally retype) one key wherever it appears. */
static void drift(cJSON *j, const struct sim_faults *f)
{
    if (!j || !f->drift_from)
        return;
    cJSON *c;
    cJSON_ArrayForEach(c, j)
    {
        drift(c, f);
    }
    if (!cJSON_IsObject(j))
        return;
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(j, f->drift_from);
    if (!v)
        return;
    if (f->drift_retype && !cJSON_IsString(v)) {
        char *s = cJSON_PrintUnformatted(v);
        cJSON_Delete(v);
        v = cJSON_CreateString(s);
        free(s);
    }
    cJSON_AddItemToObject(j, f->drift_to ? f->drift_to : f->drift_from, v);
}

void resp_json(struct sim_account *a, struct sim_resp *r, int status, cJSON *json)
{
    drift(json, &a->faults);
    free(r->body);
    r->status = status;
    r->body = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    resp_header(r, "Content-Type", "application/json");
}

void resp_text(struct sim_resp *r, int status, const char *text)
{
    free(r->body);
    r->status = status;
    r->body = xstrdup(text);
}

static void resp_free(struct sim_resp *r)
{
    free(r->body);
    for (int i = 0; i < r->nheaders; i++) {
        free(r->hname[i]);
        free(r->hvalue[i]);
    }
}

/* ---- rate limiting: fixed windows, some counted per client address ---- */

/* 0 when allowed, else seconds until the fullest window resets. */
static int rate_check(struct sim_account *a, const char *ip)
{
    if (a->faults.rate_limit_off)
        return 0;
    int64_t now = sim_now();
    int wait = 0;
    for (int i = 0; i < a->nwindows; i++) {
        struct sim_window *w = &a->windows[i];
        int64_t *start = &w->start;
        int *used = &w->used;
        cJSON *slot = NULL;
        int64_t ip_start = 0;
        int ip_used = 0;
        if (w->per_ip) {
            char key[96];
            snprintf(key, sizeof(key), "%d:%s", i, ip ? ip : "?");
            slot = cJSON_GetObjectItemCaseSensitive(a->ip_windows, key);
            if (!slot) {
                slot = cJSON_CreateArray();
                cJSON_AddItemToArray(slot, cJSON_CreateNumber((double)now));
                cJSON_AddItemToArray(slot, cJSON_CreateNumber(0));
                cJSON_AddItemToObject(a->ip_windows, key, slot);
            }
            ip_start = (int64_t)cJSON_GetArrayItem(slot, 0)->valuedouble;
            ip_used = cJSON_GetArrayItem(slot, 1)->valueint;
            start = &ip_start;
            used = &ip_used;
        }
        if (now - *start >= w->span_ms) {
            *start = now;
            *used = 0;
        }
        if (*used >= w->limit) {
            int s = (int)((*start + w->span_ms - now + 999) / 1000);
            if (s > wait)
                wait = s;
        }
        if (slot) {
            cJSON_SetNumberValue(cJSON_GetArrayItem(slot, 0), (double)ip_start);
            cJSON_SetNumberValue(cJSON_GetArrayItem(slot, 1), ip_used);
        }
    }
    if (wait)
        return wait;
    /* allowed: count it in every window */
    for (int i = 0; i < a->nwindows; i++) {
        struct sim_window *w = &a->windows[i];
        if (!w->per_ip) {
            w->used++;
            continue;
        }
        char key[96];
        snprintf(key, sizeof(key), "%d:%s", i, ip ? ip : "?");
        cJSON *slot = cJSON_GetObjectItemCaseSensitive(a->ip_windows, key);
        cJSON *u = cJSON_GetArrayItem(slot, 1);
        cJSON_SetNumberValue(u, u->valueint + 1);
    }
    return 0;
}

/* ---- the write log ---- */

void sim_log_write(struct sim_account *a, const struct sim_req *rq, const char *what)
{
    cJSON *w = cJSON_CreateObject();
    cJSON_AddNumberToObject(w, "seq", cJSON_GetArraySize(a->writes) + 1);
    cJSON_AddNumberToObject(w, "at", (double)sim_now());
    cJSON_AddStringToObject(w, "what", what);
    cJSON_AddStringToObject(w, "method", rq->method);
    cJSON_AddStringToObject(w, "path", rq->path);
    cJSON *body = cJSON_Parse(rq->body);
    if (body)
        cJSON_AddItemToObject(w, "body", body);
    else
        cJSON_AddStringToObject(w, "body", rq->body);
    const char *key = sim_header(rq, "Idempotency-Key");
    if (key)
        cJSON_AddStringToObject(w, "idempotency_key", key);
    cJSON_AddItemToArray(a->writes, w);
}

/* ---- the control API ---- */

int sim_faults_apply(struct sim_account *a, const cJSON *j, const char **why)
{
    struct sim_faults *f = &a->faults;
    const cJSON *v;
    if (!cJSON_IsObject(j)) {
        *why = "faults must be a JSON object";
        return -1;
    }
#define NUM(key, dst, conv)                                                                        \
    if ((v = cJSON_GetObjectItemCaseSensitive(j, key))) {                                          \
        if (!cJSON_IsNumber(v)) {                                                                  \
            *why = key " must be a number";                                                        \
            return -1;                                                                             \
        }                                                                                          \
        dst = conv;                                                                                \
    }
    NUM("error_rate", f->error_rate, v->valuedouble)
    NUM("latency_ms", f->latency_ms, v->valueint)
    NUM("jitter_ms", f->jitter_ms, v->valueint)
    NUM("outage_s", f->outage_until, sim_now() + (int64_t)(v->valuedouble * 1000))
    NUM("reset_rate", f->reset_rate, v->valuedouble)
    NUM("drop_after_write", f->drop_after_write, v->valuedouble)
    NUM("partial_rate", f->partial_rate, v->valuedouble)
    NUM("storm_s", f->storm_until, sim_now() + (int64_t)(v->valuedouble * 1000))
    NUM("webhook_drop", f->webhook_drop, v->valuedouble)
    NUM("webhook_dup", f->webhook_dup, v->valuedouble)
    NUM("webhook_reorder", f->webhook_reorder, v->valueint)
    NUM("rate_limit_off", f->rate_limit_off, v->valueint)
    NUM("drift_retype", f->drift_retype, v->valueint)
#undef NUM
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "drift_from"))) {
        free(f->drift_from);
        f->drift_from = cJSON_IsString(v) && *v->valuestring ? xstrdup(v->valuestring) : NULL;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "drift_to"))) {
        free(f->drift_to);
        f->drift_to = cJSON_IsString(v) && *v->valuestring ? xstrdup(v->valuestring) : NULL;
    }
    return 0;
}

static cJSON *faults_json(const struct sim_faults *f)
{
    cJSON *j = cJSON_CreateObject();
    int64_t now = sim_now();
    cJSON_AddNumberToObject(j, "error_rate", f->error_rate);
    cJSON_AddNumberToObject(j, "latency_ms", f->latency_ms);
    cJSON_AddNumberToObject(j, "jitter_ms", f->jitter_ms);
    cJSON_AddNumberToObject(j, "outage_s",
                            f->outage_until > now ? (double)(f->outage_until - now) / 1000 : 0);
    cJSON_AddNumberToObject(j, "reset_rate", f->reset_rate);
    cJSON_AddNumberToObject(j, "drop_after_write", f->drop_after_write);
    cJSON_AddNumberToObject(j, "partial_rate", f->partial_rate);
    cJSON_AddNumberToObject(j, "storm_s",
                            f->storm_until > now ? (double)(f->storm_until - now) / 1000 : 0);
    cJSON_AddNumberToObject(j, "webhook_drop", f->webhook_drop);
    cJSON_AddNumberToObject(j, "webhook_dup", f->webhook_dup);
    cJSON_AddNumberToObject(j, "webhook_reorder", f->webhook_reorder);
    cJSON_AddNumberToObject(j, "rate_limit_off", f->rate_limit_off);
    cJSON_AddStringToObject(j, "drift_from", f->drift_from ? f->drift_from : "");
    cJSON_AddStringToObject(j, "drift_to", f->drift_to ? f->drift_to : "");
    cJSON_AddNumberToObject(j, "drift_retype", f->drift_retype);
    return j;
}

static void control_error(struct sim_resp *rs, int status, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", msg);
    free(rs->body);
    rs->status = status;
    rs->body = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
}

static void control_ok(struct sim_resp *rs, cJSON *j)
{
    free(rs->body);
    rs->status = 200;
    rs->body = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
}

/* Called with sim_lock held. */
static void control(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    const char *p = rq->path + strlen("/_sim");
    int get = strcmp(rq->method, "GET") == 0, post = strcmp(rq->method, "POST") == 0;
    resp_header(rs, "Content-Type", "application/json");
    if (get && strcmp(p, "/health") == 0) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "dialect", a->ops->name);
        cJSON_AddNumberToObject(j, "port", a->port);
        cJSON_AddNumberToObject(j, "ticks", (double)a->ticks);
        cJSON_AddNumberToObject(j, "writes", cJSON_GetArraySize(a->writes));
        cJSON_AddNumberToObject(j, "tokens_minted", a->tokens_minted);
        cJSON_AddNumberToObject(j, "requests", (double)a->requests);
        cJSON *inj = cJSON_AddObjectToObject(j, "injected");
        cJSON_AddNumberToObject(inj, "resets", (double)a->injected.resets);
        cJSON_AddNumberToObject(inj, "errors", (double)a->injected.errors);
        cJSON_AddNumberToObject(inj, "partials", (double)a->injected.partials);
        cJSON_AddNumberToObject(inj, "dropped", (double)a->injected.dropped);
        cJSON_AddNumberToObject(inj, "delayed", (double)a->injected.delayed);
        control_ok(rs, j);
    } else if (get && strcmp(p, "/writes") == 0) {
        control_ok(rs, cJSON_Duplicate(a->writes, 1));
    } else if (post && strcmp(p, "/writes/clear") == 0) {
        cJSON_Delete(a->writes);
        a->writes = cJSON_CreateArray();
        control_ok(rs, cJSON_CreateObject());
    } else if (get && strcmp(p, "/faults") == 0) {
        control_ok(rs, faults_json(&a->faults));
    } else if (post && strcmp(p, "/faults") == 0) {
        cJSON *j = cJSON_Parse(rq->body);
        const char *why = "body is not JSON";
        if (!j || sim_faults_apply(a, j, &why) != 0)
            control_error(rs, 400, why);
        else
            control_ok(rs, faults_json(&a->faults));
        cJSON_Delete(j);
    } else if (get && strcmp(p, "/state") == 0) {
        const char *coll = sim_query(rq, "collection");
        control_ok(rs, cJSON_Duplicate(coll ? world_coll(a, coll) : a->world, 1));
    } else if (post && strcmp(p, "/tick") == 0) {
        cJSON *j = cJSON_Parse(rq->body);
        const cJSON *n = j ? cJSON_GetObjectItemCaseSensitive(j, "ticks") : NULL;
        int count = cJSON_IsNumber(n) ? n->valueint : 1;
        for (int i = 0; i < count && i < 100000; i++) {
            a->ops->tick(a);
            a->ticks++;
        }
        cJSON_Delete(j);
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "ticks", (double)a->ticks);
        control_ok(rs, r);
    } else if (post && strcmp(p, "/inject") == 0) {
        cJSON *j = cJSON_Parse(rq->body);
        const char *why = "body is not JSON";
        if (!j || a->ops->inject(a, j, &why) != 0)
            control_error(rs, 400, why);
        else
            control_ok(rs, cJSON_CreateObject());
        cJSON_Delete(j);
    } else {
        control_error(rs, 404, "unknown control endpoint");
    }
}

/* ---- the request handler ---- */

static enum MHD_Result send_resp(struct MHD_Connection *c, struct sim_resp *rs)
{
    const char *body = rs->body ? rs->body : "";
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
                                                             MHD_RESPMEM_MUST_COPY);
    for (int i = 0; i < rs->nheaders; i++)
        MHD_add_response_header(r, rs->hname[i], rs->hvalue[i]);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- partial answers: the body stops half-way ---- */

struct partial {
    char *body; /* owned */
    size_t cut; /* bytes sent before the connection is closed */
};

static ssize_t partial_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct partial *p = cls;
    if (pos >= p->cut)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* MHD closes the connection */
    size_t n = p->cut - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(out, p->body + pos, n);
    return (ssize_t)n;
}

static void partial_free(void *cls)
{
    struct partial *p = cls;
    free(p->body);
    free(p);
}

/* Queue rs announcing its whole length but with only the first half of its body. The body
 * (at least one byte) is taken from rs. */
static enum MHD_Result send_partial(struct MHD_Connection *c, struct sim_resp *rs)
{
    struct partial *p = xcalloc(1, sizeof(*p));
    size_t len = strlen(rs->body);
    p->body = rs->body;
    p->cut = len / 2;
    rs->body = NULL;
    struct MHD_Response *r =
        MHD_create_response_from_callback(len, 1024, partial_read, p, partial_free);
    if (!r) {
        partial_free(p);
        return MHD_NO;
    }
    for (int i = 0; i < rs->nheaders; i++)
        MHD_add_response_header(r, rs->hname[i], rs->hvalue[i]);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct sim_account *a = cls;
    struct conn_state *cs = *con_cls;
    if (!cs) {
        cs = xcalloc(1, sizeof(*cs));
        buf_init(&cs->body);
        *con_cls = cs;
        return MHD_YES;
    }
    if (*upload_size) {
        if (cs->body.len + *upload_size > BODY_MAX)
            return MHD_NO;
        buf_append(&cs->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    char ip[64] = "?";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET) {
        const unsigned char *b = (const unsigned char *)ci->client_addr->sa_data + 2;
        snprintf(ip, sizeof(ip), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    }
    struct sim_req rq = {.method = method,
                         .path = url,
                         .body = cs->body.data ? cs->body.data : "",
                         .body_len = cs->body.len,
                         .client_ip = ip,
                         .conn = conn};
    struct sim_resp rs = {.status = 500};
    enum MHD_Result ret;

    if (strncmp(url, "/_sim/", 6) == 0) {
        pthread_mutex_lock(&sim_lock);
        control(a, &rq, &rs);
        pthread_mutex_unlock(&sim_lock);
        ret = send_resp(conn, &rs);
        resp_free(&rs);
        return ret;
    }

    /* faults before the world is touched */
    pthread_mutex_lock(&sim_lock);
    a->requests++;
    struct sim_faults f = a->faults;
    int64_t now = sim_now();
    int reset = now < f.outage_until || sim_chance(a, f.reset_rate);
    int fail = !reset && sim_chance(a, f.error_rate);
    int storm = now < f.storm_until;
    int delay = f.latency_ms + (f.jitter_ms > 0 ? (int)(sim_rand(a) % (unsigned)f.jitter_ms) : 0);
    int drop = sim_chance(a, f.drop_after_write);
    int partial = sim_chance(a, f.partial_rate);
    a->injected.resets += reset;
    a->injected.delayed += delay > 0;
    pthread_mutex_unlock(&sim_lock);
    if (delay > 0) {
        struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (reset) {
        if (sim.verbose)
            fprintf(stderr, "pmsim %s: reset %s %s\n", a->name, method, url);
        return MHD_NO;
    }
    pthread_mutex_lock(&sim_lock);
    int wait = storm ? 10 : rate_check(a, ip);
    if (wait)
        a->ops->too_many(a, wait, &rs);
    else if (fail)
        resp_text(&rs, 503, "Service Unavailable");
    else
        a->ops->handle(a, &rq, &rs);
    if (a->ops->limit_headers)
        a->ops->limit_headers(a, &rs);
    a->injected.errors += !wait && fail;
    drop = rs.written && drop;
    partial = !drop && partial && rs.body && *rs.body;
    a->injected.dropped += drop;
    a->injected.partials += partial;
    pthread_mutex_unlock(&sim_lock);
    if (sim.verbose)
        fprintf(stderr, "pmsim %s: %s %s -> %d%s\n", a->name, method, url, rs.status,
                drop      ? " (dropped)"
                : partial ? " (partial)"
                          : "");
    if (drop) {
        resp_free(&rs);
        return MHD_NO; /* applied, but the client never hears so */
    }
    ret = partial ? send_partial(conn, &rs) : send_resp(conn, &rs);
    resp_free(&rs);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct conn_state *cs = *con_cls;
    if (cs) {
        buf_free(&cs->body);
        free(cs);
        *con_cls = NULL;
    }
}

int sim_http_start(struct sim_account *a)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)a->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
        (uint16_t)a->port, NULL, NULL, on_request, a, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_END);
    if (!a->daemon)
        return -1;
    if (a->port == 0) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
        if (di)
            a->port = di->port;
    }
    return 0;
}

void sim_http_stop(struct sim_account *a)
{
    if (a->daemon)
        MHD_stop_daemon(a->daemon);
    a->daemon = NULL;
}
