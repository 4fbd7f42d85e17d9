/* SPDX-License-Identifier: MIT */
/* test_lua_bounded.c: the bounded string and table functions
 * (core/conf/lua_bounded.c, lua_pattern.c) give exactly Lua's results,
 * stop when their owner says so, and bound the config loader. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "conf/lua_bounded.h"
#include "conf/lua_config.h"

/* {=== a state with both libraries */
struct counted {
    struct sl_lua_cost cost; /* first: the spend callback gets its address */
    unsigned long steps, limit;
};

static const char *count(lua_State *L, struct sl_lua_cost *cost, unsigned long steps)
{
    struct counted *c = (struct counted *)cost;
    c->steps += steps;
    return c->limit != 0 && c->steps >= c->limit ? "stop" : NULL;
}

/* Lua's own functions as lua.find, lua.rep, ... (string's) and lua.sort,
 * ... (table's); ours in string and table. */
static lua_State *both(struct counted *c)
{
    lua_State *L = luaL_newstate();
    assert_non_null(L);
    luaL_openlibs(L);
    assert_int_equal(luaL_dostring(L, "lua = {}\n"
                                      "for k, v in pairs(string) do lua[k] = v end\n"
                                      "for k, v in pairs(table) do lua[k] = v end"), LUA_OK);
    c->cost.spend = count;
    sl_lua_bounded_open(L, &c->cost);
    return L;
}

static void run(lua_State *L, const char *chunk)
{
    if (luaL_dostring(L, chunk) != LUA_OK) {
        fprintf(stderr, "  %s\n", lua_tostring(L, -1));
        fail();
    }
}
/* }=== */

/* {=== same results as Lua */
/* Each case runs through Lua's function and ours, under pcall, and the
 * results (every value, or the error) must be the same. */
static const char *const compare_lib =
    "local function pack(...) return {n = select('#', ...), ...} end\n"
    /* An argument error names the function by where it is found (string.gsub
     * for ours, '?' for Lua's, no longer in the string table), and the
     * wrappers' lines differ: both are left out. */
    "local function show(r) local t = {}\n"
    "  for i = 1, r.n do t[i] = type(r[i]) .. ':' .. tostring(r[i]) end\n"
    "  return (table.concat(t, ' '):gsub(\"#(%d) to '[^']*'\", \"#%1 to '?'\")\n"
    "    :gsub('%[string .-%]:%d+:', '')) end\n"
    "function same(name, f, g, ...)\n"
    "  local a, b = show(pack(pcall(f, ...))), show(pack(pcall(g, ...)))\n"
    "  if a ~= b then error(name .. ': lua gives ' .. a .. ', ours ' .. b, 0) end\n"
    "end\n"
    "function all(it) local t = {} for a, b, c in it do t[#t + 1] = tostring(a) .. ',' ..\n"
    "  tostring(b) .. ',' .. tostring(c) end return table.concat(t, ';') end\n";

static void patterns_give_luas_results(void **state)
{
    struct counted c = {0};
    lua_State *L = both(&c);
    run(L, compare_lib);
    run(L,
        "local cases = {\n"
        "  {'hello world', 'o'}, {'hello world', 'o', 6}, {'hello', 'l+'}, {'hello', ''},\n"
        "  {'hello', '', 10}, {'hello', 'h', -2}, {'hello', 'o', -1}, {'', ''}, {'', '.*'},\n"
        "  {'key = value', '(%w+)%s*=%s*(%w+)'}, {'  trim  ', '^%s*(.-)%s*$'},\n"
        "  {'a.b.c', '.', 1, true}, {'a.b.c', '%.'}, {'a+b', '+', 1, true},\n"
        "  {'f(a(b)c)d', '%b()'}, {'[[x]]', '%b[]'}, {'THE (quick) fox', '%f[%a]%a+'},\n"
        "  {'THE (quick) fox', '%f[%l]%a+'}, {'hello', '()ll()'}, {'abcabc', '(abc)%1'},\n"
        "  {'aaa', 'a-b'}, {'aaab', 'a-b'}, {'aaa', '^a'}, {'baaa', '^a'}, {'aaa', 'a$'},\n"
        "  {'a$b', 'a$b'}, {'x=1, y=2', '(%a)=(%d)'}, {'\\0a\\0', '%z'}, {'a\\0b', 'a\\0b'},\n"
        "  {'[a]', '[%[]'}, {'a-z', '[a%-z]+'}, {'xyz', '[^x]+'}, {'0x1F', '%x+', 3},\n"
        "  {'ab', '(a)(b)()'}, {'abc', '((a)(b))'}, {'hello', '[]'}, {'hello', '[a'},\n"
        "  {'hello', '%'}, {'hello', '(()'}, {'hello', '%1'}, {'hello', '(h))'},\n"
        "  {'hello', '%g'}, {'HeLLo', '%u+'}, {'a,b,,c', '([^,]*)'}, {'abc', '%f'},\n"
        "  {'abc', '%ba'}, {'x', ('(x?)'):rep(33)}, {string.rep('a', 300), ('a?'):rep(300)},\n"
        "  {'caf\\xc3\\xa9', '[\\xc0-\\xff][\\x80-\\xbf]*'}, {'a.b', '%W'}, {'ab12', '%D+'},\n"
        "  {'a b', '%S+', 2}, {'xyz', 'y?z'}, {'x', 'x*?'}, {'aXb', '%u'}, {' \\t', '%c'},\n"
        "}\n"
        "for i, k in ipairs(cases) do\n"
        "  local s, p, init, plain = k[1], k[2], k[3], k[4]\n"
        "  same(i .. ' find', lua.find, string.find, s, p, init, plain)\n"
        "  same(i .. ' match', lua.match, string.match, s, p, init)\n"
        "  same(i .. ' gmatch', function(...) return all(lua.gmatch(...)) end,\n"
        "       function(...) return all(string.gmatch(...)) end, s, p, init)\n"
        "  for _, r in ipairs({'<%0>', '%1', '%2-%1', '%%', '%9', 'x', 7, {hello = 'HI', a = false, k = 1},\n"
        "                      function(a, b) return b and a .. b or nil end,\n"
        "                      function() return {} end, true}) do\n"
        "    same(i .. ' gsub', lua.gsub, string.gsub, s, p, r)\n"
        "    same(i .. ' gsub 1', lua.gsub, string.gsub, s, p, r, 1)\n"
        "  end\n"
        "end\n"
        "same('method form', function(s) return s:match('(%d+)') end,\n"
        "     function(s) return string.match(s, '(%d+)') end, 'abc 123')\n"
        "assert(('abc 123'):match('(%d+)') == '123')\n"
        "assert(getmetatable('').__index.match == string.match)\n"
        "assert(lua.match ~= string.match and lua.gsub ~= string.gsub)\n");
    lua_close(L);
}

static void rep_and_tables_give_luas_results(void **state)
{
    struct counted c = {0};
    lua_State *L = both(&c);
    run(L, compare_lib);
    run(L,
        "for _, a in ipairs({{'ab', 3}, {'ab', 3, ','}, {'', 5}, {'', 5, ''}, {'x', 0},\n"
        "                    {'x', -1, ','}, {'', 3, '-'}, {'x', 2^62}, {{}, 1}, {'x', 1.5}}) do\n"
        "  same('rep', lua.rep, string.rep, a[1], a[2], a[3])\n"
        "end\n"
        "local function seq(n) local t = {} for i = 1, n do t[i] = (i * 7919) % 101 end return t end\n"
        "local function ts(t) return type(t) == 'table' and table.concat(t, ',', 1, #t) or tostring(t) end\n"
        "for _, n in ipairs({0, 1, 2, 3, 4, 50, 150, 1000}) do\n"
        "  local a, b = seq(n), seq(n) lua.sort(a) table.sort(b) assert(ts(a) == ts(b), n)\n"
        "  a, b = seq(n), seq(n) lua.sort(a, function(x, y) return x > y end)\n"
        "  table.sort(b, function(x, y) return x > y end) assert(ts(a) == ts(b), n)\n"
        "end\n"
        "same('sort bad', lua.sort, table.sort, {3, 'a', 1})\n"
        "same('sort order', lua.sort, table.sort, seq(200), function() return true end)\n"
        "same('sort big', lua.sort, table.sort, setmetatable({}, {__len = function() return 2^40 end}))\n"
        "for _, a in ipairs({{{1, 2, 3}}, {{1, 2, 3}, ', '}, {{1, 2, 3}, ', ', 2}, {{1, 2, 3}, '', 3, 2},\n"
        "                    {{1, {}, 3}}, {{}, 'x', 1, 0}, {{'a', 'b'}, '-', 1, 3}}) do\n"
        "  same('concat', lua.concat, table.concat, table.unpack(a))\n"
        "end\n"
        "local function ins(f, ...) local t = seq(5) f(t, ...) return ts(t) end\n"
        "for _, a in ipairs({{'x'}, {1, 'x'}, {6, 'x'}, {7, 'x'}, {0, 'x'}, {1, 2, 3}}) do\n"
        "  same('insert', function(...) return ins(lua.insert, ...) end,\n"
        "       function(...) return ins(table.insert, ...) end, table.unpack(a))\n"
        "end\n"
        "for _, a in ipairs({{}, {1}, {5}, {6}, {7}, {0}}) do\n"
        "  same('remove', function(...) local t = seq(5) return lua.remove(t, ...), ts(t) end,\n"
        "       function(...) local t = seq(5) return table.remove(t, ...), ts(t) end, table.unpack(a))\n"
        "end\n"
        "same('remove empty', lua.remove, table.remove, {}, 0)\n"
        "for _, a in ipairs({{1, 3, 2}, {2, 5, 1}, {1, 5, 3}, {1, 0, 1}, {3, 5, 1, {}},\n"
        "                    {math.mininteger, 1, 1}, {1, math.maxinteger, 2}}) do\n"
        "  same('move', function(f, e, t, d) local s = seq(5) return ts(lua.move(s, f, e, t, d)), ts(s) end,\n"
        "       function(f, e, t, d) local s = seq(5) return ts(table.move(s, f, e, t, d)), ts(s) end,\n"
        "       table.unpack(a))\n"
        "end\n");
    lua_close(L);
}
/* }=== */

/* {=== stopping */
/* Every bounded function asks as it goes and raises "NAME: WHY" when
 * told to stop: on inputs that Lua's own functions loop over for hours. */
static void stops_when_the_owner_says(void **state)
{
    static const char *const cases[][2] = {
        {"string.match", "return (' '):rep(65536):match('^(.-)%s*:%s*(.-)%s*$')"},
        {"string.find", "return ('x'):rep(65536):find('.-.-.-y')"},
        {"string.gmatch", "for a in (' '):rep(65536):gmatch('%s*:') do end"},
        {"string.gsub", "return ('a'):rep(65536):gsub('(x?)', ('%1'):rep(65536))"},
        {"string.gsub", "return ('('):rep(65536):gsub('%b()', '')"},
        {"string.match", "return ('a'):rep(65536):match(('[' .. ('b'):rep(4000) .. ']'):rep(2) .. 'a')"},
        {"string.rep", "return ('x'):rep(2^24)"},
        {"table.sort", "local t = setmetatable({}, {__len = function() return 2^31 - 2 end,\n"
                       "  __index = rawlen, __newindex = rawequal}) table.sort(t, rawequal)"},
        {"table.remove", "table.remove(setmetatable({}, {__len = function() return 2^40 end}), 1)"},
        {"table.insert", "table.insert(setmetatable({}, {__len = function() return 2^40 end}), 1, 1)"},
        {"table.move", "table.move({}, 1, 2^40, 1)"},
        {"table.concat", "return table.concat(setmetatable({}, {__len = function() return 2^40 end,\n"
                         "  __index = rawlen}))"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct counted c = {.limit = 1000000};
        lua_State *L = both(&c);
        int rc = luaL_dostring(L, cases[i][1]);
        char want[64];
        snprintf(want, sizeof want, "%s: stop", cases[i][0]);
        const char *got = rc != LUA_OK ? lua_tostring(L, -1) : "(no error)";
        if (strstr(got, want) == NULL) {
            fprintf(stderr, "  %s: wanted '%s', got '%s'\n", cases[i][1], want, got);
            fail();
        }
        assert_true(c.steps >= c.limit);
        lua_close(L);
    }
}

/* The count goes on across calls: many small calls add up. */
static void steps_add_up_across_calls(void **state)
{
    struct counted c = {.limit = 3000000};
    lua_State *L = both(&c);
    int rc = luaL_dostring(L, "for i = 1, 1e9 do ('aaaaaaaaaaaaaaaaaaaaaaaa'):find('a-b') end");
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(lua_tostring(L, -1), "string.find: stop"));
    lua_close(L);
}
/* }=== */

/* {=== the config loader */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* text fails to load with an error holding want, within 60 s (it takes
 * about 3 s on a loaded machine; it took hours). */
static void expect_load_error(const char *text, const char *want)
{
    struct sl_errors errs = {0};
    struct sl_config *c = NULL;
    double t0 = now_s();
    int rc = sl_config_load_text(text, strlen(text), "top.lua", &c, &errs);
    double took = now_s() - t0;
    assert_int_equal(rc, -EINVAL);
    bool found = false;
    for (size_t i = 0; i < errs.n; i++)
        found = found || strstr(errs.v[i], want) != NULL;
    if (!found)
        fprintf(stderr, "  wanted '%s', got '%s'\n", want, errs.n > 0 ? errs.v[0] : "nothing");
    assert_true(found);
    assert_true(took < 60.0);
    sl_errors_clear(&errs);
}

static void config_top_level_is_bounded(void **state)
{
    expect_load_error("local s = (' '):rep(65536)\n"
                      "local r = s:match('^(.-)%s*:%s*(.-)%s*$')\n",
                      "top.lua:2: string.match: config took too long (more than 100 million "
                      "instructions)");
    /* a pcall does not catch it and carry on */
    expect_load_error("local s = (' '):rep(65536)\n"
                      "while true do pcall(string.find, s, '^(.-)%s*:%s*(.-)%s*$') end\n",
                      "config took too long");
    expect_load_error("table.move({}, 1, 2^50, 1)\n", "top.lua:1: table.move: config took too long");
    expect_load_error("local s = string.rep('x', 2^40)\n", "top.lua:1: resulting string too large");
    expect_load_error("local s = string.rep('x', 2^30)\n", "config needs more than 64 MiB of memory");
    /* string.rep("", 2^40) is "" at once */
    struct sl_errors errs = {0};
    struct sl_config *c = NULL;
    const char *ok = "assert(string.rep('', 2^40) == '')\n";
    assert_int_equal(sl_config_load_text(ok, strlen(ok), "top.lua", &c, &errs), 0);
    sl_config_free(c);
    sl_errors_clear(&errs);
}
/* }=== */

int main(void)
{
    alarm(300); /* a function that escapes its bound would hang the run */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(patterns_give_luas_results),
        cmocka_unit_test(rep_and_tables_give_luas_results),
        cmocka_unit_test(stops_when_the_owner_says),
        cmocka_unit_test(steps_add_up_across_calls),
        cmocka_unit_test(config_top_level_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
