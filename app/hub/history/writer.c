/* writer.c - appends are queued in memory (by value: no allocation per
 * message) and written by one thread in group commits: the writer takes
 * everything that arrived while the previous transaction was being
 * committed and writes it in the next one. A sender waits (history_wait)
 * until its messages are settled. Retention runs between commits in
 * bounded steps.
 */
#include <string.h>

#include "../hub.h"
#include "history_int.h"

static void records_clear(GArray *a)
{
    for (guint i = 0; i < a->len; i++)
        bmq_message_unref(g_array_index(a, hist_record, i).msg);
    g_array_set_size(a, 0);
}

history *history_open(const char *path, const history_opts *o)
{
    history *h = g_new0(history, 1);
    h->path = g_strdup(path);
    h->opts = *o;
    h->next_seq = 1;
    g_mutex_init(&h->lock);
    g_cond_init(&h->wake);
    g_cond_init(&h->settled_cond);
    g_mutex_init(&h->read_lock);
    h->pending = g_array_sized_new(FALSE, FALSE, sizeof(hist_record), 1024);
    h->origins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    h->cursor_saves = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    h->cursor_pos = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    h->cursor_open = g_hash_table_new(g_str_hash, g_str_equal);
    store__open(h);
    h->settled_seq = h->next_seq - 1;
    h->writer = g_thread_new("hub-history", writer__main, h);
    return h;
}

void history_end_waits(history *h)
{
    if (!h)
        return;
    g_mutex_lock(&h->lock);
    h->no_waits = true;
    g_cond_broadcast(&h->settled_cond);
    g_mutex_unlock(&h->lock);
}

void history_close(history *h)
{
    if (!h)
        return;
    g_mutex_lock(&h->lock);
    h->stop = true;
    g_cond_signal(&h->wake);
    g_mutex_unlock(&h->lock);
    g_thread_join(h->writer);
    store__close(h);
    records_clear(h->pending);
    g_array_free(h->pending, TRUE);
    if (h->spare)
        g_array_free(h->spare, TRUE);
    g_hash_table_destroy(h->cursor_saves);
    g_hash_table_destroy(h->origins);
    g_mutex_clear(&h->lock);
    g_cond_clear(&h->wake);
    g_cond_clear(&h->settled_cond);
    g_mutex_clear(&h->read_lock);
    g_hash_table_destroy(h->cursor_pos);
    g_hash_table_destroy(h->cursor_open);
    g_free(h->error);
    g_free(h->path);
    g_free(h);
}

void history_set_opts(history *h, const history_opts *o)
{
    g_mutex_lock(&h->lock);
    h->opts = *o;
    g_cond_signal(&h->wake); /* retention may be due now */
    g_mutex_unlock(&h->lock);
}

/* Lock held. */
static const char *intern(history *h, const char *origin)
{
    if (!origin)
        return NULL;
    const char *s = g_hash_table_lookup(h->origins, origin);
    if (!s && g_hash_table_size(h->origins) < HISTORY_ORIGINS_MAX) {
        char *copy = g_strdup(origin);
        g_hash_table_add(h->origins, copy);
        s = copy;
    }
    return s;
}

uint64_t history_append(history *h, const bmq_message *m, const char *origin)
{
    g_mutex_lock(&h->lock);
    if (h->broken || h->stop || h->pending->len >= HISTORY_PENDING_MAX) {
        h->dropped++;
        g_mutex_unlock(&h->lock);
        return 0;
    }
    /* Time and seq under one lock: time never goes back along seq (short
     * of a clock step), which lets a time bound be found by seq. */
    hist_record r = {.seq = h->next_seq++,
                     .time_us = g_get_real_time(),
                     .msg = bmq_message_ref(m),
                     .origin = intern(h, origin)};
    g_array_append_val(h->pending, r);
    if (h->pending->len == 1 && g_hash_table_size(h->cursor_saves) == 0)
        g_cond_signal(&h->wake);
    g_mutex_unlock(&h->lock);
    return r.seq;
}

bool writer__save_cursor_locked(history *h, const char *key, uint64_t seq)
{
    if (h->broken || h->stop)
        return false;
    if (h->pending->len == 0 && g_hash_table_size(h->cursor_saves) == 0)
        g_cond_signal(&h->wake);
    uint64_t *v = g_new(uint64_t, 1);
    *v = seq;
    g_hash_table_replace(h->cursor_saves, g_strdup(key), v);
    return true;
}

bool writer__wait_settled(history *h, uint64_t seq, gint64 deadline)
{
    bool ok = true;
    g_mutex_lock(&h->lock);
    while (ok && h->settled_seq < seq && !h->stop) {
        if (deadline)
            ok = g_cond_wait_until(&h->settled_cond, &h->lock, deadline);
        else
            g_cond_wait(&h->settled_cond, &h->lock);
    }
    ok = h->settled_seq >= seq;
    g_mutex_unlock(&h->lock);
    return ok;
}

void history_wait(history *h, uint64_t seq)
{
    g_mutex_lock(&h->lock);
    if (h->opts.sync != HISTORY_SYNC_OFF)
        while (h->settled_seq < seq)
            g_cond_wait(&h->settled_cond, &h->lock);
    g_mutex_unlock(&h->lock);
}

bool history_settled(history *h, uint64_t seq)
{
    g_mutex_lock(&h->lock);
    bool done = h->opts.sync == HISTORY_SYNC_OFF || h->settled_seq >= seq;
    g_mutex_unlock(&h->lock);
    return done;
}

uint64_t history_last_seq(history *h)
{
    g_mutex_lock(&h->lock);
    uint64_t s = h->next_seq - 1;
    g_mutex_unlock(&h->lock);
    return s;
}

json_object *history_status(history *h)
{
    json_object *o = json_object_new_object();
    g_mutex_lock(&h->lock);
    const char *state = h->broken || h->failing ? "error" : "ok";
    json_object_object_add(o, "state", json_object_new_string(state));
    json_object_object_add(o, "path", json_object_new_string(h->path));
    json_object_object_add(o, "sync",
                           json_object_new_string(h->opts.sync == HISTORY_SYNC_FULL  ? "full"
                                                  : h->opts.sync == HISTORY_SYNC_OFF ? "off"
                                                                                     : "normal"));
    json_object_object_add(o, "messages", json_object_new_int64((int64_t)h->messages));
    json_object_object_add(o, "bytes", json_object_new_int64(h->bytes));
    json_object_object_add(o, "first_seq", json_object_new_int64((int64_t)h->first_seq));
    json_object_object_add(o, "last_seq", json_object_new_int64((int64_t)h->next_seq - 1));
    json_object_object_add(o, "pending",
                           json_object_new_int64((int64_t)(h->next_seq - 1 - h->settled_seq)));
    json_object_object_add(o, "written", json_object_new_int64((int64_t)h->written));
    json_object_object_add(o, "failed", json_object_new_int64((int64_t)h->failed));
    json_object_object_add(o, "dropped", json_object_new_int64((int64_t)h->dropped));
    json_object_object_add(o, "error", h->error ? json_object_new_string(h->error) : NULL);
    g_mutex_unlock(&h->lock);
    return o;
}

/* ---- the writer thread ---- */

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* One transaction: the cursor saves (nullable) and @n messages from @v.
 * SQLITE_OK or the failing code. */
static int write_batch(history *h, GHashTable *saves, const hist_record *v, unsigned n)
{
    int rc = sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK && saves) {
        GHashTableIter it;
        gpointer k, val;
        g_hash_table_iter_init(&it, saves);
        while (rc == SQLITE_OK && g_hash_table_iter_next(&it, &k, &val)) {
            sqlite3_stmt *st = h->set_cursor;
            bind_text(st, 1, k);
            sqlite3_bind_int64(st, 2, (sqlite3_int64) * (uint64_t *)val);
            rc = sqlite3_step(st);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
            sqlite3_reset(st);
        }
    }
    sqlite3_stmt *st = h->insert;
    for (unsigned i = 0; rc == SQLITE_OK && i < n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)v[i].seq);
        sqlite3_bind_int64(st, 2, v[i].time_us);
        bind_text(st, 3, bmq_message_id(v[i].msg));
        bind_text(st, 4, bmq_message_args_json(v[i].msg));
        bind_text(st, 5, bmq_message_kwargs_json(v[i].msg));
        bind_text(st, 6, v[i].origin);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
        sqlite3_reset(st);
    }
    if (rc == SQLITE_OK && n) {
        sqlite3_bind_int64(h->set_last, 1, (sqlite3_int64)v[n - 1].seq);
        rc = sqlite3_step(h->set_last);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_reset(h->set_last);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK && !sqlite3_get_autocommit(h->db))
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int64_t delete_oldest(history *h, int64_t n, int64_t before_us)
{
    sqlite3_stmt *st = NULL;
    const char *sql =
        before_us ? "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages ORDER BY seq "
                    "LIMIT ?1) AND time_us < ?2"
                  : "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages ORDER BY seq "
                    "LIMIT ?1)";
    if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, n);
    if (before_us)
        sqlite3_bind_int64(st, 2, before_us);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? sqlite3_changes(h->db) : -1;
}

/* One bounded pass; true when more is to be deleted. */
static bool retention_step(history *h)
{
    g_mutex_lock(&h->lock);
    history_opts o = h->opts;
    int64_t messages = (int64_t)h->messages, bytes = h->bytes, oldest = h->oldest_us;
    g_mutex_unlock(&h->lock);
    int64_t budget = HISTORY_RETENTION_STEP, deleted = 0;
    bool more = false;
    if (o.max_messages > 0 && messages > o.max_messages) {
        int64_t n = MIN(messages - o.max_messages, budget);
        int64_t d = delete_oldest(h, n, 0);
        if (d > 0) {
            deleted += d;
            budget -= d;
            more = messages - d > o.max_messages;
        }
    }
    int64_t cutoff = g_get_real_time() - o.max_age_s * G_USEC_PER_SEC;
    if (o.max_age_s > 0 && oldest && oldest < cutoff && budget > 0) {
        int64_t d = delete_oldest(h, budget, cutoff);
        if (d > 0) {
            deleted += d;
            more = more || d == budget; /* the whole step was old: look again */
            budget -= d;
        }
    }
    if (o.max_bytes > 0 && bytes > o.max_bytes && budget > 0) {
        /* Pages in use shrink as rows go; a tenth of what is left per pass. */
        int64_t n = MAX(MIN(budget, (messages - deleted) / 10), 1);
        int64_t d = delete_oldest(h, n, 0);
        if (d > 0) {
            deleted += d;
            more = true; /* the byte count is checked again below */
        }
    }
    if (deleted > 0) {
        g_mutex_lock(&h->lock);
        h->messages = h->messages > (uint64_t)deleted ? h->messages - (uint64_t)deleted : 0;
        g_mutex_unlock(&h->lock);
        store__load_stats(h, false);
        if (o.max_bytes > 0) {
            g_mutex_lock(&h->lock);
            more = more && (h->bytes > o.max_bytes ||
                            (o.max_messages > 0 && (int64_t)h->messages > o.max_messages));
            g_mutex_unlock(&h->lock);
        }
    }
    return more && deleted > 0;
}

/* When the oldest row reaches max_age (0: no deadline). */
static gint64 retention_deadline(history *h)
{
    if (h->opts.max_age_s <= 0 || !h->oldest_us || h->messages == 0)
        return 0;
    gint64 wall = h->oldest_us + h->opts.max_age_s * G_USEC_PER_SEC;
    gint64 delay = wall - g_get_real_time();
    if (delay < 0)
        delay = 0;
    if (delay > (gint64)3600 * G_USEC_PER_SEC)
        delay = (gint64)3600 * G_USEC_PER_SEC;
    return g_get_monotonic_time() + delay + 1000;
}

static void settle(history *h, const hist_record *v, unsigned n, int rc)
{
    g_mutex_lock(&h->lock);
    if (rc == SQLITE_OK) {
        h->written += n;
        h->messages += n;
        if (!h->first_seq && n)
            h->first_seq = v[0].seq;
        if (!h->oldest_us && n)
            h->oldest_us = v[0].time_us;
        if (h->failing)
            hub_log(BMQ_LOG_NOTICE,
                    "history: writing again after %" G_GUINT64_FORMAT " lost messages", h->failed);
        h->failing = false;
        g_clear_pointer(&h->error, g_free);
    } else {
        h->failed += n;
        if (!h->failing)
            hub_log(BMQ_LOG_ERROR,
                    "history: cannot write %s: %s; messages are delivered but not recorded",
                    h->path, h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
        h->failing = true;
        g_free(h->error);
        h->error = g_strdup(h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
    }
    if (n)
        h->settled_seq = v[n - 1].seq;
    g_cond_broadcast(&h->settled_cond);
    g_mutex_unlock(&h->lock);
}

/* Write @n messages from @v (and @saves first) in transactions of at most
 * HISTORY_BATCH_MAX, settling each. */
static void write_all(history *h, GHashTable *saves, const hist_record *v, unsigned n)
{
    unsigned done = 0;
    do {
        unsigned k = MIN(n - done, HISTORY_BATCH_MAX);
        int rc = h->db ? write_batch(h, saves, v + done, k) : SQLITE_CANTOPEN;
        if (rc != SQLITE_OK && store__is_corrupt(rc)) {
            /* Damaged under us: start a new file and write there. */
            store__close(h);
            store__move_aside(h, sqlite3_errstr(rc));
            if (store__open(h) == 0)
                rc = write_batch(h, saves, v + done, k);
        }
        settle(h, v + done, k, rc);
        saves = NULL;
        done += k;
    } while (done < n);
}

gpointer writer__main(gpointer data)
{
    history *h = data;
    bool retention_more = true; /* a first pass at start */
    /* Damage beyond the header shows only when a page is read: check the
     * whole file here, off the startup path; appends queue meanwhile. */
    if (h->db && store__check(h) != 0) {
        store__close(h);
        store__move_aside(h, "integrity check failed");
        store__open(h);
    }
    g_mutex_lock(&h->lock);
    for (;;) {
        while (!h->stop && h->pending->len == 0 && g_hash_table_size(h->cursor_saves) == 0 &&
               !retention_more) {
            gint64 deadline = h->db ? retention_deadline(h) : 0;
            if (deadline) {
                if (!g_cond_wait_until(&h->wake, &h->lock, deadline))
                    retention_more = true;
            } else {
                g_cond_wait(&h->wake, &h->lock);
                retention_more = h->pending->len == 0 && !h->stop; /* options changed */
            }
        }
        /* Take everything queued at once: the senders append to a fresh
         * array meanwhile. */
        GArray *batch = h->pending;
        h->pending =
            h->spare ? h->spare : g_array_sized_new(FALSE, FALSE, sizeof(hist_record), 1024);
        h->spare = NULL;
        GHashTable *saves = NULL;
        if (g_hash_table_size(h->cursor_saves)) {
            saves = h->cursor_saves;
            h->cursor_saves = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        }
        bool stop = h->stop;
        g_mutex_unlock(&h->lock);
        if (batch->len || saves) {
            write_all(h, saves, (const hist_record *)batch->data, batch->len);
            if (batch->len)
                store__load_stats(h, false);
            retention_more = true;
        }
        records_clear(batch);
        if (saves)
            g_hash_table_destroy(saves);
        if (retention_more && h->db)
            retention_more = retention_step(h);
        else
            retention_more = false;
        g_mutex_lock(&h->lock);
        if (!h->spare)
            h->spare = batch; /* reused: no allocation per batch */
        else
            g_array_free(batch, TRUE);
        if (stop && h->pending->len == 0 && g_hash_table_size(h->cursor_saves) == 0)
            break;
    }
    g_mutex_unlock(&h->lock);
    return NULL;
}
