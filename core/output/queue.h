/* SPDX-License-Identifier: MIT */
/*
 * queue.h: the queue in front of each output, as an interface, and its
 * first implementation, the bounded memory queue (queue.c).
 *
 * Many producers (input threads), one consumer (the output's worker).
 * Producers push batches and never block: what does not fit is left to
 * them, and the sink (sink.h) either drops it (policy drop) or hands it
 * back to be parked, and asks to be told when there is room (policy
 * block), which keeps an input thread free to serve its other connections.
 * One lock round-trip per batch on each side; the worker is woken only when
 * it sleeps.
 *
 * The consumer's cycle is pop -> write -> commit: pop lends the worker the
 * oldest messages, and commit says they are done with (written, or given
 * up), so a queue that keeps messages until they are written (a disk
 * queue) forgets them only then. The memory queue hands its references
 * over at pop, and its commit has nothing to do; the worker calls it all
 * the same. A second implementation is a struct whose first member is a
 * struct sl_queue with its own ops, and a constructor.
 */
#ifndef SL_QUEUE_H
#define SL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/msg.h"

struct sl_queue;

/* What a queue says of itself, for stats (sl_queue_stats()). A memory
 * queue fills depth only; the rest is the disk queue's (diskq.h). */
struct sl_queue_stats {
    size_t depth;            /* messages queued (not yet popped) */
    uint64_t disk_bytes;     /* bytes of segment files */
    uint64_t segments;       /* segment files */
    uint64_t replayed;       /* records found unacknowledged at open */
    uint64_t corrupt;        /* records (or damaged regions) found bad, at open or read */
    uint64_t torn;           /* torn tails cut at open */
    uint64_t bad_segments;   /* segments moved or copied into damaged/ */
    uint64_t read_from_disk; /* records the consumer read from segments, not memory */
    uint64_t full;           /* pushes refused (in part) for max_size */
};

/* What every queue implements; the comments of the sl_queue_* wrappers
 * below are the contract. */
struct sl_queue_ops {
    size_t (*push)(struct sl_queue *q, struct sl_msg *const *msgs, size_t n);
    size_t (*pop)(struct sl_queue *q, struct sl_msg **out, size_t max, int timeout_ms);
    void (*commit)(struct sl_queue *q, size_t n);
    size_t (*depth)(struct sl_queue *q);
    void (*close)(struct sl_queue *q);
    void (*notify_room)(struct sl_queue *q, int efd);
    void (*cancel_notify)(struct sl_queue *q, int efd);
    void (*wake)(struct sl_queue *q);
    void (*free)(struct sl_queue *q);
    void (*stats)(struct sl_queue *q, struct sl_queue_stats *out); /* optional */
};

struct sl_queue {
    const struct sl_queue_ops *ops;
    /* What was popped and not committed stays queued for the next start
     * (a disk queue): the sink must not count it lost. See commit. */
    bool persistent;
};

/* Creates an empty memory queue holding at most `capacity` messages and
 * `max_bytes` raw bytes (0: no byte limit). A single message larger than
 * max_bytes is still accepted into an empty queue, so it cannot wedge. */
int sl_queue_new(struct sl_queue **out, size_t capacity, size_t max_bytes);

/* Releases the messages still queued. NULL is a no-op. */
static inline void sl_queue_free(struct sl_queue *q)
{
    if (q != NULL)
        q->ops->free(q);
}

/* Thread: any. Appends msgs[0..n) in order until the queue is full; returns
 * how many were taken. The queue takes over the references of the taken
 * ones; the rest stay the caller's. Never blocks. */
static inline size_t sl_queue_push(struct sl_queue *q, struct sl_msg *const *msgs, size_t n)
{
    return q->ops->push(q, msgs, n);
}

/* Thread: any. Asks for an 8-byte write of 1 to the eventfd `efd` once the
 * queue is at most half full (at once, if it already is). One-shot; asking
 * again with the same fd before it fired is harmless. */
static inline void sl_queue_notify_room(struct sl_queue *q, int efd)
{
    q->ops->notify_room(q, efd);
}

/* Thread: any. Forgets a pending notify_room request (the fd is closing):
 * once this returns, efd is not written again. */
static inline void sl_queue_cancel_notify(struct sl_queue *q, int efd)
{
    q->ops->cancel_notify(q, efd);
}

/* Thread: consumer. Waits up to timeout_ms (-1: forever) for messages and
 * moves up to `max` of them into out[], in order; the caller owns their
 * references. Returns 0 on timeout, after sl_queue_wake(), or when the
 * queue is closed and empty. Each pop that returned messages is followed
 * by its commit before the next pop. */
static inline size_t sl_queue_pop(struct sl_queue *q, struct sl_msg **out, size_t max,
                                  int timeout_ms)
{
    return q->ops->pop(q, out, max, timeout_ms);
}

/* Thread: consumer. The n messages of the last pop are done with: written,
 * or counted as failed. For a persistent queue that is the
 * acknowledgement: they leave the disk. Partial commit: at shutdown a
 * persistent queue's consumer may commit k < n of its last pop (what the
 * plugin says it wrote, progress()) and then close and free the queue
 * without another pop: the other n - k stay unacknowledged and are
 * delivered first at the next open. Otherwise n is the whole pop. */
static inline void sl_queue_commit(struct sl_queue *q, size_t n)
{
    q->ops->commit(q, n);
}

/* Thread: any. After close, pop drains what is left and then returns 0 at
 * once; push still works (a draining input may still deliver). */
static inline void sl_queue_close(struct sl_queue *q)
{
    q->ops->close(q);
}

/* Thread: any. Makes the consumer's pop return now (with what is queued,
 * maybe nothing), or its next pop return at once if it is not waiting:
 * for work that is not a message, such as a request to the worker. */
static inline void sl_queue_wake(struct sl_queue *q)
{
    q->ops->wake(q);
}

/* Thread: any. Snapshot of the number of messages queued. */
static inline size_t sl_queue_depth(struct sl_queue *q)
{
    return q->ops->depth(q);
}

/* Thread: any. A snapshot of the queue's counters; depth only for a
 * queue without a stats op. */
static inline void sl_queue_stats(struct sl_queue *q, struct sl_queue_stats *out)
{
    *out = (struct sl_queue_stats){0};
    if (q->ops->stats != NULL)
        q->ops->stats(q, out);
    else
        out->depth = q->ops->depth(q);
}

#endif /* SL_QUEUE_H */
