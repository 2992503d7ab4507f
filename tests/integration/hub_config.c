/* hub_config.c - what a user sees from bad configs (exit 1 with one line
 * naming the file, the key and the problem), a second hub (refused, says
 * where the first listens), bad options, and the run on defaults.
 */
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hub_harness.h"

typedef struct {
    const char *config;
    const char *expect; /* substring of the one error line, after the file name */
} bad_case;

static const bad_case bad_cases[] = {
    {"{\"listen\": 5}", ": listen: expected \"HOST:PORT\""},
    {"{\"listen\": \"127.0.0.1:99999\"}", ": listen: '127.0.0.1:99999' is not HOST:PORT"},
    {"{\"lisen\": \"127.0.0.1:1\"}", ": lisen: unknown key"},
    {"{\"plugins\": {}}", ": plugins: expected an array"},
    {"{\"plugins\": [{\"id\": \"x\"}]}", ": plugins[0]: missing \"plugin\""},
    {"{\"plugins\": [{\"plugin\": \"testplug\"}, {\"plugin\": \"testplug\"}]}",
     ": plugins[1].id: duplicate id 'testplug'"},
    {"{\"plugins\": [{\"plugin\": \"testplug\", \"config\": []}]}",
     ": plugins[0].config: expected an object"},
    {"{\"plugins\": [{\"plugin\": \"testplug\", \"id\": \"a b\"}]}", ": plugins[0].id: 'a b'"},
    {"{\"links\": [{\"style\": \"sideways\", \"host\": \"127.0.0.1\", \"port\": 1}]}",
     ": links[0].style: expected \"interconnect\" or \"oneway\""},
    {"{\"links\": [{\"host\": \"127.0.0.1\"}]}", ": links[0]: missing \"port\""},
    {"{\"allow\": [\"not-a-net\"]}", ": allow[0]: expected an address or CIDR"},
    {"{\"log_level\": \"loud\"}", ": log_level: expected one of"},
    {"{\"max_body\": -1}", ": max_body: expected a byte count"},
    {"{\"secret\": 12}", ": secret: expected a string or null"},
    {"{\"plugins\": [}", ": (syntax): invalid JSON at line 1"},
    {"[1, 2]", ": (top level): expected an object"},
};

static void test_bad_configs(hh_env *env)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        hh_write_config(env, bad_cases[i].config);
        hh_hub *h = hh_start(env, NULL, false);
        int rc = hh_wait_exit(h, 10000);
        hh_finish_log(h);
        char *log = hh_log(h);
        if (rc != 1)
            fprintf(stderr, "config %s: exit %d\n", bad_cases[i].config, rc);
        EXPECT(rc == 1);
        char *expect = g_strdup_printf("berrymq-hub: %s%s", env->config_file, bad_cases[i].expect);
        EXPECT_CONTAINS(log, expect);
        /* One line, nothing else. */
        EXPECT(strchr(log, '\n') == log + strlen(log) - 1);
        g_free(expect);
        g_free(log);
        hh_free(h);
    }
}

static void test_second_instance(hh_env *env)
{
    hh_write_config(env, "{\"plugins\": []}");
    hh_hub *first = hh_start(env, NULL, true);
    hh_hub *second = hh_start(env, NULL, false);
    EXPECT(hh_wait_exit(second, 10000) == 1);
    char *expect = g_strdup_printf("berrymq-hub: already running (pid %d, listening on %s)",
                                   (int)first->pid, first->listen);
    EXPECT(hh_wait_log(second, expect, 2000));
    if (!hh_wait_log(second, expect, 0)) {
        char *l = hh_log(second);
        fprintf(stderr, "second hub said: %s\n", l);
        g_free(l);
    }
    g_free(expect);
    hh_free(second);
    /* The first one is unaffected. */
    json_object *st = hh_call(first, "hub.status", "[]", NULL);
    EXPECT(st != NULL);
    json_object_put(st);
    EXPECT(hh_stop(first) == 0);
    hh_free(first);
    /* After a clean stop a new hub starts. */
    hh_hub *again = hh_start(env, NULL, true);
    EXPECT(hh_stop(again) == 0);
    hh_free(again);
}

static void test_options(hh_env *env)
{
    const char *bad[] = {"--bogus", NULL};
    hh_hub *h = hh_start(env, bad, false);
    EXPECT(hh_wait_exit(h, 10000) == 1);
    EXPECT(hh_wait_log(h, "Unknown option --bogus", 2000));
    hh_free(h);
    const char *listen[] = {"--listen", "nonsense", NULL};
    h = hh_start(env, listen, false);
    EXPECT(hh_wait_exit(h, 10000) == 1);
    EXPECT(hh_wait_log(h, "--listen: 'nonsense' is not HOST:PORT", 2000));
    hh_free(h);
    const char *missing[] = {"--config", "/nonexistent/hub.json", NULL};
    h = hh_start(env, missing, false);
    EXPECT(hh_wait_exit(h, 10000) == 1);
    EXPECT(hh_wait_log(h, "/nonexistent/hub.json: cannot read", 2000));
    hh_free(h);
    const char *ver[] = {"--version", NULL};
    h = hh_start(env, ver, false);
    EXPECT(hh_wait_exit(h, 10000) == 0);
    hh_free(h);
}

/* No user config: the shipped defaults (notify + tray) are used; without a
 * display the tray is skipped and the hub runs. */
static void test_defaults(hh_env *env)
{
    g_unlink(env->config_file);
    hh_hub *h = hh_start(env, NULL, true);
    json_object *st = hh_call(h, "hub.status", "[]", NULL);
    EXPECT(st != NULL);
    json_object *cfg = NULL;
    EXPECT(st && json_object_object_get_ex(st, "config", &cfg) && cfg == NULL);
    json_object_put(st);
    char *s = hh_state(h, "tray");
    EXPECT(strcmp(s, "disabled") == 0);
    g_free(s);
    json_object *n = hh_instance(h, "notify");
    EXPECT(n != NULL);
    json_object_put(n);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
}

/* Under systemd (JOURNAL_STREAM names our stderr) lines carry <N>
 * priority prefixes; -v adds debug lines (<7>). */
static void test_journal(hh_env *env)
{
    hh_write_config(env, "{\"plugins\": [{\"plugin\": \"failplug\"}]}");
    char *log = g_build_filename(env->root, "journal-stream.txt", NULL);
    g_file_set_contents(log, "", 0, NULL);
    struct stat st;
    EXPECT(stat(log, &st) == 0);
    char *js =
        g_strdup_printf("%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    char *hub = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "hub", "berrymq-hub", NULL);
    char *cmd = g_strdup_printf("exec '%s' --listen 127.0.0.1:0 --no-tray -v --plugin-dir '%s' "
                                "2>>'%s'",
                                hub, env->plugin_dir, log);
    char *home = g_build_filename(env->root, "home", NULL);
    char *cfg = g_build_filename(env->root, "config", NULL);
    char *run = g_build_filename(env->root, "run", NULL);
    char **envp = g_get_environ();
    envp = g_environ_setenv(envp, "JOURNAL_STREAM", js, TRUE);
    envp = g_environ_setenv(envp, "HOME", home, TRUE);
    envp = g_environ_setenv(envp, "XDG_CONFIG_HOME", cfg, TRUE);
    envp = g_environ_setenv(envp, "XDG_RUNTIME_DIR", run, TRUE);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    GPid pid;
    EXPECT(g_spawn_async(NULL, (char **)argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                         NULL));
    char *text = NULL;
    for (int i = 0; i < 1000; i++) {
        g_free(text);
        g_file_get_contents(log, &text, NULL, NULL);
        if (text && strstr(text, "create failed"))
            break;
        g_usleep(10000);
    }
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    g_spawn_close_pid(pid);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_free(text);
    g_file_get_contents(log, &text, NULL, NULL);
    EXPECT_CONTAINS(text, "<6>berrymq-hub 0.1.0 listening on 127.0.0.1:");
    EXPECT_CONTAINS(text, "<3>instance 'failplug': create failed: failplug refuses to start");
    EXPECT_CONTAINS(text, "<7>loaded plugin 'failplug'");
    EXPECT(text && !strstr(text, "berrymq-hub: info:"));
    g_free(text);
    g_strfreev(envp);
    g_free(home);
    g_free(cfg);
    g_free(run);
    g_free(cmd);
    g_free(hub);
    g_free(js);
    g_free(log);
}

int main(void)
{
    hh_env *env = hh_env_new();
    test_bad_configs(env);
    test_second_instance(env);
    test_options(env);
    test_defaults(env);
    test_journal(env);
    hh_env_free(env);
    return check_result();
}
