/* fault.c - a plugin that crashes the hub is named, and kept out of the
 * next start.
 *
 * A fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) raised while a
 * thread is in plugin code (bmq_plugin_call_current) writes one log line
 * naming the instance and a crash marker
 * $XDG_STATE_HOME/berrymq/crash-ID.json, then the signal is raised again
 * with its default action, so the exit status stays what it was. At the
 * next start an instance with a marker is not created: it is `failed` with
 * the reason until `berrymq plugin enable ID` (hub.enable) clears the
 * marker. exit() called by a plugin is logged and marked the same way, from
 * an atexit hook. A plugin that hangs in load or create is marked by the
 * watchdog (watchdog.c) through hub_fault_mark.
 *
 * Everything the signal handler does is async-signal-safe: paths are
 * built at start, text is assembled by hand, and the file is written with
 * open/write/rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "hub.h"

static char marker_dir[PATH_MAX - 64];
static bool marker_dir_ok;

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGABRT:
        return "SIGABRT";
    default:
        return "fatal signal";
    }
}

/* ---- async-signal-safe text ------------------------------------------- */

typedef struct {
    char *p;
    size_t left;
} sbuf;

static void put(sbuf *b, const char *s)
{
    for (; s && *s && b->left > 1; s++, b->left--)
        *b->p++ = *s;
    *b->p = '\0';
}

/* A JSON string body: quotes and backslashes escaped, control bytes dropped. */
static void put_json(sbuf *b, const char *s)
{
    for (; s && *s && b->left > 2; s++) {
        if ((unsigned char)*s < 0x20)
            continue;
        if (*s == '"' || *s == '\\') {
            *b->p++ = '\\';
            b->left--;
        }
        *b->p++ = *s;
        b->left--;
    }
    *b->p = '\0';
}

static void put_int(sbuf *b, long long v)
{
    char tmp[24];
    int n = 0;
    bool neg = v < 0;
    unsigned long long u = neg ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg)
        tmp[n++] = '-';
    char out[24];
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    put(b, out);
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Write the marker of @id; async-signal-safe. */
static void write_marker(const char *id, const char *plugin, const char *event, const char *reason,
                         const char *what)
{
    if (!marker_dir_ok || !id)
        return;
    char path[PATH_MAX], tmp[PATH_MAX];
    sbuf b = {path, sizeof path};
    put(&b, marker_dir);
    put(&b, "/crash-");
    put(&b, id);
    put(&b, ".json");
    sbuf t = {tmp, sizeof tmp};
    put(&t, path);
    put(&t, ".tmp");

    char text[1024];
    sbuf j = {text, sizeof text};
    struct timespec now = {0};
    clock_gettime(CLOCK_REALTIME, &now);
    put(&j, "{\"instance\":\"");
    put_json(&j, id);
    put(&j, "\",\"plugin\":\"");
    put_json(&j, plugin);
    put(&j, "\",\"event\":\"");
    put_json(&j, event);
    put(&j, "\",\"reason\":\"");
    put_json(&j, reason);
    put(&j, "\",\"in\":\"");
    put_json(&j, what);
    put(&j, "\",\"time\":");
    put_int(&j, (long long)now.tv_sec);
    put(&j, "}\n");

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    write_all(fd, text, strlen(text));
    close(fd);
    rename(tmp, path);
}

static void on_fatal(int sig, siginfo_t *info, void *uctx)
{
    (void)info;
    (void)uctx;
    int saved = errno;
    const bmq_plugin_call *c = bmq_plugin_call_current();
    char line[768];
    sbuf b = {line, sizeof line};
    if (c && c->instance_id) {
        put(&b, "berrymq-hub: error: instance '");
        put(&b, c->instance_id);
        put(&b, "' (plugin ");
        put(&b, c->plugin);
        put(&b, ") crashed the hub: ");
        put(&b, signal_name(sig));
        put(&b, " (in ");
        put(&b, c->what);
        put(&b, ")\n");
        write_all(2, line, strlen(line));
        write_marker(c->instance_id, c->plugin, "crash", signal_name(sig), c->what);
    } else {
        put(&b, "berrymq-hub: error: crashed: ");
        put(&b, signal_name(sig));
        put(&b, "\n");
        write_all(2, line, strlen(line));
    }
    /* Default action again: returning re-runs the faulting instruction, a
     * raised signal is delivered once this handler returns. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    if (sig == SIGABRT || sig == SIGFPE || info == NULL || info->si_code <= 0)
        raise(sig);
    errno = saved;
}

static void on_exit_hook(void)
{
    const bmq_plugin_call *c = bmq_plugin_call_current();
    if (!c || !c->instance_id)
        return;
    hub_log(BMQ_LOG_ERROR, "instance '%s' (plugin %s) called exit() in %s; the hub stops",
            c->instance_id, c->plugin, c->what);
    write_marker(c->instance_id, c->plugin, "exit", "exit()", c->what);
}

void hub_fault_init(void)
{
    char *dir = g_build_filename(g_get_user_state_dir(), "berrymq", NULL);
    if (strlen(dir) < sizeof marker_dir && g_mkdir_with_parents(dir, 0700) == 0) {
        g_strlcpy(marker_dir, dir, sizeof marker_dir);
        marker_dir_ok = true;
    } else {
        hub_log(BMQ_LOG_WARNING, "cannot create %s: %s; crashes will not be remembered", dir,
                g_strerror(errno));
    }
    g_free(dir);

    /* The main thread's handler gets a stack of its own: a plugin that
     * overflows the stack is still named. */
    static char altstack[64 * 1024];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < G_N_ELEMENTS(fatal_signals); i++)
        sigaction(fatal_signals[i], &sa, NULL);
    atexit(on_exit_hook);
}

void hub_fault_mark(const char *id, const char *plugin, const char *event, const char *reason,
                    const char *what)
{
    write_marker(id, plugin, event, reason, what);
}

static char *marker_path(const char *id)
{
    char *name = g_strdup_printf("crash-%s.json", id);
    char *p = g_build_filename(g_get_user_state_dir(), "berrymq", name, NULL);
    g_free(name);
    return p;
}

bool hub_fault_marker(const char *id, char **why)
{
    char *path = marker_path(id);
    char *text = NULL;
    bool found = g_file_get_contents(path, &text, NULL, NULL);
    g_free(path);
    if (!found)
        return false;
    json_object *o = json_tokener_parse(text);
    g_free(text);
    json_object *v;
    const char *event = "crash", *reason = "unknown", *what = NULL;
    int64_t when = 0;
    if (json_object_object_get_ex(o, "event", &v))
        event = json_object_get_string(v);
    if (json_object_object_get_ex(o, "reason", &v))
        reason = json_object_get_string(v);
    if (json_object_object_get_ex(o, "in", &v) && *json_object_get_string(v))
        what = json_object_get_string(v);
    if (json_object_object_get_ex(o, "time", &v))
        when = json_object_get_int64(v);
    GDateTime *dt = g_date_time_new_from_unix_local(when);
    char *at = dt ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S") : g_strdup("an unknown time");
    if (dt)
        g_date_time_unref(dt);
    char *in = what ? g_strdup_printf(" in %s", what) : g_strdup("");
    if (strcmp(event, "hang") == 0)
        *why = g_strdup_printf("did not return from %s within %s at %s; "
                               "`berrymq plugin enable %s` to retry",
                               what ? what : "plugin code", reason, at, id);
    else if (strcmp(event, "exit") == 0)
        *why = g_strdup_printf("stopped the hub with exit() at %s (%s); "
                               "`berrymq plugin enable %s` to retry",
                               at, what ? what : "plugin code", id);
    else
        *why = g_strdup_printf("crashed the hub at %s (%s%s); `berrymq plugin enable %s` to retry",
                               at, reason, in, id);
    g_free(in);
    g_free(at);
    json_object_put(o);
    return true;
}

bool hub_fault_listing_skip(const char *name, const char *path, char **why)
{
    char *id = g_strconcat("@", name, NULL);
    char *mpath = marker_path(id);
    GStatBuf ms, fs;
    bool skip = false;
    if (g_stat(mpath, &ms) == 0) {
        if (g_stat(path, &fs) == 0 && fs.st_mtime > ms.st_mtime) {
            g_unlink(mpath);
            hub_log(BMQ_LOG_INFO, "plugin file %s changed since it hung: trying it again", path);
        } else {
            GDateTime *dt = g_date_time_new_from_unix_local(ms.st_mtime);
            char *at = dt ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S") : g_strdup("?");
            if (dt)
                g_date_time_unref(dt);
            *why = g_strdup_printf("did not finish loading within 10 s when plugins were listed at "
                                   "%s; left out until the file changes",
                                   at);
            g_free(at);
            skip = true;
        }
    }
    g_free(mpath);
    g_free(id);
    return skip;
}

void hub_fault_clear(const char *id)
{
    char *path = marker_path(id);
    if (g_unlink(path) == 0)
        hub_log(BMQ_LOG_INFO, "instance '%s': crash record cleared", id);
    g_free(path);
}
