/* pool.c - the worker threads behind bmq_set_multiplicity(n > 0).
 *
 * Threads are created on demand and never stopped before the bus is freed:
 * shrinking only parks the workers whose index is above the new size, which
 * keeps resizing safe while messages flow (no thread is torn down while it
 * holds a task).
 */
#include <stdlib.h>

#include "bus.h"

typedef struct task {
    struct task *next;
    uint64_t seq;
    bmq_message *msg;
    route r;
} task;

typedef struct worker {
    pool *p;
    unsigned idx;
    uint64_t running; /* seq of the task in hand, 0 when idle */
    pthread_t th;
} worker;

struct pool {
    bmq_bus *bus;
    pthread_mutex_t lock;
    pthread_cond_t work; /* a task arrived, the size changed or stop */
    pthread_cond_t done; /* a task finished and someone flushes */
    task *head;
    task *tail;
    task *spare; /* finished tasks for reuse: the sender allocates, a
                    worker frees, and malloc's arenas would fight */
    unsigned nspare;
    uint64_t pushed; /* seq of the last task queued */
    unsigned flushers;
    unsigned sleeping; /* workers waiting for work */
    unsigned want;     /* workers allowed to run */
    unsigned nthreads;
    worker **threads;
    bool stop;
};

static void run(pool *p, task *t)
{
    uint64_t n = route__deliver(p->bus, &t->r, t->msg, true, false, NULL);
    bus__count_delivered(p->bus, n);
    route__release(&t->r);
    bmq_message_unref(t->msg);
}

#define BATCH     32
#define SPARE_MAX 1024

static BMQ_TLS pool *tls_pool; /* the pool this thread works for */

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *p = w->p;
    tls_pool = p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->head && (w->idx < p->want || p->stop)) {
            /* Take a batch: one lock round trip for many tasks, while
             * leaving work for the other workers. */
            task *t = p->head, *last = t;
            for (int i = 1; i < BATCH && last->next; i++)
                last = last->next;
            p->head = last->next;
            if (!p->head)
                p->tail = NULL;
            last->next = NULL;
            w->running = t->seq; /* the oldest of the batch */
            pthread_mutex_unlock(&p->lock);
            for (task *x = t; x; x = x->next)
                run(p, x);
            pthread_mutex_lock(&p->lock);
            while (t) {
                task *next = t->next;
                if (p->nspare < SPARE_MAX) {
                    t->next = p->spare;
                    p->spare = t;
                    p->nspare++;
                } else {
                    free(t);
                }
                t = next;
            }
            w->running = 0;
            if (p->flushers)
                pthread_cond_broadcast(&p->done);
            continue;
        }
        if (p->stop)
            break;
        p->sleeping++;
        pthread_cond_wait(&p->work, &p->lock);
        p->sleeping--;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Called with the lock held. */
static void grow(pool *p, unsigned n)
{
    if (n <= p->nthreads)
        return;
    worker **v = realloc(p->threads, n * sizeof(*v));
    if (!v)
        g_error("berrymq: out of memory");
    p->threads = v;
    while (p->nthreads < n) {
        worker *w = malloc(sizeof(*w));
        if (!w)
            g_error("berrymq: out of memory");
        w->p = p;
        w->idx = p->nthreads;
        w->running = 0;
        if (pthread_create(&w->th, NULL, worker_main, w) != 0)
            g_error("berrymq: cannot create a worker thread");
        p->threads[p->nthreads++] = w;
    }
}

pool *pool__new(bmq_bus *bus, unsigned n)
{
    pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->bus = bus;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    pthread_mutex_lock(&p->lock);
    p->want = n;
    grow(p, n);
    pthread_mutex_unlock(&p->lock);
    return p;
}

void pool__resize(pool *p, unsigned n)
{
    pthread_mutex_lock(&p->lock);
    p->want = n;
    grow(p, n);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
}

void pool__push(pool *p, bmq_message *msg, route *r)
{
    pthread_mutex_lock(&p->lock);
    task *t = p->spare;
    if (t) {
        p->spare = t->next;
        p->nspare--;
    } else if (!(t = malloc(sizeof(*t)))) {
        g_error("berrymq: out of memory");
    }
    t->next = NULL;
    t->msg = msg;
    t->r = *r;
    if (p->tail)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    t->seq = ++p->pushed;
    /* A busy worker picks the task up when it is done: waking is a system
     * call and only needed for a sleeping one. Parked workers wait on the
     * same condition, so a signal could wake one of them and be lost. */
    if (p->sleeping) {
        if (p->nthreads > p->want)
            pthread_cond_broadcast(&p->work);
        else
            pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->lock);
}

/* The oldest task not finished yet (queued or running); with the lock. */
static uint64_t oldest_pending(pool *p)
{
    uint64_t low = p->head ? p->head->seq : p->pushed + 1;
    for (unsigned i = 0; i < p->nthreads; i++)
        if (p->threads[i]->running && p->threads[i]->running < low)
            low = p->threads[i]->running;
    return low;
}

/* Waits for the tasks queued before the call only: a flush must end even
 * while other threads keep sending. */
void pool__flush(pool *p)
{
    if (tls_pool == p)
        return; /* a worker waiting for the pool would wait for itself */
    pthread_mutex_lock(&p->lock);
    uint64_t target = p->pushed;
    p->flushers++;
    while (oldest_pending(p) <= target)
        pthread_cond_wait(&p->done, &p->lock);
    p->flushers--;
    pthread_mutex_unlock(&p->lock);
}

void pool__free(pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++) {
        pthread_join(p->threads[i]->th, NULL);
        free(p->threads[i]);
    }
    free(p->threads);
    while (p->spare) {
        task *t = p->spare;
        p->spare = t->next;
        free(t);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p);
}
