/* ownership.c - see ownership.h */
#include "ownership.h"

#include <stdio.h>
#include <string.h>

extern const char porter_ownership_conf[];

int ownership_parse(const char *value, char owner[8], char rule[12], const char **why)
{
    char o[16] = "", r[16] = "";
    int n = sscanf(value, "%15s %15s", o, r);
    if (n < 1 || (strcmp(o, "pms") != 0 && strcmp(o, "local") != 0 && strcmp(o, "shared") != 0)) {
        *why = "expected an owner: pms, local or shared";
        return -1;
    }
    if (n == 2 && strcmp(r, "pms_wins") != 0 && strcmp(r, "local_wins") != 0) {
        *why = "expected a rule after the owner: pms_wins or local_wins";
        return -1;
    }
    if (n == 2 && strcmp(o, "shared") != 0) {
        *why = "only shared fields take a rule";
        return -1;
    }
    snprintf(owner, 8, "%.7s", o);
    snprintf(rule, 12, "%.11s", n == 2 ? r : "pms_wins");
    return 0;
}

/* "entity.field" into its two parts. */
static int split_key(const char *key, char entity[32], char field[32])
{
    const char *dot = strchr(key, '.');
    if (!dot || dot == key || !dot[1] || (size_t)(dot - key) >= 32 || strlen(dot + 1) >= 32)
        return -1;
    snprintf(entity, 32, "%.*s", (int)(dot - key), key);
    snprintf(field, 32, "%s", dot + 1);
    return 0;
}

static int set_line(struct store *s, const char *key, const char *value, const char *where,
                    int line, struct err *e)
{
    char entity[32], field[32], owner[8], rule[12];
    const char *why = NULL;
    if (split_key(key, entity, field) != 0)
        return err_set(e, 0, FINAL, "%s:%d: expected entity.field, got '%.60s'", where, line, key);
    if (ownership_parse(value, owner, rule, &why) != 0)
        return err_set(e, 0, FINAL, "%s:%d: %s: %s", where, line, key, why);
    return store_field_owner_set(s, entity, field, owner, rule, e);
}

int ownership_load(struct store *s, const struct config *c, struct err *e)
{
    if (store_begin(s, e) != 0)
        return -1;
    int rc = 0, line = 0;
    const char *p = porter_ownership_conf;
    while (rc == 0 && *p) { /* the built-in defaults: "key = value" lines */
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char buf[256];
        line++;
        snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1), p);
        p += len + (end ? 1 : 0);
        char *eq = strchr(buf, '=');
        if (buf[0] == ';' || buf[0] == '[' || !eq)
            continue;
        char *k = buf, *v = eq + 1;
        *eq = '\0';
        while (*k == ' ')
            k++;
        for (char *t = eq - 1; t >= k && *t == ' '; t--)
            *t = '\0';
        while (*v == ' ')
            v++;
        rc = set_line(s, k, v, "data/ownership.conf", line, e);
    }
    for (size_t i = 0; rc == 0 && c && i < c->nentries; i++)
        if (strcmp(c->entries[i].section, "ownership") == 0)
            rc = set_line(s, c->entries[i].key, c->entries[i].value, c->porter_path,
                          c->entries[i].line, e);
    if (rc != 0) {
        store_rollback(s);
        return -1;
    }
    return store_commit(s, e);
}
