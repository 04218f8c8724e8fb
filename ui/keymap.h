/* keymap.h - named commands and the keys bound to them.
 *
 * Every action of the UI is a named command ("reply", "filter-unread", ...). A key is
 * bound to a command per view; the defaults are below in keymap.c and porter.conf's [keys]
 * section rebinds them:
 *
 *   [keys]
 *   r = reply               ; every view where "reply" exists
 *   inbox.C-r = reply       ; one view: inbox. board. health.
 *   x = none                ; unbind
 *
 * Key names: a printable character ("r", "R", "?"), C-x (control), and <Enter> <Esc>
 * <Tab> <BTab> <Space> <Backspace> <Up> <Down> <Left> <Right> <PageUp> <PageDown> <Home>
 * <End> <Delete> <F1>..<F12>. A bad binding is reported as FILE:LINE with what was
 * expected, and the rest still loads: the UI starts with the defaults for that key.
 *
 * The help screen (?) and the command line's completion are generated from this table, so
 * they never disagree with what the keys do.
 */
#ifndef PORTER_KEYMAP_H
#define PORTER_KEYMAP_H

#include <stddef.h>

#include "config.h"

enum view { VIEW_INBOX = 1, VIEW_BOARD = 2, VIEW_HEALTH = 4, VIEW_ANY = 7 };

struct command {
    const char *name;
    unsigned views;   /* where it applies (VIEW_* bits) */
    const char *args; /* argument hint for the command line, or NULL */
    const char *help;
};

/* The command table, NULL-name terminated. */
extern const struct command commands[];

const struct command *command_find(const char *name);

/* Names of commands of `view` that start with `prefix`, in table order. Returns how many
 * matched (may exceed max; only max are stored). */
size_t command_complete(const char *prefix, unsigned view, const char **out, size_t max);

struct keymap;

struct keymap *keymap_new(void); /* the default bindings */
void keymap_free(struct keymap **km);

/* Apply porter.conf [keys]. Each bad entry adds one "FILE:LINE: ..." message to *warn
 * (a malloc'd array of malloc'd strings, *nwarn entries); good ones still apply. */
void keymap_load(struct keymap *km, const struct config *c, char ***warn, size_t *nwarn);

/* Bind `key` in `views` to `command` (NULL: unbind). Returns 0, or -1 when the command is
 * unknown or does not exist in any of those views. */
int keymap_bind(struct keymap *km, unsigned views, int key, const char *command);

/* The command bound to key in view, or NULL. */
const char *keymap_lookup(const struct keymap *km, unsigned view, int key);

/* "r", "C-l", "<PageDown>": -1 if not a key name. */
int keymap_parse_key(const char *name);
void keymap_key_name(int key, char *out, size_t n);

/* The keys bound to `command` in `view`, as "r, <Enter>" (empty when none). */
void keymap_keys_of(const struct keymap *km, unsigned view, const char *command, char *out,
                    size_t n);

#endif
