/* ntfy_publish.c - ntfy's publish API on the real hub, driven with libcurl
 * the way ntfy's documentation does it with curl: a body, headers (X-,
 * plain and short forms), the JSON form on "/", the query string on
 * /publish, /send and /trigger; what a berryMQ client then receives
 * (TOPIC:notify with title, body, urgency, priority, tags, click, icon,
 * actions); polling with since= and filters; bad input answered with
 * ntfy-style JSON errors while the hub keeps serving.
 */
#include <string.h>

#include "hub_harness.h"
#include "ntfy_http.h"

static char *base;       /* "http://127.0.0.1:PORT" */
static bmq_bus *bus;     /* our side of a style-03 link */
static bmq_link *link_q; /* queue of everything the hub sends */

static char *url(const char *path)
{
    return g_strconcat(base, path, NULL);
}

static nt_resp req(const char *method, const char *path, const char *const *headers,
                   const char *body)
{
    char *u = url(path);
    nt_resp r = nt_request(method, u, headers, body, body ? strlen(body) : 0);
    g_free(u);
    return r;
}

/* The next message the hub forwarded to us (transfer full). */
static bmq_message *next_message(void)
{
    int err = 0;
    bmq_message *m = bmq_get(link_q, true, 10, &err);
    EXPECT(m != NULL);
    return m;
}

static const char *kw(bmq_message *m, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(bmq_message_kwargs(m), key, &v))
        return NULL;
    return json_object_get_string(v);
}

static void test_body_publish(void)
{
    nt_resp r = req(NULL, "/backups", NULL, "Backup successful 😀");
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.content_type, "application/json");
    char *ev = nt_field(r.body, "event"), *topic = nt_field(r.body, "topic"),
         *msg = nt_field(r.body, "message"), *id = nt_field(r.body, "id");
    EXPECT(!strcmp(ev, "message"));
    EXPECT(!strcmp(topic, "backups"));
    EXPECT(!strcmp(msg, "Backup successful 😀"));
    EXPECT(strlen(id) > 0);
    EXPECT_CONTAINS(r.body, "\"time\":");

    bmq_message *m = next_message();
    if (m) {
        EXPECT(!strcmp(bmq_message_id(m), "backups:notify"));
        EXPECT(!strcmp(kw(m, "body"), "Backup successful 😀"));
        EXPECT(!strcmp(kw(m, "urgency"), "normal"));
        EXPECT(!strcmp(kw(m, "priority"), "3"));
        EXPECT(kw(m, "title") == NULL);
        bmq_message_unref(m);
    }
    g_free(ev), g_free(topic), g_free(msg), g_free(id);
    nt_resp_clear(&r);

    /* PUT works the same */
    r = req("PUT", "/backups", NULL, "put body");
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"message\":\"put body\"");
    nt_resp_clear(&r);
    m = next_message();
    if (m) {
        EXPECT(!strcmp(kw(m, "body"), "put body"));
        bmq_message_unref(m);
    }
}

static void test_headers(void)
{
    /* ntfy's own example */
    const char *h1[] = {"Title: Unauthorized access detected", "Priority: urgent",
                        "Tags: warning,skull", NULL};
    nt_resp r =
        req(NULL, "/phil_alerts", h1, "Remote access to phils-laptop detected. Act right away.");
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"title\":\"Unauthorized access detected\"");
    EXPECT_CONTAINS(r.body, "\"priority\":5");
    EXPECT_CONTAINS(r.body, "\"tags\":[\"warning\",\"skull\"]");
    nt_resp_clear(&r);
    bmq_message *m = next_message();
    if (m) {
        EXPECT(!strcmp(bmq_message_id(m), "phil_alerts:notify"));
        EXPECT(!strcmp(kw(m, "title"), "Unauthorized access detected"));
        EXPECT(!strcmp(kw(m, "urgency"), "critical"));
        EXPECT(!strcmp(kw(m, "priority"), "5"));
        json_object *tags;
        EXPECT(json_object_object_get_ex(bmq_message_kwargs(m), "tags", &tags) &&
               json_object_array_length(tags) == 2);
        bmq_message_unref(m);
    }

    /* X- forms, short aliases, click, icon, markdown, actions (short form) */
    const char *h2[] = {"X-Title: xt",
                        "X-Priority: 2",
                        "ta: a, b ,c",
                        "X-Click: https://example.com/c",
                        "Icon: https://example.com/i.png",
                        "Markdown: yes",
                        "Actions: view, Open, https://example.com/o, clear=true; "
                        "http, Stop, https://example.com/s, method=PUT, body='{\"x\": 1}'",
                        NULL};
    r = req(NULL, "/t2", h2, "**bold**");
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"title\":\"xt\"");
    EXPECT_CONTAINS(r.body, "\"priority\":2");
    EXPECT_CONTAINS(r.body, "\"tags\":[\"a\",\"b\",\"c\"]");
    EXPECT_CONTAINS(r.body, "\"click\":\"https://example.com/c\"");
    EXPECT_CONTAINS(r.body, "\"icon\":\"https://example.com/i.png\"");
    EXPECT_CONTAINS(r.body, "\"content_type\":\"text/markdown\"");
    EXPECT_CONTAINS(r.body,
                    "{\"action\":\"view\",\"label\":\"Open\",\"url\":\"https://example.com/o\","
                    "\"clear\":true}");
    EXPECT_CONTAINS(r.body, "\"method\":\"PUT\",\"body\":\"{\\\"x\\\": 1}\"");
    nt_resp_clear(&r);
    m = next_message();
    if (m) {
        EXPECT(!strcmp(kw(m, "urgency"), "low"));
        EXPECT(!strcmp(kw(m, "click"), "https://example.com/c"));
        EXPECT(!strcmp(kw(m, "icon"), "https://example.com/i.png"));
        json_object *a;
        EXPECT(json_object_object_get_ex(bmq_message_kwargs(m), "actions", &a) &&
               json_object_array_length(a) == 2);
        bmq_message_unref(m);
    }

    /* t and p, priority by name and number */
    const char *h3[] = {"t: short", "p: high", NULL};
    r = req(NULL, "/t3", h3, "x");
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"title\":\"short\"");
    EXPECT_CONTAINS(r.body, "\"priority\":4");
    nt_resp_clear(&r);
    m = next_message();
    if (m) {
        EXPECT(!strcmp(kw(m, "urgency"), "critical"));
        bmq_message_unref(m);
    }
}

static void test_json_publish(void)
{
    const char *body = "{\"topic\": \"mytopic\", \"message\": \"Disk space is low at 5.1 GB\", "
                       "\"title\": \"Low disk space alert\", \"tags\": [\"warning\",\"cd\"], "
                       "\"priority\": 4, \"click\": \"https://homecamera.lan/xasds1h2xsSsa/\", "
                       "\"actions\": [{\"action\": \"view\", \"label\": \"Admin panel\", "
                       "\"url\": \"https://filesrv.lan/admin\"}]}";
    const char *ct[] = {"Content-Type: application/json", NULL};
    nt_resp r = req(NULL, "/", ct, body);
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"topic\":\"mytopic\"");
    EXPECT_CONTAINS(r.body, "\"title\":\"Low disk space alert\"");
    EXPECT_CONTAINS(r.body, "\"priority\":4");
    EXPECT_CONTAINS(r.body, "\"actions\":[{\"action\":\"view\",\"label\":\"Admin panel\"");
    nt_resp_clear(&r);
    bmq_message *m = next_message();
    if (m) {
        EXPECT(!strcmp(bmq_message_id(m), "mytopic:notify"));
        EXPECT(!strcmp(kw(m, "body"), "Disk space is low at 5.1 GB"));
        EXPECT(!strcmp(kw(m, "click"), "https://homecamera.lan/xasds1h2xsSsa/"));
        bmq_message_unref(m);
    }
    /* JSON-RPC on "/" is still JSON-RPC */
    r = req(NULL, "/", ct, "{\"id\": 7, \"method\": \"hub.status\", \"params\": []}");
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"id\":7");
    EXPECT_CONTAINS(r.body, "\"error\":null");
    nt_resp_clear(&r);
    r = req(NULL, "/", ct,
            "{\"id\": null, \"method\": \"send_message\", \"params\": [null, "
            "\"rpc:notify\", [], {}]}");
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"error\"");
    nt_resp_clear(&r);
}

static void test_query_publish(void)
{
    nt_resp r =
        req(NULL, "/q1/publish?message=Hi+there&title=From+GET&priority=min&tags=a,b", NULL, NULL);
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"message\":\"Hi there\"");
    EXPECT_CONTAINS(r.body, "\"title\":\"From GET\"");
    EXPECT_CONTAINS(r.body, "\"priority\":1");
    nt_resp_clear(&r);
    bmq_message *m = next_message();
    bmq_message_unref(m);
    r = req(NULL, "/q1/send?m=short&t=T&p=5", NULL, NULL);
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"message\":\"short\"");
    EXPECT_CONTAINS(r.body, "\"priority\":5");
    nt_resp_clear(&r);
    bmq_message_unref(next_message());
    r = req(NULL, "/q1/trigger", NULL, NULL);
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"message\":\"triggered\"");
    nt_resp_clear(&r);
    bmq_message_unref(next_message());
    /* query parameters also work on a plain POST */
    r = req(NULL, "/q1?title=QT&priority=high", NULL, "body text");
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"title\":\"QT\"");
    EXPECT_CONTAINS(r.body, "\"message\":\"body text\"");
    nt_resp_clear(&r);
    bmq_message_unref(next_message());
}

static void expect_error(nt_resp r, long status, int code, const char *text)
{
    if (r.status != status)
        fprintf(stderr, "expected HTTP %ld, got %ld: %s\n", status, r.status, r.body);
    EXPECT(r.status == status);
    EXPECT_CONTAINS(r.content_type, "application/json");
    char *want = g_strdup_printf("\"code\":%d,\"http\":%ld,\"error\":\"", code, status);
    EXPECT_CONTAINS(r.body, want);
    EXPECT_CONTAINS(r.body, text);
    g_free(want);
    nt_resp_clear(&r);
}

static void test_bad_input(hh_hub *h, size_t max_body)
{
    expect_error(req(NULL, "/bad.topic", NULL, "x"), 400, 40009, "invalid topic");
    /* _notify:notify would be a local message: never from outside. */
    expect_error(req(NULL, "/_notify", NULL, "x"), 400, 40009, "not starting with _");
    expect_error(req(NULL, "/_hub/json?poll=1", NULL, NULL), 400, 40009, "not starting with _");
    char *long_topic = g_strnfill(65, 'a');
    char *path = g_strconcat("/", long_topic, NULL);
    expect_error(req(NULL, path, NULL, "x"), 400, 40009, "invalid topic");
    g_free(path);
    g_free(long_topic);
    const char *bad_p[] = {"Priority: 9", NULL};
    expect_error(req(NULL, "/ok", bad_p, "x"), 400, 40007, "invalid priority");
    const char *bad_a[] = {"Actions: fly, Away, https://x", NULL};
    expect_error(req(NULL, "/ok", bad_a, "x"), 400, 40018, "invalid actions");
    const char *delay[] = {"Delay: 10m", NULL};
    expect_error(req(NULL, "/ok", delay, "x"), 400, 40004, "not supported");
    char *big = g_strnfill(4097, 'x');
    expect_error(req(NULL, "/ok", NULL, big), 413, 41301, "message too large");
    g_free(big);
    char *huge = g_strnfill(max_body + 10, 'x');
    expect_error(req(NULL, "/ok", NULL, huge), 413, 41301, "too large");
    g_free(huge);
    expect_error(req(NULL, "/ok", NULL, "\xff\xfe binary"), 400, 40011, "UTF-8");
    const char *ct[] = {"Content-Type: application/json", NULL};
    expect_error(req(NULL, "/", ct, "{\"topic\": \"a b\", \"message\": \"x\"}"), 400, 40009,
                 "invalid topic");
    expect_error(req(NULL, "/", ct, "{\"topic\": \"ok\", \"priority\": 7}"), 400, 40007,
                 "invalid priority");
    expect_error(req(NULL, "/", ct, "{\"topic\": \"ok\", \"tags\": 5}"), 400, 40001,
                 "invalid tags");
    expect_error(req(NULL, "/", ct, "{\"topic\": \"ok\", \"actions\": [{\"action\": \"view\"}]}"),
                 400, 40018, "label");
    expect_error(req(NULL, "/ok/nonsense", NULL, NULL), 404, 40401, "page not found");
    expect_error(req(NULL, "/ok/json/x", NULL, NULL), 404, 40401, "page not found");
    expect_error(req(NULL, "/ok", NULL, NULL), 404, 40401, "subscribe with /ok/json");
    expect_error(req("DELETE", "/ok", NULL, NULL), 405, 40501, "not allowed");
    expect_error(req(NULL, "/ok/json?since=yesterday", NULL, NULL), 400, 40008, "invalid since");
    expect_error(req(NULL, "/ok/json?poll=1&priority=loud", NULL, NULL), 400, 40007,
                 "invalid priority filter");
    expect_error(req(NULL, "/a,b%20c/json?poll=1", NULL, NULL), 400, 40009, "invalid topic");

    /* Garbage on "/" is JSON-RPC's to answer; the hub goes on either way. */
    nt_resp r = req(NULL, "/", ct, "{\"topic\": ");
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"error\"");
    nt_resp_clear(&r);
    char *err = NULL;
    json_object *st = hh_call(h, "hub.status", "[]", &err);
    EXPECT(st != NULL);
    json_object_put(st);
    g_free(err);
    r = req(NULL, "/v1/health", NULL, NULL);
    EXPECT_CONTAINS(r.body, "\"healthy\":true");
    nt_resp_clear(&r);
}

/* Lines of a poll answer that contain @needle. */
static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_poll(void)
{
    const char *h[] = {"Title: first", "Tags: x,y", "Priority: 1", NULL};
    nt_resp r1 = req(NULL, "/pt", h, "one");
    char *id1 = nt_field(r1.body, "id");
    nt_resp_clear(&r1);
    bmq_message_unref(next_message());
    const char *h2[] = {"Title: second", "Tags: y", "Priority: 5", NULL};
    nt_resp r2 = req(NULL, "/pt", h2, "two");
    nt_resp_clear(&r2);
    bmq_message_unref(next_message());
    /* a berryMQ message named pt, not published with ntfy */
    EXPECT(bmq_twitter_json(bus, "pt:done", "[\"three\", 3]", "{}") == 0);
    const char *no_cache[] = {"Cache: no", NULL};
    nt_resp r3 = req(NULL, "/pt", no_cache, "not kept");
    EXPECT(r3.status == 200);
    nt_resp_clear(&r3);
    bmq_message_unref(next_message());

    /* the twitter above travels over our link; wait until the hub has it */
    nt_resp r = {0};
    for (int i = 0; i < 500; i++) {
        nt_resp_clear(&r);
        r = req(NULL, "/pt/json?poll=1", NULL, NULL);
        if (count(r.body, "\"event\":\"message\"") >= 3)
            break;
        g_usleep(10000);
    }
    EXPECT(count(r.body, "\"event\":\"message\"") == 3);
    EXPECT_CONTAINS(r.content_type, "application/x-ndjson");
    EXPECT_CONTAINS(r.body, "\"message\":\"one\"");
    EXPECT_CONTAINS(r.body, "\"message\":\"two\"");
    EXPECT_CONTAINS(r.body, "\"topic\":\"pt\",\"message\":\"three 3\"");
    EXPECT(!strstr(r.body, "not kept"));
    EXPECT(!strstr(r.body, "\"open\""));
    nt_resp_clear(&r);

    char *p = g_strdup_printf("/pt/json?poll=1&since=%s", id1);
    r = req(NULL, p, NULL, NULL);
    EXPECT(count(r.body, "\"event\":\"message\"") == 2 && !strstr(r.body, "\"one\""));
    nt_resp_clear(&r);
    g_free(p);
    r = req(NULL, "/pt/json?poll=1&since=latest", NULL, NULL);
    EXPECT(count(r.body, "\"event\":\"message\"") == 1);
    EXPECT_CONTAINS(r.body, "three 3");
    nt_resp_clear(&r);
    r = req(NULL, "/pt/json?poll=1&since=10m", NULL, NULL);
    EXPECT(count(r.body, "\"event\":\"message\"") == 3);
    nt_resp_clear(&r);
    p = g_strdup_printf("/pt/json?poll=1&since=%" G_GINT64_FORMAT,
                        g_get_real_time() / G_USEC_PER_SEC + 100);
    r = req(NULL, p, NULL, NULL);
    EXPECT(count(r.body, "\"event\":\"message\"") == 0);
    nt_resp_clear(&r);
    g_free(p);

    /* filters */
    r = req(NULL, "/pt/json?poll=1&priority=high,max", NULL, NULL);
    EXPECT(count(r.body, "\"event\":\"message\"") == 1 && strstr(r.body, "\"two\""));
    nt_resp_clear(&r);
    r = req(NULL, "/pt/json?poll=1&tags=x,y", NULL, NULL);
    EXPECT(count(r.body, "\"event\":\"message\"") == 1 && strstr(r.body, "\"one\""));
    nt_resp_clear(&r);
    r = req(NULL, "/pt/json?poll=1&title=second", NULL, NULL);
    EXPECT(count(r.body, "\"event\":\"message\"") == 1 && strstr(r.body, "\"two\""));
    nt_resp_clear(&r);
    r = req(NULL, "/pt/json?poll=1&message=three%203", NULL, NULL);
    EXPECT(count(r.body, "\"event\":\"message\"") == 1);
    nt_resp_clear(&r);
    r = req(NULL, "/pt/json?poll=1&priority=3", NULL, NULL);
    EXPECT(count(r.body, "\"event\":\"message\"") == 1 && strstr(r.body, "three"));
    nt_resp_clear(&r);

    /* several topics; sse and raw */
    r = req(NULL, "/pt,backups/json?poll=1", NULL, NULL);
    EXPECT_CONTAINS(r.body, "\"topic\":\"backups\"");
    EXPECT_CONTAINS(r.body, "\"topic\":\"pt\"");
    nt_resp_clear(&r);
    r = req(NULL, "/pt/sse?poll=1&since=all", NULL, NULL);
    EXPECT_CONTAINS(r.content_type, "text/event-stream");
    EXPECT(count(r.body, "\ndata: {") + (g_str_has_prefix(r.body, "data: {") ? 1 : 0) == 3);
    EXPECT_CONTAINS(r.body, "id: ");
    nt_resp_clear(&r);
    r = req(NULL, "/pt/raw?poll=1", NULL, NULL);
    EXPECT_CONTAINS(r.content_type, "text/plain");
    EXPECT(!strcmp(r.body, "one\ntwo\nthree 3\n"));
    nt_resp_clear(&r);
    g_free(id1);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    hh_env *env = hh_env_new();
    hh_write_config(env, "{\"max_body\": 65536, \"plugins\": []}");
    hh_hub *h = hh_start(env, NULL, true);
    if (!h->listen) {
        hh_free(h);
        hh_env_free(env);
        return 1;
    }
    base = g_strconcat("http://", h->listen, NULL);
    char *host = NULL;
    uint16_t port = 0;
    const char *colon = strrchr(h->listen, ':');
    host = g_strndup(h->listen, (gsize)(colon - h->listen));
    port = (uint16_t)atoi(colon + 1);
    bus = bmq_bus_new();
    char *err = NULL;
    link_q = bmq_connect_via_queue(bus, host, port, "*", 0, NULL, &err);
    EXPECT(link_q != NULL);
    bmq_link *out = bmq_connect_oneway(bus, host, port, 0, NULL, &err);
    EXPECT(out != NULL);

    fprintf(stderr, "-- body\n");
    test_body_publish();
    fprintf(stderr, "-- headers\n");
    test_headers();
    fprintf(stderr, "-- json\n");
    test_json_publish();
    fprintf(stderr, "-- query\n");
    test_query_publish();
    fprintf(stderr, "-- bad input\n");
    test_bad_input(h, 65536);
    fprintf(stderr, "-- poll\n");
    test_poll();

    bmq_close_connection(out);
    bmq_close_connection(link_q);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    bmq_bus_free(bus);
    hh_env_free(env);
    g_free(host);
    g_free(base);
    curl_global_cleanup();
    return check_result();
}
