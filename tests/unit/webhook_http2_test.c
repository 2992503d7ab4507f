/* webhook_http2_test.c - HTTP/2 where the server offers it: against
 * nghttpd (nghttp2's HTTP/2 server, answering POSTs with their body) the
 * webhook's requests go over HTTP/2 and are delivered; against an https
 * server that speaks only HTTP/1.1 the same instance falls back to it. */
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "webhook_harness.h"
#include "webhook_pki.h"

static pki keys;

static bool connectable(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static GPid start_nghttpd(const char *nghttpd, int port)
{
    char portstr[16];
    g_snprintf(portstr, sizeof portstr, "%d", port);
    const char *argv[] = {nghttpd, "-a",      "127.0.0.1", "--echo-upload",
                          portstr, "srv.key", "srv.pem",   NULL};
    GPid pid = 0;
    GError *e = NULL;
    if (!g_spawn_async(keys.dir, (char **)argv, NULL,
                       G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                           G_SPAWN_STDERR_TO_DEV_NULL,
                       NULL, NULL, &pid, &e)) {
        fprintf(stderr, "cannot start nghttpd: %s\n", e->message);
        exit(1);
    }
    gint64 end = g_get_monotonic_time() + (gint64)WAIT_S * G_USEC_PER_SEC;
    while (!connectable(port) && g_get_monotonic_time() < end)
        g_usleep(10000);
    CHECK(connectable(port));
    return pid;
}

static void test_http2(const char *nghttpd)
{
    int port = fx_free_port();
    GPid pid = start_nghttpd(nghttpd, port);
    fixture fx;
    fx_init(&fx);
    bmq_instance *in = FX_NEW(&fx, "h2",
                              "{\"url\": \"https://127.0.0.1:%d/alerts\", \"format\": \"ntfy\", "
                              "\"ca_file\": \"%s\"}",
                              port, keys.ca);
    for (int i = 0; i < 5; i++)
        fx_send(&fx, "h2:notify", NULL, "{\"title\": \"over HTTP/2\", \"body\": \"b\"}");
    CHECK(fx_wait_stat(in, "sent", 5, WAIT_S));
    char *v = fx_stat_str(in, "http_version");
    CHECK_STR(v, "2");
    g_free(v);
    CHECK_EQ(fx_stat(in, "last_status"), 200);
    CHECK_EQ(fx_stat(in, "failed"), 0);
    fx_free(&fx);
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    g_spawn_close_pid(pid);
}

static void test_http1_fallback(void)
{
    hs_server *s = hs_start(0, keys.cert, keys.key);
    CHECK(s != NULL);
    fixture fx;
    fx_init(&fx);
    bmq_instance *in = FX_NEW(&fx, "h1",
                              "{\"url\": \"https://127.0.0.1:%d/alerts\", \"format\": \"ntfy\", "
                              "\"ca_file\": \"%s\"}",
                              hs_port(s), keys.ca);
    fx_send(&fx, "h1:notify", NULL, "{\"title\": \"over HTTP/1.1\"}");
    CHECK(fx_wait_stat(in, "sent", 1, WAIT_S));
    char *v = fx_stat_str(in, "http_version");
    CHECK_STR(v, "1.1");
    g_free(v);
    CHECK_STR(hs_get(s, 0)->body, "over HTTP/1.1");
    fx_free(&fx);
    hs_stop(s);
}

int main(void)
{
    char *nghttpd = g_find_program_in_path("nghttpd");
    if (!nghttpd) {
        fprintf(stderr, "nghttpd (Debian package nghttp2-server) is not installed\n");
        return 77;
    }
    pki_need_openssl();
    pki_make(&keys);
    fprintf(stderr, "-- test_http2\n");
    test_http2(nghttpd);
    RUN(test_http1_fallback);
    pki_free(&keys);
    g_free(nghttpd);
    return 0;
}
