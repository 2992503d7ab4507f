/* hub_harness.c - see hub_harness.h. */
#include "hub_harness.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* Hubs still running when the test exits early are killed, so that no
 * orphan outlives the test. */
static GSList *live_pids;

static void kill_live(void)
{
    for (GSList *l = live_pids; l; l = l->next)
        kill((pid_t)GPOINTER_TO_INT(l->data), SIGKILL);
}

static char *hub_path(void)
{
    const char *b = g_getenv("BMQ_BUILD_DIR");
    return b ? g_build_filename(b, "app", "hub", "berrymq-hub", NULL) : NULL;
}

hh_env *hh_env_new(void)
{
    char *hub = hub_path();
    const char *tp = g_getenv("BMQ_TEST_PLUGIN_DIR");
    if (!hub || !g_file_test(hub, G_FILE_TEST_IS_EXECUTABLE) || !tp) {
        fprintf(stderr, "berrymq-hub or the test plugins are not built\n");
        exit(77);
    }
    g_free(hub);
    hh_env *e = g_new0(hh_env, 1);
    e->root = g_dir_make_tmp("bmq-hub-XXXXXX", NULL);
    const char *subs[] = {"home", "config/berrymq", "data", "run"};
    for (size_t i = 0; i < G_N_ELEMENTS(subs); i++) {
        char *d = g_build_filename(e->root, subs[i], NULL);
        g_mkdir_with_parents(d, 0700);
        g_free(d);
    }
    e->config_file = g_build_filename(e->root, "config", "berrymq", "hub.json", NULL);
    e->journal = g_build_filename(e->root, "journal.txt", NULL);
    e->plugin_dir = g_strdup(tp);
    return e;
}

static void rm_rf(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    if (d) {
        const char *n;
        while ((n = g_dir_read_name(d))) {
            char *p = g_build_filename(path, n, NULL);
            rm_rf(p);
            g_free(p);
        }
        g_dir_close(d);
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

void hh_env_free(hh_env *e)
{
    rm_rf(e->root);
    g_free(e->root);
    g_free(e->config_file);
    g_free(e->journal);
    g_free(e->plugin_dir);
    g_free(e);
}

void hh_write_config(hh_env *e, const char *json)
{
    g_file_set_contents(e->config_file, json, -1, NULL);
}

void hh_write_config_j(hh_env *e, const char *json)
{
    char **parts = g_strsplit(json, "@@JOURNAL@@", -1);
    char *text = g_strjoinv(e->journal, parts);
    hh_write_config(e, text);
    g_free(text);
    g_strfreev(parts);
}

char *hh_journal(hh_env *e)
{
    char *t = NULL;
    if (!g_file_get_contents(e->journal, &t, NULL, NULL))
        return g_strdup("");
    return t;
}

static gpointer reader_main(gpointer data)
{
    hh_hub *h = data;
    char buf[4096];
    ssize_t n;
    while ((n = read(h->err_fd, buf, sizeof buf)) > 0) {
        g_mutex_lock(&h->lock);
        g_string_append_len(h->log, buf, n);
        if (!h->listen) {
            const char *p = strstr(h->log->str, "listening on ");
            const char *end = p ? strpbrk(p + 13, " \n") : NULL;
            if (end)
                h->listen = g_strndup(p + 13, (gsize)(end - p - 13));
        }
        g_mutex_unlock(&h->lock);
        /* Mirror into the test's output: failures are easier to read. */
        if (g_getenv("HH_VERBOSE"))
            fwrite(buf, 1, (size_t)n, stderr);
    }
    g_mutex_lock(&h->lock);
    h->log_eof = true;
    g_mutex_unlock(&h->lock);
    return NULL;
}

hh_hub *hh_start(hh_env *e, const char *const *extra, bool wait_listen)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, hub_path());
    g_ptr_array_add(argv, g_strdup("--listen"));
    g_ptr_array_add(argv, g_strdup("127.0.0.1:0"));
    g_ptr_array_add(argv, g_strdup("--plugin-dir"));
    g_ptr_array_add(argv, g_strdup(e->plugin_dir));
    g_ptr_array_add(argv, g_strdup("--no-tray"));
    for (const char *const *x = extra; x && *x; x++)
        g_ptr_array_add(argv, g_strdup(*x));
    g_ptr_array_add(argv, NULL);

    char **env = g_get_environ();
    char *d;
    env = g_environ_setenv(env, "HOME", d = g_build_filename(e->root, "home", NULL), TRUE);
    g_free(d);
    env = g_environ_setenv(env, "XDG_CONFIG_HOME", d = g_build_filename(e->root, "config", NULL),
                           TRUE);
    g_free(d);
    env = g_environ_setenv(env, "XDG_DATA_HOME", d = g_build_filename(e->root, "data", NULL), TRUE);
    g_free(d);
    /* The default place under HOME, whatever the caller's environment. */
    env = g_environ_setenv(env, "XDG_STATE_HOME",
                           d = g_build_filename(e->root, "home", ".local", "state", NULL), TRUE);
    g_free(d);
    env =
        g_environ_setenv(env, "XDG_RUNTIME_DIR", d = g_build_filename(e->root, "run", NULL), TRUE);
    g_free(d);
    env = g_environ_unsetenv(env, "DISPLAY");
    env = g_environ_unsetenv(env, "WAYLAND_DISPLAY");
    env = g_environ_unsetenv(env, "JOURNAL_STREAM");
    env = g_environ_unsetenv(env, "DBUS_SESSION_BUS_ADDRESS");

    hh_hub *h = g_new0(hh_hub, 1);
    g_mutex_init(&h->lock);
    h->log = g_string_new(NULL);
    GError *err = NULL;
    static bool atexit_set;
    if (!atexit_set) {
        atexit(kill_live);
        atexit_set = true;
    }
    if (!g_spawn_async_with_pipes(NULL, (char **)argv->pdata, env,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                                  NULL, &h->pid, NULL, NULL, &h->err_fd, &err)) {
        fprintf(stderr, "cannot start the hub: %s\n", err->message);
        exit(1);
    }
    g_strfreev(env);
    g_ptr_array_free(argv, TRUE);
    live_pids = g_slist_prepend(live_pids, GINT_TO_POINTER((int)h->pid));
    h->reader = g_thread_new("hub-stderr", reader_main, h);
    if (wait_listen) {
        gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
        bool ok = false;
        while (!ok && g_get_monotonic_time() < end) {
            g_mutex_lock(&h->lock);
            ok = h->listen != NULL;
            g_mutex_unlock(&h->lock);
            if (!ok && hh_wait_exit(h, 0) != -1 && h->exited)
                break;
            if (!ok)
                g_usleep(5000);
        }
        if (!ok) {
            char *log = hh_log(h);
            fprintf(stderr, "the hub did not start listening; its log:\n%s\n", log);
            g_free(log);
            exit(1);
        }
        h->rpc =
            bmq_rpc_client_new(h->listen, g_getenv("HH_SECRET")) /* the hub's secret, if any */;
        bmq_rpc_client_set_timeout(h->rpc, 15);
        /* hub.* calls run on the hub's main loop, which turns only once
         * the configured instances are created: the answer means ready. */
        char *err = NULL;
        json_object *st = hh_call(h, "hub.status", "[]", &err);
        if (!st) {
            fprintf(stderr, "the hub does not answer hub.status: %s\n", err);
            exit(1);
        }
        json_object_put(st);
    }
    return h;
}

int hh_wait_exit(hh_hub *h, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (!h->exited) {
        pid_t r = waitpid(h->pid, &h->status, WNOHANG);
        if (r == h->pid) {
            h->exited = true;
            live_pids = g_slist_remove(live_pids, GINT_TO_POINTER((int)h->pid));
            /* The last lines may still sit in the pipe: give the reader
             * up to 2 s to reach the end (a grandchild may hold it open). */
            gint64 eof_by = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
            for (;;) {
                g_mutex_lock(&h->lock);
                bool eof = h->log_eof;
                g_mutex_unlock(&h->lock);
                if (eof || g_get_monotonic_time() >= eof_by)
                    break;
                g_usleep(2000);
            }
            break;
        }
        if (g_get_monotonic_time() >= end)
            return -1;
        g_usleep(5000);
    }
    return WIFEXITED(h->status) ? WEXITSTATUS(h->status) : -1;
}

int hh_stop(hh_hub *h)
{
    if (!h->exited)
        kill(h->pid, SIGTERM);
    int rc = hh_wait_exit(h, 20000);
    if (!h->exited) {
        kill(h->pid, SIGKILL);
        hh_wait_exit(h, 5000);
    }
    return rc;
}

void hh_finish_log(hh_hub *h)
{
    if (h->reader) {
        g_thread_join(h->reader);
        h->reader = NULL;
    }
}

void hh_free(hh_hub *h)
{
    if (!h->exited)
        hh_stop(h);
    hh_finish_log(h);
    close(h->err_fd);
    g_spawn_close_pid(h->pid);
    bmq_rpc_client_free(h->rpc);
    g_string_free(h->log, TRUE);
    g_free(h->listen);
    g_mutex_clear(&h->lock);
    g_free(h);
}

char *hh_log(hh_hub *h)
{
    g_mutex_lock(&h->lock);
    char *s = g_strdup(h->log->str);
    g_mutex_unlock(&h->lock);
    return s;
}

bool hh_wait_log(hh_hub *h, const char *needle, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    for (;;) {
        g_mutex_lock(&h->lock);
        bool found = strstr(h->log->str, needle) != NULL;
        g_mutex_unlock(&h->lock);
        if (found)
            return true;
        if (g_get_monotonic_time() >= end)
            return false;
        g_usleep(5000);
    }
}

json_object *hh_call(hh_hub *h, const char *method, const char *params_json, char **err)
{
    json_object *params = params_json ? json_tokener_parse(params_json) : NULL;
    json_object *result = NULL;
    char *text = NULL;
    int rc = bmq_rpc_client_call(h->rpc, method, params, &result, &text);
    if (rc != 0) {
        if (err)
            *err = text ? text : g_strdup(bmq_strerror(rc));
        else
            g_free(text);
        return NULL;
    }
    g_free(text);
    if (err)
        *err = NULL;
    return result ? result : json_object_new_null();
}

const char *hh_str(json_object *o, const char *path)
{
    char **parts = g_strsplit(path, ".", -1);
    json_object *cur = o;
    for (char **p = parts; cur && *p; p++) {
        json_object *next = NULL;
        if (!json_object_object_get_ex(cur, *p, &next))
            next = NULL;
        cur = next;
    }
    g_strfreev(parts);
    return cur ? json_object_get_string(cur) : NULL;
}

json_object *hh_history(hh_hub *h, const char *pattern, size_t want, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    char *params = g_strdup_printf("[\"%s\", 0, 10000]", pattern);
    for (;;) {
        char *err = NULL;
        json_object *r = hh_call(h, "hub.history", params, &err);
        size_t n = r ? json_object_array_length(r) : 0;
        if (n >= want || g_get_monotonic_time() > end) {
            if (!r)
                fprintf(stderr, "hub.history %s: %s\n", params, err ? err : "no answer");
            g_free(err);
            g_free(params);
            return r;
        }
        g_free(err);
        json_object_put(r);
        g_usleep(50000);
    }
}

json_object *hh_instance(hh_hub *h, const char *id)
{
    json_object *r = hh_call(h, "hub.plugins", "[]", NULL), *arr, *found = NULL;
    if (r && json_object_object_get_ex(r, "instances", &arr))
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *e = json_object_array_get_idx(arr, i);
            const char *eid = hh_str(e, "id");
            if (eid && strcmp(eid, id) == 0)
                found = json_object_get(e);
        }
    json_object_put(r);
    return found;
}

char *hh_state(hh_hub *h, const char *id)
{
    json_object *e = hh_instance(h, id);
    const char *st = e ? hh_str(e, "state") : NULL;
    char *s = g_strdup(st ? st : "");
    json_object_put(e);
    return s;
}

bool hh_wait_state(hh_hub *h, const char *id, const char *state, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    for (;;) {
        char *s = hh_state(h, id);
        bool ok = strcmp(s, state) == 0;
        g_free(s);
        if (ok)
            return true;
        if (g_get_monotonic_time() >= end)
            return false;
        g_usleep(10000);
    }
}
