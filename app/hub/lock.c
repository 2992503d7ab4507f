/* lock.c - one hub per user: an flock()ed file in $XDG_RUNTIME_DIR (else
 * /tmp/berrymq-UID) holding "PID HOST:PORT". The kernel drops the lock when
 * the process dies, so a stale file never blocks a new hub.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub.h"

static int lock_fd = -1;
static char *lock_path;

char *hub_runtime_dir(void)
{
    const char *xdg = g_getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg && g_file_test(xdg, G_FILE_TEST_IS_DIR))
        return g_build_filename(xdg, "berrymq", NULL);
    return g_strdup_printf("/tmp/berrymq-%u", (unsigned)getuid());
}

int hub_lock_acquire(int *pid, char **listen, char **error)
{
    *pid = 0;
    *listen = NULL;
    char *dir = hub_runtime_dir();
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        *error = g_strdup_printf("cannot create %s: %s", dir, g_strerror(errno));
        g_free(dir);
        return -2;
    }
    struct stat st;
    if (stat(dir, &st) == 0 && st.st_uid != getuid()) {
        *error = g_strdup_printf("%s belongs to another user", dir);
        g_free(dir);
        return -2;
    }
    /* Only this user may reach the socket inside. */
    if (stat(dir, &st) == 0 && (st.st_mode & 0077) && chmod(dir, 0700) != 0) {
        *error = g_strdup_printf("cannot make %s private: %s", dir, g_strerror(errno));
        g_free(dir);
        return -2;
    }
    lock_path = g_build_filename(dir, "hub.lock", NULL);
    g_free(dir);
    lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0) {
        *error = g_strdup_printf("cannot open %s: %s", lock_path, g_strerror(errno));
        return -2;
    }
    /* Only "held by another process" means another hub runs. */
    int fl = flock(lock_fd, LOCK_EX | LOCK_NB);
    if (fl != 0 && errno != EWOULDBLOCK) {
        *error = g_strdup_printf("cannot lock %s: %s", lock_path, g_strerror(errno));
        close(lock_fd);
        lock_fd = -1;
        g_free(lock_path);
        lock_path = NULL;
        return -2;
    }
    if (fl != 0) {
        char buf[256] = {0};
        ssize_t n = pread(lock_fd, buf, sizeof buf - 1, 0);
        if (n > 0) {
            char addr[200] = {0};
            int p = 0;
            if (sscanf(buf, "%d %199s", &p, addr) >= 1)
                *pid = p;
            if (addr[0])
                *listen = g_strdup(addr);
        }
        close(lock_fd);
        lock_fd = -1;
        g_free(lock_path);
        lock_path = NULL;
        return -1;
    }
    hub_lock_write(NULL);
    return 0;
}

void hub_lock_write(const char *listen)
{
    if (lock_fd < 0)
        return;
    char *text = g_strdup_printf("%d %s\n", (int)getpid(), listen ? listen : "-");
    /* A failed truncate shows in the write that follows (or in the
     * reader, which stops at the first newline). */
    if (ftruncate(lock_fd, 0) != 0)
        hub_log(BMQ_LOG_DEBUG, "cannot truncate %s: %s", lock_path, g_strerror(errno));
    if (pwrite(lock_fd, text, strlen(text), 0) < 0)
        hub_log(BMQ_LOG_WARNING,
                "cannot write %s: %s; another hub started now will not be told our pid and "
                "address",
                lock_path, g_strerror(errno));
    g_free(text);
}

void hub_lock_release(void)
{
    if (lock_fd < 0)
        return;
    /* Empty the file before unlocking so a reader never sees our address
     * after we stopped listening. */
    if (ftruncate(lock_fd, 0) != 0)
        hub_log(BMQ_LOG_DEBUG, "cannot truncate %s", lock_path);
    close(lock_fd);
    lock_fd = -1;
    g_free(lock_path);
    lock_path = NULL;
}
