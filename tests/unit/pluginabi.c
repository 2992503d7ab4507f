/* pluginabi.c - the plugin ABI grows in both directions without a new
 * version: plugins built against an older (shorter) or a newer (longer)
 * host table and descriptor load and run, the host reads nothing past a
 * descriptor's size, a descriptor too short for ABI 1 is refused, and the
 * library's functions are exported as versioned symbols (BERRYMQ_0).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include <berrymq/host.h>

#include "check.h"

static const char *plugin_dir;

static void on_msg(const bmq_message *msg, void *data)
{
    g_async_queue_push(data, bmq_message_ref(msg));
}

static bool kw_bool(const bmq_message *m, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(bmq_message_kwargs(m), key, &v) && json_object_get_boolean(v);
}

static json_object *status_of(bmq_instance *inst, json_object **whole)
{
    *whole = bmq_instance_status(inst);
    json_object *st = NULL;
    json_object_object_get_ex(*whole, "status", &st);
    return st;
}

static bmq_plugin_host *new_host(bmq_bus *bus, const char *root)
{
    bmq_plugin_host *h = bmq_plugin_host_new(bus, NULL, root);
    bmq_plugin_host_add_dir(h, plugin_dir);
    return h;
}

/* A plugin from an older header on this host. */
static void test_older_plugin(const char *root)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_plugin_host *h = new_host(bus, root);
    GAsyncQueue *seen = g_async_queue_new();
    bmq_follower *f = bmq_follow(bus, "old1:hello", on_msg, NULL, seen);
    char *err = NULL;

    bmq_instance *inst = bmq_instance_create(h, "oldplug", "old1", NULL, NULL, &err);
    CHECK(inst != NULL && err == NULL);
    bmq_message *m = g_async_queue_try_pop(seen); /* sent from create, same thread */
    CHECK(m != NULL);
    CHECK(kw_bool(m, "covers_old_table"));
    bmq_message_unref(m);

    /* The descriptor ends at destroy: no status, no in-place reconfigure. */
    const bmq_plugin_descriptor *d = bmq_plugin_descriptor_get(bmq_instance_plugin(inst));
    CHECK(d->reconfigure == NULL && d->status == NULL);
    CHECK_EQ(d->size, sizeof(bmq_plugin_descriptor));
    json_object *whole;
    CHECK(status_of(inst, &whole) == NULL);
    json_object_put(whole);
    /* So reconfigure recreates: create runs again. */
    CHECK_EQ(bmq_instance_reconfigure(inst, NULL, &err), 0);
    m = g_async_queue_try_pop(seen);
    CHECK(m != NULL);
    bmq_message_unref(m);
    bmq_instance_destroy(inst);

    /* The layout from before the size field: status is read. */
    inst = bmq_instance_create(h, "legacyplug", NULL, NULL, NULL, &err);
    CHECK(inst != NULL && err == NULL);
    CHECK_STR(json_object_get_string(status_of(inst, &whole)), "legacy status");
    json_object_put(whole);
    bmq_instance_destroy(inst);

    /* Too short to hold create and destroy. */
    CHECK(bmq_plugin_load(h, "tinyplug", NULL, &err) == NULL);
    CHECK_CONTAINS(err, "plugin 'tinyplug': invalid descriptor: size is too small");
    g_free(err);
    char *path = g_build_filename(plugin_dir, "tinyplug.so", NULL);
    CHECK_EQ(bmq_plugin_check_file(path, NULL, NULL, &err), -BMQ_ELOAD);
    g_free(err);
    g_free(path);

    bmq_unfollow(f);
    g_async_queue_unref(seen);
    bmq_plugin_host_free(h);
    bmq_bus_free(bus);
}

/* A plugin from a newer header on this (older) host. */
static void test_newer_plugin(const char *root)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_plugin_host *h = new_host(bus, root);
    char *err = NULL;
    bmq_instance *inst = bmq_instance_create(h, "newplug", NULL, NULL, NULL, &err);
    CHECK(inst != NULL && err == NULL);
    json_object *whole, *v;
    json_object *st = status_of(inst, &whole);
    CHECK(json_object_object_get_ex(st, "has_invoke", &v) && json_object_get_boolean(v));
    CHECK(json_object_object_get_ex(st, "has_future", &v) && !json_object_get_boolean(v));
    CHECK(json_object_object_get_ex(st, "host_size", &v));
    CHECK_EQ(json_object_get_int64(v), sizeof(bmq_host));
    json_object_put(whole);
    /* The host's copy stops at the members it knows. */
    const bmq_plugin_descriptor *d = bmq_plugin_descriptor_get(bmq_instance_plugin(inst));
    CHECK_EQ(d->size, sizeof(bmq_plugin_descriptor));
    CHECK_STR(d->version, "2.0");
    bmq_instance_destroy(inst);
    bmq_plugin_host_free(h);
    bmq_bus_free(bus);
}

/* Exported functions carry the version node of their library. */
static void test_symbol_versions(void)
{
    CHECK(dlvsym(RTLD_DEFAULT, "bmq_version", "BERRYMQ_0") != NULL);
    CHECK(dlvsym(RTLD_DEFAULT, "bmq_plugin_host_new", "BERRYMQ_0") != NULL);
    CHECK(dlvsym(RTLD_DEFAULT, "bmq_version", "BERRYMQ_1") == NULL);
    /* Calls that gained `int *code` are at BERRYMQ_1 and keep their old
     * form at BERRYMQ_0, for programs linked before. */
    CHECK(dlvsym(RTLD_DEFAULT, "bmq_plugin_load", "BERRYMQ_1") != NULL);
    CHECK(dlvsym(RTLD_DEFAULT, "bmq_plugin_load", "BERRYMQ_0") != NULL);
    CHECK(dlvsym(RTLD_DEFAULT, "bmq_plugin_load", "BERRYMQ_0") !=
          dlvsym(RTLD_DEFAULT, "bmq_plugin_load", "BERRYMQ_1"));
    CHECK(dlvsym(RTLD_DEFAULT, "bmq_rpc_error", "BERRYMQ_1") != NULL);
    const char *build = g_getenv("BMQ_BUILD_DIR");
    char *gtk = build ? g_build_filename(build, "sdk", "gtk", "libberrymq-gtk.so", NULL) : NULL;
    if (gtk && g_file_test(gtk, G_FILE_TEST_EXISTS)) {
        void *lib = dlopen(gtk, RTLD_NOW | RTLD_LOCAL);
        CHECK(lib != NULL);
        CHECK(dlvsym(lib, "bmq_gtk_bridge_new", "BERRYMQ_GTK_0") != NULL);
        CHECK(dlvsym(lib, "bmq_gtk_bridge_new", "BERRYMQ_0") == NULL);
        /* The GTK library's module is never unloaded (-z nodelete). */
        dlclose(lib);
    } else {
        fprintf(stderr, "(libberrymq-gtk not built: its versions not checked)\n");
    }
    g_free(gtk);
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

int main(void)
{
    plugin_dir = g_getenv("BMQ_TEST_PLUGIN_DIR");
    if (!plugin_dir) {
        fprintf(stderr, "BMQ_TEST_PLUGIN_DIR is not set\n");
        return 1;
    }
    char *root = g_dir_make_tmp("bmq-pluginabi-XXXXXX", NULL);
    test_older_plugin(root);
    test_newer_plugin(root);
    RUN(test_symbol_versions);
    rm_rf(root);
    g_free(root);
    return 0;
}
