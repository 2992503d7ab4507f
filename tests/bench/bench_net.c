/* bench_net.c - loopback throughput of the JSON-RPC links (not a ctest):
 *   (a) one send_message per HTTP request, keep-alive connection
 *   (b) style 02 forwarding in JSON-RPC batches of 100 and 1000
 *   (c) style 03 "get" round trips
 * and, when mosquitto and mosquitto_pub/sub are installed, the same messages
 * through a local MQTT broker (QoS 0) for comparison.
 * Usage: bench_net [messages [case]]   (default 200000; case: single, batch100,
 *        batch1000, get, mqtt; default all) */
#include <berrymq/net.h>

#include <glib.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t received;

static void on_msg(const bmq_message *m, void *ud)
{
    __atomic_add_fetch(&received, 1, __ATOMIC_RELAXED);
}

static double now_s(void)
{
    return (double)g_get_monotonic_time() / G_USEC_PER_SEC;
}

/* Process CPU seconds (user + system, all threads): unlike wall time it
 * does not depend on what else runs on the machine. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds of each thread of the process, from /proc (clock ticks). */
typedef struct {
    int tid;
    char comm[24];
    double cpu;
} thread_cpu;

static size_t threads_cpu(thread_cpu *out, size_t max)
{
    size_t n = 0;
    GDir *d = g_dir_open("/proc/self/task", 0, NULL);
    const char *name;
    while (d && n < max && (name = g_dir_read_name(d))) {
        char *path = g_strdup_printf("/proc/self/task/%s/stat", name);
        char *text = NULL;
        if (g_file_get_contents(path, &text, NULL, NULL)) {
            char *l = strchr(text, '('), *r = strrchr(text, ')');
            unsigned long ut = 0, st = 0;
            /* after the comm: state and 10 more fields, then utime stime */
            if (l && r && sscanf(r + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %lu", &ut,
                                 &st) == 2) {
                out[n].tid = atoi(name);
                g_strlcpy(out[n].comm, l + 1, MIN(sizeof out[n].comm, (size_t)(r - l)));
                out[n].cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
                n++;
            }
        }
        g_free(text);
        g_free(path);
    }
    if (d)
        g_dir_close(d);
    return n;
}

/* Print the CPU time per message of each kind of thread between two
 * snapshots: which stage of the pipeline is the busy one. */
static void print_threads(const thread_cpu *a, size_t na, const thread_cpu *b, size_t nb, long n)
{
    const char *seen[64];
    size_t ns = 0;
    printf("    cpu us/msg by thread:");
    for (size_t i = 0; i < nb; i++) {
        bool done = false;
        for (size_t k = 0; k < ns; k++)
            done = done || !strcmp(seen[k], b[i].comm);
        if (done || ns == G_N_ELEMENTS(seen))
            continue;
        seen[ns++] = b[i].comm;
        double sum = 0;
        for (size_t j = 0; j < nb; j++) {
            if (strcmp(b[j].comm, b[i].comm))
                continue;
            double before = 0;
            for (size_t k = 0; k < na; k++)
                if (a[k].tid == b[j].tid)
                    before = a[k].cpu;
            sum += b[j].cpu - before;
        }
        if (sum > 0)
            printf("  %s %.1f", b[i].comm, sum * 1e6 / n);
    }
    printf("\n");
}

static void twitter_one(bmq_bus *bus, long i)
{
    json_object *a = json_object_new_array_ext(2);
    json_object_array_add(a, json_object_new_string("berrymq"));
    json_object_array_add(a, json_object_new_int64(i));
    json_object *k = json_object_new_object();
    json_object_object_add(k, "status", json_object_new_string("ok"));
    bmq_twitter(bus, "build:done", a, k);
}

static void wait_received(uint64_t want)
{
    while (__atomic_load_n(&received, __ATOMIC_RELAXED) < want)
        g_usleep(200);
}

static void bench_single(bmq_bus *client, uint16_t port, long n)
{
    char *err = NULL;
    bmq_link *l = bmq_connect_oneway(client, "127.0.0.1", port, 0, NULL, &err);
    if (!l) {
        fprintf(stderr, "connect: %s\n", err);
        exit(1);
    }
    __atomic_store_n(&received, 0, __ATOMIC_RELAXED);
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < n; i++) {
        json_object *a = json_object_new_array();
        json_object_array_add(a, json_object_new_int64(i));
        if (bmq_send_message(l, "build:done", a, NULL) != 0) {
            fprintf(stderr, "send_message failed\n");
            exit(1);
        }
    }
    double dt = now_s() - t0, dc = cpu_s() - c0;
    printf("(a) send_message, one per request (keep-alive): %9.0f msgs/s  (%ld in %.2f s, "
           "cpu %.1f us/msg)\n",
           n / dt, n, dt, dc * 1e6 / n);
    bmq_close_connection(l);
}

static void bench_batch(bmq_bus *client, uint16_t port, unsigned batch, long n)
{
    char *err = NULL;
    bmq_link *l = bmq_connect_oneway(client, "127.0.0.1", port, 0, NULL, &err);
    if (!l) {
        fprintf(stderr, "connect: %s\n", err);
        exit(1);
    }
    bmq_link_set_batch(l, batch);
    __atomic_store_n(&received, 0, __ATOMIC_RELAXED);
    thread_cpu before[64], after[64];
    size_t nbefore = threads_cpu(before, G_N_ELEMENTS(before));
    double t0 = now_s(), c0 = cpu_s();
    const long round = 50000; /* stay under the per-link queue bound */
    for (long done = 0; done < n;) {
        long k = MIN(round, n - done);
        for (long i = 0; i < k; i++)
            twitter_one(client, done + i);
        done += k;
        bmq_link_flush(l, -1);
    }
    wait_received((uint64_t)n);
    double dt = now_s() - t0, dc = cpu_s() - c0;
    size_t nafter = threads_cpu(after, G_N_ELEMENTS(after));
    printf("(b) batches of %4u (style 02 link):            %9.0f msgs/s  (%ld in %.2f s, "
           "cpu %.1f us/msg)\n",
           batch, n / dt, n, dt, dc * 1e6 / n);
    print_threads(before, nbefore, after, nafter, n);
    bmq_close_connection(l);
}

static void bench_get(bmq_bus *server_bus, bmq_bus *client, uint16_t port, long n)
{
    char *err = NULL;
    bmq_link *q = bmq_connect_via_queue(client, "127.0.0.1", port, "job:*", 0, NULL, &err);
    if (!q) {
        fprintf(stderr, "connect: %s\n", err);
        exit(1);
    }
    for (long i = 0; i < n; i++)
        bmq_twitter_json(server_bus, "job:run", "[1]", NULL);
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < n; i++) {
        int e = 0;
        bmq_message *m = bmq_get(q, true, 1, &e);
        if (!m) {
            fprintf(stderr, "get failed: %s\n", bmq_strerror(e));
            exit(1);
        }
        bmq_message_unref(m);
    }
    double dt = now_s() - t0, dc = cpu_s() - c0;
    printf("(c) get round trips (style 03):                 %9.0f gets/s  (%ld in %.2f s, "
           "cpu %.1f us/get)\n",
           n / dt, n, dt, dc * 1e6 / n);
    bmq_close_connection(q);
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

/* The same messages through mosquitto: mosquitto_pub -l publishes one
 * message per stdin line; mosquitto_sub -C N exits after N messages. */
static void bench_mosquitto(long n)
{
    if (system("command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto") != 0 ||
        system("command -v mosquitto_pub >/dev/null 2>&1 && "
               "command -v mosquitto_sub >/dev/null 2>&1") != 0) {
        printf("(mqtt) mosquitto not installed: no broker comparison\n");
        return;
    }
    uint16_t port = free_port();
    char conf[] = "/tmp/bench_net_mqtt_XXXXXX";
    int fd = mkstemp(conf);
    char *text = g_strdup_printf("listener %u 127.0.0.1\nallow_anonymous true\n", port);
    if (write(fd, text, strlen(text)) < 0)
        return;
    close(fd);
    g_free(text);
    pid_t broker = fork();
    if (broker == 0) {
        execl("/bin/sh", "sh", "-c",
              "exec $(command -v mosquitto || echo /usr/sbin/mosquitto) -c \"$0\" >/dev/null 2>&1",
              conf, (char *)NULL);
        _exit(127);
    }
    g_usleep(300000);
    char *sub =
        g_strdup_printf("mosquitto_sub -h 127.0.0.1 -p %u -t bench -C %ld > /dev/null", port, n);
    pid_t subp = fork();
    if (subp == 0) {
        execl("/bin/sh", "sh", "-c", sub, (char *)NULL);
        _exit(127);
    }
    g_usleep(300000);
    char *pub = g_strdup_printf("mosquitto_pub -h 127.0.0.1 -p %u -t bench -q 0 -l", port);
    double t0 = now_s();
    FILE *p = popen(pub, "w");
    for (long i = 0; i < n; i++)
        fprintf(
            p,
            "{\"id\":\"build:done\",\"args\":[\"berrymq\",%ld],\"kwargs\":{\"status\":\"ok\"}}\n",
            i);
    pclose(p);
    int st = 0;
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    while (waitpid(subp, &st, WNOHANG) == 0 && g_get_monotonic_time() < deadline)
        g_usleep(1000);
    double dt = now_s() - t0;
    if (g_get_monotonic_time() >= deadline) {
        kill(subp, SIGKILL);
        waitpid(subp, NULL, 0);
        printf("(mqtt) mosquitto subscriber did not receive all %ld messages (QoS 0 drops)\n", n);
    } else {
        printf("(mqtt) mosquitto QoS 0, pub -> broker -> sub:   %9.0f msgs/s  (%ld in %.2f s)\n",
               n / dt, n, dt);
    }
    kill(broker, SIGTERM);
    waitpid(broker, NULL, 0);
    unlink(conf);
    g_free(sub);
    g_free(pub);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    signal(SIGPIPE, SIG_IGN);
    bmq_bus *server_bus = bmq_bus_new();
    uint16_t port = 0;
    if (bmq_init_connection(server_bus, "127.0.0.1", 0, &port) != 0)
        return 1;
    bmq_follower *f = bmq_follow(server_bus, "build:*", on_msg, NULL, NULL);
    bmq_bus *client = bmq_bus_new();
    double load[1] = {0};
    getloadavg(load, 1);
    printf("bench_net: %ld messages, loopback, server and client in one process "
           "(load average %.1f, %ld CPUs)\n",
           n, load[0], sysconf(_SC_NPROCESSORS_ONLN));
    const char *only = argc > 2 ? argv[2] : NULL;
#define WANT(name) (!only || strcmp(only, name) == 0)
    if (WANT("single"))
        bench_single(client, port, MIN(n, 20000));
    if (WANT("batch100"))
        bench_batch(client, port, 100, n);
    if (WANT("batch1000"))
        bench_batch(client, port, 1000, n);
    if (WANT("get"))
        bench_get(server_bus, client, port, MIN(n, 10000)); /* the queue holds 10000 */
    if (WANT("mqtt"))
        bench_mosquitto(n);
#undef WANT
    bmq_unfollow(f);
    bmq_server_stop(bmq_bus_server(server_bus));
    bmq_bus_free(server_bus);
    bmq_bus_free(client);
    return 0;
}
