/* hub_lifecycle.c - the real hub: start with good and broken plugins,
 * hub.status / hub.plugins contracts, messages reaching an instance,
 * hub.load / unload / enable / disable, _hub:* control messages, and
 * SIGTERM / _hub:quit shutdown (exit 0, instances destroyed newest first);
 * a stopping hub still answers the requests it has begun (hub.quit itself,
 * a blocked get).
 */
#include <stdlib.h>
#include <string.h>

#include "hub_harness.h"
#include "rpc_post.h"

static const char *config_text =
    "{\n"
    "  \"log_level\": \"info\",\n"
    "  \"plugins\": [\n"
    "    {\"plugin\": \"testplug\", \"id\": \"a\", \"config\": {\"journal\": \"@@JOURNAL@@\"}},\n"
    "    {\"plugin\": \"failplug\", \"id\": \"f\"},\n"
    "    {\"plugin\": \"badabi\"},\n"
    "    {\"plugin\": \"notso\"},\n"
    "    {\"plugin\": \"nosym\"},\n"
    "    {\"plugin\": \"gui\", \"id\": \"tray\"},\n"
    "    {\"plugin\": \"testplug\", \"id\": \"off\", \"enabled\": false},\n"
    "    {\"plugin\": \"testplug\", \"id\": \"b\", \"config\": {\"journal\": \"@@JOURNAL@@\",\n"
    "                                                 \"greeting\": \"bonjour\"}}\n"
    "  ]\n"
    "}\n";

static void check_instance(hh_hub *h, const char *id, const char *state, const char *error)
{
    json_object *e = hh_instance(h, id);
    EXPECT(e != NULL);
    if (!e)
        return;
    const char *st = hh_str(e, "state");
    if (!st || strcmp(st, state) != 0) {
        fprintf(stderr, "instance %s: state %s, expected %s\n", id, st ? st : "(none)", state);
        check_failures++;
    }
    if (error)
        EXPECT_CONTAINS(hh_str(e, "error"), error);
    json_object_put(e);
}

static void test_start_status_stop(hh_env *env)
{
    hh_write_config_j(env, config_text);
    hh_hub *h = hh_start(env, NULL, true);

    /* hub.status contract. */
    json_object *st = hh_call(h, "hub.status", "[]", NULL);
    EXPECT(st != NULL);
    EXPECT(hh_str(st, "version") && hh_str(st, "pid") && hh_str(st, "uptime_s"));
    EXPECT(hh_str(st, "listen") && strcmp(hh_str(st, "listen"), h->listen) == 0);
    EXPECT(hh_str(st, "node_id") != NULL);
    EXPECT(hh_str(st, "config") && strcmp(hh_str(st, "config"), env->config_file) == 0);
    EXPECT(hh_str(st, "counters.sent") && hh_str(st, "counters.delivered") &&
           hh_str(st, "counters.dropped"));
    EXPECT(hh_str(st, "server.listen") != NULL);
    json_object *inst;
    EXPECT(json_object_object_get_ex(st, "instances", &inst) &&
           json_object_array_length(inst) == 8);
    json_object_put(st);

    /* Each failure is reported, the hub keeps running the others. */
    check_instance(h, "a", "running", NULL);
    check_instance(h, "b", "running", NULL);
    check_instance(h, "f", "failed", "instance 'f': create failed: failplug refuses to start");
    check_instance(h, "badabi", "failed",
                   "plugin 'badabi': ABI mismatch: plugin speaks 99, host supports 1..1");
    check_instance(h, "notso", "failed", "plugin 'notso': not a shared object");
    check_instance(h, "nosym", "failed", "plugin 'nosym': missing symbol bmq_plugin_entry");
    check_instance(h, "tray", "disabled", "--no-tray");
    check_instance(h, "off", "disabled", NULL);
    EXPECT(hh_wait_log(h, "instance 'f': create failed", 1000));
    EXPECT(hh_wait_log(h, "instance 'tray': skipped", 1000));

    /* hub.plugins: available list, instance fields. */
    json_object *pl = hh_call(h, "hub.plugins", "[]", NULL), *av;
    EXPECT(pl && json_object_object_get_ex(pl, "available", &av));
    bool saw = false;
    for (size_t i = 0; pl && i < json_object_array_length(av); i++) {
        json_object *e = json_object_array_get_idx(av, i);
        if (strcmp(hh_str(e, "name"), "testplug") == 0)
            saw = hh_str(e, "version") && hh_str(e, "description") && hh_str(e, "path");
    }
    EXPECT(saw);
    json_object_put(pl);
    json_object *a = hh_instance(h, "a");
    EXPECT(a && strcmp(hh_str(a, "plugin"), "testplug") == 0);
    EXPECT(a && strcmp(hh_str(a, "version"), "1.0") == 0);
    EXPECT(a && strcmp(hh_str(a, "enabled"), "true") == 0);
    json_object_put(a);

    /* A message sent over RPC reaches instance b, which answers on the main
     * thread. */
    json_object *r =
        hh_call(h, "hub.twitter", "[\"b:ping\", [1, \"é\"], {\"k\": {\"n\": 1}}]", NULL);
    EXPECT(r && strcmp(json_object_get_string(r), "ok") == 0);
    json_object_put(r);
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    const char *got = NULL;
    json_object *b = NULL;
    while (g_get_monotonic_time() < end) {
        json_object_put(b);
        b = hh_instance(h, "b");
        got = b ? hh_str(b, "status.status.received") : NULL;
        if (got && strcmp(got, "1") == 0)
            break;
        g_usleep(10000);
    }
    EXPECT(got && strcmp(got, "1") == 0);
    EXPECT(b && strcmp(hh_str(b, "status.status.greeting"), "bonjour") == 0);
    json_object_put(b);
    char *err = NULL;
    EXPECT(hh_call(h, "hub.twitter", "[\"bad id with spaces\", [], {}]", &err) == NULL);
    EXPECT(err != NULL);
    g_free(err);
    EXPECT(hh_call(h, "hub.twitter", "[\"x:y\", {}, {}]", &err) == NULL);
    g_free(err);

    /* SIGTERM: exit 0, b (created last) destroyed before a. */
    EXPECT(hh_stop(h) == 0);
    char *log = hh_log(h);
    const char *pb = strstr(log, "[b] testplug destroyed");
    const char *pa = strstr(log, "[a] testplug destroyed");
    EXPECT(pa && pb && pb < pa);
    g_free(log);
    char *j = hh_journal(env);
    EXPECT(strcmp(j, "create a\ncreate b\ndestroy b\ndestroy a\n") == 0);
    g_free(j);
    hh_free(h);
}

/* status.status.received of a testplug instance, -1 if unknown. */
static int received(hh_hub *h, const char *id)
{
    json_object *e = hh_instance(h, id);
    const char *v = e ? hh_str(e, "status.status.received") : NULL;
    int n = v ? atoi(v) : -1;
    json_object_put(e);
    return n;
}

static bool wait_received(hh_hub *h, const char *id, int n)
{
    for (int i = 0; i < 500; i++) {
        if (received(h, id) == n)
            return true;
        g_usleep(10000);
    }
    fprintf(stderr, "instance %s received %d, expected %d\n", id, received(h, id), n);
    return false;
}

static void test_load_enable(hh_env *env)
{
    g_unlink(env->journal);
    hh_write_config(env, "{\"plugins\": []}");
    hh_hub *h = hh_start(env, NULL, true);
    char *err = NULL;
    char *params = g_strdup_printf("[\"testplug\", \"dyn\", {\"journal\": \"%s\"}]", env->journal);
    json_object *r = hh_call(h, "hub.load", params, &err);
    g_free(params);
    EXPECT(r && strcmp(hh_str(r, "id"), "dyn") == 0);
    EXPECT(r && strcmp(hh_str(r, "state"), "running") == 0);
    json_object_put(r);
    /* The default id is the plugin's name, also when loading by path. */
    params = g_strdup_printf("[\"%s/testplug_norecfg.so\"]", env->plugin_dir);
    r = hh_call(h, "hub.load", params, &err);
    g_free(params);
    EXPECT(r && strcmp(hh_str(r, "id"), "testplug_norecfg") == 0);
    json_object_put(r);

    EXPECT(hh_call(h, "hub.load", "[\"testplug\", \"dyn\"]", &err) == NULL);
    EXPECT_CONTAINS(err, "instance 'dyn' already exists");
    g_free(err);
    EXPECT(hh_call(h, "hub.load", "[\"badabi\", \"x\"]", &err) == NULL);
    EXPECT_CONTAINS(err, "ABI mismatch: plugin speaks 99");
    g_free(err);
    EXPECT(hh_call(h, "hub.load", "[\"failplug\", \"x\"]", &err) == NULL);
    EXPECT_CONTAINS(err, "instance 'x': create failed: failplug refuses to start");
    g_free(err);
    EXPECT(hh_call(h, "hub.load", "[\"nosuch\"]", &err) == NULL);
    EXPECT_CONTAINS(err, "plugin 'nosuch': not found in ");
    g_free(err);
    /* Over RPC a path must be in a plugin directory. */
    char *outside = g_build_filename(env->root, "testplug.so", NULL);
    char *inside = g_build_filename(env->plugin_dir, "testplug.so", NULL);
    char *bytes = NULL;
    gsize len = 0;
    EXPECT(g_file_get_contents(inside, &bytes, &len, NULL));
    EXPECT(g_file_set_contents(outside, bytes, (gssize)len, NULL));
    params = g_strdup_printf("[\"%s\", \"outside\"]", outside);
    EXPECT(hh_call(h, "hub.load", params, &err) == NULL);
    EXPECT_CONTAINS(err, "hub.load takes a plugin name or a file in a plugin directory");
    g_free(err);
    g_free(params);
    g_free(bytes);
    g_free(inside);
    g_unlink(outside);
    g_free(outside);
    EXPECT(hh_call(h, "hub.load", "[42]", &err) == NULL);
    g_free(err);
    json_object *x = hh_instance(h, "x");
    EXPECT(x == NULL); /* a failed load leaves nothing behind */
    json_object_put(x);

    r = hh_call(h, "hub.disable", "[\"dyn\"]", &err);
    EXPECT(r && strcmp(json_object_get_string(r), "ok") == 0);
    json_object_put(r);
    char *s = hh_state(h, "dyn");
    EXPECT(strcmp(s, "disabled") == 0);
    g_free(s);
    r = hh_call(h, "hub.enable", "[\"dyn\"]", &err);
    EXPECT(r && strcmp(json_object_get_string(r), "ok") == 0);
    json_object_put(r);
    s = hh_state(h, "dyn");
    EXPECT(strcmp(s, "running") == 0);
    g_free(s);
    r = hh_call(h, "hub.unload", "[\"dyn\"]", &err);
    EXPECT(r && strcmp(json_object_get_string(r), "ok") == 0);
    json_object_put(r);
    EXPECT(hh_call(h, "hub.unload", "[\"dyn\"]", &err) == NULL);
    EXPECT_CONTAINS(err, "no instance 'dyn'");
    g_free(err);
    EXPECT(hh_call(h, "hub.enable", "[\"nope\"]", &err) == NULL);
    g_free(err);
    char *j = hh_journal(env);
    EXPECT(strcmp(j, "create dyn\ndestroy dyn\ncreate dyn\ndestroy dyn\n") == 0);
    g_free(j);

    /* _hub:* control messages, sent in-process as the tray sends them (an
     * instance relays them); over RPC they are refused. */
    r = hh_call(h, "hub.load", "[\"testplug\", \"tray\", {\"relay\": true}]", NULL);
    json_object_put(r);
    EXPECT(hh_call(h, "hub.twitter", "[\"_hub:disable\", [\"testplug_norecfg\"], {}]", &err) ==
           NULL);
    EXPECT_CONTAINS(err, "local identifier");
    g_free(err);
    r = hh_call(h, "hub.twitter",
                "[\"tray:relay\", [\"_hub:disable\", [\"testplug_norecfg\"]], {}]", NULL);
    json_object_put(r);
    EXPECT(hh_wait_state(h, "testplug_norecfg", "disabled", 5000));
    r = hh_call(h, "hub.twitter", "[\"tray:relay\", [\"_hub:enable\", [\"testplug_norecfg\"]], {}]",
                NULL);
    json_object_put(r);
    EXPECT(hh_wait_state(h, "testplug_norecfg", "running", 5000));
    /* _hub:query is answered with _hub:instances (seen by an instance
     * following it), as is every change of the instance set. */
    r = hh_call(h, "hub.load", "[\"testplug\", \"watch\", {\"follow\": \"_hub:instances\"}]", NULL);
    json_object_put(r);
    EXPECT(wait_received(h, "watch", 1)); /* its own load */
    r = hh_call(h, "hub.twitter", "[\"tray:relay\", [\"_hub:query\", []], {}]", NULL);
    json_object_put(r);
    EXPECT(wait_received(h, "watch", 2));
    r = hh_call(h, "hub.disable", "[\"testplug_norecfg\"]", NULL);
    json_object_put(r);
    EXPECT(wait_received(h, "watch", 3));

    EXPECT(hh_call(h, "hub.twitter", "[\"_hub:quit\", [], {}]", &err) == NULL);
    EXPECT_CONTAINS(err, "local identifier");
    g_free(err);
    r = hh_call(h, "hub.status", NULL, NULL);
    EXPECT(r != NULL); /* still running */
    json_object_put(r);
    r = hh_call(h, "hub.twitter", "[\"tray:relay\", [\"_hub:quit\", []], {}]", NULL);
    json_object_put(r);
    EXPECT(hh_wait_exit(h, 10000) == 0);
    hh_free(h);
}

struct pending_get {
    const char *listen, *token;
    char *answer; /* the HTTP answer's body, NULL if cut off */
};

static gpointer blocked_get(gpointer data)
{
    struct pending_get *p = data;
    rp_conn *c = rp_connect(p->listen);
    if (c) {
        char *body =
            g_strdup_printf("{\"id\":7,\"method\":\"get\",\"params\":[\"%s\",true,60]}", p->token);
        p->answer = rp_post(c, body, strlen(body));
        g_free(body);
        rp_close(c);
    }
    return NULL;
}

/* server.counters.in_flight of hub.status (which counts itself), -1 if
 * the hub does not answer. */
static int in_flight(hh_hub *h)
{
    json_object *st = hh_call(h, "hub.status", NULL, NULL);
    const char *v = st ? hh_str(st, "server.counters.in_flight") : NULL;
    int n = v ? atoi(v) : -1;
    json_object_put(st);
    return n;
}

static void test_quit_answers(hh_env *env)
{
    hh_write_config(env, "{\"plugins\": []}");
    hh_hub *h = hh_start(env, NULL, true);
    json_object *tok = hh_call(h, "connect_via_queue", "[\"stop:*\", 0]", NULL);
    CHECK(tok && json_object_is_type(tok, json_type_string));
    struct pending_get p = {.listen = h->listen, .token = json_object_get_string(tok)};
    GThread *t = g_thread_new("get", blocked_get, &p);
    gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    while (in_flight(h) < 2 && g_get_monotonic_time() < end)
        g_usleep(10000);
    EXPECT_MSG(in_flight(h) >= 2, "the get is not waiting in the hub");

    char *err = NULL;
    json_object *r = hh_call(h, "hub.quit", NULL, &err);
    EXPECT_MSG(r && strcmp(json_object_get_string(r), "ok") == 0, "hub.quit answered: %s",
               err ? err : "(nothing)");
    json_object_put(r);
    g_free(err);
    g_thread_join(t);
    EXPECT_MSG(p.answer != NULL, "the blocked get was cut off without an answer");
    fprintf(stderr, "the blocked get was answered: %s\n", p.answer ? p.answer : "(nothing)");
    free(p.answer);
    json_object_put(tok);
    EXPECT(hh_wait_exit(h, 10000) == 0);
    hh_free(h);
}

int main(void)
{
    hh_env *env = hh_env_new();
    test_start_status_stop(env);
    test_load_enable(env);
    test_quit_answers(env);
    hh_env_free(env);
    return check_result();
}
