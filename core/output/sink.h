/* SPDX-License-Identifier: MIT */
/*
 * sink.h: one output: its plugin instance, its queue, the policy applied
 * when the queue is full, its counters and its worker thread. Inputs offer
 * messages (sl_sink_offer) and get back what a blocked output did not take;
 * everything else about the output stays inside sink.c.
 */
#ifndef SL_SINK_H
#define SL_SINK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/lua_config.h"
#include "output/diskq.h"
#include "output/plugin.h"
#include "output/queue.h"

struct sl_sink; /* opaque: sink.c */

/* A snapshot of an output's counters, for stats. */
struct sl_sink_stats {
    uint64_t enqueued;
    uint64_t written;
    uint64_t dropped;   /* the sum of the three below */
    uint64_t dropped_full;     /* the queue was full and the policy drops */
    uint64_t dropped_timeout;  /* refused while stalled (queue.block_timeout) */
    uint64_t dropped_severity; /* past queue.high_water, at queue.drop_severity or below */
    bool stalled;              /* refusing for block_timeout: what it refuses is dropped */
    uint64_t failed;    /* kept for stats readers: always 0, a refused batch is retried */
    uint64_t abandoned; /* given up unwritten when the output or its input closed */
    uint64_t write_errors; /* write() calls that answered other than SLUICE_OK */
    bool retrying;         /* the batch in hand failed and waits for its next try */
    int last_error;        /* the last failing answer of write() (enum sluice_status); 0: none */
    size_t queue_depth;
    bool persistent;              /* a disk queue: `queue` has its disk counters */
    struct sl_queue_stats queue;  /* the queue's own (queue.h) */
};

/* Where disk queues live (settings.state_dir) and whom their files are
 * for (diskq.h). */
struct sl_state_dir {
    const char *path;            /* borrowed; NULL when not set */
    struct sl_diskq_owner owner;
};

/* Loads the plugin, opens the instance (on a deep copy of conf, which the
 * sink owns: conf itself is only borrowed during the call), opens its
 * queue (policy disk: the disk queue in state->path/<conf->name>,
 * replaying what a previous run left; state borrowed for the call) and
 * starts the worker. On failure returns a negative errno with a reason in
 * err, and nothing is left open. */
int sl_sink_open(struct sl_sink **out, const struct sl_output_conf *conf,
                 const struct sl_strlist *search, const struct sl_state_dir *state, char *err,
                 size_t errlen);

/* As sl_sink_open(), with the descriptor api instead of a plugin loaded
 * by conf->type, and queue (taken in every case) instead of a memory queue
 * sized by conf when not NULL: for tests (a fake plugin, a queue that
 * watches) and outputs built into the daemon. api is borrowed and must
 * outlive the sink. */
int sl_sink_open_with(struct sl_sink **out, const struct sl_output_conf *conf,
                      const struct sluice_output_plugin *api, struct sl_queue *queue,
                      char *err, size_t errlen);

/* Thread: any. Offers msgs[0..n) in order and applies the output's
 * policy; returns how many it consumed, with their references, counting
 * them: those the queue took (enqueued) and, with policy drop, those it
 * did not (dropped), so then all n. With policy block, msgs[ret..n) stay
 * the caller's to park and offer again once the eventfd room_fd is written
 * (asked for here; room_fd -1: not asked). One queue lock per call, as
 * long as everything fits. */
size_t sl_sink_offer(struct sl_sink *s, struct sl_msg *const *msgs, size_t n, int room_fd);

/* Thread: any. Asks for a write to the eventfd room_fd once the queue has
 * room (at once, if it has), and forgets the request (room_fd is closing:
 * once this returns it is not written again). */
void sl_sink_notify_room(struct sl_sink *s, int room_fd);
void sl_sink_cancel_notify(struct sl_sink *s, int room_fd);

/* Thread: any. Releases msgs[0..n) (taking their references), counting
 * them as dropped at this output (dropped_full), as its drop policy does. */
void sl_sink_discard(struct sl_sink *s, struct sl_msg *const *msgs, size_t n);

/* Thread: any. Releases msgs[0..n) (taking their references), counting
 * them as abandoned at this output: messages parked for it by a blocked
 * input that will never be offered (the input closes: shutdown, reload),
 * or that there was no memory to park. Not `dropped`, which is the drop
 * policy's alone. */
void sl_sink_abandon(struct sl_sink *s, struct sl_msg *const *msgs, size_t n);

enum sl_sink_op {
    SL_SINK_REOPEN, /* the plugin's reopen(): what is written after goes to new files */
    SL_SINK_FLUSH   /* what was queued before is written (or given up), then flush() */
};

/* One caller's request to a sink's worker, and where its answer goes. The
 * caller owns the struct and sets efd; the sink borrows the struct from
 * sl_sink_request() until it answers, which it always does: the worker
 * when it has done the work, or sl_sink_close(). Answering sets status,
 * then done (release), and then writes 1 to efd (when >= 0), so efd must
 * stay open until every sink that may answer has been closed, while the
 * struct may be freed as soon as done reads true (acquire). */
struct sl_sink_ticket {
    int efd;
    int status; /* once done: 0; -EIO: the plugin answered RETRY or FATAL;
                 * -ECANCELED: the output closed before it could reopen */
    atomic_bool done;
    /* the sink's, while it holds the ticket */
    enum sl_sink_op op;
    uint64_t target; /* SL_SINK_FLUSH: written + failed to reach first */
    struct sl_sink_ticket *next;
};

/* Thread: any. Hands t (efd set by the caller) to the worker for op and
 * returns at once; see struct sl_sink_ticket for the answer. Requests
 * that wait together are served by one call of the plugin. */
void sl_sink_request(struct sl_sink *s, enum sl_sink_op op, struct sl_sink_ticket *t);

/* Thread: any. The output's name, for messages; valid while s is open
 * (a change of settings keeps the name). */
const char *sl_sink_name(const struct sl_sink *s);
/* Thread: main. The settings in force (the sink's own copy): after
 * sl_sink_change(), the new ones, even before the worker has switched. */
const struct sl_output_conf *sl_sink_conf(const struct sl_sink *s);

/* {=== changing an output on reload
 *
 * A changed output (same name, other settings) keeps its sink: its queue
 * with the messages in it, its worker, its counters, and every reference
 * inputs hold to it (parked messages point at the sink). Only the plugin
 * instance is replaced: the main thread opens the new one aside, so a
 * failure leaves the running output alone, and hands it over; the worker
 * takes it between two batches, or between two tries of a batch the old
 * instance keeps refusing (that batch is abandoned by the old instance and
 * its rest written by the new one: what progress() says the old one wrote
 * is not offered again), closes the old instance and writes everything
 * after with the new one. So the two never write at once, and the queue's
 * order is the order written. */
struct sl_sink_instance;

/* Thread: main. Loads conf's plugin and opens an instance on a deep copy
 * of conf, or, with api, an instance of that descriptor (borrowed; it must
 * outlive the sink). 0, or a negative errno with a reason in err and
 * nothing left open. */
int sl_sink_instance_open(struct sl_sink_instance **out, const struct sl_output_conf *conf,
                          const struct sl_strlist *search, char *err, size_t errlen);
int sl_sink_instance_open_with(struct sl_sink_instance **out, const struct sl_output_conf *conf,
                               const struct sluice_output_plugin *api, char *err,
                               size_t errlen);
/* Thread: main. Closes an instance never handed over. NULL is a no-op. */
void sl_sink_instance_free(struct sl_sink_instance *i);

/* Thread: main. Takes next and returns at once; the worker switches to it
 * as above (a later change before the switch replaces it). The policy and
 * sl_sink_conf() change at once. The queue keeps its size: a new
 * queue.capacity or queue.bytes is logged and takes effect on restart. */
void sl_sink_change(struct sl_sink *s, struct sl_sink_instance *next);
/* }=== */

/* Thread: any. The counters now (each read on its own: not one instant). */
void sl_sink_stats(struct sl_sink *s, struct sl_sink_stats *out);

/* Thread: any (stats: main). Calls emit for each of the plugin's own
 * counters (sluice-plugin.h: counters, stats()), in the plugin's order, as
 * the worker last read them: after its last write() or tick(). name lives
 * only during the call. emit must not call into the sink. */
typedef void (*sl_sink_counter_fn)(void *ctx, const char *name, unsigned long long value);
void sl_sink_counters(struct sl_sink *s, sl_sink_counter_fn emit, void *ctx);

struct sl_sink_totals {
    uint64_t written, dropped, failed, abandoned;
};

/* Thread: main. Starts the stop and returns at once: the worker drains the
 * queue, giving a stuck output until deadline_ms (sl_now_ms() time), and
 * ends. So many outputs stop in parallel, against one deadline. Messages
 * pushed after this are still written, as long as the worker runs.
 * Calling it again does nothing. */
void sl_sink_stop(struct sl_sink *s, int64_t deadline_ms);
/* Thread: any. True once the worker of a stopping sink has ended, so
 * sl_sink_close() will not wait. */
bool sl_sink_stopped(struct sl_sink *s);

/* Stops the sink (sl_sink_stop with timeout_ms from now, unless it was
 * stopped already), waits for the worker, closes the plugin and frees
 * everything, adding the output's final counters to *totals (when not
 * NULL). NULL is a no-op. */
void sl_sink_close(struct sl_sink *s, int timeout_ms, struct sl_sink_totals *totals);

#endif /* SL_SINK_H */
