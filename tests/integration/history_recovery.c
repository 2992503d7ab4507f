/* history_recovery.c - a damaged history never stops the hub: a file that
 * is not a database, and one damaged in its middle, are moved aside to
 * history.db.corrupt-TIMESTAMP and a fresh store records what comes next;
 * a path that cannot be opened at all leaves the hub running, delivering,
 * and saying "error" in its status.
 */
#include <fcntl.h>
#include <unistd.h>

#include "history_common.h"

static int count_aside(hh_env *env)
{
    char *dir = g_build_filename(env->root, "home", ".local", "state", "berrymq", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    int n = 0;
    const char *name;
    while (d && (name = g_dir_read_name(d)))
        if (g_str_has_prefix(name, "history.db.corrupt-") && !g_str_has_suffix(name, "-wal") &&
            !g_str_has_suffix(name, "-shm"))
            n++;
    if (d)
        g_dir_close(d);
    g_free(dir);
    return n;
}

static int stored(hh_hub *h, const char *pattern)
{
    char *p = g_strdup_printf("[\"%s\", 0, 10000]", pattern);
    json_object *r = hist_query(h, p);
    g_free(p);
    int n = r ? (int)json_object_array_length(r) : -1;
    json_object_put(r);
    return n;
}

static void test_not_a_database(hh_env *env)
{
    char *db = hist_db_path(env);
    char *dir = g_path_get_dirname(db);
    g_mkdir_with_parents(dir, 0700);
    g_free(dir);
    char *junk = g_strnfill(10000, 'J');
    g_file_set_contents(db, junk, -1, NULL);
    g_free(junk);
    hh_hub *h = hh_start(env, NULL, true);
    EXPECT(hh_wait_log(h, "history.db.corrupt-", 5000));
    EXPECT(count_aside(env) == 1);
    hist_flood(h, "fresh", 0, 10, 0);
    EXPECT(stored(h, "fresh") == 10);
    char *state = hist_status_str(h, "state");
    EXPECT(strcmp(state, "ok") == 0);
    g_free(state);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    g_free(db);
}

/* Overwrite the middle of the file: the header and schema still read, the
 * messages' pages do not. */
static void test_damaged_pages(hh_env *env)
{
    hh_hub *h = hh_start(env, NULL, true);
    hist_flood(h, "many", 0, 3000, 200);
    EXPECT(stored(h, "many") == 3000);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    char *db = hist_db_path(env);
    GStatBuf sb;
    EXPECT(g_stat(db, &sb) == 0 && sb.st_size > 64 * 1024);
    int fd = open(db, O_WRONLY);
    char garbage[16384];
    memset(garbage, 0xA5, sizeof garbage);
    EXPECT(pwrite(fd, garbage, sizeof garbage, sb.st_size / 2) == (ssize_t)sizeof garbage);
    close(fd);
    g_free(db);

    int before = count_aside(env);
    h = hh_start(env, NULL, true);
    EXPECT(hh_wait_log(h, "history.db.corrupt-", 10000));
    EXPECT(count_aside(env) == before + 1);
    hist_flood(h, "after", 0, 5, 0);
    EXPECT(stored(h, "after") == 5);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
}

static void test_unopenable(hh_env *env)
{
    char *db = hist_db_path(env);
    /* Leave no file behind from the cases above: a directory in its place. */
    g_unlink(db);
    char *wal = g_strconcat(db, "-wal", NULL), *shm = g_strconcat(db, "-shm", NULL);
    g_unlink(wal);
    g_unlink(shm);
    g_free(wal);
    g_free(shm);
    EXPECT(g_mkdir(db, 0700) == 0);
    hh_hub *h = hh_start(env, NULL, true);
    EXPECT(hh_wait_log(h, "history: cannot open", 5000));
    /* Delivery goes on: a queue listener gets the message. */
    json_object *tok = hh_call(h, "connect_via_queue", "[\"still:*\", 30]", NULL);
    EXPECT(json_object_is_type(tok, json_type_string));
    hist_flood(h, "still", 0, 1, 0);
    char *p = g_strdup_printf("[\"%s\", true, 5]", json_object_get_string(tok));
    json_object *m = hh_call(h, "get", p, NULL);
    EXPECT(json_object_is_type(m, json_type_array) &&
           strcmp(json_object_get_string(json_object_array_get_idx(m, 0)), "still:0") == 0);
    json_object_put(m);
    g_free(p);
    json_object_put(tok);
    char *state = hist_status_str(h, "state");
    EXPECT(strcmp(state, "error") == 0);
    g_free(state);
    char *err = NULL;
    json_object *r = hh_call(h, "hub.history", "[]", &err);
    EXPECT(r == NULL);
    EXPECT_CONTAINS(err, "not available");
    g_free(err);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    g_rmdir(db);
    g_free(db);
}

int main(void)
{
    hh_env *env = hh_env_new();
    hh_write_config(env, "{\"plugins\": []}");
    test_not_a_database(env);
    test_damaged_pages(env);
    test_unopenable(env);
    hh_env_free(env);
    return check_result();
}
