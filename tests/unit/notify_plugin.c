/* notify_plugin.c - the notify plugin's config checks, backlog bound, rate
 * limiting counts and do-not-disturb, through the real plugin host, with
 * no notification daemon reachable (the session bus address points
 * nowhere): the plugin must keep working and count what it holds back. */
#include <berrymq/host.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static bmq_bus *bus;
static bmq_plugin_host *host;
static GPtrArray *got;

static void record_cb(const bmq_message *m, void *ud)
{
    g_ptr_array_add(got, g_strdup_printf("%s %s", bmq_message_id(m),
                                         json_object_to_json_string_ext(bmq_message_kwargs(m),
                                                                        JSON_C_TO_STRING_PLAIN)));
}

static void spin(int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;
    while (g_get_monotonic_time() < end)
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
}

static void expect_refused(const char *config, const char *needle)
{
    json_object *cfg = json_tokener_parse(config);
    char *err = NULL;
    bmq_instance *inst = bmq_instance_create(host, "notify", "bad", cfg, NULL, &err);
    EXPECT(inst == NULL);
    if (!err || !strstr(err, needle))
        fprintf(stderr, "config %s: error \"%s\", want \"%s\"\n", config, err ? err : "", needle);
    EXPECT(err && strstr(err, needle));
    bmq_instance_destroy(inst);
    g_free(err);
    json_object_put(cfg);
}

static gint64 status_int(bmq_instance *inst, const char *key)
{
    json_object *st = bmq_instance_status(inst), *s = NULL, *v = NULL;
    gint64 out = -1;
    if (json_object_object_get_ex(st, "status", &s) && json_object_object_get_ex(s, key, &v))
        out = json_object_get_int64(v);
    json_object_put(st);
    return out;
}

static bool got_has_prefix(const char *prefix)
{
    for (guint i = 0; i < got->len; i++)
        if (g_str_has_prefix(got->pdata[i], prefix))
            return true;
    return false;
}

int main(void)
{
    /* No daemon anywhere, and no way for GDBus to autolaunch one. */
    g_setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/berrymq-test-bus", TRUE);
    g_unsetenv("DISPLAY");
    got = g_ptr_array_new_with_free_func(g_free);
    bus = bmq_bus_new();
    bmq_follower *f = bmq_follow(bus, "_notify:*", record_cb, NULL, NULL);
    char *data = g_dir_make_tmp("bmq-notify-XXXXXX", NULL);
    host = bmq_plugin_host_new(bus, NULL, data);
    bmq_plugin_host_add_dir(host, g_getenv("BMQ_PLUGIN_BUILD_DIR"));

    expect_refused("{\"filter\": \"not a pattern\"}", "filter");
    expect_refused("{\"filter\": 3}", "key 'filter': expected a string, got an integer");
    expect_refused("{\"app_name\": false}", "key 'app_name': expected a string, got false");
    expect_refused("{\"rate\": 0}", "\"rate\" must be > 0");
    expect_refused("{\"burst\": \"ten\"}", "key 'burst': expected a number, got a string");

    json_object *cfg = json_tokener_parse("{\"filter\": \"ci:*\", \"burst\": 5, \"rate\": 0.001, "
                                          "\"backlog\": 3, \"summary_interval_ms\": 100}");
    char *err = NULL;
    bmq_instance *inst = bmq_instance_create(host, "notify", "n", cfg, NULL, &err);
    json_object_put(cfg);
    EXPECT(inst != NULL);
    if (!inst) {
        fprintf(stderr, "create: %s\n", err);
        g_free(err);
        return 1;
    }
    spin(200);

    /* Not matching the filter: ignored. Matching: 5 pass the bucket and wait
     * for a daemon in a backlog of 3 (the oldest 2 are dropped, counted);
     * the other 15 are counted as rate limited. */
    bmq_twitter_json(bus, "build:notify", NULL, "{\"title\": \"elsewhere\"}");
    for (int i = 0; i < 20; i++)
        bmq_twitter_json(bus, "ci:failed", NULL, "{\"title\": \"red\"}");
    spin(300);
    EXPECT(status_int(inst, "rate_limited") == 15);
    EXPECT(status_int(inst, "waiting") == 3);
    EXPECT(status_int(inst, "waiting_dropped") == 2);
    EXPECT(status_int(inst, "shown") == 0);

    /* Do not disturb: counted, critical ones raise attention, status sent. */
    bmq_twitter_json(bus, "_notify:pause", NULL, NULL);
    bmq_twitter_json(bus, "ci:notify", NULL, "{\"title\": \"quiet\"}");
    bmq_twitter_json(bus, "ci:notify", NULL, "{\"title\": \"Prod down\", \"urgency\": 2}");
    spin(200);
    EXPECT(status_int(inst, "paused_suppressed") == 2);
    EXPECT(status_int(inst, "suppressed") == 2);
    EXPECT(got_has_prefix("_notify:status {\"paused\":true"));
    EXPECT(got_has_prefix("_notify:attention {\"id\":\"ci:notify\",\"title\":\"Prod down\","
                          "\"critical\":1"));
    bmq_twitter_json(bus, "_notify:resume", NULL, NULL);
    spin(100);
    EXPECT(got_has_prefix("_notify:status {\"paused\":false,\"suppressed\":2}"));

    g_ptr_array_set_size(got, 0);
    bmq_twitter_json(bus, "_notify:query", NULL, NULL);
    spin(100);
    EXPECT(got_has_prefix("_notify:status {\"paused\":false"));

    json_object *st = bmq_instance_status(inst);
    const char *text = json_object_to_json_string(st);
    EXPECT(strstr(text, "\"daemon\": \"down\""));
    json_object_put(st);

    bmq_plugin_host_free(host);
    bmq_unfollow(f);
    bmq_bus_free(bus);
    g_ptr_array_unref(got);
    char *argv[] = {"rm", "-rf", data, NULL};
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(data);
    return check_result();
}
