/* rpc_post.h - a bare HTTP/1.1 keep-alive client for posting JSON-RPC
 * bodies (batches included) to a hub and reading each answer whole; for
 * tests and benchmarks that must see exactly which calls were answered. */
#ifndef BMQ_TEST_RPC_POST_H
#define BMQ_TEST_RPC_POST_H

#include <stddef.h>

typedef struct rp_conn rp_conn;

/* "HOST:PORT" (IPv4). NULL when the connection fails. */
rp_conn *rp_connect(const char *hostport);
/* POST @body to /JSON; the answer's body (malloc'd, NUL-terminated) or
 * NULL when the connection broke before a complete answer. */
char *rp_post(rp_conn *c, const char *body, size_t len);
void rp_close(rp_conn *c); /* NULL-safe */

#endif
