/* app.h - the full-screen terminal UI. The only module (with the rest of ui/) that includes
 * <curses.h>. It reads the store and never calls the network. */
#ifndef PORTER_APP_H
#define PORTER_APP_H

#include "config.h"
#include "store.h"

/* Run the UI on the controlling terminal until the user quits. wake_fd (or -1) becomes
 * readable when a worker committed something: the UI drains it and re-reads what is
 * visible. Returns 0, or -1 with *e set (e.g. not a terminal). The terminal is restored
 * before returning, also on error. */
int app_run(const struct config *c, struct store *s, int wake_fd, struct err *e);

#endif
