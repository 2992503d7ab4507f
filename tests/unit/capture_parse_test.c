/* capture_parse_test.c - the capture plugin's parsing core: Notify call
 * bodies as a sender builds them to the kwargs a user sees, the config's
 * verdicts, and the bounds on hostile bodies. */
#include "capture.h"
#include "check.h"

#include <string.h>

typedef struct hint {
    const char *key;
    GVariant *value;
} hint;

/* A Notify body as libnotify builds it. */
static GVariant *notify_body(const char *app, guint32 replaces, const char *icon,
                             const char *summary, const char *body, const char *const *actions,
                             const hint *hints, gint32 timeout)
{
    GVariantBuilder hb;
    g_variant_builder_init(&hb, G_VARIANT_TYPE("a{sv}"));
    for (const hint *h = hints; h && h->key; h++)
        g_variant_builder_add(&hb, "{sv}", h->key, h->value);
    const char *none[] = {NULL};
    return g_variant_ref_sink(g_variant_new("(susss^asa{sv}i)", app, replaces, icon, summary, body,
                                            actions ? actions : none, &hb, timeout));
}

static const char *kw_str(json_object *kw, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(kw, key, &v) && v ? json_object_get_string(v) : NULL;
}

static bool kw_has(json_object *kw, const char *key)
{
    return json_object_object_get_ex(kw, key, NULL);
}

static cap_config config(const char *json)
{
    cap_config c;
    char *error = NULL;
    json_object *o = json_tokener_parse(json);
    CHECK(o);
    if (!capture__config_read(o, &c, &error)) {
        fprintf(stderr, "config %s: %s\n", json, error);
        exit(1);
    }
    json_object_put(o);
    return c;
}

static void test_full_notification(void)
{
    const char *actions[] = {"default", "Open", "reply", "Reply", NULL};
    hint hints[] = {{"urgency", g_variant_new_byte(2)},
                    {"category", g_variant_new_string("email.arrived")},
                    {"desktop-entry", g_variant_new_string("thunderbird")},
                    {"transient", g_variant_new_boolean(TRUE)},
                    {"x-count", g_variant_new_int32(3)},
                    {"sound-name", g_variant_new_string("message-new-email")},
                    {NULL, NULL}};
    GVariant *b =
        notify_body("Mail", 7, "mail-unread", "New mail", "from bob", actions, hints, 5000);
    cap_note *n = capture__note_parse(b, false);
    CHECK(n);
    CHECK(!n->own);
    CHECK_STR(n->app_part, "Mail");
    cap_config c = config("{}");
    CHECK_EQ(capture__verdict(&c, n), CAP_KEEP);
    json_object *kw = capture__note_kwargs(n, &c, 42, NULL);
    CHECK_STR(kw_str(kw, "title"), "New mail");
    CHECK_STR(kw_str(kw, "body"), "from bob");
    CHECK_STR(kw_str(kw, "urgency"), "critical");
    CHECK_STR(kw_str(kw, "icon"), "mail-unread");
    CHECK_STR(kw_str(kw, "app"), "Mail");
    CHECK_STR(kw_str(kw, "id"), "42");
    CHECK_STR(kw_str(kw, "timeout"), "5000");
    CHECK_STR(kw_str(kw, "replaces"), "7");
    CHECK_STR(kw_str(kw, "category"), "email.arrived");
    CHECK_STR(kw_str(kw, "desktop_entry"), "thunderbird");
    json_object *acts = NULL;
    CHECK(json_object_object_get_ex(kw, "actions", &acts));
    CHECK_STR(json_object_to_json_string_ext(acts, JSON_C_TO_STRING_PLAIN),
              "[{\"key\":\"default\",\"label\":\"Open\"},{\"key\":\"reply\",\"label\":\"Reply\"}]");
    json_object *h = NULL;
    CHECK(json_object_object_get_ex(kw, "hints", &h));
    CHECK_STR(kw_str(h, "sound-name"), "message-new-email");
    CHECK_STR(kw_str(h, "x-count"), "3");
    CHECK_STR(kw_str(h, "transient"), "true");
    /* Hints with fields of their own are not repeated. */
    CHECK(!kw_has(h, "urgency") && !kw_has(h, "category"));
    CHECK(!kw_has(kw, "truncated") && !kw_has(kw, "error") && !kw_has(kw, "redacted"));
    json_object_put(kw);

    /* Without a reply: no id, and the error says why. */
    kw = capture__note_kwargs(n, &c, 0, "org.freedesktop.DBus.Error.ServiceUnknown");
    CHECK(!kw_has(kw, "id"));
    CHECK_STR(kw_str(kw, "error"), "org.freedesktop.DBus.Error.ServiceUnknown");
    json_object_put(kw);
    capture__config_clear(&c);
    capture__note_free(n);
    g_variant_unref(b);
}

static void test_defaults_and_icon(void)
{
    /* No hints: normal urgency, no category; image-path stands in for a
     * missing app_icon; an odd action list loses its last key. */
    const char *actions[] = {"a", "A", "lonely", NULL};
    hint hints[] = {{"image-path", g_variant_new_string("/tmp/pic.png")},
                    {"urgency", g_variant_new_int32(0)}, /* int32 from some senders */
                    {NULL, NULL}};
    GVariant *b = notify_body("", 0, "", "t", "", actions, hints, -1);
    cap_note *n = capture__note_parse(b, false);
    cap_config c = config("{}");
    json_object *kw = capture__note_kwargs(n, &c, 0, NULL);
    CHECK_STR(n->app_part, "unknown");
    CHECK_STR(kw_str(kw, "icon"), "/tmp/pic.png");
    CHECK_STR(kw_str(kw, "urgency"), "low");
    CHECK_STR(kw_str(kw, "timeout"), "-1");
    CHECK(!kw_has(kw, "replaces") && !kw_has(kw, "category") && !kw_has(kw, "hints"));
    json_object *acts = NULL;
    CHECK(json_object_object_get_ex(kw, "actions", &acts));
    CHECK_EQ(json_object_array_length(acts), 1);
    json_object_put(kw);
    capture__note_free(n);
    g_variant_unref(b);

    hint none[] = {{NULL, NULL}};
    b = notify_body("x", 0, "", "t", "", NULL, none, -1);
    n = capture__note_parse(b, false);
    kw = capture__note_kwargs(n, &c, 0, NULL);
    CHECK_STR(kw_str(kw, "urgency"), "normal");
    CHECK(!kw_has(kw, "icon"));
    json_object_put(kw);
    capture__note_free(n);
    g_variant_unref(b);
    capture__config_clear(&c);
}

static cap_verdict verdict_of(const char *cfg_json, const char *app, guchar urgency, bool own)
{
    hint hints[] = {{"urgency", g_variant_new_byte(urgency)},
                    {own ? CAPTURE_OWN_HINT : "x-other", g_variant_new_string("abc")},
                    {NULL, NULL}};
    GVariant *b = notify_body(app, 0, "", "t", "b", NULL, hints, -1);
    cap_note *n = capture__note_parse(b, false);
    cap_config c = config(cfg_json);
    cap_verdict v = capture__verdict(&c, n);
    capture__config_clear(&c);
    capture__note_free(n);
    g_variant_unref(b);
    return v;
}

static void test_verdicts(void)
{
    CHECK_EQ(verdict_of("{}", "Mail", 1, false), CAP_KEEP);
    CHECK_EQ(verdict_of("{}", "Mail", 1, true), CAP_SKIP_OWN);
    /* Own notifications stay out whatever the config says. */
    CHECK_EQ(verdict_of("{\"only_apps\": [\"berryMQ\"]}", "berryMQ", 2, true), CAP_SKIP_OWN);
    CHECK_EQ(verdict_of("{\"ignore_apps\": [\"mail\"]}", "Mail", 1, false), CAP_SKIP_IGNORED);
    CHECK_EQ(verdict_of("{\"ignore_apps\": [\"chat*\"]}", "Chatty", 1, false), CAP_SKIP_IGNORED);
    CHECK_EQ(verdict_of("{\"ignore_apps\": [\"chat*\"]}", "Mail", 1, false), CAP_KEEP);
    CHECK_EQ(verdict_of("{\"only_apps\": [\"Mail\", \"Calendar\"]}", "mail", 1, false), CAP_KEEP);
    CHECK_EQ(verdict_of("{\"only_apps\": [\"Mail\"]}", "Chat", 1, false), CAP_SKIP_NOT_ONLY);
    CHECK_EQ(
        verdict_of("{\"only_apps\": [\"Mail\"], \"ignore_apps\": [\"Mail\"]}", "Mail", 1, false),
        CAP_SKIP_IGNORED);
    CHECK_EQ(verdict_of("{\"urgency_min\": \"critical\"}", "Mail", 1, false), CAP_SKIP_URGENCY);
    CHECK_EQ(verdict_of("{\"urgency_min\": \"critical\"}", "Mail", 2, false), CAP_KEEP);
    CHECK_EQ(verdict_of("{\"urgency_min\": 1}", "Mail", 0, false), CAP_SKIP_URGENCY);
    CHECK_EQ(verdict_of("{\"urgency_min\": \"Normal\"}", "Mail", 1, false), CAP_KEEP);
}

static void test_redact(void)
{
    const char *actions[] = {"reply", "Reply to Bob", NULL};
    hint hints[] = {{"x-thread", g_variant_new_string("secret")}, {NULL, NULL}};
    GVariant *b = notify_body("Chat", 0, "chat", "Bob", "the password is 1234", actions, hints, -1);
    cap_note *n = capture__note_parse(b, false);
    cap_config c = config("{\"redact_body\": true}");
    json_object *kw = capture__note_kwargs(n, &c, 5, NULL);
    const char *text = json_object_to_json_string(kw);
    CHECK(!strstr(text, "1234") && !strstr(text, "secret") && !strstr(text, "Reply to Bob"));
    CHECK_STR(kw_str(kw, "title"), "Bob");
    CHECK_STR(kw_str(kw, "app"), "Chat");
    CHECK_STR(kw_str(kw, "redacted"), "true");
    json_object_put(kw);
    capture__config_clear(&c);
    capture__note_free(n);
    g_variant_unref(b);
}

static void test_id_part(void)
{
    char *s = capture__id_part("My App: v2@home*", CAPTURE_ID_PART_MAX);
    CHECK_STR(s, "My_App__v2_home_");
    g_free(s);
    s = capture__id_part("", CAPTURE_ID_PART_MAX);
    CHECK_STR(s, "unknown");
    g_free(s);
    /* Never a local name. */
    s = capture__id_part("_notify", CAPTURE_ID_PART_MAX);
    CHECK_STR(s, "-notify");
    g_free(s);
    s = capture__id_part("@home", CAPTURE_ID_PART_MAX);
    CHECK_STR(s, "-home");
    g_free(s);
    s = capture__id_part("bad\xff\xfe utf8", CAPTURE_ID_PART_MAX);
    CHECK(g_utf8_validate(s, -1, NULL));
    CHECK(!strchr(s, ' '));
    g_free(s);
    /* 200 two-byte characters: cut to at most 120 bytes, never mid-character. */
    GString *g = g_string_new(NULL);
    for (int i = 0; i < 200; i++)
        g_string_append(g, "\xc3\xa9");
    s = capture__id_part(g->str, CAPTURE_ID_PART_MAX);
    CHECK(strlen(s) <= CAPTURE_ID_PART_MAX && g_utf8_validate(s, -1, NULL));
    CHECK_EQ(strlen(s), 120);
    g_free(s);
    g_string_free(g, TRUE);
}

static void test_bounds(void)
{
    /* A body of 100,000 bytes of 3-byte characters, 100 action pairs and
     * 5,000 hints: everything kept is cut at a character boundary, the
     * rest counted. */
    GString *big = g_string_new(NULL);
    while (big->len < 100000)
        g_string_append(big, "\xe2\x82\xac"); /* EUR sign */
    GPtrArray *acts = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < 200; i++)
        g_ptr_array_add(acts, g_strdup_printf("a%d", i));
    g_ptr_array_add(acts, NULL);
    hint *hints = g_new0(hint, 5001);
    char **keys = g_new0(char *, 5001);
    for (int i = 0; i < 5000; i++) {
        keys[i] = g_strdup_printf("x-h%d", i);
        hints[i].key = keys[i];
        hints[i].value = g_variant_new_string("v");
    }
    GVariant *b = notify_body("Flood", 0, "", big->str, big->str, (const char *const *)acts->pdata,
                              hints, -1);
    gint64 t0 = g_get_monotonic_time();
    cap_note *n = capture__note_parse(b, false);
    CHECK(n);
    CHECK(strlen(n->body) <= CAPTURE_BODY_MAX && g_utf8_validate(n->body, -1, NULL));
    CHECK(strlen(n->body) > CAPTURE_BODY_MAX - 3);
    CHECK(strlen(n->title) <= CAPTURE_TITLE_MAX && g_utf8_validate(n->title, -1, NULL));
    CHECK_EQ(n->actions->len, 2 * CAPTURE_ACTIONS_MAX);
    CHECK_EQ(json_object_object_length(n->hints), CAPTURE_HINTS_MAX);
    CHECK(n->truncated >= 4);
    cap_config c = config("{}");
    json_object *kw = capture__note_kwargs(n, &c, 1, NULL);
    CHECK(kw_has(kw, "truncated"));
    json_object_put(kw);
    fprintf(stderr, "   a hostile body parsed in %" G_GINT64_FORMAT " us\n",
            g_get_monotonic_time() - t0);
    capture__config_clear(&c);
    capture__note_free(n);
    g_variant_unref(b);
    g_strfreev(keys);
    g_free(hints);
    g_ptr_array_unref(acts);
    g_string_free(big, TRUE);
}

static GVariant *image_hint(int w, int h)
{
    gsize len = (gsize)w * h * 4;
    guchar *px = g_malloc0(len);
    GVariant *data = g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, px, len, 1);
    g_free(px);
    return g_variant_new("(iiibii@ay)", w, h, w * 4, TRUE, 8, 4, data);
}

static void test_image_hint(void)
{
    hint hints[] = {{"image-data", image_hint(16, 16)}, {NULL, NULL}};
    GVariant *b = notify_body("Pic", 0, "", "t", "b", NULL, hints, -1);
    cap_note *n = capture__note_parse(b, true);
    CHECK(n->image && g_variant_is_of_type(n->image, G_VARIANT_TYPE("(iiibiiay)")));
    CHECK(n->image_bytes >= 16 * 16 * 4);
    capture__note_free(n);
    /* Not asked for: not kept, only measured. */
    n = capture__note_parse(b, false);
    CHECK(!n->image && n->image_bytes >= 16 * 16 * 4);
    cap_config c = config("{}");
    json_object *kw = capture__note_kwargs(n, &c, 1, NULL);
    CHECK(!kw_has(kw, "hints")); /* the pixels never reach kwargs */
    json_object_put(kw);
    capture__config_clear(&c);
    capture__note_free(n);
    g_variant_unref(b);
}

static void test_wrong_shapes(void)
{
    GVariant *v = g_variant_ref_sink(g_variant_new("(ss)", "a", "b"));
    CHECK(capture__note_parse(v, false) == NULL);
    g_variant_unref(v);
    CHECK(capture__note_parse(NULL, false) == NULL);
    /* Random bytes read as a Notify body: GVariant gives defaults for what
     * is not well-formed; the parse never fails on content. */
    GRand *r = g_rand_new_with_seed(19);
    for (int i = 0; i < 2000; i++) {
        gsize len = g_rand_int_range(r, 0, 512);
        guchar *buf = g_malloc(len + 1);
        for (gsize k = 0; k < len; k++)
            buf[k] = (guchar)g_rand_int(r);
        GVariant *b = g_variant_ref_sink(g_variant_new_from_data(G_VARIANT_TYPE("(susssasa{sv}i)"),
                                                                 buf, len, FALSE, g_free, buf));
        cap_note *n = capture__note_parse(b, true);
        CHECK(n);
        CHECK(g_utf8_validate(n->app, -1, NULL) && g_utf8_validate(n->title, -1, NULL) &&
              g_utf8_validate(n->body, -1, NULL));
        cap_config c = config("{\"redact_body\": false}");
        json_object *kw = capture__note_kwargs(n, &c, 0, NULL);
        CHECK(json_object_to_json_string(kw));
        json_object_put(kw);
        capture__config_clear(&c);
        capture__note_free(n);
        g_variant_unref(b);
    }
    g_rand_free(r);
}

static void config_error(const char *json, const char *needle)
{
    cap_config c;
    char *error = NULL;
    json_object *o = json_tokener_parse(json);
    CHECK(!capture__config_read(o, &c, &error));
    CHECK_CONTAINS(error, needle);
    g_free(error);
    json_object_put(o);
}

static void test_config(void)
{
    config_error("{\"ignore_app\": [\"x\"]}", "unknown key 'ignore_app' (known: ignore_apps,");
    config_error("{\"ignore_apps\": \"Mail\"}", "key 'ignore_apps': expected a list of app names");
    config_error("{\"only_apps\": [3]}", "key 'only_apps': expected a string or a list of strings, got an integer at [0]");
    config_error("{\"urgency_min\": \"urgent\"}", "key 'urgency_min': expected \"low\"");
    config_error("{\"urgency_min\": 3}", "key 'urgency_min': expected \"low\"");
    config_error("{\"redact_body\": \"yes\"}", "key 'redact_body': expected true or false, got a string");
    config_error("{\"backlog\": 0}", "key 'backlog': expected an integer from 1 to 1000000, got 0");
    config_error("{\"include_images\": null}", "key 'include_images': must not be null");
    cap_config c = config("{\"include_images\": true, \"backlog\": 10, \"urgency_min\": \"low\"}");
    CHECK(c.include_images && !c.redact_body);
    CHECK_EQ(c.backlog, 10);
    capture__config_clear(&c);
    c = config("{}");
    CHECK_EQ(c.backlog, 256);
    CHECK(!c.include_images && !c.ignore_apps && !c.only_apps);
    capture__config_clear(&c);
}

int main(void)
{
    RUN(test_full_notification);
    RUN(test_defaults_and_icon);
    RUN(test_verdicts);
    RUN(test_redact);
    RUN(test_id_part);
    RUN(test_bounds);
    RUN(test_image_hint);
    RUN(test_wrong_shapes);
    RUN(test_config);
    return 0;
}
