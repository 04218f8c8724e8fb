/* ownership.h - which system owns each synced field.
 *
 * The defaults are data/ownership.conf, compiled in; porter.conf's [ownership] section
 * overrides any line ("work_order.status = shared local_wins"). ownership_load writes
 * the result to the field_owner table, where the merge and the health view read it. */
#ifndef PORTER_OWNERSHIP_H
#define PORTER_OWNERSHIP_H

#include "config.h"
#include "store.h"

/* Parse one "entity.field = owner [rule]" value; 0 or -1 with *why. */
int ownership_parse(const char *value, char owner[8], char rule[12], const char **why);

/* Load defaults and overrides into the store. A bad override fails with
 * "porter.conf:LINE: ..." and nothing is changed. */
int ownership_load(struct store *s, const struct config *c, struct err *e);

#endif
