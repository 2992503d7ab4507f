/* sender.c - deliver notifications to one Growl server from a worker
 * thread, so a down or slow server never blocks the hub.
 *
 * Followers push jobs into a bounded queue (the oldest job is dropped and
 * counted when it is full). The worker registers the application when
 * needed (first use, a new notification type, a server that answered
 * "unknown application/notification", a server that was unreachable and may
 * have restarted), then sends the notification. Each GNTP request is one
 * write on its own connection; the reply is awaited for timeout_s seconds
 * (at least 6). Network failures back off from 0.5 s doubling up to 30 s.
 *
 * A network failure never loses the job being sent: it is retried with the
 * backoff until the server answers (or the instance stops). Only an answer
 * refusing it (-ERROR) gives it up.
 *
 * Durable mode, when the host keeps a history (the hub): the instance holds
 * a cursor "outbox" over it, acked with the seq of each job done. After a
 * restart the messages stored since the last ack are read back (in batches,
 * as the queue has room) and sent before new ones, which wait in "held"
 * meanwhile. Delivery is then at least once: the job in flight when the hub
 * dies, or done in the last milliseconds before (its ack not yet written),
 * is sent again.
 *
 * Socket callbacks: after a -OK to a NOTIFY that carried a callback context,
 * the connection goes to callback.c, which waits for the -CALLBACK.
 */
#include "growl_plugin.h"

#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#define MAX_NAMES         255
#define MAX_REPLY         (64 * 1024)
#define BACKOFF_MIN_MS    500
#define BACKOFF_MAX_MS    30000
#define UDP_REREGISTER_US (300 * G_USEC_PER_SEC)
#define UDP_MAX_PACKET    8192

struct growl_sender {
    const bmq_host *host;
    growl_sender_config cfg;
    GThread *thread;
    GMutex lock;
    GCond cond;
    GQueue queue;     /* growl_job*, under lock */
    bool stop;        /* under lock */
    char *last_error; /* under lock */
    GCancellable *cancel;
    gint sent, failed, dropped; /* atomic */

    /* Durable mode, under lock. */
    bmq_cursor *cursor;   /* (nullable) */
    bool replaying;       /* reading the backlog: new jobs wait in held */
    GQueue held;          /* growl_job* */
    uint64_t replayed_to; /* highest seq the cursor returned */
    guint replayed;       /* backlog jobs queued */
    growl_job_fn make_job;
    void *make_data;
    growl_job *current; /* the job the worker is on */

    /* Worker thread only. */
    GPtrArray *names; /* notification types registered (or to register) */
    bool need_register;
    bool down; /* last attempt failed on the network */
    guint backoff_ms;
    gint64 retry_at; /* monotonic us */
    gint64 registered_at;
    GSocket *udp;

    growl_callbacks *callbacks; /* sockets waiting for a -CALLBACK */
};

typedef enum { RES_OK, RES_ERROR, RES_NET } result;

void growl__job_free(growl_job *job)
{
    if (!job)
        return;
    g_free(job->name);
    g_free(job->title);
    g_free(job->text);
    g_free(job->icon.url);
    if (job->icon.data)
        g_bytes_unref(job->icon.data);
    g_free(job->context);
    if (job->msg)
        bmq_message_unref(job->msg);
    g_free(job);
}

void growl__sender_config_clear(growl_sender_config *cfg)
{
    g_free(cfg->host);
    g_free(cfg->password);
    g_free(cfg->application);
    if (cfg->notifications)
        g_ptr_array_free(cfg->notifications, TRUE);
    if (cfg->seed_names)
        g_ptr_array_free(cfg->seed_names, TRUE);
    g_free(cfg->icon.url);
    if (cfg->icon.data)
        g_bytes_unref(cfg->icon.data);
    memset(cfg, 0, sizeof *cfg);
}

static void set_error(growl_sender *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void set_error(growl_sender *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_mutex_lock(&s->lock);
    g_free(s->last_error);
    s->last_error = msg;
    g_mutex_unlock(&s->lock);
}

/* ---- GNTP (worker) --------------------------------------------------------- */

/* Send @req on a new connection and read the reply. With @keep_context a
 * -OK leaves the connection open for a socket callback about it. */
static result gntp_exchange(growl_sender *s, GBytes *req, const char *what,
                            const char *keep_context, int *code, char **desc)
{
    *code = 0;
    *desc = NULL;
    GError *e = NULL;
    GSocketClient *client = g_socket_client_new();
    g_socket_client_set_timeout(client, s->cfg.timeout_s);
    /* Growl servers are reached directly; desktop proxy settings are for
     * HTTP and would only get in the way. */
    g_socket_client_set_enable_proxy(client, FALSE);
    GSocketConnection *conn =
        g_socket_client_connect_to_host(client, s->cfg.host, s->cfg.port, s->cancel, &e);
    g_object_unref(client);
    if (!conn) {
        *desc =
            g_strdup_printf("cannot connect to %s:%u: %s", s->cfg.host, s->cfg.port, e->message);
        g_error_free(e);
        return RES_NET;
    }
    GSocket *sock = g_socket_connection_get_socket(conn);
    g_socket_set_timeout(sock, s->cfg.timeout_s);

    /* One write with the whole request: some receivers treat the end of a
     * read that finishes with a blank line as the end of the request. */
    gsize len;
    const gchar *data = g_bytes_get_data(req, &len);
    gsize off = 0;
    result r = RES_OK;
    while (off < len) {
        gssize n = g_socket_send_with_blocking(sock, data + off, len - off, TRUE, s->cancel, &e);
        if (n <= 0) {
            *desc = g_strdup_printf("%s: send failed: %s", what, e ? e->message : "closed");
            g_clear_error(&e);
            r = RES_NET;
            break;
        }
        off += (gsize)n;
    }

    GByteArray *buf = g_byte_array_new();
    gntp_msg *m = NULL;
    size_t used = 0;
    while (r == RES_OK && !m) {
        guint8 tmp[4096];
        gssize n =
            g_socket_receive_with_blocking(sock, (gchar *)tmp, sizeof tmp, TRUE, s->cancel, &e);
        if (n <= 0) {
            *desc = g_strdup_printf("%s: no reply from %s:%u: %s", what, s->cfg.host, s->cfg.port,
                                    e ? e->message : "connection closed");
            g_clear_error(&e);
            r = RES_NET;
            break;
        }
        g_byte_array_append(buf, tmp, (guint)n);
        char *perr = NULL;
        int rc = gntp__parse(buf->data, buf->len, false, MAX_REPLY, &m, &used, code, &perr);
        if (rc < 0) {
            *desc = g_strdup_printf("%s: malformed reply: %s", what, perr);
            g_free(perr);
            *code = 0;
            r = RES_ERROR;
        }
    }
    if (m && strcmp(m->type, "-OK") != 0) {
        /* -ERROR, or anything else where -OK was due, is a failure even
         * without an Error-Code header. */
        const char *c = gntp__msg_get(m, 0, "Error-Code");
        const char *d = gntp__msg_get(m, 0, "Error-Description");
        if (!d)
            d = m->info_text;
        *code = c ? atoi(c) : 0;
        if (c)
            *desc = g_strdup_printf("%s refused: %s %d: %s", what, m->type, *code, d ? d : "");
        else
            *desc = g_strdup_printf("%s refused: %s: %s", what, m->type, d ? d : "no description");
        r = RES_ERROR;
    }
    if (r == RES_OK && keep_context)
        growl__callbacks_adopt(s->callbacks, conn, buf->data + used, buf->len - used, keep_context);
    else
        g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
    gntp__msg_free(m);
    g_byte_array_unref(buf);
    g_object_unref(conn);
    return r;
}

static const gntp_icon *job_icon(growl_sender *s, const growl_job *job)
{
    if (job->icon.url || job->icon.data)
        return &job->icon;
    if (s->cfg.icon.url || s->cfg.icon.data)
        return &s->cfg.icon;
    return NULL;
}

static result gntp_do_register(growl_sender *s, int *code, char **desc)
{
    gntp_register r = {
        .application = s->cfg.application,
        .icon = (s->cfg.icon.url || s->cfg.icon.data) ? &s->cfg.icon : NULL,
        .names = (const char *const *)s->names->pdata,
        .n_names = s->names->len,
    };
    GBytes *req = gntp__format_register(&r, s->cfg.hash, s->cfg.password);
    result res = gntp_exchange(s, req, "REGISTER", NULL, code, desc);
    g_bytes_unref(req);
    return res;
}

static result gntp_deliver(growl_sender *s, const growl_job *job, char **desc)
{
    int code = 0;
    for (int round = 0; round < 2; round++) {
        if (s->need_register) {
            result r = gntp_do_register(s, &code, desc);
            if (r != RES_OK)
                return r;
            s->need_register = false;
        }
        bool cb = s->cfg.callbacks && job->context;
        gntp_notify n = {
            .application = s->cfg.application,
            .name = job->name,
            .title = job->title,
            .text = job->text,
            .priority = job->priority,
            .sticky = job->sticky,
            .icon = job_icon(s, job),
            .callback_context = cb ? job->context : NULL,
            .callback_context_type = cb ? "berrymq-id" : NULL,
        };
        char *nid = g_uuid_string_random();
        n.id = nid;
        GBytes *req = gntp__format_notify(&n, s->cfg.hash, s->cfg.password);
        g_free(nid);
        g_free(*desc);
        *desc = NULL;
        result r = gntp_exchange(s, req, "NOTIFY", n.callback_context, &code, desc);
        g_bytes_unref(req);
        if (r == RES_ERROR && round == 0 &&
            (code == GNTP_E_UNKNOWN_APPLICATION || code == GNTP_E_UNKNOWN_NOTIFICATION)) {
            /* The server forgot us (restart, user removed the app): again. */
            s->need_register = true;
            g_clear_pointer(desc, g_free);
            continue;
        }
        return r;
    }
    return RES_ERROR;
}

/* ---- UDP (worker) ------------------------------------------------------------ */

static bool udp_open(growl_sender *s, char **desc)
{
    if (s->udp)
        return true;
    GError *e = NULL;
    GResolver *res = g_resolver_get_default();
    GList *addrs = g_resolver_lookup_by_name(res, s->cfg.host, s->cancel, &e);
    g_object_unref(res);
    if (!addrs) {
        *desc = g_strdup_printf("cannot resolve %s: %s", s->cfg.host, e->message);
        g_error_free(e);
        return false;
    }
    GInetAddress *pick = addrs->data;
    for (GList *l = addrs; l; l = l->next)
        if (g_inet_address_get_family(l->data) == G_SOCKET_FAMILY_IPV4) {
            pick = l->data;
            break;
        }
    GSocket *sock = g_socket_new(g_inet_address_get_family(pick), G_SOCKET_TYPE_DATAGRAM,
                                 G_SOCKET_PROTOCOL_UDP, &e);
    GSocketAddress *sa = g_inet_socket_address_new(pick, s->cfg.port);
    if (sock && !g_socket_connect(sock, sa, s->cancel, &e))
        g_clear_object(&sock);
    g_object_unref(sa);
    g_resolver_free_addresses(addrs);
    if (!sock) {
        *desc = g_strdup_printf("cannot open UDP socket to %s:%u: %s", s->cfg.host, s->cfg.port,
                                e->message);
        g_error_free(e);
        return false;
    }
    g_socket_set_timeout(sock, s->cfg.timeout_s);
    s->udp = sock;
    return true;
}

static result udp_send(growl_sender *s, GBytes *pkt, char **desc)
{
    GError *e = NULL;
    gsize len;
    const gchar *data = g_bytes_get_data(pkt, &len);
    if (len > UDP_MAX_PACKET) {
        /* Sent, it would count as delivered; common receivers (and
         * fragmenting paths) drop it. */
        *desc = g_strdup_printf("UDP packet of %zu bytes is over the %d-byte limit Growl receivers "
                                "take; use GNTP (\"protocol\": \"gntp\") or a shorter message",
                                (size_t)len, UDP_MAX_PACKET);
        return RES_ERROR;
    }
    gssize n = g_socket_send_with_blocking(s->udp, data, len, TRUE, s->cancel, &e);
    if (n < 0) {
        *desc =
            g_strdup_printf("UDP send to %s:%u failed: %s", s->cfg.host, s->cfg.port, e->message);
        g_error_free(e);
        g_clear_object(&s->udp);
        return RES_NET;
    }
    return RES_OK;
}

static result udp_deliver(growl_sender *s, const growl_job *job, char **desc)
{
    if (!udp_open(s, desc))
        return RES_NET;
    gint64 now = g_get_monotonic_time();
    /* UDP has no reply telling us the server forgot the application, so
     * registration is repeated now and then. */
    if (s->need_register || now - s->registered_at > UDP_REREGISTER_US) {
        GBytes *reg = udp__format_register(s->cfg.application, (const char *const *)s->names->pdata,
                                           s->names->len, s->cfg.hash, s->cfg.password);
        result r = udp_send(s, reg, desc);
        g_bytes_unref(reg);
        if (r != RES_OK)
            return r;
        s->need_register = false;
        s->registered_at = now;
    }
    GBytes *pkt = udp__format_notify(s->cfg.application, job->name, job->title, job->text,
                                     job->priority, job->sticky, s->cfg.hash, s->cfg.password);
    result r = udp_send(s, pkt, desc);
    g_bytes_unref(pkt);
    return r;
}

/* ---- worker ---------------------------------------------------------------- */

static void note_name(growl_sender *s, const char *name)
{
    for (guint i = 0; i < s->names->len; i++)
        if (strcmp(s->names->pdata[i], name) == 0)
            return;
    if (s->names->len >= MAX_NAMES)
        return;
    g_ptr_array_add(s->names, g_strdup(name));
    s->need_register = true;
}

/* Sleep until @until (monotonic us) or stop; false when stopping. */
static bool wait_until(growl_sender *s, gint64 until)
{
    g_mutex_lock(&s->lock);
    while (!s->stop && g_get_monotonic_time() < until)
        g_cond_wait_until(&s->cond, &s->lock, until);
    bool go = !s->stop;
    g_mutex_unlock(&s->lock);
    return go;
}

/* Deliver @job, retrying network failures with backoff. true when it is
 * done (sent, or refused for good); false when stopping interrupted it. */
static bool process(growl_sender *s, growl_job *job)
{
    if (!s->cfg.notifications)
        note_name(s, job->name);
    for (;;) {
        if (s->retry_at && !wait_until(s, s->retry_at)) {
            g_atomic_int_inc(&s->dropped);
            return false;
        }
        char *desc = NULL;
        result r = s->cfg.udp ? udp_deliver(s, job, &desc) : gntp_deliver(s, job, &desc);
        if (r == RES_OK) {
            g_atomic_int_inc(&s->sent);
            g_mutex_lock(&s->lock);
            g_clear_pointer(&s->last_error, g_free); /* status tells the present */
            g_mutex_unlock(&s->lock);
            if (s->down)
                s->host->log(s->host, BMQ_LOG_NOTICE, "Growl server %s:%u reachable again",
                             s->cfg.host, s->cfg.port);
            s->down = false;
            s->backoff_ms = 0;
            s->retry_at = 0;
            g_free(desc);
            return true;
        }
        set_error(s, "%s", desc ? desc : "failed");
        if (r == RES_ERROR) {
            s->host->log(s->host, BMQ_LOG_WARNING, "%s", desc ? desc : "failed");
            g_atomic_int_inc(&s->failed);
            g_free(desc);
            return true;
        }
        if (!s->down)
            s->host->log(s->host, BMQ_LOG_WARNING, "%s (retrying with backoff)", desc);
        g_free(desc);
        s->down = true;
        s->need_register = true; /* it may come back without our registration */
        s->backoff_ms = s->backoff_ms ? MIN(s->backoff_ms * 2, BACKOFF_MAX_MS) : BACKOFF_MIN_MS;
        s->retry_at = g_get_monotonic_time() + (gint64)s->backoff_ms * 1000;
    }
}

/* ---- durable mode ------------------------------------------------------------ */

/* Append @job to @q bounded by queue_max (the oldest goes). Lock held. */
static void push_locked(growl_sender *s, GQueue *q, growl_job *job)
{
    if (q->length >= s->cfg.queue_max) {
        growl__job_free(g_queue_pop_head(q));
        g_atomic_int_inc(&s->dropped);
    }
    g_queue_push_tail(q, job);
}

/* The backlog is read: held jobs follow it, but for those the cursor
 * returned itself. Lock held. */
static void release_held_locked(growl_sender *s)
{
    s->replaying = false;
    growl_job *job;
    while ((job = g_queue_pop_head(&s->held))) {
        if (job->seq && job->seq <= s->replayed_to)
            growl__job_free(job);
        else
            push_locked(s, &s->queue, job);
    }
    if (s->replayed)
        s->host->log(s->host, BMQ_LOG_NOTICE,
                     "%u notification%s queued before the restart taken back from the history",
                     s->replayed, s->replayed == 1 ? "" : "s");
}

/* Read the next batch of the backlog while the queue has room. Lock held,
 * released around the read. true when there may be more to read now. */
static bool replay_locked(growl_sender *s)
{
    if (s->stop || !s->replaying || !s->cursor || s->queue.length >= s->cfg.queue_max)
        return false;
    guint room = MIN(s->cfg.queue_max - s->queue.length, 256u);
    bmq_message **msgs = g_new(bmq_message *, room);
    bmq_cursor *c = s->cursor;
    g_mutex_unlock(&s->lock);
    int n = s->host->cursor_next(s->host, c, msgs, room);
    if (n < 0)
        s->host->log(s->host, BMQ_LOG_WARNING,
                     "cannot read the notifications queued before the restart from the history: "
                     "%s; going on with new ones",
                     bmq_strerror(n));
    GPtrArray *jobs = g_ptr_array_new();
    uint64_t top = 0;
    for (int i = 0; i < n; i++) {
        uint64_t seq = bmq_message_seq(msgs[i]);
        top = MAX(top, seq);
        growl_job *job = s->make_job(msgs[i], s->make_data);
        if (job) {
            job->seq = job->ack_seq = seq;
            g_ptr_array_add(jobs, job);
        }
        bmq_message_unref(msgs[i]);
    }
    g_free(msgs);
    g_mutex_lock(&s->lock);
    s->replayed_to = MAX(s->replayed_to, top);
    for (guint i = 0; i < jobs->len; i++)
        g_queue_push_tail(&s->queue, jobs->pdata[i]);
    s->replayed += jobs->len;
    g_ptr_array_free(jobs, TRUE);
    if (n < (int)room)
        release_held_locked(s);
    return n > 0;
}

bool growl__sender_wants(growl_sender *s, const bmq_message *m)
{
    g_mutex_lock(&s->lock);
    uint64_t seq = bmq_message_seq(m);
    bool w = !s->stop && (!s->cursor || (s->host->cursor_live(s->host, s->cursor, m) &&
                                         (!seq || seq > s->replayed_to)));
    g_mutex_unlock(&s->lock);
    return w;
}

void growl__sender_skip(growl_sender *s, uint64_t seq)
{
    bmq_cursor *ack_now = NULL;
    g_mutex_lock(&s->lock);
    if (s->cursor && seq && !s->stop) {
        GQueue *q = s->replaying ? &s->held : &s->queue;
        growl_job *tail = g_queue_peek_tail(q);
        if (!tail && !s->replaying)
            tail = s->current;
        if (tail)
            tail->ack_seq = MAX(tail->ack_seq, seq);
        else if (!s->replaying)
            ack_now = s->cursor; /* nothing before it is pending */
    }
    g_mutex_unlock(&s->lock);
    if (ack_now)
        s->host->cursor_ack(s->host, ack_now, seq);
}

void growl__sender_set_cursor(growl_sender *s, bmq_cursor *c, growl_job_fn make, void *data)
{
    g_mutex_lock(&s->lock);
    s->cursor = c;
    s->make_job = make;
    s->make_data = data;
    if (!c) {
        release_held_locked(s);
    } else {
        /* Followed before the open: what the cursor claims is its own. */
        for (GList *l = s->held.head; l;) {
            GList *next = l->next;
            growl_job *job = l->data;
            if (job->msg && !s->host->cursor_live(s->host, c, job->msg)) {
                growl__job_free(job);
                g_queue_delete_link(&s->held, l);
            }
            l = next;
        }
    }
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

static bool replay_wanted_locked(growl_sender *s)
{
    return s->replaying && s->cursor && s->queue.length < s->cfg.queue_max;
}

static gpointer worker(gpointer data)
{
    growl_sender *s = data;
    for (;;) {
        g_mutex_lock(&s->lock);
        while (replay_locked(s))
            ;
        while (!s->stop && g_queue_is_empty(&s->queue) && !replay_wanted_locked(s))
            g_cond_wait(&s->cond, &s->lock);
        if (s->stop) {
            g_mutex_unlock(&s->lock);
            break;
        }
        growl_job *job = g_queue_pop_head(&s->queue);
        if (!job) {
            g_mutex_unlock(&s->lock);
            continue;
        }
        s->current = job;
        g_mutex_unlock(&s->lock);
        bool done = process(s, job);
        g_mutex_lock(&s->lock);
        s->current = NULL;
        uint64_t ack = done && s->cursor ? job->ack_seq : 0;
        bmq_cursor *c = s->cursor;
        g_mutex_unlock(&s->lock);
        if (ack)
            s->host->cursor_ack(s->host, c, ack);
        growl__job_free(job);
    }
    return NULL;
}

growl_sender *growl__sender_new(const bmq_host *host, growl_sender_config *cfg)
{
    growl_sender *s = g_new0(growl_sender, 1);
    s->host = host;
    s->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    g_queue_init(&s->queue);
    g_queue_init(&s->held);
    /* A host with a history: new jobs wait until the cursor (opened once
     * the followers are in place) has given back the backlog. */
    s->replaying = BMQ_HOST_HAS(host, cursor_close) && host->history_cursor;
    s->cancel = g_cancellable_new();
    s->names = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *first = s->cfg.notifications ? s->cfg.notifications : s->cfg.seed_names;
    for (guint i = 0; first && i < first->len && i < MAX_NAMES; i++)
        g_ptr_array_add(s->names, g_strdup(first->pdata[i]));
    s->need_register = true;
    s->callbacks = growl__callbacks_new(host, s->cfg.origin);
    s->thread = g_thread_new("growl-sender", worker, s);
    return s;
}

void growl__sender_push(growl_sender *s, growl_job *job)
{
    growl_job *old = NULL;
    g_mutex_lock(&s->lock);
    if (s->stop) {
        g_mutex_unlock(&s->lock);
        growl__job_free(job);
        return;
    }
    if (s->replaying) { /* after the backlog */
        push_locked(s, &s->held, job);
        g_mutex_unlock(&s->lock);
        return;
    }
    if (s->queue.length >= s->cfg.queue_max) {
        old = g_queue_pop_head(&s->queue);
        g_atomic_int_inc(&s->dropped);
    }
    g_queue_push_tail(&s->queue, job);
    g_cond_signal(&s->cond);
    g_mutex_unlock(&s->lock);
    growl__job_free(old);
}

void growl__sender_free(growl_sender *s)
{
    if (!s)
        return;
    g_mutex_lock(&s->lock);
    s->stop = true;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    g_cancellable_cancel(s->cancel);
    g_thread_join(s->thread);
    growl__callbacks_free(s->callbacks);
    g_queue_clear_full(&s->queue, (GDestroyNotify)growl__job_free);
    g_queue_clear_full(&s->held, (GDestroyNotify)growl__job_free);
    if (s->cursor)
        s->host->cursor_close(s->host, s->cursor);
    g_clear_object(&s->udp);
    g_object_unref(s->cancel);
    g_ptr_array_free(s->names, TRUE);
    growl__sender_config_clear(&s->cfg);
    g_free(s->last_error);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
    g_free(s);
}

void growl__sender_status(growl_sender *s, json_object *obj)
{
    json_object_object_add(obj, "protocol", json_object_new_string(s->cfg.udp ? "udp" : "gntp"));
    json_object_object_add(obj, "host", json_object_new_string(s->cfg.host));
    json_object_object_add(obj, "port", json_object_new_int(s->cfg.port));
    json_object_object_add(obj, "sent", json_object_new_int(g_atomic_int_get(&s->sent)));
    json_object_object_add(obj, "failed", json_object_new_int(g_atomic_int_get(&s->failed)));
    json_object_object_add(obj, "dropped", json_object_new_int(g_atomic_int_get(&s->dropped)));
    g_mutex_lock(&s->lock);
    json_object_object_add(obj, "queued",
                           json_object_new_int((int)(s->queue.length + s->held.length)));
    json_object_object_add(obj, "durable", json_object_new_boolean(s->cursor != NULL));
    json_object_object_add(obj, "replayed", json_object_new_int((int)s->replayed));
    json_object_object_add(obj, "last_error",
                           s->last_error ? json_object_new_string(s->last_error) : NULL);
    g_mutex_unlock(&s->lock);
    json_object_object_add(obj, "callbacks_waiting",
                           json_object_new_int((int)growl__callbacks_count(s->callbacks)));
}
