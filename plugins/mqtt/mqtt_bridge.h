/* mqtt_bridge.h - internals of the MQTT bridge plugin shared by its files:
 * the parsed config (mqtt_config.c) and the instance (mqtt_plugin.c,
 * mqtt_link.c). */
#ifndef BMQ_MQTT_BRIDGE_H
#define BMQ_MQTT_BRIDGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-c/json.h>
#include <mosquitto.h>

#include <berrymq/plugin.h>

typedef struct mqtt_config {
    char *host;                     /* broker host */
    int port;                       /* broker port */
    bool tls;                       /* mqtts:// or a "tls" object */
    char *ca, *capath, *cert, *key; /* nullable TLS files */
    bool tls_insecure;              /* skip the host name check (testing only) */
    char **publish;                 /* NULL-terminated patterns (may be empty) */
    char **subscribe;               /* NULL-terminated patterns (may be empty) */
    int qos;                        /* 0..2 */
    bool retain;
    char *client_id;
    char *username, *password;             /* nullable */
    char *prefix;                          /* topic prefix without trailing '/' */
    unsigned buffer;                       /* offline buffer capacity (QoS >= 1) */
    int keepalive;                         /* seconds */
    char *hub_id;                          /* valid berryMQ name */
    unsigned reconnect_min, reconnect_max; /* seconds */
    double flush_delay;                    /* seconds to wait after a reconnect before flushing */
} mqtt_config;

/* Parse and check @cfg (transfer none). @default_hub_id (nullable) is the
 * host's node id. 0, or -BMQ_EINVAL/-BMQ_ETYPE with *error (g_malloc'd)
 * naming the key (bmq_config_get_* wording). */
int mqtt_config__parse(json_object *cfg, const char *default_hub_id, const char *instance_id,
                       mqtt_config *out, char **error);
void mqtt_config__clear(mqtt_config *c);

/* One message waiting in the offline buffer. */
typedef struct mqtt_pending {
    char *topic;
    char *payload;
    size_t len;
    uint64_t seq; /* history seq the durable outbox tracks, 0 = untracked */
} mqtt_pending;

/* Recently seen uids: a ring of MQTT_SEEN_MAX 64-bit hashes and an open
 * addressing set over them (twice the size: at most half full). */
#define MQTT_SEEN_MAX   8192
#define MQTT_SEEN_SLOTS (2 * MQTT_SEEN_MAX)

typedef struct mqtt_bridge {
    const bmq_host *host; /* (transfer none) */
    mqtt_config cfg;
    struct mosquitto *mosq;
    char *origin_json; /* JSON string literal of cfg.hub_id */
    char *topic_online, *topic_offline;
    char **filters;                     /* subscription filters, NULL-terminated */
    size_t prefix_len;                  /* strlen(cfg.prefix) */
    GPtrArray *followers;               /* bmq_follower* made through host->follow */
    struct mqtt_follow_ctx *follow_ctx; /* one per publish pattern */

    /* lock guards the offline buffer, flush_at, stopping and
     * restart_delay; the network thread waits on cond for its backoff. mosquitto_publish may be
     * called under it. */
    GMutex lock;
    GCond cond;
    GQueue buffer;   /* of mqtt_pending* */
    gint64 flush_at; /* monotonic us; 0 = nothing scheduled */
    bool stopping;
    gint64 restart_delay; /* us before the next connection attempt */
    GThread *worker;      /* the network thread: connects, runs the loop, flushes */

    /* Hand-off of local messages to the network thread. A sender that finds
     * it idle publishes itself, which wakes the network thread, and arms it;
     * until that thread has published what piled up (after its next loop
     * turn), later senders only queue here. So a burst costs one wake-up and
     * the thread then writes its packets back to back, instead of one
     * wake-up of the network thread (and of the broker) per message. */
    GMutex handoff_lock;
    GMutex drain_lock;  /* held by whoever publishes from handoff */
    GQueue handoff;     /* of mqtt_handoff* in send order */
    bool handoff_armed; /* the network thread will drain handoff */

    atomic_bool connected; /* CONNACK seen, no disconnect since */
    atomic_bool live;      /* connected and the offline buffer flushed */
    atomic_bool refused_logged;
    atomic_int last_acked; /* mid of the last QoS>0 publish acknowledged */
    atomic_uint_fast64_t published, received, dropped, duplicates, invalid, connects;

    /* Recently seen message uids (published or received) to drop copies
     * arriving by a second path. */
    GMutex seen_lock;
    uint64_t seen_ring[MQTT_SEEN_MAX];  /* insertion order, 0 = unused */
    uint64_t seen_set[MQTT_SEEN_SLOTS]; /* linear probing, 0 = empty */
    unsigned seen_pos;

    json_tokener *tok; /* used only on the libmosquitto thread */

    /* The durable outbox (mqtt_outbox.c), under out_lock. outbox_ready is
     * under lock: the network thread connects once the cursor is decided. */
    GMutex out_lock;
    bmq_cursor *cursor;    /* (nullable) "outbox" over the history */
    GQueue track;          /* mqtt_track* in seq order, not yet past the cursor */
    GHashTable *track_seq; /* seq -> mqtt_track* not done */
    GHashTable *track_mid; /* mid -> mqtt_track* handed to libmosquitto, not done */
    GQueue held;           /* bmq_message* sent while the backlog is read */
    bool replaying;        /* the backlog is not read yet: live messages wait */
    bool outbox_ready;     /* the cursor is open, or known to be unavailable */
    unsigned unacked;      /* track entries not yet done */
    uint64_t replayed_to;  /* highest seq the cursor returned */
    uint64_t acked_seq;    /* last position saved */
    atomic_uint replayed;  /* backlog messages taken back */
} mqtt_bridge;

/* mqtt_link.c: the libmosquitto side. */
int mqtt_link__start(mqtt_bridge *b, char **error);
void mqtt_link__stop(mqtt_bridge *b);
/* Publish one message (any thread): direct, handed off, buffered or dropped. */
void mqtt_link__publish(mqtt_bridge *b, const bmq_message *m);
/* true if @uid was already seen; records it otherwise. */
bool mqtt_link__seen(mqtt_bridge *b, const char *uid);

/* mqtt_outbox.c: the durable outbox (QoS >= 1 with a history).
 * init/clear: before the link starts / after it stopped. open: main
 * thread, after the followers: opens the cursor "outbox" (or settles for
 * memory) and lets the network thread connect. hold: in a follower, true
 * when @m is not to be published now (the cursor returns it, or it waits
 * behind the backlog). take: @m is handed to the link (@skip false: its
 * seq to carry, 0 when untracked) or passed over (@skip true: returns 0).
 * give_up: dropped, not to be retried before a restart. publish:
 * mosquitto_publish of a tracked message, its mid recorded. acked: the
 * broker acknowledged @mid (on_publish). replay: network thread, one batch
 * of the backlog; true when there may be more now. */
void mqtt_outbox__init(mqtt_bridge *b);
void mqtt_outbox__open(mqtt_bridge *b);
void mqtt_outbox__clear(mqtt_bridge *b);
bool mqtt_outbox__hold(mqtt_bridge *b, const bmq_message *m);
uint64_t mqtt_outbox__take(mqtt_bridge *b, const bmq_message *m, bool skip);
void mqtt_outbox__give_up(mqtt_bridge *b, uint64_t seq);
int mqtt_outbox__publish(mqtt_bridge *b, uint64_t seq, const char *topic, const char *payload,
                         size_t len);
void mqtt_outbox__acked(mqtt_bridge *b, int mid);
bool mqtt_outbox__replay(mqtt_bridge *b);
void mqtt_outbox__status(mqtt_bridge *b, json_object *o);

#endif /* BMQ_MQTT_BRIDGE_H */
