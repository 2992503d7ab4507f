/* wh_format.c - the request one message becomes, per format:
 *   ntfy      body = the text; Title, Priority, Tags, Click, Icon, Actions
 *             headers from kwargs; the topic is the URL's path
 *   gotify    {"title","message","priority"} to URL/message
 *   json      {"id","name","action","args","kwargs","time","hub"}
 *   slack     {"text": ...}: Slack, Mattermost, Discord's /slack endpoint,
 *             Matrix hookshot
 *   template  the configured template and content_type
 * Header values are UTF-8 with control characters (CR, LF...) replaced by
 * spaces, so no message can add a header or end the header block.
 */
#include <string.h>

#include "webhook.h"

static char *clean_value(const char *v)
{
    char *c = g_strdup(v);
    for (char *p = c; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return g_strstrip(c);
}

static void add_header(GPtrArray *h, const char *name, const char *value)
{
    char *v = clean_value(value);
    if (*v)
        g_ptr_array_add(h, g_strdup_printf("%s: %s", name, v));
    g_free(v);
}

static bool header_is(const char *line, const char *name, size_t n)
{
    return g_ascii_strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* Configured headers replace format headers of the same name. */
static void merge_config_headers(GPtrArray *h, char **conf)
{
    for (char **c = conf; c && *c; c++) {
        size_t n = strcspn(*c, ":");
        for (guint i = h->len; i-- > 0;)
            if (header_is(h->pdata[i], *c, n))
                g_ptr_array_remove_index(h, i);
        g_ptr_array_add(h, g_strdup(*c));
    }
}

static char *json_body(json_object *o, size_t *len)
{
    size_t n = 0;
    const char *t = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    *len = n;
    return g_strndup(t, n);
}

/* kwargs.tags: "a,b" or ["a","b"]. */
static char *ntfy_tags(const wh_fields *f)
{
    json_object *v;
    if (!json_object_object_get_ex(f->kwargs, "tags", &v))
        return NULL;
    if (json_object_is_type(v, json_type_string))
        return g_strdup(json_object_get_string(v));
    if (!json_object_is_type(v, json_type_array))
        return NULL;
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *t = json_object_array_get_idx(v, i);
        if (!json_object_is_type(t, json_type_string))
            continue;
        if (s->len)
            g_string_append_c(s, ',');
        g_string_append(s, json_object_get_string(t));
    }
    return g_string_free(s, s->len == 0);
}

/* kwargs.actions: ntfy's short form (a string) or its JSON form (an array
 * of objects with "action"); desktop notification actions (no URL) have no
 * ntfy equivalent and are left out. */
static char *ntfy_actions(const wh_fields *f)
{
    json_object *v;
    if (!json_object_object_get_ex(f->kwargs, "actions", &v))
        return NULL;
    if (json_object_is_type(v, json_type_string))
        return g_strdup(json_object_get_string(v));
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
        return NULL;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *a = json_object_array_get_idx(v, i), *kind;
        if (!json_object_object_get_ex(a, "action", &kind))
            return NULL;
    }
    return wh__json_text(v);
}

static void ntfy(wh_request *r, const wh_fields *f)
{
    add_header(r->headers, "Content-Type", "text/plain; charset=utf-8");
    /* A message with a title only is sent as its text: ntfy would
     * otherwise show "triggered". */
    bool has_body = f->body && *f->body;
    if (has_body)
        add_header(r->headers, "Title", f->title);
    if (f->level) {
        char p[4];
        g_snprintf(p, sizeof p, "%d", f->level);
        add_header(r->headers, "Priority", p);
    }
    char *tags = ntfy_tags(f), *actions = ntfy_actions(f);
    if (tags)
        add_header(r->headers, "Tags", tags);
    const char *click = wh__fields_kwarg(f, "click");
    if (click)
        add_header(r->headers, "Click", click);
    const char *icon = wh__fields_kwarg(f, "icon");
    /* A desktop icon name means nothing to a phone; a URL does. */
    if (icon && (g_str_has_prefix(icon, "https://") || g_str_has_prefix(icon, "http://")))
        add_header(r->headers, "Icon", icon);
    if (actions)
        add_header(r->headers, "Actions", actions);
    g_free(tags);
    g_free(actions);
    r->body = g_strdup(has_body ? f->body : f->title);
    r->len = strlen(r->body);
}

/* Gotify's 0..10: 8 and above alert on the phone, 1..3 are quiet. */
static int gotify_priority(int level)
{
    static const int map[] = {5, 1, 3, 5, 7, 8};
    return map[level >= 0 && level <= 5 ? level : 0];
}

static void gotify(wh_request *r, const wh_fields *f)
{
    add_header(r->headers, "Content-Type", "application/json");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "title", json_object_new_string(f->title));
    json_object_object_add(o, "message",
                           json_object_new_string(f->body && *f->body ? f->body : f->title));
    json_object_object_add(o, "priority", json_object_new_int(gotify_priority(f->level)));
    const char *click = wh__fields_kwarg(f, "click");
    if (click) {
        json_object *url = json_object_new_object(), *n = json_object_new_object();
        json_object *extras = json_object_new_object();
        json_object_object_add(url, "url", json_object_new_string(click));
        json_object_object_add(n, "click", url);
        json_object_object_add(extras, "client::notification", n);
        json_object_object_add(o, "extras", extras);
    }
    r->body = json_body(o, &r->len);
    json_object_put(o);
}

static void json_format(wh_request *r, const wh_fields *f)
{
    add_header(r->headers, "Content-Type", "application/json");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(f->id));
    json_object_object_add(o, "name", json_object_new_string(f->name));
    json_object_object_add(o, "action", json_object_new_string(f->action));
    json_object_object_add(o, "args", json_object_get(f->args));
    json_object_object_add(o, "kwargs", json_object_get(f->kwargs));
    char t[32];
    g_snprintf(t, sizeof t, "%.3f", f->time);
    json_object_object_add(o, "time", json_object_new_double_s(f->time, t));
    json_object_object_add(o, "hub", json_object_new_string(f->hub));
    r->body = json_body(o, &r->len);
    json_object_put(o);
}

static void slack(wh_request *r, const wh_fields *f)
{
    add_header(r->headers, "Content-Type", "application/json");
    char *text =
        f->body && *f->body ? g_strconcat(f->title, "\n", f->body, NULL) : g_strdup(f->title);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "text", json_object_new_string(text));
    r->body = json_body(o, &r->len);
    json_object_put(o);
    g_free(text);
}

static void templated(wh_request *r, const wh_fields *f, const wh_config *c)
{
    add_header(r->headers, "Content-Type", c->content_type);
    r->body = wh__template_render(c->tmpl, f, c->json_body);
    r->len = strlen(r->body);
}

wh_request *wh__request_new(const wh_config *c, const bmq_message *m, double time)
{
    wh_request *r = g_new0(wh_request, 1);
    r->url = g_strdup(c->target);
    r->headers = g_ptr_array_new_with_free_func(g_free);
    wh_fields f;
    wh__fields_init(&f, m, time, c->hub);
    switch (c->format) {
    case WH_FORMAT_NTFY:
        ntfy(r, &f);
        break;
    case WH_FORMAT_GOTIFY:
        gotify(r, &f);
        break;
    case WH_FORMAT_JSON:
        json_format(r, &f);
        break;
    case WH_FORMAT_SLACK:
        slack(r, &f);
        break;
    case WH_FORMAT_TEMPLATE:
        templated(r, &f, c);
        break;
    }
    wh__fields_clear(&f);
    merge_config_headers(r->headers, c->headers);
    return r;
}

void wh__request_free(wh_request *r)
{
    if (!r)
        return;
    g_free(r->url);
    g_ptr_array_free(r->headers, TRUE);
    g_free(r->body);
    g_free(r);
}
