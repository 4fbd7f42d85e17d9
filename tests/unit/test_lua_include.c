/* SPDX-License-Identifier: MIT */
/* test_lua_include.c: include "PATTERN" in sluice.lua (core/conf/lua_include.c
 * and the include function of lua_config.c): order, missing files, cycles,
 * depth, FILE:LINE into included files, and the input threads' rerun
 * running the texts kept at load. Each test works in a temp dir of its own. */
#include "config.h" /* _GNU_SOURCE: mkdtemp */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>

#include "conf/lua_sluice.h"
#include "conf_fixture.h"

struct tmp {
    char dir[64];
};

/* Writes dir/name (its subdirectory made by the caller, with sub()). */
static void put(struct tmp *t, const char *name, const char *text)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", t->dir, name);
    write_text(p, text);
}

static void sub(struct tmp *t, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", t->dir, name);
    assert_int_equal(mkdir(p, 0700), 0);
}

static void tmp_open(struct tmp *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/sluice-include-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
}

static void tmp_close(struct tmp *t)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
}

/* Loads dir/sluice.lua into l. */
static void load_main(struct tmp *t, struct loaded *l)
{
    snprintf(l->path, sizeof l->path, "%s/sluice.lua", t->dir);
    load_file(l);
    if (getenv("VERBOSE") != NULL)
        dump_errors(l);
}

/* The load failed with "DIR/name:LINE: text" among its errors. */
static void expect_in(const struct tmp *t, const struct loaded *l, const char *name, int line,
                      const char *text)
{
    char want[8192];
    snprintf(want, sizeof want, "%s/%s:%d: %s", t->dir, name, line, text);
    assert_int_equal(l->rc, -EINVAL);
    for (size_t i = 0; i < l->errs.n; i++) {
        if (strcmp(l->errs.v[i], want) == 0)
            return;
    }
    fprintf(stderr, "  wanted: %s\n", want);
    dump_errors(l);
    fail();
}

#define MAIN_OUT "output \"o\" { type = \"file\", path = \"/dev/null\" }\n"

static void test_sorted_same_globals(void **state)
{
    (void)state;
    struct tmp t;
    tmp_open(&t);
    sub(&t, "sluice.d");
    /* byte order: "10" before "9", digits before "B" before "a"; names
     * not matching skipped */
    put(&t, "sluice.d/9-b.lua", "order = order .. '9'\nroute { to = 'o' }\n");
    put(&t, "sluice.d/10-first.lua", "order = order .. '1'\n");
    put(&t, "sluice.d/B.lua", "order = order .. 'B'\n");
    put(&t, "sluice.d/a.lua", "order = order .. 'a'\n");
    put(&t, "sluice.d/notes.txt", "this is not Lua\n");
    put(&t, "sluice.lua", MAIN_OUT "order = ''\ninclude 'sluice.d/*.lua'\n"
        "route { to = 'o', app_name = order }\n");
    struct loaded l;
    load_main(&t, &l);
    dump_errors(&l);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.c->nroutes, 2);
    assert_string_equal(l.c->routes[1].app_names.v[0], "19Ba");
    char want[4200];
    snprintf(want, sizeof want, "%s/sluice.d/9-b.lua", t.dir);
    assert_string_equal(l.c->routes[0].file, want);
    assert_int_equal(l.c->routes[0].line, 2);
    assert_string_equal(l.c->routes[1].file, l.path);
    assert_int_equal(l.c->routes[1].line, 4);
    assert_int_equal(l.c->nincludes, 4);
    assert_int_equal(l.c->include_calls.n, 1);
    done(&l);
    tmp_close(&t);
}

static void test_nothing_matched_is_fine(void **state)
{
    (void)state;
    struct tmp t;
    tmp_open(&t);
    put(&t, "sluice.lua", MAIN_OUT "include 'sluice.d/*.lua'\ninclude 'none-*.lua'\n"
        "route { to = 'o' }\n");
    struct loaded l;
    load_main(&t, &l);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.c->nincludes, 0);
    done(&l);
    tmp_close(&t);
}

static void test_missing_plain_file(void **state)
{
    (void)state;
    struct tmp t;
    tmp_open(&t);
    put(&t, "sluice.lua", MAIN_OUT "\ninclude 'extra.lua'\n");
    struct loaded l;
    load_main(&t, &l);
    char text[4400];
    snprintf(text, sizeof text, "include \"extra.lua\": %s/extra.lua: open() failed (2: No "
             "such file or directory)", t.dir);
    expect_in(&t, &l, "sluice.lua", 3, text);
    done(&l);
    /* an absolute name is taken as given */
    char main[4400];
    snprintf(main, sizeof main, MAIN_OUT "include '%s/sub/x.lua'\n", t.dir);
    sub(&t, "sub");
    put(&t, "sub/x.lua", "route { to = 'o' }\n");
    put(&t, "sluice.lua", main);
    load_main(&t, &l);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.c->nroutes, 1);
    done(&l);
    tmp_close(&t);
}

static void test_cycle(void **state)
{
    (void)state;
    struct tmp t;
    tmp_open(&t);
    sub(&t, "d");
    put(&t, "sluice.lua", MAIN_OUT "include 'd/a.lua'\n");
    put(&t, "d/a.lua", "include 'b.lua'\n");
    put(&t, "d/b.lua", "\ninclude '../sluice.lua'\n");
    struct loaded l;
    load_main(&t, &l);
    char text[8192];
    snprintf(text, sizeof text, "include \"../sluice.lua\": include cycle: %s/sluice.lua -> "
             "%s/d/a.lua -> %s/d/b.lua -> %s/d/../sluice.lua", t.dir, t.dir, t.dir, t.dir);
    expect_in(&t, &l, "d/b.lua", 2, text);
    assert_int_equal(l.errs.n, 1);
    done(&l);
    put(&t, "d/b.lua", "include 'b.lua'\n"); /* itself */
    load_main(&t, &l);
    snprintf(text, sizeof text, "include \"b.lua\": include cycle: %s/sluice.lua -> "
             "%s/d/a.lua -> %s/d/b.lua -> %s/d/b.lua", t.dir, t.dir, t.dir, t.dir);
    expect_in(&t, &l, "d/b.lua", 1, text);
    done(&l);
    tmp_close(&t);
}

static void test_depth(void **state)
{
    (void)state;
    struct tmp t;
    tmp_open(&t);
    put(&t, "sluice.lua", MAIN_OUT "include '1.lua'\n");
    char name[16], text[64];
    for (int i = 1; i <= 8; i++) { /* sluice.lua -> 1.lua -> ... -> 8.lua: 8 deep */
        snprintf(name, sizeof name, "%d.lua", i);
        snprintf(text, sizeof text, "include '%d.lua'\n", i + 1);
        put(&t, name, i < 8 ? text : "route { to = 'o' }\n");
    }
    struct loaded l;
    load_main(&t, &l);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.c->nroutes, 1);
    done(&l);
    put(&t, "8.lua", "include '9.lua'\n"); /* one too deep */
    put(&t, "9.lua", "route { to = 'o' }\n");
    load_main(&t, &l);
    assert_int_equal(l.rc, -EINVAL);
    assert_int_equal(l.errs.n, 1);
    assert_non_null(strstr(l.errs.v[0], "/8.lua:1: include \"9.lua\": includes nested more "
                                        "than 8 deep: "));
    assert_non_null(strstr(l.errs.v[0], "/7.lua -> "));
    done(&l);
    tmp_close(&t);
}

/* expect_in() wants the whole text; this checks the errors one by one. */
static void expect_prefix(const struct tmp *t, const struct loaded *l, const char *name,
                          int line, const char *text)
{
    char want[8192];
    snprintf(want, sizeof want, "%s/%s:%d: %s", t->dir, name, line, text);
    for (size_t i = 0; i < l->errs.n; i++) {
        if (strncmp(l->errs.v[i], want, strlen(want)) == 0)
            return;
    }
    fprintf(stderr, "  wanted: %s...\n", want);
    dump_errors(l);
    fail();
}

static void test_declaration_errors(void **state)
{
    (void)state;
    struct tmp t;
    tmp_open(&t);
    sub(&t, "sluice.d");
    put(&t, "sluice.lua", MAIN_OUT "include 'sluice.d/*.lua'\n");
    put(&t, "sluice.d/a.lua", "\n\noutput 'o' { type = 'file', path = '/dev/null' }\n"
        "route { to = 'p', facilty = 'kern' }\ninput 'x' { type = 'udp' }\n");
    struct loaded l;
    load_main(&t, &l);
    char first[4400];
    snprintf(first, sizeof first, "output \"o\": already declared at %s/sluice.lua:1", t.dir);
    expect_in(&t, &l, "sluice.d/a.lua", 3, first);
    expect_prefix(&t, &l, "sluice.d/a.lua", 4, "route: unknown key 'facilty'");
    expect_in(&t, &l, "sluice.d/a.lua", 4, "route: 'to' names unknown output 'p'");
    expect_prefix(&t, &l, "sluice.d/a.lua", 5, "input \"x\": ");
    /* in the order of their lines, the checks made after the run too */
    assert_int_equal(l.errs.n, 4);
    assert_non_null(strstr(l.errs.v[0], "/a.lua:3: "));
    assert_non_null(strstr(l.errs.v[3], "/a.lua:5: "));
    done(&l);
    tmp_close(&t);
}

static void test_lua_errors_in_included_file(void **state)
{
    (void)state;
    struct tmp t;
    tmp_open(&t);
    put(&t, "sluice.lua", MAIN_OUT "include 'x.lua'\n");
    put(&t, "x.lua", "\n\nlocal = 1\n");
    struct loaded l;
    load_main(&t, &l);
    expect_in(&t, &l, "x.lua", 3, "<name> expected near '='");
    assert_int_equal(l.errs.n, 1);
    done(&l);
    put(&t, "x.lua", "\nlocal t = nil\nt.x = 1\n");
    load_main(&t, &l);
    expect_in(&t, &l, "x.lua", 3, "attempt to index a nil value (local 't')");
    assert_int_equal(l.errs.n, 1);
    done(&l);
    /* the same instruction budget: an endless loop in a drop-in stops */
    put(&t, "x.lua", "\nwhile true do end\n");
    load_main(&t, &l);
    expect_prefix(&t, &l, "x.lua", 2, "config took too long");
    done(&l);
    tmp_close(&t);
}

static void test_not_a_regular_file(void **state)
{
    (void)state;
    struct tmp t;
    tmp_open(&t);
    sub(&t, "sluice.d");
    sub(&t, "sluice.d/dir.lua");
    put(&t, "sluice.lua", MAIN_OUT "include 'sluice.d/*.lua'\n");
    struct loaded l;
    load_main(&t, &l);
    char text[4400];
    snprintf(text, sizeof text, "include \"sluice.d/*.lua\": %s/sluice.d/dir.lua: not a "
             "regular file", t.dir);
    expect_in(&t, &l, "sluice.lua", 2, text);
    done(&l);
    char p[4200];
    snprintf(p, sizeof p, "%s/sluice.d/dir.lua", t.dir);
    assert_int_equal(rmdir(p), 0);
    tmp_close(&t);
}

static void test_bad_argument(void **state)
{
    (void)state;
    struct loaded l;
    load_text(&l, "include(42)\n");
    expect(&l, 1, "include: wants a file name or a pattern: include \"sluice.d/*.lua\", "
                  "got number");
    done(&l);
}

/* The input threads' rerun runs the texts read at load, even when the
 * files change between the load and the rerun, and keeps the functions of
 * the included routes. */
static void test_rerun_uses_kept_texts(void **state)
{
    (void)state;
    struct tmp t;
    tmp_open(&t);
    sub(&t, "sluice.d");
    put(&t, "sluice.lua", MAIN_OUT "include 'sluice.d/*.lua'\n");
    put(&t, "sluice.d/a.lua", "route { to = 'o', where = function(m) return true end }\n");
    struct loaded l;
    load_main(&t, &l);
    assert_int_equal(l.rc, 0);
    assert_true(l.c->has_lua);
    put(&t, "sluice.d/a.lua", "route { to = 'o' }\nroute { to = 'o' }\n");
    put(&t, "sluice.d/b.lua", "route { to = 'o' }\n");
    lua_State *L = luaL_newstate();
    assert_non_null(L);
    struct sl_lua_sluice lib = {NULL, NULL, false, {0}};
    char err[512] = "";
    int rc = sl_config_run_functions(l.c, L, &lib, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "  %s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(lua_getfield(L, LUA_REGISTRYINDEX, SL_CONFIG_FUNCTIONS), LUA_TTABLE);
    assert_int_equal(lua_rawgeti(L, -1, 1), LUA_TFUNCTION);
    lua_close(L);
    done(&l);
    tmp_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_same_globals),
        cmocka_unit_test(test_nothing_matched_is_fine),
        cmocka_unit_test(test_missing_plain_file),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_declaration_errors),
        cmocka_unit_test(test_lua_errors_in_included_file),
        cmocka_unit_test(test_not_a_regular_file),
        cmocka_unit_test(test_bad_argument),
        cmocka_unit_test(test_rerun_uses_kept_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
