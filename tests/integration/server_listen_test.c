/* server_listen_test.c - `berrymq listen` loses nothing silently: a
 * 50,000-message burst sent in 1,000-message JSON-RPC batches is printed
 * whole, and a listener whose queue overflowed (it was stopped while
 * 102,000 messages came) says how many it lost and exits 4, or goes on
 * with --lossy.
 */
#include "cli_harness.h"

#include <glib.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

/* POST @body (Connection: close) and return the whole answer (transfer full). */
static char *post(cli_h *h, const char *body)
{
    int fd = dial(h->port);
    if (fd < 0)
        return NULL;
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      strlen(body));
    bool ok = send(fd, head, (size_t)hl, MSG_NOSIGNAL) == hl;
    for (size_t off = 0, n = strlen(body); ok && off < n;) {
        ssize_t w = send(fd, body + off, n - off, MSG_NOSIGNAL);
        ok = w > 0;
        off += w > 0 ? (size_t)w : 0;
    }
    size_t cap = 1 << 16, len = 0;
    char *ans = malloc(cap);
    ssize_t r;
    while (ok && (r = recv(fd, ans + len, cap - len - 1, 0)) > 0) {
        len += (size_t)r;
        if (len + 1 == cap)
            ans = realloc(ans, cap *= 2);
    }
    ans[len] = '\0';
    close(fd);
    return ans;
}

/* Send @n messages burst:N in batches of 1000 send_message requests. */
static void burst(cli_h *h, int n)
{
    char *a = post(h, "{\"id\":1,\"method\":\"connect_oneway\",\"params\":[60]}");
    char *tok = a ? strstr(a, "\"result\":\"") : NULL;
    EXPECT_MSG(tok != NULL, "connect_oneway: %s", a ? a : "(nothing)");
    if (!tok) {
        free(a);
        return;
    }
    tok += 10;
    *strchr(tok, '"') = '\0';
    GString *b = g_string_new(NULL);
    for (int sent = 0; sent < n;) {
        g_string_assign(b, "[");
        for (int i = 0; i < 1000 && sent < n; i++, sent++)
            g_string_append_printf(b,
                                   "%s{\"id\":%d,\"method\":\"send_message\",\"params\":[\"%s\","
                                   "\"burst:n\",[%d],{}]}",
                                   i ? "," : "", sent, tok, sent);
        g_string_append_c(b, ']');
        char *r = post(h, b->str);
        EXPECT_MSG(r && strstr(r, " 200 ") && !strstr(r, "timeout") && !strstr(r, "invalid"),
                   "batch at %d refused: %.200s", sent, r ? r : "(nothing)");
        free(r);
    }
    g_string_free(b, TRUE);
    free(a);
}

static void whole_burst(cli_h *h)
{
    cli_proc p;
    const char *argv[] = {"listen", "burst:*", "--count", "50000", NULL};
    EXPECT_MSG(cli_h_spawn(h, &p, argv) == 0, "spawn listen");
    EXPECT_MSG(cli_h_wait_queue(h, "burst:*", true, 15.0), "listen did not connect");
    burst(h, 50000);
    int got = 0, in_order = 1;
    char *line;
    while (got < 50000 && (line = cli_proc_line(&p, 30.0))) {
        char want[32];
        snprintf(want, sizeof want, "\"args\":[%d]", got);
        if (!strstr(line, want))
            in_order = 0;
        got++;
        free(line);
    }
    char *err = NULL;
    int rc = cli_proc_wait(&p, 30.0, &err);
    fprintf(stderr, "50,000-message burst: listen printed %d\n", got);
    EXPECT_MSG(got == 50000, "listen printed %d of 50000 messages", got);
    EXPECT_MSG(in_order, "messages out of order");
    EXPECT_MSG(rc == 0, "listen exit %d, stderr %s", rc, err ? err : "");
    EXPECT_MSG(err && !err[0], "listen stderr: %s", err ? err : "");
    free(err);
    free(p.out);
}

/* The listener is stopped while 102,000 messages arrive: its queue in the
 * hub (100,000) overflows. */
static void overflow(cli_h *h, bool lossy)
{
    cli_proc p;
    const char *argv[] = {"listen", "burst:*", "--timeout", "3", lossy ? "--lossy" : NULL, NULL};
    EXPECT_MSG(cli_h_spawn(h, &p, argv) == 0, "spawn listen");
    EXPECT_MSG(cli_h_wait_queue(h, "burst:*", true, 15.0), "listen did not connect");
    kill(p.pid, SIGSTOP);
    burst(h, 102000);
    kill(p.pid, SIGCONT);
    int got = 0;
    char *line;
    while ((line = cli_proc_line(&p, 20.0))) {
        got++;
        free(line);
    }
    char *err = NULL;
    int rc = cli_proc_wait(&p, 30.0, &err);
    fprintf(stderr, "overflow%s: printed %d, exit %d, stderr: %s", lossy ? " (--lossy)" : "", got,
            rc, err ? err : "");
    EXPECT_MSG(rc == (lossy ? 0 : 4), "exit %d after an overflow", rc);
    /* Without --lossy it stops at the first loss; with it, what was
     * printed and what was lost make up the whole burst. */
    int lost = -1;
    EXPECT_MSG(err && sscanf(err, "berrymq: lost %d messages (queue full)\n", &lost) == 1 &&
                   lost > 0,
               "stderr '%s'", err ? err : "");
    if (lossy)
        EXPECT_MSG(got + lost == 102000, "printed %d + lost %d != 102000", got, lost);
    free(err);
    free(p.out);
    EXPECT_MSG(cli_h_wait_queue(h, "burst:*", false, 10.0), "queue left behind");
}

/* 10,000 connect_via_queue calls with ttl 0 from the hub's own user: at
 * most max_queues (1,024) are granted, the rest refused naming the limit;
 * closing them frees the places again. */
static void queue_flood(cli_h *h)
{
    int granted = 0, named = 0;
    GString *b = g_string_new(NULL);
    for (int sent = 0; sent < 10000; sent += 1000) {
        g_string_assign(b, "[");
        for (int i = 0; i < 1000; i++)
            g_string_append_printf(b,
                                   "%s{\"id\":%d,\"method\":\"connect_via_queue\",\"params\":"
                                   "[\"flood%d:*\",0]}",
                                   i ? "," : "", sent + i, sent + i);
        g_string_append_c(b, ']');
        char *r = post(h, b->str);
        for (char *p = r; p && (p = strstr(p, "\"result\":\"")); p++)
            granted++;
        for (char *p = r; p && (p = strstr(p, "(max_queues)")); p++)
            named++;
        free(r);
    }
    g_string_free(b, TRUE);
    fprintf(stderr, "queue flood: %d of 10000 granted, %d refusals name max_queues\n", granted,
            named);
    EXPECT_MSG(granted > 0 && granted <= 1024, "%d queues granted", granted);
    EXPECT_MSG(named == 10000 - granted, "%d refusals name the limit", named);
    cli_run r;
    int rc = cli_h_runv(h, &r, "twitter", "flood1:x", NULL);
    EXPECT_MSG(rc == 0, "twitter after the flood: %d %s", rc, r.err);
    cli_run_free(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    cli_h h;
    if (cli_h_init(&h, "server-listen") != 0)
        return 1;
    if (cli_h_hub_start(&h, NULL) != 0) {
        cli_h_cleanup(&h);
        return 1;
    }
    whole_burst(&h);
    overflow(&h, false);
    overflow(&h, true);
    queue_flood(&h);
    int rc = cli_h_hub_stop(&h);
    EXPECT_MSG(rc == 0, "hub exit %d", rc);
    cli_h_cleanup(&h);
    return check_result();
}
