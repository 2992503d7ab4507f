/* growl_harness.h - shared by the growl plugin tests: the real plugin host
 * on a real main loop, and helpers written from the GNTP / Growl UDP texts
 * (independent of the plugin's own parsers). Header-only: each test is
 * one executable. */
#ifndef GROWL_HARNESS_H
#define GROWL_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <berrymq/host.h>

#include "check.h"

typedef struct fixture {
    bmq_bus *bus;
    bmq_plugin_host *host;
    char *data_root;
    GMutex lock;
    GPtrArray *seen; /* bmq_message* received by the test follower */
    GPtrArray *logs; /* char* */
    bmq_follower *f;
} fixture;

G_GNUC_UNUSED static void fx_on_msg(const bmq_message *m, void *ud)
{
    fixture *fx = ud;
    g_mutex_lock(&fx->lock);
    g_ptr_array_add(fx->seen, bmq_message_ref((bmq_message *)m));
    g_mutex_unlock(&fx->lock);
}

G_GNUC_UNUSED static void fx_on_log(int level, const char *id, const char *line, void *ud)
{
    fixture *fx = ud;
    g_mutex_lock(&fx->lock);
    g_ptr_array_add(fx->logs, g_strdup_printf("%d %s %s", level, id ? id : "-", line));
    g_mutex_unlock(&fx->lock);
    if (g_getenv("BMQ_TEST_VERBOSE"))
        fprintf(stderr, "log %d [%s] %s\n", level, id ? id : "-", line);
}

G_GNUC_UNUSED static void fx_init(fixture *fx, const char *pattern)
{
    memset(fx, 0, sizeof *fx);
    g_mutex_init(&fx->lock);
    fx->bus = bmq_bus_new();
    fx->data_root = g_dir_make_tmp("bmq-growl-XXXXXX", NULL);
    CHECK(fx->data_root != NULL);
    fx->host = bmq_plugin_host_new(fx->bus, NULL, fx->data_root);
    bmq_plugin_host_set_log(fx->host, fx_on_log, fx);
    const char *dir = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    CHECK(dir != NULL);
    bmq_plugin_host_add_dir(fx->host, dir);
    fx->seen = g_ptr_array_new_with_free_func((GDestroyNotify)bmq_message_unref);
    fx->logs = g_ptr_array_new_with_free_func(g_free);
    if (pattern) {
        fx->f = bmq_follow(fx->bus, pattern, fx_on_msg, NULL, fx);
        CHECK(fx->f != NULL);
    }
}

G_GNUC_UNUSED static void fx_free(fixture *fx)
{
    bmq_plugin_host_free(fx->host);
    if (fx->f)
        bmq_unfollow(fx->f);
    bmq_bus_free(fx->bus);
    char *argv[] = {"rm", "-rf", fx->data_root, NULL};
    CHECK(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL));
    g_free(fx->data_root);
    g_ptr_array_free(fx->seen, TRUE);
    g_ptr_array_free(fx->logs, TRUE);
    g_mutex_clear(&fx->lock);
}

G_GNUC_UNUSED static bmq_instance *fx_create(fixture *fx, const char *id, const char *json,
                                             char **error)
{
    json_object *cfg = json_tokener_parse(json);
    CHECK(cfg != NULL);
    bmq_instance *inst = bmq_instance_create(fx->host, "growl", id, cfg, NULL, error);
    json_object_put(cfg);
    return inst;
}

/* Run the default main context until @pred or @timeout_s; returns pred(). */
G_GNUC_UNUSED static bool fx_wait(bool (*pred)(void *), void *data, double timeout_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    while (!pred(data) && g_get_monotonic_time() < end) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(2000);
    }
    return pred(data);
}

G_GNUC_UNUSED static guint fx_seen_count(fixture *fx)
{
    g_mutex_lock(&fx->lock);
    guint n = fx->seen->len;
    g_mutex_unlock(&fx->lock);
    return n;
}

/* (transfer full) message @i, or NULL. */
G_GNUC_UNUSED static bmq_message *fx_seen(fixture *fx, guint i)
{
    g_mutex_lock(&fx->lock);
    bmq_message *m = i < fx->seen->len ? bmq_message_ref(fx->seen->pdata[i]) : NULL;
    g_mutex_unlock(&fx->lock);
    return m;
}

G_GNUC_UNUSED static int64_t fx_stat(bmq_instance *inst, const char *key)
{
    json_object *st = bmq_instance_status(inst), *s, *v;
    int64_t r = -1;
    if (json_object_object_get_ex(st, "status", &s) && json_object_object_get_ex(s, key, &v))
        r = json_object_get_int64(v);
    json_object_put(st);
    return r;
}

G_GNUC_UNUSED static const char *kw_str(const bmq_message *m, const char *key)
{
    json_object *v;
    if (json_object_object_get_ex(bmq_message_kwargs(m), key, &v))
        return json_object_get_string(v);
    return NULL;
}

/* A port on 127.0.0.1 with nothing listening (bound, then closed). */
G_GNUC_UNUSED static int free_port(int type)
{
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK((bind(fd, (struct sockaddr *)&a, sizeof a)) == 0);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

G_GNUC_UNUSED static int bound_socket(int type, int *port)
{
    int fd = socket(AF_INET, type, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK((bind(fd, (struct sockaddr *)&a, sizeof a)) == 0);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

/* GNTP key rule from the spec: hex(H(H(UTF8(pw) || salt))), upper case. */
G_GNUC_UNUSED static char *spec_keyhash(GChecksumType t, const char *pw, const char *salt_hex)
{
    GByteArray *basis = g_byte_array_new();
    g_byte_array_append(basis, (const guint8 *)pw, (guint)strlen(pw));
    for (size_t i = 0; salt_hex[i] && salt_hex[i + 1]; i += 2) {
        char tmp[3] = {salt_hex[i], salt_hex[i + 1], 0};
        guint8 b = (guint8)strtoul(tmp, NULL, 16);
        g_byte_array_append(basis, &b, 1);
    }
    guint8 key[64];
    gsize kl = sizeof key;
    GChecksum *c = g_checksum_new(t);
    g_checksum_update(c, basis->data, basis->len);
    g_checksum_get_digest(c, key, &kl);
    g_checksum_free(c);
    char *h = g_compute_checksum_for_data(t, key, kl);
    char *up = g_ascii_strup(h, -1);
    g_free(h);
    g_byte_array_unref(basis);
    return up;
}

G_GNUC_UNUSED static void put16(GByteArray *a, size_t v)
{
    guint8 b[2] = {(guint8)(v >> 8), (guint8)v};
    g_byte_array_append(a, b, 2);
}

/* Packets as the Growl network protocol describes them. */
G_GNUC_UNUSED static GBytes *spec_udp(bool reg, int type, const char *app, const char *name,
                                      const char *title, const char *text, int prio, bool sticky,
                                      const char *pw)
{
    GByteArray *a = g_byte_array_new();
    guint8 head[2] = {1, (guint8)type};
    g_byte_array_append(a, head, 2);
    if (reg) {
        put16(a, strlen(app));
        guint8 counts[2] = {1, 1};
        g_byte_array_append(a, counts, 2);
        g_byte_array_append(a, (const guint8 *)app, (guint)strlen(app));
        put16(a, strlen(name));
        g_byte_array_append(a, (const guint8 *)name, (guint)strlen(name));
        guint8 idx = 0;
        g_byte_array_append(a, &idx, 1);
    } else {
        int p = prio < 0 ? prio + 8 : prio;
        put16(a, (size_t)((p << 1) | (sticky ? 1 : 0)));
        put16(a, strlen(name));
        put16(a, strlen(title));
        put16(a, strlen(text));
        put16(a, strlen(app));
        const char *parts[] = {name, title, text, app};
        for (int i = 0; i < 4; i++)
            g_byte_array_append(a, (const guint8 *)parts[i], (guint)strlen(parts[i]));
    }
    if (type < 4) {
        GChecksum *c = g_checksum_new(type >= 2 ? G_CHECKSUM_SHA256 : G_CHECKSUM_MD5);
        g_checksum_update(c, a->data, a->len);
        g_checksum_update(c, (const guchar *)pw, (gssize)strlen(pw));
        guint8 d[32];
        gsize dl = sizeof d;
        g_checksum_get_digest(c, d, &dl);
        g_checksum_free(c);
        g_byte_array_append(a, d, (guint)dl);
    }
    return g_byte_array_free_to_bytes(a);
}

#endif /* GROWL_HARNESS_H */
