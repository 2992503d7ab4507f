/* raw_http.h - one HTTP exchange written byte for byte, over loopback TCP or
 * a Unix socket: what a browser, curl or an original berryMQ node puts on
 * the wire, headers included. Header-only; GLib for strings. */
#ifndef BMQ_TEST_RAW_HTTP_H
#define BMQ_TEST_RAW_HTTP_H

#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

typedef struct rh_reply {
    int status; /* HTTP status, 0 when there was no answer */
    char *head; /* (transfer full) status line and headers */
    char *body; /* (transfer full) */
} rh_reply;

static inline void rh_reply_clear(rh_reply *r)
{
    g_free(r->head);
    g_free(r->body);
    memset(r, 0, sizeof *r);
}

/* Send @req on the connected @fd, read until EOF (the request says
 * "Connection: close" or is HTTP/1.0), split the answer. */
static inline bool rh_exchange_fd(int fd, const char *req, rh_reply *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(req), off = 0;
    while (off < len) {
        ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    GString *in = g_string_new(NULL);
    gint64 end = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)((end - g_get_monotonic_time()) / 1000);
        if (left <= 0 || poll(&p, 1, left) != 1)
            break;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        g_string_append_len(in, buf, n);
    }
    close(fd);
    char *sep = strstr(in->str, "\r\n\r\n");
    if (strncmp(in->str, "HTTP/1.", 7) || !sep) {
        g_string_free(in, TRUE);
        return false;
    }
    out->status = atoi(in->str + 9);
    out->head = g_strndup(in->str, (gsize)(sep - in->str) + 2);
    out->body = g_strdup(sep + 4);
    g_string_free(in, TRUE);
    return true;
}

static inline bool rh_exchange_tcp(unsigned port, const char *req, rh_reply *out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        memset(out, 0, sizeof *out);
        if (fd >= 0)
            close(fd);
        return false;
    }
    return rh_exchange_fd(fd, req, out);
}

static inline bool rh_exchange_unix(const char *path, const char *req, rh_reply *out)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    g_strlcpy(a.sun_path, path, sizeof a.sun_path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        memset(out, 0, sizeof *out);
        if (fd >= 0)
            close(fd);
        return false;
    }
    return rh_exchange_fd(fd, req, out);
}

/* A POST of @body to /JSON with the given extra header lines (each ending
 * in "\r\n", nullable) and Host (nullable: none). (transfer full) */
static inline char *rh_post_text(const char *host, const char *extra, const char *body)
{
    return g_strdup_printf("POST /JSON HTTP/1.1\r\n%s%s%s%sContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           host ? "Host: " : "", host ? host : "", host ? "\r\n" : "",
                           extra ? extra : "", strlen(body), body);
}

/* The value of header @name in @head (transfer full), NULL if absent. */
static inline char *rh_header(const char *head, const char *name)
{
    char **lines = g_strsplit(head ? head : "", "\r\n", -1);
    char *v = NULL;
    size_t n = strlen(name);
    for (char **l = lines; *l && !v; l++)
        if (!g_ascii_strncasecmp(*l, name, n) && (*l)[n] == ':')
            v = g_strstrip(g_strdup(*l + n + 1));
    g_strfreev(lines);
    return v;
}

#endif
