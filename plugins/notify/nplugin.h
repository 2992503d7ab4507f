/* nplugin.h - private to the notify plugin: the instance and the functions
 * its files share (prefix nplugin__). */
#ifndef BMQ_NOTIFY_NPLUGIN_H
#define BMQ_NOTIFY_NPLUGIN_H

#include <berrymq/plugin.h>
#include <libnotify/notify.h>

typedef enum { DAEMON_UNKNOWN, DAEMON_UP, DAEMON_DOWN } daemon_state;

/* Per message name: a token bucket and the flood summary it feeds. */
typedef struct nbucket {
    double tokens;
    gint64 last_us;
    guint64 pending;             /* suppressed since the last summary tick */
    guint64 flood_total;         /* suppressed during the current flood */
    NotifyNotification *summary; /* (nullable, owned) updated in place */
} nbucket;

/* One message as a popup: its kwargs read once (popup_spec.c), then used
 * by the popup, the do-not-disturb path, the receipts and the backlog. */
typedef struct popup_spec {
    bmq_message *msg; /* (owned ref) */
    char *title;      /* (owned) kwarg "title", else the message id; UTF-8 */
    char *body;       /* (owned) kwarg "body", else the rendered data, escaped */
    char *icon;       /* (owned, nullable) non-empty */
    char *category;   /* (owned, nullable) non-empty */
    char *replace;    /* (owned, nullable) non-empty key updated in place */
    char *app;        /* (owned) kwarg "app", else the config's app_name */
    char *receipt;    /* (owned, nullable) where the sender wants to hear back */
    char *sender;     /* (owned) "name" or "name@ns": prefix of answers */
    NotifyUrgency urgency;
    int timeout;          /* ms: kwarg "timeout", else the config's */
    gint replace_id;      /* daemon id to replace (notify-send -r), 0 none */
    bool transient;       /* hint "transient" */
    json_object *actions; /* (transfer none, nullable) {key: label}, of msg */
    json_object *ntfy_actions; /* (transfer none, nullable) ntfy's array form, of msg */
    char *click;               /* (owned, nullable) ntfy's click URI: the default action */
    json_object *hints;   /* (transfer none, nullable) {name: value}, of msg */
} popup_spec;

typedef struct nplugin {
    const bmq_host *host;
    char *filter;
    char *app_name;
    int default_timeout;
    double rate;  /* tokens per second */
    double burst; /* bucket size */
    guint summary_ms;
    guint backlog_max;

    bmq_follower *f_notify, *f_pause, *f_resume, *f_query;
    guint watch_id;
    daemon_state daemon;
    bool daemon_warned;
    GQueue backlog; /* popup_spec* (owned) waiting for a daemon */
    /* Durable backlog (history on): the saved position is just before the
     * oldest message still waiting, so a restart shows what never was. */
    bmq_cursor *cursor; /* (nullable) no history */
    uint64_t seen_seq;  /* highest seq handled or waiting */
    uint64_t acked_seq;
    guint64 replayed;

    GQueue live;         /* NotifyNotification* (owned) on screen, oldest first */
    GHashTable *by_key;  /* replace key -> NotifyNotification* (borrowed from live) */
    GHashTable *buckets; /* name -> nbucket* */
    guint summary_timer;

    char *open_command; /* opens ntfy view/click URIs (xdg-open) */
    GMutex http_lock;   /* guards http_running */
    GCond http_cond;
    guint http_running; /* ntfy http actions under way */

    bool libnotify_ref; /* counted in the process-wide libnotify users */
    bool paused;
    guint64 paused_suppressed, paused_critical;
    guint64 shown, suppressed, rate_limited, errors, backlog_dropped;
} nplugin;

/* notify.c */
/* Answer a sender that asked for a receipt (kwarg "receipt": a name such
 * as "r1f2e@receipt", nullable): sends RECEIPT:@what with @kwargs
 * (transfer full, nullable) plus "instance". No usable receipt: frees
 * @kwargs. */
void nplugin__receipt(nplugin *p, const char *receipt, const char *what, json_object *kwargs);

/* popup_spec.c */
/* Read @msg's kwargs (transfer full; free with nplugin__spec_free). */
popup_spec *nplugin__spec_new(const nplugin *p, const bmq_message *msg);
void nplugin__spec_free(gpointer spec);

/* popup.c */
/* Show (or update in place) the notification for @s. 0, or -BMQ_ENET when
 * no daemon answered (the caller keeps the message), or another negative
 * BMQ_E* for a notification the daemon refused. */
int nplugin__show(nplugin *p, const popup_spec *s);
/* Show or update a summary notification owned by the caller (*slot). */
int nplugin__show_summary(nplugin *p, NotifyNotification **slot, const char *summary,
                          const char *body);
/* Forget every notification on screen (daemon gone or instance ending). */
void nplugin__drop_live(nplugin *p);

/* ntfy_action.c */
/* Open @uri (a ntfy "view" action or "click") with the config's
 * open_command; a URI without a scheme, a file: URI or one starting with
 * '-' is only logged. */
void nplugin__ntfy_open(nplugin *p, const char *uri);
/* Send ntfy "http" @action's request (url, method = POST, headers, body)
 * from a worker thread; the outcome is logged. */
void nplugin__ntfy_http(nplugin *p, json_object *action);
/* Wait for the http actions under way (each ends within 15 s). */
void nplugin__ntfy_wait(nplugin *p);

#endif
