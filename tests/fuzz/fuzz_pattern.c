/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pattern.c: libFuzzer target for the bounded pattern functions
 * (core/conf/lua_pattern.c), against Lua's own (lstrlib.c) on the same
 * inputs.
 *
 * The input is "SUBJECT\0PATTERN\0REPLACEMENT" (missing parts are empty).
 * Ours run first, with a budget of 2 million steps; when they finish
 * within it, Lua's do the same work (the same algorithm), so they are run
 * too and every result must be the same: find (with and without plain),
 * match, every gmatch result, and gsub with the replacement as a string,
 * a table and a function, with and without a count. An input over the
 * budget is skipped: Lua's matcher might run for hours on it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "conf/lua_bounded.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            abort();                                                         \
        }                                                                    \
    } while (0)

#define BUDGET 2000000UL

struct budget {
    struct sl_lua_cost cost; /* first: spend gets its address */
    unsigned long steps;
};

static const char *spend(lua_State *L, struct sl_lua_cost *cost, unsigned long steps)
{
    struct budget *b = (struct budget *)cost;
    b->steps += steps;
    return b->steps > BUDGET ? "over budget" : NULL;
}

/* f(ours, s, p, r): the results of every call, ours or Lua's, as one string. */
static const char *const harness =
    "local function pack(...) return {n = select('#', ...), ...} end\n"
    "local function show(r) local t = {}\n"
    "  for i = 1, r.n do t[i] = type(r[i]) .. ':' .. tostring(r[i]) end\n"
    "  return (table.concat(t, ' '):gsub(\"#(%d) to '[^']*'\", \"#%1 to '?'\")) end\n"
    "local function all(g, s, p) local t, n = {}, 0\n"
    "  for a, b in g(s, p) do n = n + 1 t[n] = tostring(a) .. ',' .. tostring(b)\n"
    "    if n > 1000 then break end end return table.concat(t, ';') end\n"
    "local function calls(L, s, p, r)\n"
    "  local out = {}\n"
    "  local function add(...) out[#out + 1] = show(pack(pcall(...))) end\n"
    "  add(L.find, s, p) add(L.find, s, p, 2, true) add(L.find, s, p, -3)\n"
    "  add(L.match, s, p) add(L.match, s, p, 2)\n"
    "  add(all, L.gmatch, s, p)\n"
    "  add(L.gsub, s, p, r) add(L.gsub, s, p, r, 2)\n"
    "  add(L.gsub, s, p, {a = 'A', [''] = 'E', x = false})\n"
    "  add(L.gsub, s, p, function(a, b) return b and tostring(a) .. tostring(b) end)\n"
    "  return table.concat(out, '\\n')\n"
    "end\n"
    "return function(ours, s, p, r) return calls(ours and string or lua, s, p, r) end\n";

static lua_State *state(struct budget *b)
{
    lua_State *L = luaL_newstate();
    CHECK(L != NULL);
    luaL_openlibs(L);
    CHECK(luaL_dostring(L, "lua = {}; for k, v in pairs(string) do lua[k] = v end") == LUA_OK);
    b->cost.spend = spend;
    sl_lua_bounded_open(L, &b->cost);
    CHECK(luaL_loadstring(L, harness) == LUA_OK);
    CHECK(lua_pcall(L, 0, 1, 0) == LUA_OK);
    return L;
}

/* Part k of data (parts split by '\0'). */
static const char *part(const uint8_t *data, size_t size, int k, size_t *len)
{
    size_t at = 0;
    for (int i = 0; i < k; i++) {
        const uint8_t *z = memchr(data + at, 0, size - at);
        if (z == NULL) {
            *len = 0;
            return "";
        }
        at = (size_t)(z - data) + 1;
    }
    const uint8_t *z = memchr(data + at, 0, size - at);
    *len = z != NULL ? (size_t)(z - data) - at : size - at;
    return (const char *)data + at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct budget b;
    static lua_State *L;
    if (L == NULL)
        L = state(&b);
    if (size > 4096)
        return 0;
    size_t ls, lp, lr;
    const char *s = part(data, size, 0, &ls), *p = part(data, size, 1, &lp),
               *r = part(data, size, 2, &lr);
    b.steps = 0;
    b.cost.left = SL_LUA_COST_EVERY;
    for (int ours = 1; ours >= 0; ours--) {
        lua_pushvalue(L, 1);
        lua_pushboolean(L, ours);
        lua_pushlstring(L, s, ls);
        lua_pushlstring(L, p, lp);
        lua_pushlstring(L, r, lr);
        CHECK(lua_pcall(L, 4, 1, 0) == LUA_OK);
        if (b.steps > BUDGET) { /* Lua's might not end */
            lua_settop(L, 1);
            return 0;
        }
    }
    const char *ours = lua_tostring(L, -2), *theirs = lua_tostring(L, -1);
    if (strcmp(ours, theirs) != 0) {
        fprintf(stderr, "ours:\n%s\nLua's:\n%s\n", ours, theirs);
        CHECK(!"the same results");
    }
    lua_settop(L, 1);
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
