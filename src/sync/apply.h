/* apply.h - where adapters' records meet the store.
 *
 * Two sinks over struct sink (adapter.h):
 *  - the store sink writes each record at once (upsert by account + remote id, older never
 *    overwrites newer); used by the apply worker for webhook events, where an adapter may
 *    answer STORE_ENOPARENT by fetching the parent and putting it first;
 *  - the buffer sink deep-copies records so the poller can pull a page over the network
 *    and then commit the page and its cursor in one transaction, never holding the
 *    database's write lock across network I/O.
 * Drift reported by an adapter raises a schema_drift alert naming adapter, entity and
 * field; the record is not written.
 */
#ifndef PORTER_APPLY_H
#define PORTER_APPLY_H

#include "adapter.h"
#include "store.h"

struct apply_ctx {
    struct store *store; /* borrowed */
    int64_t account;
    const char *adapter; /* borrowed: for alert subjects */
    int64_t written;     /* records written */
    int64_t stale;       /* records older than what is stored */
    int64_t drifted;     /* records skipped for schema drift */
    int64_t orphans;     /* records whose parent is not stored yet */
};

void apply_store_sink(struct sink *sk, struct apply_ctx *ctx);

struct rec_buffer;

/* A sink that copies every record into *buf (created on first use). */
void apply_buffer_sink(struct sink *sk, struct rec_buffer **buf, struct apply_ctx *ctx);
/* Write the buffered records through the store sink (the caller holds the transaction).
 * Records whose parent is missing are counted in ctx->orphans, not fatal. */
int apply_buffer_commit(struct rec_buffer *buf, struct apply_ctx *ctx, struct err *e);
size_t apply_buffer_count(const struct rec_buffer *buf);
/* Buffered records of one entity. */
size_t apply_buffer_count_of(const struct rec_buffer *buf, enum entity ent);
void apply_buffer_free(struct rec_buffer **buf);

#endif
