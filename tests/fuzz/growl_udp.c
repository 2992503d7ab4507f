/* growl_udp.c - libFuzzer target for the legacy Growl UDP parser: as
 * received, and with a valid checksum appended so the fuzzer gets past
 * authentication into the packet layouts; accepted notifications must
 * survive a format/parse round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "growl_proto.h"

static void roundtrip(const growl_event *ev)
{
    if (ev->kind != GROWL_EV_NOTIFY)
        return;
    GBytes *pkt = udp__format_notify(ev->application, ev->name, ev->title, ev->text, ev->priority,
                                     ev->sticky, GNTP_HASH_SHA256, "k");
    gsize n;
    const guint8 *p = g_bytes_get_data(pkt, &n);
    growl_event *back = NULL;
    char *err = NULL;
    int rc = udp__parse(p, n, "k", &back, &err);
    CHECK(rc == 0);
    /* Names up to the length the formatter keeps must come back unchanged. */
    if (strlen(ev->name) <= 1024 && strlen(ev->application) <= 1024)
        CHECK(strcmp(back->name, ev->name) == 0 && strcmp(back->application, ev->application) == 0);
    CHECK(back->priority == ev->priority && back->sticky == ev->sticky);
    growl__event_free(back);
    g_bytes_unref(pkt);
}

static void one(const uint8_t *data, size_t size, const char *pw)
{
    growl_event *ev = NULL;
    char *err = NULL;
    int rc = udp__parse(data, size, pw, &ev, &err);
    if (rc == 0) {
        CHECK(ev && !err);
        CHECK(ev->priority >= -2 && ev->priority <= 2);
        roundtrip(ev);
        growl__event_free(ev);
    } else {
        CHECK(!ev && err);
        g_free(err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, "");
    one(data, size, "secret");
    if (size >= 2 && size < 70000 && data[1] < 4) {
        GChecksumType t = data[1] >= 2 ? G_CHECKSUM_SHA256 : G_CHECKSUM_MD5;
        GChecksum *c = g_checksum_new(t);
        g_checksum_update(c, data, (gssize)size);
        g_checksum_update(c, (const guchar *)"secret", 6);
        guint8 d[32];
        gsize dl = sizeof d;
        g_checksum_get_digest(c, d, &dl);
        g_checksum_free(c);
        guint8 *buf = g_malloc(size + dl);
        memcpy(buf, data, size);
        memcpy(buf + size, d, dl);
        one(buf, size + dl, "secret");
        g_free(buf);
    }
    return 0;
}
