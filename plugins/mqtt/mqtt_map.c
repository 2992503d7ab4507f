/* mqtt_map.c - identifier <-> topic mapping and payload encoding for the
 * MQTT bridge. See mqtt_map.h for the rules. */
#include "mqtt_map.h"

#include <ctype.h>
#include <string.h>

#include <glib.h>

#include <berrymq/json.h>

/* Characters that cannot appear literally inside one topic level. */
static bool needs_escape(char c)
{
    return c == '%' || c == '+' || c == '#' || c == '/';
}

static void append_level(GString *s, const char *p, bool is_ns)
{
    if (is_ns && strcmp(p, "_") == 0) {
        g_string_append(s, "%5F");
        return;
    }
    for (; *p; p++) {
        if (needs_escape(*p))
            g_string_append_printf(s, "%%%02X", (unsigned char)*p);
        else
            g_string_append_c(s, *p);
    }
}

char *mqtt_map__topic(const char *prefix, const char *ns, const char *name, const char *action)
{
    GString *s = g_string_sized_new(strlen(prefix) + strlen(name) + strlen(action) + 16);
    mqtt_map__append_topic(s, prefix, ns, name, action);
    return g_string_free(s, FALSE);
}

void mqtt_map__append_topic(GString *s, const char *prefix, const char *ns, const char *name,
                            const char *action)
{
    g_string_append(s, prefix);
    g_string_append_c(s, '/');
    if (ns == NULL || *ns == '\0')
        g_string_append_c(s, '_');
    else
        append_level(s, ns, true);
    g_string_append_c(s, '/');
    append_level(s, name, false);
    g_string_append_c(s, '/');
    append_level(s, action, false);
}

/* A wildcard part becomes '+', anything else one escaped level. */
static void append_filter_level(GString *s, const char *p, size_t n, bool is_ns)
{
    char *part = g_strndup(p, n);
    if (strcmp(part, "*") == 0)
        g_string_append_c(s, '+');
    else
        append_level(s, part, is_ns);
    g_free(part);
}

char *mqtt_map__filter(const char *prefix, const char *pattern, char **error)
{
    if (pattern == NULL || bmq_id_validate(pattern) != 0) {
        *error = g_strdup_printf("invalid pattern \"%s\"", pattern ? pattern : "(null)");
        return NULL;
    }
    const char *colon = strchr(pattern, ':');
    const char *at = strchr(pattern, '@');
    if (at != NULL && colon != NULL && at > colon) {
        *error = g_strdup_printf("invalid pattern \"%s\"", pattern);
        return NULL;
    }
    const char *name_end = at ? at : colon ? colon : pattern + strlen(pattern);
    if (pattern[0] == '_') {
        *error = g_strdup_printf("pattern \"%s\" names local messages, which never leave the hub",
                                 pattern);
        return NULL;
    }
    GString *s = g_string_new(prefix);
    g_string_append_c(s, '/');
    if (at != NULL) {
        const char *ns_end = colon ? colon : pattern + strlen(pattern);
        append_filter_level(s, at + 1, (size_t)(ns_end - at - 1), true);
    } else {
        g_string_append_c(s, '_');
    }
    g_string_append_c(s, '/');
    append_filter_level(s, pattern, (size_t)(name_end - pattern), false);
    g_string_append_c(s, '/');
    if (colon != NULL)
        append_filter_level(s, colon + 1, strlen(colon + 1), false);
    else
        g_string_append_c(s, '+');
    return g_string_free(s, FALSE);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Append level [p, p+n) decoded to out[*len], within cap. Only the escapes
 * we write are decoded; any other '%' stays literal so topics from other
 * MQTT tools keep their spelling. false for an empty level or no room. */
static bool decode_level(const char *p, size_t n, char *out, size_t *len, size_t cap)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '%' && i + 2 < n) {
            int hi = hexval(p[i + 1]), lo = hexval(p[i + 2]);
            char d = (char)(hi * 16 + lo);
            if (hi >= 0 && lo >= 0 && (needs_escape(d) || d == '_')) {
                c = d;
                i += 2;
            }
        }
        if (*len + 1 >= cap)
            return false;
        out[(*len)++] = c;
    }
    return true;
}

bool mqtt_map__id_from_topic_buf(const char *prefix, size_t prefix_len, const char *topic,
                                 char *out, size_t cap)
{
    if (strncmp(topic, prefix, prefix_len) != 0 || topic[prefix_len] != '/')
        return false;
    const char *ns = topic + prefix_len + 1;
    const char *s1 = strchr(ns, '/');
    if (s1 == NULL)
        return false;
    const char *name = s1 + 1;
    const char *s2 = strchr(name, '/');
    if (s2 == NULL)
        return false;
    const char *action = s2 + 1;
    if (strchr(action, '/') != NULL)
        return false;
    size_t len = 0;
    if (!decode_level(name, (size_t)(s2 - name), out, &len, cap) || out[0] == '_')
        return false;
    if (!(s1 - ns == 1 && ns[0] == '_')) {
        if (len + 1 >= cap)
            return false;
        out[len++] = '@';
        if (!decode_level(ns, (size_t)(s1 - ns), out, &len, cap))
            return false;
    }
    if (len + 1 >= cap)
        return false;
    out[len++] = ':';
    if (!decode_level(action, strlen(action), out, &len, cap))
        return false;
    out[len] = '\0';
    return bmq_id_validate(out) == 0;
}

char *mqtt_map__id_from_topic(const char *prefix, const char *topic)
{
    char buf[BMQ_ID_MAX + 1];
    if (!mqtt_map__id_from_topic_buf(prefix, strlen(prefix), topic, buf, sizeof buf))
        return NULL;
    return g_strdup(buf);
}

char *mqtt_map__payload(const bmq_message *m, const char *origin_json, size_t *len)
{
    return g_string_free(mqtt_map__payload_string(m, origin_json, len), FALSE);
}

GString *mqtt_map__payload_string(const bmq_message *m, const char *origin_json, size_t *len)
{
    const char *uid = bmq_message_uid(m);
    const char *id = bmq_message_id(m);
    GString *s = g_string_sized_new(256); /* room for a typical payload and its topic */
    g_string_append(s, "{\"id\":");
    mqtt_json__append_string(s, id, strlen(id));
    g_string_append(s, ",\"args\":");
    mqtt_json__append(s, bmq_message_args(m));
    g_string_append(s, ",\"kwargs\":");
    mqtt_json__append(s, bmq_message_kwargs(m));
    g_string_append(s, ",\"origin\":");
    g_string_append(s, origin_json);
    if (uid != NULL) {
        g_string_append(s, ",\"uid\":\"");
        g_string_append(s, uid);
        g_string_append_c(s, '"');
    }
    g_string_append_c(s, '}');
    *len = s->len;
    return s;
}

/* A uid we pass on must be short and plain; anything else is ignored. */
static bool uid_ok(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n > 64)
        return false;
    for (; *u; u++)
        if (!isalnum((unsigned char)*u) && *u != '-' && *u != '_')
            return false;
    return true;
}

static bool try_envelope(const char *payload, size_t len, json_tokener *tok, mqtt_envelope *out)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)payload[i]))
        i++;
    if (i == len || payload[i] != '{' || len > INT32_MAX)
        return false;
    (void)tok;
    /* bmq_json_parse, not json-c's reader: integers beyond 64 bits keep
     * their digits (json-c clamps 2^70 to 2^64-1), and strings are valid
     * UTF-8 without NUL, as on the hub's other ways in. Trailing NULs (some
     * publishers send C strings with their terminator) are left out. */
    size_t n = len;
    while (n > i && payload[n - 1] == '\0')
        n--;
    json_object *obj = NULL;
    bool ok = bmq_json_parse(payload, n, 0, &obj, NULL) == 0;
    if (!ok || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        return false;
    }
    json_object *args = NULL, *kwargs = NULL, *origin = NULL, *uid = NULL;
    bool has_args = json_object_object_get_ex(obj, "args", &args);
    bool has_kwargs = json_object_object_get_ex(obj, "kwargs", &kwargs);
    if ((!has_args && !has_kwargs) || (has_args && !json_object_is_type(args, json_type_array)) ||
        (has_kwargs && !json_object_is_type(kwargs, json_type_object))) {
        json_object_put(obj);
        return false;
    }
    out->args = has_args ? json_object_get(args) : json_object_new_array();
    out->kwargs = has_kwargs ? json_object_get(kwargs) : json_object_new_object();
    if (json_object_object_get_ex(obj, "origin", &origin) &&
        json_object_is_type(origin, json_type_string))
        out->origin = g_strdup(json_object_get_string(origin));
    if (json_object_object_get_ex(obj, "uid", &uid) && json_object_is_type(uid, json_type_string) &&
        uid_ok(json_object_get_string(uid)))
        out->uid = g_strdup(json_object_get_string(uid));
    json_object_put(obj);
    out->raw = false;
    return true;
}

/* ---- fast path: scan the envelope, let json-c parse only args/kwargs ----
 * Most payloads are our own envelopes; parsing all of one with json-c costs
 * about three times parsing its args alone. The scanner checks the whole
 * text as strict JSON (RFC 8259, nesting as deep as json-c allows) and
 * answers "unsure" for anything unusual (escapes in keys or in origin/uid,
 * deep nesting, invalid text); the caller then takes the full json-c path,
 * so both paths decide alike. */

typedef struct scan {
    const char *p, *end;
} scan;

#define SCAN_MAX_DEPTH 31 /* json-c's default limit is 32 levels, the top object included */

static void scan_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool scan_string(scan *s, bool *escaped)
{
    if (s->p >= s->end || *s->p != '"')
        return false;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p++;
        if (c == '"')
            return true;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (s->p >= s->end)
                return false;
            char e = *s->p++;
            *escaped = true;
            if (e == 'u') {
                for (int i = 0; i < 4; i++, s->p++)
                    if (s->p >= s->end || hexval(*s->p) < 0)
                        return false;
            } else if (e == '\0' || strchr("\"\\/bfnrt", e) == NULL) {
                return false;
            }
        }
    }
    return false;
}

static bool scan_digits(scan *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

static bool scan_number(scan *s)
{
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!scan_digits(s))
        return false;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!scan_digits(s))
            return false;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!scan_digits(s))
            return false;
    }
    return true;
}

static bool scan_literal(scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return false;
    s->p += n;
    return true;
}

static bool scan_value(scan *s, int depth)
{
    bool esc = false;
    scan_ws(s);
    if (s->p >= s->end)
        return false;
    char c = *s->p;
    if (c == '"')
        return scan_string(s, &esc);
    if (c == '[' || c == '{') {
        if (depth >= SCAN_MAX_DEPTH)
            return false;
        char close = c == '[' ? ']' : '}';
        s->p++;
        scan_ws(s);
        if (s->p < s->end && *s->p == close) {
            s->p++;
            return true;
        }
        for (;;) {
            if (c == '{') {
                scan_ws(s);
                if (!scan_string(s, &esc))
                    return false;
                scan_ws(s);
                if (s->p >= s->end || *s->p++ != ':')
                    return false;
            }
            if (!scan_value(s, depth + 1))
                return false;
            scan_ws(s);
            if (s->p >= s->end)
                return false;
            if (*s->p == ',') {
                s->p++;
                continue;
            }
            if (*s->p++ != close)
                return false;
            return true;
        }
    }
    if (c == 't')
        return scan_literal(s, "true");
    if (c == 'f')
        return scan_literal(s, "false");
    if (c == 'n')
        return scan_literal(s, "null");
    return scan_number(s);
}

/* Build the value of text scan_value accepted, when it holds only what
 * json-c reads the same way without judgement calls: strings without
 * escapes, integers of at most 18 digits (not "-0"), true, false, null,
 * arrays, objects without repeated keys. false for anything else (nothing
 * is left allocated); the caller then asks json-c. This skips json-c's
 * per-parse locale switch (duplocale/newlocale/freelocale), which costs
 * more than reading a typical args array. */
static bool build_value(scan *s, int depth, json_object **out)
{
    scan_ws(s);
    if (s->p >= s->end || depth > SCAN_MAX_DEPTH)
        return false;
    char c = *s->p;
    if (c == '"') {
        const char *start = ++s->p;
        while (s->p < s->end && *s->p != '"' && *s->p != '\\')
            s->p++;
        if (s->p >= s->end || *s->p != '"' || s->p - start > INT32_MAX)
            return false;
        *out = json_object_new_string_len(start, (int)(s->p - start));
        s->p++;
        return true;
    }
    if (c == '[' || c == '{') {
        bool array = c == '[';
        json_object *o = array ? json_object_new_array() : json_object_new_object();
        s->p++;
        scan_ws(s);
        if (s->p < s->end && *s->p == (array ? ']' : '}')) {
            s->p++;
            *out = o;
            return true;
        }
        for (;;) {
            char key[128];
            if (!array) {
                scan_ws(s);
                const char *k = s->p + 1;
                bool esc = false;
                if (!scan_string(s, &esc) || esc || (size_t)(s->p - 1 - k) >= sizeof key)
                    break;
                memcpy(key, k, (size_t)(s->p - 1 - k));
                key[s->p - 1 - k] = '\0';
                if (json_object_object_get_ex(o, key, NULL))
                    break; /* a repeated key: json-c decides which one stays */
                scan_ws(s);
                if (s->p >= s->end || *s->p++ != ':')
                    break;
            }
            json_object *v = NULL;
            if (!build_value(s, depth + 1, &v))
                break;
            if (array)
                json_object_array_add(o, v);
            else
                json_object_object_add(o, key, v);
            scan_ws(s);
            if (s->p >= s->end)
                break;
            char d = *s->p++;
            if (d == ',')
                continue;
            if (d != (array ? ']' : '}'))
                break;
            *out = o;
            return true;
        }
        json_object_put(o);
        return false;
    }
    if (c == 't' || c == 'f' || c == 'n') {
        const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
        if (!scan_literal(s, word))
            return false;
        *out = c == 'n' ? NULL : json_object_new_boolean(c == 't');
        return true;
    }
    bool negative = c == '-';
    const char *d = s->p + (negative ? 1 : 0);
    if (d >= s->end || *d < '0' || *d > '9' || (negative && *d == '0'))
        return false;
    uint64_t v = 0;
    int digits = 0;
    for (; d < s->end && *d >= '0' && *d <= '9'; d++, digits++)
        v = v * 10 + (uint64_t)(*d - '0');
    if (digits > 18 || (d < s->end && (*d == '.' || *d == 'e' || *d == 'E')))
        return false;
    s->p = d;
    *out = json_object_new_int64(negative ? -(int64_t)v : (int64_t)v);
    return true;
}

static json_object *parse_part_full(const char *p, size_t n, json_tokener *tok, json_type want);

/* An empty container: a new one, or with @lazy NULL (the message makes it
 * only if someone asks). */
static json_object *empty_part(json_type want, bool lazy)
{
    if (lazy)
        return NULL;
    return want == json_type_array ? json_object_new_array() : json_object_new_object();
}

/* *out is the value, or NULL for an empty one under @lazy. false: not read. */
static bool parse_part(const char *p, size_t n, json_tokener *tok, json_type want, bool lazy,
                       json_object **out)
{
    if (n == 2 && ((want == json_type_array && p[0] == '[' && p[1] == ']') ||
                   (want == json_type_object && p[0] == '{' && p[1] == '}'))) {
        *out = empty_part(want, lazy);
        return lazy || *out != NULL;
    }
    *out = parse_part_full(p, n, tok, want);
    return *out != NULL;
}

static json_object *parse_part_full(const char *p, size_t n, json_tokener *tok, json_type want)
{
    scan s = {p, p + n};
    json_object *built = NULL;
    if (build_value(&s, 1, &built)) {
        scan_ws(&s);
        if (s.p == s.end && json_object_is_type(built, want))
            return built;
        json_object_put(built);
    }
    /* What the scan above does not build (a number beyond 18 digits, a
     * fraction, an escape): bmq_json_parse keeps integers beyond 64 bits
     * exact, where json-c's reader would clamp them. */
    (void)tok;
    json_object *o = NULL;
    if (bmq_json_parse(p, n, 0, &o, NULL) != 0 || !json_object_is_type(o, want)) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* 1: envelope filled in; 0: not an envelope (text); -1: unsure, use json-c. */
static int fast_envelope(const char *payload, size_t len, json_tokener *tok, bool lazy,
                         mqtt_envelope *out)
{
    scan s = {payload, payload + len};
    const char *args = NULL, *kwargs = NULL, *origin = NULL, *uid = NULL;
    size_t args_n = 0, kwargs_n = 0, origin_n = 0, uid_n = 0;
    bool origin_str = false, uid_str = false;
    scan_ws(&s);
    if (s.p >= s.end || *s.p != '{' || len > INT32_MAX)
        return 0;
    s.p++;
    scan_ws(&s);
    bool empty = s.p < s.end && *s.p == '}';
    if (empty)
        s.p++;
    while (!empty) {
        bool esc = false;
        scan_ws(&s);
        const char *key = s.p + 1;
        if (!scan_string(&s, &esc) || esc)
            return -1;
        size_t key_n = (size_t)(s.p - 1 - key);
        scan_ws(&s);
        if (s.p >= s.end || *s.p++ != ':')
            return -1;
        scan_ws(&s);
        const char *v = s.p;
        if (!scan_value(&s, 1))
            return -1;
        size_t v_n = (size_t)(s.p - v);
        bool is_str = v[0] == '"';
        if (is_str && memchr(v, '\\', v_n) != NULL &&
            ((key_n == 6 && memcmp(key, "origin", 6) == 0) ||
             (key_n == 3 && memcmp(key, "uid", 3) == 0)))
            return -1;
        if (key_n == 4 && memcmp(key, "args", 4) == 0)
            args = v, args_n = v_n;
        else if (key_n == 6 && memcmp(key, "kwargs", 6) == 0)
            kwargs = v, kwargs_n = v_n;
        else if (key_n == 6 && memcmp(key, "origin", 6) == 0)
            origin = v + 1, origin_n = is_str ? v_n - 2 : 0, origin_str = is_str;
        else if (key_n == 3 && memcmp(key, "uid", 3) == 0)
            uid = v + 1, uid_n = is_str ? v_n - 2 : 0, uid_str = is_str;
        scan_ws(&s);
        if (s.p >= s.end)
            return -1;
        if (*s.p == ',') {
            s.p++;
            continue;
        }
        if (*s.p++ != '}')
            return -1;
        break;
    }
    for (; s.p < s.end; s.p++)
        if (*s.p != ' ' && *s.p != '\t' && *s.p != '\n' && *s.p != '\r' && *s.p != '\0')
            return -1;
    if ((args == NULL && kwargs == NULL) || (args != NULL && args[0] != '[') ||
        (kwargs != NULL && kwargs[0] != '{'))
        return 0; /* valid JSON, but not an envelope */
    json_object *a = NULL, *k = NULL;
    bool a_ok = args ? parse_part(args, args_n, tok, json_type_array, lazy, &a)
                     : ((a = empty_part(json_type_array, lazy)), true);
    bool k_ok = kwargs ? parse_part(kwargs, kwargs_n, tok, json_type_object, lazy, &k)
                       : ((k = empty_part(json_type_object, lazy)), true);
    if (!a_ok || !k_ok) {
        json_object_put(a);
        json_object_put(k);
        return -1;
    }
    out->args = a;
    out->kwargs = k;
    if (origin != NULL && origin_str)
        out->origin = g_strndup(origin, origin_n);
    if (uid != NULL && uid_str) {
        out->uid = g_strndup(uid, uid_n);
        if (!uid_ok(out->uid)) {
            g_free(out->uid);
            out->uid = NULL;
        }
    }
    out->raw = false;
    return 1;
}

static void parse_payload(const void *payload, size_t len, json_tokener *tok, bool lazy,
                          mqtt_envelope *out)
{
    memset(out, 0, sizeof *out);
    json_tokener *own = NULL;
    if (tok == NULL)
        tok = own = json_tokener_new();
    int fast = fast_envelope(payload, len, tok, lazy, out);
    bool env = fast == 1 || (fast < 0 && try_envelope(payload, len, tok, out));
    if (own != NULL)
        json_tokener_free(own);
    if (env)
        return;
    char *text = g_utf8_make_valid(payload, (gssize)len);
    out->args = json_object_new_array();
    json_object_array_add(out->args, json_object_new_string(text));
    out->kwargs = json_object_new_object();
    out->raw = true;
    g_free(text);
}

void mqtt_map__parse_payload(const void *payload, size_t len, json_tokener *tok, mqtt_envelope *out)
{
    parse_payload(payload, len, tok, false, out);
}

void mqtt_map__parse_payload_lazy(const void *payload, size_t len, json_tokener *tok,
                                  mqtt_envelope *out)
{
    parse_payload(payload, len, tok, true, out);
}

void mqtt_map__parse_payload_slow(const void *payload, size_t len, mqtt_envelope *out)
{
    memset(out, 0, sizeof *out);
    if (!try_envelope(payload, len, NULL, out)) {
        char *text = g_utf8_make_valid(payload, (gssize)len);
        out->args = json_object_new_array();
        json_object_array_add(out->args, json_object_new_string(text));
        out->kwargs = json_object_new_object();
        out->raw = true;
        g_free(text);
    }
}

void mqtt_envelope_clear(mqtt_envelope *env)
{
    json_object_put(env->args);
    json_object_put(env->kwargs);
    g_free(env->origin);
    g_free(env->uid);
    memset(env, 0, sizeof *env);
}

char *mqtt_map__sanitize_name(const char *s)
{
    GString *o = g_string_new(NULL);
    for (const char *p = s ? s : ""; *p; p++) {
        unsigned char c = (unsigned char)*p;
        /* also no quote or backslash: the id is written into JSON as is */
        bool bad = c <= ' ' || c == 0x7f || c == ':' || c == '@' || c == '*' || c == '"' ||
                   c == '\\' || needs_escape(*p);
        g_string_append_c(o, bad ? '-' : *p);
    }
    if (o->len == 0)
        g_string_append(o, "hub");
    if (o->str[0] == '_')
        o->str[0] = 'h';
    if (o->len > 64)
        g_string_truncate(o, 64);
    return g_string_free(o, FALSE);
}
