/* SPDX-License-Identifier: MIT */
/*
 * lua_msg.c: `m`, the message as route functions see it (lua_msg.h).
 *
 * DESIGN: a where function that reads plain fields costs no allocation on
 * our side:
 *
 *  - __index finds the field by length and first bytes and pushes only what
 *    is read. A token from an earlier call no longer matches: a proxy kept
 *    past its call fails cleanly instead of reading a freed message.
 *  - m.sd and m.fields are tables built on first use in a call and cached
 *    in registry slots until the call ends (sl_lua_msg_drop).
 *  - A transform's writes are collected in a struct sl_msg_edit whose texts
 *    point into Lua strings anchored in a registry table until the rewrite
 *    (rewrite.h) has copied them; m.fields is compared with the message's
 *    fields when the function returns. Nothing changed: the message itself.
 *
 * Thread: the thread that owns the lua_State, as every function here runs
 * inside a call on it.
 */
#include "config.h"

#include "route/lua_msg.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "common/fields.h"
#include "parse/parse.h"
#include "common/util.h"

/* {=== the fields of m */
/* m's names: every message field (fields.h, in its order), then the ones
 * only m has. The order is the "did you mean" order among equally close
 * names. */
enum field {
#define F_ID(id, ...) F_##id,
    SL_FIELD_MAP(F_ID) SL_FIELD_LUA_MAP(F_ID)
#undef F_ID
    F_COUNT
};
static_assert(F_COUNT == SL_LUA_MSG_NFIELDS, "lua_msg.h sizes interned[] by the fields of m");

static const char *const field_names[F_COUNT + 1] = {
#define F_NAME(id, name, ...) name,
    SL_FIELD_MAP(F_NAME) SL_FIELD_LUA_MAP(F_NAME)
#undef F_NAME
    NULL};

#define SETTABLE "msg, app_name, hostname, msgid, severity, facility, fields"

/* The field named k[0..len), or -1: a guess from the length and first
 * bytes, then one compare to confirm it. interned[] holds the state's own
 * copies of the names: Lua keeps one copy of each short string, so a key
 * written in the code (m.severity) is that very pointer, and a pointer
 * compare settles it; anything else (a name built at run time is interned
 * too, but be safe) falls back to memcmp. */
static int field_of(const char *const *interned, const char *k, size_t len)
{
    int f = -1;
    switch (len) {
    case 2: f = F_SD; break;
    case 3:
        switch (k[0]) {
        case 'm': f = F_MSG; break;
        case 'r': f = F_RAW; break;
        case 'p': f = k[1] == 'r' ? F_PRI : F_PID; break;
        case 'u': f = F_UID; break;
        case 'g': f = k[1] == 'i' ? F_GID : F_GET; break;
        }
        break;
    case 4: f = k[0] == 'p' ? F_PEER : F_TIME; break;
    case 5: f = k[0] == 'm' ? F_MSGID : F_INPUT; break;
    case 6: f = k[0] == 'p' ? F_PROCID : F_FIELDS; break;
    case 7: f = F_VERSION; break;
    case 8:
        switch (k[0]) {
        case 'h': f = F_HOSTNAME; break;
        case 'a': f = F_APP_NAME; break;
        case 's': f = F_SEVERITY; break;
        case 'f': f = F_FACILITY; break;
        case 'r': f = F_RECEIVED; break;
        }
        break;
    case 9: f = F_TIMESTAMP; break;
    case 13: f = k[0] == 's' ? F_SEVERITY_NAME : F_FACILITY_NAME; break;
    }
    if (f < 0)
        return -1;
    return k == interned[f] || memcmp(k, field_names[f], len) == 0 ? f : -1;
}
/* }=== */

/* {=== reading m */
static void check_live(lua_State *L, const struct sl_lua_msg *px)
{
    if (px->m == NULL || lua_touserdata(L, 1) != (void *)px->token)
        luaL_error(L, "message used after its function returned");
}

static void push_text(lua_State *L, struct sl_str s)
{
    if (s.p != NULL)
        lua_pushlstring(L, s.p, s.len);
    else
        lua_pushnil(L);
}

static double seconds(const struct sl_time *t)
{
    return (double)t->sec + (double)t->nsec / 1e9;
}

static unsigned severity_of(const struct sl_lua_msg *px)
{
    return px->e.set & SL_EDIT_SEVERITY ? px->e.severity : px->m->severity;
}

static unsigned facility_of(const struct sl_lua_msg *px)
{
    return px->e.set & SL_EDIT_FACILITY ? px->e.facility : px->m->facility;
}

/* Sets PARAM name to value in the element table at el: a string the first
 * time, and from the second time a sequence of every value in order, as
 * json writes a repeated PARAM-NAME (RFC 5424 7.2.5 allows one). */
static void add_param(lua_State *L, int el, struct sl_str name, struct sl_str value)
{
    lua_pushlstring(L, name.p, name.len);
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, value.len);
    luaL_pushresultsize(&b, sl_sd_unescape(value, out));
    lua_pushvalue(L, -2);
    int t = lua_rawget(L, el); /* name value old */
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        lua_rawset(L, el);
        return;
    }
    if (t == LUA_TSTRING) { /* the second value: { old, value } */
        lua_createtable(L, 2, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 2);
        lua_rawset(L, el);
        return;
    }
    lua_insert(L, -2); /* name seq value */
    lua_Integer n = (lua_Integer)lua_rawlen(L, -2);
    lua_rawseti(L, -2, n + 1);
    lua_pop(L, 2);
}

/* m.sd: SD-ID -> { PARAM = value }, built on first use in a call. */
static void push_sd(lua_State *L, struct sl_lua_msg *px)
{
    if (px->sd_built) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, px->ref_sd);
        return;
    }
    const struct sl_msg *m = px->m;
    lua_newtable(L);
    if (m->sd.p != NULL && m->format == SL_FMT_RFC5424) {
        struct sl_sd_iter it;
        struct sl_str id, name, value;
        sl_sd_iter_init(&it, m->sd);
        while (sl_sd_next_element(&it, &id)) {
            lua_pushlstring(L, id.p, id.len);
            if (lua_rawget(L, -2) != LUA_TTABLE) { /* a repeated SD-ID adds to the first */
                lua_pop(L, 1);
                lua_newtable(L);
                lua_pushlstring(L, id.p, id.len);
                lua_pushvalue(L, -2);
                lua_rawset(L, -4);
            }
            while (sl_sd_next_param(&it, &name, &value))
                add_param(L, lua_gettop(L), name, value);
            lua_pop(L, 1);
        }
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, LUA_REGISTRYINDEX, px->ref_sd);
    px->sd_built = true;
}

static void push_fields(lua_State *L, struct sl_lua_msg *px)
{
    if (px->fields_built) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, px->ref_fields);
        return;
    }
    const struct sl_msg *m = px->m;
    lua_createtable(L, 0, (int)m->nfields);
    for (uint32_t i = 0; i < m->nfields; i++) {
        push_text(L, m->fields[i].key);
        lua_pushlstring(L, m->fields[i].value.p != NULL ? m->fields[i].value.p : "",
                        m->fields[i].value.len);
        lua_rawset(L, -3);
    }
    if (px->mode == SL_LUA_MSG_WHERE) { /* new keys refused; see ro_newindex */
        lua_rawgeti(L, LUA_REGISTRYINDEX, px->ref_ro);
        lua_setmetatable(L, -2);
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, LUA_REGISTRYINDEX, px->ref_fields);
    px->fields_built = true;
}

static int l_get(lua_State *L);

static void push_field(lua_State *L, struct sl_lua_msg *px, int field)
{
    const struct sl_msg *m = px->m;
    const struct sl_msg_edit *e = &px->e;
    switch (field) {
    case F_MSG: push_text(L, e->set & SL_EDIT_MSG ? e->msg : m->msg); break;
    case F_HOSTNAME: push_text(L, e->set & SL_EDIT_HOSTNAME ? e->hostname : m->hostname); break;
    case F_APP_NAME: push_text(L, e->set & SL_EDIT_APP_NAME ? e->app_name : m->app_name); break;
    case F_MSGID: push_text(L, e->set & SL_EDIT_MSGID ? e->msgid : m->msgid); break;
    case F_PROCID: push_text(L, m->procid); break;
    case F_TIMESTAMP: push_text(L, m->timestamp); break;
    case F_RAW: push_text(L, m->raw); break;
    case F_INPUT: push_text(L, m->input); break;
    case F_PEER: push_text(L, m->peer); break;
    case F_SEVERITY: lua_pushinteger(L, severity_of(px)); break;
    case F_FACILITY: lua_pushinteger(L, facility_of(px)); break;
    case F_PRI: lua_pushinteger(L, facility_of(px) * 8 + severity_of(px)); break;
    case F_VERSION: lua_pushinteger(L, m->version); break;
    case F_SEVERITY_NAME: lua_pushstring(L, sl_severity_name(severity_of(px))); break;
    case F_FACILITY_NAME: lua_pushstring(L, sl_facility_name(facility_of(px))); break;
    case F_RECEIVED: lua_pushnumber(L, seconds(&m->received)); break;
    case F_TIME:
        if (m->ts.flags & SL_TIME_VALID)
            lua_pushnumber(L, seconds(&m->ts));
        else
            lua_pushnil(L);
        break;
    case F_PID:
    case F_UID:
    case F_GID:
        if (!(m->flags & SL_MSG_HAS_CRED))
            lua_pushnil(L);
        else
            lua_pushinteger(L, field == F_PID ? (lua_Integer)m->pid
                               : field == F_UID ? (lua_Integer)m->uid : (lua_Integer)m->gid);
        break;
    case F_SD: push_sd(L, px); break;
    case F_FIELDS: push_fields(L, px); break;
    case F_GET: lua_pushcfunction(L, l_get); break;
    }
}

static int no_field(lua_State *L, const char *k, size_t len)
{
    const char *best = sl_closest(k, len, field_names, F_COUNT);
    if (best != NULL)
        return luaL_error(L, "message has no field '%s' (did you mean '%s'?)", k, best);
    return luaL_error(L, "message has no field '%s'", k);
}

static const char *key_of(lua_State *L, size_t *len)
{
    if (lua_type(L, 2) != LUA_TSTRING)
        luaL_error(L, "message fields are named by strings, not by a %s", luaL_typename(L, 2));
    return lua_tolstring(L, 2, len);
}

/* The hot path: one call per field a function reads. */
static int l_index(lua_State *L)
{
    struct sl_lua_msg *px = sl_lua_msg_of(L);
    check_live(L, px);
    size_t len;
    const char *k = lua_tolstring(L, 2, &len); /* a number key becomes its text: no field */
    if (k == NULL)
        k = key_of(L, &len);
    int field = field_of(px->interned, k, len);
    if (field < 0)
        return no_field(L, k, len);
    push_field(L, px, field);
    return 1;
}

/* Pushes every value of the sequence at the top, in order, over it, and
 * returns how many. */
static int unpack_values(lua_State *L)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    if (n > INT_MAX - LUA_MINSTACK || !lua_checkstack(L, (int)n))
        luaL_error(L, "sd: %I values are too many to return", n);
    int t = lua_gettop(L);
    for (lua_Integer i = 1; i <= n; i++)
        lua_rawgeti(L, t, i);
    return (int)n;
}

/* m:get("sd.ID.PARAM"): an SD-ID and a PARAM-NAME may both hold dots, so
 * every split is tried, the first that names a value wins. A PARAM given
 * more than once gives every value, as results of their own (the first is
 * all a plain `local v = m:get(...)` keeps). Returns the number of results. */
static int get_sd(lua_State *L, struct sl_lua_msg *px, const char *k, size_t len)
{
    push_sd(L, px);
    int sd = lua_gettop(L);
    lua_pushlstring(L, k, len);
    if (lua_rawget(L, sd) != LUA_TNIL) /* "sd.ID" */
        return 1;
    for (size_t i = 1; i + 1 < len; i++) {
        if (k[i] != '.')
            continue;
        lua_settop(L, sd);
        lua_pushlstring(L, k, i);
        if (lua_rawget(L, sd) != LUA_TTABLE)
            continue;
        lua_pushlstring(L, k + i + 1, len - i - 1);
        int t = lua_rawget(L, -2);
        if (t == LUA_TTABLE)
            return unpack_values(L);
        if (t != LUA_TNIL)
            return 1;
    }
    lua_pushnil(L);
    return 1;
}

static void get_extra(lua_State *L, struct sl_lua_msg *px, const char *k, size_t len)
{
    if (px->fields_built) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, px->ref_fields);
        lua_pushlstring(L, k, len);
        lua_rawget(L, -2);
        return;
    }
    const struct sl_field *x = sl_msg_extra(px->m, k, len);
    if (x != NULL)
        lua_pushlstring(L, x->value.p != NULL ? x->value.p : "", x->value.len);
    else
        lua_pushnil(L);
}

/* m:get(name): a field by name, "sd.ID.PARAM" (every value of a repeated
 * PARAM), "fields.KEY" or an extra field's KEY; nil for anything else. */
static int l_get(lua_State *L)
{
    struct sl_lua_msg *px = sl_lua_msg_of(L);
    if (lua_type(L, 1) != LUA_TLIGHTUSERDATA)
        return luaL_error(L, "call it as m:get(name), with a colon");
    check_live(L, px);
    size_t len;
    const char *k = luaL_checklstring(L, 2, &len);
    int field = field_of(px->interned, k, len);
    if (field >= 0)
        push_field(L, px, field);
    else if (len > 3 && memcmp(k, "sd.", 3) == 0)
        return get_sd(L, px, k + 3, len - 3);
    else if (len > 7 && memcmp(k, "fields.", 7) == 0)
        get_extra(L, px, k + 7, len - 7);
    else
        get_extra(L, px, k, len);
    return 1;
}

static int l_tostring(lua_State *L)
{
    lua_pushliteral(L, "sluice.message");
    return 1;
}
/* }=== */

/* {=== writing m (transform only) */
static int read_only(lua_State *L)
{
    return luaL_error(L, "the message is read-only in 'where'; change it in a 'transform'");
}

static int ro_newindex(lua_State *L)
{
    return read_only(L);
}

/* Keeps the string at idx alive until the call ends and returns it. */
static struct sl_str anchor(lua_State *L, struct sl_lua_msg *px, int field, int idx)
{
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    lua_rawgeti(L, LUA_REGISTRYINDEX, px->ref_anchors);
    lua_pushvalue(L, idx);
    lua_rawseti(L, -2, field + 1);
    lua_pop(L, 1);
    px->anchored |= 1u << field;
    return (struct sl_str){s, (uint32_t)len};
}

static void set_text(lua_State *L, struct sl_lua_msg *px, int field, bool nil_ok)
{
    static const unsigned bits[] = {[F_MSG] = SL_EDIT_MSG, [F_HOSTNAME] = SL_EDIT_HOSTNAME,
                                    [F_APP_NAME] = SL_EDIT_APP_NAME, [F_MSGID] = SL_EDIT_MSGID};
    struct sl_str v = SL_STR_NIL;
    if (lua_type(L, 3) == LUA_TSTRING) {
        size_t len;
        lua_tolstring(L, 3, &len);
        if (len > UINT32_MAX)
            luaL_error(L, "field '%s': %I bytes is too long", field_names[field], (lua_Integer)len);
        v = anchor(L, px, field, 3);
    } else if (!nil_ok || !lua_isnil(L, 3)) {
        luaL_error(L, "field '%s' wants a string%s, got %s", field_names[field],
                   nil_ok ? " or nil" : "", luaL_typename(L, 3));
    }
    switch (field) {
    case F_MSG: px->e.msg = v; break;
    case F_HOSTNAME: px->e.hostname = v; break;
    case F_APP_NAME: px->e.app_name = v; break;
    case F_MSGID: px->e.msgid = v; break;
    }
    px->e.set |= bits[field];
}

/* severity = 0..7 or "warning"; facility = 0..23 or "local0". */
static int number_or_name(lua_State *L, const char *field, int max,
                          int (*from_name)(const char *, size_t))
{
    if (lua_type(L, 3) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, 3, &len);
        int v = from_name(s, len);
        if (v < 0)
            luaL_error(L, "field '%s': unknown name '%s'", field, s);
        return v;
    }
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, 3, &isint);
    if (lua_type(L, 3) != LUA_TNUMBER || !isint || v < 0 || v > max)
        luaL_error(L, "field '%s' wants 0..%d or a name like \"%s\", got %s", field, max,
                   max == 7 ? "warning" : "local0",
                   lua_type(L, 3) == LUA_TNUMBER ? lua_tostring(L, 3) : luaL_typename(L, 3));
    return (int)v;
}

static int l_newindex(lua_State *L)
{
    struct sl_lua_msg *px = sl_lua_msg_of(L);
    check_live(L, px);
    if (px->mode != SL_LUA_MSG_TRANSFORM)
        return read_only(L);
    size_t len;
    const char *k = key_of(L, &len);
    int field = field_of(px->interned, k, len);
    switch (field) {
    case F_MSG: set_text(L, px, field, false); break;
    case F_APP_NAME:
    case F_HOSTNAME:
    case F_MSGID: set_text(L, px, field, true); break;
    case F_SEVERITY:
        px->e.severity = (uint8_t)number_or_name(L, "severity", 7, sl_severity_from_name);
        px->e.set |= SL_EDIT_SEVERITY;
        break;
    case F_FACILITY:
        px->e.facility = (uint8_t)number_or_name(L, "facility", 23, sl_facility_from_name);
        px->e.set |= SL_EDIT_FACILITY;
        break;
    case F_FIELDS:
        if (!lua_istable(L, 3))
            return luaL_error(L, "field 'fields' wants a table, got %s", luaL_typename(L, 3));
        lua_pushvalue(L, 3);
        lua_rawseti(L, LUA_REGISTRYINDEX, px->ref_fields);
        px->fields_built = true;
        break;
    default:
        return luaL_error(L, "field '%s' cannot be set (settable: " SETTABLE ")", k);
    }
    return 0;
}
/* }=== */

/* {=== the end of a transform: what changed */
static bool same_text(struct sl_str a, struct sl_str b)
{
    if (a.p == NULL || b.p == NULL)
        return a.p == b.p;
    return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

static int cmp_field_key(const void *a, const void *b)
{
    const struct sl_field *x = a, *y = b;
    uint32_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = memcmp(x->key.p, y->key.p, n);
    return c != 0 ? c : (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

/* Raises a transform's error found after the function returned, at the
 * function's own position (Lua can give none: no Lua code is running). */
static int transform_error(lua_State *L, struct sl_lua_msg *px, const char *fmt, ...)
{
    const struct sl_route_conf *rc = &px->c->routes[px->route];
    va_list ap;
    const char *file = rc->file != NULL ? rc->file : px->c->file;
    lua_pushfstring(L, "%s:%d: ", file != NULL ? file : "config", rc->transform_line);
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    return lua_error(L);
}

/* Replaces the call's fields table (at t) by a copy whose numbers and
 * booleans are their text: the strings the rewrite will point at must live
 * in a table only this call holds, not in one the config may keep
 * (m.fields = T). The copy stays in the registry until the call ends. */
static void fields_as_text(lua_State *L, struct sl_lua_msg *px, int t)
{
    lua_createtable(L, 0, SL_REWRITE_MAX_FIELDS);
    int copy = lua_gettop(L);
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
        lua_pushvalue(L, -2);
        int vt = lua_type(L, -2);
        if (vt == LUA_TNUMBER)
            lua_pushstring(L, lua_tostring(L, -2)); /* converts the value's copy */
        else if (vt == LUA_TBOOLEAN)
            lua_pushstring(L, lua_toboolean(L, -2) ? "true" : "false");
        else
            lua_pushvalue(L, -2);
        lua_rawset(L, copy);
    }
    lua_pushvalue(L, copy);
    lua_rawseti(L, LUA_REGISTRYINDEX, px->ref_fields);
    lua_replace(L, t);
}

/* Reads the call's fields table into px->fieldv: the message's own fields
 * first, in their order, then new keys sorted (Lua's order is by hash).
 * Returns true when the set differs from the message's. */
static bool collect_fields(lua_State *L, struct sl_lua_msg *px)
{
    const struct sl_msg *m = px->m;
    lua_rawgeti(L, LUA_REGISTRYINDEX, px->ref_fields);
    int t = lua_gettop(L);
    size_t count = 0;
    bool convert = false;
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            transform_error(L, px, "fields: a key is a %s; keys are strings", luaL_typename(L, -2));
        int vt = lua_type(L, -1);
        if (vt == LUA_TNUMBER || vt == LUA_TBOOLEAN)
            convert = true;
        else if (vt != LUA_TSTRING)
            transform_error(L, px, "fields: '%s' is a %s (a string, number or boolean)",
                            lua_tostring(L, -2), luaL_typename(L, -1));
        if (++count > SL_REWRITE_MAX_FIELDS)
            transform_error(L, px, "fields: more than %d", SL_REWRITE_MAX_FIELDS);
    }
    if (convert)
        fields_as_text(L, px, t);
    size_t n = 0;
    bool changed = false;
    for (uint32_t i = 0; i < m->nfields; i++) {
        const struct sl_field *x = &m->fields[i];
        lua_pushlstring(L, x->key.p, x->key.len);
        if (lua_rawget(L, t) != LUA_TSTRING) {
            changed = true; /* removed */
            lua_pop(L, 1);
            continue;
        }
        size_t len;
        const char *v = lua_tolstring(L, -1, &len);
        struct sl_str value = {v, (uint32_t)len};
        changed = changed || !same_text(value, x->value.p != NULL ? x->value : (struct sl_str){"", 0});
        px->fieldv[n++] = (struct sl_field){x->key, value};
        lua_pop(L, 1);
    }
    size_t old = n;
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
        size_t klen, vlen;
        const char *k = lua_tolstring(L, -2, &klen);
        if (sl_msg_extra(m, k, klen) != NULL)
            continue;
        const char *v = lua_tolstring(L, -1, &vlen); /* a string now */
        px->fieldv[n++] = (struct sl_field){{k, (uint32_t)klen}, {v, (uint32_t)vlen}};
        changed = true;
    }
    qsort(px->fieldv + old, n - old, sizeof px->fieldv[0], cmp_field_key);
    lua_pop(L, 1);
    px->e.fields = px->fieldv;
    px->e.nfields = n;
    return changed;
}

/* Drops the edits that set a field to what it was. */
static void drop_no_ops(struct sl_lua_msg *px)
{
    const struct sl_msg *m = px->m;
    struct sl_msg_edit *e = &px->e;
    if ((e->set & SL_EDIT_MSG) && same_text(e->msg, m->msg))
        e->set &= ~(unsigned)SL_EDIT_MSG;
    if ((e->set & SL_EDIT_APP_NAME) && same_text(e->app_name, m->app_name))
        e->set &= ~(unsigned)SL_EDIT_APP_NAME;
    if ((e->set & SL_EDIT_HOSTNAME) && same_text(e->hostname, m->hostname))
        e->set &= ~(unsigned)SL_EDIT_HOSTNAME;
    if ((e->set & SL_EDIT_MSGID) && same_text(e->msgid, m->msgid))
        e->set &= ~(unsigned)SL_EDIT_MSGID;
    if ((e->set & SL_EDIT_SEVERITY) && e->severity == m->severity)
        e->set &= ~(unsigned)SL_EDIT_SEVERITY;
    if ((e->set & SL_EDIT_FACILITY) && e->facility == m->facility)
        e->set &= ~(unsigned)SL_EDIT_FACILITY;
}

/* Runs the transform (at 1, m at 2) and checks its edits, under pcall. */
int sl_lua_msg_transform(lua_State *L)
{
    struct sl_lua_msg *px = sl_lua_msg_of(L);
    lua_call(L, 1, 0);
    drop_no_ops(px);
    if (px->fields_built && collect_fields(L, px))
        px->e.set |= SL_EDIT_FIELDS;
    char why[256];
    if (px->e.set != 0 && sl_msg_edit_check(&px->e, why, sizeof why) < 0)
        return transform_error(L, px, "%s", why);
    return 0;
}
/* }=== */

/* {=== per call, and once per state */
void sl_lua_msg_drop(lua_State *L, struct sl_lua_msg *px)
{
    if (px->sd_built) {
        lua_pushnil(L);
        lua_rawseti(L, LUA_REGISTRYINDEX, px->ref_sd);
        px->sd_built = false;
    }
    if (px->fields_built) {
        lua_pushnil(L);
        lua_rawseti(L, LUA_REGISTRYINDEX, px->ref_fields);
        px->fields_built = false;
    }
    if (px->anchored != 0) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, px->ref_anchors);
        for (int i = 0; i < F_COUNT; i++) {
            if (px->anchored & 1u << i) {
                lua_pushnil(L);
                lua_rawseti(L, -2, i + 1);
            }
        }
        lua_pop(L, 1);
        px->anchored = 0;
    }
}

static int new_ref(lua_State *L)
{
    lua_pushboolean(L, 0); /* a placeholder, so the slot exists */
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

void sl_lua_msg_open(lua_State *L, struct sl_lua_msg *px)
{
    lua_pushlightuserdata(L, NULL);
    lua_createtable(L, 0, 5);
    lua_pushcfunction(L, l_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "sluice.message");
    lua_setfield(L, -2, "__name");
    lua_pushliteral(L, "sluice.message");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2); /* the one metatable of every light userdata */
    lua_pop(L, 1);

    px->ref_sd = new_ref(L);
    px->ref_fields = new_ref(L);
    lua_createtable(L, F_COUNT, 0);
    px->ref_anchors = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    px->ref_ro = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_createtable(L, F_COUNT, 0);
    for (int i = 0; i < F_COUNT; i++) {
        px->interned[i] = lua_pushstring(L, field_names[i]);
        lua_rawseti(L, -2, i + 1);
        /* field_of's guesses must know every name in the table. */
        assert(field_of(px->interned, field_names[i], strlen(field_names[i])) == i);
    }
    luaL_ref(L, LUA_REGISTRYINDEX); /* keeps them, so the pointers stay valid */
}
/* }=== */
