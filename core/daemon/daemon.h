/* SPDX-License-Identifier: MIT */
/*
 * daemon.h: the running daemon around its runtime (runtime.h: one
 * config's outputs and inputs): the signal loop, reload, reopen, flush and
 * stats.
 *
 * Thread: the main thread, except where stated.
 */
#ifndef SL_DAEMON_H
#define SL_DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "daemon/privs.h"
#include "format/format.h"
#include "input/input.h"
#include "conf/lua_config.h"
#include "daemon/notify.h"
#include "daemon/runtime.h"

struct sl_options {
    const char *config_path;
    struct sl_strlist plugin_path; /* from -P, searched first */
    const char *pidfile;
    bool foreground;
    bool verbose;
};

struct sl_daemon {
    const struct sl_options *opts;
    struct sl_runtime *rt;
    struct sl_control *control;
    struct sl_metrics *metrics; /* settings.metrics; NULL: none (metrics.h) */
    struct sl_activation *sockets; /* owned: what systemd passed (activation.h); NULL: none */
    struct sl_notify notify;       /* the watchdog's schedule (notify.h) */
    atomic_uint_fast64_t unrouted;
    uint64_t discarded_before; /* by the drop routes of configs reloaded away */
    struct sl_sink_totals closed; /* of outputs already closed, for the last log line */
    struct sl_sink **retiring; /* owned: outputs a reload removed, still draining */
    size_t nretiring, retire_cap;
    int64_t started_ms;
    time_t started_wall; /* time() at start, for status */
    char hostname[256];
    struct sl_privs privs; /* settings.user / .group, dropped to after start (privs.h) */
    /* Every reload, by signal or control socket (reload.c), for status and
     * stats: how many, how many failed, and the last one's time (time();
     * 0: none yet), result and first error. */
    uint64_t reloads, reloads_failed;
    time_t last_reload;
    bool last_reload_ok;
    char last_reload_error[512];
};

/* Loads the config and checks it whole, plugins and their keys included.
 * Returns 0 with *out and *search set, or -EINVAL with errors in errs. */
int sl_daemon_load(const struct sl_options *o, struct sl_config **out,
                   struct sl_strlist *search, struct sl_errors *errs);
/* sl_daemon_load, logging every error after `what`; the first goes to err
 * too. When memory ran out even for the errors, err says so and is logged:
 * a failed load never goes unexplained. For start-up and reload (reload.c). */
int sl_daemon_load_logged(const struct sl_options *o, struct sl_config **c,
                          struct sl_strlist *search, struct sl_errors *errs, const char *what,
                          char *err, size_t errlen);

/* sluiced --check: prints errors, returns the exit status. */
int sl_daemon_check(const struct sl_options *o);

/* Runs until SIGTERM/SIGINT; returns the exit status. ready_fd, when >= 0,
 * gets one byte (the start-up status) once the daemon is up or has failed.
 * It blocks the signals it serves, then is sl_daemon_start, the signal
 * loop and sl_daemon_stop. */
int sl_daemon_run(const struct sl_options *o, int ready_fd);

/* {=== the steps of sl_daemon_run around its loop, which tests call alone */
/* Sets d up for o (borrowed; it must outlive d): loads and checks the
 * config, opens the control socket, opens the outputs, binds the inputs and
 * starts their threads. 0; or a negative errno, every error logged, the
 * first in err (written without allocating, so it is there when memory ran
 * out), and nothing left open or running (d needs no sl_daemon_stop).
 * Threads it starts inherit the caller's signal mask. */
int sl_daemon_start(struct sl_daemon *d, const struct sl_options *o, char *err, size_t errlen);
/* Stops the inputs, drains and closes the outputs, closes the control
 * socket and logs the totals. d may be started again afterwards. */
void sl_daemon_stop(struct sl_daemon *d);
/* }=== */

/* For the control socket. Thread: main. Reloads d->opts->config_path (the
 * protocol at the top of reload.c). 0; or a negative errno with the errors
 * logged and in errs, the running config as it was, unless only step 5
 * failed (an input at an address a stopped input freed): then the rest of
 * the new config runs. */
int sl_daemon_reload(struct sl_daemon *d, struct sl_errors *errs);
/* The same, with the first error also in err: errs misses what could not
 * be recorded when memory ran out, err never does. */
int sl_daemon_reload_err(struct sl_daemon *d, struct sl_errors *errs, char *err, size_t errlen);
/* Makes room for n more retiring outputs, so that retiring them cannot
 * fail (a reload reserves before its point of no return). 0 or -ENOMEM. */
int sl_daemon_retire_reserve(struct sl_daemon *d, size_t n);
/* Takes sink s, which a reload removed: it stops now and drains on its own
 * worker (for up to SL_DRAIN_TIMEOUT_MS), so the reload does not wait for
 * it; the main loop closes it once done (sl_daemon_reap), adding its
 * counters to d->closed. */
void sl_daemon_retire(struct sl_daemon *d, struct sl_sink *s);
/* Closes the retiring outputs that are done, or, with wait, all of them
 * (waiting for each until its deadline). */
void sl_daemon_reap(struct sl_daemon *d, bool wait);
/* Appends the stats JSON object (one line, no newline) to buf (stats.c). */
int sl_daemon_stats(struct sl_daemon *d, struct sluice_buf *buf);
/* Appends status lines ("KEY: VALUE\n": pid, version, config, started,
 * uptime, reloads, last reload and its result) to buf (stats.c). */
int sl_daemon_status(struct sl_daemon *d, struct sluice_buf *buf);
/* Appends the stats counters as lines, one for the daemon, one for each
 * input, output and route: "KIND NAME KEY=VALUE..." (stats.c, through
 * counters.c; sluicectl(1) COUNTERS). */
int sl_daemon_counters(struct sl_daemon *d, struct sluice_buf *buf);

#endif /* SL_DAEMON_H */
