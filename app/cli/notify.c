/* notify.c - `berrymq notify`: notify-send's options, through the hub.
 *
 * The message APP:notify carries kwarg "receipt", a name of our own
 * ("rPIDxRANDOM@receipt", in a namespace of its own so `listen '*'` and
 * history never see it), and we follow that name through a queue in the
 * hub before sending. A notify instance answers RECEIPT:shown {id},
 * :queued, :suppressed, :failed {error}, and later :action {key} and
 * :closed. That gives notify-send's -p (print the daemon's id), -w (wait
 * for the close), -A (print the chosen action) and an honest exit status
 * when nothing can show the notification.
 *
 * A hub without hub.status (an original berryMQ node) gets the message
 * alone, as before receipts existed.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CALL_TIMEOUT_S    10.0
#define RECEIPT_TIMEOUT_S 10.0 /* the first answer of a running instance */
#define POLL_S            20.0 /* longest single blocking get */
#define QUEUE_TTL_S       120

/* notify-send's --hint TYPE:NAME:VALUE into hints[NAME]. */
static bool hint_set(json_object *hints, const char *spec)
{
    const char *c1 = strchr(spec, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || c2 == c1 + 1)
        return false;
    size_t tlen = (size_t)(c1 - spec);
    const char *val = c2 + 1;
    json_object *v = NULL;
    if (tlen == 3 && strncmp(spec, "int", 3) == 0) {
        char *end;
        errno = 0;
        long long n = strtoll(val, &end, 10);
        if (errno || end == val || *end)
            return false;
        v = json_object_new_int64(n);
    } else if (tlen == 6 && strncmp(spec, "double", 6) == 0) {
        char *end;
        double d = strtod(val, &end);
        if (end == val || *end)
            return false;
        v = json_object_new_double(d);
    } else if (tlen == 7 && strncmp(spec, "boolean", 7) == 0) {
        if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0)
            return false;
        v = json_object_new_boolean(strcmp(val, "true") == 0);
    } else if ((tlen == 6 && strncmp(spec, "string", 6) == 0) ||
               (tlen == 4 && strncmp(spec, "byte", 4) == 0) ||
               (tlen == 7 && strncmp(spec, "variant", 7) == 0)) {
        v = json_object_new_string(val);
    } else {
        return false;
    }
    char *name = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
    if (!name) {
        json_object_put(v);
        return false;
    }
    json_object_object_add(hints, name, v);
    free(name);
    return true;
}

/* -A [NAME=]LABEL: actions[NAME] = LABEL; without NAME the action's index
 * among the -A options (from 0), as notify-send does. */
static bool action_add(json_object *actions, const char *spec, int index)
{
    const char *eq = strchr(spec, '=');
    char key[32];
    const char *label = spec;
    char *name = NULL;
    if (eq && eq != spec) {
        name = strndup(spec, (size_t)(eq - spec));
        label = eq + 1;
    } else {
        snprintf(key, sizeof key, "%d", index);
        name = strdup(key);
    }
    if (!name || !*label || strpbrk(name, ":@* \t")) {
        free(name);
        return false;
    }
    json_object_object_add(actions, name, json_object_new_string(label));
    free(name);
    return true;
}

typedef struct opts {
    const char *urgency, *icon, *app, *category;
    bool app_given, transient, print_id, wait;
    long long timeout, replace_id;
    json_object *hints, *actions; /* (nullable, owned) */
} opts;

static int parse(cli_ctx *ctx, int argc, char **argv, opts *o)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"urgency", required_argument, NULL, 'u'},
        {"expire-time", required_argument, NULL, 't'},
        {"icon", required_argument, NULL, 'i'},
        {"app-name", required_argument, NULL, 'a'},
        {"category", required_argument, NULL, 'c'},
        {"hint", required_argument, NULL, 'h'},
        {"transient", no_argument, NULL, 'e'},
        {"print-id", no_argument, NULL, 'p'},
        {"replace-id", required_argument, NULL, 'r'},
        {"action", required_argument, NULL, 'A'},
        {"wait", no_argument, NULL, 'w'},
        {0},
    };
    const char *cmd = "notify";
    int opt, rc, nactions = 0;
    while ((opt = cli__getopt(ctx, cmd, argc, argv, ":u:t:i:a:c:h:epr:A:w", longopts, &rc)) !=
           -1) {
        switch (opt) {
        case 'u':
            if (strcmp(optarg, "low") != 0 && strcmp(optarg, "normal") != 0 &&
                strcmp(optarg, "critical") != 0)
                return cli__usage(cmd, "urgency must be low, normal or critical, not '%s'", optarg);
            o->urgency = optarg;
            break;
        case 't':
            if ((rc = cli__opt_long(cmd, "--expire-time", optarg, -1, INT32_MAX, &o->timeout)))
                return rc;
            break;
        case 'i':
            o->icon = optarg;
            break;
        case 'a':
            o->app = optarg;
            o->app_given = true;
            break;
        case 'c':
            o->category = optarg;
            break;
        case 'h':
            if (!o->hints)
                o->hints = json_object_new_object();
            if (!hint_set(o->hints, optarg))
                return cli__usage(cmd, "--hint needs TYPE:NAME:VALUE, not '%s'", optarg);
            break;
        case 'e':
            o->transient = true;
            break;
        case 'p':
            o->print_id = true;
            break;
        case 'r':
            if ((rc = cli__opt_long(cmd, "--replace-id", optarg, 1, INT32_MAX, &o->replace_id)))
                return rc;
            break;
        case 'A':
            if (!o->actions)
                o->actions = json_object_new_object();
            if (!action_add(o->actions, optarg, nactions++))
                return cli__usage(cmd,
                                  "--action needs [NAME=]LABEL (NAME without ':', '@', "
                                  "'*' or spaces), not '%s'",
                                  optarg);
            /* notify-send: an action implies --wait. */
            o->wait = true;
            break;
        case 'w':
            o->wait = true;
            break;
        }
    }
    if (rc != CLI_OK)
        return rc;
    if (optind >= argc)
        return cli__usage(cmd, "missing SUMMARY");
    if (argc - optind > 2)
        return cli__usage(cmd, "too many arguments (quote the body: SUMMARY [BODY])");
    if (!*o->app || strlen(o->app) > 200 || strpbrk(o->app, ":@* \t"))
        return cli__usage(cmd, "--app-name must be a plain name (no ':', '@', '*' or spaces)");
    return CLI_OK;
}

static json_object *build_kwargs(const opts *o, const char *summary, const char *body,
                                 const char *receipt)
{
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "title", json_object_new_string(summary));
    json_object_object_add(kw, "body", json_object_new_string(body ? body : ""));
    json_object_object_add(kw, "urgency", json_object_new_string(o->urgency));
    json_object_object_add(kw, "timeout", json_object_new_int64(o->timeout));
    json_object_object_add(kw, "icon", json_object_new_string(o->icon));
    /* notify-send's -a: the application name the daemon sees (dunst rules
     * match on it); without -a the notify instance's app_name is used. */
    if (o->app_given)
        json_object_object_add(kw, "app", json_object_new_string(o->app));
    if (o->category)
        json_object_object_add(kw, "category", json_object_new_string(o->category));
    if (o->hints)
        json_object_object_add(kw, "hints", json_object_get(o->hints));
    if (o->transient)
        json_object_object_add(kw, "transient", json_object_new_boolean(true));
    if (o->actions)
        json_object_object_add(kw, "actions", json_object_get(o->actions));
    if (o->replace_id > 0)
        json_object_object_add(kw, "replace_id", json_object_new_int64(o->replace_id));
    if (receipt)
        json_object_object_add(kw, "receipt", json_object_new_string(receipt));
    return kw;
}

/* Does the follow pattern @filter (as instances report it in their status)
 * take APP:notify? Namespaced patterns never do. */
static bool filter_takes(const char *filter, const char *app)
{
    if (!filter || strchr(filter, '@'))
        return false;
    const char *colon = strchr(filter, ':');
    size_t nlen = colon ? (size_t)(colon - filter) : strlen(filter);
    const char *action = colon ? colon + 1 : "*";
    bool name_ok =
        (nlen == 1 && filter[0] == '*') || (nlen == strlen(app) && strncmp(filter, app, nlen) == 0);
    return name_ok && (strcmp(action, "*") == 0 || strcmp(action, "notify") == 0);
}

/* What can take APP:notify in the hub: running notify instances (they
 * answer receipts) and other running instances whose filter takes it
 * (webhook, growl, ... forward it). Returns the notify count, -1 when the
 * hub has no hub.status (not one of ours), or -(exit code) - 10. */
static int count_notify_instances(cli_ctx *ctx, const char *app, int *forwarders)
{
    *forwarders = 0;
    json_object *st = NULL;
    char *errtext = NULL;
    cli_rpc_status rs = cli__rpc(ctx, "hub.status", NULL, CALL_TIMEOUT_S, &st, &errtext);
    if (rs == CLI_RPC_ERROR) {
        free(errtext);
        return -1;
    }
    if (rs != CLI_RPC_OK) {
        int rc = cli__report(ctx, rs, errtext);
        free(errtext);
        return -10 - rc;
    }
    free(errtext);
    json_object *inst = NULL;
    int n = 0;
    if (json_object_object_get_ex(st, "instances", &inst) &&
        json_object_is_type(inst, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(inst); i++) {
            json_object *in = json_object_array_get_idx(inst, i), *plugin = NULL, *state = NULL;
            json_object *outer = NULL, *own = NULL, *filter = NULL;
            if (!json_object_object_get_ex(in, "state", &state) ||
                strcmp(json_object_get_string(state), "running") != 0)
                continue;
            if (json_object_object_get_ex(in, "plugin", &plugin) &&
                strcmp(json_object_get_string(plugin), "notify") == 0)
                n++;
            else if (json_object_object_get_ex(in, "status", &outer) &&
                     json_object_object_get_ex(outer, "status", &own) &&
                     json_object_object_get_ex(own, "filter", &filter) &&
                     filter_takes(json_object_get_string(filter), app))
                (*forwarders)++;
        }
    }
    json_object_put(st);
    return n;
}

static void close_queue(cli_ctx *ctx, json_object *token)
{
    json_object *params = json_object_new_array(), *res = NULL;
    char *errtext = NULL;
    json_object_array_add(params, json_object_get(token));
    cli__rpc(ctx, "close_connection", params, CALL_TIMEOUT_S, &res, &errtext);
    json_object_put(res);
    free(errtext);
}

static const char *kw_str(json_object *kwargs, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(kwargs, key, &v) || !v)
        return NULL;
    return json_object_get_string(v);
}

/* Wait on the receipt queue @token until the notification is settled for
 * what @o asked. Returns the exit code. */
static int follow_receipts(cli_ctx *ctx, json_object *token, const opts *o)
{
    double first_deadline = cli__now() + RECEIPT_TIMEOUT_S;
    bool answered = false;
    while (!cli__stop) {
        double wait = answered ? POLL_S : first_deadline - cli__now();
        if (wait < 0)
            wait = 0;
        if (wait > POLL_S)
            wait = POLL_S;
        json_object *params = json_object_new_array(), *res = NULL;
        json_object_array_add(params, json_object_get(token));
        json_object_array_add(params, json_object_new_boolean(true));
        json_object_array_add(params, json_object_new_double(wait));
        char *errtext = NULL;
        cli_rpc_status st = cli__rpc(ctx, "get", params, wait + CALL_TIMEOUT_S, &res, &errtext);
        if (st == CLI_RPC_INTERRUPTED) {
            free(errtext);
            json_object_put(res);
            break;
        }
        if (st != CLI_RPC_OK) {
            int rc = cli__report(ctx, st, errtext);
            free(errtext);
            json_object_put(res);
            return rc;
        }
        free(errtext);
        if (!json_object_is_type(res, json_type_array)) {
            json_object_put(res); /* "timeout": nothing yet */
            if (!answered && cli__now() >= first_deadline) {
                cli__err("no notify instance answered within %.0f s (is its \"filter\" "
                         "matching %s:notify?)",
                         RECEIPT_TIMEOUT_S, o->app);
                return CLI_EREJECT;
            }
            continue;
        }
        const char *id = json_object_get_string(json_object_array_get_idx(res, 0));
        json_object *kw = json_object_array_get_idx(res, 2);
        const char *what = id ? strrchr(id, ':') : NULL;
        what = what ? what + 1 : "";
        answered = true;
        int rc = -1; /* -1: keep waiting */
        if (strcmp(what, "shown") == 0) {
            json_object *nid = NULL;
            if (o->print_id && json_object_object_get_ex(kw, "id", &nid)) {
                printf("%d\n", json_object_get_int(nid));
                fflush(stdout);
            }
            if (!o->wait)
                rc = CLI_OK;
        } else if (strcmp(what, "queued") == 0) {
            if (!o->wait && !o->print_id)
                rc = CLI_OK; /* shown when a daemon appears */
        } else if (strcmp(what, "suppressed") == 0) {
            /* Do not disturb or a flood: counted by the hub, not an error. */
            rc = CLI_OK;
        } else if (strcmp(what, "failed") == 0) {
            const char *e = kw_str(kw, "error");
            cli__err("notification not shown: %s", e ? e : "refused");
            rc = CLI_EREJECT;
        } else if (strcmp(what, "action") == 0) {
            const char *key = kw_str(kw, "key");
            if (key && o->actions) {
                printf("%s\n", key);
                fflush(stdout);
            }
            rc = CLI_OK;
        } else if (strcmp(what, "closed") == 0) {
            rc = CLI_OK;
        }
        json_object_put(res);
        if (rc >= 0)
            return rc;
    }
    return CLI_OK;
}

int cli__cmd_notify(cli_ctx *ctx, int argc, char **argv)
{
    opts o = {.urgency = "normal", .icon = "", .app = "cli", .timeout = -1};
    int rc = parse(ctx, argc, argv, &o);
    if (rc != CLI_OK) {
        rc = rc < 0 ? CLI_OK : rc;
        goto out;
    }
    const char *summary = argv[optind];
    const char *body = optind + 1 < argc ? argv[optind + 1] : NULL;
    char id[300];
    snprintf(id, sizeof id, "%s:notify", o.app);

    int forwarders = 0;
    int n = count_notify_instances(ctx, o.app, &forwarders);
    if (n <= -10) {
        rc = -(n + 10);
        goto out;
    }
    if (n == -1 || (n == 0 && forwarders > 0 && !o.wait && !o.print_id)) {
        /* Not a berryMQ hub of ours, or only forwarders (webhook, growl)
         * take it: nobody answers receipts, the hub's "ok" is the answer. */
        rc = cli__send_message(ctx, id, json_object_new_array(),
                               build_kwargs(&o, summary, body, NULL));
        goto out;
    }
    if (n == 0) {
        if (forwarders > 0)
            cli__err("no running notify instance to %s (only forwarders take %s)",
                     o.print_id ? "print the id" : "wait for", id);
        else
            cli__err("no running notify instance can show it (see 'berrymq plugin list'; "
                     "add {\"plugin\": \"notify\", \"id\": \"notify\"} to hub.json)");
        rc = CLI_EREJECT;
        goto out;
    }

    char receipt[96];
    unsigned rnd = 0;
    FILE *ur = fopen("/dev/urandom", "rb");
    if (!ur || fread(&rnd, sizeof rnd, 1, ur) != 1)
        rnd = (unsigned)(cli__now() * 1e6);
    if (ur)
        fclose(ur);
    snprintf(receipt, sizeof receipt, "r%ldx%08x@receipt", (long)getpid(), rnd);

    json_object *params = json_object_new_array(), *token = NULL;
    json_object_array_add(params, json_object_new_string(receipt));
    json_object_array_add(params, json_object_new_int(QUEUE_TTL_S));
    rc = cli__call(ctx, "connect_via_queue", params, CALL_TIMEOUT_S, &token);
    if (rc != CLI_OK)
        goto out;
    if (!json_object_is_type(token, json_type_string)) {
        cli__err("hub refused the receipt queue: %s",
                 json_object_to_json_string_ext(token, JSON_C_TO_STRING_PLAIN));
        json_object_put(token);
        rc = CLI_EREJECT;
        goto out;
    }
    rc = cli__send_message(ctx, id, json_object_new_array(),
                           build_kwargs(&o, summary, body, receipt));
    if (rc == CLI_OK) {
        cli__signals_install();
        ctx->interrupt = &cli__stop;
        rc = follow_receipts(ctx, token, &o);
        ctx->interrupt = NULL;
    }
    if (rc != CLI_EHUB)
        close_queue(ctx, token);
    json_object_put(token);
out:
    json_object_put(o.hints);
    json_object_put(o.actions);
    return rc;
}
