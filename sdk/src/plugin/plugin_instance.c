/* plugin_instance.c - instances: create, destroy, reconfigure, status.
 * All of this runs on the host's main thread.
 */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "plugin_host.h"

bool bmq_instance_id_valid(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

void plugin__instance_unref(bmq_instance *inst)
{
    if (--inst->mt_refs > 0)
        return;
    g_mutex_clear(&inst->lock);
    json_object_put(inst->config);
    g_free(inst->data_dir);
    g_free(inst->id);
    g_free(inst->label);
    g_free(inst);
}

/* Run the plugin's create(); 0 or a negative code with *error. */
static int start(bmq_instance *inst, char **error)
{
    if (g_mkdir_with_parents(inst->data_dir, 0700) != 0)
        plugin__log(inst->host, BMQ_LOG_WARNING, inst->id, "cannot create %s: %s", inst->data_dir,
                    g_strerror(errno));
    char *perr = NULL;
    plugin__api_restart(inst);
    bmq_plugin_call call;
    plugin__call_enter_inst(&call, inst, "create");
    inst->obj = inst->plugin->desc->create(&inst->api, inst->config, &perr);
    bmq_plugin_call_leave(&call);
    if (!inst->obj) {
        /* Whatever create registered before failing goes too. */
        plugin__api_cleanup(inst);
        *error = g_strdup_printf("instance '%s': create failed: %s", inst->id,
                                 perr ? perr : "unknown error");
        g_free(perr);
        return -BMQ_EFAILED;
    }
    g_free(perr);
    return 0;
}

static void stop(bmq_instance *inst)
{
    if (!inst->obj)
        return;
    plugin__api_stop(inst);
    bmq_plugin_call call;
    plugin__call_enter_inst(&call, inst, "destroy");
    inst->plugin->desc->destroy(inst->obj);
    bmq_plugin_call_leave(&call);
    inst->obj = NULL;
    plugin__api_cleanup(inst);
}

bmq_instance *bmq_instance_create(bmq_plugin_host *h, const char *plugin_name, const char *id,
                                  json_object *config, int *code_out, char **error)
{
    char *local_err = NULL;
    char **err = error ? error : &local_err;
    *err = NULL;
    int code = -BMQ_EINVAL;
    if (code_out)
        *code_out = 0;
    g_return_val_if_fail(h != NULL && plugin_name != NULL, NULL);
    bmq_plugin *p = NULL;
    bmq_instance *inst = NULL;
    if (!id)
        id = plugin_name;
    if (!bmq_instance_id_valid(id)) {
        *err = g_strdup_printf("instance '%s': invalid id (use letters, digits, '_', '-', "
                               "'.'; at most 64)",
                               id);
        goto fail;
    }
    if (bmq_instance_find(h, id)) {
        *err = g_strdup_printf("instance '%s': id already in use", id);
        code = -BMQ_EEXIST;
        goto fail;
    }
    if (config && !json_object_is_type(config, json_type_object)) {
        *err = g_strdup_printf("instance '%s': config must be a JSON object", id);
        code = -BMQ_ETYPE;
        goto fail;
    }
    /* Loading runs the file's constructors and entry function: plugin code
     * already, to be named if it crashes or hangs. */
    bmq_plugin_call call;
    bmq_plugin_call_enter(&call, id, plugin_name, "load");
    p = bmq_plugin_load(h, plugin_name, &code, err);
    bmq_plugin_call_leave(&call);
    if (!p)
        goto fail;
    inst = g_new0(bmq_instance, 1);
    inst->host = h;
    inst->plugin = p;
    inst->id = g_strdup(id);
    inst->label = g_strdup_printf("plugin %s", id);
    inst->config = config ? json_object_get(config) : json_object_new_object();
    inst->data_dir = g_build_filename(h->data_root, id, NULL);
    inst->mt_refs = 1;
    g_mutex_init(&inst->lock);
    g_queue_init(&inst->pending);
    plugin__api_init(inst);
    code = start(inst, err);
    if (code != 0) {
        plugin__instance_unref(inst);
        goto fail;
    }
    g_queue_push_tail(&h->instances, inst);
    p->instances++;
    plugin__log(h, BMQ_LOG_DEBUG, inst->id, "created (plugin '%s' %s)", p->desc->name,
                p->desc->version);
    return inst;
fail:
    if (code_out)
        *code_out = code;
    if (!error) {
        plugin__log(h, BMQ_LOG_ERROR, NULL, "%s", local_err);
        g_free(local_err);
    }
    return NULL;
}

void bmq_instance_destroy(bmq_instance *inst)
{
    if (!inst)
        return;
    bmq_plugin_host *h = inst->host;
    stop(inst);
    g_queue_remove(&h->instances, inst);
    inst->plugin->instances--;
    plugin__log(h, BMQ_LOG_DEBUG, inst->id, "destroyed");
    plugin__instance_unref(inst);
}

int bmq_instance_reconfigure(bmq_instance *inst, json_object *config, char **error)
{
    char *local_err = NULL;
    char **err = error ? error : &local_err;
    *err = NULL;
    g_return_val_if_fail(inst != NULL, -BMQ_EINVAL);
    int rc = 0;
    if (config && !json_object_is_type(config, json_type_object)) {
        *err = g_strdup_printf("instance '%s': config must be a JSON object", inst->id);
        rc = -BMQ_ETYPE;
        goto out;
    }
    json_object *cfg = config ? json_object_get(config) : json_object_new_object();
    const bmq_plugin_descriptor *d = inst->plugin->desc;
    if (inst->obj && d->reconfigure) {
        char *perr = NULL;
        bmq_plugin_call call;
        plugin__call_enter_inst(&call, inst, "reconfigure");
        rc = d->reconfigure(inst->obj, cfg, &perr);
        bmq_plugin_call_leave(&call);
        if (rc != 0) {
            *err = g_strdup_printf("instance '%s': reconfigure failed: %s", inst->id,
                                   perr ? perr : bmq_strerror(rc));
            g_free(perr);
            json_object_put(cfg);
            rc = rc < 0 ? rc : -BMQ_EFAILED;
            goto out;
        }
        g_free(perr);
        json_object_put(inst->config);
        inst->config = cfg;
        inst->api.config = cfg;
        goto out;
    }
    /* No in-place reconfigure: stop, then start with the new config. The
     * old instance goes first: both might want the same port or file. */
    stop(inst);
    json_object_put(inst->config);
    inst->config = cfg;
    inst->api.config = cfg;
    rc = start(inst, err);
out:
    if (rc && !error) {
        plugin__log(inst->host, BMQ_LOG_ERROR, NULL, "%s", local_err);
        g_free(local_err);
    }
    return rc;
}

bool bmq_instance_is_running(const bmq_instance *inst)
{
    return inst && inst->obj != NULL;
}

bmq_instance *bmq_instance_find(bmq_plugin_host *h, const char *id)
{
    if (!h || !id)
        return NULL;
    for (GList *l = h->instances.head; l; l = l->next) {
        bmq_instance *inst = l->data;
        if (strcmp(inst->id, id) == 0)
            return inst;
    }
    return NULL;
}

const char *bmq_instance_id(const bmq_instance *inst)
{
    return inst ? inst->id : NULL;
}

const bmq_plugin *bmq_instance_plugin(const bmq_instance *inst)
{
    return inst ? inst->plugin : NULL;
}

json_object *bmq_instance_config(const bmq_instance *inst)
{
    return inst ? inst->config : NULL;
}

json_object *bmq_instance_status(bmq_instance *inst)
{
    g_return_val_if_fail(inst != NULL, NULL);
    const bmq_plugin_descriptor *d = inst->plugin->desc;
    int nf, nq, ns;
    plugin__api_counts(inst, &nf, &nq, &ns);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(inst->id));
    json_object_object_add(o, "plugin", json_object_new_string(d->name));
    json_object_object_add(o, "version", json_object_new_string(d->version));
    json_object_object_add(o, "running", json_object_new_boolean(inst->obj != NULL));
    json_object_object_add(o, "followers", json_object_new_int(nf));
    json_object_object_add(o, "queues", json_object_new_int(nq));
    json_object_object_add(o, "sources", json_object_new_int(ns));
    json_object *st = NULL;
    if (inst->obj && d->status) {
        bmq_plugin_call call;
        plugin__call_enter_inst(&call, inst, "status");
        st = d->status(inst->obj);
        bmq_plugin_call_leave(&call);
    }
    json_object_object_add(o, "status", st);
    return o;
}

GList *bmq_plugin_host_instances(bmq_plugin_host *h)
{
    g_return_val_if_fail(h != NULL, NULL);
    GList *out = NULL;
    for (GList *l = h->instances.tail; l; l = l->prev)
        out = g_list_prepend(out, l->data);
    return out;
}
