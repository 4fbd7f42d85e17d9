/* SPDX-License-Identifier: MIT */
/*
 * lua_bounded.c: the step count, and string.rep and the table functions
 * that obey it (lua_bounded.h).
 *
 * DESIGN: each function is Lua 5.4.4's own (lstrlib.c, ltablib.c, MIT
 * licence, Copyright (C) 1994-2022 Lua.org, PUC-Rio), so that results,
 * argument checks and error messages stay Lua's, with one step charged per
 * element its loop reads or writes. Why these: a table whose __len says
 * 2^40 and whose __index and __newindex are C functions (rawlen, rawequal)
 * costs no memory and runs no Lua instruction, so table.remove(t, 1) or
 * table.sort(t, rawequal) looped for hours; table.move({}, 1, 2^40) the
 * same on plain nils, and string.rep("", 2^40) copied nothing 2^40 times.
 *
 * The functions find their struct sl_lua_cost in upvalue 1.
 *
 * Thread: the thread that owns the lua_State.
 */
#include "config.h"

#include "conf/lua_bounded.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

void sl_lua_cost_pay(lua_State *L, struct sl_lua_cost *cost, unsigned long n, const char *fname)
{
    /* left may be above EVERY only before the first question (zeroed). */
    unsigned long done = cost->left <= SL_LUA_COST_EVERY ? SL_LUA_COST_EVERY - cost->left : 0;
    cost->left = SL_LUA_COST_EVERY;
    const char *why = cost->spend != NULL ? cost->spend(L, cost, done + n) : NULL;
    if (why != NULL)
        luaL_error(L, "%s: %s", fname, why);
}

/* A table read or write may call a C metamethod: some 16 instructions'
 * time, where a matcher step is about one. */
#define ELEMENT_STEPS 16

/* n steps of the running C function, whose upvalue 1 is the cost. */
static void charge(lua_State *L, unsigned long n, const char *fname)
{
    sl_lua_cost_charge(L, lua_touserdata(L, lua_upvalueindex(1)), n, fname);
}

/* {=== string.rep */
/* lstrlib.c 5.4.4's: a string.rep of more than 2 GiB is "too large". */
#define MAXSIZE (sizeof(size_t) < sizeof(int) ? (size_t)~(size_t)0 : (size_t)(INT_MAX))

static int str_rep(lua_State *L)
{
    size_t l, lsep;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || l + lsep == 0) { /* the second: Lua loops n times to make "" */
        lua_pushliteral(L, "");
        return 1;
    }
    if (l + lsep < l || l + lsep > MAXSIZE / (size_t)n)
        return luaL_error(L, "resulting string too large");
    size_t totallen = (size_t)n * l + (size_t)(n - 1) * lsep;
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, totallen);
    while (n-- > 1) { /* first n-1 copies (followed by separator) */
        charge(L, 1, "string.rep");
        memcpy(p, s, l);
        p += l;
        if (lsep > 0) {
            memcpy(p, sep, lsep);
            p += lsep;
        }
    }
    memcpy(p, s, l); /* last copy (not followed by separator) */
    luaL_pushresultsize(&b, totallen);
    return 1;
}
/* }=== */

/* {=== table.concat, insert, remove, move (ltablib.c 5.4.4) */
#define TAB_R 1 /* read */
#define TAB_W 2 /* write */
#define TAB_L 4 /* length */
#define TAB_RW (TAB_R | TAB_W)

static int checkfield(lua_State *L, const char *key, int n)
{
    lua_pushstring(L, key);
    return (lua_rawget(L, -n) != LUA_TNIL);
}

/* arg is a table or has the metamethods to act as one. */
static void checktab(lua_State *L, int arg, int what)
{
    if (lua_type(L, arg) != LUA_TTABLE) {
        int n = 1; /* number of elements to pop */
        if (lua_getmetatable(L, arg) && (!(what & TAB_R) || checkfield(L, "__index", ++n))
            && (!(what & TAB_W) || checkfield(L, "__newindex", ++n))
            && (!(what & TAB_L) || checkfield(L, "__len", ++n)))
            lua_pop(L, n); /* pop metatable and tested metamethods */
        else
            luaL_checktype(L, arg, LUA_TTABLE); /* force an error */
    }
}

static lua_Integer aux_getn(lua_State *L, int n, int w)
{
    checktab(L, n, w | TAB_L);
    return luaL_len(L, n);
}

static int tinsert(lua_State *L)
{
    lua_Integer pos; /* where to insert new element */
    lua_Integer e = aux_getn(L, 1, TAB_RW);
    e = (lua_Integer)((lua_Unsigned)e + 1u); /* first empty element */
    switch (lua_gettop(L)) {
    case 2: /* called with only 2 arguments */
        pos = e; /* insert new element at the end */
        break;
    case 3:
        pos = luaL_checkinteger(L, 2); /* 2nd argument is the position */
        /* check whether 'pos' is in [1, e] */
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
        for (lua_Integer i = e; i > pos; i--) { /* move up elements */
            charge(L, ELEMENT_STEPS, "table.insert");
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i); /* t[i] = t[i - 1] */
        }
        break;
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos); /* t[pos] = v */
    return 0;
}

static int tremove(lua_State *L)
{
    lua_Integer size = aux_getn(L, 1, TAB_RW);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size) /* validate 'pos' if given */
        /* check whether 'pos' is in [1, size + 1] */
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 1,
                      "position out of bounds");
    lua_geti(L, 1, pos); /* result = t[pos] */
    for (; pos < size; pos++) {
        charge(L, ELEMENT_STEPS, "table.remove");
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos); /* t[pos] = t[pos + 1] */
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos); /* remove entry t[pos] */
    return 1;
}

/* Copies 1[f..e] into tt[t...], in increasing order when it may. */
static int tmove(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4);
    int tt = !lua_isnoneornil(L, 5) ? 5 : 1; /* destination table */
    checktab(L, 1, TAB_R);
    checktab(L, tt, TAB_W);
    if (e >= f) { /* otherwise, nothing to move */
        lua_Integer n, i;
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
        n = e - f + 1; /* number of elements to move */
        luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
        if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
            for (i = 0; i < n; i++) {
                charge(L, ELEMENT_STEPS, "table.move");
                lua_geti(L, 1, f + i);
                lua_seti(L, tt, t + i);
            }
        } else {
            for (i = n - 1; i >= 0; i--) {
                charge(L, ELEMENT_STEPS, "table.move");
                lua_geti(L, 1, f + i);
                lua_seti(L, tt, t + i);
            }
        }
    }
    lua_pushvalue(L, tt); /* return destination table */
    return 1;
}

static void addfield(lua_State *L, luaL_Buffer *b, lua_Integer i)
{
    charge(L, ELEMENT_STEPS, "table.concat");
    lua_geti(L, 1, i);
    if (!lua_isstring(L, -1))
        luaL_error(L, "invalid value (%s) at index %I in table for 'concat'",
                   luaL_typename(L, -1), (LUAI_UACINT)i);
    luaL_addvalue(b);
}

static int tconcat(lua_State *L)
{
    luaL_Buffer b;
    lua_Integer last = aux_getn(L, 1, TAB_R);
    size_t lsep;
    const char *sep = luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    last = luaL_optinteger(L, 4, last);
    luaL_buffinit(L, &b);
    for (; i < last; i++) {
        addfield(L, &b, i);
        luaL_addlstring(&b, sep, lsep);
    }
    if (i == last) /* add last value (if interval was not empty) */
        addfield(L, &b, i);
    luaL_pushresult(&b);
    return 1;
}
/* }=== */

/* {=== table.sort (ltablib.c 5.4.4: Sedgewick's quicksort) */
typedef unsigned int IdxT;

#define RANLIMIT 100u /* arrays larger than this may use randomized pivots */

static unsigned int l_randomizePivot(void)
{
    clock_t c = clock();
    time_t t = time(NULL);
    unsigned int buff[(sizeof c + sizeof t) / sizeof(unsigned int)];
    unsigned int rnd = 0;
    memcpy(buff, &c, sizeof c);
    memcpy((char *)buff + sizeof c, &t, sizeof t);
    for (size_t i = 0; i < sizeof buff / sizeof buff[0]; i++)
        rnd += buff[i];
    return rnd;
}

static void set2(lua_State *L, IdxT i, IdxT j)
{
    lua_seti(L, 1, i);
    lua_seti(L, 1, j);
}

/* a < b at those stack indices, in the sort's order. One charge each:
 * the reads and writes around a compare are a few more. */
static int sort_comp(lua_State *L, int a, int b)
{
    charge(L, ELEMENT_STEPS, "table.sort");
    if (lua_isnil(L, 2)) /* no function? */
        return lua_compare(L, a, b, LUA_OPLT);
    lua_pushvalue(L, 2);       /* push function */
    lua_pushvalue(L, a - 1);   /* -1 to compensate function */
    lua_pushvalue(L, b - 2);   /* -2 to compensate function and 'a' */
    lua_call(L, 2, 1);         /* call function */
    int res = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return res;
}

/* Pivot P at the top; a[lo] <= P == a[up-1] <= a[up]. Returns i with
 * a[lo .. i - 1] <= a[i] == P <= a[i + 1 .. up]. */
static IdxT partition(lua_State *L, IdxT lo, IdxT up)
{
    IdxT i = lo;     /* will be incremented before first use */
    IdxT j = up - 1; /* will be decremented before first use */
    for (;;) {
        while ((void)lua_geti(L, 1, ++i), sort_comp(L, -1, -2)) {
            if (i == up - 1) /* a[i] < P  but a[up - 1] == P  ?? */
                luaL_error(L, "invalid order function for sorting");
            lua_pop(L, 1);
        }
        while ((void)lua_geti(L, 1, --j), sort_comp(L, -3, -1)) {
            if (j < i) /* j < i  but  a[j] > P ?? */
                luaL_error(L, "invalid order function for sorting");
            lua_pop(L, 1);
        }
        if (j < i) { /* no elements out of place? */
            lua_pop(L, 1);
            set2(L, up - 1, i); /* swap pivot (a[up - 1]) with a[i] */
            return i;
        }
        set2(L, i, j);
    }
}

static IdxT choosePivot(IdxT lo, IdxT up, unsigned int rnd)
{
    IdxT r4 = (up - lo) / 4; /* range/4 */
    return rnd % (r4 * 2) + (lo + r4);
}

/* Sorts lo and up, and the pivot between them, into place; false when
 * that sorted all (two or three elements). *p is the pivot's index. */
static bool sort_ends(lua_State *L, IdxT lo, IdxT up, unsigned int rnd, IdxT *p)
{
    lua_geti(L, 1, lo);
    lua_geti(L, 1, up);
    if (sort_comp(L, -1, -2)) /* a[up] < a[lo]? */
        set2(L, lo, up);
    else
        lua_pop(L, 2);
    if (up - lo == 1) /* only 2 elements? */
        return false;
    if (up - lo < RANLIMIT || rnd == 0)
        *p = (lo + up) / 2;
    else
        *p = choosePivot(lo, up, rnd);
    lua_geti(L, 1, *p);
    lua_geti(L, 1, lo);
    if (sort_comp(L, -2, -1)) { /* a[p] < a[lo]? */
        set2(L, *p, lo);
    } else {
        lua_pop(L, 1);
        lua_geti(L, 1, up);
        if (sort_comp(L, -1, -2)) /* a[up] < a[p]? */
            set2(L, *p, up);
        else
            lua_pop(L, 2);
    }
    return up - lo != 2; /* only 3 elements? */
}

static void auxsort(lua_State *L, IdxT lo, IdxT up, unsigned int rnd)
{
    while (lo < up) { /* loop for tail recursion */
        IdxT p, n;
        if (!sort_ends(L, lo, up, rnd, &p))
            return;
        lua_geti(L, 1, p);       /* get middle element (Pivot) */
        lua_pushvalue(L, -1);    /* push Pivot */
        lua_geti(L, 1, up - 1);  /* push a[up - 1] */
        set2(L, p, up - 1);      /* swap Pivot (a[p]) with a[up - 1] */
        p = partition(L, lo, up);
        if (p - lo < up - p) { /* lower interval is smaller? */
            auxsort(L, lo, p - 1, rnd);
            n = p - lo;
            lo = p + 1;
        } else {
            auxsort(L, p + 1, up, rnd);
            n = up - p;
            up = p - 1;
        }
        if ((up - lo) / 128 > n) /* partition too imbalanced? */
            rnd = l_randomizePivot();
    }
}

static int sort(lua_State *L)
{
    lua_Integer n = aux_getn(L, 1, TAB_RW);
    if (n > 1) { /* non-trivial interval? */
        luaL_argcheck(L, n < INT_MAX, 1, "array too big");
        if (!lua_isnoneornil(L, 2))
            luaL_checktype(L, 2, LUA_TFUNCTION);
        lua_settop(L, 2); /* make sure there are two arguments */
        auxsort(L, 1, (IdxT)n, 0);
    }
    return 0;
}
/* }=== */

void sl_lua_bounded_open(lua_State *L, struct sl_lua_cost *cost)
{
    static const luaL_Reg str[] = {{"rep", str_rep}, {NULL, NULL}};
    static const luaL_Reg tab[] = {{"concat", tconcat}, {"insert", tinsert},
                                   {"remove", tremove}, {"move", tmove},
                                   {"sort", sort},      {NULL, NULL}};
    lua_getglobal(L, "string");
    lua_pushlightuserdata(L, cost);
    luaL_setfuncs(L, str, 1);
    sl_lua_pattern_open(L, cost);
    lua_getglobal(L, "table");
    lua_pushlightuserdata(L, cost);
    luaL_setfuncs(L, tab, 1);
    lua_pop(L, 2);
}
