/* callback.c - GNTP socket callbacks of forwarded notifications.
 *
 * After a -OK to a NOTIFY that carried Notification-Callback-Context, the
 * server keeps the connection open until the notification is clicked,
 * closed or times out, then sends a -CALLBACK on it. The sender's worker
 * hands such a connection over (growl__callbacks_adopt, any thread); it is
 * moved to the main thread with host->invoke and watched by a socket
 * source there, so waiting costs no thread. The result becomes the message
 * NAME:clicked|closed|timedout, NAME being the name of the message shown.
 * At most MAX_WATCHES connections wait; the oldest is let go first.
 */
#include "growl_plugin.h"

#include <string.h>

#include <gio/gio.h>

#define MAX_WATCHES 64
#define MAX_REPLY   (64 * 1024)

struct growl_callbacks {
    const bmq_host *host;
    const void *origin; /* tag of the messages sent */
    GList *watches;     /* cb_watch*, main thread only */
};

typedef struct cb_watch {
    growl_callbacks *s;
    GSocketConnection *conn;
    GByteArray *buf;
    char *context;
    guint src;
} cb_watch;

static void watch_close(cb_watch *w)
{
    growl_callbacks *s = w->s;
    s->watches = g_list_remove(s->watches, w);
    if (w->src)
        s->host->source_remove(s->host, w->src);
    g_io_stream_close(G_IO_STREAM(w->conn), NULL, NULL);
    g_object_unref(w->conn);
    g_byte_array_unref(w->buf);
    g_free(w->context);
    g_free(w);
}

static const char *callback_action(const char *result)
{
    if (!result)
        return NULL;
    if (!g_ascii_strcasecmp(result, "CLICKED") || !g_ascii_strcasecmp(result, "CLICK"))
        return "clicked";
    if (!g_ascii_strcasecmp(result, "CLOSED") || !g_ascii_strcasecmp(result, "CLOSE"))
        return "closed";
    if (!g_ascii_strcasecmp(result, "TIMEDOUT") || !g_ascii_strcasecmp(result, "TIMEOUT"))
        return "timedout";
    return NULL;
}

static void emit_callback(growl_callbacks *s, const char *context, const gntp_msg *m)
{
    const char *res = gntp__msg_get(m, 0, "Notification-Callback-Result");
    const char *action = callback_action(res);
    if (!action) {
        s->host->log(s->host, BMQ_LOG_WARNING, "unknown callback result '%.32s'", res ? res : "");
        return;
    }
    /* The id prefix ("name" or "name@ns") of the message that was shown. */
    const char *colon = strrchr(context, ':');
    char *prefix = colon ? g_strndup(context, (gsize)(colon - context)) : g_strdup(context);
    char *id = g_strconcat(prefix, ":", action, NULL);
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "context", json_object_new_string(context));
    json_object_object_add(kw, "result", json_object_new_string(res));
    const char *nid = gntp__msg_get(m, 0, "Notification-ID");
    if (nid)
        json_object_object_add(kw, "notification_id", json_object_new_string(nid));
    const char *ts = gntp__msg_get(m, 0, "Notification-Callback-Timestamp");
    if (ts)
        json_object_object_add(kw, "timestamp", json_object_new_string(ts));
    int err = 0;
    bmq_message *msg = bmq_message_new_full(id, json_object_new_array(), kw, NULL, s->origin, &err);
    if (msg)
        s->host->twitter_message(s->host, msg);
    else
        s->host->log(s->host, BMQ_LOG_WARNING, "cannot send callback message '%s': %s", id,
                     bmq_strerror(err));
    g_free(prefix);
    g_free(id);
}

/* Process what is buffered; true when the watch is finished. */
static bool watch_process(cb_watch *w)
{
    while (w->buf->len) {
        gntp_msg *m = NULL;
        size_t used = 0;
        int code = 0;
        char *err = NULL;
        int rc = gntp__parse(w->buf->data, w->buf->len, false, MAX_REPLY, &m, &used, &code, &err);
        if (rc == GNTP_PARSE_MORE)
            return false;
        if (rc < 0) {
            w->s->host->log(w->s->host, BMQ_LOG_WARNING, "malformed callback: %s", err);
            g_free(err);
            return true;
        }
        g_byte_array_remove_range(w->buf, 0, (guint)used);
        bool done = strcmp(m->type, "-CALLBACK") == 0;
        if (done)
            emit_callback(w->s, w->context, m);
        gntp__msg_free(m);
        if (done)
            return true;
    }
    return false;
}

static gboolean watch_ready(GSocket *sock, GIOCondition cond, gpointer data)
{
    cb_watch *w = data;
    guint8 tmp[4096];
    GError *e = NULL;
    gssize n = g_socket_receive_with_blocking(sock, (gchar *)tmp, sizeof tmp, FALSE, NULL, &e);
    if (n < 0 && g_error_matches(e, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        g_error_free(e);
        return G_SOURCE_CONTINUE;
    }
    g_clear_error(&e);
    bool done = n <= 0;
    if (n > 0) {
        g_byte_array_append(w->buf, tmp, (guint)n);
        done = watch_process(w) || w->buf->len > MAX_REPLY;
    }
    if (done) {
        w->src = 0; /* returning REMOVE destroys the source */
        watch_close(w);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

typedef struct handoff {
    growl_callbacks *s;
    cb_watch *w;
} handoff;

static void handoff_free(void *data)
{
    handoff *h = data;
    if (h->w) {
        g_io_stream_close(G_IO_STREAM(h->w->conn), NULL, NULL);
        g_object_unref(h->w->conn);
        g_byte_array_unref(h->w->buf);
        g_free(h->w->context);
        g_free(h->w);
    }
    g_free(h);
}

static void handoff_run(void *data)
{
    handoff *h = data;
    cb_watch *w = h->w;
    h->w = NULL;
    growl_callbacks *s = h->s;
    w->s = s;
    s->watches = g_list_append(s->watches, w);
    if (g_list_length(s->watches) > MAX_WATCHES)
        watch_close(s->watches->data);
    if (watch_process(w)) {
        watch_close(w);
        return;
    }
    GSocket *sock = g_socket_connection_get_socket(w->conn);
    g_socket_set_blocking(sock, FALSE);
    GSource *src = g_socket_create_source(sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
    g_source_set_callback(src, (GSourceFunc)(void (*)(void))watch_ready, w, NULL);
    w->src = s->host->source_attach(s->host, src);
    g_source_unref(src);
}

growl_callbacks *growl__callbacks_new(const bmq_host *host, const void *origin)
{
    growl_callbacks *s = g_new0(growl_callbacks, 1);
    s->host = host;
    s->origin = origin;
    return s;
}

void growl__callbacks_adopt(growl_callbacks *s, GSocketConnection *conn, const guint8 *rest,
                            size_t n, const char *context)
{
    cb_watch *w = g_new0(cb_watch, 1);
    w->conn = g_object_ref(conn);
    w->buf = g_byte_array_new();
    g_byte_array_append(w->buf, rest, (guint)n);
    w->context = g_strdup(context);
    handoff *h = g_new0(handoff, 1);
    h->s = s;
    h->w = w;
    s->host->invoke(s->host, handoff_run, h, handoff_free);
}

guint growl__callbacks_count(growl_callbacks *s)
{
    return g_list_length(s->watches);
}

void growl__callbacks_free(growl_callbacks *s)
{
    if (!s)
        return;
    while (s->watches)
        watch_close(s->watches->data);
    g_free(s);
}
