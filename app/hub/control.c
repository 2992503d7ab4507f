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

static bool same_strv(char **a, char **b)
{
    size_t i = 0;
    for (; a && b && a[i] && b[i]; i++)
        if (strcmp(a[i], b[i]))
            return false;
    return !(a && a[i]) && !(b && b[i]);
}

/* The keys of the server's settings that differ between @a and @b, in the
 * order of hub.json(5), comma-separated; NULL when none does. The server
 * keeps what it started with until the next start. */
static char *changed_server_keys(hub *h, hub_config *a, hub_config *b)
{
    GString *out = g_string_new(NULL);
#define CHANGED(cond, name)                                                                        \
    do {                                                                                           \
        if (cond)                                                                                  \
            g_string_append(g_string_append(out, out->len ? ", " : ""), name);                     \
    } while (0)
    /* With --listen the address never comes from the file. */
    CHANGED(!h->listen_arg &&
                (strcmp(a->listen_host, b->listen_host) || a->listen_port != b->listen_port),
            "listen");
    CHANGED(!same_strv(a->allow, b->allow), "allow");
    CHANGED(g_strcmp0(a->secret, b->secret), "secret");
    CHANGED(!same_strv(a->server_names, b->server_names), "server_names");
    CHANGED(!same_strv(a->allow_origins, b->allow_origins), "allow_origins");
    CHANGED(a->max_body != b->max_body, "max_body");
    CHANGED(a->threads != b->threads, "threads");
    CHANGED(a->max_connections != b->max_connections, "max_connections");
    CHANGED(a->max_connections_per_peer != b->max_connections_per_peer, "max_connections_per_peer");
    CHANGED(a->idle_timeout != b->idle_timeout, "idle_timeout");
    CHANGED(a->header_timeout != b->header_timeout, "header_timeout");
    CHANGED(a->body_timeout != b->body_timeout, "body_timeout");
    CHANGED(a->max_queues != b->max_queues, "max_queues");
    CHANGED(a->max_queues_per_peer != b->max_queues_per_peer, "max_queues_per_peer");
    CHANGED(a->max_ttl != b->max_ttl, "max_ttl");
    CHANGED(a->max_queue_messages != b->max_queue_messages, "max_queue_messages");
    CHANGED(a->max_queue_bytes != b->max_queue_bytes, "max_queue_bytes");
    CHANGED(a->ntfy.enabled != b->ntfy.enabled || a->ntfy.message_limit != b->ntfy.message_limit ||
                a->ntfy.keepalive_s != b->ntfy.keepalive_s ||
                a->ntfy.max_subscribers != b->ntfy.max_subscribers ||
                a->ntfy.cache_messages != b->ntfy.cache_messages ||
                a->ntfy.subscriber_buffer != b->ntfy.subscriber_buffer,
            "ntfy");
#undef CHANGED
    return g_string_free(out, out->len == 0);
}

json_object *hub_reload(hub *h, char **error)
{
    hub_config *cfg = hub_config_load(h->config_arg, error);
    if (!cfg) {
        hub_log(BMQ_LOG_ERROR, "reload refused, keeping the running config: %s", *error);
        return NULL;
    }
    hub_log(BMQ_LOG_INFO, "reloading %s", cfg->source ? cfg->source : "built-in defaults");
    char *changed = changed_server_keys(h, h->config, cfg);
    if (changed)
        hub_log(BMQ_LOG_NOTICE, "changes of %s apply at the next start", changed);
    g_free(changed);
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
