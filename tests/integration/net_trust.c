/* net_trust.c - the real hub refuses what a web browser sends on behalf of a
 * page (foreign Host, Origin, Sec-Fetch-Site), with nothing computed, and
 * keeps serving what non-browser clients send: curl-like requests, the
 * original berryMQ client (HTTP/1.0, text/xml, no Origin), listed names and
 * origins. Local identifiers cannot be sent over RPC, neither by name
 * (hub.twitter, send_message, a batch) nor through a wildcard ("*:quit").
 */
#include <stdlib.h>
#include <string.h>

#include "hub_harness.h"
#include "raw_http.h"

#define TWITTER_BODY "{\"id\": 7, \"method\": \"hub.twitter\", \"params\": [\"probe:x\", [], {}]}"
#define GOOD_ORIGIN  "http://127.0.0.1:8123"

static unsigned port_of(hh_hub *h)
{
    const char *c = strrchr(h->listen, ':');
    return c ? (unsigned)atoi(c + 1) : 0;
}

/* POST hub.twitter with @host (nullable) and @extra headers; the status. */
static int post(hh_hub *h, const char *host, const char *extra, rh_reply *r)
{
    char hostbuf[128];
    if (host && strstr(host, "PORT")) {
        char **parts = g_strsplit(host, "PORT", 2);
        g_snprintf(hostbuf, sizeof hostbuf, "%s%u%s", parts[0], port_of(h), parts[1]);
        g_strfreev(parts);
        host = hostbuf;
    }
    char *req = rh_post_text(host, extra, TWITTER_BODY);
    EXPECT(rh_exchange_tcp(port_of(h), req, r));
    g_free(req);
    return r->status;
}

static void expect_refused(hh_hub *h, const char *host, const char *extra, int status,
                           const char *why)
{
    rh_reply r;
    int st = post(h, host, extra, &r);
    if (st != status)
        fprintf(stderr, "Host %s + [%s]: HTTP %d, expected %d\n", host ? host : "-",
                extra ? extra : "", st, status);
    EXPECT(st == status);
    /* A JSON-RPC error body a client can show, and no result. */
    json_object *o = json_tokener_parse(r.body ? r.body : "");
    EXPECT(o && hh_str(o, "error.message"));
    EXPECT_CONTAINS(hh_str(o, "error.message"), why);
    json_object *res = NULL;
    EXPECT(json_object_object_get_ex(o, "result", &res) && res == NULL);
    EXPECT(json_object_object_get_ex(o, "id", &res));
    json_object_put(o);
    EXPECT(!strstr(r.head, "Access-Control-Allow-Origin"));
    rh_reply_clear(&r);
}

static void expect_ok(hh_hub *h, const char *host, const char *extra)
{
    rh_reply r;
    int st = post(h, host, extra, &r);
    if (st != 200)
        fprintf(stderr, "Host %s + [%s]: HTTP %d %s\n", host ? host : "-", extra ? extra : "", st,
                r.body ? r.body : "");
    EXPECT(st == 200);
    EXPECT_CONTAINS(r.body, "\"result\":\"ok\"");
    rh_reply_clear(&r);
}

static int received_by(hh_hub *h, const char *id)
{
    json_object *in = hh_instance(h, id);
    const char *v = in ? hh_str(in, "status.status.received") : NULL;
    int n = v ? atoi(v) : -1;
    json_object_put(in);
    return n;
}

static int sink_received(hh_hub *h)
{
    json_object *in = hh_instance(h, "sink");
    const char *v = in ? hh_str(in, "status.status.received") : NULL;
    int n = v ? atoi(v) : -1;
    json_object_put(in);
    return n;
}

static bool wait_received(hh_hub *h, int want)
{
    for (int i = 0; i < 500; i++) {
        int n = sink_received(h);
        if (n >= want)
            return n == want;
        g_usleep(10000);
    }
    return false;
}

static char *rpc_text(const char *method, const char *params)
{
    return g_strdup_printf("{\"id\": null, \"method\": \"%s\", \"params\": %s}", method, params);
}

/* The original berryMQ client: Python's xmlrpc-derived transport, HTTP/1.0,
 * text/xml, its own User-Agent, Host as dialled, no Origin. */
static json_object *original_call(hh_hub *h, const char *method, const char *params)
{
    char *body = rpc_text(method, params);
    char *req = g_strdup_printf("POST /JSON HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n"
                                "User-Agent: Python-xmlrpc/3.11\r\nContent-Type: text/xml\r\n"
                                "Content-Length: %zu\r\n\r\n%s",
                                port_of(h), strlen(body), body);
    rh_reply r;
    EXPECT(rh_exchange_tcp(port_of(h), req, &r));
    EXPECT(r.status == 200);
    json_object *o = json_tokener_parse(r.body ? r.body : "");
    json_object *res = NULL;
    if (o && json_object_object_get_ex(o, "result", &res))
        json_object_get(res);
    json_object_put(o);
    rh_reply_clear(&r);
    g_free(req);
    g_free(body);
    return res;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

int main(void)
{
    hh_env *env = hh_env_new();
    hh_write_config(env, "{\"server_names\": [\"hub.lan\"],"
                         " \"allow_origins\": [\"" GOOD_ORIGIN "/\"],"
                         " \"plugins\": [{\"plugin\": \"testplug\", \"id\": \"sink\","
                         "   \"config\": {\"follow\": \"probe:*\"}},"
                         "  {\"plugin\": \"testplug\", \"id\": \"local\","
                         "   \"config\": {\"follow\": \"_probe:*\"}}]}");
    hh_hub *h = hh_start(env, NULL, true);

    /* DNS rebinding: a foreign name resolved to 127.0.0.1. */
    expect_refused(h, "evil.example:PORT", NULL, 421, "server_names");
    expect_refused(h, "evil.example", NULL, 421, "server_names");
    expect_refused(h, "127.0.0.1.evil.example:PORT", NULL, 421, "server_names");
    /* A page's fetch / form: the browser adds Origin and Fetch Metadata. */
    expect_refused(h, "127.0.0.1:PORT", "Origin: http://evil.example\r\n", 403, "allow_origins");
    expect_refused(h, "127.0.0.1:PORT", "Origin: null\r\n", 403, "allow_origins");
    expect_refused(h, "127.0.0.1:PORT", "Sec-Fetch-Site: cross-site\r\n", 403, "other web sites");
    expect_refused(h, "127.0.0.1:PORT", "Sec-Fetch-Site: same-site\r\n", 403, "other web sites");
    rh_reply r;
    char *req = g_strdup_printf("OPTIONS /JSON HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: "
                                "http://evil.example\r\nAccess-Control-Request-Method: POST\r\n"
                                "Connection: close\r\n\r\n",
                                port_of(h));
    EXPECT(rh_exchange_tcp(port_of(h), req, &r) && r.status == 403);
    rh_reply_clear(&r);
    g_free(req);
    const int refused = 8;
    EXPECT(wait_received(h, 0));

    /* What is ours. */
    expect_ok(h, "127.0.0.1:PORT", NULL);
    expect_ok(h, "localhost:PORT", NULL);
    expect_ok(h, "LocalHost.:PORT", NULL);
    expect_ok(h, "[::1]:PORT", NULL);
    expect_ok(h, "hub.lan:PORT", NULL);
    expect_ok(h, NULL, NULL); /* no Host at all: not a browser */
    expect_ok(h, "127.0.0.1:PORT", "Sec-Fetch-Site: same-origin\r\n");
    expect_ok(h, "127.0.0.1:PORT", "Sec-Fetch-Site: none\r\n");
    /* A listed origin, cross-site as it is: let in, with CORS for it alone. */
    EXPECT(post(h, "127.0.0.1:PORT", "Origin: " GOOD_ORIGIN "\r\nSec-Fetch-Site: same-site\r\n",
                &r) == 200);
    char *acao = rh_header(r.head, "Access-Control-Allow-Origin");
    EXPECT(acao && strcmp(acao, GOOD_ORIGIN) == 0);
    g_free(acao);
    rh_reply_clear(&r);
    req = g_strdup_printf("OPTIONS /JSON HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: " GOOD_ORIGIN
                          "\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-"
                          "Headers: content-type\r\nConnection: close\r\n\r\n",
                          port_of(h));
    EXPECT(rh_exchange_tcp(port_of(h), req, &r) && r.status == 204);
    acao = rh_header(r.head, "Access-Control-Allow-Origin");
    EXPECT(acao && strcmp(acao, GOOD_ORIGIN) == 0);
    g_free(acao);
    char *methods = rh_header(r.head, "Access-Control-Allow-Methods");
    EXPECT_CONTAINS(methods, "POST");
    g_free(methods);
    rh_reply_clear(&r);
    g_free(req);

    /* The original client, style 02. */
    json_object *tok = original_call(h, "connect_oneway", "[60]");
    EXPECT(json_object_is_type(tok, json_type_string));
    char *params = g_strdup_printf("[\"%s\", \"probe:orig\", [1], {}]",
                                   tok ? json_object_get_string(tok) : "");
    json_object *ok = original_call(h, "send_message", params);
    EXPECT(ok && strcmp(json_object_get_string(ok), "ok") == 0);
    json_object_put(ok);
    json_object_put(tok);
    g_free(params);
    EXPECT(wait_received(h, 10));

    /* _hub:quit over RPC is refused; the hub keeps running. */
    char *err = NULL;
    EXPECT(hh_call(h, "hub.twitter", "[\"_hub:quit\", [], {}]", &err) == NULL);
    EXPECT_CONTAINS(err, "local identifier");
    g_free(err);
    err = NULL;
    EXPECT(hh_call(h, "hub.twitter", "[\"_notify:pause\", [], {}]", &err) == NULL);
    g_free(err);
    /* Nor through a wildcard name, which reaches every name but the local
     * ones: the sink (probe:*) gets each, the follower of _probe:* none,
     * and "*:quit" does not stop the hub. */
    const char *wild[] = {"*:quit", "*:*", "*:ping"};
    for (size_t i = 0; i < G_N_ELEMENTS(wild); i++) {
        char *p = g_strdup_printf("[\"%s\", [], {}]", wild[i]);
        json_object *ok = hh_call(h, "hub.twitter", p, NULL);
        EXPECT(ok != NULL);
        json_object_put(ok);
        g_free(p);
    }
    /* ... and not by name or wildcard from a wire client either, one
     * request or a batch (the bulk path). */
    tok = original_call(h, "connect_oneway", "[60]");
    const char *ids[] = {"_probe:x", "*:pause", "_hub:quit"};
    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        params = g_strdup_printf("[\"%s\", \"%s\", [], {}]", tok ? json_object_get_string(tok) : "",
                                 ids[i]);
        json_object_put(original_call(h, "send_message", params));
        g_free(params);
    }
    char *batch = g_strdup_printf("[{\"id\":1,\"method\":\"send_message\",\"params\":[\"%s\","
                                  "\"_probe:batch\",[],{}]}]",
                                  tok ? json_object_get_string(tok) : "");
    req = rh_post_text(NULL, NULL, batch);
    EXPECT(rh_exchange_tcp(port_of(h), req, &r) && r.status == 200);
    EXPECT_CONTAINS(r.body, "local identifier");
    rh_reply_clear(&r);
    g_free(req);
    g_free(batch);
    json_object_put(tok);
    EXPECT(wait_received(h, 14)); /* 10 + the three wildcards + *:pause */

    /* A client's queue never receives local messages: "*:*" gets probe:after
     * but not the _hub:instances that disabling an instance sends first,
     * and a local pattern is refused. */
    json_object *qtok = hh_call(h, "connect_via_queue", "[\"*:*\", 60]", NULL);
    EXPECT(json_object_is_type(qtok, json_type_string));
    err = NULL;
    EXPECT(hh_call(h, "connect_via_queue", "[\"_hub:*\", 60]", &err) == NULL);
    EXPECT_CONTAINS(err, "local identifiers");
    g_free(err);
    json_object_put(hh_call(h, "hub.disable", "[\"sink\"]", NULL));
    EXPECT(hh_wait_state(h, "sink", "disabled", 10000));
    json_object_put(hh_call(h, "hub.twitter", "[\"probe:after\", [], {}]", NULL));
    bool after = false;
    int local_seen = 0;
    for (int i = 0; i < 50 && !after && qtok; i++) {
        params = g_strdup_printf("[\"%s\", true, 5]", json_object_get_string(qtok));
        json_object *m = hh_call(h, "get", params, NULL);
        g_free(params);
        const char *id = json_object_is_type(m, json_type_array)
                             ? json_object_get_string(json_object_array_get_idx(m, 0))
                             : NULL;
        if (!id) {
            json_object_put(m);
            break;
        }
        local_seen += id[0] == '_';
        if (id[0] == '_')
            fprintf(stderr, "queue got local message %s\n", id);
        after = strcmp(id, "probe:after") == 0;
        json_object_put(m);
    }
    EXPECT(after);
    EXPECT_EQ(local_seen, 0);
    json_object_put(qtok);
    EXPECT_EQ(received_by(h, "local"), 0);
    EXPECT(hh_wait_exit(h, 300) == -1); /* still running */
    json_object *st = hh_call(h, "hub.status", "[]", NULL);
    EXPECT(st != NULL);
    const char *n = st ? hh_str(st, "server.counters.refused_browser") : NULL;
    if (!n || atoi(n) != refused)
        fprintf(stderr, "refused_browser %s, expected %d\n", n ? n : "(none)", refused);
    EXPECT(n && atoi(n) == refused);
    json_object_put(st);

    EXPECT(hh_stop(h) == 0);
    hh_finish_log(h);
    char *log = hh_log(h);
    /* Once a minute per reason: three Host refusals, one line. */
    EXPECT(count(log, "refused a browser request") == 3);
    EXPECT(count(log, ": Host 'evil.example") == 1);
    EXPECT(count(log, ": Origin '") == 1);
    EXPECT(count(log, ": Sec-Fetch-Site '") == 1);
    if (check_failures)
        fprintf(stderr, "hub log:\n%s\n", log);
    g_free(log);
    hh_free(h);
    hh_env_free(env);
    return check_result();
}
