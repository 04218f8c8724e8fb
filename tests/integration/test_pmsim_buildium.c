/* test_pmsim_buildium.c - pmsim's Buildium dialect (Open API v1) over real HTTP: header auth,
 * X-Total-Count paging, date-only lastupdatedfrom, the PUT full-replace quirk, every write
 * endpoint, 429, webhook HMAC (verified here with libcrypto, independently of pmsim), retries,
 * drop-after-write, schema drift and determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "simctl.h"

#define CLIENT_ID     "pmsim-buildium-client"
#define CLIENT_SECRET "pmsim-buildium-secret"
#define HOOK_KEY      "pmsim-buildium-webhook-key"

static struct simproc sp; /* the shared account: demo fixture, rate limit off */
static char data_dir[512];

static const char *const auth_json[] = {"x-buildium-client-id: " CLIENT_ID,
                                        "x-buildium-client-secret: " CLIENT_SECRET,
                                        "Content-Type: application/json", NULL};

/* ---------------------------------------------------------------- helpers */

static void find_data_dir(void)
{
    const char *env = getenv("PMSIM_DATA");
    if (env && *env) {
        snprintf(data_dir, sizeof(data_dir), "%s", env);
        return;
    }
    if (access("data/demo/buildium.json", R_OK) == 0) {
        snprintf(data_dir, sizeof(data_dir), "data/demo");
        return;
    }
    /* __FILE__ is tests/integration/test_pmsim_buildium.c relative to the repo root */
    const char *f = __FILE__;
    const char *cut = strstr(f, "tests/integration/");
    snprintf(data_dir, sizeof(data_dir), "%.*sdata/demo", cut ? (int)(cut - f) : 0, f);
}

/* epoch: NULL for the real clock, or a fixed start (ms) so that two runs are identical */
static int spawn_buildium(struct simproc *p, const char *seed, const char *hook_url, int with_data,
                          int rate_off, const char *epoch)
{
    const char *argv[24];
    int n = 0;
    argv[n++] = "--account";
    argv[n++] = "buildium:0";
    argv[n++] = "--seed";
    argv[n++] = seed;
    if (epoch) {
        argv[n++] = "--epoch";
        argv[n++] = epoch;
    }
    if (with_data) {
        argv[n++] = "--data";
        argv[n++] = data_dir;
    }
    if (hook_url) {
        argv[n++] = "--webhook-url";
        argv[n++] = hook_url;
        argv[n++] = "--time-factor";
        argv[n++] = "0.001";
    }
    if (rate_off) {
        argv[n++] = "--fault";
        argv[n++] = "rate_limit_off=1";
    }
    argv[n] = NULL;
    return sim_spawn(p, argv);
}

/* Processes and receivers a test starts for itself, cleaned up even when an assertion fails. */
static struct simproc extra[4];
static int nextra;
static struct receiver *rv_live;

static struct simproc *spawn_extra(const char *seed, const char *hook_url, int with_data,
                                   const char *epoch)
{
    assert_true(nextra < 4);
    struct simproc *p = &extra[nextra++];
    assert_int_equal(spawn_buildium(p, seed, hook_url, with_data, 1, epoch), 0);
    return p;
}

static int cleanup(void **state)
{
    (void)state;
    for (int i = 0; i < nextra; i++)
        sim_kill(&extra[i]);
    nextra = 0;
    if (rv_live)
        receiver_stop(&rv_live);
    rv_live = NULL;
    return 0;
}

static int up(void **state)
{
    (void)state;
    find_data_dir();
    assert_int_equal(spawn_buildium(&sp, "5", NULL, 1, 1, NULL), 0);
    assert_int_equal(sp.nports, 1);
    return 0;
}

static int down(void **state)
{
    sim_kill(&sp);
    return cleanup(state);
}

static long req(int port, const char *method, const char *path, const char *const *hdrs,
                const char *body, struct http_result *r)
{
    char url[4600];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    http_do(method, url, hdrs, body, r);
    return r->status;
}

/* An API call with good credentials; asserts the status and returns the parsed body. */
static cJSON *api_at(int port, const char *method, const char *path, const char *body, long want,
                     struct http_result *keep)
{
    struct http_result r;
    long st = req(port, method, path, auth_json, body, &r);
    if (st != want)
        fprintf(stderr, "%s %s -> %ld %s\n", method, path, st, r.body);
    assert_int_equal(st, want);
    cJSON *j = cJSON_Parse(r.body);
    assert_non_null(j);
    if (keep)
        *keep = r;
    else
        http_result_free(&r);
    return j;
}

static cJSON *api(const char *method, const char *path, const char *body, long want)
{
    return api_at(sp.port[0], method, path, body, want, NULL);
}

static cJSON *ctl(int port, const char *method, const char *path, const char *body)
{
    struct http_result r;
    assert_int_equal(req(port, method, path, NULL, body, &r), 200);
    cJSON *j = cJSON_Parse(r.body);
    assert_non_null(j);
    http_result_free(&r);
    return j;
}

static void ctl_ok(int port, const char *method, const char *path, const char *body)
{
    cJSON_Delete(ctl(port, method, path, body));
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static int is_null(const cJSON *o, const char *k)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* The Buildium error shape: UserMessage string, ErrorCode null, Errors array of Key/Value. */
static void assert_error_shape(const cJSON *j, int nerrors)
{
    assert_true(cJSON_IsObject(j));
    assert_non_null(str(j, "UserMessage"));
    assert_true(is_null(j, "ErrorCode"));
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "Errors");
    assert_true(cJSON_IsArray(e));
    if (nerrors >= 0)
        assert_int_equal(cJSON_GetArraySize(e), nerrors);
    const cJSON *x;
    cJSON_ArrayForEach(x, e)
    {
        assert_non_null(str(x, "Key"));
        assert_non_null(str(x, "Value"));
    }
}

static int has_error_key(const cJSON *j, const char *key)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "Errors"))
    {
        if (str(x, "Key") && strcmp(str(x, "Key"), key) == 0)
            return 1;
    }
    return 0;
}

/* Writes in the log whose method and path match. */
static int writes_matching(int port, const char *method, const char *path)
{
    cJSON *w = ctl(port, "GET", "/_sim/writes", NULL);
    int n = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, w)
    {
        if (strcmp(str(x, "method"), method) == 0 && strcmp(str(x, "path"), path) == 0)
            n++;
    }
    cJSON_Delete(w);
    return n;
}

static void today(char out[11])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* ---------------------------------------------------------------- auth and errors */

static void test_auth_and_errors(void **state)
{
    (void)state;
    int port = sp.port[0];
    struct http_result r;
    /* good credentials */
    cJSON_Delete(api("GET", "/v1/rentals", NULL, 200));

    /* missing both, missing the secret, wrong secret: 401 with the error body */
    const char *none[] = {NULL};
    const char *only_id[] = {"x-buildium-client-id: " CLIENT_ID, NULL};
    const char *wrong[] = {"x-buildium-client-id: " CLIENT_ID, "x-buildium-client-secret: nope",
                           NULL};
    const char *const *bad[] = {none, only_id, wrong};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(req(port, "GET", "/v1/workorders", bad[i], NULL, &r), 401);
        cJSON *j = cJSON_Parse(r.body);
        assert_error_shape(j, 0);
        assert_string_equal(str(j, "UserMessage"), "The API key couldn't be authorized.");
        cJSON_Delete(j);
        http_result_free(&r);
    }

    /* no version, wrong case, unknown route, bad query-name case: 404 error body */
    const char *nf[] = {"/rentals", "/v1/WorkOrders", "/v1/nosuch", "/v1/workorders?Limit=5",
                        "/v1/workorders/999999"};
    for (size_t i = 0; i < sizeof(nf) / sizeof(nf[0]); i++) {
        cJSON *j = api("GET", nf[i], NULL, 404);
        assert_error_shape(j, 0);
        cJSON_Delete(j);
    }
    /* no DELETE for work orders */
    cJSON *j = api("DELETE", "/v1/workorders/8001", NULL, 405);
    assert_error_shape(j, 0);
    cJSON_Delete(j);

    /* a JSON write without Content-Type: application/json -> 415, nothing written */
    const char *no_ct[] = {"x-buildium-client-id: " CLIENT_ID,
                           "x-buildium-client-secret: " CLIENT_SECRET, "Content-Type: text/plain",
                           NULL};
    assert_int_equal(req(port, "PUT", "/v1/workorders/8002", no_ct,
                         "{\"VendorId\":501,\"EntryAllowed\":\"Yes\"}", &r),
                     415);
    j = cJSON_Parse(r.body);
    assert_error_shape(j, 0);
    cJSON_Delete(j);
    http_result_free(&r);
    assert_int_equal(writes_matching(port, "PUT", "/v1/workorders/8002"), 0);

    /* malformed JSON -> 400 error body */
    j = api("PUT", "/v1/workorders/8002", "{\"VendorId\":", 400);
    assert_error_shape(j, 1);
    cJSON_Delete(j);

    /* a query string over 4096 characters -> 500 */
    char path[4400];
    int n = snprintf(path, sizeof(path), "/v1/vendors?name=");
    memset(path + n, 'x', 4200);
    path[n + 4200] = '\0';
    assert_int_equal(req(port, "GET", path, auth_json, NULL, &r), 500);
    http_result_free(&r);

    /* every answer carries the AWS request id, none carries rate-limit headers */
    assert_int_equal(req(port, "GET", "/v1/rentals", auth_json, NULL, &r), 200);
    char hv[128];
    assert_int_equal(http_header(&r, "x-amzn-RequestId", hv, sizeof(hv)), 0);
    assert_int_equal(http_header(&r, "Retry-After", hv, sizeof(hv)), -1);
    assert_int_equal(http_header(&r, "X-RateLimit-Limit", hv, sizeof(hv)), -1);
    http_result_free(&r);
}

/* ---------------------------------------------------------------- paging */

/* Walk a list with limit; returns the number of records; checks ids unique and ascending.
 * With expect_total >= 0 the header must be there and equal. */
static int walk(const char *base, int limit, int expect_total)
{
    int seen = 0, offset = 0;
    double last = -1;
    for (;;) {
        char path[512];
        snprintf(path, sizeof(path), "%s%climit=%d&offset=%d&orderby=Id", base,
                 strchr(base, '?') ? '&' : '?', limit, offset);
        struct http_result r;
        cJSON *j = api_at(sp.port[0], "GET", path, NULL, 200, &r);
        char hv[32];
        if (expect_total >= 0) {
            assert_int_equal(http_header(&r, "X-Total-Count", hv, sizeof(hv)), 0);
            assert_int_equal(atoi(hv), expect_total);
        } else {
            assert_int_equal(http_header(&r, "X-Total-Count", hv, sizeof(hv)), -1);
        }
        http_result_free(&r);
        assert_true(cJSON_IsArray(j));
        int n = cJSON_GetArraySize(j);
        assert_true(n <= limit);
        const cJSON *x;
        cJSON_ArrayForEach(x, j)
        {
            assert_true(num(x, "Id") > last); /* orderby=Id: strictly ascending, no repeats */
            last = num(x, "Id");
        }
        seen += n;
        offset += n;
        cJSON_Delete(j);
        if (n < limit) /* a short page ends the walk */
            break;
    }
    return seen;
}

static void test_paging(void **state)
{
    (void)state;
    int port = sp.port[0];
    /* 20 work orders in pages of 7 (7+7+6), X-Total-Count on every page */
    assert_int_equal(walk("/v1/workorders", 7, 20), 20);
    assert_int_equal(walk("/v1/vendors", 4, 15), 15);
    assert_int_equal(walk("/v1/rentals/units", 8, 30), 30);

    /* the default page is 50, the maximum 1000 (a larger limit is clamped, not refused) */
    for (int i = 0; i < 1010; i++)
        ctl_ok(port, "POST", "/_sim/inject",
               "{\"kind\":\"message\",\"task_id\":7005,\"body\":\"x\"}");
    struct http_result r;
    cJSON *j = api_at(port, "GET", "/v1/tasks/7005/history", NULL, 200, &r);
    char hv[32];
    assert_int_equal(http_header(&r, "X-Total-Count", hv, sizeof(hv)), 0);
    int total = atoi(hv);
    assert_true(total >= 1011);
    assert_int_equal(cJSON_GetArraySize(j), 50);
    cJSON_Delete(j);
    http_result_free(&r);
    j = api("GET", "/v1/tasks/7005/history?limit=5000", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(j), 1000);
    cJSON_Delete(j);
    assert_int_equal(walk("/v1/tasks/7005/history", 1000, total), total);

    /* bad limits are 400 */
    const char *bad[] = {"/v1/workorders?limit=0", "/v1/workorders?limit=abc",
                         "/v1/workorders?offset=-1", "/v1/workorders?orderby=Nope"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = api("GET", bad[i], NULL, 400);
        assert_error_shape(j, 1);
        cJSON_Delete(j);
    }

    /* orderby desc */
    j = api("GET", "/v1/workorders?orderby=Id%20desc&limit=2", NULL, 200);
    assert_int_equal((int)num(cJSON_GetArrayItem(j, 0), "Id"), 8020);
    assert_int_equal((int)num(cJSON_GetArrayItem(j, 1), "Id"), 8019);
    cJSON_Delete(j);

    /* the header may be absent: walk to the short page all the same */
    ctl_ok(port, "POST", "/_sim/inject", "{\"kind\":\"options\",\"total_count_header\":false}");
    assert_int_equal(walk("/v1/workorders", 7, -1), 20);
    assert_int_equal(walk("/v1/workorders", 5, -1), 20); /* exact multiple: one empty page */
    ctl_ok(port, "POST", "/_sim/inject", "{\"kind\":\"options\",\"total_count_header\":true}");
    assert_int_equal(walk("/v1/workorders", 20, 20), 20);
}

/* ---------------------------------------------------------------- updated-since */

static void test_lastupdated_date_only(void **state)
{
    (void)state;
    /* tasks: date only; a time part is refused with 400 naming the parameter */
    cJSON *j = api("GET", "/v1/tasks?lastupdatedfrom=2026-11-10T00:00:00Z", NULL, 400);
    assert_error_shape(j, 1);
    assert_true(has_error_key(j, "lastupdatedfrom"));
    cJSON_Delete(j);
    j = api("GET", "/v1/workorders?lastupdatedfrom=2026-11-10%2008:00:00", NULL, 400);
    assert_true(has_error_key(j, "lastupdatedfrom"));
    cJSON_Delete(j);
    j = api("GET", "/v1/workorders?lastupdatedto=2026-11-10T08:00", NULL, 400);
    assert_true(has_error_key(j, "lastupdatedto"));
    cJSON_Delete(j);

    /* the filter selects by day: compare with the full list */
    cJSON *all = api("GET", "/v1/tasks?limit=1000", NULL, 200);
    int want = 0, want_day = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, all)
    {
        const char *u = str(x, "LastUpdatedDateTime");
        assert_non_null(u);
        if (strncmp(u, "2026-11-15", 10) >= 0)
            want++;
        if (strncmp(u, "2026-11-15", 10) == 0)
            want_day++;
    }
    cJSON_Delete(all);
    assert_true(want > 0 && want_day > 0);
    j = api("GET", "/v1/tasks?lastupdatedfrom=2026-11-15&limit=1000", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(j), want);
    cJSON_Delete(j);
    j = api("GET", "/v1/tasks?lastupdatedfrom=2026-11-15&lastupdatedto=2026-11-15", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(j), want_day);
    cJSON_ArrayForEach(x, j)
    {
        assert_memory_equal(str(x, "LastUpdatedDateTime"), "2026-11-15", 10);
    }
    cJSON_Delete(j);

    /* work orders carry no timestamps, but the filter still works: one PUT today shows up */
    char day[11], path[128];
    today(day);
    snprintf(path, sizeof(path), "/v1/workorders?lastupdatedfrom=%s", day);
    j = api("GET", path, NULL, 200);
    int before = cJSON_GetArraySize(j);
    cJSON_Delete(j);
    cJSON *wo = api("GET", "/v1/workorders/8010", NULL, 200);
    assert_null(cJSON_GetObjectItemCaseSensitive(wo, "LastUpdatedDateTime"));
    assert_null(cJSON_GetObjectItemCaseSensitive(wo, "CreatedDateTime"));
    cJSON_Delete(wo);
    cJSON_Delete(
        api("PUT", "/v1/workorders/8010", "{\"VendorId\":512,\"EntryAllowed\":\"Yes\"}", 200));
    j = api("GET", path, NULL, 200);
    assert_int_equal(cJSON_GetArraySize(j), before + 1);
    int found = 0;
    cJSON_ArrayForEach(x, j)
    {
        found |= (int)num(x, "Id") == 8010;
    }
    assert_true(found);
    cJSON_Delete(j);

    /* vendors take a date-time */
    j = api("GET", "/v1/vendors?lastupdatedfrom=2026-06-01T00:00:00Z", NULL, 200);
    int n = cJSON_GetArraySize(j);
    assert_true(n > 0 && n < 15);
    cJSON_Delete(j);

    /* insurance filter: the fixture has expired policies */
    j = api("GET", "/v1/vendors?insuranceexpiration=Expired", NULL, 200);
    assert_true(cJSON_GetArraySize(j) >= 3);
    cJSON_ArrayForEach(x, j)
    {
        const char *exp =
            str(cJSON_GetObjectItemCaseSensitive(x, "VendorInsurance"), "ExpirationDate");
        assert_non_null(exp);
        assert_true(strncmp(exp, day, 10) < 0);
    }
    cJSON_Delete(j);

    /* repeated statuses filter */
    j = api("GET", "/v1/workorders?statuses=New&statuses=Deferred&limit=1000", NULL, 200);
    cJSON_ArrayForEach(x, j)
    {
        const char *s = str(x, "Status");
        assert_true(strcmp(s, "New") == 0 || strcmp(s, "Deferred") == 0);
    }
    assert_true(cJSON_GetArraySize(j) > 0);
    cJSON_Delete(j);
    j = api("GET", "/v1/workorders?statuses=Bogus", NULL, 400);
    assert_true(has_error_key(j, "statuses"));
    cJSON_Delete(j);
}

/* ---------------------------------------------------------------- writes */

static void test_workorder_put_full_replace(void **state)
{
    (void)state;
    int port = sp.port[0];
    cJSON *before = api("GET", "/v1/workorders/8003", NULL, 200);
    assert_true(strlen(str(before, "Title")) > 0);
    assert_true(strlen(str(before, "WorkDetails")) > 0);
    assert_true(strlen(str(before, "VendorNotes")) > 0);
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(before, "EntryContact")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(before, "LineItems")), 2);
    assert_true(num(before, "Amount") > 0);
    cJSON_Delete(before);

    /* required fields: VendorId and EntryAllowed */
    cJSON *j = api("PUT", "/v1/workorders/8003", "{\"Title\":\"only a title\"}", 400);
    assert_true(has_error_key(j, "VendorId"));
    assert_true(has_error_key(j, "EntryAllowed"));
    cJSON_Delete(j);
    j = api("PUT", "/v1/workorders/8003", "{\"VendorId\":999999,\"EntryAllowed\":\"Yes\"}", 422);
    assert_true(has_error_key(j, "VendorId"));
    cJSON_Delete(j);
    assert_int_equal(writes_matching(port, "PUT", "/v1/workorders/8003"), 0);

    /* a PUT with only the required fields blanks everything else */
    j = api("PUT", "/v1/workorders/8003", "{\"VendorId\":504,\"EntryAllowed\":\"No\"}", 200);
    const char *blank[] = {"Title",        "WorkDetails", "InvoiceNumber",
                           "ChargeableTo", "EntryNotes",  "VendorNotes"};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(blank) / sizeof(blank[0]); i++)
            assert_string_equal(str(j, blank[i]), "");
        assert_true(is_null(j, "EntryContact"));
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "EntryContacts")),
                         0);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "LineItems")), 0);
        assert_true(num(j, "Amount") == 0);
        assert_int_equal((int)num(j, "VendorId"), 504);
        assert_string_equal(str(j, "EntryAllowed"), "No");
        /* not in the PUT schema: kept */
        assert_string_equal(str(j, "Status"), "New");
        assert_int_equal((int)num(cJSON_GetObjectItemCaseSensitive(j, "Task"), "Id"), 7003);
        cJSON_Delete(j);
        j = api("GET", "/v1/workorders/8003", NULL, 200); /* the world changed */
    }
    cJSON_Delete(j);
    assert_int_equal(writes_matching(port, "PUT", "/v1/workorders/8003"), 1);

    /* GET, merge, PUT keeps fields; LineItems replace all and set Amount */
    j = api("PUT", "/v1/workorders/8003",
            "{\"VendorId\":504,\"EntryAllowed\":\"Yes\",\"Title\":\"Outlet\",\"WorkDetails\":"
            "\"Replace outlet\",\"LineItems\":[{\"Quantity\":2,\"UnitPrice\":40.5,\"Memo\":"
            "\"part\"}]}",
            200);
    assert_string_equal(str(j, "Title"), "Outlet");
    assert_true(num(j, "Amount") == 81.0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "LineItems")), 1);
    cJSON_Delete(j);
    assert_int_equal(writes_matching(port, "PUT", "/v1/workorders/8003"), 2);
}

static void test_task_put_full_replace_and_history(void **state)
{
    (void)state;
    int port = sp.port[0];
    const char *path = "/v1/tasks/residentrequests/7002";
    cJSON *before = api("GET", path, NULL, 200);
    assert_false(is_null(before, "AssignedToUserId"));
    assert_false(is_null(before, "Category"));
    assert_false(is_null(before, "DueDate"));
    char *desc = strdup(str(before, "Description"));
    cJSON_Delete(before);
    cJSON *hist = api("GET", "/v1/tasks/7002/history", NULL, 200);
    int nh = cJSON_GetArraySize(hist);
    cJSON_Delete(hist);

    /* only a Message: refused, the required fields are named */
    cJSON *j = api("PUT", path, "{\"Message\":\"on our way\"}", 400);
    assert_error_shape(j, 3);
    assert_true(has_error_key(j, "Title"));
    assert_true(has_error_key(j, "TaskStatus"));
    assert_true(has_error_key(j, "Priority"));
    cJSON_Delete(j);
    assert_int_equal(writes_matching(port, "PUT", path), 0);

    /* the required fields plus a Message: everything else of the PUT schema is blanked */
    j = api("PUT", path,
            "{\"Title\":\"No heat\",\"TaskStatus\":\"InProgress\",\"Priority\":\"High\","
            "\"Message\":\"Technician booked for 9am \xf0\x9f\x94\xa7\"}",
            200);
    for (int round = 0; round < 2; round++) {
        assert_string_equal(str(j, "Title"), "No heat");
        assert_string_equal(str(j, "TaskStatus"), "InProgress");
        assert_true(is_null(j, "AssignedToUserId"));
        assert_true(is_null(j, "Category"));
        assert_true(is_null(j, "DueDate"));
        assert_string_equal(str(j, "Description"), desc); /* not in the PUT schema */
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "TaskType"));
        cJSON_Delete(j);
        j = api("GET", path, NULL, 200);
    }
    cJSON_Delete(j);
    free(desc);
    assert_int_equal(writes_matching(port, "PUT", path), 1);

    /* the Message became a history entry, with the real CreatedDateTIme typo */
    hist = api("GET", "/v1/tasks/7002/history?orderby=Id%20desc", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(hist), nh + 1);
    const cJSON *h = cJSON_GetArrayItem(hist, 0);
    assert_string_equal(str(h, "Message"), "Technician booked for 9am \xf0\x9f\x94\xa7");
    assert_string_equal(str(h, "TaskStatus"), "InProgress");
    assert_non_null(str(h, "CreatedDateTIme"));
    assert_null(cJSON_GetObjectItemCaseSensitive(h, "CreatedDateTime"));
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(h, "CreatedByUser"), "UserType"),
                        "Staff");
    int hid = (int)num(h, "Id");
    cJSON_Delete(hist);

    /* the linked work order follows the task's status */
    j = api("GET", "/v1/workorders/8002", NULL, 200);
    assert_string_equal(str(j, "Status"), "InProgress");
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(j, "Task"), "Status"), "InProgress");
    cJSON_Delete(j);

    /* PUT one history entry: only {Message} */
    char hpath[96];
    snprintf(hpath, sizeof(hpath), "/v1/tasks/7002/history/%d", hid);
    j = api("PUT", hpath, "{}", 400);
    assert_true(has_error_key(j, "Message"));
    cJSON_Delete(j);
    j = api("PUT", hpath, "{\"Message\":\"Technician booked for 10am\"}", 200);
    assert_string_equal(str(j, "Message"), "Technician booked for 10am");
    cJSON_Delete(j);
    j = api("GET", hpath, NULL, 200);
    assert_string_equal(str(j, "Message"), "Technician booked for 10am");
    cJSON_Delete(j);
    assert_int_equal(writes_matching(port, "PUT", hpath), 1);

    /* a to-do is not a resident request */
    cJSON_Delete(api("GET", "/v1/tasks/contactrequests/7002", NULL, 404));
    j = api("GET", "/v1/tasks/contactrequests", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(j), 2);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, 0), "ContactDetail"));
    cJSON_Delete(j);
}

static void test_workorder_post(void **state)
{
    (void)state;
    int port = sp.port[0];
    struct http_result r;
    cJSON *all = api_at(port, "GET", "/v1/workorders", NULL, 200, &r);
    char hv[32];
    assert_int_equal(http_header(&r, "X-Total-Count", hv, sizeof(hv)), 0);
    int total = atoi(hv);
    http_result_free(&r);
    cJSON_Delete(all);

    cJSON *j = api("POST", "/v1/workorders", "{\"VendorId\":501,\"EntryAllowed\":\"Yes\"}", 400);
    assert_true(has_error_key(j, "Task"));
    cJSON_Delete(j);
    j = api("POST", "/v1/workorders",
            "{\"VendorId\":501,\"EntryAllowed\":\"Yes\",\"Task\":{\"Title\":\"x\"}}", 400);
    assert_true(has_error_key(j, "Priority"));
    assert_true(has_error_key(j, "Status"));
    assert_true(has_error_key(j, "Task.AssignedToUserId"));
    cJSON_Delete(j);
    j = api("POST", "/v1/workorders", "{\"VendorId\":501,\"EntryAllowed\":\"Yes\",\"TaskId\":1}",
            422);
    assert_true(has_error_key(j, "TaskId"));
    cJSON_Delete(j);
    assert_int_equal(writes_matching(port, "POST", "/v1/workorders"), 0);

    /* attach to the resident request that has none yet */
    j = api("POST", "/v1/workorders",
            "{\"VendorId\":505,\"EntryAllowed\":\"Yes\",\"Title\":\"Radiator valve\","
            "\"WorkDetails\":\"Replace valve\",\"TaskId\":7021,\"EntryContactId\":3001}",
            201);
    int id = (int)num(j, "Id");
    assert_true(id > 8020);
    assert_string_equal(str(j, "Title"), "Radiator valve");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "Task");
    assert_int_equal((int)num(t, "Id"), 7021);
    assert_string_equal(str(t, "Type"), "ResidentRequest");
    assert_non_null(str(j, "Status"));
    assert_string_equal(
        str(cJSON_GetArrayItem(
                cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(j, "EntryContact"), "Resources"),
                0),
            "Type"),
        "RentalTenant");
    cJSON_Delete(j);

    /* with a new task: a to-do is created with it */
    j = api("POST", "/v1/workorders",
            "{\"VendorId\":513,\"EntryAllowed\":\"No\",\"Title\":\"Gutter\",\"Task\":{\"Title\":"
            "\"Clean gutters\",\"Priority\":\"Low\",\"Status\":\"New\",\"AssignedToUserId\":12,"
            "\"PropertyId\":102,\"UnitId\":1013}}",
            201);
    t = cJSON_GetObjectItemCaseSensitive(j, "Task");
    assert_string_equal(str(t, "Type"), "Todo");
    assert_string_equal(str(j, "Priority"), "Low");
    char tpath[96];
    snprintf(tpath, sizeof(tpath), "/v1/tasks/todorequests/%d", (int)num(t, "Id"));
    cJSON_Delete(j);
    j = api("GET", tpath, NULL, 200);
    assert_string_equal(str(j, "Title"), "Clean gutters");
    assert_int_equal((int)num(cJSON_GetObjectItemCaseSensitive(j, "Property"), "Id"), 102);
    cJSON_Delete(j);

    assert_int_equal(writes_matching(port, "POST", "/v1/workorders"), 2);
    all = api_at(port, "GET", "/v1/workorders", NULL, 200, &r);
    assert_int_equal(http_header(&r, "X-Total-Count", hv, sizeof(hv)), 0);
    assert_int_equal(atoi(hv), total + 2);
    http_result_free(&r);
    cJSON_Delete(all);
    char wpath[64];
    snprintf(wpath, sizeof(wpath), "/v1/workorders/%d", id);
    j = api("GET", wpath, NULL, 200);
    assert_string_equal(str(j, "WorkDetails"), "Replace valve");
    cJSON_Delete(j);
}

static void test_resident_request_post_and_reads(void **state)
{
    (void)state;
    int port = sp.port[0];
    cJSON *j = api("POST", "/v1/tasks/residentrequests", "{\"Title\":\"x\"}", 400);
    assert_true(has_error_key(j, "UnitAgreementId"));
    assert_true(has_error_key(j, "RequestedByEntityId"));
    cJSON_Delete(j);
    j = api("POST", "/v1/tasks/residentrequests",
            "{\"Title\":\"Porch light\",\"UnitAgreementId\":2001,\"RequestedByEntityId\":3001,"
            "\"TaskStatus\":\"New\",\"Priority\":\"Normal\",\"CategoryId\":21,"
            "\"SubCategoryId\":212}",
            201);
    assert_string_equal(str(j, "Title"), "Porch light");
    assert_int_equal((int)num(cJSON_GetObjectItemCaseSensitive(j, "UnitAgreement"), "Id"), 2001);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(j, "Category"), "SubCategory"),
                            "Name"),
                        "Electrical");
    char path[96];
    snprintf(path, sizeof(path), "/v1/tasks/%d", (int)num(j, "Id"));
    cJSON_Delete(j);
    j = api("GET", path, NULL, 200);
    assert_string_equal(str(j, "TaskType"), "ResidentRequest");
    cJSON_Delete(j);
    assert_int_equal(writes_matching(port, "POST", "/v1/tasks/residentrequests"), 1);

    /* label lists */
    j = api("GET", "/v1/rentals", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(j), 3);
    cJSON_Delete(j);
    j = api("GET", "/v1/rentals/units?propertyids=102", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(j), 8);
    cJSON_Delete(j);
    j = api("GET", "/v1/leases/tenants?limit=1000", NULL, 200);
    assert_true(cJSON_GetArraySize(j) >= 25);
    cJSON_Delete(j);
    j = api("GET", "/v1/leases?limit=1000", NULL, 200);
    assert_true(cJSON_GetArraySize(j) >= 25);
    cJSON_Delete(j);
    j = api("GET", "/v1/rentals/103/vendors", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(j), 7);
    cJSON_Delete(j);
    j = api("GET", "/v1/vendors/501", NULL, 200);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(j, "Category"), "Name"), "Plumbing");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "VendorInsurance"), "ExpirationDate"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "_LastUpdated")); /* internal, never sent */
    cJSON_Delete(j);
    j = api("GET", "/v1/users?usertypes=Staff", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(j), 3);
    cJSON_Delete(j);
    /* an enum outside the spec is served as is */
    j = api("GET", "/v1/workorders/8012", NULL, 200);
    assert_string_equal(str(j, "Status"), "Pending Approval");
    cJSON_Delete(j);
}

/* ---------------------------------------------------------------- 429 */

static void test_rate_limit(void **state)
{
    (void)state;
    int port = sp.port[0];
    ctl_ok(port, "POST", "/_sim/faults", "{\"rate_limit_off\":0}");
    usleep(1100 * 1000); /* a fresh window */
    int ok = 0, limited = 0;
    for (int i = 0; i < 30; i++) {
        struct http_result r;
        long st = req(port, "GET", "/v1/rentals", auth_json, NULL, &r);
        if (st == 200)
            ok++;
        if (st == 429) {
            limited++;
            cJSON *j = cJSON_Parse(r.body);
            assert_error_shape(j, 0);
            cJSON_Delete(j);
            char hv[64];
            assert_int_equal(http_header(&r, "Retry-After", hv, sizeof(hv)), -1);
            assert_int_equal(http_header(&r, "X-RateLimit-Limit", hv, sizeof(hv)), -1);
            assert_int_equal(http_header(&r, "X-RateLimit-Remaining", hv, sizeof(hv)), -1);
        }
        http_result_free(&r);
    }
    /* 10 per second: 30 quick requests see at most 10 per started second */
    assert_true(ok >= 10 && ok <= 20);
    assert_int_equal(ok + limited, 30);

    /* a storm: every request is 429 */
    ctl_ok(port, "POST", "/_sim/faults", "{\"rate_limit_off\":1,\"storm_s\":5}");
    struct http_result r;
    assert_int_equal(req(port, "GET", "/v1/workorders", auth_json, NULL, &r), 429);
    cJSON *j = cJSON_Parse(r.body);
    assert_error_shape(j, 0);
    cJSON_Delete(j);
    http_result_free(&r);
    /* the API Gateway body, switchable because the real one is unconfirmed */
    ctl_ok(port, "POST", "/_sim/inject", "{\"kind\":\"options\",\"throttle_body\":\"gateway\"}");
    assert_int_equal(req(port, "GET", "/v1/workorders", auth_json, NULL, &r), 429);
    assert_string_equal(r.body, "{\"message\":\"Too Many Requests\"}");
    http_result_free(&r);
    ctl_ok(port, "POST", "/_sim/inject", "{\"kind\":\"options\",\"throttle_body\":\"buildium\"}");
    ctl_ok(port, "POST", "/_sim/faults", "{\"storm_s\":0}");
    cJSON_Delete(api("GET", "/v1/workorders", NULL, 200));
}

/* ---------------------------------------------------------------- webhooks */

/* Independent check of buildium-webhook-signature: base64(HMAC-SHA256(key, "ts.body")). */
static int verify_sig(const char *key, const char *ts, const char *body, const char *sig)
{
    size_t n = strlen(ts) + 1 + strlen(body);
    char *msg = malloc(n + 1);
    snprintf(msg, n + 1, "%s.%s", ts, body);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, n, md, &mdlen);
    free(msg);
    unsigned char b64[128];
    EVP_EncodeBlock(b64, md, (int)mdlen);
    return strcmp((const char *)b64, sig) == 0;
}

static void test_webhook_signature(void **state)
{
    (void)state;
    struct receiver *rv = rv_live = receiver_start(200);
    assert_non_null(rv);
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hooks/{dialect}", receiver_port(rv));
    struct simproc *p = spawn_extra("5", url, 1, NULL);
    cJSON_Delete(api_at(p->port[0], "PUT", "/v1/workorders/8001",
                        "{\"VendorId\":501,\"EntryAllowed\":\"Yes\",\"Title\":\"Sink\"}", 200,
                        NULL));
    assert_int_equal(receiver_wait(rv, 1, 5000), 1);
    const char *body = receiver_body(rv, 0);
    const char *ts = receiver_header(rv, 0, "buildium-webhook-timestamp");
    const char *sig = receiver_header(rv, 0, "buildium-webhook-signature");
    assert_non_null(body);
    assert_non_null(ts);
    assert_non_null(sig);
    long t = atol(ts);
    assert_true(labs((long)time(NULL) - t) < 60);
    assert_true(verify_sig(HOOK_KEY, ts, body, sig));

    /* negative checks: tampered body, other key, other timestamp */
    char *tampered = strdup(body);
    char *digit = strstr(tampered, "8001");
    assert_non_null(digit);
    digit[3] = '2';
    assert_false(verify_sig(HOOK_KEY, ts, tampered, sig));
    free(tampered);
    assert_false(verify_sig("other-key", ts, body, sig));
    char ts2[32];
    snprintf(ts2, sizeof(ts2), "%ld", t + 1);
    assert_false(verify_sig(HOOK_KEY, ts2, body, sig));

    /* ids only, compact JSON, the documented field names */
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    assert_string_equal(str(j, "EventName"), "WorkOrder.Updated");
    assert_int_equal((int)num(j, "AccountId"), 514285);
    assert_int_equal((int)num(j, "WorkOrderId"), 8001);
    const char *dt = str(j, "EventDateTime");
    assert_non_null(dt);
    if (!dt)
        return;
    assert_int_equal(strlen(dt), 28); /* 2022-05-10T15:12:46.2317653Z */
    assert_int_equal(dt[19], '.');
    assert_int_equal(dt[27], 'Z');
    assert_int_equal(cJSON_GetArraySize(j), 4);
    char *compact = cJSON_PrintUnformatted(j);
    assert_string_equal(compact, body);
    free(compact);
    cJSON_Delete(j);

    /* a task PUT with a Message: Task.Updated (with TaskType), Task.History.Created and the
     * linked work order's WorkOrder.Updated */
    cJSON_Delete(api_at(p->port[0], "PUT", "/v1/tasks/residentrequests/7004",
                        "{\"Title\":\"Dishwasher\",\"TaskStatus\":\"Completed\",\"Priority\":"
                        "\"Normal\",\"Message\":\"Fixed\"}",
                        200, NULL));
    assert_int_equal(receiver_wait(rv, 4, 5000), 4);
    int seen_task = 0, seen_hist = 0, seen_wo = 0;
    for (int i = 1; i < 4; i++) {
        const char *b = receiver_body(rv, i);
        assert_true(verify_sig(HOOK_KEY, receiver_header(rv, i, "buildium-webhook-timestamp"), b,
                               receiver_header(rv, i, "buildium-webhook-signature")));
        j = cJSON_Parse(b);
        const char *ev = str(j, "EventName");
        if (strcmp(ev, "Task.Updated") == 0) {
            seen_task++;
            assert_int_equal((int)num(j, "TaskId"), 7004);
            assert_string_equal(str(j, "TaskType"), "ResidentRequest");
        } else if (strcmp(ev, "Task.History.Created") == 0) {
            seen_hist++;
            assert_int_equal((int)num(j, "TaskId"), 7004);
            assert_true(num(j, "TaskHistoryId") > 0);
        } else if (strcmp(ev, "WorkOrder.Updated") == 0) {
            seen_wo++;
            assert_int_equal((int)num(j, "WorkOrderId"), 8004);
        }
        cJSON_Delete(j);
    }
    assert_int_equal(seen_task, 1);
    assert_int_equal(seen_hist, 1);
    assert_int_equal(seen_wo, 1);
}

static void test_webhook_retries(void **state)
{
    (void)state;
    struct receiver *rv = rv_live = receiver_start(500);
    assert_non_null(rv);
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hooks/{dialect}", receiver_port(rv));
    struct simproc *p = spawn_extra("5", url, 1, NULL);
    /* one event; 1 min, 10 min, 1 h scaled by 0.001: 4 attempts within ~4.3 s, then no more */
    cJSON_Delete(api_at(p->port[0], "PUT", "/v1/workorders/8005",
                        "{\"VendorId\":509,\"EntryAllowed\":\"Yes\"}", 200, NULL));
    assert_int_equal(receiver_wait(rv, 5, 6500), 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(receiver_body(rv, i), receiver_body(rv, 0));
        assert_true(verify_sig(HOOK_KEY, receiver_header(rv, i, "buildium-webhook-timestamp"),
                               receiver_body(rv, i),
                               receiver_header(rv, i, "buildium-webhook-signature")));
    }
    cJSON *d = ctl(p->port[0], "GET", "/_sim/state?collection=_deliveries", NULL);
    assert_int_equal(cJSON_GetArraySize(d), 4);
    assert_int_equal((int)num(cJSON_GetArrayItem(d, 3), "attempt"), 4);
    assert_int_equal((int)num(cJSON_GetArrayItem(d, 3), "status"), 500);
    cJSON_Delete(d);
}

/* ---------------------------------------------------------------- faults */

static void test_drop_after_write(void **state)
{
    (void)state;
    int port = sp.port[0];
    ctl_ok(port, "POST", "/_sim/faults", "{\"drop_after_write\":1}");
    struct http_result r;
    const char *path = "/v1/workorders/8006";
    assert_int_equal(req(port, "PUT", path, auth_json,
                         "{\"VendorId\":501,\"EntryAllowed\":\"Yes\",\"Title\":\"Dropped\"}", &r),
                     0);
    http_result_free(&r);
    /* a read is not a write: answered */
    cJSON *j = api("GET", path, NULL, 200);
    assert_string_equal(str(j, "Title"), "Dropped"); /* applied all the same */
    cJSON_Delete(j);
    /* a refused write is not applied, so it is answered */
    j = api("PUT", path, "{\"Title\":\"x\"}", 400);
    cJSON_Delete(j);
    ctl_ok(port, "POST", "/_sim/faults", "{\"drop_after_write\":0}");
    assert_int_equal(writes_matching(port, "PUT", path), 1);
}

static void test_schema_drift(void **state)
{
    (void)state;
    int port = sp.port[0];
    ctl_ok(port, "POST", "/_sim/faults",
           "{\"drift_from\":\"TaskStatus\",\"drift_to\":\"Status_\"}");
    cJSON *j = api("GET", "/v1/tasks/7001", NULL, 200);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "TaskStatus"));
    assert_non_null(str(j, "Status_"));
    cJSON_Delete(j);
    j = api("GET", "/v1/tasks/7001/history", NULL, 200);
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, 0), "TaskStatus"));
    assert_non_null(str(cJSON_GetArrayItem(j, 0), "Status_"));
    cJSON_Delete(j);
    ctl_ok(port, "POST", "/_sim/faults", "{\"drift_from\":\"\",\"drift_to\":\"\"}");
    j = api("GET", "/v1/tasks/7001", NULL, 200);
    assert_non_null(str(j, "TaskStatus"));
    cJSON_Delete(j);
}

/* ---------------------------------------------------------------- scenario */

static char *state_after(const char *seed, int with_data, int ticks)
{
    struct simproc *p = spawn_extra(seed, NULL, with_data, "1795305600000"); /* 2026-11-23 */
    char body[64];
    snprintf(body, sizeof(body), "{\"ticks\":%d}", ticks);
    ctl_ok(p->port[0], "POST", "/_sim/tick", body);
    struct http_result r;
    assert_int_equal(req(p->port[0], "GET", "/_sim/state", NULL, NULL, &r), 200);
    char *s = strdup(r.body);
    http_result_free(&r);
    sim_kill(p);
    nextra--;
    return s;
}

static void test_determinism(void **state)
{
    (void)state;
    char *a = state_after("9", 1, 300), *b = state_after("9", 1, 300);
    char *c = state_after("10", 1, 300);
    assert_string_equal(a, b);
    assert_true(strcmp(a, c) != 0);
    /* the scenario wrote hostile and non-ASCII text and moved work along */
    assert_non_null(strstr(a, "\\u001b[2J"));
    cJSON *w = cJSON_Parse(a);
    assert_non_null(w);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(w, "task_history")) > 100);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(w, "tasks")) > 23);
    cJSON_Delete(w);
    free(a);
    free(b);
    free(c);
    /* without a fixture: a small generated world, deterministic too */
    a = state_after("4", 0, 50);
    b = state_after("4", 0, 50);
    assert_string_equal(a, b);
    w = cJSON_Parse(a);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(w, "rentals")), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(w, "vendors")), 4);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(w, "workorders")) >= 2);
    cJSON_Delete(w);
    free(a);
    free(b);
}

static void test_inject(void **state)
{
    (void)state;
    int port = sp.port[0];
    struct http_result r;
    assert_int_equal(req(port, "POST", "/_sim/inject", NULL, "{\"kind\":\"nope\"}", &r), 400);
    http_result_free(&r);
    assert_int_equal(req(port, "POST", "/_sim/inject", NULL, "{\"kind\":\"message\"}", &r), 400);
    http_result_free(&r);
    assert_int_equal(req(port, "POST", "/_sim/inject", NULL,
                         "{\"kind\":\"status\",\"work_order_id\":1,\"status\":\"Closed\"}", &r),
                     400);
    http_result_free(&r);

    ctl_ok(port, "POST", "/_sim/inject",
           "{\"kind\":\"message\",\"task_id\":7009,\"body\":\"\\u001b[2J h\\u00e9llo "
           "\\ud83d\\ude00\"}");
    cJSON *j = api("GET", "/v1/tasks/7009/history?orderby=Id%20desc&limit=1", NULL, 200);
    const cJSON *h = cJSON_GetArrayItem(j, 0);
    assert_string_equal(str(h, "Message"), "\x1b[2J h\xc3\xa9llo \xf0\x9f\x98\x80");
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(h, "CreatedByUser"), "UserType"),
                        "Tenant");
    cJSON_Delete(j);

    ctl_ok(port, "POST", "/_sim/inject",
           "{\"kind\":\"status\",\"work_order_id\":8009,\"status\":\"Completed\"}");
    j = api("GET", "/v1/workorders/8009", NULL, 200);
    assert_string_equal(str(j, "Status"), "Completed");
    cJSON_Delete(j);
    j = api("GET", "/v1/tasks/7009", NULL, 200);
    assert_string_equal(str(j, "TaskStatus"), "Completed");
    cJSON_Delete(j);

    j = api("GET", "/v1/tasks/residentrequests?limit=1000", NULL, 200);
    int n = cJSON_GetArraySize(j);
    cJSON_Delete(j);
    ctl_ok(port, "POST", "/_sim/inject",
           "{\"kind\":\"request\",\"title\":\"Leak\",\"body\":\"Water everywhere\"}");
    j = api("GET", "/v1/tasks/residentrequests?limit=1000", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(j), n + 1);
    cJSON_Delete(j);

    ctl_ok(port, "POST", "/_sim/inject",
           "{\"kind\":\"vendor_insurance\",\"vendor_id\":512,\"expiration\":\"2031-01-31\"}");
    j = api("GET", "/v1/vendors/512", NULL, 200);
    assert_string_equal(
        str(cJSON_GetObjectItemCaseSensitive(j, "VendorInsurance"), "ExpirationDate"),
        "2031-01-31T00:00:00Z");
    cJSON_Delete(j);
}

int main(void)
{
    find_data_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auth_and_errors, up, down),
        cmocka_unit_test_setup_teardown(test_paging, up, down),
        cmocka_unit_test_setup_teardown(test_lastupdated_date_only, up, down),
        cmocka_unit_test_setup_teardown(test_workorder_put_full_replace, up, down),
        cmocka_unit_test_setup_teardown(test_task_put_full_replace_and_history, up, down),
        cmocka_unit_test_setup_teardown(test_workorder_post, up, down),
        cmocka_unit_test_setup_teardown(test_resident_request_post_and_reads, up, down),
        cmocka_unit_test_setup_teardown(test_rate_limit, up, down),
        cmocka_unit_test_teardown(test_webhook_signature, cleanup),
        cmocka_unit_test_teardown(test_webhook_retries, cleanup),
        cmocka_unit_test_setup_teardown(test_drop_after_write, up, down),
        cmocka_unit_test_setup_teardown(test_schema_drift, up, down),
        cmocka_unit_test_teardown(test_determinism, cleanup),
        cmocka_unit_test_setup_teardown(test_inject, up, down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
