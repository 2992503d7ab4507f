/* wh_outbox.c - the messages an instance still has to deliver, in order.
 *
 * The sender works on the head only: it renders it, sends it, and acks it
 * once the server took it (or refused it for good); a retry leaves it at
 * the head, so later messages never overtake it. The outbox is bounded:
 * when full, the oldest entry not being sent is dropped and counted.
 *
 * Durable mode (the hub keeps a history): the instance holds a cursor over
 * the history, named "outbox", saved at the seq of the last message it
 * delivered. After a restart the cursor's backlog, what was stored after
 * that seq, is read into the outbox before any live message: the sender
 * thread reads it in batches as the outbox has room, so a long backlog
 * never sits in memory at once. Live messages that arrive meanwhile wait in
 * "held" and follow the backlog; those the cursor returns itself (stored
 * before it was opened) are left to it. Delivery is at least once: a
 * message delivered but not yet acked when the hub dies (the request in
 * flight, or an ack written a few milliseconds later) is sent again.
 */
#include <string.h>

#include "webhook.h"

wh_entry *wh__entry_new(const bmq_message *m, double time)
{
    wh_entry *e = g_new0(wh_entry, 1);
    e->msg = bmq_message_ref(m);
    e->time = time;
    e->seq = bmq_message_seq(m);
    return e;
}

void wh__entry_free(wh_entry *e)
{
    if (!e)
        return;
    bmq_message_unref(e->msg);
    wh__request_free(e->req);
    g_free(e);
}

void wh__outbox_init(wh_outbox *o, guint max)
{
    memset(o, 0, sizeof *o);
    g_queue_init(&o->q);
    g_queue_init(&o->held);
    o->max = MAX(max, 1u);
}

/* Append to @q bounded by @max; the oldest entry that is not @busy makes
 * room and is returned. */
static wh_entry *push_bounded(GQueue *q, guint max, wh_entry *e, const wh_entry *busy)
{
    wh_entry *dropped = NULL;
    if (q->length >= max) {
        GList *victim = q->head;
        if (victim && victim->data == busy)
            victim = victim->next;
        if (victim) {
            dropped = victim->data;
            g_queue_delete_link(q, victim);
        }
    }
    g_queue_push_tail(q, e);
    return dropped;
}

wh_entry *wh__outbox_push(wh_outbox *o, wh_entry *e, const wh_entry *busy)
{
    if (o->replaying)
        return push_bounded(&o->held, o->max, e, NULL);
    return push_bounded(&o->q, o->max, e, busy);
}

wh_entry *wh__outbox_head(wh_outbox *o)
{
    return g_queue_peek_head(&o->q);
}

void wh__outbox_ack(wh_outbox *o)
{
    wh_entry *e = g_queue_pop_head(&o->q);
    if (e && e->seq && o->cursor)
        o->host->cursor_ack(o->host, o->cursor, e->seq);
    wh__entry_free(e);
}

guint wh__outbox_length(const wh_outbox *o)
{
    return o->q.length;
}

void wh__outbox_clear(wh_outbox *o)
{
    g_queue_clear_full(&o->q, (GDestroyNotify)wh__entry_free);
    g_queue_clear_full(&o->held, (GDestroyNotify)wh__entry_free);
    if (o->cursor)
        o->host->cursor_close(o->host, o->cursor);
    o->cursor = NULL;
}

void wh__outbox_hold(wh_outbox *o, const bmq_host *host)
{
    o->host = host;
    o->replaying = true;
}

/* The replay is over: held messages follow the backlog, except those the
 * cursor returned already (stored after its open but read by it). */
static guint release_held(wh_outbox *o)
{
    guint dropped = 0;
    o->replaying = false;
    wh_entry *e;
    while ((e = g_queue_pop_head(&o->held))) {
        if (e->seq && e->seq <= o->replayed_to) {
            wh__entry_free(e);
            continue;
        }
        wh_entry *old = push_bounded(&o->q, o->max, e, NULL);
        if (old) {
            dropped++;
            wh__entry_free(old);
        }
    }
    return dropped;
}

guint wh__outbox_set_cursor(wh_outbox *o, bmq_cursor *c)
{
    o->cursor = c;
    if (!c)
        return release_held(o);
    /* Followed before the open: what the cursor claims is its to return. */
    for (GList *l = o->held.head; l;) {
        GList *next = l->next;
        wh_entry *e = l->data;
        if (!o->host->cursor_live(o->host, c, e->msg)) {
            wh__entry_free(e);
            g_queue_delete_link(&o->held, l);
        }
        l = next;
    }
    return 0;
}

bool wh__outbox_wants(wh_outbox *o, const bmq_message *m)
{
    if (!o->cursor)
        return true;
    if (!o->host->cursor_live(o->host, o->cursor, m))
        return false;
    uint64_t seq = bmq_message_seq(m);
    return !seq || seq > o->replayed_to;
}

guint wh__outbox_replay_room(const wh_outbox *o)
{
    if (!o->replaying || !o->cursor || o->q.length >= o->max)
        return 0;
    return MIN(o->max - o->q.length, 256u);
}

guint wh__outbox_replay_add(wh_outbox *o, bmq_message **msgs, int n, guint asked,
                            bool (*admit)(void *data, const bmq_message *m), void *data)
{
    double now = (double)g_get_real_time() / 1e6;
    for (int i = 0; i < n; i++) {
        uint64_t seq = bmq_message_seq(msgs[i]);
        if (seq > o->replayed_to)
            o->replayed_to = seq;
        if (!admit || admit(data, msgs[i])) {
            g_queue_push_tail(&o->q, wh__entry_new(msgs[i], now));
            o->replayed++;
        }
        bmq_message_unref(msgs[i]);
    }
    if (n < 0 || (guint)n < asked)
        return release_held(o);
    return 0;
}
