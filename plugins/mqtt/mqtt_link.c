/* mqtt_link.c - the libmosquitto side of the MQTT bridge.
 *
 * Threads: one network thread per instance (link_main) connects, runs
 * libmosquitto's loop and reconnects; the connect/disconnect/message
 * callbacks run on it. Local messages are encoded in whatever thread sent
 * them (the follower is BMQ_FOLLOW_ANY_THREAD). The first of a burst is
 * published there: mosquitto_publish only queues the packet and wakes the
 * network thread (one write to its socket pair). The rest of the burst is
 * queued on b->handoff and published by the network thread after its loop
 * turn, in order, without a wake-up each (see mqtt_bridge.h). The offline
 * buffer is sent a moment after a reconnect, so hubs that come back at the
 * same time have subscribed again before the backlog arrives. Shared state:
 * atomics, b->lock (buffer, flush schedule, backoff), b->seen_lock (uid set)
 * and b->handoff_lock (hand-off queue); none of these is taken while another
 * is held. b->drain_lock (one drainer of the hand-off at a time) is held
 * while taking them, and never taken under any of them.
 */
#include <string.h>
#include <sys/ioctl.h>

#include "mqtt_bridge.h"
#include "mqtt_map.h"

/* libmosquitto's global state (and the TLS library's it sets up) is made
 * once and kept for the life of the process: cleaning it up when the last
 * instance goes would also tear down state that other users of OpenSSL in
 * the hub (libcurl) rely on. */
static void lib_init_once(void)
{
    static gsize once;
    if (g_once_init_enter(&once)) {
        mosquitto_lib_init();
        g_once_init_leave(&once, 1);
    }
}

static void pending_free(mqtt_pending *p)
{
    g_free(p->topic);
    g_free(p->payload);
    g_free(p);
}

static void count_drop(mqtt_bridge *b, const char *topic, int rc)
{
    uint64_t n = atomic_fetch_add(&b->dropped, 1) + 1;
    if (rc != MOSQ_ERR_SUCCESS && (n == 1 || n % 1000 == 0))
        b->host->log(b->host, BMQ_LOG_WARNING, "dropped a message to %s: %s (%llu dropped so far)",
                     topic, mosquitto_strerror(rc), (unsigned long long)n);
}

/* @seq: the durable outbox's entry (0: untracked), given up on failure. */
static int publish_now(mqtt_bridge *b, const char *topic, const char *payload, size_t len,
                       uint64_t seq)
{
    int rc = seq != 0 ? mqtt_outbox__publish(b, seq, topic, payload, len)
                      : mosquitto_publish(b->mosq, NULL, topic, (int)len, payload, b->cfg.qos,
                                          b->cfg.retain);
    if (rc == MOSQ_ERR_SUCCESS)
        atomic_fetch_add(&b->published, 1);
    else
        count_drop(b, topic, rc);
    return rc;
}

/* 64-bit multiply-xorshift over 8 bytes at a time (uids are 32 chars)
 * with a final mix; never 0 (the empty slot). Collisions among 8192 recent
 * uids are ~2^-38 likely: a negligible false drop. */
static uint64_t uid_hash(const char *s)
{
    size_t n = strlen(s);
    uint64_t h = 0xcbf29ce484222325ull ^ n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

static void seen_remove(mqtt_bridge *b, uint64_t h)
{
    const unsigned mask = MQTT_SEEN_SLOTS - 1;
    unsigned i = (unsigned)h & mask;
    while (b->seen_set[i] != h) {
        if (b->seen_set[i] == 0)
            return;
        i = (i + 1) & mask;
    }
    /* Backward-shift deletion keeps every probe chain unbroken. */
    for (unsigned j = (i + 1) & mask; b->seen_set[j] != 0; j = (j + 1) & mask) {
        unsigned home = (unsigned)b->seen_set[j] & mask;
        bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            b->seen_set[i] = b->seen_set[j];
            i = j;
        }
    }
    b->seen_set[i] = 0;
}

bool mqtt_link__seen(mqtt_bridge *b, const char *uid)
{
    if (uid == NULL)
        return false;
    const unsigned mask = MQTT_SEEN_SLOTS - 1;
    uint64_t h = uid_hash(uid);
    bool seen = false;
    g_mutex_lock(&b->seen_lock);
    unsigned i = (unsigned)h & mask;
    for (; b->seen_set[i] != 0; i = (i + 1) & mask) {
        if (b->seen_set[i] == h) {
            seen = true;
            break;
        }
    }
    if (!seen) {
        uint64_t old = b->seen_ring[b->seen_pos];
        if (old != 0) {
            seen_remove(b, old);
            /* the removal may have shifted the chain: find the free slot again */
            for (i = (unsigned)h & mask; b->seen_set[i] != 0; i = (i + 1) & mask)
                ;
        }
        b->seen_set[i] = h;
        b->seen_ring[b->seen_pos] = h;
        b->seen_pos = (b->seen_pos + 1) % MQTT_SEEN_MAX;
    }
    g_mutex_unlock(&b->seen_lock);
    return seen;
}

/* Caller holds b->lock. Takes ownership of topic and payload. */
static void buffer_push(mqtt_bridge *b, char *topic, char *payload, size_t len, uint64_t seq)
{
    if (b->cfg.buffer == 0) {
        count_drop(b, topic, MOSQ_ERR_NO_CONN);
        mqtt_outbox__give_up(b, seq);
        g_free(topic);
        g_free(payload);
        return;
    }
    if (b->buffer.length >= b->cfg.buffer) { /* full: the oldest goes */
        mqtt_pending *old = g_queue_pop_head(&b->buffer);
        count_drop(b, old->topic, MOSQ_ERR_NO_CONN);
        mqtt_outbox__give_up(b, old->seq);
        pending_free(old);
    }
    mqtt_pending *p = g_new(mqtt_pending, 1);
    p->topic = topic;
    p->payload = payload;
    p->len = len;
    p->seq = seq;
    g_queue_push_tail(&b->buffer, p);
}

/* One message on its way out: payload, a NUL, then the topic in one
 * buffer, as mosquitto_publish copies both anyway. */
typedef struct mqtt_handoff {
    size_t len, topic_at;
    uint64_t seq; /* the durable outbox's entry, 0 = untracked */
    char buf[];   /* payload '\0' topic '\0' */
} mqtt_handoff;

/* Would route() hand @b's next message to mosquitto_publish? */
static bool would_publish(mqtt_bridge *b)
{
    return b->cfg.qos == 0 ? atomic_load(&b->connected) : atomic_load(&b->live);
}

/* Publish, buffer or drop @h (taken). true if libmosquitto took the packet,
 * which also wakes the network thread. */
static bool route(mqtt_bridge *b, mqtt_handoff *h)
{
    const char *topic = h->buf + h->topic_at, *payload = h->buf;
    size_t len = h->len;
    int rc = MOSQ_ERR_NO_CONN;
    if (b->cfg.qos == 0) {
        if (atomic_load(&b->connected))
            rc = publish_now(b, topic, payload, len, 0);
        else
            count_drop(b, topic, MOSQ_ERR_SUCCESS);
    } else if (!atomic_load(&b->live)) {
        g_mutex_lock(&b->lock);
        if (!atomic_load(&b->live)) {
            buffer_push(b, g_strdup(topic), g_strndup(payload, len), len, h->seq);
            g_mutex_unlock(&b->lock);
            g_free(h);
            return false;
        }
        g_mutex_unlock(&b->lock);
        rc = publish_now(b, topic, payload, len, h->seq);
    } else {
        /* If the link dropped a moment ago libmosquitto queues QoS>=1
         * messages itself and sends them after the reconnect. */
        rc = publish_now(b, topic, payload, len, h->seq);
    }
    g_free(h);
    return rc == MOSQ_ERR_SUCCESS;
}

static void handoff_drain(mqtt_bridge *b);

void mqtt_link__publish(mqtt_bridge *b, const bmq_message *m)
{
    /* A message this bridge already carried (it came from the broker and
     * back to us by a link, say) is not published again. */
    if (mqtt_link__seen(b, bmq_message_uid(m))) {
        mqtt_outbox__take(b, m, true);
        return;
    }
    uint64_t seq = b->cfg.qos > 0 ? mqtt_outbox__take(b, m, false) : 0;
    size_t len;
    GString *s = mqtt_map__payload_string(m, b->origin_json, &len);
    g_string_append_c(s, '\0');
    size_t topic_at = s->len;
    mqtt_map__append_topic(s, b->cfg.prefix, bmq_message_namespace(m), bmq_message_name(m),
                           bmq_message_action(m));
    mqtt_handoff *h = g_malloc(sizeof *h + s->len + 1);
    h->len = len;
    h->topic_at = topic_at;
    h->seq = seq;
    memcpy(h->buf, s->str, s->len + 1);
    g_string_free(s, TRUE);

    g_mutex_lock(&b->handoff_lock);
    if (b->handoff_armed) {
        g_queue_push_tail(&b->handoff, h);
        g_mutex_unlock(&b->handoff_lock);
        return;
    }
    /* Arm only when route() will call mosquitto_publish, whose wake-up of
     * the network thread guarantees a drain. If the link state changes in
     * between, the network thread's loop turn ends and drains anyway. */
    bool armed = b->handoff_armed = would_publish(b);
    g_mutex_unlock(&b->handoff_lock);
    if (!route(b, h) && armed)
        handoff_drain(b); /* the link went down meanwhile: no wake-up is coming */
}

/* Network thread, a sender whose wake-up did not happen, or the stop after
 * the thread ended: publish what senders queued, in order, then disarm once
 * nothing is left. drain_lock keeps one drainer at a time, so batches go
 * out in the order they were queued. */
static void handoff_drain(mqtt_bridge *b)
{
    g_mutex_lock(&b->drain_lock);
    for (;;) {
        g_mutex_lock(&b->handoff_lock);
        if (b->handoff.length == 0) {
            b->handoff_armed = false;
            g_mutex_unlock(&b->handoff_lock);
            g_mutex_unlock(&b->drain_lock);
            return;
        }
        GQueue q = b->handoff;
        g_queue_init(&b->handoff);
        g_mutex_unlock(&b->handoff_lock);
        mqtt_handoff *h;
        while ((h = g_queue_pop_head(&q)) != NULL)
            route(b, h);
    }
}

/* Caller holds b->lock. */
static void flush_locked(mqtt_bridge *b)
{
    unsigned n = b->buffer.length;
    mqtt_pending *p;
    while ((p = g_queue_pop_head(&b->buffer)) != NULL) {
        publish_now(b, p->topic, p->payload, p->len, p->seq);
        pending_free(p);
    }
    atomic_store(&b->live, true);
    if (n > 0)
        b->host->log(b->host, BMQ_LOG_INFO, "sent %u messages buffered while offline", n);
}

/* Caller holds b->lock. Wait until stopping or @us passed. */
static void wait_locked(mqtt_bridge *b, gint64 us)
{
    gint64 end = g_get_monotonic_time() + us;
    while (!b->stopping && g_get_monotonic_time() < end)
        g_cond_wait_until(&b->cond, &b->lock, end);
}

/* Caller holds b->lock. Flush the offline buffer when its time has come;
 * returns how many ms the network loop may sleep before the next check. */
static int flush_due_locked(mqtt_bridge *b)
{
    if (b->flush_at == 0)
        return 1000;
    gint64 now = g_get_monotonic_time();
    if (now < b->flush_at)
        return (int)MIN(1000, (b->flush_at - now) / 1000 + 1);
    b->flush_at = 0;
    if (atomic_load(&b->connected))
        flush_locked(b);
    return 1000;
}

static GMutex connect_lock;

/* Packets read per loop turn beyond libmosquitto's one, at most. */
#define MQTT_READ_BURST 64

static bool bytes_waiting(struct mosquitto *mosq)
{
    int fd = mosquitto_socket(mosq), n = 0;
    return fd >= 0 && ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

#define MQTT_CONNECT_TIMEOUT_US (5 * G_USEC_PER_SEC)

/* The network thread. It runs libmosquitto's loop itself instead of
 * mosquitto_loop_start: that loop returns for good on some errors (a TLS
 * failure while reconnecting, for one), where a bridge must keep trying.
 * Connection attempts are non-blocking; between failed ones it waits with
 * backoff (reconnect_min doubling up to reconnect_max, reset by a CONNACK)
 * on b->cond, so a stop interrupts it at once. It also sends the offline
 * buffer when flush_at comes. */
static gpointer link_main(gpointer data)
{
    mqtt_bridge *b = data;
    const mqtt_config *c = &b->cfg;
    bool have_socket = false;
    uint64_t logged_at = UINT64_MAX; /* b->connects when the last failure was logged */
    gint64 attempt_at = 0;           /* when the current connection attempt started */
    g_mutex_lock(&b->lock);
    b->restart_delay = (gint64)c->reconnect_min * G_USEC_PER_SEC;
    /* The durable outbox first: what the cursor gives back goes out
     * before anything else. */
    while (!b->outbox_ready && !b->stopping)
        g_cond_wait(&b->cond, &b->lock);
    while (!b->stopping) {
        g_mutex_unlock(&b->lock);
        while (mqtt_outbox__replay(b))
            ;
        g_mutex_lock(&b->lock);
        if (b->stopping)
            break;
        if (!have_socket) {
            g_mutex_unlock(&b->lock);
            /* One connect at a time in the process: libmosquitto sets up
             * TLS globals lazily and without a lock on this path. */
            g_mutex_lock(&connect_lock);
            int rc = mosquitto_connect_async(b->mosq, c->host, c->port, c->keepalive);
            int err = errno;
            g_mutex_unlock(&connect_lock);
            g_mutex_lock(&b->lock);
            if (rc == MOSQ_ERR_SUCCESS) {
                have_socket = true;
                attempt_at = g_get_monotonic_time();
            } else {
                /* Once per outage: a connection since the last line re-arms it. */
                uint64_t n = atomic_load(&b->connects);
                if (n != logged_at && !atomic_load(&b->refused_logged))
                    b->host->log(b->host, BMQ_LOG_WARNING,
                                 "broker %s:%d not reachable (%s); retrying", c->host, c->port,
                                 rc == MOSQ_ERR_ERRNO ? g_strerror(err) : mosquitto_strerror(rc));
                logged_at = n;
                wait_locked(b, b->restart_delay);
                b->restart_delay =
                    MIN(b->restart_delay * 2, (gint64)c->reconnect_max * G_USEC_PER_SEC);
                continue;
            }
        }
        int timeout = flush_due_locked(b);
        g_mutex_unlock(&b->lock);
        int rc = mosquitto_loop(b->mosq, timeout, 1);
        /* mosquitto_loop reads one QoS 0 packet per turn, each after its
         * own pselect; while bytes are already waiting, read on. */
        for (int i = 0; rc == MOSQ_ERR_SUCCESS && i < MQTT_READ_BURST && bytes_waiting(b->mosq);
             i++)
            rc = mosquitto_loop_read(b->mosq, 1);
        handoff_drain(b);
        if (rc == MOSQ_ERR_SUCCESS && !atomic_load(&b->connected) &&
            g_get_monotonic_time() - attempt_at > MQTT_CONNECT_TIMEOUT_US) {
            /* No CONNACK in time (a handshake the broker dropped when it
             * restarted, for one): give up on this socket and start over. */
            mosquitto_disconnect(b->mosq);
            rc = MOSQ_ERR_NO_CONN;
        }
        g_mutex_lock(&b->lock);
        if (rc != MOSQ_ERR_SUCCESS && !b->stopping) {
            /* Connection gone or never made: on_disconnect has run for a
             * lost one. Try again after the backoff. */
            have_socket = false;
            wait_locked(b, b->restart_delay);
            b->restart_delay = MIN(b->restart_delay * 2, (gint64)c->reconnect_max * G_USEC_PER_SEC);
        }
    }
    g_mutex_unlock(&b->lock);
    /* Stopping: let the DISCONNECT queued by mqtt_link__stop go out, so the
     * broker does not publish the last will. */
    for (int i = 0; i < 20 && mosquitto_socket(b->mosq) >= 0; i++)
        if (mosquitto_loop(b->mosq, 50, 1) != MOSQ_ERR_SUCCESS)
            break;
    return NULL;
}

/* Publish (retained, QoS 1) or with @set false clear HUBID:online or
 * HUBID:offline. Returns the message id. */
static int publish_status(mqtt_bridge *b, const char *action, bool set)
{
    const char *topic = strcmp(action, "online") == 0 ? b->topic_online : b->topic_offline;
    int mid = -1;
    if (!set) { /* an empty retained message clears the retained one */
        mosquitto_publish(b->mosq, &mid, topic, 0, NULL, 1, true);
        return mid;
    }
    char *payload = g_strdup_printf("{\"id\":\"%s:%s\",\"args\":[],\"kwargs\":{},\"origin\":%s}",
                                    b->cfg.hub_id, action, b->origin_json);
    mosquitto_publish(b->mosq, &mid, topic, (int)strlen(payload), payload, 1, true);
    g_free(payload);
    return mid;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    mqtt_bridge *b = obj;
    /* Acknowledgements of one connection come in order: the last one seen
     * tells the shutdown when everything before it reached the broker. */
    atomic_store(&b->last_acked, mid);
    mqtt_outbox__acked(b, mid);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    mqtt_bridge *b = obj;
    if (rc != 0) {
        if (!atomic_exchange(&b->refused_logged, true))
            b->host->log(b->host, BMQ_LOG_ERROR, "broker %s:%d refused the connection: %s",
                         b->cfg.host, b->cfg.port, mosquitto_connack_string(rc));
        return;
    }
    atomic_store(&b->refused_logged, false);
    atomic_fetch_add(&b->connects, 1);
    b->host->log(b->host, BMQ_LOG_INFO, "connected to %s:%d as %s", b->cfg.host, b->cfg.port,
                 b->cfg.client_id);
    int n = (int)g_strv_length(b->filters);
    if (n > 0) {
        int src = mosquitto_subscribe_multiple(mosq, NULL, n, b->filters, b->cfg.qos, 0, NULL);
        if (src != MOSQ_ERR_SUCCESS)
            b->host->log(b->host, BMQ_LOG_ERROR, "subscribe failed: %s", mosquitto_strerror(src));
    }
    publish_status(b, "online", true);
    publish_status(b, "offline", false);
    atomic_store(&b->connected, true);

    g_mutex_lock(&b->lock);
    b->restart_delay = (gint64)b->cfg.reconnect_min * G_USEC_PER_SEC;
    if (b->buffer.length == 0) {
        atomic_store(&b->live, true);
    } else {
        b->flush_at = g_get_monotonic_time() + (gint64)(b->cfg.flush_delay * G_USEC_PER_SEC);
        g_cond_signal(&b->cond);
    }
    g_mutex_unlock(&b->lock);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    mqtt_bridge *b = obj;
    bool was = atomic_exchange(&b->connected, false);
    atomic_store(&b->live, false);
    if (rc != 0 && was)
        b->host->log(b->host, BMQ_LOG_WARNING, "lost the broker %s:%d (%s); reconnecting",
                     b->cfg.host, b->cfg.port, mosquitto_strerror(rc));
    else if (rc != 0 && !atomic_exchange(&b->refused_logged, true))
        /* Failed before CONNACK: a TLS error, plain MQTT to a TLS port... */
        b->host->log(b->host, BMQ_LOG_WARNING, "connecting to %s:%d failed (%s); retrying",
                     b->cfg.host, b->cfg.port, mosquitto_strerror(rc));
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *mm)
{
    mqtt_bridge *b = obj;
    if (mm->payloadlen == 0)
        return; /* a cleared retained message, not an event */
    char id[BMQ_ID_MAX + 1];
    if (!mqtt_map__id_from_topic_buf(b->cfg.prefix, b->prefix_len, mm->topic, id, sizeof id)) {
        if (atomic_fetch_add(&b->invalid, 1) == 0)
            b->host->log(b->host, BMQ_LOG_WARNING,
                         "ignoring topic \"%s\": not PREFIX/ns/name/action with valid parts",
                         mm->topic);
        return;
    }
    mqtt_envelope env;
    mqtt_map__parse_payload_lazy(mm->payload, (size_t)mm->payloadlen, b->tok, &env);
    if (env.origin != NULL && strcmp(env.origin, b->cfg.hub_id) == 0) {
        mqtt_envelope_clear(&env); /* our own message coming back */
        return;
    }
    if (env.uid != NULL && mqtt_link__seen(b, env.uid)) {
        atomic_fetch_add(&b->duplicates, 1);
        mqtt_envelope_clear(&env);
        return;
    }
    int err = 0;
    bmq_message *m = bmq_message_new_full(id, env.args, env.kwargs, env.uid, b, &err);
    env.args = env.kwargs = NULL;
    if (m == NULL || b->host->twitter_message(b->host, m) != 0) {
        if (atomic_fetch_add(&b->invalid, 1) == 0)
            b->host->log(b->host, BMQ_LOG_WARNING, "could not deliver %s: %s", id,
                         bmq_strerror(err ? err : -BMQ_EINVAL));
    } else {
        atomic_fetch_add(&b->received, 1);
    }
    mqtt_envelope_clear(&env);
}

int mqtt_link__start(mqtt_bridge *b, char **error)
{
    lib_init_once();
    const mqtt_config *c = &b->cfg;
    b->mosq = mosquitto_new(c->client_id, true, b);
    if (b->mosq == NULL) {
        *error = g_strdup_printf("cannot create the MQTT client: %s", g_strerror(errno));
        return -BMQ_ENOMEM;
    }
    mosquitto_int_option(b->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    int rc = MOSQ_ERR_SUCCESS;
    if (c->username != NULL)
        rc = mosquitto_username_pw_set(b->mosq, c->username, c->password);
    if (rc == MOSQ_ERR_SUCCESS && c->tls) {
        const char *capath = c->ca == NULL && c->capath == NULL ? "/etc/ssl/certs" : c->capath;
        rc = mosquitto_tls_set(b->mosq, c->ca, capath, c->cert, c->key, NULL);
        if (rc == MOSQ_ERR_SUCCESS && c->tls_insecure)
            rc = mosquitto_tls_insecure_set(b->mosq, true);
    }
    if (rc == MOSQ_ERR_SUCCESS) {
        char *will =
            g_strdup_printf("{\"id\":\"%s:offline\",\"args\":[],\"kwargs\":{},\"origin\":%s}",
                            c->hub_id, b->origin_json);
        rc = mosquitto_will_set(b->mosq, b->topic_offline, (int)strlen(will), will, 1, true);
        g_free(will);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        *error = g_strdup_printf("MQTT client setup failed: %s", mosquitto_strerror(rc));
        mosquitto_destroy(b->mosq);
        b->mosq = NULL;
        return -BMQ_EINVAL;
    }
    mosquitto_reconnect_delay_set(b->mosq, c->reconnect_min, c->reconnect_max, true);
    mosquitto_connect_callback_set(b->mosq, on_connect);
    mosquitto_disconnect_callback_set(b->mosq, on_disconnect);
    mosquitto_message_callback_set(b->mosq, on_message);

    mosquitto_publish_callback_set(b->mosq, on_publish);
    /* Our own thread runs the loop: publishes from other threads must only
     * queue their packets and wake it. */
    mosquitto_threaded_set(b->mosq, true);
    b->worker = g_thread_new("mqtt-link", link_main, b);
    return 0;
}

/* Senders are gone (the followers are removed first): wait (briefly) until
 * the network thread has published what they handed off, so it goes out
 * before the goodbye and is covered by the wait for its acknowledgement.
 * The queue is only ever non-empty while armed, and an armed queue has a
 * wake-up of the network thread pending. */
static void handoff_settle(mqtt_bridge *b)
{
    gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
    for (;;) {
        g_mutex_lock(&b->handoff_lock);
        bool armed = b->handoff_armed;
        g_mutex_unlock(&b->handoff_lock);
        if (!armed || b->worker == NULL || g_get_monotonic_time() >= end)
            return;
        g_usleep(1000);
    }
}

void mqtt_link__stop(mqtt_bridge *b)
{
    if (b->mosq == NULL)
        return;
    handoff_settle(b);
    if (atomic_load(&b->connected)) {
        /* Say goodbye, and wait (briefly) until the broker has it and all
         * that was published before: libmosquitto drops packets still
         * queued when the connection is closed. */
        publish_status(b, "offline", true);
        int mid = publish_status(b, "online", false);
        gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
        while (mid > 0 && atomic_load(&b->last_acked) != mid && atomic_load(&b->connected) &&
               g_get_monotonic_time() < end)
            g_usleep(1000);
    }
    /* Queue the DISCONNECT (the network thread sends it before it ends),
     * then stop that thread. */
    mosquitto_disconnect(b->mosq);
    g_mutex_lock(&b->lock);
    b->stopping = true;
    g_cond_signal(&b->cond);
    g_mutex_unlock(&b->lock);
    if (b->worker != NULL)
        g_thread_join(b->worker);
    b->worker = NULL;
    atomic_store(&b->connected, false);
    atomic_store(&b->live, false);
    handoff_drain(b); /* into the offline buffer (counted below) or dropped */
    mosquitto_destroy(b->mosq);
    b->mosq = NULL;
    unsigned left = b->buffer.length;
    if (left > 0 && b->cursor == NULL) /* else the history keeps them */
        b->host->log(b->host, BMQ_LOG_WARNING, "%u buffered messages were never sent", left);
    g_queue_clear_full(&b->buffer, (GDestroyNotify)pending_free);
}
