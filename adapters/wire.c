/* wire.c - see wire.h. */
#include "wire.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

const cJSON *jget(const cJSON *o, const char *k)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = jget(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

cJSON *jparse_body(const char *p, size_t n)
{
    if (!p || memchr(p, '\0', n))
        return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(p, n, &end, 0);
    if (!j)
        return NULL;
    for (; end && end < p + n; end++) {
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            cJSON_Delete(j);
            return NULL;
        }
    }
    return j;
}

int64_t jid(const cJSON *o, const char *k)
{
    const cJSON *v = jget(o, k);
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 9e15 ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return 0;
    return (int64_t)v->valuedouble;
}

void vinit(struct vctx *v, const char *who, struct sink *out, enum entity ent)
{
    v->who = who;
    v->out = out;
    v->ent = ent;
    snprintf(v->rid, sizeof(v->rid), "?");
    v->bad = 0;
}

static void report(struct vctx *v, const char *field, const char *why)
{
    log_warn(v->who, "schema drift: %s %s: %s %s", entity_name(v->ent), v->rid, field, why);
    if (v->out && v->out->drift)
        v->out->drift(v->out, v->ent, v->rid, field, why);
}

void vdrift(struct vctx *v, const char *field, const char *why)
{
    if (!v->bad++)
        report(v, field, why);
}

void vdrift_kept(struct vctx *v, const char *field, const char *value, const char *as)
{
    char why[160];
    snprintf(why, sizeof(why), DRIFT_KEPT "unknown value '%.60s', read as %s", value, as);
    report(v, field, why);
}

int64_t v_key(struct vctx *v, const cJSON *o, const char *field)
{
    const cJSON *j = jget(o, field);
    int64_t id = jid(o, field);
    if (!id) {
        vdrift(v, field, !j || cJSON_IsNull(j) ? "missing" : "not an integer id");
        return 0;
    }
    snprintf(v->rid, sizeof(v->rid), "%lld", (long long)id);
    return id;
}

const char *v_skey(struct vctx *v, const cJSON *o, const char *k1, const char *k2)
{
    const char *id = jstr(o, k1);
    if (!id && k2)
        id = jstr(o, k2);
    if (!id || !*id) {
        vdrift(v, k1, jget(o, k1) ? "not a string id" : "missing");
        return NULL;
    }
    snprintf(v->rid, sizeof(v->rid), "%s", id);
    return id;
}

int64_t v_id(struct vctx *v, const cJSON *o, const char *field, int required)
{
    const cJSON *j = jget(o, field);
    if (!j || cJSON_IsNull(j)) {
        if (required)
            vdrift(v, field, "missing");
        return 0;
    }
    int64_t id = jid(o, field);
    if (!id)
        vdrift(v, field, "not an integer id");
    return id;
}

const char *v_str(struct vctx *v, const cJSON *o, const char *field, int required)
{
    const cJSON *j = jget(o, field);
    if (!j || cJSON_IsNull(j)) {
        if (required)
            vdrift(v, field, "missing");
        return NULL;
    }
    if (!cJSON_IsString(j)) {
        vdrift(v, field, "not a string");
        return NULL;
    }
    return j->valuestring;
}

int64_t v_time(struct vctx *v, const cJSON *o, const char *field, int required,
               int64_t (*parse)(const char *s), const char *what)
{
    const char *s = v_str(v, o, field, required);
    if (!s || !*s)
        return 0;
    int64_t t = parse(s);
    if (t < 0) {
        vdrift(v, field, what);
        return 0;
    }
    return t;
}
