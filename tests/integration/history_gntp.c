/* history_gntp.c - a Growl client that was told -OK finds its notification
 * in the history even when the hub is killed with SIGKILL right after:
 * eight clients send GNTP notifications without pause, each on its own
 * connection, and note every -OK; the client that notes the 500th kills
 * the hub at once. Three rounds of that, and a fourth that stops the hub
 * with SIGTERM instead (replies still held are dropped cleanly, and the
 * hub exits 0); after a restart every noted notification is in
 * hub.history. (The receiver holds each -OK until its notification is
 * committed: host->when_stored.)
 */
#include <signal.h>
#include <string.h>

#include "gntp_client.h"
#include "hub_harness.h"

#define CLIENTS 8
#define KILL_AT 500
#define ROUNDS  3

typedef struct flood {
    int port;
    pid_t pid;
    GMutex lock;
    int round;
    guint kill_at;
    int sig;
    GHashTable *acked; /* title -> NULL */
    int other;         /* answers neither -OK nor empty */
    char *first_other;
    gboolean killed;
} flood;

typedef struct client {
    flood *f;
    int n;
} client;

static gpointer client_run(gpointer data)
{
    client *c = data;
    flood *f = c->f;
    for (int i = 0;; i++) {
        char *title = g_strdup_printf("r%d-c%d-%d", f->round, c->n, i);
        char *answer = gntp_notify(f->port, "flood", "n", title);
        bool gone = !answer || !*answer;
        g_mutex_lock(&f->lock);
        if (answer && g_str_has_prefix(answer, "GNTP/1.0 -OK")) {
            g_hash_table_add(f->acked, title);
            title = NULL;
            if (g_hash_table_size(f->acked) == f->kill_at && !f->killed) {
                kill(f->pid, f->sig);
                f->killed = TRUE;
            }
        } else if (!gone) {
            if (!f->first_other)
                f->first_other = g_strdup(answer);
            f->other++;
        }
        bool stop = gone || f->killed;
        g_mutex_unlock(&f->lock);
        g_free(title);
        g_free(answer);
        if (stop && gone)
            break;
    }
    return NULL;
}

int main(void)
{
    const char *pdir = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    CHECK(pdir != NULL);
    flood f = {.port = gntp_free_port()};
    CHECK(f.port > 0);
    g_mutex_init(&f.lock);
    f.acked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    hh_env *e = hh_env_new();
    char *cfg = g_strdup_printf("{\"plugins\": [{\"plugin\": \"%s/growl.so\", \"id\": \"growld\", "
                                "\"config\": {\"forward\": false, \"listen\": {\"gntp\": %d}}}]}",
                                pdir, f.port);
    hh_write_config(e, cfg);
    g_free(cfg);
    hh_hub *h = NULL;
    for (f.round = 0; f.round <= ROUNDS; f.round++) {
        h = hh_start(e, NULL, true);
        CHECK(hh_wait_state(h, "growld", "running", 10000));
        f.pid = h->pid;
        f.killed = FALSE;
        f.sig = f.round < ROUNDS ? SIGKILL : SIGTERM;
        f.kill_at = g_hash_table_size(f.acked) + KILL_AT;
        client cs[CLIENTS];
        GThread *th[CLIENTS];
        for (int i = 0; i < CLIENTS; i++) {
            cs[i] = (client){&f, i};
            th[i] = g_thread_new("gntp-client", client_run, &cs[i]);
        }
        for (int i = 0; i < CLIENTS; i++)
            g_thread_join(th[i]);
        EXPECT_MSG(f.killed, "round %d: the hub was not killed: %u notifications acknowledged",
                   f.round, g_hash_table_size(f.acked));
        int rc = hh_wait_exit(h, 20000);
        if (f.sig == SIGTERM)
            EXPECT_MSG(rc == 0, "stopped while answering: exit status %d", rc);
        hh_free(h);
    }
    EXPECT_MSG(f.other == 0, "%d answers were neither -OK nor a closed connection, first: %s",
               f.other, f.first_other ? f.first_other : "");

    /* Started again without the plugin: what is stored is what was kept. */
    hh_write_config(e, "{\"plugins\": []}");
    h = hh_start(e, NULL, true);
    json_object *r = hh_history(h, "flood:n", 0, 0);
    EXPECT(r != NULL);
    GHashTable *stored = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; r && i < json_object_array_length(r); i++) {
        const char *t = hh_str(json_object_array_get_idx(r, i), "kwargs.title");
        if (t)
            g_hash_table_add(stored, (gpointer)t);
    }
    guint missing = 0;
    const char *first_missing = NULL;
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, f.acked);
    while (g_hash_table_iter_next(&it, &key, NULL))
        if (!g_hash_table_contains(stored, key) && missing++ == 0)
            first_missing = key;
    printf("acknowledged %u, stored %u, acknowledged but lost %u\n", g_hash_table_size(f.acked),
           g_hash_table_size(stored), missing);
    EXPECT_MSG(g_hash_table_size(f.acked) >= (ROUNDS + 1) * KILL_AT, "only %u acknowledged",
               g_hash_table_size(f.acked));
    EXPECT_MSG(missing == 0, "%u acknowledged notifications are not in the history (e.g. %s)",
               missing, first_missing ? first_missing : "");
    g_hash_table_destroy(stored);
    json_object_put(r);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    hh_env_free(e);
    g_hash_table_destroy(f.acked);
    g_free(f.first_other);
    g_mutex_clear(&f.lock);
    return check_result();
}
