/* longlib.c - see longlib.h */
#include "longlib.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HA_SECRET   "c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d"
#define STEP_RECORD 64 /* src/sync/engine.c */

void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int64_t mono_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char bin_dir[64];

static void bins_remove(void)
{
    if (!bin_dir[0])
        return;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", bin_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", bin_dir);
    bin_dir[0] = '\0';
}

static int copy_bin(const char *var, const char *name)
{
    const char *src = getenv(var);
    if (!src)
        return -1;
    char dst[128];
    snprintf(dst, sizeof(dst), "%s/%s", bin_dir, name);
    for (int tries = 0; tries < 100; tries++) { /* it may be being relinked right now */
        FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
        char buf[65536];
        size_t n, total = 0;
        int ok = in && out;
        while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0) {
            ok = fwrite(buf, 1, n, out) == n;
            total += n;
        }
        if (in)
            fclose(in);
        if (out && fclose(out) != 0)
            ok = 0;
        if (ok && total > 0 && chmod(dst, 0755) == 0) {
            char check[200];
            snprintf(check, sizeof(check), "'%s' --version >/dev/null 2>&1", dst);
            if (strcmp(name, "pmsim") == 0)
                snprintf(check, sizeof(check), "'%s' --help >/dev/null 2>&1", dst);
            if (system(check) == 0) {
                setenv(var, dst, 1);
                return 0;
            }
        }
        msleep(200);
    }
    return -1;
}

int private_bins(void)
{
    snprintf(bin_dir, sizeof(bin_dir), "/tmp/porter-long-bin-XXXXXX");
    if (!mkdtemp(bin_dir)) {
        bin_dir[0] = '\0';
        return -1;
    }
    atexit(bins_remove);
    return copy_bin("PORTER_BIN", "porter") == 0 && copy_bin("PMSIM_BIN", "pmsim") == 0 ? 0 : -1;
}

static const char *tmp_base(void)
{
    const char *t = getenv("LONG_TMP");
    if (t && *t)
        return t;
    struct stat st;
    return stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
               ? "/dev/shm"
               : "/tmp";
}

int lenv_sim_log;

int lenv_setup(struct lenv *L, const char *tag, const char *const *sim_args)
{
    memset(L, 0, sizeof(*L));
    snprintf(L->dir, sizeof(L->dir), "%s/porter-long-%s-XXXXXX", tmp_base(), tag);
    if (!mkdtemp(L->dir))
        return -1;
    snprintf(L->db, sizeof(L->db), "%s/porter.db", L->dir);
    snprintf(L->steps, sizeof(L->steps), "%s/steps", L->dir);
    L->hook_port = sim_free_port();
    char hook[128];
    snprintf(hook, sizeof(hook), "http://127.0.0.1:%d/hooks/hostaway", L->hook_port);
    const char *argv[40] = {"--account", "hostaway:0",    "--data",
                            "data/demo", "--webhook-url", hook};
    int k = 6;
    for (int i = 0; sim_args && sim_args[i] && k < 39; i++)
        argv[k++] = sim_args[i];
    argv[k] = NULL;
    int saved = -1;
    if (lenv_sim_log) {
        char log[200];
        snprintf(log, sizeof(log), "%s/pmsim.log", L->dir);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            fflush(stderr);
            saved = dup(2);
            dup2(fd, 2);
            close(fd);
        }
    }
    int spawned = sim_spawn(&L->sim, argv);
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
    if (spawned != 0)
        return -1;
    char path[200];
    snprintf(path, sizeof(path), "%s/accounts.conf", L->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    /* poll_interval: the engine pulls on start only; the scenario says when else */
    fprintf(f,
            "[hostaway]\nadapter = hostaway\nbase_url = http://127.0.0.1:%d/v1\n"
            "client_id = 10450\nsecret = %s\nwebhook_secret = porter:change-me\n"
            "poll_interval = 3600\nrate_limit = 500\nrate_burst = 100\n",
            L->sim.port[0], HA_SECRET);
    fclose(f);
    chmod(path, 0600);
    snprintf(path, sizeof(path), "%s/porter.conf", L->dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "[general]\nlog_level = info\n[webhook]\nlisten = 127.0.0.1:%d\n", L->hook_port);
    fclose(f);
    cJSON *m = sim_getj(L, "/_sim/state?collection=messages");
    L->fixture_msgs = cJSON_GetArraySize(m);
    cJSON_Delete(m);
    return 0;
}

void lenv_teardown(struct lenv *L, int keep)
{
    if (L->daemon > 0) {
        kill(L->daemon, SIGKILL);
        waitpid(L->daemon, NULL, 0);
        L->daemon = 0;
    }
    sim_kill(&L->sim);
    if (keep || getenv("LONG_KEEP")) {
        note("kept %s", L->dir);
        return;
    }
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", L->dir);
    if (system(cmd) != 0)
        note("could not remove %s", L->dir);
}

/* ---- processes ---- */

static void child_env(struct lenv *L)
{
    setenv("XDG_STATE_HOME", L->dir, 1);
    setenv("PORTER_STEP_FILE", L->steps, 1);
    if (L->crash_at > 0 && !L->crashed) {
        char n[32];
        snprintf(n, sizeof(n), "%ld", L->crash_at);
        setenv("PORTER_CRASH_AFTER", n, 1);
    } else {
        unsetenv("PORTER_CRASH_AFTER");
    }
    char log[200];
    snprintf(log, sizeof(log), "%s/stderr.log", L->dir);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, 2);
        close(fd);
    }
}

static pid_t spawn(struct lenv *L, int out_fd, const char *const *args)
{
    pid_t pid;
    for (int tries = 0; (pid = fork()) < 0 && tries < 50; tries++) {
        note("fork: %s; trying again", strerror(errno));
        msleep(100);
    }
    if (pid != 0)
        return pid;
    child_env(L);
    if (out_fd >= 0)
        dup2(out_fd, 1);
    else {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
    }
    const char *argv[40] = {getenv("PORTER_BIN"), "--config", L->dir, "--db", L->db};
    int k = 5;
    for (int i = 0; args[i] && k < 39; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    execv(argv[0], (char *const *)(uintptr_t)argv);
    _exit(127);
}

long steps_taken(struct lenv *L)
{
    struct stat st;
    return stat(L->steps, &st) == 0 ? (long)(st.st_size / STEP_RECORD) : 0;
}

/* The name of global step n, from the step file. */
static void step_name(struct lenv *L, long n, char *out, size_t len)
{
    out[0] = '\0';
    int fd = open(L->steps, O_RDONLY);
    char rec[STEP_RECORD + 1];
    if (fd >= 0 && pread(fd, rec, STEP_RECORD, (off_t)(n - 1) * STEP_RECORD) == STEP_RECORD) {
        rec[STEP_RECORD - 1] = '\0';
        char *p = strchr(rec, ' '); /* after the pid */
        if (p) {
            p++;
            size_t l = strlen(p);
            while (l > 0 && p[l - 1] == ' ')
                p[--l] = '\0';
            snprintf(out, len, "%s", p);
        }
    }
    if (fd >= 0)
        close(fd);
}

void step_kinds(struct lenv *L, char *out, size_t len)
{
    char names[16][64];
    long counts[16];
    int k = 0;
    long total = steps_taken(L);
    for (long i = 1; i <= total; i++) {
        char name[64];
        step_name(L, i, name, sizeof(name));
        int j = 0;
        while (j < k && strcmp(names[j], name) != 0)
            j++;
        if (j == k && k < 16) {
            snprintf(names[k], sizeof(names[k]), "%s", name);
            counts[k++] = 0;
        }
        if (j < k)
            counts[j]++;
    }
    size_t used = 0;
    out[0] = '\0';
    for (int j = 0; j < k && used < len; j++)
        used += (size_t)snprintf(out + used, len - used, " %s %ld%s", names[j], counts[j],
                                 j + 1 < k ? "," : "");
}

static void on_crash(struct lenv *L, const char *in)
{
    if (!L->crashed) {
        L->crashed = 1;
        step_name(L, L->crash_at, L->crash_what, sizeof(L->crash_what));
        snprintf(L->crash_in, sizeof(L->crash_in), "%s", in);
    }
    check_after_crash(L);
}

int porter_run(struct lenv *L, char *out, size_t n, const char *const *args)
{
    int fds[2];
    for (int tries = 0; pipe(fds) != 0; tries++) {
        note("pipe: %s", strerror(errno));
        if (tries >= 50)
            return -1;
        msleep(100);
    }
    pid_t pid = spawn(L, fds[1], args);
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    char sink[4096];
    while ((r = read(fds[0], out && got + 1 < n ? out + got : sink,
                     out && got + 1 < n ? n - 1 - got : sizeof(sink))) > 0)
        if (out && got + 1 < n)
            got += (size_t)r;
    if (out && n)
        out[got] = '\0';
    close(fds[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        note("waitpid %d: %s", (int)pid, strerror(errno));
        return -1;
    }
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (rc == CRASH_STATUS)
        on_crash(L, args[0]);
    return rc;
}

int porter_once(struct lenv *L)
{
    const char *once[] = {"sync", "--once", NULL};
    int rc = -1;
    for (int i = 0; i < 8; i++) {
        rc = porter_run(L, NULL, 0, once);
        if (rc == 0)
            return 0;
        /* a crash left the lease behind, or a write waits for a retry: again */
        if (rc == CRASH_STATUS)
            L->restarts++;
        lease_expire(L);
        retries_due(L);
    }
    return rc;
}

void daemon_start(struct lenv *L)
{
    const char *args[] = {"sync", NULL};
    L->daemon = spawn(L, -1, args);
}

static void daemon_died(struct lenv *L, int st)
{
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    L->daemon = 0;
    if (rc == CRASH_STATUS)
        on_crash(L, "sync");
    else
        note("porter sync stopped unexpectedly with status %d", rc);
    lease_expire(L);
}

int daemon_check(struct lenv *L)
{
    int st;
    if (L->daemon <= 0 || waitpid(L->daemon, &st, WNOHANG) != L->daemon)
        return 0;
    daemon_died(L, st);
    L->restarts++;
    if (L->once_first)
        porter_once(L);
    daemon_start(L);
    return 1;
}

void daemon_stop(struct lenv *L)
{
    if (L->daemon <= 0)
        return;
    int st;
    pid_t pid = L->daemon;
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    L->daemon = 0;
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        daemon_died(L, st);
}

void daemon_kill9(struct lenv *L)
{
    if (L->daemon <= 0)
        return;
    kill(L->daemon, SIGKILL);
    int st;
    waitpid(L->daemon, &st, 0);
    L->daemon = 0;
    if (WIFEXITED(st))
        note("porter sync had already exited with %d before kill -9", WEXITSTATUS(st));
}

/* ---- the database ---- */

static sqlite3 *db_open(struct lenv *L, int rw)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(L->db, &db, rw ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    return db;
}

int64_t db_int(struct lenv *L, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    /* a reader can be refused for a moment (SQLITE_BUSY) while a writer resets the WAL, a
     * case sqlite's busy handler does not cover: try again */
    for (int tries = 0;; tries++) {
        sqlite3 *db = db_open(L, 0);
        sqlite3_stmt *st = NULL;
        int rc = db ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_CANTOPEN;
        int64_t v = 0;
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(st);
            if (rc == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
            else if (rc == SQLITE_DONE)
                v = -1; /* no row */
        }
        int err = rc != SQLITE_ROW && rc != SQLITE_DONE;
        if (err && tries == 0 && getenv("LONG_DEBUG"))
            note("sql error %d (%s), trying again: %s", rc, db ? sqlite3_errmsg(db) : "?", sql);
        if (err && tries >= 100)
            note("sql error %d (%s) after %d tries: %s", rc, db ? sqlite3_errmsg(db) : "?", tries,
                 sql);
        sqlite3_finalize(st);
        sqlite3_close(db);
        if (!err || tries >= 100)
            return err ? -1 : v;
        msleep(20);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sort the lines of a growing list and join them, each ending in '\n'. */
static char *join_sorted(char **lines, size_t n)
{
    qsort(lines, n, sizeof(*lines), cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(lines[i]) + 1;
    char *out = malloc(len), *p = out;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(lines[i]);
        memcpy(p, lines[i], l);
        p[l] = '\n';
        p += l + 1;
        free(lines[i]);
    }
    *p = '\0';
    free(lines);
    return out;
}

struct lines {
    char **v;
    size_t n, cap;
};

static void lines_add(struct lines *l, char *s) /* takes s */
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
    }
    /* one line per row: newlines inside a value would split it */
    for (char *p = s; *p; p++)
        if (*p == '\n')
            *p = ' ';
    l->v[l->n++] = s;
}

static void db_collect(struct lenv *L, const char *sql, struct lines *out)
{
    size_t n0 = out->n;
    for (int tries = 0;; tries++) {
        sqlite3 *db = db_open(L, 0);
        sqlite3_stmt *st = NULL;
        int rc = db ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_CANTOPEN;
        if (rc == SQLITE_OK) {
            while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const unsigned char *t = sqlite3_column_text(st, 0);
                lines_add(out, strdup(t ? (const char *)t : "(null)"));
            }
        }
        if (rc != SQLITE_DONE && tries >= 100)
            note("sql error %d (%s): %s", rc, db ? sqlite3_errmsg(db) : "?", sql);
        sqlite3_finalize(st);
        sqlite3_close(db);
        if (rc == SQLITE_DONE || tries >= 100)
            return;
        while (out->n > n0) /* a refused read: again from the start */
            free(out->v[--out->n]);
        msleep(20);
    }
}

char *db_lines(struct lenv *L, const char *sql)
{
    struct lines l = {0};
    db_collect(L, sql, &l);
    return join_sorted(l.v, l.n);
}

void db_exec(struct lenv *L, const char *sql)
{
    sqlite3 *db = db_open(L, 1);
    char *msg = NULL;
    if (db && sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        note("sql error: %s: %s", msg ? msg : "?", sql);
    sqlite3_free(msg);
    sqlite3_close(db);
}

const char *db_integrity(struct lenv *L)
{
    static char res[256];
    snprintf(res, sizeof(res), "cannot open");
    sqlite3 *db = db_open(L, 0);
    sqlite3_stmt *st;
    if (db && sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(res, sizeof(res), "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return res;
}

void lease_expire(struct lenv *L)
{
    db_exec(L, "UPDATE lease SET expires_at = 0");
}

void retries_due(struct lenv *L)
{
    db_exec(L, "UPDATE outbox SET next_attempt_at = 0 WHERE state = 'pending';"
               " UPDATE inbound_event SET next_attempt_at = 0 WHERE state IN ('new', 'retry')");
}

int64_t thread_local(struct lenv *L, const char *remote)
{
    int64_t v = db_int(L, "SELECT id FROM thread WHERE remote_id = '%s'", remote);
    return v > 0 ? v : 0;
}

int64_t wo_local(struct lenv *L, const char *remote)
{
    int64_t v = db_int(L, "SELECT id FROM work_order WHERE remote_id = '%s'", remote);
    return v > 0 ? v : 0;
}

/* ---- pmsim ---- */

cJSON *sim_getj(struct lenv *L, const char *path)
{
    char url[256];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", L->sim.port[0], path);
    cJSON *j = NULL;
    for (int i = 0; i < 3 && !j; i++) {
        if (http_do("GET", url, NULL, NULL, &r) == 0 && r.status == 200)
            j = cJSON_Parse(r.body);
        http_result_free(&r);
    }
    if (!j) {
        note("pmsim GET %s failed", path);
        j = cJSON_CreateArray();
    }
    return j;
}

int sim_post(struct lenv *L, const char *path, const char *body)
{
    char url[256];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", L->sim.port[0], path);
    http_do("POST", url, NULL, body, &r);
    int st = (int)r.status;
    if (st != 200)
        note("pmsim POST %s %s: %d %s", path, body, st, r.body ? r.body : "");
    http_result_free(&r);
    return st;
}

/* ---- webhook deliveries ---- */

#define MAX_ATTEMPTS 8

int hooks_read(struct lenv *L, struct hooks *h)
{
    memset(h, 0, sizeof(*h));
    cJSON *d = sim_getj(L, "/_sim/state?collection=_deliveries"), *x;
    int n = cJSON_GetArraySize(d);
    h->event = calloc((size_t)n + 1, sizeof(*h->event));
    h->acked = calloc((size_t)n + 1, sizeof(*h->acked));
    h->final = calloc((size_t)n + 1, sizeof(*h->final));
    /* FIFO of hooks waiting for attempt k+1, per level k */
    int *fifo[MAX_ATTEMPTS];
    int head[MAX_ATTEMPTS] = {0}, tail[MAX_ATTEMPTS] = {0};
    for (int k = 0; k < MAX_ATTEMPTS; k++)
        fifo[k] = calloc((size_t)n + 1, sizeof(int));
    int bad = 0;
    cJSON_ArrayForEach(x, d)
    {
        int attempt = cJSON_GetObjectItem(x, "attempt")->valueint;
        int status = cJSON_GetObjectItem(x, "status")->valueint;
        const char *ev = cJSON_GetObjectItem(x, "event")->valuestring;
        int i;
        if (attempt == 1) {
            i = h->n++;
            h->event[i] = strdup(ev);
        } else if (attempt - 2 < MAX_ATTEMPTS && head[attempt - 2] < tail[attempt - 2]) {
            i = fifo[attempt - 2][head[attempt - 2]++];
        } else {
            bad++;
            continue;
        }
        if (strcmp(h->event[i], ev) != 0)
            bad++;
        h->records++;
        int ok = status >= 200 && status < 300;
        int transient = status == 0 || status == 429 || status >= 500;
        h->acked[i] |= ok;
        /* Hostaway: 3 retries of transient failures (tests/pmsim/webhook.c) */
        if (!ok && transient && attempt < 4 && attempt - 1 < MAX_ATTEMPTS) {
            fifo[attempt - 1][tail[attempt - 1]++] = i;
            h->final[i] = 0;
        } else {
            h->final[i] = 1;
        }
    }
    for (int k = 0; k < MAX_ATTEMPTS; k++) {
        h->awaiting += tail[k] - head[k];
        free(fifo[k]);
    }
    cJSON_Delete(d);
    if (bad)
        note("delivery log: %d record(s) that do not fit the retry schedule", bad);
    return bad ? -1 : 0;
}

void hooks_free(struct hooks *h)
{
    for (int i = 0; i < h->n; i++)
        free(h->event[i]);
    free(h->event);
    free(h->acked);
    free(h->final);
    memset(h, 0, sizeof(*h));
}

int check_after_crash(struct lenv *L)
{
    int problems = 0;
    const char *ic = db_integrity(L);
    if (strcmp(ic, "ok") != 0) {
        note("integrity_check after a crash: %s", ic);
        L->integrity_bad++;
        problems++;
    }
    /* Every message.received webhook pmsim saw acknowledged is stored. The k-th such hook
     * is about the k-th message created since the fixture (one hook per message, no drop,
     * no duplicate, no reordering in these scenarios). */
    struct hooks h;
    hooks_read(L, &h);
    cJSON *msgs = sim_getj(L, "/_sim/state?collection=messages");
    int k = 0, missing = 0, acked = 0, other_acked = 0;
    /* the message ids of every stored message.received event, sorted, once */
    char *ids = db_lines(L, "SELECT printf('%020lld', json_extract(body, '$.data.id'))"
                            " FROM inbound_event WHERE kind = 'message.received'");
    size_t nids = 0;
    for (const char *p = ids; *p; p++)
        nids += *p == '\n';
    int64_t *stored = calloc(nids + 1, sizeof(int64_t));
    size_t si = 0;
    for (char *p = ids; *p && si < nids; p = strchr(p, '\n') + 1)
        stored[si++] = atoll(p); /* ascending: the lines are sorted, zero-padded */
    free(ids);
    for (int i = 0; i < h.n; i++) {
        if (strcmp(h.event[i], "message.received") != 0) {
            other_acked += h.acked[i];
            continue;
        }
        cJSON *m = cJSON_GetArrayItem(msgs, L->fixture_msgs + k++);
        if (!h.acked[i] || !m)
            continue;
        acked++;
        int64_t id = (int64_t)cJSON_GetObjectItem(m, "id")->valuedouble;
        size_t lo = 0, hi = nids, n = 0; /* how many stored events carry this message */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (stored[mid] < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        while (lo + n < nids && stored[lo + n] == id)
            n++;
        if (n != 1) {
            missing++;
            if (missing <= 5)
                note("acknowledged webhook for message %lld (%s) stored %zu time(s)", (long long)id,
                     cJSON_GetObjectItem(m, "body")->valuestring, n);
        }
    }
    free(stored);
    /* the other kinds (reservation events) by count: at least as many stored as acked */
    int64_t other_stored = db_int(L, "SELECT count(*) FROM inbound_event"
                                     " WHERE kind <> 'message.received'");
    if (other_stored < other_acked) {
        note("%d acknowledged reservation webhooks but %lld stored", other_acked,
             (long long)other_stored);
        missing++;
    }
    cJSON_Delete(msgs);
    hooks_free(&h);
    L->acked_missing += missing;
    return problems + missing;
}

int settle(struct lenv *L, int ops, int quiet_ms, int timeout_ms)
{
    int64_t t0 = mono_now_ms(), last_change = t0;
    long last_steps = -1;
    int last_records = -1;
    for (;;) {
        msleep(100);
        if (daemon_check(L))
            last_change = mono_now_ms();
        long steps = steps_taken(L);
        if (steps != last_steps) {
            last_steps = steps;
            last_change = mono_now_ms();
        }
        int64_t now = mono_now_ms();
        if (now - last_change < quiet_ms)
            continue; /* still busy: look again later */
        int64_t busy = db_int(L,
                              "SELECT (SELECT count(*) FROM inbound_event WHERE state IN"
                              " ('new', 'retry')) + (SELECT count(*) FROM outbox WHERE"
                              " state IN ('pending', 'inflight') AND %d)",
                              ops);
        int awaiting = -1;
        if (busy == 0) {
            struct hooks h;
            hooks_read(L, &h);
            if (h.records != last_records) {
                last_records = h.records;
                last_change = now;
            }
            awaiting = h.awaiting;
            hooks_free(&h);
        }
        if (awaiting == 0 && busy == 0 && now - last_change >= quiet_ms)
            return 0;
        if (now - t0 > timeout_ms) {
            note("not settled after %d ms: %d webhook(s) awaiting a retry, %lld row(s) busy",
                 timeout_ms, awaiting, (long long)busy);
            return -1;
        }
    }
}

/* ---- canonical dumps ---- */

char *canon_dump(struct lenv *L)
{
    struct lines l = {0};
    /* messages: by remote id and body; porter's own (remote ids handed out in an order that
     * depends on which pusher went first) by thread, body and state */
    db_collect(L,
               "SELECT CASE WHEN m.origin = 'porter' THEN 'M porter ' || t.remote_id || ' ' ||"
               " m.direction || ' ' || m.send_state || ' ' || (m.remote_id IS NOT NULL) ||"
               " ' ' || m.body ELSE 'M ' || m.remote_id || ' ' || t.remote_id || ' ' ||"
               " m.direction || ' ' || m.send_state || ' ' || m.body END"
               " FROM message m JOIN thread t ON t.id = m.thread_id",
               &l);
    db_collect(L,
               "SELECT 'W ' || coalesce(remote_id, '-') || ' ' || status || ' ' || sync_state"
               " FROM work_order",
               &l);
    db_collect(L, "SELECT 'S ' || remote_id || ' ' || status FROM stay", &l);
    db_collect(L,
               "SELECT 'O ' || op || ' ' || state || ' ' || payload || ' ' ||"
               " coalesce(last_error, '') FROM outbox",
               &l);
    db_collect(L,
               "SELECT 'I ' || kind || ' ' || state || ' ' || CASE WHEN kind ="
               " 'message.received' THEN json_extract(body, '$.data.isIncoming') || ' ' ||"
               " json_extract(body, '$.data.body') ELSE json_extract(body, '$.data.id') || '/' ||"
               " coalesce(json_extract(body, '$.data.status'), '') END FROM inbound_event",
               &l);
    db_collect(L,
               "SELECT 'C ' || field || ' ' || base_value || ' ' || local_value || ' ' ||"
               " remote_value || ' ' || winner FROM conflict",
               &l);
    /* pmsim's writes, lane by lane in the order they landed (path = conversation or task) */
    cJSON *w = sim_getj(L, "/_sim/writes"), *x;
    int n = cJSON_GetArraySize(w);
    char **done = calloc((size_t)n + 1, sizeof(char *));
    int nd = 0;
    cJSON_ArrayForEach(x, w)
    {
        const char *path = cJSON_GetObjectItem(x, "path")->valuestring;
        int seen = 0;
        for (int i = 0; i < nd && !seen; i++)
            seen = strcmp(done[i], path) == 0;
        if (seen)
            continue;
        done[nd++] = strdup(path);
        size_t cap = 256, len = 0;
        char *line = malloc(cap);
        len = (size_t)snprintf(line, cap,
                               "X %s %s %s:", cJSON_GetObjectItem(x, "method")->valuestring, path,
                               cJSON_GetObjectItem(x, "what")->valuestring);
        for (cJSON *y = x; y; y = y->next) {
            if (strcmp(cJSON_GetObjectItem(y, "path")->valuestring, path) != 0)
                continue;
            char *b = cJSON_PrintUnformatted(cJSON_GetObjectItem(y, "body"));
            size_t bl = strlen(b);
            if (len + bl + 4 > cap) {
                cap = (len + bl + 4) * 2;
                line = realloc(line, cap);
            }
            len += (size_t)snprintf(line + len, cap - len, " %s |", b);
            free(b);
        }
        lines_add(&l, line);
    }
    for (int i = 0; i < nd; i++)
        free(done[i]);
    free(done);
    cJSON_Delete(w);
    return join_sorted(l.v, l.n);
}

int adoption_mismatches(struct lenv *L)
{
    cJSON *msgs = sim_getj(L, "/_sim/state?collection=messages"), *m;
    char *rows = db_lines(L, "SELECT m.remote_id || char(9) || m.body FROM message m"
                             " WHERE m.origin = 'porter' AND m.remote_id IS NOT NULL");
    int bad = 0;
    for (char *p = rows, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        *nl = '\0';
        char *tab = strchr(p, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        int64_t id = atoll(p);
        int ok = 0;
        cJSON_ArrayForEach(m, msgs)
        {
            if ((int64_t)cJSON_GetObjectItem(m, "id")->valuedouble == id) {
                const cJSON *b = cJSON_GetObjectItem(m, "body");
                ok = cJSON_IsString(b) && strcmp(b->valuestring, tab + 1) == 0;
                break;
            }
        }
        if (!ok && ++bad <= 3)
            note("porter message '%s' adopted remote id %lld, which is not that message", tab + 1,
                 (long long)id);
    }
    free(rows);
    cJSON_Delete(msgs);
    return bad;
}

int dump_diff(const char *a, const char *b, char *out, size_t n)
{
    size_t used = 0;
    int diffs = 0;
    out[0] = '\0';
    while (*a || *b) {
        const char *ea = *a ? strchr(a, '\n') : a, *eb = *b ? strchr(b, '\n') : b;
        size_t la = (size_t)(ea - a), lb = (size_t)(eb - b);
        int c;
        if (!*a)
            c = 1;
        else if (!*b)
            c = -1;
        else {
            size_t m = la < lb ? la : lb;
            c = memcmp(a, b, m);
            if (c == 0)
                c = la < lb ? -1 : la > lb ? 1 : 0;
        }
        if (c == 0) {
            a = ea + 1;
            b = eb + 1;
            continue;
        }
        diffs++;
        const char *s = c < 0 ? a : b;
        size_t ls = c < 0 ? la : lb;
        if (diffs <= 8 && used + 8 < n)
            used += (size_t)snprintf(out + used, n - used, "#   %c %.*s\n", c < 0 ? '-' : '+',
                                     (int)(ls > 300 ? 300 : ls), s);
        if (c < 0)
            a = ea + 1;
        else
            b = eb + 1;
    }
    return diffs;
}

int file_count(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0)
        n += strstr(line, needle) != NULL;
    free(line);
    fclose(f);
    return n;
}
