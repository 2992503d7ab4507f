/* cli_send_test.c - `berrymq twitter`/`send`/`notify` seen by `berrymq
 * listen` through a real hub, and how listen stops (--count, --timeout,
 * SIGINT, SIGTERM).
 */
#include "cli_harness.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Run the CLI and expect a silent success. */
static void send_ok(cli_h *h, const char *const *argv)
{
    cli_run r;
    int rc = cli_h_run(h, &r, argv);
    EXPECT_MSG(rc == 0, "%s %s: exit %d, stderr: %s", argv[0], argv[1], rc, r.err);
    EXPECT_MSG(r.out[0] == '\0' && r.err[0] == '\0', "%s %s printed '%s' / '%s'", argv[0], argv[1],
               r.out, r.err);
    cli_run_free(&r);
}

/* The next line of @p must equal @expected (a JSON text). */
static void expect_line(cli_proc *p, const char *expected)
{
    char *line = cli_proc_line(p, 15.0);
    json_object *want = cli_json(expected);
    json_object *got = line ? cli_json(line) : NULL;
    /* berrymq notify asks the notify instance for a receipt under a name
     * of its own: checked for shape, then left out of the comparison. */
    json_object *kw = NULL, *receipt = NULL;
    if (got && json_object_object_get_ex(got, "kwargs", &kw) &&
        json_object_object_get_ex(kw, "receipt", &receipt)) {
        const char *r = json_object_get_string(receipt);
        EXPECT_MSG(r && r[0] == 'r' && strstr(r, "@receipt") && !strchr(r, ':'), "receipt '%s'", r);
        json_object_object_del(kw, "receipt");
    }
    EXPECT_MSG(want, "bad expectation %s", expected);
    EXPECT_MSG(got && json_object_equal(got, want), "listen printed '%s', expected %s",
               line ? line : "(nothing)", expected);
    /* One compact object per line: no pretty-printing newlines or spaces
     * after separators. */
    EXPECT_MSG(line && !strstr(line, "\": ") && line[0] == '{', "not compact: %s",
               line ? line : "");
    json_object_put(want);
    json_object_put(got);
    free(line);
}

static void start_listener(cli_h *h, cli_proc *p, const char *const *argv, const char *pattern)
{
    EXPECT_MSG(cli_h_spawn(h, p, argv) == 0, "spawn listen");
    EXPECT_MSG(cli_h_wait_queue(h, pattern, true, 15.0), "listen %s never connected", pattern);
}

static void finish_listener(cli_h *h, cli_proc *p, const char *pattern, const char *what)
{
    char *err = NULL;
    int rc = cli_proc_wait(p, 20.0, &err);
    EXPECT_MSG(rc == 0, "%s: listen exit %d, stderr: %s", what, rc, err);
    EXPECT_MSG(err && err[0] == '\0', "%s: listen stderr: %s", what, err);
    EXPECT_MSG(p->out_len == 0, "%s: listen printed more: %.*s", what, (int)p->out_len,
               p->out ? p->out : "");
    free(err);
    free(p->out);
    p->out = NULL;
    /* close_connection was sent: the hub dropped the queue. */
    EXPECT_MSG(cli_h_wait_queue(h, pattern, false, 10.0), "%s: queue %s still open", what, pattern);
}

static void test_round_trip(cli_h *h)
{
    cli_proc p;
    const char *listen[] = {"listen", "rt:*", "--count", "4", "--timeout", "30", NULL};
    start_listener(h, &p, listen, "rt:*");

    const char *plain[] = {"twitter", "rt:plain",   "hello", "42",
                           "true",    "null",       "1.5",   "{\"a\":[1,2,{\"b\":\"c\"}]}",
                           "-k",      "name=world", "-k",    "n=7",
                           "-k",      "flag=false", "-k",    "empty=",
                           NULL};
    send_ok(h, plain);
    const char *utf8[] = {
        "send", "rt:utf8", "héllo wörld ✓ 日本語", "-k", "msg=ünïcode \"quoted\" \\ ✓", NULL};
    send_ok(h, utf8);
    const char *nested[] = {
        "twitter",       "rt:nested",
        "--json-args",   "[{\"deep\":{\"list\":[1,[2,[3]]]}},\"x\"]",
        "--json-kwargs", "{\"obj\":{\"k\":[\"v\",{\"w\":null}]},\"s\":\"日本\"}",
        "extra",         "-k",
        "s=over",        NULL};
    send_ok(h, nested);
    const char *dashes[] = {"twitter", "rt:neg", "-5",        "-k", "t=-2.5",
                            "-0.25",   "--",     "--literal", NULL};
    send_ok(h, dashes);

    expect_line(&p, "{\"id\":\"rt:plain\",\"args\":[\"hello\",42,true,null,1.5,"
                    "{\"a\":[1,2,{\"b\":\"c\"}]}],"
                    "\"kwargs\":{\"name\":\"world\",\"n\":7,\"flag\":false,\"empty\":\"\"}}");
    expect_line(&p, "{\"id\":\"rt:utf8\",\"args\":[\"héllo wörld ✓ 日本語\"],"
                    "\"kwargs\":{\"msg\":\"ünïcode \\\"quoted\\\" \\\\ ✓\"}}");
    expect_line(&p, "{\"id\":\"rt:nested\",\"args\":[{\"deep\":{\"list\":[1,[2,[3]]]}},\"x\","
                    "\"extra\"],\"kwargs\":{\"obj\":{\"k\":[\"v\",{\"w\":null}]},\"s\":\"over\"}}");
    expect_line(&p, "{\"id\":\"rt:neg\",\"args\":[-5,-0.25,\"--literal\"],"
                    "\"kwargs\":{\"t\":-2.5}}");
    finish_listener(h, &p, "rt:*", "round trip");
}

static void test_notify(cli_h *h)
{
    cli_proc p;
    const char *listen[] = {"listen", "*:notify", "--count", "3", NULL};
    start_listener(h, &p, listen, "*:notify");
    const char *plain[] = {"notify", "Build done", NULL};
    send_ok(h, plain);
    const char *full[] = {"notify",       "-u",           "critical",  "-t",    "5000",
                          "-i",           "dialog-error", "-a",        "myapp", "-c",
                          "build.failed", "Build failed", "3 tests ✗", NULL};
    send_ok(h, full);
    const char *longs[] = {"notify",
                           "--urgency=low",
                           "--expire-time=250",
                           "--icon=/tmp/i.png",
                           "--app-name=ci",
                           "--category=x",
                           "--hint=int:level:5",
                           "--hint",
                           "string:where:here",
                           "-e",
                           "Summary",
                           "Body",
                           NULL};
    send_ok(h, longs);
    expect_line(&p, "{\"id\":\"cli:notify\",\"args\":[],\"kwargs\":{\"title\":\"Build done\","
                    "\"body\":\"\",\"urgency\":\"normal\",\"timeout\":-1,\"icon\":\"\"}}");
    expect_line(&p, "{\"id\":\"myapp:notify\",\"args\":[],\"kwargs\":{\"title\":\"Build failed\","
                    "\"body\":\"3 tests ✗\",\"urgency\":\"critical\",\"timeout\":5000,"
                    "\"icon\":\"dialog-error\",\"app\":\"myapp\",\"category\":\"build.failed\"}}");
    expect_line(&p, "{\"id\":\"ci:notify\",\"args\":[],\"kwargs\":{\"title\":\"Summary\","
                    "\"body\":\"Body\",\"urgency\":\"low\",\"timeout\":250,\"icon\":\"/tmp/i.png\","
                    "\"app\":\"ci\",\"category\":\"x\",\"hints\":{\"level\":5,\"where\":\"here\"},"
                    "\"transient\":true}}");
    finish_listener(h, &p, "*:notify", "notify");
}

static void test_count(cli_h *h)
{
    cli_proc p;
    const char *listen[] = {"listen", "cnt:*", "--count", "2", NULL};
    start_listener(h, &p, listen, "cnt:*");
    const char *other[] = {"twitter", "other:x", NULL}; /* not for this listener */
    send_ok(h, other);
    for (int i = 0; i < 3; i++) {
        char n[8];
        snprintf(n, sizeof n, "%d", i);
        const char *send[] = {"twitter", "cnt:x", n, NULL};
        send_ok(h, send);
    }
    expect_line(&p, "{\"id\":\"cnt:x\",\"args\":[0],\"kwargs\":{}}");
    expect_line(&p, "{\"id\":\"cnt:x\",\"args\":[1],\"kwargs\":{}}");
    finish_listener(h, &p, "cnt:*", "--count 2");
}

static void test_timeout(cli_h *h)
{
    /* Idle from the start: exits 0 with no output. */
    cli_run r;
    double t0 = cli_now();
    int rc = cli_h_runv(h, &r, "listen", "idle:*", "--timeout", "0.5", NULL);
    EXPECT_MSG(rc == 0 && r.out[0] == '\0' && r.err[0] == '\0', "listen --timeout: %d '%s' '%s'",
               rc, r.out, r.err);
    EXPECT_MSG(cli_now() - t0 >= 0.5, "listen --timeout 0.5 returned early");
    cli_run_free(&r);

    /* One message, then quiet: the message is printed, then it exits 0. */
    cli_proc p;
    const char *listen[] = {"listen", "idle2:*", "--timeout", "1", NULL};
    start_listener(h, &p, listen, "idle2:*");
    const char *send[] = {"twitter", "idle2:one", "--json-kwargs", "{\"k\":[1]}", NULL};
    send_ok(h, send);
    expect_line(&p, "{\"id\":\"idle2:one\",\"args\":[],\"kwargs\":{\"k\":[1]}}");
    finish_listener(h, &p, "idle2:*", "--timeout 1");
}

static void test_signal(cli_h *h, int sig, const char *pattern)
{
    cli_proc p;
    const char *listen[] = {"listen", pattern, NULL};
    start_listener(h, &p, listen, pattern);
    const char *send[] = {"twitter", pattern, "before", NULL};
    send_ok(h, send);
    char expected[256];
    snprintf(expected, sizeof expected, "{\"id\":\"%s\",\"args\":[\"before\"],\"kwargs\":{}}",
             pattern);
    expect_line(&p, expected);
    kill(p.pid, sig);
    finish_listener(h, &p, pattern, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

/* `listen | head -n1`: once stdout is closed the next message ends it
 * cleanly (exit 0, queue closed) instead of a SIGPIPE death. */
static void test_stdout_closed(cli_h *h)
{
    cli_proc p;
    const char *listen[] = {"listen", "pipe:*", NULL};
    start_listener(h, &p, listen, "pipe:*");
    const char *first[] = {"twitter", "pipe:one", NULL};
    send_ok(h, first);
    expect_line(&p, "{\"id\":\"pipe:one\",\"args\":[],\"kwargs\":{}}");
    close(p.out_fd);
    p.out_fd = -1;
    const char *second[] = {"twitter", "pipe:two", NULL};
    send_ok(h, second);
    finish_listener(h, &p, "pipe:*", "closed stdout");
}

int main(void)
{
    cli_h h;
    if (cli_h_init(&h, "send") < 0)
        return 1;
    /* A notify instance answers berrymq notify (headless here: its messages
     * wait in its backlog for a daemon). */
    cli_h_write_config(&h, "{\"plugins\": [{\"plugin\": \"notify\", \"id\": \"notify\"}]}\n");
    if (cli_h_hub_start(&h, NULL) < 0) {
        cli_h_cleanup(&h);
        return 1;
    }
    test_round_trip(&h);
    test_notify(&h);
    test_count(&h);
    test_timeout(&h);
    test_stdout_closed(&h);
    test_signal(&h, SIGINT, "sigint:x");
    test_signal(&h, SIGTERM, "sigterm:x");
    EXPECT_MSG(cli_h_hub_stop(&h) == 0, "hub did not stop cleanly");
    cli_h_cleanup(&h);
    return check_result();
}
