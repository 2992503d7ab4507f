/* bench_cli.c - end-to-end latency of `berrymq twitter` from a script.
 *
 *   bench_cli [RUNS]        (default 200; BERRYMQ_HUB: use a running hub)
 *
 * Without BERRYMQ_HUB it starts its own berrymq-hub on a free loopback port
 * in a temporary HOME. For each run it spawns `berrymq twitter bench:run I`
 * and records
 *   start -> follower: from just before posix_spawn until this process,
 *                      following bench:* through a queue connection in the
 *                      hub (a blocking `get`), holds the message;
 *   start -> exit:     until the CLI has exited with the hub's "ok".
 * It also times `berrymq notify` (start -> exit) and, when Xvfb, dbus-daemon,
 * dunst and notify-send are installed, `notify-send` against dunst on a
 * private display and session bus (start -> exit; notify-send exits once
 * the daemon has answered the Notify call), and `true` as the floor of
 * spawning any program. Prints median, p90, p99.
 */
#include "cli_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <berrymq/net.h>

extern char **environ;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *ms, int n)
{
    if (n == 0) {
        printf("  %-34s no successful run\n", what);
        return;
    }
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    printf("  %-34s median %6.2f ms   p90 %6.2f ms   p99 %6.2f ms   (n=%d)\n", what, ms[n / 2],
           ms[(int)(n * 0.9)], ms[(int)(n * 0.99)], n);
}

static pid_t spawn_quiet(const char *const *argv, char **envp)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, envp ? envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

static int wait_exit(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void bench_twitter(cli_h *h, const char *hub, int runs)
{
    char host[128];
    snprintf(host, sizeof host, "%s", hub);
    char *colon = strrchr(host, ':');
    uint16_t port = colon ? (uint16_t)atoi(colon + 1) : BMQ_DEFAULT_PORT;
    if (colon)
        *colon = '\0';
    bmq_bus *bus = bmq_bus_new();
    char *err = NULL;
    bmq_link *link = bmq_connect_via_queue(bus, host, port, "bench:*", 60, NULL, &err);
    if (!link) {
        fprintf(stderr, "bench_cli: cannot follow bench:* at %s: %s\n", hub, err ? err : "?");
        free(err);
        bmq_bus_free(bus);
        return;
    }
    double *follow = calloc((size_t)runs, sizeof *follow);
    double *done = calloc((size_t)runs, sizeof *done);
    int nf = 0, nd = 0, failed = 0;
    for (int i = -10; i < runs; i++) { /* 10 warm-up runs */
        char n[16];
        snprintf(n, sizeof n, "%d", i);
        const char *argv[] = {h->cli, "twitter", "bench:run", "--", n, NULL};
        double t0 = cli_now();
        pid_t pid = spawn_quiet(argv, NULL);
        int gerr = 0;
        bmq_message *m = pid > 0 ? bmq_get(link, true, 5.0, &gerr) : NULL;
        double t1 = cli_now();
        int rc = pid > 0 ? wait_exit(pid) : -1;
        double t2 = cli_now();
        bool ok = m && rc == 0 &&
                  json_object_get_int(json_object_array_get_idx(bmq_message_args(m), 0)) == i;
        if (m)
            bmq_message_unref(m);
        if (!ok) {
            if (failed++ < 3)
                fprintf(stderr, "bench_cli: run %d: exit %d, %s\n", i, rc,
                        m ? "wrong message" : bmq_strerror(gerr));
            continue;
        }
        if (i >= 0) {
            follow[nf++] = (t1 - t0) * 1000.0;
            done[nd++] = (t2 - t0) * 1000.0;
        }
    }
    printf("berrymq twitter, %d runs against %s (%d failed)\n", runs, hub, failed);
    report("start -> follower has the message", follow, nf);
    report("start -> exit (hub answered ok)", done, nd);
    free(follow);
    free(done);
    bmq_close_connection(link);
    bmq_bus_free(bus);

    double *ms = calloc((size_t)runs, sizeof *ms);
    int nm = 0;
    /* The floor: what spawning any tiny program costs here. */
    for (int i = -5; i < runs; i++) {
        const char *argv[] = {"true", NULL};
        double t0 = cli_now();
        pid_t pid = spawn_quiet(argv, NULL);
        if (pid > 0 && wait_exit(pid) == 0 && i >= 0)
            ms[nm++] = (cli_now() - t0) * 1000.0;
    }
    printf("true (process spawn floor), %d runs\n", runs);
    report("start -> exit", ms, nm);
    nm = 0;
    for (int i = -5; i < runs; i++) {
        const char *argv[] = {h->cli, "notify", "-a", "bench", "Bench", "body", NULL};
        double t0 = cli_now();
        pid_t pid = spawn_quiet(argv, NULL);
        if (pid > 0 && wait_exit(pid) == 0 && i >= 0)
            ms[nm++] = (cli_now() - t0) * 1000.0;
    }
    printf("berrymq notify, %d runs\n", runs);
    report("start -> exit (receipt from the notify instance)", ms, nm);
    free(ms);
}

static bool have(const char *prog)
{
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : "/usr/bin:/bin");
    bool found = false;
    for (char *dir = strtok(copy, ":"); dir && !found; dir = strtok(NULL, ":")) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, prog);
        found = access(p, X_OK) == 0;
    }
    free(copy);
    return found;
}

static void stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* notify-send against dunst on a private Xvfb display and session bus. */
static void bench_notify_send(cli_h *h, int runs)
{
    if (!have("Xvfb") || !have("dbus-daemon") || !have("dunst") || !have("notify-send")) {
        printf("notify-send: skipped (needs Xvfb, dbus-daemon, dunst, notify-send)\n");
        return;
    }
    pid_t xvfb = -1, bus = -1, dunst = -1;
    char display[16] = "";
    for (int d = 91; d < 120 && xvfb < 0; d++) {
        char lock[64];
        snprintf(lock, sizeof lock, "/tmp/.X%d-lock", d);
        if (access(lock, F_OK) == 0)
            continue;
        snprintf(display, sizeof display, ":%d", d);
        const char *argv[] = {"Xvfb",    display, "-nolisten",  "tcp",
                              "-screen", "0",     "800x600x24", NULL};
        xvfb = spawn_quiet(argv, NULL);
        usleep(300000);
        if (xvfb > 0 && waitpid(xvfb, NULL, WNOHANG) == xvfb)
            xvfb = -1; /* display taken after all */
    }
    int fds[2];
    char addr[512] = "";
    if (xvfb > 0 && pipe(fds) == 0) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        const char *argv[] = {"dbus-daemon", "--session", "--nofork", "--print-address=1", NULL};
        if (posix_spawnp(&bus, argv[0], &fa, NULL, (char *const *)argv, environ) != 0)
            bus = -1;
        posix_spawn_file_actions_destroy(&fa);
        close(fds[1]);
        ssize_t n = bus > 0 ? read(fds[0], addr, sizeof addr - 1) : -1;
        close(fds[0]);
        addr[n > 0 ? n : 0] = '\0';
        addr[strcspn(addr, "\n")] = '\0';
    }
    if (addr[0]) {
        setenv("DISPLAY", display, 1);
        setenv("DBUS_SESSION_BUS_ADDRESS", addr, 1);
        const char *argv[] = {"dunst", NULL};
        dunst = spawn_quiet(argv, NULL);
        usleep(500000);
    }
    double *ms = calloc((size_t)runs, sizeof *ms);
    int n = 0, failed = 0;
    for (int i = -10; dunst > 0 && i < runs; i++) {
        const char *argv[] = {"notify-send", "-t", "1", "Bench", "body", NULL};
        double t0 = cli_now();
        pid_t pid = spawn_quiet(argv, NULL);
        int rc = pid > 0 ? wait_exit(pid) : -1;
        if (rc != 0)
            failed++;
        else if (i >= 0)
            ms[n++] = (cli_now() - t0) * 1000.0;
    }
    printf("notify-send to dunst, %d runs%s\n", runs,
           dunst > 0 ? (failed ? " (some failed)" : "") : ": could not start Xvfb/dbus/dunst");
    report("start -> exit (daemon answered)", ms, n);
    free(ms);
    stop(dunst);
    stop(bus);
    stop(xvfb);
    unsetenv("DISPLAY");
    unsetenv("DBUS_SESSION_BUS_ADDRESS");
    (void)h;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 200;
    if (runs < 10)
        runs = 10;
    signal(SIGPIPE, SIG_IGN);
    const char *env_hub = getenv("BERRYMQ_HUB");
    char hub[128];
    snprintf(hub, sizeof hub, "%s", env_hub && *env_hub ? env_hub : "");
    cli_h h;
    if (cli_h_init(&h, "bench") < 0)
        return 1;
    if (hub[0]) {
        setenv("BERRYMQ_HUB", hub, 1);
    } else {
        /* berrymq notify waits for the notify instance's receipt: headless
         * here, so it answers "queued" (kept in a backlog that never fills). */
        cli_h_write_config(&h, "{\"plugins\": [{\"plugin\": \"notify\", \"id\": \"notify\", "
                               "\"config\": {\"backlog\": 100000, \"rate\": 1000000, "
                               "\"burst\": 1000000}}]}\n");
        if (cli_h_hub_start(&h, NULL) < 0) {
            cli_h_cleanup(&h);
            return 1;
        }
        snprintf(hub, sizeof hub, "%s", h.addr);
    }
    bench_twitter(&h, hub, runs);
    bench_notify_send(&h, runs);
    cli_h_cleanup(&h);
    return 0;
}
