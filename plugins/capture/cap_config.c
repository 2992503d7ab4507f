/* cap_config.c - the capture plugin's config: one table of keys, each read
 * the same way with the same error text. */
#include "capture.h"

#include <string.h>

typedef enum { K_APPS, K_URGENCY, K_BOOL, K_COUNT, K_STRING } key_kind;

typedef struct key_def {
    const char *name;
    key_kind kind;
    size_t offset;
    int64_t min, max; /* K_COUNT */
} key_def;

static const key_def keys[] = {
    {"ignore_apps", K_APPS, offsetof(cap_config, ignore_apps), 0, 0},
    {"only_apps", K_APPS, offsetof(cap_config, only_apps), 0, 0},
    {"urgency_min", K_URGENCY, offsetof(cap_config, urgency_min), 0, 0},
    {"redact_body", K_BOOL, offsetof(cap_config, redact_body), 0, 0},
    {"include_images", K_BOOL, offsetof(cap_config, include_images), 0, 0},
    {"backlog", K_COUNT, offsetof(cap_config, backlog), 1, 1000000},
    {"images_keep", K_COUNT, offsetof(cap_config, images_keep), 1, 100000},
    {"bus", K_STRING, offsetof(cap_config, bus), 0, 0},
};

static void glob_free(gpointer p)
{
    g_pattern_spec_free(p);
}

static bool read_apps(json_object *v, GPtrArray **out, const char *key, char **error)
{
    if (!json_object_is_type(v, json_type_array)) {
        *error = g_strdup_printf("config \"%s\" must be an array of app names", key);
        return false;
    }
    GPtrArray *a = g_ptr_array_new_with_free_func(glob_free);
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *s = json_object_array_get_idx(v, i);
        if (!json_object_is_type(s, json_type_string) ||
            !g_utf8_validate(json_object_get_string(s), -1, NULL)) {
            *error = g_strdup_printf("config \"%s\"[%zu] must be a string", key, i);
            g_ptr_array_unref(a);
            return false;
        }
        /* Names compare without case: "mail" also stops "Mail". */
        char *folded = g_utf8_casefold(json_object_get_string(s), -1);
        g_ptr_array_add(a, g_pattern_spec_new(folded));
        g_free(folded);
    }
    *out = a;
    return true;
}

static bool read_key(const key_def *k, json_object *v, cap_config *c, char **error)
{
    void *field = (char *)c + k->offset;
    switch (k->kind) {
    case K_APPS:
        return read_apps(v, field, k->name, error);
    case K_URGENCY:
        if (!capture__urgency_parse(v, field)) {
            *error = g_strdup_printf("config \"%s\" must be \"low\", \"normal\" or \"critical\"",
                                     k->name);
            return false;
        }
        return true;
    case K_BOOL:
        if (!json_object_is_type(v, json_type_boolean)) {
            *error = g_strdup_printf("config \"%s\" must be true or false", k->name);
            return false;
        }
        *(bool *)field = json_object_get_boolean(v);
        return true;
    case K_COUNT: {
        int64_t n = json_object_get_int64(v);
        if (!json_object_is_type(v, json_type_int) || n < k->min || n > k->max) {
            *error =
                g_strdup_printf("config \"%s\" must be an integer from %" PRId64 " to %" PRId64,
                                k->name, k->min, k->max);
            return false;
        }
        *(unsigned *)field = (unsigned)n;
        return true;
    }
    case K_STRING:
        if (!json_object_is_type(v, json_type_string)) {
            *error = g_strdup_printf("config \"%s\" must be a string", k->name);
            return false;
        }
        *(char **)field = g_strdup(json_object_get_string(v));
        return true;
    }
    return false;
}

bool capture__config_read(json_object *cfg, cap_config *out, char **error)
{
    memset(out, 0, sizeof *out);
    out->urgency_min = CAP_URGENCY_LOW;
    out->backlog = 256;
    out->images_keep = 64;
    if (cfg && !json_object_is_type(cfg, json_type_object)) {
        *error = g_strdup("config must be a JSON object");
        return false;
    }
    if (!cfg)
        return true;
    json_object_object_foreach(cfg, key, v)
    {
        const key_def *k = NULL;
        for (size_t i = 0; i < G_N_ELEMENTS(keys) && !k; i++)
            if (strcmp(keys[i].name, key) == 0)
                k = &keys[i];
        /* A misspelt key would silently capture what the user meant to
         * keep private: refuse it. */
        if (!k) {
            *error = g_strdup_printf("config \"%s\" is not a capture setting", key);
            capture__config_clear(out);
            return false;
        }
        if (!v || !read_key(k, v, out, error)) {
            if (!v)
                *error = g_strdup_printf("config \"%s\" must not be null", key);
            capture__config_clear(out);
            return false;
        }
    }
    return true;
}

void capture__config_clear(cap_config *c)
{
    if (c->ignore_apps)
        g_ptr_array_unref(c->ignore_apps);
    if (c->only_apps)
        g_ptr_array_unref(c->only_apps);
    g_free(c->bus);
    memset(c, 0, sizeof *c);
}
