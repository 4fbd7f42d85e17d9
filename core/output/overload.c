/* SPDX-License-Identifier: MIT */
/*
 * overload.c: an output's policy for what its queue cannot take
 * (overload.h).
 *
 * DESIGN
 *
 * Block, with a bound. A blocked output parks what it refuses with the
 * producer, which stops reading that source until the queue has room: on
 * /dev/log that is every program on the machine that logs, held in
 * sendmsg() for as long as the output is stuck (measured: 20.2 s through
 * a 20 s stall). block_timeout bounds that. The first refusal since the
 * queue last had room starts a clock (refusing_since); once it has run
 * block_timeout the output is *stalled*: what it refuses from then on is
 * dropped and counted (dropped_timeout), at once, and the producers parked
 * on it are woken to offer again, so their parked messages go the same
 * way. The stall ends when the queue has room again, at most half full
 * (the queue's own room notification, on the worker's eventfd): then the
 * output blocks normally again. So a stuck output costs a sender at most
 * block_timeout once per stall, not once per message. Both sides may start
 * a stall: the worker in its tick (it runs while a write is retried), and
 * a producer that finds the clock past due, so a worker held in a plugin
 * call that does not return cannot hold the senders either.
 *
 * Drop by severity. Above high_water, messages at drop_severity or less
 * severe are dropped (dropped_severity) while the more severe still enter
 * until the queue is full. The fill is read once per offer, not per
 * message, and only when drop_severity is set. A batch is pushed in runs
 * of kept messages with the dropped ones between them released as they
 * are reached, so that what a blocked queue refuses is always a suffix of
 * the batch, as sl_sink_offer() promises its callers.
 *
 * Reporting. Every drop is counted by reason; the worker logs one line
 * per REPORT_MS for an output that dropped anything in it, naming the
 * reasons, and the stall's start and end each get a line.
 */
#include "output/overload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#define REPORT_MS 10000
#define NO_SEVERITY 8 /* no severity is >= 8: drop_severity off */

static const char *const reason_names[SL_DROP_REASONS] = {"full", "timeout", "severity"};

void sl_overload_set(struct sl_overload *o, const struct sl_queue_conf *q)
{
    bool blocks = q->policy == SL_POLICY_BLOCK
                  || (q->policy == SL_POLICY_DISK && q->overflow == SL_POLICY_BLOCK);
    atomic_store(&o->p.refuse, blocks ? SL_POLICY_BLOCK : SL_POLICY_DROP);
    atomic_store(&o->p.block_timeout_ms, blocks ? q->block_timeout_ms : 0);
    atomic_store(&o->p.drop_severity, q->drop_by_severity ? q->drop_severity : NO_SEVERITY);
    double mark = q->high_water * (double)q->capacity;
    atomic_store(&o->p.high_mark, mark < 1 ? (size_t)0 : (size_t)mark);
    atomic_store(&o->p.high_bytes, (uint64_t)(q->high_water * (double)q->disk_max_size));
}

int sl_overload_init(struct sl_overload *o, const char *name, const struct sl_queue_conf *q)
{
    memset(o, 0, sizeof *o);
    o->name = name;
    o->room_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (o->room_efd < 0)
        return -errno;
    int rc = pthread_mutex_init(&o->mu, NULL);
    if (rc != 0) {
        close(o->room_efd);
        return -rc;
    }
    sl_overload_set(o, q);
    return 0;
}

void sl_overload_destroy(struct sl_overload *o)
{
    if (o->room_efd >= 0)
        close(o->room_efd);
    pthread_mutex_destroy(&o->mu);
    sl_room_free(&o->waiting);
}

void sl_overload_drop(struct sl_overload *o, enum sl_drop_reason reason,
                      struct sl_msg *const *msgs, size_t n)
{
    if (n == 0)
        return;
    atomic_fetch_add_explicit(&o->dropped[reason], n, memory_order_relaxed);
    for (size_t i = 0; i < n; i++)
        sl_msg_unref(msgs[i]);
}

/* {=== producers parked on the output (o->mu, as room.h asks) */
static void remember_waiting(struct sl_overload *o, int fd)
{
    pthread_mutex_lock(&o->mu);
    /* Out of memory: not told at a stall, it still wakes when there is room. */
    (void)sl_room_add(&o->waiting, fd);
    pthread_mutex_unlock(&o->mu);
}

static void wake_waiting(struct sl_overload *o)
{
    pthread_mutex_lock(&o->mu);
    sl_room_fire(&o->waiting);
    pthread_mutex_unlock(&o->mu);
}

void sl_overload_notify_room(struct sl_overload *o, struct sl_queue *q, int room_fd)
{
    if (atomic_load_explicit(&o->p.block_timeout_ms, memory_order_relaxed) > 0)
        remember_waiting(o, room_fd);
    sl_queue_notify_room(q, room_fd);
}

void sl_overload_cancel_notify(struct sl_overload *o, struct sl_queue *q, int room_fd)
{
    pthread_mutex_lock(&o->mu);
    sl_room_remove(&o->waiting, room_fd);
    pthread_mutex_unlock(&o->mu);
    sl_queue_cancel_notify(q, room_fd);
}
/* }=== */

/* {=== the stall */
/* Either side; the one that sets stalled logs it and wakes the parked. */
static void begin_stall(struct sl_overload *o, int64_t since, int64_t now)
{
    if (atomic_exchange(&o->stalled, true))
        return;
    sl_log(SL_LOG_WARNING, 0, "output \"%s\": stalled: its queue has refused messages for "
           "%lld ms (block_timeout); what it refuses is dropped (dropped_timeout) until its "
           "queue is half empty", o->name, (long long)(now - since));
    wake_waiting(o);
}

/* The clock of the stall, started at the first refusal since the queue
 * last had room. True when the output is stalled now. */
static bool stall_due(struct sl_overload *o, int timeout_ms)
{
    if (atomic_load_explicit(&o->stalled, memory_order_relaxed))
        return true;
    int64_t now = sl_now_ms();
    int64_t since = 0;
    if (atomic_compare_exchange_strong(&o->refusing_since, &since, now))
        return false; /* the clock starts now */
    if (now - since < timeout_ms)
        return false;
    begin_stall(o, since, now);
    return true;
}

/* Worker. The queue had room (at most half full): the stall ends. */
static void end_stall(struct sl_overload *o)
{
    atomic_store(&o->refusing_since, 0);
    if (atomic_exchange(&o->stalled, false))
        sl_log(SL_LOG_NOTICE, 0, "output \"%s\": its queue has room again: it blocks its "
               "senders again (dropped_timeout so far: %llu)", o->name,
               (unsigned long long)atomic_load(&o->dropped[SL_DROP_TIMEOUT]));
}
/* }=== */

/* msgs[from..n) did not fit: dropped (policy drop, or a stalled output),
 * or left to the caller to park. */
static size_t refused(struct sl_overload *o, struct sl_queue *q, struct sl_msg *const *msgs,
                      size_t from, size_t n, int room_fd)
{
    if (atomic_load_explicit(&o->p.refuse, memory_order_relaxed) == SL_POLICY_DROP) {
        sl_overload_drop(o, SL_DROP_FULL, msgs + from, n - from);
        return n;
    }
    int timeout = atomic_load_explicit(&o->p.block_timeout_ms, memory_order_relaxed);
    if (timeout > 0 && stall_due(o, timeout)) {
        sl_overload_drop(o, SL_DROP_TIMEOUT, msgs + from, n - from);
        return n;
    }
    if (room_fd >= 0)
        sl_overload_notify_room(o, q, room_fd);
    return from;
}

static size_t push(struct sl_queue *q, struct sl_msg *const *msgs, size_t n,
                   atomic_uint_fast64_t *enqueued)
{
    size_t taken = sl_queue_push(q, msgs, n);
    if (taken > 0)
        atomic_fetch_add_explicit(enqueued, taken, memory_order_relaxed);
    return taken;
}

/* Past high_water: runs of kept messages pushed, the others dropped as
 * they are reached (see the top). */
static size_t offer_by_severity(struct sl_overload *o, struct sl_queue *q,
                                struct sl_msg *const *msgs, size_t n, int room_fd, int from_sev,
                                atomic_uint_fast64_t *enqueued)
{
    size_t done = 0;
    while (done < n) {
        size_t b = done;
        while (b < n && msgs[b]->severity < from_sev)
            b++;
        if (b > done) {
            size_t taken = push(q, msgs + done, b - done, enqueued);
            if (taken < b - done)
                return refused(o, q, msgs, done + taken, n, room_fd);
        }
        size_t c = b;
        while (c < n && msgs[c]->severity >= from_sev)
            c++;
        sl_overload_drop(o, SL_DROP_SEVERITY, msgs + b, c - b);
        done = c;
    }
    return n;
}

/* The fill that drop_severity looks at: a memory queue's messages against
 * its capacity; a disk queue's bytes against disk.max_size, since its
 * memory part is only a cache and never refuses. */
static bool past_high_water(struct sl_overload *o, struct sl_queue *q)
{
    if (q->persistent) {
        struct sl_queue_stats st;
        sl_queue_stats(q, &st);
        return st.disk_bytes > atomic_load_explicit(&o->p.high_bytes, memory_order_relaxed);
    }
    return sl_queue_depth(q) > atomic_load_explicit(&o->p.high_mark, memory_order_relaxed);
}

size_t sl_overload_offer(struct sl_overload *o, struct sl_queue *q, struct sl_msg *const *msgs,
                         size_t n, int room_fd, atomic_uint_fast64_t *enqueued)
{
    int from_sev = atomic_load_explicit(&o->p.drop_severity, memory_order_relaxed);
    if (from_sev < NO_SEVERITY && past_high_water(o, q))
        return offer_by_severity(o, q, msgs, n, room_fd, from_sev, enqueued);
    size_t taken = push(q, msgs, n, enqueued);
    return taken == n ? n : refused(o, q, msgs, taken, n, room_fd);
}

/* {=== the worker's side */
static void report(struct sl_overload *o, int64_t window_ms)
{
    uint64_t d[SL_DROP_REASONS], total = 0;
    for (int r = 0; r < SL_DROP_REASONS; r++) {
        uint64_t now = atomic_load_explicit(&o->dropped[r], memory_order_relaxed);
        d[r] = now - o->reported[r];
        o->reported[r] = now;
        total += d[r];
    }
    if (total == 0)
        return;
    char why[128] = "";
    size_t len = 0;
    for (int r = 0; r < SL_DROP_REASONS; r++) {
        if (d[r] > 0 && len < sizeof why)
            len += (size_t)snprintf(why + len, sizeof why - len, "%s%llu %s", len ? ", " : "",
                                    (unsigned long long)d[r], reason_names[r]);
    }
    sl_log(SL_LOG_WARNING, 0, "output \"%s\": dropped %llu in the last %lld s (%s)", o->name,
           (unsigned long long)total, (long long)((window_ms + 500) / 1000), why);
}

void sl_overload_report(struct sl_overload *o, int64_t now_ms)
{
    report(o, now_ms - (o->next_report_ms - REPORT_MS));
}

/* Ends a stall (or a refusal streak) once the queue says it has room;
 * asks it to say so while one lasts. */
static void watch_room(struct sl_overload *o, struct sl_queue *q)
{
    if (o->room_asked) {
        uint64_t v;
        if (read(o->room_efd, &v, sizeof v) != (ssize_t)sizeof v)
            return;
        o->room_asked = false;
        end_stall(o);
        return;
    }
    if (atomic_load_explicit(&o->refusing_since, memory_order_relaxed) != 0) {
        o->room_asked = true;
        sl_queue_notify_room(q, o->room_efd);
    }
}

void sl_overload_tick(struct sl_overload *o, struct sl_queue *q, int64_t now_ms)
{
    if (o->next_report_ms == 0)
        o->next_report_ms = now_ms + REPORT_MS;
    int timeout = atomic_load_explicit(&o->p.block_timeout_ms, memory_order_relaxed);
    if (timeout > 0 || o->room_asked)
        watch_room(o, q);
    int64_t since = atomic_load_explicit(&o->refusing_since, memory_order_relaxed);
    if (timeout > 0 && since != 0 && now_ms - since >= timeout)
        begin_stall(o, since, now_ms);
    if (now_ms >= o->next_report_ms) {
        report(o, REPORT_MS);
        o->next_report_ms = now_ms + REPORT_MS;
    }
}
/* }=== */

void sl_overload_counts(struct sl_overload *o, struct sl_drop_counts *out)
{
    for (int r = 0; r < SL_DROP_REASONS; r++)
        out->by[r] = atomic_load_explicit(&o->dropped[r], memory_order_relaxed);
}

bool sl_overload_stalled(struct sl_overload *o)
{
    return atomic_load_explicit(&o->stalled, memory_order_relaxed);
}
