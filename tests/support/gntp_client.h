/* gntp_client.h - a Growl client for the hub tests, written from the GNTP
 * text: a free loopback port for the receiver, and one NOTIFY over its own
 * connection. Header-only: each test is one executable. */
#ifndef GNTP_CLIENT_H
#define GNTP_CLIENT_H

#include <string.h>

#include <gio/gio.h>

/* A port of @type (G_SOCKET_TYPE_STREAM: TCP, _DATAGRAM: UDP) on
 * 127.0.0.1 that was free a moment ago; -1 if none. */
G_GNUC_UNUSED static int gntp_free_port_of(GSocketType type)
{
    GSocket *s = g_socket_new(G_SOCKET_FAMILY_IPV4, type, 0, NULL);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *a = g_inet_socket_address_new(lo, 0);
    int port = -1;
    if (s && g_socket_bind(s, a, TRUE, NULL)) {
        GSocketAddress *got = g_socket_get_local_address(s, NULL);
        port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(got));
        g_object_unref(got);
    }
    g_object_unref(a);
    g_object_unref(lo);
    if (s)
        g_object_unref(s);
    return port;
}

/* A free TCP port on 127.0.0.1 (GNTP's transport). */
G_GNUC_UNUSED static int gntp_free_port(void)
{
    return gntp_free_port_of(G_SOCKET_TYPE_STREAM);
}

/* A GNTP NOTIFY as a Growl client sends it, on a new connection to
 * 127.0.0.1:@port; the receiver's whole answer (transfer full), "" when
 * it closed without one, NULL when it could not be reached. */
G_GNUC_UNUSED static char *gntp_notify(int port, const char *app, const char *name,
                                       const char *title)
{
    GSocketClient *c = g_socket_client_new();
    g_socket_client_set_timeout(c, 10);
    char *host = g_strdup_printf("127.0.0.1:%d", port);
    GSocketConnection *conn = g_socket_client_connect_to_host(c, host, 0, NULL, NULL);
    g_free(host);
    g_object_unref(c);
    if (!conn)
        return NULL;
    char *req = g_strdup_printf("GNTP/1.0 NOTIFY NONE\r\nApplication-Name: %s\r\n"
                                "Notification-Name: %s\r\nNotification-Title: %s\r\n\r\n",
                                app, name, title);
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
    GString *answer = g_string_new(NULL);
    if (g_output_stream_write_all(out, req, strlen(req), NULL, NULL, NULL)) {
        char buf[512];
        gssize n;
        while ((n = g_input_stream_read(in, buf, sizeof buf, NULL, NULL)) > 0)
            g_string_append_len(answer, buf, n);
    }
    g_free(req);
    g_object_unref(conn);
    return g_string_free(answer, FALSE);
}

#endif /* GNTP_CLIENT_H */
