/* mqtt_harness.c - see mqtt_harness.h. */
#include "mqtt_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define MOSQUITTO_BIN "/usr/sbin/mosquitto"

static void die(const char *what)
{
    fprintf(stderr, "harness: %s\n", what);
    exit(1);
}

void pump(int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (g_get_monotonic_time() < end) {
        while (g_main_context_iteration(NULL, FALSE))
            ;
        g_usleep(2000);
    }
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die("cannot find a free port");
    close(fd);
    return ntohs(a.sin_port);
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Spawned and reaped in the calling thread (not GSubprocess, whose child
 * watch runs on GLib's worker thread, where ThreadSanitizer cannot see
 * GLib's own hand-offs in the mqtt_tsan test). */
static void broker_launch(mqtt_broker *b)
{
    GError *err = NULL;
    char *argv[] = {MOSQUITTO_BIN, "-c", b->conf, NULL};
    if (!g_spawn_async(NULL, argv, NULL,
                       G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                           G_SPAWN_STDERR_TO_DEV_NULL,
                       NULL, NULL, &b->pid, &err))
        die(err->message);
    for (int i = 0; i < 500; i++) {
        if (port_open(b->port))
            return;
        if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
            b->pid = 0;
            break;
        }
        g_usleep(10000);
    }
    die("mosquitto did not start listening");
}

mqtt_broker *mqtt_broker_start(void)
{
    return mqtt_broker_start_with(NULL);
}

int mqtt_broker_pid(mqtt_broker *b)
{
    return b->pid;
}

mqtt_broker *mqtt_broker_start_with(const char *extra)
{
    if (access(MOSQUITTO_BIN, X_OK) != 0) {
        fprintf(stderr, "SKIP: %s is not installed\n", MOSQUITTO_BIN);
        exit(77);
    }
    mqtt_broker *b = g_new0(mqtt_broker, 1);
    b->dir = g_dir_make_tmp("bmq-mqtt-XXXXXX", NULL);
    if (b->dir == NULL)
        die("cannot make a temp dir");
    b->port = free_port();
    b->conf = g_build_filename(b->dir, "mosquitto.conf", NULL);
    /* "user": run as ourselves (as root mosquitto would switch to its own
     * user, which cannot write the log into our private temp dir). */
    const char *types =
        g_getenv("BMQ_TEST_VERBOSE") ? "log_type all\n" : "log_type error\nlog_type warning\n";
    char *text = g_strdup_printf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                                 "user %s\nlog_dest file %s/broker.log\n%s%s",
                                 b->port, g_get_user_name(), b->dir, types, extra ? extra : "");
    if (!g_file_set_contents(b->conf, text, -1, NULL))
        die("cannot write mosquitto.conf");
    g_free(text);
    broker_launch(b);
    return b;
}

void mqtt_broker_stop(mqtt_broker *b)
{
    if (b->pid == 0)
        return;
    kill(b->pid, SIGTERM);
    while (waitpid(b->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    b->pid = 0;
}

void mqtt_broker_restart(mqtt_broker *b)
{
    mqtt_broker_stop(b);
    broker_launch(b);
}

void mqtt_broker_free(mqtt_broker *b)
{
    mqtt_broker_stop(b);
    char *log = g_build_filename(b->dir, "broker.log", NULL);
    if (g_getenv("BMQ_TEST_VERBOSE")) {
        fprintf(stderr, "broker log kept in %s\n", log);
    } else {
        g_unlink(log);
        g_unlink(b->conf);
        g_rmdir(b->dir);
    }
    g_free(log);
    g_free(b->conf);
    g_free(b->dir);
    g_free(b);
}

char *mqtt_broker_url(mqtt_broker *b)
{
    return g_strdup_printf("mqtt://127.0.0.1:%d", b->port);
}

/* ---- hubs ---- */

static void hub_log(int level, const char *instance_id, const char *line, void *data)
{
    if (level <= BMQ_LOG_WARNING || g_getenv("BMQ_TEST_VERBOSE"))
        fprintf(stderr, "[%s/%s] %s\n", (const char *)data, instance_id ? instance_id : "-", line);
}

test_hub *test_hub_new(const char *node_id, const char *config_json)
{
    test_hub *h = g_new0(test_hub, 1);
    h->node_id = g_strdup(node_id);
    h->bus = bmq_bus_new();
    h->data_root = g_dir_make_tmp("bmq-mqtt-data-XXXXXX", NULL);
    h->host = bmq_plugin_host_new(h->bus, NULL, h->data_root);
    bmq_plugin_host_set_log(h->host, hub_log, h->node_id);
    bmq_plugin_host_set_node_id(h->host, node_id);
    const char *dir = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    bmq_plugin_host_add_dir(h->host, dir ? dir : "plugins");
    json_object *cfg = json_tokener_parse(config_json);
    if (cfg == NULL)
        die("bad test config JSON");
    char *error = NULL;
    h->inst = bmq_instance_create(h->host, "mqtt", "mq", cfg, NULL, &error);
    json_object_put(cfg);
    if (h->inst == NULL) {
        fprintf(stderr, "instance create failed: %s\n", error ? error : "?");
        g_free(error);
        test_hub_free(h);
        return NULL;
    }
    return h;
}

void test_hub_free(test_hub *h)
{
    if (h == NULL)
        return;
    bmq_plugin_host_free(h->host);
    bmq_bus_free(h->bus);
    if (h->data_root != NULL) {
        char *argv[] = {"rm", "-rf", h->data_root, NULL};
        g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
        g_free(h->data_root);
    }
    g_free(h->node_id);
    g_free(h);
}

long long test_hub_stat(test_hub *h, const char *key)
{
    json_object *st = bmq_instance_status(h->inst), *ps, *v;
    long long r = -1;
    if (json_object_object_get_ex(st, "status", &ps) && json_object_object_get_ex(ps, key, &v))
        r = json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v)
                                                      : json_object_get_int64(v);
    json_object_put(st);
    return r;
}

bool test_hub_wait_stat(test_hub *h, const char *key, long long value, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * MQTT_SLOW * 1000;
    while (g_get_monotonic_time() < end) {
        if (test_hub_stat(h, key) == value)
            return true;
        pump(5);
    }
    return test_hub_stat(h, key) == value;
}

/* ---- collectors ---- */

struct collector {
    GMutex lock;
    GPtrArray *lines;
    bmq_follower *f;
};

static void collect(const bmq_message *m, void *data)
{
    collector *c = data;
    char *line = g_strdup_printf(
        "%s %s", bmq_message_id(m),
        json_object_to_json_string_ext(bmq_message_args(m), JSON_C_TO_STRING_PLAIN));
    g_mutex_lock(&c->lock);
    g_ptr_array_add(c->lines, line);
    g_mutex_unlock(&c->lock);
}

collector *collector_new(bmq_bus *bus, const char *pattern)
{
    collector *c = g_new0(collector, 1);
    g_mutex_init(&c->lock);
    c->lines = g_ptr_array_new_with_free_func(g_free);
    c->f = bmq_follow(bus, pattern, collect, NULL, c);
    if (c->f == NULL)
        die("collector: bad pattern");
    return c;
}

void collector_free(collector *c)
{
    bmq_unfollow(c->f);
    g_ptr_array_free(c->lines, TRUE);
    g_mutex_clear(&c->lock);
    g_free(c);
}

unsigned collector_count(collector *c)
{
    g_mutex_lock(&c->lock);
    unsigned n = c->lines->len;
    g_mutex_unlock(&c->lock);
    return n;
}

char *collector_line(collector *c, unsigned i)
{
    g_mutex_lock(&c->lock);
    char *s = i < c->lines->len ? g_strdup(g_ptr_array_index(c->lines, i)) : NULL;
    g_mutex_unlock(&c->lock);
    return s;
}

bool collector_wait(collector *c, unsigned n, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * MQTT_SLOW * 1000;
    while (collector_count(c) < n && g_get_monotonic_time() < end)
        pump(5);
    return collector_count(c) >= n;
}

unsigned collector_find(collector *c, const char *line)
{
    unsigned n = 0;
    g_mutex_lock(&c->lock);
    for (guint i = 0; i < c->lines->len; i++)
        n += strcmp(g_ptr_array_index(c->lines, i), line) == 0;
    g_mutex_unlock(&c->lock);
    return n;
}

bool collector_wait_line(collector *c, const char *line, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * MQTT_SLOW * 1000;
    while (collector_find(c, line) == 0 && g_get_monotonic_time() < end)
        pump(5);
    return collector_find(c, line) > 0;
}

/* ---- command-line clients ---- */

mqtt_sub *mqtt_sub_start(mqtt_broker *b, const char *topic)
{
    static int probes;
    mqtt_sub *s = g_new0(mqtt_sub, 1);
    s->path = g_strdup_printf("%s/sub-%d.out", b->dir, ++probes);
    char *probe = g_strdup_printf("harness/probe/%d", probes);
    char *port = g_strdup_printf("%d", b->port);
    GSubprocessLauncher *l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_SILENCE);
    g_subprocess_launcher_set_stdout_file_path(l, s->path);
    GError *err = NULL;
    s->proc = g_subprocess_launcher_spawn(l, &err, "mosquitto_sub", "-h", "127.0.0.1", "-p", port,
                                          "-v", "-t", topic, "-t", probe, NULL);
    g_object_unref(l);
    if (s->proc == NULL)
        die(err->message);
    /* Subscribed once a probe published after the start comes back. */
    bool ready = false;
    for (int i = 0; i < 100 && !ready; i++) {
        mqtt_pub(b, probe, "ready", 0);
        ready = mqtt_sub_wait_for(s, "ready", 100);
    }
    if (!ready)
        die("mosquitto_sub did not subscribe");
    g_free(probe);
    g_free(port);
    return s;
}

char *mqtt_sub_output(mqtt_sub *s)
{
    char *text = NULL;
    if (!g_file_get_contents(s->path, &text, NULL, NULL))
        return g_strdup("");
    return text;
}

bool mqtt_sub_wait_for(mqtt_sub *s, const char *needle, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * MQTT_SLOW * 1000;
    do {
        char *t = mqtt_sub_output(s);
        bool found = strstr(t, needle) != NULL;
        g_free(t);
        if (found)
            return true;
        pump(10);
    } while (g_get_monotonic_time() < end);
    return false;
}

void mqtt_sub_free(mqtt_sub *s)
{
    g_subprocess_send_signal(s->proc, SIGTERM);
    g_subprocess_wait(s->proc, NULL, NULL);
    g_object_unref(s->proc);
    g_unlink(s->path);
    g_free(s->path);
    g_free(s);
}

bool mqtt_pub(mqtt_broker *b, const char *topic, const char *payload, int qos)
{
    char *port = g_strdup_printf("%d", b->port);
    char *q = g_strdup_printf("%d", qos);
    GError *err = NULL;
    GSubprocess *p =
        g_subprocess_new(G_SUBPROCESS_FLAGS_STDERR_SILENCE, &err, "mosquitto_pub", "-h",
                         "127.0.0.1", "-p", port, "-q", q, "-t", topic, "-m", payload, NULL);
    bool ok = p != NULL && g_subprocess_wait_check(p, NULL, NULL);
    if (p != NULL)
        g_object_unref(p);
    g_clear_error(&err);
    g_free(port);
    g_free(q);
    return ok;
}
