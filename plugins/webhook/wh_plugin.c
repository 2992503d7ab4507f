/* wh_plugin.c - the "webhook" plugin: forwards the messages matching a
 * filter to an HTTP service (ntfy, Gotify, Slack and friends, any JSON
 * endpoint). Descriptor, instance lifetime and followers; the config is
 * read in wh_config.c, requests are built in wh_format.c and sent by the
 * thread of wh_sender.c.
 *
 * Followers run in the sending thread (BMQ_FOLLOW_ANY_THREAD): they take
 * a rate-limit token and append to the outbox, both under short locks, and
 * never wait for the network.
 */
#include <string.h>

#include "webhook.h"

typedef struct wh_inst wh_inst;

/* user_data of the follower of pattern @index of the filter list. */
typedef struct wh_follow_ctx {
    wh_inst *w;
    unsigned index;
} wh_follow_ctx;

struct wh_inst {
    const bmq_host *host;
    wh_config cfg;
    wh_rate rate;
    wh_sender *sender;
    GPtrArray *followers; /* bmq_follower* (owned by the host) */
    wh_follow_ctx *ctx;
};

/* Local ("_name") messages stay in the hub unless a pattern names them. */
static bool pattern_sends(const char *pattern, const bmq_message *m)
{
    return !bmq_message_is_local(m) || pattern[0] == '_';
}

static void on_message(const bmq_message *m, void *user_data)
{
    wh_follow_ctx *fc = user_data;
    wh_inst *w = fc->w;
    if (!pattern_sends(w->cfg.filters[fc->index], m))
        return;
    /* With overlapping patterns the first one that sends a message sends
     * it: once. */
    for (unsigned j = 0; j < fc->index; j++)
        if (bmq_id_match(w->cfg.filters[j], bmq_message_id(m)) &&
            pattern_sends(w->cfg.filters[j], m))
            return;
    if (!wh__sender_wants(w->sender, m))
        return; /* the history cursor gives it back */
    if (!wh__rate_admit(&w->rate, g_get_monotonic_time())) {
        wh__sender_wake(w->sender);
        return;
    }
    wh__sender_push(w->sender, m);
}

/* The durable outbox: a cursor over the hub's history, opened once the
 * followers are in place (see wh_outbox.c). With one filter pattern the
 * cursor reads only what matches it; with several, every message, and
 * the replay keeps those a follower would have sent. */
static void open_cursor(wh_inst *w)
{
    const bmq_host *host = w->host;
    if (!BMQ_HOST_HAS(host, cursor_close) || !host->history_cursor)
        return;
    const char *pattern = g_strv_length(w->cfg.filters) == 1 ? w->cfg.filters[0] : NULL;
    char *err = NULL;
    bmq_cursor *c = host->history_cursor(host, "outbox", pattern, &err);
    if (!c)
        host->log(host, BMQ_LOG_INFO, "outbox in memory only (%s)", err ? err : "no history");
    g_free(err);
    wh__sender_set_cursor(w->sender, c);
}

static void wh_destroy(void *instance)
{
    wh_inst *w = instance;
    if (!w)
        return;
    /* Followers first: unfollow waits for running ones, which push. */
    if (w->followers) {
        for (guint i = 0; i < w->followers->len; i++)
            w->host->unfollow(w->host, w->followers->pdata[i]);
        g_ptr_array_free(w->followers, TRUE);
    }
    wh__sender_free(w->sender);
    wh__rate_clear(&w->rate);
    wh__config_clear(&w->cfg);
    g_free(w->ctx);
    g_free(w);
}

static void *wh_create(const bmq_host *host, json_object *config, char **error)
{
    wh_inst *w = g_new0(wh_inst, 1);
    w->host = host;
    if (wh__config_parse(config, host->instance_id, &w->cfg, error) != 0) {
        g_free(w);
        return NULL;
    }
    wh__rate_init(&w->rate, w->cfg.rate_n, w->cfg.rate_period);
    w->sender = wh__sender_new(host, &w->cfg, &w->rate, error);
    if (!w->sender) {
        wh__rate_clear(&w->rate);
        wh__config_clear(&w->cfg);
        g_free(w);
        return NULL;
    }
    unsigned n = g_strv_length(w->cfg.filters);
    w->ctx = g_new0(wh_follow_ctx, n);
    w->followers = g_ptr_array_new();
    for (unsigned i = 0; i < n; i++) {
        w->ctx[i].w = w;
        w->ctx[i].index = i;
        bmq_follower *f = host->follow(host, w->cfg.filters[i], on_message, NULL, &w->ctx[i],
                                       BMQ_FOLLOW_ANY_THREAD);
        if (!f) {
            *error = g_strdup_printf("cannot follow \"%s\"", w->cfg.filters[i]);
            wh_destroy(w);
            return NULL;
        }
        g_ptr_array_add(w->followers, f);
    }
    open_cursor(w);
    host->log(host, BMQ_LOG_INFO, "forwarding %s to %s (%s%s%s)", w->cfg.filter_text,
              w->cfg.url_shown, wh__format_name(w->cfg.format),
              w->cfg.rate_text ? ", at most " : "", w->cfg.rate_text ? w->cfg.rate_text : "");
    if (w->cfg.insecure)
        host->log(host, BMQ_LOG_WARNING,
                  "certificates of %s are NOT verified (\"insecure\": true): anyone on the path "
                  "can read and change what is sent",
                  w->cfg.url_shown);
    return w;
}

static json_object *wh_status(void *instance)
{
    wh_inst *w = instance;
    return wh__status(&w->cfg, w->sender, &w->rate);
}

static const bmq_plugin_descriptor webhook_descriptor = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "webhook",
    .version = "1.0",
    .description =
        "Forwards messages to HTTP services: ntfy, Gotify, chat webhooks, JSON endpoints",
    .create = wh_create,
    .destroy = wh_destroy,
    .reconfigure = NULL,
    .status = wh_status,
};

BMQ_PLUGIN_DEFINE(webhook_descriptor)
