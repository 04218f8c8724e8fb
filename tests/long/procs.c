/* procs.c - several processes on one database: two porter interfaces, one `porter sync`
 * and two writer processes, all at once, against pmsim (Hostaway).
 *
 *   - `porter sync` (the daemon), started first: it binds the webhook listener and takes
 *     the sync lease;
 *   - two real porter interfaces in tmux (80x24 and 100x30, NO_COLOR), each running its own
 *     sync engine that competes for the lease, driven by keys like a front desk: move, open
 *     a thread and reply, tag, assign, snooze, mark done, over and over, each action
 *     confirmed by what the message line says;
 *   - two writer processes that call the store functions the interface calls
 *     (store_thread_tag, _assign, _read, _snooze, _done, store_presence_touch, and
 *     store_queue_reply once every 100 writes), WRITES writes each as fast as they go, in
 *     KILLS rounds;
 *   - half a second into each round the sync leader, whoever it is, gets SIGKILL; once
 *     another process holds the lease the dead one is started again (a unit restarting the
 *     daemon, a person reopening the interface). An interface that dies on its own is
 *     started again too, and counted.
 *
 * The test asserts:
 *   - no SQLITE_BUSY / "database is locked" reaches anyone: not the writers (every call
 *     returns 0), not the interfaces (every capture of both screens, the message line
 *     included; their stderr), not the daemon's stderr, not any of the three porter.log;
 *   - every key-driven action is confirmed on screen, and no interface dies on its own;
 *   - one sync leader at any time: the lease table, sampled every 50 ms, changes holder
 *     only after the end (kill or crash) of the holder; no process ever logs "lost the sync
 *     lease" (its lease taken while it still believed it led); "took the sync lease" is
 *     logged once at the start and once per change of holder, each after the previous
 *     taker's end;
 *   - each kill taken over by another process within LEASE_TTL_MS + LEASE_RENEW_MS + 5 s
 *     (measured from the samples);
 *   - every reply queued (by the writers and through the interfaces) written at pmsim
 *     exactly once, synced with pmsim's id; no op left unsent; PRAGMA integrity_check ok.
 *
 *   procs [--quick] [--writes N] [--kills K]   (default 100000 writes per writer, 2 kills;
 *                                              --quick: 10000 and 1)
 *
 * Needs tmux (skipped without). TAP on stdout; LONG_KEEP=1 keeps the directory.
 * PROCS_TUI_WRAP=CMD runs the interfaces as `CMD porter ...` (a script that runs porter
 * under gdb, say: its stderr goes to tuiN/stderr.log). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "longlib.h"
#include "store.h"

#define LEASE_TTL_MS   15000 /* src/sync/sync.h */
#define LEASE_RENEW_MS 5000
#define REPLY_EVERY    100 /* a writer queues one reply every this many writes */
#define NTUI           2

static int tn, failed;

static void tap(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tap(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", ok ? "ok" : "not ok", ++tn);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
    failed += !ok;
}

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Does s contain what a database lock error looks like to a person? ("blocked" in a guest's
 * words must not count: "is locked", not "locked".) */
static const char *busy_word(const char *s)
{
    static const char *const words[] = {"is locked", "busy", "sqlite_"};
    for (const char *p = s; *p; p++)
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            if (strncasecmp(p, words[i], strlen(words[i])) == 0)
                return words[i];
    return NULL;
}

/* ---- the threads of the database ---- */

struct thr {
    int64_t id;
    enum channel ch;
};
static struct thr threads[256];
static int nthreads;

/* ---- writers: the store functions the interface calls, as fast as they go ---- */

struct wresult {
    long writes, errors, busy, replies;
    int64_t ms;
    char first_error[200];
};

static const char *const TAGS[] = {"vip", "late", "billing", "w"};

/* Writer k: `rounds` rounds of n writes; each round starts when a byte arrives on go_fd and
 * ends with a byte on done_fd. The result goes to the file `out`. */
static void writer(struct lenv *L, int k, long n, int rounds, int go_fd, int done_fd,
                   const char *out)
{
    struct wresult r;
    memset(&r, 0, sizeof(r));
    struct err e;
    struct store *s = store_open(L->db, &e);
    if (!s) {
        snprintf(r.first_error, sizeof(r.first_error), "open: %.180s", e.msg);
        r.errors = 1;
    }
    srand((unsigned)(k * 7919 + 13));
    char who[32], tag[16], body[64];
    snprintf(who, sizeof(who), "writer%d", k);
    long i = 0;
    for (int round = 0; round < rounds; round++) {
        char go;
        if (read(go_fd, &go, 1) != 1)
            break;
        int64_t t0 = mono_now_ms();
        for (long end = i + n; s && i < end; i++) {
            const struct thr *t = &threads[rand() % nthreads];
            int rc;
            if (i % REPLY_EVERY == REPLY_EVERY - 1) {
                snprintf(body, sizeof(body), "w%d reply %06ld", k, r.replies);
                int64_t msg;
                rc = store_queue_reply(s, t->id, DIR_OUT, t->ch, who, body, NULL, &msg, &e);
                if (rc == 0)
                    r.replies++;
            } else {
                switch (i % 8) {
                case 0:
                case 1:
                    snprintf(tag, sizeof(tag), "%s%d", TAGS[rand() % 4], k);
                    rc = store_thread_tag(s, t->id, tag, rand() % 2, &e);
                    break;
                case 2:
                    rc = store_thread_assign(s, t->id, rand() % 2 ? who : NULL, &e);
                    break;
                case 3:
                    rc = store_thread_read(s, t->id, &e);
                    break;
                case 4: /* mostly awake, so that the interfaces' lists are never empty */
                    rc = store_thread_snooze(s, t->id, rand() % 4 ? 0 : now_ms() + 3600000, &e);
                    break;
                case 5:
                    rc = store_thread_done(s, t->id, rand() % 4 == 0, &e);
                    break;
                case 6:
                    rc = store_presence_touch(s, t->id, who, 0, &e);
                    break;
                default:
                    rc = store_thread_tag(s, t->id, "seen", 1, &e);
                    break;
                }
            }
            r.writes++;
            if (rc != 0) {
                r.errors++;
                r.busy += e.code == 5 || e.code == 6 || busy_word(e.msg) != NULL; /* BUSY, LOCKED */
                if (!r.first_error[0])
                    snprintf(r.first_error, sizeof(r.first_error), "%.190s", e.msg);
            }
        }
        r.ms += mono_now_ms() - t0;
        if (write(done_fd, "d", 1) != 1)
            break;
    }
    if (s) {
        store_presence_leave(s, who, &e);
        store_close(&s);
    }
    FILE *f = fopen(out, "w");
    if (f) {
        fwrite(&r, sizeof(r), 1, f);
        fclose(f);
    }
    _exit(0);
}

/* ---- the lease, sampled ---- */

struct sample {
    int64_t t;       /* mono ms */
    char holder[64]; /* "" when nobody holds it */
};
static struct sample *samples;
static size_t nsamples, cap_samples;
static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int sampling = 1;
static struct lenv *SL;

static void *sampler(void *arg)
{
    (void)arg;
    while (sampling) {
        char *h = db_lines(SL, "SELECT holder || ' ' || (expires_at > CAST(1000 *"
                               " (julianday('now') - 2440587.5) * 86400 AS INTEGER))"
                               " FROM lease WHERE name = 'sync'");
        h[strcspn(h, "\n")] = '\0';
        pthread_mutex_lock(&sample_lock);
        if (nsamples == cap_samples) {
            cap_samples = cap_samples ? cap_samples * 2 : 4096;
            samples = realloc(samples, cap_samples * sizeof(*samples));
        }
        samples[nsamples].t = mono_now_ms();
        snprintf(samples[nsamples].holder, sizeof(samples[0].holder), "%s", h);
        nsamples++;
        pthread_mutex_unlock(&sample_lock);
        free(h);
        msleep(50);
    }
    return NULL;
}

/* The pid in the last sample's holder ("host:pid 1"), 0 when none. */
static pid_t holder_pid(char *holder, size_t n)
{
    pthread_mutex_lock(&sample_lock);
    const char *h = nsamples ? samples[nsamples - 1].holder : "";
    if (holder)
        snprintf(holder, n, "%s", h);
    const char *colon = strrchr(h, ':');
    pid_t pid = colon ? (pid_t)atoi(colon + 1) : 0;
    pthread_mutex_unlock(&sample_lock);
    return pid;
}

/* ---- processes that ended while the run went on: killed, or died on their own ---- */

struct end {
    pid_t pid;
    int64_t at, at_real; /* mono and real ms */
    int killed;          /* 1: our SIGKILL; 0: it died on its own */
};
static struct end ends[64];
static int nends;
static pthread_mutex_t ends_lock = PTHREAD_MUTEX_INITIALIZER;

static void end_add(pid_t pid, int killed)
{
    pthread_mutex_lock(&ends_lock);
    if (nends < 64)
        ends[nends++] = (struct end){pid, mono_now_ms(), real_now_ms(), killed};
    pthread_mutex_unlock(&ends_lock);
}

/* Did pid end (killed or died) before mono time t? */
static int ended_before(pid_t pid, int64_t t, int real)
{
    int yes = 0;
    pthread_mutex_lock(&ends_lock);
    for (int i = 0; i < nends; i++)
        yes |= ends[i].pid == pid && (real ? ends[i].at_real : ends[i].at) <= t;
    pthread_mutex_unlock(&ends_lock);
    return yes;
}

/* ---- the interfaces, in tmux ---- */

static char sock[200];

static char *tmux_out(const char *what)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "tmux -S %s %s 2>/dev/null", sock, what);
    FILE *p = popen(cmd, "r");
    char *out = calloc(1, 65536);
    size_t n = p ? fread(out, 1, 65535, p) : 0;
    out[n] = '\0';
    if (p)
        pclose(p);
    return out;
}

struct tui {
    char name[8];
    int w, h;
    pid_t pid;
    int down;     /* killed, not restarted yet */
    long actions; /* key-driven actions confirmed on screen */
    long tried, unconfirmed, replies;
    long captures, busy_seen, errors_seen;
    int died;         /* porter exited without being told to (or killed); restart it */
    int deaths;       /* how many times */
    volatile int gen; /* kills and crashes of this interface so far */
    long interrupted; /* actions cut short by a kill */
    int quitting;     /* told to quit */
    char last_error[200];
    char dir[200]; /* its XDG_STATE_HOME: porter/porter.log */
};
static struct tui tuis[NTUI];
static struct lenv *TL;

static void tui_cmd(struct tui *u, char *cmd, size_t n)
{
    const char *wrap = getenv("PROCS_TUI_WRAP"); /* e.g. a script running porter under gdb */
    snprintf(cmd, n,
             "'env TERM=xterm-256color NO_COLOR=1 USER=%s XDG_STATE_HOME=%s %.100s %.200s"
             " --config %s --db %s 2>>%s/stderr.log; echo EXITED $?; sleep 3600'",
             u->name, u->dir, wrap ? wrap : "", getenv("PORTER_BIN"), TL->dir, TL->db, u->dir);
}

/* The screen of u, checked for what must never be there. */
static char *screen(struct tui *u)
{
    char what[64];
    snprintf(what, sizeof(what), "capture-pane -p -t %s", u->name);
    char *s = tmux_out(what);
    u->captures++;
    if (!u->down && !u->quitting && strstr(s, "EXITED") && !u->died) {
        u->died = 1;
        u->deaths++;
        u->gen++; /* the action under way is not the interface's to confirm */
        end_add(u->pid, 0);
        note("%s: porter (pid %d) exited on its own:", u->name, (int)u->pid);
        char *c = strdup(s);
        for (char *l = strtok(c, "\n"); l; l = strtok(NULL, "\n"))
            note("  %s", l);
        free(c);
    }
    const char *w = busy_word(s);
    if (w) {
        if (!u->busy_seen++) {
            note("%s: '%s' on screen:", u->name, w);
            for (char *l = strtok(s, "\n"); l; l = strtok(NULL, "\n"))
                note("  %s", l);
            s[0] = '\0';
        }
    }
    /* the message line says "! ..." for an error */
    for (char *l = s; *l;) {
        char *nl = strchr(l, '\n');
        if (l[0] == '!' && l[1] == ' ') {
            int len = nl ? (int)(nl - l) : (int)strlen(l);
            if (strncmp(u->last_error, l, (size_t)len) != 0) {
                u->errors_seen++;
                snprintf(u->last_error, sizeof(u->last_error), "%.*s", len, l);
                note("%s: error on the message line: %s", u->name, u->last_error);
            }
        }
        if (!nl)
            break;
        l = nl + 1;
    }
    return s;
}

/* Wait up to ms for the screen to show needle (alternatives separated by '|'). */
static int wait_for(struct tui *u, const char *needle, int ms)
{
    for (int64_t end = mono_now_ms() + ms;; msleep(40)) {
        char *s = screen(u);
        int hit = 0;
        for (const char *p = needle; *p && !hit;) {
            size_t len = strcspn(p, "|");
            char one[128];
            snprintf(one, sizeof(one), "%.*s", (int)(len < 127 ? len : 127), p);
            hit = strstr(s, one) != NULL;
            p += len + (p[len] == '|');
        }
        free(s);
        if (hit)
            return 1;
        if (mono_now_ms() > end)
            return 0;
    }
}

static void keys(struct tui *u, const char *k, int literal)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "tmux -S %.200s send-keys -t %.7s %s '%.200s'", sock, u->name,
             literal ? "-l" : "", k);
    if (system(cmd) != 0)
        note("%s: send-keys %s failed", u->name, k);
}

/* The porter process of u's pane. */
static pid_t tui_pid(struct tui *u)
{
    char what[96];
    snprintf(what, sizeof(what), "list-panes -t %s -F '#{pane_pid}'", u->name);
    char *o = tmux_out(what);
    pid_t sh = (pid_t)atoi(o);
    free(o);
    pid_t found = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && !found && (de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%.200s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *rp = strrchr(buf, ')'); /* pid (comm) state ppid */
        char state;
        int ppid;
        if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == sh &&
            strstr(buf, "(porter)"))
            found = (pid_t)atoi(de->d_name);
    }
    if (d)
        closedir(d);
    return found;
}

static int tui_start(struct tui *u, int respawn)
{
    char cmd[2048], c[1200];
    tui_cmd(u, c, sizeof(c));
    if (respawn)
        snprintf(cmd, sizeof(cmd), "tmux -S %s respawn-pane -k -t %s %s", sock, u->name, c);
    else
        snprintf(cmd, sizeof(cmd), "tmux -S %s -f /dev/null new-session -d -s %s -x %d -y %d %s",
                 sock, u->name, u->w, u->h, c);
    if (system(cmd) != 0)
        return -1;
    if (!wait_for(u, "[1 Inbox", 15000))
        return -1;
    for (int i = 0; i < 50 && !(u->pid = tui_pid(u)); i++)
        msleep(100);
    u->down = 0;
    return u->pid ? 0 : -1;
}

/* One key-driven triage action of the front desk, confirmed on screen. */
static void tui_act(struct tui *u, long n)
{
    char text[64];
    const char *want = NULL;
    int gen = u->gen;
    u->tried++;
    keys(u, "Escape", 0); /* no prompt open, no conversation */
    for (long j = n % 3; j > 0; j--)
        keys(u, "j", 0);
    switch (n % 5) {
    case 0: /* open the thread (marks it read) and reply */
        keys(u, "Enter", 0);
        keys(u, "r", 0);
        if (!wait_for(u, "Reply via", 4000))
            break;
        snprintf(text, sizeof(text), "%.7s reply %05ld", u->name, u->replies);
        keys(u, text, 1);
        keys(u, "Enter", 0);
        if (wait_for(u, "Send anyway? (y/n)", 300)) /* the guest wrote meanwhile */
            keys(u, "y", 0);
        want = "reply queued";
        break;
    case 1:
        keys(u, "T", 0);
        if (!wait_for(u, "Tag (+name adds", 4000))
            break;
        keys(u, u->name, 1);
        keys(u, "Enter", 0);
        want = "tagged 1 thread";
        break;
    case 2:
        keys(u, "a", 0);
        if (!wait_for(u, "Assign to", 4000))
            break;
        keys(u, "Enter", 0);
        want = "assigned 1 thread";
        break;
    case 3:
        keys(u, "z", 0);
        if (!wait_for(u, "Snooze until", 4000))
            break;
        keys(u, "30m", 1);
        keys(u, "Enter", 0);
        want = "snoozed 1 thread";
        break;
    default:
        keys(u, "e", 0);
        want = "1 thread done|1 thread reopened";
        break;
    }
    int ok = want && wait_for(u, want, 5000);
    if (!ok && u->gen != gen) { /* killed (or crashed, counted apart) meanwhile */
        u->tried--;
        u->interrupted++;
        return;
    }
    if (ok) {
        u->actions++;
        if (n % 5 == 0)
            u->replies++;
    } else {
        u->unconfirmed++;
        if (u->unconfirmed <= 3) {
            note("%s: action %ld (%s) not confirmed on screen:", u->name, n % 5,
                 want ? want : "no prompt");
            char *s = screen(u);
            for (char *l = strtok(s, "\n"); l; l = strtok(NULL, "\n"))
                note("  %s", l);
            free(s);
        }
    }
}

/* ---- logs ---- */

static int64_t log_time(const char *line)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int ms = 0;
    if (sscanf(line, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

struct took {
    int64_t t; /* real ms */
    pid_t pid;
};

/* "took the sync lease (host:pid)" lines of a log with real time in [from, to], appended to
 * out; the number of "lost the sync lease" lines of the same window is added to *lost. */
static int lease_lines(const char *path, int64_t from, int64_t to, struct took *out, int max, int n,
                       int *lost)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    while (f && fgets(line, sizeof(line), f)) {
        int64_t t = log_time(line);
        if (t < from || t > to)
            continue;
        const char *p = strstr(line, "took the sync lease (");
        if (p && n < max) {
            const char *colon = strrchr(p, ':');
            out[n].t = t;
            out[n].pid = colon ? (pid_t)atoi(colon + 1) : 0;
            n++;
        }
        if (strstr(line, "lost the sync lease")) {
            (*lost)++;
            note("%s: %s", path, line);
        }
    }
    if (f)
        fclose(f);
    return n;
}

/* Lines of a file that look like a lock error, printed (the first few). */
static int busy_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    int n = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (!busy_word(line))
            continue;
        if (++n <= 5)
            note("%s: %s", path, line);
    }
    if (f)
        fclose(f);
    return n;
}

static int cmp_took(const void *a, const void *b)
{
    const struct took *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* ---- the run ---- */

/* ---- the controller: the writers' rounds, and a kill of the leader in each ---- */

struct kill_rec {
    int64_t at;      /* mono ms */
    int64_t at_real; /* real ms */
    pid_t pid;
    char who[16];
    int64_t takeover_ms; /* until another live process held the lease; -1: never */
    pid_t next;
};

static struct {
    struct lenv *L;
    int rounds, kills;
    pid_t wpid[2];
    int go[2], done[2]; /* the writers' pipes */
    struct kill_rec kr[8];
    int nk;
    volatile int finished;
} C;

/* Kill the sync leader with SIGKILL, wait until another live process holds the lease, then
 * start the dead one again (as its unit or its user would). */
static void kill_leader(void)
{
    struct lenv *L = C.L;
    struct kill_rec *r = &C.kr[C.nk];
    memset(r, 0, sizeof(*r));
    r->takeover_ms = -1;
    for (int64_t end = mono_now_ms() + 10000; mono_now_ms() < end; msleep(50)) {
        r->pid = holder_pid(NULL, 0);
        snprintf(r->who, sizeof(r->who), "%s", r->pid == L->daemon ? "porter sync" : "");
        for (int k = 0; k < NTUI; k++)
            if (r->pid == tuis[k].pid)
                snprintf(r->who, sizeof(r->who), "%.7s", tuis[k].name);
        if (r->pid > 0 && r->who[0])
            break;
    }
    if (!r->who[0]) {
        note("kill %d: no known process holds the lease", C.nk + 1);
        return;
    }
    for (int k = 0; k < NTUI; k++)
        if (r->pid == tuis[k].pid) {
            tuis[k].down = 1; /* the front desk leaves it alone */
            tuis[k].gen++;
        }
    int64_t queued = db_int(L, "SELECT count(*) FROM outbox WHERE state IN"
                               " ('pending', 'inflight')");
    kill(r->pid, SIGKILL);
    end_add(r->pid, 1);
    r->at = mono_now_ms();
    r->at_real = real_now_ms();
    if (r->pid == L->daemon) {
        waitpid(L->daemon, NULL, 0);
        L->daemon = 0;
    }
    C.nk++;
    note("kill %d: SIGKILL to the sync leader, %s (pid %d), with %lld write(s) queued", C.nk,
         r->who, (int)r->pid, (long long)queued);
    for (;; msleep(50)) {
        char h[64];
        pid_t p = holder_pid(h, sizeof(h));
        size_t hl = strlen(h);
        if (p && p != r->pid && hl > 2 && strcmp(h + hl - 2, " 1") == 0) {
            r->takeover_ms = mono_now_ms() - r->at; /* refined from the samples later */
            r->next = p;
            break;
        }
        if (mono_now_ms() - r->at > LEASE_TTL_MS + LEASE_RENEW_MS + 30000) {
            note("kill %d: nobody took the lease over", C.nk);
            break;
        }
    }
    const char *who = r->next == L->daemon ? "porter sync" : "?";
    for (int k = 0; k < NTUI; k++)
        if (r->next == tuis[k].pid)
            who = tuis[k].name;
    note("kill %d: %s (pid %d) holds the lease %.1f s after the SIGKILL", C.nk, who, (int)r->next,
         (double)r->takeover_ms / 1000);
    if (strcmp(r->who, "porter sync") == 0) {
        daemon_start(L);
    } else {
        for (int k = 0; k < NTUI; k++)
            if (strcmp(r->who, tuis[k].name) == 0 && tui_start(&tuis[k], 1) != 0)
                note("%s did not come back", tuis[k].name);
    }
}

static void *controller(void *arg)
{
    (void)arg;
    for (int round = 0; round < C.rounds; round++) {
        for (int k = 0; k < 2; k++)
            if (write(C.go[k], "g", 1) != 1)
                note("writer%d: could not start round %d", k + 1, round + 1);
        if (round < C.kills) {
            msleep(500); /* the writers are at full speed */
            kill_leader();
        }
        for (int k = 0; k < 2; k++) {
            char d;
            if (read(C.done[k], &d, 1) != 1)
                note("writer%d: no end of round %d", k + 1, round + 1);
        }
        note("round %d of %d done", round + 1, C.rounds);
    }
    C.finished = 1;
    return NULL;
}

int main(int argc, char **argv)
{
    long writes = 100000;
    int kills = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            writes = 10000;
            kills = 1;
        } else if (strcmp(argv[i], "--writes") == 0 && i + 1 < argc) {
            writes = atol(argv[++i]);
        } else if (strcmp(argv[i], "--kills") == 0 && i + 1 < argc) {
            kills = atoi(argv[++i]);
        }
    }
    if (kills > 8)
        kills = 8;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (system("tmux -V >/dev/null 2>&1") != 0) {
        printf("1..0 # SKIP tmux is not installed\n");
        return 0;
    }
    if (private_bins() != 0) {
        tap(0, "copy the porter and pmsim binaries");
        printf("1..%d\n", tn);
        return 1;
    }
    int64_t t0 = mono_now_ms();
    char epoch[32];
    snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL) * 1000);
    const char *sim_args[] = {"--seed", "5",       "--epoch",          epoch, "--time-factor",
                              "0.001",  "--fault", "rate_limit_off=1", NULL};
    struct lenv L;
    lenv_sim_log = 1;
    if (lenv_setup(&L, "procs", sim_args) != 0) {
        tap(0, "setup");
        printf("1..%d\n", tn);
        return 1;
    }
    SL = TL = &L;
    snprintf(sock, sizeof(sock), "%s/tmux.sock", L.dir);
    tap(porter_once(&L) == 0, "initial import");
    {
        char *rows = db_lines(&L, "SELECT printf('%08d ', id) || channel FROM thread");
        for (char *p = rows; *p && nthreads < 256; p = strchr(p, '\n') + 1) {
            threads[nthreads].id = atoll(p);
            char ch[32] = "";
            sscanf(p + 9, "%31s", ch);
            int c = channel_parse(ch);
            threads[nthreads].ch = c >= 0 ? (enum channel)c : CH_EMAIL;
            nthreads++;
        }
        free(rows);
    }

    /* the writers wait on their pipes, forked before any thread of this process exists */
    int rounds = kills > 0 ? kills : 1;
    long per_round = writes / rounds;
    writes = per_round * rounds;
    char wout[2][220];
    for (int k = 0; k < 2; k++) {
        int gp[2], dp[2];
        if (pipe(gp) != 0 || pipe(dp) != 0)
            return 2;
        snprintf(wout[k], sizeof(wout[k]), "%.200s/writer%d.result", L.dir, k + 1);
        if ((C.wpid[k] = fork()) == 0) {
            close(gp[1]);
            close(dp[0]);
            writer(&L, k + 1, per_round, rounds, gp[0], dp[1], wout[k]);
        }
        close(gp[0]);
        close(dp[1]);
        C.go[k] = gp[1];
        C.done[k] = dp[0];
    }

    /* the daemon first: the webhook listener and the lease are its */
    daemon_start(&L);
    pthread_t sth;
    pthread_create(&sth, NULL, sampler, NULL);
    int64_t until = mono_now_ms() + 20000;
    while (holder_pid(NULL, 0) != L.daemon && mono_now_ms() < until)
        msleep(50);
    tap(holder_pid(NULL, 0) == L.daemon, "porter sync took the sync lease");
    int64_t active_from = real_now_ms() - 1000;

    /* the two interfaces */
    int tui_ok = 1;
    for (int k = 0; k < NTUI; k++) {
        struct tui *u = &tuis[k];
        snprintf(u->name, sizeof(u->name), "tui%d", k + 1);
        u->w = k ? 100 : 80;
        u->h = k ? 30 : 24;
        snprintf(u->dir, sizeof(u->dir), "%.150s/%.7s", L.dir, u->name);
        mkdir(u->dir, 0700);
        if (tui_start(u, 0) != 0) {
            tui_ok = 0;
            char *sc = screen(u);
            note("%s did not start:\n%s", u->name, sc);
            free(sc);
        }
    }
    tap(tui_ok, "two porter interfaces started in tmux (80x24 and 100x30), pids %d and %d",
        (int)tuis[0].pid, (int)tuis[1].pid);

    /* go: the controller runs the writers' rounds and the kills; this thread is the front
     * desk, one action in each live interface in turn */
    C.L = &L;
    C.rounds = rounds;
    C.kills = kills;
    int64_t wstart = mono_now_ms();
    pthread_t cth;
    pthread_create(&cth, NULL, controller, NULL);
    long act = 0;
    int min_actions = 20;
    while (!C.finished || tuis[0].tried + tuis[1].tried < min_actions) {
        for (int k = 0; k < NTUI; k++) {
            if (!tuis[k].down)
                tui_act(&tuis[k], act);
            if (tuis[k].died && !tuis[k].down) { /* as its user would: start it again */
                if (tui_start(&tuis[k], 1) != 0)
                    note("%s did not come back", tuis[k].name);
                tuis[k].died = 0;
            }
        }
        act++;
    }
    pthread_join(cth, NULL);
    struct kill_rec *kr = C.kr;
    int nk = C.nk;
    struct wresult wr[2];
    memset(wr, 0, sizeof(wr));
    for (int k = 0; k < 2; k++) {
        int st = 0;
        waitpid(C.wpid[k], &st, 0);
        FILE *f = fopen(wout[k], "r");
        if (!f || fread(&wr[k], sizeof(wr[k]), 1, f) != 1)
            snprintf(wr[k].first_error, sizeof(wr[k].first_error), "no result (status %d)", st);
        if (f)
            fclose(f);
        note("writer%d: %ld writes in %.1f s of writing (%.0f/s), %ld errors", k + 1, wr[k].writes,
             (double)wr[k].ms / 1000, wr[k].ms ? wr[k].writes * 1000.0 / wr[k].ms : 0,
             wr[k].errors);
    }
    int64_t wend = mono_now_ms();
    int64_t active_to = real_now_ms();
    note("writers and interfaces done after %.1f s", (double)(wend - wstart) / 1000);

    /* orderly end: the interfaces quit (their leases released), the daemon drains */
    for (int k = 0; k < NTUI; k++) {
        struct tui *u = &tuis[k];
        u->quitting = 1;
        for (int i = 0; i < 4 && !wait_for(u, "EXITED", 1000); i++) {
            keys(u, "Escape", 0);
            keys(u, "q", 0);
        }
    }
    int exited_ok = 1;
    for (int k = 0; k < NTUI; k++)
        exited_ok &= wait_for(&tuis[k], "EXITED 0", 10000);
    if (L.daemon <= 0)
        daemon_start(&L);
    int settled = settle(&L, 1, 1000, 300000) == 0;
    daemon_stop(&L);
    sampling = 0;
    pthread_join(sth, NULL);

    /* ---- no lock error reached anyone ---- */
    long werr = wr[0].errors + wr[1].errors, wbusy = wr[0].busy + wr[1].busy;
    for (int k = 0; k < 2; k++)
        if (wr[k].first_error[0])
            note("writer%d: first error: %s", k + 1, wr[k].first_error);
    tap(wr[0].writes == writes && wr[1].writes == writes && werr == 0,
        "two writers, %ld writes each through the store's functions: %ld errors, %ld of them"
        " busy/locked",
        writes, werr, wbusy);
    long busy_screens = 0, captures = 0, screen_errors = 0;
    for (int k = 0; k < NTUI; k++) {
        busy_screens += tuis[k].busy_seen;
        captures += tuis[k].captures;
        screen_errors += tuis[k].errors_seen;
    }
    tap(busy_screens == 0 && screen_errors == 0,
        "no lock error and no error at all on the interfaces' screens (%ld captures: %ld with"
        " busy/locked, %ld error messages)",
        captures, busy_screens, screen_errors);
    long confirmed = tuis[0].actions + tuis[1].actions, tried = tuis[0].tried + tuis[1].tried;
    tap(confirmed == tried && tried >= min_actions,
        "every key-driven action confirmed on screen (%ld of %ld: %ld replies, the rest tag,"
        " assign, snooze, done; %ld more cut short by a kill or a crash)",
        confirmed, tried, tuis[0].replies + tuis[1].replies,
        tuis[0].interrupted + tuis[1].interrupted);

    char path[300];
    int log_busy = 0;
    snprintf(path, sizeof(path), "%s/porter/porter.log", L.dir);
    log_busy += busy_lines(path);
    snprintf(path, sizeof(path), "%s/stderr.log", L.dir);
    log_busy += busy_lines(path);
    long tui_stderr = 0;
    for (int k = 0; k < NTUI; k++) {
        snprintf(path, sizeof(path), "%s/porter/porter.log", tuis[k].dir);
        log_busy += busy_lines(path);
        snprintf(path, sizeof(path), "%s/stderr.log", tuis[k].dir);
        log_busy += busy_lines(path);
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > 0) {
            tui_stderr += st.st_size;
            FILE *f = fopen(path, "r");
            char line[512];
            for (int i = 0; f && i < 10 && fgets(line, sizeof(line), f); i++)
                note("%s stderr: %s", tuis[k].name, line);
            if (f)
                fclose(f);
        }
    }
    tap(log_busy == 0,
        "no busy/locked line in porter sync's stderr, the interfaces' stderr or any of the"
        " three porter.log (%d)",
        log_busy);
    tap(exited_ok && !tuis[0].deaths && !tuis[1].deaths && tui_stderr == 0,
        "both interfaces ran until told to quit (they died on their own %d and %d time(s), and"
        " were started again; %ld bytes on their stderr), then quit with status 0",
        tuis[0].deaths, tuis[1].deaths, tui_stderr);

    /* ---- one leader at any time ---- */
    int changes = 0, bad_changes = 0;
    char prev[64] = "";
    for (size_t i = 0; i < nsamples; i++) {
        char h[64];
        snprintf(h, sizeof(h), "%s", samples[i].holder);
        char *sp = strchr(h, ' ');
        if (sp)
            *sp = '\0';
        if (!h[0] || samples[i].t > wend)
            continue; /* nobody, or the orderly end */
        if (prev[0] && strcmp(h, prev) != 0) {
            changes++;
            /* a change must follow the end (a kill, or a crash) of the previous holder */
            const char *c = strrchr(prev, ':');
            pid_t was = c ? (pid_t)atoi(c + 1) : 0;
            int explained = ended_before(was, samples[i].t, 0);
            if (!explained) {
                bad_changes++;
                note("the lease went from %s to %s at %.1f s without a kill", prev, h,
                     (double)(samples[i].t - wstart) / 1000);
            }
        }
        snprintf(prev, sizeof(prev), "%s", h);
    }
    int leader_deaths = changes - nk; /* holder changes that followed a crash, not a kill */
    tap(bad_changes == 0 && changes >= nk,
        "the lease (%zu samples, every 50 ms) changed holder %d time(s): %d kill(s) of the"
        " leader, %d crash(es) of the leader, never otherwise",
        nsamples, changes, nk, leader_deaths);
    struct took took[64];
    int ntook = 0, lost = 0;
    snprintf(path, sizeof(path), "%s/porter/porter.log", L.dir);
    ntook = lease_lines(path, active_from, active_to, took, 64, ntook, &lost);
    for (int k = 0; k < NTUI; k++) {
        snprintf(path, sizeof(path), "%s/porter/porter.log", tuis[k].dir);
        ntook = lease_lines(path, active_from, active_to, took, 64, ntook, &lost);
    }
    qsort(took, (size_t)ntook, sizeof(took[0]), cmp_took);
    int early = 0; /* a take before the previous leader's death */
    for (int i = 1; i < ntook; i++) {
        int ok = ended_before(took[i - 1].pid, took[i].t, 1);
        if (!ok) {
            early++;
            note("pid %d took the lease while pid %d, which took it before, was not killed",
                 (int)took[i].pid, (int)took[i - 1].pid);
        }
    }
    tap(lost == 0 && early == 0 && ntook == 1 + changes,
        "the logs: %d 'took the sync lease' (1 + %d changes of holder), each after the previous"
        " leader's end; %d 'lost the sync lease'",
        ntook, changes, lost);
    for (int k = 0; k < nk; k++) { /* to the sample: the first live holder after the kill */
        for (size_t i = 0; i < nsamples && kr[k].takeover_ms >= 0 && kr[k].takeover_ms < 999999;
             i++) {
            const char *h = samples[i].holder, *c = strrchr(h, ':');
            size_t hl = strlen(h);
            if (samples[i].t >= kr[k].at && c && (pid_t)atoi(c + 1) != kr[k].pid && hl > 2 &&
                strcmp(h + hl - 2, " 1") == 0) {
                kr[k].takeover_ms = samples[i].t - kr[k].at;
                break;
            }
        }
    }
    int64_t worst = 0;
    char figs[256] = "";
    size_t used = 0;
    int took_over = 1;
    for (int k = 0; k < nk; k++) {
        if (kr[k].takeover_ms < 0 || kr[k].takeover_ms >= 999999)
            took_over = 0;
        if (kr[k].takeover_ms > worst)
            worst = kr[k].takeover_ms;
        used += (size_t)snprintf(figs + used, sizeof(figs) - used, "%s%s %.1f s", k ? ", " : "",
                                 kr[k].who, (double)kr[k].takeover_ms / 1000);
    }
    tap(nk == kills && took_over && worst <= LEASE_TTL_MS + LEASE_RENEW_MS + 5000,
        "%d kill(s) of the leader, each taken over by another process within %d s (%s)", nk,
        (LEASE_TTL_MS + LEASE_RENEW_MS + 5000) / 1000, figs);

    /* ---- every queued write exactly once at pmsim ---- */
    tap(settled, "the queued writes drained after the run");
    cJSON *wlog = sim_getj(&L, "/_sim/writes"), *w;
    long wcount[2] = {wr[0].replies, wr[1].replies};
    int *cnt[NTUI + 2];
    long ncnt[NTUI + 2];
    for (int k = 0; k < 2; k++) {
        ncnt[k] = wcount[k];
        cnt[k] = calloc((size_t)wcount[k] + 1, sizeof(int));
    }
    for (int k = 0; k < NTUI; k++) {
        ncnt[2 + k] = tuis[k].replies + 4; /* an unconfirmed one may have gone too */
        cnt[2 + k] = calloc((size_t)ncnt[2 + k] + 1, sizeof(int));
    }
    cJSON_ArrayForEach(w, wlog)
    {
        const cJSON *b = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "body"), "body");
        int k = -1;
        long i = -1;
        if (!cJSON_IsString(b))
            continue;
        if (sscanf(b->valuestring, "w%d reply %ld", &k, &i) == 2 && k >= 1 && k <= 2)
            k -= 1;
        else if (sscanf(b->valuestring, "tui%d reply %ld", &k, &i) == 2 && k >= 1 && k <= NTUI)
            k += 1;
        else
            continue;
        if (i >= 0 && i < ncnt[k])
            cnt[k][i]++;
    }
    cJSON_Delete(wlog);
    long queued = 0, lost_w = 0, dup_w = 0;
    for (int k = 0; k < NTUI + 2; k++) {
        long want = k < 2 ? wcount[k] : tuis[k - 2].replies;
        for (long i = 0; i < ncnt[k]; i++) {
            if (i < want) {
                queued++;
                lost_w += cnt[k][i] == 0;
            }
            dup_w += cnt[k][i] > 1;
        }
        free(cnt[k]);
    }
    int64_t not_sent = db_int(&L, "SELECT count(*) FROM outbox WHERE state <> 'sent'");
    int64_t synced = db_int(&L, "SELECT count(*) FROM message WHERE origin = 'porter' AND"
                                " direction = 'out' AND send_state = 'synced' AND remote_id IS"
                                " NOT NULL");
    int64_t outs = db_int(&L, "SELECT count(*) FROM message WHERE origin = 'porter' AND"
                              " direction = 'out'");
    tap(lost_w == 0 && dup_w == 0 && not_sent == 0 && synced == outs,
        "%ld replies queued (writers %ld + %ld, interfaces %ld + %ld): lost %ld, duplicated %ld"
        " at pmsim; %lld op(s) not sent; %lld of %lld synced",
        queued, wcount[0], wcount[1], tuis[0].replies, tuis[1].replies, lost_w, dup_w,
        (long long)not_sent, (long long)synced, (long long)outs);
    int adopt = adoption_mismatches(&L);
    tap(adopt == 0, "every reply carries pmsim's id for its text (%d wrong)", adopt);
    tap(strcmp(db_integrity(&L), "ok") == 0, "PRAGMA integrity_check ok at the end");

    double secs = (double)(wend - wstart) / 1000;
    note("procs: writer1 %.0f writes/s, writer2 %.0f writes/s (%ld writes each in %.1f and"
         " %.1f s); interfaces: %ld actions (%ld replies); busy errors %ld; takeover after"
         " SIGKILL: %s; %ld replies exactly once at pmsim; %.0f s of load, %.1f min in all",
         wr[0].ms ? wr[0].writes * 1000.0 / wr[0].ms : 0,
         wr[1].ms ? wr[1].writes * 1000.0 / wr[1].ms : 0, writes, (double)wr[0].ms / 1000,
         (double)wr[1].ms / 1000, confirmed, tuis[0].replies + tuis[1].replies,
         wbusy + busy_screens + log_busy, figs, queued, secs,
         (double)(mono_now_ms() - t0) / 60000.0);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "tmux -S %s kill-server 2>/dev/null", sock);
    if (system(cmd) != 0)
        note("tmux kill-server failed");
    lenv_teardown(&L, failed != 0);
    free(samples);
    printf("1..%d\n", tn);
    return failed ? 1 : 0;
}
