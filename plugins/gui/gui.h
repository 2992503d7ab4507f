/* gui.h - private to the gui plugin: the instance shared by the tray
 * (tray.c) and the message monitor (monitor.c). Functions shared between
 * the files are prefixed gui__. Everything here runs on the main thread. */
#ifndef BMQ_GUI_GUI_H
#define BMQ_GUI_GUI_H

#include <berrymq/gtk.h>
#include <berrymq/plugin.h>
#include <gtk/gtk.h>

#define GUI_RECENT_MAX 10

typedef struct gui_tray gui_tray;
typedef struct gui_monitor gui_monitor;

typedef struct gui {
    const bmq_host *host;
    BmqGtkBridge *bridge; /* (owned) messages in, GUI actions out */
    char *follow;
    guint history;
    bool want_tray;
    char *icon_path; /* (nullable) data/berrymq.svg when found */

    bmq_follower *f_all, *f_instances, *f_attention, *f_status, *f_open;
    gulong message_handler;

    bmq_message *recent[GUI_RECENT_MAX]; /* newest first, owned refs */
    guint n_recent;
    bool paused;            /* notifications paused, as last reported */
    guint attention;        /* critical messages held back while paused */
    json_object *instances; /* (owned, nullable) last _hub:instances list */

    gui_tray *tray;       /* (owned, nullable) */
    gui_monitor *monitor; /* (owned, nullable) created on first open */
} gui;

/* tray.c */
gui_tray *gui__tray_new(gui *g);
void gui__tray_free(gui_tray *t);
void gui__tray_recent_changed(gui_tray *t);
void gui__tray_instances_changed(gui_tray *t);
void gui__tray_pause_changed(gui_tray *t);
void gui__tray_attention_changed(gui_tray *t);
/* "sni" when registered with a StatusNotifierWatcher, "xembed" for the X
 * tray icon, "none" before either. */
const char *gui__tray_kind(gui_tray *t);

/* monitor.c */
gui_monitor *gui__monitor_new(gui *g);
void gui__monitor_free(gui_monitor *m);
void gui__monitor_add(gui_monitor *m, bmq_message *msg);
/* Show (and raise) the window; select @msg when given (nullable). */
void gui__monitor_present(gui_monitor *m, bmq_message *msg);
guint gui__monitor_rows(gui_monitor *m);
/* Rows listed from the hub's history when the window first opened. */
guint gui__monitor_loaded(gui_monitor *m);

/* gui.c */
void gui__open_monitor(gui *g, bmq_message *msg);
void gui__send_pause(gui *g, bool pause);
void gui__send_enable(gui *g, const char *instance_id, bool enable);

#endif
