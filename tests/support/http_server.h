/* http_server.h - a scriptable HTTP(S) server on loopback for the tests and
 * benchmarks of HTTP clients (the webhook plugin): libmicrohttpd, one
 * thread per connection, keep-alive. It records every request (method,
 * path, query, headers, body, connection, arrival time) and answers from a
 * script: per request a status, an optional Retry-After and a body, 200
 * "ok" once the script runs out. It can hold requests until released, to
 * play a server that takes its time.
 */
#ifndef BMQ_TEST_HTTP_SERVER_H
#define BMQ_TEST_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

typedef struct hs_request {
    char *method;
    char *path;         /* without the query */
    char *query;        /* "a=1&b=2" as decoded by the server, "" if none */
    GPtrArray *headers; /* char* "Name: value" as received */
    char *body;         /* NUL-terminated copy */
    size_t len;
    guint conn;   /* serial number of the connection it came on (1, 2...) */
    gint64 at_us; /* monotonic time the request was complete */
} hs_request;

typedef struct hs_answer {
    int status;
    const char *retry_after; /* nullable header value */
    const char *body;        /* nullable: "" */
} hs_answer;

typedef struct hs_server hs_server;

/* Start on 127.0.0.1:@port (0: any free port). @cert_pem/@key_pem
 * (nullable): serve HTTPS with them. NULL with a message on stderr when
 * the port cannot be bound. */
hs_server *hs_start(int port, const char *cert_pem, const char *key_pem);
/* Release held requests, stop, free every recorded request. NULL-safe. */
void hs_stop(hs_server *s);
int hs_port(hs_server *s);
/* Queue answers for the requests to come, in order (copied). */
void hs_script(hs_server *s, const hs_answer *answers, size_t n);
/* While held, requests wait (at most 120 s) before they are answered. */
void hs_hold(hs_server *s, bool hold);
/* Requests complete so far (answered or waiting in a hold). */
guint hs_count(hs_server *s);
/* Requests being held right now. */
guint hs_held(hs_server *s);
/* Connections accepted so far. */
guint hs_connections(hs_server *s);
/* Request @i (transfer none, valid until hs_stop), NULL if none yet. */
const hs_request *hs_get(hs_server *s, guint i);
/* Wait until @n requests arrived; false after @timeout_s. */
bool hs_wait_count(hs_server *s, guint n, double timeout_s);
/* The value of header @name (case-insensitive) or NULL (transfer none). */
const char *hs_header(const hs_request *r, const char *name);

#endif
