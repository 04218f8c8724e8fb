/* cli.h - the scripting commands. They go through exactly the same store functions (and so
 * the same outbox) as the interface: `porter send` queues what the composer queues. */
#ifndef PORTER_CLI_H
#define PORTER_CLI_H

#include "config.h"
#include "store.h"

int cli_sync(struct config *c, struct store *s, int argc, char **argv);
int cli_status(struct config *c, struct store *s, int argc, char **argv);
int cli_threads(struct config *c, struct store *s, int argc, char **argv);
int cli_messages(struct config *c, struct store *s, int argc, char **argv);
int cli_send(struct config *c, struct store *s, int argc, char **argv);
int cli_note(struct config *c, struct store *s, int argc, char **argv);
int cli_wo(struct config *c, struct store *s, int argc, char **argv);
/* porter rules: list, check (exit 1 on any bad rule), log, test EVENT.json, undo FIRING. */
int cli_rules(struct config *c, struct store *s, int argc, char **argv);
/* Check configuration, database, listener and every account; exit 1 on any failure. */
int cli_doctor(struct config *c, struct store *s, int argc, char **argv);

#endif
