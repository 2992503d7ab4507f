/* growl_sender_tsan.c - built with ThreadSanitizer (label tsan): the growl
 * plugin's sender threads under followers firing from many threads at
 * once. A GNTP server and a UDP socket on loopback receive; four threads
 * send on a bus whose followers run on a pool, while the main thread reads
 * the instances' status; then an instance is destroyed while the senders
 * are still sending. Every notification reaches its server exactly once
 * (GNTP) or at all (UDP), and TSan, which halts on the first report, has
 * nothing to say. */
#include "growl_harness.h"
#include "check.h"

#include "growl_server.h"

enum { THREADS = 4, PER_THREAD = 40 };

typedef struct sender_arg {
    bmq_bus *bus;
    int t;
    const char *prefix;
} sender_arg;

static gpointer sender(gpointer data)
{
    sender_arg *a = data;
    for (int i = 0; i < PER_THREAD; i++) {
        /* A few notification names per thread: new ones make the sender
         * register again while others are queued. */
        char id[64], args[64];
        g_snprintf(id, sizeof id, "type%d:%s", (a->t * PER_THREAD + i) % 6, a->prefix);
        g_snprintf(args, sizeof args, "[\"t%d\", %d]", a->t, i);
        CHECK(bmq_twitter_json(a->bus, id, args, "{\"who\": \"tsan\"}") == 0);
    }
    return NULL;
}

static void run_senders(bmq_bus *bus, const char *prefix, bmq_instance *watch)
{
    GThread *th[THREADS];
    sender_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (sender_arg){bus, t, prefix};
        th[t] = g_thread_new("tsan-sender", sender, &args[t]);
    }
    /* The main thread keeps the loop and the status readers going. */
    for (int i = 0; i < 20; i++) {
        if (watch)
            (void)fx_stat(watch, "sent");
        g_main_context_iteration(NULL, FALSE);
    }
    for (int t = 0; t < THREADS; t++)
        g_thread_join(th[t]);
}

typedef struct udp_reader {
    int fd;
    gint stop;
    gint packets;
    GThread *thread;
} udp_reader;

static gpointer udp_main(gpointer data)
{
    udp_reader *r = data;
    while (!g_atomic_int_get(&r->stop)) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        guint8 buf[9000];
        if (recv(r->fd, buf, sizeof buf, 0) > 0)
            g_atomic_int_inc(&r->packets);
    }
    return NULL;
}

typedef struct want {
    bmq_instance *inst;
    srv *s;
    udp_reader *u;
    int64_t sent;
    int packets;
} want;

static bool reached(void *d)
{
    want *w = d;
    if (w->inst && fx_stat(w->inst, "sent") < w->sent)
        return false;
    if (w->u && g_atomic_int_get(&w->u->packets) < w->packets)
        return false;
    return true;
}

typedef struct cbwait {
    fixture *fx;
    guint n;
} cbwait;

/* Socket callbacks come back as "cb:clicked" / "cb:closed" messages. */
static guint callbacks_seen(fixture *fx)
{
    guint n = 0;
    for (guint i = 0; i < fx_seen_count(fx); i++) {
        bmq_message *m = fx_seen(fx, i);
        n += strcmp(bmq_message_action(m), "clicked") == 0 ||
             strcmp(bmq_message_action(m), "closed") == 0;
        bmq_message_unref(m);
    }
    return n;
}

static bool have_callbacks(void *d)
{
    cbwait *w = d;
    return callbacks_seen(w->fx) >= w->n;
}

static guint count_notify(srv *s)
{
    guint n = 0;
    for (guint i = 0; i < srv_count(s); i++) {
        char *r = srv_req(s, i, NULL);
        if (g_str_has_prefix(r, "GNTP/1.0 NOTIFY"))
            n++;
        g_free(r);
    }
    return n;
}

int main(void)
{
    fixture fx;
    fx_init(&fx, "cb:*");
    CHECK(bmq_set_multiplicity(fx.bus, 4) == 0);

    srv s;
    srv_start(&s, MODE_OK);
    udp_reader u = {0};
    int uport;
    u.fd = bound_socket(SOCK_DGRAM, &uport);
    u.thread = g_thread_new("tsan-udp", udp_main, &u);

    char *cfg = g_strdup_printf("{\"protocol\": \"gntp\", \"host\": \"127.0.0.1\", \"port\": %d,"
                                " \"filter\": \"*:gntp\", \"callbacks\": false, \"queue\": 1000}",
                                s.port);
    char *err = NULL;
    bmq_instance *g1 = fx_create(&fx, "g1", cfg, &err);
    if (!g1)
        g_error("create g1: %s", err);
    g_free(cfg);
    cfg = g_strdup_printf("{\"protocol\": \"udp\", \"host\": \"127.0.0.1\", \"port\": %d,"
                          " \"filter\": \"*:udp\", \"queue\": 1000}",
                          uport);
    bmq_instance *g2 = fx_create(&fx, "g2", cfg, &err);
    if (!g2)
        g_error("create g2: %s", err);
    g_free(cfg);

    /* Phase 1: GNTP and UDP, every notification delivered. */
    run_senders(fx.bus, "gntp", g1);
    run_senders(fx.bus, "udp", g2);
    bmq_bus_flush(fx.bus);
    want w = {g1, &s, &u, THREADS * PER_THREAD, THREADS * PER_THREAD};
    CHECK(fx_wait(reached, &w, 60));
    want w2 = {g2, NULL, NULL, THREADS * PER_THREAD, 0};
    CHECK(fx_wait(reached, &w2, 60));
    CHECK(fx_stat(g1, "sent") == THREADS * PER_THREAD);
    CHECK(fx_stat(g1, "dropped") == 0);
    CHECK(count_notify(&s) == THREADS * PER_THREAD);
    CHECK(fx_stat(g2, "sent") == THREADS * PER_THREAD);
    /* UDP: a registration per new name, then one packet per notification. */
    CHECK(g_atomic_int_get(&u.packets) >= THREADS * PER_THREAD);

    /* Socket callbacks: read on the plugin's side and sent back as
     * messages while senders keep the queue busy. */
    srv cs;
    srv_start(&cs, MODE_CALLBACK);
    cs.cb_results[0] = "CLICKED";
    cs.cb_results[1] = "CLOSE";
    cs.cb_results[2] = "CLICKED";
    cs.cb_results[3] = "CLOSE";
    cfg = g_strdup_printf("{\"port\": %d, \"host\": \"127.0.0.1\", \"filter\": \"cb\"}", cs.port);
    bmq_instance *g3 = fx_create(&fx, "g3", cfg, &err);
    if (!g3)
        g_error("create g3: %s", err);
    g_free(cfg);
    for (int i = 0; i < 4; i++)
        CHECK(bmq_twitter_json(fx.bus, "cb:done", NULL, NULL) == 0);
    run_senders(fx.bus, "gntp", g3);
    cbwait cw = {&fx, 4};
    CHECK(fx_wait(have_callbacks, &cw, 60));
    CHECK_EQ(callbacks_seen(&fx), 4);

    /* Phase 2: destroy g1 while four threads still send to it. */
    GThread *th[THREADS];
    sender_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (sender_arg){fx.bus, t, "gntp"};
        th[t] = g_thread_new("tsan-sender", sender, &args[t]);
    }
    g_main_context_iteration(NULL, FALSE);
    bmq_instance_destroy(g1);
    for (int t = 0; t < THREADS; t++)
        g_thread_join(th[t]);
    bmq_bus_flush(fx.bus);
    for (int i = 0; i < 50; i++)
        g_main_context_iteration(NULL, FALSE);
    CHECK(bmq_instance_find(fx.host, "g1") == NULL);
    CHECK(bmq_instance_find(fx.host, "g2") == g2);

    fx_free(&fx);
    srv_stop(&cs);
    g_atomic_int_set(&u.stop, 1);
    g_thread_join(u.thread);
    close(u.fd);
    srv_stop(&s);
    return check_result();
}
