/* net_multi.c - links between real processes on 127.0.0.1: each style with
 * two and three processes, a ring of 3 and a full mesh of 4 (every message
 * delivered exactly once per node), ttl expiry, and a peer killed with
 * SIGKILL in the middle of a stream. */
#include <berrymq/net.h>

#include "net_proc.h"

static void test_style01(void)
{
    peer a, b, c;
    peer_spawn(&a, "A");
    peer_spawn(&b, "B");
    peer_spawn(&c, "C");
    peer_listen(&a);
    peer_listen(&b);
    peer_listen(&c);
    g_free(peer_expect(&a, "ok", "follow *@*:*"));
    g_free(peer_expect(&b, "ok", "follow *@*:*"));
    g_free(peer_expect(&c, "ok", "follow *@*:*"));
    peer_link(&a, "inter %u 100", b.port); /* A - B - C */
    peer_link(&b, "inter %u 100", c.port);
    g_free(peer_expect(&a, "ok", "tw a:x 5"));
    g_free(peer_expect(&a, "ok", "tw _local:x 3")); /* never leaves A */
    g_free(peer_expect(&c, "ok", "tw c:y 4"));
    g_free(peer_expect(&b, "ok", "tw b@ns:z 2")); /* other namespaces travel too */
    peer_wait_count(&a, 5 + 3 + 4 + 2);
    peer_wait_count(&b, 5 + 4 + 2);
    peer_wait_count(&c, 5 + 4 + 2);
    char *st = peer_expect(&b, "{", "status");
    CHECK_CONTAINS(st, "\"style\":\"01\"");
    CHECK_CONTAINS(st, "\"extension\":true");
    g_free(st);
    peer_quit(&a);
    peer_quit(&b);
    peer_quit(&c);
}

static void test_style02(void)
{
    peer s, c1, c2;
    peer_spawn(&s, "S");
    peer_spawn(&c1, "C1");
    peer_spawn(&c2, "C2");
    peer_listen(&s);
    g_free(peer_expect(&s, "ok", "follow *@*:*"));
    g_free(peer_expect(&c1, "ok", "follow *@*:*"));
    int l1 = peer_link(&c1, "oneway %u 100", s.port);
    peer_link(&c2, "oneway %u 100", s.port);
    g_free(peer_expect(&c1, "ok", "tw one:x 10"));
    g_free(peer_expect(&c2, "ok", "tw two:x 7"));
    g_free(peer_expect(&c1, "rc 0", "send %d direct:x", l1));
    g_free(peer_expect(&s, "ok", "tw back:x 3")); /* style 02: nothing comes back */
    peer_wait_count(&s, 10 + 7 + 1 + 3);
    peer_wait_count(&c1, 10);
    g_free(peer_expect(&c1, "rc 0", "close %d", l1));
    peer_quit(&s);
    peer_quit(&c1);
    peer_quit(&c2);
}

static void test_style03(void)
{
    peer s, c1, c2;
    peer_spawn(&s, "S");
    peer_spawn(&c1, "C1");
    peer_spawn(&c2, "C2");
    peer_listen(&s);
    int q1 = peer_link(&c1, "queue %u job:* 100", s.port);
    int q2 = peer_link(&c2, "queue %u job:* 100", s.port);
    g_free(peer_expect(&c1, "none -6", "getnw %d", q1));
    g_free(peer_expect(&s, "ok", "tw job:build 2"));
    g_free(peer_expect(&s, "ok", "tw other:x 2"));
    char *m = peer_expect(&c1, "msg ", "get %d 1 2", q1);
    CHECK_STR(m, "{\"id\":\"job:build\",\"args\":[\"S\",0],\"kwargs\":{}}");
    g_free(m);
    g_free(peer_expect(&c1, "msg ", "getnw %d", q1));
    g_free(peer_expect(&c1, "none -6", "get %d 1 0.2", q1));
    /* each client has its own copy */
    g_free(peer_expect(&c2, "msg ", "getnw %d", q2));
    g_free(peer_expect(&c2, "msg ", "getnw %d", q2));
    g_free(peer_expect(&c2, "none -6", "getnw %d", q2));
    g_free(peer_expect(&c1, "rc 0", "close %d", q1));
    g_free(peer_expect(&c2, "rc 0", "close %d", q2));
    peer_quit(&s);
    peer_quit(&c1);
    peer_quit(&c2);
}

static void test_topology(int n, const int (*edges)[2], int nedges, const char *what)
{
    peer p[4];
    char name[4];
    for (int i = 0; i < n; i++) {
        g_snprintf(name, sizeof name, "N%d", i);
        peer_spawn(&p[i], name);
        peer_listen(&p[i]);
        g_free(peer_expect(&p[i], "ok", "follow *@*:*"));
    }
    for (int e = 0; e < nedges; e++)
        peer_link(&p[edges[e][0]], "inter %u 100", p[edges[e][1]].port);
    for (int i = 0; i < n; i++)
        g_free(peer_expect(&p[i], "ok", "tw %s:msg 25", what));
    for (int i = 0; i < n; i++)
        peer_wait_count(&p[i], 25ul * (unsigned long)n);
    for (int i = 0; i < n; i++)
        peer_quit(&p[i]);
}

static void test_ttl(void)
{
    peer s, c;
    peer_spawn(&s, "S");
    peer_spawn(&c, "C");
    peer_listen(&s);
    peer_listen(&c);
    int l = peer_link(&c, "oneway %u 0.4", s.port);
    int q = peer_link(&c, "queue %u x:* 0.4", s.port);
    peer_link(&c, "inter %u 0.4", s.port);
    g_free(peer_expect(&c, "rc 0", "send %d x:1", l));
    g_usleep(700000);
    g_free(peer_expect(&c, "rc -4", "send %d x:2", l)); /* "timeout" */
    g_free(peer_expect(&c, "none -6", "getnw %d", q));  /* "timeout": no message */
    /* the idle style 01 link is dropped on both sides without any request */
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    char *st = NULL;
    do {
        g_free(st);
        g_usleep(50000);
        st = peer_expect(&s, "{", "status");
    } while (strstr(st, "\"style\":\"01\"") && g_get_monotonic_time() < deadline);
    CHECK(!strstr(st, "\"style\":\"01\""));
    g_free(st);
    peer_quit(&s);
    peer_quit(&c);
}

static unsigned long local_count;
static void on_local(const bmq_message *m, void *ud)
{
    local_count++;
}

static void test_killed_peer(void)
{
    bmq_bus *bus = bmq_bus_new();
    uint16_t port = 0;
    CHECK(bmq_init_connection(bus, "127.0.0.1", 0, &port) == 0);
    bmq_follower *f = bmq_follow(bus, "*", on_local, NULL, NULL);
    peer b;
    peer_spawn(&b, "B");
    peer_listen(&b);
    g_free(peer_expect(&b, "ok", "follow *@*:*"));
    char *err = NULL;
    bmq_link *l = bmq_interconnect(bus, "127.0.0.1", (uint16_t)b.port, 100, NULL, &err);
    CHECK(l && !err);
    for (int i = 0; i < 200; i++) {
        json_object *a = json_object_new_array();
        json_object_array_add(a, json_object_new_int(i));
        bmq_twitter(bus, "stream:x", a, NULL);
    }
    CHECK(bmq_link_flush(l, 10) == 0);
    peer_wait_count(&b, 200);
    peer_kill(&b);
    gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < 800; i++)
        bmq_twitter_json(bus, "stream:x", "[2]", NULL);
    /* local delivery does not wait for the dead peer */
    CHECK(local_count == 1000);
    CHECK(g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC); /* no 1.4 s retry per message */
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (bmq_link_alive(l) && g_get_monotonic_time() < deadline)
        g_usleep(20000);
    CHECK(!bmq_link_alive(l));
    json_object *st = bmq_server_status(bmq_bus_server(bus));
    json_object *c = NULL, *d = NULL;
    json_object_object_get_ex(st, "counters", &c);
    json_object_object_get_ex(c, "dropped", &d);
    CHECK(json_object_get_int(d) == 800); /* every undelivered message is counted */
    json_object_put(st);
    /* still usable locally */
    bmq_twitter_json(bus, "stream:y", NULL, NULL);
    CHECK(local_count == 1001);
    bmq_close_connection(l);
    bmq_unfollow(f);
    bmq_server_stop(bmq_bus_server(bus));
    bmq_bus_free(bus);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_style01();
    test_style02();
    test_style03();
    static const int ring[][2] = {{0, 1}, {1, 2}, {2, 0}};
    test_topology(3, ring, 3, "ring");
    static const int mesh[][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
    test_topology(4, mesh, 6, "mesh");
    test_ttl();
    test_killed_peer();
    printf("net_multi: ok\n");
    return 0;
}
