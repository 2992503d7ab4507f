/* rpc_fuzz_replay.c - runs every file of the seed corpus (a directory given
 * as argument) through the fuzzer entry point, so the corpus is a regression
 * test in builds without libFuzzer. */
#include <dirent.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        GDir *d = g_dir_open(argv[i], 0, NULL);
        if (!d) {
            fprintf(stderr, "cannot open corpus %s\n", argv[i]);
            return 1;
        }
        const char *name;
        while ((name = g_dir_read_name(d))) {
            char *path = g_build_filename(argv[i], name, NULL);
            gchar *buf = NULL;
            gsize len = 0;
            if (g_file_get_contents(path, &buf, &len, NULL)) {
                LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
                files++;
            }
            g_free(buf);
            g_free(path);
        }
        g_dir_close(d);
    }
    printf("replayed %d inputs\n", files);
    return files > 0 ? 0 : 1;
}
