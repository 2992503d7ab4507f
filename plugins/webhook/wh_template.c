/* wh_template.c - body templates for the "template" format.
 *
 * The syntax is the replacement-field part of Python's str.format (PEP
 * 3101), which many users know from Python and which other tools (Home
 * Assistant, Apprise) use for the same job:
 *   {field}         the value of field as text
 *   {field!json}    the value as a JSON value (strings quoted)
 *   {{ and }}       a literal { and }
 * A field is a base name followed by any number of ".key" or "[index]"
 * steps into args and kwargs: {args[0]}, {kwargs.title}, {kwargs[a b]},
 * {kwargs.user.name}. Base names: id name action title body args kwargs
 * time hub. A value that is absent or null is empty (null with !json);
 * strings are inserted as they are, other values as compact JSON. When the
 * content type is JSON, every {field} is escaped for the inside of a JSON
 * string, so '{"text": "{body}"}' stays valid whatever the body holds.
 */
#include <stdlib.h>
#include <string.h>

#include "webhook.h"

typedef enum {
    F_ID,
    F_NAME,
    F_ACTION,
    F_TITLE,
    F_BODY,
    F_ARGS,
    F_KWARGS,
    F_TIME,
    F_HUB,
} field_base;

static const char *const base_names[] = {"id",   "name",   "action", "title", "body",
                                         "args", "kwargs", "time",   "hub",   NULL};

typedef struct step {
    char *key;  /* object member; also the text of an index */
    long index; /* array index, -1 when the step is not a number */
} step;

typedef struct seg {
    bool literal;
    char *text; /* literal text */
    field_base base;
    GArray *steps; /* step, nullable */
    bool as_json;
} seg;

struct wh_template {
    GArray *segs; /* seg */
};

static void seg_clear(gpointer p)
{
    seg *s = p;
    g_free(s->text);
    if (s->steps) {
        for (guint i = 0; i < s->steps->len; i++)
            g_free(g_array_index(s->steps, step, i).key);
        g_array_free(s->steps, TRUE);
    }
}

void wh__template_free(wh_template *t)
{
    if (!t)
        return;
    g_array_free(t->segs, TRUE);
    g_free(t);
}

static void add_literal(wh_template *t, GString *lit)
{
    if (lit->len == 0)
        return;
    seg s = {.literal = true, .text = g_strndup(lit->str, lit->len)};
    g_array_append_val(t->segs, s);
    g_string_truncate(lit, 0);
}

static void add_step(seg *s, const char *key, size_t n)
{
    if (!s->steps)
        s->steps = g_array_new(FALSE, FALSE, sizeof(step));
    step st = {.key = g_strndup(key, n), .index = -1};
    char *end = NULL;
    if (n > 0 && g_ascii_isdigit(key[0])) {
        long v = strtol(st.key, &end, 10);
        if (end && *end == '\0')
            st.index = v;
    }
    g_array_append_val(s->steps, st);
}

/* Parse the inside of one {...} (@f, @n bytes) into @s. */
static bool parse_field(const char *f, size_t n, seg *s, char **error)
{
    const char *bang = memchr(f, '!', n);
    size_t fl = bang ? (size_t)(bang - f) : n;
    if (bang) {
        if (n - fl - 1 != 4 || strncmp(bang + 1, "json", 4) != 0) {
            *error =
                g_strdup_printf("unknown conversion \"%.*s\" (only !json)", (int)(n - fl), bang);
            return false;
        }
        s->as_json = true;
    }
    size_t bl = strcspn(f, ".[!}");
    if (bl > fl)
        bl = fl;
    int base = -1;
    for (int i = 0; base_names[i]; i++)
        if (strlen(base_names[i]) == bl && strncmp(base_names[i], f, bl) == 0)
            base = i;
    if (base < 0) {
        *error = g_strdup_printf("unknown field \"%.*s\" (known: id, name, action, title, body, "
                                 "args, kwargs, time, hub)",
                                 (int)fl, f);
        return false;
    }
    s->base = (field_base)base;
    size_t i = bl;
    while (i < fl) {
        if (f[i] == '.') {
            size_t k = strcspn(f + i + 1, ".[]");
            if (i + 1 + k > fl)
                k = fl - i - 1;
            if (k == 0) {
                *error = g_strdup_printf("empty key after '.' in \"%.*s\"", (int)fl, f);
                return false;
            }
            add_step(s, f + i + 1, k);
            i += 1 + k;
        } else if (f[i] == '[') {
            const char *close = memchr(f + i, ']', fl - i);
            if (!close || close == f + i + 1) {
                *error = g_strdup_printf("bad index in \"%.*s\"", (int)fl, f);
                return false;
            }
            add_step(s, f + i + 1, (size_t)(close - (f + i + 1)));
            i = (size_t)(close - f) + 1;
        } else {
            *error = g_strdup_printf("unexpected '%c' in \"%.*s\"", f[i], (int)fl, f);
            return false;
        }
    }
    if (s->steps && s->base != F_ARGS && s->base != F_KWARGS) {
        *error = g_strdup_printf("only args and kwargs have members (\"%.*s\")", (int)fl, f);
        return false;
    }
    return true;
}

wh_template *wh__template_compile(const char *text, char **error)
{
    wh_template *t = g_new0(wh_template, 1);
    t->segs = g_array_new(FALSE, TRUE, sizeof(seg));
    g_array_set_clear_func(t->segs, seg_clear);
    GString *lit = g_string_new(NULL);
    const char *p = text;
    bool ok = true;
    while (ok && *p) {
        if (p[0] == '{' && p[1] == '{') {
            g_string_append_c(lit, '{');
            p += 2;
        } else if (p[0] == '}' && p[1] == '}') {
            g_string_append_c(lit, '}');
            p += 2;
        } else if (p[0] == '}') {
            *error = g_strdup_printf("single '}' at offset %ld (write }} for a brace)",
                                     (long)(p - text));
            ok = false;
        } else if (p[0] == '{') {
            const char *close = strchr(p + 1, '}');
            const char *open = strchr(p + 1, '{');
            if (!close || (open && open < close)) {
                *error = g_strdup_printf("unclosed '{' at offset %ld (write {{ for a brace)",
                                         (long)(p - text));
                ok = false;
                break;
            }
            add_literal(t, lit);
            seg s = {0};
            ok = parse_field(p + 1, (size_t)(close - p - 1), &s, error);
            if (ok)
                g_array_append_val(t->segs, s);
            else
                seg_clear(&s);
            p = close + 1;
        } else {
            g_string_append_c(lit, *p++);
        }
    }
    if (ok)
        add_literal(t, lit);
    g_string_free(lit, TRUE);
    if (!ok) {
        wh__template_free(t);
        return NULL;
    }
    return t;
}

static json_object *walk(json_object *v, GArray *steps)
{
    for (guint i = 0; v && steps && i < steps->len; i++) {
        const step *st = &g_array_index(steps, step, i);
        if (json_object_is_type(v, json_type_array)) {
            if (st->index < 0 || (size_t)st->index >= json_object_array_length(v))
                return NULL;
            v = json_object_array_get_idx(v, (size_t)st->index);
        } else if (json_object_is_type(v, json_type_object)) {
            if (!json_object_object_get_ex(v, st->key, &v))
                return NULL;
        } else {
            return NULL;
        }
    }
    return v;
}

static void append_json_string(GString *out, const char *s, bool quotes)
{
    json_object *o = json_object_new_string(s);
    const char *t =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t n = strlen(t);
    if (quotes)
        g_string_append_len(out, t, (gssize)n);
    else
        g_string_append_len(out, t + 1, (gssize)n - 2);
    json_object_put(o);
}

static const char *base_string(const wh_fields *f, field_base b)
{
    switch (b) {
    case F_ID:
        return f->id;
    case F_NAME:
        return f->name;
    case F_ACTION:
        return f->action;
    case F_TITLE:
        return f->title;
    case F_BODY:
        return f->body;
    case F_HUB:
        return f->hub;
    default:
        return NULL;
    }
}

static void render_field(GString *out, const seg *s, const wh_fields *f, bool json_escape)
{
    if (s->base == F_TIME) {
        g_string_append_printf(out, "%.3f", f->time);
        return;
    }
    if (s->base == F_ARGS || s->base == F_KWARGS) {
        json_object *v = walk(s->base == F_ARGS ? f->args : f->kwargs, s->steps);
        if (s->as_json) {
            g_string_append(out, v ? json_object_to_json_string_ext(
                                         v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                                   : "null");
            return;
        }
        char *text = wh__json_text(v);
        if (json_escape)
            append_json_string(out, text, false);
        else
            g_string_append(out, text);
        g_free(text);
        return;
    }
    const char *v = base_string(f, s->base);
    if (s->as_json)
        append_json_string(out, v ? v : "", true);
    else if (json_escape)
        append_json_string(out, v ? v : "", false);
    else
        g_string_append(out, v ? v : "");
}

char *wh__template_render(const wh_template *t, const wh_fields *f, bool json_escape)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < t->segs->len; i++) {
        const seg *s = &g_array_index(t->segs, seg, i);
        if (s->literal)
            g_string_append(out, s->text);
        else
            render_field(out, s, f, json_escape);
    }
    return g_string_free(out, FALSE);
}
