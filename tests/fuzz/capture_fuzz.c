/* capture_fuzz.c - libFuzzer target for the capture plugin's parsing core.
 * The input is a D-Bus message as it comes off the wire; when GDBus takes
 * it and it is a Notify call, its body goes through the parse, the
 * verdicts and the kwargs as the monitor would send them. Input GDBus
 * refuses is read as a serialized Notify body instead, which reaches the
 * parse with the non-normal data GVariant must cope with. */
#include <stdint.h>
#include <string.h>

#include "capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_body(GVariant *body)
{
    static const char *const configs[] = {
        "{}",
        "{\"redact_body\": true}",
        "{\"only_apps\": [\"*a*\"], \"ignore_apps\": [\"b?\"], \"urgency_min\": \"critical\"}",
    };
    cap_note *n = capture__note_parse(body, true);
    if (!n)
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(configs); i++) {
        json_object *o = json_tokener_parse(configs[i]);
        cap_config c;
        char *error = NULL;
        if (capture__config_read(o, &c, &error)) {
            capture__verdict(&c, n);
            json_object *kw = capture__note_kwargs(n, &c, 1, i == 2 ? "x.Error" : NULL);
            const char *text = json_object_to_json_string(kw);
            if (!text || !g_utf8_validate(text, -1, NULL))
                __builtin_trap();
            json_object_put(kw);
            capture__config_clear(&c);
        }
        g_free(error);
        json_object_put(o);
    }
    char *part = capture__id_part(n->app, CAPTURE_ID_PART_MAX);
    if (strlen(part) > CAPTURE_ID_PART_MAX || strpbrk(part, ":@* \t\n"))
        __builtin_trap();
    g_free(part);
    capture__note_free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GDBusMessage *m =
        g_dbus_message_new_from_blob((guchar *)data, size, G_DBUS_CAPABILITY_FLAGS_NONE, NULL);
    if (m) {
        if (g_dbus_message_get_message_type(m) == G_DBUS_MESSAGE_TYPE_METHOD_CALL &&
            g_strcmp0(g_dbus_message_get_member(m), "Notify") == 0)
            run_body(g_dbus_message_get_body(m));
        g_object_unref(m);
        return 0;
    }
    guchar *copy = g_memdup2(data, size);
    GVariant *body = g_variant_ref_sink(g_variant_new_from_data(G_VARIANT_TYPE("(susssasa{sv}i)"),
                                                                copy, size, FALSE, g_free, copy));
    run_body(body);
    g_variant_unref(body);
    return 0;
}
