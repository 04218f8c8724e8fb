/* test_security.c - security and hostile input, end to end against a real `porter sync`.
 *
 * One pmsim serves a Hostaway, a Guesty and a Buildium account whose client and webhook
 * secrets all carry the canary CANARY-7f3a91 (the Hostaway one through secret_cmd); porter
 * syncs them with log_level = debug and its webhook listener on a free loopback port. The
 * tests then speak raw HTTP to the listener (bodies with NUL bytes, trickled headers) and
 * sign what they send themselves (Basic, Svix, Buildium HMAC), so hostile bodies get past
 * the authentication and reach the parser and the apply worker.
 *
 *   auth       missing, wrong and stale signatures: 401, nothing stored, alert raised
 *   replay     the same event again (same svix-id, same body): 200 duplicate, applied once
 *   body_limit body_limit - 1 and body_limit bytes: stored; one byte more, chunked, 8 MiB or
 *              a 1 GiB Content-Length (answered at once): 413, nothing stored
 *   hostile    escapes, invalid UTF-8, NULs, 100k-deep nesting, 1e400, 2^64, wrong types:
 *              400 or a safe stored value; no crash, no partial record, quarantine reasons
 *   slowloris  3 x max_connections connections trickling headers or bodies: a signed
 *              webhook for another account still gets 200 within a bound
 *   tls        an https base_url to a self-signed loopback server fails with a certificate
 *              error; no key switches verification off
 *   canary     after a SIGSEGV of the running engine, the canary is in none of: the log,
 *              its stderr, status, status --json, config, doctor, the database
 *
 * PORTER_KEEP_TMP=1 keeps the directory (database, log, the engine's stderr) for a look.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "simctl.h"

#define CANARY       "CANARY-7f3a91"
#define HA_SECRET    CANARY "-hostaway-client-secret"
#define GY_SECRET    CANARY "-guesty-client-secret"
#define BD_SECRET    CANARY "-buildium-client-secret"
#define HA_HOOK      "porter:" CANARY "-basic"
#define GY_HOOK      CANARY "-svix-key" /* not whsec_<base64>: the raw bytes are the key */
#define BD_HOOK      CANARY "-buildium-hmac"
#define BODY_LIMIT   (1024 * 1024)
#define MAX_CONN     16
#define CONN_TIMEOUT 2

static struct simproc sim;
static char dir[64], db[128], logpath[160], errf[160];
static int hook_port;
static pid_t daemon_pid;
static char gy_conv[64], ha_conv[32];
static int64_t gy_thread, ha_thread;

/* ---- small helpers ---- */

static int64_t now_ms_(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms_(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t count(const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    sqlite3 *d;
    sqlite3_stmt *st;
    int64_t v = -1;
    sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL);
    sqlite3_busy_timeout(d, 5000);
    if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(d);
    return v;
}

static void text_of(char *out, size_t n, const char *sql)
{
    sqlite3 *d;
    sqlite3_stmt *st;
    out[0] = '\0';
    sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL);
    sqlite3_busy_timeout(d, 5000);
    if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(d);
}

/* Occurrences of needle in the n bytes at p. */
static int occurrences(const char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    int c = 0;
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0)
            c++;
    return c;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f)
        return calloc(1, 1);
    char *p = NULL;
    size_t cap = 0;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        p = realloc(p, cap + got + 1);
        memcpy(p + cap, chunk, got);
        cap += got;
    }
    fclose(f);
    if (!p)
        p = calloc(1, 1);
    p[cap] = '\0';
    *n = cap;
    return p;
}

/* Run porter with args; its stdout and stderr (together) into *out. Exit status or -1. */
static int porter_out(char **out, size_t *outn, const char *const *args)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/out.txt", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        const char *argv[16] = {getenv("PORTER_BIN"), "--config", dir, "--db", db};
        int k = 5;
        for (int i = 0; args[i] && k < 15; i++)
            argv[k++] = args[i];
        argv[k] = NULL;
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    size_t n;
    char *p = slurp(path, &n);
    if (out) {
        *out = p;
        if (outn)
            *outn = n;
    } else {
        free(p);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- signing ---- */

static void b64(const unsigned char *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static void hmac_b64(const char *key, size_t klen, const char *a, size_t alen, const char *b,
                     size_t blen, char out[64])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned char *msg = malloc(alen + blen + 1);
    memcpy(msg, a, alen);
    memcpy(msg + alen, b, blen);
    HMAC(EVP_sha256(), key, (int)klen, msg, alen + blen, md, &mdlen);
    free(msg);
    b64(md, mdlen, out);
}

/* Headers of a signed request, as "Name: value\r\n" lines. */
struct sig {
    char h[512];
};

static void sign_ha(struct sig *s, const char *userpass)
{
    char enc[256];
    b64((const unsigned char *)userpass, strlen(userpass), enc);
    snprintf(s->h, sizeof(s->h), "Authorization: Basic %s\r\n", enc);
}

static void sign_gy(struct sig *s, const char *id, long long ts, const char *body, size_t n,
                    const char *key)
{
    char pre[128], mac[64];
    snprintf(pre, sizeof(pre), "%s.%lld.", id, ts);
    hmac_b64(key, strlen(key), pre, strlen(pre), body, n, mac);
    snprintf(s->h, sizeof(s->h), "svix-id: %s\r\nsvix-timestamp: %lld\r\nsvix-signature: v1,%s\r\n",
             id, ts, mac);
}

static void sign_bd(struct sig *s, long long ts, const char *body, size_t n, const char *key)
{
    char pre[64], mac[64];
    snprintf(pre, sizeof(pre), "%lld.", ts);
    hmac_b64(key, strlen(key), pre, strlen(pre), body, n, mac);
    snprintf(s->h, sizeof(s->h),
             "buildium-webhook-timestamp: %lld\r\nbuildium-webhook-signature: %s\r\n", ts, mac);
}

/* ---- raw HTTP to the listener ---- */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read an HTTP answer until the peer closes or timeout_ms passes; the status or 0. The
 * answer's body goes to msg (may be NULL). */
static long read_status(int fd, int timeout_ms, char *msg, size_t msgn)
{
    char buf[4096];
    size_t len = 0;
    int64_t end = mono_ms_() + timeout_ms;
    for (;;) {
        int left = (int)(end - mono_ms_());
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0)
            break;
        ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        char *hend = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "Content-Length:");
        if (hend && cl && len >= (size_t)(hend + 4 - buf) + (size_t)atol(cl + 15))
            break;
        if (len == sizeof(buf) - 1)
            break;
    }
    buf[len] = '\0';
    if (msg) {
        char *b = strstr(buf, "\r\n\r\n");
        snprintf(msg, msgn, "%s", b ? b + 4 : "");
    }
    if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
        return 0;
    return atol(buf + 9);
}

/* POST body (n bytes, may hold NULs) to /hooks/<acct> with extra header lines; the
 * status (0: no answer). chunked: Transfer-Encoding chunked instead of Content-Length. */
static long post_ex(const char *acct, const char *hdrs, const char *body, size_t n, int chunked,
                    char *msg, size_t msgn)
{
    int fd = dial(hook_port);
    if (fd < 0)
        return 0;
    char head[1024];
    int hl;
    if (chunked)
        hl = snprintf(
            head, sizeof(head),
            "POST /hooks/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            "application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n%s\r\n",
            acct, hdrs ? hdrs : "");
    else
        hl = snprintf(head, sizeof(head),
                      "POST /hooks/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                      "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                      acct, n, hdrs ? hdrs : "");
    send_all(fd, head, (size_t)hl);
    if (chunked) {
        for (size_t off = 0; off < n;) {
            size_t c = n - off < 65536 ? n - off : 65536;
            char sz[32];
            int sl = snprintf(sz, sizeof(sz), "%zx\r\n", c);
            if (send_all(fd, sz, (size_t)sl) || send_all(fd, body + off, c) ||
                send_all(fd, "\r\n", 2))
                break;
            off += c;
        }
        send_all(fd, "0\r\n\r\n", 5);
    } else {
        send_all(fd, body, n);
    }
    long st = read_status(fd, 15000, msg, msgn);
    close(fd);
    return st;
}

static long post(const char *acct, const char *hdrs, const char *body, size_t n)
{
    return post_ex(acct, hdrs, body, n, 0, NULL, 0);
}

static long post_gy(const char *id, const char *body, size_t n)
{
    struct sig s;
    sign_gy(&s, id, now_ms_() / 1000, body, n, GY_HOOK);
    return post("gy", s.h, body, n);
}

static long post_bd(const char *body, size_t n)
{
    struct sig s;
    sign_bd(&s, now_ms_() / 1000, body, n, BD_HOOK);
    return post("bd", s.h, body, n);
}

static long post_ha(const char *body, size_t n)
{
    struct sig s;
    sign_ha(&s, HA_HOOK);
    return post("ha", s.h, body, n);
}

static int64_t events(void)
{
    return count("SELECT count(*) FROM inbound_event");
}

/* Wait until the apply worker has taken every event (none new or due for a retry). */
static void settle(int ms)
{
    int64_t end = mono_ms_() + ms;
    while (mono_ms_() < end && count("SELECT count(*) FROM inbound_event WHERE state IN ('new',"
                                     " 'retry')") > 0)
        sleep_ms(50);
}

static int daemon_alive(void)
{
    return daemon_pid > 0 && waitpid(daemon_pid, NULL, WNOHANG) == 0;
}

/* A Guesty message event on the stored conversation, body text as given (JSON-escaped by
 * the caller), message id mid. */
static size_t gy_message(char *out, size_t n, const char *mid, const char *text)
{
    return (size_t)snprintf(out, n,
                            "{\"event\":\"reservation.messageReceived\",\"conversation\":{\"_id\":"
                            "\"%s\"},\"message\":{\"_id\":\"%s\",\"postId\":\"%s\",\"type\":"
                            "\"fromGuest\",\"module\":\"email\",\"body\":\"%s\",\"createdAt\":"
                            "\"2030-01-01T10:00:00.000Z\"}}",
                            gy_conv, mid, mid, text);
}

/* ---- setup: pmsim, accounts, one pull, then `porter sync` in the background ---- */

static void write_file(const char *name, int mode, const char *fmt, ...)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
    chmod(path, (mode_t)mode);
}

static void start_daemon(void)
{
    daemon_pid = fork();
    if (daemon_pid == 0) {
        int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        execl(getenv("PORTER_BIN"), "porter", "--config", dir, "--db", db, "sync", NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) { /* the listener is up */
        int fd = dial(hook_port);
        if (fd >= 0) {
            close(fd);
            return;
        }
        sleep_ms(25);
    }
}

static int up(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    strcpy(dir, "/tmp/porter-sec-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db, sizeof(db), "%s/p.db", dir);
    snprintf(logpath, sizeof(logpath), "%s/porter/porter.log", dir);
    snprintf(errf, sizeof(errf), "%s/sync.stderr", dir);
    char epoch[32];
    snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL) * 1000);
    const char *argv[] = {"--account",
                          "hostaway:0",
                          "--account",
                          "guesty:0",
                          "--account",
                          "buildium:0",
                          "--data",
                          "data/demo",
                          "--epoch",
                          epoch,
                          "--fault",
                          "rate_limit_off=1",
                          "--client-secret",
                          "hostaway=" HA_SECRET,
                          "--client-secret",
                          "guesty=" GY_SECRET,
                          "--client-secret",
                          "buildium=" BD_SECRET,
                          NULL};
    if (sim_spawn(&sim, argv) != 0 || sim.nports != 3)
        return -1;
    hook_port = sim_free_port();
    write_file("ha.secret", 0600, "%s\n", HA_SECRET);
    write_file("accounts.conf", 0600,
               "[ha]\nadapter = hostaway\nbase_url = http://127.0.0.1:%d/v1\nclient_id = 10450\n"
               "secret_cmd = cat %s/ha.secret\nwebhook_secret = %s\npoll_interval = 3600\n"
               "rate_limit = 200\n\n"
               "[gy]\nadapter = guesty\nbase_url = http://127.0.0.1:%d/v1\n"
               "client_id = pmsim-guesty\nsecret = %s\nwebhook_secret = %s\npoll_interval = 3600\n"
               "rate_limit = 200\n\n"
               "[bd]\nadapter = buildium\nbase_url = http://127.0.0.1:%d/v1\n"
               "client_id = pmsim-buildium-client\nsecret = %s\nwebhook_secret = %s\n"
               "poll_interval = 3600\nrate_limit = 200\n",
               sim.port[0], dir, HA_HOOK, sim.port[1], GY_SECRET, GY_HOOK, sim.port[2], BD_SECRET,
               BD_HOOK);
    write_file("porter.conf", 0644,
               "[general]\nlog_level = debug\n\n[webhook]\nlisten = 127.0.0.1:%d\n"
               "body_limit = 1M\nmax_connections = %d\nconn_timeout = %d\n",
               hook_port, MAX_CONN, CONN_TIMEOUT);
    setenv("XDG_STATE_HOME", dir, 1);
    const char *once[] = {"sync", "--once", NULL};
    if (porter_out(NULL, NULL, once) != 0)
        return -1;
    char sql[256];
    text_of(gy_conv, sizeof(gy_conv),
            "SELECT t.remote_id FROM thread t JOIN account a ON a.id = t.account_id"
            " WHERE a.name = 'gy' ORDER BY t.id LIMIT 1");
    text_of(ha_conv, sizeof(ha_conv),
            "SELECT t.remote_id FROM thread t JOIN account a ON a.id = t.account_id"
            " WHERE a.name = 'ha' ORDER BY t.id LIMIT 1");
    snprintf(sql, sizeof(sql), "SELECT id FROM thread WHERE remote_id = '%s'", gy_conv);
    gy_thread = count("%s", sql);
    snprintf(sql, sizeof(sql), "SELECT id FROM thread WHERE remote_id = '%s'", ha_conv);
    ha_thread = count("%s", sql);
    if (strlen(gy_conv) != 24 || !ha_conv[0] || gy_thread <= 0 || ha_thread <= 0)
        return -1;
    start_daemon();
    return 0;
}

static int down(void **state)
{
    (void)state;
    if (daemon_alive()) {
        kill(daemon_pid, SIGKILL);
        waitpid(daemon_pid, NULL, 0);
    }
    sim_kill(&sim);
    if (getenv("PORTER_KEEP_TMP"))
        return 0;
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- A. authentication ---- */

static void test_auth_refused(void **state)
{
    (void)state;
    const char *hb = "{\"event\":\"message.received\",\"data\":{}}";
    char gb[1024];
    size_t gn = gy_message(gb, sizeof(gb), "auth-msg-0000000000000001", "never stored");
    const char *bb = "{\"EventName\":\"WorkOrder.Updated\",\"WorkOrderId\":1}";
    long long now = now_ms_() / 1000;
    int64_t before = events();
    int64_t alerts = count("SELECT coalesce(sum(count), 0) FROM alert WHERE kind ="
                           " 'webhook_rejected'");
    struct sig s;
    int n = 0;

    /* Hostaway: Basic */
    assert_int_equal(post("ha", NULL, hb, strlen(hb)), 401), n++;
    sign_ha(&s, "porter:wrong");
    assert_int_equal(post("ha", s.h, hb, strlen(hb)), 401), n++;
    sign_ha(&s, HA_HOOK "x");
    assert_int_equal(post("ha", s.h, hb, strlen(hb)), 401), n++;
    assert_int_equal(post("ha", "Authorization: Bearer " HA_HOOK "\r\n", hb, strlen(hb)), 401), n++;
    assert_int_equal(post("ha", "Authorization: Basic\r\n", hb, strlen(hb)), 401), n++;

    /* Guesty: Svix */
    assert_int_equal(post("gy", NULL, gb, gn), 401), n++;
    sign_gy(&s, "msg_auth1", now, gb, gn, "wrong-key");
    assert_int_equal(post("gy", s.h, gb, gn), 401), n++;
    sign_gy(&s, "msg_auth1", now - 330, gb, gn, GY_HOOK); /* stale, correctly signed */
    assert_int_equal(post("gy", s.h, gb, gn), 401), n++;
    sign_gy(&s, "msg_auth1", now + 330, gb, gn, GY_HOOK); /* from the future */
    assert_int_equal(post("gy", s.h, gb, gn), 401), n++;
    sign_gy(&s, "msg_auth1", now, gb, gn - 1, GY_HOOK); /* body changed after signing */
    assert_int_equal(post("gy", s.h, gb, gn), 401), n++;
    {
        char h[512], mac[64], pre[64];
        snprintf(pre, sizeof(pre), "msg_auth1.%lld.", now); /* signed for another id */
        hmac_b64(GY_HOOK, strlen(GY_HOOK), pre, strlen(pre), gb, gn, mac);
        snprintf(h, sizeof(h),
                 "svix-id: msg_auth2\r\nsvix-timestamp: %lld\r\n"
                 "svix-signature: v1,%s\r\n",
                 now, mac);
        assert_int_equal(post("gy", h, gb, gn), 401), n++;
        /* timestamps that overflow a 64-bit millisecond count */
        const char *huge[] = {"9223372036854775807",
                              "-9223372036854775808",
                              "99999999999999999999999",
                              "1e3",
                              " 1",
                              ""};
        for (size_t i = 0; i < sizeof(huge) / sizeof(*huge); i++) {
            snprintf(pre, sizeof(pre), "msg_auth3.%s.", huge[i]);
            hmac_b64(GY_HOOK, strlen(GY_HOOK), pre, strlen(pre), gb, gn, mac);
            snprintf(h, sizeof(h),
                     "svix-id: msg_auth3\r\nsvix-timestamp: %s\r\n"
                     "svix-signature: v1,%s\r\n",
                     huge[i], mac);
            assert_int_equal(post("gy", h, gb, gn), 401), n++;
        }
    }

    /* Buildium: HMAC over timestamp.body */
    assert_int_equal(post("bd", NULL, bb, strlen(bb)), 401), n++;
    sign_bd(&s, now, bb, strlen(bb), "wrong-key");
    assert_int_equal(post("bd", s.h, bb, strlen(bb)), 401), n++;
    sign_bd(&s, now - 330, bb, strlen(bb), BD_HOOK);
    assert_int_equal(post("bd", s.h, bb, strlen(bb)), 401), n++;
    sign_bd(&s, now + 330, bb, strlen(bb), BD_HOOK);
    assert_int_equal(post("bd", s.h, bb, strlen(bb)), 401), n++;
    sign_bd(&s, 9223372036854775807LL, bb, strlen(bb), BD_HOOK);
    assert_int_equal(post("bd", s.h, bb, strlen(bb)), 401), n++;
    {
        char h[256];
        sign_bd(&s, now, bb, strlen(bb), BD_HOOK); /* signature, but no timestamp header */
        snprintf(h, sizeof(h), "%s", strstr(s.h, "buildium-webhook-signature"));
        assert_int_equal(post("bd", h, bb, strlen(bb)), 401), n++;
    }
    /* unknown account and wrong method */
    assert_int_equal(post("nope", NULL, hb, strlen(hb)), 404);
    {
        int fd = dial(hook_port);
        const char *g = "GET /hooks/ha HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        send_all(fd, g, strlen(g));
        assert_int_equal(read_status(fd, 5000, NULL, 0), 405);
        close(fd);
    }
    assert_true(daemon_alive());        /* (a sanitizer build aborts on an overflowing timestamp) */
    assert_int_equal(events(), before); /* nothing stored */
    assert_int_equal(count("SELECT coalesce(sum(count), 0) FROM alert WHERE kind ="
                           " 'webhook_rejected'"),
                     alerts + n);
    print_message("# auth: %d refused requests, 0 stored\n", n);
}

/* ---- A. replays ---- */

static void test_replay_dedup(void **state)
{
    (void)state;
    char gb[1024];
    size_t gn = gy_message(gb, sizeof(gb), "replay-msg-00000000000001", "replayed once k9");
    long long now = now_ms_() / 1000;
    struct sig s;
    char msg[256];
    int64_t before = events();
    sign_gy(&s, "msg_replay1", now, gb, gn, GY_HOOK);
    assert_int_equal(post_ex("gy", s.h, gb, gn, 0, msg, sizeof(msg)), 200);
    assert_non_null(strstr(msg, "stored"));
    for (int i = 0; i < 3; i++) { /* the captured request, replayed as is */
        assert_int_equal(post_ex("gy", s.h, gb, gn, 0, msg, sizeof(msg)), 200);
        assert_non_null(strstr(msg, "duplicate"));
    }
    sign_gy(&s, "msg_replay1", now - 60, gb, gn, GY_HOOK); /* re-signed, same svix-id */
    assert_int_equal(post_ex("gy", s.h, gb, gn, 0, msg, sizeof(msg)), 200);
    assert_non_null(strstr(msg, "duplicate"));

    const char *bb = "{\"EventName\":\"Task.Updated\",\"TaskId\":1,\"replay\":\"k9\"}";
    sign_bd(&s, now, bb, strlen(bb), BD_HOOK);
    assert_int_equal(post_ex("bd", s.h, bb, strlen(bb), 0, msg, sizeof(msg)), 200);
    assert_non_null(strstr(msg, "stored"));
    assert_int_equal(post_ex("bd", s.h, bb, strlen(bb), 0, msg, sizeof(msg)), 200);
    assert_non_null(strstr(msg, "duplicate"));

    char hb[512];
    snprintf(hb, sizeof(hb),
             "{\"event\":\"message.received\",\"data\":{\"id\":990001,\"conversationId\":%s,"
             "\"body\":\"ha replayed once k9\",\"isIncoming\":1,\"date\":\"2030-01-01 10:00:00\","
             "\"communicationType\":\"email\"}}",
             ha_conv);
    sign_ha(&s, HA_HOOK);
    assert_int_equal(post_ex("ha", s.h, hb, strlen(hb), 0, msg, sizeof(msg)), 200);
    assert_non_null(strstr(msg, "stored"));
    assert_int_equal(post_ex("ha", s.h, hb, strlen(hb), 0, msg, sizeof(msg)), 200);
    assert_non_null(strstr(msg, "duplicate"));

    assert_int_equal(events(), before + 3);
    settle(8000);
    assert_int_equal(count("SELECT count(*) FROM message WHERE body = 'replayed once k9'"), 1);
    assert_int_equal(count("SELECT count(*) FROM message WHERE body = 'ha replayed once k9'"), 1);
}

/* ---- A. body limit ---- */

/* A signed Guesty event of exactly n bytes. */
static char *gy_sized(size_t n, const char *mid)
{
    char head[512];
    size_t hn = gy_message(head, sizeof(head), mid, "@");
    char *at = strchr(head, '@');
    size_t pre = (size_t)(at - head), post_ = hn - pre - 1;
    char *b = malloc(n + 1);
    memcpy(b, head, pre);
    memset(b + pre, 'x', n - pre - post_);
    memcpy(b + n - post_, at + 1, post_);
    b[n] = '\0';
    return b;
}

static void test_body_limit(void **state)
{
    (void)state;
    int64_t before = events();
    char *b = gy_sized(BODY_LIMIT - 1, "limit-msg-000000000000000");
    assert_int_equal(post_gy("msg_limit0", b, BODY_LIMIT - 1), 200); /* just under */
    free(b);
    b = gy_sized(BODY_LIMIT, "limit-msg-000000000000001");
    assert_int_equal(post_gy("msg_limit1", b, BODY_LIMIT), 200); /* exactly the limit */
    free(b);
    assert_int_equal(events(), before + 2);
    b = gy_sized(BODY_LIMIT + 1, "limit-msg-000000000000002");
    assert_int_equal(post_gy("msg_limit2", b, BODY_LIMIT + 1), 413); /* one byte more */
    struct sig s;
    sign_gy(&s, "msg_limit3", now_ms_() / 1000, b, BODY_LIMIT + 1, GY_HOOK);
    assert_int_equal(post_ex("gy", s.h, b, BODY_LIMIT + 1, 1, NULL, 0), 413); /* chunked */
    assert_int_equal(post("gy", NULL, b, BODY_LIMIT + 1), 413); /* before authentication */
    free(b);
    b = gy_sized(8 * BODY_LIMIT, "limit-msg-000000000000004");
    int64_t t0 = mono_ms_();
    assert_int_equal(post_gy("msg_limit4", b, 8 * BODY_LIMIT), 413);
    free(b);
    /* an announced length over the limit is refused without waiting for the body */
    {
        int fd = dial(hook_port);
        const char *h = "POST /hooks/gy HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n";
        send_all(fd, h, strlen(h));
        assert_int_equal(read_status(fd, 5000, NULL, 0), 413);
        close(fd);
    }
    print_message("# body_limit: 8 MiB refusal took %lld ms\n", (long long)(mono_ms_() - t0));
    assert_int_equal(events(), before + 2);
    settle(8000);
    assert_int_equal(count("SELECT count(*) FROM message WHERE remote_id IN"
                           " ('limit-msg-000000000000000', 'limit-msg-000000000000001') AND"
                           " length(body) > 1000000"),
                     2);
    assert_int_equal(count("SELECT count(*) FROM message WHERE remote_id LIKE 'limit-msg-%%'"), 2);
    assert_true(daemon_alive());
}

/* ---- B. hostile bodies ---- */

struct hcase {
    const char *acct; /* ha, gy, bd */
    const char *what;
    char *body;
    size_t n;
    int want;        /* 200 or 400; 0: either */
    const char *mid; /* Guesty/Hostaway message id whose row must be whole, or NULL */
};

static struct hcase hc[64];
static int nhc;

static void add(const char *acct, const char *what, const char *body, size_t n, int want,
                const char *mid)
{
    struct hcase *c = &hc[nhc++];
    c->acct = acct;
    c->what = what;
    c->body = malloc(n + 1);
    memcpy(c->body, body, n);
    c->body[n] = '\0';
    c->n = n;
    c->want = want;
    c->mid = mid;
}

static void add_gy_text(const char *what, const char *mid, const char *text, int want)
{
    char b[2048];
    size_t n = gy_message(b, sizeof(b), mid, text);
    add("gy", what, b, n, want, mid);
}

static void add_nested(const char *acct, const char *open, const char *close_, size_t depth)
{
    size_t lo = strlen(open), lc = strlen(close_);
    char *b = malloc(depth * (lo + lc) + 1);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++, n += lo)
        memcpy(b + n, open, lo);
    for (size_t i = 0; i < depth; i++, n += lc)
        memcpy(b + n, close_, lc);
    add(acct, "deep nesting", b, n, 400, NULL);
    free(b);
}

static void build_cases(void)
{
    char b[4096];
    size_t n;
    /* terminal escapes, raw and escaped, in text porter shows */
    add_gy_text("raw ESC/CSI/OSC", "hostile-msg-00000000000001",
                "\x1b[2J\x1b]0;owned\x07\x1b[31mred\x1b[0m \xc2\x9b"
                "6n bell\x07 hello",
                0);
    add_gy_text("escaped ESC", "hostile-msg-00000000000002",
                "\\u001b[2J\\u001b]52;c;Y2FuYXJ5\\u0007 \\u009b31m \\u202eevil\\u202c hi", 200);
    add_gy_text("invalid UTF-8", "hostile-msg-00000000000003",
                "caf\xe9 \xff\xfe \xc0\x80 \xed\xa0\x80 \xf4\x90\x80\x80 end", 0);
    add_gy_text("lone surrogate escapes", "hostile-msg-00000000000004",
                "\\ud800 \\udfff x \\uDBFF\\uDFFF ok", 0);
    add_gy_text("escaped NUL", "hostile-msg-00000000000005", "before\\u0000after", 0);
    /* NUL bytes in the raw body */
    n = gy_message(b, sizeof(b), "hostile-msg-00000000000006", "nul@here");
    *strchr(b, '@') = '\0';
    add("gy", "raw NUL inside a string", b, n, 400, "hostile-msg-00000000000006");
    n = gy_message(b, sizeof(b), "hostile-msg-00000000000007", "nul after");
    memcpy(b + n, "\0{\"x\":1}", 8);
    add("gy", "raw NUL after the object", b, n + 8, 400, "hostile-msg-00000000000007");
    n = gy_message(b, sizeof(b), "hostile-msg-00000000000008", "trailing");
    memcpy(b + n, " garbage", 8);
    add("gy", "trailing garbage", b, n + 8, 400, "hostile-msg-00000000000008");
    n = gy_message(b, sizeof(b), "hostile-msg-00000000000009", "two objects");
    memcpy(b + n, b, n);
    add("gy", "two objects", b, 2 * n, 400, "hostile-msg-00000000000009");
    /* not an object at all */
    add("gy", "empty body", "", 0, 400, NULL);
    add("gy", "array", "[]", 2, 400, NULL);
    add("gy", "string", "\"x\"", 3, 400, NULL);
    add("gy", "null", "null", 4, 400, NULL);
    add("gy", "truncated", "{\"event\":\"reservation.messageReceived\",\"conv", 43, 400, NULL);
    add("gy", "BOM", "\xef\xbb\xbf{\"event\":\"x\"}", 17, 0, NULL);
    /* nesting */
    add_nested("gy", "[", "]", 100000);
    add_nested("gy", "{\"a\":", "}", 100000);
    add_nested("ha", "{\"a\":", "}", 100000);
    add_nested("bd", "[", "]", 100000);
    /* numbers and types where the adapter expects something else */
    n = (size_t)snprintf(b, sizeof(b),
                         "{\"event\":\"reservation.messageReceived\",\"conversation\":{\"_id\":"
                         "\"%s\"},\"message\":{\"_id\":1e400,\"body\":123,\"type\":\"fromGuest\","
                         "\"createdAt\":18446744073709551616}}",
                         gy_conv);
    add("gy", "huge numbers for strings", b, n, 200, NULL);
    n = (size_t)snprintf(b, sizeof(b),
                         "{\"event\":\"reservation.messageReceived\",\"conversation\":[\"%s\"],"
                         "\"message\":[]}",
                         gy_conv);
    add("gy", "arrays for objects", b, n, 200, NULL);
    n = (size_t)snprintf(
        b, sizeof(b),
        "{\"event\":\"reservation.messageReceived\",\"conversation\":{\"_id\":"
        "\"%s\"},\"message\":{\"_id\":\"hostile-msg-00000000000010\",\"body\":"
        "\"ok\",\"type\":\"fromGuest\",\"createdAt\":\"9999999-99-99T99:99:99Z\"}}",
        gy_conv);
    add("gy", "absurd date", b, n, 200, NULL);
    n = (size_t)snprintf(b, sizeof(b),
                         "{\"event\":\"reservation.messageReceived\",\"conversation\":{\"_id\":"
                         "\"../../etc/passwd\\u0000aaaaaaaaaaaa\"},\"message\":{\"_id\":\"x\","
                         "\"body\":\"ok\",\"type\":\"fromGuest\",\"createdAt\":"
                         "\"2030-01-01T10:00:00Z\"}}");
    add("gy", "path in an id", b, n, 200, NULL);
    n = (size_t)snprintf(b, sizeof(b), "{\"event\":{\"a\":1},\"task\":[1,2]}");
    add("gy", "event name as object", b, n, 200, NULL);
    n = (size_t)snprintf(b, sizeof(b),
                         "{\"event\":\"task.updated\",\"task\":{\"_id\":[],"
                         "\"title\":1e400,\"status\":-0}}");
    add("gy", "task of wrong types", b, n, 200, NULL);
    n = (size_t)snprintf(b, sizeof(b), "{\"event\":\"\\u001b[31m\\u0000evil\",\"x\":1}");
    add("gy", "escape in the event name", b, n, 200, NULL);
    /* Hostaway */
    const char *ha_ids[] = {"18446744073709551616",
                            "1e400",
                            "-1e400",
                            "\"123\"",
                            "-5",
                            "0.5",
                            "[]",
                            "{}",
                            "null",
                            "true",
                            "9007199254740993"};
    for (size_t i = 0; i < sizeof(ha_ids) / sizeof(*ha_ids); i++) {
        n = (size_t)snprintf(b, sizeof(b),
                             "{\"event\":\"message.received\",\"data\":{\"id\":%s,"
                             "\"conversationId\":%s,\"body\":\"ha hostile\",\"isIncoming\":1,"
                             "\"date\":\"2030-01-01 10:00:00\",\"communicationType\":\"email\"}}",
                             ha_ids[i], ha_ids[i]);
        add("ha", "hostile ids", b, n, 200, NULL);
    }
    n = (size_t)snprintf(b, sizeof(b), "{\"event\":\"message.received\",\"data\":[]}");
    add("ha", "data as array", b, n, 200, NULL);
    n = (size_t)snprintf(b, sizeof(b),
                         "{\"event\":\"message.received\",\"data\":{\"id\":990002,"
                         "\"conversationId\":%s,\"body\":[\"x\"],\"isIncoming\":\"yes\","
                         "\"date\":1e400}}",
                         ha_conv);
    add("ha", "wrong field types", b, n, 200, NULL);
    n = (size_t)snprintf(b, sizeof(b),
                         "{\"event\":\"reservation.updated\",\"data\":{\"id\":1e400,"
                         "\"listingMapId\":\"x\",\"arrivalDate\":\"\\u001b[2J\","
                         "\"departureDate\":[],\"guestName\":{}}}");
    add("ha", "reservation of wrong types", b, n, 200, NULL);
    n = (size_t)snprintf(b, sizeof(b),
                         "{\"event\":\"message.received\",\"data\":{\"id\":990003,"
                         "\"conversationId\":%s,\"body\":\"\\u001b]0;t\\u0007\\u001b[2Jha esc "
                         "\xff\",\"isIncoming\":1,\"date\":\"2030-01-01 10:00:01\","
                         "\"communicationType\":\"email\"}}",
                         ha_conv);
    add("ha", "escapes in a Hostaway message", b, n, 0, "990003");
    /* Buildium: ids only */
    const char *bd_ids[] = {"1e400", "18446744073709551616", "\"12\"", "-1", "0", "[]", "{}",
                            "1.5"};
    for (size_t i = 0; i < sizeof(bd_ids) / sizeof(*bd_ids); i++) {
        n = (size_t)snprintf(b, sizeof(b),
                             "{\"EventName\":\"WorkOrder.Updated\",\"WorkOrderId\":%s,"
                             "\"n\":%zu}",
                             bd_ids[i], i);
        add("bd", "hostile WorkOrderId", b, n, 200, NULL);
        n = (size_t)snprintf(b, sizeof(b),
                             "{\"EventName\":\"Task.History.Created\",\"TaskId\":%s,"
                             "\"TaskHistoryId\":%s,\"n\":%zu}",
                             bd_ids[i], bd_ids[i], i);
        add("bd", "hostile TaskId", b, n, 200, NULL);
    }
    n = (size_t)snprintf(b, sizeof(b), "{\"EventName\":[\"WorkOrder.Updated\"],\"WorkOrderId\":1}");
    add("bd", "EventName as array", b, n, 200, NULL);
}

/* Bytes of text that a terminal would interpret: ESC, C1 controls (raw or UTF-8), other
 * C0 controls but TAB and LF. */
static int terminal_unsafe(const char *p, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            bad++;
        if (c == 0xc2 && i + 1 < n && (unsigned char)p[i + 1] >= 0x80 &&
            (unsigned char)p[i + 1] < 0xa0)
            bad++;
    }
    return bad;
}

static int valid_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        unsigned c = *p;
        int k = c < 0x80             ? 0
                : (c & 0xe0) == 0xc0 ? 1
                : (c & 0xf0) == 0xe0 ? 2
                : (c & 0xf8) == 0xf0 ? 3
                                     : -1;
        if (k < 0 || (c & 0xfe) == 0xc0 || p + k >= e + (k ? 0 : 1))
            return 0;
        for (int i = 1; i <= k; i++)
            if ((p[i] & 0xc0) != 0x80)
                return 0;
        p += k + 1;
    }
    return 1;
}

static void test_hostile_bodies(void **state)
{
    (void)state;
    build_cases();
    int64_t before = events();
    int got200 = 0, got400 = 0, other = 0;
    for (int i = 0; i < nhc; i++) {
        struct hcase *c = &hc[i];
        long st;
        if (strcmp(c->acct, "gy") == 0) {
            char id[32];
            snprintf(id, sizeof(id), "msg_hostile%d", i);
            st = post_gy(id, c->body, c->n);
        } else if (strcmp(c->acct, "bd") == 0) {
            st = post_bd(c->body, c->n);
        } else {
            st = post_ha(c->body, c->n);
        }
        if (c->want ? st != c->want : st != 200 && st != 400)
            print_error("case %d (%s %s): got %ld, want %d\n", i, c->acct, c->what, st, c->want);
        assert_true(c->want ? st == c->want : st == 200 || st == 400);
        got200 += st == 200;
        got400 += st == 400;
        other += st != 200 && st != 400;
        assert_true(daemon_alive());
    }
    print_message("# hostile: %d cases, %d stored, %d refused 400\n", nhc, got200, got400);
    assert_int_equal(other, 0);
    assert_int_equal(events(), before + got200);
    settle(10000);
    assert_true(daemon_alive());
    /* every stored event was taken: applied, or quarantined with its reason */
    assert_int_equal(count("SELECT count(*) FROM inbound_event WHERE state IN ('new', 'retry')"),
                     0);
    assert_int_equal(count("SELECT count(*) FROM inbound_event WHERE state = 'quarantined' AND"
                           " (error IS NULL OR trim(error) = '')"),
                     0);
    int64_t q = count("SELECT count(*) FROM inbound_event WHERE state = 'quarantined'");
    print_message("# hostile: %lld quarantined, each with a reason\n", (long long)q);
    assert_true(q >= 10);
    /* no half-written record: every message whole and in a thread */
    assert_int_equal(count("SELECT count(*) FROM message m LEFT JOIN thread t ON t.id ="
                           " m.thread_id WHERE t.id IS NULL OR m.remote_id IS NULL OR"
                           " m.remote_id = '' OR m.sent_at <= 0 OR m.account_id <> t.account_id"),
                     0);
    for (int i = 0; i < nhc; i++) {
        struct hcase *c = &hc[i];
        if (!c->mid)
            continue;
        int64_t rows = count("SELECT count(*) FROM message WHERE remote_id = '%s'", c->mid);
        if (c->want == 400)
            assert_int_equal(rows, 0); /* refused at the door: never stored */
        else
            assert_true(rows <= 1);
    }
    assert_int_equal(count("SELECT count(*) FROM message WHERE remote_id ="
                           " 'hostile-msg-00000000000002'"),
                     1);
    assert_int_equal(count("PRAGMA quick_check") >= 0, 1);
    /* what porter shows of it is safe for a terminal and valid UTF-8 */
    char id[24];
    const char *views[][4] = {
        {"messages", id, NULL, NULL},     {"messages", id, "--json", NULL},
        {"threads", "--all", NULL, NULL}, {"threads", "--all", "--json", NULL},
        {"status", NULL, NULL, NULL},     {"status", "--json", NULL, NULL},
        {"wo", "list", NULL, NULL}};
    int64_t threads[] = {gy_thread, ha_thread};
    for (size_t t = 0; t < 2; t++) {
        snprintf(id, sizeof(id), "%lld", (long long)threads[t]);
        for (size_t v = 0; v < sizeof(views) / sizeof(*views); v++) {
            char *out;
            size_t on;
            int rc = porter_out(&out, &on, views[v]);
            if (terminal_unsafe(out, on) || !valid_utf8(out, on))
                print_error("porter %s %s: unsafe output\n", views[v][0],
                            views[v][1] ? views[v][1] : "");
            assert_true(rc >= 0 && rc <= 2);
            assert_int_equal(terminal_unsafe(out, on), 0);
            assert_true(valid_utf8(out, on));
            free(out);
        }
    }
    /* and the log has one line per record, no terminal controls */
    size_t ln;
    char *log = slurp(logpath, &ln);
    assert_int_equal(terminal_unsafe(log, ln), 0);
    free(log);
    for (int i = 0; i < nhc; i++)
        free(hc[i].body);
}

/* ---- A. slow clients ---- */

struct slow {
    atomic_int stop;
    int n;
    int fds[256];
    int reconnects;
    pthread_t th;
};

static int slow_open(int i)
{
    int fd = dial(hook_port);
    if (fd < 0)
        return -1;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    const char *start = i % 2 ? "POST /hooks/ha HTTP/1.1\r\nHost: x\r\n"
                              : "POST /hooks/ha HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                                "Content-Type: application/json\r\n\r\n{";
    send(fd, start, strlen(start), MSG_NOSIGNAL);
    return fd;
}

/* Each connection sends one more byte every 250 ms (a header line's byte, or a body byte),
 * never idle long enough for an idle timeout; a closed one is reopened at once. */
static void *slow_main(void *arg)
{
    struct slow *s = arg;
    while (!atomic_load(&s->stop)) {
        for (int i = 0; i < s->n; i++) {
            char junk[64];
            if (s->fds[i] >= 0 && recv(s->fds[i], junk, sizeof(junk), MSG_DONTWAIT) == 0) {
                close(s->fds[i]);
                s->fds[i] = -1;
            }
            if (s->fds[i] < 0) {
                s->fds[i] = slow_open(i);
                s->reconnects++;
                continue;
            }
            const char *c = i % 2 ? "X" : " ";
            if (send(s->fds[i], c, 1, MSG_NOSIGNAL) != 1) {
                close(s->fds[i]);
                s->fds[i] = -1;
            }
        }
        sleep_ms(250);
    }
    return NULL;
}

static void test_slowloris(void **state)
{
    (void)state;
    struct slow s = {.n = 3 * MAX_CONN};
    for (int i = 0; i < s.n; i++)
        s.fds[i] = slow_open(i);
    pthread_create(&s.th, NULL, slow_main, &s);
    sleep_ms(3 * CONN_TIMEOUT * 1000 / 2); /* past an idle timeout: they are still there */
    int64_t worst = 0;
    int ok = 0;
    for (int k = 0; k < 3; k++) {
        char body[160];
        int bn = snprintf(body, sizeof(body),
                          "{\"EventName\":\"Task.Updated\",\"TaskId\":1,\"slow\":%d}", k);
        int64_t t0 = mono_ms_();
        long st = post_bd(body, (size_t)bn);
        int64_t took = mono_ms_() - t0;
        worst = took > worst ? took : worst;
        ok += st == 200;
        if (st != 200)
            print_error("slowloris: a webhook for another account got %ld after %lld ms\n", st,
                        (long long)took);
    }
    atomic_store(&s.stop, 1);
    pthread_join(s.th, NULL);
    for (int i = 0; i < s.n; i++)
        if (s.fds[i] >= 0)
            close(s.fds[i]);
    print_message("# slowloris: %d slow connections (max_connections %d, conn_timeout %d s):"
                  " 3 webhooks answered 200 in at most %lld ms; %d reconnects\n",
                  s.n, MAX_CONN, CONN_TIMEOUT, (long long)worst, s.reconnects);
    assert_int_equal(ok, 3);
    assert_true(worst <= 1000 * CONN_TIMEOUT + 500);
    assert_true(daemon_alive());
}

/* ---- A. TLS ---- */

static char *pem_cert, *pem_key;

static void make_cert(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1,
                               0);
    X509_set_issuer_name(x, nm);
    X509_sign(x, k, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    pem_cert = strndup(p, (size_t)n);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(b, &p);
    pem_key = strndup(p, (size_t)n);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(k);
}

static atomic_int tls_requests;

static enum MHD_Result tls_answer(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)data;
    (void)size;
    (void)con_cls;
    atomic_fetch_add(&tls_requests, 1);
    static const char ok[] = "{\"status\":\"success\",\"result\":[]}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(ok), (void *)(uintptr_t)ok, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static void test_tls_verification(void **state)
{
    (void)state;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        print_message("# tls: libmicrohttpd has no TLS here; skipped\n");
        skip();
    }
    make_cert();
    int port = sim_free_port();
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, (uint16_t)port, NULL, NULL, tls_answer, NULL,
        MHD_OPTION_HTTPS_MEM_KEY, pem_key, MHD_OPTION_HTTPS_MEM_CERT, pem_cert, MHD_OPTION_END);
    assert_non_null(d);
    char tdir[192], tdb[224], cfg[256];
    snprintf(tdir, sizeof(tdir), "%s/tls", dir);
    mkdir(tdir, 0700);
    snprintf(tdb, sizeof(tdb), "%s/t.db", tdir);
    snprintf(cfg, sizeof(cfg), "%s/accounts.conf", tdir);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "[tls]\nadapter = hostaway\nbase_url = https://127.0.0.1:%d/v1\nclient_id = 1\n"
            "secret = " CANARY "-tls\n",
            port);
    fclose(f);
    chmod(cfg, 0600);
    snprintf(cfg, sizeof(cfg), "%s/porter.conf", tdir);
    f = fopen(cfg, "w");
    fprintf(f, "[webhook]\nlisten = 127.0.0.1:%d\n", sim_free_port());
    fclose(f);
    char path[256];
    snprintf(path, sizeof(path), "%s/out.txt", tdir);
    const char *cmds[][2] = {{"doctor", NULL}, {"sync", "--once"}};
    for (size_t i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, 1);
            dup2(fd, 2);
            execl(getenv("PORTER_BIN"), "porter", "--config", tdir, "--db", tdb, cmds[i][0],
                  cmds[i][1], NULL);
            _exit(127);
        }
        int st;
        waitpid(pid, &st, 0);
        size_t n;
        char *out = slurp(path, &n);
        if (!strstr(out, "TLS certificate not trusted"))
            print_error("porter %s against a self-signed server said: %s\n", cmds[i][0], out);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
        assert_non_null(strstr(out, "TLS certificate not trusted: SSL certificate problem:"));
        assert_int_equal(occurrences(out, n, CANARY), 0);
        free(out);
    }
    /* no request (the token request carries the client secret) reached the server */
    MHD_stop_daemon(d);
    assert_int_equal(atomic_load(&tls_requests), 0);
    /* and no configuration key turns verification off */
    const char *keys[] = {"insecure = 1", "tls_verify = no", "ssl_verify = false", "verify_tls = 0",
                          "ca_file = /dev/null"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
        snprintf(cfg, sizeof(cfg), "%s/accounts.conf", tdir);
        f = fopen(cfg, "w");
        fprintf(f, "[tls]\nadapter = hostaway\nbase_url = https://127.0.0.1:%d/v1\n%s\n", port,
                keys[i]);
        fclose(f);
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, 1);
            dup2(fd, 2);
            execl(getenv("PORTER_BIN"), "porter", "--config", tdir, "--db", tdb, "config", NULL);
            _exit(127);
        }
        int st;
        waitpid(pid, &st, 0);
        size_t n;
        char *out = slurp(path, &n);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
        assert_non_null(strstr(out, "unknown key"));
        free(out);
    }
    free(pem_cert);
    free(pem_key);
}

/* ---- A. the canary ---- */

static void test_canary_nowhere(void **state)
{
    (void)state;
    assert_true(daemon_alive());
    /* the fatal-signal path: the engine is killed by SIGSEGV in the middle of its work */
    kill(daemon_pid, SIGSEGV);
    int st;
    waitpid(daemon_pid, &st, 0);
    daemon_pid = 0;
    /* killed by it, or (a sanitizer build) reported and exited */
    assert_true((WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) ||
                (WIFEXITED(st) && WEXITSTATUS(st) != 0));
    size_t n;
    char *p = slurp(errf, &n);
    assert_int_equal(occurrences(p, n, CANARY), 0);
    free(p);
    char ha64[256];
    b64((const unsigned char *)HA_HOOK, strlen(HA_HOOK), ha64);
    p = slurp(logpath, &n);
    assert_true(n > 10000); /* debug: requests, bodies, webhooks */
    int in_log = occurrences(p, n, CANARY) + occurrences(p, n, ha64);
    free(p);
    const char *cmds[][3] = {{"status", NULL, NULL},      {"status", "--json", NULL},
                             {"config", NULL, NULL},      {"doctor", NULL, NULL},
                             {"threads", "--json", NULL}, {"wo", "list", "--json"}};
    int in_out = 0;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++) {
        char *out;
        porter_out(&out, &n, cmds[i]);
        int c = occurrences(out, n, CANARY);
        if (c)
            print_error("porter %s: %d canary occurrence(s)\n", cmds[i][0], c);
        in_out += c;
        free(out);
    }
    /* a failing secret_cmd names the command's line, never its output */
    char path[192];
    snprintf(path, sizeof(path), "%s/accounts.conf", dir);
    size_t an;
    char *acc = slurp(path, &an);
    char *at = strstr(acc, "secret_cmd = ");
    assert_non_null(at);
    char *bad = NULL;
    if (asprintf(&bad, "%.*ssecret_cmd = echo %s; exit 3%s", (int)(at - acc), acc, HA_SECRET,
                 strchr(at, '\n')) < 0)
        fail();
    write_file("accounts.conf", 0600, "%s", bad);
    const char *cfg[] = {"config", NULL};
    char *out;
    assert_int_equal(porter_out(&out, &n, cfg), 1);
    assert_non_null(strstr(out, "secret_cmd for account [ha] failed (exit 3)"));
    in_out += occurrences(out, n, CANARY) - 0;
    free(out);
    write_file("accounts.conf", 0600, "%s", acc);
    free(acc);
    free(bad);
    /* nor in the database */
    p = slurp(db, &n);
    int in_db = occurrences(p, n, CANARY);
    free(p);
    snprintf(path, sizeof(path), "%s-wal", db);
    p = slurp(path, &n);
    in_db += occurrences(p, n, CANARY);
    free(p);
    print_message("# canary: %d in the log, 0 in stderr after SIGSEGV, %d in command output, %d"
                  " in the database\n",
                  in_log, in_out, in_db);
    assert_int_equal(in_log, 0);
    assert_int_equal(in_out, 0);
    assert_int_equal(in_db, 0);
    struct stat sb;
    assert_int_equal(stat(logpath, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_refused),   cmocka_unit_test(test_replay_dedup),
        cmocka_unit_test(test_body_limit),     cmocka_unit_test(test_hostile_bodies),
        cmocka_unit_test(test_slowloris),      cmocka_unit_test(test_tls_verification),
        cmocka_unit_test(test_canary_nowhere),
    };
    return cmocka_run_group_tests(tests, up, down);
}
