/* follow.c - followers, the routing index and delivery.
 *
 * Cost of a send "n:a": at most three hash lookups in its namespace (the
 * exact pair, "n:*" and "*:a"; the last two only when such followers exist)
 * plus a scan of the followers found there, of "*:*" and of the namespace
 * wildcards. Followers found by key match without a compare; a follower of
 * another name or action is never looked at, however many share a part. A
 * wildcard send ("*:a", "n:*") scans and filters the whole namespace.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "id.h"

/* Followers running in this thread, innermost first: unfollow from inside a
 * follower must not wait for itself (or for a follower that may be waiting
 * for it). */
typedef struct frame {
    bmq_follower *f;
    struct frame *up;
} frame;
static BMQ_TLS frame *tls_top;

bmq_follower *follow__new(bmq_bus *bus, const char *pattern, int kind, int *err)
{
    id__parts p;
    size_t len = pattern ? strnlen(pattern, BMQ_ID_MAX + 1) : 0;
    int rc = id__parse(pattern, len, &p);
    if (rc < 0) {
        if (err)
            *err = rc;
        return NULL;
    }
    size_t plen = p.name_len + (p.ns_len ? p.ns_len + 1 : 0) + 1 + p.action_len;
    bmq_follower *f =
        calloc(1, sizeof(*f) + plen + 1 + p.name_len + 1 + p.action_len + 1 + p.ns_len + 1);
    if (!f) {
        if (err)
            *err = -BMQ_ENOMEM;
        return NULL;
    }
    char *w = f->pat;
    w += sprintf(w, "%.*s", (int)p.name_len, p.name);
    if (p.ns_len)
        w += sprintf(w, "@%.*s", (int)p.ns_len, p.ns);
    w += sprintf(w, ":%.*s", (int)p.action_len, p.action) + 1;
    f->name = w;
    w += sprintf(w, "%.*s", (int)p.name_len, p.name) + 1;
    f->action = w;
    w += sprintf(w, "%.*s", (int)p.action_len, p.action) + 1;
    f->ns = w;
    sprintf(w, "%.*s", (int)p.ns_len, p.ns);
    f->name_any = id__is_any(p.name, p.name_len);
    f->action_any = id__is_any(p.action, p.action_len);
    f->ns_any = id__is_any(p.ns, p.ns_len);
    f->kind = kind;
    f->bus = bus;
    atomic_init(&f->refs, 1);
    atomic_init(&f->active, 0);
    atomic_init(&f->removed, false);
    if (err)
        *err = 0;
    return f;
}

void follow__unref(bmq_follower *f)
{
    if (!f || atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* A backing queue lives as long as its subscription: a sender that
     * looked the subscription up may still put into it after detach. */
    if (f->kind == SUB_QUEUE)
        bq__destroy(f->queue);
    free(f);
}

/* ---- copy-on-write arrays ---------------------------------------------- */

static sub_array *array_ref(sub_array *a)
{
    if (a)
        atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
    return a;
}

static void array_unref(void *p)
{
    sub_array *a = p;
    if (!a || atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (unsigned i = 0; i < a->n; i++)
        follow__unref(a->v[i]);
    free(a);
}

static sub_array *array_with(const sub_array *old, bmq_follower *add, bmq_follower *drop)
{
    unsigned n = old ? old->n : 0;
    sub_array *a = malloc(sizeof(*a) + (n + 1) * sizeof(a->v[0]));
    if (!a)
        g_error("berrymq: out of memory");
    atomic_init(&a->refs, 1);
    a->n = 0;
    for (unsigned i = 0; i < n; i++) {
        if (old->v[i] == drop)
            continue;
        a->v[a->n++] = old->v[i];
        atomic_fetch_add_explicit(&old->v[i]->refs, 1, memory_order_relaxed);
    }
    if (add) {
        a->v[a->n++] = add;
        atomic_fetch_add_explicit(&add->refs, 1, memory_order_relaxed);
    }
    if (a->n == 0) {
        free(a);
        return NULL;
    }
    return a;
}

/* Key of the exact table: a follower's name and action, owned. */
typedef struct pair_key {
    const char *name;
    const char *action;
    unsigned hash; /* id__pair_hash */
} pair_key;

static guint pair_hash(const void *p)
{
    return ((const pair_key *)p)->hash;
}

static gboolean pair_equal(const void *a, const void *b)
{
    const pair_key *x = a, *y = b;
    return strcmp(x->name, y->name) == 0 && strcmp(x->action, y->action) == 0;
}

static pair_key *pair_new(const char *name, const char *action)
{
    size_t nl = strlen(name) + 1, al = strlen(action) + 1;
    pair_key *k = g_malloc(sizeof(*k) + nl + al);
    char *w = (char *)(k + 1);
    memcpy(w, name, nl);
    memcpy(w + nl, action, al);
    k->name = w;
    k->action = w + nl;
    k->hash = id__pair_hash(name, nl - 1, action, al - 1);
    return k;
}

static ns_index *ns_new(void)
{
    ns_index *x = g_new0(ns_index, 1);
    x->exact = g_hash_table_new_full(pair_hash, pair_equal, g_free, array_unref);
    x->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, array_unref);
    x->by_action = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, array_unref);
    return x;
}

static void ns_free(void *p)
{
    ns_index *x = p;
    g_hash_table_destroy(x->exact);
    g_hash_table_destroy(x->by_name);
    g_hash_table_destroy(x->by_action);
    array_unref(x->wild);
    g_free(x);
}

static bool ns_empty(const ns_index *x)
{
    return !x->wild && g_hash_table_size(x->exact) == 0 && g_hash_table_size(x->by_name) == 0 &&
           g_hash_table_size(x->by_action) == 0;
}

void index__init(bmq_bus *bus)
{
    bus->namespaces = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, ns_free);
    bus->ns_default = ns_new();
    g_hash_table_insert(bus->namespaces, g_strdup(""), bus->ns_default);
}

void index__free(bmq_bus *bus)
{
    g_hash_table_destroy(bus->namespaces);
    array_unref(bus->ns_wild);
    bus->namespaces = NULL;
    bus->ns_default = NULL;
    bus->ns_wild = NULL;
}

/* Replace the array of @f's shape in @x by @a (NULL: remove the entry). */
static void slot_set(ns_index *x, const bmq_follower *f, sub_array *a)
{
    if (f->name_any && f->action_any) {
        sub_array *old = x->wild;
        x->wild = a;
        array_unref(old);
    } else if (f->name_any) {
        if (a)
            g_hash_table_replace(x->by_action, g_strdup(f->action), a);
        else
            g_hash_table_remove(x->by_action, f->action);
    } else if (f->action_any) {
        if (a)
            g_hash_table_replace(x->by_name, g_strdup(f->name), a);
        else
            g_hash_table_remove(x->by_name, f->name);
    } else {
        if (a) {
            g_hash_table_replace(x->exact, pair_new(f->name, f->action), a);
        } else {
            pair_key k = {f->name, f->action,
                          id__pair_hash(f->name, strlen(f->name), f->action, strlen(f->action))};
            g_hash_table_remove(x->exact, &k);
        }
    }
}

static sub_array *slot_get(ns_index *x, const bmq_follower *f)
{
    if (f->name_any && f->action_any)
        return x->wild;
    if (f->name_any)
        return g_hash_table_lookup(x->by_action, f->action);
    if (f->action_any)
        return g_hash_table_lookup(x->by_name, f->name);
    pair_key k = {f->name, f->action,
                  id__pair_hash(f->name, strlen(f->name), f->action, strlen(f->action))};
    return g_hash_table_lookup(x->exact, &k);
}

void follow__attach_locked(bmq_bus *bus, bmq_follower *f)
{
    readers__write_begin(bus);
    if (f->ns_any) {
        sub_array *old = bus->ns_wild;
        bus->ns_wild = array_with(old, f, NULL);
        array_unref(old);
    } else {
        ns_index *x = g_hash_table_lookup(bus->namespaces, f->ns);
        if (!x) {
            x = ns_new();
            g_hash_table_insert(bus->namespaces, g_strdup(f->ns), x);
        }
        slot_set(x, f, array_with(slot_get(x, f), f, NULL));
    }
    readers__write_end(bus);
}

void follow__detach_locked(bmq_bus *bus, bmq_follower *f)
{
    atomic_store(&f->removed, true);
    readers__write_begin(bus);
    if (f->ns_any) {
        sub_array *old = bus->ns_wild;
        bus->ns_wild = array_with(old, NULL, f);
        array_unref(old);
    } else {
        ns_index *x = g_hash_table_lookup(bus->namespaces, f->ns);
        if (x) {
            slot_set(x, f, array_with(slot_get(x, f), NULL, f));
            if (x != bus->ns_default && ns_empty(x))
                g_hash_table_remove(bus->namespaces, f->ns);
        }
    }
    readers__write_end(bus);
}

int follow__attach(bmq_bus *bus, bmq_follower *f)
{
    pthread_rwlock_wrlock(&bus->lock);
    follow__attach_locked(bus, f);
    pthread_rwlock_unlock(&bus->lock);
    return 0;
}

/* ---- routing ------------------------------------------------------------ */

static void add_all(route *r, GHashTable *t)
{
    GHashTableIter it;
    void *v;
    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        if (!r->more)
            r->more = g_ptr_array_new();
        g_ptr_array_add(r->more, array_ref(v));
    }
}

static inline void add(route *r, sub_array *a, bool check)
{
    if (!a)
        return;
    if (check)
        r->check |= 1u << r->n;
    r->a[r->n++] = array_ref(a);
}

/* Where the followers of an id were, remembered per thread: a sender that
 * repeats an id (the common case) skips the hash lookups. An entry holds as
 * long as the index generation it was read at is current; the arrays are
 * then still the index's own. */
#define MEMO_SLOTS 64
#define MEMO_KEY 48
typedef struct route_memo {
    const bmq_bus *bus;
    uint64_t gen;
    unsigned hash, name_len, action_len, ns_len;
    sub_array *exact, *by_name, *by_action, *wild;
    char key[MEMO_KEY]; /* name, action, namespace */
} route_memo;

static BMQ_TLS route_memo *memos;
static pthread_key_t memo_key;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;

static void memo_setup(void)
{
    pthread_key_create(&memo_key, free);
}

static route_memo *memo_slot(const bmq_message *m)
{
    if (!memos) {
        pthread_once(&memo_once, memo_setup);
        memos = calloc(MEMO_SLOTS, sizeof(*memos));
        if (!memos)
            return NULL;
        pthread_setspecific(memo_key, memos); /* freed when the thread ends */
    }
    return &memos[m->pair_hash & (MEMO_SLOTS - 1)];
}

static inline bool memo_hit(const route_memo *e, const bmq_bus *bus, uint64_t gen,
                            const bmq_message *m)
{
    return e->bus == bus && e->gen == gen && e->hash == m->pair_hash &&
           e->name_len == m->name_len && e->action_len == m->action_len &&
           e->ns_len == m->ns_len && memcmp(e->key, m->name, m->name_len) == 0 &&
           memcmp(e->key + m->name_len, m->action, m->action_len) == 0 &&
           memcmp(e->key + m->name_len + m->action_len, m->ns, m->ns_len) == 0;
}

/* The lists a send of an exact id "name:action[@ns]" visits. */
static void lookup_exact(bmq_bus *bus, const bmq_message *m, route *r)
{
    uint64_t gen = atomic_load_explicit(&bus->gen, memory_order_relaxed);
    bool memoable = m->name_len + m->action_len + m->ns_len <= MEMO_KEY;
    route_memo *e = memoable ? memo_slot(m) : NULL;
    if (e && memo_hit(e, bus, gen, m)) {
        add(r, e->exact, false);
        add(r, e->by_name, false);
        add(r, e->by_action, false);
        add(r, e->wild, false);
        return;
    }
    ns_index *x = m->ns_len ? g_hash_table_lookup(bus->namespaces, m->ns) : bus->ns_default;
    sub_array *exact = NULL, *by_name = NULL, *by_action = NULL, *wild = NULL;
    if (x) {
        pair_key k = {m->name, m->action, m->pair_hash};
        exact = g_hash_table_lookup(x->exact, &k);
        if (g_hash_table_size(x->by_name))
            by_name = g_hash_table_lookup(x->by_name, m->name);
        if (g_hash_table_size(x->by_action))
            by_action = g_hash_table_lookup(x->by_action, m->action);
        wild = x->wild;
    }
    add(r, exact, false);
    add(r, by_name, false);
    add(r, by_action, false);
    add(r, wild, false);
    if (e) {
        e->bus = bus;
        e->gen = gen;
        e->hash = m->pair_hash;
        e->name_len = m->name_len;
        e->action_len = m->action_len;
        e->ns_len = m->ns_len;
        memcpy(e->key, m->name, m->name_len);
        memcpy(e->key + m->name_len, m->action, m->action_len);
        memcpy(e->key + m->name_len + m->action_len, m->ns, m->ns_len);
        e->exact = exact;
        e->by_name = by_name;
        e->by_action = by_action;
        e->wild = wild;
    }
}

void route__collect(bmq_bus *bus, const bmq_message *m, route *r)
{
    r->n = 0;
    r->check = 0;
    r->more = NULL;
    readers__enter(bus);
    if (m->name_any || m->action_any) {
        /* A wildcard send (rare): every follower of the namespace may
         * match; filter them all. */
        ns_index *x = m->ns_len ? g_hash_table_lookup(bus->namespaces, m->ns) : bus->ns_default;
        if (x) {
            add_all(r, x->exact);
            add_all(r, x->by_name);
            add_all(r, x->by_action);
            add(r, x->wild, false);
        }
    } else {
        lookup_exact(bus, m, r);
    }
    add(r, bus->ns_wild, true);
    readers__leave();
}

void route__release(route *r)
{
    for (unsigned i = 0; i < r->n; i++)
        array_unref(r->a[i]);
    r->n = 0;
    if (r->more) {
        for (unsigned i = 0; i < r->more->len; i++)
            array_unref(r->more->pdata[i]);
        g_ptr_array_free(r->more, TRUE);
        r->more = NULL;
    }
}

static inline bool part_match(bool f_any, const char *fs, bool m_any, const char *ms)
{
    return f_any || m_any || strcmp(fs, ms) == 0;
}

/* A wildcard name in a message does not reach a local name (_hub:quit):
 * "*:quit" may come from any client, a local name only from the process. */
static inline bool sub_match(const bmq_follower *f, const bmq_message *m)
{
    return part_match(f->action_any, f->action, m->action_any, m->action) &&
           part_match(f->name_any, f->name, m->name_any && f->name[0] != '_', m->name);
}

static void wake_unfollowers(bmq_bus *bus)
{
    pthread_mutex_lock(&bus->wait_lock);
    pthread_cond_broadcast(&bus->wait_cond);
    pthread_mutex_unlock(&bus->wait_lock);
}

static void talk_reply(bmq_bus *bus, const bmq_message *m, json_object *result)
{
    if (!result)
        return; /* this follower has nothing to say */
    if (!m->reply_to) {
        json_object_put(result);
        return;
    }
    json_object *args = json_object_new_array();
    json_object_array_add(args, result);
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "request", json_object_new_string(m->id));
    json_object_object_add(kw, "uid", json_object_new_string(bmq_message_uid(m)));
    int rc = bmq_twitter(bus, m->reply_to, args, kw);
    if (rc < 0)
        g_warning("berrymq: talk reply to %s: %s", m->reply_to, bmq_strerror(rc));
}

/* Run one follower; false when it was skipped (removed or guarded). */
static bool invoke(bmq_bus *bus, bmq_follower *f, const bmq_message *m)
{
    bool ran = false;
    /* Say that this thread runs @f: in its reader slot (plain stores; an
     * unfollow's membarrier orders them) or, nested deeper or without
     * membarrier, in the follower's shared count. */
    reader_slot *s = readers__slot();
    unsigned d = atomic_load_explicit(&s->depth, memory_order_relaxed);
    bool in_slot = d < RUN_DEPTH && readers__fenceless();
    if (in_slot) {
        atomic_store_explicit(&s->run[d], f, memory_order_relaxed);
        atomic_store_explicit(&s->depth, d + 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
    } else {
        atomic_fetch_add(&f->active, 1);
    }
    if (!atomic_load_explicit(&f->removed, memory_order_relaxed)) {
        frame fr = {f, tls_top};
        tls_top = &fr;
        if (!f->guard || f->guard(m, f->user_data)) {
            if (f->kind == SUB_FN)
                f->fn(m, f->user_data);
            else
                talk_reply(bus, m, f->talk(m, f->user_data));
            ran = true;
        }
        tls_top = fr.up;
    }
    if (in_slot) {
        atomic_store_explicit(&s->depth, d, memory_order_release);
        atomic_signal_fence(memory_order_seq_cst);
    } else {
        atomic_fetch_sub(&f->active, 1);
    }
    if (atomic_load_explicit(&f->removed, memory_order_relaxed))
        wake_unfollowers(bus);
    return ran;
}

static uint64_t deliver_array(bmq_bus *bus, const sub_array *a, const bmq_message *m, bool check,
                              bool followers, bool queues, bool *skipped)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < a->n; i++) {
        bmq_follower *f = a->v[i];
        if (check && !sub_match(f, m))
            continue;
        if (f->kind == SUB_QUEUE) {
            if (queues && !atomic_load_explicit(&f->removed, memory_order_relaxed) &&
                bq__put(f->queue, (bmq_message *)m))
                n++;
        } else if (!followers) {
            *skipped = true;
        } else if (invoke(bus, f, m)) {
            n++;
        }
    }
    return n;
}

uint64_t route__deliver(bmq_bus *bus, route *r, const bmq_message *m, bool followers, bool queues,
                        bool *skipped)
{
    uint64_t n = 0;
    bool dummy = false;
    if (!skipped)
        skipped = &dummy;
    for (unsigned i = 0; i < r->n; i++)
        n += deliver_array(bus, r->a[i], m, (r->check >> i) & 1u, followers, queues, skipped);
    if (r->more)
        for (unsigned i = 0; i < r->more->len; i++)
            n += deliver_array(bus, r->more->pdata[i], m, true, followers, queues, skipped);
    return n;
}

/* ---- public ------------------------------------------------------------- */

static bmq_follower *follow_any(bmq_bus *bus, const char *pattern, int kind, bmq_follower_fn fn,
                                bmq_talk_fn talk, bmq_guard_fn guard, void *user_data)
{
    if (!bus || (!fn && !talk))
        return NULL;
    bmq_follower *f = follow__new(bus, pattern, kind, NULL);
    if (!f)
        return NULL;
    f->fn = fn;
    f->talk = talk;
    f->guard = guard;
    f->user_data = user_data;
    pthread_rwlock_wrlock(&bus->lock);
    follow__attach_locked(bus, f);
    g_hash_table_add(bus->followers, f);
    atomic_fetch_add(&bus->nfollowers, 1);
    pthread_rwlock_unlock(&bus->lock);
    return f;
}

bmq_follower *bmq_follow(bmq_bus *bus, const char *pattern, bmq_follower_fn fn, bmq_guard_fn guard,
                         void *user_data)
{
    return follow_any(bus, pattern, SUB_FN, fn, NULL, guard, user_data);
}

bmq_follower *bmq_follow_talk(bmq_bus *bus, const char *pattern, bmq_talk_fn fn, bmq_guard_fn guard,
                              void *user_data)
{
    return follow_any(bus, pattern, SUB_TALK, NULL, fn, guard, user_data);
}

void follow__wait_idle(bmq_follower *f)
{
    /* Inside a follower we must not wait: the other invocation could be
     * waiting for ours (two followers unfollowing each other). */
    if (tls_top)
        return;
    bmq_bus *bus = f->bus;
    pthread_mutex_lock(&bus->wait_lock);
    while (atomic_load(&f->active) > 0 || readers__running(f))
        pthread_cond_wait(&bus->wait_cond, &bus->wait_lock);
    pthread_mutex_unlock(&bus->wait_lock);
}

void bmq_unfollow(bmq_follower *f)
{
    if (!f)
        return;
    bmq_bus *bus = f->bus;
    pthread_rwlock_wrlock(&bus->lock);
    bool attached = g_hash_table_remove(bus->followers, f);
    if (attached) {
        follow__detach_locked(bus, f);
        atomic_fetch_sub(&bus->nfollowers, 1);
    }
    pthread_rwlock_unlock(&bus->lock);
    if (!attached)
        return;
    follow__wait_idle(f);
    follow__unref(f);
}
