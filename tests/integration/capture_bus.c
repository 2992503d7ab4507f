/* capture_bus.c - the capture plugin against buses of the test's own
 * (real dbus-daemon processes, no display): a bus whose policy refuses
 * monitoring, a bus that goes away and comes back at the same address, and
 * image-data hints turned into PNG files. */
#include "check.h"

#include <berrymq/host.h>
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static bmq_bus *bus;
static bmq_plugin_host *host;
static GPtrArray *got; /* json_object* {"id", "kwargs"} */
static GString *logs;

static void record_cb(const bmq_message *m, void *ud)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(bmq_message_id(m)));
    json_object_object_add(o, "kwargs", json_object_get(bmq_message_kwargs(m)));
    g_ptr_array_add(got, o);
}

static void log_cb(int level, const char *id, const char *line, void *ud)
{
    fprintf(stderr, "[%s] %s\n", id ? id : "host", line);
    g_string_append_printf(logs, "%s\n", line);
}

static void put_json(gpointer o)
{
    json_object_put(o);
}

static bool wait_until(bool (*cond)(void *), void *data, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (!cond(data)) {
        if (g_get_monotonic_time() > end)
            return cond(data);
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(2000);
    }
    return true;
}

static const char *kw(json_object *m, const char *key)
{
    json_object *k = NULL, *v = NULL;
    if (!m || !json_object_object_get_ex(m, "kwargs", &k) || !json_object_object_get_ex(k, key, &v))
        return NULL;
    return json_object_get_string(v);
}

static json_object *find_title(const char *title)
{
    for (guint i = got->len; i > 0; i--)
        if (g_strcmp0(kw(got->pdata[i - 1], "title"), title) == 0)
            return got->pdata[i - 1];
    return NULL;
}

static bool title_seen(void *title)
{
    return find_title(title) != NULL;
}

/* ---- a dbus-daemon of our own at DIR/NAME ----------------------------- */

static const char conf_fmt[] =
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
    "<busconfig><type>session</type><listen>unix:path=%s</listen><auth>EXTERNAL</auth>\n"
    "<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
    "<allow eavesdrop=\"true\"/><allow own=\"*\"/>%s</policy></busconfig>\n";

typedef struct tbus {
    GPid pid;
    char *socket, *address;
} tbus;

/* Every bus of the test, so a failed CHECK (which exits) leaves none. */
static tbus buses[3];
static GPid live[3];

static void kill_buses(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(live); i++)
        if (live[i])
            kill(live[i], SIGTERM);
}

static bool tbus_start(tbus *b, const char *name, bool refuse_monitoring)
{
    if (!b->socket) {
        b->socket = g_build_filename(dir, name, NULL);
        b->address = g_strdup_printf("unix:path=%s", b->socket);
    }
    char *conf = g_strdup_printf("%s.conf", b->socket);
    char *text =
        g_strdup_printf(conf_fmt, b->socket,
                        refuse_monitoring ? "<deny send_destination=\"org.freedesktop.DBus\" "
                                            "send_interface=\"org.freedesktop.DBus.Monitoring\"/>"
                                          : "");
    g_file_set_contents(conf, text, -1, NULL);
    char *arg = g_strdup_printf("--config-file=%s", conf);
    const char *argv[] = {"dbus-daemon", arg, "--nofork", NULL};
    g_unlink(b->socket);
    bool ok =
        g_spawn_async(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, &b->pid, NULL);
    if (ok)
        live[b - buses] = b->pid;
    for (int i = 0; ok && i < 500 && !g_file_test(b->socket, G_FILE_TEST_EXISTS); i++)
        g_usleep(10000);
    g_free(arg);
    g_free(text);
    g_free(conf);
    return ok && g_file_test(b->socket, G_FILE_TEST_EXISTS);
}

static void tbus_stop(tbus *b)
{
    if (!b->pid)
        return;
    kill(b->pid, SIGTERM);
    waitpid(b->pid, NULL, 0);
    live[b - buses] = 0;
    g_spawn_close_pid(b->pid);
    b->pid = 0;
}

static void tbus_free(tbus *b)
{
    tbus_stop(b);
    g_free(b->socket);
    g_free(b->address);
}

static GDBusConnection *peer_new(tbus *b)
{
    GError *err = NULL;
    GDBusConnection *c =
        g_dbus_connection_new_for_address_sync(b->address,
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, &err);
    if (!c) {
        fprintf(stderr, "peer: %s\n", err->message);
        g_error_free(err);
    }
    return c;
}

/* Notify with no daemon on the bus: the bus answers ServiceUnknown; the
 * call is captured all the same. */
static void peer_notify(GDBusConnection *c, const char *title, GVariant *hints)
{
    GVariantBuilder hb;
    g_variant_builder_init(&hb, G_VARIANT_TYPE("a{sv}"));
    if (hints)
        g_variant_builder_add(&hb, "{sv}", "image-data", hints);
    GVariant *r = g_dbus_connection_call_sync(
        c, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
        "org.freedesktop.Notifications", "Notify",
        g_variant_new("(susssasa{sv}i)", "Tester", 0, "", title, "body", NULL, &hb, -1), NULL,
        G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL, NULL);
    if (r)
        g_variant_unref(r);
}

static bmq_instance *create(const char *id, const char *json, char **err)
{
    json_object *cfg = json_tokener_parse(json);
    bmq_instance *i = bmq_instance_create(host, "capture", id, cfg, NULL, err);
    json_object_put(cfg);
    return i;
}

static char *with_bus(const char *json_tail, tbus *b)
{
    return g_strdup_printf("{\"bus\": \"%s\"%s}", b->address, json_tail);
}

static void test_refused(void)
{
    tbus *b = &buses[0];
    CHECK(tbus_start(b, "refusing", true));
    char *cfg = with_bus("", b), *err = NULL;
    bmq_instance *i = create("refused", cfg, &err);
    CHECK(i == NULL);
    fprintf(stderr, "   refused: %s\n", err);
    CHECK_CONTAINS(err, "refused monitoring");
    CHECK_CONTAINS(err, "org.freedesktop.DBus.Error.AccessDenied");
    g_free(err);
    g_free(cfg);
    tbus_free(b);

    /* No bus at all: named as such. */
    i = create("nobus", "{\"bus\": \"unix:path=/nonexistent/bus\"}", &err);
    CHECK(i == NULL);
    CHECK_CONTAINS(err, "cannot connect to the session bus at unix:path=/nonexistent/bus");
    g_free(err);
}

static int64_t counter(bmq_instance *i, const char *key)
{
    json_object *st = bmq_instance_status(i), *s = NULL, *v = NULL;
    int64_t n = -1;
    if (json_object_object_get_ex(st, "status", &s) && json_object_object_get_ex(s, key, &v))
        n = json_object_get_int64(v);
    json_object_put(st);
    return n;
}

static bool reconnected(void *i)
{
    return counter(i, "reconnects") >= 1;
}

static bool lost(void *data)
{
    return strstr(logs->str, "lost the session bus") != NULL;
}

static void test_reconnect(void)
{
    tbus *b = &buses[1];
    CHECK(tbus_start(b, "restarting", false));
    char *cfg = with_bus("", b), *err = NULL;
    bmq_instance *i = create("restart", cfg, &err);
    CHECK(i);
    GDBusConnection *c = peer_new(b);
    peer_notify(c, "Before the restart", NULL);
    CHECK(wait_until(title_seen, "Before the restart", 10000));
    json_object *m = find_title("Before the restart");
    /* No daemon: the bus's answer is the error (ServiceUnknown or
     * NameHasNoOwner, depending on auto-start). */
    CHECK(kw(m, "error") && !kw(m, "id"));
    g_object_unref(c);

    tbus_stop(b);
    CHECK(wait_until(lost, NULL, 10000));
    CHECK(tbus_start(b, "restarting", false));
    CHECK(wait_until(reconnected, i, 20000));
    c = peer_new(b);
    peer_notify(c, "After the restart", NULL);
    CHECK(wait_until(title_seen, "After the restart", 10000));
    g_object_unref(c);
    bmq_instance_destroy(i);
    g_free(cfg);
    tbus_free(b);
}

static GVariant *image(int w, int h, int stride)
{
    gsize len = (gsize)stride * (h - 1) + (gsize)w * 4;
    guchar *px = g_malloc(len);
    for (gsize k = 0; k < len; k++)
        px[k] = (guchar)(k * 7);
    GVariant *data = g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, px, len, 1);
    g_free(px);
    /* A stride that does not fit the width is what a hostile sender sends. */
    return g_variant_new("(iiibii@ay)", w, h, stride, TRUE, 8, 4, data);
}

static guint png_files(const char *path)
{
    guint n = 0;
    GDir *d = g_dir_open(path, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d)))
        n += g_str_has_suffix(name, ".png");
    if (d)
        g_dir_close(d);
    return n;
}

static void test_images(void)
{
    tbus *b = &buses[2];
    CHECK(tbus_start(b, "images", false));
    char *cfg = with_bus(", \"include_images\": true, \"images_keep\": 3", b), *err = NULL;
    /* A notification's pixels are private like its text: other users on
     * the machine must not read them, whatever the umask, and an images
     * directory left open by an earlier run or by hand is closed again. */
    mode_t old_umask = umask(022);
    char *pre = g_build_filename(dir, "instances", "pics", "images", NULL);
    CHECK(g_mkdir_with_parents(pre, 0755) == 0 && g_chmod(pre, 0755) == 0);
    bmq_instance *i = create("pics", cfg, &err);
    CHECK(i);
    GDBusConnection *c = peer_new(b);
    peer_notify(c, "Picture", image(8, 6, 32));
    CHECK(wait_until(title_seen, "Picture", 10000));
    const char *path = kw(find_title("Picture"), "image");
    CHECK(path);
    char *png = NULL;
    gsize len = 0;
    CHECK(g_file_get_contents(path, &png, &len, NULL));
    CHECK(len > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    g_free(png);
    char *images = g_path_get_dirname(path);
    GStatBuf st;
    CHECK(g_stat(path, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    CHECK(g_stat(images, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0700);
    CHECK_STR(images, pre);
    g_free(pre);
    umask(old_umask);

    /* The ring keeps the newest images_keep files. */
    for (int k = 0; k < 5; k++) {
        char *t = g_strdup_printf("Picture %d", k);
        peer_notify(c, t, image(4, 4, 16));
        CHECK(wait_until(title_seen, t, 10000));
        g_free(t);
    }
    CHECK_EQ(png_files(images), 3);

    /* A stride shorter than a row: refused, counted, the message still goes. */
    peer_notify(c, "Bad picture", image(8, 6, 8));
    CHECK(wait_until(title_seen, "Bad picture", 10000));
    CHECK(kw(find_title("Bad picture"), "image") == NULL);
    CHECK_EQ(counter(i, "image_errors"), 1);
    CHECK_EQ(counter(i, "images"), 6);

    /* Without include_images the pixels are neither written nor sent. */
    bmq_instance_destroy(i);
    g_free(cfg);
    cfg = with_bus("", b);
    i = create("nopics", cfg, &err);
    CHECK(i);
    peer_notify(c, "No picture", image(8, 6, 32));
    CHECK(wait_until(title_seen, "No picture", 10000));
    CHECK(kw(find_title("No picture"), "image") == NULL);
    CHECK_EQ(png_files(images), 3);
    bmq_instance_destroy(i);
    g_object_unref(c);
    g_free(images);
    g_free(cfg);
    tbus_free(b);
}

int main(void)
{
    char *daemon = g_find_program_in_path("dbus-daemon");
    if (!daemon) {
        fprintf(stderr, "skipped: dbus-daemon is not installed\n");
        return 77;
    }
    g_free(daemon);
    atexit(kill_buses);
    dir = g_dir_make_tmp("bmq-capbus-XXXXXX", NULL);
    got = g_ptr_array_new_with_free_func(put_json);
    logs = g_string_new(NULL);
    bus = bmq_bus_new();
    bmq_follower *f = bmq_follow(bus, "*:captured", record_cb, NULL, NULL);
    char *data = g_build_filename(dir, "instances", NULL);
    host = bmq_plugin_host_new(bus, NULL, data);
    bmq_plugin_host_set_log(host, log_cb, NULL);
    bmq_plugin_host_add_dir(host, g_getenv("BMQ_PLUGIN_BUILD_DIR"));

    RUN(test_refused);
    RUN(test_reconnect);
    RUN(test_images);

    bmq_plugin_host_free(host);
    bmq_unfollow(f);
    bmq_bus_free(bus);
    g_ptr_array_unref(got);
    g_string_free(logs, TRUE);
    char *argv[] = {"rm", "-rf", dir, NULL};
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(data);
    g_free(dir);
    return 0;
}
