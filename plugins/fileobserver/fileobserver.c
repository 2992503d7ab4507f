/* fileobserver.c - the "fileobserver" plugin: reports files matching a glob
 * as "ID:created", "ID:modified" and "ID:removed" (args [absolute path],
 * kwargs {"size", "mtime"} when the file exists).
 *
 * Events only mark paths as pending; a flush then compares each pending
 * path's real state with the known set (path -> size/mtime/inode) and
 * reports the difference. That makes duplicate, reordered or lost events
 * (after an inotify queue overflow, which rescans everything) harmless, and
 * gives one "modified" per debounce window however many chunks were written.
 * The debounce timer exists only while something is pending.
 */
#include <string.h>

#include "fo.h"

static const char *const event_actions[3] = {"created", "modified", "removed"};

bool fo__file_stat(const char *path, struct stat *st)
{
    if (stat(path, st) == 0)
        return !S_ISDIR(st->st_mode);
    return lstat(path, st) == 0 && !S_ISDIR(st->st_mode); /* dangling symlink */
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

void fo__known_set(fo_inst *fo, const char *path, const struct stat *st)
{
    fo_file *f = g_hash_table_lookup(fo->known, path);
    if (!f) {
        f = g_new0(fo_file, 1);
        g_hash_table_insert(fo->known, g_strdup(path), f);
    }
    f->size = st->st_size;
    f->mtime_ns = mtime_ns(st);
    f->dev = st->st_dev;
    f->ino = st->st_ino;
}

void fo__pending_add(fo_inst *fo, const char *path, unsigned flags)
{
    fo_pending *p = g_hash_table_lookup(fo->pending, path);
    if (p) {
        p->flags |= flags;
        return;
    }
    size_t n = strlen(path);
    p = g_malloc(sizeof(*p) + n + 1);
    p->flags = flags;
    memcpy(p->path, path, n + 1);
    g_hash_table_insert(fo->pending, p->path, p);
    g_queue_push_tail(&fo->pending_order, p);
}

void fo__pending_add_below(fo_inst *fo, const char *dir)
{
    size_t n = strlen(dir);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, fo->known);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const char *p = k;
        if (!strncmp(p, dir, n) && (p[n] == '/' || (n == 1 && dir[0] == '/')))
            fo__pending_add(fo, p, 0);
    }
}

static void emit(fo_inst *fo, int kind, const char *path, const struct stat *st)
{
    if (!(fo->cfg.events & (1u << kind)))
        return;
    json_object *args = json_object_new_array();
    json_object_array_add(args, json_object_new_string(path));
    json_object *kw = json_object_new_object();
    if (st) {
        json_object_object_add(kw, "size", json_object_new_int64(st->st_size));
        json_object_object_add(
            kw, "mtime",
            json_object_new_double((double)st->st_mtim.tv_sec + st->st_mtim.tv_nsec / 1e9));
    }
    int rc = fo->host->twitter(fo->host, fo->ev_id[kind], args, kw);
    if (rc < 0)
        fo->host->log(fo->host, BMQ_LOG_WARNING, "sending %s failed: %s", fo->ev_id[kind],
                      bmq_strerror(rc));
    else
        fo->sent[kind]++;
}

static void settle(fo_inst *fo, const char *path, unsigned flags)
{
    struct stat st;
    bool exists = fo__file_stat(path, &st);
    fo_file *k = g_hash_table_lookup(fo->known, path);
    if (!k && exists) {
        fo__known_set(fo, path, &st);
        emit(fo, 0, path, &st);
    } else if (k && !exists) {
        g_hash_table_remove(fo->known, path);
        emit(fo, 2, path, NULL);
    } else if (k) {
        bool changed = (flags & FO_P_CHANGED) || k->size != st.st_size ||
                       k->mtime_ns != mtime_ns(&st) || k->ino != st.st_ino || k->dev != st.st_dev;
        fo__known_set(fo, path, &st);
        if (changed)
            emit(fo, 1, path, &st);
    }
}

void fo__flush(fo_inst *fo)
{
    if (fo->flush_source) {
        fo->host->source_remove(fo->host, fo->flush_source);
        fo->flush_source = 0;
    }
    /* Detach first: a follower may cause new events while we report. */
    GHashTable *pending = fo->pending;
    GQueue order = fo->pending_order;
    fo->pending = g_hash_table_new(g_str_hash, g_str_equal);
    g_queue_init(&fo->pending_order);
    fo_pending *p;
    while ((p = g_queue_pop_head(&order))) {
        settle(fo, p->path, p->flags);
        g_free(p);
    }
    g_hash_table_destroy(pending);
}

static gboolean on_flush(gpointer data)
{
    fo_inst *fo = data;
    fo->flush_source = 0; /* returning REMOVE untracks it */
    fo__flush(fo);
    return G_SOURCE_REMOVE;
}

void fo__pending_schedule(fo_inst *fo)
{
    if (g_hash_table_size(fo->pending) == 0)
        return;
    if (fo->cfg.debounce_ms == 0)
        fo__flush(fo);
    else if (!fo->flush_source)
        fo->flush_source =
            fo->host->timeout_add(fo->host, (guint)fo->cfg.debounce_ms, on_flush, fo);
}

/* Start watching with fo->cfg; the files present now are the baseline. */
static int observe_start(fo_inst *fo, char **error)
{
    int rc = fo__watch_open(fo, error);
    if (rc < 0)
        return rc;
    fo__watch_base(fo, false);
    if (fo->anchor)
        fo->host->log(fo->host, BMQ_LOG_INFO, "%s does not exist yet: waiting for it in %s",
                      fo->cfg.base, fo->anchor->path);
    fo->host->log(fo->host, BMQ_LOG_INFO, "watching %s: %u directories, %u files", fo->cfg.pattern,
                  g_hash_table_size(fo->dirs_by_wd), g_hash_table_size(fo->known));
    return 0;
}

static void observe_stop(fo_inst *fo)
{
    fo__flush(fo);
    fo__watch_close(fo);
    g_hash_table_remove_all(fo->known);
}

static void set_config(fo_inst *fo, fo_config *cfg, json_object *config)
{
    fo__config_clear(&fo->cfg);
    fo->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    json_object_put(fo->config_copy);
    fo->config_copy = json_object_get(config);
}

static void fo_free(fo_inst *fo)
{
    if (fo->pending)
        g_hash_table_destroy(fo->pending);
    g_queue_clear_full(&fo->pending_order, g_free);
    if (fo->known)
        g_hash_table_destroy(fo->known);
    for (int i = 0; i < 3; i++)
        g_free(fo->ev_id[i]);
    fo__config_clear(&fo->cfg);
    json_object_put(fo->config_copy);
    g_free(fo);
}

static void *fo_create(const bmq_host *host, json_object *config, char **error)
{
    fo_config cfg;
    if (fo__config_parse(host, config, &cfg, error) < 0) {
        fo__config_clear(&cfg);
        return NULL;
    }
    fo_inst *fo = g_new0(fo_inst, 1);
    fo->host = host;
    fo->fd = -1;
    set_config(fo, &cfg, config);
    for (int i = 0; i < 3; i++)
        fo->ev_id[i] = g_strdup_printf("%s:%s", host->instance_id, event_actions[i]);
    fo->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    fo->pending = g_hash_table_new(g_str_hash, g_str_equal);
    g_queue_init(&fo->pending_order);
    if (observe_start(fo, error) < 0) {
        fo_free(fo);
        return NULL;
    }
    return fo;
}

/* Reports what is still pending, then releases every watch and the fd. */
static void fo_destroy(void *instance)
{
    fo_inst *fo = instance;
    if (!fo)
        return;
    observe_stop(fo);
    fo_free(fo);
}

/* A new config starts a new baseline (no events for files that merely
 * entered or left the glob); an invalid one leaves the old running. */
static int fo_reconfigure(void *instance, json_object *config, char **error)
{
    fo_inst *fo = instance;
    if (fo->config_copy && config && json_object_equal(fo->config_copy, config))
        return 0;
    fo_config cfg;
    int rc = fo__config_parse(fo->host, config, &cfg, error);
    if (rc < 0) {
        fo__config_clear(&cfg);
        return rc;
    }
    observe_stop(fo);
    set_config(fo, &cfg, config);
    return observe_start(fo, error);
}

static json_object *fo_status(void *instance)
{
    fo_inst *fo = instance;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "path", json_object_new_string(fo->cfg.pattern));
    json_object_object_add(o, "base", json_object_new_string(fo->cfg.base));
    json_object_object_add(o, "base_exists", json_object_new_boolean(fo->anchor == NULL));
    json_object_object_add(o, "recursive", json_object_new_boolean(fo->cfg.recursive));
    json_object_object_add(o, "debounce_ms", json_object_new_int(fo->cfg.debounce_ms));
    json_object_object_add(
        o, "watches",
        json_object_new_int64(fo->dirs_by_wd ? g_hash_table_size(fo->dirs_by_wd) : 0));
    json_object_object_add(o, "files", json_object_new_int64(g_hash_table_size(fo->known)));
    json_object_object_add(o, "pending", json_object_new_int64(g_hash_table_size(fo->pending)));
    json_object_object_add(o, "overflows", json_object_new_int64((int64_t)fo->overflows));
    json_object *sent = json_object_new_object();
    for (int i = 0; i < 3; i++)
        json_object_object_add(sent, event_actions[i], json_object_new_int64((int64_t)fo->sent[i]));
    json_object_object_add(o, "sent", sent);
    json_object_object_add(o, "watch_limit_hit", json_object_new_boolean(fo->limit_logged));
    return o;
}

static const bmq_plugin_descriptor fo_descriptor = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "fileobserver",
    .version = "1.0",
    .description = "reports created/modified/removed files matching a glob (inotify)",
    .create = fo_create,
    .destroy = fo_destroy,
    .reconfigure = fo_reconfigure,
    .status = fo_status,
};

BMQ_PLUGIN_DEFINE(fo_descriptor)
