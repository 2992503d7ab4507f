/* server_bounds_test.c - a listener's queue in the hub is bounded in
 * messages (max_queue_messages) and in bytes (max_queue_bytes): a stopped
 * `berrymq listen` loses the oldest messages past either bound, and when
 * it goes on it says how many it lost and names the bound that dropped
 * them; `status` shows the bytes queued. Real hub, real CLI.
 */
#include "cli_harness.h"
#include "rpc_post.h"

#include <glib.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BYTES 16384
#define MAX_MSGS  50

/* Send @n messages ID with args [first + i, PAD] (PAD: @pad 'x's) in one
 * batch. */
static void send_batch(cli_h *h, const char *id, int first, int n, int pad)
{
    rp_conn *c = rp_connect(h->addr);
    EXPECT_MSG(c != NULL, "connect to %s", h->addr);
    if (!c)
        return;
    const char *open = "{\"id\":1,\"method\":\"connect_oneway\",\"params\":[60]}";
    char *a = rp_post(c, open, strlen(open));
    char *tok = a ? strstr(a, "\"result\":\"") : NULL;
    EXPECT_MSG(tok != NULL, "connect_oneway: %s", a ? a : "(nothing)");
    if (tok) {
        tok += 10;
        *strchr(tok, '"') = '\0';
        char *padding = g_strnfill((gsize)pad, 'x');
        GString *b = g_string_new("[");
        for (int i = 0; i < n; i++)
            g_string_append_printf(b,
                                   "%s{\"id\":%d,\"method\":\"send_message\",\"params\":[\"%s\","
                                   "\"%s\",[%d,\"%s\"],{}]}",
                                   i ? "," : "", i, tok, id, first + i, padding);
        g_string_append_c(b, ']');
        char *r = rp_post(c, b->str, b->len);
        EXPECT_MSG(r && !strstr(r, "timeout") && !strstr(r, "invalid") && !strstr(r, "\"error\":{"),
                   "batch refused: %.200s", r ? r : "(nothing)");
        free(r);
        g_string_free(b, TRUE);
        g_free(padding);
    }
    free(a);
    rp_close(c);
}

/* The number @key the hub reports for the queue following @pattern
 * (queued, queued_bytes, sent), -1 when there is none. */
static long queue_stat(cli_h *h, const char *pattern, const char *key)
{
    json_object *st = cli_h_status(h), *server, *links, *p, *b;
    long n = -1;
    if (st && json_object_object_get_ex(st, "server", &server) &&
        json_object_object_get_ex(server, "links", &links))
        for (size_t i = 0; i < json_object_array_length(links); i++) {
            json_object *l = json_object_array_get_idx(links, i);
            if (json_object_object_get_ex(l, "pattern", &p) &&
                json_object_is_type(p, json_type_string) &&
                strcmp(json_object_get_string(p), pattern) == 0 &&
                json_object_object_get_ex(l, key, &b))
                n = (long)json_object_get_int64(b);
        }
    json_object_put(st);
    return n;
}

typedef struct {
    int printed, lost, rc; /* printed: not counting the primer */
    int extra;             /* 1 when the primer was in the queue with the rest */
    int last;              /* args[0] of the last message printed, -1 if none */
    char *err;
} outcome;

/* listen PATTERN, stopped while @send runs, then let it drain. A stopped
 * listener may have a get waiting in the hub: a first message (the primer,
 * args [-1]) is taken by it, or stays queued when there was none, so that
 * nothing of what @send sends leaves the queue before the listener goes
 * on. */
static outcome stopped_listener(cli_h *h, const char *pattern, const char *primer, bool lossy,
                                void (*send)(cli_h *h), long *bytes_while_stopped)
{
    outcome o = {.last = -1, .lost = -1};
    cli_proc p;
    const char *argv[] = {"listen", pattern, "--timeout", "2", lossy ? "--lossy" : NULL, NULL};
    EXPECT_MSG(cli_h_spawn(h, &p, argv) == 0, "spawn listen");
    EXPECT_MSG(cli_h_wait_queue(h, pattern, true, 15.0), "listen did not connect");
    kill(p.pid, SIGSTOP);
    send_batch(h, primer, -1, 1, 0);
    double until = cli_now() + 15.0;
    while (queue_stat(h, pattern, "sent") + queue_stat(h, pattern, "queued") < 1 &&
           cli_now() < until)
        usleep(20000);
    bool primed = queue_stat(h, pattern, "sent") == 1;
    send(h);
    if (bytes_while_stopped)
        *bytes_while_stopped = queue_stat(h, pattern, "queued_bytes");
    o.extra = primed ? 0 : 1; /* a primer left queued is dropped with the oldest */
    kill(p.pid, SIGCONT);
    char *line;
    while ((line = cli_proc_line(&p, 20.0))) {
        o.printed++;
        json_object *m = cli_json(line), *args;
        int n = -1;
        if (m && json_object_object_get_ex(m, "args", &args))
            n = json_object_get_int(json_object_array_get_idx(args, 0));
        if (n >= 0)
            o.last = n;
        else
            o.printed--; /* the primer */
        json_object_put(m);
        free(line);
    }
    o.rc = cli_proc_wait(&p, 30.0, &o.err);
    free(p.out);
    /* every loss line counts */
    for (char *e = o.err; e && (e = strstr(e, "berrymq: lost ")); e++) {
        int n = 0;
        if (sscanf(e, "berrymq: lost %d messages", &n) == 1)
            o.lost = (o.lost < 0 ? 0 : o.lost) + n;
    }
    fprintf(stderr, "%s%s: printed %d (last %d), exit %d, stderr: %s", pattern,
            lossy ? " --lossy" : "", o.printed, o.last, o.rc, o.err ? o.err : "");
    EXPECT_MSG(cli_h_wait_queue(h, pattern, false, 10.0), "queue of %s left behind", pattern);
    return o;
}

/* 100 messages of about 1 KB, then one of 20 KB (over the bound alone). */
static void send_big(cli_h *h)
{
    send_batch(h, "big:n", 0, 100, 1000);
    send_batch(h, "big:huge", 100, 1, 20000);
}

static void send_many(cli_h *h)
{
    send_batch(h, "many:n", 0, 200, 0);
}

static void byte_bound(cli_h *h)
{
    long bytes = -1;
    outcome o = stopped_listener(h, "big:*", "big:primer", true, send_big, &bytes);
    EXPECT_MSG(bytes > 0 && bytes <= MAX_BYTES, "queued_bytes %ld with max_queue_bytes %d", bytes,
               MAX_BYTES);
    EXPECT_MSG(o.rc == 0, "--lossy exit %d", o.rc);
    EXPECT_MSG(o.err && strstr(o.err, "(queue full: max_queue_bytes)\n"), "stderr '%s'",
               o.err ? o.err : "");
    /* ~1 KB each: only the newest 15 or so fit; the 20 KB one never does. */
    EXPECT_MSG(o.printed > 0 && o.printed * 1000 <= MAX_BYTES, "printed %d", o.printed);
    EXPECT_MSG(o.printed + o.lost == 101 + o.extra, "printed %d + lost %d != 101 (+%d)", o.printed,
               o.lost, o.extra);
    EXPECT_MSG(o.last == 99, "the last printed is #%d, not the newest #99", o.last);
    free(o.err);
}

static void message_bound(cli_h *h)
{
    outcome o = stopped_listener(h, "many:*", "many:primer", false, send_many, NULL);
    EXPECT_MSG(o.rc == 4, "exit %d after an overflow", o.rc);
    char want[96];
    snprintf(want, sizeof want, "berrymq: lost %d messages (queue full: max_queue_messages)\n",
             150 + o.extra);
    EXPECT_MSG(o.err && strstr(o.err, want), "stderr '%s'", o.err ? o.err : "");
    EXPECT_MSG(o.printed == MAX_MSGS && o.last == 199, "printed %d, last #%d", o.printed, o.last);
    free(o.err);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    cli_h h;
    if (cli_h_init(&h, "server-bounds") != 0)
        return 1;
    char cfg[128];
    snprintf(cfg, sizeof cfg, "{\"max_queue_bytes\": %d, \"max_queue_messages\": %d}\n", MAX_BYTES,
             MAX_MSGS);
    cli_h_write_config(&h, cfg);
    if (cli_h_hub_start(&h, NULL) != 0) {
        cli_h_cleanup(&h);
        return 1;
    }
    byte_bound(&h);
    message_bound(&h);
    int rc = cli_h_hub_stop(&h);
    EXPECT_MSG(rc == 0, "hub exit %d", rc);
    cli_h_cleanup(&h);
    return check_result();
}
