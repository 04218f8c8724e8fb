/* webhook.c - pmsim's outbound webhooks: a queue and one sender thread (libcurl).
 *
 * Each dialect has the real timeout and retry schedule (below), multiplied by --time-factor
 * so tests can run a whole retry ladder in milliseconds. Faults: webhook_drop never sends,
 * webhook_dup sends twice (same event id), webhook_reorder holds each event a random
 * 0..500 ms so deliveries overtake each other. Every attempt is recorded in the account's
 * "_deliveries" collection (GET /_sim/state?collection=_deliveries).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pmsim.h"
#include "util.h"

struct hook {
    struct hook *next;
    struct sim_account *a;
    char *event; /* owned */
    char *body;  /* owned */
    char id[32]; /* event id, the same on every retry and duplicate (see sim_webhook_id) */
    int64_t due;
    int attempt;
};

struct schedule {
    const char *dialect;
    int timeout_s;
    int retries;
    int delays_s[8];
    int retry_4xx; /* retry any non-2xx, not only transient ones */
};

/* Hostaway: <=3 retries in ~1 h, transient only, 20 s ack. Guesty: Svix defaults, 15 s.
 * Buildium: 1 min, 10 min, 1 h; 10 s ack. */
static const struct schedule schedules[] = {
    {"hostaway", 20, 3, {60, 600, 3000}, 0},
    {"guesty", 15, 7, {5, 300, 1800, 7200, 18000, 36000, 36000}, 1},
    {"buildium", 10, 3, {60, 600, 3600}, 1},
};

static struct hook *queue;
static pthread_t sender;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int stopping, started;
static const char *signing_id; /* the hook being signed (sender thread, sim_lock held) */
static uint64_t hook_seq;

const char *sim_webhook_id(void)
{
    return signing_id ? signing_id : "";
}

/* "msg_" and 27 base62 characters, like a Svix message id (KSUID). */
static void new_hook_id(char out[32])
{
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint64_t x = (uint64_t)sim_now() * 0x9E3779B97F4A7C15ULL ^ ++hook_seq;
    memcpy(out, "msg_", 4);
    for (int i = 0; i < 27; i++) {
        x += 0x9E3779B97F4A7C15ULL; /* splitmix64 */
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        out[4 + i] = b62[(z ^ (z >> 31)) % 62];
    }
    out[31] = '\0';
}

static const struct schedule *schedule_of(const struct sim_account *a)
{
    for (size_t i = 0; i < ARRAY_LEN(schedules); i++)
        if (strcmp(schedules[i].dialect, a->ops->name) == 0)
            return &schedules[i];
    return &schedules[0];
}

static void push(struct hook *h)
{
    struct hook **p = &queue;
    while (*p && (*p)->due <= h->due)
        p = &(*p)->next;
    h->next = *p;
    *p = h;
    pthread_cond_signal(&wake);
}

/* Called with sim_lock held. */
void sim_webhook(struct sim_account *a, const char *event, cJSON *payload)
{
    if (!a->webhook_url) {
        cJSON_Delete(payload);
        return;
    }
    if (a->faults.drift_from) { /* drift applies to webhooks too */
        struct sim_resp tmp = {0};
        resp_json(a, &tmp, 200, payload);
        payload = cJSON_Parse(tmp.body);
        free(tmp.body);
        for (int i = 0; i < tmp.nheaders; i++) {
            free(tmp.hname[i]);
            free(tmp.hvalue[i]);
        }
    }
    char *body = cJSON_PrintUnformatted(payload);
    cJSON_Delete(payload);
    if (sim_chance(a, a->faults.webhook_drop)) {
        free(body);
        return;
    }
    int copies = sim_chance(a, a->faults.webhook_dup) ? 2 : 1;
    char id[32];
    new_hook_id(id);
    for (int i = 0; i < copies; i++) {
        struct hook *h = xcalloc(1, sizeof(*h));
        memcpy(h->id, id, sizeof(id));
        h->a = a;
        h->event = xstrdup(event);
        h->body = xstrdup(body);
        h->due = sim_now() + (a->faults.webhook_reorder ? (int64_t)(sim_rand(a) % 500) : 0) + i;
        push(h);
    }
    free(body);
}

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* Send one attempt (without sim_lock held); returns the HTTP status or 0 on network error. */
static long deliver(struct hook *h, char **hname, char **hvalue, int nh, const char *url,
                    int timeout_s)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    for (int i = 0; i < nh; i++) {
        char *line = xasprintf("%s: %s", hname[i], hvalue[i]);
        hdrs = curl_slist_append(hdrs, line);
        free(line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, h->body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return status;
}

static void record(struct hook *h, long status)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "event", h->event);
    cJSON_AddNumberToObject(d, "attempt", h->attempt + 1);
    cJSON_AddNumberToObject(d, "status", (double)status);
    cJSON_AddNumberToObject(d, "at", (double)sim_now());
    cJSON_AddItemToArray(world_coll(h->a, "_deliveries"), d);
}

static void *sender_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&sim_lock);
    while (!stopping) {
        int64_t now = sim_now();
        if (!queue || queue->due > now) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t wait = queue ? queue->due - now : 1000;
            if (wait > 1000)
                wait = 1000;
            int64_t ns = ts.tv_nsec + wait * 1000000;
            ts.tv_sec += ns / 1000000000;
            ts.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&wake, &sim_lock, &ts);
            continue;
        }
        struct hook *h = queue;
        queue = h->next;
        struct sim_account *a = h->a;
        char *hname[8], *hvalue[8];
        int nh = 0;
        signing_id = h->id;
        a->ops->sign(a, h->body, hname, hvalue, &nh, 8);
        signing_id = NULL;
        char *url = xstrdup(a->webhook_url);
        const struct schedule *sc = schedule_of(a);
        pthread_mutex_unlock(&sim_lock);
        long status = deliver(h, hname, hvalue, nh, url, sc->timeout_s);
        free(url);
        for (int i = 0; i < nh; i++) {
            free(hname[i]);
            free(hvalue[i]);
        }
        pthread_mutex_lock(&sim_lock);
        record(h, status);
        int transient = status == 0 || status == 429 || status >= 500;
        int ok = status >= 200 && status < 300;
        if (!ok && h->attempt < sc->retries && (transient || sc->retry_4xx)) {
            double delay = sc->delays_s[h->attempt] * 1000.0 * sim.time_factor;
            h->attempt++;
            h->due = sim_now() + (int64_t)delay;
            push(h);
        } else {
            free(h->event);
            free(h->body);
            free(h);
        }
    }
    pthread_mutex_unlock(&sim_lock);
    return NULL;
}

void sim_webhook_start(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    stopping = 0;
    started = pthread_create(&sender, NULL, sender_main, NULL) == 0;
}

void sim_webhook_stop(void)
{
    if (!started)
        return;
    pthread_mutex_lock(&sim_lock);
    stopping = 1;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&sim_lock);
    pthread_join(sender, NULL);
    while (queue) {
        struct hook *h = queue;
        queue = h->next;
        free(h->event);
        free(h->body);
        free(h);
    }
    started = 0;
}
