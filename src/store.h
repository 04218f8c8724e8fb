/* store.h - porter's SQLite store: the only module that speaks SQL.
 *
 * One struct store is one connection; every thread opens its own (SQLite is the only state
 * shared between threads). Connections run in WAL mode with busy_timeout, foreign keys on
 * and synchronous=FULL, so a commit that acknowledges a webhook or queues a write is on
 * disk before the function returns. Write transactions begin IMMEDIATE. Prepared statements
 * are cached per connection. The database file and its -wal/-shm files are created 0600.
 *
 * Error convention: functions return 0 (or a documented positive value) on success and -1
 * on failure with *e filled: e->code is the SQLite result code or one of STORE_E*, e->retry
 * is RETRY_LATER for SQLITE_BUSY/LOCKED and missing parents, FINAL otherwise.
 *
 * Upserts are keyed on (account, remote id) and are idempotent. A record whose
 * remote_updated_at is older than the stored one is ignored (STORE_STALE is returned), so
 * replays and out-of-order deliveries never move a row backwards. Only PMS-owned columns
 * are written by an upsert: local triage state (assignee, tags, snooze, done, read) is
 * never touched, except that a newly stored inbound message brings its thread back to the
 * inbox (done and snooze cleared) and counts as unread.
 */
#ifndef PORTER_STORE_H
#define PORTER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "util.h"

struct store;

/* Positive results of upserts. */
#define STORE_WRITTEN 0
#define STORE_STALE   1 /* the stored row is newer; nothing changed */

/* e->code values of our own (SQLite codes are < 256). */
#define STORE_ENOPARENT 1001 /* a referenced parent (thread, property...) is not stored yet */
#define STORE_ENEWER    1002 /* database written by a newer porter */
#define STORE_ENOTFOUND 1003 /* no such row */
#define STORE_EINVAL    1004 /* a required field is missing or a value is out of range */

/* The newest schema version this binary knows (the last migration in data/schema.sql). */
int store_latest_version(void);

/* Open (creating if needed) and migrate to the latest version. A database newer than this
 * binary is refused: e->code STORE_ENEWER, message naming both versions. */
struct store *store_open(const char *path, struct err *e);

/* Test hook: open and migrate only up to `version` (0 = empty database). */
struct store *store_open_version(const char *path, int version, struct err *e);

/* The schema version (PRAGMA user_version) of the open database. */
int store_version(struct store *s);

void store_close(struct store **s);

/* Transactions. store_begin is BEGIN IMMEDIATE; nesting is not supported. */
int store_begin(struct store *s, struct err *e);
int store_commit(struct store *s, struct err *e);
void store_rollback(struct store *s);

/* full 1: PRAGMA synchronous=FULL (the default: every commit is on disk when it returns);
 * full 0: NORMAL (in WAL mode a commit survives a crash of the process but may be lost at
 * a power failure). Only for connections whose commits can be redone: the sync workers'
 * pulls, applies and outbox completions (a lost completion costs one lookup at the PMS).
 * Never for a connection that acknowledges a webhook or queues a write. */
int store_synchronous(struct store *s, int full, struct err *e);

/* PRAGMA quick_check: 0 when the database is intact, else -1 with the first problem. */
int store_check(struct store *s, struct err *e);

/* PRAGMA data_version: changes when another connection commits. */
int64_t store_data_version(struct store *s);

/* ---- accounts ---- */

/* The id of account `name`, inserting it (with its adapter) if new. */
int store_account_ensure(struct store *s, const char *name, const char *adapter, int64_t *id,
                         struct err *e);

/* ---- upserts from the PMS (see the contract at the top) ----
 * Each returns STORE_WRITTEN or STORE_STALE, or -1. *id (optional) receives the local id. */
int store_property_upsert(struct store *s, int64_t account, const struct rec_property *r,
                          int64_t *id, struct err *e);
int store_unit_upsert(struct store *s, int64_t account, const struct rec_unit *r, int64_t *id,
                      struct err *e);
int store_contact_upsert(struct store *s, int64_t account, const struct rec_contact *r, int64_t *id,
                         struct err *e);
int store_stay_upsert(struct store *s, int64_t account, const struct rec_stay *r, int64_t *id,
                      struct err *e);
int store_thread_upsert(struct store *s, int64_t account, const struct rec_thread *r, int64_t *id,
                        struct err *e);
/* A message whose thread is not stored yet fails with STORE_ENOPARENT (RETRY_LATER). A
 * message carrying the idem_key of a message porter queued adopts that row (the echo of
 * porter's own write) instead of inserting a duplicate. Updates the thread's derived
 * columns (last message, preview, needs_reply, unread). A newly stored inbound message also
 * brings its thread back to the inbox: done = 0 and any snooze cleared (the guest wrote);
 * an outbound message, a note, or an update of a stored message does not. */
int store_message_upsert(struct store *s, int64_t account, const struct rec_message *r, int64_t *id,
                         struct err *e);
int store_vendor_upsert(struct store *s, int64_t account, const struct rec_vendor *r, int64_t *id,
                        struct err *e);
/* Work orders merge their status, a shared field, three ways against the last agreed value:
 * a local change still in the outbox is kept while the PMS has not moved; when both moved
 * to different values a conflict row records base, local and remote, and the field's rule
 * (field_owner, pms_wins by default) picks the winner; a pms_wins conflict retires the
 * pending op as failed with the reason. PMS-side status changes are written to wo_event. */
int store_work_order_upsert(struct store *s, int64_t account, const struct rec_work_order *r,
                            int64_t *id, struct err *e);

/* ---- inbox ---- */

/* Every thread list is ordered by a key that ends in the thread id, so the order is total
 * and a list is paged by keyset (rows strictly after or before a struct page_key), never by
 * OFFSET. Each sort walks an index of its own; per-row extras (pending, failed, sla_since)
 * are computed only for the rows returned. */
enum thread_sort {
    THREAD_SORT_NEWEST,  /* last message first: (last_message_at, id) descending */
    THREAD_SORT_WAITING, /* needs reply, longest waiting first (SLA order): (last_inbound_at,
                          * id) ascending; implies needs_reply */
    THREAD_SORT_INBOX,   /* needs_reply first, then last_message_at DESC, id DESC */
};

/* Which threads a list shows. Zero (or a NULL filter) is the default inbox: every account,
 * not done, not snoozed at the current time. Conditions combine with AND. */
struct thread_filter {
    int64_t account;        /* 0: all accounts */
    int needs_reply;        /* 1: only threads waiting for a reply */
    int include_done;       /* 1: include threads marked done */
    const char *assignee;   /* NULL: anyone; else exact match */
    const char *tag;        /* NULL: any; else threads carrying the tag (case-insensitive) */
    int unread;             /* 1: only threads with unread > 0 */
    int unassigned;         /* 1: only threads with no assignee */
    const char *channel;    /* NULL or "": any; else thread.channel (a channel_name()) */
    int64_t property;       /* property id (thread.property_id), 0 = any */
    const char *checkin_on; /* "YYYY-MM-DD": only threads whose stay arrives that day;
                             * NULL or "": any */
    const char *search;     /* only threads with a message matching this text, as in
                             * store_search (every word a prefix, FTS syntax is plain text);
                             * NULL, or text with no word in it: no condition */
    int64_t now;            /* ms, for the snooze test; 0: the current time */
    int include_snoozed;    /* 1: also threads with snoozed_until > now */
};

/* Keyset position in a thread list: the sort key and id of a row. `at` is last_message_at
 * (NEWEST, INBOX) or last_inbound_at, 0 when none (WAITING); `nr` is the row's needs_reply
 * (used by INBOX only). Copy it from a row's `key`. */
struct page_key {
    int64_t at;
    int64_t id;
    int nr;
};

struct thread_row {
    int64_t id;
    int64_t account;
    char *account_name; /* owned */
    char *remote_id;    /* owned */
    char *subject;      /* owned */
    char *contact;      /* owned: contact name or "" */
    char *property;     /* owned: property name or "" */
    char *unit;         /* owned: unit name or "" */
    char *channel;      /* owned */
    char *preview;      /* owned: last message, raw (sanitise before display) */
    char *assignee;     /* owned, may be NULL */
    char *tags;         /* owned: ",tag1,tag2," or "" */
    int64_t last_message_at;
    int64_t last_inbound_at;
    int needs_reply;
    int unread;
    int done;
    int message_count;
    int pending; /* messages of the thread still in the outbox */
    int failed;  /* messages that failed to send */
    struct page_key key;
    int64_t snoozed_until; /* ms; 0: not snoozed; STORE_SNOOZE_UNTIL_REPLY: until the guest
                            * writes. A time in the past means the snooze is over. */
    char *contact_first;   /* owned: first word of the contact name (for templates), or "" */
    int64_t property_id;   /* the thread's property (for the property filter), 0: none */
    int64_t sla_since;     /* 0 unless needs_reply; then the sent_at of the oldest unanswered
                            * inbound message: the first inbound after the thread's last
                            * outbound message (a queued reply counts as an answer; notes
                            * and system messages do not). Falls back to last_inbound_at
                            * when the messages do not tell (equal timestamps). */
};

struct thread_page {
    struct thread_row *rows; /* owned, in display order (top to bottom) */
    size_t n;
};

/* Up to `limit` threads strictly after `after` (NULL: from the top) in the given sort.
 * Each row's key can be passed back as `after` or `before`. */
int store_threads_page(struct store *s, const struct thread_filter *f, enum thread_sort sort,
                       const struct page_key *after, size_t limit, struct thread_page *out,
                       struct err *e);
/* Up to `limit` threads strictly before `before` in the sort (before NULL: the last `limit`
 * rows of the whole list), returned in display order (top to bottom): scrolling up and
 * jumping to the end without OFFSET. */
int store_threads_page_before(struct store *s, const struct thread_filter *f, enum thread_sort sort,
                              const struct page_key *before, size_t limit, struct thread_page *out,
                              struct err *e);
/* *rank = the number of threads of the list before `key` (the 0-based position of the row
 * whose key it is), for a "123/100000" indicator. A key of a row not in the list gives the
 * position it would have. */
int store_threads_rank(struct store *s, const struct thread_filter *f, enum thread_sort sort,
                       const struct page_key *key, int64_t *rank, struct err *e);
/* The number of threads `f` lets through, whatever the sort (THREAD_SORT_WAITING lists only
 * threads that need a reply: count that list with needs_reply = 1). */
int store_threads_count(struct store *s, const struct thread_filter *f, int64_t *count,
                        struct err *e);
void thread_page_free(struct thread_page *p);

/* One thread with what the conversation pane and reply templates need. Every char * is
 * owned and "" when unknown (never NULL once filled). */
struct thread_detail {
    struct thread_row t; /* the same row as in the list (its key is an INBOX/NEWEST key) */
    /* the thread's contact, else its stay's */
    char *guest_name, *guest_first, *guest_email, *guest_phone;
    int64_t stay; /* 0: no stay */
    /* stay_status: canonical (confirmed, cancelled...), "" also when 'unknown' */
    char *stay_status, *arrival, *departure, *door_code, *confirmation;
    int guests; /* 0: unknown */
    /* the thread's property and unit, else its stay's */
    char *property_name, *unit_name;
    /* who else has this thread open: the other `who`s (not `me`) whose heartbeat is within
     * STORE_PRESENCE_TTL_MS of `now`, sorted, ", "-separated; "" if nobody */
    char *presence;
    /* id of the newest inbound message (by sent_at, then id), 0 if none: remember it when
     * showing the thread; a different value before sending means an inbound message arrived
     * that the user has not seen */
    int64_t last_seen_inbound;
};

/* Fill *out (zeroed first) for thread `thread`. me: the caller's presence name (NULL: none);
 * now: ms (0: the current time). STORE_ENOTFOUND when there is no such thread. */
int store_thread_get(struct store *s, int64_t thread, const char *me, int64_t now,
                     struct thread_detail *out, struct err *e);
/* Free what *d owns and zero it; safe on a zeroed or already freed detail. */
void thread_detail_free(struct thread_detail *d);

/* ---- local triage (local-only fields: never pushed, no outbox op) ----
 * Each is one short transaction (a savepoint inside the caller's). A thread id that does
 * not exist fails with STORE_ENOTFOUND; a bad argument with STORE_EINVAL. The upsert from
 * the PMS never touches these fields, but a new inbound message un-dones and un-snoozes its
 * thread (see store_message_upsert). */

#define STORE_SNOOZE_UNTIL_REPLY INT64_MAX

/* who: the assignee; NULL or "": unassign. */
int store_thread_assign(struct store *s, int64_t thread, const char *who, struct err *e);
/* until: ms; 0: unsnooze; STORE_SNOOZE_UNTIL_REPLY: until the guest writes. Negative: EINVAL. */
int store_thread_snooze(struct store *s, int64_t thread, int64_t until, struct err *e);
/* Tags are kept as ",a,b," in the order added, lower-cased. tag: 1-32 characters of
 * [A-Za-z0-9_-], else STORE_EINVAL. add 1: add (no duplicate); 0: remove (absent: no-op). */
int store_thread_tag(struct store *s, int64_t thread, const char *tag, int add, struct err *e);
/* done 1: out of the default inbox until a new inbound message; 0: back in. */
int store_thread_done(struct store *s, int64_t thread, int done, struct err *e);
/* Mark read: unread = 0. */
int store_thread_read(struct store *s, int64_t thread, struct err *e);

/* ---- failed replies ---- */

/* A reply or note whose send failed (send_state failed or dead): queue it again. Its outbox
 * op goes back to pending, due now, attempts kept (an earlier attempt may have landed, so
 * the pusher looks it up at the PMS before sending); the message shows pending. One
 * transaction. STORE_ENOTFOUND: no such message; STORE_EINVAL: it has not failed. */
int store_message_retry(struct store *s, int64_t msg, struct err *e);
/* Give up a reply or note whose send failed: the message is deleted, its outbox op retired
 * ('dead', "discarded") so it is never sent, and the thread's derived columns (count, last
 * message, preview, needs_reply, SLA start) are recomputed from the messages left. One
 * transaction. Errors as store_message_retry. */
int store_message_discard(struct store *s, int64_t msg, struct err *e);

/* ---- presence: who has which thread open (the collision guard) ---- */

/* A presence row counts while its heartbeat is younger than this. */
#define STORE_PRESENCE_TTL_MS 30000

/* `who` (one porter process, e.g. "sam@host:pid") has `thread` open at `now` (ms; 0: the
 * current time): insert or refresh the heartbeat, and drop who's rows for other threads
 * (one open thread per process). Rows of anyone gone quiet for 10 minutes are purged.
 * STORE_ENOTFOUND when there is no such thread; STORE_EINVAL when who is NULL or "". */
int store_presence_touch(struct store *s, int64_t thread, const char *who, int64_t now,
                         struct err *e);
/* `who` closed its thread (or exits): its rows are deleted. */
int store_presence_leave(struct store *s, const char *who, struct err *e);

struct message_row {
    int64_t id;
    char *remote_id; /* owned, may be NULL */
    enum direction direction;
    char *channel; /* owned */
    char *author;  /* owned */
    char *body;    /* owned: raw (sanitise before display) */
    int64_t sent_at;
    enum send_state send_state;
    char *send_error; /* owned, may be NULL */
    char *idem_key;   /* owned, may be NULL */
};

struct message_list {
    struct message_row *rows; /* owned, oldest first */
    size_t n;
};

int store_messages(struct store *s, int64_t thread, struct message_list *out, struct err *e);
void message_list_free(struct message_list *l);

struct search_hit {
    int64_t message;
    int64_t thread;
    char *snippet; /* owned: body excerpt with matches between [ and ] */
};

struct search_hits {
    struct search_hit *rows; /* owned, best match first */
    size_t n;
};

/* Full-text search of message bodies and authors. Every word of `query` must match (as a
 * prefix); FTS syntax in the query is treated as plain text, so any input is safe. */
int store_search(struct store *s, const char *query, size_t limit, struct search_hits *out,
                 struct err *e);
void search_hits_free(struct search_hits *h);

/* ---- work orders ---- */

struct wo_row {
    int64_t id;
    int64_t account;
    char *remote_id; /* owned, may be NULL (not yet created at the PMS) */
    char *title;     /* owned */
    enum wo_status status;
    enum priority priority;
    char *trade;    /* owned */
    char *property; /* owned: name or "" */
    char *unit;     /* owned: name or "" */
    char *vendor;   /* owned: name or "" */
    int64_t thread;
    char *sync_state; /* owned: synced | pending | failed */
    char *sync_error; /* owned, may be NULL */
    int64_t created_at;
    int64_t updated_at;
    char *assignee;                       /* owned: the coordinator who owns it, or "" */
    int64_t schedule_start, schedule_end; /* ms, 0 when not scheduled */
};

struct wo_list {
    struct wo_row *rows; /* owned */
    size_t n;
};

/* Work orders in `status` (or every status when status < 0), emergencies first, then oldest
 * first: the order of a board column. */
int store_work_orders(struct store *s, int status, size_t limit, struct wo_list *out,
                      struct err *e);
void wo_list_free(struct wo_list *l);
/* The same, narrowed (a column of the board under a filter): emergencies only; due before
 * a "YYYY-MM-DD" date (overdue); a substring of the title, property, unit, vendor or
 * trade (any text is safe). */
struct wo_filter {
    int emergency;
    const char *overdue_before;
    const char *text;
    const char *assignee; /* "mine": work orders whose coordinator is this name */
};
int store_work_orders_filtered(struct store *s, int status, const struct wo_filter *f, size_t limit,
                               struct wo_list *out, struct err *e);
/* Work orders per canonical status (counts[WO_STATUS_COUNT]), for column headers. */
int store_work_order_counts(struct store *s, int64_t *counts, struct err *e);

/* ---- local writes: the change and its outbox op commit together ---- */

/* Queue a reply (DIR_OUT) or internal note (DIR_NOTE) on a thread: a pending message and an
 * outbox op ('reply' / 'note') with the same idempotency key, in one transaction.
 * idem_key may be NULL (a random key is made). *msg (optional) gets the message id. */
int store_queue_reply(struct store *s, int64_t thread, enum direction dir, enum channel ch,
                      const char *author, const char *body, const char *idem_key, int64_t *msg,
                      struct err *e);

/* Change a work order's status from porter: the row (sync_state pending), a wo_event and an
 * outbox op 'wo_status', in one transaction. */
int store_queue_wo_status(struct store *s, int64_t wo, enum wo_status status, const char *actor,
                          struct err *e);

/* Create a work order from porter (remote_id NULL until pushed): the row, a 'created'
 * wo_event and an outbox op 'wo_create', in one transaction. */
int store_queue_wo_create(struct store *s, int64_t account, const char *title,
                          const char *description, enum priority prio, int64_t thread,
                          const char *actor, int64_t *wo, struct err *e);

/* Vendors who can take work order `wo`: same account, active, of the work order's trade
 * (every trade when all_trades or the work order has none), the property's preferred ones
 * first. insurance_expires is "YYYY-MM-DD" or "". */
struct vendor_row {
    int64_t id;
    char *name, *trade, *phone, *insurance_expires; /* owned */
    int preferred;
};
struct vendor_list {
    struct vendor_row *rows; /* owned */
    size_t n;
};
int store_vendors_for_wo(struct store *s, int64_t wo, int all_trades, struct vendor_list *out,
                         struct err *e);
void vendor_list_free(struct vendor_list *l);

/* Dispatch a vendor: the work order's vendor, a wo_event and an outbox op 'wo_vendor', in
 * one transaction. */
int store_queue_wo_vendor(struct store *s, int64_t wo, int64_t vendor, const char *actor,
                          struct err *e);

/* A work order's description and its history (wo_event), oldest first: who, what, when,
 * and whether it came from porter, the PMS or a rule. */
struct wo_event_row {
    int64_t at;
    char *kind, *old_value, *new_value, *actor, *origin; /* owned, "" when unknown */
    /* owned: where porter's change landed: NULL not yet pushed, "" kept in porter (the PMS
     * has no place for it: work-order notes), else the PMS's id or "pms" */
    char *remote_id;
};
struct wo_detail {
    char *description;           /* owned */
    struct wo_event_row *events; /* owned */
    size_t n;
};
int store_wo_detail(struct store *s, int64_t wo, struct wo_detail *out, struct err *e);
void wo_detail_free(struct wo_detail *d);

/* Change a work order's priority from porter: the row, a wo_event and an outbox op
 * 'wo_priority', in one transaction. */
int store_queue_wo_priority(struct store *s, int64_t wo, enum priority prio, const char *actor,
                            struct err *e);

/* Set a work order's schedule window (ms, start < end): the row, a wo_event and an outbox
 * op 'wo_schedule', in one transaction. */
int store_queue_wo_schedule(struct store *s, int64_t wo, int64_t start, int64_t end,
                            const char *actor, struct err *e);

/* Add a note to a work order's history and queue 'wo_note' (the PMS keeps it where it has
 * a place for it; otherwise the note stays in porter, labelled so). */
int store_queue_wo_note(struct store *s, int64_t wo, const char *body, const char *actor,
                        struct err *e);

/* The coordinator who owns a work order (a local field: never pushed); NULL or "" clears.
 * Recorded in the history. */
int store_wo_assign(struct store *s, int64_t wo, const char *assignee, const char *actor,
                    struct err *e);

/* Number of outbox ops in a state ("pending", "sent", ...) for an account (0: all). */
int store_outbox_count(struct store *s, int64_t account, const char *state, int64_t *n,
                       struct err *e);

/* ---- inbound events ---- */

/* Store a raw webhook event, deduplicated on (account, event_id). Returns 0 when stored,
 * 1 when it was a duplicate (nothing written), -1 on error. Durable on return. */
int store_inbound_put(struct store *s, int64_t account, const char *event_id, const char *kind,
                      const char *body, struct err *e);

/* ---- sync engine: outbox ---- */

struct outbox_row {
    int64_t id;
    int64_t account;
    char *entity; /* owned: message | work_order | thread */
    int64_t entity_id;
    char *op;        /* owned */
    char *payload;   /* owned */
    char *idem_key;  /* owned */
    char *remote_id; /* owned: the entity's remote id, may be NULL */
    int attempts;
    int64_t created_at;
};

struct outbox_batch {
    struct outbox_row *rows; /* owned */
    size_t n;
};

/* Claim up to `limit` ops of `account` that are due (next_attempt_at <= now) and first in
 * their lane (no earlier op of the same lane is unfinished): they become 'inflight' and
 * their attempt is counted durably *before* anything is sent. A row's attempts is the
 * number of earlier attempts: > 0 means one may have landed (a crash, a timeout), so the
 * pusher looks it up at the PMS before sending again. */
int store_outbox_claim(struct store *s, int64_t account, int64_t now, size_t limit,
                       struct outbox_batch *out, struct err *e);
void outbox_batch_free(struct outbox_batch *b);

/* At start-up: every 'inflight' op of the account back to 'pending' (attempts kept). */
int store_outbox_recover(struct store *s, int64_t account, struct err *e);

/* The op landed: 'sent', and its entity adopts the remote id (message synced, work order
 * synced). `local_only`: the PMS has no place for it; the row is kept and labelled local. */
int store_outbox_done(struct store *s, int64_t op, const char *remote_id, int local_only,
                      struct err *e);
/* Transient failure: back to 'pending' at next_attempt_at, error kept. */
int store_outbox_retry(struct store *s, int64_t op, int64_t next_attempt_at, const char *error,
                       struct err *e);
/* Permanent failure: 'failed' with the PMS's message, shown on the message or card. */
int store_outbox_fail(struct store *s, int64_t op, const char *error, struct err *e);
/* Every pending op of the account is due now (the PMS came back after an outage: ops that
 * were backing off because of it should not wait out their backoff). */
int store_outbox_wake(struct store *s, int64_t account, struct err *e);
/* Oldest pending op's created_at (0 when none) and number of unfinished ops. */
int store_outbox_depth(struct store *s, int64_t account, int64_t *depth, int64_t *oldest,
                       struct err *e);

/* Set who owns entity.field: owner pms | local | shared, rule pms_wins | local_wins. The
 * work-order status merge reads it (see store_work_order_upsert). */
int store_field_owner_set(struct store *s, const char *entity, const char *field, const char *owner,
                          const char *rule, struct err *e);

/* ---- sync engine: inbound events ---- */

struct inbound_row {
    int64_t id;
    int64_t account;
    char *kind; /* owned */
    char *body; /* owned */
    int attempts;
    int64_t received_at;
};

struct inbound_batch {
    struct inbound_row *rows; /* owned */
    size_t n;
};

/* Events of any account in state new/retry that are due, oldest first. */
int store_inbound_due(struct store *s, int64_t now, size_t limit, struct inbound_batch *out,
                      struct err *e);
void inbound_batch_free(struct inbound_batch *b);
/* state: "applied" (latency sample recorded), "retry" (at next_attempt_at) or
 * "quarantined" (with the reason). */
int store_inbound_mark(struct store *s, int64_t event, const char *state, int64_t next_attempt_at,
                       const char *error, struct err *e);

/* ---- sync engine: cursors, accounts, tokens, lease, health ---- */

/* The cursor of (account, entity) into *cursor (owned; NULL when none). */
int store_cursor_get(struct store *s, int64_t account, const char *entity, char **cursor,
                     struct err *e);
int store_cursor_set(struct store *s, int64_t account, const char *entity, const char *cursor,
                     struct err *e);

/* Account state: unknown | ok | degraded | down | auth_failed, with a reason. */
int store_account_state(struct store *s, int64_t account, const char *state, const char *reason,
                        struct err *e);
/* Record a successful pull or a received webhook (now). */
int store_account_touch(struct store *s, int64_t account, int webhook, struct err *e);
int store_account_circuit(struct store *s, int64_t account, const char *circuit, struct err *e);

int store_token_get(struct store *s, int64_t account, char **token, int64_t *expires_at,
                    struct err *e);
int store_token_put(struct store *s, int64_t account, const char *token, int64_t expires_at,
                    struct err *e);
int store_token_mints(struct store *s, int64_t account, int64_t since, int64_t *n, struct err *e);

/* The sync lease `name`: take it when free or stale (expires_at < now), or renew it when
 * `holder` has it. Returns 1 when held by `holder` after the call, 0 when someone else
 * holds it, -1 on error. */
int store_lease(struct store *s, const char *name, const char *holder, int64_t ttl_ms,
                struct err *e);
int store_lease_release(struct store *s, const char *name, const char *holder, struct err *e);

/* Rows of an entity ("property", "unit", "contact", "stay", "thread", "message", "vendor",
 * "work_order") that the account has from its PMS (remote id set). */
int store_entity_count(struct store *s, int64_t account, const char *entity, int64_t *n,
                       struct err *e);

/* A metric sample (latency in ms, a counter increment...). */
int store_metric(struct store *s, int64_t account, const char *name, double value, struct err *e);

/* Raise (or repeat: count + 1, last_seen now) an alert. account 0: global. */
int store_alert(struct store *s, int64_t account, const char *kind, const char *subject,
                const char *message, struct err *e);

struct health_row {
    int64_t account;
    char *name;    /* owned */
    char *adapter; /* owned */
    char *state;   /* owned */
    char *reason;  /* owned, may be NULL */
    char *circuit; /* owned */
    int64_t last_pull_at, last_webhook_at;
    double lat_p50, lat_p95, lat_max; /* webhook-to-committed, ms, last hour */
    int64_t outbox_depth, outbox_oldest;
    int64_t failures, rate_limited; /* last 24 h */
    int64_t open_alerts;
};

struct health {
    struct health_row *rows; /* owned */
    size_t n;
};

int store_health(struct store *s, struct health *out, struct err *e);
void health_free(struct health *h);

/* ---- the health view: alerts, conflicts, failed writes, ownership ---- */

struct alert_row {
    int64_t id;
    char *account;                  /* owned: name, "" for a global alert */
    char *kind, *subject, *message; /* owned */
    int64_t first_seen, last_seen, count, acked_at;
};
struct alert_list {
    struct alert_row *rows; /* owned: open ones first, newest first */
    size_t n;
};
int store_alerts(struct store *s, int include_acked, size_t limit, struct alert_list *out,
                 struct err *e);
void alert_list_free(struct alert_list *l);
int store_alert_ack(struct store *s, int64_t alert, struct err *e);

struct conflict_row {
    int64_t id, row_id;
    char *account, *entity, *field, *title;      /* owned; title: the work order's */
    char *base, *local, *remote, *winner, *rule; /* owned, may be "" */
    int64_t created_at;
};
struct conflict_list {
    struct conflict_row *rows; /* owned: unresolved, oldest first */
    size_t n;
};
int store_conflicts(struct store *s, size_t limit, struct conflict_list *out, struct err *e);
void conflict_list_free(struct conflict_list *l);
/* Settle a conflict: keep porter's value (keep_local: set it and queue it for the PMS) or
 * the PMS's (set it locally; queued for the PMS only if porter's value had won and gone
 * out). The conflict is marked resolved with what was chosen, in one transaction. */
int store_conflict_resolve(struct store *s, int64_t conflict, int keep_local, const char *actor,
                           struct err *e);

struct op_row {
    int64_t id, entity_id;
    char *account, *entity, *op, *state, *error, *what; /* owned; what: the text or status */
    int attempts;
    int64_t created_at;
};
struct op_list {
    struct op_row *rows; /* owned: failed and dead ops, newest first */
    size_t n;
};
int store_failed_ops(struct store *s, size_t limit, struct op_list *out, struct err *e);
void op_list_free(struct op_list *l);
/* A failed op again (pending, due now), or dropped (dead, "discarded"). Replies go through
 * store_message_retry/discard so that the message row follows. */
int store_op_retry(struct store *s, int64_t op, struct err *e);
int store_op_discard(struct store *s, int64_t op, struct err *e);
/* Edit a failed write: discard it and queue `text` in its place (a reply or note's text, a
 * status, a priority, a schedule window "YYYY-MM-DD HH:MM-HH:MM", a work-order note), in
 * one transaction. Other ops (create, dispatch) are refused: retry or discard them. */
int store_op_edit(struct store *s, int64_t op, const char *text, const char *actor, struct err *e);

struct owner_row {
    char *entity, *field, *owner, *rule; /* owned */
};
struct owner_list {
    struct owner_row *rows; /* owned */
    size_t n;
};
int store_field_owners(struct store *s, struct owner_list *out, struct err *e);
void owner_list_free(struct owner_list *l);

/* ---- automations (src/rules.c, docs/automations.md) ----
 *
 * The triggers of schema migration 4 journal what happens (a message in, a reservation
 * made, changed or cancelled, a work order made or moved or scheduled, an alert) into
 * rule_event, in the transaction of the change. The rules worker reads the new ones in
 * order, up to 64 in one transaction, and for each: the actions of every rule that matches (through
 * the same store_queue_* calls as a person's), one rule_fire row per (rule, event) (UNIQUE:
 * a rule fires at most once per event), and the event marked done. */

/* One journaled event with what the rules' conditions and templates read. Strings are
 * owned and "" when unknown; ids 0 when there is none. */
struct rule_event_row {
    int64_t id, at, account, thread, message, stay, wo, alert, cause_fire;
    int depth;
    char *kind, *old_value, *new_value, *actor, *origin;
    char *account_name, *adapter;
    char *thread_kind, *channel, *subject, *assignee, *tags; /* the thread */
    int64_t snoozed_until;
    char *text; /* the message */
    int64_t sent_at;
    char *property, *unit;
    char *stay_status, *arrival, *departure, *confirmation, *door_code;
    char *guest_name, *guest_first;
    char *wo_title, *wo_status, *wo_priority, *wo_trade, *wo_assignee, *vendor;
    int64_t wo_vendor, window_start, window_end;
    char *alert_kind, *alert_subject, *alert_message;
};
struct rule_event_list {
    struct rule_event_row *rows; /* owned */
    size_t n;
};
/* The oldest new events (id order) that are ready at `now`, at most limit. Not ready yet: a
 * work-order status porter set whose write the PMS has not answered; a stay's event whose
 * thread has not arrived (for up to a minute). */
int store_rule_events(struct store *s, int64_t now, size_t limit, struct rule_event_list *out,
                      struct err *e);
/* One event by id, whatever its state (for `porter rules test` and tests). */
int store_rule_event_get(struct store *s, int64_t id, struct rule_event_list *out, struct err *e);
void rule_event_list_free(struct rule_event_list *l);
/* Journal a synthetic event (porter rules test: inside a transaction rolled back after). */
int store_rule_event_add(struct store *s, const char *kind, int64_t account, int64_t thread,
                         int64_t message, int64_t stay, int64_t wo, const char *old_value,
                         const char *new_value, int64_t *id, struct err *e);
int store_rule_event_done(struct store *s, int64_t event, struct err *e);
/* The highest event id (0 when none): the watermark before a rule's actions. */
int store_rule_event_max(struct store *s, int64_t *max, struct err *e);
/* Events journaled after `after` were made by firing `fire`: record it and their depth. */
int store_rule_events_caused(struct store *s, int64_t after, int64_t fire, int depth,
                             struct err *e);
/* The rule that made the event of firing `fire`, and that firing's own event's cause:
 * walks a chain of rule-made events. *rule owned. */
int store_rule_fire_cause(struct store *s, int64_t fire, char **rule, int64_t *cause,
                          struct err *e);
/* 1 when `rule` already fired for `event`, else 0; -1 on error. */
int store_rule_fired(struct store *s, const char *rule, int64_t event, struct err *e);
int store_rule_fire_add(struct store *s, const char *rule, int64_t event, const char *outcome,
                        const char *summary, const char *error, int64_t *fire, struct err *e);
int store_rule_fire_set(struct store *s, int64_t fire, const char *outcome, const char *summary,
                        const char *error, struct err *e);
int store_rule_action_add(struct store *s, int64_t fire, const char *action, const char *entity,
                          int64_t entity_id, const char *old_value, const char *new_value,
                          const char *state, const char *detail, int64_t *id, struct err *e);
int store_rule_action_set(struct store *s, int64_t action, const char *state, const char *detail,
                          struct err *e);
/* Journal the time-based events due at `now`, once each (their key is UNIQUE):
 *   checkin / checkout: stays arriving / leaving on `today` ("YYYY-MM-DD", local), not
 *     cancelled, of imported accounts;
 *   sla: threads waiting for a reply since at least after_ms and at most max_age_ms
 *     (new_value = after_ms), not done, not snoozed.
 * kind is "checkin", "checkout" or "sla". Returns the number journaled, or -1. */
int store_rule_time_events(struct store *s, const char *kind, const char *today, int64_t now,
                           int64_t after_ms, int64_t max_age_ms, struct err *e);
/* Forget handled events older than `before` that no rule fired for (the journal stays
 * small: every message in is an event). Returns how many, or -1. */
int store_rule_prune(struct store *s, int64_t before, struct err *e);
/* Set a porter-made work order's trade and source message (local classification fields). */
int store_wo_classify(struct store *s, int64_t wo, const char *trade, int64_t message,
                      struct err *e);
/* The vendor a rule dispatches for work order `wo`: active, of `trade` (case-insensitive;
 * "" any), insurance not expired on `today`; preferred at the work order's property first.
 * preferred_only: only those. 1 with *vendor and *name (owned) set, 0 when none fits, -1. */
int store_rule_vendor(struct store *s, int64_t wo, const char *trade, int preferred_only,
                      const char *today, int64_t *vendor, char **name, struct err *e);

/* What the automations did: per rule, and the firings newest first. */
struct rule_stat_row {
    char *rule; /* owned */
    int64_t fired, errors, skipped, last_at;
    char *last_summary, *last_error; /* owned */
};
struct rule_stat_list {
    struct rule_stat_row *rows; /* owned */
    size_t n;
};
int store_rule_stats(struct store *s, struct rule_stat_list *out, struct err *e);
void rule_stat_list_free(struct rule_stat_list *l);

struct rule_action_row {
    int64_t id, entity_id;
    char *action, *entity, *old_value, *new_value, *state, *detail; /* owned */
};
struct rule_fire_row {
    int64_t id, event, at, undone_at;
    char *rule, *outcome, *summary, *error, *event_kind, *undone_by; /* owned */
    struct rule_action_row *actions;                                 /* owned */
    size_t nactions;
};
struct rule_fire_list {
    struct rule_fire_row *rows; /* owned */
    size_t n;
};
/* Firings newest first (fire 0), or just firing `fire`; with their actions. */
int store_rule_fires(struct store *s, int64_t fire, size_t limit, struct rule_fire_list *out,
                     struct err *e);
void rule_fire_list_free(struct rule_fire_list *l);
int store_rule_fire_undone(struct store *s, int64_t fire, const char *who, struct err *e);
/* Notify commands recorded but not run (state queued), oldest first; a 'running' one left by
 * a crash is marked failed ("porter stopped while it ran: not run again"). */
int store_rule_commands(struct store *s, size_t limit, struct rule_fire_list *out, struct err *e);
/* The highest rule_action id of a bell (0 when none): the interface rings when it grows. */
int store_rule_bell_max(struct store *s, int64_t *max, struct err *e);

/* Take back a queued reply, note or work order no request has carried yet (every op of it
 * pending, never attempted): the ops retired ('dead', "withdrawn"), the message or work
 * order deleted (a thread's derived columns recomputed). 1 withdrawn; 0 too late (a request
 * has gone, or it is synced); -1. */
int store_message_withdraw(struct store *s, int64_t msg, struct err *e);
int store_wo_withdraw(struct store *s, int64_t wo, struct err *e);
/* One column of a thread, work order or message as text (*value owned, NULL when the row
 * or value is absent). Only the columns the automations read back are allowed. */
int store_field_get(struct store *s, const char *entity, int64_t id, const char *field,
                    char **value, struct err *e);
/* The id of the account named `name`: 1 found, 0 none, -1. */
int store_account_find(struct store *s, const char *name, int64_t *id, struct err *e);
/* An open work order of `thread` made by `actor` within `within_ms` of now: 1 with *wo, 0. */
int store_wo_open_by(struct store *s, int64_t thread, const char *actor, int64_t within_ms,
                     int64_t *wo, struct err *e);

#endif
