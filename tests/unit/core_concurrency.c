/* core_concurrency.c - 4 senders x N messages into followers and queues while
 * other threads follow/unfollow, create/free queues and change the
 * multiplicity. Every delivered count of the stable receivers must be exact;
 * ASan and TSan builds catch use-after-free and races. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <berrymq/berrymq.h>

#include "check.h"

enum { SENDERS = 4, CHURNERS = 2 };
static int N; /* per sender */

static bmq_bus *bus;
static atomic_bool senders_done;
static atomic_long exact_hits, wild_hits, ns_hits;
static atomic_uchar *seen; /* shared queue: each tag exactly once */
static atomic_long churn_calls, churn_rounds;

static void count_exact(const bmq_message *m, void *ud)
{
    atomic_fetch_add_explicit(&exact_hits, 1, memory_order_relaxed);
}

static void count_wild(const bmq_message *m, void *ud)
{
    atomic_fetch_add_explicit(&wild_hits, 1, memory_order_relaxed);
}

static void count_ns(const bmq_message *m, void *ud)
{
    atomic_fetch_add_explicit(&ns_hits, 1, memory_order_relaxed);
}

static void *sender(void *arg)
{
    long base = (long)(intptr_t)arg * N;
    for (long i = 0; i < N; i++) {
        /* the origin tag is opaque to the bus: here it numbers the message */
        bmq_message *m = bmq_message_new_full("c:msg", NULL, NULL, NULL,
                                              (const void *)(uintptr_t)(base + i + 1), NULL);
        CHECK(m);
        CHECK_EQ(bmq_twitter_message(bus, m), 0);
    }
    return NULL;
}

typedef struct consumer {
    bmq_queue *q;
    long n;
    bool mark;
} consumer;

static void *consume(void *arg)
{
    consumer *c = arg;
    bmq_message *m;
    while ((m = bmq_queue_get(c->q, true, -1))) {
        if (c->mark) {
            uintptr_t tag = (uintptr_t)bmq_message_origin(m);
            CHECK(tag >= 1 && tag <= (uintptr_t)SENDERS * N);
            atomic_fetch_add(&seen[tag - 1], 1);
        }
        c->n++;
        bmq_message_unref(m);
    }
    return NULL;
}

/* A follower whose data is freed right after its unfollow returns. */
typedef struct churn_data {
    atomic_long calls;
    bmq_follower *me;
} churn_data;

static void churn_fn(const bmq_message *m, void *ud)
{
    churn_data *d = ud;
    /* a late call after free would be a heap-use-after-free */
    atomic_fetch_add_explicit(&d->calls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&churn_calls, 1, memory_order_relaxed);
}

static void self_unfollow(const bmq_message *m, void *ud)
{
    churn_data *d = ud;
    atomic_fetch_add(&d->calls, 1);
    bmq_unfollow(d->me); /* from inside itself: must not deadlock */
}

static void *churner(void *arg)
{
    static const char *pats[] = {"c:msg", "*:msg", "c", "*", "c@x:msg", "other:msg"};
    unsigned k = (unsigned)(intptr_t)arg;
    while (!atomic_load(&senders_done)) {
        churn_data *d = calloc(1, sizeof(*d));
        bmq_follower *f = bmq_follow(bus, pats[k++ % 6], churn_fn, NULL, d);
        CHECK(f);
        bmq_queue *q = bmq_queue_new(bus, pats[k % 6], (k & 1) != 0);
        CHECK(q);
        usleep(200);
        bmq_unfollow(f);
        free(d);
        bmq_queue_free(q);
        /* a follower that unfollows itself on its first message; the send
         * below guarantees it has one */
        char self_id[32];
        snprintf(self_id, sizeof(self_id), "self%u:x", (unsigned)(intptr_t)arg);
        churn_data *s = calloc(1, sizeof(*s));
        bmq_follower *sf = bmq_follow(bus, self_id, self_unfollow, NULL, s);
        s->me = sf;
        bmq_twitter(bus, self_id, NULL, NULL);
        /* self-removal happened inline (multiplicity 0) or is pending on the
         * pool: wait for it before freeing */
        bmq_bus_flush(bus);
        CHECK_EQ(atomic_load(&s->calls), 1);
        free(s);
        atomic_fetch_add(&churn_rounds, 1);
    }
    return NULL;
}

static void *toggler(void *arg)
{
    unsigned seq[] = {2, 0, 3, 1, 0, 2};
    unsigned i = 0;
    while (!atomic_load(&senders_done)) {
        CHECK_EQ(bmq_set_multiplicity(bus, seq[i++ % 6]), 0);
        usleep(2000);
    }
    return NULL;
}

static void run(bool pool)
{
    bus = bmq_bus_new();
    atomic_store(&senders_done, false);
    atomic_store(&exact_hits, 0);
    atomic_store(&wild_hits, 0);
    atomic_store(&ns_hits, 0);
    atomic_store(&churn_rounds, 0);
    long total = (long)SENDERS * N;
    seen = calloc((size_t)total, 1);
    bmq_follower *fe = bmq_follow(bus, "c:msg", count_exact, NULL, NULL);
    bmq_follower *fw = bmq_follow(bus, "*:msg", count_wild, NULL, NULL);
    bmq_follower *fn = bmq_follow(bus, "*@*:*", count_ns, NULL, NULL);
    consumer solo = {bmq_queue_new_full(bus, "c", false, 0, BMQ_OVERFLOW_DROP_OLDEST), 0, false};
    consumer sh[2] = {
        {bmq_queue_new_full(bus, "c:msg", true, 0, BMQ_OVERFLOW_DROP_OLDEST), 0, true},
        {bmq_queue_new(bus, "c:msg", true), 0, true},
    };
    pthread_t ts[SENDERS], tc[CHURNERS], tq[3], tt;
    pthread_create(&tq[0], NULL, consume, &solo);
    pthread_create(&tq[1], NULL, consume, &sh[0]);
    pthread_create(&tq[2], NULL, consume, &sh[1]);
    for (int i = 0; i < CHURNERS; i++)
        pthread_create(&tc[i], NULL, churner, (void *)(intptr_t)(i * 3));
    if (pool)
        pthread_create(&tt, NULL, toggler, NULL);
    for (int i = 0; i < SENDERS; i++)
        pthread_create(&ts[i], NULL, sender, (void *)(intptr_t)i);
    for (int i = 0; i < SENDERS; i++)
        pthread_join(ts[i], NULL);
    atomic_store(&senders_done, true);
    for (int i = 0; i < CHURNERS; i++)
        pthread_join(tc[i], NULL);
    if (pool)
        pthread_join(tt, NULL);
    bmq_bus_flush(bus);
    bmq_queue_close(solo.q);
    bmq_queue_close(sh[0].q);
    bmq_queue_close(sh[1].q);
    for (int i = 0; i < 3; i++)
        pthread_join(tq[i], NULL);

    CHECK_EQ(atomic_load(&exact_hits), total);
    CHECK_EQ(atomic_load(&wild_hits), total);
    CHECK(atomic_load(&ns_hits) >= total); /* plus the "self:x" sends */
    CHECK_EQ(solo.n, total);
    CHECK_EQ(sh[0].n + sh[1].n, total);
    for (long i = 0; i < total; i++)
        if (seen[i] != 1) {
            fprintf(stderr, "tag %ld seen %d times\n", i + 1, seen[i]);
            exit(1);
        }
    CHECK(atomic_load(&churn_rounds) > 0);
    bmq_bus_stats st;
    bmq_bus_get_stats(bus, &st);
    CHECK(st.sent >= (uint64_t)total);
    CHECK_EQ(bmq_queue_dropped(solo.q) + bmq_queue_dropped(sh[0].q), 0); /* unbounded */
    CHECK_EQ(st.followers, 3);
    CHECK_EQ(st.queues, 3);
    fprintf(stderr, "   %ld messages, %ld churn rounds, %ld churn calls\n", total,
            atomic_load(&churn_rounds), atomic_load(&churn_calls));
    bmq_unfollow(fe);
    bmq_unfollow(fw);
    bmq_unfollow(fn);
    bmq_queue_free(solo.q);
    bmq_queue_free(sh[0].q);
    bmq_queue_free(sh[1].q);
    bmq_bus_free(bus);
    free(seen);
}

static void test_inline(void)
{
    run(false);
}

static void test_pool(void)
{
    run(true);
}

int main(int argc, char **argv)
{
#if defined(__SANITIZE_THREAD__)
    N = 10000; /* TSan: every access is checked, ~10x slower */
#else
    N = CORE_SLOW ? 20000 : 100000;
#endif
    if (argc > 1)
        N = atoi(argv[1]);
    RUN(test_inline);
    RUN(test_pool);
    return 0;
}
