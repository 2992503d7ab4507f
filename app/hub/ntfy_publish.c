/* ntfy_publish.c - an ntfy publish (headers, query string or JSON) becomes
 * the berryMQ message TOPIC:notify with kwargs title, body, urgency,
 * priority, tags, click, icon, actions (and markdown when asked).
 */
#include <string.h>

#include "ntfy.h"

/* Messages published here carry one of these as their origin: the rest of
 * the hub then treats them as coming from outside (as a link's), and the
 * store leaves out those sent with "Cache: no". */
const char ntfy__origin_cached = 'c';
const char ntfy__origin_nocache = 'n';

void ntfy__pub_clear(ntfy_pub *p)
{
    g_free(p->topic);
    g_free(p->message);
    g_free(p->title);
    json_object_put(p->tags);
    g_free(p->click);
    g_free(p->icon);
    json_object_put(p->actions);
    memset(p, 0, sizeof *p);
}

int ntfy__priority_parse(const char *s)
{
    static const struct {
        const char *name;
        int level;
    } names[] = {{"1", 1}, {"min", 1},  {"2", 2}, {"low", 2}, {"3", 3},     {"default", 3},
                 {"4", 4}, {"high", 4}, {"5", 5}, {"max", 5}, {"urgent", 5}};
    if (!s)
        return 0;
    while (g_ascii_isspace(*s))
        s++;
    if (!*s)
        return 0;
    char *t = g_strstrip(g_strdup(s));
    int level = -1;
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        if (!g_ascii_strcasecmp(t, names[i].name))
            level = names[i].level;
    g_free(t);
    return level;
}

static json_object *split_tags(const char *s)
{
    json_object *a = json_object_new_array();
    char **parts = g_strsplit(s, ",", -1);
    for (char **q = parts; *q; q++) {
        g_strstrip(*q);
        if (**q)
            json_object_array_add(a, json_object_new_string(*q));
    }
    g_strfreev(parts);
    if (json_object_array_length(a) == 0) {
        json_object_put(a);
        return NULL;
    }
    return a;
}

static bool action_valid(json_object *a, char **why)
{
    json_object *v;
    if (!json_object_is_type(a, json_type_object)) {
        *why = g_strdup("invalid actions: each action must be an object");
        return false;
    }
    const char *kind = json_object_object_get_ex(a, "action", &v) ? json_object_get_string(v) : "";
    if (strcmp(kind, "view") && strcmp(kind, "http") && strcmp(kind, "broadcast")) {
        *why = g_strdup_printf("invalid actions: action '%s' is not view, http or broadcast", kind);
        return false;
    }
    if (!json_object_object_get_ex(a, "label", &v) || !*json_object_get_string(v)) {
        *why = g_strdup("invalid actions: every action needs a label");
        return false;
    }
    if (strcmp(kind, "broadcast") &&
        (!json_object_object_get_ex(a, "url", &v) || !*json_object_get_string(v))) {
        *why = g_strdup_printf("invalid actions: a %s action needs a url", kind);
        return false;
    }
    return true;
}

static bool actions_valid(json_object *arr, char **why)
{
    if (!json_object_is_type(arr, json_type_array)) {
        *why = g_strdup("invalid actions: expected an array");
        return false;
    }
    if (json_object_array_length(arr) > 3) {
        *why = g_strdup("invalid actions: at most 3 actions");
        return false;
    }
    for (size_t i = 0; i < json_object_array_length(arr); i++)
        if (!action_valid(json_object_array_get_idx(arr, i), why))
            return false;
    return true;
}

/* One field of the short form: up to the next unquoted @sep. */
static char *next_field(const char **pp, char sep, bool keep_quotes)
{
    const char *p = *pp;
    while (*p == ' ' || *p == '\t')
        p++;
    GString *f = g_string_new(NULL);
    char quote = 0;
    for (; *p; p++) {
        if (quote) {
            bool end = *p == quote;
            if (end)
                quote = 0;
            if (!end || keep_quotes)
                g_string_append_c(f, *p);
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            if (keep_quotes)
                g_string_append_c(f, *p);
        } else if (*p == sep) {
            p++;
            break;
        } else {
            g_string_append_c(f, *p);
        }
    }
    *pp = p;
    while (f->len && (f->str[f->len - 1] == ' ' || f->str[f->len - 1] == '\t'))
        g_string_truncate(f, f->len - 1);
    return g_string_free(f, FALSE);
}

static bool is_key(const char *f, const char *eq)
{
    static const char *const keys[] = {"action", "label", "url",    "clear",
                                       "method", "body",  "intent", NULL};
    size_t k = (size_t)(eq - f);
    if (g_str_has_prefix(f, "headers.") || g_str_has_prefix(f, "extras."))
        return k > 8;
    for (size_t i = 0; keys[i]; i++)
        if (strlen(keys[i]) == k && !strncmp(f, keys[i], k))
            return true;
    return false;
}

/* ntfy's short form: "view, Open, https://x, clear=true; http, Stop, https://y, method=PUT,
 * body=..., headers.Auth=...". Fields: action, label, url, then key=value. */
static json_object *actions_short(const char *s)
{
    json_object *arr = json_object_new_array();
    const char *p = s;
    while (*p) {
        char *one = next_field(&p, ';', true);
        if (!*one) {
            g_free(one);
            continue;
        }
        json_object *a = json_object_new_object();
        const char *q = one;
        static const char *const positional[] = {"action", "label", "url"};
        for (int i = 0; *q;) {
            char *f = next_field(&q, ',', false);
            char *eq = strchr(f, '=');
            if (!(eq && is_key(f, eq))) {
                if (i < 3)
                    json_object_object_add(a, positional[i++], json_object_new_string(f));
            } else {
                *eq = '\0';
                g_strstrip(f);
                const char *val = eq + 1;
                if (g_str_has_prefix(f, "headers.") || g_str_has_prefix(f, "extras.")) {
                    char *dot = strchr(f, '.');
                    *dot = '\0';
                    json_object *sub;
                    if (!json_object_object_get_ex(a, f, &sub)) {
                        sub = json_object_new_object();
                        json_object_object_add(a, f, sub);
                    }
                    json_object_object_add(sub, dot + 1, json_object_new_string(val));
                } else if (!strcmp(f, "clear")) {
                    json_object_object_add(a, f, json_object_new_boolean(!strcmp(val, "true")));
                } else {
                    json_object_object_add(a, f, json_object_new_string(val));
                }
            }
            g_free(f);
        }
        json_object_array_add(arr, a);
        g_free(one);
    }
    return arr;
}

static int set_actions(ntfy_pub *p, const char *s, char **why)
{
    while (g_ascii_isspace(*s))
        s++;
    if (!*s)
        return 0;
    json_object *arr = NULL;
    if (*s == '[') {
        arr = json_tokener_parse(s);
        if (!arr) {
            *why = g_strdup("invalid actions: not valid JSON");
            return NTFY_E_ACTIONS;
        }
    } else {
        arr = actions_short(s);
    }
    if (!actions_valid(arr, why)) {
        json_object_put(arr);
        return NTFY_E_ACTIONS;
    }
    p->actions = arr;
    return 0;
}

static bool truthy(const char *s)
{
    return s && (!g_ascii_strcasecmp(s, "1") || !g_ascii_strcasecmp(s, "yes") ||
                 !g_ascii_strcasecmp(s, "true"));
}

static int check_message(ntfy *n, const char *msg, size_t len, char **why)
{
    if (len > n->cfg.message_limit) {
        *why = g_strdup_printf("message too large: %zu bytes, the limit is %zu", len,
                               n->cfg.message_limit);
        return NTFY_E_TOO_LARGE;
    }
    if (!g_utf8_validate(msg, (gssize)len, NULL)) {
        *why = g_strdup("message is not UTF-8 text (attachments are not served)");
        return NTFY_E_UTF8;
    }
    return 0;
}

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

int ntfy__pub_from_request(ntfy *n, void *conn, const char *topic, const char *body, size_t len,
                           bool body_is_message, ntfy_pub *p, char **why)
{
    p->topic = g_strdup(topic);
    const char *m = ntfy__param(conn, NAMES("X-Message", "Message", "m"));
    int rc;
    if (m && *m) {
        if ((rc = check_message(n, m, strlen(m), why)))
            return rc;
        p->message = g_strdup(m);
    } else if (body_is_message && len) {
        if ((rc = check_message(n, body, len, why)))
            return rc;
        p->message = g_strndup(body, len);
    }
    const char *t = ntfy__param(conn, NAMES("X-Title", "Title", "ti", "t"));
    if (t && *t)
        p->title = g_strdup(t);
    const char *pr = ntfy__param(conn, NAMES("X-Priority", "Priority", "prio", "p"));
    p->priority = ntfy__priority_parse(pr);
    if (p->priority < 0) {
        *why = g_strdup_printf("invalid priority '%s': use 1-5 or min, low, default, high, max, "
                               "urgent",
                               pr);
        return NTFY_E_PRIORITY;
    }
    const char *tags = ntfy__param(conn, NAMES("X-Tags", "Tags", "Tag", "ta"));
    if (tags)
        p->tags = split_tags(tags);
    const char *c = ntfy__param(conn, NAMES("X-Click", "Click"));
    if (c && *c)
        p->click = g_strdup(c);
    const char *i = ntfy__param(conn, NAMES("X-Icon", "Icon"));
    if (i && *i)
        p->icon = g_strdup(i);
    const char *a = ntfy__param(conn, NAMES("X-Actions", "Actions", "Action"));
    if (a && (rc = set_actions(p, a, why)))
        return rc;
    const char *md = ntfy__param(conn, NAMES("X-Markdown", "Markdown", "md"));
    const char *ct = ntfy__param(conn, NAMES("Content-Type"));
    p->markdown = truthy(md) || (ct && g_str_has_prefix(ct, "text/markdown"));
    const char *cache = ntfy__param(conn, NAMES("X-Cache", "Cache"));
    p->no_cache = cache && !g_ascii_strcasecmp(cache, "no");
    const char *d = ntfy__param(conn, NAMES("X-Delay", "Delay", "X-At", "At", "X-In", "In"));
    if (d && *d) {
        *why = g_strdup("delayed messages are not supported by this hub: publish without "
                        "Delay/At/In");
        return NTFY_E_DELAY;
    }
    return 0;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int ntfy__pub_from_json(ntfy *n, const char *body, size_t len, ntfy_pub *p, char **why)
{
    size_t i = 0;
    while (i < len && g_ascii_isspace(body[i]))
        i++;
    if (i == len || body[i] != '{')
        return -1;
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    bool ok = o && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    json_object *v;
    if (!ok || !json_object_is_type(o, json_type_object) ||
        json_object_object_get_ex(o, "method", NULL) ||
        !json_object_object_get_ex(o, "topic", &v)) {
        json_object_put(o);
        return -1; /* JSON-RPC (or garbage, which JSON-RPC answers) */
    }
    int rc = 0;
    const char *topic = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    if (!ntfy__topic_valid(topic, strlen(topic))) {
        *why = g_strdup("invalid topic: " NTFY_TOPIC_RULE);
        rc = NTFY_E_TOPIC;
        goto out;
    }
    p->topic = g_strdup(topic);
    const char *m = jstr(o, "message");
    if (m && *m) {
        if ((rc = check_message(n, m, strlen(m), why)))
            goto out;
        p->message = g_strdup(m);
    }
    const char *t = jstr(o, "title");
    if (t && *t)
        p->title = g_strdup(t);
    if (json_object_object_get_ex(o, "priority", &v)) {
        if (json_object_is_type(v, json_type_int))
            p->priority = json_object_get_int(v) >= 1 && json_object_get_int(v) <= 5
                              ? json_object_get_int(v)
                              : -1;
        else if (json_object_is_type(v, json_type_string))
            p->priority = ntfy__priority_parse(json_object_get_string(v));
        else
            p->priority = -1;
        if (p->priority < 0) {
            *why = g_strdup("invalid priority: use 1-5 or min, low, default, high, max, urgent");
            rc = NTFY_E_PRIORITY;
            goto out;
        }
    }
    if (json_object_object_get_ex(o, "tags", &v)) {
        if (json_object_is_type(v, json_type_string)) {
            p->tags = split_tags(json_object_get_string(v));
        } else if (json_object_is_type(v, json_type_array)) {
            p->tags = json_object_new_array();
            for (size_t k = 0; k < json_object_array_length(v); k++) {
                json_object *e = json_object_array_get_idx(v, k);
                if (json_object_is_type(e, json_type_string) && *json_object_get_string(e))
                    json_object_array_add(p->tags,
                                          json_object_new_string(json_object_get_string(e)));
            }
        } else {
            *why = g_strdup("invalid tags: expected an array of strings");
            rc = NTFY_E_JSON;
            goto out;
        }
    }
    if ((t = jstr(o, "click")) && *t)
        p->click = g_strdup(t);
    if ((t = jstr(o, "icon")) && *t)
        p->icon = g_strdup(t);
    if (json_object_object_get_ex(o, "actions", &v) && !json_object_is_type(v, json_type_null)) {
        if (!actions_valid(v, why)) {
            rc = NTFY_E_ACTIONS;
            goto out;
        }
        p->actions = json_object_get(v);
    }
    if (json_object_object_get_ex(o, "markdown", &v))
        p->markdown = json_object_get_boolean(v);
    if (json_object_object_get_ex(o, "delay", &v)) {
        *why = g_strdup("delayed messages are not supported by this hub: publish without delay");
        rc = NTFY_E_DELAY;
        goto out;
    }
out:
    json_object_put(o);
    return rc;
}

bmq_message *ntfy__publish(ntfy *n, ntfy_pub *p, char **why)
{
    json_object *kw = json_object_new_object();
    if (p->title)
        json_object_object_add(kw, "title", json_object_new_string(p->title));
    json_object_object_add(kw, "body",
                           json_object_new_string(p->message ? p->message : "triggered"));
    int prio = p->priority ? p->priority : 3;
    json_object_object_add(kw, "urgency",
                           json_object_new_string(prio <= 2   ? "low"
                                                  : prio == 3 ? "normal"
                                                              : "critical"));
    json_object_object_add(kw, "priority", json_object_new_int(prio));
    if (p->tags) {
        json_object_object_add(kw, "tags", p->tags);
        p->tags = NULL;
    }
    if (p->click)
        json_object_object_add(kw, "click", json_object_new_string(p->click));
    if (p->icon)
        json_object_object_add(kw, "icon", json_object_new_string(p->icon));
    if (p->actions) {
        json_object_object_add(kw, "actions", p->actions);
        p->actions = NULL;
    }
    if (p->markdown)
        json_object_object_add(kw, "markdown", json_object_new_boolean(true));
    char *id = g_strdup_printf("%s:notify", p->topic);
    int err = 0;
    bmq_message *m = bmq_message_new_full(
        id, NULL, kw, NULL, p->no_cache ? &ntfy__origin_nocache : &ntfy__origin_cached, &err);
    g_free(id);
    if (!m) {
        *why = g_strdup_printf("cannot make the message: %s", bmq_strerror(err));
        return NULL;
    }
    bmq_message_uid(m); /* fixed before other threads see it */
    /* The history records this as the message's origin. */
    const char *prev = bmq_sender_label_set(p->no_cache ? NTFY_ORIGIN_NOCACHE : NTFY_ORIGIN);
    int rc = bmq_twitter_message(n->bus, bmq_message_ref(m));
    bmq_sender_label_set(prev);
    if (rc) {
        *why = g_strdup_printf("cannot send the message: %s", bmq_strerror(rc));
        bmq_message_unref(m);
        return NULL;
    }
    g_mutex_lock(&n->lock);
    n->published++;
    g_mutex_unlock(&n->lock);
    return m;
}
