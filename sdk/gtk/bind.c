/* bind.c - GUI actions become messages: any GObject signal sends a
 * configured identifier through a BmqGtkBridge; plus the readable rendering
 * of a message shared by the notify and gui plugins.
 *
 * A binding is a GClosure with its own marshaller, so it fits every signal
 * signature (clicked, activate with a GVariant parameter, boolean-returning
 * events) without casting a handler to the wrong C prototype.
 */
#include <berrymq/gtk.h>

#include <gtk/gtk.h>

typedef struct binding {
    GClosure closure;
    GWeakRef bridge;
    char *id;
    json_object *args;   /* (nullable) template, copied per send */
    json_object *kwargs; /* (nullable) template, copied per send */
} binding;

static json_object *copy_json(json_object *o)
{
    json_object *out = NULL;
    if (!o)
        return NULL;
    if (json_object_deep_copy(o, &out, NULL) != 0)
        return NULL;
    return out;
}

static void binding_marshal(GClosure *closure, GValue *return_value, guint n_params,
                            const GValue *params, gpointer hint, gpointer marshal_data)
{
    binding *b = (binding *)closure;
    BmqGtkBridge *bridge = g_weak_ref_get(&b->bridge);
    GObject *instance =
        n_params > 0 && G_VALUE_HOLDS_OBJECT(&params[0]) ? g_value_get_object(&params[0]) : NULL;

    /* Signals with a boolean result (events): let other handlers run too. */
    if (return_value && G_VALUE_HOLDS_BOOLEAN(return_value))
        g_value_set_boolean(return_value, FALSE);
    if (!bridge)
        return;

    json_object *args = copy_json(b->args);
    json_object *kwargs = copy_json(b->kwargs);
    if (instance && (GTK_IS_TOGGLE_BUTTON(instance) || GTK_IS_CHECK_MENU_ITEM(instance))) {
        gboolean active = GTK_IS_TOGGLE_BUTTON(instance)
                              ? gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(instance))
                              : gtk_check_menu_item_get_active(GTK_CHECK_MENU_ITEM(instance));
        if (!kwargs)
            kwargs = json_object_new_object();
        json_object_object_add(kwargs, "active", json_object_new_boolean(active));
    }
    bmq_gtk_bridge_send(bridge, b->id, args, kwargs);
    g_object_unref(bridge);
}

static void binding_finalize(gpointer data, GClosure *closure)
{
    binding *b = (binding *)closure;
    g_weak_ref_clear(&b->bridge);
    g_free(b->id);
    json_object_put(b->args);
    json_object_put(b->kwargs);
}

gulong bmq_gtk_bridge_bind(BmqGtkBridge *bridge, gpointer instance, const char *signal,
                           const char *id, json_object *args, json_object *kwargs)
{
    guint signal_id = 0;
    GQuark detail = 0;

    if (!BMQ_GTK_IS_BRIDGE(bridge) || !G_IS_OBJECT(instance) || !signal || !id ||
        bmq_id_validate(id) != 0 ||
        !g_signal_parse_name(signal, G_OBJECT_TYPE(instance), &signal_id, &detail, FALSE) ||
        (args && !json_object_is_type(args, json_type_array)) ||
        (kwargs && !json_object_is_type(kwargs, json_type_object))) {
        json_object_put(args);
        json_object_put(kwargs);
        return 0;
    }
    GClosure *closure = g_closure_new_simple(sizeof(binding), NULL);
    binding *b = (binding *)closure;
    g_weak_ref_init(&b->bridge, bridge);
    b->id = g_strdup(id);
    b->args = args;
    b->kwargs = kwargs;
    g_closure_set_marshal(closure, binding_marshal);
    g_closure_add_finalize_notifier(closure, NULL, binding_finalize);
    return g_signal_connect_closure_by_id(instance, signal_id, detail, closure, FALSE);
}

gulong bmq_gtk_bridge_bind_button(BmqGtkBridge *bridge, gpointer button, const char *id,
                                  json_object *args, json_object *kwargs)
{
    return bmq_gtk_bridge_bind(bridge, button, "clicked", id, args, kwargs);
}

gulong bmq_gtk_bridge_bind_menu_item(BmqGtkBridge *bridge, gpointer menu_item, const char *id,
                                     json_object *args, json_object *kwargs)
{
    return bmq_gtk_bridge_bind(bridge, menu_item, "activate", id, args, kwargs);
}

gulong bmq_gtk_bridge_bind_action(BmqGtkBridge *bridge, gpointer action, const char *id,
                                  json_object *args, json_object *kwargs)
{
    return bmq_gtk_bridge_bind(bridge, action, "activate", id, args, kwargs);
}

char *bmq_gtk_message_render(const bmq_message *msg, const char *const *skip)
{
    return bmq_message_render(msg, skip);
}
