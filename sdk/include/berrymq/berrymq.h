/* berrymq.h - umbrella header of libberrymq, the berryMQ message model in C.
 *
 * A message has an identifier "name:action" (optionally "name@ns:action")
 * plus JSON args (array) and kwargs (object). Receivers follow identifier
 * patterns (push) or pull from queues. Every call takes the bus first; a
 * process-wide default bus exists for programs that need only one.
 *
 * Ownership notes use the GLib vocabulary: (transfer full) the callee takes
 * or the caller receives ownership; (transfer none) borrowed; (nullable) may
 * be NULL. All functions are thread-safe unless stated otherwise.
 */
#ifndef BERRYMQ_BERRYMQ_H
#define BERRYMQ_BERRYMQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include <berrymq/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(BMQ_BUILDING)
#define BMQ_API __attribute__((visibility("default")))
#else
#define BMQ_API
#endif

/* ---- Error codes (0 is success; functions return the negative value) ---- */
enum {
    BMQ_OK = 0,
    BMQ_EINVAL = 1,     /* invalid argument */
    BMQ_EID = 2,        /* malformed identifier or pattern */
    BMQ_ENOMEM = 3,     /* out of memory */
    BMQ_ETIMEDOUT = 4,  /* timed out */
    BMQ_EFULL = 5,      /* queue full (overflow policy: reject) */
    BMQ_EEMPTY = 6,     /* queue empty */
    BMQ_ECLOSED = 7,    /* object closed / being destroyed */
    BMQ_ENET = 8,       /* network / peer unreachable */
    BMQ_EPROTO = 9,     /* protocol error (malformed reply, RPC error) */
    BMQ_ETOKEN = 10,    /* invalid or expired connection token */
    BMQ_EDENIED = 11,   /* refused (auth, allow-list, policy) */
    BMQ_EABI = 12,      /* plugin ABI mismatch */
    BMQ_ELOAD = 13,     /* plugin could not be loaded */
    BMQ_EEXIST = 14,    /* already exists */
    BMQ_ENOENT = 15,    /* no such object */
    BMQ_EIO = 16,       /* I/O error */
    BMQ_ETYPE = 17,     /* wrong JSON type */
    BMQ_EFAILED = 18,   /* generic failure reported by a wrapped call */
    BMQ_EBUSY = 19,     /* address or resource in use */
};

/* How every public call fails, in all of libberrymq's headers:
 *   - a function returning int returns 0 or a negative BMQ_E* code;
 *   - a function returning a pointer returns NULL and, where it has the
 *     parameters, sets *code (nullable) to the negative BMQ_E* code;
 *   - a `char **error` parameter (nullable) receives one line of English
 *     for people, (transfer full): free it with g_free. It is set to NULL
 *     on success (and left NULL by functions that fail without a line).
 * Each function's comment has a "Returns:" block naming the codes it can
 * yield, and says of every pointer it returns who owns it: (transfer
 * full) yours to free, with the function named; (transfer none) borrowed,
 * with how long it stays valid.
 * Decide by the code, never by the text: the text may change. Over
 * JSON-RPC a code travels as bmq_rpc_code() (berrymq/net.h). */

/* Log levels (syslog numbering), for every log sink of the library: the
 * plugin host's (berrymq/plugin.h) and the server's (berrymq/net.h). */
enum {
    BMQ_LOG_ERROR = 3,
    BMQ_LOG_WARNING = 4,
    BMQ_LOG_NOTICE = 5,
    BMQ_LOG_INFO = 6,
    BMQ_LOG_DEBUG = 7,
};

/* An English description of an error code (either sign).
 * Returns: (transfer none) a static string; never NULL ("unknown error"
 * for a code that is not one). */
BMQ_API const char *bmq_strerror(int code);

/* Returns: (transfer none) the library version string, e.g. "0.1.0",
 * static; never NULL. */
BMQ_API const char *bmq_version(void);

typedef struct bmq_bus bmq_bus;
typedef struct bmq_message bmq_message;
typedef struct bmq_follower bmq_follower;
typedef struct bmq_queue bmq_queue;

/* ---- Identifiers ----------------------------------------------------------
 * Written form          name    action  namespace
 *   "test:run"          test    run     ""  (default namespace)
 *   "test" / "test:*"   test    *
 *   "*:run"             *       run
 *   "*" / "*:*"         *       *
 *   "name@ns:action"    name    action  ns
 *   "name@*:action"     any namespace (patterns only; an extension used by
 *                       bridges that must see every namespace)
 * A name starting with '_' is local: it never leaves the process.
 * Limits: total length 1..255 bytes (253 for a bare name, which normalizes
 * to "name:*"), at most one ':' and one '@' (before the ':'), no empty part,
 * no NUL, no whitespace or control characters. A part is either "*" or
 * contains no '*'.
 */
#define BMQ_ID_MAX 255

/* Returns: 0 if @id is a valid identifier or pattern; -BMQ_EID otherwise
 * (also for NULL). */
BMQ_API int bmq_id_validate(const char *id);
/* The same for @len bytes of @id, which need not be NUL-terminated: for
 * strings from the wire, where an embedded NUL must be rejected rather than
 * silently cut the identifier short.
 * Returns: 0 or -BMQ_EID, as bmq_id_validate. */
BMQ_API int bmq_id_validate_len(const char *id, size_t len);

/* Symmetric match of two identifiers (either side may hold wildcards).
 * Returns: true when they match; false when not, or when either is
 * invalid. */
BMQ_API bool bmq_id_match(const char *a, const char *b);

/* ---- Messages ---------------------------------------------------------- */

/* Create a message. @args (JSON array or NULL = []) and @kwargs (JSON object
 * or NULL = {}) are (transfer full) in every case, also on error.
 * Returns: (transfer full, bmq_message_unref) a message with refcount 1,
 * or NULL with *err (nullable) set to -BMQ_EID (malformed id, or a "*"
 * namespace, which only patterns may use), -BMQ_ETYPE (args not an array,
 * kwargs not an object) or -BMQ_ENOMEM. The id is stored normalized:
 * "x" becomes "x:*", "*" becomes "*:*". */
BMQ_API bmq_message *bmq_message_new(const char *id, json_object *args, json_object *kwargs,
                                     int *err);

/* Takes a const pointer so that a follower can keep the message it was
 * given.
 * Returns: (transfer full, bmq_message_unref) @m with one more reference;
 * NULL for NULL. */
BMQ_API bmq_message *bmq_message_ref(const bmq_message *m);
BMQ_API void bmq_message_unref(bmq_message *m);         /* NULL-safe */

/* Accessors. Returns: (transfer none) owned by the message, valid while the
 * caller holds a reference; NULL only for a NULL message (false for
 * bmq_message_is_local). */
/* "name:action" or "name@ns:action" */
BMQ_API const char *bmq_message_id(const bmq_message *m);
BMQ_API const char *bmq_message_name(const bmq_message *m);
BMQ_API const char *bmq_message_action(const bmq_message *m);
BMQ_API const char *bmq_message_namespace(const bmq_message *m); /* "" for the default */
BMQ_API bool bmq_message_is_local(const bmq_message *m);         /* name starts with '_' */
BMQ_API json_object *bmq_message_args(const bmq_message *m);     /* array; do not modify */
BMQ_API json_object *bmq_message_kwargs(const bmq_message *m);   /* object; do not modify */
/* Returns: (transfer none) serialized {"id":..,"args":..,"kwargs":..},
 * computed once, valid while the caller holds a reference; never NULL. */
BMQ_API const char *bmq_message_to_json(const bmq_message *m);
/* Returns: (transfer none) the JSON text of args / kwargs alone, computed
 * once, valid while the caller holds a reference; never NULL. For building
 * wire formats without touching the shared json-c objects. */
BMQ_API const char *bmq_message_args_json(const bmq_message *m);
BMQ_API const char *bmq_message_kwargs_json(const bmq_message *m);
/* The bytes a message weighs in a queue's byte bound: its id plus the JSON
 * text of its args and kwargs (serialized once if not yet done). 0 for
 * NULL. Any thread.
 * Returns: the size in bytes; 0 for NULL. */
BMQ_API size_t bmq_message_size(const bmq_message *m);
/* Render @m for people: args joined by spaces (strings without quotes,
 * other values as JSON), then kwargs as "key: value" lines, skipping the
 * keys listed in @skip (nullable, NULL-terminated). Read from the cached
 * JSON text above: any thread, never touching the shared json-c objects.
 * Returns: (transfer full, g_free) the text ("" for an empty message);
 * NULL only for a NULL @m. */
BMQ_API char *bmq_message_render(const bmq_message *m, const char *const *skip);
/* Threading: one message may be read by several threads at once (followers
 * on the pool, queue getters, bridges). Read-only json-c calls on args and
 * kwargs (get_ex, array_get_idx, get_int, get_string...) are safe. json-c's
 * json_object_get/put and json_object_to_json_string* write into the object
 * (reference count, print buffer) without locking: do not call them on the
 * args/kwargs of a message other threads may hold. To keep a value beyond
 * the message, keep a message reference or json_object_deep_copy() it; to
 * serialize, use the *_json accessors above. */

/* Origin metadata, used by bridges (net links, MQTT) to avoid echo loops.
 * The uid is a unique 32-hex-char string, generated lazily on first call
 * unless the message was created with one. origin is an opaque tag of the
 * component that injected the message (NULL for local senders).
 * Returns: bmq_message_uid: (transfer none) the uid, owned by the message,
 * valid while the caller holds a reference; NULL only for a NULL message
 * or when memory runs out. bmq_message_origin: (transfer none, nullable)
 * the tag as given; the message does not own it. Any thread. */
BMQ_API const char *bmq_message_uid(const bmq_message *m);
BMQ_API const void *bmq_message_origin(const bmq_message *m);
/* As bmq_message_new, also setting uid (nullable: generated lazily; else
 * 1..128 bytes, copied) and origin (nullable).
 * Returns: (transfer full, bmq_message_unref) the message, or NULL with
 * *err (nullable) set as bmq_message_new, or -BMQ_EINVAL for a uid of the
 * wrong length. */
BMQ_API bmq_message *bmq_message_new_full(const char *id, json_object *args, json_object *kwargs,
                                          const char *uid, const void *origin, int *err);

/* Sequence number in a message store (the hub's history): 0 until a store
 * stamps the message, which it does in its bus tap, before any follower or
 * queue sees it, so a follower reads the final value. A message read back
 * from the store carries the seq it was stored under. Any thread.
 * bmq_message_set_seq stamps @m once.
 * Returns: bmq_message_seq: the seq; 0 for NULL or an unstamped message.
 * bmq_message_set_seq: true when @seq (non-zero) was set; false when @m
 * already had one (it keeps the first) or on NULL. */
BMQ_API uint64_t bmq_message_seq(const bmq_message *m);
BMQ_API bool bmq_message_set_seq(const bmq_message *m, uint64_t seq);

/* ---- Bus --------------------------------------------------------------- */

/* Returns: bmq_bus_new: (transfer full, bmq_bus_free) a new bus; NULL only
 * when memory runs out. bmq_bus_default: (transfer none) the
 * process-wide bus, created on first use, valid until the process ends. */
BMQ_API bmq_bus *bmq_bus_new(void);
BMQ_API bmq_bus *bmq_bus_default(void);
/* Free a bus made by bmq_bus_new. Followers and queues still attached are
 * detached and freed; handles to them become invalid. Pending pool work is
 * drained first. Must not be called from a follower nor while other threads
 * use the bus. Does nothing for the default bus, which lives as long as the
 * process. */
BMQ_API void bmq_bus_free(bmq_bus *bus);

/* Send a message. args/kwargs (transfer full) in every case, also on error.
 * Wildcards in @id reach every follower whose pattern they match.
 * Returns: 0 on success; -BMQ_EINVAL for a NULL bus; -BMQ_EID for an
 * invalid id (or a "*" namespace); -BMQ_ETYPE when args is not an array or
 * kwargs not an object; -BMQ_ENOMEM. */
BMQ_API int bmq_twitter(bmq_bus *bus, const char *id, json_object *args, json_object *kwargs);
/* Same with JSON text (NULL or "null": "[]" / "{}").
 * Returns: as bmq_twitter, and -BMQ_EINVAL on bad JSON (also trailing text
 * after the value). */
BMQ_API int bmq_twitter_json(bmq_bus *bus, const char *id, const char *args_json,
                             const char *kwargs_json);
/* Send a prebuilt message. @msg (transfer full), also on error.
 * Returns: 0; -BMQ_EINVAL for a NULL bus or message. */
BMQ_API int bmq_twitter_message(bmq_bus *bus, bmq_message *msg);

typedef void (*bmq_follower_fn)(const bmq_message *msg, void *user_data);
typedef bool (*bmq_guard_fn)(const bmq_message *msg, void *user_data);

/* Follow @pattern. @guard (nullable) is called before @fn with the same
 * user_data; fn runs only when it returns true.
 * Followers run in the sender's thread (multiplicity 0) or on a pool thread.
 * Returns: (transfer full, bmq_unfollow) a handle, valid until
 * bmq_unfollow or bmq_bus_free; NULL for a NULL bus or fn or an invalid
 * pattern. */
BMQ_API bmq_follower *bmq_follow(bmq_bus *bus, const char *pattern, bmq_follower_fn fn,
                                 bmq_guard_fn guard, void *user_data);
/* Detach and free. Safe from inside any follower (including itself) and from
 * other threads while messages flow. After it returns, fn is not called again
 * except by an invocation already running in another thread; when called
 * outside a follower it waits for such running invocations to finish, so
 * user_data may be freed right after. Inside a follower (any follower) it
 * does not wait, so two followers unfollowing each other cannot deadlock.
 * NULL-safe; a second call on the same handle is a use after free. */
BMQ_API void bmq_unfollow(bmq_follower *follower);

/* 0: followers run synchronously in the sender's thread (default).
 * n > 0 (at most 256, else -BMQ_EINVAL): followers run on a pool of n
 * threads; per-follower ordering is not guaranteed. Queues are still filled
 * by the sender. Safe to change while messages flow.
 * Returns: bmq_set_multiplicity: 0; -BMQ_EINVAL for a NULL bus or n > 256;
 * -BMQ_ENOMEM when the pool's threads cannot be started.
 * bmq_get_multiplicity: the current n (0 for a NULL bus). */
BMQ_API int bmq_set_multiplicity(bmq_bus *bus, unsigned n);
BMQ_API unsigned bmq_get_multiplicity(bmq_bus *bus);
/* Wait until every message sent before the call has been handled by the
 * pool (later sends from other threads do not prolong the wait). Returns at
 * once on a pool thread, which cannot wait for itself. */
BMQ_API void bmq_bus_flush(bmq_bus *bus);

typedef struct bmq_bus_stats {
    uint64_t sent;        /* messages accepted by bmq_twitter* */
    uint64_t delivered;   /* follower invocations + queue puts */
    uint64_t dropped;     /* queue overflow drops, over all queues */
    uint64_t followers;   /* currently attached */
    uint64_t queues;      /* currently attached */
    uint64_t reserved[8];
} bmq_bus_stats;
BMQ_API void bmq_bus_get_stats(bmq_bus *bus, bmq_bus_stats *out);

/* Tap: one observer of every message accepted on @bus (any namespace,
 * local ones included), called in the sender's thread before any follower or
 * queue sees the message, whatever the multiplicity. For stores that must
 * record a message before it is delivered (the hub's history). @fn must be
 * quick and must not send on @bus. @fn NULL removes the tap; the call then
 * waits until invocations running in other threads have returned (not from
 * inside the tap itself).
 * Returns: 0; -BMQ_EEXIST when another tap is set; -BMQ_EINVAL for a NULL
 * bus; -BMQ_ENOMEM. */
typedef void (*bmq_tap_fn)(const bmq_message *msg, void *user_data);
BMQ_API int bmq_bus_set_tap(bmq_bus *bus, bmq_tap_fn fn, void *user_data);

/* Sender label: a short text naming who is sending from the calling thread
 * ("rpc 127.0.0.1", "plugin tick10"), set by the component that injects
 * messages (the RPC server around a request, the plugin host around an
 * instance's twitter) and read by a tap to record the origin. Thread-local.
 * @label (transfer none) must stay valid until it is replaced.
 * Returns: (transfer none, nullable) the calling thread's label, owned by
 * whoever set it; bmq_sender_label_set returns the previous one so that
 * callers can nest. */
BMQ_API const char *bmq_sender_label(void);
BMQ_API const char *bmq_sender_label_set(const char *label);

/* ---- Queues (pull API) --------------------------------------------------
 * A standalone queue gets its own copy (reference) of every matching message.
 * Shared queues with the same pattern on one bus share one backing queue:
 * each message goes to exactly one getter.
 * Order: by kwarg "priority" (integer, higher first; default 0), FIFO within
 * equal priority: ntfy's 5 (urgent) and Growl's 2 (emergency) come first.
 * Bounded: capacity defaults to BMQ_QUEUE_DEFAULT_CAPACITY. Overflow policy
 * (default BMQ_OVERFLOW_DROP_OLDEST): the oldest message of the lowest
 * priority class (the smallest priority number) is dropped to make room;
 * every drop is counted. */
#define BMQ_QUEUE_DEFAULT_CAPACITY 10000

typedef enum {
    BMQ_OVERFLOW_DROP_OLDEST = 0, /* evict the least important, oldest message */
    BMQ_OVERFLOW_DROP_NEW = 1,    /* refuse the incoming message */
} bmq_overflow_policy;

/* Returns: (transfer full, bmq_queue_free) a queue handle; NULL for a
 * NULL bus or a bad pattern. */
BMQ_API bmq_queue *bmq_queue_new(bmq_bus *bus, const char *pattern, bool shared);
/* @capacity 0 = unbounded. Applies to the backing queue: for a shared
 * pattern that exists already, _new_full replaces its capacity and policy
 * for all handles while bmq_queue_new keeps them.
 * Returns: (transfer full, bmq_queue_free) a handle; NULL for a NULL bus,
 * a bad pattern or policy. */
BMQ_API bmq_queue *bmq_queue_new_full(bmq_bus *bus, const char *pattern, bool shared,
                                      size_t capacity, bmq_overflow_policy policy);
/* Returns: (transfer full, bmq_message_unref) the next message; NULL when
 * none arrived (non-blocking, or after timeout_s; timeout_s < 0 blocks
 * forever), when the handle is closed and empty, or for a NULL handle. */
BMQ_API bmq_message *bmq_queue_get(bmq_queue *q, bool block, double timeout_s);
/* As bmq_queue_get(q, false, 0).
 * Returns: (transfer full, bmq_message_unref) the next message, or NULL
 * when empty. */
BMQ_API bmq_message *bmq_queue_get_nowait(bmq_queue *q);
/* Returns: the state of the backing queue now: messages queued, empty,
 * full, the message capacity (0: unbounded) and messages dropped; 0 or
 * false for a NULL handle. */
BMQ_API size_t bmq_queue_qsize(bmq_queue *q);
BMQ_API bool bmq_queue_empty(bmq_queue *q);
BMQ_API bool bmq_queue_full(bmq_queue *q);
BMQ_API size_t bmq_queue_capacity(bmq_queue *q);
BMQ_API uint64_t bmq_queue_dropped(bmq_queue *q);
/* A byte bound beside the message capacity: the sum of bmq_message_size of
 * the queued messages stays at most @max_bytes (0 = none, the default).
 * The overflow policy applies to either bound; a message larger than the
 * bound by itself is dropped. Applies to the backing queue (every handle of
 * a shared pattern).
 * Returns: 0; -BMQ_EINVAL for a NULL handle. */
BMQ_API int bmq_queue_set_max_bytes(bmq_queue *q, size_t max_bytes);
/* Whether local messages (names starting with '_') enter the queue: true,
 * the default, for a queue read in this process; false for one that hands
 * its messages to another process (the JSON-RPC server's connect_via_queue
 * queues), since local names never leave the process. Applies to the
 * backing queue.
 * Returns: 0; -BMQ_EINVAL for a NULL handle. */
BMQ_API int bmq_queue_set_local(bmq_queue *q, bool local);
/* Returns: the byte bound; 0 for none. */
BMQ_API size_t bmq_queue_max_bytes(bmq_queue *q);
/* Returns: the bytes queued now (0 while there is no byte bound). */
BMQ_API size_t bmq_queue_bytes(bmq_queue *q);
/* Returns: the part of bmq_queue_dropped that the byte bound caused. */
BMQ_API uint64_t bmq_queue_dropped_over_bytes(bmq_queue *q);
/* Returns: (transfer none) the pattern the queue follows, owned by the
 * handle, valid until bmq_queue_free of this handle; NULL only for a NULL
 * handle. */
BMQ_API const char *bmq_queue_pattern(bmq_queue *q);
/* Wake every getter blocked on this queue handle with NULL and make further
 * gets non-blocking (messages already queued are still returned). */
BMQ_API void bmq_queue_close(bmq_queue *q);
/* Detach and free the handle (and the backing queue with its messages when
 * this was the last handle). Closes the handle first and waits until getters
 * blocked on it in other threads have returned NULL, so it may be called
 * while another thread blocks in bmq_queue_get (but no get may start after
 * it). NULL-safe. */
BMQ_API void bmq_queue_free(bmq_queue *q);

/* ---- auto_twitter / twitter_exception / talk ----------------------------
 * Entry/exit flags, as in the original:
 *   BMQ_AUTO_ENTRY  send "NAME:entry" before the call
 *   BMQ_AUTO_EXIT   send "NAME:exit" after the call
 *   BMQ_AUTO_BOTH   both (default of the original: entry=True, exit=True...)
 * The call's return code is sent as kwarg "result" on exit. */
enum { BMQ_AUTO_ENTRY = 1, BMQ_AUTO_EXIT = 2, BMQ_AUTO_BOTH = 3 };

typedef int (*bmq_call_fn)(void *user_data);

/* Run @fn wrapped in entry/exit messages (args of both: @args (transfer
 * full, nullable), copied). NAME is a bare name, optionally "name@ns".
 * Returns: fn's result; or, fn not called, -BMQ_EINVAL for a NULL bus or
 * fn, -BMQ_EID for an invalid NAME, -BMQ_ETYPE for non-array args. */
BMQ_API int bmq_auto_twitter(bmq_bus *bus, const char *name, unsigned flags, bmq_call_fn fn,
                             void *user_data, json_object *args);

/* Run @fn; if it returns a negative value send "NAME:error" with kwargs
 * {"code": rc, "message": text} where text is *@errtext set by fn (or
 * bmq_strerror(rc)). *@errtext starts NULL; fn may set it to a string
 * allocated with malloc/strdup/g_strdup, which the call frees.
 * Returns: fn's result; or, fn not called, -BMQ_EINVAL for a NULL bus or
 * fn, -BMQ_EID when NAME is not a valid name. */
typedef int (*bmq_call_err_fn)(void *user_data, char **errtext);
BMQ_API int bmq_twitter_exception(bmq_bus *bus, const char *name, bmq_call_err_fn fn,
                                  void *user_data);

/* Request/reply: a follower registered with bmq_follow_talk returns a result
 * (transfer full, nullable = no reply); bmq_talk sends @id and every
 * follower's non-NULL result is sent as message @callback_id with args
 * [result] and kwargs {"request": id, "uid": original uid}.
 * Returns: (transfer full, bmq_unfollow) a handle, as bmq_follow; NULL for
 * a NULL bus or fn or an invalid pattern. */
typedef json_object *(*bmq_talk_fn)(const bmq_message *msg, void *user_data);
BMQ_API bmq_follower *bmq_follow_talk(bmq_bus *bus, const char *pattern, bmq_talk_fn fn,
                                      bmq_guard_fn guard, void *user_data);
/* args/kwargs (transfer full) in every case. Replies are sent from the
 * thread that runs each talk follower.
 * Returns: 0; -BMQ_EINVAL for a NULL bus; -BMQ_EID when @id or
 * @callback_id is malformed; -BMQ_ETYPE and -BMQ_ENOMEM as bmq_twitter. */
BMQ_API int bmq_talk(bmq_bus *bus, const char *id, const char *callback_id, json_object *args,
                     json_object *kwargs);

#ifdef __cplusplus
}
#endif

#endif /* BERRYMQ_BERRYMQ_H */
