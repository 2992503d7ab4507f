/* core_unfollow.c - the guarantee of bmq_unfollow under load: two threads
 * dispatch without pause while the main thread follows and unfollows, on
 * exact names, shared names, shared actions, wildcards and namespaces. Once
 * bmq_unfollow has returned, the follower is never called again: each
 * follower's callback checks a "gone" flag set right after unfollow.
 * Built twice: as is, and with ThreadSanitizer (core_unfollow_tsan), which
 * checks the index's lock-free read side against the writers. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <berrymq/berrymq.h>

#include "check.h"

static const char *const patterns[] = {"u:run", "u:*", "*:run", "*:*", "u@ns:run", "*@*:run"};
static const char *const sends[] = {"u:run", "u@ns:run", "v:run", "u:stop"};
enum { NPAT = sizeof(patterns) / sizeof(patterns[0]), NSEND = sizeof(sends) / sizeof(sends[0]) };

typedef struct watched {
    atomic_bool gone;
    atomic_long calls;
} watched;

static atomic_long late; /* calls seen after unfollow returned */
static atomic_bool stop;
static atomic_long sent;

static void on_msg(const bmq_message *m, void *ud)
{
    watched *w = ud;
    if (atomic_load(&w->gone))
        atomic_fetch_add(&late, 1);
    atomic_fetch_add_explicit(&w->calls, 1, memory_order_relaxed);
}

static void *sender(void *arg)
{
    bmq_bus *bus = arg;
    unsigned i = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        bmq_twitter(bus, sends[i++ % NSEND], NULL, NULL);
        atomic_fetch_add_explicit(&sent, 1, memory_order_relaxed);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 3000;
    bmq_bus *bus = bmq_bus_new();
    /* A stable follower per pattern, so that the index has company. */
    static watched stable[NPAT];
    for (int i = 0; i < NPAT; i++)
        CHECK(bmq_follow(bus, patterns[i], on_msg, NULL, &stable[i]) != NULL);

    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, sender, bus);

    long total_calls = 0;
    for (int r = 0; r < rounds; r++) {
        watched w[NPAT];
        bmq_follower *f[NPAT];
        for (int i = 0; i < NPAT; i++) {
            atomic_init(&w[i].gone, false);
            atomic_init(&w[i].calls, 0);
            f[i] = bmq_follow(bus, patterns[i], on_msg, NULL, &w[i]);
            CHECK(f[i] != NULL);
        }
        /* Let a few messages through now and then. */
        if (r % 64 == 0) {
            long target = atomic_load(&sent) + 200;
            while (atomic_load(&sent) < target)
                ;
        }
        for (int i = NPAT - 1; i >= 0; i--) {
            bmq_unfollow(f[i]);
            atomic_store(&w[i].gone, true);
        }
        for (int i = 0; i < NPAT; i++)
            total_calls += atomic_load(&w[i].calls);
        /* w[] goes out of scope here: a late call would also be a use
         * after scope, which the sanitizers report. */
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);

    fprintf(stderr, "%d rounds, %ld messages sent, %ld calls to temporary followers\n", rounds,
            atomic_load(&sent), total_calls);
    CHECK(atomic_load(&late) == 0);
    CHECK(total_calls > 0);
    for (int i = 0; i < NPAT; i++)
        CHECK(atomic_load(&stable[i].calls) > 0);
    bmq_bus_stats st;
    bmq_bus_get_stats(bus, &st);
    CHECK(st.followers == NPAT);
    bmq_bus_free(bus);
    return 0;
}
