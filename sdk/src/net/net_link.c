/* net_link.c - one link to a peer: its life cycle, its outgoing queue and
 * the thread that forwards it (net_send.c builds and posts the requests). */
#include "net_internal.h"

#include <berrymq/json.h>

#include <string.h>

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
    net__link_reap(l);
    for (int i = 0; i < 2; i++)
        if (l->spare[i])
            g_string_free(l->spare[i], TRUE);
    if (l->expect)
        g_string_free(l->expect, TRUE);
    if (l->queue)
        bmq_queue_free(l->queue);
    bmq_rpc_client_free(l->rpc);
    bmq_rpc_client_free(l->fwd);
    g_free(l->token);
    g_free(l->peer);
    g_free(l->peer_node);
    g_free(l->pattern);
    g_free(l->peer_key);
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

/* Take up to @max held messages into @out; the caller holds q_lock. */
static size_t steal_reap(bmq_link *l, bmq_message **out, size_t max)
{
    size_t n = MIN(max, l->n_reap);
    for (size_t i = 0; i < n; i++) {
        out[i] = l->reap[l->reap_head];
        l->reap_head = (l->reap_head + 1) % NET_REAP_CAP;
    }
    l->n_reap -= n;
    return n;
}

static void release(bmq_message **msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bmq_message_unref(msgs[i]);
}

void net__link_reap(bmq_link *l)
{
    bmq_message *msgs[64];
    size_t n;
    do {
        g_mutex_lock(&l->q_lock);
        n = steal_reap(l, msgs, G_N_ELEMENTS(msgs));
        g_mutex_unlock(&l->q_lock);
        release(msgs, n);
    } while (n);
}

/* Messages are mostly made by the thread that sends them, and the allocator
 * serves a block fastest from the same thread's recent frees: delivered
 * messages are released here, two per message sent (enough to keep up), so
 * that each release feeds the next message's allocations, rather than in
 * bulk on the link thread, the busier one of a fast link. */
void net__link_enqueue(bmq_link *l, const bmq_message *m)
{
    bmq_message *done[2];
    g_mutex_lock(&l->q_lock);
    size_t n_done = steal_reap(l, done, G_N_ELEMENTS(done));
    if (l->offline) {
        g_mutex_unlock(&l->q_lock);
        release(done, n_done);
        return;
    }
    if (l->stop || g_queue_get_length(&l->out) >= NET_OUT_CAP) {
        /* a link being dropped or full: the message is lost for this peer */
        g_mutex_unlock(&l->q_lock);
        net__atomic_add(&l->failed, 1);
        net__atomic_add(&l->nb->dropped, 1);
        release(done, n_done);
        return;
    }
    bool was_empty = g_queue_is_empty(&l->out);
    g_queue_push_tail(&l->out, bmq_message_ref((bmq_message *)m));
    if (was_empty) /* flushers wait on the same condition: wake everyone */
        g_cond_broadcast(&l->q_cond);
    g_mutex_unlock(&l->q_lock);
    release(done, n_done);
}

int net__message_parts(const bmq_message *m, json_object **id, json_object **args,
                       json_object **kwargs)
{
    const char *text = bmq_message_to_json(m);
    json_object *o = NULL;
    if (bmq_json_parse(text, strlen(text), 0, &o, NULL) != 0)
        o = NULL;
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

/* A batch taken from the queue: its messages stay referenced until the peer
 * answered. */
typedef struct {
    bmq_message **msgs;
    size_t n;
    GString *body;
} batch;

static void take(bmq_link *l, batch *b)
{
    g_mutex_lock(&l->q_lock);
    size_t want = l->ext == 1 ? l->batch : 1;
    b->msgs = g_new(bmq_message *, want);
    b->n = 0;
    while (b->n < want && !g_queue_is_empty(&l->out))
        b->msgs[b->n++] = g_queue_pop_head(&l->out);
    l->in_flight += b->n;
    g_mutex_unlock(&l->q_lock);
    b->body = b->n ? net__batch_build(l, b->msgs, b->n) : NULL;
}

/* Account for a batch: @rc < 0 means none of it was delivered. */
static void settle(bmq_link *l, batch *b, int rc, size_t rejected)
{
    net_bus *nb = l->nb;
    if (rc < 0) {
        net__atomic_add(&l->failed, b->n);
        net__atomic_add(&nb->dropped, b->n);
    } else if (b->n) {
        net__atomic_add(&l->sent, b->n - rejected);
        net__atomic_add(&nb->messages_out, b->n - rejected);
        net__atomic_add(&l->failed, rejected);
        net__atomic_add(&nb->dropped, rejected);
        net__link_touch(l);
    }
    if (b->body)
        net__batch_recycle(l, b->body);
    /* Hand the messages to the next enqueues; those that do not fit are
     * released here (a sender that has not come back for a while). The last
     * batch of a burst releases everything before it counts as delivered,
     * so that a flushed link holds no message. */
    bmq_message **over = b->msgs;
    size_t n_over = b->n;
    g_mutex_lock(&l->q_lock);
    bool last = l->stop || (g_queue_is_empty(&l->out) && l->in_flight == b->n);
    if (last) {
        g_mutex_unlock(&l->q_lock);
        net__link_reap(l);
        release(over, n_over);
        n_over = 0;
        g_mutex_lock(&l->q_lock);
    } else {
        size_t keep = MIN(b->n, NET_REAP_CAP - l->n_reap);
        for (size_t i = 0; i < keep; i++)
            l->reap[(l->reap_head + l->n_reap++) % NET_REAP_CAP] = b->msgs[i];
        over += keep;
        n_over -= keep;
    }
    l->in_flight -= b->n;
    if (!l->in_flight && g_queue_is_empty(&l->out)) /* what flushers wait for */
        g_cond_broadcast(&l->q_cond);
    g_mutex_unlock(&l->q_lock);
    release(over, n_over);
    g_free(b->msgs);
    memset(b, 0, sizeof *b);
}

/* The forwarding loop. While the peer works on one batch the next one is
 * taken and built, so both ends run at once; order is kept because one
 * request is on the wire at a time. */
static gpointer link_main(gpointer data)
{
    bmq_link *l = data;
    batch cur = {0}, next = {0};
    int rc = 0;
    for (;;) {
        g_mutex_lock(&l->q_lock);
        if (!l->stop && g_queue_is_empty(&l->out) && !cur.n && l->n_reap) {
            /* idle: nobody sends, so release the held messages here */
            g_mutex_unlock(&l->q_lock);
            net__link_reap(l);
            continue;
        }
        while (!l->stop && g_queue_is_empty(&l->out) && !cur.n)
            g_cond_wait(&l->q_cond, &l->q_lock);
        bool stop = l->stop;
        g_mutex_unlock(&l->q_lock);
        if (l->ext < 0 && !stop && (rc = net__link_probe(l)) < 0)
            break;
        if (!stop)
            take(l, &next);
        size_t rejected = 0;
        if (cur.n)
            rc = net__batch_finish(l, cur.body, cur.msgs, cur.n, &rejected);
        if (rc < 0 || stop) {
            if (cur.n)
                settle(l, &cur, rc, rejected);
            break;
        }
        /* The next batch goes on the wire before this one is accounted for
         * and released: the peer works meanwhile. */
        int src = next.n ? net__batch_start(l, next.body) : 0;
        if (cur.n)
            settle(l, &cur, rc, rejected);
        if (next.n) {
            cur = next;
            memset(&next, 0, sizeof next);
            if ((rc = src) < 0)
                break;
        } else {
            settle(l, &next, 0, 0);
        }
    }
    if (cur.msgs)
        settle(l, &cur, -BMQ_ECLOSED, 0);
    if (next.msgs)
        settle(l, &next, -BMQ_ECLOSED, 0);
    net__link_reap(l);
    if (rc < 0) {
        l->drop_rc = rc == -BMQ_ETOKEN ? rc : -BMQ_ENET;
        net__link_drop(l, false);
    }
    g_mutex_lock(&l->q_lock);
    l->stop = true;
    g_cond_broadcast(&l->q_cond);
    g_mutex_unlock(&l->q_lock);
    net__link_unref(l);
    return NULL;
}

void net__link_start(bmq_link *l)
{
    if (l->offline || l->thread || !l->rpc)
        return;
    l->fwd = rpc__client_clone(l->rpc);
    if (!l->fwd)
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
    case NET_STYLE_INTERCONNECT:
        return "01";
    case NET_STYLE_ONEWAY:
        return "02";
    default:
        return "03";
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
    if (l->queue) {
        json_object_object_add(o, "queued_bytes",
                               json_object_new_int64((int64_t)bmq_queue_bytes(l->queue)));
        json_object_object_add(o, "dropped",
                               json_object_new_int64((int64_t)bmq_queue_dropped(l->queue)));
    }
    json_object_object_add(o, "extension", json_object_new_boolean(l->ext == 1));
    return o;
}
