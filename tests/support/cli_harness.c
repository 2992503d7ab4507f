/* cli_harness.c - see cli_harness.h. */
#include "cli_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BMQ_CLI_BIN
#define BMQ_CLI_BIN ""
#endif
#ifndef BMQ_HUB_BIN
#define BMQ_HUB_BIN ""
#endif
#ifndef BMQ_TEST_PLUGIN_DIR
#define BMQ_TEST_PLUGIN_DIR ""
#endif

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pick(char *out, size_t size, const char *env, const char *built, const char *rel)
{
    const char *v = getenv(env);
    const char *bd = getenv("BMQ_BUILD_DIR");
    if (v && *v)
        snprintf(out, size, "%s", v);
    else if (*built)
        snprintf(out, size, "%s", built);
    else
        snprintf(out, size, "%s/%s", bd ? bd : ".", rel);
}

static int mkdir_in(char *out, size_t size, const char *root, const char *sub)
{
    snprintf(out, size, "%s/%s", root, sub);
    return mkdir(out, 0700);
}

int cli_h_init(cli_h *h, const char *name)
{
    memset(h, 0, sizeof *h);
    const char *tmp = getenv("TMPDIR");
    snprintf(h->root, sizeof h->root, "%s/bmq-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (!mkdtemp(h->root)) {
        fprintf(stderr, "mkdtemp %s: %s\n", h->root, strerror(errno));
        return -1;
    }
    if (mkdir_in(h->home, sizeof h->home, h->root, "home") < 0 ||
        mkdir_in(h->config_home, sizeof h->config_home, h->root, "config") < 0 ||
        mkdir_in(h->data_home, sizeof h->data_home, h->root, "data") < 0 ||
        mkdir_in(h->runtime_dir, sizeof h->runtime_dir, h->root, "run") < 0) {
        fprintf(stderr, "mkdir in %s: %s\n", h->root, strerror(errno));
        return -1;
    }
    snprintf(h->hub_log, sizeof h->hub_log, "%s/hub.log", h->root);
    setenv("HOME", h->home, 1);
    setenv("XDG_CONFIG_HOME", h->config_home, 1);
    setenv("XDG_DATA_HOME", h->data_home, 1);
    setenv("XDG_RUNTIME_DIR", h->runtime_dir, 1);
    unsetenv("BERRYMQ_HUB");
    unsetenv("BERRYMQ_SECRET");
    unsetenv("DISPLAY");
    unsetenv("WAYLAND_DISPLAY");
    unsetenv("DBUS_SESSION_BUS_ADDRESS");
    pick(h->cli, sizeof h->cli, "BMQ_CLI", BMQ_CLI_BIN, "app/cli/berrymq");
    pick(h->hub, sizeof h->hub, "BMQ_HUB", BMQ_HUB_BIN, "app/hub/berrymq-hub");
    pick(h->test_plugins, sizeof h->test_plugins, "BMQ_TEST_PLUGIN_DIR", BMQ_TEST_PLUGIN_DIR,
         "tests/plugins");
    if (access(h->cli, X_OK) < 0) {
        fprintf(stderr, "no berrymq CLI at %s\n", h->cli);
        return -1;
    }
    return 0;
}

int cli_h_write_config(cli_h *h, const char *json)
{
    char dir[400], path[450];
    snprintf(dir, sizeof dir, "%s/berrymq", h->config_home);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/hub.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(json, f);
    return fclose(f) == 0 ? 0 : -1;
}

uint16_t cli_h_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void print_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        fprintf(stderr, "  | %s", line);
    fclose(f);
}

int cli_h_hub_start(cli_h *h, const char *const *extra)
{
    if (access(h->hub, X_OK) < 0) {
        fprintf(stderr, "no berrymq-hub at %s\n", h->hub);
        return -1;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        h->port = cli_h_free_port();
        snprintf(h->addr, sizeof h->addr, "127.0.0.1:%u", h->port);
        const char *argv[32] = {h->hub, "--listen", h->addr, "--no-tray"};
        int n = 4;
        for (int i = 0; extra && extra[i] && n < 31; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            int log = open(h->hub_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (log >= 0) {
                dup2(log, 1);
                dup2(log, 2);
            }
            if (null >= 0)
                dup2(null, 0);
            execv(h->hub, (char *const *)argv);
            _exit(127);
        }
        h->hub_pid = pid;
        setenv("BERRYMQ_HUB", h->addr, 1);
        double deadline = cli_now() + 20.0;
        while (cli_now() < deadline) {
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                h->hub_pid = 0;
                break; /* exited: maybe the port was taken meanwhile; retry */
            }
            cli_run r;
            const char *args[] = {"status", "--json", NULL};
            int rc = cli_h_run(h, &r, args);
            cli_run_free(&r);
            if (rc == 0)
                return 0;
            usleep(20000);
        }
        if (h->hub_pid) {
            fprintf(stderr, "hub did not answer within 20 s:\n");
            print_file(h->hub_log);
            cli_h_hub_stop(h);
            return -1;
        }
    }
    fprintf(stderr, "hub exited at start:\n");
    print_file(h->hub_log);
    return -1;
}

int cli_h_hub_stop(cli_h *h)
{
    if (!h->hub_pid)
        return -1;
    kill(h->hub_pid, SIGTERM);
    /* Generous: under the sanitizers on a loaded machine, freeing a hub
     * that holds a thousand queues and the leak check take a while; a hub
     * that ignores SIGTERM still fails here. */
    double deadline = cli_now() + 60.0;
    int st = 0;
    pid_t r;
    while ((r = waitpid(h->hub_pid, &st, WNOHANG)) == 0 && cli_now() < deadline)
        usleep(10000);
    if (r == 0) {
        kill(h->hub_pid, SIGKILL);
        waitpid(h->hub_pid, &st, 0);
        h->hub_pid = 0;
        fprintf(stderr, "hub did not stop on SIGTERM:\n");
        print_file(h->hub_log);
        return -1;
    }
    h->hub_pid = 0;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (code != 0) {
        fprintf(stderr, "hub exited with %d:\n", code);
        print_file(h->hub_log);
    }
    return code;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

int cli_h_hub_kill(cli_h *h)
{
    if (h->hub_pid <= 0) {
        fprintf(stderr, "cli_h_hub_kill: no hub runs\n");
        return -1;
    }
    kill(h->hub_pid, SIGKILL);
    int st = 0;
    pid_t r = waitpid(h->hub_pid, &st, 0);
    h->hub_pid = 0;
    if (r < 0 || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
        fprintf(stderr, "cli_h_hub_kill: the hub did not die of SIGKILL (status 0x%x)\n", st);
        return -1;
    }
    return 0;
}

void cli_h_cleanup(cli_h *h)
{
    if (h->hub_pid)
        cli_h_hub_stop(h);
    if (h->root[0])
        nftw(h->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static pid_t spawn(cli_h *h, const char *const *argv, int *out_fd, int *err_fd)
{
    int o[2], e[2];
    if (pipe2(o, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(e, O_CLOEXEC) < 0) {
        close(o[0]);
        close(o[1]);
        return -1;
    }
    const char *args[64] = {h->cli};
    int n = 1;
    for (int i = 0; argv[i] && n < 63; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0)
            dup2(null, 0);
        dup2(o[1], 1);
        dup2(e[1], 2);
        execv(h->cli, (char *const *)args);
        _exit(127);
    }
    close(o[1]);
    close(e[1]);
    *out_fd = o[0];
    *err_fd = e[0];
    return pid;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
    *buf = realloc(*buf, *len + n + 1);
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

/* Read both pipes until EOF or @deadline. */
static void drain(int *fds, char **bufs, size_t *lens, double deadline)
{
    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
        double left = deadline - cli_now();
        if (left <= 0)
            return;
        int r = poll(p, 2, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        for (int i = 0; i < 2; i++) {
            if (fds[i] < 0 || !p[i].revents)
                continue;
            char data[4096];
            ssize_t k = read(fds[i], data, sizeof data);
            if (k > 0) {
                append(&bufs[i], &lens[i], data, (size_t)k);
            } else if (k == 0 || errno != EINTR) {
                close(fds[i]);
                fds[i] = -1;
            }
        }
    }
}

static int wait_status(pid_t pid, double deadline)
{
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, WNOHANG)) == 0 && cli_now() < deadline)
        usleep(2000);
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int cli_h_run(cli_h *h, cli_run *r, const char *const *argv)
{
    int fds[2];
    char *bufs[2] = {NULL, NULL};
    size_t lens[2] = {0, 0};
    memset(r, 0, sizeof *r);
    pid_t pid = spawn(h, argv, &fds[0], &fds[1]);
    if (pid < 0)
        return r->status = -1;
    double deadline = cli_now() + 30.0;
    drain(fds, bufs, lens, deadline);
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    r->status = wait_status(pid, deadline);
    r->out = bufs[0] ? bufs[0] : strdup("");
    r->err = bufs[1] ? bufs[1] : strdup("");
    return r->status;
}

int cli_h_runv(cli_h *h, cli_run *r, ...)
{
    const char *argv[64];
    int n = 0;
    va_list ap;
    va_start(ap, r);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 63)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return cli_h_run(h, r, argv);
}

void cli_run_free(cli_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

int cli_h_spawn(cli_h *h, cli_proc *p, const char *const *argv)
{
    memset(p, 0, sizeof *p);
    p->pid = spawn(h, argv, &p->out_fd, &p->err_fd);
    return p->pid > 0 ? 0 : -1;
}

char *cli_proc_line(cli_proc *p, double timeout_s)
{
    double deadline = cli_now() + timeout_s;
    for (;;) {
        char *nl = p->out ? memchr(p->out, '\n', p->out_len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - p->out);
            char *line = strndup(p->out, n);
            memmove(p->out, nl + 1, p->out_len - n - 1);
            p->out_len -= n + 1;
            p->out[p->out_len] = '\0';
            return line;
        }
        if (p->out_fd < 0)
            return NULL;
        struct pollfd pf = {.fd = p->out_fd, .events = POLLIN};
        double left = deadline - cli_now();
        if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
            return NULL;
        char data[4096];
        ssize_t k = read(p->out_fd, data, sizeof data);
        if (k <= 0) {
            close(p->out_fd);
            p->out_fd = -1;
        } else {
            append(&p->out, &p->out_len, data, (size_t)k);
        }
    }
}

int cli_proc_wait(cli_proc *p, double timeout_s, char **err)
{
    double deadline = cli_now() + timeout_s;
    int fds[2] = {p->out_fd, p->err_fd};
    char *bufs[2] = {NULL, NULL};
    size_t lens[2] = {0, 0};
    drain(fds, bufs, lens, deadline);
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    p->out_fd = p->err_fd = -1;
    int st = wait_status(p->pid, deadline);
    if (bufs[0])
        append(&p->out, &p->out_len, bufs[0], lens[0]);
    free(bufs[0]);
    if (err)
        *err = bufs[1] ? bufs[1] : strdup("");
    else
        free(bufs[1]);
    return st;
}

json_object *cli_json(const char *text)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text) + 1);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

json_object *cli_h_status(cli_h *h)
{
    cli_run r;
    json_object *st = NULL;
    if (cli_h_runv(h, &r, "status", "--json", NULL) == 0)
        st = cli_json(r.out);
    cli_run_free(&r);
    return st;
}

int64_t cli_h_instance_stat(cli_h *h, const char *id, const char *key)
{
    json_object *st = cli_h_status(h), *insts = NULL;
    int64_t r = -1;
    if (st && json_object_object_get_ex(st, "instances", &insts)) {
        for (size_t i = 0; i < json_object_array_length(insts); i++) {
            json_object *in = json_object_array_get_idx(insts, i), *iid, *s1, *s2, *v;
            if (json_object_object_get_ex(in, "id", &iid) &&
                strcmp(json_object_get_string(iid), id) == 0 &&
                json_object_object_get_ex(in, "status", &s1) &&
                json_object_object_get_ex(s1, "status", &s2) &&
                json_object_object_get_ex(s2, key, &v))
                r = json_object_get_int64(v);
        }
    }
    json_object_put(st);
    return r;
}

bool cli_h_wait_instance_stat(cli_h *h, const char *id, const char *key, int64_t want,
                              double timeout_s)
{
    double end = cli_now() + timeout_s;
    while (cli_h_instance_stat(h, id, key) != want && cli_now() < end)
        usleep(50000);
    return cli_h_instance_stat(h, id, key) == want;
}

static bool has_queue(json_object *st, const char *pattern)
{
    json_object *server, *links;
    if (!json_object_object_get_ex(st, "server", &server) ||
        !json_object_object_get_ex(server, "links", &links))
        return false;
    for (size_t i = 0; i < json_object_array_length(links); i++) {
        json_object *p;
        if (json_object_object_get_ex(json_object_array_get_idx(links, i), "pattern", &p) &&
            json_object_is_type(p, json_type_string) &&
            strcmp(json_object_get_string(p), pattern) == 0)
            return true;
    }
    return false;
}

bool cli_h_wait_queue(cli_h *h, const char *pattern, bool present, double timeout_s)
{
    double deadline = cli_now() + timeout_s;
    do {
        json_object *st = cli_h_status(h);
        bool has = st && has_queue(st, pattern);
        json_object_put(st);
        if (has == present)
            return true;
        usleep(20000);
    } while (cli_now() < deadline);
    return false;
}
