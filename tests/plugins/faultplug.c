/* faultplug.c - a plugin that fails the hard way, on request.
 *
 * Config keys (all optional):
 *   "crash"  "create": NULL dereference in create(); "abort": abort() in
 *            create(); "follower": NULL dereference in the follower of
 *            ID:go; "timeout": in a timeout_add callback
 *   "hang"   "create": create() never returns
 *   "exit"   "follower": exit(3) in the follower of ID:go
 * Otherwise it follows ID:go and answers ID:went.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <berrymq/plugin.h>

typedef struct {
    const bmq_host *host;
    char *crash;
    char *exit_in;
} faultplug;

static const char *cfg_str(json_object *cfg, const char *key)
{
    json_object *v;
    if (json_object_object_get_ex(cfg, key, &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return "";
}

static void segfault(void)
{
    volatile int *volatile p = NULL;
    *p = 42;
}

static void on_go(const bmq_message *msg, void *user_data)
{
    (void)msg;
    faultplug *f = user_data;
    if (strcmp(f->crash, "follower") == 0)
        segfault();
    if (strcmp(f->exit_in, "follower") == 0)
        exit(3);
    char *id = g_strdup_printf("%s:went", f->host->instance_id);
    f->host->twitter(f->host, id, NULL, NULL);
    g_free(id);
}

static gboolean on_timeout(gpointer data)
{
    (void)data;
    segfault();
    return G_SOURCE_REMOVE;
}

static void *fp_create(const bmq_host *host, json_object *config, char **error)
{
    (void)error;
    const char *crash = cfg_str(config, "crash");
    if (strcmp(crash, "create") == 0)
        segfault();
    if (strcmp(crash, "abort") == 0)
        abort();
    if (strcmp(cfg_str(config, "hang"), "create") == 0)
        for (;;)
            sleep(1000);
    faultplug *f = g_new0(faultplug, 1);
    f->host = host;
    f->crash = g_strdup(crash);
    f->exit_in = g_strdup(cfg_str(config, "exit"));
    char *pattern = g_strdup_printf("%s:go", host->instance_id);
    host->follow(host, pattern, on_go, NULL, f, BMQ_FOLLOW_MAIN_THREAD);
    g_free(pattern);
    if (strcmp(crash, "timeout") == 0)
        host->timeout_add(host, 50, on_timeout, f);
    return f;
}

static void fp_destroy(void *instance)
{
    faultplug *f = instance;
    g_free(f->crash);
    g_free(f->exit_in);
    g_free(f);
}

static const bmq_plugin_descriptor desc = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "faultplug",
    .version = "1.0",
    .description = "fails on request: crashes, hangs, exit()",
    .create = fp_create,
    .destroy = fp_destroy,
};

BMQ_PLUGIN_DEFINE(desc)
