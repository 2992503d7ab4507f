/* http_server.c - see http_server.h. */
#include "http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#define HOLD_MAX_US (120 * G_USEC_PER_SEC)

struct hs_server {
    struct MHD_Daemon *d;
    int port;
    GMutex lock;
    GCond cond;
    GPtrArray *reqs;   /* hs_request* */
    GArray *script;    /* hs_answer, strings owned */
    guint next_answer; /* the script is a queue: answers not used yet */
    bool hold;
    guint held;
    guint connections;
    char *cert, *key;
};

typedef struct pending {
    hs_request *r;
    GByteArray *body;
} pending;

static void request_free(gpointer p)
{
    hs_request *r = p;
    g_free(r->method);
    g_free(r->path);
    g_free(r->query);
    g_ptr_array_free(r->headers, TRUE);
    g_free(r->body);
    g_free(r);
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    g_ptr_array_add(cls, g_strdup_printf("%s: %s", key, value ? value : ""));
    return MHD_YES;
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    GString *q = cls;
    if (q->len)
        g_string_append_c(q, '&');
    g_string_append(q, key);
    if (value)
        g_string_append_printf(q, "=%s", value);
    return MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    hs_server *s = cls;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    g_mutex_lock(&s->lock);
    *socket_context = GUINT_TO_POINTER(++s->connections);
    g_mutex_unlock(&s->lock);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    pending *p = *con_cls;
    if (!p)
        return;
    if (p->r)
        request_free(p->r);
    g_byte_array_unref(p->body);
    g_free(p);
    *con_cls = NULL;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    hs_server *s = cls;
    pending *p = *con_cls;
    if (!p) {
        p = g_new0(pending, 1);
        p->body = g_byte_array_new();
        p->r = g_new0(hs_request, 1);
        p->r->method = g_strdup(method);
        p->r->path = g_strdup(url);
        p->r->headers = g_ptr_array_new_with_free_func(g_free);
        MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, p->r->headers);
        GString *q = g_string_new(NULL);
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, q);
        p->r->query = g_string_free(q, FALSE);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        p->r->conn = ci ? GPOINTER_TO_UINT(ci->socket_context) : 0;
        *con_cls = p;
        return MHD_YES;
    }
    if (*upload_size) {
        g_byte_array_append(p->body, (const guint8 *)upload, (guint)*upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    hs_request *r = p->r;
    p->r = NULL;
    r->len = p->body->len;
    r->body = g_strndup((const char *)p->body->data, p->body->len);
    r->at_us = g_get_monotonic_time();

    g_mutex_lock(&s->lock);
    g_ptr_array_add(s->reqs, r);
    hs_answer a = {.status = 200, .body = "ok"};
    char *retry = NULL, *text = NULL;
    if (s->next_answer < s->script->len) {
        a = g_array_index(s->script, hs_answer, s->next_answer++);
        retry = g_strdup(a.retry_after);
        text = g_strdup(a.body ? a.body : "");
    }
    g_cond_broadcast(&s->cond);
    gint64 end = g_get_monotonic_time() + HOLD_MAX_US;
    if (s->hold) {
        s->held++;
        while (s->hold && g_get_monotonic_time() < end)
            g_cond_wait_until(&s->cond, &s->lock, end);
        s->held--;
    }
    g_mutex_unlock(&s->lock);

    const char *body = text ? text : a.body;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    if (retry)
        MHD_add_response_header(resp, "Retry-After", retry);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)a.status, resp);
    MHD_destroy_response(resp);
    g_free(retry);
    g_free(text);
    return rc;
}

hs_server *hs_start(int port, const char *cert_pem, const char *key_pem)
{
    hs_server *s = g_new0(hs_server, 1);
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    s->reqs = g_ptr_array_new_with_free_func(request_free);
    s->script = g_array_new(FALSE, TRUE, sizeof(hs_answer));
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    s->cert = g_strdup(cert_pem);
    s->key = g_strdup(key_pem);
    if (cert_pem)
        flags |= MHD_USE_TLS;
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&sa, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
                            cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->cert,
                            MHD_OPTION_HTTPS_MEM_KEY, s->key, MHD_OPTION_END);
    if (!s->d) {
        fprintf(stderr, "http_server: cannot listen on 127.0.0.1:%d%s\n", port,
                cert_pem ? " with TLS" : "");
        hs_stop(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : port;
    return s;
}

void hs_stop(hs_server *s)
{
    if (!s)
        return;
    hs_hold(s, false);
    if (s->d)
        MHD_stop_daemon(s->d);
    for (guint i = 0; i < s->script->len; i++) {
        hs_answer *a = &g_array_index(s->script, hs_answer, i);
        g_free((char *)a->retry_after);
        g_free((char *)a->body);
    }
    g_array_free(s->script, TRUE);
    g_ptr_array_free(s->reqs, TRUE);
    g_free(s->cert);
    g_free(s->key);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
    g_free(s);
}

int hs_port(hs_server *s)
{
    return s->port;
}

void hs_script(hs_server *s, const hs_answer *answers, size_t n)
{
    g_mutex_lock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        hs_answer a = {answers[i].status, g_strdup(answers[i].retry_after),
                       g_strdup(answers[i].body)};
        g_array_append_val(s->script, a);
    }
    g_mutex_unlock(&s->lock);
}

void hs_hold(hs_server *s, bool hold)
{
    g_mutex_lock(&s->lock);
    s->hold = hold;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

guint hs_count(hs_server *s)
{
    g_mutex_lock(&s->lock);
    guint n = s->reqs->len;
    g_mutex_unlock(&s->lock);
    return n;
}

guint hs_held(hs_server *s)
{
    g_mutex_lock(&s->lock);
    guint n = s->held;
    g_mutex_unlock(&s->lock);
    return n;
}

guint hs_connections(hs_server *s)
{
    g_mutex_lock(&s->lock);
    guint n = s->connections;
    g_mutex_unlock(&s->lock);
    return n;
}

const hs_request *hs_get(hs_server *s, guint i)
{
    g_mutex_lock(&s->lock);
    const hs_request *r = i < s->reqs->len ? s->reqs->pdata[i] : NULL;
    g_mutex_unlock(&s->lock);
    return r;
}

bool hs_wait_count(hs_server *s, guint n, double timeout_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    g_mutex_lock(&s->lock);
    while (s->reqs->len < n && g_get_monotonic_time() < end)
        g_cond_wait_until(&s->cond, &s->lock, end);
    bool ok = s->reqs->len >= n;
    g_mutex_unlock(&s->lock);
    return ok;
}

const char *hs_header(const hs_request *r, const char *name)
{
    size_t n = strlen(name);
    for (guint i = 0; i < r->headers->len; i++) {
        const char *h = r->headers->pdata[i];
        if (g_ascii_strncasecmp(h, name, n) == 0 && h[n] == ':')
            return h + n + 2;
    }
    return NULL;
}
