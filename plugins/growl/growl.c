/* growl.c - the growl plugin: forward messages to a Growl server (GNTP 1.0
 * or legacy UDP) and, optionally, accept Growl clients (receiver.c).
 *
 * Instance config (all keys optional):
 *   filter         pattern or array of patterns to forward ("*:*"); the hub's
 *                  own local messages (_name:*) only when a pattern names
 *                  them ("_hub:*"), never through a wildcard
 *   host, port     the Growl server ("localhost", 23053 / 9887)
 *   protocol       "gntp" | "udp"
 *   password, hash key hash (GNTP) / checksum (UDP) algorithm, "MD5"
 *   application    application name registered with Growl ("berryMQ")
 *   notifications  notification types to register; default one per name
 *   title, text    templates (see template.c)
 *   icon           local file (sent as a binary resource) or URL
 *   listen         {"gntp": port, "udp": port, "host", "password", "allow"}
 *   forward        false: receive only
 *   callbacks      ask for click/close/timeout callbacks (true)
 *   queue          bounded queue length (256)
 *   timeout        seconds to wait for a reply (10; at least 6)
 */
#include "growl_plugin.h"

#include <string.h>

#include <berrymq/json.h>

#define MAX_ICON (1024 * 1024)

typedef struct growl_inst {
    const bmq_host *host;
    growl_sender *sender;     /* (nullable) */
    growl_receiver *receiver; /* (nullable) */
    GPtrArray *followers;     /* bmq_follower* (owned by the host) */
    char *title;              /* (nullable) template; NULL = default */
    char *text;               /* (nullable) */
    GPtrArray *types;         /* (nullable) configured notification types */
    bool want_local;          /* a filter names a local (_name) identifier */
    GPtrArray *filters;       /* char* patterns followed */
} growl_inst;

static const char *const known_keys[] = {
    "filter",      "host",          "protocol", "port",    "password", "hash",
    "application", "notifications", "title",    "text",    "icon",     "listen",
    "forward",     "callbacks",     "queue",    "timeout", NULL,
};

/* ---- forwarding ---------------------------------------------------------------- */

static const char *kw_string(json_object *kw, const char *key)
{
    json_object *v;
    if (kw && json_object_object_get_ex(kw, key, &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

static char *default_text(json_object *args, json_object *kwargs)
{
    char *a = growl__json_readable(args);
    char *k = growl__json_readable(kwargs);
    char *t = g_strconcat(a, ", ", k, NULL);
    g_free(a);
    g_free(k);
    return t;
}

/* The notification @msg becomes (transfer full); NULL if its JSON text cannot be read. */
static growl_job *job_for(growl_inst *gi, const bmq_message *msg)
{
    /* Private copies from the message's cached JSON text: this runs in any
     * thread, and rendering a shared json-c value writes into it. */
    json_object *args = NULL, *kw = NULL;
    const char *aj = bmq_message_args_json(msg), *kj = bmq_message_kwargs_json(msg);
    if (bmq_json_parse(aj, strlen(aj), 0, &args, NULL) != 0 ||
        bmq_json_parse(kj, strlen(kj), 0, &kw, NULL) != 0) {
        json_object_put(args);
        return NULL;
    }
    const char *id = bmq_message_id(msg), *name = bmq_message_name(msg);
    const char *action = bmq_message_action(msg);

    growl_job *job = g_new0(growl_job, 1);
    if (gi->types) {
        const char *type = gi->types->pdata[0];
        for (guint i = 0; i < gi->types->len; i++)
            if (strcmp(gi->types->pdata[i], name) == 0)
                type = name;
        job->name = g_strdup(type);
    } else {
        job->name = g_strdup(name);
    }
    if (gi->title)
        job->title = growl__template_render(gi->title, id, name, action, args, kw);
    else
        job->title = g_strdup(kw_string(kw, "title") ? kw_string(kw, "title") : id);
    if (gi->text)
        job->text = growl__template_render(gi->text, id, name, action, args, kw);
    else if (kw_string(kw, "text") || kw_string(kw, "body"))
        job->text = g_strdup(kw_string(kw, "text") ? kw_string(kw, "text") : kw_string(kw, "body"));
    else
        job->text = default_text(args, kw);

    json_object *v;
    if (kw && json_object_object_get_ex(kw, "priority", &v) &&
        (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
        job->priority = (int)CLAMP(json_object_get_int64(v), -2, 2);
    if (kw && json_object_object_get_ex(kw, "sticky", &v))
        job->sticky = json_object_get_boolean(v);
    const char *icon = kw_string(kw, "icon");
    if (icon && strstr(icon, "://"))
        job->icon.url = g_strdup(icon);
    job->context = g_strdup(id);
    json_object_put(args);
    json_object_put(kw);
    job->seq = job->ack_seq = bmq_message_seq(msg);
    return job;
}

static void forward(const bmq_message *msg, void *user_data)
{
    growl_inst *gi = user_data;
    if (bmq_message_origin(msg) == gi) {
        /* Our own callbacks and received notifications: not sent back, but
         * the history cursor moves past them. */
        growl__sender_skip(gi->sender, bmq_message_seq(msg));
        return;
    }
    /* Local control traffic (_hub:instances is a long status dump) is not
     * for the Growl screen unless asked for by name. */
    if (!gi->want_local && bmq_message_name(msg)[0] == '_')
        return;
    if (!growl__sender_wants(gi->sender, msg))
        return; /* the history cursor gives it back */
    growl_job *job = job_for(gi, msg);
    if (!job)
        return;
    job->msg = bmq_message_ref(msg);
    growl__sender_push(gi->sender, job);
}

/* A message read back from the history: a job when a filter takes it. */
static growl_job *replayed_job(const bmq_message *msg, void *data)
{
    growl_inst *gi = data;
    bool match = false;
    for (guint i = 0; i < gi->filters->len && !match; i++)
        match = bmq_id_match(gi->filters->pdata[i], bmq_message_id(msg));
    if (!match || (!gi->want_local && bmq_message_name(msg)[0] == '_'))
        return NULL;
    return job_for(gi, msg);
}

/* The durable queue: a cursor over the hub's history, opened once the
 * followers are in place (see sender.c). One filter pattern: the cursor
 * reads what matches it; several: every message, kept by replayed_job. */
static void open_cursor(growl_inst *gi)
{
    const bmq_host *host = gi->host;
    bmq_cursor *c = NULL;
    if (BMQ_HOST_HAS(host, cursor_close) && host->history_cursor) {
        const char *pattern = gi->filters->len == 1 ? gi->filters->pdata[0] : NULL;
        char *err = NULL;
        c = host->history_cursor(host, "outbox", pattern, &err);
        if (!c)
            host->log(host, BMQ_LOG_INFO, "queue in memory only (%s)", err ? err : "no history");
        g_free(err);
    }
    growl__sender_set_cursor(gi->sender, c, replayed_job, gi);
}

/* ---- config ------------------------------------------------------------------------ */

/* Thin adapters over bmq_config_get_*: @dflt when absent, false on error. */
static bool get_string(json_object *cfg, const char *key, const char *dflt, char **out,
                       char **error)
{
    *out = g_strdup(dflt);
    return bmq_config_get_string(cfg, key, 0, out, error) == 0;
}

static bool get_bool(json_object *cfg, const char *key, bool dflt, bool *out, char **error)
{
    *out = dflt;
    return bmq_config_get_bool(cfg, key, 0, out, error) == 0;
}

static bool get_int(json_object *cfg, const char *key, int dflt, int lo, int hi, int *out,
                    char **error)
{
    int64_t n = dflt;
    bool ok = bmq_config_get_int(cfg, key, 0, lo, hi, &n, error) == 0;
    *out = (int)n;
    return ok;
}

/* A non-empty string or list of non-empty strings; @dflt (nullable) when
 * absent. NULL on error. */
static GPtrArray *get_strings(json_object *cfg, const char *key, const char *dflt, char **error)
{
    char **list = NULL;
    if (bmq_config_get_strv(cfg, key, BMQ_CONFIG_NONEMPTY, &list, error))
        return NULL;
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    if (!list && dflt)
        g_ptr_array_add(a, g_strdup(dflt));
    for (char **p = list; p && *p; p++) {
        if (!**p) {
            *error =
                g_strdup_printf("key '%s': expected non-empty strings, got an empty string", key);
            g_strfreev(list);
            g_ptr_array_free(a, TRUE);
            return NULL;
        }
        g_ptr_array_add(a, *p);
    }
    g_free(list); /* the strings moved into @a */
    return a;
}

static bool load_icon(const char *icon, gntp_icon *out, char **error)
{
    if (!icon || !*icon)
        return true;
    if (strstr(icon, "://") && g_ascii_strncasecmp(icon, "file://", 7) != 0) {
        out->url = g_strdup(icon);
        return true;
    }
    char *path = g_ascii_strncasecmp(icon, "file://", 7) == 0
                     ? g_filename_from_uri(icon, NULL, NULL)
                     : g_strdup(icon);
    char *data = NULL;
    gsize len = 0;
    GError *e = NULL;
    bool ok = path && g_file_get_contents(path, &data, &len, &e);
    if (!ok) {
        *error =
            g_strdup_printf("key 'icon': cannot read '%s': %s", icon, e ? e->message : "bad URI");
    } else if (len == 0 || len > MAX_ICON) {
        *error = g_strdup_printf("key 'icon': '%s' must be 1 byte..1 MiB (is %zu bytes)", icon,
                                 (size_t)len);
        ok = false;
        g_free(data);
    } else {
        out->data = g_bytes_new_take(data, len);
    }
    g_clear_error(&e);
    g_free(path);
    return ok;
}

static bool sender_config(growl_inst *gi, json_object *cfg, growl_sender_config *sc, char **error)
{
    char *proto = NULL, *hash = NULL, *icon = NULL;
    bool ok = get_string(cfg, "protocol", "gntp", &proto, error);
    if (ok && strcmp(proto, "gntp") && strcmp(proto, "udp")) {
        *error = g_strdup_printf("key 'protocol': expected \"gntp\" or \"udp\", got \"%s\"", proto);
        ok = false;
    }
    sc->udp = ok && !strcmp(proto, "udp");
    int port = 0, queue = 0, timeout = 0;
    ok = ok && get_string(cfg, "host", "localhost", &sc->host, error) &&
         get_int(cfg, "port", sc->udp ? GROWL_UDP_DEFAULT_PORT : GNTP_DEFAULT_PORT, 1, 65535, &port,
                 error) &&
         get_string(cfg, "password", "", &sc->password, error) &&
         get_string(cfg, "hash", "MD5", &hash, error) &&
         get_string(cfg, "application", "berryMQ", &sc->application, error) &&
         get_bool(cfg, "callbacks", true, &sc->callbacks, error) &&
         get_int(cfg, "queue", 256, 1, 100000, &queue, error) &&
         get_int(cfg, "timeout", 10, 1, 600, &timeout, error) &&
         get_string(cfg, "icon", NULL, &icon, error);
    if (ok && (!*sc->host || !*sc->application)) {
        *error = g_strdup("keys 'host' and 'application': must not be empty");
        ok = false;
    }
    if (ok) {
        int h = gntp__hash_from_name(hash);
        bool valid = sc->udp ? (h == GNTP_HASH_MD5 || h == GNTP_HASH_SHA256 || h == 0)
                             : (h == GNTP_HASH_MD5 || h == GNTP_HASH_SHA1 ||
                                h == GNTP_HASH_SHA256 || h == GNTP_HASH_SHA512);
        if (!valid) {
            *error = g_strdup_printf(
                "key 'hash': expected %s, got \"%s\"",
                sc->udp ? "MD5, SHA256 or NONE (UDP)" : "MD5, SHA1, SHA256 or SHA512", hash);
            ok = false;
        }
        sc->hash = (gntp_hash)h;
    }
    json_object *v;
    if (ok && json_object_object_get_ex(cfg, "notifications", &v) && v) {
        sc->notifications = get_strings(cfg, "notifications", NULL, error);
        ok = sc->notifications != NULL;
        if (ok) {
            gi->types = g_ptr_array_new_with_free_func(g_free);
            for (guint i = 0; i < sc->notifications->len; i++)
                g_ptr_array_add(gi->types, g_strdup(sc->notifications->pdata[i]));
        }
    }
    ok = ok && load_icon(icon, &sc->icon, error);
    sc->port = (guint16)port;
    sc->queue_max = (guint)queue;
    /* Growl servers in the wild can take seconds to answer. */
    sc->timeout_s = (guint)MAX(timeout, 6);
    sc->origin = gi;
    g_free(proto);
    g_free(hash);
    g_free(icon);
    return ok;
}

/* The names the filters follow ("build:*" -> "build"): one notification
 * type each, registered before the first message. Wildcards add none. */
static GPtrArray *names_of(GPtrArray *filters)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < filters->len; i++) {
        const char *f = filters->pdata[i];
        char *name = g_strndup(f, strcspn(f, "@:"));
        bool dup = !*name || strchr(name, '*');
        for (guint k = 0; !dup && k < names->len; k++)
            dup = strcmp(names->pdata[k], name) == 0;
        if (dup)
            g_free(name);
        else
            g_ptr_array_add(names, name);
    }
    return names;
}

/* ---- descriptor ------------------------------------------------------------------------ */

static void growl_destroy(void *instance)
{
    growl_inst *gi = instance;
    if (!gi)
        return;
    /* Followers first: unfollow waits for running forwards, which push to
     * the sender. */
    for (guint i = 0; gi->followers && i < gi->followers->len; i++)
        gi->host->unfollow(gi->host, gi->followers->pdata[i]);
    if (gi->followers)
        g_ptr_array_free(gi->followers, TRUE);
    growl__sender_free(gi->sender);
    growl__receiver_free(gi->receiver);
    if (gi->types)
        g_ptr_array_free(gi->types, TRUE);
    if (gi->filters)
        g_ptr_array_free(gi->filters, TRUE);
    g_free(gi->title);
    g_free(gi->text);
    g_free(gi);
}

static void *growl_create(const bmq_host *host, json_object *config, char **error)
{
    if (bmq_config_check_keys(config, known_keys, error))
        return NULL;
    growl_inst *gi = g_new0(growl_inst, 1);
    gi->host = host;
    bool fwd = true;
    GPtrArray *filters = NULL;
    growl_sender_config sc = {0};
    bool ok = get_bool(config, "forward", true, &fwd, error) &&
              get_string(config, "title", NULL, &gi->title, error) &&
              get_string(config, "text", NULL, &gi->text, error) &&
              (filters = get_strings(config, "filter", "*:*", error)) != NULL;
    for (guint i = 0; ok && i < filters->len; i++) {
        if (((const char *)filters->pdata[i])[0] == '_')
            gi->want_local = true;
        if (bmq_id_validate(filters->pdata[i]) != 0) {
            *error = g_strdup_printf("key 'filter': '%s' is not a valid identifier pattern",
                                     (const char *)filters->pdata[i]);
            ok = false;
        }
    }
    ok = ok && sender_config(gi, config, &sc, error);
    if (ok && !sc.notifications)
        sc.seed_names = names_of(filters);
    json_object *listen;
    if (ok && json_object_object_get_ex(config, "listen", &listen) && listen) {
        gi->receiver = growl__receiver_new(host, listen, gi, error);
        ok = gi->receiver != NULL;
    }
    if (ok && fwd) {
        gi->sender = growl__sender_new(host, &sc);
        gi->followers = g_ptr_array_new();
        for (guint i = 0; ok && i < filters->len; i++) {
            bmq_follower *f =
                host->follow(host, filters->pdata[i], forward, NULL, gi, BMQ_FOLLOW_ANY_THREAD);
            if (!f) {
                *error = g_strdup_printf("cannot follow '%s'", (const char *)filters->pdata[i]);
                ok = false;
            } else {
                g_ptr_array_add(gi->followers, f);
            }
        }
    }
    growl__sender_config_clear(&sc);
    gi->filters = filters;
    if (!ok) {
        growl_destroy(gi);
        return NULL;
    }
    if (gi->sender)
        open_cursor(gi);
    return gi;
}

static json_object *growl_status(void *instance)
{
    growl_inst *gi = instance;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "forwarding", json_object_new_boolean(gi->sender != NULL));
    if (gi->sender) {
        growl__sender_status(gi->sender, o);
    } else {
        static const char *const zero[] = {"sent", "failed", "dropped", "queued"};
        for (size_t i = 0; i < G_N_ELEMENTS(zero); i++)
            json_object_object_add(o, zero[i], json_object_new_int(0));
    }
    json_object_object_add(o, "listening", json_object_new_boolean(gi->receiver != NULL));
    if (gi->receiver) {
        growl__receiver_status(gi->receiver, o);
    } else {
        json_object_object_add(o, "received", json_object_new_int(0));
        json_object_object_add(o, "rejected", json_object_new_int(0));
    }
    return o;
}

static const bmq_plugin_descriptor growl_descriptor = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "growl",
    .version = "1.0",
    .description = "Forward messages to Growl (GNTP 1.0, legacy UDP) and accept Growl senders",
    .create = growl_create,
    .destroy = growl_destroy,
    .reconfigure = NULL,
    .status = growl_status,
};

BMQ_PLUGIN_DEFINE(growl_descriptor)
