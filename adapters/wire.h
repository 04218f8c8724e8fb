/* wire.h - reading a PMS's JSON safely, shared by the adapters.
 *
 * j*: lookups that never fail (a missing key, a wrong type or a non-object give NULL/0).
 * v*: the same with validation: a required field that is missing or of the wrong type is
 * reported once per record as schema drift (through the sink, and in the log under the
 * adapter's name), and the record is then skipped by its caller (v->bad). */
#ifndef PORTER_WIRE_H
#define PORTER_WIRE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "adapter.h"

const cJSON *jget(const cJSON *o, const char *k);
const char *jstr(const cJSON *o, const char *k);
/* A webhook body as JSON: NULL unless the n bytes are exactly one JSON value, with only
 * whitespace after it and no NUL byte anywhere (JSON text cannot hold a raw NUL; what
 * followed one would be signed but never stored). */
cJSON *jparse_body(const char *p, size_t n);
/* An integral JSON number >= 1, else 0. */
int64_t jid(const cJSON *o, const char *k);

struct vctx {
    const char *who; /* the adapter, for the log */
    struct sink *out;
    enum entity ent;
    char rid[48]; /* the record's id once known, for messages */
    int bad;      /* drift seen: the caller skips the record */
};

void vinit(struct vctx *v, const char *who, struct sink *out, enum entity ent);
void vdrift(struct vctx *v, const char *field, const char *why);
/* An enumeration value outside the documented set, on a field with a safe reading: the
 * record is kept (v->bad untouched) with the field read `as`; the alert says so. */
void vdrift_kept(struct vctx *v, const char *field, const char *value, const char *as);
/* The record's integer id (required); sets v->rid. */
int64_t v_key(struct vctx *v, const cJSON *o, const char *field);
/* The record's string id: the first of k1/k2 present (k2 may be NULL); sets v->rid. */
const char *v_skey(struct vctx *v, const cJSON *o, const char *k1, const char *k2);
/* An integer id field: 0 when absent or null (drift when required or not an integer). */
int64_t v_id(struct vctx *v, const cJSON *o, const char *field, int required);
const char *v_str(struct vctx *v, const cJSON *o, const char *field, int required);
/* A time field read by the dialect's `parse` (ms, or < 0 when unparsable): 0 when absent,
 * null or empty; drift `what` when unparsable. */
int64_t v_time(struct vctx *v, const cJSON *o, const char *field, int required,
               int64_t (*parse)(const char *s), const char *what);

#endif
