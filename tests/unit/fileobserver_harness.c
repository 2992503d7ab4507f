/* fileobserver_harness.c - shared fixture of the fileobserver tests (see
 * fileobserver_harness.h). */
#include "fileobserver_harness.h"

#include "check.h"

static void ev_free(gpointer p)
{
    ev *e = p;
    g_free(e->name);
    g_free(e->action);
    g_free(e->path);
    g_free(e);
}

static void fx_on_msg(const bmq_message *m, void *ud)
{
    fo_fx *fx = ud;
    ev *e = g_new0(ev, 1);
    e->name = g_strdup(bmq_message_name(m));
    e->action = g_strdup(bmq_message_action(m));
    json_object *a = bmq_message_args(m), *v;
    if (json_object_array_length(a) > 0)
        e->path = g_strdup(json_object_get_string(json_object_array_get_idx(a, 0)));
    e->size = -1;
    e->mtime = -1;
    if (json_object_object_get_ex(bmq_message_kwargs(m), "size", &v))
        e->size = json_object_get_int64(v);
    if (json_object_object_get_ex(bmq_message_kwargs(m), "mtime", &v))
        e->mtime = json_object_get_double(v);
    g_ptr_array_add(fx->evs, e);
    if (g_getenv("BMQ_TEST_VERBOSE"))
        fprintf(stderr, "msg %s:%s %s\n", e->name, e->action, e->path ? e->path : "-");
}

static void fx_on_log(int level, const char *id, const char *line, void *ud)
{
    fo_fx *fx = ud;
    g_ptr_array_add(fx->logs, g_strdup_printf("%d %s %s", level, id ? id : "-", line));
    if (g_getenv("BMQ_TEST_VERBOSE"))
        fprintf(stderr, "log %d [%s] %s\n", level, id ? id : "-", line);
}

void fx_init(fo_fx *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->bus = bmq_bus_new();
    fx->root = g_dir_make_tmp("bmq-fo-XXXXXX", NULL);
    fx->data_root = g_build_filename(fx->root, ".data", NULL);
    CHECK(fx->root != NULL);
    fx->host = bmq_plugin_host_new(fx->bus, NULL, fx->data_root);
    bmq_plugin_host_set_log(fx->host, fx_on_log, fx);
    const char *dir = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    CHECK(dir != NULL);
    bmq_plugin_host_add_dir(fx->host, dir);
    fx->evs = g_ptr_array_new_with_free_func(ev_free);
    fx->logs = g_ptr_array_new_with_free_func(g_free);
    fx->strs = g_ptr_array_new_with_free_func(g_free);
    fx->f = bmq_follow(fx->bus, "*:*", fx_on_msg, NULL, fx);
    CHECK(fx->f != NULL);
}

void rm_rf(const char *path)
{
    char *argv[] = {"rm", "-rf", (char *)path, NULL};
    CHECK(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL));
}

void fx_clear(fo_fx *fx)
{
    bmq_plugin_host_free(fx->host);
    bmq_unfollow(fx->f);
    bmq_bus_free(fx->bus);
    g_ptr_array_free(fx->evs, TRUE);
    g_ptr_array_free(fx->logs, TRUE);
    g_ptr_array_free(fx->strs, TRUE);
    rm_rf(fx->root);
    g_free(fx->root);
    g_free(fx->data_root);
}

/* Path under the fixture root (printf-style); (transfer none): owned by
 * the fixture. */
char *fx_path(fo_fx *fx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *rel = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *p = g_build_filename(fx->root, rel, NULL);
    g_free(rel);
    g_ptr_array_add(fx->strs, p);
    return p;
}

/* Create an instance from a printf-style JSON config; asserts success
 * unless @error is given. */
G_GNUC_PRINTF(4, 5)
bmq_instance *fx_create(fo_fx *fx, const char *id, char **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *json = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_object *cfg = json_tokener_parse(json);
    CHECK(cfg != NULL);
    char *err = NULL;
    bmq_instance *inst = bmq_instance_create(fx->host, "fileobserver", id, cfg, NULL, &err);
    json_object_put(cfg);
    if (!error) {
        if (!inst)
            g_error("create %s failed: %s", json, err);
        g_free(err);
    } else {
        *error = err;
    }
    g_free(json);
    return inst;
}

gboolean fx_wake(gpointer p)
{
    *(bool *)p = true;
    return G_SOURCE_REMOVE;
}

/* Block in the main loop until @n events were recorded or @timeout_ms. */
bool fx_wait(fo_fx *fx, guint n, int timeout_ms)
{
    bool expired = false;
    guint id = g_timeout_add((guint)timeout_ms, fx_wake, &expired);
    while (!expired && fx->evs->len < n)
        g_main_context_iteration(NULL, TRUE);
    if (!expired)
        g_source_remove(id);
    return fx->evs->len >= n;
}

/* Run the loop until no event arrived for @quiet_ms (at most 20 s). */
void fx_settle(fo_fx *fx, int quiet_ms)
{
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    for (;;) {
        guint before = fx->evs->len;
        bool expired = false;
        g_timeout_add((guint)quiet_ms, fx_wake, &expired);
        while (!expired)
            g_main_context_iteration(NULL, TRUE);
        if (fx->evs->len == before || g_get_monotonic_time() > end)
            return;
    }
}

/* Number of events of instance @name with @action and @path (NULL = any). */
guint fx_count(fo_fx *fx, const char *name, const char *action, const char *path)
{
    guint n = 0;
    for (guint i = 0; i < fx->evs->len; i++) {
        ev *e = fx->evs->pdata[i];
        if ((!name || !strcmp(e->name, name)) && (!action || !strcmp(e->action, action)) &&
            (!path || !g_strcmp0(e->path, path)))
            n++;
    }
    return n;
}

ev *fx_ev(fo_fx *fx, guint i)
{
    CHECK(i < fx->evs->len);
    return fx->evs->pdata[i];
}

/* Assert event @i is exactly (name, action, path). */
void fx_assert_ev(fo_fx *fx, guint i, const char *name, const char *action, const char *path)
{
    ev *e = fx_ev(fx, i);
    CHECK_STR(e->name, name);
    CHECK_STR(e->action, action);
    CHECK_STR(e->path, path);
}

void write_file(const char *path, const char *data, bool append)
{
    int fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    size_t n = strlen(data);
    CHECK((write(fd, data, n)) == (ssize_t)n);
    close(fd);
}

void make_dirs(const char *path)
{
    CHECK((g_mkdir_with_parents(path, 0755)) == 0);
}

/* Number of inotify fds this process holds. */
int count_inotify_fds(void)
{
    int n = 0;
    GDir *d = g_dir_open("/proc/self/fd", 0, NULL);
    const char *name;
    while ((name = g_dir_read_name(d))) {
        char *p = g_build_filename("/proc/self/fd", name, NULL);
        char *target = g_file_read_link(p, NULL);
        if (target && strstr(target, "inotify"))
            n++;
        g_free(target);
        g_free(p);
    }
    g_dir_close(d);
    return n;
}
