/* rules.h - automations: rules that act on what the sync brings in (docs/automations.md).
 *
 * A rule is a trigger (an event kind), conditions and actions:
 *
 *   [rule emergency]
 *   on     = message
 *   words  = leak*, flood*, fire, smoke, gas, no heat, no water, lockout, locked out
 *   action = work_order emergency trade=auto
 *   action = dispatch
 *   action = reply "We have logged this as an emergency; {vendor|our maintenance team} ..."
 *
 * Rules come from a built-in default set (switched off with [rules] defaults = off, or one
 * by one with `enabled = no`), from [rule NAME] sections of porter.conf and from rules.conf
 * beside it. A bad rule is reported as file:line with what was expected and left out; the
 * others still load and porter still starts.
 *
 * The sync leader's rules worker calls rules_run(): the store's triggers have journaled
 * each change (rule_event); the new events are handled in order, up to 64 in one transaction:
 * for each, every matching rule's actions go through the same store calls as a person's (actor
 * "rule:NAME"), a rule_fire row per (rule, event) makes a second firing impossible, and the event
 * is marked done. A rule never acts on a change it made itself, directly or through other rules,
 * and a chain of rule-made changes stops at RULES_MAX_DEPTH.
 */
#ifndef PORTER_RULES_H
#define PORTER_RULES_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "store.h"
#include "util.h"

#define RULES_MAX_DEPTH 4

struct rules;

/* Load the rules of c (c may be NULL: the defaults only). Never NULL; what was wrong is in
 * rules_error(). The rules keep no pointer into c. */
struct rules *rules_load(const struct config *c);
void rules_free(struct rules **r);

size_t rules_count(const struct rules *r);
const char *rules_name(const struct rules *r, size_t i);
int rules_enabled(const struct rules *r, size_t i);
/* "file:line" where rule i is defined ("built-in" for the defaults). */
const char *rules_where(const struct rules *r, size_t i, char *buf, size_t n);
/* One line: "on message if words ...: work_order emergency; dispatch; reply ...". */
void rules_describe(const struct rules *r, size_t i, char *out, size_t n);
size_t rules_nerrors(const struct rules *r);
const char *rules_error(const struct rules *r, size_t i); /* "file:line: what was expected" */

/* Journal the time-based events due now, then act on every new event, up to 64 events in one
 * transaction. Returns the number of events handled, or -1 (the database failed; nothing of
 * the failed batch was kept, its events are handled again next time). *fired (optional) gets the
 * number of rules that fired. */
int rules_run(struct rules *r, struct store *s, int64_t now, int *fired, struct err *e);

/* Run the notify commands recorded by committed firings (sh -c, the event in the
 * environment, 10 s at most each). Returns how many ran, or -1. */
int rules_commands(struct rules *r, struct store *s, struct err *e);

/* porter rules test: the event described by the JSON text (see docs/automations.md) goes
 * through every rule inside a transaction that is rolled back; what would fire and what it
 * would do is printed to out. 0, or -1 with *e (bad JSON, unknown account or thread). */
int rules_test(struct rules *r, struct store *s, const char *json, FILE *out, struct err *e);

/* Undo firing `fire` as person `who`: each action reversed where it still can be (a reply
 * no request has carried is withdrawn, a work order cancelled or withdrawn, a tag removed,
 * ...), in one transaction. *msg gets a one-line account of what was and was not undone.
 * 0, or -1 with *e (no such firing, already undone, the database). */
int rules_undo(struct store *s, int64_t fire, const char *who, char *msg, size_t n, struct err *e);

#endif
