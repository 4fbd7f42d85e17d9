/* SPDX-License-Identifier: MIT */
/*
 * gather.h: how long a datagram input waits for more datagrams before it
 * routes what it has read (the input's `coalesce` key), as a NIC coalesces
 * interrupts and the kernel's NAPI polls.
 *
 * Why. Local senders on /dev/log (syslog(3), Python's SysLogHandler) send
 * one datagram at a time, slower than sluiced reads them. Woken for each,
 * the input pays an epoll wake-up, a receive, a queue hand-off and a
 * context switch for one or two messages, and each wake-up preempts a
 * sender: at 64 senders that was 3-4 µs of daemon CPU per message, most of
 * it in the scheduler (perf: finish_task_switch). Sleeping a short,
 * bounded while after a small read lets the socket gather a batch that the
 * next read takes in one go.
 *
 * The rule (sl_gather_pause):
 * - a batch already large (SL_GATHER_ENOUGH) waits for nothing;
 * - no message waits more than the window in all, at any rate: the pause
 *   ends at the window's end, counted from the read that found the first;
 * - a pause never lets the socket fill: a unix datagram sender blocks once
 *   net.unix.max_dgram_qlen datagrams are queued (UDP drops them), so the
 *   pause is cut to what half the socket's room holds at the rate measured
 *   so far (an EWMA of datagrams per nanosecond over the last cycles).
 *
 * Thread: the input's own; no locks. Times are CLOCK_MONOTONIC
 * nanoseconds (sl_now_ns).
 */
#ifndef SL_GATHER_H
#define SL_GATHER_H

#include <stddef.h>
#include <stdint.h>

#define SL_GATHER_ENOUGH 64 /* datagrams: a batch this large is routed at once */

struct sl_gather {
    int64_t window_ns; /* the input's coalesce; 0: never wait */
    size_t room;       /* datagrams the socket holds before senders block or drop */
    double rate;       /* datagrams per ns, EWMA; 0 before the first cycle */
    int64_t last_ns;   /* when the previous batch was routed; 0: none yet */
};

/* window_ns >= 0; room >= 1: the socket's capacity in datagrams. */
void sl_gather_init(struct sl_gather *g, int64_t window_ns, size_t room);

/* How long to sleep before reading again, given n datagrams read since
 * first_ns (the read that found the first of them) and now; 0: route now. */
int64_t sl_gather_pause(const struct sl_gather *g, size_t n, int64_t first_ns, int64_t now_ns);

/* The batch of n datagrams is routed at now_ns: learns the arrival rate. */
void sl_gather_routed(struct sl_gather *g, size_t n, int64_t now_ns);

/* The room of a unix datagram socket: net.unix.max_dgram_qlen of the
 * calling thread's network namespace (read from /proc/sys), or 10, the
 * kernel's default, when it cannot be read. */
size_t sl_gather_unix_room(void);

/* The room of a UDP socket whose SO_RCVBUF (as getsockopt reads it) is
 * rcvbuf bytes, in syslog datagrams of a few hundred bytes: the kernel
 * charges each about 1 KiB (its skb and data). */
size_t sl_gather_udp_room(size_t rcvbuf);

#endif /* SL_GATHER_H */
