/* watchdog.c - plugin code that does not return cannot take the hub with
 * it, and SIGTERM always stops the hub.
 *
 * Loading a plugin and creating an instance run on the main thread, which
 * cannot be taken back from code that never returns. The main thread arms
 * the watchdog around both; when one takes longer than HUB_LOAD_TIMEOUT_S
 * the watchdog thread logs it, marks the instance (fault.c: it starts
 * `failed` next time) and re-executes the hub on the same address, so the
 * other instances come up again without the one that hung.
 *
 * Signals are caught by a handler that only writes the signal number into a
 * pipe; a dedicated thread reads it and asks the main loop to stop or
 * reload. If the main loop does not stop within HUB_STOP_GRACE_S (or at
 * once when the main thread is known to be stuck in plugin code, or on a
 * second SIGTERM) the hub ends itself by SIGTERM without the cleanup.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"

#define HUB_LOAD_TIMEOUT_S 10
#define HUB_STOP_GRACE_S   10

static struct {
    GMutex lock;
    GCond cond;
    hub *h;
    char **argv; /* the command line, for the re-exec */
    char *listen;
    /* armed: the main thread is in plugin load/create since armed_at */
    bool armed;
    guint64 seq;
    gint64 deadline;
    char *id, *plugin;
    const char *what;
    /* stop */
    int stops;     /* SIGTERM/SIGINT received */
    bool finished; /* main() is past the shutdown */
    gint64 stop_deadline;
    gint64 stuck_deadline; /* when a stop finds the main thread in load/create */
} wd = {0};

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t n = write(sig_pipe[1], &b, 1);
    (void)n;
    errno = saved;
}

/* Lock held. End the process now, as SIGTERM would have without a
 * handler. */
static void force_exit_locked(const char *why)
{
    if (wd.armed && wd.id[0] == '@')
        hub_log(BMQ_LOG_ERROR, "%s: plugin file %s is still in %s; exiting without cleanup", why,
                wd.plugin, wd.what);
    else if (wd.armed)
        hub_log(BMQ_LOG_ERROR,
                "%s: instance '%s' (plugin %s) is still in %s; exiting without cleanup", why, wd.id,
                wd.plugin, wd.what);
    else
        hub_log(BMQ_LOG_ERROR, "%s; exiting without cleanup", why);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &dfl, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(SIGTERM);
    _exit(128 + SIGTERM);
}

static gboolean quit_cb(gpointer data)
{
    hub *h = data;
    g_main_loop_quit(h->loop);
    return G_SOURCE_REMOVE;
}

static gboolean hup_cb(gpointer data)
{
    hub *h = data;
    if (g_atomic_int_get(&h->shutting_down))
        return G_SOURCE_REMOVE;
    char *err = NULL;
    json_object_put(hub_reload(h, &err));
    g_free(err);
    return G_SOURCE_REMOVE;
}

static void post_to_main(GSourceFunc fn, hub *h)
{
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_HIGH);
    g_source_set_callback(src, fn, h, NULL);
    g_source_attach(src, h->context);
    g_source_unref(src);
}

static gpointer signal_thread(gpointer data)
{
    (void)data;
    unsigned char b;
    for (;;) {
        ssize_t n = read(sig_pipe[0], &b, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        g_mutex_lock(&wd.lock);
        if (wd.finished) {
            g_mutex_unlock(&wd.lock);
            continue;
        }
        if (b == SIGHUP) {
            post_to_main(hup_cb, wd.h);
        } else if (++wd.stops == 1) {
            hub_log(BMQ_LOG_INFO, "signal received, shutting down");
            gint64 now = g_get_monotonic_time();
            wd.stop_deadline = now + HUB_STOP_GRACE_S * G_USEC_PER_SEC;
            /* Plugin code that does not return within a second of the stop
             * is not waited for any longer. */
            wd.stuck_deadline = now + G_USEC_PER_SEC;
            post_to_main(quit_cb, wd.h);
            g_cond_broadcast(&wd.cond);
        } else {
            force_exit_locked("stop requested again");
        }
        g_mutex_unlock(&wd.lock);
    }
}

/* Lock held: the hub as it was started, on the address it had, without
 * the instance that hung (its marker is written). */
static void reexec_locked(void)
{
    GPtrArray *args = g_ptr_array_new();
    for (char **a = wd.argv; *a; a++)
        g_ptr_array_add(args, *a);
    if (wd.listen) {
        /* The last --listen wins: clients keep the address they know. */
        g_ptr_array_add(args, "--listen");
        g_ptr_array_add(args, wd.listen);
    }
    g_ptr_array_add(args, NULL);
    fflush(stderr);
    execv("/proc/self/exe", (char **)args->pdata);
    hub_log(BMQ_LOG_ERROR, "cannot restart: %s", g_strerror(errno));
    _exit(1);
}

static gpointer watchdog_thread(gpointer data)
{
    (void)data;
    g_mutex_lock(&wd.lock);
    for (;;) {
        if (wd.finished)
            break;
        gint64 now = g_get_monotonic_time();
        if (wd.stops && now >= wd.stop_deadline) {
            char why[96];
            g_snprintf(why, sizeof why, "not stopped %d s after the signal", HUB_STOP_GRACE_S);
            force_exit_locked(why);
        }
        if (wd.stops && wd.armed && now >= wd.stuck_deadline)
            force_exit_locked("stop requested");
        if (wd.armed && !wd.stops && now >= wd.deadline) {
            if (wd.id[0] == '@') /* hub.plugins listing the files (rpc.c) */
                hub_log(BMQ_LOG_ERROR,
                        "plugin file %s did not return from %s within %d s; restarting the hub "
                        "(plugin list leaves the file out until it changes)",
                        wd.plugin, wd.what, HUB_LOAD_TIMEOUT_S);
            else
                hub_log(BMQ_LOG_ERROR,
                        "instance '%s' (plugin %s) did not return from %s within %d s; "
                        "restarting the hub without it",
                        wd.id, wd.plugin, wd.what, HUB_LOAD_TIMEOUT_S);
            char limit[32];
            g_snprintf(limit, sizeof limit, "%d s", HUB_LOAD_TIMEOUT_S);
            hub_fault_mark(wd.id, wd.plugin, "hang", limit, wd.what);
            reexec_locked();
        }
        gint64 until = G_MAXINT64;
        if (wd.armed && !wd.stops)
            until = wd.deadline;
        if (wd.stops)
            until = MIN(until, wd.armed ? wd.stuck_deadline : wd.stop_deadline);
        if (until == G_MAXINT64)
            g_cond_wait(&wd.cond, &wd.lock);
        else
            g_cond_wait_until(&wd.cond, &wd.lock, until);
    }
    g_mutex_unlock(&wd.lock);
    return NULL;
}

static GThread *wd_thread;

void hub_watchdog_start(hub *h, char **argv)
{
    wd.h = h;
    wd.argv = g_strdupv(argv);
    if (pipe2(sig_pipe, O_CLOEXEC) != 0) {
        hub_log(BMQ_LOG_ERROR, "cannot create the signal pipe: %s", g_strerror(errno));
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* Never joined: it may be blocked in read() when the process ends. */
    g_thread_unref(g_thread_new("hub-signals", signal_thread, NULL));
    wd_thread = g_thread_new("hub-watchdog", watchdog_thread, NULL);
}

void hub_watchdog_set_listen(const char *listen)
{
    g_mutex_lock(&wd.lock);
    g_free(wd.listen);
    wd.listen = g_strdup(listen);
    g_mutex_unlock(&wd.lock);
}

void hub_watchdog_arm(const char *id, const char *plugin, const char *what)
{
    g_mutex_lock(&wd.lock);
    wd.armed = true;
    wd.seq++;
    wd.deadline = g_get_monotonic_time() + HUB_LOAD_TIMEOUT_S * G_USEC_PER_SEC;
    g_free(wd.id);
    g_free(wd.plugin);
    wd.id = g_strdup(id);
    wd.plugin = g_strdup(plugin);
    wd.what = what;
    g_cond_broadcast(&wd.cond);
    g_mutex_unlock(&wd.lock);
}

bool hub_watchdog_stopping(void)
{
    g_mutex_lock(&wd.lock);
    bool s = wd.stops > 0;
    g_mutex_unlock(&wd.lock);
    return s;
}

void hub_watchdog_disarm(void)
{
    g_mutex_lock(&wd.lock);
    wd.armed = false;
    g_clear_pointer(&wd.id, g_free);
    g_clear_pointer(&wd.plugin, g_free);
    g_mutex_unlock(&wd.lock);
}

void hub_watchdog_stop(void)
{
    g_mutex_lock(&wd.lock);
    wd.finished = true;
    g_cond_broadcast(&wd.cond);
    g_mutex_unlock(&wd.lock);
    if (wd_thread) {
        g_thread_join(wd_thread);
        wd_thread = NULL;
    }
    g_mutex_lock(&wd.lock);
    g_strfreev(wd.argv);
    wd.argv = NULL;
    g_clear_pointer(&wd.listen, g_free);
    g_mutex_unlock(&wd.lock);
}
