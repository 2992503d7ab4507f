/* net_proc.h - start net_peer processes and talk to them line by line. */
#ifndef BMQ_NET_PROC_H
#define BMQ_NET_PROC_H

#include "check.h"

#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int in;  /* its stdin */
    int out; /* its stdout */
    GString *buf;
    unsigned port;
    char name[16];
} peer;

static void peer_spawn(peer *p, const char *name)
{
    int to[2], from[2];
    CHECK(pipe(to) == 0 && pipe(from) == 0);
    p->pid = fork();
    CHECK(p->pid >= 0);
    if (p->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[1]);
        close(from[0]);
        execl(NET_PEER_PATH, NET_PEER_PATH, name, (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    p->in = to[1];
    p->out = from[0];
    p->buf = g_string_new(NULL);
    p->port = 0;
    g_strlcpy(p->name, name, sizeof p->name);
}

/* Send a command, return its reply line (transfer full). */
static char *peer_cmd(peer *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static char *peer_cmd(peer *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *c = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *line = g_strconcat(c, "\n", NULL);
    CHECK(write(p->in, line, strlen(line)) == (ssize_t)strlen(line));
    g_free(line);
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    for (;;) {
        char *nl = strchr(p->buf->str, '\n');
        if (nl) {
            char *r = g_strndup(p->buf->str, (gsize)(nl - p->buf->str));
            g_string_erase(p->buf, 0, nl - p->buf->str + 1);
            g_free(c);
            return r;
        }
        struct pollfd pf = {.fd = p->out, .events = POLLIN};
        int left = (int)((deadline - g_get_monotonic_time()) / 1000);
        if (left <= 0 || poll(&pf, 1, left) != 1) {
            fprintf(stderr, "peer %s: no reply to '%s'\n", p->name, c);
            exit(1);
        }
        char tmp[4096];
        ssize_t n = read(p->out, tmp, sizeof tmp);
        if (n <= 0) {
            fprintf(stderr, "peer %s: died during '%s'\n", p->name, c);
            exit(1);
        }
        g_string_append_len(p->buf, tmp, n);
    }
}

/* A command whose reply must start with @prefix; returns the rest. */
static char *peer_expect(peer *p, const char *prefix, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static char *peer_expect(peer *p, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *c = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *r = peer_cmd(p, "%s", c);
    if (!g_str_has_prefix(r, prefix)) {
        fprintf(stderr, "peer %s: '%s' answered '%s', expected '%s...'\n", p->name, c, r, prefix);
        exit(1);
    }
    char *rest = g_strdup(r + strlen(prefix));
    g_free(r);
    g_free(c);
    return rest;
}

static void peer_listen(peer *p)
{
    char *port = peer_expect(p, "port ", "listen");
    p->port = (unsigned)atoi(port);
    CHECK(p->port > 0);
    g_free(port);
}

/* Returns the link index. */
static int peer_link(peer *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int peer_link(peer *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *c = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *r = peer_expect(p, "ok ", "%s", c);
    int idx = atoi(r);
    g_free(r);
    g_free(c);
    return idx;
}

static void peer_count(peer *p, unsigned long *total, unsigned long *distinct)
{
    char *r = peer_expect(p, "count ", "count");
    CHECK(sscanf(r, "%lu %lu", total, distinct) == 2);
    g_free(r);
}

/* Wait until the peer counted @want messages, then make sure no more come. */
static void peer_wait_count(peer *p, unsigned long want)
{
    unsigned long t = 0, d = 0;
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    while (g_get_monotonic_time() < deadline) {
        peer_count(p, &t, &d);
        if (t >= want)
            break;
        g_usleep(20000);
    }
    g_usleep(300000);
    peer_count(p, &t, &d);
    if (t != want || d != want) {
        fprintf(stderr, "peer %s: %lu messages (%lu distinct), expected exactly %lu\n", p->name, t,
                d, want);
        exit(1);
    }
}

static void peer_quit(peer *p)
{
    char *r = peer_cmd(p, "quit");
    CHECK_STR(r, "bye");
    g_free(r);
    int st = 0;
    CHECK(waitpid(p->pid, &st, 0) == p->pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "peer %s exited with status %d\n", p->name, st);
        exit(1);
    }
    close(p->in);
    close(p->out);
    g_string_free(p->buf, TRUE);
}

static void peer_kill(peer *p)
{
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    close(p->in);
    close(p->out);
    g_string_free(p->buf, TRUE);
}

#endif
