/* hangload.c - a plugin whose loading never finishes: its constructor
 * blocks forever, as one waiting on a lock or a device would. */
#include <stdio.h>
#include <unistd.h>

#include <berrymq/plugin.h>

__attribute__((constructor)) static void hang_at_load(void)
{
    fputs("hangload: loading\n", stderr);
    fflush(stderr);
    for (;;)
        sleep(1000);
}

static void *hl_create(const bmq_host *host, json_object *config, char **error)
{
    (void)host;
    (void)config;
    (void)error;
    return NULL;
}

static void hl_destroy(void *instance)
{
    (void)instance;
}

static const bmq_plugin_descriptor desc = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "hangload",
    .version = "1.0",
    .description = "never finishes loading",
    .create = hl_create,
    .destroy = hl_destroy,
};

BMQ_PLUGIN_DEFINE(desc)
