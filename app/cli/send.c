/* send.c - `berrymq twitter` (alias `send`).
 *
 * It builds one message and sends it with a single hub.twitter request: the
 * hub answers "ok" once the message is accepted, so the exit status tells a
 * script whether the hub took it.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <berrymq/json.h>

#define SEND_TIMEOUT_S 10.0

/* True when @s is exactly one JSON text (any type, null included). */
static bool is_json(const char *s, json_object **out)
{
    /* Exact big integers, no NUL, valid UTF-8: what the hub accepts. */
    return bmq_json_parse(s, strlen(s), BMQ_JSON_STRICT, out, NULL) == 0;
}

json_object *cli__json_parse_typed(const char *s, json_type type)
{
    json_object *v = NULL;
    if (!is_json(s, &v))
        return NULL;
    if (!json_object_is_type(v, type)) {
        json_object_put(v);
        return NULL;
    }
    return v;
}

json_object *cli__value_parse(const char *s)
{
    json_object *v = NULL;
    if (*s && is_json(s, &v))
        return v;
    return json_object_new_string(s);
}

int cli__send_message(cli_ctx *ctx, const char *id, json_object *args, json_object *kwargs)
{
    json_object *params = json_object_new_array();
    json_object_array_add(params, json_object_new_string(id));
    json_object_array_add(params, args);
    json_object_array_add(params, kwargs);
    json_object *res = NULL;
    int rc = cli__call(ctx, "hub.twitter", params, SEND_TIMEOUT_S, &res);
    if (rc == CLI_OK && !(json_object_is_type(res, json_type_string) &&
                          strcmp(json_object_get_string(res), "ok") == 0)) {
        /* "invalid token"/"timeout" or anything else than "ok" */
        cli__err("hub rejected %s: %s", id,
                 res ? json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN) : "null");
        rc = CLI_EREJECT;
    }
    json_object_put(res);
    return rc;
}

/* Apply "KEY=VALUE" to @kwargs; false if there is no '=' or no key. */
static bool kwarg_set(json_object *kwargs, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return false;
    char *key = strndup(kv, (size_t)(eq - kv));
    if (!key)
        return false;
    json_object_object_add(kwargs, key, cli__value_parse(eq + 1));
    free(key);
    return true;
}

/* getopt would read a negative number ("-5", "-.5") as options. Such
 * arguments are marked with a leading NEG_MARK (never the start of an
 * option) before parsing and unmarked wherever a value is taken. */
#define NEG_MARK '\x01'

static bool is_negative_number(const char *s)
{
    return s[0] == '-' &&
           ((s[1] >= '0' && s[1] <= '9') || (s[1] == '.' && s[2] >= '0' && s[2] <= '9'));
}

static const char *unmark(const char *s)
{
    return s && s[0] == NEG_MARK ? s + 1 : s;
}

int cli__cmd_twitter(cli_ctx *ctx, int argc, char **argv_in)
{
    enum { OPT_JARGS = 0x2001, OPT_JKWARGS };
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"kwarg", required_argument, NULL, 'k'},
        {"json-args", required_argument, NULL, OPT_JARGS},
        {"json-kwargs", required_argument, NULL, OPT_JKWARGS},
        {0},
    };
    const char *cmd = "twitter";
    const char *jargs = NULL, *jkwargs = NULL;
    /* -k values are applied after --json-kwargs whatever the order. */
    const char **kv = calloc((size_t)argc + 1, sizeof *kv);
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    size_t nkv = 0;
    int opt, rc = CLI_EUSAGE;
    json_object *args = NULL, *kwargs = NULL;
    if (!kv || !argv)
        goto out;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && is_negative_number(argv_in[i]) &&
            asprintf(&argv[i], "%c%s", NEG_MARK, argv_in[i]) < 0)
            goto out;
        if (!argv[i])
            argv[i] = strdup(argv_in[i]);
        if (!argv[i])
            goto out;
    }
    while ((opt = getopt_long(argc, argv, ":hk:", longopts, NULL)) != -1) {
        int r = cli__common_opt(ctx, opt, optarg);
        if (r < 0)
            goto out;
        if (r > 0)
            continue;
        switch (opt) {
        case 'h':
        case CLI_OPT_HELP:
            cli__help(cmd, stdout);
            rc = CLI_OK;
            goto out;
        case 'k':
            kv[nkv++] = unmark(optarg);
            break;
        case OPT_JARGS:
            jargs = unmark(optarg);
            break;
        case OPT_JKWARGS:
            jkwargs = unmark(optarg);
            break;
        default:
            rc = cli__opt_error(cmd, opt, argv);
            goto out;
        }
    }
    if (optind >= argc) {
        rc = cli__usage(cmd, "missing message ID");
        goto out;
    }
    const char *id = unmark(argv[optind++]);
    args = jargs ? cli__json_parse_typed(jargs, json_type_array) : json_object_new_array();
    if (!args) {
        rc = cli__usage(cmd, "--json-args needs a JSON array, got '%s'", jargs);
        goto out;
    }
    kwargs = jkwargs ? cli__json_parse_typed(jkwargs, json_type_object) : json_object_new_object();
    if (!kwargs) {
        rc = cli__usage(cmd, "--json-kwargs needs a JSON object, got '%s'", jkwargs);
        goto out;
    }
    for (; optind < argc; optind++)
        json_object_array_add(args, cli__value_parse(unmark(argv[optind])));
    for (size_t i = 0; i < nkv; i++) {
        if (!kwarg_set(kwargs, kv[i])) {
            rc = cli__usage(cmd, "-k needs KEY=VALUE, got '%s'", kv[i]);
            goto out;
        }
    }
    rc = cli__send_message(ctx, id, args, kwargs);
    args = kwargs = NULL;
out:
    json_object_put(args);
    json_object_put(kwargs);
    for (int i = 0; argv && i < argc; i++)
        free(argv[i]);
    free(argv);
    free(kv);
    return rc;
}
