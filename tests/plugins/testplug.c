/* testplug.c - a well-behaved test plugin exercising the host table.
 *
 * Config keys (all optional):
 *   "follow"   pattern to follow on the main thread (default "ID:ping");
 *              each message is answered with "ID:pong", args copied,
 *              kwargs {"main_thread": bool, "received": n, "greeting": s}
 *   "greeting" string reported in pongs and status (default "hello")
 *   "tick_ms"  attach a tracked timeout sending "ID:tick" every tick_ms
 *   "queue"    create a tracked queue on this pattern
 *   "thread"   true: a plugin thread hands "ID:invoked" back via invoke()
 *   "leak"     true: destroy() does not unregister anything (the host must)
 *   "journal"  file to append "create ID" / "reconfigure ID" / "destroy ID"
 *   "reject"   true in a reconfigure config: reconfigure() fails
 *   "relay"    true: "ID:relay" messages [id, args] make the instance send
 *              id with args in-process, as the tray does with local ids
 * Built twice: as "testplug" (with reconfigure) and, with
 * TESTPLUG_NO_RECONFIGURE, as "testplug_norecfg" (the host recreates).
 */
#include <stdio.h>
#include <string.h>

#include <berrymq/plugin.h>

typedef struct {
    const bmq_host *host;
    bmq_follower *follower;
    bmq_follower *relay;
    bmq_queue *queue;
    guint tick;
    GThread *thread;
    int received;
    char *greeting;
    bool leak;
} testplug;

static const char *cfg_str(json_object *cfg, const char *key, const char *def)
{
    json_object *v;
    if (json_object_object_get_ex(cfg, key, &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return def;
}

static bool cfg_bool(json_object *cfg, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(cfg, key, &v) && json_object_get_boolean(v);
}

static int cfg_int(json_object *cfg, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(cfg, key, &v) ? json_object_get_int(v) : 0;
}

static void journal(const bmq_host *host, json_object *cfg, const char *what)
{
    const char *path = cfg_str(cfg, "journal", NULL);
    if (!path)
        return;
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s %s\n", what, host->instance_id);
        fclose(f);
    }
}

static void on_ping(const bmq_message *msg, void *user_data)
{
    testplug *t = user_data;
    t->received++;
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "main_thread",
                           json_object_new_boolean(g_main_context_is_owner(t->host->context)));
    json_object_object_add(kw, "received", json_object_new_int(t->received));
    json_object_object_add(kw, "greeting", json_object_new_string(t->greeting));
    json_object *args = NULL;
    json_object_deep_copy(bmq_message_args(msg), &args, NULL);
    char *id = g_strdup_printf("%s:pong", t->host->instance_id);
    t->host->twitter(t->host, id, args, kw);
    g_free(id);
}

static void on_relay(const bmq_message *msg, void *user_data)
{
    testplug *t = user_data;
    json_object *a = bmq_message_args(msg);
    json_object *id = json_object_array_length(a) > 0 ? json_object_array_get_idx(a, 0) : NULL;
    json_object *args = json_object_array_length(a) > 1 ? json_object_array_get_idx(a, 1) : NULL;
    if (!json_object_is_type(id, json_type_string))
        return;
    json_object *copy = NULL;
    if (json_object_is_type(args, json_type_array))
        json_object_deep_copy(args, &copy, NULL);
    t->host->twitter(t->host, json_object_get_string(id), copy, NULL);
}

static gboolean on_tick(gpointer data)
{
    testplug *t = data;
    char *id = g_strdup_printf("%s:tick", t->host->instance_id);
    t->host->twitter(t->host, id, NULL, NULL);
    g_free(id);
    return G_SOURCE_CONTINUE;
}

static void invoked(void *data)
{
    testplug *t = data;
    char *id = g_strdup_printf("%s:invoked", t->host->instance_id);
    t->host->twitter(t->host, id, NULL, NULL);
    g_free(id);
}

static gpointer thread_main(gpointer data)
{
    testplug *t = data;
    t->host->log(t->host, BMQ_LOG_INFO, "hello from a plugin thread");
    t->host->invoke(t->host, invoked, t, NULL);
    return NULL;
}

static void *tp_create(const bmq_host *host, json_object *config, char **error)
{
    testplug *t = g_new0(testplug, 1);
    t->host = host;
    t->greeting = g_strdup(cfg_str(config, "greeting", "hello"));
    t->leak = cfg_bool(config, "leak");
    char *def = g_strdup_printf("%s:ping", host->instance_id);
    const char *pattern = cfg_str(config, "follow", def);
    t->follower = host->follow(host, pattern, on_ping, NULL, t, BMQ_FOLLOW_MAIN_THREAD);
    if (!t->follower) {
        *error = g_strdup_printf("bad follow pattern '%s'", pattern);
        g_free(def);
        g_free(t->greeting);
        g_free(t);
        return NULL;
    }
    g_free(def);
    if (cfg_bool(config, "relay")) {
        char *rid = g_strdup_printf("%s:relay", host->instance_id);
        t->relay = host->follow(host, rid, on_relay, NULL, t, BMQ_FOLLOW_MAIN_THREAD);
        g_free(rid);
    }
    if (cfg_int(config, "tick_ms") > 0)
        t->tick = host->timeout_add(host, (guint)cfg_int(config, "tick_ms"), on_tick, t);
    const char *qpat = cfg_str(config, "queue", NULL);
    if (qpat)
        t->queue = host->queue_new(host, qpat, false);
    if (cfg_bool(config, "thread"))
        t->thread = g_thread_new("testplug", thread_main, t);
    host->log(host, BMQ_LOG_INFO, "testplug created (greeting %s)", t->greeting);
    journal(host, config, "create");
    return t;
}

static void tp_destroy(void *instance)
{
    testplug *t = instance;
    if (t->thread)
        g_thread_join(t->thread);
    if (!t->leak) {
        t->host->unfollow(t->host, t->follower);
        if (t->relay)
            t->host->unfollow(t->host, t->relay);
        t->host->source_remove(t->host, t->tick);
        t->host->queue_free(t->host, t->queue);
    }
    t->host->log(t->host, BMQ_LOG_INFO, "testplug destroyed");
    journal(t->host, t->host->config, "destroy");
    g_free(t->greeting);
    g_free(t);
}

#ifndef TESTPLUG_NO_RECONFIGURE
static int tp_reconfigure(void *instance, json_object *config, char **error)
{
    testplug *t = instance;
    if (cfg_bool(config, "reject")) {
        *error = g_strdup("reconfigure rejected on request");
        return -BMQ_EINVAL;
    }
    g_free(t->greeting);
    t->greeting = g_strdup(cfg_str(config, "greeting", "hello"));
    journal(t->host, config, "reconfigure");
    return 0;
}
#endif

static json_object *tp_status(void *instance)
{
    testplug *t = instance;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "received", json_object_new_int(t->received));
    json_object_object_add(o, "greeting", json_object_new_string(t->greeting));
    return o;
}

static const bmq_plugin_descriptor descriptor = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
#ifdef TESTPLUG_NO_RECONFIGURE
    .name = "testplug_norecfg",
    .description = "test plugin without in-place reconfigure",
#else
    .name = "testplug",
    .description = "test plugin: ping/pong, ticks, queues, threads",
    .reconfigure = tp_reconfigure,
#endif
    .version = "1.0",
    .create = tp_create,
    .destroy = tp_destroy,
    .status = tp_status,
};

BMQ_PLUGIN_DEFINE(descriptor)
