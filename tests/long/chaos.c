/* chaos.c - network chaos: one two-way scenario without faults, then again under faults on
 * pmsim's HTTP side, and the final states compared.
 *
 * The scenario (one Hostaway account on pmsim, deterministic: fixed seed and epoch, no rate
 * limit, the world moved only by explicit injects, porter pulling only when told):
 *
 *   A  porter sync --once               the initial import
 *   B  porter sync (daemon)             guest messages and reservation status changes at
 *                                       pmsim (webhooks)
 *   C  porter sync --once               task status changes at pmsim (no webhook), then
 *                                       the pull
 *   D  porter sync (daemon) + the CLI   replies (porter send), work-order status changes
 *                                       (porter wo set, two at a time on one task) and notes
 *                                       queued while the engine pushes; every reply comes
 *                                       back from pmsim as a webhook
 *   E  porter sync --once               the final pull, then a drain of whatever waits
 *
 * The run without faults is the reference: the canonical dump (longlib.c canon_dump:
 * messages, work orders, stays, outbox ops, inbound events, conflicts, pmsim's write log lane
 * by lane) is taken at the end of every phase. Then each fault mix runs the same script with
 * its faults set on pmsim from the start (the import included): latency with jitter (slow
 * answers), connection resets, 503s, writes applied and their answer dropped, and answers cut
 * off half-way (partial_rate); one mix adds a 12 s outage as phase D starts. A daemon phase
 * must drain (settle) within LIMIT_MS; at the end of each phase the faulty run must reach the
 * reference's state of that phase within LIMIT_MS (a `--once` phase runs `porter sync
 * --once` again while it has not, as cron would; a daemon phase waits); at the end it must be
 * equal. Moreover: every injected message stored once, every reply written at pmsim once,
 * one PUT per status change, no op failed, integrity_check ok, every acknowledged webhook
 * stored. pmsim counts what it injected (GET /_sim/health "injected"); porter.log says how
 * many writes were found already landed and adopted.
 *
 * Fault decisions draw from pmsim's world generator, so the scenario uses no scenario ticks
 * and no injected reservations (both draw from it too): only injects whose outcome depends on
 * nothing random.
 *
 *   chaos [--quick] [--mix NAME]...   (default: the five mixes of MIXES[] before "extreme";
 *                                      --quick: a smaller script, light and partial-heavy)
 *
 * TAP on stdout; LONG_KEEP=1 keeps every run's directory. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "longlib.h"

struct mix {
    const char *name;
    const char *faults; /* POST /_sim/faults body; NULL: none */
    const char *at_d;   /* and this one at the start of phase D (NULL: none) */
};

static const struct mix MIXES[] = {
    /* about 9 % of requests fail (reset, 503 or cut off), 5 % of write answers lost */
    {"light",
     "{\"latency_ms\":5,\"jitter_ms\":45,\"reset_rate\":0.03,\"error_rate\":0.03,"
     "\"drop_after_write\":0.05,\"partial_rate\":0.03}",
     NULL},
    /* about 12 % fail, a third of the write answers lost, answers up to 0.4 s slow */
    {"heavy",
     "{\"latency_ms\":20,\"jitter_ms\":400,\"reset_rate\":0.05,\"error_rate\":0.05,"
     "\"drop_after_write\":0.33,\"partial_rate\":0.03}",
     NULL},
    /* mostly answers cut off half-way: 10 % of them, the writes' included */
    {"partial-heavy",
     "{\"latency_ms\":2,\"jitter_ms\":20,\"reset_rate\":0.01,"
     "\"error_rate\":0.01,\"drop_after_write\":0.05,\"partial_rate\":0.1}",
     NULL},
    /* slow answers: 0.15 to 1.65 s each, and a few of every other fault */
    {"slow",
     "{\"latency_ms\":150,\"jitter_ms\":1500,\"reset_rate\":0.02,\"error_rate\":0.02,"
     "\"drop_after_write\":0.1,\"partial_rate\":0.02}",
     NULL},
    /* an outage of 12 s as the writes of phase D start (the circuit opens), and 12 % of
     * requests answered 503 throughout: the queue must drain once the outage is over */
    {"outage-lossy", "{\"error_rate\":0.12}", "{\"outage_s\":12}"},
    /* not run by default (--mix extreme): about 23 % of requests fail, where a pull pass,
     * which stops at its first failed request, no longer completes (docs/RELIABILITY.md,
     * Known limits) */
    {"extreme",
     "{\"latency_ms\":5,\"jitter_ms\":45,\"reset_rate\":0.1,\"error_rate\":0.1,"
     "\"drop_after_write\":0.3,\"partial_rate\":0.05}",
     NULL},
};
enum { NMIXES = sizeof(MIXES) / sizeof(MIXES[0]), DEFAULT_MIXES = 5, PHASES = 5 };
static const char *const PHASE_NAME[PHASES] = {"A import", "B webhooks", "C pull",
                                               "D replies and changes", "E final"};

/* A daemon phase must drain, and every phase reach the reference's state, within this */
#define LIMIT_MS 120000

static const char *const WO_CYCLE[] = {"scheduled", "in_progress", "completed"};
static const char *const RES_STATUS[] = {"modified", "cancelled", "new", "modified"};
static const char *const TASK_WIRE[] = {"confirmed", "inProgress", "completed", "pending"};

/* the script's size */
static int in_msgs = 160, res_every = 10, task_changes = 8, replies = 60, reply_threads = 10;

static char sim_epoch[32];
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

struct run {
    char *dump[PHASES]; /* canonical dump at the end of each phase (owned) */
    int converge_ms[PHASES];
    int phase_bad;  /* phases that did not reach the reference's state in time */
    int once_extra; /* `porter sync --once` passes beyond the script's */
    int in_lost, in_dup, out_lost, out_dup, wo_lost, wo_dup, failed_ops, adoption_bad;
    int integrity_bad, acked_missing, settle_failed, cli_failed;
    int replies, wo_ops, events;
    int64_t resets, errors, partials, dropped, delayed, requests;
    int adopted;      /* porter.log: writes found already landed */
    int attempts;     /* porter.log: failed push attempts */
    int pulls_failed; /* porter.log: pull passes stopped by a failed request */
    double secs;
};

static void ids_of(struct lenv *L, const char *coll, char ids[][24], int max, int *n)
{
    char path[96];
    snprintf(path, sizeof(path), "/_sim/state?collection=%s", coll);
    cJSON *a = sim_getj(L, path), *x;
    *n = 0;
    cJSON_ArrayForEach(x, a)
    {
        if (*n < max)
            snprintf(ids[(*n)++], 24, "%.0f", cJSON_GetObjectItem(x, "id")->valuedouble);
    }
    cJSON_Delete(a);
}

static int writes_with_body(cJSON *writes, const char *body)
{
    int n = 0;
    cJSON *x;
    cJSON_ArrayForEach(x, writes)
    {
        const cJSON *b = cJSON_GetObjectItem(cJSON_GetObjectItem(x, "body"), "body");
        n += cJSON_IsString(b) && strcmp(b->valuestring, body) == 0;
    }
    return n;
}

/* The end of a phase. The reference run records its dump; a faulty run must reach the
 * reference's dump of the same phase within limit_ms: `porter sync --once` again meanwhile
 * when no daemon runs (as cron would), else the daemon is given time. */
static void phase_end(struct lenv *L, int k, const struct run *ref, struct run *R, int limit_ms)
{
    int64_t t0 = mono_now_ms();
    for (;;) {
        char *d = canon_dump(L);
        if (!ref || strcmp(d, ref->dump[k]) == 0) {
            R->dump[k] = d;
            R->converge_ms[k] = (int)(mono_now_ms() - t0);
            return;
        }
        if (mono_now_ms() - t0 > limit_ms) {
            char diff[4096];
            int n = dump_diff(ref->dump[k], d, diff, sizeof(diff));
            note("phase %s: %d line(s) still differ from the reference after %d s", PHASE_NAME[k],
                 n, limit_ms / 1000);
            fputs(diff, stdout);
            R->dump[k] = d;
            R->converge_ms[k] = -1;
            R->phase_bad++;
            return;
        }
        free(d);
        if (L->daemon > 0) {
            settle(L, 1, 500, 30000);
        } else {
            const char *once[] = {"sync", "--once", NULL};
            porter_run(L, NULL, 0, once);
            R->once_extra++;
        }
    }
}

/* `porter sync --once` until it succeeds (a pull that met a fault fails the pass). */
static void once_ok(struct lenv *L, struct run *R)
{
    const char *once[] = {"sync", "--once", NULL};
    for (int i = 0; i < 40; i++) {
        if (porter_run(L, NULL, 0, once) == 0)
            return;
        R->once_extra++;
    }
    note("porter sync --once failed 40 times in a row (every pass met a fault); going on");
}

static int run_scenario(const struct mix *m, const struct run *ref, struct run *R)
{
    memset(R, 0, sizeof(*R));
    int64_t t0 = mono_now_ms();
    struct lenv L;
    const char *sim_args[] = {"--seed", "7",       "--epoch",          sim_epoch, "--time-factor",
                              "0.001",  "--fault", "rate_limit_off=1", NULL};
    if (lenv_setup(&L, m ? m->name : "ref", sim_args) != 0) {
        note("setup failed");
        return -1;
    }
    if (m && m->faults && sim_post(&L, "/_sim/faults", m->faults) != 200) {
        lenv_teardown(&L, 0);
        return -1;
    }
    int limit = LIMIT_MS;
    char conv[64][24], res[64][24], task[16][24];
    int nconv, nres, ntask;
    ids_of(&L, "conversations", conv, 64, &nconv);
    ids_of(&L, "reservations", res, 64, &nres);
    ids_of(&L, "tasks", task, 16, &ntask);

    int *reply_rc = malloc((size_t)replies * sizeof(int));
    int wo_ops[4] = {0};
    for (int k = 0; k < replies; k++)
        reply_rc[k] = -1; /* not sent yet */

    /* A: the initial import */
    once_ok(&L, R);
    phase_end(&L, 0, ref, R, limit);
    if (R->phase_bad)
        goto checks; /* the rest of the script needs what the phase brings */

    /* B: webhooks, and task changes that only a pull brings */
    daemon_start(&L);
    for (int i = 0; i < in_msgs; i++) {
        char body[200];
        snprintf(body, sizeof(body),
                 "{\"kind\":\"message\",\"conversationId\":%s,\"body\":\"chaos in %03d\"}",
                 conv[i % nconv], i);
        sim_post(&L, "/_sim/inject", body);
        if (i % res_every == res_every - 1) {
            int k = i / res_every;
            snprintf(body, sizeof(body),
                     "{\"kind\":\"reservation_status\",\"id\":%s,\"status\":\"%s\"}",
                     res[(k * 7) % nres], RES_STATUS[k % 4]);
            sim_post(&L, "/_sim/inject", body);
        }
        daemon_check(&L);
    }
    R->settle_failed += settle(&L, 0, 500, limit) != 0;
    phase_end(&L, 1, ref, R, limit);
    if (R->phase_bad)
        goto checks;

    /* C: task changes, which no webhook announces, and the pull. Made while no engine
     * runs: the daemon's start-up pull, delayed by faults, would otherwise bring some of
     * them in phase B already */
    daemon_stop(&L);
    for (int k = 0; k < task_changes && ntask > 4; k++) {
        char body[200]; /* tasks 4.. only: D changes the first four */
        snprintf(body, sizeof(body), "{\"kind\":\"task_status\",\"id\":%s,\"status\":\"%s\"}",
                 task[4 + k % (ntask - 4)], TASK_WIRE[k % 4]);
        sim_post(&L, "/_sim/inject", body);
    }
    once_ok(&L, R);
    phase_end(&L, 2, ref, R, limit);
    if (R->phase_bad)
        goto checks;

    /* D: the CLI queues while the engine pushes */
    if (m && m->at_d)
        sim_post(&L, "/_sim/faults", m->at_d);
    daemon_start(&L);
    char wo_status[16][16];
    for (int t = 0; t < ntask && t < 16; t++) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT status FROM work_order WHERE remote_id = '%.23s'",
                 task[t]);
        char *s = db_lines(&L, sql);
        s[strcspn(s, "\n")] = '\0';
        snprintf(wo_status[t], sizeof(wo_status[t]), "%s", s);
        free(s);
    }
    for (int k = 0; k < replies; k++) {
        char id[24], text[64];
        snprintf(id, sizeof(id), "%lld", (long long)thread_local(&L, conv[k % reply_threads]));
        snprintf(text, sizeof(text), "chaos out %03d", k);
        const char *send[] = {"send", id, text, NULL};
        reply_rc[k] = porter_run(&L, NULL, 0, send);
        if (reply_rc[k] != 0) {
            R->cli_failed++;
            note("porter send %s '%s' exited with %d", id, text, reply_rc[k]);
        }
        /* two status changes of one task back to back, never to the status it has */
        for (int twice = 0; k % 4 == 1 && twice < 2; twice++) {
            int t = (k / 4) % (ntask < 4 ? ntask : 4);
            int next = 0;
            for (int c = 0; c < 3; c++)
                if (strcmp(wo_status[t], WO_CYCLE[c]) == 0)
                    next = (c + 1) % 3;
            snprintf(wo_status[t], sizeof(wo_status[t]), "%s", WO_CYCLE[next]);
            char wid[24], st[40];
            snprintf(wid, sizeof(wid), "%lld", (long long)wo_local(&L, task[t]));
            snprintf(st, sizeof(st), "status=%s", WO_CYCLE[next]);
            const char *set[] = {"wo", "set", wid, st, NULL};
            int rc = porter_run(&L, NULL, 0, set);
            if (rc != 0) {
                R->cli_failed++;
                note("porter wo set %s %s exited with %d", wid, st, rc);
            } else {
                wo_ops[t]++;
                R->wo_ops++;
            }
        }
        if (k % 8 == 5) {
            snprintf(text, sizeof(text), "chaos note %03d", k);
            const char *nt[] = {"note", id, text, NULL};
            if (porter_run(&L, NULL, 0, nt) != 0)
                R->cli_failed++;
        }
        daemon_check(&L);
    }
    R->replies = replies;
    R->settle_failed += settle(&L, 1, 500, limit) != 0;
    phase_end(&L, 3, ref, R, limit);
    if (R->phase_bad)
        goto checks;

    /* E: the final pull, then whatever waits for a retry */
    daemon_stop(&L);
    once_ok(&L, R);
    for (int pass = 0; pass < 20; pass++) {
        if (db_int(&L, "SELECT (SELECT count(*) FROM outbox WHERE state IN ('pending',"
                       " 'inflight')) + (SELECT count(*) FROM inbound_event WHERE state IN"
                       " ('new', 'retry'))") == 0)
            break;
        retries_due(&L);
        once_ok(&L, R);
    }
    phase_end(&L, 4, ref, R, limit);

checks:
    /* lost and duplicated, each way */
    daemon_stop(&L);
    cJSON *writes = sim_getj(&L, "/_sim/writes");
    for (int i = 0; i < in_msgs; i++) {
        int64_t n = db_int(&L, "SELECT count(*) FROM message WHERE body = 'chaos in %03d'", i);
        R->in_lost += n == 0;
        R->in_dup += n > 1;
    }
    for (int k = 0; k < replies; k++) {
        char text[32];
        snprintf(text, sizeof(text), "chaos out %03d", k);
        int w = writes_with_body(writes, text);
        if (reply_rc[k] == 0) {
            R->out_lost += w == 0;
            R->out_dup += w > 1;
            if (w != 1)
                note("reply '%s' written %d time(s) at pmsim", text, w);
        }
    }
    for (int t = 0; t < ntask && t < 4; t++) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/tasks/%.23s", task[t]);
        int puts = 0;
        cJSON *x;
        cJSON_ArrayForEach(x, writes)
        {
            puts += strcmp(cJSON_GetObjectItem(x, "path")->valuestring, path) == 0;
        }
        R->wo_lost += puts < wo_ops[t] ? wo_ops[t] - puts : 0;
        R->wo_dup += puts > wo_ops[t] ? puts - wo_ops[t] : 0;
        if (puts != wo_ops[t])
            note("task %s: %d status change(s) queued, %d PUT(s) at pmsim", task[t], wo_ops[t],
                 puts);
    }
    cJSON_Delete(writes);
    free(reply_rc);
    R->failed_ops = (int)db_int(&L, "SELECT count(*) FROM outbox WHERE state <> 'sent'");
    R->adoption_bad = adoption_mismatches(&L);
    R->integrity_bad = strcmp(db_integrity(&L), "ok") != 0;
    check_after_crash(&L); /* every acknowledged webhook is stored */
    R->acked_missing = L.acked_missing;
    struct hooks h;
    hooks_read(&L, &h);
    R->events = h.n + (int)db_int(&L, "SELECT count(*) FROM outbox");
    hooks_free(&h);

    /* what was injected, and what porter saw of it */
    cJSON *health = sim_getj(&L, "/_sim/health");
    cJSON *inj = cJSON_GetObjectItem(health, "injected");
    R->resets = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(inj, "resets"));
    R->errors = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(inj, "errors"));
    R->partials = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(inj, "partials"));
    R->dropped = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(inj, "dropped"));
    R->delayed = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(inj, "delayed"));
    R->requests = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(health, "requests"));
    cJSON_Delete(health);
    char log[200];
    snprintf(log, sizeof(log), "%s/porter/porter.log", L.dir);
    R->adopted = file_count(log, "had landed: adopting");
    R->attempts = file_count(log, ") attempt ");
    R->pulls_failed = file_count(log, "pull failed") + file_count(log, "warn  [poll]");
    R->secs = (double)(mono_now_ms() - t0) / 1000.0;
    int bad = R->phase_bad || R->settle_failed || R->in_lost || R->in_dup || R->out_lost ||
              R->out_dup || R->wo_lost || R->wo_dup || R->failed_ops || R->adoption_bad ||
              R->integrity_bad || R->acked_missing || R->cli_failed;
    lenv_teardown(&L, bad);
    return bad;
}

static void run_free(struct run *R)
{
    for (int k = 0; k < PHASES; k++)
        free(R->dump[k]);
}

static void report(const char *name, const struct run *R, int rc)
{
    int lost = R->in_lost + R->out_lost + R->wo_lost, dup = R->in_dup + R->out_dup + R->wo_dup;
    tap(rc == 0 && R->phase_bad == 0 && R->settle_failed == 0,
        "%s: every phase drained and reached the run without faults' state within %d s, the"
        " final one equal (%d phase(s) did not drain, %d did not reach it)",
        name, LIMIT_MS / 1000, R->settle_failed, R->phase_bad);
    tap(lost == 0 && dup == 0,
        "%s: lost %d, duplicated %d (inbound %d/%d, replies %d/%d, status changes %d/%d)", name,
        lost, dup, R->in_lost, R->in_dup, R->out_lost, R->out_dup, R->wo_lost, R->wo_dup);
    tap(R->failed_ops == 0 && R->cli_failed == 0 && R->adoption_bad == 0,
        "%s: every op sent, none failed (%d not sent, %d CLI failures, %d wrong remote ids)", name,
        R->failed_ops, R->cli_failed, R->adoption_bad);
    tap(R->integrity_bad == 0 && R->acked_missing == 0,
        "%s: integrity_check ok, every acknowledged webhook stored (%d missing)", name,
        R->acked_missing);
    note("chaos %s: %lld requests; injected %lld resets, %lld 503s, %lld partial answers, %lld "
         "dropped"
         " answers to applied writes, %lld delayed; porter: %d failed push attempts, %d writes"
         " found landed and adopted, %d pull passes stopped, %d extra --once passes; phases"
         " converged in %d/%d/%d/%d/%d ms; lost %d, duplicated %d; %.0f s",
         name, (long long)R->requests, (long long)R->resets, (long long)R->errors,
         (long long)R->partials, (long long)R->dropped, (long long)R->delayed, R->attempts,
         R->adopted, R->pulls_failed, R->once_extra, R->converge_ms[0], R->converge_ms[1],
         R->converge_ms[2], R->converge_ms[3], R->converge_ms[4],
         R->in_lost + R->out_lost + R->wo_lost, R->in_dup + R->out_dup + R->wo_dup, R->secs);
}

int main(int argc, char **argv)
{
    const char *only[NMIXES];
    int nonly = 0, quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--mix") == 0 && i + 1 < argc && nonly < NMIXES)
            only[nonly++] = argv[++i];
    }
    if (quick) {
        in_msgs = 60;
        replies = 24;
        reply_threads = 8;
        task_changes = 4;
        if (!nonly) {
            only[nonly++] = "light";
            only[nonly++] = "partial-heavy";
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    lenv_sim_log = 1;
    if (private_bins() != 0) {
        tap(0, "copy the porter and pmsim binaries");
        printf("1..%d\n", tn);
        return 1;
    }
    snprintf(sim_epoch, sizeof(sim_epoch), "%lld",
             (long long)((time(NULL) / 86400 + 1) * 86400) * 1000);
    int64_t t0 = mono_now_ms();
    struct run ref, again;
    int rc = run_scenario(NULL, NULL, &ref);
    tap(rc == 0, "the run without faults: %d events, lost 0, duplicated 0 (%.0f s)", ref.events,
        ref.secs);
    if (rc != 0) {
        printf("1..%d\n", tn);
        return 1;
    }
    /* the comparison means something only if two runs without faults agree */
    rc = run_scenario(NULL, &ref, &again);
    tap(rc == 0 && again.phase_bad == 0,
        "a second run without faults reaches the same state at every phase");
    run_free(&again);
    int mixes = 0;
    for (int i = 0; i < NMIXES; i++) {
        int want = !nonly && i < DEFAULT_MIXES;
        for (int j = 0; j < nonly; j++)
            want |= strcmp(only[j], MIXES[i].name) == 0;
        if (!want)
            continue;
        note("mix %s: %s%s%s", MIXES[i].name, MIXES[i].faults,
             MIXES[i].at_d ? ", at the start of phase D " : "", MIXES[i].at_d ? MIXES[i].at_d : "");
        struct run R;
        rc = run_scenario(&MIXES[i], &ref, &R);
        report(MIXES[i].name, &R, rc);
        run_free(&R);
        mixes++;
    }
    run_free(&ref);
    note("chaos: %d fault mix(es) against the run without faults, %.1f min", mixes,
         (double)(mono_now_ms() - t0) / 60000.0);
    printf("1..%d\n", tn);
    return failed ? 1 : 0;
}
