/* SPDX-License-Identifier: MIT */
/*
 * reload_map.c: the reload's decisions (reload_map.h). Names are unique
 * within a config (the loader checks), so a name finds at most one running
 * output or input; and running inputs are bound, so an address finds at
 * most one running input.
 */
#include "daemon/reload_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static long output_named(const struct sl_reload_old *old, const char *name)
{
    for (size_t j = 0; j < old->noutputs; j++) {
        if (strcmp(old->outputs[j]->name, name) == 0)
            return (long)j;
    }
    return -1;
}

static long input_named(const struct sl_reload_old *old, const char *name)
{
    for (size_t j = 0; j < old->ninputs; j++) {
        if (strcmp(old->inputs[j]->name, name) == 0)
            return (long)j;
    }
    return -1;
}

static long input_at(const struct sl_reload_old *old, const struct sl_input_conf *ic)
{
    for (size_t j = 0; j < old->ninputs; j++) {
        if (sl_input_conf_same_address(old->inputs[j], ic))
            return (long)j;
    }
    return -1;
}

static void map_outputs(struct sl_reload_map *m, const struct sl_reload_old *old,
                        const struct sl_config *c)
{
    for (size_t i = 0; i < c->noutputs; i++) {
        long j = output_named(old, c->outputs[i].name);
        m->out[i] = (struct sl_reload_entry){SL_RELOAD_OPEN, -1};
        if (j < 0)
            continue;
        bool same = sl_output_conf_equal(old->outputs[j], &c->outputs[i]);
        m->out[i] = (struct sl_reload_entry){same ? SL_RELOAD_KEEP : SL_RELOAD_CHANGE, j};
        m->out_kept[j] = true;
        if (same)
            m->out_kept_n++;
        else
            m->out_changed_n++;
    }
}

/* All kept inputs first: whether a held address clashes depends on
 * whether its holder is kept, whatever the order of the config. */
static void map_inputs(struct sl_reload_map *m, const struct sl_reload_old *old,
                       const struct sl_config *c)
{
    for (size_t i = 0; i < c->ninputs; i++) {
        long j = input_named(old, c->inputs[i].name);
        m->in[i] = (struct sl_reload_entry){SL_RELOAD_OPEN, -1};
        if (j >= 0 && sl_input_conf_equal(old->inputs[j], &c->inputs[i])) {
            m->in[i] = (struct sl_reload_entry){SL_RELOAD_KEEP, j};
            m->in_kept[j] = true;
            m->in_kept_n++;
        }
    }
    for (size_t i = 0; i < c->ninputs; i++) {
        if (m->in[i].action == SL_RELOAD_KEEP)
            continue;
        long holder = input_at(old, &c->inputs[i]);
        if (holder >= 0)
            m->in[i] = (struct sl_reload_entry){
                m->in_kept[holder] ? SL_RELOAD_CLASH : SL_RELOAD_DEFER, holder};
    }
}

int sl_reload_map_build(struct sl_reload_map *m, const struct sl_reload_old *old,
                        const struct sl_config *c)
{
    /* One more than needed, so an empty side is not a zero-sized allocation. */
    *m = (struct sl_reload_map){
        .out = sl_calloc(c->noutputs + 1, sizeof *m->out),
        .in = sl_calloc(c->ninputs + 1, sizeof *m->in),
        .out_kept = sl_calloc(old->noutputs + 1, sizeof *m->out_kept),
        .in_kept = sl_calloc(old->ninputs + 1, sizeof *m->in_kept),
    };
    if (m->out == NULL || m->in == NULL || m->out_kept == NULL || m->in_kept == NULL) {
        sl_reload_map_free(m);
        return -ENOMEM;
    }
    map_outputs(m, old, c);
    map_inputs(m, old, c);
    return 0;
}

void sl_reload_map_free(struct sl_reload_map *m)
{
    free(m->out);
    free(m->in);
    free(m->out_kept);
    free(m->in_kept);
    *m = (struct sl_reload_map){0};
}
