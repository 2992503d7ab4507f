/* glue.c - the history in the hub: a bus tap records every non-local
 * message before it is delivered; the RPC server's reply hook holds each
 * answer until the messages its request sent are settled (committed, per
 * the sync setting); hub.history reads it back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../hub.h"
#include "history.h"

#define DEFAULT_LIMIT 100
#define MAX_WAIT_S    60.0

/* The seq of the last message this thread appended and has not yet
 * waited for: the reply hook runs on the thread that handled the request. */
static _Thread_local uint64_t tls_seq;

static void tap(const bmq_message *m, void *user_data)
{
    hub *h = user_data;
    if (bmq_message_is_local(m))
        return;
    uint64_t seq = history_append(h->history, m, bmq_sender_label());
    if (seq) {
        tls_seq = seq;
        bmq_message_set_seq(m, seq); /* followers and cursors see it */
    }
}

/* Server thread, right after a request: 0 when its messages are settled
 * already (or it sent none), else the seq to wait for. */
static uint64_t reply_check(void *user_data)
{
    hub *h = user_data;
    uint64_t seq = tls_seq;
    tls_seq = 0;
    return seq && !history_settled(h->history, seq) ? seq : 0;
}

static void reply_wait(void *user_data, uint64_t seq)
{
    hub *h = user_data;
    history_wait(h->history, seq);
}

char *hub_history_path(void)
{
    return g_build_filename(g_get_user_state_dir(), "berrymq", "history.db", NULL);
}

void hub_history_start(hub *h)
{
    if (!h->config->history.enabled) {
        hub_log(BMQ_LOG_INFO, "history: off");
        return;
    }
    char *path = hub_history_path();
    h->history = history_open(path, &h->config->history);
    g_free(path);
    bmq_bus_set_tap(h->bus, tap, h);
}

void hub_history_attach_server(hub *h)
{
    if (h->history)
        bmq_server_set_reply_hook(h->server, reply_check, reply_wait, h);
}

/* The provider behind host->history_cursor. */
static void *prov_open(void *data, const char *key, const char *pattern, char **error)
{
    hub *h = data;
    if (!h->history) {
        *error = g_strdup("no history: \"history\" is false in hub.json");
        return NULL;
    }
    return history_cursor_open(h->history, key, pattern, error);
}

static int prov_next(void *data, void *c, bmq_message **out, unsigned max)
{
    (void)data;
    return history_cursor_next(c, out, max);
}

static bool prov_live(void *data, void *c, const bmq_message *m)
{
    (void)data;
    return history_cursor_live(c, m);
}

static int prov_ack(void *data, void *c, uint64_t seq)
{
    (void)data;
    return history_cursor_ack(c, seq);
}

static void prov_close(void *data, void *c)
{
    (void)data;
    history_cursor_close(c);
}

static int prov_recent(void *data, const char *pattern, uint64_t before, bmq_message **out,
                       int64_t *time_us, unsigned max)
{
    hub *h = data;
    return h->history ? history_recent(h->history, pattern, before, out, time_us, max)
                      : -BMQ_ENOENT;
}

/* host->when_stored: this thread's last appended seq, left for the reply
 * hook too (a follower on a server thread may ask). */
static uint64_t prov_pending(void *data)
{
    hub *h = data;
    uint64_t seq = tls_seq;
    return seq && h->history && !history_settled(h->history, seq) ? seq : 0;
}

static void prov_wait(void *data, uint64_t seq)
{
    hub *h = data;
    if (h->history)
        history_wait(h->history, seq);
}

static const bmq_history_provider provider = {
    .size = sizeof(bmq_history_provider),
    .open = prov_open,
    .next = prov_next,
    .live = prov_live,
    .ack = prov_ack,
    .close = prov_close,
    .recent = prov_recent,
    .pending = prov_pending,
    .wait = prov_wait,
};

void hub_history_attach_host(hub *h)
{
    if (h->history)
        bmq_plugin_host_set_history(h->host, &provider, h);
}

void hub_history_end_waits(hub *h)
{
    history_end_waits(h->history);
}

void hub_history_stop(hub *h)
{
    if (!h->history)
        return;
    bmq_bus_set_tap(h->bus, NULL, NULL);
    history_close(h->history);
    h->history = NULL;
}

void hub_history_reconfigure(hub *h, const history_opts *o)
{
    if (!h->history != !o->enabled)
        hub_log(BMQ_LOG_NOTICE, "history: turning it %s takes effect at the next start",
                o->enabled ? "on" : "off");
    else if (h->history)
        history_set_opts(h->history, o);
}

json_object *hub_history_status(hub *h)
{
    if (!h->history) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "state", json_object_new_string("off"));
        return o;
    }
    json_object *o = history_status(h->history);
    json_object_object_add(o, "cursors", history_cursors_status(h->history));
    return o;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* A point in the history: a seq (integer or digits), a duration back from
 * now ("10m", "2h", "7d") or an ISO 8601 time (local time when it has no
 * zone). */
static bool parse_point(json_object *v, uint64_t *seq, int64_t *us)
{
    *seq = 0;
    *us = 0;
    if (json_object_is_type(v, json_type_int)) {
        int64_t n = json_object_get_int64(v);
        *seq = n > 0 ? (uint64_t)n : 0;
        return n >= 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    if (all_digits(s)) {
        *seq = g_ascii_strtoull(s, NULL, 10);
        return true;
    }
    int64_t d = history_parse_duration(s);
    if (d >= 0 && s[0] >= '0' && s[0] <= '9') {
        *us = g_get_real_time() - d * G_USEC_PER_SEC;
        return true;
    }
    GTimeZone *local = g_time_zone_new_local();
    GDateTime *t = g_date_time_new_from_iso8601(s, local);
    if (!t) { /* a date alone: its midnight */
        char *full = g_strconcat(s, "T00:00:00", NULL);
        t = g_date_time_new_from_iso8601(full, local);
        g_free(full);
    }
    if (!t && strlen(s) >= 16 && s[13] == ':' && (s[16] == '\0' || strchr("Z+-", s[16]))) {
        /* hours and minutes without seconds ("2026-12-05T08:00"): GLib's
         * parser wants the seconds */
        char *full = g_strdup_printf("%.16s:00%s", s, s + 16);
        t = g_date_time_new_from_iso8601(full, local);
        g_free(full);
    }
    g_time_zone_unref(local);
    if (!t)
        return false;
    *us = g_date_time_to_unix(t) * G_USEC_PER_SEC + g_date_time_get_microsecond(t);
    g_date_time_unref(t);
    return true;
}

static json_object *param(json_object *params, size_t i)
{
    if (!json_object_is_type(params, json_type_array) || i >= json_object_array_length(params))
        return NULL;
    return json_object_array_get_idx(params, i);
}

/* hub.history [pattern, since, limit, {"until": POINT, "wait": S}]; runs on
 * the server thread (the store is thread-safe) so a long poll never holds
 * the main loop. */
static json_object *m_history(json_object *params, void *user_data, json_object **error)
{
    hub *h = user_data;
    if (!h->history) {
        *error = bmq_rpc_error(BMQ_EDENIED, "the history is off (\"history\": false in hub.json)");
        return NULL;
    }
    json_object *pat = param(params, 0), *since = param(params, 1), *limit = param(params, 2),
                *opts = param(params, 3);
    history_query q = {.limit = DEFAULT_LIMIT};
    if (pat && (!json_object_is_type(pat, json_type_string) ||
                bmq_id_validate(json_object_get_string(pat)) != 0)) {
        *error =
            bmq_rpc_error(BMQ_RPC_EPARAMS, "hub.history: pattern must be an identifier pattern "
                                           "like \"build:*\"");
        return NULL;
    }
    q.pattern = pat ? json_object_get_string(pat) : NULL;
    if (since) {
        if (!parse_point(since, &q.since_seq, &q.since_us)) {
            *error = bmq_rpc_error(BMQ_RPC_EPARAMS,
                                   "hub.history: since must be a seq, a duration like \"10m\" or "
                                   "an ISO 8601 time");
            return NULL;
        }
        q.has_since = true;
    }
    if (limit) {
        int64_t n = json_object_is_type(limit, json_type_int) ? json_object_get_int64(limit) : 0;
        if (n < 1 || n > HISTORY_QUERY_MAX) {
            *error = bmq_rpc_error(BMQ_RPC_EPARAMS, "hub.history: limit must be 1..%d",
                                   HISTORY_QUERY_MAX);
            return NULL;
        }
        q.limit = (unsigned)n;
    }
    if (opts && !json_object_is_type(opts, json_type_object)) {
        *error = bmq_rpc_error(BMQ_RPC_EPARAMS,
                               "hub.history: the 4th parameter is {\"until\", \"wait\"}");
        return NULL;
    }
    json_object *until = NULL, *wait = NULL;
    if (opts && json_object_object_get_ex(opts, "until", &until) && until &&
        !parse_point(until, &q.until_seq, &q.until_us)) {
        *error = bmq_rpc_error(BMQ_RPC_EPARAMS,
                               "hub.history: until must be a seq, a duration or a time");
        return NULL;
    }
    if (opts && json_object_object_get_ex(opts, "wait", &wait) && wait) {
        double w = json_object_get_double(wait);
        q.wait_s = w < 0 ? 0 : w > MAX_WAIT_S ? MAX_WAIT_S : w;
    }
    char *err = NULL;
    json_object *r = history_query_run(h->history, &q, &err);
    if (!r) {
        *error = bmq_rpc_error(BMQ_EIO, "%s", err);
        g_free(err);
    }
    return r;
}

void hub_history_register(hub *h)
{
    /* The history holds what everybody sent: the hub's own user only (or a
     * client with the secret). */
    bmq_server_add_method_full(h->server, "hub.history", m_history, h, BMQ_RPC_ADMIN);
}
