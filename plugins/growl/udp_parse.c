/* udp_parse.c - parse and authenticate legacy Growl UDP packets
 * (protocol version 1; layout in udp_format.c).
 *
 * Strict on lengths (every length field must add up to the datagram), so
 * a truncated or padded packet is refused rather than half-read. Tolerant
 * on the flags word: senders disagree on its byte order (the original
 * header used a bit-field whose layout depends on the host's endianness),
 * and the reserved bits are zero, so OR-ing both bytes recovers sticky and
 * priority from either order.
 */
#include "growl_proto.h"

#include <string.h>

static int fail(char **err, const char *msg)
{
    *err = g_strdup(msg);
    return -1;
}

static unsigned get16(const guint8 *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static bool checksum_ok(const guint8 *body, size_t n, const guint8 *sum, size_t sum_len,
                        const char *password)
{
    GChecksum *c = g_checksum_new(sum_len == 32 ? G_CHECKSUM_SHA256 : G_CHECKSUM_MD5);
    g_checksum_update(c, body, (gssize)n);
    if (password && *password)
        g_checksum_update(c, (const guchar *)password, (gssize)strlen(password));
    guint8 d[32];
    gsize dl = sizeof d;
    g_checksum_get_digest(c, d, &dl);
    g_checksum_free(c);
    unsigned diff = 0;
    for (size_t i = 0; i < sum_len; i++)
        diff |= (unsigned)(d[i] ^ sum[i]);
    return dl == sum_len && diff == 0;
}

/* NULL when the field holds a NUL byte (no valid UTF-8 text does). */
static char *take_string(const guint8 *p, size_t n)
{
    if (memchr(p, '\0', n))
        return NULL;
    char *raw = g_strndup((const char *)p, n);
    char *s = growl__utf8_clip(raw, n * 3); /* U+FFFD may replace one byte */
    g_free(raw);
    return s;
}

static int parse_register(const guint8 *b, size_t n, growl_event *ev, char **err)
{
    if (n < 6)
        return fail(err, "truncated registration packet");
    size_t app_len = get16(b + 2);
    unsigned nall = b[4], ndef = b[5];
    size_t pos = 6;
    if (app_len == 0 || n - pos < app_len)
        return fail(err, "bad application name length");
    ev->application = take_string(b + pos, app_len);
    if (!ev->application)
        return fail(err, "NUL byte in the application name");
    pos += app_len;
    ev->notifications = g_ptr_array_new_with_free_func(g_free);
    ev->enabled = g_ptr_array_new_with_free_func(g_free);
    for (unsigned i = 0; i < nall; i++) {
        if (n - pos < 2)
            return fail(err, "truncated notification list");
        size_t l = get16(b + pos);
        pos += 2;
        if (n - pos < l)
            return fail(err, "truncated notification name");
        char *name = take_string(b + pos, l);
        if (!name)
            return fail(err, "NUL byte in a notification name");
        g_ptr_array_add(ev->notifications, name);
        pos += l;
    }
    if (n - pos != ndef)
        return fail(err, "default notification list does not match the packet length");
    for (unsigned i = 0; i < ndef; i++) {
        unsigned idx = b[pos + i];
        if (idx >= nall)
            return fail(err, "default notification index out of range");
        g_ptr_array_add(ev->enabled, g_strdup(ev->notifications->pdata[idx]));
    }
    ev->kind = GROWL_EV_REGISTER;
    return 0;
}

static int parse_notify(const guint8 *b, size_t n, growl_event *ev, char **err)
{
    if (n < 12)
        return fail(err, "truncated notification packet");
    unsigned flags = get16(b + 2);
    size_t ln = get16(b + 4), lt = get16(b + 6), ld = get16(b + 8), la = get16(b + 10);
    if (12 + ln + lt + ld + la != n)
        return fail(err, "string lengths do not match the packet length");
    if (ln == 0 || la == 0)
        return fail(err, "empty notification or application name");
    size_t pos = 12;
    ev->name = take_string(b + pos, ln);
    pos += ln;
    ev->title = take_string(b + pos, lt);
    pos += lt;
    ev->text = take_string(b + pos, ld);
    pos += ld;
    ev->application = take_string(b + pos, la);
    if (!ev->name || !ev->title || !ev->text || !ev->application)
        return fail(err, "NUL byte in a string");
    unsigned bits = (flags & 0xff) | (flags >> 8);
    int prio = (int)((bits >> 1) & 7);
    if (prio & 4)
        prio -= 8;
    ev->priority = CLAMP(prio, -2, 2);
    ev->sticky = bits & 1;
    ev->kind = GROWL_EV_NOTIFY;
    return 0;
}

int udp__parse(const guint8 *buf, size_t len, const char *password, growl_event **out, char **err)
{
    *out = NULL;
    *err = NULL;
    if (len < 2)
        return fail(err, "packet too short");
    if (len > GROWL_UDP_MAX_PACKET)
        return fail(err, "packet too long");
    if (buf[0] == GROWL_UDP_VERSION_AES128)
        return fail(err, "encrypted (protocol version 2) packets are not supported");
    if (buf[0] != GROWL_UDP_VERSION)
        return fail(err, "unknown protocol version");
    unsigned type = buf[1];
    if (type > GROWL_UDP_NOTIFICATION_NOAUTH)
        return fail(err, "unknown packet type");
    size_t sum_len = type >= GROWL_UDP_REGISTRATION_NOAUTH   ? 0
                     : type >= GROWL_UDP_REGISTRATION_SHA256 ? 32
                                                             : 16;
    if (sum_len == 0 && password && *password)
        return fail(err, "unauthenticated packet refused (a password is set)");
    if (len < 2 + sum_len)
        return fail(err, "packet too short");
    size_t body = len - sum_len;
    if (sum_len && !checksum_ok(buf, body, buf + body, sum_len, password))
        return fail(err, "bad checksum (wrong password?)");

    growl_event *ev = g_new0(growl_event, 1);
    int rc =
        (type % 2 == 0) ? parse_register(buf, body, ev, err) : parse_notify(buf, body, ev, err);
    if (rc) {
        growl__event_free(ev);
        return rc;
    }
    *out = ev;
    return 0;
}
