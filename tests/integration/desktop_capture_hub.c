/* desktop_capture_hub.c - the capture plugin in the real berrymq-hub on a
 * private desktop (Xvfb, session bus, dunst): notify-send from another
 * program comes out of `berrymq listen '*:captured'` with its fields, the
 * hub's own `berrymq notify` does not, and `berrymq history` finds the
 * captured one. */
#include "desktop_env.h"

#include <json-c/json.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

static char *cli_bin;

static int cli(const char *const *args, char **out)
{
    const char *argv[16];
    size_t n = 0;
    argv[n++] = cli_bin;
    for (; *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    return desk_run(argv, out);
}

/* A line of @fd within @ms (transfer full), or NULL. */
static char *read_line(int fd, int ms)
{
    GString *s = g_string_new(NULL);
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (g_get_monotonic_time() < end) {
        fd_set set;
        FD_ZERO(&set);
        FD_SET(fd, &set);
        struct timeval tv = {0, 50000};
        if (select(fd + 1, &set, NULL, NULL, &tv) <= 0)
            continue;
        char c;
        if (read(fd, &c, 1) != 1)
            break;
        if (c == '\n')
            return g_string_free(s, FALSE);
        g_string_append_c(s, c);
    }
    g_string_free(s, TRUE);
    return NULL;
}

static const char *kw(json_object *m, const char *key)
{
    json_object *k = NULL, *v = NULL;
    if (!m || !json_object_object_get_ex(m, "kwargs", &k) || !json_object_object_get_ex(k, key, &v))
        return NULL;
    return json_object_get_string(v);
}

static const char config[] = "{\"listen\": \"127.0.0.1:0\", \"plugins\": ["
                             "{\"plugin\": \"notify\", \"id\": \"notify\", \"config\": {}},"
                             "{\"plugin\": \"capture\", \"id\": \"capture\", \"config\": {}}]}";

int main(void)
{
    char *why = NULL;
    char *hub_bin = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "hub", "berrymq-hub", NULL);
    cli_bin = g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
    char *ns = g_find_program_in_path("notify-send");
    if (!ns) {
        fprintf(stderr, "skipped: notify-send is not installed\n");
        return DESK_SKIP;
    }
    g_free(ns);
    desk_env *e = desk_env_start(&why);
    if (!e) {
        fprintf(stderr, "skipped: %s\n", why);
        g_free(why);
        return DESK_SKIP;
    }
    EXPECT(desk_dunst_start(e));
    char *cfg = g_build_filename(desk_env_dir(e), "hub.json", NULL);
    g_file_set_contents(cfg, config, -1, NULL);
    const char *argv[] = {hub_bin, "--no-tray",    "--config",
                          cfg,     "--plugin-dir", g_getenv("BMQ_PLUGIN_BUILD_DIR"),
                          NULL};
    GPid hub = 0, listener = 0;
    char *addr = NULL;
    int err_fd = -1, out_fd = -1;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                  &hub, NULL, NULL, &err_fd, NULL)) {
        check_failures++;
        goto out;
    }
    /* "listening on HOST:PORT" in the hub's log gives the address. */
    char *line;
    while (!addr && (line = read_line(err_fd, 60000))) {
        const char *p = strstr(line, "listening on ");
        if (p)
            addr = g_strndup(p + 13, strcspn(p + 13, " \n"));
        g_free(line);
    }
    EXPECT(addr != NULL);
    if (!addr)
        goto out;
    g_setenv("BERRYMQ_HUB", addr, TRUE);

    const char *largv[] = {cli_bin, "listen",    "*:captured", "--count",
                           "2",     "--timeout", "120",        NULL};
    EXPECT(g_spawn_async_with_pipes(NULL, (char **)largv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                    NULL, &listener, NULL, &out_fd, NULL, NULL));
    /* Listening once the hub lists the listener's pattern. */
    bool ready = false;
    for (int i = 0; i < 600 && !ready; i++) {
        char *st = NULL;
        const char *sa[] = {"status", NULL};
        cli(sa, &st);
        ready = st && strstr(st, "*:captured");
        g_free(st);
        if (!ready)
            g_usleep(100000);
    }
    EXPECT(ready);

    /* The hub's own notification first: were it captured, it would be the
     * first line the listener prints. */
    const char *own[] = {"notify", "-a", "hubself", "From the hub itself", NULL};
    EXPECT(cli(own, NULL) == 0);
    const char *mail[] = {"notify-send", "-a",          "Mail",     "-u",       "critical",
                          "-i",          "mail-unread", "New mail", "from bob", NULL};
    EXPECT(desk_run(mail, NULL) == 0);
    const char *chat[] = {"notify-send", "-a", "Chat", "Last one", NULL};
    EXPECT(desk_run(chat, NULL) == 0);

    char *l1 = read_line(out_fd, 60000), *l2 = read_line(out_fd, 60000);
    fprintf(stderr, "listen: %s\n        %s\n", l1 ? l1 : "(none)", l2 ? l2 : "(none)");
    json_object *m1 = l1 ? json_tokener_parse(l1) : NULL, *m2 = l2 ? json_tokener_parse(l2) : NULL;
    json_object *id = NULL;
    EXPECT(m1 && json_object_object_get_ex(m1, "id", &id) &&
           strcmp(json_object_get_string(id), "Mail:captured") == 0);
    EXPECT(g_strcmp0(kw(m1, "title"), "New mail") == 0);
    EXPECT(g_strcmp0(kw(m1, "body"), "from bob") == 0);
    EXPECT(g_strcmp0(kw(m1, "urgency"), "critical") == 0);
    EXPECT(g_strcmp0(kw(m1, "icon"), "mail-unread") == 0);
    EXPECT(g_strcmp0(kw(m1, "app"), "Mail") == 0);
    EXPECT(kw(m1, "id") && atoi(kw(m1, "id")) > 0);
    EXPECT(m2 && json_object_object_get_ex(m2, "id", &id) &&
           strcmp(json_object_get_string(id), "Chat:captured") == 0);
    EXPECT(l1 && !strstr(l1, "From the hub itself") && l2 && !strstr(l2, "From the hub itself"));
    json_object_put(m1);
    json_object_put(m2);
    g_free(l1);
    g_free(l2);

    /* The status counts the hub's own one as skipped. */
    char *st = NULL;
    const char *sj[] = {"status", "--json", NULL};
    EXPECT(cli(sj, &st) == 0);
    const char *os = st ? strstr(st, "\"own_skipped\"") : NULL;
    EXPECT(os && atoi(os + strcspn(os, "0123456789")) == 1);
    g_free(st);

    /* Searchable later. */
    char *hist = NULL;
    const char *ha[] = {"history", "*:captured", "--json", NULL};
    EXPECT(cli(ha, &hist) == 0);
    EXPECT(hist && strstr(hist, "New mail") && !strstr(hist, "From the hub itself"));
    g_free(hist);
out:
    if (listener) {
        kill(listener, SIGTERM);
        waitpid(listener, NULL, 0);
    }
    if (hub) {
        kill(hub, SIGTERM);
        int status = 0;
        waitpid(hub, &status, 0);
        EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    if (out_fd >= 0)
        close(out_fd);
    if (err_fd >= 0)
        close(err_fd);
    g_free(addr);
    g_free(cfg);
    g_free(hub_bin);
    g_free(cli_bin);
    desk_env_stop(e);
    return check_result();
}
