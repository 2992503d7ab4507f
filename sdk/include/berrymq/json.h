/* json.h - the one JSON reader of berryMQ: json-c underneath, with the
 * guarantees messages need.
 *
 * - Integers outside 64 bits keep their exact value: json-c would clamp
 *   2^70 to 2^64-1. They become json-c doubles whose text is the literal
 *   (json_object_new_double_s): written back out digit for digit, read as
 *   a double by json_object_get_double.
 * - Invalid UTF-8 and the NUL character (\u0000) in strings are refused:
 *   identifiers and keys are C strings, a NUL would cut them short.
 * - The whole text must be one value; whitespace may follow it.
 */
#ifndef BERRYMQ_JSON_H
#define BERRYMQ_JSON_H

#include <stddef.h>

#include <json-c/json.h>

#include <berrymq/berrymq.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    /* Also refuse what json-c lets through by default: trailing commas,
     * NaN/Infinity, single quotes. For files people write (hub.json). */
    BMQ_JSON_STRICT = 1u,
};

/* Parse @len bytes of @text into *out (transfer full, json_object_put; NULL
 * for the text "null"). *error (nullable, transfer full) is one line,
 * "line L, column C: problem" ("empty document" when there is nothing but
 * whitespace); this file is plain C, so it comes from malloc: free() it,
 * or g_free, which is the same allocator since GLib 2.46.
 * Returns: 0; -BMQ_EINVAL for text that is not one JSON value (also a NUL
 * byte, invalid UTF-8, trailing text, or with BMQ_JSON_STRICT what json-c
 * lets through), for NULL text or a document over 1 GiB. */
BMQ_API int bmq_json_parse(const char *text, size_t len, unsigned flags, json_object **out,
                           char **error);

/* The length of the one JSON value at the start of @text (@len bytes): a
 * string with its escapes, an array or object to its matching close (at
 * most @max_depth deep), a literal to the next delimiter. Nothing is
 * parsed or validated beyond that: parse what you keep. Any thread.
 * Returns: the length in bytes; 0 when the text ends inside the value or
 * it nests deeper than @max_depth (or @text is NULL or empty). */
BMQ_API size_t bmq_json_value_len(const char *text, size_t len, unsigned max_depth);

#ifdef __cplusplus
}
#endif

#endif /* BERRYMQ_JSON_H */
