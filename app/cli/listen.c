/* listen.c - `berrymq listen`: a style-03 queue connection in the hub,
 * drained with blocking `get` calls and printed as JSON lines.
 *
 * Each `get` blocks in the hub for at most POLL_S seconds so the connection
 * never reaches its idle ttl, and the wait in this process is a poll() that
 * SIGINT/SIGTERM interrupt; the queue is then closed in the hub with
 * close_connection so it stops collecting messages for a gone listener.
 */
#include "cli.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_S        20.0 /* longest single blocking get */
#define CONN_TTL_S    120  /* idle ttl of the queue connection: well above POLL_S */
#define CALL_MARGIN_S 10.0
#define BATCH_MAX     1000 /* messages per bmq.get_many answer */

/* Print one message line; false when stdout is gone. */
static bool print_message(json_object *res)
{
    json_object *line = json_object_new_object();
    json_object *id = json_object_array_get_idx(res, 0);
    json_object *args = json_object_array_get_idx(res, 1);
    json_object *kwargs = json_object_array_get_idx(res, 2);
    json_object_object_add(line, "id", json_object_get(id));
    json_object_object_add(line, "args", args ? json_object_get(args) : json_object_new_array());
    json_object_object_add(line, "kwargs",
                           kwargs ? json_object_get(kwargs) : json_object_new_object());
    const char *text = json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    bool ok = fputs(text, stdout) >= 0 && fputc('\n', stdout) != EOF && fflush(stdout) == 0;
    json_object_put(line);
    return ok;
}

static bool lossy;

static int parse_args(cli_ctx *ctx, int argc, char **argv, const char **pattern, long *count,
                      double *timeout, const char **since)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"count", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'},
        {"since", required_argument, NULL, 's'},
        {"lossy", no_argument, NULL, 'L'},
        {0},
    };
    const char *cmd = "listen";
    int opt, rc;
    long long n;
    while ((opt = cli__getopt(ctx, cmd, argc, argv, ":hn:t:s:", longopts, &rc)) != -1) {
        switch (opt) {
        case 'n':
            if ((rc = cli__opt_long(cmd, "--count", optarg, 1, LONG_MAX, &n)))
                return rc;
            *count = (long)n;
            break;
        case 's':
            *since = optarg;
            break;
        case 'L':
            lossy = true;
            break;
        case 't':
            if ((rc = cli__opt_seconds(cmd, "--timeout", optarg, timeout)))
                return rc;
            break;
        }
    }
    if (rc != CLI_OK)
        return rc;
    if (argc - optind > 1)
        return cli__usage(cmd, "only one PATTERN, got '%s' after '%s'", argv[optind + 1],
                          argv[optind]);
    if (optind < argc)
        *pattern = argv[optind];
    return CLI_OK;
}

int cli__cmd_listen(cli_ctx *ctx, int argc, char **argv)
{
    const char *pattern = "*";
    long count = 0;      /* 0: no limit */
    double timeout = -1; /* <0: wait forever */
    const char *since = NULL;
    int rc = parse_args(ctx, argc, argv, &pattern, &count, &timeout, &since);
    if (rc != CLI_OK)
        return rc == CLI_HELPED ? CLI_OK : rc;
    if (since) /* stored messages, then new ones: all by seq from the history */
        return cli__history_listen(ctx, pattern, since, count, timeout);

    cli__signals_install();
    json_object *params = json_object_new_array();
    json_object_array_add(params, json_object_new_string(pattern));
    json_object_array_add(params, json_object_new_int(CONN_TTL_S));
    json_object *token = NULL;
    rc = cli__call(ctx, "connect_via_queue", params, CALL_MARGIN_S, &token);
    if (rc != CLI_OK)
        return rc;
    if (!json_object_is_type(token, json_type_string)) {
        cli__err("hub refused to follow '%s': %s", pattern,
                 json_object_to_json_string_ext(token, JSON_C_TO_STRING_PLAIN));
        json_object_put(token);
        return CLI_EREJECT;
    }
    /* From here on a signal interrupts the waiting call instead of killing us. */
    ctx->interrupt = &cli__stop;
    long seen = 0;
    bool done = false;
    /* Our hubs answer bmq.get_many: many messages per call and the count of
     * those the queue dropped; other nodes get one get per message. */
    bool many = true;
    double idle_deadline = timeout >= 0 ? cli__now() + timeout : INFINITY;
    while (!cli__stop && (count == 0 || seen < count)) {
        double wait = idle_deadline - cli__now();
        if (wait < 0)
            wait = 0; /* still ask once: drain what is already queued */
        if (wait > POLL_S)
            wait = POLL_S;
        params = json_object_new_array();
        json_object_array_add(params, json_object_get(token));
        json_object_array_add(params, json_object_new_boolean(true));
        json_object_array_add(params, json_object_new_double(wait));
        if (many) {
            long left = count ? count - seen : BATCH_MAX;
            json_object_array_add(params, json_object_new_int(left < BATCH_MAX ? (int)left
                                                                               : BATCH_MAX));
        }
        json_object *res = NULL;
        char *errtext = NULL;
        double t0 = cli__now();
        cli_rpc_status st = cli__rpc(ctx, many ? "bmq.get_many" : "get", params,
                                     wait + CALL_MARGIN_S, &res, &errtext);
        json_object *msgs = NULL, *dropped = NULL;
        if (many && st == CLI_RPC_ERROR && ctx->rpc_code == CLI_RPC_EMETHOD) {
            many = false; /* not one of our hubs: ask again the original way */
        } else if (many && st == CLI_RPC_OK && json_object_is_type(res, json_type_object) &&
                   json_object_object_get_ex(res, "messages", &msgs) &&
                   json_object_is_type(msgs, json_type_array)) {
            size_t n = json_object_array_length(msgs);
            for (size_t i = 0; i < n && !cli__stop; i++) {
                seen++;
                if (!print_message(json_object_array_get_idx(msgs, i)))
                    cli__stop = 1;
            }
            if (n && timeout >= 0)
                idle_deadline = cli__now() + timeout;
            int64_t lost = json_object_object_get_ex(res, "dropped", &dropped)
                               ? json_object_get_int64(dropped)
                               : 0;
            if (lost > 0) {
                /* Name the bound that dropped them, as the hub tells. */
                json_object *by = NULL;
                char limits[96] = "";
                if (json_object_object_get_ex(res, "dropped_by", &by) &&
                    json_object_is_type(by, json_type_object)) {
                    json_object_object_foreach(by, k, v)
                    {
                        (void)v;
                        if (strlen(limits) + strlen(k) + 3 < sizeof limits)
                            strcat(strcat(limits, limits[0] ? ", " : ": "), k);
                    }
                }
                cli__err("lost %lld messages (queue full%s)", (long long)lost, limits);
                if (!lossy)
                    rc = CLI_ELOST;
            }
            if (!n && cli__now() >= idle_deadline)
                done = true;
            else if (!n && cli__now() - t0 < wait / 2)
                usleep(50000);
        } else if (st == CLI_RPC_OK && json_object_is_type(res, json_type_array) &&
            json_object_array_length(res) >= 1) {
            seen++;
            if (timeout >= 0)
                idle_deadline = cli__now() + timeout;
            if (!print_message(res))
                cli__stop = 1;
        } else if (st == CLI_RPC_OK && json_object_is_type(res, json_type_string) &&
                   strcmp(json_object_get_string(res), "timeout") == 0) {
            if (cli__now() >= idle_deadline)
                done = true; /* --timeout: nothing more came */
            else if (cli__now() - t0 < wait / 2)
                usleep(50000); /* a peer that does not block: do not spin */
        } else if (st == CLI_RPC_ERROR) {
            /* Original berryMQ nodes answer an empty queue with an error
             * object: no message. Do not spin on a node that never blocks. */
            if (cli__now() >= idle_deadline)
                done = true;
            else if (cli__now() - t0 < wait)
                usleep(100000);
        } else if (st == CLI_RPC_OK) {
            cli__err("hub rejected the listener: %s",
                     json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN));
            rc = CLI_EREJECT;
        } else if (st != CLI_RPC_INTERRUPTED) {
            rc = cli__report(ctx, st, errtext);
        }
        json_object_put(res);
        free(errtext);
        if (rc != CLI_OK || done)
            break;
    }
    /* Close even after a signal: the flag must not cut this call short. */
    ctx->interrupt = NULL;
    if (rc != CLI_EHUB) {
        json_object *res = NULL;
        char *errtext = NULL;
        params = json_object_new_array();
        json_object_array_add(params, json_object_get(token));
        cli__rpc(ctx, "close_connection", params, CALL_MARGIN_S, &res, &errtext);
        json_object_put(res);
        free(errtext);
    }
    json_object_put(token);
    return rc;
}
