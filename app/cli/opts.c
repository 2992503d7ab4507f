/* opts.c - what the commands share around their own work: the getopt loop
 * with the options every command takes, number arguments with one wording
 * of their errors, the stop flag SIGINT/SIGTERM raise, a monotonic clock.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile sig_atomic_t cli__stop;

static void on_signal(int sig)
{
    (void)sig;
    cli__stop = 1;
}

double cli__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli__signals_install(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocked poll() must return */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is seen as a write error */
}

int cli__getopt(cli_ctx *ctx, const char *cmd, int argc, char **argv, const char *shortopts,
                const struct option *longopts, int *rc)
{
    /* -h is help unless the command gives it a value (notify's --hint). */
    const char *h = strchr(shortopts, 'h');
    bool h_is_help = h && h[1] != ':';
    int opt;
    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        int r = cli__common_opt(ctx, opt, optarg);
        if (r < 0) {
            *rc = CLI_EUSAGE;
            return -1;
        }
        if (r > 0)
            continue;
        if (opt == CLI_OPT_HELP || (opt == 'h' && h_is_help)) {
            cli__help(cmd, stdout);
            *rc = CLI_HELPED;
            return -1;
        }
        if (opt == '?' || opt == ':') {
            *rc = cli__opt_error(cmd, opt, argv);
            return -1;
        }
        return opt;
    }
    *rc = CLI_OK;
    return -1;
}

int cli__opt_long(const char *cmd, const char *name, const char *arg, long long min, long long max,
                  long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        if (max == INT64_MAX)
            return cli__usage(cmd, "%s needs a whole number (%lld or more), not '%s'", name, min,
                              arg);
        return cli__usage(cmd, "%s needs a whole number from %lld to %lld, not '%s'", name, min,
                          max, arg);
    }
    *out = v;
    return CLI_OK;
}

int cli__opt_seconds(const char *cmd, const char *name, const char *arg, double *out)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !isfinite(v) || v < 0)
        return cli__usage(cmd, "%s needs seconds (0 or more), not '%s'", name, arg);
    *out = v;
    return CLI_OK;
}
