/* entries.c - the hub's instance entries: one per configured (or
 * hub.load'ed) instance, with its wanted state (enabled) and its actual one
 * (running, or the reason it is not). Main thread only.
 */
#include <string.h>

#include "hub.h"

static void entry_free(hub_entry *e)
{
    g_free(e->id);
    g_free(e->plugin);
    json_object_put(e->config);
    g_free(e->error);
    g_free(e);
}

bool hub_display_available(void)
{
    const char *x = g_getenv("DISPLAY"), *w = g_getenv("WAYLAND_DISPLAY");
    return (x && *x) || (w && *w);
}

/* The plugin name of an entry whose "plugin" may be a path. */
static char *plugin_base(const char *plugin)
{
    const char *b = strrchr(plugin, '/');
    char *n = g_strdup(b ? b + 1 : plugin);
    if (g_str_has_suffix(n, ".so"))
        n[strlen(n) - 3] = '\0';
    return n;
}

bool hub_entry_start(hub *h, hub_entry *e)
{
    if (e->inst)
        return true;
    g_clear_pointer(&e->error, g_free);
    e->error_code = 0;
    e->skipped = false;
    if (!e->enabled)
        return false;
    char *base = plugin_base(e->plugin);
    bool gui = strcmp(base, "gui") == 0;
    g_free(base);
    if (gui && (h->no_tray || !hub_display_available())) {
        e->skipped = true;
        e->error_code = -BMQ_EDENIED;
        e->error = g_strdup(h->no_tray ? "skipped: --no-tray"
                                       : "skipped: no display (DISPLAY and WAYLAND_DISPLAY "
                                         "are unset)");
        hub_log(BMQ_LOG_INFO, "instance '%s': %s", e->id, e->error);
        return false;
    }
    if (hub_watchdog_stopping()) {
        e->error = g_strdup("not started: the hub is stopping");
        e->error_code = -BMQ_ECLOSED;
        return false;
    }
    char *why = NULL;
    if (hub_fault_marker(e->id, &why)) {
        e->error = why;
        e->error_code = -BMQ_ELOAD;
        hub_log(BMQ_LOG_ERROR, "instance '%s' not started: %s", e->id, why);
        return false;
    }
    /* Loading apart from creating, each watched: a plugin that never
     * returns is abandoned, and the log tells which of the two hung. */
    char *err = NULL;
    int code = 0;
    bmq_plugin_call call;
    hub_watchdog_arm(e->id, e->plugin, "load");
    bmq_plugin_call_enter(&call, e->id, e->plugin, "load");
    bmq_plugin *p = bmq_plugin_load(h->host, e->plugin, &code, &err);
    bmq_plugin_call_leave(&call);
    hub_watchdog_disarm();
    if (p) {
        hub_watchdog_arm(e->id, bmq_plugin_descriptor_get(p)->name, "create");
        e->inst = bmq_instance_create(h->host, e->plugin, e->id, e->config, &code, &err);
        hub_watchdog_disarm();
    }
    if (!e->inst) {
        hub_log(BMQ_LOG_ERROR, "%s", err ? err : "instance creation failed");
        e->error = err;
        e->error_code = code ? code : -BMQ_EFAILED;
        return false;
    }
    const bmq_plugin_descriptor *d = bmq_plugin_descriptor_get(bmq_instance_plugin(e->inst));
    hub_log(BMQ_LOG_INFO, "instance '%s' started (plugin %s %s)", e->id, d->name, d->version);
    return true;
}

void hub_entry_stop(hub *h, hub_entry *e)
{
    e->skipped = false;
    if (!e->inst)
        return;
    bmq_instance_destroy(e->inst);
    e->inst = NULL;
    hub_log(BMQ_LOG_INFO, "instance '%s' stopped", e->id);
}

hub_entry *hub_entry_find(hub *h, const char *id)
{
    for (guint i = 0; id && i < h->entries->len; i++) {
        hub_entry *e = g_ptr_array_index(h->entries, i);
        if (strcmp(e->id, id) == 0)
            return e;
    }
    return NULL;
}

void hub_entry_remove(hub *h, hub_entry *e)
{
    hub_entry_stop(h, e);
    g_ptr_array_remove(h->entries, e);
    entry_free(e);
}

void hub_entries_stop_all(hub *h)
{
    /* The host's list is in creation order (an instance re-enabled later
     * counts as created later): destroy from the newest. */
    GList *list = bmq_plugin_host_instances(h->host);
    for (GList *l = g_list_last(list); l; l = l->prev) {
        hub_entry *e = hub_entry_find(h, bmq_instance_id(l->data));
        if (e && e->inst == l->data)
            hub_entry_stop(h, e);
        else
            bmq_instance_destroy(l->data);
    }
    g_list_free(list);
}

void hub_entries_free(hub *h)
{
    hub_entries_stop_all(h);
    for (guint i = 0; i < h->entries->len; i++)
        entry_free(g_ptr_array_index(h->entries, i));
    g_ptr_array_set_size(h->entries, 0);
}

json_object *hub_entry_json(hub_entry *e)
{
    json_object *o = json_object_new_object();
    const bmq_plugin_descriptor *d =
        e->inst ? bmq_plugin_descriptor_get(bmq_instance_plugin(e->inst)) : NULL;
    json_object_object_add(o, "id", json_object_new_string(e->id));
    json_object_object_add(o, "plugin", json_object_new_string(d ? d->name : e->plugin));
    json_object_object_add(o, "version", d ? json_object_new_string(d->version) : NULL);
    json_object_object_add(o, "enabled", json_object_new_boolean(e->enabled));
    const char *state = e->inst ? "running" : (!e->enabled || e->skipped) ? "disabled" : "failed";
    json_object_object_add(o, "state", json_object_new_string(state));
    json_object_object_add(o, "error", e->error ? json_object_new_string(e->error) : NULL);
    json_object_object_add(o, "status", e->inst ? bmq_instance_status(e->inst) : NULL);
    return o;
}

json_object *hub_instances_json(hub *h)
{
    json_object *arr = json_object_new_array();
    for (guint i = 0; i < h->entries->len; i++)
        json_object_array_add(arr, hub_entry_json(g_ptr_array_index(h->entries, i)));
    return arr;
}

void hub_announce(hub *h)
{
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "instances", hub_instances_json(h));
    bmq_twitter(h->bus, "_hub:instances", NULL, kw);
}

static hub_entry *entry_from_cfg(const hub_plugin_cfg *pc)
{
    hub_entry *e = g_new0(hub_entry, 1);
    e->id = g_strdup(pc->id);
    e->plugin = g_strdup(pc->plugin);
    e->config = json_object_get(pc->config);
    e->enabled = e->cfg_enabled = pc->enabled;
    e->from_config = true;
    return e;
}

static const hub_plugin_cfg *cfg_find(hub_config *cfg, const char *id)
{
    for (guint i = 0; i < cfg->plugins->len; i++) {
        const hub_plugin_cfg *pc = g_ptr_array_index(cfg->plugins, i);
        if (strcmp(pc->id, id) == 0)
            return pc;
    }
    return NULL;
}

static void add_id(json_object *arr, const char *id)
{
    if (arr)
        json_object_array_add(arr, json_object_new_string(id));
}

enum { UNCHANGED, CHANGED, FAILED };

/* Bring an existing entry in line with @pc. */
static int update_entry(hub *h, hub_entry *e, const hub_plugin_cfg *pc)
{
    bool plugin_changed = strcmp(e->plugin, pc->plugin) != 0;
    bool config_changed = !json_object_equal(e->config, pc->config);
    bool enabled_changed = e->cfg_enabled != pc->enabled || !e->from_config;
    bool retry = e->enabled && !e->inst && !e->skipped;
    e->from_config = true;
    if (!plugin_changed && !config_changed && !enabled_changed && !retry)
        return UNCHANGED;
    if (enabled_changed)
        e->enabled = e->cfg_enabled = pc->enabled;
    if (config_changed) {
        json_object_put(e->config);
        e->config = json_object_get(pc->config);
    }
    if (plugin_changed) {
        hub_entry_stop(h, e);
        g_free(e->plugin);
        e->plugin = g_strdup(pc->plugin);
    }
    if (!e->enabled) {
        hub_entry_stop(h, e);
        return CHANGED;
    }
    if (e->inst && config_changed) {
        char *err = NULL;
        hub_watchdog_arm(e->id, e->plugin, "reconfigure");
        int rc = bmq_instance_reconfigure(e->inst, e->config, &err);
        hub_watchdog_disarm();
        if (rc != 0) {
            hub_log(BMQ_LOG_ERROR, "%s", err);
            if (!bmq_instance_is_running(e->inst)) {
                bmq_instance_destroy(e->inst);
                e->inst = NULL;
                hub_log(BMQ_LOG_INFO, "instance '%s' stopped", e->id);
            }
            g_free(e->error);
            e->error = err;
            e->error_code = rc;
            return FAILED;
        }
        hub_log(BMQ_LOG_INFO, "instance '%s' reconfigured", e->id);
        return CHANGED;
    }
    return hub_entry_start(h, e) || e->skipped ? CHANGED : FAILED;
}

void hub_entries_apply(hub *h, hub_config *cfg, json_object **diff)
{
    json_object *added = diff ? json_object_new_array() : NULL;
    json_object *removed = diff ? json_object_new_array() : NULL;
    json_object *reconf = diff ? json_object_new_array() : NULL;
    json_object *failed = diff ? json_object_new_array() : NULL;

    /* Removed first: their ports or files may be taken by new entries.
     * Reverse order, as at shutdown. */
    for (guint i = h->entries->len; i-- > 0;) {
        hub_entry *e = g_ptr_array_index(h->entries, i);
        if (e->from_config && !cfg_find(cfg, e->id)) {
            add_id(removed, e->id);
            hub_entry_remove(h, e);
        }
    }
    for (guint i = 0; i < cfg->plugins->len; i++) {
        const hub_plugin_cfg *pc = g_ptr_array_index(cfg->plugins, i);
        hub_entry *e = hub_entry_find(h, pc->id);
        if (!e) {
            e = entry_from_cfg(pc);
            g_ptr_array_add(h->entries, e);
            bool ok = hub_entry_start(h, e) || !e->enabled || e->skipped;
            add_id(ok ? added : failed, e->id);
        } else {
            int r = update_entry(h, e, pc);
            if (r != UNCHANGED)
                add_id(r == CHANGED ? reconf : failed, e->id);
        }
    }
    if (diff) {
        *diff = json_object_new_object();
        json_object_object_add(*diff, "added", added);
        json_object_object_add(*diff, "removed", removed);
        json_object_object_add(*diff, "reconfigured", reconf);
        json_object_object_add(*diff, "failed", failed);
    }
}
