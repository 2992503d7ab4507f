/* config.c - hub.json: find it, parse it with json-c, validate every key.
 * A problem is reported as one line "FILE: KEY: problem" and nothing of the
 * file is used. Keys starting with '_' are comments and ignored.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <berrymq/json.h>

#include "hub.h"

static void plugin_cfg_free(gpointer p)
{
    hub_plugin_cfg *c = p;
    g_free(c->plugin);
    g_free(c->id);
    json_object_put(c->config);
    g_free(c);
}

static void link_cfg_free(gpointer p)
{
    hub_link_cfg *l = p;
    g_free(l->host);
    g_free(l);
}

static hub_config *config_new(void)
{
    hub_config *c = g_new0(hub_config, 1);
    c->listen_host = g_strdup(HUB_DEFAULT_HOST);
    c->listen_port = HUB_DEFAULT_PORT;
    c->plugins = g_ptr_array_new_with_free_func(plugin_cfg_free);
    c->links = g_ptr_array_new_with_free_func(link_cfg_free);
    c->log_level = BMQ_LOG_INFO;
    history_opts_default(&c->history);
    ntfy_cfg_defaults(&c->ntfy);
    return c;
}

void hub_config_free(hub_config *c)
{
    if (!c)
        return;
    g_free(c->path);
    g_free(c->source);
    g_free(c->listen_host);
    g_strfreev(c->allow);
    g_strfreev(c->server_names);
    g_strfreev(c->allow_origins);
    g_free(c->secret);
    g_ptr_array_free(c->plugins, TRUE);
    g_ptr_array_free(c->links, TRUE);
    g_free(c);
}

int hub_parse_hostport(const char *s, char **host, uint16_t *port, char **error)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon || colon == s) {
        *error = g_strdup_printf("'%s' is not HOST:PORT", s ? s : "");
        return -1;
    }
    char *h = g_strndup(s, (gsize)(colon - s));
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        char *inner = g_strndup(h + 1, strlen(h) - 2);
        g_free(h);
        h = inner;
    }
    char *end = NULL;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (!*(colon + 1) || *end || errno || p > 65535 || !*h) {
        *error = g_strdup_printf("'%s' is not HOST:PORT (port 0-65535)", s);
        g_free(h);
        return -1;
    }
    *host = h;
    *port = (uint16_t)p;
    return 0;
}

/* Running from the build tree (the executable lives under it)? */
static bool in_build_tree(void)
{
#ifdef HUB_BUILD_DIR
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    size_t n = strlen(HUB_BUILD_DIR);
    bool inside = exe && strncmp(exe, HUB_BUILD_DIR, n) == 0 && exe[n] == '/';
    g_free(exe);
    return inside;
#else
    return false;
#endif
}

char *hub_default_config_path(void)
{
#ifdef HUB_SOURCE_DATA_DIR
    if (in_build_tree()) {
        char *p = g_build_filename(HUB_SOURCE_DATA_DIR, "hub.json", NULL);
        if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
            return p;
        g_free(p);
    }
#endif
#ifdef HUB_BIN_TO_DATA
    /* Relative to the executable: the configured prefix need not be the
     * one the files were installed to (cmake --install --prefix X). */
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    if (exe) {
        char *bindir = g_path_get_dirname(exe);
        char *rel = g_build_filename(bindir, HUB_BIN_TO_DATA, "hub.json", NULL);
        g_free(bindir);
        g_free(exe);
        /* Canonical, so logs and status name the file plainly. */
        char *real = g_file_test(rel, G_FILE_TEST_IS_REGULAR) ? realpath(rel, NULL) : NULL;
        g_free(rel);
        if (real) {
            char *r = g_strdup(real);
            free(real);
            return r;
        }
    }
#endif
#ifdef HUB_DATADIR
    char *p = g_build_filename(HUB_DATADIR, "hub.json", NULL);
    if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
        return p;
    g_free(p);
#endif
    return NULL;
}

typedef struct {
    const char *file;
    char **error;
} ctx;

static bool fail(ctx *c, const char *key, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static bool fail(ctx *c, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    *c->error = g_strdup_printf("%s: %s: %s", c->file, key, msg);
    g_free(msg);
    return false;
}

static const char *type_name(json_object *v)
{
    return v ? json_type_to_name(json_object_get_type(v)) : "null";
}

static bool valid_cidr(const char *s)
{
    char **parts = g_strsplit(s, "/", 2);
    bool ok = parts[0] && *parts[0] && g_hostname_is_ip_address(parts[0]);
    if (ok && parts[1]) {
        char *end;
        long bits = strtol(parts[1], &end, 10);
        ok = *parts[1] && !*end && bits >= 0 && bits <= 128;
    }
    g_strfreev(parts);
    return ok;
}

/* A host name as it appears in a Host header, without the port. */
static bool valid_server_name(const char *s)
{
    if (!*s || strlen(s) > 253)
        return false;
    for (const char *p = s; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_')
            return false;
    return true;
}

/* SCHEME://HOST[:PORT], what a browser sends as Origin. */
static bool valid_origin(const char *s)
{
    const char *sep = strstr(s, "://");
    if (!sep || sep == s || !g_ascii_isalpha(s[0]))
        return false;
    for (const char *p = s; p < sep; p++)
        if (!g_ascii_isalnum(*p) && *p != '+' && *p != '-' && *p != '.')
            return false;
    const char *h = sep + 3;
    size_t n = strcspn(h, "/?#@ \t");
    return n > 0 && (!h[n] || (h[n] == '/' && !h[n + 1]));
}

/* An array of strings each passing @ok, into *out (NULL-terminated). */
static bool parse_str_list(ctx *c, const char *k, json_object *v, bool (*ok)(const char *),
                           const char *what, char ***out)
{
    if (!json_object_is_type(v, json_type_array))
        return fail(c, k, "expected an array of %s, got %s", what, type_name(v));
    size_t n = json_object_array_length(v);
    g_strfreev(*out);
    *out = g_new0(char *, n + 1);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        char sub[64];
        g_snprintf(sub, sizeof sub, "%s[%zu]", k, i);
        if (!json_object_is_type(e, json_type_string) || !ok(json_object_get_string(e)))
            return fail(c, sub, "expected %s", what);
        (*out)[i] = g_strdup(json_object_get_string(e));
    }
    return true;
}

static bool parse_plugin(ctx *c, hub_config *cfg, size_t i, json_object *o, GHashTable *ids)
{
    char key[64];
    g_snprintf(key, sizeof key, "plugins[%zu]", i);
    if (!json_object_is_type(o, json_type_object))
        return fail(c, key, "expected an object, got %s", type_name(o));
    hub_plugin_cfg *p = g_new0(hub_plugin_cfg, 1);
    p->enabled = true;
    g_ptr_array_add(cfg->plugins, p);
    json_object_object_foreach(o, k, v)
    {
        char sub[128];
        g_snprintf(sub, sizeof sub, "%s.%s", key, k);
        if (k[0] == '_')
            continue;
        if (strcmp(k, "plugin") == 0 || strcmp(k, "id") == 0) {
            if (!json_object_is_type(v, json_type_string) || !*json_object_get_string(v))
                return fail(c, sub, "expected a non-empty string, got %s", type_name(v));
            char **dst = k[0] == 'p' ? &p->plugin : &p->id;
            *dst = g_strdup(json_object_get_string(v));
        } else if (strcmp(k, "config") == 0) {
            if (v && !json_object_is_type(v, json_type_object))
                return fail(c, sub, "expected an object, got %s", type_name(v));
            p->config = v ? json_object_get(v) : NULL;
        } else if (strcmp(k, "enabled") == 0) {
            if (!json_object_is_type(v, json_type_boolean))
                return fail(c, sub, "expected true or false, got %s", type_name(v));
            p->enabled = json_object_get_boolean(v);
        } else {
            return fail(c, sub, "unknown key (known: plugin, id, config, enabled)");
        }
    }
    if (!p->plugin)
        return fail(c, key, "missing \"plugin\" (the plugin name or a path)");
    if (!p->config)
        p->config = json_object_new_object();
    if (!p->id) {
        const char *base = strrchr(p->plugin, '/');
        p->id = g_strdup(base ? base + 1 : p->plugin);
        if (g_str_has_suffix(p->id, ".so"))
            p->id[strlen(p->id) - 3] = '\0';
    }
    char idkey[128];
    g_snprintf(idkey, sizeof idkey, "%s.id", key);
    if (!bmq_instance_id_valid(p->id))
        return fail(c, idkey, "'%s': use letters, digits, '_', '-' and '.' (at most 64)", p->id);
    if (g_hash_table_contains(ids, p->id))
        return fail(c, idkey, "duplicate id '%s' (give each instance its own \"id\")", p->id);
    g_hash_table_add(ids, p->id);
    return true;
}

static bool parse_link(ctx *c, hub_config *cfg, size_t i, json_object *o)
{
    char key[64];
    g_snprintf(key, sizeof key, "links[%zu]", i);
    if (!json_object_is_type(o, json_type_object))
        return fail(c, key, "expected an object, got %s", type_name(o));
    hub_link_cfg *l = g_new0(hub_link_cfg, 1);
    l->interconnect = true;
    g_ptr_array_add(cfg->links, l);
    bool have_port = false;
    json_object_object_foreach(o, k, v)
    {
        char sub[128];
        g_snprintf(sub, sizeof sub, "%s.%s", key, k);
        if (k[0] == '_')
            continue;
        if (strcmp(k, "style") == 0) {
            const char *s =
                json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
            if (strcmp(s, "interconnect") && strcmp(s, "oneway"))
                return fail(c, sub, "expected \"interconnect\" or \"oneway\"");
            l->interconnect = s[0] == 'i';
        } else if (strcmp(k, "host") == 0) {
            if (!json_object_is_type(v, json_type_string) || !*json_object_get_string(v))
                return fail(c, sub, "expected a host name or address");
            l->host = g_strdup(json_object_get_string(v));
        } else if (strcmp(k, "port") == 0) {
            int64_t p = json_object_get_int64(v);
            if (!json_object_is_type(v, json_type_int) || p < 1 || p > 65535)
                return fail(c, sub, "expected a port number 1-65535");
            l->port = (uint16_t)p;
            have_port = true;
        } else if (strcmp(k, "ttl") == 0) {
            if ((!json_object_is_type(v, json_type_int) &&
                 !json_object_is_type(v, json_type_double)) ||
                json_object_get_double(v) < 0)
                return fail(c, sub, "expected a number of seconds >= 0");
            l->ttl = json_object_get_double(v);
        } else if (strcmp(k, "check") == 0) {
            if ((!json_object_is_type(v, json_type_int) &&
                 !json_object_is_type(v, json_type_double)) ||
                json_object_get_double(v) <= 0)
                return fail(c, sub, "expected a number of seconds > 0");
            l->check = json_object_get_double(v);
        } else {
            return fail(c, sub, "unknown key (known: style, host, port, ttl, check)");
        }
    }
    if (!l->host)
        return fail(c, key, "missing \"host\"");
    if (!have_port)
        return fail(c, key, "missing \"port\"");
    return true;
}

/* Server limits: whole numbers in a range, stored as unsigned. */
static const struct {
    const char *key;
    size_t offset;
    unsigned min, max;
} uint_keys[] = {
    {"threads", offsetof(hub_config, threads), 1, 64},
    {"max_connections", offsetof(hub_config, max_connections), 16, 1000000},
    {"max_connections_per_peer", offsetof(hub_config, max_connections_per_peer), 1, 1000000},
    {"idle_timeout", offsetof(hub_config, idle_timeout), 1, 86400},
    {"header_timeout", offsetof(hub_config, header_timeout), 1, 3600},
    {"body_timeout", offsetof(hub_config, body_timeout), 1, 3600},
    {"max_queues", offsetof(hub_config, max_queues), 1, 10000},
    {"max_queues_per_peer", offsetof(hub_config, max_queues_per_peer), 1, 10000},
    {"max_ttl", offsetof(hub_config, max_ttl), 1, 1000000000},
    {"max_queue_messages", offsetof(hub_config, max_queue_messages), 1, 10000000},
    {"max_queue_bytes", offsetof(hub_config, max_queue_bytes), 1024, 4000000000u},
};

/* true when @k is one of uint_keys; *ok tells whether its value is good. */
static bool parse_uint_key(ctx *c, hub_config *cfg, const char *k, json_object *v, bool *ok)
{
    for (size_t i = 0; i < G_N_ELEMENTS(uint_keys); i++) {
        if (strcmp(k, uint_keys[i].key))
            continue;
        int64_t n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
        if (n < uint_keys[i].min || n > uint_keys[i].max)
            *ok = fail(c, k, "expected a whole number from %u to %u", uint_keys[i].min,
                       uint_keys[i].max);
        else
            *(unsigned *)((char *)cfg + uint_keys[i].offset) = (unsigned)n, *ok = true;
        return true;
    }
    return false;
}

static bool parse_root(ctx *c, hub_config *cfg, json_object *root)
{
    if (!json_object_is_type(root, json_type_object))
        return fail(c, "(top level)", "expected an object, got %s", type_name(root));
    bool uint_ok = true;
    json_object_object_foreach(root, k, v)
    {
        if (k[0] == '_')
            continue;
        if (strcmp(k, "listen") == 0) {
            char *err = NULL, *host = NULL;
            if (!json_object_is_type(v, json_type_string))
                return fail(c, k, "expected \"HOST:PORT\", got %s", type_name(v));
            if (hub_parse_hostport(json_object_get_string(v), &host, &cfg->listen_port, &err)) {
                fail(c, k, "%s", err);
                g_free(err);
                return false;
            }
            g_free(cfg->listen_host);
            cfg->listen_host = host;
        } else if (strcmp(k, "allow") == 0) {
            if (!json_object_is_type(v, json_type_array))
                return fail(c, k, "expected an array of CIDR strings, got %s", type_name(v));
            size_t n = json_object_array_length(v);
            g_strfreev(cfg->allow);
            cfg->allow = g_new0(char *, n + 1);
            for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                char sub[64];
                g_snprintf(sub, sizeof sub, "allow[%zu]", i);
                if (!json_object_is_type(e, json_type_string) ||
                    !valid_cidr(json_object_get_string(e)))
                    return fail(c, sub, "expected an address or CIDR like \"10.0.0.0/8\"");
                cfg->allow[i] = g_strdup(json_object_get_string(e));
            }
        } else if (strcmp(k, "server_names") == 0) {
            if (!parse_str_list(c, k, v, valid_server_name, "host names like \"hub.lan\"",
                                &cfg->server_names))
                return false;
        } else if (strcmp(k, "allow_origins") == 0) {
            if (!parse_str_list(c, k, v, valid_origin, "web origins like \"http://localhost:8080\"",
                                &cfg->allow_origins))
                return false;
        } else if (strcmp(k, "secret") == 0) {
            if (v && !json_object_is_type(v, json_type_string))
                return fail(c, k, "expected a string or null, got %s", type_name(v));
            g_free(cfg->secret);
            cfg->secret =
                v && *json_object_get_string(v) ? g_strdup(json_object_get_string(v)) : NULL;
        } else if (strcmp(k, "max_body") == 0) {
            if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1024)
                return fail(c, k, "expected a byte count >= 1024");
            cfg->max_body = (size_t)json_object_get_int64(v);
        } else if (strcmp(k, "log_level") == 0) {
            int lvl = json_object_is_type(v, json_type_string)
                          ? hub_log_level_parse(json_object_get_string(v))
                          : -1;
            if (lvl < 0)
                return fail(c, k, "expected one of error, warning, notice, info, debug");
            cfg->log_level = lvl;
        } else if (strcmp(k, "plugins") == 0) {
            if (!json_object_is_type(v, json_type_array))
                return fail(c, k, "expected an array of instances, got %s", type_name(v));
            GHashTable *ids = g_hash_table_new(g_str_hash, g_str_equal);
            bool ok = true;
            for (size_t i = 0; ok && i < json_object_array_length(v); i++)
                ok = parse_plugin(c, cfg, i, json_object_array_get_idx(v, i), ids);
            g_hash_table_destroy(ids);
            if (!ok)
                return false;
        } else if (strcmp(k, "links") == 0) {
            if (!json_object_is_type(v, json_type_array))
                return fail(c, k, "expected an array of links, got %s", type_name(v));
            for (size_t i = 0; i < json_object_array_length(v); i++)
                if (!parse_link(c, cfg, i, json_object_array_get_idx(v, i)))
                    return false;
        } else if (strcmp(k, "history") == 0) {
            char *err = NULL;
            if (history_opts_parse(v, &cfg->history, &err)) {
                fail(c, k, "%s", err);
                g_free(err);
                return false;
            }
        } else if (parse_uint_key(c, cfg, k, v, &uint_ok)) {
            if (!uint_ok)
                return false;
        } else if (strcmp(k, "ntfy") == 0) {
            char *err = NULL;
            if (ntfy_cfg_parse(v, &cfg->ntfy, &err)) {
                fail(c, "ntfy", "%s", err);
                g_free(err);
                return false;
            }
        } else {
            return fail(c, k,
                        "unknown key (known: listen, allow, secret, server_names, "
                        "allow_origins, max_body, plugins, links, log_level, history, "
                        "threads, max_connections, max_connections_per_peer, "
                        "idle_timeout, header_timeout, body_timeout, ntfy, max_queues, "
                        "max_queues_per_peer, max_ttl, max_queue_messages, max_queue_bytes)");
        }
    }
    return true;
}

static hub_config *parse_file(const char *file, char **error)
{
    char *text = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    if (!g_file_get_contents(file, &text, &len, &gerr)) {
        *error = g_strdup_printf("%s: cannot read: %s", file, gerr->message);
        g_error_free(gerr);
        return NULL;
    }
    /* Strict: a trailing comma or a NaN is a mistake to point at, not to
     * guess around. */
    json_object *root = NULL;
    char *perr = NULL;
    bool blank = true;
    for (gsize i = 0; i < len && blank; i++)
        blank = g_ascii_isspace(text[i]);
    if (blank) {
        *error = g_strdup_printf("%s: the file is empty (write {} to run on the defaults)", file);
        g_free(text);
        return NULL;
    }
    if (bmq_json_parse(text, len, BMQ_JSON_STRICT, &root, &perr) != 0) {
        *error = g_strdup_printf("%s: (syntax): invalid JSON at %s", file, perr);
        free(perr);
        g_free(text);
        return NULL;
    }
    g_free(text);
    hub_config *cfg = config_new();
    ctx c = {file, error};
    bool ok = parse_root(&c, cfg, root);
    json_object_put(root);
    if (!ok) {
        hub_config_free(cfg);
        return NULL;
    }
    cfg->source = g_strdup(file);
    return cfg;
}

hub_config *hub_config_load(const char *explicit_path, char **error)
{
    *error = NULL;
    if (explicit_path) {
        hub_config *c = parse_file(explicit_path, error);
        if (c)
            c->path = g_strdup(explicit_path);
        return c;
    }
    char *user = g_build_filename(g_get_user_config_dir(), "berrymq", "hub.json", NULL);
    if (g_file_test(user, G_FILE_TEST_EXISTS)) {
        hub_config *c = parse_file(user, error);
        if (c)
            c->path = user;
        else
            g_free(user);
        return c;
    }
    g_free(user);
    char *def = hub_default_config_path();
    if (def) {
        hub_config *c = parse_file(def, error);
        g_free(def);
        return c;
    }
    return config_new();
}
