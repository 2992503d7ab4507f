/* cli_plugin_test.c - `berrymq plugin install|list|enable|disable|remove`
 * against a live hub, with the test plugins of the build tree: a good one
 * (testplug), one whose create fails, one with a wrong ABI, one without the
 * entry symbol, a text file named .so, and one that aborts while loading.
 */
#include "cli_harness.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CLI_CRASHPLUG
#define CLI_CRASHPLUG ""
#endif

static char installed_dir[512];

static bool installed(const char *name)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s.so", installed_dir, name);
    return access(path, F_OK) == 0;
}

/* Files in the user plugin directory (no temporary copies left behind). */
static int installed_count(void)
{
    DIR *d = opendir(installed_dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static const char *test_plugin(cli_h *h, const char *name)
{
    static char path[4][700];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, sizeof path[0], "%s/%s.so", h->test_plugins, name);
    return p;
}

/* The state of instance @id in `plugin list --json`, NULL if absent. */
static char *instance_state(cli_h *h, const char *id)
{
    cli_run r;
    char *state = NULL;
    int rc = cli_h_runv(h, &r, "plugin", "list", "--json", NULL);
    EXPECT_MSG(rc == 0, "plugin list --json: exit %d: %s", rc, r.err);
    json_object *res = rc == 0 ? cli_json(r.out) : NULL, *inst = NULL;
    EXPECT_MSG(rc != 0 || res, "plugin list --json is not JSON: %s", r.out);
    if (json_object_object_get_ex(res, "instances", &inst)) {
        for (size_t i = 0; i < json_object_array_length(inst); i++) {
            json_object *in = json_object_array_get_idx(inst, i), *v, *s;
            if (json_object_object_get_ex(in, "id", &v) &&
                strcmp(json_object_get_string(v), id) == 0 &&
                json_object_object_get_ex(in, "state", &s))
                state = strdup(json_object_get_string(s));
        }
    }
    json_object_put(res);
    cli_run_free(&r);
    return state;
}

static void expect_state(cli_h *h, const char *id, const char *want, const char *when)
{
    char *st = instance_state(h, id);
    EXPECT_MSG(want ? st && strcmp(st, want) == 0 : st == NULL,
               "%s: instance %s is %s, expected %s", when, id, st ? st : "absent",
               want ? want : "absent");
    free(st);
}

/* The instance answers testplug:ping with testplug:pong: it really runs. */
static void expect_pong(cli_h *h, const char *id)
{
    char pattern[64], ping[64];
    snprintf(pattern, sizeof pattern, "%s:pong", id);
    snprintf(ping, sizeof ping, "%s:ping", id);
    cli_proc p;
    const char *listen[] = {"listen", pattern, "--count", "1", "--timeout", "20", NULL};
    EXPECT_MSG(cli_h_spawn(h, &p, listen) == 0, "spawn listen");
    EXPECT_MSG(cli_h_wait_queue(h, pattern, true, 15.0), "listen %s never connected", pattern);
    cli_run r;
    int rc = cli_h_runv(h, &r, "twitter", ping, "7", NULL);
    EXPECT_MSG(rc == 0, "twitter %s: %d %s", ping, rc, r.err);
    cli_run_free(&r);
    char *line = cli_proc_line(&p, 15.0);
    json_object *o = line ? cli_json(line) : NULL, *v = NULL;
    EXPECT_MSG(o && json_object_object_get_ex(o, "id", &v) &&
                   strcmp(json_object_get_string(v), pattern) == 0,
               "no pong from %s: '%s'", id, line ? line : "(nothing)");
    EXPECT_MSG(o && json_object_object_get_ex(o, "args", &v) &&
                   json_object_get_int(json_object_array_get_idx(v, 0)) == 7,
               "pong args: %s", line ? line : "");
    json_object_put(o);
    free(line);
    char *err = NULL;
    EXPECT_MSG(cli_proc_wait(&p, 15.0, &err) == 0, "listen exit: %s", err);
    free(err);
    free(p.out);
}

static void expect_refused(cli_h *h, const char *file, const char *name, const char *why)
{
    cli_run r;
    int rc = cli_h_runv(h, &r, "plugin", "install", file, NULL);
    EXPECT_MSG(rc == 1, "install %s: exit %d (stdout %s, stderr %s)", file, rc, r.out, r.err);
    EXPECT_MSG(strncmp(r.err, "berrymq: ", 9) == 0 && strstr(r.err, "not installed") &&
                   strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
               "install %s: stderr '%s'", file, r.err);
    EXPECT_MSG(!why || strstr(r.err, why), "install %s: stderr lacks '%s': %s", file, why, r.err);
    EXPECT_MSG(!installed(name), "%s was copied although refused", name);
    cli_run_free(&r);
}

static void test_live(cli_h *h)
{
    cli_run r;
    int rc = cli_h_runv(h, &r, "plugin", "install", test_plugin(h, "testplug"), NULL);
    EXPECT_MSG(rc == 0, "install testplug: exit %d: %s", rc, r.err);
    EXPECT_MSG(strstr(r.out, "installed testplug") && strstr(r.out, "loaded instance testplug"),
               "install output: %s", r.out);
    cli_run_free(&r);
    EXPECT_MSG(installed("testplug"), "testplug.so not in %s", installed_dir);
    EXPECT_MSG(installed_count() == 1, "%d files in %s, expected testplug.so only",
               installed_count(), installed_dir);
    expect_state(h, "testplug", "running", "after install");
    expect_pong(h, "testplug");

    rc = cli_h_runv(h, &r, "plugin", "list", NULL);
    EXPECT_MSG(rc == 0 && strstr(r.out, "testplug") && strstr(r.out, "running"), "plugin list: %s",
               r.out);
    cli_run_free(&r);

    rc = cli_h_runv(h, &r, "plugin", "disable", "testplug", NULL);
    EXPECT_MSG(rc == 0, "disable: %d %s", rc, r.err);
    cli_run_free(&r);
    expect_state(h, "testplug", "disabled", "after disable");
    rc = cli_h_runv(h, &r, "plugin", "enable", "testplug", NULL);
    EXPECT_MSG(rc == 0, "enable: %d %s", rc, r.err);
    cli_run_free(&r);
    expect_state(h, "testplug", "running", "after enable");
    expect_pong(h, "testplug");

    /* A second instance with its own id and config. */
    rc = cli_h_runv(h, &r, "plugin", "install", test_plugin(h, "testplug"), "--id", "second",
                    "--config", "{\"greeting\":\"hi\"}", NULL);
    EXPECT_MSG(rc == 0 && strstr(r.out, "loaded instance second"), "install --id: %d %s %s", rc,
               r.out, r.err);
    cli_run_free(&r);
    expect_state(h, "second", "running", "second instance");
    expect_pong(h, "second");

    /* The same id again: the hub refuses, exit 3 with its message. */
    rc = cli_h_runv(h, &r, "plugin", "install", test_plugin(h, "testplug"), "--id", "second", NULL);
    EXPECT_MSG(rc == 3 && strstr(r.err, "second"), "duplicate id: %d %s", rc, r.err);
    cli_run_free(&r);

    rc = cli_h_runv(h, &r, "plugin", "remove", "testplug", NULL);
    EXPECT_MSG(rc == 0, "remove: %d %s", rc, r.err);
    EXPECT_MSG(strstr(r.out, "unloaded instance testplug") &&
                   strstr(r.out, "unloaded instance second"),
               "remove output: %s", r.out);
    cli_run_free(&r);
    EXPECT_MSG(!installed("testplug"), "testplug.so still installed");
    expect_state(h, "testplug", NULL, "after remove");
    expect_state(h, "second", NULL, "after remove");

    rc = cli_h_runv(h, &r, "plugin", "remove", "testplug", NULL);
    EXPECT_MSG(rc == 1 && strstr(r.err, "not installed"), "remove again: %d %s", rc, r.err);
    cli_run_free(&r);

    /* A plugin whose create fails: installed, but the hub says no (3). */
    rc = cli_h_runv(h, &r, "plugin", "install", test_plugin(h, "failplug"), NULL);
    EXPECT_MSG(rc == 3 && strstr(r.err, "did not load"), "failplug: %d %s", rc, r.err);
    cli_run_free(&r);
    EXPECT_MSG(installed("failplug"), "failplug.so not copied");
    rc = cli_h_runv(h, &r, "plugin", "remove", "failplug", NULL);
    EXPECT_MSG(rc == 0 && !installed("failplug"), "remove failplug: %d %s", rc, r.err);
    cli_run_free(&r);

    /* Unknown instances are rejected by the hub. */
    rc = cli_h_runv(h, &r, "plugin", "enable", "nope", NULL);
    EXPECT_MSG(rc == 3 && strstr(r.err, "nope"), "enable nope: %d %s", rc, r.err);
    cli_run_free(&r);
    rc = cli_h_runv(h, &r, "plugin", "disable", "nope", NULL);
    EXPECT_MSG(rc == 3 && strstr(r.err, "nope"), "disable nope: %d %s", rc, r.err);
    cli_run_free(&r);
}

static void test_bad_files(cli_h *h)
{
    expect_refused(h, test_plugin(h, "badabi"), "badabi", NULL);
    expect_refused(h, test_plugin(h, "nosym"), "nosym", NULL);
    expect_refused(h, test_plugin(h, "notso"), "notso", NULL);
    expect_refused(h, CLI_CRASHPLUG, "crashplug", "crashed");
    cli_run r;
    int rc = cli_h_runv(h, &r, "plugin", "install", "/nonexistent/x.so", NULL);
    EXPECT_MSG(rc == 1 && strstr(r.err, "/nonexistent/x.so"), "missing file: %d %s", rc, r.err);
    cli_run_free(&r);
    EXPECT_MSG(installed_count() == 0, "refused files left %d entries in %s", installed_count(),
               installed_dir);
    /* The hub survived all of that. */
    rc = cli_h_runv(h, &r, "status", NULL);
    EXPECT_MSG(rc == 0, "status after bad installs: %d %s", rc, r.err);
    cli_run_free(&r);
}

static void test_hub_down(cli_h *h)
{
    cli_run r;
    int rc = cli_h_runv(h, &r, "plugin", "install", test_plugin(h, "testplug"), NULL);
    EXPECT_MSG(rc == 0 && strstr(r.out, "not loaded: hub not running"), "install, no hub: %d %s %s",
               rc, r.out, r.err);
    cli_run_free(&r);
    EXPECT_MSG(installed("testplug"), "install without hub did not copy");
    rc = cli_h_runv(h, &r, "plugin", "list", NULL);
    EXPECT_MSG(rc == 2, "list without hub: %d", rc);
    cli_run_free(&r);
    rc = cli_h_runv(h, &r, "plugin", "remove", "testplug", NULL);
    EXPECT_MSG(rc == 0 && !installed("testplug"), "remove without hub: %d %s", rc, r.err);
    cli_run_free(&r);
}

int main(void)
{
    cli_h h;
    if (cli_h_init(&h, "plugin") < 0)
        return 1;
    snprintf(installed_dir, sizeof installed_dir, "%s/berrymq/plugins", h.data_home);
    cli_h_write_config(&h, "{\"plugins\": []}\n");
    if (cli_h_hub_start(&h, NULL) < 0) {
        cli_h_cleanup(&h);
        return 1;
    }
    test_bad_files(&h);
    test_live(&h);
    EXPECT_MSG(cli_h_hub_stop(&h) == 0, "hub did not stop cleanly");
    test_hub_down(&h);
    cli_h_cleanup(&h);
    return check_result();
}
