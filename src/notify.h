/* notify.h - a wake-up channel between threads: a non-blocking pipe.
 *
 * Writers (workers, signal handlers) call notify_poke(), which writes one byte and never
 * blocks (a full pipe already means "wake up"). The reader polls notify_fd() and calls
 * notify_drain() when it becomes readable. Async-signal-safe: notify_poke only calls
 * write(2).
 */
#ifndef PORTER_NOTIFY_H
#define PORTER_NOTIFY_H

#include "util.h"

struct notify {
    int fds[2]; /* read end, write end */
};

int notify_init(struct notify *n, struct err *e);
void notify_fini(struct notify *n);
void notify_poke(const struct notify *n);
int notify_fd(const struct notify *n);
/* Read everything pending; returns the number of pokes drained. */
int notify_drain(const struct notify *n);
/* Wait up to timeout_ms for a poke (drains it). 1 woken, 0 timed out. */
int notify_wait(const struct notify *n, int timeout_ms);

#endif
