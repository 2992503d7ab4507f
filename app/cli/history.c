/* history.c - `berrymq history` and `berrymq listen --since`: read the
 * hub's stored messages with hub.history, page by page, then (--follow)
 * long-poll for newer ones. Everything goes by seq, so replay and follow
 * meet without a gap or a duplicate.
 */

#include "cli.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE        1000 /* messages per hub.history call */
#define POLL_S      20.0 /* longest single wait in the hub */
#define CALL_MARGIN 10.0
#define TAIL_LIMIT  100 /* without --since: the newest 100 */

#define MAX(a, b) ((a) > (b) ? (a) : (b))

typedef struct run {
    cli_ctx *ctx;
    const char *pattern; /* nullable */
    const char *until;   /* nullable */
    bool json;
    bool listen_shape; /* listen's {"id","args","kwargs"} lines */
    long limit;        /* 0: none */
    long printed;
    bool out_gone;
} run;

static const char *plain(json_object *v)
{
    return json_object_to_json_string_ext(v,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* "2026-12-05T05:16:40.599Z" -> local "2026-12-05 06:16:40.599". */
static void local_time(const char *iso, char *out, size_t n)
{
    struct tm tm = {0};
    const char *rest = iso ? strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest) {
        snprintf(out, n, "%s", iso ? iso : "?");
        return;
    }
    time_t t = timegm(&tm);
    struct tm lt;
    localtime_r(&t, &lt);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%d %H:%M:%S", &lt);
    int ms = rest[0] == '.' ? atoi(rest + 1) : 0;
    snprintf(out, n, "%s.%03d", base, ms);
}

static json_object *field(json_object *o, const char *k)
{
    json_object *v = NULL;
    json_object_object_get_ex(o, k, &v);
    return v;
}

static void print_record(run *r, json_object *rec)
{
    int ok;
    if (r->listen_shape) {
        json_object *line = json_object_new_object();
        json_object_object_add(line, "id", json_object_get(field(rec, "id")));
        json_object_object_add(line, "args", json_object_get(field(rec, "args")));
        json_object_object_add(line, "kwargs", json_object_get(field(rec, "kwargs")));
        ok = printf("%s\n", plain(line));
        json_object_put(line);
    } else if (r->json) {
        ok = printf("%s\n", plain(rec));
    } else {
        char when[48];
        local_time(json_object_get_string(field(rec, "time")), when, sizeof when);
        json_object *args = field(rec, "args"), *kwargs = field(rec, "kwargs");
        ok = printf("%s  %s", when, json_object_get_string(field(rec, "id")));
        if (ok >= 0 && json_object_array_length(args) > 0)
            ok = printf("  %s", plain(args));
        if (ok >= 0 && json_object_object_length(kwargs) > 0)
            ok = printf("  %s", plain(kwargs));
        if (ok >= 0)
            ok = printf("\n");
    }
    if (ok < 0 || fflush(stdout) != 0)
        r->out_gone = true;
    r->printed++;
}

/* One hub.history call. *res (transfer full) is the array on CLI_OK. */
static int call(run *r, json_object *since, long limit, double wait, json_object **res)
{
    json_object *params = json_object_new_array();
    json_object_array_add(params, r->pattern ? json_object_new_string(r->pattern) : NULL);
    json_object_array_add(params, since);
    json_object_array_add(params, json_object_new_int64(limit));
    json_object *opts = json_object_new_object();
    if (r->until)
        json_object_object_add(opts, "until", json_object_new_string(r->until));
    if (wait > 0)
        json_object_object_add(opts, "wait", json_object_new_double(wait));
    json_object_array_add(params, opts);
    char *errtext = NULL;
    cli_rpc_status st = cli__rpc(r->ctx, "hub.history", params, wait + CALL_MARGIN, res, &errtext);
    int rc = CLI_OK;
    if (st == CLI_RPC_INTERRUPTED) {
        rc = -1;
    } else if (st != CLI_RPC_OK) {
        rc = cli__report(r->ctx, st, errtext);
    } else if (!json_object_is_type(*res, json_type_array)) {
        cli__err("hub.history answered %s", plain(*res));
        rc = CLI_EREJECT;
    }
    free(errtext);
    if (rc != CLI_OK) {
        json_object_put(*res);
        *res = NULL;
    }
    return rc;
}

static int64_t last_seq_of(json_object *arr, int64_t dflt)
{
    size_t n = json_object_array_length(arr);
    return n ? json_object_get_int64(field(json_object_array_get_idx(arr, n - 1), "seq")) : dflt;
}

static long page_size(run *r)
{
    return r->limit && r->limit - r->printed < PAGE ? r->limit - r->printed : PAGE;
}

/* The seq of the newest stored message (any id), 0 when none. */
static int newest_seq(run *r, int64_t *seq)
{
    run all = *r;
    all.pattern = NULL;
    all.until = NULL;
    json_object *res = NULL;
    int rc = call(&all, NULL, 1, 0, &res);
    if (rc == CLI_OK)
        *seq = last_seq_of(res, 0);
    json_object_put(res);
    return rc;
}

/* Print from @since (string, nullable: the newest --limit) to now; *from
 * gets the seq to follow from. */
static int replay(run *r, const char *since, int64_t *from)
{
    json_object *res = NULL;
    int rc;
    if (!since) {
        rc = call(r, NULL, r->limit ? r->limit : TAIL_LIMIT, 0, &res);
        if (rc != CLI_OK)
            return rc;
        for (size_t i = 0; i < json_object_array_length(res) && !r->out_gone; i++)
            print_record(r, json_object_array_get_idx(res, i));
        *from = MAX(*from, last_seq_of(res, 0));
        json_object_put(res);
        return CLI_OK;
    }
    json_object *point = json_object_new_string(since);
    for (;;) {
        long want = page_size(r);
        rc = call(r, point, want, 0, &res);
        if (rc != CLI_OK)
            return rc;
        size_t n = json_object_array_length(res);
        for (size_t i = 0; i < n && !r->out_gone; i++)
            print_record(r, json_object_array_get_idx(res, i));
        if (n)
            *from = MAX(*from, last_seq_of(res, 0));
        json_object_put(res);
        if ((long)n < want || r->out_gone || (r->limit && r->printed >= r->limit) || cli__stop)
            return CLI_OK;
        point = json_object_new_int64(*from);
    }
}

/* Long-poll for messages after @from until a signal, --count or the idle
 * timeout (< 0: none). */
static int follow(run *r, int64_t from, double idle_timeout)
{
    double idle_deadline = idle_timeout >= 0 ? cli__now() + idle_timeout : INFINITY;
    while (!cli__stop && !r->out_gone && (!r->limit || r->printed < r->limit)) {
        double wait = idle_deadline - cli__now();
        if (wait <= 0)
            return CLI_OK;
        if (wait > POLL_S)
            wait = POLL_S;
        json_object *res = NULL;
        int rc = call(r, json_object_new_int64(from), page_size(r), wait, &res);
        if (rc < 0)
            return CLI_OK; /* interrupted */
        if (rc != CLI_OK)
            return rc;
        size_t n = json_object_array_length(res);
        for (size_t i = 0; i < n && !r->out_gone; i++)
            print_record(r, json_object_array_get_idx(res, i));
        if (n) {
            from = last_seq_of(res, from);
            if (idle_timeout >= 0)
                idle_deadline = cli__now() + idle_timeout;
        }
        json_object_put(res);
    }
    return CLI_OK;
}

static void install_signals(cli_ctx *ctx)
{
    cli__signals_install();
    ctx->interrupt = &cli__stop;
}

int cli__history_listen(cli_ctx *ctx, const char *pattern, const char *since, long count,
                        double timeout)
{
    install_signals(ctx);
    run r = {.ctx = ctx, .pattern = pattern, .listen_shape = true, .limit = count};
    int64_t from = 0;
    int rc = newest_seq(&r, &from);
    if (rc == CLI_OK)
        rc = replay(&r, since, &from);
    if (rc == CLI_OK)
        rc = follow(&r, from, timeout);
    ctx->interrupt = NULL;
    return rc < 0 ? CLI_OK : rc;
}

int cli__cmd_history(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},
        {"limit", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"follow", no_argument, NULL, 'f'},
        {0},
    };
    const char *cmd = "history";
    const char *since = NULL;
    bool follow_on = false;
    run r = {.ctx = ctx};
    int opt, rc;
    long long n;
    while ((opt = cli__getopt(ctx, cmd, argc, argv, ":hs:u:n:jf", longopts, &rc)) != -1) {
        switch (opt) {
        case 's':
            since = optarg;
            break;
        case 'u':
            r.until = optarg;
            break;
        case 'n':
            if ((rc = cli__opt_long(cmd, "--limit", optarg, 1, LONG_MAX, &n)))
                return rc;
            r.limit = (long)n;
            break;
        case 'j':
            r.json = true;
            break;
        case 'f':
            follow_on = true;
            break;
        }
    }
    if (rc != CLI_OK)
        return rc == CLI_HELPED ? CLI_OK : rc;
    if (argc - optind > 1)
        return cli__usage(cmd, "only one PATTERN, got '%s' after '%s'", argv[optind + 1],
                          argv[optind]);
    if (optind < argc)
        r.pattern = argv[optind];
    if (follow_on && r.until)
        return cli__usage(cmd, "--follow and --until do not go together");
    if (follow_on)
        install_signals(ctx);
    int64_t from = 0;
    if (follow_on) /* the seam: everything up to here is replayed, the rest followed */
        rc = newest_seq(&r, &from);
    if (rc == CLI_OK)
        rc = replay(&r, since, &from);
    if (rc == CLI_OK && follow_on) {
        r.limit = 0; /* --limit bounds the replay only */
        rc = follow(&r, from, -1);
    }
    ctx->interrupt = NULL;
    return rc < 0 ? CLI_OK : rc;
}
