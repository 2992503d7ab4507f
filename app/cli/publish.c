/* publish.c - `berrymq publish`: one message through the hub's ntfy API.
 *
 * The message goes as ntfy's JSON form posted to "/" (no header encoding
 * to get wrong, any UTF-8 as it is); the hub makes it TOPIC:notify exactly
 * as it does for curl or an ntfy client, and answers with ntfy's message
 * JSON, which is printed as ntfy's own CLI does.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CALL_TIMEOUT_S 10.0

static bool topic_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(t[i] >= 'a' && t[i] <= 'z') && !(t[i] >= 'A' && t[i] <= 'Z') &&
            !(t[i] >= '0' && t[i] <= '9') && t[i] != '-' && t[i] != '_')
            return false;
    return true;
}

/* ntfy's priorities: 1..5 or their names; 0 when it is none of them. */
static int priority_of(const char *s)
{
    static const char *const names[] = {"min", "low", "default", "high", "max"};
    if (s[0] >= '1' && s[0] <= '5' && !s[1])
        return s[0] - '0';
    for (int i = 0; i < 5; i++)
        if (!strcasecmp(s, names[i]))
            return i + 1;
    return !strcasecmp(s, "urgent") ? 5 : 0;
}

static json_object *tags_of(const char *s)
{
    json_object *a = json_object_new_array();
    while (*s) {
        size_t n = strcspn(s, ",");
        const char *b = s, *e = s + n;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > b)
            json_object_array_add(a, json_object_new_string_len(b, (int)(e - b)));
        s += n + (s[n] == ',');
    }
    return a;
}

/* The hub's answer to a publish: print it, or say why it was refused. */
static int answer(cli_ctx *ctx, int status, const char *body, size_t len)
{
    json_object *o = json_tokener_parse(body);
    json_object *v = NULL;
    int rc = CLI_OK;
    if (status == 200 && json_object_object_get_ex(o, "event", &v)) {
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
        if (fflush(stdout) != 0)
            rc = CLI_EUSAGE;
    } else if (status != 200 && json_object_object_get_ex(o, "error", &v) &&
               json_object_is_type(v, json_type_string)) {
        /* ntfy's {"code","http","error"} */
        cli__err("hub at %s refused the message: %s", ctx->hostport, json_object_get_string(v));
        rc = CLI_EREJECT;
    } else if (status == 200 && json_object_object_get_ex(o, "result", NULL)) {
        cli__err("the hub at %s does not serve the ntfy API (\"ntfy\": false in its hub.json?)",
                 ctx->hostport);
        rc = CLI_EREJECT;
    } else {
        const char *why = status == 401 || status == 403 ? " (wrong or missing --secret)" : "";
        cli__err("hub at %s answered HTTP %d%s: %.*s", ctx->hostport, status, why,
                 (int)strcspn(body, "\r\n"), len ? body : "");
        rc = CLI_EREJECT;
    }
    json_object_put(o);
    return rc;
}

int cli__cmd_publish(cli_ctx *ctx, int argc, char **argv)
{
    enum { OPT_TAGS = 0x2001, OPT_CLICK, OPT_ICON, OPT_MARKDOWN };
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"title", required_argument, NULL, 't'},
        {"priority", required_argument, NULL, 'p'},
        {"tags", required_argument, NULL, OPT_TAGS},
        {"click", required_argument, NULL, OPT_CLICK},
        {"icon", required_argument, NULL, OPT_ICON},
        {"markdown", no_argument, NULL, OPT_MARKDOWN},
        {0},
    };
    const char *cmd = "publish";
    json_object *req = json_object_new_object();
    int opt, rc, prio;
    while ((opt = cli__getopt(ctx, cmd, argc, argv, ":ht:p:", longopts, &rc)) != -1) {
        switch (opt) {
        case 't':
            json_object_object_add(req, "title", json_object_new_string(optarg));
            break;
        case 'p':
            if (!(prio = priority_of(optarg))) {
                json_object_put(req);
                return cli__usage(cmd,
                                  "priority must be 1-5 or min, low, default, high, max, urgent, "
                                  "not '%s'",
                                  optarg);
            }
            json_object_object_add(req, "priority", json_object_new_int(prio));
            break;
        case OPT_TAGS:
            json_object_object_add(req, "tags", tags_of(optarg));
            break;
        case OPT_CLICK:
            json_object_object_add(req, "click", json_object_new_string(optarg));
            break;
        case OPT_ICON:
            json_object_object_add(req, "icon", json_object_new_string(optarg));
            break;
        case OPT_MARKDOWN:
            json_object_object_add(req, "markdown", json_object_new_boolean(true));
            break;
        }
    }
    if (rc != CLI_OK) {
        json_object_put(req);
        return rc == CLI_HELPED ? CLI_OK : rc;
    }
    if (argc - optind != 2) {
        json_object_put(req);
        return cli__usage(cmd, argc - optind < 2 ? "missing %s" : "too many arguments%s",
                          argc - optind < 1   ? "TOPIC and MESSAGE"
                          : argc - optind < 2 ? "MESSAGE"
                                              : " (quote the message)");
    }
    const char *topic = argv[optind], *message = argv[optind + 1];
    if (!topic_ok(topic)) {
        json_object_put(req);
        return cli__usage(cmd, "TOPIC must be 1 to 64 of A-Z a-z 0-9 _ -, not '%s'", topic);
    }
    json_object_object_add(req, "topic", json_object_new_string(topic));
    json_object_object_add(req, "message", json_object_new_string(message));
    const char *body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    int status;
    char *rbody = NULL, *errtext = NULL;
    size_t rlen;
    cli_rpc_status st = cli__http(ctx, "POST", "/", "application/json", body, strlen(body),
                                  CALL_TIMEOUT_S, &status, &rbody, &rlen, &errtext);
    json_object_put(req);
    rc = st == CLI_RPC_OK ? answer(ctx, status, rbody, rlen) : cli__report(ctx, st, errtext);
    free(rbody);
    free(errtext);
    return rc;
}
