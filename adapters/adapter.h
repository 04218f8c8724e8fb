/* adapter.h - the contract between the sync engine and one PMS dialect.
 *
 * An adapter turns a PMS's wire JSON into porter's canonical records (model.h) and
 * porter's queued operations into the PMS's writes. It knows its dialect and nothing else:
 * no SQL, no curses, no retries and no threads (the engine owns all of those). It reaches
 * the network only through its struct http_client.
 *
 * Instances: the engine makes one struct adapter per worker thread (poller, pusher, apply),
 * each with its own http_client; the instances of one account share one ratelim and reach
 * shared state (a cached token) only through the host callbacks, which are thread-safe.
 *
 * Errors: every slot returns 0 (or a documented positive value) on success and -1 on
 * failure with *e set. The retry class is the contract:
 *   RETRY_NOW    the adapter fixed something (e.g. re-minted a token): call again now;
 *   RETRY_LATER  transient (timeout, 5xx, 429, connection refused, parent not stored yet):
 *                the engine backs off and tries again; nothing is lost;
 *   FINAL        permanent (validation 4xx, auth refused, malformed data): e->msg is the
 *                PMS's own message where it gave one, fit to show to a person.
 * Auth failures set e->code = ADAPTER_EAUTH so the engine can mark the account.
 * Schema drift (a required field missing, a type changed, an unknown enum value) is
 * reported through sink->drift and the record is skipped, never written half-empty. An
 * unknown value of an enumeration that has a safe reading (Buildium's Status, Priority and
 * LeaseStatus) is reported the same way with a `why` that begins with DRIFT_KEPT: the
 * record is written, the field read as unknown, and the PMS's own string kept beside it.
 *
 * Ownership: every pointer passed in is borrowed for the duration of the call. Strings in
 * records given to a sink are borrowed by the sink for the duration of that sink call.
 * Strings an adapter returns through an out-parameter (char **) are owned by the caller.
 */
#ifndef PORTER_ADAPTER_H
#define PORTER_ADAPTER_H

#include <stdint.h>

#include "config.h"
#include "http.h"
#include "model.h"
#include "util.h"

#define ADAPTER_EAUTH  2001 /* credentials refused (e->retry FINAL) or token expired (NOW) */
#define ADAPTER_EDRIFT 2002 /* the answer does not have the documented shape */

#define ADAPTER_LOCAL_ONLY 2 /* push(): nothing to send to this PMS; keep the change local */

/* What can be pulled. The printable names are the sync_cursor.entity keys. */
#define ENTITY_LIST(X)                                                                             \
    X(ENT_PROPERTY, "property")                                                                    \
    X(ENT_UNIT, "unit")                                                                            \
    X(ENT_CONTACT, "contact")                                                                      \
    X(ENT_STAY, "stay")                                                                            \
    X(ENT_THREAD, "thread")                                                                        \
    X(ENT_MESSAGE, "message")                                                                      \
    X(ENT_VENDOR, "vendor")                                                                        \
    X(ENT_WORK_ORDER, "work_order")

#define ENTITY_ITEM(id, name) id,
enum entity { ENTITY_LIST(ENTITY_ITEM) ENTITY_COUNT };
#undef ENTITY_ITEM

const char *entity_name(enum entity e);
int entity_parse(const char *s);

/* Where an adapter delivers what it parsed. Implemented by the engine (apply.c).
 * put() returns 0, or -1 with *e set: e->code STORE_ENOPARENT (RETRY_LATER) when the
 * record's parent is not stored yet. An adapter that can fetch the parent (one GET) may do
 * so, put the parent, and put the record again; otherwise it returns the error. */
#define DRIFT_KEPT "kept: "

struct sink {
    void *ctx;
    int (*put)(struct sink *s, enum entity ent, const void *rec, struct err *e);
    /* The record `remote_id` of `entity` was skipped: `field` is missing, retyped or has an
     * unknown value (`why`); or kept with `field` read as unknown (`why` starts DRIFT_KEPT). */
    void (*drift)(struct sink *s, enum entity ent, const char *remote_id, const char *field,
                  const char *why);
};

/* Thread-safe services the engine offers an adapter (shared token cache in the store). */
struct adapter_host {
    void *ctx;
    /* The cached token and its expiry (ms), or -1 when none. *token is owned by caller. */
    int (*token_get)(void *ctx, char **token, int64_t *expires_at);
    /* Store a newly minted token (also counts the mint for caps such as 5 per 24 h). */
    int (*token_put)(void *ctx, const char *token, int64_t expires_at);
    /* Tokens minted in the last `window_ms`. */
    int (*token_mints)(void *ctx, int64_t window_ms);
};

/* A queued write, as the pusher hands it over (all borrowed). */
struct outbox_op {
    int64_t id;
    const char *op;        /* reply, note, wo_create, wo_status, wo_vendor, ... */
    const char *payload;   /* canonical JSON written by the store (see store_queue_*) */
    const char *idem_key;  /* porter's idempotency key for this op */
    const char *remote_id; /* the entity's remote id when it has one (wo_status, ...) */
    int attempts;          /* earlier attempts; > 0 means the outcome may be unknown */
    int64_t created_at;    /* ms */
};

struct push_result {
    char remote_id[128];       /* the id the PMS gave the created/updated record */
    int64_t remote_updated_at; /* when the PMS reports it, else 0 */
};

/* An inbound webhook request, as the listener received it (all borrowed). */
struct webhook_req {
    const char *path;
    const char *body;
    size_t body_len;
    const char *client_ip;
    int64_t now_ms; /* wall clock at receipt (signature windows) */
    const char *(*header)(const struct webhook_req *r, const char *name); /* case-insensitive */
    void *ctx;
};

struct adapter;

struct adapter_ops {
    const char *name; /* "hostaway" */
    const char *default_base_url;
    double rate_per_sec; /* documented limit, used when accounts.conf sets none */
    int rate_burst;
    /* Entities in the order the poller pulls them (parents first), ENTITY_COUNT-ended. */
    const enum entity *pull_order;
    /* Bit (1u << entity) set for entities the adapter re-reads in full every cycle, their
     * cursor returning to where it started at the end of a walk. The poller's mass-delete
     * guard compares such a complete walk with what is stored. */
    unsigned full_walk;

    /* Allocate a->priv. 0 or -1 (FINAL: e.g. a required setting is missing). */
    int (*init)(struct adapter *a, struct err *e);
    void (*fini)(struct adapter *a);

    /* Obtain or refresh credentials (no-op for static keys). Called by the engine before
     * first use and when a call fails with ADAPTER_EAUTH/RETRY_NOW. */
    int (*auth)(struct adapter *a, struct err *e);

    /* Pull one page of `ent` changed since `cursor` (NULL: from the beginning), deliver its
     * records to `out` and set *next to the cursor for the next call (owned by caller; the
     * engine commits it with the page). Returns 1 when more pages follow now, 0 when this
     * entity is caught up, -1 on error. Cursors are opaque to the engine and include the
     * adapter's overlap. */
    int (*pull)(struct adapter *a, enum entity ent, const char *cursor, struct sink *out,
                char **next, struct err *e);

    /* Perform one write. Fills *res (remote id of what was created or changed). Returns
     * ADAPTER_LOCAL_ONLY when the PMS has no place for this op (e.g. internal notes on a
     * dialect without them): the engine completes the op and labels the row local. */
    int (*push)(struct adapter *a, const struct outbox_op *op, struct push_result *res,
                struct err *e);

    /* After an attempt whose outcome is unknown (timeout, reset): look the write up at the
     * PMS (by idempotency key where the API keeps one, else by target + body + time
     * window). Returns 1 and fills *res when it landed, 0 when it did not, -1 on error. */
    int (*find)(struct adapter *a, const struct outbox_op *op, struct push_result *res,
                struct err *e);

    /* Authenticate a webhook and name it: 0 with *event_id (the dialect's id, or a hash of
     * the body where it has none) and *kind set (both owned by caller); -1 when it must be
     * refused (e->code 401: bad or missing auth; 400: malformed). Never stores anything. */
    int (*webhook_verify)(struct adapter *a, const struct webhook_req *rq, char **event_id,
                          char **kind, struct err *e);

    /* Turn a stored event body into records for `out`. Events that carry ids only are
     * completed here with a GET. RETRY_LATER errors make the engine retry the event. */
    int (*webhook_apply)(struct adapter *a, const char *kind, const char *body, struct sink *out,
                         struct err *e);
};

struct adapter {
    const struct adapter_ops *ops;
    const struct account_conf *conf; /* borrowed */
    const char *base_url;            /* borrowed: conf->base_url or ops->default_base_url */
    struct http_client *http;        /* borrowed */
    const struct adapter_host *host; /* borrowed */
    void *priv;                      /* owned by the adapter (init/fini) */
};

/* The adapter named `name` ("hostaway", ...), or NULL. */
const struct adapter_ops *adapter_find(const char *name);

/* Make an adapter known beside the built-in dialects (the scripted fake adapter of the
 * engine's unit tests). At most 4; the ops must outlive every use. */
void adapter_register(const struct adapter_ops *ops);

/* Make an instance; NULL with *e set when init fails. */
struct adapter *adapter_new(const struct adapter_ops *ops, const struct account_conf *conf,
                            struct http_client *http, const struct adapter_host *host,
                            struct err *e);
void adapter_free(struct adapter **a);

extern const struct adapter_ops hostaway_adapter;
extern const struct adapter_ops guesty_adapter;
extern const struct adapter_ops buildium_adapter;

#endif
