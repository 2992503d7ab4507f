/* history.h - the hub's message history: an SQLite store (WAL) fed by a
 * writer thread, read by queries and long polls.
 *
 * Files: options.c (the "history" config key), store.c (open, schema,
 * recovery of a corrupt file), writer.c (append, group commit, durability
 * waits, retention), query.c (reads), cursor.c (plugins' durable cursors),
 * glue.c (the hub side: bus tap, reply
 * hook, hub.history, status).
 *
 * Threading: history_append, history_wait and history_query may be called
 * from any thread; history_open/close from one thread, with no other call
 * running.
 */
#ifndef BMQ_HUB_HISTORY_H
#define BMQ_HUB_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-c/json.h>

#include <berrymq/berrymq.h>

typedef enum { HISTORY_SYNC_OFF, HISTORY_SYNC_NORMAL, HISTORY_SYNC_FULL } history_sync;

typedef struct history_opts {
    bool enabled;
    int64_t max_age_s;    /* 0: no limit */
    int64_t max_messages; /* 0: no limit */
    int64_t max_bytes;    /* database pages in use; 0: no limit */
    history_sync sync;
} history_opts;

/* ---- options.c ---- */
void history_opts_default(history_opts *o);
/* @v: false, null (defaults) or {"max_age","max_messages","max_bytes",
 * "sync"}. 0, or -1 with *error "KEY: problem" (transfer full). */
int history_opts_parse(json_object *v, history_opts *o, char **error);
/* "90s", "15m", "2h", "7d", "1w" or a number of seconds. -1 if invalid. */
int64_t history_parse_duration(const char *s);
/* "512", "64KiB", "256MiB", "1GiB", "10MB"... -1 if invalid. */
int64_t history_parse_bytes(const char *s);
/* ISO 8601 UTC with milliseconds, e.g. "2026-12-05T05:00:00.123Z". */
char *history_format_time(int64_t time_us); /* (transfer full) */

/* ---- store / writer ---- */
typedef struct history history;

/* Open (creating the file and its directory) at @path. A corrupt or
 * unreadable file is renamed to PATH.corrupt-TIMESTAMP and a fresh store
 * is made; if even that fails the store runs in the "error" state and
 * records nothing. Never NULL. */
history *history_open(const char *path, const history_opts *o);
/* Commit what is queued, stop the writer, close. NULL-safe. */
void history_close(history *h);
/* Shutting down: long polls (hub.history "wait") return at once with what
 * they have, now and from here on, so that the server's threads can end.
 * Storing goes on until history_close. NULL-safe. */
void history_end_waits(history *h);
/* Retention and sync may change while running. */
void history_set_opts(history *h, const history_opts *o);

/* Queue @m for storage with @origin (nullable, copied). Returns its seq, or
 * 0 when it is not stored (error state, queue overflow). */
uint64_t history_append(history *h, const bmq_message *m, const char *origin);
/* Wait until @seq is settled: committed, or its batch failed. Returns at
 * once when sync is "off". */
void history_wait(history *h, uint64_t seq);
/* Whether history_wait(@seq) would return at once. */
bool history_settled(history *h, uint64_t seq);
/* The seq given to the last appended message (0: none yet). */
uint64_t history_last_seq(history *h);

/* {"state": "ok"|"error", "path", "sync", "messages", "bytes", "first_seq",
 * "last_seq", "pending", "failed", "dropped", "error"}. (transfer full) */
json_object *history_status(history *h);

/* ---- query.c ---- */
typedef struct history_query {
    const char *pattern; /* (nullable) identifier pattern; NULL = every message */
    bool has_since;      /* false: the newest @limit messages */
    uint64_t since_seq;  /* messages with seq > since_seq ... */
    int64_t since_us;    /* ... and time >= since_us (0: any) */
    uint64_t until_seq;  /* 0: no bound */
    int64_t until_us;    /* 0: no bound */
    unsigned limit;      /* 1..HISTORY_QUERY_MAX */
    double wait_s;       /* with has_since: wait this long for a first match */
} history_query;

#define HISTORY_QUERY_MAX 10000

/* Messages in seq order, each {"seq","time","id","args","kwargs","origin"}.
 * Everything appended before the call is committed before it reads.
 * NULL with *error (transfer full) when the store cannot be read. */
json_object *history_query_run(history *h, const history_query *q, char **error);

/* The newest @max messages matching @pattern (nullable) with seq < @before
 * (0: any), oldest first, stamped with their seq; times into @time_us
 * (nullable). Count, or -BMQ_EIO. */
int history_recent(history *h, const char *pattern, uint64_t before, bmq_message **out,
                   int64_t *time_us, unsigned max);

/* One stored message as history_scan_back reads it; the texts are valid
 * during the callback only. */
typedef struct history_row {
    uint64_t seq;
    int64_t time_us;
    const char *id, *args, *kwargs; /* args and kwargs as JSON text */
    const char *origin;             /* nullable */
} history_row;
/* Return false to end the scan. */
typedef bool (*history_row_fn)(const history_row *row, void *user_data);

/* Visit the stored messages with @after < seq <= @upto (0: up to the last
 * appended), newest first, once @upto is settled (waiting 10 s at most).
 * Rows are read in chunks, so other readers get the store in between; @fn
 * runs with the read connection held and must not call into the history.
 * 0 when @fn ended the scan or the range is exhausted, -BMQ_EIO when the
 * store cannot be read. Any thread. */
int history_scan_back(history *h, uint64_t after, uint64_t upto, history_row_fn fn,
                      void *user_data);
/* The message a row holds, stamped with its seq (transfer full); NULL when
 * the row cannot make one. */
bmq_message *history_row_message(const history_row *row);

/* ---- cursor.c: durable cursors (host->history_cursor) ----
 * Semantics as in berrymq/plugin.h; @key is "INSTANCE/NAME". */
typedef struct hist_cursor hist_cursor;
/* NULL with *error (transfer full) when the store is unavailable or @key
 * is open already. */
hist_cursor *history_cursor_open(history *h, const char *key, const char *pattern, char **error);
int history_cursor_next(hist_cursor *c, bmq_message **out, unsigned max);
bool history_cursor_live(hist_cursor *c, const bmq_message *m);
int history_cursor_ack(hist_cursor *c, uint64_t seq);
void history_cursor_close(hist_cursor *c); /* NULL-safe */
/* {"INSTANCE/NAME": saved seq, ...} (transfer full) */
json_object *history_cursors_status(history *h);

#endif /* BMQ_HUB_HISTORY_H */
