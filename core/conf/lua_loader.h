/* SPDX-License-Identifier: MIT */
/*
 * lua_loader.h: the state of one sl_config_load() (lua_config.c runs the
 * chunk, lua_checks.c checks what it declared once it has run). Internal
 * to the config loader; the daemon sees only lua_config.h.
 *
 * Thread: the loading thread.
 */
#ifndef SL_LUA_LOADER_H
#define SL_LUA_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/lua_bounded.h"
#include "conf/lua_decl.h"
#include "conf/lua_include.h"
#include "conf/lua_sluice.h"

/* A curried `input "name"` / `output "name"` waiting for its table. */
struct pending {
    char *name; /* NULL when the name was not a string */
    const char *file, *table_file; /* the config's names (sl_decl.file) */
    int line;
    int table_line; /* where the table was given, once done */
    bool output;
    bool done;
};

struct loader {
    struct sl_decl_ctx ctx; /* file, config, errors, oom: shared with lua_decl.c */
    struct pending *pend;
    size_t npend;
    struct sl_decl_targets *targets; /* parallel to c->routes */
    int settings_line;               /* 0: settings not given yet */
    const char *settings_file;
    long ticks;
    unsigned long steps;         /* C function steps not yet in ticks */
    struct sl_lua_budget budget; /* MEMORY_LIMIT */
    bool ran; /* the chunk ran to its end */
    int err_line;
    const char *err_file; /* the file of err_line */
    size_t include_calls; /* made so far */
    struct sl_include_state inc; /* inc.kept: keep mode's loaded config */
    /* Keep mode (sl_config_run_functions): each route's where and transform
     * go into the registry table SL_CONFIG_FUNCTIONS as they are declared. */
    bool keep;
    struct sl_lua_sluice *lib; /* the sluice library's state */
    const char *source;        /* the chunk's text: c->source */
    size_t source_len;
};

/* {=== the checks once the chunk has run (lua_checks.c); they append to
 * ld->ctx.errs and set ld->ctx.oom */
/* Two inputs, or two outputs (output), of one name. */
void sl_loader_check_duplicates(struct loader *ld, bool output);
/* Curried calls never given their table, two inputs on one address, and
 * every route's `to` and `input` resolved against the declared names. */
void sl_loader_check_references(struct loader *ld);
/* Frees what the loader holds (not the config). */
void sl_loader_free(struct loader *ld);
/* }=== */

#endif /* SL_LUA_LOADER_H */
