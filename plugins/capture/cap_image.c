/* cap_image.c - the image-data hint of a captured notification as a PNG
 * file (gdk-pixbuf), in a bounded ring of files under the instance's data
 * directory. Main thread only. */
#include "cap_plugin.h"

#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

/* Larger images are not from a notification anyone wants to forward. */
#define IMAGE_SIDE_MAX 4096

static char *image_path(cap_plugin *p, guint64 seq)
{
    char name[32];
    g_snprintf(name, sizeof name, "%" G_GUINT64_FORMAT ".png", seq);
    return g_build_filename(p->image_dir, name, NULL);
}

void capture__images_init(cap_plugin *p)
{
    p->image_dir = g_build_filename(p->host->data_dir, "images", NULL);
    /* A notification's pixels are as private as its text: only this user
     * reads them, also when the directory was left open earlier. */
    g_mkdir_with_parents(p->image_dir, 0700);
    GStatBuf st;
    if (g_stat(p->image_dir, &st) == 0 && (st.st_mode & 0077) && g_chmod(p->image_dir, 0700) != 0)
        p->host->log(p->host, BMQ_LOG_WARNING, "cannot make %s private: %s", p->image_dir,
                     g_strerror(errno));
    /* Go on after the newest file of an earlier run; drop what the ring no
     * longer covers. */
    GDir *d = g_dir_open(p->image_dir, 0, NULL);
    guint64 max = 0;
    GArray *seen = g_array_new(FALSE, FALSE, sizeof(guint64));
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        char *end = NULL;
        guint64 n = g_ascii_strtoull(name, &end, 10);
        if (end != name && strcmp(end, ".png") == 0) {
            g_array_append_val(seen, n);
            max = MAX(max, n);
        }
    }
    if (d)
        g_dir_close(d);
    for (guint i = 0; i < seen->len; i++) {
        guint64 n = g_array_index(seen, guint64, i);
        if (n + p->cfg.images_keep <= max) {
            char *path = image_path(p, n);
            g_unlink(path);
            g_free(path);
        }
    }
    g_array_unref(seen);
    p->image_seq = max;
}

char *capture__image_write(cap_plugin *p, GVariant *image, char **error)
{
    gint32 w, h, stride, bits, channels;
    gboolean alpha;
    GVariant *data = NULL;
    g_variant_get(image, "(iiibii@ay)", &w, &h, &stride, &alpha, &bits, &channels, &data);
    gsize len = g_variant_get_size(data);
    /* The bounds gdk-pixbuf needs, checked here so a hostile hint cannot
     * make it read past the data. */
    gsize row = (gsize)MAX(w, 0) * (gsize)MAX(channels, 0);
    if (w <= 0 || h <= 0 || w > IMAGE_SIDE_MAX || h > IMAGE_SIDE_MAX || bits != 8 ||
        channels != (alpha ? 4 : 3) || stride < 0 || (gsize)stride < row ||
        len < (gsize)stride * (gsize)(h - 1) + row) {
        *error = g_strdup_printf("image-data %dx%d (%d bits, %d channels, stride %d, "
                                 "%zu bytes) is not a valid image",
                                 w, h, bits, channels, stride, len);
        g_variant_unref(data);
        return NULL;
    }
    GBytes *bytes = g_variant_get_data_as_bytes(data);
    GdkPixbuf *pb = gdk_pixbuf_new_from_bytes(bytes, GDK_COLORSPACE_RGB, alpha, 8, w, h, stride);
    g_bytes_unref(bytes);
    g_variant_unref(data);

    guint64 seq = ++p->image_seq;
    char *path = image_path(p, seq);
    GError *err = NULL;
    char *png = NULL;
    gsize png_len = 0;
    /* Written aside and renamed (a reader never sees half a file), mode
     * 0600 whatever the umask. */
    bool ok = gdk_pixbuf_save_to_buffer(pb, &png, &png_len, "png", &err, NULL) &&
              g_file_set_contents_full(path, png, (gssize)png_len, G_FILE_SET_CONTENTS_CONSISTENT,
                                       0600, &err);
    g_object_unref(pb);
    g_free(png);
    if (!ok) {
        *error = g_strdup_printf("cannot write %s: %s", path, err ? err->message : "failed");
        g_clear_error(&err);
        g_free(path);
        return NULL;
    }
    if (seq > p->cfg.images_keep) {
        char *old = image_path(p, seq - p->cfg.images_keep);
        g_unlink(old);
        g_free(old);
    }
    return path;
}
