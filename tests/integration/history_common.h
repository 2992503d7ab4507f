/* history_common.h - helpers shared by the history tests (static: each
 * test is one executable). */
#ifndef BMQ_TEST_HISTORY_COMMON_H
#define BMQ_TEST_HISTORY_COMMON_H

#include <string.h>

#include "hub_harness.h"
#include "rpc_post.h"

/* Send ids PREFIX:0..n-1 in batches of hub.twitter, args [i, PAD]. */
G_GNUC_UNUSED static void hist_flood(hh_hub *h, const char *prefix, int first, int n, size_t pad)
{
    rp_conn *c = rp_connect(h->listen);
    EXPECT(c != NULL);
    char *padding = g_strnfill(pad, 'x');
    GString *body = g_string_new(NULL);
    for (int k = first; c && k < first + n;) {
        g_string_assign(body, "[");
        for (int i = 0; i < 100 && k < first + n; i++, k++)
            g_string_append_printf(body,
                                   "%s{\"id\":%d,\"method\":\"hub.twitter\",\"params\":[\"%s:%d\","
                                   "[%d,\"%s\"],{}]}",
                                   i ? "," : "", k, prefix, k, k, padding);
        g_string_append(body, "]");
        char *answer = rp_post(c, body->str, body->len);
        EXPECT(answer && strstr(answer, "\"ok\""));
        free(answer);
    }
    g_string_free(body, TRUE);
    g_free(padding);
    rp_close(c);
}

/* hub.status history.FIELD as an integer (-1 when absent). */
G_GNUC_UNUSED static int64_t hist_status_int(hh_hub *h, const char *field)
{
    json_object *st = hh_call(h, "hub.status", "[]", NULL), *hist, *v;
    int64_t r = -1;
    if (json_object_object_get_ex(st, "history", &hist) &&
        json_object_object_get_ex(hist, field, &v))
        r = json_object_get_int64(v);
    json_object_put(st);
    return r;
}

G_GNUC_UNUSED static char *hist_status_str(hh_hub *h, const char *field)
{
    json_object *st = hh_call(h, "hub.status", "[]", NULL);
    char *path = g_strdup_printf("history.%s", field);
    const char *v = hh_str(st, path);
    char *r = g_strdup(v ? v : "");
    g_free(path);
    json_object_put(st);
    return r;
}

/* Poll hub.status until history.FIELD <= max (true) or @ms pass. */
G_GNUC_UNUSED static bool hist_wait_at_most(hh_hub *h, const char *field, int64_t max, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (g_get_monotonic_time() < end) {
        int64_t v = hist_status_int(h, field);
        if (v >= 0 && v <= max)
            return true;
        g_usleep(20000);
    }
    return false;
}

G_GNUC_UNUSED static json_object *hist_query(hh_hub *h, const char *params)
{
    char *err = NULL;
    json_object *r = hh_call(h, "hub.history", params, &err);
    if (!r)
        fprintf(stderr, "hub.history %s: %s\n", params, err);
    g_free(err);
    return r;
}

G_GNUC_UNUSED static char *hist_db_path(hh_env *env)
{
    return g_build_filename(env->root, "home", ".local", "state", "berrymq", "history.db", NULL);
}

#endif
