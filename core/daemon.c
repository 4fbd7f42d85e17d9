/*
 * daemon.c: start-up, the signal loop, reload and shutdown.
 *
 * Order matters. Start: outputs first (so inputs never route to something
 * closed), then inputs, bound before their threads start so a port in use
 * fails start-up. Stop: inputs first (they deliver what they read and what
 * the kernel holds), then outputs drain their queues and close.
 *
 * Reload builds and checks the new config completely before touching the
 * running one; a bad config is reported and the old one keeps running. A
 * good one replaces the runtime: the old inputs stop and drain into the old
 * outputs, those drain and close, and the new runtime starts. If the new one
 * cannot start (a port taken meanwhile), the old config is started again.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "plugin.h"
#include "sink.h"

#define DRAIN_TIMEOUT_MS 10000

/* {=== loading and checking */
/* -P dirs, then settings.plugin_path, then $SLUICE_PLUGIN_PATH, then the
 * installed directory. */
static int build_search(const struct sl_options *o, const struct sl_config *c,
                        struct sl_strlist *out)
{
    int rc = 0;
    for (size_t i = 0; i < o->plugin_path.n && rc == 0; i++)
        rc = sl_strlist_push(out, o->plugin_path.v[i]);
    for (size_t i = 0; i < c->plugin_path.n && rc == 0; i++)
        rc = sl_strlist_push(out, c->plugin_path.v[i]);
    const char *env = getenv("SLUICE_PLUGIN_PATH");
    if (env != NULL && rc == 0) {
        char *copy = strdup(env), *save = NULL;
        for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir != NULL && rc == 0;
             dir = strtok_r(NULL, ":", &save))
            rc = sl_strlist_push(out, dir);
        free(copy);
    }
    if (rc == 0)
        rc = sl_strlist_push(out, SL_PLUGINDIR);
    return rc;
}

static void check_plugins(const struct sl_config *c, const struct sl_strlist *search,
                          struct sl_errors *errs)
{
    if (c->noutputs > SL_MAX_OUTPUTS)
        sl_errors_add(errs, c->file, 0, "%zu outputs; at most %d are supported", c->noutputs,
                      SL_MAX_OUTPUTS);
    for (size_t i = 0; i < c->noutputs; i++) {
        const struct sl_output_conf *o = &c->outputs[i];
        struct sl_plugin *p;
        char err[1024];
        if (sl_plugin_load(o->type, o->plugin, search, &p, err, sizeof err) < 0) {
            sl_errors_add(errs, c->file, o->line, "%s", err);
            continue;
        }
        sl_plugin_check(p, o, errs);
        sl_plugin_unload(p);
    }
}

int sl_daemon_load(const struct sl_options *o, struct sl_config **out,
                   struct sl_strlist *search, struct sl_errors *errs)
{
    struct sl_config *c;
    if (sl_config_load(o->config_path, &c, errs) < 0)
        return -EINVAL;
    *search = (struct sl_strlist){0};
    if (build_search(o, c, search) < 0) {
        sl_errors_add(errs, o->config_path, 0, "out of memory");
    } else {
        size_t before = errs->n;
        check_plugins(c, search, errs);
        if (errs->n == before) {
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
    sl_errors_clear(&errs);
    if (rc < 0)
        return 1;
    printf("%s: ok\n", o->config_path);
    sl_strlist_clear(&search);
    sl_config_free(c);
    return 0;
}
/* }=== */

/* {=== runtimes */
static void runtime_stop_inputs(struct sl_runtime *rt)
{
    for (size_t i = 0; i < rt->ninputs; i++)
        sl_input_close(rt->inputs[i], DRAIN_TIMEOUT_MS);
    free(rt->inputs);
    rt->inputs = NULL;
    rt->ninputs = 0;
}

/* Closes everything, adding the outputs' counters to totals. With keep,
 * the config and search path are handed back instead of freed. */
static void runtime_stop(struct sl_runtime *rt, struct sl_sink_totals *totals,
                         struct sl_runtime *keep)
{
    if (rt == NULL)
        return;
    runtime_stop_inputs(rt);
    for (size_t i = 0; i < rt->routing.nsinks; i++)
        sl_sink_close(rt->routing.sinks[i], DRAIN_TIMEOUT_MS, totals);
    free(rt->routing.sinks);
    sl_router_free(&rt->routing.router);
    if (keep != NULL) {
        keep->config = rt->config;
        keep->search = rt->search;
    } else {
        sl_strlist_clear(&rt->search);
        sl_config_free(rt->config);
    }
    free(rt);
}

static void log_errors(const char *what, const struct sl_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        sl_log(SL_LOG_ERR, 0, "%s%s", what, errs->v[i]);
}

/* Opens the outputs and binds the inputs of config c (taking c and search
 * in every case) and starts the input threads. */
static int runtime_start(struct sl_daemon *d, struct sl_config *c, struct sl_strlist *search,
                         struct sl_runtime **out, struct sl_errors *errs)
{
    struct sl_runtime *rt = calloc(1, sizeof *rt);
    if (rt == NULL) {
        sl_strlist_clear(search);
        sl_config_free(c);
        return -ENOMEM;
    }
    rt->config = c;
    rt->search = *search;
    if (!d->opts->verbose)
        sl_log_set_level(c->log_level);
    *search = (struct sl_strlist){0};
    int router_rc = sl_router_init(&rt->routing.router, c, d->hostname);
    rt->routing.unrouted = &d->unrouted;
    rt->routing.hostname = (struct sl_str){d->hostname, (uint32_t)strlen(d->hostname)};
    rt->routing.sinks = calloc(c->noutputs ? c->noutputs : 1, sizeof *rt->routing.sinks);
    rt->inputs = calloc(c->ninputs ? c->ninputs : 1, sizeof *rt->inputs);
    if (router_rc < 0 || rt->routing.sinks == NULL || rt->inputs == NULL)
        goto fail;
    char err[1024];
    for (size_t i = 0; i < c->noutputs; i++) {
        if (sl_sink_open(&rt->routing.sinks[i], &c->outputs[i], &rt->search, err, sizeof err) < 0) {
            sl_errors_add(errs, c->file, c->outputs[i].line, "%s", err);
            goto fail;
        }
        rt->routing.nsinks = i + 1;
    }
    for (size_t i = 0; i < c->ninputs; i++) {
        if (sl_input_open(&rt->inputs[i], &c->inputs[i], &rt->routing, err, sizeof err) < 0) {
            sl_errors_add(errs, c->file, c->inputs[i].line, "%s", err);
            goto fail;
        }
        rt->ninputs = i + 1;
    }
    for (size_t i = 0; i < rt->ninputs; i++) {
        if (sl_input_start(rt->inputs[i]) < 0) {
            sl_errors_add(errs, c->file, c->inputs[i].line, "input \"%s\": cannot start its thread",
                          c->inputs[i].name);
            goto fail;
        }
        sl_log(SL_LOG_INFO, 0, "input \"%s\" listening on %s", c->inputs[i].name,
               rt->inputs[i]->address);
    }
    *out = rt;
    return 0;
fail:
    runtime_stop(rt, &d->closed, NULL);
    return -EINVAL;
}
/* }=== */

/* {=== what the control socket and signals ask for */
int sl_daemon_reload(struct sl_daemon *d, struct sl_errors *errs)
{
    struct sl_config *c;
    struct sl_strlist search;
    if (sl_daemon_load(d->opts, &c, &search, errs) < 0) {
        log_errors("reload failed, keeping the running config: ", errs);
        return -EINVAL;
    }
    struct sl_runtime old = {0};
    runtime_stop(d->rt, &d->closed, &old);
    d->rt = NULL;
    if (runtime_start(d, c, &search, &d->rt, errs) == 0) {
        sl_strlist_clear(&old.search);
        sl_config_free(old.config);
        sl_log(SL_LOG_NOTICE, 0, "reloaded %s", d->opts->config_path);
        return 0;
    }
    log_errors("reload failed, restarting the previous config: ", errs);
    struct sl_errors again = {0};
    if (old.config != NULL && runtime_start(d, old.config, &old.search, &d->rt, &again) < 0)
        log_errors("cannot restart the previous config either: ", &again);
    sl_errors_clear(&again);
    return -EINVAL;
}

int sl_daemon_reopen(struct sl_daemon *d)
{
    int rc = 0;
    for (size_t i = 0; d->rt != NULL && i < d->rt->routing.nsinks; i++) {
        if (sl_sink_reopen(d->rt->routing.sinks[i], DRAIN_TIMEOUT_MS) < 0)
            rc = -ETIMEDOUT;
    }
    return rc;
}

int sl_daemon_flush(struct sl_daemon *d)
{
    int rc = 0;
    for (size_t i = 0; d->rt != NULL && i < d->rt->routing.nsinks; i++) {
        if (sl_sink_flush(d->rt->routing.sinks[i], DRAIN_TIMEOUT_MS) < 0)
            rc = -ETIMEDOUT;
    }
    return rc;
}
/* }=== */

/* {=== stats */
static int json_str(struct sluice_buf *b, const char *s)
{
    int rc = sl_buf_append(b, "\"", 1);
    for (const char *p = s; *p != '\0' && rc == 0; p++) {
        char esc[8];
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            rc = sl_buf_append(b, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            rc = sl_buf_append(b, esc, 6);
        } else {
            rc = sl_buf_append(b, p, 1);
        }
    }
    return rc ? rc : sl_buf_append(b, "\"", 1);
}

static int appendf(struct sluice_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int appendf(struct sluice_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    return sl_buf_append(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static const char *input_type_name(enum sl_input_type t)
{
    return t == SL_INPUT_UNIX ? "unix" : t == SL_INPUT_UDP ? "udp" : "tcp";
}

#define LD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

static void stats_input(struct sluice_buf *b, const struct sl_input *in)
{
    const struct sl_input_stats *s = &in->stats;
    json_str(b, in->conf->name);
    appendf(b, ":{\"type\":\"%s\",\"address\":", input_type_name(in->conf->type));
    json_str(b, in->address);
    appendf(b, ",\"received\":%llu,\"bytes\":%llu,\"parse_errors\":%llu,\"truncated\":%llu",
            LD(s->received), LD(s->bytes), LD(s->parse_errors), LD(s->truncated));
    if (in->conf->type == SL_INPUT_TCP)
        appendf(b, ",\"framing_errors\":%llu,\"connections\":%llu,\"accepted\":%llu,\"refused\":%llu",
                LD(s->framing_errors), LD(s->connections), LD(s->accepted), LD(s->refused));
    else
        appendf(b, ",\"kernel_drops\":%llu", LD(s->kernel_drops));
    sl_buf_append(b, "}", 1);
}

static void stats_output(struct sluice_buf *b, struct sl_sink *k)
{
    const struct sl_sink_stats *s = &k->stats;
    json_str(b, k->conf->name);
    sl_buf_append(b, ":{\"type\":", 9);
    json_str(b, k->conf->type);
    appendf(b,
            ",\"enqueued\":%llu,\"written\":%llu,\"dropped\":%llu,\"failed\":%llu,"
            "\"queue_depth\":%zu,\"queue_capacity\":%zu,\"policy\":\"%s\"}",
            LD(s->enqueued), LD(s->written), LD(s->dropped), LD(s->failed),
            sl_queue_depth(k->queue), k->conf->queue_capacity,
            k->conf->policy == SL_POLICY_DROP ? "drop" : "block");
}

/* Messages drop routes took, over the running config's routes. */
static unsigned long long discarded(const struct sl_runtime *rt)
{
    unsigned long long n = 0;
    for (size_t i = 0; rt != NULL && rt->routing.router.routes != NULL
                       && i < rt->config->nroutes; i++)
        n += LD(rt->routing.router.routes[i].discarded);
    return n;
}

static void stats_routes(struct sluice_buf *b, const struct sl_runtime *rt)
{
    sl_buf_append(b, ",\"routes\":[", 11);
    for (size_t i = 0; rt != NULL && rt->routing.router.routes != NULL
                       && i < rt->config->nroutes; i++) {
        const struct sl_route_stats *s = &rt->routing.router.routes[i];
        appendf(b, "%s{\"line\":%d,\"errors\":%llu,\"discarded\":%llu}", i > 0 ? "," : "",
                rt->config->routes[i].line, LD(s->errors), LD(s->discarded));
    }
    sl_buf_append(b, "]", 1);
}

int sl_daemon_stats(struct sl_daemon *d, struct sluice_buf *b)
{
    appendf(b, "{\"version\":\"%s\",\"uptime\":%lld,\"unrouted\":%llu,\"discarded\":%llu,"
            "\"inputs\":{", PACKAGE_VERSION, (long long)((sl_now_ms() - d->started_ms) / 1000),
            LD(d->unrouted), discarded(d->rt));
    struct sl_runtime *rt = d->rt;
    for (size_t i = 0; rt != NULL && i < rt->ninputs; i++) {
        if (i > 0)
            sl_buf_append(b, ",", 1);
        stats_input(b, rt->inputs[i]);
    }
    sl_buf_append(b, "},\"outputs\":{", 13);
    for (size_t i = 0; rt != NULL && i < rt->routing.nsinks; i++) {
        if (i > 0)
            sl_buf_append(b, ",", 1);
        stats_output(b, rt->routing.sinks[i]);
    }
    sl_buf_append(b, "}", 1);
    stats_routes(b, rt);
    return sl_buf_append(b, "}", 1);
}
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

static void write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        sl_log(SL_LOG_WARNING, errno, "fopen() \"%s\" failed", path);
        return;
    }
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
}

static void tell_ready(int fd, char status)
{
    if (fd < 0)
        return;
    ssize_t w = write(fd, &status, 1);
    (void)w;
    close(fd);
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
        case SIGHUP: {
            sl_log(SL_LOG_NOTICE, 0, "SIGHUP received, reloading %s", d->opts->config_path);
            struct sl_errors errs = {0};
            sl_daemon_reload(d, &errs);
            sl_errors_clear(&errs);
            break;
        }
        case SIGUSR1:
            sl_log(SL_LOG_INFO, 0, "SIGUSR1 received, reopening files");
            sl_daemon_reopen(d);
            break;
        }
    }
    return false;
}

static void serve(struct sl_daemon *d, int sfd)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = sfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    if (d->control != NULL) {
        ev.data.fd = sl_control_fd(d->control);
        epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
    }
    for (;;) {
        struct epoll_event evs[4];
        int n = epoll_wait(ep, evs, 4, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == sfd) {
                if (on_signal(d, sfd)) {
                    close(ep);
                    return;
                }
            } else {
                sl_control_serve(d->control, d);
            }
        }
    }
}

static void shut_down(struct sl_daemon *d)
{
    sl_control_close(d->control);
    d->control = NULL;
    struct sl_sink_totals before = d->closed;
    uint64_t queued = 0;
    for (size_t i = 0; d->rt != NULL && i < d->rt->routing.nsinks; i++) {
        struct sl_sink *s = d->rt->routing.sinks[i];
        before.written += LD(s->stats.written);
        before.dropped += LD(s->stats.dropped);
        before.failed += LD(s->stats.failed);
        queued += sl_queue_depth(s->queue);
    }
    runtime_stop(d->rt, &d->closed, NULL);
    d->rt = NULL;
    uint64_t lost = (d->closed.dropped - before.dropped) + (d->closed.failed - before.failed);
    sl_log(SL_LOG_NOTICE, 0,
           "stopped: %llu messages written, %llu dropped, %llu failed, %llu unrouted, "
           "%llu lost at shutdown (%llu were queued when it began)",
           (unsigned long long)d->closed.written, (unsigned long long)d->closed.dropped,
           (unsigned long long)d->closed.failed, LD(d->unrouted), (unsigned long long)lost,
           (unsigned long long)queued);
}

int sl_daemon_run(const struct sl_options *o, int ready_fd)
{
    struct sl_daemon d = {.opts = o, .started_ms = sl_now_ms()};
    atomic_init(&d.unrouted, 0);
    struct sl_errors errs = {0};
    struct sl_config *c;
    struct sl_strlist search;
    int sfd = signals_fd();
    if (sfd < 0) {
        sl_log(SL_LOG_ERR, errno, "signalfd() failed");
        tell_ready(ready_fd, 1);
        return 1;
    }
    if (sl_daemon_load(o, &c, &search, &errs) < 0) {
        log_errors("", &errs);
        sl_errors_clear(&errs);
        tell_ready(ready_fd, 1);
        return 1;
    }
    set_hostname(&d, c);
    char err[512];
    const char *ctl = c->control != NULL ? c->control : "/run/sluice.ctl";
    if (sl_control_open(&d.control, ctl, err, sizeof err) < 0) {
        sl_log(SL_LOG_ERR, 0, "%s", err);
        sl_strlist_clear(&search);
        sl_config_free(c);
        tell_ready(ready_fd, 1);
        return 1;
    }
    size_t nin = c->ninputs, nout = c->noutputs;
    if (runtime_start(&d, c, &search, &d.rt, &errs) < 0) {
        log_errors("", &errs);
        sl_errors_clear(&errs);
        sl_control_close(d.control);
        tell_ready(ready_fd, 1);
        return 1;
    }
    if (o->pidfile != NULL)
        write_pidfile(o->pidfile);
    sl_log(SL_LOG_INFO, 0, "sluiced %s started, %zu inputs, %zu outputs, control socket %s",
           PACKAGE_VERSION, nin, nout, ctl);
    tell_ready(ready_fd, 0);
    serve(&d, sfd);
    shut_down(&d);
    close(sfd);
    if (o->pidfile != NULL)
        unlink(o->pidfile);
    return 0;
}
/* }=== */
