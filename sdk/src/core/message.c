/* message.c - immutable, reference-counted messages.
 *
 * One allocation holds the header and every string of the identifier. The
 * derived values that are rarely needed (empty args/kwargs, uid, JSON text)
 * are computed on first use and published with a compare-and-swap, so that
 * concurrent readers of a shared message never race and a plain send costs a
 * single malloc.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <glib.h>

#include "id.h"
#include "message.h"

static char empty_array[] = "[]";
static char empty_object[] = "{}";

static int kwargs_priority(json_object *kwargs)
{
    json_object *p;
    if (!kwargs || !json_object_object_get_ex(kwargs, "priority", &p))
        return 0;
    switch (json_object_get_type(p)) {
    case json_type_int:
    case json_type_double: {
        /* clamped so that its negation, the queue rank, is an int too */
        int64_t v = json_object_get_int64(p);
        return v < -INT32_MAX ? -INT32_MAX : v > INT32_MAX ? INT32_MAX : (int)v;
    }
    default:
        return 0;
    }
}

/* ---- identifiers seen lately ---------------------------------------------
 * A sender usually sends the same few identifiers over and over: each thread
 * remembers the parse of the last ones it saw (direct-mapped by the string's
 * address and length, confirmed by comparing the bytes), so a repeated send
 * skips the parser and the hash. */
#define ID_CACHE_SLOTS 64
#define ID_CACHE_MAX 56
typedef struct id_memo {
    unsigned char len; /* 0: empty slot */
    bool implicit_action;
    unsigned char name_off, name_len, action_off, action_len, ns_off, ns_len;
    unsigned hash;
    unsigned short sec_len, sec_name, sec_action, sec_ns; /* built string section */
    char raw[ID_CACHE_MAX];
    char sec[2 * ID_CACHE_MAX + 4];
} id_memo;


/* ---- message blocks --------------------------------------------------------
 * Most messages live for one send: each thread keeps a few freed blocks of
 * the common size for the next ones instead of going back to malloc. Off
 * under AddressSanitizer, so that it still sees every use after free. */
#if defined(__SANITIZE_ADDRESS__)
#define BLOCK_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BLOCK_CACHE 0
#endif
#endif
#ifndef BLOCK_CACHE
#define BLOCK_CACHE 32
#endif
#define BLOCK_SIZE 256

typedef struct thread_cache {
    unsigned n;
    void *v[BLOCK_CACHE > 0 ? BLOCK_CACHE : 1];
    id_memo memos[ID_CACHE_SLOTS];
} thread_cache;
static BMQ_TLS thread_cache *tcache;
static pthread_key_t tcache_key;
static pthread_once_t tcache_once = PTHREAD_ONCE_INIT;

static void tcache_free(void *p)
{
    thread_cache *c = p;
    for (unsigned i = 0; i < c->n; i++)
        free(c->v[i]);
    free(c);
}

static void tcache_setup(void)
{
    pthread_key_create(&tcache_key, tcache_free);
}

static thread_cache *thread_cache_get(void)
{
    if (tcache)
        return tcache;
    pthread_once(&tcache_once, tcache_setup);
    tcache = calloc(1, sizeof(*tcache));
    if (tcache)
        pthread_setspecific(tcache_key, tcache);
    return tcache;
}

/* Write a message's strings, "name[@ns]:action\0name\0action\0ns\0", to
 * @dst; returns the length and the offsets of the three parts. */
static size_t layout(char *dst, const id__parts *p, size_t *o_name, size_t *o_action,
                     size_t *o_ns)
{
    char *w = dst;
    memcpy(w, p->name, p->name_len);
    w += p->name_len;
    if (p->ns_len) {
        *w++ = '@';
        memcpy(w, p->ns, p->ns_len);
        w += p->ns_len;
    }
    *w++ = ':';
    memcpy(w, p->action, p->action_len);
    w += p->action_len;
    *w++ = '\0';
    *o_name = (size_t)(w - dst);
    memcpy(w, p->name, p->name_len);
    w += p->name_len;
    *w++ = '\0';
    *o_action = (size_t)(w - dst);
    memcpy(w, p->action, p->action_len);
    w += p->action_len;
    *w++ = '\0';
    *o_ns = (size_t)(w - dst);
    memcpy(w, p->ns, p->ns_len);
    w[p->ns_len] = '\0';
    return (size_t)(w - dst) + p->ns_len + 1;
}

static int parse_memo(const char *id, size_t len, id__parts *p, unsigned *hash,
                      const id_memo **hit)
{
    *hit = NULL;
    if (len == 0 || len >= ID_CACHE_MAX)
        goto slow;
    thread_cache *tc = thread_cache_get();
    if (!tc)
        goto slow;
    id_memo *e = &tc->memos[(((uintptr_t)id >> 3) ^ len) & (ID_CACHE_SLOTS - 1)];
    if (e->len == len && memcmp(e->raw, id, len) == 0) {
        p->name = id + e->name_off;
        p->name_len = e->name_len;
        p->action = e->implicit_action ? "*" : id + e->action_off;
        p->action_len = e->action_len;
        p->ns = id + e->ns_off;
        p->ns_len = e->ns_len;
        *hash = e->hash;
        *hit = e;
        return 0;
    }
    int rc = id__parse(id, len, p);
    if (rc < 0)
        return rc;
    *hash = id__pair_hash(p->name, p->name_len, p->action, p->action_len);
    e->len = (unsigned char)len;
    memcpy(e->raw, id, len);
    e->implicit_action = !(p->action >= id && p->action < id + len);
    e->name_off = (unsigned char)(p->name - id);
    e->name_len = (unsigned char)p->name_len;
    e->action_off = e->implicit_action ? 0 : (unsigned char)(p->action - id);
    e->action_len = (unsigned char)p->action_len;
    e->ns_off = (unsigned char)(p->ns_len ? p->ns - id : 0);
    e->ns_len = (unsigned char)p->ns_len;
    e->hash = *hash;
    size_t on, oa, ons;
    e->sec_len = (unsigned short)layout(e->sec, p, &on, &oa, &ons);
    e->sec_name = (unsigned short)on;
    e->sec_action = (unsigned short)oa;
    e->sec_ns = (unsigned short)ons;
    *hit = e;
    return 0;
slow:
    rc = id__parse(id, len, p);
    if (rc == 0)
        *hash = id__pair_hash(p->name, p->name_len, p->action, p->action_len);
    return rc;
}

static void *block_alloc(size_t sz, unsigned *size)
{
    if (BLOCK_CACHE > 0 && sz <= BLOCK_SIZE) {
        *size = BLOCK_SIZE;
        if (tcache && tcache->n)
            return tcache->v[--tcache->n];
        return malloc(BLOCK_SIZE);
    }
    *size = (unsigned)sz;
    return malloc(sz);
}

static void block_free(void *p, unsigned size)
{
#if BLOCK_CACHE > 0
    if (size == BLOCK_SIZE) {
        thread_cache *c = thread_cache_get();
        if (c && c->n < (unsigned)BLOCK_CACHE) {
            c->v[c->n++] = p;
            return;
        }
    }
#else
    (void)size;
#endif
    free(p);
}

bmq_message *message__new(const char *id, size_t id_len, json_object *args, json_object *kwargs,
                          const char *uid, const void *origin, const char *reply_to, int *err)
{
    id__parts p;
    unsigned hash = 0;
    const id_memo *memo;
    int rc = parse_memo(id, id_len, &p, &hash, &memo);
    if (rc == 0 && id__is_any(p.ns, p.ns_len))
        rc = -BMQ_EID; /* a namespace wildcard selects; it cannot be sent */
    if (rc == 0 && ((args && !json_object_is_type(args, json_type_array)) ||
                    (kwargs && !json_object_is_type(kwargs, json_type_object))))
        rc = -BMQ_ETYPE;
    if (rc == 0 && uid && (strlen(uid) == 0 || strlen(uid) > 128))
        rc = -BMQ_EINVAL;
    if (rc < 0) {
        json_object_put(args);
        json_object_put(kwargs);
        if (err)
            *err = rc;
        return NULL;
    }
    /* normalized id: name[@ns]:action  + name\0 action\0 ns\0 */
    size_t idlen = p.name_len + (p.ns_len ? p.ns_len + 1 : 0) + 1 + p.action_len;
    size_t sz = sizeof(bmq_message) + idlen + 1 + p.name_len + 1 + p.action_len + 1 + p.ns_len + 1;
    unsigned size;
    bmq_message *m = block_alloc(sz, &size);
    if (!m) {
        json_object_put(args);
        json_object_put(kwargs);
        if (err)
            *err = -BMQ_ENOMEM;
        return NULL;
    }
    if (memo) {
        memcpy(m->id, memo->sec, memo->sec_len);
        m->name = m->id + memo->sec_name;
        m->action = m->id + memo->sec_action;
        m->ns = m->id + memo->sec_ns;
    } else {
        size_t on, oa, ons;
        layout(m->id, &p, &on, &oa, &ons);
        m->name = m->id + on;
        m->action = m->id + oa;
        m->ns = m->id + ons;
    }
    m->name_len = (unsigned)p.name_len;
    m->action_len = (unsigned)p.action_len;
    m->ns_len = (unsigned)p.ns_len;
    m->pair_hash = hash;
    m->size = size;
    atomic_init(&m->refs, 1);
    m->rank = -kwargs_priority(kwargs);
    m->local = p.name[0] == '_';
    m->name_any = id__is_any(p.name, p.name_len);
    m->action_any = id__is_any(p.action, p.action_len);
    m->origin = origin;
    atomic_init(&m->args, args);
    atomic_init(&m->kwargs, kwargs);
    atomic_init(&m->uid, uid ? strdup(uid) : NULL);
    atomic_init(&m->json, NULL);
    atomic_init(&m->args_json, NULL);
    atomic_init(&m->kwargs_json, NULL);
    atomic_init(&m->wire, 0);
    m->reply_to = reply_to ? strdup(reply_to) : NULL;
    atomic_init(&m->seq, 0);
    if (err)
        *err = 0;
    return m;
}

bmq_message *bmq_message_new(const char *id, json_object *args, json_object *kwargs, int *err)
{
    return bmq_message_new_full(id, args, kwargs, NULL, NULL, err);
}

bmq_message *bmq_message_new_full(const char *id, json_object *args, json_object *kwargs,
                                  const char *uid, const void *origin, int *err)
{
    size_t len = id ? strnlen(id, BMQ_ID_MAX + 1) : 0;
    return message__new(id, len, args, kwargs, uid, origin, NULL, err);
}

bmq_message *bmq_message_ref(const bmq_message *m)
{
    bmq_message *mm = (bmq_message *)m; /* the count is not part of the value */
    if (mm)
        atomic_fetch_add_explicit(&mm->refs, 1, memory_order_relaxed);
    return mm;
}

void bmq_message_unref(bmq_message *m)
{
    if (!m)
        return;
    /* The only holder needs no atomic decrement: nobody else can take a
     * reference to a message without holding one. */
    if (atomic_load_explicit(&m->refs, memory_order_acquire) != 1 &&
        atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* Most messages never had their arguments or texts made: skip the
     * calls for what is not there. */
    json_object *args = atomic_load_explicit(&m->args, memory_order_relaxed);
    json_object *kwargs = atomic_load_explicit(&m->kwargs, memory_order_relaxed);
    char *uid = atomic_load_explicit(&m->uid, memory_order_relaxed);
    char *json = atomic_load_explicit(&m->json, memory_order_relaxed);
    char *aj = atomic_load_explicit(&m->args_json, memory_order_relaxed);
    char *kj = atomic_load_explicit(&m->kwargs_json, memory_order_relaxed);
    if (args || kwargs || uid || json || aj || kj || m->reply_to) {
        json_object_put(args);
        json_object_put(kwargs);
        free(uid);
        free(json);
        if (aj != empty_array)
            free(aj);
        if (kj != empty_object)
            free(kj);
        free(m->reply_to);
    }
    block_free(m, m->size);
}

const char *bmq_message_id(const bmq_message *m)
{
    return m ? m->id : NULL;
}

const char *bmq_message_name(const bmq_message *m)
{
    return m ? m->name : NULL;
}

const char *bmq_message_action(const bmq_message *m)
{
    return m ? m->action : NULL;
}

const char *bmq_message_namespace(const bmq_message *m)
{
    return m ? m->ns : NULL;
}

bool bmq_message_is_local(const bmq_message *m)
{
    return m && m->local;
}

const void *bmq_message_origin(const bmq_message *m)
{
    return m ? m->origin : NULL;
}

uint64_t bmq_message_seq(const bmq_message *m)
{
    return m ? atomic_load_explicit(&m->seq, memory_order_relaxed) : 0;
}

bool bmq_message_set_seq(const bmq_message *m, uint64_t seq)
{
    if (!m || !seq)
        return false;
    /* The field is the store's annotation, not part of the message's
     * content: set through a const pointer, once. */
    uint64_t zero = 0;
    return atomic_compare_exchange_strong(&((bmq_message *)m)->seq, &zero, seq);
}

/* Publish a lazily made object; the loser of a race frees its own copy. */
static json_object *lazy_json(_Atomic(json_object *) *slot, json_object *(*make)(void))
{
    json_object *cur = atomic_load_explicit(slot, memory_order_acquire);
    if (cur)
        return cur;
    json_object *fresh = make();
    if (!fresh)
        return NULL;
    if (atomic_compare_exchange_strong_explicit(slot, &cur, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    json_object_put(fresh);
    return cur;
}

json_object *bmq_message_args(const bmq_message *m)
{
    if (!m)
        return NULL;
    return lazy_json(&((bmq_message *)m)->args, json_object_new_array);
}

json_object *bmq_message_kwargs(const bmq_message *m)
{
    if (!m)
        return NULL;
    return lazy_json(&((bmq_message *)m)->kwargs, json_object_new_object);
}

static char *lazy_str(_Atomic(char *) *slot, char *fresh)
{
    char *cur = NULL;
    if (atomic_compare_exchange_strong_explicit(slot, &cur, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    free(fresh);
    return cur;
}

/* 128 random bits per uid from a per-thread xorshift128+ generator seeded by
 * the kernel: unique in practice and free of a global lock on the path of
 * bridges, which ask every message for it. */
static BMQ_TLS uint64_t uid_state[2];

/* A forked child must not repeat its parent's sequence. */
static void uid_forget(void)
{
    uid_state[0] = uid_state[1] = 0;
}

static pthread_once_t uid_once = PTHREAD_ONCE_INIT;

static void uid_register(void)
{
    pthread_atfork(NULL, NULL, uid_forget);
}

static uint64_t uid_next(void)
{
    if (!uid_state[0] && !uid_state[1]) {
        pthread_once(&uid_once, uid_register);
        if (getrandom(uid_state, sizeof(uid_state), 0) != (ssize_t)sizeof(uid_state))
            for (int i = 0; i < 2; i++)
                uid_state[i] = ((uint64_t)g_random_int() << 32) ^ g_random_int() ^
                               (uint64_t)g_get_monotonic_time() ^ (uint64_t)gettid();
        uid_state[1] |= 1; /* never the all-zero state */
    }
    uint64_t s1 = uid_state[0];
    const uint64_t s0 = uid_state[1];
    uid_state[0] = s0;
    s1 ^= s1 << 23;
    uid_state[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return uid_state[1] + s0;
}

const char *bmq_message_uid(const bmq_message *m)
{
    if (!m)
        return NULL;
    char *cur = atomic_load_explicit(&((bmq_message *)m)->uid, memory_order_acquire);
    if (cur)
        return cur;
    char *s = malloc(33);
    if (!s)
        return NULL;
    /* two 16-digit lowercase hex words, first drawn first */
    static const char hex[] = "0123456789abcdef";
    for (int w = 0; w < 2; w++) {
        uint64_t v = uid_next();
        for (int i = 15; i >= 0; i--, v >>= 4)
            s[w * 16 + i] = hex[v & 15];
    }
    s[32] = '\0';
    return lazy_str(&((bmq_message *)m)->uid, s);
}

/* json-c writes its serialization buffer into the object, so two threads
 * serializing one object race. The args/kwargs of a message are serialized
 * here only, under a lock picked by message address. */
static pthread_mutex_t json_locks[16] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER};

/* ---- plain serialization ----
 * args and kwargs are mostly small trees of strings, integers, booleans,
 * arrays and objects. They are written here exactly as json-c writes them
 * (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE): json-c keeps a
 * print buffer in every object it serializes, two allocations per message.
 * Anything else - doubles, strings needing escapes or beyond ASCII, values
 * with user data (json-c's hook for custom output), deep or long values -
 * makes the whole value go through json-c. */
typedef struct {
    char *p, *end;
} plain_buf;

static bool plain_put(plain_buf *b, const char *s, size_t n)
{
    if ((size_t)(b->end - b->p) < n)
        return false;
    memcpy(b->p, s, n);
    b->p += n;
    return true;
}

static bool plain_str(plain_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            return false;
    }
    return plain_put(b, "\"", 1) && plain_put(b, s, n) && plain_put(b, "\"", 1);
}

static bool plain_int(plain_buf *b, json_object *o)
{
    int64_t v = json_object_get_int64(o);
    if (v == INT64_MAX) /* maybe a larger unsigned value */
        return false;
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do
        tmp[sizeof tmp - ++n] = (char)('0' + u % 10);
    while ((u /= 10));
    if (v < 0)
        tmp[sizeof tmp - ++n] = '-';
    return plain_put(b, tmp + sizeof tmp - n, n);
}

static bool plain_value(plain_buf *b, json_object *o, int depth)
{
    if (!o)
        return plain_put(b, "null", 4);
    if (depth > 16 || json_object_get_userdata(o))
        return false;
    switch (json_object_get_type(o)) {
    case json_type_boolean:
        return json_object_get_boolean(o) ? plain_put(b, "true", 4) : plain_put(b, "false", 5);
    case json_type_int:
        return plain_int(b, o);
    case json_type_string:
        return plain_str(b, json_object_get_string(o), (size_t)json_object_get_string_len(o));
    case json_type_array: {
        size_t n = json_object_array_length(o);
        if (!plain_put(b, "[", 1))
            return false;
        for (size_t i = 0; i < n; i++)
            if ((i && !plain_put(b, ",", 1)) ||
                !plain_value(b, json_object_array_get_idx(o, i), depth + 1))
                return false;
        return plain_put(b, "]", 1);
    }
    case json_type_object: {
        bool first = true;
        if (!plain_put(b, "{", 1))
            return false;
        json_object_object_foreach(o, key, val) {
            if ((!first && !plain_put(b, ",", 1)) || !plain_str(b, key, strlen(key)) ||
                !plain_put(b, ":", 1) || !plain_value(b, val, depth + 1))
                return false;
            first = false;
        }
        return plain_put(b, "}", 1);
    }
    default:
        return false;
    }
}

/* Serialize one of args/kwargs once; the caller holds the message's lock. */
static char *serialize_part(_Atomic(json_object *) *obj, _Atomic(char *) *slot, char *empty)
{
    char *cur = atomic_load_explicit(slot, memory_order_acquire);
    if (cur)
        return cur;
    json_object *o = atomic_load_explicit(obj, memory_order_acquire);
    if (!o) {
        cur = empty;
    } else {
        char tmp[512];
        plain_buf b = {tmp, tmp + sizeof tmp - 1};
        const char *t = tmp;
        size_t n;
        if (plain_value(&b, o, 0)) {
            n = (size_t)(b.p - tmp);
            tmp[n] = '\0';
        } else {
            const int fl = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
            t = json_object_to_json_string_length(o, fl, &n);
        }
        if (!t || !(cur = malloc(n + 1)))
            return NULL;
        memcpy(cur, t, n + 1);
    }
    atomic_store_explicit(slot, cur, memory_order_release);
    return cur;
}

static pthread_mutex_t *lock_of(const bmq_message *m)
{
    return &json_locks[((uintptr_t)m >> 6) & 15];
}

const char *bmq_message_args_json(const bmq_message *m)
{
    if (!m)
        return NULL;
    bmq_message *mm = (bmq_message *)m;
    char *cur = atomic_load_explicit(&mm->args_json, memory_order_acquire);
    if (cur)
        return cur;
    pthread_mutex_lock(lock_of(m));
    cur = serialize_part(&mm->args, &mm->args_json, empty_array);
    pthread_mutex_unlock(lock_of(m));
    return cur;
}

const char *bmq_message_kwargs_json(const bmq_message *m)
{
    if (!m)
        return NULL;
    bmq_message *mm = (bmq_message *)m;
    char *cur = atomic_load_explicit(&mm->kwargs_json, memory_order_acquire);
    if (cur)
        return cur;
    pthread_mutex_lock(lock_of(m));
    cur = serialize_part(&mm->kwargs, &mm->kwargs_json, empty_object);
    pthread_mutex_unlock(lock_of(m));
    return cur;
}

static char *put(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}

/* {"id":I,"args":A,"kwargs":K} in one allocation. An id of plain printable
 * ASCII is quoted as is (json-c would not escape any of it); anything else
 * goes through json-c for its escapes. */
static char *assemble(const char *id, const char *as, const char *ks)
{
    size_t il = 0;
    bool plain = true;
    for (; id[il]; il++) {
        unsigned char c = (unsigned char)id[il];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            plain = false;
    }
    json_object *ido = NULL;
    const char *ids = id;
    if (!plain) {
        ido = json_object_new_string(id);
        ids = json_object_to_json_string_ext(ido, JSON_C_TO_STRING_PLAIN |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
        il = strlen(ids);
    }
    size_t al = strlen(as), kl = strlen(ks);
    char *s = malloc(il + al + kl + 32);
    if (s) {
        char *w = put(s, "{\"id\":", 6);
        if (plain)
            *w++ = '"';
        w = put(w, ids, il);
        if (plain)
            *w++ = '"';
        w = put(w, ",\"args\":", 8);
        w = put(w, as, al);
        w = put(w, ",\"kwargs\":", 10);
        w = put(w, ks, kl);
        *w++ = '}';
        *w = '\0';
    }
    json_object_put(ido);
    return s;
}

const char *bmq_message_to_json(const bmq_message *m)
{
    if (!m)
        return NULL;
    bmq_message *mm = (bmq_message *)m;
    char *cur = atomic_load_explicit(&mm->json, memory_order_acquire);
    if (cur)
        return cur;
    pthread_mutex_lock(lock_of(m));
    cur = atomic_load_explicit(&mm->json, memory_order_acquire);
    const char *as = serialize_part(&mm->args, &mm->args_json, empty_array);
    const char *ks = serialize_part(&mm->kwargs, &mm->kwargs_json, empty_object);
    if (!cur && as && ks) {
        cur = assemble(m->id, as, ks);
        if (cur)
            atomic_store_explicit(&mm->json, cur, memory_order_release);
    }
    pthread_mutex_unlock(lock_of(m));
    return cur;
}

size_t bmq_message_size(const bmq_message *m)
{
    if (!m)
        return 0;
    bmq_message *mm = (bmq_message *)m;
    size_t n = atomic_load_explicit(&mm->wire, memory_order_relaxed);
    if (n)
        return n;
    const char *as = bmq_message_args_json(m);
    const char *ks = bmq_message_kwargs_json(m);
    n = strlen(m->id) + (as ? strlen(as) : 2) + (ks ? strlen(ks) : 2);
    atomic_store_explicit(&mm->wire, n, memory_order_relaxed);
    return n;
}
