/* model.c - names of the canonical enumerations, generated from the X-macro lists. */
#include "model.h"

#include <string.h>

#define MODEL_NAME_ITEM(id, name) name,
#define MODEL_NAMES(prefix, type, LIST)                                                            \
    static const char *const prefix##_names[] = {LIST(MODEL_NAME_ITEM)};                           \
    const char *prefix##_name(enum type v)                                                         \
    {                                                                                              \
        return (unsigned)v < sizeof(prefix##_names) / sizeof(prefix##_names[0])                    \
                   ? prefix##_names[v]                                                             \
                   : "?";                                                                          \
    }                                                                                              \
    int prefix##_parse(const char *s)                                                              \
    {                                                                                              \
        for (unsigned i = 0; s && i < sizeof(prefix##_names) / sizeof(prefix##_names[0]); i++)     \
            if (strcmp(s, prefix##_names[i]) == 0)                                                 \
                return (int)i;                                                                     \
        return -1;                                                                                 \
    }

MODEL_NAMES(channel, channel, CHANNEL_LIST)
MODEL_NAMES(direction, direction, DIRECTION_LIST)
MODEL_NAMES(send_state, send_state, SEND_STATE_LIST)
MODEL_NAMES(wo_status, wo_status, WO_STATUS_LIST)
MODEL_NAMES(priority, priority, PRIORITY_LIST)
MODEL_NAMES(thread_kind, thread_kind, THREAD_KIND_LIST)
MODEL_NAMES(contact_kind, contact_kind, CONTACT_KIND_LIST)
