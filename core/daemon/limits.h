/* SPDX-License-Identifier: MIT */
/*
 * limits.h: the descriptors the daemon may hold (RLIMIT_NOFILE).
 *
 * Each tcp connection holds one, so the usual soft limit of 1024 is less
 * than two tcp inputs at the default max_connections (512 each) with
 * everything else. Start-up raises the soft limit to the hard one, which
 * needs no privilege, and warns when the config's inputs and outputs still
 * need more than that: connections past it are then refused (input_tcp.c
 * keeps a reserve for the rest of the daemon).
 *
 * Thread: main.
 */
#ifndef SL_LIMITS_H
#define SL_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/lua_config.h"

/* Raises the soft RLIMIT_NOFILE to the hard limit (logged at debug level;
 * a failure is logged and changes nothing). Before any thread starts. */
void sl_limits_raise_nofile(void);

/* The most descriptors config c needs at once: every input (its kind's
 * descriptors(), kind.h), every output, the daemon's own. */
unsigned long sl_limits_needed(const struct sl_config *c);

/* True when c needs more descriptors than the soft limit allows, with a
 * warning for the user in msg ("FILE: ..."). */
bool sl_limits_check(const struct sl_config *c, char *msg, size_t len);

#endif /* SL_LIMITS_H */
