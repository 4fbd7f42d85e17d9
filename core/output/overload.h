/* SPDX-License-Identifier: MIT */
/*
 * overload.h: what an output does with the messages its queue cannot take
 * (sluice.lua(5), queue): the policies block and drop, the overflow of a
 * disk queue, block_timeout (a stalled output), drop_severity above
 * high_water, the drop counters by reason and the summary line the
 * worker logs about them. The sink (sink.c) owns one per output and calls
 * it from both sides: producers offer through it, the worker ticks it.
 */
#ifndef SL_OVERLOAD_H
#define SL_OVERLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf/lua_config.h"
#include "output/queue.h"
#include "output/room.h"

/* Why a message was dropped at an output. */
enum sl_drop_reason {
    SL_DROP_FULL,     /* the queue was full and the policy (or disk overflow) drops */
    SL_DROP_TIMEOUT,  /* the output was stalled: refusing for block_timeout */
    SL_DROP_SEVERITY, /* the queue was past high_water and the severity at drop_severity */
    SL_DROP_REASONS
};

struct sl_drop_counts {
    uint64_t by[SL_DROP_REASONS];
};

/* The parts of the queue settings producers read, each on its own (a
 * reload changes them while inputs offer; a mix of old and new for one
 * batch is harmless). */
struct overload_policy {
    _Atomic int refuse;        /* SL_POLICY_BLOCK or SL_POLICY_DROP: what is done when full */
    _Atomic int block_timeout_ms;
    _Atomic int drop_severity; /* 8: none (no severity is >= 8) */
    _Atomic size_t high_mark;  /* messages queued past which drop_severity applies */
    _Atomic uint64_t high_bytes; /* a disk queue: its bytes on disk past which it does */
};

struct sl_overload {
    const char *name; /* borrowed from the sink, for log lines */
    struct overload_policy p;
    atomic_uint_fast64_t dropped[SL_DROP_REASONS];
    /* The stall (block_timeout): refusing_since is when the queue first
     * refused a producer since it last had room (0: it has room); stalled
     * is set once that lasted block_timeout, and both clear when the queue
     * has room again (at most half full), which room_efd says. */
    _Atomic int64_t refusing_since;
    atomic_bool stalled;
    int room_efd;         /* the worker's: the queue writes it once there is room */
    bool room_asked;      /* worker only: room_efd is registered with the queue */
    /* Producers parked on this output: written at a stall, so they offer
     * again and their messages are dropped rather than waiting for room. */
    pthread_mutex_t mu;
    struct sl_room_fds waiting;
    /* The worker's summary lines. */
    int64_t next_report_ms;
    uint64_t reported[SL_DROP_REASONS];
};

/* Sets o up for the settings q, logging as output `name` (borrowed for
 * o's life). 0 or a negative errno. Thread: main. */
int sl_overload_init(struct sl_overload *o, const char *name, const struct sl_queue_conf *q);
void sl_overload_destroy(struct sl_overload *o);
/* Thread: main. New settings (a reload); they apply from the next offer. */
void sl_overload_set(struct sl_overload *o, const struct sl_queue_conf *q);

/* Thread: any producer. Offers msgs[0..n) to queue q under the policy,
 * as sl_sink_offer() promises: returns how many it consumed with their
 * references (queued, adding them to *enqueued, or dropped and counted by
 * reason); with a blocking policy msgs[ret..n) stay the caller's, and
 * room_fd (>= 0) is written once the queue has room, or at a stall. */
size_t sl_overload_offer(struct sl_overload *o, struct sl_queue *q, struct sl_msg *const *msgs,
                         size_t n, int room_fd, atomic_uint_fast64_t *enqueued);
/* Thread: any. A producer's wish to be told of room (see above), and its
 * withdrawal (room_fd is closing: once this returns it is not written). */
void sl_overload_notify_room(struct sl_overload *o, struct sl_queue *q, int room_fd);
void sl_overload_cancel_notify(struct sl_overload *o, struct sl_queue *q, int room_fd);

/* Thread: any. Releases msgs[0..n) (taking their references), counted as
 * dropped for reason. */
void sl_overload_drop(struct sl_overload *o, enum sl_drop_reason reason,
                      struct sl_msg *const *msgs, size_t n);

/* Thread: the worker, about every 100 ms, also while a write is retried:
 * starts and ends stalls, and logs one line per interval for an output
 * that dropped anything in it. */
void sl_overload_tick(struct sl_overload *o, struct sl_queue *q, int64_t now_ms);
/* Thread: the worker, as it ends: the drops not yet reported. */
void sl_overload_report(struct sl_overload *o, int64_t now_ms);

/* Thread: any. The counters now. */
void sl_overload_counts(struct sl_overload *o, struct sl_drop_counts *out);
/* Thread: any. True while the output is stalled. */
bool sl_overload_stalled(struct sl_overload *o);

#endif /* SL_OVERLOAD_H */
