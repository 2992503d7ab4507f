/* mqtt_restart.c - the broker restarts (same port) while hubs are running:
 * QoS 1 messages sent while it is down are buffered, bounded (the oldest
 * dropped and counted), and arrive exactly once and in order after it comes
 * back; a hub created while the broker is down connects when it appears. */
#include "mqtt_harness.h"

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

int main(void)
{
    mqtt_broker *b = mqtt_broker_start();
    test_hub *A = hub(b, "hubA", "\"subscribe\":null");
    test_hub *B = hub(b, "hubB", "\"publish\":null");
    test_hub *C = hub(b, "hubC", "\"subscribe\":null,\"publish\":\"small:*\",\"buffer\":5");
    EXPECT(test_hub_wait_stat(A, "connected", 1, 5000));
    EXPECT(test_hub_wait_stat(B, "connected", 1, 5000));
    EXPECT(test_hub_wait_stat(C, "connected", 1, 5000));
    collector *inB = collector_new(B->bus, "*:*");

    EXPECT(bmq_twitter_json(A->bus, "before:restart", "[0]", NULL) == 0);
    EXPECT(collector_wait_line(inB, "before:restart [0]", 3000));

    mqtt_broker_stop(b);
    EXPECT(test_hub_wait_stat(A, "connected", 0, 3000));
    EXPECT(test_hub_wait_stat(C, "connected", 0, 3000));
    test_hub *late = hub(b, "late", "\"publish\":null");
    enum { N = 20 };
    for (int i = 0; i < N; i++) {
        char args[16];
        g_snprintf(args, sizeof args, "[%d]", i);
        EXPECT(bmq_twitter_json(A->bus, "down:seq", args, NULL) == 0);
        if (i < 8)
            EXPECT(bmq_twitter_json(C->bus, "small:seq", args, NULL) == 0);
    }
    EXPECT_EQ(test_hub_stat(A, "buffered"), N);
    EXPECT_EQ(test_hub_stat(C, "buffered"), 5);
    EXPECT_EQ(test_hub_stat(C, "dropped"), 3);
    EXPECT_EQ(test_hub_stat(late, "connected"), 0);

    mqtt_broker_restart(b);
    EXPECT(test_hub_wait_stat(A, "connected", 1, 8000));
    EXPECT(test_hub_wait_stat(B, "connected", 1, 8000));
    EXPECT(test_hub_wait_stat(late, "connected", 1, 8000));
    EXPECT(collector_wait_line(inB, "down:seq [19]", 5000));
    EXPECT(collector_wait_line(inB, "small:seq [7]", 5000));
    pump(300 * MQTT_SLOW);
    /* Every buffered message of A exactly once and in order; C's last five. */
    unsigned next = 0;
    for (unsigned i = 0; i < collector_count(inB); i++) {
        char *l = collector_line(inB, i), want[32];
        g_snprintf(want, sizeof want, "down:seq [%u]", next);
        next += strcmp(l, want) == 0;
        g_free(l);
    }
    EXPECT_EQ(next, N);
    for (int i = 0; i < N; i++) {
        char line[32];
        g_snprintf(line, sizeof line, "down:seq [%d]", i);
        EXPECT_EQ(collector_find(inB, line), 1);
        g_snprintf(line, sizeof line, "small:seq [%d]", i);
        EXPECT_EQ(collector_find(inB, line), i >= 3 && i < 8 ? 1 : 0);
    }
    EXPECT_EQ(test_hub_stat(A, "buffered"), 0);
    EXPECT_EQ(test_hub_stat(A, "published"), N + 1);
    EXPECT_EQ(test_hub_stat(A, "dropped"), 0);
    EXPECT(test_hub_stat(A, "connects") >= 2);

    /* The late hub receives what is sent now. */
    collector *inLate = collector_new(late->bus, "*:*");
    EXPECT(bmq_twitter_json(A->bus, "after:restart", "[1]", NULL) == 0);
    EXPECT(collector_wait_line(inLate, "after:restart [1]", 3000));
    EXPECT(collector_wait_line(inB, "after:restart [1]", 3000));

    collector_free(inLate);
    collector_free(inB);
    test_hub_free(late);
    test_hub_free(A);
    test_hub_free(B);
    test_hub_free(C);
    mqtt_broker_free(b);
    return check_result();
}
