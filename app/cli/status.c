/* status.c - `berrymq status`: a readable summary of hub.status, or the raw
 * result with --json. Fields the hub leaves out are skipped, so an older or
 * newer hub still gets a useful summary.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

#define STATUS_TIMEOUT_S 10.0

static const char *str_field(json_object *o, const char *key, const char *dflt)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return dflt;
    if (json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* A JSON value for humans: doubles with one decimal, the rest as JSON. */
static void print_value(json_object *v, FILE *out)
{
    if (json_object_is_type(v, json_type_double))
        fprintf(out, "%.1f", json_object_get_double(v));
    else if (json_object_is_type(v, json_type_string))
        fputs(json_object_get_string(v), out);
    else
        fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), out);
}

static void print_duration(double s, FILE *out)
{
    long t = (long)s;
    if (t >= 86400)
        fprintf(out, "%ldd ", t / 86400);
    if (t >= 3600)
        fprintf(out, "%ldh ", t / 3600 % 24);
    if (t >= 60)
        fprintf(out, "%ldm ", t / 60 % 60);
    fprintf(out, "%lds", t % 60);
}

/* "k1 v1, k2 v2" for a flat object of numbers. */
static void print_counters(const char *label, json_object *o, FILE *out)
{
    if (!json_object_is_type(o, json_type_object))
        return;
    fprintf(out, "%-10s", label);
    const char *sep = "";
    json_object_object_foreach(o, k, v)
    {
        fprintf(out, "%s%s ", sep, k);
        print_value(v, out);
        sep = ", ";
    }
    fputc('\n', out);
}

void cli__print_instances(json_object *instances, FILE *out)
{
    size_t n =
        json_object_is_type(instances, json_type_array) ? json_object_array_length(instances) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *in = json_object_array_get_idx(instances, i);
        const char *state = str_field(in, "state", NULL);
        json_object *en = NULL;
        if (!state && json_object_object_get_ex(in, "enabled", &en))
            state = json_object_get_boolean(en) ? "running" : "disabled";
        char plugin[160];
        snprintf(plugin, sizeof plugin, "%s %s", str_field(in, "plugin", "?"),
                 str_field(in, "version", ""));
        fprintf(out, "  %-16s %-24s %s", str_field(in, "id", "?"), plugin, state ? state : "");
        const char *err = str_field(in, "error", NULL);
        if (err)
            fprintf(out, ": %s", err);
        fputc('\n', out);
    }
}

/* The instance's own counters (what `status --json` shows under
 * instances[].status.status), scalars only, wrapped at about 80 columns. */
static void print_instance_counters(json_object *in, FILE *out)
{
    json_object *outer = NULL, *own = NULL;
    if (!json_object_object_get_ex(in, "status", &outer) ||
        !json_object_object_get_ex(outer, "status", &own) ||
        !json_object_is_type(own, json_type_object))
        return;
    int col = 0;
    json_object_object_foreach(own, k, v)
    {
        if (!v || json_object_is_type(v, json_type_object) ||
            json_object_is_type(v, json_type_array))
            continue;
        char val[96];
        if (json_object_is_type(v, json_type_double))
            snprintf(val, sizeof val, "%.1f", json_object_get_double(v));
        else if (json_object_is_type(v, json_type_string))
            snprintf(val, sizeof val, "%s", json_object_get_string(v));
        else
            snprintf(val, sizeof val, "%s", json_object_to_json_string(v));
        int w = (int)(strlen(k) + 1 + strlen(val));
        if (col == 0) {
            fputs("    ", out);
            col = 4;
        } else if (col + 2 + w > 80) {
            fputs(",\n    ", out);
            col = 4;
        } else {
            fputs(", ", out);
            col += 2;
        }
        col += fprintf(out, "%s %s", k, val);
    }
    if (col)
        fputc('\n', out);
}

static void print_links(json_object *links, FILE *out)
{
    size_t n = json_object_is_type(links, json_type_array) ? json_object_array_length(links) : 0;
    fprintf(out, "links:    %zu\n", n);
    for (size_t i = 0; i < n; i++) {
        json_object *l = json_object_array_get_idx(links, i);
        fprintf(out, "  %-12s %-22s", str_field(l, "style", "?"), str_field(l, "peer", "-"));
        const char *pattern = str_field(l, "pattern", NULL);
        if (pattern)
            fprintf(out, " pattern %s", pattern);
        static const char *const nums[] = {"idle_s", "sent", "received", "queued", "failed"};
        for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
            json_object *v = NULL;
            if (json_object_object_get_ex(l, nums[k], &v) && v) {
                fprintf(out, " %s ", nums[k]);
                print_value(v, out);
            }
        }
        fputc('\n', out);
    }
}

/* The links of hub.json, as the hub keeps them: state, and while one is
 * down why and when it is tried next. */
static void print_configured_links(json_object *links, FILE *out)
{
    size_t n = json_object_is_type(links, json_type_array) ? json_object_array_length(links) : 0;
    if (!n)
        return;
    fprintf(out, "hub.json links: %zu\n", n);
    for (size_t i = 0; i < n; i++) {
        json_object *l = json_object_array_get_idx(links, i), *v = NULL;
        fprintf(out, "  %-12s %-22s %s", str_field(l, "style", "?"), str_field(l, "peer", "?"),
                str_field(l, "state", "?"));
        if (json_object_object_get_ex(l, "attempts", &v) && json_object_get_int(v) > 0)
            fprintf(out, " (%d failed tr%s)", json_object_get_int(v),
                    json_object_get_int(v) == 1 ? "y" : "ies");
        const char *err = str_field(l, "last_error", NULL);
        if (err)
            fprintf(out, ": %s", err);
        if (json_object_object_get_ex(l, "next_try_in_s", &v) && v)
            fprintf(out, "; next try in %.0f s", json_object_get_double(v));
        fputc('\n', out);
    }
}

/* "history:  ok, 1234 messages, 2.1 MiB, /path" (+ the error, if any). */
static void print_history(json_object *st, FILE *out)
{
    json_object *h = NULL, *v = NULL;
    if (!json_object_object_get_ex(st, "history", &h) || !h)
        return;
    fprintf(out, "history:  %s", str_field(h, "state", "?"));
    if (json_object_object_get_ex(h, "messages", &v))
        fprintf(out, ", %s messages", json_object_to_json_string(v));
    if (json_object_object_get_ex(h, "bytes", &v))
        fprintf(out, ", %.1f MiB", (double)json_object_get_int64(v) / (1024.0 * 1024.0));
    if (json_object_object_get_ex(h, "path", &v))
        fprintf(out, ", %s", json_object_get_string(v));
    if (json_object_object_get_ex(h, "error", &v) && v)
        fprintf(out, ": %s", json_object_get_string(v));
    fputc('\n', out);
}

static void print_status(json_object *st, FILE *out)
{
    json_object *v = NULL, *server = NULL;
    fprintf(out, "berryMQ hub %s", str_field(st, "version", "?"));
    if (json_object_object_get_ex(st, "pid", &v))
        fprintf(out, ", pid %s", json_object_to_json_string(v));
    if (json_object_object_get_ex(st, "uptime_s", &v)) {
        fputs(", up ", out);
        print_duration(json_object_get_double(v), out);
    }
    fputc('\n', out);
    json_object_object_get_ex(st, "server", &server);
    fprintf(out, "listen:   %s\n", str_field(st, "listen", str_field(server, "listen", "?")));
    fprintf(out, "node:     %s\n", str_field(st, "node_id", str_field(server, "node_id", "?")));
    const char *file = str_field(st, "config_file", NULL);
    const char *path = str_field(st, "config", NULL);
    if (file && path && strcmp(file, path) != 0)
        fprintf(out, "config:   %s (no %s)\n", file, path);
    else
        fprintf(out, "config:   %s\n", file ? file : path ? path : "(built-in defaults)");
    json_object *inst = NULL;
    json_object_object_get_ex(st, "instances", &inst);
    size_t n = json_object_is_type(inst, json_type_array) ? json_object_array_length(inst) : 0;
    fprintf(out, "instances: %zu\n", n);
    for (size_t i = 0; i < n; i++) {
        json_object *in = json_object_array_get_idx(inst, i);
        json_object *one = json_object_new_array();
        json_object_array_add(one, json_object_get(in));
        cli__print_instances(one, out);
        json_object_put(one);
        print_instance_counters(in, out);
    }
    json_object *links = NULL;
    json_object_object_get_ex(st, "links", &links);
    print_configured_links(links, out);
    links = NULL;
    json_object_object_get_ex(server, "links", &links);
    print_links(links, out);
    json_object *counters = NULL;
    if (json_object_object_get_ex(st, "counters", &counters))
        print_counters("messages: ", counters, out);
    if (json_object_object_get_ex(server, "counters", &counters))
        print_counters("rpc:      ", counters, out);
    print_history(st, out);
}

int cli__cmd_status(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"json", no_argument, NULL, 'j'},
        {0},
    };
    bool as_json = false;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        int r = cli__common_opt(ctx, opt, optarg);
        if (r < 0)
            return CLI_EUSAGE;
        if (r > 0)
            continue;
        if (opt == CLI_OPT_HELP || opt == 'h') {
            cli__help("status", stdout);
            return CLI_OK;
        }
        if (opt == 'j') {
            as_json = true;
            continue;
        }
        return cli__opt_error("status", opt, argv);
    }
    if (optind < argc)
        return cli__usage("status", "unexpected argument '%s'", argv[optind]);
    json_object *st = NULL;
    int rc = cli__call(ctx, "hub.status", NULL, STATUS_TIMEOUT_S, &st);
    if (rc != CLI_OK)
        return rc;
    if (as_json)
        printf("%s\n", json_object_to_json_string_ext(st, JSON_C_TO_STRING_PRETTY |
                                                              JSON_C_TO_STRING_SPACED |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
    else
        print_status(st, stdout);
    json_object_put(st);
    return CLI_OK;
}
