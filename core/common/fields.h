/* SPDX-License-Identifier: MIT */
/*
 * fields.h: the message fields, in one table (as libuv's UV_ERRNO_MAP), and
 * what is derived from it: the names templates and route functions know,
 * the "did you mean" lists, and the accessors the plugin host table serves.
 *
 * SL_FIELD_MAP(X) calls X(ID, name, kind, member) once per field plugins
 * see, in the order of enum sluice_field:
 *   ID      the field is SLUICE_FIELD_<ID> in plugins/sluice-plugin.h, whose
 *           explicit, stable enum stays the ABI (out-of-tree plugins include
 *           it alone); the static_asserts below hold the two in step
 *   name    as configs, templates and Lua spell it
 *   kind    what the field holds: TEXT (a struct sl_str), NUMBER (an
 *           integer), CRED (an integer from the kernel, absent without
 *           SL_MSG_HAS_CRED) or TIME (a struct sl_time; no text)
 *   member  the struct sl_msg member it is read from
 * Facility and severity are NUMBERs whose text is their name; timestamp is
 * the TEXT as sent, and its time is m->ts (msg_time() in the plugin host).
 *
 * SL_FIELD_LUA_MAP(X) calls X(ID, name) for the names only a route
 * function's m knows (lua_msg.c reads them; none has a public value).
 *
 * Adding a field: its line in SL_FIELD_MAP, its member in struct sl_msg,
 * and the next value appended to enum sluice_field. Template names, the
 * hint lists, the plugin host's msg_text/msg_number and the names of Lua's
 * m follow from the line. Two hand-written places remain, both fast paths:
 * lua_msg.c's field_of (a guess by length and first byte; an assert when
 * a filter is made catches a missing case) and push_field, and for a field
 * that is not TEXT, template.c's render_field. A field only Lua sees is one
 * line in SL_FIELD_LUA_MAP and the same two cases in lua_msg.c.
 *
 * Thread: any (constants and pure functions).
 */
#ifndef SL_FIELDS_H
#define SL_FIELDS_H

#include <assert.h>
#include <errno.h>
#include <stdbool.h>

#include "common/msg.h"
#include "sluice-plugin.h"

#define SL_FIELD_MAP(X)                           \
    X(PRI,       "pri",       NUMBER, pri)        \
    X(FACILITY,  "facility",  NUMBER, facility)   \
    X(SEVERITY,  "severity",  NUMBER, severity)   \
    X(VERSION,   "version",   NUMBER, version)    \
    X(TIMESTAMP, "timestamp", TEXT,   timestamp)  \
    X(RECEIVED,  "received",  TIME,   received)   \
    X(HOSTNAME,  "hostname",  TEXT,   hostname)   \
    X(APP_NAME,  "app_name",  TEXT,   app_name)   \
    X(PROCID,    "procid",    TEXT,   procid)     \
    X(MSGID,     "msgid",     TEXT,   msgid)      \
    X(SD,        "sd",        TEXT,   sd)         \
    X(MSG,       "msg",       TEXT,   msg)        \
    X(RAW,       "raw",       TEXT,   raw)        \
    X(INPUT,     "input",     TEXT,   input)      \
    X(PEER,      "peer",      TEXT,   peer)       \
    X(PID,       "pid",       CRED,   pid)        \
    X(UID,       "uid",       CRED,   uid)        \
    X(GID,       "gid",       CRED,   gid)

#define SL_FIELD_LUA_MAP(X)                \
    X(SEVERITY_NAME, "severity_name")      \
    X(FACILITY_NAME, "facility_name")      \
    X(TIME,          "time")               \
    X(FIELDS,        "fields")             \
    X(GET,           "get")

/* The table's own numbering: SL_FIELD_AT_<ID> is an entry's place, from 1
 * as enum sluice_field counts; SL_FIELD_END is one past the last, the size
 * of an array indexed by enum sluice_field. */
enum sl_field_at {
    SL_FIELD_AT_NONE_ = 0,
#define SL_FIELD_AT_(id, ...) SL_FIELD_AT_##id,
    SL_FIELD_MAP(SL_FIELD_AT_)
#undef SL_FIELD_AT_
    SL_FIELD_END
};

/* Each entry sits where sluice-plugin.h numbers it: an entry whose ID the
 * public enum lacks, or one missing or out of order before the last, stops
 * the build here. A value appended to the public enum without its line
 * here is not caught (that enum has no count to compare with): add both in
 * one commit. */
#define SL_FIELD_CHECK_(id, ...) \
    static_assert((int)SL_FIELD_AT_##id == (int)SLUICE_FIELD_##id, \
                  "fields.h: SL_FIELD_MAP's " #id " is not where enum sluice_field has it");
SL_FIELD_MAP(SL_FIELD_CHECK_)
#undef SL_FIELD_CHECK_

/* How many names SL_FIELD_LUA_MAP adds. */
enum {
#define SL_FIELD_ONE_(...) +1
    SL_FIELD_LUA_COUNT = 0 SL_FIELD_LUA_MAP(SL_FIELD_ONE_)
#undef SL_FIELD_ONE_
};

/* The name of each field, indexed by enum sluice_field; [0] is NULL. */
#define SL_FIELD_NAME_AT_(id, name, ...) [SLUICE_FIELD_##id] = name,
#define SL_FIELD_NAMES { SL_FIELD_MAP(SL_FIELD_NAME_AT_) }

/* The names as one string literal, each after a space: " pri facility ...". */
#define SL_FIELD_SPACED_(id, name, ...) " " name
#define SL_FIELD_NAME_LIST SL_FIELD_MAP(SL_FIELD_SPACED_)

/* A case for the fields of one kind, nothing for the others: the bodies of
 * the accessors below. The ID is pasted before it is passed on, since an
 * ID may also be a macro (config.h defines VERSION). */
#define SL_FIELD_TEXT_CASE_(id, name, kind, member) \
    SL_FIELD_TEXT_IF_##kind(SLUICE_FIELD_##id, member)
#define SL_FIELD_TEXT_IF_TEXT(value, member) \
    case value: *out = m->member; return 0;
#define SL_FIELD_TEXT_IF_NUMBER(value, member)
#define SL_FIELD_TEXT_IF_CRED(value, member)
#define SL_FIELD_TEXT_IF_TIME(value, member)

#define SL_FIELD_NUMBER_CASE_(id, name, kind, member) \
    SL_FIELD_NUMBER_IF_##kind(SLUICE_FIELD_##id, member)
#define SL_FIELD_NUMBER_IF_TEXT(value, member)
#define SL_FIELD_NUMBER_IF_NUMBER(value, member) \
    case value: *out = (long long)m->member; return 0;
#define SL_FIELD_NUMBER_IF_CRED(value, member) \
    case value: *out = (long long)m->member; return cred ? 0 : -ENOENT;
#define SL_FIELD_NUMBER_IF_TIME(value, member)

/* The text of field (enum sluice_field) of m, borrowed from m: 0 with *out
 * set (SL_STR_NIL when absent or NILVALUE), or -EINVAL for a field of
 * another kind. */
static inline int sl_field_text(const struct sl_msg *m, int field, struct sl_str *out)
{
    switch (field) {
    SL_FIELD_MAP(SL_FIELD_TEXT_CASE_)
    default: return -EINVAL;
    }
}

/* The number field (enum sluice_field) of m: 0 with *out set, -ENOENT for
 * a CRED field m has no credentials for (*out is set all the same), or
 * -EINVAL for a field of another kind. */
static inline int sl_field_number(const struct sl_msg *m, int field, long long *out)
{
    bool cred = (m->flags & SL_MSG_HAS_CRED) != 0;
    switch (field) {
    SL_FIELD_MAP(SL_FIELD_NUMBER_CASE_)
    default: return -EINVAL;
    }
}

#endif /* SL_FIELDS_H */
