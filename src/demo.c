/* demo.c - porter --demo: a living company to look at, with nothing to configure.
 *
 * The PMS simulator (pmsim) is started with the demo fixtures (a Hostaway, a Guesty and a
 * Buildium account) and its scenario clock running, each account on a free loopback port
 * and delivering signed webhooks to porter's listener (also on a free port). A throwaway
 * configuration and database are written under the demo directory (0700, files 0600);
 * every run starts from an empty directory. pmsim is stopped when porter exits, and dies
 * with porter if porter is killed (PR_SET_PDEATHSIG).
 *
 * pmsim and the fixtures are looked up beside the porter binary: the source tree (./pmsim,
 * ./data/demo) or an installation (../libexec/porter/pmsim, ../share/porter/demo), or
 * where $PORTER_PMSIM and $PORTER_DEMO_DATA say.
 */
#define _GNU_SOURCE
#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define DEMO_MARK ".porter-demo" /* only a directory holding it is ever emptied */
#define DEMO_RATE "0.1"          /* scenario ticks per second and account */

static const char *const DIALECTS[] = {"hostaway", "guesty", "buildium"};

/* The directory of the running binary: /proc/self/exe where there is one, else the
 * directory of argv[0] when it names one ("." otherwise). */
static void exe_dir(const char *argv0, char *out, size_t n)
{
    ssize_t len = readlink("/proc/self/exe", out, n - 1);
    if (len > 0)
        out[len] = '\0';
    else
        snprintf(out, n, "%s", argv0 && strchr(argv0, '/') ? argv0 : "./porter");
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
}

static int is_exec(const char *p)
{
    return access(p, X_OK) == 0;
}

static int is_dir_with(const char *dir, const char *file)
{
    char p[8192];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    return access(p, R_OK) == 0;
}

/* A loopback TCP port nothing listens on at this moment. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int write_file(const char *path, const char *text, struct err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(e, errno, FINAL, "cannot write %s: %s", path, strerror(errno));
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    int rc = close(fd);
    if (w != (ssize_t)n || rc != 0)
        return err_set(e, errno, FINAL, "cannot write %s: %s", path, strerror(errno));
    return 0;
}

/* Start from an empty directory: remove a previous demo's (never a directory porter did
 * not make), then create it 0700 with its mark. */
static int fresh_dir(const char *dir, struct err *e)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return err_set(e, EEXIST, FINAL, "%s exists and is not a directory", dir);
        if (!is_dir_with(dir, DEMO_MARK)) {
            /* not a demo's: only an empty one is taken (rmdir fails on any other) */
            if (rmdir(dir) != 0 && errno != ENOENT)
                return err_set(e, EEXIST, FINAL,
                               "%s exists and is not a porter demo directory (no %s in it): "
                               "move it away or choose another with --demo=DIR",
                               dir, DEMO_MARK);
        } else if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
            return err_set(e, errno, FINAL, "cannot clear %s: %s", dir, strerror(errno));
        }
    }
    if (mkdir_p(dir, 0700, e) != 0)
        return -1;
    char mark[4096];
    snprintf(mark, sizeof(mark), "%s/%s", dir, DEMO_MARK);
    return write_file(mark, "porter --demo: this directory is emptied by the next demo run\n", e);
}

/* Find pmsim and the fixtures; on failure say what is missing and where it was looked
 * for. */
static int locate(struct demo *d, const char *argv0, struct err *e)
{
    char here[2048];
    exe_dir(argv0, here, sizeof(here));
    const char *env = getenv("PORTER_PMSIM");
    char a[4096], b[4096];
    snprintf(a, sizeof(a), "%s/pmsim", here);
    snprintf(b, sizeof(b), "%s/../libexec/porter/pmsim", here);
    if (env && *env)
        snprintf(d->pmsim, sizeof(d->pmsim), "%s", env);
    else
        snprintf(d->pmsim, sizeof(d->pmsim), "%s", is_exec(a) ? a : b);
    if (env && *env && !is_exec(d->pmsim))
        return err_set(e, ENOENT, FINAL, "$PORTER_PMSIM is %s, which is not an executable", env);
    if (!is_exec(d->pmsim))
        return err_set(e, ENOENT, FINAL,
                       "--demo needs the PMS simulator, pmsim, and there is none at %s or %s: "
                       "run 'make demo' in the source tree, or 'make install-demo' to install "
                       "it beside porter",
                       a, b);
    env = getenv("PORTER_DEMO_DATA");
    snprintf(a, sizeof(a), "%s/data/demo", here);
    snprintf(b, sizeof(b), "%s/../share/porter/demo", here);
    if (env && *env)
        snprintf(d->data, sizeof(d->data), "%s", env);
    else
        snprintf(d->data, sizeof(d->data), "%s", is_dir_with(a, "hostaway.json") ? a : b);
    for (size_t i = 0; i < ARRAY_LEN(DIALECTS); i++) {
        char f[64];
        snprintf(f, sizeof(f), "%s.json", DIALECTS[i]);
        if (!is_dir_with(d->data, f))
            return err_set(e, ENOENT, FINAL,
                           "--demo needs the demo fixtures and %s/%s is missing (looked in %s "
                           "and %s): run 'make demo' in the source tree, or 'make install-demo'",
                           d->data, f, a, b);
    }
    return 0;
}

/* Wait (up to 10 s) for pmsim's "ready" line in its log and read each account's port. */
static int wait_ready(struct demo *d, struct err *e)
{
    for (int t = 0; t < 200; t++) {
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            return err_set(e, ECHILD, FINAL, "pmsim stopped at start-up (see %s)", d->sim_log);
        }
        FILE *f = fopen(d->sim_log, "r");
        char line[512];
        int ready = 0;
        while (f && fgets(line, sizeof(line), f)) {
            char dialect[32];
            int port;
            if (sscanf(line, "pmsim: %31s listening on 127.0.0.1:%d", dialect, &port) == 2)
                for (size_t i = 0; i < ARRAY_LEN(DIALECTS); i++)
                    if (strcmp(dialect, DIALECTS[i]) == 0)
                        d->port[i] = port;
            if (strncmp(line, "pmsim: ready", 12) == 0)
                ready = 1;
        }
        if (f)
            fclose(f);
        if (ready)
            return d->port[0] && d->port[1] && d->port[2]
                       ? 0
                       : err_set(e, EPROTO, FINAL, "pmsim did not say its ports (see %s)",
                                 d->sim_log);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return err_set(e, ETIMEDOUT, FINAL, "pmsim was not ready within 10 s (see %s)", d->sim_log);
}

static int start_sim(struct demo *d, struct err *e)
{
    char hook[128];
    snprintf(hook, sizeof(hook), "http://127.0.0.1:%d/hooks/{dialect}", d->hook_port);
    int out = open(d->sim_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0)
        return err_set(e, errno, FINAL, "cannot write %s: %s", d->sim_log, strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(out);
        return err_set(e, errno, FINAL, "cannot start pmsim: %s", strerror(errno));
    }
    if (pid == 0) {
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* porter killed: the simulator goes too */
#endif
        if (getppid() != parent)
            _exit(0);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(out, 1);
        dup2(out, 2);
        execl(d->pmsim, "pmsim", "--account", "hostaway:0", "--account", "guesty:0", "--account",
              "buildium:0", "--data", d->data, "--rate", DEMO_RATE, "--webhook-url", hook,
              (char *)NULL);
        dprintf(out, "porter: cannot run %s: %s\n", d->pmsim, strerror(errno));
        _exit(127);
    }
    close(out);
    d->pid = pid;
    return wait_ready(d, e);
}

static int write_config(struct demo *d, struct err *e)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/config", d->dir);
    if (mkdir_p(path, 0700, e) != 0)
        return -1;
    /* The fixtures' own credentials (data/demo/DIALECT.json); nothing here is a real secret. */
    char *accounts = xasprintf(
        "# porter --demo: three accounts served by pmsim on loopback (throwaway)\n"
        "[hostaway]\nadapter = hostaway\nbase_url = http://127.0.0.1:%d/v1\nclient_id = 10450\n"
        "secret = c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d\n"
        "webhook_secret = porter:change-me\npoll_interval = 120\n\n"
        "[guesty]\nadapter = guesty\nbase_url = http://127.0.0.1:%d/v1\n"
        "client_id = pmsim-guesty\nsecret = pmsim-guesty-secret\n"
        "webhook_secret = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\npoll_interval = 120\n\n"
        "[buildium]\nadapter = buildium\nbase_url = http://127.0.0.1:%d/v1\n"
        "client_id = pmsim-buildium-client\nsecret = pmsim-buildium-secret\n"
        "webhook_secret = pmsim-buildium-webhook-key\npoll_interval = 120\n",
        d->port[0], d->port[1], d->port[2]);
    char *porter =
        xasprintf("# porter --demo (throwaway)\n[webhook]\nlisten = 127.0.0.1:%d\n\n"
                  "[ui]\nme = %s\n",
                  d->hook_port, getenv("USER") && *getenv("USER") ? getenv("USER") : "demo");
    snprintf(path, sizeof(path), "%s/config/accounts.conf", d->dir);
    int rc = write_file(path, accounts, e);
    snprintf(path, sizeof(path), "%s/config/porter.conf", d->dir);
    if (rc == 0)
        rc = write_file(path, porter, e);
    free(accounts);
    free(porter);
    snprintf(d->config_dir, sizeof(d->config_dir), "%s/config", d->dir);
    snprintf(d->db, sizeof(d->db), "%s/porter.db", d->dir);
    snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
    return rc;
}

int demo_start(struct demo *d, const char *dir, const char *argv0, struct err *e)
{
    memset(d, 0, sizeof(*d));
    if (dir && *dir) {
        snprintf(d->dir, sizeof(d->dir), "%s", dir);
    } else {
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(d->dir, sizeof(d->dir), "%s/porter/demo", xdg);
        else
            snprintf(d->dir, sizeof(d->dir), "%s/.local/state/porter/demo", home ? home : ".");
    }
    if (locate(d, argv0, e) != 0 || fresh_dir(d->dir, e) != 0)
        return -1;
    char abs[PATH_MAX]; /* every path below is absolute, whatever the working directory */
    if (realpath(d->dir, abs) && strlen(abs) < sizeof(d->dir))
        memcpy(d->dir, abs, strlen(abs) + 1);
    snprintf(d->sim_log, sizeof(d->sim_log), "%s/pmsim.log", d->dir);
    if ((d->hook_port = free_port()) < 0)
        return err_set(e, errno, FINAL, "no free loopback port for the webhook listener: %s",
                       strerror(errno));
    if (start_sim(d, e) != 0 || write_config(d, e) != 0) {
        demo_stop(d);
        return -1;
    }
    /* the log goes under the demo directory too */
    setenv("XDG_STATE_HOME", d->state, 1);
    return 0;
}

void demo_stop(struct demo *d)
{
    if (d->pid <= 0)
        return;
    kill(d->pid, SIGTERM);
    for (int t = 0; t < 100; t++) { /* 5 s, then it is killed */
        if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
            d->pid = 0;
            return;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
}
