/* json_scan.c - stepping over JSON text without building values (see
 * json_scan.h). */
#include "json_scan.h"

#include <berrymq/json.h>

#include <stdint.h>
#include <string.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t json_scan__skip_space(const char *t, size_t len, size_t i)
{
    while (i < len && is_space(t[i]))
        i++;
    return i;
}

size_t json_scan__string(const char *t, size_t len, size_t i, size_t *nul_at)
{
    for (i++; i < len && t[i] != '"'; i++) {
        if (t[i] != '\\')
            continue;
        if (nul_at && *nul_at == SIZE_MAX && i + 5 < len && t[i + 1] == 'u' && t[i + 2] == '0' &&
            t[i + 3] == '0' && t[i + 4] == '0' && t[i + 5] == '0')
            *nul_at = i;
        i++; /* the escaped character */
    }
    return i < len ? i + 1 : 0;
}

size_t json_scan__value(const char *t, size_t len, size_t i, unsigned max_depth)
{
    if (i >= len)
        return 0;
    if (t[i] == '"')
        return json_scan__string(t, len, i, NULL);
    if (t[i] != '[' && t[i] != '{') {
        while (i < len && !is_space(t[i]) && t[i] != ',' && t[i] != ']' && t[i] != '}')
            i++;
        return i;
    }
    unsigned depth = 0;
    while (i < len) {
        char c = t[i];
        if (c == '"') {
            size_t end = json_scan__string(t, len, i, NULL);
            if (!end)
                return 0;
            i = end;
            continue;
        }
        if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return 0;
        } else if ((c == ']' || c == '}') && --depth == 0) {
            return i + 1;
        }
        i++;
    }
    return 0;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Every escape is at least as long as the UTF-8 it stands for (\uXXXX: 6
 * bytes for at most 3; a pair: 12 for 4), so the output never outgrows the
 * input. */
size_t json_scan__decode(const char *t, size_t len, size_t i, char *out)
{
    size_t o = 0;
    for (i++; i < len && t[i] != '"'; i++) {
        if (t[i] != '\\' || i + 1 >= len) {
            out[o++] = t[i];
            continue;
        }
        char e = t[++i];
        switch (e) {
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            int cp = i + 4 < len ? hex4(t + i + 1) : -1;
            if (cp < 0) {
                out[o++] = e;
                break;
            }
            i += 4;
            uint32_t c = (uint32_t)cp;
            if (c >= 0xD800 && c <= 0xDBFF && i + 6 < len && t[i + 1] == '\\' && t[i + 2] == 'u') {
                int lo = hex4(t + i + 3);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    c = 0x10000 + ((c - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                    i += 6;
                }
            }
            if (c >= 0xD800 && c <= 0xDFFF)
                c = 0xFFFD;
            o += put_utf8(out + o, c);
            break;
        }
        default: /* '"', '\\', '/' and anything else stand for themselves */
            out[o++] = e;
        }
    }
    return o;
}

size_t bmq_json_value_len(const char *text, size_t len, unsigned max_depth)
{
    return text && len ? json_scan__value(text, len, 0, max_depth) : 0;
}
