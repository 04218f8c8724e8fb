/* test_pmsim_core.c - pmsim's dialect-independent core: process start-up, the control API
 * and fault injection, driven over real HTTP. Uses a Buildium and a Hostaway account. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "simctl.h"

static struct simproc sp;

static int up(void **state)
{
    (void)state;
    const char *argv[] = {"--account", "hostaway:0", "--account", "buildium:0",
                          "--seed",    "3",          NULL};
    assert_int_equal(sim_spawn(&sp, argv), 0);
    assert_int_equal(sp.nports, 2);
    return 0;
}

static int down(void **state)
{
    (void)state;
    sim_kill(&sp);
    return 0;
}

static void ctl(int port, const char *method, const char *path, const char *body,
                struct http_result *r)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    http_do(method, url, NULL, body, r);
}

static cJSON *ctl_json(int port, const char *method, const char *path, const char *body, long want)
{
    struct http_result r;
    ctl(port, method, path, body, &r);
    assert_int_equal(r.status, want);
    cJSON *j = cJSON_Parse(r.body);
    assert_non_null(j);
    http_result_free(&r);
    return j;
}

static void test_usage_errors(void **state)
{
    (void)state;
    const char *bad[][3] = {{"--account", "nosuch:0", NULL}, {NULL, NULL, NULL}};
    struct simproc p;
    assert_int_equal(sim_spawn(&p, bad[0]), -1);
    assert_int_equal(sim_spawn(&p, bad[1]), -1); /* no account at all */
}

static void test_port_in_use(void **state)
{
    (void)state;
    char port[32];
    snprintf(port, sizeof(port), "hostaway:%d", sp.port[0]);
    const char *argv[] = {"--account", port, NULL};
    struct simproc p;
    assert_int_equal(sim_spawn(&p, argv), -1);
}

static void test_health_and_accounts_apart(void **state)
{
    (void)state;
    cJSON *h = ctl_json(sp.port[0], "GET", "/_sim/health", NULL, 200);
    assert_string_equal(cJSON_GetObjectItem(h, "dialect")->valuestring, "hostaway");
    assert_int_equal(cJSON_GetObjectItem(h, "port")->valueint, sp.port[0]);
    cJSON_Delete(h);
    h = ctl_json(sp.port[1], "GET", "/_sim/health", NULL, 200);
    assert_string_equal(cJSON_GetObjectItem(h, "dialect")->valuestring, "buildium");
    cJSON_Delete(h);
    cJSON *e = ctl_json(sp.port[0], "GET", "/_sim/nope", NULL, 404);
    assert_non_null(cJSON_GetObjectItem(e, "error"));
    cJSON_Delete(e);
}

static void test_faults_round_trip_and_validation(void **state)
{
    (void)state;
    cJSON *f = ctl_json(sp.port[0], "POST", "/_sim/faults",
                        "{\"error_rate\":0.25,\"latency_ms\":5,\"webhook_dup\":0.5,"
                        "\"drift_from\":\"body\",\"drift_to\":\"messageBody\"}",
                        200);
    assert_true(cJSON_GetObjectItem(f, "error_rate")->valuedouble == 0.25);
    assert_int_equal(cJSON_GetObjectItem(f, "latency_ms")->valueint, 5);
    assert_string_equal(cJSON_GetObjectItem(f, "drift_to")->valuestring, "messageBody");
    cJSON_Delete(f);
    /* the other account is untouched */
    f = ctl_json(sp.port[1], "GET", "/_sim/faults", NULL, 200);
    assert_true(cJSON_GetObjectItem(f, "error_rate")->valuedouble == 0);
    cJSON_Delete(f);
    cJSON *e = ctl_json(sp.port[0], "POST", "/_sim/faults", "{\"error_rate\":\"lots\"}", 400);
    assert_string_equal(cJSON_GetObjectItem(e, "error")->valuestring,
                        "error_rate must be a number");
    cJSON_Delete(e);
    e = ctl_json(sp.port[0], "POST", "/_sim/faults", "not json", 400);
    cJSON_Delete(e);
    f = ctl_json(sp.port[0], "POST", "/_sim/faults",
                 "{\"error_rate\":0,\"latency_ms\":0,\"webhook_dup\":0,\"drift_from\":\"\"}", 200);
    assert_string_equal(cJSON_GetObjectItem(f, "drift_from")->valuestring, "");
    cJSON_Delete(f);
}

static void test_error_rate_outage_and_reset(void **state)
{
    (void)state;
    struct http_result r;
    cJSON_Delete(ctl_json(sp.port[1], "POST", "/_sim/faults", "{\"error_rate\":1}", 200));
    ctl(sp.port[1], "GET", "/v1/workorders", NULL, &r);
    assert_int_equal(r.status, 503);
    http_result_free(&r);
    /* the control API is never faulted */
    cJSON_Delete(ctl_json(sp.port[1], "GET", "/_sim/health", NULL, 200));
    cJSON_Delete(
        ctl_json(sp.port[1], "POST", "/_sim/faults", "{\"error_rate\":0,\"outage_s\":30}", 200));
    ctl(sp.port[1], "GET", "/v1/workorders", NULL, &r);
    assert_int_equal(r.status, 0); /* connection reset: no answer at all */
    http_result_free(&r);
    cJSON_Delete(ctl_json(sp.port[1], "POST", "/_sim/faults", "{\"outage_s\":0}", 200));
    ctl(sp.port[1], "GET", "/v1/workorders", NULL, &r);
    assert_int_equal(r.status, 401); /* back, and answering (no credentials sent) */
    http_result_free(&r);
    cJSON_Delete(ctl_json(sp.port[1], "POST", "/_sim/faults", "{\"reset_rate\":1}", 200));
    ctl(sp.port[1], "GET", "/v1/workorders", NULL, &r);
    assert_int_equal(r.status, 0);
    http_result_free(&r);
    cJSON_Delete(ctl_json(sp.port[1], "POST", "/_sim/faults", "{\"reset_rate\":0}", 200));
}

static void test_storm_and_fault_flag(void **state)
{
    (void)state;
    const char *argv[] = {"--account", "buildium:0", "--fault", "storm_s=60", NULL};
    struct simproc p;
    assert_int_equal(sim_spawn(&p, argv), 0);
    struct http_result r;
    ctl(p.port[0], "GET", "/v1/workorders", NULL, &r);
    assert_int_equal(r.status, 429);
    http_result_free(&r);
    sim_kill(&p);
    const char *bad[] = {"--account", "buildium:0", "--fault", "error_rate=high", NULL};
    assert_int_equal(sim_spawn(&p, bad), -1);
}

static void test_tick_and_write_log_clear(void **state)
{
    (void)state;
    cJSON *t = ctl_json(sp.port[0], "POST", "/_sim/tick", "{\"ticks\":3}", 200);
    assert_true(cJSON_GetObjectItem(t, "ticks")->valueint >= 3);
    cJSON_Delete(t);
    cJSON_Delete(ctl_json(sp.port[0], "POST", "/_sim/writes/clear", "", 200));
    cJSON *w = ctl_json(sp.port[0], "GET", "/_sim/writes", NULL, 200);
    assert_true(cJSON_IsArray(w));
    assert_int_equal(cJSON_GetArraySize(w), 0);
    cJSON_Delete(w);
    cJSON *e = ctl_json(sp.port[0], "POST", "/_sim/inject", "{\"kind\":\"no-such-kind\"}", 400);
    assert_non_null(cJSON_GetObjectItem(e, "error"));
    cJSON_Delete(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test_setup_teardown(test_port_in_use, up, down),
        cmocka_unit_test_setup_teardown(test_health_and_accounts_apart, up, down),
        cmocka_unit_test_setup_teardown(test_faults_round_trip_and_validation, up, down),
        cmocka_unit_test_setup_teardown(test_error_rate_outage_and_reset, up, down),
        cmocka_unit_test(test_storm_and_fault_flag),
        cmocka_unit_test_setup_teardown(test_tick_and_write_log_clear, up, down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
