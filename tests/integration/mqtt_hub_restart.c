/* mqtt_hub_restart.c - the mqtt plugin's QoS 1 outbox survives the hub:
 * the real berrymq-hub with its history on, driven with the berrymq CLI,
 * bridging to a real mosquitto watched by mosquitto_sub.
 *
 * 1. The broker is down. `berrymq twitter` has five messages acknowledged,
 *    the hub is killed with SIGKILL, the broker and a subscriber start,
 *    the hub starts again: the five arrive, once each, in order.
 * 2. The broker is up: five more are delivered and acknowledged by the
 *    broker, a message published by another client is received (and not
 *    sent back). The hub is killed with SIGKILL and started again, and one
 *    more message is sent: it arrives, and nothing sent before is sent
 *    again.
 * 3. Ten messages wait when the hub is killed and it comes back with
 *    "buffer": 3: the backlog is read back a few at a time and all ten
 *    arrive in order, before a message sent after the restart.
 */
#include "cli_harness.h"
#include "mqtt_harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLOW 4
#else
#define SLOW 1
#endif

static void send_msg(cli_h *h, const char *id, const char *arg)
{
    cli_run r;
    int rc = cli_h_runv(h, &r, "twitter", id, arg, NULL);
    EXPECT_MSG(rc == 0, "twitter %s %s: exit %d, stderr: %s", id, arg, rc, r.err);
    cli_run_free(&r);
}

/* The first argument of every out:* message the subscriber saw, in order,
 * joined with ' ' (transfer full). */
static char *seen(mqtt_sub *s)
{
    char *text = mqtt_sub_output(s);
    GString *g = g_string_new(NULL);
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (!g_str_has_prefix(*l, "berrymq/_/out/"))
            continue;
        const char *a = strstr(*l, "\"args\":[\"");
        if (a == NULL)
            continue;
        a += strlen("\"args\":[\"");
        const char *e = strchr(a, '"');
        g_string_append_printf(g, "%s%.*s", g->len ? " " : "", e ? (int)(e - a) : 0, a);
    }
    g_strfreev(lines);
    g_free(text);
    return g_string_free(g, FALSE);
}

static bool wait_seen(mqtt_sub *s, const char *want, double timeout_s)
{
    double end = cli_now() + timeout_s * SLOW;
    for (;;) {
        char *got = seen(s);
        bool ok = strcmp(got, want) == 0;
        g_free(got);
        if (ok || cli_now() >= end)
            return ok;
        g_usleep(50000);
    }
}

#define CHECK_SEEN(s, want, timeout_s)                                                             \
    do {                                                                                           \
        if (!wait_seen((s), (want), (timeout_s))) {                                                \
            char *got_ = seen(s);                                                                  \
            EXPECT_MSG(false, "the subscriber saw \"%s\", expected \"%s\"", got_, (want));         \
            g_free(got_);                                                                          \
        }                                                                                          \
    } while (0)

static void write_config(cli_h *h, int port, int buffer)
{
    char *cfg =
        g_strdup_printf("{\"plugins\": [{\"plugin\": \"mqtt\", \"id\": \"mq\", \"config\": {"
                        "\"broker\": \"mqtt://127.0.0.1:%d\", \"hub_id\": \"hubr\", \"qos\": 1, "
                        "\"publish\": \"out:*\", \"subscribe\": \"*:*\", \"reconnect_min\": 1, "
                        "\"reconnect_max\": 2, \"flush_delay\": 0, \"buffer\": %d}}]}\n",
                        port, buffer);
    cli_h_write_config(h, cfg);
    g_free(cfg);
}

static bool hub_start(cli_h *h)
{
    if (cli_h_hub_start(h, NULL) < 0) {
        check_failures++;
        return false;
    }
    return true;
}

int main(void)
{
    mqtt_broker *broker = mqtt_broker_start(); /* exits 77 without mosquitto */
    mqtt_broker_stop(broker);                  /* down for the first part; port kept */

    cli_h h;
    if (cli_h_init(&h, "mqtt-hub-restart") < 0)
        return 1;
    char *state = g_build_filename(h.root, "state", NULL);
    g_setenv("XDG_STATE_HOME", state, TRUE);
    g_free(state);
    write_config(&h, broker->port, 1000);

    /* 1. Broker down: five acknowledged by the hub, then SIGKILL. */
    if (!hub_start(&h))
        goto out;
    EXPECT_MSG(cli_h_wait_instance_stat(&h, "mq", "durable", 1, 30.0 * SLOW),
               "the outbox is not durable: %lld",
               (long long)cli_h_instance_stat(&h, "mq", "durable"));
    for (int i = 0; i < 5; i++) {
        char arg[16];
        snprintf(arg, sizeof arg, "m%d", i);
        send_msg(&h, "out:x", arg);
    }
    EXPECT_MSG(cli_h_wait_instance_stat(&h, "mq", "unacked", 5, 30.0 * SLOW),
               "unacked %lld, expected 5", (long long)cli_h_instance_stat(&h, "mq", "unacked"));
    EXPECT_MSG(cli_h_instance_stat(&h, "mq", "published") == 0,
               "published %lld while the broker is down",
               (long long)cli_h_instance_stat(&h, "mq", "published"));
    CHECK(cli_h_hub_kill(&h) == 0);

    mqtt_broker_restart(broker);
    mqtt_sub *sub = mqtt_sub_start(broker, "berrymq/_/out/+");
    if (!hub_start(&h)) {
        mqtt_sub_free(sub);
        goto out;
    }
    CHECK_SEEN(sub, "m0 m1 m2 m3 m4", 60.0);
    EXPECT_MSG(cli_h_wait_instance_stat(&h, "mq", "unacked", 0, 30.0 * SLOW),
               "unacked %lld after delivery", (long long)cli_h_instance_stat(&h, "mq", "unacked"));
    EXPECT_MSG(cli_h_instance_stat(&h, "mq", "replayed") == 5, "replayed %lld, expected 5",
               (long long)cli_h_instance_stat(&h, "mq", "replayed"));
    EXPECT_MSG(cli_h_instance_stat(&h, "mq", "durable") == 1, "not durable after the restart");

    /* 2. Broker up: delivered and acknowledged, a message from another
     * client received, then SIGKILL. */
    for (int i = 0; i < 5; i++) {
        char arg[16];
        snprintf(arg, sizeof arg, "n%d", i);
        send_msg(&h, "out:x", arg);
    }
    CHECK_SEEN(sub, "m0 m1 m2 m3 m4 n0 n1 n2 n3 n4", 60.0);
    EXPECT_MSG(mqtt_pub(broker, "berrymq/_/out/ext", "{\"args\":[\"e0\"],\"origin\":\"other\"}", 1),
               "mosquitto_pub failed");
    EXPECT_MSG(cli_h_wait_instance_stat(&h, "mq", "received", 1, 30.0 * SLOW),
               "received %lld, expected 1", (long long)cli_h_instance_stat(&h, "mq", "received"));
    EXPECT_MSG(cli_h_wait_instance_stat(&h, "mq", "unacked", 0, 30.0 * SLOW),
               "unacked %lld after delivery", (long long)cli_h_instance_stat(&h, "mq", "unacked"));
    /* The history writes the cursor's position with its next commit; the
     * answer to this message waits for a commit after it. */
    send_msg(&h, "other:sync", "s");
    CHECK(cli_h_hub_kill(&h) == 0);
    if (!hub_start(&h)) {
        mqtt_sub_free(sub);
        goto out;
    }
    send_msg(&h, "out:x", "z0");
    /* Anything taken back from the history would come before z0. */
    CHECK_SEEN(sub, "m0 m1 m2 m3 m4 n0 n1 n2 n3 n4 e0 z0", 60.0);
    /* The message received from the broker is in the history once, from
     * the bridge, and survived the SIGKILL. */
    cli_run hr;
    int hrc = cli_h_runv(&h, &hr, "history", "out:ext", "--json", NULL);
    EXPECT_MSG(hrc == 0, "history: exit %d, stderr: %s", hrc, hr.err);
    json_object *rec = json_tokener_parse(hr.out ? hr.out : "");
    EXPECT_MSG(rec && strchr(hr.out, '\n') == strrchr(hr.out, '\n'),
               "history out:ext: \"%s\", expected one record", hr.out);
    const char *args = rec ? json_object_to_json_string_ext(json_object_object_get(rec, "args"),
                                                            JSON_C_TO_STRING_PLAIN)
                           : "";
    EXPECT_MSG(rec && strcmp(args, "[\"e0\"]") == 0, "history out:ext args %s", args);
    json_object *origin = rec ? json_object_object_get(rec, "origin") : NULL;
    EXPECT_MSG(origin && strcmp(json_object_get_string(origin), "plugin mq") == 0,
               "history out:ext: %s, expected origin \"plugin mq\"", hr.out);
    json_object_put(rec);
    cli_run_free(&hr);
    EXPECT_MSG(cli_h_instance_stat(&h, "mq", "replayed") == 0, "replayed %lld, expected 0",
               (long long)cli_h_instance_stat(&h, "mq", "replayed"));
    EXPECT_MSG(cli_h_wait_instance_stat(&h, "mq", "unacked", 0, 30.0 * SLOW), "unacked %lld",
               (long long)cli_h_instance_stat(&h, "mq", "unacked"));
    EXPECT_MSG(cli_h_hub_stop(&h) == 0, "the hub did not stop cleanly");
    mqtt_sub_free(sub);

    /* 3. A backlog longer than "buffer": read back a few at a time as the
     * broker acknowledges them, still before a message sent meanwhile. */
    mqtt_broker_stop(broker);
    if (!hub_start(&h))
        goto out;
    GString *want = g_string_new(NULL);
    for (int i = 0; i < 10; i++) {
        char arg[16];
        snprintf(arg, sizeof arg, "b%d", i);
        send_msg(&h, "out:x", arg);
        g_string_append_printf(want, "%s%s", i ? " " : "", arg);
    }
    EXPECT_MSG(cli_h_wait_instance_stat(&h, "mq", "unacked", 10, 30.0 * SLOW),
               "unacked %lld, expected 10", (long long)cli_h_instance_stat(&h, "mq", "unacked"));
    CHECK(cli_h_hub_kill(&h) == 0);
    write_config(&h, broker->port, 3);
    mqtt_broker_restart(broker);
    sub = mqtt_sub_start(broker, "berrymq/_/out/+");
    if (!hub_start(&h)) {
        mqtt_sub_free(sub);
        g_string_free(want, TRUE);
        goto out;
    }
    send_msg(&h, "out:x", "l0");
    g_string_append(want, " l0");
    CHECK_SEEN(sub, want->str, 60.0);
    EXPECT_MSG(cli_h_instance_stat(&h, "mq", "replayed") == 10, "replayed %lld, expected 10",
               (long long)cli_h_instance_stat(&h, "mq", "replayed"));
    EXPECT_MSG(cli_h_wait_instance_stat(&h, "mq", "unacked", 0, 30.0 * SLOW), "unacked %lld",
               (long long)cli_h_instance_stat(&h, "mq", "unacked"));
    EXPECT_MSG(cli_h_hub_stop(&h) == 0, "the hub did not stop cleanly");
    mqtt_sub_free(sub);
    g_string_free(want, TRUE);
out:
    cli_h_cleanup(&h);
    mqtt_broker_free(broker);
    return check_result();
}
