/* plugin_load.c - the plugin host object, its search path, and loading a
 * plugin: find the file, dlopen it, resolve the entry symbol, negotiate the
 * ABI and validate the descriptor.
 *
 * A loaded plugin stays mapped while the host lives: plugins may register
 * GTypes or pull in libraries (GTK) that cannot be unloaded safely. The
 * one exception is a reinstall: when the file on disk changed and no
 * instance of the plugin exists, the old code is closed and the new file
 * loaded, so that "build, install, load" works without a restart. Files
 * that fail a check are closed at once.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plugin_host.h"

const char *bmq_log_level_name(int level)
{
    switch (level) {
    case BMQ_LOG_ERROR:
        return "error";
    case BMQ_LOG_WARNING:
        return "warning";
    case BMQ_LOG_NOTICE:
        return "notice";
    case BMQ_LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

void plugin__logv(bmq_plugin_host *h, int level, const char *instance_id, const char *fmt,
                  va_list ap)
{
    char *line = g_strdup_vprintf(fmt, ap);
    g_mutex_lock(&h->log_lock);
    bmq_log_fn fn = h->log_fn;
    void *data = h->log_data;
    g_mutex_unlock(&h->log_lock);
    if (fn) {
        fn(level, instance_id, line, data);
    } else if (level <= BMQ_LOG_INFO || g_getenv("BMQ_DEBUG")) {
        if (instance_id)
            fprintf(stderr, "berrymq: %s: [%s] %s\n", bmq_log_level_name(level), instance_id, line);
        else
            fprintf(stderr, "berrymq: %s: %s\n", bmq_log_level_name(level), line);
    }
    g_free(line);
}

void plugin__log(bmq_plugin_host *h, int level, const char *instance_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    plugin__logv(h, level, instance_id, fmt, ap);
    va_end(ap);
}

bmq_plugin_host *bmq_plugin_host_new(bmq_bus *bus, GMainContext *context, const char *data_root)
{
    g_return_val_if_fail(bus != NULL, NULL);
    bmq_plugin_host *h = g_new0(bmq_plugin_host, 1);
    h->bus = bus;
    h->context = context ? g_main_context_ref(context) : g_main_context_ref_thread_default();
    h->data_root = data_root
                       ? g_strdup(data_root)
                       : g_build_filename(g_get_user_data_dir(), "berrymq", "instances", NULL);
    h->dirs = g_ptr_array_new_null_terminated(4, g_free, TRUE);
    h->plugins = g_ptr_array_new();
    g_queue_init(&h->instances);
    g_mutex_init(&h->log_lock);
    g_mutex_init(&h->stored_lock);
    g_queue_init(&h->stored_jobs);
    h->node_id = g_strdup_printf("%s-%d", g_get_host_name(), (int)getpid());
    h->old_node_ids = g_ptr_array_new_with_free_func(g_free);
    return h;
}

void bmq_plugin_host_free(bmq_plugin_host *h)
{
    if (!h)
        return;
    while (!g_queue_is_empty(&h->instances))
        bmq_instance_destroy(g_queue_peek_tail(&h->instances));
    plugin__stored_free(h);
    for (guint i = 0; i < h->plugins->len; i++) {
        bmq_plugin *p = g_ptr_array_index(h->plugins, i);
        /* The mapping stays (see the file comment); only our record goes. */
        g_free(p->path);
        g_free(p);
    }
    g_ptr_array_free(h->plugins, TRUE);
    g_ptr_array_free(h->dirs, TRUE);
    g_ptr_array_free(h->old_node_ids, TRUE);
    g_free(h->node_id);
    g_free(h->data_root);
    g_main_context_unref(h->context);
    g_mutex_clear(&h->log_lock);
    g_free(h);
}

void bmq_plugin_host_set_log(bmq_plugin_host *h, bmq_log_fn fn, void *user_data)
{
    g_return_if_fail(h != NULL);
    g_mutex_lock(&h->log_lock);
    h->log_fn = fn;
    h->log_data = user_data;
    g_mutex_unlock(&h->log_lock);
}

void bmq_plugin_host_set_node_id(bmq_plugin_host *h, const char *node_id)
{
    g_return_if_fail(h != NULL && node_id != NULL);
    g_ptr_array_add(h->old_node_ids, h->node_id);
    h->node_id = g_strdup(node_id);
    for (GList *l = h->instances.head; l; l = l->next)
        ((bmq_instance *)l->data)->api.node_id = h->node_id;
}

void bmq_plugin_host_add_dir(bmq_plugin_host *h, const char *dir)
{
    g_return_if_fail(h != NULL && dir != NULL && *dir);
    for (guint i = 0; i < h->dirs->len; i++)
        if (strcmp(g_ptr_array_index(h->dirs, i), dir) == 0)
            return;
    g_ptr_array_add(h->dirs, g_strdup(dir));
}

/* True when this library runs from the build tree it was built in: then the
 * build tree's plugins are the ones that match it, not installed ones. */
static bool running_from_build_tree(void)
{
#ifdef BMQ_BUILD_PLUGIN_DIR
    Dl_info info;
    if (!dladdr((void *)bmq_plugin_host_new, &info) || !info.dli_fname)
        return false;
    char *build_root = g_path_get_dirname(BMQ_BUILD_PLUGIN_DIR);
    char *self = realpath(info.dli_fname, NULL);
    size_t n = strlen(build_root);
    bool inside = self && strncmp(self, build_root, n) == 0 && self[n] == '/';
    free(self);
    g_free(build_root);
    return inside;
#else
    return false;
#endif
}

/* The installed plugin directory relative to this library's own file
 * (libdir/berrymq/plugins), so an installed tree works from whatever prefix
 * it was copied to. NULL from a build tree or when unknown. */
static char *relative_plugin_dir(void)
{
#ifdef BMQ_LIB_TO_PLUGIN
    Dl_info info;
    if (!dladdr((void *)bmq_plugin_host_new, &info) || !info.dli_fname)
        return NULL;
    char *self = realpath(info.dli_fname, NULL);
    if (!self)
        return NULL;
    char *libdir = g_path_get_dirname(self);
    free(self);
    char *dir = g_build_filename(libdir, BMQ_LIB_TO_PLUGIN, NULL);
    g_free(libdir);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        g_free(dir);
        return NULL;
    }
    return dir;
#else
    return NULL;
#endif
}

void bmq_plugin_host_add_default_dirs(bmq_plugin_host *h)
{
    g_return_if_fail(h != NULL);
    char *user = g_build_filename(g_get_user_data_dir(), "berrymq", "plugins", NULL);
    bmq_plugin_host_add_dir(h, user);
    g_free(user);
    const char *env = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    if (env && *env)
        bmq_plugin_host_add_dir(h, env);
#ifdef BMQ_BUILD_PLUGIN_DIR
    if (running_from_build_tree())
        bmq_plugin_host_add_dir(h, BMQ_BUILD_PLUGIN_DIR);
#endif
    char *rel = running_from_build_tree() ? NULL : relative_plugin_dir();
    if (rel)
        bmq_plugin_host_add_dir(h, rel);
    g_free(rel);
#ifdef BMQ_PLUGIN_LIBDIR
    bmq_plugin_host_add_dir(h, BMQ_PLUGIN_LIBDIR);
#endif
}

static bool valid_plugin_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!g_ascii_islower(*s) && !g_ascii_isdigit(*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

/* The descriptor as the plugin built it, read no further than its size,
 * into @out (the fields it lacks NULL). NULL when too short to be used. */
static const char *copy_descriptor(const bmq_plugin_descriptor *d, bmq_plugin_descriptor *out)
{
    /* Descriptors from before the size field have 0 there (the padding
     * after abi, zero in static storage): the ABI 1 layout through status. */
    size_t size = d->size ? d->size : offsetof(bmq_plugin_descriptor, status) + sizeof(d->status);
    if (!BMQ_STRUCT_HAS(size, bmq_plugin_descriptor, destroy))
        return "size is too small for the ABI";
    memset(out, 0, sizeof *out);
    memcpy(out, d, MIN(size, sizeof *out));
    out->size = (uint32_t)sizeof *out;
    return NULL;
}

/* dlopen @path and check it. @label names the plugin in messages. Returns the
 * handle with the descriptor copied into @out, or NULL with *error and a
 * negative code in *code. */
static void *open_checked(const char *path, const char *label, bmq_plugin_descriptor *out,
                          char **error, int *code)
{
    dlerror();
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        *error = g_strdup_printf("plugin '%s': not a shared object: %s", label,
                                 why ? why : "unknown error");
        *code = -BMQ_ELOAD;
        return NULL;
    }
    dlerror();
    void *sym = dlsym(handle, BMQ_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        *error = g_strdup_printf("plugin '%s': missing symbol %s", label, BMQ_PLUGIN_ENTRY_SYMBOL);
        *code = -BMQ_ELOAD;
        dlclose(handle);
        return NULL;
    }
    bmq_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    const bmq_plugin_descriptor *d = entry(BMQ_PLUGIN_ABI_MIN, BMQ_PLUGIN_ABI_MAX);
    if (!d || d->abi < BMQ_PLUGIN_ABI_MIN || d->abi > BMQ_PLUGIN_ABI_MAX) {
        /* Ask what it speaks, for a useful message. */
        const bmq_plugin_descriptor *any = d ? d : entry(0, UINT32_MAX);
        if (any)
            *error =
                g_strdup_printf("plugin '%s': ABI mismatch: plugin speaks %u, host "
                                "supports %u..%u",
                                label, (unsigned)any->abi, BMQ_PLUGIN_ABI_MIN, BMQ_PLUGIN_ABI_MAX);
        else
            *error = g_strdup_printf("plugin '%s': ABI mismatch: plugin speaks none of host "
                                     "versions %u..%u",
                                     label, BMQ_PLUGIN_ABI_MIN, BMQ_PLUGIN_ABI_MAX);
        *code = -BMQ_EABI;
        dlclose(handle);
        return NULL;
    }
    const char *bad = copy_descriptor(d, out);
    if (!bad && !valid_plugin_name(out->name))
        bad = "name must match [a-z0-9_-]{1,64}";
    else if (!bad && !out->version)
        bad = "version is missing";
    else if (!bad && (!out->create || !out->destroy))
        bad = "create and destroy are required";
    if (bad) {
        *error = g_strdup_printf("plugin '%s': invalid descriptor: %s", label, bad);
        *code = -BMQ_ELOAD;
        dlclose(handle);
        return NULL;
    }
    return handle;
}

/* Resolve @name_or_path to an existing file, or NULL with *error and
 * *code (-BMQ_ENOENT, -BMQ_EINVAL). */
static char *find_file(bmq_plugin_host *h, const char *name_or_path, char **error, int *code)
{
    *code = -BMQ_ENOENT;
    if (strchr(name_or_path, '/')) {
        if (g_file_test(name_or_path, G_FILE_TEST_IS_REGULAR))
            return g_canonicalize_filename(name_or_path, NULL);
        *error = g_strdup_printf("plugin '%s': not found: %s", name_or_path, g_strerror(ENOENT));
        return NULL;
    }
    if (!valid_plugin_name(name_or_path)) {
        *error = g_strdup_printf("plugin '%s': invalid plugin name", name_or_path);
        *code = -BMQ_EINVAL;
        return NULL;
    }
    char *file = g_strconcat(name_or_path, ".so", NULL);
    for (guint i = 0; i < h->dirs->len; i++) {
        char *p = g_build_filename(g_ptr_array_index(h->dirs, i), file, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_REGULAR)) {
            g_free(file);
            char *c = g_canonicalize_filename(p, NULL);
            g_free(p);
            return c;
        }
        g_free(p);
    }
    g_free(file);
    GString *dirs = g_string_new(NULL);
    for (guint i = 0; i < h->dirs->len; i++)
        g_string_append_printf(dirs, "%s%s", i ? ", " : "", (char *)g_ptr_array_index(h->dirs, i));
    *error = g_strdup_printf("plugin '%s': not found in %s", name_or_path,
                             dirs->len ? dirs->str : "(no plugin directories)");
    g_string_free(dirs, TRUE);
    return NULL;
}

static bmq_plugin *find_loaded(bmq_plugin_host *h, const char *name, const char *path)
{
    for (guint i = 0; i < h->plugins->len; i++) {
        bmq_plugin *p = g_ptr_array_index(h->plugins, i);
        if ((name && strcmp(p->desc->name, name) == 0) || (path && strcmp(p->path, path) == 0))
            return p;
    }
    return NULL;
}

static bool file_changed(const bmq_plugin *p)
{
    struct stat st;
    if (stat(p->path, &st) != 0)
        return true;
    return st.st_dev != p->dev || st.st_ino != p->ino || st.st_mtim.tv_sec != p->mtime.tv_sec ||
           st.st_mtim.tv_nsec != p->mtime.tv_nsec;
}

/* A cached plugin that may be replaced by what is on disk now. */
static bool replaceable(const bmq_plugin *p)
{
    return p->instances == 0 && file_changed(p);
}

/* Forget @p (no instances) and close its code. */
static void retire(bmq_plugin_host *h, bmq_plugin *p)
{
    plugin__log(h, BMQ_LOG_DEBUG, NULL, "unloading plugin '%s' from %s", p->desc->name, p->path);
    g_ptr_array_remove(h->plugins, p);
    dlclose(p->handle);
    void *still = dlopen(p->path, RTLD_NOW | RTLD_NOLOAD);
    if (still) {
        plugin__log(h, BMQ_LOG_WARNING, NULL,
                    "plugin '%s': the old code of %s stays in use until a restart", p->desc->name,
                    p->path);
        dlclose(still);
    }
    g_free(p->path);
    g_free(p);
}

bmq_plugin *bmq_plugin_load(bmq_plugin_host *h, const char *name_or_path, int *code_out,
                            char **error)
{
    char *local_err = NULL;
    char **err = error ? error : &local_err;
    *err = NULL;
    int code = 0;
    if (code_out)
        *code_out = 0;
    g_return_val_if_fail(h != NULL && name_or_path != NULL, NULL);
    bool by_path = strchr(name_or_path, '/') != NULL;
    if (!by_path) {
        bmq_plugin *p = find_loaded(h, name_or_path, NULL);
        if (p && !replaceable(p))
            return p;
    }
    char *path = find_file(h, name_or_path, err, &code);
    if (!path)
        goto fail;
    bmq_plugin *p = find_loaded(h, NULL, path);
    if (p && !replaceable(p)) {
        g_free(path);
        return p;
    }
    if (p)
        retire(h, p);
    bmq_plugin_descriptor desc;
    const bmq_plugin_descriptor *d = &desc;
    void *handle = open_checked(path, name_or_path, &desc, err, &code);
    if (!handle) {
        g_free(path);
        goto fail;
    }
    bmq_plugin *other = find_loaded(h, d->name, NULL);
    if (other && other->handle != handle && other->instances == 0) {
        retire(h, other); /* a newer install elsewhere on the path */
        other = NULL;
    }
    if (other) {
        if (other->handle == handle) {
            g_free(path);
            return other;
        }
        *err = g_strdup_printf("plugin '%s': another plugin named '%s' is already loaded "
                               "from %s",
                               name_or_path, d->name, other->path);
        code = -BMQ_EEXIST;
        dlclose(handle);
        g_free(path);
        goto fail;
    }
    p = g_new0(bmq_plugin, 1);
    p->host = h;
    p->path = path;
    p->handle = handle;
    p->desc_copy = desc;
    p->desc = &p->desc_copy;
    struct stat st;
    if (stat(path, &st) == 0) {
        p->dev = st.st_dev;
        p->ino = st.st_ino;
        p->mtime = st.st_mtim;
    }
    g_ptr_array_add(h->plugins, p);
    plugin__log(h, BMQ_LOG_DEBUG, NULL, "loaded plugin '%s' %s (ABI %u) from %s", d->name,
                d->version, (unsigned)d->abi, path);
    return p;
fail:
    if (code_out)
        *code_out = code;
    if (!error) {
        plugin__log(h, BMQ_LOG_ERROR, NULL, "%s", local_err);
        g_free(local_err);
    }
    return NULL;
}

const bmq_plugin_descriptor *bmq_plugin_descriptor_get(const bmq_plugin *p)
{
    return p ? p->desc : NULL;
}

const char *bmq_plugin_path(const bmq_plugin *p)
{
    return p ? p->path : NULL;
}

int bmq_plugin_check_file(const char *path, char **name, char **version, char **error)
{
    if (name)
        *name = NULL;
    if (version)
        *version = NULL;
    if (error)
        *error = NULL;
    if (!path || !*path) {
        if (error)
            *error = g_strdup("plugin path is empty");
        return -BMQ_EINVAL;
    }
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        if (error)
            *error = g_strdup_printf("plugin '%s': not found: %s", path, g_strerror(ENOENT));
        return -BMQ_ENOENT;
    }
    /* dlopen wants a path with a slash to avoid the library search path. */
    char *abs = g_canonicalize_filename(path, NULL);
    bmq_plugin_descriptor desc;
    const bmq_plugin_descriptor *d = &desc;
    char *err = NULL;
    int code = 0;
    void *handle = open_checked(abs, path, &desc, &err, &code);
    g_free(abs);
    if (!handle) {
        if (error)
            *error = err;
        else
            g_free(err);
        return code;
    }
    if (name)
        *name = g_strdup(d->name);
    if (version)
        *version = g_strdup(d->version);
    dlclose(handle);
    return 0;
}
