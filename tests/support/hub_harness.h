/* hub_harness.h - run the real berrymq-hub in a private HOME / XDG tree on a
 * free loopback port and drive it over JSON-RPC. */
#ifndef BMQ_TEST_HUB_HARNESS_H
#define BMQ_TEST_HUB_HARNESS_H

#include <stdbool.h>
#include <stdio.h>

#include <glib/gstdio.h>

#include <glib.h>
#include <json-c/json.h>

#include <berrymq/net.h>

#include "check.h"

typedef struct hh_env {
    char *root; /* temp dir: home/ (XDG_STATE_HOME home/.local/state), config/, data/, run/ */
    char *config_file; /* root/config/berrymq/hub.json (the default user path) */
    char *journal;     /* root/journal.txt, written by testplug */
    char *plugin_dir;  /* test plugins */
} hh_env;

typedef struct hh_hub {
    GPid pid;
    int status; /* wait status once exited */
    bool exited;
    char *listen; /* "127.0.0.1:PORT" once listening */
    GMutex lock;
    GString *log; /* stderr so far */
    GThread *reader;
    int err_fd;
    bool log_eof; /* the reader saw the end of stderr */
    bmq_rpc_client *rpc;
} hh_hub;

/* Setup: exits 77 when the hub or test plugins are not built. */
hh_env *hh_env_new(void);
void hh_env_free(hh_env *e);
void hh_write_config(hh_env *e, const char *json);
/* Config text with @@JOURNAL@@ replaced by the journal path. */
void hh_write_config_j(hh_env *e, const char *json);
char *hh_journal(hh_env *e); /* (transfer full) contents, "" if none */

/* Start a hub with extra args (NULL-terminated, nullable). wait_listen:
 * wait for "listening on" (else the caller waits for the exit). */
hh_hub *hh_start(hh_env *e, const char *const *extra, bool wait_listen);
/* Wait for exit up to @ms; returns the exit code, -1 on timeout/signal. */
int hh_wait_exit(hh_hub *h, int ms);
int hh_stop(hh_hub *h); /* SIGTERM + wait; exit code */
void hh_free(hh_hub *h);
/* After the exit: wait until all of stderr has been read. */
void hh_finish_log(hh_hub *h);
bool hh_wait_log(hh_hub *h, const char *needle, int ms);
char *hh_log(hh_hub *h); /* (transfer full) */

/* RPC: result (transfer full) or NULL with *err (transfer full). */
json_object *hh_call(hh_hub *h, const char *method, const char *params_json, char **err);
/* The stored records matching @pattern (hub.history [pattern, 0, 10000]),
 * asked again every 50 ms for up to @ms until there are at least @want.
 * (transfer full) the array, or NULL when the hub could not answer. */
json_object *hh_history(hh_hub *h, const char *pattern, size_t want, int ms);
/* The instance object with @id from hub.plugins, or NULL (transfer full). */
json_object *hh_instance(hh_hub *h, const char *id);
/* instance.state or "" */
char *hh_state(hh_hub *h, const char *id);
/* Poll until the instance reaches @state. */
bool hh_wait_state(hh_hub *h, const char *id, const char *state, int ms);
const char *hh_str(json_object *o, const char *path); /* "a.b.c" lookup, NULL if absent */

#endif
