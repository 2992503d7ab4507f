/* main.c - berrymq-hub: options, startup, signals and shutdown.
 *
 * Start: config -> per-user lock -> RPC server -> plugin host -> instances.
 * Stop (SIGTERM, SIGINT, _hub:quit): the RPC server is stopped on a helper
 * thread while the main loop keeps serving marshaled calls, then instances
 * are destroyed newest first. SIGHUP reloads the config.
 */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "hub.h"

static char *opt_config;
static char *opt_listen;
static gboolean opt_no_tray;
static char **opt_plugin_dirs;
static gboolean opt_verbose;
static gboolean opt_version;

static const GOptionEntry options[] = {
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
     "Config file (default $XDG_CONFIG_HOME/berrymq/hub.json)", "FILE"},
    {"listen", 'l', 0, G_OPTION_ARG_STRING, &opt_listen,
     "Listen address (default 127.0.0.1:29887; port 0 picks a free one)", "HOST:PORT"},
    {"no-tray", 0, 0, G_OPTION_ARG_NONE, &opt_no_tray, "Do not start the tray (gui plugin)", NULL},
    {"plugin-dir", 'p', 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_plugin_dirs,
     "Search plugins in DIR first (repeatable)", "DIR"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Debug logging", NULL},
    {"version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL},
    {NULL},
};

static gint server_stopped;

static gpointer stop_server_thread(gpointer data)
{
    hub *h = data;
    ntfy_shutdown(h->ntfy); /* streams end before the server stops */
    bmq_server_stop(h->server);
    g_atomic_int_set(&server_stopped, 1);
    g_main_context_wakeup(h->context);
    return NULL;
}

static int parse_options(int *argc, char ***argv)
{
    GOptionContext *oc = g_option_context_new("- the berryMQ desktop notification hub");
    g_option_context_add_main_entries(oc, options, NULL);
    g_option_context_set_description(
        oc, "Plugins are searched in --plugin-dir, then $XDG_DATA_HOME/berrymq/plugins, then\n"
            "the installed plugin directory. SIGHUP reloads the config; SIGTERM stops.\n");
    GError *err = NULL;
    bool ok = g_option_context_parse(oc, argc, argv, &err);
    g_option_context_free(oc);
    if (!ok) {
        fprintf(stderr, "berrymq-hub: %s (see --help)\n", err->message);
        g_error_free(err);
        return 1;
    }
    if (*argc > 1) {
        fprintf(stderr, "berrymq-hub: unexpected argument '%s' (see --help)\n", (*argv)[1]);
        return 1;
    }
    return 0;
}

static void free_options(void)
{
    g_free(opt_config);
    g_free(opt_listen);
    g_strfreev(opt_plugin_dirs);
}

static void server_log(int level, const char *line, void *user_data)
{
    hub_log(level, "%s", line);
}

static int start_server(hub *h, int *code, char **error)
{
    hub_config *c = h->config;
    bmq_server_options o;
    bmq_server_options_init(&o);
    o.host = c->listen_host;
    o.port = c->listen_port;
    o.allow = (const char *const *)c->allow;
    o.secret = c->secret;
    o.max_body = c->max_body;
    o.server_names = (const char *const *)c->server_names;
    o.allow_origins = (const char *const *)c->allow_origins;
    o.log = server_log;
    o.threads = c->threads;
    o.max_conns = c->max_connections;
    o.max_conns_per_peer = c->max_connections_per_peer;
    o.conn_timeout_s = c->idle_timeout;
    o.header_timeout_s = c->header_timeout;
    o.body_timeout_s = c->body_timeout;
    o.max_queues = c->max_queues;
    o.max_queues_per_peer = c->max_queues_per_peer;
    o.max_ttl_s = c->max_ttl;
    o.max_queue_messages = c->max_queue_messages;
    o.max_queue_bytes = c->max_queue_bytes;
    char *dir = hub_runtime_dir();
    char *sock = g_build_filename(dir, "hub.sock", NULL);
    o.unix_path = sock;
    h->server = bmq_server_start(h->bus, &o, code, error);
    g_free(sock);
    g_free(dir);
    if (!h->server)
        return -1;
    if (c->ntfy.enabled) {
        h->ntfy = ntfy_new(h->bus, &c->ntfy, h->history);
        bmq_server_set_route(h->server, ntfy_route, h->ntfy);
    }
    bool v6 = strchr(c->listen_host, ':') != NULL;
    h->listen = g_strdup_printf(v6 ? "[%s]:%u" : "%s:%u", c->listen_host,
                                (unsigned)bmq_server_port(h->server));
    return 0;
}

static int start_and_run(hub *h)
{
    char *err = NULL;
    h->config = hub_config_load(h->config_arg, &err);
    if (!h->config) {
        fprintf(stderr, "berrymq-hub: %s\n", err);
        g_free(err);
        return 1;
    }
    if (!h->verbose)
        hub_log_set_level(h->config->log_level);
    if (opt_listen) {
        g_free(h->config->listen_host);
        h->config->listen_host = NULL;
        if (hub_parse_hostport(opt_listen, &h->config->listen_host, &h->config->listen_port,
                               &err)) {
            fprintf(stderr, "berrymq-hub: --listen: %s\n", err);
            g_free(err);
            return 1;
        }
    }
    int pid = 0;
    char *where = NULL;
    int lrc = hub_lock_acquire(&pid, &where, &err);
    if (lrc == -1) {
        if (pid <= 0)
            fprintf(stderr, "berrymq-hub: another hub holds the lock, but its pid could not be "
                            "read from the lock file (a full disk?)\n");
        else if (where && strcmp(where, "-") != 0)
            fprintf(stderr, "berrymq-hub: already running (pid %d, listening on %s)\n", pid, where);
        else
            fprintf(stderr, "berrymq-hub: already running (pid %d)\n", pid);
        g_free(where);
        return 1;
    }
    if (lrc < 0) {
        fprintf(stderr, "berrymq-hub: cannot take the single-instance lock: %s\n", err);
        g_free(err);
        return 1;
    }
    /* Before the server: nothing is accepted that the history misses. */
    hub_history_start(h);
    int code = 0;
    if (start_server(h, &code, &err) != 0) {
        /* The server's message already names the address. */
        if (err)
            fprintf(stderr, "berrymq-hub: %s%s\n", err,
                    code == -BMQ_EBUSY ? " (another program has the port: choose another with "
                                         "--listen or \"listen\" in hub.json)"
                                       : "");
        else
            fprintf(stderr, "berrymq-hub: cannot listen on %s:%u\n", h->config->listen_host,
                    (unsigned)h->config->listen_port);
        g_free(err);
        hub_history_stop(h);
        hub_lock_release();
        return 1;
    }
    hub_history_attach_server(h);
    /* The host before the methods: those that act on it reach the main
     * thread through it (bmq_plugin_host_invoke). */
    h->host = bmq_plugin_host_new(h->bus, h->context, NULL);
    bmq_plugin_host_set_log(h->host, hub_log_plugin, NULL);
    bmq_plugin_host_set_node_id(h->host, bmq_server_node_id(h->server));
    hub_history_attach_host(h);
    for (char **d = opt_plugin_dirs; d && *d; d++)
        bmq_plugin_host_add_dir(h->host, *d);
    bmq_plugin_host_add_default_dirs(h->host);

    /* Methods first: whoever learns the address from the log or the lock
     * file finds them there. Calls wait for the main loop, which runs
     * once the instances below are created. */
    hub_rpc_register(h);
    hub_lock_write(h->listen);
    hub_watchdog_set_listen(h->listen);
    hub_log(BMQ_LOG_INFO, "berrymq-hub %s listening on %s (config: %s)", bmq_version(), h->listen,
            h->config->source ? h->config->source : "built-in defaults");

    hub_control_start(h);
    hub_links_start(h);
    hub_entries_apply(h, h->config, NULL);
    hub_announce(h);

    g_main_loop_run(h->loop);

    g_atomic_int_set(&h->shutting_down, 1);
    hub_control_stop(h);
    hub_history_end_waits(h);
    /* Stop the server off the main thread: its handlers may be waiting for
     * the main loop, which keeps turning until the stop completes. */
    GThread *t = g_thread_new("hub-stop", stop_server_thread, h);
    while (!g_atomic_int_get(&server_stopped))
        g_main_context_iteration(h->context, TRUE);
    g_thread_join(t);
    h->server = NULL;
    ntfy_free(h->ntfy);
    h->ntfy = NULL;
    hub_links_stop(h);
    hub_entries_free(h);
    bmq_plugin_host_free(h->host);
    h->host = NULL;
    /* Run what is still queued (deferred control messages, late deliveries)
     * so their references are released. */
    while (g_main_context_iteration(h->context, FALSE))
        ;
    hub_history_stop(h);
    hub_lock_release();
    hub_log(BMQ_LOG_INFO, "stopped");
    return 0;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    signal(SIGPIPE, SIG_IGN);
    char **argv0 = g_strdupv(argv); /* before option parsing edits it */
    int rc = parse_options(&argc, &argv);
    if (rc || opt_version) {
        if (!rc)
            printf("berrymq-hub %s\n", bmq_version());
        free_options();
        g_strfreev(argv0);
        return rc;
    }
    hub h = {0};
    h.verbose = opt_verbose;
    hub_log_init(opt_verbose ? BMQ_LOG_DEBUG : BMQ_LOG_INFO);
    hub_fault_init();
    h.no_tray = opt_no_tray;
    h.config_arg = opt_config;
    h.listen_arg = opt_listen;
    h.bus = bmq_bus_default();
    h.context = g_main_context_default();
    h.loop = g_main_loop_new(h.context, FALSE);
    h.entries = g_ptr_array_new();
    h.started_us = g_get_monotonic_time();
    /* Handlers first: a signal during startup is then handled once the
     * loop runs (or ends a start stuck in plugin code). */
    hub_watchdog_start(&h, argv0);
    g_strfreev(argv0);
    rc = start_and_run(&h);
    hub_watchdog_stop();
    g_ptr_array_free(h.entries, TRUE);
    g_main_loop_unref(h.loop);
    hub_config_free(h.config);
    g_free(h.listen);
    free_options();
    return rc;
}
