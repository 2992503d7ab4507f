/* net_seen.c - the uids a bus remembers for loop suppression: the last
 * NET_SEEN_CAP of them, oldest forgotten first. Our own uids (32 lowercase
 * hex digits) are kept as two 64-bit words, any other uid as its text; an
 * open-addressing table with linear probing indexes the FIFO ring, so a
 * check costs no allocation for our uids and no string hashing. */
#include "net_internal.h"

#include <string.h>

#define SEEN_SLOTS (NET_SEEN_CAP * 2) /* a power of two: load stays <= 1/2 */

typedef struct {
    uint64_t hi, lo; /* a hex uid's value; for a text uid hi is its hash */
    char *str;       /* (nullable) a uid of another form */
} seen_entry;

struct net_seen {
    seen_entry ring[NET_SEEN_CAP];
    /* 0: empty, else ring index + 1 in the low half and the entry's hash
     * in the high half: probing and moving entries never touch the ring */
    uint64_t slots[SEEN_SLOTS];
    size_t head, count;         /* the oldest entry, and how many there are */
    uint64_t seed;
};

/* hex digit values, 16 for anything else (a table: no branch per digit) */
static const unsigned char hexval[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* 32 lowercase hex digits, exactly @len bytes. */
static bool parse_hex(const char *s, size_t len, uint64_t *hi, uint64_t *lo)
{
    if (len != 32)
        return false;
    uint64_t w[2] = {0, 0};
    unsigned bad = 0;
    for (int i = 0; i < 32; i++) {
        unsigned v = hexval[(unsigned char)s[i]];
        bad |= v == 0;
        w[i / 16] = w[i / 16] << 4 | ((v - 1) & 15);
    }
    *hi = w[0];
    *lo = w[1];
    return !bad;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static uint64_t text_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static uint32_t hash_of(const net_seen *t, const seen_entry *e)
{
    uint64_t h = e->str ? mix(e->hi ^ t->seed) : mix(e->hi ^ mix(e->lo ^ t->seed));
    return (uint32_t)h;
}

static size_t home_of(uint64_t slot)
{
    return (size_t)(slot >> 32) & (SEEN_SLOTS - 1);
}

static bool same(const seen_entry *a, const seen_entry *b)
{
    if (a->str || b->str)
        return a->str && b->str && a->hi == b->hi && !strcmp(a->str, b->str);
    return a->hi == b->hi && a->lo == b->lo;
}

/* The slot holding @key (of hash @h), or the empty slot where it would go. */
static size_t find(const net_seen *t, const seen_entry *key, uint32_t h, bool *found)
{
    size_t i = h & (SEEN_SLOTS - 1);
    while (t->slots[i]) {
        if ((uint32_t)(t->slots[i] >> 32) == h &&
            same(&t->ring[(uint32_t)t->slots[i] - 1], key)) {
            *found = true;
            return i;
        }
        i = (i + 1) & (SEEN_SLOTS - 1);
    }
    *found = false;
    return i;
}

/* Empty slot @i and move later entries of its run back (no tombstones). */
static void unslot(net_seen *t, size_t i)
{
    size_t j = i;
    for (;;) {
        j = (j + 1) & (SEEN_SLOTS - 1);
        if (!t->slots[j])
            break;
        size_t k = home_of(t->slots[j]);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i] = 0;
}

net_seen *net__seen_new(void)
{
    net_seen *t = g_new0(net_seen, 1);
    t->seed = ((uint64_t)g_random_int() << 32) ^ g_random_int();
    return t;
}

void net__seen_free(net_seen *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->count; i++)
        g_free(t->ring[(t->head + i) % NET_SEEN_CAP].str);
    g_free(t);
}

bool net__seen_check_add(net_bus *nb, const char *uid)
{
    seen_entry key = {0, 0, NULL};
    if (!parse_hex(uid, strnlen(uid, 33), &key.hi, &key.lo)) {
        key.str = (char *)uid;
        key.hi = text_hash(uid);
    }
    g_mutex_lock(&nb->seen_lock);
    net_seen *t = nb->seen;
    uint32_t h = hash_of(t, &key);
    bool found;
    size_t slot = find(t, &key, h, &found);
    if (found) {
        g_mutex_unlock(&nb->seen_lock);
        return true;
    }
    size_t at;
    bool evicted = t->count == NET_SEEN_CAP;
    if (evicted) { /* forget the oldest; its ring place is reused */
        seen_entry *old = &t->ring[t->head];
        bool f;
        unslot(t, find(t, old, hash_of(t, old), &f));
        g_free(old->str);
        at = t->head;
        t->head = (t->head + 1) % NET_SEEN_CAP;
    } else {
        at = (t->head + t->count++) % NET_SEEN_CAP;
    }
    t->ring[at] = key;
    if (key.str)
        t->ring[at].str = g_strdup(uid);
    if (evicted) /* a hole may have opened before the slot found */
        slot = find(t, &key, h, &found);
    t->slots[slot] = (uint64_t)h << 32 | (uint64_t)(at + 1);
    g_mutex_unlock(&nb->seen_lock);
    return false;
}

void net__seen_prefetch(net_bus *nb, const char *uid, size_t len, size_t ahead)
{
    seen_entry key = {0, 0, NULL};
    net_seen *t = nb->seen;
    g_mutex_lock(&nb->seen_lock);
    if (parse_hex(uid, len, &key.hi, &key.lo))
        __builtin_prefetch(&t->slots[hash_of(t, &key) & (SEEN_SLOTS - 1)]);
    if (t->count == NET_SEEN_CAP && ahead < NET_SEEN_CAP) {
        const seen_entry *old = &t->ring[(t->head + ahead) % NET_SEEN_CAP];
        __builtin_prefetch(&t->slots[hash_of(t, old) & (SEEN_SLOTS - 1)]);
    }
    g_mutex_unlock(&nb->seen_lock);
}
