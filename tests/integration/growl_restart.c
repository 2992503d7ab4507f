/* growl_restart.c - the growl plugin's GNTP forwarding queue survives the
 * hub: the real berrymq-hub with its history on, driven with the berrymq
 * CLI, forwarding to a GNTP server written from the protocol text.
 *
 * 1. The Growl server is down. `berrymq twitter` has five notifications
 *    acknowledged, the hub is killed with SIGKILL and started again, one
 *    more is sent, then the server comes up: all six are shown, once each,
 *    in order. A clean restart afterwards shows none of them again.
 * 2. With "history": false an outage without a restart still ends with
 *    every notification shown once, in order: none is given up.
 */
#include "cli_harness.h"
#include "growl_server.h"


static void notify(cli_h *h, const char *title)
{
    char kw[64];
    snprintf(kw, sizeof kw, "title=%s", title);
    cli_run r;
    int rc = cli_h_runv(h, &r, "twitter", "out:x", "-k", kw, NULL);
    EXPECT_MSG(rc == 0, "twitter %s: exit %d, stderr: %s", title, rc, r.err);
    cli_run_free(&r);
}

static void write_config(cli_h *h, int port, bool history)
{
    char *cfg = g_strdup_printf(
        "{%s\"plugins\": [{\"plugin\": \"growl\", \"id\": \"g\", \"config\": {\"host\": "
        "\"127.0.0.1\", \"port\": %d, \"filter\": \"out:*\", \"callbacks\": false}}]}\n",
        history ? "" : "\"history\": false, ", port);
    cli_h_write_config(h, cfg);
    g_free(cfg);
}

/* The Notification-Title of every NOTIFY so far, joined with ' '
 * (transfer full). */
static char *titles(srv *s)
{
    GString *g = g_string_new(NULL);
    for (guint i = 0; i < srv_count(s); i++) {
        char *req = srv_req(s, i, NULL);
        if (g_str_has_prefix(req, "GNTP/1.0 NOTIFY")) {
            char *t = hdr(strstr(req, "\r\n") + 2, "Notification-Title");
            g_string_append_printf(g, "%s%s", g->len ? " " : "", t ? t : "?");
            g_free(t);
        }
        g_free(req);
    }
    return g_string_free(g, FALSE);
}

static unsigned n_notify(srv *s)
{
    unsigned n = 0;
    for (guint i = 0; i < srv_count(s); i++) {
        char *req = srv_req(s, i, NULL);
        n += g_str_has_prefix(req, "GNTP/1.0 NOTIFY");
        g_free(req);
    }
    return n;
}

static bool wait_notify(srv *s, unsigned n, double timeout_s)
{
    double end = cli_now() + timeout_s;
    while (n_notify(s) < n && cli_now() < end)
        g_usleep(50000);
    return n_notify(s) >= n;
}

static void test_outage_across_kill(cli_h *h)
{
    int port = free_port(SOCK_STREAM);
    write_config(h, port, true);
    if (cli_h_hub_start(h, NULL) < 0) {
        check_failures++;
        return;
    }
    for (int i = 0; i < 5; i++) {
        char t[16];
        snprintf(t, sizeof t, "m%d", i);
        notify(h, t);
    }
    /* m0 is being retried, the other four wait. */
    EXPECT_MSG(cli_h_wait_instance_stat(h, "g", "queued", 4, 30.0), "queued %lld, expected 4",
               (long long)cli_h_instance_stat(h, "g", "queued"));
    CHECK(cli_h_hub_kill(h) == 0);

    if (cli_h_hub_start(h, NULL) < 0) {
        check_failures++;
        return;
    }
    notify(h, "m5");
    srv s;
    srv_start_on(&s, MODE_OK, port);
    EXPECT_MSG(wait_notify(&s, 6, 90.0), "only %u notifications arrived", n_notify(&s));
    EXPECT_MSG(cli_h_wait_instance_stat(h, "g", "sent", 6, 30.0), "sent %lld",
               (long long)cli_h_instance_stat(h, "g", "sent"));
    char *got = titles(&s);
    EXPECT_MSG(strcmp(got, "m0 m1 m2 m3 m4 m5") == 0, "the server showed: %s", got);
    g_free(got);

    /* A clean restart: nothing shown again. */
    EXPECT_MSG(cli_h_hub_stop(h) == 0, "the hub did not stop cleanly");
    if (cli_h_hub_start(h, NULL) < 0) {
        check_failures++;
        srv_stop(&s);
        return;
    }
    notify(h, "m6");
    EXPECT_MSG(wait_notify(&s, 7, 60.0), "m6 never arrived");
    EXPECT_MSG(cli_h_wait_instance_stat(h, "g", "sent", 1, 30.0), "sent %lld",
               (long long)cli_h_instance_stat(h, "g", "sent"));
    got = titles(&s);
    EXPECT_MSG(strcmp(got, "m0 m1 m2 m3 m4 m5 m6") == 0, "the server showed: %s", got);
    g_free(got);
    EXPECT_MSG(cli_h_hub_stop(h) == 0, "the hub did not stop cleanly");
    srv_stop(&s);
}

static void test_outage_in_memory(cli_h *h)
{
    int port = free_port(SOCK_STREAM);
    write_config(h, port, false);
    if (cli_h_hub_start(h, NULL) < 0) {
        check_failures++;
        return;
    }
    for (int i = 0; i < 5; i++) {
        char t[16];
        snprintf(t, sizeof t, "k%d", i);
        notify(h, t);
    }
    /* m0 is being retried, the other four wait. */
    EXPECT_MSG(cli_h_wait_instance_stat(h, "g", "queued", 4, 30.0), "queued %lld, expected 4",
               (long long)cli_h_instance_stat(h, "g", "queued"));
    /* Several failed attempts (0.5 s, 1 s...): none gives a message up. */
    EXPECT_MSG(!cli_h_wait_instance_stat(h, "g", "failed", 1, 2.5),
               "a notification was given up during the outage");
    srv s;
    srv_start_on(&s, MODE_OK, port);
    EXPECT_MSG(wait_notify(&s, 5, 90.0), "only %u notifications arrived", n_notify(&s));
    EXPECT_MSG(cli_h_wait_instance_stat(h, "g", "sent", 5, 30.0), "sent %lld",
               (long long)cli_h_instance_stat(h, "g", "sent"));
    char *got = titles(&s);
    EXPECT_MSG(strcmp(got, "k0 k1 k2 k3 k4") == 0, "the server showed: %s", got);
    g_free(got);
    EXPECT_MSG(cli_h_hub_stop(h) == 0, "the hub did not stop cleanly");
    srv_stop(&s);
}

int main(void)
{
    cli_h h;
    if (cli_h_init(&h, "growl-restart") < 0)
        return 1;
    char *state = g_build_filename(h.root, "state", NULL);
    g_setenv("XDG_STATE_HOME", state, TRUE);
    g_free(state);
    test_outage_across_kill(&h);
    test_outage_in_memory(&h);
    cli_h_cleanup(&h);
    return check_result();
}
