/* SPDX-License-Identifier: MIT */
/*
 * watchdog.c: the thread that stops runaway route functions (watchdog.h).
 *
 * DESIGN: calls run without a hook, because with any count hook set Lua
 * sends every instruction through its hook dispatcher, which cost a third
 * of a two-field where's throughput. Instead this thread (one per process,
 * started with the first watched state, ending when the last is stopped)
 * looks at every registered state each WATCH_MS; a call it finds still
 * running WATCH_STRIKES looks later (over SL_FILTER_TIME_LIMIT_MS) gets
 * SIGURG on its thread, and the handler arms a count hook of 1 there
 * (lua_sethook is safe in a signal handler: lua.c stops a script on Ctrl-C
 * that way). The hook raises on every instruction until the call is over,
 * so a pcall inside the function cannot swallow the error and go on.
 * SIGURG because its default action is to ignore it.
 *
 * Threads: the watchdog thread reads seq with acquire and writes stop_seq;
 * the calling thread writes seq (release) and reads stop_seq in the
 * handler. The list and each entry's seen_seq and strikes are under wd.mu.
 */
#include "config.h"

#include "route/watchdog.h"

#include <signal.h>
#include <time.h>

#include <lauxlib.h>

#include "route/filter.h"

#define WATCH_MS 50
/* Strikes are looks that find the same call as the look before: 2 means
 * it ran over 100 ms, and is stopped before 150. */
#define WATCH_STRIKES 2

/* The process's one watchdog: the registered states, and whether its
 * thread runs. */
static struct {
    pthread_mutex_t mu;
    struct sl_watch *list;
    bool active;
} wd = {.mu = PTHREAD_MUTEX_INITIALIZER};

_Thread_local struct sl_watch *volatile sl_watch_running;

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    luaL_where(L, 0); /* in a hook, level 0 is the hooked function */
    lua_pushfstring(L, "route function ran for more than %d ms", SL_FILTER_TIME_LIMIT_MS);
    lua_concat(L, 2);
    lua_error(L);
}

static void on_sigurg(int sig)
{
    (void)sig;
    struct sl_watch *w = sl_watch_running;
    unsigned long seq = w != NULL ? atomic_load_explicit(&w->seq, memory_order_relaxed) : 0;
    if ((seq & 1) && seq == atomic_load_explicit(&w->stop_seq, memory_order_relaxed))
        lua_sethook(w->L, stop_hook, LUA_MASKCOUNT, 1);
}

static void watch(struct sl_watch *w)
{
    unsigned long seq = atomic_load_explicit(&w->seq, memory_order_acquire);
    if (!(seq & 1) || seq != w->seen_seq) {
        w->seen_seq = seq;
        w->strikes = 0;
        return;
    }
    if (++w->strikes == WATCH_STRIKES && atomic_load(&w->has_thread)) {
        atomic_store_explicit(&w->stop_seq, seq, memory_order_relaxed);
        pthread_kill(w->thread, SIGURG);
    }
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec ts = {0, WATCH_MS * 1000000L};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&wd.mu);
        if (wd.list == NULL) {
            wd.active = false;
            pthread_mutex_unlock(&wd.mu);
            return NULL;
        }
        for (struct sl_watch *w = wd.list; w != NULL; w = w->next)
            watch(w);
        pthread_mutex_unlock(&wd.mu);
    }
}

static void install_handler(void)
{
    struct sigaction sa = {.sa_handler = on_sigurg, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGURG, &sa, NULL);
}

int sl_watch_start(struct sl_watch *w, lua_State *L)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_handler);
    w->L = L;
    int rc = 0;
    pthread_mutex_lock(&wd.mu);
    if (!wd.active) {
        pthread_attr_t a;
        pthread_t t;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        rc = -pthread_create(&t, &a, watchdog_main, NULL);
        pthread_attr_destroy(&a);
        wd.active = rc == 0;
    }
    if (rc == 0) {
        w->next = wd.list;
        if (wd.list != NULL)
            wd.list->prev = &w->next;
        w->prev = &wd.list;
        wd.list = w;
    }
    pthread_mutex_unlock(&wd.mu);
    return rc;
}

void sl_watch_stop(struct sl_watch *w)
{
    if (w->prev == NULL)
        return;
    pthread_mutex_lock(&wd.mu);
    *w->prev = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    w->prev = NULL;
    pthread_mutex_unlock(&wd.mu);
}
