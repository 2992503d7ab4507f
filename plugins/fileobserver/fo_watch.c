/* fo_watch.c - the inotify side of the fileobserver.
 *
 * One inotify fd per instance, read from a GSource on the host context (no
 * timers: an idle observer never wakes up). A watch is kept on exactly the
 * directories the glob can reach: the base, the directories matching each
 * further component, and, when recursive, the whole tree below the file
 * level. When the base is missing, only its nearest existing parent is
 * watched, for the one child name that leads back to it.
 *
 * Every watch is added before its directory is scanned, so a file created
 * in between is seen at least once; duplicates are harmless because the
 * flush compares real state with the known set instead of trusting events.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "fo.h"

#define MASK_SELF (IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define MASK_DIRS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)

static bool is_file_level(const fo_inst *fo, const fo_dir *d)
{
    return d->kind == FO_DIR_TREE || (d->kind == FO_DIR_LEVEL && d->level == fo->cfg.ncomps - 1);
}

static uint32_t dir_mask(const fo_inst *fo, fo_dir_kind kind, int level)
{
    if (kind == FO_DIR_ANCESTOR)
        return IN_CREATE | IN_MOVED_TO | MASK_SELF;
    if (kind == FO_DIR_GUARD)
        return MASK_SELF; /* fires only if that very directory is renamed */
    uint32_t m = MASK_DIRS | MASK_SELF;
    if (kind == FO_DIR_TREE)
        m |= IN_DONT_FOLLOW; /* never descend through symlinks: no loops */
    if (kind == FO_DIR_TREE || level == fo->cfg.ncomps - 1) {
        m |= IN_EXCL_UNLINK;
        if (fo->cfg.events & FO_EV_MODIFIED)
            m |= IN_MODIFY | IN_ATTRIB;
    }
    return m;
}

static void dir_free(fo_dir *d)
{
    g_free(d->path);
    g_free(d->next);
    g_free(d);
}

/* Unlink @d from the tables; @rm: also remove the kernel watch (not when
 * the kernel already dropped it or the wd now belongs to another path). */
static void dir_drop(fo_inst *fo, fo_dir *d, bool rm)
{
    if (rm && fo->fd >= 0)
        inotify_rm_watch(fo->fd, d->wd);
    if (fo->anchor == d)
        fo->anchor = NULL;
    g_hash_table_remove(fo->dirs_by_path, d->path);
    g_hash_table_remove(fo->dirs_by_wd, GINT_TO_POINTER(d->wd)); /* frees d */
}

static bool path_at_or_below(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (strncmp(path, dir, n))
        return false;
    return path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/');
}

/* Stop watching @dir and everything below it; the known files there are
 * re-checked at the next flush (and so reported removed when gone).
 * @keep_wd: a wd that now belongs to a new path and must stay. */
static void forget_below(fo_inst *fo, const char *dir, int keep_wd)
{
    char *copy = g_strdup(dir);
    GPtrArray *victims = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, fo->dirs_by_path);
    while (g_hash_table_iter_next(&it, &k, &v))
        if ((((fo_dir *)v)->kind == FO_DIR_LEVEL || ((fo_dir *)v)->kind == FO_DIR_TREE) &&
            path_at_or_below(k, copy))
            g_ptr_array_add(victims, v);
    for (guint i = 0; i < victims->len; i++) {
        fo_dir *d = victims->pdata[i];
        dir_drop(fo, d, d->wd != keep_wd);
    }
    g_ptr_array_free(victims, TRUE);
    fo__pending_add_below(fo, copy);
    g_free(copy);
}

static long read_limit(const char *file)
{
    long v = -1;
    FILE *f = fopen(file, "re");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static void log_watch_error(fo_inst *fo, const char *path, int err)
{
    if (err == ENOSPC) {
        if (fo->limit_logged)
            return;
        fo->limit_logged = true;
        /* The effective limit is the smaller of the global one and that of
         * our user namespace (containers). */
        long lim = read_limit("/proc/sys/fs/inotify/max_user_watches");
        long ns = read_limit("/proc/sys/user/max_inotify_watches");
        if (ns > 0 && (lim <= 0 || ns < lim))
            lim = ns;
        fo->host->log(fo->host, BMQ_LOG_ERROR,
                      "inotify watch limit reached (fs.inotify.max_user_watches = %ld): %s and "
                      "directories after it are not watched; raise the limit with sysctl",
                      lim, path);
        return;
    }
    if (err == ENOENT || err == ENOTDIR)
        return; /* vanished meanwhile: its parent's events tell the rest */
    fo->host->log(fo->host, BMQ_LOG_WARNING, "cannot watch %s: %s", path, g_strerror(err));
}

/* Watch @path as @kind. Returns the node (existing or new) or NULL. */
static fo_dir *dir_register(fo_inst *fo, const char *path, fo_dir_kind kind, int level,
                            const char *next)
{
    fo_dir *d = g_hash_table_lookup(fo->dirs_by_path, path);
    if (d && d->kind == kind && d->level == level && g_strcmp0(d->next, next) == 0) {
        d->gen = fo->gen;
        return d;
    }
    if (d)
        dir_drop(fo, d, true);
    int wd = inotify_add_watch(fo->fd, path, dir_mask(fo, kind, level));
    if (wd < 0) {
        log_watch_error(fo, path, errno);
        return NULL;
    }
    fo_dir *old = g_hash_table_lookup(fo->dirs_by_wd, GINT_TO_POINTER(wd));
    if (old) {
        /* Same inode under a new path: it was moved without us seeing the
         * move out; the old path and its subtree are gone. */
        if (old->kind == FO_DIR_ANCESTOR || old->kind == FO_DIR_GUARD)
            dir_drop(fo, old, false);
        else
            forget_below(fo, old->path, wd);
    }
    d = g_new0(fo_dir, 1);
    d->wd = wd;
    d->path = g_strdup(path);
    d->kind = kind;
    d->level = level;
    d->next = g_strdup(next);
    d->gen = fo->gen;
    g_hash_table_insert(fo->dirs_by_wd, GINT_TO_POINTER(wd), d);
    g_hash_table_insert(fo->dirs_by_path, d->path, d);
    return d;
}

static void dir_scan(fo_inst *fo, fo_dir *d, bool report);

static void consider_file(fo_inst *fo, const char *path, bool report)
{
    if (report) {
        fo__pending_add(fo, path, 0);
        return;
    }
    struct stat st;
    if (fo__file_stat(path, &st))
        fo__known_set(fo, path, &st);
}

/* A directory @name appeared (or was found) in @parent. */
static void consider_subdir(fo_inst *fo, fo_dir *parent, const char *name, bool report)
{
    fo_dir_kind kind;
    int level = 0;
    if (parent->kind == FO_DIR_LEVEL && parent->level < fo->cfg.ncomps - 1) {
        if (!fo__name_matches(fo->cfg.comps[parent->level], name))
            return;
        kind = FO_DIR_LEVEL;
        level = parent->level + 1;
    } else if (fo->cfg.recursive && is_file_level(fo, parent)) {
        kind = FO_DIR_TREE;
    } else {
        return;
    }
    char *path = g_build_filename(parent->path, name, NULL);
    /* Hold the parent's path: registering may drop nodes on a wd clash. */
    fo_dir *d = dir_register(fo, path, kind, level, NULL);
    if (d)
        dir_scan(fo, d, report);
    g_free(path);
}

static void dir_scan(fo_inst *fo, fo_dir *d, bool report)
{
    char *dpath = g_strdup(d->path);
    DIR *dp = opendir(dpath);
    if (!dp) {
        g_free(dpath);
        return;
    }
    bool files = is_file_level(fo, d);
    const char *fpat = fo->cfg.comps[fo->cfg.ncomps - 1];
    fo_dir_kind kind = d->kind;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *child = g_build_filename(dpath, de->d_name, NULL);
        bool isdir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN || (de->d_type == DT_LNK && kind == FO_DIR_LEVEL && !files)) {
            /* Symlinked directories count on the way down to the file level
             * (the glob names them), never inside a recursive tree. */
            struct stat st;
            isdir = (de->d_type == DT_LNK ? stat(child, &st) : lstat(child, &st)) == 0 &&
                    S_ISDIR(st.st_mode);
        }
        if (isdir) {
            /* d may have been freed by a wd clash; look it up again. */
            fo_dir *cur = g_hash_table_lookup(fo->dirs_by_path, dpath);
            if (cur)
                consider_subdir(fo, cur, de->d_name, report);
        } else if (files && fo__name_matches(fpat, de->d_name)) {
            consider_file(fo, child, report);
        }
        g_free(child);
    }
    closedir(dp);
    g_free(dpath);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Guard every parent above @top (not "/"): renaming one of them moves the
 * whole watched set away without any event on the watches below. */
static void guards_update(fo_inst *fo, const char *top)
{
    GHashTable *want = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (char *p = g_path_get_dirname(top); strcmp(p, "/") && strcmp(p, ".");) {
        char *up = g_path_get_dirname(p);
        g_hash_table_add(want, p);
        p = up;
        if (!strcmp(p, "/") || !strcmp(p, ".")) {
            g_free(p);
            break;
        }
    }
    GPtrArray *old = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, fo->dirs_by_path);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (((fo_dir *)v)->kind == FO_DIR_GUARD && !g_hash_table_contains(want, k))
            g_ptr_array_add(old, v);
    for (guint i = 0; i < old->len; i++)
        dir_drop(fo, old->pdata[i], true);
    g_ptr_array_free(old, TRUE);
    g_hash_table_iter_init(&it, want);
    while (g_hash_table_iter_next(&it, &k, &v))
        dir_register(fo, k, FO_DIR_GUARD, 0, NULL);
    g_hash_table_destroy(want);
}

/* A guarded parent was renamed: every path we know is stale. */
static void restart_from_base(fo_inst *fo)
{
    GPtrArray *guards = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, fo->dirs_by_path);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (((fo_dir *)v)->kind == FO_DIR_GUARD)
            g_ptr_array_add(guards, v);
    for (guint i = 0; i < guards->len; i++)
        dir_drop(fo, guards->pdata[i], true);
    g_ptr_array_free(guards, TRUE);
    if (fo->anchor)
        dir_drop(fo, fo->anchor, true);
    forget_below(fo, fo->cfg.base, -1);
    fo__watch_base(fo, true);
}

void fo__watch_base(fo_inst *fo, bool report)
{
    const char *base = fo->cfg.base;
    for (int round = 0; round < 256; round++) {
        fo_dir *b = dir_register(fo, base, FO_DIR_LEVEL, 0, NULL);
        if (b) {
            if (fo->anchor)
                dir_drop(fo, fo->anchor, true);
            guards_update(fo, base);
            dir_scan(fo, b, report);
            return;
        }
        /* The base is missing: wait on its nearest existing parent. */
        char *a = g_path_get_dirname(base);
        while (strcmp(a, "/") && !is_dir(a)) {
            char *up = g_path_get_dirname(a);
            g_free(a);
            a = up;
        }
        const char *rest = base + strlen(a) + (strcmp(a, "/") ? 1 : 0);
        while (*rest == '/')
            rest++;
        char *next = g_strndup(rest, strcspn(rest, "/"));
        fo_dir *anc = dir_register(fo, a, FO_DIR_ANCESTOR, 0, next);
        if (fo->anchor && fo->anchor != anc)
            dir_drop(fo, fo->anchor, true);
        fo->anchor = anc;
        if (anc)
            guards_update(fo, a);
        char *cand = g_build_filename(a, next, NULL);
        bool appeared = anc && is_dir(cand); /* created before the watch took */
        g_free(cand);
        g_free(next);
        g_free(a);
        if (!appeared)
            return;
    }
}

void fo__watch_rescan(fo_inst *fo)
{
    fo->gen++;
    fo->limit_logged = false;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, fo->known);
    while (g_hash_table_iter_next(&it, &k, &v))
        fo__pending_add(fo, k, 0);
    fo__watch_base(fo, true);
    /* Sweep directories the walk did not reach again. */
    GPtrArray *stale = g_ptr_array_new();
    g_hash_table_iter_init(&it, fo->dirs_by_wd);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (((fo_dir *)v)->gen != fo->gen)
            g_ptr_array_add(stale, v);
    for (guint i = 0; i < stale->len; i++)
        dir_drop(fo, stale->pdata[i], true);
    g_ptr_array_free(stale, TRUE);
    fo__flush(fo);
}

static void self_gone(fo_inst *fo, fo_dir *d, uint32_t mask)
{
    bool kernel_dropped = (mask & IN_IGNORED) != 0;
    if (d->kind == FO_DIR_GUARD) {
        dir_drop(fo, d, !kernel_dropped);
        restart_from_base(fo);
        return;
    }
    if (d->kind == FO_DIR_ANCESTOR) {
        dir_drop(fo, d, !kernel_dropped);
        fo__watch_base(fo, true);
        return;
    }
    bool was_base = d->kind == FO_DIR_LEVEL && d->level == 0;
    forget_below(fo, d->path, kernel_dropped ? d->wd : -1);
    if (was_base)
        fo__watch_base(fo, true);
}

static void handle_event(fo_inst *fo, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        fo->overflows++;
        fo->need_rescan = true;
        return;
    }
    if (fo->need_rescan)
        return; /* the rescan at the end of this batch covers it */
    fo_dir *d = g_hash_table_lookup(fo->dirs_by_wd, GINT_TO_POINTER(ev->wd));
    if (!d)
        return; /* a watch we already dropped */
    if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
        self_gone(fo, d, ev->mask);
        return;
    }
    if (!ev->len || d->kind == FO_DIR_GUARD)
        return;
    if (d->kind == FO_DIR_ANCESTOR) {
        if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && !strcmp(ev->name, d->next))
            fo__watch_base(fo, true);
        return;
    }
    char *path = g_build_filename(d->path, ev->name, NULL);
    if (ev->mask & IN_ISDIR) {
        if (ev->mask & (IN_CREATE | IN_MOVED_TO))
            consider_subdir(fo, d, ev->name, true);
        else if ((ev->mask & (IN_DELETE | IN_MOVED_FROM)) &&
                 g_hash_table_contains(fo->dirs_by_path, path))
            forget_below(fo, path, -1);
    } else if (is_file_level(fo, d) &&
               fo__name_matches(fo->cfg.comps[fo->cfg.ncomps - 1], ev->name)) {
        fo__pending_add(fo, path, (ev->mask & IN_MODIFY) ? FO_P_CHANGED : 0);
    }
    g_free(path);
}

gboolean fo__watch_on_readable(gint fd, GIOCondition cond, gpointer data)
{
    fo_inst *fo = data;
    ssize_t n = read(fd, fo->buf, sizeof(fo->buf));
    if (n <= 0) {
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            fo->host->log(fo->host, BMQ_LOG_ERROR, "reading inotify events: %s", g_strerror(errno));
        return G_SOURCE_CONTINUE;
    }
    for (char *p = fo->buf; p < fo->buf + n;) {
        const struct inotify_event *ev = (const struct inotify_event *)p;
        handle_event(fo, ev);
        p += sizeof(*ev) + ev->len;
    }
    if (fo->need_rescan) {
        fo->need_rescan = false;
        fo->host->log(fo->host, BMQ_LOG_NOTICE,
                      "inotify event queue overflowed: rescanning and reporting the differences");
        fo__watch_rescan(fo);
    }
    fo__pending_schedule(fo);
    return G_SOURCE_CONTINUE;
}

int fo__watch_open(fo_inst *fo, char **error)
{
    fo->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fo->fd < 0) {
        int err = errno;
        *error = g_strdup_printf("inotify_init1: %s%s", g_strerror(err),
                                 err == EMFILE ? " (fs.inotify.max_user_instances reached)" : "");
        return -BMQ_EIO;
    }
    fo->dirs_by_wd =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)dir_free);
    fo->dirs_by_path = g_hash_table_new(g_str_hash, g_str_equal);
    GSource *src = g_unix_fd_source_new(fo->fd, G_IO_IN);
    g_source_set_callback(src, G_SOURCE_FUNC(fo__watch_on_readable), fo, NULL);
    g_source_set_name(src, "berrymq fileobserver");
    fo->fd_source = fo->host->source_attach(fo->host, src);
    g_source_unref(src);
    return 0;
}

/* Closing the fd releases every watch at once. */
void fo__watch_close(fo_inst *fo)
{
    if (fo->fd_source)
        fo->host->source_remove(fo->host, fo->fd_source);
    fo->fd_source = 0;
    fo->anchor = NULL;
    if (fo->dirs_by_path)
        g_hash_table_destroy(fo->dirs_by_path);
    if (fo->dirs_by_wd)
        g_hash_table_destroy(fo->dirs_by_wd);
    fo->dirs_by_path = fo->dirs_by_wd = NULL;
    if (fo->fd >= 0)
        close(fo->fd);
    fo->fd = -1;
}
