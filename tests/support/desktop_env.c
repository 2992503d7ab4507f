/* desktop_env.c - see desktop_env.h. */
#include "desktop_env.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct desk_env {
    char *dir;
    int display;
    char *bus_address;
    GPid xvfb, dbus, dunst, trayer;
    GDBusConnection *ctl;     /* plain connection for the harness's own calls */
    GDBusConnection *monitor; /* becomes a monitor */
    GMutex lock;
    GPtrArray *calls; /* desk_notify* */
};

static void notify_free(gpointer p)
{
    desk_notify *n = p;
    g_free(n->app_name);
    g_free(n->icon);
    g_free(n->summary);
    g_free(n->body);
    g_free(n->category);
    g_free(n->sender);
    g_free(n->hints);
    g_strfreev(n->actions);
    g_free(n);
}

static int open_log(desk_env *e, const char *name)
{
    char *path = g_build_filename(e->dir, name, NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    g_free(path);
    return fd;
}

/* Spawn @argv with stdout to @out_fd (-1: the log) and an optional extra fd
 * mapped to 3 in the child. */
static GPid spawn(desk_env *e, const char *const *argv, const char *log, int out_fd, int fd3)
{
    GPid pid = 0;
    GError *err = NULL;
    int logfd = open_log(e, log);
    int src[1] = {fd3}, dst[1] = {3};
    if (!g_spawn_async_with_pipes_and_fds(
            NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH, NULL, NULL, -1,
            out_fd >= 0 ? out_fd : logfd, logfd, fd3 >= 0 ? src : NULL, fd3 >= 0 ? dst : NULL,
            fd3 >= 0 ? 1 : 0, &pid, NULL, NULL, NULL, &err)) {
        fprintf(stderr, "cannot start %s: %s\n", argv[0], err->message);
        g_error_free(err);
        pid = 0;
    }
    if (logfd >= 0)
        close(logfd);
    return pid;
}

static void stop_pid(GPid *pid)
{
    if (!*pid)
        return;
    kill(*pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        int st;
        pid_t r = waitpid(*pid, &st, WNOHANG);
        if (r == *pid || (r < 0 && errno == ECHILD))
            goto done;
        g_usleep(10000);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
done:
    g_spawn_close_pid(*pid);
    *pid = 0;
}

/* Read one line from @fd within @ms. */
static char *read_line(int fd, int ms)
{
    GString *s = g_string_new(NULL);
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (g_get_monotonic_time() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n <= 0)
            break;
        if (c == '\n')
            return g_string_free(s, FALSE);
        g_string_append_c(s, c);
    }
    if (s->len)
        return g_string_free(s, FALSE);
    g_string_free(s, TRUE);
    return NULL;
}

static bool has_tool(const char *name, char **why)
{
    char *p = g_find_program_in_path(name);
    if (!p) {
        *why = g_strdup_printf("%s is not installed", name);
        return false;
    }
    g_free(p);
    return true;
}

static const char dbus_conf[] =
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
    "<busconfig>\n"
    "  <type>session</type>\n"
    "  <listen>unix:dir=%s</listen>\n"
    "  <auth>EXTERNAL</auth>\n"
    "  <policy context=\"default\">\n"
    "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
    "    <allow eavesdrop=\"true\"/>\n"
    "    <allow own=\"*\"/>\n"
    "  </policy>\n"
    "</busconfig>\n";

desk_env *desk_env_start(char **why)
{
    const char *tools[] = {"Xvfb", "dbus-daemon", "dunst", "dunstctl", "import"};
    for (size_t i = 0; i < G_N_ELEMENTS(tools); i++)
        if (!has_tool(tools[i], why))
            return NULL;

    desk_env *e = g_new0(desk_env, 1);
    g_mutex_init(&e->lock);
    e->calls = g_ptr_array_new_with_free_func(notify_free);
    e->dir = g_dir_make_tmp("bmq-desk-XXXXXX", NULL);
    const char *subs[] = {"config", "data", "cache", "run"};
    for (size_t i = 0; i < G_N_ELEMENTS(subs); i++) {
        char *d = g_build_filename(e->dir, subs[i], NULL);
        g_mkdir_with_parents(d, 0700);
        g_free(d);
    }

    /* Xvfb picks a free display itself and tells us on fd 3 when ready. */
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        goto fail;
    const char *xargv[] = {"Xvfb",        "-displayfd", "3",   "-screen",  "0",
                           "1280x800x24", "-nolisten",  "tcp", "-noreset", NULL};
    e->xvfb = spawn(e, xargv, "xvfb.log", -1, pfd[1]);
    close(pfd[1]);
    char *num = e->xvfb ? read_line(pfd[0], 10000) : NULL;
    close(pfd[0]);
    if (!num) {
        *why = g_strdup("Xvfb did not start");
        goto fail;
    }
    e->display = atoi(num);
    g_free(num);

    char *conf = g_build_filename(e->dir, "bus.conf", NULL);
    char *text = g_strdup_printf(dbus_conf, e->dir);
    g_file_set_contents(conf, text, -1, NULL);
    g_free(text);
    char *confarg = g_strdup_printf("--config-file=%s", conf);
    const char *dargv[] = {"dbus-daemon", confarg, "--nofork", "--print-address=3", NULL};
    if (pipe2(pfd, O_CLOEXEC) != 0)
        goto fail;
    e->dbus = spawn(e, dargv, "dbus.log", -1, pfd[1]);
    close(pfd[1]);
    g_free(confarg);
    g_free(conf);
    e->bus_address = e->dbus ? read_line(pfd[0], 10000) : NULL;
    close(pfd[0]);
    if (!e->bus_address) {
        *why = g_strdup("dbus-daemon did not start");
        goto fail;
    }

    char *display = g_strdup_printf(":%d", e->display);
    g_setenv("DISPLAY", display, TRUE);
    g_free(display);
    g_setenv("DBUS_SESSION_BUS_ADDRESS", e->bus_address, TRUE);
    g_unsetenv("WAYLAND_DISPLAY");
    g_setenv("GDK_BACKEND", "x11", TRUE);
    g_setenv("GTK_THEME", "Adwaita", TRUE);
    g_setenv("NO_AT_BRIDGE", "1", TRUE);
    g_setenv("GSETTINGS_BACKEND", "memory", TRUE);
    g_setenv("HOME", e->dir, TRUE);
    const char *xdg[][2] = {{"XDG_CONFIG_HOME", "config"},
                            {"XDG_DATA_HOME", "data"},
                            {"XDG_CACHE_HOME", "cache"},
                            {"XDG_RUNTIME_DIR", "run"}};
    for (size_t i = 0; i < G_N_ELEMENTS(xdg); i++) {
        char *d = g_build_filename(e->dir, xdg[i][1], NULL);
        g_setenv(xdg[i][0], d, TRUE);
        g_free(d);
    }

    /* A neutral desktop behind the screenshots (optional tool). */
    char *xsetroot = g_find_program_in_path("xsetroot");
    if (xsetroot) {
        const char *argv[] = {xsetroot, "-solid", "#5e5c64", NULL};
        desk_run(argv, NULL);
        g_free(xsetroot);
    }

    GError *err = NULL;
    e->ctl =
        g_dbus_connection_new_for_address_sync(e->bus_address,
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, &err);
    if (!e->ctl) {
        *why = g_strdup_printf("cannot connect to the test bus: %s", err->message);
        g_error_free(err);
        goto fail;
    }
    return e;
fail:
    if (!*why)
        *why = g_strdup("cannot set up the desktop");
    desk_env_stop(e);
    return NULL;
}

const char *desk_env_dir(desk_env *e)
{
    return e->dir;
}

const char *desk_env_bus_address(desk_env *e)
{
    return e->bus_address;
}

static bool name_has_owner(desk_env *e, const char *name)
{
    GVariant *r = g_dbus_connection_call_sync(
        e->ctl, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "NameHasOwner", g_variant_new("(s)", name), G_VARIANT_TYPE("(b)"), G_DBUS_CALL_FLAGS_NONE,
        2000, NULL, NULL);
    gboolean has = FALSE;
    if (r) {
        g_variant_get(r, "(b)", &has);
        g_variant_unref(r);
    }
    return has;
}

static bool wait_name(desk_env *e, const char *name, bool owned, int ms)
{
    for (int t = 0; t < ms; t += 20) {
        if (name_has_owner(e, name) == owned)
            return true;
        g_usleep(20000);
    }
    return false;
}

static const char dunstrc[] = "[global]\n"
                              "    font = Sans 10\n"
                              "    width = 360\n"
                              "    height = 120\n"
                              "    origin = top-right\n"
                              "    offset = 12x36\n"
                              "    notification_limit = 0\n"
                              "    idle_threshold = 0\n"
                              "    show_age_threshold = -1\n"
                              "    history_length = 200\n"
                              "    sort = no\n"
                              "    frame_width = 1\n"
                              "    padding = 10\n"
                              "    horizontal_padding = 12\n"
                              "    format = \"<b>%%s</b>\\n%%b\"\n"
                              "    dmenu = %s\n"
                              "    browser = /bin/true\n"
                              "[urgency_low]\n    timeout = 0\n"
                              "[urgency_normal]\n    timeout = 0\n    background = \"#ffffff\"\n"
                              "    foreground = \"#202020\"\n    frame_color = \"#c0c0c0\"\n"
                              "[urgency_critical]\n    timeout = 0\n    background = \"#fff0f0\"\n"
                              "    foreground = \"#202020\"\n    frame_color = \"#c01c28\"\n";

bool desk_dunst_start(desk_env *e)
{
    if (e->dunst)
        return true;
    /* dunst's context menu pipes the actions through "dmenu"; this one picks
     * the first action offered, as a user choosing it would. */
    char *dmenu = g_build_filename(e->dir, "pick-first.sh", NULL);
    g_file_set_contents(dmenu, "#!/bin/sh\ngrep -m1 '^#' || true\n", -1, NULL);
    chmod(dmenu, 0700);
    char *rc = g_build_filename(e->dir, "dunstrc", NULL);
    char *text = g_strdup_printf(dunstrc, dmenu);
    g_file_set_contents(rc, text, -1, NULL);
    const char *argv[] = {"dunst", "-config", rc, NULL};
    e->dunst = spawn(e, argv, "dunst.log", -1, -1);
    g_free(text);
    g_free(rc);
    g_free(dmenu);
    return e->dunst && wait_name(e, "org.freedesktop.Notifications", true, 10000);
}

void desk_dunst_kill(desk_env *e)
{
    stop_pid(&e->dunst);
    wait_name(e, "org.freedesktop.Notifications", false, 5000);
}

int desk_run(const char *const *argv, char **out)
{
    int status = -1;
    GError *err = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out, NULL,
                      &status, &err)) {
        fprintf(stderr, "cannot run %s: %s\n", argv[0], err->message);
        g_error_free(err);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *desk_dunstctl(desk_env *e, const char *const *args)
{
    const char *argv[16] = {"dunstctl"};
    size_t n = 1;
    for (; args && *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    char *out = NULL;
    desk_run(argv, &out);
    return out;
}

bool desk_trayer_start(desk_env *e)
{
    if (e->trayer)
        return true;
    const char *argv[] = {"trayer", "--edge",        "top",      "--align",
                          "right",  "--widthtype",   "request",  "--height",
                          "28",     "--SetDockType", "true",     "--transparent",
                          "false",  "--tint",        "0xf6f5f4", NULL};
    e->trayer = spawn(e, argv, "trayer.log", -1, -1);
    return e->trayer != 0;
}

void desk_trayer_kill(desk_env *e)
{
    stop_pid(&e->trayer);
}

static char *dup_str(GVariant *v)
{
    return g_variant_dup_string(v, NULL);
}

static void record_notify(desk_env *e, GDBusMessage *m)
{
    GVariant *body = g_dbus_message_get_body(m);
    if (!body || !g_variant_is_of_type(body, G_VARIANT_TYPE("(susssasa{sv}i)")))
        return;
    desk_notify *n = g_new0(desk_notify, 1);
    GVariant *v;
    n->app_name = dup_str(v = g_variant_get_child_value(body, 0));
    g_variant_unref(v);
    g_variant_get_child(body, 1, "u", &n->replaces_id);
    n->icon = dup_str(v = g_variant_get_child_value(body, 2));
    g_variant_unref(v);
    n->summary = dup_str(v = g_variant_get_child_value(body, 3));
    g_variant_unref(v);
    n->body = dup_str(v = g_variant_get_child_value(body, 4));
    g_variant_unref(v);
    v = g_variant_get_child_value(body, 5);
    n->actions = g_variant_dup_strv(v, NULL);
    g_variant_unref(v);
    GVariant *hints = g_variant_get_child_value(body, 6);
    n->hints = g_variant_print(hints, TRUE);
    guchar u;
    n->urgency = g_variant_lookup(hints, "urgency", "y", &u) ? u : -1;
    const char *cat = NULL;
    if (g_variant_lookup(hints, "category", "&s", &cat))
        n->category = g_strdup(cat);
    g_variant_unref(hints);
    g_variant_get_child(body, 7, "i", &n->timeout);
    n->serial = g_dbus_message_get_serial(m);
    n->sender = g_strdup(g_dbus_message_get_sender(m));
    g_mutex_lock(&e->lock);
    g_ptr_array_add(e->calls, n);
    g_mutex_unlock(&e->lock);
}

static void record_return(desk_env *e, GDBusMessage *m)
{
    GVariant *body = g_dbus_message_get_body(m);
    if (!body || !g_variant_is_of_type(body, G_VARIANT_TYPE("(u)")))
        return;
    guint32 id;
    g_variant_get(body, "(u)", &id);
    const char *dest = g_dbus_message_get_destination(m);
    guint32 rs = g_dbus_message_get_reply_serial(m);
    g_mutex_lock(&e->lock);
    for (guint i = e->calls->len; i > 0; i--) {
        desk_notify *n = e->calls->pdata[i - 1];
        if (n->serial == rs && dest && g_strcmp0(n->sender, dest) == 0 && !n->returned_id) {
            n->returned_id = id;
            break;
        }
    }
    g_mutex_unlock(&e->lock);
}

static GDBusMessage *monitor_filter(GDBusConnection *c, GDBusMessage *m, gboolean incoming,
                                    gpointer data)
{
    desk_env *e = data;
    if (!incoming)
        return m;
    GDBusMessageType t = g_dbus_message_get_message_type(m);
    if (t == G_DBUS_MESSAGE_TYPE_METHOD_CALL &&
        g_strcmp0(g_dbus_message_get_interface(m), "org.freedesktop.Notifications") == 0 &&
        g_strcmp0(g_dbus_message_get_member(m), "Notify") == 0)
        record_notify(e, m);
    else if (t == G_DBUS_MESSAGE_TYPE_METHOD_RETURN)
        record_return(e, m);
    /* A monitor must never answer: drop everything before GDBus sees it. */
    g_object_unref(m);
    return NULL;
}

bool desk_monitor_start(desk_env *e)
{
    GError *err = NULL;
    e->monitor =
        g_dbus_connection_new_for_address_sync(e->bus_address,
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, &err);
    if (!e->monitor) {
        fprintf(stderr, "monitor connection: %s\n", err->message);
        g_error_free(err);
        return false;
    }
    const char *rules[] = {
        "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
        "type='method_return'", NULL};
    GVariant *r = g_dbus_connection_call_sync(
        e->monitor, "org.freedesktop.DBus", "/org/freedesktop/DBus",
        "org.freedesktop.DBus.Monitoring", "BecomeMonitor", g_variant_new("(^asu)", rules, 0u),
        NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &err);
    if (!r) {
        fprintf(stderr, "BecomeMonitor: %s\n", err->message);
        g_error_free(err);
        return false;
    }
    g_variant_unref(r);
    g_dbus_connection_add_filter(e->monitor, monitor_filter, e, NULL);
    return true;
}

GPtrArray *desk_monitor_calls(desk_env *e)
{
    g_mutex_lock(&e->lock);
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < e->calls->len; i++)
        g_ptr_array_add(out, e->calls->pdata[i]);
    g_mutex_unlock(&e->lock);
    return out;
}

guint desk_monitor_count(desk_env *e)
{
    g_mutex_lock(&e->lock);
    guint n = e->calls->len;
    g_mutex_unlock(&e->lock);
    return n;
}

void desk_monitor_clear(desk_env *e)
{
    g_mutex_lock(&e->lock);
    g_ptr_array_set_size(e->calls, 0);
    g_mutex_unlock(&e->lock);
}

bool desk_wait(bool (*cond)(void *data), void *data, guint timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (!cond(data)) {
        if (g_get_monotonic_time() > end)
            return cond(data);
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(2000);
    }
    return true;
}

static bool never(void *data)
{
    return false;
}

void desk_spin(guint ms)
{
    desk_wait(never, NULL, ms);
}

bool desk_screenshot(desk_env *e, const char *path)
{
    const char *argv[] = {"import", "-window", "root", path, NULL};
    return desk_run(argv, NULL) == 0;
}

void desk_env_stop(desk_env *e)
{
    if (!e)
        return;
    if (e->monitor) {
        g_dbus_connection_close_sync(e->monitor, NULL, NULL);
        g_clear_object(&e->monitor);
    }
    if (e->ctl) {
        g_dbus_connection_close_sync(e->ctl, NULL, NULL);
        g_clear_object(&e->ctl);
    }
    stop_pid(&e->trayer);
    stop_pid(&e->dunst);
    stop_pid(&e->dbus);
    stop_pid(&e->xvfb);
    if (e->dir) {
        char *argv[] = {"rm", "-rf", e->dir, NULL};
        g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    }
    g_ptr_array_unref(e->calls);
    g_mutex_clear(&e->lock);
    g_free(e->bus_address);
    g_free(e->dir);
    g_free(e);
}

desk_notify *desk_monitor_find(desk_env *e, const char *summary)
{
    GPtrArray *calls = desk_monitor_calls(e);
    desk_notify *out = NULL;
    for (guint i = calls->len; i > 0 && !out; i--) {
        desk_notify *n = calls->pdata[i - 1];
        if (g_strcmp0(n->summary, summary) == 0 && n->returned_id)
            out = n;
    }
    g_ptr_array_unref(calls);
    return out;
}

/* ---- the hub ------------------------------------------------------------- */

static gpointer hub_read_log(gpointer data)
{
    desk_hub *h = data;
    char buf[4096];
    ssize_t n;
    while ((n = read(h->err_fd, buf, sizeof buf)) > 0) {
        g_mutex_lock(&h->lock);
        g_string_append_len(h->log, buf, n);
        g_mutex_unlock(&h->lock);
    }
    return NULL;
}

bool desk_hub_log_has(desk_hub *h, const char *needle)
{
    g_mutex_lock(&h->lock);
    bool ok = strstr(h->log->str, needle) != NULL;
    g_mutex_unlock(&h->lock);
    return ok;
}

char *desk_hub_addr(desk_hub *h)
{
    static const char mark[] = " listening on ";
    char *addr = NULL;
    g_mutex_lock(&h->lock);
    const char *p = strstr(h->log->str, mark);
    if (p) {
        p += strlen(mark);
        addr = g_strndup(p, strcspn(p, " \n"));
    }
    g_mutex_unlock(&h->lock);
    return addr;
}

bool desk_hub_start(desk_hub *h, const char *cfg, const char *ready)
{
    char *hub_bin = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "hub", "berrymq-hub", NULL);
    const char *argv[] = {
        hub_bin, "--config", cfg, "--plugin-dir", g_getenv("BMQ_PLUGIN_BUILD_DIR"), "-v", NULL};
    *h = (desk_hub){.log = g_string_new(NULL)};
    g_mutex_init(&h->lock);
    GError *err = NULL;
    bool ok = g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                       NULL, &h->pid, NULL, NULL, &h->err_fd, &err);
    g_free(hub_bin);
    if (!ok) {
        fprintf(stderr, "cannot start the hub: %s\n", err->message);
        g_error_free(err);
        return false;
    }
    h->reader = g_thread_new("hub-log", hub_read_log, h);
    /* Generous: under ASan the hub takes a while to start. */
    for (int i = 0; i < 6000; i++) {
        if (desk_hub_log_has(h, ready))
            return true;
        g_usleep(10000);
    }
    fprintf(stderr, "the hub did not log \"%s\"\n", ready);
    return false;
}

int desk_hub_end(desk_hub *h, int sig)
{
    kill(h->pid, sig);
    int status = 0;
    for (int i = 0; i < 3000; i++) {
        if (waitpid(h->pid, &status, WNOHANG) == h->pid)
            break;
        if (i == 2999) {
            kill(h->pid, SIGKILL);
            waitpid(h->pid, &status, 0);
        }
        g_usleep(10000);
    }
    g_spawn_close_pid(h->pid);
    g_thread_join(h->reader);
    close(h->err_fd);
    fprintf(stderr, "hub log:\n%s\n", h->log->str);
    g_string_free(h->log, TRUE);
    g_mutex_clear(&h->lock);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int desk_cli(const char *const *args)
{
    const char *argv[24];
    char *path = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
    size_t n = 0;
    argv[n++] = path;
    for (; *args && n < 23; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    int rc = desk_run(argv, NULL);
    g_free(path);
    return rc;
}
