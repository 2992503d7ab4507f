/* webhook_tls_test.c - https delivery against a server whose certificate
 * comes from a CA made here with openssl: trusted through ca_file; refused
 * (and nothing sent) when the CA is unknown, whether the system's CAs or
 * another ca_file are used; accepted without verification only with an
 * explicit "insecure": true, which is logged at start. */
#include <microhttpd.h>

#include "webhook_harness.h"

typedef struct pki {
    char *dir;
    char *ca, *other_ca;   /* PEM file paths */
    char *cert, *key;      /* server certificate and key (PEM text) */
} pki;

static bool run_in(const char *dir, const char *const *argv)
{
    int status = 0;
    GError *e = NULL;
    char *err = NULL;
    if (!g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, NULL, &err, &status, &e)) {
        fprintf(stderr, "%s: %s\n", argv[0], e->message);
        g_error_free(e);
        return false;
    }
    bool ok = g_spawn_check_wait_status(status, NULL);
    if (!ok)
        fprintf(stderr, "%s failed: %s\n", argv[1], err);
    g_free(err);
    return ok;
}

static char *slurp(const char *dir, const char *name)
{
    char *path = g_build_filename(dir, name, NULL), *text = NULL;
    CHECK(g_file_get_contents(path, &text, NULL, NULL));
    g_free(path);
    return text;
}

/* A CA, a server certificate it signs for 127.0.0.1, and a second CA that
 * has nothing to do with it. EC keys: quick to make. */
static void pki_make(pki *p)
{
    p->dir = g_dir_make_tmp("bmq-webhook-tls-XXXXXX", NULL);
    CHECK(p->dir != NULL);
    char *ext = g_build_filename(p->dir, "srv.ext", NULL);
    CHECK(g_file_set_contents(ext,
                              "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                              "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                              "extendedKeyUsage=serverAuth\n",
                              -1, NULL));
    g_free(ext);
    const char *ca[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out",
                        "ca.pem", "-days", "2", "-subj", "/CN=berryMQ test CA", "-addext",
                        "basicConstraints=critical,CA:TRUE", "-addext",
                        "keyUsage=critical,keyCertSign", NULL};
    const char *other[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "other.key",
                           "-out", "other.pem", "-days", "2", "-subj", "/CN=someone else",
                           "-addext", "basicConstraints=critical,CA:TRUE", NULL};
    const char *csr[] = {"openssl", "req", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "srv.key", "-out",
                         "srv.csr", "-subj", "/CN=127.0.0.1", NULL};
    const char *sign[] = {"openssl", "x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey",
                          "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2",
                          "-extfile", "srv.ext", NULL};
    CHECK(run_in(p->dir, ca) && run_in(p->dir, other) && run_in(p->dir, csr) &&
          run_in(p->dir, sign));
    p->ca = g_build_filename(p->dir, "ca.pem", NULL);
    p->other_ca = g_build_filename(p->dir, "other.pem", NULL);
    p->cert = slurp(p->dir, "srv.pem");
    p->key = slurp(p->dir, "srv.key");
}

static void pki_free(pki *p)
{
    const char *rm[] = {"rm", "-rf", p->dir, NULL};
    CHECK(run_in("/", rm));
    g_free(p->dir);
    g_free(p->ca);
    g_free(p->other_ca);
    g_free(p->cert);
    g_free(p->key);
}

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
    CHECK(fx_logged(&fx, "certificate"));
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
    char *start = g_strdup_printf("certificates of https://127.0.0.1:%d/t are NOT verified",
                                  hs_port(s));
    CHECK(fx_logged(&fx, start));
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
    char *openssl = g_find_program_in_path("openssl");
    if (!openssl) {
        fprintf(stderr, "openssl is not installed\n");
        return 77;
    }
    g_free(openssl);
    pki_make(&keys);
    RUN(test_trusted_ca_file);
    RUN(test_unknown_ca_system);
    RUN(test_unknown_ca_other_file);
    RUN(test_insecure);
    pki_free(&keys);
    return 0;
}
