/* SPDX-License-Identifier: MIT */
/*
 * input.h: input threads, whatever their kind (kind.h: unix datagram, udp,
 * tcp).
 *
 * Each input runs one thread with its own epoll loop, message pool, parse
 * context and route scratch (for regular expressions). A read produces a
 * batch of messages, which is parsed, routed and offered to the outputs in
 * one go (one lock per output per batch).
 *
 * Backpressure: a source (a tcp connection, or a datagram socket) whose
 * messages did not all fit a block-policy queue keeps them "parked" and is not
 * read again until the queue has room; the input's other sources keep
 * flowing. A drop-policy output's sink drops and counts what does not fit
 * (sl_sink_offer), so the input parks only for block-policy outputs.
 *
 * Reload: what an input routes with (its routing, route scratch, dispatch
 * buffers sized by the number of outputs, and its own copy of its conf) is
 * a "plan". The main thread builds a new plan aside and hands it over; the
 * input thread takes it between batches, so a kept input keeps its sockets,
 * its tcp connections, its buffered bytes and its counters:
 *
 *   main                                  input thread
 *   sl_input_switch_offer(in, plan) ----> (epoll loop) ends its batch
 *   sl_input_switch_wait_ready() <------- READY, holds
 *   (every kept input READY, or cancel
 *    them all after 10 s)
 *   sl_input_switch_commit() ----------> swaps in the plan; gives up what is
 *                                         parked for outputs the plan dropped,
 *                                         pushes the rest again; DONE;
 *   frees the old plan it gets back       resumes reading with the new outputs
 *
 * Nothing waits for an output: a parked entry points at its sink, and a
 * kept or changed output is the same sink in the new plan (sink.h), so
 * parked messages follow it. Holding every kept input READY until all are
 * lets the whole reload still be cancelled when one cannot get there (an
 * input thread gone, or stuck in one batch for 10 s).
 */
#ifndef SL_INPUT_H
#define SL_INPUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "input/kind.h"
#include "conf/lua_config.h"
#include "common/msg.h"
#include "parse/parse.h"
#include "route/router.h"
#include "output/sink.h"
#include "common/clock.h"

/* What inputs need from the daemon: where messages go. Immutable while the
 * input runs. */
struct sl_routing {
    struct sl_router router;
    struct sl_sink **sinks; /* indexed like config->outputs */
    size_t nsinks;
    atomic_uint_fast64_t *unrouted; /* the daemon's counter */
    struct sl_str hostname;         /* the local hostname, for RFC 3164 without one */
    struct sl_activation *sockets;  /* borrowed: the daemon's passed sockets; NULL: none */
};

struct sl_input_stats {
    atomic_uint_fast64_t received;
    atomic_uint_fast64_t bytes;
    atomic_uint_fast64_t parse_errors;
    atomic_uint_fast64_t truncated;
    atomic_uint_fast64_t framing_errors;
    atomic_uint_fast64_t connections; /* open now (tcp) */
    atomic_uint_fast64_t accepted;    /* ever (tcp) */
    atomic_uint_fast64_t refused;     /* over max_connections (tcp) */
    atomic_uint_fast64_t kernel_drops;
    atomic_uint_fast64_t refused_per_peer; /* over max_connections_per_peer (tcp) */
    atomic_uint_fast64_t refused_fds; /* for want of descriptors (tcp) */
    atomic_uint_fast64_t idle_closed; /* by idle_timeout (tcp) */
    atomic_uint_fast64_t suppressed;  /* over a sender's ratelimit budget (unix) */
    /* The kinds with fields (native, native_stream, kmsg): what their
     * entries had that was not kept. */
    atomic_uint_fast64_t malformed;      /* entries dropped whole (-EBADMSG) */
    atomic_uint_fast64_t forged_fields;  /* '_' keys from a sender, ignored */
    atomic_uint_fast64_t fields_dropped; /* fields past a limit, not kept */
    atomic_uint_fast64_t too_large;      /* entries over max_message, dropped */
    atomic_uint_fast64_t unsealed;       /* memfds refused: not sealed (native) */
    atomic_uint_fast64_t missed;         /* records the kernel overwrote unread (kmsg) */
};

struct sl_input;

/* What an input routes with; see the comment at the top. */
struct sl_input_plan {
    struct sl_input_conf *conf;       /* owned deep copy */
    const struct sl_routing *routing; /* borrowed from the daemon's runtime */
    struct sl_route_scratch *scratch; /* owned; for the thread that uses the plan */
    struct sl_msg **outbuf;           /* owned; routing->nsinks x SL_DISPATCH_MAX */
    size_t *outlen;                   /* owned; routing->nsinks */
    struct sl_density *density;       /* owned; routing->nsinks */
};

/* The bytes an input received lately and the part of them routed to one
 * output: a window of about SL_DENSITY_WINDOW bytes, halved as it fills.
 * Dispatch copies messages out of their chunks for an output that takes
 * less than a 1/SL_DENSITY_PART of what is read, so that a queue's bound on
 * bytes bounds the memory its messages pin (input.c). */
struct sl_density {
    uint64_t total, kept;
};
#define SL_DENSITY_WINDOW (512 * 1024)
#define SL_DENSITY_PART 4

#define SL_DISPATCH_MAX 1024

/* Creates the input and binds its socket (so a port in use fails start-up),
 * without starting its thread. The input keeps a deep copy of conf and
 * borrows routing, which must outlive it or its switch to another plan. */
int sl_input_open(struct sl_input **out, const struct sl_input_conf *conf,
                  const struct sl_routing *routing, char *err, size_t errlen);

/* Builds a plan: a copy of conf, a route scratch for routing's router,
 * dispatch buffers for routing's outputs. 0, or a negative errno with a
 * reason in err. Thread: any (main, for reload). */
int sl_input_plan_new(struct sl_input_plan **out, const struct sl_input_conf *conf,
                      const struct sl_routing *routing, char *err, size_t errlen);
void sl_input_plan_free(struct sl_input_plan *p); /* NULL is a no-op */

/* {=== switching a running input to another plan (main thread; see the top).
 * offer takes plan. Then either commit, which returns the input's old plan
 * (the caller frees it), or cancel, which returns the plan offered. */
void sl_input_switch_offer(struct sl_input *in, struct sl_input_plan *plan);
/* Waits until the input holds between two batches, up to deadline_ms
 * (sl_now_ms() time). 0, or -ETIMEDOUT, or -ESRCH when the input thread
 * is gone. */
int sl_input_switch_wait_ready(struct sl_input *in, int64_t deadline_ms);
struct sl_input_plan *sl_input_switch_commit(struct sl_input *in);
struct sl_input_plan *sl_input_switch_cancel(struct sl_input *in);
/* }=== */
/* {=== what the daemon reads of a running input (Thread: any; the values
 * are fixed while the input runs, except across a plan switch, which the
 * main thread itself performs) */
/* The conf of the input's current plan. */
const struct sl_input_conf *sl_input_conf_of(const struct sl_input *in);
/* What it is bound to ("127.0.0.1:514", "/dev/log"), for stats and logs. */
const char *sl_input_address(const struct sl_input *in);
/* Its counters (atomics: read them with atomic_load). */
const struct sl_input_stats *sl_input_stats_of(const struct sl_input *in);
/* Asks the kind to bring the counters the kernel keeps (kernel_drops) up
 * to date, before they are read for stats. Thread: main. */
void sl_input_refresh_stats(struct sl_input *in);
/* Withdraws a room notice the input asked of sink (sl_sink_notify_room)
 * before the sink is closed. Thread: main, with the input switched away
 * from sink. */
void sl_input_forget_sink(struct sl_input *in, struct sl_sink *sink);
/* }=== */
int sl_input_start(struct sl_input *in);
/* Asks the input's thread to stop and returns at once, so many inputs
 * stop in parallel against one deadline: it stops reading new data,
 * delivers what is buffered (what it read, and what the kernel holds for
 * each source, read once until empty: the kind's drain), waiting for
 * queue room until deadline_ms (sl_now_ms() time). Again: no-op. */
void sl_input_stop(struct sl_input *in, int64_t deadline_ms);
/* Stops (as sl_input_stop with timeout_ms from now, unless stopping
 * already), waits for the thread, closes and frees. NULL is a no-op. */
void sl_input_close(struct sl_input *in, int timeout_ms);


#endif /* SL_INPUT_H */
