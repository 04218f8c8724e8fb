/* test_model.c - canonical enumerations: names round-trip, unknown names are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

static void test_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < CHANNEL_COUNT; i++)
        assert_int_equal(channel_parse(channel_name((enum channel)i)), i);
    for (int i = 0; i < DIRECTION_COUNT; i++)
        assert_int_equal(direction_parse(direction_name((enum direction)i)), i);
    for (int i = 0; i < SEND_STATE_COUNT; i++)
        assert_int_equal(send_state_parse(send_state_name((enum send_state)i)), i);
    for (int i = 0; i < WO_STATUS_COUNT; i++)
        assert_int_equal(wo_status_parse(wo_status_name((enum wo_status)i)), i);
    for (int i = 0; i < PRIORITY_COUNT; i++)
        assert_int_equal(priority_parse(priority_name((enum priority)i)), i);
    for (int i = 0; i < THREAD_KIND_COUNT; i++)
        assert_int_equal(thread_kind_parse(thread_kind_name((enum thread_kind)i)), i);
    for (int i = 0; i < CONTACT_KIND_COUNT; i++)
        assert_int_equal(contact_kind_parse(contact_kind_name((enum contact_kind)i)), i);
}

static void test_names_match_reference(void **state)
{
    (void)state;
    /* the canonical values of the schema's CHECK constraints */
    assert_string_equal(wo_status_name(WO_IN_PROGRESS), "in_progress");
    assert_string_equal(wo_status_name(WO_CANCELLED), "cancelled");
    assert_string_equal(priority_name(PRIO_EMERGENCY), "emergency");
    assert_string_equal(send_state_name(SEND_DEAD), "dead");
    assert_string_equal(channel_name(CH_WHATSAPP), "whatsapp");
    assert_int_equal(CHANNEL_COUNT, 11);
    assert_int_equal(WO_STATUS_COUNT, 8);
}

static void test_unknown_and_out_of_range(void **state)
{
    (void)state;
    assert_int_equal(wo_status_parse("in progress"), -1); /* Guesty's spelling is not canonical */
    assert_int_equal(wo_status_parse("canceled"), -1);
    assert_int_equal(channel_parse(NULL), -1);
    assert_int_equal(channel_parse(""), -1);
    assert_string_equal(channel_name((enum channel)99), "?");
    assert_string_equal(priority_name((enum priority) - 1), "?");
}

static void test_window_parse_and_format(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    int64_t now = 1795420800000LL; /* 2026-11-23 08:00 UTC */
    int64_t a, b;
    char why[128], out[64];
    assert_int_equal(wo_window_parse("2026-11-24 09:30-11:00", now, &a, &b, why, sizeof(why)), 0);
    assert_int_equal(a, 1795420800000LL + 86400000LL + 5400000LL);
    assert_int_equal(b - a, 5400000LL);
    wo_window_fmt(a, b, out, sizeof(out));
    assert_string_equal(out, "Nov 24 09:30-11:00");
    assert_int_equal(wo_window_parse("tomorrow 14:00", now, &a, &b, why, sizeof(why)), 0);
    assert_int_equal(b - a, 7200000LL); /* two hours by default */
    wo_window_fmt(a, b, out, sizeof(out));
    assert_string_equal(out, "Nov 24 14:00-16:00");
    assert_int_equal(wo_window_parse("today", now, &a, &b, why, sizeof(why)), 0);
    wo_window_fmt(a, b, out, sizeof(out));
    assert_string_equal(out, "Nov 23 08:00-17:00");
    assert_int_equal(wo_window_parse(" 2026-11-24 23:00", now, &a, &b, why, sizeof(why)), 0);
    wo_window_fmt(a, b, out, sizeof(out));
    assert_string_equal(out, "Nov 24 23:00 - Nov 25 01:00");
    const char *bad[] = {"",
                         "next week",
                         "2026-13-01",
                         "2026-11-24 25:00",
                         "2026-11-24 10:00-",
                         "2026-11-24 10:00-09:00",
                         "2026-11-24 10:00 junk",
                         "24/11/2026"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(wo_window_parse(bad[i], now, &a, &b, why, sizeof(why)), -1);
        assert_true(why[0] != '\0');
    }
    wo_window_fmt(0, 0, out, sizeof(out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_names_match_reference),
        cmocka_unit_test(test_unknown_and_out_of_range),
        cmocka_unit_test(test_window_parse_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
