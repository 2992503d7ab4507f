/* webhook_ntfy_hubs.c - two real hubs: hub A's webhook plugin (format ntfy)
 * publishes to hub B's ntfy API, and a queue listener on hub B gets each
 * notification as the message TOPIC:notify, with its title, body, urgency,
 * priority and tags, once each and in order. A message outside the
 * webhook's filter never reaches B. B's queue hands out
 * the urgent one first (ntfy priority 5), then the rest in order.
 */
#include <string.h>

#include "hub_harness.h"

#define N_MSGS 5

static const char *kwarg(json_object *msg, const char *key)
{
    json_object *kw = json_object_array_get_idx(msg, 2), *v;
    if (!json_object_is_type(kw, json_type_object) || !json_object_object_get_ex(kw, key, &v))
        return "";
    return json_object_get_string(v);
}

/* The next message of queue @token on @h, NULL on timeout (transfer full). */
static json_object *next(hh_hub *h, const char *token, int timeout_s)
{
    char *p = g_strdup_printf("[\"%s\", true, %d]", token, timeout_s);
    json_object *m = hh_call(h, "get", p, NULL);
    g_free(p);
    if (!json_object_is_type(m, json_type_array)) {
        json_object_put(m);
        return NULL;
    }
    return m;
}

static void twitter(hh_hub *h, const char *params)
{
    char *err = NULL;
    json_object *r = hh_call(h, "hub.twitter", params, &err);
    EXPECT(r != NULL);
    if (!r)
        fprintf(stderr, "hub.twitter %s: %s\n", params, err ? err : "?");
    json_object_put(r);
    g_free(err);
}

static int64_t hook_stat(hh_hub *h, const char *key)
{
    json_object *inst = hh_instance(h, "toB");
    char *path = g_strconcat("status.status.", key, NULL);
    const char *v = inst ? hh_str(inst, path) : NULL;
    int64_t n = v ? g_ascii_strtoll(v, NULL, 10) : -1;
    g_free(path);
    json_object_put(inst);
    return n;
}

int main(void)
{
    hh_env *env_b = hh_env_new();
    hh_write_config(env_b, "{\"plugins\": []}");
    hh_hub *b = hh_start(env_b, NULL, true);
    EXPECT(b && b->listen);
    if (!b || !b->listen)
        return 1;

    hh_env *env_a = hh_env_new();
    char *conf_a = g_strdup_printf("{\"plugins\": [{\"plugin\": \"webhook\", \"id\": \"toB\", "
                                   "\"config\": {\"url\": \"http://%s/alerts\", \"format\": "
                                   "\"ntfy\"}}]}",
                                   b->listen);
    hh_write_config(env_a, conf_a);
    g_free(conf_a);
    hh_hub *a = hh_start(env_a, NULL, true);
    EXPECT(a && a->listen);
    if (!a || !a->listen)
        return 1;
    EXPECT(hh_wait_state(a, "toB", "running", 10000));

    /* B's listener: everything named alerts, whatever its action. */
    json_object *tok = hh_call(b, "connect_via_queue", "[\"alerts:*\", 120]", NULL);
    EXPECT(json_object_is_type(tok, json_type_string));
    const char *token = json_object_get_string(tok);

    /* Not forwarded: outside the filter *:notify. */
    twitter(a, "[\"backup:done\", [\"not a notification\"], {}]");

    twitter(a, "[\"backup:notify\", [], {\"title\": \"Backup failed\", \"body\": \"disk full on "
               "/srv\", \"urgency\": \"critical\", \"tags\": \"warning,backup\"}]");
    for (int i = 1; i < N_MSGS; i++) {
        char *p = g_strdup_printf("[\"build:notify\", [], {\"title\": \"build %d\", \"body\": "
                                  "\"step %d done\", \"urgency\": \"low\"}]",
                                  i, i);
        twitter(a, p);
        g_free(p);
    }

    json_object *m = next(b, token, 20);
    EXPECT(m != NULL);
    if (m) {
        EXPECT(strcmp(json_object_get_string(json_object_array_get_idx(m, 0)), "alerts:notify") ==
               0);
        EXPECT(strcmp(kwarg(m, "title"), "Backup failed") == 0);
        EXPECT(strcmp(kwarg(m, "body"), "disk full on /srv") == 0);
        EXPECT(strcmp(kwarg(m, "urgency"), "critical") == 0);
        EXPECT(strcmp(kwarg(m, "priority"), "5") == 0);
        EXPECT_CONTAINS(json_object_to_json_string(m), "backup");
        EXPECT_CONTAINS(json_object_to_json_string(m), "warning");
        json_object_put(m);
    }
    for (int i = 1; i < N_MSGS; i++) {
        m = next(b, token, 20);
        EXPECT(m != NULL);
        if (!m)
            break;
        char *title = g_strdup_printf("build %d", i), *body = g_strdup_printf("step %d done", i);
        EXPECT(strcmp(kwarg(m, "title"), title) == 0);
        EXPECT(strcmp(kwarg(m, "body"), body) == 0);
        EXPECT(strcmp(kwarg(m, "urgency"), "low") == 0);
        EXPECT(strcmp(kwarg(m, "priority"), "2") == 0);
        g_free(title);
        g_free(body);
        json_object_put(m);
    }
    /* Once each: nothing more arrives (the unfiltered one was sent first,
     * so it would have come before). */
    m = next(b, token, 2);
    EXPECT(m == NULL);
    if (m)
        fprintf(stderr, "unexpected: %s\n", json_object_to_json_string(m));
    json_object_put(m);
    EXPECT(hook_stat(a, "sent") == N_MSGS);
    EXPECT(hook_stat(a, "failed") == 0);

    json_object_put(tok);
    if (check_failures) {
        char *la = hh_log(a), *lb = hh_log(b);
        fprintf(stderr, "--- hub A log:\n%s--- hub B log:\n%s", la, lb);
        g_free(la);
        g_free(lb);
    }
    EXPECT(hh_stop(a) == 0);
    EXPECT(hh_stop(b) == 0);
    hh_free(a);
    hh_free(b);
    hh_env_free(env_a);
    hh_env_free(env_b);
    return check_result();
}
