/* queue.c - the pull API: standalone and shared queues.
 *
 * A backing queue (bq) is a set of FIFO rings, one per priority class,
 * sorted by rank (lower first; the rank is minus the kwarg "priority", so
 * priority 5 comes before 0 and 0 before -3). Almost every message has
 * priority 0, so
 * in practice there is one ring and a put or get is a few stores under the
 * queue's own mutex. The condition variable is signalled only when a getter
 * waits: a wake-up is a system call, a send should not pay for it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"

typedef struct pclass {
    int prio;
    size_t head;
    size_t len;
    size_t cap;
    bmq_message **v;
} pclass;

struct bq {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_cond_t gone; /* a getter left a closed handle */
    int waiters;
    int handles; /* under bus->lock */
    size_t count;
    size_t capacity; /* 0: unbounded */
    bmq_overflow_policy policy;
    atomic_uint_fast64_t dropped;
    /* Byte bound (0: none); bytes is the sum of bmq_message_size of what
     * is queued, kept only while there is a bound. */
    atomic_size_t max_bytes;
    size_t bytes;
    atomic_uint_fast64_t dropped_bytes; /* the drops the byte bound caused */
    pclass *cls;
    unsigned ncls;
    unsigned capcls;
    bmq_follower *sub;
    bool shared;
    atomic_bool no_local; /* bmq_queue_set_local(false): read by another process */
    bmq_bus *bus;
};

struct bmq_queue {
    bq *q;
    atomic_bool closed;
    int getters; /* inside bmq_queue_get on this handle; under q->lock */
};

/* ---- rings --------------------------------------------------------------- */

static bool ring_push(pclass *c, bmq_message *m)
{
    if (c->len == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        bmq_message **v = malloc(ncap * sizeof(*v));
        if (!v)
            return false;
        for (size_t i = 0; i < c->len; i++)
            v[i] = c->v[(c->head + i) % c->cap];
        free(c->v);
        c->v = v;
        c->cap = ncap;
        c->head = 0;
    }
    c->v[(c->head + c->len) % c->cap] = m;
    c->len++;
    return true;
}

static bmq_message *ring_pop(pclass *c)
{
    bmq_message *m = c->v[c->head];
    c->head = (c->head + 1) % c->cap;
    c->len--;
    return m;
}

/* The class of @prio, created in order if missing (NULL: out of memory). */
static pclass *class_for(bq *q, int prio)
{
    unsigned i = 0;
    while (i < q->ncls && q->cls[i].prio < prio)
        i++;
    if (i < q->ncls && q->cls[i].prio == prio)
        return &q->cls[i];
    if (q->ncls == q->capcls) {
        unsigned n = q->capcls ? q->capcls * 2 : 2;
        pclass *v = realloc(q->cls, n * sizeof(*v));
        if (!v)
            return NULL;
        q->cls = v;
        q->capcls = n;
    }
    memmove(&q->cls[i + 1], &q->cls[i], (q->ncls - i) * sizeof(*q->cls));
    memset(&q->cls[i], 0, sizeof(*q->cls));
    q->cls[i].prio = prio;
    q->ncls++;
    return &q->cls[i];
}

/* Empty classes other than priority 0 are removed so that a stream of
 * distinct priorities cannot grow the class table without bound. */
static void class_trim(bq *q, unsigned i)
{
    if (q->cls[i].len || q->cls[i].prio == 0)
        return;
    free(q->cls[i].v);
    memmove(&q->cls[i], &q->cls[i + 1], (q->ncls - i - 1) * sizeof(*q->cls));
    q->ncls--;
}

/* Account for @m leaving the queue (the caller holds the lock). */
static void bytes_forget(bq *q, const bmq_message *m)
{
    if (!atomic_load_explicit(&q->max_bytes, memory_order_relaxed))
        return;
    size_t n = bmq_message_size(m);
    q->bytes = q->bytes > n ? q->bytes - n : 0;
}

static bmq_message *pop_first(bq *q)
{
    for (unsigned i = 0; i < q->ncls; i++) {
        if (q->cls[i].len) {
            bmq_message *m = ring_pop(&q->cls[i]);
            q->count--;
            bytes_forget(q, m);
            class_trim(q, i);
            return m;
        }
    }
    return NULL;
}

/* ---- backing queue ------------------------------------------------------- */

static bq *bq_new(bmq_bus *bus, size_t capacity, bmq_overflow_policy policy, bool shared)
{
    bq *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_cond_init(&q->gone, NULL);
    pthread_condattr_destroy(&ca);
    q->capacity = capacity;
    q->policy = policy;
    q->shared = shared;
    q->bus = bus;
    return q;
}

void bq__destroy(bq *q)
{
    if (!q)
        return;
    for (unsigned i = 0; i < q->ncls; i++) {
        pclass *c = &q->cls[i];
        while (c->len)
            bmq_message_unref(ring_pop(c));
        free(c->v);
    }
    free(q->cls);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    pthread_cond_destroy(&q->gone);
    free(q);
}

/* Messages evicted under the lock, released after it. */
typedef struct evicted {
    bmq_message *small[8];
    bmq_message **v;
    size_t n, cap;
} evicted;

static void evicted_add(evicted *e, bmq_message *m)
{
    if (e->n < G_N_ELEMENTS(e->small)) {
        e->small[e->n++] = m;
        return;
    }
    size_t k = e->n - G_N_ELEMENTS(e->small);
    if (k == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 32;
        bmq_message **v = realloc(e->v, ncap * sizeof(*v));
        if (!v) {
            bmq_message_unref(m); /* under the lock, but only out of memory */
            return;
        }
        e->v = v;
        e->cap = ncap;
    }
    e->v[k] = m;
    e->n++;
}

static void evicted_release(evicted *e)
{
    size_t ns = G_N_ELEMENTS(e->small);
    for (size_t i = 0; i < e->n && i < ns; i++)
        bmq_message_unref(e->small[i]);
    for (size_t i = 0; e->n > ns && i < e->n - ns; i++)
        bmq_message_unref(e->v[i]);
    free(e->v);
}

bool bq__put(bq *q, bmq_message *m)
{
    if (atomic_load_explicit(&q->no_local, memory_order_relaxed) && bmq_message_is_local(m))
        return false; /* local names are never handed to another process */
    evicted ev = {0};
    uint64_t drops = 0, byte_drops = 0;
    bool ok = true;
    /* Serialize (once per message) outside the lock. */
    size_t sz = atomic_load_explicit(&q->max_bytes, memory_order_relaxed) ? bmq_message_size(m) : 0;
    pthread_mutex_lock(&q->lock);
    size_t max_bytes = atomic_load_explicit(&q->max_bytes, memory_order_relaxed);
    if (max_bytes && !sz)
        sz = bmq_message_size(m);
    if (max_bytes && sz > max_bytes) {
        ok = false; /* it could never fit */
        byte_drops++;
    }
    for (;;) {
        bool over_count = q->capacity && q->count >= q->capacity;
        bool over_bytes = max_bytes && q->bytes + sz > max_bytes;
        if (!ok || (!over_count && !over_bytes))
            break;
        /* Make room by dropping the least important, oldest message; when
         * the newcomer is itself the least important it is the one dropped. */
        pclass *last = NULL;
        unsigned li = 0;
        for (unsigned i = q->ncls; i-- > 0;)
            if (q->cls[i].len) {
                last = &q->cls[i];
                li = i;
                break;
            }
        if (!over_count)
            byte_drops++;
        if (q->policy == BMQ_OVERFLOW_DROP_NEW || !last || m->rank > last->prio) {
            ok = false;
        } else {
            bmq_message *old = ring_pop(last);
            q->count--;
            bytes_forget(q, old);
            class_trim(q, li);
            evicted_add(&ev, old);
            drops++;
        }
    }
    if (ok) {
        pclass *c = class_for(q, m->rank);
        if (c && ring_push(c, m)) {
            bmq_message_ref(m);
            q->count++;
            if (max_bytes)
                q->bytes += sz;
            if (q->waiters)
                pthread_cond_signal(&q->cond);
        } else {
            ok = false;
        }
    }
    pthread_mutex_unlock(&q->lock);
    if (!ok)
        drops++;
    if (drops) {
        atomic_fetch_add(&q->dropped, drops);
        atomic_fetch_add(&q->bus->dropped, drops);
    }
    if (byte_drops)
        atomic_fetch_add(&q->dropped_bytes, byte_drops);
    evicted_release(&ev);
    return ok;
}

/* ---- handles ------------------------------------------------------------- */

static bmq_queue *queue_new(bmq_bus *bus, const char *pattern, bool shared, size_t capacity,
                            bmq_overflow_policy policy, bool configure)
{
    if (!bus || (policy != BMQ_OVERFLOW_DROP_OLDEST && policy != BMQ_OVERFLOW_DROP_NEW))
        return NULL;
    bmq_follower *sub = follow__new(bus, pattern, SUB_QUEUE, NULL);
    if (!sub)
        return NULL;
    bmq_queue *h = calloc(1, sizeof(*h));
    if (!h) {
        follow__unref(sub);
        return NULL;
    }
    pthread_rwlock_wrlock(&bus->lock);
    bq *q = shared ? g_hash_table_lookup(bus->shared, sub->pat) : NULL;
    if (q) {
        follow__unref(sub);
        if (configure) {
            pthread_mutex_lock(&q->lock);
            q->capacity = capacity;
            q->policy = policy;
            pthread_mutex_unlock(&q->lock);
        }
    } else {
        q = bq_new(bus, capacity, policy, shared);
        if (!q) {
            pthread_rwlock_unlock(&bus->lock);
            follow__unref(sub);
            free(h);
            return NULL;
        }
        q->sub = sub;
        sub->queue = q;
        follow__attach_locked(bus, sub);
        if (shared)
            g_hash_table_insert(bus->shared, sub->pat, q);
    }
    q->handles++;
    h->q = q;
    g_hash_table_add(bus->queues, h);
    atomic_fetch_add(&bus->nqueues, 1);
    pthread_rwlock_unlock(&bus->lock);
    return h;
}

bmq_queue *bmq_queue_new(bmq_bus *bus, const char *pattern, bool shared)
{
    return queue_new(bus, pattern, shared, BMQ_QUEUE_DEFAULT_CAPACITY, BMQ_OVERFLOW_DROP_OLDEST,
                     false);
}

bmq_queue *bmq_queue_new_full(bmq_bus *bus, const char *pattern, bool shared, size_t capacity,
                              bmq_overflow_policy policy)
{
    return queue_new(bus, pattern, shared, capacity, policy, true);
}

static void deadline_after(struct timespec *ts, double s)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    if (s > 1e9)
        s = 1e9;
    time_t whole = (time_t)s;
    long ns = (long)((s - (double)whole) * 1e9);
    ts->tv_sec += whole;
    ts->tv_nsec += ns;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

bmq_message *bmq_queue_get(bmq_queue *h, bool block, double timeout_s)
{
    if (!h)
        return NULL;
    bq *q = h->q;
    struct timespec dl;
    if (isnan(timeout_s))
        timeout_s = 0;
    bool forever = timeout_s < 0;
    if (block && !forever)
        deadline_after(&dl, timeout_s);
    pthread_mutex_lock(&q->lock);
    h->getters++;
    bmq_message *m;
    for (;;) {
        m = pop_first(q);
        if (m || !block || atomic_load(&h->closed))
            break;
        q->waiters++;
        int rc = forever ? pthread_cond_wait(&q->cond, &q->lock)
                         : pthread_cond_timedwait(&q->cond, &q->lock, &dl);
        q->waiters--;
        if (rc == ETIMEDOUT) {
            m = pop_first(q);
            break;
        }
    }
    /* A getter that took a message after being woken for it leaves none
     * behind for the next waiter; one that gave up passes its wake-up on. */
    if (!m && q->count && q->waiters)
        pthread_cond_signal(&q->cond);
    if (--h->getters == 0 && atomic_load(&h->closed))
        pthread_cond_broadcast(&q->gone);
    pthread_mutex_unlock(&q->lock);
    return m;
}

bmq_message *bmq_queue_get_nowait(bmq_queue *h)
{
    return bmq_queue_get(h, false, 0);
}

size_t bmq_queue_qsize(bmq_queue *h)
{
    if (!h)
        return 0;
    pthread_mutex_lock(&h->q->lock);
    size_t n = h->q->count;
    pthread_mutex_unlock(&h->q->lock);
    return n;
}

bool bmq_queue_empty(bmq_queue *h)
{
    return bmq_queue_qsize(h) == 0;
}

bool bmq_queue_full(bmq_queue *h)
{
    if (!h)
        return false;
    pthread_mutex_lock(&h->q->lock);
    bool full = h->q->capacity && h->q->count >= h->q->capacity;
    pthread_mutex_unlock(&h->q->lock);
    return full;
}

size_t bmq_queue_capacity(bmq_queue *h)
{
    if (!h)
        return 0;
    pthread_mutex_lock(&h->q->lock);
    size_t n = h->q->capacity;
    pthread_mutex_unlock(&h->q->lock);
    return n;
}

uint64_t bmq_queue_dropped(bmq_queue *h)
{
    return h ? atomic_load(&h->q->dropped) : 0;
}

int bmq_queue_set_max_bytes(bmq_queue *h, size_t max_bytes)
{
    if (!h)
        return -BMQ_EINVAL;
    bq *q = h->q;
    pthread_mutex_lock(&q->lock);
    /* Sizes of what is queued already, so that the sum stays exact. */
    size_t sum = 0;
    for (unsigned i = 0; max_bytes && i < q->ncls; i++) {
        pclass *c = &q->cls[i];
        for (size_t k = 0; k < c->len; k++)
            sum += bmq_message_size(c->v[(c->head + k) % c->cap]);
    }
    q->bytes = sum;
    atomic_store_explicit(&q->max_bytes, max_bytes, memory_order_relaxed);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

int bmq_queue_set_local(bmq_queue *h, bool local)
{
    if (!h)
        return -BMQ_EINVAL;
    atomic_store(&h->q->no_local, !local);
    return 0;
}

size_t bmq_queue_max_bytes(bmq_queue *h)
{
    return h ? atomic_load(&h->q->max_bytes) : 0;
}

size_t bmq_queue_bytes(bmq_queue *h)
{
    if (!h)
        return 0;
    pthread_mutex_lock(&h->q->lock);
    size_t n = h->q->bytes;
    pthread_mutex_unlock(&h->q->lock);
    return n;
}

uint64_t bmq_queue_dropped_over_bytes(bmq_queue *h)
{
    return h ? atomic_load(&h->q->dropped_bytes) : 0;
}

const char *bmq_queue_pattern(bmq_queue *h)
{
    return h ? h->q->sub->pat : NULL;
}

void bmq_queue_close(bmq_queue *h)
{
    if (!h)
        return;
    atomic_store(&h->closed, true);
    pthread_mutex_lock(&h->q->lock);
    pthread_cond_broadcast(&h->q->cond);
    pthread_mutex_unlock(&h->q->lock);
}

/* Drop one handle; the caller holds the bus write lock. */
static void handle_release_locked(bmq_bus *bus, bmq_queue *h)
{
    bq *q = h->q;
    if (--q->handles == 0) {
        bmq_follower *sub = q->sub;
        if (q->shared)
            g_hash_table_remove(bus->shared, sub->pat);
        follow__detach_locked(bus, sub);
        follow__unref(sub); /* frees q once no sender holds the subscription */
    }
    free(h);
}

void bmq_queue_free(bmq_queue *h)
{
    if (!h)
        return;
    bq *q = h->q;
    bmq_bus *bus = q->bus;
    /* Getters blocked on this handle in other threads return NULL first. */
    bmq_queue_close(h);
    pthread_mutex_lock(&q->lock);
    while (h->getters)
        pthread_cond_wait(&q->gone, &q->lock);
    pthread_mutex_unlock(&q->lock);
    pthread_rwlock_wrlock(&bus->lock);
    bool attached = g_hash_table_remove(bus->queues, h);
    if (attached) {
        atomic_fetch_sub(&bus->nqueues, 1);
        handle_release_locked(bus, h);
    }
    pthread_rwlock_unlock(&bus->lock);
}

void queue__free_all(bmq_bus *bus)
{
    GHashTableIter it;
    void *h;
    g_hash_table_iter_init(&it, bus->queues);
    while (g_hash_table_iter_next(&it, &h, NULL)) {
        g_hash_table_iter_steal(&it);
        handle_release_locked(bus, h);
    }
    atomic_store(&bus->nqueues, 0);
}
