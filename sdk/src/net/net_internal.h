/* net_internal.h - shared state of the net component (server, dispatcher,
 * client, links). Never installed. */
#ifndef BMQ_NET_INTERNAL_H
#define BMQ_NET_INTERNAL_H

#include <berrymq/net.h>
#include <glib.h>

/* JSON-RPC error codes (the JSON-RPC 2.0 numbers; 1.0 leaves them open). */
#define RPC_EPARSE    BMQ_RPC_EPARSE
#define RPC_EREQUEST  BMQ_RPC_EREQUEST
#define RPC_EMETHOD   BMQ_RPC_EMETHOD
#define RPC_EPARAMS   BMQ_RPC_EPARAMS
#define RPC_EINTERNAL BMQ_RPC_EINTERNAL

#define NET_SEEN_CAP    65536  /* uids remembered for loop suppression */
#define NET_EXPIRED_CAP 4096   /* expired tokens remembered to answer "timeout" */
#define NET_OUT_CAP     100000 /* messages waiting per outgoing link */
#define NET_DEFAULT_BATCH                                                                          \
    256                       /* messages per JSON-RPC batch to our own nodes; larger              \
                               * batches fall out of the CPU caches */
#define NET_REAP_CAP    1024   /* delivered messages a link holds for its sender to release */
#define NET_MAX_BLOCK_S 300.0 /* upper bound of a blocking "get" */
#define NET_TOKEN_MAX   128
#define NET_MAX_TOKENS    10000 /* live tokens per bus: bounds what clients make us hold */
#define NET_MAX_BATCH     10000 /* requests per JSON-RPC batch */
#define NET_QUEUE_CAP     100000 /* messages a style 03 queue holds (oldest dropped first) */
#define NET_QUEUE_BYTES   (64u * 1024u * 1024u) /* ... and bytes (bmq_message_size) */
#define NET_GET_MANY_MAX  10000  /* messages one bmq.get_many answer carries */

enum { NET_STYLE_INTERCONNECT = 1, NET_STYLE_ONEWAY = 2, NET_STYLE_QUEUE = 3 };

typedef struct net_bus net_bus;
typedef struct net_seen net_seen;

/* Per-bus net state: tokens, links, loop suppression. One per bus, found
 * through a process-wide registry; freed when no server and no link uses it. */
struct net_bus {
    bmq_bus *bus;
    int refs; /* guarded by the registry lock */
    GMutex lock;
    bmq_server *server;     /* (nullable) the bus's server */
    GHashTable *tokens;     /* token -> bmq_link* (ref held) */
    GPtrArray *links;       /* every live link (ref held) */
    GPtrArray *fwd;         /* links that forward bus messages (ref held) */
    bmq_follower *follower; /* "*@*:*" forwarder, created with the first forwarding link */
    GHashTable *expired;    /* tokens dropped for idleness */
    GQueue expired_order;
    GHashTable *per_peer; /* peer_key -> inbound tokens it holds */
    unsigned n_inbound;   /* inbound tokens */
    /* loop suppression */
    GMutex seen_lock;
    net_seen *seen; /* the last NET_SEEN_CAP uids (net_seen.c) */
    /* idle expiry */
    GThread *sweeper;
    GCond sweep_cond;
    bool sweep_stop;
    char node_id[40];
    uint64_t messages_in, messages_out, dropped, duplicates; /* atomics */
};

struct bmq_link {
    int refs; /* atomic */
    net_bus *nb;
    int style;
    bool inbound;       /* created by a peer's request on our server */
    bool in_table;      /* guarded by nb->lock */
    bool dead;          /* guarded by nb->lock */
    char *token;        /* (nullable) an original server answers oneway with null */
    char *peer;         /* "host:port" or the client address */
    char *pattern;      /* style 03 */
    bmq_queue *queue;   /* style 03, server side */
    double ttl;         /* <= 0: never expires */
    gint64 last_active; /* monotonic us, atomic */
    /* client side */
    GMutex call_lock;
    bmq_rpc_client *rpc; /* (nullable) */
    bmq_rpc_client *fwd; /* forwarding connection, owned by the link thread */
    /* forwarding */
    GMutex q_lock;
    GCond q_cond;
    GQueue out; /* bmq_message* (ref held) */
    size_t in_flight;
    bool stop;
    GThread *thread;
    int ext; /* -1 unknown, 0 original node, 1 one of ours */
    unsigned batch;
    bool offline;                    /* no network at all (dispatcher without sockets) */
    /* Delivered messages, released a few per enqueue on the sending thread,
     * which allocated them: a ring guarded by q_lock. */
    bmq_message *reap[NET_REAP_CAP];
    size_t reap_head, n_reap;
    GString *spare[2]; /* request buffers kept for reuse (link thread): one per batch in flight */
    GString *expect;   /* (nullable) our server's answer to an accepted batch of expect_n */
    size_t expect_n;
    uint64_t sent, received, failed; /* atomics */
    char *peer_key; /* (nullable) inbound: the peer that made it ("uid:N", "ip:ADDR") */
    bool owner;     /* inbound: made by a local client of the server's own uid */
    uint64_t drops_told; /* style 03: queue drops already reported by bmq.get_many (atomic) */
    uint64_t byte_drops_told; /* ... of them, those the byte bound caused (atomic) */
    /* drop notification (client side), guarded by nb->lock */
    bmq_link_drop_fn drop_fn;
    void *drop_data;
    int drop_rc;     /* why the library dropped it, set before net__link_drop */
    char *peer_node; /* (nullable) the peer's node id when one of ours */
};

/* ---- net_bus.c ---- */
net_bus *net__bus_get(bmq_bus *bus); /* (transfer full), created on demand */
net_bus *net__bus_ref(net_bus *nb);
void net__bus_unref(net_bus *nb);
/* Register @link (ref taken); in the token table too when @table. -BMQ_EEXIST
 * when the token is taken, -BMQ_EFULL when NET_MAX_TOKENS (or the server's
 * max_queues) are live, -BMQ_EDENIED when its peer holds max_queues_per_peer. */
int net__bus_add_link(net_bus *nb, bmq_link *link, bool table);
/* Look a token up: the link (transfer full) or NULL; *expired tells whether
 * the token died of idleness (answer "timeout"). An idle link found here is
 * dropped and reported as expired. */
bmq_link *net__bus_lookup(net_bus *nb, const char *token, bool *expired);
/* Drop a link from every table, stop its forwarding, count what it still
 * held as failed. @expired remembers the token as timed out. */
void net__link_drop(bmq_link *link, bool expired);
/* ---- net_seen.c ---- */
net_seen *net__seen_new(void);
void net__seen_free(net_seen *t);
/* Remember @uid; true if it was already seen (a duplicate). */
bool net__seen_check_add(net_bus *nb, const char *uid);
/* Warm the cache for checking @uid (@len bytes, not terminated) as the
 * @ahead-th next check: speed only, no effect on the set. */
void net__seen_prefetch(net_bus *nb, const char *uid, size_t len, size_t ahead);
void net__bus_kick_sweeper(net_bus *nb);
/* Drop every inbound link (server stop). */
void net__bus_drop_inbound(net_bus *nb);
void net__bus_attach_forwarder(net_bus *nb);

/* ---- net_link.c ---- */
bmq_link *net__link_new(net_bus *nb, int style, bool inbound); /* refs = 1 */
bmq_link *net__link_ref(bmq_link *l);
void net__link_unref(bmq_link *l);
void net__link_touch(bmq_link *l);
bool net__link_idle(bmq_link *l, gint64 now);
/* Start the forwarding thread of a style 01/02 link. */
void net__link_start(bmq_link *l);
/* Stop and join the forwarding thread (unless called from it). */
void net__link_stop(bmq_link *l);
void net__link_enqueue(bmq_link *l, const bmq_message *m);
/* Release every delivered message held for reaping. */
void net__link_reap(bmq_link *l);
json_object *net__link_status(bmq_link *l, gint64 now);

/* ---- net_send.c ---- */
/* Ask the peer whether it speaks our extension (sets l->ext). 0, or
 * -BMQ_ENET/-BMQ_EDENIED/-BMQ_ECLOSED when the link must be dropped. */
int net__link_probe(bmq_link *l);
/* The request text for @n messages: one request, or one batch to our own
 * nodes (transfer full). */
GString *net__batch_build(bmq_link *l, bmq_message **msgs, size_t n);
/* Give a request buffer back to the link thread for reuse. */
void net__batch_recycle(bmq_link *l, GString *body);
/* Send it on the link's forwarding connection; finish waits for the answer
 * with bounded retry. 0 with *rejected = messages the peer refused one by
 * one, or a negative code when the link must be dropped. @body is consumed
 * as scratch space by finish. */
int net__batch_start(bmq_link *l, GString *body);
int net__batch_finish(bmq_link *l, GString *body, bmq_message **msgs, size_t n, size_t *rejected);
/* Split a message into fresh json-c objects owned by the caller: its id,
 * args and kwargs. Safe from any thread (reads the message's cached text). */
int net__message_parts(const bmq_message *m, json_object **id, json_object **args,
                       json_object **kwargs);

/* ---- rpc_client.c ---- */
/* POST @body and parse the reply (object or array, transfer full).
 * 0, -BMQ_ENET, -BMQ_EDENIED, -BMQ_EPROTO (HTTP error or unparsable). */
int rpc__client_post(bmq_rpc_client *c, const char *body, size_t len, json_object **reply,
                     char **errtext);
/* POST @body; on HTTP 200 *text is the raw reply (transfer none: valid until
 * the next call on @c). 0, -BMQ_ENET, -BMQ_EDENIED, -BMQ_EPROTO. */
int rpc__client_post_text(bmq_rpc_client *c, const char *body, size_t len, const char **text,
                          size_t *text_len, char **errtext);
/* A request overlapped with other work: start sends it, finish waits for
 * the answer (results as rpc__client_post_text). @body must stay valid in
 * between. A client used this way keeps its own connection. */
int rpc__client_start(bmq_rpc_client *c, const char *body, size_t len);
int rpc__client_finish(bmq_rpc_client *c, const char **text, size_t *text_len, char **errtext);
bmq_rpc_client *rpc__client_clone(bmq_rpc_client *c); /* same peer, own connection */
/* Interpret one JSON-RPC response object: 0 with *result, or -BMQ_EPROTO. */
int rpc__response_result(json_object *resp, json_object **result, char **errtext);
/* The local address of the last connection ("127.0.0.1"), "" if unknown. */
const char *rpc__client_local_ip(bmq_rpc_client *c);
void rpc__client_set_connect_timeout(bmq_rpc_client *c, double seconds);
char *rpc__url_for(const char *host, uint16_t port); /* (transfer full) */

/* ---- rpc_dispatch.c ---- */
enum { NET_DEFER_NONE = 0, NET_DEFER_WAIT = 1, NET_DEFER_CALL = 2 };
typedef struct rpc_ctx {
    const char *peer; /* (nullable) client address, for status */
    const char *peer_key; /* (nullable) "uid:N" or "ip:ADDR": whose state a request makes */
    bool owner;           /* a loopback client of the server's own uid */
    /* (nullable) Set by the event loop: requests that could hold the thread
     * (a blocking get on an empty queue, a method added with
     * bmq_server_add_method) are not run; *defer tells which kind, and the
     * server runs the body again on a thread of its own where they may
     * wait. Nothing has been done when a body is deferred. */
    int *defer;
} rpc_ctx;
/* Handle one HTTP body: a request or a batch. Returns the response text
 * (transfer full, g_free). NULL only when *ctx->defer was set. */
char *rpc__dispatch(bmq_server *s, const char *body, size_t len, const rpc_ctx *ctx);
/* The method table, one hash table of name -> struct rpc_method for the
 * built-in methods and those the program adds (bmq_server_add_method):
 * made (with the built-ins) and freed with the server. */
void rpc__methods_init(bmq_server *s);
void rpc__methods_free(bmq_server *s);
/* rpc_fast.c: answer a batch of send_message requests in our links' exact
 * layout into @out; false (and no side effect) for anything else. */
bool rpc__dispatch_fast(bmq_server *s, const char *body, size_t len, GString *out);

/* ---- net_conns.c ---- */
typedef struct net_conns net_conns;
typedef struct net_conn net_conn;
typedef struct net_conns_limits {
    unsigned per_peer; /* connections per peer other than the server's own uid */
    unsigned header_s, body_s, idle_s;
} net_conns_limits;
enum { NET_PHASE_HEADERS, NET_PHASE_BODY, NET_PHASE_WAIT, NET_PHASE_ANSWER, NET_PHASE_IDLE };
net_conns *net__conns_new(const net_conns_limits *lim);
void net__conns_free(net_conns *g);
/* A connection on @fd was accepted: its record (transfer full, freed by
 * net__conns_close). @why is set to a one-line refusal when the peer has
 * too many connections; the caller then closes it. */
net_conn *net__conns_open(net_conns *g, int fd, char *why, size_t why_len);
void net__conns_close(net_conns *g, net_conn *c); /* before the socket is closed */
/* Start the deadline of a request's next phase (NET_PHASE_WAIT: none). */
void net__conns_phase(net_conns *g, net_conn *c, int phase);
bool net__conn_owner(const net_conn *c);      /* a loopback client of our own uid */
const char *net__conn_key(const net_conn *c); /* "uid:N" or "ip:ADDR" */
long net__conn_uid(const net_conn *c);        /* -1 when unknown */
bool net__conn_local(const net_conn *c);      /* Unix socket or loopback */
bool net__conn_via_socket(const net_conn *c); /* accepted on the Unix socket */
void net__conns_stats(net_conns *g, uint64_t *refused, uint64_t *expired);

/* ---- net_server.c ---- */
typedef json_object *(*rpc_builtin_fn)(bmq_server *s, json_object *params, const rpc_ctx *ctx,
                                       json_object **error);
struct rpc_method {
    rpc_builtin_fn builtin; /* a built-in method, or NULL: */
    bmq_rpc_method_fn fn;   /* one the program added */
    void *user_data;
    unsigned flags; /* BMQ_RPC_* */
};

struct bmq_server {
    bmq_bus *bus;
    net_bus *nb;
    struct MHD_Daemon *mhd;
    char *host;
    uint16_t port;
    char *listen;
    GArray *allow; /* struct net_cidr */
    char *secret;
    size_t max_body;
    unsigned conn_timeout;
    unsigned max_conns;
    unsigned threads; /* event loop threads */
    /* tokens made by clients: in all (0 = NET_MAX_TOKENS), per peer other
     * than the server's own uid; their largest ttl (owner: any) */
    unsigned max_queues, max_queues_per_peer;
    double max_ttl;
    size_t max_queue_messages, max_queue_bytes; /* bounds of each style-03 queue */
    net_conns *conns; /* (nullable) per-peer limits and request deadlines */
    /* Requests that may wait run here, their connection suspended meanwhile:
     * blocking gets (wait_pool) and program-added methods (call_pool), so
     * that neither holds an event loop thread nor starves the other. */
    GMutex defer_lock;
    GThreadPool *wait_pool, *call_pool; /* NULL once the server stops */
    /* Requests begun and not yet completed (answer sent or connection
     * gone); stopping waits, bounded, for them to reach 0 (drained, under
     * defer_lock), so an answer already computed is not cut off. */
    int inflight; /* atomic */
    GCond drained;
    double max_block;                   /* blocking "get" cap in seconds */
    bool offline;                       /* no sockets: links created by requests never connect */
    int stopping;                       /* atomic */
    GRWLock methods_lock;
    GHashTable *methods; /* name -> struct rpc_method: built-ins and added (rpc_dispatch.c) */
    bmq_http_route_fn route_fn;                     /* (nullable) other paths */
    void *route_data;
    uint64_t requests, errors, rejected, too_large; /* atomics */
    bmq_reply_check_fn reply_check; /* atomic, nullable */
    bmq_reply_wait_fn reply_wait;
    void *reply_hook_data;
    /* browser guard (net_guard.c) */
    char **server_names;      /* (nullable) lower-case */
    char **allow_origins;     /* (nullable) normalized origins */
    bool open_to_remote;      /* listening beyond loopback */
    uint64_t refused_browser; /* atomic */
    gint64 guard_logged[4];   /* monotonic us of the last log line per reason */
    bmq_server_log_fn log;    /* (nullable) */
    void *log_data;
    /* other users (net_guard.c, peer_uid.c) */
    struct MHD_Daemon *mhd_unix; /* (nullable) the Unix socket's daemon */
    char *unix_path;             /* (nullable) */
    uint64_t refused_user;       /* atomic */
    gint64 user_logged;          /* monotonic us of the last refusal line */
    gint64 local_logged;         /* ... of the last local name refused in send_message */
    int uid_unknown_logged;      /* atomic flag */
};

/* A server without sockets around @bus, for the fuzzer and unit tests:
 * requests go straight to rpc__dispatch; links created by requests never
 * touch the network and blocking gets wait at most @max_block seconds. */
bmq_server *net__server_new_offline(bmq_bus *bus, double max_block);
/* Whether an allow-list of the single entry @cidr admits client @ip. */
bool net__cidr_admits(const char *cidr, const char *ip);
/* Copy the method @name into *out; false when there is none. */
bool rpc__method_find(bmq_server *s, const char *name, struct rpc_method *out);

/* ---- net_guard.c ---- */
enum { NET_GUARD_OK, NET_GUARD_HOST, NET_GUARD_ORIGIN, NET_GUARD_FETCH_SITE, NET_GUARD_N };
struct MHD_Connection;
struct MHD_Response;
/* The browser checks on header values (each nullable: absent): NET_GUARD_OK
 * or the reason of the refusal. *cors is the allow_origins entry to echo
 * (transfer none) or NULL. Pure: no counting, no logging. */
int net__guard_verdict(const bmq_server *s, const char *host, const char *origin,
                       const char *fetch_site, const char **cors);
/* Request handler side, before the body is read: true when the request may
 * go on (*cors as above); otherwise a refusal (or a CORS preflight answer)
 * is queued, counted, logged, and *ret is what the handler returns. */
bool net__guard_request(bmq_server *s, struct MHD_Connection *conn, const char *method,
                        const char *peer, const char **cors, int *ret);
/* Add the CORS headers for @cors (nullable: nothing) to an answer. */
void net__guard_decorate(struct MHD_Response *r, const char *cors);
/* "Scheme://Host:port[/]" -> "scheme://host:port" (transfer full); NULL
 * when @origin is not a web origin. */
char *net__origin_normalize(const char *origin);
/* {"id":null,"result":null,"error":{"code":@code,"message":...}} + "\n"
 * (transfer full). */
char *net__refusal_body(int code, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Queue @body (transfer full) as an application/json answer. */
int net__reply_refused(struct MHD_Connection *conn, unsigned status, char *body);
/* The request presents the server's secret: "Authorization: Bearer
 * SECRET", Basic auth with SECRET as the password, or ntfy's ?auth= (that
 * header value in base64). false when the server has none. */
bool net__secret_presented(const bmq_server *s, struct MHD_Connection *conn);
/* Queue the refusal of the request being handled on this thread, counted
 * and logged by the caller: the route handler answers it in its own format
 * when the request is one of its paths, else a JSON-RPC error object
 * (BMQ_EDENIED, @why). What the request handler returns (net_server.c). */
int net__refuse(bmq_server *s, struct MHD_Connection *conn, unsigned status, const char *why);
/* After the browser checks: refuse another local user (queued 403, counted
 * as refused_user, *ret to return) or fill *who and return true. */
bool net__guard_user(bmq_server *s, struct MHD_Connection *conn, const char *peer,
                     bmq_rpc_peer_info *who, int *ret);
/* The calling peer seen by bmq_rpc_peer() on this thread (nullable). */
void net__peer_set(const bmq_rpc_peer_info *who);
void net__server_log(bmq_server *s, int level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

#define net__atomic_add(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define net__atomic_get(p)    __atomic_load_n((p), __ATOMIC_RELAXED)

#endif /* BMQ_NET_INTERNAL_H */
