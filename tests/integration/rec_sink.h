/* rec_sink.h - test support for the adapter tests: a recording struct sink that keeps every
 * record an adapter puts (with a few mapped fields), can refuse a record whose parent it has
 * not seen (strict, like the store's STORE_ENOPARENT), and checks for duplicates in one
 * pull. Header-only with static functions: each adapter test includes it once, after
 * <cmocka.h>, adapter.h and store.h. Test code, not part of porter. */
#ifndef REC_SINK_H
#define REC_SINK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXPUT 4096

/* ---- recording sink ---- */

struct put_ev {
    enum entity ent;
    char id[48];
    int refused; /* answered STORE_ENOPARENT */
    /* a few mapped fields, by entity */
    char *body; /* owned */
    char thread[32], author[128], stay[48], unit[48], vendor[48], trade[32], rstatus[32],
        channel[16], contact[48];
    int dir, ch, status, prio, status_unknown;
    int64_t sent_at;
};

struct drift_ev {
    enum entity ent;
    char id[48], field[64];
    int kept; /* the record was written anyway (why starts with DRIFT_KEPT) */
};

struct tsink {
    struct sink s;
    int strict;
    struct put_ev *ev; /* every put, in order */
    int nev;
    char (*known)[48]; /* "<entity>:<id>" of every accepted put (and seeded ones) */
    int nknown;
    struct drift_ev drift[256];
    int ndrift;
};

static void cp(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s ? s : "");
}

static int known(const struct tsink *t, enum entity ent, const char *id)
{
    char k[64];
    snprintf(k, sizeof(k), "%d:%.40s", (int)ent, id);
    for (int i = 0; i < t->nknown; i++)
        if (strcmp(t->known[i], k) == 0)
            return 1;
    return 0;
}

static void learn(struct tsink *t, enum entity ent, const char *id)
{
    if (known(t, ent, id) || t->nknown >= MAXPUT)
        return;
    snprintf(t->known[t->nknown++], 48, "%d:%.40s", (int)ent, id);
}

/* NULL parent refs are fine; a set one must be known. */
static int parent_ok(const struct tsink *t, enum entity ent, const char *id)
{
    return !id || known(t, ent, id);
}

static int ts_put(struct sink *s, enum entity ent, const void *rec, struct err *e)
{
    struct tsink *t = s->ctx;
    assert_true(t->nev < MAXPUT);
    struct put_ev *v = &t->ev[t->nev++];
    memset(v, 0, sizeof(*v));
    v->ent = ent;
    int ok = 1;
    switch (ent) {
    case ENT_PROPERTY: {
        const struct rec_property *r = rec;
        cp(v->id, sizeof(v->id), r->remote_id);
        break;
    }
    case ENT_UNIT: {
        const struct rec_unit *r = rec;
        cp(v->id, sizeof(v->id), r->remote_id);
        ok = parent_ok(t, ENT_PROPERTY, r->property_remote_id);
        break;
    }
    case ENT_CONTACT: {
        const struct rec_contact *r = rec;
        cp(v->id, sizeof(v->id), r->remote_id);
        break;
    }
    case ENT_STAY: {
        const struct rec_stay *r = rec;
        cp(v->id, sizeof(v->id), r->remote_id);
        cp(v->unit, sizeof(v->unit), r->unit_remote_id);
        cp(v->contact, sizeof(v->contact), r->contact_remote_id);
        cp(v->channel, sizeof(v->channel), r->channel);
        cp(v->rstatus, sizeof(v->rstatus), r->remote_status);
        ok = parent_ok(t, ENT_UNIT, r->unit_remote_id) &&
             parent_ok(t, ENT_PROPERTY, r->property_remote_id) &&
             parent_ok(t, ENT_CONTACT, r->contact_remote_id);
        break;
    }
    case ENT_THREAD: {
        const struct rec_thread *r = rec;
        cp(v->id, sizeof(v->id), r->remote_id);
        cp(v->stay, sizeof(v->stay), r->stay_remote_id);
        cp(v->unit, sizeof(v->unit), r->unit_remote_id);
        v->ch = (int)r->channel;
        ok = parent_ok(t, ENT_STAY, r->stay_remote_id) &&
             parent_ok(t, ENT_UNIT, r->unit_remote_id) &&
             parent_ok(t, ENT_CONTACT, r->contact_remote_id);
        break;
    }
    case ENT_MESSAGE: {
        const struct rec_message *r = rec;
        cp(v->id, sizeof(v->id), r->remote_id);
        cp(v->thread, sizeof(v->thread), r->thread_remote_id);
        v->body = xstrdup(r->body ? r->body : "");
        cp(v->author, sizeof(v->author), r->author);
        v->dir = (int)r->direction;
        v->ch = (int)r->channel;
        v->sent_at = r->sent_at;
        assert_non_null(r->thread_remote_id);
        ok = known(t, ENT_THREAD, r->thread_remote_id);
        break;
    }
    case ENT_VENDOR: {
        const struct rec_vendor *r = rec;
        cp(v->id, sizeof(v->id), r->remote_id);
        break;
    }
    case ENT_WORK_ORDER: {
        const struct rec_work_order *r = rec;
        cp(v->id, sizeof(v->id), r->remote_id);
        cp(v->vendor, sizeof(v->vendor), r->vendor_remote_id);
        cp(v->trade, sizeof(v->trade), r->trade);
        cp(v->rstatus, sizeof(v->rstatus), r->remote_status);
        cp(v->stay, sizeof(v->stay), r->stay_remote_id);
        cp(v->unit, sizeof(v->unit), r->unit_remote_id);
        v->status = (int)r->status;
        v->status_unknown = r->status_unknown;
        v->prio = (int)r->priority;
        assert_non_null(r->title);
        ok = parent_ok(t, ENT_VENDOR, r->vendor_remote_id) &&
             parent_ok(t, ENT_STAY, r->stay_remote_id) && parent_ok(t, ENT_UNIT, r->unit_remote_id);
        break;
    }
    default:
        fail_msg("put of entity %d", (int)ent);
    }
    assert_true(v->id[0] != '\0');
    if (t->strict && !ok) {
        v->refused = 1;
        return err_set(e, STORE_ENOPARENT, RETRY_LATER, "parent of %s %s not stored",
                       entity_name(ent), v->id);
    }
    learn(t, ent, v->id);
    return 0;
}

static void ts_drift(struct sink *s, enum entity ent, const char *remote_id, const char *field,
                     const char *why)
{
    struct tsink *t = s->ctx;
    assert_non_null(field);
    assert_non_null(why);
    if (t->ndrift < (int)ARRAY_LEN(t->drift)) {
        struct drift_ev *d = &t->drift[t->ndrift];
        d->ent = ent;
        cp(d->id, sizeof(d->id), remote_id);
        cp(d->field, sizeof(d->field), field);
        d->kept = strncmp(why, DRIFT_KEPT, strlen(DRIFT_KEPT)) == 0;
    }
    t->ndrift++;
}

static struct tsink *ts_new(int strict)
{
    struct tsink *t = xcalloc(1, sizeof(*t));
    t->s.ctx = t;
    t->s.put = ts_put;
    t->s.drift = ts_drift;
    t->strict = strict;
    t->ev = xcalloc(MAXPUT, sizeof(*t->ev));
    t->known = xcalloc(MAXPUT, sizeof(*t->known));
    return t;
}

static void ts_reset(struct tsink *t)
{
    for (int i = 0; i < t->nev; i++)
        free(t->ev[i].body);
    t->nev = 0;
    t->ndrift = 0;
}

static void ts_free(struct tsink **tp)
{
    if (!*tp)
        return;
    ts_reset(*tp);
    free((*tp)->ev);
    free((*tp)->known);
    free(*tp);
    *tp = NULL;
}

/* Accepted puts of `ent`. */
static int ts_count(const struct tsink *t, enum entity ent)
{
    int n = 0;
    for (int i = 0; i < t->nev; i++)
        n += t->ev[i].ent == ent && !t->ev[i].refused;
    return n;
}

static const struct put_ev *ts_find(const struct tsink *t, enum entity ent, const char *id)
{
    for (int i = t->nev - 1; i >= 0; i--)
        if (t->ev[i].ent == ent && !t->ev[i].refused && strcmp(t->ev[i].id, id) == 0)
            return &t->ev[i];
    return NULL;
}

/* ts_find that fails the test when the record is absent. */
static const struct put_ev *must_find(const struct tsink *t, enum entity ent, const char *id)
{
    const struct put_ev *p = ts_find(t, ent, id);
    if (!p) {
        fail_msg("no %s %s was put", entity_name(ent), id);
        abort();
    }
    return p;
}

static void assert_no_dups(const struct tsink *t, enum entity ent)
{
    for (int i = 0; i < t->nev; i++) {
        if (t->ev[i].ent != ent || t->ev[i].refused)
            continue;
        for (int j = i + 1; j < t->nev; j++)
            if (t->ev[j].ent == ent && !t->ev[j].refused && strcmp(t->ev[i].id, t->ev[j].id) == 0)
                fail_msg("%s %s put twice in one pull", entity_name(ent), t->ev[i].id);
    }
}

#endif
