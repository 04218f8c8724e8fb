/* pmsim.h - the PMS simulator: one process, several accounts, each on its own port speaking
 * one dialect (Hostaway, Guesty, Buildium).
 *
 * The world of an account is held in memory as cJSON arrays of records *in the dialect's
 * own wire format* ("collections": listings, reservations, conversations, messages, tasks,
 * ...), so what a handler returns is what the real service would return. One process-wide
 * mutex (sim_lock) guards every world, the write log and the webhook queue; HTTP runs one
 * thread per connection and takes the lock only around world access, so added latency
 * never blocks other clients.
 *
 * The core (http.c) owns: routing of /_sim/ (the control API), fault injection, the rate
 * limiter windows, the write log and schema drift. A dialect (struct dialect_ops) owns:
 * authentication, its routes and envelopes, seeding, scenario ticks, injected events and
 * webhook payloads and signatures.
 */
#ifndef PMSIM_H
#define PMSIM_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct MHD_Connection;
struct MHD_Daemon;
struct sim_account;

/* ---- requests and responses ---- */

struct sim_req {
    const char *method;
    const char *path; /* without the query string */
    const char *body; /* NUL-terminated, "" when none */
    size_t body_len;
    const char *client_ip;
    struct MHD_Connection *conn; /* borrowed: for headers and query arguments */
};

/* A request header (case-insensitive name) or query argument; NULL when absent. */
const char *sim_header(const struct sim_req *r, const char *name);
const char *sim_query(const struct sim_req *r, const char *name);
/* Every value of a repeated query argument (e.g. statuses=New&statuses=Closed), up to max. */
int sim_query_all(const struct sim_req *r, const char *name, const char **out, int max);

#define SIM_MAX_HEADERS 12

struct sim_resp {
    int status;
    char *body; /* owned */
    int nheaders;
    char *hname[SIM_MAX_HEADERS]; /* owned */
    char *hvalue[SIM_MAX_HEADERS];
    int written; /* the handler applied a write (for drop-after-write faults) */
};

void resp_header(struct sim_resp *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Set status and body; `json` is consumed (deleted), drift is applied on the way out. */
void resp_json(struct sim_account *a, struct sim_resp *r, int status, cJSON *json);
void resp_text(struct sim_resp *r, int status, const char *text);

/* ---- dialects ---- */

struct dialect_ops {
    const char *name;
    /* Fill a fresh world from the fixture (may be NULL) and the generator. */
    void (*seed)(struct sim_account *a, const cJSON *fixture);
    /* Answer one API request (auth included). Called with sim_lock held. */
    void (*handle)(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs);
    /* Build the 429 answer for a request over the limit; retry_after in seconds. */
    void (*too_many)(struct sim_account *a, int retry_after, struct sim_resp *rs);
    /* Headers every answer carries (e.g. X-RateLimit-*). May be NULL. */
    void (*limit_headers)(struct sim_account *a, struct sim_resp *rs);
    /* One scenario step: the world moves; emit webhooks with sim_webhook(). */
    void (*tick)(struct sim_account *a);
    /* Inject an event described by `ev` ({"kind": ..., fields}); 0, or -1 with *why. */
    int (*inject)(struct sim_account *a, const cJSON *ev, const char **why);
    /* Add authentication headers for a webhook body about to be sent. */
    void (*sign)(struct sim_account *a, const char *body, char **hname, char **hvalue, int *n,
                 int max);
};

extern const struct dialect_ops hostaway_dialect;
extern const struct dialect_ops guesty_dialect;
extern const struct dialect_ops buildium_dialect;

/* ---- faults, switchable at start (flags) and at run time (POST /_sim/faults) ---- */

struct sim_faults {
    double error_rate;       /* share of requests answered 503 */
    int latency_ms;          /* added before answering */
    int jitter_ms;           /* plus a uniform random 0..jitter */
    int64_t outage_until;    /* ms: until then every request is reset */
    double reset_rate;       /* share of requests whose connection is reset */
    double drop_after_write; /* share of writes applied and then reset (no answer) */
    double partial_rate;     /* share of answers whose body stops half-way: the connection is
                              * closed after half of the announced Content-Length */
    int64_t storm_until;     /* ms: until then every request gets 429 */
    double webhook_drop;     /* share of webhooks never sent */
    double webhook_dup;      /* share of webhooks sent twice */
    int webhook_reorder;     /* 1: deliveries are shuffled within a batch */
    char *drift_from;        /* owned: rename this key ... */
    char *drift_to;          /* owned: ... to this one, in every answer and webhook */
    int drift_retype;        /* 1: turn the value of drift_from into a string */
    int rate_limit_off;      /* 1: no rate limiting (bulk imports, benches) */
};

/* ---- accounts ---- */

#define SIM_MAX_WINDOWS 3

struct sim_window { /* a fixed-window counter: at most `limit` requests per `span_ms` */
    int limit;
    int64_t span_ms;
    int64_t start;
    int used;
    int per_ip; /* counted per client address (one extra table) */
};

struct sim_account {
    const struct dialect_ops *ops;
    char *name; /* owned: "hostaway", or "hostaway:9101" label */
    int port;
    struct MHD_Daemon *daemon;
    char *webhook_url;    /* owned, may be NULL */
    char *webhook_secret; /* owned: Basic user:pass, whsec_..., or HMAC key */
    char *client_id;      /* owned: accepted client id */
    char *client_secret;  /* owned: accepted client secret */
    cJSON *world;         /* owned: object of collections, dialect wire format */
    cJSON *writes;        /* owned: array of applied writes */
    int64_t next_id;      /* id generator */
    struct sim_faults faults;
    struct sim_window windows[SIM_MAX_WINDOWS];
    int nwindows;
    cJSON *ip_windows; /* owned: {ip: [start, used]} for per-ip windows */
    cJSON *tokens;     /* owned: issued tokens [{token, issued, expires}] */
    int tokens_minted; /* in the current 24 h */
    int64_t token_day_start;
    int64_t rand_state; /* this account's deterministic generator */
    int64_t clock_ms;   /* scenario clock (starts at real time, advanced by ticks) */
    int64_t ticks;
    int64_t requests; /* API requests received (not /_sim/), for tests */
    struct {          /* faults injected so far (GET /_sim/health "injected") */
        int64_t resets, errors, partials, dropped, delayed;
    } injected;
};

struct sim {
    struct sim_account *accounts; /* owned array */
    int naccounts;
    unsigned seed;
    double rate;        /* scenario ticks per second; 0 = only when asked */
    double time_factor; /* webhook retry delays are multiplied by this */
    const char *data_dir;
    int verbose;
};

extern struct sim sim;
extern pthread_mutex_t sim_lock;

/* Deterministic per-account random numbers. */
uint32_t sim_rand(struct sim_account *a);
double sim_rand01(struct sim_account *a);
int sim_chance(struct sim_account *a, double p);
/* Pick one of n strings. */
const char *sim_pick(struct sim_account *a, const char *const *v, int n);

/* The collection `name` of the world (created empty when missing). */
cJSON *world_coll(struct sim_account *a, const char *name);
/* Find the record whose key `field` equals `value` (number or string compare). */
cJSON *world_find(struct sim_account *a, const char *coll, const char *field, const char *value);
/* A fresh id (numbers for Hostaway/Buildium, 24-hex strings for Guesty via sim_hex_id). */
int64_t sim_new_id(struct sim_account *a);
void sim_hex_id(struct sim_account *a, char out[25]);

/* Record an applied write: method, path, body and any idempotency key. */
void sim_log_write(struct sim_account *a, const struct sim_req *rq, const char *what);

/* Queue a webhook for delivery (body is copied). Honours drop/dup/reorder faults and the
 * dialect's retry schedule, scaled by time_factor. */
void sim_webhook(struct sim_account *a, const char *event, cJSON *payload);
/* The id of the webhook event being signed: the same on every retry and duplicate of one
 * event (e.g. Svix's svix-id). Valid only inside dialect_ops.sign; "" elsewhere. */
const char *sim_webhook_id(void);

/* Times in each dialect's format. */
void fmt_hostaway_time(int64_t ms, char out[20]); /* YYYY-MM-DD HH:MM:SS (UTC) */
void fmt_iso_time(int64_t ms, char out[32]);      /* 2021-10-11T12:54:43.248Z */
void fmt_date(int64_t ms, char out[11]);          /* YYYY-MM-DD */
int64_t sim_now(void);                            /* real wall clock, ms */

/* Shared helpers for dialect code. */
int paging_int(const struct sim_req *rq, const char *name, int def, int min, int max);
int str_eq(const char *a, const char *b);
const char *json_str(const cJSON *o, const char *key); /* NULL when absent or not a string */
/* Set o[key], replacing any old value: v is consumed; a NULL string sets JSON null. */
void json_set(cJSON *o, const char *key, cJSON *v);
void json_set_str(cJSON *o, const char *key, const char *s);
void json_set_num(cJSON *o, const char *key, double d);
/* Take client id, client secret and webhook secret from the fixture's "credentials"
 * object (may be NULL), else the dialect's defaults. */
void sim_credentials(struct sim_account *a, const cJSON *cred, const char *client_id,
                     const char *client_secret, const char *webhook_secret);

/* HTTP core (http.c). */
int sim_http_start(struct sim_account *a);
void sim_http_stop(struct sim_account *a);
void sim_webhook_start(void);
void sim_webhook_stop(void);

/* Control API: parse faults JSON into a (also used for --fault flags). */
int sim_faults_apply(struct sim_account *a, const cJSON *j, const char **why);

/* Fill a world from data/demo/<dialect>.json when present; run by main before serving. */
cJSON *sim_load_fixture(const char *dir, const char *dialect);

#endif
