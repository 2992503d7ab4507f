/* webhook.h - private to the webhook plugin: its config, the request a
 * message becomes, the rate limiter, the outbox and the sender thread, and
 * the functions its files share (prefix wh__).
 *
 * Files: wh_plugin.c (descriptor, instance, followers), wh_config.c (the
 * config object), wh_url.c (URL checks, redaction), wh_template.c (the
 * template syntax), wh_fields.c (what a message says: title, body,
 * priority...), wh_format.c (the five request formats), wh_rate.c (rate
 * limit and coalescing), wh_outbox.c (the bounded outbox), wh_sender.c (the
 * libcurl multi thread), wh_status.c (status object).
 */
#ifndef BMQ_WEBHOOK_H
#define BMQ_WEBHOOK_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-c/json.h>

#include <berrymq/plugin.h>

/* ---- config (wh_config.c) ------------------------------------------------ */

typedef enum {
    WH_FORMAT_NTFY,
    WH_FORMAT_GOTIFY,
    WH_FORMAT_JSON,
    WH_FORMAT_SLACK,
    WH_FORMAT_TEMPLATE,
} wh_format;

typedef struct wh_template wh_template;

typedef struct wh_config {
    char *url;         /* as configured: may hold userinfo and secrets */
    char *url_shown;   /* redacted: for logs and status */
    char *target;      /* where requests go (gotify: URL + /message) */
    char **filters;    /* NULL-terminated patterns */
    char *filter_text; /* the patterns joined with ", " */
    wh_format format;
    char *method;     /* "POST", "PUT" or "PATCH" */
    char **headers;   /* NULL-terminated "Name: value", from "headers" */
    char *token;      /* (nullable) Authorization: Bearer */
    char *user;       /* (nullable) Basic auth with password */
    char *password;   /* (nullable) */
    guint timeout_ms; /* whole request */
    char *ca_file;    /* (nullable) trust these CAs instead of the system's */
    bool insecure;    /* no certificate verification (explicit only) */
    bool https;
    guint rate_n;       /* 0 = no rate limit */
    double rate_period; /* seconds */
    char *rate_text;    /* (nullable) as configured, "10/min" */
    wh_template *tmpl;  /* (nullable) format "template" */
    char *content_type; /* format "template" */
    bool json_body;     /* content_type is JSON: template values are escaped */
    guint queue_max;    /* outbox bound */
    guint retries;      /* attempts on 5xx/429 before giving up; 0 = no limit */
    guint retry_min_ms; /* first backoff step */
    guint retry_max_ms; /* backoff cap */
    guint drain_ms;     /* how long stopping waits for the outbox to empty */
    char *hub;          /* the "hub" field of the json format */
    char *summary_id;   /* id of rate-limit summaries: "INSTANCE:summary" */
} wh_config;

/* Read and check an instance config. 0, or -BMQ_EINVAL with *error
 * (transfer full) naming the key and what it expects. @instance_id names
 * the summaries. On error *out is cleared. */
int wh__config_parse(json_object *cfg, const char *instance_id, wh_config *out, char **error);
void wh__config_clear(wh_config *c);
/* "ntfy", "gotify"... (transfer none, static) */
const char *wh__format_name(wh_format f);

/* ---- URLs (wh_url.c) ------------------------------------------------------ */

/* 0 if @url is an absolute http(s) URL with a host; else -BMQ_EINVAL and
 * *error. *https tells which. */
int wh__url_check(const char *url, bool *https, char **error);
/* @url with its userinfo replaced by "***" and every query value by "***"
 * (transfer full): what logs and status show. */
char *wh__url_redact(const char *url);
/* @url with @suffix appended to its path unless the path already ends with
 * it, query kept (transfer full); NULL on a bad URL. */
char *wh__url_append_path(const char *url, const char *suffix);

/* ---- template (wh_template.c) ---------------------------------------------- */

/* The values a message offers to a template and to the formats. Strings
 * are borrowed from the message or owned by the fields (see wh__fields_*). */
typedef struct wh_fields {
    const char *id, *name, *action;
    json_object *args;   /* (owned) a private copy: safe to serialize */
    json_object *kwargs; /* (owned) a private copy */
    char *title;         /* (owned) kwargs title/summary, else the id */
    bool title_given;    /* title came from kwargs */
    char *body;          /* (owned) kwargs body/text/message, else the args */
    int level;           /* 1..5 (ntfy scale), 0 = not said */
    double time;         /* Unix time the hub took the message */
    const char *hub;
} wh_fields;

/* Compile @text. NULL with *error (transfer full) saying where it is wrong. */
wh_template *wh__template_compile(const char *text, char **error);
void wh__template_free(wh_template *t);
/* Render (transfer full). With @json_escape, substituted values are
 * escaped for the inside of a JSON string; "!json" values are JSON. */
char *wh__template_render(const wh_template *t, const wh_fields *f, bool json_escape);

/* ---- message fields (wh_fields.c) ---------------------------------------- */

/* Fill @f from @m without touching @m's json-c objects (they may be read
 * by other threads): args/kwargs are parsed from the message's JSON text. */
void wh__fields_init(wh_fields *f, const bmq_message *m, double time, const char *hub);
void wh__fields_clear(wh_fields *f);
/* kwargs[key] when it is a string, else NULL (transfer none). */
const char *wh__fields_kwarg(const wh_fields *f, const char *key);
/* A value as text (transfer full): a string as is, null/absent as "",
 * anything else as compact JSON. */
char *wh__json_text(json_object *v);

/* ---- request formats (wh_format.c) ---------------------------------------- */

typedef struct wh_request {
    char *url;          /* (owned) */
    GPtrArray *headers; /* char* "Name: value" (owned) */
    char *body;         /* (owned) */
    size_t len;
} wh_request;

/* The request @m becomes under @c: URL, headers (format ones, then the
 * configured ones replacing those of the same name) and body. Any thread;
 * reads @m only through its cached JSON text. Credentials are not added
 * here (the sender sets them). (transfer full) */
wh_request *wh__request_new(const wh_config *c, const bmq_message *m, double time);
void wh__request_free(wh_request *r);

/* ---- rate limit and coalescing (wh_rate.c) --------------------------------- */

/* A token bucket of @n tokens refilled at n per period. Messages over the
 * limit are counted, not sent; the count goes out as one summary when a
 * token is free again. Thread-safe. */
typedef struct wh_rate {
    GMutex lock;
    double capacity, per_us; /* capacity 0 = unlimited */
    double tokens;
    gint64 last_us;
    guint64 pending;   /* held back since the last summary */
    guint64 coalesced; /* held back in all */
    guint64 summaries;
} wh_rate;

void wh__rate_init(wh_rate *r, guint n, double period_s);
void wh__rate_clear(wh_rate *r);
/* true: send the message now; false: it was counted for a summary. */
bool wh__rate_admit(wh_rate *r, gint64 now_us);
/* The number of messages a summary due now stands for (a token is taken),
 * or 0; then *wait_us is the time until one may be due (-1: none pending). */
guint64 wh__rate_take_summary(wh_rate *r, gint64 now_us, gint64 *wait_us);
void wh__rate_status(wh_rate *r, json_object *o);

/* ---- outbox (wh_outbox.c) --------------------------------------------------- */

typedef struct wh_entry {
    bmq_message *msg; /* (owned reference) */
    double time;      /* Unix time taken */
    wh_request *req;  /* (nullable, owned) rendered on first attempt */
    guint attempts;   /* HTTP answers asking for a retry so far */
    uint64_t seq;     /* history seq, 0 = not stored (never acked) */
} wh_entry;

/* The messages still to deliver, oldest first. With a durable cursor over
 * the hub's history (host->history_cursor) what was acknowledged to its
 * sender but not yet delivered comes back after a restart: the cursor's
 * backlog is read into the outbox first, while live messages wait in
 * "held"; each delivered head is acked to the cursor. Without one (history
 * off, an older host) the outbox is in memory only. Not thread-safe: the
 * sender's lock guards it. */
typedef struct wh_outbox {
    GQueue q;  /* wh_entry*, oldest first */
    guint max; /* bound */
    const bmq_host *host;
    bmq_cursor *cursor;   /* (nullable, owned: closed by wh__outbox_clear) */
    bool replaying;       /* the backlog is being read: live messages wait */
    GQueue held;          /* wh_entry*: live messages during the replay */
    uint64_t replayed_to; /* highest seq the cursor returned */
    guint64 replayed;     /* backlog messages queued */
} wh_outbox;

void wh__outbox_init(wh_outbox *o, guint max);
/* Append @e (transfer full). When full, the oldest entry that is not
 * @busy is removed and returned (transfer full) for the caller to count
 * and free; else NULL. While replaying @e waits in "held" instead (bounded
 * the same way). */
wh_entry *wh__outbox_push(wh_outbox *o, wh_entry *e, const wh_entry *busy);
wh_entry *wh__outbox_head(wh_outbox *o); /* (transfer none, nullable) */
/* Remove the head (delivered or given up), ack its seq to the cursor, and
 * free it. */
void wh__outbox_ack(wh_outbox *o);
guint wh__outbox_length(const wh_outbox *o);
/* Free every entry and close the cursor. */
void wh__outbox_clear(wh_outbox *o);
wh_entry *wh__entry_new(const bmq_message *m, double time);
void wh__entry_free(wh_entry *e);

/* Durable mode. wh__outbox_hold: live messages wait from now on (call it
 * before following, when @host offers cursors). wh__outbox_set_cursor:
 * @c (nullable: no history, stay in memory; transfer full) was opened after
 * following; held messages the cursor will return are dropped. Returns the
 * number of entries the bound dropped. */
void wh__outbox_hold(wh_outbox *o, const bmq_host *host);
guint wh__outbox_set_cursor(wh_outbox *o, bmq_cursor *c);
/* Whether a follower should push @m: false when the cursor returns it. */
bool wh__outbox_wants(wh_outbox *o, const bmq_message *m);
/* How many backlog messages to read now (0: not replaying or full). */
guint wh__outbox_replay_room(const wh_outbox *o);
/* Queue @n messages (transfer full each) cursor_next returned for a
 * request of @asked; @n < @asked (or negative: the store failed) ends the
 * replay and releases the held messages. @admit (nullable) may refuse a
 * message (not for this instance's filter, the rate limit). Returns the number of entries dropped.
 */
guint wh__outbox_replay_add(wh_outbox *o, bmq_message **msgs, int n, guint asked,
                            bool (*admit)(void *data, const bmq_message *m), void *data);

/* ---- sender (wh_sender.c) --------------------------------------------------- */

typedef struct wh_sender wh_sender;

/* Start the sender thread. @cfg and @rate (transfer none) must outlive it.
 * NULL with *error when libcurl cannot be set up. */
wh_sender *wh__sender_new(const bmq_host *host, const wh_config *cfg, wh_rate *rate, char **error);
/* Whether @m is for the followers to push: false when the history cursor
 * returns it itself (and while stopping). Any thread. */
bool wh__sender_wants(wh_sender *s, const bmq_message *m);
/* Hand over the history cursor (transfer full; nullable: the history is
 * off, messages held since the start go on in memory). Main thread, after
 * the followers are in place. */
void wh__sender_set_cursor(wh_sender *s, bmq_cursor *c);
/* Queue @m (a reference is taken). Any thread; never waits for the
 * network. */
void wh__sender_push(wh_sender *s, const bmq_message *m);
/* A message was held back by the rate limit: a sleeping thread must wake
 * to send the summary when the next token is due. Any thread. */
void wh__sender_wake(wh_sender *s);
/* Stop: wait up to cfg->drain_ms for what is queued while the server
 * answers, then abort the request in flight and free. Main thread. */
void wh__sender_free(wh_sender *s);
/* Add the delivery counters to @o (see wh_status.c). */
void wh__sender_status(wh_sender *s, json_object *o);

/* ---- status (wh_status.c) ----------------------------------------------------- */

json_object *wh__status(const wh_config *cfg, wh_sender *s, wh_rate *rate);

#endif /* BMQ_WEBHOOK_H */
