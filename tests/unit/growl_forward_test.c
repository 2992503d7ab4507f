/* growl_forward_test.c - the growl plugin forwarding to Growl servers
 * written here from the GNTP 1.0 and Growl UDP texts: exact requests and
 * packets, key hashes checked with the test's own implementation, icons as
 * binary resources, socket callbacks coming back as messages, registering
 * again after the server forgot, -ERROR without a code, a dead server and a
 * silent one (the hub's main loop stays responsive), config errors. */
#include "growl_harness.h"
#include "check.h"

#include "growl_server.h"

typedef struct waitn {
    srv *s;
    guint n;
} waitn;

static bool has_n(void *d)
{
    waitn *w = d;
    return srv_count(w->s) >= w->n;
}

static void wait_reqs(srv *s, guint n)
{
    waitn w = {s, n};
    if (!fx_wait(has_n, &w, 10))
        g_error("server saw %u requests, wanted %u", srv_count(s), n);
}

typedef struct waitstat {
    bmq_instance *inst;
    const char *key;
    int64_t min;
} waitstat;

static bool stat_at_least(void *d)
{
    waitstat *w = d;
    return fx_stat(w->inst, w->key) >= w->min;
}

static void wait_stat(bmq_instance *inst, const char *key, int64_t min)
{
    waitstat w = {inst, key, min};
    if (!fx_wait(stat_at_least, &w, 10))
        g_error("status %s = %" G_GINT64_FORMAT ", wanted >= %" G_GINT64_FORMAT, key,
                fx_stat(inst, key), min);
}

/* Check the key field of a request's information line with the spec rule. */
static void check_key(const char *req, const char *alg, GChecksumType t, const char *pw,
                      char **salt_out)
{
    char *line = g_strndup(req, strcspn(req, "\r"));
    char **tok = g_strsplit(line, " ", -1);
    CHECK(g_strv_length(tok) == 4);
    CHECK_STR(tok[2], "NONE");
    char *colon = strchr(tok[3], ':'), *dot = strrchr(tok[3], '.');
    CHECK(colon != NULL);
    CHECK(dot != NULL);
    *colon = *dot = '\0';
    CHECK_STR(tok[3], alg);
    char *want = spec_keyhash(t, pw, dot + 1);
    CHECK_STR(colon + 1, want);
    *salt_out = g_strdup(dot + 1);
    g_free(want);
    g_strfreev(tok);
    g_free(line);
}

static void assert_hdr(const char *sec, const char *name, const char *want)
{
    char *v = hdr(sec, name);
    if (g_strcmp0(v, want) != 0)
        g_error("header %s: got '%s', want '%s'", name, v ? v : "(none)", want ? want : "(none)");
    g_free(v);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_gntp_forward(void)
{
    fixture fx;
    fx_init(&fx, NULL);
    srv s;
    srv_start(&s, MODE_OK);
    char *cfg = g_strdup_printf(
        "{\"protocol\": \"gntp\", \"host\": \"127.0.0.1\", \"port\": %d, \"password\": \"pw\","
        " \"hash\": \"SHA256\", \"filter\": \"build:*\", \"title\": \"{name} {action}\","
        " \"text\": \"{args[0]} / {kwargs.who}\", \"callbacks\": false}",
        s.port);
    char *err = NULL;
    bmq_instance *inst = fx_create(&fx, "g1", cfg, &err);
    if (!inst)
        g_error("create: %s", err);
    CHECK((bmq_twitter_json(fx.bus, "build:done", "[\"ok\"]",
                            "{\"who\": \"ci\", \"priority\": 1, \"sticky\": true}")) == 0);
    wait_reqs(&s, 2);
    wait_stat(inst, "sent", 1);

    size_t len;
    char *reg = srv_req(&s, 0, &len);
    CHECK(g_str_has_prefix(reg, "GNTP/1.0 REGISTER NONE SHA256:"));
    CHECK(g_str_has_suffix(reg, "\r\n\r\n"));
    char *salt1, *salt2;
    check_key(reg, "SHA256", G_CHECKSUM_SHA256, "pw", &salt1);
    const char *h0 = strstr(reg, "\r\n") + 2;
    assert_hdr(h0, "Application-Name", "berryMQ");
    assert_hdr(h0, "Notifications-Count", "1");
    const char *n1 = strstr(h0, "\r\n\r\n") + 4;
    assert_hdr(n1, "Notification-Name", "build");
    assert_hdr(n1, "Notification-Enabled", "True");

    char *nt = srv_req(&s, 1, &len);
    CHECK(g_str_has_prefix(nt, "GNTP/1.0 NOTIFY NONE SHA256:"));
    CHECK(g_str_has_suffix(nt, "\r\n\r\n"));
    check_key(nt, "SHA256", G_CHECKSUM_SHA256, "pw", &salt2);
    CHECK(strcmp(salt1, salt2) != 0);
    const char *h1 = strstr(nt, "\r\n") + 2;
    assert_hdr(h1, "Application-Name", "berryMQ");
    assert_hdr(h1, "Notification-Name", "build");
    assert_hdr(h1, "Notification-Title", "build done");
    assert_hdr(h1, "Notification-Text", "ok / ci");
    assert_hdr(h1, "Notification-Priority", "1");
    assert_hdr(h1, "Notification-Sticky", "True");
    assert_hdr(h1, "Notification-Callback-Context", NULL);
    /* One message, one request: nothing after the headers. */
    CHECK(strstr(h1, "\r\n\r\n") + 4 == nt + len);

    /* Same name again: no new REGISTER. Another name: not followed. */
    bmq_twitter_json(fx.bus, "deploy:done", NULL, NULL);
    bmq_twitter_json(fx.bus, "build:fail", "[\"x\"]", NULL);
    wait_reqs(&s, 3);
    wait_stat(inst, "sent", 2);
    char *nt2 = srv_req(&s, 2, NULL);
    CHECK(g_str_has_prefix(nt2, "GNTP/1.0 NOTIFY"));
    assert_hdr(strstr(nt2, "\r\n") + 2, "Notification-Title", "build fail");
    CHECK((fx_stat(inst, "failed")) == 0);
    CHECK((fx_stat(inst, "dropped")) == 0);
    g_usleep(100000);
    CHECK(srv_count(&s) == 3);

    g_free(salt1);
    g_free(salt2);
    g_free(reg);
    g_free(nt);
    g_free(nt2);
    g_free(cfg);
    bmq_instance_destroy(inst);
    srv_stop(&s);
    fx_free(&fx);
}

static void test_gntp_defaults_dynamic(void)
{
    fixture fx;
    fx_init(&fx, NULL);
    srv s;
    srv_start(&s, MODE_OK);
    char *cfg = g_strdup_printf("{\"host\": \"localhost\", \"port\": %d}", s.port);
    char *err = NULL;
    bmq_instance *inst = fx_create(&fx, "g2", cfg, &err);
    CHECK(inst != NULL);
    bmq_twitter_json(fx.bus, "job:end", "[\"a\", \"b\"]", "{\"k\": \"v\"}");
    wait_reqs(&s, 2);
    char *nt = srv_req(&s, 1, NULL);
    const char *h = strstr(nt, "\r\n") + 2;
    CHECK(g_str_has_prefix(nt, "GNTP/1.0 NOTIFY NONE\r\n")); /* no password, no key */
    assert_hdr(h, "Notification-Title", "job:end");
    assert_hdr(h, "Notification-Text", "[a, b], {k:v}");
    assert_hdr(h, "Notification-Priority", "0");
    assert_hdr(h, "Notification-Callback-Context", "job:end");
    assert_hdr(h, "Notification-Callback-Context-Type", "berrymq-id");
    /* A new name: REGISTER again with both types, then NOTIFY. */
    bmq_twitter_json(fx.bus, "other:x", NULL, "{\"title\": \"T\", \"body\": \"B\"}");
    wait_reqs(&s, 4);
    char *reg = srv_req(&s, 2, NULL);
    CHECK(g_str_has_prefix(reg, "GNTP/1.0 REGISTER NONE\r\n"));
    assert_hdr(strstr(reg, "\r\n") + 2, "Notifications-Count", "2");
    CHECK((strstr(reg, "Notification-Name: job\r\n")) != NULL);
    CHECK((strstr(reg, "Notification-Name: other\r\n")) != NULL);
    char *nt2 = srv_req(&s, 3, NULL);
    assert_hdr(strstr(nt2, "\r\n") + 2, "Notification-Title", "T");
    assert_hdr(strstr(nt2, "\r\n") + 2, "Notification-Text", "B");
    g_free(nt);
    g_free(nt2);
    g_free(reg);
    g_free(cfg);
    bmq_instance_destroy(inst);
    srv_stop(&s);
    fx_free(&fx);
}

static void test_gntp_names_from_filters(void)
{
    fixture fx;
    fx_init(&fx, NULL);
    srv s;
    srv_start(&s, MODE_OK);
    char *cfg = g_strdup_printf("{\"port\": %d, \"filter\": [\"alpha:*\", \"beta@ns:x\", \"*:y\","
                                " \"alpha:z\"]}",
                                s.port);
    char *err = NULL;
    bmq_instance *inst = fx_create(&fx, "names", cfg, &err);
    if (!inst)
        g_error("create: %s", err);
    bmq_twitter_json(fx.bus, "alpha:go", NULL, NULL);
    wait_reqs(&s, 2);
    char *reg = srv_req(&s, 0, NULL);
    const char *h = strstr(reg, "\r\n") + 2;
    assert_hdr(h, "Notifications-Count", "2");
    const char *n1 = strstr(h, "\r\n\r\n") + 4;
    assert_hdr(n1, "Notification-Name", "alpha");
    assert_hdr(strstr(n1, "\r\n\r\n") + 4, "Notification-Name", "beta");
    /* A message through the wildcard filter adds its name: REGISTER again. */
    bmq_twitter_json(fx.bus, "gamma:y", NULL, NULL);
    wait_reqs(&s, 4);
    char *reg2 = srv_req(&s, 2, NULL);
    assert_hdr(strstr(reg2, "\r\n") + 2, "Notifications-Count", "3");
    g_free(reg);
    g_free(reg2);
    g_free(cfg);
    bmq_instance_destroy(inst);
    srv_stop(&s);
    fx_free(&fx);
}

static bool three_callbacks(void *d)
{
    fixture *fx = d;
    int n = 0;
    for (guint i = 0; i < fx_seen_count(fx); i++) {
        bmq_message *m = fx_seen(fx, i);
        if (strcmp(bmq_message_action(m), "done") != 0)
            n++;
        bmq_message_unref(m);
    }
    return n >= 3;
}

static void test_gntp_callbacks(void)
{
    fixture fx;
    fx_init(&fx, "build:*");
    srv s;
    srv_start(&s, MODE_CALLBACK);
    s.cb_results[0] = "CLICKED";
    s.cb_results[1] = "CLOSE";
    s.cb_results[2] = "TIMEDOUT";
    char *cfg =
        g_strdup_printf("{\"port\": %d, \"host\": \"127.0.0.1\", \"filter\": \"build\"}", s.port);
    char *err = NULL;
    bmq_instance *inst = fx_create(&fx, "g3", cfg, &err);
    CHECK(inst != NULL);
    for (int i = 0; i < 3; i++)
        bmq_twitter_json(fx.bus, "build:done", NULL, NULL);
    if (!fx_wait(three_callbacks, &fx, 10))
        g_error("callbacks did not arrive");
    const char *want[] = {"clicked", "closed", "timedout"};
    int found = 0;
    for (guint i = 0; i < fx_seen_count(&fx); i++) {
        bmq_message *m = fx_seen(&fx, i);
        if (strcmp(bmq_message_action(m), "done") != 0) {
            CHECK_STR(bmq_message_name(m), "build");
            CHECK_STR(bmq_message_action(m), want[found]);
            CHECK_STR(kw_str(m, "context"), "build:done");
            found++;
        }
        bmq_message_unref(m);
    }
    CHECK(found == 3);
    /* The callback messages are not forwarded back to Growl. */
    g_usleep(200000);
    g_main_context_iteration(NULL, FALSE);
    CHECK(srv_count(&s) == 4);
    CHECK((fx_stat(inst, "sent")) == 3);
    g_free(cfg);
    bmq_instance_destroy(inst);
    srv_stop(&s);
    fx_free(&fx);
}

static void test_gntp_reregister(void)
{
    fixture fx;
    fx_init(&fx, NULL);
    srv s;
    srv_start(&s, MODE_FORGET);
    char *cfg = g_strdup_printf("{\"port\": %d, \"notifications\": [\"main\", \"other\"]}", s.port);
    char *err = NULL;
    bmq_instance *inst = fx_create(&fx, "g4", cfg, &err);
    CHECK(inst != NULL);
    bmq_twitter_json(fx.bus, "other:x", NULL, NULL);
    wait_reqs(&s, 4);
    wait_stat(inst, "sent", 1);
    const char *types[] = {"REGISTER", "NOTIFY", "REGISTER", "NOTIFY"};
    for (guint i = 0; i < 4; i++) {
        char *r = srv_req(&s, i, NULL);
        char *pfx = g_strdup_printf("GNTP/1.0 %s NONE\r\n", types[i]);
        CHECK(g_str_has_prefix(r, pfx));
        if (i == 1)
            assert_hdr(strstr(r, "\r\n") + 2, "Notification-Name", "other");
        g_free(pfx);
        g_free(r);
    }
    bmq_twitter_json(fx.bus, "unlisted:x", NULL, NULL);
    wait_reqs(&s, 5);
    char *r = srv_req(&s, 4, NULL);
    assert_hdr(strstr(r, "\r\n") + 2, "Notification-Name", "main");
    g_free(r);
    CHECK((fx_stat(inst, "failed")) == 0);
    g_free(cfg);
    bmq_instance_destroy(inst);
    srv_stop(&s);
    fx_free(&fx);
}

static void test_gntp_error_without_code(void)
{
    fixture fx;
    fx_init(&fx, NULL);
    srv s;
    srv_start(&s, MODE_ERROR_NOCODE);
    char *cfg = g_strdup_printf("{\"port\": %d}", s.port);
    char *err = NULL;
    bmq_instance *inst = fx_create(&fx, "g5", cfg, &err);
    CHECK(inst != NULL);
    bmq_twitter_json(fx.bus, "a:b", NULL, NULL);
    wait_stat(inst, "failed", 1);
    CHECK((fx_stat(inst, "sent")) == 0);
    json_object *st = bmq_instance_status(inst), *so, *le;
    CHECK(json_object_object_get_ex(st, "status", &so));
    CHECK(json_object_object_get_ex(so, "last_error", &le));
    CHECK((strstr(json_object_get_string(le), "-ERROR")) != NULL);
    json_object_put(st);
    g_free(cfg);
    bmq_instance_destroy(inst);
    srv_stop(&s);
    fx_free(&fx);
}

static void test_gntp_passwords(void)
{
    fixture fx;
    fx_init(&fx, NULL);
    srv s;
    srv_start(&s, MODE_OK);
    s.password = "right";
    static const char *const algs[] = {"MD5", "SHA1", "SHA256", "SHA512"};
    char *err = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(algs); i++) {
        char *cfg = g_strdup_printf("{\"port\": %d, \"password\": \"right\", \"hash\": \"%s\"}",
                                    s.port, algs[i]);
        char *id = g_strdup_printf("pw%zu", i);
        bmq_instance *inst = fx_create(&fx, id, cfg, &err);
        CHECK(inst != NULL);
        bmq_twitter_json(fx.bus, "a:b", NULL, NULL);
        wait_stat(inst, "sent", 1);
        CHECK((fx_stat(inst, "failed")) == 0);
        bmq_instance_destroy(inst);
        g_free(id);
        g_free(cfg);
    }
    /* A wrong password: REGISTER refused with 400, counted, kept as the
     * last error, and nothing is sent. */
    char *cfg = g_strdup_printf("{\"port\": %d, \"password\": \"wrong\"}", s.port);
    bmq_instance *inst = fx_create(&fx, "pwbad", cfg, &err);
    CHECK(inst != NULL);
    bmq_twitter_json(fx.bus, "a:b", NULL, NULL);
    wait_stat(inst, "failed", 1);
    CHECK((fx_stat(inst, "sent")) == 0);
    json_object *st = bmq_instance_status(inst), *so, *le;
    CHECK(json_object_object_get_ex(st, "status", &so));
    CHECK(json_object_object_get_ex(so, "last_error", &le));
    CHECK((strstr(json_object_get_string(le), "400")) != NULL);
    json_object_put(st);
    bmq_instance_destroy(inst);
    g_free(cfg);
    srv_stop(&s);
    fx_free(&fx);
}

static void test_gntp_icons(void)
{
    fixture fx;
    fx_init(&fx, NULL);
    srv s;
    srv_start(&s, MODE_OK);
    static const guint8 icon[] = {0x89, 'P',  'N',  'G',  '\r', '\n', 0x1a,
                                  '\n', '\r', '\n', '\r', '\n', 0,    0xff};
    char *path = g_build_filename(fx.data_root, "icon.png", NULL);
    CHECK(g_file_set_contents(path, (const char *)icon, sizeof icon, NULL));
    char *md5 = g_compute_checksum_for_data(G_CHECKSUM_MD5, icon, sizeof icon);
    char *cfg = g_strdup_printf("{\"port\": %d, \"icon\": \"%s\"}", s.port, path);
    char *err = NULL;
    bmq_instance *inst = fx_create(&fx, "g6", cfg, &err);
    if (!inst)
        g_error("create: %s", err);
    bmq_twitter_json(fx.bus, "pic:one", NULL, NULL);
    bmq_twitter_json(fx.bus, "pic:two", NULL, "{\"icon\": \"http://example.org/x.png\"}");
    wait_reqs(&s, 3);
    char *ptr = g_strdup_printf("x-growl-resource://%s", md5);
    GString *section = g_string_new(NULL);
    g_string_append_printf(section, "\r\n\r\nIdentifier: %s\r\nLength: %zu\r\n\r\n", md5,
                           sizeof icon);
    g_string_append_len(section, (const char *)icon, sizeof icon);
    g_string_append(section, "\r\n\r\n");
    for (guint i = 0; i < 2; i++) {
        size_t len;
        char *r = srv_req(&s, i, &len);
        const char *h = strstr(r, "\r\n") + 2;
        assert_hdr(h, i == 0 ? "Application-Icon" : "Notification-Icon", ptr);
        /* Exactly one binary section, at the end, with the file's bytes. */
        CHECK(len > section->len);
        CHECK((size_t)(section->len) == (size_t)(section->len) &&
              memcmp(r + len - section->len, section->str, section->len) == 0);
        CHECK(strstr(r, "Identifier:") == r + len - section->len + 4);
        g_free(r);
    }
    char *r = srv_req(&s, 2, NULL);
    assert_hdr(strstr(r, "\r\n") + 2, "Notification-Icon", "http://example.org/x.png");
    CHECK((strstr(r, "Identifier:")) == NULL);
    g_free(r);
    g_string_free(section, TRUE);
    g_free(ptr);
    g_free(md5);
    g_free(path);
    g_free(cfg);
    bmq_instance_destroy(inst);
    srv_stop(&s);
    fx_free(&fx);
}

/* ---- a down or silent server never blocks the hub ------------------------------------ */

typedef struct ticker {
    gint64 last, max_gap;
    int ticks;
} ticker;

static gboolean tick(gpointer d)
{
    ticker *t = d;
    gint64 now = g_get_monotonic_time();
    if (t->last && now - t->last > t->max_gap)
        t->max_gap = now - t->last;
    t->last = now;
    t->ticks++;
    return G_SOURCE_CONTINUE;
}

static void run_for(double s)
{
    gint64 end = g_get_monotonic_time() + (gint64)(s * G_USEC_PER_SEC);
    while (g_get_monotonic_time() < end)
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
}

static void test_dead_server(void)
{
    fixture fx;
    fx_init(&fx, NULL);
    int port = free_port(SOCK_STREAM);
    char *cfg = g_strdup_printf("{\"host\": \"127.0.0.1\", \"port\": %d, \"queue\": 4}", port);
    char *err = NULL;
    bmq_instance *inst = fx_create(&fx, "dead", cfg, &err);
    CHECK(inst != NULL);
    ticker t = {0};
    guint tid = g_timeout_add(10, tick, &t);
    gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < 200; i++)
        CHECK((bmq_twitter_json(fx.bus, "x:y", "[1]", NULL)) == 0);
    /* Sending does not wait for the network. */
    CHECK((g_get_monotonic_time() - t0) < (2 * G_USEC_PER_SEC));
    run_for(2.0);
    g_source_remove(tid);
    /* Loose on purpose (loaded CI machines): a loop blocked by the sender
     * would show no ticks at all for whole seconds. */
    CHECK((t.ticks) > (20));
    CHECK((t.max_gap) < (1500000));
    CHECK((fx_stat(inst, "dropped")) >= (150));
    /* Nothing is given up for a network failure: the notification being
     * sent is retried, the bounded queue drops the oldest of the rest. */
    CHECK((fx_stat(inst, "failed")) == (0));
    CHECK((fx_stat(inst, "queued")) <= (4));
    CHECK((fx_stat(inst, "sent")) == (0));
    int64_t total = fx_stat(inst, "dropped") + fx_stat(inst, "failed") + fx_stat(inst, "queued");
    CHECK(total <= 200);
    CHECK(total >= 198); /* at most the job in progress is unaccounted */
    gint64 d0 = g_get_monotonic_time();
    bmq_instance_destroy(inst);
    CHECK((g_get_monotonic_time() - d0) < (2 * G_USEC_PER_SEC));
    g_free(cfg);
    fx_free(&fx);
}

static void test_silent_server(void)
{
    fixture fx;
    fx_init(&fx, NULL);
    srv s;
    srv_start(&s, MODE_SILENT);
    char *cfg = g_strdup_printf("{\"port\": %d, \"timeout\": 30}", s.port);
    char *err = NULL;
    bmq_instance *inst = fx_create(&fx, "slow", cfg, &err);
    CHECK(inst != NULL);
    ticker t = {0};
    guint tid = g_timeout_add(10, tick, &t);
    for (int i = 0; i < 5; i++)
        bmq_twitter_json(fx.bus, "x:y", NULL, NULL);
    run_for(2.0);
    g_source_remove(tid);
    CHECK(t.ticks > 10);
    CHECK(t.max_gap < 1500000);
    CHECK(srv_count(&s) == 1); /* REGISTER sent, waiting for the reply */
    CHECK((fx_stat(inst, "queued")) == 4);
    CHECK((fx_stat(inst, "sent")) == 0);
    /* Destroying cancels the wait instead of sitting out the 30 s. */
    gint64 d0 = g_get_monotonic_time();
    bmq_instance_destroy(inst);
    CHECK((g_get_monotonic_time() - d0) < (2 * G_USEC_PER_SEC));
    g_free(cfg);
    srv_stop(&s);
    fx_free(&fx);
}

/* ---- legacy UDP ---------------------------------------------------------------------- */

static GBytes *udp_recv(int fd)
{
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) <= 0)
            continue;
        guint8 buf[70000];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n >= 0)
            return g_bytes_new(buf, (gsize)n);
    }
    g_error("no UDP packet arrived");
    return NULL;
}

static void assert_packet(GBytes *got, GBytes *want)
{
    CHECK((size_t)(g_bytes_get_size(got)) == (size_t)(g_bytes_get_size(want)) &&
          memcmp(g_bytes_get_data(got, NULL), g_bytes_get_data(want, NULL),
                 g_bytes_get_size(got)) == 0);
    g_bytes_unref(got);
    g_bytes_unref(want);
}

static void test_udp_forward(void)
{
    fixture fx;
    fx_init(&fx, NULL);
    int port;
    int fd = bound_socket(SOCK_DGRAM, &port);
    char *cfg = g_strdup_printf(
        "{\"protocol\": \"udp\", \"host\": \"127.0.0.1\", \"port\": %d, \"password\": \"secret\","
        " \"filter\": \"build:*\", \"application\": \"CI\", \"text\": \"{args[0]}\"}",
        port);
    char *err = NULL;
    bmq_instance *inst = fx_create(&fx, "u1", cfg, &err);
    if (!inst)
        g_error("create: %s", err);
    bmq_twitter_json(fx.bus, "build:done", "[\"all good\"]",
                     "{\"priority\": -2, \"sticky\": true}");
    assert_packet(udp_recv(fd), spec_udp(true, 0, "CI", "build", NULL, NULL, 0, false, "secret"));
    assert_packet(udp_recv(fd),
                  spec_udp(false, 1, "CI", "build", "build:done", "all good", -2, true, "secret"));
    wait_stat(inst, "sent", 1);
    bmq_instance_destroy(inst);
    g_free(cfg);

    cfg = g_strdup_printf("{\"protocol\": \"udp\", \"port\": %d, \"hash\": \"SHA256\","
                          " \"title\": \"t\", \"text\": \"x\"}",
                          port);
    inst = fx_create(&fx, "u2", cfg, &err);
    CHECK(inst != NULL);
    bmq_twitter_json(fx.bus, "n:a", NULL, "{\"priority\": 2}");
    assert_packet(udp_recv(fd), spec_udp(true, 2, "berryMQ", "n", NULL, NULL, 0, false, ""));
    assert_packet(udp_recv(fd), spec_udp(false, 3, "berryMQ", "n", "t", "x", 2, false, ""));
    bmq_instance_destroy(inst);
    g_free(cfg);
    close(fd);
    fx_free(&fx);
}

static void test_config_errors(void)
{
    fixture fx;
    fx_init(&fx, NULL);
    static const struct {
        const char *cfg;
        const char *needle;
    } v[] = {
        {"{\"protocol\": \"smtp\"}", "protocol"},
        {"{\"protocol\": \"udp\", \"hash\": \"SHA1\"}", "hash"},
        {"{\"hash\": \"CRC\"}", "hash"},
        {"{\"port\": 70000}", "port"},
        {"{\"port\": \"x\"}", "port"},
        {"{\"colour\": 1}", "colour"},
        {"{\"filter\": \"a:b:c\"}", "filter"},
        {"{\"filter\": []}", "filter"},
        {"{\"icon\": \"/nonexistent/icon.png\"}", "icon"},
        {"{\"notifications\": [1]}", "notifications"},
        {"{\"queue\": 0}", "queue"},
        {"{\"listen\": {\"gntp\": 0, \"host\": \"0.0.0.0\"}}", "allow"},
        {"{\"listen\": {}}", "gntp"},
        {"{\"listen\": {\"gntp\": \"x\"}}", "gntp"},
        {"{\"listen\": {\"udp\": 0, \"allow\": [\"not-an-ip\"]}}", "allow"},
        {"{\"listen\": {\"udp\": 0, \"speed\": 1}}", "speed"},
        {"[]", "object"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        char *err = NULL;
        bmq_instance *inst = fx_create(&fx, "bad", v[i].cfg, &err);
        if (inst || !err || !strstr(err, v[i].needle))
            g_error("config %s: instance %p, error '%s'", v[i].cfg, (void *)inst,
                    err ? err : "(none)");
        g_free(err);
    }
    fx_free(&fx);
}

int main(int argc, char **argv)
{
    RUN(test_gntp_forward);
    RUN(test_gntp_defaults_dynamic);
    RUN(test_gntp_names_from_filters);
    RUN(test_gntp_callbacks);
    RUN(test_gntp_reregister);
    RUN(test_gntp_error_without_code);
    RUN(test_gntp_passwords);
    RUN(test_gntp_icons);
    RUN(test_dead_server);
    RUN(test_silent_server);
    RUN(test_udp_forward);
    RUN(test_config_errors);
    return 0;
}
