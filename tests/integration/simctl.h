/* simctl.h - helpers for tests that drive pmsim over real HTTP (libcurl) and receive its
 * webhooks on a real listener (libmicrohttpd). Test-only code. */
#ifndef SIMCTL_H
#define SIMCTL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/types.h>

struct simproc {
    pid_t pid;
    int nports;
    int port[8]; /* in the order of the --account flags */
};

/* Start $PMSIM_BIN with argv (NULL-terminated; include --account D:0 flags), wait for
 * "pmsim: ready" and collect the ports. 0 or -1. */
int sim_spawn(struct simproc *p, const char *const *argv);
void sim_kill(struct simproc *p);
/* How many writes in pmsim's log (of the account on `port`) contain `needle`. */
int sim_writes_with(int port, const char *needle);
/* A loopback TCP port that was free a moment ago. */
int sim_free_port(void);

struct http_result {
    long status;   /* 0: connection failed or reset */
    char *body;    /* owned, NUL-terminated */
    char *headers; /* owned: raw response header block */
};

/* One request. headers: NULL-terminated "Name: value" lines or NULL. body may be NULL. */
int http_do(const char *method, const char *url, const char *const *headers, const char *body,
            struct http_result *r);
void http_result_free(struct http_result *r);
/* Value of a response header (case-insensitive), copied into out; 0 or -1. */
int http_header(const struct http_result *r, const char *name, char *out, size_t n);

/* A webhook receiver on 127.0.0.1 (free port) answering `status` to every POST and keeping
 * each request. */
struct receiver;
struct receiver *receiver_start(int status);
int receiver_port(struct receiver *rv);
void receiver_set_status(struct receiver *rv, int status);
/* Number of requests received so far; request i's body and header value. */
int receiver_count(struct receiver *rv);
const char *receiver_body(struct receiver *rv, int i);
const char *receiver_header(struct receiver *rv, int i, const char *name);
/* Wait up to ms for at least n requests; returns the count. */
int receiver_wait(struct receiver *rv, int n, int ms);
void receiver_stop(struct receiver **rv);

#endif
