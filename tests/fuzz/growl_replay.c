/* growl_replay.c - run a libFuzzer target over its seed corpus without
 * libFuzzer, so normal (and sanitizer) builds replay every seed and every
 * reproducer kept in the corpus as a ctest. Usage: PROG DIR... */
#include <stdint.h>
#include <stdio.h>

#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        GError *e = NULL;
        GDir *d = g_dir_open(argv[i], 0, &e);
        if (!d) {
            fprintf(stderr, "growl_replay: %s\n", e->message);
            g_error_free(e);
            return 1;
        }
        const char *name;
        while ((name = g_dir_read_name(d))) {
            char *path = g_build_filename(argv[i], name, NULL);
            char *data = NULL;
            gsize len = 0;
            if (g_file_get_contents(path, &data, &len, NULL)) {
                LLVMFuzzerTestOneInput((const uint8_t *)data, len);
                files++;
            }
            g_free(data);
            g_free(path);
        }
        g_dir_close(d);
    }
    printf("replayed %d inputs\n", files);
    return files > 0 ? 0 : 1;
}
