/* poll.c - the poller: incremental pulls by cursor, the safety net for missed webhooks.
 *
 * For each entity in the adapter's pull order: read the cursor, pull a page over the
 * network into a buffer, then commit the page's records and the next cursor in one
 * transaction (the cursor never runs ahead of what is stored). A page with a record whose
 * parent is not stored keeps the old cursor, so the next pass reads it again. Runs on
 * start and every poll_interval seconds, or at once when poked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "log.h"
#include "sync.h"

/* Account state after a failure of class r. */
static void mark_failure(struct acct *a, struct store *s, const struct err *err)
{
    struct err e;
    int auth = err->code == ADAPTER_EAUTH && err->retry == FINAL;
    if (auth || atomic_load(&a->open_until) == 0) /* an open circuit already says down */
        store_account_state(s, a->id, auth ? "auth_failed" : "degraded", err->msg, &e);
    store_metric(s, a->id, "failure", 1, &e);
    if (auth)
        store_alert(s, a->id, "auth_failed", a->conf->name, err->msg, &e);
}

static void count_rate_limited(struct acct *a, struct store *s, int64_t *seen)
{
    int64_t limited = 0, waited = 0;
    struct err e;
    ratelim_stats(a->rl, &limited, &waited);
    for (; *seen < limited; (*seen)++)
        store_metric(s, a->id, "rate_limited", 1, &e);
}

/* Pull one page with one re-authentication when the adapter asks for it. */
static int pull_page(struct adapter *ad, enum entity ent, const char *cursor, struct sink *sk,
                     char **next, struct err *e)
{
    int rc = ad->ops->pull(ad, ent, cursor, sk, next, e);
    if (rc < 0 && e->retry == RETRY_NOW) {
        if (ad->ops->auth(ad, e) != 0)
            return -1;
        rc = ad->ops->pull(ad, ent, cursor, sk, next, e);
    }
    return rc;
}

/* Mass-delete guard. porter never deletes what a PMS stops listing; but a walk that comes
 * back to its starting cursor (a complete pass over a list re-read every cycle) and saw
 * fewer than half of the records stored for that entity raises an alert: the PMS is
 * probably answering with an empty or truncated list, and someone should look. */
static void mass_delete_check(struct acct *a, struct store *s, enum entity ent, size_t seen)
{
    int64_t stored = 0;
    struct err e;
    if (store_entity_count(s, a->id, entity_name(ent), &stored, &e) != 0 || stored < 4 ||
        (int64_t)seen * 2 >= stored)
        return;
    char subject[64], msg[200];
    snprintf(subject, sizeof(subject), "%s/%s", a->ops->name, entity_name(ent));
    snprintf(msg, sizeof(msg),
             "%s listed %zu %s records where porter has %lld; nothing was deleted", a->conf->name,
             seen, entity_name(ent), (long long)stored);
    store_alert(s, a->id, "mass_delete", subject, msg, &e);
}

static int pull_entity(struct acct *a, struct store *s, struct adapter *ad, enum entity ent,
                       struct err *e)
{
    const char *name = entity_name(ent);
    char *cursor = NULL;
    if (store_cursor_get(s, a->id, name, &cursor, e) != 0)
        return -1;
    char *start = xstrdup(cursor ? cursor : "");
    size_t seen = 0;
    for (int pages = 0; pages < 100000 && !atomic_load(&a->g->stop); pages++) {
        struct rec_buffer *buf = NULL;
        struct apply_ctx ctx = {.store = s, .account = a->id, .adapter = a->ops->name};
        struct sink sk;
        apply_buffer_sink(&sk, &buf, &ctx);
        char *next = NULL;
        int more = pull_page(ad, ent, cursor && *cursor ? cursor : NULL, &sk, &next, e);
        if (more < 0) {
            apply_buffer_free(&buf);
            free(cursor);
            free(start);
            return -1;
        }
        int rc = store_begin(s, e);
        int advanced = 0;
        if (rc == 0)
            rc = apply_buffer_commit(buf, &ctx, e);
        if (rc == 0 && ctx.orphans == 0 && next) {
            rc = store_cursor_set(s, a->id, name, next, e);
            advanced = rc == 0;
        }
        if (rc == 0)
            rc = store_commit(s, e);
        if (rc != 0)
            store_rollback(s);
        size_t n = apply_buffer_count(buf);
        seen += apply_buffer_count_of(buf, ent) + (size_t)ctx.drifted;
        apply_buffer_free(&buf);
        if (rc != 0) {
            free(next);
            free(cursor);
            free(start);
            return -1;
        }
        /* the page's records and the cursor past them are durable together */
        engine_step(advanced ? "cursor advanced" : "page committed");
        if (ctx.written)
            sync_ui_poke(a->g);
        log_debug("poll", "%s %s: %zu records (%lld written, %lld orphans), more=%d", a->conf->name,
                  name, n, (long long)ctx.written, (long long)ctx.orphans, more);
        if (ctx.orphans) { /* keep the cursor: read this page again next pass */
            free(next);
            break;
        }
        free(cursor);
        cursor = next;
        if (more == 0) {
            if ((a->ops->full_walk & (1u << ent)) && *start && cursor && strcmp(cursor, start) == 0)
                mass_delete_check(a, s, ent, seen);
            break;
        }
    }
    free(cursor);
    free(start);
    return 0;
}

int poll_account(struct acct *a, struct store *s, struct adapter *ad, struct err *e)
{
    if (ad->ops->auth(ad, e) != 0) {
        mark_failure(a, s, e);
        return -1;
    }
    for (const enum entity *ent = a->ops->pull_order; *ent != ENTITY_COUNT; ent++) {
        /* A transient failure (a reset, a 503) is retried at once, a few times: the entity
         * resumes from its last committed page. Without it one failed request in a pass of
         * dozens fails the pass, and a PMS that answers most requests could never complete
         * the pull that closes an open circuit (the chaos test's lossy outage). */
        for (int tries = 0; pull_entity(a, s, ad, *ent, e) != 0; tries++) {
            /* a 429 is not retried here: the PMS said when to come back (Retry-After) */
            if (e->retry != RETRY_LATER || e->code == 429 || tries >= PULL_RETRIES ||
                atomic_load(&a->g->stop)) {
                mark_failure(a, s, e);
                return -1;
            }
            log_info("poll", "%s: %s; retrying the pull (%d of %d)", a->conf->name, e->msg,
                     tries + 1, PULL_RETRIES);
            sync_sleep(a->g, NULL, 200 * (tries + 1));
        }
    }
    struct err e2;
    store_account_touch(s, a->id, 0, &e2);
    if (atomic_load(&a->open_until) != 0)
        circuit_close(a, s); /* the PMS answers again: merged first, now the writes */
    else
        store_account_state(s, a->id, "ok", NULL, &e2);
    sync_ui_poke(a->g);
    return 0;
}

void *poll_main(void *arg)
{
    struct acct *a = arg;
    struct engine *g = a->g;
    struct err e;
    struct worker w;
    if (worker_open(a, "poll", &w) != 0)
        return NULL;
    struct store *s = w.s;
    struct adapter *ad = w.ad;
    int failures = 0;
    int64_t limited_seen = 0;
    while (!atomic_load(&g->stop)) {
        int64_t wait = (int64_t)a->conf->poll_interval * 1000;
        if (atomic_load(&g->leader)) {
            if (poll_account(a, s, ad, &e) == 0) {
                failures = 0;
            } else {
                log_warn("poll", "%s: %s (%s)", a->conf->name, e.msg, retry_class_name(e.retry));
                failures++;
                int64_t b = sync_backoff_ms(failures) + 1000;
                if (b < wait)
                    wait = b;
            }
            count_rate_limited(a, s, &limited_seen);
        } else {
            wait = LEASE_RENEW_MS;
        }
        sync_sleep(g, &a->wake_poll, wait);
    }
    worker_close(&w);
    return NULL;
}
