/* wh_fields.c - what a message says, read the same way by every format:
 * its title, body and priority, following the kwargs of `berrymq notify`
 * (title, body, urgency) and of the hub's ntfy API (priority 1..5, tags,
 * click, icon, actions).
 *
 * The sender thread renders messages that follower threads may still be
 * reading, and json-c's serializer writes into the objects it prints: so
 * args and kwargs are parsed here from the message's cached JSON text into
 * private copies, which the formats may then serialize freely.
 */
#include <string.h>

#include <berrymq/json.h>

#include "webhook.h"

/* bmq_json_parse, not json-c's own reader: integers beyond 64 bits keep
 * their digits in what is sent (json-c would clamp 2^70 to 2^64-1). */
static json_object *parse_copy(const char *text, json_type want)
{
    json_object *o = NULL;
    if (text && bmq_json_parse(text, strlen(text), 0, &o, NULL) != 0)
        o = NULL;
    if (!json_object_is_type(o, want)) {
        json_object_put(o);
        o = want == json_type_array ? json_object_new_array() : json_object_new_object();
    }
    return o;
}

const char *wh__fields_kwarg(const wh_fields *f, const char *key)
{
    json_object *v;
    if (json_object_object_get_ex(f->kwargs, key, &v) && json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) > 0)
        return json_object_get_string(v);
    return NULL;
}

char *wh__json_text(json_object *v)
{
    if (!v)
        return g_strdup("");
    if (json_object_is_type(v, json_type_string))
        return g_strdup(json_object_get_string(v));
    return g_strdup(
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* The args as one line: strings as they are, other values as JSON. */
static char *args_text(json_object *args)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < json_object_array_length(args); i++) {
        char *t = wh__json_text(json_object_array_get_idx(args, i));
        if (i)
            g_string_append_c(s, ' ');
        g_string_append(s, t);
        g_free(t);
    }
    return g_string_free(s, FALSE);
}

/* ntfy's priority names and numbers. */
static int level_of_priority(json_object *v)
{
    if (json_object_is_type(v, json_type_int)) {
        int64_t n = json_object_get_int64(v);
        return n >= 1 && n <= 5 ? (int)n : 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return 0;
    static const struct {
        const char *name;
        int level;
    } names[] = {{"min", 1},  {"1", 1}, {"low", 2},    {"2", 2},   {"default", 3}, {"3", 3},
                 {"high", 4}, {"4", 4}, {"urgent", 5}, {"max", 5}, {"5", 5}};
    const char *s = json_object_get_string(v);
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        if (g_ascii_strcasecmp(s, names[i].name) == 0)
            return names[i].level;
    return 0;
}

/* notify's urgency: "low" / "normal" / "critical" or 0 / 1 / 2. */
static int level_of_urgency(json_object *v)
{
    if (json_object_is_type(v, json_type_int)) {
        int64_t n = json_object_get_int64(v);
        return n == 0 ? 2 : n == 2 ? 5 : 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return 0;
    const char *s = json_object_get_string(v);
    if (g_ascii_strcasecmp(s, "low") == 0)
        return 2;
    if (g_ascii_strcasecmp(s, "critical") == 0)
        return 5;
    return 0;
}

void wh__fields_init(wh_fields *f, const bmq_message *m, double time, const char *hub)
{
    memset(f, 0, sizeof *f);
    f->id = bmq_message_id(m);
    f->name = bmq_message_name(m);
    f->action = bmq_message_action(m);
    f->args = parse_copy(bmq_message_args_json(m), json_type_array);
    f->kwargs = parse_copy(bmq_message_kwargs_json(m), json_type_object);
    f->time = time;
    f->hub = hub;

    const char *t = wh__fields_kwarg(f, "title");
    if (!t)
        t = wh__fields_kwarg(f, "summary");
    f->title_given = t != NULL;
    f->title = g_strdup(t ? t : f->id);

    const char *b = wh__fields_kwarg(f, "body");
    if (!b)
        b = wh__fields_kwarg(f, "text");
    if (!b)
        b = wh__fields_kwarg(f, "message");
    f->body = b ? g_strdup(b) : args_text(f->args);

    /* An explicit priority (the hub's ntfy API sets it) says more than the
     * three urgencies of a desktop notification. */
    json_object *v;
    if (json_object_object_get_ex(f->kwargs, "priority", &v))
        f->level = level_of_priority(v);
    if (!f->level && json_object_object_get_ex(f->kwargs, "urgency", &v))
        f->level = level_of_urgency(v);
}

void wh__fields_clear(wh_fields *f)
{
    json_object_put(f->args);
    json_object_put(f->kwargs);
    g_free(f->title);
    g_free(f->body);
    memset(f, 0, sizeof *f);
}
