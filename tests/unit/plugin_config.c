/* plugin_config.c - bmq_config_get_* and bmq_config_check_keys: what each
 * accepts, what it leaves alone, and the one line a user reads when it
 * refuses. */
#include <math.h>
#include <string.h>

#include <berrymq/json.h>
#include <berrymq/plugin.h>

#include "check.h"

static json_object *cfg(const char *text)
{
    json_object *o = NULL;
    char *err = NULL;
    if (bmq_json_parse(text, strlen(text), 0, &o, &err) != 0) {
        fprintf(stderr, "bad fixture %s: %s\n", text, err);
        exit(1);
    }
    return o;
}

/* rc == @code and the error line equals @want. */
#define CHECK_REFUSED(call, code, want)                                                            \
    do {                                                                                           \
        char *err_ = NULL;                                                                         \
        int rc_ = (call);                                                                          \
        CHECK_EQ(rc_, code);                                                                       \
        CHECK_STR(err_, want);                                                                     \
        g_free(err_);                                                                              \
    } while (0)

static void test_string(void)
{
    json_object *c = cfg("{\"a\": \"x\", \"e\": \"\", \"n\": 5, \"z\": null, \"t\": {\"ca\": "
                         "\"f.pem\"}, \"b\": true}");
    char *s = g_strdup("default"), *err = NULL;
    CHECK_EQ(bmq_config_get_string(c, "missing", 0, &s, &err), 0);
    CHECK_STR(s, "default");
    CHECK_EQ(bmq_config_get_string(c, "z", 0, &s, &err), 0); /* null = absent */
    CHECK_STR(s, "default");
    CHECK_EQ(bmq_config_get_string(c, "a", 0, &s, &err), 0);
    CHECK_STR(s, "x");
    CHECK_EQ(bmq_config_get_string(c, "e", 0, &s, &err), 0);
    CHECK_STR(s, "");
    CHECK_EQ(bmq_config_get_string(c, "t.ca", 0, &s, &err), 0);
    CHECK_STR(s, "f.pem");
    CHECK(err == NULL);
    CHECK_REFUSED(bmq_config_get_string(c, "n", 0, &s, &err_), -BMQ_ETYPE,
                  "key 'n': expected a string, got an integer");
    CHECK_REFUSED(bmq_config_get_string(c, "e", BMQ_CONFIG_NONEMPTY, &s, &err_), -BMQ_EINVAL,
                  "key 'e': expected a non-empty string, got an empty string");
    CHECK_REFUSED(bmq_config_get_string(c, "url", BMQ_CONFIG_REQUIRED, &s, &err_), -BMQ_EINVAL,
                  "key 'url': missing, expected a string");
    CHECK_REFUSED(bmq_config_get_string(c, "b.ca", 0, &s, &err_), -BMQ_ETYPE,
                  "key 'b': expected an object, got true");
    CHECK_STR(s, "f.pem"); /* unchanged by the refusals */
    /* A NULL config reads as empty; a NULL error is allowed. */
    CHECK_EQ(bmq_config_get_string(NULL, "a", 0, &s, NULL), 0);
    CHECK_EQ(bmq_config_get_string(NULL, "a", BMQ_CONFIG_REQUIRED, &s, NULL), -BMQ_EINVAL);
    g_free(s);
    json_object_put(c);
}

static void test_int(void)
{
    json_object *c = cfg("{\"q\": 1, \"big\": 5, \"f\": 1.5, \"s\": \"2\", \"neg\": -3}");
    int64_t n = 7;
    char *err = NULL;
    CHECK_EQ(bmq_config_get_int(c, "none", 0, 0, 2, &n, &err), 0);
    CHECK_EQ(n, 7);
    CHECK_EQ(bmq_config_get_int(c, "q", 0, 0, 2, &n, &err), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(bmq_config_get_int(c, "neg", 0, INT64_MIN, INT64_MAX, &n, &err), 0);
    CHECK_EQ(n, -3);
    CHECK(err == NULL);
    CHECK_REFUSED(bmq_config_get_int(c, "big", 0, 0, 2, &n, &err_), -BMQ_EINVAL,
                  "key 'big': expected an integer from 0 to 2, got 5");
    CHECK_REFUSED(bmq_config_get_int(c, "f", 0, INT64_MIN, INT64_MAX, &n, &err_), -BMQ_ETYPE,
                  "key 'f': expected an integer, got a fractional number");
    CHECK_REFUSED(bmq_config_get_int(c, "s", 0, 1, INT64_MAX, &n, &err_), -BMQ_ETYPE,
                  "key 's': expected an integer of at least 1, got a string");
    CHECK_REFUSED(bmq_config_get_int(c, "neg", 0, INT64_MIN, 0 - 5, &n, &err_), -BMQ_EINVAL,
                  "key 'neg': expected an integer of at most -5, got -3");
    CHECK_EQ(n, -3);
    json_object_put(c);
}

static void test_double(void)
{
    json_object *c = cfg("{\"i\": 2, \"d\": 0.25, \"s\": \"1\", \"zero\": 0}");
    double d = 9;
    char *err = NULL;
    CHECK_EQ(bmq_config_get_double(c, "none", 0, 0, 10, &d, &err), 0);
    CHECK(d == 9);
    CHECK_EQ(bmq_config_get_double(c, "i", 0, 0, 10, &d, &err), 0);
    CHECK(d == 2);
    CHECK_EQ(bmq_config_get_double(c, "d", 0, 0, 10, &d, &err), 0);
    CHECK(d == 0.25);
    CHECK(err == NULL);
    CHECK_REFUSED(bmq_config_get_double(c, "zero", 0, 0.1, 600, &d, &err_), -BMQ_EINVAL,
                  "key 'zero': expected a number from 0.1 to 600, got 0");
    CHECK_REFUSED(bmq_config_get_double(c, "s", 0, -INFINITY, INFINITY, &d, &err_), -BMQ_ETYPE,
                  "key 's': expected a number, got a string");
    CHECK_REFUSED(bmq_config_get_double(c, "t", BMQ_CONFIG_REQUIRED, 0, INFINITY, &d, &err_),
                  -BMQ_EINVAL, "key 't': missing, expected a number of at least 0");
    CHECK(d == 0.25);
    json_object_put(c);
}

static void test_bool(void)
{
    json_object *c = cfg("{\"t\": true, \"f\": false, \"one\": 1, \"yes\": \"yes\"}");
    bool b = true;
    char *err = NULL;
    CHECK_EQ(bmq_config_get_bool(c, "f", 0, &b, &err), 0);
    CHECK(!b);
    CHECK_EQ(bmq_config_get_bool(c, "t", 0, &b, &err), 0);
    CHECK(b);
    CHECK_EQ(bmq_config_get_bool(c, "none", 0, &b, &err), 0);
    CHECK(b);
    CHECK_REFUSED(bmq_config_get_bool(c, "one", 0, &b, &err_), -BMQ_ETYPE,
                  "key 'one': expected true or false, got an integer");
    /* A string value is never echoed: it might be a secret. */
    CHECK_REFUSED(bmq_config_get_bool(c, "yes", 0, &b, &err_), -BMQ_ETYPE,
                  "key 'yes': expected true or false, got a string");
    json_object_put(c);
}

static void test_strv(void)
{
    json_object *c = cfg("{\"one\": \"a:b\", \"two\": [\"x\", \"y\"], \"none\": [], \"bad\": "
                         "[\"x\", 3], \"num\": 4}");
    char **v = NULL, *err = NULL;
    CHECK_EQ(bmq_config_get_strv(c, "absent", 0, &v, &err), 0);
    CHECK(v == NULL);
    CHECK_EQ(bmq_config_get_strv(c, "one", 0, &v, &err), 0);
    CHECK_EQ(g_strv_length(v), 1);
    CHECK_STR(v[0], "a:b");
    CHECK_EQ(bmq_config_get_strv(c, "two", 0, &v, &err), 0);
    CHECK_EQ(g_strv_length(v), 2);
    CHECK_STR(v[1], "y");
    CHECK_EQ(bmq_config_get_strv(c, "none", 0, &v, &err), 0);
    CHECK_EQ(g_strv_length(v), 0);
    CHECK(err == NULL);
    CHECK_REFUSED(bmq_config_get_strv(c, "none", BMQ_CONFIG_NONEMPTY, &v, &err_), -BMQ_EINVAL,
                  "key 'none': expected a string or a non-empty list of strings, got an empty "
                  "list");
    CHECK_REFUSED(bmq_config_get_strv(c, "bad", 0, &v, &err_), -BMQ_ETYPE,
                  "key 'bad': expected a string or a list of strings, got an integer at [1]");
    CHECK_REFUSED(bmq_config_get_strv(c, "num", 0, &v, &err_), -BMQ_ETYPE,
                  "key 'num': expected a string or a list of strings, got an integer");
    CHECK_EQ(g_strv_length(v), 0);
    g_strfreev(v);
    json_object_put(c);
}

static void test_check_keys(void)
{
    static const char *const known[] = {"url", "filter", "format", NULL};
    json_object *ok = cfg("{\"url\": 1, \"format\": 2}");
    json_object *bad = cfg("{\"url\": 1, \"colour\": \"red\"}");
    json_object *list = cfg("[1]");
    char *err = NULL;
    CHECK_EQ(bmq_config_check_keys(ok, known, &err), 0);
    CHECK_EQ(bmq_config_check_keys(NULL, known, &err), 0);
    CHECK(err == NULL);
    CHECK_REFUSED(bmq_config_check_keys(bad, known, &err_), -BMQ_EINVAL,
                  "unknown key 'colour' (known: url, filter, format)");
    CHECK_REFUSED(bmq_config_check_keys(list, known, &err_), -BMQ_ETYPE,
                  "the config: expected an object, got a list");
    json_object_put(ok);
    json_object_put(bad);
    json_object_put(list);
}

int main(void)
{
    RUN(test_string);
    RUN(test_int);
    RUN(test_double);
    RUN(test_bool);
    RUN(test_strv);
    RUN(test_check_keys);
    return 0;
}
