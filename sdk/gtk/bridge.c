/* bridge.c - BmqGtkBridge: messages in, GTK signals out on the main thread.
 *
 * Messages reach the bridge on any thread (a bus follower runs in the
 * sender's thread or on a pool thread). They are queued, with a reference,
 * in a mutex-protected FIFO shared with the main thread; one idle source at a
 * time drains it. One source per burst instead of one per message keeps a
 * flood cheap, and always going through the queue (never emitting inline,
 * even when the sender is the main thread) keeps the order of emissions equal
 * to the order of arrival and keeps handlers from running inside a sender's
 * bmq_twitter() call.
 *
 * The follower's user_data is the shared "feed", not the bridge: the feed is
 * reference-counted on its own and holds only a weak reference to the bridge,
 * so a message racing with the bridge's disposal finds no bridge and is
 * dropped instead of resurrecting a dying object.
 */
#include <berrymq/gtk.h>

#include <gtk/gtk.h>

/* Registered as "BmqMessage", the usual spelling of a GType name. */
typedef bmq_message BmqMessage;
G_DEFINE_BOXED_TYPE(BmqMessage, bmq_gtk_message, bmq_message_ref, bmq_message_unref)

typedef struct feed {
    gint refs;
    GMutex lock;
    GQueue pending; /* bmq_message*, each holding a reference */
    guint max_pending;
    bool scheduled; /* an idle source is attached and will drain */
    bool closed;
    guint64 dropped;
    GWeakRef bridge;
} feed;

struct _BmqGtkBridge {
    GObject parent;
    feed *link;
    bmq_bus *bus;           /* (nullable) follow mode */
    bmq_follower *follower; /* (nullable) */
    char *pattern;
    bmq_gtk_send_fn send;
    void *send_data;
    GDestroyNotify send_destroy;
    guint64 emitted;
};

G_DEFINE_TYPE(BmqGtkBridge, bmq_gtk_bridge, G_TYPE_OBJECT)

enum { SIG_MESSAGE, N_SIGNALS };
static guint signals[N_SIGNALS];

static feed *feed_ref(feed *l)
{
    g_atomic_int_inc(&l->refs);
    return l;
}

static void feed_unref(feed *l)
{
    if (!g_atomic_int_dec_and_test(&l->refs))
        return;
    g_queue_clear_full(&l->pending, (GDestroyNotify)bmq_message_unref);
    g_weak_ref_clear(&l->bridge);
    g_mutex_clear(&l->lock);
    g_free(l);
}

static void feed_unref_cb(gpointer data)
{
    feed_unref(data);
}

static void emit_one(BmqGtkBridge *self, bmq_message *msg)
{
    /* g_quark_try_string: a name nobody connected to as a detail has no
     * quark yet, and interning every name seen would grow without bound. */
    GQuark detail = g_quark_try_string(bmq_message_name(msg));
    self->emitted++;
    g_signal_emit(self, signals[SIG_MESSAGE], detail, msg);
}

/* Drain at most a batch so a flood cannot starve redraws and input. */
#define DRAIN_BATCH 256

static gboolean drain_cb(gpointer data)
{
    feed *l = data;
    BmqGtkBridge *self = g_weak_ref_get(&l->bridge);
    bmq_message *batch[DRAIN_BATCH];
    guint n = 0;
    bool more;

    g_mutex_lock(&l->lock);
    while (n < DRAIN_BATCH && !g_queue_is_empty(&l->pending))
        batch[n++] = g_queue_pop_head(&l->pending);
    more = !g_queue_is_empty(&l->pending) && self && !l->closed;
    if (!more)
        l->scheduled = false;
    g_mutex_unlock(&l->lock);

    for (guint i = 0; i < n; i++) {
        if (self)
            emit_one(self, batch[i]);
        bmq_message_unref(batch[i]);
    }
    if (self)
        g_object_unref(self);
    return more ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static int feed_push(feed *l, const bmq_message *msg)
{
    bool schedule = false;
    int rc = 0;

    g_mutex_lock(&l->lock);
    if (l->closed) {
        rc = -BMQ_ECLOSED;
    } else if (l->max_pending && g_queue_get_length(&l->pending) >= l->max_pending) {
        l->dropped++;
        rc = -BMQ_EFULL;
    } else {
        g_queue_push_tail(&l->pending, bmq_message_ref((bmq_message *)msg));
        if (!l->scheduled) {
            l->scheduled = true;
            schedule = true;
        }
    }
    g_mutex_unlock(&l->lock);

    if (schedule) {
        GSource *src = g_idle_source_new();
        g_source_set_priority(src, G_PRIORITY_DEFAULT);
        g_source_set_name(src, "bmq-gtk-bridge");
        g_source_set_callback(src, drain_cb, feed_ref(l), feed_unref_cb);
        g_source_attach(src, g_main_context_default());
        g_source_unref(src);
    }
    return rc;
}

static void follower_cb(const bmq_message *msg, void *user_data)
{
    feed_push(user_data, msg);
}

static void bmq_gtk_bridge_dispose(GObject *obj)
{
    BmqGtkBridge *self = BMQ_GTK_BRIDGE(obj);

    /* Unfollow first: it waits for follower calls running elsewhere. */
    if (self->follower) {
        bmq_unfollow(self->follower);
        self->follower = NULL;
    }
    if (self->link) {
        g_mutex_lock(&self->link->lock);
        self->link->closed = true;
        g_queue_clear_full(&self->link->pending, (GDestroyNotify)bmq_message_unref);
        g_mutex_unlock(&self->link->lock);
        feed_unref(self->link);
        self->link = NULL;
    }
    if (self->send_destroy && self->send_data)
        self->send_destroy(self->send_data);
    self->send_data = NULL;
    self->send = NULL;
    G_OBJECT_CLASS(bmq_gtk_bridge_parent_class)->dispose(obj);
}

static void bmq_gtk_bridge_finalize(GObject *obj)
{
    BmqGtkBridge *self = BMQ_GTK_BRIDGE(obj);
    g_free(self->pattern);
    G_OBJECT_CLASS(bmq_gtk_bridge_parent_class)->finalize(obj);
}

static void bmq_gtk_bridge_class_init(BmqGtkBridgeClass *klass)
{
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    oc->dispose = bmq_gtk_bridge_dispose;
    oc->finalize = bmq_gtk_bridge_finalize;

    /* BmqGtkBridge::message — emitted on the main thread for each message;
     * the detail is the message name: connect to "message::build". */
    signals[SIG_MESSAGE] =
        g_signal_new("message", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED, 0,
                     NULL, NULL, g_cclosure_marshal_VOID__BOXED, G_TYPE_NONE, 1,
                     BMQ_GTK_TYPE_MESSAGE | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void bmq_gtk_bridge_init(BmqGtkBridge *self)
{
    feed *l = g_new0(feed, 1);
    l->refs = 1;
    g_mutex_init(&l->lock);
    g_queue_init(&l->pending);
    l->max_pending = BMQ_GTK_BRIDGE_DEFAULT_MAX_PENDING;
    g_weak_ref_init(&l->bridge, self);
    self->link = l;
}

static int bus_send(const char *id, json_object *args, json_object *kwargs, void *user_data)
{
    return bmq_twitter(user_data, id, args, kwargs);
}

BmqGtkBridge *bmq_gtk_bridge_new(bmq_bus *bus, const char *pattern, char **error)
{
    g_return_val_if_fail(bus != NULL, NULL);
    if (!pattern || bmq_id_validate(pattern) != 0) {
        if (error)
            *error = g_strdup_printf("invalid pattern \"%s\"", pattern ? pattern : "(null)");
        return NULL;
    }
    BmqGtkBridge *self = g_object_new(BMQ_GTK_TYPE_BRIDGE, NULL);
    self->bus = bus;
    self->pattern = g_strdup(pattern);
    self->send = bus_send;
    self->send_data = bus;
    self->follower = bmq_follow(bus, pattern, follower_cb, NULL, self->link);
    if (!self->follower) {
        if (error)
            *error = g_strdup_printf("cannot follow \"%s\"", pattern);
        g_object_unref(self);
        return NULL;
    }
    return self;
}

BmqGtkBridge *bmq_gtk_bridge_new_with_sender(bmq_gtk_send_fn send, void *user_data,
                                             GDestroyNotify destroy)
{
    BmqGtkBridge *self = g_object_new(BMQ_GTK_TYPE_BRIDGE, NULL);
    self->send = send;
    self->send_data = user_data;
    self->send_destroy = destroy;
    return self;
}

int bmq_gtk_bridge_push(BmqGtkBridge *bridge, const bmq_message *msg)
{
    g_return_val_if_fail(BMQ_GTK_IS_BRIDGE(bridge) && msg, -BMQ_EINVAL);
    if (!bridge->link)
        return -BMQ_ECLOSED;
    return feed_push(bridge->link, msg);
}

guint bmq_gtk_bridge_flush(BmqGtkBridge *bridge)
{
    g_return_val_if_fail(BMQ_GTK_IS_BRIDGE(bridge), 0);
    guint n = 0;
    feed *l = bridge->link;
    if (!l)
        return 0;
    g_object_ref(bridge);
    for (;;) {
        g_mutex_lock(&l->lock);
        bmq_message *m = g_queue_pop_head(&l->pending);
        g_mutex_unlock(&l->lock);
        if (!m)
            break;
        emit_one(bridge, m);
        bmq_message_unref(m);
        n++;
        if (!bridge->link)
            break;
    }
    g_object_unref(bridge);
    return n;
}

int bmq_gtk_bridge_send(BmqGtkBridge *bridge, const char *id, json_object *args,
                        json_object *kwargs)
{
    if (!BMQ_GTK_IS_BRIDGE(bridge) || !bridge->send) {
        json_object_put(args);
        json_object_put(kwargs);
        return BMQ_GTK_IS_BRIDGE(bridge) ? -BMQ_ECLOSED : -BMQ_EINVAL;
    }
    return bridge->send(id, args, kwargs, bridge->send_data);
}

const char *bmq_gtk_bridge_get_pattern(BmqGtkBridge *bridge)
{
    g_return_val_if_fail(BMQ_GTK_IS_BRIDGE(bridge), NULL);
    return bridge->pattern;
}

guint64 bmq_gtk_bridge_get_emitted(BmqGtkBridge *bridge)
{
    g_return_val_if_fail(BMQ_GTK_IS_BRIDGE(bridge), 0);
    return bridge->emitted;
}

guint64 bmq_gtk_bridge_get_dropped(BmqGtkBridge *bridge)
{
    g_return_val_if_fail(BMQ_GTK_IS_BRIDGE(bridge), 0);
    if (!bridge->link)
        return 0;
    g_mutex_lock(&bridge->link->lock);
    guint64 d = bridge->link->dropped;
    g_mutex_unlock(&bridge->link->lock);
    return d;
}

void bmq_gtk_bridge_set_max_pending(BmqGtkBridge *bridge, guint max_pending)
{
    g_return_if_fail(BMQ_GTK_IS_BRIDGE(bridge));
    if (!bridge->link)
        return;
    g_mutex_lock(&bridge->link->lock);
    bridge->link->max_pending = max_pending;
    g_mutex_unlock(&bridge->link->lock);
}
