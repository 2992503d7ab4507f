/* webhook_format_test.c - the webhook plugin's requests, exactly as a
 * server receives them (method, path, query, headers, body) for each
 * format, with the real plugin host and a real HTTP server on loopback;
 * authentication, secrets kept out of logs and status, local messages,
 * overlapping filters and config errors. */
#include "webhook_harness.h"

static const hs_request *req(hs_server *s, guint i)
{
    const hs_request *r = hs_get(s, i);
    if (!r)
        fprintf(stderr, "request %u did not arrive\n", i);
    CHECK(r != NULL);
    return r;
}

static void test_ntfy(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    bmq_instance *in = FX_NEW(&fx, "phone",
                              "{\"url\": \"http://127.0.0.1:%d/alerts\", \"format\": \"ntfy\","
                              " \"token\": \"tk_s3cret\"}",
                              hs_port(s));
    fx_send(&fx, "build:notify", NULL,
            "{\"title\": \"Build failed\", \"body\": \"3 tests\\nfailed\", \"urgency\": "
            "\"critical\", \"tags\": [\"warning\", \"skull\"], \"click\": "
            "\"https://ci.example/1\", \"icon\": \"https://ci.example/i.png\", \"actions\": "
            "[{\"action\": \"view\", \"label\": \"Open\", \"url\": \"https://ci.example/1\"}]}");
    /* berrymq notify with a summary only */
    fx_send(&fx, "cron:notify", NULL, "{\"title\": \"Backup done\", \"urgency\": \"low\"}");
    /* a title trying to add a header; a desktop icon name; ntfy priority */
    fx_send(&fx, "evil:notify", NULL,
            "{\"title\": \"a\\r\\nX-Evil: 1\", \"body\": \"b\", \"icon\": "
            "\"dialog-information\", \"priority\": 4, \"tags\": \"x,y\"}");
    fx_send(&fx, "cafe:notify", "[\"ouvert\", 7]", "{\"title\": \"Café ☕\"}");
    fx_send(&fx, "_local:notify", NULL, "{\"title\": \"stays home\"}");
    fx_send(&fx, "other:event", NULL, "{\"title\": \"not matched\"}");
    fx_send(&fx, "last:notify", NULL, "{\"title\": \"end\"}");
    CHECK(hs_wait_count(s, 5, WAIT_S));
    CHECK(fx_wait_stat(in, "sent", 5, WAIT_S));

    const hs_request *r = req(s, 0);
    CHECK_STR(r->method, "POST");
    CHECK_STR(r->path, "/alerts");
    CHECK_STR(hs_header(r, "Content-Type"), "text/plain; charset=utf-8");
    CHECK_STR(hs_header(r, "Title"), "Build failed");
    CHECK_STR(hs_header(r, "Priority"), "5");
    CHECK_STR(hs_header(r, "Tags"), "warning,skull");
    CHECK_STR(hs_header(r, "Click"), "https://ci.example/1");
    CHECK_STR(hs_header(r, "Icon"), "https://ci.example/i.png");
    CHECK_STR(hs_header(r, "Actions"),
              "[{\"action\":\"view\",\"label\":\"Open\",\"url\":\"https://ci.example/1\"}]");
    CHECK_STR(hs_header(r, "Authorization"), "Bearer tk_s3cret");
    CHECK(g_str_has_prefix(hs_header(r, "User-Agent"), "berryMQ-webhook/"));
    CHECK_STR(r->body, "3 tests\nfailed");

    r = req(s, 1);
    CHECK_STR(r->body, "Backup done");
    CHECK(hs_header(r, "Title") == NULL);
    CHECK_STR(hs_header(r, "Priority"), "2");

    r = req(s, 2);
    CHECK_STR(hs_header(r, "Title"), "a  X-Evil: 1");
    CHECK(hs_header(r, "X-Evil") == NULL);
    CHECK(hs_header(r, "Icon") == NULL);
    CHECK_STR(hs_header(r, "Priority"), "4");
    CHECK_STR(hs_header(r, "Tags"), "x,y");
    CHECK_STR(r->body, "b");

    r = req(s, 3);
    CHECK_STR(hs_header(r, "Title"), "Café ☕");
    CHECK_STR(r->body, "ouvert 7");
    CHECK(hs_header(r, "Priority") == NULL);

    /* Neither the local message nor the unmatched one went out. */
    r = req(s, 4);
    CHECK_STR(r->body, "end");
    CHECK_EQ(hs_count(s), 5);
    CHECK(!fx_logged(&fx, "tk_s3cret"));
    fx_free(&fx);
    hs_stop(s);
}

static void test_gotify(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    bmq_instance *in = FX_NEW(&fx, "gotify",
                              "{\"url\": \"http://127.0.0.1:%d/gotify\", \"format\": \"gotify\","
                              " \"token\": \"AbC.123\", \"filter\": [\"disk:*\", \"x:*\"]}",
                              hs_port(s));
    fx_send(&fx, "disk:warn", NULL,
            "{\"title\": \"Disk almost full\", \"body\": \"/home at 91%\", \"urgency\": "
            "\"critical\", \"click\": \"https://status.example\"}");
    fx_send(&fx, "x:notify", "[\"hello\"]", NULL);
    CHECK(hs_wait_count(s, 2, WAIT_S));
    CHECK(fx_wait_stat(in, "sent", 2, WAIT_S));
    const hs_request *r = req(s, 0);
    CHECK_STR(r->method, "POST");
    CHECK_STR(r->path, "/gotify/message");
    CHECK_STR(hs_header(r, "X-Gotify-Key"), "AbC.123");
    CHECK_STR(hs_header(r, "Authorization"), "Bearer AbC.123");
    CHECK_STR(hs_header(r, "Content-Type"), "application/json");
    CHECK_STR(r->body,
              "{\"title\":\"Disk almost full\",\"message\":\"/home at 91%\",\"priority\":8,"
              "\"extras\":{\"client::notification\":{\"click\":{\"url\":"
              "\"https://status.example\"}}}}");
    r = req(s, 1);
    CHECK_STR(r->path, "/gotify/message");
    CHECK_STR(r->body, "{\"title\":\"x:notify\",\"message\":\"hello\",\"priority\":5}");
    CHECK(!fx_logged(&fx, "AbC.123"));
    fx_free(&fx);
    hs_stop(s);
}

static void test_json(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    bmq_instance *in = FX_NEW(&fx, "json",
                              "{\"url\": \"http://127.0.0.1:%d/hook?src=hub\", \"filter\": "
                              "\"disk:*\", \"hub\": \"testhub\", \"method\": \"put\", "
                              "\"headers\": {\"X-Source\": \"berrymq\"}}",
                              hs_port(s));
    double t0 = (double)g_get_real_time() / 1e6;
    fx_send(&fx, "disk:warn", "[\"/home\", 91]", "{\"unit\": \"%\", \"deep\": {\"a\": [1, null]}}");
    double t1 = (double)g_get_real_time() / 1e6;
    CHECK(hs_wait_count(s, 1, WAIT_S));
    CHECK(fx_wait_stat(in, "sent", 1, WAIT_S));
    const hs_request *r = req(s, 0);
    CHECK_STR(r->method, "PUT");
    CHECK_STR(r->path, "/hook");
    CHECK_STR(r->query, "src=hub");
    CHECK_STR(hs_header(r, "Content-Type"), "application/json");
    CHECK_STR(hs_header(r, "X-Source"), "berrymq");
    const char *head = "{\"id\":\"disk:warn\",\"name\":\"disk\",\"action\":\"warn\",\"args\":[\"/"
                       "home\",91],\"kwargs\":{\"unit\":\"%\",\"deep\":{\"a\":[1,null]}},"
                       "\"time\":";
    CHECK(g_str_has_prefix(r->body, head));
    CHECK(g_str_has_suffix(r->body, ",\"hub\":\"testhub\"}"));
    json_object *o = json_tokener_parse(r->body), *t;
    CHECK(o != NULL);
    CHECK(json_object_object_get_ex(o, "time", &t));
    double when = json_object_get_double(t);
    CHECK(when >= t0 - 0.001 && when <= t1 + 0.001);
    json_object_put(o);
    fx_free(&fx);
    hs_stop(s);
}

/* Integers beyond 64 bits go out with the digits they came with. */
static void test_json_exact(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    FX_NEW(&fx, "json", "{\"url\": \"http://127.0.0.1:%d/hook\", \"filter\": \"big:*\"}",
           hs_port(s));
    fx_send(&fx, "big:n", "[1180591620717411303424]", "{\"n\": -18446744073709551616}");
    CHECK(hs_wait_count(s, 1, WAIT_S));
    const hs_request *r = req(s, 0);
    CHECK(strstr(r->body, "\"args\":[1180591620717411303424]") != NULL);
    CHECK(strstr(r->body, "\"kwargs\":{\"n\":-18446744073709551616}") != NULL);
    fx_free(&fx);
    hs_stop(s);
}

static void test_slack(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    bmq_instance *in = FX_NEW(&fx, "chat",
                              "{\"url\": \"http://127.0.0.1:%d/services/T0/B0/xyz\", \"format\": "
                              "\"slack\", \"headers\": {\"content-type\": \"application/json; "
                              "charset=utf-8\"}}",
                              hs_port(s));
    fx_send(&fx, "deploy:notify", NULL, "{\"title\": \"Deploy done\", \"body\": \"v1.2 is live\"}");
    fx_send(&fx, "deploy:notify", NULL, "{\"title\": \"Deploy \\\"started\\\"\"}");
    CHECK(hs_wait_count(s, 2, WAIT_S));
    CHECK(fx_wait_stat(in, "sent", 2, WAIT_S));
    const hs_request *r = req(s, 0);
    CHECK_STR(r->path, "/services/T0/B0/xyz");
    CHECK_STR(r->body, "{\"text\":\"Deploy done\\nv1.2 is live\"}");
    /* The configured header replaced the format's own. */
    int n = 0;
    for (guint i = 0; i < r->headers->len; i++)
        n += g_ascii_strncasecmp(r->headers->pdata[i], "content-type:", 13) == 0;
    CHECK_EQ(n, 1);
    CHECK_STR(hs_header(r, "Content-Type"), "application/json; charset=utf-8");
    CHECK_STR(req(s, 1)->body, "{\"text\":\"Deploy \\\"started\\\"\"}");
    fx_free(&fx);
    hs_stop(s);
}

static void test_template(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    /* JSON: every {field} escaped for a JSON string, !json for values. */
    bmq_instance *a = FX_NEW(
        &fx, "tj",
        "{\"url\": \"http://127.0.0.1:%d/j\", \"format\": \"template\", \"filter\": \"t:*\","
        " \"content_type\": \"application/json\", \"template\": \"{{\\\"msg\\\": \\\"{title}: "
        "{body}\\\", \\\"first\\\": {args[0]!json}, \\\"n\\\": {kwargs.n!json}, \\\"who\\\": "
        "\\\"{kwargs.user.name}\\\", \\\"missing\\\": \\\"{args[5]}\\\", \\\"braces\\\": "
        "\\\"{{ok}}\\\", \\\"id\\\": \\\"{id}\\\"}}\"}",
        hs_port(s));
    CHECK(a != NULL);
    fx_send(&fx, "t:notify", "[\"a\\\"b\", 2]",
            "{\"title\": \"T \\\"q\\\"\", \"body\": \"line1\\nline2\", \"n\": 3, \"user\": "
            "{\"name\": \"Zoë\"}}");
    CHECK(hs_wait_count(s, 1, WAIT_S));
    const hs_request *r = req(s, 0);
    CHECK_STR(hs_header(r, "Content-Type"), "application/json");
    CHECK_STR(r->body, "{\"msg\": \"T \\\"q\\\": line1\\nline2\", \"first\": \"a\\\"b\", \"n\": 3, "
                       "\"who\": \"Zoë\", \"missing\": \"\", \"braces\": \"{ok}\", \"id\": "
                       "\"t:notify\"}");
    json_object *o = json_tokener_parse(r->body);
    CHECK(o != NULL);
    json_object_put(o);
    bmq_instance_destroy(a);

    /* Text: values as they are, non-strings as compact JSON. */
    FX_NEW(&fx, "tt",
           "{\"url\": \"http://127.0.0.1:%d/t\", \"format\": \"template\", \"filter\": \"t:*\","
           " \"template\": \"{title} ({id}) args={args} kw={kwargs.user} {kwargs[n]}\"}",
           hs_port(s));
    fx_send(&fx, "t:notify", "[\"a\\\"b\", 2]",
            "{\"title\": \"T \\\"q\\\"\", \"n\": 3, \"user\": {\"name\": \"Zoë\"}}");
    CHECK(hs_wait_count(s, 2, WAIT_S));
    r = req(s, 1);
    CHECK_STR(hs_header(r, "Content-Type"), "text/plain; charset=utf-8");
    CHECK_STR(r->body, "T \"q\" (t:notify) args=[\"a\\\"b\",2] kw={\"name\":\"Zoë\"} 3");
    fx_free(&fx);
    hs_stop(s);
}

/* Basic auth from user/password and from the URL; what logs and status
 * show of a URL holding secrets. */
static void test_auth_and_redaction(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    bmq_instance *a = FX_NEW(&fx, "basic",
                             "{\"url\": \"http://127.0.0.1:%d/a\", \"user\": \"alice\", "
                             "\"password\": \"pa:ss9\", \"filter\": \"a:*\"}",
                             hs_port(s));
    bmq_instance *b = FX_NEW(&fx, "inurl",
                             "{\"url\": \"http://bob:hunter2@127.0.0.1:%d/b?token=tok9zq&topic=t\","
                             " \"filter\": \"b:*\"}",
                             hs_port(s));
    fx_send(&fx, "a:x", NULL, NULL);
    CHECK(hs_wait_count(s, 1, WAIT_S));
    fx_send(&fx, "b:x", NULL, NULL);
    CHECK(hs_wait_count(s, 2, WAIT_S));
    char *basic = g_base64_encode((const guchar *)"alice:pa:ss9", 12);
    char *want = g_strconcat("Basic ", basic, NULL);
    CHECK_STR(hs_header(req(s, 0), "Authorization"), want);
    g_free(basic);
    g_free(want);
    basic = g_base64_encode((const guchar *)"bob:hunter2", 11);
    want = g_strconcat("Basic ", basic, NULL);
    CHECK_STR(hs_header(req(s, 1), "Authorization"), want);
    CHECK_STR(req(s, 1)->query, "token=tok9zq&topic=t");
    g_free(basic);
    g_free(want);

    char *url = fx_stat_str(b, "url");
    char *expect = g_strdup_printf("http://***@127.0.0.1:%d/b?token=***&topic=***", hs_port(s));
    CHECK_STR(url, expect);
    g_free(url);
    g_free(expect);
    CHECK(fx_wait_stat(a, "sent", 1, WAIT_S));
    CHECK(fx_wait_stat(b, "sent", 1, WAIT_S));

    /* A failing delivery is logged with the redacted URL, never a secret. */
    hs_answer no = {401, NULL, "unauthorized"};
    hs_script(s, &no, 1);
    fx_send(&fx, "b:x", NULL, NULL);
    CHECK(fx_wait_stat(b, "failed", 1, WAIT_S));
    CHECK(fx_wait_logged(&fx, "HTTP 401 Unauthorized: unauthorized", WAIT_S));
    CHECK(fx_wait_logged(&fx, "http://***@127.0.0.1", 10));
    const char *secrets[] = {"hunter2", "tok9zq", "pa:ss9", "bob:"};
    for (size_t i = 0; i < G_N_ELEMENTS(secrets); i++) {
        if (fx_logged(&fx, secrets[i])) {
            fx_dump_logs(&fx);
            fprintf(stderr, "secret \"%s\" logged\n", secrets[i]);
        }
        CHECK(!fx_logged(&fx, secrets[i]));
    }
    json_object *st = bmq_instance_status(b);
    const char *text = json_object_to_json_string(st);
    CHECK(!strstr(text, "hunter2") && !strstr(text, "tok9zq"));
    json_object_put(st);
    fx_free(&fx);
    hs_stop(s);
}

/* The default filter leaves local messages alone; a pattern naming one
 * sends it; overlapping patterns send each message once. */
static void test_local_and_overlap(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    bmq_instance *in = FX_NEW(&fx, "both",
                              "{\"url\": \"http://127.0.0.1:%d/\", \"format\": \"slack\", "
                              "\"filter\": [\"*:notify\", \"_own:notify\", \"a:*\"]}",
                              hs_port(s));
    fx_send(&fx, "_other:notify", NULL, "{\"title\": \"1\"}");
    fx_send(&fx, "_own:notify", NULL, "{\"title\": \"2\"}");
    fx_send(&fx, "a:notify", NULL, "{\"title\": \"3\"}");
    fx_send(&fx, "b:notify", NULL, "{\"title\": \"4\"}");
    CHECK(hs_wait_count(s, 3, WAIT_S));
    CHECK(fx_wait_stat(in, "sent", 3, WAIT_S));
    CHECK_EQ(hs_count(s), 3);
    CHECK_STR(req(s, 0)->body, "{\"text\":\"2\"}");
    CHECK_STR(req(s, 1)->body, "{\"text\":\"3\"}");
    CHECK_STR(req(s, 2)->body, "{\"text\":\"4\"}");
    fx_free(&fx);
    hs_stop(s);
}

static void test_config_errors(void)
{
    fixture fx;
    fx_init(&fx);
    static const struct {
        const char *json, *error;
    } bad[] = {
        {"{}", "key 'url': missing, expected a non-empty string"},
        {"{\"url\": \"ftp://h/x\"}", "the scheme must be http or https"},
        {"{\"url\": \"no url\"}", "\"url\": not a valid URL"},
        {"{\"url\": 5}", "key 'url': expected a non-empty string, got an integer"},
        {"{\"url\": \"http://h/\", \"format\": \"xml\"}", "key 'format': expected ntfy, gotify"},
        {"{\"url\": \"http://h/\", \"format\": \"template\"}", "key 'template': required"},
        {"{\"url\": \"http://h/\", \"template\": \"x\"}", "go with format template only"},
        {"{\"url\": \"http://h/\", \"format\": \"template\", \"template\": \"{nope}\"}",
         "unknown field \"nope\""},
        {"{\"url\": \"http://h/\", \"format\": \"template\", \"template\": \"{title\"}",
         "unclosed '{'"},
        {"{\"url\": \"http://h/\", \"format\": \"template\", \"template\": \"a } b\"}",
         "single '}'"},
        {"{\"url\": \"http://h/\", \"format\": \"template\", \"template\": \"{title!repr}\"}",
         "unknown conversion"},
        {"{\"url\": \"http://h/\", \"format\": \"template\", \"content_type\": "
         "\"application/json\", \"template\": \"{{\\\"a\\\": {body}}}\"}",
         "needs {field!json}"},
        {"{\"url\": \"http://h/\", \"rate\": \"ten a minute\"}", "key 'rate': expected \"N/unit\""},
        {"{\"url\": \"http://h/\", \"rate\": \"0/min\"}", "key 'rate': expected \"N/unit\""},
        {"{\"url\": \"http://h/\", \"headers\": {\"X-A\": \"1\\r\\nX-B: 2\"}}", "must be one line"},
        {"{\"url\": \"http://h/\", \"headers\": {\"Bad Name\": \"1\"}}", "not a valid header name"},
        {"{\"url\": \"http://h/\", \"headers\": [\"X-A: 1\"]}",
         "key 'headers': expected an object"},
        {"{\"url\": \"http://h/\", \"headers\": {\"content-length\": \"5\"}}",
         "is set by the plugin"},
        {"{\"url\": \"http://h/\", \"token\": \"t\", \"user\": \"u\"}", "exclude each other"},
        {"{\"url\": \"http://h/\", \"password\": \"p\"}", "key 'password': needs \"user\""},
        {"{\"url\": \"http://h/\", \"insecure\": true}", "need an https url"},
        {"{\"url\": \"https://h/\", \"insecure\": \"yes\"}",
         "key 'insecure': expected true or false, got a string"},
        {"{\"url\": \"https://h/\", \"ca_file\": \"/nonexistent/ca.pem\"}",
         "key 'ca_file': cannot read"},
        {"{\"url\": \"http://h/\", \"method\": \"GET\"}",
         "key 'method': expected POST, PUT or PATCH"},
        {"{\"url\": \"http://h/\", \"filter\": \"bad pattern\"}", "not a valid pattern"},
        {"{\"url\": \"http://h/\", \"filter\": []}",
         "key 'filter': expected a string or a non-empty list"},
        {"{\"url\": \"http://h/\", \"timeout\": \"10\"}",
         "key 'timeout': expected a number from 0.1 to 600, got a string"},
        {"{\"url\": \"http://h/\", \"timeout\": 0}",
         "key 'timeout': expected a number from 0.1 to 600, got 0"},
        {"{\"url\": \"http://h/\", \"queue\": 0}",
         "key 'queue': expected an integer from 1 to 1000000, got 0"},
        {"{\"url\": \"http://h/\", \"retry_min\": 5, \"retry_max\": 1}",
         "key 'retry_max': must not"},
        {"{\"url\": \"http://h/\", \"colour\": \"red\"}",
         "unknown key 'colour' (known: url, filter,"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        char *err = NULL;
        bmq_instance *in = fx_create(&fx, "bad", &err, "%s", bad[i].json);
        if (in || !err || !strstr(err, bad[i].error))
            fprintf(stderr, "config %s: expected error \"%s\", got \"%s\"\n", bad[i].json,
                    bad[i].error, err ? err : "(created)");
        CHECK(in == NULL);
        CHECK_CONTAINS(err, bad[i].error);
        CHECK(strchr(err, '\n') == NULL);
        g_free(err);
    }
    /* The host goes on: a good instance still comes up after all that. */
    bmq_instance *ok = FX_NEW(&fx, "good", "{\"url\": \"http://127.0.0.1:9/\"}");
    CHECK(fx_wait_logged(&fx, "forwarding *:notify to http://127.0.0.1:9/ (json)", 10));
    bmq_instance_destroy(ok);
    fx_free(&fx);
}

/* Every hub.json of docs/webhook.md makes a working instance (created,
 * not used: nothing is sent anywhere), and the sample template gives the
 * request the page says. */
static void test_docs_examples(void)
{
    const char *src = g_getenv("BMQ_SOURCE_DIR");
    CHECK(src != NULL);
    char *path = g_build_filename(src, "docs", "webhook.md", NULL), *text = NULL;
    CHECK(g_file_get_contents(path, &text, NULL, NULL));
    fixture fx;
    fx_init(&fx);
    int made = 0;
    for (const char *p = text; (p = strstr(p, "```json\n"));) {
        p += 8;
        const char *end = strstr(p, "```");
        CHECK(end != NULL);
        char *block = g_strndup(p, (gsize)(end - p));
        json_object *doc = json_tokener_parse(block), *plugins;
        if (doc && json_object_object_get_ex(doc, "plugins", &plugins)) {
            for (size_t i = 0; i < json_object_array_length(plugins); i++) {
                json_object *e = json_object_array_get_idx(plugins, i), *name, *id, *cfg;
                CHECK(json_object_object_get_ex(e, "plugin", &name));
                if (strcmp(json_object_get_string(name), "webhook") != 0)
                    continue;
                CHECK(json_object_object_get_ex(e, "id", &id));
                CHECK(json_object_object_get_ex(e, "config", &cfg));
                char *err = NULL;
                bmq_instance *in = bmq_instance_create(fx.host, "webhook",
                                                       json_object_get_string(id), cfg, NULL, &err);
                if (!in)
                    fprintf(stderr, "docs example %s: %s\n", json_object_get_string(id), err);
                CHECK(in != NULL);
                bmq_instance_destroy(in);
                made++;
            }
        }
        json_object_put(doc);
        g_free(block);
        p = end + 3;
    }
    /* the introduction, ntfy.sh, self-hosted ntfy, Gotify, Slack,
     * Discord, Matrix, JSON */
    CHECK_EQ(made, 8);
    fx_free(&fx);
    g_free(text);
    g_free(path);
}

int main(void)
{
    RUN(test_ntfy);
    RUN(test_gotify);
    RUN(test_json);
    RUN(test_json_exact);
    RUN(test_slack);
    RUN(test_template);
    RUN(test_auth_and_redaction);
    RUN(test_local_and_overlap);
    RUN(test_config_errors);
    RUN(test_docs_examples);
    return 0;
}
