/* apply.c - see apply.h */
#include "apply.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int put_store(struct sink *sk, enum entity ent, const void *rec, struct err *e)
{
    struct apply_ctx *c = sk->ctx;
    struct store *s = c->store;
    int rc;
    switch (ent) {
    case ENT_PROPERTY:
        rc = store_property_upsert(s, c->account, rec, NULL, e);
        break;
    case ENT_UNIT:
        rc = store_unit_upsert(s, c->account, rec, NULL, e);
        break;
    case ENT_CONTACT:
        rc = store_contact_upsert(s, c->account, rec, NULL, e);
        break;
    case ENT_STAY:
        rc = store_stay_upsert(s, c->account, rec, NULL, e);
        break;
    case ENT_THREAD:
        rc = store_thread_upsert(s, c->account, rec, NULL, e);
        break;
    case ENT_MESSAGE:
        rc = store_message_upsert(s, c->account, rec, NULL, e);
        break;
    case ENT_VENDOR:
        rc = store_vendor_upsert(s, c->account, rec, NULL, e);
        break;
    case ENT_WORK_ORDER:
        rc = store_work_order_upsert(s, c->account, rec, NULL, e);
        break;
    default:
        return err_set(e, STORE_EINVAL, FINAL, "unknown entity %d", ent);
    }
    if (rc == STORE_WRITTEN)
        c->written++;
    else if (rc == STORE_STALE)
        c->stale++;
    return rc < 0 ? -1 : 0;
}

static void drift(struct sink *sk, enum entity ent, const char *remote_id, const char *field,
                  const char *why)
{
    struct apply_ctx *c = sk->ctx;
    char subject[160], msg[400];
    snprintf(subject, sizeof(subject), "%s/%s.%s", c->adapter, entity_name(ent), field);
    size_t kept = strlen(DRIFT_KEPT);
    int is_kept = strncmp(why, DRIFT_KEPT, kept) == 0;
    snprintf(msg, sizeof(msg), "%s %s %s %s: field '%s' %s", c->adapter, entity_name(ent),
             remote_id ? remote_id : "(no id)", is_kept ? "kept" : "skipped", field,
             is_kept ? why + kept : why);
    c->drifted += !is_kept; /* a kept record is counted with the others */
    struct err e;
    if (store_alert(c->store, c->account, "schema_drift", subject, msg, &e) != 0)
        log_error("apply", "cannot record drift alert: %s", e.msg);
}

void apply_store_sink(struct sink *sk, struct apply_ctx *ctx)
{
    sk->ctx = ctx;
    sk->put = put_store;
    sk->drift = drift;
}

/* ---- the buffer sink: records deep-copied by a table of their string fields ---- */

#define MAX_STR_FIELDS 12

struct rec_layout {
    size_t size;
    size_t nstr;
    size_t str[MAX_STR_FIELDS]; /* offsets of const char * fields */
};

#define F(type, field) offsetof(struct type, field)
static const struct rec_layout layouts[ENTITY_COUNT] = {
    [ENT_PROPERTY] = {sizeof(struct rec_property),
                      4,
                      {F(rec_property, remote_id), F(rec_property, name), F(rec_property, address),
                       F(rec_property, timezone)}},
    [ENT_UNIT] = {sizeof(struct rec_unit),
                  3,
                  {F(rec_unit, remote_id), F(rec_unit, property_remote_id), F(rec_unit, name)}},
    [ENT_CONTACT] = {sizeof(struct rec_contact),
                     4,
                     {F(rec_contact, remote_id), F(rec_contact, name), F(rec_contact, email),
                      F(rec_contact, phone)}},
    [ENT_STAY] = {sizeof(struct rec_stay),
                  11,
                  {F(rec_stay, remote_id), F(rec_stay, property_remote_id),
                   F(rec_stay, unit_remote_id), F(rec_stay, contact_remote_id), F(rec_stay, status),
                   F(rec_stay, remote_status), F(rec_stay, channel), F(rec_stay, arrival),
                   F(rec_stay, departure), F(rec_stay, confirmation_code), F(rec_stay, door_code)}},
    [ENT_THREAD] = {sizeof(struct rec_thread),
                    6,
                    {F(rec_thread, remote_id), F(rec_thread, subject),
                     F(rec_thread, contact_remote_id), F(rec_thread, stay_remote_id),
                     F(rec_thread, property_remote_id), F(rec_thread, unit_remote_id)}},
    [ENT_MESSAGE] = {sizeof(struct rec_message),
                     5,
                     {F(rec_message, remote_id), F(rec_message, thread_remote_id),
                      F(rec_message, author), F(rec_message, body), F(rec_message, idem_key)}},
    [ENT_VENDOR] = {sizeof(struct rec_vendor),
                    6,
                    {F(rec_vendor, remote_id), F(rec_vendor, name), F(rec_vendor, trade),
                     F(rec_vendor, phone), F(rec_vendor, email), F(rec_vendor, insurance_expires)}},
    [ENT_WORK_ORDER] = {sizeof(struct rec_work_order),
                        11,
                        {F(rec_work_order, remote_id), F(rec_work_order, title),
                         F(rec_work_order, description), F(rec_work_order, remote_status),
                         F(rec_work_order, trade), F(rec_work_order, property_remote_id),
                         F(rec_work_order, unit_remote_id), F(rec_work_order, stay_remote_id),
                         F(rec_work_order, thread_remote_id), F(rec_work_order, vendor_remote_id),
                         F(rec_work_order, due_date)}},
};
#undef F

struct rec_item {
    enum entity ent;
    void *rec; /* owned copy; its strings are owned too */
};

struct rec_buffer {
    struct rec_item *items;
    size_t n, cap;
    struct apply_ctx *ctx;
};

static const char **str_at(void *rec, size_t off)
{
    return (const char **)(void *)((char *)rec + off);
}

static int put_buffer(struct sink *sk, enum entity ent, const void *rec, struct err *e)
{
    struct rec_buffer **bp = sk->ctx;
    struct rec_buffer *b = *bp;
    if ((unsigned)ent >= ENTITY_COUNT)
        return err_set(e, STORE_EINVAL, FINAL, "unknown entity %d", ent);
    const struct rec_layout *l = &layouts[ent];
    void *copy = xmalloc(l->size);
    memcpy(copy, rec, l->size);
    for (size_t i = 0; i < l->nstr; i++) {
        const char **f = str_at(copy, l->str[i]);
        *f = xstrdup(*f);
    }
    if (ent == ENT_VENDOR) { /* the preferred-property list is an array of strings */
        struct rec_vendor *v = copy;
        const char *const *src = v->preferred_property_remote_ids;
        if (src) {
            size_t n = 0;
            while (src[n])
                n++;
            const char **dst = xcalloc(n + 1, sizeof(*dst));
            for (size_t i = 0; i < n; i++)
                dst[i] = xstrdup(src[i]);
            v->preferred_property_remote_ids = dst;
        }
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->items = xrealloc(b->items, b->cap * sizeof(*b->items));
    }
    b->items[b->n].ent = ent;
    b->items[b->n].rec = copy;
    b->n++;
    return 0;
}

static void drift_buffered(struct sink *sk, enum entity ent, const char *remote_id,
                           const char *field, const char *why)
{
    struct rec_buffer **bp = sk->ctx;
    struct sink real;
    apply_store_sink(&real, (*bp)->ctx);
    drift(&real, ent, remote_id, field, why);
}

void apply_buffer_sink(struct sink *sk, struct rec_buffer **buf, struct apply_ctx *ctx)
{
    if (!*buf)
        *buf = xcalloc(1, sizeof(**buf));
    (*buf)->ctx = ctx;
    sk->ctx = buf;
    sk->put = put_buffer;
    sk->drift = drift_buffered;
}

size_t apply_buffer_count(const struct rec_buffer *buf)
{
    return buf ? buf->n : 0;
}

size_t apply_buffer_count_of(const struct rec_buffer *buf, enum entity ent)
{
    size_t n = 0;
    for (size_t i = 0; buf && i < buf->n; i++)
        n += buf->items[i].ent == ent;
    return n;
}

int apply_buffer_commit(struct rec_buffer *buf, struct apply_ctx *ctx, struct err *e)
{
    struct sink sk;
    apply_store_sink(&sk, ctx);
    for (size_t i = 0; buf && i < buf->n; i++) {
        if (put_store(&sk, buf->items[i].ent, buf->items[i].rec, e) == 0)
            continue;
        if (e->code != STORE_ENOPARENT && e->code != STORE_EINVAL)
            return -1; /* the database failed: the caller rolls the page back */
        ctx->orphans++;
        log_warn("apply", "%s %s: %s", ctx->adapter, entity_name(buf->items[i].ent), e->msg);
    }
    err_clear(e);
    return 0;
}

void apply_buffer_free(struct rec_buffer **bp)
{
    struct rec_buffer *b = bp ? *bp : NULL;
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        const struct rec_layout *l = &layouts[b->items[i].ent];
        for (size_t k = 0; k < l->nstr; k++)
            free((void *)(uintptr_t)*str_at(b->items[i].rec, l->str[k]));
        if (b->items[i].ent == ENT_VENDOR) {
            struct rec_vendor *v = b->items[i].rec;
            const char *const *p = v->preferred_property_remote_ids;
            for (size_t k = 0; p && p[k]; k++)
                free((void *)(uintptr_t)p[k]);
            free((void *)(uintptr_t)p);
        }
        free(b->items[i].rec);
    }
    free(b->items);
    free(b);
    *bp = NULL;
}
