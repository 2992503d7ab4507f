/* bench_hostile.c - the hub's server under hostile local clients, in one
 * run on one hub:
 *
 *   1. latency of `berrymq twitter` (spawn to exit, loopback TCP) and of a
 *      send_message round trip on a kept connection, quiet against with
 *      300 idle and 50 slow-drip connections open on the same listener.
 *      Quiet and hostile blocks alternate so that both see the same
 *      machine load; the hostile connections the hub cuts off (header,
 *      body and idle deadlines) are opened again at once, so the load
 *      stays at 350 throughout.
 *   2. the hub's resident memory idle, after 10,000 connect_via_queue
 *      calls with ttl 0 (from the hub's own user, who gets the most:
 *      max_queues in all), and after 1,000 messages that every granted
 *      queue keeps.
 *
 *   bench_hostile [RUNS [QUEUES]]   (default 200 samples per case, 0.1 s
 *                                    apart, and 10,000 queues; about a
 *                                    minute)
 *
 * Prints p50/p99 per case and the RSS figures in MiB.
 */
#include "cli_harness.h"
#include "rpc_post.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#define N_IDLE  300
#define N_DRIP  50
#define BLOCK   100    /* samples per quiet or hostile block */
#define PACE_US 100000 /* between samples: a block lasts past the hub's 10 s header deadline */

extern char **environ;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

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

/* ---- the hostile load ---------------------------------------------------- */

typedef struct load {
    uint16_t port;
    int fds[N_IDLE + N_DRIP]; /* idle first, then drippers */
    volatile int stop;
    pthread_t thread;
    unsigned reopened;
} load;

static const char *drip_start(int i)
{
    /* half drip their headers, half a body that never ends */
    return i % 2 ? "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
                 : "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   "Content-Length: 100000\r\n\r\n[";
}

static void open_one(load *l, int i)
{
    l->fds[i] = dial(l->port);
    if (l->fds[i] >= 0 && i >= N_IDLE) {
        const char *s = drip_start(i);
        if (send(l->fds[i], s, strlen(s), MSG_NOSIGNAL) != (ssize_t)strlen(s)) {
            close(l->fds[i]);
            l->fds[i] = -1;
        }
    }
}

/* Keep all 350 open: drip a byte a second; reopen what the hub closed. */
static void *keeper(void *arg)
{
    load *l = arg;
    struct pollfd p[N_IDLE + N_DRIP];
    for (unsigned tick = 0; !l->stop; tick++) {
        for (int i = 0; i < N_IDLE + N_DRIP; i++)
            p[i] = (struct pollfd){.fd = l->fds[i], .events = POLLIN};
        poll(p, N_IDLE + N_DRIP, 100);
        for (int i = 0; i < N_IDLE + N_DRIP; i++) {
            bool gone = l->fds[i] < 0 || (p[i].revents & (POLLIN | POLLHUP | POLLERR));
            if (!gone && i >= N_IDLE && tick % 10 == 0)
                gone = send(l->fds[i], "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1;
            if (gone) {
                if (l->fds[i] >= 0)
                    close(l->fds[i]);
                open_one(l, i);
                l->reopened++;
            }
        }
    }
    return NULL;
}

static int load_start(load *l, uint16_t port)
{
    memset(l, 0, sizeof *l);
    l->port = port;
    int open = 0;
    for (int i = 0; i < N_IDLE + N_DRIP; i++) {
        open_one(l, i);
        open += l->fds[i] >= 0;
    }
    pthread_create(&l->thread, NULL, keeper, l);
    usleep(200000); /* the hub has accepted them all */
    return open;
}

static unsigned load_stop(load *l)
{
    l->stop = 1;
    pthread_join(l->thread, NULL);
    for (int i = 0; i < N_IDLE + N_DRIP; i++)
        if (l->fds[i] >= 0)
            close(l->fds[i]);
    return l->reopened;
}

/* ---- what is measured ---------------------------------------------------- */

/* `berrymq twitter` over loopback TCP, spawn to exit, in ms (-1: failed). */
static double cli_twitter(const char *cli)
{
    char *argv[] = {(char *)cli, "twitter", "bench:run", "1", NULL};
    double t0 = cli_now();
    pid_t pid;
    if (posix_spawn(&pid, cli, NULL, NULL, argv, environ) != 0)
        return -1;
    int st = 0;
    waitpid(pid, &st, 0);
    double ms = (cli_now() - t0) * 1000.0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? ms : -1;
}

/* One send_message answered on a kept connection, in ms (-1: failed). */
static double rpc_twitter(rp_conn *c, const char *token)
{
    char body[256];
    int n = snprintf(body, sizeof body,
                     "{\"id\":1,\"method\":\"send_message\",\"params\":[\"%s\",\"bench:rpc\",[1],"
                     "{}]}",
                     token);
    double t0 = cli_now();
    char *r = rp_post(c, body, (size_t)n);
    double ms = (cli_now() - t0) * 1000.0;
    bool ok = r && strstr(r, "\"result\":\"ok\"");
    free(r);
    return ok ? ms : -1;
}

static char *oneway_token(rp_conn *c)
{
    const char *req = "{\"id\":1,\"method\":\"connect_oneway\",\"params\":[0]}";
    char *r = rp_post(c, req, strlen(req));
    char *t = r ? strstr(r, "\"result\":\"") : NULL;
    char *tok = NULL;
    if (t) {
        t += 10;
        tok = g_strndup(t, strcspn(t, "\""));
    }
    free(r);
    return tok;
}

typedef struct series {
    double *v;
    int n, failed;
} series;

static void series_add(series *s, double ms)
{
    if (ms < 0)
        s->failed++;
    else
        s->v[s->n++] = ms;
}

static void report(const char *what, series *s, double quiet_p99)
{
    qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_double);
    double p50 = s->n ? s->v[s->n / 2] : 0, p99 = s->n ? s->v[(s->n * 99) / 100] : 0;
    printf("  %-10s p50 %8.3f ms   p99 %8.3f ms   (%d samples, %d failed)", what, p50, p99, s->n,
           s->failed);
    if (quiet_p99 > 0)
        printf("   p99 %.2fx quiet", p99 / quiet_p99);
    printf("\n");
}

static double p99_of(series *s)
{
    qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_double);
    return s->n ? s->v[(s->n * 99) / 100] : 0;
}

static void latency(cli_h *h, int runs)
{
    series cq = {calloc((size_t)runs, sizeof(double))}, ch = {calloc((size_t)runs, sizeof(double))};
    series rq = {calloc((size_t)runs, sizeof(double))}, rh = {calloc((size_t)runs, sizeof(double))};
    rp_conn *c = rp_connect(h->addr);
    char *tok = c ? oneway_token(c) : NULL;
    if (!tok) {
        printf("cannot open a connect_oneway link to %s\n", h->addr);
        return;
    }
    for (int i = 0; i < 20; i++) { /* warm up */
        cli_twitter(h->cli);
        rpc_twitter(c, tok);
    }
    unsigned reopened = 0;
    int min_open = N_IDLE + N_DRIP;
    for (int done = 0; done < runs; done += BLOCK) {
        int k = runs - done < BLOCK ? runs - done : BLOCK;
        for (int i = 0; i < k; i++) {
            series_add(&cq, cli_twitter(h->cli));
            series_add(&rq, rpc_twitter(c, tok));
            usleep(PACE_US);
        }
        load l;
        int open = load_start(&l, h->port);
        if (open < min_open)
            min_open = open;
        for (int i = 0; i < k; i++) {
            series_add(&ch, cli_twitter(h->cli));
            series_add(&rh, rpc_twitter(c, tok));
            usleep(PACE_US);
        }
        reopened += load_stop(&l);
    }
    printf("latency, quiet vs. %d idle + %d slow-drip connections open (hub %s; %d of %d opened "
           "at the least, %u reopened after the hub cut them off)\n",
           N_IDLE, N_DRIP, h->addr, min_open, N_IDLE + N_DRIP, reopened);
    printf(" berrymq twitter (spawn to exit, loopback TCP):\n");
    double q = p99_of(&cq);
    report("quiet", &cq, 0);
    report("hostile", &ch, q);
    printf(" send_message round trip (kept connection):\n");
    q = p99_of(&rq);
    report("quiet", &rq, 0);
    report("hostile", &rh, q);
    g_free(tok);
    rp_close(c);
    free(cq.v);
    free(ch.v);
    free(rq.v);
    free(rh.v);
}

/* ---- memory -------------------------------------------------------------- */

static double rss_mib(pid_t pid)
{
    char path[64], *text = NULL;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    double kib = -1;
    if (g_file_get_contents(path, &text, NULL, NULL)) {
        char *p = strstr(text, "VmRSS:");
        if (p)
            kib = strtod(p + 6, NULL);
        g_free(text);
    }
    return kib / 1024.0;
}

static void memory(cli_h *h, double fresh, int queues)
{
    double idle = rss_mib(h->hub_pid);
    rp_conn *c = rp_connect(h->addr);
    if (!c)
        return;
    int granted = 0, refused = 0;
    char *tok = oneway_token(c); /* taken first: the flood fills max_queues */
    GString *b = g_string_new(NULL);
    double t0 = cli_now();
    for (int sent = 0; sent < queues; sent += 1000) {
        int n = queues - sent < 1000 ? queues - sent : 1000;
        g_string_assign(b, "[");
        for (int i = 0; i < n; i++)
            g_string_append_printf(b,
                                   "%s{\"id\":%d,\"method\":\"connect_via_queue\",\"params\":"
                                   "[\"flood:*\",0]}",
                                   i ? "," : "", sent + i);
        g_string_append_c(b, ']');
        char *r = rp_post(c, b->str, b->len);
        for (char *p = r; p && (p = strstr(p, "\"result\":\"")); p++)
            granted++;
        for (char *p = r; p && (p = strstr(p, "\"error\":{")); p++)
            refused++;
        free(r);
    }
    double flood_s = cli_now() - t0;
    double flooded = rss_mib(h->hub_pid);
    /* 1,000 messages, each kept by every granted queue. */
    t0 = cli_now();
    for (int sent = 0; tok && sent < 1000; sent += 100) {
        g_string_assign(b, "[");
        for (int i = 0; i < 100; i++)
            g_string_append_printf(b,
                                   "%s{\"id\":%d,\"method\":\"send_message\",\"params\":[\"%s\","
                                   "\"flood:x\",[%d],{}]}",
                                   i ? "," : "", sent + i, tok, sent + i);
        g_string_append_c(b, ']');
        char *r = rp_post(c, b->str, b->len);
        if (!r || strstr(r, "\"error\":{"))
            printf("  send refused: %.200s\n", r ? r : "(no answer)");
        free(r);
    }
    double send_s = cli_now() - t0;
    double full = rss_mib(h->hub_pid);
    /* And a user's twitter meanwhile. */
    double tw = cli_twitter(h->cli);
    printf("hub RSS (VmRSS of pid %d)\n", (int)h->hub_pid);
    printf("  idle, just started                        %7.1f MiB\n", fresh);
    printf("  idle, after the latency runs              %7.1f MiB\n", idle);
    printf("  after %6d connect_via_queue, ttl 0      %7.1f MiB  (+%.1f MiB; %d granted, %d "
           "refused naming the limit; %.2f s)\n",
           queues, flooded, flooded - idle, granted, refused, flood_s);
    printf("  after 1,000 messages kept by each queue   %7.1f MiB  (+%.1f MiB; %.2f s to send, "
           "i.e. %.1f M queue puts/s)\n",
           full, full - idle, send_s, send_s > 0 ? 1000.0 * granted / send_s / 1e6 : 0);
    printf("  berrymq twitter with the queues full      %7.3f ms\n", tw);
    g_free(tok);
    g_string_free(b, TRUE);
    rp_close(c);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int runs = argc > 1 ? atoi(argv[1]) : 200;
    int queues = argc > 2 ? atoi(argv[2]) : 10000;
    if (runs < 1 || queues < 0) {
        fprintf(stderr, "usage: bench_hostile [RUNS [QUEUES]]\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    cli_h h;
    if (cli_h_init(&h, "bench_hostile") != 0 || cli_h_hub_start(&h, NULL) != 0)
        return 1;
    usleep(500000);
    double fresh = rss_mib(h.hub_pid);
    latency(&h, runs);
    memory(&h, fresh, queues);
    cli_h_hub_stop(&h);
    cli_h_cleanup(&h);
    return 0;
}
