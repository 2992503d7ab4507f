/* bus.h - bus, subscriptions and queues shared by the core files (private).
 *
 * Routing index: per namespace, a hash table maps an exact follower name to
 * an immutable array of subscriptions; followers whose name is "*" sit in a
 * separate array of that namespace, and followers of namespace "*" in one
 * array of the bus. Arrays are copy-on-write and reference-counted: a sender
 * takes references to the (at most three) arrays it needs under a read lock,
 * drops the lock and delivers, so user code never runs under a bus lock and
 * follow/unfollow never wait for deliveries in progress.
 */
#ifndef BMQ_BUS_H
#define BMQ_BUS_H

#include <pthread.h>
#include <stdatomic.h>

#include <glib.h>

#include <berrymq/berrymq.h>

#include "message.h"

enum { SUB_FN = 0, SUB_TALK = 1, SUB_QUEUE = 2 };

typedef struct bq bq;

/* A follower, a talk follower or the subscription of a backing queue. */
struct bmq_follower {
    atomic_int refs;
    int kind;
    bmq_bus *bus;
    const char *name; /* into pat */
    const char *action;
    const char *ns;
    bool name_any;
    bool action_any;
    bool ns_any;
    bmq_follower_fn fn;
    bmq_talk_fn talk;
    bmq_guard_fn guard;
    void *user_data;
    bq *queue;           /* SUB_QUEUE: the backing queue (not a reference) */
    atomic_int active;   /* invocations running now */
    atomic_bool removed; /* unfollowed: invocations that have not begun skip */
    char pat[];          /* normalized pattern, then name\0action\0ns\0 */
};

typedef struct sub_array {
    atomic_int refs;
    unsigned n;
    bmq_follower *v[];
} sub_array;

typedef struct ns_index {
    GHashTable *by_name; /* char* name -> sub_array* */
    sub_array *wild;     /* name "*" (nullable) */
} ns_index;

/* What one send reaches: references to the arrays to scan. */
typedef struct route {
    sub_array *a[3];
    unsigned n;
    GPtrArray *more; /* message name "*": every array of the namespace */
} route;

#define BUS_STRIPES 16
typedef struct bus_counter {
    atomic_uint_fast64_t sent;
    atomic_uint_fast64_t delivered;
    char pad[64 - 2 * sizeof(atomic_uint_fast64_t)];
} bus_counter;

typedef struct pool pool;

struct bmq_bus {
    pthread_rwlock_t lock;  /* the routing index, shared queue table, handle sets */
    GHashTable *namespaces; /* char* ns -> ns_index* */
    ns_index *ns_default;   /* namespaces[""] */
    sub_array *ns_wild;     /* namespace "*" (nullable) */
    GHashTable *followers;  /* set of user-visible follower handles */
    GHashTable *queues;     /* set of queue handles */
    GHashTable *shared;     /* char* pattern -> bq* */
    atomic_uint_fast64_t dropped;
    atomic_uint_fast64_t nfollowers;
    atomic_uint_fast64_t nqueues;
    bus_counter counters[BUS_STRIPES];

    pthread_mutex_t wait_lock; /* unfollow waits here for running invocations */
    pthread_cond_t wait_cond;

    pthread_mutex_t pool_lock; /* creation of and changes to the pool */
    _Atomic(pool *) pool;
    atomic_uint multiplicity;
    bool is_default;
};

/* bus.c */
unsigned bus__stripe(void);
void bus__count_delivered(bmq_bus *bus, uint64_t n);
int bus__dispatch(bmq_bus *bus, bmq_message *msg); /* msg (transfer full) */

/* follow.c */
bmq_follower *follow__new(bmq_bus *bus, const char *pattern, int kind, int *err);
int follow__attach(bmq_bus *bus, bmq_follower *f);         /* takes the write lock */
void follow__attach_locked(bmq_bus *bus, bmq_follower *f); /* caller holds it */
void follow__detach_locked(bmq_bus *bus, bmq_follower *f);
void follow__unref(bmq_follower *f);
void follow__wait_idle(bmq_follower *f);
void route__collect(bmq_bus *bus, const bmq_message *m, route *r);
void route__release(route *r);
/* Deliver to the followers (when @followers) and queues (when @queues) of @r
 * matching @m; returns the count. *@skipped (nullable) is set when a
 * matching follower was left out because @followers is false. */
uint64_t route__deliver(bmq_bus *bus, route *r, const bmq_message *m, bool followers, bool queues,
                        bool *skipped);
void index__init(bmq_bus *bus);
void index__free(bmq_bus *bus);

/* queue.c */
bool bq__put(bq *q, bmq_message *m); /* adds a reference on success */
void bq__destroy(bq *q);             /* with the messages it holds */
void queue__free_all(bmq_bus *bus);  /* bus teardown */

/* pool.c */
pool *pool__new(bmq_bus *bus, unsigned n);
void pool__resize(pool *p, unsigned n);
void pool__push(pool *p, bmq_message *msg, route *r); /* takes both */
void pool__flush(pool *p);
void pool__free(pool *p); /* drains first */

#endif
