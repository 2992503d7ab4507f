/* history_int.h - the history store's private state, shared by store.c,
 * writer.c and query.c. */
#ifndef BMQ_HUB_HISTORY_INT_H
#define BMQ_HUB_HISTORY_INT_H

#include <sqlite3.h>

#include "history.h"

/* Appended but not yet written; beyond this many, messages are dropped
 * (counted) rather than letting a stuck disk eat the memory. */
#define HISTORY_PENDING_MAX 200000
/* Largest transaction of the writer. */
#define HISTORY_BATCH_MAX 8192
/* Rows deleted by one retention pass: retention never stalls the writer. */
#define HISTORY_RETENTION_STEP 5000

/* A message to store, kept by value in the pending array: appending costs
 * no allocation (the origin is interned), and the writer takes the whole
 * array at once. */
typedef struct hist_record {
    uint64_t seq;
    int64_t time_us;
    bmq_message *msg;   /* a reference */
    const char *origin; /* nullable; interned in history.origins */
} hist_record;

/* Distinct origins interned; beyond this many, new ones are not recorded
 * (origin NULL) rather than growing without bound. */
#define HISTORY_ORIGINS_MAX 4096

struct history {
    char *path;
    GThread *writer;

    GMutex lock; /* everything below up to the reader */
    GCond wake;  /* the writer: work or stop */
    GCond settled_cond;
    history_opts opts;
    GArray *pending;     /* hist_record, appended, not yet taken by the writer */
    GArray *spare;       /* the writer's emptied array, reused (nullable) */
    GHashTable *origins; /* interned origin strings (set) */
    /* Cursor positions to save: key -> uint64_t*. Taken by the writer
     * together with the pending messages and written in the first
     * transaction: a cursor made before a message is committed no later. */
    GHashTable *cursor_saves;
    uint64_t next_seq;    /* the seq the next append gets */
    uint64_t settled_seq; /* every seq <= this is committed or failed */
    bool stop;
    bool no_waits; /* shutting down: long polls return what they have */
    bool broken;   /* no database at all: nothing is recorded */
    bool failing;  /* the last write failed */
    char *error;   /* the last error, nullable */
    uint64_t failed, dropped, written;
    uint64_t messages, first_seq;
    GHashTable *cursor_pos;  /* key -> uint64_t* saved (or queued) position */
    GHashTable *cursor_open; /* key -> hist_cursor* open now */
    int64_t bytes, oldest_us;

    sqlite3 *db; /* the writer's connection; writer thread only once running */
    sqlite3_stmt *insert;
    sqlite3_stmt *set_last;   /* meta last_seq: seqs never go back, even when emptied */
    sqlite3_stmt *set_cursor; /* INSERT OR REPLACE INTO cursors */

    GMutex read_lock; /* the reader connection */
    sqlite3 *rdb;
};

/* store.c */
/* Open both connections on h->path (moving a corrupt file aside). 0 or -1
 * with h->error set. Called by history_open and by the writer after it met
 * a corrupt file. */
int store__open(history *h);
void store__close(history *h);
/* Move the current file (and its -wal/-shm) aside; logs. */
void store__move_aside(history *h, const char *why);
/* Refresh first_seq/oldest_us/bytes (and the message count when @count:
 * a full scan, done at open) from the database. Writer side. */
void store__load_stats(history *h, bool count);
bool store__is_corrupt(int rc);
/* PRAGMA quick_check on the writer's connection: 0 when the file is sound. */
int store__check(history *h);

/* writer.c */
gpointer writer__main(gpointer data);
/* Queue the save of cursor @key at @seq (lock held); false when the store
 * takes nothing now. */
bool writer__save_cursor_locked(history *h, const char *key, uint64_t seq);
/* Wait until @seq is settled whatever the sync setting, or until
 * @deadline (monotonic, 0: none). True when settled. */
bool writer__wait_settled(history *h, uint64_t seq, gint64 deadline);

/* query.c */
/* A message stored as @id/@args/@kwargs (JSON texts), stamped with @seq.
 * (transfer full), NULL when the row cannot make one. */
bmq_message *query__message(uint64_t seq, const char *id, const char *args, const char *kwargs);

#endif
