/* mqtt_will.c - presence: a hub process that dies without saying goodbye
 * (SIGKILL) is announced by the broker with its last will HUBID:offline,
 * seen by mosquitto_sub and by another hub as a message; its retained
 * HUBID:online was there while it lived. The dying hub is this program run
 * again with --child. */
#include "mqtt_harness.h"

#include <signal.h>
#include <unistd.h>

static int child_main(const char *url)
{
    char *cfg = g_strdup_printf("{\"broker\":\"%s\",\"hub_id\":\"victim\",\"keepalive\":5}", url);
    test_hub *h = test_hub_new("victim-node", cfg);
    g_free(cfg);
    if (h == NULL || !test_hub_wait_stat(h, "connected", 1, 5000))
        return 1;
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause(); /* until killed */
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return child_main(argv[2]);

    mqtt_broker *b = mqtt_broker_start();
    char *url = mqtt_broker_url(b);
    char *cfg =
        g_strdup_printf("{\"broker\":\"%s\",\"subscribe\":\"victim:*\",\"publish\":null}", url);
    test_hub *W = test_hub_new("watcher", cfg);
    g_free(cfg);
    if (W == NULL)
        return 1;
    EXPECT(test_hub_wait_stat(W, "connected", 1, 5000));
    collector *inW = collector_new(W->bus, "*:*");
    mqtt_sub *sub = mqtt_sub_start(b, "berrymq/_/victim/+");

    GError *err = NULL;
    /* The killed child cannot clean up its temp dirs: give it one of ours. */
    char *child_tmp = g_dir_make_tmp("bmq-mqtt-will-XXXXXX", NULL);
    GSubprocessLauncher *l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
    g_subprocess_launcher_setenv(l, "TMPDIR", child_tmp, TRUE);
    GSubprocess *child = g_subprocess_launcher_spawn(l, &err, argv[0], "--child", url, NULL);
    g_object_unref(l);
    if (child == NULL) {
        fprintf(stderr, "cannot start the child hub: %s\n", err->message);
        return 1;
    }
    EXPECT(mqtt_sub_wait_for(sub,
                             "berrymq/_/victim/online {\"id\":\"victim:online\",\"args\":[],"
                             "\"kwargs\":{},\"origin\":\"victim\"}",
                             5000));
    EXPECT(collector_wait_line(inW, "victim:online []", 3000));
    EXPECT_EQ(collector_find(inW, "victim:offline []"), 0);

    g_subprocess_send_signal(child, SIGKILL);
    g_subprocess_wait(child, NULL, NULL);
    g_object_unref(child);
    char *rm[] = {"rm", "-rf", child_tmp, NULL};
    g_spawn_sync(NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(child_tmp);
    EXPECT(mqtt_sub_wait_for(sub, "berrymq/_/victim/offline {\"id\":\"victim:offline\"", 5000));
    EXPECT(collector_wait_line(inW, "victim:offline []", 3000));

    /* The will is retained: a subscriber arriving later still learns it. */
    mqtt_sub *late = mqtt_sub_start(b, "berrymq/_/victim/offline");
    EXPECT(mqtt_sub_wait_for(late, "berrymq/_/victim/offline {\"id\":\"victim:offline\"", 3000));

    mqtt_sub_free(late);
    mqtt_sub_free(sub);
    collector_free(inW);
    test_hub_free(W);
    g_free(url);
    mqtt_broker_free(b);
    return check_result();
}
