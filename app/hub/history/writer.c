/* writer.c - appends are queued in memory and written by one thread in
 * group commits: whatever arrived while the previous transaction was being
 * committed goes into the next one. A sender waits (history_wait) until its
 * messages are settled. Retention runs between commits in bounded steps.
 */
#include <string.h>

#include "../hub.h"
#include "history_int.h"

void writer__record_free(hist_record *r)
{
    bmq_message_unref(r->msg);
    g_free(r->origin);
    g_free(r);
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
    g_queue_init(&h->pending);
    h->cursor_pos = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    h->cursor_open = g_hash_table_new(g_str_hash, g_str_equal);
    store__open(h);
    h->settled_seq = h->next_seq - 1;
    h->writer = g_thread_new("hub-history", writer__main, h);
    return h;
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
    g_queue_clear_full(&h->pending, (GDestroyNotify)writer__record_free);
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

uint64_t history_append(history *h, const bmq_message *m, const char *origin)
{
    hist_record *r = g_new(hist_record, 1);
    r->msg = bmq_message_ref(m);
    r->origin = origin ? g_strdup(origin) : NULL;
    r->slot = NULL;
    g_mutex_lock(&h->lock);
    if (h->broken || h->stop || h->pending.length >= HISTORY_PENDING_MAX) {
        h->dropped++;
        g_mutex_unlock(&h->lock);
        writer__record_free(r);
        return 0;
    }
    /* Time and seq under one lock: time never goes back along seq (short
     * of a clock step), which lets a time bound be found by seq. */
    uint64_t seq = r->seq = h->next_seq++;
    r->time_us = g_get_real_time();
    writer__push_locked(h, r); /* the writer may free r from here on */
    g_mutex_unlock(&h->lock);
    return seq;
}

bool writer__push_locked(history *h, hist_record *r)
{
    if (h->broken || h->stop || h->pending.length >= HISTORY_PENDING_MAX)
        return false;
    g_queue_push_tail(&h->pending, r);
    if (h->pending.length == 1)
        g_cond_signal(&h->wake);
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
    json_object_object_add(o, "pending", json_object_new_int64((int64_t)h->pending.length));
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

/* One transaction for @n records: SQLITE_OK or the failing code. */
static int write_batch(history *h, hist_record **v, unsigned n)
{
    int rc = sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    uint64_t last = 0;
    for (unsigned i = 0; rc == SQLITE_OK && i < n; i++) {
        if (!v[i]->msg) { /* a cursor position */
            sqlite3_stmt *st = h->set_cursor;
            bind_text(st, 1, v[i]->origin);
            sqlite3_bind_int64(st, 2, (sqlite3_int64)v[i]->seq);
            rc = sqlite3_step(st);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
            sqlite3_reset(st);
            continue;
        }
        last = v[i]->seq;
        sqlite3_stmt *st = h->insert;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)v[i]->seq);
        sqlite3_bind_int64(st, 2, v[i]->time_us);
        bind_text(st, 3, bmq_message_id(v[i]->msg));
        bind_text(st, 4, bmq_message_args_json(v[i]->msg));
        bind_text(st, 5, bmq_message_kwargs_json(v[i]->msg));
        bind_text(st, 6, v[i]->origin);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (rc == SQLITE_OK && last) {
        sqlite3_bind_int64(h->set_last, 1, (sqlite3_int64)last);
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

static void settle(history *h, hist_record **v, unsigned n, int rc)
{
    /* Counts and bounds are about messages; cursor records ride along. */
    unsigned nm = 0;
    hist_record *first = NULL, *last = NULL;
    for (unsigned i = 0; i < n; i++)
        if (v[i]->msg) {
            nm++;
            first = first ? first : v[i];
            last = v[i];
        }
    g_mutex_lock(&h->lock);
    if (rc == SQLITE_OK) {
        h->written += nm;
        h->messages += nm;
        if (!h->first_seq && first)
            h->first_seq = first->seq;
        if (!h->oldest_us && first)
            h->oldest_us = first->time_us;
        if (h->failing)
            hub_log(BMQ_LOG_NOTICE,
                    "history: writing again after %" G_GUINT64_FORMAT " lost messages", h->failed);
        h->failing = false;
        g_clear_pointer(&h->error, g_free);
    } else {
        h->failed += nm;
        if (!h->failing)
            hub_log(BMQ_LOG_ERROR,
                    "history: cannot write %s: %s; messages are delivered but not recorded",
                    h->path, h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
        h->failing = true;
        g_free(h->error);
        h->error = g_strdup(h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
    }
    if (last)
        h->settled_seq = last->seq;
    g_cond_broadcast(&h->settled_cond);
    g_mutex_unlock(&h->lock);
}

gpointer writer__main(gpointer data)
{
    history *h = data;
    hist_record **v = g_new(hist_record *, HISTORY_BATCH_MAX);
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
        while (!h->stop && h->pending.length == 0 && !retention_more) {
            gint64 deadline = h->db ? retention_deadline(h) : 0;
            if (deadline) {
                if (!g_cond_wait_until(&h->wake, &h->lock, deadline))
                    retention_more = true;
            } else {
                g_cond_wait(&h->wake, &h->lock);
                retention_more = h->pending.length == 0 && !h->stop; /* options changed */
            }
        }
        unsigned n = 0;
        while (n < HISTORY_BATCH_MAX && h->pending.length) {
            hist_record *r = v[n++] = g_queue_pop_head(&h->pending);
            if (r->slot) { /* later acks queue a new record */
                *r->slot = NULL;
                r->slot = NULL;
            }
        }
        if (n == 0 && h->stop)
            break;
        g_mutex_unlock(&h->lock);
        if (n) {
            int rc = h->db ? write_batch(h, v, n) : SQLITE_CANTOPEN;
            if (rc != SQLITE_OK && store__is_corrupt(rc)) {
                /* Damaged under us: start a new file and write there. */
                store__close(h);
                store__move_aside(h, sqlite3_errstr(rc));
                if (store__open(h) == 0)
                    rc = write_batch(h, v, n);
            }
            settle(h, v, n, rc);
            for (unsigned i = 0; i < n; i++)
                writer__record_free(v[i]);
            if (rc == SQLITE_OK)
                store__load_stats(h, false);
            retention_more = true;
        }
        if (retention_more && h->db)
            retention_more = retention_step(h);
        else
            retention_more = false;
        g_mutex_lock(&h->lock);
    }
    g_mutex_unlock(&h->lock);
    g_free(v);
    return NULL;
}
