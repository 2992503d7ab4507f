/* webhook_pki.h - certificates for the webhook TLS tests, made with the
 * openssl command in a temporary directory: a CA, a server certificate it
 * signs for 127.0.0.1 (srv.pem, srv.key), and a second, unrelated CA.
 * Header-only. */
#ifndef WEBHOOK_PKI_H
#define WEBHOOK_PKI_H

#include <stdio.h>

#include <glib.h>

#include "check.h"

typedef struct pki {
    char *dir;
    char *ca, *other_ca; /* PEM file paths */
    char *cert, *key;    /* server certificate and key (PEM text) */
} pki;

G_GNUC_UNUSED static bool run_in(const char *dir, const char *const *argv)
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

G_GNUC_UNUSED static char *slurp(const char *dir, const char *name)
{
    char *path = g_build_filename(dir, name, NULL), *text = NULL;
    CHECK(g_file_get_contents(path, &text, NULL, NULL));
    g_free(path);
    return text;
}

/* A CA, a server certificate it signs for 127.0.0.1, and a second CA that
 * has nothing to do with it. EC keys: quick to make. */
G_GNUC_UNUSED static void pki_make(pki *p)
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
    const char *ca[] = {"openssl",
                        "req",
                        "-x509",
                        "-newkey",
                        "ec",
                        "-pkeyopt",
                        "ec_paramgen_curve:prime256v1",
                        "-nodes",
                        "-keyout",
                        "ca.key",
                        "-out",
                        "ca.pem",
                        "-days",
                        "2",
                        "-subj",
                        "/CN=berryMQ test CA",
                        "-addext",
                        "basicConstraints=critical,CA:TRUE",
                        "-addext",
                        "keyUsage=critical,keyCertSign",
                        NULL};
    const char *other[] = {"openssl",
                           "req",
                           "-x509",
                           "-newkey",
                           "ec",
                           "-pkeyopt",
                           "ec_paramgen_curve:prime256v1",
                           "-nodes",
                           "-keyout",
                           "other.key",
                           "-out",
                           "other.pem",
                           "-days",
                           "2",
                           "-subj",
                           "/CN=someone else",
                           "-addext",
                           "basicConstraints=critical,CA:TRUE",
                           NULL};
    const char *csr[] = {
        "openssl",       "req",     "-newkey", "ec",   "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes",        "-keyout", "srv.key", "-out", "srv.csr",  "-subj",
        "/CN=127.0.0.1", NULL};
    const char *sign[] = {"openssl", "x509",    "-req",   "-in",    "srv.csr",
                          "-CA",     "ca.pem",  "-CAkey", "ca.key", "-CAcreateserial",
                          "-out",    "srv.pem", "-days",  "2",      "-extfile",
                          "srv.ext", NULL};
    CHECK(run_in(p->dir, ca) && run_in(p->dir, other) && run_in(p->dir, csr) &&
          run_in(p->dir, sign));
    p->ca = g_build_filename(p->dir, "ca.pem", NULL);
    p->other_ca = g_build_filename(p->dir, "other.pem", NULL);
    p->cert = slurp(p->dir, "srv.pem");
    p->key = slurp(p->dir, "srv.key");
}

G_GNUC_UNUSED static void pki_free(pki *p)
{
    const char *rm[] = {"rm", "-rf", p->dir, NULL};
    CHECK(run_in("/", rm));
    g_free(p->dir);
    g_free(p->ca);
    g_free(p->other_ca);
    g_free(p->cert);
    g_free(p->key);
}

/* Exit 77 (skip) when the openssl command is missing. */
G_GNUC_UNUSED static void pki_need_openssl(void)
{
    char *openssl = g_find_program_in_path("openssl");
    if (!openssl) {
        fprintf(stderr, "openssl is not installed\n");
        exit(77);
    }
    g_free(openssl);
}

#endif /* WEBHOOK_PKI_H */
