/* notify.c - the notify plugin: desktop notifications through libnotify.
 *
 * Follows "*:notify" (config "filter") and shows each message as a
 * notification. Each message is read once into a popup_spec
 * (popup_spec.c); around the popups themselves (popup.c) it keeps:
 *  - the daemon watch: org.freedesktop.Notifications is watched with
 *    g_bus_watch_name (no polling); without a daemon messages wait in a
 *    bounded backlog and are shown when one appears; the absence is logged
 *    once per outage. With the hub's history on, the backlog is durable:
 *    a cursor ("backlog") is saved just before the oldest message still
 *    waiting, and after a restart (even a crash) what was waiting is read
 *    back from the history;
 *  - a token bucket per message name; what a flood exceeds is counted and
 *    shown as one "N more from NAME" notification, updated in place by a
 *    summary timer while the flood lasts;
 *  - do not disturb: "_notify:pause" / "_notify:resume"; while paused the
 *    popups stop, the suppressed ones are counted and critical ones raise
 *    "_notify:attention"; "_notify:query" answers with "_notify:status".
 * Config: filter, app_name, timeout, rate, burst, summary_interval_ms,
 * backlog, open_command. Messages published through the hub's ntfy API
 * carry ntfy's "click" and "actions" (an array): ntfy_action.c does what
 * a click on them means. Everything runs on the host's main thread but
 * the requests of ntfy "http" actions.
 *
 * Receipts: a message with kwarg "receipt" (a name, e.g. "r1f2e@receipt")
 * is answered with RECEIPT:shown {id} (the daemon's notification id),
 * RECEIPT:queued (waiting for a daemon), RECEIPT:suppressed {reason}
 * (paused, rate), RECEIPT:failed {error}, and later RECEIPT:action {key}
 * and RECEIPT:closed {reason, reason_text}. `berrymq notify` waits on
 * them for -p, -w and -A and to report a notification nobody can show.
 */
#include "nplugin.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#define NOTIFY_BUS_NAME "org.freedesktop.Notifications"

/* libnotify keeps process-global state: initialise it with the first
 * instance and release it with the last one (main thread only). */
static guint libnotify_users;

static void nbucket_free(gpointer data)
{
    nbucket *b = data;
    if (b->summary)
        g_object_unref(b->summary);
    g_free(b);
}

static void send_status(nplugin *p)
{
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "paused", json_object_new_boolean(p->paused));
    json_object_object_add(kw, "suppressed", json_object_new_int64((int64_t)p->paused_suppressed));
    p->host->twitter(p->host, "_notify:status", NULL, kw);
}

static void daemon_missing(nplugin *p)
{
    p->daemon = DAEMON_DOWN;
    if (!p->daemon_warned) {
        p->daemon_warned = true;
        if (p->backlog_max)
            p->host->log(p->host, BMQ_LOG_WARNING,
                         "no notification daemon (%s) on the session bus; notifications wait "
                         "until one appears (at most %u, \"backlog\")",
                         NOTIFY_BUS_NAME, p->backlog_max);
        else
            p->host->log(p->host, BMQ_LOG_WARNING,
                         "no notification daemon (%s) on the session bus; notifications are "
                         "dropped until one appears (\"backlog\": 0)",
                         NOTIFY_BUS_NAME);
    }
}

void nplugin__receipt(nplugin *p, const char *receipt, const char *what, json_object *kwargs)
{
    char *id = receipt && *receipt && !strchr(receipt, ':')
                   ? g_strdup_printf("%s:%s", receipt, what)
                   : NULL;
    if (!id || bmq_id_validate(id) != 0) {
        json_object_put(kwargs);
        g_free(id);
        return;
    }
    if (!kwargs)
        kwargs = json_object_new_object();
    json_object_object_add(kwargs, "instance", json_object_new_string(p->host->instance_id));
    p->host->twitter(p->host, id, NULL, kwargs);
    g_free(id);
}

static json_object *kw_reason(const char *key, const char *text)
{
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, key, json_object_new_string(text));
    return kw;
}

/* Keeps @s (transfer full) until a daemon appears. */
static void backlog_push(nplugin *p, popup_spec *s)
{
    if (p->backlog_max == 0) {
        p->backlog_dropped++;
        nplugin__receipt(p, s->receipt, "failed",
                         kw_reason("error", "no notification daemon is running and the "
                                            "notify instance keeps no backlog"));
        nplugin__spec_free(s);
        return;
    }
    if (g_queue_get_length(&p->backlog) >= p->backlog_max) {
        popup_spec *old = g_queue_pop_head(&p->backlog);
        nplugin__receipt(p, old->receipt, "failed",
                         kw_reason("error", "dropped from the full backlog while no "
                                            "notification daemon was running"));
        nplugin__spec_free(old);
        p->backlog_dropped++;
    }
    g_queue_push_tail(&p->backlog, s);
    nplugin__receipt(p, s->receipt, "queued", NULL);
}

/* Save the durable position: everything handled so far when nothing
 * waits, else just before the oldest waiting message. */
static void backlog_ack(nplugin *p)
{
    if (!p->cursor)
        return;
    uint64_t pos = p->seen_seq;
    for (GList *l = p->backlog.head; l; l = l->next) {
        uint64_t seq = bmq_message_seq(((popup_spec *)l->data)->msg);
        if (seq && seq - 1 < pos)
            pos = seq - 1;
    }
    if (pos > p->acked_seq) {
        p->host->cursor_ack(p->host, p->cursor, pos);
        p->acked_seq = pos;
    }
}

static void seen(nplugin *p, const bmq_message *msg)
{
    uint64_t s = bmq_message_seq(msg);
    if (s > p->seen_seq)
        p->seen_seq = s;
}

/* Shows @s (transfer full) or keeps it for later. */
static void present(nplugin *p, popup_spec *s)
{
    if (p->daemon == DAEMON_DOWN) {
        backlog_push(p, s);
        return;
    }
    int rc = nplugin__show(p, s);
    if (rc == 0) {
        p->shown++;
    } else if (rc == -BMQ_ENET) {
        daemon_missing(p);
        backlog_push(p, s);
        return;
    } else {
        p->errors++;
        nplugin__receipt(p, s->receipt, "failed",
                         kw_reason("error", "the notification daemon refused it"));
    }
    nplugin__spec_free(s);
}

static void flush_backlog(nplugin *p)
{
    popup_spec *s;
    while (p->daemon != DAEMON_DOWN && (s = g_queue_pop_head(&p->backlog)))
        present(p, s);
    backlog_ack(p);
}

static void name_appeared(GDBusConnection *c, const char *name, const char *owner, gpointer data)
{
    nplugin *p = data;
    if (p->daemon == DAEMON_DOWN)
        p->host->log(p->host, BMQ_LOG_NOTICE, "notification daemon is back (%s)", owner);
    p->daemon = DAEMON_UP;
    p->daemon_warned = false;
    flush_backlog(p);
}

static void name_vanished(GDBusConnection *c, const char *name, gpointer data)
{
    nplugin *p = data;
    /* Ids of a dead daemon mean nothing to the next one. */
    nplugin__drop_live(p);
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, p->buckets);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_clear_object(&((nbucket *)v)->summary);
    daemon_missing(p);
}

static gboolean summary_tick(gpointer data)
{
    nplugin *p = data;
    GHashTableIter it;
    gpointer k, v;
    bool active = false;

    g_hash_table_iter_init(&it, p->buckets);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        nbucket *b = v;
        if (b->pending == 0) {
            /* The flood is over: the next one starts a new summary. */
            b->flood_total = 0;
            g_clear_object(&b->summary);
            continue;
        }
        active = true;
        b->flood_total += b->pending;
        b->pending = 0;
        if (p->paused || p->daemon == DAEMON_DOWN)
            continue;
        char *summary =
            g_strdup_printf("%" G_GUINT64_FORMAT " more from %s", b->flood_total, (const char *)k);
        if (nplugin__show_summary(p, &b->summary, summary,
                                  "Too many notifications at once; "
                                  "they were counted, not shown.") == 0)
            p->shown++;
        g_free(summary);
    }
    if (!active)
        p->summary_timer = 0;
    return active ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Buckets of names that went quiet hold nothing worth keeping: a full
 * bucket is what a new one starts with. Bounds the table when many names
 * come and go. */
#define BUCKETS_MAX 1024

static void prune_buckets(nplugin *p, gint64 now)
{
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, p->buckets);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        nbucket *b = v;
        double tokens = b->tokens + (double)(now - b->last_us) / 1e6 * p->rate;
        if (b->pending == 0 && b->flood_total == 0 && !b->summary && tokens >= p->burst)
            g_hash_table_iter_remove(&it);
    }
}

/* true when the bucket of @name has a token for one more popup. */
static bool rate_take(nplugin *p, const char *name)
{
    nbucket *b = g_hash_table_lookup(p->buckets, name);
    gint64 now = g_get_monotonic_time();
    if (!b && g_hash_table_size(p->buckets) >= BUCKETS_MAX)
        prune_buckets(p, now);
    if (!b) {
        b = g_new0(nbucket, 1);
        b->tokens = p->burst;
        b->last_us = now;
        g_hash_table_insert(p->buckets, g_strdup(name), b);
    }
    b->tokens = MIN(p->burst, b->tokens + (double)(now - b->last_us) / 1e6 * p->rate);
    b->last_us = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return true;
    }
    b->pending++;
    p->rate_limited++;
    if (!p->summary_timer)
        p->summary_timer = p->host->timeout_add(p->host, p->summary_ms, summary_tick, p);
    return false;
}

static void handle(nplugin *p, popup_spec *s);

static void on_notify(const bmq_message *msg, void *user_data)
{
    nplugin *p = user_data;
    if (p->cursor && !p->host->cursor_live(p->host, p->cursor, msg))
        return; /* read back from the history at the start */
    seen(p, msg);
    handle(p, nplugin__spec_new(p, msg));
    /* While messages wait, the position stays before the oldest. */
    if (g_queue_is_empty(&p->backlog))
        backlog_ack(p);
}

/* Takes @s (transfer full). */
static void handle(nplugin *p, popup_spec *s)
{
    if (p->paused) {
        p->suppressed++;
        p->paused_suppressed++;
        nplugin__receipt(p, s->receipt, "suppressed", kw_reason("reason", "paused"));
        if (s->urgency == NOTIFY_URGENCY_CRITICAL) {
            p->paused_critical++;
            json_object *kw = json_object_new_object();
            json_object_object_add(kw, "id", json_object_new_string(bmq_message_id(s->msg)));
            json_object_object_add(kw, "title", json_object_new_string(s->title));
            json_object_object_add(kw, "critical",
                                   json_object_new_int64((int64_t)p->paused_critical));
            json_object_object_add(kw, "suppressed",
                                   json_object_new_int64((int64_t)p->paused_suppressed));
            p->host->twitter(p->host, "_notify:attention", NULL, kw);
        }
        nplugin__spec_free(s);
        return;
    }
    if (!rate_take(p, bmq_message_name(s->msg))) {
        nplugin__receipt(p, s->receipt, "suppressed", kw_reason("reason", "rate"));
        nplugin__spec_free(s);
        return;
    }
    present(p, s);
}

static void on_pause(const bmq_message *msg, void *user_data)
{
    nplugin *p = user_data;
    if (!p->paused) {
        p->paused = true;
        p->paused_suppressed = 0;
        p->paused_critical = 0;
        p->host->log(p->host, BMQ_LOG_INFO, "notifications paused");
    }
    send_status(p);
}

static void on_resume(const bmq_message *msg, void *user_data)
{
    nplugin *p = user_data;
    if (p->paused) {
        p->paused = false;
        p->host->log(p->host, BMQ_LOG_INFO,
                     "notifications resumed (%" G_GUINT64_FORMAT " held back)",
                     p->paused_suppressed);
        if (p->paused_suppressed > 0 && p->daemon != DAEMON_DOWN) {
            NotifyNotification *n = NULL;
            char *s = g_strdup_printf("%" G_GUINT64_FORMAT " notification%s while paused",
                                      p->paused_suppressed, p->paused_suppressed == 1 ? "" : "s");
            if (nplugin__show_summary(p, &n, s, "Open the message monitor to read them.") == 0)
                p->shown++;
            g_clear_object(&n);
            g_free(s);
        }
    }
    send_status(p);
}

/* "_notify:query": a newcomer (the tray) asks whether we are paused. */
static void on_query(const bmq_message *msg, void *user_data)
{
    send_status(user_data);
}

static const char *const known_keys[] = {
    "filter", "app_name", "timeout", "rate", "burst", "summary_interval_ms", "backlog",
    "open_command", NULL,
};

static bool configure(nplugin *p, json_object *cfg, char **error)
{
    /* Unknown keys are only logged: a typo shows, the popups go on. */
    char *unknown = NULL;
    int rc = bmq_config_check_keys(cfg, known_keys, &unknown);
    if (rc == -BMQ_ETYPE) {
        *error = unknown;
        return false;
    }
    if (rc) {
        p->host->log(p->host, BMQ_LOG_WARNING, "%s: ignored", unknown);
        g_free(unknown);
    }
    p->filter = g_strdup("*:notify");
    p->app_name = g_strdup("berryMQ");
    p->open_command = g_strdup("xdg-open");
    int64_t timeout = NOTIFY_EXPIRES_DEFAULT, summary = 1000, backlog = 64;
    double rate = 2.0, burst = 10.0;
    if (bmq_config_get_string(cfg, "filter", 0, &p->filter, error) ||
        bmq_config_get_string(cfg, "app_name", 0, &p->app_name, error) ||
        bmq_config_get_string(cfg, "open_command", 0, &p->open_command, error) ||
        bmq_config_get_int(cfg, "timeout", 0, INT64_MIN, INT64_MAX, &timeout, error) ||
        bmq_config_get_double(cfg, "rate", 0, -INFINITY, INFINITY, &rate, error) ||
        bmq_config_get_double(cfg, "burst", 0, -INFINITY, INFINITY, &burst, error) ||
        bmq_config_get_int(cfg, "summary_interval_ms", 0, INT64_MIN, INT64_MAX, &summary, error) ||
        bmq_config_get_int(cfg, "backlog", 0, INT64_MIN, INT64_MAX, &backlog, error))
        return false;
    if (bmq_id_validate(p->filter) != 0) {
        *error = g_strdup_printf("key 'filter': \"%s\" is not a valid pattern", p->filter);
        return false;
    }
    p->default_timeout = (int)CLAMP(timeout, INT_MIN, INT_MAX);
    p->rate = rate;
    p->burst = burst;
    /* Out-of-range values are brought into range rather than refused. */
    p->summary_ms = (guint)CLAMP(summary, 50, 60000);
    p->backlog_max = (guint)CLAMP(backlog, 0, 100000);
    if (p->rate <= 0 || p->burst < 1) {
        *error = g_strdup("keys 'rate' and 'burst': \"rate\" must be > 0 and \"burst\" >= 1");
        return false;
    }
    return true;
}

static void nplugin_destroy(void *instance);

#define REPLAY_BATCH 256

/* With the hub's history: open the durable backlog and read back what was
 * waiting for a daemon when the hub last stopped (or crashed). Called
 * after the follow, so nothing falls between the two. */
static void open_backlog(nplugin *p)
{
    const bmq_host *host = p->host;
    if (!BMQ_HOST_HAS(host, cursor_close) || p->backlog_max == 0)
        return;
    char *err = NULL;
    p->cursor = host->history_cursor(host, "backlog", p->filter, &err);
    if (!p->cursor) {
        host->log(host, BMQ_LOG_DEBUG, "the backlog is kept in memory only: %s", err);
        g_free(err);
        return;
    }
    bmq_message **v = g_new(bmq_message *, REPLAY_BATCH);
    int n;
    do {
        n = host->cursor_next(host, p->cursor, v, REPLAY_BATCH);
        for (int i = 0; i < n; i++) {
            seen(p, v[i]);
            /* No receipt: whoever asked for one went with the old hub. */
            if (g_queue_get_length(&p->backlog) >= p->backlog_max) {
                nplugin__spec_free(g_queue_pop_head(&p->backlog));
                p->backlog_dropped++;
            }
            g_queue_push_tail(&p->backlog, nplugin__spec_new(p, v[i]));
            bmq_message_unref(v[i]);
            p->replayed++;
        }
    } while (n == REPLAY_BATCH);
    g_free(v);
    if (n < 0)
        host->log(host, BMQ_LOG_WARNING, "cannot read the waiting notifications back: %s",
                  bmq_strerror(n));
    if (p->replayed)
        host->log(host, BMQ_LOG_INFO,
                  "%" G_GUINT64_FORMAT " notification(s) waiting from before the restart",
                  p->replayed);
    backlog_ack(p);
}

static void *nplugin_create(const bmq_host *host, json_object *config, char **error)
{
    nplugin *p = g_new0(nplugin, 1);
    p->host = host;
    g_queue_init(&p->backlog);
    g_queue_init(&p->live);
    g_mutex_init(&p->http_lock);
    g_cond_init(&p->http_cond);
    p->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    p->buckets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, nbucket_free);
    if (!configure(p, config, error)) {
        nplugin_destroy(p);
        return NULL;
    }
    if (libnotify_users++ == 0 && !notify_is_initted())
        notify_init(p->app_name);
    p->libnotify_ref = true;

    p->f_notify = host->follow(host, p->filter, on_notify, NULL, p, BMQ_FOLLOW_MAIN_THREAD);
    p->f_pause = host->follow(host, "_notify:pause", on_pause, NULL, p, BMQ_FOLLOW_MAIN_THREAD);
    p->f_resume = host->follow(host, "_notify:resume", on_resume, NULL, p, BMQ_FOLLOW_MAIN_THREAD);
    p->f_query = host->follow(host, "_notify:query", on_query, NULL, p, BMQ_FOLLOW_MAIN_THREAD);
    if (!p->f_notify || !p->f_pause || !p->f_resume || !p->f_query) {
        *error = g_strdup_printf("cannot follow \"%s\"", p->filter);
        nplugin_destroy(p);
        return NULL;
    }
    open_backlog(p);
    /* The watch reports on the thread-default context of the caller. */
    g_main_context_push_thread_default(host->context);
    p->watch_id =
        g_bus_watch_name(G_BUS_TYPE_SESSION, NOTIFY_BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                         name_appeared, name_vanished, p, NULL);
    g_main_context_pop_thread_default(host->context);
    return p;
}

static void nplugin_destroy(void *instance)
{
    nplugin *p = instance;
    if (p->watch_id)
        g_bus_unwatch_name(p->watch_id);
    if (p->f_notify)
        p->host->unfollow(p->host, p->f_notify);
    if (p->f_pause)
        p->host->unfollow(p->host, p->f_pause);
    if (p->f_resume)
        p->host->unfollow(p->host, p->f_resume);
    if (p->f_query)
        p->host->unfollow(p->host, p->f_query);
    if (p->summary_timer)
        p->host->source_remove(p->host, p->summary_timer);
    nplugin__drop_live(p);
    nplugin__ntfy_wait(p);
    g_mutex_clear(&p->http_lock);
    g_cond_clear(&p->http_cond);
    if (p->cursor)
        p->host->cursor_close(p->host, p->cursor);
    g_queue_clear_full(&p->backlog, nplugin__spec_free);
    g_hash_table_destroy(p->by_key);
    g_hash_table_destroy(p->buckets);
    if (p->libnotify_ref && --libnotify_users == 0)
        notify_uninit();
    g_free(p->filter);
    g_free(p->app_name);
    g_free(p->open_command);
    g_free(p);
}

static json_object *nplugin_status(void *instance)
{
    nplugin *p = instance;
    json_object *s = json_object_new_object();
    json_object_object_add(s, "filter", json_object_new_string(p->filter));
    json_object_object_add(s, "shown", json_object_new_int64((int64_t)p->shown));
    json_object_object_add(s, "suppressed", json_object_new_int64((int64_t)p->suppressed));
    json_object_object_add(s, "rate_limited", json_object_new_int64((int64_t)p->rate_limited));
    json_object_object_add(s, "paused", json_object_new_boolean(p->paused));
    json_object_object_add(s, "paused_suppressed",
                           json_object_new_int64((int64_t)p->paused_suppressed));
    json_object_object_add(s, "errors", json_object_new_int64((int64_t)p->errors));
    json_object_object_add(s, "daemon",
                           json_object_new_string(p->daemon == DAEMON_UP     ? "up"
                                                  : p->daemon == DAEMON_DOWN ? "down"
                                                                             : "unknown"));
    json_object_object_add(s, "waiting", json_object_new_int((int)g_queue_get_length(&p->backlog)));
    json_object_object_add(s, "waiting_dropped",
                           json_object_new_int64((int64_t)p->backlog_dropped));
    json_object_object_add(s, "durable", json_object_new_boolean(p->cursor != NULL));
    json_object_object_add(s, "replayed", json_object_new_int64((int64_t)p->replayed));
    json_object_object_add(s, "on_screen", json_object_new_int((int)g_queue_get_length(&p->live)));
    return s;
}

static const bmq_plugin_descriptor notify_descriptor = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "notify",
    .version = "1.0",
    .description = "desktop notifications (libnotify) for messages matching a filter",
    .create = nplugin_create,
    .destroy = nplugin_destroy,
    .status = nplugin_status,
};

BMQ_PLUGIN_DEFINE(notify_descriptor)
