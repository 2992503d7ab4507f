/* core_queue.c - standalone and shared queues, priority, overflow, blocking. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <berrymq/berrymq.h>

#include "check.h"

static void send_prio(bmq_bus *bus, const char *id, int prio, int tag)
{
    json_object *kw = json_object_new_object();
    if (prio != 0)
        json_object_object_add(kw, "priority", json_object_new_int(prio));
    json_object *a = json_object_new_array();
    json_object_array_add(a, json_object_new_int(tag));
    CHECK_EQ(bmq_twitter(bus, id, a, kw), 0);
}

static int tag_of(bmq_message *m)
{
    CHECK(m);
    int t = json_object_get_int(json_object_array_get_idx(bmq_message_args(m), 0));
    bmq_message_unref(m);
    return t;
}

static void test_standalone_vs_shared(void)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_queue *s1 = bmq_queue_new(bus, "q:x", false);
    bmq_queue *s2 = bmq_queue_new(bus, "q:x", false);
    bmq_queue *h1 = bmq_queue_new(bus, "q:x", true);
    bmq_queue *h2 = bmq_queue_new(bus, "q:x", true);
    bmq_queue *other = bmq_queue_new(bus, "q:y", true);
    CHECK(s1 && s2 && h1 && h2 && other);
    CHECK_STR(bmq_queue_pattern(h1), "q:x");
    for (int i = 0; i < 10; i++)
        send_prio(bus, "q:x", 0, i);
    /* standalone: each has its own copy */
    CHECK_EQ(bmq_queue_qsize(s1), 10);
    CHECK_EQ(bmq_queue_qsize(s2), 10);
    /* shared: one backing queue seen by both handles */
    CHECK_EQ(bmq_queue_qsize(h1), 10);
    CHECK_EQ(bmq_queue_qsize(h2), 10);
    CHECK_EQ(bmq_queue_qsize(other), 0);
    int seen[10] = {0};
    for (int i = 0; i < 5; i++) {
        seen[tag_of(bmq_queue_get_nowait(h1))]++;
        seen[tag_of(bmq_queue_get_nowait(h2))]++;
    }
    for (int i = 0; i < 10; i++)
        CHECK_EQ(seen[i], 1); /* each message to exactly one getter */
    CHECK(bmq_queue_get_nowait(h1) == NULL);
    CHECK(bmq_queue_empty(h2));
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(tag_of(bmq_queue_get(s1, false, 0)), i); /* FIFO */
        CHECK_EQ(tag_of(bmq_queue_get_nowait(s2)), i);
    }
    /* the backing queue survives while one handle remains */
    bmq_queue_free(h1);
    send_prio(bus, "q:x", 0, 7);
    CHECK_EQ(tag_of(bmq_queue_get_nowait(h2)), 7);
    bmq_queue_free(h2);
    bmq_queue *h3 = bmq_queue_new(bus, "q:x", true);
    CHECK_EQ(bmq_queue_qsize(h3), 0); /* a fresh backing queue */
    bmq_bus_stats st;
    bmq_bus_get_stats(bus, &st);
    CHECK_EQ(st.queues, 4);
    bmq_queue_free(s1);
    bmq_queue_free(NULL);
    bmq_bus_free(bus); /* frees s2, other, h3 and what they hold */
}

static void test_priority(void)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_queue *q = bmq_queue_new(bus, "p", false);
    send_prio(bus, "p:a", 5, 1);
    send_prio(bus, "p:a", 0, 2);
    send_prio(bus, "p:a", -3, 3);
    send_prio(bus, "p:a", 5, 4);
    send_prio(bus, "p:a", 0, 5);
    int want[] = {1, 4, 2, 5, 3};
    for (int i = 0; i < 5; i++)
        CHECK_EQ(tag_of(bmq_queue_get_nowait(q)), want[i]);
    /* non-integer priority is ignored (0) */
    json_object *kw = json_tokener_parse("{\"priority\": \"high\"}");
    json_object *a = json_tokener_parse("[9]");
    bmq_twitter(bus, "p:a", a, kw);
    send_prio(bus, "p:a", 1, 8);
    CHECK_EQ(tag_of(bmq_queue_get_nowait(q)), 8);
    CHECK_EQ(tag_of(bmq_queue_get_nowait(q)), 9);
    bmq_bus_free(bus);
}

static void test_overflow(void)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_queue *old = bmq_queue_new_full(bus, "o", false, 3, BMQ_OVERFLOW_DROP_OLDEST);
    bmq_queue *nw = bmq_queue_new_full(bus, "o", false, 3, BMQ_OVERFLOW_DROP_NEW);
    bmq_queue *unb = bmq_queue_new_full(bus, "o", false, 0, BMQ_OVERFLOW_DROP_NEW);
    CHECK_EQ(bmq_queue_capacity(old), 3);
    CHECK_EQ(bmq_queue_capacity(bmq_queue_new(bus, "zz", false)), BMQ_QUEUE_DEFAULT_CAPACITY);
    for (int i = 0; i < 5; i++)
        send_prio(bus, "o:x", 0, i);
    CHECK(bmq_queue_full(old));
    CHECK(!bmq_queue_full(unb));
    CHECK_EQ(bmq_queue_qsize(unb), 5);
    CHECK_EQ(bmq_queue_dropped(old), 2);
    CHECK_EQ(bmq_queue_dropped(nw), 2);
    CHECK_EQ(bmq_queue_dropped(unb), 0);
    bmq_bus_stats st;
    bmq_bus_get_stats(bus, &st);
    CHECK_EQ(st.dropped, 4);
    CHECK_EQ(tag_of(bmq_queue_get_nowait(old)), 2); /* oldest dropped */
    CHECK_EQ(tag_of(bmq_queue_get_nowait(nw)), 0);  /* newest refused */
    /* drop-oldest takes the least important class first ... */
    bmq_queue *pq = bmq_queue_new_full(bus, "pp", false, 3, BMQ_OVERFLOW_DROP_OLDEST);
    send_prio(bus, "pp:x", -1, 10);
    send_prio(bus, "pp:x", 0, 11);
    send_prio(bus, "pp:x", -1, 12);
    send_prio(bus, "pp:x", 0, 13); /* evicts 10 (prio -1, oldest) */
    CHECK_EQ(bmq_queue_dropped(pq), 1);
    /* ... and a newcomer less important than everything is itself dropped */
    send_prio(bus, "pp:x", -2, 14);
    CHECK_EQ(bmq_queue_dropped(pq), 2);
    int want[] = {11, 13, 12};
    for (int i = 0; i < 3; i++)
        CHECK_EQ(tag_of(bmq_queue_get_nowait(pq)), want[i]);
    CHECK(bmq_queue_new_full(bus, "pp", false, 3, (bmq_overflow_policy)7) == NULL);
    bmq_bus_free(bus);
}

/* The byte bound: a message weighs its id plus its args' and kwargs' JSON
 * text; the oldest go first, one heavier than the bound never enters, and
 * the drops it causes are counted apart. */
static void test_byte_bound(void)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_queue *q = bmq_queue_new_full(bus, "b", false, 100, BMQ_OVERFLOW_DROP_OLDEST);
    CHECK_EQ(bmq_queue_max_bytes(q), 0);
    send_prio(bus, "b:x", 0, 0);     /* "b:x" + "[0]" + "{}" = 8 bytes */
    CHECK_EQ(bmq_queue_bytes(q), 0); /* not kept without a bound */
    CHECK_EQ(bmq_queue_set_max_bytes(q, 30), 0);
    CHECK_EQ(bmq_queue_bytes(q), 8); /* what was queued is counted */
    for (int i = 1; i < 6; i++)
        send_prio(bus, "b:x", 0, i);
    CHECK_EQ(bmq_queue_qsize(q), 3);
    CHECK_EQ(bmq_queue_bytes(q), 24);
    CHECK_EQ(bmq_queue_dropped(q), 3);
    CHECK_EQ(bmq_queue_dropped_over_bytes(q), 3);
    int err = 0;
    json_object *big = json_object_new_array();
    json_object_array_add(big, json_object_new_string("0123456789012345678901234567890"));
    bmq_message *m = bmq_message_new("b:x", big, NULL, &err);
    CHECK(m && bmq_message_size(m) == 3 + 35 + 2);
    CHECK_EQ(bmq_twitter_message(bus, m), 0);
    CHECK_EQ(bmq_queue_qsize(q), 3); /* heavier than the bound alone */
    CHECK_EQ(bmq_queue_dropped_over_bytes(q), 4);
    CHECK_EQ(tag_of(bmq_queue_get_nowait(q)), 3);
    CHECK_EQ(bmq_queue_bytes(q), 16);
    /* the message bound is counted apart */
    CHECK_EQ(bmq_queue_set_max_bytes(q, 0), 0);
    bmq_queue *small = bmq_queue_new_full(bus, "b", false, 1, BMQ_OVERFLOW_DROP_OLDEST);
    CHECK_EQ(bmq_queue_set_max_bytes(small, 1000), 0);
    send_prio(bus, "b:x", 0, 7);
    send_prio(bus, "b:x", 0, 8);
    CHECK_EQ(bmq_queue_dropped(small), 1);
    CHECK_EQ(bmq_queue_dropped_over_bytes(small), 0);
    CHECK_EQ(bmq_queue_set_max_bytes(NULL, 1), -BMQ_EINVAL);
    bmq_bus_free(bus);
}

typedef struct waker {
    bmq_bus *bus;
    double delay;
} waker;

static void *wake_later(void *arg)
{
    waker *w = arg;
    usleep((useconds_t)(w->delay * 1e6));
    send_prio(w->bus, "w:go", 0, 99);
    return NULL;
}

static void test_blocking(void)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_queue *q = bmq_queue_new(bus, "w", false);
    /* times out on time */
    double t0 = now_s();
    CHECK(bmq_queue_get(q, true, 0.2) == NULL);
    double dt = now_s() - t0;
    CHECK(dt >= 0.19 && dt < 2.0);
    /* non-blocking ignores the timeout */
    t0 = now_s();
    CHECK(bmq_queue_get(q, false, 5.0) == NULL);
    CHECK(now_s() - t0 < 0.5);
    /* wakes on a send from another thread, well before the timeout */
    waker w = {bus, 0.1};
    pthread_t th;
    pthread_create(&th, NULL, wake_later, &w);
    t0 = now_s();
    bmq_message *m = bmq_queue_get(q, true, 10.0);
    dt = now_s() - t0;
    CHECK_EQ(tag_of(m), 99);
    CHECK(dt >= 0.05 && dt < 5.0);
    pthread_join(th, NULL);
    /* block forever (timeout < 0) is woken too */
    pthread_create(&th, NULL, wake_later, &w);
    CHECK_EQ(tag_of(bmq_queue_get(q, true, -1)), 99);
    pthread_join(th, NULL);
    bmq_bus_free(bus);
}

static void *get_forever(void *q)
{
    return bmq_queue_get(q, true, -1);
}

static void test_close(void)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_queue *q = bmq_queue_new(bus, "c", true);
    bmq_queue *q2 = bmq_queue_new(bus, "c", true);
    pthread_t th;
    pthread_create(&th, NULL, get_forever, q);
    usleep(50 * 1000);
    bmq_queue_close(q);
    void *res = (void *)1;
    pthread_join(th, &res);
    CHECK(res == NULL);
    /* after close, gets do not block; the other handle still works */
    double t0 = now_s();
    CHECK(bmq_queue_get(q, true, 3.0) == NULL);
    CHECK(now_s() - t0 < 1.0);
    send_prio(bus, "c:x", 0, 5);
    CHECK_EQ(tag_of(bmq_queue_get(q2, true, 1.0)), 5);
    bmq_queue_free(q);
    /* freeing a handle another thread blocks on: that get returns NULL
     * first, and the last handle takes the backing queue with it */
    pthread_create(&th, NULL, get_forever, q2);
    usleep(50 * 1000);
    bmq_queue_free(q2);
    res = (void *)1;
    pthread_join(th, &res);
    CHECK(res == NULL);
    bmq_bus_stats st;
    bmq_bus_get_stats(bus, &st);
    CHECK_EQ(st.queues, 0);
    bmq_bus_free(bus);
}

/* Shared queue with several blocked getters: every message to one getter. */
typedef struct getter {
    bmq_queue *q;
    long sum;
    int n;
} getter;

static void *drain(void *arg)
{
    getter *g = arg;
    bmq_message *m;
    while ((m = bmq_queue_get(g->q, true, 0.5))) {
        int t = tag_of(m);
        if (t < 0)
            break;
        g->sum += t;
        g->n++;
    }
    return NULL;
}

static void test_shared_getters(void)
{
    bmq_bus *bus = bmq_bus_new();
    enum { G = 3, N = 3000 };
    getter g[G];
    pthread_t th[G];
    for (int i = 0; i < G; i++) {
        g[i] = (getter){bmq_queue_new_full(bus, "s:x", true, 0, BMQ_OVERFLOW_DROP_OLDEST), 0, 0};
        pthread_create(&th[i], NULL, drain, &g[i]);
    }
    for (int i = 1; i <= N; i++)
        send_prio(bus, "s:x", 0, i);
    for (int i = 0; i < G; i++)
        send_prio(bus, "s:x", -1, -1); /* one stop marker each, after the rest */
    long sum = 0;
    int n = 0;
    for (int i = 0; i < G; i++) {
        pthread_join(th[i], NULL);
        sum += g[i].sum;
        n += g[i].n;
    }
    CHECK_EQ(n, N);
    CHECK_EQ(sum, (long)N * (N + 1) / 2);
    bmq_bus_free(bus);
}

int main(void)
{
    RUN(test_standalone_vs_shared);
    RUN(test_priority);
    RUN(test_overflow);
    RUN(test_byte_bound);
    RUN(test_blocking);
    RUN(test_close);
    RUN(test_shared_getters);
    return 0;
}
