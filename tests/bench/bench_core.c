/* bench_core.c - in-process throughput of libberrymq (messages per second).
 *
 * Usage: bench_core [messages [case]]   (default 5,000,000 per case, all
 * cases; case: follower, many, queue or pool)
 * Each case sends identical messages with no arguments, the common case of
 * an event notification; figures are the best of three runs. Two figures per
 * case: per second of wall-clock time, and per second of CPU time of the
 * process (all its threads), which stays meaningful on a busy machine.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <berrymq/berrymq.h>

static long hits;
static atomic_long ahits;

static void count(const bmq_message *m, void *ud)
{
    hits++;
}

static void acount(const bmq_message *m, void *ud)
{
    atomic_fetch_add_explicit(&ahits, 1, memory_order_relaxed);
}

static double now(void);

/* A follower that works about a microsecond, like one that formats a line. */
static void work1us(const bmq_message *m, void *ud)
{
    double end = now() + 1e-6;
    while (now() < end)
        ;
    atomic_fetch_add_explicit(&ahits, 1, memory_order_relaxed);
}

static void never(const bmq_message *m, void *ud)
{
    fprintf(stderr, "non-matching follower called for %s\n", bmq_message_id(m));
    exit(1);
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static double cpu(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

typedef struct rate {
    double wall;
    double cpu;
} rate;

static double t_wall, t_cpu;

static void start(void)
{
    t_wall = now();
    t_cpu = cpu();
}

/* Keep the best of the runs of one case. */
static void stop(rate *best, long n)
{
    double w = (double)n / (now() - t_wall), c = (double)n / (cpu() - t_cpu);
    if (w > best->wall)
        best->wall = w;
    if (c > best->cpu)
        best->cpu = c;
}

static rate send_id(bmq_bus *bus, const char *sid, long n)
{
    rate best = {0, 0};
    for (int r = 0; r < 3; r++) {
        hits = 0;
        start();
        for (long i = 0; i < n; i++)
            bmq_twitter(bus, sid, NULL, NULL);
        stop(&best, n);
        if (hits != n) {
            fprintf(stderr, "delivered %ld of %ld\n", hits, n);
            exit(1);
        }
    }
    return best;
}

static rate send_loop(bmq_bus *bus, long n)
{
    return send_id(bus, "bench:run", n);
}

/* One matching follower of @target among 10,000 others made from two
 * printf patterns (5,000 each); messages are sent to @sid. */
static rate mix(const char *target, const char *sid, const char *fmt1, const char *fmt2, long n)
{
    char id[64];
    bmq_bus *bus = bmq_bus_new();
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), fmt1, i);
        bmq_follow(bus, id, never, NULL, NULL);
        snprintf(id, sizeof(id), fmt2, i);
        bmq_follow(bus, id, never, NULL, NULL);
    }
    bmq_follow(bus, target, count, NULL, NULL);
    rate r = send_id(bus, sid, n);
    bmq_bus_free(bus);
    return r;
}

/* The floor: an indirect call plus a string compare, as a dispatcher
 * that knows its one follower would do. */
typedef void (*sink_fn)(const bmq_message *, void *);
static volatile sink_fn bare_sink = count;
static rate bare_loop(long n)
{
    rate best = {0, 0};
    volatile const char *want = "bench:run";
    for (int r = 0; r < 3; r++) {
        hits = 0;
        start();
        for (long i = 0; i < n; i++)
            if (strcmp((const char *)want, "bench:run") == 0)
                bare_sink(NULL, NULL);
        stop(&best, n);
    }
    return best;
}

static void report(const char *what, rate r, const rate *base)
{
    printf("%-52s %11.0f msgs/s %11.0f msgs/CPU-s", what, r.wall, r.cpu);
    if (base)
        printf("  (cost %.2fx of one follower)", base->cpu / r.cpu);
    printf("\n");
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 5000000;
    const char *only = argc > 2 ? argv[2] : NULL;
#define WANT(c) (!only || strcmp(only, c) == 0)
    char id[64];

    bmq_bus *bus;
    rate one = {0, 0};
    if (WANT("follower") || WANT("many"))
        report("reference: bare indirect call + strcmp", bare_loop(n * 4), NULL);
    if (WANT("follower") || WANT("many")) {
        bus = bmq_bus_new();
        bmq_follow(bus, "bench:run", count, NULL, NULL);
        one = send_loop(bus, n);
        report("one follower", one, NULL);
        bmq_bus_free(bus);
    }
    if (WANT("many")) {

        bus = bmq_bus_new();
        for (int i = 0; i < 10000; i++) {
            snprintf(id, sizeof(id), "other%d:run", i);
            bmq_follow(bus, id, never, NULL, NULL);
        }
        bmq_follow(bus, "bench:run", count, NULL, NULL);
        report("one of 10,000 followers (exact names)", send_loop(bus, n), &one);
        bmq_bus_free(bus);

        bus = bmq_bus_new();
        for (int i = 0; i < 10000; i++) {
            snprintf(id, sizeof(id), "other%d:*", i);
            bmq_follow(bus, id, never, NULL, NULL);
        }
        bmq_follow(bus, "bench:run", count, NULL, NULL);
        report("one of 10,000 followers (wildcard actions other:*)", send_loop(bus, n), &one);
        bmq_bus_free(bus);

        bus = bmq_bus_new();
        bmq_follow(bus, "*:run", count, NULL, NULL);
        report("one wildcard-name follower (*:run)", send_loop(bus, n), &one);
        bmq_bus_free(bus);

        report("mix: same name (bench:missN + otherN:run)",
               mix("bench:run", "bench:run", "bench:miss%d", "other%d:run", n), &one);
        report("mix: same action (*:missN + otherN:run)",
               mix("bench:run", "bench:run", "*:miss%d", "other%d:run", n), &one);
        report("mix: wildcard actions (bench:* elsewhere, otherN:*)",
               mix("bench:run", "bench:run", "other%d:*", "bench@ns%d:*", n), &one);
        report("mix: namespaces (bench@nsN:run + bench@nsN:*)",
               mix("bench@live:run", "bench@live:run", "bench@ns%d:run", "bench@ns%d:*", n), &one);
        report("mix: wildcard follower among shared names (bench:*)",
               mix("bench:*", "bench:run", "bench:miss%d", "other%d:run", n), &one);
    }

    /* standalone queue: send then get, one at a time */
    if (WANT("queue")) {
        bus = bmq_bus_new();
        bmq_queue *q = bmq_queue_new(bus, "bench:run", false);
        rate best = {0, 0};
        for (int r = 0; r < 3; r++) {
            start();
            for (long i = 0; i < n; i++) {
                bmq_twitter(bus, "bench:run", NULL, NULL);
                bmq_message *m = bmq_queue_get_nowait(q);
                if (!m) {
                    fprintf(stderr, "queue lost a message\n");
                    return 1;
                }
                bmq_message_unref(m);
            }
            stop(&best, n);
        }
        report("standalone queue (twitter + get)", best, NULL);
        bmq_bus_free(bus);
    }

    /* multiplicity 2: followers on two pool threads */
    if (WANT("pool")) {
        bus = bmq_bus_new();
        bmq_follow(bus, "bench:run", acount, NULL, NULL);
        bmq_set_multiplicity(bus, 2);
        rate best = {0, 0};
        long pn = n / 5;
        for (int r = 0; r < 3; r++) {
            atomic_store(&ahits, 0);
            start();
            for (long i = 0; i < pn; i++)
                bmq_twitter(bus, "bench:run", NULL, NULL);
            bmq_bus_flush(bus);
            stop(&best, pn);
            if (atomic_load(&ahits) != pn) {
                fprintf(stderr, "pool delivered %ld of %ld\n", atomic_load(&ahits), pn);
                return 1;
            }
        }
        report("multiplicity 2 (send + pool run, flushed)", best, NULL);
        bmq_bus_free(bus);

        /* Followers with work to do: inline versus two pool threads. */
        rate busy[2] = {{0, 0}, {0, 0}};
        for (int mult = 0; mult < 2; mult++) {
            bus = bmq_bus_new();
            bmq_follow(bus, "bench:run", work1us, NULL, NULL);
            if (mult)
                bmq_set_multiplicity(bus, 2);
            long bn = n / 50;
            for (int r = 0; r < 3; r++) {
                atomic_store(&ahits, 0);
                start();
                for (long i = 0; i < bn; i++)
                    bmq_twitter(bus, "bench:run", NULL, NULL);
                bmq_bus_flush(bus);
                stop(&busy[mult], bn);
            }
            bmq_bus_free(bus);
        }
        report("1 us followers, inline", busy[0], NULL);
        report("1 us followers, multiplicity 2", busy[1], NULL);
        printf("%-52s %11.2fx wall-clock\n", "multiplicity 2 speed-up (1 us followers)",
               busy[1].wall / busy[0].wall);
    }
    return 0;
}
