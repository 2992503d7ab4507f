/* monitor.c - the message monitor window: a live, bounded list of messages
 * (time, identifier, args, kwargs) with a berryMQ pattern filter, pause,
 * clear and copy-as-JSON. When it first opens it also lists the hub's
 * stored messages from before the instance started (host->history_recent).
 *
 * The list store lives as long as the instance, so history is kept while the
 * window is closed; closing only hides the window. Keyboard: Ctrl+F filter,
 * Ctrl+C copy the selected rows, Ctrl+L clear, Esc / Ctrl+W close; the
 * buttons have mnemonics.
 */
#include "gui.h"

#include <string.h>

#include <berrymq/json.h>

enum { COL_TIME, COL_ID, COL_ARGS, COL_KWARGS, COL_MSG, N_COLS };

/* Rows read from the hub's history when the window first opens: what came
 * before the instance started. */
#define MONITOR_LOAD_MAX 1000

struct gui_monitor {
    gui *g;
    uint64_t first_seq;  /* seq of the first stored message listed live (0: none yet) */
    uint64_t loaded_seq; /* newest seq loaded from the history */
    guint loaded;        /* rows loaded from the history */
    bool history_done;
    GtkListStore *store; /* newest first */
    GtkTreeModel *filtered;
    char *pattern; /* (nullable) NULL shows everything */
    GtkWidget *window, *view, *entry, *pause, *status;
    guint64 skipped; /* arrived while paused */
    guint rows;
    guint status_id; /* pending status-line refresh */
};

/* Empty args/kwargs stay blank so the rows that carry data stand out. */
static char *json_text(json_object *o)
{
    if (!o || ((json_object_is_type(o, json_type_array) && json_object_array_length(o) == 0) ||
               (json_object_is_type(o, json_type_object) && json_object_object_length(o) == 0)))
        return g_strdup("");
    /* Peers may send bytes that are not UTF-8; GTK shows only UTF-8. */
    return g_utf8_make_valid(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
        -1);
}

static void update_status(gui_monitor *m)
{
    if (!m->status)
        return;
    int shown = gtk_tree_model_iter_n_children(m->filtered, NULL);
    GString *s = g_string_new(NULL);
    g_string_printf(s, "%d of %u message%s (history %u)", shown, m->rows, m->rows == 1 ? "" : "s",
                    m->g->history);
    if (m->loaded)
        g_string_append_printf(s, "  ·  %u from before the start", m->loaded);
    if (m->pattern)
        g_string_append_printf(s, "  ·  filter %s", m->pattern);
    if (gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(m->pause)))
        g_string_append_printf(s, "  ·  paused, %" G_GUINT64_FORMAT " not listed", m->skipped);
    gtk_label_set_text(GTK_LABEL(m->status), s->str);
    g_string_free(s, TRUE);
}

static gboolean status_cb(gpointer data)
{
    gui_monitor *m = data;
    m->status_id = 0;
    update_status(m);
    return G_SOURCE_REMOVE;
}

/* Counting the visible rows walks the filter: during a flood refresh the
 * status line a few times a second, not per message. */
static void update_status_soon(gui_monitor *m)
{
    if (m->status && !m->status_id)
        m->status_id = m->g->host->timeout_add(m->g->host, 150, status_cb, m);
}

/* "HH:MM:SS.mmm" in local time; the date too when not today. */
static char *row_time(int64_t time_us)
{
    GDateTime *t = g_date_time_new_from_unix_local(time_us / G_USEC_PER_SEC);
    GDateTime *now = g_date_time_new_now_local();
    bool today = g_date_time_get_year(t) == g_date_time_get_year(now) &&
                 g_date_time_get_day_of_year(t) == g_date_time_get_day_of_year(now);
    char *hms = g_date_time_format(t, today ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S");
    char *s = g_strdup_printf("%s.%03d", hms, (int)(time_us % G_USEC_PER_SEC / 1000));
    g_free(hms);
    g_date_time_unref(now);
    g_date_time_unref(t);
    return s;
}

/* Insert a row at @pos (0: newest; -1: after the others). */
static void add_row(gui_monitor *m, bmq_message *msg, int64_t time_us, int pos)
{
    char *time = row_time(time_us);
    char *args = json_text(bmq_message_args(msg));
    char *kwargs = json_text(bmq_message_kwargs(msg));
    char *id = g_utf8_make_valid(bmq_message_id(msg), -1);
    gtk_list_store_insert_with_values(m->store, NULL, pos, COL_TIME, time, COL_ID, id, COL_ARGS,
                                      args, COL_KWARGS, kwargs, COL_MSG, msg, -1);
    g_free(id);
    g_free(time);
    g_free(args);
    g_free(kwargs);
    m->rows++;
}

void gui__monitor_add(gui_monitor *m, bmq_message *msg)
{
    uint64_t seq = bmq_message_seq(msg);
    if (seq && seq <= m->loaded_seq)
        return; /* listed already from the history */
    if (seq && !m->first_seq)
        m->first_seq = seq;
    if (m->pause && gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(m->pause))) {
        m->skipped++;
        update_status_soon(m);
        return;
    }
    add_row(m, msg, g_get_real_time(), 0);
    while (m->rows > m->g->history) {
        GtkTreeIter last;
        if (!gtk_tree_model_iter_nth_child(GTK_TREE_MODEL(m->store), &last, NULL, (int)m->rows - 1))
            break;
        gtk_list_store_remove(m->store, &last);
        m->rows--;
    }
    update_status_soon(m);
}

/* Once, when the window first opens: the stored messages from before the
 * instance started (older than the first one listed live), below the
 * others. Nothing when the hub keeps no history. */
static void load_history(gui_monitor *m)
{
    const bmq_host *host = m->g->host;
    m->history_done = true;
    if (!BMQ_HOST_HAS(host, history_recent) || m->rows >= m->g->history)
        return;
    unsigned max = MIN(MONITOR_LOAD_MAX, m->g->history - m->rows);
    bmq_message **v = g_new(bmq_message *, max);
    int64_t *t = g_new(int64_t, max);
    int n = host->history_recent(host, m->g->follow, m->first_seq, v, t, max);
    if (n < 0 && n != -BMQ_ENOENT)
        host->log(host, BMQ_LOG_WARNING, "monitor: cannot read the history: %s", bmq_strerror(n));
    if (n > 0) /* what arrives live up to here is listed already */
        m->loaded_seq = bmq_message_seq(v[n - 1]);
    for (int i = n - 1; i >= 0; i--) { /* newest first, after the live rows */
        add_row(m, v[i], t[i], -1);
        m->loaded++;
        bmq_message_unref(v[i]);
    }
    g_free(v);
    g_free(t);
}

static gboolean visible_func(GtkTreeModel *model, GtkTreeIter *iter, gpointer data)
{
    gui_monitor *m = data;
    if (!m->pattern)
        return TRUE;
    char *id = NULL;
    gtk_tree_model_get(model, iter, COL_ID, &id, -1);
    gboolean ok = id && bmq_id_match(m->pattern, id);
    g_free(id);
    return ok;
}

static void filter_changed(GtkEditable *e, gpointer data)
{
    gui_monitor *m = data;
    const char *text = gtk_entry_get_text(GTK_ENTRY(m->entry));
    GtkStyleContext *sc = gtk_widget_get_style_context(m->entry);
    if (*text && bmq_id_validate(text) != 0) {
        /* Half-typed ("build:"): keep the previous filter in effect. */
        gtk_style_context_add_class(sc, "error");
        gtk_widget_set_tooltip_text(m->entry, "Not a berryMQ pattern (name:action, * wildcards)");
        return;
    }
    gtk_style_context_remove_class(sc, "error");
    gtk_widget_set_tooltip_text(m->entry, "A berryMQ pattern, e.g. build:* or *:notify");
    g_clear_pointer(&m->pattern, g_free);
    if (*text && strcmp(text, "*") != 0 && strcmp(text, "*:*") != 0)
        m->pattern = g_strdup(text);
    gtk_tree_model_filter_refilter(GTK_TREE_MODEL_FILTER(m->filtered));
    update_status(m);
}

static void clear_cb(GtkWidget *w, gpointer data)
{
    gui_monitor *m = data;
    gtk_list_store_clear(m->store);
    m->rows = 0;
    m->skipped = 0;
    update_status(m);
}

static void pause_cb(GtkToggleButton *b, gpointer data)
{
    gui_monitor *m = data;
    if (!gtk_toggle_button_get_active(b))
        m->skipped = 0;
    update_status(m);
}

static void add_row_json(GtkTreeModel *model, GtkTreePath *path, GtkTreeIter *iter, gpointer data)
{
    json_object *arr = data;
    bmq_message *msg = NULL;
    gtk_tree_model_get(model, iter, COL_MSG, &msg, -1);
    if (!msg)
        return;
    /* bmq_json_parse keeps integers beyond 64 bits exact; json-c's reader
     * would copy 2^70 as 2^64-1. */
    const char *text = bmq_message_to_json(msg);
    json_object *o = NULL;
    if (text && bmq_json_parse(text, strlen(text), 0, &o, NULL) == 0 && o)
        json_object_array_add(arr, o);
    bmq_message_unref(msg);
}

static void copy_cb(GtkWidget *w, gpointer data)
{
    gui_monitor *m = data;
    GtkTreeSelection *sel = gtk_tree_view_get_selection(GTK_TREE_VIEW(m->view));
    json_object *arr = json_object_new_array();
    gtk_tree_selection_selected_foreach(sel, add_row_json, arr);
    size_t n = json_object_array_length(arr);
    if (n > 0) {
        json_object *out = n == 1 ? json_object_array_get_idx(arr, 0) : arr;
        const char *text = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
                                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
        gtk_clipboard_set_text(gtk_widget_get_clipboard(m->window, GDK_SELECTION_CLIPBOARD), text,
                               -1);
        gtk_label_set_text(GTK_LABEL(m->status),
                           n == 1 ? "Copied 1 message as JSON" : "Copied messages as JSON");
    }
    json_object_put(arr);
}

static gboolean key_cb(GtkWidget *w, GdkEventKey *ev, gpointer data)
{
    gui_monitor *m = data;
    guint mods = ev->state & gtk_accelerator_get_default_mod_mask();
    guint key = gdk_keyval_to_lower(ev->keyval);
    GtkWidget *focus = gtk_window_get_focus(GTK_WINDOW(m->window));

    if (mods == 0 && key == GDK_KEY_Escape) {
        gtk_widget_hide(m->window);
        return TRUE;
    }
    if (mods != GDK_CONTROL_MASK)
        return FALSE;
    switch (key) {
    case GDK_KEY_f:
        gtk_widget_grab_focus(m->entry);
        return TRUE;
    case GDK_KEY_w:
        gtk_widget_hide(m->window);
        return TRUE;
    case GDK_KEY_l:
        clear_cb(NULL, m);
        return TRUE;
    case GDK_KEY_c:
        /* In the filter entry Ctrl+C keeps copying its text. */
        if (focus && GTK_IS_EDITABLE(focus))
            return FALSE;
        copy_cb(NULL, m);
        return TRUE;
    default:
        return FALSE;
    }
}

static GtkTreeViewColumn *add_column(GtkWidget *view, const char *title, int col, int width,
                                     bool tabular, bool expand)
{
    GtkCellRenderer *r = gtk_cell_renderer_text_new();
    g_object_set(r, "ellipsize", PANGO_ELLIPSIZE_END, "ypad", 3, NULL);
    if (tabular) {
        /* Same-width digits keep the time column aligned row to row. */
        PangoAttrList *attrs = pango_attr_list_new();
        pango_attr_list_insert(attrs, pango_attr_font_features_new("tnum"));
        g_object_set(r, "attributes", attrs, NULL);
        pango_attr_list_unref(attrs);
    }
    GtkTreeViewColumn *c = gtk_tree_view_column_new_with_attributes(title, r, "text", col, NULL);
    gtk_tree_view_column_set_resizable(c, TRUE);
    gtk_tree_view_column_set_sizing(c, GTK_TREE_VIEW_COLUMN_FIXED);
    gtk_tree_view_column_set_fixed_width(c, width);
    gtk_tree_view_column_set_expand(c, expand);
    gtk_tree_view_append_column(GTK_TREE_VIEW(view), c);
    return c;
}

static GtkWidget *mnemonic_button(const char *label, const char *tip, GCallback cb, gui_monitor *m)
{
    GtkWidget *b = gtk_button_new_with_mnemonic(label);
    gtk_widget_set_tooltip_text(b, tip);
    g_signal_connect(b, "clicked", cb, m);
    return b;
}

static gboolean delete_cb(GtkWidget *w, GdkEvent *ev, gpointer data)
{
    gtk_widget_hide(w);
    return TRUE;
}

static void build_window(gui_monitor *m)
{
    m->window = gtk_window_new(GTK_WINDOW_TOPLEVEL);
    gtk_widget_set_name(m->window, "bmq-monitor");
    gtk_window_set_title(GTK_WINDOW(m->window), "Message Monitor — berryMQ");
    gtk_window_set_default_size(GTK_WINDOW(m->window), 880, 460);
    if (m->g->icon_path)
        gtk_window_set_icon_from_file(GTK_WINDOW(m->window), m->g->icon_path, NULL);
    else
        gtk_window_set_icon_name(GTK_WINDOW(m->window), "mail-message-new");
    g_signal_connect(m->window, "delete-event", G_CALLBACK(delete_cb), NULL);
    g_signal_connect(m->window, "key-press-event", G_CALLBACK(key_cb), m);

    GtkWidget *vbox = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
    gtk_container_add(GTK_CONTAINER(m->window), vbox);

    GtkWidget *bar = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    g_object_set(bar, "margin", 8, NULL);
    GtkWidget *label = gtk_label_new_with_mnemonic("_Filter:");
    m->entry = gtk_search_entry_new();
    gtk_widget_set_name(m->entry, "bmq-monitor-filter");
    gtk_entry_set_placeholder_text(GTK_ENTRY(m->entry), "*:*  (e.g. build:* or *:notify)");
    gtk_widget_set_tooltip_text(m->entry, "A berryMQ pattern, e.g. build:* or *:notify");
    gtk_label_set_mnemonic_widget(GTK_LABEL(label), m->entry);
    g_signal_connect(m->entry, "changed", G_CALLBACK(filter_changed), m);
    m->pause = gtk_toggle_button_new_with_mnemonic("_Pause");
    gtk_widget_set_name(m->pause, "bmq-monitor-pause");
    gtk_widget_set_tooltip_text(m->pause, "Stop listing new messages");
    g_signal_connect(m->pause, "toggled", G_CALLBACK(pause_cb), m);
    gtk_box_pack_start(GTK_BOX(bar), label, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(bar), m->entry, TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(bar), m->pause, FALSE, FALSE, 0);
    gtk_box_pack_start(
        GTK_BOX(bar),
        mnemonic_button("C_lear", "Remove every message (Ctrl+L)", G_CALLBACK(clear_cb), m), FALSE,
        FALSE, 0);
    gtk_box_pack_start(GTK_BOX(bar),
                       mnemonic_button("_Copy as JSON", "Copy the selected messages (Ctrl+C)",
                                       G_CALLBACK(copy_cb), m),
                       FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(vbox), bar, FALSE, FALSE, 0);

    GtkWidget *scroll = gtk_scrolled_window_new(NULL, NULL);
    gtk_scrolled_window_set_shadow_type(GTK_SCROLLED_WINDOW(scroll), GTK_SHADOW_IN);
    g_object_set(scroll, "margin-start", 8, "margin-end", 8, NULL);
    m->view = gtk_tree_view_new_with_model(m->filtered);
    gtk_widget_set_name(m->view, "bmq-monitor-view");
    gtk_tree_view_set_enable_search(GTK_TREE_VIEW(m->view), FALSE);
    gtk_tree_selection_set_mode(gtk_tree_view_get_selection(GTK_TREE_VIEW(m->view)),
                                GTK_SELECTION_MULTIPLE);
    add_column(m->view, "Time", COL_TIME, 104, true, false);
    add_column(m->view, "Identifier", COL_ID, 170, false, false);
    add_column(m->view, "Args", COL_ARGS, 180, false, false);
    add_column(m->view, "Kwargs", COL_KWARGS, 380, false, true);
    gtk_container_add(GTK_CONTAINER(scroll), m->view);
    gtk_box_pack_start(GTK_BOX(vbox), scroll, TRUE, TRUE, 0);

    m->status = gtk_label_new(NULL);
    gtk_widget_set_name(m->status, "bmq-monitor-status");
    gtk_label_set_xalign(GTK_LABEL(m->status), 0.0f);
    g_object_set(m->status, "margin", 8, "margin-top", 6, "margin-bottom", 6, NULL);
    gtk_style_context_add_class(gtk_widget_get_style_context(m->status), "dim-label");
    gtk_box_pack_start(GTK_BOX(vbox), m->status, FALSE, FALSE, 0);
    gtk_widget_show_all(vbox);
    if (!m->history_done)
        load_history(m);
    update_status(m);
}

gui_monitor *gui__monitor_new(gui *g)
{
    gui_monitor *m = g_new0(gui_monitor, 1);
    m->g = g;
    m->store = gtk_list_store_new(N_COLS, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
                                  G_TYPE_STRING, BMQ_GTK_TYPE_MESSAGE);
    m->filtered = gtk_tree_model_filter_new(GTK_TREE_MODEL(m->store), NULL);
    gtk_tree_model_filter_set_visible_func(GTK_TREE_MODEL_FILTER(m->filtered), visible_func, m,
                                           NULL);
    return m;
}

void gui__monitor_free(gui_monitor *m)
{
    if (m->status_id)
        m->g->host->source_remove(m->g->host, m->status_id);
    if (m->window)
        gtk_widget_destroy(m->window);
    g_object_unref(m->filtered);
    g_object_unref(m->store);
    g_free(m->pattern);
    g_free(m);
}

static gboolean select_msg(GtkTreeModel *model, GtkTreePath *path, GtkTreeIter *iter, gpointer data)
{
    gui_monitor *m = ((gpointer *)data)[0];
    bmq_message *want = ((gpointer *)data)[1];
    bmq_message *msg = NULL;
    gtk_tree_model_get(model, iter, COL_MSG, &msg, -1);
    bool hit = msg == want;
    bmq_message_unref(msg);
    if (hit) {
        GtkTreeSelection *sel = gtk_tree_view_get_selection(GTK_TREE_VIEW(m->view));
        gtk_tree_selection_unselect_all(sel);
        gtk_tree_selection_select_path(sel, path);
        gtk_tree_view_scroll_to_cell(GTK_TREE_VIEW(m->view), path, NULL, FALSE, 0, 0);
        gtk_tree_view_set_cursor(GTK_TREE_VIEW(m->view), path, NULL, FALSE);
    }
    return hit;
}

void gui__monitor_present(gui_monitor *m, bmq_message *msg)
{
    if (!m->window)
        build_window(m);
    gtk_window_present(GTK_WINDOW(m->window));
    if (msg) {
        /* The filter could hide it: show it anyway. */
        if (m->pattern && !bmq_id_match(m->pattern, bmq_message_id(msg)))
            gtk_entry_set_text(GTK_ENTRY(m->entry), "");
        gpointer data[2] = {m, msg};
        gtk_tree_model_foreach(m->filtered, select_msg, data);
    }
    gtk_widget_grab_focus(m->view);
}

guint gui__monitor_rows(gui_monitor *m)
{
    return m ? m->rows : 0;
}

guint gui__monitor_loaded(gui_monitor *m)
{
    return m ? m->loaded : 0;
}
