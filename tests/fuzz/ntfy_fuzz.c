/* ntfy_fuzz.c - libFuzzer entry point for the hub's ntfy API: each input is
 * the raw bytes of one HTTP connection (request line, headers with their
 * ntfy aliases, query string, body) sent to a real berryMQ server on a Unix
 * socket, with the hub's ntfy route installed. It exercises the path and
 * topic rules, the publish headers and query parameters (priority, tags,
 * actions in both forms, markdown, cache, delay), JSON publishes, and the
 * subscribe parameters (since, poll, filters). The server must answer
 * HTTP or close, and keep running: the next input gets a fresh connection.
 * Streams that stay open are cut after a short silence.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include <berrymq/net.h>

#include "ntfy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SILENCE_MS 30 /* a stream quiet this long is done */
#define READ_MAX   (256 * 1024)

static struct {
    bmq_bus *bus;
    bmq_server *server;
    ntfy *ntfy;
    char *dir, *path;
} fz;

static void fz_stop(void)
{
    ntfy_shutdown(fz.ntfy); /* streams end before the server stops, as in the hub */
    bmq_server_stop(fz.server);
    ntfy_free(fz.ntfy);
    bmq_bus_free(fz.bus);
    g_unlink(fz.path);
    g_rmdir(fz.dir);
    g_free(fz.path);
    g_free(fz.dir);
}

static void quiet(int level, const char *text, void *data)
{
    (void)level;
    (void)text;
    (void)data;
}

static void fz_start(void)
{
    fz.dir = g_dir_make_tmp("bmq-ntfy-fuzz-XXXXXX", NULL);
    if (!fz.dir)
        abort();
    fz.path = g_build_filename(fz.dir, "hub.sock", NULL);
    fz.bus = bmq_bus_new();
    bmq_server_options o;
    bmq_server_options_init(&o);
    o.unix_path = fz.path;
    o.max_body = 64 * 1024;
    o.header_timeout_s = 2;
    o.body_timeout_s = 2;
    o.log = quiet;
    char *err = NULL;
    fz.server = bmq_server_start(fz.bus, &o, NULL, &err);
    if (!fz.server) {
        fprintf(stderr, "ntfy_fuzz: server: %s\n", err ? err : "?");
        abort();
    }
    ntfy_cfg c;
    ntfy_cfg_defaults(&c);
    c.message_limit = 512;
    c.cache_messages = 64;
    c.max_subscribers = 8;
    c.keepalive_s = 1;
    fz.ntfy = ntfy_new(fz.bus, &c, NULL); /* no history: the memory cache */
    bmq_server_set_route(fz.server, ntfy_route, fz.ntfy);
    atexit(fz_stop);
}

static int dial(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    g_strlcpy(a.sun_path, fz.path, sizeof a.sun_path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        abort(); /* the server went away */
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz.server)
        fz_start();
    int fd = dial();
    size_t sent = 0;
    bool wr_done = size == 0;
    if (wr_done)
        shutdown(fd, SHUT_WR);
    GString *got = g_string_new(NULL);
    char buf[8192];
    for (;;) {
        struct pollfd p = {fd, POLLIN | (wr_done ? 0 : POLLOUT), 0};
        int r = poll(&p, 1, SILENCE_MS);
        if (r == 0)
            break; /* silent: a stream, or a request still missing its body */
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            abort();
        if (!wr_done && (p.revents & POLLOUT)) {
            ssize_t w = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
            if (w < 0 && errno != EAGAIN)
                wr_done = true; /* the server closed on us: fine */
            if (sent == size) {
                wr_done = true;
                shutdown(fd, SHUT_WR);
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n > 0 && got->len < READ_MAX)
                g_string_append_len(got, buf, n);
            else if (n == 0 || (n < 0 && errno != EAGAIN))
                break;
        }
    }
    close(fd);
    if (getenv("NTFY_FUZZ_SHOW"))
        fprintf(stderr, "%.*s\n---\n", (int)MIN(got->len, 300), got->str);
    /* Whatever came back is HTTP. */
    if (got->len && !g_str_has_prefix(got->str, "HTTP/1."))
        __builtin_trap();
    g_string_free(got, TRUE);
    return 0;
}
