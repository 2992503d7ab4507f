/* failplug.c - a plugin whose create() always fails, after registering a
 * follower and a timeout that the host must remove. */
#include <berrymq/plugin.h>

static void on_any(const bmq_message *msg, void *user_data)
{
}

static gboolean on_timeout(gpointer data)
{
    return G_SOURCE_CONTINUE;
}

static void *fp_create(const bmq_host *host, json_object *config, char **error)
{
    host->follow(host, "failplug:*", on_any, NULL, NULL, BMQ_FOLLOW_MAIN_THREAD);
    host->timeout_add(host, 1000, on_timeout, NULL);
    *error = g_strdup("failplug refuses to start");
    return NULL;
}

static void fp_destroy(void *instance)
{
}

static const bmq_plugin_descriptor descriptor = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "failplug",
    .version = "1.0",
    .description = "test plugin whose create fails",
    .create = fp_create,
    .destroy = fp_destroy,
};

BMQ_PLUGIN_DEFINE(descriptor)
