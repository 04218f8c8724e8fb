/* engine.c - see engine.h. Owns the threads, the lease and the per-account plumbing. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ownership.h"
#include "sync.h"

/* ---- crash-at-step test hook ----
 *
 * PORTER_CRASH_AFTER=N stops the process hard (_exit(86)) right after its Nth durable step.
 * With PORTER_STEP_FILE=F as well, steps are counted across every porter process that shares
 * F (the engine, and the commands that queue ops): each step appends one fixed-size record
 * "pid name" to F under an exclusive lock, and only the process whose step is the Nth record
 * of the file stops, so N names one point of a whole multi-process scenario
 * (tests/long/crash_steps.c). Without N, F is a trace of every step taken. */

#define STEP_RECORD 64 /* bytes per record of PORTER_STEP_FILE */

static atomic_long steps_taken;
static long crash_after = -1;
static const char *step_file;
static pthread_once_t crash_once = PTHREAD_ONCE_INIT;

static void crash_init(void)
{
    const char *v = getenv("PORTER_CRASH_AFTER");
    crash_after = v && *v ? atol(v) : -1;
    step_file = getenv("PORTER_STEP_FILE");
    if (step_file && !*step_file)
        step_file = NULL;
}

static void crash_now(long n, const char *what)
{
    log_warn("engine", "PORTER_CRASH_AFTER=%ld: stopping hard after step %ld '%s'", crash_after, n,
             what);
    _exit(86);
}

/* Append this step to the shared file; crash when it is the Nth record. */
static void step_shared(const char *what)
{
    int fd = open(step_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    struct stat st;
    if (flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0) {
        long n = (long)(st.st_size / STEP_RECORD) + 1;
        char rec[STEP_RECORD];
        memset(rec, ' ', sizeof(rec));
        int k = snprintf(rec, sizeof(rec), "%ld %s", (long)getpid(), what);
        if (k >= 0 && k < (int)sizeof(rec))
            rec[k] = ' ';
        rec[sizeof(rec) - 1] = '\n';
        if (write(fd, rec, sizeof(rec)) == (ssize_t)sizeof(rec) && crash_after > 0 &&
            n == crash_after)
            crash_now(n, what); /* still holding the lock: no other step is recorded */
    }
    close(fd);
}

void engine_step(const char *what)
{
    pthread_once(&crash_once, crash_init); /* every thread sees the same limit, race-free */
    if (step_file) {
        step_shared(what);
        return;
    }
    long n = atomic_fetch_add(&steps_taken, 1) + 1;
    if (crash_after > 0 && n >= crash_after)
        crash_now(n, what);
}

/* ---- shared helpers ---- */

struct store *sync_store(struct engine *g, struct err *e)
{
    /* workers' commits can be redone (re-pull, re-apply, look up before resend), so they
     * skip the per-commit fsync; the webhook listener turns it back on */
    struct store *s = store_open(g->cfg->db_path, e);
    if (s && store_synchronous(s, 0, e) != 0)
        store_close(&s);
    return s;
}

void sync_ui_poke(struct engine *g)
{
    if (g->ui)
        notify_poke(g->ui);
    notify_poke(&g->wake_rules);
}

void sync_sleep(struct engine *g, const struct notify *n, int64_t ms)
{
    int64_t end = mono_ms() + ms;
    while (!atomic_load(&g->stop)) {
        int64_t left = end - mono_ms();
        if (left <= 0)
            return;
        int slice = left > 200 ? 200 : (int)left;
        if (n) {
            if (notify_wait(n, slice))
                return;
        } else {
            struct timespec ts = {slice / 1000, (long)(slice % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
}

int64_t sync_backoff_ms(int attempts)
{
    int64_t cap = BACKOFF_BASE_MS;
    for (int i = 0; i < attempts && cap < BACKOFF_CAP_MS; i++)
        cap *= 2;
    if (cap > BACKOFF_CAP_MS)
        cap = BACKOFF_CAP_MS;
    /* full jitter: uniform in [0, cap] */
    unsigned r = (unsigned)rand() ^ (unsigned)(mono_ms() * 2654435761u);
    return (int64_t)(r % (unsigned)(cap + 1));
}

/* ---- token cache (adapter_host), on the account's own connection ---- */

static int host_token_get(void *ctx, char **token, int64_t *expires_at)
{
    struct acct *a = ctx;
    struct err e;
    pthread_mutex_lock(&a->token_lock);
    int rc = store_token_get(a->token_store, a->id, token, expires_at, &e);
    pthread_mutex_unlock(&a->token_lock);
    return rc != 0 || !*token ? -1 : 0;
}

static int host_token_put(void *ctx, const char *token, int64_t expires_at)
{
    struct acct *a = ctx;
    struct err e;
    pthread_mutex_lock(&a->token_lock);
    int rc = store_token_put(a->token_store, a->id, token, expires_at, &e);
    pthread_mutex_unlock(&a->token_lock);
    if (rc != 0)
        log_error("engine", "%s: cannot store token: %s", a->conf->name, e.msg);
    return rc;
}

static int host_token_mints(void *ctx, int64_t window_ms)
{
    struct acct *a = ctx;
    struct err e;
    int64_t n = 0;
    pthread_mutex_lock(&a->token_lock);
    store_token_mints(a->token_store, a->id, now_ms() - window_ms, &n, &e);
    pthread_mutex_unlock(&a->token_lock);
    return (int)n;
}

struct adapter *sync_adapter(struct acct *a, struct http_client **http, struct err *e)
{
    struct http_opts o = {.log_name = a->conf->name, .cancel = &a->g->stop};
    *http = http_client_new(&o, a->rl);
    struct adapter *ad = adapter_new(a->ops, a->conf, *http, &a->host, e);
    if (!ad)
        http_client_free(http);
    return ad;
}

int worker_open(struct acct *a, const char *who, struct worker *w)
{
    struct err e;
    memset(w, 0, sizeof(*w));
    w->s = sync_store(a->g, &e);
    w->ad = w->s ? sync_adapter(a, &w->http, &e) : NULL;
    if (w->ad)
        return 0;
    log_error(who, "%s: cannot start: %s", a->conf->name, e.msg);
    store_close(&w->s);
    return -1;
}

void worker_close(struct worker *w)
{
    adapter_free(&w->ad);
    http_client_free(&w->http);
    store_close(&w->s);
}

/* ---- lifecycle ---- */

struct engine *engine_new(const struct config *c, const struct notify *ui, struct err *e)
{
    struct engine *g = xcalloc(1, sizeof(*g));
    g->cfg = c;
    g->ui = ui;
    char host[64] = "host";
    gethostname(host, sizeof(host) - 1);
    snprintf(g->holder, sizeof(g->holder), "%s:%ld", host, (long)getpid());
    if (notify_init(&g->wake_apply, e) != 0) {
        free(g);
        return NULL;
    }
    if (notify_init(&g->wake_rules, e) != 0) {
        notify_fini(&g->wake_apply);
        free(g);
        return NULL;
    }
    g->rules = rules_load(c);
    struct store *s = store_open(c->db_path, e);
    if (!s || ownership_load(s, c, e) != 0) {
        store_close(&s);
        engine_free(&g);
        return NULL;
    }
    g->accts = xcalloc(c->naccounts ? c->naccounts : 1, sizeof(*g->accts));
    for (size_t i = 0; i < c->naccounts; i++) {
        const struct account_conf *ac = &c->accounts[i];
        struct acct *a = &g->accts[g->n];
        a->ops = adapter_find(ac->adapter);
        if (!a->ops) {
            log_warn("engine", "account [%s]: no %s adapter in this build; not synced", ac->name,
                     ac->adapter);
            continue;
        }
        a->g = g;
        a->conf = ac;
        if (store_account_ensure(s, ac->name, ac->adapter, &a->id, e) != 0 ||
            !(a->token_store = store_open(c->db_path, e)) || notify_init(&a->wake_push, e) != 0 ||
            notify_init(&a->wake_poll, e) != 0) {
            store_close(&s);
            engine_free(&g);
            return NULL;
        }
        double rate = ac->rate_limit > 0 ? ac->rate_limit : a->ops->rate_per_sec;
        int burst = ac->rate_burst > 0 ? ac->rate_burst : a->ops->rate_burst;
        a->rl = ratelim_new(rate, burst);
        pthread_mutex_init(&a->token_lock, NULL);
        a->host = (struct adapter_host){a, host_token_get, host_token_put, host_token_mints};
        g->n++;
    }
    store_close(&s);
    return g;
}

size_t engine_accounts(const struct engine *g)
{
    return g->n;
}

const char *engine_account_name(const struct engine *g, size_t i)
{
    return i < g->n ? g->accts[i].conf->name : NULL;
}

static int probe_put(struct sink *s, enum entity ent, const void *rec, struct err *e)
{
    (void)s;
    (void)ent;
    (void)rec;
    (void)e;
    return 0;
}

int engine_probe(struct engine *g, size_t i, int64_t *ms, struct err *e)
{
    if (i >= g->n)
        return err_set(e, 0, FINAL, "no account %zu", i);
    struct acct *a = &g->accts[i];
    int64_t t0 = mono_ms();
    struct http_client *http = NULL;
    struct adapter *ad = sync_adapter(a, &http, e);
    if (!ad)
        return -1;
    struct sink discard = {.put = probe_put};
    char *next = NULL;
    int rc = ad->ops->auth(ad, e);
    if (rc == 0 && ad->ops->pull(ad, ENT_PROPERTY, NULL, &discard, &next, e) < 0) {
        /* a stored token the PMS no longer takes: one refresh, as the poller does */
        rc = e->retry == RETRY_NOW && ad->ops->auth(ad, e) == 0 &&
                     ad->ops->pull(ad, ENT_PROPERTY, NULL, &discard, &next, e) >= 0
                 ? 0
                 : -1;
    }
    free(next);
    adapter_free(&ad);
    http_client_free(&http);
    *ms = mono_ms() - t0;
    return rc;
}

int engine_is_leader(const struct engine *g)
{
    return atomic_load(&g->leader);
}

static int take_lease(struct engine *g, struct store *s)
{
    struct err e;
    int rc = store_lease(s, "sync", g->holder, LEASE_TTL_MS, &e);
    if (rc < 0) {
        log_warn("engine", "lease: %s", e.msg);
        return atomic_load(&g->leader); /* keep what we had; retry soon */
    }
    if (rc != atomic_load(&g->leader))
        log_info("engine", "%s the sync lease (%s)", rc ? "took" : "lost", g->holder);
    if (rc && !atomic_load(&g->leader)) {
        /* Ops a previous leader left inflight have an unknown outcome: back to pending
         * (their attempt stays counted, so they are looked up before any resend). Done
         * before the flag lets any pusher claim. */
        for (size_t i = 0; i < g->n; i++)
            if (store_outbox_recover(s, g->accts[i].id, &e) != 0)
                log_error("engine", "recover outbox: %s", e.msg);
    }
    atomic_store(&g->leader, rc);
    return rc;
}

static void *lease_main(void *arg)
{
    struct engine *g = arg;
    struct err e;
    struct store *s = sync_store(g, &e);
    if (!s) {
        log_error("engine", "lease: %s", e.msg);
        return NULL;
    }
    while (!atomic_load(&g->stop)) {
        int was = atomic_load(&g->leader);
        if (take_lease(g, s) && !was) { /* just became leader: wake every worker */
            notify_poke(&g->wake_apply);
            for (size_t i = 0; i < g->n; i++) {
                notify_poke(&g->accts[i].wake_poll);
                notify_poke(&g->accts[i].wake_push);
            }
        }
        sync_sleep(g, NULL, LEASE_RENEW_MS);
    }
    store_lease_release(s, "sync", g->holder, &e);
    atomic_store(&g->leader, 0);
    store_close(&s);
    return NULL;
}

int rules_pass(struct engine *g, struct store *s, struct err *e)
{
    int fired = 0;
    int n = rules_run(g->rules, s, now_ms(), &fired, e);
    if (n > 0)
        sync_ui_poke(g); /* what the rules queued: the pushers and the interface */
    if (fired > 0)
        for (size_t i = 0; i < g->n; i++)
            notify_poke(&g->accts[i].wake_push);
    if (n >= 0 && rules_commands(g->rules, s, e) < 0)
        return -1;
    return n;
}

/* Bad rules are left out and said once, as an alert the health view shows. */
static void rules_report(struct engine *g, struct store *s)
{
    size_t n = rules_nerrors(g->rules);
    struct err e;
    if (!n)
        return;
    for (size_t i = 0; i < n; i++)
        log_warn("rules", "%s", rules_error(g->rules, i));
    char *msg = xasprintf("%zu rule error(s), those rules are off: %s%s", n,
                          rules_error(g->rules, 0), n > 1 ? " (porter rules check lists all)" : "");
    if (store_alert(s, 0, "config", "rules", msg, &e) != 0)
        log_warn("rules", "alert: %s", e.msg);
    free(msg);
}

static void *rules_main(void *arg)
{
    struct engine *g = arg;
    struct err e;
    struct store *s = sync_store(g, &e);
    if (!s) {
        log_error("rules", "cannot start: %s", e.msg);
        return NULL;
    }
    int reported = 0;
    while (!atomic_load(&g->stop)) {
        int n = 0;
        if (atomic_load(&g->leader)) {
            if (!reported++)
                rules_report(g, s);
            if ((n = rules_pass(g, s, &e)) < 0)
                log_error("rules", "%s", e.msg);
        }
        if (n > 0)
            continue;
        sync_sleep(g, &g->wake_rules, 1000);
    }
    store_close(&s);
    return NULL;
}

int engine_start(struct engine *g, struct err *e)
{
    if (webhook_start(g, e) != 0)
        log_warn("engine", "webhook listener not started: %s", e->msg);
    pthread_create(&g->leaser, NULL, lease_main, g);
    pthread_create(&g->applier, NULL, apply_main, g);
    pthread_create(&g->ruler, NULL, rules_main, g);
    for (size_t i = 0; i < g->n; i++) {
        struct acct *a = &g->accts[i];
        pthread_create(&a->poller, NULL, poll_main, a);
        for (int k = 0; k < PUSHERS_PER_ACCOUNT; k++)
            pthread_create(&a->pushers[k], NULL, outbox_main, a);
        a->threads_started = 1;
    }
    g->started = 1;
    log_info("engine", "started: %zu account(s)", g->n);
    return 0;
}

void engine_stop(struct engine *g)
{
    if (!g || !g->started)
        return;
    atomic_store(&g->stop, 1);
    notify_poke(&g->wake_apply);
    notify_poke(&g->wake_rules);
    for (size_t i = 0; i < g->n; i++) {
        notify_poke(&g->accts[i].wake_poll);
        notify_poke(&g->accts[i].wake_push);
    }
    webhook_stop(g);
    for (size_t i = 0; i < g->n; i++) {
        struct acct *a = &g->accts[i];
        if (!a->threads_started)
            continue;
        pthread_join(a->poller, NULL);
        for (int k = 0; k < PUSHERS_PER_ACCOUNT; k++)
            pthread_join(a->pushers[k], NULL);
        a->threads_started = 0;
    }
    pthread_join(g->applier, NULL);
    pthread_join(g->ruler, NULL);
    pthread_join(g->leaser, NULL);
    g->started = 0;
    log_info("engine", "stopped");
}

int engine_run_once(struct engine *g, struct err *e)
{
    struct store *s = sync_store(g, e);
    if (!s)
        return -1;
    if (store_lease(s, "sync", g->holder, LEASE_TTL_MS, e) != 1) {
        store_close(&s);
        return err_set(e, 0, RETRY_LATER,
                       "another porter process is syncing this database (sync lease held)");
    }
    atomic_store(&g->leader, 1);
    int rc = 0;
    struct adapter **ads = xcalloc(g->n ? g->n : 1, sizeof(*ads));
    struct http_client **https = xcalloc(g->n ? g->n : 1, sizeof(*https));
    for (size_t i = 0; i < g->n && rc == 0; i++)
        if (!(ads[i] = sync_adapter(&g->accts[i], &https[i], e)))
            rc = -1;
    int n = 0;
    while (rc == 0 && (n = apply_events_once(g, s, ads, e)) > 0)
        ;
    if (rc == 0 && n < 0)
        rc = -1;
    if (rc == 0)
        rules_report(g, s);
    /* Accounts are independent: one PMS being down never holds the others back. */
    int failed = 0;
    for (size_t i = 0; i < g->n && rc == 0; i++) {
        struct acct *a = &g->accts[i];
        store_outbox_recover(s, a->id, e);
        if (poll_account(a, s, ads[i], e) != 0) {
            log_error("engine", "%s: pull failed: %s", a->conf->name, e->msg);
            fprintf(stderr, "porter: %s: pull failed: %s\n", a->conf->name, e->msg);
            failed++;
        }
        /* what the applied events and the pull brought in, acted on before the drain */
        if (rules_pass(g, s, e) < 0) {
            fprintf(stderr, "porter: automations: %s\n", e->msg);
            failed++;
        }
        int waiting = 0, done;
        while ((done = outbox_drain_once(a, s, ads[i], &waiting, e)) > 0)
            ;
        if (done < 0) {
            fprintf(stderr, "porter: %s: push failed: %s\n", a->conf->name, e->msg);
            failed++;
        } else if (waiting) {
            fprintf(stderr, "porter: %s: %d queued write(s) wait for a retry\n", a->conf->name,
                    waiting);
        }
    }
    while (rc == 0 && (n = apply_events_once(g, s, ads, e)) > 0)
        ;
    if (rc == 0 && n < 0)
        rc = -1;
    if (rc == 0 && rules_pass(g, s, e) < 0)
        rc = -1;
    if (rc == 0 && failed)
        rc =
            err_set(e, 0, RETRY_LATER, "%d account step(s) failed; see the messages above", failed);
    for (size_t i = 0; i < g->n; i++) {
        adapter_free(&ads[i]);
        http_client_free(&https[i]);
    }
    free(ads);
    free(https);
    struct err e2;
    store_lease_release(s, "sync", g->holder, &e2);
    atomic_store(&g->leader, 0);
    store_close(&s);
    return rc;
}

void engine_free(struct engine **gp)
{
    struct engine *g = gp ? *gp : NULL;
    if (!g)
        return;
    engine_stop(g);
    for (size_t i = 0; i < g->n; i++) {
        struct acct *a = &g->accts[i];
        ratelim_free(&a->rl);
        store_close(&a->token_store);
        notify_fini(&a->wake_push);
        notify_fini(&a->wake_poll);
        pthread_mutex_destroy(&a->token_lock);
    }
    notify_fini(&g->wake_apply);
    notify_fini(&g->wake_rules);
    rules_free(&g->rules);
    free(g->accts);
    free(g);
    *gp = NULL;
}
