/* SPDX-License-Identifier: MIT */
/*
 * reload_map.h: what a reload does with each output and input, decided
 * from settings alone: which running one each of the new config keeps,
 * which are opened, which wait for a running one to free their address,
 * and which running ones close. Nothing here touches a sink or an input,
 * so the decisions can be tested without starting any (test_reload_maps).
 *
 * Thread: any (the main thread, for reload).
 */
#ifndef SL_RELOAD_MAP_H
#define SL_RELOAD_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/lua_config.h"

enum sl_reload_action {
    SL_RELOAD_OPEN,  /* new or changed: opened aside, before the switch */
    SL_RELOAD_KEEP,  /* same name, same settings: the running one (from), moved */
    SL_RELOAD_CHANGE, /* an output of the same name, other settings: the running
                       * sink (from), moved, with a new plugin instance (sink.h) */
    SL_RELOAD_DEFER, /* an input whose address the running input `from`, which
                      * stops, holds: opened once it has stopped */
    SL_RELOAD_CLASH  /* an input whose address the running input `from`, which
                      * is kept, holds: the reload fails */
};

struct sl_reload_entry {
    enum sl_reload_action action;
    long from; /* the running output or input's index; -1 for OPEN */
};

/* The settings of the running outputs and inputs, in the running runtime's
 * order (its sinks' and inputs' own copies). Borrowed. */
struct sl_reload_old {
    const struct sl_output_conf *const *outputs;
    size_t noutputs;
    const struct sl_input_conf *const *inputs;
    size_t ninputs;
};

struct sl_reload_map {
    struct sl_reload_entry *out; /* per new output: KEEP, CHANGE or OPEN */
    struct sl_reload_entry *in;  /* per new input: any action */
    bool *out_kept;              /* per running output, kept or changed; false: closed */
    bool *in_kept;               /* per running input; false: stopped at commit */
    size_t out_kept_n, out_changed_n, in_kept_n;
};

/* Maps config c (borrowed) onto old: an output or input is kept when a
 * running one has its name and equal settings (sl_*_conf_equal); an output
 * whose name a running one has, with other settings, is changed; a new or
 * changed input is DEFER or CLASH when a running one has its address
 * (sl_input_conf_same_address), else OPEN. 0, or -ENOMEM with m empty.
 * m is the caller's; free it with sl_reload_map_free(). */
int sl_reload_map_build(struct sl_reload_map *m, const struct sl_reload_old *old,
                        const struct sl_config *c);
/* Frees what m holds and empties it; an empty map is a no-op. */
void sl_reload_map_free(struct sl_reload_map *m);

#endif /* SL_RELOAD_MAP_H */
