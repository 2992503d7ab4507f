/* history_cli.c - `berrymq history` as a user runs it against a real hub:
 * the text form (one line per message with its local time), --json (listen's
 * shape plus seq, time and origin), a pattern, --limit, --since and --until
 * as a seq, a duration and an ISO 8601 time with or without seconds, an
 * error for a bad --since, and --follow printing new messages as they come
 * and ending when the hub stops, which is not held back by it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hub_harness.h"

static char *cli_path(void)
{
    return g_build_filename(g_getenv("BMQ_BUILD_DIR"), "app", "cli", "berrymq", NULL);
}

static char **cli_argv(const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, cli_path());
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, g_strdup(*a));
    g_ptr_array_add(argv, NULL);
    return (char **)g_ptr_array_free(argv, FALSE);
}

static char **cli_env(const char *listen)
{
    return g_environ_setenv(g_get_environ(), "BERRYMQ_HUB", listen, TRUE);
}

/* Run `berrymq ARGS...`: exit code; stdout and stderr in *out, *err. */
static int cli(hh_hub *h, char **out, char **err, const char *const *args)
{
    char **argv = cli_argv(args), **env = cli_env(h->listen);
    int status = -1;
    GError *e = NULL;
    char *o = NULL, *x = NULL;
    if (!g_spawn_sync(NULL, argv, env, G_SPAWN_DEFAULT, NULL, NULL, &o, &x, &status, &e)) {
        fprintf(stderr, "cannot run the CLI: %s\n", e->message);
        g_error_free(e);
    }
    if (x && *x)
        fprintf(stderr, "berrymq %s: %s", args[0], x);
    g_strfreev(argv);
    g_strfreev(env);
    if (out)
        *out = o ? o : g_strdup("");
    else
        g_free(o);
    if (err)
        *err = x ? x : g_strdup("");
    else
        g_free(x);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define CLI(h, out, ...) cli((h), (out), NULL, (const char *const[]){__VA_ARGS__, NULL})

/* The lines of @text (no empty last one). */
static char **lines_of(const char *text)
{
    char **l = g_strsplit(text, "\n", -1);
    guint n = g_strv_length(l);
    if (n && !*l[n - 1]) {
        g_free(l[n - 1]);
        l[n - 1] = NULL;
    }
    return l;
}

/* The ids of the --json lines of @text, space-separated. */
static char *json_ids(const char *text)
{
    char **l = lines_of(text);
    GString *s = g_string_new(NULL);
    for (char **p = l; *p; p++) {
        json_object *o = json_tokener_parse(*p);
        g_string_append_printf(s, "%s%s", p == l ? "" : " ", o ? hh_str(o, "id") : "?");
        json_object_put(o);
    }
    g_strfreev(l);
    return g_string_free(s, FALSE);
}

static void check_ids(hh_hub *h, const char *want, const char *const *args)
{
    char *out = NULL;
    EXPECT(cli(h, &out, NULL, args) == 0);
    char *got = json_ids(out);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "berrymq history %s %s...: got '%s', want '%s'\n", args[1],
                args[2] ? args[2] : "", got, want);
    EXPECT(strcmp(got, want) == 0);
    g_free(got);
    g_free(out);
}

#define IDS(h, want, ...) check_ids((h), (want), (const char *const[]){__VA_ARGS__, NULL})

static void test_read(hh_hub *h, char **last_seq)
{
    gint64 before = g_get_real_time();
    EXPECT(CLI(h, NULL, "twitter", "build:done", "myproj", "42", "-k", "ok=true") == 0);
    EXPECT(CLI(h, NULL, "twitter", "other:x") == 0);
    EXPECT(CLI(h, NULL, "twitter", "build:start", "p") == 0);

    /* Text: TIME  ID  ARGS  KWARGS, oldest first, the time local. */
    char *out = NULL;
    EXPECT(CLI(h, &out, "history") == 0);
    char **l = lines_of(out);
    EXPECT(g_strv_length(l) == 3);
    const char *pat = "^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}  ";
    char *re0 = g_strconcat(pat, "build:done  \\[\"myproj\",42\\]  \\{\"ok\":true\\}$", NULL);
    char *re1 = g_strconcat(pat, "other:x$", NULL);
    if (g_strv_length(l) == 3) {
        EXPECT_MSG(g_regex_match_simple(re0, l[0], 0, 0), "line 1: %s", l[0]);
        EXPECT_MSG(g_regex_match_simple(re1, l[1], 0, 0), "line 2: %s", l[1]);
    }
    g_free(re0);
    g_free(re1);
    g_strfreev(l);
    g_free(out);

    /* --json: listen's object plus seq, time and origin. */
    char *lout = NULL;
    EXPECT(CLI(h, &lout, "listen", "build:done", "--since", "1h", "--count", "1", "--timeout",
               "10") == 0);
    json_object *heard = json_tokener_parse(lout ? lout : "");
    EXPECT(CLI(h, &out, "history", "build:done", "--json") == 0);
    json_object *rec = json_tokener_parse(out);
    EXPECT(heard && rec);
    json_object_object_foreach(heard, key, val)
    {
        json_object *v = NULL;
        EXPECT_MSG(json_object_object_get_ex(rec, key, &v) && json_object_equal(v, val),
                   "history --json lacks listen's \"%s\": %s", key, out);
    }
    EXPECT(json_object_is_type(json_object_object_get(rec, "seq"), json_type_int));
    const char *time = hh_str(rec, "time");
    EXPECT(time && strlen(time) == 24 && time[10] == 'T' && time[23] == 'Z');
    EXPECT_CONTAINS(hh_str(rec, "origin"), "rpc ");
    int64_t first = json_object_get_int64(json_object_object_get(rec, "seq"));
    json_object_put(heard);
    json_object_put(rec);
    g_free(lout);
    g_free(out);

    /* Pattern, limit, since and until. */
    IDS(h, "build:done build:start", "history", "build:*", "--json");
    IDS(h, "build:start", "history", "--json", "--limit", "1");
    char *s1 = g_strdup_printf("%" G_GINT64_FORMAT, first);
    char *s2 = g_strdup_printf("%" G_GINT64_FORMAT, first + 1);
    IDS(h, "other:x build:start", "history", "--json", "--since", s1);
    IDS(h, "other:x", "history", "--json", "--since", s1, "--limit", "1");
    IDS(h, "build:done other:x", "history", "--json", "--since", "1h", "--until", s2);
    IDS(h, "build:done other:x build:start", "history", "--json", "--since", "10m");
    IDS(h, "", "history", "--json", "--until", "1h");
    *last_seq = g_strdup_printf("%" G_GINT64_FORMAT, first + 2);
    g_free(s1);
    g_free(s2);

    /* ISO 8601 times, local, with and without seconds; UTC with Z. */
    GDateTime *ago = g_date_time_new_from_unix_local(before / G_USEC_PER_SEC - 120);
    GDateTime *ago_utc = g_date_time_to_utc(ago);
    char *hm = g_date_time_format(ago, "%Y-%m-%dT%H:%M");
    char *hms = g_date_time_format(ago, "%Y-%m-%dT%H:%M:%S");
    char *hmz = g_date_time_format(ago_utc, "%Y-%m-%dT%H:%MZ");
    char *future = g_strdup_printf("%d-01-01T00:00", g_date_time_get_year(ago) + 1);
    IDS(h, "build:done other:x build:start", "history", "--json", "--since", hm);
    IDS(h, "build:done other:x build:start", "history", "--json", "--since", hms);
    IDS(h, "build:done other:x build:start", "history", "--json", "--since", hmz);
    IDS(h, "", "history", "--json", "--since", future);
    IDS(h, "", "history", "--json", "--until", hm);
    g_free(hm);
    g_free(hms);
    g_free(hmz);
    g_free(future);
    g_date_time_unref(ago);
    g_date_time_unref(ago_utc);

    /* A --since the hub cannot read: an error, not an empty list. */
    char *err = NULL;
    out = NULL;
    EXPECT(cli(h, &out, &err, (const char *const[]){"history", "--since", "yesterday", NULL}) != 0);
    EXPECT(out && !*out);
    EXPECT_CONTAINS(err, "since must be");
    g_free(out);
    g_free(err);
}

/* --follow from the last seq: only the new matching messages, as they
 * come; then the hub stops under it. */
static void test_follow(hh_hub *h, const char *since)
{
    char **argv =
        cli_argv((const char *const[]){"history", "f:*", "--since", since, "--follow", NULL});
    char **env = cli_env(h->listen);
    GPid pid = 0;
    int fd = -1;
    GError *e = NULL;
    CHECK_MSG(g_spawn_async_with_pipes(NULL, argv, env, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                       NULL, &fd, NULL, &e),
              "cannot run the CLI: %s", e ? e->message : "?");
    g_strfreev(argv);
    g_strfreev(env);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

    EXPECT(CLI(h, NULL, "twitter", "f:one", "1") == 0);
    EXPECT(CLI(h, NULL, "twitter", "g:no") == 0);
    EXPECT(CLI(h, NULL, "twitter", "f:two", "2") == 0);

    GString *got = g_string_new(NULL);
    gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    int newlines = 0;
    while (newlines < 2 && g_get_monotonic_time() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        char buf[512];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0)
            continue;
        g_string_append_len(got, buf, n);
        newlines = 0;
        for (const char *c = got->str; *c; c++)
            newlines += *c == '\n';
    }
    /* Still following when the hub stops: the hub stops at once and
     * cleanly (the follower's long poll does not hold it), and the
     * follower ends by itself. */
    int status = 0;
    EXPECT(waitpid(pid, &status, WNOHANG) == 0);
    int rc = hh_stop(h);
    if (rc != 0) {
        char *log = hh_log(h);
        fprintf(stderr, "hub exit %d, log:\n%s", rc, log);
        g_free(log);
    }
    EXPECT(rc == 0);
    EXPECT(hh_wait_log(h, "info: stopped", 5000));
    end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    pid_t w;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && g_get_monotonic_time() < end)
        g_usleep(20000);
    EXPECT_MSG(w == pid, "berrymq history --follow still runs after the hub stopped");
    EXPECT_MSG(w != pid || (WIFEXITED(status) && WEXITSTATUS(status) == 2),
               "--follow ended with wait status %d, want exit status 2", status);
    if (w != pid) {
        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
    }
    close(fd);
    g_spawn_close_pid(pid);

    char **l = lines_of(got->str);
    EXPECT_MSG(g_strv_length(l) == 2, "--follow printed: %s", got->str);
    if (g_strv_length(l) == 2) {
        EXPECT_MSG(g_regex_match_simple("^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}  "
                                        "f:one  \\[1\\]$",
                                        l[0], 0, 0),
                   "line 1: %s", l[0]);
        EXPECT_MSG(g_str_has_suffix(l[1], "  f:two  [2]"), "line 2: %s", l[1]);
    }
    g_strfreev(l);
    g_string_free(got, TRUE);
}

int main(void)
{
    hh_env *env = hh_env_new();
    hh_write_config(env, "{\"plugins\": []}");
    hh_hub *h = hh_start(env, NULL, true);
    char *last = NULL;
    test_read(h, &last);
    test_follow(h, last ? last : "0");
    g_free(last);
    hh_free(h);
    hh_env_free(env);
    return check_result();
}
