/* net_user.c - the hub obeys its own user: another uid (setpriv
 * --reuid=65534) is refused on loopback TCP unless it presents the secret,
 * always on the Unix socket (even when the socket is reachable), and with
 * the secret still cannot make the hub read local files. The CLI reaches
 * its own hub through the socket with no --hub, and refuses to use a hub of
 * another user it found (exit 2, naming the owner), or a runtime directory
 * another user made (what /tmp/berrymq-UID is when XDG_RUNTIME_DIR is unset).
 * What the hub writes (history, its journal files) stays unreadable to the
 * other uid even where the user's directories are open (Debian 12 homes are
 * 0755).
 * Needs root (to run as another uid); skipped otherwise.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hub_harness.h"

#define OTHER "65534"

static char *cli_path(void)
{
    return g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
}

/* Run argv as uid 65534 (env: @envp, nullable = inherit). Exit code. */
static int run_other(const char *const *argv, char **envp, char **out, char **err)
{
    GPtrArray *a = g_ptr_array_new();
    const char *pre[] = {"setpriv", "--reuid=" OTHER, "--regid=" OTHER, "--clear-groups"};
    for (size_t i = 0; i < G_N_ELEMENTS(pre); i++)
        g_ptr_array_add(a, (gpointer)pre[i]);
    for (const char *const *p = argv; *p; p++)
        g_ptr_array_add(a, (gpointer)*p);
    g_ptr_array_add(a, NULL);
    int status = -1;
    GError *e = NULL;
    if (!g_spawn_sync("/", (char **)a->pdata, envp, G_SPAWN_SEARCH_PATH, NULL, NULL, out, err,
                      &status, &e)) {
        fprintf(stderr, "spawn: %s\n", e->message);
        g_error_free(e);
        check_failures++;
    }
    g_ptr_array_free(a, TRUE);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *curl_other(const char *where, const char *body, const char *secret)
{
    char *auth = secret ? g_strdup_printf("Authorization: Bearer %s", secret) : NULL;
    const char *argv[16];
    size_t n = 0;
    argv[n++] = "curl";
    argv[n++] = "-s";
    argv[n++] = "-w";
    argv[n++] = " HTTP%{http_code}";
    if (auth) {
        argv[n++] = "-H";
        argv[n++] = auth;
    }
    if (where[0] == '/') {
        argv[n++] = "--unix-socket";
        argv[n++] = where;
        argv[n++] = "http://localhost/JSON";
    } else {
        argv[n++] = where;
    }
    argv[n++] = "-d";
    argv[n++] = body;
    argv[n] = NULL;
    char *out = NULL;
    run_other(argv, NULL, &out, NULL);
    g_free(auth);
    return out ? out : g_strdup("");
}

/* A hub impostor of uid 65534 on a Unix socket at @path: a child that
 * accepts one connection and writes what it read to *out_fd (its count of
 * bytes, then the bytes), answering "ok" as a hub would. */
static pid_t impostor(const char *path, int *out_fd)
{
    int ready[2], data[2];
    if (pipe(ready) != 0 || pipe(data) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(data[0]);
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(1);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        strncpy(a.sun_path, path, sizeof a.sun_path - 1);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
            chmod(path, 0666) != 0)
            _exit(1);
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char buf[8192];
        ssize_t total = 0;
        if (poll(&p, 1, 20000) == 1) {
            int c = accept(fd, NULL, NULL);
            struct pollfd q = {.fd = c, .events = POLLIN};
            while (total < (ssize_t)sizeof buf && poll(&q, 1, 2000) == 1) {
                ssize_t n = read(c, buf + total, sizeof buf - (size_t)total);
                if (n <= 0)
                    break;
                total += n;
                if (memmem(buf, (size_t)total, "\r\n\r\n", 4))
                    break;
            }
            static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     "Content-Length: 36\r\nConnection: close\r\n\r\n"
                                     "{\"id\":1,\"result\":\"ok\",\"error\":null}\n";
            if (total > 0 && write(c, ok, sizeof ok - 1) < 0)
                _exit(1);
            close(c);
        }
        if (write(data[1], &total, sizeof total) != (ssize_t)sizeof total ||
            (total > 0 && write(data[1], buf, (size_t)total) != total))
            _exit(1);
        _exit(0);
    }
    close(ready[1]);
    close(data[1]);
    char r = 0;
    if (pid < 0 || read(ready[0], &r, 1) != 1) {
        close(ready[0]);
        close(data[0]);
        return -1;
    }
    close(ready[0]);
    *out_fd = data[0];
    return pid;
}

/* Run the CLI as the hub's user (root) with @envp; exit code, *err. */
static int run_self(const char *const *argv, char **envp, char **err)
{
    int status = -1;
    g_spawn_sync("/", (char **)argv, envp, 0, NULL, NULL, NULL, err, &status, NULL);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* uid 65534 runs cat on @path: 0 when it could read it. */
static int other_reads(const char *path)
{
    const char *argv[] = {"cat", path, NULL};
    char *out = NULL, *err = NULL;
    int rc = run_other(argv, NULL, &out, &err);
    if (rc == 0)
        fprintf(stderr, "uid 65534 read %s\n", path);
    g_free(out);
    g_free(err);
    return rc;
}

/* The file's permission bits, or -1 when it does not exist. */
static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "not root: cannot run a client as another uid; skipped\n");
        return 77;
    }
    char *setpriv = g_find_program_in_path("setpriv"), *curl = g_find_program_in_path("curl");
    bool have = setpriv && curl;
    g_free(setpriv);
    g_free(curl);
    if (!have) {
        fprintf(stderr, "setpriv or curl missing; skipped\n");
        return 77;
    }
    hh_env *env = hh_env_new();
    hh_write_config(env, "{\"secret\": \"s3cret\", \"plugins\": [{\"plugin\": \"testplug\","
                         " \"id\": \"sink\", \"config\": {\"follow\": \"probe:*\"}}]}");
    g_setenv("HH_SECRET", "s3cret", TRUE);
    /* A home as Debian 12 makes it (0755) whose state directory exists
     * already, open as mkdir -p leaves it; the hub runs in it, as systemd
     * starts a user's service in $HOME. */
    char *home = g_build_filename(env->root, "home", NULL);
    char *state = g_build_filename(home, ".local", "state", "berrymq", NULL);
    EXPECT(g_mkdir_with_parents(state, 0755) == 0);
    const char *open_dirs[] = {"", "home", "home/.local", "home/.local/state",
                               "home/.local/state/berrymq"};
    for (size_t i = 0; i < G_N_ELEMENTS(open_dirs); i++) {
        char *d = g_build_filename(env->root, open_dirs[i], NULL);
        EXPECT(chmod(d, 0755) == 0);
        g_free(d);
    }
    char *netrc = g_build_filename(home, ".netrc", NULL);
    EXPECT(g_file_set_contents(netrc, "machine example.org password hunter2\n", -1, NULL));
    chmod(netrc, 0600);
    char *cwd = g_get_current_dir();
    EXPECT(chdir(home) == 0);
    hh_hub *h = hh_start(env, NULL, true);
    EXPECT(chdir(cwd) == 0);
    char *dir = g_build_filename(env->root, "run", "berrymq", NULL);
    char *sock = g_build_filename(dir, "hub.sock", NULL);
    struct stat st;
    EXPECT(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    EXPECT(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0077) == 0);

    /* Open the way for the other uid on purpose: the kernel's word on the
     * peer (SO_PEERCRED) still keeps it out. */
    chmod(env->root, 0755);
    char *run = g_build_filename(env->root, "run", NULL);
    chmod(run, 0755);
    chmod(dir, 0755);
    chmod(sock, 0666);
    char *url = g_strdup_printf("http://%s/JSON", h->listen);
    const char *status = "{\"id\": 1, \"method\": \"hub.status\", \"params\": []}";
    char *o = curl_other(url, status, NULL);
    EXPECT_CONTAINS(o, "HTTP403");
    EXPECT_CONTAINS(o, "serves no other user");
    g_free(o);
    o = curl_other(sock, status, NULL);
    EXPECT_CONTAINS(o, "HTTP403");
    g_free(o);
    /* The CLI told to use this hub says why it was refused, in the hub's
     * words, not a guess about the secret. */
    char *cli0 = cli_path();
    const char *given[] = {cli0, "--hub", h->listen, "twitter", "probe:given", NULL};
    char *given_err = NULL;
    EXPECT(run_other(given, NULL, NULL, &given_err) == 3);
    EXPECT_CONTAINS(given_err, "serves no other user");
    g_free(given_err);
    g_free(cli0);
    o = curl_other(sock, status, "s3cret"); /* the socket is for the same uid only */
    EXPECT_CONTAINS(o, "HTTP403");
    g_free(o);
    /* With the secret another user is let in over TCP, but not to local files. */
    o = curl_other(url, status, "s3cret");
    EXPECT_CONTAINS(o, "HTTP200");
    g_free(o);
    o = curl_other(url,
                   "{\"id\": 2, \"method\": \"hub.load\", \"params\": [\"testplug\", \"spy\","
                   " {\"journal\": \"/etc/hostname\"}]}",
                   "s3cret");
    EXPECT_CONTAINS(o, "local file");
    g_free(o);
    /* Nor by another spelling: a name relative to the hub's working
     * directory (the user's home), a FILE: URL, what a plugin expands
     * (~user, $HOME, ${HOME}). */
    const char *spellings[] = {".netrc",       "FILE:///etc/hostname", "~root/.netrc",
                               "$HOME/.netrc", "${HOME}/.netrc",       "~"};
    for (size_t i = 0; i < G_N_ELEMENTS(spellings); i++) {
        char *load = g_strdup_printf("{\"id\": 2, \"method\": \"hub.load\", \"params\": "
                                     "[\"testplug\", \"spy%zu\", {\"journal\": \"%s\"}]}",
                                     i, spellings[i]);
        o = curl_other(url, load, "s3cret");
        if (!o || !strstr(o, "local file"))
            fprintf(stderr, "journal \"%s\" was not refused\n", spellings[i]);
        EXPECT_CONTAINS(o, "local file");
        g_free(o);
        g_free(load);
    }
    char *netrc_text = NULL;
    EXPECT(g_file_get_contents(netrc, &netrc_text, NULL, NULL));
    EXPECT_STR(netrc_text, "machine example.org password hunter2\n");
    g_free(netrc_text);
    o = curl_other(url,
                   "{\"id\": 3, \"method\": \"hub.load\", \"params\": [\"testplug\", \"ok2\"]}",
                   "s3cret");
    EXPECT_CONTAINS(o, "\"state\":\"running\"");
    g_free(o);
    json_object *in = hh_instance(h, "spy");
    EXPECT(in == NULL);
    json_object_put(in);
    json_object *s = hh_call(h, "hub.status", "[]", NULL);
    const char *n = s ? hh_str(s, "server.counters.refused_user") : NULL;
    EXPECT(n && atoi(n) == 4);
    EXPECT(s && hh_str(s, "server.unix") && strcmp(hh_str(s, "server.unix"), sock) == 0);
    json_object_put(s);

    /* The CLI of the hub's user: no --hub, no BERRYMQ_HUB, the lock file out
     * of the way: only the socket leads to the hub. */
    char *lock = g_build_filename(dir, "hub.lock", NULL);
    char *lock_away = g_strconcat(lock, ".away", NULL);
    EXPECT(rename(lock, lock_away) == 0);
    char *cli = cli_path();
    char **envp = g_get_environ();
    envp = g_environ_setenv(envp, "XDG_RUNTIME_DIR", run, TRUE);
    envp = g_environ_unsetenv(envp, "BERRYMQ_HUB");
    envp = g_environ_unsetenv(envp, "BERRYMQ_SECRET");
    const char *tw[] = {cli, "twitter", "probe:cli", "1", NULL};
    int status_code = -1;
    char *err = NULL;
    g_spawn_sync("/", (char **)tw, envp, 0, NULL, NULL, NULL, &err, &status_code, NULL);
    EXPECT(WIFEXITED(status_code) && WEXITSTATUS(status_code) == 0);
    if (err && *err)
        fprintf(stderr, "berrymq twitter: %s", err);
    g_free(err);
    EXPECT(rename(lock_away, lock) == 0);
    json_object *sink = NULL;
    for (int i = 0; i < 300; i++) {
        json_object_put(sink);
        sink = hh_instance(h, "sink");
        const char *r = sink ? hh_str(sink, "status.status.received") : NULL;
        if (r && atoi(r) == 1)
            break;
        g_usleep(10000);
    }
    EXPECT(sink && atoi(hh_str(sink, "status.status.received")) == 1);
    json_object_put(sink);

    /* The history and its journal files keep uid 65534 out although every
     * directory above them is open. */
    const char *files[] = {"history.db", "history.db-wal", "history.db-shm"};
    EXPECT((mode_of(state) & 0077) == 0);
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        char *f = g_build_filename(state, files[i], NULL);
        int m = mode_of(f);
        if (m < 0 || (m & 0077))
            fprintf(stderr, "%s: mode %o\n", f, (unsigned)m);
        EXPECT(m >= 0 && (m & 0077) == 0);
        chmod(state, 0755); /* even with the directory open again */
        EXPECT(other_reads(f) != 0);
        chmod(state, 0700);
        g_free(f);
    }

    /* Another user whose lock file names this hub's address: the CLI says
     * whose hub it is and exits 2 instead of talking to it. */
    char *other_run = g_dir_make_tmp("bmq-other-XXXXXX", NULL);
    chmod(other_run, 0777);
    char *other_dir = g_build_filename(other_run, "berrymq", NULL);
    g_mkdir(other_dir, 0777);
    chmod(other_dir, 0777);
    EXPECT(chown(other_run, 65534, 65534) == 0 && chown(other_dir, 65534, 65534) == 0);
    char *other_lock = g_build_filename(other_dir, "hub.lock", NULL);
    char *text = g_strdup_printf("1 %s\n", h->listen);
    g_file_set_contents(other_lock, text, -1, NULL);
    chmod(other_lock, 0644);
    char **oenv = g_get_environ();
    oenv = g_environ_setenv(oenv, "XDG_RUNTIME_DIR", other_run, TRUE);
    oenv = g_environ_unsetenv(oenv, "BERRYMQ_HUB");
    oenv = g_environ_unsetenv(oenv, "BERRYMQ_SECRET");
    const char *st_argv[] = {cli, "status", NULL};
    err = NULL;
    int rc = run_other(st_argv, oenv, NULL, &err);
    EXPECT(rc == 2);
    EXPECT_CONTAINS(err, "belongs to another user (root, uid 0)");
    g_free(err);
    /* With no lock and no socket it tries the default port, never silently
     * someone else's: (nothing listens there in this test, or it is checked). */
    g_unlink(other_lock);
    err = NULL;
    rc = run_other(st_argv, oenv, NULL, &err);
    EXPECT(rc == 2);
    g_free(err);

    /* Without XDG_RUNTIME_DIR the CLI looks in /tmp/berrymq-UID, which
     * anyone may create first. The hub's user finds a socket there served
     * by uid 65534: nothing is sent to it, the CLI names the owner, exit 2. */
    const char *probe[] = {cli, "twitter", "probe:planted", "private text", NULL};
    char *sock_other = g_build_filename(other_dir, "hub.sock", NULL);
    int from_fd = -1;
    pid_t imp = impostor(sock_other, &from_fd);
    EXPECT(imp > 0);
    err = NULL;
    rc = run_self(probe, oenv, &err);
    EXPECT(rc == 2);
    EXPECT_CONTAINS(err, "another user");
    EXPECT_CONTAINS(err, "uid 65534");
    g_free(err);
    ssize_t got = -1;
    if (imp > 0) {
        kill(imp, SIGTERM); /* it may still wait for a connection */
        if (read(from_fd, &got, sizeof got) != (ssize_t)sizeof got)
            got = 0; /* killed while waiting: it read nothing */
        close(from_fd);
        waitpid(imp, NULL, 0);
    }
    EXPECT(got <= 0);
    g_unlink(sock_other);
    /* A lock file there naming an address: not followed either (the
     * address could be any host's, whose user nobody can ask). */
    g_file_set_contents(other_lock, text, -1, NULL);
    EXPECT(chown(other_lock, 65534, 65534) == 0);
    err = NULL;
    rc = run_self(probe, oenv, &err);
    EXPECT(rc == 2);
    EXPECT_CONTAINS(err, "another user");
    g_free(err);
    g_unlink(other_lock);
    g_free(sock_other);
    sink = NULL;
    for (int i = 0; i < 50; i++) { /* nothing planted reached the hub */
        json_object_put(sink);
        sink = hh_instance(h, "sink");
        g_usleep(10000);
    }
    EXPECT(sink && atoi(hh_str(sink, "status.status.received")) == 1);
    json_object_put(sink);

    /* The tray's verbs, over the socket, by the hub's user; quit stops it
     * with status 0. */
    const char *verbs[] = {"pause", "resume", "quit"};
    for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
        const char *v[] = {cli, verbs[i], NULL};
        err = NULL;
        status_code = -1;
        g_spawn_sync("/", (char **)v, envp, 0, NULL, NULL, NULL, &err, &status_code, NULL);
        if (!WIFEXITED(status_code) || WEXITSTATUS(status_code) != 0)
            fprintf(stderr, "berrymq %s: %s\n", verbs[i], err ? err : "");
        EXPECT(WIFEXITED(status_code) && WEXITSTATUS(status_code) == 0);
        g_free(err);
    }
    EXPECT(hh_wait_exit(h, 10000) == 0);
    EXPECT(!g_file_test(sock, G_FILE_TEST_EXISTS)); /* removed on stop */
    hh_free(h);
    g_rmdir(other_dir);
    g_rmdir(other_run);
    g_strfreev(envp);
    g_strfreev(oenv);
    g_free(other_lock);
    g_free(other_dir);
    g_free(other_run);
    g_free(text);
    g_free(cli);
    g_free(netrc);
    g_free(state);
    g_free(home);
    g_free(cwd);
    g_free(lock);
    g_free(lock_away);
    g_free(url);
    g_free(run);
    g_free(sock);
    g_free(dir);
    hh_env_free(env);
    return check_result();
}
