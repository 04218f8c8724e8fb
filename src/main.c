/* main.c - porter's command line: options, the subcommand table, and start-up.
 *
 * Only main may exit. Subcommands are registered in one table; the TUI is the default.
 */
#include <getopt.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli.h"
#include "config.h"
#include "demo.h"
#include "engine.h"
#include "log.h"
#include "notify.h"
#include "store.h"

struct cli {
    const char *config_dir; /* --config DIR */
    const char *db_path;    /* --db FILE */
    int demo;               /* --demo[=DIR] */
    const char *demo_dir;
};

struct command {
    const char *name;
    const char *args;
    const char *help;
    int needs_store; /* open (and migrate) the database before running */
    int (*run)(struct config *c, struct store *s, int argc, char **argv);
};

static int cmd_tui(struct config *c, struct store *s, int argc, char **argv);
static int cmd_config(struct config *c, struct store *s, int argc, char **argv);
static int cmd_init(struct config *c, struct store *s, int argc, char **argv);

static const struct command commands[] = {
    {"tui", "", "open the full-screen interface (the default)", 1, cmd_tui},
    {"config", "", "check the configuration and print paths and accounts (no secrets)", 0,
     cmd_config},
    {"init", "", "create or migrate the database and print its schema version", 1, cmd_init},
    {"sync", "[--once]", "run the sync engine headless (--once: one pass, then exit)", 1, cli_sync},
    {"status", "[--json]", "sync health; exit 0 healthy, 1 degraded, 2 down", 1, cli_status},
    {"threads", "[--json] [--all]", "list conversations, newest first (--all: with done)", 1,
     cli_threads},
    {"messages", "THREAD", "the messages of a thread ([--json])", 1, cli_messages},
    {"send", "THREAD TEXT", "queue a reply to the guest or tenant", 1, cli_send},
    {"note", "THREAD TEXT", "queue an internal note", 1, cli_note},
    {"wo", "list|set", "work orders: list [--json]; set WO status=STATUS", 1, cli_wo},
    {"rules", "list|check|...", "automations: list, check, log, test EVENT.json, undo FIRING", 1,
     cli_rules},
    {"doctor", "", "check config, database, webhook listener and every account", 0, cli_doctor},
};

static int run(const struct cli *cli, const struct command *cmd, int argc, char **argv);

static void usage(FILE *f)
{
    fprintf(f, "usage: porter [options] [command [args]]\n"
               "\n"
               "porter is a terminal inbox and work-order board kept in two-way sync with\n"
               "property management systems (Hostaway, Guesty, Buildium).\n"
               "\n"
               "options:\n"
               "  -c, --config DIR   configuration directory (default $XDG_CONFIG_HOME/porter)\n"
               "  -d, --db FILE      database file (default $XDG_DATA_HOME/porter/porter.db)\n"
               "      --demo[=DIR]   run against the bundled PMS simulator with demo data and a\n"
               "                     throwaway config and database under DIR (default\n"
               "                     $XDG_STATE_HOME/porter/demo; emptied at each start)\n"
               "  -h, --help         show this help and exit\n"
               "  -V, --version      show the version and exit\n"
               "\n"
               "commands:\n");
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        fprintf(f, "  %-8s %-16s %s\n", commands[i].name, commands[i].args, commands[i].help);
    fprintf(f, "\nSee porter(1) and porter.conf(5).\n");
}

static int cmd_tui(struct config *c, struct store *s, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct err e;
    struct notify wake;
    struct engine *g = NULL;
    if (notify_init(&wake, &e) != 0) {
        fprintf(stderr, "porter: %s\n", e.msg);
        return 1;
    }
    /* The engine runs beside the UI; they meet only in SQLite and the wake channel. When
     * another process (porter sync) holds the sync lease, the workers stay idle here. */
    if (c->naccounts > 0) {
        g = engine_new(c, &wake, &e);
        if (!g || engine_start(g, &e) != 0) {
            fprintf(stderr, "porter: %s\n", e.msg);
            engine_free(&g);
            notify_fini(&wake);
            return 1;
        }
    }
    int rc = app_run(c, s, notify_fd(&wake), &e);
    engine_free(&g); /* stop and join the workers after the terminal is restored */
    notify_fini(&wake);
    if (rc != 0) {
        fprintf(stderr, "porter: %s\n", e.msg);
        return 1;
    }
    return 0;
}

static int cmd_config(struct config *c, struct store *s, int argc, char **argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    printf("config dir:    %s\n", c->config_dir);
    printf("accounts.conf: %s\n", c->accounts_path);
    printf("porter.conf:   %s\n", c->porter_path);
    printf("database:      %s\n", c->db_path);
    printf("log:           %s\n", c->log_path);
    printf("webhooks:      %s\n", c->listen);
    printf("accounts:      %zu\n", c->naccounts);
    for (size_t i = 0; i < c->naccounts; i++) {
        const struct account_conf *a = &c->accounts[i];
        char url[512]; /* a user:password in it is masked, as in the log */
        log_redact(a->base_url ? a->base_url : "(default)", url, sizeof(url));
        printf("  [%s] adapter=%s base_url=%s poll=%ds secret=%s webhook_secret=%s\n", a->name,
               a->adapter, url, a->poll_interval, a->secret ? "set" : "unset",
               a->webhook_secret ? "set" : "unset");
    }
    return 0;
}

static int cmd_init(struct config *c, struct store *s, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("%s: schema version %d\n", c->db_path, store_version(s));
    return 0;
}

/* Create the directory that will hold path (mode 0700). */
static int parent_dir(const char *path, struct err *e)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        rc = mkdir_p(dir, 0700, e);
    }
    free(dir);
    return rc;
}

int main(int argc, char **argv)
{
    /* A core file would hold the account secrets and tokens: none is written (the fatal
     * signal handler still restores the terminal and reports the signal). */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"db", required_argument, NULL, 'd'},
        {"demo", optional_argument, NULL, 'D'},   {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    struct cli cli = {0};
    int ch;
    while ((ch = getopt_long(argc, argv, "+c:d:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            cli.config_dir = optarg;
            break;
        case 'd':
            cli.db_path = optarg;
            break;
        case 'D':
            cli.demo = 1;
            cli.demo_dir = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("porter %s (schema %d)\n", PORTER_VERSION, store_latest_version());
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    const struct command *cmd = &commands[0];
    if (optind < argc) {
        cmd = NULL;
        for (size_t i = 0; i < ARRAY_LEN(commands); i++)
            if (strcmp(argv[optind], commands[i].name) == 0)
                cmd = &commands[i];
        if (!cmd) {
            fprintf(stderr, "porter: unknown command '%s' (see porter --help)\n", argv[optind]);
            return 2;
        }
        optind++;
    }

    struct err e;
    err_clear(&e);
    struct demo demo = {0};
    if (cli.demo) {
        if (cli.config_dir || cli.db_path) {
            fprintf(stderr, "porter: --demo makes its own configuration and database: it does not "
                            "take --config or --db\n");
            return 2;
        }
        if (demo_start(&demo, cli.demo_dir, argv[0], &e) != 0) {
            fprintf(stderr, "porter: %s\n", e.msg);
            return 1;
        }
        cli.config_dir = demo.config_dir;
        cli.db_path = demo.db;
        fprintf(stderr,
                "porter demo: pmsim (Hostaway :%d, Guesty :%d, Buildium :%d) sends webhooks to "
                ":%d\nporter demo: configuration, database and logs in %s\n",
                demo.port[0], demo.port[1], demo.port[2], demo.hook_port, demo.dir);
    }
    int rc = run(&cli, cmd, argc, argv);
    if (cli.demo) {
        demo_stop(&demo);
        fprintf(stderr, "porter demo: the simulator is stopped; %s is emptied by the next run\n",
                demo.dir);
    }
    return rc;
}

/* Load the configuration, open the log and the database, run the command. */
static int run(const struct cli *cli, const struct command *cmd, int argc, char **argv)
{
    struct err e;
    err_clear(&e);
    struct config *c = config_new(cli->config_dir, cli->db_path, &e);
    if (!c || config_load(c, &e) != 0) {
        if (strcmp(cmd->name, "doctor") == 0)
            printf("%-5s %-9s %s\n", "FAIL", "config", e.msg);
        fprintf(stderr, "porter: %s\n", e.msg);
        config_free(&c);
        return 1;
    }
    enum log_level lvl = LOG_INFO;
    log_level_parse(c->log_level, &lvl);
    if (log_open(c->log_path, lvl, &e) != 0)
        fprintf(stderr, "porter: warning: %s; logging to stderr\n", e.msg);
    log_info("main", "porter %s starting: %s", PORTER_VERSION, cmd->name);

    struct store *s = NULL;
    if (cmd->needs_store) {
        if (parent_dir(c->db_path, &e) != 0 || !(s = store_open(c->db_path, &e))) {
            fprintf(stderr, "porter: %s\n", e.msg);
            log_error("main", "%s", e.msg);
            config_free(&c);
            log_close();
            return 1;
        }
    }
    int rc = cmd->run(c, s, argc - optind, argv + optind);
    store_close(&s);
    config_free(&c);
    log_close();
    return rc;
}
