/* outbox.c - the pusher: delivers queued writes exactly once.
 *
 * State machine of an op: pending -> inflight (claimed; the attempt is counted on disk
 * before the request leaves) -> sent | pending (transient failure, retried after a
 * full-jitter exponential backoff, capped) | failed (the PMS refused it: its message is
 * shown on the message or card). Nothing is dropped.
 *
 * Exactly once: an op claimed with attempts > 0 may have landed already (timeout, reset,
 * crash after sending). Before sending it again the pusher asks the adapter to find it at
 * the PMS and adopts the remote id when it is there.
 *
 * Circuit breaker per account: CIRCUIT_THRESHOLD consecutive transient failures open it
 * (state down, alert sync_down). While it is open no write is sent: every
 * PROBE_INTERVAL_MS the poller is asked to pull, and the first complete pull closes it.
 * The probe is a read on purpose: what changed at the PMS during the outage is merged
 * first (a conflict recorded, a superseded write retired) and only then does the queue
 * drain, so a write that waited out an outage never silently overwrites a change made at
 * the PMS in the meantime. The account's state then returns to ok even when no write was
 * waiting.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sync.h"

static void circuit_open(struct acct *a, struct store *s, const char *why)
{
    struct err e;
    int64_t was = atomic_exchange(&a->open_until, mono_ms() + PROBE_INTERVAL_MS);
    if (was == 0) {
        log_warn("outbox", "%s: circuit open after %d failures: %s", a->conf->name,
                 CIRCUIT_THRESHOLD, why);
        store_account_circuit(s, a->id, "open", &e);
        store_account_state(s, a->id, "down", why, &e);
        store_alert(s, a->id, "sync_down", a->conf->name, why, &e);
        sync_ui_poke(a->g);
    }
}

void circuit_close(struct acct *a, struct store *s)
{
    struct err e;
    atomic_store(&a->failures, 0);
    if (atomic_exchange(&a->open_until, 0) != 0) {
        log_info("outbox", "%s: circuit closed: the PMS answers again", a->conf->name);
        store_account_circuit(s, a->id, "closed", &e);
        store_account_state(s, a->id, "ok", NULL, &e);
        store_outbox_wake(s, a->id, &e); /* what waited out the outage goes now, in order */
        for (int i = 0; i < PUSHERS_PER_ACCOUNT; i++)
            notify_poke(&a->wake_push);
        sync_ui_poke(a->g);
    }
}

/* push or find, once more after the adapter asked for a fresh token (RETRY_NOW). */
static int call_op(struct adapter *ad, int find, const struct outbox_op *op,
                   struct push_result *res, struct err *e)
{
    for (int tries = 0;; tries++) {
        int rc = find ? ad->ops->find(ad, op, res, e) : ad->ops->push(ad, op, res, e);
        if (rc >= 0 || e->retry != RETRY_NOW || tries > 0 || ad->ops->auth(ad, e) != 0)
            return rc;
    }
}

/* Deliver one claimed op. Returns 1 done, 0 left for later (retry or failed), -1 when the
 * database failed. */
static int push_one(struct acct *a, struct store *s, struct adapter *ad, const struct outbox_row *r,
                    struct err *e)
{
    struct outbox_op op = {.id = r->id,
                           .op = r->op,
                           .payload = r->payload,
                           .idem_key = r->idem_key,
                           .remote_id = r->remote_id,
                           .attempts = r->attempts,
                           .created_at = r->created_at};
    struct push_result res;
    memset(&res, 0, sizeof(res));
    int rc = 0;
    if (r->attempts > 0 && ad->ops->find) { /* an earlier attempt may have landed */
        rc = call_op(ad, 1, &op, &res, e);
        if (rc == 1)
            log_info("outbox", "%s: op %lld (%s) had landed: adopting %s", a->conf->name,
                     (long long)r->id, r->op, res.remote_id);
    }
    if (rc == 0)
        rc = call_op(ad, 0, &op, &res, e);
    if (rc >= 0) {
        engine_step("op sent");
        if (store_outbox_done(s, r->id, res.remote_id, rc == ADAPTER_LOCAL_ONLY, e) != 0)
            return -1;
        engine_step("op acknowledged");
        atomic_store(&a->failures, 0);
        return 1;
    }
    struct err e2;
    if (e->retry == FINAL) {
        log_warn("outbox", "%s: op %lld (%s) refused: %s", a->conf->name, (long long)r->id, r->op,
                 e->msg);
        if (store_outbox_fail(s, r->id, e->msg, &e2) != 0) {
            *e = e2;
            return -1;
        }
        store_alert(s, a->id, e->code == ADAPTER_EAUTH ? "auth_failed" : "push_failed",
                    a->conf->name, e->msg, &e2);
        if (e->code == ADAPTER_EAUTH)
            store_account_state(s, a->id, "auth_failed", e->msg, &e2);
        return 0;
    }
    int64_t delay = sync_backoff_ms(r->attempts + 1);
    log_info("outbox", "%s: op %lld (%s) attempt %d failed: %s; retry in %lld ms", a->conf->name,
             (long long)r->id, r->op, r->attempts + 1, e->msg, (long long)delay);
    if (store_outbox_retry(s, r->id, now_ms() + delay, e->msg, &e2) != 0) {
        *e = e2;
        return -1;
    }
    store_metric(s, a->id, "failure", 1, &e2);
    if (atomic_fetch_add(&a->failures, 1) + 1 >= CIRCUIT_THRESHOLD)
        circuit_open(a, s, e->msg);
    return 0;
}

int outbox_drain_once(struct acct *a, struct store *s, struct adapter *ad, int *waiting,
                      struct err *e)
{
    struct outbox_batch b;
    *waiting = 0;
    if (store_outbox_claim(s, a->id, now_ms(), 16, &b, e) != 0)
        return -1;
    int done = 0;
    for (size_t i = 0; i < b.n; i++) {
        if (atomic_load(&a->open_until)) { /* circuit open: put the rest back untouched */
            struct err e2;
            store_outbox_retry(s, b.rows[i].id, now_ms() + PROBE_INTERVAL_MS, "circuit open", &e2);
            continue;
        }
        int rc = push_one(a, s, ad, &b.rows[i], e);
        if (rc < 0) {
            outbox_batch_free(&b);
            return -1;
        }
        done += rc;
        if (rc)
            sync_ui_poke(a->g);
    }
    outbox_batch_free(&b);
    int64_t depth = 0, oldest = 0;
    struct err e2;
    if (store_outbox_depth(s, a->id, &depth, &oldest, &e2) == 0)
        *waiting = (int)depth;
    return done;
}

void *outbox_main(void *arg)
{
    struct acct *a = arg;
    struct engine *g = a->g;
    struct err e;
    struct worker w;
    if (worker_open(a, "outbox", &w) != 0)
        return NULL;
    struct store *s = w.s;
    struct adapter *ad = w.ad;
    while (!atomic_load(&g->stop)) {
        if (!atomic_load(&g->leader)) { /* the lease keeper recovers before we claim */
            sync_sleep(g, &a->wake_push, LEASE_RENEW_MS);
            continue;
        }
        int64_t open = atomic_load(&a->open_until);
        if (open) { /* the probe is a pull; writes wait until it closes the circuit */
            if (mono_ms() >= open) {
                atomic_store(&a->open_until, mono_ms() + PROBE_INTERVAL_MS);
                notify_poke(&a->wake_poll);
            }
            sync_sleep(g, &a->wake_push, PROBE_INTERVAL_MS);
            continue;
        }
        int waiting = 0;
        int done = outbox_drain_once(a, s, ad, &waiting, &e);
        if (done < 0)
            log_error("outbox", "%s: %s", a->conf->name, e.msg);
        if (done > 0)
            continue;
        sync_sleep(g, &a->wake_push, waiting ? 250 : 1000);
    }
    worker_close(&w);
    return NULL;
}
