/* net_http.c - the server over real sockets on 127.0.0.1, driven by a raw
 * HTTP client written from the protocol text (not our libcurl client):
 * keep-alive, HTTP/1.0 close, paths, 413, 401, 405/404, a blocking get that
 * does not starve others, a slow client, start-up refusals; then our own
 * client against it. */
#include <berrymq/net.h>
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the server may close early (413) */
        data += n;
        len -= (size_t)n;
    }
}

/* Wait up to @ms for data; false on timeout. */
static bool readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

typedef struct {
    int status;
    char *body;
    bool closed_after; /* the server closed the connection after this response */
} http_resp;

/* Read one response (headers + Content-Length body). status 0 = none. */
static http_resp read_resp(int fd, int ms)
{
    http_resp r = {0};
    GString *buf = g_string_new(NULL);
    char chunk[65536];
    ssize_t hdr_end = -1;
    size_t want = 0;
    for (;;) {
        if (hdr_end >= 0 && buf->len >= (size_t)hdr_end + want)
            break;
        if (!readable(fd, ms))
            break;
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) {
            r.closed_after = true;
            break;
        }
        g_string_append_len(buf, chunk, n);
        if (hdr_end < 0) {
            char *e = strstr(buf->str, "\r\n\r\n");
            if (e) {
                hdr_end = e - buf->str + 4;
                sscanf(buf->str, "HTTP/%*d.%*d %d", &r.status);
                char *cl = strcasestr(buf->str, "\r\nContent-Length:");
                want = cl && cl < e ? strtoul(cl + 17, NULL, 10) : 0;
            }
        }
    }
    if (hdr_end >= 0)
        r.body = g_strndup(buf->str + hdr_end, buf->len - (size_t)hdr_end);
    g_string_free(buf, TRUE);
    return r;
}

static bool peer_closed(int fd, int ms)
{
    char c;
    if (!readable(fd, ms))
        return false;
    return recv(fd, &c, 1, 0) == 0;
}

static char *post_text(const char *path, const char *version, const char *extra, const char *body)
{
    return g_strdup_printf(
        "POST %s HTTP/%s\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "%sContent-Length: %zu\r\n\r\n%s",
        path, version, extra ? extra : "", strlen(body), body);
}

static http_resp rpc(int fd, const char *path, const char *version, const char *extra,
                     const char *body)
{
    char *req = post_text(path, version, extra, body);
    send_all(fd, req, strlen(req));
    g_free(req);
    return read_resp(fd, 5000);
}

static char *result_string(const char *body)
{
    json_object *o = json_tokener_parse(body);
    CHECK(o && json_object_object_get_ex(o, "result", NULL) &&
          json_object_object_get_ex(o, "error", NULL));
    json_object *r = NULL;
    json_object_object_get_ex(o, "result", &r);
    char *s = g_strdup(r ? json_object_get_string(r) : "null");
    json_object_put(o);
    return s;
}

static void test_keepalive_and_paths(uint16_t port)
{
    int fd = dial(port);
    http_resp r = rpc(fd, "/JSON", "1.1", NULL,
                      "{\"id\": null, \"method\": \"connect_oneway\", \"params\": [100]}");
    CHECK(r.status == 200 && !r.closed_after);
    CHECK_CONTAINS(r.body, "\"id\":null");
    CHECK_CONTAINS(r.body, "\"error\":null");
    char *token = result_string(r.body);
    g_free(r.body);
    char *body = g_strdup_printf("{\"id\": 7, \"method\": \"send_message\", \"params\": "
                                 "[\"%s\", \"web:hit\", [1], {\"k\": \"v\"}]}",
                                 token);
    for (int i = 0; i < 3; i++) { /* same socket: keep-alive */
        r = rpc(fd, i % 2 ? "/" : "/JSON", "1.1", NULL, body);
        CHECK(r.status == 200);
        CHECK_CONTAINS(r.body, "\"result\":\"ok\"");
        CHECK_CONTAINS(r.body, "\"id\":7");
        g_free(r.body);
    }
    g_free(body);
    close(fd);

    /* HTTP/1.0: one response, then the server closes */
    fd = dial(port);
    r = rpc(fd, "/JSON", "1.0", NULL, "{\"id\":1,\"method\":\"get_nowait\",\"params\":[\"x\"]}");
    CHECK(r.status == 200);
    CHECK_CONTAINS(r.body, "\"result\":\"invalid token\"");
    CHECK(r.closed_after || peer_closed(fd, 2000));
    g_free(r.body);
    close(fd);

    fd = dial(port);
    r = rpc(fd, "/other", "1.1", NULL, "{}");
    CHECK(r.status == 404);
    g_free(r.body);
    close(fd);
    fd = dial(port);
    const char *get = "GET /JSON HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    send_all(fd, get, strlen(get));
    r = read_resp(fd, 5000);
    CHECK(r.status == 405);
    g_free(r.body);
    close(fd);

    /* malformed JSON over the wire: HTTP 200 with a JSON-RPC error object */
    fd = dial(port);
    r = rpc(fd, "/JSON", "1.1", NULL, "{\"id\": 3, \"method\": ");
    CHECK(r.status == 200);
    CHECK_CONTAINS(r.body, "\"result\":null");
    CHECK_CONTAINS(r.body, "\"code\":-32700");
    g_free(r.body);
    r = rpc(fd, "/JSON", "1.1", NULL, "{\"id\": 3, \"method\": \"frobnicate\", \"params\": []}");
    CHECK_CONTAINS(r.body, "\"code\":-32601");
    CHECK_CONTAINS(r.body, "\"id\":3");
    g_free(r.body);
    close(fd);
    g_free(token);
}

static void test_too_large(uint16_t port, size_t max)
{
    GString *big = g_string_new("{\"id\":1,\"method\":\"connect_oneway\",\"params\":[\"");
    while (big->len < max + 100)
        g_string_append(big, "xxxxxxxxxxxxxxxx");
    g_string_append(big, "\"]}");
    int fd = dial(port);
    http_resp r = rpc(fd, "/JSON", "1.1", NULL, big->str);
    CHECK(r.status == 413);
    g_free(r.body);
    close(fd);
    /* no Content-Length: chunked upload over the limit */
    fd = dial(port);
    const char *h = "POST /JSON HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    send_all(fd, h, strlen(h));
    char *chunk = g_strdup_printf("%zx\r\n%s\r\n0\r\n\r\n", big->len, big->str);
    send_all(fd, chunk, strlen(chunk));
    r = read_resp(fd, 5000);
    CHECK(r.status == 413);
    g_free(r.body);
    g_free(chunk);
    close(fd);
    g_string_free(big, TRUE);
    /* a body exactly at the limit is served */
    fd = dial(port);
    r = rpc(fd, "/JSON", "1.1", NULL, "{\"id\":1,\"method\":\"connect_oneway\",\"params\":[1]}");
    CHECK(r.status == 200);
    g_free(r.body);
    close(fd);
}

struct getter {
    uint16_t port;
    char *token;
    char *answer;
    gint64 took_us;
};

static gpointer blocking_get(gpointer data)
{
    struct getter *g = data;
    int fd = dial(g->port);
    char *body =
        g_strdup_printf("{\"id\":1,\"method\":\"get\",\"params\":[\"%s\",true,20]}", g->token);
    gint64 t0 = g_get_monotonic_time();
    char *req = post_text("/JSON", "1.1", NULL, body);
    send_all(fd, req, strlen(req));
    g_free(req);
    http_resp r = read_resp(fd, 30000);
    g->took_us = g_get_monotonic_time() - t0;
    __atomic_store_n(&g->answer, r.body, __ATOMIC_RELEASE);
    g_free(body);
    close(fd);
    return NULL;
}

static void test_blocking_get_and_slow_client(bmq_bus *bus, uint16_t port)
{
    int fd = dial(port);
    http_resp r = rpc(fd, "/JSON", "1.1", NULL,
                      "{\"id\":1,\"method\":\"connect_via_queue\",\"params\":[\"job:*\",100]}");
    struct getter g = {.port = port, .token = result_string(r.body)};
    g_free(r.body);
    GThread *th[3];
    struct getter gs[3];
    for (int i = 0; i < 3; i++) {
        gs[i] = g;
        th[i] = g_thread_new("get", blocking_get, &gs[i]);
    }
    /* a slow client that sends half a request and then nothing */
    int slow = dial(port);
    send_all(slow, "POST /JSON HTTP/1.1\r\nHost:", 26);
    g_usleep(200000);
    /* others are still served while three gets block and one client stalls */
    gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < 20; i++) {
        r = rpc(fd, "/JSON", "1.1", NULL, "{\"id\":2,\"method\":\"bmq.hello\",\"params\":[]}");
        CHECK(r.status == 200);
        g_free(r.body);
    }
    (void)t0;
    for (int i = 0; i < 3; i++) /* the gets are still waiting: they did not block the others */
        CHECK(__atomic_load_n(&gs[i].answer, __ATOMIC_ACQUIRE) == NULL);
    for (int i = 0; i < 3; i++)
        bmq_twitter_json(bus, "job:run", "[42]", NULL);
    for (int i = 0; i < 3; i++) {
        g_thread_join(th[i]);
        CHECK_CONTAINS(gs[i].answer, "[\"job:run\",[42],{}]");
        CHECK(gs[i].took_us < 20 * G_USEC_PER_SEC); /* woken by the message, not timed out */
        g_free(gs[i].answer);
    }
    /* the idle half-request is cut off by the per-connection timeout (1 s) */
    CHECK(peer_closed(slow, 4000));
    close(slow);
    close(fd);
    g_free(g.token);
}

static void test_secret(bmq_bus *bus)
{
    bmq_server_options o;
    bmq_server_options_init(&o);
    o.secret = "s3cret";
    char *err = NULL;
    bmq_server *s = bmq_server_start(bus, &o, NULL, &err);
    CHECK(s && !err);
    uint16_t port = bmq_server_port(s);
    const char *body = "{\"id\":1,\"method\":\"bmq.hello\",\"params\":[]}";
    int fd = dial(port);
    http_resp r = rpc(fd, "/JSON", "1.1", NULL, body);
    CHECK(r.status == 401);
    g_free(r.body);
    close(fd);
    fd = dial(port);
    r = rpc(fd, "/JSON", "1.1", "Authorization: Bearer wrong\r\n", body);
    CHECK(r.status == 401);
    g_free(r.body);
    close(fd);
    fd = dial(port);
    r = rpc(fd, "/JSON", "1.1", "Authorization: Bearer s3cret\r\n", body);
    CHECK(r.status == 200);
    g_free(r.body);
    close(fd);

    /* our client: denied without, accepted with the secret */
    char *url = g_strdup_printf("127.0.0.1:%u", port);
    bmq_rpc_client *c = bmq_rpc_client_new(url, NULL);
    json_object *res = NULL;
    char *et = NULL;
    CHECK(bmq_rpc_client_call(c, "bmq.hello", NULL, &res, &et) == -BMQ_EDENIED);
    CHECK(et != NULL);
    g_free(et);
    bmq_rpc_client_free(c);
    c = bmq_rpc_client_new(url, "s3cret");
    CHECK(bmq_rpc_client_call(c, "bmq.hello", NULL, &res, NULL) == 0);
    CHECK(json_object_is_type(res, json_type_object));
    json_object_put(res);
    bmq_rpc_client_free(c);
    g_free(url);
    json_object *st = bmq_server_status(s);
    json_object *cnt = NULL, *rej = NULL;
    json_object_object_get_ex(st, "counters", &cnt);
    json_object_object_get_ex(cnt, "rejected", &rej);
    CHECK(json_object_get_int(rej) == 3);
    json_object_put(st);
    bmq_server_stop(s);
}

static void test_refusals(bmq_bus *bus, uint16_t busy_port)
{
    bmq_server_options o;
    bmq_server_options_init(&o);
    char *err = NULL;
    int code = 0;
    o.host = "0.0.0.0";
    CHECK(bmq_server_start(bus, &o, &code, &err) == NULL);
    CHECK(code == -BMQ_EDENIED);
    CHECK_CONTAINS(err, "0.0.0.0");
    CHECK(strchr(err, '\n') == NULL);
    g_free(err);
    err = NULL;
    const char *bad[] = {"10.0.0.0/99", NULL};
    o.allow = bad;
    CHECK(bmq_server_start(bus, &o, &code, &err) == NULL);
    CHECK(code == -BMQ_EINVAL);
    CHECK_CONTAINS(err, "10.0.0.0/99");
    g_free(err);
    err = NULL;
    bmq_server_options_init(&o);
    o.port = busy_port;
    CHECK(bmq_server_start(bus, &o, &code, &err) == NULL);
    CHECK(code == -BMQ_EBUSY);
    CHECK_CONTAINS(err, "127.0.0.1");
    g_free(err);
    /* Without the server's own call, as bmq_init_connection reports it. */
    bmq_bus *other = bmq_bus_new();
    CHECK(bmq_init_connection(other, "0.0.0.0", 0, NULL) == -BMQ_EDENIED);
    CHECK(bmq_init_connection(other, "127.0.0.1", busy_port, NULL) == -BMQ_EBUSY);
    bmq_bus_free(other);

    /* JSON-RPC codes: BMQ_E* in the server range, JSON-RPC's own kept. */
    CHECK(bmq_rpc_code(-BMQ_EDENIED) == -32011);
    CHECK(bmq_rpc_code(BMQ_EDENIED) == -32011);
    CHECK(bmq_rpc_code(BMQ_RPC_EPARAMS) == -32602);
    json_object *e = bmq_rpc_error(-BMQ_EABI, "plugin '%s' speaks %d", "x", 99);
    CHECK(bmq_rpc_error_code(e) == -BMQ_EABI);
    json_object *c = NULL;
    CHECK(json_object_object_get_ex(e, "code", &c) && json_object_get_int(c) == -32012);
    json_object_put(e);
    e = bmq_rpc_error(BMQ_RPC_EMETHOD, "unknown method");
    CHECK(bmq_rpc_error_code(e) == -BMQ_EPROTO);
    json_object_put(e);
}

static void test_client(uint16_t port)
{
    CHECK(bmq_rpc_client_new("", NULL) == NULL);
    CHECK(bmq_rpc_client_new("ftp://x/", NULL) == NULL);
    char *url = g_strdup_printf("http://127.0.0.1:%u", port);
    bmq_rpc_client *c = bmq_rpc_client_new(url, NULL);
    json_object *res = NULL;
    char *et = NULL;
    CHECK(bmq_rpc_client_call(c, "nope", NULL, &res, &et) == -BMQ_EPROTO);
    CHECK_CONTAINS(et, "unknown method");
    g_free(et);
    json_object *p = json_object_new_array();
    json_object_array_add(p, json_object_new_int(5));
    CHECK(bmq_rpc_client_call(c, "connect_oneway", p, &res, NULL) == 0);
    CHECK(json_object_is_type(res, json_type_string));
    json_object_put(res);
    bmq_rpc_client_free(c);
    g_free(url);
    /* nobody listens on a port we just closed */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    url = g_strdup_printf("127.0.0.1:%u/JSON", ntohs(a.sin_port));
    c = bmq_rpc_client_new(url, NULL);
    CHECK(bmq_rpc_client_call(c, "bmq.hello", NULL, &res, &et) == -BMQ_ENET);
    CHECK(et != NULL);
    g_free(et);
    bmq_rpc_client_free(c);
    g_free(url);
}

static int arrived;
static void on_arrival(const bmq_message *m, void *ud)
{
    __atomic_add_fetch(&arrived, 1, __ATOMIC_RELAXED);
}

/* A batch over the peer's body limit is answered 413 as a whole; the link
 * then sends one message per request and loses only what cannot fit. */
static void test_batch_over_limit(void)
{
    bmq_bus *sb = bmq_bus_new(), *cb = bmq_bus_new();
    bmq_server_options o;
    bmq_server_options_init(&o);
    o.max_body = 2048;
    char *err = NULL;
    bmq_server *s = bmq_server_start(sb, &o, NULL, &err);
    CHECK(s && !err);
    bmq_follower *f = bmq_follow(sb, "big:*", on_arrival, NULL, NULL);
    bmq_link *l = bmq_connect_oneway(cb, "127.0.0.1", bmq_server_port(s), 0, NULL, &err);
    CHECK(l && !err);
    char pad[3000];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < 50; i++) {
        json_object *a = json_object_new_array();
        json_object_array_add(
            a, json_object_new_string(i == 7 ? pad : "small payload, fifty of them"));
        bmq_twitter(cb, "big:x", a, NULL);
    }
    CHECK(bmq_link_flush(l, 20) == 0);
    CHECK(__atomic_load_n(&arrived, __ATOMIC_RELAXED) == 49); /* all but the 3 kB one */
    json_object *st = bmq_server_status(s);
    CHECK_CONTAINS(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN), "\"too_large\":");
    json_object_put(st);
    CHECK(bmq_close_connection(l) == 0);
    bmq_unfollow(f);
    bmq_server_stop(s);
    bmq_bus_free(sb);
    bmq_bus_free(cb);
}

int main(void)
{
    test_batch_over_limit();
    bmq_bus *bus = bmq_bus_new();
    bmq_server_options o;
    bmq_server_options_init(&o);
    o.max_body = 4096;
    o.conn_timeout_s = 1;
    char *err = NULL;
    bmq_server *s = bmq_server_start(bus, &o, NULL, &err);
    CHECK(s && !err);
    uint16_t port = bmq_server_port(s);
    CHECK(port != 0);
    CHECK(bmq_bus_server(bus) == s);
    test_keepalive_and_paths(port);
    test_too_large(port, o.max_body);
    test_blocking_get_and_slow_client(bus, port);
    test_client(port);
    test_refusals(bus, port);
    json_object *st = bmq_server_status(s);
    const char *txt = json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN);
    CHECK_CONTAINS(txt, "\"too_large\":2");
    CHECK_CONTAINS(txt, "\"listen\":\"127.0.0.1:");
    CHECK_CONTAINS(txt, "\"style\":\"03\""); /* the queue link is still there */
    json_object_put(st);
    bmq_server_stop(s);
    test_secret(bus);
    bmq_bus_free(bus);
    printf("net_http: ok\n");
    return 0;
}
