/* peer_uid.c - see peer_uid.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "peer_uid.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static bool addr_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

bool peer_is_local(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return false;
    return ss.ss_family == AF_UNIX || addr_is_loopback(&ss);
}

/* Put a socket address into an inet_diag id field (network byte order). */
static void put_addr(const struct sockaddr_storage *ss, __be16 *port, __be32 addr[4])
{
    memset(addr, 0, 16);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)ss;
        *port = in->sin_port;
        memcpy(addr, &in->sin_addr, 4);
    } else {
        const struct sockaddr_in6 *in6 = (const void *)ss;
        *port = in6->sin6_port;
        memcpy(addr, &in6->sin6_addr, 16);
    }
}

static int tcp_peer_uid(int fd, uid_t *uid)
{
    struct sockaddr_storage local, peer;
    socklen_t ll = sizeof local, pl = sizeof peer;
    if (getsockname(fd, (struct sockaddr *)&local, &ll) != 0 ||
        getpeername(fd, (struct sockaddr *)&peer, &pl) != 0 || !addr_is_loopback(&peer) ||
        local.ss_family != peer.ss_family)
        return -1;
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return -1;
    struct {
        struct nlmsghdr nh;
        struct inet_diag_req_v2 req;
    } msg = {0};
    msg.nh.nlmsg_len = sizeof msg;
    msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nh.nlmsg_flags = NLM_F_REQUEST;
    msg.nh.nlmsg_seq = 1;
    msg.req.sdiag_family = (__u8)peer.ss_family;
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_states = ~0u;
    /* The peer's socket: its source is our peer address, its destination us. */
    put_addr(&peer, &msg.req.id.idiag_sport, msg.req.id.idiag_src);
    put_addr(&local, &msg.req.id.idiag_dport, msg.req.id.idiag_dst);
    msg.req.id.idiag_if = 0;
    msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int rc = -1;
    if (sendto(nl, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) ==
        (ssize_t)sizeof msg) {
        struct pollfd p = {.fd = nl, .events = POLLIN};
        char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
        ssize_t n = poll(&p, 1, 1000) == 1 ? recv(nl, buf, sizeof buf, 0) : -1;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; n > 0 && NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
                break; /* NLMSG_ERROR (no such socket) or DONE */
            const struct inet_diag_msg *d = NLMSG_DATA(h);
            *uid = (uid_t)d->idiag_uid;
            rc = 0;
            break;
        }
    }
    close(nl);
    return rc;
}

int peer_uid_of_fd(int fd, uid_t *uid)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_UNIX) {
        struct ucred cred;
        socklen_t cl = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0)
            return -1;
        *uid = cred.uid;
        return 0;
    }
    if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
        return tcp_peer_uid(fd, uid);
    return -1;
}
