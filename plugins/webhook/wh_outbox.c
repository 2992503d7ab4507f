/* wh_outbox.c - the messages an instance still has to deliver, in order.
 *
 * The sender works on the head only: it renders it, sends it, and acks it
 * once the server took it (or refused it for good); a retry leaves it at
 * the head, so later messages never overtake it. The outbox is bounded:
 * when full, the oldest entry not being sent is dropped and counted.
 *
 * The outbox is kept in memory. Its shape (push at the tail, peek the head,
 * ack the head) is that of a durable cursor over the hub's history store:
 * backed by one, push would only note the message's history sequence
 * number, the head would be read back from the store, and ack would advance
 * the stored cursor, so that what was queued survives a restart of the
 * hub. Callers need not change for that.
 */
#include "webhook.h"

wh_entry *wh__entry_new(const bmq_message *m, double time)
{
    wh_entry *e = g_new0(wh_entry, 1);
    e->msg = bmq_message_ref(m);
    e->time = time;
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
    g_queue_init(&o->q);
    o->max = MAX(max, 1u);
}

wh_entry *wh__outbox_push(wh_outbox *o, wh_entry *e, const wh_entry *busy)
{
    wh_entry *dropped = NULL;
    if (o->q.length >= o->max) {
        GList *victim = o->q.head;
        if (victim && victim->data == busy)
            victim = victim->next;
        if (victim) {
            dropped = victim->data;
            g_queue_delete_link(&o->q, victim);
        }
    }
    g_queue_push_tail(&o->q, e);
    return dropped;
}

wh_entry *wh__outbox_head(wh_outbox *o)
{
    return g_queue_peek_head(&o->q);
}

void wh__outbox_ack(wh_outbox *o)
{
    wh__entry_free(g_queue_pop_head(&o->q));
}

guint wh__outbox_length(const wh_outbox *o)
{
    return o->q.length;
}

void wh__outbox_clear(wh_outbox *o)
{
    g_queue_clear_full(&o->q, (GDestroyNotify)wh__entry_free);
}
