/* gntp_format.c - build GNTP 1.0 requests and responses, and the password
 * key hash of the GNTP security section.
 *
 * Key rule (GNTP 1.0, "Key Generation"): key basis = UTF-8 password bytes
 * followed by the salt bytes; key = H(basis); key hash = hex(H(key)); the
 * information line carries "ALG:KEYHASH.SALT" with the salt hex-encoded.
 * A fresh salt is drawn for every request.
 */
#include "growl_proto.h"

#include <string.h>
#include <sys/random.h>

#include <berrymq/version.h>

#define SALT_LEN 16

static const struct {
    const char *name;
    gntp_hash hash;
    GChecksumType type;
} hash_table[] = {
    {"MD5", GNTP_HASH_MD5, G_CHECKSUM_MD5},
    {"SHA1", GNTP_HASH_SHA1, G_CHECKSUM_SHA1},
    {"SHA256", GNTP_HASH_SHA256, G_CHECKSUM_SHA256},
    {"SHA512", GNTP_HASH_SHA512, G_CHECKSUM_SHA512},
};

int gntp__hash_from_name(const char *name)
{
    if (!name)
        return -1;
    if (g_ascii_strcasecmp(name, "NONE") == 0)
        return GNTP_HASH_NONE;
    for (size_t i = 0; i < G_N_ELEMENTS(hash_table); i++)
        if (g_ascii_strcasecmp(name, hash_table[i].name) == 0)
            return hash_table[i].hash;
    return -1;
}

const char *gntp__hash_name(gntp_hash h)
{
    for (size_t i = 0; i < G_N_ELEMENTS(hash_table); i++)
        if (hash_table[i].hash == h)
            return hash_table[i].name;
    return "NONE";
}

static bool checksum_type(gntp_hash h, GChecksumType *out)
{
    for (size_t i = 0; i < G_N_ELEMENTS(hash_table); i++) {
        if (hash_table[i].hash == h) {
            *out = hash_table[i].type;
            return true;
        }
    }
    return false;
}

static char *hex_upper(const guint8 *p, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    char *s = g_malloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    s[n * 2] = '\0';
    return s;
}

char *gntp__key_hash_hex(gntp_hash h, const char *password, const guint8 *salt, size_t salt_len)
{
    GChecksumType type;
    if (!checksum_type(h, &type))
        return NULL;
    guint8 key[64], hash[64];
    gsize key_len = sizeof key, hash_len = sizeof hash;

    GChecksum *c = g_checksum_new(type);
    if (password)
        g_checksum_update(c, (const guchar *)password, (gssize)strlen(password));
    if (salt_len)
        g_checksum_update(c, salt, (gssize)salt_len);
    g_checksum_get_digest(c, key, &key_len);
    g_checksum_free(c);

    c = g_checksum_new(type);
    g_checksum_update(c, key, (gssize)key_len);
    g_checksum_get_digest(c, hash, &hash_len);
    g_checksum_free(c);
    return hex_upper(hash, hash_len);
}

static void random_bytes(guint8 *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    /* getrandom cannot fail on a supported kernel once seeded; fall back to
     * GLib's generator rather than sending a constant salt. */
    for (; got < n; got++)
        p[got] = (guint8)g_random_int_range(0, 256);
}

char *gntp__key_field(gntp_hash h, const char *password)
{
    guint8 salt[SALT_LEN];
    random_bytes(salt, sizeof salt);
    char *hash = gntp__key_hash_hex(h, password, salt, sizeof salt);
    if (!hash)
        return NULL;
    char *salt_hex = hex_upper(salt, sizeof salt);
    char *field = g_strdup_printf("%s:%s.%s", gntp__hash_name(h), hash, salt_hex);
    g_free(hash);
    g_free(salt_hex);
    return field;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool gntp__key_verify(const char *alg, const char *key_hash, const char *salt_hex,
                      const char *password)
{
    int h = gntp__hash_from_name(alg);
    if (h <= 0 || !key_hash || !salt_hex)
        return false;
    size_t sl = strlen(salt_hex);
    if (sl == 0 || sl % 2 || sl > 512)
        return false;
    guint8 salt[256];
    for (size_t i = 0; i < sl / 2; i++) {
        int hi = hexval(salt_hex[2 * i]), lo = hexval(salt_hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        salt[i] = (guint8)(hi << 4 | lo);
    }
    char *want = gntp__key_hash_hex((gntp_hash)h, password, salt, sl / 2);
    size_t wl = strlen(want);
    bool ok = strlen(key_hash) == wl;
    /* Compare every byte so the time taken does not depend on where the
     * first difference is. */
    unsigned diff = 0;
    for (size_t i = 0; ok && i < wl; i++)
        diff |= (unsigned)(g_ascii_toupper(key_hash[i]) ^ want[i]);
    g_free(want);
    return ok && diff == 0;
}

/* ---- request builder ------------------------------------------------------ */

typedef struct builder {
    GString *s;
    GPtrArray *res_ids;  /* char* */
    GPtrArray *res_data; /* GBytes* */
} builder;

static void builder_init(builder *b, const char *type, gntp_hash hash, const char *password)
{
    b->s = g_string_sized_new(512);
    b->res_ids = g_ptr_array_new_with_free_func(g_free);
    b->res_data = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    g_string_append_printf(b->s, "GNTP/1.0 %s NONE", type);
    if (password && *password && hash != GNTP_HASH_NONE) {
        char *key = gntp__key_field(hash, password);
        if (key) {
            g_string_append_c(b->s, ' ');
            g_string_append(b->s, key);
            g_free(key);
        }
    }
    g_string_append(b->s, "\r\n");
}

/* A header value may not contain CRLF; the spec asks for a bare LF where a
 * newline is meant. Other control characters except tab are dropped. A
 * value of ours that reads as a resource pointer ("x-growl-resource:...")
 * would make the receiver wait for a binary section that never comes, so
 * unless @pointer it gets a zero-width space after "x-growl-resource". */
static void builder_header_full(builder *b, const char *name, const char *value, bool pointer)
{
    static const char pfx[] = "x-growl-resource";
    if (!value)
        return;
    GString *v = g_string_new(NULL);
    char *clean = growl__utf8_clip(value, 65536);
    for (const char *p = clean; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\r')
            continue;
        if (c < 0x20 && c != '\n' && c != '\t')
            continue;
        g_string_append_c(v, (char)c);
    }
    g_free(clean);
    const char *start = v->str;
    while (*start == ' ' || *start == '\t')
        start++;
    if (!pointer && g_ascii_strncasecmp(start, pfx, sizeof pfx - 1) == 0)
        g_string_insert(v, (gssize)(start - v->str) + (gssize)sizeof pfx - 1, "\xe2\x80\x8b");
    g_string_append(b->s, name);
    g_string_append(b->s, ": ");
    g_string_append_len(b->s, v->str, (gssize)v->len);
    g_string_append(b->s, "\r\n");
    g_string_free(v, TRUE);
}

static void builder_header(builder *b, const char *name, const char *value)
{
    builder_header_full(b, name, value, false);
}

/* Add @data as a resource (once per distinct content) and return the
 * pointer value "x-growl-resource://MD5". (transfer full) */
static char *builder_resource(builder *b, GBytes *data)
{
    gsize n;
    const guint8 *p = g_bytes_get_data(data, &n);
    char *id = g_compute_checksum_for_data(G_CHECKSUM_MD5, p ? p : (const guint8 *)"", n);
    bool have = false;
    for (guint i = 0; i < b->res_ids->len; i++)
        if (strcmp(b->res_ids->pdata[i], id) == 0)
            have = true;
    if (!have) {
        g_ptr_array_add(b->res_ids, g_strdup(id));
        g_ptr_array_add(b->res_data, g_bytes_ref(data));
    }
    char *v = g_strconcat("x-growl-resource://", id, NULL);
    g_free(id);
    return v;
}

static void builder_icon(builder *b, const char *header, const gntp_icon *icon)
{
    if (!icon)
        return;
    if (icon->data) {
        char *v = builder_resource(b, icon->data);
        builder_header_full(b, header, v, true);
        g_free(v);
    } else if (icon->url) {
        builder_header(b, header, icon->url);
    }
}

static void builder_origin(builder *b)
{
    builder_header(b, "Origin-Machine-Name", g_get_host_name());
    builder_header(b, "Origin-Software-Name", "berryMQ hub");
    builder_header(b, "Origin-Software-Version", BMQ_VERSION_STRING);
    builder_header(b, "Origin-Platform-Name", "Linux");
}

/* Close the last section, append the binary sections, and hand the bytes
 * over. Every section, binary data included, ends in a blank line, so the
 * request as a whole ends in CRLF CRLF. */
static GBytes *builder_finish(builder *b)
{
    g_string_append(b->s, "\r\n");
    for (guint i = 0; i < b->res_ids->len; i++) {
        gsize n;
        const char *p = g_bytes_get_data(b->res_data->pdata[i], &n);
        g_string_append_printf(b->s, "Identifier: %s\r\nLength: %" G_GSIZE_FORMAT "\r\n\r\n",
                               (const char *)b->res_ids->pdata[i], n);
        if (n)
            g_string_append_len(b->s, p, (gssize)n);
        g_string_append(b->s, "\r\n\r\n");
    }
    g_ptr_array_free(b->res_ids, TRUE);
    g_ptr_array_free(b->res_data, TRUE);
    return g_string_free_to_bytes(b->s);
}

GBytes *gntp__format_register(const gntp_register *r, gntp_hash hash, const char *password)
{
    builder b;
    builder_init(&b, "REGISTER", hash, password);
    builder_header(&b, "Application-Name", r->application);
    builder_icon(&b, "Application-Icon", r->icon);
    builder_origin(&b);
    char count[32];
    g_snprintf(count, sizeof count, "%zu", r->n_names);
    builder_header(&b, "Notifications-Count", count);
    for (size_t i = 0; i < r->n_names; i++) {
        g_string_append(b.s, "\r\n");
        builder_header(&b, "Notification-Name", r->names[i]);
        builder_header(&b, "Notification-Display-Name", r->names[i]);
        builder_header(&b, "Notification-Enabled", "True");
        builder_icon(&b, "Notification-Icon", r->icon);
    }
    return builder_finish(&b);
}

GBytes *gntp__format_notify(const gntp_notify *n, gntp_hash hash, const char *password)
{
    builder b;
    builder_init(&b, "NOTIFY", hash, password);
    builder_header(&b, "Application-Name", n->application);
    builder_header(&b, "Notification-Name", n->name);
    builder_header(&b, "Notification-ID", n->id);
    builder_header(&b, "Notification-Title", n->title ? n->title : "");
    builder_header(&b, "Notification-Text", n->text);
    builder_header(&b, "Notification-Sticky", n->sticky ? "True" : "False");
    char prio[16];
    g_snprintf(prio, sizeof prio, "%d", CLAMP(n->priority, -2, 2));
    builder_header(&b, "Notification-Priority", prio);
    builder_icon(&b, "Notification-Icon", n->icon);
    if (n->callback_context) {
        builder_header(&b, "Notification-Callback-Context", n->callback_context);
        builder_header(&b, "Notification-Callback-Context-Type",
                       n->callback_context_type ? n->callback_context_type : "string");
    }
    builder_origin(&b);
    return builder_finish(&b);
}

GBytes *gntp__format_ok(const char *action, const char *notification_id, GPtrArray *extra)
{
    GString *s = g_string_new("GNTP/1.0 -OK NONE\r\n");
    builder b = {.s = s};
    builder_header(&b, "Response-Action", action);
    builder_header(&b, "Notification-ID", notification_id);
    for (guint i = 0; extra && i < extra->len; i++) {
        const gntp_header *h = extra->pdata[i];
        builder_header(&b, h->name, h->value);
    }
    builder_header(&b, "Origin-Software-Name", "berryMQ hub");
    g_string_append(s, "\r\n");
    return g_string_free_to_bytes(s);
}

GBytes *gntp__format_error(const char *action, int code, const char *description)
{
    GString *s = g_string_new("GNTP/1.0 -ERROR NONE\r\n");
    if (action)
        g_string_append_printf(s, "Response-Action: %s\r\n", action);
    g_string_append_printf(s, "Error-Code: %d\r\n", code);
    builder b = {.s = s};
    builder_header(&b, "Error-Description", description ? description : "error");
    g_string_append(s, "\r\n");
    return g_string_free_to_bytes(s);
}
