/* fileobserver_harness.h - shared fixture of the fileobserver tests: a
 * bus, the real plugin host loading the built plugin, a follower recording
 * every message, a temp directory, and main-loop helpers that block (no
 * polling) until something happens. */
#ifndef BMQ_FILEOBSERVER_HARNESS_H
#define BMQ_FILEOBSERVER_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <berrymq/host.h>

typedef struct ev {
    char *name;   /* instance id */
    char *action; /* created / modified / removed */
    char *path;   /* args[0] */
    int64_t size; /* kwargs.size, -1 if absent */
    double mtime; /* kwargs.mtime, -1 if absent */
} ev;

typedef struct fo_fx {
    bmq_bus *bus;
    bmq_plugin_host *host;
    bmq_follower *f;
    GPtrArray *evs;  /* ev* in delivery order */
    GPtrArray *logs; /* char* */
    GPtrArray *strs; /* char* returned by fx_path, freed with the fixture */
    char *root;      /* temp dir for the files under test */
    char *data_root;
} fo_fx;

void fx_init(fo_fx *fx);
void fx_clear(fo_fx *fx);
void rm_rf(const char *path);
/* A path under the fixture's root (freed with the fixture). */
char *fx_path(fo_fx *fx, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
bmq_instance *fx_create(fo_fx *fx, const char *id, char **error, const char *fmt, ...);
/* A GSourceFunc setting *(bool *)p and removing itself. */
gboolean fx_wake(gpointer p);
bool fx_wait(fo_fx *fx, guint n, int timeout_ms);
void fx_settle(fo_fx *fx, int quiet_ms);
guint fx_count(fo_fx *fx, const char *name, const char *action, const char *path);
ev *fx_ev(fo_fx *fx, guint i);
void fx_assert_ev(fo_fx *fx, guint i, const char *name, const char *action, const char *path);
void write_file(const char *path, const char *data, bool append);
void make_dirs(const char *path);
int count_inotify_fds(void);

#endif /* BMQ_FILEOBSERVER_HARNESS_H */
