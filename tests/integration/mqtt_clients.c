/* mqtt_clients.c - the bridge against plain MQTT tools: mosquitto_pub text
 * and JSON arrive as messages, wildcard subscriptions select what a hub
 * receives, topics that are not valid identifiers are counted and ignored,
 * a hub with no publish patterns publishes nothing, and QoS 0 works. */
#include "mqtt_harness.h"

static test_hub *hub(mqtt_broker *b, const char *node, const char *extra)
{
    char *url = mqtt_broker_url(b);
    char *cfg = g_strdup_printf("{\"broker\":\"%s\",%s}", url, extra);
    test_hub *h = test_hub_new(node, cfg);
    g_free(url);
    g_free(cfg);
    if (h == NULL)
        exit(1);
    EXPECT(test_hub_wait_stat(h, "connected", 1, 5000));
    return h;
}

int main(void)
{
    mqtt_broker *b = mqtt_broker_start();
    test_hub *C = hub(b, "hubC", "\"subscribe\":[\"build:*\",\"*:fail\"],\"publish\":null");
    test_hub *D = hub(b, "hubD", "\"subscribe\":\"*@*:*\",\"publish\":[]");
    test_hub *E = hub(b, "hubE", "\"subscribe\":null,\"qos\":0,\"prefix\":\"home/bmq\"");
    collector *inC = collector_new(C->bus, "*@*:*");
    collector *inD = collector_new(D->bus, "*@*:*");
    mqtt_sub *sub = mqtt_sub_start(b, "#");

    /* Plain text becomes args[0]; the id comes from the topic. */
    EXPECT(mqtt_pub(b, "berrymq/_/sensor/temp", "21.5 C", 1));
    EXPECT(collector_wait_line(inD, "sensor:temp [\"21.5 C\"]", 3000));
    /* JSON envelopes keep args and kwargs. */
    EXPECT(mqtt_pub(b, "berrymq/_/build/ok", "{\"args\":[1],\"kwargs\":{\"a\":2}}", 1));
    EXPECT(collector_wait_line(inC, "build:ok [1]", 3000));
    EXPECT(mqtt_pub(b, "berrymq/_/deploy/fail", "x", 0));
    EXPECT(collector_wait_line(inC, "deploy:fail [\"x\"]", 3000));
    EXPECT(mqtt_pub(b, "berrymq/_/deploy/ok", "y", 0));
    EXPECT(mqtt_pub(b, "berrymq/lab/probe/read", "3", 0));
    EXPECT(collector_wait_line(inD, "probe@lab:read [\"3\"]", 3000));
    /* Not a valid identifier, or a local name: counted and ignored. */
    EXPECT(mqtt_pub(b, "berrymq/_/kitchen light/on", "1", 0));
    EXPECT(mqtt_pub(b, "berrymq/_/_private/x", "1", 0));
    EXPECT(mqtt_pub(b, "berrymq/_/a/b/c", "1", 0));
    EXPECT(test_hub_wait_stat(D, "invalid", 2, 3000));
    /* The same message (same uid) arriving twice is delivered once. */
    const char *dup = "{\"args\":[\"once\"],\"uid\":\"feedbeef00\",\"origin\":\"elsewhere\"}";
    EXPECT(mqtt_pub(b, "berrymq/_/dup/x", dup, 1));
    EXPECT(mqtt_pub(b, "berrymq/_/dup/x", dup, 1));
    /* A marker sent last: when it is in, everything before it is too. */
    EXPECT(mqtt_pub(b, "berrymq/_/build/marker", "end", 1));
    EXPECT(collector_wait_line(inC, "build:marker [\"end\"]", 3000));
    EXPECT(collector_wait_line(inD, "build:marker [\"end\"]", 3000));
    EXPECT_EQ(collector_find(inC, "deploy:ok [\"y\"]"), 0);
    EXPECT_EQ(collector_find(inC, "sensor:temp [\"21.5 C\"]"), 0);
    EXPECT_EQ(collector_find(inC, "probe@lab:read [\"3\"]"), 0);
    EXPECT_EQ(collector_find(inD, "deploy:ok [\"y\"]"), 1);
    EXPECT_EQ(collector_find(inD, "dup:x [\"once\"]"), 1);
    EXPECT_EQ(test_hub_stat(D, "duplicates"), 1);
    EXPECT_EQ(test_hub_stat(D, "invalid"), 2);
    EXPECT_EQ(test_hub_stat(C, "received"), 3);

    /* No publish patterns: nothing leaves C or D. QoS 0 from E with its own
     * prefix arrives at the broker. */
    EXPECT(bmq_twitter_json(C->bus, "build:fromC", "[]", NULL) == 0);
    EXPECT(bmq_twitter_json(D->bus, "build:fromD", "[]", NULL) == 0);
    EXPECT(bmq_twitter_json(E->bus, "tick:now", "[7]", NULL) == 0);
    EXPECT(mqtt_sub_wait_for(sub, "home/bmq/_/tick/now {\"id\":\"tick:now\",\"args\":[7]", 3000));
    EXPECT(test_hub_wait_stat(E, "published", 1, 1000));
    pump(200);
    char *out = mqtt_sub_output(sub);
    EXPECT(strstr(out, "fromC") == NULL && strstr(out, "fromD") == NULL);
    g_free(out);
    EXPECT_EQ(test_hub_stat(C, "published"), 0);
    EXPECT_EQ(test_hub_stat(D, "published"), 0);

    mqtt_sub_free(sub);
    collector_free(inC);
    collector_free(inD);
    test_hub_free(C);
    test_hub_free(D);
    test_hub_free(E);
    mqtt_broker_free(b);
    return check_result();
}
