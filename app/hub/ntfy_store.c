/* ntfy_store.c - the one follower that feeds the live streams, since=
 * parsing and filters, and the in-memory cache that since= and poll=1 are
 * served from when the hub has no history ("history": false): a bounded
 * ring of message references, oldest dropped first. With a history they
 * are served from it instead (ntfy_history.c) and the ring stays empty.
 *
 * Every message on the bus whose name is a valid topic counts, so a
 * subscriber of TOPIC sees `berrymq twitter TOPIC:...` as well as ntfy
 * publishes; messages published with "Cache: no" are delivered to streams
 * but not kept.
 */
#include <string.h>

#include "hub.h"
#include "ntfy.h"

extern const char ntfy__origin_nocache;

gint64 ntfy__expires(ntfy *n, gint64 time)
{
    (void)n;
    (void)time;
    return 0; /* the ring drops by count, not by age: no expiry to promise */
}

void ntfy__since_clear(ntfy_since *s)
{
    g_free(s->id);
    memset(s, 0, sizeof *s);
}

/* "90s", "10m", "1h30m", "2d" -> seconds; -1 when it is not a duration. */
static gint64 duration(const char *s)
{
    gint64 total = 0;
    const char *p = s;
    if (!*p)
        return -1;
    while (*p) {
        if (!g_ascii_isdigit(*p))
            return -1;
        gint64 v = 0;
        while (g_ascii_isdigit(*p) && v < 100000000)
            v = v * 10 + (*p++ - '0');
        switch (*p++) {
        case 's':
            total += v;
            break;
        case 'm':
            total += v * 60;
            break;
        case 'h':
            total += v * 3600;
            break;
        case 'd':
            total += v * 86400;
            break;
        default:
            return -1;
        }
    }
    return total;
}

int ntfy__since_parse(const char *s, gint64 now, ntfy_since *out)
{
    memset(out, 0, sizeof *out);
    if (!s || !*s || !strcmp(s, "none"))
        return 0;
    if (!strcmp(s, "all")) {
        out->kind = NTFY_SINCE_ALL;
        return 0;
    }
    if (!strcmp(s, "latest")) {
        out->kind = NTFY_SINCE_LATEST;
        return 0;
    }
    gint64 d = duration(s);
    if (d >= 0) {
        out->kind = NTFY_SINCE_TIME;
        out->time = now - d;
        return 0;
    }
    /* Our ids that name a history seq: "s" and digits. */
    if (s[0] == 's' && s[1]) {
        const char *p = s + 1;
        while (g_ascii_isdigit(*p))
            p++;
        if (!*p && p - s <= 21) {
            out->kind = NTFY_SINCE_ID;
            out->id = g_strdup(s);
            out->seq = g_ascii_strtoull(s + 1, NULL, 10);
            return 0;
        }
    }
    bool digits = true, alnum = true, hex = true;
    for (const char *p = s; *p; p++) {
        digits = digits && g_ascii_isdigit(*p);
        alnum = alnum && g_ascii_isalnum(*p);
        hex = hex && g_ascii_isxdigit(*p);
    }
    if (digits && strlen(s) <= 12) {
        out->kind = NTFY_SINCE_TIME;
        out->time = g_ascii_strtoll(s, NULL, 10);
        return 0;
    }
    /* Message ids: ours are 32 hex digits, ntfy's 12 letters and digits. */
    if ((hex && strlen(s) == 32) || (alnum && strlen(s) == 12)) {
        out->kind = NTFY_SINCE_ID;
        out->id = g_strdup(s);
        return 0;
    }
    return -1;
}

void ntfy__filter_clear(ntfy_filter *f)
{
    g_free(f->message);
    g_free(f->title);
    g_strfreev(f->tags);
    memset(f, 0, sizeof *f);
}

bool ntfy__filter_match(const ntfy_filter *f, const ntfy_view *v)
{
    if (f->message && strcmp(f->message, v->message))
        return false;
    if (f->title && (!v->title || strcmp(f->title, v->title)))
        return false;
    if (f->priorities && !(f->priorities & (1u << v->priority)))
        return false;
    for (char **t = f->tags; t && *t; t++) {
        bool found = false;
        for (size_t i = 0; v->tags && !found && i < json_object_array_length(v->tags); i++) {
            const char *have = json_object_get_string(json_object_array_get_idx(v->tags, i));
            found = have && !strcmp(have, *t);
        }
        if (!found)
            return false;
    }
    return true;
}

static bool in_topics(char **topics, const char *name)
{
    for (char **t = topics; *t; t++)
        if (!strcmp(*t, name))
            return true;
    return false;
}

static ntfy_entry *at(ntfy *n, size_t i)
{
    return &n->ring[(n->head + i) % n->cfg.cache_messages];
}

void ntfy__store_render(ntfy *n, char **topics, const ntfy_since *since, const ntfy_filter *filter,
                        ntfy_fmt fmt, GString *out)
{
    if (since->kind == NTFY_SINCE_NONE || !n->count)
        return;
    size_t start = 0;
    if (since->kind == NTFY_SINCE_ID) {
        char buf[NTFY_ID_MAX];
        for (size_t i = n->count; i-- > 0;)
            if (!strcmp(ntfy__message_id(at(n, i)->msg, buf), since->id)) {
                start = i + 1;
                break;
            }
    }
    ntfy_entry *latest = NULL;
    for (size_t i = start; i < n->count; i++) {
        ntfy_entry *e = at(n, i);
        if (!in_topics(topics, bmq_message_name(e->msg)))
            continue;
        if (since->kind == NTFY_SINCE_TIME && e->time < since->time)
            continue;
        ntfy_view v;
        ntfy__view_init(&v, e->msg, e->time);
        if (ntfy__filter_match(filter, &v)) {
            if (since->kind == NTFY_SINCE_LATEST)
                latest = e;
            else
                ntfy__render_message(out, fmt, &v, ntfy__expires(n, e->time));
        }
        ntfy__view_clear(&v);
    }
    if (latest) {
        ntfy_view v;
        ntfy__view_init(&v, latest->msg, latest->time);
        ntfy__render_message(out, fmt, &v, ntfy__expires(n, latest->time));
        ntfy__view_clear(&v);
    }
}

static void on_message(const bmq_message *m, void *user_data)
{
    ntfy *n = user_data;
    const char *name = bmq_message_name(m);
    if (!ntfy__topic_valid(name, strlen(name)))
        return;
    ntfy_entry e = {.msg = (bmq_message *)m, .time = g_get_real_time() / G_USEC_PER_SEC};
    g_mutex_lock(&n->lock);
    if (!n->hist && n->cfg.cache_messages && bmq_message_origin(m) != &ntfy__origin_nocache) {
        if (n->count == n->cfg.cache_messages) {
            bmq_message_unref(n->ring[n->head].msg);
            n->head = (n->head + 1) % n->cfg.cache_messages;
            n->count--;
        }
        ntfy_entry *slot = at(n, n->count);
        slot->msg = bmq_message_ref(m);
        slot->time = e.time;
        n->count++;
    }
    GPtrArray *wake = NULL;
    if (g_hash_table_contains(n->by_topic, name)) {
        wake = g_ptr_array_new();
        ntfy__subs_deliver(n, &e, wake);
    }
    g_mutex_unlock(&n->lock);
    if (wake)
        ntfy__subs_wake(wake);
}

ntfy *ntfy_new(bmq_bus *bus, const ntfy_cfg *cfg, history *hist)
{
    ntfy *n = g_new0(ntfy, 1);
    n->bus = bus;
    n->hist = hist;
    n->cfg = *cfg;
    g_mutex_init(&n->lock);
    g_cond_init(&n->timer_cond);
    n->ring = g_new0(ntfy_entry, cfg->cache_messages && !hist ? cfg->cache_messages : 1);
    n->by_topic =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    n->subs = g_ptr_array_new();
    n->follower = bmq_follow(bus, "*", on_message, NULL, n);
    ntfy__keepalive_start(n);
    ntfy__answers_start(n);
    return n;
}

json_object *ntfy_status(ntfy *n)
{
    json_object *o = json_object_new_object();
    g_mutex_lock(&n->lock);
    json_object_object_add(o, "subscribers", json_object_new_int64((int64_t)n->subs->len));
    json_object_object_add(o, "published", json_object_new_int64((int64_t)n->published));
    json_object_object_add(o, "delivered", json_object_new_int64((int64_t)n->delivered));
    json_object_object_add(o, "dropped_subscribers",
                           json_object_new_int64((int64_t)n->dropped_subs));
    g_mutex_unlock(&n->lock);
    json_object_object_add(o, "cache", json_object_new_string(n->hist ? "history" : "memory"));
    return o;
}

void ntfy_shutdown(ntfy *n)
{
    if (!n)
        return;
    g_mutex_lock(&n->lock);
    n->stopping = true;
    g_mutex_unlock(&n->lock);
    ntfy__answers_stop(n);
    ntfy__subs_shutdown(n);
}

void ntfy_free(ntfy *n)
{
    if (!n)
        return;
    ntfy_shutdown(n);
    bmq_unfollow(n->follower);
    ntfy__keepalive_stop(n);
    for (size_t i = 0; i < n->count; i++)
        bmq_message_unref(at(n, i)->msg);
    g_free(n->ring);
    g_hash_table_destroy(n->by_topic);
    g_ptr_array_free(n->subs, TRUE);
    g_cond_clear(&n->timer_cond);
    g_mutex_clear(&n->lock);
    g_free(n);
}
