/* growl_server.h - a GNTP 1.0 server written from the protocol text for
 * the growl plugin tests: it records every request and answers -OK (or, by
 * mode, -ERROR, callbacks, silence). Header-only, with growl_harness.h. */
#ifndef GROWL_SERVER_H
#define GROWL_SERVER_H

#include "growl_harness.h"

/* ---- a GNTP server from the spec ------------------------------------------------ */

typedef enum { MODE_OK, MODE_CALLBACK, MODE_FORGET, MODE_ERROR_NOCODE, MODE_SILENT } srv_mode;

typedef struct srv {
    int lfd, port;
    srv_mode mode;
    const char *cb_results[4];
    const char *password; /* when set, every request must carry its key */
    int n_notify;
    GThread *thread;
    gint stop;
    GMutex lock;
    GPtrArray *reqs; /* GBytes* */
} srv;

G_GNUC_UNUSED static const char *find(const char *p, size_t n, const char *needle)
{
    return p && n ? memmem(p, n, needle, strlen(needle)) : NULL;
}

/* Header @name in the section starting at @sec (ends at a blank line). */
G_GNUC_UNUSED static char *hdr(const char *sec, const char *name)
{
    const char *end = strstr(sec, "\r\n\r\n");
    size_t nl = strlen(name);
    for (const char *l = sec; l && (!end || l < end + 2);) {
        if (!g_ascii_strncasecmp(l, name, nl) && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            return g_strndup(v, e ? (gsize)(e - v) : strlen(v));
        }
        l = strstr(l, "\r\n");
        if (l)
            l += 2;
    }
    return NULL;
}

/* Is a whole request in buf? Sections end in a blank line; REGISTER has
 * Notifications-Count more sections; every x-growl-resource:// pointer has a
 * binary section "Identifier/Length, blank line, data, CRLF, blank line". */
G_GNUC_UNUSED static bool complete(const char *buf, size_t len)
{
    const char *end = find(buf, len, "\r\n\r\n");
    if (!end)
        return false;
    char *head = g_strndup(buf, (gsize)(end - buf) + 4);
    size_t pos = (size_t)(end - buf) + 4;
    bool ok = true;
    if (g_str_has_prefix(head, "GNTP/1.0 REGISTER")) {
        char *c = hdr(strstr(head, "\r\n") + 2, "Notifications-Count");
        int n = c ? atoi(c) : 0;
        g_free(c);
        for (int i = 0; i < n && ok; i++) {
            const char *e = find(buf + pos, len - pos, "\r\n\r\n");
            ok = e != NULL;
            if (ok)
                pos = (size_t)(e - buf) + 4;
        }
    }
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
    for (const char *p = buf;
         ok && (p = find(p, pos - (size_t)(p - buf), "x-growl-resource://"));) {
        p += 19;
        char *id = g_strndup(p, strcspn(p, "\r"));
        bool have = false;
        for (guint i = 0; i < ids->len; i++)
            have = have || !strcmp(ids->pdata[i], id);
        if (have)
            g_free(id);
        else
            g_ptr_array_add(ids, id);
    }
    for (guint i = 0; ok && i < ids->len; i++) {
        const char *e = find(buf + pos, len - pos, "\r\n\r\n");
        if (!e) {
            ok = false;
            break;
        }
        char *sec = g_strndup(buf + pos, (gsize)(e - (buf + pos)) + 4);
        char *l = hdr(sec, "Length");
        size_t n = l ? strtoul(l, NULL, 10) : 0;
        g_free(l);
        g_free(sec);
        pos = (size_t)(e - buf) + 4 + n + 4;
        ok = pos <= len;
    }
    g_ptr_array_free(ids, TRUE);
    g_free(head);
    return ok;
}

G_GNUC_UNUSED static void send_str(int fd, const char *s)
{
    CHECK((send(fd, s, strlen(s), MSG_NOSIGNAL)) == ((ssize_t)strlen(s)));
}

/* The key field of the information line, checked as a Growl server does. */
G_GNUC_UNUSED static bool key_ok(const char *req, const char *pw)
{
    char *line = g_strndup(req, strcspn(req, "\r"));
    char **tok = g_strsplit(line, " ", -1);
    bool ok = false;
    if (g_strv_length(tok) == 4) {
        char *colon = strchr(tok[3], ':'), *dot = strrchr(tok[3], '.');
        if (colon && dot) {
            *colon = *dot = '\0';
            GChecksumType t = !strcmp(tok[3], "MD5")      ? G_CHECKSUM_MD5
                              : !strcmp(tok[3], "SHA1")   ? G_CHECKSUM_SHA1
                              : !strcmp(tok[3], "SHA256") ? G_CHECKSUM_SHA256
                                                          : G_CHECKSUM_SHA512;
            char *want = spec_keyhash(t, pw, dot + 1);
            ok = !g_ascii_strcasecmp(want, colon + 1);
            g_free(want);
        }
    }
    g_strfreev(tok);
    g_free(line);
    return ok;
}

G_GNUC_UNUSED static void srv_answer(srv *s, int fd, const char *req)
{
    bool reg = g_str_has_prefix(req, "GNTP/1.0 REGISTER");
    if (s->password && !key_ok(req, s->password)) {
        send_str(fd, "GNTP/1.0 -ERROR NONE\r\nError-Code: 400\r\n"
                     "Error-Description: Not authorized\r\n\r\n");
        return;
    }
    if (s->mode == MODE_SILENT) {
        while (!g_atomic_int_get(&s->stop))
            g_usleep(10000);
        return;
    }
    if (reg) {
        send_str(fd, "GNTP/1.0 -OK NONE\r\nResponse-Action: REGISTER\r\n\r\n");
        return;
    }
    int k = s->n_notify++;
    if (s->mode == MODE_FORGET && k == 0) {
        send_str(fd, "GNTP/1.0 -ERROR NONE\r\nResponse-Action: NOTIFY\r\nError-Code: 402\r\n"
                     "Error-Description: Unknown notification\r\n\r\n");
        return;
    }
    if (s->mode == MODE_ERROR_NOCODE) {
        send_str(fd, "GNTP/1.0 -ERROR NONE\r\n\r\n");
        return;
    }
    char *nid = hdr(strstr(req, "\r\n") + 2, "Notification-ID");
    char *ok = g_strdup_printf("GNTP/1.0 -OK NONE\r\nResponse-Action: NOTIFY\r\n"
                               "Notification-ID: %s\r\n\r\n",
                               nid ? nid : "");
    send_str(fd, ok);
    g_free(ok);
    if (s->mode == MODE_CALLBACK && k < 4 && s->cb_results[k]) {
        g_usleep(50000);
        char *ctx = hdr(strstr(req, "\r\n") + 2, "Notification-Callback-Context");
        char *type = hdr(strstr(req, "\r\n") + 2, "Notification-Callback-Context-Type");
        char *cb = g_strdup_printf(
            "GNTP/1.0 -CALLBACK NONE\r\nResponse-Action: NOTIFY\r\nApplication-Name: berryMQ\r\n"
            "Notification-ID: %s\r\nNotification-Callback-Result: %s\r\n"
            "Notification-Callback-Timestamp: 2026-11-28 22:21:00Z\r\n"
            "Notification-Callback-Context: %s\r\nNotification-Callback-Context-Type: %s\r\n\r\n",
            nid ? nid : "", s->cb_results[k], ctx ? ctx : "", type ? type : "");
        /* In two writes, to exercise reassembly on the plugin side. */
        size_t half = strlen(cb) / 2;
        CHECK((send(fd, cb, half, MSG_NOSIGNAL)) == ((ssize_t)half));
        g_usleep(20000);
        send_str(fd, cb + half);
        g_free(cb);
        g_free(ctx);
        g_free(type);
    }
    g_free(nid);
}

G_GNUC_UNUSED static gpointer srv_main(gpointer data)
{
    srv *s = data;
    while (!g_atomic_int_get(&s->stop)) {
        struct pollfd p = {.fd = s->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        GByteArray *buf = g_byte_array_new();
        gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
        while (!complete((const char *)buf->data, buf->len) && g_get_monotonic_time() < end) {
            struct pollfd q = {.fd = fd, .events = POLLIN};
            if (poll(&q, 1, 50) <= 0)
                continue;
            guint8 tmp[8192];
            ssize_t n = recv(fd, tmp, sizeof tmp, 0);
            if (n <= 0)
                break;
            g_byte_array_append(buf, tmp, (guint)n);
        }
        if (!complete((const char *)buf->data, buf->len)) {
            /* The client gave up before a whole request (an instance
             * destroyed mid-connection): nothing to record or answer. */
            g_byte_array_unref(buf);
            close(fd);
            continue;
        }
        g_byte_array_append(buf, (const guint8 *)"", 1); /* NUL for string helpers */
        GBytes *req = g_byte_array_free_to_bytes(buf);
        g_mutex_lock(&s->lock);
        g_ptr_array_add(s->reqs, g_bytes_ref(req));
        g_mutex_unlock(&s->lock);
        srv_answer(s, fd, g_bytes_get_data(req, NULL));
        g_bytes_unref(req);
        close(fd);
    }
    return NULL;
}

/* Start on 127.0.0.1:@port, 0 for any free port. */
G_GNUC_UNUSED static void srv_start_on(srv *s, srv_mode mode, int port)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    if (port) {
        s->lfd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                .sin_port = htons((uint16_t)port)};
        CHECK((bind(s->lfd, (struct sockaddr *)&a, sizeof a)) == (0));
        s->port = port;
    } else {
        s->lfd = bound_socket(SOCK_STREAM, &s->port);
    }
    CHECK((listen(s->lfd, 16)) == (0));
    g_mutex_init(&s->lock);
    s->reqs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    s->thread = g_thread_new("test-gntp-server", srv_main, s);
}

G_GNUC_UNUSED static void srv_start(srv *s, srv_mode mode)
{
    srv_start_on(s, mode, 0);
}

G_GNUC_UNUSED static void srv_stop(srv *s)
{
    g_atomic_int_set(&s->stop, 1);
    g_thread_join(s->thread);
    close(s->lfd);
    g_ptr_array_free(s->reqs, TRUE);
    g_mutex_clear(&s->lock);
}

G_GNUC_UNUSED static guint srv_count(srv *s)
{
    g_mutex_lock(&s->lock);
    guint n = s->reqs->len;
    g_mutex_unlock(&s->lock);
    return n;
}

/* (transfer full) request @i as a NUL-terminated string; *len its length. */
G_GNUC_UNUSED static char *srv_req(srv *s, guint i, size_t *len)
{
    g_mutex_lock(&s->lock);
    CHECK((i) < (s->reqs->len));
    gsize n;
    const char *p = g_bytes_get_data(s->reqs->pdata[i], &n);
    char *copy = g_memdup2(p, n);
    g_mutex_unlock(&s->lock);
    if (len)
        *len = n - 1;
    return copy;
}

#endif /* GROWL_SERVER_H */
