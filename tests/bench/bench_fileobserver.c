/* bench_fileobserver.c - figures for the fileobserver plugin, run through
 * the real plugin host and a GMainLoop in this process:
 *
 *  1. latency from write(2) on a watched file to the "modified" message
 *     reaching a follower, over N writes (median, p90, p99, max), for
 *     debounce_ms 100 and 0;
 *  2. an idle observer of 10,000 files (100 directories, recursive) for S
 *     seconds: CPU time (getrusage), context switches, main-loop wakeups,
 *     and, when strace is installed, the syscalls of the idle window
 *     (strace -c -f attached to a child running the same observer).
 *
 * Usage: bench_fileobserver [--writes N] [--idle-files N] [--idle-seconds S]
 *                           [--no-strace] [--skip-latency] [--skip-idle]
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <berrymq/host.h>

typedef struct bench {
    bmq_bus *bus;
    bmq_plugin_host *host;
    char *root;
    /* latency run */
    int fd;
    int done, total;
    gint64 t_write;
    double *lat_ms;
    GMainLoop *loop;
} bench;

static void quiet_log(int level, const char *id, const char *line, void *ud)
{
    if (level <= BMQ_LOG_WARNING)
        fprintf(stderr, "[%s] %s\n", id ? id : "host", line);
}

static void bench_init(bench *b)
{
    memset(b, 0, sizeof(*b));
    b->bus = bmq_bus_new();
    b->root = g_dir_make_tmp("bmq-fobench-XXXXXX", NULL);
    char *data = g_build_filename(b->root, ".data", NULL);
    b->host = bmq_plugin_host_new(b->bus, NULL, data);
    g_free(data);
    bmq_plugin_host_set_log(b->host, quiet_log, NULL);
    const char *dir = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    bmq_plugin_host_add_dir(b->host, dir ? dir : BMQ_BENCH_PLUGIN_DIR);
}

static void bench_clear(bench *b)
{
    bmq_plugin_host_free(b->host);
    bmq_bus_free(b->bus);
    char *argv[] = {"rm", "-rf", b->root, NULL};
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(b->root);
}

static bmq_instance *observe(bench *b, const char *id, const char *path, bool recursive,
                             int debounce)
{
    json_object *cfg = json_object_new_object();
    json_object_object_add(cfg, "path", json_object_new_string(path));
    json_object_object_add(cfg, "recursive", json_object_new_boolean(recursive));
    json_object_object_add(cfg, "debounce_ms", json_object_new_int(debounce));
    char *err = NULL;
    bmq_instance *inst = bmq_instance_create(b->host, "fileobserver", id, cfg, NULL, &err);
    json_object_put(cfg);
    if (!inst) {
        fprintf(stderr, "cannot create the observer: %s\n", err);
        exit(1);
    }
    return inst;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *sorted, int n, double p)
{
    int i = (int)ceil(p / 100.0 * n) - 1;
    return sorted[i < 0 ? 0 : (i >= n ? n - 1 : i)];
}

static gboolean do_write(gpointer data)
{
    bench *b = data;
    b->t_write = g_get_monotonic_time();
    if (write(b->fd, "x", 1) != 1) {
        perror("write");
        exit(1);
    }
    return G_SOURCE_REMOVE;
}

static void on_modified(const bmq_message *m, void *ud)
{
    bench *b = ud;
    b->lat_ms[b->done++] = (g_get_monotonic_time() - b->t_write) / 1000.0;
    if (b->done == b->total)
        g_main_loop_quit(b->loop);
    else /* a short, varying gap so writes do not align with anything */
        g_timeout_add(1 + b->done % 3, do_write, b);
}

static void run_latency(int writes, int debounce)
{
    bench b;
    bench_init(&b);
    char *dir = g_build_filename(b.root, "lat", NULL);
    g_mkdir(dir, 0755);
    char *file = g_build_filename(dir, "target.log", NULL);
    b.fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    char *pat = g_build_filename(dir, "*.log", NULL);
    bmq_instance *inst = observe(&b, "lat", pat, false, debounce);
    b.total = writes;
    b.lat_ms = g_new0(double, writes);
    b.loop = g_main_loop_new(NULL, FALSE);
    bmq_follower *f = bmq_follow(b.bus, "lat:modified", on_modified, NULL, &b);
    g_timeout_add(20, do_write, &b);
    g_main_loop_run(b.loop);
    qsort(b.lat_ms, (size_t)writes, sizeof(double), cmp_double);
    double sum = 0;
    for (int i = 0; i < writes; i++)
        sum += b.lat_ms[i];
    printf("latency write -> follower, debounce_ms %3d, %d writes: median %.2f ms  mean %.2f  "
           "p90 %.2f  p99 %.2f  max %.2f   (target median < %d ms: %s)\n",
           debounce, writes, pct(b.lat_ms, writes, 50), sum / writes, pct(b.lat_ms, writes, 90),
           pct(b.lat_ms, writes, 99), b.lat_ms[writes - 1], debounce + 5,
           pct(b.lat_ms, writes, 50) < debounce + 5 ? "met" : "MISSED");
    fflush(stdout);
    bmq_unfollow(f);
    bmq_instance_destroy(inst);
    close(b.fd);
    g_main_loop_unref(b.loop);
    g_free(b.lat_ms);
    g_free(file), g_free(dir), g_free(pat);
    bench_clear(&b);
}

static gboolean on_idle_end(gpointer p)
{
    *(bool *)p = true;
    return G_SOURCE_REMOVE;
}

/* Resident set size in KiB, from /proc/self/status. */
static long rss_kib(void)
{
    long v = -1;
    char *text = NULL;
    if (g_file_get_contents("/proc/self/status", &text, NULL, NULL)) {
        const char *p = strstr(text, "VmRSS:");
        if (p)
            v = atol(p + 6);
        g_free(text);
    }
    return v;
}

static double cpu_s(const struct rusage *r)
{
    return r->ru_utime.tv_sec + r->ru_utime.tv_usec / 1e6 + r->ru_stime.tv_sec +
           r->ru_stime.tv_usec / 1e6;
}

/* Build the tree, start the observer, then (after @ready, if any) sit
 * idle for @seconds and print what it cost. */
static void run_idle(int nfiles, int seconds, void (*ready)(void), void (*done)(void))
{
    bench b;
    bench_init(&b);
    char *top = g_build_filename(b.root, "idle", NULL);
    int ndirs = nfiles >= 100 ? 100 : 1;
    for (int d = 0; d < ndirs; d++) {
        char *dir = g_strdup_printf("%s/d%03d", top, d);
        g_mkdir_with_parents(dir, 0755);
        for (int i = d; i < nfiles; i += ndirs) {
            char *f = g_strdup_printf("%s/file%05d.log", dir, i);
            int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            close(fd);
            g_free(f);
        }
        g_free(dir);
    }
    char *pat = g_build_filename(top, "*.log", NULL);
    long rss0 = rss_kib();
    bmq_instance *inst = observe(&b, "idle", pat, true, 100);
    long rss1 = rss_kib();
    json_object *st = bmq_instance_status(inst), *s, *w, *nf;
    json_object_object_get_ex(st, "status", &s);
    json_object_object_get_ex(s, "watches", &w);
    json_object_object_get_ex(s, "files", &nf);
    int watches = json_object_get_int(w), files = json_object_get_int(nf);
    json_object_put(st);
    /* Let start-up work (the host's own idle sources) finish first. */
    while (g_main_context_iteration(NULL, FALSE))
        ;
    if (ready)
        ready();
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    gint64 t0 = g_get_monotonic_time();
    bool end = false;
    g_timeout_add((guint)seconds * 1000, on_idle_end, &end);
    long iterations = 0;
    while (!end) {
        g_main_context_iteration(NULL, TRUE);
        iterations++;
    }
    double wall = (g_get_monotonic_time() - t0) / 1e6;
    getrusage(RUSAGE_SELF, &r1);
    printf("idle observer: %d files in %d watched directories for %.1f s: CPU %.3f ms, main-loop "
           "wakeups %ld (excluding the end timer), context switches %ld voluntary / %ld "
           "involuntary (target: zero wakeups from the observer)\n",
           files, watches, wall, (cpu_s(&r1) - cpu_s(&r0)) * 1000, iterations - 1,
           r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw);
    printf("idle observer memory: RSS %ld KiB before the instance, %ld KiB with it (+%ld KiB "
           "for %d files, %d watches)\n",
           rss0, rss1, rss1 - rss0, files, watches);
    fflush(stdout);
    if (done)
        done();
    bmq_instance_destroy(inst);
    g_free(top), g_free(pat);
    bench_clear(&b);
}

/* Child side of the strace run: "ready" on stdout, then the window starts
 * when the parent (with strace attached) says "go" on stdin; after it,
 * "end", and teardown waits for stdin to close (strace detached). */
static void child_ready(void)
{
    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof(line), stdin))
        exit(1);
}

static void child_done(void)
{
    printf("end\n");
    fflush(stdout);
    char line[16];
    while (fgets(line, sizeof(line), stdin))
        ;
}

static bool traced(GPid pid)
{
    char *path = g_strdup_printf("/proc/%d/status", pid), *text = NULL;
    bool yes = false;
    if (g_file_get_contents(path, &text, NULL, NULL)) {
        const char *t = strstr(text, "TracerPid:");
        yes = t && atoi(t + 10) != 0;
    }
    g_free(text);
    g_free(path);
    return yes;
}

static void run_idle_strace(const char *self, int nfiles, int seconds)
{
    char *strace = g_find_program_in_path("strace");
    if (!strace) {
        printf("strace not installed: syscall counts skipped\n");
        return;
    }
    char nf[16], sec[16];
    snprintf(nf, sizeof(nf), "%d", nfiles);
    snprintf(sec, sizeof(sec), "%d", seconds);
    char *argv[] = {(char *)self, "--idle-child", nf, sec, NULL};
    GPid pid;
    int in, out;
    GError *err = NULL;
    if (!g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                  &in, &out, NULL, &err)) {
        printf("cannot start the idle child: %s\n", err->message);
        g_error_free(err);
        g_free(strace);
        return;
    }
    FILE *f = fdopen(out, "r");
    char line[1024];
    char *summary = g_build_filename(g_get_tmp_dir(), "bmq-fobench-strace.txt", NULL);
    char pidstr[16];
    snprintf(pidstr, sizeof(pidstr), "%d", pid);
    char *sargv[] = {strace, "-c", "-f", "-q", "-o", summary, "-p", pidstr, NULL};
    GPid spid = 0;
    if (!fgets(line, sizeof(line), f) || strncmp(line, "ready", 5)) {
        printf("idle child failed to start\n");
    } else if (!g_spawn_async(NULL, sargv, NULL,
                              G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                              &spid, &err)) {
        printf("cannot run strace: %s\n", err->message);
        g_error_free(err);
    } else {
        for (int i = 0; i < 500 && !traced(pid); i++)
            g_usleep(10 * 1000);
        g_usleep(100 * 1000); /* the other threads get attached too */
        if (write(in, "go\n", 3) != 3)
            perror("write");
        while (fgets(line, sizeof(line), f) && strncmp(line, "end", 3))
            fputs(line, stdout); /* the child's own figures, measured under strace */
        kill(spid, SIGINT);      /* detach: the summary covers the idle window only */
        int status;
        waitpid(spid, &status, 0);
    }
    close(in);
    while (fgets(line, sizeof(line), f))
        ;
    fclose(f);
    int status;
    waitpid(pid, &status, 0);
    char *text = NULL;
    if (spid && g_file_get_contents(summary, &text, NULL, NULL)) {
        printf("strace -c -f of the idle window (the \"go\" read that opens it included):\n%s",
               text);
        g_free(text);
    }
    unlink(summary);
    g_free(summary);
    g_free(strace);
}

int main(int argc, char **argv)
{
    int writes = 1000, nfiles = 10000, seconds = 10;
    bool use_strace = true, latency = true, idle = true;
    if (argc == 4 && !strcmp(argv[1], "--idle-child")) {
        run_idle(atoi(argv[2]), atoi(argv[3]), child_ready, child_done);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--writes") && i + 1 < argc)
            writes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--idle-files") && i + 1 < argc)
            nfiles = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--idle-seconds") && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-strace"))
            use_strace = false;
        else if (!strcmp(argv[i], "--skip-latency"))
            latency = false;
        else if (!strcmp(argv[i], "--skip-idle"))
            idle = false;
        else {
            fprintf(stderr,
                    "usage: %s [--writes N] [--idle-files N] [--idle-seconds S] [--no-strace] "
                    "[--skip-latency] [--skip-idle]\n",
                    argv[0]);
            return 1;
        }
    }
    if (writes < 1 || nfiles < 1 || seconds < 1) {
        fprintf(stderr, "counts must be positive\n");
        return 1;
    }
    if (latency) {
        run_latency(writes, 0);
        run_latency(writes, 100);
    }
    if (idle) {
        run_idle(nfiles, seconds, NULL, NULL);
        if (use_strace)
            run_idle_strace("/proc/self/exe", nfiles, seconds);
    }
    return 0;
}
