/* ntfy_render.c - any berryMQ message as ntfy's message JSON, SSE event or
 * raw line. A message published through the ntfy API comes back as it was
 * sent; any other message named TOPIC is read the way the notify plugin
 * reads it: message = kwargs.body (or the args joined), title = kwargs.title.
 */
#include <string.h>

#include <berrymq/json.h>

#include "ntfy.h"

void ntfy__random_id(char out[13])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < 12; i++)
        out[i] = alphabet[g_random_int_range(0, (gint32)sizeof alphabet - 1)];
    out[12] = '\0';
}

const char *ntfy__message_id(const bmq_message *m, char buf[NTFY_ID_MAX])
{
    uint64_t seq = bmq_message_seq(m);
    if (!seq)
        return bmq_message_uid(m);
    g_snprintf(buf, NTFY_ID_MAX, "s%011" G_GUINT64_FORMAT, seq);
    return buf;
}

static const char *kw_str(json_object *kw, const char *key)
{
    json_object *v;
    if (!kw || !json_object_object_get_ex(kw, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int priority_of(json_object *kw)
{
    json_object *v;
    if (json_object_object_get_ex(kw, "priority", &v)) {
        if (json_object_is_type(v, json_type_int)) {
            int p = json_object_get_int(v);
            if (p >= 1 && p <= 5)
                return p;
        } else if (json_object_is_type(v, json_type_string)) {
            int p = ntfy__priority_parse(json_object_get_string(v));
            if (p > 0)
                return p;
        }
    }
    if (json_object_object_get_ex(kw, "urgency", &v)) {
        /* notify's urgency: low/normal/critical or 0/1/2 */
        if (json_object_is_type(v, json_type_int))
            return json_object_get_int(v) == 0 ? 2 : json_object_get_int(v) == 2 ? 5 : 3;
        const char *u = json_object_get_string(v);
        if (u && !g_ascii_strcasecmp(u, "low"))
            return 2;
        if (u && !g_ascii_strcasecmp(u, "critical"))
            return 5;
    }
    return 3;
}

/* A message's own JSON text, read with bmq_json_parse: integers beyond 64
 * bits keep their digits (json-c's reader would clamp 2^70 to 2^64-1).
 * (transfer full) NULL when @text is NULL or not JSON. */
static json_object *parse_message_json(const char *text)
{
    json_object *o = NULL;
    if (text && bmq_json_parse(text, strlen(text), 0, &o, NULL) != 0)
        o = NULL;
    return o;
}

static char *args_text(const bmq_message *m)
{
    json_object *args = parse_message_json(bmq_message_args_json(m));
    GString *s = g_string_new(NULL);
    for (size_t i = 0; args && i < json_object_array_length(args); i++) {
        json_object *a = json_object_array_get_idx(args, i);
        if (i)
            g_string_append_c(s, ' ');
        if (json_object_is_type(a, json_type_string))
            g_string_append(s, json_object_get_string(a));
        else
            g_string_append(s, json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
    }
    json_object_put(args);
    return g_string_free(s, FALSE);
}

void ntfy__view_init(ntfy_view *v, const bmq_message *m, gint64 time)
{
    memset(v, 0, sizeof *v);
    v->id = ntfy__message_id(m, v->id_buf);
    v->topic = bmq_message_name(m);
    v->time = time;
    v->kwargs = parse_message_json(bmq_message_kwargs_json(m));
    if (!json_object_is_type(v->kwargs, json_type_object)) {
        json_object_put(v->kwargs);
        v->kwargs = json_object_new_object();
    }
    const char *body = kw_str(v->kwargs, "body");
    if (!body)
        body = kw_str(v->kwargs, "message");
    v->message = body ? g_strdup(body) : args_text(m);
    if (!*v->message) {
        g_free(v->message);
        v->message = g_strdup(bmq_message_id(m));
    }
    const char *title = kw_str(v->kwargs, "title");
    if (!title)
        title = kw_str(v->kwargs, "summary");
    v->title = title && *title ? g_strdup(title) : NULL;
    v->priority = priority_of(v->kwargs);
    json_object *t;
    if (json_object_object_get_ex(v->kwargs, "tags", &t)) {
        if (json_object_is_type(t, json_type_array)) {
            v->tags = t;
        } else if (json_object_is_type(t, json_type_string)) {
            /* "a,b" -> ["a","b"], kept in the private kwargs copy */
            json_object *a = json_object_new_array();
            char **parts = g_strsplit(json_object_get_string(t), ",", -1);
            for (char **p = parts; *p; p++)
                if (*g_strstrip(*p))
                    json_object_array_add(a, json_object_new_string(*p));
            g_strfreev(parts);
            json_object_object_add(v->kwargs, "tags", a);
            v->tags = a;
        }
    }
}

void ntfy__view_clear(ntfy_view *v)
{
    g_free(v->message);
    g_free(v->title);
    json_object_put(v->kwargs);
    memset(v, 0, sizeof *v);
}

json_object *ntfy__view_json(const ntfy_view *v, gint64 expires)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(v->id));
    json_object_object_add(o, "time", json_object_new_int64(v->time));
    if (expires)
        json_object_object_add(o, "expires", json_object_new_int64(expires));
    json_object_object_add(o, "event", json_object_new_string("message"));
    json_object_object_add(o, "topic", json_object_new_string(v->topic));
    if (v->title)
        json_object_object_add(o, "title", json_object_new_string(v->title));
    json_object_object_add(o, "message", json_object_new_string(v->message));
    if (v->priority != 3)
        json_object_object_add(o, "priority", json_object_new_int(v->priority));
    if (v->tags && json_object_array_length(v->tags)) {
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(v->tags); i++) {
            json_object *t = json_object_array_get_idx(v->tags, i);
            if (json_object_is_type(t, json_type_string))
                json_object_array_add(a, json_object_new_string(json_object_get_string(t)));
        }
        json_object_object_add(o, "tags", a);
    }
    const char *s;
    if ((s = kw_str(v->kwargs, "click")))
        json_object_object_add(o, "click", json_object_new_string(s));
    /* ntfy's icon is a URL; a desktop icon name means nothing to its clients. */
    if ((s = kw_str(v->kwargs, "icon")) &&
        (g_str_has_prefix(s, "https://") || g_str_has_prefix(s, "http://")))
        json_object_object_add(o, "icon", json_object_new_string(s));
    json_object *a;
    if (json_object_object_get_ex(v->kwargs, "actions", &a) &&
        json_object_is_type(a, json_type_array) && json_object_array_length(a)) {
        json_object *copy = NULL;
        json_object_deep_copy(a, &copy, NULL);
        json_object_object_add(o, "actions", copy);
    }
    json_object *md;
    if (json_object_object_get_ex(v->kwargs, "markdown", &md) && json_object_get_boolean(md))
        json_object_object_add(o, "content_type", json_object_new_string("text/markdown"));
    return o;
}

static const char *plain(json_object *o)
{
    return json_object_to_json_string_ext(o,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

void ntfy__render_message(GString *out, ntfy_fmt fmt, const ntfy_view *v, gint64 expires)
{
    if (fmt == NTFY_FMT_RAW) {
        for (const char *p = v->message; *p; p++)
            g_string_append_c(out, *p == '\n' || *p == '\r' ? ' ' : *p);
        g_string_append_c(out, '\n');
        return;
    }
    json_object *o = ntfy__view_json(v, expires);
    if (fmt == NTFY_FMT_SSE)
        g_string_append_printf(out, "id: %s\ndata: %s\n\n", v->id, plain(o));
    else
        g_string_append_printf(out, "%s\n", plain(o));
    json_object_put(o);
}

void ntfy__render_event(GString *out, ntfy_fmt fmt, const char *event, const char *topics)
{
    if (fmt == NTFY_FMT_RAW) {
        g_string_append_c(out, '\n');
        return;
    }
    char id[13];
    ntfy__random_id(id);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "time", json_object_new_int64(g_get_real_time() / G_USEC_PER_SEC));
    json_object_object_add(o, "event", json_object_new_string(event));
    json_object_object_add(o, "topic", json_object_new_string(topics));
    if (fmt == NTFY_FMT_SSE)
        g_string_append_printf(out, "event: %s\ndata: %s\n\n", event, plain(o));
    else
        g_string_append_printf(out, "%s\n", plain(o));
    json_object_put(o);
}
