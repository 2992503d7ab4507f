/* plugin_cursor.c - the history in the host table: host->history_cursor,
 * the cursor_* calls and history_recent forward to the program's history
 * provider (the hub's history), recording each open cursor on its instance
 * so that destroying the instance closes what the plugin left open.
 * Without a provider every open answers NULL: "no history".
 *
 * host->when_stored: a job per call, handed to one waiter thread per host
 * that blocks on the provider's wait in the order asked, then queues the
 * plugin's function on the instance's main-thread dispatch. Stopping an
 * instance cancels its jobs (their data freed on the main thread).
 */
#include <string.h>

#include "plugin_host.h"

struct bmq_cursor {
    bmq_instance *inst;
    void *pc; /* the provider's cursor */
};

static bmq_instance *inst_of(const bmq_host *h)
{
    return (bmq_instance *)h->priv;
}

int bmq_plugin_host_set_history(bmq_plugin_host *h, const bmq_history_provider *p, void *user_data)
{
    if (!h || (p && p->size < offsetof(bmq_history_provider, close) + sizeof(p->close)))
        return -BMQ_EINVAL;
    if (g_atomic_int_get(&h->open_cursors) > 0)
        return -BMQ_EEXIST;
    memset(&h->history, 0, sizeof h->history);
    if (p)
        memcpy(&h->history, p, MIN(p->size, sizeof h->history));
    h->history_data = p ? user_data : NULL;
    return 0;
}

static bmq_cursor *api_history_cursor(const bmq_host *hh, const char *name, const char *pattern,
                                      char **error)
{
    bmq_instance *inst = inst_of(hh);
    bmq_plugin_host *h = inst->host;
    char *err = NULL;
    bmq_cursor *c = NULL;
    if (!h->history.open)
        err = g_strdup("no history: this program keeps no message history (or it is off)");
    else if (!bmq_instance_id_valid(name))
        err = g_strdup_printf("invalid cursor name \"%s\": 1..64 of letters, digits, '_', '-', '.'",
                              name ? name : "(null)");
    else if (pattern && bmq_id_validate(pattern) != 0)
        err = g_strdup_printf("invalid pattern \"%s\"", pattern);
    if (!err) {
        char *key = g_strdup_printf("%s/%s", inst->id, name);
        void *pc = h->history.open(h->history_data, key, pattern, &err);
        g_free(key);
        if (pc) {
            c = g_new0(bmq_cursor, 1);
            c->inst = inst;
            c->pc = pc;
            g_mutex_lock(&inst->lock);
            inst->cursors = g_list_prepend(inst->cursors, c);
            g_mutex_unlock(&inst->lock);
            g_atomic_int_inc(&h->open_cursors);
        } else if (!err) {
            err = g_strdup("the history cannot open the cursor");
        }
    }
    if (err) {
        if (error)
            *error = err;
        else {
            plugin__log(h, BMQ_LOG_WARNING, inst->id, "history_cursor: %s", err);
            g_free(err);
        }
    } else if (error) {
        *error = NULL;
    }
    return c;
}

static int api_cursor_next(const bmq_host *hh, bmq_cursor *c, bmq_message **out, unsigned max)
{
    (void)hh;
    if (!c || !out || max < 1 || max > 10000)
        return -BMQ_EINVAL;
    bmq_plugin_host *h = c->inst->host;
    return h->history.next(h->history_data, c->pc, out, max);
}

static bool api_cursor_live(const bmq_host *hh, bmq_cursor *c, const bmq_message *m)
{
    (void)hh;
    if (!c || !m)
        return true;
    bmq_plugin_host *h = c->inst->host;
    return h->history.live(h->history_data, c->pc, m);
}

static int api_cursor_ack(const bmq_host *hh, bmq_cursor *c, uint64_t seq)
{
    (void)hh;
    if (!c)
        return -BMQ_EINVAL;
    if (!seq)
        return 0;
    bmq_plugin_host *h = c->inst->host;
    return h->history.ack(h->history_data, c->pc, seq);
}

static void cursor_free(bmq_cursor *c)
{
    bmq_plugin_host *h = c->inst->host;
    h->history.close(h->history_data, c->pc);
    g_atomic_int_dec_and_test(&h->open_cursors);
    g_free(c);
}

static void api_cursor_close(const bmq_host *hh, bmq_cursor *c)
{
    (void)hh;
    if (!c)
        return;
    bmq_instance *inst = c->inst;
    g_mutex_lock(&inst->lock);
    GList *l = g_list_find(inst->cursors, c);
    if (l)
        inst->cursors = g_list_delete_link(inst->cursors, l);
    g_mutex_unlock(&inst->lock);
    if (l)
        cursor_free(c);
    else
        plugin__log(inst->host, BMQ_LOG_WARNING, inst->id,
                    "cursor_close: not an open cursor of this instance (ignored)");
}

static int api_history_recent(const bmq_host *hh, const char *pattern, uint64_t before,
                              bmq_message **out, int64_t *time_us, unsigned max)
{
    bmq_plugin_host *h = inst_of(hh)->host;
    if (!out || max < 1 || max > 10000 || (pattern && bmq_id_validate(pattern) != 0))
        return -BMQ_EINVAL;
    if (!h->history.recent)
        return -BMQ_ENOENT;
    return h->history.recent(h->history_data, pattern, before, out, time_us, max);
}

/* ---- host->when_stored ---------------------------------------------------- */

typedef struct plugin_stored_job {
    bmq_instance *inst; /* NULL: cancelled (the cleanup took the data) */
    uint64_t seq;       /* 0: nothing to wait for, only the order */
    void (*fn)(void *data);
    void *data;
    GDestroyNotify free_fn;
    bool stranded; /* waited for, but the instance was stopping */
} plugin_stored_job;

static void stored_run(gpointer item, gpointer user_data)
{
    plugin_stored_job *j = item;
    bmq_plugin_host *h = user_data;
    if (j->seq && h->history.wait)
        h->history.wait(h->history_data, j->seq);
    g_mutex_lock(&h->stored_lock);
    if (!j->inst) {
        g_free(j);
    } else if (plugin__invoke_live(j->inst, j->fn, j->data, j->free_fn)) {
        g_queue_remove(&h->stored_jobs, j);
        g_free(j);
    } else {
        j->stranded = true; /* the instance's cleanup frees it, on its thread */
    }
    g_mutex_unlock(&h->stored_lock);
}

static void api_when_stored(const bmq_host *hh, void (*fn)(void *data), void *data,
                            GDestroyNotify free_fn)
{
    bmq_instance *inst = inst_of(hh);
    bmq_plugin_host *h = inst->host;
    if (!fn) {
        if (free_fn)
            free_fn(data);
        return;
    }
    uint64_t seq = h->history.pending ? h->history.pending(h->history_data) : 0;
    g_mutex_lock(&h->stored_lock);
    if (!seq && g_queue_is_empty(&h->stored_jobs)) {
        /* Nothing to wait for and nothing ahead of it to overtake. */
        g_mutex_unlock(&h->stored_lock);
        hh->invoke(hh, fn, data, free_fn);
        return;
    }
    if (!h->stored_pool)
        h->stored_pool = g_thread_pool_new(stored_run, h, 1, FALSE, NULL);
    plugin_stored_job *j = g_new0(plugin_stored_job, 1);
    j->inst = inst;
    j->seq = seq;
    j->fn = fn;
    j->data = data;
    j->free_fn = free_fn;
    g_queue_push_tail(&h->stored_jobs, j);
    g_thread_pool_push(h->stored_pool, j, NULL);
    g_mutex_unlock(&h->stored_lock);
}

/* The instance is stopping: its jobs are cancelled and their data freed. */
static void stored_cleanup(bmq_instance *inst)
{
    bmq_plugin_host *h = inst->host;
    GPtrArray *drop = g_ptr_array_new();
    g_mutex_lock(&h->stored_lock);
    for (GList *l = h->stored_jobs.head, *next; l; l = next) {
        next = l->next;
        plugin_stored_job *j = l->data;
        if (j->inst != inst)
            continue;
        g_queue_delete_link(&h->stored_jobs, l);
        g_ptr_array_add(drop, j->free_fn);
        g_ptr_array_add(drop, j->data);
        if (j->stranded)
            g_free(j);
        else
            j->inst = NULL; /* the waiter frees it */
    }
    g_mutex_unlock(&h->stored_lock);
    for (guint i = 0; i + 1 < drop->len; i += 2) {
        GDestroyNotify free_fn = (GDestroyNotify)(void (*)(void))drop->pdata[i];
        if (free_fn)
            free_fn(drop->pdata[i + 1]);
    }
    g_ptr_array_free(drop, TRUE);
}

void plugin__stored_free(bmq_plugin_host *h)
{
    /* Every instance is gone, so every job is cancelled: the waiter only
     * finishes the waits it has begun. */
    if (h->stored_pool)
        g_thread_pool_free(h->stored_pool, FALSE, TRUE);
    h->stored_pool = NULL;
    g_queue_clear(&h->stored_jobs);
    g_mutex_clear(&h->stored_lock);
}

void plugin__cursor_init(bmq_instance *inst)
{
    struct bmq_host *a = &inst->api;
    a->history_cursor = api_history_cursor;
    a->cursor_next = api_cursor_next;
    a->cursor_live = api_cursor_live;
    a->cursor_ack = api_cursor_ack;
    a->cursor_close = api_cursor_close;
    a->history_recent = api_history_recent;
    a->when_stored = api_when_stored;
}

void plugin__cursor_cleanup(bmq_instance *inst)
{
    stored_cleanup(inst);
    g_mutex_lock(&inst->lock);
    GList *cursors = inst->cursors;
    inst->cursors = NULL;
    g_mutex_unlock(&inst->lock);
    int n = 0;
    for (GList *l = cursors; l; l = l->next, n++)
        cursor_free(l->data);
    g_list_free(cursors);
    if (n)
        plugin__log(inst->host, BMQ_LOG_DEBUG, inst->id, "closed %d cursor(s) left open", n);
}
