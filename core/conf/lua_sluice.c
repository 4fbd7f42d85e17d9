/* SPDX-License-Identifier: MIT */
/*
 * lua_sluice.c: the `sluice` library (lua_sluice.h).
 *
 * sluice.log and print may run once per message inside a route function,
 * so what they write goes through the caller's rate limit: a function that
 * logs every message cannot flood the daemon's log.
 */
#include "config.h" /* _GNU_SOURCE: gethostname */

#include "conf/lua_sluice.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "common/msg.h"

#define MAX_LOG_TEXT 2048 /* bytes of one line from Lua; the rest is cut */

static struct sl_lua_sluice *lib_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* Writes "lua: TEXT", with control bytes shown as '?' so a message's text
 * cannot forge lines of the daemon's log. */
static void write_line(struct sl_lua_sluice *lib, int level, const char *s, size_t len)
{
    /* A line the log level hides must not use up the rate limit. */
    if (lib->quiet || !sl_log_enabled(level)
        || (lib->log != NULL && !sl_ratelimit_ok(lib->log)))
        return;
    char text[MAX_LOG_TEXT];
    size_t n = len < sizeof text ? len : sizeof text;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        text[i] = c < 32 && c != '\t' ? '?' : (char)c;
    }
    sl_log(level, 0, "lua: %.*s%s", (int)n, text, n < len ? "..." : "");
}

static int l_log(lua_State *L)
{
    static const char *const names[] = {"debug", "info", "notice", "warning", "warn", "err",
                                        "error", NULL};
    static const int levels[] = {SL_LOG_DEBUG, SL_LOG_INFO, SL_LOG_NOTICE, SL_LOG_WARNING,
                                 SL_LOG_WARNING, SL_LOG_ERR, SL_LOG_ERR};
    const char *name = luaL_checkstring(L, 1);
    size_t len;
    const char *text = luaL_checklstring(L, 2, &len);
    for (int i = 0; names[i] != NULL; i++) {
        if (strcmp(name, names[i]) == 0) {
            write_line(lib_of(L), levels[i], text, len);
            return 0;
        }
    }
    return luaL_error(L, "sluice.log: unknown level '%s' (debug, info, notice, warning or err)",
                      name);
}

/* print(...): its arguments as tostring() shows them, tab-separated. */
static int l_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        luaL_tolstring(L, i, NULL);
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    write_line(lib_of(L), SL_LOG_INFO, text, len);
    return 0;
}

static int l_hostname(lua_State *L)
{
    struct sl_lua_sluice *lib = lib_of(L);
    if (lib->hostname != NULL) {
        lua_pushstring(L, lib->hostname);
        return 1;
    }
    char name[256] = "localhost";
    if (gethostname(name, sizeof name - 1) < 0)
        strcpy(name, "localhost");
    name[sizeof name - 1] = '\0';
    lua_pushstring(L, name);
    return 1;
}

static void constants(lua_State *L, const char *(*name_of)(unsigned), unsigned n,
                      const char *const *aliases)
{
    lua_createtable(L, 0, (int)n + 3);
    for (unsigned i = 0; i < n; i++) {
        lua_pushinteger(L, i);
        lua_setfield(L, -2, name_of(i));
    }
    for (size_t i = 0; aliases[i] != NULL; i++) {
        int v = n == 8 ? sl_severity_from_name(aliases[i], strlen(aliases[i]))
                       : sl_facility_from_name(aliases[i], strlen(aliases[i]));
        lua_pushinteger(L, v);
        lua_setfield(L, -2, aliases[i]);
    }
}

static const char *severity_name(unsigned s)
{
    return sl_severity_name(s);
}

static const char *facility_name(unsigned f)
{
    return sl_facility_name(f);
}

void sl_lua_sluice_open(lua_State *L, struct sl_lua_sluice *lib, bool log_print)
{
    static const char *const severity_aliases[] = {"warn", "error", "panic", NULL};
    static const char *const facility_aliases[] = {"security", NULL};
    lua_createtable(L, 0, 4);
    constants(L, severity_name, 8, severity_aliases);
    lua_setfield(L, -2, "severity");
    constants(L, facility_name, 24, facility_aliases);
    lua_setfield(L, -2, "facility");
    lua_pushlightuserdata(L, lib);
    lua_pushcclosure(L, l_log, 1);
    lua_setfield(L, -2, "log");
    lua_pushlightuserdata(L, lib);
    lua_pushcclosure(L, l_hostname, 1);
    lua_setfield(L, -2, "hostname");
    lua_setglobal(L, "sluice");
    if (log_print) {
        lua_pushlightuserdata(L, lib);
        lua_pushcclosure(L, l_print, 1);
        lua_setglobal(L, "print");
    }
}

void *sl_lua_budget_alloc(struct sl_lua_budget *b, void *ptr, size_t osize, size_t nsize)
{
    size_t old = ptr != NULL ? osize : 0; /* without ptr, osize is a type tag */
    if (nsize == 0) {
        free(ptr);
        b->mem -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > b->limit - b->mem) {
        b->refused = true;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p != NULL)
        b->mem = b->mem - old + nsize;
    return p;
}
