/* config.h - porter's configuration: paths, accounts.conf and porter.conf.
 *
 * Paths follow the XDG base directory spec:
 *   $XDG_CONFIG_HOME/porter/accounts.conf   (default ~/.config/porter/accounts.conf)
 *   $XDG_CONFIG_HOME/porter/porter.conf
 *   $XDG_DATA_HOME/porter/porter.db         (default ~/.local/share/porter/porter.db)
 *   $XDG_STATE_HOME/porter/porter.log       (default ~/.local/state/porter/porter.log)
 * `--config DIR` replaces the config directory; `--db FILE` the database path.
 *
 * accounts.conf has one INI section per PMS account, in the manner of aerc's accounts.conf:
 *
 *   [hostaway-main]
 *   adapter        = hostaway            ; hostaway | guesty | buildium (required)
 *   base_url       = https://api.hostaway.com/v1
 *   client_id      = 10450
 *   secret_cmd     = pass show pms/hostaway   ; or: secret = ...
 *   webhook_secret = user:password       ; dialect-specific (Basic auth, whsec_..., HMAC key)
 *   poll_interval  = 60                  ; seconds, 5..86400
 *   rate_limit     = 2                   ; optional: requests per second (overrides dialect)
 *   rate_burst     = 20                  ; optional: requests in the window (see porter.conf(5))
 *
 * accounts.conf holds secrets: it must be owned by the user and not readable by group or
 * others; config_load() refuses it otherwise, before any network I/O.
 *
 * porter.conf holds everything else; its sections [general] and [webhook] are checked
 * here, and every entry of every section is kept (with file:line) for the modules that
 * own other sections ([keys], [ownership], [ui], [rules], ...).
 */
#ifndef PORTER_CONFIG_H
#define PORTER_CONFIG_H

#include "util.h"

struct account_conf {
    char *name;       /* owned: section name, unique */
    char *adapter;    /* owned: "hostaway", "guesty" or "buildium" */
    char *base_url;   /* owned: NULL means the dialect's production URL */
    char *client_id;  /* owned: may be NULL */
    char *secret;     /* owned: resolved client secret (from secret or secret_cmd); may be NULL */
    char *secret_cmd; /* owned: the command, kept for display; may be NULL */
    char *webhook_secret; /* owned: may be NULL (webhooks then unauthenticated: warned) */
    int poll_interval;    /* seconds; default 60 */
    double rate_limit;    /* requests per second; 0 = dialect default */
    int rate_burst;       /* bucket size; 0 = dialect default */
    int line;             /* line of the [section] header in accounts.conf */
};

/* One entry of porter.conf, kept for the module that owns its section. */
struct conf_entry {
    char *section; /* owned */
    char *key;     /* owned */
    char *value;   /* owned */
    int line;
};

struct config {
    char *config_dir;    /* owned */
    char *accounts_path; /* owned */
    char *porter_path;   /* owned: porter.conf */
    char *db_path;       /* owned */
    char *log_path;      /* owned */

    struct account_conf *accounts; /* owned array */
    size_t naccounts;

    struct conf_entry *entries; /* owned array: every porter.conf entry in file order */
    size_t nentries;

    /* [general] */
    char *log_level; /* owned: debug|info|warn|error; default info */
    /* [webhook] */
    char *listen;        /* owned: host:port; default 127.0.0.1:8787 */
    size_t body_limit;   /* bytes; default 1 MiB */
    int max_connections; /* default 64 */
    int conn_timeout;    /* seconds; default 10 */
};

/* Fill the paths of a new config from the environment (XDG_*, HOME) and the overrides
 * (either may be NULL). Reads no file. Returns NULL with *e set if HOME is unknown. */
struct config *config_new(const char *config_dir, const char *db_path, struct err *e);

/* Read accounts.conf and porter.conf. A missing file is not an error (no accounts, all
 * defaults). A bad line fails with e->msg "FILE:LINE: what was expected". accounts.conf
 * with a group/other-accessible mode or another owner fails with a message naming the
 * file and the `chmod 600 FILE` that fixes it. secret_cmd is run (sh -c) and its first
 * line of output becomes the secret; a failing command is an error naming the account. */
int config_load(struct config *c, struct err *e);

/* Look an account up by section name; NULL if absent. */
const struct account_conf *config_account(const struct config *c, const char *name);

/* The value of [section] key in porter.conf, or NULL. */
const char *config_get(const struct config *c, const char *section, const char *key);

void config_free(struct config **c);

#endif
