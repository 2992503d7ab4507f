/* gtkbridge.c - libberrymq-gtk: messages from any thread come out as
 * "message::NAME" signals on the main thread, in order; widgets and actions
 * bound with bmq_gtk_bridge_bind* send their identifiers; disposal,
 * overflow and bad input are handled. Runs on its own Xvfb. */
#include "desktop_env.h"

#include <berrymq/gtk.h>
#include <gtk/gtk.h>
#include <stdio.h>
#include <string.h>

static GThread *main_thread;

typedef struct counts {
    guint all, build, other, off_main;
    gint last_seq[4];
    guint out_of_order;
} counts;

static void on_any(BmqGtkBridge *b, bmq_message *m, gpointer ud)
{
    counts *c = ud;
    c->all++;
    if (g_thread_self() != main_thread)
        c->off_main++;
}

static void on_build(BmqGtkBridge *b, bmq_message *m, gpointer ud)
{
    counts *c = ud;
    c->build++;
    json_object *args = bmq_message_args(m);
    int t = json_object_get_int(json_object_array_get_idx(args, 0));
    int seq = json_object_get_int(json_object_array_get_idx(args, 1));
    if (t >= 0 && t < 4) {
        if (seq != c->last_seq[t] + 1)
            c->out_of_order++;
        c->last_seq[t] = seq;
    }
}

static void on_other(BmqGtkBridge *b, bmq_message *m, gpointer ud)
{
    ((counts *)ud)->other++;
}

typedef struct sender {
    bmq_bus *bus;
    int index;
} sender;

static gpointer send_thread(gpointer data)
{
    sender *s = data;
    for (int i = 0; i < 500; i++) {
        json_object *args = json_object_new_array();
        json_object_array_add(args, json_object_new_int(s->index));
        json_object_array_add(args, json_object_new_int(i));
        bmq_twitter(s->bus, "build:step", args, NULL);
        if (i % 5 == 0)
            bmq_twitter(s->bus, "other:tick", NULL, NULL);
    }
    return NULL;
}

static bool all_arrived(void *data)
{
    counts *c = data;
    return c->build == 2000 && c->other == 400;
}

static void test_threads(unsigned multiplicity)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_set_multiplicity(bus, multiplicity);
    char *err = NULL;
    BmqGtkBridge *bridge = bmq_gtk_bridge_new(bus, "*:*", &err);
    EXPECT(bridge != NULL && err == NULL);
    EXPECT(g_strcmp0(bmq_gtk_bridge_get_pattern(bridge), "*:*") == 0);
    counts c = {.last_seq = {-1, -1, -1, -1}};
    /* Detail quarks must exist before emission for "message::NAME" to match. */
    g_signal_connect(bridge, "message", G_CALLBACK(on_any), &c);
    g_signal_connect(bridge, "message::build", G_CALLBACK(on_build), &c);
    g_signal_connect(bridge, "message::other", G_CALLBACK(on_other), &c);

    sender s[4];
    GThread *th[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (sender){bus, i};
        th[i] = g_thread_new("sender", send_thread, &s[i]);
    }
    for (int i = 0; i < 4; i++)
        g_thread_join(th[i]);
    bmq_bus_flush(bus);
    EXPECT(desk_wait(all_arrived, &c, 10000));
    EXPECT(c.all == 2400);
    EXPECT(c.off_main == 0);
    if (multiplicity == 0)
        EXPECT(c.out_of_order == 0);
    EXPECT(bmq_gtk_bridge_get_emitted(bridge) == 2400);
    EXPECT(bmq_gtk_bridge_get_dropped(bridge) == 0);

    /* Disposal with messages still queued: nothing is emitted afterwards. */
    for (int i = 0; i < 50; i++)
        bmq_twitter_json(bus, "other:late", NULL, NULL);
    g_object_unref(bridge);
    desk_spin(50);
    EXPECT(c.other == 400);
    bmq_bus_free(bus);
}

static GPtrArray *sent;

static int record_send(const char *id, json_object *args, json_object *kwargs, void *ud)
{
    g_ptr_array_add(sent, g_strdup_printf("%s %s %s", id,
                                          args ? json_object_to_json_string(args) : "null",
                                          kwargs ? json_object_to_json_string(kwargs) : "null"));
    json_object_put(args);
    json_object_put(kwargs);
    return 0;
}

static bool sent_is(guint i, const char *want)
{
    bool ok = i < sent->len && strcmp(sent->pdata[i], want) == 0;
    if (!ok)
        fprintf(stderr, "sent[%u] = %s, want %s\n", i,
                i < sent->len ? (char *)sent->pdata[i] : "(none)", want);
    return ok;
}

static void test_bindings(void)
{
    sent = g_ptr_array_new_with_free_func(g_free);
    BmqGtkBridge *bridge = bmq_gtk_bridge_new_with_sender(record_send, NULL, NULL);
    GtkWidget *button = g_object_ref_sink(gtk_button_new_with_label("Build"));
    GtkWidget *toggle = g_object_ref_sink(gtk_toggle_button_new_with_label("Watch"));
    GtkWidget *item = g_object_ref_sink(gtk_menu_item_new_with_label("Deploy"));
    GSimpleAction *action = g_simple_action_new("rerun", G_VARIANT_TYPE_STRING);

    EXPECT(bmq_gtk_bridge_bind_button(bridge, button, "ui:build", json_tokener_parse("[\"main\"]"),
                                      json_tokener_parse("{\"n\": 1}")) != 0);
    EXPECT(bmq_gtk_bridge_bind(bridge, toggle, "toggled", "ui:watch", NULL, NULL) != 0);
    EXPECT(bmq_gtk_bridge_bind_menu_item(bridge, item, "ui:deploy", NULL, NULL) != 0);
    EXPECT(bmq_gtk_bridge_bind_action(bridge, action, "ui:rerun", NULL, NULL) != 0);
    /* Bad input: an invalid identifier, a missing signal, a wrong JSON type. */
    EXPECT(bmq_gtk_bridge_bind_button(bridge, button, "bad id", NULL, NULL) == 0);
    EXPECT(bmq_gtk_bridge_bind(bridge, button, "no-such-signal", "ui:x", NULL, NULL) == 0);
    EXPECT(bmq_gtk_bridge_bind(bridge, button, "clicked", "ui:x", json_object_new_object(), NULL) ==
           0);

    gtk_button_clicked(GTK_BUTTON(button));
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(toggle), TRUE);
    gtk_menu_item_activate(GTK_MENU_ITEM(item));
    g_action_activate(G_ACTION(action), g_variant_new_string("job-7"));
    EXPECT(sent->len == 4);
    EXPECT(sent_is(0, "ui:build [ \"main\" ] { \"n\": 1 }"));
    EXPECT(sent_is(1, "ui:watch null { \"active\": true }"));
    EXPECT(sent_is(2, "ui:deploy null null"));
    EXPECT(sent_is(3, "ui:rerun null null"));

    /* The bridge goes first: the widgets stay usable and send nothing. */
    g_object_unref(bridge);
    gtk_button_clicked(GTK_BUTTON(button));
    g_action_activate(G_ACTION(action), g_variant_new_string("job-8"));
    EXPECT(sent->len == 4);
    g_object_unref(button);
    g_object_unref(toggle);
    g_object_unref(item);
    g_object_unref(action);
    g_ptr_array_unref(sent);
}

static void count_cb(BmqGtkBridge *b, bmq_message *m, gpointer ud)
{
    (*(guint *)ud)++;
}

static void test_overflow_and_boxed(void)
{
    BmqGtkBridge *bridge = bmq_gtk_bridge_new_with_sender(NULL, NULL, NULL);
    guint n = 0;
    g_signal_connect(bridge, "message", G_CALLBACK(count_cb), &n);
    bmq_gtk_bridge_set_max_pending(bridge, 5);
    bmq_message *m = bmq_message_new("x:y", NULL, NULL, NULL);
    int full = 0;
    for (int i = 0; i < 20; i++)
        if (bmq_gtk_bridge_push(bridge, m) == -BMQ_EFULL)
            full++;
    EXPECT(full == 15);
    EXPECT(bmq_gtk_bridge_get_dropped(bridge) == 15);
    EXPECT(bmq_gtk_bridge_flush(bridge) == 5);
    EXPECT(n == 5);
    desk_spin(20);
    EXPECT(n == 5);
    /* No sender: sending fails cleanly and frees what it was given. */
    EXPECT(bmq_gtk_bridge_send(bridge, "a:b", json_object_new_array(), NULL) == -BMQ_ECLOSED);

    EXPECT(strcmp(g_type_name(BMQ_GTK_TYPE_MESSAGE), "BmqMessage") == 0);
    gpointer copy = g_boxed_copy(BMQ_GTK_TYPE_MESSAGE, m);
    EXPECT(copy == m);
    g_boxed_free(BMQ_GTK_TYPE_MESSAGE, copy);
    g_object_unref(bridge);

    char *err = NULL;
    bmq_bus *bus = bmq_bus_new();
    EXPECT(bmq_gtk_bridge_new(bus, "bad pattern", &err) == NULL);
    EXPECT(err && strstr(err, "bad pattern"));
    g_free(err);
    bmq_bus_free(bus);
    bmq_message_unref(m);
}

static void test_render(void)
{
    bmq_message *m = bmq_message_new("build:notify", json_tokener_parse("[\"a\", 1, {\"x\": 2}]"),
                                     json_tokener_parse("{\"title\": \"T\", \"k\": \"v\", "
                                                        "\"n\": null}"),
                                     NULL);
    const char *skip[] = {"title", NULL};
    char *text = bmq_gtk_message_render(m, skip);
    EXPECT(strcmp(text, "a 1 {\"x\":2}\nk: v\nn: null") == 0);
    g_free(text);
    bmq_message_unref(m);
}

int main(void)
{
    char *why = NULL;
    desk_env *env = desk_env_start(&why);
    if (!env) {
        fprintf(stderr, "skipped: %s\n", why);
        g_free(why);
        return DESK_SKIP;
    }
    main_thread = g_thread_self();
    if (!gtk_init_check(NULL, NULL)) {
        fprintf(stderr, "gtk_init_check failed on the test display\n");
        desk_env_stop(env);
        return 1;
    }
    test_threads(0);
    test_threads(3);
    test_bindings();
    test_overflow_and_boxed();
    test_render();
    desk_env_stop(env);
    return check_result();
}
