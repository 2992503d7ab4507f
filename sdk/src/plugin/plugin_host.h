/* plugin_host.h - private structures shared by the plugin host files:
 * plugin_load.c (search path, dlopen, ABI), plugin_instance.c (create,
 * destroy, reconfigure, status) and plugin_api.c (the bmq_host table given
 * to each instance, with main-thread marshaling and tracking).
 */
#ifndef BMQ_PLUGIN_HOST_PRIV_H
#define BMQ_PLUGIN_HOST_PRIV_H

#include <sys/stat.h>

#include <berrymq/host.h>

struct bmq_plugin_host {
    bmq_bus *bus;          /* (transfer none) */
    GMainContext *context; /* (transfer full) reference */
    char *data_root;
    GPtrArray *dirs;    /* char*, search order */
    GPtrArray *plugins; /* bmq_plugin*, never unloaded before host free */
    GQueue instances;   /* bmq_instance*, creation order */
    GMutex log_lock;    /* guards log_fn/log_data against concurrent set */
    bmq_log_fn log_fn;
    void *log_data;
    char *node_id;
    GPtrArray *old_node_ids; /* kept alive: instances may hold the pointer */
    bmq_history_provider history; /* zeroed: none; copied up to its size */
    void *history_data;
    int open_cursors; /* atomic */
    /* host->when_stored (plugin_cursor.c): one thread waits for the
     * history, in the order asked; stored_jobs lists what it has not
     * handed to an instance yet. */
    GMutex stored_lock;
    GThreadPool *stored_pool; /* created on first use */
    GQueue stored_jobs;       /* plugin_stored_job*, in the order asked */
};

struct bmq_plugin {
    bmq_plugin_host *host;
    char *path;
    void *handle;
    const bmq_plugin_descriptor *desc; /* &desc_copy */
    bmq_plugin_descriptor desc_copy;   /* the plugin's, up to its size; the rest NULL */
    int instances; /* live instances; main thread */
    dev_t dev;     /* the file as loaded, to notice a reinstall */
    ino_t ino;
    struct timespec mtime;
};

/* A follower registered through host->follow. Refcounted under inst->lock:
 * the tracking list and every pending delivery hold one reference. */
typedef struct plugin_follow {
    bmq_instance *inst;
    bmq_follower *follower;
    bmq_follower_fn fn;
    bmq_guard_fn guard;
    void *user_data;
    unsigned flags;
    int refs;
    bool removed;
} plugin_follow;

typedef struct plugin_source {
    GSource *source; /* our own reference */
    guint id;
} plugin_source;

struct bmq_instance {
    bmq_plugin_host *host;
    bmq_plugin *plugin;
    char *id;
    char *label;         /* sender label "plugin ID" */
    json_object *config; /* (owned) */
    void *obj;           /* the plugin's instance; NULL while stopped */
    struct bmq_host api; /* the table given to the plugin */
    char *data_dir;
    int mt_refs; /* main-thread references (host list + running dispatch) */

    GMutex lock;       /* guards everything below */
    bool dead;         /* no more deliveries / invokes */
    GList *follows;    /* plugin_follow* */
    GList *queues;     /* bmq_queue* */
    GList *sources;    /* plugin_source* */
    GList *cursors;    /* bmq_cursor* (plugin_cursor.c) */
    GQueue pending;    /* plugin_pending*, deliveries for the main thread */
    GSource *dispatch; /* idle source draining pending, NULL when idle */
};

/* plugin_load.c */
void plugin__log(bmq_plugin_host *h, int level, const char *instance_id, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
void plugin__logv(bmq_plugin_host *h, int level, const char *instance_id, const char *fmt,
                  va_list ap) G_GNUC_PRINTF(4, 0);

/* plugin_api.c */
void plugin__api_init(bmq_instance *inst);
/* Mark the instance dead (no deliveries, invokes dropped); returns once no
 * delivery is being queued. */
void plugin__api_stop(bmq_instance *inst);
/* Remove everything the instance left registered and drop pending work.
 * Main thread, after the plugin's destroy() returned. */
void plugin__api_cleanup(bmq_instance *inst);
/* Allow deliveries again (after a recreate). */
void plugin__api_restart(bmq_instance *inst);
void plugin__api_counts(bmq_instance *inst, int *followers, int *queues, int *sources);

/* Queue fn(data) for the instance's main-thread dispatch, as
 * host->invoke does; false (nothing queued, nothing freed) when the
 * instance is stopping. Any thread. */
bool plugin__invoke_live(bmq_instance *inst, void (*fn)(void *data), void *data,
                         GDestroyNotify free_fn);

/* plugin_cursor.c: the host table's history calls (cursors, recent,
 * when_stored); close and drop what the instance left; end the waiter. */
void plugin__cursor_init(bmq_instance *inst);
void plugin__cursor_cleanup(bmq_instance *inst);
void plugin__stored_free(bmq_plugin_host *h);

/* plugin_guard.c: bmq_plugin_call_enter for an instance. */
void plugin__call_enter_inst(bmq_plugin_call *c, const bmq_instance *inst, const char *what);

/* plugin_instance.c */
void plugin__instance_unref(bmq_instance *inst);

#endif /* BMQ_PLUGIN_HOST_PRIV_H */
