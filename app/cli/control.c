/* control.c - `berrymq pause`, `resume` and `quit`: what the tray's menu
 * does, for the hub's own user (the hub accepts these only from its uid or
 * with its secret). */
#include "cli.h"

#include <getopt.h>
#include <string.h>

#define CONTROL_TIMEOUT_S 10.0

static int control(cli_ctx *ctx, int argc, char **argv, const char *verb, const char *method,
                   const char *done)
{
    static const struct option longopts[] = {CLI_COMMON_LONGOPTS, {0}};
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        int r = cli__common_opt(ctx, opt, optarg);
        if (r < 0)
            return CLI_EUSAGE;
        if (r > 0)
            continue;
        if (opt == CLI_OPT_HELP || opt == 'h') {
            cli__help(verb, stdout);
            return CLI_OK;
        }
        return cli__opt_error(verb, opt, argv);
    }
    if (optind < argc)
        return cli__usage(verb, "unexpected argument '%s'", argv[optind]);
    json_object *res = NULL;
    int rc = cli__call(ctx, method, NULL, CONTROL_TIMEOUT_S, &res);
    json_object_put(res);
    if (rc == CLI_OK && done)
        fprintf(stderr, "%s\n", done);
    return rc;
}

int cli__cmd_pause(cli_ctx *ctx, int argc, char **argv)
{
    return control(ctx, argc, argv, "pause", "hub.pause", NULL);
}

int cli__cmd_resume(cli_ctx *ctx, int argc, char **argv)
{
    return control(ctx, argc, argv, "resume", "hub.resume", NULL);
}

int cli__cmd_quit(cli_ctx *ctx, int argc, char **argv)
{
    return control(ctx, argc, argv, "quit", "hub.quit", NULL);
}
