/* cap_parse.c - the parsing core of the capture plugin: one Notify call
 * body to a bounded, UTF-8-clean cap_note, the config's verdict on it, and
 * the kwargs of the message it becomes. No bus, no host: see capture.h. */
#include "capture.h"

#include <string.h>

/* Hints that have a field (or a deliberate absence) of their own and are
 * not repeated in kwargs.hints. */
static const char *const known_hints[] = {
    "urgency",   "category",   "desktop-entry", "image-data",     "image_data",
    "icon_data", "image-path", "image_path",    CAPTURE_OWN_HINT, NULL,
};

/* A bounded scan: a body with more hints than this is cut (counted). */
#define HINTS_SCAN_MAX 4096

/* @s (length @len, not necessarily valid or NUL-free) as valid UTF-8 of at
 * most @max bytes, cut at a character boundary (transfer full). *cut is
 * incremented when anything was lost. */
static char *clip(const char *s, gsize len, gsize max, unsigned *cut)
{
    /* g_utf8_validate_len refuses embedded NULs, and g_utf8_make_valid
     * turns them (like any invalid byte) into U+FFFD. */
    char *v =
        g_utf8_validate_len(s, len, NULL) ? g_strndup(s, len) : g_utf8_make_valid(s, (gssize)len);
    gsize n = strlen(v);
    if (n > max) {
        const char *end = v + max;
        /* Back up to the start of the character that crosses the bound. */
        while (end > v && ((unsigned char)*end & 0xC0) == 0x80)
            end--;
        v[end - v] = '\0';
        (*cut)++;
    }
    return v;
}

static char *clip_str(GVariant *v, gsize max, unsigned *cut)
{
    gsize len = 0;
    const char *s = g_variant_get_string(v, &len);
    return clip(s, len, max, cut);
}

static char *child_str(GVariant *tuple, gsize i, gsize max, unsigned *cut)
{
    GVariant *v = g_variant_get_child_value(tuple, i);
    char *s = clip_str(v, max, cut);
    g_variant_unref(v);
    return s;
}

char *capture__id_part(const char *s, size_t max)
{
    unsigned cut = 0;
    char *v = clip(s ? s : "", s ? strlen(s) : 0, max, &cut);
    for (char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f || c == ':' || c == '@' || c == '*')
            *p = '_';
    }
    if (!*v) {
        g_free(v);
        v = g_strdup("unknown");
    }
    /* A leading '_' would make a local message (_notify:captured), which
     * only the hub itself sends: '@App' or '_App' become '-App'. */
    if (v[0] == '_')
        v[0] = '-';
    return v;
}

const char *capture__urgency_name(cap_urgency u)
{
    switch (u) {
    case CAP_URGENCY_LOW:
        return "low";
    case CAP_URGENCY_CRITICAL:
        return "critical";
    default:
        return "normal";
    }
}

bool capture__urgency_parse(json_object *v, cap_urgency *out)
{
    if (json_object_is_type(v, json_type_int)) {
        int64_t u = json_object_get_int64(v);
        if (u < 0 || u > 2)
            return false;
        *out = (cap_urgency)u;
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    for (int u = CAP_URGENCY_LOW; u <= CAP_URGENCY_CRITICAL; u++)
        if (g_ascii_strcasecmp(s, capture__urgency_name((cap_urgency)u)) == 0) {
            *out = (cap_urgency)u;
            return true;
        }
    return false;
}

const char *capture__reason_name(uint32_t reason)
{
    switch (reason) {
    case 1:
        return "expired";
    case 2:
        return "dismissed";
    case 3:
        return "closed";
    default:
        return "undefined";
    }
}

/* An integer hint of any D-Bus integer type (urgency is a byte by the
 * specification; some senders use int32). */
static bool int_value(GVariant *v, int64_t *out)
{
    switch (g_variant_classify(v)) {
    case G_VARIANT_CLASS_BYTE:
        *out = g_variant_get_byte(v);
        return true;
    case G_VARIANT_CLASS_INT16:
        *out = g_variant_get_int16(v);
        return true;
    case G_VARIANT_CLASS_UINT16:
        *out = g_variant_get_uint16(v);
        return true;
    case G_VARIANT_CLASS_INT32:
        *out = g_variant_get_int32(v);
        return true;
    case G_VARIANT_CLASS_UINT32:
        *out = g_variant_get_uint32(v);
        return true;
    case G_VARIANT_CLASS_INT64:
        *out = g_variant_get_int64(v);
        return true;
    case G_VARIANT_CLASS_UINT64:
        *out = (int64_t)MIN(g_variant_get_uint64(v), (guint64)G_MAXINT64);
        return true;
    default:
        return false;
    }
}

/* A hint of a simple type as JSON (transfer full), or NULL. */
static json_object *hint_json(GVariant *v, unsigned *cut)
{
    int64_t i;
    switch (g_variant_classify(v)) {
    case G_VARIANT_CLASS_BOOLEAN:
        return json_object_new_boolean(g_variant_get_boolean(v));
    case G_VARIANT_CLASS_DOUBLE:
        return json_object_new_double(g_variant_get_double(v));
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH: {
        char *s = clip_str(v, CAPTURE_HINT_TEXT_MAX, cut);
        json_object *o = json_object_new_string(s);
        g_free(s);
        return o;
    }
    default:
        return int_value(v, &i) ? json_object_new_int64(i) : NULL;
    }
}

static bool is_known_hint(const char *key)
{
    for (const char *const *k = known_hints; *k; k++)
        if (strcmp(key, *k) == 0)
            return true;
    return false;
}

static void read_hint(cap_note *n, const char *key, GVariant *v, bool keep_image, char **image_path)
{
    int64_t i;
    if (strcmp(key, CAPTURE_OWN_HINT) == 0) {
        n->own = true;
    } else if (strcmp(key, "urgency") == 0) {
        if (int_value(v, &i))
            n->urgency = i <= 0   ? CAP_URGENCY_LOW
                         : i >= 2 ? CAP_URGENCY_CRITICAL
                                  : CAP_URGENCY_NORMAL;
    } else if (strcmp(key, "category") == 0 || strcmp(key, "desktop-entry") == 0) {
        if (!g_variant_is_of_type(v, G_VARIANT_TYPE_STRING))
            return;
        char **slot = key[0] == 'c' ? &n->category : &n->desktop_entry;
        g_free(*slot);
        *slot = clip_str(v, CAPTURE_APP_MAX, &n->truncated);
    } else if (strcmp(key, "image-path") == 0 || strcmp(key, "image_path") == 0) {
        if (!g_variant_is_of_type(v, G_VARIANT_TYPE_STRING))
            return;
        g_free(*image_path);
        *image_path = clip_str(v, CAPTURE_APP_MAX, &n->truncated);
    } else if (strcmp(key, "image-data") == 0 || strcmp(key, "image_data") == 0 ||
               strcmp(key, "icon_data") == 0) {
        if (!g_variant_is_of_type(v, G_VARIANT_TYPE("(iiibiiay)")))
            return;
        gsize size = g_variant_get_size(v);
        n->image_bytes = size;
        /* The newest name wins when a sender gives several. */
        if (keep_image && size <= CAPTURE_IMAGE_MAX &&
            (!n->image || strcmp(key, "image-data") == 0)) {
            if (n->image)
                g_variant_unref(n->image);
            n->image = g_variant_ref(v);
        } else if (keep_image && size > CAPTURE_IMAGE_MAX) {
            n->truncated++;
        }
    }
}

cap_note *capture__note_parse(GVariant *body, bool keep_image)
{
    if (!body || !g_variant_is_of_type(body, G_VARIANT_TYPE("(susssasa{sv}i)")))
        return NULL;
    cap_note *n = g_new0(cap_note, 1);
    n->urgency = CAP_URGENCY_NORMAL;
    n->app = child_str(body, 0, CAPTURE_APP_MAX, &n->truncated);
    g_variant_get_child(body, 1, "u", &n->replaces);
    char *app_icon = child_str(body, 2, CAPTURE_APP_MAX, &n->truncated);
    n->title = child_str(body, 3, CAPTURE_TITLE_MAX, &n->truncated);
    n->body = child_str(body, 4, CAPTURE_BODY_MAX, &n->truncated);
    g_variant_get_child(body, 7, "i", &n->timeout);
    n->app_part = capture__id_part(n->app, CAPTURE_ID_PART_MAX);

    n->actions = g_ptr_array_new_with_free_func(g_free);
    GVariant *acts = g_variant_get_child_value(body, 5);
    gsize na = g_variant_n_children(acts);
    if (na / 2 > CAPTURE_ACTIONS_MAX)
        n->truncated++;
    for (gsize i = 0; i + 1 < na && i / 2 < CAPTURE_ACTIONS_MAX; i += 2) {
        g_ptr_array_add(n->actions, child_str(acts, i, CAPTURE_APP_MAX, &n->truncated));
        g_ptr_array_add(n->actions, child_str(acts, i + 1, CAPTURE_APP_MAX, &n->truncated));
    }
    g_variant_unref(acts);

    char *image_path = NULL;
    GVariant *hints = g_variant_get_child_value(body, 6);
    gsize nh = g_variant_n_children(hints);
    if (nh > HINTS_SCAN_MAX)
        n->truncated++;
    for (gsize i = 0; i < nh && i < HINTS_SCAN_MAX; i++) {
        GVariant *entry = g_variant_get_child_value(hints, i);
        GVariant *k = g_variant_get_child_value(entry, 0);
        GVariant *boxed = g_variant_get_child_value(entry, 1);
        GVariant *v = g_variant_get_variant(boxed);
        const char *key = g_variant_get_string(k, NULL);
        if (is_known_hint(key)) {
            read_hint(n, key, v, keep_image, &image_path);
        } else if (n->hints && json_object_object_length(n->hints) >= CAPTURE_HINTS_MAX) {
            n->truncated++;
        } else {
            json_object *j = hint_json(v, &n->truncated);
            if (j) {
                if (!n->hints)
                    n->hints = json_object_new_object();
                char *kc = clip_str(k, 64, &n->truncated);
                json_object_object_add(n->hints, kc, j);
                g_free(kc);
            }
        }
        g_variant_unref(v);
        g_variant_unref(boxed);
        g_variant_unref(k);
        g_variant_unref(entry);
    }
    g_variant_unref(hints);

    if (*app_icon) {
        n->icon = app_icon;
        g_free(image_path);
    } else {
        g_free(app_icon);
        n->icon = image_path && *image_path ? image_path : NULL;
        if (!n->icon)
            g_free(image_path);
    }
    return n;
}

void capture__note_free(cap_note *n)
{
    if (!n)
        return;
    g_free(n->app);
    g_free(n->app_part);
    g_free(n->icon);
    g_free(n->title);
    g_free(n->body);
    g_free(n->category);
    g_free(n->desktop_entry);
    g_ptr_array_unref(n->actions);
    if (n->hints)
        json_object_put(n->hints);
    if (n->image)
        g_variant_unref(n->image);
    g_free(n);
}

static bool app_in(const GPtrArray *globs, const cap_note *n)
{
    if (!globs)
        return false;
    char *folded = g_utf8_casefold(n->app, -1);
    gsize len = strlen(folded);
    bool hit = false;
    for (guint i = 0; i < globs->len && !hit; i++)
        hit = g_pattern_spec_match(globs->pdata[i], len, folded, NULL);
    g_free(folded);
    return hit;
}

cap_verdict capture__verdict(const cap_config *cfg, const cap_note *n)
{
    if (n->own)
        return CAP_SKIP_OWN;
    if (app_in(cfg->ignore_apps, n))
        return CAP_SKIP_IGNORED;
    if (cfg->only_apps && !app_in(cfg->only_apps, n))
        return CAP_SKIP_NOT_ONLY;
    if (n->urgency < cfg->urgency_min)
        return CAP_SKIP_URGENCY;
    return CAP_KEEP;
}

static void add_str(json_object *kw, const char *key, const char *s)
{
    if (s)
        json_object_object_add(kw, key, json_object_new_string(s));
}

json_object *capture__note_kwargs(const cap_note *n, const cap_config *cfg, uint32_t id,
                                  const char *error)
{
    json_object *kw = json_object_new_object();
    add_str(kw, "title", n->title);
    if (!cfg->redact_body)
        add_str(kw, "body", n->body);
    add_str(kw, "urgency", capture__urgency_name(n->urgency));
    add_str(kw, "icon", n->icon);
    if (!cfg->redact_body) {
        /* Labels can quote the content ("Reply to Bob"): redacted too. */
        json_object *acts = json_object_new_array_ext((int)(n->actions->len / 2));
        for (guint i = 0; i + 1 < n->actions->len; i += 2) {
            json_object *a = json_object_new_object();
            add_str(a, "key", n->actions->pdata[i]);
            add_str(a, "label", n->actions->pdata[i + 1]);
            json_object_array_add(acts, a);
        }
        json_object_object_add(kw, "actions", acts);
    }
    json_object_object_add(kw, "timeout", json_object_new_int(n->timeout));
    add_str(kw, "app", n->app);
    if (id)
        json_object_object_add(kw, "id", json_object_new_int64(id));
    add_str(kw, "category", n->category);
    add_str(kw, "desktop_entry", n->desktop_entry);
    if (n->replaces)
        json_object_object_add(kw, "replaces", json_object_new_int64(n->replaces));
    if (n->hints && !cfg->redact_body)
        json_object_object_add(kw, "hints", json_object_get(n->hints));
    if (error)
        add_str(kw, "error", error);
    if (n->truncated)
        json_object_object_add(kw, "truncated", json_object_new_int((int)n->truncated));
    if (cfg->redact_body)
        json_object_object_add(kw, "redacted", json_object_new_boolean(1));
    return kw;
}
