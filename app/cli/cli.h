/* cli.h - shared declarations of the berrymq command-line tool.
 *
 * The CLI speaks JSON-RPC 1.0 over HTTP to a running hub with its own small
 * blocking client (rpc.c) and links only json-c: libcurl and GLib would
 * cost several milliseconds of dynamic loading on every start, which is
 * most of the budget of a `berrymq twitter` called from a script. The one
 * command that needs libberrymq (plugin install, for its ABI check) loads
 * it at run time in a child process.
 */
#ifndef BERRYMQ_CLI_H
#define BERRYMQ_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

/* Exit codes (fixed by the design). */
enum {
    CLI_OK = 0,
    CLI_EUSAGE = 1,  /* bad usage, bad input, local failure */
    CLI_EHUB = 2,    /* hub unreachable */
    CLI_EREJECT = 3, /* the hub rejected the request */
    CLI_ELOST = 4,   /* listen: the hub's queue for us overflowed (see --lossy) */
};

/* Outcome of one RPC call, before it becomes an exit code. */
typedef enum cli_rpc_status {
    CLI_RPC_OK = 0,
    CLI_RPC_UNREACHABLE, /* connect failed: nothing listens there */
    CLI_RPC_NOANSWER,    /* connected, but no (complete) answer in time */
    CLI_RPC_BADREPLY,    /* not a JSON-RPC answer */
    CLI_RPC_HTTP,        /* HTTP status other than 200 (401/403/413...) */
    CLI_RPC_ERROR,       /* a JSON-RPC error object */
    CLI_RPC_INTERRUPTED, /* *interrupt became non-zero while waiting */
    CLI_RPC_OTHER_USER,  /* the hub found belongs to another user */
} cli_rpc_status;

typedef struct cli_ctx {
    const char *hub;    /* (transfer none) --hub / BERRYMQ_HUB / default, as given */
    const char *secret; /* (transfer none, nullable) --secret / BERRYMQ_SECRET */
    char host[256];     /* parsed from hub */
    char port[8];
    char path[128];                   /* HTTP path, default "/JSON" */
    char hostport[300];               /* "HOST:PORT" for messages */
    char unix_path[108];              /* the hub's Unix socket; "" = TCP */
    bool check_uid;                   /* TCP found, not given: the hub must be ours */
    long foreign_owner;               /* the uid owning foreign_dir */
    char foreign_dir[200];            /* "": the runtime dir found is ours (or none) */
    volatile sig_atomic_t *interrupt; /* (nullable) polled while waiting */
    long rpc_code; /* the "code" of the last CLI_RPC_ERROR answer; 0 when it had none */
} cli_ctx;

/* JSON-RPC's "method not found" (the CLI does not link libberrymq). */
#define CLI_RPC_EMETHOD (-32601)

/* ---- main.c ---- */
/* Parse --hub/--secret for @ctx; 0 or CLI_EUSAGE (message printed). */
int cli__set_hub(cli_ctx *ctx, const char *hub);
/* Print "berrymq: " + message on stderr (one line). */
void cli__err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Handle the options every command accepts (--hub, --secret). Returns 1 if
 * @opt was one of them (and applied), 0 if not, -1 on a bad value. */
int cli__common_opt(cli_ctx *ctx, int opt, const char *arg);
/* Print the help of @cmd (NULL: general help) to @out; false if unknown. */
bool cli__help(const char *cmd, FILE *out);
/* The usage error for @cmd: message, then a pointer to --help. */
int cli__usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The usage error for a '?' or ':' from getopt_long (optstring starting
 * with ':'), naming the offending option. */
int cli__opt_error(const char *cmd, int opt, char **argv);

#define CLI_OPT_HUB    0x1001
#define CLI_OPT_SECRET 0x1002
#define CLI_OPT_HELP   0x1003
#define CLI_COMMON_LONGOPTS                                                                        \
    {"hub", required_argument, NULL, CLI_OPT_HUB},                                                 \
        {"secret", required_argument, NULL, CLI_OPT_SECRET},                                       \
    {                                                                                              \
        "help", no_argument, NULL, CLI_OPT_HELP                                                    \
    }

/* ---- opts.c ---- */
#define CLI_HELPED (-1) /* cli__getopt: the help was printed (exit 0) */
/* The next option of @cmd's own, after handling the common ones (--hub,
 * --secret), --help (and -h when @shortopts has it without a value) and
 * unknown or value-less options. @shortopts starts with ':'. Returns the
 * option, or -1 with *rc = CLI_OK (no more options), CLI_HELPED or
 * CLI_EUSAGE (message printed). */
int cli__getopt(cli_ctx *ctx, const char *cmd, int argc, char **argv, const char *shortopts,
                const struct option *longopts, int *rc);
/* Option @name's value @arg as a whole number in [@min, @max]: CLI_OK, or
 * the usage error (printed). */
int cli__opt_long(const char *cmd, const char *name, const char *arg, long long min,
                  long long max, long long *out);
/* ... as seconds (0 or more, decimals allowed). */
int cli__opt_seconds(const char *cmd, const char *name, const char *arg, double *out);
/* Set by SIGINT/SIGTERM once cli__signals_install ran; point
 * ctx->interrupt at it to cut a waiting call short. */
extern volatile sig_atomic_t cli__stop;
/* Catch SIGINT/SIGTERM into cli__stop (interrupting poll), ignore SIGPIPE. */
void cli__signals_install(void);
double cli__now(void); /* monotonic seconds */

/* Pick the hub when no --hub / BERRYMQ_HUB was given: its Unix socket, else
 * the TCP address in its lock file, else the default port (whose owner is
 * then checked). A runtime directory of another user (anyone may create
 * /tmp/berrymq-UID first) is not used: every call then fails with
 * CLI_RPC_OTHER_USER. */
void cli__find_hub(cli_ctx *ctx);

/* ---- rpc.c ---- */
/* Call @method with @params (transfer full, nullable = []). On CLI_RPC_OK
 * *result (transfer full, nullable for JSON null) holds the result;
 * otherwise *errtext (transfer full, malloc'd, one line) says why, and on
 * CLI_RPC_ERROR ctx->rpc_code holds the error object's code.
 * @timeout_s bounds the whole call. */
cli_rpc_status cli__rpc(cli_ctx *ctx, const char *method, json_object *params, double timeout_s,
                        json_object **result, char **errtext);
/* One HTTP request (@method @path, body @body of type @ctype) to the hub
 * on ctx's transport, with its secret as Bearer token. CLI_RPC_OK once an
 * HTTP answer came: *status, *rbody (transfer full, malloc'd,
 * NUL-terminated) and *rlen hold it, whatever the status; otherwise
 * *errtext (transfer full) says why. */
cli_rpc_status cli__http(cli_ctx *ctx, const char *method, const char *path, const char *ctype,
                         const char *body, size_t blen, double timeout_s, int *status,
                         char **rbody, size_t *rlen, char **errtext);
/* cli__rpc, then map a failure to its exit code and print one line: 0 with
 * *result set, or CLI_EHUB / CLI_EREJECT. */
int cli__call(cli_ctx *ctx, const char *method, json_object *params, double timeout_s,
              json_object **result);
/* The exit code and message for a failed call (prints the line). */
int cli__report(cli_ctx *ctx, cli_rpc_status st, const char *errtext);

/* ---- commands ---- */
int cli__cmd_twitter(cli_ctx *ctx, int argc, char **argv);
int cli__cmd_notify(cli_ctx *ctx, int argc, char **argv);
int cli__cmd_listen(cli_ctx *ctx, int argc, char **argv);
int cli__cmd_status(cli_ctx *ctx, int argc, char **argv);
int cli__cmd_pause(cli_ctx *ctx, int argc, char **argv);
int cli__cmd_resume(cli_ctx *ctx, int argc, char **argv);
int cli__cmd_quit(cli_ctx *ctx, int argc, char **argv);
int cli__cmd_plugin(cli_ctx *ctx, int argc, char **argv);
int cli__cmd_history(cli_ctx *ctx, int argc, char **argv);
int cli__cmd_publish(cli_ctx *ctx, int argc, char **argv);
/* listen --since: replay the stored messages from @since, then follow, as
 * listen lines; @count and @timeout as listen's. An exit code. */
int cli__history_listen(cli_ctx *ctx, const char *pattern, const char *since, long count,
                        double timeout);

/* ---- send.c ---- */
/* A command-line value: JSON when @s is one complete JSON text (scalar,
 * array or object), else the string itself. (transfer full, NULL = null) */
json_object *cli__value_parse(const char *s);
/* Send one message with hub.twitter; takes @args/@kwargs (transfer full).
 * CLI_OK when the hub answered "ok", else the exit code (line printed). */
int cli__send_message(cli_ctx *ctx, const char *id, json_object *args, json_object *kwargs);
/* Parse @s as JSON of @type (json_type_array/object); NULL if it is not. */
json_object *cli__json_parse_typed(const char *s, json_type type);

/* ---- status.c ---- */
void cli__print_instances(json_object *instances, FILE *out);

#endif /* BERRYMQ_CLI_H */
