/* json_exact.c - bmq_json_parse: integers outside 64 bits keep their exact
 * text; NUL and invalid UTF-8 are refused; empty documents, trailing data
 * and (strict) trailing commas are errors that say where. */
#include <string.h>

#include <glib.h>

#include <berrymq/json.h>

#include "check.h"

static char *roundtrip(const char *text, unsigned flags)
{
    json_object *o = NULL;
    char *err = NULL;
    int rc = bmq_json_parse(text, strlen(text), flags, &o, &err);
    if (rc != 0) {
        fprintf(stderr, "parse of %s failed: %s\n", text, err);
        exit(1);
    }
    char *s = g_strdup(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : "null");
    json_object_put(o);
    return s;
}

static char *error_of(const char *text, size_t len, unsigned flags)
{
    json_object *o = NULL;
    char *err = NULL;
    int rc = bmq_json_parse(text, len, flags, &o, &err);
    CHECK(rc == -BMQ_EINVAL);
    CHECK(o == NULL);
    CHECK(err != NULL);
    return err;
}

int main(void)
{
    /* 2^70, -2^64, the largest uint64, the smallest int64, a double. */
    const char *big = "[1180591620717411303424,-18446744073709551616,18446744073709551615,"
                      "-9223372036854775808,1.5,\"x\"]";
    char *s = roundtrip(big, 0);
    CHECK_STR(s, big);
    g_free(s);
    s = roundtrip("{\"n\":{\"deep\":[100000000000000000000000000000000000001]},\"k\":-1}", 0);
    CHECK_STR(s, "{\"n\":{\"deep\":[100000000000000000000000000000000000001]},\"k\":-1}");
    g_free(s);
    /* A bare big number, and the value it reads as. */
    json_object *o = NULL;
    CHECK(bmq_json_parse("1180591620717411303424", 22, 0, &o, NULL) == 0);
    CHECK(json_object_is_type(o, json_type_double));
    CHECK(json_object_get_double(o) == 1180591620717411303424.0);
    CHECK_STR(json_object_to_json_string(o), "1180591620717411303424");
    /* A deep copy keeps the text. */
    json_object *copy = NULL;
    CHECK(json_object_deep_copy(o, &copy, NULL) == 0);
    CHECK_STR(json_object_to_json_string(copy), "1180591620717411303424");
    json_object_put(copy);
    json_object_put(o);
    /* Strings with digits are left alone. */
    s = roundtrip("[\"123456789012345678901234\"]", 0);
    CHECK_STR(s, "[\"123456789012345678901234\"]");
    g_free(s);

    /* "null" is a value, not a failure. */
    o = (json_object *)1;
    CHECK(bmq_json_parse(" null ", 6, 0, &o, NULL) == 0 && o == NULL);

    char *e = error_of("", 0, 0);
    CHECK_CONTAINS(e, "empty document");
    free(e);
    e = error_of(" \n\t", 3, BMQ_JSON_STRICT);
    CHECK_CONTAINS(e, "line 2");
    CHECK_CONTAINS(e, "empty document");
    free(e);
    e = error_of("[1] x", 5, 0);
    CHECK_CONTAINS(e, "unexpected data after the value");
    free(e);
    e = error_of("{\"a\": 1,\n}", 10, BMQ_JSON_STRICT);
    CHECK_CONTAINS(e, "line 2");
    free(e);
    e = error_of("[\"a\\u0000b:c\"]", 14, 0);
    CHECK_CONTAINS(e, "NUL character");
    free(e);
    e = error_of("{\"k\\u0000ey\": 1}", 16, 0);
    CHECK_CONTAINS(e, "NUL character");
    free(e);
    e = error_of("[\"\xff\xfe\"]", 6, 0);
    CHECK_CONTAINS(e, "utf-8");
    free(e);
    e = error_of("[1, 2", 5, 0);
    CHECK_CONTAINS(e, "end of");
    free(e);
    return 0;
}
