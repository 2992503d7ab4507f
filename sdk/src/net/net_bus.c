/* net_bus.c - per-bus net state: the token table, the set of live links, the
 * forwarder that hands bus messages to outgoing links, loop suppression by
 * message uid, and idle (ttl) expiry. */
#include "net_internal.h"

#include <string.h>

static GMutex registry_lock;
static GHashTable *registry; /* bmq_bus* -> net_bus* */

static void forward_message(const bmq_message *m, void *user_data);
static gpointer sweeper_main(gpointer data);

net_bus *net__bus_get(bmq_bus *bus)
{
    g_mutex_lock(&registry_lock);
    if (!registry)
        registry = g_hash_table_new(g_direct_hash, g_direct_equal);
    net_bus *nb = g_hash_table_lookup(registry, bus);
    if (nb) {
        nb->refs++;
        g_mutex_unlock(&registry_lock);
        return nb;
    }
    nb = g_new0(net_bus, 1);
    nb->bus = bus;
    nb->refs = 1;
    g_mutex_init(&nb->lock);
    g_mutex_init(&nb->seen_lock);
    g_cond_init(&nb->sweep_cond);
    nb->tokens = g_hash_table_new(g_str_hash, g_str_equal);
    nb->links = g_ptr_array_new();
    nb->fwd = g_ptr_array_new();
    nb->expired = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_queue_init(&nb->expired_order);
    nb->per_peer = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    nb->seen = net__seen_new();
    char *uuid = g_uuid_string_random();
    g_strlcpy(nb->node_id, uuid, sizeof nb->node_id);
    g_free(uuid);
    g_hash_table_insert(registry, bus, nb);
    g_mutex_unlock(&registry_lock);
    return nb;
}

net_bus *net__bus_ref(net_bus *nb)
{
    g_mutex_lock(&registry_lock);
    nb->refs++;
    g_mutex_unlock(&registry_lock);
    return nb;
}

void net__bus_unref(net_bus *nb)
{
    if (!nb)
        return;
    g_mutex_lock(&registry_lock);
    if (--nb->refs > 0) {
        g_mutex_unlock(&registry_lock);
        return;
    }
    g_hash_table_remove(registry, nb->bus);
    if (g_hash_table_size(registry) == 0) {
        g_hash_table_destroy(registry);
        registry = NULL;
    }
    g_mutex_unlock(&registry_lock);

    /* No link and no server is left: nothing can reach the forwarder now. */
    if (nb->follower)
        bmq_unfollow(nb->follower);
    if (nb->sweeper) {
        g_mutex_lock(&nb->lock);
        nb->sweep_stop = true;
        g_cond_signal(&nb->sweep_cond);
        g_mutex_unlock(&nb->lock);
        g_thread_join(nb->sweeper);
    }
    g_hash_table_destroy(nb->tokens);
    g_ptr_array_free(nb->links, TRUE);
    g_ptr_array_free(nb->fwd, TRUE);
    g_hash_table_destroy(nb->expired);
    g_queue_clear(&nb->expired_order);
    g_hash_table_destroy(nb->per_peer);
    net__seen_free(nb->seen);
    g_cond_clear(&nb->sweep_cond);
    g_mutex_clear(&nb->seen_lock);
    g_mutex_clear(&nb->lock);
    g_free(nb);
}

void net__bus_attach_forwarder(net_bus *nb)
{
    g_mutex_lock(&nb->lock);
    bool need = nb->follower == NULL;
    g_mutex_unlock(&nb->lock);
    if (!need)
        return;
    /* "*@*:*" sees every namespace; the follower only queues, it never
     * blocks the sender on the network. */
    bmq_follower *f = bmq_follow(nb->bus, "*@*:*", forward_message, NULL, nb);
    g_mutex_lock(&nb->lock);
    if (nb->follower == NULL) {
        nb->follower = f;
        f = NULL;
    }
    g_mutex_unlock(&nb->lock);
    if (f)
        bmq_unfollow(f);
}

int net__bus_add_link(net_bus *nb, bmq_link *link, bool table)
{
    g_mutex_lock(&nb->lock);
    if (table && link->token) {
        if (g_hash_table_contains(nb->tokens, link->token)) {
            g_mutex_unlock(&nb->lock);
            return -BMQ_EEXIST;
        }
        if (g_hash_table_size(nb->tokens) >= NET_MAX_TOKENS ||
            (link->inbound && nb->server && nb->server->max_queues &&
             nb->n_inbound >= nb->server->max_queues)) {
            g_mutex_unlock(&nb->lock);
            return -BMQ_EFULL;
        }
        guint held = link->peer_key ? GPOINTER_TO_UINT(g_hash_table_lookup(nb->per_peer,
                                                                           link->peer_key))
                                    : 0;
        if (link->inbound && link->peer_key && !link->owner && nb->server &&
            nb->server->max_queues_per_peer && held >= nb->server->max_queues_per_peer) {
            g_mutex_unlock(&nb->lock);
            return -BMQ_EDENIED;
        }
        if (link->inbound) {
            nb->n_inbound++;
            if (link->peer_key)
                g_hash_table_insert(nb->per_peer, g_strdup(link->peer_key),
                                    GUINT_TO_POINTER(held + 1));
        }
        g_hash_table_insert(nb->tokens, link->token, net__link_ref(link));
        link->in_table = true;
    }
    g_ptr_array_add(nb->links, net__link_ref(link));
    bool forwards = (link->style == NET_STYLE_INTERCONNECT || link->style == NET_STYLE_ONEWAY) &&
                    !(link->inbound && link->style == NET_STYLE_ONEWAY);
    if (forwards)
        g_ptr_array_add(nb->fwd, net__link_ref(link));
    if (link->ttl > 0 && link->in_table && !nb->sweeper)
        nb->sweeper = g_thread_new("bmq-net-ttl", sweeper_main, nb);
    g_cond_signal(&nb->sweep_cond);
    g_mutex_unlock(&nb->lock);
    return 0;
}

static void remember_expired(net_bus *nb, const char *token)
{
    if (g_hash_table_contains(nb->expired, token))
        return;
    char *t = g_strdup(token);
    g_hash_table_add(nb->expired, t);
    g_queue_push_tail(&nb->expired_order, t);
    if (g_queue_get_length(&nb->expired_order) > NET_EXPIRED_CAP)
        g_hash_table_remove(nb->expired, g_queue_pop_head(&nb->expired_order));
}

/* Unlink under nb->lock; returns how many references the tables held. */
static int unlink_locked(bmq_link *link, bool expired)
{
    net_bus *nb = link->nb;
    int refs = 0;
    if (link->dead)
        return 0;
    link->dead = true;
    if (link->in_table) {
        g_hash_table_remove(nb->tokens, link->token);
        link->in_table = false;
        if (link->inbound) {
            nb->n_inbound--;
            guint held = link->peer_key ? GPOINTER_TO_UINT(g_hash_table_lookup(nb->per_peer,
                                                                               link->peer_key))
                                        : 0;
            if (held > 1)
                g_hash_table_insert(nb->per_peer, g_strdup(link->peer_key),
                                    GUINT_TO_POINTER(held - 1));
            else if (held)
                g_hash_table_remove(nb->per_peer, link->peer_key);
        }
        refs++;
        if (expired)
            remember_expired(nb, link->token);
    }
    if (g_ptr_array_remove(nb->links, link))
        refs++;
    if (g_ptr_array_remove(nb->fwd, link))
        refs++;
    return refs;
}

void net__link_drop(bmq_link *link, bool expired)
{
    net_bus *nb = link->nb;
    net__link_ref(link);
    /* Account for what is still queued before the link is marked dead, so a
     * reader that sees it dead also sees every loss counted; messages that
     * arrive in between are counted by net__link_enqueue (stop is set). */
    g_mutex_lock(&link->q_lock);
    link->stop = true;
    size_t lost = g_queue_get_length(&link->out);
    bmq_message *m;
    while ((m = g_queue_pop_head(&link->out)))
        bmq_message_unref(m);
    g_cond_broadcast(&link->q_cond);
    g_mutex_unlock(&link->q_lock);
    if (lost) {
        net__atomic_add(&link->failed, lost);
        net__atomic_add(&nb->dropped, lost);
    }
    g_mutex_lock(&nb->lock);
    bool first = !link->dead;
    int refs = unlink_locked(link, expired);
    bmq_link_drop_fn fn = first ? link->drop_fn : NULL;
    void *fn_data = link->drop_data;
    link->drop_fn = NULL;
    g_mutex_unlock(&nb->lock);
    if (fn)
        fn(link, expired ? -BMQ_ETIMEDOUT : link->drop_rc ? link->drop_rc : -BMQ_ENET, fn_data);
    if (link->queue)
        bmq_queue_close(link->queue); /* wakes blocked getters */
    while (refs-- > 0)
        net__link_unref(link);
    net__link_unref(link);
}

/* An expired token answers "timeout" once and is forgotten: from then on
 * it is an "invalid token" like any other. Lock held. */
static bool forget_expired_locked(net_bus *nb, const char *token)
{
    gpointer key = NULL;
    if (!g_hash_table_steal_extended(nb->expired, token, &key, NULL))
        return false;
    g_queue_remove(&nb->expired_order, key);
    g_free(key);
    return true;
}

bmq_link *net__bus_lookup(net_bus *nb, const char *token, bool *expired)
{
    *expired = false;
    if (!token)
        return NULL;
    g_mutex_lock(&nb->lock);
    bmq_link *l = g_hash_table_lookup(nb->tokens, token);
    if (l)
        net__link_ref(l);
    else
        *expired = forget_expired_locked(nb, token);
    g_mutex_unlock(&nb->lock);
    if (l && net__link_idle(l, g_get_monotonic_time())) {
        net__link_drop(l, true);
        g_mutex_lock(&nb->lock);
        forget_expired_locked(nb, l->token); /* this answer is its one "timeout" */
        g_mutex_unlock(&nb->lock);
        net__link_unref(l);
        *expired = true;
        return NULL;
    }
    return l;
}

static void forward_message(const bmq_message *m, void *user_data)
{
    net_bus *nb = user_data;
    if (bmq_message_is_local(m))
        return;
    const void *origin = bmq_message_origin(m);
    g_mutex_lock(&nb->lock);
    bool listening = nb->server != NULL;
    if (nb->fwd->len == 0) {
        g_mutex_unlock(&nb->lock);
        return;
    }
    g_mutex_unlock(&nb->lock);
    /* Remember our own messages so that a copy coming back round a cycle of
     * our nodes is recognised and not delivered twice. Without a server
     * nothing can come back. */
    if (listening)
        net__seen_check_add(nb, bmq_message_uid(m));
    /* The text and uid every link sends are made here, once, on the sending
     * thread: a busy link's thread then only copies them. */
    bmq_message_args_json(m);
    bmq_message_kwargs_json(m);
    bmq_message_uid(m);
    g_mutex_lock(&nb->lock);
    for (guint i = 0; i < nb->fwd->len; i++) {
        bmq_link *l = nb->fwd->pdata[i];
        if ((const void *)l != origin)
            net__link_enqueue(l, m);
    }
    g_mutex_unlock(&nb->lock);
}

void net__bus_kick_sweeper(net_bus *nb)
{
    g_mutex_lock(&nb->lock);
    g_cond_signal(&nb->sweep_cond);
    g_mutex_unlock(&nb->lock);
}

/* Sleeps until the earliest possible expiry; no periodic wakeups when no
 * link has a ttl. */
static gpointer sweeper_main(gpointer data)
{
    net_bus *nb = data;
    g_mutex_lock(&nb->lock);
    while (!nb->sweep_stop) {
        gint64 now = g_get_monotonic_time();
        gint64 next = G_MAXINT64;
        GPtrArray *idle = g_ptr_array_new();
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, nb->tokens);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            bmq_link *l = v;
            if (l->ttl <= 0)
                continue;
            if (net__link_idle(l, now)) {
                g_ptr_array_add(idle, net__link_ref(l));
                continue;
            }
            gint64 due = net__atomic_get(&l->last_active) + (gint64)(l->ttl * G_USEC_PER_SEC) + 1;
            if (due < next)
                next = due;
        }
        if (idle->len) {
            g_mutex_unlock(&nb->lock);
            for (guint i = 0; i < idle->len; i++) {
                net__link_drop(idle->pdata[i], true);
                net__link_unref(idle->pdata[i]);
            }
            g_ptr_array_free(idle, TRUE);
            g_mutex_lock(&nb->lock);
            continue;
        }
        g_ptr_array_free(idle, TRUE);
        if (next == G_MAXINT64)
            g_cond_wait(&nb->sweep_cond, &nb->lock);
        else
            g_cond_wait_until(&nb->sweep_cond, &nb->lock, next);
    }
    g_mutex_unlock(&nb->lock);
    return NULL;
}

void net__bus_drop_inbound(net_bus *nb)
{
    g_mutex_lock(&nb->lock);
    GPtrArray *victims = g_ptr_array_new();
    for (guint i = 0; i < nb->links->len; i++) {
        bmq_link *l = nb->links->pdata[i];
        if (l->inbound)
            g_ptr_array_add(victims, net__link_ref(l));
    }
    g_mutex_unlock(&nb->lock);
    for (guint i = 0; i < victims->len; i++) {
        bmq_link *l = victims->pdata[i];
        net__link_drop(l, false);
        net__link_stop(l);
        net__link_unref(l);
    }
    g_ptr_array_free(victims, TRUE);
}
