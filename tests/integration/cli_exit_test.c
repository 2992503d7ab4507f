/* cli_exit_test.c - every exit code of berrymq (0 ok, 1 usage, 2 hub not
 * running, 3 rejected by the hub), one-line errors, --help for every
 * command, `status` and `status --json` against a hub with instances, and
 * a hub that requires a secret.
 */
#include "cli_harness.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const commands[] = {"twitter", "send", "notify", "listen", "status", "plugin"};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* Exactly one line on stderr, starting with "berrymq: ". */
static bool one_error_line(const char *err)
{
    size_t n = strlen(err);
    return strncmp(err, "berrymq: ", 9) == 0 && n > 10 && err[n - 1] == '\n' &&
           strchr(err, '\n') == err + n - 1;
}

static void expect(cli_h *h, int code, const char *const *argv)
{
    cli_run r;
    int rc = cli_h_run(h, &r, argv);
    char cmd[512] = "";
    for (int i = 0; argv[i]; i++) {
        strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1);
        strncat(cmd, argv[i], sizeof cmd - strlen(cmd) - 1);
    }
    EXPECT_MSG(rc == code, "berrymq%s: exit %d, expected %d (stderr: %s)", cmd, rc, code, r.err);
    if (code != 0) {
        EXPECT_MSG(one_error_line(r.err), "berrymq%s: stderr is not one 'berrymq: ' line: '%s'",
                   cmd, r.err);
        EXPECT_MSG(r.out[0] == '\0', "berrymq%s: printed on stdout: %s", cmd, r.out);
    }
    cli_run_free(&r);
}

#define EXPECT_EXIT(h, code, ...)                                                                  \
    do {                                                                                           \
        const char *argv_[] = {__VA_ARGS__, NULL};                                                 \
        expect(h, code, argv_);                                                                    \
    } while (0)

static void test_help(cli_h *h)
{
    cli_run r;
    int rc = cli_h_runv(h, &r, "--version", NULL);
    EXPECT_MSG(rc == 0 && strncmp(r.out, "berrymq ", 8) == 0, "--version: %d %s", rc, r.out);
    cli_run_free(&r);
    rc = cli_h_runv(h, &r, "--help", NULL);
    EXPECT_MSG(rc == 0 && strstr(r.out, "Usage: berrymq") && strstr(r.out, "twitter") &&
                   strstr(r.out, "BERRYMQ_HUB"),
               "--help: %d %s", rc, r.out);
    cli_run_free(&r);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char want[64];
        snprintf(want, sizeof want, "berrymq %s",
                 strcmp(commands[i], "send") ? commands[i] : "twitter");
        rc = cli_h_runv(h, &r, commands[i], "--help", NULL);
        EXPECT_MSG(rc == 0 && strstr(r.out, want) && r.err[0] == '\0', "%s --help: %d %s",
                   commands[i], rc, r.out);
        cli_run_free(&r);
        if (strcmp(commands[i], "notify") != 0) { /* notify: -h is --hint */
            rc = cli_h_runv(h, &r, commands[i], "-h", NULL);
            EXPECT_MSG(rc == 0 && strstr(r.out, want), "%s -h: %d %s", commands[i], rc, r.out);
            cli_run_free(&r);
        }
        rc = cli_h_runv(h, &r, "help", commands[i], NULL);
        EXPECT_MSG(rc == 0 && strstr(r.out, want), "help %s: %d %s", commands[i], rc, r.out);
        cli_run_free(&r);
    }
}

static void test_usage(cli_h *h)
{
    EXPECT_EXIT(h, 1, "bogus");
    EXPECT_EXIT(h, 1, "help", "bogus");
    EXPECT_EXIT(h, 1, "--bogus");
    EXPECT_EXIT(h, 1, "--hub", "not a:hub:x", "status");
    EXPECT_EXIT(h, 1, "--hub");
    EXPECT_EXIT(h, 1, "twitter");
    EXPECT_EXIT(h, 1, "twitter", "--bogus", "a:b");
    EXPECT_EXIT(h, 1, "twitter", "a:b", "--json-args", "{\"not\":\"array\"}");
    EXPECT_EXIT(h, 1, "twitter", "a:b", "--json-args", "[1,");
    EXPECT_EXIT(h, 1, "twitter", "a:b", "--json-kwargs", "[1]");
    EXPECT_EXIT(h, 1, "twitter", "a:b", "-k", "novalue");
    EXPECT_EXIT(h, 1, "twitter", "a:b", "-k");
    EXPECT_EXIT(h, 1, "notify");
    EXPECT_EXIT(h, 1, "notify", "-u", "urgent", "x");
    EXPECT_EXIT(h, 1, "notify", "-t", "soon", "x");
    EXPECT_EXIT(h, 1, "notify", "--hint", "nonsense", "x");
    EXPECT_EXIT(h, 1, "notify", "a", "b", "c");
    EXPECT_EXIT(h, 1, "notify", "-a", "bad:app", "x");
    EXPECT_EXIT(h, 1, "listen", "--count", "0");
    EXPECT_EXIT(h, 1, "listen", "--count", "many");
    EXPECT_EXIT(h, 1, "listen", "--timeout", "-1");
    EXPECT_EXIT(h, 1, "listen", "a:*", "b:*");
    EXPECT_EXIT(h, 1, "status", "extra");
    EXPECT_EXIT(h, 1, "status", "--bogus");
    EXPECT_EXIT(h, 1, "plugin");
    EXPECT_EXIT(h, 1, "plugin", "frobnicate");
    EXPECT_EXIT(h, 1, "plugin", "enable");
    EXPECT_EXIT(h, 1, "plugin", "install", "a.so", "b.so");
    EXPECT_EXIT(h, 1, "plugin", "remove", "../etc");
    EXPECT_EXIT(h, 1, "plugin", "list", "--id", "x");
    cli_run r;
    int rc = cli_h_runv(h, &r, NULL);
    EXPECT_MSG(rc == 1 && strstr(r.err, "Usage: berrymq"), "no command: %d %s", rc, r.err);
    cli_run_free(&r);
}

static void test_hub_down(cli_h *h)
{
    char addr[64], want[128];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", cli_h_free_port());
    snprintf(want, sizeof want, "berrymq: hub not running at %s\n", addr);
    const char *cases[][4] = {
        {"twitter", "a:b", NULL},
        {"send", "a:b", "1", NULL},
        {"notify", "hi", NULL},
        {"listen", "--count", "1", NULL},
        {"status", NULL},
        {"status", "--json", NULL},
        {"plugin", "list", NULL},
        {"plugin", "enable", "x", NULL},
        {"plugin", "disable", "x", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[8] = {"--hub", addr};
        for (int k = 0; k < 4 && cases[i][k]; k++)
            argv[2 + k] = cases[i][k];
        cli_run r;
        int rc = cli_h_run(h, &r, argv);
        EXPECT_MSG(rc == 2 && strcmp(r.err, want) == 0 && r.out[0] == '\0',
                   "%s with no hub: exit %d, stderr '%s'", cases[i][0], rc, r.err);
        cli_run_free(&r);
    }
    /* The same through BERRYMQ_HUB. */
    setenv("BERRYMQ_HUB", addr, 1);
    cli_run r;
    int rc = cli_h_runv(h, &r, "twitter", "a:b", NULL);
    EXPECT_MSG(rc == 2 && strcmp(r.err, want) == 0, "BERRYMQ_HUB: %d '%s'", rc, r.err);
    cli_run_free(&r);
    unsetenv("BERRYMQ_HUB");
}

static void test_rejected(cli_h *h)
{
    EXPECT_EXIT(h, 3, "twitter", "a:b:c");
    EXPECT_EXIT(h, 3, "twitter", "bad id", "x");
    EXPECT_EXIT(h, 3, "listen", "a:b:c", "--count", "1");
    /* Not installed by the user: refused before touching the running tp1
     * (test_status checks it still runs). */
    EXPECT_EXIT(h, 1, "plugin", "remove", "testplug");
    EXPECT_EXIT(h, 3, "plugin", "enable", "no-such-instance");
    EXPECT_EXIT(h, 3, "plugin", "disable", "no-such-instance");
    EXPECT_EXIT(h, 3, "twitter", "");
    /* Over the hub's default 1 MiB body limit: HTTP 413, exit 3. */
    char *big = malloc(110001);
    memset(big, 'x', 110000);
    big[110000] = '\0';
    cli_run r;
    int rc = cli_h_runv(h, &r, "twitter", "big:x", big, big, big, big, big, big, big, big, big, big,
                        NULL);
    EXPECT_MSG(rc == 3 && strstr(r.err, "413") && one_error_line(r.err), "1.1 MB message: %d %s",
               rc, r.err);
    cli_run_free(&r);
    free(big);
    EXPECT_EXIT(h, 0, "twitter", "fine:ok", "1");
    /* No notify instance runs here: nothing can show it, and it says so. */
    EXPECT_EXIT(h, 3, "notify", "fine");
}

static bool contains_line(const char *out, const char *a, const char *b)
{
    for (const char *l = out; l && *l;) {
        const char *e = strchr(l, '\n');
        size_t n = e ? (size_t)(e - l) : strlen(l);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)n, l);
        if (strstr(line, a) && (!b || strstr(line, b)))
            return true;
        l = e ? e + 1 : NULL;
    }
    return false;
}

static void test_status(cli_h *h)
{
    cli_run r;
    int rc = cli_h_runv(h, &r, "status", NULL);
    EXPECT_MSG(rc == 0, "status: %d %s", rc, r.err);
    EXPECT_MSG(strncmp(r.out, "berryMQ hub ", 12) == 0 && strstr(r.out, ", up "),
               "status header: %s", r.out);
    EXPECT_MSG(contains_line(r.out, "listen:", h->addr), "status lacks listen %s: %s", h->addr,
               r.out);
    EXPECT_MSG(contains_line(r.out, "tp1", "running"), "status lacks tp1 running: %s", r.out);
    EXPECT_MSG(contains_line(r.out, "broken", "failed"), "status lacks broken failed: %s", r.out);
    EXPECT_MSG(contains_line(r.out, "messages:", "sent"), "status lacks counters: %s", r.out);
    EXPECT_MSG(contains_line(r.out, "links:", NULL), "status lacks links: %s", r.out);
    cli_run_free(&r);

    rc = cli_h_runv(h, &r, "status", "--json", NULL);
    json_object *st = rc == 0 ? cli_json(r.out) : NULL, *v;
    EXPECT_MSG(st, "status --json: %d '%s'", rc, r.out);
    EXPECT_MSG(json_object_object_get_ex(st, "listen", &v) &&
                   strcmp(json_object_get_string(v), h->addr) == 0,
               "status --json listen: %s", r.out);
    EXPECT_MSG(json_object_object_get_ex(st, "pid", &v) &&
                   json_object_get_int(v) == (int)h->hub_pid,
               "status --json pid: %s", r.out);
    EXPECT_MSG(json_object_object_get_ex(st, "version", &v) &&
                   json_object_is_type(v, json_type_string),
               "status --json version: %s", r.out);
    EXPECT_MSG(json_object_object_get_ex(st, "instances", &v) && json_object_array_length(v) == 2,
               "status --json instances: %s", r.out);
    EXPECT_MSG(json_object_object_get_ex(st, "counters", &v) &&
                   json_object_is_type(v, json_type_object),
               "status --json counters: %s", r.out);
    json_object_put(st);
    cli_run_free(&r);
}

static void test_secret(cli_h *h)
{
    cli_h_write_config(h, "{\"secret\": \"s3cret\", \"plugins\": []}\n");
    setenv("BERRYMQ_SECRET", "s3cret", 1); /* for the harness's readiness poll */
    if (cli_h_hub_start(h, NULL) < 0) {
        EXPECT_MSG(false, "hub with a secret did not start");
        unsetenv("BERRYMQ_SECRET");
        return;
    }
    EXPECT_EXIT(h, 0, "twitter", "sec:ok");
    unsetenv("BERRYMQ_SECRET");
    EXPECT_EXIT(h, 3, "twitter", "sec:nope");
    EXPECT_EXIT(h, 3, "--secret", "wrong", "status");
    EXPECT_EXIT(h, 0, "--secret", "s3cret", "status");
    EXPECT_EXIT(h, 0, "twitter", "--secret", "s3cret", "sec:ok");
    EXPECT_MSG(cli_h_hub_stop(h) == 0, "hub with secret did not stop cleanly");
}

int main(void)
{
    cli_h h;
    if (cli_h_init(&h, "exit") < 0)
        return 1;
    test_help(&h);
    test_usage(&h);
    test_hub_down(&h);

    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{\"plugins\": [{\"plugin\": \"testplug\", \"id\": \"tp1\"},"
             " {\"plugin\": \"failplug\", \"id\": \"broken\"}]}\n");
    cli_h_write_config(&h, cfg);
    const char *extra[] = {"--plugin-dir", h.test_plugins, NULL};
    if (cli_h_hub_start(&h, extra) < 0) {
        cli_h_cleanup(&h);
        return 1;
    }
    test_rejected(&h);
    test_status(&h);
    EXPECT_MSG(cli_h_hub_stop(&h) == 0, "hub did not stop cleanly");
    test_secret(&h);
    cli_h_cleanup(&h);
    return check_result();
}
