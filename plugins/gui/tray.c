/* tray.c - the tray icon and its menu.
 *
 * Where a StatusNotifierWatcher runs (GNOME with the AppIndicator
 * extension, KDE, Xfce's panel plugin) the icon is an Ayatana AppIndicator
 * (StatusNotifierItem over D-Bus); otherwise it is a GtkStatusIcon embedded
 * in an X system tray (XEmbed). The watcher's bus name is watched, so the
 * icon moves between the two as panels come and go. Both show the same menu:
 * the last messages, "Pause notifications", the plugins with on/off toggles,
 * "Message monitor…" and "Quit".
 */
#include "gui.h"

#include <libayatana-appindicator/app-indicator.h>
#include <string.h>

#define WATCHER_NAME   "org.kde.StatusNotifierWatcher"
#define THEMED_ICON    "mail-message-new"
#define ATTENTION_ICON "dialog-warning"
#define LABEL_MAX      60

struct gui_tray {
    gui *g;
    GtkWidget *menu; /* (owned) shared by both kinds */
    GtkWidget *recent[GUI_RECENT_MAX];
    GtkWidget *no_recent, *pause, *plugins, *monitor, *quit;
    gulong pause_handler;
    guint refresh_id; /* pending recent-list refresh */
    guint watch_id;
    AppIndicator *indicator;    /* (owned, nullable) */
    GtkStatusIcon *status_icon; /* (owned, nullable) */
};

/* ---- recent messages ---- */

static char *recent_label(bmq_message *msg)
{
    json_object *t = NULL;
    char *detail;
    if (json_object_object_get_ex(bmq_message_kwargs(msg), "title", &t) &&
        json_object_is_type(t, json_type_string))
        detail = g_strdup(json_object_get_string(t));
    else
        detail = bmq_message_render(msg, NULL);
    /* One line: "21.5, room: office, unit: °C"; UTF-8 whatever was sent. */
    char *valid = g_utf8_make_valid(detail, -1);
    g_free(detail);
    detail = valid;
    char **lines = g_strsplit_set(detail, "\n\t", -1);
    g_free(detail);
    detail = g_strjoinv(", ", lines);
    g_strfreev(lines);
    char *id = g_utf8_make_valid(bmq_message_id(msg), -1);
    char *label = *detail ? g_strdup_printf("%s — %s", id, detail) : g_strdup(id);
    g_free(id);
    g_free(detail);
    if (g_utf8_strlen(label, -1) > LABEL_MAX) {
        char *cut = g_utf8_substring(label, 0, LABEL_MAX - 1);
        g_free(label);
        label = g_strconcat(cut, "…", NULL);
        g_free(cut);
    }
    return label;
}

static gboolean refresh_recent(gpointer data)
{
    gui_tray *t = data;
    gui *g = t->g;
    t->refresh_id = 0;
    for (guint i = 0; i < GUI_RECENT_MAX; i++) {
        GtkWidget *item = t->recent[i];
        if (i < g->n_recent) {
            char *label = recent_label(g->recent[i]);
            gtk_menu_item_set_label(GTK_MENU_ITEM(item), label);
            g_object_set_data_full(G_OBJECT(item), "bmq-message", bmq_message_ref(g->recent[i]),
                                   (GDestroyNotify)bmq_message_unref);
            gtk_widget_show(item);
            g_free(label);
        } else {
            g_object_set_data(G_OBJECT(item), "bmq-message", NULL);
            gtk_widget_hide(item);
        }
    }
    gtk_widget_set_visible(t->no_recent, g->n_recent == 0);
    return G_SOURCE_REMOVE;
}

void gui__tray_recent_changed(gui_tray *t)
{
    /* Coalesce a flood into a few menu updates (each one is a D-Bus update
     * of the exported menu under a StatusNotifier host). */
    if (!t->refresh_id)
        t->refresh_id = t->g->host->timeout_add(t->g->host, 200, refresh_recent, t);
}

static void recent_activate(GtkMenuItem *item, gpointer data)
{
    gui_tray *t = data;
    gui__open_monitor(t->g, g_object_get_data(G_OBJECT(item), "bmq-message"));
}

/* ---- pause, attention, plugins ---- */

static void pause_toggled(GtkCheckMenuItem *item, gpointer data)
{
    gui_tray *t = data;
    bool active = gtk_check_menu_item_get_active(item);
    t->g->paused = active;
    if (!active)
        t->g->attention = 0;
    gui__send_pause(t->g, active);
    gui__tray_attention_changed(t);
}

void gui__tray_pause_changed(gui_tray *t)
{
    g_signal_handler_block(t->pause, t->pause_handler);
    gtk_check_menu_item_set_active(GTK_CHECK_MENU_ITEM(t->pause), t->g->paused);
    g_signal_handler_unblock(t->pause, t->pause_handler);
}

void gui__tray_attention_changed(gui_tray *t)
{
    gui *g = t->g;
    bool alert = g->paused && g->attention > 0;
    char *label = alert ? g_strdup_printf("Pause notifications (%u critical waiting)", g->attention)
                        : g_strdup("Pause notifications");
    char *tip = alert ? g_strdup_printf("berryMQ — %u critical message%s while paused",
                                        g->attention, g->attention == 1 ? "" : "s")
                      : g_strdup(g->paused ? "berryMQ — notifications paused" : "berryMQ");
    gtk_menu_item_set_label(GTK_MENU_ITEM(t->pause), label);
    if (t->indicator) {
        app_indicator_set_title(t->indicator, tip);
        app_indicator_set_status(t->indicator, alert ? APP_INDICATOR_STATUS_ATTENTION
                                                     : APP_INDICATOR_STATUS_ACTIVE);
    }
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    if (t->status_icon) {
        gtk_status_icon_set_tooltip_text(t->status_icon, tip);
        if (alert || !g->icon_path) {
            /* A GThemedIcon also tries the -symbolic names, all some
             * themes (Adwaita) still ship. */
            GIcon *gi = g_themed_icon_new(alert ? ATTENTION_ICON : THEMED_ICON);
            gtk_status_icon_set_from_gicon(t->status_icon, gi);
            g_object_unref(gi);
        } else {
            gtk_status_icon_set_from_file(t->status_icon, g->icon_path);
        }
    }
    G_GNUC_END_IGNORE_DEPRECATIONS
    g_free(label);
    g_free(tip);
}

static void plugin_toggled(GtkCheckMenuItem *item, gpointer data)
{
    gui_tray *t = data;
    gui__send_enable(t->g, g_object_get_data(G_OBJECT(item), "bmq-instance"),
                     gtk_check_menu_item_get_active(item));
}

static const char *str_member(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static void destroy_child(GtkWidget *w, gpointer data)
{
    gtk_widget_destroy(w);
}

void gui__tray_instances_changed(gui_tray *t)
{
    /* Same submenu, new children: the exported (D-Bus) menu follows child
     * additions and removals. */
    GtkWidget *sub = gtk_menu_item_get_submenu(GTK_MENU_ITEM(t->plugins));
    gtk_container_foreach(GTK_CONTAINER(sub), destroy_child, NULL);
    json_object *list = t->g->instances;
    size_t n = list ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(list, i);
        const char *id = str_member(o, "id");
        const char *plugin = str_member(o, "plugin");
        const char *state = str_member(o, "state");
        json_object *en = NULL;
        if (!id)
            continue;
        bool enabled =
            json_object_object_get_ex(o, "enabled", &en) ? json_object_get_boolean(en) : true;
        GString *label = g_string_new(id);
        if (plugin && strcmp(plugin, id) != 0)
            g_string_append_printf(label, " (%s)", plugin);
        if (state && strcmp(state, "running") != 0 && strcmp(state, "disabled") != 0)
            g_string_append_printf(label, " — %s", state);
        GtkWidget *item = gtk_check_menu_item_new_with_label(label->str);
        g_string_free(label, TRUE);
        gtk_check_menu_item_set_active(GTK_CHECK_MENU_ITEM(item), enabled);
        g_object_set_data_full(G_OBJECT(item), "bmq-instance", g_strdup(id), g_free);
        g_signal_connect(item, "toggled", G_CALLBACK(plugin_toggled), t);
        gtk_menu_shell_append(GTK_MENU_SHELL(sub), item);
    }
    if (n == 0) {
        GtkWidget *none = gtk_menu_item_new_with_label("No plugins loaded");
        gtk_widget_set_sensitive(none, FALSE);
        gtk_menu_shell_append(GTK_MENU_SHELL(sub), none);
    }
    gtk_widget_show_all(sub);
}

static void monitor_activate(GtkMenuItem *item, gpointer data)
{
    gui_tray *t = data;
    gui__open_monitor(t->g, NULL);
}

static GtkWidget *build_menu(gui_tray *t)
{
    GtkWidget *menu = gtk_menu_new();
    gtk_widget_set_name(menu, "bmq-tray-menu");
    GtkMenuShell *shell = GTK_MENU_SHELL(menu);

    t->no_recent = gtk_menu_item_new_with_label("No messages yet");
    gtk_widget_set_sensitive(t->no_recent, FALSE);
    gtk_menu_shell_append(shell, t->no_recent);
    for (guint i = 0; i < GUI_RECENT_MAX; i++) {
        t->recent[i] = gtk_menu_item_new_with_label("");
        g_signal_connect(t->recent[i], "activate", G_CALLBACK(recent_activate), t);
        gtk_menu_shell_append(shell, t->recent[i]);
    }
    gtk_menu_shell_append(shell, gtk_separator_menu_item_new());

    t->pause = gtk_check_menu_item_new_with_mnemonic("_Pause notifications");
    gtk_widget_set_name(t->pause, "bmq-tray-pause");
    t->pause_handler = g_signal_connect(t->pause, "toggled", G_CALLBACK(pause_toggled), t);
    gtk_menu_shell_append(shell, t->pause);
    t->plugins = gtk_menu_item_new_with_mnemonic("P_lugins");
    gtk_widget_set_name(t->plugins, "bmq-tray-plugins");
    gtk_menu_item_set_submenu(GTK_MENU_ITEM(t->plugins), gtk_menu_new());
    gtk_menu_shell_append(shell, t->plugins);
    t->monitor = gtk_menu_item_new_with_mnemonic("_Message monitor…");
    g_signal_connect(t->monitor, "activate", G_CALLBACK(monitor_activate), t);
    gtk_menu_shell_append(shell, t->monitor);
    gtk_menu_shell_append(shell, gtk_separator_menu_item_new());
    t->quit = gtk_menu_item_new_with_mnemonic("_Quit");
    gtk_widget_set_name(t->quit, "bmq-tray-quit");
    bmq_gtk_bridge_bind_menu_item(t->g->bridge, t->quit, "_hub:quit", NULL, NULL);
    gtk_menu_shell_append(shell, t->quit);

    gtk_widget_show_all(menu);
    for (guint i = 0; i < GUI_RECENT_MAX; i++)
        gtk_widget_hide(t->recent[i]);
    return menu;
}

/* ---- the two kinds of icon ---- */

static void popup_menu(gui_tray *t)
{
    GdkEvent *ev = gtk_get_current_event();
    GdkRectangle area;
    GdkScreen *screen = NULL;

    /* Without a triggering event (keyboard activation through the tray
     * host) anchor the menu to the icon itself. */
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    bool geometry =
        !ev && t->status_icon && gtk_status_icon_get_geometry(t->status_icon, &screen, &area, NULL);
    G_GNUC_END_IGNORE_DEPRECATIONS
    if (geometry)
        gtk_menu_popup_at_rect(GTK_MENU(t->menu), gdk_screen_get_root_window(screen), &area,
                               GDK_GRAVITY_SOUTH_WEST, GDK_GRAVITY_NORTH_WEST, NULL);
    else
        gtk_menu_popup_at_pointer(GTK_MENU(t->menu), ev);
    if (ev)
        gdk_event_free(ev);
}

G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static void status_popup(GtkStatusIcon *icon, guint button, guint time, gpointer data)
{
    popup_menu(data);
}

static void status_activate(GtkStatusIcon *icon, gpointer data)
{
    popup_menu(data);
}

static void use_status_icon(gui_tray *t)
{
    g_clear_object(&t->indicator);
    if (t->status_icon)
        return;
    t->status_icon = gtk_status_icon_new();
    gtk_status_icon_set_name(t->status_icon, "berrymq");
    gtk_status_icon_set_title(t->status_icon, "berryMQ");
    g_signal_connect(t->status_icon, "popup-menu", G_CALLBACK(status_popup), t);
    g_signal_connect(t->status_icon, "activate", G_CALLBACK(status_activate), t);
    gtk_status_icon_set_visible(t->status_icon, TRUE);
    gui__tray_attention_changed(t);
}

static void drop_status_icon(gui_tray *t)
{
    if (!t->status_icon)
        return;
    g_signal_handlers_disconnect_by_data(t->status_icon, t);
    gtk_status_icon_set_visible(t->status_icon, FALSE);
    g_clear_object(&t->status_icon);
}
G_GNUC_END_IGNORE_DEPRECATIONS

static void use_indicator(gui_tray *t)
{
    drop_status_icon(t);
    if (t->indicator)
        return;
    gui *g = t->g;
    if (g->icon_path) {
        /* StatusNotifier hosts look icons up by name in a theme path. */
        char *dir = g_path_get_dirname(g->icon_path);
        char *base = g_path_get_basename(g->icon_path);
        char *dot = strrchr(base, '.');
        if (dot)
            *dot = '\0';
        t->indicator = app_indicator_new_with_path("berrymq-hub", base,
                                                   APP_INDICATOR_CATEGORY_APPLICATION_STATUS, dir);
        g_free(dir);
        g_free(base);
    } else {
        t->indicator = app_indicator_new("berrymq-hub", THEMED_ICON,
                                         APP_INDICATOR_CATEGORY_APPLICATION_STATUS);
    }
    app_indicator_set_attention_icon_full(t->indicator, ATTENTION_ICON,
                                          "Critical messages while paused");
    app_indicator_set_menu(t->indicator, GTK_MENU(t->menu));
    app_indicator_set_secondary_activate_target(t->indicator, t->monitor);
    gui__tray_attention_changed(t);
}

static void watcher_appeared(GDBusConnection *c, const char *name, const char *owner, gpointer data)
{
    use_indicator(data);
}

static void watcher_vanished(GDBusConnection *c, const char *name, gpointer data)
{
    use_status_icon(data);
}

gui_tray *gui__tray_new(gui *g)
{
    gui_tray *t = g_new0(gui_tray, 1);
    t->g = g;
    t->menu = g_object_ref_sink(build_menu(t));
    gui__tray_instances_changed(t);
    gui__tray_recent_changed(t);
    g_main_context_push_thread_default(g->host->context);
    t->watch_id = g_bus_watch_name(G_BUS_TYPE_SESSION, WATCHER_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                   watcher_appeared, watcher_vanished, t, NULL);
    g_main_context_pop_thread_default(g->host->context);
    return t;
}

void gui__tray_free(gui_tray *t)
{
    g_bus_unwatch_name(t->watch_id);
    if (t->refresh_id)
        t->g->host->source_remove(t->g->host, t->refresh_id);
    drop_status_icon(t);
    g_clear_object(&t->indicator);
    gtk_widget_destroy(t->menu);
    g_object_unref(t->menu);
    g_free(t);
}

const char *gui__tray_kind(gui_tray *t)
{
    if (t->indicator)
        return app_indicator_get_status(t->indicator) == APP_INDICATOR_STATUS_PASSIVE ? "none"
                                                                                      : "sni";
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    if (t->status_icon)
        return gtk_status_icon_is_embedded(t->status_icon) ? "xembed" : "waiting";
    G_GNUC_END_IGNORE_DEPRECATIONS
    return "none";
}
