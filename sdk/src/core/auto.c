/* auto.c - auto_twitter, twitter_exception and talk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "id.h"

/* "NAME:ACTION" from a bare name (which may carry "@ns"). */
static int make_id(const char *name, const char *action, char *out, size_t outsz)
{
    if (!name || strchr(name, ':') || bmq_id_validate(name) < 0)
        return -BMQ_EID;
    int n = snprintf(out, outsz, "%s:%s", name, action);
    if (n < 0 || (size_t)n >= outsz || bmq_id_validate(out) < 0)
        return -BMQ_EID;
    return 0;
}

int bmq_auto_twitter(bmq_bus *bus, const char *name, unsigned flags, bmq_call_fn fn,
                     void *user_data, json_object *args)
{
    char entry[BMQ_ID_MAX + 16], exit_id[BMQ_ID_MAX + 16];
    int rc = -BMQ_EINVAL;
    if (!bus || !fn)
        goto out;
    if ((rc = make_id(name, "entry", entry, sizeof(entry))) < 0 ||
        (rc = make_id(name, "exit", exit_id, sizeof(exit_id))) < 0)
        goto out;
    if (args && !json_object_is_type(args, json_type_array)) {
        rc = -BMQ_ETYPE;
        goto out;
    }
    if (flags & BMQ_AUTO_ENTRY) {
        json_object *a = NULL;
        if (args)
            json_object_deep_copy(args, &a, NULL);
        bmq_twitter(bus, entry, a, NULL);
    }
    rc = fn(user_data);
    if (flags & BMQ_AUTO_EXIT) {
        json_object *a = NULL;
        if (args)
            json_object_deep_copy(args, &a, NULL);
        json_object *kw = json_object_new_object();
        json_object_object_add(kw, "result", json_object_new_int(rc));
        bmq_twitter(bus, exit_id, a, kw);
    }
out:
    json_object_put(args);
    return rc;
}

int bmq_twitter_exception(bmq_bus *bus, const char *name, bmq_call_err_fn fn, void *user_data)
{
    char id[BMQ_ID_MAX + 16];
    if (!bus || !fn)
        return -BMQ_EINVAL;
    int rc = make_id(name, "error", id, sizeof(id));
    if (rc < 0)
        return rc;
    char *text = NULL;
    rc = fn(user_data, &text);
    if (rc < 0) {
        json_object *kw = json_object_new_object();
        json_object_object_add(kw, "code", json_object_new_int(rc));
        json_object_object_add(kw, "message",
                               json_object_new_string(text ? text : bmq_strerror(rc)));
        bmq_twitter(bus, id, NULL, kw);
    }
    free(text);
    return rc;
}

int bmq_talk(bmq_bus *bus, const char *id, const char *callback_id, json_object *args,
             json_object *kwargs)
{
    int err;
    if (!bus) {
        json_object_put(args);
        json_object_put(kwargs);
        return -BMQ_EINVAL;
    }
    if (!callback_id || bmq_id_validate(callback_id) < 0) {
        json_object_put(args);
        json_object_put(kwargs);
        return -BMQ_EID;
    }
    size_t len = id ? strnlen(id, BMQ_ID_MAX + 1) : 0;
    bmq_message *m = message__new(id, len, args, kwargs, NULL, NULL, callback_id, &err);
    if (!m)
        return err;
    return bus__dispatch(bus, m);
}
