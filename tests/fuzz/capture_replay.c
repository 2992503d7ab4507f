/* capture_replay.c - replays capture_fuzz.c's target without libFuzzer:
 * Notify messages as libnotify, notify-send and hostile senders build them,
 * serialized as on the wire, then thousands of deterministic mutations of
 * each (flipped bytes, cut tails, spliced pieces, lying lengths), plus
 * every file of the corpus directories given. Usage: PROG [--write-seeds
 * DIR] [DIR...] */
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GBytes *seed(const char *app, const char *summary, const char *body, GVariant *hints,
                    const char *const *actions)
{
    GDBusMessage *m = g_dbus_message_new_method_call(":1.7", "/org/freedesktop/Notifications",
                                                     "org.freedesktop.Notifications", "Notify");
    g_dbus_message_set_sender(m, ":1.9");
    g_dbus_message_set_serial(m, 42);
    const char *none[] = {NULL};
    g_dbus_message_set_body(m, g_variant_new("(susss^as@a{sv}i)", app, 3, "icon", summary, body,
                                             actions ? actions : none, hints, 5000));
    gsize len = 0;
    guchar *blob = g_dbus_message_to_blob(m, &len, G_DBUS_CAPABILITY_FLAGS_NONE, NULL);
    g_object_unref(m);
    return g_bytes_new_take(blob, len);
}

static GVariant *hints_of(int n, bool image)
{
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&b, "{sv}", "urgency", g_variant_new_byte(2));
    g_variant_builder_add(&b, "{sv}", "category", g_variant_new_string("email.arrived"));
    g_variant_builder_add(&b, "{sv}", "x-berrymq-uid", g_variant_new_string("abc"));
    for (int i = 0; i < n; i++) {
        char key[32];
        g_snprintf(key, sizeof key, "x-%d", i);
        g_variant_builder_add(&b, "{sv}", key, g_variant_new_int32(i));
    }
    if (image) {
        guchar px[4 * 4 * 4] = {0};
        g_variant_builder_add(
            &b, "{sv}", "image-data",
            g_variant_new("(iiibii@ay)", 4, 4, 16, TRUE, 8, 4,
                          g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, px, sizeof px, 1)));
    }
    return g_variant_builder_end(&b);
}

static unsigned long runs;

static void run(const guchar *d, gsize n)
{
    LLVMFuzzerTestOneInput(d, n);
    runs++;
}

static void mutate(GBytes *b, GRand *r, int rounds)
{
    gsize len = 0;
    const guchar *orig = g_bytes_get_data(b, &len);
    run(orig, len);
    guchar *buf = g_malloc(len + 64);
    for (int i = 0; i < rounds; i++) {
        memcpy(buf, orig, len);
        gsize n = len;
        switch (g_rand_int_range(r, 0, 4)) {
        case 0: /* a few flipped bytes */
            for (int k = g_rand_int_range(r, 1, 8); k > 0; k--)
                buf[g_rand_int_range(r, 0, (gint32)len)] ^= (guchar)g_rand_int_range(r, 1, 256);
            break;
        case 1: /* a cut tail */
            n = (gsize)g_rand_int_range(r, 0, (gint32)len);
            break;
        case 2: { /* a lying 32-bit length somewhere */
            gsize at = (gsize)g_rand_int_range(r, 0, (gint32)(len - 4));
            guint32 v = g_rand_boolean(r) ? 0xffffffffu : g_rand_int(r) % 70000;
            memcpy(buf + at, &v, 4);
            break;
        }
        default: { /* a piece copied over another */
            gsize from = (gsize)g_rand_int_range(r, 0, (gint32)len);
            gsize to = (gsize)g_rand_int_range(r, 0, (gint32)len);
            gsize k = MIN(MIN(len - from, len - to), (gsize)g_rand_int_range(r, 1, 64));
            memmove(buf + to, orig + from, k);
            break;
        }
        }
        run(buf, n);
    }
    g_free(buf);
}

int main(int argc, char **argv)
{
    const char *acts[] = {"default", "Open", "reply", "Reply", NULL};
    GString *big = g_string_new(NULL);
    while (big->len < 70000)
        g_string_append(big, "\xc3\xa9t\xc3\xa9 ");
    GBytes *seeds[] = {
        seed("Mail", "New mail", "from bob", hints_of(0, false), acts),
        seed("", "", "", hints_of(0, false), NULL),
        seed("My App: v2@home*", "t", "b", hints_of(40, true), acts),
        seed("Flood", big->str, big->str, hints_of(3000, false), NULL),
    };
    g_string_free(big, TRUE);
    const char *out = NULL;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--write-seeds") == 0) {
        out = argv[2];
        first = 3;
        g_mkdir_with_parents(out, 0755);
    }
    GRand *r = g_rand_new_with_seed(19);
    for (size_t i = 0; i < G_N_ELEMENTS(seeds); i++) {
        if (out) {
            char *path = g_strdup_printf("%s/seed-%zu", out, i);
            g_file_set_contents(path, g_bytes_get_data(seeds[i], NULL),
                                (gssize)g_bytes_get_size(seeds[i]), NULL);
            g_free(path);
        }
        /* The large seeds cost more per run: fewer rounds. */
        mutate(seeds[i], r, i == 3 ? 200 : 3000);
        g_bytes_unref(seeds[i]);
    }
    g_rand_free(r);
    for (int i = first; i < argc; i++) {
        GDir *d = g_dir_open(argv[i], 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
            char *path = g_build_filename(argv[i], name, NULL), *data = NULL;
            gsize len = 0;
            if (g_file_get_contents(path, &data, &len, NULL))
                run((const guchar *)data, len);
            g_free(data);
            g_free(path);
        }
        if (d)
            g_dir_close(d);
    }
    printf("replayed %lu inputs\n", runs);
    return 0;
}
