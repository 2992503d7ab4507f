/* cursorplug.c - a forwarder with a durable outbox, for the history cursor
 * tests: it "delivers" each message matching "filter" by appending a line
 * "ID ARGS" to the file "out", replaying what the history holds after its
 * cursor first, then following live messages, acking each delivery.
 *
 * Config: "filter" (default "job:*"), "out" (file), "deliver" (default
 * true; false: the destination is down, messages are held in memory and
 * not acked), "batch" (cursor_next batch size, default 2: several rounds).
 * Status: {"history": bool, "replayed": n, "live": n, "held": n,
 * "error": text or null}.
 */
#include <stdio.h>
#include <string.h>

#include <berrymq/plugin.h>

typedef struct {
    const bmq_host *host;
    bmq_follower *follower;
    bmq_cursor *cursor;
    char *out;
    bool deliver;
    int replayed, live, held;
    char *error;
} cursorplug;

static void deliver(cursorplug *p, const bmq_message *m)
{
    if (!p->deliver) {
        p->held++;
        return;
    }
    FILE *f = fopen(p->out, "a");
    if (!f) {
        p->host->log(p->host, BMQ_LOG_ERROR, "cannot open %s", p->out);
        return;
    }
    fprintf(f, "%s %s\n", bmq_message_id(m), bmq_message_args_json(m));
    fclose(f);
    if (p->cursor)
        p->host->cursor_ack(p->host, p->cursor, bmq_message_seq(m));
}

static void on_message(const bmq_message *m, void *data)
{
    cursorplug *p = data;
    if (p->cursor && !p->host->cursor_live(p->host, p->cursor, m))
        return; /* the cursor has returned it or will */
    p->live++;
    deliver(p, m);
}

static void *cp_create(const bmq_host *host, json_object *config, char **error)
{
    json_object *v;
    const char *filter = "job:*";
    if (json_object_object_get_ex(config, "filter", &v))
        filter = json_object_get_string(v);
    if (!json_object_object_get_ex(config, "out", &v)) {
        *error = g_strdup("\"out\" is required");
        return NULL;
    }
    cursorplug *p = g_new0(cursorplug, 1);
    p->host = host;
    p->out = g_strdup(json_object_get_string(v));
    p->deliver = !json_object_object_get_ex(config, "deliver", &v) || json_object_get_boolean(v);
    unsigned batch = json_object_object_get_ex(config, "batch", &v) ? json_object_get_int(v) : 2;
    /* Follow first, then open: nothing falls between the two. */
    p->follower = host->follow(host, filter, on_message, NULL, p, BMQ_FOLLOW_MAIN_THREAD);
    if (BMQ_HOST_HAS(host, cursor_close))
        p->cursor = host->history_cursor(host, "out", filter, &p->error);
    else
        p->error = g_strdup("the host has no history_cursor");
    if (!p->cursor)
        host->log(host, BMQ_LOG_INFO, "no durable outbox: %s", p->error);
    bmq_message **v8 = g_new(bmq_message *, batch);
    for (int n = (int)batch; p->cursor && n == (int)batch;) {
        n = host->cursor_next(host, p->cursor, v8, batch);
        for (int i = 0; i < n; i++) {
            p->replayed++;
            deliver(p, v8[i]);
            bmq_message_unref(v8[i]);
        }
    }
    g_free(v8);
    return p;
}

static void cp_destroy(void *inst)
{
    cursorplug *p = inst;
    p->host->unfollow(p->host, p->follower);
    if (p->cursor)
        p->host->cursor_close(p->host, p->cursor);
    g_free(p->out);
    g_free(p->error);
    g_free(p);
}

static json_object *cp_status(void *inst)
{
    cursorplug *p = inst;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "history", json_object_new_boolean(p->cursor != NULL));
    json_object_object_add(o, "replayed", json_object_new_int(p->replayed));
    json_object_object_add(o, "live", json_object_new_int(p->live));
    json_object_object_add(o, "held", json_object_new_int(p->held));
    json_object_object_add(o, "error", p->error ? json_object_new_string(p->error) : NULL);
    return o;
}

static const bmq_plugin_descriptor desc = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "cursorplug",
    .version = "1",
    .description = "test forwarder with a durable outbox (history cursor)",
    .create = cp_create,
    .destroy = cp_destroy,
    .status = cp_status,
};

BMQ_PLUGIN_DEFINE(desc)
