/* fileobserver_overflow_test.c - inotify queue overflow: thousands of
 * files are created, written in rounds and some removed while the main
 * loop is not running, so the kernel queue (fs.inotify.max_queued_events,
 * 16384 by default) overflows: 5,000 creations + 3 rounds of 5,000 writes
 * (writes to different files are never merged) + 1,000 removals. The
 * observer must rescan, and what it reported (created minus removed) must
 * equal what is really on disk. Creating files is the slow part on a busy
 * disk, so the burst is mostly writes. */
#include "fileobserver_harness.h"

#include "check.h"

#define NFILES  5000
#define NREMOVE (NFILES / 5)

/* Write rounds needed to exceed the queue by a margin. */
static int write_rounds(void)
{
    long q = 16384;
    char *text = NULL;
    if (g_file_get_contents("/proc/sys/fs/inotify/max_queued_events", &text, NULL, NULL))
        q = atol(text);
    g_free(text);
    long r = (q + 4000 - NFILES - NREMOVE + NFILES - 1) / NFILES;
    return r < 1 ? 1 : (int)r;
}

static void test_overflow(void)
{
    const int rounds = write_rounds();
    if (rounds > 20) {
        /* The only test here: the whole program is skipped. */
        fprintf(stderr, "skipped: fs.inotify.max_queued_events is too large to overflow "
                        "quickly\n");
        exit(77);
    }
    fo_fx fx;
    fx_init(&fx);
    char *w = fx_path(&fx, "many");
    make_dirs(w);
    write_file(fx_path(&fx, "many/keep.log"), "k", false);
    write_file(fx_path(&fx, "many/gone.log"), "g", false);
    bmq_instance *inst =
        fx_create(&fx, "ovf", NULL, "{\"path\": \"%s/*.log\", \"debounce_ms\": 50}", w);

    /* Nothing runs the loop from here until all files exist. */
    char path[4096];
    for (int i = 0; i < NFILES; i++) {
        snprintf(path, sizeof(path), "%s/f%05d.log", w, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        close(fd);
    }
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < NFILES; i++) {
            snprintf(path, sizeof(path), "%s/f%05d.log", w, i);
            write_file(path, "x", true);
        }
    }
    for (int i = 0; i < NREMOVE; i++) {
        snprintf(path, sizeof(path), "%s/f%05d.log", w, i * 5);
        CHECK(unlink(path) == 0);
    }
    CHECK((unlink(fx_path(&fx, "many/gone.log"))) == 0);
    fx_settle(&fx, 400);

    /* created minus removed, applied in order to the baseline. */
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_add(seen, fx_path(&fx, "many/keep.log"));
    g_hash_table_add(seen, fx_path(&fx, "many/gone.log"));
    for (guint i = 0; i < fx.evs->len; i++) {
        ev *e = fx.evs->pdata[i];
        if (!strcmp(e->action, "created")) {
            CHECK(!(g_hash_table_contains(seen, e->path)));
            g_hash_table_add(seen, e->path);
        } else if (!strcmp(e->action, "removed")) {
            CHECK(g_hash_table_remove(seen, e->path));
        }
    }
    /* The real set. */
    guint real = 0;
    GDir *d = g_dir_open(w, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name(d))) {
        char *p = g_build_filename(w, name, NULL);
        CHECK(g_hash_table_contains(seen, p));
        g_free(p);
        real++;
    }
    g_dir_close(d);
    CHECK(real == ((guint)(NFILES - NREMOVE + 1)));
    CHECK(g_hash_table_size(seen) == real);

    json_object *st = bmq_instance_status(inst), *s, *v;
    CHECK(json_object_object_get_ex(st, "status", &s));
    CHECK(json_object_object_get_ex(s, "overflows", &v));
    fprintf(stderr, "%u events, %d overflow(s), %u files\n", fx.evs->len, json_object_get_int(v),
            real);
    CHECK(json_object_get_int(v) >= 1);
    CHECK(json_object_object_get_ex(s, "files", &v));
    CHECK(json_object_get_int(v) == (int)real);
    json_object_put(st);
    g_hash_table_destroy(seen);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
}

int main(int argc, char **argv)
{
    RUN(test_overflow);
    return 0;
}
