/* SPDX-License-Identifier: MIT */
/*
 * notify.h: telling the service manager (systemd, sd_notify) what the
 * daemon does: READY=1 once every input is bound and every output open,
 * RELOADING=1 then READY=1 around each reload, STOPPING=1 at shutdown, and
 * WATCHDOG=1 every half WATCHDOG_USEC from the main loop, so a loop that
 * hangs gets the daemon restarted. Without NOTIFY_SOCKET (not run by
 * systemd) or without libsystemd at build time every call does nothing.
 *
 * Thread: main.
 */
#ifndef SL_NOTIFY_H
#define SL_NOTIFY_H

#include <stdint.h>

struct sl_notify {
    int64_t watchdog_ms; /* the interval pings are sent at; 0: no watchdog */
    int64_t next_ms;     /* sl_now_ms() of the next ping */
};

/* Reads the watchdog's settings (sd_watchdog_enabled) into n, and logs
 * them. Call once, before the loop. */
void sl_notify_init(struct sl_notify *n);
void sl_notify_ready(void);
void sl_notify_reloading(void);
void sl_notify_stopping(void);
/* Pings the watchdog when its time came; call from the main loop after
 * every wake-up. */
void sl_notify_tick(struct sl_notify *n);
/* How long the loop may sleep before the next ping (ms, at most t; t < 0
 * is forever): t without a watchdog. */
int sl_notify_timeout(const struct sl_notify *n, int t);

#endif /* SL_NOTIFY_H */
