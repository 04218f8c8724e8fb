/* model.h - porter's canonical records.
 *
 * Adapters turn each PMS's wire JSON into these records and back; the store persists them.
 * Every canonical enumeration is one X-macro list, from which the enum and its printable
 * (database) names are generated, so the two can never disagree.
 *
 * Records passed *into* the store (struct rec_*) borrow every string: the store copies what
 * it keeps. A NULL string means "not provided by the PMS" and leaves the stored value alone
 * (or the column default on insert). Times are Unix milliseconds (0 = unknown).
 */
#ifndef PORTER_MODEL_H
#define PORTER_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define CHANNEL_LIST(X)                                                                            \
    X(CH_SMS, "sms")                                                                               \
    X(CH_EMAIL, "email")                                                                           \
    X(CH_WHATSAPP, "whatsapp")                                                                     \
    X(CH_AIRBNB, "airbnb")                                                                         \
    X(CH_BOOKING, "booking")                                                                       \
    X(CH_VRBO, "vrbo")                                                                             \
    X(CH_OTA, "ota")                                                                               \
    X(CH_PORTAL, "portal")                                                                         \
    X(CH_PHONE, "phone")                                                                           \
    X(CH_NOTE, "note")                                                                             \
    X(CH_SYSTEM, "system")

#define DIRECTION_LIST(X)                                                                          \
    X(DIR_IN, "in")                                                                                \
    X(DIR_OUT, "out")                                                                              \
    X(DIR_NOTE, "note")                                                                            \
    X(DIR_SYSTEM, "system")

#define SEND_STATE_LIST(X)                                                                         \
    X(SEND_SYNCED, "synced")                                                                       \
    X(SEND_PENDING, "pending")                                                                     \
    X(SEND_FAILED, "failed")                                                                       \
    X(SEND_DEAD, "dead")

#define WO_STATUS_LIST(X)                                                                          \
    X(WO_NEW, "new")                                                                               \
    X(WO_ASSIGNED, "assigned")                                                                     \
    X(WO_SCHEDULED, "scheduled")                                                                   \
    X(WO_IN_PROGRESS, "in_progress")                                                               \
    X(WO_ON_HOLD, "on_hold")                                                                       \
    X(WO_COMPLETED, "completed")                                                                   \
    X(WO_CLOSED, "closed")                                                                         \
    X(WO_CANCELLED, "cancelled")

#define PRIORITY_LIST(X)                                                                           \
    X(PRIO_LOW, "low")                                                                             \
    X(PRIO_NORMAL, "normal")                                                                       \
    X(PRIO_HIGH, "high")                                                                           \
    X(PRIO_EMERGENCY, "emergency")

#define THREAD_KIND_LIST(X)                                                                        \
    X(THREAD_GUEST, "guest")                                                                       \
    X(THREAD_TENANT, "tenant")                                                                     \
    X(THREAD_OWNER, "owner")                                                                       \
    X(THREAD_OTHER, "other")

#define CONTACT_KIND_LIST(X)                                                                       \
    X(CONTACT_GUEST, "guest")                                                                      \
    X(CONTACT_TENANT, "tenant")                                                                    \
    X(CONTACT_OWNER, "owner")                                                                      \
    X(CONTACT_STAFF, "staff")                                                                      \
    X(CONTACT_OTHER, "other")

#define MODEL_ENUM_ITEM(id, name) id,
enum channel { CHANNEL_LIST(MODEL_ENUM_ITEM) CHANNEL_COUNT };
enum direction { DIRECTION_LIST(MODEL_ENUM_ITEM) DIRECTION_COUNT };
enum send_state { SEND_STATE_LIST(MODEL_ENUM_ITEM) SEND_STATE_COUNT };
enum wo_status { WO_STATUS_LIST(MODEL_ENUM_ITEM) WO_STATUS_COUNT };
enum priority { PRIORITY_LIST(MODEL_ENUM_ITEM) PRIORITY_COUNT };
enum thread_kind { THREAD_KIND_LIST(MODEL_ENUM_ITEM) THREAD_KIND_COUNT };
enum contact_kind { CONTACT_KIND_LIST(MODEL_ENUM_ITEM) CONTACT_KIND_COUNT };
#undef MODEL_ENUM_ITEM

/* Printable/database name of a value ("?" when out of range), and the reverse (-1 when the
 * name is unknown). */
const char *channel_name(enum channel v);
const char *direction_name(enum direction v);
const char *send_state_name(enum send_state v);
const char *wo_status_name(enum wo_status v);
const char *priority_name(enum priority v);
const char *thread_kind_name(enum thread_kind v);
const char *contact_kind_name(enum contact_kind v);
int channel_parse(const char *s);
int direction_parse(const char *s);
int send_state_parse(const char *s);
int wo_status_parse(const char *s);
int priority_parse(const char *s);
int thread_kind_parse(const char *s);
int contact_kind_parse(const char *s);

/* A work order's schedule window in local time: "Nov 23 09:00-11:00", "Nov 23 22:00 - Nov 24
 * 02:00", or "" when start is 0. */
void wo_window_fmt(int64_t start_ms, int64_t end_ms, char *out, size_t n);
/* Read a window typed in local time: "DATE HH:MM-HH:MM", "DATE HH:MM" (two hours) or
 * "DATE" (08:00-17:00), DATE being YYYY-MM-DD, "today" or "tomorrow" (relative to now_ms).
 * 0, or -1 with a reason in err[errn]. */
int wo_window_parse(const char *text, int64_t now_ms, int64_t *start_ms, int64_t *end_ms, char *err,
                    size_t errn);

/* ---- records as they come from a PMS (all strings borrowed) ---- */

struct rec_property {
    const char *remote_id; /* required */
    const char *name;
    const char *address;
    const char *timezone;
    int64_t remote_updated_at;
};

struct rec_unit {
    const char *remote_id;          /* required */
    const char *property_remote_id; /* NULL: a listing that is its own property */
    const char *name;
    int64_t remote_updated_at;
};

struct rec_contact {
    const char *remote_id; /* required */
    enum contact_kind kind;
    const char *name;
    const char *email;
    const char *phone;
    int64_t remote_updated_at;
};

struct rec_stay {
    const char *remote_id; /* required */
    int is_lease;          /* 0 reservation, 1 lease */
    const char *property_remote_id;
    const char *unit_remote_id;
    const char *contact_remote_id;
    const char *status;        /* canonical: inquiry, pending, confirmed, cancelled, ... */
    const char *remote_status; /* the PMS's own string */
    const char *channel;       /* channel_name() value */
    const char *arrival;       /* YYYY-MM-DD */
    const char *departure;
    int guests; /* 0 = unknown */
    const char *confirmation_code;
    int64_t remote_updated_at;
    const char *door_code; /* NULL: the PMS has none (a stored code is kept) */
};

struct rec_thread {
    const char *remote_id; /* required */
    enum thread_kind kind;
    const char *subject;
    const char *contact_remote_id;
    const char *stay_remote_id;
    const char *property_remote_id;
    const char *unit_remote_id;
    enum channel channel;
    int64_t remote_updated_at;
};

struct rec_message {
    const char *remote_id;        /* required */
    const char *thread_remote_id; /* required: the thread must already be stored */
    enum direction direction;
    enum channel channel;
    const char *author;
    const char *body;
    int64_t sent_at;
    const char *idem_key; /* when the PMS echoes porter's idempotency key */
    int64_t remote_updated_at;
};

struct rec_vendor {
    const char *remote_id; /* required */
    const char *name;
    const char *trade;
    const char *phone;
    const char *email;
    const char *insurance_expires; /* YYYY-MM-DD */
    int active;
    const char *const *preferred_property_remote_ids; /* borrowed; NULL-terminated or NULL */
    int64_t remote_updated_at;
};

struct rec_work_order {
    const char *remote_id; /* required for PMS records */
    const char *title;
    const char *description;
    enum wo_status status;
    const char *remote_status;
    int status_unknown; /* remote_status maps to no canonical status: the stored status stays
                           (new for a new record) and remote_status shows what the PMS said */
    enum priority priority;
    const char *trade;
    const char *property_remote_id;
    const char *unit_remote_id;
    const char *stay_remote_id;
    const char *thread_remote_id;
    const char *vendor_remote_id;
    int64_t schedule_start;
    int64_t schedule_end;
    const char *due_date;
    int64_t created_at;
    int64_t remote_updated_at;
};

/* A snooze typed by a person or a rule, at `now` (ms): "30m", "2h", "1d", "tomorrow" (09:00),
 * "YYYY-MM-DD" (09:00) or "YYYY-MM-DD HH:MM" (local time), "reply" (until the guest writes:
 * returns INT64_MAX), "" or "-" (wake: 0). -1 when it is none of these. */
int64_t snooze_parse(const char *s, int64_t now);

/* A duration: a positive whole number and a unit, s m h or d ("90s", "30m", "2h", "1d").
 * Milliseconds, or -1. */
int64_t duration_parse(const char *s);

#endif
