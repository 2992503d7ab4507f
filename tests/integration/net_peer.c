/* net_peer.c - a berryMQ node in its own process for the net integration
 * tests, driven by one command per line on stdin, one reply line on stdout:
 *   listen                      -> port N
 *   follow PATTERN              -> ok        (counts what arrives)
 *   count                       -> count TOTAL DISTINCT
 *   inter PORT TTL | oneway PORT TTL | queue PORT PATTERN TTL
 *                               -> ok IDX | err TEXT
 *   tw ID N                     -> ok        (N messages, args [node, i])
 *   send IDX ID                 -> rc N
 *   get IDX BLOCK TIMEOUT | getnw IDX -> msg JSON | none CODE
 *   flush IDX | close IDX       -> rc N
 *   alive IDX                   -> alive 0|1
 *   status                      -> one line of JSON
 *   quit                        -> bye (clean shutdown) */
#include <berrymq/net.h>

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GMutex lock;
static GHashTable *seen; /* message text -> count */
static unsigned long total;
static bmq_link *links[64];
static int nlinks;
static char node[32] = "node";

static void on_message(const bmq_message *m, void *ud)
{
    g_mutex_lock(&lock);
    total++;
    const char *k = bmq_message_to_json(m);
    gpointer v = g_hash_table_lookup(seen, k);
    g_hash_table_replace(seen, g_strdup(k), GUINT_TO_POINTER(GPOINTER_TO_UINT(v) + 1));
    g_mutex_unlock(&lock);
}

static void reply(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static bmq_link *link_at(const char *s)
{
    int i = atoi(s);
    return i >= 0 && i < nlinks ? links[i] : NULL;
}

static void add_link(bmq_link *l, char *err)
{
    if (!l) {
        reply("err %s", err ? err : "?");
        g_free(err);
        return;
    }
    links[nlinks] = l;
    reply("ok %d %s", nlinks++, bmq_link_token(l) ? bmq_link_token(l) : "null");
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_strlcpy(node, argv[1], sizeof node);
    bmq_bus *bus = bmq_bus_new();
    seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GPtrArray *followers = g_ptr_array_new();
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        g_strchomp(line);
        char **w = g_strsplit(line, " ", 6);
        int n = (int)g_strv_length(w);
        const char *cmd = n ? w[0] : "";
        char *err = NULL;
        if (!strcmp(cmd, "listen")) {
            uint16_t port = 0;
            int rc = bmq_init_connection(bus, "127.0.0.1", 0, &port);
            reply(rc == 0 ? "port %u" : "err %u", rc == 0 ? port : (unsigned)-rc);
        } else if (!strcmp(cmd, "follow") && n == 2) {
            g_ptr_array_add(followers, bmq_follow(bus, w[1], on_message, NULL, NULL));
            reply("ok");
        } else if (!strcmp(cmd, "count")) {
            g_mutex_lock(&lock);
            reply("count %lu %u", total, g_hash_table_size(seen));
            g_mutex_unlock(&lock);
        } else if (!strcmp(cmd, "inter") && n == 3) {
            add_link(bmq_interconnect(bus, "127.0.0.1", (uint16_t)atoi(w[1]), atof(w[2]), NULL, &err),
                     err);
        } else if (!strcmp(cmd, "oneway") && n == 3) {
            add_link(bmq_connect_oneway(bus, "127.0.0.1", (uint16_t)atoi(w[1]), atof(w[2]), NULL, &err),
                     err);
        } else if (!strcmp(cmd, "queue") && n == 4) {
            add_link(bmq_connect_via_queue(bus, "127.0.0.1", (uint16_t)atoi(w[1]), w[2], atof(w[3]), NULL,
                                           &err),
                     err);
        } else if (!strcmp(cmd, "tw") && n == 3) {
            int count = atoi(w[2]);
            for (int i = 0; i < count; i++) {
                json_object *a = json_object_new_array();
                json_object_array_add(a, json_object_new_string(node));
                json_object_array_add(a, json_object_new_int(i));
                bmq_twitter(bus, w[1], a, NULL);
            }
            reply("ok");
        } else if (!strcmp(cmd, "send") && n == 3 && link_at(w[1])) {
            json_object *a = json_object_new_array();
            json_object_array_add(a, json_object_new_string(node));
            reply("rc %d", bmq_send_message(link_at(w[1]), w[2], a, NULL));
        } else if ((!strcmp(cmd, "get") && n == 4 && link_at(w[1])) ||
                   (!strcmp(cmd, "getnw") && n == 2 && link_at(w[1]))) {
            int e = 0;
            bmq_message *m = n == 4 ? bmq_get(link_at(w[1]), atoi(w[2]) != 0, atof(w[3]), &e)
                                    : bmq_get_nowait(link_at(w[1]), &e);
            if (m)
                reply("msg %s", bmq_message_to_json(m));
            else
                reply("none %d", e);
            bmq_message_unref(m);
        } else if (!strcmp(cmd, "flush") && n == 2 && link_at(w[1])) {
            reply("rc %d", bmq_link_flush(link_at(w[1]), 10));
        } else if (!strcmp(cmd, "alive") && n == 2 && link_at(w[1])) {
            reply("alive %d", bmq_link_alive(link_at(w[1])) ? 1 : 0);
        } else if (!strcmp(cmd, "close") && n == 2 && link_at(w[1])) {
            int i = atoi(w[1]);
            reply("rc %d", bmq_close_connection(links[i]));
            links[i] = NULL;
        } else if (!strcmp(cmd, "status")) {
            json_object *st = bmq_server_status(bmq_bus_server(bus));
            reply("%s", st ? json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN) : "null");
            json_object_put(st);
        } else if (!strcmp(cmd, "quit")) {
            g_strfreev(w);
            break;
        } else {
            reply("err bad command: %s", line);
        }
        g_strfreev(w);
    }
    for (int i = 0; i < nlinks; i++)
        bmq_close_connection(links[i]);
    bmq_server_stop(bmq_bus_server(bus));
    for (guint i = 0; i < followers->len; i++)
        bmq_unfollow(followers->pdata[i]);
    g_ptr_array_free(followers, TRUE);
    bmq_bus_free(bus);
    g_hash_table_destroy(seen);
    reply("bye");
    return 0;
}
