/* links.c - the links of hub.json, kept up.
 *
 * One thread owns every configured link. A link that cannot be made, or
 * that drops (the peer vanished or restarted: the library's drop callback,
 * or the periodic check that asks the peer whether it still knows us), is
 * tried again with exponential backoff (capped, jittered) until it stands.
 * SIGHUP (hub_links_reload) adds and removes links and tries the ones that
 * are down at once. Each outage is logged once when it starts and once when
 * it ends; the state of every link (up, down, retrying, last error, next
 * try) is in hub.status "links" and `berrymq status`.
 *
 * Locking: `lk` guards the entries; no network call is made with it held
 * (the drop callback takes it from a library thread, and may run inside a
 * call made by this thread).
 */
#include <string.h>

#include "hub.h"

#define RETRY_FIRST_S   1.0
#define RETRY_CAP_S     60.0
#define CHECK_DEFAULT_S 15.0

typedef struct {
    bool interconnect;
    char *host;
    uint16_t port;
    double ttl;
    double check; /* seconds between checks while up */
    char *peer;   /* "host:port" for messages */
    bmq_link *link;
    bool up, ever_up;
    bool busy;         /* the thread works on it without the lock */
    bool dropped;      /* set by the drop callback */
    int drop_reason;   /* BMQ_E* of the drop */
    bool removed;      /* gone from hub.json */
    unsigned attempts; /* failed tries since it was last up */
    char *last_error;
    gint64 next_try;      /* monotonic us, when not up */
    gint64 next_check;    /* monotonic us, when up */
    gint64 next_try_wall; /* unix us of next_try, for status */
    gint64 since_wall;    /* unix us of the last change of state */
} link_entry;

static struct {
    GMutex lk;
    GCond cond;
    GPtrArray *entries; /* link_entry* */
    GThread *thread;
    bool stop;
    hub *h;
} m;

static const char *style_name(const link_entry *e)
{
    return e->interconnect ? "interconnect" : "oneway";
}

static void entry_free(link_entry *e)
{
    g_free(e->host);
    g_free(e->peer);
    g_free(e->last_error);
    g_free(e);
}

static link_entry *entry_new(const hub_link_cfg *c)
{
    link_entry *e = g_new0(link_entry, 1);
    e->interconnect = c->interconnect;
    e->host = g_strdup(c->host);
    e->port = c->port;
    e->ttl = c->ttl;
    e->check = c->check > 0 ? c->check : CHECK_DEFAULT_S;
    e->peer = strchr(c->host, ':') ? g_strdup_printf("[%s]:%u", c->host, (unsigned)c->port)
                                   : g_strdup_printf("%s:%u", c->host, (unsigned)c->port);
    e->next_try = g_get_monotonic_time();
    e->since_wall = g_get_real_time();
    return e;
}

static bool same_cfg(const link_entry *e, const hub_link_cfg *c)
{
    return e->interconnect == c->interconnect && strcmp(e->host, c->host) == 0 &&
           e->port == c->port && e->ttl == c->ttl &&
           e->check == (c->check > 0 ? c->check : CHECK_DEFAULT_S);
}

/* Seconds before try number @attempts + 1: 1, 2, 4, ... up to the cap, each
 * drawn between half and all of it so that hubs that lost the same peer do
 * not come back in step. */
static double backoff_s(unsigned attempts)
{
    double d = RETRY_FIRST_S;
    for (unsigned i = 1; i < attempts && d < RETRY_CAP_S; i++)
        d *= 2;
    d = MIN(d, RETRY_CAP_S);
    return d * g_random_double_range(0.5, 1.0);
}

static void schedule_locked(link_entry *e, double in_s)
{
    gint64 us = (gint64)(in_s * G_USEC_PER_SEC);
    e->next_try = g_get_monotonic_time() + us;
    e->next_try_wall = g_get_real_time() + us;
}

static const char *reason_text(int reason)
{
    switch (reason) {
    case -BMQ_ETOKEN:
        return "the peer no longer knows the link (it restarted)";
    case -BMQ_ETIMEDOUT:
        return "idle longer than its ttl";
    default:
        return "the peer does not answer";
    }
}

static void on_drop(bmq_link *link, int reason, void *user_data)
{
    (void)user_data;
    g_mutex_lock(&m.lk);
    for (guint i = 0; m.entries && i < m.entries->len; i++) {
        link_entry *e = g_ptr_array_index(m.entries, i);
        if (e->link == link && e->up) {
            e->dropped = true;
            e->drop_reason = reason;
        }
    }
    g_cond_broadcast(&m.cond);
    g_mutex_unlock(&m.lk);
}

/* Lock held: the link went down (callback or failed check); *close gets
 * the link to close once the lock is released. */
static void mark_down_locked(link_entry *e, const char *why, bmq_link **close)
{
    *close = e->link;
    e->link = NULL;
    e->up = false;
    e->dropped = false;
    e->attempts = 0;
    g_free(e->last_error);
    e->last_error = g_strdup(why);
    e->since_wall = g_get_real_time();
    schedule_locked(e, backoff_s(1));
    hub_log(BMQ_LOG_WARNING, "link to %s (%s) dropped: %s; retrying", e->peer, style_name(e), why);
}

/* Without the lock: make the link. */
static bmq_link *try_link(hub *h, link_entry *e, char **err)
{
    return e->interconnect ? bmq_interconnect(h->bus, e->host, e->port, e->ttl, NULL, err)
                           : bmq_connect_oneway(h->bus, e->host, e->port, e->ttl, NULL, err);
}

static void tried_locked(link_entry *e, bmq_link *l, char *err)
{
    e->busy = false;
    if (l) {
        e->link = l;
        e->up = true;
        e->since_wall = g_get_real_time();
        e->next_check = g_get_monotonic_time() + (gint64)(e->check * G_USEC_PER_SEC);
        if (!e->ever_up && e->attempts == 0)
            hub_log(BMQ_LOG_INFO, "linked to %s (%s)", e->peer, style_name(e));
        else if (!e->ever_up)
            hub_log(BMQ_LOG_NOTICE, "linked to %s (%s) after %u failed tr%s", e->peer,
                    style_name(e), e->attempts, e->attempts == 1 ? "y" : "ies");
        else if (e->attempts)
            hub_log(BMQ_LOG_NOTICE, "link to %s (%s) is up again after %u failed tr%s", e->peer,
                    style_name(e), e->attempts, e->attempts == 1 ? "y" : "ies");
        else
            hub_log(BMQ_LOG_NOTICE, "link to %s (%s) is up again", e->peer, style_name(e));
        e->ever_up = true;
        e->attempts = 0;
        g_clear_pointer(&e->last_error, g_free);
        return;
    }
    e->attempts++;
    double in = backoff_s(e->attempts);
    schedule_locked(e, in);
    if (e->attempts == 1 && !e->ever_up) /* once per outage: a drop was logged */
        hub_log(BMQ_LOG_WARNING, "cannot link to %s: %s; retrying (next try in %.0f s)", e->peer,
                err ? err : "unknown error", in);
    else
        hub_log(BMQ_LOG_DEBUG, "link to %s: try %u failed: %s; next in %.1f s", e->peer,
                e->attempts, err ? err : "unknown error", in);
    g_free(e->last_error);
    e->last_error = g_strdup(err ? err : "unknown error");
}

static gpointer links_main(gpointer data)
{
    hub *h = data;
    g_mutex_lock(&m.lk);
    while (!m.stop) {
        gint64 now = g_get_monotonic_time();
        GPtrArray *to_close = g_ptr_array_new();
        gint64 wake = G_MAXINT64;
        link_entry *work = NULL;
        bool check = false;
        for (guint i = 0; i < m.entries->len;) {
            link_entry *e = g_ptr_array_index(m.entries, i);
            bmq_link *c = NULL;
            if (e->removed && !e->busy) {
                if (e->link)
                    g_ptr_array_add(to_close, e->link);
                g_ptr_array_remove_index(m.entries, i);
                entry_free(e);
                continue;
            }
            if (e->dropped) {
                mark_down_locked(e, reason_text(e->drop_reason), &c);
                if (c)
                    g_ptr_array_add(to_close, c);
            }
            gint64 due = e->up ? e->next_check : e->next_try;
            if (!work && !e->busy && due <= now) {
                work = e;
                check = e->up;
            } else if (!e->busy) {
                wake = MIN(wake, due);
            }
            i++;
        }
        if (!work && !to_close->len) {
            g_ptr_array_free(to_close, TRUE);
            if (wake == G_MAXINT64)
                g_cond_wait(&m.cond, &m.lk);
            else
                g_cond_wait_until(&m.cond, &m.lk, wake);
            continue;
        }
        if (work)
            work->busy = true;
        bmq_link *link = work ? work->link : NULL;
        g_mutex_unlock(&m.lk);

        for (guint i = 0; i < to_close->len; i++)
            bmq_close_connection(g_ptr_array_index(to_close, i));
        g_ptr_array_free(to_close, TRUE);
        char *err = NULL;
        bmq_link *made = NULL;
        int rc = 0;
        if (work && check)
            rc = bmq_link_check(link, &err);
        else if (work)
            made = try_link(h, work, &err);
        if (made)
            bmq_link_set_drop_fn(made, on_drop, NULL);

        g_mutex_lock(&m.lk);
        if (work && check) {
            work->busy = false;
            bmq_link *c = NULL;
            if (rc < 0 && work->link == link) {
                work->dropped = false;
                mark_down_locked(work, err ? err : reason_text(rc), &c);
            } else {
                work->next_check = g_get_monotonic_time() + (gint64)(work->check * G_USEC_PER_SEC);
            }
            if (c) {
                g_mutex_unlock(&m.lk);
                bmq_close_connection(c);
                g_mutex_lock(&m.lk);
            }
        } else if (work) {
            tried_locked(work, made, err); /* if stopped meanwhile, hub_links_stop closes it */
        }
        g_free(err);
    }
    g_mutex_unlock(&m.lk);
    return NULL;
}

void hub_links_start(hub *h)
{
    m.h = h;
    m.entries = g_ptr_array_new();
    m.stop = false;
    for (guint i = 0; i < h->config->links->len; i++)
        g_ptr_array_add(m.entries, entry_new(g_ptr_array_index(h->config->links, i)));
    /* Links are made on their own thread: a dead peer must not delay the
     * start. */
    m.thread = g_thread_new("hub-links", links_main, h);
}

void hub_links_reload(hub *h, hub_config *cfg)
{
    (void)h;
    g_mutex_lock(&m.lk);
    int added = 0, removed = 0;
    for (guint i = 0; i < m.entries->len; i++) {
        link_entry *e = g_ptr_array_index(m.entries, i);
        bool keep = false;
        for (guint j = 0; j < cfg->links->len && !keep; j++)
            keep = same_cfg(e, g_ptr_array_index(cfg->links, j));
        if (!keep && !e->removed) {
            e->removed = true;
            removed++;
        }
    }
    for (guint j = 0; j < cfg->links->len; j++) {
        const hub_link_cfg *c = g_ptr_array_index(cfg->links, j);
        bool have = false;
        for (guint i = 0; i < m.entries->len && !have; i++) {
            link_entry *e = g_ptr_array_index(m.entries, i);
            if (!e->removed && same_cfg(e, c)) {
                have = true;
                /* Re-read: one that is down is tried again now. */
                if (!e->up)
                    schedule_locked(e, 0);
            }
        }
        if (!have) {
            g_ptr_array_add(m.entries, entry_new(c));
            added++;
        }
    }
    if (added || removed)
        hub_log(BMQ_LOG_INFO, "links: %d added, %d removed", added, removed);
    g_cond_broadcast(&m.cond);
    g_mutex_unlock(&m.lk);
}

void hub_links_stop(hub *h)
{
    (void)h;
    if (!m.thread)
        return;
    g_mutex_lock(&m.lk);
    m.stop = true;
    g_cond_broadcast(&m.cond);
    g_mutex_unlock(&m.lk);
    g_thread_join(m.thread);
    m.thread = NULL;
    g_mutex_lock(&m.lk);
    GPtrArray *entries = m.entries;
    m.entries = NULL;
    g_mutex_unlock(&m.lk);
    for (guint i = 0; i < entries->len; i++) {
        link_entry *e = g_ptr_array_index(entries, i);
        bmq_close_connection(e->link);
        entry_free(e);
    }
    g_ptr_array_free(entries, TRUE);
}

static json_object *time_json(gint64 unix_us)
{
    GDateTime *dt = g_date_time_new_from_unix_utc(unix_us / G_USEC_PER_SEC);
    if (!dt)
        return NULL;
    char *s = g_date_time_format_iso8601(dt);
    g_date_time_unref(dt);
    json_object *o = json_object_new_string(s);
    g_free(s);
    return o;
}

json_object *hub_links_json(hub *h)
{
    (void)h;
    json_object *arr = json_object_new_array();
    g_mutex_lock(&m.lk);
    gint64 now = g_get_monotonic_time();
    for (guint i = 0; m.entries && i < m.entries->len; i++) {
        link_entry *e = g_ptr_array_index(m.entries, i);
        if (e->removed)
            continue;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "peer", json_object_new_string(e->peer));
        json_object_object_add(o, "style", json_object_new_string(style_name(e)));
        const char *state = e->up ? "up" : e->attempts ? "retrying" : "down";
        json_object_object_add(o, "state", json_object_new_string(state));
        json_object_object_add(o, "since", time_json(e->since_wall));
        json_object_object_add(o, "attempts", json_object_new_int((int)e->attempts));
        json_object_object_add(o, "last_error",
                               e->last_error ? json_object_new_string(e->last_error) : NULL);
        bool waiting = !e->up && !e->busy;
        json_object_object_add(o, "next_try", waiting ? time_json(e->next_try_wall) : NULL);
        json_object_object_add(
            o, "next_try_in_s",
            waiting ? json_object_new_double(MAX(0.0, (double)(e->next_try - now) / G_USEC_PER_SEC))
                    : NULL);
        json_object_object_add(o, "token",
                               e->link && bmq_link_token(e->link)
                                   ? json_object_new_string(bmq_link_token(e->link))
                                   : NULL);
        json_object_array_add(arr, o);
    }
    g_mutex_unlock(&m.lk);
    return arr;
}
