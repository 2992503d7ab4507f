/* growl_receive_test.c - the growl plugin standing in for a Growl server,
 * fed by Growl clients written here from the GNTP 1.0 and Growl UDP texts:
 * REGISTER/NOTIFY become messages, requests arriving in many small writes,
 * header case variants, two spaces before the key field and a trailing
 * space, passwords (right, wrong, missing), binary icons, malformed,
 * truncated and oversized requests, and UDP packets. */
#include "growl_harness.h"

#include "check.h"

typedef struct client {
    int port;
    GBytes *req;
    size_t chunk;     /* bytes per write (0 = all at once) */
    bool close_early; /* send half the request, then close */
    GByteArray *reply;
    gint done;
} client;

static gpointer client_main(gpointer data)
{
    client *c = data;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)c->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK((connect(fd, (struct sockaddr *)&a, sizeof a)) == 0);
    gsize len;
    const char *p = g_bytes_get_data(c->req, &len);
    if (c->close_early)
        len /= 2;
    size_t step = c->chunk ? c->chunk : len;
    for (size_t off = 0; off < len; off += step) {
        size_t n = MIN(step, len - off);
        if (send(fd, p + off, n, MSG_NOSIGNAL) != (ssize_t)n)
            break;
        if (c->chunk)
            g_usleep(300);
    }
    if (c->close_early)
        shutdown(fd, SHUT_WR);
    c->reply = g_byte_array_new();
    for (;;) {
        struct pollfd q = {.fd = fd, .events = POLLIN};
        if (poll(&q, 1, 5000) <= 0)
            break;
        guint8 tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0)
            break;
        g_byte_array_append(c->reply, tmp, (guint)n);
    }
    close(fd);
    g_atomic_int_set(&c->done, 1);
    return NULL;
}

static bool client_done(void *d)
{
    return g_atomic_int_get(&((client *)d)->done) != 0;
}

/* Send @req and return the reply text (transfer full). */
static char *gntp_call(int port, GBytes *req, size_t chunk, bool close_early)
{
    client c = {.port = port, .req = req, .chunk = chunk, .close_early = close_early};
    GThread *t = g_thread_new("test-growl-client", client_main, &c);
    CHECK(fx_wait(client_done, &c, 15));
    g_thread_join(t);
    char *s = c.reply->len ? g_strndup((const char *)c.reply->data, c.reply->len) : g_strdup("");
    g_byte_array_unref(c.reply);
    return s;
}

static char *gntp_call_str(int port, const char *req, size_t chunk)
{
    GBytes *b = g_bytes_new(req, strlen(req));
    char *r = gntp_call(port, b, chunk, false);
    g_bytes_unref(b);
    return r;
}

static bool has_seen(void *d)
{
    void **a = d;
    return fx_seen_count(a[0]) >= GPOINTER_TO_UINT(a[1]);
}

static void wait_seen(fixture *fx, guint n)
{
    void *a[2] = {fx, GUINT_TO_POINTER(n)};
    if (!fx_wait(has_seen, a, 5))
        g_error("saw %u messages, wanted %u", fx_seen_count(fx), n);
}

static bmq_instance *listener(fixture *fx, const char *listen, int *gport, int *uport)
{
    char *cfg = g_strdup_printf("{\"forward\": false, \"listen\": %s}", listen);
    char *err = NULL;
    bmq_instance *inst = fx_create(fx, "rx", cfg, &err);
    if (!inst)
        g_error("create: %s", err);
    g_free(cfg);
    if (gport)
        *gport = (int)fx_stat(inst, "gntp_port");
    if (uport)
        *uport = (int)fx_stat(inst, "udp_port");
    return inst;
}

static void assert_reply(const char *reply, const char *first_line, const char *needle)
{
    if (!g_str_has_prefix(reply, first_line) || (needle && !strstr(reply, needle)) ||
        !g_str_has_suffix(reply, "\r\n\r\n"))
        g_error("reply '%s': want '%s' containing '%s'", reply, first_line, needle ? needle : "");
}

/* ---- GNTP ----------------------------------------------------------------------------- */

static void test_gntp_register_notify(void)
{
    fixture fx;
    fx_init(&fx, "*:*");
    int port;
    bmq_instance *inst = listener(&fx, "{\"gntp\": 0}", &port, NULL);
    CHECK(port > 0);
    char *r = gntp_call_str(port,
                            "GNTP/1.0 REGISTER NONE\r\n"
                            "Application-Name: My App\r\n"
                            "Notifications-Count: 2\r\n"
                            "\r\n"
                            "Notification-Name: Build Done\r\n"
                            "Notification-Enabled: True\r\n"
                            "\r\n"
                            "Notification-Name: Other\r\n"
                            "\r\n",
                            0);
    assert_reply(r, "GNTP/1.0 -OK NONE\r\n", "Response-Action: REGISTER\r\n");
    g_free(r);
    wait_seen(&fx, 1);
    bmq_message *m = fx_seen(&fx, 0);
    CHECK_STR(bmq_message_id(m), "My_App:registered");
    json_object *v;
    CHECK(json_object_object_get_ex(bmq_message_kwargs(m), "notifications", &v));
    CHECK_STR(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
              "[\"Build Done\",\"Other\"]");
    CHECK(json_object_object_get_ex(bmq_message_kwargs(m), "enabled", &v));
    CHECK(json_object_array_length(v) == 1);
    bmq_message_unref(m);

    r = gntp_call_str(port,
                      "GNTP/1.0 NOTIFY NONE\r\n"
                      "Application-Name: My App\r\n"
                      "Notification-Name: Build Done\r\n"
                      "Notification-ID: 77\r\n"
                      "Notification-Title: Build #5\r\n"
                      "Notification-Text: line1\nline2\r\n"
                      "Notification-Priority: -1\r\n"
                      "Notification-Sticky: True\r\n"
                      "Notification-Icon: http://example.org/i.png\r\n"
                      "Data-Ref: abc\r\n"
                      "\r\n",
                      0);
    assert_reply(r, "GNTP/1.0 -OK NONE\r\n", "\r\nResponse-Action: NOTIFY\r\n");
    CHECK((strstr(r, "\r\nNotification-ID: 77\r\n")) != NULL);
    CHECK((strstr(r, "\r\nData-Ref: abc\r\n")) != NULL);
    g_free(r);
    wait_seen(&fx, 2);
    m = fx_seen(&fx, 1);
    CHECK_STR(bmq_message_id(m), "My_App:Build_Done");
    CHECK_STR(kw_str(m, "application"), "My App");
    CHECK_STR(kw_str(m, "notification"), "Build Done");
    CHECK_STR(kw_str(m, "title"), "Build #5");
    CHECK_STR(kw_str(m, "text"), "line1\nline2");
    CHECK_STR(kw_str(m, "priority"), "-1");
    CHECK_STR(kw_str(m, "sticky"), "true");
    CHECK_STR(kw_str(m, "icon"), "http://example.org/i.png");
    CHECK_STR(kw_str(m, "protocol"), "gntp");
    CHECK_STR(kw_str(m, "id"), "77");
    bmq_message_unref(m);
    CHECK((fx_stat(inst, "received")) == 2);
    CHECK((fx_stat(inst, "rejected")) == 0);
    bmq_instance_destroy(inst);
    fx_free(&fx);
}

/* A client cannot send a local message: "_notify:pause" would pause the
 * notify plugin, "_hub:quit" is the tray's quit. The application part of
 * the identifier never starts with '_' (nor does "@App" become "_App"). */
static void test_gntp_no_local_names(void)
{
    fixture fx;
    fx_init(&fx, "*:*");
    int port;
    bmq_instance *inst = listener(&fx, "{\"gntp\": 0}", &port, NULL);
    const char *apps[] = {"_notify", "@App"};
    const char *want[] = {"-notify:pause", "-App:pause"};
    for (size_t i = 0; i < G_N_ELEMENTS(apps); i++) {
        char *req = g_strdup_printf("GNTP/1.0 NOTIFY NONE\r\nApplication-Name: %s\r\n"
                                    "Notification-Name: pause\r\nNotification-Title: t\r\n\r\n",
                                    apps[i]);
        char *r = gntp_call_str(port, req, 0);
        assert_reply(r, "GNTP/1.0 -OK NONE\r\n", NULL);
        g_free(r);
        g_free(req);
        wait_seen(&fx, (guint)i + 1);
        bmq_message *m = fx_seen(&fx, (guint)i);
        EXPECT_STR(bmq_message_id(m), want[i]);
        EXPECT(!bmq_message_is_local(m));
        EXPECT_STR(kw_str(m, "application"), apps[i]);
        bmq_message_unref(m);
    }
    bmq_instance_destroy(inst);
    fx_free(&fx);
}

static void test_gntp_password_small_writes(void)
{
    fixture fx;
    fx_init(&fx, "*:*");
    int port;
    bmq_instance *inst =
        listener(&fx, "{\"gntp\": 0, \"password\": \"s3cr\\u00e9t\"}", &port, NULL);
    /* Key built by the test from the spec, SHA512, salt of 8 bytes. */
    const char *salt = "A1B2C3D4E5F60718";
    char *hash = spec_keyhash(G_CHECKSUM_SHA512, "s3cr\xc3\xa9t", salt);
    /* Two spaces before the key field, a trailing space, odd header case. */
    char *req = g_strdup_printf("GNTP/1.0 NOTIFY NONE  SHA512:%s.%s \r\n"
                                "APPLICATION-NAME: Tool\r\n"
                                "notification-name: ping\r\n"
                                "Notification-title: pong\r\n"
                                "\r\n",
                                hash, salt);
    for (size_t chunk = 1; chunk <= 3; chunk++) {
        char *r = gntp_call_str(port, req, chunk);
        assert_reply(r, "GNTP/1.0 -OK NONE\r\n", "Response-Action: NOTIFY");
        g_free(r);
    }
    wait_seen(&fx, 3);
    bmq_message *m = fx_seen(&fx, 0);
    CHECK_STR(bmq_message_id(m), "Tool:ping");
    CHECK_STR(kw_str(m, "title"), "pong");
    bmq_message_unref(m);

    /* Lower-case hex is the same key. */
    char *lower = g_ascii_strdown(hash, -1);
    char *req2 = g_strdup_printf("GNTP/1.0 NOTIFY NONE SHA512:%s.%s\r\nApplication-Name: Tool\r\n"
                                 "Notification-Name: ping\r\nNotification-Title: pong\r\n\r\n",
                                 lower, salt);
    char *r2 = gntp_call_str(port, req2, 0);
    assert_reply(r2, "GNTP/1.0 -OK NONE\r\n", NULL);
    g_free(r2);
    g_free(req2);
    g_free(lower);
    wait_seen(&fx, 4);

    /* Wrong password, missing key. */
    char *bad = g_strdup(req);
    char *h = strstr(bad, hash);
    h[0] = h[0] == 'A' ? 'B' : 'A';
    char *r = gntp_call_str(port, bad, 0);
    assert_reply(r, "GNTP/1.0 -ERROR NONE\r\n", "\r\nError-Code: 400\r\n");
    g_free(r);
    r = gntp_call_str(port,
                      "GNTP/1.0 NOTIFY NONE\r\nApplication-Name: a\r\n"
                      "Notification-Name: b\r\nNotification-Title: c\r\n\r\n",
                      0);
    assert_reply(r, "GNTP/1.0 -ERROR NONE\r\n", "\r\nError-Code: 400\r\n");
    g_free(r);
    g_usleep(50000);
    g_main_context_iteration(NULL, FALSE);
    CHECK(fx_seen_count(&fx) == 4);
    CHECK((fx_stat(inst, "rejected")) == 2);
    CHECK((fx_stat(inst, "received")) == 4);
    g_free(bad);
    g_free(req);
    g_free(hash);
    bmq_instance_destroy(inst);
    fx_free(&fx);
}

static void test_gntp_binary_icon(void)
{
    fixture fx;
    fx_init(&fx, "*:*");
    int port;
    bmq_instance *inst = listener(&fx, "{\"gntp\": 0}", &port, NULL);
    static const guint8 png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', '\r', '\n', 7};
    GString *req = g_string_new("GNTP/1.0 NOTIFY NONE\r\nApplication-Name: A\r\n"
                                "Notification-Name: n\r\nNotification-Title: t\r\n"
                                "Notification-Icon: x-growl-resource://ICON1\r\n\r\n"
                                "Identifier: ICON1\r\nLength: 11\r\n\r\n");
    g_string_append_len(req, (const char *)png, sizeof png);
    g_string_append(req, "\r\n\r\n");
    GBytes *b = g_bytes_new(req->str, req->len);
    char *r = gntp_call(port, b, 7, false);
    assert_reply(r, "GNTP/1.0 -OK NONE\r\n", NULL);
    g_free(r);
    wait_seen(&fx, 1);
    bmq_message *m = fx_seen(&fx, 0);
    const char *icon = kw_str(m, "icon");
    CHECK(icon != NULL);
    CHECK(g_str_has_prefix(icon, fx.data_root));
    CHECK(g_str_has_suffix(icon, ".png"));
    char *data;
    gsize len;
    CHECK(g_file_get_contents(icon, &data, &len, NULL));
    CHECK((size_t)(len) == (size_t)(sizeof png) && memcmp(data, png, len) == 0);
    g_free(data);
    bmq_message_unref(m);
    g_bytes_unref(b);
    g_string_free(req, TRUE);
    bmq_instance_destroy(inst);
    fx_free(&fx);
}

static void test_gntp_malformed(void)
{
    fixture fx;
    fx_init(&fx, "*:*");
    int port;
    bmq_instance *inst = listener(&fx, "{\"gntp\": 0, \"max_request\": 2048}", &port, NULL);
    static const struct {
        const char *req;
        const char *code;
    } v[] = {
        {"HELLO THERE\r\n\r\n", "301"},
        {"GNTP/2.0 NOTIFY NONE\r\n\r\n", "302"},
        {"GNTP/1.0 NOTIFY NONE\r\nApplication-Name: a\r\n\r\n", "303"},
        {"GNTP/1.0 NOTIFY AES:00112233445566778899AABBCCDDEEFF MD5:AA.BB\r\n\r\n", "300"},
        {"GNTP/1.0 SUBSCRIBE NONE\r\nSubscriber-ID: 1\r\nSubscriber-Name: x\r\n\r\n", "300"},
        {"GNTP/1.0 NOTIFY NONE\r\nbroken header\r\n\r\n", "300"},
    };
    int rejected = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        char *r = gntp_call_str(port, v[i].req, 0);
        char *want = g_strdup_printf("\r\nError-Code: %s\r\n", v[i].code);
        assert_reply(r, "GNTP/1.0 -ERROR NONE\r\n", want);
        CHECK((strstr(r, "\r\nError-Description: ")) != NULL);
        g_free(want);
        g_free(r);
        rejected++;
    }
    /* Oversized: a header line past max_request. */
    GString *big = g_string_new("GNTP/1.0 NOTIFY NONE\r\nX-Pad: ");
    for (int i = 0; i < 4096; i++)
        g_string_append_c(big, 'x');
    g_string_append(big, "\r\n\r\n");
    char *r = gntp_call_str(port, big->str, 0);
    assert_reply(r, "GNTP/1.0 -ERROR NONE\r\n", "\r\nError-Code: 300\r\n");
    g_free(r);
    rejected++;
    g_string_free(big, TRUE);
    /* Truncated: half a request, then the client closes its side. */
    static const char whole[] = "GNTP/1.0 NOTIFY NONE\r\nApplication-Name: a\r\n"
                                "Notification-Name: b\r\nNotification-Title: c\r\n\r\n";
    GBytes *half = g_bytes_new_static(whole, sizeof whole - 1);
    r = gntp_call(port, half, 0, true);
    assert_reply(r, "GNTP/1.0 -ERROR NONE\r\n", "\r\nError-Code: 300\r\n");
    g_free(r);
    rejected++;
    g_bytes_unref(half);
    g_usleep(50000);
    g_main_context_iteration(NULL, FALSE);
    CHECK((fx_stat(inst, "rejected")) == rejected);
    CHECK((fx_stat(inst, "received")) == 0);
    CHECK(fx_seen_count(&fx) == 0);
    /* Still serving. */
    r = gntp_call_str(port,
                      "GNTP/1.0 NOTIFY NONE\r\nApplication-Name: a\r\n"
                      "Notification-Name: b\r\nNotification-Title: c\r\n\r\n",
                      0);
    assert_reply(r, "GNTP/1.0 -OK NONE\r\n", NULL);
    g_free(r);
    wait_seen(&fx, 1);
    bmq_instance_destroy(inst);
    fx_free(&fx);
}

/* ---- UDP ------------------------------------------------------------------------------- */

static void udp_send(int port, GBytes *pkt)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    gsize n;
    const void *p = g_bytes_get_data(pkt, &n);
    CHECK((sendto(fd, p, n, 0, (struct sockaddr *)&a, sizeof a)) == (ssize_t)n);
    close(fd);
}

typedef struct statwait {
    bmq_instance *inst;
    int64_t rejected;
} statwait;

static bool rejected_reached(void *d)
{
    statwait *w = d;
    return fx_stat(w->inst, "rejected") >= w->rejected;
}

static void test_udp_receive(void)
{
    fixture fx;
    fx_init(&fx, "*:*");
    int port;
    bmq_instance *inst = listener(&fx, "{\"udp\": 0, \"password\": \"pw\"}", NULL, &port);
    CHECK(port > 0);
    GBytes *reg = spec_udp(true, 0, "growlnotify", "Command-Line Growl Notification", NULL, NULL, 0,
                           false, "pw");
    udp_send(port, reg);
    wait_seen(&fx, 1);
    GBytes *n1 = spec_udp(false, 1, "growlnotify", "Command-Line Growl Notification", "Hi", "there",
                          2, true, "pw");
    udp_send(port, n1);
    GBytes *n2 = spec_udp(false, 3, "App", "n", "sha", "", -2, false, "pw");
    udp_send(port, n2);
    wait_seen(&fx, 3);
    bmq_message *m = fx_seen(&fx, 0);
    CHECK_STR(bmq_message_id(m), "growlnotify:registered");
    bmq_message_unref(m);
    m = fx_seen(&fx, 1);
    CHECK_STR(bmq_message_id(m), "growlnotify:Command-Line_Growl_Notification");
    CHECK_STR(kw_str(m, "title"), "Hi");
    CHECK_STR(kw_str(m, "text"), "there");
    CHECK_STR(kw_str(m, "priority"), "2");
    CHECK_STR(kw_str(m, "sticky"), "true");
    CHECK_STR(kw_str(m, "protocol"), "udp");
    bmq_message_unref(m);
    m = fx_seen(&fx, 2);
    CHECK_STR(bmq_message_id(m), "App:n");
    CHECK_STR(kw_str(m, "priority"), "-2");
    bmq_message_unref(m);

    /* Dropped: wrong password, no auth while a password is set, truncated,
     * one byte too many, garbage. */
    GBytes *wrong = spec_udp(false, 1, "App", "n", "t", "x", 0, false, "PW");
    GBytes *noauth = spec_udp(false, 5, "App", "n", "t", "x", 0, false, "");
    udp_send(port, wrong);
    udp_send(port, noauth);
    gsize len;
    const guint8 *p = g_bytes_get_data(n1, &len);
    GBytes *trunc = g_bytes_new(p, len - 1);
    udp_send(port, trunc);
    guint8 *longer = g_malloc(len + 1);
    memcpy(longer, p, len);
    longer[len] = 0;
    GBytes *pad = g_bytes_new_take(longer, len + 1);
    udp_send(port, pad);
    GBytes *junk = g_bytes_new_static("\x01\x01hello", 7);
    udp_send(port, junk);
    statwait w = {inst, 5};
    CHECK(fx_wait(rejected_reached, &w, 5));
    g_usleep(50000);
    g_main_context_iteration(NULL, FALSE);
    CHECK(fx_seen_count(&fx) == 3);
    CHECK((fx_stat(inst, "received")) == 3);
    CHECK((fx_stat(inst, "rejected")) == 5);
    GBytes *all[] = {reg, n1, n2, wrong, noauth, trunc, pad, junk};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        g_bytes_unref(all[i]);
    bmq_instance_destroy(inst);
    fx_free(&fx);
}

/* The receiver and a forwarder in one instance: what was received is not
 * sent back out to Growl. */
static void test_no_echo(void)
{
    fixture fx;
    fx_init(&fx, "*:*");
    int out;
    int ofd = bound_socket(SOCK_DGRAM, &out);
    char *cfg = g_strdup_printf("{\"protocol\": \"udp\", \"host\": \"127.0.0.1\", \"port\": %d,"
                                " \"listen\": {\"udp\": 0}}",
                                out);
    char *err = NULL;
    bmq_instance *inst = fx_create(&fx, "both", cfg, &err);
    CHECK(inst != NULL);
    int in = (int)fx_stat(inst, "udp_port");
    GBytes *n = spec_udp(false, 1, "A", "b", "c", "d", 0, false, "");
    udp_send(in, n);
    wait_seen(&fx, 1);
    g_usleep(200000);
    g_main_context_iteration(NULL, FALSE);
    guint8 buf[100];
    CHECK((recv(ofd, buf, sizeof buf, MSG_DONTWAIT)) < 0);
    CHECK((fx_stat(inst, "sent")) == 0);
    g_bytes_unref(n);
    g_free(cfg);
    close(ofd);
    bmq_instance_destroy(inst);
    fx_free(&fx);
}

int main(int argc, char **argv)
{
    RUN(test_gntp_register_notify);
    RUN(test_gntp_no_local_names);
    RUN(test_gntp_password_small_writes);
    RUN(test_gntp_binary_icon);
    RUN(test_gntp_malformed);
    RUN(test_udp_receive);
    RUN(test_no_echo);
    return check_result();
}
