/* history_sources.c - whatever brings a message into the hub, the history
 * records it once, with where it came from: a message sent to a second hub
 * and carried over its link (origin: the linked hub's connection, "rpc
 * 127.0.0.1"), a timer plugin's ticks ("plugin tick") and a notification a
 * Growl client sent to the growl plugin's GNTP receiver ("plugin growld").
 * The sending hub records its own copy. All of it is still there after the
 * receiving hub is killed with SIGKILL.
 * (MQTT: mqtt_hub_restart; the ntfy API: ntfy_history; captured desktop
 * notifications: desktop_capture_hub.)
 */
#include <gio/gio.h>
#include <signal.h>
#include <string.h>

#include "gntp_client.h"
#include "hub_harness.h"

/* Exactly one record matches @pattern, its origin starts with @origin and
 * its args[0] (when @arg0) is @arg0. */
static void expect_one(hh_hub *h, const char *pattern, const char *origin, const char *arg0)
{
    json_object *r = hh_history(h, pattern, 0, 0);
    size_t n = r ? json_object_array_length(r) : 0;
    EXPECT_MSG(n == 1, "%s: %zu records, want 1: %s", pattern, n,
               r ? json_object_to_json_string(r) : "(error)");
    if (n == 1) {
        json_object *rec = json_object_array_get_idx(r, 0);
        const char *o = hh_str(rec, "origin");
        EXPECT_MSG(o && g_str_has_prefix(o, origin), "%s: origin %s, want %s...", pattern,
                   o ? o : "(none)", origin);
        if (arg0) {
            json_object *args = NULL;
            json_object_object_get_ex(rec, "args", &args);
            const char *a = json_object_get_string(json_object_array_get_idx(args, 0));
            EXPECT_MSG(a && strcmp(a, arg0) == 0, "%s: args[0] %s, want %s", pattern,
                       a ? a : "(none)", arg0);
        }
    }
    json_object_put(r);
}

static bool wait_count(hh_hub *h, const char *pattern, size_t want, int ms)
{
    json_object *r = hh_history(h, pattern, want, ms);
    bool ok = r && json_object_array_length(r) >= want;
    json_object_put(r);
    return ok;
}

static void check_all(hh_hub *a)
{
    expect_one(a, "far:ping", "rpc 127.0.0.1", "over the link");
    expect_one(a, "BuildBot:Build_Done", "plugin growld", NULL);
    json_object *g = hh_history(a, "BuildBot:Build_Done", 0, 0);
    if (g && json_object_array_length(g) == 1) {
        json_object *rec = json_object_array_get_idx(g, 0);
        EXPECT_STR(hh_str(rec, "kwargs.title"), "all green");
        EXPECT_STR(hh_str(rec, "kwargs.protocol"), "gntp");
    }
    json_object_put(g);
    json_object *t = hh_history(a, "tick:tick", 0, 0);
    EXPECT_MSG(t && json_object_array_length(t) == 3, "tick:tick: %s",
               t ? json_object_to_json_string(t) : "(error)");
    for (size_t i = 0; t && i < json_object_array_length(t); i++)
        EXPECT_STR(hh_str(json_object_array_get_idx(t, i), "origin"), "plugin tick");
    json_object_put(t);
}

int main(void)
{
    const char *pdir = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    CHECK(pdir != NULL);
    int gport = gntp_free_port();
    CHECK(gport > 0);
    hh_env *ea = hh_env_new(), *eb = hh_env_new();
    char *cfg = g_strdup_printf(
        "{\"plugins\": ["
        "{\"plugin\": \"%s/timer.so\", \"id\": \"tick\", \"config\": {\"interval\": 0.2, "
        "\"count\": 3}},"
        "{\"plugin\": \"%s/growl.so\", \"id\": \"growld\", \"config\": {\"forward\": false, "
        "\"listen\": {\"gntp\": %d}}}]}",
        pdir, pdir, gport);
    hh_write_config(ea, cfg);
    g_free(cfg);
    hh_hub *a = hh_start(ea, NULL, true);
    CHECK(hh_wait_state(a, "growld", "running", 10000));

    /* A second hub linked to the first: what is sent to it reaches the
     * first over the link. */
    const char *colon = strrchr(a->listen, ':');
    cfg = g_strdup_printf("{\"plugins\": [], \"links\": [{\"style\": \"interconnect\", \"host\": "
                          "\"127.0.0.1\", \"port\": %s, \"ttl\": 600}]}",
                          colon + 1);
    hh_write_config(eb, cfg);
    g_free(cfg);
    hh_hub *b = hh_start(eb, NULL, true);
    EXPECT(hh_wait_log(b, "linked to 127.0.0.1:", 10000));
    json_object *r = hh_call(b, "hub.twitter", "[\"far:ping\", [\"over the link\"], {}]", NULL);
    EXPECT(r != NULL);
    json_object_put(r);
    EXPECT(wait_count(a, "far:ping", 1, 20000));
    /* The sender's own history has it too, once, from its client. */
    expect_one(b, "far:ping", "rpc 127.0.0.1", "over the link");

    /* A Growl client's notification. */
    char *answer = gntp_notify(gport, "BuildBot", "Build Done", "all green");
    EXPECT_MSG(answer && g_str_has_prefix(answer, "GNTP/1.0 -OK"), "GNTP answer: %s",
               answer ? answer : "(no connection)");
    g_free(answer);

    /* The timer's three ticks. */
    EXPECT(wait_count(a, "tick:tick", 3, 20000));
    check_all(a);

    /* Killed and started again: the same records. */
    EXPECT(hh_stop(b) == 0);
    hh_free(b);
    kill(a->pid, SIGKILL);
    hh_wait_exit(a, 10000);
    hh_free(a);
    /* Without the plugins this time: nothing new is added. */
    hh_write_config(ea, "{\"plugins\": []}");
    a = hh_start(ea, NULL, true);
    check_all(a);
    EXPECT(hh_stop(a) == 0);
    hh_free(a);
    hh_env_free(ea);
    hh_env_free(eb);
    return check_result();
}
