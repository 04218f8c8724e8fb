/* fuzz_webhook.c - libFuzzer target for the webhook request handler (src/sync/webhook.c)
 * end to end: libmicrohttpd, routing /hooks/<account>, the body limit, verification, the
 * durable store of the event, and then the apply worker turning it into records.
 *
 * Why over a socket: the handler (on_hook) is static and only libmicrohttpd calls it, so
 * the target starts the real listener once (engine_new + webhook_start, as porter sync
 * does, on a free 127.0.0.1 port with a database in /dev/shm) and sends each input as one
 * HTTP/1.1 request on a fresh connection (Connection: close), reads the answer, and then
 * runs apply_events_once() on its own connection, as the apply worker would. The adapters'
 * GETs for id-only events fail at once (http_request is wrapped to "connection refused"),
 * so those events are scheduled for a retry, as in production with the PMS down.
 *
 * Accounts (accounts.conf written by the target):
 *   ha    hostaway  webhook_secret porter:change-me (Basic)
 *   gy    guesty    whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw (Svix)
 *   bd    buildium  pmsim-buildium-webhook-key (HMAC)
 *   open  hostaway  no webhook_secret (accepted unauthenticated, with a warning)
 * [webhook] body_limit = 4K.
 *
 * Input (text):
 *   line 1   METHOD PATH [s]   e.g. "POST /hooks/gy s"; "s": the target signs the request
 *                              correctly for the account named in PATH (current time)
 *   lines    Header: value     until an empty line (Content-Length, Transfer-Encoding,
 *                              Connection and Host are the target's own and are dropped)
 *   rest     the body (any bytes; sent with an exact Content-Length)
 *
 * Oracles: the answer is one of 200 400 401 404 405 413 503 with a JSON body; a path that
 * names no account gets 404; a body over the limit 413; nothing unsigned is ever stored
 * for gy or bd (200 only with "s"); a correctly signed JSON object is stored (200); a
 * request that is not POST gets 405; apply_events_once never fails.
 *
 * Seeds: tests/fuzz/corpus/webhook/ (tests/fuzz/make_seeds.py).
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"
#include "sync.h"

#define HA_SECRET  "porter:change-me"
#define GY_SECRET  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define BD_SECRET  "pmsim-buildium-webhook-key"
#define BODY_LIMIT 4096

static char dir[256];
static int port;
static struct config *cfg;
static struct engine *eng;
static struct store *apply_store;
static struct adapter **ads;
static struct http_client **https;

static void die(const char *what, const struct err *e)
{
    fprintf(stderr, "fuzz_webhook: %s: %s\n", what, e ? e->msg : strerror(errno));
    exit(1);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
    char *path = xasprintf("%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        die(path, NULL);
    close(fd);
    free(path);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        die("free port", NULL);
    close(fd);
    return ntohs(sa.sin_port);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_log_init();
    snprintf(dir, sizeof(dir), "%s", fuzz_tmpdir("webhook"));
    port = free_port();
    write_file("accounts.conf",
               "[ha]\nadapter = hostaway\nbase_url = http://127.0.0.1:1/v1\nclient_id = 10450\n"
               "secret = s\nwebhook_secret = " HA_SECRET "\n\n"
               "[gy]\nadapter = guesty\nbase_url = http://127.0.0.1:1/v1\nclient_id = c\n"
               "secret = s\nwebhook_secret = " GY_SECRET "\n\n"
               "[bd]\nadapter = buildium\nbase_url = http://127.0.0.1:1/v1\nclient_id = c\n"
               "secret = s\nwebhook_secret = " BD_SECRET "\n\n"
               "[open]\nadapter = hostaway\nbase_url = http://127.0.0.1:1/v1\nclient_id = 1\n"
               "secret = s\n",
               0600);
    char porter[256];
    snprintf(porter, sizeof(porter),
             "[webhook]\nlisten = 127.0.0.1:%d\nbody_limit = %d\nmax_connections = 8\n"
             "conn_timeout = 2\n",
             port, BODY_LIMIT);
    write_file("porter.conf", porter, 0644);
    struct err e;
    char *db = xasprintf("%s/porter.db", dir);
    cfg = config_new(dir, db, &e);
    free(db);
    if (!cfg || config_load(cfg, &e) != 0)
        die("config", &e);
    if (!(eng = engine_new(cfg, NULL, &e)))
        die("engine_new", &e);
    if (webhook_start(eng, &e) != 0)
        die("webhook_start", &e);
    if (!(apply_store = sync_store(eng, &e)))
        die("store", &e);
    ads = xcalloc(eng->n, sizeof(*ads));
    https = xcalloc(eng->n, sizeof(*https));
    for (size_t i = 0; i < eng->n; i++)
        if (!(ads[i] = sync_adapter(&eng->accts[i], &https[i], &e)))
            die("adapter", &e);
    return 0;
}

static void b64(const unsigned char *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static void mac_b64(const unsigned char *key, size_t klen, const char *prefix, const char *body,
                    size_t blen, char out[96])
{
    struct buf m;
    buf_init(&m);
    buf_append(&m, prefix, strlen(prefix));
    buf_append(&m, body, blen);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)m.data, m.len, md, &mdlen);
    buf_free(&m);
    b64(md, mdlen, out);
}

/* The signature headers of account `acct` for body, appended to req. */
static void sign(struct buf *req, const char *acct, const char *body, size_t blen)
{
    char ts[32], mac[96];
    snprintf(ts, sizeof(ts), "%lld", (long long)(now_ms() / 1000));
    if (strcmp(acct, "ha") == 0) {
        char enc[64];
        b64((const unsigned char *)HA_SECRET, strlen(HA_SECRET), enc);
        buf_printf(req, "Authorization: Basic %s\r\n", enc);
    } else if (strcmp(acct, "gy") == 0) {
        unsigned char key[64];
        const char *k = &GY_SECRET[6];
        int kl = EVP_DecodeBlock(key, (const unsigned char *)k, (int)strlen(k));
        kl -= (k[strlen(k) - 1] == '=') + (k[strlen(k) - 2] == '=');
        /* one svix-id per body: a retried delivery of the same body is a duplicate */
        unsigned char md[32];
        unsigned int mdlen = 0;
        EVP_Digest(body, blen, md, &mdlen, EVP_sha256(), NULL);
        char id[40];
        snprintf(id, sizeof(id), "msg_%02x%02x%02x%02x%02x%02x%02x%02x", md[0], md[1], md[2], md[3],
                 md[4], md[5], md[6], md[7]);
        char *prefix = xasprintf("%s.%s.", id, ts);
        mac_b64(key, (size_t)kl, prefix, body, blen, mac);
        free(prefix);
        buf_printf(req, "svix-id: %s\r\nsvix-timestamp: %s\r\nsvix-signature: v1,%s\r\n", id, ts,
                   mac);
    } else if (strcmp(acct, "bd") == 0) {
        char prefix[40];
        snprintf(prefix, sizeof(prefix), "%s.", ts);
        mac_b64((const unsigned char *)BD_SECRET, strlen(BD_SECRET), prefix, body, blen, mac);
        buf_printf(req, "buildium-webhook-timestamp: %s\r\nbuildium-webhook-signature: %s\r\n", ts,
                   mac);
    }
}

/* Send req, read the whole answer; the HTTP status, or 0 when none came. */
static int exchange(const struct buf *req, char *answer, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    FUZZ_CHECK(fd >= 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    /* thousands of connections a second: each from its own loopback address (127.1.x.y),
     * closed with a reset, so that no source port is left in TIME_WAIT to run out of */
    static uint32_t next_src;
    next_src = next_src % 65000 + 1;
    struct sockaddr_in src = {.sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(0x7f010000u | next_src)};
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0)
        perror("bind 127.1.x.y");
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc;
    while ((rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa))) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        perror("fuzz_webhook: connect");
        FUZZ_CHECK(!"cannot connect to the listener");
    }
    size_t off = 0;
    while (off < req->len) {
        ssize_t w = send(fd, req->data + off, req->len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) /* libFuzzer's SIGALRM (-timeout) */
            continue;
        if (w <= 0)
            break; /* the server may answer (413) and close before reading everything */
        off += (size_t)w;
    }
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, answer + got, cap - 1 - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == cap - 1)
            break;
    }
    answer[got] = '\0';
    close(fd);
    int status = 0;
    if (sscanf(answer, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    return status;
}

static int token_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 3 * BODY_LIMIT)
        return 0;
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    if (!nl)
        return 0;
    char *first = fuzz_strndup(in, (size_t)(nl - in));
    char *save = NULL;
    char *method = strtok_r(first, " ", &save), *path = strtok_r(NULL, " ", &save);
    char *flags = strtok_r(NULL, " ", &save);
    if (!method || !path || !token_ok(method) || !token_ok(path) || path[0] != '/' ||
        strlen(method) > 16 || strlen(path) > 200) {
        free(first);
        return 0;
    }
    int do_sign = flags && strchr(flags, 's');
    int own_sig = 0; /* the input carries signature headers itself (they come first) */

    struct buf req;
    buf_init(&req);
    buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, path);
    size_t i = (size_t)(nl - in) + 1;
    while (i < size) {
        const char *e = memchr(in + i, '\n', size - i);
        size_t ll = e ? (size_t)(e - (in + i)) : size - i;
        size_t next = i + ll + (e ? 1 : 0);
        if (ll == 0) {
            i = next;
            break;
        }
        char *line = fuzz_strndup(in + i, ll);
        i = next;
        char *colon = strchr(line, ':');
        int ok = colon && colon != line && strlen(line) == ll && !strchr(line, '\r');
        if (ok) {
            *colon = '\0';
            ok = token_ok(line) && strcasecmp(line, "Content-Length") != 0 &&
                 strcasecmp(line, "Transfer-Encoding") != 0 &&
                 strcasecmp(line, "Connection") != 0 && strcasecmp(line, "Host") != 0 &&
                 strcasecmp(line, "Expect") != 0;
            *colon = ':';
        }
        if (ok) {
            buf_printf(&req, "%s\r\n", line);
            *colon = '\0';
            own_sig |= strcasecmp(line, "Authorization") == 0 ||
                       strncasecmp(line, "svix-", 5) == 0 ||
                       strncasecmp(line, "buildium-webhook-", 17) == 0;
        }
        free(line);
    }
    const char *body = in + i;
    size_t blen = size > i ? size - i : 0;
    const char *acct = strncmp(path, "/hooks/", 7) == 0 ? path + 7 : "";
    if (do_sign)
        sign(&req, acct, body, blen);
    buf_printf(&req, "Content-Length: %zu\r\n\r\n", blen);
    buf_append(&req, body, blen);

    char answer[4096];
    errno = 0;
    int status = exchange(&req, answer, sizeof(answer));
    buf_free(&req);

    if (getenv("FUZZ_DEBUG") || !(status == 200 || status == 400 || status == 401 ||
                                  status == 404 || status == 405 || status == 413 || status == 503))
        fprintf(stderr, "webhook: %s %s%s -> %d (errno %d): %.200s\n", method, path,
                do_sign ? " (signed)" : "", status, errno, answer);
    FUZZ_CHECK(status == 200 || status == 400 || status == 401 || status == 404 || status == 405 ||
               status == 413 || status == 503);
    const char *ans_body = strstr(answer, "\r\n\r\n");
    if (strcmp(method, "HEAD") != 0 && (status != 400 || (ans_body && ans_body[4] == '{'))) {
        /* every answer of porter's is JSON (libmicrohttpd's own 400s are HTML) */
        FUZZ_CHECK(ans_body != NULL);
        cJSON *j = cJSON_Parse(ans_body + 4);
        FUZZ_CHECK(cJSON_IsObject(j));
        cJSON_Delete(j);
    }
    int known = strcmp(acct, "ha") == 0 || strcmp(acct, "gy") == 0 || strcmp(acct, "bd") == 0 ||
                strcmp(acct, "open") == 0;
    /* libmicrohttpd strips the query and unescapes the path: no routing oracle for those */
    int plain = strpbrk(path, "%?#+\\") == NULL;
    int post = strcmp(method, "POST") == 0;
    if (post && plain && !known && status != 400)
        FUZZ_CHECK(status == 404);
    if (!post && status != 400)
        FUZZ_CHECK(status == 405);
    if (post && plain && known && blen > BODY_LIMIT)
        FUZZ_CHECK(status == 413);
    if (status == 200 && (strcmp(acct, "gy") == 0 || strcmp(acct, "bd") == 0))
        FUZZ_CHECK(do_sign);
    if (post && plain && known && do_sign && !own_sig && blen <= BODY_LIMIT && status != 400 &&
        acct[0] != 'o') {
        if (fuzz_json_object(body, blen))
            FUZZ_CHECK(status == 200);
    }

    if (status == 200) {
        struct err e;
        int n = apply_events_once(eng, apply_store, ads, &e);
        FUZZ_CHECK(n >= 0);
    }
    free(first);
    return 0;
}
