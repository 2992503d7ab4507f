/* id.c - identifier validation and symmetric matching.
 *
 * An identifier is "name[@ns][:action]". The parser is length-aware so that
 * callers holding strings from the wire (which may embed NUL bytes) can
 * reject them instead of silently truncating.
 */
#include <string.h>

#include <berrymq/berrymq.h>

#include "id.h"

/* One table lookup per byte: identifiers are parsed on every send. */
enum { C_PLAIN = 0, C_BAD, C_COLON, C_AT };
#define BAD8 C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, C_BAD
static const unsigned char byte_class[256] = {
    BAD8, BAD8, BAD8, BAD8, [' '] = C_BAD, [':'] = C_COLON, ['@'] = C_AT, [0x7f] = C_BAD,
};

/* A part is either exactly "*" or free of '*'. */
static bool part_ok(const char *s, size_t len)
{
    if (len == 0)
        return false;
    if (len == 1)
        return true;
    return memchr(s, '*', len) == NULL;
}

int id__parse(const char *id, size_t len, id__parts *out)
{
    if (!id || len == 0 || len > BMQ_ID_MAX)
        return -BMQ_EID;
    const char *colon = NULL, *at = NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char k = byte_class[(unsigned char)id[i]];
        if (k == C_PLAIN)
            continue;
        if (k == C_BAD)
            return -BMQ_EID;
        if (k == C_COLON) {
            if (colon)
                return -BMQ_EID;
            colon = id + i;
        } else {
            if (at || colon)
                return -BMQ_EID;
            at = id + i;
        }
    }
    const char *end = id + len;
    const char *name_end = at ? at : (colon ? colon : end);
    out->name = id;
    out->name_len = (size_t)(name_end - id);
    if (at) {
        out->ns = at + 1;
        out->ns_len = (size_t)((colon ? colon : end) - out->ns);
        if (!part_ok(out->ns, out->ns_len))
            return -BMQ_EID;
    } else {
        out->ns = "";
        out->ns_len = 0;
    }
    if (colon) {
        out->action = colon + 1;
        out->action_len = (size_t)(end - out->action);
    } else {
        out->action = "*";
        out->action_len = 1;
    }
    if (!part_ok(out->name, out->name_len) || !part_ok(out->action, out->action_len))
        return -BMQ_EID;
    /* The normalized form ("x" -> "x:*") must fit as well, or a message
     * accepted here would be refused by the next node it is sent to. */
    if (!colon && len + 2 > BMQ_ID_MAX)
        return -BMQ_EID;
    return 0;
}

int bmq_id_validate(const char *id)
{
    id__parts p;
    if (!id)
        return -BMQ_EID;
    return id__parse(id, strnlen(id, BMQ_ID_MAX + 1), &p);
}

int bmq_id_validate_len(const char *id, size_t len)
{
    id__parts p;
    return id__parse(id, len, &p);
}

static bool part_match(const char *a, size_t alen, const char *b, size_t blen)
{
    if (id__is_any(a, alen) || id__is_any(b, blen))
        return true;
    return alen == blen && memcmp(a, b, alen) == 0;
}

bool bmq_id_match(const char *a, const char *b)
{
    id__parts pa, pb;
    if (bmq_id_validate(a) < 0 || bmq_id_validate(b) < 0)
        return false;
    id__parse(a, strlen(a), &pa);
    id__parse(b, strlen(b), &pb);
    /* The default namespace is a namespace like any other: only "*" spans. */
    bool ns_ok = id__is_any(pa.ns, pa.ns_len) || id__is_any(pb.ns, pb.ns_len) ||
                 (pa.ns_len == pb.ns_len && memcmp(pa.ns, pb.ns, pa.ns_len) == 0);
    return ns_ok && part_match(pa.name, pa.name_len, pb.name, pb.name_len) &&
           part_match(pa.action, pa.action_len, pb.action, pb.action_len);
}
