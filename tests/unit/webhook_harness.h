/* webhook_harness.h - shared by the webhook plugin tests: the real plugin
 * host on a real bus, instances created from JSON text, their status and
 * log lines, and the loopback HTTP server of tests/support. Header-only:
 * each test is one executable. */
#ifndef WEBHOOK_HARNESS_H
#define WEBHOOK_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <berrymq/host.h>

#include "check.h"
#include "http_server.h"

typedef struct fixture {
    bmq_bus *bus;
    bmq_plugin_host *host;
    char *data_root;
    GMutex lock;
    GPtrArray *logs; /* char* "LEVEL ID LINE" */
} fixture;

G_GNUC_UNUSED static void fx_on_log(int level, const char *id, const char *line, void *ud)
{
    fixture *fx = ud;
    g_mutex_lock(&fx->lock);
    g_ptr_array_add(fx->logs, g_strdup_printf("%d %s %s", level, id ? id : "-", line));
    g_mutex_unlock(&fx->lock);
    if (g_getenv("BMQ_TEST_VERBOSE"))
        fprintf(stderr, "log %d [%s] %s\n", level, id ? id : "-", line);
}

G_GNUC_UNUSED static void fx_init(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    g_mutex_init(&fx->lock);
    fx->bus = bmq_bus_new();
    fx->data_root = g_dir_make_tmp("bmq-webhook-XXXXXX", NULL);
    CHECK(fx->data_root != NULL);
    fx->host = bmq_plugin_host_new(fx->bus, NULL, fx->data_root);
    bmq_plugin_host_set_log(fx->host, fx_on_log, fx);
    const char *dir = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    CHECK(dir != NULL);
    bmq_plugin_host_add_dir(fx->host, dir);
    fx->logs = g_ptr_array_new_with_free_func(g_free);
}

G_GNUC_UNUSED static void fx_free(fixture *fx)
{
    bmq_plugin_host_free(fx->host);
    bmq_bus_free(fx->bus);
    char *argv[] = {"rm", "-rf", fx->data_root, NULL};
    CHECK(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL));
    g_free(fx->data_root);
    g_ptr_array_free(fx->logs, TRUE);
    g_mutex_clear(&fx->lock);
}

/* Create a webhook instance from JSON text (printf-style). NULL with
 * *error when the plugin refuses the config. */
G_GNUC_UNUSED G_GNUC_PRINTF(4, 5) static bmq_instance *fx_create(fixture *fx, const char *id,
                                                                 char **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *json = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_object *cfg = json_tokener_parse(json);
    if (!cfg)
        fprintf(stderr, "bad test config: %s\n", json);
    CHECK(cfg != NULL);
    char *err = NULL;
    bmq_instance *inst = bmq_instance_create(fx->host, "webhook", id, cfg, NULL, &err);
    json_object_put(cfg);
    g_free(json);
    if (error)
        *error = err;
    else
        g_free(err);
    return inst;
}

/* An instance that must be created. */
#define FX_NEW(fx, id, ...)                                                                        \
    ({                                                                                             \
        char *e_ = NULL;                                                                           \
        bmq_instance *i_ = fx_create((fx), (id), &e_, __VA_ARGS__);                                \
        if (!i_)                                                                                   \
            fprintf(stderr, "%s:%d: create failed: %s\n", __FILE__, __LINE__, e_);                 \
        CHECK(i_ != NULL);                                                                         \
        i_;                                                                                        \
    })

G_GNUC_UNUSED static void fx_send(fixture *fx, const char *id, const char *args, const char *kwargs)
{
    CHECK_EQ(bmq_twitter_json(fx->bus, id, args, kwargs), 0);
}

/* status.KEY of an instance (transfer full), NULL when absent. */
G_GNUC_UNUSED static json_object *fx_status(bmq_instance *inst, const char *key)
{
    json_object *st = bmq_instance_status(inst), *s, *v = NULL;
    if (json_object_object_get_ex(st, "status", &s) && json_object_object_get_ex(s, key, &v))
        v = json_object_get(v);
    json_object_put(st);
    return v;
}

G_GNUC_UNUSED static int64_t fx_stat(bmq_instance *inst, const char *key)
{
    json_object *v = fx_status(inst, key);
    int64_t r = v ? json_object_get_int64(v) : -1;
    json_object_put(v);
    return r;
}

/* status.KEY as text (transfer full): "null" when null or absent. */
G_GNUC_UNUSED static char *fx_stat_str(bmq_instance *inst, const char *key)
{
    json_object *v = fx_status(inst, key);
    char *r = g_strdup(v ? json_object_get_string(v) : "null");
    json_object_put(v);
    return r;
}

/* Wait (turning the default main context) until status.KEY == want. */
G_GNUC_UNUSED static bool fx_wait_stat(bmq_instance *inst, const char *key, int64_t want,
                                       double timeout_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    while (fx_stat(inst, key) != want && g_get_monotonic_time() < end) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(2000);
    }
    return fx_stat(inst, key) == want;
}

/* Does any log line contain @needle? */
G_GNUC_UNUSED static bool fx_logged(fixture *fx, const char *needle)
{
    bool found = false;
    g_mutex_lock(&fx->lock);
    for (guint i = 0; i < fx->logs->len && !found; i++)
        found = strstr(fx->logs->pdata[i], needle) != NULL;
    g_mutex_unlock(&fx->lock);
    return found;
}

G_GNUC_UNUSED static bool fx_wait_logged(fixture *fx, const char *needle, double timeout_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    while (!fx_logged(fx, needle) && g_get_monotonic_time() < end)
        g_usleep(2000);
    return fx_logged(fx, needle);
}

G_GNUC_UNUSED static void fx_dump_logs(fixture *fx)
{
    g_mutex_lock(&fx->lock);
    for (guint i = 0; i < fx->logs->len; i++)
        fprintf(stderr, "  log: %s\n", (const char *)fx->logs->pdata[i]);
    g_mutex_unlock(&fx->lock);
}

/* A loopback port with nothing listening (bound, then closed). */
G_GNUC_UNUSED static int fx_free_port(void)
{
    hs_server *s = hs_start(0, NULL, NULL);
    CHECK(s != NULL);
    int port = hs_port(s);
    hs_stop(s);
    return port;
}

#define WAIT_S 30.0 /* generous: sanitizers and a busy machine */

#endif /* WEBHOOK_HARNESS_H */
