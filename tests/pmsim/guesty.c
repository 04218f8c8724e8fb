/* guesty.c - pmsim dialect: Guesty Open API v1 (fact sheet: shared/reference/
 * pms-apis-vacation-rental.md, section 2).
 *
 * Defaults (override with the fixture's "credentials" object or with --client-id,
 * --client-secret, --webhook-secret):
 *   client_id      pmsim-guesty
 *   client_secret  pmsim-guesty-secret
 *   webhook secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw (Svix-style)
 *
 * Wire behaviour reproduced:
 *   POST /oauth2/token (form-urlencoded client_credentials, scope=open-api) -> Bearer token,
 *   24 h; at most 5 tokens per client in a rolling 24 h (the 6th: 429, OAuth-style body);
 *   bad client -> 401 {"error":"invalid_client",...}. API calls without a valid token ->
 *   401 {"error":{"code":"UNAUTHORIZED","message":"Unauthorized"}}; an expired token -> 401,
 *   or 403 "Forbidden" when settings.expired_token_status is 403 (gateways vary: UNCONFIRMED).
 *   A token sent without the "Bearer " prefix -> 403 "You don't have permission..." (the docs
 *   say so; the exact body is UNCONFIRMED).
 *   Ids are 24-hex strings; times ISO-8601 with milliseconds and Z.
 *   GET  /v1/listings, /v1/listings/{id}, /v1/users        {results,count,limit,skip}
 *   GET  /v1/reservations (limit<=100 + skip, filters, sort, fields) {results,count,limit,skip}
 *        (the list wrapper is 3P, not in the spec), GET/PUT /v1/reservations/{id}
 *        (missing -> 404 plain text "Reservation Not Found"; cancel is status "canceled")
 *   GET  /v1/communication/conversations (cursorAfter/cursorBefore, sort, fields, filters, type)
 *        and /{id}, /{id}/posts; POST /{id}/send-message (module object or bare string),
 *        POST /{id}/posts (stored, not sent: notes) -> {"status":200,"data":{...}}
 *   Tasks: GET /v1/tasks-open-api/tasks (columns required, limit >= 25, skip, filters),
 *        POST /v1/tasks-open-api/create-single-task and POST /v1/tasks-open-api/tasks (which
 *        is current is UNCONFIRMED: both accepted), GET/PUT/DELETE /v1/tasks-open-api/{id}.
 *   Errors vary by service (section 2.9): {"error":{code,message}} for most, the
 *   VALIDATION_FAILED shape for query/enum validation, {"message","code","details",
 *   "requestId"} for a task body missing required fields, and a plain string for a missing
 *   reservation. Every answer carries x-request-id and the X-RateLimit-* headers.
 *   Rate limits 15/s, 120/min, 5000/h per account; 429 carries Retry-After.
 *   Webhooks signed the Svix way (svix-id stable across retries and duplicates).
 *
 * Fixture (data/demo/guesty.json): {"credentials":{...},"settings":{...},"listings":[...],
 * "reservations":[...],"conversations":[...],"posts":[...],"tasks":[...],"users":[...]},
 * records in the wire format. settings: clock_start (ISO; the scenario clock starts there so
 * that runs are reproducible), expired_token_status (401|403), tasks_list_key ("results").
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pmsim.h"
#include "util.h"

#define DEFAULT_CLIENT_ID      "pmsim-guesty"
#define DEFAULT_CLIENT_SECRET  "pmsim-guesty-secret"
#define DEFAULT_WEBHOOK_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define DEFAULT_CLOCK_START    1777626000000LL /* 2026-05-01T09:00:00.000Z */
#define DEFAULT_ACCOUNT_ID     "5f1a2b3c4d5e6f7a8b9c0d1e"
#define TOKEN_TTL_MS           (24LL * 3600 * 1000)
#define TOKENS_PER_DAY         5
#define MAX_ACCOUNTS           16

/* ---- per-account settings (the core has no dialect-private slot) ---- */

struct gsettings {
    const struct sim_account *a;
    int expired_status; /* 401 or 403 */
    char tasks_key[32]; /* wrapper of the tasks list (UNCONFIRMED: "results") */
    char account_id[25];
};

static struct gsettings settings_tab[MAX_ACCOUNTS];

static struct gsettings *settings_of(const struct sim_account *a)
{
    for (int i = 0; i < MAX_ACCOUNTS; i++)
        if (settings_tab[i].a == a)
            return &settings_tab[i];
    for (int i = 0; i < MAX_ACCOUNTS; i++)
        if (!settings_tab[i].a) {
            struct gsettings *s = &settings_tab[i];
            s->a = a;
            s->expired_status = 401;
            strcpy(s->tasks_key, "results");
            strcpy(s->account_id, DEFAULT_ACCOUNT_ID);
            return s;
        }
    return &settings_tab[0];
}

static void apply_settings(struct sim_account *a, const cJSON *j)
{
    struct gsettings *s = settings_of(a);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "expired_token_status");
    if (cJSON_IsNumber(v) && (v->valueint == 401 || v->valueint == 403))
        s->expired_status = v->valueint;
    const char *k = json_str(j, "tasks_list_key");
    if (k && *k && strlen(k) < sizeof(s->tasks_key))
        strcpy(s->tasks_key, k);
    k = json_str(j, "account_id");
    if (k && strlen(k) == 24)
        strcpy(s->account_id, k);
}

/* ---- small helpers ---- */

static char reqid[40]; /* x-request-id of the answer being built (sim_lock held) */

static void new_reqid(void)
{
    static unsigned seq;
    char hex[17];
    if (random_hex(hex, 8, NULL) != 0)
        snprintf(hex, sizeof(hex), "%016x", ++seq);
    snprintf(reqid, sizeof(reqid), "%.8s-%.4s-4%.3s-a%03x-%012x", hex, hex + 8, hex + 12,
             ++seq & 0xfff, (unsigned)(now_ms() & 0xffffffff));
}

static void iso(int64_t ms, char out[32])
{
    fmt_iso_time(ms, out);
}

/* Parse "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (or a date) into ms; -1 when not a time. */
static int64_t parse_iso(const char *s)
{
    int y, mo, d, h = 0, mi = 0, se = 0, ms = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) != 3)
        return -1;
    if (strlen(s) > 10)
        sscanf(s + 10, "T%2d:%2d:%2d.%3d", &h, &mi, &se, &ms);
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* The scenario clock, strictly increasing for each stamped change. */
static int64_t stamp(struct sim_account *a, char out[32])
{
    a->clock_ms += 1;
    iso(a->clock_ms, out);
    return a->clock_ms;
}

static void new_id(struct sim_account *a, char out[25])
{
    sim_hex_id(a, out);
}

static cJSON *obj_get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* A dotted path ("meta.guest.fullName"); arrays step into their first element. */
static const cJSON *get_path(const cJSON *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    char *save = NULL;
    const cJSON *cur = o;
    for (char *t = strtok_r(buf, ".", &save); t && cur; t = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsArray(cur))
            cur = cJSON_GetArrayItem(cur, 0);
        cur = cur ? cJSON_GetObjectItemCaseSensitive(cur, t) : NULL;
    }
    return cur;
}

static int in_list(const char *v, const char *const *list, int n)
{
    for (int i = 0; i < n && v; i++)
        if (strcmp(v, list[i]) == 0)
            return 1;
    return 0;
}

static char *b64(const unsigned char *p, size_t n)
{
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

/* Base64 decode; returns the byte count or -1. */
static int unb64(const char *s, unsigned char *out, size_t cap)
{
    size_t n = strlen(s);
    if (n == 0 || n % 4 || (n / 4) * 3 > cap)
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

/* ---- answers ---- */

static void g_error(struct sim_account *a, struct sim_resp *rs, int status, const char *code,
                    const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(j, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    resp_json(a, rs, status, j);
}

static void g_validation(struct sim_account *a, struct sim_resp *rs, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(j, "error");
    cJSON_AddStringToObject(e, "message", "Bad Request");
    cJSON_AddStringToObject(e, "code", "VALIDATION_FAILED");
    cJSON_AddNumberToObject(e, "status", 400);
    cJSON *d = cJSON_AddArrayToObject(e, "data");
    cJSON_AddItemToArray(d, cJSON_CreateString(msg));
    resp_json(a, rs, 400, j);
}

/* The tasks service's body-validation shape (section 2.9). */
static void g_task_validation(struct sim_account *a, struct sim_resp *rs, const char *field,
                              const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "message", msg);
    cJSON_AddStringToObject(j, "code", "ValidationError");
    cJSON *d = cJSON_AddArrayToObject(j, "details");
    cJSON *one = cJSON_CreateObject();
    cJSON_AddStringToObject(one, "field", field);
    cJSON_AddStringToObject(one, "message", msg);
    cJSON_AddItemToArray(d, one);
    char *rid = xasprintf("Root=1-%.8s-%s", reqid, reqid + 9);
    cJSON_AddStringToObject(j, "requestId", rid);
    free(rid);
    resp_json(a, rs, 400, j);
}

static void g_oauth_error(struct sim_account *a, struct sim_resp *rs, int status, const char *err,
                          const char *desc)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", err);
    cJSON_AddStringToObject(j, "error_description", desc);
    resp_json(a, rs, status, j);
}

static void g_data(struct sim_account *a, struct sim_resp *rs, cJSON *data)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "status", 200);
    cJSON_AddItemToObject(j, "data", data);
    resp_json(a, rs, 200, j);
}

static void bad_json(struct sim_account *a, struct sim_resp *rs)
{
    g_error(a, rs, 400, "BAD_REQUEST", "Unexpected token in JSON body");
}

static void not_found(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    char *m = xasprintf("Cannot %s %s", rq->method, rq->path);
    g_error(a, rs, 404, "NOT_FOUND", m);
    free(m);
}

/* ---- authentication ---- */

static char *form_value(const char *body, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = body; p && *p;) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            struct buf b;
            buf_init(&b);
            for (const char *q = p + nl + 1; q < end; q++) {
                char c = *q;
                if (c == '+')
                    c = ' ';
                else if (c == '%' && q + 2 < end && isxdigit((unsigned char)q[1]) &&
                         isxdigit((unsigned char)q[2])) {
                    char hx[3] = {q[1], q[2], 0};
                    c = (char)strtol(hx, NULL, 16);
                    q += 2;
                }
                buf_append(&b, &c, 1);
            }
            return b.data ? buf_steal(&b) : xstrdup("");
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static int tokens_in_window(struct sim_account *a, int64_t now, int64_t *oldest)
{
    int n = 0;
    *oldest = now;
    cJSON *t;
    cJSON_ArrayForEach(t, a->tokens)
    {
        int64_t issued = (int64_t)cJSON_GetNumberValue(obj_get(t, "issued"));
        if (now - issued < TOKEN_TTL_MS) {
            n++;
            if (issued < *oldest)
                *oldest = issued;
        }
    }
    return n;
}

static char *b64url(const unsigned char *p, size_t n)
{
    char *s = b64(p, n);
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '=')
            continue;
        *w++ = *r == '+' ? '-' : *r == '/' ? '_' : *r;
    }
    *w = '\0';
    return s;
}

static void token(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    const char *ct = sim_header(rq, "Content-Type");
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        g_oauth_error(a, rs, 400, "invalid_request",
                      "The request must be application/x-www-form-urlencoded.");
        return;
    }
    char *grant = form_value(rq->body, "grant_type");
    char *scope = form_value(rq->body, "scope");
    char *id = form_value(rq->body, "client_id");
    char *secret = form_value(rq->body, "client_secret");
    const char *auth = sim_header(rq, "Authorization");
    if (!id && auth && strncasecmp(auth, "Basic ", 6) == 0) { /* client_secret_basic */
        unsigned char dec[512];
        int n = unb64(auth + 6, dec, sizeof(dec) - 1);
        if (n > 0) {
            dec[n] = 0;
            char *colon = strchr((char *)dec, ':');
            if (colon) {
                *colon = 0;
                id = xstrdup((char *)dec);
                free(secret);
                secret = xstrdup(colon + 1);
            }
        }
    }
    int64_t now = sim_now(), oldest;
    if (!str_eq(grant, "client_credentials"))
        g_oauth_error(a, rs, 400, "unsupported_grant_type",
                      "The authorization grant type is not supported by the authorization "
                      "server. Configured grant types: [client_credentials].");
    else if (!str_eq(id, a->client_id) || !str_eq(secret, a->client_secret))
        g_oauth_error(a, rs, 401, "invalid_client", "Invalid value for 'client_id' parameter.");
    else if (!str_eq(scope, "open-api"))
        g_oauth_error(a, rs, 400, "invalid_scope",
                      "One or more scopes are not configured for the authorization server "
                      "resource.");
    else if (tokens_in_window(a, now, &oldest) >= TOKENS_PER_DAY) {
        /* The key's daily quota of tokens: cache the token (section 2.1). The body is
         * OAuth-style; its exact text is UNCONFIRMED. */
        g_oauth_error(a, rs, 429, "too_many_requests",
                      "Token creation limit reached: at most 5 access tokens per client id in "
                      "24 hours. Reuse the token you have.");
        resp_header(rs, "Retry-After", "%lld",
                    (long long)((oldest + TOKEN_TTL_MS - now + 999) / 1000));
        a->tokens_minted = TOKENS_PER_DAY;
        a->token_day_start = oldest;
    } else {
        unsigned char raw[32];
        char hex[65];
        if (random_hex(hex, 32, NULL) != 0)
            snprintf(hex, sizeof(hex), "%lld", (long long)now);
        for (int i = 0; i < 32; i++)
            raw[i] = (unsigned char)hex[i];
        char *claims =
            xasprintf("{\"ver\":1,\"jti\":\"AT.%.24s\",\"iss\":\"https://"
                      "login.guesty.com/oauth2/aus1p8qrh53CcQTI95d7\",\"aud\":"
                      "\"https://api.guesty.com\",\"iat\":%lld,\"exp\":%lld,\"cid\":"
                      "\"%s\",\"scp\":[\"open-api\"],\"sub\":\"%s\"}",
                      hex, (long long)(now / 1000), (long long)((now + TOKEN_TTL_MS) / 1000),
                      a->client_id, a->client_id);
        char *c64 = b64url((const unsigned char *)claims, strlen(claims));
        char *s64 = b64url(raw, sizeof(raw));
        char *tok =
            xasprintf("eyJraWQiOiJwbXNpbSIsImFsZyI6IlJTMjU2In0.%s.%s%.16s", c64, s64, hex + 32);
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "token", tok);
        cJSON_AddNumberToObject(t, "issued", (double)now);
        cJSON_AddNumberToObject(t, "expires", (double)(now + TOKEN_TTL_MS));
        cJSON_AddItemToArray(a->tokens, t);
        a->tokens_minted = tokens_in_window(a, now, &oldest);
        a->token_day_start = oldest;
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "token_type", "Bearer");
        cJSON_AddNumberToObject(j, "expires_in", 86400);
        cJSON_AddStringToObject(j, "access_token", tok);
        cJSON_AddStringToObject(j, "scope", "open-api");
        resp_json(a, rs, 200, j);
        free(claims);
        free(c64);
        free(s64);
        free(tok);
    }
    free(grant);
    free(scope);
    free(id);
    free(secret);
}

/* 0 when the request carries a live token; otherwise the answer is built. */
static int check_auth(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    const char *h = sim_header(rq, "Authorization");
    if (!h || !*h) {
        g_error(a, rs, 401, "UNAUTHORIZED", "Unauthorized");
        return -1;
    }
    const char *tok = h;
    if (strncasecmp(h, "Bearer ", 7) == 0)
        tok = h + 7;
    cJSON *t, *found = NULL;
    cJSON_ArrayForEach(t, a->tokens)
    {
        if (str_eq(json_str(t, "token"), tok))
            found = t;
    }
    if (found && tok == h) { /* a real token without "Bearer ": section 2.1 */
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "message", "You don't have permission to access this resource");
        resp_json(a, rs, 403, j);
        return -1;
    }
    if (!found) {
        g_error(a, rs, 401, "UNAUTHORIZED", "Unauthorized");
        return -1;
    }
    if ((int64_t)cJSON_GetNumberValue(obj_get(found, "expires")) <= sim_now()) {
        if (settings_of(a)->expired_status == 403) {
            resp_text(rs, 403, "Forbidden"); /* some gateways: UNCONFIRMED */
            resp_header(rs, "Content-Type", "text/plain; charset=utf-8");
        } else
            g_error(a, rs, 401, "UNAUTHORIZED", "Unauthorized");
        return -1;
    }
    return 0;
}

/* ---- query helpers: fields, sort, filters ---- */

/* Copy the dotted path `path` of src into dst (creating intermediate objects). */
static void copy_path(cJSON *dst, const cJSON *src, const char *path)
{
    const char *dot = strchr(path, '.');
    if (!dot) {
        const cJSON *v = obj_get(src, path);
        if (v && !obj_get(dst, path))
            cJSON_AddItemToObject(dst, path, cJSON_Duplicate(v, 1));
        return;
    }
    char key[64];
    snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
    const cJSON *sv = obj_get(src, key);
    if (!cJSON_IsObject(sv)) {
        if (sv && !obj_get(dst, key))
            cJSON_AddItemToObject(dst, key, cJSON_Duplicate(sv, 1));
        return;
    }
    cJSON *dv = obj_get(dst, key);
    if (!dv)
        dv = cJSON_AddObjectToObject(dst, key);
    if (cJSON_IsObject(dv))
        copy_path(dv, sv, dot + 1);
}

/* The record projected on `fields` (space-separated; _id always), or a full copy. */
static cJSON *project(const cJSON *rec, const char *fields)
{
    if (!fields || !*fields)
        return cJSON_Duplicate(rec, 1);
    cJSON *o = cJSON_CreateObject();
    copy_path(o, rec, "_id");
    char *dup = xstrdup(fields);
    char *save = NULL;
    for (char *t = strtok_r(dup, " ,+", &save); t; t = strtok_r(NULL, " ,+", &save))
        copy_path(o, rec, t);
    free(dup);
    return o;
}

static int fields_has(const char *fields, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = fields; p && (p = strstr(p, name)); p += n)
        if ((p == fields || p[-1] == ' ' || p[-1] == ',') &&
            (p[n] == '\0' || p[n] == ' ' || p[n] == ','))
            return 1;
    return 0;
}

/* Compare two JSON values: numbers numerically, else as strings; NULL sorts first. */
static int cmp_values(const cJSON *x, const cJSON *y)
{
    if (!x || cJSON_IsNull(x))
        return (!y || cJSON_IsNull(y)) ? 0 : -1;
    if (!y || cJSON_IsNull(y))
        return 1;
    if (cJSON_IsNumber(x) && cJSON_IsNumber(y))
        return x->valuedouble < y->valuedouble ? -1 : x->valuedouble > y->valuedouble;
    if (cJSON_IsBool(x) && cJSON_IsBool(y))
        return cJSON_IsTrue(x) - cJSON_IsTrue(y);
    char bx[64], by[64];
    const char *sx = cJSON_IsString(x) ? x->valuestring : bx;
    const char *sy = cJSON_IsString(y) ? y->valuestring : by;
    if (!cJSON_IsString(x))
        snprintf(bx, sizeof(bx), "%g", cJSON_GetNumberValue(x));
    if (!cJSON_IsString(y))
        snprintf(by, sizeof(by), "%g", cJSON_GetNumberValue(y));
    return strcmp(sx, sy);
}

static const char *sort_field; /* qsort context (sim_lock held) */
static int sort_desc;

static int cmp_records(const void *pa, const void *pb)
{
    const cJSON *x = *(const cJSON *const *)pa, *y = *(const cJSON *const *)pb;
    int c = cmp_values(get_path(x, sort_field), get_path(y, sort_field));
    if (!c)
        c = strcmp(json_str(x, "_id") ? json_str(x, "_id") : "",
                   json_str(y, "_id") ? json_str(y, "_id") : "");
    return sort_desc ? -c : c;
}

static void sort_records(cJSON **v, int n, const char *sort)
{
    sort_desc = sort && sort[0] == '-';
    sort_field = sort ? sort + (sort[0] == '-' || sort[0] == '+') : "_id";
    if (!*sort_field)
        sort_field = "_id";
    qsort(v, (size_t)n, sizeof(*v), cmp_records);
}

static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}

/* One filter of the reservations/conversations kind: {field, operator, value|from,to}. */
static int match_filter(const cJSON *rec, const cJSON *f, const char *path)
{
    const char *op = json_str(f, "operator");
    const cJSON *val = obj_get(f, "value");
    /* a field inside an array (meta.reservations[]) matches when any element matches */
    const cJSON *v = get_path(rec, path);
    if (!op)
        op = "$eq";
    if (strcmp(op, "$exists") == 0)
        return (v && !cJSON_IsNull(v)) == (val ? cJSON_IsTrue(val) : 1);
    if (strcmp(op, "$eq") == 0)
        return cmp_values(v, val) == 0 && v;
    if (strcmp(op, "$not") == 0 || strcmp(op, "$ne") == 0)
        return !v || cmp_values(v, val) != 0;
    if (strcmp(op, "$gt") == 0)
        return v && cmp_values(v, val) > 0;
    if (strcmp(op, "$lt") == 0)
        return v && cmp_values(v, val) < 0;
    if (strcmp(op, "$between") == 0)
        return v && cmp_values(v, obj_get(f, "from")) >= 0 && cmp_values(v, obj_get(f, "to")) <= 0;
    if (strcmp(op, "$in") == 0 || strcmp(op, "$nin") == 0) {
        int hit = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, val)
        {
            if (v && cmp_values(v, e) == 0)
                hit = 1;
        }
        return op[1] == 'i' ? hit : !hit;
    }
    if (strcmp(op, "$contains") == 0 || strcmp(op, "$notcontains") == 0) {
        int hit = cJSON_IsString(v) && cJSON_IsString(val) &&
                  ci_contains(v->valuestring, val->valuestring);
        return op[1] == 'c' ? hit : !hit;
    }
    return 0;
}

/* Parse a filters query (JSON array). NULL with *why on error; an empty array when absent. */
static cJSON *parse_filters(const struct sim_req *rq, const char *const *ops, int nops,
                            const char **why)
{
    const char *q = sim_query(rq, "filters");
    if (!q || !*q)
        return cJSON_CreateArray();
    cJSON *f = cJSON_Parse(q);
    if (!cJSON_IsArray(f)) {
        cJSON_Delete(f);
        *why = "filters must be a valid JSON array";
        return NULL;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, f)
    {
        const char *op = json_str(e, "operator");
        if (!json_str(e, "field")) {
            *why = "filters.field must be a string";
            cJSON_Delete(f);
            return NULL;
        }
        if (op && !in_list(op, ops, nops)) {
            *why = "filters.operator must be a valid enum value";
            cJSON_Delete(f);
            return NULL;
        }
    }
    return f;
}

static const char *const res_ops[] = {"$eq", "$not", "$contains", "$notcontains",
                                      "$gt", "$lt",  "$between"};
static const char *const conv_ops[] = {"$eq", "$exists", "$not",     "$contains", "$notcontains",
                                       "$gt", "$lt",     "$between", "$in",       "$nin"};

/* ---- list envelopes ---- */

/* {results,count,limit,skip} over a collection with filters/sort/fields (listings, users,
 * reservations). */
static void skip_list(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                      const char *coll, const char *key, int with_filters)
{
    int limit = paging_int(rq, "limit", 25, 1, 100);
    int skip = paging_int(rq, "skip", 0, 0, 1 << 30);
    if (limit < 0 || skip < 0) {
        g_validation(a, rs,
                     limit < 0 ? "limit must be a number not less than 1"
                               : "skip must be a number not less than 0");
        return;
    }
    const char *why = NULL;
    cJSON *filters = with_filters ? parse_filters(rq, res_ops, (int)ARRAY_LEN(res_ops), &why)
                                  : cJSON_CreateArray();
    if (!filters) {
        g_validation(a, rs, why);
        return;
    }
    cJSON *c = world_coll(a, coll);
    int n = cJSON_GetArraySize(c), m = 0;
    cJSON **v = xcalloc((size_t)n + 1, sizeof(*v));
    cJSON *r;
    cJSON_ArrayForEach(r, c)
    {
        int ok = 1;
        const cJSON *f;
        cJSON_ArrayForEach(f, filters)
        {
            if (!match_filter(r, f, json_str(f, "field")))
                ok = 0;
        }
        if (ok)
            v[m++] = r;
    }
    const char *sort = sim_query(rq, "sort");
    sort_records(v, m, sort && *sort ? sort : "_id");
    const char *fields = sim_query(rq, "fields");
    cJSON *j = cJSON_CreateObject();
    cJSON *res = cJSON_AddArrayToObject(j, key);
    for (int i = skip; i < m && i < skip + limit; i++)
        cJSON_AddItemToArray(res, project(v[i], fields));
    cJSON_AddNumberToObject(j, "count", m);
    cJSON_AddNumberToObject(j, "limit", limit);
    cJSON_AddNumberToObject(j, "skip", skip);
    free(v);
    cJSON_Delete(filters);
    resp_json(a, rs, 200, j);
}

/* Cursor paging (conversations, posts). The cursor is base64 of "<sort value>|<_id>", so it
 * starts "MjAy" like the real ones for createdAt. */
static char *cursor_of(const cJSON *rec, const char *field)
{
    const cJSON *v = get_path(rec, field);
    char num[64] = "";
    const char *s = cJSON_IsString(v) ? v->valuestring : num;
    if (cJSON_IsNumber(v))
        snprintf(num, sizeof(num), "%.17g", v->valuedouble);
    char *raw = xasprintf("%s|%s", s, json_str(rec, "_id") ? json_str(rec, "_id") : "");
    char *c = b64((const unsigned char *)raw, strlen(raw));
    free(raw);
    return c;
}

/* Position of the cursor in v (sorted): index of the first record after it (strict) or of
 * the first not before it; -1 for a bad cursor. */
static int cursor_pos(cJSON **v, int n, const char *cursor, const char *field, int desc, int strict)
{
    unsigned char dec[512];
    int len = unb64(cursor, dec, sizeof(dec) - 1);
    if (len <= 0)
        return -1;
    dec[len] = 0;
    char *bar = strrchr((char *)dec, '|');
    if (!bar)
        return -1;
    *bar = 0;
    const char *val = (const char *)dec, *id = bar + 1;
    for (int i = 0; i < n; i++) {
        const cJSON *x = get_path(v[i], field);
        int c;
        if (cJSON_IsNumber(x)) {
            double d = atof(val);
            c = x->valuedouble < d ? -1 : x->valuedouble > d;
        } else {
            c = strcmp(cJSON_IsString(x) ? x->valuestring : "", val);
        }
        if (!c)
            c = strcmp(json_str(v[i], "_id") ? json_str(v[i], "_id") : "", id);
        if (desc)
            c = -c;
        if (c > 0 || (!strict && c == 0))
            return i;
    }
    return n;
}

struct page {
    int start, end;
    char *after, *before; /* owned */
};

static int cursor_page(const struct sim_req *rq, cJSON **v, int n, const char *field, int desc,
                       int limit, int cursors_ok, struct page *pg, const char **why)
{
    const char *ca = sim_query(rq, "cursorAfter"), *cb = sim_query(rq, "cursorBefore");
    pg->start = 0;
    pg->end = n < limit ? n : limit;
    if (ca && *ca) {
        int s = cursor_pos(v, n, ca, field, desc, 1);
        if (s < 0) {
            *why = "cursorAfter is not a valid cursor";
            return -1;
        }
        pg->start = s;
        pg->end = s + limit < n ? s + limit : n;
    } else if (cb && *cb) {
        int e = cursor_pos(v, n, cb, field, desc, 0); /* records strictly before it */
        if (e < 0) {
            *why = "cursorBefore is not a valid cursor";
            return -1;
        }
        pg->end = e;
        pg->start = e - limit > 0 ? e - limit : 0;
    }
    /* an empty after means the last page (section 2.3) */
    pg->after = cursors_ok && pg->end < n && pg->end > pg->start ? cursor_of(v[pg->end - 1], field)
                                                                 : xstrdup("");
    pg->before = cursors_ok && pg->start > 0 && pg->end > pg->start ? cursor_of(v[pg->start], field)
                                                                    : xstrdup("");
    return 0;
}

/* ---- the world: names, texts, records ---- */

#define API_USER_ID "5f1a2b3c4d5e6f7a8b9c0dff" /* who the Open API acts as */

static const char *const first_names[] = {
    "Zoë",   "José",  "Søren",  "Łukasz", "Amélie", "Jürgen", "Mei",     "Yuki",   "Olga",  "Noah",
    "Chloé", "Aarav", "Fatima", "Björn",  "Inés",   "Kwame",  "Siobhán", "Dmitri", "Ngozi", "Mateo",
};
static const char *const last_names[] = {
    "Müller", "Álvarez",  "Kierkegaard", "Żółć",   "Dubois", "Weiß",     "Lin 林",
    "Tanaka", "Смирнова", "Cohen",       "Martin", "Patel",  "Al-Sayed", "Ødegaard",
    "Núñez",  "Mensah",   "O'Brien",     "Ivanov", "Okafor", "García",
};
static const char *const guest_texts[] = {
    "Hi! What time is check-in?",
    "Is there parking nearby?",
    "The Wi-Fi password doesn't work 😕",
    "Merci beaucoup, tout était parfait ! 🙏",
    "¿Podemos hacer el check-out a las 12?",
    "Die Heizung funktioniert nicht – können Sie jemanden schicken?",
    "鍵はどこにありますか？",
    "The shower is leaking onto the bathroom floor 🚿💧",
    "We'll arrive around 23:30, is late check-in OK?",
    "Спасибо! Всё отлично.",
    "مرحبا، هل يمكننا الوصول مبكرا؟",
    "Can we bring our dog? 🐕 She is very calm.",
    "The dishwasher shows error E24 and won't drain.",
    "Where do we leave the keys when we leave?",
    "hello\u200b\u200bthere, quick question about towels",
    "Thanks!! 👍👍",
};
static const char *const hostile_texts[] = {
    "\x1b[2J\x1b]52;c;aGk=\x07please call me back",
    "<script>alert(1)</script> is the pool open?",
    "Robert'); DROP TABLE guests;-- checking in tomorrow",
    "\x1b[31mRED\x1b[0m \x1b]0;pwned\x07 title?",
    "line one\r\nline two\rline three\ttab\x7f",
};
static const char *const host_texts[] = {
    "Check-in is from 15:00; the door code will arrive on the day.",
    "Sorry about that! A technician is on the way.",
    "Of course, late check-out until 12:00 is fine.",
    "Parking is free on the street after 18:00.",
    "Thank you for staying with us 😊",
};
static const char *const issue_titles[] = {
    "Leaking shower drain",    "Heating not working",  "Dishwasher error E24",
    "Broken blind in bedroom", "Wi-Fi router offline", "Smoke detector beeping",
};
static const char *const task_statuses[] = {"pending", "confirmed", "in progress", "completed",
                                            "canceled"};
static const char *const task_priorities[] = {"low", "medium", "high"};
static const char *const task_types[] = {"cleaning",  "maintenance",   "inspection", "mid-stay",
                                         "runner",    "sanitation",    "check-in",   "issue",
                                         "inventory", "administration"};
static const char *const res_statuses[] = {"confirmed", "reserved", "awaiting_payment", "inquiry",
                                           "canceled",  "closed",   "declined",         "expired"};
static const char *const send_modules[] = {"sms", "email", "whatsapp", "airbnb2", "platform"};
static const char *const sources[] = {"airbnb2", "airbnb2", "bookingCom", "manual", "website"};

static cJSON *find_id(struct sim_account *a, const char *coll, const char *id)
{
    return id ? world_find(a, coll, "_id", id) : NULL;
}

static cJSON *pick_rec(struct sim_account *a, const char *coll)
{
    cJSON *c = world_coll(a, coll);
    int n = cJSON_GetArraySize(c);
    return n ? cJSON_GetArrayItem(c, (int)(sim_rand(a) % (unsigned)n)) : NULL;
}

static char *guest_text(struct sim_account *a)
{
    unsigned r = sim_rand(a) % 100;
    if (r < 5) {
        struct buf b;
        buf_init(&b);
        buf_puts(&b, "Hello, a long one, sorry 🙈 ");
        for (int i = 0; i < 40; i++)
            buf_printf(&b,
                       "Paragraph %d: the terrace door sticks, the kettle trips the fuse and "
                       "the neighbours' dog barks at night — ça ne va pas. ",
                       i + 1);
        return buf_steal(&b);
    }
    if (r < 10)
        return xstrdup(sim_pick(a, hostile_texts, (int)ARRAY_LEN(hostile_texts)));
    return xstrdup(sim_pick(a, guest_texts, (int)ARRAY_LEN(guest_texts)));
}

/* The channel of a conversation: the module of its last guest post, else by source. */
static const char *conv_channel(struct sim_account *a, const cJSON *conv)
{
    const char *id = json_str(conv, "_id"), *ch = NULL;
    cJSON *p;
    cJSON_ArrayForEach(p, world_coll(a, "posts"))
    {
        if (str_eq(json_str(p, "conversationId"), id) && str_eq(json_str(p, "sentBy"), "guest"))
            ch = json_str(obj_get(p, "module"), "type");
    }
    if (ch)
        return ch;
    static const char *const chans[] = {"airbnb2", "email", "sms", "whatsapp"};
    return sim_pick(a, chans, 4);
}

static cJSON *module_obj(const char *type)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", type);
    cJSON_AddArrayToObject(m, "to");
    cJSON_AddArrayToObject(m, "cc");
    cJSON_AddArrayToObject(m, "bcc");
    cJSON_AddArrayToObject(m, "templateValues");
    return m;
}

/* Add a post to a conversation and touch the conversation. Borrowed result. */
static cJSON *add_post(struct sim_account *a, cJSON *conv, const char *sent_by, cJSON *module,
                       const char *body, const char *from_name)
{
    char id[25], now[32];
    new_id(a, id);
    stamp(a, now);
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "_id", id);
    cJSON_AddStringToObject(p, "conversationId", json_str(conv, "_id"));
    cJSON_AddStringToObject(p, "body", body);
    cJSON_AddStringToObject(p, "createdAt", now);
    cJSON_AddStringToObject(p, "sentBy", sent_by);
    cJSON *from = cJSON_AddObjectToObject(p, "from");
    /* from.type beyond "user" is UNCONFIRMED */
    cJSON_AddStringToObject(from, "type",
                            str_eq(sent_by, "guest") ? "guest"
                            : str_eq(sent_by, "log") ? "system"
                                                     : "user");
    cJSON_AddStringToObject(from, "fullName", from_name);
    cJSON_AddItemToObject(p, "module", module);
    cJSON_AddArrayToObject(p, "attachments");
    cJSON_AddFalseToObject(p, "isFromMigration");
    cJSON_AddItemToArray(world_coll(a, "posts"), p);
    json_set_str(conv, "modifiedAt", now);
    cJSON *lm = obj_get(conv, "lastMessageFrom");
    if (!cJSON_IsObject(lm)) {
        lm = cJSON_CreateObject();
        json_set(conv, "lastMessageFrom", lm);
    }
    cJSON *st = obj_get(conv, "state");
    if (str_eq(sent_by, "guest")) {
        json_set_str(lm, "nonUser", now);
        if (cJSON_IsObject(st))
            json_set(st, "read", cJSON_CreateFalse());
    } else if (str_eq(sent_by, "host") && !str_eq(json_str(module, "type"), "note")) {
        json_set_str(lm, "user", now);
        if (cJSON_IsObject(st))
            json_set(st, "read", cJSON_CreateTrue());
    }
    return p;
}

static const char *guest_name_of(const cJSON *conv)
{
    const char *n = json_str(get_path(conv, "meta.guest"), "fullName");
    return n ? n : "Guest";
}

/* reservation.messageReceived / messageSent (section 2.8; the message fields are 3P). */
static void hook_message(struct sim_account *a, const cJSON *conv, const cJSON *post,
                         const char *event)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "event", event);
    const char *rid = json_str(get_path(conv, "meta.reservations"), "_id");
    if (rid)
        cJSON_AddStringToObject(j, "reservationId", rid);
    else
        cJSON_AddNullToObject(j, "reservationId");
    cJSON *c = cJSON_Duplicate(conv, 1);
    cJSON_AddStringToObject(c, "conversationWith", "Guest");
    cJSON *meta = obj_get(c, "meta");
    if (cJSON_IsObject(meta))
        cJSON_AddStringToObject(meta, "guestName", guest_name_of(conv));
    cJSON *thread = cJSON_AddArrayToObject(c, "thread");
    cJSON_AddItemToArray(thread, cJSON_Duplicate(post, 1));
    cJSON_AddItemToObject(j, "conversation", c);
    cJSON *m = cJSON_AddObjectToObject(j, "message");
    cJSON_AddStringToObject(m, "_id", json_str(post, "_id"));
    cJSON_AddStringToObject(m, "postId", json_str(post, "_id"));
    cJSON_AddStringToObject(m, "type",
                            str_eq(json_str(post, "sentBy"), "guest") ? "fromGuest" : "fromHost");
    cJSON_AddStringToObject(m, "body", json_str(post, "body"));
    /* module: a string here (the channel), as receivers read it; UNCONFIRMED */
    cJSON_AddStringToObject(m, "module", json_str(obj_get(post, "module"), "type"));
    cJSON_AddStringToObject(m, "createdAt", json_str(post, "createdAt"));
    sim_webhook(a, event, j);
}

static void hook_task(struct sim_account *a, const cJSON *task, const char *event, const char *by)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "task", cJSON_Duplicate(task, 1));
    cJSON_AddStringToObject(j, "by", by);
    cJSON_AddStringToObject(j, "event", event);
    sim_webhook(a, event, j);
}

/* reservation.created.v2 / updated.v2: the v2 payload shape is UNCONFIRMED (section 2.8);
 * this is {"event","data":{"reservation":{...}},"publishedAt"}. */
static void hook_reservation(struct sim_account *a, const cJSON *res, const char *event)
{
    char now[32];
    iso(a->clock_ms, now);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "event", event);
    cJSON *d = cJSON_AddObjectToObject(j, "data");
    cJSON_AddItemToObject(d, "reservation", cJSON_Duplicate(res, 1));
    cJSON_AddStringToObject(j, "publishedAt", now);
    sim_webhook(a, event, j);
}

static cJSON *conv_of_res(struct sim_account *a, const cJSON *res)
{
    return find_id(a, "conversations", json_str(res, "conversationId"));
}

/* Keep the conversation's copy of the reservation in step. */
static void sync_conv_meta(struct sim_account *a, const cJSON *res)
{
    cJSON *conv = conv_of_res(a, res);
    cJSON *meta = conv ? obj_get(conv, "meta") : NULL;
    cJSON *r = meta ? cJSON_GetArrayItem(obj_get(meta, "reservations"), 0) : NULL;
    if (!r)
        return;
    json_set_str(r, "status", json_str(res, "status"));
    json_set_str(r, "checkIn", json_str(res, "checkIn"));
    json_set_str(r, "checkOut", json_str(res, "checkOut"));
}

/* A new reservation with its guest conversation. Borrowed result. */
static cJSON *make_reservation(struct sim_account *a, const cJSON *listing, const char *guest,
                               int64_t check_in, int nights, const char *source, const char *status)
{
    char rid[25], gid[25], cid[25], now[32], ci[32], co[32], d1[11], d2[11], code[16];
    new_id(a, rid);
    new_id(a, gid);
    new_id(a, cid);
    stamp(a, now);
    check_in = check_in / 86400000 * 86400000;
    iso(check_in + 15 * 3600000LL, ci);
    iso(check_in + (int64_t)nights * 86400000 + 10 * 3600000LL, co);
    fmt_date(check_in, d1);
    fmt_date(check_in + (int64_t)nights * 86400000, d2);
    snprintf(code, sizeof(code), "GY-%08X", sim_rand(a));
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "_id", rid);
    cJSON_AddStringToObject(r, "accountId", settings_of(a)->account_id);
    cJSON_AddStringToObject(r, "listingId", json_str(listing, "_id"));
    cJSON_AddStringToObject(r, "guestId", gid);
    cJSON_AddStringToObject(r, "status", status);
    cJSON_AddStringToObject(r, "checkIn", ci);
    cJSON_AddStringToObject(r, "checkOut", co);
    cJSON_AddStringToObject(r, "checkInDateLocalized", d1);
    cJSON_AddStringToObject(r, "checkOutDateLocalized", d2);
    cJSON_AddNumberToObject(r, "nightsCount", nights);
    cJSON_AddNumberToObject(r, "guestsCount", 1 + sim_rand(a) % 4);
    cJSON_AddStringToObject(r, "confirmationCode", code);
    cJSON_AddStringToObject(r, "source", source);
    cJSON_AddStringToObject(r, "plannedArrival", "15:00");
    cJSON_AddStringToObject(r, "plannedDeparture", "10:00");
    cJSON_AddStringToObject(r, "conversationId", cid);
    cJSON_AddStringToObject(r, "createdAt", now);
    cJSON_AddStringToObject(r, "lastUpdatedAt", now);
    cJSON *g = cJSON_AddObjectToObject(r, "guest");
    cJSON_AddStringToObject(g, "_id", gid);
    cJSON_AddStringToObject(g, "fullName", guest);
    char *mail = xasprintf("g%.6s@guest.airbnb.com", gid + 18);
    cJSON_AddStringToObject(g, "email", mail);
    free(mail);
    char phone[24];
    snprintf(phone, sizeof(phone), "+1555%07u", sim_rand(a) % 10000000);
    cJSON_AddStringToObject(g, "phone", phone);
    cJSON *l = cJSON_AddObjectToObject(r, "listing");
    cJSON_AddStringToObject(l, "_id", json_str(listing, "_id"));
    cJSON_AddStringToObject(l, "title", json_str(listing, "title"));
    cJSON_AddStringToObject(l, "nickname", json_str(listing, "nickname"));
    cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "integration"), "platform", source);
    cJSON_AddItemToArray(world_coll(a, "reservations"), r);

    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "_id", cid);
    cJSON_AddStringToObject(c, "type", "guest");
    cJSON_AddNumberToObject(c, "priority", 10);
    cJSON_AddNullToObject(cJSON_AddObjectToObject(c, "assignee"), "_id");
    cJSON *st = cJSON_AddObjectToObject(c, "state");
    cJSON_AddFalseToObject(st, "read");
    cJSON_AddStringToObject(st, "status", "OPEN");
    cJSON *lm = cJSON_AddObjectToObject(c, "lastMessageFrom");
    cJSON_AddNullToObject(lm, "user");
    cJSON_AddNullToObject(lm, "nonUser");
    cJSON *meta = cJSON_AddObjectToObject(c, "meta");
    cJSON *mg = cJSON_AddObjectToObject(meta, "guest");
    cJSON_AddStringToObject(mg, "_id", gid);
    cJSON_AddStringToObject(mg, "fullName", guest);
    cJSON *mr = cJSON_CreateObject();
    cJSON_AddStringToObject(mr, "_id", rid);
    cJSON_AddStringToObject(mr, "status", status);
    cJSON_AddStringToObject(mr, "checkIn", ci);
    cJSON_AddStringToObject(mr, "checkOut", co);
    cJSON_AddStringToObject(mr, "confirmationCode", code);
    cJSON *ml = cJSON_AddObjectToObject(mr, "listing");
    cJSON_AddStringToObject(ml, "_id", json_str(listing, "_id"));
    cJSON_AddStringToObject(ml, "nickname", json_str(listing, "nickname"));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "reservations"), mr);
    cJSON_AddStringToObject(c, "accountId", settings_of(a)->account_id);
    cJSON_AddStringToObject(c, "createdAt", now);
    cJSON_AddStringToObject(c, "modifiedAt", now);
    cJSON_AddItemToArray(world_coll(a, "conversations"), c);
    return r;
}

static void random_guest(struct sim_account *a, char *out, size_t n)
{
    snprintf(out, n, "%s %s", sim_pick(a, first_names, (int)ARRAY_LEN(first_names)),
             sim_pick(a, last_names, (int)ARRAY_LEN(last_names)));
}

static cJSON *make_task(struct sim_account *a, const cJSON *listing, const char *res_id,
                        const char *title, const char *type, const char *priority,
                        const char *assignee, const char *created_by)
{
    char id[25], now[32], start[32];
    new_id(a, id);
    stamp(a, now);
    iso(a->clock_ms + 86400000LL, start);
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "_id", id);
    char sid[16];
    snprintf(sid, sizeof(sid), "%u", 10000 + (unsigned)(a->next_id % 90000));
    cJSON_AddStringToObject(t, "shortTaskId", sid);
    cJSON_AddStringToObject(t, "accountId", settings_of(a)->account_id);
    cJSON_AddStringToObject(t, "status", "pending");
    cJSON_AddStringToObject(t, "title", title);
    cJSON_AddStringToObject(t, "description", "");
    cJSON_AddStringToObject(t, "type", type);
    cJSON_AddStringToObject(t, "priority", priority);
    json_set_str(t, "assigneeId", assignee);
    cJSON_AddNullToObject(t, "supervisorId");
    cJSON_AddStringToObject(t, "listingId", json_str(listing, "_id"));
    json_set_str(t, "reservationId", res_id);
    cJSON *tm = cJSON_AddObjectToObject(t, "timing");
    cJSON_AddStringToObject(tm, "type", "fixed");
    cJSON_AddStringToObject(tm, "startTime", start);
    cJSON_AddNullToObject(tm, "canStartAfter");
    cJSON_AddNullToObject(tm, "mustFinishBefore");
    cJSON *ap = cJSON_AddObjectToObject(t, "apply");
    cJSON_AddStringToObject(ap, "type", res_id ? "reservation" : "listing");
    cJSON_AddStringToObject(ap, "listingId", json_str(listing, "_id"));
    json_set_str(ap, "reservationId", res_id);
    cJSON_AddNumberToObject(t, "plannedDuration", 1);
    cJSON_AddArrayToObject(t, "checklist");
    cJSON_AddArrayToObject(t, "comments");
    cJSON_AddArrayToObject(t, "attachments");
    cJSON_AddStringToObject(t, "createdBy", created_by);
    cJSON_AddStringToObject(t, "timezone",
                            json_str(listing, "timezone") ? json_str(listing, "timezone")
                                                          : "Europe/Lisbon");
    cJSON_AddStringToObject(t, "createdAt", now); /* createdAt/updatedAt: UNCONFIRMED names */
    cJSON_AddStringToObject(t, "updatedAt", now);
    cJSON_AddItemToArray(world_coll(a, "tasks"), t);
    return t;
}

/* ---- routes: listings, users, reservations ---- */

static void missing_reservation(struct sim_resp *rs)
{
    resp_text(rs, 404, "Reservation Not Found"); /* a plain string (section 2.9) */
    resp_header(rs, "Content-Type", "text/plain; charset=utf-8");
}

static void get_reservation(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                            const char *id)
{
    cJSON *r = find_id(a, "reservations", id);
    if (!r) {
        missing_reservation(rs);
        return;
    }
    resp_json(a, rs, 200, project(r, sim_query(rq, "fields")));
}

static void put_reservation(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                            const char *id)
{
    cJSON *r = find_id(a, "reservations", id);
    if (!r) {
        missing_reservation(rs);
        return;
    }
    cJSON *b = cJSON_Parse(*rq->body ? rq->body : "{}");
    if (!cJSON_IsObject(b)) {
        cJSON_Delete(b);
        bad_json(a, rs);
        return;
    }
    const cJSON *st = obj_get(b, "status");
    if (st && (!cJSON_IsString(st) ||
               !in_list(st->valuestring, res_statuses, (int)ARRAY_LEN(res_statuses)))) {
        cJSON_Delete(b);
        /* e.g. "cancelled" (two l) is not a status */
        g_validation(a, rs,
                     "status must be one of the following values: confirmed, reserved, "
                     "awaiting_payment, inquiry, canceled, closed, declined, expired");
        return;
    }
    const cJSON *gc = obj_get(b, "guestsCount");
    if (gc && (!cJSON_IsNumber(gc) || gc->valueint < 1)) {
        cJSON_Delete(b);
        g_validation(a, rs, "guestsCount must be a positive number");
        return;
    }
    char *old_status = xstrdup(json_str(r, "status"));
    static const char *const editable[] = {"status",      "plannedArrival", "plannedDeparture",
                                           "guestsCount", "notes",          "customFields"};
    for (size_t i = 0; i < ARRAY_LEN(editable); i++) {
        const cJSON *v = obj_get(b, editable[i]);
        if (v)
            json_set(r, editable[i], cJSON_Duplicate(v, 1));
    }
    char now[32];
    stamp(a, now);
    json_set_str(r, "lastUpdatedAt", now);
    if (st && !str_eq(old_status, st->valuestring) && str_eq(st->valuestring, "canceled"))
        json_set_str(r, "canceledAt", now);
    sync_conv_meta(a, r);
    sim_log_write(a, rq, "reservation.update");
    rs->written = 1;
    cJSON *conv = conv_of_res(a, r);
    if (st && conv && !str_eq(old_status, st->valuestring)) {
        char *line = xasprintf("Reservation %s status changed from %s to %s",
                               json_str(r, "confirmationCode"), old_status, st->valuestring);
        add_post(a, conv, "log", module_obj("log"), line, "Guesty");
        free(line);
    }
    hook_reservation(a, r, "reservation.updated.v2");
    resp_json(a, rs, 200, cJSON_Duplicate(r, 1));
    free(old_status);
    cJSON_Delete(b);
}

/* ---- routes: conversations and posts ---- */

struct alias {
    const char *field, *path;
};
static const struct alias conv_fields[] = {
    {"status", "state.status"},
    {"read", "state.read"},
    {"type", "type"},
    {"guest._id", "meta.guest._id"},
    {"owner._id", "meta.owner._id"},
    {"reservation._id", "meta.reservations._id"},
    {"reservation.status", "meta.reservations.status"},
    {"assignee._id", "assignee._id"},
    {"listing._id", "meta.reservations.listing._id"},
};

static void list_conversations(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    int limit = paging_int(rq, "limit", 25, 1, 100);
    if (limit < 0) {
        g_validation(a, rs, "limit must not be less than 1");
        return;
    }
    const char *why = NULL;
    cJSON *filters = parse_filters(rq, conv_ops, (int)ARRAY_LEN(conv_ops), &why);
    if (!filters) {
        g_validation(a, rs, why);
        return;
    }
    /* only the documented filter fields: no updated-since (modifiedAt) filter here */
    const char *paths[32];
    int nf = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, filters)
    {
        const char *path = NULL;
        for (size_t i = 0; i < ARRAY_LEN(conv_fields); i++)
            if (str_eq(json_str(f, "field"), conv_fields[i].field))
                path = conv_fields[i].path;
        if (!path || nf >= 32) {
            cJSON_Delete(filters);
            g_validation(a, rs,
                         "filters.field must be one of the following values: status, type, "
                         "guest._id, owner._id, reservation._id, reservation.status, read, "
                         "assignee._id, listing._id");
            return;
        }
        paths[nf++] = path;
    }
    const char *type = sim_query(rq, "type");
    if (type && *type && !str_eq(type, "guest") && !str_eq(type, "owner") &&
        !str_eq(type, "owner-direct")) {
        cJSON_Delete(filters);
        g_validation(a, rs, "type must be one of the following values: guest, owner, owner-direct");
        return;
    }
    if (!type || !*type)
        type = "guest";
    cJSON *c = world_coll(a, "conversations");
    int n = cJSON_GetArraySize(c), m = 0, unread = 0;
    cJSON **v = xcalloc((size_t)n + 1, sizeof(*v));
    cJSON *r;
    cJSON_ArrayForEach(r, c)
    {
        int ok = str_eq(json_str(r, "type"), type);
        int i = 0;
        cJSON_ArrayForEach(f, filters)
        {
            if (ok && !match_filter(r, f, paths[i]))
                ok = 0;
            i++;
        }
        if (!ok)
            continue;
        v[m++] = r;
        if (cJSON_IsFalse(get_path(r, "state.read")))
            unread++;
    }
    const char *sort = sim_query(rq, "sort");
    if (!sort || !*sort)
        sort = "-createdAt";
    sort_records(v, m, sort);
    const char *field = sort + (sort[0] == '-' || sort[0] == '+');
    const char *fields = sim_query(rq, "fields");
    /* Sorting on another field than createdAt without it in fields: empty cursor (SPEC). */
    int cursors_ok = str_eq(field, "createdAt") || !fields || !*fields || fields_has(fields, field);
    struct page pg;
    if (cursor_page(rq, v, m, field, sort[0] == '-', limit, cursors_ok, &pg, &why) != 0) {
        free(v);
        cJSON_Delete(filters);
        g_validation(a, rs, why);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "count", m);
    cJSON_AddNumberToObject(d, "countUnread", unread);
    cJSON_AddNumberToObject(d, "limit", limit);
    cJSON *cur = cJSON_AddObjectToObject(d, "cursor");
    cJSON_AddStringToObject(cur, "after", pg.after);
    cJSON_AddStringToObject(cur, "before", pg.before);
    cJSON *list = cJSON_AddArrayToObject(d, "conversations");
    for (int i = pg.start; i < pg.end; i++)
        cJSON_AddItemToArray(list, project(v[i], fields));
    free(pg.after);
    free(pg.before);
    free(v);
    cJSON_Delete(filters);
    g_data(a, rs, d);
}

static void list_posts(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                       const cJSON *conv)
{
    int limit = paging_int(rq, "limit", 25, 1, 100);
    if (limit < 0) {
        g_validation(a, rs, "limit must not be less than 1");
        return;
    }
    const char *sort = sim_query(rq, "sort");
    if (!sort || !*sort)
        sort = "-createdAt";
    if (!str_eq(sort, "-createdAt") && !str_eq(sort, "createdAt")) {
        g_validation(a, rs, "sort must be one of the following values: createdAt, -createdAt");
        return;
    }
    cJSON *c = world_coll(a, "posts");
    int n = cJSON_GetArraySize(c), m = 0;
    cJSON **v = xcalloc((size_t)n + 1, sizeof(*v));
    cJSON *p;
    cJSON_ArrayForEach(p, c)
    {
        if (str_eq(json_str(p, "conversationId"), json_str(conv, "_id")))
            v[m++] = p;
    }
    sort_records(v, m, sort);
    struct page pg;
    const char *why = NULL;
    if (cursor_page(rq, v, m, "createdAt", sort[0] == '-', limit, 1, &pg, &why) != 0) {
        free(v);
        g_validation(a, rs, why);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(d, "posts");
    for (int i = pg.start; i < pg.end; i++)
        cJSON_AddItemToArray(list, project(v[i], sim_query(rq, "fields")));
    cJSON_AddNumberToObject(d, "count", m);
    cJSON_AddNumberToObject(d, "limit", limit);
    cJSON_AddStringToObject(d, "sort", sort);
    cJSON *cur = cJSON_AddObjectToObject(d, "cursor");
    cJSON_AddStringToObject(cur, "after", pg.after);
    cJSON_AddStringToObject(cur, "before", pg.before);
    free(pg.after);
    free(pg.before);
    free(v);
    g_data(a, rs, d);
}

/* POST send-message (send = 1) or posts (a stored note, send = 0). */
static void post_message(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                         cJSON *conv, int send)
{
    cJSON *b = cJSON_Parse(*rq->body ? rq->body : "{}");
    if (!cJSON_IsObject(b)) {
        cJSON_Delete(b);
        bad_json(a, rs);
        return;
    }
    const cJSON *body = obj_get(b, "body"), *mod = obj_get(b, "module");
    const char *type = NULL;
    if (cJSON_IsString(mod)) /* some clients send "module":"airbnb2" (3P) */
        type = mod->valuestring;
    else if (cJSON_IsObject(mod))
        type = json_str(mod, "type");
    const char *err = NULL;
    if (!cJSON_IsString(body) || !*body->valuestring)
        err = "body should not be empty";
    else if (!type)
        err = "module.type should not be empty";
    else if (send && !in_list(type, send_modules, (int)ARRAY_LEN(send_modules)))
        err = "module.type must be one of the following values: sms, email, whatsapp, "
              "airbnb2, platform";
    else if (!send && !str_eq(type, "note") && !str_eq(type, "log"))
        err = "module.type must be one of the following values: note, log";
    if (err) {
        cJSON_Delete(b);
        g_validation(a, rs, err);
        return;
    }
    cJSON *module = module_obj(type);
    if (cJSON_IsObject(mod)) {
        static const char *const keys[] = {"to", "cc", "bcc", "subject"};
        for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
            const cJSON *v = obj_get(mod, keys[i]);
            if (v)
                json_set(module, keys[i], cJSON_Duplicate(v, 1));
        }
    }
    const char *sent_by = json_str(b, "sentBy");
    if (send || !sent_by || (!str_eq(sent_by, "host") && !str_eq(sent_by, "log")))
        sent_by = str_eq(type, "log") ? "log" : "host";
    cJSON *post = add_post(a, conv, sent_by, module, body->valuestring, "Open API");
    cJSON *from = obj_get(post, "from");
    cJSON_AddStringToObject(from, "_id", API_USER_ID);
    sim_log_write(a, rq, send ? "conversation.send-message" : "conversation.post");
    rs->written = 1;
    if (send) /* a stored note is not sent, so no messageSent (assumed) */
        hook_message(a, conv, post, "reservation.messageSent");
    g_data(a, rs, cJSON_Duplicate(post, 1));
    cJSON_Delete(b);
}

/* ---- routes: tasks ---- */

static cJSON *task_column(struct sim_account *a, const cJSON *t, const char *col)
{
    if (str_eq(col, "id"))
        return cJSON_CreateString(json_str(t, "_id"));
    if (str_eq(col, "taskTitle"))
        return cJSON_Duplicate(obj_get(t, "title"), 1);
    if (str_eq(col, "scheduledFor")) {
        const cJSON *v = get_path(t, "timing.startTime");
        if (!cJSON_IsString(v))
            v = get_path(t, "timing.canStartAfter");
        return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
    }
    if (str_eq(col, "endTime")) {
        const cJSON *v = get_path(t, "timing.startTime");
        if (!cJSON_IsString(v))
            return cJSON_Duplicate(get_path(t, "timing.mustFinishBefore"), 1);
        char out[32];
        const cJSON *pd = obj_get(t, "plannedDuration");
        double h = cJSON_IsNumber(pd) ? pd->valuedouble : 1;
        iso(parse_iso(v->valuestring) + (int64_t)(h * 3600000), out);
        return cJSON_CreateString(out);
    }
    if (str_eq(col, "canStartAfter") || str_eq(col, "mustFinishBefore")) {
        const cJSON *v = get_path(obj_get(t, "timing"), col);
        return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
    }
    if (str_eq(col, "listing") || str_eq(col, "reservation") || str_eq(col, "assignee")) {
        const char *coll = col[0] == 'l' ? "listings" : col[0] == 'r' ? "reservations" : "users";
        const char *key = col[0] == 'l'   ? "listingId"
                          : col[0] == 'r' ? "reservationId"
                                          : "assigneeId";
        const cJSON *x = find_id(a, coll, json_str(t, key));
        if (!x)
            return cJSON_CreateNull();
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "_id", json_str(x, "_id"));
        static const char *const show[] = {"nickname", "title", "confirmationCode", "fullName"};
        for (size_t i = 0; i < ARRAY_LEN(show); i++)
            if (json_str(x, show[i]))
                cJSON_AddStringToObject(o, show[i], json_str(x, show[i]));
        return o;
    }
    const cJSON *v = obj_get(t, col);
    return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

static const char *task_filter_path(const char *f)
{
    if (str_eq(f, "taskTitle"))
        return "title";
    if (str_eq(f, "listing"))
        return "listingId";
    if (str_eq(f, "reservation"))
        return "reservationId";
    if (str_eq(f, "assignee"))
        return "assigneeId";
    if (str_eq(f, "scheduledFor"))
        return "timing.startTime";
    return f;
}

/* Tasks filters: {"field":{"@op":value}} or {"field":value}. */
static int task_match(const cJSON *t, const cJSON *filters)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, filters)
    {
        const cJSON *v = get_path(t, task_filter_path(f->string));
        if (!cJSON_IsObject(f)) {
            if (!v || cmp_values(v, f) != 0)
                return 0;
            continue;
        }
        const cJSON *o;
        cJSON_ArrayForEach(o, f)
        {
            const char *op = o->string;
            int c = v ? cmp_values(v, o) : 0;
            int ok = 1;
            if (str_eq(op, "@eq"))
                ok = v && c == 0;
            else if (str_eq(op, "@ne"))
                ok = !v || c != 0;
            else if (str_eq(op, "@gt"))
                ok = v && c > 0;
            else if (str_eq(op, "@gte"))
                ok = v && c >= 0;
            else if (str_eq(op, "@lt"))
                ok = v && c < 0;
            else if (str_eq(op, "@lte"))
                ok = v && c <= 0;
            else if (str_eq(op, "@in") || str_eq(op, "@nin")) {
                int hit = 0;
                const cJSON *e;
                cJSON_ArrayForEach(e, o)
                {
                    if (v && cmp_values(v, e) == 0)
                        hit = 1;
                }
                ok = op[1] == 'i' ? hit : !hit;
            }
            if (!ok)
                return 0;
        }
    }
    return 1;
}

static void list_tasks(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    const char *columns = sim_query(rq, "columns");
    if (!columns || !*columns) {
        g_validation(a, rs, "columns should not be empty");
        return;
    }
    int limit = paging_int(rq, "limit", 25, 25, 100);
    int skip = paging_int(rq, "skip", 0, 0, 1 << 30);
    if (limit < 0 || skip < 0) {
        g_validation(a, rs,
                     limit < 0 ? "limit must not be less than 25" : "skip must not be less than 0");
        return;
    }
    const char *fq = sim_query(rq, "filters");
    cJSON *filters = fq && *fq ? cJSON_Parse(fq) : cJSON_CreateObject();
    if (!cJSON_IsObject(filters)) {
        cJSON_Delete(filters);
        g_validation(a, rs, "filters must be a json string");
        return;
    }
    cJSON *c = world_coll(a, "tasks");
    int n = cJSON_GetArraySize(c), m = 0;
    cJSON **v = xcalloc((size_t)n + 1, sizeof(*v));
    cJSON *t;
    cJSON_ArrayForEach(t, c)
    {
        if (task_match(t, filters))
            v[m++] = t;
    }
    const char *sort = sim_query(rq, "sort");
    sort_records(v, m, sort && *sort ? sort : "_id");
    cJSON *j = cJSON_CreateObject();
    cJSON *rows = cJSON_AddArrayToObject(j, settings_of(a)->tasks_key);
    for (int i = skip; i < m && i < skip + limit; i++) {
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "_id", json_str(v[i], "_id"));
        char *dup = xstrdup(columns);
        char *save = NULL;
        for (char *col = strtok_r(dup, " ,+", &save); col; col = strtok_r(NULL, " ,+", &save))
            if (!obj_get(row, col))
                cJSON_AddItemToObject(row, col, task_column(a, v[i], col));
        free(dup);
        cJSON_AddItemToArray(rows, row);
    }
    cJSON_AddNumberToObject(j, "count", m);
    cJSON_AddNumberToObject(j, "limit", limit);
    cJSON_AddNumberToObject(j, "skip", skip);
    free(v);
    cJSON_Delete(filters);
    resp_json(a, rs, 200, j);
}

/* Validate the enum and reference fields of a task body; 0, or the answer is built. */
static int task_check(struct sim_account *a, struct sim_resp *rs, const cJSON *b, int create)
{
    const cJSON *v;
    if ((v = obj_get(b, "status")) &&
        (!cJSON_IsString(v) ||
         !in_list(v->valuestring, task_statuses, (int)ARRAY_LEN(task_statuses)))) {
        g_validation(a, rs,
                     "status must be one of the following values: pending, confirmed, in "
                     "progress, completed, canceled");
        return -1;
    }
    if ((v = obj_get(b, "priority")) &&
        (!cJSON_IsString(v) ||
         !in_list(v->valuestring, task_priorities, (int)ARRAY_LEN(task_priorities)))) {
        g_validation(a, rs, "priority must be one of the following values: low, medium, high");
        return -1;
    }
    if ((v = obj_get(b, "type")) &&
        (!cJSON_IsString(v) || !in_list(v->valuestring, task_types, (int)ARRAY_LEN(task_types)))) {
        g_validation(a, rs,
                     "type must be one of the following values: cleaning, maintenance, "
                     "inspection, mid-stay, runner, sanitation, check-in, issue, inventory, "
                     "administration");
        return -1;
    }
    if (create) {
        static const char *const req[] = {"title", "listingId", "type"};
        for (size_t i = 0; i < ARRAY_LEN(req); i++) {
            const char *s = json_str(b, req[i]);
            if (!s || !*s) {
                char *m = xasprintf("\"%s\" is required", req[i]);
                g_task_validation(a, rs, req[i], m);
                free(m);
                return -1;
            }
        }
        if (!find_id(a, "listings", json_str(b, "listingId"))) {
            g_task_validation(a, rs, "listingId", "\"listingId\" must reference a listing");
            return -1;
        }
    }
    v = obj_get(b, "assigneeId");
    if (cJSON_IsString(v) && !find_id(a, "users", v->valuestring)) {
        g_task_validation(a, rs, "assigneeId", "\"assigneeId\" must reference a user");
        return -1;
    }
    if ((obj_get(b, "canStartAfter") != NULL) != (obj_get(b, "mustFinishBefore") != NULL)) {
        g_task_validation(a, rs, "mustFinishBefore",
                          "\"canStartAfter\" and \"mustFinishBefore\" go together");
        return -1;
    }
    return 0;
}

/* Copy the updatable fields of b into t. */
static void task_apply(cJSON *t, const cJSON *b)
{
    static const char *const keys[] = {
        "title",      "description",     "status",        "priority",  "type",
        "assigneeId", "supervisorId",    "assigneeGroup", "checklist", "attachments",
        "comments",   "plannedDuration", "reservationId"};
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        const cJSON *v = obj_get(b, keys[i]);
        if (v)
            json_set(t, keys[i], cJSON_Duplicate(v, 1));
    }
    cJSON *tm = obj_get(t, "timing");
    if (!tm)
        return;
    const cJSON *s = obj_get(b, "startTime");
    if (s) {
        json_set_str(tm, "type", "fixed");
        json_set(tm, "startTime", cJSON_Duplicate(s, 1));
        json_set(tm, "canStartAfter", cJSON_CreateNull());
        json_set(tm, "mustFinishBefore", cJSON_CreateNull());
    } else if (obj_get(b, "canStartAfter")) {
        json_set_str(tm, "type", "flexible");
        json_set(tm, "startTime", cJSON_CreateNull());
        json_set(tm, "canStartAfter", cJSON_Duplicate(obj_get(b, "canStartAfter"), 1));
        json_set(tm, "mustFinishBefore", cJSON_Duplicate(obj_get(b, "mustFinishBefore"), 1));
    }
    const cJSON *rid = obj_get(b, "reservationId");
    cJSON *ap = obj_get(t, "apply");
    if (rid && ap) {
        json_set(ap, "reservationId", cJSON_Duplicate(rid, 1));
        json_set_str(ap, "type", cJSON_IsString(rid) ? "reservation" : "listing");
    }
}

static void create_task(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    cJSON *b = cJSON_Parse(*rq->body ? rq->body : "{}");
    if (!cJSON_IsObject(b)) {
        cJSON_Delete(b);
        bad_json(a, rs);
        return;
    }
    if (task_check(a, rs, b, 1) != 0) {
        cJSON_Delete(b);
        return;
    }
    const cJSON *listing = find_id(a, "listings", json_str(b, "listingId"));
    const char *prio = json_str(b, "priority");
    cJSON *t = make_task(a, listing, NULL, json_str(b, "title"), json_str(b, "type"),
                         prio ? prio : "medium", NULL, API_USER_ID);
    cJSON *st = cJSON_DetachItemFromObjectCaseSensitive(b, "status"); /* update only */
    cJSON_Delete(st);
    task_apply(t, b);
    sim_log_write(a, rq, "task.create");
    rs->written = 1;
    hook_task(a, t, "task.created", API_USER_ID);
    resp_json(a, rs, 201, cJSON_Duplicate(t, 1)); /* 201 vs 200: UNCONFIRMED */
    cJSON_Delete(b);
}

static void one_task(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs,
                     const char *id)
{
    cJSON *c = world_coll(a, "tasks");
    cJSON *t = find_id(a, "tasks", id);
    if (!t) {
        g_error(a, rs, 404, "NOT_FOUND", "Task not found");
        return;
    }
    if (str_eq(rq->method, "GET")) {
        resp_json(a, rs, 200, cJSON_Duplicate(t, 1));
        return;
    }
    if (str_eq(rq->method, "DELETE")) {
        cJSON *gone = cJSON_Duplicate(t, 1);
        int i = 0;
        cJSON *x;
        cJSON_ArrayForEach(x, c)
        {
            if (x == t)
                break;
            i++;
        }
        cJSON_DeleteItemFromArray(c, i);
        sim_log_write(a, rq, "task.delete");
        rs->written = 1;
        hook_task(a, gone, "task.deleted", API_USER_ID);
        cJSON_Delete(gone);
        resp_text(rs, 204, ""); /* 204 vs 200: UNCONFIRMED */
        return;
    }
    if (!str_eq(rq->method, "PUT")) {
        not_found(a, rq, rs);
        return;
    }
    cJSON *b = cJSON_Parse(*rq->body ? rq->body : "{}");
    if (!cJSON_IsObject(b)) {
        cJSON_Delete(b);
        bad_json(a, rs);
        return;
    }
    if (task_check(a, rs, b, 0) != 0) {
        cJSON_Delete(b);
        return;
    }
    task_apply(t, b);
    char now[32];
    stamp(a, now);
    json_set_str(t, "updatedAt", now);
    sim_log_write(a, rq, "task.update");
    rs->written = 1;
    hook_task(a, t, "task.updated", API_USER_ID);
    resp_json(a, rs, 200, cJSON_Duplicate(t, 1));
    cJSON_Delete(b);
}

/* ---- the request handler ---- */

static int is_hex24(const char *s)
{
    if (!s || strlen(s) != 24)
        return 0;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s))
            return 0;
    return 1;
}

static void handle(struct sim_account *a, const struct sim_req *rq, struct sim_resp *rs)
{
    new_reqid();
    const char *m = rq->method;
    if (str_eq(rq->path, "/oauth2/token")) {
        if (str_eq(m, "POST"))
            token(a, rq, rs);
        else
            not_found(a, rq, rs);
        return;
    }
    if (strncmp(rq->path, "/v1/", 4) != 0) {
        not_found(a, rq, rs);
        return;
    }
    if (check_auth(a, rq, rs) != 0)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s", rq->path + 4);
    size_t pl = strlen(path);
    while (pl && path[pl - 1] == '/')
        path[--pl] = '\0';
    char *seg[8];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(path, "/", &save); t && n < 8; t = strtok_r(NULL, "/", &save))
        seg[n++] = t;
    int get = str_eq(m, "GET"), post = str_eq(m, "POST"), put = str_eq(m, "PUT");

    if (n == 1 && get && str_eq(seg[0], "listings"))
        skip_list(a, rq, rs, "listings", "results", 1);
    else if (n == 2 && get && str_eq(seg[0], "listings")) {
        cJSON *l = find_id(a, "listings", seg[1]);
        if (l)
            resp_json(a, rs, 200, project(l, sim_query(rq, "fields")));
        else
            g_error(a, rs, 404, "NOT_FOUND", "Listing not found");
    } else if (n == 1 && get && str_eq(seg[0], "users"))
        skip_list(a, rq, rs, "users", "results", 0);
    else if (n == 1 && get && str_eq(seg[0], "reservations"))
        skip_list(a, rq, rs, "reservations", "results", 1);
    else if (n == 2 && str_eq(seg[0], "reservations") && get)
        get_reservation(a, rq, rs, seg[1]);
    else if (n == 2 && str_eq(seg[0], "reservations") && put)
        put_reservation(a, rq, rs, seg[1]);
    else if (n >= 2 && str_eq(seg[0], "communication") && str_eq(seg[1], "conversations")) {
        if (n == 2 && get) {
            list_conversations(a, rq, rs);
            return;
        }
        cJSON *conv = n >= 3 ? find_id(a, "conversations", seg[2]) : NULL;
        int known = (n == 3 && get) || (n == 4 && get && str_eq(seg[3], "posts")) ||
                    (n == 4 && post && (str_eq(seg[3], "posts") || str_eq(seg[3], "send-message")));
        if (!known)
            not_found(a, rq, rs);
        else if (!conv)
            g_error(a, rs, 404, "NOT_FOUND", "Conversation not found");
        else if (n == 3)
            g_data(a, rs, project(conv, sim_query(rq, "fields")));
        else if (get)
            list_posts(a, rq, rs, conv);
        else
            post_message(a, rq, rs, conv, str_eq(seg[3], "send-message"));
    } else if (n >= 2 && str_eq(seg[0], "tasks-open-api")) {
        if (n == 2 && get && str_eq(seg[1], "tasks"))
            list_tasks(a, rq, rs);
        else if (n == 2 && post &&
                 (str_eq(seg[1], "create-single-task") || str_eq(seg[1], "tasks")))
            create_task(a, rq, rs);
        else if (n == 2 && is_hex24(seg[1]) && (get || put || str_eq(m, "DELETE")))
            one_task(a, rq, rs, seg[1]);
        else
            not_found(a, rq, rs);
    } else
        not_found(a, rq, rs);
}

/* ---- rate limits ---- */

static void too_many(struct sim_account *a, int retry_after, struct sim_resp *rs)
{
    new_reqid();
    /* the 429 body text is UNCONFIRMED; Retry-After is documented (section 2.7) */
    g_error(a, rs, 429, "TOO_MANY_REQUESTS", "Too Many Requests");
    resp_header(rs, "Retry-After", "%d", retry_after);
}

static void limit_headers(struct sim_account *a, struct sim_resp *rs)
{
    static const char *const names[] = {"Second", "Minute", "Hour"};
    int64_t now = sim_now();
    for (int i = 0; i < a->nwindows && i < 3; i++) {
        const struct sim_window *w = &a->windows[i];
        int left = now - w->start >= w->span_ms ? w->limit : w->limit - w->used;
        if (rs->status == 429 && i == 0 && left > 0 && now < a->faults.storm_until)
            left = 0;
        resp_header(rs,
                    names[i][0] == 'S'   ? "X-RateLimit-Limit-Second"
                    : names[i][0] == 'M' ? "X-RateLimit-Limit-Minute"
                                         : "X-RateLimit-Limit-Hour",
                    "%d", w->limit);
        resp_header(rs,
                    names[i][0] == 'S'   ? "X-RateLimit-Remaining-Second"
                    : names[i][0] == 'M' ? "X-RateLimit-Remaining-Minute"
                                         : "X-RateLimit-Remaining-Hour",
                    "%d", left < 0 ? 0 : left);
    }
    if (!reqid[0])
        new_reqid();
    resp_header(rs, "x-request-id", "%s", reqid);
    reqid[0] = '\0';
}

/* ---- seed ---- */

static void gen_world(struct sim_account *a)
{
    static const char *const titles[][3] = {
        {"Sunny loft by the river", "LIS-Loft-1", "Lisbon"},
        {"Casa Azul – 2BR with terrace", "LIS-Azul-2", "Lisbon"},
        {"Chalet Edelweiß", "INN-Chalet", "Innsbruck"},
    };
    char id[25], now[32];
    iso(a->clock_ms, now);
    for (size_t i = 0; i < ARRAY_LEN(titles); i++) {
        new_id(a, id);
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "_id", id);
        cJSON_AddStringToObject(l, "title", titles[i][0]);
        cJSON_AddStringToObject(l, "nickname", titles[i][1]);
        cJSON *ad = cJSON_AddObjectToObject(l, "address");
        cJSON_AddStringToObject(ad, "city", titles[i][2]);
        cJSON_AddStringToObject(ad, "country", i == 2 ? "Austria" : "Portugal");
        cJSON_AddStringToObject(ad, "full", titles[i][2]);
        cJSON_AddNumberToObject(l, "accommodates", 2 + (int)i * 2);
        cJSON_AddNumberToObject(l, "bedrooms", 1 + (int)i);
        cJSON_AddStringToObject(l, "timezone", i == 2 ? "Europe/Vienna" : "Europe/Lisbon");
        cJSON_AddTrueToObject(l, "active");
        cJSON_AddTrueToObject(l, "isListed");
        cJSON_AddStringToObject(l, "createdAt", now);
        cJSON_AddItemToArray(world_coll(a, "listings"), l);
    }
    static const char *const users[][2] = {{"Marta Sousa", "maintenance"},
                                           {"Tomás Ferreira", "cleaning"}};
    for (size_t i = 0; i < ARRAY_LEN(users); i++) {
        new_id(a, id);
        cJSON *u = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "_id", id);
        cJSON_AddStringToObject(u, "fullName", users[i][0]);
        char first[32];
        snprintf(first, sizeof(first), "%.*s", (int)strcspn(users[i][0], " "), users[i][0]);
        cJSON_AddStringToObject(u, "firstName", first);
        cJSON_AddStringToObject(u, "lastName", strchr(users[i][0], ' ') + 1);
        char *mail = xasprintf("staff%zu@example.com", i + 1);
        cJSON_AddStringToObject(u, "email", mail);
        free(mail);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(u, "roles"), cJSON_CreateString(users[i][1]));
        cJSON_AddItemToArray(world_coll(a, "users"), u);
    }
    for (int i = 0; i < 6; i++) {
        char guest[96];
        random_guest(a, guest, sizeof(guest));
        const cJSON *l = cJSON_GetArrayItem(world_coll(a, "listings"), i % 3);
        cJSON *r =
            make_reservation(a, l, guest, a->clock_ms + (int64_t)(i * 3 - 4) * 86400000, 2 + i % 4,
                             sim_pick(a, sources, (int)ARRAY_LEN(sources)), "confirmed");
        cJSON *conv = conv_of_res(a, r);
        const char *ch = sim_pick(a, send_modules, 4);
        char *t = guest_text(a);
        add_post(a, conv, "guest", module_obj(ch), t, guest);
        free(t);
        if (i % 2)
            add_post(a, conv, "host", module_obj(ch),
                     sim_pick(a, host_texts, (int)ARRAY_LEN(host_texts)), "Marta Sousa");
    }
    for (int i = 0; i < 2; i++) {
        const cJSON *l = cJSON_GetArrayItem(world_coll(a, "listings"), i);
        const cJSON *u = cJSON_GetArrayItem(world_coll(a, "users"), 0);
        make_task(a, l, NULL, issue_titles[i], "maintenance", i ? "high" : "medium",
                  json_str(u, "_id"), json_str(u, "_id"));
    }
}

/* Largest counter part (last 8 hex) of every _id in the world. */
static int64_t max_counter(const cJSON *j)
{
    int64_t best = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, j)
    {
        int64_t x = max_counter(c);
        if (x > best)
            best = x;
    }
    const char *id = cJSON_IsObject(j) ? json_str(j, "_id") : NULL;
    if (is_hex24(id)) {
        int64_t x = strtoll(id + 16, NULL, 16);
        if (x > best)
            best = x;
    }
    return best;
}

static void seed(struct sim_account *a, const cJSON *fixture)
{
    const cJSON *cred = obj_get(fixture, "credentials");
    sim_credentials(a, cred, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_SECRET);
    /* 15/s, 120/min, 5000/h per account (section 2.7) */
    a->nwindows = 3;
    a->windows[0] = (struct sim_window){.limit = 15, .span_ms = 1000};
    a->windows[1] = (struct sim_window){.limit = 120, .span_ms = 60000};
    a->windows[2] = (struct sim_window){.limit = 5000, .span_ms = 3600000};
    const cJSON *st = obj_get(fixture, "settings");
    settings_of(a);
    apply_settings(a, st);
    /* A fixed scenario clock, so that two runs with one seed give the same world. */
    int64_t start = parse_iso(json_str(st, "clock_start"));
    a->clock_ms = start > 0 ? start : DEFAULT_CLOCK_START;
    const cJSON *c;
    int loaded = 0;
    cJSON_ArrayForEach(c, fixture)
    {
        if (cJSON_IsArray(c)) {
            cJSON_AddItemToObject(a->world, c->string, cJSON_Duplicate(c, 1));
            loaded = 1;
        }
    }
    a->next_id = max_counter(a->world) + 1;
    if (!loaded)
        gen_world(a);
}

/* ---- scenario ---- */

static cJSON *random_open(struct sim_account *a, const char *coll, const char *const *closed,
                          int nclosed)
{
    cJSON *c = world_coll(a, coll);
    int n = cJSON_GetArraySize(c);
    if (!n)
        return NULL;
    int k = (int)(sim_rand(a) % (unsigned)n);
    for (int i = 0; i < n; i++) {
        cJSON *r = cJSON_GetArrayItem(c, (k + i) % n);
        if (!in_list(json_str(r, "status"), closed, nclosed))
            return r;
    }
    return NULL;
}

static void guest_writes(struct sim_account *a, cJSON *conv, const char *body, const char *ch)
{
    cJSON *post = add_post(a, conv, "guest", module_obj(ch ? ch : conv_channel(a, conv)), body,
                           guest_name_of(conv));
    hook_message(a, conv, post, "reservation.messageReceived");
}

static void new_reservation(struct sim_account *a, const cJSON *listing, const char *guest,
                            int64_t check_in, int nights, const char *source, const char *status)
{
    char name[96];
    if (!guest) {
        random_guest(a, name, sizeof(name));
        guest = name;
    }
    cJSON *r = make_reservation(a, listing, guest, check_in, nights, source, status);
    hook_reservation(a, r, "reservation.created.v2");
}

static int set_task_status(struct sim_account *a, cJSON *t, const char *status, const char *by)
{
    char now[32];
    stamp(a, now);
    json_set_str(t, "status", status);
    json_set_str(t, "updatedAt", now);
    hook_task(a, t, "task.updated", by ? by : API_USER_ID);
    return 0;
}

static void cancel_reservation(struct sim_account *a, cJSON *r)
{
    char now[32];
    char *old = xstrdup(json_str(r, "status"));
    stamp(a, now);
    json_set_str(r, "status", "canceled");
    json_set_str(r, "canceledAt", now);
    json_set_str(r, "lastUpdatedAt", now);
    sync_conv_meta(a, r);
    cJSON *conv = conv_of_res(a, r);
    if (conv) {
        char *line = xasprintf("Reservation %s status changed from %s to canceled",
                               json_str(r, "confirmationCode"), old ? old : "confirmed");
        add_post(a, conv, "log", module_obj("log"), line, "Guesty");
        free(line);
    }
    free(old);
    hook_reservation(a, r, "reservation.updated.v2");
}

static const char *const closed_res[] = {"canceled", "closed", "declined", "expired"};
static const char *const closed_tasks[] = {"completed", "canceled"};

static void tick(struct sim_account *a)
{
    a->clock_ms += 5000 + sim_rand(a) % 120000;
    unsigned r = sim_rand(a) % 100;
    cJSON *conv = pick_rec(a, "conversations");
    const cJSON *listing = pick_rec(a, "listings");
    if (r < 45 && conv) {
        char *t = guest_text(a);
        guest_writes(a, conv, t, NULL);
        free(t);
    } else if (r < 53 && conv) { /* a colleague answers from the Guesty inbox */
        const cJSON *u = pick_rec(a, "users");
        cJSON *post = add_post(a, conv, "host", module_obj(conv_channel(a, conv)),
                               sim_pick(a, host_texts, (int)ARRAY_LEN(host_texts)),
                               u ? json_str(u, "fullName") : "Host");
        hook_message(a, conv, post, "reservation.messageSent");
    } else if (r < 63 && listing) {
        new_reservation(a, listing, NULL, a->clock_ms + (int64_t)(1 + sim_rand(a) % 60) * 86400000,
                        1 + (int)(sim_rand(a) % 7), sim_pick(a, sources, (int)ARRAY_LEN(sources)),
                        "confirmed");
    } else if (r < 71) { /* alteration: guests count or arrival time */
        cJSON *res = random_open(a, "reservations", closed_res, (int)ARRAY_LEN(closed_res));
        if (!res)
            return;
        char now[32];
        stamp(a, now);
        if (sim_rand(a) % 2)
            json_set(res, "guestsCount", cJSON_CreateNumber(1 + sim_rand(a) % 6));
        else {
            char hm[8];
            snprintf(hm, sizeof(hm), "%02u:%02u", 12 + sim_rand(a) % 12, (sim_rand(a) % 4) * 15);
            json_set_str(res, "plannedArrival", hm);
        }
        json_set_str(res, "lastUpdatedAt", now);
        hook_reservation(a, res, "reservation.updated.v2");
    } else if (r < 76) {
        cJSON *res = random_open(a, "reservations", closed_res, (int)ARRAY_LEN(closed_res));
        if (res)
            cancel_reservation(a, res);
    } else if (r < 92) { /* work progresses */
        cJSON *t = random_open(a, "tasks", closed_tasks, (int)ARRAY_LEN(closed_tasks));
        if (!t)
            return;
        const char *s = json_str(t, "status");
        const char *next = str_eq(s, "pending")     ? "confirmed"
                           : str_eq(s, "confirmed") ? "in progress"
                                                    : "completed";
        set_task_status(a, t, next, json_str(t, "assigneeId"));
    } else if (listing) { /* a guest reports an issue: a new task */
        const cJSON *u = pick_rec(a, "users");
        cJSON *t =
            make_task(a, listing, NULL, sim_pick(a, issue_titles, (int)ARRAY_LEN(issue_titles)),
                      sim_rand(a) % 2 ? "maintenance" : "issue", sim_pick(a, task_priorities, 3),
                      u ? json_str(u, "_id") : NULL, u ? json_str(u, "_id") : API_USER_ID);
        hook_task(a, t, "task.created", json_str(t, "createdBy"));
    }
}

/* ---- injected events ---- */

static int inject(struct sim_account *a, const cJSON *ev, const char **why)
{
    const char *kind = json_str(ev, "kind");
    if (str_eq(kind, "message")) {
        const char *cid = json_str(ev, "conversationId");
        cJSON *conv = cid ? find_id(a, "conversations", cid) : pick_rec(a, "conversations");
        const char *body = json_str(ev, "body");
        const char *ch = json_str(ev, "module");
        const char *by = json_str(ev, "sentBy");
        if (!conv) {
            *why = "no such conversation";
            return -1;
        }
        if (obj_get(ev, "body") && (!body || !*body)) {
            *why = "body must be a non-empty string";
            return -1;
        }
        static const char *const chans[] = {"sms", "email", "whatsapp", "airbnb2", "platform"};
        if (ch && !in_list(ch, chans, 5)) {
            *why = "module must be sms, email, whatsapp, airbnb2 or platform";
            return -1;
        }
        if (by && !str_eq(by, "guest") && !str_eq(by, "host")) {
            *why = "sentBy must be guest or host";
            return -1;
        }
        char *t = body ? xstrdup(body) : guest_text(a);
        if (str_eq(by, "host")) {
            cJSON *post =
                add_post(a, conv, "host", module_obj(ch ? ch : conv_channel(a, conv)), t, "Host");
            hook_message(a, conv, post, "reservation.messageSent");
        } else {
            guest_writes(a, conv, t, ch);
        }
        free(t);
        return 0;
    }
    if (str_eq(kind, "task_status")) {
        const char *tid = json_str(ev, "taskId"), *status = json_str(ev, "status");
        cJSON *t = tid ? find_id(a, "tasks", tid)
                       : random_open(a, "tasks", closed_tasks, (int)ARRAY_LEN(closed_tasks));
        if (!t) {
            *why = "no such task";
            return -1;
        }
        if (!in_list(status, task_statuses, (int)ARRAY_LEN(task_statuses))) {
            *why = "status must be pending, confirmed, in progress, completed or canceled";
            return -1;
        }
        return set_task_status(a, t, status, json_str(t, "assigneeId"));
    }
    if (str_eq(kind, "reservation")) {
        const char *lid = json_str(ev, "listingId"), *ci = json_str(ev, "checkIn");
        const char *status = json_str(ev, "status"), *source = json_str(ev, "source");
        const cJSON *nights = obj_get(ev, "nights");
        const cJSON *l = lid ? find_id(a, "listings", lid) : pick_rec(a, "listings");
        int64_t when = ci ? parse_iso(ci) : a->clock_ms + 7 * 86400000LL;
        if (!l) {
            *why = "no such listing";
            return -1;
        }
        if (when < 0) {
            *why = "checkIn must be YYYY-MM-DD";
            return -1;
        }
        if (nights && (!cJSON_IsNumber(nights) || nights->valueint < 1 || nights->valueint > 365)) {
            *why = "nights must be 1..365";
            return -1;
        }
        if (status && !in_list(status, res_statuses, (int)ARRAY_LEN(res_statuses))) {
            *why = "status is not a Guesty reservation status";
            return -1;
        }
        new_reservation(a, l, json_str(ev, "guestName"), when, nights ? nights->valueint : 3,
                        source ? source : "airbnb2", status ? status : "confirmed");
        return 0;
    }
    if (str_eq(kind, "cancel_reservation")) {
        cJSON *r = find_id(a, "reservations", json_str(ev, "reservationId"));
        if (!r) {
            *why = "no such reservation";
            return -1;
        }
        cancel_reservation(a, r);
        return 0;
    }
    if (str_eq(kind, "task")) {
        const char *lid = json_str(ev, "listingId"), *type = json_str(ev, "type");
        const cJSON *l = lid ? find_id(a, "listings", lid) : pick_rec(a, "listings");
        if (!l || (type && !in_list(type, task_types, (int)ARRAY_LEN(task_types)))) {
            *why = l ? "type is not a Guesty task type" : "no such listing";
            return -1;
        }
        const char *title = json_str(ev, "title");
        cJSON *t = make_task(a, l, NULL, title ? title : "Reported issue",
                             type ? type : "maintenance", "medium", NULL, API_USER_ID);
        hook_task(a, t, "task.created", API_USER_ID);
        return 0;
    }
    if (str_eq(kind, "expire_tokens")) {
        cJSON *t;
        cJSON_ArrayForEach(t, a->tokens)
        {
            cJSON_SetNumberValue(obj_get(t, "expires"), (double)(sim_now() - 1));
        }
        return 0;
    }
    if (str_eq(kind, "settings")) {
        const cJSON *s = obj_get(ev, "expired_token_status");
        if (s && (!cJSON_IsNumber(s) || (s->valueint != 401 && s->valueint != 403))) {
            *why = "expired_token_status must be 401 or 403";
            return -1;
        }
        apply_settings(a, ev);
        return 0;
    }
    *why = "unknown kind (message, task_status, task, reservation, cancel_reservation, "
           "expire_tokens, settings)";
    return -1;
}

/* ---- webhook signature: Svix ---- */

static void sign(struct sim_account *a, const char *body, char **hname, char **hvalue, int *n,
                 int max)
{
    if (*n + 3 > max)
        return;
    const char *secret = a->webhook_secret ? a->webhook_secret : DEFAULT_WEBHOOK_SECRET;
    unsigned char key[256];
    int klen = -1;
    if (strncmp(secret, "whsec_", 6) == 0)
        klen = unb64(secret + 6, key, sizeof(key));
    if (klen < 0) { /* not whsec_<base64>: the raw bytes are the key */
        klen = (int)(strlen(secret) < sizeof(key) ? strlen(secret) : sizeof(key));
        memcpy(key, secret, (size_t)klen);
    }
    const char *id = sim_webhook_id();
    long long ts = (long long)(sim_now() / 1000); /* at each attempt */
    char *content = xasprintf("%s.%lld.%s", id, ts, body);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), key, klen, (const unsigned char *)content, strlen(content), mac, &maclen);
    char *sig = b64(mac, maclen);
    hname[*n] = xstrdup("svix-id");
    hvalue[(*n)++] = xstrdup(id);
    hname[*n] = xstrdup("svix-timestamp");
    hvalue[(*n)++] = xasprintf("%lld", ts);
    hname[*n] = xstrdup("svix-signature");
    hvalue[(*n)++] = xasprintf("v1,%s", sig);
    free(sig);
    free(content);
}

const struct dialect_ops guesty_dialect = {
    .name = "guesty",
    .seed = seed,
    .handle = handle,
    .too_many = too_many,
    .limit_headers = limit_headers,
    .tick = tick,
    .inject = inject,
    .sign = sign,
};
