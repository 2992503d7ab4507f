/* receiver.c - stand in for a Growl server: accept GNTP (TCP) and legacy
 * UDP requests from Growl clients and turn them into messages.
 *
 * Off by default. Listens on 127.0.0.1 unless told otherwise; any other
 * address needs an allow-list and/or a password (like the RPC port), else
 * the instance refuses to start. Everything runs on the host main loop with
 * non-blocking sockets and tracked sources: a request that trickles in over
 * many writes is re-parsed as bytes arrive, bounded by max_request and a
 * per-connection deadline, so a slow or hostile client costs little.
 *
 * NOTIFY -> APPLICATION:NOTIFICATION-NAME with kwargs title, text, priority,
 * sticky, icon (URL, or the path of the saved binary resource), click (an
 * http(s) Notification-Callback-Target), plus
 * application, notification, id, protocol and peer.
 * REGISTER -> APPLICATION:registered with kwargs notifications, enabled.
 */
#include "growl_plugin.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <berrymq/net.h>
#include <gio/gio.h>

#define DEFAULT_MAX_REQUEST (1024 * 1024)
#define MAX_CONNS           64
#define CONN_DEADLINE_MS    10000
#define CONN_LINGER_MS      2000
#define UDP_BATCH           32
#define LOUD_REJECTS        20

typedef struct rconn rconn;

/* A -OK held until the notification is stored (host->when_stored). */
typedef struct stored_wait {
    rconn *c; /* NULL once the connection is gone */
} stored_wait;

struct growl_receiver {
    const bmq_host *host;
    const void *origin;
    char *password;
    GPtrArray *allow; /* GInetAddressMask* */
    bool any_peer;    /* a password guards a non-loopback listener */
    size_t max_request;
    GSocket *gntp;
    guint gntp_src;
    guint16 gntp_port;
    GSocket *udp;
    guint udp_src;
    guint16 udp_port;
    GList *conns; /* rconn* */
    gint received, rejected;
};

struct rconn {
    growl_receiver *r;
    GSocket *sock;
    GByteArray *buf;
    guint src;
    guint timer;
    bool answered;     /* reply sent (or held); draining until the peer closes */
    bool peer_done;    /* the peer closed its side while the reply was held */
    stored_wait *wait; /* the reply waits for the history */
    GBytes *held;      /* that reply */
};

char *growl__id_part(const char *s, size_t max)
{
    char *v = growl__utf8_clip(s ? s : "", max);
    for (char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f || c == ':' || c == '@' || c == '*')
            *p = '_';
    }
    if (!*v) {
        g_free(v);
        v = g_strdup("growl");
    }
    return v;
}

static void rejected(growl_receiver *r, const char *what, const char *peer, const char *why)
{
    int n = g_atomic_int_add(&r->rejected, 1);
    r->host->log(r->host, n < LOUD_REJECTS ? BMQ_LOG_WARNING : BMQ_LOG_DEBUG,
                 "rejected %s from %s: %s", what, peer ? peer : "?", why);
}

static char *peer_string(GSocketAddress *a)
{
    if (!G_IS_INET_SOCKET_ADDRESS(a))
        return g_strdup("?");
    GInetSocketAddress *ia = G_INET_SOCKET_ADDRESS(a);
    char *ip = g_inet_address_to_string(g_inet_socket_address_get_address(ia));
    char *s = g_strdup_printf("%s:%u", ip, g_inet_socket_address_get_port(ia));
    g_free(ip);
    return s;
}

/* Without a password, a loopback sender must be the hub's own user: on a
 * shared machine any other account could otherwise show notifications in
 * this user's name (the JSON-RPC port refuses them the same way). NULL
 * when @s may go on, else why not (static). */
static const char *other_user(growl_receiver *r, GSocket *s, GSocketAddress *a, char *buf,
                              size_t len)
{
    if (*r->password || !G_IS_INET_SOCKET_ADDRESS(a) ||
        !g_inet_address_get_is_loopback(
            g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(a))))
        return NULL;
    unsigned uid;
    if (bmq_peer_uid(g_socket_get_fd(s), &uid) != 0)
        return "the sending user cannot be told (set listen.password to accept it)";
    if (uid == (unsigned)geteuid())
        return NULL;
    g_snprintf(buf, len, "another local user (uid %u); set listen.password to accept other users",
               uid);
    return buf;
}

static bool peer_allowed(growl_receiver *r, GSocketAddress *a)
{
    if (!G_IS_INET_SOCKET_ADDRESS(a))
        return false;
    GInetAddress *ip = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(a));
    if (g_inet_address_get_is_loopback(ip))
        return true;
    for (guint i = 0; r->allow && i < r->allow->len; i++)
        if (g_inet_address_mask_matches(r->allow->pdata[i], ip))
            return true;
    return r->any_peer;
}

/* ---- events to messages ------------------------------------------------------ */

static char *save_icon(growl_receiver *r, GBytes *data)
{
    if (!r->host->data_dir)
        return NULL;
    gsize n;
    const guint8 *p = g_bytes_get_data(data, &n);
    const char *ext = "img";
    if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
        ext = "png";
    else if (n >= 3 && !memcmp(p, "\xff\xd8\xff", 3))
        ext = "jpg";
    else if (n >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6)))
        ext = "gif";
    else if (n >= 4 && !memcmp(p, "\0\0\1\0", 4))
        ext = "ico";
    char *sum = g_compute_checksum_for_data(G_CHECKSUM_MD5, p, n);
    char *dir = g_build_filename(r->host->data_dir, "icons", NULL);
    char *file = g_strdup_printf("%s.%s", sum, ext);
    char *path = g_build_filename(dir, file, NULL);
    g_free(sum);
    g_free(file);
    GError *e = NULL;
    if (!g_file_test(path, G_FILE_TEST_EXISTS) &&
        (g_mkdir_with_parents(dir, 0700) != 0 ||
         /* 0600: a notification's icon is as private as its text */
         !g_file_set_contents_full(path, (const char *)p, (gssize)n,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, &e))) {
        r->host->log(r->host, BMQ_LOG_WARNING, "cannot save icon %s: %s", path,
                     e ? e->message : g_strerror(errno));
        g_clear_error(&e);
        g_clear_pointer(&path, g_free);
    }
    g_free(dir);
    return path;
}

static json_object *str_array(GPtrArray *a)
{
    json_object *arr = json_object_new_array();
    for (guint i = 0; a && i < a->len; i++)
        json_object_array_add(arr, json_object_new_string(a->pdata[i]));
    return arr;
}

static void emit(growl_receiver *r, growl_event *ev, const char *protocol, const char *peer)
{
    char *app = growl__id_part(ev->application, 120);
    /* A leading '_' would make a local message, which steers the hub from
     * inside ("_notify:pause" pauses notifications): no Growl client may. */
    if (app[0] == '_')
        app[0] = '-';
    char *act =
        ev->kind == GROWL_EV_NOTIFY ? growl__id_part(ev->name, 120) : g_strdup("registered");
    char *id = g_strconcat(app, ":", act, NULL);
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "application", json_object_new_string(ev->application));
    json_object_object_add(kw, "protocol", json_object_new_string(protocol));
    json_object_object_add(kw, "peer", json_object_new_string(peer ? peer : ""));
    if (ev->kind == GROWL_EV_NOTIFY) {
        json_object_object_add(kw, "notification", json_object_new_string(ev->name));
        json_object_object_add(kw, "title", json_object_new_string(ev->title ? ev->title : ""));
        json_object_object_add(kw, "text", json_object_new_string(ev->text ? ev->text : ""));
        json_object_object_add(kw, "priority", json_object_new_int(ev->priority));
        json_object_object_add(kw, "sticky", json_object_new_boolean(ev->sticky));
        if (ev->id)
            json_object_object_add(kw, "id", json_object_new_string(ev->id));
        if (ev->click)
            json_object_object_add(kw, "click", json_object_new_string(ev->click));
    } else {
        json_object_object_add(kw, "notifications", str_array(ev->notifications));
        json_object_object_add(kw, "enabled", str_array(ev->enabled));
    }
    char *icon = ev->icon_data ? save_icon(r, ev->icon_data) : NULL;
    if (icon || ev->icon_url)
        json_object_object_add(kw, "icon", json_object_new_string(icon ? icon : ev->icon_url));
    g_free(icon);
    int err = 0;
    bmq_message *m = bmq_message_new_full(id, json_object_new_array(), kw, NULL, r->origin, &err);
    if (m) {
        r->host->twitter_message(r->host, m);
        g_atomic_int_inc(&r->received);
    } else {
        rejected(r, protocol, peer, "no valid message identifier");
    }
    g_free(app);
    g_free(act);
    g_free(id);
}

/* ---- GNTP connections --------------------------------------------------------- */

static void conn_close(rconn *c)
{
    growl_receiver *r = c->r;
    r->conns = g_list_remove(r->conns, c);
    if (c->wait)
        c->wait->c = NULL;
    if (c->held)
        g_bytes_unref(c->held);
    if (c->src)
        r->host->source_remove(r->host, c->src);
    if (c->timer)
        r->host->source_remove(r->host, c->timer);
    g_socket_close(c->sock, NULL);
    g_object_unref(c->sock);
    g_byte_array_unref(c->buf);
    g_free(c);
}

static void reply(GSocket *sock, GBytes *b)
{
    gsize n;
    const gchar *p = g_bytes_get_data(b, &n);
    /* A reply is small and the socket buffer empty: one non-blocking send
     * normally takes it whole; a peer that does not read loses it. */
    g_socket_send_with_blocking(sock, p, n, FALSE, NULL, NULL);
    g_socket_shutdown(sock, FALSE, TRUE, NULL);
    g_bytes_unref(b);
}

static char *conn_peer(rconn *c)
{
    GSocketAddress *a = g_socket_get_remote_address(c->sock, NULL);
    char *s = a ? peer_string(a) : g_strdup("?");
    if (a)
        g_object_unref(a);
    return s;
}

static void conn_linger(rconn *c);

/* The notification is stored: send the -OK held for it. */
static void stored_reply(void *data)
{
    stored_wait *w = data;
    rconn *c = w->c;
    if (!c)
        return;
    c->wait = NULL;
    w->c = NULL;
    GBytes *ok = c->held;
    c->held = NULL;
    reply(c->sock, ok);
    if (c->peer_done)
        conn_close(c);
    else
        conn_linger(c);
}

static void stored_wait_free(void *data)
{
    stored_wait *w = data;
    if (w->c)
        w->c->wait = NULL; /* the instance is stopping: no reply */
    g_free(w);
}

/* A sender is told -OK only once its notification is in the history, so
 * that a crash right after cannot lose what it was told was received. */
static void hold_reply(rconn *c, GBytes *ok)
{
    c->held = ok;
    c->wait = g_new0(stored_wait, 1);
    c->wait->c = c;
    c->r->host->when_stored(c->r->host, stored_reply, c->wait, stored_wait_free);
}

/* True when the connection is finished (answered, refused, or its reply
 * waits for the history). */
static bool conn_try(rconn *c, bool eof)
{
    growl_receiver *r = c->r;
    gntp_msg *m = NULL;
    size_t used = 0;
    int code = 0;
    char *err = NULL;
    int rc = gntp__parse(c->buf->data, c->buf->len, true, r->max_request, &m, &used, &code, &err);
    if (rc == GNTP_PARSE_MORE && !eof)
        return false;
    char *peer = conn_peer(c);
    if (rc == GNTP_PARSE_MORE) {
        if (c->buf->len) {
            rejected(r, "GNTP request", peer, "truncated request");
            reply(c->sock, gntp__format_error(NULL, GNTP_E_INVALID_REQUEST, "incomplete request"));
        }
        g_free(peer);
        return true;
    }
    if (rc < 0) {
        rejected(r, "GNTP request", peer, err);
        reply(c->sock, gntp__format_error(NULL, code, err));
        g_free(err);
        g_free(peer);
        return true;
    }
    growl_event *ev = NULL;
    if (gntp__request_to_event(m, r->password, &ev, &code, &err) < 0) {
        rejected(r, "GNTP request", peer, err);
        reply(c->sock, gntp__format_error(m->type, code, err));
        g_free(err);
    } else {
        emit(r, ev, "gntp", peer);
        GBytes *ok = gntp__format_ok(
            m->type, ev->kind == GROWL_EV_NOTIFY ? (ev->id ? ev->id : "") : NULL, ev->data_headers);
        if (BMQ_HOST_HAS(r->host, when_stored))
            hold_reply(c, ok);
        else
            reply(c->sock, ok);
        growl__event_free(ev);
    }
    gntp__msg_free(m);
    g_free(peer);
    return true;
}

static gboolean conn_deadline(gpointer data);

/* After the reply: closing with unread bytes in the socket (a late CRLF
 * from a sender that writes in pieces) would reset the connection and
 * could destroy the reply before the peer reads it, so read and discard
 * until the peer closes, for at most CONN_LINGER_MS. */
static void conn_linger(rconn *c)
{
    c->answered = true;
    if (c->timer)
        c->r->host->source_remove(c->r->host, c->timer);
    c->timer = c->r->host->timeout_add(c->r->host, CONN_LINGER_MS, conn_deadline, c);
}

static gboolean conn_ready(GSocket *sock, GIOCondition cond, gpointer data)
{
    rconn *c = data;
    guint8 tmp[16384];
    bool done = false;
    for (int i = 0; i < 8 && !done; i++) {
        GError *e = NULL;
        gssize n = g_socket_receive_with_blocking(sock, (gchar *)tmp, sizeof tmp, FALSE, NULL, &e);
        if (n < 0 && g_error_matches(e, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            g_error_free(e);
            break;
        }
        g_clear_error(&e);
        if (n <= 0) {
            if (!c->answered)
                conn_try(c, true);
            done = true;
            break;
        }
        if (c->answered || c->wait)
            continue;
        /* Keep at most one byte past the limit: enough for the parser to
         * report the request as too large. */
        size_t room = c->r->max_request + 1 - MIN(c->buf->len, c->r->max_request + 1);
        g_byte_array_append(c->buf, tmp, (guint)MIN((size_t)n, room));
        if (conn_try(c, false) && !c->wait)
            conn_linger(c);
    }
    if (done) {
        c->src = 0;
        if (c->wait) {
            /* The reply is held for the history: the peer may still read
             * it (it closed only its side), so answer, then close. */
            c->peer_done = true;
            return G_SOURCE_REMOVE;
        }
        conn_close(c);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean conn_deadline(gpointer data)
{
    rconn *c = data;
    if (c->wait) {
        char *peer = conn_peer(c);
        c->r->host->log(c->r->host, BMQ_LOG_WARNING,
                        "GNTP request from %s: not stored in the history within %d s; "
                        "answering with an error (it may still arrive)",
                        peer, CONN_DEADLINE_MS / 1000);
        g_free(peer);
        reply(c->sock, gntp__format_error(NULL, GNTP_E_INTERNAL_SERVER_ERROR,
                                          "the notification was not stored in time"));
    } else if (!c->answered) {
        char *peer = conn_peer(c);
        rejected(c->r, "GNTP request", peer, "incomplete request (timed out)");
        g_free(peer);
        reply(c->sock,
              gntp__format_error(NULL, GNTP_E_TIMED_OUT, "timed out waiting for the request"));
    }
    c->timer = 0;
    conn_close(c);
    return G_SOURCE_REMOVE;
}

static gboolean gntp_accept(GSocket *lsock, GIOCondition cond, gpointer data)
{
    growl_receiver *r = data;
    for (int i = 0; i < 16; i++) {
        GSocket *s = g_socket_accept(lsock, NULL, NULL);
        if (!s)
            break;
        GSocketAddress *a = g_socket_get_remote_address(s, NULL);
        char *peer = a ? peer_string(a) : g_strdup("?");
        char ubuf[128];
        bool ok = a && peer_allowed(r, a);
        const char *who = ok ? other_user(r, s, a, ubuf, sizeof ubuf) : NULL;
        ok = ok && !who;
        if (a)
            g_object_unref(a);
        const char *why = who                                    ? who
                          : !ok                                  ? "address not allowed"
                          : g_list_length(r->conns) >= MAX_CONNS ? "too many connections"
                                                                 : NULL;
        if (why) {
            rejected(r, "GNTP connection", peer, why);
            g_socket_set_blocking(s, FALSE);
            reply(s, gntp__format_error(
                         NULL, ok ? GNTP_E_INTERNAL_SERVER_ERROR : GNTP_E_NOT_AUTHORIZED, why));
            g_socket_close(s, NULL);
            g_object_unref(s);
            g_free(peer);
            continue;
        }
        g_free(peer);
        g_socket_set_blocking(s, FALSE);
        rconn *c = g_new0(rconn, 1);
        c->r = r;
        c->sock = s;
        c->buf = g_byte_array_new();
        GSource *src = g_socket_create_source(s, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
        g_source_set_callback(src, (GSourceFunc)(void (*)(void))conn_ready, c, NULL);
        c->src = r->host->source_attach(r->host, src);
        g_source_unref(src);
        c->timer = r->host->timeout_add(r->host, CONN_DEADLINE_MS, conn_deadline, c);
        r->conns = g_list_prepend(r->conns, c);
    }
    return G_SOURCE_CONTINUE;
}

/* ---- UDP --------------------------------------------------------------------- */

static gboolean udp_ready(GSocket *sock, GIOCondition cond, gpointer data)
{
    growl_receiver *r = data;
    static guint8 buf[GROWL_UDP_MAX_PACKET + 1]; /* main thread only */
    for (int i = 0; i < UDP_BATCH; i++) {
        GSocketAddress *from = NULL;
        gssize n = g_socket_receive_from(sock, &from, (gchar *)buf, sizeof buf, NULL, NULL);
        if (n < 0)
            break;
        char *peer = from ? peer_string(from) : g_strdup("?");
        growl_event *ev = NULL;
        char *err = NULL;
        if (!from || !peer_allowed(r, from))
            rejected(r, "UDP packet", peer, "address not allowed");
        else if (udp__parse(buf, (size_t)n, r->password, &ev, &err) < 0)
            rejected(r, "UDP packet", peer, err);
        else
            emit(r, ev, "udp", peer);
        growl__event_free(ev);
        g_free(err);
        g_free(peer);
        if (from)
            g_object_unref(from);
    }
    return G_SOURCE_CONTINUE;
}

/* ---- setup ---------------------------------------------------------------------- */

static int port_value(json_object *v, int dflt, const char *key, char **error)
{
    if (!v)
        return -1;
    if (json_object_is_type(v, json_type_boolean))
        return json_object_get_boolean(v) ? dflt : -1;
    if (json_object_is_type(v, json_type_int)) {
        int64_t p = json_object_get_int64(v);
        if (p >= 0 && p <= 65535)
            return (int)p;
    }
    *error = g_strdup_printf("listen.%s must be a port number 0..65535 (0 = any free port) "
                             "or true",
                             key);
    return -2;
}

static GSocket *open_socket(growl_receiver *r, GInetAddress *ip, int port, bool udp, guint16 *bound,
                            char **error)
{
    GError *e = NULL;
    GSocket *s = g_socket_new(g_inet_address_get_family(ip),
                              udp ? G_SOCKET_TYPE_DATAGRAM : G_SOCKET_TYPE_STREAM,
                              udp ? G_SOCKET_PROTOCOL_UDP : G_SOCKET_PROTOCOL_TCP, &e);
    GSocketAddress *sa = g_inet_socket_address_new(ip, (guint16)port);
    bool ok = s && g_socket_bind(s, sa, TRUE, &e);
    if (ok && !udp) {
        g_socket_set_listen_backlog(s, 32);
        ok = g_socket_listen(s, &e);
    }
    g_object_unref(sa);
    if (!ok) {
        char *ips = g_inet_address_to_string(ip);
        *error = g_strdup_printf("cannot listen on %s %s:%d: %s", udp ? "UDP" : "TCP", ips, port,
                                 e ? e->message : "failed");
        g_free(ips);
        g_clear_error(&e);
        g_clear_object(&s);
        return NULL;
    }
    g_socket_set_blocking(s, FALSE);
    GSocketAddress *la = g_socket_get_local_address(s, NULL);
    *bound = la ? g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(la)) : (guint16)port;
    if (la)
        g_object_unref(la);
    return s;
}

static guint watch_socket(growl_receiver *r, GSocket *s,
                          gboolean (*fn)(GSocket *, GIOCondition, gpointer))
{
    GSource *src = g_socket_create_source(s, G_IO_IN, NULL);
    g_source_set_callback(src, (GSourceFunc)(void (*)(void))fn, r, NULL);
    guint id = r->host->source_attach(r->host, src);
    g_source_unref(src);
    return id;
}

static bool parse_config(growl_receiver *r, json_object *listen, int *gntp_port, int *udp_port,
                         GInetAddress **ip, char **error)
{
    static const char *const known[] = {"gntp",  "udp",         "host", "password",
                                        "allow", "max_request", NULL};
    if (!json_object_is_type(listen, json_type_object)) {
        *error = g_strdup("key 'listen': expected an object like {\"gntp\": 23053, \"udp\": 9887}");
        return false;
    }
    char *unknown = NULL;
    if (bmq_config_check_keys(listen, known, &unknown)) {
        *error = g_strdup_printf("key 'listen': %s", unknown);
        g_free(unknown);
        return false;
    }
    json_object *v;
    *gntp_port = port_value(json_object_object_get_ex(listen, "gntp", &v) ? v : NULL,
                            GNTP_DEFAULT_PORT, "gntp", error);
    if (*gntp_port == -2)
        return false;
    *udp_port = port_value(json_object_object_get_ex(listen, "udp", &v) ? v : NULL,
                           GROWL_UDP_DEFAULT_PORT, "udp", error);
    if (*udp_port == -2)
        return false;
    if (*gntp_port < 0 && *udp_port < 0) {
        *error = g_strdup("listen needs \"gntp\" and/or \"udp\" (a port number)");
        return false;
    }
    const char *host = "127.0.0.1";
    if (json_object_object_get_ex(listen, "host", &v)) {
        if (!json_object_is_type(v, json_type_string)) {
            *error = g_strdup("listen.host must be an IP address string");
            return false;
        }
        host = json_object_get_string(v);
        if (!strcmp(host, "localhost"))
            host = "127.0.0.1";
    }
    *ip = g_inet_address_new_from_string(host);
    if (!*ip) {
        *error = g_strdup_printf("listen.host '%s' is not an IP address", host);
        return false;
    }
    if (json_object_object_get_ex(listen, "password", &v) && v) {
        if (!json_object_is_type(v, json_type_string)) {
            *error = g_strdup("listen.password must be a string");
            return false;
        }
        r->password = g_strdup(json_object_get_string(v));
    } else {
        r->password = g_strdup("");
    }
    if (json_object_object_get_ex(listen, "allow", &v) && v) {
        if (!json_object_is_type(v, json_type_array)) {
            *error = g_strdup("listen.allow must be an array of addresses or CIDR ranges");
            return false;
        }
        r->allow = g_ptr_array_new_with_free_func(g_object_unref);
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *it = json_object_array_get_idx(v, i);
            const char *cidr =
                json_object_is_type(it, json_type_string) ? json_object_get_string(it) : "";
            GInetAddressMask *mask = g_inet_address_mask_new_from_string(cidr, NULL);
            if (!mask) {
                *error = g_strdup_printf("listen.allow[%zu] '%s' is not an address or CIDR "
                                         "range",
                                         i, cidr);
                return false;
            }
            g_ptr_array_add(r->allow, mask);
        }
    }
    r->max_request = DEFAULT_MAX_REQUEST;
    if (json_object_object_get_ex(listen, "max_request", &v)) {
        int64_t m = json_object_get_int64(v);
        if (!json_object_is_type(v, json_type_int) || m < 1024 || m > 64 * 1024 * 1024) {
            *error = g_strdup("listen.max_request must be a byte count 1024..67108864");
            return false;
        }
        r->max_request = (size_t)m;
    }
    bool guarded = (r->allow && r->allow->len) || *r->password;
    if (!g_inet_address_get_is_loopback(*ip) && !guarded) {
        *error = g_strdup_printf("refusing to listen on %s without listen.allow or "
                                 "listen.password (Growl senders on other machines would be "
                                 "accepted unchecked)",
                                 host);
        return false;
    }
    r->any_peer = *r->password && !(r->allow && r->allow->len);
    return true;
}

growl_receiver *growl__receiver_new(const bmq_host *host, json_object *listen, const void *origin,
                                    char **error)
{
    growl_receiver *r = g_new0(growl_receiver, 1);
    r->host = host;
    r->origin = origin;
    int gport = -1, uport = -1;
    GInetAddress *ip = NULL;
    bool ok = parse_config(r, listen, &gport, &uport, &ip, error);
    if (ok && gport >= 0) {
        r->gntp = open_socket(r, ip, gport, false, &r->gntp_port, error);
        ok = r->gntp != NULL;
    }
    if (ok && uport >= 0) {
        r->udp = open_socket(r, ip, uport, true, &r->udp_port, error);
        ok = r->udp != NULL;
    }
    if (ip)
        g_object_unref(ip);
    if (!ok) {
        growl__receiver_free(r);
        return NULL;
    }
    if (r->gntp)
        r->gntp_src = watch_socket(r, r->gntp, gntp_accept);
    if (r->udp)
        r->udp_src = watch_socket(r, r->udp, udp_ready);
    host->log(host, BMQ_LOG_INFO, "receiving Growl requests: GNTP port %d, UDP port %d",
              r->gntp ? r->gntp_port : -1, r->udp ? r->udp_port : -1);
    return r;
}

void growl__receiver_free(growl_receiver *r)
{
    if (!r)
        return;
    while (r->conns)
        conn_close(r->conns->data);
    if (r->gntp_src)
        r->host->source_remove(r->host, r->gntp_src);
    if (r->udp_src)
        r->host->source_remove(r->host, r->udp_src);
    if (r->gntp) {
        g_socket_close(r->gntp, NULL);
        g_object_unref(r->gntp);
    }
    if (r->udp) {
        g_socket_close(r->udp, NULL);
        g_object_unref(r->udp);
    }
    if (r->allow)
        g_ptr_array_free(r->allow, TRUE);
    g_free(r->password);
    g_free(r);
}

void growl__receiver_status(growl_receiver *r, json_object *obj)
{
    json_object_object_add(obj, "received", json_object_new_int(g_atomic_int_get(&r->received)));
    json_object_object_add(obj, "rejected", json_object_new_int(g_atomic_int_get(&r->rejected)));
    json_object_object_add(obj, "gntp_port", r->gntp ? json_object_new_int(r->gntp_port) : NULL);
    json_object_object_add(obj, "udp_port", r->udp ? json_object_new_int(r->udp_port) : NULL);
    json_object_object_add(obj, "connections", json_object_new_int((int)g_list_length(r->conns)));
}
