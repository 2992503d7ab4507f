/* net_send.c - outgoing send_message requests of a link: one request per
 * message to original nodes, JSON-RPC batches carrying message uids to our
 * own nodes; bounded retry. The batch path writes request text straight from
 * each message's cached JSON and recognises an all-"ok" answer without
 * parsing it, because both ends of a busy link spend most of their time in
 * JSON otherwise. Requests are overlapped: the next batch is built while the
 * peer works on the previous one. */
#include "net_internal.h"

#include <string.h>

/* Delays before each attempt; the total bounds how long a vanished peer is
 * retried before the link is dropped. */
static const unsigned retry_ms[] = {0, 100, 300, 1000};

/* Wait @ms unless the link is stopped meanwhile; false when stopped. */
static bool link_sleep(bmq_link *l, unsigned ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)ms * 1000;
    g_mutex_lock(&l->q_lock);
    while (!l->stop && g_cond_wait_until(&l->q_cond, &l->q_lock, until))
        ;
    bool alive = !l->stop;
    g_mutex_unlock(&l->q_lock);
    return alive;
}

/* POST with bounded retry through @c (l->rpc under l->call_lock, or the
 * forwarding client owned by the link thread), from attempt @first on.
 * Transport failures are retried; any answer ends the retries. */
static int post_retry(bmq_link *l, bmq_rpc_client *c, size_t first, const char *body, size_t len,
                      const char **text, size_t *tlen)
{
    int rc = -BMQ_ENET;
    for (size_t i = first; i < G_N_ELEMENTS(retry_ms); i++) {
        if (retry_ms[i] && !link_sleep(l, retry_ms[i]))
            return -BMQ_ECLOSED;
        rc = rpc__client_post_text(c, body, len, text, tlen, NULL);
        if (rc != -BMQ_ENET)
            return rc;
    }
    return rc;
}

static json_object *parse(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, text, (int)MIN(len, (size_t)G_MAXINT));
    json_tokener_free(tok);
    return o;
}

int net__link_probe(bmq_link *l)
{
    char *body =
        g_strdup_printf("{\"id\":0,\"method\":\"bmq.hello\",\"params\":[\"%s\"]}", l->nb->node_id);
    const char *text = NULL;
    size_t tlen = 0;
    g_mutex_lock(&l->call_lock);
    int rc = post_retry(l, l->rpc, 0, body, strlen(body), &text, &tlen);
    json_object *reply = rc == 0 ? parse(text, tlen) : NULL;
    g_mutex_unlock(&l->call_lock);
    g_free(body);
    if (rc == -BMQ_ENET || rc == -BMQ_ECLOSED || rc == -BMQ_EDENIED)
        return rc;
    /* Original nodes answer an unknown method with an error (or an HTTP
     * error): they get plain requests. */
    json_object *result = NULL;
    l->ext = reply && rpc__response_result(reply, &result, NULL) == 0 &&
                     json_object_is_type(result, json_type_object)
                 ? 1
                 : 0;
    json_object_put(result);
    json_object_put(reply);
    return 0;
}

static void append_string(GString *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == '"' || *p == '\\' || *p >= 0x7f) {
            json_object *o = json_object_new_string(s);
            g_string_append(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
            json_object_put(o);
            return;
        }
    }
    g_string_append_c(out, '"');
    g_string_append(out, s);
    g_string_append_c(out, '"');
}

/* Decimal digits of @v into @buf (at least 20 bytes); returns the length. */
static size_t format_size(char *buf, size_t v)
{
    char tmp[24];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

/* A message id as bmq_message_to_json writes it: plain printable ASCII is
 * quoted as is, anything else gets json-c's escapes. */
static void append_id(GString *out, const char *id)
{
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        if (*p < 0x20 || *p == '"' || *p == '\\' || *p >= 0x7f) {
            json_object *o = json_object_new_string(id);
            g_string_append(out, json_object_to_json_string_ext(
                                     o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(o);
            return;
        }
    }
    g_string_append_c(out, '"');
    g_string_append(out, id);
    g_string_append_c(out, '"');
}

/* One request; @token is the token's JSON text, made once per batch. The
 * message's cached args and kwargs text is copied as it is. */
static void append_request(bmq_link *l, GString *out, const bmq_message *m, size_t rid,
                           const GString *token)
{
    char num[24];
    g_string_append_len(out, "{\"id\":", 6);
    g_string_append_len(out, num, (gssize)format_size(num, rid));
    static const char method[] = ",\"method\":\"send_message\",\"params\":[";
    g_string_append_len(out, method, sizeof method - 1);
    g_string_append_len(out, token->str, (gssize)token->len);
    const char *as = bmq_message_args_json(m), *ks = bmq_message_kwargs_json(m);
    if (as && ks) {
        g_string_append_c(out, ',');
        append_id(out, bmq_message_id(m));
        g_string_append_c(out, ',');
        g_string_append(out, as);
        g_string_append_c(out, ',');
        g_string_append(out, ks);
    } else {
        json_object *id, *args, *kwargs;
        if (net__message_parts(m, &id, &args, &kwargs) == 0) {
            json_object *p[3] = {id, args, kwargs};
            for (int i = 0; i < 3; i++) {
                g_string_append_c(out, ',');
                g_string_append(out, json_object_to_json_string_ext(p[i], JSON_C_TO_STRING_PLAIN));
                json_object_put(p[i]);
            }
        } else {
            g_string_append(out, ",\"_invalid:message\",[],{}");
        }
    }
    if (l->ext == 1) {
        g_string_append(out, ",{\"uid\":");
        append_string(out, bmq_message_uid(m));
        g_string_append_c(out, '}');
    }
    g_string_append(out, "]}");
}

/* 1: the peer forgot us ("invalid token"/"timeout"), 0: accepted,
 * -1: refused this one message (an RPC error). */
static int check_result(json_object *resp)
{
    json_object *result = NULL;
    if (rpc__response_result(resp, &result, NULL) < 0)
        return -1;
    const char *s = json_object_get_string(result);
    int rc = 0;
    if (json_object_is_type(result, json_type_string) &&
        (!strcmp(s, "invalid token") || !strcmp(s, "timeout")))
        rc = 1;
    json_object_put(result);
    return rc;
}

/* Interpret the answer to @n requests. */
static int check_reply(const char *text, size_t tlen, size_t n, size_t *rejected)
{
    json_object *reply = parse(text, tlen);
    *rejected = 0;
    int rc = 0;
    if (!reply) {
        *rejected = n;
    } else if (json_object_is_type(reply, json_type_array)) {
        size_t len = json_object_array_length(reply);
        for (size_t i = 0; i < len && rc == 0; i++) {
            int r = check_result(json_object_array_get_idx(reply, i));
            if (r > 0)
                rc = -BMQ_ETOKEN;
            else if (r < 0)
                (*rejected)++;
        }
        if (len < n)
            *rejected += n - len;
    } else {
        int r = check_result(reply);
        if (r > 0)
            rc = -BMQ_ETOKEN;
        *rejected = r < 0 ? n : 0;
    }
    json_object_put(reply);
    return rc;
}

GString *net__batch_build(bmq_link *l, bmq_message **msgs, size_t n)
{
    GString *body = l->spare[1] ? l->spare[1] : l->spare[0];
    if (body == l->spare[1])
        l->spare[1] = NULL;
    else
        l->spare[0] = NULL;
    if (body)
        g_string_truncate(body, 0);
    else
        body = g_string_sized_new(n * 160 + 16);
    GString *token = g_string_sized_new(64);
    if (l->token)
        append_string(token, l->token);
    else
        g_string_append(token, "null"); /* an original server's oneway token */
    if (n > 1)
        g_string_append_c(body, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            g_string_append_c(body, ',');
        append_request(l, body, msgs[i], i, token);
    }
    g_string_free(token, TRUE);
    if (n > 1)
        g_string_append_c(body, ']');
    return body;
}

/* Request buffers are large: reusing one spares the allocator a big block
 * per batch. Only a buffer of a usual size is kept. */
void net__batch_recycle(bmq_link *l, GString *body)
{
    for (int i = 0; i < 2 && body->allocated_len <= (gsize)1 << 20; i++) {
        if (!l->spare[i]) {
            l->spare[i] = body;
            return;
        }
    }
    g_string_free(body, TRUE);
}

int net__batch_start(bmq_link *l, GString *body)
{
    return rpc__client_start(l->fwd, body->str, body->len);
}

/* A batch refused as a whole by HTTP (413: over the peer's body limit):
 * send its messages one by one so that only those the peer cannot take at
 * all are lost, and use smaller batches from now on. */
static int send_singly(bmq_link *l, bmq_message **msgs, size_t n, size_t *rejected)
{
    g_mutex_lock(&l->q_lock);
    l->batch = MAX(1u, l->batch / 4);
    g_mutex_unlock(&l->q_lock);
    *rejected = 0;
    for (size_t i = 0; i < n; i++) {
        GString *one = net__batch_build(l, &msgs[i], 1);
        const char *text = NULL;
        size_t tlen = 0, r = 0;
        int rc = post_retry(l, l->fwd, 0, one->str, one->len, &text, &tlen);
        if (rc == 0)
            rc = check_reply(text, tlen, 1, &r);
        else if (rc == -BMQ_EPROTO)
            rc = 0, r = 1;
        net__batch_recycle(l, one);
        if (rc < 0)
            return rc;
        *rejected += r;
    }
    return 0;
}

int net__batch_finish(bmq_link *l, GString *body, bmq_message **msgs, size_t n, size_t *rejected)
{
    const char *text = NULL;
    size_t tlen = 0;
    *rejected = 0;
    int rc = rpc__client_finish(l->fwd, &text, &tlen, NULL);
    if (rc == -BMQ_ENET) /* the first attempt failed: retry the same body */
        rc = post_retry(l, l->fwd, 1, body->str, body->len, &text, &tlen);
    if (rc == 0 && n > 1) {
        /* Our own server answers an accepted batch exactly like this; the
         * text is kept for the next batch of the same size. */
        if (!l->expect || l->expect_n != n) {
            if (!l->expect)
                l->expect = g_string_sized_new(n * 48 + 2);
            GString *e = l->expect;
            g_string_truncate(e, 0);
            g_string_append_c(e, '[');
            char num[24];
            for (size_t i = 0; i < n; i++) {
                g_string_append(e, i ? ",{\"id\":" : "{\"id\":");
                g_string_append_len(e, num, (gssize)format_size(num, i));
                g_string_append(e, ",\"result\":\"ok\",\"error\":null}");
            }
            g_string_append_c(e, ']');
            l->expect_n = n;
        }
        if (l->expect->len != tlen || memcmp(l->expect->str, text, tlen))
            rc = check_reply(text, tlen, n, rejected);
    } else if (rc == 0) {
        rc = check_reply(text, tlen, n, rejected);
    } else if (rc == -BMQ_EPROTO && n > 1) {
        rc = send_singly(l, msgs, n, rejected);
    } else if (rc == -BMQ_EPROTO) {
        *rejected = n; /* an HTTP error answer: refused, the link lives on */
        rc = 0;
    }
    return rc;
}
