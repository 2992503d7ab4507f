/* host.h - the berryMQ plugin host, program side: find, load, check,
 * instantiate and destroy plugins (berrymq/plugin.h is the plugin side).
 *
 * Any program using libberrymq can run adapters in-process; the hub is the
 * first user. Unless a function says otherwise, call it from the thread
 * that owns the host's main context ("main thread").
 *
 * Ownership: every returned pointer is (transfer none) and owned by the
 * host unless its comment says (transfer full). Failures follow berrymq.h
 * (int *code, char **error freed with g_free); passing NULL for error
 * sends the line to the host log.
 */
#ifndef BERRYMQ_HOST_H
#define BERRYMQ_HOST_H

#include <berrymq/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmq_plugin_host bmq_plugin_host;
typedef struct bmq_plugin bmq_plugin;     /* a loaded shared object */
typedef struct bmq_instance bmq_instance; /* one created instance */

/* Log sink for the host and its instances; @instance_id is NULL for host
 * messages. Called from any thread. */
typedef void (*bmq_log_fn)(int level, const char *instance_id, const char *line, void *user_data);

/* @bus (transfer none) must outlive the host. @context (nullable: the
 * thread-default/global default context) is where instance callbacks run.
 * @data_root (nullable): parent of per-instance data dirs, default
 * $XDG_DATA_HOME/berrymq/instances.
 * Returns: (transfer full) a host, freed with bmq_plugin_host_free; NULL
 * only when @bus is NULL (a programmer error). */
BMQ_API bmq_plugin_host *bmq_plugin_host_new(bmq_bus *bus, GMainContext *context,
                                             const char *data_root);
/* Destroy every instance (reverse creation order), unload every plugin.
 * NULL-safe. */
BMQ_API void bmq_plugin_host_free(bmq_plugin_host *h);
BMQ_API void bmq_plugin_host_set_log(bmq_plugin_host *h, bmq_log_fn fn, void *user_data);
/* @node_id (transfer none) is copied. Instances see the new id in
 * host->node_id; the old string stays valid until the host is freed. */
BMQ_API void bmq_plugin_host_set_node_id(bmq_plugin_host *h, const char *node_id);
/* The store behind host->history_cursor, supplied by the program (the
 * hub: its history). Every function may be called from any thread, one
 * thread at a time per cursor. @key is "INSTANCE_ID/NAME"; the other
 * parameters and results are as documented for the host table's cursor
 * calls (berrymq/plugin.h). Fields are only appended; size first. */
typedef struct bmq_history_provider {
    size_t size; /* sizeof(bmq_history_provider) as the program built it */
    /* Returns: (transfer full, freed by close) the provider's cursor, or
     * NULL with *error (transfer full, g_free). */
    void *(*open)(void *user_data, const char *key, const char *pattern, char **error);
    /* Returns: as host->cursor_next, cursor_live and cursor_ack. */
    int (*next)(void *user_data, void *cursor, bmq_message **out, unsigned max);
    bool (*live)(void *user_data, void *cursor, const bmq_message *m);
    int (*ack)(void *user_data, void *cursor, uint64_t seq);
    void (*close)(void *user_data, void *cursor); /* frees @cursor */
    /* Appended: host->history_recent (nullable: -BMQ_ENOENT).
     * Returns: as host->history_recent. */
    int (*recent)(void *user_data, const char *pattern, uint64_t before, bmq_message **out,
                  int64_t *time_us, unsigned max);
    /* Appended: host->when_stored (both nullable: nothing to wait for).
     * Returns: the seq of the last message the calling thread sent that
     * is not yet stored as the history's settings ask; 0 when there is
     * none. Must not forget it: other waiters may need it. */
    uint64_t (*pending)(void *user_data);
    /* Block until @seq is stored (committed, or its batch failed). */
    void (*wait)(void *user_data, uint64_t seq);
} bmq_history_provider;

/* Offer a history to the instances: @p (transfer none, nullable: none) and
 * @user_data must stay valid until the host is freed or the provider is
 * replaced. Without one, host->history_cursor answers NULL ("no
 * history"). Set it before creating instances; replacing it while cursors
 * are open is refused.
 * Returns: 0, or -BMQ_EINVAL (NULL host, @p->size too small) or
 * -BMQ_EEXIST (cursors are open). */
BMQ_API int bmq_plugin_host_set_history(bmq_plugin_host *h, const bmq_history_provider *p,
                                        void *user_data);

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
 * Returns: (transfer none) the plugin, owned by the host and valid until
 * bmq_plugin_host_free or a reload replaces it; NULL with *code (nullable,
 * the negative value) and *error on:
 *   - file not found (BMQ_ENOENT), invalid name (BMQ_EINVAL),
 *   - not a shared object, missing entry symbol, bad descriptor (BMQ_ELOAD),
 *   - no common ABI version (BMQ_EABI),
 *   - another plugin of the same name already loaded (BMQ_EEXIST). */
BMQ_API bmq_plugin *bmq_plugin_load(bmq_plugin_host *h, const char *name_or_path, int *code,
                                    char **error);
/* Returns: (transfer none) the host's copy of the plugin's descriptor,
 * complete up to the fields this library knows (those the plugin's
 * descriptor lacked are NULL), valid as long as @p; NULL when @p is NULL. */
BMQ_API const bmq_plugin_descriptor *bmq_plugin_descriptor_get(const bmq_plugin *p);
/* Returns: (transfer none) the canonical file path, valid as long as @p;
 * NULL when @p is NULL. */
BMQ_API const char *bmq_plugin_path(const bmq_plugin *p);

/* Check a file without keeping it loaded (for installers; run it in a child
 * process when the file is untrusted). Any thread.
 * Returns: 0 and *name, *version (transfer full, g_free; nullable outputs),
 * or with *error: -BMQ_EINVAL (empty path), -BMQ_ENOENT (no such file),
 * -BMQ_ELOAD (not a shared object, missing symbol, bad descriptor),
 * -BMQ_EABI (no common ABI version). */
BMQ_API int bmq_plugin_check_file(const char *path, char **name, char **version, char **error);

/* The one rule for instance ids: 1..64 of letters, digits, '_', '-', '.'.
 * Any thread.
 * Returns: true when @id follows it; false otherwise (also for NULL). */
BMQ_API bool bmq_instance_id_valid(const char *id);

/* Create instance @id (unique per host) of plugin @plugin_name (loaded on
 * demand) with @config (transfer none: the instance takes its own
 * reference; nullable = {}).
 * Returns: (transfer none) the instance, owned by the host and valid until
 * bmq_instance_destroy or bmq_plugin_host_free; NULL with *code (nullable)
 * and *error when the id is invalid (-BMQ_EINVAL) or taken (-BMQ_EEXIST),
 * @config is not an object (-BMQ_ETYPE), the load fails (the codes of
 * bmq_plugin_load), or the plugin's create() fails (-BMQ_EFAILED). */
BMQ_API bmq_instance *bmq_instance_create(bmq_plugin_host *h, const char *plugin_name,
                                          const char *id, json_object *config, int *code,
                                          char **error);
/* destroy() the instance and remove what it left registered. NULL-safe. */
BMQ_API void bmq_instance_destroy(bmq_instance *inst);
/* Apply a new config (transfer none: the instance takes its own reference;
 * nullable = {}): reconfigure() if the plugin has it, else destroy and
 * recreate.
 * Returns: 0, or a negative BMQ_E* with *error: -BMQ_ETYPE when @config is
 * not an object, the plugin's own code when its reconfigure() refuses (the
 * old config stays), -BMQ_EFAILED when the recreate's create() fails. When
 * the recreate fails the instance stays registered but stopped
 * (bmq_instance_is_running() is false): destroy it or reconfigure again. */
BMQ_API int bmq_instance_reconfigure(bmq_instance *inst, json_object *config, char **error);
/* Returns: false after a failed recreate in bmq_instance_reconfigure (and
 * for NULL); true otherwise. */
BMQ_API bool bmq_instance_is_running(const bmq_instance *inst);
/* Returns: (transfer none) the instance named @id, owned by the host,
 * valid until it is destroyed; NULL when there is none. */
BMQ_API bmq_instance *bmq_instance_find(bmq_plugin_host *h, const char *id);
/* Returns: (transfer none) the instance id, valid as long as @inst. */
BMQ_API const char *bmq_instance_id(const bmq_instance *inst);
/* Returns: (transfer none) the plugin of @inst, valid as long as @inst. */
BMQ_API const bmq_plugin *bmq_instance_plugin(const bmq_instance *inst);
/* Returns: (transfer none) the config the instance runs with, valid until
 * the next bmq_instance_reconfigure or destroy; do not modify. */
BMQ_API json_object *bmq_instance_config(const bmq_instance *inst);
/* Returns: (transfer full) {"id","plugin","version","running","followers",
 * "queues","sources","status": plugin status or null}; never NULL. */
BMQ_API json_object *bmq_instance_status(bmq_instance *inst);
/* Returns: (transfer container) the instances in creation order, a GList
 * of (transfer none) bmq_instance*; free with g_list_free. NULL when there
 * are none. */
BMQ_API GList *bmq_plugin_host_instances(bmq_plugin_host *h);
/* Every NAME.so on the search path (first one of each name wins), loaded to
 * read its descriptor.
 * Returns: (transfer full) a JSON array of {"name","version","description",
 * "path","error","code"}; "error" and "code" are null for a usable plugin,
 * else one line and the negative BMQ_E* code of bmq_plugin_load (version
 * and description null); never NULL. */
BMQ_API json_object *bmq_plugin_host_available(bmq_plugin_host *h);
/* Called around loading each file while listing: with @done false before
 * the load (return false to leave the file unloaded, listed with the
 * error *skip, transfer full, g_free), with @done true after it (the
 * return value and @skip are then ignored). */
typedef bool (*bmq_plugin_scan_fn)(const char *name, const char *path, bool done, char **skip,
                                   void *user_data);
/* bmq_plugin_host_available, calling @fn (nullable) around each load: a
 * program bounds the time loading may take, or leaves out a file that
 * hung before.
 * Returns: as bmq_plugin_host_available; a skipped file has "code"
 * -BMQ_ELOAD. */
BMQ_API json_object *bmq_plugin_host_available_full(bmq_plugin_host *h, bmq_plugin_scan_fn fn,
                                                    void *user_data);
/* Returns: (transfer none) the search path, NULL-terminated, valid until
 * the next add_dir / add_default_dirs. */
BMQ_API const char *const *bmq_plugin_host_dirs(bmq_plugin_host *h);

/* Run @fn(@data) on the thread of the host's main context: the one way
 * for a program's other threads (RPC handlers, bus followers) to act on the
 * host and its instances. Any thread.
 *   - @wait false: queued, runs from the main loop in the order queued,
 *     never in place (so a caller inside a plugin callback is not
 *     re-entered);
 *   - @wait true: the caller blocks until @fn has returned; on the main
 *     context's own thread it runs in place. The main loop must keep
 *     running until such callers are done.
 * @free_fn (nullable) frees @data once @fn has run, or when the context is
 * destroyed before it could run.
 * Returns: 0, or -BMQ_EINVAL (no host or @fn; @data freed). Plugins use
 * host->invoke, which also drops what an instance left queued. */
BMQ_API int bmq_plugin_host_invoke(bmq_plugin_host *h, void (*fn)(void *data), void *data,
                                   GDestroyNotify free_fn, bool wait);

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

/* Async-signal-safe: a fatal-signal handler may read it to name the
 * instance that crashed.
 * Returns: (transfer none) the innermost plugin call of the calling
 * thread, valid until that call returns; NULL when the thread is not in
 * plugin code. */
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

#endif /* BERRYMQ_HOST_H */
