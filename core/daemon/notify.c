/* SPDX-License-Identifier: MIT */
/*
 * notify.c: sd_notify for the daemon's states and its watchdog (notify.h).
 *
 * The watchdog pings from the main loop itself, never from a thread of its
 * own: a ping must prove that signals and the control socket are served.
 * It pings at half the manager's interval, as sd_watchdog_enabled(3)
 * advises, so one late wake-up does not get the daemon killed.
 */
#include "config.h"

#include "daemon/notify.h"

#include <stdbool.h>
#include <time.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "common/clock.h"
#include "common/log.h"

#ifdef HAVE_LIBSYSTEMD
/* A failure is logged and changes nothing else: the daemon runs on. */
static void notify(const char *state)
{
    int rc = sd_notify(0, state);
    if (rc < 0)
        sl_log(SL_LOG_WARNING, -rc, "sd_notify(\"%s\") failed", state);
}

void sl_notify_init(struct sl_notify *n)
{
    uint64_t usec = 0;
    *n = (struct sl_notify){0};
    int rc = sd_watchdog_enabled(0, &usec);
    if (rc < 0)
        sl_log(SL_LOG_WARNING, -rc, "sd_watchdog_enabled() failed: no watchdog pings");
    if (rc <= 0 || usec == 0)
        return;
    n->watchdog_ms = (int64_t)(usec / 2000);
    if (n->watchdog_ms < 1)
        n->watchdog_ms = 1;
    n->next_ms = sl_now_ms();
    sl_log(SL_LOG_INFO, 0, "watchdog: WATCHDOG_USEC=%llu, pinging every %lld ms",
           (unsigned long long)usec, (long long)n->watchdog_ms);
}

void sl_notify_ready(void)
{
    notify("READY=1\nSTATUS=running");
}

/* MONOTONIC_USEC lets Type=notify-reload match this reload to its signal. */
void sl_notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int rc = sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
                        (unsigned long long)ts.tv_sec * 1000000ull
                            + (unsigned long long)ts.tv_nsec / 1000u);
    if (rc < 0)
        sl_log(SL_LOG_WARNING, -rc, "sd_notify(\"RELOADING=1\") failed");
}

void sl_notify_stopping(void)
{
    notify("STOPPING=1");
}

void sl_notify_tick(struct sl_notify *n)
{
    if (n->watchdog_ms == 0)
        return;
    int64_t now = sl_now_ms();
    if (now < n->next_ms)
        return;
    notify("WATCHDOG=1");
    n->next_ms = now + n->watchdog_ms;
}
#else
void sl_notify_init(struct sl_notify *n)
{
    *n = (struct sl_notify){0};
}

void sl_notify_ready(void) {}
void sl_notify_reloading(void) {}
void sl_notify_stopping(void) {}
void sl_notify_tick(struct sl_notify *n)
{
    (void)n;
}
#endif

int sl_notify_timeout(const struct sl_notify *n, int t)
{
    if (n->watchdog_ms == 0)
        return t;
    int64_t left = n->next_ms - sl_now_ms();
    int w = left < 0 ? 0 : left > 1000000 ? 1000000 : (int)left;
    return t < 0 || w < t ? w : t;
}
