/* json_scan.h - the library's one JSON text scanner (private to libberrymq;
 * net/ reaches it as the room below it).
 *
 * It steps over strings and containers in JSON text without building
 * values: bmq_json_parse uses it to find what json-c would get wrong, the
 * RPC fast path (through bmq_json_value_len) to find the args/kwargs of a
 * batch, and message rendering
 * to walk a message's cached JSON text. It does not validate: text it
 * steps over is either produced by the library or parsed afterwards.
 * Plain C without GLib: the CLI builds it in. Any thread; no state.
 */
#ifndef BMQ_JSON_SCAN_H
#define BMQ_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* @i indexes an opening '"'. Returns the index just past the closing quote,
 * or 0 when the text ends first. When @nul_at is not NULL, still holds
 * SIZE_MAX and the string has a \u0000 escape, its offset is stored. */
size_t json_scan__string(const char *t, size_t len, size_t i, size_t *nul_at);

/* @i indexes the first byte of a value. Returns the index just past it: a
 * string, a container to its matching close (at most @max_depth deep), a
 * scalar to the next ',', ']', '}', whitespace or the end. Returns 0 when a
 * string or container is cut short or nests deeper than @max_depth. */
size_t json_scan__value(const char *t, size_t len, size_t i, unsigned max_depth);

/* The index of the first byte at or after @i that is not JSON whitespace. */
size_t json_scan__skip_space(const char *t, size_t len, size_t i);

/* Decode the string whose opening '"' is at @i into @out, which has room
 * for at least (end - i) bytes, end being json_scan__string()'s answer.
 * Escapes become UTF-8 (a lone surrogate becomes U+FFFD). Returns the
 * number of bytes written; no terminator is added. */
size_t json_scan__decode(const char *t, size_t len, size_t i, char *out);

#endif /* BMQ_JSON_SCAN_H */
