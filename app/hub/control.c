/* control.c - local control messages for the tray and other in-process
 * clients (_hub:quit, _hub:enable, _hub:disable, _hub:query) and config
 * reload (links.c keeps the links to other hubs).
 *
 * Control followers may be called from inside a plugin's own callback (a
 * tray menu sends _hub:disable for itself): they never act in place but
 * queue the message to the main loop (bmq_plugin_host_invoke without
 * waiting), so an instance is never destroyed under its own feet.
 */
#include <string.h>

#include "hub.h"

typedef struct {
    hub *h;
    bmq_message *msg;
} deferred;

static void deferred_free(gpointer data)
{
    deferred *d = data;
    bmq_message_unref(d->msg);
    g_free(d);
}

static const char *arg0(const bmq_message *m)
{
    json_object *args = bmq_message_args(m);
    json_object *v = json_object_array_length(args) ? json_object_array_get_idx(args, 0) : NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static void handle(void *data)
{
    deferred *d = data;
    hub *h = d->h;
    if (g_atomic_int_get(&h->shutting_down))
        return;
    const char *action = bmq_message_action(d->msg);
    if (strcmp(action, "quit") == 0) {
        hub_log(BMQ_LOG_INFO, "quit requested by _hub:quit");
        g_main_loop_quit(h->loop);
    } else if (strcmp(action, "query") == 0) {
        hub_announce(h);
    } else {
        bool enable = strcmp(action, "enable") == 0;
        const char *id = arg0(d->msg);
        hub_entry *e = hub_entry_find(h, id);
        if (!e) {
            hub_log(BMQ_LOG_WARNING, "_hub:%s: no instance '%s'", action, id ? id : "(none)");
            return;
        }
        e->enabled = enable;
        if (enable) {
            hub_fault_clear(e->id);
            hub_entry_start(h, e);
        } else {
            hub_entry_stop(h, e);
            g_clear_pointer(&e->error, g_free);
        }
        hub_announce(h);
    }
}

static void on_control(const bmq_message *msg, void *user_data)
{
    /* Local names are never forwarded by our nodes; one arriving from a
     * link (a foreign node's send_message) is not obeyed. */
    if (bmq_message_origin(msg)) {
        hub_log(BMQ_LOG_WARNING, "ignoring %s received from another node", bmq_message_id(msg));
        return;
    }
    deferred *d = g_new0(deferred, 1);
    d->h = user_data;
    d->msg = bmq_message_ref((bmq_message *)msg);
    bmq_plugin_host_invoke(d->h->host, handle, d, deferred_free, false);
}

void hub_control_start(hub *h)
{
    static const char *const ids[] = {"_hub:quit", "_hub:enable", "_hub:disable", "_hub:query"};
    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++)
        h->control[i] = bmq_follow(h->bus, ids[i], on_control, NULL, h);
}

void hub_control_stop(hub *h)
{
    for (size_t i = 0; i < G_N_ELEMENTS(h->control); i++) {
        bmq_unfollow(h->control[i]);
        h->control[i] = NULL;
    }
}

static bool same_listen(hub *h, hub_config *a, hub_config *b)
{
    /* With --listen the address never comes from the file. */
    bool addr = h->listen_arg ||
                (strcmp(a->listen_host, b->listen_host) == 0 && a->listen_port == b->listen_port);
    return addr && g_strcmp0(a->secret, b->secret) == 0 && a->max_body == b->max_body &&
           a->threads == b->threads && a->max_connections == b->max_connections &&
           a->max_connections_per_peer == b->max_connections_per_peer &&
           a->idle_timeout == b->idle_timeout && a->header_timeout == b->header_timeout &&
           a->body_timeout == b->body_timeout && a->max_queues == b->max_queues &&
           a->max_queues_per_peer == b->max_queues_per_peer && a->max_ttl == b->max_ttl &&
           a->max_queue_messages == b->max_queue_messages &&
           a->max_queue_bytes == b->max_queue_bytes;
}

json_object *hub_reload(hub *h, char **error)
{
    hub_config *cfg = hub_config_load(h->config_arg, error);
    if (!cfg) {
        hub_log(BMQ_LOG_ERROR, "reload refused, keeping the running config: %s", *error);
        return NULL;
    }
    hub_log(BMQ_LOG_INFO, "reloading %s", cfg->source ? cfg->source : "built-in defaults");
    if (!same_listen(h, h->config, cfg))
        hub_log(BMQ_LOG_NOTICE,
                "listen, secret, max_body and connection limit changes apply after a restart");
    /* Keep the running server settings: the new config changes instances,
     * links and the log level. */
    g_free(cfg->listen_host);
    cfg->listen_host = g_strdup(h->config->listen_host);
    cfg->listen_port = h->config->listen_port;
    hub_links_reload(h, cfg);
    if (!h->verbose)
        hub_log_set_level(cfg->log_level);
    hub_history_reconfigure(h, &cfg->history);
    json_object *diff = NULL;
    hub_entries_apply(h, cfg, &diff);
    hub_config_free(h->config);
    h->config = cfg;
    hub_log(BMQ_LOG_INFO, "reloaded: %s", json_object_to_json_string(diff));
    hub_announce(h);
    return diff;
}
