/* rpc_dispatch.c - JSON-RPC 1.0 request parsing and the berryMQ methods.
 * Independent of sockets: rpc__dispatch() turns a request body into a
 * response body, so the fuzzer and unit tests drive it directly. */
#include "net_internal.h"

#include <stdlib.h>

#include <berrymq/json.h>

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

typedef json_object *(*builtin_fn)(bmq_server *s, json_object *params, const rpc_ctx *ctx,
                                   json_object **error);

int bmq_rpc_code(int code)
{
    if (code <= BMQ_RPC_ESERVER && code >= -32768)
        return code; /* JSON-RPC's own, or already mapped */
    int n = code < 0 ? -code : code;
    if (n > 0 && n < 100) /* the server range is -32000..-32099 */
        return BMQ_RPC_ESERVER - n;
    return BMQ_RPC_EINTERNAL;
}

int bmq_rpc_error_code(json_object *error)
{
    json_object *c = NULL;
    if (!json_object_is_type(error, json_type_object) ||
        !json_object_object_get_ex(error, "code", &c) || !json_object_is_type(c, json_type_int))
        return -BMQ_EPROTO;
    int64_t v = json_object_get_int64(c);
    if (v < BMQ_RPC_ESERVER && v > BMQ_RPC_ESERVER - 100)
        return (int)(v - BMQ_RPC_ESERVER); /* -32011 -> -11 */
    return -BMQ_EPROTO;
}

json_object *bmq_rpc_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_int(bmq_rpc_code(code)));
    json_object_object_add(e, "message", json_object_new_string(msg));
    g_free(msg);
    return e;
}

/* ---- parameter checks ---- */

static bool params_count(json_object *params, size_t min, size_t max, json_object **error,
                         const char *method)
{
    size_t n = json_object_array_length(params);
    if (n < min || n > max) {
        if (min == max)
            *error = bmq_rpc_error(RPC_EPARAMS, "%s takes %zu params, got %zu", method, min, n);
        else
            *error =
                bmq_rpc_error(RPC_EPARAMS, "%s takes %zu to %zu params, got %zu", method, min, max, n);
        return false;
    }
    return true;
}

static bool is_number(json_object *o)
{
    return json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double);
}

/* ttl: a number of seconds or null; 0/null never expires (as the original). */
static bool get_ttl(json_object *o, double *ttl, json_object **error)
{
    if (!o) {
        *ttl = 0;
        return true;
    }
    double v = is_number(o) ? json_object_get_double(o) : NAN;
    if (!isfinite(v) || v < 0 || v > 1e9) {
        *error = bmq_rpc_error(RPC_EPARAMS, "ttl must be a number of seconds >= 0 or null");
        return false;
    }
    *ttl = v;
    return true;
}

/* Who holds an inbound link, and the ttl it may have: only a local client
 * of the server's own uid may keep one forever (ttl 0); others get at most
 * the server's max_ttl. */
static void link_owner(bmq_server *s, bmq_link *l, const rpc_ctx *ctx)
{
    l->owner = !ctx || !ctx->peer_key || ctx->owner;
    l->peer_key = ctx && ctx->peer_key ? g_strdup(ctx->peer_key) : NULL;
    if (!l->owner && s->max_ttl > 0 && (l->ttl <= 0 || l->ttl > s->max_ttl))
        l->ttl = s->max_ttl;
}

/* The refusal of a link net__bus_add_link did not take, naming the limit. */
static json_object *limit_error(bmq_server *s, const char *method, int rc, const rpc_ctx *ctx)
{
    if (rc == -BMQ_EDENIED)
        return bmq_rpc_error(RPC_EINTERNAL,
                          "%s: too many connections from %s: at most %u queues and links per "
                          "peer (max_queues_per_peer)",
                          method, ctx && ctx->peer_key ? ctx->peer_key : "this peer",
                          s->max_queues_per_peer);
    if (s->max_queues)
        return bmq_rpc_error(RPC_EINTERNAL,
                          "%s: too many connections: at most %u queues and links in all "
                          "(max_queues)",
                          method, s->max_queues);
    return bmq_rpc_error(RPC_EINTERNAL, "%s: too many connections", method);
}

/* A token parameter: string or null (null is never a valid token here). */
static bool get_token(json_object *o, const char **token, json_object **error)
{
    if (!o) {
        *token = NULL;
        return true;
    }
    if (!json_object_is_type(o, json_type_string)) {
        *error = bmq_rpc_error(RPC_EPARAMS, "token must be a string");
        return false;
    }
    *token = json_object_get_string(o);
    return true;
}

static json_object *str(const char *s)
{
    return json_object_new_string(s);
}

/* Find a token; NULL with *answer set to "invalid token" or "timeout". */
static bmq_link *find_link(bmq_server *s, const char *token, json_object **answer)
{
    bool expired = false;
    bmq_link *l = net__bus_lookup(s->nb, token, &expired);
    if (!l)
        *answer = str(expired ? "timeout" : "invalid token");
    else
        net__link_touch(l);
    return l;
}

static char *new_token(void)
{
    return g_uuid_string_random();
}

/* ---- methods ---- */

static json_object *m_interconnect(bmq_server *s, json_object *params, const rpc_ctx *ctx,
                                   json_object **error)
{
    if (!params_count(params, 3, 3, error, "interconnect"))
        return NULL;
    json_object *addr = json_object_array_get_idx(params, 0);
    json_object *tok = json_object_array_get_idx(params, 1);
    bool pair = json_object_is_type(addr, json_type_array) && json_object_array_length(addr) == 2;
    json_object *host = pair ? json_object_array_get_idx(addr, 0) : NULL;
    json_object *port = pair ? json_object_array_get_idx(addr, 1) : NULL;
    double ttl;
    if (!pair || !json_object_is_type(host, json_type_string) ||
        !json_object_is_type(port, json_type_int) || json_object_get_int64(port) < 1 ||
        json_object_get_int64(port) > 65535 || json_object_get_string_len(host) == 0 ||
        json_object_get_string_len(host) > 255) {
        *error = bmq_rpc_error(RPC_EPARAMS, "interconnect: address must be [host, port]");
        return NULL;
    }
    if (!json_object_is_type(tok, json_type_string) || json_object_get_string_len(tok) == 0 ||
        json_object_get_string_len(tok) > NET_TOKEN_MAX) {
        *error = bmq_rpc_error(RPC_EPARAMS, "interconnect: token must be a non-empty string");
        return NULL;
    }
    if (!get_ttl(json_object_array_get_idx(params, 2), &ttl, error))
        return NULL;
    const char *h = json_object_get_string(host);
    uint16_t p = (uint16_t)json_object_get_int64(port);
    bmq_link *l = net__link_new(s->nb, NET_STYLE_INTERCONNECT, true);
    l->token = g_strdup(json_object_get_string(tok));
    l->ttl = ttl;
    l->peer = strchr(h, ':') ? g_strdup_printf("[%s]:%u", h, p) : g_strdup_printf("%s:%u", h, p);
    l->offline = s->offline;
    if (!s->offline) {
        char *url = rpc__url_for(h, p);
        l->rpc = bmq_rpc_client_new(url, s->secret);
        g_free(url);
        bmq_rpc_client_set_timeout(l->rpc, 5);
        rpc__client_set_connect_timeout(l->rpc, 2);
    }
    link_owner(s, l, ctx);
    int rc = !s->offline && !l->rpc ? -BMQ_EINVAL : net__bus_add_link(s->nb, l, true);
    if (rc == -BMQ_EFULL || rc == -BMQ_EDENIED) {
        *error = limit_error(s, "interconnect", rc, ctx);
        net__link_unref(l);
        return NULL;
    }
    if (rc < 0) {
        *error = bmq_rpc_error(RPC_EPARAMS, "interconnect: %s",
                            rc == -BMQ_EEXIST ? "token already in use" : "bad address");
        net__link_unref(l);
        return NULL;
    }
    net__bus_attach_forwarder(s->nb);
    net__link_start(l);
    json_object *r = str(l->token);
    net__link_unref(l);
    return r;
}

static json_object *add_server_link(bmq_server *s, bmq_link *l, const rpc_ctx *ctx,
                                    json_object **error)
{
    l->token = new_token();
    l->peer = g_strdup(ctx && ctx->peer ? ctx->peer : "local");
    l->offline = true; /* inbound 02/03 links never call out */
    link_owner(s, l, ctx);
    int rc = net__bus_add_link(s->nb, l, true);
    if (rc < 0) {
        *error = rc == -BMQ_EFULL || rc == -BMQ_EDENIED
                     ? limit_error(s, l->style == NET_STYLE_QUEUE ? "connect_via_queue"
                                                                  : "connect_oneway",
                                   rc, ctx)
                     : bmq_rpc_error(RPC_EINTERNAL, "token collision");
        net__link_unref(l);
        return NULL;
    }
    json_object *r = str(l->token);
    net__link_unref(l);
    return r;
}

static json_object *m_connect_oneway(bmq_server *s, json_object *params, const rpc_ctx *ctx,
                                     json_object **error)
{
    double ttl;
    if (!params_count(params, 0, 1, error, "connect_oneway") ||
        !get_ttl(json_object_array_get_idx(params, 0), &ttl, error))
        return NULL;
    if (json_object_array_length(params) == 0)
        ttl = 1000; /* the original's default */
    bmq_link *l = net__link_new(s->nb, NET_STYLE_ONEWAY, true);
    l->ttl = ttl;
    return add_server_link(s, l, ctx, error);
}

static json_object *m_connect_via_queue(bmq_server *s, json_object *params, const rpc_ctx *ctx,
                                        json_object **error)
{
    double ttl;
    if (!params_count(params, 2, 2, error, "connect_via_queue"))
        return NULL;
    json_object *pat = json_object_array_get_idx(params, 0);
    if (!json_object_is_type(pat, json_type_string) ||
        bmq_id_validate(json_object_get_string(pat)) < 0) {
        *error = bmq_rpc_error(RPC_EPARAMS, "connect_via_queue: identifier must be a valid pattern");
        return NULL;
    }
    if (json_object_get_string(pat)[0] == '_') {
        *error = bmq_rpc_error(RPC_EPARAMS, "connect_via_queue: local identifiers (_NAME) never "
                                            "leave the hub; a plugin can follow them");
        return NULL;
    }
    if (!get_ttl(json_object_array_get_idx(params, 1), &ttl, error))
        return NULL;
    size_t cap = s->max_queue_messages ? s->max_queue_messages : NET_QUEUE_CAP;
    bmq_queue *q = bmq_queue_new_full(s->bus, json_object_get_string(pat), false, cap,
                                      BMQ_OVERFLOW_DROP_OLDEST);
    if (!q) {
        *error = bmq_rpc_error(RPC_EPARAMS, "connect_via_queue: bad identifier");
        return NULL;
    }
    bmq_queue_set_max_bytes(q, s->max_queue_bytes ? s->max_queue_bytes : NET_QUEUE_BYTES);
    bmq_queue_set_local(q, false); /* the client is another process */
    bmq_link *l = net__link_new(s->nb, NET_STYLE_QUEUE, true);
    l->ttl = ttl;
    l->queue = q;
    l->pattern = g_strdup(json_object_get_string(pat));
    return add_server_link(s, l, ctx, error);
}

static json_object *m_send_message(bmq_server *s, json_object *params, const rpc_ctx *ctx,
                                   json_object **error)
{
    if (!params_count(params, 4, 5, error, "send_message"))
        return NULL;
    const char *token;
    json_object *id = json_object_array_get_idx(params, 1);
    json_object *args = json_object_array_get_idx(params, 2);
    json_object *kwargs = json_object_array_get_idx(params, 3);
    json_object *meta = json_object_array_get_idx(params, 4);
    if (!get_token(json_object_array_get_idx(params, 0), &token, error))
        return NULL;
    if (!json_object_is_type(id, json_type_string) ||
        bmq_id_validate(json_object_get_string(id)) < 0) {
        *error = bmq_rpc_error(RPC_EPARAMS, "send_message: identifier must be a valid identifier");
        return NULL;
    }
    if ((args && !json_object_is_type(args, json_type_array)) ||
        (kwargs && !json_object_is_type(kwargs, json_type_object)) ||
        (meta && !json_object_is_type(meta, json_type_object))) {
        *error = bmq_rpc_error(RPC_EPARAMS, "send_message: args must be an array, kwargs an object");
        return NULL;
    }
    /* A local name steers the process itself (_hub:quit, _notify:pause):
     * nodes never send one, and obeying it would let any client stop or
     * silence the hub. Logged at most once a minute. */
    const char *idtext = json_object_get_string(id);
    if (idtext[0] == '_') {
        gint64 now = g_get_monotonic_time();
        gint64 last = __atomic_load_n(&s->local_logged, __ATOMIC_RELAXED);
        if ((!last || now - last >= 60 * G_USEC_PER_SEC) &&
            __atomic_compare_exchange_n(&s->local_logged, &last, now, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            net__server_log(s, BMQ_LOG_WARNING,
                            "ignoring %.100s received from another node (%s): local names are "
                            "not accepted over the network; logged at most once a minute",
                            idtext, ctx && ctx->peer && *ctx->peer ? ctx->peer : "a client");
        *error = bmq_rpc_error(BMQ_EDENIED,
                               "'%.100s' is a local identifier: it is not accepted from another "
                               "process",
                               idtext);
        return NULL;
    }
    const char *uid = NULL;
    json_object *u = NULL;
    if (meta && json_object_object_get_ex(meta, "uid", &u)) {
        if (!json_object_is_type(u, json_type_string) || json_object_get_string_len(u) == 0 ||
            json_object_get_string_len(u) > 64) {
            *error = bmq_rpc_error(RPC_EPARAMS, "send_message: uid must be a short string");
            return NULL;
        }
        uid = json_object_get_string(u);
    }
    json_object *answer = NULL;
    bmq_link *l = find_link(s, token, &answer);
    if (!l)
        return answer;
    if (uid && net__seen_check_add(s->nb, uid)) {
        net__atomic_add(&s->nb->duplicates, 1);
        net__link_unref(l);
        return str("ok");
    }
    /* Take args/kwargs out of the request so the message owns them alone. */
    json_object_get(args);
    json_object_get(kwargs);
    json_object_array_put_idx(params, 2, NULL);
    json_object_array_put_idx(params, 3, NULL);
    int err = 0;
    bmq_message *m = bmq_message_new_full(json_object_get_string(id), args, kwargs, uid, l, &err);
    if (!m) {
        net__link_unref(l);
        *error = bmq_rpc_error(RPC_EPARAMS, "send_message: %s", bmq_strerror(err));
        return NULL;
    }
    net__atomic_add(&l->received, 1);
    net__atomic_add(&s->nb->messages_in, 1);
    bmq_twitter_message(s->bus, m);
    net__link_unref(l);
    return str("ok");
}

static json_object *queue_get(bmq_server *s, const char *token, bool block, double timeout,
                              const rpc_ctx *ctx)
{
    json_object *answer = NULL;
    bmq_link *l = find_link(s, token, &answer);
    if (!l)
        return answer;
    if (l->style != NET_STYLE_QUEUE || !l->queue) {
        net__link_unref(l);
        return str("invalid token");
    }
    if (timeout < 0 || timeout > s->max_block)
        timeout = s->max_block;
    bool wait = block && timeout > 0;
    bmq_message *m = wait && !(ctx && ctx->defer) ? bmq_queue_get(l->queue, true, timeout)
                                                  : bmq_queue_get_nowait(l->queue);
    net__link_touch(l);
    if (!m && wait && ctx && ctx->defer) {
        /* nothing yet: wait on a thread that may block */
        *ctx->defer = NET_DEFER_WAIT;
        net__link_unref(l);
        return NULL;
    }
    if (!m) {
        net__link_unref(l);
        return str("timeout");
    }
    json_object *id, *args, *kwargs;
    json_object *r = NULL;
    if (net__message_parts(m, &id, &args, &kwargs) == 0) {
        r = json_object_new_array_ext(3);
        json_object_array_add(r, id);
        json_object_array_add(r, args);
        json_object_array_add(r, kwargs);
        net__atomic_add(&l->sent, 1);
        net__atomic_add(&s->nb->messages_out, 1);
    }
    bmq_message_unref(m);
    net__link_unref(l);
    return r;
}

static json_object *m_get(bmq_server *s, json_object *params, const rpc_ctx *ctx,
                          json_object **error)
{
    const char *token;
    if (!params_count(params, 1, 3, error, "get") ||
        !get_token(json_object_array_get_idx(params, 0), &token, error))
        return NULL;
    json_object *b = json_object_array_get_idx(params, 1);
    json_object *t = json_object_array_get_idx(params, 2);
    if ((b && !json_object_is_type(b, json_type_boolean) &&
         !json_object_is_type(b, json_type_int)) ||
        (t && !is_number(t))) {
        *error = bmq_rpc_error(RPC_EPARAMS, "get: block must be a boolean, timeout a number or null");
        return NULL;
    }
    bool block = json_object_array_length(params) < 2 || json_object_get_boolean(b);
    double timeout = t ? json_object_get_double(t) : -1;
    if (!isfinite(timeout))
        timeout = -1;
    return queue_get(s, token, block, timeout, ctx);
}

/* bmq.get_many [token, block, timeout, max]: up to @max queued messages in
 * one answer, {"messages": [[id, args, kwargs]...], "dropped": N} where N
 * counts what the queue had to drop (full) since the previous answer, so a
 * listener learns of every loss; with N > 0, "dropped_by" splits it by the
 * bound that was reached ({"max_queue_messages": A, "max_queue_bytes": B},
 * the zero ones left out). Blocks like get for the first message. */
static json_object *m_get_many(bmq_server *s, json_object *params, const rpc_ctx *ctx,
                               json_object **error)
{
    const char *token;
    if (!params_count(params, 1, 4, error, "bmq.get_many") ||
        !get_token(json_object_array_get_idx(params, 0), &token, error))
        return NULL;
    json_object *b = json_object_array_get_idx(params, 1);
    json_object *t = json_object_array_get_idx(params, 2);
    json_object *n = json_object_array_get_idx(params, 3);
    if ((b && !json_object_is_type(b, json_type_boolean) &&
         !json_object_is_type(b, json_type_int)) ||
        (t && !is_number(t)) || (n && !json_object_is_type(n, json_type_int))) {
        *error = bmq_rpc_error(RPC_EPARAMS,
                            "bmq.get_many: block must be a boolean, timeout a number or null, "
                            "max an integer");
        return NULL;
    }
    bool block = json_object_array_length(params) < 2 || json_object_get_boolean(b);
    double timeout = t ? json_object_get_double(t) : -1;
    if (!isfinite(timeout))
        timeout = -1;
    int64_t max = n ? json_object_get_int64(n) : 1000;
    max = max < 1 ? 1 : max > NET_GET_MANY_MAX ? NET_GET_MANY_MAX : max;
    json_object *answer = NULL;
    bmq_link *l = find_link(s, token, &answer);
    if (!l)
        return answer;
    if (l->style != NET_STYLE_QUEUE || !l->queue) {
        net__link_unref(l);
        return str("invalid token");
    }
    if (timeout < 0 || timeout > s->max_block)
        timeout = s->max_block;
    bool wait = block && timeout > 0;
    bmq_message *m = wait && !(ctx && ctx->defer) ? bmq_queue_get(l->queue, true, timeout)
                                                  : bmq_queue_get_nowait(l->queue);
    if (!m && wait && ctx && ctx->defer) {
        *ctx->defer = NET_DEFER_WAIT;
        net__link_unref(l);
        return NULL;
    }
    json_object *msgs = json_object_new_array();
    for (int64_t i = 0; m; i++) {
        json_object *id, *args, *kwargs;
        if (net__message_parts(m, &id, &args, &kwargs) == 0) {
            json_object *r = json_object_new_array_ext(3);
            json_object_array_add(r, id);
            json_object_array_add(r, args);
            json_object_array_add(r, kwargs);
            json_object_array_add(msgs, r);
            net__atomic_add(&l->sent, 1);
            net__atomic_add(&s->nb->messages_out, 1);
        }
        bmq_message_unref(m);
        m = i + 1 < max ? bmq_queue_get_nowait(l->queue) : NULL;
    }
    net__link_touch(l);
    /* Read the byte part first: it never runs ahead of the total. */
    uint64_t byte_drops = bmq_queue_dropped_over_bytes(l->queue);
    uint64_t drops = bmq_queue_dropped(l->queue);
    uint64_t told = __atomic_exchange_n(&l->drops_told, drops, __ATOMIC_RELAXED);
    uint64_t byte_told = __atomic_exchange_n(&l->byte_drops_told, byte_drops, __ATOMIC_RELAXED);
    json_object *r = json_object_new_object();
    json_object_object_add(r, "messages", msgs);
    json_object_object_add(r, "dropped", json_object_new_int64((int64_t)(drops - told)));
    if (drops > told) {
        uint64_t nb = byte_drops - byte_told;
        uint64_t nm = drops - told > nb ? drops - told - nb : 0;
        json_object *by = json_object_new_object();
        if (nm)
            json_object_object_add(by, "max_queue_messages", json_object_new_int64((int64_t)nm));
        if (nb)
            json_object_object_add(by, "max_queue_bytes", json_object_new_int64((int64_t)nb));
        json_object_object_add(r, "dropped_by", by);
    }
    net__link_unref(l);
    return r;
}

static json_object *m_get_nowait(bmq_server *s, json_object *params, const rpc_ctx *ctx,
                                 json_object **error)
{
    const char *token;
    if (!params_count(params, 1, 1, error, "get_nowait") ||
        !get_token(json_object_array_get_idx(params, 0), &token, error))
        return NULL;
    return queue_get(s, token, false, 0, ctx);
}

static json_object *m_close_connection(bmq_server *s, json_object *params, const rpc_ctx *ctx,
                                       json_object **error)
{
    const char *token;
    /* The original also accepts an address as a second parameter. */
    if (!params_count(params, 1, 2, error, "close_connection") ||
        !get_token(json_object_array_get_idx(params, 0), &token, error))
        return NULL;
    bool expired;
    bmq_link *l = net__bus_lookup(s->nb, token, &expired);
    if (l) {
        net__link_drop(l, false);
        net__link_stop(l);
        net__link_unref(l);
    }
    return str("ok");
}

static json_object *m_hello(bmq_server *s, json_object *params, const rpc_ctx *ctx,
                            json_object **error)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "node_id", str(s->nb->node_id));
    json_object_object_add(r, "version", str(bmq_version()));
    json_object_object_add(r, "batch", json_object_new_boolean(true));
    json_object_object_add(r, "uid", json_object_new_boolean(true));
    return r;
}

/* ---- the method table ---- */

static const struct {
    const char *name;
    rpc_builtin_fn fn;
} builtins[] = {
    {"interconnect", m_interconnect},
    {"connect_oneway", m_connect_oneway},
    {"connect_via_queue", m_connect_via_queue},
    {"send_message", m_send_message},
    {"get", m_get},
    {"get_nowait", m_get_nowait},
    {"bmq.get_many", m_get_many},
    {"close_connection", m_close_connection},
    {"bmq.hello", m_hello},
};

void rpc__methods_init(bmq_server *s)
{
    g_rw_lock_init(&s->methods_lock);
    s->methods = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (size_t i = 0; i < G_N_ELEMENTS(builtins); i++) {
        struct rpc_method *m = g_new0(struct rpc_method, 1);
        m->builtin = builtins[i].fn;
        g_hash_table_insert(s->methods, g_strdup(builtins[i].name), m);
    }
}

void rpc__methods_free(bmq_server *s)
{
    g_hash_table_destroy(s->methods);
    g_rw_lock_clear(&s->methods_lock);
}

bool rpc__method_find(bmq_server *s, const char *name, struct rpc_method *out)
{
    g_rw_lock_reader_lock(&s->methods_lock);
    struct rpc_method *m = g_hash_table_lookup(s->methods, name);
    if (m)
        *out = *m;
    g_rw_lock_reader_unlock(&s->methods_lock);
    return m != NULL;
}

int bmq_server_add_method(bmq_server *s, const char *name, bmq_rpc_method_fn fn, void *user_data)
{
    return bmq_server_add_method_full(s, name, fn, user_data, 0);
}

int bmq_server_add_method_full(bmq_server *s, const char *name, bmq_rpc_method_fn fn,
                               void *user_data, unsigned flags)
{
    if (!s || !name || !*name || !fn)
        return -BMQ_EINVAL;
    if (g_str_has_prefix(name, "bmq."))
        return -BMQ_EEXIST; /* the extension's own, present and future */
    g_rw_lock_writer_lock(&s->methods_lock);
    int rc = -BMQ_EEXIST; /* also a built-in's name */
    if (!g_hash_table_contains(s->methods, name)) {
        struct rpc_method *m = g_new0(struct rpc_method, 1);
        m->fn = fn;
        m->user_data = user_data;
        m->flags = flags;
        g_hash_table_insert(s->methods, g_strdup(name), m);
        rc = 0;
    }
    g_rw_lock_writer_unlock(&s->methods_lock);
    return rc;
}

/* ---- dispatch ---- */

static void append_json(GString *out, json_object *o)
{
    if (!o) {
        g_string_append(out, "null");
        return;
    }
    size_t len = 0;
    const char *t = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    g_string_append_len(out, t, (gssize)len);
}

/* Append {"id":..,"result":..,"error":..} (the layout json-c would print) and
 * free result/error. Building text directly saves two objects per answer on
 * the batch fast path. */
static bool response(GString *out, json_object *id, json_object *result, json_object *error)
{
    g_string_append(out, "{\"id\":");
    append_json(out, id);
    g_string_append(out, ",\"result\":");
    if (error)
        g_string_append(out, "null");
    else if (json_object_is_type(result, json_type_string) &&
             !strcmp(json_object_get_string(result), "ok"))
        g_string_append(out, "\"ok\"");
    else
        append_json(out, result);
    g_string_append(out, ",\"error\":");
    append_json(out, error);
    g_string_append_c(out, '}');
    json_object_put(result);
    json_object_put(error);
    return true;
}

static bool call_one(bmq_server *s, json_object *req, const rpc_ctx *ctx, GString *out)
{
    json_object *id = NULL, *method = NULL, *params = NULL, *error = NULL, *result = NULL;
    if (!json_object_is_type(req, json_type_object)) {
        net__atomic_add(&s->errors, 1);
        return response(out, NULL, NULL, bmq_rpc_error(RPC_EREQUEST, "request must be a JSON object"));
    }
    json_object_object_get_ex(req, "id", &id);
    if (!json_object_object_get_ex(req, "method", &method) ||
        !json_object_is_type(method, json_type_string)) {
        net__atomic_add(&s->errors, 1);
        return response(out, id, NULL, bmq_rpc_error(RPC_EREQUEST, "method must be a string"));
    }
    bool has_params = json_object_object_get_ex(req, "params", &params);
    if (has_params && params && !json_object_is_type(params, json_type_array)) {
        net__atomic_add(&s->errors, 1);
        return response(out, id, NULL, bmq_rpc_error(RPC_EREQUEST, "params must be an array"));
    }
    if (!params) {
        params = json_object_new_array();
        json_object_object_add(req, "params", params);
    }
    const char *name = json_object_get_string(method);
    net__atomic_add(&s->requests, 1);
    struct rpc_method m;
    bool found = rpc__method_find(s, name, &m);
    if (found && m.builtin) {
        result = m.builtin(s, params, ctx, &error);
        if (ctx && ctx->defer && *ctx->defer) {
            __atomic_sub_fetch(&s->requests, 1, __ATOMIC_RELAXED);
            json_object_put(error);
            return false;
        }
        goto done;
    }
    if (found) {
        if (ctx && ctx->defer) { /* rpc__dispatch checked before: not reached */
            __atomic_sub_fetch(&s->requests, 1, __ATOMIC_RELAXED);
            *ctx->defer = NET_DEFER_CALL;
            return false;
        }
        const bmq_rpc_peer_info *who = bmq_rpc_peer();
        if ((m.flags & BMQ_RPC_ADMIN) && !(who && (who->same_user || who->secret))) {
            error = bmq_rpc_error(BMQ_EDENIED,
                               "%.100s is only for the hub's own user (its Unix socket or "
                               "loopback from the same uid) or with the secret",
                               name);
            goto done;
        }
        result = m.fn(params, m.user_data, &error);
        if (error && json_object_is_type(error, json_type_string)) {
            json_object *e = bmq_rpc_error(RPC_EINTERNAL, "%s", json_object_get_string(error));
            json_object_put(error);
            error = e;
        }
    } else {
        error = bmq_rpc_error(RPC_EMETHOD, "unknown method: %.100s", name);
    }
done:
    if (error)
        net__atomic_add(&s->errors, 1);
    return response(out, id, result, error);
}

/* What running @req may wait for, before anything is run: a method added by
 * the program (it may take its time) or a get that may block. */
static int defer_kind(bmq_server *s, json_object *req)
{
    json_object *method = NULL, *params = NULL;
    if (!json_object_is_type(req, json_type_object) ||
        !json_object_object_get_ex(req, "method", &method) ||
        !json_object_is_type(method, json_type_string))
        return NET_DEFER_NONE;
    const char *name = json_object_get_string(method);
    if (!strcmp(name, "get") || !strcmp(name, "bmq.get_many")) {
        json_object_object_get_ex(req, "params", &params);
        json_object *b = json_object_is_type(params, json_type_array)
                             ? json_object_array_get_idx(params, 1)
                             : NULL;
        bool block = !b || json_object_get_boolean(b);
        return block ? NET_DEFER_WAIT : NET_DEFER_NONE;
    }
    struct rpc_method m;
    return rpc__method_find(s, name, &m) && m.builtin ? NET_DEFER_NONE : NET_DEFER_CALL;
}

char *rpc__dispatch(bmq_server *s, const char *body, size_t len, const rpc_ctx *ctx)
{
    if (len > 1 && body[0] == '[') {
        GString *fast = g_string_sized_new(len / 2 + 64);
        if (rpc__dispatch_fast(s, body, len, fast))
            return g_string_free(fast, FALSE);
        g_string_free(fast, TRUE);
    }
    /* Big integers exact; NUL and invalid UTF-8 refused; only whitespace
     * after the value. */
    json_object *req = NULL;
    char *perr = NULL;
    bool parsed = bmq_json_parse(body, len, 0, &req, &perr) == 0;
    if (ctx && ctx->defer && req) {
        /* A batch is run whole where it may wait, so that no part of it
         * runs twice; a single get first tries without waiting. */
        int kind = NET_DEFER_NONE;
        if (json_object_is_type(req, json_type_array)) {
            size_t n = json_object_array_length(req);
            for (size_t i = 0; i < n && n <= NET_MAX_BATCH && kind != NET_DEFER_WAIT; i++)
                kind = MAX(kind, defer_kind(s, json_object_array_get_idx(req, i)));
        } else if (defer_kind(s, req) == NET_DEFER_CALL) {
            kind = NET_DEFER_CALL;
        }
        if (kind) {
            *ctx->defer = kind;
            json_object_put(req);
            return NULL;
        }
    }
    GString *out = g_string_sized_new(len / 2 + 64);
    if (!parsed) {
        net__atomic_add(&s->errors, 1);
        response(out, NULL, NULL, bmq_rpc_error(RPC_EPARSE, "parse error: %s", perr));
    } else if (!json_object_is_type(req, json_type_object) &&
               !json_object_is_type(req, json_type_array)) {
        net__atomic_add(&s->errors, 1);
        response(out, NULL, NULL,
                 bmq_rpc_error(RPC_EREQUEST,
                            "invalid request: expected a request object or a batch array, got %s",
                            req ? json_type_to_name(json_object_get_type(req)) : "null"));
    } else if (json_object_is_type(req, json_type_array)) {
        size_t n = json_object_array_length(req);
        if (n == 0 || n > NET_MAX_BATCH) {
            net__atomic_add(&s->errors, 1);
            response(
                out, NULL, NULL,
                n ? bmq_rpc_error(RPC_EREQUEST, "batch of %zu requests: at most %d", n, NET_MAX_BATCH)
                  : bmq_rpc_error(RPC_EREQUEST, "empty batch"));
        } else {
            g_string_append_c(out, '[');
            for (size_t i = 0; i < n; i++) {
                if (i)
                    g_string_append_c(out, ',');
                call_one(s, json_object_array_get_idx(req, i), ctx, out);
            }
            g_string_append_c(out, ']');
        }
    } else {
        call_one(s, req, ctx, out);
        if (ctx && ctx->defer && *ctx->defer) {
            json_object_put(req);
            g_string_free(out, TRUE);
            return NULL;
        }
    }
    json_object_put(req);
    free(perr);
    char *text = g_string_free(out, FALSE);
    return text;
}
