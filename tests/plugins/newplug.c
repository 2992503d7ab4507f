/* newplug.c - a plugin built against a newer header than the host's: its
 * host table and descriptor each have one more member at the end. On this
 * (older) host BMQ_STRUCT_HAS must say the newer host member is absent, so
 * the plugin falls back, and the host must accept the longer descriptor
 * and ignore the member it does not know. Its status reports what it saw.
 */
#include <berrymq/plugin.h>

/* The host table and descriptor of the "newer header". */
typedef struct newer_host {
    bmq_host now;
    int (*from_the_future)(const bmq_host *h, int x);
} newer_host;

typedef struct newer_descriptor {
    bmq_plugin_descriptor now;
    void (*from_the_future)(void *instance);
} newer_descriptor;

typedef struct {
    const bmq_host *host;
    bool has_future;
} newplug;

static void *np_create(const bmq_host *host, json_object *config, char **error)
{
    (void)config;
    (void)error;
    newplug *n = g_new0(newplug, 1);
    n->host = host;
    n->has_future = BMQ_STRUCT_HAS(host->size, newer_host, from_the_future);
    if (n->has_future)
        ((const newer_host *)host)->from_the_future(host, 1);
    return n;
}

static void np_destroy(void *instance)
{
    g_free(instance);
}

static json_object *np_status(void *instance)
{
    newplug *n = instance;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "host_size", json_object_new_int64((int64_t)n->host->size));
    json_object_object_add(o, "has_invoke", json_object_new_boolean(BMQ_HOST_HAS(n->host, invoke)));
    json_object_object_add(o, "has_future", json_object_new_boolean(n->has_future));
    return o;
}

static void future_member(void *instance)
{
    (void)instance;
    g_error("the host called a descriptor member it cannot know");
}

static const newer_descriptor newplug_desc = {
    .now =
        {
            .abi = BMQ_PLUGIN_ABI_1,
            .size = sizeof(newer_descriptor),
            .name = "newplug",
            .version = "2.0",
            .description = "test plugin built against a newer header",
            .create = np_create,
            .destroy = np_destroy,
            .status = np_status,
        },
    .from_the_future = future_member,
};

BMQ_PLUGIN_DEFINE(newplug_desc.now)
