/* webhook_hub_test.c - the webhook plugin inside the real berrymq-hub,
 * driven with the berrymq CLI: while the webhook's server sits on a
 * request without answering, `berrymq twitter` keeps returning at once and
 * `berrymq listen` gets every message; `berrymq status --json` shows them
 * queued; once the server answers they all arrive, once each, in order.
 */
#include "cli_harness.h"
#include "http_server.h"

#include <stdlib.h>
#include <string.h>

#define N_MORE 10

static void twitter(cli_h *h, int i)
{
    char arg[16];
    snprintf(arg, sizeof arg, "m%d", i);
    cli_run r;
    int rc = cli_h_runv(h, &r, "twitter", "slow:x", arg, NULL);
    EXPECT_MSG(rc == 0, "twitter %s: exit %d, stderr: %s", arg, rc, r.err);
    cli_run_free(&r);
}

static void test_slow_server(cli_h *h, hs_server *s)
{
    cli_proc listen;
    const char *argv[] = {"listen", "slow:*", "--count", "11", "--timeout", "120", NULL};
    EXPECT_MSG(cli_h_spawn(h, &listen, argv) == 0, "spawn listen");
    EXPECT_MSG(cli_h_wait_queue(h, "slow:*", true, 30.0), "listen never connected");

    /* The first message reaches the server, which holds on to it. */
    twitter(h, 0);
    EXPECT_MSG(hs_wait_count(s, 1, 30.0), "the webhook never sent m0");
    for (int i = 1; i <= N_MORE; i++)
        twitter(h, i);
    for (int i = 0; i <= N_MORE; i++) {
        char *line = cli_proc_line(&listen, 30.0), want[64];
        snprintf(want, sizeof want, "{\"id\":\"slow:x\",\"args\":[\"m%d\"],\"kwargs\":{}}", i);
        json_object *got = line ? cli_json(line) : NULL, *exp = cli_json(want);
        EXPECT_MSG(got && json_object_equal(got, exp), "listen printed '%s', expected %s",
                   line ? line : "(nothing)", want);
        json_object_put(got);
        json_object_put(exp);
        free(line);
    }
    char *err = NULL;
    EXPECT_MSG(cli_proc_wait(&listen, 30.0, &err) == 0, "listen failed: %s", err);
    free(err);
    free(listen.out);

    /* All of that happened while the server still held m0. */
    EXPECT_MSG(hs_count(s) == 1 && hs_held(s) == 1, "the server answered early (%u requests)",
               hs_count(s));
    EXPECT_MSG(cli_h_instance_stat(h, "hook", "queued") == N_MORE + 1, "queued %lld, expected %d",
               (long long)cli_h_instance_stat(h, "hook", "queued"), N_MORE + 1);
    EXPECT_MSG(cli_h_instance_stat(h, "hook", "sent") == 0, "sent %lld",
               (long long)cli_h_instance_stat(h, "hook", "sent"));

    hs_hold(s, false);
    EXPECT_MSG(hs_wait_count(s, N_MORE + 1, 60.0), "only %u requests arrived", hs_count(s));
    EXPECT_MSG(cli_h_wait_instance_stat(h, "hook", "sent", N_MORE + 1, 60.0), "sent %lld",
               (long long)cli_h_instance_stat(h, "hook", "sent"));
    EXPECT_MSG(hs_count(s) == N_MORE + 1, "%u requests", hs_count(s));
    for (int i = 0; i <= N_MORE; i++) {
        const hs_request *r = hs_get(s, (guint)i);
        char want[16];
        snprintf(want, sizeof want, "m%d", i);
        EXPECT_MSG(r && strcmp(r->body, want) == 0, "request %d is '%s'", i, r ? r->body : "");
        EXPECT_MSG(r && strcmp(r->path, "/slow") == 0, "path %s", r ? r->path : "");
        const char *title = r ? hs_header(r, "Title") : NULL;
        EXPECT_MSG(title && strcmp(title, "slow:x") == 0, "title %s", title ? title : "(none)");
    }
    EXPECT_MSG(cli_h_instance_stat(h, "hook", "queued") == 0, "queued %lld",
               (long long)cli_h_instance_stat(h, "hook", "queued"));
}

int main(void)
{
    cli_h h;
    if (cli_h_init(&h, "webhook") < 0)
        return 1;
    hs_server *s = hs_start(0, NULL, NULL);
    if (!s)
        return 1;
    hs_hold(s, true);
    char *cfg = g_strdup_printf(
        "{\"plugins\": [{\"plugin\": \"webhook\", \"id\": \"hook\", \"config\": {\"url\": "
        "\"http://127.0.0.1:%d/slow\", \"format\": \"ntfy\", \"filter\": \"slow:*\", "
        "\"timeout\": 120}}]}\n",
        hs_port(s));
    cli_h_write_config(&h, cfg);
    g_free(cfg);
    if (cli_h_hub_start(&h, NULL) < 0) {
        hs_stop(s);
        cli_h_cleanup(&h);
        return 1;
    }
    test_slow_server(&h, s);
    EXPECT_MSG(cli_h_hub_stop(&h) == 0, "hub did not stop cleanly");
    cli_h_cleanup(&h);
    hs_stop(s);
    return check_result();
}
