/* history_cursor.c - a plugin's durable outbox through host->history_cursor,
 * seen from outside: the test forwarder (tests/plugins/cursorplug.c) writes
 * each message it delivers to a file.
 *   - destination down, messages acknowledged to their sender, the hub
 *     killed with SIGKILL; after a restart with the destination up, every
 *     message is delivered, in order, then live ones follow;
 *   - after a clean stop nothing is delivered twice;
 *   - a new cursor does not replay what was stored before it existed;
 *   - with "history": false the plugin is told "no history" and works live.
 */
#include <signal.h>
#include <string.h>

#include "hub_harness.h"

static void send(hh_hub *h, const char *id, int n)
{
    char *params = g_strdup_printf("[\"%s\", [%d], {}]", id, n);
    char *err = NULL;
    json_object *r = hh_call(h, "hub.twitter", params, &err);
    if (!r)
        fprintf(stderr, "hub.twitter %s: %s\n", params, err);
    EXPECT(r && strcmp(json_object_get_string(r), "ok") == 0);
    json_object_put(r);
    g_free(err);
    g_free(params);
}

static char *read_out(const char *path)
{
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return g_strdup("");
    return text;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* Wait until @path has at least @n lines; returns its contents. */
static char *wait_lines(const char *path, int n)
{
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    for (;;) {
        char *text = read_out(path);
        if (count_lines(text) >= n || g_get_monotonic_time() > end)
            return text;
        g_free(text);
        g_usleep(20000);
    }
}

static void write_config(hh_env *env, const char *out, bool deliver, const char *history)
{
    char *cfg = g_strdup_printf("{\"plugins\": [{\"plugin\": \"cursorplug\", \"id\": \"fwd\", "
                                "\"config\": {\"out\": \"%s\", \"deliver\": %s}}]%s}",
                                out, deliver ? "true" : "false", history ? history : "");
    hh_write_config(env, cfg);
    g_free(cfg);
}

static void check_text(const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        fprintf(stderr, "delivered:\n%s--- want:\n%s---\n", got, want);
    EXPECT(strcmp(got, want) == 0);
}

static void test_durable(hh_env *env)
{
    char *out = g_build_filename(env->root, "out-durable.txt", NULL);
    write_config(env, out, false, NULL);
    hh_hub *h = hh_start(env, NULL, true);
    EXPECT(hh_wait_state(h, "fwd", "running", 10000));
    for (int i = 1; i <= 5; i++) {
        send(h, "job:run", i);
        send(h, "other:run", i); /* not the forwarder's */
    }
    json_object *inst = hh_instance(h, "fwd");
    EXPECT(strcmp(hh_str(inst, "status.status.history"), "true") == 0);
    json_object_put(inst);
    kill(h->pid, SIGKILL);
    hh_wait_exit(h, 10000);
    hh_free(h);
    char *text = read_out(out);
    EXPECT(count_lines(text) == 0);
    g_free(text);

    /* The destination is back: the backlog first, in order, then live. */
    write_config(env, out, true, NULL);
    h = hh_start(env, NULL, true);
    text = wait_lines(out, 5);
    check_text(text, "job:run [1]\njob:run [2]\njob:run [3]\njob:run [4]\njob:run [5]\n");
    g_free(text);
    send(h, "job:run", 6);
    text = wait_lines(out, 6);
    EXPECT(count_lines(text) == 6);
    EXPECT_CONTAINS(text, "job:run [5]\njob:run [6]\n");
    g_free(text);
    inst = hh_instance(h, "fwd");
    EXPECT(strcmp(hh_str(inst, "status.status.replayed"), "5") == 0);
    EXPECT(strcmp(hh_str(inst, "status.status.live"), "1") == 0);
    json_object_put(inst);
    /* The saved position is visible in the status. */
    json_object *st = hh_call(h, "hub.status", "[]", NULL);
    EXPECT(hh_str(st, "history.cursors.fwd/out") != NULL);
    json_object_put(st);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);

    /* After a clean stop every delivery was acked: nothing comes twice. */
    h = hh_start(env, NULL, true);
    EXPECT(hh_wait_state(h, "fwd", "running", 10000));
    send(h, "job:run", 7);
    text = wait_lines(out, 7);
    check_text(text, "job:run [1]\njob:run [2]\njob:run [3]\njob:run [4]\njob:run [5]\n"
                     "job:run [6]\njob:run [7]\n");
    g_free(text);
    inst = hh_instance(h, "fwd");
    EXPECT(strcmp(hh_str(inst, "status.status.replayed"), "0") == 0);
    json_object_put(inst);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    g_free(out);
}

/* A forwarder added later starts at the end: no flood of old messages. */
static void test_new_cursor(hh_env *env)
{
    char *out = g_build_filename(env->root, "out-new.txt", NULL);
    hh_write_config(env, "{\"plugins\": []}");
    hh_hub *h = hh_start(env, NULL, true);
    send(h, "job:old", 1);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    char *cfg = g_strdup_printf("{\"plugins\": [{\"plugin\": \"cursorplug\", \"id\": \"late\", "
                                "\"config\": {\"out\": \"%s\"}}]}",
                                out);
    hh_write_config(env, cfg);
    g_free(cfg);
    h = hh_start(env, NULL, true);
    EXPECT(hh_wait_state(h, "late", "running", 10000));
    send(h, "job:new", 2);
    char *text = wait_lines(out, 1);
    check_text(text, "job:new [2]\n");
    g_free(text);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    g_free(out);
}

static void test_no_history(hh_env *env)
{
    char *out = g_build_filename(env->root, "out-off.txt", NULL);
    write_config(env, out, true, ", \"history\": false");
    hh_hub *h = hh_start(env, NULL, true);
    EXPECT(hh_wait_state(h, "fwd", "running", 10000));
    json_object *inst = hh_instance(h, "fwd");
    EXPECT(strcmp(hh_str(inst, "status.status.history"), "false") == 0);
    EXPECT_CONTAINS(hh_str(inst, "status.status.error"), "no history");
    json_object_put(inst);
    send(h, "job:run", 1);
    char *text = wait_lines(out, 1);
    check_text(text, "job:run [1]\n");
    g_free(text);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    g_free(out);
}

int main(void)
{
    hh_env *env = hh_env_new();
    test_durable(env);
    test_new_cursor(env);
    test_no_history(env);
    hh_env_free(env);
    return check_result();
}
