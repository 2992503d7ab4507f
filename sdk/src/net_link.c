/* net_link.c - one link to a peer: its outgoing queue, the thread that
 * forwards it (batched to our own nodes, one request at a time to original
 * nodes), bounded retry and drop. */
#include "net_internal.h"

#include <string.h>

/* Delays before each attempt; the total bounds how long a vanished peer is
 * retried before the link is dropped. */
static const unsigned retry_ms[] = {0, 100, 300, 1000};

bmq_link *net__link_new(net_bus *nb, int style, bool inbound)
{
    bmq_link *l = g_new0(bmq_link, 1);
    l->refs = 1;
    l->nb = net__bus_ref(nb);
    l->style = style;
    l->inbound = inbound;
    l->ext = -1;
    l->batch = NET_DEFAULT_BATCH;
    l->last_active = g_get_monotonic_time();
    g_mutex_init(&l->call_lock);
    g_mutex_init(&l->q_lock);
    g_cond_init(&l->q_cond);
    g_queue_init(&l->out);
    return l;
}

bmq_link *net__link_ref(bmq_link *l)
{
    net__atomic_add(&l->refs, 1);
    return l;
}

void net__link_unref(bmq_link *l)
{
    if (!l || __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    if (l->thread) {
        if (g_thread_self() == l->thread)
            g_thread_unref(l->thread);
        else
            g_thread_join(l->thread);
    }
    bmq_message *m;
    while ((m = g_queue_pop_head(&l->out)))
        bmq_message_unref(m);
    if (l->queue)
        bmq_queue_free(l->queue);
    bmq_rpc_client_free(l->rpc);
    g_free(l->token);
    g_free(l->peer);
    g_free(l->pattern);
    g_cond_clear(&l->q_cond);
    g_mutex_clear(&l->q_lock);
    g_mutex_clear(&l->call_lock);
    net__bus_unref(l->nb);
    g_free(l);
}

void net__link_touch(bmq_link *l)
{
    __atomic_store_n(&l->last_active, g_get_monotonic_time(), __ATOMIC_RELAXED);
}

bool net__link_idle(bmq_link *l, gint64 now)
{
    if (l->ttl <= 0)
        return false;
    return now - net__atomic_get(&l->last_active) > (gint64)(l->ttl * G_USEC_PER_SEC);
}

void net__link_enqueue(bmq_link *l, const bmq_message *m)
{
    g_mutex_lock(&l->q_lock);
    if (l->stop || l->offline) {
        g_mutex_unlock(&l->q_lock);
        return;
    }
    if (g_queue_get_length(&l->out) >= NET_OUT_CAP) {
        g_mutex_unlock(&l->q_lock);
        net__atomic_add(&l->failed, 1);
        net__atomic_add(&l->nb->dropped, 1);
        return;
    }
    bool was_empty = g_queue_is_empty(&l->out);
    g_queue_push_tail(&l->out, bmq_message_ref((bmq_message *)m));
    if (was_empty) /* flushers wait on the same condition: wake everyone */
        g_cond_broadcast(&l->q_cond);
    g_mutex_unlock(&l->q_lock);
}

int net__message_parts(const bmq_message *m, json_object **id, json_object **args,
                       json_object **kwargs)
{
    json_object *o = json_tokener_parse(bmq_message_to_json(m));
    json_object *a = NULL, *k = NULL;
    if (!o || !json_object_object_get_ex(o, "args", &a) ||
        !json_object_object_get_ex(o, "kwargs", &k)) {
        json_object_put(o);
        return -BMQ_EPROTO;
    }
    *id = json_object_new_string(bmq_message_id(m));
    *args = json_object_get(a);
    *kwargs = json_object_get(k);
    json_object_put(o);
    return 0;
}

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

/* POST with bounded retry. Transport failures are retried; an answer (even
 * an RPC error) ends the retries. */
static int post_retry(bmq_link *l, const char *body, json_object **reply, char **errtext)
{
    int rc = -BMQ_ENET;
    for (size_t i = 0; i < G_N_ELEMENTS(retry_ms); i++) {
        if (retry_ms[i] && !link_sleep(l, retry_ms[i]))
            return -BMQ_ECLOSED;
        g_free(*errtext);
        *errtext = NULL;
        g_mutex_lock(&l->call_lock);
        rc = rpc__client_post(l->rpc, body, strlen(body), reply, errtext);
        g_mutex_unlock(&l->call_lock);
        if (rc != -BMQ_ENET)
            return rc;
    }
    return rc;
}

/* Ask the peer whether it speaks our extension. Original nodes answer an
 * unknown method with an error (or an HTTP error): they get plain requests. */
static int link_probe(bmq_link *l)
{
    json_object *req = json_object_new_object();
    json_object_object_add(req, "id", json_object_new_int(0));
    json_object_object_add(req, "method", json_object_new_string("bmq.hello"));
    json_object *params = json_object_new_array();
    json_object_array_add(params, json_object_new_string(l->nb->node_id));
    json_object_object_add(req, "params", params);
    json_object *reply = NULL;
    char *err = NULL;
    int rc = post_retry(l, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), &reply,
                        &err);
    json_object_put(req);
    g_free(err);
    if (rc == -BMQ_ENET || rc == -BMQ_ECLOSED || rc == -BMQ_EDENIED) {
        json_object_put(reply);
        return rc;
    }
    json_object *result = NULL;
    l->ext = 0;
    if (rc == 0 && rpc__response_result(reply, &result, NULL) == 0 &&
        json_object_is_type(result, json_type_object))
        l->ext = 1;
    json_object_put(result);
    json_object_put(reply);
    return 0;
}

static json_object *send_request(bmq_link *l, const bmq_message *m, int rid)
{
    json_object *id, *args, *kwargs;
    if (net__message_parts(m, &id, &args, &kwargs) < 0)
        return NULL;
    json_object *params = json_object_new_array_ext(5);
    json_object_array_add(params, l->token ? json_object_new_string(l->token) : NULL);
    json_object_array_add(params, id);
    json_object_array_add(params, args);
    json_object_array_add(params, kwargs);
    if (l->ext == 1) {
        json_object *meta = json_object_new_object();
        json_object_object_add(meta, "uid", json_object_new_string(bmq_message_uid(m)));
        json_object_object_add(meta, "node", json_object_new_string(l->nb->node_id));
        json_object_array_add(params, meta);
    }
    json_object *req = json_object_new_object();
    json_object_object_add(req, "id", json_object_new_int(rid));
    json_object_object_add(req, "method", json_object_new_string("send_message"));
    json_object_object_add(req, "params", params);
    return req;
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

/* Send @n messages. Returns how many the peer refused one by one through
 * *rejected, and 0, or a negative code when the link must be dropped. */
static int send_messages(bmq_link *l, bmq_message **msgs, size_t n, size_t *rejected)
{
    json_object *body = n > 1 ? json_object_new_array_ext((int)n) : NULL;
    json_object *single = NULL;
    for (size_t i = 0; i < n; i++) {
        json_object *req = send_request(l, msgs[i], (int)i);
        if (!req)
            continue;
        if (body)
            json_object_array_add(body, req);
        else
            single = req;
    }
    json_object *payload = body ? body : single;
    if (!payload)
        return 0;
    json_object *reply = NULL;
    char *err = NULL;
    int rc = post_retry(l, json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN),
                        &reply, &err);
    json_object_put(payload);
    g_free(err);
    if (rc < 0 && rc != -BMQ_EPROTO) {
        json_object_put(reply);
        return rc;
    }
    *rejected = 0;
    if (!reply) {
        *rejected = n;
    } else if (json_object_is_type(reply, json_type_array)) {
        size_t len = json_object_array_length(reply);
        for (size_t i = 0; i < len; i++) {
            int r = check_result(json_object_array_get_idx(reply, i));
            if (r > 0) {
                json_object_put(reply);
                return -BMQ_ETOKEN;
            }
            if (r < 0)
                (*rejected)++;
        }
        if (len < n)
            *rejected += n - len;
    } else {
        int r = check_result(reply);
        if (r > 0) {
            json_object_put(reply);
            return -BMQ_ETOKEN;
        }
        *rejected = r < 0 ? n : 0;
    }
    json_object_put(reply);
    return 0;
}

static gpointer link_main(gpointer data)
{
    bmq_link *l = data;
    net_bus *nb = l->nb;
    bmq_message **msgs = NULL;
    size_t cap = 0;
    for (;;) {
        g_mutex_lock(&l->q_lock);
        while (!l->stop && g_queue_is_empty(&l->out))
            g_cond_wait(&l->q_cond, &l->q_lock);
        if (l->stop) {
            g_mutex_unlock(&l->q_lock);
            break;
        }
        g_mutex_unlock(&l->q_lock);
        if (l->ext < 0 && link_probe(l) < 0) {
            net__link_drop(l, false);
            break;
        }
        g_mutex_lock(&l->q_lock);
        size_t want = l->ext == 1 ? l->batch : 1;
        if (want > cap) {
            cap = want;
            msgs = g_renew(bmq_message *, msgs, cap);
        }
        size_t n = 0;
        while (n < want && !g_queue_is_empty(&l->out))
            msgs[n++] = g_queue_pop_head(&l->out);
        l->in_flight = n;
        g_mutex_unlock(&l->q_lock);

        size_t rejected = 0;
        int rc = send_messages(l, msgs, n, &rejected);
        for (size_t i = 0; i < n; i++)
            bmq_message_unref(msgs[i]);
        if (rc < 0) {
            net__atomic_add(&l->failed, n);
            net__atomic_add(&nb->dropped, n);
        } else {
            net__atomic_add(&l->sent, n - rejected);
            net__atomic_add(&nb->messages_out, n - rejected);
            net__atomic_add(&l->failed, rejected);
            net__atomic_add(&nb->dropped, rejected);
            net__link_touch(l);
        }
        g_mutex_lock(&l->q_lock);
        l->in_flight = 0;
        g_cond_broadcast(&l->q_cond);
        g_mutex_unlock(&l->q_lock);
        if (rc < 0) {
            net__link_drop(l, false);
            break;
        }
    }
    g_free(msgs);
    g_mutex_lock(&l->q_lock);
    l->stop = true;
    g_cond_broadcast(&l->q_cond);
    g_mutex_unlock(&l->q_lock);
    net__link_unref(l);
    return NULL;
}

void net__link_start(bmq_link *l)
{
    if (l->offline || l->thread)
        return;
    net__link_ref(l); /* the thread's */
    l->thread = g_thread_new("bmq-link", link_main, l);
}

void net__link_stop(bmq_link *l)
{
    g_mutex_lock(&l->q_lock);
    l->stop = true;
    g_cond_broadcast(&l->q_cond);
    g_mutex_unlock(&l->q_lock);
    if (l->thread && g_thread_self() != l->thread) {
        g_thread_join(l->thread);
        l->thread = NULL;
    }
}

static const char *style_name(int style)
{
    switch (style) {
    case NET_STYLE_INTERCONNECT: return "01";
    case NET_STYLE_ONEWAY: return "02";
    default: return "03";
    }
}

json_object *net__link_status(bmq_link *l, gint64 now)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "token", l->token ? json_object_new_string(l->token) : NULL);
    json_object_object_add(o, "style", json_object_new_string(style_name(l->style)));
    json_object_object_add(o, "direction", json_object_new_string(l->inbound ? "in" : "out"));
    json_object_object_add(o, "peer", l->peer ? json_object_new_string(l->peer) : NULL);
    json_object_object_add(o, "pattern", l->pattern ? json_object_new_string(l->pattern) : NULL);
    double idle = (double)(now - net__atomic_get(&l->last_active)) / G_USEC_PER_SEC;
    json_object_object_add(o, "idle_s", json_object_new_double(idle));
    json_object_object_add(o, "ttl", json_object_new_double(l->ttl));
    json_object_object_add(o, "sent", json_object_new_int64((int64_t)net__atomic_get(&l->sent)));
    json_object_object_add(o, "received",
                           json_object_new_int64((int64_t)net__atomic_get(&l->received)));
    json_object_object_add(o, "failed",
                           json_object_new_int64((int64_t)net__atomic_get(&l->failed)));
    g_mutex_lock(&l->q_lock);
    size_t queued = g_queue_get_length(&l->out) + l->in_flight;
    g_mutex_unlock(&l->q_lock);
    if (l->queue)
        queued += bmq_queue_qsize(l->queue);
    json_object_object_add(o, "queued", json_object_new_int64((int64_t)queued));
    json_object_object_add(o, "extension", json_object_new_boolean(l->ext == 1));
    return o;
}
