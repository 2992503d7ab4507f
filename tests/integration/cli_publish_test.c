/* cli_publish_test.c - `berrymq publish` against the real hub: what a
 * listener and ntfy's answer show for every option, over TCP and the Unix
 * socket, usage errors (exit 1), refusals by the hub (exit 3, one line),
 * a hub with the ntfy API off, and a hub with a secret.
 */
#include "cli_harness.h"

#include <stdlib.h>
#include <string.h>

static const char *str(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static int64_t num(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : -1;
}

static bool one_error_line(const char *err, const char *needle)
{
    size_t n = strlen(err);
    return strncmp(err, "berrymq: ", 9) == 0 && n > 10 && err[n - 1] == '\n' &&
           strchr(err, '\n') == err + n - 1 && (!needle || strstr(err, needle));
}

#define EXPECT_FAIL(h, code, needle, ...)                                                          \
    do {                                                                                           \
        const char *argv_[] = {__VA_ARGS__, NULL};                                                 \
        cli_run r_;                                                                                \
        int rc_ = cli_h_run(h, &r_, argv_);                                                        \
        EXPECT_MSG(rc_ == (code) && one_error_line(r_.err, needle) && !r_.out[0],                  \
                   "%s: exit %d (want %d), stderr '%s', stdout '%s'", #__VA_ARGS__, rc_, code,     \
                   r_.err, r_.out);                                                                \
        cli_run_free(&r_);                                                                         \
    } while (0)

/* Every option, seen by a listener (the berryMQ side) and in ntfy's answer. */
static void test_options(cli_h *h)
{
    cli_proc lp;
    const char *largv[] = {"listen", "news:*", "--count", "1", "--timeout", "20", NULL};
    EXPECT_MSG(cli_h_spawn(h, &lp, largv) == 0, "listen did not start");
    EXPECT_MSG(cli_h_wait_queue(h, "news:*", true, 10), "listener not registered");
    cli_run r;
    int rc = cli_h_runv(h, &r, "publish", "news", "Disk full on /srv 💾", "-t", "srv1", "-p",
                        "urgent", "--tags", "warning, disk", "--click", "https://example.org/x",
                        "--icon", "https://example.org/i.png", "--markdown", NULL);
    EXPECT_MSG(rc == 0 && !r.err[0], "publish: exit %d, stderr %s", rc, r.err);
    json_object *ans = cli_json(r.out);
    EXPECT_MSG(ans && !strcmp(str(ans, "event") ?: "", "message") &&
                   !strcmp(str(ans, "topic") ?: "", "news") &&
                   !strcmp(str(ans, "message") ?: "", "Disk full on /srv 💾") &&
                   !strcmp(str(ans, "title") ?: "", "srv1") && num(ans, "priority") == 5 &&
                   !strcmp(str(ans, "click") ?: "", "https://example.org/x") &&
                   !strcmp(str(ans, "content_type") ?: "", "text/markdown") && str(ans, "id"),
               "publish printed %s", r.out);
    json_object_put(ans);
    cli_run_free(&r);

    char *line = cli_proc_line(&lp, 20);
    json_object *m = line ? cli_json(line) : NULL, *kw = NULL, *tags = NULL;
    json_object_object_get_ex(m, "kwargs", &kw);
    json_object_object_get_ex(kw, "tags", &tags);
    EXPECT_MSG(m && !strcmp(str(m, "id") ?: "", "news:notify") &&
                   !strcmp(str(kw, "body") ?: "", "Disk full on /srv 💾") &&
                   !strcmp(str(kw, "title") ?: "", "srv1") &&
                   !strcmp(str(kw, "urgency") ?: "", "critical") && num(kw, "priority") == 5 &&
                   json_object_array_length(tags) == 2 &&
                   !strcmp(json_object_get_string(json_object_array_get_idx(tags, 1)), "disk") &&
                   !strcmp(str(kw, "icon") ?: "", "https://example.org/i.png") &&
                   !strcmp(str(kw, "markdown") ?: "", "true"),
               "listener saw %s", line ? line : "(nothing)");
    json_object_put(m);
    free(line);
    EXPECT_MSG(cli_proc_wait(&lp, 10, NULL) == 0, "listen did not exit 0");
    free(lp.out);

    /* Priority names and numbers map to urgency as ntfy's do. */
    static const struct {
        const char *p;
        int prio;
    } prios[] = {{"min", 1}, {"2", 2}, {"default", 3}, {"high", 4}, {"MAX", 5}};
    for (size_t i = 0; i < sizeof prios / sizeof prios[0]; i++) {
        rc = cli_h_runv(h, &r, "publish", "news", "x", "--priority", prios[i].p, NULL);
        ans = cli_json(r.out);
        /* ntfy leaves the default priority out of its JSON */
        EXPECT_MSG(rc == 0 && num(ans, "priority") == (prios[i].prio == 3 ? -1 : prios[i].prio),
                   "-p %s: %d %s %s", prios[i].p, rc, r.out, r.err);
        json_object_put(ans);
        cli_run_free(&r);
    }
}

static void test_usage(cli_h *h)
{
    EXPECT_FAIL(h, 1, "TOPIC must be", "publish", "no/slash", "x");
    EXPECT_FAIL(h, 1, "TOPIC must be", "publish", "", "x");
    EXPECT_FAIL(h, 1, "priority must be", "publish", "t", "x", "-p", "6");
    EXPECT_FAIL(h, 1, "missing MESSAGE", "publish", "t");
    EXPECT_FAIL(h, 1, "missing TOPIC", "publish");
    EXPECT_FAIL(h, 1, "too many arguments", "publish", "t", "a", "b");
    EXPECT_FAIL(h, 1, "--bogus", "publish", "t", "x", "--bogus");
    EXPECT_FAIL(h, 1, "needs a value", "publish", "t", "x", "--tags");
    cli_run r;
    int rc = cli_h_runv(h, &r, "publish", "--help", NULL);
    EXPECT_MSG(rc == 0 && strstr(r.out, "Usage: berrymq publish TOPIC MESSAGE") && !r.err[0],
               "publish --help: %d %s", rc, r.out);
    cli_run_free(&r);
    rc = cli_h_runv(h, &r, "publish", "-h", NULL);
    EXPECT_MSG(rc == 0 && strstr(r.out, "--markdown"), "publish -h: %d %s", rc, r.out);
    cli_run_free(&r);
}

/* The hub's own limits: a message over message_limit is refused with
 * ntfy's reason. */
static void test_refused(cli_h *h)
{
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    EXPECT_FAIL(h, 3, "refused the message", "publish", "news", big);
}

/* Without BERRYMQ_HUB the CLI finds the hub's Unix socket. */
static void test_socket(cli_h *h)
{
    char *saved = strdup(getenv("BERRYMQ_HUB"));
    unsetenv("BERRYMQ_HUB");
    cli_run r;
    int rc = cli_h_runv(h, &r, "publish", "sock", "over the socket", NULL);
    json_object *ans = cli_json(r.out);
    EXPECT_MSG(rc == 0 && !strcmp(str(ans, "message") ?: "", "over the socket"),
               "publish over the socket: %d %s %s", rc, r.out, r.err);
    json_object_put(ans);
    cli_run_free(&r);
    setenv("BERRYMQ_HUB", saved, 1);
    free(saved);
}

int main(void)
{
    cli_h h;
    if (cli_h_init(&h, "publish") < 0)
        return 1;
    EXPECT_FAIL(&h, 2, "not running", "publish", "t", "x");

    cli_h_write_config(&h, "{\"plugins\": [], \"ntfy\": {\"message_limit\": 64}}\n");
    if (cli_h_hub_start(&h, NULL) < 0) {
        cli_h_cleanup(&h);
        return 1;
    }
    test_options(&h);
    test_usage(&h);
    test_refused(&h);
    test_socket(&h);
    EXPECT_MSG(cli_h_hub_stop(&h) == 0, "hub did not stop cleanly");

    cli_h_write_config(&h, "{\"plugins\": [], \"ntfy\": false}\n");
    if (cli_h_hub_start(&h, NULL) == 0) {
        EXPECT_FAIL(&h, 3, "does not serve the ntfy API", "publish", "t", "x");
        EXPECT_MSG(cli_h_hub_stop(&h) == 0, "hub did not stop cleanly");
    } else {
        EXPECT_MSG(false, "hub with ntfy off did not start");
    }

    cli_h_write_config(&h, "{\"plugins\": [], \"secret\": \"s3cret\"}\n");
    setenv("BERRYMQ_SECRET", "s3cret", 1); /* for the harness's readiness poll */
    if (cli_h_hub_start(&h, NULL) == 0) {
        unsetenv("BERRYMQ_SECRET");
        EXPECT_FAIL(&h, 3, "HTTP 401", "publish", "t", "x");
        cli_run r;
        int rc = cli_h_runv(&h, &r, "publish", "--secret", "s3cret", "t", "with the secret", NULL);
        EXPECT_MSG(rc == 0 && strstr(r.out, "with the secret"), "publish --secret: %d %s %s", rc,
                   r.out, r.err);
        cli_run_free(&r);
        EXPECT_MSG(cli_h_hub_stop(&h) == 0, "hub did not stop cleanly");
    } else {
        unsetenv("BERRYMQ_SECRET");
        EXPECT_MSG(false, "hub with a secret did not start");
    }
    cli_h_cleanup(&h);
    return check_result();
}
