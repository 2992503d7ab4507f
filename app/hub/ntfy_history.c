/* ntfy_history.c - since= and poll=1 served from the hub's history, so a
 * poll after a restart finds what was published before it, as far back as
 * the history keeps messages.
 *
 * The history is read newest first, down to what since= names (a seq from
 * one of our ids, a time) or until cache_messages matches are found, and
 * the matches are then written oldest first. A message counts for TOPIC
 * when its name is TOPIC exactly (any action), as on live streams; those
 * published with "Cache: no" (origin NTFY_ORIGIN_NOCACHE) are skipped.
 */
#include <string.h>

#include "hub.h"
#include "ntfy.h"

typedef struct replay {
    ntfy *n;
    char **topics;
    const ntfy_filter *filter;
    ntfy_fmt fmt;
    int64_t since_us; /* 0: any time */
    size_t max;
    GPtrArray *found; /* rendered events (char *), newest first */
} replay;

static bool named_topic(char **topics, const char *id)
{
    const char *colon = strchr(id, ':');
    size_t len = colon ? (size_t)(colon - id) : strlen(id);
    for (char **t = topics; *t; t++)
        if (strlen(*t) == len && !memcmp(*t, id, len))
            return true;
    return false;
}

static bool visit(const history_row *row, void *user_data)
{
    replay *r = user_data;
    if (r->since_us && row->time_us < r->since_us)
        return false; /* time grows with seq: nothing older is wanted */
    if (!named_topic(r->topics, row->id) ||
        (row->origin && !strcmp(row->origin, NTFY_ORIGIN_NOCACHE)))
        return true;
    bmq_message *m = history_row_message(row);
    if (!m)
        return true;
    gint64 time = row->time_us / G_USEC_PER_SEC;
    ntfy_view v;
    ntfy__view_init(&v, m, time);
    if (ntfy__filter_match(r->filter, &v)) {
        GString *one = g_string_new(NULL);
        ntfy__render_message(one, r->fmt, &v, ntfy__expires(r->n, time));
        g_ptr_array_add(r->found, g_string_free(one, FALSE));
    }
    ntfy__view_clear(&v);
    bmq_message_unref(m);
    return r->found->len < r->max;
}

int ntfy__history_render(ntfy *n, char **topics, const ntfy_since *since, const ntfy_filter *filter,
                         ntfy_fmt fmt, uint64_t upto, GString *out)
{
    replay r = {.n = n,
                .topics = topics,
                .filter = filter,
                .fmt = fmt,
                .max = n->cfg.cache_messages,
                .found = g_ptr_array_new_with_free_func(g_free)};
    uint64_t after = 0;
    switch (since->kind) {
    case NTFY_SINCE_NONE:
        r.max = 0;
        break;
    case NTFY_SINCE_ALL:
        break;
    case NTFY_SINCE_LATEST:
        r.max = MIN(r.max, 1);
        break;
    case NTFY_SINCE_ID:
        /* An id that names no seq (a uid, another server's id): from the
         * start of what is kept, as for an id the cache no longer has. */
        after = since->seq;
        break;
    case NTFY_SINCE_TIME:
        r.since_us = since->time > 0 ? since->time * G_USEC_PER_SEC : 0;
        break;
    }
    int rc = 0;
    if (r.max) {
        rc = history_scan_back(n->hist, after, upto, visit, &r);
        if (rc) {
            hub_log(BMQ_LOG_WARNING, "ntfy: cannot read the history for since=: %s",
                    bmq_strerror(rc));
            rc = -1;
        }
    }
    for (guint i = r.found->len; i-- > 0;)
        g_string_append(out, r.found->pdata[i]);
    g_ptr_array_free(r.found, TRUE);
    return rc;
}
