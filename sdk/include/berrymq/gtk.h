/* gtk.h - libberrymq-gtk: the GTK 3 event bridge of berryMQ.
 *
 * BmqGtkBridge is the C counterpart of the original wxPython adapter: it
 * follows an identifier pattern on a bus and re-emits every matching message
 * on the GTK main thread (the default GMainContext) as the detailed signal
 * "message::NAME", where NAME is the message name ("build" for
 * "build:notify"). Followers may run on any thread; the bridge never touches
 * GTK or emits signals off the main thread.
 *
 * The other direction: bmq_gtk_bridge_bind() wires any GObject signal (a
 * button's "clicked", a menu item's "activate", a GAction's "activate") to
 * send a configured identifier with args/kwargs.
 *
 * A bridge either owns a follower on a bus (bmq_gtk_bridge_new) or is fed by
 * its owner (bmq_gtk_bridge_new_with_sender + bmq_gtk_bridge_push), which is
 * how plugins use it: they receive messages through their host table and
 * send through host->twitter.
 *
 * Link with pkg-config module berrymq-gtk.
 */
#ifndef BERRYMQ_GTK_H
#define BERRYMQ_GTK_H

#include <glib-object.h>

#include <berrymq/berrymq.h>

G_BEGIN_DECLS

/* bmq_message as a GBoxed type: copy = bmq_message_ref, free = unref. The
 * "message" signal carries it; a handler that keeps the message past its
 * return takes a reference with bmq_message_ref(). */
#define BMQ_GTK_TYPE_MESSAGE (bmq_gtk_message_get_type())
GType bmq_gtk_message_get_type(void);

#define BMQ_GTK_TYPE_BRIDGE (bmq_gtk_bridge_get_type())
G_DECLARE_FINAL_TYPE(BmqGtkBridge, bmq_gtk_bridge, BMQ_GTK, BRIDGE, GObject)

/* How a bridge sends. @args/@kwargs (transfer full). Returns 0 or a negative
 * BMQ_E* code. Called on the main thread. */
typedef int (*bmq_gtk_send_fn)(const char *id, json_object *args, json_object *kwargs,
                               void *user_data);

/* Default bound of the cross-thread queue: beyond it, new messages are
 * dropped (and counted) until the main loop catches up. */
#define BMQ_GTK_BRIDGE_DEFAULT_MAX_PENDING 100000

/* A bridge following @pattern on @bus (transfer none; must outlive the
 * bridge). Sends go to @bus with bmq_twitter(). Main thread.
 * Returns: (transfer full, g_object_unref) a new bridge; NULL with *error
 * (nullable, transfer full, g_free) when the pattern is invalid. */
BmqGtkBridge *bmq_gtk_bridge_new(bmq_bus *bus, const char *pattern, char **error);

/* A bridge without a follower: its owner feeds it with bmq_gtk_bridge_push().
 * Sends call @send(…, @user_data) (nullable: sending fails with
 * -BMQ_ECLOSED); @destroy (nullable) frees @user_data with the bridge.
 * Returns: (transfer full, g_object_unref) a new bridge; never NULL. */
BmqGtkBridge *bmq_gtk_bridge_new_with_sender(bmq_gtk_send_fn send, void *user_data,
                                             GDestroyNotify destroy);

/* Queue @msg (transfer none: the bridge takes its own reference) for emission
 * on the main thread, after every message pushed before it. Any thread.
 * Returns: 0; -BMQ_EFULL when the queue is full (the message is counted as
 * dropped); -BMQ_ECLOSED after the bridge was disposed; -BMQ_EINVAL for a
 * NULL bridge or message. */
int bmq_gtk_bridge_push(BmqGtkBridge *bridge, const bmq_message *msg);

/* Emit everything queued so far, now. Main thread.
 * Returns: how many messages were emitted. */
guint bmq_gtk_bridge_flush(BmqGtkBridge *bridge);

/* Send a message through the bridge's sender. @args/@kwargs (transfer full,
 * nullable), also on error. Main thread.
 * Returns: what the sender returns (bmq_twitter's codes for a bridge made
 * by bmq_gtk_bridge_new); -BMQ_ECLOSED for a bridge without a sender;
 * -BMQ_EINVAL when @bridge is not a bridge. */
int bmq_gtk_bridge_send(BmqGtkBridge *bridge, const char *id, json_object *args,
                        json_object *kwargs);

/* Connect @signal of @instance (any GObject; any signal signature) so that
 * each emission sends @id with copies of @args and @kwargs (transfer full,
 * nullable). When @instance is a GtkToggleButton or GtkCheckMenuItem, the
 * kwarg "active" (its new state) is added. The binding holds only a weak
 * reference to the bridge and ends with @instance or with
 * g_signal_handler_disconnect.
 * Returns: the handler id; 0 when @id is not a valid identifier or @signal
 * does not exist (args/kwargs freed). */
gulong bmq_gtk_bridge_bind(BmqGtkBridge *bridge, gpointer instance, const char *signal,
                           const char *id, json_object *args, json_object *kwargs);

/* Shorthands: "clicked" for a GtkButton, "activate" for a GtkMenuItem or a
 * GAction. Same contract as bmq_gtk_bridge_bind().
 * Returns: the handler id, or 0, as bmq_gtk_bridge_bind(). */
gulong bmq_gtk_bridge_bind_button(BmqGtkBridge *bridge, gpointer button, const char *id,
                                  json_object *args, json_object *kwargs);
gulong bmq_gtk_bridge_bind_menu_item(BmqGtkBridge *bridge, gpointer menu_item, const char *id,
                                     json_object *args, json_object *kwargs);
gulong bmq_gtk_bridge_bind_action(BmqGtkBridge *bridge, gpointer action, const char *id,
                                  json_object *args, json_object *kwargs);

/* Returns: (transfer none, nullable) the followed pattern, valid as long
 * as the bridge; NULL for a fed bridge. */
const char *bmq_gtk_bridge_get_pattern(BmqGtkBridge *bridge);
/* Returns: the counters: messages emitted, and messages dropped because the
 * queue was full. */
guint64 bmq_gtk_bridge_get_emitted(BmqGtkBridge *bridge);
guint64 bmq_gtk_bridge_get_dropped(BmqGtkBridge *bridge);
void bmq_gtk_bridge_set_max_pending(BmqGtkBridge *bridge, guint max_pending);

/* The same as bmq_message_render() (berrymq.h), kept for programs built
 * against it.
 * Returns: (transfer full, g_free) the text; NULL only for a NULL @msg. */
char *bmq_gtk_message_render(const bmq_message *msg, const char *const *skip);

G_END_DECLS

#endif /* BERRYMQ_GTK_H */
