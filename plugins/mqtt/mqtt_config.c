/* mqtt_config.c - the MQTT bridge's config object: defaults, types, ranges.
 * Every rejection names the key and says what is expected. */
#include <stdlib.h>
#include <string.h>

#include "mqtt_bridge.h"
#include "mqtt_map.h"

static const char *const known_keys[] = {
    "broker",   "publish",       "subscribe",     "qos",         "retain", "client_id",
    "username", "password",      "tls",           "prefix",      "buffer", "keepalive",
    "hub_id",   "reconnect_min", "reconnect_max", "flush_delay", NULL,
};

static int fail(char **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int fail(char **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return -BMQ_EINVAL;
}

static int get_string(json_object *cfg, const char *key, char **out, char **error)
{
    json_object *v;
    if (!json_object_object_get_ex(cfg, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return fail(error, "\"%s\" must be a string", key);
    g_free(*out);
    *out = g_strdup(json_object_get_string(v));
    return 0;
}

static int get_int(json_object *cfg, const char *key, int lo, int hi, int *out, char **error)
{
    json_object *v;
    if (!json_object_object_get_ex(cfg, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_int))
        return fail(error, "\"%s\" must be an integer", key);
    int64_t n = json_object_get_int64(v);
    if (n < lo || n > hi)
        return fail(error, "\"%s\" must be between %d and %d", key, lo, hi);
    *out = (int)n;
    return 0;
}

/* "publish"/"subscribe": a pattern, a list of them, or null/[] for none. */
static int get_patterns(json_object *cfg, const char *key, char ***out, char **error)
{
    json_object *v;
    if (!json_object_object_get_ex(cfg, key, &v))
        return 0; /* keep the default */
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    if (json_object_is_type(v, json_type_string)) {
        if (json_object_get_string_len(v) > 0)
            g_ptr_array_add(a, g_strdup(json_object_get_string(v)));
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *e = json_object_array_get_idx(v, i);
            if (!json_object_is_type(e, json_type_string)) {
                g_ptr_array_free(a, TRUE);
                return fail(error, "\"%s\" must be a pattern or a list of patterns", key);
            }
            g_ptr_array_add(a, g_strdup(json_object_get_string(e)));
        }
    } else if (!json_object_is_type(v, json_type_null)) {
        g_ptr_array_free(a, TRUE);
        return fail(error, "\"%s\" must be a pattern or a list of patterns", key);
    }
    for (guint i = 0; i < a->len; i++) {
        const char *p = g_ptr_array_index(a, i);
        if (bmq_id_validate(p) != 0 || p[0] == '_') {
            int rc = fail(error, "\"%s\": \"%s\" is not a valid non-local pattern", key, p);
            g_ptr_array_free(a, TRUE);
            return rc;
        }
    }
    g_ptr_array_add(a, NULL);
    g_strfreev(*out);
    *out = (char **)g_ptr_array_free(a, FALSE);
    return 0;
}

static int parse_broker(const char *url, mqtt_config *c, char **error)
{
    const char *rest = url;
    bool tls = false;
    const char *sep = strstr(url, "://");
    if (sep != NULL) {
        size_t n = (size_t)(sep - url);
        if ((n == 4 && strncmp(url, "mqtt", 4) == 0) || (n == 3 && strncmp(url, "tcp", 3) == 0))
            tls = false;
        else if ((n == 5 && strncmp(url, "mqtts", 5) == 0) ||
                 (n == 3 && strncmp(url, "ssl", 3) == 0))
            tls = true;
        else
            return fail(error, "\"broker\": unknown scheme in \"%s\" (use mqtt:// or mqtts://)",
                        url);
        rest = sep + 3;
    }
    char *hostport = g_strdup(rest);
    char *slash = strchr(hostport, '/');
    if (slash != NULL)
        *slash = '\0';
    char *host = hostport, *port = NULL;
    if (host[0] == '[') { /* [v6]:port */
        char *end = strchr(host, ']');
        if (end == NULL) {
            g_free(hostport);
            return fail(error, "\"broker\": bad address \"%s\"", url);
        }
        *end = '\0';
        host++;
        if (end[1] == ':')
            port = end + 2;
    } else if ((port = strrchr(host, ':')) != NULL) {
        *port++ = '\0';
    }
    long p = tls ? 8883 : 1883;
    if (port != NULL) {
        char *endp = NULL;
        p = strtol(port, &endp, 10);
        if (*port == '\0' || *endp != '\0' || p < 1 || p > 65535) {
            g_free(hostport);
            return fail(error, "\"broker\": bad port in \"%s\"", url);
        }
    }
    if (*host == '\0') {
        g_free(hostport);
        return fail(error, "\"broker\": no host in \"%s\"", url);
    }
    g_free(c->host);
    c->host = g_strdup(host);
    c->port = (int)p;
    c->tls = c->tls || tls;
    g_free(hostport);
    return 0;
}

static int parse_tls(json_object *cfg, mqtt_config *c, char **error)
{
    json_object *t;
    if (!json_object_object_get_ex(cfg, "tls", &t) || json_object_is_type(t, json_type_null))
        return 0;
    if (json_object_is_type(t, json_type_boolean)) {
        c->tls = c->tls || json_object_get_boolean(t);
        return 0;
    }
    if (!json_object_is_type(t, json_type_object))
        return fail(error, "\"tls\" must be an object {\"ca\": FILE, ...} or a boolean");
    json_object_object_foreach(t, k, v)
    {
        (void)v;
        if (strcmp(k, "ca") && strcmp(k, "capath") && strcmp(k, "cert") && strcmp(k, "key") &&
            strcmp(k, "insecure"))
            return fail(error, "\"tls\": unknown key \"%s\" (ca, capath, cert, key, insecure)", k);
    }
    int rc;
    if ((rc = get_string(t, "ca", &c->ca, error)) ||
        (rc = get_string(t, "capath", &c->capath, error)) ||
        (rc = get_string(t, "cert", &c->cert, error)) ||
        (rc = get_string(t, "key", &c->key, error)))
        return rc;
    json_object *ins;
    if (json_object_object_get_ex(t, "insecure", &ins))
        c->tls_insecure = json_object_get_boolean(ins);
    if ((c->cert == NULL) != (c->key == NULL))
        return fail(error, "\"tls\": \"cert\" and \"key\" go together");
    c->tls = true;
    return 0;
}

static int parse_prefix(mqtt_config *c, char **error)
{
    size_t n = strlen(c->prefix);
    while (n > 0 && c->prefix[n - 1] == '/')
        c->prefix[--n] = '\0';
    if (n == 0 || c->prefix[0] == '/' || c->prefix[0] == '$' || strpbrk(c->prefix, "+#") ||
        strstr(c->prefix, "//"))
        return fail(error,
                    "\"prefix\": \"%s\" is not a valid topic prefix "
                    "(no '+', '#', empty levels or leading '$')",
                    c->prefix);
    return 0;
}

int mqtt_config__parse(json_object *cfg, const char *default_hub_id, const char *instance_id,
                       mqtt_config *c, char **error)
{
    memset(c, 0, sizeof *c);
    c->host = g_strdup("127.0.0.1");
    c->port = 1883;
    c->publish = g_new0(char *, 2);
    c->publish[0] = g_strdup("*:*");
    c->subscribe = g_strdupv(c->publish);
    c->qos = 1;
    c->prefix = g_strdup("berrymq");
    c->buffer = 1000;
    c->keepalive = 30;
    c->reconnect_min = 1;
    c->reconnect_max = 30;
    c->flush_delay = 1.0;

    int rc = 0;
    char *broker = NULL, *hub_id = NULL;
    int buffer = (int)c->buffer, rmin = (int)c->reconnect_min, rmax = (int)c->reconnect_max;
    if (cfg != NULL) {
        if (!json_object_is_type(cfg, json_type_object)) {
            rc = fail(error, "the config must be a JSON object");
            goto out;
        }
        json_object_object_foreach(cfg, k, val)
        {
            (void)val;
            bool known = false;
            for (size_t i = 0; known_keys[i]; i++)
                known = known || strcmp(k, known_keys[i]) == 0;
            if (!known) {
                rc = fail(error, "unknown config key \"%s\"", k);
                goto out;
            }
        }
        json_object *v = NULL;
        if ((rc = get_string(cfg, "broker", &broker, error)) ||
            (rc = get_patterns(cfg, "publish", &c->publish, error)) ||
            (rc = get_patterns(cfg, "subscribe", &c->subscribe, error)) ||
            (rc = get_int(cfg, "qos", 0, 2, &c->qos, error)) ||
            (rc = get_string(cfg, "client_id", &c->client_id, error)) ||
            (rc = get_string(cfg, "username", &c->username, error)) ||
            (rc = get_string(cfg, "password", &c->password, error)) ||
            (rc = get_string(cfg, "prefix", &c->prefix, error)) ||
            (rc = get_int(cfg, "buffer", 0, 10000000, &buffer, error)) ||
            (rc = get_int(cfg, "keepalive", 5, 65535, &c->keepalive, error)) ||
            (rc = get_string(cfg, "hub_id", &hub_id, error)) ||
            (rc = get_int(cfg, "reconnect_min", 1, 3600, &rmin, error)) ||
            (rc = get_int(cfg, "reconnect_max", 1, 86400, &rmax, error)))
            goto out;
        if (json_object_object_get_ex(cfg, "retain", &v)) {
            if (!json_object_is_type(v, json_type_boolean)) {
                rc = fail(error, "\"retain\" must be true or false");
                goto out;
            }
            c->retain = json_object_get_boolean(v);
        }
        if (json_object_object_get_ex(cfg, "flush_delay", &v)) {
            if (!json_object_is_type(v, json_type_double) &&
                !json_object_is_type(v, json_type_int)) {
                rc = fail(error, "\"flush_delay\" must be a number of seconds");
                goto out;
            }
            c->flush_delay = json_object_get_double(v);
            if (c->flush_delay < 0 || c->flush_delay > 60) {
                rc = fail(error, "\"flush_delay\" must be between 0 and 60 seconds");
                goto out;
            }
        }
        if ((rc = parse_tls(cfg, c, error)))
            goto out;
    }
    if (broker != NULL && (rc = parse_broker(broker, c, error)))
        goto out;
    if ((rc = parse_prefix(c, error)))
        goto out;
    if (c->password != NULL && c->username == NULL) {
        rc = fail(error, "\"password\" needs \"username\"");
        goto out;
    }
    if (rmax < rmin) {
        rc = fail(error, "\"reconnect_max\" must not be below \"reconnect_min\"");
        goto out;
    }
    c->buffer = (unsigned)buffer;
    c->reconnect_min = (unsigned)rmin;
    c->reconnect_max = (unsigned)rmax;
    if (hub_id != NULL) {
        /* The hub id names messages (HUBID:online): it must be a valid name. */
        char *fixed = mqtt_map__sanitize_name(hub_id);
        if (strcmp(fixed, hub_id) != 0) {
            rc = fail(error, "\"hub_id\": \"%s\" is not a valid message name (try \"%s\")", hub_id,
                      fixed);
            g_free(fixed);
            goto out;
        }
        g_free(fixed);
    }
    c->hub_id = hub_id
                    ? g_strdup(hub_id)
                    : mqtt_map__sanitize_name(default_hub_id ? default_hub_id : g_get_host_name());
    if (c->client_id == NULL)
        c->client_id =
            g_strdup_printf("berrymq-%s-%s", c->hub_id, instance_id ? instance_id : "mqtt");
out:
    g_free(broker);
    g_free(hub_id);
    if (rc != 0)
        mqtt_config__clear(c);
    return rc;
}

void mqtt_config__clear(mqtt_config *c)
{
    g_free(c->host);
    g_free(c->ca);
    g_free(c->capath);
    g_free(c->cert);
    g_free(c->key);
    g_strfreev(c->publish);
    g_strfreev(c->subscribe);
    g_free(c->client_id);
    g_free(c->username);
    g_free(c->password);
    g_free(c->prefix);
    g_free(c->hub_id);
    memset(c, 0, sizeof *c);
}
