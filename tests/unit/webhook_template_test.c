/* webhook_template_test.c - the webhook plugin's pure parts, called
 * directly: the template syntax (fields, steps, !json, escaping, errors),
 * what a message's title/body/priority are, URL redaction, and the rate
 * limiter's arithmetic on a clock the test drives. */
#include <string.h>

#include "check.h"
#include "webhook.h"

static char *render(const char *tmpl, const char *id, const char *args, const char *kwargs,
                    bool json)
{
    char *err = NULL;
    wh_template *t = wh__template_compile(tmpl, &err);
    if (!t)
        fprintf(stderr, "template %s: %s\n", tmpl, err);
    CHECK(t != NULL);
    json_object *a = args ? json_tokener_parse(args) : NULL;
    json_object *k = kwargs ? json_tokener_parse(kwargs) : NULL;
    bmq_message *m = bmq_message_new(id, a, k, NULL);
    CHECK(m != NULL);
    wh_fields f;
    wh__fields_init(&f, m, 1700000000.25, "box");
    char *out = wh__template_render(t, &f, json);
    wh__fields_clear(&f);
    bmq_message_unref(m);
    wh__template_free(t);
    return out;
}

#define CHECK_RENDER(tmpl, id, args, kwargs, json, want)                                           \
    do {                                                                                           \
        char *r_ = render(tmpl, id, args, kwargs, json);                                           \
        CHECK_STR(r_, want);                                                                       \
        g_free(r_);                                                                                \
    } while (0)

static void test_fields(void)
{
    CHECK_RENDER("{id}|{name}|{action}|{hub}|{time}", "disk@ns:warn", NULL, NULL, false,
                 "disk@ns:warn|disk|warn|box|1700000000.250");
    /* title: kwargs title, else summary, else the id; body: body, text,
     * message, else the args */
    CHECK_RENDER("{title}/{body}", "a:b", "[\"x\", 1, {\"k\": true}]", NULL, false,
                 "a:b/x 1 {\"k\":true}");
    CHECK_RENDER("{title}/{body}", "a:b", "[\"x\"]", "{\"summary\": \"S\", \"text\": \"T\"}", false,
                 "S/T");
    CHECK_RENDER("{title}/{body}", "a:b", NULL, "{\"title\": \"\", \"message\": \"M\"}", false,
                 "a:b/M");
    CHECK_RENDER("{args[1]}{args[9]}{args[x]}{kwargs.a.b[0]}{kwargs[c d]}", "a:b", "[\"x\", 7]",
                 "{\"a\": {\"b\": [null, 2]}, \"c d\": \"sp\"}", false, "7sp");
    CHECK_RENDER("{kwargs.a!json} {args!json} {args[3]!json} {title!json} {time!json}", "a:b",
                 "[1]", "{\"a\": {\"q\": \"\\\"\"}}", false,
                 "{\"q\":\"\\\"\"} [1] null \"a:b\" 1700000000.250");
    CHECK_RENDER("{{{title}}} }}{{", "a:b", NULL, NULL, false, "{a:b} }{");
}

static void test_json_escaping(void)
{
    CHECK_RENDER("{{\"t\": \"{title}\", \"b\": \"{body}\", \"o\": \"{kwargs.o}\"}}", "a:b", NULL,
                 "{\"title\": \"q\\\"\\\\\", \"body\": \"l1\\nl2\\t\\u0001\", \"o\": {\"x\": "
                 "\"y\"}}",
                 true,
                 "{\"t\": \"q\\\"\\\\\", \"b\": \"l1\\nl2\\t\\u0001\", \"o\": "
                 "\"{\\\"x\\\":\\\"y\\\"}\"}");
    /* Without JSON nothing is escaped. */
    CHECK_RENDER("{body}", "a:b", NULL, "{\"body\": \"\\\"x\\\"\\n\"}", false, "\"x\"\n");
}

static void test_errors(void)
{
    static const struct {
        const char *tmpl, *error;
    } bad[] = {
        {"{nope}", "unknown field \"nope\""},
        {"{}", "unknown field \"\""},
        {"{title", "unclosed '{' at offset 0"},
        {"ab {x{title}}", "unclosed '{' at offset 3"},
        {"a}b", "single '}' at offset 1"},
        {"{title!upper}", "unknown conversion \"!upper\""},
        {"{title.x}", "only args and kwargs have members"},
        {"{kwargs.}", "empty key after '.'"},
        {"{args[]}", "bad index"},
        {"{args[0}", "bad index"},
        {"{args[0]x}", "unexpected 'x'"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        char *err = NULL;
        wh_template *t = wh__template_compile(bad[i].tmpl, &err);
        if (t)
            fprintf(stderr, "template %s compiled\n", bad[i].tmpl);
        CHECK(t == NULL);
        CHECK_CONTAINS(err, bad[i].error);
        g_free(err);
    }
}

static int level_of(const char *kwargs)
{
    bmq_message *m = bmq_message_new("a:b", NULL, json_tokener_parse(kwargs), NULL);
    wh_fields f;
    wh__fields_init(&f, m, 0, "h");
    int l = f.level;
    wh__fields_clear(&f);
    bmq_message_unref(m);
    return l;
}

static void test_levels(void)
{
    CHECK_EQ(level_of("{}"), 0);
    CHECK_EQ(level_of("{\"urgency\": \"critical\"}"), 5);
    CHECK_EQ(level_of("{\"urgency\": \"low\"}"), 2);
    CHECK_EQ(level_of("{\"urgency\": \"normal\"}"), 0);
    CHECK_EQ(level_of("{\"urgency\": 2}"), 5);
    CHECK_EQ(level_of("{\"priority\": 4, \"urgency\": \"low\"}"), 4);
    CHECK_EQ(level_of("{\"priority\": \"urgent\"}"), 5);
    CHECK_EQ(level_of("{\"priority\": \"min\"}"), 1);
    /* A queue priority (any integer) out of ntfy's range says nothing. */
    CHECK_EQ(level_of("{\"priority\": 10, \"urgency\": \"critical\"}"), 5);
    CHECK_EQ(level_of("{\"priority\": -1}"), 0);
}

static void test_urls(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"https://ntfy.sh/alerts", "https://ntfy.sh/alerts"},
        {"https://u:p@h.example:8443/x?token=abc&plain",
         "https://***@h.example:8443/x?token=***&plain"},
        {"http://onlyuser@h/", "http://***@h/"},
        {"http://[::1]:80/p", "http://[::1]:80/p"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *r = wh__url_redact(cases[i].in);
        CHECK_STR(r, cases[i].out);
        g_free(r);
    }
    char *u = wh__url_append_path("https://g.example/base/?token=t", "/message");
    CHECK_STR(u, "https://g.example/base/message?token=t");
    g_free(u);
    u = wh__url_append_path("https://g.example", "/message");
    CHECK_STR(u, "https://g.example/message");
    g_free(u);
    u = wh__url_append_path("https://g.example/message", "/message");
    CHECK_STR(u, "https://g.example/message");
    g_free(u);
    bool https = false;
    char *err = NULL;
    CHECK_EQ(wh__url_check("HTTPS://h/", &https, &err), 0);
    CHECK(https);
    CHECK(wh__url_check("file:///etc/passwd", &https, &err) < 0);
    CHECK_CONTAINS(err, "scheme must be http or https");
    g_free(err);
}

static void test_rate(void)
{
    wh_rate r;
    /* 3 per 60 s: one token every 20 s. */
    wh__rate_init(&r, 3, 60);
    gint64 t = r.last_us, wait;
    for (int i = 0; i < 3; i++)
        CHECK(wh__rate_admit(&r, t));
    CHECK(!wh__rate_admit(&r, t));
    CHECK(!wh__rate_admit(&r, t + 1000));
    CHECK_EQ(wh__rate_take_summary(&r, t + 1000, &wait), 0);
    CHECK(wait > 18 * G_USEC_PER_SEC && wait <= 20 * G_USEC_PER_SEC);
    /* A token came back, but the pending summary goes first. */
    CHECK(!wh__rate_admit(&r, t + 20 * G_USEC_PER_SEC + 1));
    CHECK_EQ(wh__rate_take_summary(&r, t + 20 * G_USEC_PER_SEC + 2, &wait), 3);
    CHECK_EQ(wh__rate_take_summary(&r, t + 20 * G_USEC_PER_SEC + 3, &wait), 0);
    CHECK_EQ(wait, -1);
    CHECK(!wh__rate_admit(&r, t + 20 * G_USEC_PER_SEC + 4));
    /* After a long quiet time the bucket is full again: 3, not more. */
    gint64 later = t + (gint64)3600 * G_USEC_PER_SEC;
    CHECK_EQ(wh__rate_take_summary(&r, later, &wait), 1);
    for (int i = 0; i < 2; i++)
        CHECK(wh__rate_admit(&r, later));
    CHECK(!wh__rate_admit(&r, later));
    CHECK_EQ(r.coalesced, 5);
    CHECK_EQ(r.summaries, 2);
    wh__rate_clear(&r);

    wh__rate_init(&r, 0, 0); /* no limit */
    for (int i = 0; i < 1000; i++)
        CHECK(wh__rate_admit(&r, t));
    CHECK_EQ(wh__rate_take_summary(&r, t, &wait), 0);
    wh__rate_clear(&r);
}

int main(void)
{
    RUN(test_fields);
    RUN(test_json_escaping);
    RUN(test_errors);
    RUN(test_levels);
    RUN(test_urls);
    RUN(test_rate);
    return 0;
}
