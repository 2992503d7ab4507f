/* rpc.c - the hub.* JSON-RPC methods, one table of {name, fn}. The server
 * calls handlers on its own threads; the methods that touch the plugin host
 * or the entries run on the main thread (bmq_plugin_host_invoke) while the
 * server thread waits. hub.twitter and the local sends need no main
 * thread: the bus is thread-safe.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "hub.h"

#define RPC_EPARAMS BMQ_RPC_EPARAMS

typedef json_object *(*method_fn)(hub *h, json_object *params, json_object **error);

/* One hub.* method: on_main methods run on the main thread; admin ones
 * only for the hub's own user or the secret (BMQ_RPC_ADMIN). */
typedef struct {
    const char *name;
    method_fn fn;
    bool on_main;
    bool admin;
    hub *h; /* set by hub_rpc_register */
} method;

typedef struct {
    const method *m;
    json_object *params;
    json_object *result;
    json_object *error;
} call;

static void run_on_main(void *data)
{
    call *c = data;
    if (g_atomic_int_get(&c->m->h->shutting_down))
        c->error = bmq_rpc_error(BMQ_ECLOSED, "the hub is shutting down");
    else
        c->result = c->m->fn(c->m->h, c->params, &c->error);
}

static json_object *m_load(hub *h, json_object *params, json_object **error);

/* Whether a config string may name a local file: an absolute path, what
 * plugins expand into one (~, ~user, $VAR, ${VAR}), a file: URL in any
 * case, "../", or a relative name of something that exists: plugins open
 * those from the hub's working directory, the user's home under systemd
 * (".netrc" would be read as a growl icon, or written as a journal). */
static bool names_file(const char *s)
{
    if (s[0] == '/' || s[0] == '~' || s[0] == '$' || strstr(s, "../") ||
        !g_ascii_strncasecmp(s, "file:", 5))
        return true;
    if (!*s || strstr(s, "://") || strlen(s) >= 4096)
        return false; /* a URL of another scheme is no file */
    GStatBuf st;
    return g_lstat(s, &st) == 0;
}

/* A string anywhere in @v that names a local file, or NULL: icons, watched
 * paths, certificates... A client holding only the secret must not make
 * the hub read (and maybe forward) or write the user's files. */
static const char *find_local_file(json_object *v)
{
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        return names_file(s) ? s : NULL;
    }
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            const char *f = find_local_file(json_object_array_get_idx(v, i));
            if (f)
                return f;
        }
    }
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, k, val)
        {
            (void)k;
            const char *f = find_local_file(val);
            if (f)
                return f;
        }
    }
    return NULL;
}

static const char *names_local_file(json_object *params)
{
    return find_local_file(params);
}

/* Server thread: run the method, on the main thread when it says so.
 * The main loop keeps running until the server has stopped (see main.c),
 * so a wait for it always ends. */
static json_object *dispatch(json_object *params, void *user_data, json_object **error)
{
    const method *m = user_data;
    const bmq_rpc_peer_info *who = bmq_rpc_peer();
    const char *file = NULL;
    if (m->fn == m_load && !(who && who->same_user) && (file = names_local_file(params))) {
        *error = bmq_rpc_error(BMQ_EDENIED,
                               "plugin config naming a local file ('%.200s') is accepted only "
                               "from the hub's own user",
                               file);
        return NULL;
    }
    if (!m->on_main)
        return m->fn(m->h, params, error);
    if (g_atomic_int_get(&m->h->shutting_down)) {
        *error = bmq_rpc_error(BMQ_ECLOSED, "the hub is shutting down");
        return NULL;
    }
    call c = {.m = m, .params = params};
    bmq_plugin_host_invoke(m->h->host, run_on_main, &c, NULL, true);
    *error = c.error;
    return c.result;
}

/* params[i] as a string, or NULL. */
static const char *param_str(json_object *params, size_t i)
{
    json_object *v =
        json_object_is_type(params, json_type_array) && i < json_object_array_length(params)
            ? json_object_array_get_idx(params, i)
            : NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static json_object *param(json_object *params, size_t i)
{
    if (!json_object_is_type(params, json_type_array) || i >= json_object_array_length(params))
        return NULL;
    return json_object_array_get_idx(params, i);
}

static json_object *m_status(hub *h, json_object *params, json_object **error)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "version", json_object_new_string(bmq_version()));
    json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
    json_object_object_add(
        o, "uptime_s",
        json_object_new_int64((g_get_monotonic_time() - h->started_us) / G_USEC_PER_SEC));
    json_object_object_add(o, "listen", json_object_new_string(h->listen));
    json_object_object_add(o, "node_id", json_object_new_string(bmq_server_node_id(h->server)));
    json_object_object_add(o, "config",
                           h->config->path ? json_object_new_string(h->config->path) : NULL);
    /* The file really read: the user's, or the installed defaults. */
    json_object_object_add(o, "config_file",
                           h->config->source ? json_object_new_string(h->config->source) : NULL);
    json_object_object_add(o, "instances", hub_instances_json(h));
    json_object_object_add(o, "links", hub_links_json(h));
    json_object_object_add(o, "server", bmq_server_status(h->server));
    bmq_bus_stats st;
    bmq_bus_get_stats(h->bus, &st);
    json_object *c = json_object_new_object();
    json_object_object_add(c, "sent", json_object_new_int64((int64_t)st.sent));
    json_object_object_add(c, "delivered", json_object_new_int64((int64_t)st.delivered));
    json_object_object_add(c, "dropped", json_object_new_int64((int64_t)st.dropped));
    json_object_object_add(o, "counters", c);
    json_object_object_add(o, "history", hub_history_status(h));
    if (h->ntfy)
        json_object_object_add(o, "ntfy", ntfy_status(h->ntfy));
    return o;
}

/* Listing loads every plugin file: each load is bounded by the watchdog as
 * at start, under the marker id "@NAME"; a file that hung before is left
 * out until it changes. */
static bool list_guard(const char *name, const char *path, bool done, char **skip, void *data)
{
    (void)data;
    if (done) {
        hub_watchdog_disarm();
        return true;
    }
    if (hub_fault_listing_skip(name, path, skip))
        return false;
    char *id = g_strconcat("@", name, NULL);
    hub_watchdog_arm(id, path, "load");
    g_free(id);
    return true;
}

static json_object *m_plugins(hub *h, json_object *params, json_object **error)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "instances", hub_instances_json(h));
    json_object_object_add(o, "available", bmq_plugin_host_available_full(h->host, list_guard, h));
    return o;
}

/* Over RPC only files already in a plugin directory may be loaded: anyone
 * who can reach the port (other local users, too) must not make the hub
 * run code from an arbitrary file. */
static bool in_plugin_dir(hub *h, const char *path)
{
    char *real = realpath(path, NULL);
    if (!real)
        return false;
    char *dir = g_path_get_dirname(real);
    bool ok = false;
    for (const char *const *d = bmq_plugin_host_dirs(h->host); d && *d && !ok; d++) {
        char *rd = realpath(*d, NULL);
        ok = rd && strcmp(rd, dir) == 0;
        free(rd);
    }
    g_free(dir);
    free(real);
    return ok;
}

static json_object *m_load(hub *h, json_object *params, json_object **error)
{
    const char *name = param_str(params, 0);
    json_object *idv = param(params, 1), *cfg = param(params, 2);
    if (!name || !*name || (idv && !json_object_is_type(idv, json_type_string)) ||
        (cfg && !json_object_is_type(cfg, json_type_object))) {
        *error = bmq_rpc_error(RPC_EPARAMS, "hub.load expects [name_or_path, id (optional string), "
                                            "config (optional object)]");
        return NULL;
    }
    if (strchr(name, '/') && !in_plugin_dir(h, name)) {
        *error = bmq_rpc_error(BMQ_EDENIED,
                               "plugin '%s': hub.load takes a plugin name or a file in a plugin "
                               "directory; install the file first (berrymq plugin install)",
                               name);
        return NULL;
    }
    char *err = NULL;
    /* Load first: the default id is the plugin's own name, also for a path.
     * Watched as at start: a plugin whose loading never returns is
     * abandoned after the start-time bound (watchdog.c), and a crash in it
     * names the instance it was going to be. */
    char *wid = idv ? g_strdup(json_object_get_string(idv)) : g_path_get_basename(name);
    if (!idv && g_str_has_suffix(wid, ".so"))
        wid[strlen(wid) - 3] = '\0';
    bmq_plugin_call call;
    hub_watchdog_arm(wid, name, "load");
    bmq_plugin_call_enter(&call, wid, name, "load");
    int code = 0;
    bmq_plugin *p = bmq_plugin_load(h->host, name, &code, &err);
    bmq_plugin_call_leave(&call);
    hub_watchdog_disarm();
    g_free(wid);
    if (!p) {
        hub_log(BMQ_LOG_ERROR, "%s", err);
        *error = bmq_rpc_error(code, "%s", err);
        g_free(err);
        return NULL;
    }
    const char *id = idv ? json_object_get_string(idv) : bmq_plugin_descriptor_get(p)->name;
    if (hub_entry_find(h, id)) {
        *error = bmq_rpc_error(BMQ_EEXIST, "instance '%s' already exists", id);
        return NULL;
    }
    /* Asking for it again is the retry: a record left by an earlier
     * hub.load of this id that crashed or hung (no hub.json entry holds the
     * id, so `berrymq plugin enable` cannot reach it) is forgotten. */
    hub_fault_clear(id);
    hub_entry *e = g_new0(hub_entry, 1);
    e->id = g_strdup(id);
    e->plugin = g_strdup(name);
    e->config = cfg ? json_object_get(cfg) : json_object_new_object();
    e->enabled = e->cfg_enabled = true;
    g_ptr_array_add(h->entries, e);
    if (!hub_entry_start(h, e)) {
        *error = bmq_rpc_error(e->error_code, "%s", e->error);
        hub_entry_remove(h, e);
        return NULL;
    }
    hub_announce(h);
    return hub_entry_json(e);
}

static hub_entry *entry_param(hub *h, json_object *params, const char *method, json_object **error)
{
    const char *id = param_str(params, 0);
    if (!id) {
        *error = bmq_rpc_error(RPC_EPARAMS, "%s expects [id]", method);
        return NULL;
    }
    hub_entry *e = hub_entry_find(h, id);
    if (!e)
        *error = bmq_rpc_error(BMQ_ENOENT, "no instance '%s'", id);
    return e;
}

static json_object *m_unload(hub *h, json_object *params, json_object **error)
{
    hub_entry *e = entry_param(h, params, "hub.unload", error);
    if (!e)
        return NULL;
    hub_entry_remove(h, e);
    hub_announce(h);
    return json_object_new_string("ok");
}

static json_object *m_enable(hub *h, json_object *params, json_object **error)
{
    hub_entry *e = entry_param(h, params, "hub.enable", error);
    if (!e)
        return NULL;
    e->enabled = true;
    hub_fault_clear(e->id);
    bool ok = hub_entry_start(h, e);
    hub_announce(h);
    if (!ok) {
        *error = bmq_rpc_error(e->error_code, "%s", e->error);
        return NULL;
    }
    return json_object_new_string("ok");
}

static json_object *m_disable(hub *h, json_object *params, json_object **error)
{
    hub_entry *e = entry_param(h, params, "hub.disable", error);
    if (!e)
        return NULL;
    e->enabled = false;
    hub_entry_stop(h, e);
    g_clear_pointer(&e->error, g_free);
    hub_announce(h);
    return json_object_new_string("ok");
}

static json_object *m_reload(hub *h, json_object *params, json_object **error)
{
    char *err = NULL;
    json_object *diff = hub_reload(h, &err);
    if (!diff) {
        *error = bmq_rpc_error(BMQ_EINVAL, "%s", err);
        g_free(err);
    }
    return diff;
}

/* A plain send from the server thread. The message takes over args and
 * kwargs from the request (as send_message does): no copy, and the
 * request's tree no longer holds them once it is freed on this thread. */
static json_object *m_twitter(hub *h, json_object *params, json_object **error)
{
    const char *id = param_str(params, 0);
    json_object *args = param(params, 1), *kwargs = param(params, 2);
    if (!id || (args && !json_object_is_type(args, json_type_array)) ||
        (kwargs && !json_object_is_type(kwargs, json_type_object))) {
        *error = bmq_rpc_error(RPC_EPARAMS, "hub.twitter expects [id, args (array), kwargs "
                                            "(object)]");
        return NULL;
    }
    /* Local names (_hub:quit, _notify:pause) steer the hub and its plugins
     * from inside the process; over RPC they would let anyone who reaches
     * the port stop the hub (exit 0: not restarted) or silence it. The
     * dedicated methods (hub.quit, hub.pause, ...) are checked instead. */
    if (id[0] == '_') {
        *error = bmq_rpc_error(BMQ_EDENIED,
                               "'%s' is a local identifier: it cannot be sent over RPC (use "
                               "berrymq quit, pause or resume)",
                               id);
        return NULL;
    }
    json_object_get(args);
    json_object_get(kwargs);
    if (args)
        json_object_array_put_idx(params, 1, NULL);
    if (kwargs)
        json_object_array_put_idx(params, 2, NULL);
    int rc = bmq_twitter(h->bus, id, args, kwargs);
    if (rc < 0) {
        *error = bmq_rpc_error(-rc, "cannot send '%s': %s", id, bmq_strerror(rc));
        return NULL;
    }
    return json_object_new_string("ok");
}

/* Sent in-process, as the tray does: these steer the notify plugin and the
 * hub itself, which is why hub.twitter refuses them from RPC clients and
 * these methods are for the hub's own user only. */
static json_object *send_local(hub *h, const char *id, json_object **error)
{
    int rc = bmq_twitter(h->bus, id, NULL, NULL);
    if (rc < 0) {
        *error = bmq_rpc_error(-rc, "cannot send '%s': %s", id, bmq_strerror(rc));
        return NULL;
    }
    return json_object_new_string("ok");
}

static json_object *m_pause(hub *h, json_object *params, json_object **error)
{
    return send_local(h, "_notify:pause", error);
}

static json_object *m_resume(hub *h, json_object *params, json_object **error)
{
    return send_local(h, "_notify:resume", error);
}

static json_object *m_quit(hub *h, json_object *params, json_object **error)
{
    hub_log(BMQ_LOG_INFO, "quit requested over RPC");
    return send_local(h, "_hub:quit", error);
}

/* Changing what runs in the hub is for its own user (or the secret). */
static method methods[] = {
    {.name = "hub.status", .fn = m_status, .on_main = true},
    {.name = "hub.plugins", .fn = m_plugins, .on_main = true},
    {.name = "hub.load", .fn = m_load, .on_main = true, .admin = true},
    {.name = "hub.unload", .fn = m_unload, .on_main = true, .admin = true},
    {.name = "hub.enable", .fn = m_enable, .on_main = true, .admin = true},
    {.name = "hub.disable", .fn = m_disable, .on_main = true, .admin = true},
    {.name = "hub.reload", .fn = m_reload, .on_main = true, .admin = true},
    {.name = "hub.pause", .fn = m_pause, .admin = true},
    {.name = "hub.resume", .fn = m_resume, .admin = true},
    {.name = "hub.quit", .fn = m_quit, .admin = true},
    {.name = "hub.twitter", .fn = m_twitter},
};

void hub_rpc_register(hub *h)
{
    for (size_t i = 0; i < G_N_ELEMENTS(methods); i++) {
        methods[i].h = h;
        bmq_server_add_method_full(h->server, methods[i].name, dispatch, &methods[i],
                                   methods[i].admin ? BMQ_RPC_ADMIN : 0);
    }
    hub_history_register(h);
}
