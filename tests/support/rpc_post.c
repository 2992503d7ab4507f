/* rpc_post.c - see rpc_post.h. */
#include "rpc_post.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct rp_conn {
    int fd;
    char *buf; /* bytes read past the last answer */
    size_t len, cap;
};

rp_conn *rp_connect(const char *hostport)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof host)
        return NULL;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return NULL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    rp_conn *c = calloc(1, sizeof *c);
    c->fd = fd;
    return c;
}

static int fill(rp_conn *c)
{
    if (c->cap - c->len < 65536) {
        c->cap = c->cap * 2 + 65536;
        c->buf = realloc(c->buf, c->cap + 1);
    }
    ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (n <= 0)
        return -1;
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

char *rp_post(rp_conn *c, const char *body, size_t len)
{
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "POST /JSON HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      len);
    if (write_all(c->fd, head, (size_t)hn) || write_all(c->fd, body, len))
        return NULL;
    char *end;
    while (!c->buf || !(end = strstr(c->buf, "\r\n\r\n")))
        if (fill(c))
            return NULL;
    size_t hlen = (size_t)(end - c->buf) + 4, blen = 0;
    for (char *l = strstr(c->buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
        if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
            blen = strtoul(l + 17, NULL, 10);
    while (c->len < hlen + blen)
        if (fill(c))
            return NULL;
    char *out = malloc(blen + 1);
    memcpy(out, c->buf + hlen, blen);
    out[blen] = '\0';
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
    c->buf[c->len] = '\0';
    return out;
}

void rp_close(rp_conn *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c->buf);
    free(c);
}
