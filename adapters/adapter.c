/* adapter.c - the adapter registry and instance lifecycle. */
#include "adapter.h"

#include <stdlib.h>
#include <string.h>

#define ENTITY_NAME(id, name) name,
static const char *const entity_names[] = {ENTITY_LIST(ENTITY_NAME)};
#undef ENTITY_NAME

const char *entity_name(enum entity e)
{
    return (unsigned)e < ARRAY_LEN(entity_names) ? entity_names[e] : "?";
}

int entity_parse(const char *s)
{
    for (size_t i = 0; s && i < ARRAY_LEN(entity_names); i++)
        if (strcmp(s, entity_names[i]) == 0)
            return (int)i;
    return -1;
}

static const struct adapter_ops *extra[4];

void adapter_register(const struct adapter_ops *ops)
{
    for (size_t i = 0; i < ARRAY_LEN(extra); i++)
        if (!extra[i] || extra[i] == ops) {
            extra[i] = ops;
            return;
        }
}

const struct adapter_ops *adapter_find(const char *name)
{
    const struct adapter_ops *all[] = {&hostaway_adapter, &guesty_adapter, &buildium_adapter,
                                       extra[0],          extra[1],        extra[2],
                                       extra[3]};
    for (size_t i = 0; name && i < ARRAY_LEN(all); i++)
        if (all[i] && strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

struct adapter *adapter_new(const struct adapter_ops *ops, const struct account_conf *conf,
                            struct http_client *http, const struct adapter_host *host,
                            struct err *e)
{
    struct adapter *a = xcalloc(1, sizeof(*a));
    a->ops = ops;
    a->conf = conf;
    a->base_url = conf && conf->base_url ? conf->base_url : ops->default_base_url;
    a->http = http;
    a->host = host;
    if (ops->init && ops->init(a, e) != 0) {
        free(a);
        return NULL;
    }
    return a;
}

void adapter_free(struct adapter **ap)
{
    struct adapter *a = ap ? *ap : NULL;
    if (!a)
        return;
    if (a->ops->fini)
        a->ops->fini(a);
    free(a);
    *ap = NULL;
}
