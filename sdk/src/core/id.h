/* id.h - identifier parsing shared by the core files (private). */
#ifndef BMQ_ID_H
#define BMQ_ID_H

#include <stdbool.h>
#include <stddef.h>

/* The parts of an identifier. Pointers refer into the parsed string, except
 * an implicit action ("name" alone) which points to a static "*". Lengths do
 * not include a terminator: the parts are not NUL-terminated in place. */
typedef struct id__parts {
    const char *name;
    const char *action;
    const char *ns; /* "" (len 0) for the default namespace */
    size_t name_len;
    size_t action_len;
    size_t ns_len;
} id__parts;

/* Parse @len bytes of @id. 0 or -BMQ_EID (empty, too long, NUL, whitespace or
 * control bytes, two ':' or '@', '@' after ':', an empty part, a part that
 * mixes '*' with other characters). */
int id__parse(const char *id, size_t len, id__parts *out);

static inline bool id__is_any(const char *s, size_t len)
{
    return len == 1 && s[0] == '*';
}

#endif
