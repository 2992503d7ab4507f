/* oldplug.c - a plugin built against an older, shorter ABI 1 header: its
 * host table ends at twitter and its descriptor at destroy. The descriptor
 * is followed by pointers that would crash if the host read them as the
 * newer reconfigure/status fields. The host must run it, never read past
 * the descriptor's size, and treat the missing fields as absent.
 * With OLDPLUG_TINY, as "tinyplug", the size is too small for any ABI 1
 * descriptor and the host must refuse it. Deliberately does not include
 * berrymq/plugin.h. */
#include <glib.h>

#include <berrymq/berrymq.h>

typedef struct old_host old_host;
struct old_host {
    size_t size;
    uint32_t abi;
    const char *instance_id;
    const char *data_dir;
    json_object *config;
    GMainContext *context;
    const char *node_id;
    void *priv;
    int (*twitter)(const old_host *h, const char *id, json_object *args, json_object *kwargs);
};

typedef struct old_descriptor {
    uint32_t abi;
    uint32_t size;
    const char *name;
    const char *version;
    const char *description;
    void *(*create)(const old_host *host, json_object *config, char **error);
    void (*destroy)(void *instance);
} old_descriptor;

static void *op_create(const old_host *host, json_object *config, char **error)
{
    (void)config;
    (void)error;
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "abi", json_object_new_int((int)host->abi));
    json_object_object_add(kw, "covers_old_table",
                           json_object_new_boolean(host->size >= sizeof(old_host)));
    char *id = g_strdup_printf("%s:hello", host->instance_id);
    host->twitter(host, id, NULL, kw);
    g_free(id);
    return g_strdup(host->instance_id);
}

static void op_destroy(void *instance)
{
    g_free(instance);
}

/* What follows the descriptor in memory: never to be called. */
static void *trap(void *a, void *b, void *c)
{
    (void)a;
    (void)b;
    (void)c;
    g_error("the host read past the descriptor's size");
    return NULL;
}

static const struct {
    old_descriptor d;
    void *(*after[4])(void *, void *, void *);
} oldplug_desc = {
    .d =
        {
            .abi = 1,
#ifdef OLDPLUG_TINY
            .size = 2 * sizeof(uint32_t),
            .name = "tinyplug",
#else
            .size = sizeof(old_descriptor),
            .name = "oldplug",
#endif
            .version = "0.9",
            .description = "test plugin built against a shorter ABI 1 header",
            .create = op_create,
            .destroy = op_destroy,
        },
    .after = {trap, trap, trap, trap},
};

__attribute__((visibility("default"))) const void *bmq_plugin_entry(uint32_t abi_min,
                                                                    uint32_t abi_max);
__attribute__((visibility("default"))) const void *bmq_plugin_entry(uint32_t abi_min,
                                                                    uint32_t abi_max)
{
    return abi_min <= 1 && 1 <= abi_max ? &oldplug_desc.d : NULL;
}
