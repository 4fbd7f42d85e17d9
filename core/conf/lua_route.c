/* SPDX-License-Identifier: MIT */
/*
 * lua_route.c: reading a route { ... } declaration of sluice.lua (the
 * keys of ROUTES in sluice.lua(5)) into struct sl_route_conf: facility and
 * severity specs, lists, regular expressions compiled once here, the
 * fields a native message must carry, the where and transform functions'
 * lines, and the names in `to`, which the loader resolves once every
 * output is known.
 *
 * Ownership: see lua_decl.h. What the reader copies is stored in the
 * route, or in its targets, before the next call into Lua.
 */
#include "config.h"

#include "conf/lua_decl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/msg.h"

/* {=== route { ... } */
enum {
    R_FACILITY, R_SEVERITY, R_APP_NAME, R_HOSTNAME, R_MSG_CONTAINS, R_MSG_PREFIX, R_MSG_SUFFIX,
    R_MSG_MATCH, R_APP_NAME_MATCH, R_HOSTNAME_MATCH, R_INPUT, R_TO, R_FINAL, R_WHERE,
    R_TRANSFORM, R_DROP, R_ON_ERROR, R_FIELDS
};
#define FIELDS_WANTS "a table of field keys and what each must be (a string, a list of them, " \
                     "true or false)"
static const char *const route_keys[] = {
    "facility", "severity", "app_name", "hostname", "msg_contains", "msg_prefix", "msg_suffix",
    "msg_match", "app_name_match", "hostname_match", "input", "to", "final", "where",
    "transform", "drop", "on_error", "fields", NULL};
/* What each key wants, for a function given where a value belongs. */
static const char *const route_wants[] = {
    "a facility name, a list of them or { except = ... }",
    "a severity name, a comparison like \"<=warning\", a list of them or { except = ... }",
    "a string or a list of them", "a string or a list of them", "a string", "a string",
    "a string", "a string", "a string", "a string", "a string or a list of them",
    "an output, an output name or a list of them", "a boolean", NULL, NULL, "a boolean",
    "\"pass\" or \"skip\"", FIELDS_WANTS};
static const char *const on_error_values[] = {"skip", "pass", NULL};

struct route_ctx {
    struct sl_route_conf *r;
    struct sl_decl_targets *x;
};

/* "auth,authpriv" is rsyslog's way to write a list; a name never has a
 * comma, so the error says how to write it here. */
static void list_hint(const struct sl_decl *d, const char *key, const char *s)
{
    char list[160];
    size_t n = 0;
    for (const char *p = s; n + 8 < sizeof list;) {
        size_t len = strcspn(p, ",");
        n += (size_t)snprintf(list + n, sizeof list - n, "%s\"%.*s\"", n ? ", " : "",
                              (int)(len < 32 ? len : 32), p);
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    if (n >= sizeof list)
        n = sizeof list - 1;
    list[n] = '\0';
    sl_decl_error(d, "unknown %s '%s' (a list is written %s = { %s })", key, s, key, list);
}

static bool facility_item(const struct sl_decl *d, const char *key, int idx, void *obj)
{
    const char *names[25], *s;
    char hint[96];
    if (lua_type(d->L, idx) != LUA_TSTRING)
        return false;
    s = lua_tostring(d->L, idx);
    int f = sl_facility_from_name(s, strlen(s));
    if (f >= 0) {
        *(uint32_t *)obj |= 1u << f;
        return true;
    }
    if (strchr(s, ',') != NULL) {
        list_hint(d, "facility", s);
        return true;
    }
    for (unsigned i = 0; i < 25; i++)
        names[i] = sl_facility_name(i);
    sl_decl_error(d, "unknown facility '%s'%s", s,
                  sl_decl_did_you_mean(hint, sizeof hint, "", s, names));
    return true;
}

/* A severity name, or a comparison "<=warning", "<warning", ">=info",
 * ">info", "==err" of the numeric severity (0 emerg .. 7 debug). */
static bool severity_item(const struct sl_decl *d, const char *key, int idx, void *obj)
{
    static const char *const ops[] = {"<=", ">=", "==", "<", ">", NULL};
    const char *names[9], *s, *name;
    char hint[96];
    if (lua_type(d->L, idx) != LUA_TSTRING)
        return false;
    name = s = lua_tostring(d->L, idx);
    int op = -1;
    for (int i = 0; op < 0 && ops[i] != NULL; i++) {
        if (strncmp(name, ops[i], strlen(ops[i])) == 0)
            op = i, name += strlen(ops[i]);
    }
    if (op < 0 && name[0] != '\0' && strchr("<>=!~", name[0]) != NULL) {
        sl_decl_error(d, "bad severity comparison '%s' (<=, <, >=, > or == and a name, like "
                         "\"<=warning\")", s);
        return true;
    }
    name += strspn(name, " ");
    int v = sl_severity_from_name(name, strlen(name));
    if (v < 0 && op < 0 && strchr(s, ',') != NULL) {
        list_hint(d, "severity", s);
        return true;
    }
    if (v < 0) {
        for (unsigned i = 0; i < 9; i++)
            names[i] = sl_severity_name(i);
        sl_decl_error(d, "unknown severity '%s' (a name like \"err\" or a comparison like "
                         "\"<=warning\")%s", s,
                      sl_decl_did_you_mean(hint, sizeof hint, op >= 0 ? ops[op] : "", name, names));
        return true;
    }
    uint8_t mask = 0;
    for (int i = 0; i < 8; i++) {
        bool in = op == 0 ? i <= v : op == 1 ? i >= v : op == 3 ? i < v : op == 4 ? i > v : i == v;
        mask |= (uint8_t)(in << i);
    }
    if (mask == 0)
        sl_decl_error(d, "severity '%s' matches no severity", s);
    *(uint8_t *)obj |= mask;
    return true;
}

static bool to_item(const struct sl_decl *d, const char *key, int idx, void *obj)
{
    struct sl_decl_targets *x = obj;
    const size_t *h = luaL_testudata(d->L, idx, SL_DECL_HANDLE_MT);
    if (h != NULL) {
        const char *name = d->ctx->c->outputs[*h].name;
        if (name != NULL)
            sl_decl_strlist_add(d->ctx, &x->names, name);
        else
            x->broken = true; /* its output's bad name is already reported */
        return true;
    }
    return sl_decl_string_item(d, key, idx, &x->names);
}

/* Compiles a regular expression once, here, so a bad one is a config error
 * with its line and the router never meets one. Messages are bytes, not
 * UTF-8 (an invalid sequence must not make a pattern fail), so a pattern may
 * not turn UTF mode on with (*UTF) either. The JIT is used where it works;
 * where it does not (no JIT in this build of PCRE2, or no executable
 * memory), pcre2_match() interprets the same code. */
static void want_regex(const struct sl_decl *d, const char *key, int idx, struct sl_regex *re)
{
    if (!sl_decl_want_string(d, key, idx, &re->pattern))
        return;
    int err;
    PCRE2_SIZE offset;
    pcre2_code_free(re->code);
    re->code = pcre2_compile((PCRE2_SPTR)re->pattern, PCRE2_ZERO_TERMINATED, PCRE2_NEVER_UTF,
                             &err, &offset, NULL);
    if (re->code == NULL) {
        PCRE2_UCHAR text[256];
        if (pcre2_get_error_message(err, text, sizeof text) < 0)
            snprintf((char *)text, sizeof text, "error %d", err);
        sl_decl_error(d, "key '%s': bad regular expression at offset %zu: %s", key,
                      (size_t)offset, (const char *)text);
        return;
    }
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
}

/* where = function(m) ... end: the function stays in Lua (filter.h); the
 * config keeps the line it is defined at. */
static void want_function(const struct sl_decl *d, const char *key, int v, bool *has, int *line)
{
    lua_State *L = d->L;
    if (lua_type(L, v) != LUA_TFUNCTION) {
        sl_decl_error(d, "key '%s' wants a function (%s = function(m) ... end), got %s", key,
                      key, sl_decl_type_name(L, v));
        return;
    }
    lua_Debug ar;
    lua_pushvalue(L, v);
    lua_getinfo(L, ">S", &ar);
    *has = true;
    *line = ar.linedefined > 0 ? ar.linedefined : d->line; /* a C function: the route's */
}

static void want_on_error(const struct sl_decl *d, const char *key, int v, enum sl_on_error *out)
{
    char *s = NULL, hint[96];
    if (!sl_decl_want_string(d, key, v, &s))
        return;
    int i = sl_decl_name_index(on_error_values, s);
    if (i >= 0)
        *out = i == 0 ? SL_ON_ERROR_SKIP : SL_ON_ERROR_PASS;
    else if (sl_decl_did_you_mean(hint, sizeof hint, "", s, on_error_values)[0] != '\0')
        sl_decl_error(d, "key '%s': unknown value '%s'%s", key, s, hint);
    else
        sl_decl_error(d, "key '%s': unknown value '%s' (pass or skip)", key, s);
    free(s);
}

/* {=== fields = { KEY = "value" | {"a", "b"} | true | false } */
static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One KEY = value of fields into *fm, whose key is set. */
static void field_want(const struct sl_decl *d, const char *full, int v,
                       struct sl_field_match *fm)
{
    lua_State *L = d->L;
    if (lua_type(L, v) == LUA_TBOOLEAN) {
        fm->want = lua_toboolean(L, v) ? SL_FIELD_PRESENT : SL_FIELD_ABSENT;
        return;
    }
    fm->want = SL_FIELD_ONE_OF;
    sl_decl_each_item(d, full, v, "a string, a list of strings, true (present) or false (absent)",
                      sl_decl_string_item, &fm->values);
}

/* The keys of the table at t, sorted (so errors come out in one order
 * whatever Lua's hash order), in a userdata left on the stack; NULL with
 * an error for a key that is not a field key. */
static const char **field_keys(const struct sl_decl *d, int t, const char *key, size_t *n)
{
    lua_State *L = d->L;
    size_t count = 0, i = 0;
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1))
        count++;
    const char **keys = lua_newuserdatauv(L, (count + 1) * sizeof *keys, 0);
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
        size_t len;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &len) : NULL;
        if (k == NULL || !sl_msg_field_key_ok(k, len)) {
            lua_pushvalue(L, -2); /* converting the key itself would confuse lua_next */
            sl_decl_error(d, "key '%s': '%s' is not a field key (1 to %d letters, digits, '_', "
                             "'-' or '.')", key, k ? k : sl_decl_type_name(L, -1),
                          SL_MSG_MAX_FIELD_KEY);
            lua_pop(L, 4); /* the copy, the value, the key, the keys */
            return NULL;
        }
        keys[i++] = k; /* anchored by the table */
    }
    qsort(keys, i, sizeof *keys, cmp_key);
    *n = i;
    return keys;
}

static void want_fields(const struct sl_decl *d, const char *key, int v, struct sl_route_conf *r)
{
    lua_State *L = d->L;
    if (lua_type(L, v) != LUA_TTABLE) {
        sl_decl_wrong_type(d, key, FIELDS_WANTS, v);
        return;
    }
    size_t n = 0;
    const char **keys = field_keys(d, v, key, &n);
    if (keys == NULL)
        return;
    if (n == 0)
        sl_decl_error(d, "key '%s' wants at least one field, as in fields = { UNIT = "
                         "\"ssh.service\" }", key);
    r->fields = n == 0 ? NULL : calloc(n, sizeof *r->fields);
    if (n > 0 && r->fields == NULL)
        d->ctx->oom = true;
    for (size_t i = 0; r->fields != NULL && i < n; i++) {
        char full[128];
        snprintf(full, sizeof full, "%s.%s", key, keys[i]);
        struct sl_field_match *fm = &r->fields[r->nfields++];
        fm->key = sl_decl_strdup(d->ctx, keys[i]);
        fm->key_len = fm->key != NULL ? strlen(fm->key) : 0;
        lua_pushstring(L, keys[i]);
        lua_rawget(L, v);
        field_want(d, full, lua_gettop(L), fm);
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* the keys */
}
/* }=== */

/* A facility or severity spec into *mask: a name, a list, or { except =
 * ... } with one of those, whose complement the caller takes (returns
 * true). `except`, not `not`: Lua reserves `not`, which would need
 * brackets ({ ["not"] = ... }) in every config.
 * rsyslog's "*.*;auth,authpriv.none" is { except = { "auth", "authpriv" } }. */
static bool want_mask(const struct sl_decl *d, const char *key, int v, const char *wants,
                      sl_decl_item_fn *item, void *mask)
{
    lua_State *L = d->L;
    v = lua_absindex(L, v);
    if (lua_type(L, v) == LUA_TTABLE)
        lua_pushliteral(L, "except");
    if (lua_type(L, v) != LUA_TTABLE || lua_rawget(L, v) == LUA_TNIL) {
        if (lua_type(L, v) == LUA_TTABLE)
            lua_pop(L, 1);
        sl_decl_each_item(d, key, v, wants, item, mask);
        return false;
    }
    char full[64];
    snprintf(full, sizeof full, "%s.except", key);
    int keys = 0;
    for (lua_pushnil(L); lua_next(L, v); lua_pop(L, 1))
        keys++;
    if (keys != 1)
        sl_decl_error(d, "key '%s': a table with 'except' takes nothing else, as in %s = "
                         "{ except = { ... } }", key, key);
    else
        sl_decl_each_item(d, full, lua_gettop(L), wants, item, mask);
    lua_pop(L, 1);
    return keys == 1;
}

static void set_route(const struct sl_decl *d, int k, const char *key, int v, void *obj)
{
    struct route_ctx *x = obj;
    struct sl_route_conf *r = x->r;
    if (lua_type(d->L, v) == LUA_TFUNCTION && route_wants[k] != NULL) {
        sl_decl_error(d, "key '%s' wants %s, got a function (only 'where' and 'transform' take "
                         "functions)", key, route_wants[k]);
        return;
    }
    switch (k) {
    case R_FACILITY: {
        uint32_t m = 0;
        bool neg = want_mask(d, key, v, route_wants[k], facility_item, &m);
        r->facility_mask = neg ? ~m & SL_FACILITY_ANY : m;
        if (neg && r->facility_mask == 0)
            sl_decl_error(d, "key '%s': { except = ... } leaves no facility", key);
        break;
    }
    case R_SEVERITY: {
        uint8_t m = 0;
        bool neg = want_mask(d, key, v, route_wants[k], severity_item, &m);
        r->severity_mask = neg ? (uint8_t)~m : m;
        if (neg && r->severity_mask == 0)
            sl_decl_error(d, "key '%s': { except = ... } leaves no severity", key);
        break;
    }
    case R_APP_NAME: sl_decl_want_strlist(d, key, v, &r->app_names); break;
    case R_HOSTNAME: sl_decl_want_strlist(d, key, v, &r->hostnames); break;
    case R_INPUT: sl_decl_want_strlist(d, key, v, &r->inputs); break;
    case R_MSG_CONTAINS: sl_decl_want_string(d, key, v, &r->msg_contains); break;
    case R_MSG_PREFIX: sl_decl_want_string(d, key, v, &r->msg_prefix); break;
    case R_MSG_SUFFIX: sl_decl_want_string(d, key, v, &r->msg_suffix); break;
    case R_MSG_MATCH: want_regex(d, key, v, &r->msg_match); break;
    case R_APP_NAME_MATCH: want_regex(d, key, v, &r->app_name_match); break;
    case R_HOSTNAME_MATCH: want_regex(d, key, v, &r->hostname_match); break;
    case R_FINAL: sl_decl_want_bool(d, key, v, &r->final); break;
    case R_TO:
        sl_decl_each_item(d, key, v, "an output, an output name or a list of them", to_item, x->x);
        break;
    case R_WHERE: want_function(d, key, v, &r->has_where, &r->where_line); break;
    case R_TRANSFORM: want_function(d, key, v, &r->has_transform, &r->transform_line); break;
    case R_DROP: sl_decl_want_bool(d, key, v, &r->drop); break;
    case R_ON_ERROR: want_on_error(d, key, v, &r->on_error); break;
    case R_FIELDS: want_fields(d, key, v, r); break;
    }
}

void sl_decl_route(const struct sl_decl *d, int t, struct sl_route_conf *r,
                   struct sl_decl_targets *x)
{
    struct route_ctx rx = {r, x};
    unsigned seen = sl_decl_each_key(d, t, NULL, route_keys, set_route, &rx);
    if (r->drop) {
        if (seen & 1u << R_TO)
            sl_decl_error(d, "a route with drop = true takes no 'to'");
        if (seen & 1u << R_TRANSFORM)
            sl_decl_error(d, "a route with drop = true takes no 'transform'");
    } else if (!(seen & 1u << R_TO)) {
        sl_decl_error(d, "key 'to' is missing or nil (an output, an output name or a list of "
                         "them)");
    }
    if ((seen & 1u << R_ON_ERROR) && !(seen & (1u << R_WHERE | 1u << R_TRANSFORM)))
        sl_decl_error(d, "key 'on_error' applies only to a route with 'where' or 'transform'");
}
/* }=== */
