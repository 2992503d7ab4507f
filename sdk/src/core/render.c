/* render.c - bmq_message_render: a message as text for people, read from
 * the message's cached JSON text so that any thread may render any message
 * (json-c's serializer writes into the shared objects; see berrymq.h). */
#include <string.h>

#include <glib.h>

#include <berrymq/berrymq.h>

#include "json_scan.h"

/* Deeper than any message the library accepts. */
#define RENDER_MAX_DEPTH 1000

/* Append the value t[i..end) to @out: a string decoded, anything else as
 * its JSON text. */
static void append_value(GString *out, const char *t, size_t len, size_t i, size_t end)
{
    if (t[i] != '"') {
        g_string_append_len(out, t + i, (gssize)(end - i));
        return;
    }
    size_t at = out->len;
    g_string_set_size(out, at + (end - i));
    size_t n = json_scan__decode(t, len, i, out->str + at);
    g_string_truncate(out, at + n);
}

static bool skipped(const char *key, const char *const *skip)
{
    for (; skip && *skip; skip++)
        if (strcmp(key, *skip) == 0)
            return true;
    return false;
}

static void render_args(GString *out, const char *t)
{
    size_t len = strlen(t), i = json_scan__skip_space(t, len, 0);
    if (i >= len || t[i] != '[')
        return;
    for (bool first = true;; first = false) {
        i = json_scan__skip_space(t, len, i + 1);
        if (i >= len || t[i] == ']')
            return;
        size_t end = json_scan__value(t, len, i, RENDER_MAX_DEPTH);
        if (!end)
            return;
        if (!first)
            g_string_append_c(out, ' ');
        append_value(out, t, len, i, end);
        i = json_scan__skip_space(t, len, end);
        if (i >= len || t[i] != ',')
            return;
    }
}

static void render_kwargs(GString *out, const char *t, const char *const *skip)
{
    size_t len = strlen(t), i = json_scan__skip_space(t, len, 0);
    if (i >= len || t[i] != '{')
        return;
    GString *key = g_string_new(NULL);
    for (;;) {
        i = json_scan__skip_space(t, len, i + 1);
        if (i >= len || t[i] != '"')
            break;
        size_t kend = json_scan__string(t, len, i, NULL);
        if (!kend)
            break;
        g_string_set_size(key, kend - i);
        g_string_truncate(key, json_scan__decode(t, len, i, key->str));
        i = json_scan__skip_space(t, len, kend);
        if (i >= len || t[i] != ':')
            break;
        i = json_scan__skip_space(t, len, i + 1);
        size_t end = json_scan__value(t, len, i, RENDER_MAX_DEPTH);
        if (!end)
            break;
        if (!skipped(key->str, skip)) {
            if (out->len)
                g_string_append_c(out, '\n');
            g_string_append_len(out, key->str, (gssize)key->len);
            g_string_append(out, ": ");
            append_value(out, t, len, i, end);
        }
        i = json_scan__skip_space(t, len, end);
        if (i >= len || t[i] != ',')
            break;
    }
    g_string_free(key, TRUE);
}

char *bmq_message_render(const bmq_message *m, const char *const *skip)
{
    g_return_val_if_fail(m != NULL, NULL);
    GString *out = g_string_new(NULL);
    const char *args = bmq_message_args_json(m);
    const char *kwargs = bmq_message_kwargs_json(m);
    if (args)
        render_args(out, args);
    if (kwargs)
        render_kwargs(out, kwargs, skip);
    return g_string_free(out, FALSE);
}
