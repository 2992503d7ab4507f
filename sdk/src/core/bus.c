/* bus.c - the bus context: creation, sending, statistics, multiplicity. */
#include <stdlib.h>
#include <string.h>

#include "bus.h"

#include <berrymq/json.h>

static atomic_uint stripe_next;
static BMQ_TLS unsigned stripe_mine; /* 0: not assigned yet */

/* Counters are spread over cache lines by thread so that senders on
 * different cores do not fight over one line. */
unsigned bus__stripe(void)
{
    if (!stripe_mine)
        stripe_mine = atomic_fetch_add_explicit(&stripe_next, 1, memory_order_relaxed) + 1;
    return stripe_mine % BUS_STRIPES;
}

void bus__count_delivered(bmq_bus *bus, uint64_t n)
{
    if (n)
        readers__count(bus, 0, n);
}

bmq_bus *bmq_bus_new(void)
{
    bmq_bus *bus = calloc(1, sizeof(*bus));
    if (!bus)
        return NULL;
    /* Writers first: glibc's default lets a steady stream of senders (each
     * holding the read lock for a few instructions) starve follow/unfollow. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&bus->lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&bus->write_gate, NULL);
    pthread_mutex_init(&bus->wait_lock, NULL);
    pthread_cond_init(&bus->wait_cond, NULL);
    pthread_mutex_init(&bus->pool_lock, NULL);
    index__init(bus);
    atomic_init(&bus->gen, readers__new_gen());
    bus->followers = g_hash_table_new(g_direct_hash, g_direct_equal);
    bus->queues = g_hash_table_new(g_direct_hash, g_direct_equal);
    bus->shared = g_hash_table_new(g_str_hash, g_str_equal);
    return bus;
}

static bmq_bus *default_bus;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
    default_bus = bmq_bus_new();
    if (!default_bus)
        g_error("berrymq: out of memory");
    default_bus->is_default = true;
}

bmq_bus *bmq_bus_default(void)
{
    pthread_once(&default_once, default_init);
    return default_bus;
}

void bmq_bus_free(bmq_bus *bus)
{
    /* The default bus serves code we cannot see (plugins, bridges) until the
     * process ends; freeing it would leave them with a dangling pointer. */
    if (!bus || bus->is_default)
        return;
    readers__forget(bus);
    pool *p = atomic_load(&bus->pool);
    if (p)
        pool__free(p);
    pthread_rwlock_wrlock(&bus->lock);
    queue__free_all(bus);
    GHashTableIter it;
    void *f;
    g_hash_table_iter_init(&it, bus->followers);
    while (g_hash_table_iter_next(&it, &f, NULL)) {
        atomic_store(&((bmq_follower *)f)->removed, true);
        follow__unref(f);
    }
    g_hash_table_destroy(bus->followers);
    g_hash_table_destroy(bus->queues);
    g_hash_table_destroy(bus->shared);
    index__free(bus);
    pthread_rwlock_unlock(&bus->lock);
    pthread_rwlock_destroy(&bus->lock);
    pthread_mutex_destroy(&bus->write_gate);
    pthread_mutex_destroy(&bus->wait_lock);
    pthread_cond_destroy(&bus->wait_cond);
    pthread_mutex_destroy(&bus->pool_lock);
    free(atomic_load(&bus->tap));
    free(bus);
}

/* The tap runs before routing: a queue or follower attached after the tap
 * saw a message cannot have received it without the tap seeing it first. */
static void run_tap(bmq_bus *bus, const bmq_message *msg)
{
    atomic_fetch_add(&bus->tap_active, 1);
    bus_tap *t = atomic_load(&bus->tap);
    if (t)
        t->fn(msg, t->user_data);
    atomic_fetch_sub(&bus->tap_active, 1);
}

int bus__dispatch(bmq_bus *bus, bmq_message *msg)
{
    if (atomic_load_explicit(&bus->tap, memory_order_relaxed))
        run_tap(bus, msg);
    route r;
    route__collect(bus, msg, &r);
    pool *p = NULL;
    if (atomic_load_explicit(&bus->multiplicity, memory_order_acquire) > 0)
        p = atomic_load_explicit(&bus->pool, memory_order_acquire);
    uint64_t n;
    if (p) {
        /* Queues are filled at once so that a get right after a send sees
         * the message; followers run on the pool, if any matched. */
        bool followers = false;
        n = route__deliver(bus, &r, msg, false, true, &followers);
        if (followers) {
            pool__push(p, msg, &r);
        } else {
            route__release(&r);
            bmq_message_unref(msg);
        }
    } else {
        n = route__deliver(bus, &r, msg, true, true, NULL);
        route__release(&r);
        bmq_message_unref(msg);
    }
    readers__count(bus, 1, n);
    return 0;
}

int bmq_twitter_message(bmq_bus *bus, bmq_message *msg)
{
    if (!bus || !msg) {
        bmq_message_unref(msg);
        return -BMQ_EINVAL;
    }
    return bus__dispatch(bus, msg);
}

int bmq_twitter(bmq_bus *bus, const char *id, json_object *args, json_object *kwargs)
{
    int err;
    if (!bus) {
        json_object_put(args);
        json_object_put(kwargs);
        return -BMQ_EINVAL;
    }
    size_t len = id ? strnlen(id, BMQ_ID_MAX + 1) : 0;
    bmq_message *m = message__new(id, len, args, kwargs, NULL, NULL, NULL, &err);
    if (!m)
        return err;
    return bus__dispatch(bus, m);
}

static int parse_json(const char *text, json_object **out)
{
    *out = NULL;
    if (!text)
        return 0;
    /* NULL for the text "null": the same as no arguments. */
    return bmq_json_parse(text, strlen(text), 0, out, NULL);
}

int bmq_twitter_json(bmq_bus *bus, const char *id, const char *args_json, const char *kwargs_json)
{
    json_object *a, *k;
    int rc = parse_json(args_json, &a);
    if (rc < 0)
        return rc;
    rc = parse_json(kwargs_json, &k);
    if (rc < 0) {
        json_object_put(a);
        return rc;
    }
    return bmq_twitter(bus, id, a, k);
}

void bmq_bus_get_stats(bmq_bus *bus, bmq_bus_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!bus)
        return;
    for (int i = 0; i < BUS_STRIPES; i++) {
        out->sent += atomic_load_explicit(&bus->counters[i].sent, memory_order_relaxed);
        out->delivered += atomic_load_explicit(&bus->counters[i].delivered, memory_order_relaxed);
    }
    readers__pending(bus, &out->sent, &out->delivered);
    out->dropped = atomic_load(&bus->dropped);
    out->followers = atomic_load(&bus->nfollowers);
    out->queues = atomic_load(&bus->nqueues);
}

#define BMQ_MULTIPLICITY_MAX 256

int bmq_set_multiplicity(bmq_bus *bus, unsigned n)
{
    if (!bus || n > BMQ_MULTIPLICITY_MAX)
        return -BMQ_EINVAL;
    pthread_mutex_lock(&bus->pool_lock);
    pool *p = atomic_load(&bus->pool);
    if (n > 0) {
        if (!p) {
            p = pool__new(bus, n);
            if (!p) {
                pthread_mutex_unlock(&bus->pool_lock);
                return -BMQ_ENOMEM;
            }
            atomic_store_explicit(&bus->pool, p, memory_order_release);
        } else {
            pool__resize(p, n);
        }
    }
    /* Going back to 0 keeps the pool: its workers finish what is queued,
     * new sends run inline. */
    atomic_store_explicit(&bus->multiplicity, n, memory_order_release);
    pthread_mutex_unlock(&bus->pool_lock);
    return 0;
}

unsigned bmq_get_multiplicity(bmq_bus *bus)
{
    return bus ? atomic_load(&bus->multiplicity) : 0;
}

void bmq_bus_flush(bmq_bus *bus)
{
    if (!bus)
        return;
    pool *p = atomic_load_explicit(&bus->pool, memory_order_acquire);
    if (p)
        pool__flush(p);
}

int bmq_bus_set_tap(bmq_bus *bus, bmq_tap_fn fn, void *user_data)
{
    if (!bus)
        return -BMQ_EINVAL;
    if (!fn) {
        bus_tap *old = atomic_exchange(&bus->tap, NULL);
        /* Sequentially consistent: a sender that still sees the old tap
         * has raised tap_active before this load. */
        while (atomic_load(&bus->tap_active) > 0)
            g_usleep(200);
        free(old);
        return 0;
    }
    bus_tap *t = malloc(sizeof *t);
    if (!t)
        return -BMQ_ENOMEM;
    t->fn = fn;
    t->user_data = user_data;
    bus_tap *expected = NULL;
    if (!atomic_compare_exchange_strong(&bus->tap, &expected, t)) {
        free(t);
        return -BMQ_EEXIST;
    }
    return 0;
}

static _Thread_local const char *sender_label;

const char *bmq_sender_label(void)
{
    return sender_label;
}

const char *bmq_sender_label_set(const char *label)
{
    const char *old = sender_label;
    sender_label = label;
    return old;
}
