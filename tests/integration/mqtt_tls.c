/* mqtt_tls.c - mqtts:// with "tls": {"ca": FILE}: two hubs bridged through
 * a mosquitto TLS listener whose certificate (for IP 127.0.0.1) is signed by
 * a test CA made here with openssl; a hub trusting another CA, and a hub
 * speaking plain MQTT to the TLS port, never connect. */
#include "mqtt_harness.h"

#include <unistd.h>

static char *dir;

static bool run(const char *cmdline)
{
    char *full = g_strdup_printf("cd '%s' && %s >/dev/null 2>&1", dir, cmdline);
    char *argv[] = {"/bin/sh", "-c", full, NULL};
    gint status = 0;
    bool ok = g_spawn_sync(NULL, argv, NULL, 0, NULL, NULL, NULL, NULL, &status, NULL) &&
              g_spawn_check_wait_status(status, NULL);
    g_free(full);
    return ok;
}

static void make_certs(void)
{
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    char *cmds[] = {
        g_strdup_printf("openssl req -x509 %s -keyout ca.key -out ca.crt -days 2 "
                        "-subj '/CN=berrymq test CA'",
                        ec),
        g_strdup_printf("openssl req -x509 %s -keyout other.key -out other.crt -days 2 "
                        "-subj '/CN=another CA'",
                        ec),
        g_strdup_printf("openssl req %s -keyout server.key -out server.csr -subj '/CN=127.0.0.1'",
                        ec),
        g_strdup("printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf"),
        g_strdup("openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                 "-out server.crt -days 2 -extfile ext.cnf"),
        /* the same server key certified by the other CA */
        g_strdup("openssl x509 -req -in server.csr -CA other.crt -CAkey other.key "
                 "-CAcreateserial -out wrong.crt -days 2 -extfile ext.cnf"),
        NULL,
    };
    for (int i = 0; cmds[i]; i++) {
        if (!run(cmds[i])) {
            fprintf(stderr, "openssl failed: %s\n", cmds[i]);
            exit(1);
        }
        g_free(cmds[i]);
    }
}

static test_hub *hub(const char *node, const char *broker, const char *ca, const char *extra)
{
    char *tls = ca ? g_strdup_printf(",\"tls\":{\"ca\":\"%s/%s\"}", dir, ca) : g_strdup("");
    char *cfg = g_strdup_printf("{\"broker\":\"%s\"%s,\"reconnect_min\":1,\"reconnect_max\":1%s}",
                                broker, tls, extra ? extra : "");
    test_hub *h = test_hub_new(node, cfg);
    g_free(tls);
    g_free(cfg);
    if (h == NULL)
        exit(1);
    return h;
}

int main(void)
{
    if (access("/usr/bin/openssl", X_OK) != 0) {
        fprintf(stderr, "SKIP: openssl is not installed\n");
        return 77;
    }
    dir = g_dir_make_tmp("bmq-mqtt-tls-XXXXXX", NULL);
    make_certs();
    char *extra = g_strdup_printf(
        "cafile %s/ca.crt\ncertfile %s/server.crt\nkeyfile %s/server.key\n", dir, dir, dir);
    mqtt_broker *b = mqtt_broker_start_with(extra);
    g_free(extra);
    char *url = g_strdup_printf("mqtts://127.0.0.1:%d", b->port);
    char *plain = mqtt_broker_url(b);

    test_hub *A = hub("hubA", url, "ca.crt", NULL);
    test_hub *B = hub("hubB", url, "ca.crt", NULL);
    test_hub *wrong_ca = hub("hubW", url, "other.crt", NULL);
    test_hub *no_tls = hub("hubP", plain, NULL, NULL);
    EXPECT(test_hub_wait_stat(A, "connected", 1, 5000));
    EXPECT(test_hub_wait_stat(B, "connected", 1, 5000));
    collector *inB = collector_new(B->bus, "*:*");
    collector *inA = collector_new(A->bus, "*:*");
    EXPECT(bmq_twitter_json(A->bus, "secure:ping", "[1]", NULL) == 0);
    EXPECT(bmq_twitter_json(B->bus, "secure:pong", "[2]", NULL) == 0);
    EXPECT(collector_wait_line(inB, "secure:ping [1]", 3000));
    EXPECT(collector_wait_line(inA, "secure:pong [2]", 3000));
    pump(1500); /* a few reconnect attempts of the two others */
    EXPECT_EQ(test_hub_stat(wrong_ca, "connected"), 0);
    EXPECT_EQ(test_hub_stat(wrong_ca, "connects"), 0);
    EXPECT_EQ(test_hub_stat(no_tls, "connected"), 0);
    EXPECT_EQ(test_hub_stat(no_tls, "connects"), 0);

    /* The broker comes back with a certificate hubs do not trust, then with
     * the right one: a hub that started meanwhile (its first TLS handshake
     * failed) connects as soon as the certificate is fixed. */
    char *conf = NULL;
    g_file_get_contents(b->conf, &conf, NULL, NULL);
    char **parts = g_strsplit(conf, "server.crt", 2);
    char *wrong = g_strjoinv("wrong.crt", parts);
    g_strfreev(parts);
    g_file_set_contents(b->conf, wrong, -1, NULL);
    mqtt_broker_restart(b);
    test_hub *X = hub("hubX", url, "ca.crt", NULL);
    pump(1500);
    EXPECT_EQ(test_hub_stat(X, "connects"), 0);
    g_file_set_contents(b->conf, conf, -1, NULL);
    mqtt_broker_restart(b);
    EXPECT(test_hub_wait_stat(X, "connected", 1, 10000));
    EXPECT(test_hub_wait_stat(A, "connected", 1, 10000));
    EXPECT(test_hub_wait_stat(B, "connected", 1, 10000));
    pump(200); /* B's subscription is made right after its CONNACK */
    EXPECT(bmq_twitter_json(A->bus, "secure:again", "[3]", NULL) == 0);
    collector *inX = collector_new(X->bus, "*:*");
    EXPECT(collector_wait_line(inB, "secure:again [3]", 3000));
    collector_free(inX);
    test_hub_free(X);
    g_free(wrong);
    g_free(conf);

    collector_free(inA);
    collector_free(inB);
    test_hub_free(A);
    test_hub_free(B);
    test_hub_free(wrong_ca);
    test_hub_free(no_tls);
    mqtt_broker_free(b);
    g_free(url);
    g_free(plain);
    char *argv[] = {"rm", "-rf", dir, NULL};
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(dir);
    return check_result();
}
