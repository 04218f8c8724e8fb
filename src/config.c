/* config.c - see config.h
 *
 * Loading, in this order, so that nothing runs before everything has been checked:
 *   1. accounts.conf: open, fstat (owner, mode 600), parse, validate;
 *   2. porter.conf: parse, validate [general] and [webhook], keep every entry;
 *   3. run each secret_cmd.
 * Any failure resets the config to its defaults (no half-loaded accounts) and returns -1.
 *
 * libinih tokenizes; the lines reach it through conf_reader(), which numbers them, strips
 * their indentation (so an indented key is never taken for a continuation line) and trailing
 * blanks (a CR of CRLF), refuses
 * lines longer than inih's buffer instead of letting inih split them, and sees each
 * [section] header first: duplicate and empty sections, and an account without an adapter,
 * are caught there because inih only calls the handler for key = value lines. The reader
 * also classifies each line the way inih does, so a syntax error is reported in reading
 * order with a precise message; inih's own return value is a cross-check. After the first
 * error the reader reports end of file, so the first error wins.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

#define DEFAULT_LOG_LEVEL       "info"
#define DEFAULT_LISTEN          "127.0.0.1:8787"
#define DEFAULT_BODY_LIMIT      ((size_t)1024 * 1024)
#define DEFAULT_MAX_CONNECTIONS 64
#define DEFAULT_CONN_TIMEOUT    10
#define DEFAULT_POLL_INTERVAL   60

#define SECTION_NAME_MAX  49    /* inih keeps 49 bytes of a section name */
#define SECRET_OUTPUT_MAX 65536 /* longest first line accepted from a secret_cmd */
#define BODY_LIMIT_MIN    ((size_t)1024)
#define BODY_LIMIT_MAX    ((size_t)64 * 1024 * 1024)

/* Keys of one account section, in the order the error messages list them. */
#define ACCOUNT_KEYS(X)                                                                            \
    X(ADAPTER, adapter)                                                                            \
    X(BASE_URL, base_url)                                                                          \
    X(CLIENT_ID, client_id)                                                                        \
    X(SECRET, secret)                                                                              \
    X(SECRET_CMD, secret_cmd)                                                                      \
    X(WEBHOOK_SECRET, webhook_secret)                                                              \
    X(POLL_INTERVAL, poll_interval)                                                                \
    X(RATE_LIMIT, rate_limit)                                                                      \
    X(RATE_BURST, rate_burst)

#define GENERAL_KEYS(X) X(LOG_LEVEL, log_level)

#define WEBHOOK_KEYS(X)                                                                            \
    X(LISTEN, listen)                                                                              \
    X(BODY_LIMIT, body_limit)                                                                      \
    X(MAX_CONNECTIONS, max_connections)                                                            \
    X(CONN_TIMEOUT, conn_timeout)

#define KEY_ENUM(id, name) id,
#define KEY_NAME(id, name) #name,

enum account_key { ACCOUNT_KEYS(KEY_ENUM) ACCOUNT_KEY_COUNT };
enum general_key { GENERAL_KEYS(KEY_ENUM) GENERAL_KEY_COUNT };
enum webhook_key { WEBHOOK_KEYS(KEY_ENUM) WEBHOOK_KEY_COUNT };

static const char *const account_key_names[] = {ACCOUNT_KEYS(KEY_NAME)};
static const char *const general_key_names[] = {GENERAL_KEYS(KEY_NAME)};
static const char *const webhook_key_names[] = {WEBHOOK_KEYS(KEY_NAME)};

static const char *const adapter_names[] = {"hostaway", "guesty", "buildium"};

enum conf_kind { KIND_ACCOUNTS, KIND_PORTER };

/* Which porter.conf section the parser is in. */
enum porter_section { PSEC_GENERAL, PSEC_WEBHOOK, PSEC_OTHER };

/* State of one file's parse; lives on config_load's stack. */
struct parse {
    struct config *c; /* borrowed */
    enum conf_kind kind;
    const char *path; /* borrowed */
    FILE *fp;         /* borrowed */
    char *line;       /* owned: getline buffer (wiped: it held secrets) */
    size_t line_cap;
    int lineno; /* line last handed to inih */

    int failed;     /* an error is recorded in err; the reader then reports EOF */
    int error_line; /* line of that error (0 for I/O errors) */
    struct err err;

    int in_section; /* a [section] header has been seen */
    /* accounts.conf */
    int key_line[ACCOUNT_KEY_COUNT]; /* where each key of the current account was set */
    size_t accounts_cap;
    int **cmd_lines; /* borrowed: per account, the line of secret_cmd (parallel array) */
    /* porter.conf */
    char *section; /* owned: current section name */
    enum porter_section psec;
    int general_line[GENERAL_KEY_COUNT]; /* duplicates are errors across repeated headers */
    int webhook_line[WEBHOOK_KEY_COUNT];
    size_t entries_cap;
};

/* ---- small helpers ---- */

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Overwrite memory that held a secret, in a way the compiler may not drop. */
static void wipe(char *s, size_t n)
{
    volatile char *v = s;
    while (n--)
        *v++ = '\0';
}

static void free_secret(char **s)
{
    if (*s) {
        wipe(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

/* dir + "/" + rest, without doubling the slash when dir ends with one. */
static char *path_join(const char *dir, const char *rest)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 1 && dir[0] == '/')
        n = 0;
    return xasprintf("%.*s/%s", (int)n, dir, rest);
}

/* A copy of path without trailing slashes ("/" stays "/"). */
static char *path_trim(const char *path)
{
    char *p = xstrdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    return p;
}

/* An XDG base directory variable: NULL when unset, empty or relative (the spec says to
 * ignore relative values). */
static const char *xdg_base(const char *var)
{
    const char *v = getenv(var);
    return v && v[0] == '/' ? v : NULL;
}

/* Decimal integer in [min, max]: digits only (no sign, no spaces, no suffix). */
static int parse_int(const char *s, long min, long max, long *out)
{
    long v = 0;
    if (!is_digit(*s))
        return -1;
    for (; is_digit(*s); s++) {
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
    }
    if (*s || v < min)
        return -1;
    *out = v;
    return 0;
}

/* Non-negative decimal number ("2", "0.5") in [0, max], independent of LC_NUMERIC. */
static int parse_decimal(const char *s, double max, double *out)
{
    double v = 0;
    if (!is_digit(*s))
        return -1;
    for (; is_digit(*s); s++) {
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
    }
    if (*s == '.') {
        double scale = 0.1;
        if (!is_digit(*++s))
            return -1;
        for (; is_digit(*s); s++, scale /= 10)
            v += (*s - '0') * scale;
    }
    if (*s || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Byte count with an optional K (KiB) or M (MiB) suffix, in [min, max]. */
static int parse_size(const char *s, size_t min, size_t max, size_t *out)
{
    size_t v = 0;
    size_t unit = 1;
    if (!is_digit(*s))
        return -1;
    for (; is_digit(*s); s++) {
        v = v * 10 + (size_t)(*s - '0');
        if (v > max)
            return -1;
    }
    if (*s == 'K' || *s == 'k')
        unit = 1024;
    else if (*s == 'M' || *s == 'm')
        unit = (size_t)1024 * 1024;
    if (unit > 1)
        s++;
    if (*s || v > max / unit || v * unit < min)
        return -1;
    *out = v * unit;
    return 0;
}

/* host:port or [v6addr]:port, port 1..65535, host not empty and without spaces. */
static int valid_listen(const char *s)
{
    const char *port;
    long p;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1 || close[1] != ':')
            return 0;
        port = close + 2;
    } else {
        const char *colon = strchr(s, ':');
        if (!colon || colon == s || strchr(colon + 1, ':'))
            return 0;
        port = colon + 1;
    }
    for (const char *q = s; q < port; q++) {
        if (is_space(*q))
            return 0;
    }
    return parse_int(port, 1, 65535, &p) == 0;
}

static int valid_account_name(const char *s)
{
    for (; *s; s++) {
        if (!is_digit(*s) && !(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && *s != '-' &&
            *s != '_' && *s != '.')
            return 0;
    }
    return 1;
}

static int key_index(const char *const *names, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], key) == 0)
            return (int)i;
    }
    return -1;
}

/* "a, b, c" into out. */
static void key_list(const char *const *names, size_t n, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? ", " : "", names[i]);
}

/* ---- errors ---- */

/* Record "PATH:LINE: message" unless an earlier error is already recorded. */
static void perr(struct parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void perr(struct parse *p, int line, const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;
    if (p->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    err_set(&p->err, EINVAL, FINAL, "%s:%d: %s", p->path, line, what);
    p->failed = 1;
    p->error_line = line;
}

/* ---- the config object ---- */

static void account_clear(struct account_conf *a)
{
    free(a->name);
    free(a->adapter);
    free(a->base_url);
    free(a->client_id);
    free_secret(&a->secret);
    free(a->secret_cmd);
    free_secret(&a->webhook_secret);
}

/* Drop everything config_load filled in and restore the defaults. */
static void config_reset(struct config *c)
{
    for (size_t i = 0; i < c->naccounts; i++)
        account_clear(&c->accounts[i]);
    free(c->accounts);
    c->accounts = NULL;
    c->naccounts = 0;
    for (size_t i = 0; i < c->nentries; i++) {
        free(c->entries[i].section);
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    free(c->entries);
    c->entries = NULL;
    c->nentries = 0;
    free(c->log_level);
    c->log_level = xstrdup(DEFAULT_LOG_LEVEL);
    free(c->listen);
    c->listen = xstrdup(DEFAULT_LISTEN);
    c->body_limit = DEFAULT_BODY_LIMIT;
    c->max_connections = DEFAULT_MAX_CONNECTIONS;
    c->conn_timeout = DEFAULT_CONN_TIMEOUT;
}

struct config *config_new(const char *config_dir, const char *db_path, struct err *e)
{
    const char *home = getenv("HOME");
    const char *cfg_base = xdg_base("XDG_CONFIG_HOME");
    const char *data_base = xdg_base("XDG_DATA_HOME");
    const char *state_base = xdg_base("XDG_STATE_HOME");
    int have_cfg = config_dir && *config_dir;
    int have_db = db_path && *db_path;

    if (!home || home[0] != '/')
        home = NULL;
    if (!home && ((!have_cfg && !cfg_base) || (!have_db && !data_base) || !state_base)) {
        err_set(e, ENOENT, FINAL,
                "cannot locate porter's files: HOME is unset, empty or not an absolute path "
                "(set HOME, or XDG_CONFIG_HOME, XDG_DATA_HOME and XDG_STATE_HOME)");
        return NULL;
    }

    struct config *c = xcalloc(1, sizeof(*c));
    if (have_cfg)
        c->config_dir = path_trim(config_dir);
    else if (cfg_base)
        c->config_dir = path_join(cfg_base, "porter");
    else
        c->config_dir = path_join(home, ".config/porter");
    c->accounts_path = path_join(c->config_dir, "accounts.conf");
    c->porter_path = path_join(c->config_dir, "porter.conf");

    if (have_db)
        c->db_path = xstrdup(db_path);
    else if (data_base)
        c->db_path = path_join(data_base, "porter/porter.db");
    else
        c->db_path = path_join(home, ".local/share/porter/porter.db");

    if (state_base)
        c->log_path = path_join(state_base, "porter/porter.log");
    else
        c->log_path = path_join(home, ".local/state/porter/porter.log");

    config_reset(c);
    return c;
}

void config_free(struct config **cp)
{
    if (!cp || !*cp)
        return;
    struct config *c = *cp;
    config_reset(c);
    free(c->log_level);
    free(c->listen);
    free(c->config_dir);
    free(c->accounts_path);
    free(c->porter_path);
    free(c->db_path);
    free(c->log_path);
    free(c);
    *cp = NULL;
}

const struct account_conf *config_account(const struct config *c, const char *name)
{
    if (!c || !name)
        return NULL;
    for (size_t i = 0; i < c->naccounts; i++) {
        if (strcmp(c->accounts[i].name, name) == 0)
            return &c->accounts[i];
    }
    return NULL;
}

const char *config_get(const struct config *c, const char *section, const char *key)
{
    if (!c || !section || !key)
        return NULL;
    /* Outside [general] and [webhook] a key may repeat; the last one wins, as in most INI
     * readers. */
    for (size_t i = c->nentries; i-- > 0;) {
        const struct conf_entry *en = &c->entries[i];
        if (strcmp(en->section, section) == 0 && strcmp(en->key, key) == 0)
            return en->value;
    }
    return NULL;
}

/* ---- accounts.conf ---- */

static struct account_conf *cur_account(struct parse *p)
{
    return &p->c->accounts[p->c->naccounts - 1];
}

/* The current account section ends (next header or end of file). */
static void account_end(struct parse *p)
{
    if (!p->in_section)
        return;
    const struct account_conf *a = cur_account(p);
    if (!a->adapter)
        perr(p, a->line,
             "account [%s] has no adapter (expected adapter = hostaway, guesty or "
             "buildium)",
             a->name);
}

static void account_begin(struct parse *p, const char *name)
{
    struct config *c = p->c;
    account_end(p);
    if (p->failed)
        return;
    if (!valid_account_name(name)) {
        perr(p, p->lineno,
             "account name [%.60s] may only contain letters, digits, '-', '_' and '.'", name);
        return;
    }
    for (size_t i = 0; i < c->naccounts; i++) {
        if (strcmp(c->accounts[i].name, name) == 0) {
            perr(p, p->lineno, "duplicate account [%s] (first defined on line %d)", name,
                 c->accounts[i].line);
            return;
        }
    }
    if (c->naccounts == p->accounts_cap) {
        p->accounts_cap = p->accounts_cap ? 2 * p->accounts_cap : 4;
        c->accounts = xrealloc(c->accounts, p->accounts_cap * sizeof(*c->accounts));
        *p->cmd_lines = xrealloc(*p->cmd_lines, p->accounts_cap * sizeof(**p->cmd_lines));
    }
    struct account_conf *a = &c->accounts[c->naccounts];
    memset(a, 0, sizeof(*a));
    a->name = xstrdup(name);
    a->poll_interval = DEFAULT_POLL_INTERVAL;
    a->line = p->lineno;
    (*p->cmd_lines)[c->naccounts] = 0;
    c->naccounts++;
    memset(p->key_line, 0, sizeof(p->key_line));
    p->in_section = 1;
}

/* Set a string field, refusing an empty value. The value is never echoed: it may be secret. */
static void set_string(struct parse *p, char **field, const char *key, const char *value)
{
    if (!*value) {
        perr(p, p->lineno, "%s must not be empty", key);
        return;
    }
    *field = xstrdup(value);
}

static void account_key(struct parse *p, const char *key, const char *value)
{
    struct account_conf *a = cur_account(p);
    int k = key_index(account_key_names, ARRAY_LEN(account_key_names), key);
    long n;

    if (k < 0) {
        char expected[256];
        key_list(account_key_names, ARRAY_LEN(account_key_names), expected, sizeof(expected));
        perr(p, p->lineno, "unknown key '%.60s' in account [%s] (expected %s)", key, a->name,
             expected);
        return;
    }
    if (p->key_line[k]) {
        perr(p, p->lineno, "duplicate key '%s' in account [%s] (first set on line %d)", key,
             a->name, p->key_line[k]);
        return;
    }
    p->key_line[k] = p->lineno;

    switch ((enum account_key)k) {
    case ADAPTER:
        if (key_index(adapter_names, ARRAY_LEN(adapter_names), value) < 0) {
            perr(p, p->lineno, "adapter must be one of hostaway, guesty, buildium, got '%.60s'",
                 value);
            return;
        }
        a->adapter = xstrdup(value);
        break;
    case BASE_URL:
        /* Not echoed: a URL may carry user:password. */
        if (strncmp(value, "https://", 8) != 0 && strncmp(value, "http://", 7) != 0) {
            perr(p, p->lineno, "base_url must be an http:// or https:// URL");
            return;
        }
        a->base_url = xstrdup(value);
        break;
    case CLIENT_ID:
        set_string(p, &a->client_id, key, value);
        break;
    case SECRET:
    case SECRET_CMD: {
        int other = k == SECRET ? SECRET_CMD : SECRET;
        if (p->key_line[other]) {
            perr(p, p->lineno,
                 "account [%s] has both secret and secret_cmd (the other is on line %d); "
                 "keep one",
                 a->name, p->key_line[other]);
            return;
        }
        if (k == SECRET) {
            set_string(p, &a->secret, key, value);
        } else {
            set_string(p, &a->secret_cmd, key, value);
            (*p->cmd_lines)[p->c->naccounts - 1] = p->lineno;
        }
        break;
    }
    case WEBHOOK_SECRET:
        set_string(p, &a->webhook_secret, key, value);
        break;
    case POLL_INTERVAL:
        if (parse_int(value, 5, 86400, &n) != 0) {
            perr(p, p->lineno, "poll_interval must be an integer between 5 and 86400, got '%.60s'",
                 value);
            return;
        }
        a->poll_interval = (int)n;
        break;
    case RATE_LIMIT:
        if (parse_decimal(value, 10000, &a->rate_limit) != 0) {
            perr(p, p->lineno,
                 "rate_limit must be a number of requests per second between 0 and 10000, "
                 "got '%.60s'",
                 value);
            return;
        }
        break;
    case RATE_BURST:
        if (parse_int(value, 0, 100000, &n) != 0) {
            perr(p, p->lineno, "rate_burst must be an integer between 0 and 100000, got '%.60s'",
                 value);
            return;
        }
        a->rate_burst = (int)n;
        break;
    case ACCOUNT_KEY_COUNT:
        break;
    }
}

/* ---- porter.conf ---- */

static void porter_begin(struct parse *p, const char *name)
{
    free(p->section);
    p->section = xstrdup(name);
    if (strcmp(name, "general") == 0)
        p->psec = PSEC_GENERAL;
    else if (strcmp(name, "webhook") == 0)
        p->psec = PSEC_WEBHOOK;
    else
        p->psec = PSEC_OTHER;
    p->in_section = 1;
}

static void general_key(struct parse *p, int k, const char *value)
{
    struct config *c = p->c;
    enum log_level level;
    switch ((enum general_key)k) {
    case LOG_LEVEL:
        if (log_level_parse(value, &level) != 0) {
            perr(p, p->lineno, "log_level must be one of debug, info, warn, error, got '%.60s'",
                 value);
            return;
        }
        free(c->log_level);
        c->log_level = xstrdup(value);
        break;
    case GENERAL_KEY_COUNT:
        break;
    }
}

static void webhook_key(struct parse *p, int k, const char *value)
{
    struct config *c = p->c;
    long n;
    switch ((enum webhook_key)k) {
    case LISTEN:
        if (!valid_listen(value)) {
            perr(p, p->lineno, "listen must be host:port (e.g. 127.0.0.1:8787), got '%.60s'",
                 value);
            return;
        }
        free(c->listen);
        c->listen = xstrdup(value);
        break;
    case BODY_LIMIT:
        if (parse_size(value, BODY_LIMIT_MIN, BODY_LIMIT_MAX, &c->body_limit) != 0) {
            perr(p, p->lineno,
                 "body_limit must be a size from 1K to 64M (bytes, or a number with a K or M "
                 "suffix), got '%.60s'",
                 value);
            return;
        }
        break;
    case MAX_CONNECTIONS:
        if (parse_int(value, 1, 10000, &n) != 0) {
            perr(p, p->lineno,
                 "max_connections must be an integer between 1 and 10000, got '%.60s'", value);
            return;
        }
        c->max_connections = (int)n;
        break;
    case CONN_TIMEOUT:
        if (parse_int(value, 1, 3600, &n) != 0) {
            perr(p, p->lineno,
                 "conn_timeout must be a number of seconds between 1 and 3600, got '%.60s'", value);
            return;
        }
        c->conn_timeout = (int)n;
        break;
    case WEBHOOK_KEY_COUNT:
        break;
    }
}

/* Validate a key of a checked section: known, set once, then its value. */
static void checked_key(struct parse *p, const char *const *names, size_t n, int *lines,
                        const char *key, const char *value)
{
    int k = key_index(names, n, key);
    if (k < 0) {
        char expected[256];
        key_list(names, n, expected, sizeof(expected));
        perr(p, p->lineno, "unknown key '%.60s' in [%s] (expected %s)", key, p->section, expected);
        return;
    }
    if (lines[k]) {
        perr(p, p->lineno, "duplicate key '%s' in [%s] (first set on line %d)", key, p->section,
             lines[k]);
        return;
    }
    lines[k] = p->lineno;
    if (p->psec == PSEC_GENERAL)
        general_key(p, k, value);
    else
        webhook_key(p, k, value);
}

static void porter_key(struct parse *p, const char *key, const char *value)
{
    struct config *c = p->c;
    if (p->psec == PSEC_GENERAL)
        checked_key(p, general_key_names, ARRAY_LEN(general_key_names), p->general_line, key,
                    value);
    else if (p->psec == PSEC_WEBHOOK)
        checked_key(p, webhook_key_names, ARRAY_LEN(webhook_key_names), p->webhook_line, key,
                    value);
    if (p->failed)
        return;
    if (c->nentries == p->entries_cap) {
        p->entries_cap = p->entries_cap ? 2 * p->entries_cap : 16;
        c->entries = xrealloc(c->entries, p->entries_cap * sizeof(*c->entries));
    }
    struct conf_entry *en = &c->entries[c->nentries++];
    en->section = xstrdup(p->section);
    en->key = xstrdup(key);
    en->value = xstrdup(value);
    en->line = p->lineno;
}

/* ---- the inih glue ---- */

/* Like inih: the first of chars, or an inline ';' comment (after a space), or the end. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
    int was_space = 0;
    while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
        was_space = is_space(*s);
        s++;
    }
    return s;
}

/* A "[name]" line: check its shape and name, then start the section. */
static void section_line(struct parse *p, const char *s)
{
    const char *end = find_chars_or_comment(s + 1, "]");
    const char *after;
    char name[SECTION_NAME_MAX + 1];
    const char *b = s + 1;
    const char *t = end;

    if (*end != ']') {
        perr(p, p->lineno, "section header is missing its closing ']' (expected [name])");
        return;
    }
    for (after = end + 1; is_space(*after); after++)
        ;
    if (*after && *after != ';') {
        perr(p, p->lineno, "unexpected text after the section header (expected [name])");
        return;
    }
    while (b < t && is_space(*b))
        b++;
    while (t > b && is_space(t[-1]))
        t--;
    if (b == t) {
        perr(p, p->lineno, "empty section name (expected [name])");
        return;
    }
    if (t - b > SECTION_NAME_MAX) {
        perr(p, p->lineno, "section name is longer than %d characters", SECTION_NAME_MAX);
        return;
    }
    memcpy(name, b, (size_t)(t - b));
    name[t - b] = '\0';
    if (p->kind == KIND_ACCOUNTS)
        account_begin(p, name);
    else
        porter_begin(p, name);
}

/* Classify one stripped line as inih will: blank, comment, [section] or key = value. */
static void check_line(struct parse *p, const char *s)
{
    if (*s == '\0' || *s == ';' || *s == '#')
        return;
    if (*s == '[') {
        section_line(p, s);
        return;
    }
    const char *end = find_chars_or_comment(s, "=:");
    if (*end != '=' && *end != ':')
        perr(p, p->lineno, "expected 'key = value', '[section]' or a comment");
}

static void end_of_file(struct parse *p)
{
    if (p->kind == KIND_ACCOUNTS)
        account_end(p);
}

/* ini_reader: hand inih one whole line at a time (see the top of this file). */
static char *conf_reader(char *str, int num, void *stream)
{
    struct parse *p = stream;
    ssize_t got;
    char *s;
    size_t len;

    if (p->failed)
        return NULL;
    errno = 0;
    got = getline(&p->line, &p->line_cap, p->fp);
    if (got < 0) {
        if (ferror(p->fp))
            perr(p, p->lineno + 1, "read error: %s", strerror(errno ? errno : EIO));
        else
            end_of_file(p);
        return NULL;
    }
    p->lineno++;
    s = p->line;
    len = (size_t)got;
    if (memchr(s, '\0', len)) {
        perr(p, p->lineno, "line contains a NUL byte");
        return NULL;
    }
    if (len > 0 && s[len - 1] == '\n')
        len--;
    if (p->lineno == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        len -= 3;
    }
    while (len > 0 && is_space(*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_space(s[len - 1]))
        len--;
    s[len] = '\0';
    if (num < 2 || len > (size_t)num - 2) {
        perr(p, p->lineno, "line is too long (at most %d characters)", num < 2 ? 0 : num - 2);
        return NULL;
    }
    check_line(p, s);
    if (p->failed)
        return NULL;
    memcpy(str, s, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    return str;
}

/* ini_handler: one key = value line; p->lineno is its line. */
#if INI_HANDLER_LINENO
static int conf_handler(void *user, const char *section, const char *key, const char *value,
                        int lineno)
#else
static int conf_handler(void *user, const char *section, const char *key, const char *value)
#endif
{
    struct parse *p = user;
    (void)section; /* the reader tracks sections itself (trimmed, validated) */
#if INI_HANDLER_LINENO
    (void)lineno;
#endif
    if (p->failed)
        return 1;
    if (!p->in_section) {
        if (p->kind == KIND_ACCOUNTS)
            perr(p, p->lineno,
                 "key outside any [account] section (expected a [name] header before '%.60s')",
                 key);
        else
            perr(p, p->lineno,
                 "key outside any section (expected a [section] header before "
                 "'%.60s')",
                 key);
        return 1;
    }
    if (p->kind == KIND_ACCOUNTS)
        account_key(p, key, value);
    else
        porter_key(p, key, value);
    return 1; /* errors are ours to report; inih's return then flags syntax errors only */
}

/* Open path for reading. 1: opened (*fdp set); 0: the file does not exist; -1: error. */
static int open_conf(const char *path, int *fdp, struct err *e)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT && lstat(path, &st) == 0)
            return err_set(e, ENOENT, FINAL, "%s is a symbolic link to a missing file", path);
        if (errno == ENOENT)
            return 0;
        return err_set(e, errno, FINAL, "cannot open %s: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        return err_set(e, saved, FINAL, "cannot stat %s: %s", path, strerror(saved));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, EINVAL, FINAL, "%s is not a regular file", path);
    }
    *fdp = fd;
    return 1;
}

/* accounts.conf holds secrets: it must be ours and closed to group and others. */
static int check_private(int fd, const char *path, struct err *e)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return err_set(e, errno, FINAL, "cannot stat %s: %s", path, strerror(errno));
    if (st.st_uid != getuid())
        return err_set(e, EPERM, FINAL,
                       "%s is owned by uid %u, not by you (uid %u); it holds secrets: make your "
                       "own copy and run: chmod 600 %s",
                       path, (unsigned)st.st_uid, (unsigned)getuid(), path);
    if (st.st_mode & 077)
        return err_set(
            e, EPERM, FINAL, "%s is %s by group or others (mode %04o); run: chmod 600 %s", path,
            (st.st_mode & 044) ? "readable" : "accessible", (unsigned)(st.st_mode & 07777), path);
    return 0;
}

/* Parse one file into c. cmd_lines: see struct parse. */
static int parse_file(struct config *c, enum conf_kind kind, int **cmd_lines, struct err *e)
{
    const char *path = kind == KIND_ACCOUNTS ? c->accounts_path : c->porter_path;
    int fd = -1;
    int rc = open_conf(path, &fd, e);
    if (rc <= 0)
        return rc;
    if (kind == KIND_ACCOUNTS && check_private(fd, path, e) != 0) {
        close(fd);
        return -1;
    }
    FILE *fp = fdopen(fd, "r");
    if (!fp) {
        int saved = errno;
        close(fd);
        return err_set(e, saved, FINAL, "cannot read %s: %s", path, strerror(saved));
    }

    struct parse p;
    memset(&p, 0, sizeof(p));
    p.c = c;
    p.kind = kind;
    p.path = path;
    p.fp = fp;
    p.cmd_lines = cmd_lines;
    err_clear(&p.err);

    int ini = ini_parse_stream(conf_reader, &p, conf_handler, &p);
    if (ini > 0 && (!p.failed || ini < p.error_line)) {
        /* inih saw a syntax error that check_line() did not anticipate. */
        p.failed = 0;
        perr(&p, ini, "syntax error (expected 'key = value', '[section]' or a comment)");
    } else if (ini < 0 && !p.failed) {
        err_set(&p.err, ENOMEM, FINAL, "%s: the INI parser failed (%d)", path, ini);
        p.failed = 1;
    }

    if (p.line) {
        wipe(p.line, p.line_cap);
        free(p.line);
    }
    free(p.section);
    fclose(fp);
    if (p.failed) {
        if (e)
            *e = p.err;
        return -1;
    }
    return 0;
}

/* Run cmd with sh -c; its first output line becomes *secret. */
static int run_secret_cmd(const struct config *c, const struct account_conf *a, int line,
                          char **secret, struct err *e)
{
    char *out = xmalloc(SECRET_OUTPUT_MAX + 1);
    size_t len = 0;
    int have_line = 0;
    char chunk[4096];
    size_t n;
    FILE *fp;
    int status;

    fp = popen(a->secret_cmd, "r");
    if (!fp) {
        free(out);
        return err_set(e, errno, FINAL, "%s:%d: secret_cmd for account [%s] failed (%s)",
                       c->accounts_path, line, a->name, strerror(errno));
    }
    /* Keep the first line; drain the rest so the command never blocks on a full pipe. */
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        for (size_t i = 0; i < n && !have_line; i++) {
            if (chunk[i] == '\n')
                have_line = 1;
            else if (len < SECRET_OUTPUT_MAX)
                out[len++] = chunk[i];
            else
                have_line = -1; /* too long */
        }
    }
    wipe(chunk, sizeof(chunk));
    out[len] = '\0';
    if (len > 0 && out[len - 1] == '\r')
        out[--len] = '\0';
    status = pclose(fp);

    const char *why = NULL;
    char detail[64];
    if (status == -1) {
        snprintf(detail, sizeof(detail), "no exit status: %s", strerror(errno));
        why = detail;
    } else if (WIFSIGNALED(status)) {
        snprintf(detail, sizeof(detail), "killed by signal %d", WTERMSIG(status));
        why = detail;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(detail, sizeof(detail), "exit %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        why = detail;
    } else if (have_line < 0) {
        why = "exit 0, first line longer than 65536 bytes";
    } else if (len == 0) {
        why = "exit 0, empty first line";
    } else if (memchr(out, '\0', len)) {
        why = "exit 0, output contains a NUL byte";
    }
    if (why) {
        wipe(out, SECRET_OUTPUT_MAX + 1);
        free(out);
        return err_set(e, EINVAL, FINAL, "%s:%d: secret_cmd for account [%s] failed (%s)",
                       c->accounts_path, line, a->name, why);
    }
    *secret = xstrdup(out);
    wipe(out, SECRET_OUTPUT_MAX + 1);
    free(out);
    return 0;
}

int config_load(struct config *c, struct err *e)
{
    int *cmd_lines = NULL;
    int rc;

    if (!c)
        return err_set(e, EINVAL, FINAL, "config_load: no config");
    err_clear(e);
    config_reset(c);

    rc = parse_file(c, KIND_ACCOUNTS, &cmd_lines, e);
    if (rc == 0)
        rc = parse_file(c, KIND_PORTER, &cmd_lines, e);
    for (size_t i = 0; rc == 0 && i < c->naccounts; i++) {
        struct account_conf *a = &c->accounts[i];
        if (a->secret_cmd)
            rc = run_secret_cmd(c, a, cmd_lines[i], &a->secret, e);
    }
    free(cmd_lines);
    if (rc != 0) {
        config_reset(c);
        return -1;
    }
    return 0;
}
