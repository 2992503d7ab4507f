/* ntfy_answer.c - a publish answer held until the message is stored, as
 * JSON-RPC answers are: a client that got the answer finds the message in
 * the history (and in since=/poll=) even after a kill -9 of the hub.
 *
 * The answer is a callback response. While the message is not settled
 * (committed per the history's "sync"), its reader suspends the connection
 * and a waiter thread resumes it once the writer has committed, so no
 * server thread waits on the disk; on a server that runs one thread per
 * connection the reader waits in that thread instead.
 */
#include <string.h>

#include <microhttpd.h>

#include "hub.h"
#include "ntfy.h"

typedef struct held {
    int refs; /* atomic: the response's and the waiter's */
    history *hist;
    struct MHD_Connection *conn;
    bool can_suspend;
    char *body;
    size_t len;
    uint64_t seq;
    GMutex lock; /* guards the flags */
    GCond cond;
    bool settled, queued, suspended, gone;
} held;

static void held_unref(held *a)
{
    if (!g_atomic_int_dec_and_test(&a->refs))
        return;
    g_free(a->body);
    g_cond_clear(&a->cond);
    g_mutex_clear(&a->lock);
    g_free(a);
}

/* Waiter thread: until the message is settled, then let the answer go. */
static void wait_settled(gpointer data, gpointer user_data)
{
    (void)user_data;
    held *a = data;
    history_wait(a->hist, a->seq);
    g_mutex_lock(&a->lock);
    a->settled = true;
    if (a->suspended && !a->gone) {
        a->suspended = false;
        MHD_resume_connection(a->conn);
    }
    g_cond_signal(&a->cond);
    g_mutex_unlock(&a->lock);
    held_unref(a);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    held *a = cls;
    g_mutex_lock(&a->lock);
    if (!a->settled) {
        if (a->can_suspend) {
            a->suspended = true;
            MHD_suspend_connection(a->conn);
            g_mutex_unlock(&a->lock);
            return 0;
        }
        while (!a->settled)
            g_cond_wait(&a->cond, &a->lock);
    }
    g_mutex_unlock(&a->lock);
    if (pos >= a->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t k = MIN(max, a->len - (size_t)pos);
    memcpy(buf, a->body + pos, k);
    return (ssize_t)k;
}

static void release(void *cls)
{
    held *a = cls;
    g_mutex_lock(&a->lock);
    a->gone = true;
    g_mutex_unlock(&a->lock);
    held_unref(a);
}

int ntfy__answer_stored(ntfy *n, void *connection, uint64_t seq, char *body, size_t len)
{
    struct MHD_Connection *conn = connection;
    g_mutex_lock(&n->lock);
    bool hold = n->waiters && !n->stopping;
    g_mutex_unlock(&n->lock);
    if (!hold || !seq || history_settled(n->hist, seq))
        return ntfy__reply(conn, MHD_HTTP_OK, "application/json", body, len);
    held *a = g_new0(held, 1);
    a->refs = 1; /* the response's */
    a->hist = n->hist;
    a->conn = conn;
    a->can_suspend = ntfy__can_suspend(conn);
    a->body = body;
    a->len = len;
    a->seq = seq;
    g_mutex_init(&a->lock);
    g_cond_init(&a->cond);
    struct MHD_Response *r = MHD_create_response_from_callback(len, 4096, reader, a, release);
    if (!r) {
        held_unref(a);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    ntfy__decorate(r);
    /* The reader runs only after this handler returns (on this thread):
     * the waiter is in place before it can suspend. */
    g_mutex_lock(&n->lock);
    if (n->waiters) {
        g_atomic_int_inc(&a->refs); /* the waiter's */
        g_thread_pool_push(n->waiters, a, NULL);
    } else {
        a->settled = true; /* stopping: nothing waits any more */
    }
    g_mutex_unlock(&n->lock);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

void ntfy__answers_start(ntfy *n)
{
    if (n->hist)
        n->waiters = g_thread_pool_new(wait_settled, NULL, 4, FALSE, NULL);
}

void ntfy__answers_stop(ntfy *n)
{
    g_mutex_lock(&n->lock);
    GThreadPool *pool = n->waiters;
    n->waiters = NULL;
    g_mutex_unlock(&n->lock);
    if (pool)
        g_thread_pool_free(pool, FALSE, TRUE); /* every held answer goes out */
}
