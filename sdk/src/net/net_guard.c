/* net_guard.c - what a web browser may not do to the server.
 *
 * Any page the user opens can make the browser send requests to loopback
 * ports: a "no-cors" fetch or a <form enctype="text/plain"> posts a body the
 * JSON-RPC dispatcher would happily parse, and DNS rebinding lets a foreign
 * name resolve to 127.0.0.1 so that scripts may even read the answers.
 * Browsers mark such requests, and non-browser clients (the original berryMQ
 * nodes, curl, our own client) never send these marks:
 *   - Host names a name of the attacker's (rebinding): only the listen
 *     address, IP literals that reach us, "localhost" and the configured
 *     server_names are ours;
 *   - Origin is sent by browsers on every cross-origin or POST request:
 *     refused unless listed in allow_origins;
 *   - Sec-Fetch-Site (Fetch Metadata) other than "none" / "same-origin"
 *     says another site made the request.
 * Checks run before anything reads the body, so no result is ever computed
 * for a refused request.
 */
#include "net_internal.h"
#include "peer_uid.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <string.h>

#include <sys/socket.h>
#include <unistd.h>

#define GUARD_LOG_INTERVAL_US (60 * G_USEC_PER_SEC)

static const char *const reason_text[NET_GUARD_N] = {
    [NET_GUARD_HOST] = "Host",
    [NET_GUARD_ORIGIN] = "Origin",
    [NET_GUARD_FETCH_SITE] = "Sec-Fetch-Site",
};

/* The host part of a Host header value: "[::1]:80" -> "::1", "a.b:80" ->
 * "a.b", lower-cased, without a trailing dot. false when malformed. */
static bool host_part(const char *value, char *out, size_t size)
{
    const char *start = value, *end;
    if (*value == '[') {
        start = value + 1;
        end = strchr(start, ']');
        if (!end || (end[1] && end[1] != ':'))
            return false;
    } else {
        end = strchr(value, ':');
        if (!end)
            end = value + strlen(value);
        else if (strchr(end + 1, ':'))
            return false; /* a bare IPv6 literal is not a valid Host */
    }
    size_t n = (size_t)(end - start);
    if (n && start[n - 1] == '.')
        n--;
    if (n == 0 || n >= size)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)start[i];
        if (c <= ' ' || c >= 0x7f || c == '/' || c == '@')
            return false;
        out[i] = (char)g_ascii_tolower((gchar)c);
    }
    out[n] = '\0';
    return true;
}

/* 1 loopback IP literal, 0 other IP literal, -1 not an IP literal. */
static int ip_literal_kind(const char *h)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, h, b) == 1)
        return b[0] == 127;
    if (inet_pton(AF_INET6, h, b) == 1) {
        static const unsigned char lo[16] = {[15] = 1};
        static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
        return !memcmp(b, lo, 16) || (!memcmp(b, mapped, 12) && b[12] == 127);
    }
    return -1;
}

static bool in_list(char *const *list, const char *name)
{
    for (size_t i = 0; list && list[i]; i++)
        if (!g_ascii_strcasecmp(list[i], name))
            return true;
    return false;
}

static bool host_ok(const bmq_server *s, const char *value)
{
    char h[256];
    if (!host_part(value, h, sizeof h))
        return false;
    int kind = ip_literal_kind(h);
    if (kind == 1 || !strcmp(h, "localhost"))
        return true;
    if (s->host && !g_ascii_strcasecmp(h, s->host))
        return true;
    if (in_list(s->server_names, h))
        return true;
    /* A hub open to other hosts is dialled by their address or its name;
     * an IP literal cannot be rebound, a name must be ours. */
    if (s->open_to_remote)
        return kind == 0 || !g_ascii_strcasecmp(h, g_get_host_name());
    return false;
}

/* "http://Example.org:8080/" -> "http://example.org:8080" (transfer full),
 * NULL when it is not a web origin. Shared with the config check. */
char *net__origin_normalize(const char *origin)
{
    if (!origin)
        return NULL;
    const char *sep = strstr(origin, "://");
    if (!sep || sep == origin)
        return NULL;
    for (const char *p = origin; p < sep; p++)
        if (!g_ascii_isalnum(*p) && *p != '+' && *p != '-' && *p != '.')
            return NULL;
    const char *auth = sep + 3;
    size_t n = strcspn(auth, "/?#");
    if (n == 0 || (auth[n] == '/' && auth[n + 1]) || (auth[n] && auth[n] != '/'))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)auth[i] <= ' ' || (unsigned char)auth[i] >= 0x7f || auth[i] == '@')
            return NULL;
    char *out = g_strndup(origin, (gsize)(auth - origin) + n);
    for (char *p = out; *p; p++)
        *p = g_ascii_tolower(*p);
    return out;
}

/* The allow_origins entry equal to @origin (transfer none), or NULL. */
static const char *origin_allowed(const bmq_server *s, const char *origin)
{
    char *norm = net__origin_normalize(origin);
    const char *hit = NULL;
    for (size_t i = 0; norm && s->allow_origins && s->allow_origins[i] && !hit; i++)
        if (!strcmp(s->allow_origins[i], norm))
            hit = s->allow_origins[i];
    g_free(norm);
    return hit;
}

int net__guard_verdict(const bmq_server *s, const char *host, const char *origin,
                       const char *fetch_site, const char **cors)
{
    *cors = NULL;
    if (host && !host_ok(s, host))
        return NET_GUARD_HOST;
    if (origin) {
        *cors = origin_allowed(s, origin);
        if (!*cors)
            return NET_GUARD_ORIGIN;
        return NET_GUARD_OK; /* a listed origin may come from another site */
    }
    if (fetch_site && g_ascii_strcasecmp(fetch_site, "none") &&
        g_ascii_strcasecmp(fetch_site, "same-origin"))
        return NET_GUARD_FETCH_SITE;
    return NET_GUARD_OK;
}

void net__guard_decorate(struct MHD_Response *r, const char *cors)
{
    if (!cors)
        return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", cors);
    MHD_add_response_header(r, "Vary", "Origin");
}

static char *printable(const char *v)
{
    char *t = g_strndup(v ? v : "", 200);
    for (char *p = t; *p; p++)
        if ((unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f)
            *p = '?';
    return t;
}

void net__server_log(bmq_server *s, int level, const char *fmt, ...)
{
    if (!s->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    s->log(level, line, s->log_data);
    g_free(line);
}

/* Log a refusal at most once a minute per reason: a page retrying in a loop
 * must not flood the log; the counters say how many there were. */
static void log_refusal(bmq_server *s, int reason, const char *peer, const char *value)
{
    gint64 now = g_get_monotonic_time();
    gint64 last = __atomic_load_n(&s->guard_logged[reason], __ATOMIC_RELAXED);
    if (last && now - last < GUARD_LOG_INTERVAL_US)
        return;
    if (!__atomic_compare_exchange_n(&s->guard_logged[reason], &last, now, false, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED))
        return;
    char *v = printable(value);
    static const char *const hint[NET_GUARD_N] = {
        [NET_GUARD_HOST] = "not a name of this hub (add it to server_names)",
        [NET_GUARD_ORIGIN] = "a web page (add the origin to allow_origins to let it in)",
        [NET_GUARD_FETCH_SITE] = "a request made by another web site",
    };
    net__server_log(s, BMQ_LOG_WARNING,
                    "refused a browser request from %s: %s '%s' is %s; counted as "
                    "refused_browser, logged at most once a minute",
                    peer && *peer ? peer : "a local client", reason_text[reason], v, hint[reason]);
    g_free(v);
}

char *net__refusal_body(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", NULL);
    json_object_object_add(o, "result", NULL);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_int(bmq_rpc_code(code)));
    json_object_object_add(e, "message", json_object_new_string(msg));
    json_object_object_add(o, "error", e);
    char *text = g_strdup_printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    g_free(msg);
    return text;
}

int net__reply_refused(struct MHD_Connection *conn, unsigned status, char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Header names a preflight may ask for: tokens and ", " only. */
static bool header_list_ok(const char *v)
{
    if (!v || !*v || strlen(v) > 1024)
        return false;
    for (const char *p = v; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("-_, ", *p))
            return false;
    return true;
}

static enum MHD_Result preflight(struct MHD_Connection *conn, const char *cors)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    net__guard_decorate(r, cors);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "POST, GET, PUT, OPTIONS");
    /* A listed origin may send the headers it asks for (ntfy's Title,
     * Priority, Tags, ... besides Authorization and Content-Type). */
    const char *asked =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Access-Control-Request-Headers");
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            header_list_ok(asked) ? asked : "Content-Type, Authorization, Accept");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ret;
}

bool net__guard_request(bmq_server *s, struct MHD_Connection *conn, const char *method,
                        const char *peer, const char **cors, int *ret)
{
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    const char *site = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
    int v = net__guard_verdict(s, host, origin, site, cors);
    if (v == NET_GUARD_OK) {
        if (*cors && !strcmp(method, MHD_HTTP_METHOD_OPTIONS)) {
            *ret = preflight(conn, *cors);
            return false;
        }
        return true;
    }
    net__atomic_add(&s->refused_browser, 1);
    log_refusal(s, v, peer, v == NET_GUARD_HOST ? host : v == NET_GUARD_ORIGIN ? origin : site);
    const char *why =
        v == NET_GUARD_HOST
            ? "Host is not a name of this hub (DNS rebinding protection); add it to "
              "server_names to allow it"
        : v == NET_GUARD_ORIGIN
            ? "requests from web pages are refused; add the origin to allow_origins to let it in"
            : "requests made by other web sites are refused";
    *ret = net__refuse(s, conn, v == NET_GUARD_HOST ? 421 : MHD_HTTP_FORBIDDEN, why);
    return false;
}

/* ---- other local users ------------------------------------------------ */

static bool same_secret(const char *given, size_t a, const char *secret)
{
    size_t b = strlen(secret);
    unsigned char diff = (unsigned char)(a != b);
    for (size_t i = 0; i < a; i++) /* constant time in the secret's content */
        diff |= (unsigned char)(given[i] ^ secret[i % (b ? b : 1)]);
    return diff == 0;
}

/* "Bearer SECRET", or "Basic base64(USER:SECRET)" with any user. */
static bool header_has_secret(const char *h, const char *secret)
{
    if (!h)
        return false;
    if (!g_ascii_strncasecmp(h, "Bearer ", 7))
        return same_secret(h + 7, strlen(h + 7), secret);
    if (g_ascii_strncasecmp(h, "Basic ", 6))
        return false;
    gsize n = 0;
    guchar *raw = g_base64_decode(h + 6, &n);
    const char *colon = raw ? memchr(raw, ':', n) : NULL;
    bool ok = colon && same_secret(colon + 1, n - (gsize)(colon + 1 - (const char *)raw), secret);
    g_free(raw);
    return ok;
}

bool net__secret_presented(const bmq_server *s, struct MHD_Connection *conn)
{
    if (!s->secret)
        return false;
    if (header_has_secret(
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
            s->secret))
        return true;
    /* ntfy's ?auth=: the Authorization value, base64 (URL-safe, often
     * unpadded), for clients that cannot set headers (EventSource). Plain
     * base64 is taken too: its '+' arrives as a space when sent unescaped
     * (base64 has no spaces). */
    const char *q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "auth");
    if (!q || !*q || strlen(q) > 4096)
        return false;
    GString *b64 = g_string_new(q);
    for (gsize i = 0; i < b64->len; i++) {
        if (b64->str[i] == '-' || b64->str[i] == ' ')
            b64->str[i] = '+';
        else if (b64->str[i] == '_')
            b64->str[i] = '/';
    }
    while (b64->len % 4)
        g_string_append_c(b64, '=');
    gsize n = 0;
    guchar *raw = g_base64_decode(b64->str, &n);
    g_string_free(b64, TRUE);
    char *h = raw ? g_strndup((const char *)raw, n) : NULL;
    bool ok = h && strlen(h) == n && header_has_secret(h, s->secret);
    g_free(h);
    g_free(raw);
    return ok;
}

bool net__guard_user(bmq_server *s, struct MHD_Connection *conn, const char *peer,
                     bmq_rpc_peer_info *who, int *ret)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const net_conn *c = ci ? ci->socket_context : NULL;
    memset(who, 0, sizeof *who);
    if (c) {
        long uid = net__conn_uid(c);
        who->local = net__conn_local(c);
        who->via_socket = net__conn_via_socket(c);
        who->uid_known = uid >= 0;
        who->uid = uid >= 0 ? (unsigned)uid : 0;
        who->same_user = uid >= 0 && (uid_t)uid == geteuid();
        if (who->local && !who->uid_known && !who->via_socket &&
            !__atomic_exchange_n(&s->uid_unknown_logged, 1, __ATOMIC_RELAXED))
            net__server_log(s, BMQ_LOG_WARNING,
                            "cannot tell which user a loopback client runs as (no inet_diag "
                            "in this kernel?): other local users are not refused on TCP; use "
                            "the Unix socket or a secret");
    }
    who->secret = net__secret_presented(s, conn);
    bool other = who->uid_known && !who->same_user;
    if (!other || (!who->via_socket && who->secret))
        return true;
    net__atomic_add(&s->refused_user, 1);
    gint64 now = g_get_monotonic_time();
    gint64 last = __atomic_load_n(&s->user_logged, __ATOMIC_RELAXED);
    if ((!last || now - last >= GUARD_LOG_INTERVAL_US) &&
        __atomic_compare_exchange_n(&s->user_logged, &last, now, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
        net__server_log(s, BMQ_LOG_WARNING,
                        "refused a request of uid %u (%s): this hub serves uid %u only%s; "
                        "counted as refused_user, logged at most once a minute",
                        (unsigned)who->uid,
                        who->via_socket ? "Unix socket" : (peer && *peer ? peer : "loopback"),
                        (unsigned)geteuid(), who->via_socket ? "" : " unless given the secret");
    char *why = g_strdup_printf("this hub belongs to uid %u and serves no other user%s",
                                (unsigned)geteuid(),
                                who->via_socket ? "" : " (unless given its secret)");
    *ret = net__refuse(s, conn, MHD_HTTP_FORBIDDEN, why);
    g_free(why);
    return false;
}

static __thread const bmq_rpc_peer_info *current_peer;

void net__peer_set(const bmq_rpc_peer_info *who)
{
    current_peer = who;
}

const bmq_rpc_peer_info *bmq_rpc_peer(void)
{
    return current_peer;
}

int bmq_peer_uid(int fd, unsigned *uid)
{
    if (!uid)
        return -BMQ_EINVAL;
    uid_t u;
    if (fd < 0 || peer_uid_of_fd(fd, &u) != 0)
        return -BMQ_ENOENT;
    *uid = (unsigned)u;
    return 0;
}
