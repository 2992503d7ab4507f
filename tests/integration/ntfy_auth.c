/* ntfy_auth.c - the ntfy API of a hub with a secret, and in front of web
 * browsers: Bearer and Basic auth (the secret as the password) and ntfy's
 * ?auth= on publish, poll and stream; refusals answered as ntfy errors
 * (401 with code 40101, 403 with 40301); a foreign Origin, Host or
 * Sec-Fetch-Site refused on ntfy paths as on JSON-RPC, with nothing
 * published; an allow_origins entry answered with CORS headers, a CORS
 * preflight for a fetch with ntfy's headers, and nothing for others.
 */
#include <string.h>

#include "hub_harness.h"
#include "ntfy_http.h"

/* "Bearer s3creta~" in base64 ends in '+' (QmVhcmVyIHMzY3JldGF+), which a
 * query string turns into a space unless it is sent URL-safe. */
#define SECRET "s3creta~"
#define ORIGIN "http://app.example:8080"

static char *base;

typedef struct resp {
    long status;
    char *body, *headers; /* (transfer full) headers lower-cased */
} resp;

static size_t collect_header(char *p, size_t size, size_t n, void *user)
{
    char *l = g_ascii_strdown(p, (gssize)(size * n));
    g_string_append(user, l);
    g_free(l);
    return size * n;
}

/* @method NULL: GET, or POST with @body; @headers NULL-terminated. */
static resp request(const char *method, const char *path, const char *const *headers,
                    const char *body)
{
    resp r = {0};
    char *u = g_strconcat(base, path, NULL);
    CURL *c = curl_easy_init();
    GString *out = g_string_new(NULL), *hd = g_string_new(NULL);
    struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
    for (const char *const *h = headers; h && *h; h++)
        hl = curl_slist_append(hl, *h);
    curl_easy_setopt(c, CURLOPT_URL, u);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, nt_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, hd);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    if (method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    r.body = g_string_free(out, FALSE);
    r.headers = g_string_free(hd, FALSE);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    g_free(u);
    return r;
}

static void resp_clear(resp *r)
{
    g_free(r->body);
    g_free(r->headers);
}

/* An ntfy error answer with @code. */
static bool ntfy_error(const resp *r, int code)
{
    json_object *o = json_tokener_parse(r->body), *v;
    bool ok = o && json_object_object_get_ex(o, "code", &v) && json_object_get_int(v) == code &&
              json_object_object_get_ex(o, "http", &v) && json_object_get_int(v) == r->status &&
              json_object_object_get_ex(o, "error", &v) && *json_object_get_string(v);
    json_object_put(o);
    if (!ok)
        fprintf(stderr, "  expected ntfy error %d, got HTTP %ld: %s", code, r->status, r->body);
    return ok;
}

static char *b64url(const char *s)
{
    char *b = g_base64_encode((const guchar *)s, strlen(s));
    for (char *p = b; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    char *eq = strchr(b, '=');
    if (eq)
        *eq = '\0'; /* unpadded, as ntfy's web app sends it */
    return b;
}

static char *basic(const char *user_pass)
{
    char *b = g_base64_encode((const guchar *)user_pass, strlen(user_pass));
    char *h = g_strconcat("Authorization: Basic ", b, NULL);
    g_free(b);
    return h;
}

/* Poll @topic with the secret: its text. (transfer full) */
static char *poll_all(const char *topic)
{
    char *path = g_strdup_printf("/%s/json?poll=1&since=all", topic);
    const char *h[] = {"Authorization: Bearer " SECRET, NULL};
    resp r = request(NULL, path, h, NULL);
    EXPECT(r.status == 200);
    g_free(path);
    g_free(r.headers);
    return r.body;
}

static void test_secret_forms(void)
{
    /* no credentials, wrong ones */
    resp r = request(NULL, "/au", NULL, "anonymous");
    EXPECT(r.status == 401 && ntfy_error(&r, 40101));
    EXPECT_CONTAINS(r.headers, "content-type: application/json");
    resp_clear(&r);
    const char *wrong[] = {"Authorization: Bearer nope", NULL};
    r = request(NULL, "/au", wrong, "wrong bearer");
    EXPECT(r.status == 401 && ntfy_error(&r, 40101));
    resp_clear(&r);
    char *bad_basic = basic("phil:nope");
    const char *wrong_basic[] = {bad_basic, NULL};
    r = request(NULL, "/au", wrong_basic, "wrong basic");
    EXPECT(r.status == 401 && ntfy_error(&r, 40101));
    resp_clear(&r);
    g_free(bad_basic);
    r = request(NULL, "/au/json?poll=1", NULL, NULL);
    EXPECT(r.status == 401 && ntfy_error(&r, 40101));
    resp_clear(&r);

    /* Bearer, Basic with any user name (ntfy clients send both), none */
    const char *bearer[] = {"Authorization: Bearer " SECRET, NULL};
    r = request(NULL, "/au", bearer, "by bearer");
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"message\":\"by bearer\"");
    resp_clear(&r);
    char *b1 = basic("phil:" SECRET), *b2 = basic(":" SECRET);
    const char *basic1[] = {b1, "Title: by basic", NULL}, *basic2[] = {b2, NULL};
    r = request("PUT", "/au", basic1, "by basic");
    EXPECT(r.status == 200);
    resp_clear(&r);
    r = request(NULL, "/au", basic2, "by basic without user");
    EXPECT(r.status == 200);
    resp_clear(&r);
    g_free(b1), g_free(b2);

    /* ?auth= of either header value, on publish and subscribe */
    char *phil = basic("phil:" SECRET);
    char *a1 = b64url("Bearer " SECRET), *a2 = b64url(phil + strlen("Authorization: "));
    g_free(phil);
    char *p1 = g_strdup_printf("/au/publish?message=by+auth+param&auth=%s", a1);
    r = request(NULL, p1, NULL, NULL);
    EXPECT(r.status == 200);
    resp_clear(&r);
    char *p2 = g_strdup_printf("/au/json?poll=1&since=all&auth=%s", a2);
    r = request(NULL, p2, NULL, NULL);
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"message\":\"by bearer\"");
    EXPECT_CONTAINS(r.body, "\"title\":\"by basic\"");
    EXPECT_CONTAINS(r.body, "\"message\":\"by basic without user\"");
    EXPECT_CONTAINS(r.body, "\"message\":\"by auth param\"");
    EXPECT(!strstr(r.body, "anonymous") && !strstr(r.body, "wrong"));
    resp_clear(&r);
    /* docs/ntfy.md's shell form: plain base64 without '=', its '+' sent as
     * is (a query decodes it as a space) */
    char *plain = g_base64_encode((const guchar *)"Bearer " SECRET, strlen("Bearer " SECRET));
    plain[strcspn(plain, "=")] = '\0';
    EXPECT(strchr(plain, '+') != NULL);
    char *p4 = g_strdup_printf("/au/json?poll=1&since=all&auth=%s", plain);
    r = request(NULL, p4, NULL, NULL);
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.body, "\"message\":\"by auth param\"");
    resp_clear(&r);
    g_free(plain), g_free(p4);
    char *bad = b64url("Bearer nope");
    char *p3 = g_strdup_printf("/au/json?poll=1&auth=%s", bad);
    r = request(NULL, p3, NULL, NULL);
    EXPECT(r.status == 401 && ntfy_error(&r, 40101));
    resp_clear(&r);

    /* a stream with ?auth= (what an EventSource can do) */
    char *su = g_strdup_printf("%s/au/sse?auth=%s", base, a1);
    nt_stream *s = nt_stream_start(su);
    EXPECT(nt_stream_wait(s, "event: open", 1, 10000));
    r = request(NULL, "/au", bearer, "streamed");
    EXPECT(r.status == 200);
    resp_clear(&r);
    EXPECT(nt_stream_wait(s, "\"message\":\"streamed\"", 1, 10000));
    nt_stream_free(s);
    g_free(su);
    g_free(a1), g_free(a2), g_free(bad), g_free(p1), g_free(p2), g_free(p3);

    /* JSON-RPC keeps its own answer */
    r = request(NULL, "/JSON", NULL, "{\"id\":1,\"method\":\"hub.status\",\"params\":[]}");
    EXPECT(r.status == 401);
    resp_clear(&r);
}

/* Browser marks are refused on ntfy paths as on JSON-RPC, before anything
 * is published; the refusal is an ntfy error. */
static void test_browser_refused(void)
{
    const char *evil_origin[] = {"Authorization: Bearer " SECRET, "Origin: http://evil.example",
                                 NULL};
    resp r = request(NULL, "/br", evil_origin, "from a foreign page");
    EXPECT(r.status == 403 && ntfy_error(&r, 40301));
    EXPECT(!strstr(r.headers, "access-control-allow-origin"));
    resp_clear(&r);
    r = request(NULL, "/br/json?poll=1", evil_origin, NULL);
    EXPECT(r.status == 403 && ntfy_error(&r, 40301));
    resp_clear(&r);
    const char *evil_host[] = {"Authorization: Bearer " SECRET, "Host: evil.example:29887", NULL};
    r = request(NULL, "/br", evil_host, "rebound name");
    EXPECT(r.status == 421 && ntfy_error(&r, 42101));
    resp_clear(&r);
    const char *cross_site[] = {"Authorization: Bearer " SECRET, "Sec-Fetch-Site: cross-site",
                                NULL};
    r = request(NULL, "/br/publish?message=cross+site", cross_site, NULL);
    EXPECT(r.status == 403 && ntfy_error(&r, 40301));
    resp_clear(&r);
    /* a preflight from a foreign page gets no CORS answer */
    const char *evil_pre[] = {"Origin: http://evil.example", "Access-Control-Request-Method: POST",
                              NULL};
    r = request("OPTIONS", "/br", evil_pre, NULL);
    EXPECT(r.status == 403);
    EXPECT(!strstr(r.headers, "access-control-allow-origin"));
    resp_clear(&r);
    char *all = poll_all("br");
    EXPECT(!strstr(all, "foreign") && !strstr(all, "rebound") && !strstr(all, "cross"));
    g_free(all);
}

/* A web app at an allow_origins entry: preflight, then fetch and poll with
 * CORS headers naming it; its 401 readable too. */
static void test_allowed_origin(void)
{
    const char *pre[] = {"Origin: " ORIGIN, "Access-Control-Request-Method: POST",
                         "Access-Control-Request-Headers: authorization,title,priority,tags", NULL};
    resp r = request("OPTIONS", "/web", pre, NULL);
    EXPECT(r.status == 204 || r.status == 200);
    EXPECT_CONTAINS(r.headers, "access-control-allow-origin: " ORIGIN "\r\n");
    EXPECT_CONTAINS(r.headers, "access-control-allow-methods:");
    EXPECT_CONTAINS(r.headers, "post");
    EXPECT_CONTAINS(r.headers, "access-control-allow-headers: authorization,title,priority,tags");
    resp_clear(&r);

    const char *pub[] = {"Origin: " ORIGIN, "Authorization: Bearer " SECRET, "Title: from the app",
                         "Priority: high", NULL};
    r = request(NULL, "/web", pub, "published by a web app");
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.headers, "access-control-allow-origin: " ORIGIN "\r\n");
    EXPECT_CONTAINS(r.body, "\"title\":\"from the app\"");
    resp_clear(&r);

    const char *sub[] = {"Origin: " ORIGIN, "Authorization: Bearer " SECRET, NULL};
    r = request(NULL, "/web/json?poll=1&since=all", sub, NULL);
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.headers, "access-control-allow-origin: " ORIGIN "\r\n");
    EXPECT_CONTAINS(r.body, "published by a web app");
    resp_clear(&r);

    char *a = b64url("Bearer " SECRET);
    char *su = g_strdup_printf("%s/web/sse?auth=%s", base, a);
    const char *es[] = {"Origin: " ORIGIN, "Accept: text/event-stream", NULL};
    char *path = g_strdup_printf("/web/sse?poll=1&auth=%s", a);
    r = request(NULL, path, es, NULL);
    EXPECT(r.status == 200);
    EXPECT_CONTAINS(r.headers, "access-control-allow-origin: " ORIGIN "\r\n");
    EXPECT_CONTAINS(r.headers, "content-type: text/event-stream");
    EXPECT_CONTAINS(r.body, "published by a web app");
    resp_clear(&r);
    g_free(path), g_free(su), g_free(a);

    const char *noauth[] = {"Origin: " ORIGIN, NULL};
    r = request(NULL, "/web", noauth, "no secret");
    EXPECT(r.status == 401 && ntfy_error(&r, 40101));
    EXPECT_CONTAINS(r.headers, "access-control-allow-origin: " ORIGIN "\r\n");
    resp_clear(&r);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_setenv("HH_SECRET", SECRET, TRUE); /* for the harness's own calls */
    hh_env *env = hh_env_new();
    hh_write_config(env, "{\"secret\": \"" SECRET "\", \"allow_origins\": [\"" ORIGIN "\"],"
                         " \"plugins\": []}");
    hh_hub *h = hh_start(env, NULL, true);
    if (!h->listen) {
        hh_free(h);
        hh_env_free(env);
        return 1;
    }
    base = g_strconcat("http://", h->listen, NULL);
    fprintf(stderr, "-- secret forms\n");
    test_secret_forms();
    fprintf(stderr, "-- browser refused\n");
    test_browser_refused();
    fprintf(stderr, "-- allowed origin\n");
    test_allowed_origin();
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    hh_env_free(env);
    g_free(base);
    curl_global_cleanup();
    return check_result();
}
