/* udp_format.c - build legacy Growl UDP packets (protocol version 1).
 *
 * Registration: version, type, appNameLen (16-bit, network order),
 * numAllNotifications, numDefaultNotifications, application name, then per
 * notification a 16-bit length and the name, then one index byte per
 * default notification, then the checksum.
 * Notification: version, type, flags (16-bit: sticky in bit 0, the priority
 * as a signed 3-bit number in bits 1-3, the rest reserved), then the 16-bit
 * lengths of name, title, description and application name, the four
 * strings, and the checksum.
 * Checksum: MD5 (types 0/1) or SHA-256 (types 2/3) of everything before it
 * followed by the password bytes; NOAUTH packets (types 4/5) carry none.
 */
#include "growl_proto.h"

#include <string.h>

static bool auth_info(gntp_hash auth, int *type_offset, GChecksumType *ct)
{
    switch (auth) {
    case GNTP_HASH_MD5:
        *type_offset = 0;
        *ct = G_CHECKSUM_MD5;
        return true;
    case GNTP_HASH_SHA256:
        *type_offset = 2;
        *ct = G_CHECKSUM_SHA256;
        return true;
    case GNTP_HASH_NONE:
        *type_offset = 4;
        *ct = G_CHECKSUM_MD5;
        return true;
    default:
        return false;
    }
}

static void put16(GByteArray *a, size_t v)
{
    guint8 b[2] = {(guint8)(v >> 8), (guint8)v};
    g_byte_array_append(a, b, 2);
}

static void put8(GByteArray *a, unsigned v)
{
    guint8 b = (guint8)v;
    g_byte_array_append(a, &b, 1);
}

static GBytes *finish(GByteArray *a, gntp_hash auth, const char *password)
{
    if (auth != GNTP_HASH_NONE) {
        GChecksumType ct = auth == GNTP_HASH_SHA256 ? G_CHECKSUM_SHA256 : G_CHECKSUM_MD5;
        GChecksum *c = g_checksum_new(ct);
        g_checksum_update(c, a->data, a->len);
        if (password && *password)
            g_checksum_update(c, (const guchar *)password, (gssize)strlen(password));
        guint8 d[32];
        gsize dl = sizeof d;
        g_checksum_get_digest(c, d, &dl);
        g_checksum_free(c);
        g_byte_array_append(a, d, (guint)dl);
    }
    return g_byte_array_free_to_bytes(a);
}

GBytes *udp__format_register(const char *application, const char *const *names, size_t n_names,
                             gntp_hash auth, const char *password)
{
    int off;
    GChecksumType ct;
    if (!auth_info(auth, &off, &ct))
        return NULL;
    /* 255 names of at most 200 bytes each stay below the datagram limit. */
    size_t n = MIN(n_names, 255);
    char *app = growl__utf8_clip(application ? application : "", 1024);
    GByteArray *a = g_byte_array_new();
    put8(a, GROWL_UDP_VERSION);
    put8(a, (unsigned)(GROWL_UDP_REGISTRATION + off));
    put16(a, strlen(app));
    put8(a, (unsigned)n);
    put8(a, (unsigned)n);
    g_byte_array_append(a, (const guint8 *)app, (guint)strlen(app));
    for (size_t i = 0; i < n; i++) {
        char *nm = growl__utf8_clip(names[i], 200);
        put16(a, strlen(nm));
        g_byte_array_append(a, (const guint8 *)nm, (guint)strlen(nm));
        g_free(nm);
    }
    for (size_t i = 0; i < n; i++)
        put8(a, (unsigned)i);
    g_free(app);
    return finish(a, auth, password);
}

GBytes *udp__format_notify(const char *application, const char *name, const char *title,
                           const char *text, int priority, bool sticky, gntp_hash auth,
                           const char *password)
{
    int off;
    GChecksumType ct;
    if (!auth_info(auth, &off, &ct))
        return NULL;
    char *app = growl__utf8_clip(application ? application : "", 1024);
    char *nm = growl__utf8_clip(name ? name : "", 1024);
    char *ti = growl__utf8_clip(title ? title : "", 4096);
    /* The description takes what is left of one datagram. */
    size_t used = 12 + strlen(app) + strlen(nm) + strlen(ti) + 32;
    char *tx = growl__utf8_clip(text ? text : "", GROWL_UDP_MAX_PACKET - used);

    unsigned flags = ((unsigned)(CLAMP(priority, -2, 2) & 7) << 1) | (sticky ? 1u : 0u);
    GByteArray *a = g_byte_array_new();
    put8(a, GROWL_UDP_VERSION);
    put8(a, (unsigned)(GROWL_UDP_NOTIFICATION + off));
    put16(a, flags);
    put16(a, strlen(nm));
    put16(a, strlen(ti));
    put16(a, strlen(tx));
    put16(a, strlen(app));
    g_byte_array_append(a, (const guint8 *)nm, (guint)strlen(nm));
    g_byte_array_append(a, (const guint8 *)ti, (guint)strlen(ti));
    g_byte_array_append(a, (const guint8 *)tx, (guint)strlen(tx));
    g_byte_array_append(a, (const guint8 *)app, (guint)strlen(app));
    g_free(app);
    g_free(nm);
    g_free(ti);
    g_free(tx);
    return finish(a, auth, password);
}
