/* desktop_hub.c - end to end on a private desktop: the real berrymq-hub
 * with the notify, timer and gui plugins; `berrymq notify` and a timer tick
 * come out of the real notification daemon (dunst); the daemon is killed
 * and restarted while the hub runs, and nothing sent meanwhile is lost. */
#include "desktop_env.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static desk_env *env;

typedef struct hub_proc {
    GPid pid;
    int err_fd;
    GThread *reader;
    GMutex lock;
    GString *log;
} hub_proc;

static gpointer read_log(gpointer data)
{
    hub_proc *h = data;
    char buf[4096];
    ssize_t n;
    while ((n = read(h->err_fd, buf, sizeof buf)) > 0) {
        g_mutex_lock(&h->lock);
        g_string_append_len(h->log, buf, n);
        g_mutex_unlock(&h->lock);
    }
    return NULL;
}

static char *hub_listen_addr(hub_proc *h)
{
    char *out = NULL;
    g_mutex_lock(&h->lock);
    const char *p = strstr(h->log->str, "listening on ");
    if (p) {
        p += strlen("listening on ");
        size_t len = strcspn(p, " \n");
        if (p[len])
            out = g_strndup(p, len);
    }
    g_mutex_unlock(&h->lock);
    return out;
}

static bool log_has(hub_proc *h, const char *needle)
{
    g_mutex_lock(&h->lock);
    bool ok = strstr(h->log->str, needle) != NULL;
    g_mutex_unlock(&h->lock);
    return ok;
}

static desk_notify *call_find(const char *summary)
{
    return desk_monitor_find(env, summary);
}

static bool call_seen(void *summary)
{
    return call_find(summary) != NULL;
}

static int cli(const char *const *args)
{
    const char *argv[16];
    char *path = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
    size_t n = 0;
    argv[n++] = path;
    for (; *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    int rc = desk_run(argv, NULL);
    g_free(path);
    return rc;
}

static const char config[] =
    "{\"listen\": \"127.0.0.1:0\", \"plugins\": ["
    "{\"plugin\": \"notify\", \"id\": \"notify\", \"config\": {}},"
    "{\"plugin\": \"timer\", \"id\": \"backup\", \"config\": {\"interval\": 0.5, \"count\": 1, "
    "\"action\": \"notify\"}},"
    "{\"plugin\": \"gui\", \"id\": \"tray\", \"config\": {\"monitor\": true}}]}";

int main(void)
{
    char *why = NULL;
    char *hub_bin = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "hub", "berrymq-hub", NULL);
    char *cli_bin = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
    if (!g_file_test(hub_bin, G_FILE_TEST_IS_EXECUTABLE) ||
        !g_file_test(cli_bin, G_FILE_TEST_IS_EXECUTABLE)) {
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
    EXPECT(desk_dunst_start(env));
    EXPECT(desk_trayer_start(env));

    char *cfg = g_build_filename(desk_env_dir(env), "hub.json", NULL);
    g_file_set_contents(cfg, config, -1, NULL);
    const char *argv[] = {
        hub_bin, "--config", cfg, "--plugin-dir", g_getenv("BMQ_PLUGIN_BUILD_DIR"), NULL};
    hub_proc h = {.log = g_string_new(NULL)};
    g_mutex_init(&h.lock);
    GError *err = NULL;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                  &h.pid, NULL, NULL, &h.err_fd, &err)) {
        fprintf(stderr, "cannot start the hub: %s\n", err->message);
        g_error_free(err);
        check_failures++;
        goto out;
    }
    h.reader = g_thread_new("hub-log", read_log, &h);
    char *addr = NULL;
    for (int i = 0; i < 1000 && !(addr = hub_listen_addr(&h)); i++)
        g_usleep(10000);
    EXPECT(addr != NULL);
    if (addr) {
        g_setenv("BERRYMQ_HUB", addr, TRUE);

        /* A timer instance whose action is "notify" goes through notify. */
        /* Generous: under ASan with full stacks the hub takes a while to start. */
        EXPECT(desk_wait(call_seen, "backup:notify", 60000));
        desk_notify *n = call_find("backup:notify");
        EXPECT(n && strstr(n->body, "seq: 1"));

        const char *a1[] = {
            "notify", "-u", "critical", "-a", "build", "Build finished", "all 42 tests passed",
            NULL};
        EXPECT(cli(a1) == 0);
        EXPECT(desk_wait(call_seen, "Build finished", 10000));
        n = call_find("Build finished");
        if (n) {
            EXPECT(strcmp(n->body, "all 42 tests passed") == 0);
            EXPECT(n->urgency == 2);
            /* -a is the application name the daemon sees, as with notify-send. */
            EXPECT(strcmp(n->app_name, "build") == 0);
        }

        /* The daemon goes away and comes back while the hub runs. */
        desk_dunst_kill(env);
        const char *a2[] = {"notify", "Sent while the daemon was away", NULL};
        EXPECT(cli(a2) == 0);
        desk_spin(300);
        EXPECT(call_find("Sent while the daemon was away") == NULL);
        EXPECT(desk_dunst_start(env));
        EXPECT(desk_wait(call_seen, "Sent while the daemon was away", 10000));
        const char *a3[] = {"notify", "Back to normal", NULL};
        EXPECT(cli(a3) == 0);
        EXPECT(desk_wait(call_seen, "Back to normal", 10000));
        EXPECT(log_has(&h, "no notification daemon"));

        /* The whole desktop: tray icon in trayer, the monitor the gui
         * instance opened at start, and the daemon's popups. */
        desk_spin(800);
        char *dir = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "test-artifacts", NULL);
        g_mkdir_with_parents(dir, 0755);
        char *shot = g_build_filename(dir, "desktop-hub.png", NULL);
        EXPECT(desk_screenshot(env, shot));
        g_free(shot);
        g_free(dir);
    }
    g_free(addr);
    kill(h.pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 1000; i++) {
        if (waitpid(h.pid, &status, WNOHANG) == h.pid)
            break;
        if (i == 999) {
            kill(h.pid, SIGKILL);
            waitpid(h.pid, &status, 0);
        }
        g_usleep(10000);
    }
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_spawn_close_pid(h.pid);
    g_thread_join(h.reader);
    close(h.err_fd);
    fprintf(stderr, "hub log:\n%s\n", h.log->str);
out:
    g_string_free(h.log, TRUE);
    g_mutex_clear(&h.lock);
    g_free(cfg);
    g_free(hub_bin);
    g_free(cli_bin);
    desk_env_stop(env);
    return check_result();
}
