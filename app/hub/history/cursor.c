/* cursor.c - durable cursors for plugins (host->history_cursor): a saved
 * position per "INSTANCE/NAME" in the table "cursors", read through the
 * reader connection, saved through the writer queue so that a save is
 * committed in order with the messages around it.
 *
 * The seam with a follower: at the open, base = the last seq given out.
 * cursor_next returns the stored messages in (saved, base] and then, for
 * a poller, whatever is stored later; cursor_live claims the seqs above
 * base (and, for a new cursor, everything: it has no backlog).
 */
#include <string.h>

#include "../hub.h"
#include "history_int.h"

struct hist_cursor {
    history *h;
    char *key;
    char *pattern; /* nullable: every message */
    uint64_t base; /* the last seq given out at the open */
    bool fresh;    /* no saved position: nothing to replay */
    uint64_t pos;  /* read position; cursor_next's thread */
};

static uint64_t saved_position(history *h, const char *key, bool *found)
{
    *found = false;
    uint64_t *mem = g_hash_table_lookup(h->cursor_pos, key);
    if (mem) {
        *found = true;
        return *mem;
    }
    uint64_t seq = 0;
    g_mutex_lock(&h->read_lock);
    sqlite3_stmt *st = NULL;
    if (h->rdb && sqlite3_prepare_v2(h->rdb, "SELECT seq FROM cursors WHERE name = ?", -1, &st,
                                     NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            seq = (uint64_t)sqlite3_column_int64(st, 0);
            *found = true;
        }
    }
    sqlite3_finalize(st);
    g_mutex_unlock(&h->read_lock);
    return seq;
}

/* Record @seq as the position of @c and queue its save. Lock held. */
static void save_locked(hist_cursor *c, uint64_t seq, bool force)
{
    history *h = c->h;
    uint64_t *mem = g_hash_table_lookup(h->cursor_pos, c->key);
    if (mem && *mem >= seq && !force)
        return;
    if (!mem) {
        mem = g_new(uint64_t, 1);
        g_hash_table_insert(h->cursor_pos, g_strdup(c->key), mem);
    }
    *mem = seq;
    writer__save_cursor_locked(h, c->key, seq); /* stopping: a later ack saves it */
}

hist_cursor *history_cursor_open(history *h, const char *key, const char *pattern, char **error)
{
    g_mutex_lock(&h->lock);
    bool broken = h->broken;
    bool busy = g_hash_table_contains(h->cursor_open, key);
    g_mutex_unlock(&h->lock);
    if (broken) {
        *error = g_strdup("no history: the store is not available");
        return NULL;
    }
    if (busy) {
        *error = g_strdup_printf("cursor %s is already open", key);
        return NULL;
    }
    hist_cursor *c = g_new0(hist_cursor, 1);
    c->h = h;
    c->key = g_strdup(key);
    c->pattern = g_strdup(pattern);
    bool found;
    uint64_t saved = saved_position(h, key, &found);
    g_mutex_lock(&h->lock);
    c->base = h->next_seq - 1;
    c->fresh = !found;
    c->pos = found ? MIN(saved, c->base) : c->base;
    g_hash_table_insert(h->cursor_open, c->key, c);
    if (!found) /* saved now, in order with what follows */
        save_locked(c, c->base, true);
    g_mutex_unlock(&h->lock);
    hub_log(BMQ_LOG_DEBUG, "history: cursor %s opened at %" G_GUINT64_FORMAT "%s", key, c->pos,
            found ? "" : " (new)");
    return c;
}

bool history_cursor_live(hist_cursor *c, const bmq_message *m)
{
    uint64_t s = bmq_message_seq(m);
    return s == 0 || c->fresh || s > c->base;
}

int history_cursor_next(hist_cursor *c, bmq_message **out, unsigned max)
{
    history *h = c->h;
    /* Up to base while the backlog lasts, then whatever is stored. */
    uint64_t bound = c->pos < c->base ? c->base : history_last_seq(h);
    writer__wait_settled(h, bound, 0);
    unsigned n = 0;
    g_mutex_lock(&h->read_lock);
    if (!h->rdb) {
        g_mutex_unlock(&h->read_lock);
        return -BMQ_EIO;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h->rdb,
                                "SELECT seq, id, args, kwargs FROM messages WHERE seq > ? AND "
                                "seq <= ? ORDER BY seq",
                                -1, &st, NULL);
    uint64_t pos = c->pos;
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)c->pos);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)bound);
        while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
            const char *id = (const char *)sqlite3_column_text(st, 1);
            pos = seq;
            if (!id || (c->pattern && !bmq_id_match(c->pattern, id)))
                continue;
            bmq_message *m = query__message(seq, id, (const char *)sqlite3_column_text(st, 2),
                                            (const char *)sqlite3_column_text(st, 3));
            if (m)
                out[n++] = m;
        }
        if (rc == SQLITE_DONE)
            pos = bound; /* everything up to the bound was scanned */
    }
    bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
    if (!ok)
        hub_log(BMQ_LOG_WARNING, "history: cursor %s cannot read: %s", c->key,
                sqlite3_errmsg(h->rdb));
    sqlite3_finalize(st);
    g_mutex_unlock(&h->read_lock);
    if (!ok) {
        for (unsigned i = 0; i < n; i++)
            bmq_message_unref(out[i]);
        return -BMQ_EIO;
    }
    c->pos = pos;
    return (int)n;
}

int history_cursor_ack(hist_cursor *c, uint64_t seq)
{
    g_mutex_lock(&c->h->lock);
    save_locked(c, seq, false);
    g_mutex_unlock(&c->h->lock);
    return 0;
}

void history_cursor_close(hist_cursor *c)
{
    if (!c)
        return;
    history *h = c->h;
    g_mutex_lock(&h->lock);
    g_hash_table_remove(h->cursor_open, c->key);
    g_mutex_unlock(&h->lock);
    g_free(c->key);
    g_free(c->pattern);
    g_free(c);
}

json_object *history_cursors_status(history *h)
{
    json_object *o = json_object_new_object();
    g_mutex_lock(&h->lock);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h->cursor_pos);
    while (g_hash_table_iter_next(&it, &k, &v))
        json_object_object_add(o, k, json_object_new_int64((int64_t) * (uint64_t *)v));
    g_mutex_unlock(&h->lock);
    return o;
}
