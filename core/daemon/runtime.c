/* SPDX-License-Identifier: MIT */
/*
 * runtime.c: one config's outputs and inputs (runtime.h), opened and
 * closed in the order the top of daemon.c gives: outputs before inputs
 * at start, inputs before outputs at stop.
 *
 * Thread: main.
 */
#include "daemon/runtime.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/clock.h"

struct sl_runtime *sl_runtime_new(struct sl_daemon *d, struct sl_config *c,
                                  struct sl_strlist *search)
{
    struct sl_runtime *rt = sl_calloc(1, sizeof *rt);
    if (rt == NULL) {
        sl_strlist_clear(search);
        sl_config_free(c);
        return NULL;
    }
    rt->config = c;
    rt->search = *search;
    *search = (struct sl_strlist){0};
    rt->routing.unrouted = &d->unrouted;
    rt->routing.sockets = d->sockets; /* every config's inputs take from it */
    rt->routing.hostname = (struct sl_str){d->hostname, (uint32_t)strlen(d->hostname)};
    rt->routing.sinks = sl_calloc(c->noutputs ? c->noutputs : 1, sizeof *rt->routing.sinks);
    rt->inputs = sl_calloc(c->ninputs ? c->ninputs : 1, sizeof *rt->inputs);
    if (sl_router_init(&rt->routing.router, c, d->hostname) < 0 || rt->routing.sinks == NULL
        || rt->inputs == NULL) {
        sl_runtime_free(rt);
        return NULL;
    }
    return rt;
}

/* Starts a thread for each bound input of rt; on failure err says which. */
static int runtime_start_inputs(struct sl_runtime *rt, char *err, size_t errlen)
{
    const struct sl_config *c = rt->config;
    for (size_t i = 0; i < rt->ninputs; i++) {
        int rc = sl_input_start(rt->inputs[i]);
        if (rc < 0) {
            snprintf(err, errlen, "%s:%d: input \"%s\": pthread_create() failed (%d: %s)",
                     c->inputs[i].file ? c->inputs[i].file : c->file, c->inputs[i].line,
                     c->inputs[i].name, -rc, strerror(-rc));
            return rc;
        }
        sl_log(SL_LOG_INFO, 0, "input \"%s\" listening on %s", c->inputs[i].name,
               sl_input_address(rt->inputs[i]));
    }
    return 0;
}

int sl_runtime_start(struct sl_daemon *d, struct sl_config *c, struct sl_strlist *search,
                     struct sl_runtime **out, char *err, size_t errlen)
{
    if (!d->opts->verbose)
        sl_log_set_level(c->log_level);
    struct sl_runtime *rt = sl_runtime_new(d, c, search);
    if (rt == NULL) {
        snprintf(err, errlen, "%s: out of memory", d->opts->config_path);
        return -ENOMEM;
    }
    int rc = 0;
    const struct sl_state_dir state = {c->state_dir, sl_privs_queue_owner(c)};
    for (size_t i = 0; i < c->noutputs && rc == 0; i++) {
        size_t n = sl_runtime_err_at(err, errlen, c->outputs[i].file ? c->outputs[i].file : c->file,
                                     c->outputs[i].line);
        rc = sl_sink_open(&rt->routing.sinks[i], &c->outputs[i], &rt->search, &state, err + n,
                          errlen - n);
        if (rc == 0)
            rt->routing.nsinks = i + 1;
    }
    for (size_t i = 0; i < c->ninputs && rc == 0; i++) {
        size_t n = sl_runtime_err_at(err, errlen, c->inputs[i].file ? c->inputs[i].file : c->file,
                                     c->inputs[i].line);
        rc = sl_input_open(&rt->inputs[i], &c->inputs[i], &rt->routing, err + n, errlen - n);
        if (rc == 0)
            rt->ninputs = i + 1;
    }
    if (rc == 0)
        rc = runtime_start_inputs(rt, err, errlen);
    if (rc < 0) {
        sl_runtime_stop(rt, sl_now_ms() + SL_DRAIN_TIMEOUT_MS, &d->closed);
        return rc;
    }
    *out = rt;
    return 0;
}

/* Every input at once, then every output at once, against one deadline:
 * inputs first, since they deliver into the outputs, which keep running
 * until the inputs are done. */
static void runtime_stop_inputs(struct sl_runtime *rt, int64_t deadline_ms)
{
    for (size_t i = 0; i < rt->ninputs; i++)
        sl_input_stop(rt->inputs[i], deadline_ms);
    for (size_t i = 0; i < rt->ninputs; i++)
        sl_input_close(rt->inputs[i], 0); /* stopping already: waits, keeps the deadline */
    free(rt->inputs);
    rt->inputs = NULL;
    rt->ninputs = 0;
}

void sl_runtime_stop(struct sl_runtime *rt, int64_t deadline_ms, struct sl_sink_totals *totals)
{
    if (rt == NULL)
        return;
    runtime_stop_inputs(rt, deadline_ms);
    for (size_t i = 0; i < rt->routing.nsinks; i++)
        sl_sink_stop(rt->routing.sinks[i], deadline_ms);
    for (size_t i = 0; i < rt->routing.nsinks; i++)
        sl_sink_close(rt->routing.sinks[i], 0, totals);
    sl_runtime_free(rt);
}

void sl_runtime_free(struct sl_runtime *rt)
{
    sl_router_free(&rt->routing.router);
    free(rt->routing.sinks);
    free(rt->inputs);
    sl_strlist_clear(&rt->search);
    sl_config_free(rt->config);
    free(rt);
}

unsigned long long sl_runtime_discarded(const struct sl_runtime *rt)
{
    unsigned long long n = 0;
    for (size_t i = 0; rt != NULL && rt->routing.router.routes != NULL
                       && i < rt->config->nroutes; i++)
        n += SL_LD(rt->routing.router.routes[i].discarded);
    return n;
}

size_t sl_runtime_err_at(char *err, size_t errlen, const char *file, int line)
{
    int n = snprintf(err, errlen, "%s:%d: ", file, line);
    return n < 0 ? 0 : (size_t)n >= errlen ? errlen - 1 : (size_t)n;
}
