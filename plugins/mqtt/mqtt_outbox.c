/* mqtt_outbox.c - the durable outbox of the MQTT bridge: QoS >= 1 messages
 * kept in the hub's history until the broker acknowledged them.
 *
 * When the instance publishes with QoS >= 1 and the host keeps a history
 * (the hub), it holds a cursor "outbox" over that history. Every message
 * the bridge takes on (or skips: received from the broker, a copy it
 * already carried) gets an entry in b->track, in seq order. An entry is
 * done when the broker acknowledged its PUBLISH (PUBACK for QoS 1, PUBCOMP
 * for QoS 2: libmosquitto's on_publish) or when the bridge gave it up (the
 * offline buffer overflowed, mosquitto_publish refused it); the done
 * entries at the head are removed and the cursor is acked with the last
 * one's seq. So the saved position never passes a message the broker has
 * not confirmed.
 *
 * After a restart the cursor's backlog (what was stored after that
 * position and before the open) is read back on the network thread, in
 * batches while fewer than `buffer` messages are unacknowledged, and goes
 * out before any live message: those wait in b->held meanwhile. Delivery is
 * at least once: a message the broker had received but whose PUBACK had
 * not yet arrived, or whose ack was not yet written (milliseconds), is
 * published again after a crash.
 *
 * Locks: b->out_lock guards the cursor, the track, held and the replay
 * state. It is taken under b->lock (buffer overflow, flush) and under
 * libmosquitto's callback lock (on_publish, on_message), and mosquitto_publish
 * is called under it (so an acknowledgement cannot come before its mid is
 * recorded); it is never held while taking another of the bridge's locks.
 */
#include <string.h>

#include "mqtt_bridge.h"

/* One message the durable outbox answers for. */
typedef struct mqtt_track {
    uint64_t seq;
    int mid;   /* MQTT message id once handed to libmosquitto, else 0 */
    bool done; /* acknowledged, given up, or never to be published */
} mqtt_track;

#define REPLAY_BATCH 256u

void mqtt_outbox__init(mqtt_bridge *b)
{
    b->track_seq = g_hash_table_new(g_int64_hash, g_int64_equal);
    b->track_mid = g_hash_table_new(NULL, NULL);
    const bmq_host *h = b->host;
    /* Durable when it can be: live messages wait until the cursor (opened
     * once the followers are in place) has given back the backlog. */
    b->replaying = b->cfg.qos > 0 && BMQ_HOST_HAS(h, cursor_close) && h->history_cursor != NULL;
    b->outbox_ready = !b->replaying;
}

static void unindex_locked(mqtt_bridge *b, mqtt_track *t)
{
    g_hash_table_remove(b->track_seq, &t->seq);
    if (t->mid != 0 && g_hash_table_lookup(b->track_mid, GINT_TO_POINTER(t->mid)) == t)
        g_hash_table_remove(b->track_mid, GINT_TO_POINTER(t->mid));
}

/* Remove the done entries at the head and save the position after them.
 * While the backlog is read, not beyond what the cursor has returned: the
 * position must not pass what it has yet to return. out_lock held. */
static void advance_locked(mqtt_bridge *b)
{
    if (b->cursor == NULL)
        return;
    uint64_t top = 0;
    mqtt_track *t;
    while ((t = g_queue_peek_head(&b->track)) != NULL && t->done &&
           (!b->replaying || t->seq <= b->replayed_to)) {
        top = t->seq;
        g_free(g_queue_pop_head(&b->track));
    }
    if (top > b->acked_seq) {
        b->acked_seq = top;
        b->host->cursor_ack(b->host, b->cursor, top);
    }
}

/* A new entry for @seq, in seq order (senders on several threads may
 * arrive a little out of order). out_lock held. */
static void track_add_locked(mqtt_bridge *b, uint64_t seq, bool done)
{
    mqtt_track *t = g_new0(mqtt_track, 1);
    t->seq = seq;
    t->done = done;
    if (!done) {
        b->unacked++;
        g_hash_table_replace(b->track_seq, &t->seq, t);
    }
    GList *l = b->track.tail;
    while (l != NULL && ((mqtt_track *)l->data)->seq > seq)
        l = l->prev;
    if (l == NULL)
        g_queue_push_head(&b->track, t);
    else
        g_queue_insert_after(&b->track, l, t);
}

static mqtt_track *find_seq_locked(mqtt_bridge *b, uint64_t seq)
{
    return g_hash_table_lookup(b->track_seq, &seq);
}

static void done_locked(mqtt_bridge *b, mqtt_track *t)
{
    if (t == NULL || t->done)
        return;
    t->done = true;
    b->unacked--;
    unindex_locked(b, t);
    advance_locked(b);
}

uint64_t mqtt_outbox__take(mqtt_bridge *b, const bmq_message *m, bool skip)
{
    uint64_t seq = bmq_message_seq(m);
    if (seq == 0 || b->cfg.qos == 0)
        return 0;
    g_mutex_lock(&b->out_lock);
    if (b->cursor == NULL) {
        seq = 0;
    } else {
        track_add_locked(b, seq, skip);
        if (skip)
            advance_locked(b);
    }
    g_mutex_unlock(&b->out_lock);
    return skip ? 0 : seq;
}

void mqtt_outbox__give_up(mqtt_bridge *b, uint64_t seq)
{
    if (seq == 0)
        return;
    g_mutex_lock(&b->out_lock);
    done_locked(b, find_seq_locked(b, seq));
    g_mutex_unlock(&b->out_lock);
}

int mqtt_outbox__publish(mqtt_bridge *b, uint64_t seq, const char *topic, const char *payload,
                         size_t len)
{
    int mid = 0;
    g_mutex_lock(&b->out_lock);
    int rc = mosquitto_publish(b->mosq, &mid, topic, (int)len, payload, b->cfg.qos, b->cfg.retain);
    mqtt_track *t = find_seq_locked(b, seq);
    if (rc == MOSQ_ERR_SUCCESS && t != NULL) {
        t->mid = mid;
        g_hash_table_replace(b->track_mid, GINT_TO_POINTER(mid), t);
    } else if (rc != MOSQ_ERR_SUCCESS)
        done_locked(b, t);
    g_mutex_unlock(&b->out_lock);
    return rc;
}

void mqtt_outbox__acked(mqtt_bridge *b, int mid)
{
    g_mutex_lock(&b->out_lock);
    if (b->track_mid != NULL)
        done_locked(b, g_hash_table_lookup(b->track_mid, GINT_TO_POINTER(mid)));
    g_mutex_unlock(&b->out_lock);
}

bool mqtt_outbox__hold(mqtt_bridge *b, const bmq_message *m)
{
    if (b->cfg.qos == 0)
        return false;
    bool taken = false;
    g_mutex_lock(&b->out_lock);
    if (b->cursor != NULL || b->replaying) {
        uint64_t seq = bmq_message_seq(m);
        if (b->cursor != NULL &&
            (!b->host->cursor_live(b->host, b->cursor, m) || (seq != 0 && seq <= b->replayed_to))) {
            taken = true; /* the cursor gives it back */
        } else if (b->replaying) {
            /* Behind the backlog; bounded like the offline buffer. */
            if (b->held.length >= MAX(b->cfg.buffer, 1u)) {
                bmq_message_unref(g_queue_pop_head(&b->held));
                atomic_fetch_add(&b->dropped, 1);
            }
            g_queue_push_tail(&b->held, bmq_message_ref(m));
            taken = true;
        }
    }
    g_mutex_unlock(&b->out_lock);
    return taken;
}

void mqtt_outbox__open(mqtt_bridge *b)
{
    const bmq_host *h = b->host;
    bmq_cursor *c = NULL;
    if (b->replaying) {
        const char *pattern = g_strv_length(b->cfg.publish) == 1 ? b->cfg.publish[0] : NULL;
        char *err = NULL;
        c = h->history_cursor(h, "outbox", pattern, &err);
        if (c == NULL)
            h->log(h, BMQ_LOG_INFO, "offline buffer in memory only (%s)", err ? err : "no history");
        g_free(err);
    }
    GQueue release = G_QUEUE_INIT;
    g_mutex_lock(&b->out_lock);
    b->cursor = c;
    if (c == NULL) {
        b->replaying = false;
        release = b->held;
        g_queue_init(&b->held);
    } else {
        /* Followed before the open: what the cursor claims is its own. */
        for (GList *l = b->held.head; l != NULL;) {
            GList *next = l->next;
            if (!h->cursor_live(h, c, l->data)) {
                bmq_message_unref(l->data);
                g_queue_delete_link(&b->held, l);
            }
            l = next;
        }
    }
    g_mutex_unlock(&b->out_lock);
    bmq_message *m;
    while ((m = g_queue_pop_head(&release)) != NULL) {
        mqtt_link__publish(b, m);
        bmq_message_unref(m);
    }
    /* The network thread waits for this before it connects. */
    g_mutex_lock(&b->lock);
    b->outbox_ready = true;
    g_cond_broadcast(&b->cond);
    g_mutex_unlock(&b->lock);
}

/* A stored message the bridge publishes: one of its patterns, not local. */
static bool wanted(mqtt_bridge *b, const bmq_message *m)
{
    if (bmq_message_is_local(m))
        return false;
    for (char **p = b->cfg.publish; *p != NULL; p++)
        if (bmq_id_match(*p, bmq_message_id(m)))
            return true;
    return false;
}

/* The backlog is read: publish what waited in held, in order, then let
 * followers publish themselves. Checked again under the lock, so a message
 * held meanwhile never overtakes an older one. */
static void release_held(mqtt_bridge *b)
{
    for (;;) {
        g_mutex_lock(&b->out_lock);
        if (b->held.length == 0) {
            b->replaying = false;
            advance_locked(b);
            g_mutex_unlock(&b->out_lock);
            break;
        }
        GQueue q = b->held;
        g_queue_init(&b->held);
        uint64_t below = b->replayed_to;
        g_mutex_unlock(&b->out_lock);
        bmq_message *m;
        while ((m = g_queue_pop_head(&q)) != NULL) {
            uint64_t seq = bmq_message_seq(m);
            if (seq == 0 || seq > below)
                mqtt_link__publish(b, m);
            bmq_message_unref(m);
        }
    }
    unsigned n = atomic_load(&b->replayed);
    if (n > 0)
        b->host->log(b->host, BMQ_LOG_NOTICE,
                     "%u message%s not acknowledged by the broker before the restart taken back "
                     "from the history",
                     n, n == 1 ? "" : "s");
}

bool mqtt_outbox__replay(mqtt_bridge *b)
{
    g_mutex_lock(&b->out_lock);
    bmq_cursor *c = b->cursor;
    unsigned cap = MAX(b->cfg.buffer, 1u);
    bool go = b->replaying && c != NULL && b->unacked < cap;
    unsigned room = go ? MIN(cap - b->unacked, REPLAY_BATCH) : 0;
    g_mutex_unlock(&b->out_lock);
    if (!go)
        return false;
    g_mutex_lock(&b->lock);
    bool stopping = b->stopping;
    g_mutex_unlock(&b->lock);
    if (stopping)
        return false;

    bmq_message **msgs = g_new(bmq_message *, room);
    int n = b->host->cursor_next(b->host, c, msgs, room);
    if (n < 0)
        b->host->log(b->host, BMQ_LOG_WARNING,
                     "cannot read the messages not yet acknowledged before the restart from the "
                     "history: %s; going on with new ones",
                     bmq_strerror(n));
    /* Once the backlog is read, a full batch is followed by one that
     * returns what was stored since the open (the follower's messages,
     * held meanwhile): those end the replay and are not counted. */
    bool caught_up = false;
    for (int i = 0; i < n; i++) {
        uint64_t seq = bmq_message_seq(msgs[i]);
        g_mutex_lock(&b->out_lock);
        b->replayed_to = MAX(b->replayed_to, seq);
        g_mutex_unlock(&b->out_lock);
        bool live = b->host->cursor_live(b->host, c, msgs[i]);
        caught_up = caught_up || live;
        if (wanted(b, msgs[i])) {
            if (!live)
                atomic_fetch_add(&b->replayed, 1);
            mqtt_link__publish(b, msgs[i]);
        } else {
            mqtt_outbox__take(b, msgs[i], true);
        }
        bmq_message_unref(msgs[i]);
    }
    g_free(msgs);
    if (n < (int)room || caught_up) {
        release_held(b);
        return false;
    }
    return true;
}

void mqtt_outbox__clear(mqtt_bridge *b)
{
    if (b->cursor != NULL && b->unacked > 0)
        b->host->log(b->host, BMQ_LOG_INFO,
                     "%u message%s not yet acknowledged by the broker will be sent after the "
                     "restart",
                     b->unacked, b->unacked == 1 ? "" : "s");
    if (b->cursor != NULL)
        b->host->cursor_close(b->host, b->cursor);
    b->cursor = NULL;
    if (b->track_seq != NULL)
        g_hash_table_destroy(b->track_seq);
    if (b->track_mid != NULL)
        g_hash_table_destroy(b->track_mid);
    b->track_seq = b->track_mid = NULL;
    g_queue_clear_full(&b->track, g_free);
    g_queue_clear_full(&b->held, (GDestroyNotify)bmq_message_unref);
    g_mutex_clear(&b->out_lock);
}

void mqtt_outbox__status(mqtt_bridge *b, json_object *o)
{
    g_mutex_lock(&b->out_lock);
    bool durable = b->cursor != NULL;
    unsigned unacked = b->unacked + b->held.length;
    g_mutex_unlock(&b->out_lock);
    json_object_object_add(o, "durable", json_object_new_boolean(durable));
    json_object_object_add(o, "unacked", json_object_new_int64(unacked));
    json_object_object_add(o, "replayed", json_object_new_int64(atomic_load(&b->replayed)));
}
