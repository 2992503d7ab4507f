/* mqtt_json.c - JSON text of a message's args/kwargs for the MQTT payload.
 *
 * json-c's printer costs about as much as the rest of the publish path
 * together, and it writes into a buffer inside the object it prints, so two
 * threads printing the same (shared, immutable) message would race. This
 * printer only reads the objects. Output is strict JSON: NaN and the
 * infinities, which json-c would print as bare words, become null. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mqtt_map.h"

void mqtt_json__append_string(GString *s, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    g_string_append_c(s, '"');
    size_t run = 0; /* bytes copied as they are, appended in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        g_string_append_len(s, p + i - run, (gssize)run);
        run = 0;
        switch (c) {
        case '"':
            g_string_append(s, "\\\"");
            break;
        case '\\':
            g_string_append(s, "\\\\");
            break;
        case '\n':
            g_string_append(s, "\\n");
            break;
        case '\r':
            g_string_append(s, "\\r");
            break;
        case '\t':
            g_string_append(s, "\\t");
            break;
        case '\b':
            g_string_append(s, "\\b");
            break;
        case '\f':
            g_string_append(s, "\\f");
            break;
        default:
            g_string_append(s, "\\u00");
            g_string_append_c(s, hex[c >> 4]);
            g_string_append_c(s, hex[c & 15]);
        }
    }
    g_string_append_len(s, p + n - run, (gssize)run);
    g_string_append_c(s, '"');
}

static void append_uint(GString *s, uint64_t v, bool negative)
{
    char buf[24], *p = buf + sizeof buf;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (negative)
        *--p = '-';
    g_string_append_len(s, p, buf + sizeof buf - p);
}

static void append_double(GString *s, double d)
{
    if (!isfinite(d)) {
        g_string_append(s, "null");
        return;
    }
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%.17g", d);
    g_string_append_len(s, buf, n);
    if (strpbrk(buf, ".eE") == NULL)
        g_string_append(s, ".0"); /* stays a double when read back */
}

void mqtt_json__append(GString *s, json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_null:
        g_string_append(s, "null");
        break;
    case json_type_boolean:
        g_string_append(s, json_object_get_boolean(o) ? "true" : "false");
        break;
    case json_type_int: {
        int64_t v = json_object_get_int64(o);
        if (v == INT64_MAX) /* maybe a larger unsigned value, clamped */
            append_uint(s, json_object_get_uint64(o), false);
        else
            append_uint(s, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
        break;
    }
    case json_type_double:
        append_double(s, json_object_get_double(o));
        break;
    case json_type_string:
        mqtt_json__append_string(s, json_object_get_string(o),
                                 (size_t)json_object_get_string_len(o));
        break;
    case json_type_array: {
        size_t n = json_object_array_length(o);
        g_string_append_c(s, '[');
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                g_string_append_c(s, ',');
            mqtt_json__append(s, json_object_array_get_idx(o, i));
        }
        g_string_append_c(s, ']');
        break;
    }
    case json_type_object: {
        bool first = true;
        g_string_append_c(s, '{');
        json_object_object_foreach(o, key, val)
        {
            if (!first)
                g_string_append_c(s, ',');
            first = false;
            mqtt_json__append_string(s, key, strlen(key));
            g_string_append_c(s, ':');
            mqtt_json__append(s, val);
        }
        g_string_append_c(s, '}');
        break;
    }
    }
}
