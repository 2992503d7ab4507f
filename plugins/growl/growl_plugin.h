/* growl_plugin.h - parts of the growl plugin shared between its files:
 * the forwarding worker (sender.c) and the Growl listener (receiver.c).
 */
#ifndef GROWL_PLUGIN_H
#define GROWL_PLUGIN_H

#include <gio/gio.h>

#include <berrymq/plugin.h>

#include "growl_proto.h"

/* ---- forwarding (sender.c) ---------------------------------------------- */

typedef struct growl_sender_config {
    bool udp; /* legacy UDP instead of GNTP */
    char *host;
    guint16 port;
    char *password; /* "" = none */
    gntp_hash hash;
    char *application;
    GPtrArray *notifications; /* (nullable) fixed types; NULL = one per message name */
    GPtrArray *seed_names;    /* (nullable) names registered up front when not fixed */
    gntp_icon icon;           /* default icon (url or data, both nullable) */
    guint queue_max;          /* bounded queue; the oldest job is dropped */
    bool callbacks;           /* ask GNTP servers for click/close/timeout callbacks */
    guint timeout_s;          /* connect and reply timeout */
    const void *origin;       /* tag set on messages this instance sends */
} growl_sender_config;

/* One notification to deliver. Every field is owned by the job. */
typedef struct growl_job {
    char *name; /* notification type */
    char *title;
    char *text;
    int priority;
    bool sticky;
    gntp_icon icon;   /* per-message icon; both NULL = the configured one */
    char *context;    /* (nullable) message id, for callbacks */
    bmq_message *msg; /* (nullable, a reference) the message while it may wait */
    uint64_t seq;     /* history seq of its message, 0 = not stored */
    uint64_t ack_seq; /* acked once the job is done: seq, or the seq of a
                       * later message this instance skips */
} growl_job;

/* Makes the job for a message read back from the history (transfer full),
 * or NULL when the message is not for this instance. Any thread. */
typedef growl_job *(*growl_job_fn)(const bmq_message *m, void *data);

typedef struct growl_sender growl_sender;

/* Start the worker thread. @cfg is taken over (its strings, array and
 * icon are owned by the sender afterwards). (transfer full) */
growl_sender *growl__sender_new(const bmq_host *host, growl_sender_config *cfg);
/* Queue @job (transfer full). Any thread; never blocks on the network. */
void growl__sender_push(growl_sender *s, growl_job *job);
/* Durable mode (the host keeps a history; see sender.c). wants: false when
 * the history cursor gives @m back itself, so the follower leaves it.
 * skip: the follower does not forward the stored message @seq (our own
 * traffic): it is acked in order with the jobs. set_cursor: @c (transfer
 * full; nullable: stay in memory) was opened after following; @make turns
 * the backlog into jobs. Any thread; set_cursor on the main thread. */
bool growl__sender_wants(growl_sender *s, const bmq_message *m);
void growl__sender_skip(growl_sender *s, uint64_t seq);
void growl__sender_set_cursor(growl_sender *s, bmq_cursor *c, growl_job_fn make, void *data);
void growl__job_free(growl_job *job);
/* Stop the worker (cancelling any I/O), close callback sockets, free.
 * Main thread. */
void growl__sender_free(growl_sender *s);
/* Add counters to @obj: sent, failed, dropped, queued, callbacks, ... */
void growl__sender_status(growl_sender *s, json_object *obj);
void growl__sender_config_clear(growl_sender_config *cfg);

/* ---- GNTP socket callbacks (callback.c) ---------------------------------- */

typedef struct growl_callbacks growl_callbacks;

/* @origin tags the NAME:clicked|closed|timedout messages. (transfer full) */
growl_callbacks *growl__callbacks_new(const bmq_host *host, const void *origin);
/* Wait on @conn (a reference is taken) for the -CALLBACK about @context (a
 * message id); @rest holds bytes already read past the -OK. Any thread. */
void growl__callbacks_adopt(growl_callbacks *s, GSocketConnection *conn, const guint8 *rest,
                            size_t n, const char *context);
guint growl__callbacks_count(growl_callbacks *s); /* main thread */
/* Close every waiting connection and free. Main thread, after the last
 * adopt. */
void growl__callbacks_free(growl_callbacks *s);

/* ---- receiving (receiver.c) ---------------------------------------------- */

typedef struct growl_receiver growl_receiver;

/* Open the listeners described by the "listen" object. NULL with *error
 * (transfer full) on a bad config or a port that cannot be bound. */
growl_receiver *growl__receiver_new(const bmq_host *host, json_object *listen, const void *origin,
                                    char **error);
void growl__receiver_free(growl_receiver *r);
void growl__receiver_status(growl_receiver *r, json_object *obj);

/* Turn a Growl name into one identifier part: whitespace, ':', '@', '*' and
 * control characters become '_'; cut to fit. (transfer full) */
char *growl__id_part(const char *s, size_t max);

#endif /* GROWL_PLUGIN_H */
