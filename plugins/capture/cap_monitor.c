/* cap_monitor.c - the monitor connection: a connection of its own to the
 * session bus turned into a monitor (org.freedesktop.DBus.Monitoring.
 * BecomeMonitor), so the notification daemon is watched, never replaced.
 * A monitor cannot send, so its filter swallows every message before GDBus
 * could answer one. When the bus goes away the connection is reopened with
 * a growing delay. See cap_plugin.h for the threads. */
#include "cap_plugin.h"

#include <stdio.h>
#include <string.h>

#define NOTIFY_IFACE "org.freedesktop.Notifications"
/* Calls waiting for their reply at most (a flood to a hung daemon). */
#define PENDING_MAX 1024
/* Ids remembered for the closing and action signals. */
#define KNOWN_MAX      1024
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000

/* Replies only from the daemon (the bus resolves the name to its current
 * owner) and errors from the bus itself (no daemon, no such name): every
 * other reply on the session bus would reach this connection too, at a
 * cost to the hub for each, and carry other programs' answers (secrets
 * from a keyring) into the hub. */
static const char *const rules[] = {
    "type='method_call',interface='" NOTIFY_IFACE "',member='Notify'",
    "type='method_return',sender='" NOTIFY_IFACE "'",
    "type='error',sender='" NOTIFY_IFACE "'",
    "type='error',sender='org.freedesktop.DBus'",
    "type='signal',interface='" NOTIFY_IFACE "',member='NotificationClosed'",
    "type='signal',interface='" NOTIFY_IFACE "',member='ActionInvoked'",
    NULL,
};

typedef struct cap_pending {
    char key[48]; /* "sender serial" */
    cap_note *note;
    gint64 since;
} cap_pending;

typedef struct cap_known {
    char *app_part;
    char *app;
    char *daemon; /* unique name of the connection that gave the id */
} cap_known;

static void pending_key(char *buf, size_t size, const char *sender, guint32 serial)
{
    snprintf(buf, size, "%s %" G_GUINT32_FORMAT, sender, serial);
}

static void known_free(gpointer data)
{
    cap_known *k = data;
    g_free(k->app_part);
    g_free(k->app);
    g_free(k->daemon);
    g_free(k);
}

static void pending_free(gpointer data)
{
    cap_pending *pe = data;
    capture__note_free(pe->note);
    g_free(pe);
}

void capture__state_init(cap_plugin *p)
{
    p->pending = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, pending_free);
    p->known = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, known_free);
    g_queue_init(&p->pending_order);
    g_queue_init(&p->known_order);
}

void capture__state_clear(cap_plugin *p)
{
    g_queue_clear(&p->pending_order);
    g_hash_table_destroy(p->pending);
    g_queue_clear(&p->known_order);
    g_hash_table_destroy(p->known);
}

/* ->lock held. The pending entry leaves the table and becomes an event.
 * @daemon: the sender of the reply that gave @id. */
static void pending_settle_locked(cap_plugin *p, cap_pending *pe, guint32 id, const char *daemon,
                                  const char *error)
{
    g_hash_table_steal(p->pending, pe->key);
    g_queue_remove(&p->pending_order, pe);
    if (id) {
        cap_known *k = g_new0(cap_known, 1);
        k->app_part = g_strdup(pe->note->app_part);
        k->app = g_strdup(pe->note->app);
        k->daemon = g_strdup(daemon);
        if (!g_hash_table_contains(p->known, GUINT_TO_POINTER(id)))
            g_queue_push_tail(&p->known_order, GUINT_TO_POINTER(id));
        g_hash_table_replace(p->known, GUINT_TO_POINTER(id), k);
        while (g_queue_get_length(&p->known_order) > KNOWN_MAX)
            g_hash_table_remove(p->known, g_queue_pop_head(&p->known_order));
    } else if (!error) {
        p->n.unanswered++;
    }
    cap_event *ev = g_new0(cap_event, 1);
    ev->kind = EV_CAPTURED;
    ev->note = pe->note;
    ev->id = id;
    ev->text = g_strdup(error);
    g_free(pe);
    capture__ready_push_locked(p, ev);
}

static void on_notify(cap_plugin *p, GDBusMessage *m)
{
    const char *sender = g_dbus_message_get_sender(m);
    cap_note *note = capture__note_parse(g_dbus_message_get_body(m),
                                         p->cfg.include_images && !p->cfg.redact_body);
    g_mutex_lock(&p->lock);
    if (!note || !sender) {
        p->n.malformed++;
        g_mutex_unlock(&p->lock);
        capture__note_free(note);
        return;
    }
    switch (capture__verdict(&p->cfg, note)) {
    case CAP_SKIP_OWN:
        p->n.own++;
        break;
    case CAP_SKIP_IGNORED:
        p->n.ignored++;
        break;
    case CAP_SKIP_NOT_ONLY:
        p->n.not_only++;
        break;
    case CAP_SKIP_URGENCY:
        p->n.below_urgency++;
        break;
    case CAP_KEEP: {
        if (note->truncated)
            p->n.truncated++;
        cap_pending *pe = g_new0(cap_pending, 1);
        pending_key(pe->key, sizeof pe->key, sender, g_dbus_message_get_serial(m));
        pe->note = note;
        pe->since = g_get_monotonic_time();
        note = NULL;
        cap_pending *old = g_hash_table_lookup(p->pending, pe->key);
        if (old) /* a sender cannot reuse a serial; a buggy one is not waited for */
            pending_settle_locked(p, old, 0, NULL, NULL);
        if (g_queue_get_length(&p->pending_order) >= PENDING_MAX)
            pending_settle_locked(p, g_queue_peek_head(&p->pending_order), 0, NULL, NULL);
        g_hash_table_insert(p->pending, pe->key, pe);
        g_queue_push_tail(&p->pending_order, pe);
        capture__want_timer_locked(p);
        break;
    }
    }
    g_mutex_unlock(&p->lock);
    capture__note_free(note);
}

static void on_reply(cap_plugin *p, GDBusMessage *m)
{
    const char *dest = g_dbus_message_get_destination(m);
    if (!dest)
        return;
    char key[48];
    pending_key(key, sizeof key, dest, g_dbus_message_get_reply_serial(m));
    g_mutex_lock(&p->lock);
    cap_pending *pe = g_hash_table_size(p->pending) ? g_hash_table_lookup(p->pending, key) : NULL;
    if (pe) {
        GVariant *body = g_dbus_message_get_body(m);
        guint32 id = 0;
        const char *error = NULL;
        if (g_dbus_message_get_message_type(m) == G_DBUS_MESSAGE_TYPE_ERROR)
            error = g_dbus_message_get_error_name(m) ? g_dbus_message_get_error_name(m)
                                                     : "org.freedesktop.DBus.Error.Failed";
        else if (body && g_variant_is_of_type(body, G_VARIANT_TYPE("(u)")))
            g_variant_get(body, "(u)", &id);
        else
            error = "org.freedesktop.DBus.Error.InvalidSignature";
        pending_settle_locked(p, pe, id, id ? g_dbus_message_get_sender(m) : NULL, error);
    }
    g_mutex_unlock(&p->lock);
}

static void on_signal(cap_plugin *p, GDBusMessage *m)
{
    const char *member = g_dbus_message_get_member(m);
    GVariant *body = g_dbus_message_get_body(m);
    bool closed = g_strcmp0(member, "NotificationClosed") == 0;
    bool action = g_strcmp0(member, "ActionInvoked") == 0;
    guint32 id = 0, reason = 0;
    const char *key = NULL;
    if (closed && body && g_variant_is_of_type(body, G_VARIANT_TYPE("(uu)")))
        g_variant_get(body, "(uu)", &id, &reason);
    else if (action && body && g_variant_is_of_type(body, G_VARIANT_TYPE("(us)")))
        g_variant_get(body, "(u&s)", &id, &key);
    if (!id)
        return;
    g_mutex_lock(&p->lock);
    /* Only ids of captured notifications: the hub's own, ignored ones and
     * those of other senders' ids stay out. A notification closed by
     * several signals (one per listener) is reported once. The signal must
     * come from the connection that gave the id: not from another program
     * on the bus, nor from a restarted daemon that numbers from 1 again. */
    cap_known *k = g_hash_table_lookup(p->known, GUINT_TO_POINTER(id));
    if (k && g_strcmp0(k->daemon, g_dbus_message_get_sender(m)) == 0) {
        cap_event *ev = g_new0(cap_event, 1);
        ev->kind = closed ? EV_CLOSED : EV_ACTION;
        ev->app_part = g_strdup(k->app_part);
        ev->app = g_strdup(k->app);
        ev->id = id;
        ev->reason = reason;
        /* A cut inside a character is repaired to U+FFFD. */
        ev->text = key ? g_utf8_make_valid(key, (gssize)MIN(strlen(key), CAPTURE_APP_MAX)) : NULL;
        if (closed) {
            g_hash_table_remove(p->known, GUINT_TO_POINTER(id));
            g_queue_remove(&p->known_order, GUINT_TO_POINTER(id));
        }
        capture__ready_push_locked(p, ev);
    }
    g_mutex_unlock(&p->lock);
}

/* GDBus worker thread. */
static GDBusMessage *filter(GDBusConnection *c, GDBusMessage *m, gboolean incoming, gpointer data)
{
    cap_plugin *p = data;
    if (!incoming)
        return m;
    g_mutex_lock(&p->lock);
    p->n.monitored++;
    g_mutex_unlock(&p->lock);
    GDBusMessageType t = g_dbus_message_get_message_type(m);
    bool answer = t == G_DBUS_MESSAGE_TYPE_METHOD_RETURN || t == G_DBUS_MESSAGE_TYPE_ERROR;
    const char *dest = g_dbus_message_get_destination(m);
    const char *self = g_dbus_connection_get_unique_name(c);
    /* The answer to this connection's own call (BecomeMonitor). */
    if (answer && dest && self && strcmp(dest, self) == 0)
        return m;
    if (t == G_DBUS_MESSAGE_TYPE_METHOD_CALL) {
        if (g_strcmp0(g_dbus_message_get_interface(m), NOTIFY_IFACE) == 0 &&
            g_strcmp0(g_dbus_message_get_member(m), "Notify") == 0)
            on_notify(p, m);
    } else if (answer) {
        on_reply(p, m);
    } else if (t == G_DBUS_MESSAGE_TYPE_SIGNAL &&
               g_strcmp0(g_dbus_message_get_interface(m), NOTIFY_IFACE) == 0) {
        on_signal(p, m);
    }
    g_object_unref(m);
    return NULL;
}

static void filter_done(gpointer data)
{
    capture__unref(data);
}

guint capture__pending_expire(cap_plugin *p, gint64 age_us)
{
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&p->lock);
    cap_pending *pe;
    while ((pe = g_queue_peek_head(&p->pending_order)) && (!age_us || now - pe->since >= age_us))
        pending_settle_locked(p, pe, 0, NULL, NULL);
    guint left = g_queue_get_length(&p->pending_order);
    g_mutex_unlock(&p->lock);
    return left;
}

static gboolean reconnect(gpointer data);

static void schedule_reconnect(cap_plugin *p)
{
    p->backoff_ms = p->backoff_ms ? MIN(p->backoff_ms * 2, BACKOFF_MAX_MS) : BACKOFF_MIN_MS;
    p->reconnect_id = p->host->timeout_add(p->host, p->backoff_ms, reconnect, p);
}

static void on_closed(GDBusConnection *c, gboolean remote_vanished, GError *error, gpointer data)
{
    cap_plugin *p = data;
    p->host->log(p->host, BMQ_LOG_WARNING, "lost the session bus (%s); reconnecting",
                 error ? error->message : "closed");
    capture__monitor_close(p);
    /* Their replies went with the bus. */
    capture__pending_expire(p, 0);
    p->backoff_ms = 0;
    schedule_reconnect(p);
}

static gboolean reconnect(gpointer data)
{
    cap_plugin *p = data;
    char *error = NULL;
    p->reconnect_id = 0;
    if (capture__monitor_open(p, &error)) {
        p->host->log(p->host, BMQ_LOG_NOTICE, "monitoring the session bus again");
        g_mutex_lock(&p->lock);
        p->n.reconnects++;
        g_mutex_unlock(&p->lock);
        p->backoff_ms = 0;
    } else {
        /* Said once per outage, then quietly retried. */
        int level = g_strcmp0(error, p->last_error) ? BMQ_LOG_WARNING : BMQ_LOG_DEBUG;
        p->host->log(p->host, level, "%s; retrying", error);
        g_free(p->last_error);
        p->last_error = error;
        schedule_reconnect(p);
    }
    return G_SOURCE_REMOVE;
}

bool capture__monitor_open(cap_plugin *p, char **error)
{
    GError *err = NULL;
    char *addr = p->cfg.bus ? g_strdup(p->cfg.bus)
                            : g_dbus_address_get_for_bus_sync(G_BUS_TYPE_SESSION, NULL, &err);
    if (!addr) {
        *error = g_strdup_printf("no session bus: %s", err->message);
        g_error_free(err);
        return false;
    }
    /* "closed" is emitted on the context that is thread-default here. */
    g_main_context_push_thread_default(p->host->context);
    GDBusConnection *c =
        g_dbus_connection_new_for_address_sync(addr,
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, &err);
    g_main_context_pop_thread_default(p->host->context);
    if (!c) {
        *error = g_strdup_printf("cannot connect to the session bus at %s: %s", addr, err->message);
        g_error_free(err);
        g_free(addr);
        return false;
    }
    g_dbus_connection_set_exit_on_close(c, FALSE);
    capture__ref(p);
    guint fid = g_dbus_connection_add_filter(c, filter, p, filter_done);
    GVariant *r = g_dbus_connection_call_sync(c, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                              "org.freedesktop.DBus.Monitoring", "BecomeMonitor",
                                              g_variant_new("(^asu)", rules, 0u), NULL,
                                              G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &err);
    if (!r) {
        char *remote = g_dbus_error_get_remote_error(err);
        g_dbus_error_strip_remote_error(err);
        *error = g_strdup_printf("the bus at %s refused monitoring (%s: %s)", addr,
                                 remote ? remote : "error", err->message);
        g_free(remote);
        g_error_free(err);
        g_free(addr);
        g_dbus_connection_remove_filter(c, fid);
        g_dbus_connection_close_sync(c, NULL, NULL);
        g_object_unref(c);
        return false;
    }
    g_variant_unref(r);
    g_free(addr);
    p->conn = c;
    p->filter_id = fid;
    p->closed_handler = g_signal_connect(c, "closed", G_CALLBACK(on_closed), p);
    p->monitoring = true;
    g_clear_pointer(&p->last_error, g_free);
    return true;
}

void capture__monitor_close(cap_plugin *p)
{
    if (p->reconnect_id) {
        p->host->source_remove(p->host, p->reconnect_id);
        p->reconnect_id = 0;
    }
    if (!p->conn)
        return;
    g_signal_handler_disconnect(p->conn, p->closed_handler);
    g_dbus_connection_remove_filter(p->conn, p->filter_id);
    if (!g_dbus_connection_is_closed(p->conn))
        g_dbus_connection_close_sync(p->conn, NULL, NULL);
    g_clear_object(&p->conn);
    p->monitoring = false;
}
