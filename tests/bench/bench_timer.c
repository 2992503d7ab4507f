/* bench_timer.c - how late the timer plugin's ticks reach a follower, run
 * through the real plugin host and a GMainLoop in this process: for each
 * interval, N ticks; lateness is delivery time minus the tick's deadline
 * (start + seq * interval, measured from just before create, so it
 * slightly overstates). Prints median, p90, p99 and max over the messages,
 * and the deadlines that were coalesced into a later tick (missed). Asserts nothing.
 *
 * Usage: bench_timer [--ticks N] [--interval S]...
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include <berrymq/host.h>

typedef struct run {
    gint64 t0;
    double interval;
    int want, got; /* schedule slots: a coalesced tick stands for 1 + missed */
    int msgs;      /* messages */
    int64_t missed;
    double *late_ms;
    GMainLoop *loop;
} run;

static void on_tick(const bmq_message *m, void *ud)
{
    run *r = ud;
    gint64 now = g_get_monotonic_time();
    json_object *v;
    int64_t seq = 0;
    if (json_object_object_get_ex(bmq_message_kwargs(m), "seq", &v))
        seq = json_object_get_int64(v);
    int64_t missed = 0;
    if (json_object_object_get_ex(bmq_message_kwargs(m), "missed", &v))
        missed = json_object_get_int64(v);
    r->missed += missed;
    r->got += 1 + (int)missed;
    r->late_ms[r->msgs++] = (now - r->t0) / 1e3 - (double)seq * r->interval * 1e3;
    if (r->got >= r->want)
        g_main_loop_quit(r->loop);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *v, int n, double p)
{
    int i = (int)ceil(p * n) - 1;
    return v[i < 0 ? 0 : (i >= n ? n - 1 : i)];
}

static int bench(bmq_bus *bus, bmq_plugin_host *host, double interval, int ticks)
{
    run r = {.interval = interval, .want = ticks};
    r.late_ms = g_new0(double, ticks);
    r.loop = g_main_loop_new(NULL, FALSE);
    bmq_follower *f = bmq_follow(bus, "bench:tick", on_tick, NULL, &r);
    char *cfg_text = g_strdup_printf("{\"interval\": %g, \"count\": %d}", interval, ticks);
    json_object *cfg = json_tokener_parse(cfg_text);
    char *err = NULL;
    r.t0 = g_get_monotonic_time();
    bmq_instance *inst = bmq_instance_create(host, "timer", "bench", cfg, NULL, &err);
    json_object_put(cfg);
    g_free(cfg_text);
    if (!inst) {
        fprintf(stderr, "bench_timer: %s\n", err);
        g_free(err);
        return 1;
    }
    g_main_loop_run(r.loop);
    bmq_instance_destroy(inst);
    bmq_unfollow(f);
    qsort(r.late_ms, (size_t)r.msgs, sizeof(double), cmp_double);
    printf("interval %8.3f s  ticks %5d  late ms: median %7.3f  p90 %7.3f  p99 %7.3f  "
           "max %7.3f  missed %lld\n",
           interval, r.msgs, pct(r.late_ms, r.msgs, 0.5), pct(r.late_ms, r.msgs, 0.9),
           pct(r.late_ms, r.msgs, 0.99), r.late_ms[r.msgs - 1], (long long)r.missed);
    g_free(r.late_ms);
    g_main_loop_unref(r.loop);
    return 0;
}

int main(int argc, char **argv)
{
    int ticks = 200;
    double intervals[16];
    int n_int = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ticks") == 0 && i + 1 < argc)
            ticks = atoi(argv[++i]);
        else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc && n_int < 16)
            intervals[n_int++] = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_timer [--ticks N] [--interval S]...\n");
            return 1;
        }
    }
    if (ticks < 1)
        ticks = 1;
    if (n_int == 0) {
        intervals[n_int++] = 0.001;
        intervals[n_int++] = 0.01;
        intervals[n_int++] = 0.05;
    }
    bmq_bus *bus = bmq_bus_new();
    char *root = g_dir_make_tmp("bmq-bench-timer-XXXXXX", NULL);
    bmq_plugin_host *host = bmq_plugin_host_new(bus, NULL, root);
    bmq_plugin_host_add_dir(host, BMQ_BENCH_PLUGIN_DIR);
    int rc = 0;
    for (int i = 0; i < n_int && rc == 0; i++)
        rc = bench(bus, host, intervals[i], ticks);
    bmq_plugin_host_free(host);
    bmq_bus_free(bus);
    char *dir = g_build_filename(root, "bench", NULL);
    g_rmdir(dir);
    g_free(dir);
    g_rmdir(root);
    g_free(root);
    return rc;
}
