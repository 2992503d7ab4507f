/* ntfy_stream.c - live subscriptions on the real hub: json, sse and raw
 * streams (open event, messages, keepalive), a berryMQ twitter reaching an
 * SSE subscriber (integers beyond 64 bits with their digits), several
 * topics, since= on a stream, streams that outlive the body and idle
 * timeouts, the subscriber limit, filters on a live
 * stream, and a hub that stops cleanly while streams are open.
 */
#include <string.h>

#include <berrymq/json.h>

#include "hub_harness.h"
#include "ntfy_http.h"

static char *base;

static char *url(const char *path)
{
    return g_strconcat(base, path, NULL);
}

static void publish(const char *path, const char *body)
{
    char *u = url(path);
    nt_resp r = nt_request(NULL, u, NULL, body, strlen(body));
    EXPECT(r.status == 200);
    nt_resp_clear(&r);
    g_free(u);
}

static nt_stream *open_stream(const char *path)
{
    char *u = url(path);
    nt_stream *s = nt_stream_start(u);
    g_free(u);
    /* the open event (or, for raw, its empty line) says we are subscribed */
    EXPECT(nt_stream_wait(s, strstr(path, "/raw") ? "\n" : "\"event\":\"open\"", 1, 10000));
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    hh_env *env = hh_env_new();
    /* Short body and idle timeouts: a stream must outlive both. */
    hh_write_config(env, "{\"plugins\": [], \"body_timeout\": 2, \"idle_timeout\": 2, "
                         "\"ntfy\": {\"keepalive\": 1, \"max_subscribers\": 4}}");
    hh_hub *h = hh_start(env, NULL, true);
    if (!h->listen) {
        hh_free(h);
        hh_env_free(env);
        return 1;
    }
    base = g_strconcat("http://", h->listen, NULL);

    fprintf(stderr, "-- json, sse, raw\n");
    publish("/st", "before"); /* stored: only since= brings it */
    nt_stream *js = open_stream("/st,other/json");
    nt_stream *sse = open_stream("/st/sse?since=all");
    nt_stream *raw = open_stream("/st/raw");
    publish("/st", "hello stream");
    publish("/other", "second topic");
    EXPECT(nt_stream_wait(js, "\"message\":\"hello stream\"", 1, 10000));
    EXPECT(nt_stream_wait(js, "\"topic\":\"other\",\"message\":\"second topic\"", 1, 10000));
    EXPECT(nt_stream_wait(sse, "data: {", 3, 10000)); /* open, before, hello */
    EXPECT(nt_stream_wait(sse, "\"message\":\"before\"", 1, 10000));
    EXPECT(nt_stream_wait(raw, "hello stream\n", 1, 10000));
    char *t = nt_stream_text(js);
    EXPECT(!strstr(t, "\"before\""));
    g_free(t);

    fprintf(stderr, "-- a twitter reaches an SSE subscriber\n");
    char *err = NULL;
    json_object *res = hh_call(h, "hub.twitter", "[\"st:built\", [\"make\", \"ok\"], {}]", &err);
    g_free(err);
    json_object_put(res);
    EXPECT(nt_stream_wait(sse, "\"topic\":\"st\",\"message\":\"make ok\"", 1, 10000));
    /* Integers beyond 64 bits are shown with their digits (sent parsed by
     * bmq_json_parse: json-c's own reader would clamp them here). */
    const char *big = "[\"st:big\", [1180591620717411303424, -18446744073709551616], {}]";
    json_object *params = NULL;
    EXPECT(bmq_json_parse(big, strlen(big), 0, &params, NULL) == 0);
    res = NULL;
    EXPECT(bmq_rpc_client_call(h->rpc, "hub.twitter", params, &res, NULL) == 0);
    json_object_put(res);
    EXPECT(nt_stream_wait(sse, "\"message\":\"1180591620717411303424 -18446744073709551616\"", 1,
                          10000));

    fprintf(stderr, "-- keepalive\n");
    EXPECT(nt_stream_wait(js, "\"event\":\"keepalive\"", 1, 10000));
    EXPECT(nt_stream_wait(sse, "event: keepalive\n", 1, 10000));

    fprintf(stderr, "-- a stream outlives body_timeout and idle_timeout\n");
    /* 6 keepalives, one a second: the stream is older than both (2 s). */
    EXPECT(nt_stream_wait(js, "\"event\":\"keepalive\"", 6, 30000));
    EXPECT(nt_stream_wait(raw, "hello stream\n", 1, 0));
    publish("/st", "still here");
    EXPECT(nt_stream_wait(js, "\"message\":\"still here\"", 1, 10000));
    EXPECT(nt_stream_wait(raw, "still here\n", 1, 10000));

    fprintf(stderr, "-- subscriber limit\n");
    nt_stream *fourth = open_stream("/st/json");
    char *u = url("/st/json");
    nt_resp r = nt_request(NULL, u, NULL, NULL, 0);
    g_free(u);
    EXPECT(r.status == 429);
    EXPECT_CONTAINS(r.body, "\"code\":42901");
    nt_resp_clear(&r);
    nt_stream_free(fourth); /* a closed stream frees its slot */
    bool freed = false;
    for (int i = 0; i < 500 && !freed; i++) {
        u = url("/st/json");
        nt_stream *again = nt_stream_start(u);
        g_free(u);
        freed = nt_stream_wait(again, "\"event\":\"open\"", 1, 200);
        nt_stream_free(again);
    }
    EXPECT(freed);

    fprintf(stderr, "-- filters on a live stream\n");
    /* The slot of the last stream above is freed once the hub sees it gone. */
    nt_stream *flt = NULL;
    bool opened = false;
    for (int i = 0; i < 500 && !opened; i++) {
        if (flt)
            nt_stream_free(flt);
        u = url("/flt/json?priority=high,urgent&tags=x&title=T1&message=keep+me");
        flt = nt_stream_start(u);
        g_free(u);
        opened = nt_stream_wait(flt, "\"event\":\"open\"", 1, 200);
    }
    EXPECT(opened);
    /* Each misses one filter, then one passes them all. The stream keeps
     * their order, so once that one is in, the others had their turn. */
    static const char *const sent[][4] = {
        {"Priority: default", "Tags: x,y", "Title: T1", "keep me"}, /* priority */
        {"Priority: high", "Tags: y", "Title: T1", "keep me"},      /* tags */
        {"Priority: high", "Tags: x", "Title: T2", "keep me"},      /* title */
        {"Priority: max", "Tags: x", "Title: T1", "other text"},    /* message */
        {"Priority: urgent", "Tags: y,x", "Title: T1", "keep me"},  /* passes */
    };
    u = url("/flt");
    for (size_t i = 0; i < G_N_ELEMENTS(sent); i++) {
        const char *hdr[] = {sent[i][0], sent[i][1], sent[i][2], NULL};
        r = nt_request(NULL, u, hdr, sent[i][3], strlen(sent[i][3]));
        EXPECT(r.status == 200);
        nt_resp_clear(&r);
    }
    g_free(u);
    EXPECT(nt_stream_wait(flt, "\"message\":\"keep me\"", 1, 10000));
    t = nt_stream_text(flt);
    int kept = 0;
    for (const char *p = t; (p = strstr(p, "\"event\":\"message\"")); p++)
        kept++;
    EXPECT(kept == 1);
    EXPECT_CONTAINS(t, "\"title\":\"T1\",\"message\":\"keep me\",\"priority\":5");
    g_free(t);
    nt_stream_free(flt);

    fprintf(stderr, "-- stop with streams open\n");
    EXPECT(hh_stop(h) == 0);
    EXPECT(nt_stream_wait_end(js, 10000));
    EXPECT(nt_stream_wait_end(sse, 10000));
    EXPECT(nt_stream_wait_end(raw, 10000));
    nt_stream_free(js);
    nt_stream_free(sse);
    nt_stream_free(raw);
    hh_free(h);
    hh_env_free(env);
    g_free(base);
    curl_global_cleanup();
    return check_result();
}
