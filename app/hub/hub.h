/* hub.h - berrymq-hub: shared state of the resident hub.
 *
 * Files: main.c (options, startup, signals, shutdown), config.c (hub.json),
 * entries.c (configured instances and their state), rpc.c (hub.* methods,
 * marshaled to the main thread), control.c (_hub:* local messages, links),
 * log.c (stderr / journal logging), lock.c (one hub per user), ntfy*.c
 * (ntfy's HTTP API on the listener, see ntfy.h).
 * Everything that touches the plugin host runs on the main thread.
 */
#ifndef BMQ_HUB_H
#define BMQ_HUB_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-c/json.h>

#include <berrymq/berrymq.h>
#include <berrymq/net.h>
#include <berrymq/host.h>

#include "history/history.h"

#include "ntfy.h"

#define HUB_DEFAULT_HOST "127.0.0.1"
#define HUB_DEFAULT_PORT 29887

/* ---- config.c ---------------------------------------------------------- */

typedef struct hub_plugin_cfg {
    char *plugin;
    char *id;
    json_object *config; /* owned, always an object */
    bool enabled;
} hub_plugin_cfg;

typedef struct hub_link_cfg {
    bool interconnect; /* else oneway */
    char *host;
    uint16_t port;
    double ttl;
    double check; /* seconds between checks that the peer still knows the link; 0: default */
} hub_link_cfg;

typedef struct hub_config {
    char *path;   /* the user file read, NULL when running on defaults */
    char *source; /* the file actually read (user or default), NULL if built in */
    char *listen_host;
    uint16_t listen_port;
    char **allow;       /* NULL-terminated, nullable */
    char *secret;       /* nullable */
    char **server_names;  /* NULL-terminated, nullable: extra Host names */
    char **allow_origins; /* NULL-terminated, nullable: web origins let in */
    size_t max_body;    /* 0 = library default */
    /* Server limits (docs/server.md); 0 = the library's default. */
    unsigned threads, max_connections, max_connections_per_peer;
    unsigned idle_timeout, header_timeout, body_timeout;
    unsigned max_queues, max_queues_per_peer, max_ttl;
    unsigned max_queue_messages, max_queue_bytes; /* each listener's queue */
    GPtrArray *plugins; /* hub_plugin_cfg* */
    GPtrArray *links;   /* hub_link_cfg* */
    int log_level;      /* BMQ_LOG_* */
    history_opts history;
    ntfy_cfg ntfy;      /* "ntfy": the ntfy API on the listener */
} hub_config;

/* Load @explicit_path (nullable: the user file, else the default hub.json,
 * else built-in defaults). NULL with *error = "FILE: KEY: problem". */
hub_config *hub_config_load(const char *explicit_path, char **error);
void hub_config_free(hub_config *c);
/* "host:port" -> parts. 0 or -1 with *error. */
int hub_parse_hostport(const char *s, char **host, uint16_t *port, char **error);
/* The default hub.json shipped with the hub (build tree or installed). */
char *hub_default_config_path(void);

/* ---- log.c ------------------------------------------------------------- */

void hub_log_init(int level);
void hub_log_set_level(int level);
void hub_log(int level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* bmq_log_fn for the plugin host. */
void hub_log_plugin(int level, const char *instance_id, const char *line, void *user_data);
int hub_log_level_parse(const char *s); /* -1 when unknown */

/* ---- lock.c ------------------------------------------------------------ */

/* Take the per-user lock. 0, or -1 with *pid and *listen (transfer full)
 * of the running hub (listen may be NULL), or -2 on an I/O error. */
int hub_lock_acquire(int *pid, char **listen, char **error);
void hub_lock_write(const char *listen);
void hub_lock_release(void);
/* $XDG_RUNTIME_DIR/berrymq (else /tmp/berrymq-UID), holding hub.lock and
 * hub.sock; mode 0700. (transfer full) */
char *hub_runtime_dir(void);

/* ---- entries.c --------------------------------------------------------- */

typedef enum { HUB_RUNNING, HUB_DISABLED, HUB_FAILED } hub_state;

typedef struct hub_entry {
    char *id;
    char *plugin;
    json_object *config; /* owned */
    bool enabled;
    bool cfg_enabled;   /* the config file's value, to detect changes on reload */
    bool from_config;   /* false: added with hub.load */
    bmq_instance *inst; /* NULL unless running */
    char *error;        /* last failure or skip reason */
    int error_code;     /* its negative BMQ_E* code (0 with error NULL) */
    bool skipped;       /* "gui" without a display: reported as disabled */
} hub_entry;

typedef struct hub {
    bmq_bus *bus;
    GMainContext *context;
    GMainLoop *loop;
    bmq_plugin_host *host;
    bmq_server *server;
    ntfy *ntfy; /* (nullable) the ntfy API */
    hub_config *config;
    char *config_arg; /* --config, nullable */
    char *listen_arg; /* --listen, nullable */
    char *listen;     /* "host:port" actually bound */
    bool no_tray;
    bool verbose;           /* -v: debug logging whatever the config says */
    GPtrArray *entries;     /* hub_entry*, in creation order */
    bmq_follower *control[4];
    history *history; /* nullable: "history": false */
    gint64 started_us;
    int exit_code;
    volatile gint shutting_down;
} hub;

/* Create/apply entries from the config; first start and reload. On reload
 * *diff (transfer full) gets {"added","removed","reconfigured","failed"}. */
void hub_entries_apply(hub *h, hub_config *cfg, json_object **diff);
/* Start an entry's instance if enabled; logs and records failures. */
bool hub_entry_start(hub *h, hub_entry *e);
void hub_entry_stop(hub *h, hub_entry *e);
hub_entry *hub_entry_find(hub *h, const char *id);
void hub_entry_remove(hub *h, hub_entry *e);
/* Destroy every instance in reverse creation order. */
void hub_entries_stop_all(hub *h);
void hub_entries_free(hub *h);
json_object *hub_entry_json(hub_entry *e); /* (transfer full) */
json_object *hub_instances_json(hub *h);   /* (transfer full) array */
/* Send "_hub:instances" with the current list. */
void hub_announce(hub *h);
bool hub_display_available(void);

/* ---- fault.c ----------------------------------------------------------- */

/* Fatal-signal handler, exit() hook and the crash-marker directory. Call
 * once, early in main, before any plugin is loaded. */
void hub_fault_init(void);
/* Remember that instance @id hung or crashed the hub (@event "crash",
 * "hang" or "exit"); async-signal-safe. */
void hub_fault_mark(const char *id, const char *plugin, const char *event, const char *reason,
                    const char *what);
/* True when @id has a crash marker; *why (transfer full) is the reason
 * shown as the instance's error. */
bool hub_fault_marker(const char *id, char **why);
/* Forget the marker of @id (hub.enable, hub.load of that id). */
void hub_fault_clear(const char *id);
/* Plugin files that hung while hub.plugins listed them have the marker
 * "@NAME". True, with *why (transfer full), while that marker is newer
 * than the file at @path; a file changed since loses its marker and is
 * tried again. */
bool hub_fault_listing_skip(const char *name, const char *path, char **why);

/* ---- watchdog.c -------------------------------------------------------- */

/* Catch SIGTERM/SIGINT/SIGHUP on a thread of their own and start the
 * watchdog; @argv (transfer none) is the command line for a re-exec. */
void hub_watchdog_start(hub *h, char **argv);
/* The address bound, kept on a re-exec. */
void hub_watchdog_set_listen(const char *listen);
/* Main thread, around plugin load and create: past HUB_LOAD_TIMEOUT_S the
 * instance is marked and the hub re-executes itself without it. */
void hub_watchdog_arm(const char *id, const char *plugin, const char *what);
void hub_watchdog_disarm(void);
/* True once SIGTERM/SIGINT arrived. */
bool hub_watchdog_stopping(void);
/* Join the watchdog; signals after this are ignored. */
void hub_watchdog_stop(void);

/* ---- links.c ----------------------------------------------------------- */

/* Make and keep the links of h->config (own thread, retried with backoff). */
void hub_links_start(hub *h);
/* Apply the links of a reloaded config: add, remove, retry the down ones now. */
void hub_links_reload(hub *h, hub_config *cfg);
/* Close every link and stop the thread. */
void hub_links_stop(hub *h);
/* (transfer full) [{"peer","style","state","since","attempts","last_error",
 * "next_try","next_try_in_s","token"}]; state "up", "down" or "retrying". */
json_object *hub_links_json(hub *h);

/* ---- rpc.c ------------------------------------------------------------- */

void hub_rpc_register(hub *h);

/* ---- history/glue.c ---------------------------------------------------- */

char *hub_history_path(void); /* (transfer full) */
/* Open the store and tap the bus (before the server and the instances). */
void hub_history_start(hub *h);
/* Hold RPC answers until their messages are stored; register hub.history. */
void hub_history_attach_server(hub *h);
void hub_history_register(hub *h);
/* Offer the history to plugins (host->history_cursor). */
void hub_history_attach_host(hub *h);
/* Before the server stops: end hub.history long polls (they would hold
 * its threads for up to their wait). */
void hub_history_end_waits(hub *h);
/* After the server and the instances are gone: commit, close. */
void hub_history_stop(hub *h);
void hub_history_reconfigure(hub *h, const history_opts *o);
json_object *hub_history_status(hub *h); /* (transfer full) */

/* ---- control.c --------------------------------------------------------- */

void hub_control_start(hub *h);
void hub_control_stop(hub *h);
/* Reload the config file; returns the diff (transfer full) or NULL with
 * *error when the new config is invalid (nothing changes then). */
json_object *hub_reload(hub *h, char **error);

#endif /* BMQ_HUB_H */
