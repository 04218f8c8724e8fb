/* test_config.c - unit tests for src/config.c
 *
 * Every test that reads files works in its own mkdtemp directory (the fixture), passed to
 * config_new() as the config directory override; the directory is removed afterwards.
 * The XDG tests change HOME and XDG_*; the group setup saves them and the teardown puts them
 * back.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* ---- environment save/restore ---- */

static const char *const env_names[] = {"HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                                        "XDG_STATE_HOME"};
static char *env_saved[4];

static int group_setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(env_names); i++)
        env_saved[i] = xstrdup(getenv(env_names[i]));
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(env_names); i++) {
        if (env_saved[i])
            setenv(env_names[i], env_saved[i], 1);
        else
            unsetenv(env_names[i]);
        xfree(&env_saved[i]);
    }
    return 0;
}

static void set_env(const char *name, const char *value)
{
    if (value)
        assert_int_equal(setenv(name, value, 1), 0);
    else
        assert_int_equal(unsetenv(name), 0);
}

/* ---- fixture: a temporary config directory ---- */

struct fx {
    char *dir;        /* owned: mkdtemp directory */
    struct config *c; /* owned: config_new(dir, dir/porter.db) */
    struct err e;
};

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        assert_non_null(d);
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char *sub = xasprintf("%s/%s", path, de->d_name);
            rm_rf(sub);
            free(sub);
        }
        closedir(d);
        assert_int_equal(rmdir(path), 0);
    } else {
        assert_int_equal(unlink(path), 0);
    }
}

static int fx_setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");
    char *tmpl = xasprintf("%s/porter-test-config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        free(f);
        return -1;
    }
    f->dir = tmpl;
    /* Never look at the real home: point HOME at the fixture, with no XDG overrides. */
    set_env("HOME", f->dir);
    set_env("XDG_CONFIG_HOME", NULL);
    set_env("XDG_DATA_HOME", NULL);
    set_env("XDG_STATE_HOME", NULL);
    char *db = xasprintf("%s/porter.db", f->dir);
    f->c = config_new(f->dir, db, &f->e);
    free(db);
    if (!f->c) {
        rmdir(f->dir);
        free(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    config_free(&f->c);
    rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static char *fx_path(const struct fx *f, const char *name)
{
    return xasprintf("%s/%s", f->dir, name);
}

/* Write name in the fixture directory with exactly this mode (umask does not apply). */
static void fx_write(const struct fx *f, const char *name, const char *text, mode_t mode)
{
    char *path = fx_path(f, name);
    FILE *fp;
    unlink(path);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, mode), 0);
    free(path);
}

static void fx_remove(const struct fx *f, const char *name)
{
    char *path = fx_path(f, name);
    unlink(path);
    free(path);
}

static int fx_exists(const struct fx *f, const char *name)
{
    char *path = fx_path(f, name);
    int ok = access(path, F_OK) == 0;
    free(path);
    return ok;
}

/* The state after a failed load: defaults, nothing half-loaded. */
static void assert_reset(const struct config *c)
{
    assert_int_equal(c->naccounts, 0);
    assert_null(c->accounts);
    assert_int_equal(c->nentries, 0);
    assert_null(c->entries);
    assert_string_equal(c->log_level, "info");
    assert_string_equal(c->listen, "127.0.0.1:8787");
    assert_int_equal(c->body_limit, 1048576);
    assert_int_equal(c->max_connections, 64);
    assert_int_equal(c->conn_timeout, 10);
}

/* e->msg must be exactly "path:line: ..." and contain phrase. */
static void assert_error_at(const char *label, const struct err *e, const char *path, int line,
                            const char *phrase)
{
    char prefix[1024];
    snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
    if (strncmp(e->msg, prefix, strlen(prefix)) != 0)
        fail_msg("%s: expected prefix '%s', got '%s'", label, prefix, e->msg);
    if (!strstr(e->msg, phrase))
        fail_msg("%s: expected '%s' in '%s'", label, phrase, e->msg);
    if (e->retry != FINAL)
        fail_msg("%s: retry class %s, expected final", label, retry_class_name(e->retry));
}

/* ---- NULL and edge cases ---- */

static void test_null_args(void **state)
{
    struct fx *f = *state;
    struct config *none = NULL;
    struct err e;

    config_free(NULL);
    config_free(&none);
    assert_null(none);

    memset(&e, 0, sizeof(e));
    assert_int_equal(config_load(NULL, &e), -1);
    assert_string_not_equal(e.msg, "");
    assert_int_equal(config_load(NULL, NULL), -1);

    assert_null(config_account(NULL, "a"));
    assert_null(config_account(f->c, NULL));
    assert_null(config_account(f->c, "nope"));
    assert_null(config_get(NULL, "general", "log_level"));
    assert_null(config_get(f->c, NULL, "log_level"));
    assert_null(config_get(f->c, "general", NULL));
    assert_null(config_get(f->c, "general", "log_level")); /* nothing loaded yet */

    /* A NULL err is allowed everywhere. */
    assert_int_equal(config_load(f->c, NULL), 0);
    fx_write(f, "porter.conf", "[general]\nlog_level = loud\n", 0644);
    assert_int_equal(config_load(f->c, NULL), -1);
    set_env("HOME", NULL);
    set_env("XDG_CONFIG_HOME", NULL);
    assert_null(config_new(NULL, NULL, NULL));
}

static void test_free_sets_null(void **state)
{
    struct fx *f = *state;
    fx_write(f, "accounts.conf", "[a]\nadapter = hostaway\nsecret = s\n", 0600);
    fx_write(f, "porter.conf", "[keys]\nq = quit\n", 0644);
    assert_int_equal(config_load(f->c, &f->e), 0);
    config_free(&f->c);
    assert_null(f->c);
    config_free(&f->c); /* twice is fine */
    assert_null(f->c);
}

static void test_new_defaults(void **state)
{
    struct fx *f = *state;
    const struct config *c = f->c;
    char *acc = fx_path(f, "accounts.conf");
    char *por = fx_path(f, "porter.conf");
    char *db = fx_path(f, "porter.db");

    assert_string_equal(c->config_dir, f->dir);
    assert_string_equal(c->accounts_path, acc);
    assert_string_equal(c->porter_path, por);
    assert_string_equal(c->db_path, db);
    assert_non_null(c->log_path);
    assert_reset(c);
    free(acc);
    free(por);
    free(db);
}

/* ---- paths from the environment ---- */

struct xdg_case {
    const char *name;
    const char *home, *config_home, *data_home, *state_home; /* NULL: unset */
    const char *o_config, *o_db;                             /* overrides */
    const char *want_dir, *want_db, *want_log;               /* want_dir NULL: must fail */
};

static const struct xdg_case xdg_cases[] = {
    {"home only", "/home/u", NULL, NULL, NULL, NULL, NULL, "/home/u/.config/porter",
     "/home/u/.local/share/porter/porter.db", "/home/u/.local/state/porter/porter.log"},
    {"all xdg set", "/home/u", "/x/cfg", "/x/data", "/x/state", NULL, NULL, "/x/cfg/porter",
     "/x/data/porter/porter.db", "/x/state/porter/porter.log"},
    {"empty xdg = unset", "/home/u", "", "", "", NULL, NULL, "/home/u/.config/porter",
     "/home/u/.local/share/porter/porter.db", "/home/u/.local/state/porter/porter.log"},
    {"relative xdg ignored", "/home/u", "rel/cfg", "./data", "state", NULL, NULL,
     "/home/u/.config/porter", "/home/u/.local/share/porter/porter.db",
     "/home/u/.local/state/porter/porter.log"},
    {"trailing slashes", "/home/u/", "/x/cfg/", "/x/data//", NULL, NULL, NULL, "/x/cfg/porter",
     "/x/data/porter/porter.db", "/home/u/.local/state/porter/porter.log"},
    {"root as base", "/home/u", "/", NULL, NULL, NULL, NULL, "/porter",
     "/home/u/.local/share/porter/porter.db", "/home/u/.local/state/porter/porter.log"},
    {"overrides", "/home/u", "/x/cfg", "/x/data", "/x/state", "/o/conf/", "/o/p.db", "/o/conf",
     "/o/p.db", "/x/state/porter/porter.log"},
    {"relative overrides kept", "/home/u", NULL, NULL, NULL, "conf", "db/p.db", "conf", "db/p.db",
     "/home/u/.local/state/porter/porter.log"},
    {"empty overrides = none", "/home/u", NULL, NULL, NULL, "", "", "/home/u/.config/porter",
     "/home/u/.local/share/porter/porter.db", "/home/u/.local/state/porter/porter.log"},
    {"no HOME, all xdg", NULL, "/x/cfg", "/x/data", "/x/state", NULL, NULL, "/x/cfg/porter",
     "/x/data/porter/porter.db", "/x/state/porter/porter.log"},
    {"no HOME, overrides + state", NULL, NULL, NULL, "/x/state", "/o/conf", "/o/p.db", "/o/conf",
     "/o/p.db", "/x/state/porter/porter.log"},
    {"no HOME, nothing", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {"empty HOME", "", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {"relative HOME", "home/u", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {"no HOME, no state dir", NULL, "/x/cfg", "/x/data", NULL, NULL, NULL, NULL, NULL, NULL},
    {"no HOME, empty xdg", NULL, "", "", "", "/o/conf", "/o/p.db", NULL, NULL, NULL},
};

static void test_new_xdg(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(xdg_cases); i++) {
        const struct xdg_case *t = &xdg_cases[i];
        struct err e;
        memset(&e, 0, sizeof(e));
        set_env("HOME", t->home);
        set_env("XDG_CONFIG_HOME", t->config_home);
        set_env("XDG_DATA_HOME", t->data_home);
        set_env("XDG_STATE_HOME", t->state_home);

        struct config *c = config_new(t->o_config, t->o_db, &e);
        if (!t->want_dir) {
            if (c)
                fail_msg("%s: config_new succeeded, expected failure", t->name);
            if (!strstr(e.msg, "HOME"))
                fail_msg("%s: message does not mention HOME: '%s'", t->name, e.msg);
            continue;
        }
        if (!c)
            fail_msg("%s: config_new failed: %s", t->name, e.msg);
        char *acc = xasprintf("%s/accounts.conf", t->want_dir);
        char *por = xasprintf("%s/porter.conf", t->want_dir);
        if (strcmp(c->config_dir, t->want_dir) != 0 || strcmp(c->db_path, t->want_db) != 0 ||
            strcmp(c->log_path, t->want_log) != 0 || strcmp(c->accounts_path, acc) != 0 ||
            strcmp(c->porter_path, por) != 0)
            fail_msg("%s: got dir=%s db=%s log=%s accounts=%s porter=%s", t->name, c->config_dir,
                     c->db_path, c->log_path, c->accounts_path, c->porter_path);
        free(acc);
        free(por);
        config_free(&c);
        assert_null(c);
    }
}

/* ---- missing files ---- */

static void test_load_missing_files(void **state)
{
    struct fx *f = *state;
    /* An empty directory. */
    assert_int_equal(config_load(f->c, &f->e), 0);
    assert_string_equal(f->e.msg, "");
    assert_reset(f->c);

    /* A config directory that does not exist at all. */
    char *missing = fx_path(f, "not/there");
    struct config *c = config_new(missing, NULL, &f->e);
    assert_non_null(c);
    assert_int_equal(config_load(c, &f->e), 0);
    assert_reset(c);
    config_free(&c);
    free(missing);

    /* Only porter.conf. */
    fx_write(f, "porter.conf", "[general]\nlog_level = warn\n", 0644);
    assert_int_equal(config_load(f->c, &f->e), 0);
    assert_int_equal(f->c->naccounts, 0);
    assert_string_equal(f->c->log_level, "warn");

    /* Only accounts.conf. */
    fx_remove(f, "porter.conf");
    fx_write(f, "accounts.conf", "[a]\nadapter = guesty\n", 0600);
    assert_int_equal(config_load(f->c, &f->e), 0);
    assert_int_equal(f->c->naccounts, 1);
    assert_int_equal(f->c->nentries, 0);
    assert_string_equal(f->c->log_level, "info");

    /* Empty files. */
    fx_write(f, "accounts.conf", "", 0600);
    fx_write(f, "porter.conf", "", 0644);
    assert_int_equal(config_load(f->c, &f->e), 0);
    assert_reset(f->c);
}

/* ---- a good configuration ---- */

static const char good_accounts[] = "# porter accounts\n"                            /* 1 */
                                    "[hostaway-main]\n"                              /* 2 */
                                    "adapter        = hostaway\n"                    /* 3 */
                                    "base_url       = https://api.hostaway.com/v1\n" /* 4 */
                                    "client_id      = 10450\n"                       /* 5 */
                                    "secret         = hs-secret\n"                   /* 6 */
                                    "webhook_secret = user:password\n"               /* 7 */
                                    "poll_interval  = 120 ; seconds\n"               /* 8 */
                                    "\n"                                             /* 9 */
                                    "[guesty]\n"                                     /* 10 */
                                    "adapter = guesty\n"                             /* 11 */
                                    "client_id: g-client\n"                          /* 12 */
                                    "secret_cmd = echo guesty-secret\n"              /* 13 */
                                    "webhook_secret = whsec_abc;def\n"               /* 14 */
                                    "rate_limit = 2.5\n"                             /* 15 */
                                    "rate_burst = 20\n"                              /* 16 */
                                    "; buildium is indented\n"                       /* 17 */
                                    "  [buildium-pm]   ; residential\n"              /* 18 */
                                    "    adapter = buildium\n"                       /* 19 */
                                    "    client_id = b-id\n"                         /* 20 */
                                    "    secret = b-secret\n"                        /* 21 */
                                    "    poll_interval = 5\n"                        /* 22 */
                                    "    rate_limit = 0\n";                          /* 23 */

static const char good_porter[] = "[general]\n"              /* 1 */
                                  "log_level = debug\n"      /* 2 */
                                  "\n"                       /* 3 */
                                  "[webhook]\n"              /* 4 */
                                  "listen = 0.0.0.0:9000\n"  /* 5 */
                                  "body_limit = 256K\n"      /* 6 */
                                  "max_connections = 128\n"  /* 7 */
                                  "conn_timeout = 30\n"      /* 8 */
                                  "\n"                       /* 9 */
                                  "[keys]\n"                 /* 10 */
                                  "quit = q\n"               /* 11 */
                                  "refresh = C-r ; reload\n" /* 12 */
                                  "[ui]\n"                   /* 13 */
                                  "theme = dark\n"           /* 14 */
                                  "[keys]\n"                 /* 15 */
                                  "quit = Q\n";              /* 16 */

static void assert_good(const struct config *c)
{
    const struct account_conf *a;

    assert_int_equal(c->naccounts, 3);

    a = config_account(c, "hostaway-main");
    assert_ptr_equal(a, &c->accounts[0]);
    assert_string_equal(a->name, "hostaway-main");
    assert_string_equal(a->adapter, "hostaway");
    assert_string_equal(a->base_url, "https://api.hostaway.com/v1");
    assert_string_equal(a->client_id, "10450");
    assert_string_equal(a->secret, "hs-secret");
    assert_null(a->secret_cmd);
    assert_string_equal(a->webhook_secret, "user:password");
    assert_int_equal(a->poll_interval, 120);
    assert_true(a->rate_limit == 0.0);
    assert_int_equal(a->rate_burst, 0);
    assert_int_equal(a->line, 2);

    a = config_account(c, "guesty");
    assert_ptr_equal(a, &c->accounts[1]);
    assert_string_equal(a->adapter, "guesty");
    assert_null(a->base_url);
    assert_string_equal(a->client_id, "g-client");
    assert_string_equal(a->secret, "guesty-secret");
    assert_string_equal(a->secret_cmd, "echo guesty-secret");
    assert_string_equal(a->webhook_secret, "whsec_abc;def"); /* ';' without a space is data */
    assert_int_equal(a->poll_interval, 60);
    assert_true(a->rate_limit == 2.5);
    assert_int_equal(a->rate_burst, 20);
    assert_int_equal(a->line, 10);

    a = config_account(c, "buildium-pm");
    assert_ptr_equal(a, &c->accounts[2]);
    assert_string_equal(a->adapter, "buildium");
    assert_string_equal(a->client_id, "b-id");
    assert_string_equal(a->secret, "b-secret");
    assert_null(a->webhook_secret);
    assert_int_equal(a->poll_interval, 5);
    assert_true(a->rate_limit == 0.0);
    assert_int_equal(a->line, 18);

    assert_null(config_account(c, "Guesty"));

    assert_string_equal(c->log_level, "debug");
    assert_string_equal(c->listen, "0.0.0.0:9000");
    assert_int_equal(c->body_limit, 256 * 1024);
    assert_int_equal(c->max_connections, 128);
    assert_int_equal(c->conn_timeout, 30);

    static const struct {
        const char *section, *key, *value;
        int line;
    } want[] = {
        {"general", "log_level", "debug", 2},
        {"webhook", "listen", "0.0.0.0:9000", 5},
        {"webhook", "body_limit", "256K", 6},
        {"webhook", "max_connections", "128", 7},
        {"webhook", "conn_timeout", "30", 8},
        {"keys", "quit", "q", 11},
        {"keys", "refresh", "C-r", 12},
        {"ui", "theme", "dark", 14},
        {"keys", "quit", "Q", 16},
    };
    assert_int_equal(c->nentries, ARRAY_LEN(want));
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        const struct conf_entry *g = &c->entries[i];
        if (strcmp(g->section, want[i].section) != 0 || strcmp(g->key, want[i].key) != 0 ||
            strcmp(g->value, want[i].value) != 0 || g->line != want[i].line)
            fail_msg("entry %zu: got [%s] %s = %s (line %d), want [%s] %s = %s (line %d)", i,
                     g->section, g->key, g->value, g->line, want[i].section, want[i].key,
                     want[i].value, want[i].line);
    }
    assert_string_equal(config_get(c, "general", "log_level"), "debug");
    assert_string_equal(config_get(c, "webhook", "body_limit"), "256K");
    assert_string_equal(config_get(c, "keys", "refresh"), "C-r");
    assert_string_equal(config_get(c, "keys", "quit"), "Q"); /* the last one wins */
    assert_string_equal(config_get(c, "ui", "theme"), "dark");
    assert_null(config_get(c, "ui", "quit"));
    assert_null(config_get(c, "rules", "theme"));
}

static void test_load_good(void **state)
{
    struct fx *f = *state;
    fx_write(f, "accounts.conf", good_accounts, 0600);
    fx_write(f, "porter.conf", good_porter, 0644);
    assert_int_equal(config_load(f->c, &f->e), 0);
    assert_string_equal(f->e.msg, "");
    assert_good(f->c);

    /* Loading again gives the same result, not twice as many accounts and entries. */
    assert_int_equal(config_load(f->c, &f->e), 0);
    assert_good(f->c);

    /* A failed reload leaves nothing of the previous load behind. */
    fx_write(f, "porter.conf", "[webhook]\nmax_connections = 0\n", 0644);
    assert_int_equal(config_load(f->c, &f->e), -1);
    assert_reset(f->c);
}

/* Unusual but valid files: BOM, CRLF, ':' separator, indentation, the longest line. */
static void test_load_edge_syntax(void **state)
{
    struct fx *f = *state;
    char *acc = fx_path(f, "accounts.conf");

    /* Learn the line limit from the error, then check both sides of it. */
    char huge[1001];
    memset(huge, 'x', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    char *text = xasprintf("[a]\nclient_id=%s\n", huge);
    fx_write(f, "accounts.conf", text, 0600);
    free(text);
    assert_int_equal(config_load(f->c, &f->e), -1);
    assert_error_at("limit", &f->e, acc, 2, "line is too long (at most ");
    int limit = atoi(strstr(f->e.msg, "at most ") + strlen("at most "));
    assert_true(limit >= 100 && limit < 1000); /* inih's default buffer is 200 bytes */

    char *longid = xstrndup(huge, (size_t)limit - strlen("client_id="));
    text = xasprintf("[a]\nadapter = guesty\nclient_id=%sx\n", longid);
    fx_write(f, "accounts.conf", text, 0600);
    free(text);
    assert_int_equal(config_load(f->c, &f->e), -1);
    assert_error_at("limit + 1", &f->e, acc, 3, "line is too long");

    /* Exactly at the limit, with indentation and a CR that do not count. */
    text = xasprintf("\xEF\xBB\xBF[a]\r\n"
                     "adapter = hostaway\r\n"
                     "   client_id=%s \t\r\n"
                     "\t\r\n"
                     "[b.c_d-9]\n"
                     "adapter:buildium\n"
                     "secret = a = b : c\n"
                     "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n"
                     "adapter = guesty\n",
                     longid);
    fx_write(f, "accounts.conf", text, 0600);
    free(text);
    fx_write(f, "porter.conf", "\xEF\xBB\xBF[webhook]\r\nlisten = [::1]:8787\r\n", 0644);
    if (config_load(f->c, &f->e) != 0)
        fail_msg("%s", f->e.msg);
    assert_int_equal(f->c->naccounts, 3);
    assert_string_equal(f->c->accounts[0].name, "a");
    assert_string_equal(f->c->accounts[0].adapter, "hostaway");
    assert_string_equal(f->c->accounts[0].client_id, longid);
    assert_string_equal(f->c->accounts[1].name, "b.c_d-9");
    assert_int_equal(f->c->accounts[1].line, 5);
    assert_string_equal(f->c->accounts[1].adapter, "buildium");
    assert_string_equal(f->c->accounts[1].secret, "a = b : c");
    assert_int_equal(strlen(f->c->accounts[2].name), 49);
    assert_string_equal(f->c->listen, "[::1]:8787");
    assert_int_equal(f->c->nentries, 1);
    assert_int_equal(f->c->entries[0].line, 2);
    free(longid);
    free(acc);
}

/* ---- bad lines ---- */

#define ACC "[a]\nadapter = hostaway\n" /* two good lines */

struct bad_case {
    const char *name;
    const char *accounts; /* NULL: no accounts.conf */
    const char *porter;   /* NULL: no porter.conf */
    int in_porter;        /* the error is in porter.conf (else accounts.conf) */
    int line;
    const char *phrase;
};

static const struct bad_case bad_cases[] = {
    /* accounts.conf: keys and values */
    {"poll_interval word", ACC "poll_interval = abc\n", NULL, 0, 3,
     "poll_interval must be an integer between 5 and 86400, got 'abc'"},
    {"poll_interval low", ACC "poll_interval = 4\n", NULL, 0, 3, "between 5 and 86400, got '4'"},
    {"poll_interval high", ACC "poll_interval = 86401\n", NULL, 0, 3, "got '86401'"},
    {"poll_interval huge", ACC "poll_interval = 99999999999999999999999\n", NULL, 0, 3,
     "got '99999999999999999999999'"},
    {"poll_interval unit", ACC "poll_interval = 60s\n", NULL, 0, 3, "got '60s'"},
    {"poll_interval sign", ACC "poll_interval = +60\n", NULL, 0, 3, "got '+60'"},
    {"poll_interval empty", ACC "poll_interval =\n", NULL, 0, 3, "got ''"},
    {"unknown key", ACC "pol_interval = 60\n", NULL, 0, 3,
     "unknown key 'pol_interval' in account [a] (expected adapter, base_url, client_id, secret, "
     "secret_cmd, webhook_secret, poll_interval, rate_limit, rate_burst)"},
    {"key case matters", ACC "Adapter = hostaway\n", NULL, 0, 3, "unknown key 'Adapter'"},
    {"adapter unknown", "[a]\nadapter = airbnb\n", NULL, 0, 2,
     "adapter must be one of hostaway, guesty, buildium, got 'airbnb'"},
    {"adapter case", "[a]\nadapter = Hostaway\n", NULL, 0, 2, "got 'Hostaway'"},
    {"adapter empty", "[a]\nadapter =\n", NULL, 0, 2, "adapter must be one of"},
    {"base_url scheme", ACC "base_url = ftp://example.com\n", NULL, 0, 3,
     "base_url must be an http:// or https:// URL"},
    {"client_id empty", ACC "client_id =\n", NULL, 0, 3, "client_id must not be empty"},
    {"secret empty", ACC "secret = ; nothing\n", NULL, 0, 3, "secret must not be empty"},
    {"secret_cmd empty", ACC "secret_cmd =\n", NULL, 0, 3, "secret_cmd must not be empty"},
    {"webhook_secret empty", ACC "webhook_secret =\n", NULL, 0, 3,
     "webhook_secret must not be empty"},
    {"rate_limit word", ACC "rate_limit = fast\n", NULL, 0, 3,
     "rate_limit must be a number of requests per second between 0 and 10000, got 'fast'"},
    {"rate_limit negative", ACC "rate_limit = -1\n", NULL, 0, 3, "got '-1'"},
    {"rate_limit dot", ACC "rate_limit = 2.\n", NULL, 0, 3, "got '2.'"},
    {"rate_limit comma", ACC "rate_limit = 2,5\n", NULL, 0, 3, "got '2,5'"},
    {"rate_limit high", ACC "rate_limit = 10000.5\n", NULL, 0, 3, "got '10000.5'"},
    {"rate_burst word", ACC "rate_burst = lots\n", NULL, 0, 3,
     "rate_burst must be an integer between 0 and 100000, got 'lots'"},
    {"duplicate key", ACC "client_id = 1\nclient_id = 2\n", NULL, 0, 4,
     "duplicate key 'client_id' in account [a] (first set on line 3)"},
    {"duplicate adapter", ACC "adapter = guesty\n", NULL, 0, 3, "duplicate key 'adapter'"},
    {"secret then secret_cmd", ACC "secret = hunter2\nsecret_cmd = pass x\n", NULL, 0, 4,
     "account [a] has both secret and secret_cmd"},
    {"secret_cmd then secret", ACC "secret_cmd = pass x\nsecret = hunter2\n", NULL, 0, 4,
     "has both secret and secret_cmd (the other is on line 3)"},
    /* accounts.conf: structure */
    {"key before any section", "adapter = hostaway\n[a]\nadapter = hostaway\n", NULL, 0, 1,
     "key outside any [account] section"},
    {"key after comments", "; accounts\n# more\n\nclient_id = 1\n", NULL, 0, 4,
     "key outside any [account] section"},
    {"no equals sign", "[a]\nadapter hostaway\n", NULL, 0, 2,
     "expected 'key = value', '[section]' or a comment"},
    {"section not closed", ACC "[b\nadapter = guesty\n", NULL, 0, 3, "missing its closing ']'"},
    {"section with comment inside", "[a ;]\n", NULL, 0, 1, "missing its closing ']'"},
    {"text after section", "[a] b\n", NULL, 0, 1, "unexpected text after the section header"},
    {"empty section name", "[ ]\n", NULL, 0, 1, "empty section name"},
    {"bad account name", "[my account]\n", NULL, 0, 1,
     "account name [my account] may only contain letters, digits"},
    {"long section name", "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n", NULL, 0, 1,
     "section name is longer than 49 characters"},
    {"duplicate section", ACC "[b]\nadapter = guesty\n[a]\nadapter = buildium\n", NULL, 0, 5,
     "duplicate account [a] (first defined on line 1)"},
    {"missing adapter, last section", ACC "[b]\nclient_id = 1\n", NULL, 0, 3,
     "account [b] has no adapter"},
    {"missing adapter, middle section", ACC "\n[b]\nclient_id = 1\n\n[c]\nadapter = guesty\n", NULL,
     0, 4, "account [b] has no adapter (expected adapter = hostaway, guesty or buildium)"},
    {"missing adapter, empty section", ACC "[b]\n", NULL, 0, 3, "account [b] has no adapter"},
    {"line too long",
     ACC "client_id = "
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
     NULL, 0, 3, "line is too long"},
    {"indented key is not a continuation", "[a]\n  adapter = hostaway\n  poll_interval = x\n", NULL,
     0, 3, "got 'x'"},
    {"crlf", "[a]\r\nadapter = hostaway\r\npoll_interval = x\r\n", NULL, 0, 3, "got 'x'"},
    /* first error wins */
    {"first of two errors", "[a]\nadapter = nope\npoll_interval = abc\n", NULL, 0, 2,
     "adapter must be one of"},
    {"syntax before value error", "[a]\nadapter hostaway\npoll_interval = abc\n", NULL, 0, 2,
     "expected 'key = value'"},
    {"accounts before porter", "[a]\npoll_interval = 1\n", "[general]\nlog_level = loud\n", 0, 2,
     "poll_interval"},
    /* porter.conf */
    {"log_level", NULL, "[general]\nlog_level = loud\n", 1, 2,
     "log_level must be one of debug, info, warn, error, got 'loud'"},
    {"general unknown key", NULL, "[general]\nlevel = info\n", 1, 2,
     "unknown key 'level' in [general] (expected log_level)"},
    {"webhook unknown key", NULL, "[webhook]\nport = 8787\n", 1, 2,
     "unknown key 'port' in [webhook] (expected listen, body_limit, max_connections, "
     "conn_timeout)"},
    {"listen no port", NULL, "[webhook]\nlisten = 8787\n", 1, 2,
     "listen must be host:port (e.g. 127.0.0.1:8787), got '8787'"},
    {"listen empty port", NULL, "[webhook]\nlisten = localhost:\n", 1, 2, "listen must be"},
    {"listen empty host", NULL, "[webhook]\nlisten = :8787\n", 1, 2, "listen must be"},
    {"listen port range", NULL, "[webhook]\nlisten = localhost:65536\n", 1, 2, "listen must be"},
    {"listen port zero", NULL, "[webhook]\nlisten = localhost:0\n", 1, 2, "listen must be"},
    {"listen bare ipv6", NULL, "[webhook]\nlisten = ::1:8787\n", 1, 2, "listen must be"},
    {"listen ipv6 no colon", NULL, "[webhook]\nlisten = [::1]8787\n", 1, 2, "listen must be"},
    {"listen space", NULL, "[webhook]\nlisten = local host:80\n", 1, 2, "listen must be"},
    {"body_limit unit", NULL, "[webhook]\nbody_limit = 1G\n", 1, 2,
     "body_limit must be a size from 1K to 64M (bytes, or a number with a K or M suffix), got "
     "'1G'"},
    {"body_limit word", NULL, "[webhook]\nbody_limit = big\n", 1, 2, "got 'big'"},
    {"body_limit zero", NULL, "[webhook]\nbody_limit = 0\n", 1, 2, "got '0'"},
    {"body_limit small", NULL, "[webhook]\nbody_limit = 1023\n", 1, 2, "got '1023'"},
    {"body_limit large", NULL, "[webhook]\nbody_limit = 65M\n", 1, 2, "got '65M'"},
    {"body_limit overflow", NULL, "[webhook]\nbody_limit = 18446744073709551617\n", 1, 2,
     "body_limit must be"},
    {"body_limit KiB", NULL, "[webhook]\nbody_limit = 64KiB\n", 1, 2, "got '64KiB'"},
    {"max_connections zero", NULL, "[webhook]\nmax_connections = 0\n", 1, 2,
     "max_connections must be an integer between 1 and 10000, got '0'"},
    {"max_connections high", NULL, "[webhook]\nmax_connections = 10001\n", 1, 2, "got '10001'"},
    {"conn_timeout zero", NULL, "[webhook]\nconn_timeout = 0\n", 1, 2,
     "conn_timeout must be a number of seconds between 1 and 3600, got '0'"},
    {"conn_timeout high", NULL, "[webhook]\nconn_timeout = 3601\n", 1, 2, "got '3601'"},
    {"porter key outside section", NULL, "log_level = info\n[general]\n", 1, 1,
     "key outside any section"},
    {"porter duplicate key across headers", NULL,
     "[webhook]\nlisten = a:1\n[keys]\nq = quit\n[webhook]\nlisten = b:2\n", 1, 6,
     "duplicate key 'listen' in [webhook] (first set on line 2)"},
    {"porter syntax", NULL, "[keys]\nq = quit\nrefresh\n", 1, 3, "expected 'key = value'"},
    {"porter section not closed", NULL, "[keys\n", 1, 1, "missing its closing ']'"},
    {"porter error after good accounts", ACC, "[ui]\ntheme = dark\n[general]\nlog_level=\n", 1, 4,
     "log_level must be one of"},
};

static void test_load_bad_lines(void **state)
{
    struct fx *f = *state;
    char *acc = fx_path(f, "accounts.conf");
    char *por = fx_path(f, "porter.conf");

    for (size_t i = 0; i < ARRAY_LEN(bad_cases); i++) {
        const struct bad_case *t = &bad_cases[i];
        fx_remove(f, "accounts.conf");
        fx_remove(f, "porter.conf");
        if (t->accounts)
            fx_write(f, "accounts.conf", t->accounts, 0600);
        if (t->porter)
            fx_write(f, "porter.conf", t->porter, 0644);
        memset(&f->e, 0, sizeof(f->e));
        int rc = config_load(f->c, &f->e);
        if (rc != -1)
            fail_msg("%s: config_load returned %d, expected -1", t->name, rc);
        assert_error_at(t->name, &f->e, t->in_porter ? por : acc, t->line, t->phrase);
        if (strstr(f->e.msg, "hunter2"))
            fail_msg("%s: the message shows the secret: %s", t->name, f->e.msg);
        if (strchr(f->e.msg, '\r') || strchr(f->e.msg, '\n'))
            fail_msg("%s: the message is not one line: %s", t->name, f->e.msg);
        assert_reset(f->c);
    }

    /* One message checked in full, as a person would read it. */
    fx_remove(f, "porter.conf");
    fx_write(f, "accounts.conf",
             "[hostaway-main]\n"
             "adapter = hostaway\n"
             "base_url = https://api.hostaway.com/v1\n"
             "client_id = 10450\n"
             "secret = s\n"
             "\n"
             "pol_interval = 60\n",
             0600);
    assert_int_equal(config_load(f->c, &f->e), -1);
    char *want = xasprintf("%s:7: unknown key 'pol_interval' in account [hostaway-main] "
                           "(expected adapter, base_url, client_id, secret, secret_cmd, "
                           "webhook_secret, poll_interval, rate_limit, rate_burst)",
                           acc);
    assert_string_equal(f->e.msg, want);
    free(want);
    free(acc);
    free(por);
}

/* A NUL byte cannot be written with fputs. */
static void test_load_nul_byte(void **state)
{
    struct fx *f = *state;
    static const char text[] = "[a]\nadapter = host\0away\n";
    char *acc = fx_path(f, "accounts.conf");
    int fd = open(acc, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    assert_int_equal(close(fd), 0);
    assert_int_equal(config_load(f->c, &f->e), -1);
    assert_error_at("nul", &f->e, acc, 2, "line contains a NUL byte");
    assert_reset(f->c);
    free(acc);
}

struct size_case {
    const char *text;
    size_t bytes;
};

static void test_load_body_limit(void **state)
{
    struct fx *f = *state;
    static const struct size_case cases[] = {
        {"1024", 1024},         {"2048", 2048},       {"1K", 1024},    {"1k", 1024},
        {"64K", 65536},         {"2M", 2097152},      {"3m", 3145728}, {"64M", 67108864},
        {"67108864", 67108864}, {"1048576", 1048576},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *text = xasprintf("[webhook]\nbody_limit = %s\n", cases[i].text);
        fx_write(f, "porter.conf", text, 0644);
        free(text);
        if (config_load(f->c, &f->e) != 0)
            fail_msg("body_limit = %s: %s", cases[i].text, f->e.msg);
        if (f->c->body_limit != cases[i].bytes)
            fail_msg("body_limit = %s: got %zu, want %zu", cases[i].text, f->c->body_limit,
                     cases[i].bytes);
    }
}

static void test_load_webhook_bounds(void **state)
{
    struct fx *f = *state;
    fx_write(f, "porter.conf",
             "[webhook]\nlisten = localhost:65535\nmax_connections = 10000\nconn_timeout = 3600\n"
             "[general]\nlog_level = error\n",
             0644);
    assert_int_equal(config_load(f->c, &f->e), 0);
    assert_string_equal(f->c->listen, "localhost:65535");
    assert_int_equal(f->c->max_connections, 10000);
    assert_int_equal(f->c->conn_timeout, 3600);
    assert_string_equal(f->c->log_level, "error");

    fx_write(f, "porter.conf", "[webhook]\nmax_connections = 1\nconn_timeout = 1\n", 0644);
    assert_int_equal(config_load(f->c, &f->e), 0);
    assert_int_equal(f->c->max_connections, 1);
    assert_int_equal(f->c->conn_timeout, 1);
    assert_string_equal(f->c->log_level, "info");

    fx_write(f, "accounts.conf",
             "[a]\nadapter = guesty\npoll_interval = 86400\nrate_limit = 10000\n"
             "rate_burst = 100000\n",
             0600);
    assert_int_equal(config_load(f->c, &f->e), 0);
    assert_int_equal(f->c->accounts[0].poll_interval, 86400);
    assert_true(f->c->accounts[0].rate_limit == 10000.0);
    assert_int_equal(f->c->accounts[0].rate_burst, 100000);
}

/* ---- accounts.conf permissions ---- */

static void test_perm_refused(void **state)
{
    struct fx *f = *state;
    static const struct {
        mode_t mode;
        const char *what;
    } cases[] = {
        {0644, "readable"}, {0640, "readable"},   {0604, "readable"},
        {0660, "readable"}, {0620, "accessible"}, {0601, "accessible"},
    };
    char *acc = fx_path(f, "accounts.conf");
    char *marker = fx_path(f, "ran");

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *text = xasprintf("[a]\nadapter = hostaway\nsecret_cmd = touch %s; echo x\n", marker);
        fx_write(f, "accounts.conf", text, cases[i].mode);
        free(text);
        assert_int_equal(config_load(f->c, &f->e), -1);
        char *want = xasprintf("%s is %s by group or others (mode %04o); run: chmod 600 %s", acc,
                               cases[i].what, (unsigned)cases[i].mode, acc);
        assert_string_equal(f->e.msg, want);
        free(want);
        assert_int_equal(f->e.retry, FINAL);
        assert_false(fx_exists(f, "ran")); /* refused before secret_cmd ran */
        assert_reset(f->c);
    }

    /* A bad line is not even looked at: the mode is checked first. */
    fx_write(f, "accounts.conf", "this is not ini\n", 0644);
    assert_int_equal(config_load(f->c, &f->e), -1);
    assert_non_null(strstr(f->e.msg, "run: chmod 600"));
    free(acc);
    free(marker);
}

static void test_perm_accepted(void **state)
{
    struct fx *f = *state;
    static const mode_t modes[] = {0600, 0400, 0700};
    char *marker = fx_path(f, "ran");
    char *text = xasprintf("[a]\nadapter = hostaway\nsecret_cmd = touch %s; echo x\n", marker);
    for (size_t i = 0; i < ARRAY_LEN(modes); i++) {
        fx_write(f, "accounts.conf", text, modes[i]);
        if (config_load(f->c, &f->e) != 0)
            fail_msg("mode %04o: %s", (unsigned)modes[i], f->e.msg);
        assert_true(fx_exists(f, "ran"));
        assert_string_equal(f->c->accounts[0].secret, "x");
        fx_remove(f, "ran");
    }
    /* porter.conf is not secret: any mode will do. */
    fx_write(f, "accounts.conf", text, 0600);
    fx_write(f, "porter.conf", "[general]\nlog_level = warn\n", 0666);
    assert_int_equal(config_load(f->c, &f->e), 0);
    assert_string_equal(f->c->log_level, "warn");
    free(text);
    free(marker);
}

static void test_perm_owner(void **state)
{
    struct fx *f = *state;
    if (geteuid() != 0)
        skip(); /* only root can give a file away */
    char *acc = fx_path(f, "accounts.conf");
    fx_write(f, "accounts.conf", "[a]\nadapter = hostaway\n", 0600);
    assert_int_equal(chown(acc, 65534, (gid_t)-1), 0);
    assert_int_equal(config_load(f->c, &f->e), -1);
    char *want =
        xasprintf("%s is owned by uid 65534, not by you (uid %u)", acc, (unsigned)getuid());
    assert_int_equal(strncmp(f->e.msg, want, strlen(want)), 0);
    assert_non_null(strstr(f->e.msg, "chmod 600"));
    assert_reset(f->c);
    free(want);
    free(acc);
}

static void test_not_regular(void **state)
{
    struct fx *f = *state;
    char *acc = fx_path(f, "accounts.conf");
    char *por = fx_path(f, "porter.conf");
    char *want;

    assert_int_equal(mkdir(acc, 0700), 0);
    assert_int_equal(config_load(f->c, &f->e), -1);
    want = xasprintf("%s is not a regular file", acc);
    assert_string_equal(f->e.msg, want);
    free(want);
    assert_int_equal(rmdir(acc), 0);

    assert_int_equal(symlink("nowhere", acc), 0);
    assert_int_equal(config_load(f->c, &f->e), -1);
    want = xasprintf("%s is a symbolic link to a missing file", acc);
    assert_string_equal(f->e.msg, want);
    free(want);
    assert_int_equal(unlink(acc), 0);

    assert_int_equal(mkdir(por, 0700), 0);
    assert_int_equal(config_load(f->c, &f->e), -1);
    want = xasprintf("%s is not a regular file", por);
    assert_string_equal(f->e.msg, want);
    free(want);
    assert_int_equal(rmdir(por), 0);

    /* A symlink to a private file is fine: the target is checked. */
    fx_write(f, "real.conf", "[a]\nadapter = guesty\n", 0600);
    assert_int_equal(symlink("real.conf", acc), 0);
    assert_int_equal(config_load(f->c, &f->e), 0);
    assert_int_equal(f->c->naccounts, 1);
    free(acc);
    free(por);
}

/* ---- secret_cmd ---- */

struct cmd_case {
    const char *cmd;
    const char *secret; /* NULL: must fail */
    const char *why;    /* the parenthesis of the failure message */
};

static void test_secret_cmd(void **state)
{
    struct fx *f = *state;
    static const struct cmd_case cases[] = {
        {"echo s3cr3t-value", "s3cr3t-value", NULL},
        {"printf 'first\\nsecond\\n'", "first", NULL},
        {"printf 'no-newline'", "no-newline", NULL},
        {"printf 'crlf\\r\\n'", "crlf", NULL},
        {"printf '  spaced  \\n'", "  spaced  ", NULL},
        {"echo hunter2; exit 0", "hunter2", NULL},
        {"false", NULL, "(exit 1)"},
        {"echo hunter2; exit 3", NULL, "(exit 3)"},
        {"echo hunter2; false", NULL, "(exit 1)"},
        {"true", NULL, "(exit 0, empty first line)"},
        {"echo; echo hunter2", NULL, "(exit 0, empty first line)"},
        {"echo hunter2; kill -TERM $$", NULL, "(killed by signal 15)"},
        {"/nonexistent/porter-test-cmd 2>/dev/null", NULL, "(exit 127)"},
    };
    char *acc = fx_path(f, "accounts.conf");

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct cmd_case *t = &cases[i];
        /* The command is on line 7, in the second account. */
        char *text = xasprintf("[first]\nadapter = guesty\nsecret = inline\n\n"
                               "[acct]\nadapter = hostaway\nsecret_cmd = %s\n",
                               t->cmd);
        fx_write(f, "accounts.conf", text, 0600);
        free(text);
        int rc = config_load(f->c, &f->e);
        if (t->secret) {
            if (rc != 0)
                fail_msg("%s: %s", t->cmd, f->e.msg);
            assert_string_equal(f->c->accounts[0].secret, "inline");
            assert_string_equal(f->c->accounts[1].secret, t->secret);
            assert_string_equal(f->c->accounts[1].secret_cmd, t->cmd);
            continue;
        }
        if (rc != -1)
            fail_msg("%s: config_load returned %d, expected -1", t->cmd, rc);
        char *want = xasprintf("%s:7: secret_cmd for account [acct] failed %s", acc, t->why);
        if (strcmp(f->e.msg, want) != 0)
            fail_msg("%s: got '%s', want '%s'", t->cmd, f->e.msg, want);
        free(want);
        if (strstr(f->e.msg, "hunter2"))
            fail_msg("%s: the message shows the secret: %s", t->cmd, f->e.msg);
        assert_reset(f->c);
    }
    free(acc);
}

/* secret_cmd runs only once both files have been checked. */
static void test_secret_cmd_runs_last(void **state)
{
    struct fx *f = *state;
    char *marker = fx_path(f, "ran");
    char *text = xasprintf("[a]\nadapter = hostaway\nsecret_cmd = touch %s; echo x\n"
                           "[b]\nadapter = guesty\nrate_limit = x\n",
                           marker);
    fx_write(f, "accounts.conf", text, 0600);
    assert_int_equal(config_load(f->c, &f->e), -1);
    assert_non_null(strstr(f->e.msg, "rate_limit"));
    assert_false(fx_exists(f, "ran"));

    text[strlen(text) - strlen("rate_limit = x\n")] = '\0';
    fx_write(f, "accounts.conf", text, 0600);
    fx_write(f, "porter.conf", "[webhook]\nlisten = nowhere\n", 0644);
    assert_int_equal(config_load(f->c, &f->e), -1);
    assert_non_null(strstr(f->e.msg, "listen must be"));
    assert_false(fx_exists(f, "ran"));

    fx_remove(f, "porter.conf");
    assert_int_equal(config_load(f->c, &f->e), 0);
    assert_true(fx_exists(f, "ran"));
    free(text);
    free(marker);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_null_args, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_free_sets_null, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_new_defaults, fx_setup, fx_teardown),
        cmocka_unit_test(test_new_xdg),
        cmocka_unit_test_setup_teardown(test_load_missing_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_load_good, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_load_edge_syntax, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_load_bad_lines, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_load_nul_byte, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_load_body_limit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_load_webhook_bounds, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_perm_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_perm_accepted, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_perm_owner, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_not_regular, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_secret_cmd, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_secret_cmd_runs_last, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
