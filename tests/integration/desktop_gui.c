/* desktop_gui.c - the gui plugin in-process through the plugin host, on its
 * own Xvfb and session bus:
 *  1. with a StatusNotifierWatcher (a minimal one run by this test in a
 *     thread of its own) the tray registers as a StatusNotifierItem whose
 *     properties and exported menu are read back over D-Bus; the pause item,
 *     the plugins submenu and Quit send their messages; "_notify:attention"
 *     while paused turns the item to NeedsAttention;
 *  2. the message monitor lists messages (asserted on its GtkTreeModel),
 *     filters by pattern, copies JSON to the clipboard, clears, is bounded;
 *  3. without a watcher the icon falls back to an X tray icon embedded in
 *     trayer; the menu is popped up there for a screenshot.
 * Screenshots land in <build>/test-artifacts/. */
#include "desktop_env.h"

#include <berrymq/host.h>
#include <gdk/gdkx.h>
#include <gtk/gtkx.h>
#include <gtk/gtk.h>
#include <stdio.h>
#include <string.h>

static desk_env *env;
static bmq_bus *bus;
static bmq_instance *inst;
static char *artifacts;

/* ---- messages the plugin sends ---- */
static GMutex got_lock;
static GPtrArray *got;

static void record_cb(const bmq_message *m, void *ud)
{
    g_mutex_lock(&got_lock);
    g_ptr_array_add(got, g_strdup_printf("%s %s", bmq_message_id(m),
                                         json_object_to_json_string_ext(bmq_message_args(m),
                                                                        JSON_C_TO_STRING_PLAIN)));
    g_mutex_unlock(&got_lock);
}

static bool got_has(void *line)
{
    bool found = false;
    g_mutex_lock(&got_lock);
    for (guint i = 0; i < got->len && !found; i++)
        found = strcmp(got->pdata[i], line) == 0;
    g_mutex_unlock(&got_lock);
    return found;
}

/* ---- a minimal StatusNotifierWatcher, on its own thread and connection ---- */
static const char watcher_xml[] =
    "<node><interface name='org.kde.StatusNotifierWatcher'>"
    "<method name='RegisterStatusNotifierItem'><arg type='s' direction='in'/></method>"
    "<method name='RegisterStatusNotifierHost'><arg type='s' direction='in'/></method>"
    "<property name='RegisteredStatusNotifierItems' type='as' access='read'/>"
    "<property name='IsStatusNotifierHostRegistered' type='b' access='read'/>"
    "<property name='ProtocolVersion' type='i' access='read'/>"
    "<signal name='StatusNotifierItemRegistered'><arg type='s'/></signal>"
    "</interface></node>";

typedef struct watcher {
    GMainContext *ctx;
    GMainLoop *loop;
    GThread *thread;
    GDBusConnection *conn;
    GMutex lock;
    char *item_bus, *item_path; /* the registered item */
    guint reg_id, own_id;
    bool owned;
} watcher;

static watcher W;

static void watcher_call(GDBusConnection *c, const char *sender, const char *path,
                         const char *iface, const char *method, GVariant *params,
                         GDBusMethodInvocation *inv, gpointer ud)
{
    if (strcmp(method, "RegisterStatusNotifierItem") == 0) {
        const char *arg;
        g_variant_get(params, "(&s)", &arg);
        g_mutex_lock(&W.lock);
        g_free(W.item_bus);
        g_free(W.item_path);
        W.item_bus = g_strdup(arg[0] == '/' ? sender : arg);
        W.item_path = g_strdup(arg[0] == '/' ? arg : "/StatusNotifierItem");
        g_mutex_unlock(&W.lock);
    }
    g_dbus_method_invocation_return_value(inv, NULL);
}

static GVariant *watcher_prop(GDBusConnection *c, const char *sender, const char *path,
                              const char *iface, const char *prop, GError **err, gpointer ud)
{
    if (strcmp(prop, "IsStatusNotifierHostRegistered") == 0)
        return g_variant_new_boolean(TRUE);
    if (strcmp(prop, "ProtocolVersion") == 0)
        return g_variant_new_int32(0);
    return g_variant_new_strv(NULL, 0);
}

static const GDBusInterfaceVTable watcher_vtable = {watcher_call, watcher_prop, NULL, {0}};

static void watcher_acquired(GDBusConnection *c, const char *name, gpointer ud)
{
    g_mutex_lock(&W.lock);
    W.owned = true;
    g_mutex_unlock(&W.lock);
}

static gboolean watcher_setup(gpointer data)
{
    GDBusNodeInfo *node = g_dbus_node_info_new_for_xml(watcher_xml, NULL);
    W.conn =
        g_dbus_connection_new_for_address_sync(desk_env_bus_address(env),
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, NULL);
    W.reg_id = g_dbus_connection_register_object(
        W.conn, "/StatusNotifierWatcher", node->interfaces[0], &watcher_vtable, NULL, NULL, NULL);
    W.own_id = g_bus_own_name_on_connection(W.conn, "org.kde.StatusNotifierWatcher",
                                            G_BUS_NAME_OWNER_FLAGS_NONE, watcher_acquired, NULL,
                                            NULL, NULL);
    g_dbus_node_info_unref(node);
    return G_SOURCE_REMOVE;
}

static gboolean watcher_teardown(gpointer data)
{
    g_bus_unown_name(W.own_id);
    g_dbus_connection_unregister_object(W.conn, W.reg_id);
    g_dbus_connection_close_sync(W.conn, NULL, NULL);
    g_clear_object(&W.conn);
    g_main_loop_quit(W.loop);
    return G_SOURCE_REMOVE;
}

static gpointer watcher_thread(gpointer data)
{
    g_main_context_push_thread_default(W.ctx);
    g_main_loop_run(W.loop);
    g_main_context_pop_thread_default(W.ctx);
    return NULL;
}

static bool watcher_owned(void *d)
{
    g_mutex_lock(&W.lock);
    bool ok = W.owned;
    g_mutex_unlock(&W.lock);
    return ok;
}

static void watcher_start(void)
{
    g_mutex_init(&W.lock);
    W.ctx = g_main_context_new();
    W.loop = g_main_loop_new(W.ctx, FALSE);
    g_main_context_invoke(W.ctx, watcher_setup, NULL);
    W.thread = g_thread_new("sni-watcher", watcher_thread, NULL);
    EXPECT(desk_wait(watcher_owned, NULL, 15000));
}

static void watcher_stop(void)
{
    g_main_context_invoke(W.ctx, watcher_teardown, NULL);
    g_thread_join(W.thread);
    g_main_loop_unref(W.loop);
    g_main_context_unref(W.ctx);
    g_free(W.item_bus);
    g_free(W.item_path);
}

static bool item_registered(void *d)
{
    g_mutex_lock(&W.lock);
    bool ok = W.item_bus != NULL;
    g_mutex_unlock(&W.lock);
    return ok;
}

/* An async call (the item lives on this thread's main loop), waited for. */
typedef struct call {
    GVariant *reply;
    bool done;
} call;

static void call_done(GObject *src, GAsyncResult *res, gpointer data)
{
    call *c = data;
    c->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, NULL);
    c->done = true;
}

static bool call_finished(void *data)
{
    return ((call *)data)->done;
}

static GVariant *item_call(const char *iface, const char *method, GVariant *params,
                           const char *path)
{
    call c = {0};
    g_dbus_connection_call(W.conn, W.item_bus, path ? path : W.item_path, iface, method, params,
                           NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, call_done, &c);
    desk_wait(call_finished, &c, 6000);
    return c.reply;
}

static char *item_prop(const char *name)
{
    GVariant *r = item_call("org.freedesktop.DBus.Properties", "Get",
                            g_variant_new("(ss)", "org.kde.StatusNotifierItem", name), NULL);
    char *out = NULL;
    if (r) {
        GVariant *v;
        g_variant_get(r, "(v)", &v);
        out = g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) ||
                      g_variant_is_of_type(v, G_VARIANT_TYPE_OBJECT_PATH)
                  ? g_variant_dup_string(v, NULL)
                  : g_variant_print(v, FALSE);
        g_variant_unref(v);
        g_variant_unref(r);
    }
    return out;
}

static bool status_is(void *want)
{
    char *s = item_prop("Status");
    bool ok = g_strcmp0(s, want) == 0;
    g_free(s);
    return ok;
}

/* ---- widgets ---- */
static GtkWidget *find_in(GtkWidget *w, const char *name)
{
    if (g_strcmp0(gtk_widget_get_name(w), name) == 0)
        return w;
    GtkWidget *found = NULL;
    if (GTK_IS_CONTAINER(w)) {
        GList *kids = gtk_container_get_children(GTK_CONTAINER(w));
        for (GList *l = kids; l && !found; l = l->next)
            found = find_in(l->data, name);
        g_list_free(kids);
    }
    return found;
}

static GtkWidget *find_widget(const char *name)
{
    GList *tops = gtk_window_list_toplevels();
    GtkWidget *found = NULL;
    for (GList *l = tops; l && !found; l = l->next)
        found = find_in(l->data, name);
    g_list_free(tops);
    return found;
}

static GtkWidget *menu_item_labeled(GtkWidget *menu, const char *prefix)
{
    GtkWidget *found = NULL;
    GList *kids = gtk_container_get_children(GTK_CONTAINER(menu));
    for (GList *l = kids; l && !found; l = l->next) {
        const char *label = GTK_IS_MENU_ITEM(l->data) ? gtk_menu_item_get_label(l->data) : NULL;
        if (label && g_str_has_prefix(label, prefix) && gtk_widget_get_visible(l->data))
            found = l->data;
    }
    g_list_free(kids);
    return found;
}

static char *status_member(const char *key)
{
    json_object *st = bmq_instance_status(inst), *s = NULL, *v = NULL;
    char *out = NULL;
    if (json_object_object_get_ex(st, "status", &s) && json_object_object_get_ex(s, key, &v))
        out = g_strdup(json_object_get_string(v));
    json_object_put(st);
    return out;
}

static bool tray_is(void *want)
{
    char *k = status_member("tray");
    bool ok = g_strcmp0(k, want) == 0;
    g_free(k);
    return ok;
}

/* A key press as the window would receive it from the X server. */
static void send_key(GtkWidget *widget, guint keyval, GdkModifierType mods)
{
    GtkWidget *top = gtk_widget_get_toplevel(widget);
    GdkDisplay *d = gtk_widget_get_display(top);
    GdkKeymapKey *keys = NULL;
    gint n = 0;
    GdkEvent *ev = gdk_event_new(GDK_KEY_PRESS);
    ev->key.window = g_object_ref(gtk_widget_get_window(top));
    ev->key.send_event = TRUE;
    ev->key.time = GDK_CURRENT_TIME;
    ev->key.state = mods;
    ev->key.keyval = keyval;
    if (gdk_keymap_get_entries_for_keyval(gdk_keymap_get_for_display(d), keyval, &keys, &n) &&
        n > 0)
        ev->key.hardware_keycode = (guint16)keys[0].keycode;
    g_free(keys);
    gdk_event_set_device(ev, gdk_seat_get_keyboard(gdk_display_get_default_seat(d)));
    gtk_main_do_event(ev);
    gdk_event_free(ev);
}

static char *shot_path(const char *name)
{
    return g_build_filename(artifacts, name, NULL);
}

static void collect_labels(GVariant *layout, GString *out)
{
    /* (ia{sv}av) */
    GVariant *props = g_variant_get_child_value(layout, 1);
    const char *label;
    if (g_variant_lookup(props, "label", "&s", &label))
        g_string_append_printf(out, "[%s]", label);
    g_variant_unref(props);
    GVariant *kids = g_variant_get_child_value(layout, 2);
    for (gsize i = 0; i < g_variant_n_children(kids); i++) {
        GVariant *boxed = g_variant_get_child_value(kids, i);
        GVariant *child = g_variant_get_variant(boxed);
        collect_labels(child, out);
        g_variant_unref(child);
        g_variant_unref(boxed);
    }
    g_variant_unref(kids);
}

static void send(const char *id, const char *args, const char *kwargs)
{
    EXPECT(bmq_twitter_json(bus, id, args, kwargs) == 0);
}

typedef struct menu_has {
    GtkWidget *menu;
    const char *prefix;
} menu_has;

static bool menu_has_item(void *data)
{
    menu_has *m = data;
    return m->menu && menu_item_labeled(m->menu, m->prefix) != NULL;
}

/* The labels of the menu the item exports over D-Bus (transfer full). */
static char *exported_labels(const char *menu)
{
    GVariant *layout =
        menu ? item_call("com.canonical.dbusmenu", "GetLayout",
                         g_variant_new("(ii@as)", 0, -1, g_variant_new_strv(NULL, 0)), menu)
             : NULL;
    if (!layout)
        return NULL;
    GVariant *root = g_variant_get_child_value(layout, 1);
    GString *labels = g_string_new(NULL);
    collect_labels(root, labels);
    g_variant_unref(root);
    g_variant_unref(layout);
    return g_string_free(labels, FALSE);
}

typedef struct exported_has {
    const char *menu;
    const char *label;
} exported_has;

static bool exported_label_seen(void *data)
{
    exported_has *e = data;
    char *labels = exported_labels(e->menu);
    bool ok = labels && strstr(labels, e->label);
    g_free(labels);
    return ok;
}

static void phase_sni(void)
{
    EXPECT(desk_wait(item_registered, NULL, 10000));
    EXPECT(desk_wait(tray_is, "sni", 10000));
    if (!item_registered(NULL))
        return;
    char *id = item_prop("Id"), *icon = item_prop("IconName"), *menu = item_prop("Menu");
    EXPECT(g_strcmp0(id, "berrymq-hub") == 0);
    EXPECT(icon && *icon);
    EXPECT(status_is("Active"));
    GVariant *layout =
        menu ? item_call("com.canonical.dbusmenu", "GetLayout",
                         g_variant_new("(ii@as)", 0, -1, g_variant_new_strv(NULL, 0)), menu)
             : NULL;
    EXPECT(layout != NULL);
    if (layout) {
        GVariant *root = g_variant_get_child_value(layout, 1);
        GString *labels = g_string_new(NULL);
        collect_labels(root, labels);
        fprintf(stderr, "exported menu: %s\n", labels->str);
        EXPECT(strstr(labels->str, "Pause notifications") != NULL);
        EXPECT(strstr(labels->str, "Message monitor…") != NULL);
        EXPECT(strstr(labels->str, "Quit") != NULL);
        EXPECT(strstr(labels->str, "lugins") != NULL);
        g_string_free(labels, TRUE);
        g_variant_unref(root);
        g_variant_unref(layout);
    }
    g_free(id);
    g_free(icon);

    /* The plugins submenu follows _hub:instances; toggles send enable/disable. */
    EXPECT(desk_wait(got_has, "_hub:query []", 10000));
    EXPECT(desk_wait(got_has, "_notify:query []", 10000));
    send("_hub:instances", NULL,
         "{\"instances\": [{\"id\": \"notify\", \"plugin\": \"notify\", \"enabled\": true, "
         "\"state\": \"running\"}, {\"id\": \"tick10\", \"plugin\": \"timer\", "
         "\"enabled\": false, \"state\": \"disabled\"}]}");
    /* ... and so does the menu exported over D-Bus. */
    exported_has eh = {menu, "tick10 (timer)"};
    EXPECT(desk_wait(exported_label_seen, &eh, 10000));
    g_free(menu);
    GtkWidget *plugins = find_widget("bmq-tray-plugins");
    EXPECT(plugins != NULL);
    menu_has mh = {plugins ? gtk_menu_item_get_submenu(GTK_MENU_ITEM(plugins)) : NULL, "tick10"};
    for (int i = 0; i < 1000 && !menu_has_item(&mh); i++) {
        desk_spin(20);
        mh.menu = plugins ? gtk_menu_item_get_submenu(GTK_MENU_ITEM(plugins)) : NULL;
    }
    GtkWidget *tick = mh.menu ? menu_item_labeled(mh.menu, "tick10") : NULL;
    GtkWidget *notify = mh.menu ? menu_item_labeled(mh.menu, "notify") : NULL;
    EXPECT(tick && notify);
    if (tick && notify) {
        EXPECT(strcmp(gtk_menu_item_get_label(GTK_MENU_ITEM(tick)), "tick10 (timer)") == 0);
        EXPECT(!gtk_check_menu_item_get_active(GTK_CHECK_MENU_ITEM(tick)));
        EXPECT(gtk_check_menu_item_get_active(GTK_CHECK_MENU_ITEM(notify)));
        gtk_menu_item_activate(GTK_MENU_ITEM(tick));
        EXPECT(desk_wait(got_has, "_hub:enable [\"tick10\"]", 10000));
        gtk_menu_item_activate(GTK_MENU_ITEM(notify));
        EXPECT(desk_wait(got_has, "_hub:disable [\"notify\"]", 10000));
    }

    /* Pause, then a critical message held back: attention. */
    GtkWidget *pause = find_widget("bmq-tray-pause");
    EXPECT(pause != NULL);
    if (pause) {
        gtk_menu_item_activate(GTK_MENU_ITEM(pause));
        EXPECT(desk_wait(got_has, "_notify:pause []", 10000));
        send("_notify:attention", NULL, "{\"id\": \"disk:notify\", \"title\": \"Disk full\"}");
        EXPECT(desk_wait(status_is, "NeedsAttention", 10000));
        EXPECT(g_str_has_prefix(gtk_menu_item_get_label(GTK_MENU_ITEM(pause)),
                                "Pause notifications (1 critical waiting)"));
        /* Resumed elsewhere (another client): the item and the icon follow. */
        send("_notify:status", NULL, "{\"paused\": false, \"suppressed\": 1}");
        EXPECT(desk_wait(status_is, "Active", 10000));
        EXPECT(!gtk_check_menu_item_get_active(GTK_CHECK_MENU_ITEM(pause)));
    }
    GtkWidget *quit = find_widget("bmq-tray-quit");
    EXPECT(quit != NULL);
    if (quit) {
        gtk_menu_item_activate(GTK_MENU_ITEM(quit));
        EXPECT(desk_wait(got_has, "_hub:quit []", 10000));
    }
}

static bool widget_visible(void *w)
{
    return gtk_widget_get_visible(w);
}

static bool widget_mapped(void *w)
{
    return gtk_widget_get_mapped(w);
}

typedef struct label_has {
    GtkWidget *label;
    const char *text;
} label_has;

static bool label_contains(void *data)
{
    label_has *l = data;
    return strstr(gtk_label_get_text(GTK_LABEL(l->label)), l->text) != NULL;
}

static bool attention_is(void *want)
{
    char *att = status_member("attention");
    bool ok = g_strcmp0(att, want) == 0;
    g_free(att);
    return ok;
}
static GtkTreeModel *monitor_model(void)
{
    GtkWidget *view = find_widget("bmq-monitor-view");
    return view ? gtk_tree_view_get_model(GTK_TREE_VIEW(view)) : NULL;
}

static int model_rows(void *unused)
{
    GtkTreeModel *m = monitor_model();
    return m ? gtk_tree_model_iter_n_children(m, NULL) : -1;
}

static bool rows_at_least(void *n)
{
    return model_rows(NULL) >= GPOINTER_TO_INT(n);
}

/* Row index of the first row with identifier @id, or -1. */
static int row_of(const char *id, char **kwargs)
{
    GtkTreeModel *m = monitor_model();
    GtkTreeIter it;
    int i = 0;
    if (!m || !gtk_tree_model_get_iter_first(m, &it))
        return -1;
    do {
        char *rid = NULL, *kw = NULL;
        gtk_tree_model_get(m, &it, 1, &rid, 3, &kw, -1);
        bool hit = g_strcmp0(rid, id) == 0;
        g_free(rid);
        if (hit) {
            if (kwargs)
                *kwargs = kw;
            else
                g_free(kw);
            return i;
        }
        g_free(kw);
        i++;
    } while (gtk_tree_model_iter_next(m, &it));
    return -1;
}

static void send_showcase(void)
{
    send("build:notify", NULL,
         "{\"title\": \"Build finished\", \"body\": \"all 42 tests passed\", "
         "\"bytes\": 1180591620717411303424}");
    send("ci:failed", "[\"unit-tests\", 3]", "{\"branch\": \"main\"}");
    send("deploy:start", "[\"web1\"]", "{\"version\": \"2.0.0\"}");
    send("backup:done", NULL, "{\"files\": 1834, \"size\": \"4.2 GB\"}");
    send("sensor:reading", "[21.5]", "{\"room\": \"office\", \"unit\": \"°C\"}");
    send("tick10:tick", NULL, NULL);
    send("mail:notify", NULL, "{\"title\": \"3 new messages\", \"urgency\": \"low\"}");
}

/* "Message monitor…" in the tray menu. */
static void gui_reopen(void)
{
    GtkWidget *menu = find_widget("bmq-tray-menu");
    GtkWidget *item = menu ? menu_item_labeled(menu, "_Message monitor") : NULL;
    EXPECT(item != NULL);
    if (item)
        gtk_menu_item_activate(GTK_MENU_ITEM(item));
}

static void phase_monitor(void)
{
    GtkWidget *win = find_widget("bmq-monitor");
    EXPECT(win == NULL); /* not built until opened */

    /* Bounded history: 60 messages into a history of 50. */
    for (int i = 0; i < 60; i++) {
        char *kw = g_strdup_printf("{\"n\": %d}", i);
        send("load:step", NULL, kw);
        g_free(kw);
    }
    send("backup:start", NULL, "{\"target\": \"nas\"}");
    send("build:notify", NULL,
         "{\"title\": \"Build finished\", \"body\": \"all 42 tests passed\", "
         "\"bytes\": 1180591620717411303424}");
    send("mail:sync", "[\"inbox\"]", NULL);
    GtkWidget *pm = find_widget("bmq-tray-menu");
    /* Waits, not sleeps: under ASan with full stacks every step is slow. */
    menu_has recent_build = {pm, "build:notify"};
    EXPECT(desk_wait(menu_has_item, &recent_build, 20000));
    GtkWidget *recent = pm ? menu_item_labeled(pm, "build:notify") : NULL;
    EXPECT(recent != NULL);
    if (recent) {
        EXPECT(strcmp(gtk_menu_item_get_label(GTK_MENU_ITEM(recent)),
                      "build:notify — Build finished") == 0);
        gtk_menu_item_activate(GTK_MENU_ITEM(recent)); /* opens it in the monitor */
    }
    win = find_widget("bmq-monitor");
    EXPECT(win && gtk_widget_get_visible(win));
    EXPECT(desk_wait(rows_at_least, GINT_TO_POINTER(50), 10000));
    char *rows = status_member("rows");
    EXPECT(g_strcmp0(rows, "50") == 0);
    g_free(rows);
    GtkWidget *view = find_widget("bmq-monitor-view");
    if (!win || !view)
        return;

    char *kw = NULL;
    int row = row_of("build:notify", &kw);
    EXPECT(row >= 0 && kw && strstr(kw, "\"title\":\"Build finished\""));
    g_free(kw);
    /* The message chosen in the tray menu is the selected row. */
    GtkTreeSelection *sel = gtk_tree_view_get_selection(GTK_TREE_VIEW(view));
    GtkTreePath *path = gtk_tree_path_new_from_indices(row, -1);
    EXPECT(gtk_tree_selection_count_selected_rows(sel) == 1 &&
           gtk_tree_selection_path_is_selected(sel, path));
    gtk_tree_path_free(path);

    /* Ctrl+C copies the selected row as JSON. */
    send_key(view, GDK_KEY_c, GDK_CONTROL_MASK);
    char *text = gtk_clipboard_wait_for_text(gtk_clipboard_get(GDK_SELECTION_CLIPBOARD));
    json_object *copied = text ? json_tokener_parse(text) : NULL;
    json_object *cid = NULL;
    EXPECT(copied && json_object_object_get_ex(copied, "id", &cid) &&
           strcmp(json_object_get_string(cid), "build:notify") == 0);
    /* with the digits of an integer beyond 64 bits */
    EXPECT(text && strstr(text, "\"bytes\":1180591620717411303424") != NULL);
    json_object_put(copied);
    g_free(text);

    /* Filter by pattern; a bad pattern is flagged and changes nothing. */
    GtkWidget *entry = find_widget("bmq-monitor-filter");
    send_key(win, GDK_KEY_f, GDK_CONTROL_MASK);
    EXPECT(gtk_window_get_focus(GTK_WINDOW(win)) == entry);
    gtk_entry_set_text(GTK_ENTRY(entry), "*:notify");
    desk_spin(50);
    EXPECT(model_rows(NULL) == 1);
    EXPECT(row_of("build:notify", NULL) == 0);
    gtk_entry_set_text(GTK_ENTRY(entry), "bad pattern");
    desk_spin(50);
    EXPECT(gtk_style_context_has_class(gtk_widget_get_style_context(entry), "error"));
    EXPECT(model_rows(NULL) == 1);
    gtk_entry_set_text(GTK_ENTRY(entry), "");
    desk_spin(50);
    EXPECT(!gtk_style_context_has_class(gtk_widget_get_style_context(entry), "error"));

    /* Clear, then the showcase alone for the screenshot. */
    send_key(view, GDK_KEY_l, GDK_CONTROL_MASK);
    EXPECT(model_rows(NULL) == 0);
    send_showcase();
    EXPECT(desk_wait(rows_at_least, GINT_TO_POINTER(7), 10000));
    fprintf(stderr, "rows after the showcase: %d\n", model_rows(NULL));
    gtk_tree_selection_unselect_all(sel);
    path = gtk_tree_path_new_from_indices(row_of("backup:done", NULL), -1);
    gtk_tree_selection_select_path(sel, path);
    gtk_tree_path_free(path);
    gtk_window_move(GTK_WINDOW(win), 40, 60);
    desk_spin(500);
    char *shot = shot_path("desktop-monitor.png");
    char *xid = g_strdup_printf("0x%lx", gdk_x11_window_get_xid(gtk_widget_get_window(win)));
    const char *argv[] = {"import", "-window", xid, shot, NULL};
    EXPECT(desk_run(argv, NULL) == 0);
    g_free(xid);
    g_free(shot);
    shot = shot_path("desktop-monitor-root.png");
    EXPECT(desk_screenshot(env, shot));
    g_free(shot);

    /* Pause: messages keep arriving but are not listed, and say so. */
    GtkWidget *pause = find_widget("bmq-monitor-pause");
    GtkWidget *status = find_widget("bmq-monitor-status");
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(pause), TRUE);
    send("late:arrival", NULL, NULL);
    label_has lh = {status, "paused, 1 not listed"};
    EXPECT(desk_wait(label_contains, &lh, 10000));
    EXPECT(model_rows(NULL) == 7);
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(pause), FALSE);

    /* Ctrl+W and Esc close (hide) the window; history stays. */
    send_key(win, GDK_KEY_w, GDK_CONTROL_MASK);
    EXPECT(!gtk_widget_get_visible(win));
    gui_reopen();
    EXPECT(gtk_widget_get_visible(win));
    send_key(win, GDK_KEY_Escape, 0);
    EXPECT(!gtk_widget_get_visible(win));
    send("_gui:monitor", NULL, NULL);
    EXPECT(desk_wait(widget_visible, win, 10000));
    send_key(win, GDK_KEY_Escape, 0);
    EXPECT(!gtk_widget_get_visible(win));
    /* The history stayed: the 7 rows and the _gui:monitor message itself. */
    EXPECT(desk_wait(rows_at_least, GINT_TO_POINTER(8), 10000));
    EXPECT(model_rows(NULL) == 8 && row_of("_gui:monitor", NULL) == 0);
}

static void phase_fallback(void)
{
    EXPECT(desk_trayer_start(env));
    desk_spin(500);
    watcher_stop();
    EXPECT(desk_wait(tray_is, "xembed", 20000));

    /* A real click (XTest) on the icon embedded in trayer pops the menu up. */
    GtkWidget *menu = find_widget("bmq-tray-menu");
    GtkWidget *icon = NULL;
    GList *tops = gtk_window_list_toplevels();
    for (GList *l = tops; l; l = l->next)
        if (GTK_IS_PLUG(l->data) && gtk_plug_get_embedded(l->data))
            icon = l->data;
    g_list_free(tops);
    EXPECT(menu != NULL && icon != NULL);
    if (!menu || !icon)
        return;
    desk_spin(300);
    GdkWindow *iw = gtk_widget_get_window(icon);

    int w = gdk_window_get_width(iw), h = gdk_window_get_height(iw);
    EXPECT(gdk_test_simulate_button(iw, w / 2, h / 2, 1, 0, GDK_BUTTON_PRESS));
    EXPECT(gdk_test_simulate_button(iw, w / 2, h / 2, 1, 0, GDK_BUTTON_RELEASE));
    gint ix, iy;
    gdk_window_get_origin(iw, &ix, &iy);
    fprintf(stderr, "tray icon at %d,%d size %dx%d\n", ix, iy, w, h);
    EXPECT(desk_wait(widget_mapped, menu, 10000));
    desk_spin(400); /* let it draw before the picture */
    GtkWidget *sensor = menu_item_labeled(menu, "sensor:reading");
    EXPECT(sensor && strcmp(gtk_menu_item_get_label(GTK_MENU_ITEM(sensor)),
                            "sensor:reading — 21.5, room: office, unit: °C") == 0);
    char *shot = shot_path("desktop-tray-menu.png");
    EXPECT(desk_screenshot(env, shot));
    g_free(shot);
    gtk_menu_popdown(GTK_MENU(menu));
    desk_spin(50);

    /* Paused with a critical message held back: the X tray icon turns to
     * the attention icon; resuming turns it back. */
    GtkWidget *pause = find_widget("bmq-tray-pause");
    gtk_menu_item_activate(GTK_MENU_ITEM(pause));
    send("_notify:attention", NULL, "{\"id\": \"disk:notify\", \"title\": \"Disk full\"}");
    EXPECT(desk_wait(attention_is, "1", 10000));
    desk_spin(300); /* let the icon redraw before the picture */
    shot = shot_path("desktop-tray-attention.png");
    EXPECT(desk_screenshot(env, shot));
    g_free(shot);
    gtk_menu_item_activate(GTK_MENU_ITEM(pause));
    EXPECT(desk_wait(attention_is, "0", 10000));
}

int main(void)
{
    char *why = NULL;
    env = desk_env_start(&why);
    if (!env) {
        fprintf(stderr, "skipped: %s\n", why);
        g_free(why);
        return DESK_SKIP;
    }
    /* gdk_test_simulate_button() sends core X events; let GDK listen to
     * core events rather than XInput2 so the simulated click counts. */
    g_setenv("GDK_CORE_DEVICE_EVENTS", "1", TRUE);
    artifacts = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "test-artifacts", NULL);
    g_mkdir_with_parents(artifacts, 0755);
    got = g_ptr_array_new_with_free_func(g_free);
    watcher_start();

    bus = bmq_bus_new();
    bmq_follower *f1 = bmq_follow(bus, "_hub:*", record_cb, NULL, NULL);
    bmq_follower *f2 = bmq_follow(bus, "_notify:*", record_cb, NULL, NULL);
    char *data = g_build_filename(desk_env_dir(env), "instances", NULL);
    bmq_plugin_host *host = bmq_plugin_host_new(bus, NULL, data);
    bmq_plugin_host_add_dir(host, g_getenv("BMQ_PLUGIN_BUILD_DIR"));
    json_object *cfg = json_tokener_parse("{\"history\": 50}");
    char *err = NULL;
    inst = bmq_instance_create(host, "gui", "gui", cfg, NULL, &err);
    json_object_put(cfg);
    if (!inst) {
        fprintf(stderr, "gui instance: %s\n", err);
        g_free(err);
        check_failures++;
        watcher_stop();
    } else {
        phase_sni();
        phase_monitor();
        phase_fallback();
    }
    bmq_plugin_host_free(host);
    bmq_unfollow(f1);
    bmq_unfollow(f2);
    bmq_bus_free(bus);
    g_free(data);
    g_free(artifacts);
    g_ptr_array_unref(got);
    desk_env_stop(env);
    return check_result();
}
