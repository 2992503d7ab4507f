/* desktop_notify.c - the notify plugin, in-process through the plugin host,
 * against the real notification daemon (dunst) on a private X server and
 * session bus. What is asserted is what the daemon was asked to show (the
 * Notify calls on the bus, with the ids it answered) and the messages the
 * plugin sends back for the daemon's events. */
#include "desktop_env.h"

#include <berrymq/host.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static desk_env *env;
static bmq_bus *bus;
static bmq_instance *inst;

static GMutex got_lock;
static GPtrArray *got; /* "id kwargs-json" of messages sent back */
static int daemon_warnings;

static void record_cb(const bmq_message *m, void *ud)
{
    g_mutex_lock(&got_lock);
    g_ptr_array_add(got, g_strdup_printf("%s %s", bmq_message_id(m),
                                         json_object_to_json_string(bmq_message_kwargs(m))));
    g_mutex_unlock(&got_lock);
}

static void log_cb(int level, const char *id, const char *line, void *ud)
{
    fprintf(stderr, "[%s] %s\n", id ? id : "host", line);
    if (strstr(line, "no notification daemon"))
        g_atomic_int_inc(&daemon_warnings);
}

/* The latest received message whose id equals @id, or NULL (transfer full). */
static char *got_find(const char *id)
{
    char *out = NULL;
    size_t n = strlen(id);
    g_mutex_lock(&got_lock);
    for (guint i = got->len; i > 0 && !out; i--) {
        const char *s = got->pdata[i - 1];
        if (strncmp(s, id, n) == 0 && s[n] == ' ')
            out = g_strdup(s + n + 1);
    }
    g_mutex_unlock(&got_lock);
    return out;
}

static bool got_has(void *id)
{
    char *s = got_find(id);
    g_free(s);
    return s != NULL;
}

static void send(const char *id, const char *kwargs)
{
    int rc = bmq_twitter_json(bus, id, NULL, kwargs);
    if (rc != 0)
        fprintf(stderr, "twitter %s: %s\n", id, bmq_strerror(rc));
    EXPECT(rc == 0);
}

/* The latest Notify call with @summary (borrowed), or NULL. */
static desk_notify *call_find(const char *summary)
{
    return desk_monitor_find(env, summary);
}

static bool call_seen(void *summary)
{
    return call_find(summary) != NULL;
}

static guint calls_with_prefix(const char *prefix, guint from)
{
    GPtrArray *calls = desk_monitor_calls(env);
    guint n = 0;
    for (guint i = from; i < calls->len; i++)
        if (g_str_has_prefix(((desk_notify *)calls->pdata[i])->summary, prefix))
            n++;
    g_ptr_array_unref(calls);
    return n;
}

static char *status_str(const char *key)
{
    json_object *st = bmq_instance_status(inst), *s = NULL, *v = NULL;
    char *out = NULL;
    if (json_object_object_get_ex(st, "status", &s) && json_object_object_get_ex(s, key, &v))
        out = g_strdup(json_object_get_string(v));
    json_object_put(st);
    return out;
}

static bool daemon_is(void *want)
{
    char *s = status_str("daemon");
    bool ok = g_strcmp0(s, want) == 0;
    g_free(s);
    return ok;
}

static void test_no_daemon_then_daemon(void)
{
    /* Started before any daemon: messages wait, one warning, nothing lost. */
    EXPECT(desk_wait(daemon_is, "down", 15000));
    send("build:notify", "{\"title\": \"Waiting for a daemon\"}");
    send("build:notify", "{\"title\": \"Still waiting\"}");
    desk_spin(300);
    EXPECT(g_atomic_int_get(&daemon_warnings) == 1);
    EXPECT(desk_dunst_start(env));
    EXPECT(desk_wait(call_seen, "Still waiting", 15000));
    EXPECT(call_find("Waiting for a daemon") != NULL);
    EXPECT(desk_wait(daemon_is, "up", 10000));
}

static void test_fields(void)
{
    send("build:notify", "{\"title\": \"Build finished\", \"body\": \"all 42 tests passed\", "
                         "\"urgency\": \"critical\", \"category\": \"transfer.complete\"}");
    EXPECT(desk_wait(call_seen, "Build finished", 10000));
    desk_notify *n = call_find("Build finished");
    if (n) {
        EXPECT(strcmp(n->body, "all 42 tests passed") == 0);
        EXPECT(n->urgency == 2);
        EXPECT(strcmp(n->app_name, "berryMQ") == 0);
        EXPECT(g_strcmp0(n->category, "transfer.complete") == 0);
    }
    /* Defaults: the id as title, args and kwargs rendered as the body. */
    bmq_twitter_json(bus, "deploy:notify", "[\"v1.2\", 3]",
                     "{\"host\": \"web1\", \"app\": \"ci\", \"urgency\": \"low\", "
                     "\"timeout\": 4000, \"transient\": true, \"hints\": {\"x-seen\": 3, "
                     "\"desktop-entry\": \"ci\"}}");
    EXPECT(desk_wait(call_seen, "deploy:notify", 10000));
    n = call_find("deploy:notify");
    if (n) {
        EXPECT(strcmp(n->body, "v1.2 3\nhost: web1") == 0);
        EXPECT(strcmp(n->app_name, "ci") == 0);
        EXPECT(n->urgency == 0);
        EXPECT(n->timeout == 4000);
        EXPECT(n->hints && strstr(n->hints, "'transient': <true>") &&
               strstr(n->hints, "'x-seen': <3>") && strstr(n->hints, "'desktop-entry': <'ci'>"));
    }
}

static void test_bad_utf8(void)
{
    /* JSON from a peer need not be UTF-8; D-Bus strings must be. */
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "title", json_object_new_string("bad \xff title"));
    json_object_object_add(kw, "body", json_object_new_string("caf\xe9 au lait"));
    EXPECT(bmq_twitter(bus, "utf:notify", NULL, kw) == 0);
    EXPECT(desk_wait(call_seen, "utf:notify", 10000));
    desk_notify *n = call_find("utf:notify");
    EXPECT(n && strcmp(n->body, "caf\xef\xbf\xbd au lait") == 0);
    send("build:notify", "{\"title\": \"Still working\"}");
    EXPECT(desk_wait(call_seen, "Still working", 10000));
}

static void test_replace(void)
{
    send("build:notify", "{\"title\": \"Deploying\", \"body\": \"step 1 of 3\", "
                         "\"replace\": \"deploy\"}");
    EXPECT(desk_wait(call_seen, "Deploying", 10000));
    desk_notify *first = call_find("Deploying");
    guint32 id = first ? first->returned_id : 0;
    EXPECT(id != 0);
    guint before = desk_monitor_count(env);
    send("build:notify", "{\"title\": \"Deployed\", \"body\": \"step 3 of 3\", "
                         "\"replace\": \"deploy\"}");
    EXPECT(desk_wait(call_seen, "Deployed", 10000));
    desk_notify *second = call_find("Deployed");
    if (second) {
        EXPECT(second->replaces_id == id);
        EXPECT(second->returned_id == id);
        EXPECT(strcmp(second->body, "step 3 of 3") == 0);
    }
    EXPECT(desk_monitor_count(env) == before + 1);
}

static bool closeme_closed(void *unused)
{
    bool found = false;
    g_mutex_lock(&got_lock);
    for (guint i = 0; i < got->len && !found; i++) {
        const char *line = got->pdata[i];
        found = g_str_has_prefix(line, "build:closed ") &&
                strstr(line, "\"replace\": \"closeme\"") &&
                strstr(line, "\"reason_text\": \"dismissed\"");
    }
    g_mutex_unlock(&got_lock);
    return found;
}

/* Ask dunst (dunstctl @args) until @id comes back: the daemon acts on what
 * it has on screen, which may take a moment on a loaded machine. */
static bool dunst_until(const char *const *args, const char *id)
{
    for (int i = 0; i < 10; i++) {
        g_free(desk_dunstctl(env, args));
        if (desk_wait(got_has, (void *)id, 1000))
            return true;
    }
    return false;
}

static void test_actions_and_close(void)
{
    const char *close_all[] = {"close-all", NULL};
    const char *action0[] = {"action", "0", NULL};
    const char *close[] = {"close", NULL};

    g_free(desk_dunstctl(env, close_all));
    send("build:notify", "{\"title\": \"Tests failed\", \"actions\": {\"default\": \"Open log\"}}");
    EXPECT(desk_wait(call_seen, "Tests failed", 10000));
    desk_notify *n = call_find("Tests failed");
    EXPECT(n && n->actions && g_strv_length(n->actions) == 2 &&
           strcmp(n->actions[0], "default") == 0 && strcmp(n->actions[1], "Open log") == 0);
    EXPECT(dunst_until(action0, "build:action-default"));

    /* A named action chosen from dunst's context menu. */
    g_free(desk_dunstctl(env, close_all));
    send("build:notify", "{\"title\": \"Retry?\", \"actions\": {\"retry\": \"Retry\"}}");
    EXPECT(desk_wait(call_seen, "Retry?", 10000));
    EXPECT(dunst_until(action0, "build:action-retry"));

    /* The closing of this one is told apart from the close-all above by its
     * replace key, which comes back with it. */
    g_free(desk_dunstctl(env, close_all));
    send("build:notify", "{\"title\": \"Close me\", \"replace\": \"closeme\"}");
    EXPECT(desk_wait(call_seen, "Close me", 10000));
    bool closed = false;
    for (int i = 0; i < 10 && !closed; i++) {
        g_free(desk_dunstctl(env, close));
        closed = desk_wait(closeme_closed, NULL, 1000);
    }
    EXPECT(closed);
}

static void test_pause(void)
{
    send("_notify:pause", NULL);
    desk_spin(100);
    guint before = desk_monitor_count(env);
    send("build:notify", "{\"title\": \"quiet 1\"}");
    send("build:notify", "{\"title\": \"quiet 2\"}");
    send("build:notify", "{\"title\": \"Disk full\", \"urgency\": \"critical\"}");
    EXPECT(desk_wait(got_has, "_notify:attention", 10000));
    desk_spin(300);
    EXPECT(desk_monitor_count(env) == before);
    char *kw = got_find("_notify:attention");
    EXPECT(kw && strstr(kw, "\"title\": \"Disk full\"") && strstr(kw, "\"critical\": 1"));
    g_free(kw);
    char *p = status_str("paused");
    EXPECT(g_strcmp0(p, "true") == 0);
    g_free(p);
    send("_notify:resume", NULL);
    EXPECT(desk_wait(call_seen, "3 notifications while paused", 10000));
}

static guint flood_start;

static bool flood_summarised(void *data)
{
    GPtrArray *calls = desk_monitor_calls(env);
    bool done = false;
    guint shown = 0;
    for (guint i = flood_start; i < calls->len; i++)
        if (strcmp(((desk_notify *)calls->pdata[i])->summary, "flood") == 0)
            shown++;
    for (guint i = calls->len; i > flood_start && !done; i--) {
        desk_notify *n = calls->pdata[i - 1];
        unsigned long more = 0;
        if (sscanf(n->summary, "%lu more from build", &more) == 1 && n->returned_id)
            done = more + shown == 10000;
    }
    g_ptr_array_unref(calls);
    return done;
}

static void test_flood(void)
{
    desk_spin(1200); /* let earlier floods end and the bucket refill */
    flood_start = desk_monitor_count(env);
    gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < 10000; i++)
        bmq_twitter_json(bus, "build:notify", NULL, "{\"title\": \"flood\"}");
    EXPECT(desk_wait(flood_summarised, NULL, 60000));
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    desk_spin(700);
    guint popups = calls_with_prefix("flood", flood_start);
    guint summaries = calls_with_prefix("", flood_start) - popups;
    fprintf(stderr, "flood: 10000 messages in %.2f s -> %u popups + %u summary updates\n", secs,
            popups, summaries);
    /* What the bucket allows (burst 10, 2/s) and one summary per 300 ms
     * tick, however slow this machine is; either way far below 10,000. */
    EXPECT(popups >= 1 && popups <= 10 + 2 * (secs + 1));
    EXPECT(summaries >= 1 && summaries <= 2 + (secs + 1) / 0.3);
    EXPECT(popups + summaries < 200);
    /* Every summary update replaced the first one in place. */
    GPtrArray *calls = desk_monitor_calls(env);
    guint32 first = 0;
    for (guint i = flood_start; i < calls->len; i++) {
        desk_notify *n = calls->pdata[i];
        if (!strstr(n->summary, "more from build"))
            continue;
        if (!first)
            first = n->returned_id;
        else
            EXPECT(n->replaces_id == first);
    }
    g_ptr_array_unref(calls);
}

static void test_restart(const char *shot)
{
    send("build:notify", "{\"title\": \"Release 2.0 is out\", \"body\": \"Tagged v2.0.0 and "
                         "published the packages.\"}");
    EXPECT(desk_wait(call_seen, "Release 2.0 is out", 10000));
    desk_spin(400);
    EXPECT(desk_screenshot(env, shot));

    desk_dunst_kill(env);
    EXPECT(desk_wait(daemon_is, "down", 15000));
    send("build:notify", "{\"title\": \"Sent while the daemon was away\"}");
    desk_spin(200);
    EXPECT(desk_dunst_start(env));
    EXPECT(desk_wait(call_seen, "Sent while the daemon was away", 15000));
    send("build:notify", "{\"title\": \"After the restart\"}");
    EXPECT(desk_wait(call_seen, "After the restart", 10000));
}

int main(void)
{
    char *why = NULL;
    env = desk_env_start(&why);
    if (!env) {
        fprintf(stderr, "skipped: %s\n", why);
        g_free(why);
        return DESK_SKIP;
    }
    EXPECT(desk_monitor_start(env));
    got = g_ptr_array_new_with_free_func(g_free);

    bus = bmq_bus_new();
    bmq_follower *f1 = bmq_follow(bus, "build:*", record_cb, NULL, NULL);
    bmq_follower *f2 = bmq_follow(bus, "_notify:*", record_cb, NULL, NULL);
    char *data = g_build_filename(desk_env_dir(env), "instances", NULL);
    bmq_plugin_host *host = bmq_plugin_host_new(bus, NULL, data);
    bmq_plugin_host_set_log(host, log_cb, NULL);
    bmq_plugin_host_add_dir(host, g_getenv("BMQ_PLUGIN_BUILD_DIR"));
    json_object *cfg = json_tokener_parse("{\"summary_interval_ms\": 300}");
    char *err = NULL;
    inst = bmq_instance_create(host, "notify", "notify", cfg, NULL, &err);
    json_object_put(cfg);
    if (!inst) {
        fprintf(stderr, "notify instance: %s\n", err);
        g_free(err);
        check_failures++;
    } else {
        test_no_daemon_then_daemon();
        test_fields();
        test_bad_utf8();
        test_replace();
        test_actions_and_close();
        test_pause();
        test_flood();
        char *dir = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "test-artifacts", NULL);
        g_mkdir_with_parents(dir, 0755);
        char *shot = g_build_filename(dir, "desktop-notify.png", NULL);
        test_restart(shot);
        g_free(shot);
        g_free(dir);
    }
    bmq_plugin_host_free(host);
    bmq_unfollow(f1);
    bmq_unfollow(f2);
    bmq_bus_free(bus);
    g_free(data);
    g_ptr_array_unref(got);
    desk_env_stop(env);
    return check_result();
}
