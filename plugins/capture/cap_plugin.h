/* cap_plugin.h - private to the capture plugin: the instance, shared by
 * the main thread and the GDBus worker thread that runs the monitor's
 * filter, and the functions its files share (prefix capture__).
 *
 * Threads: the filter (cap_monitor.c) runs on GDBus's worker thread. It
 * parses Notify calls, pairs them with their replies and turns closing and
 * action signals into events, all under ->lock, and hands the events to the
 * main thread through the bounded ->ready queue (host->invoke wakes it).
 * Everything else runs on the host's main thread. The instance is
 * reference-counted because GDBus may still run the filter after it was
 * removed: the last reference is dropped by whoever finishes last. */
#ifndef BMQ_CAP_PLUGIN_H
#define BMQ_CAP_PLUGIN_H

#include <berrymq/plugin.h>

#include "capture.h"

typedef enum { EV_CAPTURED, EV_CLOSED, EV_ACTION } cap_ev_kind;

typedef struct cap_event {
    cap_ev_kind kind;
    cap_note *note; /* EV_CAPTURED (owned) */
    char *app_part; /* EV_CLOSED, EV_ACTION: the APP of the notification */
    char *app;
    uint32_t id; /* the daemon's id; 0 when not known */
    uint32_t reason;
    char *text; /* EV_CAPTURED: D-Bus error name; EV_ACTION: action key */
} cap_event;

typedef struct cap_counters {
    guint64 captured, closed, actions;
    guint64 own, ignored, not_only, below_urgency;
    guint64 malformed, truncated, dropped, unanswered;
    guint64 images, image_errors, errors, reconnects;
    guint64 monitored; /* bus messages the monitor connection received */
} cap_counters;

typedef struct cap_plugin {
    gint refs;
    const bmq_host *host;
    cap_config cfg; /* read-only after create: the worker reads it unlocked */

    GMutex lock;          /* guards everything below up to the end of the block */
    bool alive;           /* false once destroy started: the worker stops calling host */
    GHashTable *pending;  /* "sender serial" -> cap_pending*: calls without reply yet */
    GQueue pending_order; /* cap_pending*, oldest first */
    GHashTable *known;    /* daemon id -> cap_known*: captured ones, for signals */
    GQueue known_order;   /* guint ids, oldest first */
    GQueue ready;         /* cap_event* for the main thread */
    bool drain_scheduled;
    bool timer_wanted;
    cap_counters n;
    /* end of the block guarded by ->lock */

    /* main thread only */
    GDBusConnection *conn;
    guint filter_id;
    gulong closed_handler;
    guint reconnect_id, pending_timer;
    guint backoff_ms;
    bool monitoring;
    char *last_error;
    char *image_dir;
    guint64 image_seq;
} cap_plugin;

/* Replies come within milliseconds from a live daemon; a call still
 * waiting after this is captured without its id. */
#define CAPTURE_PENDING_AGE_US (2 * G_USEC_PER_SEC)

/* cap_monitor.c */
/* The tables of pending calls and known ids: made by create, freed with
 * the last reference (any thread). */
void capture__state_init(cap_plugin *p);
void capture__state_clear(cap_plugin *p);
/* Main thread: */
/* Open the monitor connection. false with *error (transfer full) naming
 * the reason: no bus, or the bus refused monitoring. */
bool capture__monitor_open(cap_plugin *p, char **error);
void capture__monitor_close(cap_plugin *p);
/* Emit, without an id, the calls whose reply did not come within @age_us
 * (0: all of them). Returns how many remain pending. */
guint capture__pending_expire(cap_plugin *p, gint64 age_us);

/* cap_plugin.c */
void capture__ref(cap_plugin *p);
void capture__unref(cap_plugin *p);
/* Queue @ev for the main thread (takes it); ->lock held by the caller. */
void capture__ready_push_locked(cap_plugin *p, cap_event *ev);
void capture__event_free(cap_event *ev);
/* Ask the main thread to watch pending calls; ->lock held. */
void capture__want_timer_locked(cap_plugin *p);

/* cap_image.c (main thread) */
void capture__images_init(cap_plugin *p);
/* Write @image ("(iiibiiay)") as the next PNG of the ring: its path
 * (transfer full), or NULL with *error (transfer full). */
char *capture__image_write(cap_plugin *p, GVariant *image, char **error);

#endif
