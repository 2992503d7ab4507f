/* desktop_monitor_history.c - the message monitor shows what came before
 * it: on a private Xvfb, the real hub receives a message and stops; a new
 * hub starts with the gui plugin's monitor window open; the test selects
 * every row (Ctrl+A) and copies them (Ctrl+C) with real key presses
 * (XTest), as a user would, and finds the earlier message, with its args,
 * in the clipboard. */
#include "desktop_env.h"

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
#include <gtk/gtk.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static desk_env *env;

typedef struct hub_proc {
    GPid pid;
    int err_fd;
    GThread *reader;
    GMutex lock;
    GString *log;
} hub_proc;

static gpointer read_log(gpointer data)
{
    hub_proc *h = data;
    char buf[4096];
    ssize_t n;
    while ((n = read(h->err_fd, buf, sizeof buf)) > 0) {
        g_mutex_lock(&h->lock);
        g_string_append_len(h->log, buf, n);
        g_mutex_unlock(&h->lock);
    }
    return NULL;
}

static bool log_has(hub_proc *h, const char *needle)
{
    g_mutex_lock(&h->lock);
    bool ok = strstr(h->log->str, needle) != NULL;
    g_mutex_unlock(&h->lock);
    return ok;
}

static bool hub_start(hub_proc *h, const char *cfg, const char *ready)
{
    char *hub_bin = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "hub", "berrymq-hub", NULL);
    const char *argv[] = {
        hub_bin, "--config", cfg, "--plugin-dir", g_getenv("BMQ_PLUGIN_BUILD_DIR"), "-v", NULL};
    *h = (hub_proc){.log = g_string_new(NULL)};
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
    h->reader = g_thread_new("hub-log", read_log, h);
    for (int i = 0; i < 6000; i++) { /* generous: ASan */
        if (log_has(h, ready))
            return true;
        g_usleep(10000);
    }
    fprintf(stderr, "the hub did not log '%s'\n", ready);
    return false;
}

static int hub_stop(hub_proc *h)
{
    kill(h->pid, SIGTERM);
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

static int cli(const char *const *args)
{
    const char *argv[16];
    char *path = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
    size_t n = 0;
    argv[n++] = path;
    for (; *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    int rc = desk_run(argv, NULL);
    g_free(path);
    return rc;
}

/* The top-level window whose _NET_WM_NAME contains @title, or None. */
static Window find_window(Display *d, Window w, const char *title)
{
    Atom net_name = XInternAtom(d, "_NET_WM_NAME", False);
    Atom utf8 = XInternAtom(d, "UTF8_STRING", False);
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *name = NULL;
    if (XGetWindowProperty(d, w, net_name, 0, 1024, False, utf8, &type, &format, &n, &after,
                           &name) == Success &&
        name) {
        bool hit = strstr((const char *)name, title) != NULL;
        XFree(name);
        if (hit)
            return w;
    }
    Window root, parent, *kids = NULL;
    unsigned int nk = 0;
    Window found = None;
    if (XQueryTree(d, w, &root, &parent, &kids, &nk)) {
        for (unsigned int i = 0; i < nk && found == None; i++)
            found = find_window(d, kids[i], title);
        XFree(kids);
    }
    return found;
}

typedef struct finder {
    Display *d;
    Window w;
} finder;

static bool window_mapped(void *data)
{
    finder *f = data;
    f->w = find_window(f->d, DefaultRootWindow(f->d), "Message Monitor");
    XWindowAttributes a;
    return f->w != None && XGetWindowAttributes(f->d, f->w, &a) && a.map_state == IsViewable;
}

static void press(Display *d, KeySym mod, KeySym key)
{
    KeyCode m = XKeysymToKeycode(d, mod), k = XKeysymToKeycode(d, key);
    XTestFakeKeyEvent(d, m, True, CurrentTime);
    XTestFakeKeyEvent(d, k, True, CurrentTime);
    XTestFakeKeyEvent(d, k, False, CurrentTime);
    XTestFakeKeyEvent(d, m, False, CurrentTime);
    XSync(d, False);
}

typedef struct copied {
    Display *d;
    Window w;
    char *text;
} copied;

/* Select all and copy, then read the clipboard (the hub owns it). */
static bool copy_has_earlier(void *data)
{
    copied *c = data;
    XSetInputFocus(c->d, c->w, RevertToParent, CurrentTime);
    XSync(c->d, False);
    desk_spin(100);
    press(c->d, XK_Control_L, XK_a);
    press(c->d, XK_Control_L, XK_c);
    desk_spin(200);
    g_free(c->text);
    c->text = gtk_clipboard_wait_for_text(gtk_clipboard_get(GDK_SELECTION_CLIPBOARD));
    return c->text && strstr(c->text, "build:done") && strstr(c->text, "Earlier message");
}

static const char config_plain[] = "{\"listen\": \"127.0.0.1:0\", \"plugins\": []}";
static const char config_gui[] =
    "{\"listen\": \"127.0.0.1:0\", \"plugins\": ["
    "{\"plugin\": \"gui\", \"id\": \"gui\", \"config\": {\"tray\": false, \"monitor\": true}}]}";

int main(void)
{
    char *why = NULL;
    char *hub_bin = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "hub", "berrymq-hub", NULL);
    bool built = g_file_test(hub_bin, G_FILE_TEST_IS_EXECUTABLE);
    g_free(hub_bin);
    if (!built) {
        fprintf(stderr, "skipped: berrymq-hub not built\n");
        return DESK_SKIP;
    }
    env = desk_env_start(&why);
    if (!env) {
        fprintf(stderr, "skipped: %s\n", why);
        g_free(why);
        return DESK_SKIP;
    }
    gtk_init(NULL, NULL);
    Display *d = XOpenDisplay(NULL);
    int ev, er, maj, min;
    EXPECT(d && XTestQueryExtension(d, &ev, &er, &maj, &min));
    char *cfg = g_build_filename(desk_env_dir(env), "hub.json", NULL);

    /* Earlier: a message reaches a hub with no monitor at all. */
    g_file_set_contents(cfg, config_plain, -1, NULL);
    hub_proc h;
    EXPECT(hub_start(&h, cfg, "listening on"));
    const char *a[] = {"twitter", "build:done", "Earlier message", NULL};
    EXPECT(cli(a) == 0);
    EXPECT(hub_stop(&h) == 0);

    /* Later: a new hub opens the monitor, which lists it. */
    g_file_set_contents(cfg, config_gui, -1, NULL);
    EXPECT(hub_start(&h, cfg, "instance 'gui' started"));
    finder f = {d, None};
    EXPECT(d && desk_wait(window_mapped, &f, 30000));
    copied c = {d, f.w, NULL};
    EXPECT(f.w != None && desk_wait(copy_has_earlier, &c, 20000));
    if (c.text)
        fprintf(stderr, "copied from the monitor:\n%s\n", c.text);
    /* The args as sent, and nothing listed twice. */
    EXPECT(c.text && strstr(c.text, "\"Earlier message\""));
    const char *first = c.text ? strstr(c.text, "build:done") : NULL;
    EXPECT(first && !strstr(first + 1, "build:done"));
    char *dir = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "test-artifacts", NULL);
    g_mkdir_with_parents(dir, 0755);
    char *shot = g_build_filename(dir, "desktop-monitor-history.png", NULL);
    EXPECT(desk_screenshot(env, shot));
    g_free(shot);
    g_free(dir);
    g_free(c.text);
    EXPECT(hub_stop(&h) == 0);
    if (d)
        XCloseDisplay(d);
    g_free(cfg);
    desk_env_stop(env);
    return check_result();
}
