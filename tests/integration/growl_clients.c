/* growl_clients.c - a real Growl client, Debian's gntp-send, against the
 * growl plugin's receiver in the real hub (a password set): over GNTP and
 * legacy UDP, with the right password each notification is a message in
 * the history (an icon file sent inline is saved, byte for byte, and named
 * in kwargs.icon); with a wrong password or none it is refused, logged,
 * and not stored. A callback URL (http or https) becomes kwargs.click.
 * Without a password, gntp-send run as another uid (setpriv) is refused.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gntp_client.h"
#include "hub_harness.h"

static int gport, uport;
static bool as_other; /* run gntp-send as uid 65534 (setpriv) */

/* gntp-send -s 127.0.0.1:PORT [-u] [-p PASSWORD] -a APP -n NAME TITLE TEXT [ICON [URL]] */
static void send_one(bool udp, const char *password, const char *app, const char *name,
                     const char *title, const char *icon, const char *url)
{
    char *server = g_strdup_printf("127.0.0.1:%d", udp ? uport : gport);
    GPtrArray *argv = g_ptr_array_new();
    if (as_other) {
        const char *pre[] = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
        for (size_t i = 0; i < G_N_ELEMENTS(pre); i++)
            g_ptr_array_add(argv, (gpointer)pre[i]);
    }
    g_ptr_array_add(argv, "gntp-send");
    if (udp)
        g_ptr_array_add(argv, "-u");
    g_ptr_array_add(argv, "-s");
    g_ptr_array_add(argv, server);
    if (password) {
        g_ptr_array_add(argv, "-p");
        g_ptr_array_add(argv, (gpointer)password);
    }
    g_ptr_array_add(argv, "-a");
    g_ptr_array_add(argv, (gpointer)app);
    g_ptr_array_add(argv, "-n");
    g_ptr_array_add(argv, (gpointer)name);
    g_ptr_array_add(argv, (gpointer)title);
    g_ptr_array_add(argv, "sent by gntp-send");
    if (icon || url)
        g_ptr_array_add(argv, (gpointer)(icon ? icon : ""));
    if (url)
        g_ptr_array_add(argv, (gpointer)url);
    g_ptr_array_add(argv, NULL);
    int status = -1;
    GError *e = NULL;
    bool ran = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                            NULL, &status, &e);
    /* Refused at connect, gntp-send fails to write its request: any status. */
    EXPECT_MSG(ran && (as_other || g_spawn_check_wait_status(status, NULL)), "gntp-send %s: %s",
               title, e ? e->message : "failed");
    g_clear_error(&e);
    g_ptr_array_free(argv, TRUE);
    g_free(server);
}

int main(void)
{
    const char *pdir = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    CHECK(pdir != NULL);
    char *exe = g_find_program_in_path("gntp-send");
    CHECK_MSG(exe != NULL, "gntp-send is not installed (data/debian-deps.txt lists it)");
    g_free(exe);
    gport = gntp_free_port();
    uport = gntp_free_port_of(G_SOCKET_TYPE_DATAGRAM);
    CHECK(gport > 0 && uport > 0);

    hh_env *e = hh_env_new();
    char *cfg = g_strdup_printf("{\"plugins\": [{\"plugin\": \"%s/growl.so\", \"id\": \"growld\", "
                                "\"config\": {\"forward\": false, \"listen\": {\"gntp\": %d, "
                                "\"udp\": %d, \"password\": \"s3cret\"}}}]}",
                                pdir, gport, uport);
    hh_write_config(e, cfg);
    g_free(cfg);
    hh_hub *h = hh_start(e, NULL, true);
    CHECK(hh_wait_state(h, "growld", "running", 10000));

    /* An icon file: a real PNG, sent inline as a GNTP resource. */
    char *dir = g_dir_make_tmp("growl-clients-XXXXXX", NULL);
    CHECK(dir != NULL);
    char *icon = g_build_filename(dir, "icon.png", NULL);
    static const guint8 png[] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
        0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00,
        0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x08,
        0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xdd, 0x8d,
        0xb0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    CHECK(g_file_set_contents(icon, (const char *)png, sizeof png, NULL));

    send_one(false, "s3cret", "Make", "Build Done", "gntp right", icon, NULL);
    send_one(false, "wrong", "Make", "Build Done", "gntp wrong", NULL, NULL);
    send_one(false, NULL, "Make", "Build Done", "gntp none", NULL, NULL);
    send_one(true, "s3cret", "Make", "Build Done", "udp right", NULL, NULL);
    send_one(true, "wrong", "Make", "Build Done", "udp wrong", NULL, NULL);

    json_object *r = hh_history(h, "Make:Build_Done", 2, 10000);
    size_t n = r ? json_object_array_length(r) : 0;
    EXPECT_MSG(n == 2, "Make:Build_Done: %zu records, want 2 (the right password's): %s", n,
               r ? json_object_to_json_string(r) : "(error)");
    for (size_t i = 0; i < n; i++) {
        json_object *rec = json_object_array_get_idx(r, i);
        const char *proto = hh_str(rec, "kwargs.protocol");
        EXPECT_STR(hh_str(rec, "kwargs.title"), i == 0 ? "gntp right" : "udp right");
        EXPECT_STR(proto, i == 0 ? "gntp" : "udp");
        EXPECT_STR(hh_str(rec, "kwargs.text"), "sent by gntp-send");
        EXPECT_STR(hh_str(rec, "kwargs.notification"), "Build Done");
        EXPECT_STR(hh_str(rec, "origin"), "plugin growld");
    }
    /* The inline icon, saved under the instance's data directory. */
    const char *saved = n ? hh_str(json_object_array_get_idx(r, 0), "kwargs.icon") : NULL;
    EXPECT_MSG(saved && g_str_has_suffix(saved, ".png"), "kwargs.icon: %s",
               saved ? saved : "(none)");
    gchar *got = NULL;
    gsize got_len = 0;
    EXPECT_MSG(saved && g_file_get_contents(saved, &got, &got_len, NULL) && got_len == sizeof png &&
                   memcmp(got, png, sizeof png) == 0,
               "saved icon %s differs from the PNG sent", saved ? saved : "(none)");
    g_free(got);
    GStatBuf st;
    EXPECT_MSG(saved && g_stat(saved, &st) == 0 && (st.st_mode & 0777) == 0600,
               "saved icon mode %o, want 600", saved ? (unsigned)(st.st_mode & 0777) : 0u);
    json_object_put(r);

    /* A callback URL: an http(s) one is the click target, others are not. */
    send_one(false, "s3cret", "Make", "Link", "with a page", NULL, "https://ci.example/build/42");
    send_one(false, "s3cret", "Make", "Link", "with a file", NULL, "file:///etc/passwd");
    r = hh_history(h, "Make:Link", 2, 10000);
    EXPECT_MSG(r && json_object_array_length(r) == 2, "Make:Link: %s",
               r ? json_object_to_json_string(r) : "(error)");
    if (r && json_object_array_length(r) == 2) {
        EXPECT_STR(hh_str(json_object_array_get_idx(r, 0), "kwargs.click"),
                   "https://ci.example/build/42");
        EXPECT_MSG(hh_str(json_object_array_get_idx(r, 1), "kwargs.click") == NULL,
                   "a file: target became a click: %s", json_object_to_json_string(r));
    }
    json_object_put(r);

    /* Each client also registered first: only with the right password. */
    r = hh_history(h, "Make:registered", 4, 2000);
    EXPECT_MSG(r && json_object_array_length(r) == 4, "Make:registered: %s",
               r ? json_object_to_json_string(r) : "(error)");
    json_object_put(r);

    /* The refusals, as the user reads them in the log. */
    EXPECT(hh_wait_log(h, "rejected GNTP request from 127.0.0.1", 5000));
    EXPECT(hh_wait_log(h, "wrong password", 5000));
    EXPECT(hh_wait_log(h, "a password is required", 5000));
    EXPECT(hh_wait_log(h, "rejected UDP packet from 127.0.0.1", 5000));
    /* wrong and none: REGISTER and NOTIFY each; UDP wrong: both packets */
    int rej = -1;
    for (gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
         rej != 6 && g_get_monotonic_time() < end; g_usleep(20000)) {
        json_object *inst = hh_instance(h, "growld");
        const char *v = hh_str(inst, "status.status.rejected");
        rej = v ? atoi(v) : -1;
        json_object_put(inst);
    }
    EXPECT_MSG(rej == 6, "rejected: %d (want 6)", rej);

    EXPECT(hh_stop(h) == 0);
    hh_free(h);

    /* Without a password only the hub's own user is heard over GNTP: the
     * same client run as another uid is refused, logged, not stored. */
    if (geteuid() == 0) {
        gport = gntp_free_port();
        cfg = g_strdup_printf("{\"plugins\": [{\"plugin\": \"%s/growl.so\", \"id\": \"growld\", "
                              "\"config\": {\"forward\": false, \"listen\": {\"gntp\": %d}}}]}",
                              pdir, gport);
        hh_write_config(e, cfg);
        g_free(cfg);
        h = hh_start(e, NULL, true);
        CHECK(hh_wait_state(h, "growld", "running", 10000));
        as_other = true;
        send_one(false, NULL, "Other", "Spoof", "from another user", NULL, NULL);
        as_other = false;
        send_one(false, NULL, "Mine", "Build", "from my user", NULL, NULL);
        r = hh_history(h, "Mine:Build", 1, 10000);
        EXPECT_MSG(r && json_object_array_length(r) == 1, "Mine:Build: %s",
                   r ? json_object_to_json_string(r) : "(error)");
        json_object_put(r);
        EXPECT(hh_wait_log(h, "another local user (uid 65534)", 5000));
        r = hh_history(h, "Other:*", 0, 0);
        EXPECT_MSG(r && json_object_array_length(r) == 0, "Other:*: %s",
                   r ? json_object_to_json_string(r) : "(error)");
        json_object_put(r);
        EXPECT(hh_stop(h) == 0);
        hh_free(h);
    } else {
        fprintf(stderr, "not root: the other-user case needs setpriv as root; not run\n");
    }
    hh_env_free(e);
    g_unlink(icon);
    g_rmdir(dir);
    g_free(icon);
    g_free(dir);
    return check_result();
}
