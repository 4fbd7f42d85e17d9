/* SPDX-License-Identifier: MIT */
/*
 * daemon.c: loading and checking the config, start-up, the main loop
 * (signals and the control socket's commands) and shutdown. Reload is in
 * reload.c, whose top comment draws its protocol; what one config runs
 * (its outputs and inputs) in runtime.c; the stats JSON in stats.c.
 *
 * Thread: main.
 *
 * Order matters. Start: outputs first (so inputs never route to something
 * closed), then inputs, bound before their threads start so a port in use
 * fails start-up. Stop: inputs first (they deliver what is buffered), then
 * outputs drain their queues and close; each side in parallel, and both
 * against one deadline, settings.shutdown_timeout after the signal, so the
 * shutdown takes at most that (plus what a plugin call that does not
 * return holds it up), however many inputs and outputs are stuck.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon/control.h"
#include "daemon/limits.h"
#include "daemon/metrics.h"
#include "input/activation.h"
#include "daemon/runtime.h"
#include "common/log.h"
#include "common/alloc.h"
#include "output/plugin.h"
#include "output/fanout.h"
#include "output/sink.h"
#include "common/util.h"
#include "common/clock.h"

/* {=== loading and checking */
/* -P dirs, then settings.plugin_path; sl_plugin_load() appends
 * $SLUICE_PLUGIN_PATH and the installed directory (plugin.h). */
static int build_search(const struct sl_options *o, const struct sl_config *c,
                        struct sl_strlist *out)
{
    int rc = 0;
    for (size_t i = 0; i < o->plugin_path.n && rc == 0; i++)
        rc = sl_strlist_push(out, o->plugin_path.v[i]);
    for (size_t i = 0; i < c->plugin_path.n && rc == 0; i++)
        rc = sl_strlist_push(out, c->plugin_path.v[i]);
    return rc;
}

/* Appends ", did you mean 'NAME'?" to err when a plugin on the search path
 * has a name close to type. */
static void hint_type(const char *type, const struct sl_strlist *search, char *err,
                      size_t errlen)
{
    struct sl_strlist names = {0};
    (void)sl_plugin_names(search, &names); /* out of memory: fewer hints */
    const char *best = sl_closest(type, strlen(type), (const char *const *)names.v, names.n);
    size_t n = strlen(err);
    if (best != NULL && n < errlen)
        snprintf(err + n, errlen - n, ", did you mean '%s'?", best);
    sl_strlist_clear(&names);
}

/* Loads each output's plugin and checks the output's keys with it. Runs
 * over a config that failed to load too (sl_config_load_partial), so one
 * --check reports every error: then it skips the outputs whose name, type
 * or plugin keys were not read. */
static void check_plugins(const struct sl_config *c, const struct sl_strlist *search,
                          struct sl_errors *errs)
{
    if (c->noutputs > SL_MAX_OUTPUTS)
        sl_errors_add(errs, c->file, 0, "%zu outputs; at most %d are supported", c->noutputs,
                      SL_MAX_OUTPUTS);
    /* The previous output's plugin stays loaded until the next is: the
     * same .so is then dlopen()ed again by reference count, not mapped
     * anew for each of 100,000 outputs. */
    struct sl_plugin *prev = NULL;
    for (size_t i = 0; i < c->noutputs; i++) {
        const struct sl_output_conf *o = &c->outputs[i];
        struct sl_plugin *p;
        char err[1024];
        if (o->name == NULL || o->type == NULL || o->broken)
            continue; /* the loader reported why */
        int rc = sl_plugin_load(o->type, o->plugin, search, &p, err, sizeof err);
        if (rc == -ENOENT && o->plugin == NULL)
            hint_type(o->type, search, err, sizeof err);
        if (rc < 0) {
            sl_errors_add(errs, o->file ? o->file : c->file, o->line, "%s", err);
            continue;
        }
        sl_plugin_check(p, o, errs);
        sl_plugin_unload(prev);
        prev = p;
    }
    sl_plugin_unload(prev);
}

int sl_daemon_load(const struct sl_options *o, struct sl_config **out,
                   struct sl_strlist *search, struct sl_errors *errs)
{
    struct sl_config *c;
    size_t before = errs->n;
    int rc = sl_config_load_partial(o->config_path, &c, errs);
    if (c == NULL)
        return -EINVAL;
    *search = (struct sl_strlist){0};
    if (build_search(o, c, search) < 0) {
        sl_errors_add(errs, o->config_path, 0, "out of memory");
        rc = -EINVAL;
    } else {
        /* Even when the loader found errors: every error in one run. */
        size_t loaded = sl_errors_count(errs);
        check_plugins(c, search, errs);
        sl_privs_check(c, errs);
        sl_config_sort_errors(c, errs, before);
        if (rc == 0 && sl_errors_count(errs) == loaded) {
            *out = c;
            return 0;
        }
    }
    sl_strlist_clear(search);
    sl_config_free(c);
    return -EINVAL;
}

int sl_daemon_check(const struct sl_options *o)
{
    struct sl_errors errs = {0};
    struct sl_config *c;
    struct sl_strlist search;
    int rc = sl_daemon_load(o, &c, &search, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.v[i]);
    if (errs.lost > 0)
        fprintf(stderr, "%s: %zu more errors not shown (out of memory)\n", o->config_path,
                errs.lost);
    sl_errors_clear(&errs);
    if (rc < 0)
        return 1;
    char warn[512];
    if (sl_limits_check(c, warn, sizeof warn))
        fprintf(stderr, "warning: %s\n", warn);
    struct sl_errors hangs = {0};
    sl_config_warn_hangs(c, &hangs);
    for (size_t i = 0; i < hangs.n; i++)
        fprintf(stderr, "warning: %s\n", hangs.v[i]);
    sl_errors_clear(&hangs);
    printf("%s: ok\n", o->config_path);
    sl_strlist_clear(&search);
    sl_config_free(c);
    return 0;
}

static void log_errors(const char *what, const struct sl_errors *errs, size_t from)
{
    for (size_t i = from; i < errs->n; i++)
        sl_log(SL_LOG_ERR, 0, "%s%s", what, errs->v[i]);
}

int sl_daemon_load_logged(const struct sl_options *o, struct sl_config **c,
                          struct sl_strlist *search, struct sl_errors *errs, const char *what,
                          char *err, size_t errlen)
{
    size_t before = errs->n;
    if (sl_daemon_load(o, c, search, errs) == 0)
        return 0;
    log_errors(what, errs, before);
    if (errs->n > before) {
        snprintf(err, errlen, "%s", errs->v[before]);
    } else {
        snprintf(err, errlen, "%s: cannot load: out of memory (the errors were lost)",
                 o->config_path);
        sl_log(SL_LOG_ERR, 0, "%s%s", what, err);
    }
    return -EINVAL;
}
/* }=== */

/* {=== control commands (control.h): the daemon's side of the table */
static int cmd_stats(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    if (sl_daemon_stats(ctx, b) == 0 && sl_buf_append(b, "\n", 1) == 0)
        return 0;
    b->len = 0; /* never half a JSON object */
    sl_buf_append(b, "error: out of memory\n", 21);
    return -ENOMEM;
}

static int cmd_status(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    if (sl_daemon_status(ctx, b) == 0)
        return 0;
    b->len = 0;
    sl_buf_append(b, "error: out of memory\n", 21);
    return -ENOMEM;
}

static int cmd_counters(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    if (sl_daemon_counters(ctx, b) == 0)
        return 0;
    b->len = 0; /* never half the lines */
    sl_buf_append(b, "error: out of memory\n", 21);
    return -ENOMEM;
}

static int cmd_reload(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    struct sl_errors errs = {0};
    int rc = sl_daemon_reload(ctx, &errs);
    if (rc == 0)
        sl_buf_append(b, "ok\n", 3);
    for (size_t i = 0; rc < 0 && i < errs.n; i++) {
        sl_buf_append(b, "error: ", 7);
        sl_buf_append(b, errs.v[i], strlen(errs.v[i]));
        sl_buf_append(b, "\n", 1);
    }
    if (rc < 0 && errs.n == 0)
        sl_buf_append(b, "error: failed\n", 14);
    sl_errors_clear(&errs);
    return rc;
}

/* Asks every output at once and returns: the control socket answers when
 * they all have (or SL_DRAIN_TIMEOUT_MS passed), and serves on meanwhile. */
static int ask_outputs(struct sl_daemon *d, enum sl_sink_op op, struct sl_fanout **wait,
                       int efd)
{
    const struct sl_routing *r = &d->rt->routing;
    return sl_fanout_new(wait, r->sinks, r->nsinks, op, efd, SL_DRAIN_TIMEOUT_MS);
}

static int cmd_reopen(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    return ask_outputs(ctx, SL_SINK_REOPEN, wait, efd);
}

static int cmd_flush(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    return ask_outputs(ctx, SL_SINK_FLUSH, wait, efd);
}

/* Commands that change something are logged when a client asks, as their
 * signals are (on_sighup, SIGUSR1), so the log tells what happened whoever
 * asked. */
static const struct sl_control_cmd commands[] = {
    {"stats", cmd_stats, NULL},
    {"status", cmd_status, NULL},
    {"counters", cmd_counters, NULL},
    {"reload", cmd_reload, "reloading the config"},
    {"reopen", cmd_reopen, "reopening files"},
    {"flush", cmd_flush, "flushing outputs"},
};
/* }=== */

/* {=== the main loop */
static int signals_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    /* Blocked before any thread starts, so every thread inherits the mask
     * and only the signalfd sees them. */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void set_hostname(struct sl_daemon *d, const struct sl_config *c)
{
    if (c->hostname != NULL)
        snprintf(d->hostname, sizeof d->hostname, "%s", c->hostname);
    else if (gethostname(d->hostname, sizeof d->hostname - 1) < 0)
        snprintf(d->hostname, sizeof d->hostname, "localhost");
}

/* {=== the pidfile: locked (flock) for as long as the daemon runs, so a
 * second sluiced given the same one refuses to start, naming the first,
 * before it touches any socket. The lock goes with the process: a daemon
 * that was killed leaves a file nobody holds, which the next one takes. */

/* The pid written in the pidfile open at fd, or 0. */
static long pidfile_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

/* The pidfile at path, open and locked: its fd, or -1 (logged) when
 * another process holds it or it cannot be opened (never through a
 * symbolic link). */
static int lock_pidfile(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        sl_log(SL_LOG_ERR, errno, "cannot open the pidfile \"%s\"", path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        long pid = e == EWOULDBLOCK ? pidfile_pid(fd) : 0;
        if (e != EWOULDBLOCK)
            sl_log(SL_LOG_ERR, e, "cannot lock the pidfile \"%s\"", path);
        else if (pid > 0)
            sl_log(SL_LOG_ERR, 0, "the pidfile \"%s\" is locked by pid %ld: another sluiced "
                   "runs with it (stop it first)", path, pid);
        else
            sl_log(SL_LOG_ERR, 0, "the pidfile \"%s\" is locked: another sluiced runs with it "
                   "(stop it first)", path);
        close(fd);
        return -1;
    }
    return fd;
}

/* Writes this process's pid into the locked pidfile at fd. */
static void write_pidfile(int fd, const char *path)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        sl_log(SL_LOG_WARNING, errno, "cannot write the pidfile \"%s\"", path);
}
/* }=== */

static void tell_ready(int fd, char status)
{
    if (fd < 0)
        return;
    ssize_t w = write(fd, &status, 1);
    (void)w;
    close(fd);
}

/* Reloads, then reopens every output, whether the reload took or was
 * refused: logrotate sends SIGHUP after it renamed the files (Debian's
 * rsyslog-rotate does, and syslog-ng reopens on it too), and an old config
 * kept after a refused reload writes to the same moved files. The reopen
 * is SIGUSR1's, answered later in the control's loop, so it does not hold
 * the main loop; it asks the outputs of the config that now runs. */
static void on_sighup(struct sl_daemon *d)
{
    sl_log(SL_LOG_NOTICE, 0, "SIGHUP received, reloading %s and reopening files",
           d->opts->config_path);
    struct sl_errors errs = {0};
    sl_daemon_reload(d, &errs); /* a failure is logged, and the old config runs */
    sl_errors_clear(&errs);
    sl_control_run(d->control, "reopen", "SIGHUP");
}

/* Returns true when the loop should end. */
static bool on_signal(struct sl_daemon *d, int sfd)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            sl_log(SL_LOG_NOTICE, 0, "signal %u received, stopping", si.ssi_signo);
            return true;
        case SIGHUP:
            on_sighup(d);
            break;
        case SIGUSR1:
            /* Answered later, in the control's loop: the reopen must not
             * hold signals and the control socket back. */
            sl_log(SL_LOG_INFO, 0, "SIGUSR1 received, reopening files");
            sl_control_run(d->control, "reopen", "SIGUSR1");
            break;
        }
    }
    return false;
}

/* {=== outputs a reload removed */
int sl_daemon_retire_reserve(struct sl_daemon *d, size_t n)
{
    if (n <= d->retire_cap - d->nretiring)
        return 0;
    size_t cap = d->nretiring + n;
    struct sl_sink **v = sl_realloc(d->retiring, cap * sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    d->retiring = v;
    d->retire_cap = cap;
    return 0;
}

/* settings.shutdown_timeout of the config in force: how long outputs that
 * stop may drain. */
static int shutdown_ms(const struct sl_daemon *d)
{
    return d->rt != NULL ? d->rt->config->shutdown_timeout_ms : SL_DRAIN_TIMEOUT_MS;
}

void sl_daemon_retire(struct sl_daemon *d, struct sl_sink *s)
{
    sl_sink_stop(s, sl_now_ms() + shutdown_ms(d));
    if (d->nretiring == d->retire_cap && sl_daemon_retire_reserve(d, 1) < 0) {
        sl_sink_close(s, shutdown_ms(d), &d->closed); /* no room reserved: wait here */
        return;
    }
    d->retiring[d->nretiring++] = s;
}

void sl_daemon_reap(struct sl_daemon *d, bool wait)
{
    size_t keep = 0;
    for (size_t i = 0; i < d->nretiring; i++) {
        struct sl_sink *s = d->retiring[i];
        if (wait || sl_sink_stopped(s))
            sl_sink_close(s, 0, &d->closed); /* stopping already: its deadline holds */
        else
            d->retiring[keep++] = s;
    }
    d->nretiring = keep;
    if (keep == 0) {
        free(d->retiring);
        d->retiring = NULL;
        d->retire_cap = 0;
    }
}
/* }=== */

#define REAP_INTERVAL_MS 100 /* how often the loop looks at retiring outputs */

/* The loop's sleep: the control's deadlines, and retiring outputs. */
static int loop_timeout(const struct sl_daemon *d)
{
    int t = sl_control_timeout(d->control);
    if (d->nretiring > 0 && (t < 0 || t > REAP_INTERVAL_MS))
        t = REAP_INTERVAL_MS;
    return sl_notify_timeout(&d->notify, t);
}

static void serve(struct sl_daemon *d, int sfd)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = sfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    ev.data.fd = sl_control_fd(d->control);
    epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
    int mfd = d->metrics != NULL ? sl_metrics_fd(d->metrics) : -1;
    ev.data.fd = mfd;
    if (mfd >= 0)
        epoll_ctl(ep, EPOLL_CTL_ADD, mfd, &ev);
    for (;;) {
        struct epoll_event evs[4];
        int n = epoll_wait(ep, evs, 4, loop_timeout(d));
        bool control = n == 0; /* a deadline of the control's */
        sl_notify_tick(&d->notify); /* the watchdog: proof that this loop runs */
        if (d->nretiring > 0)
            sl_daemon_reap(d, false);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == mfd) {
                sl_metrics_serve(d->metrics, d);
            } else if (evs[i].data.fd != sfd) {
                control = true;
            } else if (on_signal(d, sfd)) {
                close(ep);
                return;
            }
        }
        if (control)
            sl_control_serve(d->control);
    }
}

void sl_daemon_stop(struct sl_daemon *d)
{
    /* No new clients; those waiting for the outputs are answered once the
     * outputs have closed (closing answers them). */
    sl_control_stop(d->control);
    struct sl_sink_totals before = d->closed;
    uint64_t queued = 0;
    size_t nsinks = d->rt != NULL ? d->rt->routing.nsinks : 0;
    for (size_t i = 0; i < nsinks + d->nretiring; i++) {
        struct sl_sink_stats s;
        sl_sink_stats(i < nsinks ? d->rt->routing.sinks[i] : d->retiring[i - nsinks], &s);
        before.written += s.written;
        before.dropped += s.dropped;
        before.failed += s.failed;
        before.abandoned += s.abandoned;
        queued += s.queue_depth;
    }
    int64_t deadline = sl_now_ms() + shutdown_ms(d); /* one for everything */
    for (size_t i = 0; i < d->nretiring; i++)
        sl_sink_stop(d->retiring[i], deadline); /* stopping already: no-op */
    sl_runtime_stop(d->rt, deadline, &d->closed);
    d->rt = NULL;
    sl_activation_free(d->sockets); /* after the inputs: they held dups */
    d->sockets = NULL;
    sl_daemon_reap(d, true);
    /* Given up while closing: batches still failing at the deadline, and
     * what blocked inputs had parked (abandoned); drops meanwhile. */
    uint64_t lost = (d->closed.dropped - before.dropped) + (d->closed.failed - before.failed)
                    + (d->closed.abandoned - before.abandoned);
    sl_log(SL_LOG_NOTICE, 0,
           "stopped: %llu messages written, %llu dropped, %llu failed, %llu unrouted, "
           "%llu lost at shutdown (%llu were queued when it began)",
           (unsigned long long)d->closed.written, (unsigned long long)d->closed.dropped,
           (unsigned long long)d->closed.failed, SL_LD(d->unrouted), (unsigned long long)lost,
           (unsigned long long)queued);
    sl_metrics_close(d->metrics); /* scrapes still waiting get 503 */
    d->metrics = NULL;
    sl_control_close(d->control);
    d->control = NULL;
}

int sl_daemon_start(struct sl_daemon *d, const struct sl_options *o, char *err, size_t errlen)
{
    *d = (struct sl_daemon){.opts = o, .started_ms = sl_now_ms(), .started_wall = time(NULL)};
    atomic_init(&d->unrouted, 0);
    struct sl_errors errs = {0};
    struct sl_config *c;
    struct sl_strlist search;
    int rc = sl_daemon_load_logged(o, &c, &search, &errs, "", err, errlen);
    sl_errors_clear(&errs);
    if (rc < 0)
        return rc;
    set_hostname(d, c);
    if (sl_limits_check(c, err, errlen))
        sl_log(SL_LOG_WARNING, 0, "%s", err);
    struct sl_errors hangs = {0};
    sl_config_warn_hangs(c, &hangs);
    for (size_t i = 0; i < hangs.n; i++)
        sl_log(SL_LOG_WARNING, 0, "%s", hangs.v[i]);
    sl_errors_clear(&hangs);
    const char *ctl = c->control != NULL ? c->control : "/run/sluice/control.sock";
    rc = sl_control_open(&d->control, ctl, commands, sizeof commands / sizeof commands[0], d, err,
                         errlen);
    if (rc < 0) {
        sl_log(SL_LOG_ERR, 0, "%s", err);
        sl_strlist_clear(&search);
        sl_config_free(c);
        return rc;
    }
    if (c->metrics_host != NULL
        && (rc = sl_metrics_open(&d->metrics, c->metrics_host, c->metrics_port, err, errlen)) < 0) {
        sl_log(SL_LOG_ERR, 0, "%s", err);
        sl_control_close(d->control);
        d->control = NULL;
        sl_strlist_clear(&search);
        sl_config_free(c);
        return rc;
    }
    if (d->metrics != NULL)
        sl_log(SL_LOG_INFO, 0, "metrics on http://%s/metrics", sl_metrics_address(d->metrics));
    size_t nin = c->ninputs, nout = c->noutputs;
    (void)sl_activation_collect(&d->sockets); /* a failure is logged: inputs bind their own */
    rc = sl_runtime_start(d, c, &search, &d->rt, err, errlen);
    if (rc < 0) {
        sl_log(SL_LOG_ERR, 0, "%s", err);
        sl_activation_free(d->sockets); /* never unlinks: the manager's sockets stay */
        d->sockets = NULL;
        sl_metrics_close(d->metrics);
        d->metrics = NULL;
        sl_control_close(d->control);
        d->control = NULL;
        return rc;
    }
    sl_activation_close_unused(d->sockets);
    /* ctl lives in the config, which the runtime now owns. */
    sl_log(SL_LOG_INFO, 0, "sluiced %s started, %zu inputs, %zu outputs, control socket %s",
           PACKAGE_VERSION, nin, nout, ctl);
    return 0;
}

/* settings.user / .group, once everything that needs root is open
 * (privs.h). A failure stops what started: the ids may be half changed. */
static int drop_privs(struct sl_daemon *d, char *err, size_t errlen)
{
    int rc = sl_privs_drop(d->rt->config, &d->privs, err, errlen);
    if (rc < 0) {
        sl_log(SL_LOG_ERR, 0, "%s; stopping", err);
        sl_daemon_stop(d);
    } else if (d->privs.dropped) {
        sl_log(SL_LOG_INFO, 0, "running as %s (uid %ld, gid %ld)", d->privs.name,
               (long)getuid(), (long)getgid());
    }
    return rc;
}

int sl_daemon_run(const struct sl_options *o, int ready_fd)
{
    int sfd = signals_fd();
    if (sfd < 0) {
        sl_log(SL_LOG_ERR, errno, "signalfd() failed");
        tell_ready(ready_fd, 1);
        return 1;
    }
    int pfd = o->pidfile != NULL ? lock_pidfile(o->pidfile) : -1;
    if (o->pidfile != NULL && pfd < 0) {
        close(sfd);
        tell_ready(ready_fd, 1);
        return 1;
    }
    struct sl_daemon d;
    char err[1024];
    if (sl_daemon_start(&d, o, err, sizeof err) < 0 || drop_privs(&d, err, sizeof err) < 0) {
        if (pfd >= 0) {
            unlink(o->pidfile); /* ours: locked, so no other daemon's */
            close(pfd);
        }
        close(sfd);
        tell_ready(ready_fd, 1);
        return 1;
    }
    if (pfd >= 0)
        write_pidfile(pfd, o->pidfile);
    tell_ready(ready_fd, 0);
    sl_notify_init(&d.notify);
    sl_notify_ready();
    serve(&d, sfd);
    sl_notify_stopping();
    sl_daemon_stop(&d);
    close(sfd);
    if (pfd >= 0) {
        unlink(o->pidfile); /* before the lock goes, so no other daemon's */
        close(pfd);
    }
    return 0;
}
/* }=== */
