/* net_api.c - the original berryMQ connection API on a bus:
 * init_connection, interconnect, connect_oneway, connect_via_queue,
 * send_message, get, get_nowait, close_connection. */
#include "net_internal.h"

#include <stdarg.h>
#include <string.h>

int bmq_init_connection(bmq_bus *bus, const char *host, uint16_t port, uint16_t *bound_port)
{
    if (!bus)
        return -BMQ_EINVAL;
    if (bmq_bus_server(bus))
        return -BMQ_EEXIST;
    bmq_server_options o;
    bmq_server_options_init(&o);
    if (host && *host)
        o.host = host;
    o.port = port;
    char *err = NULL;
    int rc = 0;
    bmq_server *s = bmq_server_start(bus, &o, &rc, &err);
    if (!s) {
        g_warning("berrymq: %s", err ? err : "cannot start the server");
        g_free(err);
        return rc;
    }
    if (bound_port)
        *bound_port = bmq_server_port(s);
    return 0;
}

bmq_server *bmq_bus_server(bmq_bus *bus)
{
    if (!bus)
        return NULL;
    net_bus *nb = net__bus_get(bus);
    g_mutex_lock(&nb->lock);
    bmq_server *s = nb->server;
    g_mutex_unlock(&nb->lock);
    net__bus_unref(nb);
    return s;
}

static void set_error(char **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void set_error(char **error, const char *fmt, ...)
{
    if (!error)
        return;
    va_list ap;
    va_start(ap, fmt);
    *error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

/* Fail with code @c (negative) and one line; NULL for the caller to return. */
static bmq_link *link_fail(int *code, int c, char **error, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static bmq_link *link_fail(int *code, int c, char **error, const char *fmt, ...)
{
    if (code)
        *code = c;
    if (error) {
        va_list ap;
        va_start(ap, fmt);
        *error = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
    return NULL;
}

static json_object *ttl_json(double ttl)
{
    return ttl > 0 ? json_object_new_double(ttl) : NULL;
}

/* Call on the link's client under its lock. */
static int link_call(bmq_link *l, const char *method, json_object *params, json_object **result,
                     char **errtext)
{
    g_mutex_lock(&l->call_lock);
    int rc = bmq_rpc_client_call(l->rpc, method, params, result, errtext);
    g_mutex_unlock(&l->call_lock);
    return rc;
}

static bmq_link *link_open(bmq_bus *bus, int style, const char *host, uint16_t port,
                           const char *pattern, double ttl, int *code, char **error)
{
    if (error)
        *error = NULL;
    if (code)
        *code = 0;
    if (!bus || !host || !*host || !port)
        return link_fail(code, -BMQ_EINVAL, error, "invalid arguments");
    net_bus *nb = net__bus_get(bus);
    bmq_server *srv = bmq_bus_server(bus);
    if (style == NET_STYLE_INTERCONNECT && !srv) {
        net__bus_unref(nb);
        return link_fail(code, -BMQ_EINVAL, error,
                         "interconnect needs a server on this bus: call bmq_init_connection "
                         "first");
    }
    bmq_link *l = net__link_new(nb, style, false);
    net__bus_unref(nb);
    l->ttl = ttl;
    l->peer = strchr(host, ':') ? g_strdup_printf("[%s]:%u", host, (unsigned)port)
                                : g_strdup_printf("%s:%u", host, (unsigned)port);
    l->pattern = g_strdup(pattern);
    char *url = rpc__url_for(host, port);
    /* Links to hubs that share this node's secret present it. */
    l->rpc = bmq_rpc_client_new(url, srv ? srv->secret : NULL);
    g_free(url);
    if (!l->rpc) {
        link_fail(code, -BMQ_EINVAL, error, "bad peer address %s", l->peer);
        net__link_unref(l);
        return NULL;
    }
    bmq_rpc_client_set_timeout(l->rpc, 10);
    rpc__client_set_connect_timeout(l->rpc, 3);

    /* Our own nodes answer bmq.hello; original nodes answer with an error. */
    json_object *params = json_object_new_array();
    json_object_array_add(params, json_object_new_string(l->nb->node_id));
    json_object *result = NULL;
    char *err = NULL;
    int rc = link_call(l, "bmq.hello", params, &result, &err);
    if (rc == -BMQ_ENET || rc == -BMQ_EDENIED) {
        link_fail(code, rc, error, "cannot connect to %s: %s", l->peer,
                  err ? err : bmq_strerror(rc));
        g_free(err);
        net__link_unref(l);
        return NULL;
    }
    l->ext = rc == 0 && json_object_is_type(result, json_type_object) ? 1 : 0;
    json_object *node = NULL;
    if (l->ext && json_object_object_get_ex(result, "node_id", &node) &&
        json_object_is_type(node, json_type_string))
        l->peer_node = g_strdup(json_object_get_string(node));
    json_object_put(result);
    result = NULL;
    g_free(err);
    err = NULL;

    params = json_object_new_array();
    const char *method;
    if (style == NET_STYLE_INTERCONNECT) {
        method = "interconnect";
        l->token = g_uuid_string_random();
        const char *me = srv->host;
        if (!strcmp(me, "0.0.0.0") || !strcmp(me, "::"))
            me = *rpc__client_local_ip(l->rpc) ? rpc__client_local_ip(l->rpc) : "127.0.0.1";
        json_object *addr = json_object_new_array();
        json_object_array_add(addr, json_object_new_string(me));
        json_object_array_add(addr, json_object_new_int(bmq_server_port(srv)));
        json_object_array_add(params, addr);
        json_object_array_add(params, json_object_new_string(l->token));
        json_object_array_add(params, ttl_json(ttl));
        /* The peer may start sending as soon as it has the token. */
        if (net__bus_add_link(l->nb, l, true) < 0) {
            link_fail(code, -BMQ_EEXIST, error, "token collision");
            json_object_put(params);
            net__link_unref(l);
            return NULL;
        }
    } else if (style == NET_STYLE_ONEWAY) {
        method = "connect_oneway";
        json_object_array_add(params, ttl_json(ttl));
    } else {
        method = "connect_via_queue";
        json_object_array_add(params, json_object_new_string(pattern));
        json_object_array_add(params, ttl_json(ttl));
    }
    rc = link_call(l, method, params, &result, &err);
    if (rc < 0 || (result && !json_object_is_type(result, json_type_string))) {
        link_fail(code, rc < 0 ? rc : -BMQ_EPROTO, error, "%s to %s failed: %s", method, l->peer,
                  err      ? err
                  : rc < 0 ? bmq_strerror(rc)
                           : "unexpected result");
        g_free(err);
        json_object_put(result);
        net__link_drop(l, false);
        net__link_unref(l);
        return NULL;
    }
    if (style != NET_STYLE_INTERCONNECT) {
        /* An original server answers connect_oneway with null: keep it. */
        l->token = result ? g_strdup(json_object_get_string(result)) : NULL;
        net__bus_add_link(l->nb, l, false);
    }
    json_object_put(result);
    if (style != NET_STYLE_QUEUE) {
        net__bus_attach_forwarder(l->nb);
        net__link_start(l);
    }
    return l;
}

bmq_link *bmq_interconnect(bmq_bus *bus, const char *host, uint16_t port, double ttl, int *code,
                           char **error)
{
    return link_open(bus, NET_STYLE_INTERCONNECT, host, port, NULL, ttl, code, error);
}

bmq_link *bmq_connect_oneway(bmq_bus *bus, const char *host, uint16_t port, double ttl, int *code,
                             char **error)
{
    return link_open(bus, NET_STYLE_ONEWAY, host, port, NULL, ttl, code, error);
}

bmq_link *bmq_connect_via_queue(bmq_bus *bus, const char *host, uint16_t port, const char *pattern,
                                double ttl, int *code, char **error)
{
    if (error)
        *error = NULL;
    if (!pattern || bmq_id_validate(pattern) < 0)
        return link_fail(code, -BMQ_EID, error, "invalid pattern '%s'",
                         pattern ? pattern : "(null)");
    return link_open(bus, NET_STYLE_QUEUE, host, port, pattern, ttl, code, error);
}

static int string_result(json_object *result)
{
    const char *s =
        json_object_is_type(result, json_type_string) ? json_object_get_string(result) : "";
    if (!strcmp(s, "ok"))
        return 0;
    if (!strcmp(s, "invalid token"))
        return -BMQ_ETOKEN;
    if (!strcmp(s, "timeout"))
        return -BMQ_ETIMEDOUT;
    return -BMQ_EPROTO;
}

int bmq_send_message(bmq_link *link, const char *id, json_object *args, json_object *kwargs)
{
    if (!link || !link->rpc || !id || bmq_id_validate(id) < 0 ||
        (args && !json_object_is_type(args, json_type_array)) ||
        (kwargs && !json_object_is_type(kwargs, json_type_object))) {
        json_object_put(args);
        json_object_put(kwargs);
        return link && link->rpc ? (id && bmq_id_validate(id) < 0 ? -BMQ_EID : -BMQ_ETYPE)
                                 : -BMQ_EINVAL;
    }
    json_object *params = json_object_new_array_ext(4);
    json_object_array_add(params, link->token ? json_object_new_string(link->token) : NULL);
    json_object_array_add(params, json_object_new_string(id));
    json_object_array_add(params, args ? args : json_object_new_array());
    json_object_array_add(params, kwargs ? kwargs : json_object_new_object());
    json_object *result = NULL;
    int rc = link_call(link, "send_message", params, &result, NULL);
    if (rc == 0) {
        rc = string_result(result);
        if (rc == 0) {
            net__atomic_add(&link->sent, 1);
            net__link_touch(link);
        }
    }
    json_object_put(result);
    return rc;
}

static bmq_message *link_get(bmq_link *link, bool block, double timeout_s, bool nowait, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    *err = 0;
    if (!link || !link->rpc) {
        *err = -BMQ_EINVAL;
        return NULL;
    }
    json_object *params = json_object_new_array();
    json_object_array_add(params, link->token ? json_object_new_string(link->token) : NULL);
    if (!nowait) {
        json_object_array_add(params, json_object_new_boolean(block));
        json_object_array_add(params,
                              block && timeout_s >= 0 ? json_object_new_double(timeout_s) : NULL);
    }
    json_object *result = NULL;
    g_mutex_lock(&link->call_lock);
    bmq_rpc_client_set_timeout(link->rpc, !block ? 10 : timeout_s < 0 ? 0 : timeout_s + 10);
    int rc = bmq_rpc_client_call(link->rpc, nowait ? "get_nowait" : "get", params, &result, NULL);
    bmq_rpc_client_set_timeout(link->rpc, 10);
    g_mutex_unlock(&link->call_lock);
    if (rc == -BMQ_EPROTO) {
        *err = -BMQ_EEMPTY; /* an original node reports an empty queue as an error */
        return NULL;
    }
    if (rc < 0) {
        *err = rc;
        return NULL;
    }
    bmq_message *m = NULL;
    if (json_object_is_type(result, json_type_array) && json_object_array_length(result) == 3 &&
        json_object_is_type(json_object_array_get_idx(result, 0), json_type_string)) {
        json_object *a = json_object_array_get_idx(result, 1);
        json_object *k = json_object_array_get_idx(result, 2);
        m = bmq_message_new(json_object_get_string(json_object_array_get_idx(result, 0)),
                            json_object_get(a), json_object_get(k), err);
        if (m) {
            net__atomic_add(&link->received, 1);
            net__link_touch(link);
        }
    } else if (json_object_is_type(result, json_type_string)) {
        rc = string_result(result);
        *err = rc == -BMQ_ETIMEDOUT ? -BMQ_EEMPTY : rc;
    } else {
        *err = -BMQ_EPROTO;
    }
    json_object_put(result);
    return m;
}

bmq_message *bmq_get(bmq_link *link, bool block, double timeout_s, int *err)
{
    return link_get(link, block, timeout_s, false, err);
}

bmq_message *bmq_get_nowait(bmq_link *link, int *err)
{
    return link_get(link, false, 0, true, err);
}

int bmq_close_connection(bmq_link *link)
{
    if (!link)
        return 0;
    bmq_link_set_drop_fn(link, NULL, NULL);
    net__link_drop(link, false);
    net__link_stop(link);
    int rc = 0;
    json_object *params = json_object_new_array();
    json_object_array_add(params, link->token ? json_object_new_string(link->token) : NULL);
    json_object *result = NULL;
    g_mutex_lock(&link->call_lock);
    bmq_rpc_client_set_timeout(link->rpc, 3);
    rc = bmq_rpc_client_call(link->rpc, "close_connection", params, &result, NULL);
    g_mutex_unlock(&link->call_lock);
    if (rc == 0)
        rc = string_result(result);
    json_object_put(result);
    net__link_unref(link);
    return rc;
}

const char *bmq_link_token(const bmq_link *link)
{
    return link ? link->token : NULL;
}

int bmq_link_set_batch(bmq_link *link, unsigned max)
{
    if (!link || max == 0 || max > NET_MAX_BATCH)
        return -BMQ_EINVAL;
    g_mutex_lock(&link->q_lock);
    link->batch = max;
    g_mutex_unlock(&link->q_lock);
    return 0;
}

bool bmq_link_alive(const bmq_link *link)
{
    return link && !__atomic_load_n(&link->dead, __ATOMIC_RELAXED);
}

int bmq_link_flush(bmq_link *link, double timeout_s)
{
    if (!link)
        return -BMQ_EINVAL;
    gint64 until =
        timeout_s < 0 ? G_MAXINT64 : g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    g_mutex_lock(&link->q_lock);
    int rc = 0;
    while (!link->stop && (!g_queue_is_empty(&link->out) || link->in_flight)) {
        if (!g_cond_wait_until(&link->q_cond, &link->q_lock, until)) {
            rc = -BMQ_ETIMEDOUT;
            break;
        }
    }
    if (link->stop && (!g_queue_is_empty(&link->out) || link->in_flight || link->dead))
        rc = -BMQ_ECLOSED;
    g_mutex_unlock(&link->q_lock);
    return rc;
}

void bmq_link_set_drop_fn(bmq_link *link, bmq_link_drop_fn fn, void *user_data)
{
    if (!link)
        return;
    g_mutex_lock(&link->nb->lock);
    link->drop_fn = fn;
    link->drop_data = user_data;
    g_mutex_unlock(&link->nb->lock);
}

int bmq_link_check(bmq_link *link, char **error)
{
    if (error)
        *error = NULL;
    if (!link || !link->rpc)
        return -BMQ_EINVAL;
    if (!bmq_link_alive(link)) {
        set_error(error, "the link to %s was dropped", link->peer);
        return -BMQ_ECLOSED;
    }
    /* bmq.hello: our nodes answer with their node id, which is new after a
     * restart; original nodes answer with an error, which still proves
     * they are there. */
    json_object *params = json_object_new_array();
    json_object_array_add(params, json_object_new_string(link->nb->node_id));
    json_object *result = NULL;
    char *err = NULL;
    int rc = link_call(link, "bmq.hello", params, &result, &err);
    json_object *node = NULL;
    if (rc == -BMQ_ENET || rc == -BMQ_EDENIED) {
        set_error(error, "%s does not answer: %s", link->peer, err ? err : bmq_strerror(rc));
        rc = -BMQ_ENET;
    } else if (link->peer_node && json_object_object_get_ex(result, "node_id", &node) &&
               g_strcmp0(json_object_get_string(node), link->peer_node) != 0) {
        set_error(error, "%s restarted and no longer knows the link", link->peer);
        rc = -BMQ_ETOKEN;
    } else {
        rc = 0;
    }
    g_free(err);
    json_object_put(result);
    if (rc < 0) {
        link->drop_rc = rc;
        net__link_drop(link, false);
    }
    return rc;
}
