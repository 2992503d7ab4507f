/* tsan_glib.c - linked into the ThreadSanitizer tests of the plugins:
 * makes GLib's locks and main-loop hand-offs visible to TSan.
 *
 * Debian's GLib is not instrumented, and on Linux GMutex and GCond are
 * built on futexes, which TSan does not see: every access guarded by a
 * GMutex would be reported as a race. This file defines the GLib lock
 * functions in the test executable (exported with -rdynamic, so that
 * libberrymq and the plugins bind to them); each calls GLib's own and
 * tells TSan what it did (__tsan_acquire / __tsan_release on the lock).
 * The same for the main loop: whatever a thread wrote before it attached
 * a source or woke the context is visible to the main thread once its
 * poll returns (tsan_glib_watch_context). GLib's calls to itself bind
 * inside GLib and are not touched. No suppression: only real ordering is
 * declared. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

/* One address for every main-loop hand-off: over-synchronizing contexts
 * hides nothing the tests look for. */
static char loop_sync;

#define REAL(ret, name, params) static ret(*real_##name) params
REAL(void, g_mutex_lock, (GMutex *));
REAL(void, g_mutex_unlock, (GMutex *));
REAL(gboolean, g_mutex_trylock, (GMutex *));
REAL(void, g_rec_mutex_lock, (GRecMutex *));
REAL(void, g_rec_mutex_unlock, (GRecMutex *));
REAL(gboolean, g_rec_mutex_trylock, (GRecMutex *));
REAL(void, g_rw_lock_writer_lock, (GRWLock *));
REAL(void, g_rw_lock_writer_unlock, (GRWLock *));
REAL(gboolean, g_rw_lock_writer_trylock, (GRWLock *));
REAL(void, g_rw_lock_reader_lock, (GRWLock *));
REAL(void, g_rw_lock_reader_unlock, (GRWLock *));
REAL(gboolean, g_rw_lock_reader_trylock, (GRWLock *));
REAL(void, g_cond_wait, (GCond *, GMutex *));
REAL(gboolean, g_cond_wait_until, (GCond *, GMutex *, gint64));
REAL(guint, g_source_attach, (GSource *, GMainContext *));
REAL(void, g_main_context_wakeup, (GMainContext *));
REAL(void, g_main_context_invoke_full,
     (GMainContext *, gint, GSourceFunc, gpointer, GDestroyNotify));
REAL(guint, g_idle_add_full, (gint, GSourceFunc, gpointer, GDestroyNotify));
REAL(guint, g_timeout_add_full, (gint, guint, GSourceFunc, gpointer, GDestroyNotify));
REAL(void, g_source_set_ready_time, (GSource *, gint64));

static void *need(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (!p) {
        fprintf(stderr, "tsan_glib: no %s in GLib\n", name);
        abort();
    }
    return p;
}

#define LOAD(name) real_##name = need(#name)

static gint tsan_poll(GPollFD *fds, guint n, gint timeout)
{
    gint rc = g_poll(fds, n, timeout);
    __tsan_acquire(&loop_sync);
    return rc;
}

/* Wrappers may be called before this file's constructor (by other
 * libraries' constructors): the real functions are looked up on first use. */
static pthread_once_t loaded = PTHREAD_ONCE_INIT;

static void load_all(void)
{
    LOAD(g_mutex_lock);
    LOAD(g_mutex_unlock);
    LOAD(g_mutex_trylock);
    LOAD(g_rec_mutex_lock);
    LOAD(g_rec_mutex_unlock);
    LOAD(g_rec_mutex_trylock);
    LOAD(g_rw_lock_writer_lock);
    LOAD(g_rw_lock_writer_unlock);
    LOAD(g_rw_lock_writer_trylock);
    LOAD(g_rw_lock_reader_lock);
    LOAD(g_rw_lock_reader_unlock);
    LOAD(g_rw_lock_reader_trylock);
    LOAD(g_cond_wait);
    LOAD(g_cond_wait_until);
    LOAD(g_source_attach);
    LOAD(g_main_context_wakeup);
    LOAD(g_main_context_invoke_full);
    LOAD(g_idle_add_full);
    LOAD(g_timeout_add_full);
    LOAD(g_source_set_ready_time);
}

#define LOADED() pthread_once(&loaded, load_all)

__attribute__((constructor)) static void tsan_glib_init(void)
{
    LOADED();
    /* The tests run the plugin host on the default context. */
    g_main_context_set_poll_func(g_main_context_default(), tsan_poll);
}

void g_mutex_lock(GMutex *m)
{
    LOADED();
    real_g_mutex_lock(m);
    __tsan_acquire(m);
}

void g_mutex_unlock(GMutex *m)
{
    LOADED();
    __tsan_release(m);
    real_g_mutex_unlock(m);
}

gboolean g_mutex_trylock(GMutex *m)
{
    LOADED();
    gboolean ok = real_g_mutex_trylock(m);
    if (ok)
        __tsan_acquire(m);
    return ok;
}

void g_rec_mutex_lock(GRecMutex *m)
{
    LOADED();
    real_g_rec_mutex_lock(m);
    __tsan_acquire(m);
}

void g_rec_mutex_unlock(GRecMutex *m)
{
    LOADED();
    __tsan_release(m);
    real_g_rec_mutex_unlock(m);
}

gboolean g_rec_mutex_trylock(GRecMutex *m)
{
    LOADED();
    gboolean ok = real_g_rec_mutex_trylock(m);
    if (ok)
        __tsan_acquire(m);
    return ok;
}

void g_rw_lock_writer_lock(GRWLock *l)
{
    LOADED();
    real_g_rw_lock_writer_lock(l);
    __tsan_acquire(l);
}

void g_rw_lock_writer_unlock(GRWLock *l)
{
    LOADED();
    __tsan_release(l);
    real_g_rw_lock_writer_unlock(l);
}

gboolean g_rw_lock_writer_trylock(GRWLock *l)
{
    LOADED();
    gboolean ok = real_g_rw_lock_writer_trylock(l);
    if (ok)
        __tsan_acquire(l);
    return ok;
}

void g_rw_lock_reader_lock(GRWLock *l)
{
    LOADED();
    real_g_rw_lock_reader_lock(l);
    __tsan_acquire(l);
}

void g_rw_lock_reader_unlock(GRWLock *l)
{
    LOADED();
    __tsan_release(l);
    real_g_rw_lock_reader_unlock(l);
}

gboolean g_rw_lock_reader_trylock(GRWLock *l)
{
    LOADED();
    gboolean ok = real_g_rw_lock_reader_trylock(l);
    if (ok)
        __tsan_acquire(l);
    return ok;
}

void g_cond_wait(GCond *c, GMutex *m)
{
    LOADED();
    __tsan_release(m);
    real_g_cond_wait(c, m);
    __tsan_acquire(m);
}

gboolean g_cond_wait_until(GCond *c, GMutex *m, gint64 end_time)
{
    LOADED();
    __tsan_release(m);
    gboolean ok = real_g_cond_wait_until(c, m, end_time);
    __tsan_acquire(m);
    return ok;
}

guint g_source_attach(GSource *s, GMainContext *ctx)
{
    LOADED();
    __tsan_release(&loop_sync);
    return real_g_source_attach(s, ctx);
}

void g_main_context_wakeup(GMainContext *ctx)
{
    LOADED();
    __tsan_release(&loop_sync);
    real_g_main_context_wakeup(ctx);
}

void g_main_context_invoke_full(GMainContext *ctx, gint prio, GSourceFunc fn, gpointer data,
                                GDestroyNotify notify)
{
    LOADED();
    __tsan_release(&loop_sync);
    real_g_main_context_invoke_full(ctx, prio, fn, data, notify);
}

void g_main_context_invoke(GMainContext *ctx, GSourceFunc fn, gpointer data)
{
    g_main_context_invoke_full(ctx, G_PRIORITY_DEFAULT, fn, data, NULL);
}

guint g_idle_add_full(gint prio, GSourceFunc fn, gpointer data, GDestroyNotify notify)
{
    LOADED();
    __tsan_release(&loop_sync);
    return real_g_idle_add_full(prio, fn, data, notify);
}

guint g_idle_add(GSourceFunc fn, gpointer data)
{
    return g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, fn, data, NULL);
}

guint g_timeout_add_full(gint prio, guint ms, GSourceFunc fn, gpointer data, GDestroyNotify notify)
{
    LOADED();
    __tsan_release(&loop_sync);
    return real_g_timeout_add_full(prio, ms, fn, data, notify);
}

guint g_timeout_add(guint ms, GSourceFunc fn, gpointer data)
{
    return g_timeout_add_full(G_PRIORITY_DEFAULT, ms, fn, data, NULL);
}

void g_source_set_ready_time(GSource *s, gint64 ready_time)
{
    LOADED();
    __tsan_release(&loop_sync);
    real_g_source_set_ready_time(s, ready_time);
}
