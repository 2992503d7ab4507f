/* mqtt_tsan.c - built with ThreadSanitizer (label tsan): the mqtt plugin's
 * threads (libmosquitto's network loop, the hub's followers) against a
 * real mosquitto broker. Hub A publishes "*:*" with its followers on a
 * pool, four threads sending at once while the main thread reads its
 * status; hub B subscribes. Then the broker restarts while A keeps
 * sending (the loop thread reconnects while followers buffer), and A's
 * instance is destroyed while senders are still at it. Every message
 * reaches B exactly once, and TSan, which halts on the first report, has
 * nothing to say. */
#include "mqtt_harness.h"

enum { THREADS = 4, PER_THREAD = 30 };

typedef struct sender_arg {
    bmq_bus *bus;
    const char *name;
    int t;
} sender_arg;

static gpointer sender(gpointer data)
{
    sender_arg *a = data;
    for (int i = 0; i < PER_THREAD; i++) {
        char id[64], args[32];
        g_snprintf(id, sizeof id, "%s:t%d", a->name, a->t);
        g_snprintf(args, sizeof args, "[%d]", i);
        EXPECT(bmq_twitter_json(a->bus, id, args, "{\"k\": \"v\"}") == 0);
    }
    return NULL;
}

static void send_all(test_hub *h, const char *name, bool keep_reading)
{
    GThread *th[THREADS];
    sender_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (sender_arg){h->bus, name, t};
        th[t] = g_thread_new("tsan-sender", sender, &args[t]);
    }
    for (int i = 0; keep_reading && i < 20; i++) {
        (void)test_hub_stat(h, "published");
        g_main_context_iteration(NULL, FALSE);
    }
    for (int t = 0; t < THREADS; t++)
        g_thread_join(th[t]);
}

static test_hub *hub(mqtt_broker *b, const char *node, const char *extra)
{
    char *url = mqtt_broker_url(b);
    char *cfg = g_strdup_printf("{\"broker\":\"%s\",\"qos\":1,\"reconnect_min\":1,"
                                "\"reconnect_max\":2,%s}",
                                url, extra);
    test_hub *h = test_hub_new(node, cfg);
    g_free(url);
    g_free(cfg);
    if (h == NULL)
        exit(1);
    return h;
}

static void check_each_once(collector *c, const char *name)
{
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++) {
            char line[64];
            g_snprintf(line, sizeof line, "%s:t%d [%d]", name, t, i);
            EXPECT_EQ(collector_find(c, line), 1);
        }
}

int main(void)
{
    mqtt_broker *b = mqtt_broker_start();
    test_hub *A = hub(b, "hubA", "\"subscribe\":null,\"buffer\":1000");
    test_hub *B = hub(b, "hubB", "\"publish\":null");
    EXPECT(bmq_set_multiplicity(A->bus, 4) == 0);
    EXPECT(bmq_set_multiplicity(B->bus, 2) == 0);
    EXPECT(test_hub_wait_stat(A, "connected", 1, 10000));
    EXPECT(test_hub_wait_stat(B, "connected", 1, 10000));
    collector *one = collector_new(B->bus, "one:*");
    collector *two = collector_new(B->bus, "two:*");

    /* Connected: every message crosses once. */
    send_all(A, "one", true);
    bmq_bus_flush(A->bus);
    EXPECT(collector_wait(one, THREADS * PER_THREAD, 30000));
    pump(300);
    EXPECT_EQ(collector_count(one), THREADS * PER_THREAD);
    check_each_once(one, "one");

    /* The broker goes away and comes back while A sends: the followers
     * buffer, the loop thread reconnects and flushes. */
    mqtt_broker_stop(b);
    EXPECT(test_hub_wait_stat(A, "connected", 0, 10000));
    send_all(A, "two", true);
    mqtt_broker_restart(b);
    EXPECT(test_hub_wait_stat(A, "connected", 1, 15000));
    EXPECT(test_hub_wait_stat(B, "connected", 1, 15000));
    EXPECT(collector_wait(two, THREADS * PER_THREAD, 30000));
    pump(300);
    EXPECT_EQ(collector_count(two), THREADS * PER_THREAD);
    check_each_once(two, "two");

    /* Destroyed while four threads still send. */
    GThread *th[THREADS];
    sender_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (sender_arg){A->bus, "three", t};
        th[t] = g_thread_new("tsan-sender", sender, &args[t]);
    }
    g_main_context_iteration(NULL, FALSE);
    bmq_instance_destroy(A->inst);
    A->inst = NULL;
    for (int t = 0; t < THREADS; t++)
        g_thread_join(th[t]);
    bmq_bus_flush(A->bus);
    pump(200);

    collector_free(one);
    collector_free(two);
    test_hub_free(A);
    test_hub_free(B);
    mqtt_broker_free(b);
    return check_result();
}
