/* store.c - the SQLite file: open, schema, statistics, and a corrupt or
 * unreadable file moved aside for a fresh one (the hub never refuses to
 * start because of its history). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "../hub.h"
#include "history_int.h"

static const char schema[] = "CREATE TABLE IF NOT EXISTS messages("
                             " seq INTEGER PRIMARY KEY,"
                             " time_us INTEGER NOT NULL,"
                             " id TEXT NOT NULL,"
                             " args TEXT NOT NULL,"
                             " kwargs TEXT NOT NULL,"
                             " origin TEXT);"
                             "CREATE TABLE IF NOT EXISTS meta("
                             " key TEXT PRIMARY KEY,"
                             " value);"
                             "CREATE TABLE IF NOT EXISTS cursors("
                             " name TEXT PRIMARY KEY,"
                             " seq INTEGER NOT NULL);";

bool store__is_corrupt(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

static int exec(sqlite3 *db, const char *sql, char **error)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK && error) {
        g_free(*error);
        *error = g_strdup(msg ? msg : sqlite3_errstr(rc));
    }
    sqlite3_free(msg);
    return rc;
}

static int64_t query_int(sqlite3 *db, const char *sql, int64_t fallback)
{
    sqlite3_stmt *st = NULL;
    int64_t v = fallback;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *sync_pragma(history_sync s)
{
    return s == HISTORY_SYNC_FULL  ? "PRAGMA synchronous=FULL"
           : s == HISTORY_SYNC_OFF ? "PRAGMA synchronous=OFF"
                                   : "PRAGMA synchronous=NORMAL";
}

/* The file exists with mode 0600 before SQLite opens it: SQLite gives the
 * -wal and -shm files it creates the database file's mode, and a database
 * file it created itself would have the umask's (0644), and so would they.
 * Files left by an older hub are narrowed too. */
static void make_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0)
        close(fd);
    const char *sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < G_N_ELEMENTS(sfx); i++) {
        char *f = g_strconcat(path, sfx[i], NULL);
        GStatBuf st;
        if (g_lstat(f, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0077))
            g_chmod(f, 0600);
        g_free(f);
    }
}

/* One attempt on the current file: 0, or the SQLite code with *error. */
static int try_open(history *h, char **error)
{
    make_private(h->path);
    int rc = sqlite3_open_v2(h->path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(h->db, 5000);
    /* The first statements read the header and the schema: a file that is
     * not a database or is damaged there fails here. */
    if ((rc = exec(h->db, "PRAGMA journal_mode=WAL", error)) ||
        (rc = exec(h->db, sync_pragma(h->opts.sync), error)) || (rc = exec(h->db, schema, error)) ||
        (rc = exec(h->db, "SELECT count(*) FROM messages WHERE seq < 0", error)))
        goto fail;
    rc = sqlite3_prepare_v2(h->db,
                            "INSERT INTO messages(seq,time_us,id,args,kwargs,origin) "
                            "VALUES(?,?,?,?,?,?)",
                            -1, &h->insert, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    rc = sqlite3_prepare_v2(h->db, "INSERT OR REPLACE INTO meta(key, value) VALUES('last_seq', ?)",
                            -1, &h->set_last, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    rc = sqlite3_prepare_v2(h->db, "INSERT OR REPLACE INTO cursors(name, seq) VALUES(?, ?)", -1,
                            &h->set_cursor, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    sqlite3 *rdb = NULL;
    rc = sqlite3_open_v2(h->path, &rdb, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close(rdb);
        goto fail;
    }
    sqlite3_busy_timeout(rdb, 5000);
    g_mutex_lock(&h->read_lock); /* readers may be waiting for it */
    h->rdb = rdb;
    g_mutex_unlock(&h->read_lock);
    return 0;
fail:
    if (!*error)
        *error = g_strdup(h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
    store__close(h);
    return rc ? rc : SQLITE_ERROR;
}

int store__check(history *h)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h->db, "PRAGMA quick_check", -1, &st, NULL);
    bool ok = false;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    if (!ok)
        hub_log(BMQ_LOG_WARNING, "history: %s fails its check: %s", h->path,
                rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : sqlite3_errstr(rc));
    sqlite3_finalize(st);
    return ok ? 0 : -1;
}

void store__close(history *h)
{
    sqlite3_finalize(h->insert);
    h->insert = NULL;
    sqlite3_finalize(h->set_last);
    h->set_last = NULL;
    sqlite3_finalize(h->set_cursor);
    h->set_cursor = NULL;
    sqlite3_close(h->db);
    h->db = NULL;
    g_mutex_lock(&h->read_lock);
    sqlite3_close(h->rdb);
    h->rdb = NULL;
    g_mutex_unlock(&h->read_lock);
}

void store__move_aside(history *h, const char *why)
{
    GDateTime *now = g_date_time_new_now_utc();
    char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%SZ");
    g_date_time_unref(now);
    char *dest = g_strdup_printf("%s.corrupt-%s", h->path, stamp);
    /* Never over an earlier one moved aside within the same second. */
    for (int i = 2; g_file_test(dest, G_FILE_TEST_EXISTS) && i < 1000; i++) {
        g_free(dest);
        dest = g_strdup_printf("%s.corrupt-%s-%d", h->path, stamp, i);
    }
    if (g_rename(h->path, dest) == 0) {
        hub_log(BMQ_LOG_ERROR, "history: %s is unreadable (%s); moved to %s, starting a new one",
                h->path, why, dest);
    } else {
        hub_log(BMQ_LOG_ERROR, "history: %s is unreadable (%s) and cannot be moved aside: %s",
                h->path, why, g_strerror(errno));
        g_unlink(h->path);
    }
    /* The journal files belong to the old file: keep them beside it. */
    const char *sfx[] = {"-wal", "-shm"};
    for (size_t i = 0; i < G_N_ELEMENTS(sfx); i++) {
        char *from = g_strconcat(h->path, sfx[i], NULL);
        char *to = g_strconcat(dest, sfx[i], NULL);
        if (g_file_test(from, G_FILE_TEST_EXISTS) && g_rename(from, to) != 0)
            g_unlink(from);
        g_free(from);
        g_free(to);
    }
    g_free(dest);
    g_free(stamp);
}

void store__load_stats(history *h, bool count)
{
    if (!h->db)
        return;
    int64_t messages = count ? query_int(h->db, "SELECT count(*) FROM messages", 0) : -1;
    sqlite3_stmt *st = NULL;
    uint64_t first = 0;
    int64_t oldest = 0;
    if (sqlite3_prepare_v2(h->db, "SELECT seq, time_us FROM messages ORDER BY seq LIMIT 1", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        first = (uint64_t)sqlite3_column_int64(st, 0);
        oldest = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    int64_t pages = query_int(h->db, "PRAGMA page_count", 0);
    int64_t free_pages = query_int(h->db, "PRAGMA freelist_count", 0);
    int64_t psize = query_int(h->db, "PRAGMA page_size", 4096);
    g_mutex_lock(&h->lock);
    if (messages >= 0)
        h->messages = (uint64_t)messages;
    h->first_seq = first;
    h->oldest_us = oldest;
    h->bytes = (pages - free_pages) * psize;
    g_mutex_unlock(&h->lock);
}

int store__open(history *h)
{
    char *dir = g_path_get_dirname(h->path);
    g_mkdir_with_parents(dir, 0700);
    /* Other users must not read what was sent, even where the directory
     * was made before (mkdir -p leaves 0755) and the home is open. */
    GStatBuf st;
    if (g_stat(dir, &st) == 0 && st.st_uid == getuid() && (st.st_mode & 0077) &&
        g_chmod(dir, 0700) != 0)
        hub_log(BMQ_LOG_WARNING, "history: cannot make %s private: %s", dir, g_strerror(errno));
    g_free(dir);
    char *error = NULL;
    int rc = try_open(h, &error);
    if (rc && store__is_corrupt(rc)) {
        store__move_aside(h, error);
        g_clear_pointer(&error, g_free);
        rc = try_open(h, &error);
    }
    if (rc) {
        hub_log(BMQ_LOG_ERROR, "history: cannot open %s: %s; messages are not recorded", h->path,
                error);
        g_mutex_lock(&h->lock);
        g_free(h->error);
        h->error = error;
        h->broken = true;
        g_mutex_unlock(&h->lock);
        return -1;
    }
    g_free(error);
    /* Seqs never go back, even when retention emptied the table. */
    uint64_t last = (uint64_t)query_int(h->db, "SELECT value FROM meta WHERE key='last_seq'", 0);
    uint64_t max = (uint64_t)query_int(h->db, "SELECT max(seq) FROM messages", 0);
    if (max > last)
        last = max;
    g_mutex_lock(&h->lock);
    h->broken = false;
    if (h->next_seq <= last)
        h->next_seq = last + 1;
    g_mutex_unlock(&h->lock);
    store__load_stats(h, true);
    return 0;
}
