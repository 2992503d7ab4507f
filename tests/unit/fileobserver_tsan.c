/* fileobserver_tsan.c - built with ThreadSanitizer (label tsan): the
 * fileobserver's events (read from inotify on the main loop) delivered to
 * followers on a pool of threads while four threads create and append to
 * files in a real temp dir, and an instance is destroyed while files keep
 * changing. Every file created is reported exactly once as created, and
 * TSan, which halts on the first report, has nothing to say. */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include <berrymq/host.h>

#include "check.h"

enum { THREADS = 4, PER_THREAD = 25 };

typedef struct seen {
    GMutex lock;
    GHashTable *created; /* path -> count */
    guint events;
} seen;

/* Runs on the bus's pool threads. */
static void on_event(const bmq_message *m, void *ud)
{
    seen *s = ud;
    /* What a forwarding follower does with a message from another thread. */
    char *text = bmq_message_render(m, NULL);
    const char *uid = bmq_message_uid(m);
    CHECK(uid && *uid);
    g_free(text);
    json_object *a = bmq_message_args(m);
    const char *path = json_object_array_length(a) > 0
                           ? json_object_get_string(json_object_array_get_idx(a, 0))
                           : NULL;
    g_mutex_lock(&s->lock);
    s->events++;
    if (path && strcmp(bmq_message_action(m), "created") == 0) {
        guint n = GPOINTER_TO_UINT(g_hash_table_lookup(s->created, path));
        g_hash_table_replace(s->created, g_strdup(path), GUINT_TO_POINTER(n + 1));
    }
    g_mutex_unlock(&s->lock);
}

typedef struct writer_arg {
    const char *dir;
    const char *tag;
    int t;
} writer_arg;

static gpointer writer(gpointer data)
{
    writer_arg *a = data;
    for (int i = 0; i < PER_THREAD; i++) {
        char *p = g_strdup_printf("%s/%s-%d-%d.log", a->dir, a->tag, a->t, i);
        FILE *f = fopen(p, "w");
        CHECK(f != NULL);
        fprintf(f, "line %d\n", i);
        fclose(f);
        f = fopen(p, "a");
        CHECK(f != NULL);
        fprintf(f, "more\n");
        fclose(f);
        g_free(p);
    }
    return NULL;
}

static void write_all(const char *dir, const char *tag)
{
    GThread *th[THREADS];
    writer_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (writer_arg){dir, tag, t};
        th[t] = g_thread_new("tsan-writer", writer, &args[t]);
    }
    for (int t = 0; t < THREADS; t++)
        g_thread_join(th[t]);
}

static void on_count(const bmq_message *m, void *ud)
{
    g_atomic_int_inc((gint *)ud);
}

/* Distinct files reported created whose name starts with @tag. */
static guint created_count(seen *s, const char *tag)
{
    GHashTableIter it;
    gpointer k;
    guint n = 0;
    char *needle = g_strdup_printf("/%s-", tag);
    g_mutex_lock(&s->lock);
    g_hash_table_iter_init(&it, s->created);
    while (g_hash_table_iter_next(&it, &k, NULL))
        n += strstr(k, needle) != NULL;
    g_mutex_unlock(&s->lock);
    g_free(needle);
    return n;
}

static guint created_max(seen *s)
{
    GHashTableIter it;
    gpointer v;
    guint max = 0;
    g_mutex_lock(&s->lock);
    g_hash_table_iter_init(&it, s->created);
    while (g_hash_table_iter_next(&it, NULL, &v))
        max = MAX(max, GPOINTER_TO_UINT(v));
    g_mutex_unlock(&s->lock);
    return max;
}

static bool wait_created(seen *s, const char *tag, guint n, int timeout_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    while (created_count(s, tag) < n && g_get_monotonic_time() < end)
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(2000);
    return created_count(s, tag) >= n;
}

static void spin(int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;
    while (g_get_monotonic_time() < end)
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
}

static bmq_instance *create(bmq_plugin_host *host, const char *id, const char *dir)
{
    char *json = g_strdup_printf("{\"path\": \"%s/*.log\", \"debounce_ms\": 20}", dir);
    json_object *cfg = json_tokener_parse(json);
    char *err = NULL;
    bmq_instance *inst = bmq_instance_create(host, "fileobserver", id, cfg, NULL, &err);
    if (!inst)
        g_error("create %s: %s", id, err);
    json_object_put(cfg);
    g_free(json);
    return inst;
}

int main(void)
{
    bmq_bus *bus = bmq_bus_new();
    CHECK(bmq_set_multiplicity(bus, 4) == 0);
    char *root = g_dir_make_tmp("bmq-fo-tsan-XXXXXX", NULL);
    CHECK(root != NULL);
    char *data = g_build_filename(root, ".data", NULL);
    char *dir = g_build_filename(root, "w", NULL);
    CHECK(g_mkdir(dir, 0700) == 0);
    bmq_plugin_host *host = bmq_plugin_host_new(bus, NULL, data);
    const char *plugins = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    CHECK(plugins != NULL);
    bmq_plugin_host_add_dir(host, plugins);

    seen s = {0};
    g_mutex_init(&s.lock);
    s.created = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    bmq_follower *f = bmq_follow(bus, "*:*", on_event, NULL, &s);

    bmq_instance *inst = create(host, "obs", dir);
    spin(50);
    write_all(dir, "a");
    CHECK(wait_created(&s, "a", THREADS * PER_THREAD, 60));
    spin(200);
    bmq_bus_flush(bus);
    CHECK_EQ(created_count(&s, "a"), THREADS * PER_THREAD);
    CHECK_EQ(created_max(&s), 1);

    /* Destroyed while the files keep changing. */
    GThread *th[THREADS];
    writer_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (writer_arg){dir, "b", t};
        th[t] = g_thread_new("tsan-writer", writer, &args[t]);
    }
    /* Followers come and go on the pool while events flow. */
    gint counted = 0;
    for (int i = 0; i < 10; i++) {
        bmq_follower *f2 = bmq_follow(bus, "obs:*", on_count, NULL, &counted);
        spin(5);
        bmq_unfollow(f2);
    }
    bmq_instance_destroy(inst);
    for (int t = 0; t < THREADS; t++)
        g_thread_join(th[t]);
    bmq_bus_flush(bus);
    CHECK(bmq_instance_find(host, "obs") == NULL);

    /* A new instance sees the files that are there as they change. */
    inst = create(host, "obs2", dir);
    write_all(dir, "c");
    CHECK(wait_created(&s, "c", THREADS * PER_THREAD, 60));
    bmq_bus_flush(bus);
    CHECK_EQ(created_max(&s), 1);

    bmq_plugin_host_free(host);
    bmq_unfollow(f);
    bmq_bus_free(bus);
    g_hash_table_destroy(s.created);
    g_mutex_clear(&s.lock);
    char *argv[] = {"rm", "-rf", root, NULL};
    CHECK(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL));
    g_free(root);
    g_free(data);
    g_free(dir);
    return check_result();
}
