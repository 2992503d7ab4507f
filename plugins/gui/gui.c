/* gui.c - the gui plugin: the GTK event bridge of the hub, its tray icon
 * and the message monitor.
 *
 * Messages matching "follow" go through a BmqGtkBridge and come out as its
 * "message" signal on the main loop; from there they feed the tray's recent
 * list and the monitor's history. The tray speaks to the hub with local
 * messages: "_hub:query" / "_hub:instances" for the plugins submenu,
 * "_hub:enable" / "_hub:disable" / "_hub:quit" for its items, and
 * "_notify:pause" / "_notify:resume" / "_notify:attention" / "_notify:status"
 * / "_notify:query" with the notify plugin. "_gui:monitor" opens the monitor.
 * Config: {"tray": true, "monitor": false, "history": 1000, "follow": "*:*",
 * "icon": path}.
 */
#include "gui.h"

#include <dlfcn.h>
#include <string.h>

static int send_cb(const char *id, json_object *args, json_object *kwargs, void *user_data)
{
    gui *g = user_data;
    return g->host->twitter(g->host, id, args, kwargs);
}

void gui__send_pause(gui *g, bool pause)
{
    bmq_gtk_bridge_send(g->bridge, pause ? "_notify:pause" : "_notify:resume", NULL, NULL);
}

void gui__send_enable(gui *g, const char *instance_id, bool enable)
{
    json_object *args = json_object_new_array();
    json_object_array_add(args, json_object_new_string(instance_id));
    bmq_gtk_bridge_send(g->bridge, enable ? "_hub:enable" : "_hub:disable", args, NULL);
}

void gui__open_monitor(gui *g, bmq_message *msg)
{
    gui__monitor_present(g->monitor, msg);
}

/* Internal chatter of the hub and its plugins stays out of the recent list
 * (the monitor still shows it). */
static bool is_control(const bmq_message *msg)
{
    const char *n = bmq_message_name(msg);
    return strcmp(n, "_hub") == 0 || strcmp(n, "_notify") == 0 || strcmp(n, "_gui") == 0;
}

static void on_message(BmqGtkBridge *bridge, bmq_message *msg, gpointer user_data)
{
    gui *g = user_data;
    gui__monitor_add(g->monitor, msg);
    if (is_control(msg))
        return;
    if (g->n_recent == GUI_RECENT_MAX)
        bmq_message_unref(g->recent[--g->n_recent]);
    memmove(&g->recent[1], &g->recent[0], g->n_recent * sizeof g->recent[0]);
    g->recent[0] = bmq_message_ref(msg);
    g->n_recent++;
    if (g->tray)
        gui__tray_recent_changed(g->tray);
}

static void follow_cb(const bmq_message *msg, void *user_data)
{
    gui *g = user_data;
    bmq_gtk_bridge_push(g->bridge, msg);
}

static void instances_cb(const bmq_message *msg, void *user_data)
{
    gui *g = user_data;
    json_object *list = NULL;
    if (!json_object_object_get_ex(bmq_message_kwargs(msg), "instances", &list) ||
        !json_object_is_type(list, json_type_array))
        return;
    json_object_put(g->instances);
    g->instances = json_object_get(list);
    if (g->tray)
        gui__tray_instances_changed(g->tray);
}

static void attention_cb(const bmq_message *msg, void *user_data)
{
    gui *g = user_data;
    if (!g->paused)
        return;
    g->attention++;
    if (g->tray)
        gui__tray_attention_changed(g->tray);
}

static void status_cb(const bmq_message *msg, void *user_data)
{
    gui *g = user_data;
    json_object *v = NULL;
    if (!json_object_object_get_ex(bmq_message_kwargs(msg), "paused", &v))
        return;
    bool paused = json_object_get_boolean(v);
    if (paused == g->paused)
        return;
    g->paused = paused;
    if (!paused)
        g->attention = 0;
    if (g->tray) {
        gui__tray_pause_changed(g->tray);
        gui__tray_attention_changed(g->tray);
    }
}

/* "_gui:monitor": open the monitor (a keyboard shortcut can send it with
 * `berrymq twitter _gui:monitor`). */
static void open_cb(const bmq_message *msg, void *user_data)
{
    gui *g = user_data;
    gui__monitor_present(g->monitor, NULL);
}

static const char *const known_keys[] = {"tray", "monitor", "history", "follow", "icon", NULL};

static bool configure(gui *g, json_object *cfg, bool *open_monitor, char **error)
{
    /* Unknown keys are only logged: a typo shows, the tray still comes up. */
    char *unknown = NULL;
    int rc = bmq_config_check_keys(cfg, known_keys, &unknown);
    if (rc == -BMQ_ETYPE) {
        *error = unknown;
        return false;
    }
    if (rc) {
        g->host->log(g->host, BMQ_LOG_WARNING, "%s: ignored", unknown);
        g_free(unknown);
    }
    int64_t history = 1000;
    g->want_tray = true;
    *open_monitor = false;
    g->follow = g_strdup("*:*");
    if (bmq_config_get_bool(cfg, "tray", 0, &g->want_tray, error) ||
        bmq_config_get_bool(cfg, "monitor", 0, open_monitor, error) ||
        bmq_config_get_int(cfg, "history", 0, 1, 1000000, &history, error) ||
        bmq_config_get_string(cfg, "follow", 0, &g->follow, error))
        return false;
    g->history = (guint)history;
    if (bmq_id_validate(g->follow) != 0) {
        *error = g_strdup_printf("key 'follow': \"%s\" is not a valid pattern", g->follow);
        return false;
    }
    json_object *v = NULL;
    json_object_object_get_ex(cfg, "icon", &v);
    if (v && json_object_is_type(v, json_type_string)) {
        g->icon_path = g_strdup(json_object_get_string(v));
    } else {
        /* Installed: the icon relative to this plugin's own file, so any
         * install prefix works; then the source tree's, then the
         * configured prefix's. */
        Dl_info info;
        char *rel = NULL;
        if (dladdr((void *)configure, &info) && info.dli_fname) {
            char *dir = g_path_get_dirname(info.dli_fname);
            rel = g_build_filename(dir, BMQ_GUI_PLUGIN_TO_ICON, NULL);
            g_free(dir);
            if (g_file_test(rel, G_FILE_TEST_IS_REGULAR))
                g->icon_path = g_steal_pointer(&rel);
            g_free(rel);
        }
        const char *candidates[] = {BMQ_GUI_SOURCE_ICON, BMQ_GUI_INSTALLED_ICON};
        for (size_t i = 0; i < G_N_ELEMENTS(candidates) && !g->icon_path; i++)
            if (g_file_test(candidates[i], G_FILE_TEST_IS_REGULAR))
                g->icon_path = g_strdup(candidates[i]);
    }
    return true;
}

static void gui_destroy(void *instance);

static void *gui_create(const bmq_host *host, json_object *config, char **error)
{
    bool open_monitor = false;
    gui *g = g_new0(gui, 1);
    g->host = host;
    if (!configure(g, config, &open_monitor, error)) {
        gui_destroy(g);
        return NULL;
    }
    if (!gtk_init_check(NULL, NULL)) {
        *error = g_strdup("no display: set DISPLAY (X11) or WAYLAND_DISPLAY, or run headless "
                          "without the gui plugin");
        gui_destroy(g);
        return NULL;
    }
    g->bridge = bmq_gtk_bridge_new_with_sender(send_cb, g, NULL);
    g->message_handler = g_signal_connect(g->bridge, "message", G_CALLBACK(on_message), g);
    g->monitor = gui__monitor_new(g);

    g->f_all = host->follow(host, g->follow, follow_cb, NULL, g, BMQ_FOLLOW_ANY_THREAD);
    g->f_instances = host->follow(host, "_hub:instances", instances_cb, NULL, g, 0);
    g->f_attention = host->follow(host, "_notify:attention", attention_cb, NULL, g, 0);
    g->f_status = host->follow(host, "_notify:status", status_cb, NULL, g, 0);
    g->f_open = host->follow(host, "_gui:monitor", open_cb, NULL, g, 0);
    if (!g->f_all || !g->f_instances || !g->f_attention || !g->f_status || !g->f_open) {
        *error = g_strdup_printf("cannot follow \"%s\"", g->follow);
        gui_destroy(g);
        return NULL;
    }
    if (g->want_tray)
        g->tray = gui__tray_new(g);
    if (open_monitor)
        gui__monitor_present(g->monitor, NULL);
    bmq_gtk_bridge_send(g->bridge, "_hub:query", NULL, NULL);
    bmq_gtk_bridge_send(g->bridge, "_notify:query", NULL, NULL);
    return g;
}

static void gui_destroy(void *instance)
{
    gui *g = instance;
    bmq_follower *fs[] = {g->f_all, g->f_instances, g->f_attention, g->f_status, g->f_open};
    for (size_t i = 0; i < G_N_ELEMENTS(fs); i++)
        if (fs[i])
            g->host->unfollow(g->host, fs[i]);
    if (g->bridge) {
        g_signal_handler_disconnect(g->bridge, g->message_handler);
        g_object_run_dispose(G_OBJECT(g->bridge));
        g_object_unref(g->bridge);
    }
    if (g->tray)
        gui__tray_free(g->tray);
    if (g->monitor)
        gui__monitor_free(g->monitor);
    for (guint i = 0; i < g->n_recent; i++)
        bmq_message_unref(g->recent[i]);
    json_object_put(g->instances);
    g_free(g->follow);
    g_free(g->icon_path);
    g_free(g);
}

static json_object *gui_status(void *instance)
{
    gui *g = instance;
    json_object *s = json_object_new_object();
    json_object_object_add(s, "follow", json_object_new_string(g->follow));
    json_object_object_add(s, "tray",
                           json_object_new_string(g->tray ? gui__tray_kind(g->tray) : "off"));
    json_object_object_add(s, "history", json_object_new_int((int)g->history));
    json_object_object_add(s, "rows", json_object_new_int((int)gui__monitor_rows(g->monitor)));
    json_object_object_add(s, "loaded", json_object_new_int((int)gui__monitor_loaded(g->monitor)));
    json_object_object_add(s, "paused", json_object_new_boolean(g->paused));
    json_object_object_add(s, "attention", json_object_new_int((int)g->attention));
    json_object_object_add(s, "dropped",
                           json_object_new_int64((int64_t)bmq_gtk_bridge_get_dropped(g->bridge)));
    return s;
}

static const bmq_plugin_descriptor gui_descriptor = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "gui",
    .version = "1.0",
    .description = "GTK event bridge: tray icon, recent messages and the message monitor",
    .create = gui_create,
    .destroy = gui_destroy,
    .status = gui_status,
};

BMQ_PLUGIN_DEFINE(gui_descriptor)
