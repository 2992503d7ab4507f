/* pluginhost.c - the plugin host against the real test plugins in
 * tests/plugins: loading failures with their messages, instances, delivery
 * on the main thread, cleanup of what an instance left registered,
 * reconfigure (in place and by recreate), status, data dirs and logging.
 */
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include <berrymq/host.h>

#include "check.h"

static const char *plugin_dir;
static char *tmp_root;
static GMutex log_lock;
static GString *log_text;

static void capture_log(int level, const char *instance_id, const char *line, void *data)
{
    g_mutex_lock(&log_lock);
    g_string_append_printf(log_text, "%d [%s] %s\n", level, instance_id ? instance_id : "-", line);
    g_mutex_unlock(&log_lock);
}

/* Messages seen by a plain bus follower, in the sender's thread. */
static void collect(const bmq_message *msg, void *data)
{
    g_async_queue_push(data, bmq_message_ref((bmq_message *)msg));
}

/* Iterate the default context until a message arrives or @ms elapse. */
static bmq_message *wait_msg(GAsyncQueue *q, int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;
    while (g_get_monotonic_time() < end) {
        bmq_message *m = g_async_queue_try_pop(q);
        if (m)
            return m;
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    return g_async_queue_try_pop(q);
}

static void drain(GAsyncQueue *q)
{
    bmq_message *m;
    while ((m = g_async_queue_try_pop(q)))
        bmq_message_unref(m);
}

static void spin(int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;
    while (g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

static bmq_plugin_host *new_host(bmq_bus *bus)
{
    bmq_plugin_host *h = bmq_plugin_host_new(bus, NULL, tmp_root);
    bmq_plugin_host_set_log(h, capture_log, NULL);
    bmq_plugin_host_add_dir(h, plugin_dir);
    return h;
}

static uint64_t followers_now(bmq_bus *bus)
{
    bmq_bus_stats st;
    bmq_bus_get_stats(bus, &st);
    return st.followers;
}

static uint64_t queues_now(bmq_bus *bus)
{
    bmq_bus_stats st;
    bmq_bus_get_stats(bus, &st);
    return st.queues;
}

static void test_load_failures(void)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_plugin_host *h = new_host(bus);
    char *err = NULL;
    int code = 0;

    /* Each refusal carries its code; the line names the plugin and where
     * it was looked for. */
    EXPECT(bmq_plugin_load(h, "nosuchplugin", &code, &err) == NULL);
    EXPECT(code == -BMQ_ENOENT);
    EXPECT_CONTAINS(err, "plugin 'nosuchplugin': ");
    EXPECT_CONTAINS(err, plugin_dir);
    g_free(err);

    EXPECT(bmq_plugin_load(h, "notso", &code, &err) == NULL);
    EXPECT(code == -BMQ_ELOAD);
    EXPECT_CONTAINS(err, "plugin 'notso': ");
    g_free(err);

    EXPECT(bmq_plugin_load(h, "nosym", &code, &err) == NULL);
    EXPECT(code == -BMQ_ELOAD);
    EXPECT_CONTAINS(err, "plugin 'nosym': ");
    EXPECT_CONTAINS(err, "bmq_plugin_entry");
    g_free(err);

    EXPECT(bmq_plugin_load(h, "badabi", &code, &err) == NULL);
    EXPECT(code == -BMQ_EABI);
    EXPECT_CONTAINS(err, "plugin 'badabi': ");
    EXPECT_CONTAINS(err, "99");
    g_free(err);

    EXPECT(bmq_plugin_load(h, "../evil", &code, &err) == NULL);
    EXPECT(code == -BMQ_ENOENT);
    EXPECT(err != NULL);
    g_free(err);
    EXPECT(bmq_plugin_load(h, "Bad Name", &code, NULL) == NULL);
    EXPECT(code == -BMQ_EINVAL);

    /* A failing create: error names the instance and carries the plugin's
     * text, and what create registered before failing is gone. */
    uint64_t base = followers_now(bus);
    EXPECT(bmq_instance_create(h, "failplug", "f1", NULL, &code, &err) == NULL);
    EXPECT(code == -BMQ_EFAILED);
    EXPECT_CONTAINS(err, "instance 'f1': ");
    EXPECT_CONTAINS(err, "failplug refuses to start");
    g_free(err);
    EXPECT(followers_now(bus) == base);
    EXPECT(bmq_instance_find(h, "f1") == NULL);
    EXPECT(bmq_plugin_host_instances(h) == NULL);

    /* Loading errors reach instance creation too. */
    EXPECT(bmq_instance_create(h, "badabi", NULL, NULL, &code, &err) == NULL);
    EXPECT(code == -BMQ_EABI);
    g_free(err);

    /* check_file, as an installer uses it. */
    char *path = g_build_filename(plugin_dir, "testplug.so", NULL);
    char *name = NULL, *version = NULL;
    EXPECT(bmq_plugin_check_file(path, &name, &version, &err) == 0);
    EXPECT(name && strcmp(name, "testplug") == 0);
    EXPECT(version && strcmp(version, "1.0") == 0);
    g_free(name);
    g_free(version);
    g_free(path);
    path = g_build_filename(plugin_dir, "badabi.so", NULL);
    EXPECT(bmq_plugin_check_file(path, NULL, NULL, &err) == -BMQ_EABI);
    EXPECT_CONTAINS(err, "99");
    g_free(err);
    g_free(path);
    path = g_build_filename(plugin_dir, "notso.so", NULL);
    EXPECT(bmq_plugin_check_file(path, NULL, NULL, &err) == -BMQ_ELOAD);
    EXPECT(err != NULL);
    g_free(err);
    g_free(path);
    path = g_build_filename(plugin_dir, "nosym.so", NULL);
    EXPECT(bmq_plugin_check_file(path, NULL, NULL, &err) == -BMQ_ELOAD);
    EXPECT_CONTAINS(err, "bmq_plugin_entry");
    g_free(err);
    g_free(path);
    EXPECT(bmq_plugin_check_file("/nonexistent/x.so", NULL, NULL, &err) == -BMQ_ENOENT);
    g_free(err);

    /* The available list shows good and bad files. */
    json_object *avail = bmq_plugin_host_available(h);
    bool saw_good = false, saw_bad = false;
    for (size_t i = 0; i < json_object_array_length(avail); i++) {
        json_object *e = json_object_array_get_idx(avail, i), *v;
        json_object_object_get_ex(e, "name", &v);
        const char *n = json_object_get_string(v);
        json_object *er, *ec;
        json_object_object_get_ex(e, "error", &er);
        json_object_object_get_ex(e, "code", &ec);
        if (strcmp(n, "testplug") == 0)
            saw_good = er == NULL && ec == NULL;
        if (strcmp(n, "badabi") == 0)
            saw_bad = er != NULL && json_object_get_int(ec) == -BMQ_EABI;
    }
    EXPECT(saw_good);
    EXPECT(saw_bad);
    json_object_put(avail);

    bmq_plugin_host_free(h);
    bmq_bus_free(bus);
}

typedef struct {
    bmq_bus *bus;
    const char *id;
} sender_args;

static gpointer send_from_thread(gpointer data)
{
    sender_args *a = data;
    bmq_twitter_json(a->bus, a->id, "[1, \"two\"]", NULL);
    return NULL;
}

#define BURST 300

static gpointer send_burst(gpointer data)
{
    sender_args *a = data;
    for (int i = 0; i < BURST; i++)
        bmq_twitter_json(a->bus, a->id, NULL, NULL);
    return NULL;
}

static void send_in_thread(bmq_bus *bus, const char *id)
{
    sender_args a = {bus, id};
    g_thread_join(g_thread_new("sender", send_from_thread, &a));
}

static json_object *kw(const bmq_message *m, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(bmq_message_kwargs(m), key, &v);
    return v;
}

static void test_instances(void)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_plugin_host *h = new_host(bus);
    GAsyncQueue *pongs = g_async_queue_new();
    bmq_follower *watch = bmq_follow(bus, "*:pong", collect, NULL, pongs);
    uint64_t base_f = followers_now(bus);
    char *err = NULL;

    bmq_instance *a = bmq_instance_create(h, "testplug", "alpha", NULL, NULL, &err);
    EXPECT(a != NULL && err == NULL);
    json_object *cfg = json_tokener_parse("{\"greeting\": \"hi\"}");
    bmq_instance *b = bmq_instance_create(h, "testplug", "beta", cfg, NULL, &err);
    json_object_put(cfg);
    EXPECT(b != NULL);
    int code = 0;
    EXPECT(bmq_instance_create(h, "testplug", "alpha", NULL, &code, &err) == NULL);
    EXPECT(code == -BMQ_EEXIST);
    EXPECT_CONTAINS(err, "instance 'alpha': ");
    g_free(err);
    EXPECT(bmq_instance_create(h, "testplug", "bad id", NULL, &code, &err) == NULL);
    EXPECT(code == -BMQ_EINVAL);
    g_free(err);
    json_object *notobj = json_object_new_array();
    EXPECT(bmq_instance_create(h, "testplug", "gamma", notobj, &code, NULL) == NULL);
    EXPECT(code == -BMQ_ETYPE);
    json_object_put(notobj);

    GList *list = bmq_plugin_host_instances(h);
    EXPECT(g_list_length(list) == 2 && list->data == a && list->next->data == b);
    g_list_free(list);
    EXPECT(bmq_instance_find(h, "beta") == b);
    EXPECT(strcmp(bmq_plugin_descriptor_get(bmq_instance_plugin(a))->name, "testplug") == 0);
    EXPECT(followers_now(bus) == base_f + 2);

    /* The data dir exists under data_root/ID. */
    char *dd = g_build_filename(tmp_root, "alpha", NULL);
    EXPECT(g_file_test(dd, G_FILE_TEST_IS_DIR));
    g_free(dd);

    /* Sent from another thread: nothing runs until the main loop does, and
     * then on the main thread. */
    send_in_thread(bus, "alpha:ping");
    EXPECT(g_async_queue_length(pongs) == 0);
    bmq_message *m = wait_msg(pongs, 2000);
    EXPECT(m != NULL);
    if (m) {
        EXPECT(strcmp(bmq_message_id(m), "alpha:pong") == 0);
        EXPECT(json_object_get_boolean(kw(m, "main_thread")));
        EXPECT(strcmp(json_object_to_json_string(bmq_message_args(m)), "[ 1, \"two\" ]") == 0);
        bmq_message_unref(m);
    }
    /* A message sent while the host context is owned by the sender runs
     * right away. */
    g_main_context_acquire(NULL);
    bmq_twitter_json(bus, "beta:ping", NULL, NULL);
    g_main_context_release(NULL);
    m = g_async_queue_try_pop(pongs);
    EXPECT(m != NULL);
    if (m) {
        EXPECT(strcmp(json_object_get_string(kw(m, "greeting")), "hi") == 0);
        bmq_message_unref(m);
    }

    /* Status. */
    json_object *st = bmq_instance_status(a), *v;
    EXPECT(json_object_object_get_ex(st, "followers", &v) && json_object_get_int(v) == 1);
    EXPECT(json_object_object_get_ex(st, "status", &v) &&
           json_object_object_get_ex(v, "received", &v) && json_object_get_int(v) == 1);
    json_object_put(st);

    /* A burst from another thread is delivered in order (several idle
     * batches). */
    drain(pongs);
    sender_args burst = {bus, "alpha:ping"};
    GThread *bt = g_thread_new("burst", send_burst, &burst);
    g_thread_join(bt);
    int expect = 2;
    for (; expect < 2 + BURST; expect++) {
        bmq_message *pm = wait_msg(pongs, 2000);
        if (!pm)
            break;
        int got = json_object_get_int(kw(pm, "received"));
        bmq_message_unref(pm);
        if (got != expect)
            break;
    }
    EXPECT(expect == 2 + BURST);

    /* Never run after destroy: queued from a thread, then destroyed. */
    send_in_thread(bus, "alpha:ping");
    bmq_instance_destroy(a);
    spin(50);
    EXPECT(g_async_queue_length(pongs) == 0);
    EXPECT(followers_now(bus) == base_f + 1);

    /* Reconfigure in place. */
    cfg = json_tokener_parse("{\"greeting\": \"again\"}");
    EXPECT(bmq_instance_reconfigure(b, cfg, &err) == 0);
    json_object_put(cfg);
    st = bmq_instance_status(b);
    EXPECT(json_object_object_get_ex(st, "status", &v) &&
           json_object_object_get_ex(v, "greeting", &v) &&
           strcmp(json_object_get_string(v), "again") == 0);
    json_object_put(st);
    cfg = json_tokener_parse("{\"reject\": true}");
    EXPECT(bmq_instance_reconfigure(b, cfg, &err) < 0);
    EXPECT_CONTAINS(err, "instance 'beta': reconfigure failed: reconfigure rejected on request");
    g_free(err);
    json_object_put(cfg);
    EXPECT(bmq_instance_is_running(b));

    bmq_instance_destroy(b);
    EXPECT(followers_now(bus) == base_f);
    bmq_unfollow(watch);
    drain(pongs);
    g_async_queue_unref(pongs);
    bmq_plugin_host_free(h);
    bmq_bus_free(bus);
}

static void test_cleanup_and_recreate(void)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_plugin_host *h = new_host(bus);
    GAsyncQueue *seen = g_async_queue_new();
    bmq_follower *watch = bmq_follow(bus, "*:*", collect, NULL, seen);
    uint64_t base_f = followers_now(bus), base_q = queues_now(bus);
    char *err = NULL;
    char *journal = g_build_filename(tmp_root, "journal.txt", NULL);

    /* A leaky instance: follower, queue, timeout and a thread's invoke. */
    char *cfgtext = g_strdup_printf("{\"leak\": true, \"tick_ms\": 5, \"queue\": \"leaky:*\", "
                                    "\"thread\": true, \"journal\": \"%s\"}",
                                    journal);
    json_object *cfg = json_tokener_parse(cfgtext);
    g_free(cfgtext);
    bmq_instance *l = bmq_instance_create(h, "testplug_norecfg", "leaky", cfg, NULL, &err);
    EXPECT(l != NULL);
    EXPECT(followers_now(bus) == base_f + 1);
    EXPECT(queues_now(bus) == base_q + 1);

    bool tick = false, invoked = false;
    gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
    while ((!tick || !invoked) && g_get_monotonic_time() < end) {
        bmq_message *m = wait_msg(seen, 100);
        if (!m)
            continue;
        tick |= strcmp(bmq_message_id(m), "leaky:tick") == 0;
        invoked |= strcmp(bmq_message_id(m), "leaky:invoked") == 0;
        bmq_message_unref(m);
    }
    EXPECT(tick);
    EXPECT(invoked);
    g_mutex_lock(&log_lock);
    EXPECT_CONTAINS(log_text->str, "[leaky] hello from a plugin thread");
    g_mutex_unlock(&log_lock);

    /* Recreate path (no reconfigure in this plugin): journal shows it. */
    EXPECT(bmq_instance_reconfigure(l, cfg, &err) == 0);
    json_object_put(cfg);
    EXPECT(followers_now(bus) == base_f + 1);
    EXPECT(queues_now(bus) == base_q + 1);

    /* Destroy removes what the plugin left behind: no more ticks. */
    bmq_instance_destroy(l);
    EXPECT(followers_now(bus) == base_f);
    EXPECT(queues_now(bus) == base_q);
    drain(seen);
    spin(40);
    EXPECT(g_async_queue_length(seen) == 0);

    char *text = NULL;
    EXPECT(g_file_get_contents(journal, &text, NULL, NULL));
    EXPECT(text && strcmp(text, "create leaky\ndestroy leaky\ncreate leaky\ndestroy leaky\n") == 0);
    g_free(text);
    g_free(journal);

    /* A recreate that fails leaves a stopped instance. */
    bmq_instance *n = bmq_instance_create(h, "testplug_norecfg", "n1", NULL, NULL, &err);
    EXPECT(n != NULL);
    cfg = json_tokener_parse("{\"follow\": \"bad pattern\"}");
    EXPECT(bmq_instance_reconfigure(n, cfg, &err) == -BMQ_EFAILED);
    EXPECT_CONTAINS(err, "bad follow pattern");
    g_free(err);
    json_object_put(cfg);
    EXPECT(!bmq_instance_is_running(n));
    EXPECT(followers_now(bus) == base_f);

    /* Host free destroys what is left, in reverse creation order. */
    EXPECT(bmq_instance_create(h, "testplug", "last1", NULL, NULL, NULL) != NULL);
    EXPECT(bmq_instance_create(h, "testplug", "last2", NULL, NULL, NULL) != NULL);
    g_mutex_lock(&log_lock);
    g_string_truncate(log_text, 0);
    g_mutex_unlock(&log_lock);
    bmq_plugin_host_free(h);
    const char *p2 = strstr(log_text->str, "[last2] testplug destroyed");
    const char *p1 = strstr(log_text->str, "[last1] testplug destroyed");
    EXPECT(p1 && p2 && p2 < p1);
    EXPECT(followers_now(bus) == base_f);
    bmq_unfollow(watch);
    drain(seen);
    g_async_queue_unref(seen);
    bmq_bus_free(bus);
}

/* Put a copy of @src at @dst as an installer does (new file, rename). */
static void install_copy(const char *src, const char *dst)
{
    char *bytes = NULL, *tmp = g_strconcat(dst, ".tmp", NULL);
    gsize len = 0;
    EXPECT(g_file_get_contents(src, &bytes, &len, NULL));
    EXPECT(g_file_set_contents(tmp, bytes, (gssize)len, NULL));
    EXPECT(g_rename(tmp, dst) == 0);
    g_free(bytes);
    g_free(tmp);
}

/* A reinstalled file replaces cached code when no instance uses it. */
static void test_reinstall(void)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_plugin_host *h = bmq_plugin_host_new(bus, NULL, tmp_root);
    bmq_plugin_host_set_log(h, capture_log, NULL);
    char *dir = g_build_filename(tmp_root, "reinstall", NULL);
    g_mkdir_with_parents(dir, 0700);
    char *dst = g_build_filename(dir, "plug.so", NULL);
    char *good = g_build_filename(plugin_dir, "testplug.so", NULL);
    char *other = g_build_filename(plugin_dir, "testplug_norecfg.so", NULL);
    char *err = NULL;

    install_copy(good, dst);
    bmq_plugin *p = bmq_plugin_load(h, dst, NULL, &err);
    EXPECT(p && strcmp(bmq_plugin_descriptor_get(p)->name, "testplug") == 0);
    EXPECT(bmq_plugin_load(h, dst, NULL, &err) == p); /* unchanged: cached */
    bmq_instance *i = bmq_instance_create(h, dst, "r1", NULL, NULL, &err);
    EXPECT(i != NULL);
    bmq_instance_destroy(i);

    install_copy(other, dst);
    p = bmq_plugin_load(h, dst, NULL, &err);
    EXPECT(p && strcmp(bmq_plugin_descriptor_get(p)->name, "testplug_norecfg") == 0);
    i = bmq_instance_create(h, dst, "r2", NULL, NULL, &err);
    EXPECT(i != NULL);
    /* In use: a new file waits until the last instance is gone. */
    install_copy(good, dst);
    p = bmq_plugin_load(h, dst, NULL, &err);
    EXPECT(p && strcmp(bmq_plugin_descriptor_get(p)->name, "testplug_norecfg") == 0);
    bmq_instance_destroy(i);
    p = bmq_plugin_load(h, dst, NULL, &err);
    EXPECT(p && strcmp(bmq_plugin_descriptor_get(p)->name, "testplug") == 0);

    bmq_plugin_host_free(h);
    bmq_bus_free(bus);
    g_free(good);
    g_free(other);
    g_free(dst);
    g_free(dir);
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
    tmp_root = g_dir_make_tmp("bmq-pluginhost-XXXXXX", NULL);
    log_text = g_string_new(NULL);
    test_load_failures();
    test_instances();
    test_cleanup_and_recreate();
    test_reinstall();
    rm_rf(tmp_root);
    g_free(tmp_root);
    g_string_free(log_text, TRUE);
    return check_result();
}
