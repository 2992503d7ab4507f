/* history_disk.c - a full disk: the history lives on a small tmpfs made
 * for the test. Once it is full, history writes fail loudly (log, status
 * "error" with the reason) while every message is still answered "ok" and
 * delivered; when space comes back (the tmpfs grows), writing resumes.
 * Needs to mount a tmpfs (root); skipped (77) where that is not allowed.
 */
#include <errno.h>
#include <sys/mount.h>

#include "history_common.h"

static char *mnt;

static void cleanup(void)
{
    if (mnt) {
        umount2(mnt, MNT_DETACH);
        g_free(mnt);
        mnt = NULL;
    }
}

int main(void)
{
    hh_env *env = hh_env_new();
    hh_write_config(env, "{\"plugins\": []}");
    mnt = g_build_filename(env->root, "home", ".local", "state", NULL);
    g_mkdir_with_parents(mnt, 0700);
    if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=256k,mode=0700") != 0) {
        fprintf(stderr, "skip: cannot mount a tmpfs: %s\n", g_strerror(errno));
        g_free(mnt);
        mnt = NULL;
        hh_env_free(env);
        return 77;
    }
    atexit(cleanup);
    hh_hub *h = hh_start(env, NULL, true);
    json_object *tok = hh_call(h, "connect_via_queue", "[\"disk:*\", 60]", NULL);
    EXPECT(json_object_is_type(tok, json_type_string));

    /* Fill it: every batch is still answered "ok" (checked by hist_flood). */
    int sent = 0;
    char *state = NULL;
    for (int i = 0; i < 200; i++) {
        hist_flood(h, "disk", sent, 50, 2000);
        sent += 50;
        g_free(state);
        state = hist_status_str(h, "state");
        if (strcmp(state, "error") == 0)
            break;
    }
    printf("history full after %d messages of ~2 KB on a 256 KiB tmpfs\n", sent);
    EXPECT(strcmp(state, "error") == 0);
    g_free(state);
    char *err = hist_status_str(h, "error");
    EXPECT_CONTAINS(err, "full");
    g_free(err);
    EXPECT(hh_wait_log(h, "history: cannot write", 2000));
    EXPECT(hist_status_int(h, "failed") > 0);
    /* Delivered all the same: the queue has the last message sent. */
    char *p = g_strdup_printf("[\"%s\"]", json_object_get_string(tok));
    json_object *last = NULL, *m;
    while ((m = hh_call(h, "get_nowait", p, NULL)) && json_object_is_type(m, json_type_array)) {
        json_object_put(last);
        last = m;
    }
    json_object_put(m);
    char *want = g_strdup_printf("disk:%d", sent - 1);
    EXPECT(last && strcmp(json_object_get_string(json_object_array_get_idx(last, 0)), want) == 0);
    g_free(want);
    json_object_put(last);
    g_free(p);
    json_object_put(tok);

    /* Space again: the next writes succeed and the state is "ok". */
    EXPECT(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, "size=16m") == 0);
    hist_flood(h, "again", 0, 10, 0);
    state = hist_status_str(h, "state");
    EXPECT(strcmp(state, "ok") == 0);
    g_free(state);
    EXPECT(hh_wait_log(h, "history: writing again", 2000));
    json_object *r = hist_query(h, "[\"again\", 0]");
    EXPECT(json_object_array_length(r) == 10);
    json_object_put(r);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    cleanup();
    hh_env_free(env);
    return check_result();
}
