/* kill9.c - kill -9 at random moments of a long two-way run.
 *
 * porter sync runs against pmsim (Hostaway) while the test drives about 10,000 events both
 * ways, in random order: guest messages injected at pmsim (each one a webhook, and every
 * reply porter sends comes back as one too), replies queued with `porter send` and work-order
 * status changes with `porter wo set` (two at a time on one task). The run is cut into KILLS
 * segments; in each, at a random event, porter sync is killed with SIGKILL (every other time
 * as soon as a write is in flight), stays down for a few more events (the CLI keeps
 * queueing, pmsim keeps delivering and retries), then starts again (every other time after
 * a `porter sync --once` pass). Right after every kill, before the restart:
 *
 *   - PRAGMA integrity_check is ok;
 *   - every webhook pmsim's delivery log shows acknowledged (2xx) is in the database.
 *
 * At the end (drained, one last pull):
 *
 *   - every injected message is stored exactly once, and the database holds as many messages
 *     as pmsim has (no duplicate remote ids);
 *   - every reply whose `porter send` returned 0 reached pmsim exactly once (writes counted
 *     per reply text) and carries pmsim's id; every status change was applied at pmsim
 *     exactly once (one PUT per op: consecutive changes of a task always differ) and each task
 *     ends in the status queued last; no op failed.
 *
 *   kill9 [--events N] [--kills K] [--seed S]      (default 10000 events, 50 kills)
 *
 * TAP on stdout; the figures (kills with writes in flight, ops found already at pmsim) as
 * diagnostics. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "longlib.h"

static const char *const WO_CYCLE[] = {"scheduled", "in_progress", "completed"};

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

/* Counts of "<prefix><n>" bodies from a query of body texts, into cnt[0..max). */
static void count_markers(const char *rows, const char *prefix, int *cnt, int max)
{
    size_t pl = strlen(prefix);
    for (const char *p = rows; *p;) {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, prefix, pl) == 0) {
            int k = atoi(p + pl);
            if (k >= 0 && k < max)
                cnt[k]++;
        }
        p = nl ? nl + 1 : p + strlen(p);
    }
}

int main(int argc, char **argv)
{
    int events = 10000, kills = 50;
    unsigned seed = (unsigned)time(NULL);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
            events = atoi(argv[++i]);
        else if (strcmp(argv[i], "--kills") == 0 && i + 1 < argc)
            kills = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = (unsigned)atol(argv[++i]);
    }
    if (kills < 1)
        kills = 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    srand(seed);
    if (private_bins() != 0) {
        tap(0, "copy the porter and pmsim binaries");
        printf("1..%d\n", tn);
        return 1;
    }
    int64_t t0 = mono_now_ms();
    note("kill9: %d events, %d kills, seed %u", events, kills, seed);
    /* the PMS's clock is the real one: a reply is looked up by its time window */
    char epoch[32];
    snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL) * 1000);
    const char *sim_args[] = {"--seed", "11",      "--epoch",          epoch, "--time-factor",
                              "0.001",  "--fault", "rate_limit_off=1", NULL};
    struct lenv L;
    if (lenv_setup(&L, "kill9", sim_args) != 0) {
        tap(0, "setup");
        printf("1..%d\n", tn);
        return 1;
    }
    tap(porter_once(&L) == 0, "initial import");

    /* the local ids of every thread and of the first work orders */
    int64_t threads[64];
    int nthreads = 0;
    {
        char *rows = db_lines(&L, "SELECT printf('%08d', id) FROM thread");
        for (char *p = rows; *p && nthreads < 64; p = strchr(p, '\n') + 1)
            threads[nthreads++] = atoll(p);
        free(rows);
    }
    enum { TASKS = 6 };
    int64_t wo[TASKS];
    char wo_status[TASKS][16];
    int ntasks = 0;
    {
        char *rows = db_lines(&L, "SELECT printf('%08d ', id) || status FROM work_order"
                                  " WHERE remote_id IS NOT NULL");
        for (char *p = rows; *p && ntasks < TASKS; p = strchr(p, '\n') + 1) {
            wo[ntasks] = atoll(p);
            sscanf(p + 9, "%15s", wo_status[ntasks]);
            ntasks++;
        }
        free(rows);
    }
    int inbound = 0, replies = 0, status_ops = 0, cli_failed = 0;
    int *reply_rc = calloc((size_t)events + 1, sizeof(int));
    int wo_ops[TASKS] = {0};
    char wo_last[TASKS][16] = {{0}};
    int per_segment = events / kills, down = 0, killed = 0, kills_in_flight = 0;
    int64_t ops_in_doubt = 0;
    int kill_event = -1, restart_event = -1;
    int64_t conv_ids[64];
    int nconv = 0;
    {
        cJSON *c = sim_getj(&L, "/_sim/state?collection=conversations"), *x;
        cJSON_ArrayForEach(x, c)
        {
            if (nconv < 64)
                conv_ids[nconv++] = (int64_t)cJSON_GetObjectItem(x, "id")->valuedouble;
        }
        cJSON_Delete(c);
    }
    daemon_start(&L);
    for (int i = 0; i < events; i++) {
        if (i % per_segment == 0 && killed < kills) { /* this segment's kill and downtime */
            int end = i + per_segment - 1;            /* up again by the segment's last event */
            if (end >= events)
                end = events - 1;
            kill_event = i + per_segment / 4 + rand() % (per_segment - per_segment / 4 - 1);
            if (kill_event >= end)
                kill_event = end - 1;
            restart_event = kill_event + 1 + rand() % 20;
            if (restart_event > end)
                restart_event = end;
        }
        if (!down && i == kill_event && killed < kills) {
            if (killed % 2 == 0) {
                /* while a write is on the wire: a claimed batch is marked inflight, then
                 * sent one by one (the pusher looks for work every second) */
                int64_t until = mono_now_ms() + 1500;
                while (mono_now_ms() < until &&
                       db_int(&L, "SELECT count(*) FROM outbox WHERE state = 'inflight'") <= 0)
                    msleep(1);
                msleep(rand() % 4);
            } else {
                msleep(rand() % 40); /* somewhere in the middle of what it is doing */
            }
            daemon_kill9(&L);
            killed++;
            int64_t doubt = db_int(&L, "SELECT count(*) FROM outbox WHERE state = 'inflight'");
            if (doubt > 0) {
                kills_in_flight++;
                ops_in_doubt += doubt;
            }
            check_after_crash(&L);
            lease_expire(&L); /* it died holding the lease: no 15 s wait */
            down = 1;
        }
        if (down && i >= restart_event) {
            L.restarts++;
            if (killed % 2 == 0) /* every other time a pass first: pull, then push */
                porter_once(&L);
            daemon_start(&L);
            down = 0;
        }
        int r = rand() % 100;
        if (r < 60 && nconv) { /* a guest writes */
            char body[160];
            snprintf(body, sizeof(body),
                     "{\"kind\":\"message\",\"conversationId\":%lld,\"body\":\"k9 in %05d\"}",
                     (long long)conv_ids[rand() % nconv], inbound++);
            sim_post(&L, "/_sim/inject", body);
        } else if (r < 96 && nthreads) { /* a reply */
            char id[24], text[32];
            snprintf(id, sizeof(id), "%lld", (long long)threads[rand() % nthreads]);
            snprintf(text, sizeof(text), "k9 out %05d", replies);
            const char *send[] = {"send", id, text, NULL};
            int rc = porter_run(&L, NULL, 0, send);
            reply_rc[replies++] = rc;
            if (rc != 0) {
                cli_failed++;
                note("porter send %s '%s' exited with %d", id, text, rc);
            }
        } else if (ntasks) {
            /* two status changes of one task back to back (the second often waits while the
             * first is on the wire), never to the status the task has */
            int t = rand() % ntasks;
            for (int twice = 0; twice < 2; twice++) {
                int next = 0;
                for (int c = 0; c < 3; c++)
                    if (strcmp(wo_status[t], WO_CYCLE[c]) == 0)
                        next = (c + 1) % 3;
                char id[24], st[40];
                snprintf(id, sizeof(id), "%lld", (long long)wo[t]);
                snprintf(st, sizeof(st), "status=%s", WO_CYCLE[next]);
                const char *set[] = {"wo", "set", id, st, NULL};
                int rc = porter_run(&L, NULL, 0, set);
                if (rc == 0) {
                    snprintf(wo_status[t], sizeof(wo_status[t]), "%s", WO_CYCLE[next]);
                    snprintf(wo_last[t], sizeof(wo_last[t]), "%s", WO_CYCLE[next]);
                    wo_ops[t]++;
                    status_ops++;
                } else {
                    cli_failed++;
                    note("porter wo set %s %s exited with %d", id, st, rc);
                }
            }
        }
        if (!down && L.daemon > 0 && daemon_check(&L))
            note("porter sync died on its own (restarted)");
        if (i % 1000 == 999)
            note("%d events, %d kills, %.1f min", i + 1, killed,
                 (double)(mono_now_ms() - t0) / 60000.0);
    }
    if (down || L.daemon <= 0)
        daemon_start(&L);
    int settled = settle(&L, 1, 1000, 300000) == 0;
    daemon_stop(&L);
    porter_once(&L); /* the last pull: whatever a lost webhook did not bring */
    for (int pass = 0; pass < 5; pass++) {
        if (db_int(&L, "SELECT (SELECT count(*) FROM outbox WHERE state IN ('pending',"
                       " 'inflight')) + (SELECT count(*) FROM inbound_event WHERE state IN"
                       " ('new', 'retry'))") == 0)
            break;
        lease_expire(&L);
        retries_due(&L);
        porter_once(&L);
    }
    double mins = (double)(mono_now_ms() - t0) / 60000.0;

    tap(settled, "the engine drained everything after the last restart");
    tap(killed == kills, "porter sync killed with SIGKILL %d times (%d restarts)", killed,
        L.restarts);
    tap(L.integrity_bad == 0, "PRAGMA integrity_check ok after every kill (%d failures)",
        L.integrity_bad);
    tap(L.acked_missing == 0,
        "every webhook acknowledged to pmsim was in the database at every kill (%d missing)",
        L.acked_missing);
    tap(cli_failed == 0, "every porter send / wo set returned 0 (%d did not)", cli_failed);

    /* inbound: each injected message exactly once */
    int *cnt = calloc((size_t)inbound + 1, sizeof(int));
    char *rows = db_lines(&L, "SELECT body FROM message WHERE body LIKE 'k9 in %'");
    count_markers(rows, "k9 in ", cnt, inbound);
    free(rows);
    int in_lost = 0, in_dup = 0;
    for (int k = 0; k < inbound; k++) {
        in_lost += cnt[k] == 0;
        in_dup += cnt[k] > 1;
    }
    free(cnt);
    tap(in_lost == 0 && in_dup == 0, "%d inbound messages: lost %d, duplicated %d", inbound,
        in_lost, in_dup);
    cJSON *msgs = sim_getj(&L, "/_sim/state?collection=messages"), *m;
    int pms_msgs = 0;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *st = cJSON_GetObjectItem(m, "status");
        pms_msgs += cJSON_IsString(st) && strcmp(st->valuestring, "sent") == 0;
    }
    cJSON_Delete(msgs);
    int64_t db_msgs = db_int(&L, "SELECT count(*) FROM message WHERE direction IN ('in', 'out')");
    int64_t distinct = db_int(&L, "SELECT count(DISTINCT remote_id) FROM message"
                                  " WHERE direction IN ('in', 'out')");
    tap(db_msgs == pms_msgs && distinct == db_msgs,
        "porter has as many messages as pmsim (%lld / %d), each remote id once (%lld)",
        (long long)db_msgs, pms_msgs, (long long)distinct);

    /* outbound: every reply exactly once at pmsim */
    cJSON *writes = sim_getj(&L, "/_sim/writes"), *w;
    int *wcnt = calloc((size_t)replies + 1, sizeof(int));
    cJSON_ArrayForEach(w, writes)
    {
        const cJSON *b = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "body"), "body");
        if (cJSON_IsString(b) && strncmp(b->valuestring, "k9 out ", 7) == 0) {
            int k = atoi(b->valuestring + 7);
            if (k >= 0 && k < replies)
                wcnt[k]++;
        }
    }
    int out_lost = 0, out_dup = 0;
    for (int k = 0; k < replies; k++) {
        if (reply_rc[k] != 0)
            continue;
        out_lost += wcnt[k] == 0;
        out_dup += wcnt[k] > 1;
        if (wcnt[k] != 1 && out_lost + out_dup <= 5)
            note("reply 'k9 out %05d' written %d time(s)", k, wcnt[k]);
    }
    free(wcnt);
    tap(out_lost == 0 && out_dup == 0, "%d replies: lost %d, duplicated %d at pmsim", replies,
        out_lost, out_dup);
    int adopt = adoption_mismatches(&L);
    int64_t synced = db_int(&L, "SELECT count(*) FROM message WHERE body LIKE 'k9 out %%'"
                                " AND send_state = 'synced' AND remote_id IS NOT NULL");
    tap(adopt == 0 && synced == replies,
        "every reply is synced with pmsim's id (%lld of %d, %d wrong ids)", (long long)synced,
        replies, adopt);

    /* work-order status changes: one PUT per op, the last one wins */
    int wo_lost = 0, wo_dup = 0, wo_wrong = 0;
    cJSON *tasks = sim_getj(&L, "/_sim/state?collection=tasks");
    for (int t = 0; t < ntasks; t++) {
        char sql[200];
        snprintf(sql, sizeof(sql), "SELECT remote_id FROM work_order WHERE id = %lld",
                 (long long)wo[t]);
        char *rid = db_lines(&L, sql);
        rid[strcspn(rid, "\n")] = '\0';
        char path[96];
        snprintf(path, sizeof(path), "/v1/tasks/%s", rid);
        int n = 0;
        cJSON_ArrayForEach(w, writes)
        {
            n += strcmp(cJSON_GetObjectItem(w, "path")->valuestring, path) == 0;
        }
        wo_lost += n < wo_ops[t] ? wo_ops[t] - n : 0;
        wo_dup += n > wo_ops[t] ? n - wo_ops[t] : 0;
        if (wo_ops[t]) {
            static const char *const wire[] = {"confirmed", "inProgress", "completed"};
            const char *want = "";
            for (int c = 0; c < 3; c++)
                if (strcmp(wo_last[t], WO_CYCLE[c]) == 0)
                    want = wire[c];
            cJSON *x;
            cJSON_ArrayForEach(x, tasks)
            {
                if ((int64_t)cJSON_GetObjectItem(x, "id")->valuedouble == atoll(rid)) {
                    const cJSON *s = cJSON_GetObjectItem(x, "status");
                    if (!cJSON_IsString(s) || strcmp(s->valuestring, want) != 0) {
                        wo_wrong++;
                        note("task %s ends %s, want %s", rid,
                             cJSON_IsString(s) ? s->valuestring : "?", want);
                    }
                }
            }
        }
        if (n != wo_ops[t])
            note("task %s: %d status change(s) queued, %d PUT(s) at pmsim", rid, wo_ops[t], n);
        free(rid);
    }
    cJSON_Delete(tasks);
    cJSON_Delete(writes);
    tap(wo_lost == 0 && wo_dup == 0 && wo_wrong == 0,
        "%d work-order status changes: lost %d, duplicated %d, wrong final status %d", status_ops,
        wo_lost, wo_dup, wo_wrong);
    int64_t not_sent = db_int(&L, "SELECT count(*) FROM outbox WHERE state <> 'sent'");
    tap(not_sent == 0, "every outbox op is sent (%lld are not)", (long long)not_sent);
    tap(strcmp(db_integrity(&L), "ok") == 0, "PRAGMA integrity_check ok at the end");

    /* how much the kills interrupted: ops that needed another attempt (looked up first),
     * those found already landed, and webhooks pmsim had to deliver again */
    int64_t resumed = db_int(&L, "SELECT count(*) FROM outbox WHERE attempts > 1");
    int landed = 0;
    {
        char path[200], line[512];
        snprintf(path, sizeof(path), "%s/porter/porter.log", L.dir);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
            landed += strstr(line, "had landed: adopting") != NULL;
        if (f)
            fclose(f);
    }
    struct hooks h;
    hooks_read(&L, &h);
    note("kill9: %d kills with writes in flight (%lld ops in doubt); %lld op(s) attempted"
         " again after a kill, %d of them found already at pmsim and adopted; %d webhook"
         " deliveries for %d webhooks",
         kills_in_flight, (long long)ops_in_doubt, (long long)resumed, landed, h.records, h.n);
    hooks_free(&h);
    int total = inbound + replies + status_ops;
    note("kill9: %d events (%d inbound, %d replies, %d status changes; %d webhooks with the"
         " echoes), %d kill -9, lost %d, duplicated %d, acknowledged webhooks missing %d;"
         " %.1f min",
         total, inbound, replies, status_ops, inbound + replies, killed,
         in_lost + out_lost + wo_lost, in_dup + out_dup + wo_dup, L.acked_missing, mins);
    lenv_teardown(&L, failed != 0);
    free(reply_rc);
    printf("1..%d\n", tn);
    return failed ? 1 : 0;
}
