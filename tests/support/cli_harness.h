/* cli_harness.h - runs the real berrymq-hub and the berrymq CLI for the
 * CLI integration tests and the CLI benchmark.
 *
 * A harness owns a private temporary HOME, XDG_CONFIG_HOME, XDG_DATA_HOME
 * and XDG_RUNTIME_DIR (set in this process's environment, so every child
 * inherits them), a hub on a free loopback port, and helpers to run the
 * CLI and capture what a user would see: exit status, stdout, stderr.
 */
#ifndef BMQ_CLI_HARNESS_H
#define BMQ_CLI_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "check.h"

typedef struct cli_h {
    char root[256]; /* temporary directory, removed by cleanup */
    char home[320];
    char config_home[320];
    char data_home[320];
    char runtime_dir[320];
    char hub_log[320]; /* the hub's stderr */
    char addr[64];     /* "127.0.0.1:PORT" of the running hub */
    uint16_t port;
    pid_t hub_pid;          /* 0 when not running */
    char cli[512];          /* path of the berrymq binary */
    char hub[512];          /* path of the berrymq-hub binary */
    char test_plugins[512]; /* the build tree's tests/plugins directory */
} cli_h;

/* What one CLI run showed. status: the exit code, or 128 + signal. */
typedef struct cli_run {
    int status;
    char *out; /* (transfer full) stdout, NUL-terminated */
    char *err; /* (transfer full) stderr */
} cli_run;

/* A CLI started in the background (listen). */
typedef struct cli_proc {
    pid_t pid;
    int out_fd, err_fd;
    char *out; /* stdout read so far, not yet returned as lines */
    size_t out_len;
} cli_proc;

/* Temp dirs and environment; finds the binaries. 0 or -1 (message printed). */
int cli_h_init(cli_h *h, const char *name);
/* Write @json as $XDG_CONFIG_HOME/berrymq/hub.json. */
int cli_h_write_config(cli_h *h, const char *json);
/* A loopback TCP port that nothing listens on right now. */
uint16_t cli_h_free_port(void);
/* Start the hub (--listen on a free port, --no-tray, @extra args, NULL-
 * terminated, nullable) and wait until it answers hub.status. Sets
 * BERRYMQ_HUB for later CLI runs. 0 or -1 (hub log printed). */
int cli_h_hub_start(cli_h *h, const char *const *extra);
/* SIGTERM the hub and wait; its exit status (128+sig if killed), -1 if it
 * had to be killed after a timeout. */
int cli_h_hub_stop(cli_h *h);
/* SIGKILL the hub and reap it, as a crash would end it: 0 when it died
 * of that signal, -1 (message printed) when no hub ran or it ended
 * otherwise. hub_pid is 0 afterwards. */
int cli_h_hub_kill(cli_h *h);
/* Stop what still runs and remove the temporary directory. */
void cli_h_cleanup(cli_h *h);

/* Run `berrymq ARGV...` (NULL-terminated) to completion (30 s at most). */
int cli_h_run(cli_h *h, cli_run *r, const char *const *argv);
/* Same with the arguments inline: cli_h_runv(h, &r, "status", "--json", NULL). */
int cli_h_runv(cli_h *h, cli_run *r, ...) __attribute__((sentinel));
void cli_run_free(cli_run *r);

int cli_h_spawn(cli_h *h, cli_proc *p, const char *const *argv);
/* The next stdout line without its newline (transfer full), NULL on EOF or
 * after @timeout_s. */
char *cli_proc_line(cli_proc *p, double timeout_s);
/* Wait for the exit (killing it after @timeout_s): exit code, 128+signal,
 * or -1 on timeout. *err (nullable, transfer full) gets its stderr; stdout
 * not yet read as lines stays in p->out (the caller frees it). */
int cli_proc_wait(cli_proc *p, double timeout_s, char **err);

/* hub.status as JSON (transfer full) via `berrymq status --json`, or NULL. */
json_object *cli_h_status(cli_h *h);
/* instances[id=@id].status.status.@key of hub.status as an integer
 * (booleans 0/1), -1 when the hub, the instance or the key is missing. */
int64_t cli_h_instance_stat(cli_h *h, const char *id, const char *key);
/* Poll cli_h_instance_stat until it equals @want; whether it did within
 * @timeout_s. */
bool cli_h_wait_instance_stat(cli_h *h, const char *id, const char *key, int64_t want,
                              double timeout_s);
/* Wait until the hub has (@present) or no longer has a queue connection
 * following @pattern. */
bool cli_h_wait_queue(cli_h *h, const char *pattern, bool present, double timeout_s);
/* Parse one JSON text (transfer full) or NULL. */
json_object *cli_json(const char *text);
double cli_now(void);

#endif /* BMQ_CLI_HARNESS_H */
