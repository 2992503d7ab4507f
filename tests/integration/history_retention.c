/* history_retention.c - the store stays within its limits: by count
 * (max_messages), by age (max_age) and by size (max_bytes), keeping the
 * newest messages; a limit changed in hub.json applies on reload (SIGHUP).
 */
#include <signal.h>

#include "history_common.h"

/* args[0] of the first and last record of hub.history [pattern, 0, 10000]. */
static void range(hh_hub *h, const char *pattern, int *first, int *last, int *n)
{
    char *p = g_strdup_printf("[\"%s\", 0, 10000]", pattern);
    json_object *r = hist_query(h, p);
    g_free(p);
    *n = (int)json_object_array_length(r);
    *first = *last = -1;
    if (*n) {
        json_object *a;
        json_object_object_get_ex(json_object_array_get_idx(r, 0), "args", &a);
        *first = json_object_get_int(json_object_array_get_idx(a, 0));
        json_object_object_get_ex(json_object_array_get_idx(r, (size_t)*n - 1), "args", &a);
        *last = json_object_get_int(json_object_array_get_idx(a, 0));
    }
    json_object_put(r);
}

static void test_count(hh_env *env)
{
    hh_write_config(env, "{\"plugins\": [], \"history\": {\"max_messages\": 100}}");
    hh_hub *h = hh_start(env, NULL, true);
    hist_flood(h, "count", 0, 350, 10);
    EXPECT(hist_wait_at_most(h, "messages", 100, 10000));
    int first, last, n;
    range(h, "count", &first, &last, &n);
    EXPECT(n == 100 && first == 250 && last == 349);

    /* A higher limit on reload keeps more from now on. */
    hh_write_config(env, "{\"plugins\": [], \"history\": {\"max_messages\": 300}}");
    kill(h->pid, SIGHUP);
    EXPECT(hh_wait_log(h, "reloaded", 5000));
    hist_flood(h, "count", 350, 400, 10);
    EXPECT(hist_wait_at_most(h, "messages", 300, 10000));
    range(h, "count", &first, &last, &n);
    EXPECT(n == 300 && first == 450 && last == 749);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
}

static void test_age(hh_env *env)
{
    hh_write_config(env, "{\"plugins\": [], \"history\": {\"max_age\": \"1s\"}}");
    hh_hub *h = hh_start(env, NULL, true);
    hist_flood(h, "age", 0, 50, 10);
    int first, last, n;
    range(h, "age", &first, &last, &n);
    EXPECT(n == 50);
    /* Removed once a second old, without any new traffic to trigger it. */
    EXPECT(hist_wait_at_most(h, "messages", 0, 10000));
    range(h, "age", &first, &last, &n);
    EXPECT(n == 0);
    hist_flood(h, "age", 50, 1, 10);
    range(h, "age", &first, &last, &n);
    EXPECT(n == 1 && first == 50);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
}

static void test_bytes(hh_env *env)
{
    hh_write_config(env, "{\"plugins\": [], \"history\": {\"max_bytes\": \"256KiB\"}}");
    hh_hub *h = hh_start(env, NULL, true);
    hist_flood(h, "bytes", 0, 3000, 500); /* about 1.6 MB of messages */
    EXPECT(hist_wait_at_most(h, "bytes", 256 * 1024, 10000));
    int first, last, n;
    range(h, "bytes", &first, &last, &n);
    printf("max_bytes 256KiB: %d of 3000 messages kept, %" G_GINT64_FORMAT " bytes in use\n", n,
           hist_status_int(h, "bytes"));
    EXPECT(n > 50 && n < 3000 && last == 2999 && first == 3000 - n);
    /* The file stops growing: freed pages are reused. */
    char *db = hist_db_path(env);
    GStatBuf before, after;
    EXPECT(g_stat(db, &before) == 0);
    hist_flood(h, "bytes", 3000, 3000, 500);
    EXPECT(hist_wait_at_most(h, "bytes", 256 * 1024, 10000));
    EXPECT(g_stat(db, &after) == 0);
    EXPECT(after.st_size <= before.st_size + 256 * 1024);
    g_free(db);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
}

int main(void)
{
    hh_env *env = hh_env_new();
    test_count(env);
    test_age(env);
    test_bytes(env);
    hh_env_free(env);
    return check_result();
}
