/* badabi.c - a plugin speaking an ABI version no host supports. */
#include <berrymq/plugin.h>

static void *ba_create(const bmq_host *host, json_object *config, char **error)
{
    return NULL;
}

static void ba_destroy(void *instance)
{
}

static const bmq_plugin_descriptor descriptor = {
    .abi = 99,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "badabi",
    .version = "1.0",
    .description = "test plugin with a future ABI",
    .create = ba_create,
    .destroy = ba_destroy,
};

BMQ_PLUGIN_DEFINE(descriptor)
