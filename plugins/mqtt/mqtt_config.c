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

static const char *const tls_keys[] = {"ca", "capath", "cert", "key", "insecure", NULL};

static int fail(char **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int fail(char **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return -BMQ_EINVAL;
}

/* An int within [lo, hi] into @out (left alone when absent). */
static int get_int(json_object *cfg, const char *key, int lo, int hi, int *out, char **error)
{
    int64_t n = *out;
    int rc = bmq_config_get_int(cfg, key, 0, lo, hi, &n, error);
    if (rc == 0)
        *out = (int)n;
    return rc;
}

/* "publish"/"subscribe": a pattern, a list of them, or null/""/[] for none. */
static int get_patterns(json_object *cfg, const char *key, char ***out, char **error)
{
    json_object *v;
    if (!json_object_object_get_ex(cfg, key, &v))
        return 0; /* keep the default */
    char **list = NULL;
    int rc = bmq_config_get_strv(cfg, key, 0, &list, error);
    if (rc)
        return rc;
    if (!list) /* null */
        list = g_new0(char *, 1);
    if (list[0] && !list[1] && !*list[0]) { /* "" */
        g_free(list[0]);
        list[0] = NULL;
    }
    for (char **p = list; *p; p++) {
        if (bmq_id_validate(*p) != 0 || (*p)[0] == '_') {
            rc = fail(error, "key '%s': \"%s\" is not a valid non-local pattern", key, *p);
            g_strfreev(list);
            return rc;
        }
    }
    g_strfreev(*out);
    *out = list;
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
            return fail(error, "key 'broker': unknown scheme in \"%s\" (use mqtt:// or mqtts://)",
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
            return fail(error, "key 'broker': bad address \"%s\"", url);
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
            return fail(error, "key 'broker': bad port in \"%s\"", url);
        }
    }
    if (*host == '\0') {
        g_free(hostport);
        return fail(error, "key 'broker': no host in \"%s\"", url);
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
        return fail(error, "key 'tls': expected an object {\"ca\": FILE, ...} or true or false");
    char *unknown = NULL;
    int rc = bmq_config_check_keys(t, tls_keys, &unknown);
    if (rc) {
        rc = fail(error, "key 'tls': %s", unknown);
        g_free(unknown);
        return rc;
    }
    if ((rc = bmq_config_get_string(cfg, "tls.ca", 0, &c->ca, error)) ||
        (rc = bmq_config_get_string(cfg, "tls.capath", 0, &c->capath, error)) ||
        (rc = bmq_config_get_string(cfg, "tls.cert", 0, &c->cert, error)) ||
        (rc = bmq_config_get_string(cfg, "tls.key", 0, &c->key, error)) ||
        (rc = bmq_config_get_bool(cfg, "tls.insecure", 0, &c->tls_insecure, error)))
        return rc;
    if ((c->cert == NULL) != (c->key == NULL))
        return fail(error, "key 'tls': \"cert\" and \"key\" go together");
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
                    "key 'prefix': \"%s\" is not a valid topic prefix "
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
    if ((rc = bmq_config_check_keys(cfg, known_keys, error)) ||
        (rc = bmq_config_get_string(cfg, "broker", 0, &broker, error)) ||
        (rc = get_patterns(cfg, "publish", &c->publish, error)) ||
        (rc = get_patterns(cfg, "subscribe", &c->subscribe, error)) ||
        (rc = get_int(cfg, "qos", 0, 2, &c->qos, error)) ||
        (rc = bmq_config_get_bool(cfg, "retain", 0, &c->retain, error)) ||
        (rc = bmq_config_get_string(cfg, "client_id", 0, &c->client_id, error)) ||
        (rc = bmq_config_get_string(cfg, "username", 0, &c->username, error)) ||
        (rc = bmq_config_get_string(cfg, "password", 0, &c->password, error)) ||
        (rc = bmq_config_get_string(cfg, "prefix", 0, &c->prefix, error)) ||
        (rc = get_int(cfg, "buffer", 0, 10000000, &buffer, error)) ||
        (rc = get_int(cfg, "keepalive", 5, 65535, &c->keepalive, error)) ||
        (rc = bmq_config_get_string(cfg, "hub_id", 0, &hub_id, error)) ||
        (rc = get_int(cfg, "reconnect_min", 1, 3600, &rmin, error)) ||
        (rc = get_int(cfg, "reconnect_max", 1, 86400, &rmax, error)) ||
        (rc = bmq_config_get_double(cfg, "flush_delay", 0, 0, 60, &c->flush_delay, error)) ||
        (rc = parse_tls(cfg, c, error)))
        goto out;
    if (broker != NULL && (rc = parse_broker(broker, c, error)))
        goto out;
    if ((rc = parse_prefix(c, error)))
        goto out;
    if (c->password != NULL && c->username == NULL) {
        rc = fail(error, "key 'password': needs \"username\"");
        goto out;
    }
    if (rmax < rmin) {
        rc = fail(error, "key 'reconnect_max': must not be below \"reconnect_min\"");
        goto out;
    }
    c->buffer = (unsigned)buffer;
    c->reconnect_min = (unsigned)rmin;
    c->reconnect_max = (unsigned)rmax;
    if (hub_id != NULL) {
        /* The hub id names messages (HUBID:online): it must be a valid name. */
        char *fixed = mqtt_map__sanitize_name(hub_id);
        if (strcmp(fixed, hub_id) != 0) {
            rc = fail(error, "key 'hub_id': \"%s\" is not a valid message name (try \"%s\")",
                      hub_id, fixed);
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
