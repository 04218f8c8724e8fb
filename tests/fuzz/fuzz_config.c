/* fuzz_config.c - libFuzzer target for the configuration parser (config_load: accounts.conf
 * and porter.conf through libinih and conf_reader) and the [keys] bindings (keymap_load).
 *
 * Input (text; parts separated by a line "%%"):
 *   part 1  accounts.conf (written 0600 into a private temporary directory)
 *   part 2  porter.conf (absent: no porter.conf)
 *   part 3  what every secret_cmd prints (absent: "fuzz-secret\n")
 * A part that is exactly "-" means "no such file".
 *
 * secret_cmd is never run: the link wraps popen/pclose (-Wl,--wrap=popen,--wrap=pclose) so
 * that the command's "output" is part 3 read from memory; a command containing "fail"
 * exits 1, one containing "kill" dies of signal 9. No shell ever sees a fuzzed command.
 *
 * Oracles: on success every account has a valid name (unique), a known adapter and values
 * inside the documented ranges, [general]/[webhook] values are valid, every entry can be
 * read back with config_get and config_account; a secret_cmd account's secret is the first
 * line of the output (CR stripped). On failure the config is back to the defaults and the
 * message names the file (FILE:LINE: ...) or the secret_cmd. keymap_load turns every bad
 * [keys] entry into one warning naming porter.conf, and key names round-trip
 * (keymap_parse_key(keymap_key_name(k)) == k).
 *
 * Seeds: tests/fuzz/corpus/config/ (tests/fuzz/make_seeds.py).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"
#include "keymap.h"

static char dir[256];
static char *accounts_path, *porter_path;

/* ---- popen/pclose stand-ins ---- */

static const char *cmd_out;
static size_t cmd_out_len;
static FILE *cmd_fp;
static int cmd_status;

FILE *__wrap_popen(const char *command, const char *type);
FILE *__wrap_popen(const char *command, const char *type)
{
    FUZZ_CHECK(command && *command && type && strcmp(type, "r") == 0);
    FUZZ_CHECK(cmd_fp == NULL); /* one at a time, always closed */
    cmd_status = strstr(command, "kill") ? 9 : strstr(command, "fail") ? (1 << 8) : 0;
    cmd_fp = cmd_out_len ? fmemopen((void *)cmd_out, cmd_out_len, "r") : fopen("/dev/null", "r");
    FUZZ_CHECK(cmd_fp != NULL);
    return cmd_fp;
}

int __wrap_pclose(FILE *fp);
int __wrap_pclose(FILE *fp)
{
    FUZZ_CHECK(fp && fp == cmd_fp);
    fclose(fp);
    cmd_fp = NULL;
    return cmd_status;
}

/* ---- files ---- */

static void put_file(const char *path, const struct fuzz_part *p, mode_t mode)
{
    unlink(path);
    if (!p || (p->n == 1 && p->p[0] == '-'))
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    FUZZ_CHECK(fd >= 0);
    fchmod(fd, mode);
    size_t off = 0;
    while (off < p->n) {
        ssize_t w = write(fd, p->p + off, p->n - off);
        FUZZ_CHECK(w > 0);
        off += (size_t)w;
    }
    close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_log_init();
    snprintf(dir, sizeof(dir), "%s", fuzz_tmpdir("config"));
    accounts_path = xasprintf("%s/accounts.conf", dir);
    porter_path = xasprintf("%s/porter.conf", dir);
    return 0;
}

static int valid_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static void check_loaded(const struct config *c)
{
    for (size_t i = 0; i < c->naccounts; i++) {
        const struct account_conf *a = &c->accounts[i];
        FUZZ_CHECK(valid_name(a->name));
        FUZZ_CHECK(a->adapter &&
                   (strcmp(a->adapter, "hostaway") == 0 || strcmp(a->adapter, "guesty") == 0 ||
                    strcmp(a->adapter, "buildium") == 0));
        FUZZ_CHECK(config_account(c, a->name) == a); /* unique */
        FUZZ_CHECK(a->poll_interval >= 5 && a->poll_interval <= 86400);
        FUZZ_CHECK(a->rate_limit >= 0 && a->rate_limit <= 10000);
        FUZZ_CHECK(a->rate_burst >= 0 && a->rate_burst <= 100000);
        FUZZ_CHECK(!a->base_url || strncmp(a->base_url, "http://", 7) == 0 ||
                   strncmp(a->base_url, "https://", 8) == 0);
        FUZZ_CHECK(!a->client_id || *a->client_id);
        FUZZ_CHECK(!a->webhook_secret || *a->webhook_secret);
        FUZZ_CHECK(!(a->secret_cmd && !a->secret)); /* resolved */
        if (a->secret_cmd) {
            /* the first line of the output, without a trailing CR */
            size_t l = strlen(a->secret);
            FUZZ_CHECK(l > 0 && l <= cmd_out_len && memcmp(a->secret, cmd_out, l) == 0);
            FUZZ_CHECK(l == cmd_out_len || cmd_out[l] == '\n' ||
                       (cmd_out[l] == '\r' && (l + 1 == cmd_out_len || cmd_out[l + 1] == '\n')));
            FUZZ_CHECK(memchr(a->secret, '\n', l) == NULL);
        } else if (a->secret) {
            FUZZ_CHECK(*a->secret);
        }
        FUZZ_CHECK(a->line >= 1);
    }
    FUZZ_CHECK(c->log_level);
    enum log_level lv;
    FUZZ_CHECK(log_level_parse(c->log_level, &lv) == 0);
    FUZZ_CHECK(c->listen && strchr(c->listen, ':'));
    FUZZ_CHECK(c->body_limit >= 1024 && c->body_limit <= (size_t)64 * 1024 * 1024);
    FUZZ_CHECK(c->max_connections >= 1 && c->max_connections <= 10000);
    FUZZ_CHECK(c->conn_timeout >= 1 && c->conn_timeout <= 3600);
    for (size_t i = 0; i < c->nentries; i++) {
        const struct conf_entry *en = &c->entries[i];
        FUZZ_CHECK(en->section && en->key && en->value && en->line >= 1);
        FUZZ_CHECK(*en->section);
        FUZZ_CHECK(strchr(en->key, '\n') == NULL && strchr(en->value, '\n') == NULL);
        FUZZ_CHECK(config_get(c, en->section, en->key) != NULL);
    }
}

static void check_keys(const struct config *c)
{
    struct keymap *km = keymap_new();
    char **warn = NULL;
    size_t nwarn = 0;
    keymap_load(km, c, &warn, &nwarn);
    size_t nkeys = 0;
    for (size_t i = 0; i < c->nentries; i++) {
        if (strcmp(c->entries[i].section, "keys") != 0)
            continue;
        nkeys++;
        const char *k = c->entries[i].key;
        const char *dot = strchr(k, '.');
        int code = keymap_parse_key(dot && dot != k ? dot + 1 : k);
        if (code < 0)
            code = keymap_parse_key(k);
        if (code >= 0) {
            char name[32];
            keymap_key_name(code, name, sizeof(name));
            FUZZ_CHECK(keymap_parse_key(name) == code);
        }
    }
    FUZZ_CHECK(nwarn <= nkeys);
    for (size_t i = 0; i < nwarn; i++) {
        FUZZ_CHECK(strncmp(warn[i], porter_path, strlen(porter_path)) == 0);
        free(warn[i]);
    }
    free(warn);
    static const unsigned views[] = {VIEW_INBOX, VIEW_BOARD, VIEW_HEALTH};
    for (const struct command *cmd = commands; cmd->name; cmd++)
        for (size_t v = 0; v < 3; v++) {
            char out[64];
            keymap_keys_of(km, views[v], cmd->name, out, sizeof(out));
            FUZZ_CHECK(strlen(out) < sizeof(out));
        }
    keymap_free(&km);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 128 * 1024)
        return 0;
    struct fuzz_part p[3];
    size_t np = fuzz_split((const char *)data, size, p, 3);
    cmd_out = np > 2 ? p[2].p : "fuzz-secret\n";
    cmd_out_len = np > 2 ? p[2].n : strlen("fuzz-secret\n");
    put_file(accounts_path, &p[0], 0600);
    put_file(porter_path, np > 1 ? &p[1] : NULL, 0644);

    struct err e;
    char *db = xasprintf("%s/porter.db", dir);
    struct config *c = config_new(dir, db, &e);
    free(db);
    FUZZ_CHECK(c != NULL);
    err_clear(&e);
    int rc = config_load(c, &e);
    FUZZ_CHECK(rc == 0 || rc == -1);
    FUZZ_CHECK(cmd_fp == NULL);
    if (rc == 0) {
        check_loaded(c);
        check_keys(c);
    } else {
        FUZZ_CHECK(c->naccounts == 0 && c->nentries == 0);
        FUZZ_CHECK(e.msg[0] != '\0');
        FUZZ_CHECK(strncmp(e.msg, accounts_path, strlen(accounts_path)) == 0 ||
                   strncmp(e.msg, porter_path, strlen(porter_path)) == 0);
        check_loaded(c); /* the defaults */
    }
    config_free(&c);
    return 0;
}
