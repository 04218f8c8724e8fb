/* log.c - see log.h */
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = -1;
static enum log_level log_min = LOG_INFO;
static int log_quiet;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_open(const char *path, enum log_level min, struct err *e)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir_p(dir, 0700, e) != 0) {
            free(dir);
            return -1;
        }
    }
    free(dir);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(e, errno, FINAL, "cannot open log file %s: %s", path, strerror(errno));
    if (log_fd >= 0)
        close(log_fd);
    log_fd = fd;
    log_min = min;
    return 0;
}

void log_close(void)
{
    if (log_fd >= 0)
        close(log_fd);
    log_fd = -1;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < ARRAY_LEN(level_names); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *log_level_name(enum log_level l)
{
    return (unsigned)l < ARRAY_LEN(level_names) ? level_names[l] : "?";
}

void log_set_level(enum log_level min)
{
    log_min = min;
}

void log_quiet_stderr(int quiet)
{
    log_quiet = quiet;
}

void log_msg(enum log_level l, const char *module, const char *fmt, ...)
{
    if (l < log_min)
        return;
    if (log_fd < 0 && log_quiet)
        return;
    char line[4096];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, log_level_name(l), module ? module : "-");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    /* one record per line: fold embedded newlines and control bytes */
    for (size_t i = (size_t)n; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f)
            line[i] = ' ';
    }
    line[len++] = '\n';
    int fd = log_fd >= 0 ? log_fd : STDERR_FILENO;
    ssize_t w = write(fd, line, len);
    (void)w;
}

static int key_is_secret(const char *k, size_t n)
{
    static const char *const names[] = {"token",
                                        "secret",
                                        "password",
                                        "authorization",
                                        "client_secret",
                                        "access_token",
                                        "x-buildium-client-secret",
                                        "passwd",
                                        "apikey",
                                        "api_key"};
    char low[64];
    if (n == 0 || n >= sizeof(low))
        return 0;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)k[i]);
    low[n] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strstr(low, names[i]))
            return 1;
    return 0;
}

void log_redact(const char *s, char *out, size_t n)
{
    size_t o = 0;
    if (n == 0)
        return;
    while (*s && o + 1 < n) {
        /* a URL's user:password@ (a base_url may carry one) */
        if (strncmp(s, "://", 3) == 0) {
            const char *end = s + 3 + strcspn(s + 3, "/?#\" \t\r\n");
            const char *at = NULL;
            for (const char *c = s + 3; c < end; c++)
                if (*c == '@')
                    at = c;
            if (at) {
                for (const char *m = "://***@"; *m && o + 1 < n; m++)
                    out[o++] = *m;
                s = at + 1;
                continue;
            }
        }
        /* find a key: a run of [A-Za-z0-9_-] followed by = or ": or : */
        const char *k = s;
        while (*s && (isalnum((unsigned char)*s) || *s == '_' || *s == '-'))
            s++;
        size_t klen = (size_t)(s - k);
        for (size_t i = 0; i < klen && o + 1 < n; i++)
            out[o++] = k[i];
        if (klen == 0) {
            out[o++] = *s++;
            continue;
        }
        if (strncmp(s, "://", 3) == 0) /* a scheme, not a key */
            continue;
        const char *sep = s;
        if (*s == '"')
            s++;
        while (*s == ' ')
            s++;
        if (*s != '=' && *s != ':') {
            s = sep;
            continue;
        }
        s++;
        while (*s == ' ')
            s++;
        int quoted = *s == '"';
        if (quoted)
            s++;
        for (const char *c = sep; c < s && o + 1 < n; c++)
            out[o++] = *c;
        if (!key_is_secret(k, klen))
            continue;
        /* skip the value: up to the closing quote, or to & , ; whitespace */
        if (quoted) {
            while (*s && *s != '"')
                s++;
        } else {
            /* "Authorization: Bearer xyz" masks both words */
            while (*s && *s != '&' && *s != ',' && *s != ';' && *s != '\n' &&
                   !(*s == ' ' && strncmp(k, "Authorization", klen) != 0 &&
                     strncmp(k, "authorization", klen) != 0))
                s++;
        }
        for (const char *m = "***"; *m && o + 1 < n; m++)
            out[o++] = *m;
    }
    out[o] = '\0';
}
