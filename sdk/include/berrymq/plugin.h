/* plugin.h - the berryMQ plugin ABI, plugin side: what a plugin includes.
 * (The program side, which finds, loads and instantiates plugins, is
 * berrymq/host.h.)
 *
 * A plugin is a shared object exporting one function, BMQ_PLUGIN_ENTRY,
 * which returns a const descriptor. The host states the ABI versions it
 * supports; the plugin answers with the descriptor of the one it speaks (or
 * NULL). create() makes one instance from its JSON config; a plugin may be
 * instantiated many times. Every follower, queue and main-loop source an
 * instance makes through its bmq_host table is recorded and removed on
 * destroy, even if the plugin forgot.
 *
 * Growth without a new ABI version. Both structures crossing the boundary
 * start with their size as the side that filled them was built:
 *   - the host table (bmq_host.size): a plugin built against a newer header
 *     tests BMQ_HOST_HAS(host, field) before using a field appended after
 *     the ones its oldest supported host knows; a plugin built against an
 *     older header simply never sees the fields appended since;
 *   - the descriptor (bmq_plugin_descriptor.size, always set to
 *     sizeof(bmq_plugin_descriptor)): the host reads no field past it, so a
 *     plugin built against an older header gets the defaults (NULL) for
 *     fields appended since, and a host older than the plugin ignores the
 *     fields it does not know. A size of 0 (a descriptor from before the
 *     field existed) reads as the ABI 1 layout up to and including status.
 * Fields are only ever appended; a change to an existing field is a new ABI
 * version. The library's own functions are versioned symbols (BERRYMQ_0):
 * a plugin linked against this library keeps the symbols it was linked
 * with. Details and rules: docs/plugins.md.
 *
 * Threading: instance callbacks (followers, sources) run on the host's main
 * thread (the GMainContext in bmq_host.context) unless the follower was made
 * with BMQ_FOLLOW_ANY_THREAD. Plugin threads hand work back with
 * host->invoke(), the one thread-safe entry besides twitter/log.
 */
#ifndef BERRYMQ_PLUGIN_H
#define BERRYMQ_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>

#include <glib.h>

#include <berrymq/berrymq.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI versions. The host supports [BMQ_PLUGIN_ABI_MIN, BMQ_PLUGIN_ABI_MAX]. */
#define BMQ_PLUGIN_ABI_1 1u
#define BMQ_PLUGIN_ABI_MIN 1u
#define BMQ_PLUGIN_ABI_MAX 1u

#define BMQ_PLUGIN_ENTRY bmq_plugin_entry
#define BMQ_PLUGIN_ENTRY_SYMBOL "bmq_plugin_entry"

/* True when a structure of @type that declares its own @size (in bytes, as
 * the side that filled it was built) holds @field in full. */
#define BMQ_STRUCT_HAS(size, type, field)                                                          \
    ((size_t)(size) >= offsetof(type, field) + sizeof(((type *)0)->field))

/* Log levels: BMQ_LOG_* in berrymq/berrymq.h. */

/* Follow flags. */
enum {
    BMQ_FOLLOW_MAIN_THREAD = 0,  /* default: fn runs on the host main loop */
    BMQ_FOLLOW_ANY_THREAD = 1,   /* fn runs in the sender's/pool thread; must be thread-safe */
};

typedef struct bmq_host bmq_host;
/* A durable cursor over the program's message history (host->history_cursor). */
typedef struct bmq_cursor bmq_cursor;

/* One per instance, owned by the host, read-only for the plugin, valid
 * from create() until destroy() returns. The first field is its size: a
 * plugin built against a newer header checks BMQ_HOST_HAS() before using a
 * field the host may lack. Fields are only ever appended. */
struct bmq_host {
    size_t size;                 /* sizeof(struct bmq_host) as the host built it */
    uint32_t abi;                /* the negotiated ABI version */
    const char *instance_id;     /* (transfer none) e.g. "tick10" */
    const char *data_dir;        /* (transfer none) per-instance directory DATA_ROOT/ID,
                                  * created (0700) before create() is called */
    json_object *config;         /* (transfer none) the instance config object (never NULL) */
    GMainContext *context;       /* (transfer none) the main context callbacks run on */
    const char *node_id;         /* (transfer none) stable id of this host process/node */
    void *priv;                  /* host-private; do not touch */

    /* Send a message; args/kwargs (transfer full) in every case. Any
     * thread.
     * Returns: 0; -BMQ_EID (bad id), -BMQ_ETYPE or -BMQ_ENOMEM, as
     * bmq_twitter. */
    int (*twitter)(const bmq_host *h, const char *id, json_object *args, json_object *kwargs);
    /* Send a prebuilt message (transfer full), also on error. Any thread.
     * Returns: 0; -BMQ_EINVAL for a NULL message. */
    int (*twitter_message)(const bmq_host *h, bmq_message *msg);
    /* Follow; see BMQ_FOLLOW_*.
     * Returns: (transfer none) a handle owned by the host, valid until
     * unfollow or the instance's destroy; NULL on a bad pattern or a NULL
     * fn. */
    bmq_follower *(*follow)(const bmq_host *h, const char *pattern, bmq_follower_fn fn,
                            bmq_guard_fn guard, void *user_data, unsigned flags);
    void (*unfollow)(const bmq_host *h, bmq_follower *f);
    /* Standalone/shared queue tracked for this instance.
     * Returns: (transfer none) a queue owned by the host, valid until
     * queue_free or the instance's destroy; NULL on a bad pattern. */
    bmq_queue *(*queue_new)(const bmq_host *h, const char *pattern, bool shared);
    void (*queue_free)(const bmq_host *h, bmq_queue *q);
    /* Attach @source to the main context and track it. As with
     * g_source_attach the host adds its own reference: the caller still
     * unrefs its own. Remove with source_remove (id 0 is ignored).
     * Sources still attached are destroyed when the instance is.
     * Returns: the source id; 0 for a NULL @source. */
    guint (*source_attach)(const bmq_host *h, GSource *source);
    void (*source_remove)(const bmq_host *h, guint id);
    /* Convenience: tracked g_timeout_add on the host context. A callback
     * returning G_SOURCE_REMOVE is untracked automatically.
     * Returns: the source id; 0 when fn is NULL. */
    guint (*timeout_add)(const bmq_host *h, guint interval_ms, GSourceFunc fn, void *data);
    /* Log a line prefixed with the instance id. Any thread. */
    void (*log)(const bmq_host *h, int level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
    /* Run fn(data) on the main thread soon; free(data) afterwards (nullable).
     * Any thread. If the instance is destroyed first, fn is not run but free
     * still is. */
    void (*invoke)(const bmq_host *h, void (*fn)(void *data), void *data, GDestroyNotify free_fn);

    /* ---- Durable cursors over the program's message history ----------
     * For forwarders and backlogs that must not lose what was acknowledged
     * to its sender: a cursor is a position in the history, saved by the
     * host (the hub: in history.db, table "cursors"), named per instance.
     * Test BMQ_HOST_HAS(h, cursor_close) before using any of the five.
     * The intended use (docs/plugins.md, "Durable cursors"):
     *   1. follow(h, pattern, ...) as usual, first;
     *   2. c = history_cursor(h, "out", pattern, &err); NULL: no history,
     *      keep an in-memory outbox as before;
     *   3. cursor_next() in batches and deliver, until it returns fewer
     *      than asked: the backlog stored before the open is done;
     *   4. in the follower, deliver a message only if cursor_live() is
     *      true (else the cursor has returned it or will);
     *   5. cursor_ack(seq) once a message is delivered (in seq order).
     * Delivery is at least once: what was delivered but not yet acked (or
     * acked in the last few milliseconds before a crash) comes again.
     * Messages carry their seq: bmq_message_seq(). A cursor may be used
     * from any one thread at a time. */

    /* Open the instance's cursor @name (the same rule as instance ids)
     * over the messages matching @pattern (nullable: every message; use
     * the pattern you follow). A saved cursor resumes where its last ack
     * left it: cursor_next returns what was stored after that and before
     * the open, cursor_live claims the rest. A new cursor starts at the end
     * of the history: cursor_next has nothing, every message is live.
     * Returns: (transfer none) the cursor, owned by the host, valid until
     * cursor_close or the instance's destroy (which closes it; its acks
     * stay saved); NULL with *error (nullable; transfer full, g_free) when
     * the program keeps no history (history off, or a program that
     * offers none), the name or pattern is invalid, the cursor is already
     * open, or the store cannot be read. */
    bmq_cursor *(*history_cursor)(const bmq_host *h, const char *name, const char *pattern,
                                  char **error);
    /* Up to @max (1..10000) stored messages after the cursor's read
     * position that match its pattern, in seq order, into @out; advances
     * the read position (not the saved one: see cursor_ack). Waits until
     * what was sent before the call is stored (a few milliseconds). Call
     * it from a worker thread when the backlog may be large. Once it has
     * returned fewer than @max, the cursor is caught up with what was
     * stored before the open: later messages come through your follower
     * (cursor_live) and a plugin that follows stops calling cursor_next;
     * one that does not follow may keep calling it to poll what has been
     * stored since.
     * Returns: the number of messages (0..max), each (transfer full) to be
     * released with bmq_message_unref, stamped with its seq; or
     * -BMQ_EINVAL (NULL cursor/out, max out of range), -BMQ_EIO (the store
     * cannot be read; nothing was returned, try again later). */
    int (*cursor_next)(const bmq_host *h, bmq_cursor *c, bmq_message **out, unsigned max);
    /* In a follower: whether @m is the follower's to deliver. Any thread.
     * Returns: true when it is (it was not stored, or was stored after the
     * open); false when cursor_next has returned it or will. */
    bool (*cursor_live)(const bmq_host *h, bmq_cursor *c, const bmq_message *m);
    /* Save the position: every matching message with seq <= @seq has been
     * delivered. Never moves backwards; 0 is ignored. Does not wait: the
     * position is written with the history's next commit (milliseconds).
     * Returns: 0, or -BMQ_EINVAL (NULL cursor). */
    int (*cursor_ack)(const bmq_host *h, bmq_cursor *c, uint64_t seq);
    /* Close @c (NULL-safe); the saved position stays for the next open. */
    void (*cursor_close)(const bmq_host *h, bmq_cursor *c);
    /* The newest @max (1..10000) stored messages matching @pattern
     * (nullable: every message) with a seq below @before (0: no bound),
     * oldest first, into @out; their times (microseconds since the epoch)
     * into @time_us (nullable, @max entries). For a view that shows what
     * came before it started (the message monitor). Reads the disk: a few
     * milliseconds for a thousand messages. Test BMQ_HOST_HAS(h,
     * history_recent).
     * Returns: the number of messages, each (transfer full) stamped with
     * its seq; -BMQ_ENOENT when the program keeps no history, -BMQ_EINVAL
     * (NULL out, max out of range, bad pattern), -BMQ_EIO (unreadable). */
    int (*history_recent)(const bmq_host *h, const char *pattern, uint64_t before,
                          bmq_message **out, int64_t *time_us, unsigned max);
    /* Run @fn(@data) on the main thread once every message this thread
     * has sent so far (twitter, twitter_message) is stored as the
     * program's history asks (committed per its "sync" setting), then
     * @free_fn(@data) (nullable). For a receiver that acknowledges to its
     * sender only what a crash cannot lose: send, call when_stored, answer
     * in @fn. Calls from one thread run in the order made. Without a
     * history (or with "sync": "off") @fn runs soon, as with invoke. Any
     * thread. If the instance stops first, @fn is not run; @free_fn still
     * is, on the main thread (in the calling thread when the instance is
     * already stopping). Test BMQ_HOST_HAS(h, when_stored). */
    void (*when_stored)(const bmq_host *h, void (*fn)(void *data), void *data,
                        GDestroyNotify free_fn);
    /* Append new members here only; a plugin using one tests BMQ_HOST_HAS. */
};

/* True when the host table @h (const bmq_host *) has @field. */
#define BMQ_HOST_HAS(h, field) BMQ_STRUCT_HAS((h)->size, struct bmq_host, field)

/* The descriptor a plugin returns. Static storage, never freed. Its
 * initializer starts with .abi = BMQ_PLUGIN_ABI_1 and
 * .size = sizeof(bmq_plugin_descriptor). */
typedef struct bmq_plugin_descriptor {
    uint32_t abi;                 /* the ABI version this descriptor speaks */
    uint32_t size;                /* sizeof(bmq_plugin_descriptor) as the plugin built it */
    const char *name;             /* [a-z0-9_-]+, e.g. "timer" */
    const char *version;          /* plugin version, free text */
    const char *description;      /* one line */
    /* Make an instance. @host (transfer none) is valid until destroy()
     * returns; @config (transfer none) is a JSON object, valid during the
     * call (host->config stays valid for the instance's life).
     * Returns: (transfer full: the host hands it back to destroy()) the
     * instance; on failure NULL, with *error (transfer full, g_malloc'd)
     * set to one line. */
    void *(*create)(const bmq_host *host, json_object *config, char **error);
    /* Free an instance. The host removes remaining tracked registrations
     * right after destroy returns. */
    void (*destroy)(void *instance);
    /* Optional (nullable): apply a new config in place. If NULL, the host
     * recreates.
     * Returns: 0; or a negative BMQ_E* with *error (transfer full,
     * g_malloc'd) set, and the old config stays. */
    int (*reconfigure)(void *instance, json_object *config, char **error);
    /* Optional (nullable): status for "berrymq status".
     * Returns: (transfer full) a JSON value (an object by convention); NULL
     * shows as null. */
    json_object *(*status)(void *instance);
    /* Append new members here only; the host reads none past .size. */
} bmq_plugin_descriptor;

/* True when the descriptor @d (as the plugin built it) has @field. */
#define BMQ_DESCRIPTOR_HAS(d, field) BMQ_STRUCT_HAS((d)->size, bmq_plugin_descriptor, field)

typedef const bmq_plugin_descriptor *(*bmq_plugin_entry_fn)(uint32_t host_abi_min,
                                                            uint32_t host_abi_max);

#define BMQ_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Declare the entry in a plugin:
 *   BMQ_PLUGIN_DEFINE(my_descriptor)
 * answers with my_descriptor when the host supports its ABI. */
#define BMQ_PLUGIN_DEFINE(desc)                                                          \
    BMQ_PLUGIN_EXPORT const bmq_plugin_descriptor *BMQ_PLUGIN_ENTRY(uint32_t abi_min,    \
                                                                    uint32_t abi_max);  \
    BMQ_PLUGIN_EXPORT const bmq_plugin_descriptor *BMQ_PLUGIN_ENTRY(uint32_t abi_min,    \
                                                                    uint32_t abi_max)   \
    {                                                                                    \
        return ((desc).abi >= abi_min && (desc).abi <= abi_max) ? &(desc) : NULL;        \
    }

/* ---- Reading an instance config ----
 *
 * One helper per type, so every plugin reads its config the same way and
 * refuses it with the same words. @key names a member of @config; a dotted
 * key ("tls.ca") descends into nested objects. A member that is absent or
 * JSON null leaves *out as it was (the caller's default) unless the flags
 * say BMQ_CONFIG_REQUIRED. The error text names the key and what it
 * expects, never the value of a string (it may be a secret):
 *     key 'qos': expected an integer from 0 to 2, got 5
 *     key 'url': expected a non-empty string, got an integer
 *     unknown key 'colour' (known: url, filter, format)
 * The host puts "instance 'ID': " in front of what create/reconfigure
 * return, so the line a user reads names both the instance and the key.
 *
 * Common to all: @config (transfer none, nullable: then every key is
 * absent) is a JSON object; @error (nullable) receives one line (transfer
 * full, g_free) on failure, else is left alone. Any thread; no state.
 * Returns: 0 (read, or absent and not required); -BMQ_ETYPE when the
 * member (or an object on its dotted path) has the wrong JSON type;
 * -BMQ_EINVAL when it is out of range, empty against BMQ_CONFIG_NONEMPTY,
 * or absent against BMQ_CONFIG_REQUIRED. On failure *out is unchanged. */
enum {
    BMQ_CONFIG_REQUIRED = 1u << 0, /* absent or null is an error */
    BMQ_CONFIG_NONEMPTY = 1u << 1, /* string: not ""; strv: at least one element */
};

/* A JSON string. On success the old *out is g_free()d and replaced by a
 * copy (transfer full, g_free): start from NULL or a g_malloc'd default.
 * Returns: 0, -BMQ_ETYPE or -BMQ_EINVAL, as above. */
BMQ_API int bmq_config_get_string(json_object *config, const char *key, unsigned flags,
                                  char **out, char **error);
/* A JSON integer (not a fraction, not a string) within [min, max].
 * Returns: 0, -BMQ_ETYPE or -BMQ_EINVAL, as above. */
BMQ_API int bmq_config_get_int(json_object *config, const char *key, unsigned flags, int64_t min,
                               int64_t max, int64_t *out, char **error);
/* A JSON number (integer or fractional), finite, within [min, max].
 * Returns: 0, -BMQ_ETYPE or -BMQ_EINVAL, as above. */
BMQ_API int bmq_config_get_double(json_object *config, const char *key, unsigned flags,
                                  double min, double max, double *out, char **error);
/* true or false (not 0/1, not "yes").
 * Returns: 0, -BMQ_ETYPE or -BMQ_EINVAL, as above. */
BMQ_API int bmq_config_get_bool(json_object *config, const char *key, unsigned flags, bool *out,
                                char **error);
/* A string (a list of one) or an array of strings. On success the old
 * *out is g_strfreev()d and replaced by a NULL-terminated copy (transfer
 * full, g_strfreev).
 * Returns: 0, -BMQ_ETYPE or -BMQ_EINVAL, as above. */
BMQ_API int bmq_config_get_strv(json_object *config, const char *key, unsigned flags,
                                char ***out, char **error);
/* Refuse members of @config not listed in @known (NULL-terminated): the
 * first unknown one is named with the list of known keys.
 * Returns: 0 (also for a NULL @config); -BMQ_ETYPE when @config is not an
 * object; -BMQ_EINVAL for an unknown key. */
BMQ_API int bmq_config_check_keys(json_object *config, const char *const *known, char **error);

/* Returns: (transfer none) "error", "warning", "notice", "info" or "debug"
 * for a BMQ_LOG_* level, a static string; never NULL ("debug" for any
 * other value). */
BMQ_API const char *bmq_log_level_name(int level);

#ifdef __cplusplus
}
#endif

#endif /* BERRYMQ_PLUGIN_H */
