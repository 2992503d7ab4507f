/* main.c - berrymq: global options, help texts and command dispatch. */
#include "cli.h"

#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <berrymq/version.h>

#define DEFAULT_HUB "127.0.0.1:29887"

typedef struct command {
    const char *name;
    const char *alias;
    int (*run)(cli_ctx *ctx, int argc, char **argv);
    const char *summary;
    const char *help;
} command;

static const command commands[] = {
    {"twitter", "send", cli__cmd_twitter, "send a message (alias: send)",
     "Usage: berrymq twitter ID [ARG...] [-k KEY=VALUE]... [--json-args J] [--json-kwargs J]\n"
     "       berrymq send ...   (alias)\n"
     "\n"
     "Send the message ID (\"name:action\") through the hub to every follower.\n"
     "\n"
     "  ARG               appended to args; parsed as JSON when the whole value is\n"
     "                    one JSON text (42, true, null, \"quoted\", [..], {..}),\n"
     "                    else taken as a string (hello -> \"hello\")\n"
     "  -k, --kwarg KEY=VALUE  set kwargs[KEY]; VALUE is parsed like ARG\n"
     "  --json-args J     args as a JSON array (ARGs are appended to it)\n"
     "  --json-kwargs J   kwargs as a JSON object (-k entries override its keys)\n"
     "\n"
     "Negative numbers are ARGs; put -- before other ARGs that start with '-'.\n"
     "Example: berrymq twitter build:done myproj 42 -k ok=true -k log=/tmp/b.log\n"},
    {"notify", NULL, cli__cmd_notify, "send a desktop notification (notify-send-like)",
     "Usage: berrymq notify [OPTION...] SUMMARY [BODY]\n"
     "\n"
     "Send APP:notify with kwargs title, body, urgency, timeout and icon, as\n"
     "notify-send does with the same options.\n"
     "\n"
     "  -u, --urgency LEVEL     low, normal (default) or critical\n"
     "  -t, --expire-time MS    timeout in milliseconds (default -1: the server's)\n"
     "  -i, --icon ICON         icon name or path (default: none)\n"
     "  -a, --app-name APP      application name the notification daemon sees; also\n"
     "                          the message name (default: cli, sending cli:notify)\n"
     "  -c, --category TYPE     adds kwarg category\n"
     "  -h, --hint TYPE:NAME:VALUE  adds hints[NAME] = VALUE (TYPE int/double/\n"
     "                          boolean/string/byte/variant as in notify-send)\n"
     "  -e, --transient         transient notification (kwarg transient)\n"
     "  -p, --print-id          print the notification id the daemon gave it\n"
     "  -r, --replace-id ID     replace the notification with that id\n"
     "  -A, --action [NAME=]LABEL  add an action (repeatable; NAME defaults to its\n"
     "                          index from 0); implies --wait; prints the NAME chosen\n"
     "  -w, --wait              wait until the notification is closed\n"
     "\n"
     "A notify instance of the hub answers with a receipt: exit 0 once it is shown,\n"
     "queued for a daemon or held back (paused); exit 3 when nothing can show it\n"
     "(no notify instance, or no daemon and no backlog).\n"
     "Example: berrymq notify -u critical -a backup \"Backup failed\" \"disk full\"\n"},
    {"publish", NULL, cli__cmd_publish, "publish an ntfy-style message to a topic",
     "Usage: berrymq publish TOPIC MESSAGE [-t TITLE] [-p PRIORITY] [--tags T,T...]\n"
     "                       [--click URL] [--icon URL] [--markdown]\n"
     "\n"
     "Publish MESSAGE to TOPIC through the hub's ntfy API, as 'curl -d MESSAGE\n"
     "HUB/TOPIC' would: the hub sends TOPIC:notify (a desktop notification, and\n"
     "every ntfy subscriber of TOPIC gets it). Prints the hub's answer, ntfy's\n"
     "message JSON.\n"
     "\n"
     "  TOPIC                  1 to 64 of A-Z a-z 0-9 _ -\n"
     "  -t, --title TITLE      the notification's title\n"
     "  -p, --priority P       1-5 or min, low, default, high, max (urgent);\n"
     "                         1-2 show as low urgency, 4-5 as critical\n"
     "      --tags T,T...      comma-separated tags\n"
     "      --click URL        opened when the notification is clicked\n"
     "      --icon URL         icon for ntfy clients\n"
     "      --markdown         the message is Markdown\n"
     "\n"
     "Exit 3 when the hub refuses the message (its reason is printed).\n"
     "Example: berrymq publish backups \"Backup done\" -t srv1 -p high --tags floppy_disk\n"},
    {"listen", NULL, cli__cmd_listen, "print matching messages as JSON lines",
     "Usage: berrymq listen [PATTERN] [--count N] [--timeout S] [--since D] [--lossy]\n"
     "\n"
     "Follow PATTERN (default \"*\": everything) through a queue in the hub and\n"
     "print each message on one line: {\"id\":...,\"args\":[...],\"kwargs\":{...}}.\n"
     "\n"
     "  -n, --count N     exit after N messages\n"
     "  -t, --timeout S   exit when no message arrived for S seconds (decimals ok)\n"
     "  -s, --since D     first print the stored messages since D (a duration like\n"
     "                    10m, an ISO 8601 time or a seq; see 'berrymq history'),\n"
     "                    then follow, with no gap and no duplicate in between\n"
     "      --lossy       go on after the hub's queue for this listener overflowed\n"
     "\n"
     "Exits 0 on --count, --timeout, SIGINT or SIGTERM, or when stdout is closed.\n"
     "When the queue overflowed it prints 'berrymq: lost N messages (queue full: LIMIT)'\n"
     "(LIMIT: the hub's max_queue_messages or max_queue_bytes) on stderr and\n"
     "exits 4 (with --lossy: prints it and goes on).\n"
     "Example: berrymq listen 'build:*' --count 1 --timeout 60\n"},
    {"history", NULL, cli__cmd_history, "print stored messages (the hub's history)",
     "Usage: berrymq history [PATTERN] [--since D] [--until D] [--limit N] [--json]\n"
     "                       [--follow]\n"
     "\n"
     "Print the messages the hub stored, oldest first, one per line with its\n"
     "local time: TIME  ID  ARGS  KWARGS. Without --since: the newest 100.\n"
     "\n"
     "  PATTERN           only messages matching it (\"build:*\", \"*:notify\")\n"
     "  -s, --since D     from D on: a duration back from now (90s, 10m, 2h, 7d),\n"
     "                    an ISO 8601 time (2026-12-05T08:00, 2026-12-05), or a\n"
     "                    seq (a plain number: the messages after it)\n"
     "  -u, --until D     up to D (same forms)\n"
     "  -n, --limit N     at most N messages\n"
     "  -j, --json        one JSON object per line: {\"seq\",\"time\",\"id\",\"args\",\n"
     "                    \"kwargs\",\"origin\"}\n"
     "  -f, --follow      then keep printing new messages until SIGINT/SIGTERM\n"
     "\n"
     "Example: berrymq history 'build:*' --since 2h\n"},
    {"status", NULL, cli__cmd_status, "show the hub's version, uptime, plugins, links, counters",
     "Usage: berrymq status [--json]\n"
     "\n"
     "  --json   print the hub's raw hub.status result as JSON\n"},
    {"pause", NULL, cli__cmd_pause, "pause desktop notifications (as the tray does)",
     "Usage: berrymq pause\n"
     "\n"
     "Hold back desktop notifications until 'berrymq resume'. Only the hub's own\n"
     "user (or a client with its secret) may do this.\n"},
    {"resume", NULL, cli__cmd_resume, "show desktop notifications again",
     "Usage: berrymq resume\n"
     "\n"
     "Undo 'berrymq pause'. Only the hub's own user (or with its secret).\n"},
    {"quit", NULL, cli__cmd_quit, "stop the hub",
     "Usage: berrymq quit\n"
     "\n"
     "Stop the hub cleanly (exit status 0). Only the hub's own user (or with its\n"
     "secret).\n"},
    {"plugin", NULL, cli__cmd_plugin, "list, install, remove, enable, disable plugins",
     "Usage: berrymq plugin list [--json]\n"
     "       berrymq plugin install FILE.so [--id ID] [--config JSON] [--no-load]\n"
     "       berrymq plugin remove NAME\n"
     "       berrymq plugin enable ID\n"
     "       berrymq plugin disable ID\n"
     "\n"
     "list     instances (id, plugin, version, state) and available plugins\n"
     "install  check FILE.so's ABI in a separate process, copy it atomically to\n"
     "         $XDG_DATA_HOME/berrymq/plugins/NAME.so and, if the hub runs, load\n"
     "         one instance of it (id ID, default NAME; config JSON, default {}).\n"
     "         With no hub running the plugin is installed but not loaded (exit 0).\n"
     "remove   unload the running instances of plugin NAME, delete NAME.so\n"
     "enable   start a disabled instance; disable: stop it, keep its config\n"},
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0 ||
            (commands[i].alias && strcmp(commands[i].alias, name) == 0))
            return &commands[i];
    return NULL;
}

void cli__err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("berrymq: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli__usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("berrymq: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'berrymq %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
    va_end(ap);
    return CLI_EUSAGE;
}

int cli__opt_error(const char *cmd, int opt, char **argv)
{
    const char *arg = argv[optind - 1];
    if (opt == ':')
        return cli__usage(cmd, "option '%s' needs a value", arg);
    if (optopt && strncmp(arg, "--", 2) != 0)
        return cli__usage(cmd, "unknown option '-%c'", optopt);
    return cli__usage(cmd, "unknown option '%s'", arg);
}

bool cli__help(const char *cmd, FILE *out)
{
    if (cmd) {
        const command *c = find_command(cmd);
        if (!c)
            return false;
        fputs(c->help, out);
        fputs("\nCommon options: --hub HOST:PORT, --secret S (see 'berrymq --help').\n", out);
        return true;
    }
    fputs("Usage: berrymq [--hub HOST:PORT] [--secret S] COMMAND [ARG...]\n"
          "       berrymq help [COMMAND] | --help | --version\n"
          "\n"
          "Talk to a running berryMQ hub.\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Options:\n"
          "  --hub HOST:PORT   hub to talk to over TCP (env BERRYMQ_HUB; default: the\n"
          "                    hub's socket $XDG_RUNTIME_DIR/berrymq/hub.sock, else the\n"
          "                    address in its lock file, else " DEFAULT_HUB ")\n"
          "  --secret S        bearer secret for a hub that requires one (env BERRYMQ_SECRET)\n"
          "  -h, --help        this help; 'berrymq COMMAND --help' for a command\n"
          "  -V, --version     print the version\n"
          "\n"
          "Exit status: 0 ok, 1 usage error, 2 hub not running/unreachable/stopping,\n"
          "3 rejected by the hub (its message is printed) or nothing can show a\n"
          "notification, 4 listen lost messages (the hub's queue overflowed).\n",
          out);
    return true;
}

static void runtime_dir(char *out, size_t size)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    struct stat st;
    if (xdg && *xdg && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(out, size, "%s/berrymq", xdg);
    else
        snprintf(out, size, "/tmp/berrymq-%u", (unsigned)getuid());
}

void cli__find_hub(cli_ctx *ctx)
{
    char dir[200], path[260];
    runtime_dir(dir, sizeof dir);
    struct stat st;
    /* Its socket and lock file could name anyone's hub, on any host. */
    if (stat(dir, &st) == 0 && st.st_uid != getuid()) {
        ctx->foreign_owner = (long)st.st_uid;
        snprintf(ctx->foreign_dir, sizeof ctx->foreign_dir, "%s", dir);
        snprintf(ctx->hostport, sizeof ctx->hostport, "%s", dir);
        return;
    }
    snprintf(path, sizeof path, "%s/hub.sock", dir);
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && strlen(path) < sizeof ctx->unix_path) {
        strcpy(ctx->unix_path, path);
        snprintf(ctx->hostport, sizeof ctx->hostport, "%s", path);
        strcpy(ctx->host, "localhost");
        return;
    }
    /* No socket: the address our hub wrote ("PID HOST:PORT"). */
    snprintf(path, sizeof path, "%s/hub.lock", dir);
    FILE *f = fopen(path, "r");
    char addr[200] = "";
    if (f) {
        int pid;
        if (fscanf(f, "%d %199s", &pid, addr) != 2 || strcmp(addr, "-") == 0)
            addr[0] = '\0';
        fclose(f);
    }
    if (addr[0])
        cli__set_hub(ctx, addr);
    ctx->check_uid = true; /* found, not given: it must be our own hub */
}

int cli__set_hub(cli_ctx *ctx, const char *hub)
{
    const char *p = hub;
    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    const char *host = p, *host_end;
    if (*p == '[') {
        host = p + 1;
        host_end = strchr(host, ']');
        if (!host_end)
            goto bad;
        p = host_end + 1;
    } else {
        host_end = p + strcspn(p, ":/");
        p = host_end;
    }
    size_t hlen = (size_t)(host_end - host);
    if (hlen == 0 || hlen >= sizeof ctx->host)
        goto bad;
    memcpy(ctx->host, host, hlen);
    ctx->host[hlen] = '\0';
    unsigned long port = 29887;
    if (*p == ':') {
        char *end;
        port = strtoul(p + 1, &end, 10);
        if (end == p + 1 || port == 0 || port > 65535)
            goto bad;
        p = end;
    }
    snprintf(ctx->port, sizeof ctx->port, "%lu", port);
    if (*p == '/') {
        if (strlen(p) >= sizeof ctx->path)
            goto bad;
        strcpy(ctx->path, p);
    } else if (*p == '\0') {
        strcpy(ctx->path, "/JSON");
    } else {
        goto bad;
    }
    ctx->unix_path[0] = '\0';
    ctx->check_uid = false;
    snprintf(ctx->hostport, sizeof ctx->hostport, "%s%s%s:%lu", strchr(ctx->host, ':') ? "[" : "",
             ctx->host, strchr(ctx->host, ':') ? "]" : "", port);
    ctx->hub = hub;
    return 0;
bad:
    cli__err("bad hub address '%s' (expected HOST:PORT)%s", hub,
             getenv("BERRYMQ_HUB") && strcmp(getenv("BERRYMQ_HUB"), hub) == 0 ? " in BERRYMQ_HUB"
                                                                              : "");
    return CLI_EUSAGE;
}

int cli__common_opt(cli_ctx *ctx, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_HUB:
        return cli__set_hub(ctx, arg) == 0 ? 1 : -1;
    case CLI_OPT_SECRET:
        ctx->secret = arg;
        return 1;
    default:
        return 0;
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"hub", required_argument, NULL, CLI_OPT_HUB},
        {"secret", required_argument, NULL, CLI_OPT_SECRET},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {0},
    };
    cli_ctx ctx = {0};
    cli__set_hub(&ctx, DEFAULT_HUB);
    /* BERRYMQ_HUB is checked once a command is to run: a bad value must
     * not get in the way of --help, --version or --hub. */
    const char *env_hub = getenv("BERRYMQ_HUB");
    bool hub_given = false;
    const char *env = getenv("BERRYMQ_SECRET");
    ctx.secret = env && *env ? env : NULL;

    opterr = 0;
    int opt;
    /* '+': stop at the command; its options are parsed by the command. */
    while ((opt = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
        int r = cli__common_opt(&ctx, opt, optarg);
        if (r < 0)
            return CLI_EUSAGE;
        hub_given |= opt == CLI_OPT_HUB;
        if (r > 0)
            continue;
        if (opt == 'h') {
            cli__help(NULL, stdout);
            return CLI_OK;
        }
        if (opt == 'V') {
            printf("berrymq %s\n", BMQ_VERSION_STRING);
            return CLI_OK;
        }
        return cli__opt_error(NULL, opt, argv);
    }
    if (optind >= argc) {
        cli__help(NULL, stderr);
        return CLI_EUSAGE;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        const char *topic = optind + 1 < argc ? argv[optind + 1] : NULL;
        if (!cli__help(topic, stdout))
            return cli__usage(NULL, "unknown command '%s'", topic);
        return CLI_OK;
    }
    const command *cmd = find_command(name);
    if (!cmd)
        return cli__usage(NULL, "unknown command '%s'", name);
    if (!hub_given && env_hub && *env_hub) {
        if (cli__set_hub(&ctx, env_hub) != 0)
            return CLI_EUSAGE;
    } else if (!hub_given) {
        cli__find_hub(&ctx);
    }
    /* Commands parse with getopt_long from a fresh start: argv[0] = name. */
    int first = optind;
    optind = 0;
    return cmd->run(&ctx, argc - first, argv + first);
}
