/* growl_proto_test.c - the growl plugin's wire formats against the
 * protocol texts: GNTP key hashes (fixed vectors computed independently,
 * plus a second implementation of the key rule below), exact request bytes,
 * binary resource sections, legacy UDP packets byte for byte, the parsers'
 * tolerance and their error codes, and the templates.
 */
#include <string.h>

#include <glib.h>

#include "growl_proto.h"

#include "check.h"

/* ---- helpers written from the specs, independent of the plugin --------------- */

static GBytes *unhex(const char *hex)
{
    size_t n = strlen(hex) / 2;
    guint8 *b = g_malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        char tmp[3] = {hex[2 * i], hex[2 * i + 1], 0};
        b[i] = (guint8)strtoul(tmp, NULL, 16);
    }
    return g_bytes_new_take(b, n);
}

static char *hexstr(GBytes *b)
{
    gsize n;
    const guint8 *p = g_bytes_get_data(b, &n);
    GString *s = g_string_new(NULL);
    for (gsize i = 0; i < n; i++)
        g_string_append_printf(s, "%02x", p[i]);
    return g_string_free(s, FALSE);
}

/* GNTP key rule, second implementation: keyhash = hex(H(H(pw || salt))). */
static char *spec_keyhash(GChecksumType t, const char *pw, const char *salt_hex)
{
    GBytes *salt = unhex(salt_hex);
    GByteArray *basis = g_byte_array_new();
    g_byte_array_append(basis, (const guint8 *)pw, (guint)strlen(pw));
    gsize sl;
    const guint8 *sp = g_bytes_get_data(salt, &sl);
    g_byte_array_append(basis, sp, (guint)sl);
    guint8 key[64];
    gsize kl = sizeof key;
    GChecksum *c = g_checksum_new(t);
    g_checksum_update(c, basis->data, basis->len);
    g_checksum_get_digest(c, key, &kl);
    g_checksum_free(c);
    char *h = g_compute_checksum_for_data(t, key, kl);
    char *up = g_ascii_strup(h, -1);
    g_free(h);
    g_bytes_unref(salt);
    g_byte_array_unref(basis);
    return up;
}

static char *bytes_str(GBytes *b)
{
    gsize n;
    const char *p = g_bytes_get_data(b, &n);
    return g_strndup(p, n);
}

/* Drop the Origin-* lines (they carry the host name and version). */
static char *without_origin(const char *req)
{
    GString *s = g_string_new(NULL);
    char **lines = g_strsplit(req, "\r\n", -1);
    for (char **l = lines; *l; l++) {
        if (g_str_has_prefix(*l, "Origin-"))
            continue;
        g_string_append(s, *l);
        if (l[1])
            g_string_append(s, "\r\n");
    }
    g_strfreev(lines);
    return g_string_free(s, FALSE);
}

/* ---- key hashes --------------------------------------------------------------- */

static void test_key_vectors(void)
{
    static const struct {
        const char *pw;
        gntp_hash h;
        const char *want;
    } v[] = {
        {"foo", GNTP_HASH_MD5, "75F5A44925528ACD041EE624234FCEF7"},
        {"foo", GNTP_HASH_SHA1, "CF9DDFDCAE7DABD4C7D980F396A0CD84A8616884"},
        {"foo", GNTP_HASH_SHA256,
         "D8DC105C19C662AA6E5D600C0DF389981076CA16D60D5C8A3B1CC82D73E1E39A"},
        {"foo", GNTP_HASH_SHA512,
         "71B9D27D9FE4C4E13DF2113316689DBC39BC2F0731D36F00895B21FDEC1C11D5063A98FFB8D325A87DE2B984"
         "CBFB23543184A5DE907AB0572A41614F901B7779"},
        {"p\xc3\xa4ssw\xc3\xb6rd", GNTP_HASH_MD5, "78EBA1588412EDBC0F750CD52B760A95"},
        {"p\xc3\xa4ssw\xc3\xb6rd", GNTP_HASH_SHA256,
         "20B91AC272A83B99DA0365D70C5D655DE904EA3CF2B7B536E77C96A34594D1C1"},
    };
    GBytes *salt = unhex("0123456789ABCDEF0123456789ABCDEF");
    gsize sl;
    const guint8 *sp = g_bytes_get_data(salt, &sl);
    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        char *got = gntp__key_hash_hex(v[i].h, v[i].pw, sp, sl);
        if (v[i].want) {
            CHECK_STR(got, v[i].want);
            char *lower = g_ascii_strdown(got, -1);
            CHECK(gntp__key_verify(gntp__hash_name(v[i].h), lower,
                                   "0123456789abcdef0123456789ABCDEF", v[i].pw));
            CHECK(!(gntp__key_verify(gntp__hash_name(v[i].h), lower,
                                     "0123456789abcdef0123456789ABCDEF", "fo")));
            g_free(lower);
        } else {
            CHECK(strcmp(got, "78EBA1588412EDBC0F750CD52B760A95") != 0);
        }
        g_free(got);
    }
    CHECK(!(gntp__key_verify("MD5", "75F5A44925528ACD041EE624234FCEF7", "0123X", "foo")));
    CHECK(!(gntp__key_verify("CRC32", "00", "00", "foo")));
    g_bytes_unref(salt);
}

/* A formatted request's key field verifies with the test's own rule, and
 * every request gets a fresh salt. */
static void test_key_field_fresh(void)
{
    static const struct {
        gntp_hash h;
        GChecksumType t;
    } algs[] = {{GNTP_HASH_MD5, G_CHECKSUM_MD5},
                {GNTP_HASH_SHA1, G_CHECKSUM_SHA1},
                {GNTP_HASH_SHA256, G_CHECKSUM_SHA256},
                {GNTP_HASH_SHA512, G_CHECKSUM_SHA512}};
    for (size_t a = 0; a < G_N_ELEMENTS(algs); a++) {
        char *salts[2];
        for (int round = 0; round < 2; round++) {
            gntp_notify n = {.application = "app", .name = "n", .title = "t"};
            GBytes *req = gntp__format_notify(&n, algs[a].h, "s3cret");
            char *s = bytes_str(req);
            char *eol = strstr(s, "\r\n");
            *eol = '\0';
            char **tok = g_strsplit(s, " ", -1);
            CHECK(g_strv_length(tok) == 4);
            CHECK_STR(tok[0], "GNTP/1.0");
            CHECK_STR(tok[1], "NOTIFY");
            CHECK_STR(tok[2], "NONE");
            char *colon = strchr(tok[3], ':'), *dot = strchr(tok[3], '.');
            CHECK(colon != NULL);
            CHECK(dot != NULL);
            *colon = *dot = '\0';
            CHECK_STR(tok[3], gntp__hash_name(algs[a].h));
            CHECK((strlen(dot + 1)) >= 8); /* 4..16 salt bytes */
            CHECK((strlen(dot + 1)) <= 32);
            char *want = spec_keyhash(algs[a].t, "s3cret", dot + 1);
            CHECK_STR(colon + 1, want);
            salts[round] = g_strdup(dot + 1);
            g_free(want);
            g_strfreev(tok);
            g_free(s);
            g_bytes_unref(req);
        }
        CHECK(strcmp(salts[0], salts[1]) != 0);
        g_free(salts[0]);
        g_free(salts[1]);
    }
}

/* ---- GNTP requests ------------------------------------------------------------- */

static void test_register_bytes(void)
{
    const char *names[] = {"build", "deploy"};
    gntp_register r = {.application = "berryMQ", .names = names, .n_names = 2};
    GBytes *req = gntp__format_register(&r, GNTP_HASH_MD5, "");
    char *s = bytes_str(req);
    char *got = without_origin(s);
    CHECK_STR(got, "GNTP/1.0 REGISTER NONE\r\n"
                   "Application-Name: berryMQ\r\n"
                   "Notifications-Count: 2\r\n"
                   "\r\n"
                   "Notification-Name: build\r\n"
                   "Notification-Display-Name: build\r\n"
                   "Notification-Enabled: True\r\n"
                   "\r\n"
                   "Notification-Name: deploy\r\n"
                   "Notification-Display-Name: deploy\r\n"
                   "Notification-Enabled: True\r\n"
                   "\r\n");
    CHECK(g_str_has_suffix(s, "\r\n\r\n"));
    CHECK((strstr(s, "\r\nOrigin-Software-Name: berryMQ hub\r\n")) != NULL);
    g_free(got);
    g_free(s);
    g_bytes_unref(req);
}

static void test_notify_bytes_icon(void)
{
    static const guint8 png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 1, 2, '\r', '\n'};
    gntp_icon icon = {.data = g_bytes_new_static(png, sizeof png)};
    gntp_notify n = {.application = "berryMQ",
                     .name = "build",
                     .id = "n1",
                     .title = "Build done",
                     .text = "line1\r\nline2",
                     .priority = 5,
                     .sticky = true,
                     .icon = &icon,
                     .callback_context = "build:done",
                     .callback_context_type = "berrymq-id"};
    GBytes *req = gntp__format_notify(&n, GNTP_HASH_NONE, "ignored");
    gsize len;
    const char *p = g_bytes_get_data(req, &len);
    char *md5 = g_compute_checksum_for_data(G_CHECKSUM_MD5, png, sizeof png);
    /* The headers, up to the blank line that ends them. */
    const char *blank = g_strstr_len(p, (gssize)len, "\r\n\r\n");
    CHECK(blank != NULL);
    char *head = g_strndup(p, (gsize)(blank - p) + 2);
    char *got = without_origin(head);
    char *want = g_strdup_printf("GNTP/1.0 NOTIFY NONE\r\n"
                                 "Application-Name: berryMQ\r\n"
                                 "Notification-Name: build\r\n"
                                 "Notification-ID: n1\r\n"
                                 "Notification-Title: Build done\r\n"
                                 "Notification-Text: line1\nline2\r\n"
                                 "Notification-Sticky: True\r\n"
                                 "Notification-Priority: 2\r\n"
                                 "Notification-Icon: x-growl-resource://%s\r\n"
                                 "Notification-Callback-Context: build:done\r\n"
                                 "Notification-Callback-Context-Type: berrymq-id\r\n",
                                 md5);
    CHECK_STR(got, want);
    /* The binary section follows, then the request ends in CRLF CRLF. */
    GString *tail = g_string_new(NULL);
    g_string_append_printf(tail, "\r\n\r\nIdentifier: %s\r\nLength: %zu\r\n\r\n", md5, sizeof png);
    g_string_append_len(tail, (const char *)png, sizeof png);
    g_string_append(tail, "\r\n\r\n");
    CHECK(len > tail->len);
    CHECK((size_t)(tail->len) == (size_t)(tail->len) &&
          memcmp(p + len - tail->len, tail->str, tail->len) == 0);
    g_string_free(tail, TRUE);
    g_free(want);
    g_free(got);
    g_free(head);
    g_free(md5);
    g_bytes_unref(req);
    g_bytes_unref(icon.data);
}

static void test_notify_icon_url(void)
{
    gntp_icon icon = {.url = "http://example.org/i.png"};
    gntp_notify n = {.application = "a", .name = "b", .title = "c", .icon = &icon};
    GBytes *req = gntp__format_notify(&n, GNTP_HASH_MD5, NULL);
    char *s = bytes_str(req);
    CHECK(g_str_has_prefix(s, "GNTP/1.0 NOTIFY NONE\r\n"));
    CHECK((strstr(s, "\r\nNotification-Icon: http://example.org/i.png\r\n")) != NULL);
    CHECK((strstr(s, "Identifier:")) == NULL);
    CHECK((strstr(s, "Callback")) == NULL);
    g_free(s);
    g_bytes_unref(req);
}

/* ---- legacy UDP ------------------------------------------------------------------ */

static void check_hex(GBytes *b, const char *want)
{
    char *h = hexstr(b);
    CHECK_STR(h, want);
    g_free(h);
}

static void test_udp_vectors(void)
{
    const char *names[] = {"build", "deploy"};
    GBytes *b = udp__format_register("berryMQ", names, 2, GNTP_HASH_MD5, "secret");
    check_hex(b, "01000007020262657272794d5100056275696c6400066465706c6f790001"
                 "d932a2071ddb458aa180148728ef00e8");
    g_bytes_unref(b);
    b = udp__format_register("berryMQ", names, 2, GNTP_HASH_SHA256, "secret");
    check_hex(b, "01020007020262657272794d5100056275696c6400066465706c6f790001"
                 "8a5f8acff868bd8c0afca66ff7e1097fa86e4ea459c2aeb5aed6d6bde8aa2bcd");
    g_bytes_unref(b);
    b = udp__format_notify("berryMQ", "build", "T", "x", -2, true, GNTP_HASH_MD5, "secret");
    check_hex(b, "0101000d00050001000100076275696c64547862657272794d51"
                 "eeec69e421e4fdd5f13dd56a2c23fe56");
    g_bytes_unref(b);
    b = udp__format_notify("berryMQ", "build", "T\xc3\xaf", "x", 1, false, GNTP_HASH_SHA256, "");
    check_hex(b, "0103000200050003000100076275696c6454c3af7862657272794d51"
                 "6098d79ed96352de292666931c75a4b114a59590688556a4fd4be366b7d91212");
    g_bytes_unref(b);
    b = udp__format_notify("berryMQ", "build", "T", "x", 2, false, GNTP_HASH_NONE, "");
    check_hex(b, "0105000400050001000100076275696c64547862657272794d51");
    g_bytes_unref(b);
    CHECK((udp__format_notify("a", "b", "c", "d", 0, false, GNTP_HASH_SHA1, "")) == NULL);
}

static void test_udp_parse(void)
{
    growl_event *ev = NULL;
    char *err = NULL;
    GBytes *b = unhex("0101000d00050001000100076275696c64547862657272794d51"
                      "eeec69e421e4fdd5f13dd56a2c23fe56");
    gsize n;
    const guint8 *p = g_bytes_get_data(b, &n);
    CHECK((udp__parse(p, n, "secret", &ev, &err)) == 0);
    CHECK(ev->kind == GROWL_EV_NOTIFY);
    CHECK_STR(ev->application, "berryMQ");
    CHECK_STR(ev->name, "build");
    CHECK_STR(ev->title, "T");
    CHECK_STR(ev->text, "x");
    CHECK(ev->priority == -2);
    CHECK(ev->sticky);
    growl__event_free(ev);
    /* Wrong password, truncated, padded. */
    CHECK((udp__parse(p, n, "Secret", &ev, &err)) < 0);
    CHECK((strstr(err, "checksum")) != NULL);
    g_clear_pointer(&err, g_free);
    for (gsize cut = 0; cut < n; cut++) {
        CHECK((udp__parse(p, cut, "secret", &ev, &err)) < 0);
        CHECK(ev == NULL);
        g_clear_pointer(&err, g_free);
    }
    g_bytes_unref(b);

    /* The flags word in the byte order of little-endian bit-field senders. */
    guint8 le[] = {1, 5, 0x0d, 0x00, 0, 1, 0, 1, 0, 0, 0, 1, 'n', 't', 'a'};
    CHECK((udp__parse(le, sizeof le, "", &ev, &err)) == 0);
    CHECK(ev->priority == -2);
    CHECK(ev->sticky);
    CHECK_STR(ev->text, "");
    growl__event_free(ev);
    /* NOAUTH is refused once a password is set; AES packets are refused. */
    CHECK((udp__parse(le, sizeof le, "pw", &ev, &err)) < 0);
    g_clear_pointer(&err, g_free);
    le[0] = 2;
    CHECK((udp__parse(le, sizeof le, "", &ev, &err)) < 0);
    g_clear_pointer(&err, g_free);

    /* Registration with default indexes. */
    b = unhex("01020007020262657272794d5100056275696c6400066465706c6f790001"
              "8a5f8acff868bd8c0afca66ff7e1097fa86e4ea459c2aeb5aed6d6bde8aa2bcd");
    p = g_bytes_get_data(b, &n);
    CHECK((udp__parse(p, n, "secret", &ev, &err)) == 0);
    CHECK(ev->kind == GROWL_EV_REGISTER);
    CHECK(ev->notifications->len == 2);
    CHECK_STR(ev->notifications->pdata[1], "deploy");
    CHECK(ev->enabled->len == 2);
    growl__event_free(ev);
    g_bytes_unref(b);
    /* An oversized datagram. */
    guint8 *big = g_malloc0(GROWL_UDP_MAX_PACKET + 10);
    big[0] = 1;
    big[1] = 5;
    CHECK((udp__parse(big, GROWL_UDP_MAX_PACKET + 10, "", &ev, &err)) < 0);
    g_clear_pointer(&err, g_free);
    g_free(big);
}

/* ---- GNTP parsing ------------------------------------------------------------------ */

static int parse_all(const char *req, size_t len, const char *pw, growl_event **ev, int *code)
{
    gntp_msg *m = NULL;
    size_t used = 0;
    char *err = NULL;
    *ev = NULL;
    int rc = gntp__parse((const guint8 *)req, len, true, 65536, &m, &used, code, &err);
    if (rc != 0) {
        g_free(err);
        return rc;
    }
    CHECK(used == len);
    rc = gntp__request_to_event(m, pw, ev, code, &err);
    g_free(err);
    gntp__msg_free(m);
    return rc;
}

static void test_gntp_tolerant(void)
{
    /* Two spaces before the key field, a trailing space, header names in
     * odd case, no space after the colon, a bare LF inside a value. */
    char *key = gntp__key_field(GNTP_HASH_SHA256, "pw");
    char *req = g_strdup_printf("GNTP/1.0 NOTIFY NONE  %s \r\n"
                                "application-NAME: App\r\n"
                                "NOTIFICATION-NAME:Done\r\n"
                                "notification-title:   Hello  \r\n"
                                "Notification-Text: a\nb\r\n"
                                "Notification-Priority: 7\r\n"
                                "notification-sticky: yes\r\n"
                                "Data-Ref: 42\r\n"
                                "\r\n",
                                key);
    size_t len = strlen(req);
    /* Byte by byte: incomplete until the very last byte. */
    for (size_t i = 1; i < len; i++) {
        gntp_msg *m = NULL;
        size_t used;
        int code;
        char *err = NULL;
        int rc = gntp__parse((const guint8 *)req, i, true, 65536, &m, &used, &code, &err);
        if (rc != GNTP_PARSE_MORE)
            g_error("prefix of %zu bytes: rc %d (%s)", i, rc, err ? err : "");
    }
    growl_event *ev;
    int code = 0;
    CHECK((parse_all(req, len, "pw", &ev, &code)) == 0);
    CHECK(ev->kind == GROWL_EV_NOTIFY);
    CHECK_STR(ev->application, "App");
    CHECK_STR(ev->name, "Done");
    CHECK_STR(ev->title, "Hello");
    CHECK_STR(ev->text, "a\nb");
    CHECK(ev->priority == 2);
    CHECK(ev->sticky);
    CHECK(ev->data_headers->len == 1);
    growl__event_free(ev);
    /* Wrong password, missing key. */
    CHECK((parse_all(req, len, "PW", &ev, &code)) < 0);
    CHECK(code == GNTP_E_NOT_AUTHORIZED);
    g_free(req);
    g_free(key);
    const char *nokey = "GNTP/1.0 NOTIFY NONE\r\nApplication-Name: a\r\nNotification-Name: b\r\n"
                        "Notification-Title: c\r\n\r\n";
    CHECK((parse_all(nokey, strlen(nokey), "pw", &ev, &code)) < 0);
    CHECK(code == GNTP_E_NOT_AUTHORIZED);
    CHECK((parse_all(nokey, strlen(nokey), "", &ev, &code)) == 0);
    growl__event_free(ev);
}

static void test_gntp_register_resources(void)
{
    const char *req = "GNTP/1.0 REGISTER NONE\r\n"
                      "Application-Name: SurfWriter\r\n"
                      "Application-Icon: http://www.site.org/image.jpg\r\n"
                      "Notifications-Count: 2\r\n"
                      "\r\n"
                      "Notification-Name: Download Complete\r\n"
                      "Notification-Icon: x-growl-resource://cb08ca4a7bb5f9683c19133a84872ca7\r\n"
                      "Notification-Enabled: True\r\n"
                      "\r\n"
                      "Notification-Name: Document Published\r\n"
                      "X-Sound-Alt: x-growl-resource://f082d4e3bdfe15f8f5f2450bff69fb17\r\n"
                      "\r\n"
                      "Identifier: cb08ca4a7bb5f9683c19133a84872ca7\r\n"
                      "Length: 4\r\n"
                      "\r\n"
                      "AB\r\n"
                      "\r\n"
                      "Identifier: f082d4e3bdfe15f8f5f2450bff69fb17\r\n"
                      "Length: 16\r\n"
                      "\r\n"
                      "FGHIJKLMNOPQRSTU\r\n"
                      "\r\n";
    size_t len = strlen(req);
    gntp_msg *m = NULL;
    size_t used;
    int code;
    char *err = NULL;
    CHECK((gntp__parse((const guint8 *)req, len, true, 65536, &m, &used, &code, &err)) == 0);
    CHECK(used == len);
    CHECK(gntp__msg_n_sections(m) == 3);
    GBytes *r1 = g_hash_table_lookup(m->resources, "cb08ca4a7bb5f9683c19133a84872ca7");
    CHECK(r1 != NULL);
    CHECK((size_t)(g_bytes_get_size(r1)) == (size_t)(4) &&
          memcmp(g_bytes_get_data(r1, NULL), "AB\r\n", g_bytes_get_size(r1)) == 0);
    growl_event *ev;
    CHECK((gntp__request_to_event(m, "", &ev, &code, &err)) == 0);
    CHECK(ev->kind == GROWL_EV_REGISTER);
    CHECK(ev->notifications->len == 2);
    CHECK(ev->enabled->len == 1);
    CHECK_STR(ev->icon_url, "http://www.site.org/image.jpg");
    growl__event_free(ev);
    gntp__msg_free(m);
    /* Every strict prefix is incomplete, never an error or a success. */
    for (size_t i = 1; i < len - 4; i++)
        CHECK((gntp__parse((const guint8 *)req, i, true, 65536, &m, &used, &code, &err)) ==
              GNTP_PARSE_MORE);
    /* Over the size limit. */
    CHECK((gntp__parse((const guint8 *)req, len, true, 100, &m, &used, &code, &err)) < 0);
    CHECK(code == GNTP_E_INVALID_REQUEST);
    g_free(err);
}

static void test_gntp_errors(void)
{
    static const struct {
        const char *req;
        int code;
    } v[] = {
        {"GET / HTTP/1.1\r\n\r\n", GNTP_E_UNKNOWN_PROTOCOL},
        {"GNTP/2.0 NOTIFY NONE\r\n\r\n", GNTP_E_UNKNOWN_PROTOCOL_VERSION},
        {"GNTP/1.0 NOTIFY NONE\r\nApplication-Name: a\r\nNotification-Name: b\r\n\r\n",
         GNTP_E_REQUIRED_HEADER_MISSING},
        {"GNTP/1.0 REGISTER NONE\r\nNotifications-Count: 0\r\n\r\n",
         GNTP_E_REQUIRED_HEADER_MISSING},
        {"GNTP/1.0 NOTIFY AES:00112233 MD5:00.00\r\n\r\n", GNTP_E_INVALID_REQUEST},
        {"GNTP/1.0 SUBSCRIBE NONE\r\nSubscriber-ID: x\r\n\r\n", GNTP_E_INVALID_REQUEST},
        {"GNTP/1.0 NOTIFY NONE\r\nno colon here\r\n\r\n", GNTP_E_INVALID_REQUEST},
        {"GNTP/1.0 REGISTER NONE\r\nNotifications-Count: x\r\n\r\n", GNTP_E_INVALID_REQUEST},
        {"GNTP/1.0 NOTIFY NONE MD5\r\n\r\n", GNTP_E_INVALID_REQUEST},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        growl_event *ev;
        int code = 0;
        int rc = parse_all(v[i].req, strlen(v[i].req), "", &ev, &code);
        if (rc >= 0 || code != v[i].code)
            g_error("case %zu: rc %d code %d, want code %d", i, rc, code, v[i].code);
        CHECK(ev == NULL);
    }
}

static void test_gntp_responses(void)
{
    const char *two = "GNTP/1.0 -OK NONE\r\nResponse-Action: NOTIFY\r\nNotification-ID: 1\r\n\r\n"
                      "GNTP/1.0 -CALLBACK NONE\r\nNotification-Callback-Result: CLICK\r\n\r\n";
    gntp_msg *m = NULL;
    size_t used;
    int code;
    char *err = NULL;
    CHECK((gntp__parse((const guint8 *)two, strlen(two), false, 4096, &m, &used, &code, &err)) ==
          0);
    CHECK_STR(m->type, "-OK");
    CHECK_STR(gntp__msg_get(m, 0, "notification-id"), "1");
    gntp__msg_free(m);
    CHECK((gntp__parse((const guint8 *)two + used, strlen(two) - used, false, 4096, &m, &used,
                       &code, &err)) == 0);
    CHECK_STR(m->type, "-CALLBACK");
    gntp__msg_free(m);
    GBytes *e = gntp__format_error("NOTIFY", 402, "no such\r\nthing");
    char *s = bytes_str(e);
    CHECK_STR(s, "GNTP/1.0 -ERROR NONE\r\nResponse-Action: NOTIFY\r\nError-Code: 402\r\n"
                 "Error-Description: no such\nthing\r\n\r\n");
    g_free(s);
    g_bytes_unref(e);
}

/* ---- templates ---------------------------------------------------------------------- */

static void test_templates(void)
{
    json_object *args = json_tokener_parse("[\"a\", 2, [true, null]]");
    json_object *kw = json_tokener_parse("{\"k\": \"v\", \"n\": {\"x\": 1.5}}");
    char *s = growl__template_render("{id}|{name}|{action}|{args}|{kwargs}|{args[0]}|{args[2]}|"
                                     "{kwargs.k}|{kwargs.n}|{args[9]}|{kwargs.none}|{{x}}|{bad",
                                     "build:done", "build", "done", args, kw);
    CHECK_STR(s, "build:done|build|done|[a, 2, [true, null]]|{k:v, n:{x:1.5}}|a|"
                 "[true, null]|v|{x:1.5}|||{x}|{bad");
    g_free(s);
    char *r = growl__json_readable(args);
    CHECK_STR(r, "[a, 2, [true, null]]");
    g_free(r);
    json_object_put(args);
    json_object_put(kw);
    char *c = growl__utf8_clip("ab\xc3\xa9", 3);
    CHECK_STR(c, "ab");
    g_free(c);
}

int main(int argc, char **argv)
{
    RUN(test_key_vectors);
    RUN(test_key_field_fresh);
    RUN(test_register_bytes);
    RUN(test_notify_bytes_icon);
    RUN(test_notify_icon_url);
    RUN(test_gntp_tolerant);
    RUN(test_gntp_register_resources);
    RUN(test_gntp_errors);
    RUN(test_gntp_responses);
    RUN(test_udp_vectors);
    RUN(test_udp_parse);
    RUN(test_templates);
    return 0;
}
