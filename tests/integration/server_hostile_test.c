/* server_hostile_test.c - the hub's HTTP server under clients that hold
 * connections without finishing requests: 300 idle connections and 50 that
 * drip a byte at a time must not keep `berrymq twitter`, `listen` and
 * `status` from working, a 100 MB chunked body is refused with a 413
 * long before it is all sent, and headers or a body dripped a byte at a
 * time are cut off at their deadline (header_timeout, body_timeout).
 */
#include "cli_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_IDLE 300
#define N_DRIP 50

static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* ---- drippers: one byte per second on each connection ---------------- */

static int drip_fds[N_DRIP];
static volatile int drip_stop;

static void *dripper(void *arg)
{
    (void)arg;
    while (!drip_stop) {
        for (int i = 0; i < N_DRIP; i++)
            if (drip_fds[i] >= 0 && send(drip_fds[i], "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
                close(drip_fds[i]);
                drip_fds[i] = -1; /* closed by the hub: fine */
            }
        for (int t = 0; t < 10 && !drip_stop; t++)
            usleep(100000);
    }
    return NULL;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048) {
        rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void hostile_load(cli_h *h)
{
    int idle[N_IDLE];
    int n_idle = 0;
    for (int i = 0; i < N_IDLE; i++)
        if ((idle[i] = dial(h->port)) >= 0)
            n_idle++;
    EXPECT_MSG(n_idle == N_IDLE, "opened %d of %d idle connections", n_idle, N_IDLE);
    for (int i = 0; i < N_DRIP; i++) {
        drip_fds[i] = dial(h->port);
        /* half drip their headers, half a body that never ends */
        const char *start =
            i % 2 ? "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
                  : "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    "Content-Length: 100000\r\n\r\n[";
        EXPECT_MSG(drip_fds[i] >= 0 && send_all(drip_fds[i], start, strlen(start)),
                   "drip connection %d", i);
    }
    pthread_t t;
    pthread_create(&t, NULL, dripper, NULL);

    /* What a user does meanwhile. */
    cli_proc lp;
    const char *largv[] = {"listen", "hostile:*", "--count", "1", NULL};
    EXPECT_MSG(cli_h_spawn(h, &lp, largv) == 0, "spawn listen");
    EXPECT_MSG(cli_h_wait_queue(h, "hostile:*", true, 20.0), "listen did not connect under load");
    cli_run r;
    int rc = cli_h_runv(h, &r, "twitter", "hostile:ping", "1", NULL);
    EXPECT_MSG(rc == 0, "twitter under load: exit %d, stderr: %s", rc, r.err);
    cli_run_free(&r);
    char *line = cli_proc_line(&lp, 20.0);
    EXPECT_MSG(line && strstr(line, "\"hostile:ping\""), "listen printed '%s'", line ? line : "");
    free(line);
    char *err = NULL;
    rc = cli_proc_wait(&lp, 20.0, &err);
    EXPECT_MSG(rc == 0, "listen exit %d: %s", rc, err ? err : "");
    free(err);
    free(lp.out);
    for (int i = 0; i < 20; i++) {
        rc = cli_h_runv(h, &r, "twitter", "hostile:more", NULL);
        EXPECT_MSG(rc == 0, "twitter %d under load: exit %d, stderr: %s", i, rc, r.err);
        cli_run_free(&r);
    }
    json_object *st = cli_h_status(h);
    EXPECT_MSG(st != NULL, "status under load");
    json_object_put(st);

    drip_stop = 1;
    pthread_join(t, NULL);
    for (int i = 0; i < N_DRIP; i++)
        if (drip_fds[i] >= 0)
            close(drip_fds[i]);
    for (int i = 0; i < N_IDLE; i++)
        if (idle[i] >= 0)
            close(idle[i]);
}

/* Stream a 100 MB chunked body; the hub must answer 413 and close while
 * most of it is still unsent. */
static void chunked_too_large(cli_h *h)
{
    int fd = dial(h->port);
    EXPECT_MSG(fd >= 0, "dial");
    if (fd < 0)
        return;
    const char *head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n";
    EXPECT_MSG(send_all(fd, head, strlen(head)), "send head");
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    static char chunk[65536 + 16];
    size_t hdr = (size_t)snprintf(chunk, sizeof chunk, "%x\r\n", 65536);
    memset(chunk + hdr, ' ', 65536);
    memcpy(chunk + hdr + 65536, "\r\n", 2);
    size_t chunk_len = hdr + 65536 + 2;
    const size_t total = 100u * 1024 * 1024;
    size_t sent = 0, off = 0;
    char answer[4096];
    size_t got = 0;
    bool closed = false;
    double until = cli_now() + 60;
    while (sent < total && !closed && cli_now() < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
        if (poll(&p, 1, 1000) <= 0)
            continue;
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, answer + got, sizeof answer - 1 - got, 0);
            if (n > 0)
                got += (size_t)n;
            else
                closed = true;
            continue;
        }
        if (p.revents & POLLOUT) {
            ssize_t w = send(fd, chunk + off, chunk_len - off, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN)
                closed = true;
            else if (w > 0) {
                sent += (size_t)w;
                off = (off + (size_t)w) % chunk_len;
            }
        }
    }
    /* read what is left of the answer */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n;
    while (got < sizeof answer - 1 && (n = recv(fd, answer + got, sizeof answer - 1 - got, 0)) > 0)
        got += (size_t)n;
    answer[got] = '\0';
    close(fd);
    fprintf(stderr, "chunked body: %zu bytes sent before the answer\n", sent);
    EXPECT_MSG(strstr(answer, " 413 ") != NULL, "no 413 for a 100 MB chunked body: '%s'", answer);
    EXPECT_MSG(strstr(answer, "request body too large") != NULL, "413 text: '%s'", answer);
    EXPECT_MSG(sent < 32u * 1024 * 1024, "%zu bytes were taken before the refusal", sent);
}

/* Sends @start, then a byte every 0.1 s until the hub closes the
 * connection (true) or 60 s pass (false). Each byte resets the server's
 * idle timeout, so only a deadline for the request's phase ends it. */
static bool drip_until_closed(uint16_t port, const char *start)
{
    int fd = dial(port);
    EXPECT_MSG(fd >= 0 && send_all(fd, start, strlen(start)), "dial");
    bool closed = false;
    double until = cli_now() + 60;
    while (fd >= 0 && !closed && cli_now() < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0) {
            char b[256];
            closed = recv(fd, b, sizeof b, MSG_DONTWAIT) <= 0;
        } else if (send(fd, "a", 1, MSG_NOSIGNAL) != 1) {
            closed = true;
        }
    }
    if (fd >= 0)
        close(fd);
    return closed;
}

/* A client that sends its headers a byte at a time is closed once the
 * header deadline (10 s by default) has passed, drip or not. */
static void header_deadline(cli_h *h)
{
    EXPECT_MSG(drip_until_closed(h->port, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "),
               "a header drip was never cut off");
}

/* The same for a body: whole headers, then a body a byte at a time is
 * closed once body_timeout (from hub.json) has passed since the headers. */
static void body_deadline(cli_h *h)
{
    EXPECT_MSG(drip_until_closed(h->port, "POST /JSON HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                          "Content-Type: application/json\r\n"
                                          "Content-Length: 100000\r\n\r\n["),
               "a body drip was never cut off (body_timeout 2)");
    /* The hub serves the next client as usual. */
    cli_run r;
    int rc = cli_h_runv(h, &r, "twitter", "hostile:body", NULL);
    EXPECT_MSG(rc == 0, "twitter after a body drip: exit %d, stderr: %s", rc, r.err);
    cli_run_free(&r);
}

/* Another local user (uid 65534) gets at most 64 connections; the hub's
 * own user is unaffected. Needs root to become that user. */
static void other_uid_limit(cli_h *h)
{
    if (geteuid() != 0) {
        fprintf(stderr, "not root: per-uid limit not tried\n");
        return;
    }
    int pipefd[2];
    EXPECT_MSG(pipe(pipefd) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        int fds[100], refused = 0;
        char why[512] = "";
        for (int i = 0; i < 100; i++)
            fds[i] = dial(h->port);
        sleep(1); /* refusals are written at once; the rest stay open for 10 s */
        for (int i = 0; i < 100; i++) {
            if (fds[i] < 0) {
                refused++;
                continue;
            }
            struct pollfd p = {.fd = fds[i], .events = POLLIN};
            if (poll(&p, 1, 0) > 0) {
                char b[512];
                ssize_t n = recv(fds[i], b, sizeof b - 1, 0);
                refused++;
                if (n > 0 && !why[0]) {
                    b[n] = '\0';
                    snprintf(why, sizeof why, "%s", b);
                }
            }
        }
        dprintf(pipefd[1], "%d\n%s", refused, why);
        _exit(0);
    }
    close(pipefd[1]);
    char buf[1024] = "";
    size_t got = 0;
    ssize_t n;
    while ((n = read(pipefd[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(pipefd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "uid 65534 child failed");
    EXPECT_MSG(atoi(buf) == 36, "uid 65534: %d of 100 connections refused, expected 36", atoi(buf));
    EXPECT_MSG(strstr(buf, "max_connections_per_peer") != NULL, "refusal text: %s", buf);
    cli_run r;
    int rc = cli_h_runv(h, &r, "twitter", "hostile:owner", NULL);
    EXPECT_MSG(rc == 0, "twitter next to another user's connections: exit %d, %s", rc, r.err);
    cli_run_free(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    cli_h h;
    if (cli_h_init(&h, "server-hostile") != 0)
        return 1;
    if (cli_h_hub_start(&h, NULL) != 0) {
        cli_h_cleanup(&h);
        return 1;
    }
    hostile_load(&h);
    chunked_too_large(&h);
    header_deadline(&h);
    other_uid_limit(&h);
    /* The hub is still fine afterwards. */
    cli_run r;
    int rc = cli_h_runv(&h, &r, "twitter", "hostile:after", NULL);
    EXPECT_MSG(rc == 0, "twitter after: exit %d, stderr: %s", rc, r.err);
    cli_run_free(&r);
    rc = cli_h_hub_stop(&h);
    EXPECT_MSG(rc == 0, "hub exit %d", rc);
    /* Again with a short body deadline from hub.json. */
    cli_h_write_config(&h, "{\"plugins\": [], \"body_timeout\": 2}\n");
    if (cli_h_hub_start(&h, NULL) == 0) {
        body_deadline(&h);
        rc = cli_h_hub_stop(&h);
        EXPECT_MSG(rc == 0, "hub exit %d", rc);
    } else {
        EXPECT_MSG(false, "hub with body_timeout 2 did not start");
    }
    cli_h_cleanup(&h);
    return check_result();
}
