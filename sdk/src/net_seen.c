/* net_seen.c - the uids a bus remembers for loop suppression: the last
 * NET_SEEN_CAP of them, oldest forgotten first. Our own uids (32 lowercase
 * hex digits) are kept as two 64-bit words, any other uid as its text; an
 * open-addressing table with linear probing indexes the FIFO ring, so a
 * check costs no allocation for our uids and no string hashing. */
#include "net_internal.h"

#include <string.h>

#define SEEN_SLOTS (NET_SEEN_CAP * 4) /* a power of two: load stays <= 1/4 */

typedef struct {
    uint64_t hi, lo; /* a hex uid's value; for a text uid hi is its hash */
    char *str;       /* (nullable) a uid of another form */
} seen_entry;

struct net_seen {
    seen_entry ring[NET_SEEN_CAP];
    uint32_t slots[SEEN_SLOTS]; /* 0: empty, else ring index + 1 */
    size_t head, count;         /* the oldest entry, and how many there are */
    uint64_t seed;
};

static bool parse_hex(const char *s, uint64_t *hi, uint64_t *lo)
{
    uint64_t w[2] = {0, 0};
    for (int i = 0; i < 32; i++) {
        unsigned c = (unsigned char)s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return false;
        w[i / 16] = w[i / 16] << 4 | d;
    }
    if (s[32])
        return false;
    *hi = w[0];
    *lo = w[1];
    return true;
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

static size_t home(const net_seen *t, const seen_entry *e)
{
    uint64_t h = e->str ? mix(e->hi ^ t->seed) : mix(e->hi ^ mix(e->lo ^ t->seed));
    return (size_t)(h & (SEEN_SLOTS - 1));
}

static bool same(const seen_entry *a, const seen_entry *b)
{
    if (a->str || b->str)
        return a->str && b->str && a->hi == b->hi && !strcmp(a->str, b->str);
    return a->hi == b->hi && a->lo == b->lo;
}

/* The slot holding @key, or the empty slot where it would go. */
static size_t find(const net_seen *t, const seen_entry *key, bool *found)
{
    size_t i = home(t, key);
    while (t->slots[i]) {
        if (same(&t->ring[t->slots[i] - 1], key)) {
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
        size_t k = home(t, &t->ring[t->slots[j] - 1]);
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
    if (!parse_hex(uid, &key.hi, &key.lo)) {
        key.str = (char *)uid;
        key.hi = text_hash(uid);
    }
    g_mutex_lock(&nb->seen_lock);
    net_seen *t = nb->seen;
    bool found;
    find(t, &key, &found);
    if (found) {
        g_mutex_unlock(&nb->seen_lock);
        return true;
    }
    size_t at;
    if (t->count == NET_SEEN_CAP) { /* forget the oldest; its ring place is reused */
        seen_entry *old = &t->ring[t->head];
        bool f;
        unslot(t, find(t, old, &f));
        g_free(old->str);
        at = t->head;
        t->head = (t->head + 1) % NET_SEEN_CAP;
    } else {
        at = (t->head + t->count++) % NET_SEEN_CAP;
    }
    t->ring[at] = key;
    if (key.str)
        t->ring[at].str = g_strdup(uid);
    t->slots[find(t, &key, &found)] = (uint32_t)at + 1;
    g_mutex_unlock(&nb->seen_lock);
    return false;
}
