/* main.c - pmsim: a PMS simulator speaking Hostaway, Guesty and Buildium on loopback.
 *
 *   pmsim --account hostaway:9101 --account guesty:9102 --account buildium:9103 \
 *         --seed 7 --data data/demo --rate 1 \
 *         --webhook-url 'http://127.0.0.1:8787/hooks/{dialect}'
 *
 * Port 0 picks a free port. Once every account listens, one line per account is printed
 * to stdout ("pmsim: hostaway listening on 127.0.0.1:9101") and then "pmsim: ready".
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pmsim.h"
#include "util.h"

struct sim sim = {.time_factor = 1.0};
pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Weak so that pmsim links while a dialect is being written; a missing one is unknown. */
extern const struct dialect_ops hostaway_dialect __attribute__((weak));
extern const struct dialect_ops guesty_dialect __attribute__((weak));
extern const struct dialect_ops buildium_dialect __attribute__((weak));
static const struct dialect_ops *const dialects[] = {&hostaway_dialect, &guesty_dialect,
                                                     &buildium_dialect};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pmsim --account DIALECT:PORT [--account ...] [options]\n"
            "  DIALECT is hostaway, guesty or buildium; PORT 0 picks a free port\n"
            "  --seed N              deterministic world and scenario (default 1)\n"
            "  --data DIR            fixtures DIR/<dialect>.json (e.g. data/demo)\n"
            "  --rate R              scenario ticks per second (default 0: only via /_sim/tick)\n"
            "  --webhook-url URL     deliver webhooks here; {dialect} is replaced\n"
            "  --webhook-secret D=S  webhook secret of dialect D (Basic user:pass, whsec_..., "
            "or HMAC key)\n"
            "  --client-id D=ID      accepted client id of dialect D\n"
            "  --client-secret D=S   accepted client secret of dialect D\n"
            "  --time-factor F       multiply webhook retry delays by F (tests: 0.001)\n"
            "  --fault K=V           start with a fault set on every account (see /_sim/faults)\n"
            "  --epoch MS            start the scenario clock here (ms since 1970; default now):\n"
            "                        with a fixed epoch two runs of one seed are identical\n"
            "  --verbose             log every request to stderr\n");
}

static const struct dialect_ops *dialect_named(const char *name, size_t len)
{
    for (size_t i = 0; i < ARRAY_LEN(dialects); i++)
        if (dialects[i] && strlen(dialects[i]->name) == len &&
            strncmp(dialects[i]->name, name, len) == 0)
            return dialects[i];
    return NULL;
}

/* "D=V" options: apply V to every account of dialect D. */
static int per_dialect(const char *arg, size_t field)
{
    const char *eq = strchr(arg, '=');
    if (!eq || !dialect_named(arg, (size_t)(eq - arg))) {
        fprintf(stderr, "pmsim: expected DIALECT=VALUE, got '%s'\n", arg);
        return -1;
    }
    for (int i = 0; i < sim.naccounts; i++) {
        struct sim_account *a = &sim.accounts[i];
        if (strlen(a->ops->name) == (size_t)(eq - arg) &&
            strncmp(a->ops->name, arg, (size_t)(eq - arg)) == 0) {
            char **slot = (char **)((char *)a + field);
            free(*slot);
            *slot = xstrdup(eq + 1);
        }
    }
    return 0;
}

static char *expand(const char *tmpl, const char *dialect)
{
    const char *p = strstr(tmpl, "{dialect}");
    if (!p)
        return xstrdup(tmpl);
    return xasprintf("%.*s%s%s", (int)(p - tmpl), tmpl, dialect, p + strlen("{dialect}"));
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"account", required_argument, NULL, 'a'},
        {"seed", required_argument, NULL, 's'},
        {"data", required_argument, NULL, 'd'},
        {"rate", required_argument, NULL, 'r'},
        {"webhook-url", required_argument, NULL, 'w'},
        {"webhook-secret", required_argument, NULL, 'W'},
        {"client-id", required_argument, NULL, 'i'},
        {"client-secret", required_argument, NULL, 'S'},
        {"time-factor", required_argument, NULL, 't'},
        {"fault", required_argument, NULL, 'f'},
        {"epoch", required_argument, NULL, 'e'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *webhook_url = NULL;
    int64_t epoch = 0; /* scenario clock start, ms; 0 = now */
    char *deferred[64];
    int ndeferred = 0;
    sim.seed = 1;
    sim.accounts = xcalloc(16, sizeof(*sim.accounts));
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'a': {
            const char *colon = strchr(optarg, ':');
            const struct dialect_ops *d =
                colon ? dialect_named(optarg, (size_t)(colon - optarg)) : NULL;
            if (!d || sim.naccounts >= 16) {
                fprintf(stderr,
                        "pmsim: --account wants DIALECT:PORT (hostaway, guesty,"
                        " buildium), got '%s'\n",
                        optarg);
                return 2;
            }
            struct sim_account *a = &sim.accounts[sim.naccounts++];
            a->ops = d;
            a->port = atoi(colon + 1);
            a->name = xstrdup(d->name);
            break;
        }
        case 's':
            sim.seed = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'd':
            sim.data_dir = optarg;
            break;
        case 'r':
            sim.rate = atof(optarg);
            break;
        case 'w':
            webhook_url = optarg;
            break;
        case 't':
            sim.time_factor = atof(optarg);
            break;
        case 'v':
            sim.verbose = 1;
            break;
        case 'e':
            epoch = strtoll(optarg, NULL, 10);
            break;
        case 'W':
        case 'i':
        case 'S':
        case 'f':
            if (ndeferred < 64)
                deferred[ndeferred++] = xasprintf("%c%s", ch, optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (sim.naccounts == 0) {
        usage(stderr);
        return 2;
    }
    for (int i = 0; i < sim.naccounts; i++) {
        struct sim_account *a = &sim.accounts[i];
        a->world = cJSON_CreateObject();
        a->writes = cJSON_CreateArray();
        a->ip_windows = cJSON_CreateObject();
        a->tokens = cJSON_CreateArray();
        a->rand_state = (int64_t)(sim.seed * 2654435761u + (unsigned)i * 40503u + 1u);
        a->clock_ms = epoch ? epoch : sim_now();
        a->token_day_start = sim_now();
        if (webhook_url)
            a->webhook_url = expand(webhook_url, a->ops->name);
        cJSON *fixture = sim_load_fixture(sim.data_dir, a->ops->name);
        a->ops->seed(a, fixture); /* sets credentials, windows and the world */
        if (epoch)                /* an explicit epoch wins over a dialect's default */
            a->clock_ms = epoch;
        cJSON_Delete(fixture);
    }
    for (int i = 0; i < ndeferred; i++) {
        const char *v = deferred[i] + 1;
        int rc = 0;
        switch (deferred[i][0]) {
        case 'W':
            rc = per_dialect(v, offsetof(struct sim_account, webhook_secret));
            break;
        case 'i':
            rc = per_dialect(v, offsetof(struct sim_account, client_id));
            break;
        case 'S':
            rc = per_dialect(v, offsetof(struct sim_account, client_secret));
            break;
        case 'f': {
            const char *eq = strchr(v, '=');
            char *json = eq ? xasprintf("{\"%.*s\": %s}", (int)(eq - v), v, eq + 1) : NULL;
            cJSON *j = json ? cJSON_Parse(json) : NULL;
            for (int k = 0; j && k < sim.naccounts; k++) {
                const char *why;
                if (sim_faults_apply(&sim.accounts[k], j, &why) != 0) {
                    fprintf(stderr, "pmsim: --fault %s: %s\n", v, why);
                    rc = -1;
                    break;
                }
            }
            if (!j) {
                fprintf(stderr, "pmsim: --fault wants KEY=JSON-VALUE, got '%s'\n", v);
                rc = -1;
            }
            cJSON_Delete(j);
            free(json);
            break;
        }
        }
        free(deferred[i]);
        if (rc != 0)
            return 2;
    }

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    sim_webhook_start();
    for (int i = 0; i < sim.naccounts; i++) {
        struct sim_account *a = &sim.accounts[i];
        if (sim_http_start(a) != 0) {
            fprintf(stderr, "pmsim: %s: cannot listen on 127.0.0.1:%d (port in use?)\n",
                    a->ops->name, a->port);
            return 1;
        }
        printf("pmsim: %s listening on 127.0.0.1:%d\n", a->ops->name, a->port);
    }
    printf("pmsim: ready\n");
    fflush(stdout);

    int64_t next_tick = mono_ms();
    while (!stop) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        if (sim.rate <= 0 || mono_ms() < next_tick)
            continue;
        next_tick += (int64_t)(1000.0 / sim.rate);
        pthread_mutex_lock(&sim_lock);
        for (int i = 0; i < sim.naccounts; i++) {
            sim.accounts[i].ops->tick(&sim.accounts[i]);
            sim.accounts[i].ticks++;
        }
        pthread_mutex_unlock(&sim_lock);
    }
    for (int i = 0; i < sim.naccounts; i++)
        sim_http_stop(&sim.accounts[i]);
    sim_webhook_stop();
    for (int i = 0; i < sim.naccounts; i++) {
        struct sim_account *a = &sim.accounts[i];
        cJSON_Delete(a->world);
        cJSON_Delete(a->writes);
        cJSON_Delete(a->ip_windows);
        cJSON_Delete(a->tokens);
        free(a->name);
        free(a->webhook_url);
        free(a->webhook_secret);
        free(a->client_id);
        free(a->client_secret);
        free(a->faults.drift_from);
        free(a->faults.drift_to);
    }
    free(sim.accounts);
    return 0;
}
