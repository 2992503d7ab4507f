/* webhook_tls_test.c - https delivery against a server whose certificate
 * comes from a CA made here with openssl: trusted through ca_file; refused
 * (and nothing sent) when the CA is unknown, whether the system's CAs or
 * another ca_file are used; accepted without verification only with an
 * explicit "insecure": true, which is logged at start. */
#include <microhttpd.h>

#include "webhook_harness.h"
#include "webhook_pki.h"

static pki keys;

static void test_trusted_ca_file(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, keys.cert, keys.key);
    CHECK(s != NULL);
    bmq_instance *in = FX_NEW(&fx, "tls",
                              "{\"url\": \"https://127.0.0.1:%d/t\", \"format\": \"slack\", "
                              "\"ca_file\": \"%s\", \"token\": \"tls-tok\"}",
                              hs_port(s), keys.ca);
    fx_send(&fx, "a:notify", NULL, "{\"title\": \"over TLS\"}");
    fx_send(&fx, "b:notify", NULL, "{\"title\": \"again\"}");
    CHECK(hs_wait_count(s, 2, WAIT_S));
    CHECK(fx_wait_stat(in, "sent", 2, WAIT_S));
    CHECK_STR(hs_get(s, 0)->body, "{\"text\":\"over TLS\"}");
    CHECK_STR(hs_header(hs_get(s, 0), "Authorization"), "Bearer tls-tok");
    CHECK_EQ(hs_connections(s), 1);
    char *tls = fx_stat_str(in, "tls");
    CHECK_STR(tls, "ca_file");
    g_free(tls);
    fx_free(&fx);
    hs_stop(s);
}

/* An unknown CA: the handshake fails, nothing reaches the server, the
 * message stays queued and the error says why. */
static void refused(const char *ca_json)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, keys.cert, keys.key);
    CHECK(s != NULL);
    bmq_instance *in = FX_NEW(&fx, "tls",
                              "{\"url\": \"https://127.0.0.1:%d/t\", \"format\": \"slack\", "
                              "\"retry_min\": 5%s}",
                              hs_port(s), ca_json);
    fx_send(&fx, "a:notify", NULL, "{\"title\": \"secret\"}");
    CHECK(fx_wait_stat(in, "retrying", 1, WAIT_S));
    char *err = fx_stat_str(in, "last_error");
    CHECK_CONTAINS(err, "certificate");
    g_free(err);
    CHECK_EQ(fx_stat(in, "sent"), 0);
    CHECK_EQ(fx_stat(in, "queued"), 1);
    CHECK_EQ(hs_count(s), 0);
    CHECK(fx_wait_logged(&fx, "certificate", 10));
    fx_free(&fx);
    hs_stop(s);
}

static void test_unknown_ca_system(void)
{
    refused("");
}

static void test_unknown_ca_other_file(void)
{
    char *j = g_strdup_printf(", \"ca_file\": \"%s\"", keys.other_ca);
    refused(j);
    g_free(j);
}

static void test_insecure(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, keys.cert, keys.key);
    CHECK(s != NULL);
    bmq_instance *in = FX_NEW(&fx, "tls",
                              "{\"url\": \"https://127.0.0.1:%d/t\", \"format\": \"slack\", "
                              "\"insecure\": true}",
                              hs_port(s));
    char *start =
        g_strdup_printf("certificates of https://127.0.0.1:%d/t are NOT verified", hs_port(s));
    CHECK(fx_wait_logged(&fx, start, 10));
    g_free(start);
    fx_send(&fx, "a:notify", NULL, "{\"title\": \"unverified\"}");
    CHECK(hs_wait_count(s, 1, WAIT_S));
    CHECK(fx_wait_stat(in, "sent", 1, WAIT_S));
    char *tls = fx_stat_str(in, "tls");
    CHECK_STR(tls, "insecure");
    g_free(tls);
    fx_free(&fx);
    hs_stop(s);
}

int main(void)
{
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        fprintf(stderr, "libmicrohttpd was built without TLS\n");
        return 77;
    }
    pki_need_openssl();
    pki_make(&keys);
    RUN(test_trusted_ca_file);
    RUN(test_unknown_ca_system);
    RUN(test_unknown_ca_other_file);
    RUN(test_insecure);
    pki_free(&keys);
    return 0;
}
