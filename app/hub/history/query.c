/* query.c - reading the history: the newest N messages, or the messages
 * after a seq / since a time, optionally waiting for the first one (the
 * long poll behind `berrymq history --follow` and `listen --since`).
 * Readers use their own connection: in WAL mode they never block the
 * writer. */
#include <string.h>

#include <berrymq/json.h>

#include "history_int.h"

#define COLUMNS "seq, time_us, id, args, kwargs, origin"

/* Stored args and kwargs are the message's own JSON text: read them with
 * bmq_json_parse, which keeps integers beyond 64 bits exact (json-c's own
 * reader would clamp 2^70 to 2^64-1). (transfer full) NULL when @text is
 * NULL or not JSON. */
static json_object *parse_stored(const char *text)
{
    json_object *v = NULL;
    if (text && bmq_json_parse(text, strlen(text), 0, &v, NULL) != 0)
        v = NULL;
    return v;
}

static json_object *parse_or_text(const char *text, json_type want)
{
    json_object *v = parse_stored(text);
    if (!json_object_is_type(v, want)) {
        json_object_put(v);
        v = want == json_type_array ? json_object_new_array() : json_object_new_object();
    }
    return v;
}

static json_object *row_json(sqlite3_stmt *st)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "seq", json_object_new_int64(sqlite3_column_int64(st, 0)));
    char *t = history_format_time(sqlite3_column_int64(st, 1));
    json_object_object_add(o, "time", json_object_new_string(t));
    g_free(t);
    json_object_object_add(o, "id",
                           json_object_new_string((const char *)sqlite3_column_text(st, 2)));
    json_object_object_add(
        o, "args", parse_or_text((const char *)sqlite3_column_text(st, 3), json_type_array));
    json_object_object_add(
        o, "kwargs", parse_or_text((const char *)sqlite3_column_text(st, 4), json_type_object));
    const char *origin = (const char *)sqlite3_column_text(st, 5);
    json_object_object_add(o, "origin", origin ? json_object_new_string(origin) : NULL);
    return o;
}

bmq_message *query__message(uint64_t seq, const char *id, const char *args, const char *kwargs)
{
    if (!id)
        return NULL;
    json_object *a = parse_stored(args);
    json_object *k = parse_stored(kwargs);
    if (a && !json_object_is_type(a, json_type_array))
        g_clear_pointer(&a, json_object_put);
    if (k && !json_object_is_type(k, json_type_object))
        g_clear_pointer(&k, json_object_put);
    bmq_message *m = bmq_message_new(id, a, k, NULL);
    bmq_message_set_seq(m, seq);
    return m;
}

static bool row_wanted(sqlite3_stmt *st, const history_query *q)
{
    const char *id = (const char *)sqlite3_column_text(st, 2);
    return id && (!q->pattern || bmq_id_match(q->pattern, id));
}

/* The first seq whose time is >= @us: time grows with seq, so a binary
 * search over seq (primary key lookups) instead of an index on time. */
static uint64_t seq_at_time(sqlite3 *db, int64_t us, uint64_t lo)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, time_us FROM messages WHERE seq >= ? ORDER BY seq "
                           "LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return lo;
    uint64_t hi = UINT64_MAX / 2;
    sqlite3_stmt *mx = NULL;
    if (sqlite3_prepare_v2(db, "SELECT max(seq) FROM messages", -1, &mx, NULL) == SQLITE_OK &&
        sqlite3_step(mx) == SQLITE_ROW)
        hi = (uint64_t)sqlite3_column_int64(mx, 0) + 1;
    sqlite3_finalize(mx);
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)mid);
        bool later = sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 1) >= us;
        sqlite3_reset(st);
        if (later)
            hi = mid;
        else
            lo = mid + 1;
    }
    sqlite3_finalize(st);
    return lo;
}

/* Messages after @from (exclusive) in seq order into @out; returns the
 * last seq scanned. *done is set when an until bound was passed. */
static int scan_forward(sqlite3 *db, const history_query *q, uint64_t from, json_object *out,
                        uint64_t *last, bool *done)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT " COLUMNS " FROM messages WHERE seq > ? ORDER BY seq",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        if ((q->until_seq && seq > q->until_seq) ||
            (q->until_us && sqlite3_column_int64(st, 1) > q->until_us)) {
            *done = true;
            break;
        }
        *last = seq;
        if (row_wanted(st, q)) {
            json_object_array_add(out, row_json(st));
            if (json_object_array_length(out) >= q->limit)
                break;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int scan_tail(sqlite3 *db, const history_query *q, json_object *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        db, "SELECT " COLUMNS " FROM messages WHERE seq <= ? ORDER BY seq DESC", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_int64(st, 1, q->until_seq ? (sqlite3_int64)q->until_seq : INT64_MAX);
    json_object *rev = json_object_new_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (q->until_us && sqlite3_column_int64(st, 1) > q->until_us)
            continue;
        if (row_wanted(st, q)) {
            json_object_array_add(rev, row_json(st));
            if (json_object_array_length(rev) >= q->limit)
                break;
        }
    }
    sqlite3_finalize(st);
    for (size_t i = json_object_array_length(rev); i > 0; i--)
        json_object_array_add(out, json_object_get(json_object_array_get_idx(rev, i - 1)));
    json_object_put(rev);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

json_object *history_query_run(history *h, const history_query *q, char **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)(q->wait_s * G_USEC_PER_SEC);
    /* Read your writes: what was appended before the call is settled
     * before the first scan, and every seq <= base is final in it. */
    uint64_t base = history_last_seq(h);
    writer__wait_settled(h, base, 0);
    json_object *out = json_object_new_array();
    uint64_t from = q->since_seq;
    bool first = true;
    for (;;) {
        g_mutex_lock(&h->read_lock);
        if (!h->rdb) {
            g_mutex_unlock(&h->read_lock);
            json_object_put(out);
            g_mutex_lock(&h->lock);
            *error = g_strdup_printf("the history is not available: %s",
                                     h->error ? h->error : "no database");
            g_mutex_unlock(&h->lock);
            return NULL;
        }
        int rc;
        bool done = false;
        if (!q->has_since) {
            rc = scan_tail(h->rdb, q, out);
            done = true;
        } else {
            if (first && q->since_us)
                from = MAX(from, seq_at_time(h->rdb, q->since_us, from + 1) - 1);
            first = false;
            rc = scan_forward(h->rdb, q, from, out, &from, &done);
        }
        if (rc != SQLITE_OK) {
            *error = g_strdup_printf("cannot read the history: %s", sqlite3_errmsg(h->rdb));
            g_mutex_unlock(&h->read_lock);
            json_object_put(out);
            return NULL;
        }
        g_mutex_unlock(&h->read_lock);
        if (done || json_object_array_length(out) > 0 || q->wait_s <= 0 ||
            g_get_monotonic_time() >= deadline)
            return out;
        /* Long poll: sleep until something newer than what was scanned is
         * settled (or the deadline passes). */
        uint64_t want = MAX(from, base) + 1;
        g_mutex_lock(&h->lock);
        while (h->settled_seq < want && !h->stop && !h->no_waits &&
               g_cond_wait_until(&h->settled_cond, &h->lock, deadline))
            ;
        bool stop = h->stop || h->no_waits;
        g_mutex_unlock(&h->lock);
        if (stop)
            return out;
        base = history_last_seq(h);
        writer__wait_settled(h, base, deadline);
    }
}

int history_recent(history *h, const char *pattern, uint64_t before, bmq_message **out,
                   int64_t *time_us, unsigned max)
{
    unsigned n = 0;
    g_mutex_lock(&h->read_lock);
    if (!h->rdb) {
        g_mutex_unlock(&h->read_lock);
        return -BMQ_EIO;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        h->rdb,
        "SELECT seq, time_us, id, args, kwargs FROM messages WHERE seq < ? ORDER BY seq DESC", -1,
        &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, before ? (sqlite3_int64)before : INT64_MAX);
        while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(st, 2);
            if (!id || (pattern && !bmq_id_match(pattern, id)))
                continue;
            bmq_message *m = query__message((uint64_t)sqlite3_column_int64(st, 0), id,
                                            (const char *)sqlite3_column_text(st, 3),
                                            (const char *)sqlite3_column_text(st, 4));
            if (!m)
                continue;
            if (time_us)
                time_us[n] = sqlite3_column_int64(st, 1);
            out[n++] = m;
        }
    }
    bool ok = rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE;
    sqlite3_finalize(st);
    g_mutex_unlock(&h->read_lock);
    if (!ok) {
        for (unsigned i = 0; i < n; i++)
            bmq_message_unref(out[i]);
        return -BMQ_EIO;
    }
    /* Newest first from the scan: turn to oldest first. */
    for (unsigned i = 0; i < n / 2; i++) {
        bmq_message *m = out[i];
        out[i] = out[n - 1 - i];
        out[n - 1 - i] = m;
        if (time_us) {
            int64_t t = time_us[i];
            time_us[i] = time_us[n - 1 - i];
            time_us[n - 1 - i] = t;
        }
    }
    return (int)n;
}

/* Rows read per turn of the read lock: a long scan lets other readers in
 * between its chunks. */
#define SCAN_CHUNK 2000
/* The longest a scan waits for the writer to settle what it must read. */
#define SCAN_SETTLE_S 10

bmq_message *history_row_message(const history_row *row)
{
    return query__message(row->seq, row->id, row->args, row->kwargs);
}

int history_scan_back(history *h, uint64_t after, uint64_t upto, history_row_fn fn, void *user_data)
{
    if (!upto)
        upto = history_last_seq(h);
    writer__wait_settled(h, upto, g_get_monotonic_time() + SCAN_SETTLE_S * G_USEC_PER_SEC);
    uint64_t below = upto + 1; /* this turn reads seq < below */
    for (;;) {
        if (below <= after + 1)
            return 0;
        g_mutex_lock(&h->read_lock);
        if (!h->rdb) {
            g_mutex_unlock(&h->read_lock);
            return -BMQ_EIO;
        }
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(h->rdb,
                                    "SELECT " COLUMNS " FROM messages WHERE seq < ? AND seq > ? "
                                    "ORDER BY seq DESC LIMIT ?",
                                    -1, &st, NULL);
        int rows = 0;
        bool stop = false;
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, (sqlite3_int64)MIN(below, (uint64_t)INT64_MAX));
            sqlite3_bind_int64(st, 2, (sqlite3_int64)after);
            sqlite3_bind_int(st, 3, SCAN_CHUNK);
            while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                rows++;
                history_row r = {
                    .seq = (uint64_t)sqlite3_column_int64(st, 0),
                    .time_us = sqlite3_column_int64(st, 1),
                    .id = (const char *)sqlite3_column_text(st, 2),
                    .args = (const char *)sqlite3_column_text(st, 3),
                    .kwargs = (const char *)sqlite3_column_text(st, 4),
                    .origin = (const char *)sqlite3_column_text(st, 5),
                };
                below = r.seq;
                if (r.id)
                    stop = !fn(&r, user_data);
            }
        }
        bool ok = rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE;
        sqlite3_finalize(st);
        g_mutex_unlock(&h->read_lock);
        if (!ok)
            return -BMQ_EIO;
        if (stop || rows < SCAN_CHUNK)
            return 0;
    }
}
