/* template.c - title/text templates for forwarded messages, and UTF-8
 * clipping shared by the wire formats.
 *
 * Placeholders: {id} {name} {action} {args} {kwargs} {args[N]} {kwargs.KEY}.
 * JSON values render "readably" like the original Python adapter did with
 * str(): strings bare, arrays "[a, b]", objects "{k:v}".
 */
#include "growl_proto.h"

#include <stdlib.h>
#include <string.h>

#define MAX_KEY   256
#define MAX_DEPTH 32

char *growl__utf8_clip(const char *s, size_t max)
{
    if (!s)
        return g_strdup("");
    char *v = g_utf8_make_valid(s, -1);
    size_t n = strlen(v);
    if (n > max) {
        /* Step back over continuation bytes to a character start. */
        size_t cut = max;
        while (cut > 0 && ((unsigned char)v[cut] & 0xC0) == 0x80)
            cut--;
        v[cut] = '\0';
    }
    return v;
}

static void readable(GString *out, json_object *o, int depth)
{
    if (depth > MAX_DEPTH) {
        g_string_append(out, "...");
        return;
    }
    switch (json_object_get_type(o)) {
    case json_type_null:
        g_string_append(out, "null");
        break;
    case json_type_string:
        g_string_append_len(out, json_object_get_string(o), json_object_get_string_len(o));
        break;
    case json_type_array: {
        size_t n = json_object_array_length(o);
        g_string_append_c(out, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                g_string_append(out, ", ");
            readable(out, json_object_array_get_idx(o, i), depth + 1);
        }
        g_string_append_c(out, ']');
        break;
    }
    case json_type_object: {
        bool first = true;
        g_string_append_c(out, '{');
        json_object_object_foreach(o, k, v)
        {
            if (!first)
                g_string_append(out, ", ");
            first = false;
            g_string_append(out, k);
            g_string_append_c(out, ':');
            readable(out, v, depth + 1);
        }
        g_string_append_c(out, '}');
        break;
    }
    default:
        g_string_append(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        break;
    }
}

char *growl__json_readable(json_object *o)
{
    GString *s = g_string_new(NULL);
    readable(s, o, 0);
    return g_string_free(s, FALSE);
}

typedef struct tctx {
    const char *id, *name, *action;
    json_object *args, *kwargs;
} tctx;

static void expand(GString *out, const char *key, const tctx *c)
{
    if (!strcmp(key, "id"))
        g_string_append(out, c->id ? c->id : "");
    else if (!strcmp(key, "name"))
        g_string_append(out, c->name ? c->name : "");
    else if (!strcmp(key, "action"))
        g_string_append(out, c->action ? c->action : "");
    else if (!strcmp(key, "args"))
        readable(out, c->args ? c->args : NULL, 0);
    else if (!strcmp(key, "kwargs"))
        readable(out, c->kwargs, 0);
    else if (!strncmp(key, "args[", 5) && c->args &&
             json_object_is_type(c->args, json_type_array)) {
        char *end = NULL;
        long idx = strtol(key + 5, &end, 10);
        if (end && end != key + 5 && end[0] == ']' && end[1] == '\0' && idx >= 0 &&
            (size_t)idx < json_object_array_length(c->args))
            readable(out, json_object_array_get_idx(c->args, (size_t)idx), 0);
    } else if (!strncmp(key, "kwargs.", 7) && c->kwargs &&
               json_object_is_type(c->kwargs, json_type_object)) {
        json_object *v = NULL;
        if (json_object_object_get_ex(c->kwargs, key + 7, &v))
            readable(out, v, 0);
    }
}

char *growl__template_render(const char *tmpl, const char *id, const char *name, const char *action,
                             json_object *args, json_object *kwargs)
{
    tctx c = {id, name, action, args, kwargs};
    GString *out = g_string_new(NULL);
    for (const char *p = tmpl ? tmpl : ""; *p;) {
        if (p[0] == '{' && p[1] == '{') {
            g_string_append_c(out, '{');
            p += 2;
        } else if (p[0] == '}' && p[1] == '}') {
            g_string_append_c(out, '}');
            p += 2;
        } else if (p[0] == '{') {
            const char *close = strchr(p + 1, '}');
            const char *open = strchr(p + 1, '{');
            if (!close || (open && open < close) || (size_t)(close - p - 1) > MAX_KEY) {
                g_string_append_c(out, *p++);
                continue;
            }
            char *key = g_strndup(p + 1, (gsize)(close - p - 1));
            expand(out, key, &c);
            g_free(key);
            p = close + 1;
        } else {
            g_string_append_c(out, *p++);
        }
    }
    char *s = g_string_free(out, FALSE);
    char *v = growl__utf8_clip(s, 65536);
    g_free(s);
    return v;
}
