/* log.h - levelled, structured log file.
 *
 * One process-wide log, opened once by main. Lines are
 *   2026-11-22T17:13:05.123Z INFO  [module] message
 * Thread-safe (one write(2) per line, O_APPEND). Before log_open, or when the log cannot be
 * opened, lines go to stderr unless log_quiet_stderr(1) was called (the TUI does this while
 * curses owns the terminal: nothing is ever printed to the terminal then).
 * Secrets must never be passed in; log_redact() helps callers mask them.
 */
#ifndef PORTER_LOG_H
#define PORTER_LOG_H

#include "util.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Open (append, create 0600) the log file at path, creating its directory. */
int log_open(const char *path, enum log_level min, struct err *e);
void log_close(void);

/* Parse "debug|info|warn|error"; returns -1 for anything else. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level l);
void log_set_level(enum log_level min);

/* 1: never write to stderr (curses is active). 0: stderr fallback allowed. */
void log_quiet_stderr(int quiet);

void log_msg(enum log_level l, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(mod, ...) log_msg(LOG_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_msg(LOG_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LOG_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_msg(LOG_ERROR, mod, __VA_ARGS__)

/* Copy s into out (size n) with every value that looks secret masked: the values of
 * query/form/JSON keys named like token, secret, password, authorization, client_secret,
 * access_token, and Authorization/x-buildium-client-secret header values become "***". */
void log_redact(const char *s, char *out, size_t n);

#endif
