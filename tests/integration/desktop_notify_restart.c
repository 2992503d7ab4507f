/* desktop_notify_restart.c - the notify backlog survives the hub: on a
 * private desktop with no notification daemon, `berrymq notify` sends
 * messages the hub acknowledges; the hub is killed with SIGKILL and started
 * again; then the real dunst starts, after the hub, and every message pops
 * up, once (seen on the bus by the monitor, answered by dunst). After a
 * clean stop and another start, nothing already shown comes again. */
#include "desktop_env.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_WAITING 5

static desk_env *env;

/* How many Notify calls dunst answered with @summary. */
static guint shown(const char *summary)
{
    GPtrArray *calls = desk_monitor_calls(env);
    guint n = 0;
    for (guint i = 0; i < calls->len; i++) {
        desk_notify *c = g_ptr_array_index(calls, i);
        if (c->returned_id && c->summary && strcmp(c->summary, summary) == 0)
            n++;
    }
    g_ptr_array_free(calls, TRUE);
    return n;
}

static bool all_shown(void *data)
{
    (void)data;
    for (int i = 1; i <= N_WAITING; i++) {
        char s[64];
        g_snprintf(s, sizeof s, "Waiting %d", i);
        if (shown(s) == 0)
            return false;
    }
    return true;
}

static bool seen(void *summary)
{
    return shown(summary) > 0;
}

static const char config[] = "{\"listen\": \"127.0.0.1:0\", \"plugins\": ["
                             "{\"plugin\": \"notify\", \"id\": \"notify\", \"config\": {}}]}";

int main(void)
{
    char *why = NULL;
    char *hub_bin = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "hub", "berrymq-hub", NULL);
    char *cli_bin = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
    bool built = g_file_test(hub_bin, G_FILE_TEST_IS_EXECUTABLE) &&
                 g_file_test(cli_bin, G_FILE_TEST_IS_EXECUTABLE);
    g_free(hub_bin);
    g_free(cli_bin);
    if (!built) {
        fprintf(stderr, "skipped: berrymq-hub or berrymq not built\n");
        return DESK_SKIP;
    }
    env = desk_env_start(&why);
    if (!env) {
        fprintf(stderr, "skipped: %s\n", why);
        g_free(why);
        return DESK_SKIP;
    }
    EXPECT(desk_monitor_start(env));
    char *cfg = g_build_filename(desk_env_dir(env), "hub.json", NULL);
    g_file_set_contents(cfg, config, -1, NULL);

    /* No daemon: the hub acknowledges, the notifications wait. */
    desk_hub h;
    EXPECT(desk_hub_start(&h, cfg, "instance 'notify' started"));
    for (int i = 1; i <= N_WAITING; i++) {
        char s[64];
        g_snprintf(s, sizeof s, "Waiting %d", i);
        const char *a[] = {"notify", s, "sent while no daemon ran", NULL};
        EXPECT(desk_cli(a) == 0);
    }
    EXPECT(desk_monitor_count(env) == 0);
    EXPECT(desk_hub_end(&h, SIGKILL) == -1);

    /* A new hub, then the daemon: everything waiting pops up, once. */
    EXPECT(desk_hub_start(&h, cfg, "instance 'notify' started"));
    EXPECT(desk_hub_log_has(&h, "5 notification(s) waiting from before the restart"));
    EXPECT(desk_dunst_start(env));
    EXPECT(desk_wait(all_shown, NULL, 20000));
    const char *a1[] = {"notify", "After the daemon", NULL};
    EXPECT(desk_cli(a1) == 0);
    EXPECT(desk_wait(seen, "After the daemon", 10000));
    for (int i = 1; i <= N_WAITING; i++) {
        char s[64];
        g_snprintf(s, sizeof s, "Waiting %d", i);
        EXPECT(shown(s) == 1);
    }
    EXPECT(desk_hub_end(&h, SIGTERM) == 0);

    /* Shown is done: a clean restart shows nothing again. */
    EXPECT(desk_hub_start(&h, cfg, "instance 'notify' started"));
    const char *a2[] = {"notify", "Third start", NULL};
    EXPECT(desk_cli(a2) == 0);
    EXPECT(desk_wait(seen, "Third start", 10000));
    EXPECT(shown("After the daemon") == 1);
    for (int i = 1; i <= N_WAITING; i++) {
        char s[64];
        g_snprintf(s, sizeof s, "Waiting %d", i);
        EXPECT(shown(s) == 1);
    }
    EXPECT(!desk_hub_log_has(&h, "waiting from before the restart"));
    EXPECT(desk_hub_end(&h, SIGTERM) == 0);

    g_free(cfg);
    desk_env_stop(env);
    return check_result();
}
