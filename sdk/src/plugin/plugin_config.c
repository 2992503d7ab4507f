/* plugin_config.c - bmq_config_get_*: reading an instance config, one
 * helper per type, one wording for every refusal ("key 'K': expected X,
 * got Y"). What is shown of a wrong value is its JSON type, or the number
 * itself for a range error: string values may be secrets. */
#include <math.h>
#include <string.h>

#include <berrymq/plugin.h>

static int fail(char **error, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int fail(char **error, int code, const char *fmt, ...)
{
    if (error) {
        va_list ap;
        va_start(ap, fmt);
        *error = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
    return code;
}

/* "an integer", "a string", ...: what a user calls the value's type. */
static const char *type_words(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return json_object_get_boolean(v) ? "true" : "false";
    case json_type_int:
        return "an integer";
    case json_type_double:
        return "a fractional number";
    case json_type_string:
        return json_object_get_string_len(v) ? "a string" : "an empty string";
    case json_type_array:
        return "a list";
    case json_type_object:
        return "an object";
    }
    return "something else";
}

/* Find @key (dotted: "tls.ca") in @config. 0 with *out (NULL when absent
 * or null), or -BMQ_ETYPE when an object on the path is something else. */
static int lookup(json_object *config, const char *key, json_object **out, char **error)
{
    *out = NULL;
    json_object *o = config;
    const char *part = key;
    for (;;) {
        if (!o || json_object_is_type(o, json_type_null))
            return 0;
        if (!json_object_is_type(o, json_type_object)) {
            if (part == key)
                return fail(error, -BMQ_ETYPE, "the config: expected an object, got %s",
                            type_words(o));
            return fail(error, -BMQ_ETYPE, "key '%.*s': expected an object, got %s",
                        (int)(part - key - 1), key, type_words(o));
        }
        const char *dot = strchr(part, '.');
        size_t n = dot ? (size_t)(dot - part) : strlen(part);
        char name[256];
        if (n >= sizeof name)
            return fail(error, -BMQ_EINVAL, "key '%s': too long", key);
        memcpy(name, part, n);
        name[n] = '\0';
        json_object *v = NULL;
        if (!json_object_object_get_ex(o, name, &v))
            v = NULL;
        if (!dot) {
            *out = v && !json_object_is_type(v, json_type_null) ? v : NULL;
            return 0;
        }
        o = v;
        part = dot + 1;
    }
}

/* Common start: the member, or a return code (0 when absent and optional,
 * an error when absent and required). *v is NULL unless there is work. */
static int member(json_object *config, const char *key, unsigned flags, const char *expected,
                  json_object **v, char **error)
{
    g_return_val_if_fail(key != NULL, -BMQ_EINVAL);
    int rc = lookup(config, key, v, error);
    if (rc == 0 && !*v && (flags & BMQ_CONFIG_REQUIRED))
        rc = fail(error, -BMQ_EINVAL, "key '%s': missing, expected %s", key, expected);
    return rc;
}

int bmq_config_get_string(json_object *config, const char *key, unsigned flags, char **out,
                          char **error)
{
    g_return_val_if_fail(out != NULL, -BMQ_EINVAL);
    const char *expected = flags & BMQ_CONFIG_NONEMPTY ? "a non-empty string" : "a string";
    json_object *v;
    int rc = member(config, key, flags, expected, &v, error);
    if (rc || !v)
        return rc;
    if (!json_object_is_type(v, json_type_string))
        return fail(error, -BMQ_ETYPE, "key '%s': expected %s, got %s", key, expected,
                    type_words(v));
    if ((flags & BMQ_CONFIG_NONEMPTY) && json_object_get_string_len(v) == 0)
        return fail(error, -BMQ_EINVAL, "key '%s': expected %s, got an empty string", key,
                    expected);
    g_free(*out);
    *out = g_strdup(json_object_get_string(v));
    return 0;
}

/* "an integer", "an integer from 1 to 10", "an integer of at least 0". */
static char *int_expected(int64_t min, int64_t max)
{
    if (min == INT64_MIN && max == INT64_MAX)
        return g_strdup("an integer");
    if (max == INT64_MAX)
        return g_strdup_printf("an integer of at least %" G_GINT64_FORMAT, min);
    if (min == INT64_MIN)
        return g_strdup_printf("an integer of at most %" G_GINT64_FORMAT, max);
    return g_strdup_printf("an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT, min, max);
}

int bmq_config_get_int(json_object *config, const char *key, unsigned flags, int64_t min,
                       int64_t max, int64_t *out, char **error)
{
    g_return_val_if_fail(out != NULL, -BMQ_EINVAL);
    char *expected = int_expected(min, max);
    json_object *v;
    int rc = member(config, key, flags, expected, &v, error);
    if (rc == 0 && v) {
        if (!json_object_is_type(v, json_type_int)) {
            rc = fail(error, -BMQ_ETYPE, "key '%s': expected %s, got %s", key, expected,
                      type_words(v));
        } else {
            /* json-c clamps beyond 64 bits; bmq_json_parse turns those into
             * doubles, so an int here is exact. */
            int64_t n = json_object_get_int64(v);
            if (n < min || n > max)
                rc = fail(error, -BMQ_EINVAL, "key '%s': expected %s, got %" G_GINT64_FORMAT, key,
                          expected, n);
            else
                *out = n;
        }
    }
    g_free(expected);
    return rc;
}

int bmq_config_get_double(json_object *config, const char *key, unsigned flags, double min,
                          double max, double *out, char **error)
{
    g_return_val_if_fail(out != NULL, -BMQ_EINVAL);
    char *expected = isinf(min) && isinf(max) ? g_strdup("a number")
                     : isinf(max)             ? g_strdup_printf("a number of at least %g", min)
                     : isinf(min)             ? g_strdup_printf("a number of at most %g", max)
                                              : g_strdup_printf("a number from %g to %g", min, max);
    json_object *v;
    int rc = member(config, key, flags, expected, &v, error);
    if (rc == 0 && v) {
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
            rc = fail(error, -BMQ_ETYPE, "key '%s': expected %s, got %s", key, expected,
                      type_words(v));
        } else {
            double d = json_object_get_double(v);
            if (!isfinite(d) || d < min || d > max)
                rc = fail(error, -BMQ_EINVAL, "key '%s': expected %s, got %g", key, expected, d);
            else
                *out = d;
        }
    }
    g_free(expected);
    return rc;
}

int bmq_config_get_bool(json_object *config, const char *key, unsigned flags, bool *out,
                        char **error)
{
    g_return_val_if_fail(out != NULL, -BMQ_EINVAL);
    json_object *v;
    int rc = member(config, key, flags, "true or false", &v, error);
    if (rc || !v)
        return rc;
    if (!json_object_is_type(v, json_type_boolean))
        return fail(error, -BMQ_ETYPE, "key '%s': expected true or false, got %s", key,
                    type_words(v));
    *out = json_object_get_boolean(v);
    return 0;
}

int bmq_config_get_strv(json_object *config, const char *key, unsigned flags, char ***out,
                        char **error)
{
    g_return_val_if_fail(out != NULL, -BMQ_EINVAL);
    const char *expected = flags & BMQ_CONFIG_NONEMPTY ? "a string or a non-empty list of strings"
                                                       : "a string or a list of strings";
    json_object *v;
    int rc = member(config, key, flags, expected, &v, error);
    if (rc || !v)
        return rc;
    char **list = NULL;
    if (json_object_is_type(v, json_type_string)) {
        list = g_new0(char *, 2);
        list[0] = g_strdup(json_object_get_string(v));
    } else if (json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        if (n == 0 && (flags & BMQ_CONFIG_NONEMPTY))
            return fail(error, -BMQ_EINVAL, "key '%s': expected %s, got an empty list", key,
                        expected);
        list = g_new0(char *, n + 1);
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(v, i);
            if (!json_object_is_type(e, json_type_string)) {
                g_strfreev(list);
                return fail(error, -BMQ_ETYPE, "key '%s': expected %s, got %s at [%zu]", key,
                            expected, type_words(e), i);
            }
            list[i] = g_strdup(json_object_get_string(e));
        }
    } else {
        return fail(error, -BMQ_ETYPE, "key '%s': expected %s, got %s", key, expected,
                    type_words(v));
    }
    g_strfreev(*out);
    *out = list;
    return 0;
}

int bmq_config_check_keys(json_object *config, const char *const *known, char **error)
{
    g_return_val_if_fail(known != NULL, -BMQ_EINVAL);
    if (!config || json_object_is_type(config, json_type_null))
        return 0;
    if (!json_object_is_type(config, json_type_object))
        return fail(error, -BMQ_ETYPE, "the config: expected an object, got %s",
                    type_words(config));
    json_object_object_foreach(config, key, val)
    {
        (void)val;
        if (!g_strv_contains(known, key)) {
            char *list = g_strjoinv(", ", (char **)known);
            int rc = fail(error, -BMQ_EINVAL, "unknown key '%s' (known: %s)", key, list);
            g_free(list);
            return rc;
        }
    }
    return 0;
}
