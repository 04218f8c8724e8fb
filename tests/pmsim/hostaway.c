/* hostaway.c - pmsim's Hostaway dialect (Public API v1, base path /v1).
 *
 * Facts: /work/shared/reference/pms-apis-vacation-rental.md section 1. What is reproduced:
 *
 *   auth      POST /v1/accessTokens (form: grant_type=client_credentials, client_id = the
 *             account id, client_secret, scope=general) -> {"token_type":"Bearer",
 *             "expires_in":15897600,"access_token":"<JWT>"}. UNCONFIRMED wrapped form
 *             {"status":"success","result":{...}} when the flag wrap_token is on. A token is
 *             valid only 1 s after it is returned; earlier, unknown, revoked, expired or
 *             missing -> 403 {"status":"fail","message":"..."}. Bad client credentials ->
 *             403 with the same fail body (UNCONFIRMED: the docs do not say; 401 is possible).
 *             DELETE /v1/accessTokens?token= revokes -> {"status":"success","result":[]}.
 *   envelope  {"status":"success","result":...} and, for lists, count (total after filters),
 *             limit, offset, page, totalPages (limit/offset null when not given). Booleans are
 *             0/1, times "YYYY-MM-DD HH:MM:SS" UTC, ids integers. Errors carry the text under
 *             "message" (auth, 429, 404) or under "result" (validation), both seen in the wild.
 *   routes    GET /v1/listings[/{id}], GET /v1/reservations[/{id}] (limit default 100,
 *             offset, afterId cursor that ignores offset, sortOrder, latestActivityStart/End =
 *             the only updated-since filter, listingId, channelId, match, arrival/departure
 *             ranges), PUT /v1/reservations/{id}, GET /v1/reservations/{id}/conversations,
 *             GET /v1/conversations[/{id}] (limit/offset, reservationId; no updated-since),
 *             GET/POST /v1/conversations/{id}/messages[/{messageId}] (limit/offset; no date
 *             filter; only status=sent unless includeScheduledMessages=1), GET/POST
 *             /v1/tasks, GET/PUT/DELETE /v1/tasks/{id}, GET /v1/users[/{id}].
 *   limits    15 requests / 10 s per client IP and 20 / 10 s per account; 429 with the fail
 *             body and no headers (Retry-After is undocumented: sent only when the flag
 *             retry_after is on).
 *   webhooks  unified payloads {"object","event","accountId","data"}: reservation.created,
 *             reservation.updated, message.received. Optional HTTP Basic auth from the
 *             webhook secret "user:pass"; no body signature exists. Hostaway has no task
 *             webhooks, so task writes emit none.
 *
 * Defaults (overridable by the fixture's "credentials" and by --client-id/--client-secret/
 * --webhook-secret): client_id "10450", client_secret HOSTAWAY_SECRET below, webhook Basic
 * auth "porter:change-me".
 *
 * Switches (fixture "credentials" object, or POST /_sim/inject {"kind":"config", ...}):
 *   wrap_token     answer the token endpoint in the wrapped form (UNCONFIRMED variant)
 *   retry_after    send Retry-After with 429 (undocumented; off by default)
 *   echo_outgoing  also send message.received for messages the host sent (isIncoming 0);
 *                  UNCONFIRMED whether Hostaway does; on by default so clients must dedupe
 * Locked reservations (PUT -> 403 fail, the 3P-reported overloaded 403) are listed in
 * "locked" of the same config ("_hostaway" in /_sim/state) or added by inject.
 *
 * The scenario clock starts at UTC midnight of the day pmsim starts (so two runs with the
 * same seed give the same world) and moves 5 s to 2 min per /_sim/tick; with --rate it
 * follows the wall clock instead (stamps are then real times). Fixture times are shifted
 * by whole days so that the newest fixture activity falls on the day before. Every write
 * moves the clock 1 s so that no two writes share a stamp.
 *
 * Inject kinds: message {conversationId?, body?, communicationType?}, task_status {id,
 * status}, reservation {listingMapId?, channelId?, status?, guestFirstName?, guestLastName?,
 * arrivalDate?, departureDate?}, reservation_status {id, status}, lock_reservation {id},
 * expire_tokens {}, config {wrap_token?, retry_after?, echo_outgoing?}.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pmsim.h"
#include "util.h"

#define HOSTAWAY_CLIENT_ID "10450"
#define HOSTAWAY_SECRET    "c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d"
#define HOSTAWAY_WEBHOOK   "porter:change-me"
#define TOKEN_TTL_S        15897600
#define DAY_MS             86400000LL

static const char *const RES_STATUSES[] = {"new",
                                           "modified",
                                           "cancelled",
                                           "ownerStay",
                                           "pending",
                                           "awaitingPayment",
                                           "declined",
                                           "expired",
                                           "unconfirmed",
                                           "awaitingGuestVerification",
                                           "inquiry",
                                           "inquiryPreapproved",
                                           "inquiryDenied",
                                           "inquiryTimedout",
                                           "inquiryNotPossible",
                                           "unknown"};
static const char *const TASK_STATUSES[] = {"pending", "confirmed", "inProgress", "completed",
                                            "cancelled"};
static const char *const COMM_TYPES[] = {"email", "channel", "sms", "whatsapp"};

static int in_list(const char *s, const char *const *v, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, v[i]) == 0)
            return 1;
    return 0;
}

/* ---- config, clock, ids ---- */

static cJSON *cfg(struct sim_account *a)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(a->world, "_hostaway");
    if (!c) {
        c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "wrap_token", 0);
        cJSON_AddNumberToObject(c, "retry_after", 0);
        cJSON_AddNumberToObject(c, "echo_outgoing", 1);
        cJSON_AddItemToObject(c, "locked", cJSON_CreateArray());
        cJSON_AddItemToObject(a->world, "_hostaway", c);
    }
    return c;
}

static int truthy(const cJSON *v)
{
    return cJSON_IsTrue(v) || (cJSON_IsNumber(v) && v->valuedouble != 0);
}

static int cfg_flag(struct sim_account *a, const char *name)
{
    return truthy(cJSON_GetObjectItemCaseSensitive(cfg(a), name));
}

static void cfg_set_flags(struct sim_account *a, const cJSON *src)
{
    static const char *const flags[] = {"wrap_token", "retry_after", "echo_outgoing"};
    cJSON *c = cfg(a);
    for (size_t i = 0; i < ARRAY_LEN(flags); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, flags[i]);
        if (v && (cJSON_IsBool(v) || cJSON_IsNumber(v)))
            cJSON_ReplaceItemInObjectCaseSensitive(c, flags[i], cJSON_CreateNumber(truthy(v)));
    }
}

static int64_t account_id(const struct sim_account *a)
{
    return a->client_id ? strtoll(a->client_id, NULL, 10) : 0;
}

/* The scenario time used for stamps; with --rate it follows the wall clock. */
static int64_t clock_now(struct sim_account *a)
{
    if (sim.rate > 0 && a->clock_ms < sim_now())
        a->clock_ms = sim_now();
    return a->clock_ms;
}

static void stamp(struct sim_account *a, char out[20])
{
    fmt_hostaway_time(clock_now(a), out);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Case-insensitive substring test (ASCII). */
static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}

static cJSON *find_id(struct sim_account *a, const char *coll, int64_t id)
{
    char s[32];
    snprintf(s, sizeof(s), "%lld", (long long)id);
    return world_find(a, coll, "id", s);
}

/* ---- answers ---- */

static void fail(struct sim_account *a, struct sim_resp *rs, int status, const char *key,
                 const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", "fail");
    cJSON_AddStringToObject(j, key, msg);
    resp_json(a, rs, status, j);
}

static void not_found(struct sim_account *a, struct sim_resp *rs)
{
    fail(a, rs, 404, "message", "Not found");
}

static void ok(struct sim_account *a, struct sim_resp *rs, cJSON *result)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", "success");
    cJSON_AddItemToObject(j, "result", result);
    resp_json(a, rs, 200, j);
}

/* `items` (owned) holds every match in order; limit < 0: no limit given. */
static void ok_list(struct sim_account *a, struct sim_resp *rs, cJSON *items, int limit, int offset)
{
    int count = cJSON_GetArraySize(items);
    cJSON *page = cJSON_CreateArray();
    int end = limit < 0 ? count : offset + limit;
    for (int i = offset; i < end && i < count; i++)
        cJSON_AddItemToArray(page, cJSON_Duplicate(cJSON_GetArrayItem(items, i), 1));
    cJSON_Delete(items);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", "success");
    cJSON_AddItemToObject(j, "result", page);
    cJSON_AddNumberToObject(j, "count", count);
    if (limit < 0) {
        cJSON_AddNullToObject(j, "limit");
        if (offset)
            cJSON_AddNumberToObject(j, "offset", offset);
        else
            cJSON_AddNullToObject(j, "offset");
        cJSON_AddNumberToObject(j, "page", 1);
        cJSON_AddNumberToObject(j, "totalPages", 1);
    } else {
        cJSON_AddNumberToObject(j, "limit", limit);
        cJSON_AddNumberToObject(j, "offset", offset);
        cJSON_AddNumberToObject(j, "page", offset / limit + 1);
        cJSON_AddNumberToObject(j, "totalPages", (count + limit - 1) / limit);
    }
    resp_json(a, rs, 200, j);
}

/* ---- sorting ---- */

static const char *sort_field; /* guarded by sim_lock */
static int sort_desc;

static int cmp_rec(const void *pa, const void *pb)
{
    const cJSON *x = *(const cJSON *const *)pa, *y = *(const cJSON *const *)pb;
    int c = 0;
    if (sort_field) {
        const char *sx = json_str(x, sort_field), *sy = json_str(y, sort_field);
        c = strcmp(sx ? sx : "", sy ? sy : "");
    }
    if (c == 0) {
        double ix = num(x, "id"), iy = num(y, "id");
        c = ix < iy ? -1 : ix > iy;
    }
    return sort_desc ? -c : c;
}

/* Sort the items of arr (in place) by field (then id), descending when desc. */
static void sort_array(cJSON *arr, const char *field, int desc)
{
    int n = cJSON_GetArraySize(arr);
    if (n < 2)
        return;
    cJSON **v = xmalloc((size_t)n * sizeof(*v));
    for (int i = n - 1; i >= 0; i--)
        v[i] = cJSON_DetachItemFromArray(arr, i);
    sort_field = field;
    sort_desc = desc;
    qsort(v, (size_t)n, sizeof(*v), cmp_rec);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, v[i]);
    free(v);
}

/* ---- paging arguments: limit/offset; -2 means "answer 400" ---- */

static int get_limit(const struct sim_req *rq, int def)
{
    const char *q = sim_query(rq, "limit");
    if (!q || !*q)
        return def; /* -1: no limit */
    int v = paging_int(rq, "limit", def, 1, 1 << 30);
    return v == -1 ? -2 : v;
}

static int get_offset(const struct sim_req *rq)
{
    int v = paging_int(rq, "offset", 0, 0, 1 << 30);
    return v == -1 ? -2 : v;
}

static int bad_paging(struct sim_account *a, struct sim_resp *rs, int limit, int offset)
{
    if (limit == -2 || offset == -2) {
        fail(a, rs, 400, "result", "limit and offset must be non-negative integers");
        return 1;
    }
    return 0;
}

/* ---- records ---- */

static const char *channel_name(int channel)
{
    switch (channel) {
    case 2018:
        return "airbnbOfficial";
    case 2002:
        return "homeaway";
    case 2005:
        return "bookingcom";
    case 2007:
        return "expedia";
    case 2013:
        return "bookingengine";
    default:
        return "direct";
    }
}

static void hash_of(struct sim_account *a, char out[41])
{
    snprintf(out, 41, "%08x%08x%08x%08x%08x", sim_rand(a), sim_rand(a), sim_rand(a), sim_rand(a),
             sim_rand(a));
}

static cJSON *reservation_of_conv(struct sim_account *a, const cJSON *conv)
{
    return find_id(a, "reservations", (int64_t)num(conv, "reservationId"));
}

/* A conversation as answered: the latest message and the full Reservation embedded. */
static cJSON *conv_out(struct sim_account *a, const cJSON *conv)
{
    cJSON *o = cJSON_Duplicate(conv, 1);
    cJSON *latest = NULL, *m;
    sort_field = "date";
    sort_desc = 0;
    cJSON_ArrayForEach(m, world_coll(a, "messages"))
    {
        if (num(m, "conversationId") != num(conv, "id") || !str_eq(json_str(m, "status"), "sent"))
            continue;
        if (!latest || cmp_rec(&m, &latest) > 0)
            latest = m;
    }
    cJSON *arr = cJSON_CreateArray();
    if (latest)
        cJSON_AddItemToArray(arr, cJSON_Duplicate(latest, 1));
    cJSON_AddItemToObject(o, "conversationMessages", arr);
    const cJSON *r = reservation_of_conv(a, conv);
    cJSON_AddItemToObject(o, "Reservation", r ? cJSON_Duplicate(r, 1) : cJSON_CreateNull());
    return o;
}

/* Reservation lists leave these empty unless includeResources=1 (2024 changelog). */
static cJSON *res_out(const cJSON *r, int include_resources)
{
    cJSON *o = cJSON_Duplicate(r, 1);
    if (!include_resources) {
        static const char *const arrays[] = {"reservationFees", "reservationUnit",
                                             "customFieldValues"};
        for (size_t i = 0; i < ARRAY_LEN(arrays); i++)
            if (cJSON_HasObjectItem(o, arrays[i]))
                cJSON_ReplaceItemInObjectCaseSensitive(o, arrays[i], cJSON_CreateArray());
        if (cJSON_HasObjectItem(o, "hostProxyEmail"))
            cJSON_ReplaceItemInObjectCaseSensitive(o, "hostProxyEmail", cJSON_CreateNull());
    }
    return o;
}

static void hook(struct sim_account *a, const char *object, const char *event, const cJSON *data)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "object", object);
    cJSON_AddStringToObject(p, "event", event);
    cJSON_AddNumberToObject(p, "accountId", (double)account_id(a));
    cJSON_AddItemToObject(p, "data", cJSON_Duplicate(data, 1));
    sim_webhook(a, event, p);
}

/* A message on conversation conv; bumps the conversation and reservation activity. */
static cJSON *add_message(struct sim_account *a, cJSON *conv, const char *body, const char *type,
                          int incoming)
{
    char now[20], hash[41];
    stamp(a, now);
    hash_of(a, hash);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "id", (double)sim_new_id(a));
    cJSON_AddNumberToObject(m, "accountId", (double)account_id(a));
    cJSON_AddNumberToObject(m, "listingMapId", num(conv, "listingMapId"));
    cJSON_AddNumberToObject(m, "reservationId", num(conv, "reservationId"));
    cJSON_AddNumberToObject(m, "conversationId", num(conv, "id"));
    cJSON_AddNullToObject(m, "communicationId");
    cJSON_AddStringToObject(m, "body", body);
    cJSON_AddStringToObject(m, "communicationType", type);
    cJSON_AddStringToObject(m, "status", "sent");
    cJSON_AddNumberToObject(m, "isIncoming", incoming);
    cJSON_AddNumberToObject(m, "isSeen", 0);
    cJSON_AddNumberToObject(m, "sentUsingHostaway", incoming ? 0 : 1);
    cJSON_AddStringToObject(m, "hash", hash);
    cJSON_AddStringToObject(m, "date", now);
    cJSON_AddStringToObject(m, "sentChannelDate", now);
    cJSON_AddItemToObject(m, "attachments", cJSON_CreateArray());
    cJSON_AddStringToObject(m, "insertedOn", now);
    cJSON_AddStringToObject(m, "updatedOn", now);
    cJSON_AddItemToArray(world_coll(a, "messages"), m);
    if (incoming) {
        json_set_str(conv, "messageReceivedOn", now);
        json_set_num(conv, "hasUnreadMessages", 1);
    } else {
        json_set_str(conv, "messageSentOn", now);
    }
    cJSON *r = reservation_of_conv(a, conv);
    if (r)
        json_set_str(r, "latestActivityOn", now);
    if (incoming || cfg_flag(a, "echo_outgoing"))
        hook(a, "conversationMessage", "message.received", m);
    return m;
}

static cJSON *new_conversation(struct sim_account *a, const cJSON *res, const char *type)
{
    cJSON *c = cJSON_CreateObject();
    const cJSON *l = find_id(a, "listings", (int64_t)num(res, "listingMapId"));
    const char *email = json_str(res, "guestEmail");
    cJSON_AddNumberToObject(c, "id", (double)sim_new_id(a));
    cJSON_AddNumberToObject(c, "listingMapId", num(res, "listingMapId"));
    cJSON_AddNumberToObject(c, "reservationId", num(res, "id"));
    char *t = xasprintf("host-guest-%s", type);
    cJSON_AddStringToObject(c, "type", t);
    free(t);
    cJSON_AddStringToObject(c, "recipientEmail", email ? email : "");
    cJSON_AddStringToObject(c, "recipientName", json_str(res, "guestName"));
    cJSON_AddNullToObject(c, "recipientPicture");
    const char *host = l ? json_str(l, "contactEmail") : NULL;
    cJSON_AddStringToObject(c, "hostEmail", host ? host : "host@example.com");
    cJSON_AddStringToObject(c, "guestEmail", email ? email : "");
    cJSON_AddNumberToObject(c, "hasUnreadMessages", 0);
    cJSON_AddNumberToObject(c, "isArchived", 0);
    cJSON_AddNumberToObject(c, "isStarred", 0);
    cJSON_AddNullToObject(c, "messageSentOn");
    cJSON_AddNullToObject(c, "messageReceivedOn");
    cJSON_AddItemToArray(world_coll(a, "conversations"), c);
    return c;
}

static const char *const FIRST[] = {"Zoë",   "José",   "Søren", "Aiko",  "Łukasz", "Chloé",
                                    "Björn", "Amara",  "Liam",  "Priya", "Mateo",  "Ingrid",
                                    "Noah",  "Fatima", "Ren",   "Olga"};
static const char *const LAST[] = {"Müller",    "Álvarez", "Lund",   "Tanaka", "Nowak",
                                   "Dubois",    "Ström",   "Okafor", "Walsh",  "Raman",
                                   "Fernández", "Berg",    "Carter", "Haddad", "Sato"};

static cJSON *new_reservation(struct sim_account *a, int64_t listing, int channel,
                              const char *first, const char *last, const char *arrival,
                              const char *departure, const char *status)
{
    char now[20], arr[11], dep[11], code[11];
    stamp(a, now);
    int nights = 1 + (int)(sim_rand(a) % 7);
    int64_t start = (a->clock_ms / DAY_MS + 3 + sim_rand(a) % 60) * DAY_MS;
    fmt_date(start, arr);
    fmt_date(start + nights * DAY_MS, dep);
    if (arrival)
        snprintf(arr, sizeof(arr), "%s", arrival);
    if (departure)
        snprintf(dep, sizeof(dep), "%s", departure);
    static const char alnum[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    for (int i = 0; i < 10; i++)
        code[i] = alnum[sim_rand(a) % (sizeof(alnum) - 1)];
    code[10] = '\0';
    int64_t id = sim_new_id(a);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "id", (double)id);
    cJSON_AddNumberToObject(r, "listingMapId", (double)listing);
    cJSON_AddNumberToObject(r, "channelId", channel);
    cJSON_AddStringToObject(r, "channelName", channel_name(channel));
    char *rid = xasprintf("%lld-%lld-%s", (long long)account_id(a), (long long)listing, code);
    cJSON_AddStringToObject(r, "reservationId", rid);
    free(rid);
    cJSON_AddNumberToObject(r, "hostawayReservationId", (double)id);
    char *name = xasprintf("%s %s", first, last);
    cJSON_AddStringToObject(r, "guestName", name);
    free(name);
    cJSON_AddStringToObject(r, "guestFirstName", first);
    cJSON_AddStringToObject(r, "guestLastName", last);
    char *email = xasprintf("guest%lld@guest.example.com", (long long)id);
    cJSON_AddStringToObject(r, "guestEmail", email);
    free(email);
    char *phone = xasprintf("+4477009%05u", sim_rand(a) % 100000);
    cJSON_AddStringToObject(r, "phone", phone);
    free(phone);
    cJSON_AddNumberToObject(r, "numberOfGuests", 1 + sim_rand(a) % 5);
    cJSON_AddStringToObject(r, "arrivalDate", arr);
    cJSON_AddStringToObject(r, "departureDate", dep);
    cJSON_AddNullToObject(r, "checkInTime");
    cJSON_AddNullToObject(r, "checkOutTime");
    cJSON_AddNumberToObject(r, "nights", nights);
    cJSON_AddNumberToObject(r, "totalPrice", 90.0 * nights + sim_rand(a) % 80);
    cJSON_AddStringToObject(r, "currency", "EUR");
    cJSON_AddStringToObject(r, "status", status ? status : "new");
    cJSON_AddNullToObject(r, "cancelledBy");
    cJSON_AddStringToObject(r, "confirmationCode", code);
    char door[6];
    snprintf(door, sizeof(door), "%05u", sim_rand(a) % 100000);
    cJSON_AddStringToObject(r, "doorCode", door);
    cJSON_AddNumberToObject(r, "isArchived", 0);
    cJSON_AddNumberToObject(r, "isStarred", 0);
    cJSON_AddNumberToObject(r, "isPinned", 0);
    cJSON_AddStringToObject(r, "latestActivityOn", now);
    cJSON_AddStringToObject(r, "insertedOn", now);
    cJSON_AddStringToObject(r, "updatedOn", now);
    cJSON_AddItemToObject(r, "reservationFees", cJSON_CreateArray());
    cJSON_AddItemToObject(r, "reservationUnit", cJSON_CreateArray());
    cJSON_AddItemToObject(r, "customFieldValues", cJSON_CreateArray());
    cJSON_AddNullToObject(r, "hostProxyEmail");
    cJSON_AddItemToArray(world_coll(a, "reservations"), r);
    return r;
}

static const char *conv_type_for(struct sim_account *a, int channel)
{
    if (channel == 2018 || channel == 2005 || channel == 2002)
        return "channel";
    static const char *const t[] = {"email", "sms", "whatsapp"};
    return sim_pick(a, t, 3);
}

/* A reservation with its conversation; emits reservation.created. */
static cJSON *create_booking(struct sim_account *a, int64_t listing, int channel, const char *first,
                             const char *last, const char *arrival, const char *departure,
                             const char *status)
{
    cJSON *r = new_reservation(a, listing, channel, first, last, arrival, departure, status);
    const char *ct = conv_type_for(a, channel);
    new_conversation(a, r, strcmp(ct, "channel") == 0 ? "email" : ct);
    hook(a, "reservation", "reservation.created", r);
    return r;
}

static void touch_reservation(struct sim_account *a, cJSON *r)
{
    char now[20];
    stamp(a, now);
    json_set_str(r, "updatedOn", now);
    json_set_str(r, "latestActivityOn", now);
}

/* The communicationType guests use on this conversation's reservation. */
static const char *guest_channel(struct sim_account *a, const cJSON *conv)
{
    const cJSON *r = reservation_of_conv(a, conv);
    int ch = r ? (int)num(r, "channelId") : 2000;
    if (ch == 2018 || ch == 2005 || ch == 2002)
        return "channel";
    const char *t = json_str(conv, "type");
    if (t && strncmp(t, "host-guest-", 11) == 0 && in_list(t + 11, COMM_TYPES, 4))
        return t + 11;
    return "email";
}

static const char *const TASK_STEPS[] = {"pending", "confirmed", "inProgress", "completed"};

static void task_set_status(struct sim_account *a, cJSON *t, const char *status)
{
    char now[20];
    stamp(a, now);
    json_set_str(t, "status", status);
    if (strcmp(status, "confirmed") == 0)
        json_set_str(t, "confirmedAt", now);
    else if (strcmp(status, "inProgress") == 0)
        json_set_str(t, "startedAt", now);
    else if (strcmp(status, "completed") == 0)
        json_set_str(t, "completedAt", now);
}

/* ---- seeding ---- */

static int parse_time(const char *s, int64_t *ms, int *date_only)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    size_t n = strlen(s);
    if (n != 10 && n != 19)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int digit = s[i] >= '0' && s[i] <= '9';
        int want_sep = i == 4 || i == 7 || i == 10 || i == 13 || i == 16;
        char sep = i == 10 ? ' ' : (i == 13 || i == 16) ? ':' : '-';
        if (want_sep ? s[i] != sep : !digit)
            return -1;
    }
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    if (n == 19) {
        tm.tm_hour = atoi(s + 11);
        tm.tm_min = atoi(s + 14);
        tm.tm_sec = atoi(s + 17);
    }
    *ms = (int64_t)timegm(&tm) * 1000;
    *date_only = n == 10;
    return 0;
}

/* Shift every time and date string in j by delta ms (a whole number of days). */
static void rebase(cJSON *j, int64_t delta)
{
    cJSON *c;
    cJSON_ArrayForEach(c, j)
    {
        int64_t ms;
        int date_only;
        if (cJSON_IsString(c) && parse_time(c->valuestring, &ms, &date_only) == 0) {
            char out[20];
            if (date_only)
                fmt_date(ms + delta, out);
            else
                fmt_hostaway_time(ms + delta, out);
            cJSON_SetValuestring(c, out);
        } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            rebase(c, delta);
        }
    }
}

static void max_id(const cJSON *j, int64_t *max)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, j)
    {
        if (cJSON_IsObject(c)) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
            if (cJSON_IsNumber(id) && (int64_t)id->valuedouble > *max)
                *max = (int64_t)id->valuedouble;
        }
        if (cJSON_IsObject(c) || cJSON_IsArray(c))
            max_id(c, max);
    }
}

static cJSON *task_blank(struct sim_account *a);

static void generate(struct sim_account *a)
{
    static const char *const names[] = {"Harbour View Loft",     "Old Town Studio",
                                        "Seaside Cottage",       "Alpine Chalet Ødegaard",
                                        "Canal House Apartment", "Garden Suite"};
    static const char *const cities[] = {"Lisbon", "Prague",    "Brighton",
                                         "Tromsø", "Amsterdam", "Kraków"};
    for (int i = 0; i < 4; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddNumberToObject(l, "id", (double)(40160 + i));
        cJSON_AddStringToObject(l, "name", names[i]);
        cJSON_AddStringToObject(l, "externalListingName", names[i]);
        cJSON_AddStringToObject(l, "internalListingName", names[i]);
        cJSON_AddStringToObject(l, "city", cities[i]);
        cJSON_AddStringToObject(l, "address", cities[i]);
        cJSON_AddNumberToObject(l, "personCapacity", 2 + sim_rand(a) % 6);
        cJSON_AddStringToObject(l, "currencyCode", "EUR");
        cJSON_AddStringToObject(l, "contactEmail", "host@example.com");
        cJSON_AddNumberToObject(l, "isArchived", 0);
        cJSON_AddItemToArray(world_coll(a, "listings"), l);
    }
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "id", 7001);
    cJSON_AddNumberToObject(u, "accountId", (double)account_id(a));
    cJSON_AddStringToObject(u, "firstName", "Marta");
    cJSON_AddStringToObject(u, "lastName", "Kowalczyk");
    cJSON_AddStringToObject(u, "email", "marta@fixit.example.com");
    cJSON_AddNumberToObject(u, "isAccountOwner", 0);
    cJSON_AddItemToArray(world_coll(a, "users"), u);
    a->next_id = 100000;
    for (int i = 0; i < 6; i++) {
        int channels[] = {2018, 2005, 2000, 2013};
        cJSON *r = create_booking(a, 40160 + (int64_t)(sim_rand(a) % 4), channels[sim_rand(a) % 4],
                                  sim_pick(a, FIRST, 16), sim_pick(a, LAST, 15), NULL, NULL, "new");
        cJSON *convs = world_coll(a, "conversations");
        cJSON *conv = cJSON_GetArrayItem(convs, cJSON_GetArraySize(convs) - 1);
        add_message(a, conv, "Hello! Looking forward to our stay.", guest_channel(a, conv), 1);
        if (i < 3) {
            cJSON *t = task_blank(a);
            static const char *const titles[] = {"Fix dripping kitchen tap",
                                                 "Replace hallway light bulb",
                                                 "Deep clean after checkout"};
            json_set_str(t, "title", titles[i]);
            json_set_num(t, "listingMapId", num(r, "listingMapId"));
            json_set_num(t, "reservationId", num(r, "id"));
            json_set(t, "categoriesMap", cJSON_CreateIntArray((const int[]){i < 2 ? 2 : 1}, 1));
            if (i == 0)
                json_set_num(t, "assigneeUserId", 7001);
            cJSON_AddItemToArray(world_coll(a, "tasks"), t);
        }
    }
}

static void seed(struct sim_account *a, const cJSON *fixture)
{
    a->clock_ms = (sim_now() / DAY_MS) * DAY_MS;
    const cJSON *creds = cJSON_GetObjectItemCaseSensitive(fixture, "credentials");
    sim_credentials(a, creds, HOSTAWAY_CLIENT_ID, HOSTAWAY_SECRET, HOSTAWAY_WEBHOOK);
    a->nwindows = 2;
    a->windows[0] = (struct sim_window){.limit = 15, .span_ms = 10000, .per_ip = 1};
    a->windows[1] = (struct sim_window){.limit = 20, .span_ms = 10000, .per_ip = 0};
    cfg(a);
    if (creds)
        cfg_set_flags(a, creds);
    if (!fixture) {
        generate(a);
        return;
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, fixture)
    {
        if (cJSON_IsArray(c))
            cJSON_AddItemToObject(a->world, c->string, cJSON_Duplicate(c, 1));
    }
    const cJSON *locked = cJSON_GetObjectItemCaseSensitive(creds, "locked");
    if (cJSON_IsArray(locked))
        cJSON_ReplaceItemInObjectCaseSensitive(cfg(a), "locked", cJSON_Duplicate(locked, 1));
    /* newest fixture activity lands on the day before the scenario clock */
    int64_t newest = 0;
    cJSON *r;
    cJSON_ArrayForEach(r, world_coll(a, "reservations"))
    {
        int64_t ms;
        int d;
        const char *s = json_str(r, "latestActivityOn");
        if (s && parse_time(s, &ms, &d) == 0 && ms > newest)
            newest = ms;
    }
    if (newest) {
        int64_t delta = (a->clock_ms - DAY_MS) - (newest / DAY_MS) * DAY_MS;
        static const char *const colls[] = {"listings", "reservations", "conversations",
                                            "messages", "tasks",        "users"};
        for (size_t i = 0; i < ARRAY_LEN(colls); i++)
            rebase(world_coll(a, colls[i]), delta);
    }
    int64_t max = 0;
    max_id(a->world, &max);
    a->next_id = max + 1000;
}

/* ---- auth ---- */

static char *form_get(const char *body, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = body; p && *p;) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            const char *v = p + kl + 1;
            char *out = xmalloc((size_t)(end - v) + 1);
            size_t n = 0;
            for (const char *q = v; q < end; q++) {
                if (*q == '+') {
                    out[n++] = ' ';
                } else if (*q == '%' && q + 2 < end) {
                    char hex[3] = {q[1], q[2], 0};
                    out[n++] = (char)strtol(hex, NULL, 16);
                    q += 2;
                } else {
                    out[n++] = *q;
                }
            }
            out[n] = '\0';
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static char *b64url(const unsigned char *in, int n)
{
    char *out = xmalloc((size_t)(4 * ((n + 2) / 3) + 1));
    int len = EVP_EncodeBlock((unsigned char *)out, in, n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

/* A JWT-shaped opaque token (random, so tokens never disturb the deterministic world). */
static char *mint_jwt(struct sim_account *a, int64_t now)
{
    char jti[41], sig[97];
    if (random_hex(jti, 20, NULL) != 0)
        snprintf(jti, sizeof(jti), "%016llx", (unsigned long long)now);
    if (random_hex(sig, 48, NULL) != 0)
        snprintf(sig, sizeof(sig), "%s", jti);
    static const char hdr[] = "{\"typ\":\"JWT\",\"alg\":\"RS256\"}";
    char *payload =
        xasprintf("{\"aud\":\"%s\",\"jti\":\"%s\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,"
                  "\"sub\":\"\",\"scopes\":[\"general\"]}",
                  a->client_id, jti, (long long)(now / 1000), (long long)(now / 1000 + 1),
                  (long long)(now / 1000 + TOKEN_TTL_S));
    char *h = b64url((const unsigned char *)hdr, (int)strlen(hdr));
    char *p = b64url((const unsigned char *)payload, (int)strlen(payload));
    char *s = b64url((const unsigned char *)sig, (int)strlen(sig));
    char *tok = xasprintf("%s.%s.%s", h, p, s);
    free(h);
    free(p);
    free(s);
    free(payload);
    return tok;
}

static void access_token(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    char *grant = form_get(rq->body, "grant_type"), *id = form_get(rq->body, "client_id"),
         *secret = form_get(rq->body, "client_secret"), *scope = form_get(rq->body, "scope");
    if (!str_eq(grant, "client_credentials") || !str_eq(scope, "general")) {
        /* UNCONFIRMED status: the docs show no error for the token endpoint */
        fail(a, rs, 403, "message", "Invalid grant_type or scope");
    } else if (!str_eq(id, a->client_id) || !str_eq(secret, a->client_secret)) {
        fail(a, rs, 403, "message", "Invalid client credentials");
    } else {
        int64_t now = sim_now();
        char *tok = mint_jwt(a, now);
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "token", tok);
        cJSON_AddNumberToObject(t, "issued", (double)now);
        cJSON_AddNumberToObject(t, "expires", (double)(now + (int64_t)TOKEN_TTL_S * 1000));
        cJSON_AddItemToArray(a->tokens, t);
        a->tokens_minted++;
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "token_type", "Bearer");
        cJSON_AddNumberToObject(body, "expires_in", TOKEN_TTL_S);
        cJSON_AddStringToObject(body, "access_token", tok);
        free(tok);
        if (cfg_flag(a, "wrap_token"))
            ok(a, rs, body);
        else
            resp_json(a, rs, 200, body);
    }
    free(grant);
    free(id);
    free(secret);
    free(scope);
}

static int token_index(struct sim_account *a, const char *tok)
{
    int i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, a->tokens)
    {
        if (str_eq(json_str(t, "token"), tok))
            return i;
        i++;
    }
    return -1;
}

/* 0 when the request carries a usable token, else answers 403. */
static int authorized(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    const char *h = sim_header(rq, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        fail(a, rs, 403, "message", "Unauthorized: access token is missing");
        return -1;
    }
    int i = token_index(a, h + 7);
    const cJSON *t = i < 0 ? NULL : cJSON_GetArrayItem(a->tokens, i);
    int64_t now = sim_now();
    if (!t || now < (int64_t)num(t, "issued") + 1000) {
        /* a token used within its first second is as unknown as a forged one */
        fail(a, rs, 403, "message", "Invalid token");
        return -1;
    }
    if (now >= (int64_t)num(t, "expires")) {
        fail(a, rs, 403, "message", "Token expired");
        return -1;
    }
    return 0;
}

/* ---- routes ---- */

static int parse_id(const char *s, int64_t *id)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v <= 0)
        return -1;
    *id = v;
    return 0;
}

static int query_int(const struct sim_req *rq, const char *name, int64_t *v)
{
    const char *s = sim_query(rq, name);
    return s && *s && parse_id(s, v) == 0;
}

static int query_flag(const struct sim_req *rq, const char *name)
{
    const char *s = sim_query(rq, name);
    return s && strcmp(s, "1") == 0;
}

/* A copy of every record of coll (in order) whose numeric `field` equals the query `q`. */
static cJSON *filtered(struct sim_account *a, const struct sim_req *rq, const char *coll,
                       const char *field, const char *q)
{
    int64_t want = 0;
    int use = q && query_int(rq, q, &want);
    cJSON *out = cJSON_CreateArray(), *r;
    cJSON_ArrayForEach(r, world_coll(a, coll))
    {
        if (use && (int64_t)num(r, field) != want)
            continue;
        cJSON_AddItemToArray(out, cJSON_Duplicate(r, 1));
    }
    return out;
}

static void list_simple(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                        const char *coll)
{
    int limit = get_limit(rq, -1), offset = get_offset(rq);
    if (bad_paging(a, rs, limit, offset))
        return;
    cJSON *items = filtered(a, rq, coll, NULL, NULL);
    sort_array(items, NULL, 0);
    ok_list(a, rs, items, limit, offset);
}

static void get_one(struct sim_account *a, struct sim_resp *rs, const char *coll, int64_t id)
{
    const cJSON *r = find_id(a, coll, id);
    if (!r)
        not_found(a, rs);
    else
        ok(a, rs, cJSON_Duplicate(r, 1));
}

/* Dates in filters may be "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS"; compared as strings. */
static int in_range(const char *v, const char *start, const char *end, int end_inclusive_day)
{
    if (!v)
        return !start && !end;
    if (start && *start && strcmp(v, start) < 0)
        return 0;
    if (end && *end) {
        if (end_inclusive_day && strlen(end) == 10)
            return strncmp(v, end, 10) <= 0;
        return strcmp(v, end) <= 0;
    }
    return 1;
}

static void list_reservations(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    int limit = get_limit(rq, 100), offset = get_offset(rq);
    if (bad_paging(a, rs, limit, offset))
        return;
    int64_t after = 0, listing = 0, channel = 0;
    int use_after = sim_query(rq, "afterId") != NULL;
    if (use_after && !query_int(rq, "afterId", &after) && !str_eq(sim_query(rq, "afterId"), "0")) {
        fail(a, rs, 400, "result", "afterId must be an integer");
        return;
    }
    int use_listing = query_int(rq, "listingId", &listing);
    int use_channel = query_int(rq, "channelId", &channel);
    const char *las = sim_query(rq, "latestActivityStart"),
               *lae = sim_query(rq, "latestActivityEnd");
    const char *as = sim_query(rq, "arrivalStartDate"), *ae = sim_query(rq, "arrivalEndDate");
    const char *ds = sim_query(rq, "departureStartDate"), *de = sim_query(rq, "departureEndDate");
    const char *match = sim_query(rq, "match"), *email = sim_query(rq, "guestEmail");
    cJSON *items = cJSON_CreateArray(), *r;
    cJSON_ArrayForEach(r, world_coll(a, "reservations"))
    {
        if (use_after && (int64_t)num(r, "id") <= after)
            continue;
        if ((use_listing && (int64_t)num(r, "listingMapId") != listing) ||
            (use_channel && (int64_t)num(r, "channelId") != channel))
            continue;
        if ((las || lae) && !in_range(json_str(r, "latestActivityOn"), las, lae, 1))
            continue;
        if ((as || ae) && !in_range(json_str(r, "arrivalDate"), as, ae, 1))
            continue;
        if ((ds || de) && !in_range(json_str(r, "departureDate"), ds, de, 1))
            continue;
        const char *gn = json_str(r, "guestName");
        if (match && *match && (!gn || !contains_ci(gn, match)))
            continue;
        if (email && *email && !str_eq(json_str(r, "guestEmail"), email))
            continue;
        cJSON_AddItemToArray(items, res_out(r, query_flag(rq, "includeResources")));
    }
    /* default order updatedOn DESC, id DESC: records shift between pages while paging */
    const char *so = sim_query(rq, "sortOrder");
    if (str_eq(so, "updatedOn"))
        sort_array(items, "updatedOn", 0);
    else if (str_eq(so, "arrivalDate"))
        sort_array(items, "arrivalDate", 0);
    else if (str_eq(so, "arrivalDateDesc"))
        sort_array(items, "arrivalDate", 1);
    else if (str_eq(so, "latestActivity"))
        sort_array(items, "latestActivityOn", 0);
    else if (str_eq(so, "latestActivityDesc"))
        sort_array(items, "latestActivityOn", 1);
    else if (use_after)
        sort_array(items, NULL, 0); /* cursor paging walks ids upwards (UNCONFIRMED order) */
    else
        sort_array(items, "updatedOn", 1);
    ok_list(a, rs, items, limit, use_after ? 0 : offset); /* afterId ignores offset */
}

static int is_locked(struct sim_account *a, int64_t id)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(cfg(a), "locked"))
    {
        if (cJSON_IsNumber(v) && (int64_t)v->valuedouble == id)
            return 1;
    }
    return 0;
}

static cJSON *parse_body(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    cJSON *b = cJSON_Parse(rq->body);
    if (!cJSON_IsObject(b)) {
        cJSON_Delete(b);
        fail(a, rs, 400, "result", "Invalid JSON in request body");
        return NULL;
    }
    return b;
}

static void put_reservation(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                            int64_t id)
{
    cJSON *r = find_id(a, "reservations", id);
    if (!r) {
        not_found(a, rs);
        return;
    }
    cJSON *b = parse_body(a, rq, rs);
    if (!b)
        return;
    const char *status = json_str(b, "status");
    if (cJSON_HasObjectItem(b, "status") &&
        !in_list(status, RES_STATUSES, ARRAY_LEN(RES_STATUSES))) {
        fail(a, rs, 400, "result", "Invalid reservation status");
    } else if (is_locked(a, id)) {
        /* 3P-reported: 403 also means "this reservation cannot be written" (UNCONFIRMED) */
        fail(a, rs, 403, "message",
             "This reservation is managed by the channel and cannot be modified");
    } else {
        static const char *const fixed[] = {"id",        "hostawayReservationId", "insertedOn",
                                            "updatedOn", "latestActivityOn",      "channelName"};
        cJSON *f;
        cJSON_ArrayForEach(f, b)
        {
            if (!f->string || in_list(f->string, fixed, ARRAY_LEN(fixed)))
                continue;
            json_set(r, f->string, cJSON_Duplicate(f, 1));
        }
        if (str_eq(status, "cancelled") && !json_str(r, "cancelledBy"))
            json_set_str(r, "cancelledBy", "host");
        touch_reservation(a, r);
        sim_log_write(a, rq, "reservation.update");
        rs->written = 1;
        hook(a, "reservation", "reservation.updated", r);
        ok(a, rs, cJSON_Duplicate(r, 1));
    }
    cJSON_Delete(b);
}

static void list_conversations(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                               int64_t reservation)
{
    int limit = get_limit(rq, -1), offset = get_offset(rq);
    if (bad_paging(a, rs, limit, offset))
        return;
    int64_t want = reservation;
    if (!want && sim_query(rq, "reservationId") && !query_int(rq, "reservationId", &want))
        want = -1;
    cJSON *items = cJSON_CreateArray(), *c;
    cJSON_ArrayForEach(c, world_coll(a, "conversations"))
    {
        if (want && (int64_t)num(c, "reservationId") != want)
            continue;
        cJSON *o = conv_out(a, c);
        /* newest activity first; used only for ordering */
        const char *s = json_str(c, "messageSentOn"), *r = json_str(c, "messageReceivedOn");
        const char *last = !s ? r : !r ? s : strcmp(s, r) > 0 ? s : r;
        cJSON_AddStringToObject(o, "_sort", last ? last : "");
        cJSON_AddItemToArray(items, o);
    }
    sort_array(items, "_sort", 1);
    cJSON *o;
    cJSON_ArrayForEach(o, items)
    {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "_sort");
    }
    ok_list(a, rs, items, limit, offset);
}

static void list_messages(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                          const cJSON *conv)
{
    int limit = get_limit(rq, -1), offset = get_offset(rq);
    if (bad_paging(a, rs, limit, offset))
        return;
    int all = query_flag(rq, "includeScheduledMessages");
    cJSON *items = cJSON_CreateArray(), *m;
    cJSON_ArrayForEach(m, world_coll(a, "messages"))
    {
        if (num(m, "conversationId") != num(conv, "id"))
            continue;
        if (!all && !str_eq(json_str(m, "status"), "sent"))
            continue;
        cJSON_AddItemToArray(items, cJSON_Duplicate(m, 1));
    }
    sort_array(items, "date", 1); /* newest first */
    ok_list(a, rs, items, limit, offset);
}

static void post_message(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                         cJSON *conv)
{
    cJSON *b = parse_body(a, rq, rs);
    if (!b)
        return;
    const char *body = json_str(b, "body");
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(b, "communicationType");
    const char *type = cJSON_IsString(ct) ? ct->valuestring : "email";
    if (!body || !*body)
        fail(a, rs, 400, "result", "Message body is required");
    else if ((ct && !cJSON_IsString(ct) && !cJSON_IsNull(ct)) || !in_list(type, COMM_TYPES, 4))
        fail(a, rs, 400, "result", "Invalid communicationType");
    else {
        cJSON *m = add_message(a, conv, body, type, 0);
        sim_log_write(a, rq, "message.send");
        rs->written = 1;
        ok(a, rs, cJSON_Duplicate(m, 1));
    }
    cJSON_Delete(b);
}

/* Task fields a client may set, with their types: 's' string, 'n' number, 'a' array. */
static const struct {
    const char *name;
    char type;
} TASK_FIELDS[] = {
    {"listingMapId", 'n'},   {"reservationId", 'n'},    {"channelId", 'n'},
    {"assigneeUserId", 'n'}, {"supervisorUserId", 'n'}, {"title", 's'},
    {"description", 's'},    {"canStartFrom", 's'},     {"shouldEndBy", 's'},
    {"status", 's'},         {"priority", 'n'},         {"resolutionNote", 's'},
    {"cost", 'n'},           {"costCurrency", 's'},     {"checklistItems", 'a'},
    {"categoriesMap", 'a'},
};

/* Apply b onto t; 0, or -1 with *why. */
static int task_apply(struct sim_account *a, cJSON *t, const cJSON *b, const char **why)
{
    for (size_t i = 0; i < ARRAY_LEN(TASK_FIELDS); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, TASK_FIELDS[i].name);
        if (!v || cJSON_IsNull(v))
            continue;
        int good = TASK_FIELDS[i].type == 's'   ? cJSON_IsString(v)
                   : TASK_FIELDS[i].type == 'n' ? cJSON_IsNumber(v)
                                                : cJSON_IsArray(v);
        if (!good) {
            *why = "Invalid value for a task field";
            return -1;
        }
    }
    const char *status = json_str(b, "status");
    if (status && !in_list(status, TASK_STATUSES, ARRAY_LEN(TASK_STATUSES))) {
        *why = "Invalid task status: use pending, confirmed, inProgress, completed or cancelled";
        return -1;
    }
    const char *title = json_str(b, "title");
    if (cJSON_HasObjectItem(b, "title") && (!title || !*title)) {
        *why = "Task title is required";
        return -1;
    }
    for (size_t i = 0; i < ARRAY_LEN(TASK_FIELDS); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, TASK_FIELDS[i].name);
        if (!v || strcmp(TASK_FIELDS[i].name, "status") == 0)
            continue;
        json_set(t, TASK_FIELDS[i].name, cJSON_Duplicate(v, 1));
    }
    if (status && !str_eq(json_str(t, "status"), status))
        task_set_status(a, t, status);
    return 0;
}

static cJSON *task_blank(struct sim_account *a)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "id", (double)sim_new_id(a));
    for (size_t i = 0; i < ARRAY_LEN(TASK_FIELDS); i++) {
        if (TASK_FIELDS[i].type == 'a')
            cJSON_AddItemToObject(t, TASK_FIELDS[i].name, cJSON_CreateArray());
        else
            cJSON_AddNullToObject(t, TASK_FIELDS[i].name);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(t, "status", cJSON_CreateString("pending"));
    cJSON_AddNullToObject(t, "startedAt");
    cJSON_AddNullToObject(t, "confirmedAt");
    cJSON_AddNullToObject(t, "completedAt");
    return t;
}

static void list_tasks(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    int limit = get_limit(rq, -1), offset = get_offset(rq);
    if (bad_paging(a, rs, limit, offset))
        return;
    const char *status = sim_query(rq, "status");
    int64_t res = 0, listing = 0;
    int use_res = query_int(rq, "reservationId", &res);
    int use_listing = query_int(rq, "listingMapId", &listing);
    cJSON *items = cJSON_CreateArray(), *t;
    cJSON_ArrayForEach(t, world_coll(a, "tasks"))
    {
        if ((status && *status && !str_eq(json_str(t, "status"), status)) ||
            (use_res && (int64_t)num(t, "reservationId") != res) ||
            (use_listing && (int64_t)num(t, "listingMapId") != listing))
            continue;
        cJSON_AddItemToArray(items, cJSON_Duplicate(t, 1));
    }
    sort_array(items, NULL, 0);
    ok_list(a, rs, items, limit, offset);
}

static void write_task(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                       int64_t id)
{
    cJSON *t = id ? find_id(a, "tasks", id) : NULL;
    if (id && !t) {
        not_found(a, rs);
        return;
    }
    cJSON *b = parse_body(a, rq, rs);
    if (!b)
        return;
    const char *why = NULL;
    if (!id && !json_str(b, "title")) {
        fail(a, rs, 400, "result", "Task title is required");
    } else if (!id) {
        cJSON *n = task_blank(a);
        if (task_apply(a, n, b, &why) != 0) {
            a->next_id--; /* the id was never used */
            cJSON_Delete(n);
            fail(a, rs, 400, "result", why);
        } else {
            cJSON_AddItemToArray(world_coll(a, "tasks"), n);
            sim_log_write(a, rq, "task.create");
            rs->written = 1;
            ok(a, rs, cJSON_Duplicate(n, 1));
        }
    } else {
        /* partial update: fields not sent keep their value (UNCONFIRMED: docs are silent) */
        cJSON *copy = cJSON_Duplicate(t, 1);
        if (task_apply(a, copy, b, &why) != 0) {
            cJSON_Delete(copy);
            fail(a, rs, 400, "result", why);
        } else {
            cJSON_ReplaceItemViaPointer(world_coll(a, "tasks"), t, copy);
            sim_log_write(a, rq, "task.update");
            rs->written = 1;
            ok(a, rs, cJSON_Duplicate(copy, 1));
        }
    }
    cJSON_Delete(b);
}

static void delete_task(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                        int64_t id)
{
    cJSON *t = find_id(a, "tasks", id);
    if (!t) {
        not_found(a, rs);
        return;
    }
    cJSON_Delete(cJSON_DetachItemViaPointer(world_coll(a, "tasks"), t));
    sim_log_write(a, rq, "task.delete");
    rs->written = 1;
    ok(a, rs, cJSON_CreateArray());
}

static void revoke(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    const char *tok = sim_query(rq, "token");
    int i = tok ? token_index(a, tok) : -1;
    if (i < 0) {
        fail(a, rs, 403, "message", "Invalid token");
        return;
    }
    cJSON_DeleteItemFromArray(a->tokens, i);
    ok(a, rs, cJSON_CreateArray());
}

static void handle(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    const char *m = rq->method;
    int get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0, put = strcmp(m, "PUT") == 0,
        del = strcmp(m, "DELETE") == 0;
    if (strncmp(rq->path, "/v1/", 4) != 0) {
        not_found(a, rs);
        return;
    }
    char path[256];
    snprintf(path, sizeof(path), "%s", rq->path + 4);
    char *seg[6] = {0}, *save = NULL;
    int n = 0;
    for (char *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (n == 6) {
            not_found(a, rs);
            return;
        }
        seg[n++] = s;
    }
    if (n == 1 && strcmp(seg[0], "accessTokens") == 0) {
        if (post)
            access_token(a, rq, rs);
        else if (del)
            revoke(a, rq, rs); /* the token in the query is the credential (UNCONFIRMED) */
        else
            not_found(a, rs);
        return;
    }
    if (authorized(a, rq, rs) != 0)
        return;
    if (!get)
        a->clock_ms += 1000; /* every write gets its own stamp */
    int64_t id = 0, sub = 0;
    if (n >= 2 && parse_id(seg[1], &id) != 0) {
        not_found(a, rs);
        return;
    }
    if (n >= 4 && parse_id(seg[3], &sub) != 0) {
        not_found(a, rs);
        return;
    }
    const char *c = n ? seg[0] : "";
    if (strcmp(c, "listings") == 0 && get && n == 1)
        list_simple(a, rq, rs, "listings");
    else if (strcmp(c, "listings") == 0 && get && n == 2)
        get_one(a, rs, "listings", id);
    else if (strcmp(c, "users") == 0 && get && n == 1)
        list_simple(a, rq, rs, "users");
    else if (strcmp(c, "users") == 0 && get && n == 2)
        get_one(a, rs, "users", id);
    else if (strcmp(c, "reservations") == 0 && get && n == 1)
        list_reservations(a, rq, rs);
    else if (strcmp(c, "reservations") == 0 && get && n == 2) {
        const cJSON *r = find_id(a, "reservations", id);
        if (r)
            ok(a, rs, res_out(r, 1));
        else
            not_found(a, rs);
    } else if (strcmp(c, "reservations") == 0 && put && n == 2)
        put_reservation(a, rq, rs, id);
    else if (strcmp(c, "reservations") == 0 && get && n == 3 &&
             strcmp(seg[2], "conversations") == 0) {
        if (find_id(a, "reservations", id))
            list_conversations(a, rq, rs, id);
        else
            not_found(a, rs);
    } else if (strcmp(c, "conversations") == 0 && get && n == 1)
        list_conversations(a, rq, rs, 0);
    else if (strcmp(c, "conversations") == 0 && n >= 2) {
        cJSON *conv = find_id(a, "conversations", id);
        int msgs = n >= 3 && strcmp(seg[2], "messages") == 0;
        if (!conv || (n >= 3 && !msgs))
            not_found(a, rs);
        else if (n == 2 && get)
            ok(a, rs, conv_out(a, conv));
        else if (n == 3 && get)
            list_messages(a, rq, rs, conv);
        else if (n == 3 && post)
            post_message(a, rq, rs, conv);
        else if (n == 4 && get) {
            const cJSON *msg = find_id(a, "messages", sub);
            if (msg && num(msg, "conversationId") == (double)id)
                ok(a, rs, cJSON_Duplicate(msg, 1));
            else
                not_found(a, rs);
        } else
            not_found(a, rs);
    } else if (strcmp(c, "tasks") == 0 && get && n == 1)
        list_tasks(a, rq, rs);
    else if (strcmp(c, "tasks") == 0 && post && n == 1)
        write_task(a, rq, rs, 0);
    else if (strcmp(c, "tasks") == 0 && get && n == 2)
        get_one(a, rs, "tasks", id);
    else if (strcmp(c, "tasks") == 0 && put && n == 2)
        write_task(a, rq, rs, id);
    else if (strcmp(c, "tasks") == 0 && del && n == 2)
        delete_task(a, rq, rs, id);
    else
        not_found(a, rs);
}

/* ---- rate limit ---- */

static void too_many(struct sim_account *a, int retry_after, struct sim_resp *rs)
{
    fail(a, rs, 429, "message",
         "This error occurs because you have exceeded the rate limits: 15 requests every 10 "
         "seconds per IP address and 20 requests every 10 seconds per account. Please slow "
         "down and try again later.");
    if (cfg_flag(a, "retry_after"))
        resp_header(rs, "Retry-After", "%d", retry_after);
}

/* ---- scenario ---- */

static const char *const GUEST_LINES[] = {
    "Hi! What time can we check in?",
    "Is there parking near the apartment?",
    "The Wi-Fi password doesn't seem to work 😕",
    "Merci beaucoup, tout était parfait ! 🙏",
    "Könnten wir ein Babybett bekommen?",
    "¿Hay toallas extra en el apartamento?",
    "チェックインは何時からですか？",
    "The shower drain is blocked and water is everywhere!!",
    "We'll arrive late, around 23:30 — is self check-in OK?",
    "Heating isn't working, it's freezing 🥶",
    "Can we leave our bags after checkout?",
    "Thanks for the lovely stay ⭐⭐⭐⭐⭐",
    "Czy mogę prosić o fakturę?",
    "The key box code 4821 doesn't open.",
    "Is the dishwasher supposed to beep like that?",
};

static char *long_message(struct sim_account *a)
{
    struct buf b;
    buf_init(&b);
    buf_puts(&b, "Hello, I want to explain everything that happened during our stay. ");
    int n = 40 + (int)(sim_rand(a) % 40);
    for (int i = 0; i < n; i++)
        buf_printf(&b,
                   "On day %d the %s, and we had to wait for a long time before anyone "
                   "answered — très frustrant. ",
                   i + 1,
                   sim_pick(a,
                            (const char *const[]){"hot water stopped", "lift was out of order",
                                                  "neighbours were loud", "lights flickered"},
                            4));
    buf_puts(&b, "Regards 🙂");
    return buf_steal(&b);
}

static char *guest_text(struct sim_account *a)
{
    uint32_t r = sim_rand(a) % 20;
    if (r == 0)
        return xstrdup("Hi \x1b[2J\x1b]52;c;aGk=\x07 please call me back \x1b[31mNOW\x1b[0m");
    if (r == 1)
        return long_message(a);
    return xstrdup(sim_pick(a, GUEST_LINES, (int)ARRAY_LEN(GUEST_LINES)));
}

static cJSON *random_item(struct sim_account *a, const char *coll)
{
    cJSON *c = world_coll(a, coll);
    int n = cJSON_GetArraySize(c);
    return n ? cJSON_GetArrayItem(c, (int)(sim_rand(a) % (unsigned)n)) : NULL;
}

static void guest_writes(struct sim_account *a, cJSON *conv, const char *body)
{
    char *text = body ? xstrdup(body) : guest_text(a);
    add_message(a, conv, text, guest_channel(a, conv), 1);
    free(text);
}

static cJSON *random_listing(struct sim_account *a)
{
    return random_item(a, "listings");
}

static void tick(struct sim_account *a)
{
    int64_t step = 5000 + (int64_t)(sim_rand(a) % 115000);
    if (sim.rate > 0) /* live: follow the wall clock */
        a->clock_ms = a->clock_ms + 1 > sim_now() ? a->clock_ms + 1 : sim_now();
    else
        a->clock_ms += step;
    uint32_t r = sim_rand(a) % 100;
    if (r < 55) {
        cJSON *conv = random_item(a, "conversations");
        if (conv)
            guest_writes(a, conv, NULL);
    } else if (r < 67) {
        const cJSON *l = random_listing(a);
        static const int channels[] = {2018, 2018, 2005, 2005, 2002, 2000, 2013};
        if (l) {
            create_booking(a, (int64_t)num(l, "id"), channels[sim_rand(a) % 7],
                           sim_pick(a, FIRST, (int)ARRAY_LEN(FIRST)),
                           sim_pick(a, LAST, (int)ARRAY_LEN(LAST)), NULL, NULL,
                           sim_chance(a, 0.3) ? "inquiry" : "new");
            cJSON *convs = world_coll(a, "conversations");
            guest_writes(a, cJSON_GetArrayItem(convs, cJSON_GetArraySize(convs) - 1), NULL);
        }
    } else if (r < 80) {
        cJSON *res = random_item(a, "reservations");
        if (res && !str_eq(json_str(res, "status"), "cancelled")) {
            json_set_num(res, "numberOfGuests", 1 + sim_rand(a) % 6);
            json_set_str(res, "status", "modified");
            touch_reservation(a, res);
            hook(a, "reservation", "reservation.updated", res);
        }
    } else if (r < 86) {
        cJSON *res = random_item(a, "reservations");
        if (res && !str_eq(json_str(res, "status"), "cancelled")) {
            json_set_str(res, "status", "cancelled");
            json_set_str(res, "cancelledBy", sim_chance(a, 0.8) ? "guest" : "host");
            touch_reservation(a, res);
            hook(a, "reservation", "reservation.updated", res);
        }
    } else {
        /* work progresses; Hostaway sends no task webhooks */
        cJSON *t = random_item(a, "tasks");
        if (t) {
            const char *s = json_str(t, "status");
            for (size_t i = 0; i + 1 < ARRAY_LEN(TASK_STEPS); i++)
                if (str_eq(s, TASK_STEPS[i])) {
                    task_set_status(a, t, TASK_STEPS[i + 1]);
                    break;
                }
        }
    }
}

static int inject(struct sim_account *a, const cJSON *ev, const char **why)
{
    const char *kind = json_str(ev, "kind");
    const cJSON *idv = cJSON_GetObjectItemCaseSensitive(ev, "id");
    if (str_eq(kind, "message")) {
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(ev, "conversationId");
        cJSON *conv = cid ? NULL : random_item(a, "conversations");
        if (cid && (!cJSON_IsNumber(cid) ||
                    !(conv = find_id(a, "conversations", (int64_t)cid->valuedouble)))) {
            *why = "no such conversationId";
            return -1;
        }
        if (!conv) {
            *why = "there are no conversations";
            return -1;
        }
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(ev, "body");
        if (body && !cJSON_IsString(body)) {
            *why = "body must be a string";
            return -1;
        }
        const char *type = json_str(ev, "communicationType");
        if (type && !in_list(type, COMM_TYPES, 4)) {
            *why = "communicationType must be email, channel, sms or whatsapp";
            return -1;
        }
        a->clock_ms += 1000;
        char *text = body ? xstrdup(body->valuestring) : guest_text(a);
        add_message(a, conv, text, type ? type : guest_channel(a, conv), 1);
        free(text);
        return 0;
    }
    if (str_eq(kind, "task_status")) {
        const char *status = json_str(ev, "status");
        cJSON *t = cJSON_IsNumber(idv) ? find_id(a, "tasks", (int64_t)idv->valuedouble) : NULL;
        if (!t) {
            *why = "no such task id";
            return -1;
        }
        if (!in_list(status, TASK_STATUSES, ARRAY_LEN(TASK_STATUSES))) {
            *why = "status must be pending, confirmed, inProgress, completed or cancelled";
            return -1;
        }
        a->clock_ms += 1000;
        task_set_status(a, t, status);
        return 0;
    }
    if (str_eq(kind, "reservation")) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(ev, "listingMapId");
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(ev, "channelId");
        const char *status = json_str(ev, "status");
        const char *arr = json_str(ev, "arrivalDate"), *dep = json_str(ev, "departureDate");
        int64_t ms;
        int d;
        if (l && (!cJSON_IsNumber(l) || !find_id(a, "listings", (int64_t)l->valuedouble))) {
            *why = "no such listingMapId";
            return -1;
        }
        if (ch && !cJSON_IsNumber(ch)) {
            *why = "channelId must be a number";
            return -1;
        }
        if (status && !in_list(status, RES_STATUSES, ARRAY_LEN(RES_STATUSES))) {
            *why = "unknown reservation status";
            return -1;
        }
        if ((arr && (parse_time(arr, &ms, &d) != 0 || !d)) ||
            (dep && (parse_time(dep, &ms, &d) != 0 || !d))) {
            *why = "arrivalDate/departureDate must be YYYY-MM-DD";
            return -1;
        }
        const cJSON *lst = l ? find_id(a, "listings", (int64_t)l->valuedouble) : random_listing(a);
        if (!lst) {
            *why = "there are no listings";
            return -1;
        }
        const char *first = json_str(ev, "guestFirstName"), *last = json_str(ev, "guestLastName");
        a->clock_ms += 1000;
        create_booking(a, (int64_t)num(lst, "id"), ch ? ch->valueint : 2018,
                       first ? first : sim_pick(a, FIRST, (int)ARRAY_LEN(FIRST)),
                       last ? last : sim_pick(a, LAST, (int)ARRAY_LEN(LAST)), arr, dep, status);
        return 0;
    }
    if (str_eq(kind, "reservation_status")) {
        const char *status = json_str(ev, "status");
        cJSON *r =
            cJSON_IsNumber(idv) ? find_id(a, "reservations", (int64_t)idv->valuedouble) : NULL;
        if (!r) {
            *why = "no such reservation id";
            return -1;
        }
        if (!in_list(status, RES_STATUSES, ARRAY_LEN(RES_STATUSES))) {
            *why = "unknown reservation status";
            return -1;
        }
        a->clock_ms += 1000;
        json_set_str(r, "status", status);
        if (strcmp(status, "cancelled") == 0)
            json_set_str(r, "cancelledBy", "guest");
        touch_reservation(a, r);
        hook(a, "reservation", "reservation.updated", r);
        return 0;
    }
    if (str_eq(kind, "lock_reservation")) {
        if (!cJSON_IsNumber(idv) || !find_id(a, "reservations", (int64_t)idv->valuedouble)) {
            *why = "no such reservation id";
            return -1;
        }
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(cfg(a), "locked"),
                             cJSON_CreateNumber(idv->valuedouble));
        return 0;
    }
    if (str_eq(kind, "expire_tokens")) {
        cJSON *t;
        cJSON_ArrayForEach(t, a->tokens)
        {
            json_set_num(t, "expires", (double)sim_now());
        }
        return 0;
    }
    if (str_eq(kind, "config")) {
        cfg_set_flags(a, ev);
        return 0;
    }
    *why = "unknown kind: use message, task_status, reservation, reservation_status, "
           "lock_reservation, expire_tokens or config";
    return -1;
}

/* ---- webhook auth: optional HTTP Basic from "user:pass"; no body signature exists ---- */

static void sign(struct sim_account *a, const char *body, char **hname, char **hvalue, int *n,
                 int max)
{
    (void)body;
    const char *s = a->webhook_secret;
    if (!s || !*s || !strchr(s, ':') || *n >= max)
        return;
    int len = (int)strlen(s);
    char *enc = xmalloc((size_t)(4 * ((len + 2) / 3) + 1));
    EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)s, len);
    hname[*n] = xstrdup("Authorization");
    hvalue[*n] = xasprintf("Basic %s", enc);
    (*n)++;
    free(enc);
}

const struct dialect_ops hostaway_dialect = {
    .name = "hostaway",
    .seed = seed,
    .handle = handle,
    .too_many = too_many,
    .limit_headers = NULL,
    .tick = tick,
    .inject = inject,
    .sign = sign,
};
