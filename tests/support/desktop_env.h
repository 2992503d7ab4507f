/* desktop_env.h - a private desktop for one test: Xvfb on a free display, a
 * session bus of our own (no service activation, so nothing starts behind
 * the test's back), the real notification daemon (dunst), an X tray host
 * (trayer), and a bus monitor recording every Notify call with the id the
 * daemon answered. Everything started is stopped by desk_env_stop(). */
#ifndef BMQ_TESTS_DESKTOP_ENV_H
#define BMQ_TESTS_DESKTOP_ENV_H

#include <gio/gio.h>
#include <stdbool.h>

#include "check.h"

#define DESK_SKIP 77

typedef struct desk_env desk_env;

/* One org.freedesktop.Notifications.Notify call as seen on the bus. */
typedef struct desk_notify {
    char *app_name, *icon, *summary, *body, *category;
    guint32 replaces_id;
    guint32 returned_id; /* 0 until the daemon's reply was seen */
    int urgency;         /* -1 when the hint is absent */
    gint32 timeout;
    char **actions; /* key, label, key, label, ... */
    char *hints;    /* all hints, as g_variant_print() shows them */
    guint32 serial;
    char *sender;
} desk_notify;

/* Start Xvfb and a session bus; export DISPLAY, DBUS_SESSION_BUS_ADDRESS and
 * a test-friendly environment (GTK_THEME=Adwaita, NO_AT_BRIDGE=1, HOME and
 * XDG dirs in a temp dir). NULL with *why when a tool is missing (skip). */
desk_env *desk_env_start(char **why);
void desk_env_stop(desk_env *e);
const char *desk_env_dir(desk_env *e);
const char *desk_env_bus_address(desk_env *e);

/* The notification daemon: start (waits until it owns its bus name) and
 * kill (waits until the name is gone). */
bool desk_dunst_start(desk_env *e);
void desk_dunst_kill(desk_env *e);
/* Run dunstctl with @args (NULL-terminated); its stdout (transfer full). */
char *desk_dunstctl(desk_env *e, const char *const *args);

/* An X tray host (trayer) on the display. */
bool desk_trayer_start(desk_env *e);
void desk_trayer_kill(desk_env *e);

/* Record Notify calls (BecomeMonitor on a connection of its own). */
bool desk_monitor_start(desk_env *e);
/* A snapshot of the calls so far (transfer container; items stay owned by
 * the env). */
GPtrArray *desk_monitor_calls(desk_env *e);
guint desk_monitor_count(desk_env *e);
/* The latest answered Notify call with @summary (owned by the env), or NULL. */
desk_notify *desk_monitor_find(desk_env *e, const char *summary);
void desk_monitor_clear(desk_env *e);

/* Iterate the default main context until @cond returns true or @timeout_ms
 * passes. Returns the last value of @cond. */
bool desk_wait(bool (*cond)(void *data), void *data, guint timeout_ms);
/* Iterate for @ms. */
void desk_spin(guint ms);

/* Save a PNG of the whole screen (import -window root). */
bool desk_screenshot(desk_env *e, const char *path);

/* Run a command and wait; exit status, or -1. */
int desk_run(const char *const *argv, char **out);

/* The real berrymq-hub from the build tree ($BMQ_BUILD_DIR, plugins from
 * $BMQ_PLUGIN_BUILD_DIR) on this desktop, with its log collected. */
typedef struct desk_hub {
    GPid pid;
    int err_fd;
    GThread *reader;
    GMutex lock;
    GString *log;
} desk_hub;

/* Start with --config @cfg -v; true once the log has @ready (e.g.
 * "instance 'notify' started"). */
bool desk_hub_start(desk_hub *h, const char *cfg, const char *ready);
bool desk_hub_log_has(desk_hub *h, const char *needle);
/* The address the hub listens on, from its log (transfer full), or NULL. */
char *desk_hub_addr(desk_hub *h);
/* Send @sig, wait (SIGKILL after 30 s), print the log; the exit status, or
 * -1 after a signal. */
int desk_hub_end(desk_hub *h, int sig);
/* Run the berrymq CLI from the build tree with @args; its exit status. */
int desk_cli(const char *const *args);

#endif
