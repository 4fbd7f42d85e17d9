/* SPDX-License-Identifier: MIT */
/*
 * counters.h: the stats object as the `counters` lines (counters.c), for
 * sluicectl top and anyone with a shell script.
 *
 * Thread: any.
 */
#ifndef SL_COUNTERS_H
#define SL_COUNTERS_H

#include <stddef.h>

#include "sluice-plugin.h" /* struct sluice_buf */

/* The stats object json[0..len) (sl_daemon_stats; borrowed) as lines
 * appended to b, the daemon's first with pid in it. 0, -EINVAL for an
 * object it cannot read, -ENOMEM; b may then hold part of the lines. */
int sl_counters_from_stats(const char *json, size_t len, long pid, struct sluice_buf *b);

#endif /* SL_COUNTERS_H */
