/* mqtt_mapping.c - the MQTT bridge's identifier <-> topic mapping, payload
 * envelopes and config checks, without a broker. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "mqtt_bridge.h"
#include "mqtt_map.h"

#include "check.h"

static void check_str(int line, char *got, const char *want)
{
    if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0)) {
        fprintf(stderr, "%s:%d: got \"%s\", expected \"%s\"\n", __FILE__, line,
                got ? got : "(null)", want ? want : "(null)");
        check_failures++;
    }
    g_free(got);
}
/* Compares and frees @got (check.h's EXPECT_STR does not free). */
#define EXPECT_STR_FREE(got, want) check_str(__LINE__, (got), (want))

static char *filter(const char *pattern)
{
    char *error = NULL;
    char *f = mqtt_map__filter("berrymq", pattern, &error);
    if (f == NULL) {
        EXPECT(error != NULL && strstr(error, pattern) != NULL);
        g_free(error);
    }
    return f;
}

static void test_topics(void)
{
    EXPECT_STR_FREE(mqtt_map__topic("berrymq", "", "build", "done"), "berrymq/_/build/done");
    EXPECT_STR_FREE(mqtt_map__topic("berrymq", "ci", "job", "fail"), "berrymq/ci/job/fail");
    EXPECT_STR_FREE(mqtt_map__topic("home/bmq", "", "*", "reload"), "home/bmq/_/*/reload");
    /* MQTT-special characters and the escape itself are escaped. */
    EXPECT_STR_FREE(mqtt_map__topic("berrymq", "", "a/b+c#d%e", "x"),
                    "berrymq/_/a%2Fb%2Bc%23d%25e/x");
    /* A namespace literally called "_" is not the default namespace. */
    EXPECT_STR_FREE(mqtt_map__topic("berrymq", "_", "n", "a"), "berrymq/%5F/n/a");

    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymq/_/build/done"), "build:done");
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymq/ci/job/fail"), "job@ci:fail");
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymq/_/a%2Fb%2Bc%23d%25e/x"),
                    "a/b+c#d%e:x");
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymq/%5F/n/a"), "n@_:a");
    EXPECT_STR_FREE(mqtt_map__id_from_topic("home/bmq", "home/bmq/_/*/reload"), "*:reload");
    /* Escapes we never write stay literal: other tools' topics keep their names. */
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymq/_/50%25%41/x"), "50%%41:x");
    /* Round trip of awkward names. */
    const char *names[] = {"a%2F", "%", "x/y/z", "++", "#", "caf\xc3\xa9", NULL};
    for (int i = 0; names[i]; i++) {
        char *t = mqtt_map__topic("p", "", names[i], "act");
        char *want = g_strdup_printf("%s:act", names[i]);
        EXPECT_STR_FREE(mqtt_map__id_from_topic("p", t), want);
        g_free(want);
        g_free(t);
    }
    /* Not ours or not a valid identifier: rejected. */
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "other/_/a/b"), NULL);
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymqx/_/a/b"), NULL);
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymq/_/a"), NULL);
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymq/_/a/b/c"), NULL);
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymq/_//b"), NULL);
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymq/_/kitchen light/on"), NULL);
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymq/_/a:b/c"), NULL);
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymq/_/a*b/c"), NULL);
    /* Local names never cross. */
    EXPECT_STR_FREE(mqtt_map__id_from_topic("berrymq", "berrymq/_/_secret/x"), NULL);
}

static void test_filters(void)
{
    EXPECT_STR_FREE(filter("*:*"), "berrymq/_/+/+");
    EXPECT_STR_FREE(filter("*"), "berrymq/_/+/+");
    EXPECT_STR_FREE(filter("build"), "berrymq/_/build/+");
    EXPECT_STR_FREE(filter("build:*"), "berrymq/_/build/+");
    EXPECT_STR_FREE(filter("*:fail"), "berrymq/_/+/fail");
    EXPECT_STR_FREE(filter("*@*:*"), "berrymq/+/+/+");
    EXPECT_STR_FREE(filter("job@ci:*"), "berrymq/ci/job/+");
    EXPECT_STR_FREE(filter("a+b:x#"), "berrymq/_/a%2Bb/x%23");
    EXPECT_STR_FREE(filter("_local:*"), NULL);
    EXPECT_STR_FREE(filter("a:b:c"), NULL);
    EXPECT_STR_FREE(filter("a*b:c"), NULL);
}

static void test_payloads(void)
{
    json_object *args = json_tokener_parse("[\"hello\", 2]");
    json_object *kwargs = json_tokener_parse("{\"k\": true}");
    bmq_message *m = bmq_message_new_full("note@ns:show", args, kwargs, "0123abcd", NULL, NULL);
    size_t len = 0;
    char *p = mqtt_map__payload(m, "\"hubA\"", &len);
    EXPECT(len == strlen(p));
    EXPECT_STR_FREE(g_strdup(p),
                    "{\"id\":\"note@ns:show\",\"args\":[\"hello\",2],\"kwargs\":{\"k\":true},"
                    "\"origin\":\"hubA\",\"uid\":\"0123abcd\"}");
    mqtt_envelope env;
    json_tokener *tok = json_tokener_new();
    mqtt_map__parse_payload(p, len, tok, &env);
    EXPECT(!env.raw);
    EXPECT_STR_FREE(g_strdup(json_object_to_json_string_ext(env.args, JSON_C_TO_STRING_PLAIN)),
                    "[\"hello\",2]");
    EXPECT_STR_FREE(g_strdup(json_object_to_json_string_ext(env.kwargs, JSON_C_TO_STRING_PLAIN)),
                    "{\"k\":true}");
    EXPECT_STR_FREE(g_strdup(env.origin), "hubA");
    EXPECT_STR_FREE(g_strdup(env.uid), "0123abcd");
    mqtt_envelope_clear(&env);
    g_free(p);
    bmq_message_unref(m);

    /* Anything else is text in args[0]: plain text, numbers, other JSON,
     * an envelope with wrong types, trailing garbage, invalid UTF-8. */
    const char *raw[] = {
        "21.5 C",  "42", "{\"temperature\": 21}", "{\"args\": 5}", "{\"args\": []} x", "[1,2]",
        "{broken", NULL};
    for (int i = 0; raw[i]; i++) {
        mqtt_map__parse_payload(raw[i], strlen(raw[i]), i % 2 ? tok : NULL, &env);
        EXPECT(env.raw);
        EXPECT(json_object_array_length(env.args) == 1);
        EXPECT_STR_FREE(g_strdup(json_object_get_string(json_object_array_get_idx(env.args, 0))),
                        raw[i]);
        EXPECT(json_object_object_length(env.kwargs) == 0);
        EXPECT(env.origin == NULL && env.uid == NULL);
        mqtt_envelope_clear(&env);
    }
    mqtt_map__parse_payload("ab\xff"
                            "c",
                            4, tok, &env);
    EXPECT(env.raw);
    EXPECT(
        g_utf8_validate(json_object_get_string(json_object_array_get_idx(env.args, 0)), -1, NULL));
    mqtt_envelope_clear(&env);
    /* Integers beyond 64 bits keep their digits, through the fast scan and
     * through the full parse (an escaped origin takes that one). */
    const char *bigs[] = {
        "{\"args\":[1180591620717411303424,-18446744073709551616],\"kwargs\":{\"n\":"
        "340282366920938463463374607431768211456}}",
        "{\"args\":[1180591620717411303424,-18446744073709551616],\"kwargs\":{\"n\":"
        "340282366920938463463374607431768211456},\"origin\":\"h\\u0041\"}",
        NULL};
    for (int i = 0; bigs[i]; i++) {
        mqtt_map__parse_payload(bigs[i], strlen(bigs[i]), tok, &env);
        EXPECT(!env.raw);
        EXPECT_STR_FREE(g_strdup(json_object_to_json_string_ext(env.args, JSON_C_TO_STRING_PLAIN)),
                        "[1180591620717411303424,-18446744073709551616]");
        EXPECT_STR_FREE(
            g_strdup(json_object_to_json_string_ext(env.kwargs, JSON_C_TO_STRING_PLAIN)),
            "{\"n\":340282366920938463463374607431768211456}");
        mqtt_envelope_clear(&env);
    }
    /* Envelope parts: kwargs only; a uid with odd characters is ignored. */
    const char *kw = "{\"kwargs\":{\"a\":1},\"uid\":\"x y\"}";
    mqtt_map__parse_payload(kw, strlen(kw), tok, &env);
    EXPECT(!env.raw && json_object_array_length(env.args) == 0 && env.uid == NULL);
    mqtt_envelope_clear(&env);
    json_tokener_free(tok);

    EXPECT_STR_FREE(mqtt_map__sanitize_name("my host:1@x"), "my-host-1-x");
    EXPECT_STR_FREE(mqtt_map__sanitize_name("_a/b"), "ha-b");
    EXPECT_STR_FREE(mqtt_map__sanitize_name(""), "hub");
    EXPECT_STR_FREE(mqtt_map__sanitize_name("a\"b\\c"), "a-b-c");
}

static int parse(const char *json, mqtt_config *c, char **error)
{
    json_object *o = json_tokener_parse(json);
    int rc = mqtt_config__parse(o, "node-1", "mq", c, error);
    json_object_put(o);
    return rc;
}

static void expect_error(const char *json, const char *needle)
{
    mqtt_config c;
    char *error = NULL;
    int rc = parse(json, &c, &error);
    EXPECT(rc == -BMQ_EINVAL || rc == -BMQ_ETYPE);
    if (error == NULL || strstr(error, needle) == NULL) {
        fprintf(stderr, "config %s: error \"%s\" lacks \"%s\"\n", json, error ? error : "(null)",
                needle);
        check_failures++;
    }
    g_free(error);
}

static void test_config(void)
{
    mqtt_config c;
    char *error = NULL;
    EXPECT(parse("{}", &c, &error) == 0);
    EXPECT(strcmp(c.host, "127.0.0.1") == 0 && c.port == 1883 && !c.tls && c.qos == 1);
    EXPECT(strcmp(c.prefix, "berrymq") == 0 && strcmp(c.hub_id, "node-1") == 0);
    EXPECT(strcmp(c.client_id, "berrymq-node-1-mq") == 0 && c.buffer == 1000);
    EXPECT(g_strv_length(c.publish) == 1 && strcmp(c.subscribe[0], "*:*") == 0);
    mqtt_config__clear(&c);

    EXPECT(parse("{\"broker\":\"mqtts://broker.example:8884\",\"tls\":{\"ca\":\"/x/ca.pem\"},"
                 "\"publish\":[\"build:*\",\"*:fail\"],\"subscribe\":null,\"qos\":2,"
                 "\"retain\":true,\"prefix\":\"home/bmq/\",\"hub_id\":\"desk\",\"buffer\":5,"
                 "\"username\":\"u\",\"password\":\"p\",\"flush_delay\":0}",
                 &c, &error) == 0);
    EXPECT(strcmp(c.host, "broker.example") == 0 && c.port == 8884 && c.tls);
    EXPECT(strcmp(c.ca, "/x/ca.pem") == 0 && c.qos == 2 && c.retain && c.buffer == 5);
    EXPECT(strcmp(c.prefix, "home/bmq") == 0 && strcmp(c.hub_id, "desk") == 0);
    EXPECT(g_strv_length(c.publish) == 2 && g_strv_length(c.subscribe) == 0);
    EXPECT(c.flush_delay == 0);
    mqtt_config__clear(&c);

    EXPECT(parse("{\"broker\":\"mqtts://h\"}", &c, &error) == 0);
    EXPECT(c.port == 8883 && c.tls);
    mqtt_config__clear(&c);
    EXPECT(parse("{\"broker\":\"[::1]:1884\"}", &c, &error) == 0);
    EXPECT(strcmp(c.host, "::1") == 0 && c.port == 1884);
    mqtt_config__clear(&c);

    expect_error("{\"qos\":3}", "qos");
    expect_error("{\"qos\":\"1\"}", "qos");
    expect_error("{\"broker\":\"http://x\"}", "scheme");
    expect_error("{\"broker\":\"mqtt://x:99999\"}", "port");
    expect_error("{\"broker\":\"mqtt://:1883\"}", "host");
    expect_error("{\"publish\":\"_local:*\"}", "publish");
    expect_error("{\"subscribe\":[\"a:b:c\"]}", "subscribe");
    expect_error("{\"subscribe\":[1]}", "subscribe");
    expect_error("{\"prefix\":\"a/+/b\"}", "prefix");
    expect_error("{\"prefix\":\"$SYS\"}", "prefix");
    expect_error("{\"hub_id\":\"my hub\"}", "hub_id");
    expect_error("{\"hub_id\":\"say\\\"hi\"}", "hub_id");
    expect_error("{\"brokr\":\"mqtt://x\"}", "brokr");
    expect_error("{\"password\":\"p\"}", "username");
    expect_error("{\"tls\":{\"cert\":\"c.pem\"}}", "key");
    expect_error("{\"tls\":{\"cafile\":\"c.pem\"}}", "cafile");
    expect_error("{\"reconnect_min\":10,\"reconnect_max\":2}", "reconnect_max");
    expect_error("{\"flush_delay\":-1}", "flush_delay");
    expect_error("[]", "object");
}

/* Random and mutated input never crashes the decoders, and what they
 * accept is always well formed. */
static void test_random_input(void)
{
    GRand *r = g_rand_new_with_seed(8);
    json_tokener *tok = json_tokener_new();
    const char *seeds[] = {
        "{\"args\":[1,\"x\"],\"kwargs\":{\"a\":{\"b\":[]}},\"uid\":\"ab\"}",
        "{\"id\":\"a:b\",\"args\":[-1.5e3,true,null,\"\\u00e9\\n\"],\"kwargs\":{},"
        "\"origin\":\"hub\",\"uid\":\"0f\"} ",
        "{\"origin\":\"o\\\"x\",\"args\":[[[]]],\"kwargs\":{\"k\":[1,{\"z\":0}]}}",
        "berrymq/ns%2F/na%25me/act%2B",
        "{\"kwargs\":{}}",
        "[1,2,{}]"};
    char buf[256];
    for (int i = 0; i < 20000; i++) {
        size_t n;
        if (i % 2) {
            n = (size_t)g_rand_int_range(r, 0, sizeof buf);
            for (size_t k = 0; k < n; k++)
                buf[k] = (char)g_rand_int_range(r, 0, 256);
        } else {
            const char *sd = seeds[g_rand_int_range(r, 0, G_N_ELEMENTS(seeds))];
            n = strlen(sd);
            memcpy(buf, sd, n);
            for (int m = g_rand_int_range(r, 1, 4); m > 0; m--)
                buf[g_rand_int_range(r, 0, (gint32)n)] = (char)g_rand_int_range(r, 1, 128);
        }
        mqtt_envelope env, ref;
        mqtt_map__parse_payload(buf, n, tok, &env);
        EXPECT(json_object_is_type(env.args, json_type_array));
        EXPECT(json_object_is_type(env.kwargs, json_type_object));
        /* The fast scanner decides exactly as json-c alone. */
        mqtt_map__parse_payload_slow(buf, n, &ref);
        bool same = env.raw == ref.raw && json_object_equal(env.args, ref.args) &&
                    json_object_equal(env.kwargs, ref.kwargs) &&
                    g_strcmp0(env.origin, ref.origin) == 0 && g_strcmp0(env.uid, ref.uid) == 0;
        if (!same)
            fprintf(stderr, "fast and json-c paths differ on: %.*s\n", (int)n, buf);
        EXPECT(same);
        mqtt_envelope_clear(&env);
        mqtt_envelope_clear(&ref);
        char topic[sizeof buf + 1], id[BMQ_ID_MAX + 1];
        memcpy(topic, buf, n);
        topic[n] = '\0';
        if (mqtt_map__id_from_topic_buf("berrymq", 7, topic, id, sizeof id))
            EXPECT(bmq_id_validate(id) == 0 && id[0] != '_');
    }
    json_tokener_free(tok);
    g_rand_free(r);
}

static json_object *random_json(GRand *r, int depth)
{
    int kind = g_rand_int_range(r, 0, depth > 3 ? 6 : 8);
    switch (kind) {
    case 0:
        return NULL;
    case 1:
        return json_object_new_boolean(g_rand_boolean(r));
    case 2: {
        uint64_t u = ((uint64_t)g_rand_int(r) << 32 | g_rand_int(r)) >> g_rand_int_range(r, 1, 64);
        int64_t v = (int64_t)u; /* < 2^63: negating it is defined */
        return json_object_new_int64(g_rand_boolean(r) ? v : -v);
    }
    case 3:
        return g_rand_boolean(r) ? json_object_new_uint64(UINT64_MAX - g_rand_int(r))
                                 : json_object_new_double(g_rand_double_range(r, -1e300, 1e300) /
                                                          (double)g_rand_int_range(r, 1, 1000000));
    case 4:
        return json_object_new_double((double)g_rand_int_range(r, -1000, 1000));
    case 5: {
        char str[40];
        int n = g_rand_int_range(r, 0, sizeof str);
        for (int i = 0; i < n; i++)
            str[i] = (char)g_rand_int_range(r, 1, 256);
        return json_object_new_string_len(str, n);
    }
    case 6: {
        json_object *a = json_object_new_array();
        for (int i = g_rand_int_range(r, 0, 5); i > 0; i--)
            json_object_array_add(a, random_json(r, depth + 1));
        return a;
    }
    default: {
        json_object *o = json_object_new_object();
        for (int i = g_rand_int_range(r, 0, 5); i > 0; i--) {
            char key[8];
            g_snprintf(key, sizeof key, "k\"%d", g_rand_int_range(r, 0, 9));
            json_object_object_add(o, key, random_json(r, depth + 1));
        }
        return o;
    }
    }
}

/* Our printer writes JSON that json-c reads back as the same value. */
static void test_printer(void)
{
    GRand *r = g_rand_new_with_seed(11);
    for (int i = 0; i < 3000; i++) {
        /* args and kwargs are containers: wrap scalars (json-c cannot tell
         * where a bare number ends without more input) */
        json_object *v = json_object_new_array();
        json_object_array_add(v, random_json(r, 0));
        GString *s = g_string_new(NULL);
        mqtt_json__append(s, v);
        json_tokener *tok = json_tokener_new();
        json_object *back = json_tokener_parse_ex(tok, s->str, (int)s->len);
        bool ok = json_tokener_get_error(tok) == json_tokener_success &&
                  json_tokener_get_parse_end(tok) == s->len && json_object_equal(v, back);
        if (!ok)
            fprintf(stderr, "printer: %s\n", s->str);
        EXPECT(ok);
        json_tokener_free(tok);
        json_object_put(back);
        json_object_put(v);
        g_string_free(s, TRUE);
    }
    g_rand_free(r);
    GString *s = g_string_new(NULL);
    json_object *nan = json_object_new_double(NAN);
    mqtt_json__append(s, nan);
    EXPECT(strcmp(s->str, "null") == 0);
    json_object_put(nan);
    g_string_free(s, TRUE);
}

int main(void)
{
    test_printer();
    test_random_input();
    test_topics();
    test_filters();
    test_payloads();
    test_config();
    return check_result();
}
