/* net_orig.c - interoperability with an original berryMQ node, emulated by
 * net_orig_node.py (HTTP/1.0, close after each response, null token from
 * connect_oneway, queue.Empty as an error object, no extension): our client
 * against it in all three styles, and it against our server in all three. */
#include <berrymq/net.h>

#include "check.h"

#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static bmq_rpc_client *orig; /* drives the emulated node */
static GMutex lock;
static GPtrArray *got; /* ids delivered on our bus */

static void on_msg(const bmq_message *m, void *ud)
{
    g_mutex_lock(&lock);
    g_ptr_array_add(got, g_strdup(bmq_message_to_json(m)));
    g_mutex_unlock(&lock);
}

static unsigned count_got(const char *json)
{
    unsigned n = 0;
    g_mutex_lock(&lock);
    for (guint i = 0; i < got->len; i++)
        n += strcmp(got->pdata[i], json) == 0;
    g_mutex_unlock(&lock);
    return n;
}

static void wait_got(const char *json, unsigned want)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (count_got(json) < want && g_get_monotonic_time() < deadline)
        g_usleep(10000);
    g_usleep(200000);
    if (count_got(json) != want) {
        fprintf(stderr, "%s arrived %u times, expected %u\n", json, count_got(json), want);
        exit(1);
    }
}

static json_object *orig_call(const char *method, const char *params_json)
{
    json_object *res = NULL;
    char *err = NULL;
    int rc = bmq_rpc_client_call(orig, method, json_tokener_parse(params_json), &res, &err);
    if (rc < 0) {
        fprintf(stderr, "%s %s: %s\n", method, params_json, err ? err : bmq_strerror(rc));
        exit(1);
    }
    return res;
}

/* How many times the original node received @ident with @args_json. */
static unsigned orig_received(const char *ident, const char *args_json)
{
    json_object *r = orig_call("test.received", "[]");
    unsigned n = 0;
    for (size_t i = 0; i < json_object_array_length(r); i++) {
        json_object *e = json_object_array_get_idx(r, i);
        n += !strcmp(json_object_get_string(json_object_array_get_idx(e, 0)), ident) &&
             !strcmp(json_object_to_json_string_ext(json_object_array_get_idx(e, 1),
                                                    JSON_C_TO_STRING_PLAIN),
                     args_json);
    }
    json_object_put(r);
    return n;
}

static void wait_orig(const char *ident, const char *args_json, unsigned want)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (orig_received(ident, args_json) < want && g_get_monotonic_time() < deadline)
        g_usleep(20000);
    g_usleep(200000);
    unsigned n = orig_received(ident, args_json);
    if (n != want) {
        fprintf(stderr, "original node got %s %s %u times, expected %u\n", ident, args_json, n,
                want);
        exit(1);
    }
}

static void our_client_to_original(bmq_bus *bus, uint16_t oport)
{
    char *err = NULL;
    /* style 02: the original answers null; we keep and send the null token */
    bmq_link *ow = bmq_connect_oneway(bus, "127.0.0.1", oport, 100, NULL, &err);
    CHECK(ow && !err);
    CHECK(bmq_link_token(ow) == NULL);
    bmq_twitter_json(bus, "fwd:one", "[1]", NULL);
    CHECK(bmq_link_flush(ow, 10) == 0);
    CHECK(bmq_send_message(ow, "direct:one", json_tokener_parse("[2]"), NULL) == 0);
    wait_orig("fwd:one", "[1]", 1);
    wait_orig("direct:one", "[2]", 1);
    CHECK(bmq_close_connection(ow) == 0);

    /* style 03: queue.Empty (an error object) means "no message" */
    bmq_link *q = bmq_connect_via_queue(bus, "127.0.0.1", oport, "job:*", 100, NULL, &err);
    CHECK(q && !err);
    int e = 0;
    CHECK(bmq_get_nowait(q, &e) == NULL && e == -BMQ_EEMPTY);
    CHECK(bmq_get(q, true, 0.1, &e) == NULL && e == -BMQ_EEMPTY);
    json_object_put(orig_call("test.twitter", "[\"job:run\", [7], {\"k\": 1}]"));
    bmq_message *m = bmq_get(q, true, 2, &e);
    CHECK(m != NULL);
    CHECK_STR(bmq_message_to_json(m), "{\"id\":\"job:run\",\"args\":[7],\"kwargs\":{\"k\":1}}");
    bmq_message_unref(m);
    CHECK(bmq_close_connection(q) == 0);

    /* style 01: both directions, nothing echoed */
    bmq_link *ic = bmq_interconnect(bus, "127.0.0.1", oport, 100, NULL, &err);
    CHECK(ic && !err);
    bmq_twitter_json(bus, "ours:x", "[3]", NULL);
    CHECK(bmq_link_flush(ic, 10) == 0);
    wait_orig("ours:x", "[3]", 1);
    json_object_put(orig_call("test.twitter", "[\"theirs:x\", [4], {}]"));
    wait_got("{\"id\":\"theirs:x\",\"args\":[4],\"kwargs\":{}}", 1);
    wait_orig("theirs:x", "[4]", 1);
    CHECK(bmq_close_connection(ic) == 0);
}

static void original_client_to_us(bmq_bus *bus, uint16_t port)
{
    char params[256];
    g_snprintf(params, sizeof params, "[\"oneway\", \"127.0.0.1\", %u]", port);
    json_object *tok = orig_call("test.connect", params);
    CHECK(json_object_is_type(tok, json_type_string)); /* ours always answers a real token */
    json_object_put(tok);
    json_object_put(orig_call("test.send", "[\"py:one\", [5], {}]"));
    wait_got("{\"id\":\"py:one\",\"args\":[5],\"kwargs\":{}}", 1);
    json_object_put(orig_call("test.close", "[\"oneway\"]"));

    g_snprintf(params, sizeof params, "[\"queue\", \"127.0.0.1\", %u, \"q:*\"]", port);
    json_object_put(orig_call("test.connect", params));
    json_object *r = orig_call("test.get", "[false, null]");
    CHECK_STR(json_object_get_string(r), "timeout");
    json_object_put(r);
    bmq_twitter_json(bus, "q:job", "[6]", "{\"a\":\"b\"}");
    r = orig_call("test.get", "[true, 2]");
    CHECK_STR(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
              "[\"q:job\",[6],{\"a\":\"b\"}]");
    json_object_put(r);

    g_snprintf(params, sizeof params, "[\"inter\", \"127.0.0.1\", %u]", port);
    json_object_put(orig_call("test.connect", params));
    bmq_twitter_json(bus, "hub:x", "[8]", NULL);
    wait_orig("hub:x", "[8]", 1);
    json_object_put(orig_call("test.twitter", "[\"py:x\", [9], {}]"));
    wait_got("{\"id\":\"py:x\",\"args\":[9],\"kwargs\":{}}", 1);
    wait_orig("py:x", "[9]", 1); /* not echoed back to its source */
    json_object *st = bmq_server_status(bmq_bus_server(bus));
    const char *txt = json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN);
    CHECK_CONTAINS(txt, "\"extension\":false");
    json_object_put(st);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int out[2];
    CHECK(pipe(out) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        execlp("python3", "python3", NET_ORIG_NODE, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    struct pollfd pf = {.fd = out[0], .events = POLLIN};
    char line[64] = {0};
    if (poll(&pf, 1, 10000) != 1 || read(out[0], line, sizeof line - 1) <= 0) {
        fprintf(stderr, "python3 emulation of an original node did not start\n");
        kill(pid, SIGKILL);
        return 1;
    }
    unsigned oport = 0;
    CHECK(sscanf(line, "port %u", &oport) == 1);
    char url[64];
    g_snprintf(url, sizeof url, "127.0.0.1:%u", oport);
    orig = bmq_rpc_client_new(url, NULL);

    got = g_ptr_array_new_with_free_func(g_free);
    bmq_bus *bus = bmq_bus_new();
    uint16_t port = 0;
    CHECK(bmq_init_connection(bus, "127.0.0.1", 0, &port) == 0);
    bmq_follower *f = bmq_follow(bus, "*", on_msg, NULL, NULL);
    our_client_to_original(bus, (uint16_t)oport);
    original_client_to_us(bus, port);

    json_object_put(orig_call("test.quit", "[]"));
    waitpid(pid, NULL, 0);
    close(out[0]);
    bmq_rpc_client_free(orig);
    bmq_unfollow(f);
    bmq_server_stop(bmq_bus_server(bus));
    bmq_bus_free(bus);
    g_ptr_array_free(got, TRUE);
    printf("net_orig: ok\n");
    return 0;
}
