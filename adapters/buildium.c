/* buildium.c - the Buildium dialect (Open API v1, https://api.buildium.com/v1).
 *
 * Wire facts: /work/shared/reference/pms-apis-residential.md section 1. Contract:
 * adapters/adapter.h. Structure follows adapters/hostaway.c.
 *
 * Auth: two static headers on every request, x-buildium-client-id (conf->client_id) and
 * x-buildium-client-secret (conf->secret). auth() only checks both are configured (missing:
 * FINAL ADAPTER_EAUTH). A 401 is FINAL ADAPTER_EAUTH with Buildium's UserMessage.
 * Errors: ApiErrorResponse {"UserMessage","Errors":[{"Key","Value"}]} -> e->msg
 * "UserMessage (Key: Value; ...)"; 408/429/5xx and no answer RETRY_LATER, other 4xx FINAL.
 *
 * Rate: "10 concurrent requests per second": 10/s with 10, at most 10 requests in any 1 s
 * (http.h's limiter counts each until a window after its answer).
 *
 * Mapping (Buildium -> canonical):
 *   rentals            -> ENT_PROPERTY (Name, Address lines)
 *   rentals/units      -> ENT_UNIT (PropertyId; name = UnitNumber, else BuildingName)
 *   leases/tenants     -> ENT_CONTACT kind tenant (First+Last, Email, first phone)
 *   leases             -> ENT_STAY is_lease 1 (PropertyId, UnitId, contact = first current
 *                         tenant; LeaseStatus Active -> active, Future -> confirmed, Past ->
 *                         ended; LeaseFromDate/LeaseToDate)
 *   vendors            -> ENT_VENDOR (CompanyName or First Last; trade = Category.Name;
 *                         VendorInsurance.ExpirationDate's date; IsActive; preferred
 *                         properties from GET /rentals/{id}/vendors for every rental, read
 *                         once per vendor page)
 *   tasks (all types)  -> ENT_THREAD (ResidentRequest kind tenant, others other; channel
 *                         portal; subject Title; contact = RequestedByUserEntity when a
 *                         RentalTenant; stay = UnitAgreement when a Lease; property, unit)
 *   tasks/{id}/history -> ENT_MESSAGE for entries with a non-empty Message; CreatedByUser
 *                         UserType Staff -> out, anything else (Tenant, Unknown = the
 *                         requester) -> in; sent_at = CreatedDateTIme (sic; CreatedDateTime
 *                         accepted too); author = First Last
 *   workorders         -> ENT_WORK_ORDER; Status New/InProgress/Completed/Deferred/Closed ->
 *                         new/in_progress/completed/on_hold/closed, any other value (e.g.
 *                         "Pending Approval") -> drift on Status and skipped; Priority
 *                         Low/Normal/High (Unknown/absent -> normal); vendor = VendorId;
 *                         thread = Task.Id; stay = Task.UnitAgreement (Lease); unit =
 *                         Task.UnitId; description = WorkDetails; due = DueDate.
 *
 * Cursors ("" or NULL starts over):
 *   property, unit, contact, stay, vendor  "off=N": limit 1000/offset walk of the whole
 *        list every cycle, orderby=Id; back to off=0 when a short page (or X-Total-Count)
 *        ends it (full_walk).
 *   thread, message, work_order  "from=YYYY-MM-DD;off=N;start=MS": lastupdatedfrom takes a
 *        date only for tasks and work orders; `start` is the wall clock when the walk began;
 *        when it ends the next walk's from = the UTC date of start - 1 day (one day of
 *        overlap; records are re-put, the store de-duplicates by id). Messages walk the
 *        changed tasks 20 per page and read each task's history (every page).
 *
 * Writes (Buildium PUT replaces the whole record: always GET, merge, PUT the whole record):
 *   reply   -> GET /tasks/{id} (TaskType and the common fields; a contact request also
 *              GET /tasks/contactrequests/{id} for its ContactDetail), PUT it back to
 *              /tasks/<type>/{id} with Title, TaskStatus, Priority, CategoryId,
 *              SubCategoryId, AssignedToUserId, DueDate (and PropertyId, UnitId,
 *              ContactDetail for to-dos / contact requests) plus Message. The remote id is
 *              the new history entry's id (looked up as find does): 3 requests a reply.
 *   note    -> ADAPTER_LOCAL_ONLY (task history has no private entries; entity notes exist
 *              for leases/tenants but are not wired here).
 *   wo_status -> GET /workorders/{id}; linked task: GET, merge TaskStatus, PUT the whole
 *              task (the spec-confirmed path; Buildium copies it to the work order); no
 *              task: GET, merge Status, PUT the whole work order.
 *   wo_vendor -> work order PUT (GET, merge VendorId, PUT whole).
 *   wo_create -> POST /workorders {TaskId: the thread's task, VendorId (required by
 *              Buildium: a create without a vendor is FINAL, "dispatch one"), EntryAllowed
 *              Unknown, Title, WorkDetails}; find: a work order of that task with that title.
 *   wo_priority, wo_schedule, wo_note: not implemented (FINAL / LOCAL_ONLY).
 * Canonical -> TaskStatus: new, assigned, scheduled -> New; in_progress -> InProgress;
 *   on_hold -> Deferred; completed -> Completed; closed, cancelled -> Closed.
 *
 * find: reply -> GET /tasks/{id}/history (newest first), a Staff entry with the same
 *   Message dated >= created_at - 2 min; wo_status -> the work order has the target status.
 *
 * Webhooks: buildium-webhook-signature = base64(HMAC-SHA256(secret, "<timestamp>.<body>"))
 *   over the raw body, constant-time compare; buildium-webhook-timestamp (unix seconds) must
 *   be within 5 min of rq->now_ms. Without a webhook_secret every webhook is refused (401):
 *   Buildium always signs. event_id = "sha256:" + hex SHA-256 of the body (no event id in the
 *   payload); kind = EventName. Apply: WorkOrder.Created/Updated -> GET workorders/{id};
 *   Task.Created/Updated -> GET tasks/{id}; Task.History.Created/Updated -> GET the task and
 *   the history entry; *.Deleted and others are ignored.
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

#define BD_PAGE           1000
#define BD_MSG_TASK_PAGE  20
#define BD_DAY_MS         (86400000LL)
#define BD_FIND_WINDOW_MS (2 * 60 * 1000LL)
#define BD_HOOK_WINDOW_MS (5 * 60 * 1000LL)
#define BD_MAX_MS         253402300800000LL /* 10000-01-01: the last time bd_date can print */
#define BD_HOOK_TS_MAX    100000000000LL    /* seconds: year 5138 */

/* ---- small helpers ---- */

/* "YYYY-MM-DD[THH:MM:SS[.fff...][Z]]" -> ms; -1 when it does not parse. */
static int64_t bd_time(const char *s)
{
    if (!s)
        return -1;
    size_t n = strlen(s);
    if (n < 10)
        return -1;
    for (size_t i = 0; i < 10; i++) {
        int sep = i == 4 || i == 7;
        if (sep ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return -1;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    if (n > 10) {
        if (n < 19 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
            return -1;
        tm.tm_hour = atoi(s + 11);
        tm.tm_min = atoi(s + 14);
        tm.tm_sec = atoi(s + 17);
    }
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    return (int64_t)timegm(&tm) * 1000;
}

/* A time field of this dialect (see v_time). */
static int64_t v_when(struct vctx *v, const cJSON *o, const char *field, int required)
{
    return v_time(v, o, field, required, bd_time, "not a date-time");
}

static void bd_date(int64_t ms, char out[16])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t parse_remote_id(const char *s)
{
    if (!s || !*s)
        return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    return *end || v <= 0 ? 0 : (int64_t)v;
}

static int str_same(const char *x, const char *y)
{
    return strcmp(x ? x : "", y ? y : "") == 0;
}

static char *full_name(const char *first, const char *last)
{
    first = first ? first : "";
    last = last ? last : "";
    return xasprintf("%s%s%s", first, *first && *last ? " " : "", last);
}

/* Buildium's error text: UserMessage plus the Errors[] Key: Value pairs. */
static char *pms_text(const cJSON *root)
{
    const char *m = jstr(root, "UserMessage");
    if (!m || !*m)
        m = jstr(root, "message"); /* the API gateway's 429 form */
    struct buf b;
    buf_init(&b);
    if (m && *m)
        buf_printf(&b, "%s", m);
    const cJSON *it;
    int n = 0;
    const cJSON *errs =
        cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "Errors") : NULL;
    for (it = cJSON_IsArray(errs) ? errs->child : NULL; it; it = it->next) {
        const char *k = jstr(it, "Key"), *v = jstr(it, "Value");
        if (!v)
            continue;
        buf_printf(&b, "%s%s%s%s", n++ ? "; " : (b.len ? " (" : "("), k && *k ? k : "",
                   k && *k ? ": " : "", v);
    }
    if (n)
        buf_printf(&b, ")");
    if (!b.len) {
        buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* ---- validation (first problem of a record -> sink->drift) ---- */

/* ---- enumerations ---- */

static int wo_status_in(const char *s)
{
    static const struct {
        const char *pms;
        enum wo_status canon;
    } map[] = {{"New", WO_NEW},
               {"InProgress", WO_IN_PROGRESS},
               {"Completed", WO_COMPLETED},
               {"Deferred", WO_ON_HOLD},
               {"Closed", WO_CLOSED}};
    for (size_t i = 0; s && i < ARRAY_LEN(map); i++)
        if (strcmp(s, map[i].pms) == 0)
            return (int)map[i].canon;
    return -1;
}

static const char *wo_status_out(const char *canon)
{
    static const char *const map[WO_STATUS_COUNT] = {
        [WO_NEW] = "New",          [WO_ASSIGNED] = "New",
        [WO_SCHEDULED] = "New",    [WO_IN_PROGRESS] = "InProgress",
        [WO_ON_HOLD] = "Deferred", [WO_COMPLETED] = "Completed",
        [WO_CLOSED] = "Closed",    [WO_CANCELLED] = "Closed",
    };
    int s = wo_status_parse(canon);
    return s < 0 ? NULL : map[s];
}

/* -1 for a value outside Unknown|Low|Normal|High. */
static int prio_in(const char *s)
{
    if (!s || strcmp(s, "Unknown") == 0 || strcmp(s, "Normal") == 0)
        return PRIO_NORMAL;
    if (strcmp(s, "Low") == 0)
        return PRIO_LOW;
    if (strcmp(s, "High") == 0)
        return PRIO_HIGH;
    return -1;
}

static const char *lease_status(const char *s)
{
    if (!s)
        return NULL;
    if (strcmp(s, "Active") == 0)
        return "active";
    if (strcmp(s, "Future") == 0)
        return "confirmed";
    if (strcmp(s, "Past") == 0)
        return "ended";
    return NULL;
}

static const char *kind_seg(const char *type)
{
    if (!type)
        return NULL;
    if (strcmp(type, "ResidentRequest") == 0)
        return "residentrequests";
    if (strcmp(type, "ContactRequest") == 0)
        return "contactrequests";
    if (strcmp(type, "Todo") == 0)
        return "todorequests";
    if (strcmp(type, "RentalOwnerRequest") == 0)
        return "rentalownerrequests";
    return NULL;
}

/* ---- HTTP ---- */

static char *url_of(struct adapter *a, const char *path)
{
    size_t n = strlen(a->base_url);
    while (n > 0 && a->base_url[n - 1] == '/')
        n--;
    return xasprintf("%.*s%s", (int)n, a->base_url, path);
}

static int bd_auth(struct adapter *a, struct err *e)
{
    if (!a->conf || !a->conf->client_id || !*a->conf->client_id || !a->conf->secret ||
        !*a->conf->secret)
        return err_set(e, ADAPTER_EAUTH, FINAL,
                       "buildium: client_id and secret (the API key) are required");
    return 0;
}

/* One API call. On 0, *root is the parsed answer and *total the X-Total-Count (-1 absent). */
static int bd_call(struct adapter *a, const char *method, const char *path, const char *json,
                   cJSON **root, int64_t *total, struct err *e)
{
    *root = NULL;
    if (total)
        *total = -1;
    if (bd_auth(a, e) != 0)
        return -1;
    struct http_header hd[4] = {
        {"x-buildium-client-id", a->conf->client_id},
        {"x-buildium-client-secret", a->conf->secret},
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
    if (rc != 0) {
        if (e && e->retry == RETRY_NONE)
            e->retry = RETRY_LATER;
        return -1;
    }
    long st = rs.status;
    cJSON *j = cJSON_ParseWithLength(rs.body ? rs.body : "", rs.len);
    if (total) {
        char *tc = http_resp_header(&rs, "X-Total-Count");
        if (tc)
            *total = strtoll(tc, NULL, 10);
        free(tc);
    }
    http_resp_free(&rs);
    if (st < 200 || st > 299) {
        char *m = pms_text(j);
        if (st == 401)
            err_set(e, ADAPTER_EAUTH, FINAL, "Buildium refused the API key: %s",
                    m ? m : "HTTP 401");
        else {
            enum retry_class r = http_status_retry(st);
            if (r == RETRY_NONE)
                r = FINAL;
            if (m)
                err_set(e, (int)st, r, "%s", m);
            else
                err_set(e, (int)st, r, "Buildium answered HTTP %ld to %s %s", st, method, path);
        }
        free(m);
        cJSON_Delete(j);
        return -1;
    }
    if (!j) {
        if (strcmp(method, "GET") != 0) {
            *root = cJSON_CreateObject(); /* 202/204 without a body */
            return 0;
        }
        return err_set(e, ADAPTER_EDRIFT, FINAL, "Buildium answered %s %s with no JSON", method,
                       path);
    }
    *root = j;
    return 0;
}

/* GET that must answer an array (lists) or an object (one record). */
static int bd_get(struct adapter *a, const char *path, int want_array, cJSON **root, int64_t *total,
                  struct err *e)
{
    if (bd_call(a, "GET", path, NULL, root, total, e) != 0)
        return -1;
    if (want_array ? !cJSON_IsArray(*root) : !cJSON_IsObject(*root)) {
        cJSON_Delete(*root);
        *root = NULL;
        return err_set(e, ADAPTER_EDRIFT, FINAL, "Buildium GET %s: not %s", path,
                       want_array ? "an array" : "an object");
    }
    return 0;
}

static int walk_done(int64_t total, int64_t off, int n, int limit)
{
    if (n < limit)
        return 1;
    return total >= 0 && off + n >= total;
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

static int put_rental(struct sink *out, const cJSON *r, struct err *e)
{
    struct vctx v;
    vinit(&v, "buildium", out, ENT_PROPERTY);
    v_key(&v, r, "Id");
    const char *name = v_str(&v, r, "Name", 0);
    if (v.bad)
        return 0;
    const cJSON *ad = jget(r, "Address");
    struct buf addr;
    buf_init(&addr);
    static const char *const parts[] = {"AddressLine1", "AddressLine2", "AddressLine3",
                                        "City",         "State",        "PostalCode"};
    for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
        const char *p = jstr(ad, parts[i]);
        if (p && *p)
            buf_printf(&addr, "%s%s", addr.len ? ", " : "", p);
    }
    struct rec_property p = {
        .remote_id = v.rid, .name = name, .address = addr.len ? addr.data : NULL};
    int rc = put(out, ENT_PROPERTY, &p, e);
    buf_free(&addr);
    return rc;
}

static int put_unit(struct sink *out, const cJSON *u, struct err *e)
{
    struct vctx v;
    vinit(&v, "buildium", out, ENT_UNIT);
    v_key(&v, u, "Id");
    int64_t pid = v_id(&v, u, "PropertyId", 1);
    const char *num = v_str(&v, u, "UnitNumber", 0);
    const char *bld = v_str(&v, u, "BuildingName", 0);
    if (v.bad)
        return 0;
    char pr[32];
    snprintf(pr, sizeof(pr), "%lld", (long long)pid);
    struct rec_unit r = {
        .remote_id = v.rid, .property_remote_id = pr, .name = num && *num ? num : bld};
    return put(out, ENT_UNIT, &r, e);
}

static const char *first_phone(const cJSON *o)
{
    const cJSON *p = cJSON_GetArrayItem(jget(o, "PhoneNumbers"), 0);
    const char *n = jstr(p, "Number");
    return n && *n ? n : NULL;
}

static int put_tenant(struct sink *out, const cJSON *t, struct err *e)
{
    struct vctx v;
    vinit(&v, "buildium", out, ENT_CONTACT);
    v_key(&v, t, "Id");
    const char *first = v_str(&v, t, "FirstName", 0), *last = v_str(&v, t, "LastName", 0);
    const char *email = v_str(&v, t, "Email", 0);
    if (v.bad)
        return 0;
    char *name = full_name(first, last);
    struct rec_contact c = {.remote_id = v.rid,
                            .kind = CONTACT_TENANT,
                            .name = *name ? name : NULL,
                            .email = email && *email ? email : NULL,
                            .phone = first_phone(t)};
    int rc = put(out, ENT_CONTACT, &c, e);
    free(name);
    return rc;
}

static int put_lease(struct sink *out, const cJSON *l, struct err *e)
{
    struct vctx v;
    vinit(&v, "buildium", out, ENT_STAY);
    v_key(&v, l, "Id");
    int64_t pid = v_id(&v, l, "PropertyId", 0), uid = v_id(&v, l, "UnitId", 0);
    const char *st = v_str(&v, l, "LeaseStatus", 0);
    const char *from = v_str(&v, l, "LeaseFromDate", 0), *to = v_str(&v, l, "LeaseToDate", 0);
    int64_t upd = v_when(&v, l, "LastUpdatedDateTime", 0);
    const char *canon = lease_status(st);
    if (v.bad)
        return 0;
    if (st && !canon) {
        vdrift_kept(&v, "LeaseStatus", st, "unknown");
        canon = "unknown";
    }
    int64_t cid = jid(cJSON_GetArrayItem(jget(l, "CurrentTenants"), 0), "Id");
    if (!cid)
        cid = jid(cJSON_GetArrayItem(jget(l, "Tenants"), 0), "Id");
    char ps[32], us[32], cs[32], fd[16] = "", td[16] = "";
    snprintf(ps, sizeof(ps), "%lld", (long long)pid);
    snprintf(us, sizeof(us), "%lld", (long long)uid);
    snprintf(cs, sizeof(cs), "%lld", (long long)cid);
    if (from && bd_time(from) >= 0)
        snprintf(fd, sizeof(fd), "%.10s", from);
    if (to && bd_time(to) >= 0)
        snprintf(td, sizeof(td), "%.10s", to);
    struct rec_stay s = {.remote_id = v.rid,
                         .is_lease = 1,
                         .property_remote_id = pid ? ps : NULL,
                         .unit_remote_id = uid ? us : NULL,
                         .contact_remote_id = cid ? cs : NULL,
                         .status = canon,
                         .remote_status = st,
                         .channel = channel_name(CH_PORTAL),
                         .arrival = fd[0] ? fd : NULL,
                         .departure = td[0] ? td : NULL,
                         .remote_updated_at = upd};
    int rc = put(out, ENT_STAY, &s, e);
    if (rc != 0 && is_enoparent(e) && s.contact_remote_id) {
        s.contact_remote_id = NULL; /* a tenant added since their pull: linked next walk */
        rc = put(out, ENT_STAY, &s, e);
    }
    return rc;
}

/* vendor id -> the properties that prefer it (one walk of GET /rentals/{id}/vendors). */
struct pref {
    int64_t vendor;
    char **props; /* NULL-terminated */
    size_t n;
};

struct prefs {
    struct pref *v;
    size_t n;
};

static void prefs_add(struct prefs *p, int64_t vendor, int64_t prop)
{
    struct pref *f = NULL;
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].vendor == vendor)
            f = &p->v[i];
    if (!f) {
        p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
        f = &p->v[p->n++];
        memset(f, 0, sizeof(*f));
        f->vendor = vendor;
    }
    f->props = xrealloc(f->props, (f->n + 2) * sizeof(*f->props));
    f->props[f->n++] = xasprintf("%lld", (long long)prop);
    f->props[f->n] = NULL;
}

static void prefs_free(struct prefs *p)
{
    for (size_t i = 0; i < p->n; i++) {
        for (size_t j = 0; j < p->v[i].n; j++)
            free(p->v[i].props[j]);
        free(p->v[i].props);
    }
    free(p->v);
    memset(p, 0, sizeof(*p));
}

static int prefs_load(struct adapter *a, struct prefs *p, struct err *e)
{
    for (int64_t off = 0;;) {
        char path[96];
        snprintf(path, sizeof(path), "/rentals?limit=%d&offset=%lld&orderby=Id", BD_PAGE,
                 (long long)off);
        cJSON *root;
        int64_t total;
        if (bd_get(a, path, 1, &root, &total, e) != 0)
            return -1;
        int n = 0;
        const cJSON *r;
        cJSON_ArrayForEach(r, root)
        {
            n++;
            int64_t pid = jid(r, "Id");
            if (!pid)
                continue;
            char vp[96];
            snprintf(vp, sizeof(vp), "/rentals/%lld/vendors?limit=%d&offset=0", (long long)pid,
                     BD_PAGE);
            cJSON *vr;
            if (bd_get(a, vp, 1, &vr, NULL, e) != 0) {
                cJSON_Delete(root);
                return -1;
            }
            const cJSON *x;
            cJSON_ArrayForEach(x, vr)
            {
                if (jid(x, "Id"))
                    prefs_add(p, jid(x, "Id"), pid);
            }
            cJSON_Delete(vr);
        }
        int done = walk_done(total, off, n, BD_PAGE);
        cJSON_Delete(root);
        if (done)
            return 0;
        off += n;
    }
}

static int put_vendor(struct sink *out, const cJSON *j, const struct prefs *p, struct err *e)
{
    struct vctx v;
    vinit(&v, "buildium", out, ENT_VENDOR);
    int64_t id = v_key(&v, j, "Id");
    const char *company = v_str(&v, j, "CompanyName", 0);
    const char *first = v_str(&v, j, "FirstName", 0), *last = v_str(&v, j, "LastName", 0);
    const char *email = v_str(&v, j, "PrimaryEmail", 0);
    const char *exp = v_str(&v, jget(j, "VendorInsurance"), "ExpirationDate", 0);
    if (exp && *exp && bd_time(exp) < 0)
        vdrift(&v, "VendorInsurance.ExpirationDate", "not a date");
    if (v.bad)
        return 0;
    char *person = full_name(first, last);
    char ins[16] = "";
    if (exp && *exp)
        snprintf(ins, sizeof(ins), "%.10s", exp);
    const char *const *preferred = NULL;
    for (size_t i = 0; p && i < p->n; i++)
        if (p->v[i].vendor == id)
            preferred = (const char *const *)p->v[i].props;
    const cJSON *act = jget(j, "IsActive");
    struct rec_vendor r = {.remote_id = v.rid,
                           .name = company && *company ? company : (*person ? person : v.rid),
                           .trade = jstr(jget(j, "Category"), "Name"),
                           .phone = first_phone(j),
                           .email = email && *email ? email : NULL,
                           .insurance_expires = ins[0] ? ins : NULL,
                           .active = cJSON_IsBool(act) ? cJSON_IsTrue(act) : 1,
                           .preferred_property_remote_ids = preferred};
    int rc = put(out, ENT_VENDOR, &r, e);
    free(person);
    return rc;
}

static int put_task(struct sink *out, const cJSON *t, struct err *e)
{
    struct vctx v;
    vinit(&v, "buildium", out, ENT_THREAD);
    v_key(&v, t, "Id");
    const char *title = v_str(&v, t, "Title", 0);
    const char *type = v_str(&v, t, "TaskType", 0);
    int64_t uid = v_id(&v, t, "UnitId", 0);
    int64_t upd = v_when(&v, t, "LastUpdatedDateTime", 0);
    int64_t made = v_when(&v, t, "CreatedDateTime", 0);
    if (v.bad)
        return 0;
    const cJSON *rb = jget(t, "RequestedByUserEntity");
    const cJSON *ua = jget(t, "UnitAgreement");
    const cJSON *pr = jget(t, "Property");
    int64_t cid = str_same(jstr(rb, "Type"), "RentalTenant") ? jid(rb, "Id") : 0;
    int64_t lid = str_same(jstr(ua, "Type"), "Lease") ? jid(ua, "Id") : 0;
    int64_t pid = str_same(jstr(pr, "Type"), "Rental") ? jid(pr, "Id") : 0;
    char cs[32], ls[32], ps[32], us[32];
    snprintf(cs, sizeof(cs), "%lld", (long long)cid);
    snprintf(ls, sizeof(ls), "%lld", (long long)lid);
    snprintf(ps, sizeof(ps), "%lld", (long long)pid);
    snprintf(us, sizeof(us), "%lld", (long long)uid);
    struct rec_thread r = {.remote_id = v.rid,
                           .kind = !type || strcmp(type, "ResidentRequest") == 0 ? THREAD_TENANT
                                                                                 : THREAD_OTHER,
                           .subject = title,
                           .contact_remote_id = cid ? cs : NULL,
                           .stay_remote_id = lid ? ls : NULL,
                           .property_remote_id = pid ? ps : NULL,
                           .unit_remote_id = uid ? us : NULL,
                           .channel = CH_PORTAL,
                           .remote_updated_at = max64(upd, made)};
    int rc = put(out, ENT_THREAD, &r, e);
    if (rc != 0 && is_enoparent(e)) {
        /* a lease or tenant added since their pull: link them on the next walk */
        r.contact_remote_id = r.stay_remote_id = NULL;
        rc = put(out, ENT_THREAD, &r, e);
        if (rc != 0 && is_enoparent(e)) {
            r.unit_remote_id = r.property_remote_id = NULL;
            rc = put(out, ENT_THREAD, &r, e);
        }
    }
    return rc;
}

/* A history entry -> message (0 put or skipped, -1 error). Entries without a Message
 * (status/assignee changes) are not messages. */
static int put_history(struct sink *out, int64_t task, const cJSON *h, struct err *e)
{
    struct vctx v;
    vinit(&v, "buildium", out, ENT_MESSAGE);
    v_key(&v, h, "Id");
    const char *msg = v_str(&v, h, "Message", 0);
    if (v.bad || !msg || !*msg)
        return 0;
    const char *when = jget(h, "CreatedDateTIme") ? "CreatedDateTIme" : "CreatedDateTime";
    int64_t sent = v_when(&v, h, when, 1);
    int64_t upd = v_when(&v, h, "LastUpdatedDateTime", 0);
    const cJSON *by = jget(h, "CreatedByUser");
    if (!cJSON_IsObject(by))
        vdrift(&v, "CreatedByUser", "missing");
    if (v.bad)
        return 0;
    const char *ut = jstr(by, "UserType");
    char *author = full_name(jstr(by, "FirstName"), jstr(by, "LastName"));
    char ts[32];
    snprintf(ts, sizeof(ts), "%lld", (long long)task);
    struct rec_message m = {.remote_id = v.rid,
                            .thread_remote_id = ts,
                            .direction = str_same(ut, "Staff") ? DIR_OUT : DIR_IN,
                            .channel = CH_PORTAL,
                            .author = *author ? author : NULL,
                            .body = msg,
                            .sent_at = sent,
                            .remote_updated_at = upd ? upd : sent};
    int rc = put(out, ENT_MESSAGE, &m, e);
    free(author);
    return rc;
}

static int put_workorder(struct sink *out, const cJSON *w, struct err *e)
{
    struct vctx v;
    vinit(&v, "buildium", out, ENT_WORK_ORDER);
    v_key(&v, w, "Id");
    const char *title = v_str(&v, w, "Title", 0);
    const char *details = v_str(&v, w, "WorkDetails", 0);
    const char *st = v_str(&v, w, "Status", 1);
    const char *pr = v_str(&v, w, "Priority", 0);
    const char *due = v_str(&v, w, "DueDate", 0);
    int64_t vendor = v_id(&v, w, "VendorId", 0);
    const cJSON *task = jget(w, "Task");
    int64_t tid = jid(task, "Id");
    int status = wo_status_in(st);
    int prio = prio_in(pr);
    if (due && *due && bd_time(due) < 0)
        vdrift(&v, "DueDate", "not a date");
    if (v.bad)
        return 0;
    if (st && status < 0)
        vdrift_kept(&v, "Status", st, "unknown (status unchanged)");
    if (prio < 0)
        vdrift_kept(&v, "Priority", pr, "normal");
    if (!title || !*title)
        title = jstr(task, "Title");
    const cJSON *ua = jget(task, "UnitAgreement");
    int64_t lid = str_same(jstr(ua, "Type"), "Lease") ? jid(ua, "Id") : 0;
    int64_t uid = jid(task, "UnitId");
    char vs[32], ts[32], ls[32], us[32], dd[16] = "";
    snprintf(vs, sizeof(vs), "%lld", (long long)vendor);
    snprintf(ts, sizeof(ts), "%lld", (long long)tid);
    snprintf(ls, sizeof(ls), "%lld", (long long)lid);
    snprintf(us, sizeof(us), "%lld", (long long)uid);
    if (due && *due)
        snprintf(dd, sizeof(dd), "%.10s", due);
    struct rec_work_order r = {.remote_id = v.rid,
                               .title = title ? title : "",
                               .description = details,
                               .status = status < 0 ? WO_NEW : (enum wo_status)status,
                               .remote_status = st,
                               .status_unknown = status < 0,
                               .priority = prio < 0 ? PRIO_NORMAL : (enum priority)prio,
                               .unit_remote_id = uid ? us : NULL,
                               .stay_remote_id = lid ? ls : NULL,
                               .thread_remote_id = tid ? ts : NULL,
                               .vendor_remote_id = vendor ? vs : NULL,
                               .due_date = dd[0] ? dd : NULL};
    int rc = put(out, ENT_WORK_ORDER, &r, e);
    if (rc != 0 && is_enoparent(e)) {
        log_info("buildium", "work order %s: parent not stored yet; putting it unlinked", v.rid);
        r.stay_remote_id = r.thread_remote_id = r.vendor_remote_id = NULL;
        rc = put(out, ENT_WORK_ORDER, &r, e);
        if (rc != 0 && is_enoparent(e)) {
            r.unit_remote_id = NULL;
            rc = put(out, ENT_WORK_ORDER, &r, e);
        }
    }
    return rc;
}

/* Every history entry of task `tid` (all pages) -> messages. */
static int pull_history(struct adapter *a, int64_t tid, struct sink *out, struct err *e)
{
    for (int64_t off = 0;;) {
        char path[128];
        snprintf(path, sizeof(path), "/tasks/%lld/history?limit=%d&offset=%lld&orderby=Id",
                 (long long)tid, BD_PAGE, (long long)off);
        cJSON *root;
        int64_t total;
        if (bd_get(a, path, 1, &root, &total, e) != 0)
            return e && e->code == 404 ? 0 : -1; /* the task is gone */
        int n = 0;
        const cJSON *h;
        cJSON_ArrayForEach(h, root)
        {
            n++;
            if (put_history(out, tid, h, e) != 0) {
                cJSON_Delete(root);
                return -1;
            }
        }
        int done = walk_done(total, off, n, BD_PAGE);
        cJSON_Delete(root);
        if (done)
            return 0;
        off += n;
    }
}

/* ---- cursors ---- */

struct cur {
    char from[16];
    int64_t off, start;
};

static void cur_parse(const char *s, struct cur *c)
{
    memset(c, 0, sizeof(*c));
    for (const char *p = s; p && *p;) {
        long long v = 0;
        char d[16];
        if (sscanf(p, "off=%lld", &v) == 1)
            c->off = v < 0 ? 0 : v;
        else if (sscanf(p, "start=%lld", &v) == 1)
            c->start = v > BD_DAY_MS && v < BD_MAX_MS ? v : 0; /* else: now (pull_dated) */
        else if (sscanf(p, "from=%10[0-9-]", d) == 1 && bd_time(d) >= 0)
            snprintf(c->from, sizeof(c->from), "%s", d);
        p = strchr(p, ';');
        p = p ? p + 1 : NULL;
    }
}

/* ---- pull ---- */

static int pull_full(struct adapter *a, enum entity ent, const char *cursor, struct sink *out,
                     char **next, struct err *e)
{
    static const char *const paths[ENTITY_COUNT] = {[ENT_PROPERTY] = "/rentals",
                                                    [ENT_UNIT] = "/rentals/units",
                                                    [ENT_CONTACT] = "/leases/tenants",
                                                    [ENT_STAY] = "/leases",
                                                    [ENT_VENDOR] = "/vendors"};
    struct cur c;
    cur_parse(cursor, &c);
    struct prefs pf;
    memset(&pf, 0, sizeof(pf));
    if (ent == ENT_VENDOR && prefs_load(a, &pf, e) != 0) {
        prefs_free(&pf);
        return -1;
    }
    char path[128];
    snprintf(path, sizeof(path), "%s?limit=%d&offset=%lld&orderby=Id", paths[ent], BD_PAGE,
             (long long)c.off);
    cJSON *root;
    int64_t total;
    if (bd_get(a, path, 1, &root, &total, e) != 0) {
        prefs_free(&pf);
        return -1;
    }
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        n++;
        int rc = ent == ENT_PROPERTY  ? put_rental(out, it, e)
                 : ent == ENT_UNIT    ? put_unit(out, it, e)
                 : ent == ENT_CONTACT ? put_tenant(out, it, e)
                 : ent == ENT_STAY    ? put_lease(out, it, e)
                                      : put_vendor(out, it, &pf, e);
        if (rc != 0) {
            cJSON_Delete(root);
            prefs_free(&pf);
            return -1;
        }
    }
    prefs_free(&pf);
    int done = walk_done(total, c.off, n, BD_PAGE);
    cJSON_Delete(root);
    *next = xasprintf("off=%lld", done ? 0LL : (long long)(c.off + n));
    return done ? 0 : 1;
}

static int pull_dated(struct adapter *a, enum entity ent, const char *cursor, struct sink *out,
                      char **next, struct err *e)
{
    struct cur c;
    cur_parse(cursor, &c);
    if (!c.start)
        c.start = now_ms();
    int limit = ent == ENT_MESSAGE ? BD_MSG_TASK_PAGE : BD_PAGE;
    struct buf path;
    buf_init(&path);
    buf_printf(&path, "%s?limit=%d&offset=%lld&orderby=Id",
               ent == ENT_WORK_ORDER ? "/workorders" : "/tasks", limit, (long long)c.off);
    if (c.from[0])
        buf_printf(&path, "&lastupdatedfrom=%s", c.from);
    cJSON *root;
    int64_t total;
    int rc = bd_get(a, path.data, 1, &root, &total, e);
    buf_free(&path);
    if (rc != 0)
        return -1;
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        n++;
        if (ent == ENT_THREAD)
            rc = put_task(out, it, e);
        else if (ent == ENT_WORK_ORDER)
            rc = put_workorder(out, it, e);
        else
            rc = jid(it, "Id") ? pull_history(a, jid(it, "Id"), out, e) : 0;
        if (rc != 0) {
            cJSON_Delete(root);
            return -1;
        }
    }
    int done = walk_done(total, c.off, n, limit);
    cJSON_Delete(root);
    if (done) {
        bd_date(c.start - BD_DAY_MS, c.from);
        *next = xasprintf("from=%s;off=0", c.from);
        return 0;
    }
    *next = xasprintf("from=%s;off=%lld;start=%lld", c.from, (long long)(c.off + n),
                      (long long)c.start);
    return 1;
}

static int bd_pull(struct adapter *a, enum entity ent, const char *cursor, struct sink *out,
                   char **next, struct err *e)
{
    *next = NULL;
    switch (ent) {
    case ENT_PROPERTY:
    case ENT_UNIT:
    case ENT_CONTACT:
    case ENT_STAY:
    case ENT_VENDOR:
        return pull_full(a, ent, cursor, out, next, e);
    case ENT_THREAD:
    case ENT_MESSAGE:
    case ENT_WORK_ORDER:
        return pull_dated(a, ent, cursor, out, next, e);
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

static void copy_field(cJSON *dst, const char *k, const cJSON *v)
{
    if (v && !cJSON_IsNull(v))
        cJSON_AddItemToObject(dst, k, cJSON_Duplicate(v, 1));
}

/* GET task `tid` and PUT it back whole, in its type's route, with `status` (NULL: keep) and
 * `message` (NULL: none). The PUT needs the task's type (for the route) and the fields it
 * sends back. GET /tasks/{id} (AllTasksMessage) gives the type and every one of those fields
 * except a contact request's ContactDetail, so only a contact request is read a second time,
 * in its type's route: a reply costs 3 requests (GET, PUT, the history lookup), 4 on a
 * contact request. */
static int task_put_merged(struct adapter *a, int64_t tid, const char *status, const char *message,
                           struct err *e)
{
    char path[96];
    snprintf(path, sizeof(path), "/tasks/%lld", (long long)tid);
    cJSON *t;
    if (bd_get(a, path, 0, &t, NULL, e) != 0)
        return -1;
    const char *seg = kind_seg(jstr(t, "TaskType"));
    if (!seg) {
        err_set(e, ADAPTER_EDRIFT, FINAL, "Buildium task %lld has an unknown TaskType \"%s\"",
                (long long)tid, jstr(t, "TaskType") ? jstr(t, "TaskType") : "");
        cJSON_Delete(t);
        return -1;
    }
    snprintf(path, sizeof(path), "/tasks/%s/%lld", seg, (long long)tid);
    if (strcmp(seg, "contactrequests") == 0) {
        cJSON_Delete(t);
        if (bd_get(a, path, 0, &t, NULL, e) != 0)
            return -1;
    }
    cJSON *b = cJSON_CreateObject();
    copy_field(b, "Title", jget(t, "Title"));
    if (status)
        cJSON_AddStringToObject(b, "TaskStatus", status);
    else
        copy_field(b, "TaskStatus", jget(t, "TaskStatus"));
    copy_field(b, "Priority", jget(t, "Priority"));
    const cJSON *cat = jget(t, "Category");
    if (jid(cat, "Id"))
        cJSON_AddNumberToObject(b, "CategoryId", (double)jid(cat, "Id"));
    if (jid(jget(cat, "SubCategory"), "Id"))
        cJSON_AddNumberToObject(b, "SubCategoryId", (double)jid(jget(cat, "SubCategory"), "Id"));
    copy_field(b, "AssignedToUserId", jget(t, "AssignedToUserId"));
    copy_field(b, "DueDate", jget(t, "DueDate"));
    if (strcmp(seg, "residentrequests") != 0) {
        if (jid(jget(t, "Property"), "Id"))
            cJSON_AddNumberToObject(b, "PropertyId", (double)jid(jget(t, "Property"), "Id"));
        copy_field(b, "UnitId", jget(t, "UnitId"));
    }
    copy_field(b, "ContactDetail", jget(t, "ContactDetail"));
    if (message)
        cJSON_AddStringToObject(b, "Message", message);
    cJSON_Delete(t);
    char *json = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    cJSON *root;
    int rc = bd_call(a, "PUT", path, json, &root, NULL, e);
    free(json);
    cJSON_Delete(root);
    return rc;
}

/* GET work order `wid` and PUT it back whole with `status`/`vendor` merged (NULL/0: keep). */
static int wo_put_merged(struct adapter *a, int64_t wid, const char *status, int64_t vendor,
                         struct err *e)
{
    char path[64];
    snprintf(path, sizeof(path), "/workorders/%lld", (long long)wid);
    cJSON *w;
    if (bd_get(a, path, 0, &w, NULL, e) != 0)
        return -1;
    cJSON *b = cJSON_CreateObject();
    if (vendor)
        cJSON_AddNumberToObject(b, "VendorId", (double)vendor);
    else
        copy_field(b, "VendorId", jget(w, "VendorId"));
    static const char *const same[] = {"EntryAllowed",  "Title",        "WorkDetails",
                                       "InvoiceNumber", "ChargeableTo", "EntryNotes",
                                       "VendorNotes",   "Priority",     "DueDate"};
    for (size_t i = 0; i < ARRAY_LEN(same); i++)
        copy_field(b, same[i], jget(w, same[i]));
    if (status)
        cJSON_AddStringToObject(b, "Status", status);
    else
        copy_field(b, "Status", jget(w, "Status"));
    if (jid(jget(w, "EntryContact"), "Id"))
        cJSON_AddNumberToObject(b, "EntryContactId", (double)jid(jget(w, "EntryContact"), "Id"));
    cJSON *ids = cJSON_AddArrayToObject(b, "EntryContactIds");
    const cJSON *x;
    cJSON_ArrayForEach(x, jget(w, "EntryContacts"))
    {
        if (jid(x, "Id"))
            cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)jid(x, "Id")));
    }
    cJSON *lines = cJSON_AddArrayToObject(b, "LineItems");
    cJSON_ArrayForEach(x, jget(w, "LineItems"))
    {
        cJSON *l = cJSON_CreateObject();
        copy_field(l, "GlAccountId", jget(x, "GlAccountId"));
        copy_field(l, "Quantity", jget(x, "Quantity"));
        copy_field(l, "Memo", jget(x, "Memo"));
        copy_field(l, "UnitPrice", jget(x, "UnitPrice"));
        cJSON_AddItemToArray(lines, l);
    }
    cJSON_Delete(w);
    char *json = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    cJSON *root;
    int rc = bd_call(a, "PUT", path, json, &root, NULL, e);
    free(json);
    cJSON_Delete(root);
    return rc;
}

/* wo_create -> POST /workorders on the request (task) it was made from. Buildium creates a
 * work order only with its vendor (VendorId and EntryAllowed are required), so porter
 * sends the vendor chosen before the create went out (the store merges a dispatch into a
 * create no request has carried). */
static int push_wo_create(struct adapter *a, const cJSON *p, struct push_result *res, struct err *e)
{
    int64_t task = parse_remote_id(jstr(p, "thread"));
    int64_t vendor = parse_remote_id(jstr(p, "vendor"));
    if (!task)
        return err_set(e, 400, FINAL,
                       "Buildium: a work order belongs to a request: make it from a message");
    if (!vendor)
        return err_set(e, 400, FINAL,
                       "Buildium creates a work order only with its vendor: dispatch one (d)"
                       " before it is sent");
    cJSON *b = cJSON_CreateObject();
    cJSON_AddNumberToObject(b, "TaskId", (double)task);
    cJSON_AddNumberToObject(b, "VendorId", (double)vendor);
    cJSON_AddStringToObject(b, "EntryAllowed", "Unknown");
    const char *title = jstr(p, "title"), *desc = jstr(p, "description");
    cJSON_AddStringToObject(b, "Title", title ? title : "");
    if (desc && *desc)
        cJSON_AddStringToObject(b, "WorkDetails", desc);
    char *json = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    cJSON *root = NULL;
    int rc = bd_call(a, "POST", "/workorders", json, &root, NULL, e);
    free(json);
    if (rc == 0) {
        int64_t id = jid(root, "Id");
        if (id)
            snprintf(res->remote_id, sizeof(res->remote_id), "%lld", (long long)id);
    }
    cJSON_Delete(root);
    return rc;
}

/* The work order a lost wo_create answer made: one on the same task with the same title.
 * 1 found (res filled), 0 not, -1. */
static int find_wo_create(struct adapter *a, const cJSON *p, struct push_result *res, struct err *e)
{
    int64_t task = parse_remote_id(jstr(p, "thread"));
    const char *title = jstr(p, "title");
    if (!task || !title)
        return 0;
    char path[96];
    snprintf(path, sizeof(path), "/workorders?taskids=%lld&limit=1000", (long long)task);
    cJSON *list;
    if (bd_get(a, path, 1, &list, NULL, e) != 0)
        return -1;
    const cJSON *w;
    int found = 0;
    cJSON_ArrayForEach(w, list)
    {
        const char *t = jstr(w, "Title");
        if (!found && t && strcmp(t, title) == 0 && jid(w, "Id")) {
            snprintf(res->remote_id, sizeof(res->remote_id), "%lld", (long long)jid(w, "Id"));
            found = 1;
        }
    }
    cJSON_Delete(list);
    return found;
}

static int64_t op_wo(const struct outbox_op *op, const cJSON *p)
{
    int64_t id = parse_remote_id(op->remote_id);
    return id ? id : parse_remote_id(jstr(p, "remote_id"));
}

/* Look for the staff history entry of a reply: 1 found (res filled), 0 not, -1 error. */
static int find_reply(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                      struct push_result *res, struct err *e)
{
    int64_t tid = parse_remote_id(jstr(p, "thread"));
    const char *body = jstr(p, "body");
    if (!tid || !body)
        return payload_err(e, op->op, "has no thread or body");
    char path[128];
    snprintf(path, sizeof(path), "/tasks/%lld/history?limit=%d&offset=0&orderby=Id%%20desc",
             (long long)tid, BD_PAGE);
    cJSON *root;
    if (bd_get(a, path, 1, &root, NULL, e) != 0)
        return -1;
    int64_t from = op->created_at - BD_FIND_WINDOW_MS, best_t = 0, best = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, root)
    {
        const char *when = jstr(h, "CreatedDateTIme");
        if (!when)
            when = jstr(h, "CreatedDateTime");
        int64_t t = bd_time(when);
        if (!str_same(jstr(jget(h, "CreatedByUser"), "UserType"), "Staff") ||
            !str_same(jstr(h, "Message"), body) || t < from || !jid(h, "Id"))
            continue;
        if (!best || t < best_t || (t == best_t && jid(h, "Id") < best)) {
            best = jid(h, "Id");
            best_t = t;
        }
    }
    cJSON_Delete(root);
    if (best) {
        snprintf(res->remote_id, sizeof(res->remote_id), "%lld", (long long)best);
        res->remote_updated_at = best_t;
    }
    return best != 0;
}

static int push_reply(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                      struct push_result *res, struct err *e)
{
    int64_t tid = parse_remote_id(jstr(p, "thread"));
    const char *body = jstr(p, "body");
    if (!tid)
        return payload_err(e, op->op, "has no Buildium task id in \"thread\"");
    if (!body || !*body)
        return payload_err(e, op->op, "has no \"body\"");
    if (strlen(body) > 65500)
        return err_set(e, 400, FINAL, "Buildium takes at most 65,500 characters per update");
    if (task_put_merged(a, tid, NULL, body, e) != 0)
        return -1;
    struct err fe;
    err_clear(&fe);
    struct outbox_op now = *op;
    if (!now.created_at)
        now.created_at = now_ms();
    if (find_reply(a, &now, p, res, &fe) != 1)
        log_warn("buildium", "reply to task %lld sent; its history entry was not found (%s)",
                 (long long)tid, fe.msg);
    return 0;
}

static int push_wo(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                   struct push_result *res, struct err *e)
{
    int64_t wid = op_wo(op, p);
    if (!wid)
        return payload_err(e, op->op, "has no Buildium work order id");
    int rc;
    if (is_op(op, "wo_vendor")) {
        int64_t v = parse_remote_id(jstr(p, "vendor"));
        if (!v)
            return err_set(e, 400, FINAL, "Buildium work orders need a vendor");
        rc = wo_put_merged(a, wid, NULL, v, e);
    } else {
        const char *st = wo_status_out(jstr(p, "status"));
        if (!st)
            return err_set(e, 400, FINAL, "unknown work-order status \"%s\"",
                           jstr(p, "status") ? jstr(p, "status") : "");
        char path[64];
        snprintf(path, sizeof(path), "/workorders/%lld", (long long)wid);
        cJSON *w;
        if (bd_get(a, path, 0, &w, NULL, e) != 0)
            return -1;
        int64_t tid = jid(jget(w, "Task"), "Id");
        cJSON_Delete(w);
        rc = tid ? task_put_merged(a, tid, st, NULL, e) : wo_put_merged(a, wid, st, 0, e);
    }
    if (rc == 0)
        snprintf(res->remote_id, sizeof(res->remote_id), "%lld", (long long)wid);
    return rc;
}

static int bd_push(struct adapter *a, const struct outbox_op *op, struct push_result *res,
                   struct err *e)
{
    memset(res, 0, sizeof(*res));
    if (is_op(op, "note") || is_op(op, "wo_note"))
        return ADAPTER_LOCAL_ONLY;
    cJSON *p = cJSON_Parse(op->payload ? op->payload : "");
    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        return payload_err(e, op->op ? op->op : "?", "is not a JSON object");
    }
    int rc;
    if (is_op(op, "reply"))
        rc = push_reply(a, op, p, res, e);
    else if (is_op(op, "wo_status") || is_op(op, "wo_vendor"))
        rc = push_wo(a, op, p, res, e);
    else if (is_op(op, "wo_create"))
        rc = push_wo_create(a, p, res, e);
    else
        rc = err_set(e, 400, FINAL, "Buildium: operation \"%s\" is not supported yet",
                     op->op ? op->op : "");
    cJSON_Delete(p);
    return rc;
}

/* ---- find ---- */

static int find_status(struct adapter *a, const struct outbox_op *op, const cJSON *p,
                       struct push_result *res, struct err *e)
{
    int64_t wid = op_wo(op, p);
    const char *want = wo_status_out(jstr(p, "status"));
    if (!wid || !want)
        return payload_err(e, op->op, "has no work order id or a bad status");
    char path[64];
    snprintf(path, sizeof(path), "/workorders/%lld", (long long)wid);
    cJSON *w;
    if (bd_get(a, path, 0, &w, NULL, e) != 0)
        return -1;
    int same = str_same(jstr(w, "Status"), want);
    cJSON_Delete(w);
    if (same)
        snprintf(res->remote_id, sizeof(res->remote_id), "%lld", (long long)wid);
    return same;
}

static int bd_find(struct adapter *a, const struct outbox_op *op, struct push_result *res,
                   struct err *e)
{
    memset(res, 0, sizeof(*res));
    if (!is_op(op, "reply") && !is_op(op, "wo_status") && !is_op(op, "wo_create"))
        return 0; /* notes stay local; wo_vendor's whole-record PUT is idempotent */
    cJSON *p = cJSON_Parse(op->payload ? op->payload : "");
    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        return payload_err(e, op->op, "is not a JSON object");
    }
    int rc = is_op(op, "reply")       ? find_reply(a, op, p, res, e)
             : is_op(op, "wo_create") ? find_wo_create(a, p, res, e)
                                      : find_status(a, op, p, res, e);
    cJSON_Delete(p);
    return rc;
}

/* ---- webhooks ---- */

static int bd_webhook_verify(struct adapter *a, const struct webhook_req *rq, char **event_id,
                             char **kind, struct err *e)
{
    *event_id = *kind = NULL;
    const char *secret = a->conf ? a->conf->webhook_secret : NULL;
    const char *body = rq->body ? rq->body : "";
    /* Buildium always signs: an account without the key cannot tell its webhooks from
     * anyone else's, so they are refused (401, nothing stored), as Guesty's are */
    if (!secret || !*secret)
        return err_set(e, 401, FINAL,
                       "webhook: no webhook_secret configured (Buildium signs its webhooks with"
                       " HMAC; set the signing key in accounts.conf)");
    {
        const char *ts = rq->header ? rq->header(rq, "buildium-webhook-timestamp") : NULL;
        const char *sig = rq->header ? rq->header(rq, "buildium-webhook-signature") : NULL;
        if (!ts || !sig)
            return err_set(e, 401, FINAL, "webhook: missing Buildium signature headers");
        char *end;
        long long secs = strtoll(ts, &end, 10);
        /* digits only, and small enough that secs * 1000 cannot overflow */
        if (end == ts || *end || ts[0] < '0' || ts[0] > '9' || secs <= 0 || secs > BD_HOOK_TS_MAX)
            return err_set(e, 401, FINAL, "webhook: bad buildium-webhook-timestamp");
        int64_t skew = rq->now_ms - (int64_t)secs * 1000;
        if (skew > BD_HOOK_WINDOW_MS || skew < -BD_HOOK_WINDOW_MS)
            return err_set(e, 401, FINAL, "webhook: timestamp outside the 5 minute window");
        size_t tl = strlen(ts);
        unsigned char *msg = xmalloc(tl + 1 + rq->body_len + 1);
        memcpy(msg, ts, tl);
        msg[tl] = '.';
        memcpy(msg + tl + 1, body, rq->body_len);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, tl + 1 + rq->body_len, md, &mdlen);
        free(msg);
        unsigned char want[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
        int wlen = EVP_EncodeBlock(want, md, (int)mdlen);
        size_t sl = strlen(sig);
        while (sl > 0 && (sig[sl - 1] == ' ' || sig[sl - 1] == '\r' || sig[sl - 1] == '\n'))
            sl--;
        int ok = wlen > 0 && sl == (size_t)wlen && CRYPTO_memcmp(sig, want, (size_t)wlen) == 0;
        if (!ok)
            return err_set(e, 401, FINAL, "webhook: wrong Buildium signature");
    }
    cJSON *j = jparse_body(rq->body ? rq->body : "", rq->body_len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return err_set(e, 400, FINAL, "webhook: body is not a JSON object");
    }
    const char *ev = jstr(j, "EventName");
    *kind = xstrdup(ev && *ev ? ev : "unknown");
    cJSON_Delete(j);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(body, rq->body_len, md, &mdlen, EVP_sha256(), NULL) != 1) {
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

static int apply_task(struct adapter *a, int64_t tid, struct sink *out, struct err *e)
{
    char path[64];
    snprintf(path, sizeof(path), "/tasks/%lld", (long long)tid);
    cJSON *t;
    if (bd_get(a, path, 0, &t, NULL, e) != 0)
        return e && e->code == 404 ? 0 : -1; /* deleted since: nothing to apply */
    int rc = put_task(out, t, e);
    cJSON_Delete(t);
    return rc;
}

static int bd_webhook_apply(struct adapter *a, const char *kind, const char *body, struct sink *out,
                            struct err *e)
{
    if (!kind || strstr(kind, ".Deleted"))
        return 0;
    int wo = strncmp(kind, "WorkOrder.", 10) == 0;
    int hist = strncmp(kind, "Task.History.", 13) == 0;
    int task = !hist && strncmp(kind, "Task.", 5) == 0;
    if (!wo && !hist && !task)
        return 0;
    cJSON *j = cJSON_Parse(body ? body : "");
    const char *idf = wo ? "WorkOrderId" : "TaskId";
    int64_t id = jid(j, idf), hid = hist ? jid(j, "TaskHistoryId") : 0;
    if (!id || (hist && !hid)) {
        if (out->drift)
            out->drift(out,
                       wo     ? ENT_WORK_ORDER
                       : hist ? ENT_MESSAGE
                              : ENT_THREAD,
                       "?", !id ? idf : "TaskHistoryId", "missing");
        cJSON_Delete(j);
        return err_set(e, ADAPTER_EDRIFT, FINAL, "%s: no %s", kind, !id ? idf : "TaskHistoryId");
    }
    cJSON_Delete(j);
    char path[96];
    cJSON *r;
    int rc;
    if (wo) {
        snprintf(path, sizeof(path), "/workorders/%lld", (long long)id);
        if (bd_get(a, path, 0, &r, NULL, e) != 0)
            return e && e->code == 404 ? 0 : -1;
        rc = put_workorder(out, r, e);
        cJSON_Delete(r);
        return rc;
    }
    if (apply_task(a, id, out, e) != 0)
        return -1;
    if (!hist)
        return 0;
    snprintf(path, sizeof(path), "/tasks/%lld/history/%lld", (long long)id, (long long)hid);
    if (bd_get(a, path, 0, &r, NULL, e) != 0)
        return e && e->code == 404 ? 0 : -1;
    rc = put_history(out, id, r, e);
    cJSON_Delete(r);
    return rc;
}

/* ---- lifecycle ---- */

static int bd_init(struct adapter *a, struct err *e)
{
    if (bd_auth(a, e) != 0)
        return -1;
    a->priv = NULL;
    return 0;
}

static void bd_fini(struct adapter *a)
{
    a->priv = NULL;
}

/* Parents first: vendors before work orders, tasks (threads) before their history. */
static const enum entity bd_pull_order[] = {ENT_PROPERTY, ENT_UNIT,       ENT_CONTACT,
                                            ENT_STAY,     ENT_VENDOR,     ENT_THREAD,
                                            ENT_MESSAGE,  ENT_WORK_ORDER, ENTITY_COUNT};

const struct adapter_ops buildium_adapter = {
    .name = "buildium",
    .default_base_url = "https://api.buildium.com/v1",
    .rate_per_sec = 10.0, /* with 10: at most 10 requests in any 1 s */
    .rate_burst = 10,
    .pull_order = bd_pull_order,
    .full_walk =
        1u << ENT_PROPERTY | 1u << ENT_UNIT | 1u << ENT_CONTACT | 1u << ENT_STAY | 1u << ENT_VENDOR,
    .init = bd_init,
    .fini = bd_fini,
    .auth = bd_auth,
    .pull = bd_pull,
    .push = bd_push,
    .find = bd_find,
    .webhook_verify = bd_webhook_verify,
    .webhook_apply = bd_webhook_apply,
};
