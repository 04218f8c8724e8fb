/* simctl.c - see simctl.h */
#include "simctl.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int sim_spawn(struct simproc *p, const char *const *argv)
{
    const char *bin = getenv("PMSIM_BIN");
    int fds[2];
    if (!bin || pipe(fds) != 0)
        return -1;
    memset(p, 0, sizeof(*p));
    p->pid = fork();
    if (p->pid < 0)
        return -1;
    if (p->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        const char *args[64];
        int n = 0;
        args[n++] = bin;
        for (int i = 0; argv[i] && n < 63; i++)
            args[n++] = argv[i];
        args[n] = NULL;
        execv(bin, (char *const *)(uintptr_t)args);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256];
    int ready = 0;
    while (fgets(line, sizeof(line), f)) {
        const char *c = strstr(line, "listening on 127.0.0.1:");
        if (c && p->nports < 8)
            p->port[p->nports++] = atoi(c + strlen("listening on 127.0.0.1:"));
        if (strncmp(line, "pmsim: ready", 12) == 0) {
            ready = 1;
            break;
        }
    }
    /* keep the pipe's read end open in the background so pmsim never gets SIGPIPE */
    if (!ready) {
        fclose(f);
        sim_kill(p);
        return -1;
    }
    return 0;
}

void sim_kill(struct simproc *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
}

struct grow {
    char *p;
    size_t n;
};

static size_t grow_cb(char *d, size_t s, size_t n, void *u)
{
    struct grow *g = u;
    size_t len = s * n;
    g->p = realloc(g->p, g->n + len + 1);
    memcpy(g->p + g->n, d, len);
    g->n += len;
    g->p[g->n] = '\0';
    return len;
}

int http_do(const char *method, const char *url, const char *const *headers, const char *body,
            struct http_result *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct grow b = {calloc(1, 1), 0}, hd = {calloc(1, 1), 0};
    for (int i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, grow_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hd);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    r->status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->body = b.p;
    r->headers = hd.p;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r->status ? 0 : -1;
}

void http_result_free(struct http_result *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

int http_header(const struct http_result *r, const char *name, char *out, size_t n)
{
    size_t len = strlen(name);
    for (const char *l = r->headers; l && *l;) {
        const char *e = strchr(l, '\n');
        if (strncasecmp(l, name, len) == 0 && l[len] == ':') {
            const char *v = l + len + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t)((e ? e : v + strlen(v)) - v);
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
                vl--;
            if (vl >= n)
                vl = n - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 0;
        }
        l = e ? e + 1 : NULL;
    }
    return -1;
}

/* ---- receiver ---- */

#define RV_MAX 4096

struct rv_req {
    char *body;
    char *hdrs; /* "name\0value\0...\0" lowercase names */
    size_t hlen;
};

struct receiver {
    struct MHD_Daemon *d;
    pthread_mutex_t lock;
    int status, port, n;
    struct rv_req reqs[RV_MAX];
};

struct rv_conn {
    char *body;
    size_t n;
};

static enum MHD_Result rv_hdr(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    (void)kind;
    struct rv_req *q = cls;
    size_t kl = strlen(key) + 1, vl = strlen(value ? value : "") + 1;
    q->hdrs = realloc(q->hdrs, q->hlen + kl + vl);
    for (size_t i = 0; i < kl; i++)
        q->hdrs[q->hlen + i] = (char)((key[i] >= 'A' && key[i] <= 'Z') ? key[i] + 32 : key[i]);
    memcpy(q->hdrs + q->hlen + kl, value ? value : "", vl);
    q->hlen += kl + vl;
    return MHD_YES;
}

static enum MHD_Result rv_req_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *size, void **con_cls)
{
    (void)url;
    (void)method;
    (void)version;
    struct receiver *rv = cls;
    struct rv_conn *c = *con_cls;
    if (!c) {
        *con_cls = calloc(1, sizeof(*c));
        return MHD_YES;
    }
    if (*size) {
        c->body = realloc(c->body, c->n + *size + 1);
        memcpy(c->body + c->n, data, *size);
        c->n += *size;
        c->body[c->n] = '\0';
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&rv->lock);
    int status = rv->status;
    if (rv->n < RV_MAX) {
        struct rv_req *q = &rv->reqs[rv->n];
        q->body = c->body ? c->body : strdup("");
        c->body = NULL;
        MHD_get_connection_values(conn, MHD_HEADER_KIND, rv_hdr, q);
        rv->n++;
    }
    pthread_mutex_unlock(&rv->lock);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(0, (void *)(uintptr_t) "", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static void rv_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    struct rv_conn *rc = *con_cls;
    if (rc) {
        free(rc->body);
        free(rc);
    }
}

struct receiver *receiver_start(int status)
{
    struct receiver *rv = calloc(1, sizeof(*rv));
    pthread_mutex_init(&rv->lock, NULL);
    rv->status = status;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rv->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                             NULL, NULL, rv_req_cb, rv, MHD_OPTION_NOTIFY_COMPLETED, rv_done, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    if (!rv->d) {
        free(rv);
        return NULL;
    }
    rv->port = MHD_get_daemon_info(rv->d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return rv;
}

int receiver_port(struct receiver *rv)
{
    return rv->port;
}

void receiver_set_status(struct receiver *rv, int status)
{
    pthread_mutex_lock(&rv->lock);
    rv->status = status;
    pthread_mutex_unlock(&rv->lock);
}

int receiver_count(struct receiver *rv)
{
    pthread_mutex_lock(&rv->lock);
    int n = rv->n;
    pthread_mutex_unlock(&rv->lock);
    return n;
}

const char *receiver_body(struct receiver *rv, int i)
{
    return i < receiver_count(rv) ? rv->reqs[i].body : NULL;
}

const char *receiver_header(struct receiver *rv, int i, const char *name)
{
    if (i >= receiver_count(rv))
        return NULL;
    const struct rv_req *q = &rv->reqs[i];
    for (size_t o = 0; o < q->hlen;) {
        const char *k = q->hdrs + o;
        const char *v = k + strlen(k) + 1;
        if (strcasecmp(k, name) == 0)
            return v;
        o = (size_t)(v + strlen(v) + 1 - q->hdrs);
    }
    return NULL;
}

int receiver_wait(struct receiver *rv, int n, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        if (receiver_count(rv) >= n)
            break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return receiver_count(rv);
}

void receiver_stop(struct receiver **rvp)
{
    struct receiver *rv = *rvp;
    if (!rv)
        return;
    MHD_stop_daemon(rv->d);
    for (int i = 0; i < rv->n; i++) {
        free(rv->reqs[i].body);
        free(rv->reqs[i].hdrs);
    }
    pthread_mutex_destroy(&rv->lock);
    free(rv);
    *rvp = NULL;
}

int sim_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

int sim_writes_with(int port, const char *needle)
{
    char url[96];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/writes", port);
    if (http_do("GET", url, NULL, NULL, &r) != 0)
        return -1;
    int n = 0;
    for (const char *p = r.body; p && (p = strstr(p, needle)); p++)
        n++;
    http_result_free(&r);
    return n;
}
