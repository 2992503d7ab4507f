/* hub_faults.c - a plugin that crashes, aborts or calls exit() is named in
 * the hub's log, and at the next start only that instance stays down
 * (failed, with the reason) until `berrymq plugin enable ID`; a plugin that
 * hangs while loading or in create is abandoned after 10 s and never keeps
 * SIGTERM from stopping the hub. Drives the real berrymq-hub and CLI.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <berrymq/json.h>

#include "hub_harness.h"

static char *marker_path(hh_env *e, const char *id)
{
    char *name = g_strdup_printf("crash-%s.json", id);
    char *p = g_build_filename(e->root, "home", ".local", "state", "berrymq", name, NULL);
    g_free(name);
    return p;
}

static bool has_marker(hh_env *e, const char *id)
{
    char *p = marker_path(e, id);
    bool ok = g_file_test(p, G_FILE_TEST_EXISTS);
    g_free(p);
    return ok;
}

/* `berrymq ARGS...` against @h; exit status, stderr in *err (transfer full). */
static int cli(hh_hub *h, char **err, const char *a1, const char *a2, const char *a3)
{
    char *exe = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
    const char *argv[] = {exe, "--hub", h->listen, a1, a2, a3, NULL};
    int status = 0;
    char *out = NULL;
    GError *ge = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, err, &status,
                      &ge)) {
        fprintf(stderr, "cannot run %s: %s\n", exe, ge->message);
        exit(1);
    }
    g_free(out);
    g_free(exe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The instance's error text (transfer full, "" when none). */
static char *instance_error(hh_hub *h, const char *id)
{
    json_object *i = hh_instance(h, id);
    const char *s = i ? hh_str(i, "error") : NULL;
    char *out = g_strdup(s ? s : "");
    json_object_put(i);
    return out;
}

/* Start a hub that is expected to die by itself; returns its log. */
static char *run_until_death(hh_env *e, int *wstatus, const char *trigger)
{
    hh_hub *h = hh_start(e, NULL, trigger != NULL);
    if (trigger) {
        json_object *r = hh_call(h, "hub.twitter", trigger, NULL);
        json_object_put(r);
    }
    hh_wait_exit(h, 20000);
    EXPECT(h->exited);
    *wstatus = h->status;
    hh_finish_log(h);
    char *log = hh_log(h);
    hh_free(h);
    return log;
}

static void test_crash_in_follower(void)
{
    hh_env *e = hh_env_new();
    hh_write_config(e, "{\"plugins\": ["
                       "{\"plugin\": \"faultplug\", \"id\": \"boom\","
                       " \"config\": {\"crash\": \"follower\"}},"
                       "{\"plugin\": \"testplug\", \"id\": \"calm\"}]}");
    int ws = 0;
    char *log = run_until_death(e, &ws, "[\"boom:go\"]");
    EXPECT(WIFSIGNALED(ws) || (WIFEXITED(ws) && WEXITSTATUS(ws) != 0));
    EXPECT_CONTAINS(log,
                    "instance 'boom' (plugin faultplug) crashed the hub: SIGSEGV (in follower)");
    EXPECT(has_marker(e, "boom"));
    g_free(log);

    /* Next start: only boom stays down, with the reason and the way out. */
    hh_hub *h = hh_start(e, NULL, true);
    EXPECT(hh_wait_state(h, "calm", "running", 5000));
    EXPECT(hh_wait_state(h, "boom", "failed", 5000));
    char *why = instance_error(h, "boom");
    EXPECT_CONTAINS(why, "crashed the hub at ");
    EXPECT_CONTAINS(why, "(SIGSEGV in follower); `berrymq plugin enable boom` to retry");
    g_free(why);
    EXPECT(hh_wait_log(h, "instance 'boom' not started: crashed the hub at", 2000));

    /* A reload does not bring it back either. */
    json_object *r = hh_call(h, "hub.reload", "[]", NULL);
    json_object_put(r);
    EXPECT(hh_wait_state(h, "boom", "failed", 5000));

    /* The user retries: the record goes, the instance runs. */
    char *err = NULL;
    int rc = cli(h, &err, "plugin", "enable", "boom");
    EXPECT(rc == 0);
    if (rc != 0)
        fprintf(stderr, "berrymq plugin enable: %d %s\n", rc, err);
    g_free(err);
    EXPECT(hh_wait_state(h, "boom", "running", 5000));
    EXPECT(!has_marker(e, "boom"));
    EXPECT(hh_stop(h) == 0);
    hh_free(h);

    /* And it starts normally from then on. */
    h = hh_start(e, NULL, true);
    EXPECT(hh_wait_state(h, "boom", "running", 5000));
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    hh_env_free(e);
}

/* A crash while the hub starts: without the marker the hub would die at
 * every start. */
static void test_crash_in_create(const char *how, const char *sig)
{
    hh_env *e = hh_env_new();
    char *cfg = g_strdup_printf("{\"plugins\": ["
                                "{\"plugin\": \"testplug\", \"id\": \"first\"},"
                                "{\"plugin\": \"faultplug\", \"id\": \"bad\","
                                " \"config\": {\"crash\": \"%s\"}},"
                                "{\"plugin\": \"testplug\", \"id\": \"last\"}]}",
                                how);
    hh_write_config(e, cfg);
    g_free(cfg);
    int ws = 0;
    char *log = run_until_death(e, &ws, NULL);
    EXPECT(!WIFEXITED(ws) || WEXITSTATUS(ws) != 0);
    char *line =
        g_strdup_printf("instance 'bad' (plugin faultplug) crashed the hub: %s (in create)", sig);
    EXPECT_CONTAINS(log, line);
    g_free(line);
    g_free(log);

    hh_hub *h = hh_start(e, NULL, true);
    EXPECT(hh_wait_state(h, "first", "running", 5000));
    EXPECT(hh_wait_state(h, "last", "running", 5000));
    EXPECT(hh_wait_state(h, "bad", "failed", 5000));
    char *why = instance_error(h, "bad");
    char *want = g_strdup_printf("(%s in create); `berrymq plugin enable bad` to retry", sig);
    EXPECT_CONTAINS(why, want);
    g_free(want);
    g_free(why);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    hh_env_free(e);
}

static void test_crash_in_timeout(void)
{
    hh_env *e = hh_env_new();
    hh_write_config(e, "{\"plugins\": [{\"plugin\": \"faultplug\", \"id\": \"tick\","
                       " \"config\": {\"crash\": \"timeout\"}}]}");
    int ws = 0;
    char *log = run_until_death(e, &ws, NULL);
    EXPECT_CONTAINS(log,
                    "instance 'tick' (plugin faultplug) crashed the hub: SIGSEGV (in timeout)");
    EXPECT(has_marker(e, "tick"));
    g_free(log);
    hh_env_free(e);
}

static void test_exit_in_follower(void)
{
    hh_env *e = hh_env_new();
    hh_write_config(e, "{\"plugins\": [{\"plugin\": \"faultplug\", \"id\": \"quitter\","
                       " \"config\": {\"exit\": \"follower\"}}]}");
    int ws = 0;
    char *log = run_until_death(e, &ws, "[\"quitter:go\"]");
    EXPECT_CONTAINS(log, "instance 'quitter' (plugin faultplug) called exit() in follower");
    g_free(log);
    hh_hub *h = hh_start(e, NULL, true);
    EXPECT(hh_wait_state(h, "quitter", "failed", 5000));
    char *why = instance_error(h, "quitter");
    EXPECT_CONTAINS(why, "stopped the hub with exit() at ");
    g_free(why);
    hh_stop(h);
    hh_free(h);
    hh_env_free(e);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* A create that never returns: after 10 s the hub starts again on the same
 * address without it, and says why. */
static void test_hang_in_create(void)
{
    hh_env *e = hh_env_new();
    hh_write_config(e, "{\"plugins\": ["
                       "{\"plugin\": \"testplug\", \"id\": \"first\"},"
                       "{\"plugin\": \"faultplug\", \"id\": \"slow\","
                       " \"config\": {\"hang\": \"create\"}},"
                       "{\"plugin\": \"testplug\", \"id\": \"last\"}]}");
    hh_hub *h = hh_start(e, NULL, false);
    EXPECT(hh_wait_log(h,
                       "instance 'slow' (plugin faultplug) did not return from create "
                       "within 10 s; restarting the hub without it",
                       40000));
    EXPECT(hh_wait_log(h, "instance 'slow' not started: did not return from create", 20000));
    char *log = hh_log(h);
    char *again = g_strdup_printf("listening on %s ", h->listen);
    EXPECT(count(log, again) == 2);
    g_free(again);
    g_free(log);
    h->rpc = bmq_rpc_client_new(h->listen, NULL);
    EXPECT(hh_wait_state(h, "first", "running", 10000));
    EXPECT(hh_wait_state(h, "last", "running", 10000));
    EXPECT(hh_wait_state(h, "slow", "failed", 10000));
    char *why = instance_error(h, "slow");
    EXPECT_CONTAINS(why, "did not return from create within 10 s at ");
    EXPECT_CONTAINS(why, "`berrymq plugin enable slow` to retry");
    g_free(why);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    hh_env_free(e);
}

/* A plugin stuck while loading: SIGTERM still stops the hub; left alone,
 * the hub restarts without it. */
static void test_hang_in_load(void)
{
    hh_env *e = hh_env_new();
    char *cfg = g_strdup_printf("{\"plugins\": ["
                                "{\"plugin\": \"testplug\", \"id\": \"first\"},"
                                "{\"plugin\": \"%s/hang/hangload.so\", \"id\": \"stuck\"}]}",
                                e->plugin_dir);
    hh_write_config(e, cfg);
    g_free(cfg);
    hh_hub *h = hh_start(e, NULL, false);
    EXPECT(hh_wait_log(h, "hangload: loading", 20000));
    kill(h->pid, SIGTERM);
    hh_wait_exit(h, 20000);
    EXPECT(h->exited);
    hh_finish_log(h);
    char *log = hh_log(h);
    EXPECT_CONTAINS(log, "stop requested: instance 'stuck' (plugin ");
    EXPECT_CONTAINS(log, "hangload.so) is still in load; exiting without cleanup");
    g_free(log);
    hh_free(h);

    h = hh_start(e, NULL, false);
    EXPECT(hh_wait_log(h, "did not return from load within 10 s; restarting the hub without it",
                       40000));
    EXPECT(hh_wait_log(h, "instance 'stuck' not started: did not return from load", 20000));
    h->rpc = bmq_rpc_client_new(h->listen, NULL);
    EXPECT(hh_wait_state(h, "first", "running", 10000));
    EXPECT(hh_wait_state(h, "stuck", "failed", 10000));
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    hh_env_free(e);
}

/* The state of instance @id in hub.status ("" when there is none): unlike
 * hub.plugins it loads no plugin file, so it is safe with a plugin
 * directory that holds one that hangs. */
static char *status_state(hh_hub *h, const char *id)
{
    json_object *st = hh_call(h, "hub.status", "[]", NULL), *arr;
    char *state = g_strdup("");
    if (st && json_object_object_get_ex(st, "instances", &arr))
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *e = json_object_array_get_idx(arr, i);
            const char *eid = hh_str(e, "id"), *s = hh_str(e, "state");
            if (eid && strcmp(eid, id) == 0) {
                g_free(state);
                state = g_strdup(s ? s : "?");
            }
        }
    json_object_put(st);
    return state;
}

static bool status_wait(hh_hub *h, const char *id, const char *want, int ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)ms * 1000;
    for (;;) {
        char *s = status_state(h, id);
        bool ok = strcmp(s, want) == 0;
        g_free(s);
        if (ok || g_get_monotonic_time() >= until)
            return ok;
        g_usleep(50000);
    }
}

/* Wait until the hub's log says it listens on its address for the @nth
 * time (it executed itself again), then talk to the new process. */
static void reconnect_after_restart(hh_hub *h, int nth)
{
    char *again = g_strdup_printf("listening on %s ", h->listen);
    char *log = NULL;
    gint64 until = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    do {
        g_free(log);
        g_usleep(50000);
        log = hh_log(h);
    } while (count(log, again) < nth && g_get_monotonic_time() < until);
    EXPECT(count(log, again) == nth);
    g_free(log);
    g_free(again);
    bmq_rpc_client_free(h->rpc);
    h->rpc = bmq_rpc_client_new(h->listen, NULL);
}

/* Plugin code that never returns when loaded at run time (hub.load) is
 * bounded as at start: after 10 s the hub starts again on the same
 * address, with its hub.json instances and without the one that hung, in
 * create as in load. */
static void test_hang_at_runtime(void)
{
    hh_env *e = hh_env_new();
    hh_write_config(e, "{\"plugins\": [{\"plugin\": \"testplug\", \"id\": \"first\"}]}");
    char *hang_dir = g_build_filename(e->plugin_dir, "hang", NULL);
    const char *extra[] = {"--plugin-dir", hang_dir, NULL};
    hh_hub *h = hh_start(e, extra, true); /* with its RPC client */
    EXPECT(status_wait(h, "first", "running", 10000));
    static const struct {
        const char *params, *id, *plugin, *what;
    } cases[] = {
        {"[\"faultplug\", \"slowrt\", {\"hang\": \"create\"}]", "slowrt", "faultplug", "create"},
        {"[\"hangload\", \"stuckrt\"]", "stuckrt", "hangload", "load"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *err = NULL;
        json_object *r = hh_call(h, "hub.load", cases[i].params, &err);
        EXPECT(r == NULL); /* no answer: the hub restarted under the call */
        json_object_put(r);
        g_free(err);
        char *line = g_strdup_printf("instance '%s' (plugin %s) did not return from %s within "
                                     "10 s; restarting the hub without it",
                                     cases[i].id, cases[i].plugin, cases[i].what);
        EXPECT(hh_wait_log(h, line, 40000));
        g_free(line);
        reconnect_after_restart(h, (int)i + 2);
        EXPECT(status_wait(h, "first", "running", 10000));
        /* a run-time instance is not in hub.json */
        EXPECT(status_wait(h, cases[i].id, "", 1000));
        /* loading that id again is the retry */
        char *retry = g_strdup_printf("[\"testplug\", \"%s\"]", cases[i].id);
        json_object *r2 = hh_call(h, "hub.load", retry, &err);
        EXPECT(r2 != NULL);
        if (!r2)
            fprintf(stderr, "hub.load again: %s\n", err ? err : "?");
        json_object_put(r2);
        g_free(err);
        g_free(retry);
        EXPECT(status_wait(h, cases[i].id, "running", 5000));
        char *unload = g_strdup_printf("[\"%s\"]", cases[i].id);
        json_object_put(hh_call(h, "hub.unload", unload, NULL));
        g_free(unload);
    }
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    g_free(hang_dir);
    hh_env_free(e);
}

static unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("free port");
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* The first configured link of hub.status (transfer full). */
static json_object *link_status(hh_hub *h, size_t i)
{
    json_object *st = hh_call(h, "hub.status", "[]", NULL), *links = NULL, *l = NULL;
    if (st && json_object_object_get_ex(st, "links", &links) && i < json_object_array_length(links))
        l = json_object_get(json_object_array_get_idx(links, i));
    json_object_put(st);
    return l;
}

static bool wait_link_state(hh_hub *h, size_t i, const char *state, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    for (;;) {
        json_object *l = link_status(h, i);
        const char *s = l ? hh_str(l, "state") : NULL;
        bool ok = s && strcmp(s, state) == 0;
        json_object_put(l);
        if (ok)
            return true;
        if (g_get_monotonic_time() >= end)
            return false;
        g_usleep(20000);
    }
}

static bool wait_received(hh_hub *h, const char *id, const char *n, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    for (;;) {
        json_object *e = hh_instance(h, id);
        const char *got = e ? hh_str(e, "status.status.received") : NULL;
        bool ok = got && strcmp(got, n) == 0;
        json_object_put(e);
        if (ok)
            return true;
        if (g_get_monotonic_time() >= end)
            return false;
        g_usleep(20000);
    }
}

static hh_hub *start_peer(hh_env *e, const char *listen)
{
    const char *args[] = {"--listen", listen, NULL};
    return hh_start(e, args, true);
}

/* Send far:ping on @from and wait until far on @to counted @n. */
static bool ping_reaches(hh_hub *from, hh_hub *to, const char *n)
{
    json_object *r = hh_call(from, "hub.twitter", "[\"far:ping\", [], {}]", NULL);
    json_object_put(r);
    return wait_received(to, "far", n, 10000);
}

/* A peer that starts later, or restarts, is linked (again); drops and
 * recoveries are logged once each; status shows every link's state. */
static void test_links_recover(void)
{
    hh_env *ea = hh_env_new(), *eb = hh_env_new();
    char *peer = g_strdup_printf("127.0.0.1:%u", free_port());
    hh_write_config(ea, "{\"plugins\": [{\"plugin\": \"testplug\", \"id\": \"far\"}]}");
    char *cfg = g_strdup_printf("{\"links\": [{\"style\": \"interconnect\", \"host\": "
                                "\"127.0.0.1\", \"port\": %s, \"ttl\": 600, \"check\": 1}]}",
                                strrchr(peer, ':') + 1);
    hh_write_config(eb, cfg);
    g_free(cfg);

    /* The peer is not there yet: retried, and status says so. */
    hh_hub *b = hh_start(eb, NULL, true);
    char *cannot = g_strdup_printf("cannot link to %s: ", peer);
    EXPECT(hh_wait_log(b, cannot, 10000));
    g_free(cannot);
    EXPECT(wait_link_state(b, 0, "retrying", 10000));
    json_object *l = link_status(b, 0);
    EXPECT(l && hh_str(l, "last_error") && hh_str(l, "next_try"));
    EXPECT(l && strcmp(hh_str(l, "peer"), peer) == 0);
    json_object_put(l);
    char *err = NULL;
    int rc = cli(b, &err, "status", NULL, NULL);
    EXPECT(rc == 0);
    g_free(err);

    /* It starts: the link is made without any help. */
    hh_hub *a = start_peer(ea, peer);
    EXPECT(wait_link_state(b, 0, "up", 90000));
    char *linked = g_strdup_printf("linked to %s (interconnect) after ", peer);
    EXPECT(hh_wait_log(b, linked, 1000));
    g_free(linked);
    l = link_status(b, 0);
    EXPECT(l && !hh_str(l, "last_error"));
    json_object_put(l);
    EXPECT(ping_reaches(b, a, "1"));

    /* It restarts: the link is made again, and works. */
    EXPECT(hh_stop(a) == 0);
    hh_free(a);
    a = start_peer(ea, peer);
    char *again = g_strdup_printf("link to %s (interconnect) is up again", peer);
    EXPECT(hh_wait_log(b, again, 90000));
    EXPECT(wait_link_state(b, 0, "up", 10000));
    EXPECT(ping_reaches(b, a, "1"));
    char *log = hh_log(b);
    char *dropped = g_strdup_printf("link to %s (interconnect) dropped: ", peer);
    EXPECT(count(log, dropped) == 1);
    EXPECT(count(log, again) == 1);
    EXPECT(count(log, "cannot link to") == 1);
    g_free(log);
    g_free(dropped);
    g_free(again);

    /* SIGHUP re-reads the links: one removed, one added. */
    hh_write_config(eb, "{\"links\": []}");
    kill(b->pid, SIGHUP);
    EXPECT(hh_wait_log(b, "links: 0 added, 1 removed", 10000));
    cfg = g_strdup_printf("{\"links\": [{\"style\": \"oneway\", \"host\": \"127.0.0.1\", "
                          "\"port\": %s}]}",
                          strrchr(peer, ':') + 1);
    hh_write_config(eb, cfg);
    g_free(cfg);
    kill(b->pid, SIGHUP);
    EXPECT(hh_wait_log(b, "links: 1 added, 0 removed", 10000));
    EXPECT(wait_link_state(b, 0, "up", 10000));
    l = link_status(b, 0);
    EXPECT(l && strcmp(hh_str(l, "style"), "oneway") == 0);
    json_object_put(l);
    EXPECT(ping_reaches(b, a, "2"));

    EXPECT(hh_stop(b) == 0);
    EXPECT(hh_stop(a) == 0);
    hh_free(a);
    hh_free(b);
    g_free(peer);
    hh_env_free(ea);
    hh_env_free(eb);
}

/* POST @body to the hub as is; the answer body (transfer full) or NULL. */
static char *post_raw(hh_hub *h, const char *body)
{
    unsigned port = (unsigned)atoi(strrchr(h->listen, ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return NULL;
    }
    char *req = g_strdup_printf("POST /JSON HTTP/1.1\r\nHost: %s\r\nContent-Type: "
                                "application/json\r\nContent-Length: %zu\r\nConnection: "
                                "close\r\n\r\n%s",
                                h->listen, strlen(body), body);
    size_t off = 0, n = strlen(req);
    while (off < n) {
        ssize_t w = write(fd, req + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    g_free(req);
    GString *in = g_string_new(NULL);
    char buf[4096];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        g_string_append_len(in, buf, r);
    close(fd);
    const char *sep = strstr(in->str, "\r\n\r\n");
    char *out = sep ? g_strdup(sep + 4) : NULL;
    g_string_free(in, TRUE);
    return out;
}

typedef struct {
    GPid pid;
    int out_fd;
    GString *out;
    GMutex lock;
    GThread *reader;
} listener;

static gpointer listener_read(gpointer data)
{
    listener *l = data;
    char buf[4096];
    ssize_t n;
    while ((n = read(l->out_fd, buf, sizeof buf)) > 0) {
        g_mutex_lock(&l->lock);
        g_string_append_len(l->out, buf, n);
        g_mutex_unlock(&l->lock);
    }
    return NULL;
}

static listener *listen_start(hh_hub *h, const char *pattern)
{
    listener *l = g_new0(listener, 1);
    char *exe = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
    const char *argv[] = {exe, "--hub", h->listen, "listen", pattern, NULL};
    GError *ge = NULL;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                  &l->pid, NULL, &l->out_fd, NULL, &ge)) {
        fprintf(stderr, "cannot run listen: %s\n", ge->message);
        exit(1);
    }
    g_free(exe);
    l->out = g_string_new(NULL);
    g_mutex_init(&l->lock);
    l->reader = g_thread_new("listen-out", listener_read, l);
    return l;
}

static bool listen_saw(listener *l, const char *needle, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    for (;;) {
        g_mutex_lock(&l->lock);
        bool ok = strstr(l->out->str, needle) != NULL;
        g_mutex_unlock(&l->lock);
        if (ok || g_get_monotonic_time() >= end)
            return ok;
        g_usleep(10000);
    }
}

static void listen_stop(listener *l)
{
    kill(l->pid, SIGTERM);
    waitpid(l->pid, NULL, 0);
    g_thread_join(l->reader);
    close(l->out_fd);
    g_spawn_close_pid(l->pid);
    g_string_free(l->out, TRUE);
    g_mutex_clear(&l->lock);
    g_free(l);
}

/* Send @id until a listener prints it (its queue exists from then on). */
static bool listen_ready(hh_hub *h, listener *l, const char *id)
{
    char *params = g_strdup_printf("[\"%s\"]", id);
    char *needle = g_strdup_printf("\"%s\"", id);
    bool ok = false;
    for (int i = 0; i < 100 && !ok; i++) {
        json_object_put(hh_call(h, "hub.twitter", params, NULL));
        ok = listen_saw(l, needle, 100);
    }
    g_free(params);
    g_free(needle);
    return ok;
}

#define P70  "1180591620717411303424"                  /* 2^70 */
#define M64  "-18446744073709551616"                   /* -2^64 */
#define P128 "340282366920938463463374607431768211456" /* 2^128 */

/* `berrymq ARGS... NULL` against @h: its stdout (transfer full; NULL when
 * it could not run or did not exit 0, with its stderr printed). */
static char *cli_stdout(hh_hub *h, const char *first, ...)
{
    char *exe = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, exe);
    g_ptr_array_add(argv, "--hub");
    g_ptr_array_add(argv, h->listen);
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(argv, (gpointer)a);
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    char *out = NULL, *err = NULL;
    int status = 0;
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                      &status, NULL) ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "berrymq %s: status %d, stderr: %s\n", first, status, err ? err : "");
        g_clear_pointer(&out, g_free);
    }
    g_free(err);
    g_ptr_array_free(argv, TRUE);
    g_free(exe);
    return out;
}

/* Integers beyond 64 bits arrive as sent, on every way in: the CLI, a
 * hub.* call, the batch fast path of send_message; and so they are read
 * back from the history. */
static void test_exact_integers(void)
{
    hh_env *e = hh_env_new();
    hh_write_config(e, "{}");
    hh_hub *h = hh_start(e, NULL, true);
    listener *l = listen_start(h, "num:*");
    EXPECT(listen_ready(h, l, "num:ready"));

    char *err = NULL;
    char *exe = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
    const char *argv[] = {exe,
                          "--hub",
                          h->listen,
                          "twitter",
                          "num:cli",
                          "--json-args",
                          "[" P70 "," M64 "]",
                          "--json-kwargs",
                          "{\"big\":" P128 "}",
                          NULL};
    int status = 0;
    EXPECT(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                        &err, &status, NULL));
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_free(err);
    g_free(exe);
    EXPECT(listen_saw(l, "\"args\":[" P70 "," M64 "]", 5000));
    EXPECT(listen_saw(l, "{\"big\":" P128 "}", 1000));

    json_object *params = NULL;
    EXPECT(bmq_json_parse("[\"num:rpc\", [" P128 ", -" P70 "], {}]",
                          strlen("[\"num:rpc\", [" P128 ", -" P70 "], {}]"), 0, &params,
                          NULL) == 0);
    json_object *r = NULL;
    EXPECT(bmq_rpc_client_call(h->rpc, "hub.twitter", params, &r, NULL) == 0);
    json_object_put(r);
    EXPECT(listen_saw(l, "\"args\":[" P128 ",-" P70 "]", 5000));

    json_object *token = hh_call(h, "connect_oneway", "[600]", NULL);
    EXPECT(token != NULL);
    char *batch = g_strdup_printf(
        "[{\"id\":1,\"method\":\"send_message\",\"params\":[\"%s\",\"num:batch\",[" P70
        "],{}]},{\"id\":2,\"method\":\"send_message\",\"params\":[\"%s\",\"num:batch2\",[" M64
        "],{}]}]",
        json_object_get_string(token), json_object_get_string(token));
    char *answer = post_raw(h, batch);
    EXPECT_CONTAINS(answer, "\"ok\"");
    g_free(answer);
    g_free(batch);
    json_object_put(token);
    EXPECT(listen_saw(l, "\"id\":\"num:batch\",\"args\":[" P70 "]", 5000));
    EXPECT(listen_saw(l, "\"id\":\"num:batch2\",\"args\":[" M64 "]", 5000));
    listen_stop(l);

    /* Read back from the history: `berrymq history` and a replay by
     * `listen --since` show the same digits. */
    char *out = cli_stdout(h, "history", "num:*", "--json", NULL);
    EXPECT_CONTAINS(out,
                    "\"id\":\"num:cli\",\"args\":[" P70 "," M64 "],\"kwargs\":{\"big\":" P128 "}");
    EXPECT_CONTAINS(out, "\"id\":\"num:rpc\",\"args\":[" P128 ",-" P70 "]");
    EXPECT(out && strstr(out, "18446744073709551615") == NULL &&
           strstr(out, "9223372036854775808") == NULL);
    g_free(out);
    out = cli_stdout(h, "listen", "num:*", "--since", "1h", "--timeout", "2", NULL);
    EXPECT_CONTAINS(out, "{\"id\":\"num:cli\",\"args\":[" P70 "," M64 "],\"kwargs\":{\"big\":" P128
                         "}}");
    EXPECT_CONTAINS(out, "{\"id\":\"num:batch2\",\"args\":[" M64 "],\"kwargs\":{}}");
    EXPECT(out && strstr(out, "18446744073709551615") == NULL &&
           strstr(out, "9223372036854775808") == NULL);
    g_free(out);

    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    hh_env_free(e);
}

/* ---- smaller defects ---------------------------------------------------- */

static int udp_listener(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("udp");
        exit(1);
    }
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Every datagram received until one contains @needle or @ms pass. */
static GString *udp_until(int fd, const char *needle, int ms)
{
    GString *all = g_string_new(NULL);
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    char buf[65536];
    while (g_get_monotonic_time() < end) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            g_string_append_len(all, buf, n);
            g_string_append_c(all, '\n');
            if (needle && memmem(buf, (size_t)n, needle, strlen(needle)))
                break;
        }
    }
    return all;
}

static const char *instance_status_str(hh_hub *h, const char *id, const char *key, char **keep)
{
    json_object *i = hh_instance(h, id);
    char *path = g_strdup_printf("status.status.%s", key);
    const char *v = i ? hh_str(i, path) : NULL;
    *keep = v ? g_strdup(v) : NULL;
    g_free(path);
    json_object_put(i);
    return *keep;
}

/* A Growl server that answers every request with @answer. */
typedef struct {
    int fd;
    unsigned port;
    const char *answer;
    GThread *t;
} gntp_srv;

static gpointer gntp_srv_main(gpointer data)
{
    gntp_srv *s = data;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[65536];
        size_t got = 0;
        ssize_t n;
        while (got < sizeof buf - 1 && (n = read(c, buf + got, sizeof buf - 1 - got)) > 0) {
            got += (size_t)n;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        ssize_t w = write(c, s->answer, strlen(s->answer));
        (void)w;
        close(c);
    }
}

static void gntp_srv_start(gntp_srv *s, const char *answer)
{
    s->answer = answer;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 8) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &len) != 0) {
        perror("gntp server");
        exit(1);
    }
    s->port = ntohs(a.sin_port);
    s->t = g_thread_new("gntp-srv", gntp_srv_main, s);
}

static void gntp_srv_stop(gntp_srv *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    g_thread_join(s->t);
}

/* Growl: the hub's own _hub:* traffic stays off the Growl screen; a UDP
 * packet over 8 KB is refused and counted as failed, not as sent; the last
 * error goes once messages go through again; a server's "-ERROR Invalid
 * request" without a code keeps its words. */
static void test_growl(void)
{
    unsigned uport = 0;
    int ufd = udp_listener(&uport);
    gntp_srv gs;
    gntp_srv_start(&gs, "GNTP/1.0 -ERROR Invalid request\r\n\r\n");
    hh_env *e = hh_env_new();
    char *cfg = g_strdup_printf(
        "{\"plugins\": [{\"plugin\": \"growl\", \"id\": \"udp\", \"config\": "
        "{\"protocol\": \"udp\", \"host\": \"127.0.0.1\", \"port\": %u}},"
        "{\"plugin\": \"growl\", \"id\": \"gntp\", \"config\": {\"host\": \"127.0.0.1\", "
        "\"port\": %u, \"filter\": \"err:*\"}},"
        "{\"plugin\": \"testplug\", \"id\": \"t\"}]}",
        uport, gs.port);
    hh_write_config(e, cfg);
    g_free(cfg);
    hh_hub *h = hh_start(e, NULL, true);
    /* An instance change sends _hub:instances. */
    json_object_put(hh_call(h, "hub.disable", "[\"t\"]", NULL));
    json_object_put(hh_call(h, "hub.enable", "[\"t\"]", NULL));
    json_object_put(hh_call(h, "hub.twitter", "[\"small:one\", [], {\"text\": \"hi\"}]", NULL));
    GString *got = udp_until(ufd, "small", 10000);
    /* Binary packets: search the bytes. */
    EXPECT(memmem(got->str, got->len, "small", 5) != NULL);
    EXPECT(memmem(got->str, got->len, "_hub", 4) == NULL);
    g_string_free(got, TRUE);

    GString *big = g_string_new("[\"big:one\", [], {\"text\": \"");
    for (int i = 0; i < 10000; i++)
        g_string_append_c(big, 'x');
    g_string_append(big, "\"}]");
    json_object_put(hh_call(h, "hub.twitter", big->str, NULL));
    g_string_free(big, TRUE);
    EXPECT(hh_wait_log(h, "over the 8192-byte limit", 10000));
    char *keep = NULL;
    EXPECT(strcmp(instance_status_str(h, "udp", "failed", &keep) ?: "", "1") == 0);
    g_free(keep);
    EXPECT_CONTAINS(instance_status_str(h, "udp", "last_error", &keep), "8192-byte limit");
    g_free(keep);
    json_object_put(hh_call(h, "hub.twitter", "[\"small:two\", [], {}]", NULL));
    got = udp_until(ufd, "small:two", 10000);
    g_string_free(got, TRUE);
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (instance_status_str(h, "udp", "last_error", &keep) && g_get_monotonic_time() < end) {
        g_free(keep);
        g_usleep(20000);
    }
    EXPECT(keep == NULL); /* cleared once a message went through */
    g_free(keep);

    json_object_put(hh_call(h, "hub.twitter", "[\"err:x\"]", NULL));
    EXPECT(hh_wait_log(h, "refused: -ERROR: Invalid request", 10000));
    char *log = hh_log(h);
    EXPECT(strstr(log, "malformed key field") == NULL);
    g_free(log);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    hh_env_free(e);
    gntp_srv_stop(&gs);
    close(ufd);
}

/* What the wire refuses: NUL in identifiers and keys, invalid UTF-8, a
 * body that is not a request; an expired queue token answers "timeout"
 * once, then "invalid token". */
static void test_wire_refusals(void)
{
    hh_env *e = hh_env_new();
    hh_write_config(e, "{}");
    hh_hub *h = hh_start(e, NULL, true);
    listener *l = listen_start(h, "a");
    EXPECT(listen_ready(h, l, "a:ready"));

    char *r = post_raw(h, "{\"id\":1,\"method\":\"hub.twitter\",\"params\":[\"a\\u0000b:c\"]}");
    EXPECT_CONTAINS(r, "NUL character");
    g_free(r);
    r = post_raw(h, "{\"id\":1,\"method\":\"hub.twitter\",\"params\":[\"a:k\",[],"
                    "{\"k\\u0000x\":1}]}");
    EXPECT_CONTAINS(r, "NUL character");
    g_free(r);
    r = post_raw(h, "{\"id\":1,\"method\":\"hub.twitter\",\"params\":[\"a:\xff\xfe\"]}");
    EXPECT_CONTAINS(r, "parse error");
    EXPECT_CONTAINS(r, "utf-8");
    g_free(r);
    r = post_raw(h, "{\"id\":1,\"method\":\"hub.twitter\",\"params\":[\"a:v\",[\"\xc3\"]]}");
    EXPECT_CONTAINS(r, "utf-8");
    g_free(r);
    /* The same in the exact layout of a batch between our hubs (the bulk
     * path that reads the envelope itself). */
    json_object *ow = hh_call(h, "connect_oneway", "[60]", NULL);
    EXPECT(ow && json_object_is_type(ow, json_type_string));
    char *batch = g_strdup_printf("[{\"id\":1,\"method\":\"send_message\",\"params\":[\"%s\","
                                  "\"a:\xff\xfe\",[],{}]}]",
                                  ow ? json_object_get_string(ow) : "");
    r = post_raw(h, batch);
    EXPECT_CONTAINS(r, "utf-8");
    EXPECT(r && strstr(r, "\"ok\"") == NULL);
    g_free(r);
    g_free(batch);
    json_object_put(ow);
    /* A lone surrogate escape is valid JSON: it becomes U+FFFD, never raw
     * bytes. */
    r = post_raw(h, "{\"id\":1,\"method\":\"hub.twitter\",\"params\":[\"a:s\",[\"\\ud800x\"]]}");
    EXPECT_CONTAINS(r, "\"ok\"");
    g_free(r);
    EXPECT(listen_saw(l, "\"a:s\",\"args\":[\"\xef\xbf\xbdx\"]", 5000));
    r = post_raw(h, "null");
    EXPECT_CONTAINS(r, "invalid request: expected a request object or a batch array, got null");
    EXPECT(strstr(r, "success") == NULL);
    g_free(r);
    /* None of them reached a listener as a wildcard or cut short, and what
     * the listener printed is valid UTF-8. */
    json_object_put(hh_call(h, "hub.twitter", "[\"a:end\"]", NULL));
    EXPECT(listen_saw(l, "\"a:end\"", 5000));
    g_mutex_lock(&l->lock);
    EXPECT(strstr(l->out->str, "\"a:*\"") == NULL && strstr(l->out->str, "a:k") == NULL &&
           strstr(l->out->str, "a:v") == NULL && strstr(l->out->str, "a:\xff") == NULL);
    EXPECT(g_utf8_validate(l->out->str, -1, NULL));
    g_mutex_unlock(&l->lock);
    listen_stop(l);

    json_object *token = hh_call(h, "connect_via_queue", "[\"q:*\", 1]", NULL);
    EXPECT(json_object_is_type(token, json_type_string));
    char *params = g_strdup_printf("[\"%s\"]", json_object_get_string(token));
    g_usleep(1600 * 1000); /* idle past its ttl of 1 s */
    json_object *a1 = hh_call(h, "get_nowait", params, NULL);
    json_object *a2 = hh_call(h, "get_nowait", params, NULL);
    json_object *a3 = hh_call(h, "get_nowait", params, NULL);
    EXPECT(a1 && strcmp(json_object_get_string(a1), "timeout") == 0);
    EXPECT(a2 && strcmp(json_object_get_string(a2), "invalid token") == 0);
    EXPECT(a3 && strcmp(json_object_get_string(a3), "invalid token") == 0);
    json_object_put(a1);
    json_object_put(a2);
    json_object_put(a3);
    g_free(params);
    json_object_put(token);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    hh_env_free(e);
}

/* `berrymq plugin list` (hub.plugins) loads every plugin file: one that
 * never returns is bounded as at start. The hub restarts on its address,
 * and from then on lists that file with its error, unloaded, beside the
 * others. */
static void test_hang_listing(void)
{
    hh_env *e = hh_env_new();
    hh_write_config(e, "{\"plugins\": [{\"plugin\": \"testplug\", \"id\": \"first\"}]}");
    char *hang_dir = g_build_filename(e->plugin_dir, "hang", NULL);
    const char *extra[] = {"--plugin-dir", hang_dir, NULL};
    hh_hub *h = hh_start(e, extra, true);
    EXPECT(status_wait(h, "first", "running", 10000));
    char *err = NULL;
    json_object *r = hh_call(h, "hub.plugins", "[]", &err);
    EXPECT(r == NULL); /* no answer: the hub restarted under the call */
    json_object_put(r);
    g_free(err);
    char *line = g_strdup_printf("plugin file %s/hangload.so did not return from load within 10 s; "
                                 "restarting the hub",
                                 hang_dir);
    EXPECT(hh_wait_log(h, line, 40000));
    g_free(line);
    reconnect_after_restart(h, 2);
    EXPECT(status_wait(h, "first", "running", 10000));

    /* Listed now, at once: the file that hung with its error, the rest as
     * usual. */
    r = hh_call(h, "hub.plugins", "[]", &err);
    EXPECT(r != NULL);
    if (!r)
        fprintf(stderr, "hub.plugins after the restart: %s\n", err ? err : "?");
    g_free(err);
    json_object *avail = NULL;
    bool saw_hang = false, saw_testplug = false;
    if (r && json_object_object_get_ex(r, "available", &avail))
        for (size_t i = 0; i < json_object_array_length(avail); i++) {
            json_object *a = json_object_array_get_idx(avail, i);
            const char *name = hh_str(a, "name"), *error = hh_str(a, "error");
            if (name && strcmp(name, "hangload") == 0) {
                saw_hang = true;
                EXPECT_CONTAINS(error, "did not finish loading within 10 s");
                EXPECT_CONTAINS(error, "left out until the file changes");
            }
            if (name && strcmp(name, "testplug") == 0) {
                saw_testplug = true;
                EXPECT(error == NULL);
            }
        }
    EXPECT(saw_hang && saw_testplug);
    json_object_put(r);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    g_free(hang_dir);
    hh_env_free(e);
}

/* A hub that cannot start says why, once, in words that help. */
static char *start_fails(hh_env *e, const char *const *extra)
{
    hh_hub *h = hh_start(e, extra, false);
    int rc = hh_wait_exit(h, 20000);
    EXPECT(rc == 1);
    hh_finish_log(h);
    char *log = hh_log(h);
    hh_free(h);
    return log;
}

static void test_start_messages(void)
{
    hh_env *e = hh_env_new();
    hh_write_config(e, "");
    char *log = start_fails(e, NULL);
    EXPECT_CONTAINS(log, "hub.json: the file is empty (write {} to run on the defaults)");
    EXPECT(strstr(log, "continue") == NULL);
    g_free(log);

    hh_write_config(e, "{\"plugins\": [],\n}\n");
    log = start_fails(e, NULL);
    EXPECT_CONTAINS(log, "hub.json: (syntax): invalid JSON at line 2");
    g_free(log);

    /* The port is taken (by another hub with its own runtime dir). */
    hh_write_config(e, "{}");
    hh_env *other = hh_env_new();
    hh_write_config(other, "{}");
    hh_hub *a = hh_start(other, NULL, true);
    const char *args[] = {"--listen", a->listen, NULL};
    log = start_fails(e, args);
    EXPECT(count(log, "cannot listen") == 1);
    EXPECT_CONTAINS(log, "choose another with --listen");
    g_free(log);
    hh_stop(a);
    hh_free(a);
    hh_env_free(other);

    /* The lock file cannot be written (a full disk): the second hub does
     * not claim "already running (pid 0)". */
    char *dir = g_build_filename(e->root, "run", "berrymq", NULL);
    g_mkdir_with_parents(dir, 0700);
    char *lock = g_build_filename(dir, "hub.lock", NULL);
    g_unlink(lock);
    EXPECT(symlink("/dev/full", lock) == 0);
    hh_hub *first = hh_start(e, NULL, true);
    EXPECT(hh_wait_log(first, "No space left on device", 5000));
    log = start_fails(e, NULL);
    EXPECT(strstr(log, "pid 0") == NULL);
    EXPECT_CONTAINS(log, "another hub holds the lock, but its pid could not be read");
    g_free(log);
    hh_stop(first);
    hh_free(first);
    g_free(lock);
    g_free(dir);
    hh_env_free(e);
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    /* Under AddressSanitizer its own fatal-signal handlers would take the
     * place of the hub's, which is what is tested here. */
    const char *asan = g_getenv("ASAN_OPTIONS");
    char *opts = g_strdup_printf("%s%shandle_segv=0:handle_sigbus=0:handle_sigfpe=0:"
                                 "handle_sigill=0:handle_abort=0:allow_user_segv_handler=1",
                                 asan ? asan : "", asan && *asan ? ":" : "");
    g_setenv("ASAN_OPTIONS", opts, TRUE);
    g_free(opts);
#define RUN_CASE(name, call)                                                                       \
    do {                                                                                           \
        if (!only || strcmp(only, name) == 0) {                                                    \
            fprintf(stderr, "== %s\n", name);                                                      \
            call;                                                                                  \
        }                                                                                          \
    } while (0)
    RUN_CASE("follower", test_crash_in_follower());
    RUN_CASE("create", test_crash_in_create("create", "SIGSEGV"));
    RUN_CASE("abort", test_crash_in_create("abort", "SIGABRT"));
    RUN_CASE("timeout", test_crash_in_timeout());
    RUN_CASE("exit", test_exit_in_follower());
    RUN_CASE("links", test_links_recover());
    RUN_CASE("integers", test_exact_integers());
    RUN_CASE("growl", test_growl());
    RUN_CASE("wire", test_wire_refusals());
    RUN_CASE("start", test_start_messages());
    RUN_CASE("hang-create", test_hang_in_create());
    RUN_CASE("hang-load", test_hang_in_load());
    RUN_CASE("hang-runtime", test_hang_at_runtime());
    RUN_CASE("hang-list", test_hang_listing());
    return check_result();
}
