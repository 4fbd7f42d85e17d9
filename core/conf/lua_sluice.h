/* SPDX-License-Identifier: MIT */
/*
 * lua_sluice.h: the `sluice` library of the config's Lua states.
 *
 * Both the config loader's state and every input thread's filter state
 * (filter.h) open it, so a config reads the same at its top level and inside
 * route functions:
 *
 *   sluice.severity.emerg .. sluice.severity.debug   0..7 (and warn, error, panic)
 *   sluice.facility.kern .. sluice.facility.local7   0..23 (and security)
 *   sluice.log(level, text)  "lua: TEXT" in the daemon's log at level
 *                            ("debug", "info", "notice", "warning", "err"/"error")
 *   sluice.hostname()        the daemon's hostname
 *
 * The severity and facility tables are plain tables of constants: a config
 * that changes them changes only its own view.
 *
 * Thread: the thread that owns the lua_State.
 */
#ifndef SL_LUA_SLUICE_H
#define SL_LUA_SLUICE_H

#include <stdbool.h>

#include <lua.h>

#include "common/log.h"
#include "conf/lua_bounded.h"

/* What the library's functions need; owned by the caller, which keeps it
 * alive (and in place) as long as the state. */
struct sl_lua_sluice {
    const char *hostname;     /* NULL: gethostname() when asked */
    struct sl_ratelimit *log; /* NULL: every line is written */
    bool quiet;               /* true: sluice.log (and a replaced print) write nothing */
    /* The bound of the string and table functions (lua_bounded.h): the
     * config loader's instruction count while the config's text runs, the
     * owner's own after (filter.c: the route watchdog). */
    struct sl_lua_cost cost;
};

/* Sets the global `sluice` in L. With log_print, the global print writes
 * to the daemon's log at info too, as sluice.log("info", ...) does. Raises
 * a Lua error when out of memory: call it under lua_pcall. */
void sl_lua_sluice_open(lua_State *L, struct sl_lua_sluice *lib, bool log_print);

/* A Lua state's memory ceiling: what the state holds and how much it may.
 * Each state's lua_Alloc (whose userdata is its owner) passes its budget
 * here. refused records that the ceiling, not malloc, said no. */
struct sl_lua_budget {
    size_t mem, limit;
    bool refused;
};

/* lua_Alloc's contract (free when nsize is 0, else realloc) within b. */
void *sl_lua_budget_alloc(struct sl_lua_budget *b, void *ptr, size_t osize, size_t nsize);

#endif /* SL_LUA_SLUICE_H */
