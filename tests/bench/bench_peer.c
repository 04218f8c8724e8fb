/* bench_peer.c - porter side by side with neomutt, a terminal mail reader its users know:
 * each opens the same 100k messages and scrolls 1,000 rows of its index, driven the same
 * way on a pseudo-terminal, in one run. A benchmark, not a test.
 *
 * The messages. porter opens the 100k database of bench_ui ($BENCH_DIR/ui-100k.db, made by
 * `bench_ui 100k`; this program does not generate it). neomutt opens a maildir written
 * from the same rows of that database ($BENCH_DIR/maildir-100k, cached beside a marker
 * maildir-100k.ok that records the database's marker, size and mtime): one RFC 5322 file
 * per message in cur/, From and To the guest (contact name, guestN@example.com) and the
 * staff author (name@host.example), Subject the thread's subject ("Re: " after the first
 * message), Date the message's time, Message-ID from its remote id, In-Reply-To and
 * References chaining the thread's messages (so neomutt builds the same threads), the
 * body as UTF-8 text/plain. Non-ASCII names are RFC 2047 encoded. The messages a thread
 * still has unread in porter have no S flag.
 *
 * The programs. Both on a pseudo-terminal of 80x24, TERM=xterm-256color, LC_ALL=C.UTF-8,
 * HOME and XDG directories in a temporary directory:
 *   porter   `$PORTER_BIN --config EMPTYDIR --db COPY` (a copy of the cached database;
 *            no accounts: no sync engine). Its index lists threads, newest first.
 *   neomutt  `neomutt -n -F MUTTRC -f MAILDIR` (-n: no system muttrc). The muttrc sets
 *            mbox_type=Maildir, folder and spoolfile, mbox/record/postponed in the
 *            temporary HOME, sort=threads, sort_aux=reverse-last-date (threads, newest
 *            activity first, as porter), mark_old=no, check_new=no, confirmappend=no,
 *            confirmcreate=no, wait_key=no, sleep_time=0 and a status line without the
 *            mailbox path; everything else is neomutt's default (help line on, read_inc=10
 *            progress while reading). Its index lists messages, threaded.
 *     cold   no header cache: neomutt reads and parses all 100k files at open.
 *     warm   header_cache set to a cache filled by one unmeasured open before the runs:
 *            neomutt lists cur/, stats each file (maildir_header_cache_verify) and reads
 *            the headers from the cache.
 * The files and the database are in the OS page cache in every run ("cold" is about the
 * header cache, not the disk).
 *
 *   first paint  from fork() to the read() that completes the first index screen: for
 *                porter the tab bar ("1 Inbox"), the list header (" 1/") and the status
 *                bar (" pending"), as bench_ui; for neomutt the status line below the
 *                index rows ("[Msgs:100000"). Exec, start-up and loading are included.
 *   scroll       `j` x 1000, one key at a time (after 300 ms of quiet following the first
 *                paint): from write() of the key to the last byte of the answer; the
 *                answer ends after QUIET_MS without output (not counted). The total is
 *                the sum over the keys; p50/p99/max per key beside it. A key without an
 *                answer in KEY_TIMEOUT_MS is counted as unanswered. `j` moves one row in
 *                both (neomutt: next-undeleted; none is deleted).
 *   RSS          VmRSS and VmHWM from /proc/PID/status after the scroll.
 * Then `q` (SIGTERM after 5 s).
 *
 * A round runs neomutt cold, neomutt warm and porter, one after the other; RUNS rounds;
 * every figure is the median over the rounds, every ratio neomutt / porter of medians.
 *
 * Environment: PORTER_BIN (default ./porter), BENCH_DIR (default build/bench), NEOMUTT_BIN
 * (default neomutt, looked up in PATH), BENCH_PEER_RUNS (rounds, default RUNS, at most
 * RUNS_MAX), BENCH_PEER_MUTTRC (lines appended to both muttrcs, to try a setting, e.g.
 * "set read_inc=0"), BENCH_PEER_DUMP (a prefix: the raw terminal output of the latest run
 * of each program goes to PREFIX-neomutt-cold.out, -neomutt-warm.out, -porter.out),
 * BENCH_ROWS (a file the table's rows are appended to, porter's figure with both ratios, for
 * the combined table of make bench: rows.h).
 * Exits 0 when neomutt is not installed (skipped, with a message) or every run completed;
 * 1 when a run failed or the database is missing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rows.h"
#include "util.h"

#define MAILDIR_VERSION 1
#define RUNS            5 /* default; BENCH_PEER_RUNS=1..RUNS_MAX */
#define RUNS_MAX        9
#define SCROLL_KEYS     1000
#define QUIET_MS        5
#define KEY_TIMEOUT_MS  2000
#define PAINT_TIMEOUT_S 300
#define ROWS            24
#define COLS            80
#define WATCH_MAX       4

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_peer: %s: %s\n", what, why ? why : strerror(errno));
    exit(1);
}

static int read_text(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t k = fread(out, 1, n - 1, f);
    out[k] = '\0';
    fclose(f);
    return 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        die(path, NULL);
}

/* rm -rf for the trees this program makes (directories and regular files). */
static void rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char *sub = xasprintf("%s/%s", path, de->d_name);
            rm_tree(sub);
            free(sub);
        }
        if (d)
            closedir(d);
        if (rmdir(path) != 0)
            fprintf(stderr, "bench_peer: rmdir %s: %s\n", path, strerror(errno));
    } else if (unlink(path) != 0) {
        fprintf(stderr, "bench_peer: unlink %s: %s\n", path, strerror(errno));
    }
}

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (in < 0 || out < 0)
        die(in < 0 ? from : to, NULL);
    static char buf[1 << 20];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n)
            die(to, NULL);
    if (n < 0)
        die(from, NULL);
    close(in);
    close(out);
}

/* The absolute path of an executable: `name` itself when it has a '/', else from PATH. */
static char *find_exe(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
    const char *path = getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        char *cand = xasprintf("%.*s/%s", (int)n, path, name);
        if (n && access(cand, X_OK) == 0)
            return cand;
        free(cand);
        path += n + (path[n] == ':');
    }
    return NULL;
}

/* ---- the maildir ---- */

/* RFC 2047: a display name as an encoded-word when it is not plain ASCII, else quoted. */
static void put_name(FILE *f, const char *name)
{
    int ascii = 1;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        ascii &= *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\';
    if (ascii) {
        fprintf(f, "\"%s\"", name);
        return;
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = (const unsigned char *)name;
    size_t n = strlen(name);
    fputs("=?UTF-8?B?", f);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        v |= i + 1 < n ? (unsigned)s[i + 1] << 8 : 0;
        v |= i + 2 < n ? (unsigned)s[i + 2] : 0;
        fputc(b64[(v >> 18) & 63], f);
        fputc(b64[(v >> 12) & 63], f);
        fputc(i + 1 < n ? b64[(v >> 6) & 63] : '=', f);
        fputc(i + 2 < n ? b64[v & 63] : '=', f);
    }
    fputs("?=", f);
}

/* "Front desk" -> "front-desk@host.example" */
static void staff_address(char *out, size_t n, const char *name)
{
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < n; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            out[k++] = (char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out[k++] = c;
        else if (c == ' ' && k)
            out[k++] = '-';
    }
    out[k] = '\0';
    if (!k)
        strlcpy_p(out, "staff", n);
    size_t len = strlen(out);
    snprintf(out + len, n - len, "@host.example");
}

struct msg {
    int64_t id, sent_at;
    int in, unread;
    char *mid, *author, *body; /* owned */
};

struct thread {
    int64_t id;
    int unread;
    char *subject, *guest, *email; /* owned */
    struct msg *m;
    size_t n, cap;
};

static void thread_clear(struct thread *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->m[i].mid);
        free(t->m[i].author);
        free(t->m[i].body);
    }
    free(t->subject);
    free(t->guest);
    free(t->email);
    struct msg *m = t->m;
    size_t cap = t->cap;
    memset(t, 0, sizeof(*t));
    t->m = m;
    t->cap = cap;
}

static void write_message(const char *cur, const struct thread *t, size_t k)
{
    const struct msg *m = &t->m[k];
    char path[1024], staff[128], date[64];
    snprintf(path, sizeof(path), "%s/%lld.M%lldP0.porter-bench:2,%s", cur,
             (long long)(m->sent_at / 1000), (long long)m->id, m->unread ? "" : "S");
    FILE *f = fopen(path, "w");
    if (!f)
        die(path, NULL);
    staff_address(staff, sizeof(staff), m->in ? "Guest team" : m->author);
    time_t secs = (time_t)(m->sent_at / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    fputs("From: ", f);
    put_name(f, m->in ? t->guest : m->author);
    fprintf(f, " <%s>\nTo: ", m->in ? t->email : staff);
    put_name(f, m->in ? "Guest team" : t->guest);
    fprintf(f, " <%s>\n", m->in ? staff : t->email);
    fprintf(f, "Subject: %s%s\nDate: %s\nMessage-ID: <%s>\n", k ? "Re: " : "", t->subject, date,
            m->mid);
    if (k) {
        fprintf(f, "In-Reply-To: <%s>\nReferences:", t->m[k - 1].mid);
        for (size_t i = 0; i < k; i++)
            fprintf(f, "%s<%s>", i ? "\n " : " ", t->m[i].mid);
        fputc('\n', f);
    }
    fprintf(f,
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\n%s\n",
            m->body);
    if (fclose(f) != 0)
        die(path, NULL);
}

/* Write one thread's messages; the last `unread` inbound ones stay unread. */
static void write_thread(const char *cur, struct thread *t)
{
    int left = t->unread;
    for (size_t k = t->n; k-- > 0 && left > 0;)
        if (t->m[k].in) {
            t->m[k].unread = 1;
            left--;
        }
    for (size_t k = 0; k < t->n; k++)
        write_message(cur, t, k);
}

static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

/* Write the maildir of every message of `db` to `dir`; returns the number of messages. */
static long write_maildir(const char *db, const char *dir)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die(db, sqlite3_errmsg(h));
    static const char sql[] =
        "SELECT t.id, t.subject, t.unread, COALESCE(c.name, ''), COALESCE(c.email, ''), "
        "       m.id, COALESCE(m.remote_id, 'local' || m.id), m.direction, m.author, m.body, "
        "       m.sent_at "
        "FROM message m JOIN thread t ON t.id = m.thread_id "
        "LEFT JOIN contact c ON c.id = t.contact_id "
        "ORDER BY m.thread_id, m.sent_at, m.id";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        die(db, sqlite3_errmsg(h));
    char *cur = xasprintf("%s/cur", dir);
    struct thread t = {0};
    long count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t tid = sqlite3_column_int64(st, 0);
        if (t.n && t.id != tid) {
            write_thread(cur, &t);
            thread_clear(&t);
        }
        if (!t.n) {
            t.id = tid;
            t.subject = xstrdup(col(st, 1));
            t.unread = sqlite3_column_int(st, 2);
            t.guest = xstrdup(*col(st, 3) ? col(st, 3) : "Guest");
            t.email = *col(st, 4) ? xstrdup(col(st, 4))
                                  : xasprintf("guest-t%lld@example.com", (long long)tid);
        }
        if (t.n == t.cap) {
            t.cap = t.cap ? t.cap * 2 : 16;
            t.m = xrealloc(t.m, t.cap * sizeof(*t.m));
        }
        struct msg *m = &t.m[t.n++];
        memset(m, 0, sizeof(*m));
        m->id = sqlite3_column_int64(st, 5);
        m->mid = xasprintf("%s@bench.porter.example", col(st, 6));
        m->in = strcmp(col(st, 7), "in") == 0;
        m->author = xstrdup(*col(st, 8) ? col(st, 8) : "Front desk");
        m->body = xstrdup(col(st, 9));
        m->sent_at = sqlite3_column_int64(st, 10);
        count++;
    }
    if (rc != SQLITE_DONE)
        die(db, sqlite3_errmsg(h));
    if (t.n)
        write_thread(cur, &t);
    thread_clear(&t);
    free(t.m);
    free(cur);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return count;
}

/* Make (or reuse) $dir/maildir-100k from the database; returns its path (owned) and its
 * number of messages in *messages. */
static char *maildir_cached(const char *dir, const char *db, long *messages)
{
    char dbmark[512], want[1024], got[1024] = "";
    char *marker = xasprintf("%s.ok", db);
    if (read_text(marker, dbmark, sizeof(dbmark)) != 0 || !strstr(dbmark, "messages 100000")) {
        fprintf(stderr,
                "bench_peer: %s is missing or not the 100k database; make it first with\n"
                "  build/tests/bench/bench_ui 100k\n(or `make bench`, which runs bench_ui "
                "before bench_peer)\n",
                db);
        exit(1);
    }
    dbmark[strcspn(dbmark, "\n")] = '\0';
    struct stat st;
    if (stat(db, &st) != 0)
        die(db, NULL);
    free(marker);
    char *maildir = xasprintf("%s/maildir-100k", dir);
    marker = xasprintf("%s.ok", maildir);
    snprintf(want, sizeof(want), "porter bench_peer maildir %d from %s size %lld mtime %lld\n",
             MAILDIR_VERSION, dbmark, (long long)st.st_size, (long long)st.st_mtime);
    if (read_text(marker, got, sizeof(got)) == 0 && strncmp(got, want, strlen(want)) == 0 &&
        sscanf(got + strlen(want), "messages %ld", messages) == 1) {
        free(marker);
        return maildir;
    }
    unlink(marker);
    rm_tree(maildir);
    char *tmp = xasprintf("%s.tmp", maildir);
    rm_tree(tmp);
    static const char *const subs[] = {"", "/cur", "/new", "/tmp"};
    for (size_t i = 0; i < ARRAY_LEN(subs); i++) {
        char *sub = xasprintf("%s%s", tmp, subs[i]);
        if (mkdir(sub, 0700) != 0)
            die(sub, NULL);
        free(sub);
    }
    fprintf(stderr, "bench_peer: writing %s from %s...\n", maildir, db);
    double t0 = now_s();
    *messages = write_maildir(db, tmp);
    if (rename(tmp, maildir) != 0)
        die(maildir, NULL);
    char text[1200];
    snprintf(text, sizeof(text), "%smessages %ld\n", want, *messages);
    write_text(marker, text);
    fprintf(stderr, "bench_peer: %ld messages in %.1f s\n", *messages, now_s() - t0);
    free(marker);
    free(tmp);
    return maildir;
}

/* ---- the terminal ---- */

struct term {
    int fd; /* pty master */
    pid_t pid;
    long bytes;                   /* everything read so far */
    double last_at;               /* time of the last read that returned data */
    const char *watch[WATCH_MAX]; /* borrowed: strings to look for in the output */
    int seen[WATCH_MAX];
    char tail[64]; /* the last bytes read: a watched string may span reads */
    size_t ntail;
    FILE *dump; /* may be NULL */
};

/* Wait up to ms for output and read what is there: bytes read, 0 on timeout, -1 when the
 * child has closed the terminal. */
static int term_pump(struct term *t, int ms)
{
    struct pollfd p = {.fd = t->fd, .events = POLLIN};
    int r = poll(&p, 1, ms < 0 ? 0 : ms);
    if (r < 0 && errno == EINTR)
        return 0;
    if (r <= 0)
        return r;
    char buf[8192];
    ssize_t n = read(t->fd, buf, sizeof(buf));
    if (n <= 0)
        return n < 0 && errno == EAGAIN ? 0 : -1;
    t->last_at = now_s();
    t->bytes += n;
    if (t->dump)
        fwrite(buf, 1, (size_t)n, t->dump);
    char win[sizeof(t->tail) + sizeof(buf)];
    memcpy(win, t->tail, t->ntail);
    memcpy(win + t->ntail, buf, (size_t)n);
    size_t nwin = t->ntail + (size_t)n;
    for (int i = 0; i < WATCH_MAX; i++)
        for (size_t k = 0, len = t->watch[i] ? strlen(t->watch[i]) : 0;
             len && !t->seen[i] && k + len <= nwin; k++)
            t->seen[i] = memcmp(win + k, t->watch[i], len) == 0;
    t->ntail = nwin < sizeof(t->tail) ? nwin : sizeof(t->tail);
    memcpy(t->tail, win + nwin - t->ntail, t->ntail);
    return (int)n;
}

static void term_settle(struct term *t, int ms)
{
    while (term_pump(t, ms) > 0)
        ;
}

static void term_start(struct term *t, char *const argv[], const char *home)
{
    struct winsize ws = {.ws_row = ROWS, .ws_col = COLS};
    pid_t pid = forkpty(&t->fd, NULL, NULL, &ws);
    if (pid < 0)
        die("forkpty", NULL);
    if (pid == 0) {
        char xdg[600];
        setenv("TERM", "xterm-256color", 1);
        setenv("LANG", "C.UTF-8", 1);
        setenv("LC_ALL", "C.UTF-8", 1);
        setenv("HOME", home, 1);
        setenv("USER", "bench", 1);
        snprintf(xdg, sizeof(xdg), "%s/.config", home);
        setenv("XDG_CONFIG_HOME", xdg, 1);
        snprintf(xdg, sizeof(xdg), "%s/.local/state", home);
        setenv("XDG_STATE_HOME", xdg, 1);
        snprintf(xdg, sizeof(xdg), "%s/.cache", home);
        setenv("XDG_CACHE_HOME", xdg, 1);
        unsetenv("LINES"); /* curses would believe these over the window size */
        unsetenv("COLUMNS");
        unsetenv("NO_COLOR");
        unsetenv("ESCDELAY");
        unsetenv("MAIL");
        unsetenv("MAILDIR");
        unsetenv("EMAIL");
        if (chdir(home) != 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    t->pid = pid;
    fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK);
}

/* Quit with q and reap the child (SIGTERM after 5 s). Returns its exit status or -1. */
static int term_quit(struct term *t, const char *name)
{
    int st = 0;
    if (write(t->fd, "q", 1) != 1)
        perror("bench_peer: write q");
    double until = now_s() + 5;
    pid_t r;
    while ((r = waitpid(t->pid, &st, WNOHANG)) == 0 && now_s() < until)
        term_pump(t, 20);
    if (r == 0) {
        fprintf(stderr, "bench_peer: %s did not quit; SIGTERM\n", name);
        kill(t->pid, SIGTERM);
        waitpid(t->pid, &st, 0);
    }
    close(t->fd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

/* ---- the runs ---- */

enum prog { P_COLD, P_WARM, P_PORTER, P_COUNT };
static const char *const prog_name[P_COUNT] = {"neomutt-cold", "neomutt-warm", "porter"};

/* One run's figures (all double, so that medians are taken alike). */
struct run {
    double paint_ms, paint_bytes;
    double scroll_ms; /* the sum over the keys, to the last byte */
    double p50, p99, max;
    double keys, timeouts;
    double rss_mib, hwm_mib;
};

struct setup {
    char *argv[P_COUNT][8];
    const char *watch[P_COUNT][WATCH_MAX];
    char home[P_COUNT][600];
    const char *dump_prefix;
};

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    if (!n)
        return -1;
    qsort(v, n, sizeof(*v), cmp_d);
    return v[(size_t)((double)(n - 1) * p + 0.5)];
}

/* Open, wait for the first index screen, scroll, measure, quit. Returns the exit status. */
static int one_run(const struct setup *su, enum prog p, struct run *r)
{
    struct term t;
    memset(&t, 0, sizeof(t));
    memset(r, 0, sizeof(*r));
    if (su->dump_prefix) {
        char path[600];
        snprintf(path, sizeof(path), "%s-%s.out", su->dump_prefix, prog_name[p]);
        t.dump = fopen(path, "w");
    }
    for (int i = 0; i < WATCH_MAX; i++)
        t.watch[i] = su->watch[p][i];
    double t0 = now_s();
    term_start(&t, su->argv[p], su->home[p]);
    for (;;) {
        int done = 1;
        for (int i = 0; i < WATCH_MAX; i++)
            done &= !t.watch[i] || t.seen[i];
        if (done)
            break;
        if (term_pump(&t, 1000) < 0 || now_s() - t0 > PAINT_TIMEOUT_S) {
            fprintf(stderr, "bench_peer: %s: no first paint (exited or hung)\n", prog_name[p]);
            exit(1);
        }
    }
    r->paint_ms = (t.last_at - t0) * 1000;
    term_settle(&t, 300);
    r->paint_bytes = (double)t.bytes;

    double *last = xcalloc(SCROLL_KEYS, sizeof(*last));
    size_t ns = 0;
    for (int i = 0; i < SCROLL_KEYS; i++) {
        double k0 = now_s();
        if (write(t.fd, "j", 1) != 1)
            die("write key", NULL);
        int got = 0;
        while (!got) {
            int left = (int)((k0 + KEY_TIMEOUT_MS / 1000.0 - now_s()) * 1000);
            if (left <= 0)
                break;
            int n = term_pump(&t, left);
            if (n < 0) {
                fprintf(stderr, "bench_peer: %s exited during the scroll\n", prog_name[p]);
                exit(1);
            }
            got = n > 0;
        }
        if (!got) {
            r->timeouts++;
            continue;
        }
        term_settle(&t, QUIET_MS);
        last[ns] = (t.last_at - k0) * 1000;
        r->scroll_ms += last[ns++];
    }
    r->keys = (double)ns;
    r->p50 = pct(last, ns, 0.50);
    r->p99 = pct(last, ns, 0.99);
    r->max = pct(last, ns, 1.0);
    free(last);
    term_settle(&t, 100);
    r->rss_mib = (double)proc_kb(t.pid, "VmRSS") / 1024;
    r->hwm_mib = (double)proc_kb(t.pid, "VmHWM") / 1024;
    int status = term_quit(&t, prog_name[p]);
    if (t.dump)
        fclose(t.dump);
    return status;
}

/* Fill the header cache: open the maildir once, wait for the index, quit. */
static void warm_up(const struct setup *su)
{
    struct term t;
    memset(&t, 0, sizeof(t));
    for (int i = 0; i < WATCH_MAX; i++)
        t.watch[i] = su->watch[P_WARM][i];
    double t0 = now_s();
    term_start(&t, su->argv[P_WARM], su->home[P_WARM]);
    while (!(t.seen[0] && (!t.watch[1] || t.seen[1])))
        if (term_pump(&t, 1000) < 0 || now_s() - t0 > PAINT_TIMEOUT_S)
            die("neomutt warm-up", "no index (exited or hung)");
    term_settle(&t, 300);
    term_quit(&t, "neomutt warm-up");
    fprintf(stderr, "bench_peer: header cache filled in %.1f s\n", now_s() - t0);
}

/* ---- the table ---- */

static int nruns = RUNS;

static double med(const struct run *r, size_t off)
{
    double v[RUNS_MAX];
    for (int k = 0; k < nruns; k++)
        memcpy(&v[k], (const char *)&r[k] + off, sizeof(double));
    return pct(v, (size_t)nruns, 0.5);
}
#define MED(p, field) med(runs[p], offsetof(struct run, field))

/* One line of the table, "metric (unit)"; to $BENCH_ROWS, "peer: metric, porter" with
 * porter's figure and both ratios. */
static void row(const char *metric, const char *unit, int decimals, int ratio, double cold,
                double warm, double porter)
{
    char c[32], w[32], p[32], rc[32] = "", rw[32] = "", label[96], both[64] = "";
    snprintf(c, sizeof(c), "%.*f", decimals, cold);
    snprintf(w, sizeof(w), "%.*f", decimals, warm);
    snprintf(p, sizeof(p), "%.*f", decimals, porter);
    if (ratio && porter > 0) {
        snprintf(rc, sizeof(rc), "%.1fx", cold / porter);
        snprintf(rw, sizeof(rw), "%.1fx", warm / porter);
        snprintf(both, sizeof(both), "neomutt cold %s, warm %s", rc, rw);
    }
    snprintf(label, sizeof(label), "%s (%s)", metric, unit);
    printf("%-34s %12s %12s %9s %11s %11s\n", label, c, w, p, rc, rw);
    while (*metric == ' ')
        metric++;
    snprintf(label, sizeof(label), "peer: %s, porter", metric);
    bench_rows_add(label, porter, decimals, unit, "-", -1, both);
}

static void table(struct run (*runs)[RUNS_MAX], long messages, int64_t porter_rows)
{
    printf("\nneomutt %ld messages (maildir) vs porter %ld messages (SQLite), 80x24, "
           "medians of %d rounds\n",
           messages, messages, nruns);
    printf("index rows: neomutt %ld messages (threaded); porter %lld threads in the inbox\n\n",
           messages, (long long)porter_rows);
    printf("%-34s %12s %12s %9s %11s %11s\n", "metric", "neomutt cold", "neomutt warm", "porter",
           "cold/porter", "warm/porter");
#define ROW(label, unit, dec, ratio, field)                                                        \
    row(label, unit, dec, ratio, MED(P_COLD, field), MED(P_WARM, field), MED(P_PORTER, field))
    ROW("first paint of the index", "ms", 1, 1, paint_ms);
    ROW("scroll 1,000 rows, total", "ms", 1, 1, scroll_ms);
    ROW("  per key p50", "ms", 2, 1, p50);
    ROW("  per key p99", "ms", 2, 1, p99);
    ROW("  per key max", "ms", 2, 1, max);
    ROW("keys answered", "keys", 0, 0, keys);
    ROW("keys unanswered in 2 s", "keys", 0, 0, timeouts);
    ROW("first paint", "bytes written", 0, 0, paint_bytes);
    ROW("RSS after the scroll", "MiB", 1, 1, rss_mib);
    ROW("peak RSS, VmHWM", "MiB", 1, 1, hwm_mib);
#undef ROW
    printf("\ncold: no header cache, neomutt parses every file at open; warm: header cache "
           "filled beforehand.\nratio: neomutt / porter (above 1: porter is faster or "
           "smaller).\n");
}

/* ---- main ---- */

static int64_t inbox_rows(const char *db)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h,
                           "SELECT count(*) FROM thread WHERE done = 0 AND "
                           "(snoozed_until IS NULL OR snoozed_until <= ?)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now_ms());
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static void make_home(char *out, size_t n, const char *base, const char *name)
{
    snprintf(out, n, "%s/%s", base, name);
    if (mkdir(out, 0700) != 0)
        die(out, NULL);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *porter = getenv("PORTER_BIN") ? getenv("PORTER_BIN") : "./porter";
    const char *dir = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "build/bench";
    const char *nm = getenv("NEOMUTT_BIN") ? getenv("NEOMUTT_BIN") : "neomutt";
    char *neomutt = find_exe(nm);
    if (!neomutt) {
        printf("bench_peer: %s is not installed: the side-by-side benchmark is skipped "
               "(`make bench-deps` installs it, or: apt-get install neomutt)\n",
               nm);
        return 0;
    }
    char *porter_abs = realpath(porter, NULL);
    char *dir_abs = realpath(dir, NULL);
    if (!porter_abs || access(porter_abs, X_OK) != 0)
        die(porter, NULL);
    if (!dir_abs)
        die(dir, NULL);

    char work[700];
    long messages = 0;
    char *db = xasprintf("%s/ui-100k.db", dir_abs);
    char *maildir = maildir_cached(dir_abs, db, &messages);
    int64_t porter_rows = inbox_rows(db);

    char tmp[] = "/tmp/porter-bench-peer-XXXXXX";
    if (!mkdtemp(tmp))
        die("mkdtemp", NULL);
    struct setup su;
    memset(&su, 0, sizeof(su));
    su.dump_prefix = getenv("BENCH_PEER_DUMP");
    for (int p = 0; p < P_COUNT; p++)
        make_home(su.home[p], sizeof(su.home[p]), tmp, prog_name[p]);
    char cfg[700], hcache[700], rc[P_WARM + 1][700];
    snprintf(cfg, sizeof(cfg), "%s/config", su.home[P_PORTER]);
    snprintf(work, sizeof(work), "%s/porter.db", tmp);
    snprintf(hcache, sizeof(hcache), "%s/hcache/", tmp);
    if (mkdir(cfg, 0700) != 0 || mkdir(hcache, 0700) != 0)
        die(tmp, NULL);
    copy_file(db, work); /* the cache stays as generated */

    /* neomutt: its defaults, except what would prompt or sleep, the sort (threads, newest
     * activity first, as porter's list) and a status line without the path */
    for (int p = P_COLD; p <= P_WARM; p++) {
        snprintf(rc[p], sizeof(rc[p]), "%s/muttrc", su.home[p]);
        FILE *f = fopen(rc[p], "w");
        if (!f)
            die(rc[p], NULL);
        fprintf(f,
                "set mbox_type=Maildir\n"
                "set folder=\"%s\"\n"
                "set spoolfile=\"%s\"\n"
                "set mbox=\"%s/mbox\"\nset record=\"%s/sent\"\nset postponed=\"%s/postponed\"\n"
                "set sort=threads\nset sort_aux=reverse-last-date\n"
                "set mark_old=no\nset check_new=no\nset confirmappend=no\nset confirmcreate=no\n"
                "set wait_key=no\nset sleep_time=0\n"
                "set status_format=\"-%%r-NeoMutt: [Msgs:%%?M?%%M/?%%m%%?n? New:%%n?%%?o? "
                "Old:%%o?%%?d? Del:%%d?%%?F? Flag:%%F?%%?t? Tag:%%t?%%?p? Post:%%p?%%?l? %%l?]"
                "---(%%s/%%S)-%%>-(%%P)---\"\n",
                dir_abs, maildir, su.home[p], su.home[p], su.home[p]);
        if (p == P_WARM)
            fprintf(f, "set header_cache=\"%s\"\n", hcache);
        else
            fprintf(f, "unset header_cache\n");
        if (getenv("BENCH_PEER_MUTTRC"))
            fprintf(f, "%s\n", getenv("BENCH_PEER_MUTTRC"));
        if (fclose(f) != 0)
            die(rc[p], NULL);
        char **a = su.argv[p];
        a[0] = neomutt;
        a[1] = xstrdup("-n");
        a[2] = xstrdup("-F");
        a[3] = rc[p];
        a[4] = xstrdup("-f");
        a[5] = maildir;
        a[6] = NULL;
    }
    static char watch_msgs[64];
    snprintf(watch_msgs, sizeof(watch_msgs), "[Msgs:%ld", messages);
    su.watch[P_COLD][0] = su.watch[P_WARM][0] = watch_msgs;
    su.watch[P_COLD][1] = su.watch[P_WARM][1] = "---(";
    char **a = su.argv[P_PORTER];
    a[0] = porter_abs;
    a[1] = xstrdup("--config");
    a[2] = cfg;
    a[3] = xstrdup("--db");
    a[4] = work;
    a[5] = NULL;
    su.watch[P_PORTER][0] = "1 Inbox";
    su.watch[P_PORTER][1] = " 1/";
    su.watch[P_PORTER][2] = " pending";

    if (getenv("BENCH_PEER_RUNS")) {
        nruns = atoi(getenv("BENCH_PEER_RUNS"));
        nruns = nruns < 1 ? 1 : nruns > RUNS_MAX ? RUNS_MAX : nruns;
    }
    double t0 = now_s();
    warm_up(&su);
    static struct run runs[P_COUNT][RUNS_MAX];
    int failed = 0;
    for (int k = 0; k < nruns; k++)
        for (int p = 0; p < P_COUNT; p++) {
            struct run *r = &runs[p][k];
            int status = one_run(&su, (enum prog)p, r);
            failed |= status != 0;
            fprintf(stderr,
                    "bench_peer: round %d %-12s first paint %8.1f ms, scroll %7.1f ms "
                    "(p50 %.2f p99 %.2f ms, %.0f keys, %.0f unanswered), RSS %.1f MiB, exit %d\n",
                    k + 1, prog_name[p], r->paint_ms, r->scroll_ms, r->p50, r->p99, r->keys,
                    r->timeouts, r->rss_mib, status);
        }
    fprintf(stderr, "bench_peer: %d rounds in %.0f s\n", nruns, now_s() - t0);
    table(runs, messages, porter_rows);
    rm_tree(tmp);
    free(maildir);
    free(db);
    free(neomutt);
    free(porter_abs);
    free(dir_abs);
    return failed;
}
