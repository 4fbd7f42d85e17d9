/* SPDX-License-Identifier: MIT */
/*
 * lua_include.h: the files that sluice.lua's `include "PATTERN"` reads,
 * and running them in the config's state.
 *
 * Internal to the config loader: lua_config.c's include function resolves
 * the pattern and finds the files running now; this part finds, reads and
 * keeps the files and runs them. Thread: the thread that owns the
 * lua_State (the reading functions: any).
 */
#ifndef SL_LUA_INCLUDE_H
#define SL_LUA_INCLUDE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <lua.h>

#include "conf/lua_config.h"

struct sl_decl;

#define SL_INCLUDE_MAX_DEPTH 8       /* files within files; the main file is depth 0 */
#define SL_INCLUDE_MAX_SIZE (64u << 20) /* a file's bytes, as the main file's */

/* Where a file read for the config is, to find an include cycle however
 * its path is spelled. */
struct sl_include_id {
    dev_t dev;
    ino_t ino;
};

/* True when path has a glob character ('*', '?' or '['). */
bool sl_include_is_glob(const char *path);

/* The paths the glob path matches, appended to out (which the caller
 * owns) in byte order, as rsyslog and systemd sort theirs. Directory
 * components may glob too. Nothing matched is 0 with nothing appended.
 * 0, or a negative errno with the reason in err. */
int sl_include_expand(const char *path, struct sl_strlist *out, char *err, size_t errlen);

/* Reads the regular file path (symlinks followed; anything else refused
 * unless any_kind, which the main file is allowed: --check -c <(...))
 * of at most max bytes into *text (NUL-ended, the caller's) and *len, and
 * says which file it was in *id. 0, or a negative errno with the reason in
 * err ("open() failed (2: No such file or directory)"). */
int sl_include_read(const char *path, size_t max, bool any_kind, char **text, size_t *len,
                    struct sl_include_id *id, char *err, size_t errlen);

/* Loads text[0..len) (borrowed) as the chunk of `file`, "@file", as
 * luaL_loadfilex() would read a file: without a UTF-8 BOM, a first line
 * starting with '#' left out but its newline kept. lua_load's status. */
int sl_include_load_text(lua_State *L, const char *text, size_t len, const char *file);

/* "a -> b -> path" into buf, from the n files running v (outermost first). */
void sl_include_chain(char *buf, size_t len, const char *const *v, int n, const char *path);

/* One load's (or rerun's) include state; zeroed to start, the loader's. */
struct sl_include_state {
    /* One list of matches per depth, so that an include inside an included
     * file keeps its caller's; owned here, so a Lua error unwinding an
     * include leaks nothing. */
    struct sl_strlist matches[SL_INCLUDE_MAX_DEPTH + 1];
    /* ids[k]: the file running at depth k (0: the main file, when read
     * from disk), to find a cycle however the include spells its path. */
    struct sl_include_id ids[SL_INCLUDE_MAX_DEPTH + 1];
    /* Rerun (sl_config_run_functions): the loaded config, whose kept texts
     * run instead of the files; NULL when loading. */
    const struct sl_config *kept;
};

/* Include call number `call` (0 up, in the order the calls run), for the
 * resolved path (a file or a glob), made at d (its file and line name the
 * errors, d->ctx->c the config being built), with running[0..n) the
 * files running now (n >= 1, at most SL_INCLUDE_MAX_DEPTH). Loading: reads
 * each file into d->ctx->c->includes and runs it; a rerun runs the texts
 * st->kept read at that call. Problems go to the error list; Lua errors of
 * the included code propagate, as the code's own would. */
void sl_include_run(lua_State *L, struct sl_include_state *st, const struct sl_decl *d,
                    const char *path, size_t call, const char *const *running, int n);

void sl_include_state_free(struct sl_include_state *st);

#endif /* SL_LUA_INCLUDE_H */
