/* SPDX-License-Identifier: MIT */
/*
 * filter.c: route functions (where, transform) run per message (filter.h).
 *
 * DESIGN: one Lua state per input thread, made once by running the config's
 * text again (sl_config_run_functions), so a message costs no lock. The
 * jobs around a call live in their own files:
 *
 *  - lua_msg.c is `m`, the proxy through which the function reads the
 *    message and a transform writes it; its state is embedded here and is
 *    the allocator's userdata, so its metamethods find it cheaply
 *    (lua_getallocf), leaving the extra space alone.
 *  - watchdog.c stops a call that runs over SL_FILTER_TIME_LIMIT_MS, from
 *    a thread of its own, without a hook on the calls that behave. The
 *    string and table functions that loop in C (conf/lua_bounded.h) ask
 *    it every few thousand steps (watch_spend), so a pattern that
 *    backtracks is stopped at the same limit and with the same error.
 *
 * This file keeps the state and the calls. The allocator keeps the state
 * under SL_FILTER_MEMORY_LIMIT. Errors are caught with lua_pcall; the
 * stack is reset after every call, so the state stays usable.
 */
#include "config.h"

#include "route/filter.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "common/log.h"
#include "conf/lua_sluice.h"
#include "route/lua_msg.h"
#include "route/rewrite.h"
#include "route/watchdog.h"
#include "common/alloc.h"

#if LUA_VERSION_NUM != 504
#error "sluice needs Lua 5.4"
#endif

/* The main thread's stack between calls. */
enum { SLOT_FUNCS = 1, SLOT_MSGH = 2, SLOT_BASE = 2 };

struct sl_filter {
    struct sl_lua_msg msg; /* m; the allocator's userdata (see filter_alloc) */
    struct sl_watch watch;
    lua_State *L;
    const struct sl_config *c;
    struct sl_lua_budget budget; /* SL_FILTER_MEMORY_LIMIT */
    struct sl_lua_sluice lib;
    struct sl_ratelimit log;
    char hostname[256];
    char err[1024];
};

/* {=== bounds */
#define STR_(x) #x
#define STR(x) STR_(x)

/* The route functions' C steps (lua_bounded.h): go on until the watchdog
 * finds the call over the limit. */
static const char *watch_spend(lua_State *L, struct sl_lua_cost *cost, unsigned long steps)
{
    (void)L, (void)cost, (void)steps;
    if (sl_watch_stopping())
        return "route function ran for more than " STR(SL_FILTER_TIME_LIMIT_MS) " ms";
    return NULL;
}

static void *filter_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct sl_filter *f = (struct sl_filter *)((char *)ud - offsetof(struct sl_filter, msg));
    return sl_lua_budget_alloc(&f->budget, ptr, osize, nsize);
}
/* }=== */

/* Keeps the error's text; a non-string error object is described. */
static int msghandler(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TSTRING)
        return 1;
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
        return 1;
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    return 1;
}

/* {=== calls */
/* Returns the token to push for m. */
static void *begin(struct sl_filter *f, const struct sl_msg *m, enum sl_lua_msg_mode mode,
                   size_t route)
{
    void *token = sl_lua_msg_begin(&f->msg, m, mode, route);
    sl_watch_enter(&f->watch);
    return token;
}

static void keep_error(struct sl_filter *f, int status)
{
    const char *msg = lua_tostring(f->L, -1);
    if (status == LUA_ERRMEM)
        msg = "not enough memory";
    snprintf(f->err, sizeof f->err, "%s", msg != NULL ? msg : "(error object is not a string)");
}

/* Ends a call: the stack, the per-call tables and the hook as they were. */
static void end(struct sl_filter *f)
{
    sl_watch_leave(&f->watch);
    lua_settop(f->L, SLOT_BASE);
    sl_lua_msg_end(f->L, &f->msg);
}

/* Pushes route's function number k (1 where, 2 transform); false when the
 * route has none. */
static bool push_function(struct sl_filter *f, size_t route, int k)
{
    if (route < f->c->nroutes
        && lua_rawgeti(f->L, SLOT_FUNCS, (lua_Integer)(2 * route) + k) == LUA_TFUNCTION)
        return true;
    lua_settop(f->L, SLOT_BASE);
    snprintf(f->err, sizeof f->err, "route %zu has no %s function", route + 1,
             k == 1 ? "where" : "transform");
    return false;
}

enum sl_filter_result sl_filter_where(struct sl_filter *f, size_t route, const struct sl_msg *m)
{
    lua_State *L = f->L;
    if (!push_function(f, route, 1))
        return SL_FILTER_ERROR;
    lua_pushlightuserdata(L, begin(f, m, SL_LUA_MSG_WHERE, route));
    int status = lua_pcall(L, 1, 1, SLOT_MSGH);
    enum sl_filter_result r;
    if (status == LUA_OK) {
        r = lua_toboolean(L, -1) ? SL_FILTER_YES : SL_FILTER_NO;
    } else {
        keep_error(f, status);
        r = SL_FILTER_ERROR;
    }
    end(f);
    return r;
}

enum sl_filter_result sl_filter_transform(struct sl_filter *f, size_t route, struct sl_msg *m,
                                          struct sl_msg **out)
{
    lua_State *L = f->L;
    *out = NULL;
    lua_pushcfunction(L, sl_lua_msg_transform);
    if (!push_function(f, route, 2))
        return SL_FILTER_ERROR;
    lua_pushlightuserdata(L, begin(f, m, SL_LUA_MSG_TRANSFORM, route));
    int status = lua_pcall(L, 2, 0, SLOT_MSGH);
    enum sl_filter_result r = SL_FILTER_YES;
    if (status != LUA_OK) {
        keep_error(f, status);
        r = SL_FILTER_ERROR;
    } else if (f->msg.e.set == 0) {
        *out = m;
    } else if ((*out = sl_msg_rewrite(m, &f->msg.e)) == NULL) {
        snprintf(f->err, sizeof f->err, "not enough memory for the rewritten message");
        r = SL_FILTER_ERROR;
    }
    end(f);
    return r;
}

const char *sl_filter_error(const struct sl_filter *f)
{
    return f->err;
}
/* }=== */

/* {=== making one */
/* What the state needs besides the config's run, under pcall. Returns the
 * functions table and the message handler, the stack between calls. */
static int protected_setup(lua_State *L)
{
    sl_lua_msg_open(L, sl_lua_msg_of(L));
    lua_getfield(L, LUA_REGISTRYINDEX, SL_CONFIG_FUNCTIONS);
    lua_pushcfunction(L, msghandler);
    return 2;
}

void sl_filter_free(struct sl_filter *f)
{
    if (f == NULL)
        return;
    sl_watch_stop(&f->watch);
    if (f->L != NULL)
        lua_close(f->L);
    free(f);
}

int sl_filter_new(const struct sl_config *c, const char *hostname, struct sl_filter **out,
                  char *err, size_t errlen)
{
    struct sl_filter *f = sl_calloc(1, sizeof *f);
    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    f->c = c;
    f->msg.c = c;
    snprintf(f->hostname, sizeof f->hostname, "%s", hostname != NULL ? hostname : "localhost");
    f->log.interval = 10;
    f->log.burst = 20;
    f->lib = (struct sl_lua_sluice){f->hostname, &f->log, false, {.spend = watch_spend}};
    f->budget.limit = SL_FILTER_MEMORY_LIMIT;
    f->L = lua_newstate(filter_alloc, &f->msg);
    if (f->L == NULL) {
        free(f);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    /* The file's top level sees what it saw at load (gethostname()), so
     * it cannot run differently by it; route functions the daemon's name. */
    f->lib.hostname = NULL;
    int rc = sl_config_run_functions(c, f->L, &f->lib, err, errlen);
    f->lib.hostname = f->hostname;
    if (rc == 0) {
        lua_settop(f->L, 0);
        lua_pushcfunction(f->L, protected_setup);
        if (lua_pcall(f->L, 0, 2, 0) != LUA_OK) {
            snprintf(err, errlen, "out of memory");
            rc = -ENOMEM;
        }
    }
    if (rc < 0 && f->budget.refused) {
        /* The load's own run may take twice as much: say which limit bit. */
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, " (an input thread's Lua state may hold %u MiB, and the "
                 "config asked for more)", SL_FILTER_MEMORY_LIMIT >> 20);
    }
    if (rc < 0) {
        sl_filter_free(f);
        return rc;
    }
    lua_sethook(f->L, NULL, 0, 0); /* the config run's instruction limit */
    lua_gc(f->L, LUA_GCCOLLECT);
    rc = sl_watch_start(&f->watch, f->L);
    if (rc < 0) {
        snprintf(err, errlen, "cannot start the route function watchdog (%s)", strerror(-rc));
        sl_filter_free(f);
        return rc;
    }
    *out = f;
    return 0;
}
/* }=== */
