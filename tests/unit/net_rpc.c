/* net_rpc.c - the JSON-RPC dispatcher without sockets: every method, every
 * result string, every malformed input, batches, id echo, extra methods. */
#include "net_internal.h"
#include "check.h"

#include <glib.h>
#include <stdarg.h>

static bmq_server *srv;
static bmq_bus *bus;

/* Dispatch @body and return the parsed response (transfer full). */
static json_object *call(const char *body)
{
    char *text = rpc__dispatch(srv, body, strlen(body), NULL);
    json_object *o = json_tokener_parse(text);
    if (!o)
        fprintf(stderr, "unparsable response: %s\n", text);
    CHECK(o != NULL);
    g_free(text);
    return o;
}

/* Every response carries id, result and error. */
static void check_shape(json_object *r)
{
    CHECK(json_object_is_type(r, json_type_object));
    CHECK(json_object_object_get_ex(r, "id", NULL));
    CHECK(json_object_object_get_ex(r, "result", NULL));
    CHECK(json_object_object_get_ex(r, "error", NULL));
}

static json_object *field(json_object *r, const char *k)
{
    json_object *v = NULL;
    json_object_object_get_ex(r, k, &v);
    return v;
}

/* The result string of a call, or "ERROR:<code>" (transfer full). */
static char *result_of(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *body = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_object *r = call(body);
    check_shape(r);
    char *out;
    json_object *e = field(r, "error");
    if (e) {
        CHECK(field(r, "result") == NULL);
        CHECK(json_object_is_type(field(e, "message"), json_type_string));
        out = g_strdup_printf("ERROR:%d", json_object_get_int(field(e, "code")));
    } else {
        json_object *res = field(r, "result");
        out = g_strdup(res ? json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN) : "null");
    }
    json_object_put(r);
    g_free(body);
    return out;
}

#define EXPECT_RESULT(expected, ...)                                                               \
    do {                                                                                           \
        char *got_ = result_of(__VA_ARGS__);                                                       \
        CHECK_STR(got_, expected);                                                                 \
        g_free(got_);                                                                              \
    } while (0)

static char *token_of(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *body = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_object *r = call(body);
    json_object *res = field(r, "result");
    CHECK(json_object_is_type(res, json_type_string));
    char *t = g_strdup(json_object_get_string(res));
    CHECK(strlen(t) == 36 && t[8] == '-' && t[14] == '4'); /* a random (v4) UUID */
    json_object_put(r);
    g_free(body);
    return t;
}

static int seen;
static void count(const bmq_message *m, void *ud)
{
    seen++;
}

static void test_ids(void)
{
    json_object *r = call("{\"id\": null, \"method\": \"connect_oneway\", \"params\": [10]}");
    check_shape(r);
    CHECK(field(r, "id") == NULL);
    json_object_put(r);
    r = call("{\"id\": {\"x\": [1, 2]}, \"method\": \"nope\", \"params\": []}");
    CHECK_STR(json_object_to_json_string_ext(field(r, "id"), JSON_C_TO_STRING_PLAIN),
              "{\"x\":[1,2]}");
    json_object_put(r);
    r = call("{\"id\": \"abc\", \"method\": \"bmq.hello\", \"params\": [\"x\"]}");
    CHECK_STR(json_object_get_string(field(r, "id")), "abc");
    CHECK_STR(json_object_get_string(field(field(r, "result"), "node_id")),
              bmq_server_node_id(srv));
    json_object_put(r);
}

static void test_oneway_and_send(void)
{
    bmq_follower *f = bmq_follow(bus, "app:*", count, NULL, NULL);
    char *t = token_of("{\"id\":1,\"method\":\"connect_oneway\",\"params\":[100]}");
    EXPECT_RESULT(
        "\"ok\"",
        "{\"id\":2,\"method\":\"send_message\",\"params\":[\"%s\",\"app:go\",[1],{\"a\":1}]}", t);
    CHECK(seen == 1);
    EXPECT_RESULT("\"ok\"",
                  "{\"id\":2,\"method\":\"send_message\",\"params\":[\"%s\",\"app:go\",null,null]}",
                  t);
    CHECK(seen == 2);
    EXPECT_RESULT("\"invalid token\"",
                  "{\"id\":3,\"method\":\"send_message\",\"params\":[\"nope\",\"app:go\",[],{}]}");
    EXPECT_RESULT("\"invalid token\"",
                  "{\"id\":3,\"method\":\"send_message\",\"params\":[null,\"app:go\",[],{}]}");
    CHECK(seen == 2);
    /* wrong types and counts */
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":4,\"method\":\"send_message\",\"params\":[\"%s\",\"app:go\",{},{}]}", t);
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":4,\"method\":\"send_message\",\"params\":[\"%s\",\"app:go\",[],[]]}", t);
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":4,\"method\":\"send_message\",\"params\":[\"%s\",\"bad id\",[],{}]}", t);
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":4,\"method\":\"send_message\",\"params\":[\"%s\",5,[],{}]}", t);
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":4,\"method\":\"send_message\",\"params\":[5,\"a:b\",[],{}]}");
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":4,\"method\":\"send_message\",\"params\":[\"%s\",\"app:go\",[]]}", t);
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":4,\"method\":\"send_message\",\"params\":[\"%s\",\"a:b\",[],{},{},1]}",
                  t);
    EXPECT_RESULT("ERROR:-32602", "{\"id\":4,\"method\":\"connect_oneway\",\"params\":[\"x\"]}");
    EXPECT_RESULT("ERROR:-32602", "{\"id\":4,\"method\":\"connect_oneway\",\"params\":[-1]}");
    /* uid extension: a second copy of one uid is not delivered again */
    EXPECT_RESULT(
        "\"ok\"",
        "{\"id\":5,\"method\":\"send_message\",\"params\":[\"%s\",\"app:go\",[],{},{\"uid\":"
        "\"u1\"}]}",
        t);
    EXPECT_RESULT(
        "\"ok\"",
        "{\"id\":5,\"method\":\"send_message\",\"params\":[\"%s\",\"app:go\",[],{},{\"uid\":"
        "\"u1\"}]}",
        t);
    CHECK(seen == 3);
    EXPECT_RESULT(
        "ERROR:-32602",
        "{\"id\":5,\"method\":\"send_message\",\"params\":[\"%s\",\"app:go\",[],{},{\"uid\":7}]}",
        t);
    EXPECT_RESULT("\"ok\"", "{\"id\":6,\"method\":\"close_connection\",\"params\":[\"%s\"]}", t);
    EXPECT_RESULT("\"invalid token\"",
                  "{\"id\":7,\"method\":\"send_message\",\"params\":[\"%s\",\"app:go\",[],{}]}", t);
    EXPECT_RESULT("\"ok\"", "{\"id\":6,\"method\":\"close_connection\",\"params\":[\"unknown\"]}");
    EXPECT_RESULT("ERROR:-32602", "{\"id\":6,\"method\":\"close_connection\",\"params\":[]}");
    g_free(t);
    bmq_unfollow(f);
}

static void test_queue(void)
{
    char *t = token_of("{\"id\":1,\"method\":\"connect_via_queue\",\"params\":[\"job:*\",100]}");
    char *o = token_of("{\"id\":1,\"method\":\"connect_oneway\",\"params\":[null]}");
    EXPECT_RESULT("\"timeout\"", "{\"id\":1,\"method\":\"get_nowait\",\"params\":[\"%s\"]}", t);
    EXPECT_RESULT("\"timeout\"", "{\"id\":1,\"method\":\"get\",\"params\":[\"%s\",true,0.05]}", t);
    EXPECT_RESULT("\"timeout\"", "{\"id\":1,\"method\":\"get\",\"params\":[\"%s\",false,null]}", t);
    bmq_twitter_json(bus, "job:done", "[1,\"x\"]", "{\"k\":true}");
    bmq_twitter_json(bus, "other:done", NULL, NULL);
    bmq_twitter_json(bus, "job@ns:done", NULL, NULL); /* another namespace */
    EXPECT_RESULT("[\"job:done\",[1,\"x\"],{\"k\":true}]",
                  "{\"id\":1,\"method\":\"get\",\"params\":[\"%s\",true,1]}", t);
    EXPECT_RESULT("\"timeout\"", "{\"id\":1,\"method\":\"get_nowait\",\"params\":[\"%s\"]}", t);
    /* a message sent through a oneway token reaches the queue */
    EXPECT_RESULT("\"ok\"",
                  "{\"id\":2,\"method\":\"send_message\",\"params\":[\"%s\",\"job:x\",[],{}]}", o);
    EXPECT_RESULT("[\"job:x\",[],{}]", "{\"id\":1,\"method\":\"get_nowait\",\"params\":[\"%s\"]}",
                  t);
    EXPECT_RESULT("\"invalid token\"", "{\"id\":1,\"method\":\"get\",\"params\":[\"%s\",true,1]}",
                  o);
    EXPECT_RESULT("\"invalid token\"", "{\"id\":1,\"method\":\"get\",\"params\":[\"zzz\",true,1]}");
    EXPECT_RESULT("\"invalid token\"", "{\"id\":1,\"method\":\"get_nowait\",\"params\":[null]}");
    EXPECT_RESULT("ERROR:-32602", "{\"id\":1,\"method\":\"get\",\"params\":[\"%s\",\"yes\",1]}", t);
    EXPECT_RESULT("ERROR:-32602", "{\"id\":1,\"method\":\"get\",\"params\":[\"%s\",true,\"1\"]}",
                  t);
    EXPECT_RESULT("ERROR:-32602", "{\"id\":1,\"method\":\"get_nowait\",\"params\":[]}");
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":1,\"method\":\"connect_via_queue\",\"params\":[\"a b\",1]}");
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":1,\"method\":\"connect_via_queue\",\"params\":[\"a:b\"]}");
    EXPECT_RESULT("\"ok\"", "{\"id\":6,\"method\":\"close_connection\",\"params\":[\"%s\"]}", t);
    EXPECT_RESULT("\"invalid token\"", "{\"id\":1,\"method\":\"get_nowait\",\"params\":[\"%s\"]}",
                  t);
    g_free(t);
    g_free(o);
}

static void test_ttl(void)
{
    char *t = token_of("{\"id\":1,\"method\":\"connect_via_queue\",\"params\":[\"x:*\",0.2]}");
    char *o = token_of("{\"id\":1,\"method\":\"connect_oneway\",\"params\":[0.2]}");
    EXPECT_RESULT("\"timeout\"", "{\"id\":1,\"method\":\"get_nowait\",\"params\":[\"%s\"]}", t);
    g_usleep(350000);
    EXPECT_RESULT("\"timeout\"",
                  "{\"id\":1,\"method\":\"send_message\",\"params\":[\"%s\",\"x:y\",[],{}]}", o);
    EXPECT_RESULT("\"timeout\"", "{\"id\":1,\"method\":\"get_nowait\",\"params\":[\"%s\"]}", t);
    g_free(t);
    g_free(o);
}

static void test_interconnect(void)
{
    /* Offline server: the callback link is registered but never connects. */
    EXPECT_RESULT(
        "\"tok-1\"",
        "{\"id\":1,\"method\":\"interconnect\",\"params\":[[\"127.0.0.1\",9],\"tok-1\",100]}");
    EXPECT_RESULT(
        "ERROR:-32602",
        "{\"id\":1,\"method\":\"interconnect\",\"params\":[[\"127.0.0.1\",9],\"tok-1\",100]}");
    EXPECT_RESULT("\"ok\"",
                  "{\"id\":1,\"method\":\"send_message\",\"params\":[\"tok-1\",\"a:b\",[],{}]}");
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":1,\"method\":\"interconnect\",\"params\":[[\"127.0.0.1\",0],\"t2\",1]}");
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":1,\"method\":\"interconnect\",\"params\":[[\"127.0.0.1\"],\"t2\",1]}");
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":1,\"method\":\"interconnect\",\"params\":[\"127.0.0.1:9\",\"t2\",1]}");
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":1,\"method\":\"interconnect\",\"params\":[[\"127.0.0.1\",9],\"\",1]}");
    EXPECT_RESULT("ERROR:-32602",
                  "{\"id\":1,\"method\":\"interconnect\",\"params\":[[\"127.0.0.1\",9],\"t2\"]}");
    EXPECT_RESULT("\"ok\"", "{\"id\":1,\"method\":\"close_connection\",\"params\":[\"tok-1\"]}");
}

static json_object *echo(json_object *params, void *ud, json_object **error)
{
    if (json_object_array_length(params) == 0) {
        *error = json_object_new_string("need one param");
        return NULL;
    }
    return json_object_get(json_object_array_get_idx(params, 0));
}

static void test_malformed_and_batch(void)
{
    EXPECT_RESULT("ERROR:-32700", "{\"id\":1,");
    EXPECT_RESULT("ERROR:-32700", "");
    EXPECT_RESULT("ERROR:-32700", "{} x");
    EXPECT_RESULT("ERROR:-32700", "\x01\x02");
    EXPECT_RESULT("ERROR:-32600", "[]");
    EXPECT_RESULT("ERROR:-32600", "42");
    EXPECT_RESULT("ERROR:-32600", "{\"id\":1}");
    EXPECT_RESULT("ERROR:-32600", "{\"id\":1,\"method\":5}");
    EXPECT_RESULT("ERROR:-32600", "{\"id\":1,\"method\":\"get\",\"params\":{}}");
    EXPECT_RESULT("ERROR:-32601", "{\"id\":1,\"method\":\"no_such\",\"params\":[]}");
    EXPECT_RESULT("ERROR:-32601", "{\"id\":1,\"method\":\"hub.echo\",\"params\":[]}");
    CHECK(bmq_server_add_method(srv, "hub.echo", echo, NULL) == 0);
    CHECK(bmq_server_add_method(srv, "hub.echo", echo, NULL) == -BMQ_EEXIST);
    CHECK(bmq_server_add_method(srv, "send_message", echo, NULL) == -BMQ_EEXIST);
    EXPECT_RESULT("[1,2]", "{\"id\":1,\"method\":\"hub.echo\",\"params\":[[1,2]]}");
    EXPECT_RESULT("ERROR:-32603", "{\"id\":1,\"method\":\"hub.echo\",\"params\":[]}");
    EXPECT_RESULT("ERROR:-32603", "{\"id\":1,\"method\":\"hub.echo\"}");

    /* A batch answers each element in order, errors included. */
    char *t = token_of("{\"id\":1,\"method\":\"connect_oneway\",\"params\":[100]}");
    char *body = g_strdup_printf(
        "[{\"id\":1,\"method\":\"send_message\",\"params\":[\"%s\",\"b:1\",[],{}]},"
        " 17,"
        " {\"id\":3,\"method\":\"nope\",\"params\":[]},"
        " {\"id\":null,\"method\":\"send_message\",\"params\":[\"bad\",\"b:1\",[],{}]}]",
        t);
    json_object *r = call(body);
    CHECK(json_object_is_type(r, json_type_array) && json_object_array_length(r) == 4);
    for (int i = 0; i < 4; i++)
        check_shape(json_object_array_get_idx(r, i));
    CHECK_STR(json_object_get_string(field(json_object_array_get_idx(r, 0), "result")), "ok");
    CHECK(field(json_object_array_get_idx(r, 1), "error") != NULL);
    CHECK(field(json_object_array_get_idx(r, 2), "error") != NULL);
    CHECK_STR(json_object_get_string(field(json_object_array_get_idx(r, 3), "result")),
              "invalid token");
    json_object_put(r);
    g_free(body);
    g_free(t);
}

/* The exact layout our links write goes through the fast path; it must
 * answer exactly like the general path. */
static void test_fast_batch(void)
{
    bmq_follower *f = bmq_follow(bus, "fast:*", count, NULL, NULL);
    seen = 0;
    char *t = token_of("{\"id\":1,\"method\":\"connect_oneway\",\"params\":[100]}");
    char *body = g_strdup_printf(
        "[{\"id\":0,\"method\":\"send_message\",\"params\":[\"%s\",\"fast:a\",[1,\"x\"],{\"k\":[]}]"
        "},"
        "{\"id\":1,\"method\":\"send_message\",\"params\":[\"%s\",\"fast:b\",[],{},{\"uid\":\"f1\"}"
        "]},"
        "{\"id\":2,\"method\":\"send_message\",\"params\":[\"%s\",\"fast:b\",[],{},{\"uid\":\"f1\"}"
        "]},"
        "{\"id\":3,\"method\":\"send_message\",\"params\":[\"nope\",\"fast:c\",[],{}]}]",
        t, t, t);
    char *out = rpc__dispatch(srv, body, strlen(body), NULL);
    CHECK_STR(out, "[{\"id\":0,\"result\":\"ok\",\"error\":null},"
                   "{\"id\":1,\"result\":\"ok\",\"error\":null},"
                   "{\"id\":2,\"result\":\"ok\",\"error\":null},"
                   "{\"id\":3,\"result\":\"invalid token\",\"error\":null}]");
    CHECK(seen == 2); /* the second copy of uid f1 is not delivered */
    g_free(out);
    g_free(body);
    /* not the exact layout: answered by the general path, same results */
    const char *odd[] = {
        "[{\"id\":01,\"method\":\"send_message\",\"params\":[\"%s\",\"fast:a\",[],{}]}]",
        ("[{\"id\":1,\"method\":\"send_message\",\"params\":[\"%s\",\"fast:a\",[],"
         "{\"a\":\"\\n\"}]}]"),
        "[{\"id\":1,\"method\":\"send_message\",\"params\":[\"%s\",\"bad id\",[],{}]}]",
        "[{\"id\":1,\"method\":\"send_message\",\"params\":[\"%s\",\"fast:a\",{},[]]}]",
        "[{\"id\":1,\"method\":\"send_message\",\"params\":[\"%s\",\"fast:a\",[1 2],{}]}]",
    };
    const char *want[] = {"\"result\":\"ok\"", "[{\"id\":1,\"result\":\"ok\",\"error\":null}]",
                          "-32602", "-32602", "ERROR:-32700"};
    for (size_t i = 0; i < G_N_ELEMENTS(odd); i++) {
        body = g_strdup_printf(odd[i], t);
        out = rpc__dispatch(srv, body, strlen(body), NULL);
        json_object *o = json_tokener_parse(out);
        CHECK(o != NULL);
        if (g_str_has_prefix(want[i], "ERROR:"))
            CHECK_CONTAINS(out, want[i] + 6);
        else
            CHECK_CONTAINS(out, want[i]);
        json_object_put(o);
        g_free(out);
        g_free(body);
    }
    CHECK(seen == 4);
    g_free(t);
    bmq_unfollow(f);
}

/* What a client can make the server hold is bounded. */
static void test_bounds(void)
{
    GString *b = g_string_new("[");
    for (int i = 0; i <= 10000; i++)
        g_string_append(b, i ? ",1" : "1");
    g_string_append(b, "]");
    char *out = rpc__dispatch(srv, b->str, b->len, NULL);
    CHECK_CONTAINS(out, "at most 10000");
    CHECK(out[0] == '{'); /* one error, not 10001 */
    g_free(out);
    g_string_free(b, TRUE);
    int made = 0;
    for (;;) {
        char *r = result_of("{\"id\":1,\"method\":\"connect_oneway\",\"params\":[100]}");
        bool err = g_str_has_prefix(r, "ERROR:");
        g_free(r);
        if (err)
            break;
        CHECK(++made <= 10000);
    }
    CHECK(made > 9000);
    const char *req = "{\"id\":1,\"method\":\"connect_oneway\",\"params\":[1]}";
    out = rpc__dispatch(srv, req, strlen(req), NULL);
    CHECK_CONTAINS(out, "too many connections");
    g_free(out);
}

static void test_status(void)
{
    json_object *st = bmq_server_status(srv);
    json_object *c = field(st, "counters");
    CHECK(json_object_get_int(field(c, "requests")) > 10);
    CHECK(json_object_get_int(field(c, "errors")) > 10);
    CHECK(json_object_get_int(field(c, "messages_in")) >= 4);
    CHECK(json_object_get_int(field(c, "duplicates")) == 2);
    CHECK(json_object_is_type(field(st, "links"), json_type_array));
    json_object_put(st);
}

static void test_allow_list(void)
{
    CHECK(net__cidr_admits("10.0.0.0/8", "10.1.2.3"));
    CHECK(!net__cidr_admits("10.0.0.0/8", "11.1.2.3"));
    CHECK(net__cidr_admits("192.168.1.0/24", "192.168.1.77"));
    CHECK(!net__cidr_admits("192.168.1.0/24", "192.168.2.1"));
    CHECK(net__cidr_admits("192.168.1.5", "192.168.1.5"));
    CHECK(!net__cidr_admits("192.168.1.5", "192.168.1.6"));
    CHECK(net__cidr_admits("10.0.0.0/8", "::ffff:10.9.9.9")); /* v4-mapped */
    CHECK(net__cidr_admits("fd00::/8", "fd12::1"));
    CHECK(!net__cidr_admits("fd00::/8", "fe80::1"));
    CHECK(net__cidr_admits("10.0.0.0/8", "127.0.0.1")); /* loopback always */
    CHECK(net__cidr_admits("0.0.0.0/0", "8.8.8.8"));
    CHECK(!net__cidr_admits("10.0.0.0/33", "10.0.0.1"));
    CHECK(!net__cidr_admits("bogus", "10.0.0.1"));
}

int main(void)
{
    test_allow_list();
    bus = bmq_bus_new();
    srv = net__server_new_offline(bus, 2.0);
    test_ids();
    test_oneway_and_send();
    test_queue();
    test_ttl();
    test_interconnect();
    test_malformed_and_batch();
    test_fast_batch();
    test_status();
    test_bounds();
    bmq_server_stop(srv);
    bmq_bus_free(bus);
    printf("net_rpc: ok\n");
    return 0;
}
