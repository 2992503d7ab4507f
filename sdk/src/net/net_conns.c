/* net_conns.c - what one client may hold of the server: connections per
 * peer, and deadlines for a request's headers and body.
 *
 * A peer is a remote address, or for a loopback connection the uid that
 * owns the client's socket (asked of the kernel with sock_diag), so that
 * local users are told apart. The server's own uid is limited only by the
 * server's total connection limit: it could stop the hub anyway.
 *
 * Deadlines live in a min-heap served by one thread that sleeps until the
 * earliest one; a connection past its deadline is shut down (the event loop
 * then sees end-of-file and closes it). The record of a connection leaves
 * the heap under the lock before libmicrohttpd closes its socket,
 * so a shutdown never reaches a reused descriptor.
 */
#define _GNU_SOURCE 1 /* struct ucred */
#include "net_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer_uid.h"

struct net_conn {
    int fd;
    char key[INET6_ADDRSTRLEN + 8]; /* "uid:N" or "ip:ADDR" */
    bool owner;                     /* a loopback client of the server's own uid */
    bool counted;                   /* holds a place in the per-peer count */
    long uid;                       /* -1 when unknown */
    bool local;                     /* Unix socket or loopback */
    bool via_socket;                /* accepted on the Unix socket */
    gint64 due;                     /* monotonic us, 0 = none */
    int heap_idx;                   /* -1 when not in the heap */
};

struct net_conns {
    net_conns_limits lim;
    GMutex lock;
    GCond cond;
    GPtrArray *heap;    /* net_conn*, ordered by due */
    GHashTable *counts; /* key -> count (GUINT_TO_POINTER) */
    GThread *thread;
    bool stop;
    uint64_t refused, expired; /* under lock */
};

/* ---- peer identity ------------------------------------------------------- */

/* The uid owning the client end of a loopback TCP connection: an exact
 * sock_diag lookup of the client's socket by its four addresses. -1 when
 * the kernel does not say. */
static long loopback_uid(const struct sockaddr_storage *peer, const struct sockaddr_storage *local)
{
    if (peer->ss_family != local->ss_family ||
        (peer->ss_family != AF_INET && peer->ss_family != AF_INET6))
        return -1;
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req = {0};
    req.nlh.nlmsg_len = sizeof req;
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST;
    req.r.sdiag_family = (uint8_t)peer->ss_family;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = ~0u;
    req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    /* The socket looked up is the client's: its source is the peer. */
    if (peer->ss_family == AF_INET) {
        const struct sockaddr_in *p = (const void *)peer, *l = (const void *)local;
        req.r.id.idiag_sport = p->sin_port;
        req.r.id.idiag_dport = l->sin_port;
        memcpy(req.r.id.idiag_src, &p->sin_addr, 4);
        memcpy(req.r.id.idiag_dst, &l->sin_addr, 4);
    } else {
        const struct sockaddr_in6 *p = (const void *)peer, *l = (const void *)local;
        req.r.id.idiag_sport = p->sin6_port;
        req.r.id.idiag_dport = l->sin6_port;
        memcpy(req.r.id.idiag_src, &p->sin6_addr, 16);
        memcpy(req.r.id.idiag_dst, &l->sin6_addr, 16);
    }
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return -1;
    struct timeval tv = {.tv_sec = 1};
    setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    long uid = -1;
    if (sendto(nl, &req, sizeof req, 0, (struct sockaddr *)&sa, sizeof sa) == (ssize_t)sizeof req) {
        union {
            struct nlmsghdr h;
            char buf[8192];
        } ans;
        ssize_t n = recv(nl, &ans, sizeof ans, 0);
        for (struct nlmsghdr *h = &ans.h; n > 0 && NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
                h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
                const struct inet_diag_msg *m = NLMSG_DATA(h);
                uid = (long)m->idiag_uid;
                break;
            }
            if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE)
                break;
        }
    }
    close(nl);
    return uid;
}

static bool is_loopback_addr(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* ---- deadline heap (under g->lock) ---------------------------------------- */

static bool earlier(net_conn *a, net_conn *b)
{
    return a->due < b->due;
}

static void heap_swap(GPtrArray *h, guint i, guint j)
{
    net_conn *a = h->pdata[i], *b = h->pdata[j];
    h->pdata[i] = b;
    h->pdata[j] = a;
    b->heap_idx = (int)i;
    a->heap_idx = (int)j;
}

static void heap_fix(GPtrArray *h, guint i)
{
    while (i > 0 && earlier(h->pdata[i], h->pdata[(i - 1) / 2])) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        guint l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->len && earlier(h->pdata[l], h->pdata[m]))
            m = l;
        if (r < h->len && earlier(h->pdata[r], h->pdata[m]))
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

static void heap_remove(GPtrArray *h, net_conn *c)
{
    if (c->heap_idx < 0)
        return;
    guint i = (guint)c->heap_idx, last = h->len - 1;
    if (i != last)
        heap_swap(h, i, last);
    g_ptr_array_remove_index(h, last);
    c->heap_idx = -1;
    if (i < h->len)
        heap_fix(h, i);
}

static void set_due(net_conns *g, net_conn *c, gint64 due)
{
    g_mutex_lock(&g->lock);
    heap_remove(g->heap, c);
    c->due = due;
    if (due && c->fd >= 0) {
        g_ptr_array_add(g->heap, c);
        c->heap_idx = (int)g->heap->len - 1;
        heap_fix(g->heap, (guint)c->heap_idx);
        if (c->heap_idx == 0)
            g_cond_signal(&g->cond); /* a new earliest deadline */
    }
    g_mutex_unlock(&g->lock);
}

static gpointer guard_main(gpointer data)
{
    net_conns *g = data;
    g_mutex_lock(&g->lock);
    while (!g->stop) {
        if (!g->heap->len) {
            g_cond_wait(&g->cond, &g->lock);
            continue;
        }
        net_conn *c = g->heap->pdata[0];
        if (c->due > g_get_monotonic_time()) {
            g_cond_wait_until(&g->cond, &g->lock, c->due);
            continue;
        }
        heap_remove(g->heap, c);
        c->due = 0;
        g->expired++;
        shutdown(c->fd, SHUT_RDWR); /* the event loop closes it */
    }
    g_mutex_unlock(&g->lock);
    return NULL;
}

/* ---- API ------------------------------------------------------------------ */

net_conns *net__conns_new(const net_conns_limits *lim)
{
    net_conns *g = g_new0(net_conns, 1);
    g->lim = *lim;
    g_mutex_init(&g->lock);
    g_cond_init(&g->cond);
    g->heap = g_ptr_array_new();
    g->counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g->thread = g_thread_new("bmq-http-limits", guard_main, g);
    return g;
}

void net__conns_free(net_conns *g)
{
    if (!g)
        return;
    g_mutex_lock(&g->lock);
    g->stop = true;
    g_cond_signal(&g->cond);
    g_mutex_unlock(&g->lock);
    g_thread_join(g->thread);
    g_ptr_array_free(g->heap, TRUE);
    g_hash_table_destroy(g->counts);
    g_cond_clear(&g->cond);
    g_mutex_clear(&g->lock);
    g_free(g);
}

net_conn *net__conns_open(net_conns *g, int fd, char *why, size_t why_len)
{
    net_conn *c = g_new0(net_conn, 1);
    c->fd = fd;
    c->uid = -1;
    c->heap_idx = -1;
    struct sockaddr_storage peer = {0}, local = {0};
    socklen_t pl = sizeof peer, ll = sizeof local;
    bool have = getpeername(fd, (struct sockaddr *)&peer, &pl) == 0 &&
                getsockname(fd, (struct sockaddr *)&local, &ll) == 0;
    c->local = have && (peer.ss_family == AF_UNIX || is_loopback_addr(&peer));
    c->via_socket = have && local.ss_family == AF_UNIX;
    if (have && is_loopback_addr(&peer))
        c->uid = loopback_uid(&peer, &local);
    struct ucred cred;
    socklen_t cl = sizeof cred;
    if (have && peer.ss_family == AF_UNIX &&
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
        c->uid = (long)cred.uid; /* the Unix socket: the kernel says who */
    uid_t u;
    if (c->via_socket && peer_uid_of_fd(fd, &u) == 0) /* SO_PEERCRED */
        c->uid = (long)u;
    if (c->uid >= 0) {
        g_snprintf(c->key, sizeof c->key, "uid:%ld", c->uid);
        c->owner = (uid_t)c->uid == geteuid();
    } else {
        char ip[INET6_ADDRSTRLEN] = "?";
        if (have && peer.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, ip, sizeof ip);
        else if (have && peer.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, ip, sizeof ip);
        g_snprintf(c->key, sizeof c->key, "ip:%s", ip);
    }
    why[0] = '\0';
    g_mutex_lock(&g->lock);
    if (!c->owner) {
        guint n = GPOINTER_TO_UINT(g_hash_table_lookup(g->counts, c->key));
        if (n >= g->lim.per_peer) {
            g->refused++;
            g_snprintf(why, why_len,
                       "too many connections from %s: at most %u per peer "
                       "(max_connections_per_peer)",
                       c->key, g->lim.per_peer);
        } else {
            g_hash_table_insert(g->counts, g_strdup(c->key), GUINT_TO_POINTER(n + 1));
            c->counted = true;
        }
    }
    g_mutex_unlock(&g->lock);
    net__conns_phase(g, c, NET_PHASE_HEADERS);
    return c;
}

void net__conns_close(net_conns *g, net_conn *c)
{
    if (!c)
        return;
    g_mutex_lock(&g->lock);
    heap_remove(g->heap, c);
    c->fd = -1;
    if (c->counted) {
        guint n = GPOINTER_TO_UINT(g_hash_table_lookup(g->counts, c->key));
        if (n <= 1)
            g_hash_table_remove(g->counts, c->key);
        else
            g_hash_table_insert(g->counts, g_strdup(c->key), GUINT_TO_POINTER(n - 1));
    }
    g_mutex_unlock(&g->lock);
    g_free(c);
}

void net__conns_phase(net_conns *g, net_conn *c, int phase)
{
    if (!c)
        return;
    gint64 now = g_get_monotonic_time();
    gint64 s = 0;
    switch (phase) {
    case NET_PHASE_HEADERS:
        s = g->lim.header_s;
        break;
    case NET_PHASE_BODY:
        s = g->lim.body_s;
        break;
    case NET_PHASE_IDLE: /* the idle timeout closes a quiet one first */
        s = (gint64)g->lim.idle_s + g->lim.header_s;
        break;
    case NET_PHASE_ANSWER: /* a reader that stalls is the idle timeout's */
        s = 2 * (gint64)g->lim.idle_s + g->lim.body_s;
        break;
    default: /* NET_PHASE_WAIT: a deferred request, bounded by its own timeout */
        break;
    }
    set_due(g, c, s ? now + s * G_USEC_PER_SEC : 0);
}

bool net__conn_owner(const net_conn *c)
{
    return c && c->owner;
}

long net__conn_uid(const net_conn *c)
{
    return c ? c->uid : -1;
}

bool net__conn_local(const net_conn *c)
{
    return c && c->local;
}

bool net__conn_via_socket(const net_conn *c)
{
    return c && c->via_socket;
}

const char *net__conn_key(const net_conn *c)
{
    return c ? c->key : NULL;
}

void net__conns_stats(net_conns *g, uint64_t *refused, uint64_t *expired)
{
    g_mutex_lock(&g->lock);
    *refused = g->refused;
    *expired = g->expired;
    g_mutex_unlock(&g->lock);
}
