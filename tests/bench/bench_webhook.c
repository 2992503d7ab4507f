/* bench_webhook.c - messages per second the webhook plugin delivers to a
 * local keep-alive HTTP server, against `curl` run once per message in a
 * loop (what a shell script calling curl would do), in the same run and
 * against the same server.
 *
 * Usage: bench_webhook [MESSAGES] [CURL_RUNS]   (defaults 20000, 300)
 * Run from the build tree (the plugin is found in ./plugins or through
 * BMQ_PLUGIN_BUILD_DIR). Prints one line per case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <berrymq/host.h>

#include "http_server.h"

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

/* CPU seconds of this process's threads named @comm (the plugin's sender
 * thread is "webhook"), from /proc. */
static double thread_cpu_s(const char *comm)
{
    double total = 0;
    GDir *d = g_dir_open("/proc/self/task", 0, NULL);
    const char *tid;
    while (d && (tid = g_dir_read_name(d))) {
        char *p = g_strdup_printf("/proc/self/task/%s/comm", tid), *name = NULL;
        bool match = g_file_get_contents(p, &name, NULL, NULL) && g_str_has_prefix(name, comm);
        g_free(p);
        g_free(name);
        char *stat = NULL;
        p = g_strdup_printf("/proc/self/task/%s/stat", tid);
        if (match && g_file_get_contents(p, &stat, NULL, NULL)) {
            /* after "(comm)": state is field 3, utime 14, stime 15 */
            const char *r = strrchr(stat, ')');
            char **f = g_strsplit(r ? r + 2 : "", " ", 0);
            if (g_strv_length(f) > 12)
                total += (double)(g_ascii_strtoull(f[11], NULL, 10) +
                                  g_ascii_strtoull(f[12], NULL, 10)) /
                         (double)sysconf(_SC_CLK_TCK);
            g_strfreev(f);
        }
        g_free(stat);
        g_free(p);
    }
    if (d)
        g_dir_close(d);
    return total;
}

static json_object *plugin_status(bmq_instance *in, const char *key)
{
    json_object *st = bmq_instance_status(in), *s, *v = NULL;
    if (json_object_object_get_ex(st, "status", &s) && json_object_object_get_ex(s, key, &v))
        v = json_object_get(v);
    json_object_put(st);
    return v;
}

/* The plugin in-process: @n messages, timed from the first twitter until
 * the server has received the last one. */
static void run_plugin(bmq_plugin_host *host, bmq_bus *bus, hs_server *s, const char *format, int n)
{
    guint before = hs_count(s), conns = hs_connections(s);
    char *cfg_text = g_strdup_printf("{\"url\": \"http://127.0.0.1:%d/bench\", \"format\": \"%s\","
                                     " \"filter\": \"bench:*\", \"queue\": %d}",
                                     hs_port(s), format, n + 16);
    json_object *cfg = json_tokener_parse(cfg_text);
    char *err = NULL;
    bmq_instance *in = bmq_instance_create(host, "webhook", format, cfg, NULL, &err);
    json_object_put(cfg);
    g_free(cfg_text);
    if (!in) {
        fprintf(stderr, "cannot create the webhook instance: %s\n", err);
        exit(1);
    }
    double t0 = now_s(), c0 = cpu_s(), w0 = thread_cpu_s("webhook");
    for (int i = 0; i < n; i++)
        bmq_twitter_json(bus, "bench:notify", "[\"disk at 91%\", 42]",
                         "{\"title\": \"Backup\", \"body\": \"done in 3 s\", \"urgency\": "
                         "\"low\"}");
    double t_sent = now_s();
    if (!hs_wait_count(s, before + (guint)n, 600)) {
        fprintf(stderr, "only %u of %d requests arrived\n", hs_count(s) - before, n);
        exit(1);
    }
    double t1 = now_s(), c1 = cpu_s(), w1 = thread_cpu_s("webhook");
    json_object *sent = plugin_status(in, "sent");
    printf("webhook plugin (%-6s) %7d msgs  %8.0f msgs/s  twitter %6.2f us/msg  sender thread "
           "CPU %5.1f us/msg  process CPU %5.1f us/msg (server included)  %u connection%s  "
           "sent %s\n",
           format, n, n / (t1 - t0), (t_sent - t0) * 1e6 / n, (w1 - w0) * 1e6 / n,
           (c1 - c0) * 1e6 / n, hs_connections(s) - conns,
           hs_connections(s) - conns == 1 ? "" : "s", json_object_get_string(sent));
    json_object_put(sent);
    bmq_instance_destroy(in);
}

/* curl, one process per message, posting the json body the plugin would. */
static void run_curl(hs_server *s, int runs)
{
    char *curl = g_find_program_in_path("curl");
    if (!curl) {
        printf("curl loop: curl is not installed\n");
        return;
    }
    char *url = g_strdup_printf("http://127.0.0.1:%d/bench", hs_port(s));
    const char *body = "{\"id\":\"bench:notify\",\"name\":\"bench\",\"action\":\"notify\","
                       "\"args\":[\"disk at 91%\",42],\"kwargs\":{\"title\":\"Backup\","
                       "\"body\":\"done in 3 s\",\"urgency\":\"low\"},\"time\":1.000,"
                       "\"hub\":\"bench\"}";
    const char *argv[] = {
        curl, "-s", "-o", "/dev/null", "-H", "Content-Type: application/json", "--data-binary",
        body, url,  NULL};
    guint before = hs_count(s);
    double t0 = now_s();
    for (int i = 0; i < runs; i++) {
        int status = 0;
        if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                          &status, NULL) ||
            !g_spawn_check_wait_status(status, NULL)) {
            fprintf(stderr, "curl failed\n");
            exit(1);
        }
    }
    double t1 = now_s();
    printf("curl in a loop          %7d msgs  %8.0f msgs/s  (%u requests arrived)\n", runs,
           runs / (t1 - t0), hs_count(s) - before);
    g_free(url);
    g_free(curl);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    int runs = argc > 2 ? atoi(argv[2]) : 300;
    if (n < 1 || runs < 1) {
        fprintf(stderr, "usage: bench_webhook [MESSAGES] [CURL_RUNS]\n");
        return 1;
    }
    hs_server *s = hs_start(0, NULL, NULL);
    if (!s)
        return 1;
    bmq_bus *bus = bmq_bus_new();
    char *root = g_dir_make_tmp("bmq-bench-webhook-XXXXXX", NULL);
    bmq_plugin_host *host = bmq_plugin_host_new(bus, NULL, root);
    const char *dir = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    bmq_plugin_host_add_dir(host, dir ? dir : "plugins");
    bmq_plugin_host_add_default_dirs(host);

    printf("# bench_webhook: %d messages through the plugin, %d curl runs, same server "
           "(libmicrohttpd, keep-alive, loopback)\n",
           n, runs);
    run_plugin(host, bus, s, "json", n);
    run_plugin(host, bus, s, "ntfy", n);
    run_curl(s, runs);

    bmq_plugin_host_free(host);
    bmq_bus_free(bus);
    hs_stop(s);
    g_rmdir(root);
    g_free(root);
    return 0;
}
