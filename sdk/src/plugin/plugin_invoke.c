/* plugin_invoke.c - bmq_plugin_host_invoke: the one way for a program's
 * other threads (RPC handlers, bus followers) onto the host's main thread.
 * Instances use host->invoke (plugin_api.c), which also drops what is
 * still queued when the instance is destroyed.
 */
#include "plugin_host.h"

typedef struct {
    void (*fn)(void *data);
    void *data;
    GDestroyNotify free_fn;
    bool wait;
    bool done;
    GMutex lock;
    GCond cond;
} invoke_call;

static gboolean run_cb(gpointer p)
{
    invoke_call *c = p;
    c->fn(c->data);
    if (c->wait) {
        g_mutex_lock(&c->lock);
        c->done = true;
        g_cond_signal(&c->cond);
        g_mutex_unlock(&c->lock);
    }
    return G_SOURCE_REMOVE;
}

/* Without waiting the source owns the call: freed when it has run, or when
 * the context goes away before it could. */
static void call_free(gpointer p)
{
    invoke_call *c = p;
    if (c->free_fn)
        c->free_fn(c->data);
    g_free(c);
}

int bmq_plugin_host_invoke(bmq_plugin_host *h, void (*fn)(void *data), void *data,
                           GDestroyNotify free_fn, bool wait)
{
    if (!h || !fn) {
        if (free_fn)
            free_fn(data);
        return -BMQ_EINVAL;
    }
    if (wait && g_main_context_is_owner(h->context)) {
        fn(data); /* waiting for ourselves would never end */
        if (free_fn)
            free_fn(data);
        return 0;
    }
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_static_name(src, "berrymq invoke");
    if (!wait) {
        invoke_call *c = g_new0(invoke_call, 1);
        c->fn = fn;
        c->data = data;
        c->free_fn = free_fn;
        g_source_set_callback(src, run_cb, c, call_free);
        g_source_attach(src, h->context);
        g_source_unref(src);
        return 0;
    }
    invoke_call c = {.fn = fn, .data = data, .wait = true};
    g_mutex_init(&c.lock);
    g_cond_init(&c.cond);
    g_source_set_callback(src, run_cb, &c, NULL);
    g_source_attach(src, h->context);
    g_source_unref(src);
    g_mutex_lock(&c.lock);
    while (!c.done)
        g_cond_wait(&c.cond, &c.lock);
    g_mutex_unlock(&c.lock);
    g_mutex_clear(&c.lock);
    g_cond_clear(&c.cond);
    if (free_fn)
        free_fn(data);
    return 0;
}
