/* engine.h - the sync engine: the threads that keep the store and every PMS in sync.
 *
 * Per account: a poller (incremental pulls by cursor, on start and every poll_interval)
 * and pushers (the outbox: in order per lane, concurrently across lanes, within the
 * account's rate limit, with backoff, a circuit breaker and exactly-once lookups). Shared:
 * the webhook listener (libmicrohttpd; events committed before the 2xx) and the apply
 * worker (stored events -> records). Each thread has its own SQLite connection; threads
 * share no mutable data with the UI and wake it through the notify channel after commits.
 *
 * Exactly one process per database syncs: the engine holds the "sync" lease row, renewed
 * every few seconds; a process that is not the leader keeps its workers idle and takes the
 * lease over when the holder stops renewing it.
 */
#ifndef PORTER_ENGINE_H
#define PORTER_ENGINE_H

#include "config.h"
#include "notify.h"
#include "util.h"

struct engine;

/* ui may be NULL (headless). Reads accounts from c (borrowed for the engine's life). */
struct engine *engine_new(const struct config *c, const struct notify *ui, struct err *e);

/* Start the listener and the workers. 0, or -1 (e.g. an account names an unknown adapter;
 * the listener's port in use is an error only when webhooks are configured). */
int engine_start(struct engine *g, struct err *e);

/* Ask every thread to stop, wait for them, close everything. Safe to call twice. */
void engine_stop(struct engine *g);

/* One pass without threads: apply stored events, pull every account once, drain every
 * outbox until empty or only ops waiting for a later retry remain. */
int engine_run_once(struct engine *g, struct err *e);

/* porter doctor: for the i-th synced account (i < engine_accounts()), authenticate and read
 * one page of properties, discarding it. 0 with *ms the time taken, or -1 with *e saying
 * why (unreachable, refused credentials, ...). Writes nothing but a token the PMS issued. */
size_t engine_accounts(const struct engine *g);
const char *engine_account_name(const struct engine *g, size_t i);
int engine_probe(struct engine *g, size_t i, int64_t *ms, struct err *e);

/* Can the webhook listener bind [webhook] listen? 0 yes, 1 in use (a running porter has
 * it), -1 with *e (bad address, no permission). */
int engine_listen_check(const struct config *c, struct err *e);

/* 1 when this process currently holds the sync lease. */
int engine_is_leader(const struct engine *g);

/* Test hooks (the isync pattern): stop the process (_exit) right after the Nth durable
 * step, counted across threads, from $PORTER_CRASH_AFTER. */
void engine_step(const char *what);

void engine_free(struct engine **g);

#endif
