/* webhook_restart.c - the webhook plugin's outbox survives the hub: the
 * real berrymq-hub with its history on, driven with the berrymq CLI.
 *
 * 1. The server is down. `berrymq twitter` has five messages acknowledged,
 *    the hub is killed with SIGKILL and started again, one more message is
 *    sent, then the server comes up: all six arrive once each, in order.
 *    A clean restart afterwards sends none of them again.
 * 2. The server holds a request when the hub is killed: after the restart
 *    that message comes again (delivery is at least once) and the order is
 *    kept.
 * 3. With "history": false the outbox is in memory: an outage without a
 *    restart still ends with every message delivered once, in order.
 */
#include "cli_harness.h"
#include "http_server.h"

#include <stdlib.h>
#include <string.h>

static void twitter(cli_h *h, const char *text)
{
    cli_run r;
    int rc = cli_h_runv(h, &r, "twitter", "out:x", text, NULL);
    EXPECT_MSG(rc == 0, "twitter %s: exit %d, stderr: %s", text, rc, r.err);
    cli_run_free(&r);
}

static char *config_for(int port, bool history)
{
    return g_strdup_printf(
        "{%s\"plugins\": [{\"plugin\": \"webhook\", \"id\": \"hook\", \"config\": {\"url\": "
        "\"http://127.0.0.1:%d/out\", \"format\": \"ntfy\", \"filter\": \"out:*\", "
        "\"timeout\": 10, \"retry_min\": 0.05, \"retry_max\": 0.5}}]}\n",
        history ? "" : "\"history\": false, ", port);
}

/* The bodies of the requests so far, joined with ' ' (transfer full). */
static char *bodies(hs_server *s)
{
    GString *g = g_string_new(NULL);
    for (guint i = 0; i < hs_count(s); i++) {
        const hs_request *r = hs_get(s, i);
        g_string_append_printf(g, "%s%s", i ? " " : "", r ? r->body : "?");
    }
    return g_string_free(g, FALSE);
}

/* Outage, SIGKILL, restart, server up: each message once, in order. */
static void test_outage_across_kill(cli_h *h)
{
    int port = cli_h_free_port();
    char *cfg = config_for(port, true);
    cli_h_write_config(h, cfg);
    g_free(cfg);
    if (cli_h_hub_start(h, NULL) < 0) {
        check_failures++;
        return;
    }
    for (int i = 0; i < 5; i++) {
        char t[16];
        snprintf(t, sizeof t, "m%d", i);
        twitter(h, t);
    }
    EXPECT_MSG(cli_h_wait_instance_stat(h, "hook", "queued", 5, 30.0), "queued %lld, expected 5",
               (long long)cli_h_instance_stat(h, "hook", "queued"));
    CHECK(cli_h_hub_kill(h) == 0);

    if (cli_h_hub_start(h, NULL) < 0) {
        check_failures++;
        return;
    }
    twitter(h, "m5");
    hs_server *s = hs_start(port, NULL, NULL);
    EXPECT_MSG(s != NULL, "cannot start the server on port %d", port);
    if (!s)
        return;
    EXPECT_MSG(hs_wait_count(s, 6, 60.0), "only %u requests arrived", hs_count(s));
    EXPECT_MSG(cli_h_wait_instance_stat(h, "hook", "queued", 0, 30.0), "queued %lld",
               (long long)cli_h_instance_stat(h, "hook", "queued"));
    char *got = bodies(s);
    EXPECT_MSG(strcmp(got, "m0 m1 m2 m3 m4 m5") == 0, "the server got: %s", got);
    g_free(got);

    /* A clean restart: what was delivered is not sent again. */
    EXPECT_MSG(cli_h_hub_stop(h) == 0, "the hub did not stop cleanly");
    if (cli_h_hub_start(h, NULL) < 0) {
        check_failures++;
        hs_stop(s);
        return;
    }
    twitter(h, "m6");
    EXPECT_MSG(hs_wait_count(s, 7, 60.0), "m6 never arrived (%u requests)", hs_count(s));
    EXPECT_MSG(cli_h_wait_instance_stat(h, "hook", "sent", 1, 30.0), "sent %lld after the restart",
               (long long)cli_h_instance_stat(h, "hook", "sent"));
    got = bodies(s);
    EXPECT_MSG(strcmp(got, "m0 m1 m2 m3 m4 m5 m6") == 0, "the server got: %s", got);
    g_free(got);

    /* 2. The hub dies while the server holds n0: n0 comes again. */
    hs_hold(s, true);
    twitter(h, "n0");
    EXPECT_MSG(hs_wait_count(s, 8, 30.0), "n0 never reached the server");
    twitter(h, "n1");
    CHECK(cli_h_hub_kill(h) == 0);
    if (cli_h_hub_start(h, NULL) < 0) {
        check_failures++;
        hs_stop(s);
        return;
    }
    hs_hold(s, false);
    twitter(h, "n2");
    EXPECT_MSG(hs_wait_count(s, 11, 60.0), "only %u requests arrived", hs_count(s));
    EXPECT_MSG(cli_h_wait_instance_stat(h, "hook", "queued", 0, 30.0), "queued %lld",
               (long long)cli_h_instance_stat(h, "hook", "queued"));
    got = bodies(s);
    EXPECT_MSG(strcmp(got, "m0 m1 m2 m3 m4 m5 m6 n0 n0 n1 n2") == 0, "the server got: %s", got);
    g_free(got);
    EXPECT_MSG(cli_h_hub_stop(h) == 0, "the hub did not stop cleanly");
    hs_stop(s);
}

/* 3. History off: the in-memory outbox rides out an outage. */
static void test_outage_in_memory(cli_h *h)
{
    int port = cli_h_free_port();
    char *cfg = config_for(port, false);
    cli_h_write_config(h, cfg);
    g_free(cfg);
    if (cli_h_hub_start(h, NULL) < 0) {
        check_failures++;
        return;
    }
    for (int i = 0; i < 5; i++) {
        char t[16];
        snprintf(t, sizeof t, "k%d", i);
        twitter(h, t);
    }
    EXPECT_MSG(cli_h_wait_instance_stat(h, "hook", "queued", 5, 30.0), "queued %lld, expected 5",
               (long long)cli_h_instance_stat(h, "hook", "queued"));
    /* Long enough for several failed attempts: none may give up. */
    EXPECT_MSG(!cli_h_wait_instance_stat(h, "hook", "failed", 1, 2.0),
               "a message was given up during the outage");
    hs_server *s = hs_start(port, NULL, NULL);
    EXPECT_MSG(s != NULL, "cannot start the server on port %d", port);
    if (!s)
        return;
    EXPECT_MSG(hs_wait_count(s, 5, 60.0), "only %u requests arrived", hs_count(s));
    EXPECT_MSG(cli_h_wait_instance_stat(h, "hook", "sent", 5, 30.0), "sent %lld",
               (long long)cli_h_instance_stat(h, "hook", "sent"));
    char *got = bodies(s);
    EXPECT_MSG(strcmp(got, "k0 k1 k2 k3 k4") == 0, "the server got: %s", got);
    g_free(got);
    EXPECT_MSG(cli_h_hub_stop(h) == 0, "the hub did not stop cleanly");
    hs_stop(s);
}

int main(void)
{
    cli_h h;
    if (cli_h_init(&h, "webhook-restart") < 0)
        return 1;
    /* The history lives in the test's own tree. */
    char *state = g_build_filename(h.root, "state", NULL);
    g_setenv("XDG_STATE_HOME", state, TRUE);
    g_free(state);
    test_outage_across_kill(&h);
    test_outage_in_memory(&h);
    cli_h_cleanup(&h);
    return check_result();
}
