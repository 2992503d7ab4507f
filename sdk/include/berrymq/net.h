/* net.h - berryMQ links between processes: JSON-RPC 1.0 over HTTP,
 * wire-compatible with the original berryMQ nodes.
 *
 * Server: libmicrohttpd. Client: libcurl (one reused handle per peer).
 * Three connection styles:
 *   01 interconnect      both sides forward every non-local message
 *   02 connect_oneway    this side sends, the server does not call back
 *   03 connect_via_queue the server keeps a filtered queue for this client
 */
#ifndef BERRYMQ_NET_H
#define BERRYMQ_NET_H

#include <berrymq/berrymq.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BMQ_DEFAULT_PORT 29887
#define BMQ_DEFAULT_MAX_BODY (1024u * 1024u)

/* ---- Server ------------------------------------------------------------ */

typedef struct bmq_server bmq_server;

/* Log sink of a server: @level is a BMQ_LOG_* level of berrymq/berrymq.h
 * (syslog numbering), @line one line without newline. Any thread. */
typedef void (*bmq_server_log_fn)(int level, const char *line, void *user_data);

typedef struct bmq_server_options {
    size_t size;                /* sizeof(bmq_server_options); set by _init */
    const char *host;           /* listen address; default "127.0.0.1" */
    uint16_t port;              /* 0 = pick a free port (see bmq_server_port) */
    const char *const *allow;   /* (nullable) NULL-terminated CIDR list, e.g. "10.0.0.0/8" */
    const char *secret;         /* (nullable) required "Authorization: Bearer SECRET" */
    size_t max_body;            /* request body limit in bytes; 0 = BMQ_DEFAULT_MAX_BODY */
    unsigned conn_timeout_s;    /* idle HTTP connection timeout; 0 = 30 */
    unsigned threads;           /* event loop threads (epoll); 0 = 2, at most 64 */
    const char *node_id;        /* (nullable) stable id of this node; generated if NULL */
    void *reserved[8];
    /* Fields below were added later; callers that set size from an older
     * header get their defaults. */
    unsigned max_conns;          /* open connections at once; 0 = 1024 */
    unsigned max_conns_per_peer; /* per remote address or other local uid; 0 = 64 */
    unsigned header_timeout_s;   /* a request's headers must arrive within; 0 = 10 */
    unsigned body_timeout_s;     /* and its body within this after them; 0 = 30 */
    unsigned max_queues;          /* tokens (queues, links) clients hold in all; 0 = 1024 */
    unsigned max_queues_per_peer; /* ... per peer other than our own uid; 0 = 64 */
    unsigned max_ttl_s;           /* largest ttl of such a peer's token (no ttl 0); 0 = 3600 */
    /* Browser guard (see bmq_server_start): extra names a Host header may
     * carry, and web origins ("http://host:port") let in with CORS. */
    const char *const *server_names;  /* (nullable) NULL-terminated */
    const char *const *allow_origins; /* (nullable) NULL-terminated */
    bmq_server_log_fn log;            /* (nullable) refusals and problems */
    void *log_data;
    /* (nullable) also serve on this Unix socket (created mode 0600, a stale
     * one replaced; its directory should be 0700); peers of another uid
     * are refused (SO_PEERCRED) and same-uid peers need no secret. */
    const char *unix_path;
    /* Bounds of each style-03 queue (connect_via_queue): when one is
     * reached the oldest messages are dropped and counted, and bmq.get_many
     * names the bound that dropped them. */
    size_t max_queue_messages; /* 0 = 100000 */
    size_t max_queue_bytes;    /* sum of bmq_message_size; 0 = 64 MiB */
} bmq_server_options;

BMQ_API void bmq_server_options_init(bmq_server_options *opts);

/* Start serving @bus.
 * Returns: (transfer full, bmq_server_stop) the server; NULL, with *code
 * (nullable) and *error (nullable, one line, transfer full, g_free) set,
 * on:
 *   - a non-loopback host without allow-list or secret (-BMQ_EDENIED),
 *   - an unparsable host, CIDR, origin or socket path (-BMQ_EINVAL),
 *   - a port or address in use (-BMQ_EBUSY),
 *   - any other failure to listen (-BMQ_ENET).
 * Browser guard, before anything reads a request: a Host header that names
 * neither the listen address, a loopback IP literal, "localhost" nor one of
 * server_names gets HTTP 421 (DNS rebinding); an Origin header not in
 * allow_origins, or Sec-Fetch-Site other than "none"/"same-origin", gets
 * HTTP 403. Both answers carry a JSON-RPC error body and count as
 * "refused_browser". A listed origin gets CORS headers (and preflights).
 * Other local users: a loopback TCP client whose uid (inet_diag) is not
 * the server's gets HTTP 403 unless it presents the secret; a Unix socket
 * client of another uid always does ("refused_user").
 * With an allow-list, loopback clients are always admitted; others need an
 * address in one of the CIDRs (else HTTP 403). With a secret every request
 * needs "Authorization: Bearer SECRET" (else HTTP 401). The first server
 * started on a bus becomes the bus's server (bmq_bus_server). Stop it (and
 * close links) before bmq_bus_free. */
BMQ_API bmq_server *bmq_server_start(bmq_bus *bus, const bmq_server_options *opts, int *code,
                                     char **error);
/* Returns: the bound port; 0 for NULL. */
BMQ_API uint16_t bmq_server_port(const bmq_server *s);
/* Returns: (transfer none) this node's id (sent to peers to avoid loops),
 * owned by the server, valid until bmq_server_stop; never NULL for a
 * running server. */
BMQ_API const char *bmq_server_node_id(const bmq_server *s);
/* Stop listening, drop all links and tokens, free. NULL-safe. */
BMQ_API void bmq_server_stop(bmq_server *s);

/* JSON-RPC error codes: JSON-RPC 2.0's own, and the server range, where a
 * BMQ_E* code N (either sign) travels as -32000 - N (BMQ_EDENIED: -32011). */
#define BMQ_RPC_EPARSE (-32700)    /* the body is not JSON */
#define BMQ_RPC_EREQUEST (-32600)  /* not a request object */
#define BMQ_RPC_EMETHOD (-32601)   /* no such method */
#define BMQ_RPC_EPARAMS (-32602)   /* wrong parameters */
#define BMQ_RPC_EINTERNAL (-32603) /* the handler failed without a code */
#define BMQ_RPC_ESERVER (-32000)   /* BMQ_E* codes count down from here */
/* Returns: the JSON-RPC code of @code: a BMQ_E* code of either sign becomes
 * -32000 - |code|; a code already in JSON-RPC's reserved range
 * (-32768..-32000) stays as it is; anything else is BMQ_RPC_EINTERNAL. */
BMQ_API int bmq_rpc_code(int code);
/* Returns: the negative BMQ_E* code a JSON-RPC error object (or its code)
 * carries: the inverse of bmq_rpc_code for the server range; -BMQ_EPROTO
 * for any other code, a missing one or a non-object. */
BMQ_API int bmq_rpc_error_code(json_object *error);
/* A JSON-RPC error object {"code": bmq_rpc_code(@code), "message": text}.
 * Returns: (transfer full) never NULL. */
BMQ_API json_object *bmq_rpc_error(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Extra methods (e.g. the hub's "hub.*"). The handler runs on a server
 * thread. It returns the result (transfer full; NULL means JSON null) or
 * sets *error (transfer full) to an error object (bmq_rpc_error) or a
 * string (sent with BMQ_RPC_EINTERNAL). @params is (transfer none), but a
 * handler may take parts over (json_object_get, then
 * json_object_array_put_idx(params, i, NULL)): nothing reads them after
 * it. */
typedef json_object *(*bmq_rpc_method_fn)(json_object *params, void *user_data,
                                          json_object **error);

/* Who is calling: valid inside a method handler (bmq_rpc_peer), about the
 * client of the request being handled. */
typedef struct bmq_rpc_peer_info {
    bool local;      /* Unix socket or a loopback address */
    bool via_socket; /* came through the Unix socket */
    bool uid_known;  /* uid below is the client's (SO_PEERCRED / inet_diag) */
    unsigned uid;
    bool same_user; /* uid_known and uid == the server's effective uid */
    bool secret;    /* presented the server's bearer secret */
} bmq_rpc_peer_info;
/* Returns: (transfer none, nullable) the calling peer, owned by the
 * server, valid until the handler returns; NULL outside a handler. */
BMQ_API const bmq_rpc_peer_info *bmq_rpc_peer(void);
/* Which local user is at the other end of the connected socket @fd: a
 * Unix socket's peer (SO_PEERCRED) or a loopback TCP peer (the kernel's
 * socket table), for a plugin's own listener that serves only its user.
 * Returns: 0 with *@uid set; -BMQ_ENOENT when it cannot be told (a peer on
 * another host, a socket that is not connected); -BMQ_EINVAL for a NULL
 * @uid. */
BMQ_API int bmq_peer_uid(int fd, unsigned *uid);

enum {
    /* Only for the server's own user (same uid over the socket or a
     * loopback TCP connection) or a client presenting the secret; others
     * get an error (BMQ_EDENIED, bmq_rpc_code) and the handler is not
     * called. */
    BMQ_RPC_ADMIN = 1u << 0,
};
/* Add method @name; bmq_server_add_method_full with BMQ_RPC_* @flags.
 * Returns: 0; -BMQ_EEXIST when the name is taken (a built-in's, the
 * "bmq." extension's, or one added before); -BMQ_EINVAL for a NULL
 * server, name or fn. */
BMQ_API int bmq_server_add_method_full(bmq_server *s, const char *name, bmq_rpc_method_fn fn,
                                       void *user_data, unsigned flags);
BMQ_API int bmq_server_add_method(bmq_server *s, const char *name, bmq_rpc_method_fn fn,
                                  void *user_data);

/* Reply hook: lets a program hold an answer back until the messages its
 * request sent are stored durably (messages are sent in the thread that
 * handles the request; see bmq_bus_set_tap). Once a request body (one call
 * or a batch) has been handled, @check runs in that same thread and must
 * not block: it returns 0 when the answer may go out now, or a nonzero
 * ticket; the connection is then suspended and @wait(ticket) runs on a
 * pool thread, where it may block; the answer goes out when it returns.
 * Messages sent while a request is handled carry the sender label
 * "rpc ADDRESS" (bmq_sender_label). Set it before clients connect; @check
 * NULL removes it. */
typedef uint64_t (*bmq_reply_check_fn)(void *user_data);
typedef void (*bmq_reply_wait_fn)(void *user_data, uint64_t ticket);
BMQ_API void bmq_server_set_reply_hook(bmq_server *s, bmq_reply_check_fn check,
                                       bmq_reply_wait_fn wait, void *user_data);

/* Other HTTP routes on the server's listener (e.g. the hub's ntfy API).
 * Every request that passed the server's checks (allow-list, secret, ...)
 * and is not JSON-RPC (POST to "/" or "/JSON") is handed to the route
 * handler once its body has arrived; so is a POST to "/" whose body the
 * handler recognises, before it is read as JSON-RPC. */
typedef struct bmq_http_request {
    size_t size;        /* sizeof(bmq_http_request) */
    const char *method; /* "GET", "POST", ... (transfer none) */
    const char *url;    /* path, without the query string (transfer none) */
    const char *body;   /* the request body, NUL-terminated (transfer none) */
    size_t body_len;
    bool too_large;   /* the body was over max_body and was not kept */
    const char *peer; /* "ip:port" or "" (transfer none) */
    void *connection; /* the libmicrohttpd struct MHD_Connection (transfer none) */
    const char *cors; /* (nullable) a web origin let in: echo as Access-Control-Allow-Origin */
    /* Nonzero: the server refuses the request with this HTTP status (401
     * no or wrong secret, 403 address, user or web origin refused, 421
     * foreign Host) for the reason @refusal (one line, transfer none). The
     * handler may queue the refusal in its own format (and must not serve
     * the request), or decline and the server answers. */
    unsigned refused;
    const char *refusal;
    void *reserved[2];
} bmq_http_request;
#define BMQ_HTTP_DECLINED (-1)
/* Runs on a server thread. Queue a response on req->connection with
 * libmicrohttpd and return 1 (MHD_YES) or 0 (MHD_NO to close the
 * connection), or return BMQ_HTTP_DECLINED: a POST to "/" goes on as
 * JSON-RPC, anything else gets the server's 404/405. The server is started
 * with MHD_ALLOW_SUSPEND_RESUME so that a handler can stream answers
 * without holding a thread; it must resume every connection it suspended
 * before bmq_server_stop. */
typedef int (*bmq_http_route_fn)(const bmq_http_request *req, void *user_data);
/* Set (or clear with NULL) the route handler; at most one.
 * Returns: 0; -BMQ_EINVAL for a NULL server. */
BMQ_API int bmq_server_set_route(bmq_server *s, bmq_http_route_fn fn, void *user_data);

/* Status for "berrymq status": {"listen": "host:port", "node_id": ...,
 * "links": [{"token","style","peer","pattern","idle_s","sent","received",
 * "failed","queued"}...], "counters": {"requests","errors","rejected",
 * "refused_browser","refused_user","too_large","messages_in","messages_out",
 * "dropped"}}; "unix": the socket path when there is one.
 * Returns: (transfer full, json_object_put) the status; NULL for NULL.
 * Link fields: "style" is "01", "02" or "03"; also "direction" ("out": made
 * by this node, "in": made by the peer), "ttl" (0 = never expires) and
 * "extension" (the peer is a node of this project: batches, loop-free
 * forwarding). Counters also hold "duplicates" (copies of a message that
 * arrived again over another path and were not delivered twice). */
BMQ_API json_object *bmq_server_status(bmq_server *s);

/* ---- Generic JSON-RPC client ------------------------------------------- */

typedef struct bmq_rpc_client bmq_rpc_client;

/* @url: "host:port", "http://host:port" or "http://host:port/path"
 * (default path "/JSON"). @secret (nullable): sent as Bearer token.
 * Not thread-safe: one client per thread.
 * Returns: (transfer full, bmq_rpc_client_free) the client; NULL on a
 * malformed url. */
BMQ_API bmq_rpc_client *bmq_rpc_client_new(const char *url, const char *secret);
BMQ_API void bmq_rpc_client_free(bmq_rpc_client *c);
BMQ_API void bmq_rpc_client_set_timeout(bmq_rpc_client *c, double seconds); /* default 10 s */
/* Call @method with @params (transfer full, nullable = []).
 * *errtext (transfer full, nullable, g_free) is one line when the call
 * fails.
 * Returns: 0 and *result (transfer full, nullable JSON null) holds the
 * result; -BMQ_ENET: peer unreachable / HTTP failure; -BMQ_EDENIED: HTTP
 * 401/403; -BMQ_EPROTO: malformed reply or an RPC error (its text in
 * *errtext); -BMQ_EINVAL for a NULL client or method; -BMQ_ENOMEM. */
BMQ_API int bmq_rpc_client_call(bmq_rpc_client *c, const char *method, json_object *params,
                                json_object **result, char **errtext);

/* ---- The original berryMQ API on a bus ----------------------------------
 * A bus has at most one server (bmq_init_connection) and any number of
 * links. Links forward messages twittered on the bus in a background thread
 * per peer, so a slow or dead peer never blocks local delivery; a peer that
 * fails after a bounded retry is dropped and its undelivered messages are
 * counted. */

typedef struct bmq_link bmq_link;

/* Start the bus's server on host:port (port 0 = free port; the bound port is
 * returned through *bound_port, nullable). The reason of a failure is
 * logged. Stop with bmq_server_stop(bmq_bus_server(bus)).
 * Returns: 0; -BMQ_EEXIST (the bus has a server); -BMQ_EDENIED
 * (non-loopback host; use bmq_server_start with an allow-list or a
 * secret); -BMQ_EBUSY (the port is in use); -BMQ_EINVAL (a host that is no
 * address); -BMQ_ENET (cannot bind otherwise).
 * ttl everywhere below: seconds of allowed idleness, <= 0 = never expires. */
BMQ_API int bmq_init_connection(bmq_bus *bus, const char *host, uint16_t port,
                                uint16_t *bound_port);
/* Returns: (transfer none, nullable) the server started by
 * bmq_init_connection, valid until it is stopped; NULL when there is none. */
BMQ_API bmq_server *bmq_bus_server(bmq_bus *bus);

/* Style 01. Requires bmq_init_connection on this bus first (the peer calls
 * back to it).
 * Returns: (transfer full, bmq_close_connection) link, or NULL with *code
 * and *error (both nullable; *error transfer full, g_free) set: -BMQ_EINVAL (bad arguments or peer address, no server on
 * the bus), -BMQ_EID (bad pattern), -BMQ_ENET (peer unreachable),
 * -BMQ_EDENIED (HTTP 401/403), -BMQ_EEXIST (token collision),
 * -BMQ_EPROTO (the peer refused or answered nonsense). */
BMQ_API bmq_link *bmq_interconnect(bmq_bus *bus, const char *host, uint16_t port, double ttl,
                                   int *code, char **error);
/* Style 02: every non-local message twittered on @bus is sent to the peer.
 * Returns: (transfer full, bmq_close_connection) link, or NULL with *code
 * and *error, as bmq_interconnect. */
BMQ_API bmq_link *bmq_connect_oneway(bmq_bus *bus, const char *host, uint16_t port, double ttl,
                                     int *code, char **error);
/* Style 03: the peer queues messages matching @pattern for us; pull them
 * with bmq_get. Nothing is forwarded from @bus.
 * Returns: (transfer full, bmq_close_connection) link, or NULL with *code
 * and *error, as bmq_interconnect. */
BMQ_API bmq_link *bmq_connect_via_queue(bmq_bus *bus, const char *host, uint16_t port,
                                        const char *pattern, double ttl, int *code, char **error);
/* Send one message over a link now (synchronous). args/kwargs (transfer
 * full), also on error.
 * Returns: 0; -BMQ_ETOKEN ("invalid token"); -BMQ_ETIMEDOUT ("timeout");
 * -BMQ_ENET; -BMQ_EDENIED; -BMQ_EPROTO; -BMQ_EID for an invalid id,
 * -BMQ_ETYPE for args not an array or kwargs not an object, -BMQ_EINVAL
 * for a NULL link (nothing sent). */
BMQ_API int bmq_send_message(bmq_link *link, const char *id, json_object *args,
                             json_object *kwargs);
/* Style 03 pull.
 * Returns: (transfer full, bmq_message_unref) the message, or NULL with
 * *err (nullable) telling why: -BMQ_EEMPTY (none / timed out),
 * -BMQ_ETOKEN, -BMQ_ENET, -BMQ_EPROTO, -BMQ_EINVAL (not a style 03
 * link). */
BMQ_API bmq_message *bmq_get(bmq_link *link, bool block, double timeout_s, int *err);
BMQ_API bmq_message *bmq_get_nowait(bmq_link *link, int *err);
/* Send close_connection, stop forwarding, free the link (also when the
 * peer's answer is an error). NULL-safe.
 * Returns: 0 (also for NULL); else what the peer answered, as
 * bmq_send_message: -BMQ_ETOKEN, -BMQ_ETIMEDOUT, -BMQ_ENET, -BMQ_EDENIED,
 * -BMQ_EPROTO. */
BMQ_API int bmq_close_connection(bmq_link *link);
/* Returns: (transfer none, nullable) the link's token, valid until
 * bmq_close_connection; NULL when an original server answered with none. */
BMQ_API const char *bmq_link_token(const bmq_link *link);
/* Largest JSON-RPC batch the link sends to a peer of this project (original
 * nodes always get one request per message). Default 256; 1..10000.
 * Returns: 0; -BMQ_EINVAL for a NULL link or @max out of range. */
BMQ_API int bmq_link_set_batch(bmq_link *link, unsigned max);
/* Wait until every message queued on a style 01/02 link has been answered
 * by the peer (timeout_s < 0: no limit).
 * Returns: 0; -BMQ_ETIMEDOUT; -BMQ_ECLOSED when the link was dropped (peer
 * gone, token expired); -BMQ_EINVAL for a NULL link. */
BMQ_API int bmq_link_flush(bmq_link *link, double timeout_s);
/* Returns: false once the link was dropped (peer vanished, ttl expiry,
 * close) or for NULL; true otherwise. */
BMQ_API bool bmq_link_alive(const bmq_link *link);

/* Called once when the library drops @link by itself: @reason is
 * -BMQ_ENET (the peer did not answer after the bounded retry), -BMQ_ETOKEN
 * (the peer forgot the link: it restarted), -BMQ_ETIMEDOUT (idle past its
 * ttl). Not called for bmq_close_connection. Runs on a library thread:
 * keep it short and do not close the link from inside it. */
typedef void (*bmq_link_drop_fn)(bmq_link *link, int reason, void *user_data);
/* Set (or clear, @fn NULL) the drop callback of a link made by this
 * process. @user_data (transfer none) must outlive the link. */
BMQ_API void bmq_link_set_drop_fn(bmq_link *link, bmq_link_drop_fn fn, void *user_data);
/* Ask the peer whether the link still stands (one small request). On
 * failure the link is dropped (the drop callback runs) and *error
 * (nullable, transfer full, g_free) says why. Blocks up to the link's
 * timeouts; any thread.
 * Returns: 0; -BMQ_ENET (no answer); -BMQ_ETOKEN (a peer of this project
 * that restarted since the link was made: it no longer knows it);
 * -BMQ_ECLOSED (already dropped); -BMQ_EINVAL for a NULL link. */
BMQ_API int bmq_link_check(bmq_link *link, char **error);

#ifdef __cplusplus
}
#endif

#endif /* BERRYMQ_NET_H */
