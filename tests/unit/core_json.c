/* core_json.c - the JSON text of a message's args/kwargs (written without
 * json-c for plain values) is exactly what json-c itself writes, for random
 * trees of every JSON type, including the values that must fall back to
 * json-c (doubles, escapes, non-ASCII, huge integers, deep nesting). */
#include <berrymq/berrymq.h>

#include <stdint.h>

#include "check.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static json_object *random_string(void)
{
    static const char *const samples[] = {
        "", "build", "with space", "quote\"d", "back\\slash", "slash/ok", "tab\there",
        "new\nline", "caf\xc3\xa9", "\xe2\x9c\x93 done", "ctl\x01", "del\x7f", "{not json}",
    };
    if (rnd(3) == 0)
        return json_object_new_string(samples[rnd(sizeof samples / sizeof *samples)]);
    char buf[24];
    unsigned n = rnd(sizeof buf - 1);
    for (unsigned i = 0; i < n; i++)
        buf[i] = (char)(0x20 + rnd(0x5f)); /* printable ASCII, incl. " and \ */
    buf[n] = '\0';
    return json_object_new_string(buf);
}

static json_object *random_value(int depth)
{
    switch (rnd(depth > 4 ? 6 : 8)) {
    case 0:
        return NULL;
    case 1:
        return json_object_new_boolean(rnd(2));
    case 2: {
        static const int64_t edge[] = {0, -1, 1, INT64_MIN, INT64_MAX, 1234567890123LL, -42};
        return json_object_new_int64(rnd(2) ? edge[rnd(7)] : (int64_t)rnd(1000000) - 500000);
    }
    case 3:
        return json_object_new_uint64(UINT64_MAX - rnd(3));
    case 4:
        return json_object_new_double((double)rnd(100000) / 7.0);
    case 5:
        return random_string();
    case 6: {
        json_object *a = json_object_new_array();
        for (unsigned i = rnd(5); i > 0; i--)
            json_object_array_add(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_object *o = json_object_new_object();
        for (unsigned i = rnd(5); i > 0; i--) {
            json_object *k = random_string();
            json_object_object_add(o, json_object_get_string(k), random_value(depth + 1));
            json_object_put(k);
        }
        return o;
    }
    }
}

static void check_same(json_object *args, json_object *kwargs)
{
    const int fl = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
    char *want_a = strdup(json_object_to_json_string_ext(args, fl));
    char *want_k = strdup(json_object_to_json_string_ext(kwargs, fl));
    int err = 0;
    bmq_message *m = bmq_message_new("json:check", args, kwargs, &err);
    CHECK(m && err == 0);
    CHECK_STR(bmq_message_args_json(m), want_a);
    CHECK_STR(bmq_message_kwargs_json(m), want_k);
    /* the whole-message text embeds the same parts */
    json_object *whole = json_tokener_parse(bmq_message_to_json(m));
    CHECK(whole != NULL);
    json_object_put(whole);
    bmq_message_unref(m);
    free(want_a);
    free(want_k);
}

int main(void)
{
    for (int i = 0; i < (CORE_SLOW ? 3000 : 20000); i++) {
        json_object *a = json_object_new_array();
        for (unsigned n = rnd(4); n > 0; n--)
            json_object_array_add(a, random_value(0));
        json_object *k = json_object_new_object();
        for (unsigned n = rnd(4); n > 0; n--) {
            char key[16];
            snprintf(key, sizeof key, "k%u", rnd(100));
            json_object_object_add(k, key, random_value(0));
        }
        check_same(a, k);
    }
    /* values parsed from text keep json-c's own rendering (e.g. doubles) */
    static const char *const texts[] = {
        "[1.50, 2e3, -0.0, 123456789012345678901234567890]",
        "[{\"a\": [true, false, null]}, \"\\u00e9\", \"a\\/b\"]",
        "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        check_same(json_tokener_parse(texts[i]), json_object_new_object());
    fprintf(stderr, "core_json: ok\n");
    return 0;
}
