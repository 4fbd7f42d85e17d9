/* SPDX-License-Identifier: MIT */
/*
 * backoff.c: when to try again after failures (plugin_lib.h).
 *
 * Backoff counts in CLOCK_MONOTONIC milliseconds, which the wall clock's
 * steps (NTP, an administrator's date) do not move; the caller passes the
 * time in, so tick() reads the clock once and tests need no sleeping.
 */
#include "lib/plugin_lib.h"

#include <time.h>

void spl_backoff_init(struct spl_backoff *b, uint32_t first_ms, uint32_t max_ms)
{
    *b = (struct spl_backoff){.first_ms = first_ms, .max_ms = max_ms < first_ms ? first_ms
                                                                                 : max_ms};
    b->delay_ms = b->first_ms;
}

bool spl_backoff_due(const struct spl_backoff *b, int64_t now_ms)
{
    return now_ms >= b->next_ms;
}

uint32_t spl_backoff_failed(struct spl_backoff *b, int64_t now_ms)
{
    uint32_t d = b->delay_ms;
    b->next_ms = now_ms + d;
    b->delay_ms = d > b->max_ms / 2 ? b->max_ms : d * 2;
    return d;
}

void spl_backoff_reset(struct spl_backoff *b)
{
    b->delay_ms = b->first_ms;
    b->next_ms = 0;
}

int64_t spl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
