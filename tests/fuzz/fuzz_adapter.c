/* fuzz_adapter.c - libFuzzer target for one PMS dialect's JSON-to-record parsing.
 *
 * Built three times by tests/fuzz/fuzz.mk with -DFUZZ_DIALECT=hostaway_adapter,
 * guesty_adapter or buildium_adapter (fuzz_hostaway, fuzz_guesty, fuzz_buildium).
 *
 * The adapter is driven only through its public slots (adapter.h): webhook_apply, pull,
 * push and find. Everything it reads from "the PMS" comes from the fuzz input: the link
 * wraps http_request (see fuzz_common.h), so every GET/PUT/POST is answered by the next
 * response part of the input, and a refused connection when they run out. The host's token
 * cache hands out a valid token, so no request is spent on authentication unless the
 * input answers 401/403 (then the adapter mints, and the mint's answer is fuzzed too).
 *
 * Input (text; parts separated by a line "%%"):
 *
 *   hook <kind> [@hexmask]        webhook_apply(kind, part 1); parts 2.. answer its GETs
 *   pull <entity> [cursor] [@m]   pull(entity, cursor); parts 1.. are the pages; while the
 *                                 answer is "more pages" (1) pull again with the new cursor
 *   push <op> [remote_id] [@m]    push(op with payload part 1); parts 2.. answer
 *   find <op> [remote_id] [@m]    find(op with payload part 1); parts 2.. answer
 *
 * @hexmask: bit i makes the sink answer the i-th put with STORE_ENOPARENT. A RETRY_NOW
 * error is followed by auth() and one more call, as the engine does.
 *
 * Checked: ASan/UBSan; every record satisfies model.h (fuzz_common.h); the error contract
 * (-1 with a class and a message, the documented return values, *next owned and set on
 * success); push results NUL-terminated.
 *
 * Seeds: tests/fuzz/corpus/<dialect>/ (tests/fuzz/make_seeds.py: the demo fixtures of
 * data/demo/ split into single events and pages, plus JSONTestSuite-style edge cases).
 * Run:   make fuzz FUZZ_TARGETS=hostaway   or   build/fuzz/fuzz_hostaway CORPUS_DIR
 */
#include "fuzz_common.h"

#ifndef FUZZ_DIALECT
#define FUZZ_DIALECT hostaway_adapter
#endif

#define FUZZ_MAX_INPUT (256 * 1024)

static const char *dialect_name(void)
{
    return FUZZ_DIALECT.name;
}

static struct account_conf conf;

static int host_token_get(void *ctx, char **token, int64_t *expires_at)
{
    (void)ctx;
    *token = xstrdup("fuzz-token-0123456789");
    *expires_at = now_ms() + 86400000LL;
    return 0;
}

static int host_token_put(void *ctx, const char *token, int64_t expires_at)
{
    (void)ctx;
    (void)expires_at;
    FUZZ_CHECK(token && *token);
    return 0;
}

static int host_token_mints(void *ctx, int64_t window_ms)
{
    (void)ctx;
    (void)window_ms;
    return 0;
}

static const struct adapter_host host = {NULL, host_token_get, host_token_put, host_token_mints};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_log_init();
    conf.name = (char *)"fuzz";
    conf.adapter = (char *)dialect_name();
    conf.base_url = (char *)"http://127.0.0.1:1/v1";
    conf.client_id = (char *)"10450";
    conf.secret = (char *)"fuzz-secret";
    conf.webhook_secret = (char *)"porter:change-me";
    conf.poll_interval = 60;
    return 0;
}

/* Split the command line into at most 4 words; "@hex" sets *mask instead. */
static size_t words(char *line, char **w, uint64_t *mask)
{
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t;
         t = strtok_r(NULL, " \t\r", &save)) {
        if (t[0] == '@')
            *mask = strtoull(t + 1, NULL, 16);
        else if (n < 4)
            w[n++] = t;
    }
    return n;
}

static int run(struct adapter *a, const char *verb, char **w, size_t nw, char **parts,
               size_t nparts, struct sink *sk)
{
    const struct adapter_ops *ops = a->ops;
    struct err e;
    err_clear(&e);
    int rc = 0;
    if (strcmp(verb, "hook") == 0) {
        const char *kind = nw > 1 ? w[1] : "unknown";
        const char *body = nparts > 0 ? parts[0] : "";
        rc = ops->webhook_apply(a, kind, body, sk, &e);
        fuzz_check_err(rc, &e);
        FUZZ_CHECK(rc == 0 || rc == -1);
        if (rc < 0 && e.retry == RETRY_NOW) {
            err_clear(&e);
            if (ops->auth(a, &e) == 0) {
                rc = ops->webhook_apply(a, kind, body, sk, &e);
                fuzz_check_err(rc, &e);
            }
        }
    } else if (strcmp(verb, "pull") == 0) {
        int ent = nw > 1 ? entity_parse(w[1]) : -1;
        if (ent < 0)
            ent = nw > 1 ? (unsigned char)w[1][0] % ENTITY_COUNT : ENT_PROPERTY;
        char *cursor = nw > 2 ? xstrdup(w[2]) : NULL;
        for (int round = 0; round < 4; round++) {
            char *next = (char *)"unset";
            err_clear(&e);
            rc = ops->pull(a, (enum entity)ent, cursor, sk, &next, &e);
            fuzz_check_err(rc, &e);
            FUZZ_CHECK(rc >= -1 && rc <= 1);
            if (rc < 0 && e.retry == RETRY_NOW) {
                err_clear(&e);
                if (ops->auth(a, &e) != 0)
                    break;
                next = (char *)"unset";
                rc = ops->pull(a, (enum entity)ent, cursor, sk, &next, &e);
                fuzz_check_err(rc, &e);
            }
            if (rc < 0) {
                FUZZ_CHECK(next == NULL || strcmp(next, "unset") != 0);
                break;
            }
            FUZZ_CHECK(next != NULL && strcmp(next, "unset") != 0);
            fuzz_str(next, 0);
            free(cursor);
            cursor = next; /* the engine commits it and passes it back */
            if (rc == 0 || fuzz_next_resp >= fuzz_nresp)
                break;
        }
        free(cursor);
    } else if (strcmp(verb, "push") == 0 || strcmp(verb, "find") == 0) {
        struct outbox_op op = {.id = 1,
                               .op = nw > 1 ? w[1] : "reply",
                               .payload = nparts > 0 ? parts[0] : "",
                               .idem_key = "porter-fuzz-0001",
                               .remote_id = nw > 2 ? w[2] : NULL,
                               .attempts = 1,
                               .created_at = now_ms() - 60000};
        struct push_result res;
        memset(&res, 0x5a, sizeof(res));
        if (verb[0] == 'p') {
            rc = ops->push(a, &op, &res, &e);
            FUZZ_CHECK(rc == -1 || rc == 0 || rc == ADAPTER_LOCAL_ONLY);
        } else {
            rc = ops->find(a, &op, &res, &e);
            FUZZ_CHECK(rc >= -1 && rc <= 1);
        }
        fuzz_check_err(rc, &e);
        if (rc >= 0)
            FUZZ_CHECK(memchr(res.remote_id, '\0', sizeof(res.remote_id)) != NULL);
        /* a write names what it wrote; Buildium's reply is the documented exception (the
         * new history entry is looked up afterwards and may not be found) */
        if (verb[0] == 'p' && rc == 0 &&
            !(strcmp(dialect_name(), "buildium") == 0 && strcmp(op.op, "reply") == 0))
            FUZZ_CHECK(res.remote_id[0] != '\0');
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t cmd_len = nl ? (size_t)(nl - in) : size;
    char *cmd = fuzz_strndup(in, cmd_len);
    char *w[4];
    uint64_t mask = 0;
    size_t nw = words(cmd, w, &mask);
    if (nw == 0) {
        free(cmd);
        return 0;
    }

    struct fuzz_part raw[FUZZ_MAX_RESP + 1];
    size_t nraw = 0;
    if (nl)
        nraw = fuzz_split(nl + 1, size - cmd_len - 1, raw, FUZZ_MAX_RESP + 1);
    /* part 1 (the event body or op payload) is a C string; the rest are responses */
    char *parts[1] = {NULL};
    size_t nparts = 0;
    int has_body = strcmp(w[0], "pull") != 0;
    if (has_body && nraw > 0) {
        parts[0] = fuzz_strndup(raw[0].p, raw[0].n);
        nparts = 1;
    }
    fuzz_http_reset(raw + (has_body && nraw > 0), nraw - (has_body && nraw > 0));

    struct err e;
    struct adapter *a = adapter_new(&FUZZ_DIALECT, &conf, NULL, &host, &e);
    FUZZ_CHECK(a != NULL);
    struct fuzz_sink fs;
    struct sink sk;
    fuzz_sink_init(&fs, &sk, mask);
    run(a, w[0], w, nw, parts, nparts, &sk);
    /* a bounded number of requests per call: no adapter loops on a repeated answer */
    FUZZ_CHECK(fuzz_requests <= fuzz_nresp + 8);
    fuzz_sink_done(&fs);
    adapter_free(&a);
    free(parts[0]);
    free(cmd);
    return 0;
}
