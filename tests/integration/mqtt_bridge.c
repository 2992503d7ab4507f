/* mqtt_bridge.c - two hubs bridged through a real mosquitto broker, both
 * publishing and subscribing "*:*": messages cross both ways exactly once,
 * none echoes back, local messages stay home, overlapping patterns publish
 * once, namespaces map to their own topic level, and a hub that stops
 * cleanly is seen going offline. */
#include "mqtt_harness.h"

static char *hub_config(mqtt_broker *b, const char *extra)
{
    char *url = mqtt_broker_url(b);
    char *cfg = g_strdup_printf("{\"broker\":\"%s\",\"qos\":1,\"reconnect_min\":1,"
                                "\"reconnect_max\":2%s%s}",
                                url, extra ? "," : "", extra ? extra : "");
    g_free(url);
    return cfg;
}

static void hub_send(test_hub *h, const char *id, const char *args)
{
    EXPECT(bmq_twitter_json(h->bus, id, args, NULL) == 0);
}

int main(void)
{
    mqtt_broker *b = mqtt_broker_start();
    char *ca = hub_config(b, "\"publish\":[\"*:*\",\"build:*\",\"*@ci:*\"]");
    char *cb = hub_config(b, "\"subscribe\":[\"*:*\",\"*@*:*\"]");
    test_hub *A = test_hub_new("hubA", ca);
    test_hub *B = test_hub_new("hubB", cb);
    g_free(ca);
    g_free(cb);
    if (A == NULL || B == NULL)
        return 1;
    EXPECT(test_hub_wait_stat(A, "connected", 1, 5000));
    EXPECT(test_hub_wait_stat(B, "connected", 1, 5000));
    mqtt_sub *sub = mqtt_sub_start(b, "berrymq/#");
    /* Retained presence of both hubs is there for a late subscriber. */
    EXPECT(mqtt_sub_wait_for(sub, "berrymq/_/hubA/online {\"id\":\"hubA:online\"", 3000));
    EXPECT(mqtt_sub_wait_for(sub, "berrymq/_/hubB/online", 3000));

    collector *inA = collector_new(A->bus, "seq:*");
    collector *inB = collector_new(B->bus, "seq:*");
    collector *allA = collector_new(A->bus, "*@*:*");
    collector *allB = collector_new(B->bus, "*@*:*");

    /* Both ways, in order, exactly once. */
    enum { N = 40 };
    long long pubA0 = test_hub_stat(A, "published"), recB0 = test_hub_stat(B, "received");
    for (int i = 0; i < N; i++) {
        char args[32];
        g_snprintf(args, sizeof args, "[%d]", i);
        hub_send(A, "seq:fromA", args);
        hub_send(B, "seq:fromB", args);
    }
    EXPECT(collector_wait(inB, 2 * N, 5000));
    EXPECT(collector_wait(inA, 2 * N, 5000));
    pump(300 * MQTT_SLOW); /* room for duplicates or echoes to show up */
    EXPECT_EQ(collector_count(inA), 2 * N);
    EXPECT_EQ(collector_count(inB), 2 * N);
    for (int i = 0; i < N; i++) {
        char line[64];
        g_snprintf(line, sizeof line, "seq:fromA [%d]", i);
        EXPECT_EQ(collector_find(inB, line), 1);
        EXPECT_EQ(collector_find(inA, line), 1); /* its own local delivery, no echo */
        g_snprintf(line, sizeof line, "seq:fromB [%d]", i);
        EXPECT_EQ(collector_find(inA, line), 1);
        EXPECT_EQ(collector_find(inB, line), 1);
    }
    /* Order preserved on the receiving side. */
    unsigned next = 0;
    for (unsigned i = 0; i < collector_count(inB); i++) {
        char *l = collector_line(inB, i);
        char want[64];
        g_snprintf(want, sizeof want, "seq:fromA [%u]", next);
        if (strcmp(l, want) == 0)
            next++;
        g_free(l);
    }
    EXPECT_EQ(next, N);
    EXPECT_EQ(test_hub_stat(A, "published") - pubA0, N);
    EXPECT_EQ(test_hub_stat(B, "received") - recB0, N);

    /* build:* overlaps *:* in A's publish list: published once. */
    hub_send(A, "build:done", "[\"ok\"]");
    EXPECT(collector_wait_line(allB, "build:done [\"ok\"]", 3000));
    EXPECT(mqtt_sub_wait_for(sub,
                             "berrymq/_/build/done {\"id\":\"build:done\",\"args\":[\"ok\"],"
                             "\"kwargs\":{},\"origin\":\"hubA\"",
                             3000));

    /* Namespaces: own topic level; B sees it through *@*:* exactly once
     * although its two filters overlap. */
    hub_send(A, "job@ci:fail", "[\"x\"]");
    hub_send(A, "job@other:fail", "[\"not published\"]");
    EXPECT(collector_wait_line(allB, "job@ci:fail [\"x\"]", 3000));
    EXPECT(mqtt_sub_wait_for(sub, "berrymq/ci/job/fail {\"id\":\"job@ci:fail\"", 3000));

    /* Local messages never leave the hub. */
    hub_send(A, "_secret:x", "[\"local\"]");
    hub_send(B, "_secret:y", "[\"local\"]");

    /* Escaped names cross intact. */
    hub_send(B, "a/b+c#d%e:x", "[1]");
    EXPECT(mqtt_sub_wait_for(sub, "berrymq/_/a%2Fb%2Bc%23d%25e/x ", 3000));
    EXPECT(collector_wait_line(allA, "a/b+c#d%e:x [1]", 3000));
    pump(300 * MQTT_SLOW);
    EXPECT_EQ(collector_find(allB, "build:done [\"ok\"]"), 1);
    EXPECT_EQ(collector_find(allB, "job@ci:fail [\"x\"]"), 1);
    EXPECT_EQ(collector_find(allB, "job@other:fail [\"not published\"]"), 0);
    EXPECT_EQ(collector_find(allA, "a/b+c#d%e:x [1]"), 1);
    EXPECT_EQ(collector_find(allB, "_secret:x [\"local\"]"), 0);
    EXPECT_EQ(collector_find(allA, "_secret:y [\"local\"]"), 0);
    EXPECT_EQ(collector_find(allB, "_secret:y [\"local\"]"), 1); /* still delivered at home */
    char *out = mqtt_sub_output(sub);
    EXPECT(strstr(out, "_secret") == NULL);
    EXPECT(strstr(out, "other/job") == NULL);
    /* Exactly one copy of build/done on the wire. */
    unsigned copies = 0;
    for (const char *p = out; (p = strstr(p, "berrymq/_/build/done ")) != NULL; p++)
        copies++;
    EXPECT_EQ(copies, 1);
    g_free(out);

    /* A message the bridge already carried (same uid, back from elsewhere)
     * is not published again. */
    EXPECT(
        mqtt_pub(b, "berrymq/_/loop/x", "{\"args\":[1],\"uid\":\"cafe01\",\"origin\":\"far\"}", 1));
    EXPECT(collector_wait_line(allA, "loop:x [1]", 3000));
    long long pubA = test_hub_stat(A, "published");
    bmq_message *again =
        bmq_message_new_full("loop:x", json_tokener_parse("[1]"), NULL, "cafe01", NULL, NULL);
    EXPECT(again != NULL && bmq_twitter_message(A->bus, again) == 0);
    hub_send(A, "loop:marker", "[2]");
    EXPECT(mqtt_sub_wait_for(sub, "berrymq/_/loop/marker ", 3000));
    EXPECT_EQ(test_hub_stat(A, "published"), pubA + 1);
    out = mqtt_sub_output(sub);
    copies = 0;
    for (const char *p = out; (p = strstr(p, "berrymq/_/loop/x ")) != NULL; p++)
        copies++;
    EXPECT_EQ(copies, 1);
    g_free(out);

    /* A clean stop says offline (retained) and withdraws online. */
    collector_free(inB);
    collector_free(allB);
    test_hub_free(B);
    EXPECT(collector_wait_line(allA, "hubB:offline []", 3000));
    pump(100);
    EXPECT_EQ(collector_find(allA, "hubB:offline []"), 1);
    EXPECT(mqtt_sub_wait_for(sub, "berrymq/_/hubB/offline {\"id\":\"hubB:offline\"", 3000));

    mqtt_sub_free(sub);
    collector_free(inA);
    collector_free(allA);
    test_hub_free(A);
    mqtt_broker_free(b);
    return check_result();
}
