/* readers.c - the read side of the routing index, without a shared lock.
 *
 * A sender announces "I am reading bus B" by a plain store into a slot that
 * belongs to its thread, then checks that no writer is at work. A writer
 * raises bus->writing, makes every running thread pass a full memory
 * barrier (membarrier(2), private expedited), then waits until no slot
 * names its bus. Either the writer sees the reader's slot, or the reader
 * sees bus->writing and steps back until the writer is done: the classic
 * asymmetric Dekker handshake. Readers pay two stores and a load on lines
 * nobody else writes; writers (follow, unfollow, queues) pay a system call.
 * Where membarrier is unavailable the reader uses a full fence instead.
 *
 * A read section only takes references to the arrays a send needs; no user
 * code runs inside one, so a writer never waits for a follower.
 */
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bus.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static reader_slot *registry;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static pthread_key_t slot_key;
static bool expedited; /* membarrier registered: readers need no fence */
static BMQ_TLS reader_slot *my_slot;
static atomic_uint_fast64_t gen_next; /* index generations, unique over all buses */

uint64_t readers__new_gen(void)
{
    return atomic_fetch_add_explicit(&gen_next, 1, memory_order_relaxed) + 1;
}

/* Add a slot's counts to its bus; registry_lock held. */
static void flush_counts(reader_slot *s)
{
    bmq_bus *bus = atomic_load_explicit(&s->count_bus, memory_order_relaxed);
    if (!bus)
        return;
    bus_counter *c = &bus->counters[bus__stripe()];
    atomic_fetch_add_explicit(&c->sent, atomic_load_explicit(&s->sent, memory_order_relaxed),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&c->delivered,
                              atomic_load_explicit(&s->delivered, memory_order_relaxed),
                              memory_order_relaxed);
    atomic_store_explicit(&s->sent, 0, memory_order_relaxed);
    atomic_store_explicit(&s->delivered, 0, memory_order_relaxed);
    atomic_store_explicit(&s->count_bus, NULL, memory_order_relaxed);
}

static void slot_release(void *p)
{
    reader_slot *s = p;
    pthread_mutex_lock(&registry_lock);
    flush_counts(s);
    for (reader_slot **pp = &registry; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    free(s);
}

static void setup(void)
{
    pthread_key_create(&slot_key, slot_release);
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
        expedited = true;
}

reader_slot *readers__slot(void)
{
    if (my_slot)
        return my_slot;
    pthread_once(&setup_once, setup);
    reader_slot *s = calloc(1, sizeof(*s));
    if (!s)
        g_error("berrymq: out of memory");
    pthread_mutex_lock(&registry_lock);
    s->next = registry;
    registry = s;
    pthread_mutex_unlock(&registry_lock);
    pthread_setspecific(slot_key, s); /* unregistered when the thread ends */
    my_slot = s;
    return s;
}

void readers__enter(bmq_bus *bus)
{
    reader_slot *s = readers__slot();
    for (;;) {
        atomic_store_explicit(&s->in, bus, memory_order_relaxed);
        if (expedited)
            atomic_signal_fence(memory_order_seq_cst);
        else
            atomic_thread_fence(memory_order_seq_cst);
        if (!atomic_load_explicit(&bus->writing, memory_order_acquire))
            return;
        /* A writer is at work: step back and wait for it. */
        atomic_store_explicit(&s->in, NULL, memory_order_release);
        pthread_mutex_lock(&bus->write_gate);
        pthread_mutex_unlock(&bus->write_gate);
    }
}

void readers__leave(void)
{
    atomic_store_explicit(&my_slot->in, NULL, memory_order_release);
}

void readers__write_begin(bmq_bus *bus)
{
    pthread_once(&setup_once, setup);
    pthread_mutex_lock(&bus->write_gate);
    atomic_store_explicit(&bus->writing, 1, memory_order_seq_cst);
    if (expedited)
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    else
        atomic_thread_fence(memory_order_seq_cst);
    pthread_mutex_lock(&registry_lock);
    for (reader_slot *s = registry; s; s = s->next)
        while (atomic_load_explicit(&s->in, memory_order_acquire) == bus)
            sched_yield(); /* a read section is a few hundred instructions */
    pthread_mutex_unlock(&registry_lock);
}

void readers__write_end(bmq_bus *bus)
{
    /* Senders that remember where an id's followers were (follow.c's route
     * memo) see the change by the generation. */
    atomic_store_explicit(&bus->gen, readers__new_gen(), memory_order_relaxed);
    atomic_store_explicit(&bus->writing, 0, memory_order_release);
    pthread_mutex_unlock(&bus->write_gate);
}

bool readers__fenceless(void)
{
    return expedited;
}

/* Called after the follower was marked removed and a writer's membarrier:
 * a thread that put @f in its slot before then shows it here, and one that
 * did so after sees the mark and does not run it. */
bool readers__running(const struct bmq_follower *f)
{
    bool found = false;
    pthread_mutex_lock(&registry_lock);
    for (reader_slot *s = registry; s && !found; s = s->next) {
        unsigned d = atomic_load_explicit(&s->depth, memory_order_acquire);
        for (unsigned i = 0; i < d && i < RUN_DEPTH && !found; i++)
            found = atomic_load_explicit(&s->run[i], memory_order_relaxed) == f;
    }
    pthread_mutex_unlock(&registry_lock);
    return found;
}

/* Only this thread writes its slot's counts, so a load and a store do what
 * an atomic add would; readers of the statistics add the slots in. A thread
 * that changes buses hands its counts over first (rare: most programs send
 * on one bus). */
void readers__count(bmq_bus *bus, uint64_t sent, uint64_t delivered)
{
    reader_slot *s = readers__slot();
    if (atomic_load_explicit(&s->count_bus, memory_order_relaxed) != bus) {
        pthread_mutex_lock(&registry_lock);
        flush_counts(s);
        atomic_store_explicit(&s->count_bus, bus, memory_order_relaxed);
        pthread_mutex_unlock(&registry_lock);
    }
    if (sent)
        atomic_store_explicit(&s->sent, atomic_load_explicit(&s->sent, memory_order_relaxed) + sent,
                              memory_order_relaxed);
    if (delivered)
        atomic_store_explicit(&s->delivered,
                              atomic_load_explicit(&s->delivered, memory_order_relaxed) + delivered,
                              memory_order_relaxed);
}

void readers__pending(bmq_bus *bus, uint64_t *sent, uint64_t *delivered)
{
    pthread_mutex_lock(&registry_lock);
    for (reader_slot *s = registry; s; s = s->next) {
        if (atomic_load_explicit(&s->count_bus, memory_order_relaxed) != bus)
            continue;
        *sent += atomic_load_explicit(&s->sent, memory_order_relaxed);
        *delivered += atomic_load_explicit(&s->delivered, memory_order_relaxed);
    }
    pthread_mutex_unlock(&registry_lock);
}

void readers__forget(bmq_bus *bus)
{
    pthread_mutex_lock(&registry_lock);
    for (reader_slot *s = registry; s; s = s->next) {
        if (atomic_load_explicit(&s->count_bus, memory_order_relaxed) != bus)
            continue;
        atomic_store_explicit(&s->count_bus, NULL, memory_order_relaxed);
        atomic_store_explicit(&s->sent, 0, memory_order_relaxed);
        atomic_store_explicit(&s->delivered, 0, memory_order_relaxed);
    }
    pthread_mutex_unlock(&registry_lock);
}
