/* desktop_notify_send.c - `berrymq notify` with notify-send's options on a
 * private desktop: the real hub (build tree) with a notify instance, the
 * real dunst, and a bus monitor that sees each Notify call and the id dunst
 * answered. Checks -a (the app name dunst sees), -p (the id printed is
 * dunst's), -r (replaces that id), -w (returns when `dunstctl close-all`
 * closes it), -A (prints the action chosen in dunst), the other flags as
 * hints, and the exit status when no daemon can show it and the instance
 * keeps no backlog. */
#include "desktop_env.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static desk_env *env;
static char *cli_bin;

typedef struct proc {
    GPid pid;
    int out_fd, err_fd;
    int status; /* -1 while running */
} proc;

static bool spawn_cli(proc *p, const char *const *args)
{
    const char *argv[24] = {cli_bin};
    size_t n = 1;
    for (; *args && n < 23; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    GError *err = NULL;
    p->status = -1;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                  &p->pid, NULL, &p->out_fd, &p->err_fd, &err)) {
        fprintf(stderr, "cannot run berrymq: %s\n", err->message);
        g_error_free(err);
        return false;
    }
    return true;
}

static bool proc_done(void *data)
{
    proc *p = data;
    if (p->status >= 0)
        return true;
    int st;
    if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
        p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
        g_spawn_close_pid(p->pid);
    }
    return p->status >= 0;
}

static char *read_all(int fd)
{
    GString *s = g_string_new(NULL);
    char buf[1024];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        g_string_append_len(s, buf, n);
    close(fd);
    return g_string_free(s, FALSE);
}

/* Wait for the end of @p; its exit status, stdout and stderr (owned by the
 * caller) through @out/@err. */
static int proc_finish(proc *p, guint timeout_ms, char **out, char **err)
{
    if (!desk_wait(proc_done, p, timeout_ms)) {
        fprintf(stderr, "berrymq still running after %u ms; killed\n", timeout_ms);
        kill(p->pid, SIGKILL);
        desk_wait(proc_done, p, 5000);
        p->status = 200;
    }
    char *o = read_all(p->out_fd), *e = read_all(p->err_fd);
    if (out)
        *out = o;
    else
        g_free(o);
    if (err)
        *err = e;
    else
        g_free(e);
    return p->status;
}

static int run_cli(const char *const *args, char **out, char **err)
{
    proc p;
    if (!spawn_cli(&p, args))
        return -1;
    return proc_finish(&p, 30000, out, err);
}

static bool call_seen(void *summary)
{
    return desk_monitor_find(env, summary) != NULL;
}

static void test_app_and_print_id(void)
{
    const char *a[] = {"notify", "-a", "buildbot", "-p", "Build 7 passed", "all green", NULL};
    char *out = NULL, *err = NULL;
    EXPECT(run_cli(a, &out, &err) == 0);
    EXPECT(desk_wait(call_seen, "Build 7 passed", 10000));
    desk_notify *n = desk_monitor_find(env, "Build 7 passed");
    EXPECT(n && strcmp(n->app_name, "buildbot") == 0);
    EXPECT(n && strcmp(n->body, "all green") == 0);
    /* -p prints the id dunst answered, and nothing else. */
    EXPECT(n && out && n->returned_id > 0 && (guint32)atoi(out) == n->returned_id);
    EXPECT(out && strspn(out, "0123456789") + 1 == strlen(out) && out[strlen(out) - 1] == '\n');
    if (err && *err)
        fprintf(stderr, "stderr: %s", err);

    /* -r ID: dunst is asked to replace that notification, and -p prints the
     * same id back. */
    char rid[16];
    snprintf(rid, sizeof rid, "%u", n ? n->returned_id : 0u);
    const char *b[] = {"notify", "-r", rid, "-p", "Build 7 passed again", NULL};
    char *out2 = NULL;
    EXPECT(run_cli(b, &out2, NULL) == 0);
    EXPECT(desk_wait(call_seen, "Build 7 passed again", 10000));
    desk_notify *m = desk_monitor_find(env, "Build 7 passed again");
    EXPECT(m && n && m->replaces_id == n->returned_id && m->returned_id == n->returned_id);
    EXPECT(out2 && n && (guint32)atoi(out2) == n->returned_id);
    g_free(out);
    g_free(out2);
    g_free(err);
}

static void test_flags(void)
{
    const char *a[] = {"notify",
                       "-u",
                       "critical",
                       "-t",
                       "5000",
                       "-i",
                       "dialog-warning",
                       "-c",
                       "build.failed",
                       "-h",
                       "int:x-level:5",
                       "-h",
                       "string:x-where:ci",
                       "-e",
                       "Flags",
                       "body text",
                       NULL};
    EXPECT(run_cli(a, NULL, NULL) == 0);
    EXPECT(desk_wait(call_seen, "Flags", 10000));
    desk_notify *n = desk_monitor_find(env, "Flags");
    EXPECT(n && n->urgency == 2 && n->timeout == 5000);
    EXPECT(n && n->icon && strcmp(n->icon, "dialog-warning") == 0);
    EXPECT(n && n->category && strcmp(n->category, "build.failed") == 0);
    EXPECT(n && n->hints && strstr(n->hints, "'x-level': <5>"));
    EXPECT(n && n->hints && strstr(n->hints, "'x-where': <'ci'>"));
    EXPECT(n && n->hints && strstr(n->hints, "'transient': <true>"));
    if (n && n->hints && !strstr(n->hints, "x-level"))
        fprintf(stderr, "hints: %s\n", n->hints);
}

static void test_wait(void)
{
    /* -w returns once the notification is closed, not before. */
    const char *a[] = {"notify", "-w", "Waiting for you", NULL};
    proc p;
    EXPECT(spawn_cli(&p, a));
    EXPECT(desk_wait(call_seen, "Waiting for you", 10000));
    desk_spin(300);
    EXPECT(!proc_done(&p));
    const char *close_all[] = {"close-all", NULL};
    g_free(desk_dunstctl(env, close_all));
    char *out = NULL;
    EXPECT(proc_finish(&p, 10000, &out, NULL) == 0);
    EXPECT(out && *out == '\0'); /* no -p, no action: prints nothing */
    g_free(out);
}

static void test_actions(void)
{
    /* -A implies -w; the chosen action's NAME is printed. dunst's context
     * menu (dunstctl action 0) picks the first action offered. */
    const char *a[] = {"notify", "-A", "retry=Retry", "-A", "Ignore", "Deploy failed", NULL};
    proc p;
    EXPECT(spawn_cli(&p, a));
    EXPECT(desk_wait(call_seen, "Deploy failed", 10000));
    desk_notify *n = desk_monitor_find(env, "Deploy failed");
    EXPECT(n && n->actions && g_strv_length(n->actions) == 4 &&
           strcmp(n->actions[0], "retry") == 0 && strcmp(n->actions[1], "Retry") == 0 &&
           strcmp(n->actions[2], "1") == 0 && strcmp(n->actions[3], "Ignore") == 0);
    const char *act[] = {"action", "0", NULL};
    char *out = NULL;
    for (int i = 0; i < 50 && !proc_done(&p); i++) {
        g_free(desk_dunstctl(env, act));
        desk_wait(proc_done, &p, 200);
    }
    EXPECT(proc_finish(&p, 10000, &out, NULL) == 0);
    EXPECT(out && strcmp(out, "retry\n") == 0);
    if (out && strcmp(out, "retry\n") != 0)
        fprintf(stderr, "-A printed '%s'\n", out);
    g_free(out);
}

static void test_no_daemon(void)
{
    /* The instance keeps no backlog and the daemon is gone: nothing can
     * show it, and berrymq says so with exit 3. */
    desk_dunst_kill(env);
    const char *a[] = {"notify", "Nobody sees this", NULL};
    char *err = NULL;
    int rc = run_cli(a, NULL, &err);
    EXPECT(rc == 3);
    EXPECT(err && strstr(err, "notification not shown") && strstr(err, "daemon"));
    if (rc != 3)
        fprintf(stderr, "exit %d, stderr '%s'\n", rc, err ? err : "");
    g_free(err);
}

static const char config[] = "{\"listen\": \"127.0.0.1:0\", \"plugins\": ["
                             "{\"plugin\": \"notify\", \"id\": \"notify\", \"config\": "
                             "{\"backlog\": 0, \"rate\": 100, \"burst\": 100}}]}";

int main(void)
{
    char *why = NULL;
    char *hub_bin = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "hub", "berrymq-hub", NULL);
    cli_bin = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
    env = desk_env_start(&why);
    if (!env) {
        fprintf(stderr, "skipped: %s\n", why);
        g_free(why);
        return DESK_SKIP;
    }
    EXPECT(desk_monitor_start(env));
    EXPECT(desk_dunst_start(env));

    char *cfg = g_build_filename(desk_env_dir(env), "hub.json", NULL);
    char *log = g_build_filename(desk_env_dir(env), "hub.log", NULL);
    g_file_set_contents(cfg, config, -1, NULL);
    /* The hub logs to a file; its address is read from there. */
    char *cmd = g_strdup_printf("exec '%s' --config '%s' --plugin-dir '%s' --no-tray 2>'%s'",
                                hub_bin, cfg, g_getenv("BMQ_PLUGIN_BUILD_DIR"), log);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    GPid hub = 0;
    GError *err = NULL;
    if (!g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &hub,
                       &err)) {
        fprintf(stderr, "cannot start the hub: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    char *addr = NULL;
    for (int i = 0; i < 2000 && !addr; i++) {
        char *text = NULL;
        if (g_file_get_contents(log, &text, NULL, NULL) && strstr(text, "instance 'notify'")) {
            const char *p = strstr(text, "listening on ");
            if (p)
                addr = g_strndup(p + 13, strcspn(p + 13, " \n"));
        }
        g_free(text);
        if (!addr)
            g_usleep(10000);
    }
    EXPECT(addr != NULL);
    if (addr) {
        g_setenv("BERRYMQ_HUB", addr, TRUE);
        test_app_and_print_id();
        test_flags();
        test_wait();
        test_actions();
        test_no_daemon();
    }
    kill(hub, SIGTERM);
    int st = 0;
    waitpid(hub, &st, 0);
    EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* The log says what becomes of notifications while the daemon is gone:
     * with "backlog": 0 none wait for it. */
    char *logtext = NULL;
    EXPECT(g_file_get_contents(log, &logtext, NULL, NULL));
    const char *gone = logtext ? strstr(logtext, "no notification daemon") : NULL;
    EXPECT(gone != NULL);
    if (gone) {
        char *line = g_strndup(gone, strcspn(gone, "\n"));
        EXPECT(strstr(line, "dropped") && !strstr(line, "wait"));
        if (!strstr(line, "dropped") || strstr(line, "wait"))
            fprintf(stderr, "the log says: %s\n", line);
        g_free(line);
    }
    g_free(logtext);
    if (check_failures) {
        char *text = NULL;
        if (g_file_get_contents(log, &text, NULL, NULL))
            fprintf(stderr, "hub log:\n%s", text);
        g_free(text);
    }
    g_free(addr);
    g_free(cmd);
    g_free(cfg);
    g_free(log);
    g_free(hub_bin);
    g_free(cli_bin);
    desk_env_stop(env);
    printf("%s\n", check_failures ? "FAILED" : "ok");
    return check_result();
}
