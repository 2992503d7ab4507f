/* bench_trust.c - `berrymq twitter` over the hub's Unix socket (the CLI's
 * default) against the same over loopback TCP (--hub / BERRYMQ_HUB), in
 * the same run, alternating, so both see the same machine load.
 *
 *   bench_trust [RUNS]      (default 300 per transport)
 *
 * Each run spawns the CLI and waits for its exit (the hub has answered).
 * Prints median and p90 of each, in milliseconds.
 */
#include "cli_harness.h"

#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double once(const char *cli, bool tcp, const char *addr)
{
    if (tcp)
        setenv("BERRYMQ_HUB", addr, 1);
    else
        unsetenv("BERRYMQ_HUB");
    char *argv[] = {(char *)cli, "twitter", "bench:run", "1", NULL};
    double t0 = cli_now();
    pid_t pid;
    if (posix_spawn(&pid, cli, NULL, NULL, argv, environ) != 0)
        return -1;
    int st = 0;
    waitpid(pid, &st, 0);
    double ms = (cli_now() - t0) * 1000.0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? ms : -1;
}

static void report(const char *what, double *ms, int n)
{
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    printf("%-28s median %.3f ms   p90 %.3f ms   (%d runs)\n", what, ms[n / 2], ms[n * 9 / 10], n);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 300;
    if (runs < 10)
        runs = 10;
    cli_h h;
    if (cli_h_init(&h, "bench_trust") != 0 || cli_h_hub_start(&h, NULL) != 0)
        return 1;
    double *sock = calloc((size_t)runs, sizeof(double)), *tcp = calloc((size_t)runs, sizeof(double));
    int failed = 0;
    for (int i = 0; i < 20; i++) { /* warm up both paths */
        once(h.cli, false, h.addr);
        once(h.cli, true, h.addr);
    }
    for (int i = 0; i < runs; i++) {
        /* Alternate which goes first so neither always follows the other. */
        bool tcp_first = i & 1;
        double a = once(h.cli, tcp_first, h.addr), b = once(h.cli, !tcp_first, h.addr);
        tcp[i] = tcp_first ? a : b;
        sock[i] = tcp_first ? b : a;
        failed += (a < 0) + (b < 0);
    }
    printf("berrymq twitter, spawn to exit (hub %s, socket %s/berrymq/hub.sock)\n", h.addr,
           h.runtime_dir);
    report("Unix socket (default)", sock, runs);
    report("loopback TCP (--hub)", tcp, runs);
    if (failed)
        printf("%d runs failed\n", failed);
    free(sock);
    free(tcp);
    cli_h_hub_stop(&h);
    cli_h_cleanup(&h);
    return failed ? 1 : 0;
}
