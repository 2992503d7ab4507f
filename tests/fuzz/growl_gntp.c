/* growl_gntp.c - libFuzzer target for the GNTP parser of the growl plugin:
 * request framing (sections, binary resources, size limits), response
 * framing, request validation with and without a password, and a
 * format/parse round trip of what was accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "growl_proto.h"

static void roundtrip(const growl_event *ev)
{
    GBytes *req = NULL;
    if (ev->kind == GROWL_EV_NOTIFY) {
        gntp_icon icon = {.url = ev->icon_url, .data = ev->icon_data};
        gntp_notify n = {.application = ev->application,
                         .name = ev->name,
                         .id = ev->id,
                         .title = ev->title,
                         .text = ev->text,
                         .priority = ev->priority,
                         .sticky = ev->sticky,
                         .icon = &icon,
                         .callback_context = "x:y",
                         .callback_context_type = "t"};
        req = gntp__format_notify(&n, GNTP_HASH_SHA256, "pw");
    } else {
        gntp_register r = {.application = ev->application,
                           .names = (const char *const *)ev->notifications->pdata,
                           .n_names = ev->notifications->len};
        req = gntp__format_register(&r, GNTP_HASH_MD5, "pw");
    }
    gsize len;
    const guint8 *p = g_bytes_get_data(req, &len);
    gntp_msg *m = NULL;
    size_t used = 0;
    int code = 0;
    char *err = NULL;
    /* What we write is always one complete message. */
    int rc = gntp__parse(p, len, true, 8 * 1024 * 1024, &m, &used, &code, &err);
    CHECK(rc != GNTP_PARSE_MORE);
    if (rc == 0) {
        CHECK(used == len);
        growl_event *back = NULL;
        if (gntp__request_to_event(m, "pw", &back, &code, &err) == 0) {
            CHECK(back->kind == ev->kind);
            growl__event_free(back);
        }
    }
    g_free(err);
    gntp__msg_free(m);
    g_bytes_unref(req);
}

static void one(const uint8_t *data, size_t size, bool request, size_t max, const char *pw)
{
    gntp_msg *m = NULL;
    size_t used = 0;
    int code = 0;
    char *err = NULL;
    int rc = gntp__parse(data, size, request, max, &m, &used, &code, &err);
    if (rc < 0) {
        CHECK(err != NULL && code >= 200 && code <= 500);
        g_free(err);
        return;
    }
    if (rc == GNTP_PARSE_MORE) {
        CHECK(m == NULL && err == NULL);
        return;
    }
    CHECK(m && used <= size && used <= max);
    for (guint s = 0; s < gntp__msg_n_sections(m); s++)
        (void)gntp__msg_get(m, s, "Notification-Callback-Result");
    if (request) {
        growl_event *ev = NULL;
        if (gntp__request_to_event(m, pw, &ev, &code, &err) == 0) {
            CHECK(ev->application && *ev->application);
            roundtrip(ev);
            growl__event_free(ev);
        } else {
            CHECK(err != NULL && code >= 200 && code <= 500);
            g_free(err);
        }
    }
    gntp__msg_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, true, 1024 * 1024, "");
    one(data, size, true, 512, "secret");
    one(data, size, false, 65536, "");
    return 0;
}
