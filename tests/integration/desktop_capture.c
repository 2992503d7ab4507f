/* desktop_capture.c - the capture plugin, in-process through the plugin
 * host, on a private X server and session bus with the real notification
 * daemon (dunst). Other programs (notify-send, gdbus) post notifications;
 * what is asserted is the messages the plugin sends, as a follower sees
 * them, and that the daemon still shows what was captured.
 *
 * "Nothing was captured" is asserted with a barrier: the monitor sees the
 * bus in order, so once a later notification has arrived, an earlier one
 * that was going to arrive would have. */
#include "desktop_env.h"

#include <berrymq/host.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static desk_env *env;
static bmq_bus *bus;
static bmq_plugin_host *host;
static bmq_instance *inst;

static GMutex got_lock;
static GPtrArray *got; /* json_object* {"id":..., "kwargs":...} */

static void record_cb(const bmq_message *m, void *ud)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(bmq_message_id(m)));
    json_object_object_add(o, "kwargs", json_object_get(bmq_message_kwargs(m)));
    g_mutex_lock(&got_lock);
    g_ptr_array_add(got, o);
    g_mutex_unlock(&got_lock);
}

static void put_json(gpointer o)
{
    json_object_put(o);
}

static void log_cb(int level, const char *id, const char *line, void *ud)
{
    fprintf(stderr, "[%s] %s\n", id ? id : "host", line);
}

static const char *kw(json_object *m, const char *key)
{
    json_object *k = NULL, *v = NULL;
    if (!m || !json_object_object_get_ex(m, "kwargs", &k) || !json_object_object_get_ex(k, key, &v))
        return NULL;
    return json_object_get_string(v);
}

/* The latest message with @id whose kwargs.title (or .action, .id) equals
 * @title (nullable: any), borrowed until got is cleared. */
static json_object *got_find(const char *id, const char *key, const char *value)
{
    json_object *out = NULL;
    g_mutex_lock(&got_lock);
    for (guint i = got->len; i > 0 && !out; i--) {
        json_object *o = got->pdata[i - 1], *v = NULL;
        json_object_object_get_ex(o, "id", &v);
        if (strcmp(json_object_get_string(v), id) == 0 &&
            (!key || g_strcmp0(kw(o, key), value) == 0))
            out = o;
    }
    g_mutex_unlock(&got_lock);
    return out;
}

static guint got_count(const char *id)
{
    guint n = 0;
    g_mutex_lock(&got_lock);
    for (guint i = 0; i < got->len; i++) {
        json_object *v = NULL;
        json_object_object_get_ex(got->pdata[i], "id", &v);
        n += strcmp(json_object_get_string(v), id) == 0;
    }
    g_mutex_unlock(&got_lock);
    return n;
}

typedef struct want {
    const char *id, *key, *value;
} want;

static bool want_seen(void *data)
{
    want *w = data;
    return got_find(w->id, w->key, w->value) != NULL;
}

static json_object *wait_for(const char *id, const char *key, const char *value, guint ms)
{
    want w = {id, key, value};
    desk_wait(want_seen, &w, ms);
    return got_find(id, key, value);
}

static json_object *wait_title(const char *id, const char *title)
{
    return wait_for(id, "title", title, 15000);
}

static int run(const char *const *argv, char **out)
{
    /* notify-send waits for the daemon's answer: run it while the main loop
     * goes on, as another program would. */
    GPid pid;
    int out_fd = -1;
    GError *err = NULL;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                  G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                  NULL, out ? &out_fd : NULL, NULL, &err)) {
        fprintf(stderr, "cannot run %s: %s\n", argv[0], err->message);
        g_error_free(err);
        return -1;
    }
    int status = -1;
    for (int i = 0; i < 3000; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        desk_spin(10);
    }
    if (out) {
        char buf[256] = "";
        ssize_t n = read(out_fd, buf, sizeof buf - 1);
        *out = g_strndup(buf, n > 0 ? (gsize)n : 0);
        close(out_fd);
    }
    g_spawn_close_pid(pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static json_object *status(void)
{
    json_object *st = bmq_instance_status(inst), *s = NULL;
    json_object *out = NULL;
    if (json_object_object_get_ex(st, "status", &s))
        out = json_object_get(s);
    json_object_put(st);
    return out;
}

static int64_t counter(const char *key)
{
    json_object *s = status(), *v = NULL;
    int64_t n = s && json_object_object_get_ex(s, key, &v) ? json_object_get_int64(v) : -1;
    json_object_put(s);
    return n;
}

/* A Notify call from a connection of the test's own (libnotify and gdbus
 * give up before calling when no daemon runs). 0 when the daemon answered. */
static GDBusConnection *peer;

static int peer_notify_id(const char *app, const char *title, guint32 *id)
{
    GVariant *r = g_dbus_connection_call_sync(
        peer, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
        "org.freedesktop.Notifications", "Notify",
        g_variant_new("(susssasa{sv}i)", app, 0, "", title, "", NULL, NULL, -1), NULL,
        G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL, NULL);
    if (r && id && g_variant_is_of_type(r, G_VARIANT_TYPE("(u)")))
        g_variant_get(r, "(u)", id);
    if (r)
        g_variant_unref(r);
    return r ? 0 : -1;
}

static int peer_notify(const char *app, const char *title)
{
    return peer_notify_id(app, title, NULL);
}

/* A notification after which everything before it has been seen by the
 * plugin. */
static void barrier(const char *name)
{
    peer_notify("Barrier", name);
    EXPECT(wait_title("Barrier:captured", name) != NULL);
}

static void test_fields(void)
{
    char *out = NULL;
    const char *argv[] = {
        "notify-send", "-p",          "-a", "Mail",          "-u", "critical",
        "-i",          "mail-unread", "-c", "email.arrived", "-h", "string:desktop-entry:mailer",
        "New mail",    "from bob",    NULL};
    EXPECT(run(argv, &out) == 0);
    json_object *m = wait_title("Mail:captured", "New mail");
    EXPECT(m != NULL);
    EXPECT(g_strcmp0(kw(m, "body"), "from bob") == 0);
    EXPECT(g_strcmp0(kw(m, "urgency"), "critical") == 0);
    EXPECT(g_strcmp0(kw(m, "icon"), "mail-unread") == 0);
    EXPECT(g_strcmp0(kw(m, "app"), "Mail") == 0);
    EXPECT(g_strcmp0(kw(m, "category"), "email.arrived") == 0);
    EXPECT(g_strcmp0(kw(m, "desktop_entry"), "mailer") == 0);
    EXPECT(g_strcmp0(kw(m, "timeout"), "-1") == 0);
    EXPECT(g_strcmp0(kw(m, "actions"), "[ ]") == 0);
    /* The id is the one the daemon gave notify-send. */
    EXPECT(out && kw(m, "id") && atoi(out) > 0 && atoi(kw(m, "id")) == atoi(out));
    g_free(out);
    /* The daemon still shows it: capturing is watching, not replacing. */
    const char *count[] = {"count", "displayed", NULL};
    char *shown = desk_dunstctl(env, count);
    EXPECT(shown && atoi(shown) >= 1);
    g_free(shown);
}

static void test_closed(void)
{
    json_object *m = got_find("Mail:captured", "title", "New mail");
    const char *id = kw(m, "id");
    const char *close[] = {"close", NULL};
    json_object *c = NULL;
    for (int i = 0; i < 10 && !c; i++) {
        g_free(desk_dunstctl(env, close));
        c = wait_for("Mail:closed", "id", id, 1000);
    }
    EXPECT(c != NULL);
    EXPECT(g_strcmp0(kw(c, "app"), "Mail") == 0);
    EXPECT(kw(c, "reason") && atoi(kw(c, "reason")) >= 1);
    EXPECT(kw(c, "reason_text") != NULL);
}

static void test_action(void)
{
    const char *close_all[] = {"close-all", NULL};
    g_free(desk_dunstctl(env, close_all));
    /* notify-send -A waits for the choice: it runs beside the test. */
    const char *argv[] = {"notify-send", "-a", "Mail", "-A", "reply=Reply", "Answer me", NULL};
    GPid pid;
    EXPECT(
        g_spawn_async(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, &pid, NULL));
    json_object *m = wait_title("Mail:captured", "Answer me");
    EXPECT(m != NULL);
    EXPECT(m &&
           strstr(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN), "\"key\":\"reply\""));
    const char *id = kw(m, "id");
    const char *action0[] = {"action", "0", NULL};
    json_object *a = NULL;
    for (int i = 0; i < 10 && !a && id; i++) {
        g_free(desk_dunstctl(env, action0));
        a = wait_for("Mail:action", "id", id, 1000);
    }
    EXPECT(a != NULL);
    EXPECT(g_strcmp0(kw(a, "action"), "reply") == 0);
    g_free(desk_dunstctl(env, close_all));
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    g_spawn_close_pid(pid);
}

static void test_own_not_captured(void)
{
    /* The hub's notify plugin in the same host: what it shows is marked as
     * the hub's and stays out. */
    char *err = NULL;
    bmq_instance *notify = bmq_instance_create(host, "notify", "notify", NULL, NULL, &err);
    EXPECT(notify != NULL);
    if (!notify) {
        fprintf(stderr, "notify: %s\n", err);
        g_free(err);
        return;
    }
    int64_t own = counter("own_skipped");
    EXPECT(bmq_twitter_json(bus, "cli:notify", NULL, "{\"title\": \"From the hub\"}") == 0);
    barrier("after own");
    EXPECT(got_count("cli:captured") == 0);
    EXPECT(counter("own_skipped") == own + 1);
    bmq_instance_destroy(notify);
}

static void test_filters(void)
{
    char *err = NULL;
    json_object *cfg =
        json_tokener_parse("{\"ignore_apps\": [\"spam*\"], \"urgency_min\": \"normal\"}");
    EXPECT(bmq_instance_reconfigure(inst, cfg, &err) == 0);
    json_object_put(cfg);
    const char *spam[] = {"notify-send", "-a", "SpamBot", "Buy now", NULL};
    const char *low[] = {"notify-send", "-a", "Mail", "-u", "low", "Quiet one", NULL};
    EXPECT(run(spam, NULL) == 0);
    EXPECT(run(low, NULL) == 0);
    barrier("after filters");
    EXPECT(got_count("SpamBot:captured") == 0);
    EXPECT(got_find("Mail:captured", "title", "Quiet one") == NULL);
    EXPECT(counter("ignored") == 1);
    EXPECT(counter("below_urgency") == 1);

    cfg = json_tokener_parse("{\"only_apps\": [\"Chat\"], \"redact_body\": true}");
    EXPECT(bmq_instance_reconfigure(inst, cfg, &err) == 0);
    json_object_put(cfg);
    const char *chat[] = {"notify-send", "-a", "Chat", "Bob", "the secret plan", NULL};
    const char *mail[] = {"notify-send", "-a", "Mail", "Not this one", NULL};
    EXPECT(run(mail, NULL) == 0);
    EXPECT(run(chat, NULL) == 0);
    json_object *m = wait_title("Chat:captured", "Bob");
    EXPECT(m && !strstr(json_object_to_json_string(m), "secret"));
    EXPECT(got_find("Mail:captured", "title", "Not this one") == NULL);
    EXPECT(bmq_instance_reconfigure(inst, NULL, &err) == 0);
}

static bool flood_done(void *data)
{
    return counter("captured") + counter("dropped") >= 1000 && counter("waiting") == 0;
}

static void test_no_daemon_and_flood(void)
{
    desk_dunst_kill(env);
    /* No daemon: the call is still seen; it has no id, and says why. */
    EXPECT(peer_notify("Mail", "Nobody listens") != 0);
    json_object *m = wait_title("Mail:captured", "Nobody listens");
    EXPECT(m && !kw(m, "id") && kw(m, "error"));

    /* A flood of 1,000 calls while the main thread is busy (not iterated
     * here): the backlog of 100 fills, the rest is counted, nothing blocks
     * the bus connection, and what was kept arrives afterwards. */
    char *err = NULL;
    json_object *cfg = json_tokener_parse("{\"backlog\": 100}");
    EXPECT(bmq_instance_reconfigure(inst, cfg, &err) == 0);
    json_object_put(cfg);
    for (int i = 0; i < 1000; i++) {
        char *title = g_strdup_printf("flood %d", i);
        peer_notify("Flood", title);
        g_free(title);
    }
    /* Every reply went through the bus before its call returned, and the
     * monitor copy of each is in the plugin's hands once the counters
     * account for all of them. */
    EXPECT(desk_wait(flood_done, NULL, 30000));
    int64_t captured = (int64_t)got_count("Flood:captured");
    int64_t dropped = counter("dropped");
    fprintf(stderr, "flood: %" G_GINT64_FORMAT " captured, %" G_GINT64_FORMAT " dropped\n",
            captured, dropped);
    EXPECT(captured + dropped == 1000);
    EXPECT(captured == counter("captured"));
    EXPECT(dropped > 0 && captured >= 100);
    EXPECT(bmq_instance_reconfigure(inst, NULL, &err) == 0);

    /* The daemon comes back: ids again. */
    EXPECT(desk_dunst_start(env));
    const char *again[] = {"notify-send", "-a", "Mail", "Back again", NULL};
    EXPECT(run(again, NULL) == 0);
    m = wait_title("Mail:captured", "Back again");
    EXPECT(m && kw(m, "id") && !kw(m, "error"));
}

/* NotificationClosed and ActionInvoked count only from the daemon that gave
 * the id: another program's signal, or the next daemon after a restart
 * reusing the id for a notification that was not captured, is not the
 * captured notification closing. */
static void test_signals_from_the_daemon(void)
{
    const char *close_all[] = {"close-all", NULL};
    g_free(desk_dunstctl(env, close_all));
    char *out = NULL;
    const char *argv[] = {"notify-send", "-p", "-a", "Mail", "Still open", NULL};
    EXPECT(run(argv, &out) == 0);
    json_object *m = wait_title("Mail:captured", "Still open");
    guint32 id = out ? (guint32)atoi(out) : 0;
    EXPECT(m && id > 0 && kw(m, "id") && (guint32)atoi(kw(m, "id")) == id);
    g_free(out);
    char *ids = g_strdup_printf("%u", id);

    /* Another program on the bus says it was closed and acted on. */
    EXPECT(g_dbus_connection_emit_signal(peer, NULL, "/org/freedesktop/Notifications",
                                         "org.freedesktop.Notifications", "NotificationClosed",
                                         g_variant_new("(uu)", id, 2u), NULL));
    EXPECT(g_dbus_connection_emit_signal(peer, NULL, "/org/freedesktop/Notifications",
                                         "org.freedesktop.Notifications", "ActionInvoked",
                                         g_variant_new("(us)", id, "forged"), NULL));
    barrier("after forged signals");
    EXPECT(got_find("Mail:closed", "id", ids) == NULL);
    EXPECT(got_find("Mail:action", "id", ids) == NULL);

    /* The daemon restarts and numbers from 1 again; an ignored app's
     * notification gets the captured one's id and is closed. */
    char *err = NULL;
    json_object *cfg = json_tokener_parse("{\"ignore_apps\": [\"Quiet\"]}");
    EXPECT(bmq_instance_reconfigure(inst, cfg, &err) == 0);
    json_object_put(cfg);
    /* The reconfigured instance has not seen the first one: again. */
    EXPECT(run(argv, &out) == 0);
    id = out ? (guint32)atoi(out) : 0;
    g_free(out);
    g_free(ids);
    ids = g_strdup_printf("%u", id);
    EXPECT(id > 0 && wait_for("Mail:captured", "id", ids, 15000) != NULL);
    desk_dunst_kill(env);
    EXPECT(desk_dunst_start(env));
    guint32 got_id = 0;
    for (int i = 0; i < 2 * (int)id + 10 && got_id != id; i++) {
        char *title = g_strdup_printf("quiet %d", i);
        got_id = 0;
        EXPECT(peer_notify_id("Quiet", title, &got_id) == 0);
        g_free(title);
    }
    EXPECT(got_id == id);
    g_free(desk_dunstctl(env, close_all));
    barrier("after the restart");
    EXPECT(got_find("Mail:closed", "id", ids) == NULL);
    EXPECT(bmq_instance_reconfigure(inst, NULL, &err) == 0);
    g_free(ids);
}

/* Other programs' calls and their replies do not reach the monitor: each
 * message that does costs the hub, and answers (a keyring's secrets) are
 * none of its business. */
static void test_other_traffic(void)
{
    barrier("before other traffic");
    int64_t before = counter("monitored");
    for (int i = 0; i < 200; i++) {
        GVariant *r = g_dbus_connection_call_sync(
            peer, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "ListNames", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
        EXPECT(r != NULL);
        if (r)
            g_variant_unref(r);
    }
    barrier("after other traffic");
    int64_t seen = counter("monitored") - before;
    fprintf(stderr, "other traffic: 400 messages on the bus, %" G_GINT64_FORMAT " monitored\n",
            seen);
    /* The barrier's call and reply, and what dunst says meanwhile. */
    EXPECT(before >= 0 && seen >= 2 && seen < 20);
}

int main(void)
{
    char *why = NULL;
    char *tool = g_find_program_in_path("notify-send");
    if (!tool) {
        fprintf(stderr, "skipped: notify-send is not installed\n");
        return DESK_SKIP;
    }
    g_free(tool);
    env = desk_env_start(&why);
    if (!env) {
        fprintf(stderr, "skipped: %s\n", why);
        g_free(why);
        return DESK_SKIP;
    }
    EXPECT(desk_dunst_start(env));
    peer =
        g_dbus_connection_new_for_address_sync(desk_env_bus_address(env),
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, NULL);
    EXPECT(peer != NULL);
    got = g_ptr_array_new_with_free_func(put_json);
    bus = bmq_bus_new();
    bmq_follower *f[3] = {bmq_follow(bus, "*:captured", record_cb, NULL, NULL),
                          bmq_follow(bus, "*:closed", record_cb, NULL, NULL),
                          bmq_follow(bus, "*:action", record_cb, NULL, NULL)};
    char *data = g_build_filename(desk_env_dir(env), "instances", NULL);
    host = bmq_plugin_host_new(bus, NULL, data);
    bmq_plugin_host_set_log(host, log_cb, NULL);
    bmq_plugin_host_add_dir(host, g_getenv("BMQ_PLUGIN_BUILD_DIR"));
    char *err = NULL;
    inst = bmq_instance_create(host, "capture", "capture", NULL, NULL, &err);
    if (!inst) {
        fprintf(stderr, "capture instance: %s\n", err);
        g_free(err);
        check_failures++;
    } else {
        test_fields();
        test_closed();
        test_action();
        test_own_not_captured();
        test_filters();
        test_signals_from_the_daemon();
        test_other_traffic();
        test_no_daemon_and_flood();
    }
    bmq_plugin_host_free(host);
    for (int i = 0; i < 3; i++)
        bmq_unfollow(f[i]);
    bmq_bus_free(bus);
    g_free(data);
    g_ptr_array_unref(got);
    if (peer) {
        g_dbus_connection_close_sync(peer, NULL, NULL);
        g_object_unref(peer);
    }
    desk_env_stop(env);
    return check_result();
}
