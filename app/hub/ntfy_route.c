/* ntfy_route.c - which ntfy request a path is, parameters, error answers.
 *
 *   POST|PUT /TOPIC                      publish the body
 *   GET|POST|PUT /TOPIC/{publish,send,trigger}  publish from parameters
 *   POST /   (JSON with "topic")         publish ntfy's JSON form
 *   GET /TOPIC[,TOPIC...]/{json,sse,raw} subscribe (stream or poll=1)
 *   GET /v1/health                       {"healthy":true}
 *
 * "/JSON" stays the JSON-RPC endpoint, so "JSON" is no topic here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <microhttpd.h>

#include "hub.h"
#include "ntfy.h"

void ntfy_cfg_defaults(ntfy_cfg *c)
{
    c->enabled = true;
    c->message_limit = 4096;
    c->keepalive_s = 45;
    c->max_subscribers = 64;
    c->cache_messages = 1000;
    c->subscriber_buffer = 256 * 1024;
}

static int cfg_uint(json_object *v, const char *key, int64_t min, int64_t max, int64_t *out,
                    char **error)
{
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < min ||
        json_object_get_int64(v) > max) {
        *error = g_strdup_printf(
            "%s: expected a number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT, key, min, max);
        return -1;
    }
    *out = json_object_get_int64(v);
    return 0;
}

int ntfy_cfg_parse(json_object *v, ntfy_cfg *c, char **error)
{
    ntfy_cfg_defaults(c);
    if (json_object_is_type(v, json_type_boolean)) {
        c->enabled = json_object_get_boolean(v);
        return 0;
    }
    if (!json_object_is_type(v, json_type_object)) {
        *error = g_strdup("expected true, false or an object");
        return -1;
    }
    json_object_object_foreach(v, k, e)
    {
        int64_t n = 0;
        if (k[0] == '_')
            continue;
        if (!strcmp(k, "enabled")) {
            if (!json_object_is_type(e, json_type_boolean)) {
                *error = g_strdup("enabled: expected true or false");
                return -1;
            }
            c->enabled = json_object_get_boolean(e);
        } else if (!strcmp(k, "message_limit")) {
            if (cfg_uint(e, k, 16, 1 << 20, &n, error))
                return -1;
            c->message_limit = (size_t)n;
        } else if (!strcmp(k, "keepalive")) {
            if (cfg_uint(e, k, 1, 3600, &n, error))
                return -1;
            c->keepalive_s = (unsigned)n;
        } else if (!strcmp(k, "max_subscribers")) {
            if (cfg_uint(e, k, 0, 10000, &n, error))
                return -1;
            c->max_subscribers = (unsigned)n;
        } else if (!strcmp(k, "cache_messages")) {
            if (cfg_uint(e, k, 0, 1000000, &n, error))
                return -1;
            c->cache_messages = (size_t)n;
        } else if (!strcmp(k, "subscriber_buffer")) {
            if (cfg_uint(e, k, 4096, 64 << 20, &n, error))
                return -1;
            c->subscriber_buffer = (size_t)n;
        } else {
            *error = g_strdup_printf("%s: unknown key (known: enabled, message_limit, "
                                     "keepalive, max_subscribers, cache_messages, "
                                     "subscriber_buffer)",
                                     k);
            return -1;
        }
    }
    return 0;
}

bool ntfy__topic_valid(const char *s, size_t len)
{
    if (len == 0 || len > NTFY_TOPIC_MAX || s[0] == '_')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!g_ascii_isalnum(s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

__thread const char *ntfy__cors;

void ntfy__decorate(void *response)
{
    if (ntfy__cors) {
        MHD_add_response_header(response, "Access-Control-Allow-Origin", ntfy__cors);
        MHD_add_response_header(response, "Vary", "Origin");
    }
}

int ntfy__reply(void *connection, unsigned status, const char *type, char *body, size_t len)
{
    struct MHD_Connection *conn = connection;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        g_free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    ntfy__decorate(r);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, PUT, POST");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"berrymq\"");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

int ntfy__error(void *connection, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    unsigned status = (unsigned)code / 100;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "code", json_object_new_int(code));
    json_object_object_add(o, "http", json_object_new_int((int)status));
    json_object_object_add(o, "error", json_object_new_string(text));
    char *body = g_strdup_printf(
        "%s\n",
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    g_free(text);
    return ntfy__reply(connection, status, "application/json", body, strlen(body));
}

const char *ntfy__param(void *connection, const char *const *names)
{
    struct MHD_Connection *conn = connection;
    for (size_t i = 0; names[i]; i++) {
        const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, names[i]);
        if (v)
            return v;
    }
    for (size_t i = 0; names[i]; i++) {
        const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, names[i]);
        if (v)
            return v;
    }
    return NULL;
}

static int answer_message(ntfy *n, void *conn, bmq_message *m)
{
    ntfy_view v;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    ntfy__view_init(&v, m, now);
    json_object *o = ntfy__view_json(&v, ntfy__expires(n, now));
    char *body = g_strdup_printf(
        "%s\n",
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    ntfy__view_clear(&v);
    uint64_t seq = bmq_message_seq(m);
    bmq_message_unref(m);
    return ntfy__answer_stored(n, conn, seq, body, strlen(body));
}

static int publish(ntfy *n, void *conn, ntfy_pub *p, int rc, char *why)
{
    if (rc == 0) {
        bmq_message *m = ntfy__publish(n, p, &why);
        if (m) {
            ntfy__pub_clear(p);
            return answer_message(n, conn, m);
        }
        rc = NTFY_E_INTERNAL;
    }
    ntfy__pub_clear(p);
    int ret = ntfy__error(conn, rc, "%s", why ? why : "invalid request");
    g_free(why);
    return ret;
}

static bool is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* Topic list "a,b,c" of a subscription: each must be valid. */
static bool topics_valid(const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == ',') {
            if (!ntfy__topic_valid(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

int ntfy_route(const bmq_http_request *req, void *user_data)
{
    ntfy *n = user_data;
    void *conn = req->connection;
    const char *url = req->url;
    const char *m = req->method;
    bool get = is(m, "GET"), post = is(m, "POST") || is(m, "PUT");
    ntfy__cors = req->size > offsetof(bmq_http_request, cors) ? req->cors : NULL;

    if (req->size > offsetof(bmq_http_request, refusal) && req->refused) {
        if (is(url, "/") || is(url, "/JSON"))
            return BMQ_HTTP_DECLINED; /* maybe JSON-RPC: its error object */
        /* ntfy's own: 40101 unauthorized, 40301 forbidden */
        return ntfy__error(conn, (int)req->refused * 100 + 1, "%s: %s",
                           req->refused == 401   ? "unauthorized"
                           : req->refused == 403 ? "forbidden"
                                                 : "refused",
                           req->refusal ? req->refusal : "refused");
    }

    if (is(url, "/")) {
        if (!post)
            return BMQ_HTTP_DECLINED;
        ntfy_pub p = {0};
        char *why = NULL;
        int rc = ntfy__pub_from_json(n, req->body, req->body_len, &p, &why);
        if (rc < 0) {
            ntfy__pub_clear(&p);
            return BMQ_HTTP_DECLINED; /* JSON-RPC */
        }
        return publish(n, conn, &p, rc, why);
    }
    if (is(url, "/v1/health") && get) {
        char *b = g_strdup("{\"healthy\":true}\n");
        return ntfy__reply(conn, MHD_HTTP_OK, "application/json", b, strlen(b));
    }
    if (req->too_large)
        return ntfy__error(conn, NTFY_E_TOO_LARGE, "request body too large");

    /* "/TOPIC" or "/TOPICS/VERB" */
    const char *path = url + 1;
    const char *slash = strchr(path, '/');
    size_t tlen = slash ? (size_t)(slash - path) : strlen(path);
    const char *verb = slash ? slash + 1 : NULL;
    if (verb && strchr(verb, '/'))
        return ntfy__error(conn, NTFY_E_NOT_FOUND, "page not found");
    char *topic = g_strndup(path, tlen);
    int ret;
    if (!verb) {
        if (!ntfy__topic_valid(topic, tlen)) {
            ret = ntfy__error(conn, NTFY_E_TOPIC,
                              "invalid topic: " NTFY_TOPIC_RULE);
        } else if (!post) {
            ret = ntfy__error(conn, get ? NTFY_E_NOT_FOUND : NTFY_E_METHOD,
                              get ? "page not found: subscribe with /%s/json, /%s/sse or /%s/raw"
                                  : "method not allowed",
                              topic, topic, topic);
        } else {
            ntfy_pub p = {0};
            char *why = NULL;
            int rc =
                ntfy__pub_from_request(n, conn, topic, req->body, req->body_len, true, &p, &why);
            ret = publish(n, conn, &p, rc, why);
        }
    } else if (is(verb, "publish") || is(verb, "send") || is(verb, "trigger")) {
        if (!ntfy__topic_valid(topic, tlen)) {
            ret = ntfy__error(conn, NTFY_E_TOPIC,
                              "invalid topic: " NTFY_TOPIC_RULE);
        } else if (!get && !post) {
            ret = ntfy__error(conn, NTFY_E_METHOD, "method not allowed");
        } else {
            ntfy_pub p = {0};
            char *why = NULL;
            int rc =
                ntfy__pub_from_request(n, conn, topic, req->body, req->body_len, post, &p, &why);
            ret = publish(n, conn, &p, rc, why);
        }
    } else if (is(verb, "json") || is(verb, "sse") || is(verb, "raw")) {
        if (!topics_valid(topic, tlen))
            ret = ntfy__error(conn, NTFY_E_TOPIC,
                              "invalid topic: " NTFY_TOPIC_RULE ", several separated by commas");
        else if (!get)
            ret = ntfy__error(conn, NTFY_E_METHOD, "method not allowed: subscribe with GET");
        else
            ret = ntfy__subscribe(n, conn, topic,
                                  is(verb, "json")  ? NTFY_FMT_JSON
                                  : is(verb, "sse") ? NTFY_FMT_SSE
                                                    : NTFY_FMT_RAW,
                                  req->peer);
    } else if (is(verb, "ws")) {
        ret = ntfy__error(conn, NTFY_E_NOT_FOUND,
                          "WebSocket subscriptions are not served: use /%s/json or /%s/sse", topic,
                          topic);
    } else {
        ret = ntfy__error(conn, NTFY_E_NOT_FOUND, "page not found");
    }
    g_free(topic);
    return ret;
}
