/* SPDX-License-Identifier: MIT */
/* limits.c: RLIMIT_NOFILE at start-up and the check that the config fits
 * it (limits.h). */
#include "daemon/limits.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>

#include "common/log.h"
#include "input/kind.h"

/* The daemon's own: stdio, the signalfd and main epoll set, the control
 * socket and its clients and eventfd, a plugin's dlopen() while loading,
 * and what a reload opens before it closes the old. A guess with room. */
#define DAEMON_FDS 32
/* An output: its file, a reopened file before the old one is closed, and
 * room for a plugin that holds a few more. */
#define OUTPUT_FDS 4

void sl_limits_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        sl_log(SL_LOG_WARNING, errno, "setrlimit(RLIMIT_NOFILE, %llu) failed",
               (unsigned long long)rl.rlim_max);
        return;
    }
    sl_log(SL_LOG_DEBUG, 0, "descriptor limit raised from %llu to %llu",
           (unsigned long long)was, (unsigned long long)rl.rlim_max);
}

unsigned long sl_limits_needed(const struct sl_config *c)
{
    unsigned long n = DAEMON_FDS + (unsigned long)c->noutputs * OUTPUT_FDS;
    for (size_t i = 0; i < c->ninputs; i++) {
        const struct sl_input_conf *in = &c->inputs[i];
        n += 2; /* its epoll set and wake fd */
        n += in->kind != NULL && in->kind->descriptors != NULL ? in->kind->descriptors(in) : 1;
    }
    return n;
}

bool sl_limits_check(const struct sl_config *c, char *msg, size_t len)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return false;
    unsigned long need = sl_limits_needed(c);
    if (need <= rl.rlim_cur)
        return false;
    snprintf(msg, len,
             "%s: the inputs' max_connections and the outputs may need %lu descriptors, "
             "more than the limit of %llu (ulimit -n; the hard limit is %llu): connections "
             "past it will be refused", c->file, need, (unsigned long long)rl.rlim_cur,
             rl.rlim_max == RLIM_INFINITY ? 0ull : (unsigned long long)rl.rlim_max);
    return true;
}
