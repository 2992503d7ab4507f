/* bench_history.c - what the message history costs.
 *
 *   bench_history [MESSAGES] [CLI_RUNS]     (defaults 200000, 200)
 *
 * Starts berrymq-hub three times in a temporary HOME: "history": false,
 * history with sync "normal" (the default) and with sync "full". For each:
 *   - ingestion: 4 client connections post JSON-RPC batches of 256
 *     hub.twitter calls (a notification-like message: id, 2 args, 3 kwargs)
 *     and wait for each answer, which with history on means "stored";
 *     messages/s over MESSAGES;
 *   - latency: 200 runs of `berrymq twitter bench:one I` (spawn to exit),
 *     median and p99;
 *   - size: database pages in use per million messages (hub.status).
 * Prints the figures and the throughput of each history setting as a
 * share of the run without history.
 */
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "hub_harness.h"
#include "rpc_post.h"

#define CONNS 4
#define BATCH 256
#define RUNS_DEFAULT 200

static int cli_runs = RUNS_DEFAULT;

extern char **environ;

typedef struct worker {
    const char *listen;
    int first, n;
    GThread *t;
} worker;

static gpointer worker_main(gpointer data)
{
    worker *w = data;
    rp_conn *c = rp_connect(w->listen);
    GString *body = g_string_new(NULL);
    for (int k = w->first; c && k < w->first + w->n;) {
        g_string_assign(body, "[");
        for (int i = 0; i < BATCH && k < w->first + w->n; i++, k++)
            g_string_append_printf(
                body,
                "%s{\"id\":%d,\"method\":\"hub.twitter\",\"params\":[\"ci:notify\",[%d,\"main\"],"
                "{\"title\":\"build %d finished\",\"body\":\"all 1432 tests passed in 3m12s\","
                "\"urgency\":\"normal\"}]}",
                i ? "," : "", k, k, k);
        g_string_append(body, "]");
        char *answer = rp_post(c, body->str, body->len);
        if (!answer) {
            fprintf(stderr, "the hub dropped the connection\n");
            exit(1);
        }
        free(answer);
    }
    g_string_free(body, TRUE);
    rp_close(c);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double ingest(hh_hub *h, int total)
{
    worker w[CONNS];
    double t0 = now();
    for (int i = 0; i < CONNS; i++) {
        w[i] = (worker){.listen = h->listen, .first = i * (total / CONNS), .n = total / CONNS};
        w[i].t = g_thread_new("bench", worker_main, &w[i]);
    }
    for (int i = 0; i < CONNS; i++)
        g_thread_join(w[i].t);
    return (total / CONNS * CONNS) / (now() - t0);
}

static void cli_latency(hh_hub *h, double *median, double *p99)
{
    char *cli = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
    g_setenv("BERRYMQ_HUB", h->listen, TRUE);
    double *ms = g_new(double, cli_runs);
    for (int i = 0; i < cli_runs; i++) {
        char n[16];
        g_snprintf(n, sizeof n, "%d", i);
        char *argv[] = {cli, "twitter", "bench:one", n, NULL};
        double t0 = now();
        pid_t pid;
        int status;
        if (posix_spawn(&pid, cli, NULL, NULL, argv, environ) != 0 ||
            waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "berrymq twitter failed\n");
            exit(1);
        }
        ms[i] = (now() - t0) * 1000;
    }
    qsort(ms, cli_runs, sizeof ms[0], cmp);
    *median = ms[cli_runs / 2];
    *p99 = ms[cli_runs * 99 / 100];
    g_free(ms);
    g_free(cli);
}

static int64_t status_int(hh_hub *h, const char *path)
{
    json_object *st = hh_call(h, "hub.status", "[]", NULL);
    const char *v = hh_str(st, path);
    int64_t r = v ? g_ascii_strtoll(v, NULL, 10) : -1;
    json_object_put(st);
    return r;
}

int main(int argc, char **argv)
{
    int total = argc > 1 ? atoi(argv[1]) : 200000;
    cli_runs = argc > 2 ? atoi(argv[2]) : RUNS_DEFAULT;
    if (total < 1 || cli_runs < 1) {
        fprintf(stderr, "usage: bench_history [MESSAGES] [CLI_RUNS]\n");
        return 1;
    }
    if (!g_getenv("BMQ_BUILD_DIR"))
        g_setenv("BMQ_BUILD_DIR", BMQ_BUILD_DIR_DEFAULT, TRUE);
    if (!g_getenv("BMQ_TEST_PLUGIN_DIR"))
        g_setenv("BMQ_TEST_PLUGIN_DIR", BMQ_TEST_PLUGIN_DIR_DEFAULT, TRUE);
    const char *names[] = {"off", "normal", "full"};
    const char *configs[] = {
        "{\"plugins\": [], \"history\": false}",
        "{\"plugins\": [], \"history\": {\"sync\": \"normal\", \"max_messages\": null, "
        "\"max_bytes\": null}}",
        "{\"plugins\": [], \"history\": {\"sync\": \"full\", \"max_messages\": null, "
        "\"max_bytes\": null}}",
    };
    double rate[3];
    printf("bench_history: %d messages, %d connections, batches of %d; %d CLI runs\n", total, CONNS,
           BATCH, cli_runs);
    printf("%-8s %14s %12s %12s %16s\n", "history", "ingest msg/s", "cli median", "cli p99",
           "bytes/1M msgs");
    for (int i = 0; i < 3; i++) {
        hh_env *env = hh_env_new();
        hh_write_config(env, configs[i]);
        hh_hub *h = hh_start(env, NULL, true);
        rate[i] = ingest(h, total);
        double med, p99;
        cli_latency(h, &med, &p99);
        int64_t bytes = status_int(h, "history.bytes"), msgs = status_int(h, "history.messages");
        char size[32] = "-";
        if (msgs > 0)
            g_snprintf(size, sizeof size, "%.0f MB", (double)bytes / (double)msgs * 1e6 / 1e6);
        printf("%-8s %14.0f %9.2f ms %9.2f ms %16s\n", names[i], rate[i], med, p99, size);
        hh_stop(h);
        hh_free(h);
        hh_env_free(env);
    }
    printf("throughput with history: normal %.0f%%, full %.0f%% of the run without\n",
           100 * rate[1] / rate[0], 100 * rate[2] / rate[0]);
    return 0;
}
