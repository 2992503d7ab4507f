/* net_server.c - the HTTP side of the server: libmicrohttpd driven by epoll
 * on a few event loop threads, so idle and slow connections cost a socket,
 * not a thread. A request that may wait (a blocking "get", a method added by
 * the program) is run on a thread pool while its connection is suspended.
 * Also access control, body limits, extra methods and status. */
#include "net_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct net_cidr {
    int family;
    unsigned char addr[16];
    unsigned bits;
};

struct req {
    GString *body;
    bool routed; /* handed to the route handler (not a JSON-RPC request) */
    char peer[INET6_ADDRSTRLEN + 8];
    bmq_server *s;
    struct MHD_Connection *conn;
    net_conn *nc;                     /* (nullable) the connection's record in the guard */
    char *answer;                     /* set by a pool thread before it resumes the connection */
    char label[INET6_ADDRSTRLEN + 8]; /* sender label: "rpc ADDRESS" */
    char *held;                       /* an answer held back by the reply hook */
    uint64_t ticket;                  /* the reply hook's ticket for it */
    const char *cors; /* (nullable) allowed web origin to echo (net_guard.c) */
    bmq_rpc_peer_info who; /* the client, for bmq_rpc_peer() */
};

/* The guard's record of @conn (NULL for a server without a guard). */
static net_conn *conn_record(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

#define WAIT_POOL_MAX 256 /* blocking gets waiting at once */
#define CALL_POOL_MAX 32  /* program-added methods running at once */

void bmq_server_options_init(bmq_server_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->host = "127.0.0.1";
}

static bool parse_cidr(const char *text, struct net_cidr *out)
{
    char buf[64];
    if (!text || strlen(text) >= sizeof buf)
        return false;
    g_strlcpy(buf, text, sizeof buf);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash++ = '\0';
    memset(out, 0, sizeof *out);
    unsigned max;
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return false;
    }
    out->bits = max;
    if (slash) {
        char *end = NULL;
        unsigned long b = strtoul(slash, &end, 10);
        if (!*slash || *end || b > max)
            return false;
        out->bits = (unsigned)b;
    }
    return true;
}

static bool client_allowed(bmq_server *s, const struct sockaddr *sa);

static bool prefix_match(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full))
        return false;
    if (!rest)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

/* Normalise a client address: family and 4 or 16 bytes (v4-mapped -> v4). */
static int addr_bytes(const struct sockaddr *sa, unsigned char out[16])
{
    if (sa->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            memcpy(out, a6->s6_addr + 12, 4);
            return AF_INET;
        }
        memcpy(out, a6->s6_addr, 16);
        return AF_INET6;
    }
    return 0;
}

static bool is_loopback(int family, const unsigned char *b)
{
    static const unsigned char v6lo[16] = {[15] = 1};
    if (family == AF_INET)
        return b[0] == 127;
    return family == AF_INET6 && !memcmp(b, v6lo, 16);
}

bool net__cidr_admits(const char *cidr, const char *ip)
{
    struct net_cidr c;
    struct sockaddr_storage ss = {0};
    if (!parse_cidr(cidr, &c))
        return false;
    if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
        ss.ss_family = AF_INET6;
    else
        return false;
    bmq_server s = {.allow = g_array_new(FALSE, FALSE, sizeof c)};
    g_array_append_val(s.allow, c);
    bool ok = client_allowed(&s, (struct sockaddr *)&ss);
    g_array_free(s.allow, TRUE);
    return ok;
}

static bool client_allowed(bmq_server *s, const struct sockaddr *sa)
{
    if (!s->allow || s->allow->len == 0)
        return true;
    unsigned char b[16];
    int fam = sa ? addr_bytes(sa, b) : 0;
    if (!fam)
        return false;
    if (is_loopback(fam, b))
        return true;
    for (guint i = 0; i < s->allow->len; i++) {
        struct net_cidr *c = &g_array_index(s->allow, struct net_cidr, i);
        if (c->family == fam && prefix_match(c->addr, b, c->bits))
            return true;
    }
    return false;
}

static bool auth_ok(bmq_server *s, struct MHD_Connection *conn)
{
    return !s->secret || net__secret_presented(s, conn);
}

/* The request on_request is refusing on this thread, when it is one the
 * route handler would get: the refusal goes to the handler. */
struct refusing {
    bmq_server *s;
    const char *url, *method, *peer;
    const char *const *cors; /* the request's, once the browser checks passed */
};
static __thread const struct refusing *refusing;

static int route_refusal(struct MHD_Connection *conn, unsigned status, const char *why)
{
    const struct refusing *f = refusing;
    bmq_http_route_fn fn = f ? __atomic_load_n(&f->s->route_fn, __ATOMIC_ACQUIRE) : NULL;
    if (!fn)
        return BMQ_HTTP_DECLINED;
    bmq_http_request hr = {.size = sizeof hr,
                           .method = f->method,
                           .url = f->url,
                           .body = "",
                           .peer = f->peer,
                           .connection = conn,
                           .cors = *f->cors,
                           .refused = status,
                           .refusal = why};
    int rc = fn(&hr, f->s->route_data);
    return rc == BMQ_HTTP_DECLINED ? rc : rc ? MHD_YES : MHD_NO;
}

int net__refuse(bmq_server *s, struct MHD_Connection *conn, unsigned status, const char *why)
{
    (void)s;
    int rc = route_refusal(conn, status, why);
    if (rc != BMQ_HTTP_DECLINED)
        return rc;
    return net__reply_refused(conn, status, net__refusal_body(BMQ_EDENIED, "%s", why));
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *text,
                             const char *type, const char *cors)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    net__guard_decorate(r, cors);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"berrymq\"");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    return reply(conn, status, g_strdup_printf("%s\n", msg), "text/plain", NULL);
}

/* The 413 for a body that turned out too large while streaming in: MHD
 * queues responses only before or after the body, so it is written here
 * and the connection is closed without reading further. */
static void send_early_413(struct MHD_Connection *conn)
{
    static const char msg[] = "HTTP/1.1 413 Content Too Large\r\n"
                              "Content-Type: text/plain\r\n"
                              "Content-Length: 23\r\n"
                              "Connection: close\r\n\r\n"
                              "request body too large\n";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci && send(ci->connect_fd, msg, sizeof msg - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        return; /* the peer is gone or not reading: closing is all that is left */
}

/* The reply hook's verdict on the request just handled in this thread:
 * 0 = answer now, else a ticket to wait for. */
static uint64_t reply_check(bmq_server *s)
{
    bmq_reply_check_fn check = __atomic_load_n(&s->reply_check, __ATOMIC_ACQUIRE);
    return check ? check(s->reply_hook_data) : 0;
}

static enum MHD_Result not_rpc(struct MHD_Connection *conn, const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_POST))
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST with a JSON-RPC body");
    return reply_text(conn, MHD_HTTP_NOT_FOUND, "post to / or /JSON");
}

/* Hand a request to the route handler. On a POST to "/" a decline returns
 * BMQ_HTTP_DECLINED (read it as JSON-RPC); elsewhere it gets 404/405. */
static int route(bmq_server *s, struct req *r, struct MHD_Connection *conn, const char *url,
                 const char *method, bool too_large)
{
    bmq_http_route_fn fn = __atomic_load_n(&s->route_fn, __ATOMIC_ACQUIRE);
    if (fn) {
        bmq_http_request hr = {.size = sizeof hr,
                               .method = method,
                               .url = url,
                               .body = r->body && !too_large ? r->body->str : "",
                               .body_len = r->body && !too_large ? r->body->len : 0,
                               .too_large = too_large,
                               .peer = r->peer,
                               .connection = conn,
                               .cors = r->cors};
        int rc = fn(&hr, s->route_data);
        if (rc != BMQ_HTTP_DECLINED)
            return rc ? MHD_YES : MHD_NO;
    }
    if (!r->routed)
        return BMQ_HTTP_DECLINED;
    return not_rpc(conn, method);
}

/* A routed request's body is in: what the handler answers is bounded by
 * the handler (an ntfy stream lasts as long as its subscriber reads) and by
 * libmicrohttpd's connection timeout for a reader that stalls, no longer by
 * the body deadline. */
static void route_phase(bmq_server *s, struct req *r)
{
    if (s->conns)
        net__conns_phase(s->conns, r->nc, NET_PHASE_WAIT);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    bmq_server *s = cls;
    struct req *r = *con_cls;
    if (!r) {
        r = g_new0(struct req, 1);
        *con_cls = r;
        __atomic_add_fetch(&s->inflight, 1, __ATOMIC_ACQ_REL);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;
        if (sa && sa->sa_family == AF_INET) {
            const struct sockaddr_in *in = (const void *)sa;
            char ip[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
            g_snprintf(r->peer, sizeof r->peer, "%s:%u", ip, ntohs(in->sin_port));
            g_snprintf(r->label, sizeof r->label, "rpc %s", ip);
        } else if (sa && sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const void *)sa;
            char ip[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
            g_snprintf(r->peer, sizeof r->peer, "[%s]:%u", ip, ntohs(in6->sin6_port));
            g_snprintf(r->label, sizeof r->label, "rpc %s", ip);
        }
        if (__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE))
            return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "server is stopping");
        bool rpc =
            !strcmp(method, MHD_HTTP_METHOD_POST) && (!strcmp(url, "/") || !strcmp(url, "/JSON"));
        /* Refusals of the route handler's paths are answered in its format
         * (a POST to "/" may be either: JSON-RPC's). */
        struct refusing f = {s, url, method, r->peer, &r->cors};
        refusing = !rpc ? &f : NULL;
        int guarded;
        if (!net__guard_request(s, conn, method, r->peer, &r->cors, &guarded) ||
            !net__guard_user(s, conn, r->peer, &r->who, &guarded)) {
            refusing = NULL;
            return (enum MHD_Result)guarded;
        }
        if (r->who.via_socket)
            g_strlcpy(r->label, "rpc socket", sizeof r->label);
        const char *why = NULL;
        unsigned status = 0;
        if (!r->who.via_socket && !client_allowed(s, sa)) {
            status = MHD_HTTP_FORBIDDEN;
            why = "address not in the allow-list";
        } else if (!r->who.via_socket && !auth_ok(s, conn)) {
            status = MHD_HTTP_UNAUTHORIZED;
            why = "missing or wrong secret (Authorization: Bearer SECRET, or Basic with it as the "
                  "password)";
        }
        if (why) {
            net__atomic_add(&s->rejected, 1);
            int rc = route_refusal(conn, status, why);
            refusing = NULL;
            return rc != BMQ_HTTP_DECLINED ? (enum MHD_Result)rc : reply_text(conn, status, why);
        }
        refusing = NULL;
        r->routed = !rpc && __atomic_load_n(&s->route_fn, __ATOMIC_ACQUIRE);
        if (!rpc && !r->routed)
            return not_rpc(conn, method);
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && g_ascii_strtoull(cl, NULL, 10) > s->max_body) {
            net__atomic_add(&s->too_large, 1);
            if (r->routed)
                return (enum MHD_Result)route(s, r, conn, url, method, true);
            return reply_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
        }
        r->body = g_string_sized_new(cl ? (gsize)g_ascii_strtoull(cl, NULL, 10) + 1 : 256);
        r->nc = conn_record(conn);
        if (s->conns)
            net__conns_phase(s->conns, r->nc, NET_PHASE_BODY);
        return MHD_YES;
    }
    if (!r->body)
        return MHD_YES; /* a response is already queued */
    if (r->answer) { /* back from a pool thread */
        char *text = r->answer;
        r->answer = NULL;
        if (s->conns)
            net__conns_phase(s->conns, r->nc, NET_PHASE_ANSWER);
        return reply(conn, MHD_HTTP_OK, text, "application/json", r->cors);
    }
    if (*upload_data_size) {
        if (r->body->len + *upload_data_size > s->max_body) {
            /* A body without a length (chunked) went over the limit: answer
             * now and close rather than read the rest. */
            net__atomic_add(&s->too_large, 1);
            send_early_413(conn);
            return MHD_NO;
        }
        g_string_append_len(r->body, upload_data, (gssize)*upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->routed) {
        route_phase(s, r);
        return (enum MHD_Result)route(s, r, conn, url, method, false);
    }
    if (url[1] == '\0' && __atomic_load_n(&s->route_fn, __ATOMIC_ACQUIRE)) {
        int rc = route(s, r, conn, url, method, false);
        if (rc != BMQ_HTTP_DECLINED) {
            route_phase(s, r);
            return (enum MHD_Result)rc;
        }
    }
    int defer = NET_DEFER_NONE;
    rpc_ctx ctx = {.peer = r->peer[0] ? r->peer : NULL,
                   .peer_key = net__conn_key(r->nc),
                   .owner = net__conn_owner(r->nc),
                   .defer = &defer};
    const char *prev = bmq_sender_label_set(r->label[0] ? r->label : "rpc");
    net__peer_set(&r->who);
    char *text = rpc__dispatch(s, r->body->str, r->body->len, &ctx);
    net__peer_set(NULL);
    bmq_sender_label_set(prev);
    uint64_t ticket = 0;
    if (!defer) {
        ticket = reply_check(s);
        if (!ticket) {
            if (s->conns)
                net__conns_phase(s->conns, r->nc, NET_PHASE_ANSWER);
            return reply(conn, MHD_HTTP_OK, text, "application/json", r->cors);
        }
        /* Held back: wait on the pool, not on the event loop. */
        defer = NET_DEFER_WAIT;
    }
    if (s->conns)
        net__conns_phase(s->conns, r->nc, NET_PHASE_WAIT);
    g_mutex_lock(&s->defer_lock);
    GThreadPool *pool = defer == NET_DEFER_WAIT ? s->wait_pool : s->call_pool;
    if (pool) {
        r->s = s;
        r->conn = conn;
        r->held = text;
        r->ticket = ticket;
        MHD_suspend_connection(conn);
        g_thread_pool_push(pool, r, NULL);
    }
    g_mutex_unlock(&s->defer_lock);
    if (!pool && text) /* stopping: nothing waits any more */
        return reply(conn, MHD_HTTP_OK, text, "application/json", r->cors);
    return pool ? MHD_YES : reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "server is stopping");
}

/* Pool thread: run a deferred body where it may wait (or wait for an answer
 * the reply hook held back), then hand the answer back to the event loop. */
static void run_deferred(gpointer data, gpointer user_data)
{
    struct req *r = data;
    bmq_server *s = r->s;
    if (r->held) {
        s->reply_wait(s->reply_hook_data, r->ticket);
        r->answer = r->held;
        r->held = NULL;
        r->ticket = 0;
        MHD_resume_connection(r->conn);
        return;
    }
    rpc_ctx ctx = {.peer = r->peer[0] ? r->peer : NULL,
                   .peer_key = net__conn_key(r->nc),
                   .owner = net__conn_owner(r->nc)};
    const char *prev = bmq_sender_label_set(r->label[0] ? r->label : "rpc");
    net__peer_set(&r->who);
    r->answer = rpc__dispatch(s, r->body->str, r->body->len, &ctx);
    net__peer_set(NULL);
    bmq_sender_label_set(prev);
    uint64_t ticket = reply_check(s);
    if (ticket)
        s->reply_wait(s->reply_hook_data, ticket);
    MHD_resume_connection(r->conn);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    bmq_server *s = cls;
    struct req *r = *con_cls;
    if (s && s->conns && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        net__conns_phase(s->conns, conn_record(conn), NET_PHASE_IDLE);
    if (!r)
        return;
    if (r->body)
        g_string_free(r->body, TRUE);
    g_free(r->answer);
    g_free(r->held);
    g_free(r);
    *con_cls = NULL;
    if (__atomic_sub_fetch(&s->inflight, 1, __ATOMIC_ACQ_REL) == 0 &&
        __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
        g_mutex_lock(&s->defer_lock);
        g_cond_broadcast(&s->drained);
        g_mutex_unlock(&s->defer_lock);
    }
}

/* Responses go out as header and body writes; without TCP_NODELAY the body
 * of a large batch answer waits for the peer's delayed ACK (~40 ms). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    bmq_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        net__conns_close(s->conns, *socket_context);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return;
    int one = 1;
    setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char why[160];
    *socket_context = net__conns_open(s->conns, ci->connect_fd, why, sizeof why);
    if (why[0]) {
        /* Refused before any request: the answer waits in the socket for
         * the client to read, and the connection is closed. */
        char *msg = g_strdup_printf("HTTP/1.1 503 Service Unavailable\r\n"
                                    "Content-Type: text/plain\r\n"
                                    "Content-Length: %zu\r\n"
                                    "Connection: close\r\n\r\n%s\n",
                                    strlen(why) + 1, why);
        net__atomic_add(&s->rejected, 1);
        if (send(ci->connect_fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
            g_debug("could not tell a refused client why");
        g_free(msg);
        shutdown(ci->connect_fd, SHUT_RDWR);
    }
}

static bmq_server *server_alloc(bmq_bus *bus)
{
    bmq_server *s = g_new0(bmq_server, 1);
    s->bus = bus;
    s->max_body = BMQ_DEFAULT_MAX_BODY;
    s->conn_timeout = 30;
    s->max_block = NET_MAX_BLOCK_S;
    g_mutex_init(&s->defer_lock);
    g_cond_init(&s->drained);
    rpc__methods_init(s);
    s->nb = net__bus_get(bus);
    g_mutex_lock(&s->nb->lock);
    if (!s->nb->server)
        s->nb->server = s;
    g_mutex_unlock(&s->nb->lock);
    return s;
}

bmq_server *net__server_new_offline(bmq_bus *bus, double max_block)
{
    bmq_server *s = server_alloc(bus);
    s->offline = true;
    s->max_block = max_block;
    s->listen = g_strdup("offline");
    return s;
}

static bool resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL, *pick = NULL;
    char p[8];
    g_snprintf(p, sizeof p, "%u", (unsigned)port);
    if (getaddrinfo(host, p, &hints, &res) != 0 || !res)
        return false;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET && !pick)
            pick = a; /* prefer IPv4: "localhost" clients mostly dial 127.0.0.1 */
    if (!pick)
        pick = res;
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    *len = pick->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

static bool fail(char **error, int *code, int c, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static bool fail(char **error, int *code, int c, const char *fmt, ...)
{
    if (error) {
        va_list ap;
        va_start(ap, fmt);
        *error = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
    if (code)
        *code = c;
    return false;
}

/* Copy the browser guard's lists: names lower-cased, origins normalized. */
static bool guard_setup(bmq_server *s, const bmq_server_options *o, char **error, int *code)
{
    size_t n = 0;
    while (o->server_names && o->server_names[n])
        n++;
    s->server_names = n ? g_new0(char *, n + 1) : NULL;
    for (size_t i = 0; i < n; i++)
        s->server_names[i] = g_ascii_strdown(o->server_names[i], -1);
    n = 0;
    while (o->allow_origins && o->allow_origins[n])
        n++;
    s->allow_origins = n ? g_new0(char *, n + 1) : NULL;
    for (size_t i = 0; i < n; i++) {
        s->allow_origins[i] = net__origin_normalize(o->allow_origins[i]);
        if (!s->allow_origins[i])
            return fail(error, code, -BMQ_EINVAL,
                        "bad allowed origin '%s': expected SCHEME://HOST[:PORT]",
                        o->allow_origins[i]);
    }
    return true;
}

/* The same handler on a Unix socket: a second daemon on a listening socket
 * made here (MHD binds only IP addresses itself). */
static bool unix_start(bmq_server *s, const char *path, char **error, int *code)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path)
        return fail(error, code, -BMQ_EINVAL, "socket path too long: %s", path);
    g_strlcpy(a.sun_path, path, sizeof a.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return fail(error, code, -BMQ_ENET, "socket: %s", g_strerror(errno));
    /* A stale socket of a dead server is replaced; the caller's lock says
     * no live one uses it. */
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
    umask(old);
    if (rc != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        return fail(error, code, -BMQ_ENET, "cannot listen on %s: %s", path, g_strerror(e));
    }
    s->unix_path = g_strdup(path);
    s->mhd_unix = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_request, s,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)s->conn_timeout, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)s->max_conns,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, s, MHD_OPTION_END);
    if (!s->mhd_unix) {
        close(fd);
        return fail(error, code, -BMQ_ENET, "cannot serve on %s", path);
    }
    return true;
}

static bmq_server *server_start(bmq_bus *bus, const bmq_server_options *in, char **error, int *code)
{
    bmq_server_options o;
    bmq_server_options_init(&o);
    if (in)
        memcpy(&o, in, MIN(in->size ? in->size : sizeof o, sizeof o));
    const char *host = o.host && *o.host ? o.host : "127.0.0.1";
    if (!bus) {
        fail(error, code, -BMQ_EINVAL, "no bus");
        return NULL;
    }
    GArray *allow = g_array_new(FALSE, FALSE, sizeof(struct net_cidr));
    for (size_t i = 0; o.allow && o.allow[i]; i++) {
        struct net_cidr c;
        if (!parse_cidr(o.allow[i], &c)) {
            fail(error, code, -BMQ_EINVAL, "bad allow-list entry '%s': expected ADDRESS[/BITS]",
                 o.allow[i]);
            g_array_free(allow, TRUE);
            return NULL;
        }
        g_array_append_val(allow, c);
    }
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (!resolve(host, o.port, &ss, &sl)) {
        fail(error, code, -BMQ_EINVAL, "cannot resolve listen address '%s'", host);
        g_array_free(allow, TRUE);
        return NULL;
    }
    unsigned char b[16];
    int fam = addr_bytes((struct sockaddr *)&ss, b);
    bool has_secret = o.secret && *o.secret;
    if (!is_loopback(fam, b) && allow->len == 0 && !has_secret) {
        fail(error, code, -BMQ_EDENIED,
             "refusing to listen on %s: a non-loopback address needs an allow-list (CIDRs) or a "
             "shared secret",
             host);
        g_array_free(allow, TRUE);
        return NULL;
    }
    bmq_server *s = server_alloc(bus);
    s->allow = allow;
    s->open_to_remote = !is_loopback(fam, b);
    s->log = o.log;
    s->log_data = o.log_data;
    if (!guard_setup(s, &o, error, code)) {
        bmq_server_stop(s);
        return NULL;
    }
    s->secret = has_secret ? g_strdup(o.secret) : NULL;
    if (o.max_body)
        s->max_body = o.max_body;
    if (o.conn_timeout_s)
        s->conn_timeout = o.conn_timeout_s;
    s->max_conns = o.max_conns ? o.max_conns : 1024;
    s->threads = o.threads ? MIN(o.threads, 64u) : 2;
    s->host = g_strdup(host);
    if (o.node_id && *o.node_id)
        g_strlcpy(s->nb->node_id, o.node_id, sizeof s->nb->node_id);
    net_conns_limits lim = {
        .per_peer = o.max_conns_per_peer ? o.max_conns_per_peer : 64,
        .header_s = o.header_timeout_s ? o.header_timeout_s : 10,
        .body_s = o.body_timeout_s ? o.body_timeout_s : 30,
        .idle_s = s->conn_timeout,
    };
    s->conns = net__conns_new(&lim);
    s->max_queues = o.max_queues ? o.max_queues : 1024;
    s->max_queues_per_peer = o.max_queues_per_peer ? o.max_queues_per_peer : 64;
    s->max_ttl = o.max_ttl_s ? o.max_ttl_s : 3600;
    s->max_queue_messages = o.max_queue_messages ? o.max_queue_messages : NET_QUEUE_CAP;
    s->max_queue_bytes = o.max_queue_bytes ? o.max_queue_bytes : NET_QUEUE_BYTES;
    s->wait_pool = g_thread_pool_new(run_deferred, s, WAIT_POOL_MAX, FALSE, NULL);
    s->call_pool = g_thread_pool_new(run_deferred, s, CALL_POOL_MAX, FALSE, NULL);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    s->mhd = MHD_start_daemon(
        flags, o.port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)s->threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)s->conn_timeout, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)s->max_conns,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, s, MHD_OPTION_END);
    if (!s->mhd) {
        int e = errno;
        /* libmicrohttpd does not always keep errno: no errno is most
         * likely a busy port too. */
        fail(error, code, e == EADDRINUSE || e == 0 ? -BMQ_EBUSY : -BMQ_ENET,
             "cannot listen on %s:%u: %s", host, (unsigned)o.port,
             e ? g_strerror(e) : "address in use or not available");
        bmq_server_stop(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (di && getsockname(di->listen_fd, (struct sockaddr *)&bound, &bl) == 0)
        s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    s->listen = strchr(host, ':') ? g_strdup_printf("[%s]:%u", host, (unsigned)s->port)
                                  : g_strdup_printf("%s:%u", host, (unsigned)s->port);
    if (o.unix_path && *o.unix_path && !unix_start(s, o.unix_path, error, code)) {
        bmq_server_stop(s);
        return NULL;
    }
    return s;
}

bmq_server *bmq_server_start(bmq_bus *bus, const bmq_server_options *opts, int *code,
                             char **error)
{
    if (error)
        *error = NULL;
    if (code)
        *code = 0;
    return server_start(bus, opts, error, code);
}

uint16_t bmq_server_port(const bmq_server *s)
{
    return s ? s->port : 0;
}

const char *bmq_server_node_id(const bmq_server *s)
{
    return s ? s->nb->node_id : NULL;
}

/* Finish every deferred request (each resumes its connection) and refuse
 * deferring from now on: MHD must not be stopped with a suspended one. */
static void stop_pools(bmq_server *s)
{
    g_mutex_lock(&s->defer_lock);
    GThreadPool *w = s->wait_pool, *c = s->call_pool;
    s->wait_pool = s->call_pool = NULL;
    g_mutex_unlock(&s->defer_lock);
    if (w)
        g_thread_pool_free(w, FALSE, TRUE);
    if (c)
        g_thread_pool_free(c, FALSE, TRUE);
}

/* The longest a stopping server waits for the answers it has begun. */
#define DRAIN_US (2 * G_USEC_PER_SEC)

/* Wait (at most DRAIN_US) until every request begun is completed: its
 * answer written out, or its connection gone. New connections are no
 * longer accepted and new requests are answered "stopping". */
static void drain(bmq_server *s)
{
    gint64 end = g_get_monotonic_time() + DRAIN_US;
    g_mutex_lock(&s->defer_lock);
    while (__atomic_load_n(&s->inflight, __ATOMIC_ACQUIRE) > 0)
        if (!g_cond_wait_until(&s->drained, &s->defer_lock, end))
            break;
    g_mutex_unlock(&s->defer_lock);
}

void bmq_server_stop(bmq_server *s)
{
    if (!s)
        return;
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
    g_mutex_lock(&s->nb->lock);
    bool primary = s->nb->server == s;
    g_mutex_unlock(&s->nb->lock);
    /* Inbound links belong to the bus's server; a second server on the same
     * bus (or one that failed to start) leaves them alone. */
    MHD_socket ufd = s->mhd_unix ? MHD_quiesce_daemon(s->mhd_unix) : MHD_INVALID_SOCKET;
    if (s->mhd) {
        MHD_socket fd = MHD_quiesce_daemon(s->mhd);
        if (primary)
            net__bus_drop_inbound(s->nb); /* wakes blocked gets */
        stop_pools(s);                    /* every suspended connection is resumed */
        drain(s);                         /* and the answers begun go out */
        if (s->mhd_unix)
            MHD_stop_daemon(s->mhd_unix);
        MHD_stop_daemon(s->mhd);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    if (ufd != MHD_INVALID_SOCKET)
        close(ufd);
    if (s->unix_path)
        unlink(s->unix_path);
    if (primary && (s->mhd || s->offline))
        net__bus_drop_inbound(s->nb);
    g_mutex_lock(&s->nb->lock);
    if (s->nb->server == s)
        s->nb->server = NULL;
    g_mutex_unlock(&s->nb->lock);
    net__bus_unref(s->nb);
    stop_pools(s);
    net__conns_free(s->conns); /* after MHD: its last connections are closed */
    g_mutex_clear(&s->defer_lock);
    g_cond_clear(&s->drained);
    if (s->allow)
        g_array_free(s->allow, TRUE);
    rpc__methods_free(s);
    g_free(s->secret);
    g_strfreev(s->server_names);
    g_strfreev(s->allow_origins);
    g_free(s->unix_path);
    g_free(s->host);
    g_free(s->listen);
    g_free(s);
}

void bmq_server_set_reply_hook(bmq_server *s, bmq_reply_check_fn check, bmq_reply_wait_fn wait,
                               void *user_data)
{
    if (!s || (check && !wait))
        return;
    s->reply_hook_data = user_data;
    s->reply_wait = wait;
    __atomic_store_n(&s->reply_check, check, __ATOMIC_RELEASE);
}

int bmq_server_set_route(bmq_server *s, bmq_http_route_fn fn, void *user_data)
{
    if (!s)
        return -BMQ_EINVAL;
    /* Set before requests arrive (or cleared after they stop): no lock on
     * the request path. */
    s->route_data = user_data;
    __atomic_store_n(&s->route_fn, fn, __ATOMIC_RELEASE);
    return 0;
}

json_object *bmq_server_status(bmq_server *s)
{
    if (!s)
        return NULL;
    net_bus *nb = s->nb;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "listen", json_object_new_string(s->listen ? s->listen : ""));
    if (s->unix_path)
        json_object_object_add(o, "unix", json_object_new_string(s->unix_path));
    json_object_object_add(o, "node_id", json_object_new_string(nb->node_id));
    json_object *links = json_object_new_array();
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&nb->lock);
    GPtrArray *snap = g_ptr_array_new();
    for (guint i = 0; i < nb->links->len; i++)
        g_ptr_array_add(snap, net__link_ref(nb->links->pdata[i]));
    g_mutex_unlock(&nb->lock);
    for (guint i = 0; i < snap->len; i++) {
        json_object_array_add(links, net__link_status(snap->pdata[i], now));
        net__link_unref(snap->pdata[i]);
    }
    g_ptr_array_free(snap, TRUE);
    json_object_object_add(o, "links", links);
    json_object *c = json_object_new_object();
#define COUNTER(name, p)                                                                           \
    json_object_object_add(c, name, json_object_new_int64((int64_t)net__atomic_get(p)))
    COUNTER("requests", &s->requests);
    COUNTER("errors", &s->errors);
    COUNTER("rejected", &s->rejected);
    COUNTER("refused_browser", &s->refused_browser);
    COUNTER("refused_user", &s->refused_user);
    COUNTER("too_large", &s->too_large);
    COUNTER("messages_in", &nb->messages_in);
    COUNTER("messages_out", &nb->messages_out);
    COUNTER("dropped", &nb->dropped);
    COUNTER("duplicates", &nb->duplicates);
#undef COUNTER
    /* requests being answered now, this hub.status among them */
    json_object_object_add(
        c, "in_flight",
        json_object_new_int64(__atomic_load_n(&s->inflight, __ATOMIC_ACQUIRE)));
    json_object_object_add(o, "counters", c);
    return o;
}
