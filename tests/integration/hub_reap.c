/* hub_reap.c - style-03 queues whose client went away are reaped by the hub
 * on its own: 50 queues with a ttl of 1 s that are never read again, with
 * messages waiting in them, disappear from `status` (and their messages
 * with them) without any request naming them; a queue that is still read
 * keeps working; an expired token answers "timeout" once, then
 * "invalid token".
 */
#include <string.h>

#include "hub_harness.h"

#define N_IDLE 50

/* server.links entries with @pattern in hub.status, and the messages queued in
 * them; -1 when the status cannot be read. */
static int links_of(hh_hub *h, const char *pattern, int64_t *queued)
{
    json_object *st = hh_call(h, "hub.status", "[]", NULL), *srv, *links;
    if (!st || !json_object_object_get_ex(st, "server", &srv) ||
        !json_object_object_get_ex(srv, "links", &links)) {
        json_object_put(st);
        return -1;
    }
    int n = 0;
    *queued = 0;
    for (size_t i = 0; i < json_object_array_length(links); i++) {
        json_object *l = json_object_array_get_idx(links, i);
        const char *p = hh_str(l, "pattern"), *q = hh_str(l, "queued");
        if (p && strcmp(p, pattern) == 0) {
            n++;
            *queued += q ? g_ascii_strtoll(q, NULL, 10) : 0;
        }
    }
    json_object_put(st);
    return n;
}

static char *get_once(hh_hub *h, const char *token)
{
    char *p = g_strdup_printf("[\"%s\"]", token);
    json_object *r = hh_call(h, "get_nowait", p, NULL);
    char *s = g_strdup(r ? json_object_to_json_string(r) : "(none)");
    json_object_put(r);
    g_free(p);
    return s;
}

int main(void)
{
    hh_env *e = hh_env_new();
    hh_write_config(e, "{\"plugins\": []}");
    hh_hub *h = hh_start(e, NULL, true);
    EXPECT(h && h->listen);
    if (!h || !h->listen)
        return 1;

    json_object *keep = hh_call(h, "connect_via_queue", "[\"keep:*\", 60]", NULL);
    EXPECT(json_object_is_type(keep, json_type_string));
    json_object *first = NULL;
    for (int i = 0; i < N_IDLE; i++) {
        json_object *t = hh_call(h, "connect_via_queue", "[\"idle:*\", 1]", NULL);
        EXPECT(json_object_is_type(t, json_type_string));
        if (i == 0)
            first = t;
        else
            json_object_put(t);
    }
    for (int i = 0; i < 20; i++)
        json_object_put(hh_call(h, "hub.twitter", "[\"idle:x\", [\"waiting\"], {}]", NULL));
    int64_t queued = 0;
    EXPECT(links_of(h, "idle:*", &queued) == N_IDLE);
    EXPECT(queued == (int64_t)N_IDLE * 20);

    /* Nobody reads them: the hub drops them itself once idle past the ttl.
     * Only hub.status is asked, which names no token. */
    int left = N_IDLE;
    for (int waited = 0; waited < 15000 && left != 0; waited += 200) {
        g_usleep(200 * 1000);
        left = links_of(h, "idle:*", &queued);
    }
    EXPECT(left == 0);
    if (left != 0)
        fprintf(stderr, "%d idle queues still there after 15 s\n", left);

    /* The queue in use was not touched. */
    json_object_put(hh_call(h, "hub.twitter", "[\"keep:x\", [1], {}]", NULL));
    char *got = get_once(h, json_object_get_string(keep));
    EXPECT_CONTAINS(got, "keep:x");
    g_free(got);
    EXPECT(links_of(h, "keep:*", &queued) == 1);

    /* The expired token answers "timeout" once, then is unknown. */
    got = get_once(h, json_object_get_string(first));
    EXPECT_CONTAINS(got, "timeout");
    g_free(got);
    got = get_once(h, json_object_get_string(first));
    EXPECT_CONTAINS(got, "invalid token");
    g_free(got);

    json_object_put(first);
    json_object_put(keep);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    hh_env_free(e);
    return check_result();
}
