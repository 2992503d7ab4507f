/* bench_gntp.c - what holding a Growl client's -OK until the notification
 * is stored costs.
 *
 *   bench_gntp [NOTIFICATIONS]     (default 2000)
 *
 * Starts berrymq-hub three times in a temporary HOME with the growl
 * plugin receiving GNTP: "history": false (-OK at once), history with sync
 * "normal" (the default) and with sync "full" (-OK after the commit). For
 * each:
 *   - latency: NOTIFICATIONS GNTP NOTIFY requests from one client, one
 *     connection each (as Growl clients do), connect to -OK: median, p99;
 *   - throughput: NOTIFICATIONS more from 8 clients at once: requests/s.
 * Prints the figures and each history setting's throughput as a share of
 * the run without history.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gntp_client.h"
#include "hub_harness.h"

#define CLIENTS 8

static int port;

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

static void notify_or_die(int i)
{
    char title[32];
    g_snprintf(title, sizeof title, "build %d finished", i);
    char *answer = gntp_notify(port, "CI", "Build Done", title);
    if (!answer || !g_str_has_prefix(answer, "GNTP/1.0 -OK")) {
        fprintf(stderr, "bench_gntp: notification %d: %s\n", i, answer ? answer : "no connection");
        exit(1);
    }
    g_free(answer);
}

typedef struct worker {
    int first, n;
    GThread *t;
} worker;

static gpointer worker_main(gpointer data)
{
    worker *w = data;
    for (int i = w->first; i < w->first + w->n; i++)
        notify_or_die(i);
    return NULL;
}

int main(int argc, char **argv)
{
    int total = argc > 1 ? atoi(argv[1]) : 2000;
    if (total < CLIENTS) {
        fprintf(stderr, "usage: bench_gntp [NOTIFICATIONS >= %d]\n", CLIENTS);
        return 1;
    }
    if (!g_getenv("BMQ_BUILD_DIR"))
        g_setenv("BMQ_BUILD_DIR", BMQ_BUILD_DIR_DEFAULT, TRUE);
    if (!g_getenv("BMQ_TEST_PLUGIN_DIR"))
        g_setenv("BMQ_TEST_PLUGIN_DIR", BMQ_TEST_PLUGIN_DIR_DEFAULT, TRUE);
    const char *names[] = {"off", "normal", "full"};
    const char *history[] = {
        "false",
        "{\"sync\": \"normal\"}",
        "{\"sync\": \"full\"}",
    };
    double rate[3];
    printf("bench_gntp: %d notifications from 1 client (latency), %d from %d clients "
           "(throughput), one connection each\n",
           total, total, CLIENTS);
    printf("%-8s %12s %12s %14s\n", "history", "-OK median", "-OK p99", "notifications/s");
    for (int k = 0; k < 3; k++) {
        port = gntp_free_port();
        hh_env *env = hh_env_new();
        char *cfg = g_strdup_printf(
            "{\"history\": %s, \"plugins\": [{\"plugin\": \"%s/growl.so\", \"id\": \"growld\", "
            "\"config\": {\"forward\": false, \"listen\": {\"gntp\": %d}}}]}",
            history[k], BMQ_BENCH_PLUGIN_DIR, port);
        hh_write_config(env, cfg);
        g_free(cfg);
        hh_hub *h = hh_start(env, NULL, true);
        if (!hh_wait_state(h, "growld", "running", 10000)) {
            fprintf(stderr, "bench_gntp: the growl instance did not start\n");
            return 1;
        }
        double *ms = g_new(double, total);
        for (int i = 0; i < total; i++) {
            double t0 = now();
            notify_or_die(i);
            ms[i] = (now() - t0) * 1000;
        }
        qsort(ms, total, sizeof ms[0], cmp);
        worker w[CLIENTS];
        double t0 = now();
        for (int i = 0; i < CLIENTS; i++) {
            w[i] = (worker){.first = total + i * (total / CLIENTS), .n = total / CLIENTS};
            w[i].t = g_thread_new("bench", worker_main, &w[i]);
        }
        for (int i = 0; i < CLIENTS; i++)
            g_thread_join(w[i].t);
        rate[k] = (total / CLIENTS * CLIENTS) / (now() - t0);
        printf("%-8s %9.3f ms %9.3f ms %14.0f\n", names[k], ms[total / 2], ms[total * 99 / 100],
               rate[k]);
        g_free(ms);
        hh_stop(h);
        hh_free(h);
        hh_env_free(env);
    }
    printf("throughput with history: normal %.0f%%, full %.0f%% of the run without\n",
           100 * rate[1] / rate[0], 100 * rate[2] / rate[0]);
    return 0;
}
