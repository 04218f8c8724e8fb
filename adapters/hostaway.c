/* hostaway.c - the Hostaway dialect (Public API v1, https://api.hostaway.com/v1).
 *
 * Wire facts: /work/shared/reference/pms-apis-vacation-rental.md section 1. Contract:
 * adapters/adapter.h. This file knows Hostaway's routes, envelopes and quirks and nothing
 * else: no SQL, no retries (the engine owns them), no sleeping except the 1 s a freshly
 * minted token needs before Hostaway accepts it.
 *
 * Rate: Hostaway allows 15 requests / 10 s per IP and 20 / 10 s per account. The account's
 * limiter (http.h) holds at most `burst` requests in any burst / rate seconds, counted until
 * a window after each answer, so 1.5/s with 15 is at most 15 in any 10 s as Hostaway counts
 * them: under both limits (several accounts behind one IP share the per-IP limit: lower
 * rate_limit in accounts.conf then).
 *
 * Auth: form POST {base}/accessTokens (client_credentials, scope=general). Both answer forms
 * are accepted: the documented bare {"access_token",...} and the wrapped
 * {"status":"success","result":{...}}. A token is valid only 1 s after Hostaway returns it,
 * so auth sleeps the rest of that second before it publishes the token through
 * host->token_put: a token found in the shared cache is always usable at once. Tokens are
 * reused until 60 s before expires_in runs out. A 403 on any call means "token expired"
 * (Hostaway's documented advice): the adapter adopts a newer token another instance put in
 * the cache, or mints one, and fails with ADAPTER_EAUTH / RETRY_NOW; a second 403 right
 * after a mint is FINAL. A 403 whose message says the reservation is locked or cannot be
 * modified (the 3P-reported overloaded 403) is FINAL with Hostaway's message.
 *
 * Mapping (Hostaway -> canonical):
 *   listing       -> ENT_PROPERTY and ENT_UNIT, both with the listing id (a listing is a
 *                    property with exactly one unit)
 *   reservation   -> ENT_CONTACT "guest:<reservation id>" (Hostaway has no guest ids), then
 *                    ENT_STAY; unit/property = listingMapId; channel from channelId
 *   conversation  -> ENT_THREAD; stay = reservationId, unit/property = listingMapId, contact =
 *                    the reservation's guest; channel = the reservation's OTA (2018/2001
 *                    airbnb, 2005 booking, 2002 vrbo, 2007 and other channels ota), else
 *                    the latest message's communicationType (email/sms/whatsapp), else email
 *   message       -> ENT_MESSAGE; isIncoming 1 -> in, 0 -> out; communicationType channel ->
 *                    the thread's OTA channel; sent_at = date; author = recipientName
 *                    (incoming) or "host"; remote_updated_at = updatedOn, else date
 *   task          -> ENT_WORK_ORDER; status pending -> new (assigned with an assignee),
 *                    confirmed -> scheduled, inProgress -> in_progress, completed, cancelled;
 *                    priority 1..4 -> low, normal, high, emergency (null -> normal; the
 *                    numbers are not documented); categoriesMap 1 cleaning, 2 maintenance...
 *                    -> trade; cleaning tasks are kept
 *   user          -> ENT_VENDOR (task assignees)
 * Validation: a missing required field, a changed type or an unknown enum value is reported
 * through sink->drift (entity, remote id, field, why) and the record is skipped.
 *
 * Cursors (opaque to the engine; "" or NULL starts over):
 *   listings, users, tasks   "off=N"  limit/offset walk of the whole list every cycle (these
 *                            lists are small: tens to a few hundred records); N is the
 *                            offset of the next page, back to 0 when the walk ends.
 *   reservations             "hw=MS;after=ID;max=MS"  afterId walk (ids ascending) with
 *                            latestActivityStart = the UTC date of hw - 5 min (the filter
 *                            is documented as a date); records whose max(latestActivityOn,
 *                            updatedOn) is older than hw - 5 min are skipped client-side.
 *                            hw = newest activity of the last finished walk (0: first walk,
 *                            no filter), after = last id of this walk, max = newest activity
 *                            seen in this walk (becomes hw when it ends).
 *   conversations, messages  "hw=MS;off=N;max=MS"  Hostaway has no updated-since for either:
 *                            the /conversations list is walked by offset and a conversation
 *                            counts as changed when max(messageSentOn, messageReceivedOn,
 *                            its latest message's date) >= hw - 5 min. Threads are emitted
 *                            for changed conversations; messages are read (GET
 *                            /conversations/{id}/messages, every page) only for changed
 *                            conversations and emitted when max(date, updatedOn) >=
 *                            hw - 5 min. The first walk (hw 0) takes everything. A message
 *                            page covers 20 conversations (each may cost one more request).
 *   All times are Hostaway's own clock, so porter's clock skew does not matter.
 *
 * Writes: reply -> POST /conversations/{thread}/messages {"body","communicationType"}
 * (email, sms, whatsapp; airbnb/booking/vrbo/ota -> "channel"); note -> ADAPTER_LOCAL_ONLY
 * (Hostaway has no internal notes); wo_create -> POST /tasks; wo_status, wo_vendor,
 * wo_priority, wo_schedule -> PUT /tasks/{id} with only the changed field (Hostaway's PUT
 * semantics are undocumented; a partial body is what public clients send); wo_note ->
 * ADAPTER_LOCAL_ONLY. HTTP 2xx ok; 400/404/422 and other 4xx FINAL with Hostaway's
 * "message"/"result" text; 403 as above; 408/429/5xx and no answer RETRY_LATER.
 *
 * find: reply -> the first page of the conversation's messages, an outgoing message with
 * the same body dated >= created_at - 2 min; wo_create -> the task list, same title,
 * description, listing and reservation, highest id (tasks carry no creation stamp, so a
 * recurring identical task could be adopted by mistake); wo_status -> GET /tasks/{id} has
 * the target status. The idempotent PUTs of the other ops answer 0 (resending is safe).
 *
 * Webhooks: Hostaway signs nothing. With webhook_secret "user:password" the request must
 * carry "Authorization: Basic base64(user:password)" (constant-time compare), else 401;
 * without a secret everything is accepted (the engine warns). event_id = "sha256:" + hex
 * SHA-256 of the body (Hostaway has no event id; duplicates are byte-identical). kind = the
 * "event" field ("unknown" when absent). Apply: reservation.* -> contact + stay;
 * message.received -> the message, completed by GET /conversations/{id} when the thread is
 * not stored yet (then stay and thread are put first); other events are ignored. When the
 * event's one record drifted, apply returns -1 FINAL ADAPTER_EDRIFT so the engine
 * quarantines the event.
 */
#include "adapter.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "wire.h"
#include "store.h"

#define HA_PAGE           100
#define HA_MSG_CONV_PAGE  20
#define HA_OVERLAP_MS     (5 * 60 * 1000LL)
#define HA_FIND_WINDOW_MS (2 * 60 * 1000LL)
#define HA_TOKEN_DELAY_MS 1000
#define HA_TOKEN_SLACK_MS 60000
#define HA_CONV_CACHE     64
#define HA_MAX_MS         253402300800000.0 /* 10000-01-01: the last time ha_fmt can print */

/* What a conversation tells about its messages (cached for webhooks). */
struct ha_conv {
    int64_t id; /* 0: empty slot */
    enum channel ota;
    char name[128];
};

struct hostaway {
    char *token;        /* owned */
    int64_t expires_at; /* wall ms */
    int mints;          /* tokens minted since the last 2xx: a 403 after one is final */
    struct ha_conv cache[HA_CONV_CACHE];
    unsigned next_slot;
};

/* ---- small helpers ---- */

static void sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* "YYYY-MM-DD HH:MM:SS" (UTC; 'T' and a trailing 'Z' tolerated) or "YYYY-MM-DD" -> ms;
 * -1 when it does not parse. */
static int64_t ha_time(const char *s)
{
    if (!s)
        return -1;
    size_t n = strlen(s);
    if (n == 20 && s[19] == 'Z')
        n = 19;
    if (n != 10 && n != 19)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int sep = i == 4 || i == 7 || i == 10 || i == 13 || i == 16;
        if (!sep && (s[i] < '0' || s[i] > '9'))
            return -1;
        if (sep &&
            s[i] != (i == 10                ? ' '
                     : (i == 13 || i == 16) ? ':'
                                            : '-') &&
            !(i == 10 && s[i] == 'T'))
            return -1;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    if (n == 19) {
        tm.tm_hour = atoi(s + 11);
        tm.tm_min = atoi(s + 14);
        tm.tm_sec = atoi(s + 17);
    }
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return -1;
    return (int64_t)timegm(&tm) * 1000;
}

/* A time field of this dialect (see v_time). */
static int64_t v_when(struct vctx *v, const cJSON *o, const char *field, int required)
{
    return v_time(v, o, field, required, ha_time, "not a YYYY-MM-DD HH:MM:SS time");
}

static void ha_fmt(int64_t ms, char out[20], int date_only)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 20, date_only ? "%Y-%m-%d" : "%Y-%m-%d %H:%M:%S", &tm);
}

static int is_date(const char *s)
{
    return s && strlen(s) == 10 && ha_time(s) >= 0;
}

static int64_t jtime(const cJSON *o, const char *k)
{
    return ha_time(jstr(o, k));
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* Hostaway's error text: "message" or "result" when it is a string. */
static const char *pms_text(const cJSON *root)
{
    const char *m = jstr(root, "message");
    if (!m || !*m)
        m = jstr(root, "result");
    return m && *m ? m : NULL;
}

/* Case-insensitive (ASCII) substring test. */
static int has_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

/* A canonical remote id that must be a Hostaway integer id; 0 when it is not. */
static int64_t parse_remote_id(const char *s)
{
    if (!s || !*s)
        return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    return *end || v <= 0 ? 0 : (int64_t)v;
}

/* ---- validation: the first problem of a record is reported through sink->drift ---- */

/* A 0/1 boolean (true/false accepted); `def` when absent and not required. */
static int v_bool(struct vctx *v, const cJSON *o, const char *field, int required, int def)
{
    const cJSON *j = jget(o, field);
    if (!j || cJSON_IsNull(j)) {
        if (required)
            vdrift(v, field, "missing");
        return def;
    }
    if (cJSON_IsBool(j))
        return cJSON_IsTrue(j);
    if (cJSON_IsNumber(j) && (j->valuedouble == 0 || j->valuedouble == 1))
        return j->valuedouble != 0;
    vdrift(v, field, "not a 0/1 boolean");
    return def;
}

/* ---- dialect enumerations ---- */

/* The canonical channel of a reservation's channelId/channelName (CH_EMAIL for direct). */
static enum channel res_channel(const cJSON *res)
{
    switch (jid(res, "channelId")) {
    case 2018: /* airbnbOfficial */
    case 2001: /* legacy "airbnb" (the documented sample) */
        return CH_AIRBNB;
    case 2005:
        return CH_BOOKING;
    case 2002:
        return CH_VRBO;
    case 2007:
        return CH_OTA;
    case 2000: /* direct */
    case 2013: /* bookingengine */
        return CH_EMAIL;
    case 0:
        break;
    default:
        return CH_OTA; /* marriott, google and the other channels */
    }
    const char *n = jstr(res, "channelName");
    if (!n)
        return CH_EMAIL;
    if (strstr(n, "airbnb"))
        return CH_AIRBNB;
    if (strcmp(n, "bookingcom") == 0 || strcmp(n, "booking") == 0)
        return CH_BOOKING;
    if (strstr(n, "homeaway") || strstr(n, "vrbo"))
        return CH_VRBO;
    if (strcmp(n, "direct") == 0 || strcmp(n, "bookingengine") == 0)
        return CH_EMAIL;
    return CH_OTA;
}

static int is_ota(enum channel c)
{
    return c == CH_AIRBNB || c == CH_BOOKING || c == CH_VRBO || c == CH_OTA;
}

/* communicationType -> channel; `ota` stands for "channel". -1 when unknown. */
static int comm_channel(const char *t, enum channel ota)
{
    if (!t || strcmp(t, "email") == 0)
        return CH_EMAIL; /* Hostaway's default */
    if (strcmp(t, "sms") == 0)
        return CH_SMS;
    if (strcmp(t, "whatsapp") == 0)
        return CH_WHATSAPP;
    if (strcmp(t, "channel") == 0)
        return ota;
    return -1;
}

/* Canonical channel -> communicationType; NULL when Hostaway cannot send on it. */
static const char *channel_comm(const char *ch)
{
    if (!ch || !*ch || strcmp(ch, "email") == 0)
        return "email";
    if (strcmp(ch, "sms") == 0 || strcmp(ch, "whatsapp") == 0)
        return ch;
    if (strcmp(ch, "airbnb") == 0 || strcmp(ch, "booking") == 0 || strcmp(ch, "vrbo") == 0 ||
        strcmp(ch, "ota") == 0)
        return "channel";
    return NULL;
}

/* Reservation status -> canonical stay status; NULL when unknown (drift). */
static const char *stay_status(const char *s)
{
    static const struct {
        const char *pms, *canon;
    } map[] = {
        {"new", "confirmed"},
        {"modified", "confirmed"},
        {"ownerStay", "confirmed"},
        {"cancelled", "cancelled"},
        {"pending", "pending"},
        {"awaitingPayment", "pending"},
        {"awaitingGuestVerification", "pending"},
        {"unconfirmed", "pending"},
        {"inquiry", "inquiry"},
        {"inquiryPreapproved", "inquiry"},
        {"declined", "declined"},
        {"expired", "declined"},
        {"inquiryDenied", "declined"},
        {"inquiryTimedout", "declined"},
        {"inquiryNotPossible", "declined"},
        {"unknown", "unknown"},
    };
    for (size_t i = 0; s && i < ARRAY_LEN(map); i++)
        if (strcmp(s, map[i].pms) == 0)
            return map[i].canon;
    return NULL;
}

/* Task status -> canonical; -1 when unknown. */
static int task_status(const char *s, int assigned)
{
    if (!s)
        return -1;
    if (strcmp(s, "pending") == 0)
        return assigned ? WO_ASSIGNED : WO_NEW;
    if (strcmp(s, "confirmed") == 0)
        return WO_SCHEDULED;
    if (strcmp(s, "inProgress") == 0)
        return WO_IN_PROGRESS;
    if (strcmp(s, "completed") == 0)
        return WO_COMPLETED;
    if (strcmp(s, "cancelled") == 0)
        return WO_CANCELLED;
    return -1;
}

/* Canonical work-order status -> task status. Hostaway has five values; the canonical ones
 * it cannot express go to the nearest: assigned and on_hold -> pending (the assignee and
 * the hold stay local refinements), closed -> completed. NULL when unknown. */
static const char *task_status_out(const char *canon)
{
    static const char *const map[WO_STATUS_COUNT] = {
        [WO_NEW] = "pending",         [WO_ASSIGNED] = "pending",
        [WO_SCHEDULED] = "confirmed", [WO_IN_PROGRESS] = "inProgress",
        [WO_ON_HOLD] = "pending",     [WO_COMPLETED] = "completed",
        [WO_CLOSED] = "completed",    [WO_CANCELLED] = "cancelled",
    };
    int s = wo_status_parse(canon);
    return s < 0 ? NULL : map[s];
}

/* Task priority (undocumented integer; 1..4 in the wild) <-> canonical. */
static enum priority task_priority(const cJSON *t)
{
    const cJSON *p = jget(t, "priority");
    if (cJSON_IsString(p)) {
        int v = priority_parse(p->valuestring);
        return v < 0 ? PRIO_NORMAL : (enum priority)v;
    }
    if (!cJSON_IsNumber(p))
        return PRIO_NORMAL;
    if (p->valuedouble <= 1)
        return PRIO_LOW;
    if (p->valuedouble < 3)
        return PRIO_NORMAL;
    if (p->valuedouble < 4)
        return PRIO_HIGH;
    return PRIO_EMERGENCY;
}

static int priority_out(const char *canon)
{
    switch (priority_parse(canon)) {
    case PRIO_LOW:
        return 1;
    case PRIO_HIGH:
        return 3;
    case PRIO_EMERGENCY:
        return 4;
    default:
        return 2;
    }
}

static const char *task_trade(const cJSON *t)
{
    static const char *const cat[] = {NULL,        "cleaning",    "maintenance", "check_in",
                                      "check_out", "back_office", "other"};
    const cJSON *c = cJSON_GetArrayItem(jget(t, "categoriesMap"), 0);
    if (!cJSON_IsNumber(c) || c->valueint < 1 || c->valueint > 6)
        return NULL;
    return cat[c->valueint];
}

/* ---- token ---- */

static void set_token(struct hostaway *h, const char *tok, int64_t expires_at)
{
    free(h->token);
    h->token = xstrdup(tok);
    h->expires_at = expires_at;
}

static int usable(const char *tok, int64_t expires_at)
{
    return tok && *tok && expires_at - HA_TOKEN_SLACK_MS > now_ms();
}

static char *url_of(struct adapter *a, const char *path)
{
    size_t n = strlen(a->base_url);
    while (n > 0 && a->base_url[n - 1] == '/')
        n--;
    return xasprintf("%.*s%s", (int)n, a->base_url, path);
}

/* Mint a token, wait until Hostaway accepts it, publish it through the host. */
static int mint(struct adapter *a, struct err *e)
{
    struct hostaway *h = a->priv;
    char *id = http_escape(a->conf->client_id), *secret = http_escape(a->conf->secret);
    char *form = xasprintf("grant_type=client_credentials&client_id=%s&client_secret=%s"
                           "&scope=general",
                           id, secret);
    free(id);
    free(secret);
    char *url = url_of(a, "/accessTokens");
    const struct http_header hd[] = {
        {"Content-Type", "application/x-www-form-urlencoded"},
        {"Cache-control", "no-cache"},
        {"Accept", "application/json"},
    };
    struct http_req rq = {
        .method = "POST", .url = url, .headers = hd, .nheaders = ARRAY_LEN(hd), .body = form};
    struct http_resp rs;
    memset(&rs, 0, sizeof(rs));
    int rc = http_request(a->http, &rq, &rs, e);
    int64_t received = mono_ms();
    free(url);
    OPENSSL_cleanse(form, strlen(form));
    free(form);
    if (rc != 0) {
        if (e && e->retry == RETRY_NONE)
            e->retry = RETRY_LATER;
        return -1;
    }
    cJSON *root = cJSON_ParseWithLength(rs.body ? rs.body : "", rs.len);
    long st = rs.status;
    http_resp_free(&rs);
    if (st < 200 || st > 299) {
        const char *m = pms_text(root);
        enum retry_class rc2 = http_status_retry(st);
        if (rc2 == RETRY_LATER)
            err_set(e, (int)st, RETRY_LATER, "Hostaway token endpoint answered %ld%s%s", st,
                    m ? ": " : "", m ? m : "");
        else
            err_set(e, ADAPTER_EAUTH, FINAL, "Hostaway refused the credentials (HTTP %ld)%s%s", st,
                    m ? ": " : "", m ? m : "");
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *t = root;
    if (cJSON_IsObject(jget(root, "result")))
        t = jget(root, "result"); /* the wrapped form (UNCONFIRMED, seen by one client) */
    const char *tok = jstr(t, "access_token");
    if (!tok || !*tok) {
        cJSON_Delete(root);
        return err_set(e, ADAPTER_EDRIFT, FINAL, "Hostaway token answer has no access_token");
    }
    const cJSON *ttl = jget(t, "expires_in");
    /* at most a year: a larger (or NaN) value must not overflow the conversion */
    int64_t ttl_ms = cJSON_IsNumber(ttl) && ttl->valuedouble > 0 && ttl->valuedouble <= 31536000
                         ? (int64_t)(ttl->valuedouble * 1000)
                         : 86400000LL; /* absent: assume a day, a 403 re-mints anyway */
    set_token(h, tok, now_ms() + ttl_ms);
    h->mints++;
    cJSON_Delete(root);
    /* "valid 1 second after being returned": the only sleep in this adapter */
    sleep_ms(received + HA_TOKEN_DELAY_MS - mono_ms());
    if (a->host && a->host->token_put)
        a->host->token_put(a->host->ctx, h->token, h->expires_at);
    log_info("hostaway", "%s: minted an access token", a->conf->name ? a->conf->name : "?");
    return 0;
}

/* Adopt the shared token when it is usable and differs from `stale` (may be NULL). */
static int adopt(struct adapter *a, const char *stale)
{
    struct hostaway *h = a->priv;
    char *tok = NULL;
    int64_t exp = -1;
    if (!a->host || !a->host->token_get || a->host->token_get(a->host->ctx, &tok, &exp) != 0) {
        free(tok);
        return 0;
    }
    int ok = usable(tok, exp) && (!stale || strcmp(tok, stale) != 0);
    if (ok)
        set_token(h, tok, exp);
    free(tok);
    return ok;
}

static int ha_auth(struct adapter *a, struct err *e)
{
    struct hostaway *h = a->priv;
    if (usable(h->token, h->expires_at) || adopt(a, NULL))
        return 0;
    return mint(a, e);
}

/* The 403 of an API call: a locked reservation, or an expired token. */
static int on_403(struct adapter *a, const char *m, struct err *e)
{
    struct hostaway *h = a->priv;
    if (m) {
        int tokenish = has_ci(m, "token") || has_ci(m, "unauthori") || has_ci(m, "expired") ||
                       has_ci(m, "authenticat");
        int locked = has_ci(m, "lock") || has_ci(m, "cannot be modified") ||
                     has_ci(m, "can not be modified") || has_ci(m, "not writable") ||
                     has_ci(m, "managed by the channel");
        if (locked && !tokenish)
            return err_set(e, 403, FINAL, "%s", m);
    }
    if (h->mints > 0)
        return err_set(e, ADAPTER_EAUTH, FINAL, "Hostaway refused a freshly minted token%s%s",
                       m ? ": " : "", m ? m : "");
    char *stale = h->token;
    h->token = NULL;
    int got = adopt(a, stale);
    free(stale);
    if (!got && mint(a, e) != 0)
        return -1;
    return err_set(e, ADAPTER_EAUTH, RETRY_NOW, "Hostaway token expired%s%s; renewed",
                   m ? ": " : "", m ? m : "");
}

/* One API call. On 0, *root is the parsed answer (caller frees). -1 with *e: e->code is
 * the HTTP status for HTTP errors (404 for "not found"), ADAPTER_EAUTH, ADAPTER_EDRIFT, or
 * the transport's code. */
static int ha_call(struct adapter *a, const char *method, const char *path, const char *json,
                   cJSON **root, struct err *e)
{
    struct hostaway *h = a->priv;
    *root = NULL;
    if (!usable(h->token, h->expires_at) && ha_auth(a, e) != 0)
        return -1;
    char *auth = xasprintf("Bearer %s", h->token);
    struct http_header hd[4] = {
        {"Authorization", auth},
        {"Cache-control", "no-cache"},
        {"Accept", "application/json"},
        {"Content-Type", "application/json"},
    };
    char *url = url_of(a, path);
    struct http_req rq = {
        .method = method, .url = url, .headers = hd, .nheaders = json ? 4 : 3, .body = json};
    struct http_resp rs;
    memset(&rs, 0, sizeof(rs));
    int rc = http_request(a->http, &rq, &rs, e);
    free(url);
    free(auth);
    if (rc != 0) {
        if (e && e->retry == RETRY_NONE)
            e->retry = RETRY_LATER;
        return -1;
    }
    long st = rs.status;
    cJSON *j = cJSON_ParseWithLength(rs.body ? rs.body : "", rs.len);
    http_resp_free(&rs);
    const char *m = pms_text(j);
    if (st == 403) {
        rc = on_403(a, m, e);
        cJSON_Delete(j);
        return rc;
    }
    if (st < 200 || st > 299) {
        enum retry_class r = http_status_retry(st);
        if (r == RETRY_NONE)
            r = FINAL; /* 1xx/3xx: nothing usable came back */
        if (m)
            err_set(e, (int)st, r, "%s", m);
        else
            err_set(e, (int)st, r, "Hostaway answered HTTP %ld to %s %s", st, method, path);
        cJSON_Delete(j);
        return -1;
    }
    h->mints = 0;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return err_set(e, ADAPTER_EDRIFT, FINAL, "Hostaway answered %s %s with no JSON object",
                       method, path);
    }
    const char *status = jstr(j, "status");
    if (status && strcmp(status, "fail") == 0) {
        err_set(e, (int)st, FINAL, "%s", m ? m : "Hostaway answered status fail");
        cJSON_Delete(j);
        return -1;
    }
    *root = j;
    return 0;
}

/* ha_call and require "result" to be an array (lists) or an object (one record). */
static int ha_get(struct adapter *a, const char *path, int want_array, cJSON **root,
                  const cJSON **result, struct err *e)
{
    if (ha_call(a, "GET", path, NULL, root, e) != 0)
        return -1;
    const cJSON *r = jget(*root, "result");
    if (want_array ? !cJSON_IsArray(r) : !cJSON_IsObject(r)) {
        cJSON_Delete(*root);
        *root = NULL;
        return err_set(e, ADAPTER_EDRIFT, FINAL, "Hostaway GET %s: \"result\" is not %s", path,
                       want_array ? "an array" : "an object");
    }
    *result = r;
    return 0;
}

/* ---- records ---- */

static int put(struct sink *out, enum entity ent, const void *rec, struct err *e)
{
    return out->put(out, ent, rec, e);
}

static int is_enoparent(const struct err *e)
{
    return e && e->code == STORE_ENOPARENT;
}

static int put_listing(struct sink *out, enum entity ent, const cJSON *l, struct err *e)
{
    struct vctx v;
    vinit(&v, "hostaway", out, ent);
    v_key(&v, l, "id");
    const char *name = v_str(&v, l, "name", 0);
    const char *iname = v_str(&v, l, "internalListingName", 0);
    const char *addr = v_str(&v, l, "address", 0);
    const char *tz = v_str(&v, l, "timeZoneName", 0);
    int64_t upd = max64(v_when(&v, l, "updatedOn", 0), v_when(&v, l, "insertedOn", 0));
    if (v.bad)
        return 0;
    if (!name || !*name)
        name = iname;
    if (ent == ENT_PROPERTY) {
        struct rec_property p = {.remote_id = v.rid,
                                 .name = name,
                                 .address = addr,
                                 .timezone = tz,
                                 .remote_updated_at = upd};
        return put(out, ENT_PROPERTY, &p, e);
    }
    struct rec_unit u = {
        .remote_id = v.rid, .property_remote_id = v.rid, .name = name, .remote_updated_at = upd};
    return put(out, ENT_UNIT, &u, e);
}

/* GET /listings/{id} and put it as property and unit. 1 when the listing is gone (404). */
static int fetch_listing(struct adapter *a, struct sink *out, int64_t id, struct err *e)
{
    char path[64];
    snprintf(path, sizeof(path), "/listings/%lld", (long long)id);
    cJSON *root;
    const cJSON *l;
    if (ha_get(a, path, 0, &root, &l, e) != 0)
        return e && e->code == 404 ? 1 : -1;
    int rc = put_listing(out, ENT_PROPERTY, l, e);
    if (rc == 0)
        rc = put_listing(out, ENT_UNIT, l, e);
    cJSON_Delete(root);
    return rc;
}

/* Put a reservation's guest and the stay; a missing listing is fetched once. Returns 0
 * (also when the record drifted: *drifted set), -1 on a sink/HTTP error. */
static int put_reservation(struct adapter *a, struct sink *out, const cJSON *r, int *drifted,
                           struct err *e)
{
    struct vctx v;
    vinit(&v, "hostaway", out, ENT_STAY);
    v_key(&v, r, "id");
    int64_t listing = v_id(&v, r, "listingMapId", 1);
    const char *arrival = v_str(&v, r, "arrivalDate", 1);
    if (arrival && !is_date(arrival))
        vdrift(&v, "arrivalDate", "not a YYYY-MM-DD date");
    const char *departure = v_str(&v, r, "departureDate", 0);
    if (departure && !is_date(departure))
        vdrift(&v, "departureDate", "not a YYYY-MM-DD date");
    const char *st = v_str(&v, r, "status", 1);
    const char *canon = stay_status(st);
    if (st && !canon)
        vdrift(&v, "status", "unknown value");
    const char *name = v_str(&v, r, "guestName", 0);
    const char *first = v_str(&v, r, "guestFirstName", 0);
    const char *last = v_str(&v, r, "guestLastName", 0);
    const char *email = v_str(&v, r, "guestEmail", 0);
    const char *phone = v_str(&v, r, "phone", 0);
    const char *code = v_str(&v, r, "confirmationCode", 0);
    /* optional and only shown to staff: a doorCode of another type is ignored, not drift */
    const cJSON *door = jget(r, "doorCode");
    v_id(&v, r, "channelId", 0);
    int64_t upd = max64(v_when(&v, r, "updatedOn", 0), v_when(&v, r, "insertedOn", 0));
    const cJSON *ng = jget(r, "numberOfGuests");
    if (drifted)
        *drifted = v.bad > 0;
    if (v.bad)
        return 0;
    char lid[32], cid[64];
    snprintf(lid, sizeof(lid), "%lld", (long long)listing);
    snprintf(cid, sizeof(cid), "guest:%s", v.rid);
    char *full = NULL;
    if ((!name || !*name) && (first || last))
        name = full =
            xasprintf("%s%s%s", first ? first : "", first && last ? " " : "", last ? last : "");
    struct rec_contact c = {.remote_id = cid,
                            .kind = CONTACT_GUEST,
                            .name = name,
                            .email = email && *email ? email : NULL,
                            .phone = phone && *phone ? phone : NULL,
                            .remote_updated_at = upd};
    struct rec_stay s = {.remote_id = v.rid,
                         .property_remote_id = lid,
                         .unit_remote_id = lid,
                         .contact_remote_id = cid,
                         .status = canon,
                         .remote_status = st,
                         .channel = channel_name(res_channel(r)),
                         .arrival = arrival,
                         .departure = departure,
                         .guests = cJSON_IsNumber(ng) && ng->valueint > 0 ? ng->valueint : 0,
                         .confirmation_code = code,
                         .remote_updated_at = upd,
                         .door_code =
                             cJSON_IsString(door) && *door->valuestring ? door->valuestring : NULL};
    int rc = put(out, ENT_CONTACT, &c, e);
    if (rc == 0)
        rc = put(out, ENT_STAY, &s, e);
    if (rc != 0 && is_enoparent(e) && a) {
        int gone = fetch_listing(a, out, listing, e);
        if (gone < 0) {
            free(full);
            return -1;
        }
        if (gone == 1) /* the listing no longer exists: keep the stay without it */
            s.property_remote_id = s.unit_remote_id = NULL;
        rc = put(out, ENT_STAY, &s, e);
    }
    free(full);
    return rc;
}

/* GET /reservations/{id} and put guest + stay. 1 when it is gone or drifted. */
static int fetch_reservation(struct adapter *a, struct sink *out, int64_t id, struct err *e)
{
    char path[64];
    snprintf(path, sizeof(path), "/reservations/%lld", (long long)id);
    cJSON *root;
    const cJSON *r;
    if (ha_get(a, path, 0, &root, &r, e) != 0)
        return e && e->code == 404 ? 1 : -1;
    int drifted = 0;
    int rc = put_reservation(a, out, r, &drifted, e);
    cJSON_Delete(root);
    return rc != 0 ? -1 : drifted;
}

/* The newest activity of a conversation (0 when it has none). */
static int64_t conv_activity(const cJSON *c)
{
    int64_t t = max64(jtime(c, "messageSentOn"), jtime(c, "messageReceivedOn"));
    const cJSON *m;
    cJSON_ArrayForEach(m, jget(c, "conversationMessages"))
    {
        t = max64(t, max64(jtime(m, "date"), jtime(m, "updatedOn")));
    }
    return t < 0 ? 0 : t;
}

/* What a conversation says about its messages: the OTA channel for "channel" and the
 * guest's name. */
static void conv_info(const cJSON *c, struct ha_conv *ci)
{
    const cJSON *res = jget(c, "Reservation");
    enum channel ch = cJSON_IsObject(res) ? res_channel(res) : CH_OTA;
    ci->id = jid(c, "id");
    ci->ota = is_ota(ch) ? ch : CH_OTA;
    const char *n = jstr(c, "recipientName");
    if (!n || !*n)
        n = jstr(res, "guestName");
    snprintf(ci->name, sizeof(ci->name), "%s", n ? n : "");
}

static void cache_put(struct hostaway *h, const struct ha_conv *ci)
{
    for (size_t i = 0; i < HA_CONV_CACHE; i++)
        if (h->cache[i].id == ci->id) {
            h->cache[i] = *ci;
            return;
        }
    h->cache[h->next_slot++ % HA_CONV_CACHE] = *ci;
}

static const struct ha_conv *cache_get(const struct hostaway *h, int64_t id)
{
    for (size_t i = 0; id && i < HA_CONV_CACHE; i++)
        if (h->cache[i].id == id)
            return &h->cache[i];
    return NULL;
}

/* Put a conversation as a thread. `repair`: on ENOPARENT put the reservation (embedded, or
 * fetched) and try again once. *drifted as in put_reservation. */
static int put_conversation(struct adapter *a, struct sink *out, const cJSON *c, int repair,
                            int *drifted, struct err *e)
{
    struct vctx v;
    vinit(&v, "hostaway", out, ENT_THREAD);
    v_key(&v, c, "id");
    int64_t res = v_id(&v, c, "reservationId", 0);
    int64_t listing = v_id(&v, c, "listingMapId", 0);
    v_str(&v, c, "type", 0);
    if (drifted)
        *drifted = v.bad > 0;
    if (v.bad)
        return 0;
    const cJSON *rj = jget(c, "Reservation");
    enum channel ch = cJSON_IsObject(rj) ? res_channel(rj) : CH_EMAIL;
    if (!is_ota(ch)) {
        const cJSON *last = cJSON_GetArrayItem(jget(c, "conversationMessages"), 0);
        const char *type = jstr(c, "type");
        int lc = comm_channel(jstr(last, "communicationType"), CH_OTA);
        if (last && lc >= 0 && lc != CH_OTA)
            ch = (enum channel)lc;
        else if (type && strncmp(type, "host-guest-", 11) == 0 &&
                 comm_channel(type + 11, CH_OTA) >= 0 && strcmp(type + 11, "channel") != 0)
            ch = (enum channel)comm_channel(type + 11, CH_OTA);
        else
            ch = CH_EMAIL;
    }
    char rid[32], lid[32], cid[48];
    snprintf(rid, sizeof(rid), "%lld", (long long)res);
    snprintf(lid, sizeof(lid), "%lld", (long long)listing);
    snprintf(cid, sizeof(cid), "guest:%lld", (long long)res);
    struct rec_thread t = {.remote_id = v.rid,
                           .kind = THREAD_GUEST,
                           .subject = jstr(rj, "listingName"),
                           .contact_remote_id = res ? cid : NULL,
                           .stay_remote_id = res ? rid : NULL,
                           .property_remote_id = listing ? lid : NULL,
                           .unit_remote_id = listing ? lid : NULL,
                           .channel = ch,
                           .remote_updated_at = conv_activity(c)};
    if (a) {
        struct ha_conv ci;
        conv_info(c, &ci);
        cache_put(a->priv, &ci);
    }
    int rc = put(out, ENT_THREAD, &t, e);
    if (rc == 0 || !repair || !is_enoparent(e) || !a)
        return rc;
    int gone = 1;
    if (cJSON_IsObject(rj) && jid(rj, "id") == res) {
        int d = 0;
        if (put_reservation(a, out, rj, &d, e) != 0)
            return -1;
        gone = d;
    } else if (res) {
        gone = fetch_reservation(a, out, res, e);
        if (gone < 0)
            return -1;
    }
    if (gone) { /* the stay cannot be had: keep the thread without it */
        t.stay_remote_id = t.contact_remote_id = NULL;
        rc = put(out, ENT_THREAD, &t, e);
        if (rc != 0 && is_enoparent(e) && listing && fetch_listing(a, out, listing, e) >= 0)
            rc = put(out, ENT_THREAD, &t, e);
        return rc;
    }
    return put(out, ENT_THREAD, &t, e);
}

/* A message record built from wire JSON (strings point into the JSON or into bufs). */
struct ha_msg {
    char conv[32];
    int64_t conv_id;
    int64_t time; /* max(date, updatedOn): the change stamp */
    struct rec_message m;
    struct vctx v;
};

/* Validate and map; 0, or -1 when it drifted (already reported). `ci` may be NULL. */
static int build_message(struct sink *out, const cJSON *j, const struct ha_conv *ci,
                         struct ha_msg *hm)
{
    struct vctx *v = &hm->v;
    vinit(v, "hostaway", out, ENT_MESSAGE);
    v_key(v, j, "id");
    hm->conv_id = v_id(v, j, "conversationId", 1);
    const char *body = v_str(v, j, "body", 1);
    int incoming = v_bool(v, j, "isIncoming", 1, 0);
    int64_t date = v_when(v, j, "date", 1);
    int64_t upd = v_when(v, j, "updatedOn", 0);
    const char *type = v_str(v, j, "communicationType", 0);
    int ch = comm_channel(type, ci ? ci->ota : CH_OTA);
    if (ch < 0)
        vdrift(v, "communicationType", "unknown value");
    if (v->bad)
        return -1;
    snprintf(hm->conv, sizeof(hm->conv), "%lld", (long long)hm->conv_id);
    hm->time = max64(date, upd);
    hm->m = (struct rec_message){
        .remote_id = v->rid,
        .thread_remote_id = hm->conv,
        .direction = incoming ? DIR_IN : DIR_OUT,
        .channel = (enum channel)ch,
        .author = incoming ? (ci && ci->name[0] ? ci->name : NULL) : "host",
        .body = body,
        .sent_at = date,
        .remote_updated_at = upd ? upd : date,
    };
    return 0;
}

/* Put a message; when its thread is not stored, put `conv` (fetched when NULL) first. */
static int put_message(struct adapter *a, struct sink *out, struct ha_msg *hm, const cJSON *conv,
                       struct err *e)
{
    int rc = put(out, ENT_MESSAGE, &hm->m, e);
    if (rc == 0 || !is_enoparent(e))
        return rc;
    cJSON *root = NULL;
    if (!conv) {
        char path[64];
        snprintf(path, sizeof(path), "/conversations/%lld?includeResources=1",
                 (long long)hm->conv_id);
        if (ha_get(a, path, 0, &root, &conv, e) != 0)
            return -1;
    }
    int drifted = 0;
    rc = put_conversation(a, out, conv, 1, &drifted, e);
    cJSON_Delete(root);
    if (rc != 0)
        return -1;
    if (drifted)
        return err_set(e, ADAPTER_EDRIFT, FINAL, "conversation %s of message %s drifted", hm->conv,
                       hm->m.remote_id);
    return put(out, ENT_MESSAGE, &hm->m, e);
}

static int put_task(struct sink *out, const cJSON *t, struct err *e)
{
    struct vctx v;
    vinit(&v, "hostaway", out, ENT_WORK_ORDER);
    v_key(&v, t, "id");
    const char *title = v_str(&v, t, "title", 1);
    const char *desc = v_str(&v, t, "description", 0);
    const char *st = v_str(&v, t, "status", 1);
    int64_t assignee = v_id(&v, t, "assigneeUserId", 0);
    int64_t listing = v_id(&v, t, "listingMapId", 0);
    int64_t res = v_id(&v, t, "reservationId", 0);
    int64_t start = v_when(&v, t, "canStartFrom", 0);
    int64_t end = v_when(&v, t, "shouldEndBy", 0);
    int64_t created = v_when(&v, t, "insertedOn", 0);
    int64_t upd = v_when(&v, t, "updatedOn", 0);
    int status = task_status(st, assignee != 0);
    if (st && status < 0)
        vdrift(&v, "status", "unknown value");
    if (v.bad)
        return 0;
    char lid[32], rid[32], uid[32], due[20];
    snprintf(lid, sizeof(lid), "%lld", (long long)listing);
    snprintf(rid, sizeof(rid), "%lld", (long long)res);
    snprintf(uid, sizeof(uid), "%lld", (long long)assignee);
    if (end)
        ha_fmt(end, due, 1);
    struct rec_work_order w = {.remote_id = v.rid,
                               .title = title,
                               .description = desc,
                               .status = (enum wo_status)status,
                               .remote_status = st,
                               .priority = task_priority(t),
                               .trade = task_trade(t),
                               .property_remote_id = listing ? lid : NULL,
                               .unit_remote_id = listing ? lid : NULL,
                               .stay_remote_id = res ? rid : NULL,
                               .vendor_remote_id = assignee ? uid : NULL,
                               .schedule_start = start,
                               .schedule_end = end,
                               .due_date = end ? due : NULL,
                               .created_at = created,
                               .remote_updated_at = upd};
    int rc = put(out, ENT_WORK_ORDER, &w, e);
    if (rc != 0 && is_enoparent(e)) {
        /* a reservation or user added since their pull: link them on the next walk */
        log_info("hostaway", "task %s: parent not stored yet; putting it unlinked", v.rid);
        w.stay_remote_id = w.vendor_remote_id = NULL;
        rc = put(out, ENT_WORK_ORDER, &w, e);
    }
    return rc;
}

static int put_user(struct sink *out, const cJSON *u, struct err *e)
{
    struct vctx v;
    vinit(&v, "hostaway", out, ENT_VENDOR);
    v_key(&v, u, "id");
    const char *first = v_str(&v, u, "firstName", 0);
    const char *last = v_str(&v, u, "lastName", 0);
    const char *email = v_str(&v, u, "email", 0);
    const char *phone = v_str(&v, u, "phone", 0);
    int active = v_bool(&v, u, "isActive", 0, 1);
    int64_t upd = max64(v_when(&v, u, "updatedOn", 0), v_when(&v, u, "insertedOn", 0));
    if (v.bad)
        return 0;
    char *name =
        xasprintf("%s%s%s", first ? first : "", first && last ? " " : "", last ? last : "");
    struct rec_vendor r = {.remote_id = v.rid,
                           .name = *name ? name : (email ? email : v.rid),
                           .email = email,
                           .phone = phone,
                           .active = active,
                           .remote_updated_at = upd};
    int rc = put(out, ENT_VENDOR, &r, e);
    free(name);
    return rc;
}

/* ---- cursors ---- */

struct cur {
    int64_t hw, max, pos; /* pos: offset or afterId */
};

static void cur_parse(const char *s, struct cur *c)
{
    memset(c, 0, sizeof(*c));
    for (const char *p = s; p && *p;) {
        long long v = 0;
        if (sscanf(p, "hw=%lld", &v) == 1)
            c->hw = v;
        else if (sscanf(p, "max=%lld", &v) == 1)
            c->max = v;
        else if (sscanf(p, "off=%lld", &v) == 1 || sscanf(p, "after=%lld", &v) == 1)
            c->pos = v;
        p = strchr(p, ';');
        p = p ? p + 1 : NULL;
    }
    if (c->hw < 0)
        c->hw = 0;
    if (c->pos < 0)
        c->pos = 0;
}

static char *cur_fmt(const struct cur *c, const char *pos_name)
{
    return xasprintf("hw=%lld;%s=%lld;max=%lld", (long long)c->hw, pos_name, (long long)c->pos,
                     (long long)c->max);
}

/* Is the list walk over after a page of n items at offset off? */
static int walk_done(const cJSON *root, int64_t off, int n, int limit)
{
    const cJSON *count = jget(root, "count");
    if (n < limit)
        return 1;
    /* compared as doubles: a count beyond int64 (1e300) must not overflow a conversion */
    return cJSON_IsNumber(count) && (double)(off + n) >= count->valuedouble;
}

/* ---- pull ---- */

static int pull_offset(struct adapter *a, enum entity ent, const char *cursor, struct sink *out,
                       char **next, struct err *e)
{
    static const char *const paths[ENTITY_COUNT] = {[ENT_PROPERTY] = "/listings",
                                                    [ENT_UNIT] = "/listings",
                                                    [ENT_VENDOR] = "/users",
                                                    [ENT_WORK_ORDER] = "/tasks"};
    struct cur c;
    cur_parse(cursor, &c);
    char path[96];
    snprintf(path, sizeof(path), "%s?limit=%d&offset=%lld", paths[ent], HA_PAGE, (long long)c.pos);
    cJSON *root;
    const cJSON *items, *it;
    if (ha_get(a, path, 1, &root, &items, e) != 0)
        return -1;
    int n = 0;
    cJSON_ArrayForEach(it, items)
    {
        int rc = ent == ENT_VENDOR       ? put_user(out, it, e)
                 : ent == ENT_WORK_ORDER ? put_task(out, it, e)
                                         : put_listing(out, ent, it, e);
        if (rc != 0) {
            cJSON_Delete(root);
            return -1;
        }
        n++;
    }
    int done = walk_done(root, c.pos, n, HA_PAGE);
    cJSON_Delete(root);
    *next = xasprintf("off=%lld", done ? 0LL : (long long)(c.pos + n));
    return done ? 0 : 1;
}

static int pull_reservations(struct adapter *a, const char *cursor, struct sink *out, char **next,
                             struct err *e)
{
    struct cur c;
    cur_parse(cursor, &c);
    struct buf path;
    buf_init(&path);
    buf_printf(&path, "/reservations?limit=%d&afterId=%lld&includeResources=0", HA_PAGE,
               (long long)c.pos);
    int64_t since = c.hw ? c.hw - HA_OVERLAP_MS : 0;
    if (since > 0) {
        char d[20];
        ha_fmt(since, d, 1);
        buf_printf(&path, "&latestActivityStart=%s", d);
    }
    cJSON *root;
    const cJSON *items, *r;
    int rc = ha_get(a, path.data, 1, &root, &items, e);
    buf_free(&path);
    if (rc != 0)
        return -1;
    int n = 0;
    int64_t last = c.pos;
    cJSON_ArrayForEach(r, items)
    {
        n++;
        int64_t id = jid(r, "id");
        if (id > last)
            last = id;
        int64_t act = max64(jtime(r, "latestActivityOn"), jtime(r, "updatedOn"));
        if (since && act >= 0 && act < since)
            continue; /* the date filter is coarse: older activity was taken before */
        c.max = max64(c.max, act);
        if (put_reservation(a, out, r, NULL, e) != 0) {
            cJSON_Delete(root);
            return -1;
        }
    }
    /* "pass the last id of the page and stop on an empty page"; count (the total after
     * filters) also tells when this page was the last */
    int done = n == 0 || walk_done(root, 0, n, HA_PAGE);
    cJSON_Delete(root);
    if (done) {
        c.hw = max64(c.hw, c.max);
        c.max = 0;
        c.pos = 0;
    } else {
        c.pos = last;
    }
    *next = cur_fmt(&c, "after");
    return done ? 0 : 1;
}

/* Read every message of conversation `conv` changed since `since` (0: all). */
static int pull_conv_messages(struct adapter *a, const cJSON *conv, int64_t since, struct sink *out,
                              struct err *e)
{
    struct ha_conv ci;
    conv_info(conv, &ci);
    cache_put(a->priv, &ci);
    for (int64_t off = 0;;) {
        char path[128];
        snprintf(path, sizeof(path), "/conversations/%lld/messages?limit=%d&offset=%lld",
                 (long long)ci.id, HA_PAGE, (long long)off);
        cJSON *root;
        const cJSON *items, *m;
        if (ha_get(a, path, 1, &root, &items, e) != 0)
            return -1;
        int n = 0;
        cJSON_ArrayForEach(m, items)
        {
            n++;
            struct ha_msg hm;
            if (build_message(out, m, &ci, &hm) != 0 || hm.time < since)
                continue;
            if (put_message(a, out, &hm, conv, e) != 0) {
                cJSON_Delete(root);
                return -1;
            }
        }
        int done = walk_done(root, off, n, HA_PAGE);
        cJSON_Delete(root);
        if (done)
            return 0;
        off += n;
    }
}

static int pull_conversations(struct adapter *a, enum entity ent, const char *cursor,
                              struct sink *out, char **next, struct err *e)
{
    struct cur c;
    cur_parse(cursor, &c);
    int limit = ent == ENT_MESSAGE ? HA_MSG_CONV_PAGE : HA_PAGE;
    char path[128];
    snprintf(path, sizeof(path), "/conversations?limit=%d&offset=%lld&includeResources=1", limit,
             (long long)c.pos);
    cJSON *root;
    const cJSON *items, *conv;
    if (ha_get(a, path, 1, &root, &items, e) != 0)
        return -1;
    int64_t since = c.hw ? c.hw - HA_OVERLAP_MS : 0;
    int n = 0;
    cJSON_ArrayForEach(conv, items)
    {
        n++;
        int64_t act = conv_activity(conv);
        if (since && act < since)
            continue;
        c.max = max64(c.max, act);
        int rc = ent == ENT_THREAD
                     ? put_conversation(a, out, conv, 1, NULL, e)
                     : (jid(conv, "id") ? pull_conv_messages(a, conv, since, out, e) : 0);
        if (rc != 0) {
            cJSON_Delete(root);
            return -1;
        }
    }
    int done = walk_done(root, c.pos, n, limit);
    cJSON_Delete(root);
    if (done) {
        c.hw = max64(c.hw, c.max);
        c.max = 0;
        c.pos = 0;
    } else {
        c.pos += n;
    }
    *next = cur_fmt(&c, "off");
    return done ? 0 : 1;
}

static int ha_pull(struct adapter *a, enum entity ent, const char *cursor, struct sink *out,
                   char **next, struct err *e)
{
    *next = NULL;
    switch (ent) {
    case ENT_PROPERTY:
    case ENT_UNIT:
    case ENT_VENDOR:
    case ENT_WORK_ORDER:
        return pull_offset(a, ent, cursor, out, next, e);
    case ENT_STAY:
        return pull_reservations(a, cursor, out, next, e);
    case ENT_THREAD:
    case ENT_MESSAGE:
        return pull_conversations(a, ent, cursor, out, next, e);
    case ENT_CONTACT: /* guests come with their reservations */
    default:
        *next = xstrdup(cursor ? cursor : "");
        return 0;
    }
}

/* ---- push ---- */

static int payload_err(struct err *e, const char *op, const char *what)
{
    return err_set(e, ADAPTER_EDRIFT, FINAL, "%s: payload %s", op, what);
}

static void fill_res(struct push_result *res, const cJSON *root)
{
    const cJSON *r = jget(root, "result");
    int64_t id = jid(r, "id");
    if (id)
        snprintf(res->remote_id, sizeof(res->remote_id), "%lld", (long long)id);
    int64_t upd = jtime(r, "updatedOn");
    if (upd < 0)
        upd = jtime(r, "date");
    res->remote_updated_at = upd > 0 ? upd : 0;
}

/* The task a wo_* op is about: op->remote_id or the payload's "remote_id". */
static int64_t op_task(const struct outbox_op *op, const cJSON *p)
{
    int64_t id = parse_remote_id(op->remote_id);
    return id ? id : parse_remote_id(jstr(p, "remote_id"));
}

static int push_reply(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                      struct push_result *res, struct err *e)
{
    int64_t thread = parse_remote_id(jstr(p, "thread"));
    const char *body = jstr(p, "body");
    if (!thread)
        return payload_err(e, op->op, "has no Hostaway conversation id in \"thread\"");
    if (!body || !*body)
        return payload_err(e, op->op, "has no \"body\"");
    const char *type = channel_comm(jstr(p, "channel"));
    if (!type)
        return err_set(e, 400, FINAL, "Hostaway cannot send messages on channel \"%s\"",
                       jstr(p, "channel"));
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "body", body);
    cJSON_AddStringToObject(b, "communicationType", type);
    char *json = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char path[64];
    snprintf(path, sizeof(path), "/conversations/%lld/messages", (long long)thread);
    cJSON *root;
    int rc = ha_call(a, "POST", path, json, &root, e);
    free(json);
    if (rc != 0)
        return -1;
    fill_res(res, root);
    cJSON_Delete(root);
    if (!res->remote_id[0])
        return err_set(e, ADAPTER_EDRIFT, FINAL, "Hostaway created the message but sent no id");
    return 0;
}

static int push_task(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                     struct push_result *res, struct err *e)
{
    int create = strcmp(op->op, "wo_create") == 0;
    int64_t id = create ? 0 : op_task(op, p);
    if (!create && !id)
        return payload_err(e, op->op, "has no Hostaway task id");
    cJSON *b = cJSON_CreateObject();
    if (create) {
        const char *title = jstr(p, "title"), *desc = jstr(p, "description");
        const char *trade = jstr(p, "trade");
        int64_t listing = parse_remote_id(jstr(p, "unit"));
        if (!listing)
            listing = parse_remote_id(jstr(p, "property"));
        int64_t stay = parse_remote_id(jstr(p, "stay"));
        cJSON_AddStringToObject(b, "title", title ? title : "");
        if (desc && *desc)
            cJSON_AddStringToObject(b, "description", desc);
        int cat = trade && strcmp(trade, "cleaning") == 0 ? 1 : 2;
        cJSON_AddItemToObject(b, "categoriesMap", cJSON_CreateIntArray(&cat, 1));
        if (listing)
            cJSON_AddNumberToObject(b, "listingMapId", (double)listing);
        if (stay)
            cJSON_AddNumberToObject(b, "reservationId", (double)stay);
        if (jstr(p, "priority"))
            cJSON_AddNumberToObject(b, "priority", priority_out(jstr(p, "priority")));
        int64_t vendor = parse_remote_id(jstr(p, "vendor")); /* dispatched before it went */
        if (vendor)
            cJSON_AddNumberToObject(b, "assigneeUserId", (double)vendor);
    } else if (strcmp(op->op, "wo_status") == 0) {
        const char *st = task_status_out(jstr(p, "status"));
        if (!st) {
            cJSON_Delete(b);
            return err_set(e, 400, FINAL, "unknown work-order status \"%s\"",
                           jstr(p, "status") ? jstr(p, "status") : "");
        }
        cJSON_AddStringToObject(b, "status", st);
    } else if (strcmp(op->op, "wo_priority") == 0) {
        cJSON_AddNumberToObject(b, "priority", priority_out(jstr(p, "priority")));
    } else if (strcmp(op->op, "wo_vendor") == 0) {
        int64_t v = parse_remote_id(jstr(p, "vendor"));
        if (v)
            cJSON_AddNumberToObject(b, "assigneeUserId", (double)v);
        else
            cJSON_AddNullToObject(b, "assigneeUserId");
    } else { /* wo_schedule */
        const cJSON *s = jget(p, "start"), *en = jget(p, "end");
        char t[20];
        if (cJSON_IsNumber(s) && s->valuedouble > 0 && s->valuedouble < HA_MAX_MS) {
            ha_fmt((int64_t)s->valuedouble, t, 0);
            cJSON_AddStringToObject(b, "canStartFrom", t);
        }
        if (cJSON_IsNumber(en) && en->valuedouble > 0 && en->valuedouble < HA_MAX_MS) {
            ha_fmt((int64_t)en->valuedouble, t, 0);
            cJSON_AddStringToObject(b, "shouldEndBy", t);
        }
    }
    char *json = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char path[64];
    if (create)
        snprintf(path, sizeof(path), "/tasks");
    else
        snprintf(path, sizeof(path), "/tasks/%lld", (long long)id);
    cJSON *root;
    int rc = ha_call(a, create ? "POST" : "PUT", path, json, &root, e);
    free(json);
    if (rc != 0)
        return -1;
    fill_res(res, root);
    cJSON_Delete(root);
    if (!res->remote_id[0] && !create)
        snprintf(res->remote_id, sizeof(res->remote_id), "%lld", (long long)id);
    if (!res->remote_id[0])
        return err_set(e, ADAPTER_EDRIFT, FINAL, "Hostaway created the task but sent no id");
    return 0;
}

static int is_op(const struct outbox_op *op, const char *name)
{
    return op->op && strcmp(op->op, name) == 0;
}

static int ha_push(struct adapter *a, const struct outbox_op *op, struct push_result *res,
                   struct err *e)
{
    memset(res, 0, sizeof(*res));
    if (is_op(op, "note") || is_op(op, "wo_note"))
        return ADAPTER_LOCAL_ONLY; /* Hostaway has no internal notes */
    cJSON *p = cJSON_Parse(op->payload ? op->payload : "");
    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        return payload_err(e, op->op ? op->op : "?", "is not a JSON object");
    }
    int rc;
    if (is_op(op, "reply"))
        rc = push_reply(a, op, p, res, e);
    else if (is_op(op, "wo_create") || is_op(op, "wo_status") || is_op(op, "wo_priority") ||
             is_op(op, "wo_vendor") || is_op(op, "wo_schedule"))
        rc = push_task(a, op, p, res, e);
    else
        rc = err_set(e, 400, FINAL, "Hostaway: unsupported operation \"%s\"", op->op ? op->op : "");
    cJSON_Delete(p);
    return rc;
}

/* ---- find ---- */

static int find_reply(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                      struct push_result *res, struct err *e)
{
    int64_t thread = parse_remote_id(jstr(p, "thread"));
    const char *body = jstr(p, "body");
    if (!thread || !body)
        return payload_err(e, op->op, "has no thread or body");
    char path[96];
    snprintf(path, sizeof(path), "/conversations/%lld/messages?limit=%d&offset=0",
             (long long)thread, HA_PAGE);
    cJSON *root;
    const cJSON *items, *m, *best = NULL;
    if (ha_get(a, path, 1, &root, &items, e) != 0)
        return -1;
    int64_t from = op->created_at - HA_FIND_WINDOW_MS, best_t = 0;
    cJSON_ArrayForEach(m, items)
    {
        const cJSON *in = jget(m, "isIncoming");
        int incoming = cJSON_IsTrue(in) || (cJSON_IsNumber(in) && in->valuedouble != 0);
        const char *b = jstr(m, "body");
        int64_t t = jtime(m, "date");
        if (incoming || !b || strcmp(b, body) != 0 || t < from || !jid(m, "id"))
            continue;
        if (!best || t < best_t) { /* the earliest in the window: the first attempt's */
            best = m;
            best_t = t;
        }
    }
    if (best) {
        snprintf(res->remote_id, sizeof(res->remote_id), "%lld", (long long)jid(best, "id"));
        int64_t upd = jtime(best, "updatedOn");
        res->remote_updated_at = upd > 0 ? upd : best_t;
    }
    cJSON_Delete(root);
    return best != NULL;
}

static int str_same(const char *x, const char *y)
{
    return strcmp(x ? x : "", y ? y : "") == 0;
}

static int find_task(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                     struct push_result *res, struct err *e)
{
    const char *title = jstr(p, "title"), *desc = jstr(p, "description");
    int64_t listing = parse_remote_id(jstr(p, "unit"));
    if (!listing)
        listing = parse_remote_id(jstr(p, "property"));
    int64_t stay = parse_remote_id(jstr(p, "stay"));
    int64_t from = op->created_at - HA_FIND_WINDOW_MS, best = 0;
    for (int64_t off = 0;;) {
        char path[64];
        snprintf(path, sizeof(path), "/tasks?limit=%d&offset=%lld", HA_PAGE, (long long)off);
        cJSON *root;
        const cJSON *items, *t;
        if (ha_get(a, path, 1, &root, &items, e) != 0)
            return -1;
        int n = 0;
        cJSON_ArrayForEach(t, items)
        {
            n++;
            int64_t id = jid(t, "id");
            int64_t made = jtime(t, "insertedOn");
            if (!str_same(jstr(t, "title"), title) ||
                !str_same(jstr(t, "description"), desc && *desc ? desc : NULL) ||
                jid(t, "listingMapId") != listing || jid(t, "reservationId") != stay ||
                (made > 0 && made < from))
                continue;
            if (id > best)
                best = id; /* the newest: no creation stamp, ids grow */
        }
        int done = walk_done(root, off, n, HA_PAGE);
        cJSON_Delete(root);
        if (done)
            break;
        off += n;
    }
    if (best)
        snprintf(res->remote_id, sizeof(res->remote_id), "%lld", (long long)best);
    return best != 0;
}

static int find_status(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                       struct push_result *res, struct err *e)
{
    int64_t id = op_task(op, p);
    const char *want = task_status_out(jstr(p, "status"));
    if (!id || !want)
        return payload_err(e, op->op, "has no task id or a bad status");
    char path[64];
    snprintf(path, sizeof(path), "/tasks/%lld", (long long)id);
    cJSON *root;
    const cJSON *t;
    if (ha_get(a, path, 0, &root, &t, e) != 0)
        return -1;
    int same = str_same(jstr(t, "status"), want);
    if (same)
        snprintf(res->remote_id, sizeof(res->remote_id), "%lld", (long long)id);
    cJSON_Delete(root);
    return same;
}

static int ha_find(struct adapter *a, const struct outbox_op *op, struct push_result *res,
                   struct err *e)
{
    memset(res, 0, sizeof(*res));
    if (!is_op(op, "reply") && !is_op(op, "wo_create") && !is_op(op, "wo_status"))
        return 0; /* notes stay local; the other PUTs are idempotent: resending is safe */
    cJSON *p = cJSON_Parse(op->payload ? op->payload : "");
    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        return payload_err(e, op->op, "is not a JSON object");
    }
    int rc = is_op(op, "reply")       ? find_reply(a, op, p, res, e)
             : is_op(op, "wo_create") ? find_task(a, op, p, res, e)
                                      : find_status(a, op, p, res, e);
    cJSON_Delete(p);
    return rc;
}

/* ---- webhooks ---- */

static int ha_webhook_verify(struct adapter *a, const struct webhook_req *rq, char **event_id,
                             char **kind, struct err *e)
{
    *event_id = *kind = NULL;
    const char *secret = a->conf ? a->conf->webhook_secret : NULL;
    if (secret && *secret) {
        int slen = (int)strlen(secret);
        unsigned char *want = xmalloc((size_t)(4 * ((slen + 2) / 3) + 1));
        int wlen = EVP_EncodeBlock(want, (const unsigned char *)secret, slen);
        const char *h = rq->header ? rq->header(rq, "Authorization") : NULL;
        int ok = 0;
        if (h && strncasecmp(h, "Basic ", 6) == 0) {
            h += 6;
            while (*h == ' ')
                h++;
            size_t hl = strlen(h);
            while (hl > 0 && (h[hl - 1] == ' ' || h[hl - 1] == '\r' || h[hl - 1] == '\n'))
                hl--;
            ok = hl == (size_t)wlen && CRYPTO_memcmp(h, want, (size_t)wlen) == 0;
        }
        OPENSSL_cleanse(want, (size_t)wlen);
        free(want);
        if (!ok)
            return err_set(e, 401, FINAL, "webhook: %s Basic authorization",
                           h ? "wrong" : "missing");
    }
    cJSON *j = jparse_body(rq->body ? rq->body : "", rq->body_len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return err_set(e, 400, FINAL, "webhook: body is not a JSON object");
    }
    const char *ev = jstr(j, "event");
    *kind = xstrdup(ev && *ev ? ev : "unknown");
    cJSON_Delete(j);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(rq->body ? rq->body : "", rq->body_len, md, &mdlen, EVP_sha256(), NULL) != 1) {
        xfree(kind);
        return err_set(e, 500, RETRY_LATER, "webhook: SHA-256 failed");
    }
    char *id = xmalloc(7 + 2 * (size_t)mdlen + 1);
    memcpy(id, "sha256:", 7);
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(id + 7 + 2 * i, 3, "%02x", md[i]);
    *event_id = id;
    return 0;
}

static int ha_webhook_apply(struct adapter *a, const char *kind, const char *body, struct sink *out,
                            struct err *e)
{
    int reservation = kind && strncmp(kind, "reservation.", 12) == 0;
    int message = kind && strcmp(kind, "message.received") == 0;
    if (!reservation && !message)
        return 0; /* every event is sent; the ones porter does not use are ignored */
    cJSON *j = cJSON_Parse(body ? body : "");
    const cJSON *data = jget(j, "data");
    if (!cJSON_IsObject(data)) {
        if (out->drift)
            out->drift(out, reservation ? ENT_STAY : ENT_MESSAGE, "?", "data",
                       cJSON_IsObject(j) ? "missing" : "event body is not JSON");
        cJSON_Delete(j);
        return err_set(e, ADAPTER_EDRIFT, FINAL, "%s: no \"data\" object", kind);
    }
    int rc, drifted = 0;
    if (reservation) {
        rc = put_reservation(a, out, data, &drifted, e);
    } else {
        struct hostaway *h = a->priv;
        struct ha_msg hm;
        rc = 0;
        if (build_message(out, data, NULL, &hm) != 0) {
            drifted = 1;
        } else {
            /* the thread's OTA channel and the guest's name come from the conversation */
            const struct ha_conv *ci = cache_get(h, hm.conv_id);
            cJSON *root = NULL;
            const cJSON *conv = NULL;
            const char *type = jstr(data, "communicationType");
            int need = (type && strcmp(type, "channel") == 0) || hm.m.direction == DIR_IN;
            if (!ci && need) {
                char path[80];
                snprintf(path, sizeof(path), "/conversations/%lld?includeResources=1",
                         (long long)hm.conv_id);
                if (ha_get(a, path, 0, &root, &conv, e) != 0) {
                    cJSON_Delete(j);
                    return -1;
                }
                struct ha_conv got;
                conv_info(conv, &got);
                cache_put(h, &got);
                ci = cache_get(h, hm.conv_id);
            }
            if (build_message(out, data, ci, &hm) == 0)
                rc = put_message(a, out, &hm, conv, e);
            cJSON_Delete(root);
        }
    }
    cJSON_Delete(j);
    if (rc != 0)
        return -1;
    if (drifted)
        return err_set(e, ADAPTER_EDRIFT, FINAL,
                       "%s: the record does not have the documented "
                       "shape (see the schema_drift alert)",
                       kind);
    return 0;
}

/* ---- lifecycle ---- */

static int ha_init(struct adapter *a, struct err *e)
{
    if (!a->conf || !a->conf->client_id || !*a->conf->client_id || !a->conf->secret ||
        !*a->conf->secret)
        return err_set(e, ADAPTER_EAUTH, FINAL,
                       "hostaway: client_id (the Hostaway account id) and secret are required");
    a->priv = xcalloc(1, sizeof(struct hostaway));
    return 0;
}

static void ha_fini(struct adapter *a)
{
    struct hostaway *h = a->priv;
    if (!h)
        return;
    if (h->token)
        OPENSSL_cleanse(h->token, strlen(h->token));
    free(h->token);
    free(h);
    a->priv = NULL;
}

/* Parents first. Users come before tasks (a task's assignee is its vendor). Contacts come
 * with their reservations. */
static const enum entity ha_pull_order[] = {ENT_PROPERTY, ENT_UNIT,   ENT_STAY,       ENT_THREAD,
                                            ENT_MESSAGE,  ENT_VENDOR, ENT_WORK_ORDER, ENTITY_COUNT};

const struct adapter_ops hostaway_adapter = {
    .name = "hostaway",
    .default_base_url = "https://api.hostaway.com/v1",
    .rate_per_sec = 1.5, /* with 15: at most 15 requests in any 10 s (see the top) */
    .rate_burst = 15,
    .pull_order = ha_pull_order,
    /* listings, users and tasks are walked in full every cycle ("off=N" back to 0) */
    .full_walk = 1u << ENT_PROPERTY | 1u << ENT_UNIT | 1u << ENT_VENDOR | 1u << ENT_WORK_ORDER,
    .init = ha_init,
    .fini = ha_fini,
    .auth = ha_auth,
    .pull = ha_pull,
    .push = ha_push,
    .find = ha_find,
    .webhook_verify = ha_webhook_verify,
    .webhook_apply = ha_webhook_apply,
};
