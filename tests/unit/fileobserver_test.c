/* fileobserver_test.c - the fileobserver plugin on real files in a temp
 * directory with real inotify, loaded by the real plugin host: each event
 * kind, glob filtering, debounce, renames, recursion, directory removal
 * and recreation, two instances, config errors, reconfigure, destroy. */
#include <sched.h>
#include <sys/wait.h>

#include "fileobserver_harness.h"

#include "check.h"

#define WAIT_MS 3000

static void test_events(void)
{
    fo_fx fx;
    fx_init(&fx);
    char *w = fx_path(&fx, "w"), *a = fx_path(&fx, "w/a.log"), *b = fx_path(&fx, "w/b.txt");
    char *c = fx_path(&fx, "w/c.log"), *d = fx_path(&fx, "w/d.txt");
    make_dirs(w);
    write_file(a, "first\n", false);
    write_file(b, "other\n", false);
    bmq_instance *inst =
        fx_create(&fx, "obs", NULL, "{\"path\": \"%s/*.log\", \"debounce_ms\": 30}", w);
    fx_settle(&fx, 100);
    CHECK(fx.evs->len == 0); /* existing files are the baseline */

    write_file(c, "hello", false);
    CHECK(fx_wait(&fx, 1, WAIT_MS));
    fx_assert_ev(&fx, 0, "obs", "created", c);
    CHECK((fx_ev(&fx, 0)->size) == 5);
    struct stat st;
    CHECK((stat(c, &st)) == 0);
    CHECK((fx_ev(&fx, 0)->mtime) == (st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9));

    write_file(a, "second\n", true);
    CHECK(fx_wait(&fx, 2, WAIT_MS));
    fx_assert_ev(&fx, 1, "obs", "modified", a);
    CHECK((fx_ev(&fx, 1)->size) == 13);

    CHECK(unlink(c) == 0);
    CHECK(fx_wait(&fx, 3, WAIT_MS));
    fx_assert_ev(&fx, 2, "obs", "removed", c);
    CHECK((fx_ev(&fx, 2)->size) == -1);

    /* Files outside the glob never show up. */
    write_file(d, "x", false);
    write_file(b, "more", true);
    CHECK(unlink(b) == 0);
    write_file(fx_path(&fx, "w/.hidden.log"), "h", false); /* '*' skips a leading dot */
    fx_settle(&fx, 150);
    CHECK(fx.evs->len == 3);

    /* "touch" changes mtime only: still a modification. */
    CHECK((utimensat(AT_FDCWD, a, NULL, 0)) == 0);
    CHECK(fx_wait(&fx, 4, WAIT_MS));
    fx_assert_ev(&fx, 3, "obs", "modified", a);
    fx_settle(&fx, 100);
    CHECK(fx.evs->len == 4);

    /* A symbolic link to a file counts as that file (size of the target). */
    char *lnk = fx_path(&fx, "w/link.log");
    CHECK((symlink(d, lnk)) == 0);
    CHECK(fx_wait(&fx, 5, WAIT_MS));
    fx_assert_ev(&fx, 4, "obs", "created", lnk);
    CHECK((fx_ev(&fx, 4)->size) == 1);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
}

static void test_debounce(void)
{
    fo_fx fx;
    fx_init(&fx);
    char *w = fx_path(&fx, "w"), *a = fx_path(&fx, "w/a.log"), *n = fx_path(&fx, "w/new.log");
    make_dirs(w);
    write_file(a, "", false);
    bmq_instance *inst =
        fx_create(&fx, "deb", NULL, "{\"path\": \"%s/*.log\", \"debounce_ms\": 100}", w);
    /* 500 chunks of 100 bytes, the loop not running meanwhile. */
    char chunk[101];
    memset(chunk, 'x', 100);
    chunk[100] = '\0';
    int fd = open(a, O_WRONLY | O_APPEND | O_CLOEXEC);
    for (int i = 0; i < 500; i++)
        CHECK((write(fd, chunk, 100)) == 100);
    close(fd);
    fx_settle(&fx, 300);
    CHECK(fx.evs->len == 1);
    fx_assert_ev(&fx, 0, "deb", "modified", a);
    CHECK((fx_ev(&fx, 0)->size) == 50000);

    /* A new file written in chunks: one "created" with its final size. */
    fd = open(n, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    for (int i = 0; i < 50; i++)
        CHECK((write(fd, chunk, 100)) == 100);
    close(fd);
    fx_settle(&fx, 300);
    CHECK(fx.evs->len == 2);
    fx_assert_ev(&fx, 1, "deb", "created", n);
    CHECK((fx_ev(&fx, 1)->size) == 5000);

    /* Writes spread over several windows: at most one per window. */
    gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < 6; i++) {
        write_file(a, "y", true);
        bool expired = false;
        g_timeout_add(60, fx_wake, &expired);
        while (!expired)
            g_main_context_iteration(NULL, TRUE);
    }
    double secs = (g_get_monotonic_time() - t0) / 1e6;
    fx_settle(&fx, 250);
    guint mods = fx_count(&fx, "deb", "modified", a) - 1;
    fprintf(stderr, "%u modified over %.2f s of writes every 60 ms\n", mods, secs);
    CHECK(mods >= 2);
    CHECK(mods <= ((guint)(secs / 0.1) + 2));
    CHECK((fx_ev(&fx, fx.evs->len - 1)->size) == 50006);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
}

static void test_debounce_zero(void)
{
    fo_fx fx;
    fx_init(&fx);
    char *w = fx_path(&fx, "w"), *a = fx_path(&fx, "w/a.dat");
    make_dirs(w);
    bmq_instance *inst = fx_create(&fx, "now", NULL, "{\"path\": \"%s/\", \"debounce_ms\": 0}", w);
    gint64 t0 = g_get_monotonic_time();
    write_file(a, "1", false);
    CHECK(fx_wait(&fx, 1, WAIT_MS));
    fprintf(stderr, "created after %.2f ms\n", (g_get_monotonic_time() - t0) / 1000.0);
    fx_assert_ev(&fx, 0, "now", "created", a);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
}

static void test_rename(void)
{
    fo_fx fx;
    fx_init(&fx);
    char *w = fx_path(&fx, "w"), *out = fx_path(&fx, "out");
    char *a = fx_path(&fx, "w/a.log"), *at = fx_path(&fx, "w/a.txt"), *b = fx_path(&fx, "w/b.log");
    char *c = fx_path(&fx, "w/c.log"), *ox = fx_path(&fx, "out/x.log"),
         *x = fx_path(&fx, "w/x.log");
    char *oy = fx_path(&fx, "out/y.log");
    make_dirs(w);
    make_dirs(out);
    write_file(a, "a", false);
    bmq_instance *inst =
        fx_create(&fx, "ren", NULL, "{\"path\": \"%s/*.log\", \"debounce_ms\": 20}", w);

    CHECK((rename(a, at)) == 0); /* out of the glob */
    CHECK(fx_wait(&fx, 1, WAIT_MS));
    fx_assert_ev(&fx, 0, "ren", "removed", a);
    CHECK((rename(at, b)) == 0); /* into the glob */
    CHECK(fx_wait(&fx, 2, WAIT_MS));
    fx_assert_ev(&fx, 1, "ren", "created", b);
    CHECK((rename(b, c)) == 0); /* within: removed old + created new */
    CHECK(fx_wait(&fx, 4, WAIT_MS));
    fx_assert_ev(&fx, 2, "ren", "removed", b);
    fx_assert_ev(&fx, 3, "ren", "created", c);
    write_file(ox, "outside", false);
    CHECK((rename(ox, x)) == 0); /* in from an unwatched directory */
    CHECK(fx_wait(&fx, 5, WAIT_MS));
    fx_assert_ev(&fx, 4, "ren", "created", x);
    CHECK((fx_ev(&fx, 4)->size) == 7);
    CHECK((rename(x, oy)) == 0); /* out to an unwatched directory */
    CHECK(fx_wait(&fx, 6, WAIT_MS));
    fx_assert_ev(&fx, 5, "ren", "removed", x);
    /* Atomic replace of a watched file (write temp + rename over it). */
    char *tmp = fx_path(&fx, "w/.c.log.tmp");
    write_file(tmp, "replaced", false);
    CHECK((rename(tmp, c)) == 0);
    CHECK(fx_wait(&fx, 7, WAIT_MS));
    fx_assert_ev(&fx, 6, "ren", "modified", c);
    CHECK((fx_ev(&fx, 6)->size) == 8);
    fx_settle(&fx, 100);
    CHECK(fx.evs->len == 7);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
}

static void test_recursive(void)
{
    fo_fx fx;
    fx_init(&fx);
    char *r = fx_path(&fx, "r"), *old = fx_path(&fx, "r/sub/old.log");
    char *top = fx_path(&fx, "r/top.log");
    make_dirs(fx_path(&fx, "r/sub"));
    write_file(old, "o", false);
    bmq_instance *rec = fx_create(
        &fx, "rec", NULL, "{\"path\": \"%s/*.log\", \"recursive\": true, \"debounce_ms\": 20}", r);
    bmq_instance *flat =
        fx_create(&fx, "flat", NULL, "{\"path\": \"%s/*.log\", \"debounce_ms\": 20}", r);

    write_file(old, "more", true);
    CHECK(fx_wait(&fx, 1, WAIT_MS));
    fx_assert_ev(&fx, 0, "rec", "modified", old);

    char *nd = fx_path(&fx, "r/new"), *nf = fx_path(&fx, "r/new/n.log");
    make_dirs(nd);
    fx_settle(&fx, 60); /* the directory is watched once the loop saw it */
    write_file(nf, "n", false);
    CHECK(fx_wait(&fx, 2, WAIT_MS));
    fx_assert_ev(&fx, 1, "rec", "created", nf);

    /* A tree made and filled before the observer sees it. */
    char *deep = fx_path(&fx, "r/a/b/c/deep.log");
    make_dirs(fx_path(&fx, "r/a/b/c"));
    write_file(deep, "d", false);
    CHECK(fx_wait(&fx, 3, WAIT_MS));
    fx_assert_ev(&fx, 2, "rec", "created", deep);

    write_file(top, "t", false);
    CHECK(fx_wait(&fx, 5, WAIT_MS));
    CHECK((fx_count(&fx, "rec", "created", top)) == 1);
    CHECK((fx_count(&fx, "flat", "created", top)) == 1);

    /* Renaming a subtree: removed under the old name, created under the new. */
    char *ren = fx_path(&fx, "r/renamed"), *rf = fx_path(&fx, "r/renamed/n.log");
    CHECK((rename(nd, ren)) == 0);
    CHECK(fx_wait(&fx, 7, WAIT_MS));
    CHECK((fx_count(&fx, "rec", "removed", nf)) == 1);
    CHECK((fx_count(&fx, "rec", "created", rf)) == 1);
    write_file(rf, "still watched", true);
    CHECK(fx_wait(&fx, 8, WAIT_MS));
    fx_assert_ev(&fx, 7, "rec", "modified", rf);

    rm_rf(fx_path(&fx, "r/a"));
    CHECK(fx_wait(&fx, 9, WAIT_MS));
    fx_assert_ev(&fx, 8, "rec", "removed", deep);
    fx_settle(&fx, 100);
    CHECK(fx.evs->len == 9);
    CHECK((fx_count(&fx, "flat", NULL, NULL)) == 1); /* only top.log */
    bmq_instance_destroy(rec);
    bmq_instance_destroy(flat);
    fx_clear(&fx);
}

/* Wildcards in directory components: only matching directories count. */
static void test_dir_glob(void)
{
    fo_fx fx;
    fx_init(&fx);
    char *g = fx_path(&fx, "g");
    make_dirs(fx_path(&fx, "g/x"));
    make_dirs(fx_path(&fx, "g/skip"));
    bmq_instance *inst =
        fx_create(&fx, "dg", NULL, "{\"path\": \"%s/[xy]*/app.log\", \"debounce_ms\": 20}", g);
    char *xa = fx_path(&fx, "g/x/app.log"), *ya = fx_path(&fx, "g/y1/app.log");
    write_file(xa, "1", false);
    write_file(fx_path(&fx, "g/x/other.log"), "1", false);
    write_file(fx_path(&fx, "g/skip/app.log"), "1", false);
    write_file(fx_path(&fx, "g/app.log"), "1", false);
    make_dirs(fx_path(&fx, "g/y1"));
    write_file(ya, "2", false);
    fx_settle(&fx, 150);
    CHECK(fx.evs->len == 2);
    CHECK((fx_count(&fx, "dg", "created", xa)) == 1);
    CHECK((fx_count(&fx, "dg", "created", ya)) == 1);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
}

static void test_base_removed_recreated(void)
{
    fo_fx fx;
    fx_init(&fx);
    char *base = fx_path(&fx, "p/base"), *a = fx_path(&fx, "p/base/a.log");
    char *b = fx_path(&fx, "p/base/b.log"), *c = fx_path(&fx, "p/base/c.log");
    make_dirs(base);
    write_file(a, "a", false);
    write_file(b, "b", false);
    bmq_instance *inst =
        fx_create(&fx, "base", NULL, "{\"path\": \"%s/*.log\", \"debounce_ms\": 20}", base);
    rm_rf(base);
    CHECK(fx_wait(&fx, 2, WAIT_MS));
    CHECK((fx_count(&fx, "base", "removed", a)) == 1);
    CHECK((fx_count(&fx, "base", "removed", b)) == 1);
    make_dirs(base);
    fx_settle(&fx, 60);
    write_file(c, "c", false);
    CHECK(fx_wait(&fx, 3, WAIT_MS));
    fx_assert_ev(&fx, 2, "base", "created", c);

    /* Whole parent gone, then a populated directory moved into place. */
    rm_rf(fx_path(&fx, "p"));
    CHECK(fx_wait(&fx, 4, WAIT_MS));
    fx_assert_ev(&fx, 3, "base", "removed", c);
    char *prep = fx_path(&fx, "prep/base");
    make_dirs(prep);
    write_file(fx_path(&fx, "prep/base/d.log"), "d", false);
    write_file(fx_path(&fx, "prep/base/e.txt"), "e", false);
    CHECK((rename(fx_path(&fx, "prep"), fx_path(&fx, "p"))) == 0);
    CHECK(fx_wait(&fx, 5, WAIT_MS));
    fx_assert_ev(&fx, 4, "base", "created", fx_path(&fx, "p/base/d.log"));
    write_file(a, "again", false);
    CHECK(fx_wait(&fx, 6, WAIT_MS));
    fx_assert_ev(&fx, 5, "base", "created", a);

    /* The base moved away counts as removed too. */
    CHECK((rename(base, fx_path(&fx, "p/moved"))) == 0);
    CHECK(fx_wait(&fx, 8, WAIT_MS));
    CHECK((fx_count(&fx, "base", "removed", a)) == 2);
    CHECK((fx_count(&fx, "base", "removed", fx_path(&fx, "p/base/d.log"))) == 1);
    write_file(fx_path(&fx, "p/moved/f.log"), "f", false);
    fx_settle(&fx, 100);
    CHECK(fx.evs->len == 8);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
}

/* Renaming a parent of the base moves the watched set away without any
 * event on the base itself; the observer must notice and start over. */
static void test_parent_renamed(void)
{
    fo_fx fx;
    fx_init(&fx);
    char *base = fx_path(&fx, "p/q/base"), *a = fx_path(&fx, "p/q/base/a.log");
    make_dirs(base);
    write_file(a, "a", false);
    bmq_instance *inst =
        fx_create(&fx, "par", NULL, "{\"path\": \"%s/*.log\", \"debounce_ms\": 20}", base);
    CHECK((rename(fx_path(&fx, "p/q"), fx_path(&fx, "p/r"))) == 0);
    CHECK(fx_wait(&fx, 1, WAIT_MS));
    fx_assert_ev(&fx, 0, "par", "removed", a);
    write_file(fx_path(&fx, "p/r/base/stale.log"), "s", false); /* no longer the glob */
    make_dirs(base);
    fx_settle(&fx, 60);
    write_file(a, "again", false);
    CHECK(fx_wait(&fx, 2, WAIT_MS));
    fx_assert_ev(&fx, 1, "par", "created", a);
    fx_settle(&fx, 100);
    CHECK(fx.evs->len == 2);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
}

static void test_base_missing_at_start(void)
{
    fo_fx fx;
    fx_init(&fx);
    char *base = fx_path(&fx, "x/y/z"), *f = fx_path(&fx, "x/y/z/f.log");
    bmq_instance *inst =
        fx_create(&fx, "late", NULL, "{\"path\": \"%s/*.log\", \"debounce_ms\": 20}", base);
    json_object *st = bmq_instance_status(inst), *s, *v;
    CHECK(json_object_object_get_ex(st, "status", &s));
    CHECK(json_object_object_get_ex(s, "base_exists", &v));
    CHECK(!json_object_get_boolean(v));
    json_object_put(st);
    make_dirs(fx_path(&fx, "x"));
    fx_settle(&fx, 40);
    make_dirs(base);
    write_file(f, "f", false);
    CHECK(fx_wait(&fx, 1, WAIT_MS));
    fx_assert_ev(&fx, 0, "late", "created", f);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
}

static void test_two_instances(void)
{
    fo_fx fx;
    fx_init(&fx);
    char *w = fx_path(&fx, "w"), *l = fx_path(&fx, "w/x.log"), *t = fx_path(&fx, "w/y.txt");
    make_dirs(w);
    bmq_instance *i1 =
        fx_create(&fx, "logs", NULL, "{\"path\": \"%s/*.log\", \"debounce_ms\": 20}", w);
    bmq_instance *i2 =
        fx_create(&fx, "texts", NULL,
                  "{\"path\": \"%s/*.txt\", \"debounce_ms\": 20, \"events\": [\"removed\"]}", w);
    write_file(l, "l", false);
    write_file(t, "t", false);
    CHECK(fx_wait(&fx, 1, WAIT_MS));
    unlink(l);
    unlink(t);
    fx_settle(&fx, 150);
    CHECK((fx_count(&fx, "logs", "created", l)) == 1);
    CHECK((fx_count(&fx, "logs", "removed", l)) == 1);
    CHECK((fx_count(&fx, "texts", "removed", t)) == 1);
    CHECK(fx.evs->len == 3); /* texts reports removals only */
    bmq_instance_destroy(i1);
    bmq_instance_destroy(i2);
    fx_clear(&fx);
}

static void test_config(void)
{
    fo_fx fx;
    fx_init(&fx);
    static const struct {
        const char *json;
        const char *key;
    } bad[] = {
        {"{}", "path"},
        {"{\"path\": 5}", "path"},
        {"{\"path\": \"rel/*.log\"}", "absolute"},
        {"{\"path\": \"$BMQ_FO_SURELY_UNSET/x\"}", "BMQ_FO_SURELY_UNSET"},
        {"{\"path\": \"/tmp/*.log\", \"debounce_ms\": -1}", "debounce_ms"},
        {"{\"path\": \"/tmp/*.log\", \"debounce_ms\": \"100\"}", "debounce_ms"},
        {"{\"path\": \"/tmp/*.log\", \"recursive\": \"yes\"}", "recursive"},
        {"{\"path\": \"/tmp/*.log\", \"events\": [\"created\", \"deleted\"]}", "deleted"},
        {"{\"path\": \"/tmp/*.log\", \"events\": []}", "events"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        char *err = NULL;
        json_object *cfg = json_tokener_parse(bad[i].json);
        bmq_instance *inst = bmq_instance_create(fx.host, "fileobserver", "bad", cfg, NULL, &err);
        json_object_put(cfg);
        fprintf(stderr, "%s -> %s\n", bad[i].json, err ? err : "(none)");
        CHECK(inst == NULL);
        CHECK(err != NULL);
        CHECK((strstr(err, bad[i].key)) != NULL);
        g_free(err);
    }
    /* ~ and $VARS expand. */
    char *w = fx_path(&fx, "home/log"), *f = fx_path(&fx, "home/log/e.log");
    make_dirs(w);
    char *home = fx_path(&fx, "home");
    char *old_home = g_strdup(g_getenv("HOME"));
    g_setenv("HOME", home, TRUE);
    g_setenv("BMQ_FO_SUB", "log", TRUE);
    bmq_instance *i1 =
        fx_create(&fx, "tilde", NULL, "{\"path\": \"~/${BMQ_FO_SUB}/*.log\", \"debounce_ms\": 10}");
    bmq_instance *i2 =
        fx_create(&fx, "vars", NULL,
                  "{\"path\": \"$HOME/$BMQ_FO_SUB/*.log\", \"debounce_ms\": 10, \"colour\": 1}");
    g_setenv("HOME", old_home, TRUE);
    write_file(f, "e", false);
    CHECK(fx_wait(&fx, 2, WAIT_MS));
    CHECK((fx_count(&fx, "tilde", "created", f)) == 1);
    CHECK((fx_count(&fx, "vars", "created", f)) == 1);
    bool warned = false;
    for (guint i = 0; i < fx.logs->len; i++)
        warned = warned || strstr(fx.logs->pdata[i], "colour") != NULL;
    CHECK(warned);
    bmq_instance_destroy(i1);
    bmq_instance_destroy(i2);
    g_free(old_home);
    fx_clear(&fx);
}

static bool write_proc(const char *file, const char *text)
{
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    close(fd);
    return ok;
}

/* Child: in a private user namespace whose inotify watch limit is 4
 * (the host's global limit is left alone). */
static int watch_limit_child(void)
{
    if (unshare(CLONE_NEWUSER) != 0 || !write_proc("/proc/self/setgroups", "deny") ||
        !write_proc("/proc/self/uid_map", "0 0 1\n") ||
        !write_proc("/proc/self/gid_map", "0 0 1\n") ||
        !write_proc("/proc/sys/user/max_inotify_watches", "4")) {
        printf("no user namespace with its own inotify limits: %s\n", g_strerror(errno));
        return 77;
    }
    fo_fx fx;
    fx_init(&fx);
    for (int i = 0; i < 10; i++)
        make_dirs(fx_path(&fx, "r/d%d", i));
    /* base + its 2 guarded parents + 1 subdirectory fit; 9 do not. */
    bmq_instance *inst = fx_create(&fx, "lim", NULL,
                                   "{\"path\": \"%s/*.log\", \"recursive\": true, "
                                   "\"debounce_ms\": 10}",
                                   fx_path(&fx, "r"));
    guint errors = 0;
    for (guint i = 0; i < fx.logs->len; i++)
        if (strstr(fx.logs->pdata[i], "watch limit reached") &&
            strstr(fx.logs->pdata[i], "max_user_watches = 4"))
            errors++;
    CHECK(errors == 1);
    json_object *st = bmq_instance_status(inst), *s, *v;
    CHECK(json_object_object_get_ex(st, "status", &s));
    CHECK(json_object_object_get_ex(s, "watch_limit_hit", &v));
    CHECK(json_object_get_boolean(v));
    json_object_put(st);
    /* What is watched still works. */
    char *f = fx_path(&fx, "r/top.log");
    write_file(f, "t", false);
    CHECK(fx_wait(&fx, 1, WAIT_MS));
    fx_assert_ev(&fx, 0, "lim", "created", f);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
    return 0;
}

/* ENOSPC from inotify_add_watch: one clear error, the instance keeps
 * running with the watches it has. Runs in a child process because the
 * limit is lowered in a private user namespace. */
static void test_watch_limit(void)
{
    char *argv[] = {"/proc/self/exe", "--watch-limit-child", NULL};
    char *out = NULL;
    int status = 0;
    GError *err = NULL;
    CHECK(g_spawn_sync(NULL, argv, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, &out, NULL,
                       &status, &err));
    CHECK(err == NULL);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
        fprintf(stderr, "skipped: %s\n", out);
    } else {
        fprintf(stderr, "%s\n", out);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    g_free(out);
}

static void test_reconfigure_destroy(void)
{
    fo_fx fx;
    fx_init(&fx);
    int fds0 = count_inotify_fds();
    char *w = fx_path(&fx, "w");
    make_dirs(w);
    bmq_instance *inst =
        fx_create(&fx, "rc", NULL, "{\"path\": \"%s/*.log\", \"debounce_ms\": 10}", w);
    CHECK(count_inotify_fds() == (fds0 + 1));
    json_object *cfg = json_object_new_object();
    char *pat = g_strdup_printf("%s/*.txt", w);
    json_object_object_add(cfg, "path", json_object_new_string(pat));
    json_object_object_add(cfg, "debounce_ms", json_object_new_int(10));
    char *err = NULL;
    CHECK((bmq_instance_reconfigure(inst, cfg, &err)) == 0);
    json_object_put(cfg);
    write_file(fx_path(&fx, "w/a.log"), "a", false);
    write_file(fx_path(&fx, "w/a.txt"), "a", false);
    CHECK(fx_wait(&fx, 1, WAIT_MS));
    fx_settle(&fx, 60);
    CHECK(fx.evs->len == 1);
    fx_assert_ev(&fx, 0, "rc", "created", fx_path(&fx, "w/a.txt"));
    CHECK(count_inotify_fds() == (fds0 + 1));
    bmq_instance_destroy(inst);
    CHECK(count_inotify_fds() == fds0); /* every watch and the fd released */
    write_file(fx_path(&fx, "w/b.txt"), "b", false);
    fx_settle(&fx, 60);
    CHECK(fx.evs->len == 1);
    g_free(pat);
    fx_clear(&fx);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--watch-limit-child"))
        return watch_limit_child();
    RUN(test_events);
    RUN(test_debounce);
    RUN(test_debounce_zero);
    RUN(test_rename);
    RUN(test_recursive);
    RUN(test_dir_glob);
    RUN(test_base_removed_recreated);
    RUN(test_parent_renamed);
    RUN(test_base_missing_at_start);
    RUN(test_two_instances);
    RUN(test_config);
    RUN(test_reconfigure_destroy);
    RUN(test_watch_limit);
    return 0;
}
