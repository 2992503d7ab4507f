/* mqtt_hub.c - three real berrymq-hub processes joined by their mqtt
 * plugin instances through one mosquitto broker, driven by the berrymq
 * CLI: a message sent to one hub is printed once by `berrymq listen` on
 * each other hub, and messages sent while the broker restarts arrive after
 * it is back. */
#include "mqtt_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

enum { NHUBS = 3 };

typedef struct real_hub {
    char *dir;
    char *addr; /* 127.0.0.1:PORT */
    GSubprocess *proc;
    GSubprocess *listener;
    char *listen_out;
} real_hub;

static const char *build_dir;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        exit(1);
    close(fd);
    return ntohs(a.sin_port);
}

static char *path_in(const char *dir, const char *name)
{
    return g_build_filename(dir, name, NULL);
}

/* Run `berrymq --hub ADDR ARGS...`; stdout (g_free) or NULL on failure. */
static char *cli(real_hub *h, const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, g_build_filename(build_dir, "app", "cli", "berrymq", NULL));
    g_ptr_array_add(argv, g_strdup("--hub"));
    g_ptr_array_add(argv, g_strdup(h->addr));
    for (int i = 0; args[i]; i++)
        g_ptr_array_add(argv, g_strdup(args[i]));
    g_ptr_array_add(argv, NULL);
    GError *err = NULL;
    GSubprocess *p =
        g_subprocess_newv((const char *const *)argv->pdata,
                          G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &err);
    g_ptr_array_free(argv, TRUE);
    char *out = NULL;
    if (p == NULL) {
        g_clear_error(&err);
        return NULL;
    }
    bool ok = g_subprocess_communicate_utf8(p, NULL, NULL, &out, NULL, NULL) &&
              g_subprocess_get_if_exited(p) && g_subprocess_get_exit_status(p) == 0;
    g_object_unref(p);
    if (!ok) {
        g_free(out);
        return NULL;
    }
    return out;
}

static bool hub_send(real_hub *h, const char *id, const char *arg)
{
    const char *args[] = {"twitter", id, arg, NULL};
    char *out = cli(h, args);
    g_free(out);
    return out != NULL;
}

static bool hub_connected(real_hub *h)
{
    const char *args[] = {"status", "--json", NULL};
    char *out = cli(h, args);
    bool ok = out && (strstr(out, "\"connected\":true") || strstr(out, "\"connected\": true"));
    g_free(out);
    return ok;
}

static void hub_start(real_hub *h, int n, mqtt_broker *b)
{
    h->dir = g_dir_make_tmp("bmq-mqtt-hub-XXXXXX", NULL);
    h->addr = g_strdup_printf("127.0.0.1:%d", free_port());
    char *url = mqtt_broker_url(b);
    char *cfg = g_strdup_printf(
        "{\"listen\":\"%s\",\"plugins\":[{\"plugin\":\"mqtt\",\"id\":\"mq\",\"config\":"
        "{\"broker\":\"%s\",\"hub_id\":\"hub%d\",\"qos\":1,\"reconnect_min\":1,"
        "\"reconnect_max\":2}}]}",
        h->addr, url, n);
    char *cfg_path = path_in(h->dir, "hub.json");
    g_file_set_contents(cfg_path, cfg, -1, NULL);
    GSubprocessLauncher *l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_SILENCE);
    const char *vars[] = {"HOME",
                          "XDG_RUNTIME_DIR",
                          "XDG_CONFIG_HOME",
                          "XDG_DATA_HOME",
                          "XDG_STATE_HOME",
                          "XDG_CACHE_HOME",
                          NULL};
    for (int i = 0; vars[i]; i++)
        g_subprocess_launcher_setenv(l, vars[i], h->dir, TRUE);
    g_subprocess_launcher_unsetenv(l, "DISPLAY");
    g_subprocess_launcher_unsetenv(l, "WAYLAND_DISPLAY");
    char *exe = g_build_filename(build_dir, "app", "hub", "berrymq-hub", NULL);
    const char *pdir = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    GError *err = NULL;
    h->proc = g_subprocess_launcher_spawn(l, &err, exe, "--config", cfg_path, "--no-tray",
                                          "--plugin-dir", pdir ? pdir : "plugins", NULL);
    if (h->proc == NULL) {
        fprintf(stderr, "cannot start berrymq-hub: %s\n", err->message);
        exit(1);
    }
    g_object_unref(l);
    g_free(exe);
    g_free(cfg_path);
    g_free(cfg);
    g_free(url);
}

static void listener_start(real_hub *h)
{
    h->listen_out = path_in(h->dir, "listen.out");
    GSubprocessLauncher *l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_SILENCE);
    g_subprocess_launcher_set_stdout_file_path(l, h->listen_out);
    char *exe = g_build_filename(build_dir, "app", "cli", "berrymq", NULL);
    GError *err = NULL;
    h->listener =
        g_subprocess_launcher_spawn(l, &err, exe, "--hub", h->addr, "listen", "*:*", NULL);
    g_object_unref(l);
    g_free(exe);
    if (h->listener == NULL)
        exit(1);
}

static unsigned count_in(const char *path, const char *needle)
{
    char *text = NULL;
    unsigned n = 0;
    if (g_file_get_contents(path, &text, NULL, NULL))
        for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
            n++;
    g_free(text);
    return n;
}

static bool wait_count(real_hub *h, const char *needle, unsigned n, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * MQTT_SLOW * 1000;
    while (count_in(h->listen_out, needle) < n && g_get_monotonic_time() < end)
        g_usleep(20000);
    return count_in(h->listen_out, needle) >= n;
}

static void hub_stop(real_hub *h)
{
    if (h->listener) {
        g_subprocess_send_signal(h->listener, SIGTERM);
        g_subprocess_wait(h->listener, NULL, NULL);
        g_object_unref(h->listener);
    }
    g_subprocess_send_signal(h->proc, SIGTERM);
    EXPECT(g_subprocess_wait(h->proc, NULL, NULL) && g_subprocess_get_if_exited(h->proc) &&
           g_subprocess_get_exit_status(h->proc) == 0);
    g_object_unref(h->proc);
    char *argv[] = {"rm", "-rf", h->dir, NULL};
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(h->listen_out);
    g_free(h->addr);
    g_free(h->dir);
}

int main(void)
{
    build_dir = g_getenv("BMQ_BUILD_DIR");
    char *hub_exe =
        g_build_filename(build_dir ? build_dir : ".", "app", "hub", "berrymq-hub", NULL);
    if (build_dir == NULL || access(hub_exe, X_OK) != 0) {
        fprintf(stderr, "SKIP: %s not built\n", hub_exe);
        g_free(hub_exe);
        return 77;
    }
    g_free(hub_exe);
    mqtt_broker *b = mqtt_broker_start();
    real_hub hubs[NHUBS] = {0};
    for (int i = 0; i < NHUBS; i++)
        hub_start(&hubs[i], i, b);
    for (int i = 0; i < NHUBS; i++) {
        bool up = false;
        for (int t = 0; t < 100 * MQTT_SLOW && !up; t++) {
            up = hub_connected(&hubs[i]);
            if (!up)
                g_usleep(50000);
        }
        EXPECT(up);
        listener_start(&hubs[i]);
    }
    /* The listeners are ready once a probe through the broker reaches all. */
    bool ready = false;
    for (int t = 0; t < 50 && !ready; t++) {
        hub_send(&hubs[0], "probe:x", "p");
        ready = wait_count(&hubs[1], "\"probe:x\"", 1, 100) &&
                wait_count(&hubs[2], "\"probe:x\"", 1, 100) &&
                wait_count(&hubs[0], "\"probe:x\"", 1, 100);
    }
    EXPECT(ready);

    /* Each hub sends; every hub prints each message exactly once. */
    EXPECT(hub_send(&hubs[0], "relay:from0", "a"));
    EXPECT(hub_send(&hubs[1], "relay:from1", "b"));
    EXPECT(hub_send(&hubs[2], "relay:from2", "c"));
    for (int i = 0; i < NHUBS; i++)
        for (int j = 0; j < NHUBS; j++) {
            char id[32];
            g_snprintf(id, sizeof id, "\"relay:from%d\"", j);
            EXPECT(wait_count(&hubs[i], id, 1, 5000));
        }

    /* The broker restarts mid-stream: nothing sent meanwhile is lost. */
    mqtt_broker_stop(b);
    g_usleep(200000);
    for (int k = 0; k < 5; k++) {
        char arg[8];
        g_snprintf(arg, sizeof arg, "%d", k);
        EXPECT(hub_send(&hubs[0], "relay:down", arg));
    }
    mqtt_broker_restart(b);
    for (int i = 1; i < NHUBS; i++)
        EXPECT(wait_count(&hubs[i], "\"relay:down\"", 5, 10000));
    EXPECT(hub_send(&hubs[2], "relay:after", "z"));
    for (int i = 0; i < NHUBS; i++)
        EXPECT(wait_count(&hubs[i], "\"relay:after\"", 1, 5000));
    g_usleep(300000 * MQTT_SLOW);
    for (int i = 0; i < NHUBS; i++) {
        for (int j = 0; j < NHUBS; j++) {
            char id[32];
            g_snprintf(id, sizeof id, "\"relay:from%d\"", j);
            EXPECT_EQ(count_in(hubs[i].listen_out, id), 1);
        }
        EXPECT_EQ(count_in(hubs[i].listen_out, "\"relay:down\""), 5);
        EXPECT_EQ(count_in(hubs[i].listen_out, "\"relay:after\""), 1);
    }
    for (int i = 0; i < NHUBS; i++)
        hub_stop(&hubs[i]);
    mqtt_broker_free(b);
    return check_result();
}
