/* id.h - identifier parsing shared by the core files (private). */
#ifndef BMQ_ID_H
#define BMQ_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Thread-locals of the library: the initial-exec model avoids a call to
 * __tls_get_addr on every access (the library is loaded with the program,
 * and these few words fit glibc's static TLS reserve if it is dlopen()ed). */
#define BMQ_TLS _Thread_local __attribute__((tls_model("initial-exec")))

/* The routing index's hash of a (name, action) pair (FNV-1a, with a
 * separator so that "ab"+"c" and "a"+"bc" differ). */
static inline unsigned id__pair_hash(const char *name, size_t nl, const char *action, size_t al)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < nl; i++)
        h = (h ^ (unsigned char)name[i]) * 16777619u;
    h = (h ^ 0xffu) * 16777619u;
    for (size_t i = 0; i < al; i++)
        h = (h ^ (unsigned char)action[i]) * 16777619u;
    return h;
}

static inline bool id__is_any(const char *s, size_t len)
{
    return len == 1 && s[0] == '*';
}

#endif
