/* ntfy_sub.c - GET /TOPICS/{json,sse,raw}: polls and streams.
 *
 * A stream is a libmicrohttpd callback response. Events are rendered into
 * the stream's buffer by whoever produces them (the follower, the
 * keepalive thread); the content reader only copies bytes out. With
 * nothing to send the reader suspends the connection (no thread is held)
 * and a producer resumes it; on a server that runs one thread per
 * connection, where suspending is not possible, the reader waits on a
 * condition variable instead.
 *
 * Bounds: at most cfg.max_subscribers streams (429 beyond); a stream whose
 * unsent bytes pass cfg.subscriber_buffer (beyond what since= replayed at
 * the start) is dropped with a logged reason and its socket shut down, so
 * a reader that stopped reading, or vanished without a FIN, never holds up
 * publishers nor keeps its slot.
 *
 * since= on a stream with the history: the stream is registered first and
 * holds the live messages back while the history is read up to the last
 * seq appended at that moment; then the held messages newer than that seq
 * follow the replay. So there is neither a gap nor a duplicate at the seam,
 * and the history is read without n->lock (publishers never wait on it).
 *
 * Locks: n->lock before sub->lock. libmicrohttpd is only called with
 * sub->lock held, never n->lock, so its own locks cannot close a cycle.
 */
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "hub.h"
#include "ntfy.h"

struct ntfy_sub {
    int refs; /* atomic */
    ntfy *n;
    ntfy_fmt fmt;
    char **topics;
    char *topics_text;
    ntfy_filter filter;
    char peer[64];
    struct MHD_Connection *conn;
    bool can_suspend;
    GMutex lock; /* guards everything below */
    GCond cond;
    GString *out;
    size_t off;  /* bytes of out already sent */
    bool closed; /* end after out drains */
    bool failed; /* dropped: end with an error */
    bool suspended;
    bool gone;      /* the response was freed */
    gint64 last_us; /* monotonic time of the last event queued */
    size_t grace;   /* bytes of the since= replay still unsent: allowed on top */
    bool holding;   /* the replay is being read: live messages wait in held */
    GArray *held;   /* ntfy_entry (message ref) while holding */
};

static ntfy_sub *sub_ref(ntfy_sub *s)
{
    g_atomic_int_inc(&s->refs);
    return s;
}

static void sub_unref(ntfy_sub *s)
{
    if (!g_atomic_int_dec_and_test(&s->refs))
        return;
    g_strfreev(s->topics);
    g_free(s->topics_text);
    ntfy__filter_clear(&s->filter);
    g_string_free(s->out, TRUE);
    for (guint i = 0; s->held && i < s->held->len; i++)
        bmq_message_unref(g_array_index(s->held, ntfy_entry, i).msg);
    if (s->held)
        g_array_free(s->held, TRUE);
    g_cond_clear(&s->cond);
    g_mutex_clear(&s->lock);
    g_free(s);
}

/* Wake the reader (sub->lock held). */
static void kick(ntfy_sub *s)
{
    if (s->suspended && !s->gone) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
    g_cond_signal(&s->cond);
}

/* End a dropped stream now (sub->lock held): a reader that stopped
 * reading has a full socket, so libmicrohttpd would not ask for more and
 * notice; shutting the socket down makes its next send fail and close the
 * connection (and free the response). The socket is still open: it is
 * closed only after the response is freed, which sets s->gone first. */
static void drop_socket(ntfy_sub *s)
{
    if (s->gone)
        return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci && ci->connect_fd >= 0)
        shutdown(ci->connect_fd, SHUT_RDWR);
}

void ntfy__subs_wake(GPtrArray *wake)
{
    for (guint i = 0; i < wake->len; i++) {
        ntfy_sub *s = wake->pdata[i];
        g_mutex_lock(&s->lock);
        kick(s);
        g_mutex_unlock(&s->lock);
        sub_unref(s);
    }
    g_ptr_array_free(wake, TRUE);
}

void ntfy__subs_deliver(ntfy *n, const ntfy_entry *e, GPtrArray *wake)
{
    GPtrArray *list = g_hash_table_lookup(n->by_topic, bmq_message_name(e->msg));
    if (!list || !list->len)
        return;
    ntfy_view v;
    ntfy__view_init(&v, e->msg, e->time);
    gint64 now = g_get_monotonic_time();
    for (guint i = 0; i < list->len; i++) {
        ntfy_sub *s = list->pdata[i];
        if (!ntfy__filter_match(&s->filter, &v))
            continue;
        g_mutex_lock(&s->lock);
        if (s->holding) {
            ntfy_entry held = {.msg = bmq_message_ref(e->msg), .time = e->time};
            g_array_append_val(s->held, held);
        } else if (!s->closed && !s->failed && !s->gone) {
            if (s->out->len - s->off > n->cfg.subscriber_buffer + s->grace) {
                s->failed = true;
                n->dropped_subs++;
                hub_log(BMQ_LOG_WARNING,
                        "ntfy: dropping the %s subscriber %s of %s: %zu bytes not read (limit "
                        "%zu); it reads too slowly or is gone",
                        s->fmt == NTFY_FMT_JSON  ? "json"
                        : s->fmt == NTFY_FMT_SSE ? "sse"
                                                 : "raw",
                        s->peer, s->topics_text, s->out->len - s->off, n->cfg.subscriber_buffer);
                drop_socket(s);
            } else {
                ntfy__render_message(s->out, s->fmt, &v, ntfy__expires(n, e->time));
                s->last_us = now;
                n->delivered++;
            }
            g_ptr_array_add(wake, sub_ref(s));
        }
        g_mutex_unlock(&s->lock);
    }
    ntfy__view_clear(&v);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    ntfy_sub *s = cls;
    g_mutex_lock(&s->lock);
    for (;;) {
        if (s->failed) {
            g_mutex_unlock(&s->lock);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        size_t left = s->out->len - s->off;
        if (left) {
            size_t k = MIN(left, max);
            memcpy(buf, s->out->str + s->off, k);
            s->off += k;
            s->grace = s->grace > k ? s->grace - k : 0;
            if (s->off == s->out->len) {
                g_string_truncate(s->out, 0);
                s->off = 0;
            }
            g_mutex_unlock(&s->lock);
            return (ssize_t)k;
        }
        if (s->closed) {
            g_mutex_unlock(&s->lock);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (s->can_suspend) {
            s->suspended = true;
            MHD_suspend_connection(s->conn);
            g_mutex_unlock(&s->lock);
            return 0;
        }
        g_cond_wait(&s->cond, &s->lock);
    }
}

static void release(void *cls)
{
    ntfy_sub *s = cls;
    ntfy *n = s->n;
    g_mutex_lock(&n->lock);
    for (char **t = s->topics; *t; t++) {
        GPtrArray *list = g_hash_table_lookup(n->by_topic, *t);
        if (list) {
            g_ptr_array_remove(list, s);
            if (!list->len)
                g_hash_table_remove(n->by_topic, *t);
        }
    }
    bool had = g_ptr_array_remove(n->subs, s);
    g_mutex_unlock(&n->lock);
    g_mutex_lock(&s->lock);
    s->gone = true;
    g_mutex_unlock(&s->lock);
    if (had)
        sub_unref(s); /* the registry's */
    sub_unref(s);     /* the response's */
}

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

static bool truthy(const char *s)
{
    return s &&
           (!strcmp(s, "1") || !g_ascii_strcasecmp(s, "true") || !g_ascii_strcasecmp(s, "yes"));
}

static char **split_list(const char *s)
{
    GPtrArray *a = g_ptr_array_new();
    char **parts = g_strsplit(s, ",", -1);
    for (char **p = parts; *p; p++)
        if (*g_strstrip(*p))
            g_ptr_array_add(a, g_strdup(*p));
    g_strfreev(parts);
    g_ptr_array_add(a, NULL);
    return (char **)g_ptr_array_free(a, FALSE);
}

/* Subscription filters from the query string only: a subscriber's own
 * headers (Title, ...) are not meant as filters. */
static const char *query(struct MHD_Connection *c, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, names[i]);
        if (v)
            return v;
    }
    return NULL;
}

static int parse_filter(struct MHD_Connection *c, ntfy_filter *f, char **why)
{
    const char *v;
    if ((v = query(c, NAMES("message", "m", "x-message"))) && *v)
        f->message = g_strdup(v);
    if ((v = query(c, NAMES("title", "t", "x-title"))) && *v)
        f->title = g_strdup(v);
    if ((v = query(c, NAMES("priority", "prio", "p", "x-priority"))) && *v) {
        char **list = split_list(v);
        for (char **p = list; *p; p++) {
            int level = ntfy__priority_parse(*p);
            if (level <= 0) {
                *why = g_strdup_printf("invalid priority filter '%s': use 1-5 or min, low, "
                                       "default, high, max, urgent",
                                       *p);
                g_strfreev(list);
                return NTFY_E_PRIORITY;
            }
            f->priorities |= 1u << level;
        }
        g_strfreev(list);
    }
    if ((v = query(c, NAMES("tags", "tag", "ta", "x-tags"))) && *v)
        f->tags = split_list(v);
    return 0;
}

static const char *content_type(ntfy_fmt fmt)
{
    return fmt == NTFY_FMT_JSON  ? "application/x-ndjson; charset=utf-8"
           : fmt == NTFY_FMT_SSE ? "text/event-stream; charset=utf-8"
                                 : "text/plain; charset=utf-8";
}

bool ntfy__can_suspend(void *conn)
{
    struct MHD_Connection *c = conn;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON);
    if (!ci || !ci->daemon)
        return false;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(ci->daemon, MHD_DAEMON_INFO_FLAGS);
    if (!di)
        return false;
    unsigned flags = (unsigned)di->flags;
    return (flags & 8192u) /* MHD_ALLOW_SUSPEND_RESUME without its ITC bit */ &&
           !(flags & MHD_USE_THREAD_PER_CONNECTION);
}

/* With @s registered and holding: read the history up to the last seq
 * appended now (every message with a higher seq reaches @s live, after the
 * registration), then put the held messages that the replay does not hold
 * after it and let @s run live. */
static void replay_then_release(ntfy *n, ntfy_sub *s, const ntfy_since *since)
{
    uint64_t upto = history_last_seq(n->hist);
    GString *out = g_string_new(NULL);
    if (ntfy__history_render(n, s->topics, since, &s->filter, s->fmt, upto, out))
        hub_log(BMQ_LOG_WARNING, "ntfy: the %s subscriber %s gets live messages only",
                s->topics_text, s->peer);
    g_mutex_lock(&s->lock);
    g_string_append_len(s->out, out->str, (gssize)out->len);
    s->grace = s->out->len;
    for (guint i = 0; i < s->held->len; i++) {
        ntfy_entry *e = &g_array_index(s->held, ntfy_entry, i);
        uint64_t seq = bmq_message_seq(e->msg);
        if (!seq || seq > upto) {
            ntfy_view v;
            ntfy__view_init(&v, e->msg, e->time);
            ntfy__render_message(s->out, s->fmt, &v, ntfy__expires(n, e->time));
            ntfy__view_clear(&v);
        }
        bmq_message_unref(e->msg);
    }
    g_array_set_size(s->held, 0);
    s->holding = false;
    g_mutex_unlock(&s->lock);
    g_string_free(out, TRUE);
}

int ntfy__subscribe(ntfy *n, void *connection, const char *topics, ntfy_fmt fmt, const char *peer)
{
    struct MHD_Connection *c = connection;
    ntfy_filter filter = {0};
    ntfy_since since = {0};
    char *why = NULL;
    int rc = parse_filter(c, &filter, &why);
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    bool poll = truthy(query(c, NAMES("poll", "po", "x-poll")));
    const char *sv = query(c, NAMES("since", "si", "x-since"));
    if (!rc && ntfy__since_parse(sv ? sv : poll ? "all" : NULL, now, &since)) {
        why = g_strdup_printf("invalid since '%s': use all, latest, a message id, a duration "
                              "like 10m or a Unix time",
                              sv);
        rc = NTFY_E_SINCE;
    }
    if (rc) {
        ntfy__filter_clear(&filter);
        int ret = ntfy__error(c, rc, "%s", why);
        g_free(why);
        return ret;
    }
    char **list = g_strsplit(topics, ",", -1);
    if (poll) {
        GString *out = g_string_new(NULL);
        int hrc = 0;
        if (n->hist) {
            hrc = ntfy__history_render(n, list, &since, &filter, fmt, 0, out);
        } else {
            g_mutex_lock(&n->lock);
            ntfy__store_render(n, list, &since, &filter, fmt, out);
            g_mutex_unlock(&n->lock);
        }
        g_strfreev(list);
        ntfy__filter_clear(&filter);
        ntfy__since_clear(&since);
        if (hrc) {
            g_string_free(out, TRUE);
            return ntfy__error(c, NTFY_E_INTERNAL, "cannot read the message history");
        }
        size_t len = out->len;
        return ntfy__reply(c, MHD_HTTP_OK, content_type(fmt), g_string_free(out, FALSE), len);
    }

    ntfy_sub *s = g_new0(ntfy_sub, 1);
    s->refs = 1; /* the response's */
    s->n = n;
    s->fmt = fmt;
    s->topics = list;
    s->topics_text = g_strdup(topics);
    s->filter = filter;
    g_strlcpy(s->peer, peer && *peer ? peer : "?", sizeof s->peer);
    s->conn = c;
    s->can_suspend = ntfy__can_suspend(c);
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    s->out = g_string_new(NULL);
    s->last_us = g_get_monotonic_time();

    g_mutex_lock(&n->lock);
    if (n->stopping || n->subs->len >= n->cfg.max_subscribers) {
        bool stopping = n->stopping;
        g_mutex_unlock(&n->lock);
        ntfy__since_clear(&since);
        sub_unref(s);
        if (stopping)
            return ntfy__error(c, NTFY_E_STOPPING, "the hub is stopping");
        return ntfy__error(c, NTFY_E_LIMIT,
                           "limit reached: %u subscriptions are open (ntfy.max_subscribers)",
                           n->cfg.max_subscribers);
    }
    /* The open event, what since= asks for, then live messages. Without a
     * history all under n->lock, so nothing falls between the stored and
     * the live ones; with one, live messages are held while it is read. */
    ntfy__render_event(s->out, fmt, "open", topics);
    bool replay = n->hist && since.kind != NTFY_SINCE_NONE;
    if (replay) {
        s->holding = true;
        s->held = g_array_new(FALSE, FALSE, sizeof(ntfy_entry));
    } else if (!n->hist) {
        ntfy__store_render(n, s->topics, &since, &s->filter, fmt, s->out);
    }
    g_ptr_array_add(n->subs, sub_ref(s));
    for (char **t = s->topics; *t; t++) {
        GPtrArray *l = g_hash_table_lookup(n->by_topic, *t);
        if (!l) {
            l = g_ptr_array_new();
            g_hash_table_insert(n->by_topic, g_strdup(*t), l);
        }
        if (!g_ptr_array_find(l, s, NULL))
            g_ptr_array_add(l, s);
    }
    g_cond_signal(&n->timer_cond);
    g_mutex_unlock(&n->lock);
    if (replay)
        replay_then_release(n, s, &since);
    ntfy__since_clear(&since);

    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, reader, s, release);
    if (!r) {
        release(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(fmt));
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    ntfy__decorate(r);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* Keepalive events on idle streams; also what wakes waiting readers. */
static gpointer keepalive_thread(gpointer data)
{
    ntfy *n = data;
    gint64 period = (gint64)n->cfg.keepalive_s * G_USEC_PER_SEC;
    g_mutex_lock(&n->lock);
    while (!n->stopping) {
        gint64 now = g_get_monotonic_time();
        gint64 next = now + period;
        GPtrArray *wake = g_ptr_array_new();
        for (guint i = 0; i < n->subs->len; i++) {
            ntfy_sub *s = n->subs->pdata[i];
            g_mutex_lock(&s->lock);
            if (now - s->last_us >= period && !s->closed && !s->failed) {
                ntfy__render_event(s->out, s->fmt, "keepalive", s->topics_text);
                s->last_us = now;
                g_ptr_array_add(wake, sub_ref(s));
            }
            next = MIN(next, s->last_us + period);
            g_mutex_unlock(&s->lock);
        }
        g_mutex_unlock(&n->lock);
        ntfy__subs_wake(wake);
        g_mutex_lock(&n->lock);
        if (!n->stopping)
            g_cond_wait_until(&n->timer_cond, &n->lock, n->subs->len ? next : G_MAXINT64);
    }
    g_mutex_unlock(&n->lock);
    return NULL;
}

void ntfy__keepalive_start(ntfy *n)
{
    n->timer = g_thread_new("ntfy-keepalive", keepalive_thread, n);
}

void ntfy__keepalive_stop(ntfy *n)
{
    g_mutex_lock(&n->lock);
    n->stopping = true;
    g_cond_signal(&n->timer_cond);
    g_mutex_unlock(&n->lock);
    if (n->timer)
        g_thread_join(n->timer);
    n->timer = NULL;
}

void ntfy__subs_shutdown(ntfy *n)
{
    GPtrArray *wake = g_ptr_array_new();
    g_mutex_lock(&n->lock);
    n->stopping = true;
    g_cond_signal(&n->timer_cond);
    for (guint i = 0; i < n->subs->len; i++) {
        ntfy_sub *s = n->subs->pdata[i];
        g_mutex_lock(&s->lock);
        s->closed = true;
        g_mutex_unlock(&s->lock);
        g_ptr_array_add(wake, sub_ref(s));
    }
    g_mutex_unlock(&n->lock);
    ntfy__subs_wake(wake);
}
