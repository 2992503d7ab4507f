/* cap_plugin.c - the capture plugin: other programs' desktop notifications
 * become messages.
 *
 *   Notify call (+ its reply's id)  ->  APP:captured  kwargs title, body,
 *       urgency, icon, actions, timeout, app, id, category, desktop_entry,
 *       replaces, hints, image, error, truncated, redacted
 *   NotificationClosed              ->  APP:closed    kwargs id, reason,
 *                                                     reason_text, app
 *   ActionInvoked                   ->  APP:action    kwargs id, action, app
 *
 * APP is the sender's app_name made safe for an identifier. The hub's own
 * notifications (hint x-berrymq-uid, set by the notify plugin) are never
 * captured, and the signals are reported only for captured notifications.
 * Config: ignore_apps, only_apps, urgency_min, redact_body, include_images,
 * images_keep, backlog, bus. See docs/capture.md. */
#include "cap_plugin.h"

#include <string.h>

/* Events turned into messages per main-loop turn, so a flood cannot hold
 * the main thread. */
#define DRAIN_BATCH 64
/* How often waiting calls are checked while some wait. */
#define PENDING_CHECK_MS 500

void capture__ref(cap_plugin *p)
{
    g_atomic_int_inc(&p->refs);
}

void capture__event_free(cap_event *ev)
{
    capture__note_free(ev->note);
    g_free(ev->app_part);
    g_free(ev->app);
    g_free(ev->text);
    g_free(ev);
}

void capture__unref(cap_plugin *p)
{
    if (!g_atomic_int_dec_and_test(&p->refs))
        return;
    capture__state_clear(p);
    g_queue_clear_full(&p->ready, (GDestroyNotify)capture__event_free);
    g_mutex_clear(&p->lock);
    capture__config_clear(&p->cfg);
    g_free(p->last_error);
    g_free(p->image_dir);
    g_free(p);
}

static void emit(cap_plugin *p, const char *app_part, const char *action, json_object *kw)
{
    char *id = g_strconcat(app_part, ":", action, NULL);
    /* The part was made safe; what can still fail is a reserved shape. */
    if (bmq_id_validate(id) != 0) {
        g_free(id);
        id = g_strconcat("unknown:", action, NULL);
    }
    if (p->host->twitter(p->host, id, NULL, kw) != 0) {
        g_mutex_lock(&p->lock);
        p->n.errors++;
        g_mutex_unlock(&p->lock);
    }
    g_free(id);
}

static void emit_captured(cap_plugin *p, cap_event *ev)
{
    cap_note *n = ev->note;
    json_object *kw = capture__note_kwargs(n, &p->cfg, ev->id, ev->text);
    bool image_ok = false;
    if (n->image) {
        char *error = NULL;
        char *path = capture__image_write(p, n->image, &error);
        if (path) {
            json_object_object_add(kw, "image", json_object_new_string(path));
            image_ok = true;
        } else {
            p->host->log(p->host, BMQ_LOG_DEBUG, "notification from \"%s\": %s", n->app, error);
        }
        g_free(path);
        g_free(error);
    }
    g_mutex_lock(&p->lock);
    p->n.captured++;
    if (n->image) {
        if (image_ok)
            p->n.images++;
        else
            p->n.image_errors++;
    }
    g_mutex_unlock(&p->lock);
    emit(p, n->app_part, "captured", kw);
}

static void emit_event(cap_plugin *p, cap_event *ev)
{
    json_object *kw;
    switch (ev->kind) {
    case EV_CAPTURED:
        emit_captured(p, ev);
        return;
    case EV_CLOSED:
        kw = json_object_new_object();
        json_object_object_add(kw, "id", json_object_new_int64(ev->id));
        json_object_object_add(kw, "reason", json_object_new_int64(ev->reason));
        json_object_object_add(kw, "reason_text",
                               json_object_new_string(capture__reason_name(ev->reason)));
        json_object_object_add(kw, "app", json_object_new_string(ev->app));
        g_mutex_lock(&p->lock);
        p->n.closed++;
        g_mutex_unlock(&p->lock);
        emit(p, ev->app_part, "closed", kw);
        return;
    case EV_ACTION:
        kw = json_object_new_object();
        json_object_object_add(kw, "id", json_object_new_int64(ev->id));
        json_object_object_add(kw, "action", json_object_new_string(ev->text ? ev->text : ""));
        json_object_object_add(kw, "app", json_object_new_string(ev->app));
        g_mutex_lock(&p->lock);
        p->n.actions++;
        g_mutex_unlock(&p->lock);
        emit(p, ev->app_part, "action", kw);
        return;
    }
}

/* Main thread: turn up to DRAIN_BATCH waiting events into messages. */
static void drain(void *data)
{
    cap_plugin *p = data;
    GQueue batch = G_QUEUE_INIT;
    g_mutex_lock(&p->lock);
    for (int i = 0; i < DRAIN_BATCH && !g_queue_is_empty(&p->ready); i++)
        g_queue_push_tail(&batch, g_queue_pop_head(&p->ready));
    bool more = !g_queue_is_empty(&p->ready);
    p->drain_scheduled = more;
    g_mutex_unlock(&p->lock);
    cap_event *ev;
    while ((ev = g_queue_pop_head(&batch))) {
        emit_event(p, ev);
        capture__event_free(ev);
    }
    if (more)
        p->host->invoke(p->host, drain, p, NULL);
}

void capture__ready_push_locked(cap_plugin *p, cap_event *ev)
{
    if (!p->alive || g_queue_get_length(&p->ready) >= p->cfg.backlog) {
        /* The main thread is behind: what does not fit is counted. */
        p->n.dropped++;
        capture__event_free(ev);
        return;
    }
    g_queue_push_tail(&p->ready, ev);
    if (!p->drain_scheduled) {
        p->drain_scheduled = true;
        p->host->invoke(p->host, drain, p, NULL);
    }
}

static gboolean pending_check(gpointer data)
{
    cap_plugin *p = data;
    if (capture__pending_expire(p, CAPTURE_PENDING_AGE_US) > 0)
        return G_SOURCE_CONTINUE;
    g_mutex_lock(&p->lock);
    /* A call that arrived meanwhile re-arms the timer through arm_timer. */
    bool again = !g_queue_is_empty(&p->pending_order);
    p->timer_wanted = again;
    g_mutex_unlock(&p->lock);
    if (!again)
        p->pending_timer = 0;
    return again ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void arm_timer(void *data)
{
    cap_plugin *p = data;
    if (!p->pending_timer)
        p->pending_timer = p->host->timeout_add(p->host, PENDING_CHECK_MS, pending_check, p);
}

void capture__want_timer_locked(cap_plugin *p)
{
    if (p->timer_wanted || !p->alive)
        return;
    p->timer_wanted = true;
    p->host->invoke(p->host, arm_timer, p, NULL);
}

static void cap_destroy(void *instance);

static void *cap_create(const bmq_host *host, json_object *config, char **error)
{
    cap_plugin *p = g_new0(cap_plugin, 1);
    p->refs = 1;
    p->host = host;
    g_mutex_init(&p->lock);
    capture__state_init(p);
    g_queue_init(&p->ready);
    if (!capture__config_read(config, &p->cfg, error)) {
        capture__unref(p);
        return NULL;
    }
    if (p->cfg.include_images && !p->cfg.redact_body)
        capture__images_init(p);
    p->alive = true;
    if (!capture__monitor_open(p, error)) {
        cap_destroy(p);
        return NULL;
    }
    host->log(host, BMQ_LOG_INFO, "monitoring desktop notifications");
    return p;
}

static void cap_destroy(void *instance)
{
    cap_plugin *p = instance;
    g_mutex_lock(&p->lock);
    p->alive = false;
    g_mutex_unlock(&p->lock);
    capture__monitor_close(p);
    if (p->pending_timer)
        p->host->source_remove(p->host, p->pending_timer);
    /* Nothing is sent any more: what waits is dropped. */
    g_mutex_lock(&p->lock);
    g_queue_clear_full(&p->ready, (GDestroyNotify)capture__event_free);
    g_mutex_unlock(&p->lock);
    capture__unref(p);
}

static json_object *cap_status(void *instance)
{
    cap_plugin *p = instance;
    json_object *s = json_object_new_object();
    json_object_object_add(s, "monitoring", json_object_new_boolean(p->monitoring));
    g_mutex_lock(&p->lock);
    cap_counters n = p->n;
    int waiting = (int)g_queue_get_length(&p->ready);
    int pending = (int)g_queue_get_length(&p->pending_order);
    g_mutex_unlock(&p->lock);
    const struct {
        const char *key;
        guint64 v;
    } rows[] = {
        {"captured", n.captured},
        {"closed", n.closed},
        {"actions", n.actions},
        {"own_skipped", n.own},
        {"ignored", n.ignored},
        {"not_only", n.not_only},
        {"below_urgency", n.below_urgency},
        {"malformed", n.malformed},
        {"truncated", n.truncated},
        {"dropped", n.dropped},
        {"unanswered", n.unanswered},
        {"images", n.images},
        {"image_errors", n.image_errors},
        {"errors", n.errors},
        {"reconnects", n.reconnects},
        {"monitored", n.monitored},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++)
        json_object_object_add(s, rows[i].key, json_object_new_int64((int64_t)rows[i].v));
    json_object_object_add(s, "waiting", json_object_new_int(waiting));
    json_object_object_add(s, "pending", json_object_new_int(pending));
    return s;
}

static const bmq_plugin_descriptor capture_descriptor = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "capture",
    .version = "1.0",
    .description = "other programs' desktop notifications become messages (APP:captured)",
    .create = cap_create,
    .destroy = cap_destroy,
    .status = cap_status,
};

BMQ_PLUGIN_DEFINE(capture_descriptor)
