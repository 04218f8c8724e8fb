/* world.c - pmsim's shared helpers: deterministic randomness, collections, ids, times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pmsim.h"
#include "util.h"

uint32_t sim_rand(struct sim_account *a)
{
    /* xorshift64*: deterministic per account for a given --seed */
    uint64_t x = (uint64_t)a->rand_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    a->rand_state = (int64_t)x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

double sim_rand01(struct sim_account *a)
{
    return (double)sim_rand(a) / 4294967296.0;
}

int sim_chance(struct sim_account *a, double p)
{
    return p > 0 && sim_rand01(a) < p;
}

const char *sim_pick(struct sim_account *a, const char *const *v, int n)
{
    return v[sim_rand(a) % (unsigned)n];
}

cJSON *world_coll(struct sim_account *a, const char *name)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(a->world, name);
    if (!c) {
        c = cJSON_CreateArray();
        cJSON_AddItemToObject(a->world, name, c);
    }
    return c;
}

cJSON *world_find(struct sim_account *a, const char *coll, const char *field, const char *value)
{
    cJSON *r;
    cJSON_ArrayForEach(r, world_coll(a, coll))
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(r, field);
        if (cJSON_IsString(f) && strcmp(f->valuestring, value) == 0)
            return r;
        if (cJSON_IsNumber(f)) {
            char num[32];
            snprintf(num, sizeof(num), "%.0f", f->valuedouble);
            if (strcmp(num, value) == 0)
                return r;
        }
    }
    return NULL;
}

int64_t sim_new_id(struct sim_account *a)
{
    return ++a->next_id;
}

void sim_hex_id(struct sim_account *a, char out[25])
{
    /* Mongo-like: 8 hex of time, then 16 of counter + randomness */
    snprintf(out, 25, "%08x%08x%08x", (unsigned)(a->clock_ms / 1000), sim_rand(a),
             (unsigned)sim_new_id(a));
}

int64_t sim_now(void)
{
    return now_ms();
}

void fmt_hostaway_time(int64_t ms, char out[20])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}

void fmt_iso_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char base[24];
    gmtime_r(&t, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
}

void fmt_date(int64_t ms, char out[11])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

int paging_int(const struct sim_req *rq, const char *name, int def, int min, int max)
{
    const char *v = sim_query(rq, name);
    if (!v || !*v)
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < min)
        return -1; /* the caller answers 400 */
    return n > max ? max : (int)n;
}

int str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void json_set(cJSON *o, const char *key, cJSON *v)
{
    if (cJSON_GetObjectItemCaseSensitive(o, key))
        cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
    else
        cJSON_AddItemToObject(o, key, v);
}

void json_set_str(cJSON *o, const char *key, const char *s)
{
    json_set(o, key, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

void json_set_num(cJSON *o, const char *key, double d)
{
    json_set(o, key, cJSON_CreateNumber(d));
}

static void take(char **slot, const cJSON *cred, const char *key, const char *def)
{
    const char *v = json_str(cred, key);
    free(*slot);
    *slot = xstrdup(v ? v : def);
}

void sim_credentials(struct sim_account *a, const cJSON *cred, const char *client_id,
                     const char *client_secret, const char *webhook_secret)
{
    take(&a->client_id, cred, "client_id", client_id);
    take(&a->client_secret, cred, "client_secret", client_secret);
    take(&a->webhook_secret, cred, "webhook_secret", webhook_secret);
}

cJSON *sim_load_fixture(const char *dir, const char *dialect)
{
    if (!dir)
        return NULL;
    char *path = xasprintf("%s/%s.json", dir, dialect);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f)
        return NULL;
    struct buf b;
    buf_init(&b);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    cJSON *j = cJSON_Parse(b.data ? b.data : "");
    buf_free(&b);
    return j;
}
