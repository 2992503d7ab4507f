/* rpc.c - a small blocking JSON-RPC 1.0 over HTTP/1.1 client for the CLI.
 *
 * One request per TCP connection ("Connection: close"), sent in a single
 * write; the answer is read until its Content-Length (or the end of a
 * chunked body, or EOF) so no round trip is spent on the close. Every wait
 * is a poll() bounded by the call's deadline and interruptible through
 * ctx->interrupt, which is what lets `listen` stop on SIGINT mid-request.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <berrymq/json.h>

#include "peer_uid.h"

#define CONNECT_TIMEOUT_S 5.0
#define MAX_REPLY         (64u * 1024u * 1024u)

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strdupf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static bool buf_reserve(buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        return false;
    b->data = d;
    b->cap = cap;
    return true;
}

/* Wait for @events on @fd until @deadline. 1 ready, 0 timed out, -1 error,
 * -2 interrupted. */
static int wait_fd(cli_ctx *ctx, int fd, short events, double deadline)
{
    for (;;) {
        if (ctx->interrupt && *ctx->interrupt)
            return -2;
        double left = deadline - now_s();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)(left * 1000.0) + 1);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static char *other_user(const char *what, uid_t uid)
{
    struct passwd *pw = getpwuid(uid);
    return strdupf("%s belongs to another user (%s, uid %u), not to you; start your own hub "
                   "(berrymq-hub) or pass --hub and --secret",
                   what, pw ? pw->pw_name : "?", (unsigned)uid);
}

/* Connect to ctx's socket. Returns the socket or -1 with *st set. The
 * socket is always one we found, never one we were told: its server must
 * be our user's (SO_PEERCRED), whatever the directory it is in. */
static int connect_unix(cli_ctx *ctx, cli_rpc_status *st, char **errtext)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", ctx->unix_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        uid_t uid = (uid_t)-1;
        if (peer_uid_of_fd(fd, &uid) != 0 || uid != getuid()) {
            close(fd);
            *st = CLI_RPC_OTHER_USER;
            *errtext = strdupf("the hub at %s", ctx->unix_path);
            char *msg = other_user(*errtext, uid);
            free(*errtext);
            *errtext = msg;
            return -1;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        *st = CLI_RPC_OK;
        return fd;
    }
    int err = errno;
    if (fd >= 0)
        close(fd);
    *st = CLI_RPC_UNREACHABLE;
    *errtext = strdupf("connect to %s: %s", ctx->unix_path, strerror(err));
    return -1;
}

/* A hub we found (not one we were told) must be our user's: another user's
 * hub on the default port would take our messages and refuse the rest. */
static int check_owner(cli_ctx *ctx, int fd, cli_rpc_status *st, char **errtext)
{
    uid_t uid;
    if (!ctx->check_uid || ctx->secret || peer_uid_of_fd(fd, &uid) != 0 || uid == getuid())
        return fd;
    close(fd);
    *st = CLI_RPC_OTHER_USER;
    char *what = strdupf("the hub at %s", ctx->hostport);
    *errtext = other_user(what, uid);
    free(what);
    return -1;
}

static int connect_hub(cli_ctx *ctx, double deadline, cli_rpc_status *st, char **errtext)
{
    if (ctx->foreign_dir[0]) {
        *st = CLI_RPC_OTHER_USER;
        *errtext = other_user(ctx->foreign_dir, (uid_t)ctx->foreign_owner);
        return -1;
    }
    if (ctx->unix_path[0])
        return connect_unix(ctx, st, errtext);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(ctx->host, ctx->port, &hints, &res);
    if (rc != 0) {
        *st = CLI_RPC_UNREACHABLE;
        *errtext = strdupf("cannot resolve %s: %s", ctx->host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = ECONNREFUSED;
    *st = CLI_RPC_UNREACHABLE;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            int w = wait_fd(ctx, fd, POLLOUT, deadline);
            socklen_t len = sizeof err;
            if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                break;
            if (w == -2) {
                *st = CLI_RPC_INTERRUPTED;
                close(fd);
                fd = -1;
                break;
            }
            if (w == 0)
                err = ETIMEDOUT;
        } else {
            err = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        if (*st != CLI_RPC_INTERRUPTED)
            *errtext = strdupf("connect to %s: %s", ctx->hostport, strerror(err));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *st = CLI_RPC_OK;
    return check_owner(ctx, fd, st, errtext);
}

static bool send_all(cli_ctx *ctx, int fd, const char *p, size_t n, double deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(ctx, fd, POLLOUT, deadline) != 1)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

/* Decode a chunked body in place. Returns 1 complete (*len updated), 0 need
 * more, -1 malformed. */
static int dechunk(char *body, size_t avail, size_t *out_len)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *eol = memmem(body + in, avail - in, "\r\n", 2);
        if (!eol)
            return 0;
        char *end;
        unsigned long n = strtoul(body + in, &end, 16);
        if (end == body + in)
            return -1;
        size_t data = (size_t)(eol - body) + 2;
        if (n == 0) {
            *out_len = out;
            return 1;
        }
        if (data + n + 2 > avail)
            return 0;
        memmove(body + out, body + data, n);
        out += n;
        in = data + n + 2;
    }
}

/* Read one HTTP response. Returns the status code (>0) with *body and *blen
 * pointing into @b, or 0 on no/incomplete answer, -2 interrupted, -1
 * malformed. */
static int read_response(cli_ctx *ctx, int fd, buf *b, double deadline, char **body, size_t *blen)
{
    size_t hdr_end = 0;
    long status = -1;
    long long clen = -1;
    bool chunked = false;
    for (;;) {
        if (hdr_end) {
            size_t have = b->len - hdr_end;
            if (clen >= 0 && have >= (size_t)clen) {
                *body = b->data + hdr_end;
                *blen = (size_t)clen;
                return (int)status;
            }
            if (chunked) {
                /* Work on a copy so a partial chunk stays intact. */
                char *tmp = malloc(have + 1);
                if (!tmp)
                    return -1;
                memcpy(tmp, b->data + hdr_end, have);
                size_t out = 0;
                int r = dechunk(tmp, have, &out);
                if (r == 1) {
                    memcpy(b->data + hdr_end, tmp, out);
                    *body = b->data + hdr_end;
                    *blen = out;
                }
                free(tmp);
                if (r != 0)
                    return r == 1 ? (int)status : -1;
            }
        }
        if (!buf_reserve(b, 16384) || b->len > MAX_REPLY)
            return -1;
        ssize_t r = recv(fd, b->data + b->len, b->cap - b->len - 1, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            int w = wait_fd(ctx, fd, POLLIN, deadline);
            if (w != 1)
                return w == -2 ? -2 : 0;
            continue;
        }
        if (r <= 0) {
            if (hdr_end && clen < 0 && !chunked) {
                *body = b->data + hdr_end;
                *blen = b->len - hdr_end;
                return (int)status;
            }
            return 0;
        }
        b->len += (size_t)r;
        b->data[b->len] = '\0';
        if (hdr_end)
            continue;
        char *e = strstr(b->data, "\r\n\r\n");
        if (!e)
            continue;
        hdr_end = (size_t)(e - b->data) + 4;
        if (strncmp(b->data, "HTTP/1.", 7) != 0 || b->len < 12)
            return -1;
        status = strtol(b->data + 9, NULL, 10);
        if (status < 100 || status > 999)
            return -1;
        for (char *line = strstr(b->data, "\r\n") + 2; line < e;) {
            char *next = strstr(line, "\r\n");
            if (strncasecmp(line, "Content-Length:", 15) == 0)
                clen = strtoll(line + 15, NULL, 10);
            else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 &&
                     strcasestr(line, "chunked") && strcasestr(line, "chunked") < next)
                chunked = true;
            line = next + 2;
        }
        if (chunked)
            clen = -1;
    }
}

/* Turn a JSON-RPC error value into one line (transfer full): its message
 * when it has one, with line breaks flattened. */
static char *error_text(json_object *err)
{
    json_object *msg = NULL;
    const char *text;
    if (json_object_is_type(err, json_type_string))
        text = json_object_get_string(err);
    else if (json_object_object_get_ex(err, "message", &msg) &&
             json_object_is_type(msg, json_type_string))
        text = json_object_get_string(msg);
    else
        text = json_object_to_json_string_ext(err, JSON_C_TO_STRING_PLAIN);
    char *line = strdup(text);
    for (char *p = line; p && *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return line;
}

cli_rpc_status cli__http(cli_ctx *ctx, const char *method, const char *path, const char *ctype,
                         const char *body, size_t blen, double timeout_s, int *status,
                         char **rbody, size_t *rlen, char **errtext)
{
    double deadline = now_s() + timeout_s;
    cli_rpc_status st = CLI_RPC_OK;
    *status = 0;
    *rbody = NULL;
    *rlen = 0;
    *errtext = NULL;
    buf b = {0};
    int n = asprintf(&b.data,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n%s%s%s\r\n",
                     method, path, ctx->unix_path[0] ? "localhost" : ctx->hostport, ctype, blen,
                     ctx->secret ? "Authorization: Bearer " : "", ctx->secret ? ctx->secret : "",
                     ctx->secret ? "\r\n" : "");
    if (n < 0 || !buf_reserve(&b, blen)) {
        free(b.data);
        *errtext = strdup("out of memory");
        return CLI_RPC_NOANSWER;
    }
    b.len = (size_t)n;
    memcpy(b.data + b.len, body, blen);
    b.len += blen;
    double cdeadline = now_s() + CONNECT_TIMEOUT_S;
    int fd = connect_hub(ctx, cdeadline < deadline ? cdeadline : deadline, &st, errtext);
    if (fd < 0) {
        free(b.data);
        return st;
    }
    /* A failed send is not the end: a hub refusing a too large body answers
     * 413 and closes before reading all of it, so the answer is read anyway. */
    send_all(ctx, fd, b.data, b.len, deadline);
    free(b.data);
    b = (buf){0};
    char *rb = NULL;
    size_t rl = 0;
    int code = read_response(ctx, fd, &b, deadline, &rb, &rl);
    close(fd);
    if (code == -2 || (ctx->interrupt && *ctx->interrupt)) {
        st = CLI_RPC_INTERRUPTED;
    } else if (code == 0) {
        st = CLI_RPC_NOANSWER;
        *errtext = strdupf("no answer from %s", ctx->hostport);
    } else if (code < 0) {
        st = CLI_RPC_BADREPLY;
        *errtext = strdupf("%s did not answer with HTTP", ctx->hostport);
    } else {
        *status = code;
        memmove(b.data, rb, rl);
        b.data[rl] = '\0';
        *rbody = b.data;
        *rlen = rl;
        return CLI_RPC_OK;
    }
    free(b.data);
    return st;
}

cli_rpc_status cli__rpc(cli_ctx *ctx, const char *method, json_object *params, double timeout_s,
                        json_object **result, char **errtext)
{
    json_object *req = json_object_new_object();
    json_object_object_add(req, "id", json_object_new_int(1));
    json_object_object_add(req, "method", json_object_new_string(method));
    json_object_object_add(req, "params", params ? params : json_object_new_array());
    const char *body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    *result = NULL;
    int code;
    char *rbody;
    size_t rlen;
    cli_rpc_status st = cli__http(ctx, "POST", ctx->path, "application/json", body, strlen(body),
                                  timeout_s, &code, &rbody, &rlen, errtext);
    json_object_put(req);
    if (st != CLI_RPC_OK)
        return st;
    if (code == 503 && rbody && memmem(rbody, rlen, "server is stopping", 18)) {
        /* The hub is going away, as if it were not running: a follower
         * (history --follow, listen) ends with it. */
        st = CLI_RPC_NOANSWER;
        *errtext = strdupf("hub at %s is stopping", ctx->hostport);
    } else if (code != 200) {
        st = CLI_RPC_HTTP;
        /* A refusal's JSON-RPC error says why (another user's hub, a Host
         * not in server_names, ...); else a guess from the status. */
        json_object *reply = NULL, *err = NULL;
        if (rbody && bmq_json_parse(rbody, rlen, 0, &reply, NULL) != 0)
            reply = NULL;
        char *said = json_object_is_type(reply, json_type_object) &&
                             json_object_object_get_ex(reply, "error", &err) && err
                         ? error_text(err)
                         : NULL;
        json_object_put(reply);
        const char *why = code == 401 || code == 403 ? " (wrong or missing --secret)"
                          : code == 413              ? " (request too large)"
                                                     : "";
        if (said)
            *errtext = strdupf("hub at %s refused the request (HTTP %d): %s", ctx->hostport, code,
                               said);
        else
            *errtext = strdupf("hub at %s answered HTTP %d%s", ctx->hostport, code, why);
        free(said);
    } else {
        /* Big integers in messages stay exact up to the printout. */
        json_object *reply = NULL;
        if (bmq_json_parse(rbody, rlen, 0, &reply, NULL) != 0)
            reply = NULL;
        json_object *res = NULL, *err = NULL;
        if (!json_object_is_type(reply, json_type_object) ||
            !json_object_object_get_ex(reply, "result", &res)) {
            st = CLI_RPC_BADREPLY;
            *errtext = strdupf("%s did not answer with JSON-RPC", ctx->hostport);
        } else if (json_object_object_get_ex(reply, "error", &err) && err) {
            st = CLI_RPC_ERROR;
            *errtext = error_text(err);
            json_object *code = NULL;
            ctx->rpc_code = json_object_object_get_ex(err, "code", &code) &&
                                    json_object_is_type(code, json_type_int)
                                ? (long)json_object_get_int64(code)
                                : 0;
        } else {
            *result = json_object_get(res);
        }
        json_object_put(reply);
    }
    free(rbody);
    return st;
}

int cli__report(cli_ctx *ctx, cli_rpc_status st, const char *errtext)
{
    switch (st) {
    case CLI_RPC_OK:
    case CLI_RPC_INTERRUPTED:
        return CLI_OK;
    case CLI_RPC_UNREACHABLE:
        cli__err("hub not running at %s", ctx->hostport);
        return CLI_EHUB;
    case CLI_RPC_OTHER_USER:
    case CLI_RPC_NOANSWER:
    case CLI_RPC_BADREPLY:
        cli__err("%s", errtext ? errtext : "no answer from the hub");
        return CLI_EHUB;
    case CLI_RPC_HTTP:
    case CLI_RPC_ERROR:
        cli__err("%s", errtext ? errtext : "rejected by the hub");
        return CLI_EREJECT;
    }
    return CLI_EHUB;
}

int cli__call(cli_ctx *ctx, const char *method, json_object *params, double timeout_s,
              json_object **result)
{
    char *errtext = NULL;
    cli_rpc_status st = cli__rpc(ctx, method, params, timeout_s, result, &errtext);
    int rc = st == CLI_RPC_OK ? CLI_OK : cli__report(ctx, st, errtext);
    free(errtext);
    return rc;
}
