/*
 * queue.h: the bounded queue in front of each output.
 *
 * Many producers (input threads), one consumer (the output's worker). Bounded
 * by message count and by bytes of raw message. Producers push batches and
 * never block: what does not fit is left to them, and they either drop it
 * (policy drop) or park it and ask to be told when there is room (policy
 * block), which keeps an input thread free to serve its other connections.
 * One lock round-trip per batch on each side; the worker is woken only when
 * it sleeps.
 */
#ifndef SL_QUEUE_H
#define SL_QUEUE_H

#include <stddef.h>

#include "common/msg.h"

struct sl_queue;

/* Creates an empty queue holding at most `capacity` messages and `max_bytes`
 * raw bytes (0: no byte limit). A single message larger than max_bytes is
 * still accepted into an empty queue, so it cannot wedge. */
int sl_queue_new(struct sl_queue **out, size_t capacity, size_t max_bytes);

/* Releases the messages still queued. NULL is a no-op. */
void sl_queue_free(struct sl_queue *q);

/* Thread: any. Appends msgs[0..n) in order until the queue is full; returns
 * how many were taken. The queue takes over the references of the taken
 * ones; the rest stay the caller's. Never blocks. */
size_t sl_queue_push(struct sl_queue *q, struct sl_msg *const *msgs, size_t n);

/* Thread: any. Asks for an 8-byte write of 1 to the eventfd `efd` once the
 * queue is at most half full (at once, if it already is). One-shot; asking
 * again with the same fd before it fired is harmless. */
void sl_queue_notify_room(struct sl_queue *q, int efd);

/* Thread: any. Forgets a pending notify_room request (the fd is closing). */
void sl_queue_cancel_notify(struct sl_queue *q, int efd);

/* Thread: consumer. Waits up to timeout_ms (-1: forever) for messages and
 * moves up to `max` of them into out[], in order; the caller owns their
 * references. Returns 0 on timeout, or when the queue is closed and empty. */
size_t sl_queue_pop(struct sl_queue *q, struct sl_msg **out, size_t max, int timeout_ms);

/* Thread: any. After close, pop drains what is left and then returns 0 at
 * once; push still works (a draining input may still deliver). */
void sl_queue_close(struct sl_queue *q);

/* Thread: any. Makes the consumer's pop return now (with what is queued,
 * maybe nothing), or its next pop return at once if it is not waiting:
 * for work that is not a message, such as a request to the worker. */
void sl_queue_wake(struct sl_queue *q);

/* Thread: any. Snapshot of the number of messages queued. */
size_t sl_queue_depth(struct sl_queue *q);

#endif /* SL_QUEUE_H */
