/* popup_spec.c - one message's kwargs read once into a popup_spec: what
 * the popup, the do-not-disturb path, the receipts and the backlog all
 * use. Lenient on purpose (a notification is better than none): a kwarg
 * of the wrong type, or a string that is not UTF-8 (unusable over D-Bus),
 * counts as absent. */
#include "nplugin.h"

#include <string.h>

/* kwargs that configure the notification and are not rendered in the body. */
static const char *const notify_keys[] = {
    "title",   "body", "icon",  "urgency",   "timeout", "category",   "actions",
    "replace", "app",  "hints", "transient", "receipt", "replace_id", "click", NULL};

/* A string kwarg (transfer full, nullable): absent, not a string, not
 * UTF-8 or (with @nonempty) empty all give NULL. */
static char *kw_string(json_object *kw, const char *key, bool nonempty)
{
    char *s = NULL;
    if (bmq_config_get_string(kw, key, 0, &s, NULL) == 0 && s &&
        (!g_utf8_validate(s, -1, NULL) || (nonempty && !*s)))
        g_clear_pointer(&s, g_free);
    return s;
}

/* A kwarg that is a JSON object (transfer none, nullable). */
static json_object *kw_object(json_object *kw, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(kw, key, &v) && json_object_is_type(v, json_type_object)
               ? v
               : NULL;
}

/* "low" / "normal" / "critical" (any case) or 0 / 1 / 2; anything else is
 * normal. */
static NotifyUrgency urgency_of(json_object *kw)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(kw, "urgency", &v) || !v)
        return NOTIFY_URGENCY_NORMAL;
    if (json_object_is_type(v, json_type_int)) {
        int u = json_object_get_int(v);
        return u <= 0   ? NOTIFY_URGENCY_LOW
               : u >= 2 ? NOTIFY_URGENCY_CRITICAL
                        : NOTIFY_URGENCY_NORMAL;
    }
    const char *s = json_object_get_string(v);
    if (g_ascii_strcasecmp(s, "low") == 0)
        return NOTIFY_URGENCY_LOW;
    if (g_ascii_strcasecmp(s, "critical") == 0)
        return NOTIFY_URGENCY_CRITICAL;
    return NOTIFY_URGENCY_NORMAL;
}

/* kwarg "body" (JSON text when not a string), else the message's data
 * rendered as text and escaped: rendered data is not markup, and some
 * daemons parse markup. D-Bus strings must be UTF-8 and JSON from a peer
 * need not be: repaired rather than let the call fail. */
static char *body_of(const bmq_message *msg, json_object *kw)
{
    json_object *v = NULL;
    if (json_object_object_get_ex(kw, "body", &v) && v)
        return g_utf8_make_valid(json_object_is_type(v, json_type_string)
                                     ? json_object_get_string(v)
                                     : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
                                 -1);
    char *text = bmq_message_render(msg, notify_keys);
    char *valid = g_utf8_make_valid(text, -1);
    char *esc = g_markup_escape_text(valid, -1);
    g_free(text);
    g_free(valid);
    return esc;
}

popup_spec *nplugin__spec_new(const nplugin *p, const bmq_message *msg)
{
    json_object *kw = bmq_message_kwargs(msg), *v = NULL;
    popup_spec *s = g_new0(popup_spec, 1);
    const char *ns = bmq_message_namespace(msg);

    s->msg = bmq_message_ref(msg);
    s->title = kw_string(kw, "title", true);
    if (!s->title)
        s->title = g_utf8_make_valid(bmq_message_id(msg), -1);
    s->body = body_of(msg, kw);
    s->icon = kw_string(kw, "icon", true);
    s->category = kw_string(kw, "category", true);
    s->replace = kw_string(kw, "replace", true);
    s->app = kw_string(kw, "app", true);
    if (!s->app)
        s->app = g_strdup(p->app_name);
    /* Receipts go to whatever the sender named; an unusable name is
     * refused where the receipt is sent. */
    if (json_object_object_get_ex(kw, "receipt", &v) && json_object_is_type(v, json_type_string))
        s->receipt = g_strdup(json_object_get_string(v));
    s->sender = ns && *ns ? g_strdup_printf("%s@%s", bmq_message_name(msg), ns)
                          : g_strdup(bmq_message_name(msg));
    s->urgency = urgency_of(kw);
    s->timeout = p->default_timeout;
    if (json_object_object_get_ex(kw, "timeout", &v) && v &&
        (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
        s->timeout = json_object_get_int(v);
    /* notify-send -r: the daemon's id of the notification to replace. */
    if (json_object_object_get_ex(kw, "replace_id", &v) && json_object_is_type(v, json_type_int) &&
        json_object_get_int64(v) > 0 && json_object_get_int64(v) <= G_MAXINT32)
        s->replace_id = (gint)json_object_get_int64(v);
    s->transient =
        json_object_object_get_ex(kw, "transient", &v) && v && json_object_get_boolean(v);
    s->actions = kw_object(kw, "actions");
    /* ntfy's form (a publish through the ntfy API): an array of
     * {"action": "view"|"http"|"broadcast", "label", "url", ...}. */
    if (json_object_object_get_ex(kw, "actions", &v) && json_object_is_type(v, json_type_array))
        s->ntfy_actions = v;
    s->click = kw_string(kw, "click", true);
    s->hints = kw_object(kw, "hints");
    return s;
}

void nplugin__spec_free(gpointer data)
{
    popup_spec *s = data;
    if (!s)
        return;
    bmq_message_unref(s->msg);
    g_free(s->title);
    g_free(s->body);
    g_free(s->icon);
    g_free(s->category);
    g_free(s->replace);
    g_free(s->app);
    g_free(s->receipt);
    g_free(s->sender);
    g_free(s->click);
    g_free(s);
}
