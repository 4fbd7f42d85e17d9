/* SPDX-License-Identifier: MIT */
/*
 * lua_msg.h: the message as route functions see it, `m` (filter.h).
 *
 * A proxy: a light userdata (a per-call token, not a pointer) whose
 * metatable is the state's one metatable for light userdata. m.FIELD,
 * m.sd, m.fields and m:get(name) read the parsed message only when asked;
 * in a transform, m.FIELD = v collects the writes in a struct sl_msg_edit
 * that the caller turns into a rewrite (rewrite.h).
 *
 * The proxy's state, struct sl_lua_msg, is embedded in the state's owner
 * (struct sl_filter) and is the lua_State's allocator userdata, which is
 * how the metamethods find it (sl_lua_msg_of). The owner brackets every
 * call with sl_lua_msg_begin() and sl_lua_msg_end(), inline because they
 * run once per message.
 *
 * Thread: the thread that owns the lua_State.
 */
#ifndef SL_LUA_MSG_H
#define SL_LUA_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "conf/lua_config.h"
#include "common/fields.h"
#include "common/msg.h"
#include "route/rewrite.h"

/* The names m knows: every message field and the ones only Lua has. */
#define SL_LUA_MSG_NFIELDS (SL_FIELD_END - 1 + SL_FIELD_LUA_COUNT)

enum sl_lua_msg_mode { SL_LUA_MSG_NONE, SL_LUA_MSG_WHERE, SL_LUA_MSG_TRANSFORM };

struct sl_lua_msg {
    const struct sl_config *c; /* borrowed: names a transform error's position */

    /* The call in progress. */
    uintptr_t token;        /* m's value; a new one per call */
    const struct sl_msg *m; /* borrowed for the call; NULL between calls */
    enum sl_lua_msg_mode mode;
    size_t route;
    bool sd_built, fields_built;
    unsigned anchored;      /* bits (1 << field) of anchored strings */
    struct sl_msg_edit e;   /* a transform's writes; e.set == 0: none */
    struct sl_field fieldv[SL_REWRITE_MAX_FIELDS];

    int ref_sd, ref_fields, ref_anchors, ref_ro; /* registry slots */
    const char *interned[SL_LUA_MSG_NFIELDS]; /* the field names as Lua strings, anchored */
};

/* The proxy state of L: its allocator's userdata. */
static inline struct sl_lua_msg *sl_lua_msg_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* Sets up m in L for px (its metatable, registry slots and interned
 * names), px being L's allocator userdata with c set. Raises a Lua error
 * when out of memory: call it under lua_pcall. */
void sl_lua_msg_open(lua_State *L, struct sl_lua_msg *px);

/* A call on m begins: m (borrowed until sl_lua_msg_end) in mode for route.
 * Returns the token to push as the function's argument. */
static inline void *sl_lua_msg_begin(struct sl_lua_msg *px, const struct sl_msg *m,
                                     enum sl_lua_msg_mode mode, size_t route)
{
    px->token++;
    px->m = m;
    px->mode = mode;
    px->route = route;
    px->e.set = 0;
    return (void *)px->token;
}

/* For sl_lua_msg_end: releases the per-call tables and anchored strings. */
void sl_lua_msg_drop(lua_State *L, struct sl_lua_msg *px);

/* The call is over: m is no longer readable (a proxy kept from it raises
 * "message used after its function returned"). The stack must be as it was
 * before the call. */
static inline void sl_lua_msg_end(lua_State *L, struct sl_lua_msg *px)
{
    px->m = NULL;
    px->mode = SL_LUA_MSG_NONE;
    if (px->sd_built || px->fields_built || px->anchored != 0)
        sl_lua_msg_drop(L, px);
}

/* A lua_CFunction for lua_pcall: calls the transform at 1 with m at 2 and
 * then checks its writes, leaving in px->e only the edits that change the
 * message (e.set == 0 when none does). A bad write raises an error at the
 * transform's position. */
int sl_lua_msg_transform(lua_State *L);

#endif /* SL_LUA_MSG_H */
