/* legacyplug.c - a plugin built against the ABI 1 header from before the
 * descriptor had a size: abi, then (after padding) name ... status and
 * reserved pointers. The padding after abi reads as size 0, which the host
 * takes as that original layout, status included. Deliberately does not
 * include berrymq/plugin.h. */
#include <glib.h>

#include <berrymq/berrymq.h>

typedef struct legacy_descriptor {
    uint32_t abi;
    const char *name;
    const char *version;
    const char *description;
    void *(*create)(const void *host, json_object *config, char **error);
    void (*destroy)(void *instance);
    int (*reconfigure)(void *instance, json_object *config, char **error);
    json_object *(*status)(void *instance);
    void *reserved[8];
} legacy_descriptor;

static void *lp_create(const void *host, json_object *config, char **error)
{
    (void)host;
    (void)config;
    (void)error;
    return g_new0(int, 1);
}

static void lp_destroy(void *instance)
{
    g_free(instance);
}

static json_object *lp_status(void *instance)
{
    (void)instance;
    return json_object_new_string("legacy status");
}

static const legacy_descriptor legacyplug_desc = {
    .abi = 1,
    .name = "legacyplug",
    .version = "0.1",
    .description = "test plugin from before the descriptor size",
    .create = lp_create,
    .destroy = lp_destroy,
    .status = lp_status,
};

__attribute__((visibility("default"))) const void *bmq_plugin_entry(uint32_t abi_min,
                                                                    uint32_t abi_max);
__attribute__((visibility("default"))) const void *bmq_plugin_entry(uint32_t abi_min,
                                                                    uint32_t abi_max)
{
    return abi_min <= 1 && 1 <= abi_max ? &legacyplug_desc : NULL;
}
