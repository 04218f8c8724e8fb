/* test_log.c - the log file: format, permissions, control bytes, secret redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

static void test_level_parse(void **state)
{
    (void)state;
    enum log_level l;
    assert_int_equal(log_level_parse("debug", &l), 0);
    assert_int_equal(l, LOG_DEBUG);
    assert_int_equal(log_level_parse("error", &l), 0);
    assert_int_equal(l, LOG_ERROR);
    assert_int_equal(log_level_parse("loud", &l), -1);
    assert_int_equal(log_level_parse("", &l), -1);
    assert_string_equal(log_level_name(LOG_WARN), "warn");
}

static void test_file_mode_format_and_level(void **state)
{
    (void)state;
    char dir[] = "/tmp/porter-log-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/sub/porter.log", dir);
    struct err e;
    assert_int_equal(log_open(path, LOG_INFO, &e), 0);
    log_debug("t", "hidden %d", 1);
    log_info("sync", "line one\x1b[2J\nline two");
    log_close();
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    FILE *f = fopen(path, "r");
    char buf[512] = {0};
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    assert_true(n > 0);
    assert_null(strstr(buf, "hidden")); /* below the level */
    assert_non_null(strstr(buf, "info  [sync] line one"));
    assert_null(strchr(buf, '\x1b'));                 /* no control bytes reach the file */
    assert_int_equal(strchr(buf, '\n'), buf + n - 1); /* one record, one line */
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_open_failure_reported(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(log_open("/proc/nonexistent/dir/porter.log", LOG_INFO, &e), -1);
    assert_non_null(strstr(e.msg, "/proc/nonexistent"));
}

static void test_redact(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"GET /v1/listings?limit=10", "GET /v1/listings?limit=10"},
        {"grant_type=client_credentials&client_id=10450&client_secret=abc123&scope=general",
         "grant_type=client_credentials&client_id=10450&client_secret=***&scope=general"},
        {"{\"access_token\":\"eyJ.x.y\",\"expires_in\":86400}",
         "{\"access_token\":\"***\",\"expires_in\":86400}"},
        {"Authorization: Bearer eyJhbGciOi.x.y", "Authorization: ***"},
        {"x-buildium-client-secret: s3cr3t", "x-buildium-client-secret: ***"},
        {"password=hunter2, user=bob", "password=***, user=bob"},
        {"token=abc&next=1", "token=***&next=1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[256];
        log_redact(cases[i].in, out, sizeof(out));
        assert_string_equal(out, cases[i].out);
    }
    char tiny[4];
    log_redact("secret=abcdef", tiny, sizeof(tiny)); /* truncation is safe */
    assert_int_equal(strlen(tiny), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_file_mode_format_and_level),
        cmocka_unit_test(test_open_failure_reported),
        cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
