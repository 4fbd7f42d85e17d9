/* SPDX-License-Identifier: MIT */
/*
 * watchdog.h: stops a route function that runs past SL_FILTER_TIME_LIMIT_MS
 * (filter.h), without a hook on the calls that behave.
 *
 * One watchdog thread per process runs while any watched state exists. It
 * looks at every registered struct sl_watch each 50 ms; a call it finds
 * still running two looks in a row gets SIGURG on its thread, and the
 * handler there arms a count hook that raises on every instruction until
 * the call is over (see watchdog.c for why it is done so).
 *
 * The caller brackets each call with sl_watch_enter() and sl_watch_leave(),
 * inline here because they run once per message: a few relaxed stores. A
 * C function that may run long asks sl_watch_stopping() as it goes.
 *
 * Thread: sl_watch_start and sl_watch_stop on any thread (they take the
 * watchdog's lock); enter and leave only on the thread that makes the
 * calls, one thread at a time per struct sl_watch.
 */
#ifndef SL_WATCHDOG_H
#define SL_WATCHDOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <lua.h>

/* Embedded in its owner (struct sl_filter), which keeps it in place while
 * it is registered. */
struct sl_watch {
    lua_State *L; /* borrowed: the state whose calls are watched */

    /* seq is odd while a call runs; written only by the calling thread.
     * stop_seq is the call the watchdog wants stopped. */
    atomic_ulong seq, stop_seq;
    pthread_t thread; /* that makes the calls: the first caller */
    atomic_bool has_thread;

    unsigned long seen_seq; /* the watchdog's own, under its lock */
    int strikes;
    struct sl_watch *next, **prev; /* prev is NULL while not registered */
};

/* This thread's call, if any: what the SIGURG handler stops. Volatile
 * because the handler reads it on the same thread. Only enter and leave
 * write it. */
extern _Thread_local struct sl_watch *volatile sl_watch_running;

/* Registers w (zeroed by the caller but for L) for the calls on L,
 * starting the watchdog thread and the SIGURG handler when none runs.
 * 0, or a negative errno from pthread_create (w is then not registered).
 * Borrows w and L until sl_watch_stop. */
int sl_watch_start(struct sl_watch *w, lua_State *L);

/* Unregisters w; the watchdog no longer looks at it when this returns.
 * A no-op for a w that was never registered. */
void sl_watch_stop(struct sl_watch *w);

/* A call on w->L begins: the first caller becomes the thread to signal. */
static inline void sl_watch_enter(struct sl_watch *w)
{
    if (!atomic_load_explicit(&w->has_thread, memory_order_relaxed)) {
        w->thread = pthread_self();
        atomic_store(&w->has_thread, true);
    }
    sl_watch_running = w;
    atomic_store_explicit(&w->seq, atomic_load_explicit(&w->seq, memory_order_relaxed) + 1,
                          memory_order_release);
}

/* The call is over, before the hook is looked at, so a SIGURG after this
 * cannot arm it again; then the hook a stop armed is removed. */
static inline void sl_watch_leave(struct sl_watch *w)
{
    atomic_store_explicit(&w->seq, atomic_load_explicit(&w->seq, memory_order_relaxed) + 1,
                          memory_order_release);
    sl_watch_running = NULL;
    if (lua_gethook(w->L) != NULL)
        lua_sethook(w->L, NULL, 0, 0);
}

/* True when the call running on this thread has been found over the time
 * limit: what a C function that loops asks between its steps (filter.c,
 * lua_bounded.h), since the hook the stop arms fires only between Lua
 * instructions. */
static inline bool sl_watch_stopping(void)
{
    struct sl_watch *w = sl_watch_running;
    if (w == NULL)
        return false;
    unsigned long seq = atomic_load_explicit(&w->seq, memory_order_relaxed);
    return (seq & 1) && seq == atomic_load_explicit(&w->stop_seq, memory_order_relaxed);
}

#endif /* SL_WATCHDOG_H */
