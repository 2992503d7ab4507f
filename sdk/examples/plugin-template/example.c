/* example.c - a minimal berryMQ hub plugin. Copy this folder, rename
 * "example", and build it with `make` (pkg-config) or CMake.
 *
 * Each instance follows "ID:ping" (ID is the instance id from hub.json) and
 * answers with "ID:pong", echoing the args and adding the configured
 * greeting. Config: {"greeting": "hello"}.
 */
#include <berrymq/plugin.h>

typedef struct {
    const bmq_host *host; /* (transfer none) valid until destroy */
    bmq_follower *ping; /* (transfer none) owned by the host */
    char *greeting;
    unsigned count;
} example;

/* Runs on the hub's main thread (the default for host->follow). */
static void on_ping(const bmq_message *msg, void *user_data)
{
    example *ex = user_data;
    ex->count++;
    ex->host->log(ex->host, BMQ_LOG_INFO, "ping received (%u so far)", ex->count);
    json_object *args = NULL;
    json_object_deep_copy(bmq_message_args(msg), &args, NULL);
    json_object *kwargs = json_object_new_object();
    json_object_object_add(kwargs, "greeting", json_object_new_string(ex->greeting));
    char *id = g_strdup_printf("%s:pong", ex->host->instance_id);
    ex->host->twitter(ex->host, id, args, kwargs); /* args/kwargs: transfer full */
    g_free(id);
}

static void *example_create(const bmq_host *host, json_object *config, char **error)
{
    json_object *v = NULL;
    const char *greeting = "hello";
    if (json_object_object_get_ex(config, "greeting", &v)) {
        if (!json_object_is_type(v, json_type_string)) {
            *error = g_strdup("\"greeting\" must be a string");
            return NULL;
        }
        greeting = json_object_get_string(v);
    }
    example *ex = g_new0(example, 1);
    ex->host = host;
    ex->greeting = g_strdup(greeting);
    char *pattern = g_strdup_printf("%s:ping", host->instance_id);
    ex->ping = host->follow(host, pattern, on_ping, NULL, ex, BMQ_FOLLOW_MAIN_THREAD);
    g_free(pattern);
    host->log(host, BMQ_LOG_INFO, "example plugin ready (greeting \"%s\")", ex->greeting);
    return ex;
}

static void example_destroy(void *instance)
{
    example *ex = instance;
    /* Optional: the host removes anything still registered anyway. */
    ex->host->unfollow(ex->host, ex->ping);
    g_free(ex->greeting);
    g_free(ex);
}

static json_object *example_status(void *instance)
{
    example *ex = instance;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "pings", json_object_new_int((int)ex->count));
    return o;
}

static const bmq_plugin_descriptor example_descriptor = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "example",
    .version = "1.0",
    .description = "Answers ID:ping with ID:pong",
    .create = example_create,
    .destroy = example_destroy,
    .status = example_status,
};

BMQ_PLUGIN_DEFINE(example_descriptor)
