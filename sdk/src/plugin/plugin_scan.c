/* plugin_scan.c - list the plugins available on the search path. */
#include <string.h>

#include "plugin_host.h"

const char *const *bmq_plugin_host_dirs(bmq_plugin_host *h)
{
    g_return_val_if_fail(h != NULL, NULL);
    return (const char *const *)h->dirs->pdata;
}

static json_object *entry_json(const char *name, const bmq_plugin *p, const char *path, int code,
                               const char *error)
{
    json_object *o = json_object_new_object();
    const bmq_plugin_descriptor *d = p ? p->desc : NULL;
    json_object_object_add(o, "name", json_object_new_string(d ? d->name : name));
    json_object_object_add(o, "version", d ? json_object_new_string(d->version) : NULL);
    json_object_object_add(o, "description",
                           d ? json_object_new_string(d->description ? d->description : "") : NULL);
    json_object_object_add(o, "path", json_object_new_string(p ? p->path : path));
    json_object_object_add(o, "error", error ? json_object_new_string(error) : NULL);
    json_object_object_add(o, "code", p ? NULL : json_object_new_int(code));
    return o;
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

json_object *bmq_plugin_host_available(bmq_plugin_host *h)
{
    return bmq_plugin_host_available_full(h, NULL, NULL);
}

json_object *bmq_plugin_host_available_full(bmq_plugin_host *h, bmq_plugin_scan_fn fn,
                                            void *user_data)
{
    g_return_val_if_fail(h != NULL, NULL);
    json_object *arr = json_object_new_array();
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < h->dirs->len; i++) {
        const char *dir = g_ptr_array_index(h->dirs, i);
        GDir *d = g_dir_open(dir, 0, NULL);
        if (!d)
            continue;
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        const char *f;
        while ((f = g_dir_read_name(d)))
            if (g_str_has_suffix(f, ".so") && strlen(f) > 3)
                g_ptr_array_add(names, g_strndup(f, strlen(f) - 3));
        g_dir_close(d);
        g_ptr_array_sort(names, cmp_names);
        for (guint j = 0; j < names->len; j++) {
            const char *name = g_ptr_array_index(names, j);
            if (g_hash_table_contains(seen, name))
                continue;
            g_hash_table_add(seen, g_strdup(name));
            char *file = g_strconcat(name, ".so", NULL);
            char *path = g_build_filename(dir, file, NULL);
            g_free(file);
            char *err = NULL;
            int code = 0;
            bmq_plugin *p = NULL;
            if (fn && !fn(name, path, false, &err, user_data)) {
                code = -BMQ_ELOAD;
                if (!err)
                    err = g_strdup("left out by the program");
            } else {
                p = bmq_plugin_load(h, path, &code, &err);
                if (fn)
                    fn(name, path, true, NULL, user_data);
            }
            json_object_array_add(arr, entry_json(name, p, path, code, err));
            g_free(err);
            g_free(path);
        }
        g_ptr_array_free(names, TRUE);
    }
    g_hash_table_destroy(seen);
    return arr;
}
