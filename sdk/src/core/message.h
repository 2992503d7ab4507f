/* message.h - the message layout, shared by the core files (private). */
#ifndef BMQ_MESSAGE_H
#define BMQ_MESSAGE_H

#include <stdatomic.h>

#include <berrymq/berrymq.h>

struct bmq_message {
    atomic_int refs;
    int rank;        /* queue order, lower first: minus kwarg "priority" (0 when absent) */
    bool local;      /* name starts with '_' */
    bool name_any;   /* name is "*" */
    bool action_any; /* action is "*" */
    const void *origin;
    /* NULL until first asked for: most messages carry no arguments, and an
     * empty json-c object per message would double the cost of a send. */
    _Atomic(json_object *) args;
    _Atomic(json_object *) kwargs;
    _Atomic(char *) uid;
    _Atomic(char *) json;
    _Atomic(char *) args_json;   /* static "[]" when args is NULL */
    _Atomic(char *) kwargs_json; /* static "{}" when kwargs is NULL */
    char *reply_to;              /* talk: where follower results go (nullable) */
    _Atomic(uint64_t) seq;       /* a store's sequence number, 0 until stamped */
    const char *name;            /* into buf */
    const char *action;
    const char *ns;
    unsigned name_len;
    unsigned action_len;
    unsigned ns_len;
    unsigned pair_hash; /* id__pair_hash(name, action) */
    unsigned size;      /* bytes allocated, for the block cache */
    atomic_size_t wire; /* bmq_message_size once computed, 0 before */
    char id[]; /* normalized id, then name\0action\0ns\0 */
};

/* Like bmq_message_new_full, plus the talk reply destination (nullable,
 * copied). */
bmq_message *message__new(const char *id, size_t id_len, json_object *args, json_object *kwargs,
                          const char *uid, const void *origin, const char *reply_to, int *err);

#endif
