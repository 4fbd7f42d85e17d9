/* SPDX-License-Identifier: MIT */
/*
 * lua_config.c: running sluice.lua and copying what it declares into C.
 *
 * The chunk runs once, in a fresh state of its own, with only the base,
 * string, table, math and utf8 libraries and five globals written in C:
 * settings, input, output, route and include (the files it names run in
 * the same state, lua_include.c; each declaration records the file it was
 * made in, so every FILE:LINE points into the right one). Each declaration
 * checks its table as it is made (lua_decl.c reads the tables) and
 * appends every problem to the error list instead of raising a Lua error,
 * so one --check run reports everything at once. Only what cannot be
 * checked until the chunk has finished (routes naming outputs and inputs
 * declared further down, curried calls never given their table) is checked
 * afterwards, in C, once the state is closed (lua_checks.c).
 *
 * Ownership: everything a declaration copies out of Lua is stored in the
 * config at once, before the next call into Lua, so a Lua error (out of
 * memory, the instruction limit) unwinding through a declaration leaks
 * nothing: sl_config_free() releases whatever was built.
 *
 * Bounds: a count hook stops a config after MAX_INSTRUCTIONS, and the
 * allocator refuses to grow the state past MEMORY_LIMIT. The hook cannot
 * stop a C function, so the string and table functions that loop count
 * their steps (lua_bounded.h) into the same budget, a step for an
 * instruction: a catastrophic pattern at the top level fails --check in
 * about a second instead of running for hours.
 */
#include "config.h" /* _GNU_SOURCE (AC_USE_SYSTEM_EXTENSIONS): strdup */

#include "conf/lua_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "common/log.h"
#include "conf/lua_bounded.h"
#include "conf/lua_decl.h"
#include "conf/lua_include.h"
#include "conf/lua_loader.h"
#include "conf/lua_sluice.h"
#include "input/kind.h"
#include "common/alloc.h"

#if LUA_VERSION_NUM != 504
#error "sluice needs Lua 5.4 (Lua 5.5 changed lua_newstate)"
#endif

#define MAX_INSTRUCTIONS 100000000L
#define TOO_LONG "config took too long (more than 100 million instructions)"
#define HOOK_EVERY 10000
#define MEMORY_LIMIT (64u << 20)
#define MAX_NAME 63 /* sl_msgpool keeps 63 bytes of an input's name */


static struct loader *loader_of(lua_State *L)
{
    return *(struct loader **)lua_getextraspace(L);
}

/* The loader of a declaration being made. A state kept open after its run
 * (sl_config_run_functions) has none: a route function that calls route{}
 * or settings{} gets an error, not a dangling loader. */
static struct loader *declaring(lua_State *L)
{
    struct loader *ld = loader_of(L);
    if (ld == NULL)
        luaL_error(L, "declarations are made when the config loads, not in a route function");
    return ld;
}

/* The config that holds the included texts: the one being loaded, or in
 * keep mode the loaded one the rerun takes them from. */
static const struct sl_config *texts_of(const struct loader *ld)
{
    return ld->inc.kept != NULL ? ld->inc.kept : ld->ctx.c;
}

/* The config's own copy of the name of the file the chunk name `source`
 * ("@PATH") was loaded from, or NULL when it is none of the config's. */
static const char *config_file_of(const struct loader *ld, const char *source)
{
    if (source[0] != '@')
        return NULL;
    if (strcmp(source + 1, ld->ctx.file) == 0)
        return ld->ctx.file;
    const struct sl_config *t = texts_of(ld);
    for (size_t i = t->nincludes; i-- > 0;) {
        if (strcmp(source + 1, t->includes[i].file) == 0)
            return t->includes[i].file;
    }
    return NULL;
}

/* Line of the innermost running function of a config file (the main one
 * or one it included), from `level` up, with that file in *file; 0 and
 * the main file when none is (the call came from a string chunk, say). */
static int config_line(lua_State *L, int level, const char **file)
{
    const struct loader *ld = loader_of(L);
    lua_Debug ar;
    for (; lua_getstack(L, level, &ar); level++) {
        const char *f;
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0
            && (f = config_file_of(ld, ar.source)) != NULL) {
            *file = f;
            return ar.currentline;
        }
    }
    *file = ld->ctx.file;
    return 0;
}

/* A declaration being made by the call at `level`, named `what`. */
static struct sl_decl decl_at(lua_State *L, struct loader *ld, const char *what)
{
    struct sl_decl d = {.L = L, .ctx = &ld->ctx};
    snprintf(d.what, sizeof d.what, "%s", what);
    d.line = config_line(L, 1, &d.file);
    return d;
}

/* Names of inputs and outputs end up in file names, JSON and log lines. */
static bool good_name(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");
    return n > 0 && s[n] == '\0' && n <= MAX_NAME;
}

/* {=== settings { ... } and route { ... } */
static int l_settings(lua_State *L)
{
    struct loader *ld = declaring(L);
    struct sl_decl d = decl_at(L, ld, "settings");
    if (ld->settings_line != 0)
        sl_decl_error(&d, "given twice (first at %s%s%d)",
                      ld->settings_file == d.file ? "line " : ld->settings_file,
                      ld->settings_file == d.file ? "" : ":", ld->settings_line);
    else
        ld->settings_line = d.line > 0 ? d.line : -1, ld->settings_file = d.file;
    if (lua_type(L, 1) != LUA_TTABLE)
        sl_decl_error(&d, "wants a table: settings { ... }, got %s", sl_decl_type_name(L, 1));
    else
        sl_decl_settings(&d, 1, ld->ctx.c);
    return 0;
}

/* Keep mode: stores route i's functions by index, as read now (a later
 * change to the route's table does not count, as for every other key). */
static void keep_functions(lua_State *L, size_t i)
{
    static const char *const keys[] = {"where", "transform"};
    lua_getfield(L, LUA_REGISTRYINDEX, SL_CONFIG_FUNCTIONS);
    for (int k = 0; k < 2; k++) {
        lua_pushstring(L, keys[k]);
        if (lua_rawget(L, 1) == LUA_TFUNCTION)
            lua_rawseti(L, -2, (lua_Integer)(2 * i + 1 + (size_t)k));
        else
            lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static int l_route(lua_State *L)
{
    struct loader *ld = declaring(L);
    struct sl_config *c = ld->ctx.c;
    struct sl_decl d = decl_at(L, ld, "route");
    struct sl_decl_targets *x = sl_decl_grow(&ld->ctx, ld->targets, c->nroutes, sizeof *x);
    if (x == NULL)
        return 0;
    ld->targets = x;
    struct sl_route_conf *r = sl_decl_grow(&ld->ctx, c->routes, c->nroutes, sizeof *r);
    if (r == NULL)
        return 0;
    c->routes = r;
    x = &ld->targets[c->nroutes];
    r = &c->routes[c->nroutes++];
    *r = (struct sl_route_conf){.facility_mask = SL_FACILITY_ANY,
                                .severity_mask = SL_SEVERITY_ANY, .file = d.file,
                                .line = d.line};
    if (lua_type(L, 1) != LUA_TTABLE) {
        sl_decl_error(&d, "wants a table: route { ... }, got %s", sl_decl_type_name(L, 1));
        x->broken = true;
        return 0;
    }
    sl_decl_route(&d, 1, r, x);
    if (ld->keep)
        keep_functions(L, c->nroutes - 1);
    return 0;
}
/* }=== */

/* {=== input and output: curried calls */
/* input "name" and output "name" return a function taking the table, with
 * the index of their pending entry as upvalue. */
static int declare(lua_State *L, bool output, lua_CFunction table_fn)
{
    struct loader *ld = declaring(L);
    const char *kind = output ? "output" : "input";
    struct sl_decl d = decl_at(L, ld, kind);
    struct pending *p = sl_decl_grow(&ld->ctx, ld->pend, ld->npend, sizeof *p);
    if (p == NULL)
        return luaL_error(L, "out of memory");
    ld->pend = p;
    p = &ld->pend[ld->npend++];
    p->line = d.line;
    p->file = d.file;
    p->output = output;
    if (lua_type(L, 1) != LUA_TSTRING) {
        sl_decl_error(&d, "wants a name: %s \"NAME\" { ... }, got %s", kind,
                      sl_decl_type_name(L, 1));
    } else {
        p->name = sl_decl_strdup(&ld->ctx, lua_tostring(L, 1));
        if (!good_name(lua_tostring(L, 1)))
            sl_decl_error(&d, "bad name \"%s\" (1 to %d letters, digits, '_', '-' or '.')",
                          lua_tostring(L, 1), MAX_NAME);
    }
    lua_pushinteger(L, (lua_Integer)(ld->npend - 1));
    lua_pushcclosure(L, table_fn, 1);
    return 1;
}

/* Starts the declaration's table call and names it. Duplicates are found
 * once the chunk has run (sl_loader_check_duplicates, lua_checks.c): comparing each declaration
 * with all before it made 100,000 outputs quadratic. */
static struct pending *begin_table(lua_State *L, struct sl_decl *d, const char *kind)
{
    struct loader *ld = declaring(L);
    struct pending *p = &ld->pend[lua_tointeger(L, lua_upvalueindex(1))];
    *d = decl_at(L, ld, "");
    if (p->name != NULL)
        snprintf(d->what, sizeof d->what, "%s \"%s\"", kind, p->name);
    else
        snprintf(d->what, sizeof d->what, "%s", kind);
    p->done = true;
    p->table_line = d->line;
    p->table_file = d->file;
    if (lua_type(L, 1) != LUA_TTABLE)
        sl_decl_error(d, "wants a table: %s { ... }, got %s", d->what, sl_decl_type_name(L, 1));
    return p;
}

static int l_input_table(lua_State *L)
{
    struct loader *ld = declaring(L);
    struct sl_decl d;
    struct pending *p = begin_table(L, &d, "input");
    struct sl_config *c = ld->ctx.c;
    struct sl_input_conf *in = sl_decl_grow(&ld->ctx, c->inputs, c->ninputs, sizeof *in);
    if (in == NULL)
        return 0;
    c->inputs = in;
    in = &c->inputs[c->ninputs++];
    *in = (struct sl_input_conf){.max_message = SL_DEFAULT_MAX_MESSAGE, .mode = 0666,
                                 .max_connections = SL_DEFAULT_MAX_CONNECTIONS,
                                 .max_connections_per_peer = SL_DEFAULT_MAX_CONNECTIONS_PER_PEER,
                                 .idle_timeout = SL_DEFAULT_IDLE_TIMEOUT,
                                 .coalesce_ms = SL_DEFAULT_COALESCE_MS, .file = d.file,
                                 .line = d.line};
    in->name = p->name != NULL ? sl_decl_strdup(&ld->ctx, p->name) : NULL;
    if (lua_type(L, 1) == LUA_TTABLE)
        sl_decl_input(&d, 1, in);
    return 0;
}

/* An output declaration returns a handle that `to` may use instead of the
 * output's name: a userdata holding its index in c->outputs. */
static void push_handle(lua_State *L, size_t index)
{
    size_t *h = lua_newuserdatauv(L, sizeof *h, 0);
    *h = index;
    luaL_setmetatable(L, SL_DECL_HANDLE_MT);
}

static int l_handle_tostring(lua_State *L)
{
    const size_t *h = luaL_checkudata(L, 1, SL_DECL_HANDLE_MT);
    const struct loader *ld = loader_of(L);
    const char *name = ld != NULL ? ld->ctx.c->outputs[*h].name : NULL;
    lua_pushfstring(L, "output \"%s\"", name != NULL ? name : "?");
    return 1;
}

static int l_output_table(lua_State *L)
{
    struct loader *ld = declaring(L);
    struct sl_config *c = ld->ctx.c;
    struct sl_decl d;
    struct pending *p = begin_table(L, &d, "output");
    struct sl_output_conf *o = sl_decl_grow(&ld->ctx, c->outputs, c->noutputs, sizeof *o);
    if (o == NULL)
        return luaL_error(L, "out of memory");
    c->outputs = o;
    o = &c->outputs[c->noutputs++];
    *o = (struct sl_output_conf){.queue = SL_QUEUE_CONF_DEFAULT, .file = d.file,
                                 .line = d.line};
    o->name = p->name != NULL ? sl_decl_strdup(&ld->ctx, p->name) : NULL;
    if (lua_type(L, 1) == LUA_TTABLE)
        sl_decl_output(&d, 1, o);
    push_handle(L, c->noutputs - 1);
    return 1;
}

static int l_input(lua_State *L)
{
    return declare(L, false, l_input_table);
}

static int l_output(lua_State *L)
{
    return declare(L, true, l_output_table);
}
/* }=== */

/* {=== include "PATTERN" */
/* The config files running now (each file's main chunk on the stack),
 * outermost first, into v (room for n); returns how many there are. */
static int running_files(lua_State *L, const struct loader *ld, const char **v, int n)
{
    lua_Debug ar;
    int k = 0;
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        const char *f;
        if (lua_getinfo(L, "S", &ar) && strcmp(ar.what, "main") == 0
            && (f = config_file_of(ld, ar.source)) != NULL && k < n)
            v[k++] = f;
    }
    for (int i = 0; i < k / 2; i++) {
        const char *x = v[i];
        v[i] = v[k - 1 - i];
        v[k - 1 - i] = x;
    }
    return k;
}

/* include "PATTERN": relative to the including file's directory. */
static int l_include(lua_State *L)
{
    struct loader *ld = declaring(L);
    struct sl_decl d = decl_at(L, ld, "include");
    size_t len;
    const char *pattern = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : NULL;
    if (pattern == NULL || len == 0 || strlen(pattern) != len) {
        sl_decl_error(&d, "wants a file name or a pattern: include \"sluice.d/*.lua\", got %s",
                      pattern != NULL ? "a string that is empty or holds a NUL byte"
                                      : sl_decl_type_name(L, 1));
        return 0;
    }
    snprintf(d.what, sizeof d.what, "include \"%s\"", pattern);
    const char *slash = strrchr(d.file, '/');
    if (pattern[0] != '/' && slash != NULL) {
        lua_pushlstring(L, d.file, (size_t)(slash - d.file) + 1);
        lua_pushvalue(L, 1);
        lua_concat(L, 2);
    } else {
        lua_pushvalue(L, 1);
    }
    const char *path = lua_tostring(L, -1); /* stays on the stack */
    const char *v[SL_INCLUDE_MAX_DEPTH + 1];
    int n = running_files(L, ld, v, SL_INCLUDE_MAX_DEPTH + 1);
    if (n > SL_INCLUDE_MAX_DEPTH) {
        char chain[1024];
        sl_include_chain(chain, sizeof chain, v, n, path);
        sl_decl_error(&d, "includes nested more than %d deep: %s", SL_INCLUDE_MAX_DEPTH, chain);
        return 0;
    }
    size_t k = ld->include_calls++;
    if (ld->inc.kept == NULL && sl_strlist_push(&ld->ctx.c->include_calls, path) < 0) {
        ld->ctx.oom = true;
        return 0;
    }
    sl_include_run(L, &ld->inc, &d, path, k, v, n);
    return 0;
}
/* }=== */

/* {=== running the chunk */
static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    return sl_lua_budget_alloc(&((struct loader *)ud)->budget, ptr, osize, nsize);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    struct loader *ld = loader_of(L);
    if (++ld->ticks < MAX_INSTRUCTIONS / HOOK_EVERY)
        return;
    /* From now on every instruction fails, so a pcall in the config cannot
     * catch the error and carry on looping. */
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    luaL_where(L, 0); /* in a hook, level 0 is the hooked function */
    lua_pushstring(L, TOO_LONG);
    lua_concat(L, 2);
    lua_error(L);
}

/* The C functions' steps (lua_bounded.h), counted as instructions. */
static const char *count_steps(lua_State *L, struct sl_lua_cost *cost, unsigned long steps)
{
    struct loader *ld = loader_of(L);
    ld->steps += steps;
    ld->ticks += (long)(ld->steps / HOOK_EVERY);
    ld->steps %= HOOK_EVERY;
    if (ld->ticks < MAX_INSTRUCTIONS / HOOK_EVERY)
        return NULL;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1); /* as count_hook does */
    return TOO_LONG;
}

/* Remembers the config line the error came from and adds a traceback, as
 * lua.c does; the traceback is only shown in the debug log. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    struct loader *ld = loader_of(L);
    ld->err_line = config_line(L, 1, &ld->err_file);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Skips the "FILE:LINE: " Lua puts before a message from the config file,
 * where FILE may be cut to "...TAIL" (LUA_IDSIZE); NULL when msg has none. */
static const char *after_position(const char *msg, const char *file, int *line)
{
    size_t n = strlen(file);
    const char *p = NULL;
    if (strncmp(msg, file, n) == 0 && msg[n] == ':')
        p = msg + n + 1;
    else if (strncmp(msg, "...", 3) == 0) {
        for (const char *q = msg + 3; p == NULL && *q != '\0'; q++) {
            size_t k = (size_t)(q - msg - 3);
            if (*q == ':' && k <= n && memcmp(file + n - k, msg + 3, k) == 0)
                p = q + 1;
        }
    }
    size_t digits = p != NULL ? strspn(p, "0123456789") : 0;
    if (digits == 0 || p[digits] != ':')
        return NULL;
    *line = atoi(p);
    return p + digits + (p[digits + 1] == ' ' ? 2 : 1);
}

/* after_position() for each of the config's files, the main one first;
 * *file is the one that matched. */
static const char *position_in_config(const struct loader *ld, const char *msg, int *line,
                                      const char **file)
{
    const char *p = after_position(msg, ld->ctx.file, line);
    if (p != NULL) {
        *file = ld->ctx.file;
        return p;
    }
    const struct sl_config *t = texts_of(ld);
    for (size_t i = t->nincludes; i-- > 0;) {
        if ((p = after_position(msg, t->includes[i].file, line)) != NULL) {
            *file = t->includes[i].file;
            return p;
        }
    }
    return NULL;
}

static void report_lua_error(struct loader *ld, lua_State *L, int status)
{
    const char *at = ld->err_file != NULL ? ld->err_file : ld->ctx.file;
    if (status == LUA_ERRMEM) {
        sl_errors_add(ld->ctx.errs, at, ld->err_line, "%s",
                      ld->budget.refused ? "config needs more than 64 MiB of memory"
                                      : "out of memory");
        return;
    }
    const char *full = lua_tostring(L, -1);
    if (full == NULL)
        full = "(error object is not a string)";
    sl_log(SL_LOG_DEBUG, 0, "%s: %s", ld->ctx.file, full);
    const char *tb = strstr(full, "\nstack traceback:");
    int len = tb != NULL ? (int)(tb - full) : (int)strlen(full);
    int line = ld->err_line;
    const char *msg = position_in_config(ld, full, &line, &at);
    if (msg == NULL)
        msg = full;
    sl_errors_add(ld->ctx.errs, at, line, "%.*s", len - (int)(msg - full), msg);
}

/* Like load, but never for binary chunks, which can crash the VM. */
static int l_load(lua_State *L)
{
    int n = lua_gettop(L);
    lua_settop(L, 4);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "t");
    if (n >= 4) /* an explicit nil env is not the same as none */
        lua_pushvalue(L, 4);
    lua_call(L, n >= 4 ? 4 : 3, LUA_MULTRET); /* inside the config's pcall */
    return lua_gettop(L) - 4;
}

/* Like setmetatable, but refuses __gc: Lua runs finalizers with hooks off,
 * so a looping one would escape the instruction limit. */
static int l_setmetatable(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushliteral(L, "__gc");
    if (lua_type(L, 2) == LUA_TTABLE && lua_rawget(L, 2) != LUA_TNIL)
        return luaL_error(L, "__gc metamethods are not allowed in the config");
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

static void open_libs(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8}, {NULL, NULL}};
    for (const luaL_Reg *lib = libs; lib->func != NULL; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    /* The config reads no other file; `load` stays, for text only. */
    lua_pushnil(L);
    lua_setglobal(L, "dofile");
    lua_pushnil(L);
    lua_setglobal(L, "loadfile");
    /* collectgarbage("stop") would let a route function starve its state;
     * the config and the functions see the same globals. */
    lua_pushnil(L);
    lua_setglobal(L, "collectgarbage");
    lua_getglobal(L, "load");
    lua_pushcclosure(L, l_load, 1);
    lua_setglobal(L, "load");
    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, l_setmetatable, 1);
    lua_setglobal(L, "setmetatable");
    struct loader *ld = loader_of(L);
    sl_lua_sluice_open(L, ld->lib, true); /* print goes to the log, as sluice.log */
    sl_lua_bounded_open(L, &ld->lib->cost);

    luaL_newmetatable(L, SL_DECL_HANDLE_MT);
    lua_pushcfunction(L, l_handle_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, SL_DECL_HANDLE_MT);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    lua_register(L, "settings", l_settings);
    lua_register(L, "input", l_input);
    lua_register(L, "output", l_output);
    lua_register(L, "route", l_route);
    lua_register(L, "include", l_include);
}

static int load_source(lua_State *L, struct loader *ld)
{
    return sl_include_load_text(L, ld->source, ld->source_len, ld->ctx.file);
}

/* Everything that touches the state, run under lua_pcall. */
static int protected_main(lua_State *L)
{
    struct loader *ld = loader_of(L);
    open_libs(L);
    if (ld->keep) {
        lua_newtable(L);
        lua_setfield(L, LUA_REGISTRYINDEX, SL_CONFIG_FUNCTIONS);
    }
    lua_pushcfunction(L, msghandler);
    int status = load_source(L, ld);
    if (status == LUA_OK) {
        lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
        status = lua_pcall(L, 0, 0, -2);
    }
    if (status != LUA_OK)
        report_lua_error(ld, L, status);
    ld->ran = status == LUA_OK;
    return 0;
}

/* Runs the chunk in L, which the loader borrows for the call. */
static void run_in(struct loader *ld, lua_State *L)
{
    struct sl_lua_cost owners = ld->lib->cost; /* the state's bound once we are done */
    ld->lib->cost = (struct sl_lua_cost){.spend = count_steps};
    *(struct loader **)lua_getextraspace(L) = ld;
    lua_pushcfunction(L, protected_main);
    int status = lua_pcall(L, 0, 0, 0);
    if (status != LUA_OK)
        report_lua_error(ld, L, status);
    lua_settop(L, 0);
    lua_sethook(L, NULL, 0, 0);
    *(struct loader **)lua_getextraspace(L) = NULL;
    ld->lib->cost = owners;
}

static void run(struct loader *ld)
{
    lua_State *L = lua_newstate(limited_alloc, ld);
    if (L == NULL) {
        ld->ctx.oom = true;
        return;
    }
    run_in(ld, L);
    lua_close(L);
}
/* }=== */


/* Puts errs->v[before..] in order: by file (the main one, then each
 * included one as they were read), then by line. */
void sl_config_sort_errors(const struct sl_config *c, struct sl_errors *errs, size_t before)
{
    const char **files = sl_calloc(c->nincludes + 1, sizeof *files);
    if (files == NULL) {
        sl_errors_sort(errs, before, c->file);
        return;
    }
    files[0] = c->file;
    for (size_t i = 0; i < c->nincludes; i++)
        files[i + 1] = c->includes[i].file;
    sl_errors_sort_files(errs, before, files, c->nincludes + 1);
    free(files);
}

/* Loads c->source into c, which has its file; returns 0 or -EINVAL (errors
 * found, or out of memory, in errs). c stays the caller's; id is
 * the main file's, for include cycles (zero when there is no file). */
static int load(struct sl_config *c, const struct sl_include_id *id, struct sl_errors *errs)
{
    size_t before = errs->n, count = sl_errors_count(errs);
    const char *path = c->file;
    c->log_level = SL_LOG_INFO;
    c->shutdown_timeout_ms = SL_DEFAULT_SHUTDOWN_TIMEOUT_MS;
    struct sl_lua_sluice lib = {NULL, NULL, false, {0}};
    struct loader ld = {.ctx = {.file = path, .c = c, .errs = errs}, .lib = &lib,
                        .budget = {.limit = MEMORY_LIMIT}, .source = c->source,
                        .source_len = c->source_len, .inc.ids[0] = *id};
    run(&ld);
    sl_loader_check_duplicates(&ld, false);
    sl_loader_check_duplicates(&ld, true);
    if (ld.ran) {
        sl_loader_check_references(&ld);
        sl_decl_check_queues(&ld.ctx);
    }
    for (size_t i = 0; i < c->nroutes; i++)
        c->has_lua = c->has_lua || c->routes[i].has_where || c->routes[i].has_transform;
    if (ld.ctx.oom)
        sl_errors_add(errs, path, 0, "out of memory");
    sl_loader_free(&ld);
    sl_config_sort_errors(c, errs, before);
    return sl_errors_count(errs) != count || ld.ctx.oom ? -EINVAL : 0;
}

/* Reads the whole file into c->source: the one text every state runs. */
static int read_file(struct sl_config *c, struct sl_include_id *id, struct sl_errors *errs)
{
    char err[256];
    if (sl_include_read(c->file, MEMORY_LIMIT, true, &c->source, &c->source_len, id, err,
                        sizeof err) < 0) {
        sl_errors_add(errs, c->file, 0, "%s", err);
        return -1;
    }
    return 0;
}

/* A config for file `path`, or NULL with the reason in errs. */
static struct sl_config *config_new(const char *path, struct sl_errors *errs)
{
    struct sl_config *c = sl_calloc(1, sizeof *c);
    char *file = sl_strdup(path);
    if (c == NULL || file == NULL) {
        free(c);
        free(file);
        sl_errors_add(errs, path, 0, "out of memory");
        return NULL;
    }
    c->file = file;
    return c;
}

int sl_config_load_partial(const char *path, struct sl_config **out, struct sl_errors *errs)
{
    struct sl_include_id id;
    *out = config_new(path, errs);
    if (*out == NULL || read_file(*out, &id, errs) < 0)
        return -EINVAL;
    return load(*out, &id, errs);
}

int sl_config_load(const char *path, struct sl_config **out, struct sl_errors *errs)
{
    struct sl_config *c;
    if (sl_config_load_partial(path, &c, errs) < 0) {
        sl_config_free(c);
        return -EINVAL;
    }
    *out = c;
    return 0;
}

int sl_config_load_text(const char *text, size_t len, const char *name, struct sl_config **out,
                        struct sl_errors *errs)
{
    struct sl_config *c = config_new(name, errs);
    if (c == NULL)
        return -EINVAL;
    if (len > MEMORY_LIMIT) {
        sl_errors_add(errs, name, 0, "config file is larger than 64 MiB");
        sl_config_free(c);
        return -EINVAL;
    }
    c->source = sl_malloc(len + 1);
    if (c->source == NULL) {
        sl_errors_add(errs, name, 0, "out of memory");
        sl_config_free(c);
        return -EINVAL;
    }
    memcpy(c->source, text, len);
    c->source[len] = '\0';
    c->source_len = len;
    if (load(c, &(struct sl_include_id){0}, errs) < 0) { /* no file: no id */
        sl_config_free(c);
        return -EINVAL;
    }
    *out = c;
    return 0;
}

/* {=== keep mode, for filter.h */
/* What the re-run declared differently from c, in why; false when nothing. */
static bool ran_differently(const struct sl_config *c, const struct sl_config *again, char *why,
                            size_t len)
{
    if (again->nroutes != c->nroutes) {
        snprintf(why, len, "it declared %zu routes, not %zu", again->nroutes, c->nroutes);
        return true;
    }
    for (size_t i = 0; i < c->nroutes; i++) {
        const struct sl_route_conf *a = &c->routes[i], *b = &again->routes[i];
        if (a->line != b->line || strcmp(a->file, b->file) != 0 || a->has_where != b->has_where
            || a->has_transform != b->has_transform || a->where_line != b->where_line
            || a->transform_line != b->transform_line) {
            snprintf(why, len, "route %zu (%s:%d) came out as a route at %s:%d%s", i + 1,
                     a->file, a->line, b->file, b->line,
                     a->line == b->line && strcmp(a->file, b->file) == 0
                         ? " with other functions" : "");
            return true;
        }
    }
    return false;
}

int sl_config_run_functions(const struct sl_config *c, lua_State *L, struct sl_lua_sluice *lib,
                            char *err, size_t errlen)
{
    const char *file = c->file != NULL ? c->file : "config";
    struct sl_errors errs = {0};
    struct sl_config *again = sl_calloc(1, sizeof *again);
    if (again == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    struct loader ld = {.ctx = {.file = file, .c = again, .errs = &errs}, .keep = true,
                        .inc.kept = c, .lib = lib, .source = c->source, .source_len = c->source_len};
    bool quiet = lib->quiet;
    lib->quiet = true; /* what the config logs at its top level, it logged at load */
    run_in(&ld, L);
    lib->quiet = quiet;
    char why[512];
    int rc = 0;
    if (ld.ctx.oom || sl_errors_count(&errs) > 0 || !ld.ran) {
        snprintf(why, sizeof why, "%s", errs.n > 0 ? errs.v[0] : "out of memory");
        rc = ld.ctx.oom ? -ENOMEM : -EINVAL;
    } else if (ran_differently(c, again, why, sizeof why)) {
        rc = -EINVAL;
    }
    if (rc < 0)
        snprintf(err, errlen, "config ran differently in an input thread: %s (a config must "
                 "declare the same routes every time it runs)", why);
    sl_loader_free(&ld);
    sl_errors_clear(&errs);
    sl_config_free(again);
    return rc;
}
/* }=== */
