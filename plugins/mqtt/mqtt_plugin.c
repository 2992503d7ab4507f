/* mqtt_plugin.c - the "mqtt" plugin: bridges berryMQ messages to an MQTT
 * broker and back. Descriptor, instance lifetime and status; the network
 * side lives in mqtt_link.c, the topic/payload mapping in mqtt_map.c. */
#include <string.h>

#include "mqtt_bridge.h"
#include "mqtt_map.h"

/* user_data of one publish follower: pattern @index of the publish list. */
typedef struct mqtt_follow_ctx {
    mqtt_bridge *b;
    unsigned index;
} mqtt_follow_ctx;

static void on_local(const bmq_message *m, void *user_data)
{
    mqtt_follow_ctx *fc = user_data;
    mqtt_bridge *b = fc->b;
    /* Local messages never leave the hub. */
    if (bmq_message_is_local(m))
        return;
    /* With overlapping publish patterns only the first matching follower
     * publishes, so each message goes out once. */
    for (unsigned j = 0; j < fc->index; j++)
        if (bmq_id_match(b->cfg.publish[j], bmq_message_id(m)))
            return;
    /* Those we injected from the broker must not go back to it; the
     * durable outbox moves past them. */
    if (bmq_message_origin(m) == (const void *)b) {
        mqtt_outbox__take(b, m, true);
        return;
    }
    if (mqtt_outbox__hold(b, m))
        return; /* the history cursor gives it back, or it waits behind the backlog */
    mqtt_link__publish(b, m);
}

static void bridge_free(mqtt_bridge *b)
{
    if (b->followers != NULL) {
        for (guint i = 0; i < b->followers->len; i++)
            b->host->unfollow(b->host, g_ptr_array_index(b->followers, i));
        g_ptr_array_free(b->followers, TRUE);
    }
    mqtt_link__stop(b);
    mqtt_outbox__clear(b);
    if (b->tok != NULL)
        json_tokener_free(b->tok);
    g_strfreev(b->filters);
    g_free(b->topic_online);
    g_free(b->topic_offline);
    g_free(b->origin_json);
    g_free(b->follow_ctx);
    mqtt_config__clear(&b->cfg);
    g_mutex_clear(&b->lock);
    g_cond_clear(&b->cond);
    g_mutex_clear(&b->seen_lock);
    g_mutex_clear(&b->handoff_lock);
    g_mutex_clear(&b->drain_lock);
    g_free(b);
}

static int make_filters(mqtt_bridge *b, char **error)
{
    GPtrArray *a = g_ptr_array_new();
    for (char **p = b->cfg.subscribe; *p; p++) {
        char *f = mqtt_map__filter(b->cfg.prefix, *p, error);
        if (f == NULL) {
            g_ptr_array_set_free_func(a, g_free);
            g_ptr_array_free(a, TRUE);
            return -BMQ_EINVAL;
        }
        bool dup = false; /* the broker would deliver twice for a repeated filter */
        for (guint i = 0; i < a->len && !dup; i++)
            dup = strcmp(g_ptr_array_index(a, i), f) == 0;
        if (dup)
            g_free(f);
        else
            g_ptr_array_add(a, f);
    }
    g_ptr_array_add(a, NULL);
    b->filters = (char **)g_ptr_array_free(a, FALSE);
    return 0;
}

static void *mqtt_create(const bmq_host *host, json_object *config, char **error)
{
    mqtt_bridge *b = g_new0(mqtt_bridge, 1);
    b->host = host;
    g_mutex_init(&b->lock);
    g_cond_init(&b->cond);
    g_mutex_init(&b->seen_lock);
    g_mutex_init(&b->handoff_lock);
    g_mutex_init(&b->drain_lock);
    g_mutex_init(&b->out_lock);
    g_queue_init(&b->buffer);
    g_queue_init(&b->track);
    g_queue_init(&b->held);
    g_queue_init(&b->handoff);
    b->tok = json_tokener_new();

    const char *node = BMQ_HOST_HAS(host, node_id) ? host->node_id : NULL;
    if (mqtt_config__parse(config, node, host->instance_id, &b->cfg, error) != 0 ||
        make_filters(b, error) != 0) {
        bridge_free(b);
        return NULL;
    }
    b->prefix_len = strlen(b->cfg.prefix);
    json_object *s = json_object_new_string(b->cfg.hub_id);
    b->origin_json = g_strdup(json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
    json_object_put(s);
    b->topic_online = mqtt_map__topic(b->cfg.prefix, "", b->cfg.hub_id, "online");
    b->topic_offline = mqtt_map__topic(b->cfg.prefix, "", b->cfg.hub_id, "offline");

    mqtt_outbox__init(b);
    if (mqtt_link__start(b, error) != 0) {
        bridge_free(b);
        return NULL;
    }
    unsigned n = g_strv_length(b->cfg.publish);
    b->follow_ctx = g_new0(mqtt_follow_ctx, n ? n : 1);
    b->followers = g_ptr_array_new();
    for (unsigned i = 0; i < n; i++) {
        b->follow_ctx[i].b = b;
        b->follow_ctx[i].index = i;
        bmq_follower *f = host->follow(host, b->cfg.publish[i], on_local, NULL, &b->follow_ctx[i],
                                       BMQ_FOLLOW_ANY_THREAD);
        if (f == NULL) {
            *error = g_strdup_printf("cannot follow \"%s\"", b->cfg.publish[i]);
            bridge_free(b);
            return NULL;
        }
        g_ptr_array_add(b->followers, f);
    }
    mqtt_outbox__open(b);
    host->log(host, BMQ_LOG_INFO, "bridging to %s:%d (hub id %s, prefix %s, qos %d)", b->cfg.host,
              b->cfg.port, b->cfg.hub_id, b->cfg.prefix, b->cfg.qos);
    return b;
}

static void mqtt_destroy(void *instance)
{
    if (instance != NULL)
        bridge_free(instance);
}

static json_object *mqtt_status(void *instance)
{
    mqtt_bridge *b = instance;
    g_mutex_lock(&b->lock);
    unsigned buffered = b->buffer.length;
    g_mutex_unlock(&b->lock);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "connected", json_object_new_boolean(atomic_load(&b->connected)));
    json_object_object_add(o, "published",
                           json_object_new_int64((int64_t)atomic_load(&b->published)));
    json_object_object_add(o, "received",
                           json_object_new_int64((int64_t)atomic_load(&b->received)));
    json_object_object_add(o, "dropped", json_object_new_int64((int64_t)atomic_load(&b->dropped)));
    json_object_object_add(o, "buffered", json_object_new_int64(buffered));
    json_object_object_add(o, "duplicates",
                           json_object_new_int64((int64_t)atomic_load(&b->duplicates)));
    json_object_object_add(o, "invalid", json_object_new_int64((int64_t)atomic_load(&b->invalid)));
    json_object_object_add(o, "connects",
                           json_object_new_int64((int64_t)atomic_load(&b->connects)));
    char *broker =
        g_strdup_printf("%s://%s:%d", b->cfg.tls ? "mqtts" : "mqtt", b->cfg.host, b->cfg.port);
    json_object_object_add(o, "broker", json_object_new_string(broker));
    g_free(broker);
    json_object_object_add(o, "hub_id", json_object_new_string(b->cfg.hub_id));
    mqtt_outbox__status(b, o);
    return o;
}

static const bmq_plugin_descriptor mqtt_descriptor = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "mqtt",
    .version = "1.0",
    .description = "Bridges berryMQ messages to an MQTT broker and back",
    .create = mqtt_create,
    .destroy = mqtt_destroy,
    .reconfigure = NULL,
    .status = mqtt_status,
};

BMQ_PLUGIN_DEFINE(mqtt_descriptor)
