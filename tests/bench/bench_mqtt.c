/* bench_mqtt.c - throughput of the MQTT bridge against the broker alone.
 *
 *   bench_mqtt [MESSAGES] [QOS...]      (default: 50000 messages, QoS 0 and 1)
 *   BENCH_ROUNDS=N (default 3): rounds, alternating broker alone and bridge;
 *   the best round of each counts (a shared machine only ever slows a run).
 *
 * For each QoS, on one private mosquitto broker (loopback, free port):
 *   broker alone: a libmosquitto publisher -> broker -> libmosquitto
 *                 subscriber, the same payload bytes the bridge sends;
 *   bridge:       bmq_twitter on hub A -> mqtt plugin -> broker -> mqtt
 *                 plugin on hub B -> a follower on hub B's bus.
 * Time runs from the first send to the last delivery. Prints messages/s for
 * both, the bridge's extra time in percent, and the CPU seconds of this
 * process and of the broker for each run.
 *
 * Why the two sides compare like for like (checked, not assumed):
 *   - bytes: the pair publishes exactly the payload the bridge writes for
 *     message i (same keys, order and lengths, a 32-hex-digit uid) on the
 *     topic the bridge uses, berrymq/_/bench/tick;
 *   - QoS: the same level for the publish and for the subscription;
 *   - connections and threads: two broker connections on each side, each
 *     with one network thread (libmosquitto's loop_start for the pair, the
 *     plugin's own thread for each hub), plus this process's main thread
 *     sending, so both sides run three threads here and one broker;
 *   - endpoints: from the first send call (mosquitto_publish / bmq_twitter)
 *     to the last delivery callback (on_message / the follower on hub B),
 *     and CPU over the same window, this process plus the broker.
 * What the bridge side does on top is the work a hub user pays for: building
 * the args, bus routing on both hubs, the mapping and the uid checks. The
 * subscription of hub B is the wildcard filter berrymq/_/bench/+, a little
 * dearer for the broker to match than the pair's exact topic.
 */
#include <stdatomic.h>
#include <sys/resource.h>
#include <unistd.h>

#include <mosquitto.h>

#include "mqtt_harness.h"

typedef struct sink {
    atomic_int count;
    int target;
    atomic_llong t_end; /* monotonic us of the last delivery */
} sink;

static void sink_hit(sink *s)
{
    if (atomic_fetch_add(&s->count, 1) + 1 == s->target)
        atomic_store(&s->t_end, g_get_monotonic_time());
}

static bool sink_wait(sink *s, int seconds)
{
    gint64 end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
    while (atomic_load(&s->count) < s->target && g_get_monotonic_time() < end)
        g_usleep(1000);
    return atomic_load(&s->count) >= s->target;
}

static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double cpu_pid(int pid)
{
    char path[64], *text = NULL;
    g_snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    const char *p = strrchr(text, ')');
    unsigned long ut = 0, st = 0;
    /* fields after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
     * stime */
    if (p)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    g_free(text);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

typedef struct result {
    double seconds, cpu_self, cpu_broker;
    int delivered;
} result;

/* ---- broker alone: a libmosquitto pair ---- */

static atomic_int pair_ready;

static void pair_on_connect(struct mosquitto *m, void *obj, int rc)
{
    atomic_fetch_add(&pair_ready, 1);
}

static void pair_on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
    atomic_fetch_add(&pair_ready, 1);
}

static void pair_on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *mm)
{
    sink_hit(obj);
}

static struct mosquitto *pair_client(mqtt_broker *b, const char *id, sink *s)
{
    struct mosquitto *m = mosquitto_new(id, true, s);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(m, pair_on_connect);
    mosquitto_subscribe_callback_set(m, pair_on_subscribe);
    mosquitto_message_callback_set(m, pair_on_message);
    if (mosquitto_connect(m, "127.0.0.1", b->port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "bench: cannot connect to the broker\n");
        exit(1);
    }
    return m;
}

/* The payload the bridge publishes for message @i (same size and shape). */
static int bridge_like_payload(char *buf, size_t n, int i, const char *pad)
{
    return g_snprintf(buf, n,
                      "{\"id\":\"bench:tick\",\"args\":[%d,\"%s\"],\"kwargs\":{},"
                      "\"origin\":\"hubA\",\"uid\":\"%032x\"}",
                      i, pad, i);
}

static result run_pair(mqtt_broker *b, int n, int qos, const char *pad)
{
    sink s = {.target = n};
    atomic_store(&pair_ready, 0);
    struct mosquitto *sub = pair_client(b, "bench-sub", &s);
    struct mosquitto *pub = pair_client(b, "bench-pub", NULL);
    while (atomic_load(&pair_ready) < 2)
        g_usleep(1000);
    mosquitto_subscribe(sub, NULL, "berrymq/_/bench/tick", qos);
    while (atomic_load(&pair_ready) < 3)
        g_usleep(1000);

    result r = {0};
    double c0 = cpu_self(), b0 = cpu_pid(mqtt_broker_pid(b));
    gint64 t0 = g_get_monotonic_time();
    char buf[512];
    for (int i = 0; i < n; i++) {
        int len = bridge_like_payload(buf, sizeof buf, i, pad);
        mosquitto_publish(pub, NULL, "berrymq/_/bench/tick", len, buf, qos, false);
    }
    sink_wait(&s, 120);
    r.seconds = (double)(atomic_load(&s.t_end) - t0) / 1e6;
    r.cpu_self = cpu_self() - c0;
    r.cpu_broker = cpu_pid(mqtt_broker_pid(b)) - b0;
    r.delivered = atomic_load(&s.count);
    mosquitto_disconnect(pub);
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(pub, false);
    mosquitto_loop_stop(sub, false);
    mosquitto_destroy(pub);
    mosquitto_destroy(sub);
    return r;
}

/* ---- the bridge: hub A -> broker -> hub B ---- */

static void bridge_on_message(const bmq_message *m, void *data)
{
    sink_hit(data);
}

static result run_bridge(mqtt_broker *b, int n, int qos, const char *pad)
{
    char *url = mqtt_broker_url(b);
    char *ca = g_strdup_printf("{\"broker\":\"%s\",\"qos\":%d,\"publish\":\"bench:*\","
                               "\"subscribe\":null}",
                               url, qos);
    char *cb = g_strdup_printf("{\"broker\":\"%s\",\"qos\":%d,\"publish\":null,"
                               "\"subscribe\":\"bench:*\"}",
                               url, qos);
    test_hub *A = test_hub_new("hubA", ca);
    test_hub *B = test_hub_new("hubB", cb);
    if (A == NULL || B == NULL)
        exit(1);
    if (!test_hub_wait_stat(A, "connected", 1, 5000) ||
        !test_hub_wait_stat(B, "connected", 1, 5000)) {
        fprintf(stderr, "bench: hubs did not connect\n");
        exit(1);
    }
    sink s = {.target = n};
    bmq_follower *f = bmq_follow(B->bus, "bench:tick", bridge_on_message, NULL, &s);
    pump(200); /* let B's subscription settle */

    result r = {0};
    double c0 = cpu_self(), b0 = cpu_pid(mqtt_broker_pid(b));
    gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < n; i++) {
        json_object *args = json_object_new_array_ext(2);
        json_object_array_add(args, json_object_new_int(i));
        json_object_array_add(args, json_object_new_string(pad));
        bmq_twitter(A->bus, "bench:tick", args, NULL);
    }
    sink_wait(&s, 120);
    r.seconds = (double)(atomic_load(&s.t_end) - t0) / 1e6;
    r.cpu_self = cpu_self() - c0;
    r.cpu_broker = cpu_pid(mqtt_broker_pid(b)) - b0;
    r.delivered = atomic_load(&s.count);
    bmq_unfollow(f);
    test_hub_free(A);
    test_hub_free(B);
    g_free(ca);
    g_free(cb);
    g_free(url);
    return r;
}

static double cpu_total(const result *r)
{
    return r->cpu_self + r->cpu_broker;
}

/* Keep the better of two rounds: fastest time, least CPU. */
static void keep_best(result *best, const result *r)
{
    if (best->delivered == 0 || (r->delivered >= best->delivered && r->seconds < best->seconds)) {
        double c = best->delivered ? MIN(cpu_total(best), cpu_total(r)) : cpu_total(r);
        *best = *r;
        best->cpu_self = c - r->cpu_broker;
    } else if (cpu_total(r) < cpu_total(best)) {
        best->cpu_self = cpu_total(r) - best->cpu_broker;
    }
}

static void report(const char *what, const result *r, int n)
{
    printf("  %-13s %9.0f msg/s  %6.3f s  cpu (clients + broker) %5.2f s  %5.1f us/msg%s\n", what,
           r->delivered ? r->delivered / (r->seconds > 0 ? r->seconds : 1e-9) : 0.0, r->seconds,
           cpu_total(r), cpu_total(r) * 1e6 / n, r->delivered < n ? "  (INCOMPLETE)" : "");
    if (r->delivered < n)
        printf("  %-13s only %d of %d messages arrived\n", "", r->delivered, n);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 50000;
    if (n <= 0) {
        fprintf(stderr, "usage: bench_mqtt [MESSAGES] [QOS...]\n");
        return 1;
    }
    int qos_list[3] = {0, 1, -1}, nq = 2;
    if (argc > 2) {
        nq = 0;
        for (int i = 2; i < argc && nq < 3; i++)
            qos_list[nq++] = atoi(argv[i]) & 3;
    }
    g_setenv("BMQ_PLUGIN_BUILD_DIR", BMQ_BUILD_PLUGIN_DIR_STR, FALSE);
    mosquitto_lib_init();
    /* Queue without limits so the broker never drops QoS 1 under a burst. */
    mqtt_broker *b = mqtt_broker_start_with("max_queued_messages 0\nmax_inflight_messages 0\n");
    const char *pad = "a payload of realistic size for a notification";
    printf("bench_mqtt: %d messages of ~%zu bytes, mosquitto on 127.0.0.1:%d, best of %s rounds\n",
           n, strlen(pad) + 90, b->port, g_getenv("BENCH_ROUNDS") ? g_getenv("BENCH_ROUNDS") : "3");
    int rc = 0;
    const char *only = g_getenv("BENCH_ONLY"); /* "pair" or "bridge", for profiling */
    for (int q = 0; q < nq; q++) {
        int qos = qos_list[q];
        int rounds = g_getenv("BENCH_ROUNDS") ? atoi(g_getenv("BENCH_ROUNDS")) : 3;
        result pair = {0}, bridge = {0};
        run_pair(b, n / 10 > 0 ? n / 10 : 1, qos, pad); /* warm up */
        for (int r = 0; r < (rounds > 0 ? rounds : 1); r++) {
            if (only == NULL || strcmp(only, "pair") == 0) {
                result x = run_pair(b, n, qos, pad);
                keep_best(&pair, &x);
            }
            if (only == NULL || strcmp(only, "bridge") == 0) {
                result x = run_bridge(b, n, qos, pad);
                keep_best(&bridge, &x);
            }
        }
        printf("QoS %d\n", qos);
        if (only == NULL || strcmp(only, "pair") == 0)
            report("broker alone", &pair, n);
        if (only == NULL || strcmp(only, "bridge") == 0)
            report("bridge", &bridge, n);
        if (only != NULL)
            continue;
        if (pair.delivered == n && bridge.delivered == n) {
            double extra = (bridge.seconds / pair.seconds - 1.0) * 100.0;
            printf(
                "  ratio         bridge/broker time %.2f: the bridge adds %.1f%% (target < 20%%); "
                "cpu %.2f\n",
                bridge.seconds / pair.seconds, extra, cpu_total(&bridge) / cpu_total(&pair));
        } else {
            rc = 1;
        }
    }
    mqtt_broker_free(b);
    mosquitto_lib_cleanup();
    return rc;
}
