/* SPDX-License-Identifier: MIT */
/*
 * queue.c: the bounded memory queue, the first implementation of the queue
 * interface (queue.h).
 *
 * DESIGN
 *
 * Shape. A ring of struct sl_msg pointers, bounded by count (the ring's size)
 * and by the sum of m->raw.len, guarded by one mutex. Many input threads push,
 * one output worker pops. The queue holds a reference to each message in it.
 *
 * Why batches. An input thread reads many messages per read() and a worker
 * writes many per write(); taking the lock once per batch on each side makes
 * the lock cost per message small and keeps the two sides from ping-ponging
 * the cache line once per message.
 *
 * Why push never blocks. One input thread serves many connections. If push
 * blocked on a full queue, a single slow output would freeze every
 * connection of that thread, including those routed only to healthy
 * outputs. So push takes what fits and hands back the rest: policy "drop"
 * drops it; policy "block" parks it with the connection, stops reading that
 * connection and asks notify_room() for an eventfd write when the queue has
 * drained to half, which the input's poll loop sees like any other event.
 * Waiting for half (not for one free slot) gives hysteresis: a woken producer
 * finds room for a whole batch instead of trickling in one message per
 * wakeup.
 *
 * Lock discipline. Everything below is guarded by q->lock; no other lock is
 * ever taken while it is held, and no callback runs under it. The only system
 * calls under it are the eventfd writes of room notifications: they are made
 * under the lock so that once sl_queue_cancel_notify() returns, the fd is
 * never written again and the caller may close it (and the number may be
 * reused) safely. An eventfd write does not block in practice (it would only
 * if the counter neared 2^64).
 *
 * Wakeup rule. The consumer sets `waiting` before it sleeps on the condvar.
 * A push that adds messages signals only when `waiting` is set, and clears
 * it, so a stream of pushes into a queue whose worker is busy costs no
 * futex calls, and a sleeping worker is signalled once, not once per push.
 * The signal is sent after the unlock so the woken worker does not wake up
 * only to block on the mutex. sl_queue_wake() uses the same path for work
 * that is not a message (a reopen request): without it, an idle worker
 * would see the request only when its pop timed out.
 *
 * Room rule. "Room" means count <= capacity / 2 and, with a byte bound,
 * bytes <= max_bytes / 2: checking count alone would wake a producer whose
 * batch is refused for bytes, which would re-register, be woken at once and
 * spin.
 */
#include "output/queue.h"
#include "output/room.h"
#include "common/clock.h"
#include "common/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct memq {
    struct sl_queue base; /* first: a struct sl_queue * is a struct memq * */
    pthread_mutex_t lock;
    pthread_cond_t nonempty; /* the consumer sleeps here; CLOCK_MONOTONIC */

    struct sl_msg **ring;
    size_t capacity;
    size_t head;  /* index of the oldest message */
    size_t count;
    size_t bytes; /* sum of raw.len of the queued messages */
    size_t max_bytes;

    bool closed;
    bool waiting; /* the consumer is asleep on `nonempty` */
    bool kicked;  /* sl_queue_wake(): the next pop returns at once */

    struct sl_room_fds notify; /* eventfds waiting for room, each at most once */
};

/* {=== room notifications (q->lock held) */
static bool has_room(const struct memq *q)
{
    if (q->count > q->capacity / 2)
        return false;
    return q->max_bytes == 0 || q->bytes <= q->max_bytes / 2;
}

/* }=== */

static const struct sl_queue_ops memq_ops;

int sl_queue_new(struct sl_queue **out, size_t capacity, size_t max_bytes)
{
    if (capacity == 0 || capacity > SIZE_MAX / sizeof(struct sl_msg *))
        return -EINVAL;
    struct memq *q = sl_calloc(1, sizeof *q);
    if (q == NULL)
        return -ENOMEM;
    q->ring = sl_malloc(capacity * sizeof *q->ring);
    if (q->ring == NULL) {
        free(q);
        return -ENOMEM;
    }
    q->capacity = capacity;
    q->max_bytes = max_bytes;

    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc == 0) {
        rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        if (rc == 0)
            rc = pthread_cond_init(&q->nonempty, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (rc == 0) {
        rc = pthread_mutex_init(&q->lock, NULL);
        if (rc != 0)
            pthread_cond_destroy(&q->nonempty);
    }
    if (rc != 0) {
        free(q->ring);
        free(q);
        return -rc;
    }
    q->base.ops = &memq_ops;
    *out = &q->base;
    return 0;
}

static void memq_free(struct sl_queue *base)
{
    struct memq *q = (struct memq *)base;
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->count; i++)
        sl_msg_unref(q->ring[(q->head + i) % q->capacity]);
    pthread_cond_destroy(&q->nonempty);
    pthread_mutex_destroy(&q->lock);
    sl_room_free(&q->notify);
    free(q->ring);
    free(q);
}

/* The byte bound gives way for a message alone in the queue, so a message
 * larger than max_bytes cannot wedge it. */
static bool fits(const struct memq *q, const struct sl_msg *m)
{
    if (q->count == q->capacity)
        return false;
    if (q->max_bytes == 0 || q->count == 0)
        return true;
    return q->bytes + m->raw.len <= q->max_bytes;
}

static size_t memq_push(struct sl_queue *base, struct sl_msg *const *msgs, size_t n)
{
    struct memq *q = (struct memq *)base;
    pthread_mutex_lock(&q->lock);
    size_t taken = 0;
    while (taken < n && fits(q, msgs[taken])) {
        size_t tail = q->head + q->count;
        if (tail >= q->capacity)
            tail -= q->capacity;
        q->ring[tail] = msgs[taken];
        q->bytes += msgs[taken]->raw.len;
        q->count++;
        taken++;
    }
    bool wake = taken > 0 && q->waiting;
    if (wake)
        q->waiting = false;
    pthread_mutex_unlock(&q->lock);
    if (wake)
        pthread_cond_signal(&q->nonempty);
    return taken;
}

static void memq_notify_room(struct sl_queue *base, int efd)
{
    struct memq *q = (struct memq *)base;
    pthread_mutex_lock(&q->lock);
    /* Out of memory to remember the request: wake the caller now rather
     * than never; it will retry its push and ask again. */
    if (has_room(q) || sl_room_add(&q->notify, efd) != 0)
        sl_room_signal(efd);
    pthread_mutex_unlock(&q->lock);
}

static void memq_cancel_notify(struct sl_queue *base, int efd)
{
    struct memq *q = (struct memq *)base;
    pthread_mutex_lock(&q->lock);
    sl_room_remove(&q->notify, efd);
    pthread_mutex_unlock(&q->lock);
}

/* Sleeps until there is something to pop, the queue is closed, or the
 * timeout passes. Returns with q->lock held either way. */
static void wait_nonempty(struct memq *q, int timeout_ms)
{
    if (timeout_ms == 0)
        return;
    struct timespec deadline = {0, 0};
    if (timeout_ms > 0)
        deadline = sl_clock_after_ms(timeout_ms);
    while (q->count == 0 && !q->closed && !q->kicked) {
        q->waiting = true;
        int rc = timeout_ms < 0 ? pthread_cond_wait(&q->nonempty, &q->lock)
                                : pthread_cond_timedwait(&q->nonempty, &q->lock, &deadline);
        q->waiting = false;
        if (rc == ETIMEDOUT)
            return;
    }
}

static size_t memq_pop(struct sl_queue *base, struct sl_msg **out, size_t max, int timeout_ms)
{
    struct memq *q = (struct memq *)base;
    if (max == 0)
        return 0;
    pthread_mutex_lock(&q->lock);
    if (q->count == 0 && !q->closed && !q->kicked)
        wait_nonempty(q, timeout_ms);
    q->kicked = false;
    size_t n = q->count < max ? q->count : max;
    for (size_t i = 0; i < n; i++) {
        struct sl_msg *m = q->ring[q->head];
        out[i] = m;
        q->bytes -= m->raw.len;
        if (++q->head == q->capacity)
            q->head = 0;
    }
    q->count -= n;
    if (n > 0 && q->notify.n > 0 && has_room(q))
        sl_room_fire(&q->notify);
    pthread_mutex_unlock(&q->lock);
    return n;
}

static void memq_close(struct sl_queue *base)
{
    struct memq *q = (struct memq *)base;
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    bool wake = q->waiting;
    q->waiting = false;
    pthread_mutex_unlock(&q->lock);
    if (wake)
        pthread_cond_signal(&q->nonempty);
}

static void memq_wake(struct sl_queue *base)
{
    struct memq *q = (struct memq *)base;
    pthread_mutex_lock(&q->lock);
    q->kicked = true;
    bool wake = q->waiting;
    q->waiting = false;
    pthread_mutex_unlock(&q->lock);
    if (wake)
        pthread_cond_signal(&q->nonempty);
}

/* Pop hands the references over: nothing is left to forget. */
static void memq_commit(struct sl_queue *base, size_t n)
{
    (void)base;
    (void)n;
}

static size_t memq_depth(struct sl_queue *base)
{
    struct memq *q = (struct memq *)base;
    pthread_mutex_lock(&q->lock);
    size_t n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

static void memq_stats(struct sl_queue *base, struct sl_queue_stats *out)
{
    *out = (struct sl_queue_stats){.depth = memq_depth(base)};
}

static const struct sl_queue_ops memq_ops = {
    .push = memq_push,
    .pop = memq_pop,
    .commit = memq_commit,
    .depth = memq_depth,
    .close = memq_close,
    .notify_room = memq_notify_room,
    .cancel_notify = memq_cancel_notify,
    .wake = memq_wake,
    .free = memq_free,
    .stats = memq_stats,
};
