/* guesty.c - the Guesty dialect (Open API v1, https://open-api.guesty.com/v1).
 *
 * Wire facts: /work/shared/reference/pms-apis-vacation-rental.md section 2. Contract:
 * adapters/adapter.h. No SQL, no retries, no sleeping.
 *
 * Rate: 15/s, 120/min, 5000/h. A bucket of 10 refilled at 1.35/s lets at most 11.35 through
 * in a second, 91 in a minute and 4870 in an hour.
 *
 * Auth: form POST <base without /v1>/oauth2/token (client_credentials, scope=open-api). The
 * token (24 h) is shared through host->token_get/token_put, so it survives restarts, and is
 * replaced 5 min before it expires. Guesty mints at most 5 tokens per client id per 24 h:
 * when host->token_mints(24 h) >= 5 the adapter does not ask (FINAL ADAPTER_EAUTH naming the
 * cap); a 429 from the token endpoint (the cap counted at Guesty) is FINAL ADAPTER_EAUTH too.
 * A 401 or 403 on an API call drops the token (a different cached one is adopted, else one
 * is minted) and fails ADAPTER_EAUTH / RETRY_NOW; a second 401/403 with no success between
 * is FINAL.
 *
 * Mapping (Guesty -> canonical):
 *   listing       -> ENT_PROPERTY and ENT_UNIT with the listing _id
 *   reservation   -> ENT_CONTACT (guestId / guest._id, else "guest:<reservation id>"), then
 *                    ENT_STAY; status confirmed/checked_in/checked_out -> confirmed,
 *                    reserved/awaiting_payment -> pending, inquiry, canceled/closed ->
 *                    cancelled, declined/expired -> declined; source airbnb2 -> airbnb,
 *                    bookingCom -> booking, homeaway/vrbo -> vrbo, manual/website/direct ->
 *                    email, else ota
 *   conversation  -> ENT_CONTACT meta.guest (_id, fullName), then ENT_THREAD; contact
 *                    meta.guest._id, stay meta.reservations[0]._id,
 *                    unit/property meta.reservations[0].listing._id; channel = module.type
 *                    of the newest post that has a channel (one GET of posts per changed
 *                    conversation): airbnb2 -> airbnb, email, sms, whatsapp, platform -> ota;
 *                    none -> email
 *   post          -> ENT_MESSAGE; sentBy guest -> in, host -> out, log -> system;
 *                    module.type note -> direction note / channel note, log -> system
 *   task          -> ENT_WORK_ORDER; status pending -> new (assigned with an assignee),
 *                    confirmed -> scheduled, "in progress" -> in_progress, completed,
 *                    canceled -> cancelled; priority low/medium/high -> low/normal/high;
 *                    trade = type; vendor = assignee
 *   user          -> ENT_VENDOR
 * Unknown enum values and missing required fields: sink->drift, record skipped.
 *
 * Cursors (opaque; NULL or "" starts over):
 *   listings, users, reservations, tasks  "skip=N"  the whole list every cycle (limit 100,
 *                    sort _id); N returns to 0 at the end of the walk.
 *   conversations, messages  "hw=MS;max=MS;after=CURSOR"  walk of the inbox (sort
 *                    -createdAt) by cursorAfter; a conversation counts as changed when its
 *                    modifiedAt >= hw - 5 min (hw 0: everything); threads are put and posts
 *                    read (newest first, until older than hw - 5 min) only for those. hw =
 *                    newest modifiedAt of the last finished walk; max = newest of this walk.
 *
 * Writes: reply -> POST /communication/conversations/{id}/send-message
 * {"module":{"type"},"body"} (airbnb -> airbnb2, email, sms, whatsapp, booking/vrbo/ota ->
 * platform); note -> POST .../posts {"module":{"type":"note"},"body"}; wo_create -> POST
 * /tasks-open-api/create-single-task; wo_status/wo_priority/wo_vendor/wo_schedule -> PUT
 * /tasks-open-api/{id} with the changed field (status spelled "in progress", "canceled");
 * wo_note -> ADAPTER_LOCAL_ONLY.
 * find: reply/note -> the newest page of posts: a host post with the same body created >=
 * created_at - 2 min (the earliest such); wo_status -> GET the task, same status; wo_create
 * -> the tasks list, same title and listing, created in the window; others 0.
 *
 * Webhooks: Svix. svix-id, svix-timestamp, svix-signature ("v1,<b64>" entries, any may
 * match); HMAC-SHA256 over "id.timestamp.body" keyed with base64(secret after "whsec_");
 * constant-time compare; timestamp within 5 min of rq->now_ms; else 401. No webhook_secret
 * configured: 401 (nothing can be verified). event_id = svix-id, kind = "event".
 * Apply: reservation.messageReceived/messageSent -> the message (the conversation fetched
 * and put first when its thread is unknown); task.created/updated -> the work order.
 */
#include "adapter.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "wire.h"
#include "store.h"

#define GY_PAGE           100
#define GY_MSG_CONV_PAGE  20
#define GY_OVERLAP_MS     (5 * 60 * 1000LL)
#define GY_FIND_WINDOW_MS (2 * 60 * 1000LL)
#define GY_TOKEN_SLACK_MS (5 * 60 * 1000LL)
#define GY_MINT_WINDOW_MS (24 * 3600 * 1000LL)
#define GY_MINT_CAP       5
#define GY_HOOK_SKEW_MS   (5 * 60 * 1000LL)
#define GY_MAX_MS         253402300800000.0 /* 10000-01-01: the last time gy_fmt can print */
#define GY_HOOK_TS_MAX    100000000000LL    /* seconds: year 5138 */

#define GY_TASK_COLUMNS                                                                            \
    "id status title taskTitle description priority type listing listingId reservation "           \
    "reservationId assignee assigneeId scheduledFor endTime canStartAfter mustFinishBefore "       \
    "createdAt updatedAt"
#define GY_RES_FIELDS                                                                              \
    "_id listingId guestId status checkIn checkOut checkInDateLocalized checkOutDateLocalized "    \
    "guestsCount confirmationCode source createdAt lastUpdatedAt guest._id guest.fullName "        \
    "guest.email guest.phone"

struct guesty {
    char *token; /* owned */
    int64_t expires_at;
    char *stale;    /* the token a 401/403 refused (not adopted again) */
    int auth_fails; /* 401/403 since the last 2xx */
};

/* ---- small helpers ---- */

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int str_same(const char *x, const char *y)
{
    return strcmp(x ? x : "", y ? y : "") == 0;
}

/* ISO-8601 "YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)" or "YYYY-MM-DD" -> ms; -1 when not. */
static int64_t gy_time(const char *s)
{
    if (!s)
        return -1;
    size_t n = strlen(s);
    if (n < 10)
        return -1;
    for (size_t i = 0; i < 10; i++)
        if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return -1;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    int ms = 0;
    if (n > 10) {
        if (n < 19 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
            return -1;
        for (size_t i = 11; i < 19; i++)
            if (i != 13 && i != 16 && (s[i] < '0' || s[i] > '9'))
                return -1;
        tm.tm_hour = atoi(s + 11);
        tm.tm_min = atoi(s + 14);
        tm.tm_sec = atoi(s + 17);
        const char *p = s + 19;
        if (*p == '.') {
            int digits = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                if (digits < 3)
                    ms = ms * 10 + (*p - '0');
            for (; digits > 0 && digits < 3; digits++)
                ms *= 10;
        }
        if (*p && strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
            return -1;
    }
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return -1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* A time field of this dialect (see v_time). */
static int64_t v_when(struct vctx *v, const cJSON *o, const char *field, int required)
{
    return v_time(v, o, field, required, gy_time, "not an ISO-8601 time");
}

static int64_t jtime(const cJSON *o, const char *k)
{
    return gy_time(jstr(o, k));
}

static void gy_fmt(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char b[24];
    strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", b, (int)(ms % 1000));
}

/* A Guesty id: 24 hex digits. */
static int is_oid(const char *s)
{
    if (!s || strlen(s) != 24)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
            return 0;
    return 1;
}

/* An id field: a string, or an object's "_id". */
static const char *jref(const cJSON *o, const char *k)
{
    const cJSON *v = jget(o, k);
    if (cJSON_IsObject(v))
        v = jget(v, "_id");
    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL; /* "" is no id */
}

/* Guesty's error text: error.message, message, error_description, error (string), data[0]. */
static const char *pms_text(const cJSON *root)
{
    const cJSON *err = jget(root, "error");
    const char *m = jstr(err, "message");
    const cJSON *d = cJSON_GetArrayItem(jget(err, "data"), 0);
    if (cJSON_IsString(d) && *d->valuestring)
        m = d->valuestring; /* the validation detail is more useful than "Bad Request" */
    if (!m || !*m)
        m = jstr(root, "message");
    if (!m || !*m)
        m = jstr(root, "error_description");
    if (!m || !*m)
        m = jstr(root, "error");
    if ((!m || !*m) && cJSON_IsString(root))
        m = root->valuestring;
    return m && *m ? m : NULL;
}

/* ---- validation ---- */

/* ---- enumerations ---- */

/* module.type -> channel; -1 when unknown. */
static int module_channel(const char *t)
{
    static const struct {
        const char *pms;
        enum channel ch;
    } map[] = {{"airbnb2", CH_AIRBNB}, {"airbnb", CH_AIRBNB},     {"email", CH_EMAIL},
               {"sms", CH_SMS},        {"whatsapp", CH_WHATSAPP}, {"platform", CH_OTA},
               {"note", CH_NOTE},      {"log", CH_SYSTEM}};
    for (size_t i = 0; t && i < ARRAY_LEN(map); i++)
        if (strcmp(t, map[i].pms) == 0)
            return (int)map[i].ch;
    return -1;
}

/* A post's or webhook message's module type: an object's "type" or a bare string. */
static const char *module_type(const cJSON *o)
{
    const cJSON *m = jget(o, "module");
    if (cJSON_IsString(m))
        return m->valuestring;
    return jstr(m, "type");
}

/* Canonical channel -> send-message module type; NULL when Guesty cannot send on it. */
static const char *channel_module(const char *ch)
{
    if (!ch || !*ch || strcmp(ch, "email") == 0)
        return "email";
    if (strcmp(ch, "airbnb") == 0)
        return "airbnb2";
    if (strcmp(ch, "sms") == 0 || strcmp(ch, "whatsapp") == 0)
        return ch;
    if (strcmp(ch, "booking") == 0 || strcmp(ch, "vrbo") == 0 || strcmp(ch, "ota") == 0)
        return "platform";
    return NULL;
}

static const char *stay_status(const char *s)
{
    static const struct {
        const char *pms, *canon;
    } map[] = {
        {"confirmed", "confirmed"}, {"checked_in", "confirmed"},     {"checked_out", "confirmed"},
        {"reserved", "pending"},    {"awaiting_payment", "pending"}, {"inquiry", "inquiry"},
        {"canceled", "cancelled"},  {"cancelled", "cancelled"},      {"closed", "cancelled"},
        {"declined", "declined"},   {"expired", "declined"},
    };
    for (size_t i = 0; s && i < ARRAY_LEN(map); i++)
        if (strcmp(s, map[i].pms) == 0)
            return map[i].canon;
    return NULL;
}

static const char *source_channel(const char *src)
{
    if (!src)
        return "email";
    if (strncasecmp(src, "airbnb", 6) == 0)
        return "airbnb";
    if (strncasecmp(src, "booking", 7) == 0)
        return "booking";
    if (strcasecmp(src, "homeaway") == 0 || strncasecmp(src, "vrbo", 4) == 0)
        return "vrbo";
    if (strcasecmp(src, "manual") == 0 || strcasecmp(src, "website") == 0 ||
        strcasecmp(src, "direct") == 0)
        return "email";
    return "ota";
}

static int task_status(const char *s, int assigned)
{
    if (!s)
        return -1;
    if (strcmp(s, "pending") == 0)
        return assigned ? WO_ASSIGNED : WO_NEW;
    if (strcmp(s, "confirmed") == 0)
        return WO_SCHEDULED;
    if (strcmp(s, "in progress") == 0 || strcmp(s, "inProgress") == 0)
        return WO_IN_PROGRESS;
    if (strcmp(s, "completed") == 0)
        return WO_COMPLETED;
    if (strcmp(s, "canceled") == 0 || strcmp(s, "cancelled") == 0)
        return WO_CANCELLED;
    return -1;
}

/* Canonical -> Guesty task status (assigned/on_hold -> pending, closed -> completed). */
static const char *task_status_out(const char *canon)
{
    static const char *const map[WO_STATUS_COUNT] = {
        [WO_NEW] = "pending",         [WO_ASSIGNED] = "pending",
        [WO_SCHEDULED] = "confirmed", [WO_IN_PROGRESS] = "in progress",
        [WO_ON_HOLD] = "pending",     [WO_COMPLETED] = "completed",
        [WO_CLOSED] = "completed",    [WO_CANCELLED] = "canceled",
    };
    int s = wo_status_parse(canon);
    return s < 0 ? NULL : map[s];
}

static int task_priority(const char *p)
{
    if (!p)
        return PRIO_NORMAL;
    if (strcmp(p, "low") == 0)
        return PRIO_LOW;
    if (strcmp(p, "medium") == 0 || strcmp(p, "normal") == 0)
        return PRIO_NORMAL;
    if (strcmp(p, "high") == 0)
        return PRIO_HIGH;
    return -1;
}

static const char *priority_out(const char *canon)
{
    switch (priority_parse(canon)) {
    case PRIO_LOW:
        return "low";
    case PRIO_HIGH:
    case PRIO_EMERGENCY:
        return "high";
    default:
        return "medium";
    }
}

/* ---- token ---- */

static void set_token(struct guesty *g, const char *tok, int64_t exp)
{
    if (g->token)
        OPENSSL_cleanse(g->token, strlen(g->token));
    free(g->token);
    g->token = tok ? xstrdup(tok) : NULL;
    g->expires_at = exp;
}

static int usable(const char *tok, int64_t exp)
{
    return tok && *tok && exp - GY_TOKEN_SLACK_MS > now_ms();
}

static size_t base_len(const char *base)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return n;
}

static char *url_of(struct adapter *a, const char *path)
{
    return xasprintf("%.*s%s", (int)base_len(a->base_url), a->base_url, path);
}

/* https://open-api.guesty.com/v1 -> https://open-api.guesty.com/oauth2/token */
static char *token_url(struct adapter *a)
{
    size_t n = base_len(a->base_url);
    if (n >= 3 && strncmp(a->base_url + n - 3, "/v1", 3) == 0)
        n -= 3;
    return xasprintf("%.*s/oauth2/token", (int)n, a->base_url);
}

static int mint(struct adapter *a, struct err *e)
{
    struct guesty *g = a->priv;
    if (a->host && a->host->token_mints) {
        int n = a->host->token_mints(a->host->ctx, GY_MINT_WINDOW_MS);
        if (n >= GY_MINT_CAP)
            return err_set(e, ADAPTER_EAUTH, FINAL,
                           "Guesty allows at most %d access tokens per client id in 24 hours and "
                           "%d were minted: not asking for another (the cached token will be "
                           "used again once one is available)",
                           GY_MINT_CAP, n);
    }
    char *id = http_escape(a->conf->client_id), *secret = http_escape(a->conf->secret);
    char *form = xasprintf("grant_type=client_credentials&scope=open-api&client_id=%s"
                           "&client_secret=%s",
                           id, secret);
    free(id);
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    char *url = token_url(a);
    const struct http_header hd[] = {
        {"Content-Type", "application/x-www-form-urlencoded"},
        {"Accept", "application/json"},
    };
    struct http_req rq = {
        .method = "POST", .url = url, .headers = hd, .nheaders = ARRAY_LEN(hd), .body = form};
    struct http_resp rs;
    memset(&rs, 0, sizeof(rs));
    int rc = http_request(a->http, &rq, &rs, e);
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
        if (st == 429)
            err_set(e, ADAPTER_EAUTH, FINAL,
                    "Guesty refused a new token: at most %d tokens per client id in 24 hours%s%s",
                    GY_MINT_CAP, m ? ": " : "", m ? m : "");
        else if (http_status_retry(st) == RETRY_LATER)
            err_set(e, (int)st, RETRY_LATER, "Guesty token endpoint answered %ld%s%s", st,
                    m ? ": " : "", m ? m : "");
        else
            err_set(e, ADAPTER_EAUTH, FINAL, "Guesty refused the credentials (HTTP %ld)%s%s", st,
                    m ? ": " : "", m ? m : "");
        cJSON_Delete(root);
        return -1;
    }
    const char *tok = jstr(root, "access_token");
    if (!tok || !*tok) {
        cJSON_Delete(root);
        return err_set(e, ADAPTER_EDRIFT, FINAL, "Guesty token answer has no access_token");
    }
    const cJSON *ttl = jget(root, "expires_in");
    /* at most a year: a larger (or NaN) value must not overflow the conversion */
    int64_t ttl_ms = cJSON_IsNumber(ttl) && ttl->valuedouble > 0 && ttl->valuedouble <= 31536000
                         ? (int64_t)(ttl->valuedouble * 1000)
                         : 86400000LL;
    set_token(g, tok, now_ms() + ttl_ms);
    cJSON_Delete(root);
    if (a->host && a->host->token_put)
        a->host->token_put(a->host->ctx, g->token, g->expires_at);
    log_info("guesty", "%s: minted an access token", a->conf->name ? a->conf->name : "?");
    return 0;
}

/* Adopt the shared token when usable and not the one Guesty refused. */
static int adopt(struct adapter *a)
{
    struct guesty *g = a->priv;
    char *tok = NULL;
    int64_t exp = -1;
    if (!a->host || !a->host->token_get || a->host->token_get(a->host->ctx, &tok, &exp) != 0) {
        free(tok);
        return 0;
    }
    int ok = usable(tok, exp) && !(g->stale && strcmp(tok, g->stale) == 0);
    if (ok)
        set_token(g, tok, exp);
    free(tok);
    return ok;
}

static int gy_auth(struct adapter *a, struct err *e)
{
    struct guesty *g = a->priv;
    if (usable(g->token, g->expires_at) || adopt(a))
        return 0;
    return mint(a, e);
}

static int on_unauthorized(struct adapter *a, long st, const char *m, struct err *e)
{
    struct guesty *g = a->priv;
    if (g->auth_fails++ > 0)
        return err_set(e, ADAPTER_EAUTH, FINAL, "Guesty refused a fresh token (HTTP %ld)%s%s", st,
                       m ? ": " : "", m ? m : "");
    free(g->stale);
    g->stale = g->token;
    g->token = NULL;
    g->expires_at = 0;
    if (!adopt(a) && mint(a, e) != 0)
        return -1;
    return err_set(e, ADAPTER_EAUTH, RETRY_NOW, "Guesty token refused (HTTP %ld)%s%s; renewed", st,
                   m ? ": " : "", m ? m : "");
}

/* One API call; *root = parsed answer (any JSON) on 0. */
static int gy_call(struct adapter *a, const char *method, const char *path, const char *json,
                   cJSON **root, struct err *e)
{
    struct guesty *g = a->priv;
    *root = NULL;
    if (!usable(g->token, g->expires_at) && gy_auth(a, e) != 0)
        return -1;
    char *auth = xasprintf("Bearer %s", g->token);
    struct http_header hd[3] = {
        {"Authorization", auth},
        {"Accept", "application/json"},
        {"Content-Type", "application/json"},
    };
    char *url = url_of(a, path);
    struct http_req rq = {
        .method = method, .url = url, .headers = hd, .nheaders = json ? 3 : 2, .body = json};
    struct http_resp rs;
    memset(&rs, 0, sizeof(rs));
    int rc = http_request(a->http, &rq, &rs, e);
    free(url);
    OPENSSL_cleanse(auth, strlen(auth));
    free(auth);
    if (rc != 0) {
        if (e && e->retry == RETRY_NONE)
            e->retry = RETRY_LATER;
        return -1;
    }
    long st = rs.status;
    cJSON *j = cJSON_ParseWithLength(rs.body ? rs.body : "", rs.len);
    if (!j && rs.len > 0 && rs.body) /* a plain string body: "Reservation Not Found" */
        j = cJSON_CreateString(rs.body);
    http_resp_free(&rs);
    const char *m = pms_text(j);
    if (st == 401 || st == 403) {
        rc = on_unauthorized(a, st, m, e);
        cJSON_Delete(j);
        return rc;
    }
    if (st < 200 || st > 299) {
        enum retry_class r = http_status_retry(st);
        if (r == RETRY_NONE)
            r = FINAL;
        if (m)
            err_set(e, (int)st, r, "%s", m);
        else
            err_set(e, (int)st, r, "Guesty answered HTTP %ld to %s %s", st, method, path);
        cJSON_Delete(j);
        return -1;
    }
    g->auth_fails = 0;
    free(g->stale);
    g->stale = NULL;
    if (!j)
        j = cJSON_CreateObject(); /* 204 */
    *root = j;
    return 0;
}

/* "data" when the answer is {"status":200,"data":{...}}, else the answer. */
static const cJSON *unwrap(const cJSON *root)
{
    const cJSON *d = jget(root, "data");
    return cJSON_IsObject(d) ? d : root;
}

/* A list in `key` (or data.`key`); drift error when absent. */
static int gy_list(struct adapter *a, const char *path, const char *key, cJSON **root,
                   const cJSON **items, const cJSON **env, struct err *e)
{
    if (gy_call(a, "GET", path, NULL, root, e) != 0)
        return -1;
    const cJSON *d = unwrap(*root);
    const cJSON *l = jget(d, key);
    if (!cJSON_IsArray(l)) {
        cJSON_Delete(*root);
        *root = NULL;
        return err_set(e, ADAPTER_EDRIFT, FINAL, "Guesty GET %s: no \"%s\" array", path, key);
    }
    *items = l;
    if (env)
        *env = d;
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
    vinit(&v, "guesty", out, ent);
    const char *id = v_skey(&v, l, "_id", "id");
    const char *title = v_str(&v, l, "title", 0);
    const char *nick = v_str(&v, l, "nickname", 0);
    const char *tz = v_str(&v, l, "timezone", 0);
    int64_t upd = max64(v_when(&v, l, "createdAt", 0), v_when(&v, l, "lastUpdatedAt", 0));
    if (v.bad)
        return 0;
    const char *addr = jstr(jget(l, "address"), "full");
    const char *name = title && *title ? title : nick;
    if (ent == ENT_PROPERTY) {
        struct rec_property p = {.remote_id = id,
                                 .name = name,
                                 .address = addr,
                                 .timezone = tz,
                                 .remote_updated_at = upd};
        return put(out, ENT_PROPERTY, &p, e);
    }
    struct rec_unit u = {
        .remote_id = id, .property_remote_id = id, .name = name, .remote_updated_at = upd};
    return put(out, ENT_UNIT, &u, e);
}

static int fetch_listing(struct adapter *a, struct sink *out, const char *id, struct err *e)
{
    if (!is_oid(id))
        return 1;
    char path[64];
    snprintf(path, sizeof(path), "/listings/%s", id);
    cJSON *root;
    if (gy_call(a, "GET", path, NULL, &root, e) != 0)
        return e && e->code == 404 ? 1 : -1;
    const cJSON *l = unwrap(root);
    int rc = put_listing(out, ENT_PROPERTY, l, e);
    if (rc == 0)
        rc = put_listing(out, ENT_UNIT, l, e);
    cJSON_Delete(root);
    return rc;
}

static int put_reservation(struct adapter *a, struct sink *out, const cJSON *r, int *drifted,
                           struct err *e)
{
    struct vctx v;
    vinit(&v, "guesty", out, ENT_STAY);
    const char *id = v_skey(&v, r, "_id", "id");
    const char *listing = jref(r, "listingId");
    if (!listing)
        listing = jref(r, "listing");
    if (!listing)
        vdrift(&v, "listingId", "missing");
    const char *st = v_str(&v, r, "status", 1);
    const char *canon = stay_status(st);
    if (st && !canon)
        vdrift(&v, "status", "unknown value");
    const char *arr = v_str(&v, r, "checkInDateLocalized", 0);
    const char *dep = v_str(&v, r, "checkOutDateLocalized", 0);
    int64_t ci = v_when(&v, r, "checkIn", 0), co = v_when(&v, r, "checkOut", 0);
    const char *code = v_str(&v, r, "confirmationCode", 0);
    const char *src = v_str(&v, r, "source", 0);
    int64_t upd = max64(v_when(&v, r, "lastUpdatedAt", 0), v_when(&v, r, "createdAt", 0));
    if (drifted)
        *drifted = v.bad > 0;
    if (v.bad)
        return 0;
    char d1[32], d2[32];
    if ((!arr || strlen(arr) != 10) && ci > 0) {
        gy_fmt(ci, d1);
        d1[10] = '\0';
        arr = d1;
    }
    if ((!dep || strlen(dep) != 10) && co > 0) {
        gy_fmt(co, d2);
        d2[10] = '\0';
        dep = d2;
    }
    const cJSON *guest = jget(r, "guest");
    const char *gid = jstr(r, "guestId");
    if (!gid || !*gid)
        gid = jstr(guest, "_id");
    if (gid && !*gid)
        gid = NULL; /* an empty id would make every such guest one contact "" */
    char cid[48];
    snprintf(cid, sizeof(cid), "%s%s", gid ? "" : "guest:", gid ? gid : id);
    const cJSON *ng = jget(r, "guestsCount");
    struct rec_contact c = {.remote_id = cid,
                            .kind = CONTACT_GUEST,
                            .name = jstr(guest, "fullName"),
                            .email = jstr(guest, "email"),
                            .phone = jstr(guest, "phone"),
                            .remote_updated_at = upd};
    struct rec_stay s = {.remote_id = id,
                         .property_remote_id = listing,
                         .unit_remote_id = listing,
                         .contact_remote_id = cid,
                         .status = canon,
                         .remote_status = st,
                         .channel = source_channel(src),
                         .arrival = arr,
                         .departure = dep,
                         .guests = cJSON_IsNumber(ng) && ng->valueint > 0 ? ng->valueint : 0,
                         .confirmation_code = code,
                         .remote_updated_at = upd};
    int rc = put(out, ENT_CONTACT, &c, e);
    if (rc == 0)
        rc = put(out, ENT_STAY, &s, e);
    if (rc != 0 && is_enoparent(e) && a) {
        int gone = fetch_listing(a, out, listing, e);
        if (gone < 0)
            return -1;
        if (gone == 1)
            s.property_remote_id = s.unit_remote_id = NULL;
        rc = put(out, ENT_STAY, &s, e);
    }
    return rc;
}

/* GET /reservations/{id}; 1 when gone or drifted. */
static int fetch_reservation(struct adapter *a, struct sink *out, const char *id, struct err *e)
{
    if (!is_oid(id))
        return 1;
    char path[600];
    char *f = http_escape(GY_RES_FIELDS);
    snprintf(path, sizeof(path), "/reservations/%s?fields=%s", id, f);
    free(f);
    cJSON *root;
    if (gy_call(a, "GET", path, NULL, &root, e) != 0)
        return e && e->code == 404 ? 1 : -1;
    int drifted = 0;
    int rc = put_reservation(a, out, unwrap(root), &drifted, e);
    cJSON_Delete(root);
    return rc != 0 ? -1 : drifted;
}

/* The channel of a conversation: the newest post with a sendable module (one GET). */
static int conv_channel(struct adapter *a, const char *conv, enum channel *ch, struct err *e)
{
    if (!is_oid(conv)) /* it goes into a URL path: a Guesty id, or nothing is asked */
        return 0;
    char path[128];
    snprintf(path, sizeof(path), "/communication/conversations/%s/posts?sort=-createdAt&limit=25",
             conv);
    cJSON *root;
    const cJSON *items, *p;
    *ch = CH_EMAIL;
    if (gy_list(a, path, "posts", &root, &items, NULL, e) != 0)
        return -1;
    cJSON_ArrayForEach(p, items)
    {
        int c = module_channel(module_type(p));
        if (c >= 0 && c != CH_NOTE && c != CH_SYSTEM) {
            *ch = (enum channel)c;
            break;
        }
    }
    cJSON_Delete(root);
    return 0;
}

/* Put a conversation as a thread. `hint` < 0: read the channel from its posts. On ENOPARENT
 * the reservation is fetched and put, then the thread again (without the stay if gone). */
static int put_conversation(struct adapter *a, struct sink *out, const cJSON *c, int hint,
                            int *drifted, struct err *e)
{
    struct vctx v;
    vinit(&v, "guesty", out, ENT_THREAD);
    const char *id = v_skey(&v, c, "_id", "id");
    const cJSON *meta = jget(c, "meta");
    const cJSON *res = cJSON_GetArrayItem(jget(meta, "reservations"), 0);
    int64_t upd = max64(v_when(&v, c, "modifiedAt", 0), v_when(&v, c, "createdAt", 0));
    if (drifted)
        *drifted = v.bad > 0;
    if (v.bad)
        return 0;
    enum channel ch = hint >= 0 ? (enum channel)hint : CH_EMAIL;
    if (hint < 0 && a && conv_channel(a, id, &ch, e) != 0)
        return -1;
    const char *type = jstr(c, "type");
    const char *stay = jref(res, "_id");
    const char *listing = jref(res, "listing");
    const char *guest = jref(meta, "guest");
    struct rec_thread t = {.remote_id = id,
                           .kind =
                               type && strncmp(type, "owner", 5) == 0 ? THREAD_OWNER : THREAD_GUEST,
                           .subject = jstr(jget(res, "listing"), "nickname"),
                           .contact_remote_id = guest,
                           .stay_remote_id = stay,
                           .property_remote_id = listing,
                           .unit_remote_id = listing,
                           .channel = ch,
                           .remote_updated_at = upd};
    /* the guest may have no reservation (an inquiry by mail): put the contact the
     * conversation names (NULL fields leave what the reservation stored alone) */
    int rc = 0;
    if (guest) {
        struct rec_contact gc = {.remote_id = guest,
                                 .kind = CONTACT_GUEST,
                                 .name = jstr(jget(meta, "guest"), "fullName")};
        rc = put(out, ENT_CONTACT, &gc, e);
        if (rc != 0)
            return rc;
    }
    rc = put(out, ENT_THREAD, &t, e);
    if (rc == 0 || !is_enoparent(e) || !a)
        return rc;
    int gone = stay ? fetch_reservation(a, out, stay, e) : 1;
    if (gone < 0)
        return -1;
    if (gone)
        t.stay_remote_id = t.contact_remote_id = NULL;
    rc = put(out, ENT_THREAD, &t, e);
    if (rc != 0 && is_enoparent(e)) {
        if (listing && fetch_listing(a, out, listing, e) < 0)
            return -1;
        t.contact_remote_id = gone ? NULL : t.contact_remote_id;
        rc = put(out, ENT_THREAD, &t, e);
        if (rc != 0 && is_enoparent(e)) { /* keep the thread with what is known */
            t.stay_remote_id = t.contact_remote_id = t.property_remote_id = t.unit_remote_id = NULL;
            rc = put(out, ENT_THREAD, &t, e);
        }
    }
    return rc;
}

/* Build a message from a post (pull) or a webhook message (hook = 1). 0, or -1 drifted. */
static int build_message(struct sink *out, const cJSON *j, const char *conv, int hook,
                         struct rec_message *m, struct vctx *v)
{
    vinit(v, "guesty", out, ENT_MESSAGE);
    const char *id = v_skey(v, j, "_id", "postId");
    const char *body = v_str(v, j, "body", 1);
    int64_t at = v_when(v, j, "createdAt", 1);
    const char *mt = module_type(j);
    int ch = module_channel(mt);
    if (mt && ch < 0)
        vdrift(v, "module.type", "unknown value");
    const char *by = v_str(v, j, hook ? "type" : "sentBy", 1);
    enum direction dir = DIR_IN;
    if (by) {
        if (strcmp(by, "guest") == 0 || strcmp(by, "fromGuest") == 0 ||
            strcmp(by, "fromThirdParty") == 0)
            dir = DIR_IN;
        else if (strcmp(by, "host") == 0 || strcmp(by, "fromHost") == 0)
            dir = DIR_OUT;
        else if (strcmp(by, "log") == 0)
            dir = DIR_SYSTEM;
        else
            vdrift(v, hook ? "type" : "sentBy", "unknown value");
    }
    if (v->bad)
        return -1;
    if (ch == CH_NOTE)
        dir = DIR_NOTE;
    else if (ch == CH_SYSTEM)
        dir = DIR_SYSTEM;
    if (ch < 0)
        ch = dir == DIR_SYSTEM ? CH_SYSTEM : CH_EMAIL;
    const char *author = jstr(jget(j, "from"), "fullName");
    *m = (struct rec_message){.remote_id = id,
                              .thread_remote_id = conv,
                              .direction = dir,
                              .channel = (enum channel)ch,
                              .author = author ? author : (dir == DIR_OUT ? "host" : NULL),
                              .body = body,
                              .sent_at = at,
                              .remote_updated_at = at};
    return 0;
}

/* Put a message; when its thread is unknown, GET the conversation and put it first. */
static int put_message(struct adapter *a, struct sink *out, const struct rec_message *m,
                       const cJSON *conv, struct err *e)
{
    int rc = put(out, ENT_MESSAGE, m, e);
    if (rc == 0 || !is_enoparent(e) || !a)
        return rc;
    cJSON *root = NULL;
    if (!conv && !is_oid(m->thread_remote_id))
        return rc; /* not a Guesty id: never put into a URL path */
    if (!conv) {
        char path[96];
        snprintf(path, sizeof(path), "/communication/conversations/%s", m->thread_remote_id);
        if (gy_call(a, "GET", path, NULL, &root, e) != 0)
            return -1;
        conv = unwrap(root);
    }
    int hint = m->channel != CH_NOTE && m->channel != CH_SYSTEM ? (int)m->channel : -1;
    int drifted = 0;
    rc = put_conversation(a, out, conv, hint, &drifted, e);
    cJSON_Delete(root);
    if (rc != 0)
        return -1;
    if (drifted)
        return err_set(e, ADAPTER_EDRIFT, FINAL, "conversation %s of message %s drifted",
                       m->thread_remote_id, m->remote_id);
    return put(out, ENT_MESSAGE, m, e);
}

/* A task from the list (report row) or a full task object (webhook, GET). */
static int put_task(struct sink *out, const cJSON *t, int *drifted, struct err *e)
{
    struct vctx v;
    vinit(&v, "guesty", out, ENT_WORK_ORDER);
    const char *id = v_skey(&v, t, "_id", "id");
    const char *title = jstr(t, "title");
    if (!title)
        title = jstr(t, "taskTitle");
    if (!title)
        vdrift(&v, "title", "missing");
    const char *desc = v_str(&v, t, "description", 0);
    const char *st = v_str(&v, t, "status", 1);
    const char *pr = v_str(&v, t, "priority", 0);
    const char *trade = v_str(&v, t, "type", 0);
    const char *assignee = jref(t, "assigneeId");
    if (!assignee)
        assignee = jref(t, "assignee");
    const char *listing = jref(t, "listingId");
    if (!listing)
        listing = jref(t, "listing");
    const char *res = jref(t, "reservationId");
    if (!res)
        res = jref(t, "reservation");
    const cJSON *tm = jget(t, "timing");
    int64_t start = jtime(tm, "startTime");
    if (start <= 0)
        start = jtime(tm, "canStartAfter");
    if (start <= 0)
        start = jtime(t, "scheduledFor");
    if (start <= 0)
        start = jtime(t, "canStartAfter");
    int64_t end = jtime(tm, "mustFinishBefore");
    if (end <= 0)
        end = jtime(t, "endTime");
    if (end <= 0)
        end = jtime(t, "mustFinishBefore");
    int64_t created = v_when(&v, t, "createdAt", 0);
    int64_t upd = v_when(&v, t, "updatedAt", 0);
    int status = task_status(st, assignee != NULL);
    if (st && status < 0)
        vdrift(&v, "status", "unknown value");
    int prio = task_priority(pr);
    if (prio < 0)
        vdrift(&v, "priority", "unknown value");
    if (drifted)
        *drifted = v.bad > 0;
    if (v.bad)
        return 0;
    char due[32];
    if (end > 0) {
        gy_fmt(end, due);
        due[10] = '\0';
    }
    struct rec_work_order w = {.remote_id = id,
                               .title = title,
                               .description = desc,
                               .status = (enum wo_status)status,
                               .remote_status = st,
                               .priority = (enum priority)prio,
                               .trade = trade,
                               .property_remote_id = listing,
                               .unit_remote_id = listing,
                               .stay_remote_id = res,
                               .vendor_remote_id = assignee,
                               .schedule_start = start > 0 ? start : 0,
                               .schedule_end = end > 0 ? end : 0,
                               .due_date = end > 0 ? due : NULL,
                               .created_at = created,
                               .remote_updated_at = upd ? upd : created};
    int rc = put(out, ENT_WORK_ORDER, &w, e);
    if (rc != 0 && is_enoparent(e)) {
        log_info("guesty", "task %s: parent not stored yet; putting it unlinked", id);
        w.stay_remote_id = w.vendor_remote_id = NULL;
        rc = put(out, ENT_WORK_ORDER, &w, e);
    }
    return rc;
}

static int put_user(struct sink *out, const cJSON *u, struct err *e)
{
    struct vctx v;
    vinit(&v, "guesty", out, ENT_VENDOR);
    const char *id = v_skey(&v, u, "_id", "id");
    const char *full = v_str(&v, u, "fullName", 0);
    const char *first = v_str(&v, u, "firstName", 0);
    const char *last = v_str(&v, u, "lastName", 0);
    const char *email = v_str(&v, u, "email", 0);
    const char *phone = v_str(&v, u, "phone", 0);
    if (v.bad)
        return 0;
    char *name = full && *full ? xstrdup(full)
                               : xasprintf("%s%s%s", first ? first : "", first && last ? " " : "",
                                           last ? last : "");
    const cJSON *roles = jget(u, "roles");
    const cJSON *r0 = cJSON_GetArrayItem(roles, 0);
    const cJSON *act = jget(u, "active");
    struct rec_vendor r = {.remote_id = id,
                           .name = *name ? name : (email ? email : id),
                           .trade = cJSON_IsString(r0) ? r0->valuestring : NULL,
                           .email = email,
                           .phone = phone,
                           .active = cJSON_IsBool(act) ? cJSON_IsTrue(act) : 1};
    int rc = put(out, ENT_VENDOR, &r, e);
    free(name);
    return rc;
}

/* ---- cursors ---- */

struct cur {
    int64_t hw, max, skip;
    char after[512];
};

static void cur_parse(const char *s, struct cur *c)
{
    memset(c, 0, sizeof(*c));
    for (const char *p = s; p && *p;) {
        long long v = 0;
        if (strncmp(p, "after=", 6) == 0) {
            snprintf(c->after, sizeof(c->after), "%s", p + 6);
            break; /* always last */
        }
        if (sscanf(p, "hw=%lld", &v) == 1)
            c->hw = v;
        else if (sscanf(p, "max=%lld", &v) == 1)
            c->max = v;
        else if (sscanf(p, "skip=%lld", &v) == 1)
            c->skip = v;
        p = strchr(p, ';');
        p = p ? p + 1 : NULL;
    }
    if (c->hw < 0)
        c->hw = 0;
    if (c->skip < 0)
        c->skip = 0;
}

/* ---- pull ---- */

static int pull_skip(struct adapter *a, enum entity ent, const char *cursor, struct sink *out,
                     char **next, struct err *e)
{
    struct cur c;
    cur_parse(cursor, &c);
    struct buf path;
    buf_init(&path);
    if (ent == ENT_WORK_ORDER) {
        char *cols = http_escape(GY_TASK_COLUMNS);
        buf_printf(&path, "/tasks-open-api/tasks?columns=%s&limit=%d&skip=%lld&sort=_id", cols,
                   GY_PAGE, (long long)c.skip);
        free(cols);
    } else if (ent == ENT_STAY) {
        char *f = http_escape(GY_RES_FIELDS);
        buf_printf(&path, "/reservations?limit=%d&skip=%lld&sort=_id&fields=%s", GY_PAGE,
                   (long long)c.skip, f);
        free(f);
    } else {
        buf_printf(&path, "%s?limit=%d&skip=%lld&sort=_id",
                   ent == ENT_VENDOR ? "/users" : "/listings", GY_PAGE, (long long)c.skip);
    }
    cJSON *root;
    const cJSON *items, *env, *it;
    int rc = gy_list(a, path.data, "results", &root, &items, &env, e);
    buf_free(&path);
    if (rc != 0)
        return -1;
    int n = 0;
    cJSON_ArrayForEach(it, items)
    {
        n++;
        rc = ent == ENT_VENDOR       ? put_user(out, it, e)
             : ent == ENT_WORK_ORDER ? put_task(out, it, NULL, e)
             : ent == ENT_STAY       ? put_reservation(a, out, it, NULL, e)
                                     : put_listing(out, ent, it, e);
        if (rc != 0) {
            cJSON_Delete(root);
            return -1;
        }
    }
    const cJSON *count = jget(env, "count");
    /* compared as doubles: a count beyond int64 (1e300) must not overflow a conversion */
    int done = n < GY_PAGE || (cJSON_IsNumber(count) && (double)(c.skip + n) >= count->valuedouble);
    cJSON_Delete(root);
    *next = xasprintf("skip=%lld", done ? 0LL : (long long)(c.skip + n));
    return done ? 0 : 1;
}

/* Posts of one conversation newer than `since` (0: all), newest first. */
static int pull_posts(struct adapter *a, const cJSON *conv, const char *cid, int64_t since,
                      struct sink *out, struct err *e)
{
    char after[512] = "";
    for (;;) {
        struct buf path;
        buf_init(&path);
        buf_printf(&path, "/communication/conversations/%s/posts?sort=-createdAt&limit=%d", cid,
                   GY_PAGE);
        if (after[0]) {
            char *x = http_escape(after);
            buf_printf(&path, "&cursorAfter=%s", x);
            free(x);
        }
        cJSON *root;
        const cJSON *items, *env, *p;
        int rc = gy_list(a, path.data, "posts", &root, &items, &env, e);
        buf_free(&path);
        if (rc != 0)
            return -1;
        int older = 0;
        cJSON_ArrayForEach(p, items)
        {
            struct rec_message m;
            struct vctx v;
            int64_t t = jtime(p, "createdAt");
            if (since && t >= 0 && t < since) {
                older = 1;
                continue;
            }
            if (build_message(out, p, cid, 0, &m, &v) != 0)
                continue;
            if (put_message(a, out, &m, conv, e) != 0) {
                cJSON_Delete(root);
                return -1;
            }
        }
        const char *na = jstr(jget(env, "cursor"), "after");
        int done = older || !na || !*na || cJSON_GetArraySize(items) == 0;
        if (!done)
            snprintf(after, sizeof(after), "%s", na);
        cJSON_Delete(root);
        if (done)
            return 0;
    }
}

static int pull_conversations(struct adapter *a, enum entity ent, const char *cursor,
                              struct sink *out, char **next, struct err *e)
{
    struct cur c;
    cur_parse(cursor, &c);
    int limit = ent == ENT_MESSAGE ? GY_MSG_CONV_PAGE : GY_PAGE;
    struct buf path;
    buf_init(&path);
    buf_printf(&path, "/communication/conversations?limit=%d&sort=-createdAt", limit);
    if (c.after[0]) {
        char *x = http_escape(c.after);
        buf_printf(&path, "&cursorAfter=%s", x);
        free(x);
    }
    cJSON *root;
    const cJSON *items, *env, *conv;
    int rc = gy_list(a, path.data, "conversations", &root, &items, &env, e);
    buf_free(&path);
    if (rc != 0)
        return -1;
    int64_t since = c.hw ? c.hw - GY_OVERLAP_MS : 0;
    cJSON_ArrayForEach(conv, items)
    {
        int64_t act = max64(jtime(conv, "modifiedAt"), jtime(conv, "createdAt"));
        if (since && act >= 0 && act < since)
            continue;
        c.max = max64(c.max, act);
        const char *cid = jstr(conv, "_id");
        if (ent == ENT_THREAD)
            rc = put_conversation(a, out, conv, -1, NULL, e);
        else
            rc = cid ? pull_posts(a, conv, cid, since, out, e) : 0;
        if (rc != 0) {
            cJSON_Delete(root);
            return -1;
        }
    }
    const char *na = jstr(jget(env, "cursor"), "after");
    int done = !na || !*na || cJSON_GetArraySize(items) == 0;
    if (done) {
        c.hw = max64(c.hw, c.max);
        c.max = 0;
        *next = xasprintf("hw=%lld;max=0;after=", (long long)c.hw);
    } else {
        *next = xasprintf("hw=%lld;max=%lld;after=%s", (long long)c.hw, (long long)c.max, na);
    }
    cJSON_Delete(root);
    return done ? 0 : 1;
}

static int gy_pull(struct adapter *a, enum entity ent, const char *cursor, struct sink *out,
                   char **next, struct err *e)
{
    *next = NULL;
    switch (ent) {
    case ENT_PROPERTY:
    case ENT_UNIT:
    case ENT_STAY:
    case ENT_VENDOR:
    case ENT_WORK_ORDER:
        return pull_skip(a, ent, cursor, out, next, e);
    case ENT_THREAD:
    case ENT_MESSAGE:
        return pull_conversations(a, ent, cursor, out, next, e);
    case ENT_CONTACT:
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

static int is_op(const struct outbox_op *op, const char *name)
{
    return op->op && strcmp(op->op, name) == 0;
}

static void fill_res(struct push_result *res, const cJSON *root, const char *fallback)
{
    const cJSON *d = unwrap(root);
    const char *id = jstr(d, "_id");
    if (!id)
        id = jstr(d, "id");
    if (!id)
        id = fallback;
    if (id)
        snprintf(res->remote_id, sizeof(res->remote_id), "%s", id);
    int64_t t = jtime(d, "updatedAt");
    if (t <= 0)
        t = jtime(d, "createdAt");
    res->remote_updated_at = t > 0 ? t : 0;
}

static int push_message(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                        struct push_result *res, struct err *e)
{
    int note = is_op(op, "note");
    const char *thread = jstr(p, "thread"), *body = jstr(p, "body");
    if (!is_oid(thread))
        return payload_err(e, op->op, "has no Guesty conversation id in \"thread\"");
    if (!body || !*body)
        return payload_err(e, op->op, "has no \"body\"");
    const char *type = note ? "note" : channel_module(jstr(p, "channel"));
    if (!type)
        return err_set(e, 400, FINAL, "Guesty cannot send messages on channel \"%s\"",
                       jstr(p, "channel"));
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(b, "module"), "type", type);
    cJSON_AddStringToObject(b, "body", body);
    char *json = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char path[96];
    snprintf(path, sizeof(path), "/communication/conversations/%s/%s", thread,
             note ? "posts" : "send-message");
    cJSON *root;
    int rc = gy_call(a, "POST", path, json, &root, e);
    free(json);
    if (rc != 0)
        return -1;
    fill_res(res, root, NULL);
    cJSON_Delete(root);
    if (!res->remote_id[0])
        return err_set(e, ADAPTER_EDRIFT, FINAL, "Guesty stored the message but sent no id");
    return 0;
}

static const char *op_task(const struct outbox_op *op, const cJSON *p)
{
    if (is_oid(op->remote_id))
        return op->remote_id;
    const char *r = jstr(p, "remote_id");
    return is_oid(r) ? r : NULL;
}

static int push_task(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                     struct push_result *res, struct err *e)
{
    int create = is_op(op, "wo_create");
    const char *id = create ? NULL : op_task(op, p);
    if (!create && !id)
        return payload_err(e, op->op, "has no Guesty task id");
    cJSON *b = cJSON_CreateObject();
    if (create) {
        const char *listing = jstr(p, "unit");
        if (!is_oid(listing))
            listing = jstr(p, "property");
        if (!is_oid(listing)) {
            cJSON_Delete(b);
            return err_set(e, 400, FINAL, "Guesty tasks need a listing: the work order has none");
        }
        const char *title = jstr(p, "title"), *desc = jstr(p, "description");
        const char *trade = jstr(p, "trade"), *stay = jstr(p, "stay");
        cJSON_AddStringToObject(b, "title", title ? title : "");
        if (desc && *desc)
            cJSON_AddStringToObject(b, "description", desc);
        cJSON_AddStringToObject(
            b, "type", trade && strcmp(trade, "cleaning") == 0 ? "cleaning" : "maintenance");
        cJSON_AddStringToObject(b, "priority", priority_out(jstr(p, "priority")));
        cJSON_AddStringToObject(b, "listingId", listing);
        if (is_oid(stay))
            cJSON_AddStringToObject(b, "reservationId", stay);
        if (is_oid(jstr(p, "vendor"))) /* dispatched before it went */
            cJSON_AddStringToObject(b, "assigneeId", jstr(p, "vendor"));
    } else if (is_op(op, "wo_status")) {
        const char *st = task_status_out(jstr(p, "status"));
        if (!st) {
            cJSON_Delete(b);
            return err_set(e, 400, FINAL, "unknown work-order status \"%s\"",
                           jstr(p, "status") ? jstr(p, "status") : "");
        }
        cJSON_AddStringToObject(b, "status", st);
    } else if (is_op(op, "wo_priority")) {
        cJSON_AddStringToObject(b, "priority", priority_out(jstr(p, "priority")));
    } else if (is_op(op, "wo_vendor")) {
        const char *v = jstr(p, "vendor");
        if (is_oid(v))
            cJSON_AddStringToObject(b, "assigneeId", v);
        else
            cJSON_AddNullToObject(b, "assigneeId");
    } else { /* wo_schedule */
        const cJSON *s = jget(p, "start"), *en = jget(p, "end");
        char t1[32], t2[32];
        int s_ok = cJSON_IsNumber(s) && s->valuedouble > 0 && s->valuedouble < GY_MAX_MS;
        int en_ok = cJSON_IsNumber(en) && en->valuedouble > 0 && en->valuedouble < GY_MAX_MS;
        if (s_ok && en_ok) {
            gy_fmt((int64_t)s->valuedouble, t1);
            gy_fmt((int64_t)en->valuedouble, t2);
            cJSON_AddStringToObject(b, "canStartAfter", t1);
            cJSON_AddStringToObject(b, "mustFinishBefore", t2);
        } else if (s_ok) {
            gy_fmt((int64_t)s->valuedouble, t1);
            cJSON_AddStringToObject(b, "startTime", t1);
        }
    }
    char *json = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char path[96];
    if (create)
        snprintf(path, sizeof(path), "/tasks-open-api/create-single-task");
    else
        snprintf(path, sizeof(path), "/tasks-open-api/%s", id);
    cJSON *root;
    int rc = gy_call(a, create ? "POST" : "PUT", path, json, &root, e);
    free(json);
    if (rc != 0)
        return -1;
    fill_res(res, root, id);
    cJSON_Delete(root);
    if (!res->remote_id[0])
        return err_set(e, ADAPTER_EDRIFT, FINAL, "Guesty created the task but sent no id");
    return 0;
}

static int gy_push(struct adapter *a, const struct outbox_op *op, struct push_result *res,
                   struct err *e)
{
    memset(res, 0, sizeof(*res));
    if (is_op(op, "wo_note"))
        return ADAPTER_LOCAL_ONLY; /* Guesty task comments are not mapped */
    cJSON *p = cJSON_Parse(op->payload ? op->payload : "");
    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        return payload_err(e, op->op ? op->op : "?", "is not a JSON object");
    }
    int rc;
    if (is_op(op, "reply") || is_op(op, "note"))
        rc = push_message(a, op, p, res, e);
    else if (is_op(op, "wo_create") || is_op(op, "wo_status") || is_op(op, "wo_priority") ||
             is_op(op, "wo_vendor") || is_op(op, "wo_schedule"))
        rc = push_task(a, op, p, res, e);
    else
        rc = err_set(e, 400, FINAL, "Guesty: unsupported operation \"%s\"", op->op ? op->op : "");
    cJSON_Delete(p);
    return rc;
}

/* ---- find ---- */

static int find_message(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                        struct push_result *res, struct err *e)
{
    const char *thread = jstr(p, "thread"), *body = jstr(p, "body");
    if (!is_oid(thread) || !body)
        return payload_err(e, op->op, "has no thread or body");
    int note = is_op(op, "note");
    char path[128];
    snprintf(path, sizeof(path), "/communication/conversations/%s/posts?sort=-createdAt&limit=%d",
             thread, GY_PAGE);
    cJSON *root;
    const cJSON *items, *m, *best = NULL;
    if (gy_list(a, path, "posts", &root, &items, NULL, e) != 0)
        return -1;
    int64_t from = op->created_at - GY_FIND_WINDOW_MS, best_t = 0;
    cJSON_ArrayForEach(m, items)
    {
        const char *mt = module_type(m);
        int64_t t = jtime(m, "createdAt");
        if (!str_same(jstr(m, "sentBy"), "host") || !str_same(jstr(m, "body"), body) || t < from ||
            !jstr(m, "_id") || (note != str_same(mt, "note")))
            continue;
        if (!best || t < best_t) {
            best = m;
            best_t = t;
        }
    }
    if (best) {
        snprintf(res->remote_id, sizeof(res->remote_id), "%s", jstr(best, "_id"));
        res->remote_updated_at = best_t;
    }
    cJSON_Delete(root);
    return best != NULL;
}

static int find_status(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                       struct push_result *res, struct err *e)
{
    const char *id = op_task(op, p);
    const char *want = task_status_out(jstr(p, "status"));
    if (!id || !want)
        return payload_err(e, op->op, "has no task id or a bad status");
    char path[64];
    snprintf(path, sizeof(path), "/tasks-open-api/%s", id);
    cJSON *root;
    if (gy_call(a, "GET", path, NULL, &root, e) != 0)
        return -1;
    int same = str_same(jstr(unwrap(root), "status"), want);
    if (same)
        snprintf(res->remote_id, sizeof(res->remote_id), "%s", id);
    cJSON_Delete(root);
    return same;
}

static int find_task(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                     struct push_result *res, struct err *e)
{
    const char *title = jstr(p, "title");
    const char *listing = jstr(p, "unit");
    if (!is_oid(listing))
        listing = jstr(p, "property");
    int64_t from = op->created_at - GY_FIND_WINDOW_MS, best_t = 0;
    char best[32] = "";
    char *cols = http_escape(GY_TASK_COLUMNS);
    for (int64_t skip = 0;;) {
        char path[512];
        snprintf(path, sizeof(path), "/tasks-open-api/tasks?columns=%s&limit=%d&skip=%lld", cols,
                 GY_PAGE, (long long)skip);
        cJSON *root;
        const cJSON *items, *env, *t;
        if (gy_list(a, path, "results", &root, &items, &env, e) != 0) {
            free(cols);
            return -1;
        }
        int n = 0;
        cJSON_ArrayForEach(t, items)
        {
            n++;
            const char *tt = jstr(t, "title") ? jstr(t, "title") : jstr(t, "taskTitle");
            const char *tl = jref(t, "listingId") ? jref(t, "listingId") : jref(t, "listing");
            const char *id = jstr(t, "_id") ? jstr(t, "_id") : jstr(t, "id");
            int64_t made = jtime(t, "createdAt");
            if (!id || !str_same(tt, title) || !str_same(tl, listing) || made < from)
                continue;
            if (!best[0] || made < best_t) {
                snprintf(best, sizeof(best), "%s", id);
                best_t = made;
            }
        }
        const cJSON *count = jget(env, "count");
        int done = n < GY_PAGE || (cJSON_IsNumber(count) && skip + n >= count->valuedouble);
        cJSON_Delete(root);
        if (done)
            break;
        skip += n;
    }
    free(cols);
    if (best[0])
        snprintf(res->remote_id, sizeof(res->remote_id), "%s", best);
    return best[0] != '\0';
}

static int gy_find(struct adapter *a, const struct outbox_op *op, struct push_result *res,
                   struct err *e)
{
    memset(res, 0, sizeof(*res));
    int msg = is_op(op, "reply") || is_op(op, "note");
    if (!msg && !is_op(op, "wo_status") && !is_op(op, "wo_create"))
        return 0; /* the other PUTs are idempotent: resending is safe */
    cJSON *p = cJSON_Parse(op->payload ? op->payload : "");
    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        return payload_err(e, op->op, "is not a JSON object");
    }
    int rc = msg                      ? find_message(a, op, p, res, e)
             : is_op(op, "wo_status") ? find_status(a, op, p, res, e)
                                      : find_task(a, op, p, res, e);
    cJSON_Delete(p);
    return rc;
}

/* ---- webhooks (Svix) ---- */

/* Base64 decode; the number of bytes or -1. */
static int b64dec(const char *s, unsigned char *out, size_t cap)
{
    size_t n = strlen(s);
    if (n == 0 || n % 4 != 0 || (n / 4) * 3 > cap)
        return -1;
    int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (len < 0)
        return -1;
    if (s[n - 1] == '=')
        len--;
    if (s[n - 2] == '=')
        len--;
    return len;
}

static int gy_webhook_verify(struct adapter *a, const struct webhook_req *rq, char **event_id,
                             char **kind, struct err *e)
{
    *event_id = *kind = NULL;
    const char *secret = a->conf ? a->conf->webhook_secret : NULL;
    if (!secret || !*secret)
        return err_set(e, 401, FINAL,
                       "webhook: no webhook_secret configured (Guesty signs with Svix; set the "
                       "whsec_ secret of the subscription)");
    const char *id = rq->header ? rq->header(rq, "svix-id") : NULL;
    const char *ts = rq->header ? rq->header(rq, "svix-timestamp") : NULL;
    const char *sig = rq->header ? rq->header(rq, "svix-signature") : NULL;
    if (!id || !*id || !ts || !*ts || !sig || !*sig)
        return err_set(e, 401, FINAL, "webhook: missing svix-id, svix-timestamp or svix-signature");
    char *end;
    long long t = strtoll(ts, &end, 10);
    /* digits only, and small enough that t * 1000 cannot overflow */
    if (*end || end == ts || ts[0] < '0' || ts[0] > '9' || t > GY_HOOK_TS_MAX)
        return err_set(e, 401, FINAL, "webhook: svix-timestamp is not a number of seconds");
    int64_t skew = rq->now_ms - (int64_t)t * 1000;
    if (skew > GY_HOOK_SKEW_MS || skew < -GY_HOOK_SKEW_MS)
        return err_set(e, 401, FINAL, "webhook: svix-timestamp is %lld s away from now",
                       (long long)(skew / 1000));
    unsigned char key[256];
    int klen = -1;
    if (strncmp(secret, "whsec_", 6) == 0)
        klen = b64dec(secret + 6, key, sizeof(key));
    if (klen < 0) {
        klen = (int)(strlen(secret) < sizeof(key) ? strlen(secret) : sizeof(key));
        memcpy(key, secret, (size_t)klen);
    }
    struct buf content;
    buf_init(&content);
    buf_printf(&content, "%s.%s.", id, ts);
    buf_append(&content, rq->body ? rq->body : "", rq->body_len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    unsigned char *okm = HMAC(EVP_sha256(), key, klen, (const unsigned char *)content.data,
                              content.len, mac, &maclen);
    buf_free(&content);
    OPENSSL_cleanse(key, sizeof(key));
    if (!okm)
        return err_set(e, 500, RETRY_LATER, "webhook: HMAC failed");
    unsigned char want[64];
    int wlen = EVP_EncodeBlock(want, mac, (int)maclen);
    int ok = 0;
    for (const char *p = sig; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n > 3 && strncmp(p, "v1,", 3) == 0 && n - 3 == (size_t)wlen &&
            CRYPTO_memcmp(p + 3, want, (size_t)wlen) == 0)
            ok = 1;
        p += n;
    }
    if (!ok)
        return err_set(e, 401, FINAL, "webhook: no svix-signature matches");
    cJSON *j = jparse_body(rq->body ? rq->body : "", rq->body_len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return err_set(e, 400, FINAL, "webhook: body is not a JSON object");
    }
    const char *ev = jstr(j, "event");
    *kind = xstrdup(ev && *ev ? ev : "unknown");
    cJSON_Delete(j);
    *event_id = xstrdup(id);
    return 0;
}

static int gy_webhook_apply(struct adapter *a, const char *kind, const char *body, struct sink *out,
                            struct err *e)
{
    int message = kind && (strcmp(kind, "reservation.messageReceived") == 0 ||
                           strcmp(kind, "reservation.messageSent") == 0);
    int task = kind && (strcmp(kind, "task.created") == 0 || strcmp(kind, "task.updated") == 0);
    if (!message && !task)
        return 0;
    cJSON *j = cJSON_Parse(body ? body : "");
    int rc = 0, drifted = 0;
    if (task) {
        const cJSON *t = jget(j, "task");
        if (!cJSON_IsObject(t)) {
            if (out->drift)
                out->drift(out, ENT_WORK_ORDER, "?", "task", "missing");
            cJSON_Delete(j);
            return err_set(e, ADAPTER_EDRIFT, FINAL, "%s: no \"task\" object", kind);
        }
        rc = put_task(out, t, &drifted, e);
    } else {
        const cJSON *conv = jget(j, "conversation"), *msg = jget(j, "message");
        const char *cid = jstr(conv, "_id");
        if (!cJSON_IsObject(msg) || !is_oid(cid)) {
            if (out->drift)
                out->drift(out, ENT_MESSAGE, "?",
                           cJSON_IsObject(msg) ? "conversation._id" : "message", "missing");
            cJSON_Delete(j);
            return err_set(e, ADAPTER_EDRIFT, FINAL, "%s: no message or conversation id", kind);
        }
        struct rec_message m;
        struct vctx v;
        if (build_message(out, msg, cid, 1, &m, &v) != 0)
            drifted = 1;
        else
            rc = put_message(a, out, &m, NULL, e);
    }
    cJSON_Delete(j);
    if (rc != 0)
        return -1;
    if (drifted)
        return err_set(e, ADAPTER_EDRIFT, FINAL,
                       "%s: the record does not have the documented shape (see the schema_drift "
                       "alert)",
                       kind);
    return 0;
}

/* ---- lifecycle ---- */

static int gy_init(struct adapter *a, struct err *e)
{
    if (!a->conf || !a->conf->client_id || !*a->conf->client_id || !a->conf->secret ||
        !*a->conf->secret)
        return err_set(e, ADAPTER_EAUTH, FINAL,
                       "guesty: client_id and secret (Open API application) are required");
    a->priv = xcalloc(1, sizeof(struct guesty));
    return 0;
}

static void gy_fini(struct adapter *a)
{
    struct guesty *g = a->priv;
    if (!g)
        return;
    set_token(g, NULL, 0);
    free(g->stale);
    free(g);
    a->priv = NULL;
}

static const enum entity gy_pull_order[] = {ENT_PROPERTY, ENT_UNIT,   ENT_STAY,       ENT_THREAD,
                                            ENT_MESSAGE,  ENT_VENDOR, ENT_WORK_ORDER, ENTITY_COUNT};

const struct adapter_ops guesty_adapter = {
    .name = "guesty",
    .default_base_url = "https://open-api.guesty.com/v1",
    .rate_per_sec = 1.35, /* + burst 10: under 15/s, 120/min and 5000/h */
    .rate_burst = 10,
    .pull_order = gy_pull_order,
    .full_walk = 1u << ENT_PROPERTY | 1u << ENT_UNIT | 1u << ENT_STAY | 1u << ENT_VENDOR |
                 1u << ENT_WORK_ORDER,
    .init = gy_init,
    .fini = gy_fini,
    .auth = gy_auth,
    .pull = gy_pull,
    .push = gy_push,
    .find = gy_find,
    .webhook_verify = gy_webhook_verify,
    .webhook_apply = gy_webhook_apply,
};
