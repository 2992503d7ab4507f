/* json_parse.c - bmq_json_parse: json-c with exact big integers, no NUL,
 * valid UTF-8 (see berrymq/json.h).
 *
 * json-c reads an integer literal into int64/uint64 and clamps what does
 * not fit. A scan ahead of it finds such literals (outside strings); only
 * when there is one is the text rewritten, each literal becoming a marked
 * string, and after the parse each marked string is swapped for a double
 * that carries the literal as its text. The common case costs one pass over
 * the bytes, without allocation. Plain C without GLib: the CLI builds this
 * file in as well.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <berrymq/json.h>

#include "json_scan.h"

#define MARK     "\001bmqint:"
#define MARK_LEN (sizeof MARK - 1)

typedef struct {
    size_t start, len;
} span;

typedef struct {
    span *v;
    size_t n, cap;
} spans;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Does the digit string @d (@n digits, no sign) exceed what json-c keeps
 * exactly: 2^63 for a negative number, 2^64-1 for a positive one? */
static bool out_of_range(const char *d, size_t n, bool neg)
{
    while (n > 1 && *d == '0') {
        d++;
        n--;
    }
    const char *lim = neg ? "9223372036854775808" : "18446744073709551615";
    size_t ln = strlen(lim);
    if (n != ln)
        return n > ln;
    return memcmp(d, lim, n) > 0;
}

/* One pass: big integer literals into @bigs; the offset of a \u0000
 * escape in *nul_at (else SIZE_MAX). */
static void scan(const char *t, size_t len, spans *bigs, size_t *nul_at)
{
    *nul_at = SIZE_MAX;
    size_t i = 0;
    while (i < len) {
        char c = t[i];
        if (c == '"') {
            i = json_scan__string(t, len, i, nul_at);
            if (!i)
                return; /* cut short: json-c says where */
            continue;
        }
        if (c == '-' || is_digit(c)) {
            size_t s = i;
            bool neg = c == '-';
            if (neg)
                i++;
            size_t ds = i;
            while (i < len && is_digit(t[i]))
                i++;
            size_t nd = i - ds;
            if (i < len && (t[i] == '.' || t[i] == 'e' || t[i] == 'E')) {
                while (i < len && (is_digit(t[i]) || strchr(".eE+-", t[i])))
                    i++;
                continue; /* a double: json-c keeps its text */
            }
            if (nd >= 19 && out_of_range(t + ds, nd, neg)) {
                if (bigs->n == bigs->cap) {
                    bigs->cap = bigs->cap ? 2 * bigs->cap : 4;
                    bigs->v = realloc(bigs->v, bigs->cap * sizeof(span));
                    if (!bigs->v)
                        abort();
                }
                bigs->v[bigs->n++] = (span){s, i - s};
            }
            continue;
        }
        i++;
    }
}

static char *rewrite(const char *t, size_t len, const spans *bigs, size_t *out_len)
{
    static const char open[] = "\"\\u0001bmqint:";
    char *out = malloc(len + bigs->n * (sizeof open + 1) + 1);
    if (!out)
        abort();
    size_t o = 0, at = 0;
    for (size_t i = 0; i < bigs->n; i++) {
        const span *sp = &bigs->v[i];
        memcpy(out + o, t + at, sp->start - at);
        o += sp->start - at;
        memcpy(out + o, open, sizeof open - 1);
        o += sizeof open - 1;
        memcpy(out + o, t + sp->start, sp->len);
        o += sp->len;
        out[o++] = '"';
        at = sp->start + sp->len;
    }
    memcpy(out + o, t + at, len - at);
    o += len - at;
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* The double standing for a marked string, or NULL. */
static json_object *unmark(json_object *o)
{
    if (!json_object_is_type(o, json_type_string))
        return NULL;
    const char *s = json_object_get_string(o);
    if ((size_t)json_object_get_string_len(o) <= MARK_LEN || memcmp(s, MARK, MARK_LEN) != 0)
        return NULL;
    const char *lit = s + MARK_LEN;
    /* Digits only: strtod needs no locale's decimal point here. */
    return json_object_new_double_s(strtod(lit, NULL), lit);
}

static void restore(json_object *o)
{
    if (json_object_is_type(o, json_type_array)) {
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++) {
            json_object *c = json_object_array_get_idx(o, i), *r = unmark(c);
            if (r)
                json_object_array_put_idx(o, i, r);
            else
                restore(c);
        }
    } else if (json_object_is_type(o, json_type_object)) {
        /* Replacing the value of an existing key keeps the table as it is. */
        json_object_object_foreach(o, k, v)
        {
            json_object *r = unmark(v);
            if (r)
                json_object_object_add(o, k, r);
            else
                restore(v);
        }
    }
}

static void set_error(char **error, const char *t, size_t len, size_t at, const char *what)
{
    if (!error)
        return;
    int line = 1, col = 1;
    for (size_t i = 0; i < at && i < len; i++) {
        if (t[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    int n = snprintf(NULL, 0, "line %d, column %d: %s", line, col, what);
    *error = malloc((size_t)n + 1);
    if (*error)
        snprintf(*error, (size_t)n + 1, "line %d, column %d: %s", line, col, what);
}

int bmq_json_parse(const char *text, size_t len, unsigned flags, json_object **out, char **error)
{
    *out = NULL;
    if (error)
        *error = NULL;
    if (!text || len > INT32_MAX / 2) {
        set_error(error, "", 0, 0, text ? "document too large" : "no document");
        return -BMQ_EINVAL;
    }
    size_t first = 0;
    while (first < len && is_space(text[first]))
        first++;
    if (first == len) {
        set_error(error, text, len, len, "empty document");
        return -BMQ_EINVAL;
    }
    spans bigs = {0};
    size_t nul_at;
    scan(text, len, &bigs, &nul_at);
    if (nul_at != SIZE_MAX) {
        free(bigs.v);
        set_error(error, text, len, nul_at,
                  "the NUL character (\\u0000) is not allowed in berryMQ strings");
        return -BMQ_EINVAL;
    }
    const char *t = text;
    size_t tlen = len;
    char *owned = NULL;
    if (bigs.n)
        t = owned = rewrite(text, len, &bigs, &tlen);

    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8 |
                                    ((flags & BMQ_JSON_STRICT) ? JSON_TOKENER_STRICT : 0));
    json_object *o = json_tokener_parse_ex(tok, t, (int)tlen);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    if (!o && jerr == json_tokener_continue) {
        /* A bare literal at the very end needs a terminator to complete. */
        used = tlen;
        o = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
    }
    json_tokener_free(tok);
    const char *what = NULL;
    if (jerr == json_tokener_continue)
        what = "unexpected end of the document";
    else if (jerr != json_tokener_success)
        what = json_tokener_error_desc(jerr);
    for (size_t i = used; !what && i < tlen; i++)
        if (!is_space(t[i]))
            what = "unexpected data after the value";
    int rc = 0;
    if (what) {
        /* Offsets are those of the text read; with big integers rewritten
         * they may be a little past the original position. */
        set_error(error, t, tlen, used, what);
        json_object_put(o);
        rc = -BMQ_EINVAL;
    } else {
        if (bigs.n) {
            json_object *r = unmark(o);
            if (r) {
                json_object_put(o);
                o = r;
            } else {
                restore(o);
            }
        }
        *out = o;
    }
    free(owned);
    free(bigs.v);
    return rc;
}
