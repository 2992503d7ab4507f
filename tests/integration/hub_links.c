/* hub_links.c - "links" in hub.json: a second hub (its own HOME and
 * runtime dir) links to the first at start; a message sent to the second
 * reaches an instance in the first, for both link styles.
 */
#include <string.h>

#include "hub_harness.h"

static bool wait_received(hh_hub *h, const char *id, const char *count, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    for (;;) {
        json_object *e = hh_instance(h, id);
        const char *got = e ? hh_str(e, "status.status.received") : NULL;
        bool ok = got && strcmp(got, count) == 0;
        json_object_put(e);
        if (ok)
            return true;
        if (g_get_monotonic_time() >= end)
            return false;
        g_usleep(20000);
    }
}

static void run_style(const char *style)
{
    hh_env *ea = hh_env_new(), *eb = hh_env_new();
    hh_write_config(ea, "{\"plugins\": [{\"plugin\": \"testplug\", \"id\": \"far\"}]}");
    hh_hub *a = hh_start(ea, NULL, true);
    const char *colon = strrchr(a->listen, ':');
    char *cfg = g_strdup_printf("{\"plugins\": [], \"links\": [{\"style\": \"%s\", \"host\": "
                                "\"127.0.0.1\", \"port\": %s, \"ttl\": 600}]}",
                                style, colon + 1);
    hh_write_config(eb, cfg);
    g_free(cfg);
    hh_hub *b = hh_start(eb, NULL, true);
    EXPECT(hh_wait_log(b, "linked to 127.0.0.1:", 10000));

    json_object *r = hh_call(b, "hub.twitter", "[\"far:ping\", [\"over the link\"], {}]", NULL);
    EXPECT(r != NULL);
    json_object_put(r);
    if (!wait_received(a, "far", "1", 10000)) {
        fprintf(stderr, "style %s: the message did not arrive\n", style);
        check_failures++;
    }
    /* A control message arriving over the wire protocol is not obeyed. */
    json_object *token = hh_call(a, "connect_oneway", "[600]", NULL);
    EXPECT(token != NULL);
    char *params = g_strdup_printf("[\"%s\", \"_hub:quit\", [], {}]",
                                   token ? json_object_get_string(token) : "");
    json_object_put(token);
    json_object *ok = hh_call(a, "send_message", params, NULL);
    g_free(params);
    json_object_put(ok);
    EXPECT(hh_wait_log(a, "ignoring _hub:quit received from another node", 5000));
    EXPECT(hh_wait_exit(a, 300) == -1); /* still running */

    EXPECT(hh_stop(b) == 0);
    EXPECT(hh_stop(a) == 0);
    hh_free(b);
    hh_free(a);
    hh_env_free(ea);
    hh_env_free(eb);
}

int main(void)
{
    run_style("oneway");
    run_style("interconnect");
    return check_result();
}
