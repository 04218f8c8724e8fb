/* sync.h - internal to src/sync/: the engine's shared structures. Not for other modules. */
#ifndef PORTER_SYNC_H
#define PORTER_SYNC_H

#include <pthread.h>
#include <stdatomic.h>

#include "adapter.h"
#include "engine.h"
#include "http.h"
#include "rules.h"
#include "store.h"

#define PUSHERS_PER_ACCOUNT 2
#define CIRCUIT_THRESHOLD   5      /* consecutive transient failures that open the circuit */
#define BACKOFF_BASE_MS     1000   /* first retry delay (before jitter) */
#define BACKOFF_CAP_MS      300000 /* never wait longer than 5 minutes between attempts */
#define PROBE_INTERVAL_MS   10000  /* an open circuit asks for a probe pull this often */
#define PULL_RETRIES        3      /* transient failures retried within one pull pass */
#define LEASE_TTL_MS        15000
#define LEASE_RENEW_MS      5000

struct engine;

struct acct {
    struct engine *g;
    const struct account_conf *conf; /* borrowed from the config */
    const struct adapter_ops *ops;
    int64_t id;
    struct ratelim *rl;         /* owned: shared by this account's clients */
    struct adapter_host host;   /* token cache callbacks */
    pthread_mutex_t token_lock; /* guards token_store */
    struct store *token_store;  /* owned: the token cache's own connection */
    struct notify wake_push;    /* poked when an op is queued or the circuit may close */
    struct notify wake_poll;    /* poked to pull now */
    pthread_t poller;
    pthread_t pushers[PUSHERS_PER_ACCOUNT];
    int threads_started;
    atomic_int failures;     /* consecutive transient push failures */
    atomic_llong open_until; /* circuit: no pushes before this mono_ms (0 = closed) */
};

struct engine {
    const struct config *cfg;
    const struct notify *ui; /* borrowed, may be NULL */
    struct acct *accts;      /* owned array */
    size_t n;
    atomic_int stop;
    atomic_int leader;
    char holder[128]; /* lease holder id: host:pid */
    struct notify wake_apply;
    struct notify wake_rules; /* poked after every commit of a worker */
    struct rules *rules;      /* owned: the automations (src/rules.c) */
    pthread_t applier, leaser, ruler;
    int started;
    void *listener; /* struct listener, webhook.c */
};

/* What one worker thread of an account owns: its connection, http client and adapter. */
struct worker {
    struct store *s;
    struct http_client *http;
    struct adapter *ad;
};

/* Open a worker's resources; 0, or -1 after logging why (as `who`). */
int worker_open(struct acct *a, const char *who, struct worker *w);
void worker_close(struct worker *w);

/* Open a connection of the engine's database for one thread. */
struct store *sync_store(struct engine *g, struct err *e);
/* New http client + adapter instance for a worker of account a. */
struct adapter *sync_adapter(struct acct *a, struct http_client **http, struct err *e);
void sync_ui_poke(struct engine *g);
/* Sleep up to ms or until stop/poke on n (n may be NULL). */
void sync_sleep(struct engine *g, const struct notify *n, int64_t ms);
/* Full-jitter backoff for the attempt number. */
int64_t sync_backoff_ms(int attempts);

/* poll.c: pull every entity of an account once; 0 or -1. */
int poll_account(struct acct *a, struct store *s, struct adapter *ad, struct err *e);
void *poll_main(void *arg);

/* outbox.c: push due ops of an account once; returns ops completed, or -1. *waiting gets
 * the number of ops left for a later retry. */
int outbox_drain_once(struct acct *a, struct store *s, struct adapter *ad, int *waiting,
                      struct err *e);
void *outbox_main(void *arg);
/* Close an open circuit (a complete pull succeeded): state ok, waiting ops due at once. */
void circuit_close(struct acct *a, struct store *s);

/* webhook.c: the listener and the apply worker. */
int webhook_start(struct engine *g, struct err *e);
void webhook_stop(struct engine *g);
/* Apply one batch of due events in one transaction; returns the number processed (applied,
 * retried or quarantined), 0 when none was due, -1 when the database failed. */
int apply_events_once(struct engine *g, struct store *s, struct adapter **ads, struct err *e);
void *apply_main(void *arg);

/* engine.c: the automations worker (leader only). One pass: act on new events, then run
 * the notify commands they recorded; returns events handled or -1. */
int rules_pass(struct engine *g, struct store *s, struct err *e);

#endif
