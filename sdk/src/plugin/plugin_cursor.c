/* plugin_cursor.c - the history in the host table: host->history_cursor,
 * the cursor_* calls and history_recent forward to the program's history
 * provider (the hub's history), recording each open cursor on its instance
 * so that destroying the instance closes what the plugin left open.
 * Without a provider every open answers NULL: "no history".
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

void plugin__cursor_init(bmq_instance *inst)
{
    struct bmq_host *a = &inst->api;
    a->history_cursor = api_history_cursor;
    a->cursor_next = api_cursor_next;
    a->cursor_live = api_cursor_live;
    a->cursor_ack = api_cursor_ack;
    a->cursor_close = api_cursor_close;
    a->history_recent = api_history_recent;
}

void plugin__cursor_cleanup(bmq_instance *inst)
{
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
