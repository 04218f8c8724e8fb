/* bench_ui.c - the real TUI on large databases: time to first paint, per-key latency, memory
 * and terminal traffic, at 10k, 100k and 1M messages. A benchmark, not a test: it prints
 * figures against targets and never runs under make check.
 *
 * Generation. Each size is written through the store API (store_account_ensure, the
 * *_upsert functions, the triage calls) in store_begin/store_commit batches of BATCH
 * rows: properties, units, one contact and one stay per thread, threads of about ten
 * messages each (inbound and outbound mixed; about a third end on an inbound message and
 * need a reply), bodies of 40-300 bytes with some UTF-8 and emoji, one message in a hundred
 * mentioning SEARCH_WORD; then vendors and work orders in every status. Most threads are
 * read, some done, some assigned. A database is cached as $BENCH_DIR/ui-SIZE.db beside a
 * marker file (ui-SIZE.db.ok) naming the generator version, the schema version and the
 * counts; the next run reuses it when the marker matches, else generates it again.
 *
 * Driving. The runs of a size share a copy of the cached database (each run inserts a
 * message) and start `$PORTER_BIN --config EMPTYDIR --db COPY` on a pseudo-terminal of
 * 80x24, TERM=xterm-256color, LC_ALL=C.UTF-8, XDG_STATE_HOME in a temporary directory (no
 * accounts.conf: no sync engine). The master side is read whenever porter may write, so
 * porter never blocks on a full terminal.
 *
 *   first paint  from fork() to the read() that completes the first frame: the tab bar
 *                ("1 Inbox"), the list header (" 1/") and the status bar, the last row
 *                painted (" pending"). Exec, dynamic linking and start-up are included.
 *                (porter paints the rows first and fills in the counts a moment later.)
 *   per key      one key at a time, from write() of the key to the LAST byte of porter's
 *                answer; the answer ends after QUIET_MS without output (the quiet window is
 *                not counted). The time to the first byte is reported beside it. Every key
 *                of the script changes the screen; a key with no answer in KEY_TIMEOUT_MS
 *                is counted as unanswered, not as a sample.
 *   RSS          VmRSS and VmHWM of porter from /proc/PID/status after the script.
 *   idle         bytes written during IDLE_S seconds without input. The window is placed
 *                between two turns of the minute: at a turn porter repaints ages and SLA
 *                timers, by design.
 *   new message  bytes written in NEWMSG_S seconds after this process commits one inbound
 *                message to a thread far down the list (porter polls PRAGMA data_version
 *                once a second), and the time from the commit to the first byte.
 *
 * The script: j x 1000 (at most half the inbox, so the list never runs out), C-d x 20
 * (stopping short of the end), G, g, / is:unread Enter, x, / SEARCH_WORD Enter, x, 2, 1.
 * The filter and the search are typed one key at a time, as a person types them.
 *
 * Every figure is the median of RUNS runs. Usage: bench_ui [10k] [100k] [1m] (default: all
 * three). Environment: PORTER_BIN (default ./porter), BENCH_DIR (default build/bench),
 * BENCH_UI_DUMP (a file that receives the raw terminal output of the latest run), BENCH_ROWS
 * (a file the table's rows are appended to, for the combined table of make bench: rows.h).
 * Exits 0 when every run completed, whether or not the targets were met (the table says
 * which were not).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "rows.h"
#include "store.h"

#define GEN_VERSION    4
#define BATCH          5000
#define RUNS           3
#define QUIET_MS       5
#define KEY_TIMEOUT_MS 2000
#define IDLE_S         10
#define NEWMSG_S       3
#define SEARCH_WORD    "jacuzzi"
#define ROWS           24
#define COLS           80

struct size {
    const char *name;
    long messages, threads, work_orders, vendors;
};

static const struct size sizes[] = {
    {"10k", 10000, 1000, 200, 5},
    {"100k", 100000, 10000, 2000, 50},
    {"1m", 1000000, 100000, 20000, 500},
};
#define NSIZES ((int)ARRAY_LEN(sizes))

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct err *e)
{
    fprintf(stderr, "bench_ui: %s: %s\n", what, e ? e->msg : strerror(errno));
    exit(1);
}

/* ---- deterministic random numbers (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static long rndn(long n)
{
    return (long)(rnd() % (uint64_t)n);
}

static double rndf(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

#define PICK(a) ((a)[rndn((long)ARRAY_LEN(a))])

/* ---- realistic text ---- */

static const char *const first_names[] = {
    "Anna",  "Lukas", "María", "Kenji", "Zoë",    "Olivier", "Sofía", "Mehmet", "Aiko",   "Liam",
    "Chloé", "Jonas", "Priya", "Mateo", "Ingrid", "Hannah",  "Yuki",  "Noah",   "Élodie", "Søren",
};
static const char *const last_names[] = {
    "Müller",  "Tanaka",   "García", "Smith",    "Dubois",  "Rossi",
    "Öztürk",  "Nakamura", "Jensen", "Kowalski", "Brown",   "Fernández",
    "Schäfer", "Sato",     "Martin", "Nilsson",  "O'Brien", "Kim",
};
static const char *const prop_words[] = {
    "Seaside", "Alpine", "Harbour",  "Garden",  "Old Town", "Riverside",
    "Sunset",  "Forest", "Lakeview", "Château", "Hilltop",  "Marina",
};
static const char *const prop_kinds[] = {"Loft",      "Chalet", "Villa",      "Studios",
                                         "Residence", "House",  "Apartments", "Cottage"};
static const char *const staff[] = {"Front desk", "Alex", "Sam", "Jordan", "Guest team"};
static const char *const trades[] = {"plumbing",  "electrical", "hvac",   "cleaning",
                                     "locksmith", "appliances", "general"};
static const enum channel thread_channels[] = {CH_AIRBNB, CH_AIRBNB, CH_BOOKING,  CH_BOOKING,
                                               CH_EMAIL,  CH_SMS,    CH_WHATSAPP, CH_VRBO};

/* No word here starts like SEARCH_WORD: only the SEARCH_WORD fragments match the search. */
static const char *const guest_text[] = {
    "Hi! We just landed and are on our way.",
    "What time is check-in tomorrow?",
    "Könnten wir vielleicht etwas früher einchecken?",
    "チェックインは何時からですか？",
    "Is there parking near the building?",
    "The wifi password doesn't seem to work.",
    "Thanks so much, everything is perfect 😊",
    "Can we bring our dog? She is very calm 🐶",
    "¿Dónde dejamos las llaves al salir?",
    "The heating in the bedroom is not working.",
    "Could you send the door code again please?",
    "We will arrive around 22:00, is that ok?",
    "Merci beaucoup pour l'accueil, c'était génial !",
    "Is there a crib available for our baby?",
    "The shower drain is blocked.",
    "Can we check out at noon instead of 11?",
    "Where is the nearest supermarket?",
    "我们可以提前入住吗？",
    "The smoke alarm keeps beeping 🔔",
    "Do you have extra towels and a hair dryer?",
    "Our flight is delayed by two hours ✈️",
    "Könnten wir den Schlüssel beim Nachbarn abholen?",
};
static const char *const host_text[] = {
    "Thanks for your message!",
    "Check-in is from 15:00 and check-out by 11:00.",
    "The door code is 4821, it will be active from 15:00.",
    "Of course, early check-in is possible from 13:00.",
    "Gerne, wir melden uns gleich bei Ihnen.",
    "Our maintenance team is on the way 🔧",
    "Parking is available in the garage, spot 12.",
    "The wifi network is 'Guest', the password is on the fridge.",
    "Have a wonderful stay! 🌞",
    "ご連絡ありがとうございます。すぐに確認します。",
    "We have put extra towels in the hallway closet.",
    "Pets are welcome, there is a small cleaning fee.",
    "Let me check with the owner and get back to you.",
    "Safe travels, see you soon!",
};
static const char *const search_text[] = {
    "Is the " SEARCH_WORD " heated in winter?",
    "The " SEARCH_WORD " cover seems to be stuck.",
    "Can we use the " SEARCH_WORD " after 22:00?",
};

/* A body of 40-300 bytes; every hundredth message (on average) mentions SEARCH_WORD. */
static void make_body(char *out, size_t n, int inbound, const char *name)
{
    size_t target = 40 + (size_t)rndn(261), len = 0;
    out[0] = '\0';
    if (!inbound)
        len = (size_t)snprintf(out, n, "Hi %s,", name);
    if (rndn(100) == 0)
        len += (size_t)snprintf(out + len, n - len, "%s%s", len ? " " : "", PICK(search_text));
    while (len < target) {
        const char *f = inbound ? PICK(guest_text) : PICK(host_text);
        size_t fl = strlen(f);
        if (len + 1 + fl > 300 || len + 1 + fl >= n) {
            if (len >= 40)
                break;
            continue;
        }
        len += (size_t)snprintf(out + len, n - len, "%s%s", len ? " " : "", f);
    }
}

/* ---- generation ---- */

static void check(int rc, const char *what, const struct err *e)
{
    if (rc < 0)
        die(what, e);
}

struct gen {
    struct store *s;
    int64_t acct;
    long pending; /* rows written in the open batch */
    struct err e;
};

static void batch_tick(struct gen *g, long rows)
{
    g->pending += rows;
    if (g->pending < BATCH)
        return;
    check(store_commit(g->s, &g->e), "commit", &g->e);
    check(store_begin(g->s, &g->e), "begin", &g->e);
    g->pending = 0;
}

static void gen_places(struct gen *g, long nprops)
{
    char rid[32], prid[32], name[96];
    for (long p = 0; p < nprops; p++) {
        snprintf(prid, sizeof(prid), "p%ld", p);
        snprintf(name, sizeof(name), "%s %s %ld", prop_words[p % (long)ARRAY_LEN(prop_words)],
                 prop_kinds[(p / (long)ARRAY_LEN(prop_words)) % (long)ARRAY_LEN(prop_kinds)],
                 p + 1);
        struct rec_property rp = {.remote_id = prid,
                                  .name = name,
                                  .address = "1 Harbour Road",
                                  .timezone = "Europe/Berlin",
                                  .remote_updated_at = 1};
        check(store_property_upsert(g->s, g->acct, &rp, NULL, &g->e), "property", &g->e);
        for (int u = 0; u < 2; u++) {
            snprintf(rid, sizeof(rid), "u%ld.%d", p, u);
            snprintf(name, sizeof(name), "Apt %d", u + 1);
            struct rec_unit ru = {
                .remote_id = rid, .property_remote_id = prid, .name = name, .remote_updated_at = 1};
            check(store_unit_upsert(g->s, g->acct, &ru, NULL, &g->e), "unit", &g->e);
        }
        batch_tick(g, 3);
    }
}

static void day(char *out, size_t n, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d", &tm);
}

/* One thread with its contact, stay and `count` messages ending at `last` (ms); returns the
 * thread's local id. */
static int64_t gen_thread(struct gen *g, long i, long nprops, long count, int64_t last,
                          int needs_reply, long *msg_id)
{
    char tid[32], cid[32], sid[32], prid[32], urid[32], name[96], subject[128], email[128];
    char arrive[16], depart[16], conf[24], mid[32], body[512];
    snprintf(tid, sizeof(tid), "t%07ld", i);
    snprintf(cid, sizeof(cid), "c%07ld", i);
    snprintf(sid, sizeof(sid), "s%07ld", i);
    long p = rndn(nprops);
    snprintf(prid, sizeof(prid), "p%ld", p);
    snprintf(urid, sizeof(urid), "u%ld.%ld", p, rndn(2));
    const char *first = PICK(first_names);
    snprintf(name, sizeof(name), "%s %s", first, PICK(last_names));
    snprintf(email, sizeof(email), "guest%ld@example.com", i);
    struct rec_contact rc = {.remote_id = cid,
                             .kind = CONTACT_GUEST,
                             .name = name,
                             .email = email,
                             .phone = "+49 30 1234567",
                             .remote_updated_at = 1};
    check(store_contact_upsert(g->s, g->acct, &rc, NULL, &g->e), "contact", &g->e);
    enum channel ch = PICK(thread_channels);
    day(arrive, sizeof(arrive), last + (int64_t)rndn(14) * 86400000);
    day(depart, sizeof(depart), last + (int64_t)(14 + rndn(7)) * 86400000);
    snprintf(conf, sizeof(conf), "HM%06ld", i);
    struct rec_stay rs = {.remote_id = sid,
                          .property_remote_id = prid,
                          .unit_remote_id = urid,
                          .contact_remote_id = cid,
                          .status = "confirmed",
                          .remote_status = "new",
                          .channel = channel_name(ch),
                          .arrival = arrive,
                          .departure = depart,
                          .guests = 1 + (int)rndn(6),
                          .confirmation_code = conf,
                          .remote_updated_at = 1,
                          .door_code = "4821"};
    check(store_stay_upsert(g->s, g->acct, &rs, NULL, &g->e), "stay", &g->e);
    snprintf(subject, sizeof(subject), "Reservation %s", conf);
    struct rec_thread rt = {.remote_id = tid,
                            .kind = THREAD_GUEST,
                            .subject = subject,
                            .contact_remote_id = cid,
                            .stay_remote_id = sid,
                            .property_remote_id = prid,
                            .unit_remote_id = urid,
                            .channel = ch,
                            .remote_updated_at = 1};
    int64_t id = 0;
    check(store_thread_upsert(g->s, g->acct, &rt, &id, &g->e), "thread", &g->e);
    /* directions: the first message is the guest's; then a reply or a follow-up at random,
     * the last one fixed by needs_reply */
    int64_t at = last;
    int64_t *times = xcalloc((size_t)count, sizeof(*times));
    for (long k = count - 1; k >= 0; k--) {
        times[k] = at;
        at -= (2 + rndn(240)) * 60000LL;
    }
    int dir_in = 1;
    for (long k = 0; k < count; k++) {
        if (k == count - 1)
            dir_in = needs_reply;
        else if (k > 0)
            dir_in = rndn(100) < 55 ? !dir_in : dir_in;
        make_body(body, sizeof(body), dir_in, first);
        snprintf(mid, sizeof(mid), "m%08ld", (*msg_id)++);
        struct rec_message rm = {.remote_id = mid,
                                 .thread_remote_id = tid,
                                 .direction = dir_in ? DIR_IN : DIR_OUT,
                                 .channel = ch,
                                 .author = dir_in ? name : PICK(staff),
                                 .body = body,
                                 .sent_at = times[k],
                                 .remote_updated_at = times[k]};
        check(store_message_upsert(g->s, g->acct, &rm, NULL, &g->e), "message", &g->e);
    }
    free(times);
    return id;
}

/* Triage as a team leaves it: answered threads read, part of them done; some waiting
 * threads read too; some threads assigned. */
static void gen_triage(struct gen *g, int64_t tid, int needs_reply)
{
    if (!needs_reply || rndn(100) < 40)
        check(store_thread_read(g->s, tid, &g->e), "read", &g->e);
    if (!needs_reply && rndn(100) < 30)
        check(store_thread_done(g->s, tid, 1, &g->e), "done", &g->e);
    if (rndn(100) < 20)
        check(store_thread_assign(g->s, tid, rndn(2) ? "alex" : "sam", &g->e), "assign", &g->e);
}

static void gen_work(struct gen *g, const struct size *z, long nprops, int64_t now)
{
    char rid[32], name[96], prid[32], title[128], vrid[32], trid[32];
    for (long v = 0; v < z->vendors; v++) {
        snprintf(rid, sizeof(rid), "v%ld", v);
        snprintf(name, sizeof(name), "%s %s GmbH", PICK(last_names), PICK(trades));
        struct rec_vendor rv = {.remote_id = rid,
                                .name = name,
                                .trade = PICK(trades),
                                .phone = "+49 30 7654321",
                                .email = "office@example.com",
                                .insurance_expires = "2027-06-30",
                                .active = 1,
                                .remote_updated_at = 1};
        check(store_vendor_upsert(g->s, g->acct, &rv, NULL, &g->e), "vendor", &g->e);
        batch_tick(g, 1);
    }
    /* new 20%, assigned 15%, scheduled 15%, in progress 10%, on hold 5%, completed 20%,
     * closed 10%, cancelled 5% */
    static const int mix[] = {20, 15, 15, 10, 5, 20, 10, 5};
    for (long w = 0; w < z->work_orders; w++) {
        int r = (int)rndn(100), st = 0;
        while (r >= mix[st])
            r -= mix[st++];
        const char *trade = PICK(trades);
        snprintf(rid, sizeof(rid), "w%ld", w);
        snprintf(prid, sizeof(prid), "p%ld", rndn(nprops));
        snprintf(title, sizeof(title), "%s: %s", trade,
                 rndn(2) ? "guest reports a fault" : "check before next arrival");
        snprintf(vrid, sizeof(vrid), "v%ld", rndn(z->vendors));
        snprintf(trid, sizeof(trid), "t%07ld", rndn(z->threads));
        int64_t created = now - (int64_t)(rndf() * 180 * 86400000.0);
        struct rec_work_order ro = {.remote_id = rid,
                                    .title = title,
                                    .description = "Reported by the guest.",
                                    .status = (enum wo_status)st,
                                    .remote_status = wo_status_name((enum wo_status)st),
                                    .priority =
                                        rndn(100) < 3 ? PRIO_EMERGENCY : (enum priority)rndn(3),
                                    .trade = trade,
                                    .property_remote_id = prid,
                                    .thread_remote_id = rndn(100) < 30 ? trid : NULL,
                                    .vendor_remote_id = st == WO_NEW ? NULL : vrid,
                                    .created_at = created,
                                    .remote_updated_at = created};
        check(store_work_order_upsert(g->s, g->acct, &ro, NULL, &g->e), "work order", &g->e);
        batch_tick(g, 1);
    }
}

static int cmp_i64_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x > y ? -1 : x < y;
}

static void marker_text(const struct size *z, char *out, size_t n)
{
    snprintf(
        out, n, "porter bench_ui gen %d schema %d messages %ld threads %ld wos %ld vendors %ld\n",
        GEN_VERSION, store_latest_version(), z->messages, z->threads, z->work_orders, z->vendors);
}

static int cache_ok(const char *db, const char *marker, const struct size *z)
{
    char want[256], got[256] = "";
    marker_text(z, want, sizeof(want));
    FILE *f = fopen(marker, "r");
    if (!f)
        return 0;
    size_t n = fread(got, 1, sizeof(got) - 1, f);
    got[n] = '\0';
    fclose(f);
    struct stat st;
    return strcmp(want, got) == 0 && stat(db, &st) == 0 && st.st_size > 0;
}

/* Generate (or reuse) the database of size z; returns messages/s of the generation, 0 when
 * reused. */
static double generate(const char *dir, const struct size *z, char *db, size_t ndb)
{
    char marker[600], path[600];
    snprintf(db, ndb, "%s/ui-%s.db", dir, z->name);
    snprintf(marker, sizeof(marker), "%s.ok", db);
    if (cache_ok(db, marker, z))
        return 0;
    unlink(marker);
    unlink(db);
    snprintf(path, sizeof(path), "%s-wal", db);
    unlink(path);
    snprintf(path, sizeof(path), "%s-shm", db);
    unlink(path);
    fprintf(stderr, "bench_ui: generating %s (%ld messages, %ld threads)...\n", db, z->messages,
            z->threads);
    double t0 = now_s();
    struct gen g = {0};
    rng_state = 0x5eed0000ULL + (uint64_t)z->messages;
    if (!(g.s = store_open(db, &g.e)))
        die("store_open", &g.e);
    check(store_synchronous(g.s, 0, &g.e), "synchronous", &g.e); /* redone from scratch */
    check(store_account_ensure(g.s, "bench", "hostaway", &g.acct, &g.e), "account", &g.e);
    check(store_begin(g.s, &g.e), "begin", &g.e);
    long nprops = z->threads / 200 > 5 ? z->threads / 200 : 5;
    gen_places(&g, nprops);
    int64_t now = now_ms();
    long base = z->messages / z->threads, msg_id = 0, d = 0;
    /* last activity: most threads recent, a long tail back to 60 days. Threads are stored
     * oldest first, as an import that pages through a PMS's conversations by activity
     * would store them (and as they were created, mostly). */
    int64_t *age = xcalloc((size_t)z->threads, sizeof(*age));
    for (long i = 0; i < z->threads; i++)
        age[i] = 60000 + (int64_t)(rndf() * rndf() * rndf() * 60 * 86400000.0);
    qsort(age, (size_t)z->threads, sizeof(*age), cmp_i64_desc);
    for (long i = 0; i < z->threads; i++) {
        /* base - 3 .. base + 3 messages; odd threads mirror their even neighbour, so the
         * total is exactly z->messages */
        d = i % 2 == 0 ? rndn(7) - 3 : -d;
        long count = base + d;
        int needs_reply = rndn(100) < 35;
        int64_t id = gen_thread(&g, i, nprops, count, now - age[i], needs_reply, &msg_id);
        gen_triage(&g, id, needs_reply);
        batch_tick(&g, count + 3);
    }
    free(age);
    gen_work(&g, z, nprops, now);
    check(store_commit(g.s, &g.e), "commit", &g.e);
    int64_t n = 0;
    check(store_entity_count(g.s, g.acct, "message", &n, &g.e), "count", &g.e);
    store_close(&g.s);
    double dt = now_s() - t0;
    if (n != z->messages) {
        fprintf(stderr, "bench_ui: generated %lld messages, expected %ld\n", (long long)n,
                z->messages);
        exit(1);
    }
    FILE *f = fopen(marker, "w");
    char text[256];
    marker_text(z, text, sizeof(text));
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        die(marker, NULL);
    fprintf(stderr, "bench_ui: %ld messages in %.1f s (%.0f messages/s)\n", z->messages, dt,
            (double)z->messages / dt);
    return (double)z->messages / dt;
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

/* ---- the terminal ---- */

#define WATCH_MAX 4

struct term {
    int fd; /* pty master */
    pid_t pid;
    long bytes;                   /* everything read so far */
    double last_at;               /* time of the last read that returned data */
    const char *watch[WATCH_MAX]; /* borrowed: strings to look for in the output */
    int seen[WATCH_MAX];          /* watch[i] has appeared since it was set */
    char tail[64];                /* the last bytes read: a watched string may span reads */
    size_t ntail;
    FILE *dump; /* borrowed, may be NULL */
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
    /* look for the watched strings in the tail of the last read and this one */
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

/* Read until ms of quiet (or EOF). */
static void term_settle(struct term *t, int ms)
{
    while (term_pump(t, ms) > 0)
        ;
}

static void term_start(struct term *t, const char *porter, const char *cfg, const char *db,
                       const char *state)
{
    struct winsize ws = {.ws_row = ROWS, .ws_col = COLS};
    memset(t, 0, sizeof(*t));
    pid_t pid = forkpty(&t->fd, NULL, NULL, &ws);
    if (pid < 0)
        die("forkpty", NULL);
    if (pid == 0) {
        setenv("TERM", "xterm-256color", 1);
        setenv("LANG", "C.UTF-8", 1);
        setenv("LC_ALL", "C.UTF-8", 1);
        setenv("XDG_STATE_HOME", state, 1);
        setenv("USER", "bench", 1);
        unsetenv("LINES"); /* curses would believe these over the window size */
        unsetenv("COLUMNS");
        unsetenv("NO_COLOR");
        unsetenv("ESCDELAY");
        execl(porter, "porter", "--config", cfg, "--db", db, (char *)NULL);
        _exit(127);
    }
    t->pid = pid;
    fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK);
}

/* Quit with q and reap porter (SIGTERM after 5 s). Returns its exit status or -1. */
static int term_quit(struct term *t)
{
    int st = 0;
    if (write(t->fd, "q", 1) != 1)
        perror("bench_ui: write q");
    double until = now_s() + 5;
    pid_t r;
    while ((r = waitpid(t->pid, &st, WNOHANG)) == 0 && now_s() < until)
        term_pump(t, 20);
    if (r == 0) {
        fprintf(stderr, "bench_ui: porter did not quit; SIGTERM\n");
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

/* ---- the script ---- */

enum group {
    G_J,
    G_PGDN,
    G_END,
    G_TOP,
    G_FOPEN,
    G_FTYPE,
    G_FENTER,
    G_CLEAR,
    G_STYPE,
    G_SENTER,
    G_BOARD,
    G_INBOX,
    G_COUNT
};
static const char *const group_name[G_COUNT] = {
    "j (down)",          "C-d (page down)",  "G (end)",        "g (top)",
    "/ (open filter)",   "typing is:unread", "Enter (filter)", "x (clear)",
    "typing the search", "Enter (search)",   "2 (board)",      "1 (inbox)"};

struct key {
    char k;
    enum group g;
};

/* The script for an inbox of `n` threads: every key must change the screen, so the down
 * keys stop short of the end of the list (the list window holds ROWS - 4 rows). `max`
 * must leave room for the fixed keys at the end (TAIL_KEYS). */
#define TAIL_KEYS 40
static size_t script(struct key *out, size_t max, int64_t n)
{
    size_t k = 0;
    max -= TAIL_KEYS;
    const int page = ROWS - 4;
    long down = n / 2 < 1000 ? (long)(n / 2) : 1000;
    long rest = (long)n - 1 - down - 1; /* rows below, keeping one for G */
    long pages = rest / page < 20 ? rest / page : 20;
    for (long i = 0; i < down && k < max; i++)
        out[k++] = (struct key){'j', G_J};
    for (long i = 0; i < pages && k < max; i++)
        out[k++] = (struct key){0x04, G_PGDN};
    out[k++] = (struct key){'G', G_END};
    out[k++] = (struct key){'g', G_TOP};
    out[k++] = (struct key){'/', G_FOPEN};
    for (const char *c = "is:unread"; *c; c++)
        out[k++] = (struct key){*c, G_FTYPE};
    out[k++] = (struct key){'\r', G_FENTER};
    out[k++] = (struct key){'x', G_CLEAR};
    out[k++] = (struct key){'/', G_FOPEN};
    for (const char *c = SEARCH_WORD; *c; c++)
        out[k++] = (struct key){*c, G_STYPE};
    out[k++] = (struct key){'\r', G_SENTER};
    out[k++] = (struct key){'x', G_CLEAR};
    out[k++] = (struct key){'2', G_BOARD};
    out[k++] = (struct key){'1', G_INBOX};
    return k;
}

/* One run's figures (all double, so that medians are taken alike). */
struct run {
    double first_paint_ms, first_paint_bytes;
    double p50, p99, max, first_p50; /* ms: to the last byte (3), to the first byte */
    double group_max[G_COUNT];       /* ms: the slowest key of each kind */
    double keys, timeouts;
    double rss_mib, hwm_mib;
    double idle_bytes, newmsg_bytes;
    double newmsg_ms; /* commit to the first byte of the repaint; -1: none */
    int exit_status;
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

/* Keep reading the terminal until no turn of the minute falls in the next `span` seconds
 * (nor in the second before: porter notices the turn at its next one-second wake-up). */
static void avoid_minute_turn(struct term *t, double span)
{
    for (;;) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double into = (double)(ts.tv_sec % 60) + (double)ts.tv_nsec / 1e9;
        if (into >= 2.5 && into + span <= 59.0)
            return;
        double wait = into < 2.5 ? 2.5 - into : 62.5 - into;
        double until = now_s() + wait;
        while (now_s() < until)
            term_pump(t, (int)((until - now_s()) * 1000) + 1);
    }
}

static void one_run(const char *porter, const char *db, int64_t inbox_n, int runno, FILE *dump,
                    struct run *r)
{
    char tmp[] = "/tmp/porter-bench-ui-XXXXXX";
    if (!mkdtemp(tmp))
        die("mkdtemp", NULL);
    char cfg[64], state[64];
    snprintf(cfg, sizeof(cfg), "%s/config", tmp);
    snprintf(state, sizeof(state), "%s/state", tmp);
    mkdir(cfg, 0700);
    mkdir(state, 0700);
    memset(r, 0, sizeof(*r));

    struct term t;
    double t0 = now_s();
    term_start(&t, porter, cfg, db, state);
    t.dump = dump;
    /* the tab bar (first row), the list's position (second row), the status bar (last row) */
    t.watch[0] = "1 Inbox";
    t.watch[1] = " 1/";
    t.watch[2] = " pending";
    while (!(t.seen[0] && t.seen[1] && t.seen[2]))
        if (term_pump(&t, 10000) <= 0) {
            fprintf(stderr, "bench_ui: no first paint (porter exited or hung)\n");
            exit(1);
        }
    r->first_paint_ms = (t.last_at - t0) * 1000;
    term_settle(&t, 50);
    r->first_paint_bytes = (double)t.bytes;

    struct key keys[1200];
    size_t nk = script(keys, ARRAY_LEN(keys), inbox_n);
    double *last = xcalloc(nk, sizeof(*last)), *first = xcalloc(nk, sizeof(*first));
    size_t ns = 0;
    for (size_t i = 0; i < nk; i++) {
        double k0 = now_s();
        if (write(t.fd, &keys[i].k, 1) != 1)
            die("write key", NULL);
        int got = 0;
        while (!got) {
            int left = (int)((k0 + KEY_TIMEOUT_MS / 1000.0 - now_s()) * 1000);
            if (left <= 0)
                break;
            int n = term_pump(&t, left);
            if (n < 0)
                die("porter exited during the script", NULL);
            got = n > 0;
        }
        if (!got) {
            r->timeouts++;
            continue;
        }
        double f = t.last_at - k0;
        term_settle(&t, QUIET_MS);
        double l = t.last_at - k0;
        first[ns] = f * 1000;
        last[ns++] = l * 1000;
        if (l * 1000 > r->group_max[keys[i].g])
            r->group_max[keys[i].g] = l * 1000;
    }
    r->keys = (double)ns;
    r->p50 = pct(last, ns, 0.50);
    r->p99 = pct(last, ns, 0.99);
    r->max = pct(last, ns, 1.0);
    r->first_p50 = pct(first, ns, 0.50);
    free(last);
    free(first);

    /* idle: nothing may be written */
    term_settle(&t, 300);
    avoid_minute_turn(&t, IDLE_S + NEWMSG_S + 1.0);
    long before = t.bytes;
    double until = now_s() + IDLE_S;
    while (now_s() < until)
        term_pump(&t, (int)((until - now_s()) * 1000) + 1);
    r->idle_bytes = (double)(t.bytes - before);

    /* one inbound message arrives, on a thread far down the list (another one each run): it
     * moves to the top */
    struct err e;
    struct store *s = store_open(db, &e);
    if (!s)
        die("store_open", &e);
    int64_t acct;
    char mid[64], tid[32];
    snprintf(mid, sizeof(mid), "live-%d-%lld", runno, (long long)now_ms());
    snprintf(tid, sizeof(tid), "t%07lld", (long long)(inbox_n / 2 + runno * 97));
    struct rec_message m = {.remote_id = mid,
                            .thread_remote_id = tid,
                            .direction = DIR_IN,
                            .channel = CH_AIRBNB,
                            .author = "Anna Müller",
                            .body = "Hallo! Könnten wir morgen schon um 13 Uhr einchecken? 🙏",
                            .sent_at = now_ms(),
                            .remote_updated_at = now_ms()};
    if (store_account_ensure(s, "bench", "hostaway", &acct, &e) != 0 ||
        store_message_upsert(s, acct, &m, NULL, &e) < 0)
        die("new message", &e);
    double c0 = now_s(); /* committed */
    store_close(&s);
    before = t.bytes;
    r->newmsg_ms = -1;
    until = c0 + NEWMSG_S;
    while (now_s() < until) {
        if (term_pump(&t, (int)((until - now_s()) * 1000) + 1) > 0 && r->newmsg_ms < 0)
            r->newmsg_ms = (t.last_at - c0) * 1000;
    }
    r->newmsg_bytes = (double)(t.bytes - before);

    r->rss_mib = (double)proc_kb(t.pid, "VmRSS") / 1024;
    r->hwm_mib = (double)proc_kb(t.pid, "VmHWM") / 1024;
    r->exit_status = term_quit(&t);
    if (r->exit_status != 0)
        fprintf(stderr, "bench_ui: porter exited with status %d\n", r->exit_status);

    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_ui: could not remove %s\n", tmp);
}

/* ---- the table ---- */

/* The median over the runs of the double at byte offset `off` of struct run. */
static double med(const struct run *r, size_t off)
{
    double v[RUNS];
    for (int k = 0; k < RUNS; k++)
        memcpy(&v[k], (const char *)&r[k] + off, sizeof(double));
    return pct(v, RUNS, 0.5);
}
#define MED(r, field) med(r, offsetof(struct run, field))

static int failures;

/* One line of the table, "metric (unit) @ size"; the same row, "ui: metric @ size", to
 * $BENCH_ROWS. pass: 1, 0 (counted as a failure) or -1 (no target) */
static void row(const char *metric, const char *unit, const char *size, int decimals, double v,
                const char *target, int pass)
{
    char name[128], val[32];
    snprintf(name, sizeof(name), "%s (%s) @ %s", metric, unit, size);
    snprintf(val, sizeof(val), "%.*f", decimals, v);
    failures += pass == 0;
    printf("%-46s %12s %10s %6s\n", name, val, target, pass < 0 ? "" : pass ? "pass" : "FAIL");
    snprintf(name, sizeof(name), "ui: %s @ %s", metric, size);
    bench_rows_add(name, v, decimals, unit, target, pass, NULL);
}

static void table(const int *want, const double *rate, struct run (*runs)[RUNS])
{
    printf("%-46s %12s %10s %6s\n", "metric", "median", "target", "result");
    for (int z = 0; z < NSIZES; z++) {
        if (!want[z])
            continue;
        const struct run *r = runs[z];
        const char *n = sizes[z].name;
        int top = z == NSIZES - 1;
        if (rate[z] > 0)
            row("generation", "messages/s", n, 0, rate[z], "-", -1);
        row("first paint", "ms", n, 1, MED(r, first_paint_ms), top ? "< 150" : "-",
            top ? MED(r, first_paint_ms) < 150 : -1);
        row("first paint size", "bytes", n, 0, MED(r, first_paint_bytes), "-", -1);
        row("per key p50, to last byte", "ms", n, 2, MED(r, p50), "-", -1);
        row("per key p99, to last byte", "ms", n, 2, MED(r, p99), top ? "< 16" : "-",
            top ? MED(r, p99) < 16 : -1);
        row("per key p50, to first byte", "ms", n, 2, MED(r, first_p50), "-", -1);
        row("per key max, to last byte", "ms", n, 2, MED(r, max), "-", -1);
        row("keys answered", "keys", n, 0, MED(r, keys), "-", -1);
        row("keys unanswered in 2 s", "keys", n, 0, MED(r, timeouts), "0", MED(r, timeouts) == 0);
        row("RSS at the end", "MiB", n, 1, MED(r, rss_mib), top ? "< 64" : "-",
            top ? MED(r, rss_mib) < 64 : -1);
        row("peak RSS, VmHWM", "MiB", n, 1, MED(r, hwm_mib), "-", -1);
        row("idle 10 s", "bytes written", n, 0, MED(r, idle_bytes), "0", MED(r, idle_bytes) == 0);
        row("one new message", "bytes written", n, 0, MED(r, newmsg_bytes), "< 2048",
            MED(r, newmsg_bytes) < 2048);
        row("one new message, commit to repaint", "ms", n, 0, MED(r, newmsg_ms), "-", -1);
    }
    if (want[0] && want[NSIZES - 1]) {
        const struct run *a = runs[0], *b = runs[NSIZES - 1];
        row("first paint growth 10k -> 1m", "x", "1m", 2,
            MED(b, first_paint_ms) / MED(a, first_paint_ms), "<= 1.5",
            MED(b, first_paint_ms) / MED(a, first_paint_ms) <= 1.5);
        row("per key p50 growth 10k -> 1m", "x", "1m", 2, MED(b, p50) / MED(a, p50), "<= 1.5",
            MED(b, p50) / MED(a, p50) <= 1.5);
    }
    if (failures)
        printf("%d target%s missed\n", failures, failures == 1 ? "" : "s");
    /* where the time goes: the slowest key of each kind (median over the runs) */
    printf("\n%-24s", "slowest key (ms)");
    for (int z = 0; z < NSIZES; z++)
        if (want[z])
            printf(" %9s", sizes[z].name);
    printf("\n");
    for (int g = 0; g < G_COUNT; g++) {
        printf("%-24s", group_name[g]);
        for (int z = 0; z < NSIZES; z++)
            if (want[z])
                printf(" %9.2f",
                       med(runs[z], offsetof(struct run, group_max) + (size_t)g * sizeof(double)));
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    log_set_level(LOG_WARN); /* not the store's "migrated" lines */
    const char *porter = getenv("PORTER_BIN") ? getenv("PORTER_BIN") : "./porter";
    const char *dir = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "build/bench";
    int want[NSIZES] = {0};
    int any = 0;
    for (int i = 1; i < argc; i++) {
        int found = 0;
        for (int z = 0; z < NSIZES; z++)
            if (strcasecmp(argv[i], sizes[z].name) == 0)
                want[z] = found = any = 1;
        if (!found) {
            fprintf(stderr, "usage: bench_ui [10k] [100k] [1m]\n");
            return 2;
        }
    }
    for (int z = 0; z < NSIZES; z++)
        want[z] = any ? want[z] : 1;
    struct err e;
    if (mkdir_p(dir, 0700, &e) != 0)
        die(dir, &e);
    if (access(porter, X_OK) != 0)
        die(porter, NULL);
    FILE *dump = getenv("BENCH_UI_DUMP") ? fopen(getenv("BENCH_UI_DUMP"), "w") : NULL;

    static struct run runs[NSIZES][RUNS];
    double rate[NSIZES] = {0};
    for (int z = 0; z < NSIZES; z++) {
        if (!want[z])
            continue;
        char db[512], work[600], path[640];
        rate[z] = generate(dir, &sizes[z], db, sizeof(db));
        snprintf(work, sizeof(work), "%s/run-%s.db", dir, sizes[z].name);
        copy_file(db, work); /* the runs add a message each: the cache stays as generated */
        for (int k = 0; k < RUNS; k++) {
            struct store *s = store_open(work, &e);
            int64_t n = 0;
            struct thread_filter f = {.now = now_ms()};
            if (!s || store_threads_count(s, &f, &n, &e) != 0)
                die(work, &e);
            store_close(&s);
            if (dump && fseek(dump, 0, SEEK_SET) == 0 && ftruncate(fileno(dump), 0) != 0)
                perror("bench_ui: dump");
            struct run *r = &runs[z][k];
            one_run(porter, work, n, k, dump, r);
            fprintf(stderr,
                    "bench_ui: %s run %d: first paint %.1f ms, key p50 %.2f p99 %.2f ms "
                    "(%.0f keys, %.0f unanswered), RSS %.1f MiB, idle %.0f B, new message "
                    "%.0f B, exit %d\n",
                    sizes[z].name, k + 1, r->first_paint_ms, r->p50, r->p99, r->keys, r->timeouts,
                    r->rss_mib, r->idle_bytes, r->newmsg_bytes, r->exit_status);
        }
        unlink(work);
        snprintf(path, sizeof(path), "%s-wal", work);
        unlink(path);
        snprintf(path, sizeof(path), "%s-shm", work);
        unlink(path);
    }
    if (dump)
        fclose(dump);
    table(want, rate, runs);
    return 0; /* a missed target is in the table; only a broken run exits non-zero */
}
