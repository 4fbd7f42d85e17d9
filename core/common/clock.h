/* SPDX-License-Identifier: MIT */
/*
 * clock.h: the daemon's one clock for timeouts, deadlines and rate limits:
 * CLOCK_MONOTONIC, never the wall clock, which may jump when it is set.
 *
 * Thread: any.
 */
#ifndef SL_CLOCK_H
#define SL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
int64_t sl_now_ms(void);

/* The same clock in nanoseconds, for pauses shorter than a millisecond. */
int64_t sl_now_ns(void);

/* CLOCK_MONOTONIC ms milliseconds from now, normalised, as
 * pthread_cond_timedwait() wants it for a condition variable whose clock
 * is CLOCK_MONOTONIC (pthread_condattr_setclock). ms >= 0. */
struct timespec sl_clock_after_ms(int64_t ms);

#endif /* SL_CLOCK_H */
