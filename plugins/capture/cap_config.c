/* cap_config.c - the capture plugin's config: one table of keys, each read
 * the same way with the same error text. */
#include "capture.h"

#include <string.h>

#include <berrymq/plugin.h>

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

static const char *const key_names[] = {
    "ignore_apps", "only_apps",   "urgency_min", "redact_body", "include_images",
    "backlog",     "images_keep", "bus",         NULL,
};

static void glob_free(gpointer p)
{
    g_pattern_spec_free(p);
}

static bool read_apps(json_object *cfg, json_object *v, GPtrArray **out, const char *key,
                      char **error)
{
    /* A list even for one app: a lone string is more likely a mistake. */
    if (!json_object_is_type(v, json_type_array)) {
        *error = g_strdup_printf("key '%s': expected a list of app names", key);
        return false;
    }
    char **names = NULL;
    if (bmq_config_get_strv(cfg, key, 0, &names, error))
        return false;
    GPtrArray *a = g_ptr_array_new_with_free_func(glob_free);
    for (char **n = names; *n; n++) {
        if (!g_utf8_validate(*n, -1, NULL)) {
            *error = g_strdup_printf("key '%s': expected UTF-8 app names", key);
            g_ptr_array_unref(a);
            g_strfreev(names);
            return false;
        }
        /* Names compare without case: "mail" also stops "Mail". */
        char *folded = g_utf8_casefold(*n, -1);
        g_ptr_array_add(a, g_pattern_spec_new(folded));
        g_free(folded);
    }
    g_strfreev(names);
    *out = a;
    return true;
}

static bool read_key(const key_def *k, json_object *cfg, json_object *v, cap_config *c,
                     char **error)
{
    void *field = (char *)c + k->offset;
    switch (k->kind) {
    case K_APPS:
        return read_apps(cfg, v, field, k->name, error);
    case K_URGENCY:
        if (!capture__urgency_parse(v, field)) {
            *error =
                g_strdup_printf("key '%s': expected \"low\", \"normal\" or \"critical\"", k->name);
            return false;
        }
        return true;
    case K_BOOL:
        return bmq_config_get_bool(cfg, k->name, 0, field, error) == 0;
    case K_COUNT: {
        int64_t n = 0;
        if (bmq_config_get_int(cfg, k->name, 0, k->min, k->max, &n, error))
            return false;
        *(unsigned *)field = (unsigned)n;
        return true;
    }
    case K_STRING:
        return bmq_config_get_string(cfg, k->name, 0, field, error) == 0;
    }
    return false;
}

bool capture__config_read(json_object *cfg, cap_config *out, char **error)
{
    memset(out, 0, sizeof *out);
    out->urgency_min = CAP_URGENCY_LOW;
    out->backlog = 256;
    out->images_keep = 64;
    /* A misspelt key would silently capture what the user meant to keep
     * private: refuse it. */
    if (bmq_config_check_keys(cfg, key_names, error))
        return false;
    for (size_t i = 0; cfg && i < G_N_ELEMENTS(keys); i++) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(cfg, keys[i].name, &v))
            continue;
        /* null is refused too, not read as "the default": same reason. */
        if (!v) {
            *error = g_strdup_printf("key '%s': must not be null", keys[i].name);
            capture__config_clear(out);
            return false;
        }
        if (!read_key(&keys[i], cfg, v, out, error)) {
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
