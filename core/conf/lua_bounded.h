/* SPDX-License-Identifier: MIT */
/*
 * lua_bounded.h: the sandbox's C functions whose work grows with their
 * input, made to obey the state's time bound.
 *
 * A count hook (the loader's instruction limit, the route watchdog's stop)
 * fires only between Lua instructions: a C function that loops inside,
 * string.match backtracking over 64 KiB or table.sort over a table whose
 * __index is a C function, holds the thread for as long as it likes. So the
 * config's states replace those functions by versions that count their
 * steps and ask the state's owner, every SL_LUA_COST_EVERY steps, whether
 * to go on:
 *
 *   string.find, match, gmatch, gsub   lua_pattern.c: Lua 5.4's matcher
 *                                      with a step count (and memmem for
 *                                      plain finds, which is linear)
 *   string.rep                         one step a copy; no loop for ""
 *   table.concat, insert, remove,      one step an element read or
 *   move, sort                         written; sort is Lua 5.4's quicksort
 *
 * What the others cost is bounded by what they allocate (string.format's
 * widths have two digits, utf8.* walk their string once, table.unpack and
 * string.byte stop at the stack's million slots) and the state's memory
 * limit bounds that.
 *
 * Thread: the thread that owns the lua_State.
 */
#ifndef SL_LUA_BOUNDED_H
#define SL_LUA_BOUNDED_H

#include <lua.h>

#define SL_LUA_COST_EVERY 4096 /* steps between two questions */

/* Owned by the state's owner, in place as long as the state (the bounded
 * functions hold its address). */
struct sl_lua_cost {
    /* Asked every SL_LUA_COST_EVERY steps, with the steps done since the
     * last question: NULL to go on, or why to stop (a static string), which
     * the function raises as "FILE:LINE: NAME: WHY". Must not raise. */
    const char *(*spend)(lua_State *L, struct sl_lua_cost *cost, unsigned long steps);
    unsigned long left; /* steps until the next question */
};

/* Counts n steps of the C function fname on cost. Raises when the owner
 * says stop. Inline: the matcher calls it on every step. */
void sl_lua_cost_pay(lua_State *L, struct sl_lua_cost *cost, unsigned long n, const char *fname);
static inline void sl_lua_cost_charge(lua_State *L, struct sl_lua_cost *cost, unsigned long n,
                                      const char *fname)
{
    if (cost->left > n)
        cost->left -= n;
    else
        sl_lua_cost_pay(L, cost, n, fname);
}

/* Replaces string.find, match, gmatch, gsub, rep and table.concat, insert,
 * remove, move, sort in L's global string and table tables by the bounded
 * ones, which borrow cost. Raises a Lua error when out of memory: call it
 * under lua_pcall. */
void sl_lua_bounded_open(lua_State *L, struct sl_lua_cost *cost);

/* The pattern half (lua_pattern.c): sets find, match, gmatch and gsub in
 * the table at the top of the stack. */
void sl_lua_pattern_open(lua_State *L, struct sl_lua_cost *cost);

#endif /* SL_LUA_BOUNDED_H */
