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

#include "id.h"
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

/* The followers of one namespace, by the shape of their pattern. A concrete
 * message "n:a" can match only exact["n","a"], by_name["n"], by_action["a"]
 * and wild, so a send visits no follower that cannot match. */
typedef struct ns_index {
    GHashTable *exact;     /* pair_key* (name, action) -> sub_array* */
    GHashTable *by_name;   /* char* name -> sub_array* ("name:*") */
    GHashTable *by_action; /* char* action -> sub_array* ("*:action") */
    sub_array *wild;       /* "*:*" (nullable) */
} ns_index;

/* What one send reaches: references to the arrays to scan. Arrays marked
 * in @check hold followers that may not match and are filtered. */
#define ROUTE_FIXED 5
typedef struct route {
    sub_array *a[ROUTE_FIXED];
    unsigned n;
    unsigned check; /* bit i: filter a[i] */
    GPtrArray *more; /* a wildcard send: every array of the namespace, filtered */
} route;

/* Senders read the index without a lock shared with writers: each thread
 * announces the bus it reads in a slot of its own (see readers.c). */
#define RUN_DEPTH 8
typedef struct reader_slot {
    _Atomic(const void *) in;
    struct reader_slot *next;
    /* The followers this thread is running, outermost first (the first
     * RUN_DEPTH of them): unfollow waits while a slot names its follower. */
    atomic_uint depth;
    _Atomic(struct bmq_follower *) run[RUN_DEPTH];
    /* Sends and deliveries this thread made on one bus, not yet added to
     * the bus's counters: counting needs no atomic add (readers__count). */
    _Atomic(struct bmq_bus *) count_bus;
    atomic_uint_fast64_t sent;
    atomic_uint_fast64_t delivered;
} reader_slot;

#define BUS_STRIPES 16
typedef struct bus_counter {
    atomic_uint_fast64_t sent;
    atomic_uint_fast64_t delivered;
    char pad[64 - 2 * sizeof(atomic_uint_fast64_t)];
} bus_counter;

typedef struct pool pool;

struct bmq_bus {
    pthread_rwlock_t lock;  /* writers of the index, shared queue table, handle sets */
    atomic_int writing;     /* a writer is changing the index: readers wait */
    atomic_uint_fast64_t gen; /* changes with every write of the index (unique over buses) */
    pthread_mutex_t write_gate; /* held while writing; readers that saw it wait here */
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

    _Atomic(struct bus_tap *) tap; /* nullable; see bmq_bus_set_tap */
    atomic_int tap_active;         /* tap invocations running now */
};

/* readers.c: the index's read side. */
void readers__enter(bmq_bus *bus);
uint64_t readers__new_gen(void);
reader_slot *readers__slot(void);        /* this thread's slot */
bool readers__fenceless(void);           /* membarrier in use: slots need no fence */
bool readers__running(const struct bmq_follower *f); /* another thread runs @f */
void readers__count(bmq_bus *bus, uint64_t sent, uint64_t delivered);
void readers__pending(bmq_bus *bus, uint64_t *sent, uint64_t *delivered); /* adds */
void readers__forget(bmq_bus *bus); /* the bus is being freed */
void readers__leave(void);
void readers__write_begin(bmq_bus *bus); /* caller holds bus->lock for writing */
void readers__write_end(bmq_bus *bus);

typedef struct bus_tap {
    bmq_tap_fn fn;
    void *user_data;
} bus_tap;

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
