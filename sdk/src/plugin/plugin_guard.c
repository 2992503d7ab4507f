/* plugin_guard.c - the calling thread's current plugin call.
 *
 * A thread-local pointer to a bmq_plugin_call living on the caller's stack,
 * set around every call into plugin code. The hub's fatal-signal handler
 * reads it to name the instance that crashed, its exit() hook to name the
 * instance that called exit(). The TLS model is initial-exec so that the
 * read from a signal handler never allocates (libberrymq is linked by the
 * program, never dlopen()ed by it).
 */
#include "plugin_host.h"

static __thread const bmq_plugin_call *current __attribute__((tls_model("initial-exec")));

const bmq_plugin_call *bmq_plugin_call_current(void)
{
    return current;
}

void bmq_plugin_call_enter(bmq_plugin_call *c, const char *instance_id, const char *plugin,
                           const char *what)
{
    c->instance_id = instance_id;
    c->plugin = plugin;
    c->what = what;
    c->outer = current;
    /* The record must be complete before a signal handler can see it. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    current = c;
}

void bmq_plugin_call_leave(bmq_plugin_call *c)
{
    current = c->outer;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void plugin__call_enter_inst(bmq_plugin_call *c, const bmq_instance *inst, const char *what)
{
    bmq_plugin_call_enter(c, inst->id, inst->plugin->desc->name, what);
}
