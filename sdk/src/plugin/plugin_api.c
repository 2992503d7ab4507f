/* plugin_api.c - the bmq_host table handed to each instance.
 *
 * Everything an instance registers (followers, queues, sources) is recorded
 * here so that destroying the instance removes it even if the plugin forgot.
 * Main-thread followers invoked on another thread (a pool thread, an RPC
 * server thread) are queued with a message reference on the instance's
 * pending list and run from one idle source on the host context, in arrival
 * order; once the instance is marked dead nothing queued runs any more.
 */
#include <string.h>

#include "plugin_host.h"

typedef enum { PENDING_MESSAGE, PENDING_INVOKE } pending_kind;

typedef struct plugin_pending {
    pending_kind kind;
    plugin_follow *follow;  /* PENDING_MESSAGE: holds a reference */
    bmq_message *msg;       /* PENDING_MESSAGE: holds a reference */
    void (*fn)(void *data); /* PENDING_INVOKE */
    void *data;
    GDestroyNotify free_fn;
} plugin_pending;

/* Deliveries handled per idle dispatch, so a flood cannot starve the loop. */
#define DISPATCH_BATCH 64

static bmq_instance *inst_of(const bmq_host *h)
{
    return (bmq_instance *)h->priv;
}

static void follow_unref_locked(plugin_follow *f)
{
    if (--f->refs == 0)
        g_free(f);
}

static void pending_free_locked(plugin_pending *p)
{
    if (p->kind == PENDING_MESSAGE) {
        bmq_message_unref(p->msg);
        follow_unref_locked(p->follow);
    }
    g_free(p);
}

static gboolean dispatch_cb(gpointer data)
{
    bmq_instance *inst = data;
    inst->mt_refs++; /* a follower may cause the instance to be destroyed */
    gboolean again = G_SOURCE_REMOVE;
    for (int n = 0;; n++) {
        g_mutex_lock(&inst->lock);
        if (inst->dead || n == DISPATCH_BATCH) {
            /* Dead: cleanup already dropped our source. Batch done: come back. */
            again = inst->dead ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
            g_mutex_unlock(&inst->lock);
            break;
        }
        plugin_pending *p = g_queue_pop_head(&inst->pending);
        if (!p) {
            if (inst->dispatch) {
                g_source_unref(inst->dispatch);
                inst->dispatch = NULL;
            }
            g_mutex_unlock(&inst->lock);
            break;
        }
        bool run = p->kind == PENDING_INVOKE || !p->follow->removed;
        g_mutex_unlock(&inst->lock);
        bmq_plugin_call call;
        if (p->kind == PENDING_MESSAGE) {
            plugin_follow *f = p->follow;
            plugin__call_enter_inst(&call, inst, "follower");
            if (run && (!f->guard || f->guard(p->msg, f->user_data)))
                f->fn(p->msg, f->user_data);
            bmq_plugin_call_leave(&call);
        } else {
            plugin__call_enter_inst(&call, inst, "invoke");
            p->fn(p->data);
            if (p->free_fn)
                p->free_fn(p->data);
            bmq_plugin_call_leave(&call);
        }
        g_mutex_lock(&inst->lock);
        pending_free_locked(p);
        g_mutex_unlock(&inst->lock);
    }
    plugin__instance_unref(inst);
    return again;
}

/* Queue @p for the main thread. Called with inst->lock held. */
static void enqueue_locked(bmq_instance *inst, plugin_pending *p)
{
    g_queue_push_tail(&inst->pending, p);
    if (!inst->dispatch) {
        inst->dispatch = g_idle_source_new();
        g_source_set_priority(inst->dispatch, G_PRIORITY_DEFAULT);
        g_source_set_callback(inst->dispatch, dispatch_cb, inst, NULL);
        g_source_set_static_name(inst->dispatch, "berrymq plugin dispatch");
        g_source_attach(inst->dispatch, inst->host->context);
    }
}

/* The bus calls this for main-thread followers, in the sender's thread. */
static void follow_trampoline(const bmq_message *msg, void *user_data)
{
    plugin_follow *f = user_data;
    bmq_instance *inst = f->inst;
    if (g_main_context_is_owner(inst->host->context)) {
        g_mutex_lock(&inst->lock);
        bool run = !inst->dead && !f->removed;
        if (run)
            f->refs++;
        g_mutex_unlock(&inst->lock);
        if (!run)
            return;
        bmq_plugin_call call;
        plugin__call_enter_inst(&call, inst, "follower");
        if (!f->guard || f->guard(msg, f->user_data))
            f->fn(msg, f->user_data);
        bmq_plugin_call_leave(&call);
        g_mutex_lock(&inst->lock);
        follow_unref_locked(f);
        g_mutex_unlock(&inst->lock);
        return;
    }
    g_mutex_lock(&inst->lock);
    if (!inst->dead && !f->removed) {
        plugin_pending *p = g_new0(plugin_pending, 1);
        p->kind = PENDING_MESSAGE;
        p->follow = f;
        f->refs++;
        p->msg = bmq_message_ref((bmq_message *)msg);
        enqueue_locked(inst, p);
    }
    g_mutex_unlock(&inst->lock);
}

/* BMQ_FOLLOW_ANY_THREAD: called by the bus in any thread. The tracking
 * record outlives every invocation (bmq_unfollow waits for them). */
static bool any_thread_guard(const bmq_message *msg, void *user_data)
{
    plugin_follow *f = user_data;
    bmq_plugin_call call;
    plugin__call_enter_inst(&call, f->inst, "follower guard");
    bool ok = f->guard(msg, f->user_data);
    bmq_plugin_call_leave(&call);
    return ok;
}

static void any_thread_trampoline(const bmq_message *msg, void *user_data)
{
    plugin_follow *f = user_data;
    bmq_plugin_call call;
    plugin__call_enter_inst(&call, f->inst, "follower");
    f->fn(msg, f->user_data);
    bmq_plugin_call_leave(&call);
}

static int api_twitter(const bmq_host *h, const char *id, json_object *args, json_object *kwargs)
{
    bmq_instance *inst = inst_of(h);
    const char *prev = bmq_sender_label_set(inst->label);
    int rc = bmq_twitter(inst->host->bus, id, args, kwargs);
    bmq_sender_label_set(prev);
    return rc;
}

static int api_twitter_message(const bmq_host *h, bmq_message *msg)
{
    bmq_instance *inst = inst_of(h);
    const char *prev = bmq_sender_label_set(inst->label);
    int rc = bmq_twitter_message(inst->host->bus, msg);
    bmq_sender_label_set(prev);
    return rc;
}

static bmq_follower *api_follow(const bmq_host *h, const char *pattern, bmq_follower_fn fn,
                                bmq_guard_fn guard, void *user_data, unsigned flags)
{
    bmq_instance *inst = inst_of(h);
    if (!fn || !pattern)
        return NULL;
    plugin_follow *f = g_new0(plugin_follow, 1);
    f->inst = inst;
    f->fn = fn;
    f->guard = guard;
    f->user_data = user_data;
    f->flags = flags;
    f->refs = 1;
    if (flags & BMQ_FOLLOW_ANY_THREAD)
        f->follower = bmq_follow(inst->host->bus, pattern, any_thread_trampoline,
                                 guard ? any_thread_guard : NULL, f);
    else
        f->follower = bmq_follow(inst->host->bus, pattern, follow_trampoline, NULL, f);
    if (!f->follower) {
        g_free(f);
        return NULL;
    }
    g_mutex_lock(&inst->lock);
    inst->follows = g_list_prepend(inst->follows, f);
    g_mutex_unlock(&inst->lock);
    return f->follower;
}

static void remove_follow(bmq_instance *inst, plugin_follow *f)
{
    /* Outside the lock: bmq_unfollow waits for running invocations, which
     * take the lock. */
    bmq_unfollow(f->follower);
    g_mutex_lock(&inst->lock);
    f->removed = true;
    follow_unref_locked(f);
    g_mutex_unlock(&inst->lock);
}

static void api_unfollow(const bmq_host *h, bmq_follower *follower)
{
    bmq_instance *inst = inst_of(h);
    if (!follower)
        return;
    plugin_follow *found = NULL;
    g_mutex_lock(&inst->lock);
    for (GList *l = inst->follows; l; l = l->next) {
        plugin_follow *f = l->data;
        if (f->follower == follower) {
            found = f;
            inst->follows = g_list_delete_link(inst->follows, l);
            break;
        }
    }
    g_mutex_unlock(&inst->lock);
    if (found)
        remove_follow(inst, found);
    else
        plugin__log(inst->host, BMQ_LOG_WARNING, inst->id, "unfollow of an unknown follower");
}

static bmq_queue *api_queue_new(const bmq_host *h, const char *pattern, bool shared)
{
    bmq_instance *inst = inst_of(h);
    bmq_queue *q = bmq_queue_new(inst->host->bus, pattern, shared);
    if (q) {
        g_mutex_lock(&inst->lock);
        inst->queues = g_list_prepend(inst->queues, q);
        g_mutex_unlock(&inst->lock);
    }
    return q;
}

static void api_queue_free(const bmq_host *h, bmq_queue *q)
{
    bmq_instance *inst = inst_of(h);
    if (!q)
        return;
    g_mutex_lock(&inst->lock);
    GList *l = g_list_find(inst->queues, q);
    if (l)
        inst->queues = g_list_delete_link(inst->queues, l);
    g_mutex_unlock(&inst->lock);
    if (l)
        bmq_queue_free(q);
    else
        plugin__log(inst->host, BMQ_LOG_WARNING, inst->id, "queue_free of an unknown queue");
}

/* Forget sources GLib already destroyed (a callback returned
 * G_SOURCE_REMOVE), so one-shot timeouts do not pile up. Lock held. */
static void sweep_sources_locked(bmq_instance *inst)
{
    GList *l = inst->sources;
    while (l) {
        GList *next = l->next;
        plugin_source *s = l->data;
        if (g_source_is_destroyed(s->source)) {
            g_source_unref(s->source);
            g_free(s);
            inst->sources = g_list_delete_link(inst->sources, l);
        }
        l = next;
    }
}

static guint api_source_attach(const bmq_host *h, GSource *source)
{
    bmq_instance *inst = inst_of(h);
    if (!source)
        return 0;
    plugin_source *s = g_new0(plugin_source, 1);
    s->source = g_source_ref(source);
    s->id = g_source_attach(source, inst->host->context);
    g_mutex_lock(&inst->lock);
    sweep_sources_locked(inst);
    inst->sources = g_list_prepend(inst->sources, s);
    g_mutex_unlock(&inst->lock);
    return s->id;
}

static void api_source_remove(const bmq_host *h, guint id)
{
    bmq_instance *inst = inst_of(h);
    if (id == 0)
        return;
    plugin_source *found = NULL;
    g_mutex_lock(&inst->lock);
    for (GList *l = inst->sources; l; l = l->next) {
        plugin_source *s = l->data;
        if (s->id == id) {
            found = s;
            inst->sources = g_list_delete_link(inst->sources, l);
            break;
        }
    }
    g_mutex_unlock(&inst->lock);
    if (!found)
        return;
    g_source_destroy(found->source);
    g_source_unref(found->source);
    g_free(found);
}

typedef struct {
    bmq_instance *inst; /* outlives the source: cleanup destroys it */
    GSourceFunc fn;
    void *data;
} timeout_call;

static gboolean timeout_trampoline(gpointer data)
{
    timeout_call *t = data;
    bmq_plugin_call call;
    plugin__call_enter_inst(&call, t->inst, "timeout");
    gboolean again = t->fn(t->data);
    bmq_plugin_call_leave(&call);
    return again;
}

static guint api_timeout_add(const bmq_host *h, guint interval_ms, GSourceFunc fn, void *data)
{
    if (!fn)
        return 0;
    GSource *src = g_timeout_source_new(interval_ms);
    timeout_call *t = g_new(timeout_call, 1);
    *t = (timeout_call){inst_of(h), fn, data};
    g_source_set_callback(src, timeout_trampoline, t, g_free);
    guint id = api_source_attach(h, src);
    g_source_unref(src);
    return id;
}

static void api_log(const bmq_host *h, int level, const char *fmt, ...)
{
    bmq_instance *inst = inst_of(h);
    va_list ap;
    va_start(ap, fmt);
    plugin__logv(inst->host, level, inst->id, fmt, ap);
    va_end(ap);
}

bool plugin__invoke_live(bmq_instance *inst, void (*fn)(void *data), void *data,
                         GDestroyNotify free_fn)
{
    g_mutex_lock(&inst->lock);
    bool live = !inst->dead;
    if (live) {
        plugin_pending *p = g_new0(plugin_pending, 1);
        p->kind = PENDING_INVOKE;
        p->fn = fn;
        p->data = data;
        p->free_fn = free_fn;
        enqueue_locked(inst, p);
    }
    g_mutex_unlock(&inst->lock);
    return live;
}

static void api_invoke(const bmq_host *h, void (*fn)(void *data), void *data,
                       GDestroyNotify free_fn)
{
    if ((!fn || !plugin__invoke_live(inst_of(h), fn, data, free_fn)) && free_fn)
        free_fn(data);
}

void plugin__api_init(bmq_instance *inst)
{
    struct bmq_host *a = &inst->api;
    memset(a, 0, sizeof *a);
    a->size = sizeof *a;
    a->abi = inst->plugin->desc->abi;
    a->instance_id = inst->id;
    a->data_dir = inst->data_dir;
    a->config = inst->config;
    a->context = inst->host->context;
    a->node_id = inst->host->node_id;
    a->priv = inst;
    a->twitter = api_twitter;
    a->twitter_message = api_twitter_message;
    a->follow = api_follow;
    a->unfollow = api_unfollow;
    a->queue_new = api_queue_new;
    a->queue_free = api_queue_free;
    a->source_attach = api_source_attach;
    a->source_remove = api_source_remove;
    a->timeout_add = api_timeout_add;
    a->log = api_log;
    a->invoke = api_invoke;
    plugin__cursor_init(inst);
}

void plugin__api_stop(bmq_instance *inst)
{
    g_mutex_lock(&inst->lock);
    inst->dead = true;
    g_mutex_unlock(&inst->lock);
}

void plugin__api_restart(bmq_instance *inst)
{
    g_mutex_lock(&inst->lock);
    inst->dead = false;
    g_mutex_unlock(&inst->lock);
}

void plugin__api_cleanup(bmq_instance *inst)
{
    int nf = 0, nq = 0, ns = 0;
    g_mutex_lock(&inst->lock);
    inst->dead = true;
    GList *follows = inst->follows, *queues = inst->queues, *sources = inst->sources;
    inst->follows = inst->queues = inst->sources = NULL;
    g_mutex_unlock(&inst->lock);

    for (GList *l = follows; l; l = l->next, nf++)
        remove_follow(inst, l->data);
    g_list_free(follows);
    for (GList *l = queues; l; l = l->next, nq++) {
        bmq_queue_close(l->data);
        bmq_queue_free(l->data);
    }
    g_list_free(queues);
    for (GList *l = sources; l; l = l->next) {
        plugin_source *s = l->data;
        if (!g_source_is_destroyed(s->source)) {
            ns++;
            g_source_destroy(s->source);
        }
        g_source_unref(s->source);
        g_free(s);
    }
    g_list_free(sources);
    plugin__cursor_cleanup(inst);

    /* No trampoline runs now (unfollow waited), so the pending list only
     * shrinks: drop it, releasing message references and invoke data. */
    GQueue drop = G_QUEUE_INIT;
    g_mutex_lock(&inst->lock);
    while (!g_queue_is_empty(&inst->pending))
        g_queue_push_tail(&drop, g_queue_pop_head(&inst->pending));
    GSource *dispatch = inst->dispatch;
    inst->dispatch = NULL;
    g_mutex_unlock(&inst->lock);
    plugin_pending *p;
    while ((p = g_queue_pop_head(&drop))) {
        if (p->kind == PENDING_INVOKE && p->free_fn)
            p->free_fn(p->data);
        g_mutex_lock(&inst->lock);
        pending_free_locked(p);
        g_mutex_unlock(&inst->lock);
    }
    if (dispatch) {
        g_source_destroy(dispatch);
        g_source_unref(dispatch);
    }
    if (nf || nq || ns)
        plugin__log(inst->host, BMQ_LOG_DEBUG, inst->id,
                    "removed what the instance left registered: %d follower(s), %d queue(s), "
                    "%d source(s)",
                    nf, nq, ns);
}

void plugin__api_counts(bmq_instance *inst, int *followers, int *queues, int *sources)
{
    g_mutex_lock(&inst->lock);
    sweep_sources_locked(inst);
    *followers = (int)g_list_length(inst->follows);
    *queues = (int)g_list_length(inst->queues);
    *sources = (int)g_list_length(inst->sources);
    g_mutex_unlock(&inst->lock);
}
