/* popup.c - one popup_spec becomes one libnotify notification: summary,
 * body, icon, hints and actions, "replace" keys updated in place, and the
 * daemon's answers (action clicks, closing) sent back as messages. */
#include "nplugin.h"

#include <string.h>

/* Live notifications beyond this are forgotten (left on screen, no longer
 * reporting clicks) so a daemon that never closes cannot grow us forever. */
#define LIVE_MAX 256

typedef struct popup {
    nplugin *p;
    char *sender;  /* "name" or "name@ns": prefix of the messages sent back */
    char *key;     /* (nullable) replace key */
    char *receipt; /* (nullable) where the sender wants to hear back */
    char *click;   /* (nullable) ntfy's click URI: opened by "default" */
    json_object *ntfy_actions; /* (owned ref, nullable) ntfy's actions: key "ntfy-N" is the Nth */
} popup;

static void popup_free(gpointer data)
{
    popup *pp = data;
    g_free(pp->sender);
    g_free(pp->key);
    g_free(pp->receipt);
    g_free(pp->click);
    json_object_put(pp->ntfy_actions);
    g_free(pp);
}

/* The ntfy parts of @s into @pp (a fresh popup or one updated in place). */
static void popup_set_ntfy(popup *pp, const popup_spec *s)
{
    g_free(pp->click);
    pp->click = g_strdup(s->click);
    json_object_put(pp->ntfy_actions);
    pp->ntfy_actions = json_object_get(s->ntfy_actions);
}

/* Do what ntfy's action @key ("ntfy-N") or the click says, after the
 * message about the click went out. */
static void ntfy_click(popup *pp, NotifyNotification *n, const char *key)
{
    if (strcmp(key, "default") == 0 && pp->click) {
        nplugin__ntfy_open(pp->p, pp->click);
        return;
    }
    if (!pp->ntfy_actions || !g_str_has_prefix(key, "ntfy-"))
        return;
    guint64 i = 0;
    if (!g_ascii_string_to_unsigned(key + 5, 10, 0, G_MAXUINT32, &i, NULL))
        return;
    json_object *a = json_object_array_get_idx(pp->ntfy_actions, (size_t)i), *v = NULL;
    if (!a || !json_object_object_get_ex(a, "action", &v) ||
        !json_object_is_type(v, json_type_string))
        return;
    const char *kind = json_object_get_string(v);
    if (strcmp(kind, "view") == 0) {
        json_object *url = NULL;
        json_object_object_get_ex(a, "url", &url);
        nplugin__ntfy_open(pp->p, json_object_is_type(url, json_type_string)
                                      ? json_object_get_string(url)
                                      : NULL);
    } else if (strcmp(kind, "http") == 0) {
        nplugin__ntfy_http(pp->p, a);
    }
    /* "clear": true dismisses the notification once the action ran. */
    if (json_object_object_get_ex(a, "clear", &v) && json_object_get_boolean(v))
        notify_notification_close(n, NULL);
}

static void send_back(popup *pp, const char *action, json_object *kwargs)
{
    char *id = g_strdup_printf("%s:%s", pp->sender, action);
    if (bmq_id_validate(id) == 0)
        pp->p->host->twitter(pp->p->host, id, NULL, kwargs);
    else
        json_object_put(kwargs);
    g_free(id);
}

static void action_cb(NotifyNotification *n, char *action, gpointer user_data)
{
    popup *pp = g_object_get_data(G_OBJECT(n), "bmq-popup");
    if (!pp)
        return;
    char *act = g_strdup_printf("action-%s", action);
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "key", json_object_new_string(action));
    if (pp->key)
        json_object_object_add(kw, "replace", json_object_new_string(pp->key));
    nplugin__receipt(pp->p, pp->receipt, "action", json_object_get(kw));
    send_back(pp, act, kw);
    g_free(act);
    ntfy_click(pp, n, action);
}

static const char *reason_text(int reason)
{
    switch (reason) {
    case 1:
        return "expired";
    case 2:
        return "dismissed";
    case 3:
        return "closed";
    default:
        return "undefined";
    }
}

static void forget(nplugin *p, NotifyNotification *n)
{
    popup *pp = g_object_get_data(G_OBJECT(n), "bmq-popup");
    if (pp && pp->key && g_hash_table_lookup(p->by_key, pp->key) == n)
        g_hash_table_remove(p->by_key, pp->key);
    g_signal_handlers_disconnect_by_data(n, p);
    notify_notification_clear_actions(n);
    g_object_set_data(G_OBJECT(n), "bmq-popup", NULL);
    g_object_unref(n);
}

static void closed_cb(NotifyNotification *n, gpointer user_data)
{
    nplugin *p = user_data;
    popup *pp = g_object_get_data(G_OBJECT(n), "bmq-popup");
    if (!pp)
        return;
    int reason = notify_notification_get_closed_reason(n);
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "reason", json_object_new_int(reason));
    json_object_object_add(kw, "reason_text", json_object_new_string(reason_text(reason)));
    if (pp->key)
        json_object_object_add(kw, "replace", json_object_new_string(pp->key));
    nplugin__receipt(p, pp->receipt, "closed", json_object_get(kw));
    send_back(pp, "closed", kw);
    if (g_queue_remove(&p->live, n))
        forget(p, n);
}

void nplugin__drop_live(nplugin *p)
{
    NotifyNotification *n;
    while ((n = g_queue_pop_head(&p->live))) {
        /* A sender waiting for the close (berrymq notify -w) is told now:
         * no daemon will report it any more. */
        popup *pp = g_object_get_data(G_OBJECT(n), "bmq-popup");
        if (pp && pp->receipt) {
            json_object *kw = json_object_new_object();
            json_object_object_add(kw, "reason", json_object_new_int(0));
            json_object_object_add(kw, "reason_text", json_object_new_string("forgotten"));
            nplugin__receipt(p, pp->receipt, "closed", kw);
        }
        forget(p, n);
    }
    g_hash_table_remove_all(p->by_key);
}

static void add_actions(nplugin *p, NotifyNotification *n, const popup_spec *s)
{
    if (!s->actions)
        return;
    json_object_object_foreach(s->actions, key, label)
    {
        char *id = g_strdup_printf("%s:action-%s", s->sender, key);
        if (bmq_id_validate(id) != 0 || !g_utf8_validate(key, -1, NULL)) {
            p->host->log(p->host, BMQ_LOG_WARNING,
                         "action key \"%s\" is not usable in an "
                         "identifier; skipped",
                         key);
        } else {
            const char *l = label && json_object_is_type(label, json_type_string) &&
                                    g_utf8_validate(json_object_get_string(label), -1, NULL)
                                ? json_object_get_string(label)
                                : key;
            notify_notification_add_action(n, key, l, action_cb, NULL, NULL);
        }
        g_free(id);
    }
}

/* ntfy's actions become buttons "ntfy-0", "ntfy-1"... with their labels;
 * its click URI the default action (a click on the notification). */
static void add_ntfy_actions(NotifyNotification *n, const popup_spec *s)
{
    size_t len = s->ntfy_actions ? json_object_array_length(s->ntfy_actions) : 0;
    for (size_t i = 0; i < len; i++) {
        json_object *a = json_object_array_get_idx(s->ntfy_actions, i), *label = NULL;
        if (!json_object_is_type(a, json_type_object) ||
            !json_object_object_get_ex(a, "label", &label) ||
            !json_object_is_type(label, json_type_string) ||
            !g_utf8_validate(json_object_get_string(label), -1, NULL))
            continue;
        char key[32];
        g_snprintf(key, sizeof key, "ntfy-%zu", i);
        notify_notification_add_action(n, key, json_object_get_string(label), action_cb, NULL,
                                       NULL);
    }
    json_object *v = NULL;
    if (s->click && !(s->actions && json_object_object_get_ex(s->actions, "default", &v)))
        notify_notification_add_action(n, "default", "Open", action_cb, NULL, NULL);
}

/* Marks a notification as this hub's: the capture plugin skips those, so a
 * message shown here never comes back as a captured one. */
static void mark_own(NotifyNotification *n, const char *uid)
{
    notify_notification_set_hint(n, "x-berrymq-uid", g_variant_new_string(uid));
}

static void apply(NotifyNotification *n, const popup_spec *s)
{
    notify_notification_set_app_name(n, s->app);
    notify_notification_set_urgency(n, s->urgency);
    notify_notification_set_timeout(n, s->timeout);
    if (s->category)
        notify_notification_set_category(n, s->category);

    /* notify-send style extra hints ({"name": value}); urgency and category
     * have their own kwargs and keep their D-Bus types. */
    if (s->hints) {
        json_object_object_foreach(s->hints, name, hv)
        {
            GVariant *gv = NULL;
            if (!hv || !strcmp(name, "urgency") || !strcmp(name, "category") ||
                !g_utf8_validate(name, -1, NULL))
                continue;
            switch (json_object_get_type(hv)) {
            case json_type_boolean:
                gv = g_variant_new_boolean(json_object_get_boolean(hv));
                break;
            case json_type_int:
                gv = g_variant_new_int32(json_object_get_int(hv));
                break;
            case json_type_double:
                gv = g_variant_new_double(json_object_get_double(hv));
                break;
            case json_type_string:
                if (g_utf8_validate(json_object_get_string(hv), -1, NULL))
                    gv = g_variant_new_string(json_object_get_string(hv));
                break;
            default:
                break;
            }
            if (gv)
                notify_notification_set_hint(n, name, gv);
        }
    }
    if (s->transient)
        notify_notification_set_hint(n, "transient", g_variant_new_boolean(TRUE));
    mark_own(n, bmq_message_uid(s->msg));
}

/* The receipt a popup reports to: a name that is not UTF-8 cannot be one. */
static char *popup_receipt(const popup_spec *s)
{
    return s->receipt && g_utf8_validate(s->receipt, -1, NULL) ? g_strdup(s->receipt) : NULL;
}

int nplugin__show(nplugin *p, const popup_spec *s)
{
    NotifyNotification *n = s->replace ? g_hash_table_lookup(p->by_key, s->replace) : NULL;
    bool fresh = n == NULL;
    GError *err = NULL;

    if (fresh) {
        n = notify_notification_new(s->title, s->body, s->icon);
        popup *pp = g_new0(popup, 1);
        pp->p = p;
        pp->sender = g_strdup(s->sender);
        pp->key = g_strdup(s->replace);
        pp->receipt = popup_receipt(s);
        popup_set_ntfy(pp, s);
        g_object_set_data_full(G_OBJECT(n), "bmq-popup", pp, popup_free);
        g_signal_connect(n, "closed", G_CALLBACK(closed_cb), p);
        /* notify-send -r: replace the daemon's notification with this id
         * (libnotify sends the id it holds as replaces_id). */
        if (s->replace_id)
            g_object_set(n, "id", s->replace_id, NULL);
    } else {
        /* The latest sender of an updated notification hears about it. */
        popup *pp = g_object_get_data(G_OBJECT(n), "bmq-popup");
        char *receipt = popup_receipt(s);
        if (pp && receipt) {
            g_free(pp->receipt);
            pp->receipt = g_steal_pointer(&receipt);
        }
        g_free(receipt);
        if (pp)
            popup_set_ntfy(pp, s);
        /* Same daemon id: libnotify passes it as replaces_id. */
        notify_notification_update(n, s->title, s->body, s->icon);
        notify_notification_clear_hints(n);
        notify_notification_clear_actions(n);
    }
    apply(n, s);
    add_actions(p, n, s);
    add_ntfy_actions(n, s);

    int rc = 0;
    if (!notify_notification_show(n, &err)) {
        /* Transport failures (no bus, no owner, daemon gone mid-call) mean
         * "try again when a daemon appears"; a D-Bus error from a daemon
         * that answered means it refused this notification. */
        bool no_daemon =
            !err || err->domain != G_DBUS_ERROR || err->code == G_DBUS_ERROR_SERVICE_UNKNOWN ||
            err->code == G_DBUS_ERROR_NAME_HAS_NO_OWNER || err->code == G_DBUS_ERROR_NO_REPLY ||
            err->code == G_DBUS_ERROR_DISCONNECTED || err->code == G_DBUS_ERROR_TIMEOUT ||
            err->code == G_DBUS_ERROR_TIMED_OUT;
        if (!no_daemon)
            p->host->log(p->host, BMQ_LOG_WARNING, "notification \"%s\" refused: %s", s->title,
                         err ? err->message : "unknown error");
        rc = no_daemon ? -BMQ_ENET : -BMQ_EFAILED;
        g_clear_error(&err);
        if (fresh) {
            g_signal_handlers_disconnect_by_data(n, p);
            g_object_unref(n);
        } else {
            g_queue_remove(&p->live, n);
            forget(p, n);
        }
    } else {
        gint daemon_id = 0;
        g_object_get(n, "id", &daemon_id, NULL);
        json_object *kw = json_object_new_object();
        json_object_object_add(kw, "id", json_object_new_int(daemon_id));
        nplugin__receipt(p, s->receipt, "shown", kw);
        if (fresh) {
            g_queue_push_tail(&p->live, n);
            if (s->replace)
                g_hash_table_replace(p->by_key, g_strdup(s->replace), n);
            if (g_queue_get_length(&p->live) > LIVE_MAX)
                forget(p, g_queue_pop_head(&p->live));
        }
    }
    return rc;
}

int nplugin__show_summary(nplugin *p, NotifyNotification **slot, const char *summary,
                          const char *body)
{
    GError *err = NULL;
    if (!*slot) {
        *slot = notify_notification_new(summary, body, NULL);
    } else {
        notify_notification_update(*slot, summary, body, NULL);
    }
    notify_notification_set_app_name(*slot, p->app_name);
    notify_notification_set_category(*slot, "berrymq.summary");
    mark_own(*slot, "summary");
    if (!notify_notification_show(*slot, &err)) {
        g_clear_error(&err);
        g_clear_object(slot);
        return -BMQ_ENET;
    }
    return 0;
}
