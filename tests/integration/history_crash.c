/* history_crash.c - nothing acknowledged is lost: a client floods the hub
 * with JSON-RPC batches (hub.twitter and send_message on a style-02 token)
 * while the hub is killed with SIGKILL; after a restart every message the
 * client saw answered "ok" is in the history. Once with sync "normal", once
 * with "full". Also: `berrymq listen --since` replays and then follows
 * with no gap and no duplicate at the seam while messages keep coming.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "hub_harness.h"
#include "rpc_post.h"

#define BATCH 100

typedef struct flood {
    char *listen;
    char *token;
    GMutex lock;
    GHashTable *acked; /* k -> k: answered "ok" */
    int batches;
    volatile gint stop;
    volatile gint count;
} flood;

static gpointer flood_main(gpointer data)
{
    flood *f = data;
    rp_conn *c = rp_connect(f->listen);
    int k = 0;
    GString *body = g_string_new(NULL);
    while (c && !g_atomic_int_get(&f->stop)) {
        bool twitter = f->batches++ % 2 == 0;
        g_string_assign(body, "[");
        for (int i = 0; i < BATCH; i++) {
            if (twitter)
                g_string_append_printf(body,
                                       "%s{\"id\":%d,\"method\":\"hub.twitter\",\"params\":["
                                       "\"flood:tw\",[%d],{}]}",
                                       i ? "," : "", k + i, k + i);
            else
                g_string_append_printf(body,
                                       "%s{\"id\":%d,\"method\":\"send_message\",\"params\":["
                                       "\"%s\",\"flood:sm\",[%d],{}]}",
                                       i ? "," : "", k + i, f->token, k + i);
        }
        g_string_append(body, "]");
        char *answer = rp_post(c, body->str, body->len);
        if (!answer)
            break;
        json_object *arr = json_tokener_parse(answer);
        free(answer);
        g_mutex_lock(&f->lock);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *r = json_object_array_get_idx(arr, i), *res, *id;
            if (json_object_object_get_ex(r, "result", &res) &&
                json_object_is_type(res, json_type_string) &&
                strcmp(json_object_get_string(res), "ok") == 0 &&
                json_object_object_get_ex(r, "id", &id)) {
                int v = json_object_get_int(id);
                g_hash_table_add(f->acked, GINT_TO_POINTER(v + 1));
                g_atomic_int_inc(&f->count);
            }
        }
        g_mutex_unlock(&f->lock);
        json_object_put(arr);
        k += BATCH;
    }
    g_string_free(body, TRUE);
    rp_close(c);
    return NULL;
}

/* Every args[0] of stored "flood" messages, paging through hub.history. */
static GHashTable *stored(hh_hub *h, int *total)
{
    GHashTable *s = g_hash_table_new(NULL, NULL);
    int64_t since = 0;
    *total = 0;
    for (;;) {
        char *p = g_strdup_printf("[\"flood\", %" G_GINT64_FORMAT ", 10000]", since);
        char *err = NULL;
        json_object *r = hh_call(h, "hub.history", p, &err);
        g_free(p);
        if (!r)
            fprintf(stderr, "hub.history: %s\n", err);
        g_free(err);
        size_t n = json_object_array_length(r);
        for (size_t i = 0; i < n; i++) {
            json_object *rec = json_object_array_get_idx(r, i), *args, *seq;
            json_object_object_get_ex(rec, "args", &args);
            json_object_object_get_ex(rec, "seq", &seq);
            g_hash_table_add(
                s, GINT_TO_POINTER(json_object_get_int(json_object_array_get_idx(args, 0)) + 1));
            since = json_object_get_int64(seq);
            (*total)++;
        }
        json_object_put(r);
        if (n < 10000)
            return s;
    }
}

static void crash_run(const char *sync)
{
    hh_env *env = hh_env_new();
    char *cfg = g_strdup_printf("{\"plugins\": [], \"history\": {\"sync\": \"%s\"}}", sync);
    hh_write_config(env, cfg);
    g_free(cfg);
    hh_hub *h = hh_start(env, NULL, true);
    flood f = {.listen = g_strdup(h->listen), .acked = g_hash_table_new(NULL, NULL)};
    g_mutex_init(&f.lock);
    char *err = NULL;
    json_object *tok = hh_call(h, "connect_oneway", "[0]", &err);
    EXPECT(json_object_is_type(tok, json_type_string));
    f.token = g_strdup(json_object_get_string(tok));
    json_object_put(tok);
    GThread *t = g_thread_new("flood", flood_main, &f);
    /* Kill while the flood is well under way. */
    gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    while (g_atomic_int_get(&f.count) < 20000 && g_get_monotonic_time() < end)
        g_usleep(2000);
    kill(h->pid, SIGKILL);
    g_thread_join(t);
    hh_wait_exit(h, 10000);
    EXPECT(h->exited);
    hh_free(h);

    h = hh_start(env, NULL, true);
    int total = 0;
    GHashTable *have = stored(h, &total);
    unsigned missing = 0;
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, f.acked);
    while (g_hash_table_iter_next(&it, &k, NULL))
        if (!g_hash_table_contains(have, k))
            missing++;
    printf("sync %s: %u acknowledged, %d stored after kill -9, %u acknowledged but missing\n", sync,
           g_hash_table_size(f.acked), total, missing);
    EXPECT(g_hash_table_size(f.acked) >= 1000);
    EXPECT(missing == 0);
    /* No duplicates from the restart either. */
    EXPECT((unsigned)total == g_hash_table_size(have));
    json_object *st = hh_call(h, "hub.status", "[]", NULL);
    EXPECT(strcmp(hh_str(st, "history.state"), "ok") == 0);
    json_object_put(st);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    g_hash_table_destroy(have);
    g_hash_table_destroy(f.acked);
    g_mutex_clear(&f.lock);
    g_free(f.listen);
    g_free(f.token);
    hh_env_free(env);
}

/* Run the berrymq CLI against @listen; exit code, stdout in *out. */
static int run_cli(const char *listen, const char *const *args, char **out)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv,
                    g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL));
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, g_strdup(*a));
    g_ptr_array_add(argv, NULL);
    char **env = g_environ_setenv(g_get_environ(), "BERRYMQ_HUB", listen, TRUE);
    int status = -1;
    GError *err = NULL;
    if (!g_spawn_sync(NULL, (char **)argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL, out, NULL,
                      &status, &err)) {
        fprintf(stderr, "cannot run the CLI: %s\n", err->message);
        g_error_free(err);
    }
    g_strfreev(env);
    g_ptr_array_free(argv, TRUE);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

typedef struct sender {
    char *listen;
    volatile gint stop;
    int sent;
} sender;

static gpointer sender_main(gpointer data)
{
    sender *s = data;
    bmq_rpc_client *c = bmq_rpc_client_new(s->listen, NULL);
    while (!g_atomic_int_get(&s->stop)) {
        char id[32];
        g_snprintf(id, sizeof id, "seam:%d", s->sent);
        json_object *params = json_object_new_array(), *res = NULL;
        json_object_array_add(params, json_object_new_string(id));
        json_object_array_add(params, json_object_new_array());
        json_object_array_add(json_object_array_get_idx(params, 1), json_object_new_int(s->sent));
        if (bmq_rpc_client_call(c, "hub.twitter", params, &res, NULL) == 0)
            s->sent++;
        json_object_put(res);
    }
    bmq_rpc_client_free(c);
    return NULL;
}

/* listen --since while a sender keeps going: the lines are 0, 1, 2, ...
 * with nothing missing and nothing twice, across the replay/follow seam. */
static void seam(void)
{
    hh_env *env = hh_env_new();
    hh_write_config(env, "{\"plugins\": []}");
    hh_hub *h = hh_start(env, NULL, true);
    sender s = {.listen = g_strdup(h->listen)};
    GThread *t = g_thread_new("seam", sender_main, &s);
    while (g_atomic_int_get(&s.sent) < 200)
        g_usleep(1000);
    char *out = NULL;
    const char *argv[] = {"listen", "seam",      "--since", "1h", "--count",
                          "600",    "--timeout", "20",      NULL};
    int rc = run_cli(h->listen, argv, &out);
    g_atomic_int_set(&s.stop, 1);
    g_thread_join(t);
    EXPECT(rc == 0);
    char **lines = g_strsplit(out ? out : "", "\n", -1);
    int n = 0;
    for (char **l = lines; *l && **l; l++, n++) {
        char want[64];
        g_snprintf(want, sizeof want, "{\"id\":\"seam:%d\",\"args\":[%d],", n, n);
        if (!g_str_has_prefix(*l, want)) {
            fprintf(stderr, "line %d: %s (want %s...)\n", n, *l, want);
            EXPECT(false);
            break;
        }
    }
    EXPECT(n == 600);
    g_strfreev(lines);
    g_free(out);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    g_free(s.listen);
    hh_env_free(env);
}

int main(void)
{
    crash_run("normal");
    crash_run("full");
    seam();
    return check_result();
}
