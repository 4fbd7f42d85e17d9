/* SPDX-License-Identifier: MIT */
/*
 * lua_decl.h: reading the tables of sluice.lua's declarations into C.
 *
 * Internal to the config loader: lua_config.c owns the Lua state and makes
 * the calls (settings, input "name", output "name", route); lua_decl.c reads
 * the table each call is given and the values in it. The rest of the daemon
 * sees only lua_config.h.
 *
 * Every problem is appended to the error list, never raised as a Lua error,
 * so one --check run reports everything at once. A Lua error (out of memory)
 * can still unwind through a reader: what a reader copies out of Lua is
 * stored in the config before its next call into Lua, so that leaks nothing.
 *
 * Thread: the thread that owns the lua_State being read.
 */
#ifndef SL_LUA_DECL_H
#define SL_LUA_DECL_H

#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

#include "conf/lua_config.h"

/* Metatable of the handle `output "name" { ... }` returns; `to` takes one. */
#define SL_DECL_HANDLE_MT "sluice.output"

/* What the readers share with the loader, for one sl_config_load(). */
struct sl_decl_ctx {
    const char *file;       /* borrowed: the config's path (the main file), for messages */
    struct sl_config *c;    /* borrowed: the config being built */
    struct sl_errors *errs; /* borrowed: where problems are appended */
    bool oom;               /* an allocation failed; the loader reports it */
};

/* One declaration being read: where it is and how messages name it. */
struct sl_decl {
    lua_State *L;
    struct sl_decl_ctx *ctx;
    char what[96]; /* settings, input "tcp", output "messages", route */
    int line;
    /* The file it is made in: the config's own copy of its name (c->file or
     * an included file's, sl_config_text.file), which outlives the load;
     * what every message about it and the struct it fills carry. */
    const char *file;
};

/* Per route, what is resolved once every output is known. The loader owns
 * the names and frees them. */
struct sl_decl_targets {
    struct sl_strlist names; /* outputs named by `to`, handles included */
    bool broken;             /* `to` held a handle of an unnamed output */
};

/* {=== helpers the loader shares */
/* A copy of s the caller owns, or NULL with ctx->oom set. */
char *sl_decl_strdup(struct sl_decl_ctx *ctx, const char *s);

/* Returns the array v of n elements of `size` bytes grown by one zeroed
 * element, which the caller then owns, or NULL with v unchanged (and still
 * the caller's) and ctx->oom set. Room doubles (lua_decl.c says how), so
 * v must be NULL with n 0, or come from earlier calls only. */
void *sl_decl_grow(struct sl_decl_ctx *ctx, void *v, size_t n, size_t size);

/* Index of s in the NULL-ended names, or -1. */
int sl_decl_name_index(const char *const *names, const char *s);

/* Writes ", did you mean 'PREFIXname'?" into buf for the closest of the
 * NULL-ended candidates within distance 2 (and closer than the word is
 * long), else ""; returns buf. */
const char *sl_decl_did_you_mean(char *buf, size_t len, const char *prefix, const char *word,
                                 const char *const *cands);

/* Lua's name for the type of the value at idx, or "output handle". */
const char *sl_decl_type_name(lua_State *L, int idx);

/* Appends "FILE:LINE: WHAT: message" to the error list. */
void sl_decl_error(const struct sl_decl *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads one key of a table: k is its index in the names given to
 * sl_decl_each_key(), key its full name ("queue.policy"), idx its value. */
typedef void sl_decl_set_fn(const struct sl_decl *d, int k, const char *key, int idx, void *obj);
/* Calls set() for each key of the table at t that names[] (NULL-ended, at
 * most 32) knows, in sorted order, reports the others with a "did you
 * mean", and returns a mask of the keys seen (bit k). prefix names the
 * table in messages ("queue"), NULL at the top. */
unsigned sl_decl_each_key(const struct sl_decl *d, int t, const char *prefix,
                          const char *const *names, sl_decl_set_fn *set, void *obj);
/* "key 'K' wants WANTS, got TYPE". */
void sl_decl_wrong_type(const struct sl_decl *d, const char *key, const char *wants, int idx);
/* The value at idx as the type wanted, or an error reported and false
 * (*dst / *out untouched). A string: non-empty without NUL, a copy the
 * caller owns replacing *dst. A size: bytes or "16M", min..max. An int: a
 * whole number min..max. A duration (lua_queue.c): "5s", "250ms", "1m" or
 * a number of seconds, min_ms..max_ms, in milliseconds. */
bool sl_decl_want_string(const struct sl_decl *d, const char *key, int idx, char **dst);
bool sl_decl_want_size(const struct sl_decl *d, const char *key, int idx, unsigned long long min,
                       unsigned long long max, unsigned long long *out);
bool sl_decl_want_int(const struct sl_decl *d, const char *key, int idx, long long min,
                      long long max, long long *out);
bool sl_decl_want_duration(const struct sl_decl *d, const char *key, int idx, long long min_ms,
                           long long max_ms, long long *out);
bool sl_decl_want_bool(const struct sl_decl *d, const char *key, int idx, bool *out);
/* Calls item() for the value at idx, or for each item when it is a list
 * (a non-empty sequence). item() returns false for a value of the wrong
 * type, reported here as "key 'K' wants WANTS, got TYPE". */
typedef bool sl_decl_item_fn(const struct sl_decl *d, const char *key, int idx, void *obj);
void sl_decl_each_item(const struct sl_decl *d, const char *key, int idx, const char *wants,
                       sl_decl_item_fn *item, void *obj);
/* An item: a non-empty string without NUL bytes, appended to the struct
 * sl_strlist obj. */
bool sl_decl_string_item(const struct sl_decl *d, const char *key, int idx, void *obj);
/* A string or a list of them, appended to l. */
void sl_decl_want_strlist(const struct sl_decl *d, const char *key, int idx,
                          struct sl_strlist *l);
/* Appends a copy of s to l (ctx->oom on failure), growing as sl_decl_grow(). */
void sl_decl_strlist_add(struct sl_decl_ctx *ctx, struct sl_strlist *l, const char *s);
/* }=== */

/* {=== the readers: each reads the table at stack index t into what it is
 * given, which the caller owns and has set to its defaults. */
void sl_decl_settings(const struct sl_decl *d, int t, struct sl_config *c);
void sl_decl_input(const struct sl_decl *d, int t, struct sl_input_conf *in);
void sl_decl_output(const struct sl_decl *d, int t, struct sl_output_conf *o);
/* An input's ratelimit = { ... } (lua_ratelimit.c), the value at v of
 * key (its full name, for messages), into *out: left as it was when the
 * value is not a table; else the defaults and the keys given. */
void sl_decl_ratelimit(const struct sl_decl *d, const char *key, int v,
                       struct sl_ratelimit_conf *out);
/* An output's queue = { ... } (lua_queue.c), into o->queue. */
void sl_decl_queue(const struct sl_decl *d, int t, struct sl_output_conf *o);
/* The checks of every output's queue that need the settings too (a disk
 * queue needs settings.state_dir): after the chunk has run. */
void sl_decl_check_queues(struct sl_decl_ctx *ctx);
/* A route { ... } (lua_route.c). Fills x->names from `to`; the loader
 * resolves them once the chunk has run. */
void sl_decl_route(const struct sl_decl *d, int t, struct sl_route_conf *r,
                   struct sl_decl_targets *x);
/* }=== */

#endif /* SL_LUA_DECL_H */
