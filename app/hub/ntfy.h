/* ntfy.h - ntfy's HTTP publish/subscribe API on the hub's HTTP listener.
 *
 * Files: ntfy_route.c (paths, parameters, errors: the route handler the
 * server calls), ntfy_publish.c (a publish request -> the message
 * TOPIC:notify), ntfy_render.c (a message -> ntfy's message JSON, SSE and
 * raw lines), ntfy_history.c (since=/poll= read from the hub's history),
 * ntfy_store.c (the in-memory cache used when the history is off, and the
 * follower that feeds subscribers), ntfy_sub.c (streaming subscriptions),
 * ntfy_answer.c (publish answers held until the message is stored).
 *
 * Threads: requests arrive on server threads; the follower runs wherever
 * the bus runs followers. Everything here is guarded by the locks named in
 * the structs below; nothing touches the main loop.
 */
#ifndef BMQ_HUB_NTFY_H
#define BMQ_HUB_NTFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <json-c/json.h>

#include <berrymq/berrymq.h>
#include <berrymq/net.h>

/* hub.json "ntfy": false | {"enabled", "message_limit", "keepalive",
 * "max_subscribers", "cache_messages", "subscriber_buffer"} */
typedef struct ntfy_cfg {
    bool enabled;
    size_t message_limit;     /* bytes of a message text (ntfy: 4096) */
    unsigned keepalive_s;     /* keepalive events on idle streams (45) */
    unsigned max_subscribers; /* concurrent streams (64) */
    size_t cache_messages;    /* recent messages kept for since=/poll= (1000) */
    size_t subscriber_buffer; /* bytes waiting for one slow subscriber (256 KiB) */
} ntfy_cfg;

void ntfy_cfg_defaults(ntfy_cfg *c);
/* Parse the "ntfy" value of hub.json into @c. 0, or -1 with *error (one
 * line "KEY: problem", transfer full). */
int ntfy_cfg_parse(json_object *v, ntfy_cfg *c, char **error);

typedef struct ntfy ntfy;
typedef struct history history;

/* (transfer full) Starts following the bus. @hist (transfer none,
 * nullable): the hub's history, which since= and poll= then read (it must
 * outlive the ntfy); NULL: they read the in-memory cache. */
ntfy *ntfy_new(bmq_bus *bus, const ntfy_cfg *cfg, history *hist);
/* The route handler for bmq_server_set_route (user_data: the ntfy). */
int ntfy_route(const bmq_http_request *req, void *user_data);
/* End every stream and refuse new ones: call before bmq_server_stop. */
void ntfy_shutdown(ntfy *n);
void ntfy_free(ntfy *n); /* after the server stopped; NULL-safe */
/* {"subscribers": open streams, "published", "delivered",
 * "dropped_subscribers", "cache": "history"|"memory"} (transfer full).
 * Any thread. */
json_object *ntfy_status(ntfy *n);

/* ---- internal (ntfy_*.c) ---------------------------------------------- */

#define NTFY_TOPIC_MAX 64
/* What a topic may be. A leading '_' would make a local identifier
 * (_TOPIC:notify), which never leaves the hub. */
#define NTFY_TOPIC_RULE "1 to 64 of the characters A-Z a-z 0-9 _ -, not starting with _"

/* The origin (sender label) of messages published through the API, as the
 * history records it; those sent with "Cache: no" carry the second one and
 * are left out of since= and poll=. */
#define NTFY_ORIGIN         "ntfy"
#define NTFY_ORIGIN_NOCACHE "ntfy (no cache)"

/* A message's ntfy id: "s" and its history seq in 11 digits (12 characters
 * like ntfy's own ids, stable across restarts, and since=ID finds the place
 * again); a message the history did not number (history off or failing)
 * has its uid (32 hex digits) instead. */
#define NTFY_ID_MAX 40
const char *ntfy__message_id(const bmq_message *m, char buf[NTFY_ID_MAX]);

/* ntfy-style error codes (HTTP status * 100 + detail). */
enum {
    NTFY_E_JSON = 40001,      /* body is not message JSON */
    NTFY_E_PRIORITY = 40007,  /* bad priority */
    NTFY_E_SINCE = 40008,     /* bad since= */
    NTFY_E_TOPIC = 40009,     /* bad topic name */
    NTFY_E_ACTIONS = 40018,   /* bad actions */
    NTFY_E_UTF8 = 40011,      /* message is not UTF-8 */
    NTFY_E_DELAY = 40004,     /* bad delay */
    NTFY_E_NOT_FOUND = 40401, /* no such path */
    NTFY_E_METHOD = 40501,    /* method not allowed on this path */
    NTFY_E_TOO_LARGE = 41301, /* message over the limit */
    NTFY_E_LIMIT = 42901,     /* too many subscribers */
    NTFY_E_STOPPING = 50301,  /* hub is stopping */
    NTFY_E_INTERNAL = 50001,
};

/* An error answer {"code","http","error"} (ntfy_route.c). */
int ntfy__error(void *connection, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* The web origin to let read the answer of the request this thread is
 * handling (nullable). */
extern __thread const char *ntfy__cors;
void ntfy__decorate(void *response);
/* A complete answer with @body (transfer full, g_free). */
int ntfy__reply(void *connection, unsigned status, const char *type, char *body, size_t len);
/* Value of parameter @names (a NULL-terminated list of aliases) from the
 * headers first, then the query string (transfer none, nullable). */
const char *ntfy__param(void *connection, const char *const *names);
bool ntfy__topic_valid(const char *s, size_t len);

/* ---- ntfy_publish.c ---- */
typedef struct ntfy_pub {
    char *topic;
    char *message; /* (nullable) */
    char *title;
    int priority;      /* 0 = not given, else 1..5 */
    json_object *tags; /* array of strings, nullable */
    char *click, *icon;
    json_object *actions; /* array, nullable */
    bool markdown;
    bool no_cache;
    gint64 delay_s; /* seconds from now; 0 = now */
} ntfy_pub;
void ntfy__pub_clear(ntfy_pub *p);
/* ntfy's priority names and numbers -> 1..5; 0 for empty, -1 for invalid. */
int ntfy__priority_parse(const char *s);
/* Fill @p from headers and query parameters (body as the message). 0 or an
 * NTFY_E_* code with *why (transfer full). */
int ntfy__pub_from_request(ntfy *n, void *conn, const char *topic, const char *body, size_t len,
                           bool body_is_message, ntfy_pub *p, char **why);
/* Fill @p from ntfy's publish JSON. 0, NTFY_E_* with *why, or -1 when the
 * body is not an ntfy publish at all (no "topic": JSON-RPC). */
int ntfy__pub_from_json(ntfy *n, const char *body, size_t len, ntfy_pub *p, char **why);
/* Send it as TOPIC:notify. (transfer full) the message (for the answer),
 * NULL with *why on failure. */
bmq_message *ntfy__publish(ntfy *n, ntfy_pub *p, char **why);

/* ---- ntfy_render.c ---- */
typedef enum { NTFY_FMT_JSON, NTFY_FMT_SSE, NTFY_FMT_RAW } ntfy_fmt;
/* The fields of a message as ntfy sees them. */
typedef struct ntfy_view {
    const char *id, *topic;
    char id_buf[NTFY_ID_MAX];
    gint64 time;
    char *message, *title; /* message never NULL */
    int priority;          /* 1..5, 3 when not given */
    json_object *tags;     /* nullable, borrowed from the copy below */
    json_object *kwargs;   /* a private copy of the message's kwargs */
} ntfy_view;
void ntfy__view_init(ntfy_view *v, const bmq_message *m, gint64 time);
void ntfy__view_clear(ntfy_view *v);
/* ntfy's message JSON of @v (transfer full). */
json_object *ntfy__view_json(const ntfy_view *v, gint64 expires);
/* Append one message event in @fmt to @out. */
void ntfy__render_message(GString *out, ntfy_fmt fmt, const ntfy_view *v, gint64 expires);
/* Append an open or keepalive event for @topics in @fmt. */
void ntfy__render_event(GString *out, ntfy_fmt fmt, const char *event, const char *topics);
/* A fresh random id like ntfy's (12 letters and digits). */
void ntfy__random_id(char out[13]);

/* ---- ntfy_store.c ---- */
typedef struct ntfy_entry {
    bmq_message *msg; /* ref held */
    gint64 time;      /* unix seconds when the hub saw it */
} ntfy_entry;

/* A subscription's filters. */
typedef struct ntfy_filter {
    char *message, *title;
    unsigned priorities; /* bit p set: priority p admitted; 0 = any */
    char **tags;         /* all must be present; nullable */
} ntfy_filter;
void ntfy__filter_clear(ntfy_filter *f);
bool ntfy__filter_match(const ntfy_filter *f, const ntfy_view *v);

/* since=: none, all, latest, an id, a duration ("10m") or a unix time. */
typedef struct ntfy_since {
    enum {
        NTFY_SINCE_NONE,
        NTFY_SINCE_ALL,
        NTFY_SINCE_LATEST,
        NTFY_SINCE_ID,
        NTFY_SINCE_TIME
    } kind;
    gint64 time;
    char *id;
    uint64_t seq; /* an id of ours that names a history seq ("s" + digits) */
} ntfy_since;
/* 0 or -1 for text that is none of those. */
int ntfy__since_parse(const char *s, gint64 now, ntfy_since *out);
void ntfy__since_clear(ntfy_since *s);

typedef struct ntfy_sub ntfy_sub;

struct ntfy {
    bmq_bus *bus;
    ntfy_cfg cfg;
    bmq_follower *follower;
    history *hist;        /* (nullable) since=/poll= read from here when set */
    GMutex lock;          /* guards everything below */
    ntfy_entry *ring;     /* cfg.cache_messages slots */
    size_t head, count;   /* oldest at head */
    GHashTable *by_topic; /* topic -> GPtrArray of ntfy_sub* (no ref) */
    GPtrArray *subs;      /* every live stream (ref held) */
    bool stopping;
    GThreadPool *waiters; /* (nullable) threads resuming held publish answers */
    /* keepalive timer */
    GThread *timer;
    GCond timer_cond;
    uint64_t published, delivered, dropped_subs; /* under lock */
};

/* Append the stored messages of @topics that @since and @filter admit to
 * @out in @fmt. Called with n->lock held. */
void ntfy__store_render(ntfy *n, char **topics, const ntfy_since *since, const ntfy_filter *filter,
                        ntfy_fmt fmt, GString *out);
gint64 ntfy__expires(ntfy *n, gint64 time);

/* ---- ntfy_answer.c ---- */
/* Answer a publish with @body (transfer full, g_free) once the message
 * with @seq is stored (per the history's sync); at once without a history
 * or a seq. */
int ntfy__answer_stored(ntfy *n, void *conn, uint64_t seq, char *body, size_t len);
void ntfy__answers_start(ntfy *n);
/* Let every held answer go and stop the waiters: before the server stops. */
void ntfy__answers_stop(ntfy *n);
/* Whether @conn's server can suspend connections (not one thread per
 * connection). */
bool ntfy__can_suspend(void *conn);

/* ---- ntfy_history.c ---- */
/* Append the messages of @topics stored in the history with seq <= @upto
 * (0: everything stored when called) that @since and @filter admit to @out
 * in @fmt, oldest first: at most cfg.cache_messages, the newest of them.
 * Messages published with "Cache: no" are left out. 0, or -1 when the
 * history cannot be read (logged). Called without n->lock. */
int ntfy__history_render(ntfy *n, char **topics, const ntfy_since *since, const ntfy_filter *filter,
                         ntfy_fmt fmt, uint64_t upto, GString *out);

/* ---- ntfy_sub.c ---- */
/* Serve GET /TOPICS/FMT (poll or stream). */
int ntfy__subscribe(ntfy *n, void *conn, const char *topics, ntfy_fmt fmt, const char *peer);
/* A new message seen by the follower: queue it on matching streams and
 * add them (ref taken) to @wake. Called with n->lock held. */
void ntfy__subs_deliver(ntfy *n, const ntfy_entry *e, GPtrArray *wake);
/* Let the streams in @wake send what was queued; drops the refs. Called
 * without n->lock (it calls into libmicrohttpd). */
void ntfy__subs_wake(GPtrArray *wake);
/* End every stream (after what is queued); stop the keepalive thread. */
void ntfy__subs_shutdown(ntfy *n);
void ntfy__keepalive_start(ntfy *n);
void ntfy__keepalive_stop(ntfy *n);

#endif /* BMQ_HUB_NTFY_H */
