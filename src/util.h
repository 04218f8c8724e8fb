/* util.h - allocation wrappers, error reporting and small helpers shared by every module.
 *
 * Allocation failure is not an error callers handle: the x* wrappers abort with a message.
 * Recoverable failures are reported through struct err: functions return 0 on success or a
 * negative value, and fill the err (when non-NULL) with a code, a retry class and a message.
 */
#ifndef PORTER_UTIL_H
#define PORTER_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* How a caller should react to a failure. */
enum retry_class {
    RETRY_NONE = 0, /* no error */
    RETRY_NOW,      /* transient: try again at once (e.g. token refreshed) */
    RETRY_LATER,    /* transient: back off and try again (timeout, 5xx, 429, busy) */
    FINAL,          /* permanent: retrying will not help (validation, bad config) */
};

#define ERR_MSG_MAX 512

struct err {
    int code;               /* subsystem-specific code, e.g. an HTTP status or SQLite code */
    enum retry_class retry; /* what the caller should do */
    char msg[ERR_MSG_MAX];  /* human-readable, one line, no secrets */
};

/* Fill *e (if non-NULL) and return -1. The message is formatted like printf. */
int err_set(struct err *e, int code, enum retry_class retry, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reset *e to "no error". NULL is allowed. */
void err_clear(struct err *e);

/* Name of a retry class: "none", "retry-now", "retry-later", "final". */
const char *retry_class_name(enum retry_class r);

/* Allocation wrappers: never return NULL; abort the process on exhaustion. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s); /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Free *p and set it to NULL. */
void xfree(char **p);

/* Wall-clock time in milliseconds since the Unix epoch. */
int64_t now_ms(void);

/* Monotonic time in milliseconds (for intervals and timeouts). */
int64_t mono_ms(void);

/* Copy src into dst of size n, always NUL-terminating; returns strlen(src). */
size_t strlcpy_p(char *dst, const char *src, size_t n);

/* Create every missing directory of path (like mkdir -p) with the given mode. */
int mkdir_p(const char *path, unsigned mode, struct err *e);

/* Lowercase hex of n bytes of random data from /dev/urandom into out (2n+1 bytes). */
int random_hex(char *out, size_t nbytes, struct err *e);

/* A growable byte buffer, always NUL-terminated. */
struct buf {
    char *data; /* owned */
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Detach the data (caller owns it); b is reset to empty. */
char *buf_steal(struct buf *b);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The whole of a file ("-": stdin), at most max bytes, NUL-terminated; NULL with errno
 * set when it cannot be opened. */
char *file_slurp(const char *path, size_t max);

#endif
