/* crash_steps.c - crash at every durable step (the isync pattern).
 *
 * One scenario of about 150 events crossing porter's boundary (116 webhook deliveries, 39
 * queued ops, and the pulls), scripted step by step so that two uninterrupted runs end in the
 * same state (pmsim with a fixed seed and epoch, no rate limit, the world moved only by
 * explicit injects and ticks; porter pulls only when the scenario says):
 *
 *   A  porter sync --once                  the initial import (pull)
 *   B  porter sync (daemon)                72 guest messages, 9 reservation changes and 9
 *                                          scenario ticks at pmsim: webhooks, stored and
 *                                          applied
 *   C  porter sync --once                  pull what has no webhook (task progress)
 *   D  porter sync (daemon)  +  the CLI    24 replies (porter send), 12 work-order status
 *                                          changes (porter wo set, two at a time on one
 *                                          task) and 3 notes queued while the engine
 *                                          pushes; pmsim echoes every reply as a webhook
 *   E  porter sync --once                  the final pull
 *
 * Every porter process shares one step file (PORTER_STEP_FILE), so the durable steps of the
 * whole scenario (op queued, event stored, event applied, cursor advanced, op sent, op
 * acknowledged) are numbered globally. The uninterrupted run takes T steps; then for every N
 * in 1..T the scenario runs again with PORTER_CRASH_AFTER=N: the process that takes step N
 * stops hard (_exit) right after it, is restarted without the variable (a daemon at once, or
 * for odd N after a --once pass; a --once pass again; a CLI command is not repeated: the
 * crash is after its commit), the script goes on, and everything is drained at the end. The final
 * database and pmsim's write log must then equal the uninterrupted run's (canonical dump, see
 * longlib.c canon_dump): messages by remote id and body, work orders by remote id and status,
 * stays, outbox ops by payload and state, inbound events, conflicts, and pmsim's writes lane by
 * lane in order. After each crash: PRAGMA integrity_check, and every webhook pmsim saw acknowledged
 * is in the database.
 *
 *   crash_steps [--quick] [--jobs J] [--every K] [--from N] [--to N]
 *
 * --quick crashes at every 7th step only; runs go J at a time (default 3). TAP on stdout;
 * LONG_KEEP=1 keeps every scenario's directory, LONG_DEBUG=1 prints the phases' times. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "longlib.h"

enum { IN_MSGS = 72, RES_EVERY = 8, TICK_EVERY = 8, REPLIES = 24, REPLY_THREADS = 8 };

static const char *const RES_STATUS[] = {"modified", "cancelled", "new", "modified"};
static const char *const WO_CYCLE[] = {"scheduled", "in_progress", "completed"};

struct result {
    int diffs;   /* lines of the canonical dump that differ from the reference */
    int crashed; /* the crash happened */
    char what[64], in[16];
    int restarts, integrity_bad, acked_missing, adoption_bad;
    int in_lost, in_dup, out_lost, out_dup, wo_lost, wo_dup;
    int events, steps, settle_failed;
    char diff[4096];
    char kinds[512]; /* the steps of the run by name */
};

static char sim_epoch[32];

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

static int64_t phase_t0;

/* LONG_DEBUG=1: how long each phase of the scenario takes */
static void phase(struct lenv *L, const char *name)
{
    int64_t now = mono_now_ms();
    if (getenv("LONG_DEBUG") && L->crash_at == 0)
        note("phase %s at %lld ms, %ld steps", name, (long long)(now - phase_t0), steps_taken(L));
    if (strcmp(name, "A") == 0)
        phase_t0 = now;
}

static int run_scenario(long crash_at, const char *ref_dump, struct result *R, char **dump_out)
{
    struct lenv L;
    memset(R, 0, sizeof(*R));
    char tag[32];
    snprintf(tag, sizeof(tag), "cs%ld", crash_at);
    const char *sim_args[] = {"--seed", "7",       "--epoch",          sim_epoch, "--time-factor",
                              "0.001",  "--fault", "rate_limit_off=1", NULL};
    if (lenv_setup(&L, tag, sim_args) != 0) {
        snprintf(R->diff, sizeof(R->diff), "#   setup failed\n");
        R->diffs = -1;
        return -1;
    }
    L.crash_at = crash_at;
    /* a dead daemon comes back directly (its poller and pushers race), or, for odd N, after
     * a `porter sync --once` pass (which pulls before it pushes) */
    L.once_first = crash_at % 2 == 1;
    char conv[64][24], res[64][24], task[16][24];
    int nconv, nres, ntask;
    ids_of(&L, "conversations", conv, 64, &nconv);
    ids_of(&L, "reservations", res, 64, &nres);
    ids_of(&L, "tasks", task, 16, &ntask);

    /* A: the initial import */
    phase(&L, "A");
    porter_once(&L);

    /* B: webhooks */
    phase(&L, "B");
    daemon_start(&L);
    for (int i = 0; i < IN_MSGS; i++) {
        char body[200];
        snprintf(body, sizeof(body),
                 "{\"kind\":\"message\",\"conversationId\":%s,\"body\":\"cs in %03d\"}",
                 conv[i % nconv], i);
        sim_post(&L, "/_sim/inject", body);
        if (i % RES_EVERY == RES_EVERY - 1) {
            int k = i / RES_EVERY;
            snprintf(body, sizeof(body),
                     "{\"kind\":\"reservation_status\",\"id\":%s,\"status\":\"%s\"}",
                     res[(k * 7) % nres], RES_STATUS[k % 4]);
            sim_post(&L, "/_sim/inject", body);
        }
        if (i % TICK_EVERY == 3)
            sim_post(&L, "/_sim/tick", "{\"ticks\":1}");
        daemon_check(&L);
    }
    R->settle_failed += settle(&L, 0, 400, 90000) != 0;

    /* C: pull what no webhook brings */
    phase(&L, "C");
    daemon_stop(&L);
    porter_once(&L);

    /* D: the CLI queues while the engine pushes */
    phase(&L, "D");
    daemon_start(&L);
    char wo_status[16][16];
    for (int t = 0; t < ntask; t++) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT status FROM work_order WHERE remote_id = '%.23s'",
                 task[t]);
        char *s = db_lines(&L, sql);
        s[strcspn(s, "\n")] = '\0';
        snprintf(wo_status[t], sizeof(wo_status[t]), "%s", s);
        free(s);
    }
    int reply_rc[REPLIES];
    for (int k = 0; k < REPLIES; k++) {
        char id[24], text[64];
        snprintf(id, sizeof(id), "%lld", (long long)thread_local(&L, conv[k % REPLY_THREADS]));
        snprintf(text, sizeof(text), "cs out %03d", k);
        const char *send[] = {"send", id, text, NULL};
        reply_rc[k] = porter_run(&L, NULL, 0, send);
        if (reply_rc[k] != 0 && reply_rc[k] != CRASH_STATUS)
            note("porter send %s '%s' exited with %d", id, text, reply_rc[k]);
        /* two status changes of one task back to back, so that one is often still queued
         * while the other is on the wire; never to the status the task has */
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
            if (rc != 0 && rc != CRASH_STATUS)
                note("porter wo set %s %s exited with %d", wid, st, rc);
        }
        if (k % 8 == 5) {
            snprintf(text, sizeof(text), "cs note %03d", k);
            const char *nt[] = {"note", id, text, NULL};
            porter_run(&L, NULL, 0, nt);
        }
        daemon_check(&L);
    }
    R->settle_failed += settle(&L, 1, 400, 90000) != 0;

    /* E: the final pull, then drain whatever a crash left waiting */
    phase(&L, "E");
    daemon_stop(&L);
    porter_once(&L);
    for (int pass = 0; pass < 5; pass++) {
        int64_t busy = db_int(&L, "SELECT (SELECT count(*) FROM outbox WHERE state IN"
                                  " ('pending', 'inflight')) + (SELECT count(*) FROM"
                                  " inbound_event WHERE state IN ('new', 'retry'))");
        if (busy == 0)
            break;
        lease_expire(&L);
        retries_due(&L);
        porter_once(&L);
    }

    /* what the scenario must end with */
    phase(&L, "F");
    char *dump = canon_dump(&L);
    R->adoption_bad = adoption_mismatches(&L);
    if (strcmp(db_integrity(&L), "ok") != 0)
        R->integrity_bad++;
    cJSON *writes = sim_getj(&L, "/_sim/writes");
    for (int i = 0; i < IN_MSGS; i++) {
        int64_t n = db_int(&L, "SELECT count(*) FROM message WHERE body = 'cs in %03d'", i);
        R->in_lost += n == 0;
        R->in_dup += n > 1;
    }
    for (int k = 0; k < REPLIES; k++) {
        char text[32];
        snprintf(text, sizeof(text), "cs out %03d", k);
        /* queued: the CLI said so, or it stopped at its crash step after the commit */
        int64_t queued = db_int(&L,
                                "SELECT count(*) FROM outbox o JOIN message m ON"
                                " m.id = o.entity_id AND o.entity = 'message'"
                                " WHERE m.body = '%s'",
                                text);
        int w = writes_with_body(writes, text);
        if (reply_rc[k] == 0 && queued != 1)
            R->out_lost++;
        R->out_lost += queued >= 1 && w == 0;
        R->out_dup += w > 1 || queued > 1;
    }
    for (int t = 0; t < ntask && t < 4; t++) { /* each change a real one: one PUT each */
        char path[128];
        snprintf(path, sizeof(path), "/v1/tasks/%.23s", task[t]);
        int puts = 0;
        cJSON *x;
        cJSON_ArrayForEach(x, writes)
        {
            puts += strcmp(cJSON_GetObjectItem(x, "path")->valuestring, path) == 0;
        }
        int64_t queued = db_int(&L,
                                "SELECT count(*) FROM outbox o JOIN work_order w ON"
                                " w.id = o.entity_id AND o.entity = 'work_order'"
                                " WHERE w.remote_id = '%s' AND o.op = 'wo_status'",
                                task[t]);
        R->wo_lost += puts < queued ? (int)(queued - puts) : 0;
        R->wo_dup += puts > queued ? puts - (int)queued : 0;
    }
    struct hooks h;
    hooks_read(&L, &h);
    R->events = h.n + (int)db_int(&L, "SELECT count(*) FROM outbox");
    hooks_free(&h);
    cJSON_Delete(writes);
    R->steps = (int)steps_taken(&L);
    step_kinds(&L, R->kinds, sizeof(R->kinds));
    R->crashed = L.crashed;
    snprintf(R->what, sizeof(R->what), "%s", L.crash_what);
    snprintf(R->in, sizeof(R->in), "%s", L.crash_in);
    R->restarts = L.restarts;
    R->integrity_bad += L.integrity_bad;
    R->acked_missing = L.acked_missing;
    if (ref_dump)
        R->diffs = dump_diff(ref_dump, dump, R->diff, sizeof(R->diff));
    /* a run shorter than its crash point is skipped (see main), its directory not kept */
    int short_run = crash_at > 0 && !R->crashed && R->steps < crash_at;
    int bad = R->diffs || R->adoption_bad || R->integrity_bad || R->acked_missing || R->in_lost ||
              R->in_dup || R->out_lost || R->out_dup || R->wo_lost || R->wo_dup ||
              (crash_at > 0 && !R->crashed && !short_run);
    if (bad)
        note("crash at %ld (%s in %s): see %s", crash_at, L.crash_what, L.crash_in, L.dir);
    lenv_teardown(&L, bad);
    if (dump_out)
        *dump_out = dump;
    else
        free(dump);
    return bad ? 1 : 0;
}

/* ---- running many N, a few at a time ---- */

static char tmpl[160];

static void result_path(long n, char *out, size_t len)
{
    snprintf(out, len, "%s/r%ld", tmpl, n);
}

static void child_run(long n, const char *ref)
{
    struct result R;
    run_scenario(n, ref, &R, NULL);
    char path[200];
    result_path(n, path, sizeof(path));
    FILE *f = fopen(path, "w");
    if (!f)
        _exit(2);
    fwrite(&R, sizeof(R), 1, f);
    fclose(f);
    _exit(0);
}

static int read_result(long n, struct result *R)
{
    char path[200];
    result_path(n, path, sizeof(path));
    FILE *f = fopen(path, "r");
    int ok = f && fread(R, sizeof(*R), 1, f) == 1;
    if (f)
        fclose(f);
    unlink(path);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    int jobs = 3, every = 1;
    long from = 1, to = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            every = 7;
        else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
            jobs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--every") == 0 && i + 1 < argc)
            every = atoi(argv[++i]);
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = atol(argv[++i]);
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = atol(argv[++i]);
    }
    if (jobs < 1)
        jobs = 1;
    if (every < 1)
        every = 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int64_t t0 = mono_now_ms();
    if (private_bins() != 0) {
        printf("not ok 1 - copy the porter and pmsim binaries\n1..1\n");
        return 1;
    }
    /* pmsim's clock: tomorrow 00:00 UTC, the same for every run of this campaign, and never
     * behind porter's (a reply is looked up among messages dated after it was queued) */
    snprintf(sim_epoch, sizeof(sim_epoch), "%lld",
             (long long)((time(NULL) / 86400 + 1) * 86400) * 1000);
    snprintf(tmpl, sizeof(tmpl), "/tmp/porter-crash-steps-XXXXXX");
    if (!mkdtemp(tmpl))
        return 2;

    int tn = 0, failed = 0;
    /* the uninterrupted run, twice: the reference, and proof that the script is
     * deterministic enough for an exact comparison */
    struct result R0, R1;
    char *ref = NULL, *again = NULL;
    int rc0 = run_scenario(0, NULL, &R0, &ref);
    int rc1 = run_scenario(0, ref, &R1, &again);
    free(again);
    long total = R0.steps;
    printf("%s %d - uninterrupted run: %d steps, %d events, lost 0, duplicated 0\n",
           rc0 == 0 && R0.settle_failed == 0 ? "ok" : "not ok", ++tn, R0.steps, R0.events);
    failed += rc0 != 0 || R0.settle_failed;
    printf("%s %d - a second uninterrupted run ends in the same state (%d lines differ)\n",
           rc1 == 0 ? "ok" : "not ok", ++tn, R1.diffs);
    if (rc1 != 0)
        fputs(R1.diff, stdout);
    failed += rc1 != 0;
    printf("# the uninterrupted run's steps:%s\n", R0.kinds);
    if (to < 0 || to > total)
        to = total;

    long points = 0, crashed = 0, restarts = 0, settle_bad = 0, skipped = 0;
    long lost = 0, dup = 0, acked_missing = 0, integrity_bad = 0;
    struct {
        char what[64];
        long n;
    } kinds[16];
    int nkinds = 0;
    long next = from, running = 0;
    pid_t pids[64];
    long ns[64];
    if (jobs > 64)
        jobs = 64;
    while (next <= to || running > 0) {
        while (running < jobs && next <= to) {
            pid_t p = fork();
            if (p == 0)
                child_run(next, ref);
            pids[running] = p;
            ns[running] = next;
            running++;
            next += every;
        }
        int st;
        pid_t p = wait(&st);
        long n = -1;
        for (long i = 0; i < running; i++)
            if (pids[i] == p) {
                n = ns[i];
                pids[i] = pids[running - 1];
                ns[i] = ns[running - 1];
                running--;
                break;
            }
        if (n < 0)
            continue;
        struct result R;
        points++;
        if (read_result(n, &R) != 0) {
            printf("not ok %d - crash at step %ld: the run died (status %d)\n", ++tn, n, st);
            failed++;
            continue;
        }
        if (!R.crashed && R.steps < n) { /* this run took fewer steps than the reference */
            printf("ok %d - crash at step %ld/%ld # SKIP this run had %d steps (the engine's"
                   " start-up pull ran once more or less)\n",
                   ++tn, n, total, R.steps);
            skipped++;
            continue;
        }
        int bad = R.diffs || R.adoption_bad || R.integrity_bad || R.acked_missing || R.in_lost ||
                  R.in_dup || R.out_lost || R.out_dup || R.wo_lost || R.wo_dup || !R.crashed ||
                  R.settle_failed;
        crashed += R.crashed;
        restarts += R.restarts;
        settle_bad += R.settle_failed;
        lost += R.in_lost + R.out_lost + R.wo_lost;
        dup += R.in_dup + R.out_dup + R.wo_dup;
        acked_missing += R.acked_missing;
        integrity_bad += R.integrity_bad;
        int k = 0;
        while (k < nkinds && strcmp(kinds[k].what, R.what) != 0)
            k++;
        if (k == nkinds && nkinds < 16) {
            snprintf(kinds[nkinds].what, sizeof(kinds[0].what), "%s", R.what);
            kinds[nkinds++].n = 0;
        }
        if (k < nkinds)
            kinds[k].n++;
        printf("%s %d - crash at step %ld/%ld (%s, in porter %s): %s\n", bad ? "not ok" : "ok",
               ++tn, n, total, R.crashed ? R.what : "no crash", R.in,
               bad ? "differs from the uninterrupted run" : "same final state");
        if (bad) {
            printf("#   %d dump line(s) differ; adoption %d, integrity %d, acked-missing %d,"
                   " lost in/out/wo %d/%d/%d, duplicated %d/%d/%d, settle %d\n",
                   R.diffs, R.adoption_bad, R.integrity_bad, R.acked_missing, R.in_lost, R.out_lost,
                   R.wo_lost, R.in_dup, R.out_dup, R.wo_dup, R.settle_failed);
            fputs(R.diff, stdout);
            failed++;
        }
    }
    free(ref);
    rmdir(tmpl);
    double mins = (double)(mono_now_ms() - t0) / 60000.0;
    printf("# crash_steps: %ld crash points of %ld steps (every %d), %ld crashed (%ld skipped:"
           " the run was shorter), %ld restarts; %d events per run; lost %ld, duplicated %ld,"
           " acknowledged webhooks missing %ld, integrity failures %ld, unsettled %ld;"
           " %.1f min\n",
           points, total, every, crashed, skipped, restarts, R0.events, lost, dup, acked_missing,
           integrity_bad, settle_bad, mins);
    printf("# crash points by step:");
    for (int k = 0; k < nkinds; k++)
        printf(" %s %ld%s", kinds[k].what, kinds[k].n, k + 1 < nkinds ? "," : "\n");
    if (!nkinds)
        printf(" none\n");
    printf("1..%d\n", tn);
    return failed ? 1 : 0;
}
