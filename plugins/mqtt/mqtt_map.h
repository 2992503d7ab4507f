/* mqtt_map.h - berryMQ identifiers <-> MQTT topics, and message payloads.
 *
 * Message "name@ns:action" is topic "PREFIX/ns/name/action"; the default
 * namespace is the level "_". Pattern wildcards ("*") become "+" in
 * subscription filters. Inside a level the characters MQTT gives a meaning
 * to ('+', '#', '/') and the escape character '%' are written as %2B, %23,
 * %2F, %25; a namespace literally called "_" is written %5F so it cannot be
 * taken for the default one. Pure functions, no state: safe from any thread.
 */
#ifndef BMQ_MQTT_MAP_H
#define BMQ_MQTT_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>
#include <json-c/json.h>

#include <berrymq/berrymq.h>

/* Topic for a message with these parts (@ns "" = default namespace).
 * Returns (transfer full, g_free) the topic. */
char *mqtt_map__topic(const char *prefix, const char *ns, const char *name, const char *action);
/* Same, appended to @s. */
void mqtt_map__append_topic(GString *s, const char *prefix, const char *ns, const char *name,
                            const char *action);

/* Subscription filter for a berryMQ pattern ("build:*", "*@*:*", "test").
 * NULL with *error (transfer full, g_free) for an invalid pattern or a
 * local ("_name") one. */
char *mqtt_map__filter(const char *prefix, const char *pattern, char **error);

/* Identifier ("name:action" or "name@ns:action") for a topic received under
 * @prefix. NULL when the topic is not PREFIX/ns/name/action, a level does
 * not decode to a valid identifier part, or the name is local.
 * (transfer full, g_free) */
char *mqtt_map__id_from_topic(const char *prefix, const char *topic);
/* Same into @out (@cap bytes, BMQ_ID_MAX + 1 is enough); false when not. */
bool mqtt_map__id_from_topic_buf(const char *prefix, size_t prefix_len, const char *topic,
                                 char *out, size_t cap);

/* The payload published for @m: {"id","args","kwargs","origin","uid"}.
 * @origin_json is the JSON string literal of the hub id (quotes included).
 * Returns (transfer full, g_free) the text, its length in *len. */
char *mqtt_map__payload(const bmq_message *m, const char *origin_json, size_t *len);
/* Same as a GString (transfer full) the caller may append to. */
GString *mqtt_map__payload_string(const bmq_message *m, const char *origin_json, size_t *len);

/* mqtt_json.c: append @o (transfer none, only read) to @s as strict JSON. */
void mqtt_json__append(GString *s, json_object *o);
/* Append @n bytes of @p as a JSON string literal. */
void mqtt_json__append_string(GString *s, const char *p, size_t n);

/* What a received payload carries. */
typedef struct mqtt_envelope {
    json_object *args;   /* (transfer full) array, never NULL after parse */
    json_object *kwargs; /* (transfer full) object, never NULL after parse */
    char *origin;        /* (transfer full, nullable) hub id of the publisher */
    char *uid;           /* (transfer full, nullable) message uid, validated */
    bool raw;            /* true: not an envelope; args[0] is the payload text */
} mqtt_envelope;

/* Decode @len bytes of @payload. A JSON object with an "args" array and/or
 * a "kwargs" object is an envelope; anything else arrives as text in
 * args[0] (invalid UTF-8 replaced by U+FFFD). @tok (nullable) is a reusable
 * tokener owned by the calling thread. Never fails. */
void mqtt_map__parse_payload(const void *payload, size_t len, json_tokener *tok,
                             mqtt_envelope *out);
/* Same, except that an empty args or kwargs read by the fast path may be
 * left NULL (bmq_message_new_full takes NULL as empty and builds the object
 * only when asked): saves making and freeing a json-c hash table. */
void mqtt_map__parse_payload_lazy(const void *payload, size_t len, json_tokener *tok,
                                  mqtt_envelope *out);
/* The same decision made by json-c alone (slower; tests compare both). */
void mqtt_map__parse_payload_slow(const void *payload, size_t len, mqtt_envelope *out);
/* Free what an envelope still holds (fields already taken must be NULL). */
void mqtt_envelope_clear(mqtt_envelope *env);

/* A printable, valid berryMQ name made from @s ("host:1" -> "host-1");
 * (transfer full, g_free). */
char *mqtt_map__sanitize_name(const char *s);

#endif /* BMQ_MQTT_MAP_H */
