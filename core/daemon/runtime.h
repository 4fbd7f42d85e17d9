/* SPDX-License-Identifier: MIT */
/*
 * runtime.h: what one config runs (a "runtime"): its outputs (sinks) and
 * inputs, the routing between them, the config itself and the plugin search
 * path. The daemon runs one at a time; a reload builds the next one beside
 * it and hands the unchanged outputs and inputs over (reload.c).
 *
 * Thread: main. Opening a runtime starts the outputs' worker threads and the
 * inputs' threads; they inherit the caller's signal mask.
 */
#ifndef SL_RUNTIME_H
#define SL_RUNTIME_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/lua_config.h"
#include "input/input.h"
#include "output/sink.h"

struct sl_daemon;

/* How long an input or an output gets, when it stops, to deliver or write
 * what it still holds; and the outputs, to answer a reopen or flush. At
 * shutdown it is one deadline for all of them together (sluiced(8),
 * SHUTDOWN: the shutdown timeout). */
#define SL_DRAIN_TIMEOUT_MS 10000

/* A counter that other threads add to, read relaxed, for "%llu". */
#define SL_LD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

/* Everything built from one config. */
struct sl_runtime {
    struct sl_config *config;  /* owned */
    struct sl_strlist search;  /* the whole plugin search path; owned */
    struct sl_routing routing; /* owned: its router, sinks[] and the sinks */
    struct sl_input **inputs;  /* owned: the array and the inputs */
    size_t ninputs;
};

/* A runtime for config c with its routing set up and room for its outputs
 * and inputs, none open yet; NULL when out of memory. Takes c and search in
 * every case. Borrows d, whose unrouted counter and hostname the routing
 * points at: d outlives the runtime. */
struct sl_runtime *sl_runtime_new(struct sl_daemon *d, struct sl_config *c,
                                  struct sl_strlist *search);

/* Opens the outputs and binds the inputs of config c (taking c and search
 * in every case) and starts the input threads; *out is then the caller's.
 * Sets the log level from c, unless d->opts->verbose. 0, or a negative
 * errno with "FILE:LINE: reason" in err and nothing left open (the counters
 * of the outputs it closed again are added to d->closed). */
int sl_runtime_start(struct sl_daemon *d, struct sl_config *c, struct sl_strlist *search,
                     struct sl_runtime **out, char *err, size_t errlen);

/* Stops the inputs, then drains and closes the outputs, adding their
 * counters to totals, and frees rt; all of it by deadline_ms (sl_now_ms()
 * time), inputs in parallel, then outputs in parallel. (An output whose
 * plugin does not return from a call holds it up: a plugin call is never
 * interrupted.) NULL is a no-op. */
void sl_runtime_stop(struct sl_runtime *rt, int64_t deadline_ms, struct sl_sink_totals *totals);

/* Frees what the runtime itself holds (its config, search path, router and
 * arrays), once its inputs and sinks are gone or handed on. rt is not NULL. */
void sl_runtime_free(struct sl_runtime *rt);

/* Messages the drop routes of runtime rt took; 0 for NULL. */
unsigned long long sl_runtime_discarded(const struct sl_runtime *rt);

/* Starts err with "FILE:LINE: " and returns its length: the callee's reason
 * goes to err + n, so a callee that fills no reason shows as one.
 * Thread: any. */
size_t sl_runtime_err_at(char *err, size_t errlen, const char *file, int line);

#endif /* SL_RUNTIME_H */
