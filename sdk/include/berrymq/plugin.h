/* plugin.h - the berryMQ plugin ABI (plugin side) and the plugin host
 * (program side: find, load, check, instantiate, destroy).
 *
 * A plugin is a shared object exporting one function, BMQ_PLUGIN_ENTRY,
 * which returns a const descriptor. The host states the ABI versions it
 * supports; the plugin answers with the descriptor of the one it speaks (or
 * NULL). create() makes one instance from its JSON config; a plugin may be
 * instantiated many times. Every follower, queue and main-loop source an
 * instance makes through its bmq_host table is recorded and removed on
 * destroy, even if the plugin forgot.
 *
 * Threading: instance callbacks (followers, sources) run on the host's main
 * thread (the GMainContext in bmq_host.context) unless the follower was made
 * with BMQ_FOLLOW_ANY_THREAD. Plugin threads hand work back with
 * host->invoke(), the one thread-safe entry besides twitter/log.
 */
#ifndef BERRYMQ_PLUGIN_H
#define BERRYMQ_PLUGIN_H

#include <stdarg.h>

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

/* Log levels (syslog numbering). */
enum {
    BMQ_LOG_ERROR = 3,
    BMQ_LOG_WARNING = 4,
    BMQ_LOG_NOTICE = 5,
    BMQ_LOG_INFO = 6,
    BMQ_LOG_DEBUG = 7,
};

/* Follow flags. */
enum {
    BMQ_FOLLOW_MAIN_THREAD = 0,  /* default: fn runs on the host main loop */
    BMQ_FOLLOW_ANY_THREAD = 1,   /* fn runs in the sender's/pool thread; must be thread-safe */
};

typedef struct bmq_host bmq_host;

/* One per instance, owned by the host, valid from create() until destroy()
 * returns. The first field is its size: a plugin built against a newer
 * header checks BMQ_HOST_HAS() before using a field the host may lack. */
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

    /* Send a message; args/kwargs (transfer full). Any thread. */
    int (*twitter)(bmq_host *h, const char *id, json_object *args, json_object *kwargs);
    /* Send a prebuilt message (transfer full). Any thread. */
    int (*twitter_message)(bmq_host *h, bmq_message *msg);
    /* Follow; see BMQ_FOLLOW_*. (transfer none) handle owned by the host;
     * NULL on a bad pattern. */
    bmq_follower *(*follow)(bmq_host *h, const char *pattern, bmq_follower_fn fn,
                            bmq_guard_fn guard, void *user_data, unsigned flags);
    void (*unfollow)(bmq_host *h, bmq_follower *f);
    /* Standalone/shared queue tracked for this instance. */
    bmq_queue *(*queue_new)(bmq_host *h, const char *pattern, bool shared);
    void (*queue_free)(bmq_host *h, bmq_queue *q);
    /* Attach @source to the main context and track it; returns its id. As
     * with g_source_attach the host adds its own reference: the caller
     * still unrefs its own. Remove with source_remove (id 0 is ignored).
     * Sources still attached are destroyed when the instance is. */
    guint (*source_attach)(bmq_host *h, GSource *source);
    void (*source_remove)(bmq_host *h, guint id);
    /* Convenience: tracked g_timeout_add on the host context. A callback
     * returning G_SOURCE_REMOVE is untracked automatically. */
    guint (*timeout_add)(bmq_host *h, guint interval_ms, GSourceFunc fn, void *data);
    /* Log a line prefixed with the instance id. Any thread. */
    void (*log)(bmq_host *h, int level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
    /* Run fn(data) on the main thread soon; free(data) afterwards (nullable).
     * Any thread. If the instance is destroyed first, fn is not run but free
     * still is. */
    void (*invoke)(bmq_host *h, void (*fn)(void *data), void *data, GDestroyNotify free_fn);

    void *reserved[16];
};

#define BMQ_HOST_HAS(h, field) \
    ((h)->size >= offsetof(struct bmq_host, field) + sizeof(((struct bmq_host *)0)->field))

/* The descriptor a plugin returns. Static storage, never freed. */
typedef struct bmq_plugin_descriptor {
    uint32_t abi;                 /* the ABI version this descriptor speaks */
    const char *name;             /* [a-z0-9_-]+, e.g. "timer" */
    const char *version;          /* plugin version, free text */
    const char *description;      /* one line */
    /* Make an instance. @config (transfer none) is a JSON object. On failure
     * return NULL and set *error (transfer full, g_malloc'd) to one line. */
    void *(*create)(bmq_host *host, json_object *config, char **error);
    /* Free an instance. The host removes remaining tracked registrations
     * right after destroy returns. */
    void (*destroy)(void *instance);
    /* Optional (nullable): apply a new config in place; return 0 or a
     * negative BMQ_E* and set *error. If NULL, the host recreates. */
    int (*reconfigure)(void *instance, json_object *config, char **error);
    /* Optional (nullable): status for "berrymq status" (transfer full). */
    json_object *(*status)(void *instance);
    void *reserved[8];
} bmq_plugin_descriptor;

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

/* ======================= Program side: the plugin host ==================== */

typedef struct bmq_plugin_host bmq_plugin_host;
typedef struct bmq_plugin bmq_plugin;       /* a loaded shared object */
typedef struct bmq_instance bmq_instance;   /* one created instance */

/* Log sink for the host and its instances; @instance_id is NULL for host
 * messages. Called from any thread. */
typedef void (*bmq_log_fn)(int level, const char *instance_id, const char *line,
                           void *user_data);

/* @bus (transfer none) must outlive the host. @context (nullable: the
 * thread-default/global default context) is where instance callbacks run.
 * @data_root (nullable): parent of per-instance data dirs, default
 * $XDG_DATA_HOME/berrymq/instances. */
BMQ_API bmq_plugin_host *bmq_plugin_host_new(bmq_bus *bus, GMainContext *context,
                                             const char *data_root);
/* Destroy every instance (reverse creation order), unload every plugin. */
BMQ_API void bmq_plugin_host_free(bmq_plugin_host *h);
BMQ_API void bmq_plugin_host_set_log(bmq_plugin_host *h, bmq_log_fn fn, void *user_data);
/* "error", "warning", "notice", "info" or "debug" for a BMQ_LOG_* level
 * (transfer none, static). */
BMQ_API const char *bmq_log_level_name(int level);
BMQ_API void bmq_plugin_host_set_node_id(bmq_plugin_host *h, const char *node_id);
/* Append a directory to the search path (searched in the order added). */
BMQ_API void bmq_plugin_host_add_dir(bmq_plugin_host *h, const char *dir);
/* Append the standard directories: $XDG_DATA_HOME/berrymq/plugins, then
 * $BMQ_PLUGIN_BUILD_DIR if set, then the build tree's plugins/ when this
 * library runs from the build tree it was built in, then the installed
 * ${libdir}/berrymq/plugins. */
BMQ_API void bmq_plugin_host_add_default_dirs(bmq_plugin_host *h);

/* Load by name ("timer" -> DIR/timer.so on the search path) or by path
 * (contains '/'). Loading an already-loaded name returns the same plugin,
 * unless its file was replaced and no instance of it exists: then the old
 * code is closed and the new file loaded (the old bmq_plugin is invalid).
 * NULL with *error (transfer full) on: file not found, not a shared object,
 * missing entry symbol, no common ABI version, bad descriptor. */
BMQ_API bmq_plugin *bmq_plugin_load(bmq_plugin_host *h, const char *name_or_path, char **error);
BMQ_API const bmq_plugin_descriptor *bmq_plugin_descriptor_get(const bmq_plugin *p);
BMQ_API const char *bmq_plugin_path(const bmq_plugin *p);

/* Check a file without keeping it loaded (for installers; run it in a child
 * process when the file is untrusted). 0 and *name, *version (transfer full,
 * nullable outputs) or a negative BMQ_E* with *error. */
BMQ_API int bmq_plugin_check_file(const char *path, char **name, char **version, char **error);

/* Create instance @id (unique per host) of plugin @plugin_name (loaded on
 * demand) with @config (transfer none, nullable = {}). NULL with *error when
 * the load or create fails or the id is taken. Main thread only. */
BMQ_API bmq_instance *bmq_instance_create(bmq_plugin_host *h, const char *plugin_name,
                                          const char *id, json_object *config, char **error);
/* destroy() the instance and remove what it left registered. NULL-safe. */
BMQ_API void bmq_instance_destroy(bmq_instance *inst);
/* Apply a new config (transfer none, nullable = {}): reconfigure() if the
 * plugin has it, else destroy and recreate. 0 or a negative BMQ_E* with
 * *error. When the recreate fails the instance stays registered but
 * stopped (bmq_instance_is_running() is false): destroy it or reconfigure
 * again. */
BMQ_API int bmq_instance_reconfigure(bmq_instance *inst, json_object *config, char **error);
/* False after a failed recreate in bmq_instance_reconfigure. */
BMQ_API bool bmq_instance_is_running(const bmq_instance *inst);
BMQ_API bmq_instance *bmq_instance_find(bmq_plugin_host *h, const char *id);
BMQ_API const char *bmq_instance_id(const bmq_instance *inst);
BMQ_API const bmq_plugin *bmq_instance_plugin(const bmq_instance *inst);
BMQ_API json_object *bmq_instance_config(const bmq_instance *inst); /* (transfer none) */
/* (transfer full) {"id","plugin","version","running","followers","queues",
 * "sources","status": plugin status or null}. */
BMQ_API json_object *bmq_instance_status(bmq_instance *inst);
/* Instances in creation order; (transfer container) GList of bmq_instance*. */
BMQ_API GList *bmq_plugin_host_instances(bmq_plugin_host *h);
/* Every NAME.so on the search path (first one of each name wins), loaded to
 * read its descriptor: (transfer full) array of {"name","version",
 * "description","path","error"}; "error" is null for a usable plugin and
 * one line (version and description null) otherwise. Main thread only. */
BMQ_API json_object *bmq_plugin_host_available(bmq_plugin_host *h);
/* The search path (transfer none): NULL-terminated, valid until the next
 * add_dir. */
BMQ_API const char *const *bmq_plugin_host_dirs(bmq_plugin_host *h);

/* Where the calling thread is in plugin code. The host sets one around
 * every call it makes into a plugin: load (dlopen and the entry function),
 * create, destroy, reconfigure, status, followers and their guards,
 * invoke()d functions and timeout_add callbacks. Calls nest (a follower
 * that twitters reaches another instance's follower): @outer is the call
 * around this one. */
typedef struct bmq_plugin_call {
    const char *instance_id; /* (transfer none) the instance */
    const char *plugin;      /* (transfer none) plugin name (or the path being loaded) */
    const char *what;        /* (transfer none) "load", "create", "follower", ... */
    const struct bmq_plugin_call *outer; /* (nullable) */
} bmq_plugin_call;

/* The innermost plugin call of the calling thread, or NULL when the thread
 * is not in plugin code. (transfer none) valid until that call returns.
 * Async-signal-safe: a fatal-signal handler may read it to name the
 * instance that crashed. */
BMQ_API const bmq_plugin_call *bmq_plugin_call_current(void);
/* For a program that calls plugin code itself (bmq_plugin_load, say): mark
 * the calling thread as in that code until bmq_plugin_call_leave. @c lives
 * in the caller (its stack), the strings are borrowed and must stay valid
 * until the leave; pairs nest. */
BMQ_API void bmq_plugin_call_enter(bmq_plugin_call *c, const char *instance_id, const char *plugin,
                                   const char *what);
BMQ_API void bmq_plugin_call_leave(bmq_plugin_call *c);

#ifdef __cplusplus
}
#endif

#endif /* BERRYMQ_PLUGIN_H */
