/* bench_capture.c - what one captured Notify costs the hub process.
 *
 * A private dbus-daemon, no notification daemon (the bus answers each call
 * with an error, which the plugin pairs with its call like a reply). A
 * child process sends N Notify calls as a chatty program would (pipelined,
 * libnotify-sized bodies); this process runs the capture plugin in-process
 * and one follower of "*:captured". Printed: wall time from the first call
 * to the last message, CPU time of this whole process per captured Notify
 * (the GDBus worker that parses and pairs, the main thread that builds and
 * sends the message), and the parsing core alone per body.
 *
 * Usage: bench_capture [NOTIFICATIONS]   (default 20000). Built, not run by
 * ctest. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <berrymq/host.h>

#include "capture.h"

static double now_s(void)
{
    return (double)g_get_monotonic_time() / 1e6;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static GVariant *body(int i)
{
    GVariantBuilder h;
    g_variant_builder_init(&h, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&h, "{sv}", "urgency", g_variant_new_byte(1));
    g_variant_builder_add(&h, "{sv}", "category", g_variant_new_string("email.arrived"));
    g_variant_builder_add(&h, "{sv}", "desktop-entry", g_variant_new_string("mailer"));
    g_variant_builder_add(&h, "{sv}", "sender-pid", g_variant_new_int64(4242));
    const char *acts[] = {"default", "Open", "reply", "Reply", NULL};
    char title[64];
    g_snprintf(title, sizeof title, "New mail %d", i);
    return g_variant_new("(susss^asa{sv}i)", "Mail", 0, "mail-unread", title,
                         "from bob: the minutes of Tuesday's meeting are attached", acts, &h, -1);
}

static int pending_calls;

static void done_cb(GObject *src, GAsyncResult *res, gpointer data)
{
    GVariant *r = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, NULL);
    if (r)
        g_variant_unref(r);
    pending_calls--;
}

/* The child: N calls, at most 256 in flight. */
static void sender(const char *address, int n, int go_fd)
{
    char c;
    if (read(go_fd, &c, 1) != 1)
        _exit(1);
    GDBusConnection *conn =
        g_dbus_connection_new_for_address_sync(address,
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, NULL);
    if (!conn)
        _exit(1);
    for (int i = 0; i < n; i++) {
        while (pending_calls >= 256)
            g_main_context_iteration(NULL, TRUE);
        pending_calls++;
        g_dbus_connection_call(conn, "org.freedesktop.Notifications",
                               "/org/freedesktop/Notifications", "org.freedesktop.Notifications",
                               "Notify", body(i), NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL,
                               done_cb, NULL);
    }
    while (pending_calls > 0)
        g_main_context_iteration(NULL, TRUE);
    _exit(0);
}

static volatile int captured;

static void on_captured(const bmq_message *m, void *ud)
{
    captured++;
}

static void parse_only(int n)
{
    GVariant *b = g_variant_ref_sink(body(1));
    /* As received: serialized, like a message body off the wire. */
    GVariant *wire = g_variant_new_from_bytes(G_VARIANT_TYPE("(susssasa{sv}i)"),
                                              g_variant_get_data_as_bytes(b), FALSE);
    g_variant_ref_sink(wire);
    cap_config cfg;
    char *err = NULL;
    capture__config_read(NULL, &cfg, &err);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        cap_note *note = capture__note_parse(wire, false);
        capture__verdict(&cfg, note);
        json_object *kw = capture__note_kwargs(note, &cfg, 7, NULL);
        json_object_put(kw);
        capture__note_free(note);
    }
    double t = now_s() - t0;
    printf("parse core: %.2f us per Notify body (parse, verdict, kwargs), %d bodies\n", t / n * 1e6,
           n);
    capture__config_clear(&cfg);
    g_variant_unref(wire);
    g_variant_unref(b);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    char *dir = g_dir_make_tmp("bmq-capbench-XXXXXX", NULL);
    char *sock = g_build_filename(dir, "bus", NULL);
    char *conf = g_build_filename(dir, "bus.conf", NULL);
    char *text = g_strdup_printf(
        "<busconfig><type>session</type><listen>unix:path=%s</listen><auth>EXTERNAL</auth>"
        "<limit name=\"max_replies_per_connection\">100000</limit>"
        "<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>"
        "<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>",
        sock);
    g_file_set_contents(conf, text, -1, NULL);
    char *arg = g_strdup_printf("--config-file=%s", conf);
    char *address = g_strdup_printf("unix:path=%s", sock);
    const char *dargv[] = {"dbus-daemon", arg, "--nofork", NULL};
    GPid daemon;
    if (!g_spawn_async(NULL, (char **)dargv, NULL,
                       G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL,
                       NULL, NULL, &daemon, NULL)) {
        fprintf(stderr, "cannot start dbus-daemon\n");
        return 1;
    }
    for (int i = 0; i < 500 && !g_file_test(sock, G_FILE_TEST_EXISTS); i++)
        g_usleep(10000);

    int go[2];
    if (pipe(go) != 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        close(go[1]);
        sender(address, n, go[0]);
    }
    close(go[0]);

    bmq_bus *bus = bmq_bus_new();
    bmq_follower *f = bmq_follow(bus, "*:captured", on_captured, NULL, NULL);
    char *data = g_build_filename(dir, "instances", NULL);
    bmq_plugin_host *host = bmq_plugin_host_new(bus, NULL, data);
    const char *pd = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    bmq_plugin_host_add_dir(host, pd ? pd : BMQ_BENCH_PLUGIN_DIR);
    char *cfg_text = g_strdup_printf("{\"bus\": \"%s\", \"backlog\": 1000000}", address);
    json_object *cfg = json_tokener_parse(cfg_text);
    char *err = NULL;
    bmq_instance *inst = bmq_instance_create(host, "capture", "capture", cfg, NULL, &err);
    json_object_put(cfg);
    if (!inst) {
        fprintf(stderr, "capture: %s\n", err);
        return 1;
    }

    double c0 = cpu_s(), t0 = now_s();
    if (write(go[1], "g", 1) != 1)
        return 1;
    /* Blocking iterations: waiting costs no CPU (a 2 s pending-check timer
     * bounds each wait). */
    while (captured < n && now_s() - t0 < 120)
        g_main_context_iteration(NULL, TRUE);
    double wall = now_s() - t0, cpu = cpu_s() - c0;
    printf("capture: %d of %d Notify calls captured in %.3f s (%.0f/s); hub process CPU "
           "%.2f us per captured Notify\n",
           captured, n, wall, captured / wall, cpu / (captured ? captured : 1) * 1e6);
    waitpid(child, NULL, 0);
    bmq_instance_destroy(inst);
    bmq_plugin_host_free(host);
    bmq_unfollow(f);
    bmq_bus_free(bus);
    parse_only(n * 5);
    kill(daemon, SIGTERM);
    waitpid(daemon, NULL, 0);
    char *rm[] = {"rm", "-rf", dir, NULL};
    g_spawn_sync(NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    return captured == n ? 0 : 1;
}
