/* model.c - names of the canonical enumerations, generated from the X-macro lists. */
#include "model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MODEL_NAME_ITEM(id, name) name,
#define MODEL_NAMES(prefix, type, LIST)                                                            \
    static const char *const prefix##_names[] = {LIST(MODEL_NAME_ITEM)};                           \
    const char *prefix##_name(enum type v)                                                         \
    {                                                                                              \
        return (unsigned)v < sizeof(prefix##_names) / sizeof(prefix##_names[0])                    \
                   ? prefix##_names[v]                                                             \
                   : "?";                                                                          \
    }                                                                                              \
    int prefix##_parse(const char *s)                                                              \
    {                                                                                              \
        for (unsigned i = 0; s && i < sizeof(prefix##_names) / sizeof(prefix##_names[0]); i++)     \
            if (strcmp(s, prefix##_names[i]) == 0)                                                 \
                return (int)i;                                                                     \
        return -1;                                                                                 \
    }

MODEL_NAMES(channel, channel, CHANNEL_LIST)
MODEL_NAMES(direction, direction, DIRECTION_LIST)
MODEL_NAMES(send_state, send_state, SEND_STATE_LIST)
MODEL_NAMES(wo_status, wo_status, WO_STATUS_LIST)
MODEL_NAMES(priority, priority, PRIORITY_LIST)
MODEL_NAMES(thread_kind, thread_kind, THREAD_KIND_LIST)
MODEL_NAMES(contact_kind, contact_kind, CONTACT_KIND_LIST)

void wo_window_fmt(int64_t start_ms, int64_t end_ms, char *out, size_t n)
{
    if (!n)
        return;
    out[0] = '\0';
    if (start_ms <= 0)
        return;
    time_t a = (time_t)(start_ms / 1000), b = (time_t)(end_ms / 1000);
    struct tm ta, tb;
    localtime_r(&a, &ta);
    localtime_r(&b, &tb);
    char s1[32], s2[32];
    strftime(s1, sizeof(s1), "%b %d %H:%M", &ta);
    if (end_ms <= start_ms)
        snprintf(out, n, "%s", s1);
    else if (ta.tm_year == tb.tm_year && ta.tm_yday == tb.tm_yday) {
        strftime(s2, sizeof(s2), "%H:%M", &tb);
        snprintf(out, n, "%s-%s", s1, s2);
    } else {
        strftime(s2, sizeof(s2), "%b %d %H:%M", &tb);
        snprintf(out, n, "%s - %s", s1, s2);
    }
}

static int64_t local_ms(const struct tm *day, int hh, int mm)
{
    struct tm t = *day;
    t.tm_hour = hh;
    t.tm_min = mm;
    t.tm_sec = 0;
    t.tm_isdst = -1;
    return (int64_t)mktime(&t) * 1000;
}

static int hhmm(const char *p, int *hh, int *mm, int *used)
{
    int n = 0;
    if (sscanf(p, "%2d:%2d%n", hh, mm, &n) != 2 || *hh < 0 || *hh > 23 || *mm < 0 || *mm > 59)
        return -1;
    *used = n;
    return 0;
}

int wo_window_parse(const char *text, int64_t now_ms, int64_t *start_ms, int64_t *end_ms, char *err,
                    size_t errn)
{
    struct tm day;
    time_t now = (time_t)(now_ms / 1000);
    localtime_r(&now, &day);
    const char *p = text;
    while (*p == ' ')
        p++;
    int y, mo, d, n = 0;
    if (strncmp(p, "today", 5) == 0) {
        p += 5;
    } else if (strncmp(p, "tomorrow", 8) == 0) {
        day.tm_mday++;
        p += 8;
    } else if (sscanf(p, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10 && mo >= 1 && mo <= 12 &&
               d >= 1 && d <= 31) {
        day.tm_year = y - 1900;
        day.tm_mon = mo - 1;
        day.tm_mday = d;
        p += n;
    } else {
        snprintf(err, errn, "expected a date (YYYY-MM-DD, today or tomorrow) first");
        return -1;
    }
    while (*p == ' ')
        p++;
    int h1 = 8, m1 = 0, h2 = 17, m2 = 0, used = 0;
    if (*p) {
        if (hhmm(p, &h1, &m1, &used) != 0) {
            snprintf(err, errn, "expected a time HH:MM after the date");
            return -1;
        }
        p += used;
        while (*p == ' ')
            p++;
        if (*p == '-') {
            p++;
            while (*p == ' ')
                p++;
            if (hhmm(p, &h2, &m2, &used) != 0) {
                snprintf(err, errn, "expected an end time HH:MM after '-'");
                return -1;
            }
            p += used;
        } else {
            h2 = h1 + 2, m2 = m1;
        }
        while (*p == ' ')
            p++;
        if (*p) {
            snprintf(err, errn, "unexpected \"%.20s\" after the window", p);
            return -1;
        }
    }
    *start_ms = local_ms(&day, h1, m1);
    *end_ms = local_ms(&day, h2, m2); /* 23:00 + 2 h normalises into the next day */
    if (*end_ms <= *start_ms) {
        snprintf(err, errn, "the window ends before it starts");
        return -1;
    }
    return 0;
}

int64_t snooze_parse(const char *s, int64_t now)
{
    if (!*s || strcmp(s, "-") == 0)
        return 0;
    if (strcmp(s, "reply") == 0)
        return INT64_MAX; /* STORE_SNOOZE_UNTIL_REPLY */
    char *end;
    long v = strtol(s, &end, 10);
    if (v > 0 && end != s) {
        if (strcmp(end, "m") == 0)
            return now + v * 60000LL;
        if (strcmp(end, "h") == 0)
            return now + v * 3600000LL;
        if (strcmp(end, "d") == 0)
            return now + v * 86400000LL;
    }
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    if (strcmp(s, "tomorrow") == 0) {
        tm.tm_mday++;
        tm.tm_hour = 9;
        tm.tm_min = tm.tm_sec = 0;
        return (int64_t)mktime(&tm) * 1000;
    }
    struct tm when = {0};
    when.tm_isdst = -1;
    const char *rest = strptime(s, "%Y-%m-%d", &when);
    if (rest && (*rest == '\0' || (strptime(rest, " %H:%M", &when) && 1))) {
        if (*rest == '\0')
            when.tm_hour = 9;
        return (int64_t)mktime(&when) * 1000;
    }
    return -1;
}

int64_t duration_parse(const char *s)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    long long v = strtoll(s, &end, 10);
    if (v <= 0 || v > 100000 || end[0] == '\0' || end[1] != '\0')
        return -1;
    switch (*end) {
    case 's':
        return v * 1000LL;
    case 'm':
        return v * 60000LL;
    case 'h':
        return v * 3600000LL;
    case 'd':
        return v * 86400000LL;
    default:
        return -1;
    }
}
