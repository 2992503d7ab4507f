/* options.c - the "history" key of hub.json, durations, sizes, times. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

void history_opts_default(history_opts *o)
{
    o->enabled = true;
    o->max_age_s = 7 * 86400;
    o->max_messages = 1000000;
    o->max_bytes = 256 * 1024 * 1024;
    o->sync = HISTORY_SYNC_NORMAL;
}

/* A number followed by an optional unit from @units (name, factor). */
static int64_t parse_scaled(const char *s, const char *const *names, const int64_t *factors,
                            size_t n)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0 || v != v)
        return -1;
    while (*end == ' ')
        end++;
    int64_t f = 1;
    if (*end) {
        size_t i = 0;
        while (i < n && g_ascii_strcasecmp(end, names[i]) != 0)
            i++;
        if (i == n)
            return -1;
        f = factors[i];
    }
    double r = v * (double)f;
    if (r > (double)INT64_MAX / 2)
        return -1;
    return (int64_t)r;
}

int64_t history_parse_duration(const char *s)
{
    static const char *const names[] = {"s", "m", "min", "h", "d", "w"};
    static const int64_t f[] = {1, 60, 60, 3600, 86400, 7 * 86400};
    return parse_scaled(s, names, f, G_N_ELEMENTS(f));
}

int64_t history_parse_bytes(const char *s)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "KB", "MB", "GB", "K", "M", "G"};
    static const int64_t f[] = {1,       1 << 10,    1 << 20, 1 << 30, 1000,
                                1000000, 1000000000, 1 << 10, 1 << 20, 1 << 30};
    return parse_scaled(s, names, f, G_N_ELEMENTS(f));
}

char *history_format_time(int64_t time_us)
{
    GDateTime *t = g_date_time_new_from_unix_utc(time_us / G_USEC_PER_SEC);
    if (!t)
        return g_strdup("");
    char *base = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");
    char *r = g_strdup_printf("%s.%03dZ", base, (int)((time_us % G_USEC_PER_SEC) / 1000));
    g_free(base);
    g_date_time_unref(t);
    return r;
}

/* A limit given as a number or as text parsed by @parse; 0 = none. */
static bool limit_value(json_object *v, int64_t (*parse)(const char *), int64_t *out)
{
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return *out >= 0;
    }
    if (json_object_is_type(v, json_type_string) && parse) {
        *out = parse(json_object_get_string(v));
        return *out >= 0;
    }
    if (!v) { /* null: no limit */
        *out = 0;
        return true;
    }
    return false;
}

int history_opts_parse(json_object *v, history_opts *o, char **error)
{
    history_opts_default(o);
    if (!v)
        return 0;
    if (json_object_is_type(v, json_type_boolean)) {
        o->enabled = json_object_get_boolean(v);
        return 0;
    }
    if (!json_object_is_type(v, json_type_object)) {
        *error = g_strdup("expected true, false or an object {enabled, max_age, max_messages, max_bytes, sync}");
        return -1;
    }
    json_object_object_foreach(v, k, x)
    {
        if (k[0] == '_')
            continue;
        if (strcmp(k, "max_age") == 0) {
            if (!limit_value(x, history_parse_duration, &o->max_age_s)) {
                *error = g_strdup("max_age: expected seconds or a duration like \"7d\", \"12h\"");
                return -1;
            }
        } else if (strcmp(k, "max_messages") == 0) {
            if (!limit_value(x, NULL, &o->max_messages)) {
                *error = g_strdup("max_messages: expected a count (0 or null: no limit)");
                return -1;
            }
        } else if (strcmp(k, "max_bytes") == 0) {
            if (!limit_value(x, history_parse_bytes, &o->max_bytes)) {
                *error = g_strdup("max_bytes: expected bytes or a size like \"256MiB\"");
                return -1;
            }
        } else if (strcmp(k, "sync") == 0) {
            const char *s =
                json_object_is_type(x, json_type_string) ? json_object_get_string(x) : "";
            if (strcmp(s, "normal") == 0)
                o->sync = HISTORY_SYNC_NORMAL;
            else if (strcmp(s, "full") == 0)
                o->sync = HISTORY_SYNC_FULL;
            else if (strcmp(s, "off") == 0)
                o->sync = HISTORY_SYNC_OFF;
            else {
                *error = g_strdup("sync: expected \"normal\", \"full\" or \"off\"");
                return -1;
            }
        } else if (strcmp(k, "enabled") == 0) {
            if (!json_object_is_type(x, json_type_boolean)) {
                *error = g_strdup("enabled: expected true or false");
                return -1;
            }
            o->enabled = json_object_get_boolean(x);
        } else {
            *error = g_strdup_printf(
                "%s: unknown key (known: max_age, max_messages, max_bytes, sync, enabled)", k);
            return -1;
        }
    }
    return 0;
}
