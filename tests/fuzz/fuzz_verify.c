/* fuzz_verify.c - libFuzzer target for the webhook signature checks (webhook_verify of the
 * three dialects) against fixed secrets.
 *
 * Input: byte 0 chooses the case, the rest is "Header: value" lines, an empty line, and
 * the raw body (any bytes, NULs included; body_len is exact):
 *   bits 0-1  0 hostaway (Basic auth "porter:change-me"), 1 guesty (Svix "whsec_..."),
 *             2 buildium (HMAC key), 3 hostaway without a webhook_secret
 *   bit 2     the harness signs the request itself (correct headers for the body, at the
 *             current time), unless the input already carries that header
 *   bit 3     guesty: use a secret without the whsec_ prefix (raw key)
 *   bit 4     shift the harness's timestamp by 299 s (inside the window) / bit 5 by 301 s
 *             (outside)
 * Headers are looked up case-insensitively, first match wins, as libmicrohttpd does.
 *
 * Oracles (independent of the adapters' code; __builtin_trap on violation):
 *   - accepted (0) or "authenticated but malformed" (400) only when the credentials are
 *     right: the Authorization header holds base64(user:password) (hostaway), or a
 *     "v1,<base64 HMAC-SHA256(key, id.ts.body)>" entry with a timestamp inside 5 minutes
 *     (guesty), or base64 HMAC-SHA256(key, ts.body) with the timestamp inside 5 minutes
 *     (buildium); the MACs are computed here with OpenSSL directly;
 *   - a request the harness signed itself (and did not shift out of the window) is
 *     accepted, or refused 400 exactly when the body is not a JSON object;
 *   - on success event_id and kind are set (hostaway/buildium event_id = "sha256:" + hex
 *     SHA-256 of the body, guesty = svix-id) and the body is exactly one JSON object (only
 *     whitespace after it, no NUL byte: wire.h's jparse_body contract); on failure
 *     both are NULL and e->code is 400 or 401 (500 only for an OpenSSL failure).
 *
 * Seeds: tests/fuzz/corpus/verify/ (tests/fuzz/make_seeds.py).
 */
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <errno.h>
#include <strings.h>

#include "fuzz_common.h"

#define HA_SECRET  "porter:change-me"
#define GY_SECRET  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define GY_RAW_KEY "raw-svix-key-without-prefix"
#define BD_SECRET  "pmsim-buildium-webhook-key"
#define MAX_HDR    24

struct hdr {
    char *name, *value;
};

struct req {
    struct hdr h[MAX_HDR];
    size_t n;
};

static const char *lookup(const struct webhook_req *r, const char *name)
{
    const struct req *q = r->ctx;
    FUZZ_CHECK(name != NULL);
    for (size_t i = 0; i < q->n; i++)
        if (strcasecmp(q->h[i].name, name) == 0)
            return q->h[i].value;
    return NULL;
}

static void add(struct req *q, const char *name, const char *value)
{
    if (q->n < MAX_HDR) {
        q->h[q->n].name = xstrdup(name);
        q->h[q->n].value = xstrdup(value);
        q->n++;
    }
}

static int has(const struct req *q, const char *name)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcasecmp(q->h[i].name, name) == 0)
            return 1;
    return 0;
}

static void b64(const unsigned char *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* base64(HMAC-SHA256(key, prefix + body)) */
static void mac_b64(const unsigned char *key, size_t klen, const char *prefix, const char *body,
                    size_t blen, char out[96])
{
    size_t pl = strlen(prefix);
    unsigned char *msg = xmalloc(pl + blen + 1);
    memcpy(msg, prefix, pl);
    memcpy(msg + pl, body, blen);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    FUZZ_CHECK(HMAC(EVP_sha256(), key, (int)klen, msg, pl + blen, md, &mdlen) != NULL);
    free(msg);
    b64(md, mdlen, out);
}

/* The Svix key: base64 of what follows whsec_. */
static size_t svix_key(const char *secret, unsigned char *key)
{
    if (strncmp(secret, "whsec_", 6) == 0) {
        const char *s = secret + 6;
        int n = EVP_DecodeBlock(key, (const unsigned char *)s, (int)strlen(s));
        FUZZ_CHECK(n > 0);
        size_t l = strlen(s);
        return (size_t)n - (s[l - 1] == '=') - (s[l - 2] == '=');
    }
    memcpy(key, secret, strlen(secret));
    return strlen(secret);
}

static int in_window(const char *ts, int64_t now)
{
    if (!ts || !*ts)
        return 0;
    char *end;
    errno = 0;
    long long t = strtoll(ts, &end, 10);
    if (*end || errno)
        return 0;
    long long d = (long long)(now / 1000) - t;
    return d >= -300 && d <= 300;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_log_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 128 * 1024)
        return 0;
    unsigned sel = data[0];
    int dialect = sel & 3, sign = (sel >> 2) & 1, raw_key = (sel >> 3) & 1;
    int64_t shift = (sel & 0x10) ? 299 : (sel & 0x20) ? 301 : 0;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;

    /* headers up to the first empty line; a line without ':' is ignored */
    struct req q = {.n = 0};
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(in + i, '\n', n - i);
        size_t ll = nl ? (size_t)(nl - (in + i)) : n - i;
        size_t next = i + ll + (nl ? 1 : 0);
        if (ll == 0) {
            i = next;
            break;
        }
        char *line = fuzz_strndup(in + i, ll);
        char *colon = strchr(line, ':');
        /* headers never hold NUL; room is kept for the harness's own three */
        if (colon && strlen(line) == ll && q.n + 3 < MAX_HDR) {
            *colon = '\0';
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            add(&q, line, v);
        }
        free(line);
        i = next;
    }
    const char *body = in + i;
    size_t blen = n - i;

    const struct adapter_ops *ops = dialect == 1   ? &guesty_adapter
                                    : dialect == 2 ? &buildium_adapter
                                                   : &hostaway_adapter;
    const char *secret = dialect == 0   ? HA_SECRET
                         : dialect == 1 ? (raw_key ? GY_RAW_KEY : GY_SECRET)
                         : dialect == 2 ? BD_SECRET
                                        : NULL;
    int64_t now = 1767225600000LL; /* 2026-01-01T00:00:00Z */
    char ts[32];
    snprintf(ts, sizeof(ts), "%lld", (long long)(now / 1000 - shift));
    int harness_signed = 0;
    if (sign) {
        char mac[96], v[128];
        if (dialect == 0 && !has(&q, "Authorization")) {
            char enc[64];
            b64((const unsigned char *)HA_SECRET, strlen(HA_SECRET), enc);
            snprintf(v, sizeof(v), "Basic %s", enc);
            add(&q, "Authorization", v);
            harness_signed = 1;
        } else if (dialect == 1 && !has(&q, "svix-id") && !has(&q, "svix-timestamp") &&
                   !has(&q, "svix-signature")) {
            unsigned char key[128];
            size_t kl = svix_key(secret, key);
            char prefix[96];
            snprintf(prefix, sizeof(prefix), "msg_fuzz.%s.", ts);
            mac_b64(key, kl, prefix, body, blen, mac);
            snprintf(v, sizeof(v), "v1,%s", mac);
            add(&q, "svix-id", "msg_fuzz");
            add(&q, "svix-timestamp", ts);
            add(&q, "svix-signature", v);
            harness_signed = shift <= 300;
        } else if (dialect == 2 && !has(&q, "buildium-webhook-timestamp") &&
                   !has(&q, "buildium-webhook-signature")) {
            char prefix[48];
            snprintf(prefix, sizeof(prefix), "%s.", ts);
            mac_b64((const unsigned char *)BD_SECRET, strlen(BD_SECRET), prefix, body, blen, mac);
            add(&q, "buildium-webhook-timestamp", ts);
            add(&q, "buildium-webhook-signature", mac);
            harness_signed = shift <= 300;
        }
    }

    struct account_conf conf = {.name = (char *)"fuzz",
                                .adapter = (char *)ops->name,
                                .client_id = (char *)"1",
                                .secret = (char *)"s",
                                .webhook_secret = (char *)secret,
                                .poll_interval = 60};
    struct err e;
    struct adapter *a = adapter_new(ops, &conf, NULL, NULL, &e);
    FUZZ_CHECK(a != NULL);
    struct webhook_req rq = {.path = "/hooks/fuzz",
                             .body = body,
                             .body_len = blen,
                             .client_ip = "127.0.0.1",
                             .now_ms = now,
                             .header = lookup,
                             .ctx = &q};
    char *event_id = (char *)"unset", *kind = (char *)"unset";
    err_clear(&e);
    int rc = ops->webhook_verify(a, &rq, &event_id, &kind, &e);

    if (getenv("FUZZ_DEBUG"))
        fprintf(stderr, "verify: dialect %d rc %d code %d: %s\n", dialect, rc, e.code, e.msg);
    int is_object = fuzz_json_object(body, blen);
    int authenticated = rc == 0 || (rc == -1 && e.code == 400);

    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc == 0) {
        FUZZ_CHECK(event_id && *event_id && kind && *kind);
        FUZZ_CHECK(is_object);
        if (dialect == 1) {
            FUZZ_CHECK(strcmp(event_id, lookup(&rq, "svix-id")) == 0);
        } else {
            unsigned char md[32];
            unsigned int mdlen = 0;
            FUZZ_CHECK(EVP_Digest(body, blen, md, &mdlen, EVP_sha256(), NULL) == 1);
            char want[7 + 65] = "sha256:";
            for (unsigned k = 0; k < mdlen; k++)
                snprintf(want + 7 + 2 * k, 3, "%02x", md[k]);
            FUZZ_CHECK(strcmp(event_id, want) == 0);
        }
    } else {
        FUZZ_CHECK(event_id == NULL && kind == NULL);
        FUZZ_CHECK(e.code == 400 || e.code == 401 || e.code == 500);
        fuzz_check_err(rc, &e);
        if (e.code == 400)
            FUZZ_CHECK(!is_object);
    }

    /* soundness: accepted only with the right credentials */
    if (authenticated) {
        if (dialect == 0) {
            char enc[64];
            b64((const unsigned char *)HA_SECRET, strlen(HA_SECRET), enc);
            const char *h = lookup(&rq, "Authorization");
            FUZZ_CHECK(h && strncasecmp(h, "Basic", 5) == 0 && strstr(h, enc));
        } else if (dialect == 1) {
            const char *id = lookup(&rq, "svix-id"), *t = lookup(&rq, "svix-timestamp");
            const char *sig = lookup(&rq, "svix-signature");
            FUZZ_CHECK(id && t && sig && in_window(t, now));
            unsigned char key[256];
            size_t kl = svix_key(secret, key);
            char *prefix = xasprintf("%s.%s.", id, t);
            char mac[96], want[104];
            mac_b64(key, kl, prefix, body, blen, mac);
            free(prefix);
            snprintf(want, sizeof(want), "v1,%s", mac);
            FUZZ_CHECK(strstr(sig, want) != NULL);
        } else if (dialect == 2) {
            const char *t = lookup(&rq, "buildium-webhook-timestamp");
            const char *sig = lookup(&rq, "buildium-webhook-signature");
            FUZZ_CHECK(t && sig && in_window(t, now));
            char *prefix = xasprintf("%s.", t);
            char mac[96];
            mac_b64((const unsigned char *)BD_SECRET, strlen(BD_SECRET), prefix, body, blen, mac);
            free(prefix);
            FUZZ_CHECK(strncmp(sig, mac, strlen(mac)) == 0);
        }
    }
    /* completeness: what the harness signed is accepted (400 only for a non-object) */
    if (harness_signed || dialect == 3)
        FUZZ_CHECK(authenticated && (rc == 0) == is_object);

    if (rc == 0) {
        free(event_id);
        free(kind);
    }
    adapter_free(&a);
    for (size_t k = 0; k < q.n; k++) {
        free(q.h[k].name);
        free(q.h[k].value);
    }
    return 0;
}
