/*
 * daemon.c: start-up, the signal loop, reload and shutdown.
 *
 * Order matters. Start: outputs first (so inputs never route to something
 * closed), then inputs, bound before their threads start so a port in use
 * fails start-up. Stop: inputs first (they deliver what they read and what
 * the kernel holds), then outputs drain their queues and close.
 *
 * Reload keeps what did not change and loses or repeats no message:
 *
 * 1. Load and check the new config whole; a bad one is reported and the
 *    running config stays.
 * 2. Build aside, touching nothing that runs: the new routing, where an
 *    output whose settings are unchanged (sl_output_conf_equal) is the
 *    running sink moved to its new index (same queue, worker, open files,
 *    counters) and a new or changed output is a newly opened sink; a plan
 *    (input.h) for every kept input (same name, same settings); the new and
 *    changed inputs, opened and bound but not started, unless a running
 *    input that this reload stops holds their address (they wait for step
 *    5). Which is which is decided from settings alone, in reload_map.c.
 *    Any failure closes all that was built aside, and the running config
 *    stays.
 * 3. Switch the kept inputs to their plans: each delivers what it had
 *    parked to the old outputs, which still run, and holds; once all hold,
 *    all swap, between batches, keeping their sockets and connections. An
 *    input that cannot get there within SWITCH_TIMEOUT_MS cancels the
 *    whole reload, as in 2.
 * 4. Stop the removed and changed inputs: they deliver what they read and
 *    what the kernel holds into the old outputs.
 * 5. Open the changed inputs whose address was held (a failure now is
 *    logged and reported; the rest of the new config runs), start the new
 *    ones.
 * 6. Drain and close the removed and changed outputs (their counters go to
 *    d->closed), then free the old config: nothing borrows it any more.
 */
#include "daemon/daemon.h"

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

#include "daemon/control.h"
#include "daemon/reload_map.h"
#include "common/log.h"
#include "output/plugin.h"
#include "output/fanout.h"
#include "output/sink.h"
#include "common/alloc.h"
#include "common/util.h"

#define DRAIN_TIMEOUT_MS 10000

#define LD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))
#define SWITCH_TIMEOUT_MS 10000 /* for all kept inputs to take a new plan */

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
        sl_errors_sort(errs, before, c->file);
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

/* Messages the drop routes of runtime rt took. */
static unsigned long long discarded(const struct sl_runtime *rt)
{
    unsigned long long n = 0;
    for (size_t i = 0; rt != NULL && rt->routing.router.routes != NULL
                       && i < rt->config->nroutes; i++)
        n += LD(rt->routing.router.routes[i].discarded);
    return n;
}

/* Frees what the runtime itself holds, once its inputs and sinks are gone
 * or handed on. */
static void runtime_free(struct sl_runtime *rt)
{
    sl_router_free(&rt->routing.router);
    free(rt->routing.sinks);
    free(rt->inputs);
    sl_strlist_clear(&rt->search);
    sl_config_free(rt->config);
    free(rt);
}

/* Closes everything, adding the outputs' counters to totals. */
static void runtime_stop(struct sl_runtime *rt, struct sl_sink_totals *totals)
{
    if (rt == NULL)
        return;
    runtime_stop_inputs(rt);
    for (size_t i = 0; i < rt->routing.nsinks; i++)
        sl_sink_close(rt->routing.sinks[i], DRAIN_TIMEOUT_MS, totals);
    runtime_free(rt);
}

static void log_errors(const char *what, const struct sl_errors *errs, size_t from)
{
    for (size_t i = from; i < errs->n; i++)
        sl_log(SL_LOG_ERR, 0, "%s%s", what, errs->v[i]);
}

/* Appends text, which already names its place, to errs as it is. Out of
 * memory, it is counted as lost: the caller's err still holds the text. */
static void errors_push(struct sl_errors *errs, const char *text)
{
    char *s = sl_strdup(text);
    char **v = s != NULL ? sl_realloc(errs->v, (errs->n + 1) * sizeof *v) : NULL;
    if (v == NULL) {
        free(s);
        errs->lost++;
        return;
    }
    errs->v = v;
    errs->v[errs->n++] = s;
}

/* Starts err with "FILE:LINE: " and returns its length: the callee's reason
 * goes to err + n, so a callee that fills no reason shows as one. */
static size_t err_at(char *err, size_t errlen, const char *file, int line)
{
    int n = snprintf(err, errlen, "%s:%d: ", file, line);
    return n < 0 ? 0 : (size_t)n >= errlen ? errlen - 1 : (size_t)n;
}

/* sl_daemon_load, logging every error after `what`; the first goes to err
 * too. When memory ran out even for the errors, err says so and is logged:
 * a failed load never goes unexplained. */
static int load_logged(const struct sl_options *o, struct sl_config **c,
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

/* A runtime for config c with its routing set up and room for its
 * outputs and inputs, none open yet; NULL when out of memory. Takes c and
 * search in every case. */
static struct sl_runtime *runtime_new(struct sl_daemon *d, struct sl_config *c,
                                      struct sl_strlist *search)
{
    struct sl_runtime *rt = sl_calloc(1, sizeof *rt);
    if (rt == NULL) {
        sl_strlist_clear(search);
        sl_config_free(c);
        return NULL;
    }
    rt->config = c;
    rt->search = *search;
    *search = (struct sl_strlist){0};
    rt->routing.unrouted = &d->unrouted;
    rt->routing.hostname = (struct sl_str){d->hostname, (uint32_t)strlen(d->hostname)};
    rt->routing.sinks = sl_calloc(c->noutputs ? c->noutputs : 1, sizeof *rt->routing.sinks);
    rt->inputs = sl_calloc(c->ninputs ? c->ninputs : 1, sizeof *rt->inputs);
    if (sl_router_init(&rt->routing.router, c, d->hostname) < 0 || rt->routing.sinks == NULL
        || rt->inputs == NULL) {
        runtime_free(rt);
        return NULL;
    }
    return rt;
}

/* Starts a thread for each bound input of rt; on failure err says which. */
static int runtime_start_inputs(struct sl_runtime *rt, char *err, size_t errlen)
{
    const struct sl_config *c = rt->config;
    for (size_t i = 0; i < rt->ninputs; i++) {
        int rc = sl_input_start(rt->inputs[i]);
        if (rc < 0) {
            snprintf(err, errlen, "%s:%d: input \"%s\": pthread_create() failed (%d: %s)",
                     c->file, c->inputs[i].line, c->inputs[i].name, -rc, strerror(-rc));
            return rc;
        }
        sl_log(SL_LOG_INFO, 0, "input \"%s\" listening on %s", c->inputs[i].name,
               rt->inputs[i]->address);
    }
    return 0;
}

/* Opens the outputs and binds the inputs of config c (taking c and search
 * in every case) and starts the input threads. 0, or a negative errno with
 * "FILE:LINE: reason" in err and nothing left open. */
static int runtime_start(struct sl_daemon *d, struct sl_config *c, struct sl_strlist *search,
                         struct sl_runtime **out, char *err, size_t errlen)
{
    if (!d->opts->verbose)
        sl_log_set_level(c->log_level);
    struct sl_runtime *rt = runtime_new(d, c, search);
    if (rt == NULL) {
        snprintf(err, errlen, "%s: out of memory", d->opts->config_path);
        return -ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < c->noutputs && rc == 0; i++) {
        size_t n = err_at(err, errlen, c->file, c->outputs[i].line);
        rc = sl_sink_open(&rt->routing.sinks[i], &c->outputs[i], &rt->search, err + n,
                          errlen - n);
        if (rc == 0)
            rt->routing.nsinks = i + 1;
    }
    for (size_t i = 0; i < c->ninputs && rc == 0; i++) {
        size_t n = err_at(err, errlen, c->file, c->inputs[i].line);
        rc = sl_input_open(&rt->inputs[i], &c->inputs[i], &rt->routing, err + n, errlen - n);
        if (rc == 0)
            rt->ninputs = i + 1;
    }
    if (rc == 0)
        rc = runtime_start_inputs(rt, err, errlen);
    if (rc < 0) {
        runtime_stop(rt, &d->closed);
        return rc;
    }
    *out = rt;
    return 0;
}
/* }=== */

/* {=== reload (see the top of the file) */
/* What a reload builds aside, and how the new config maps onto the old. */
struct reload {
    struct sl_runtime *old; /* running */
    struct sl_runtime *rt;  /* the new one; inputs[i] NULL until opened or moved */
    struct sl_reload_map map;
    struct sl_input_plan **plans; /* per kept input, until handed over */
    size_t in_started, in_stopped, out_opened, out_closed;
};

static void reload_free_maps(struct reload *r)
{
    sl_reload_map_free(&r->map);
    free(r->plans);
}

/* The map of the running runtime onto config c, from the settings its
 * sinks and inputs hold. */
static int map_running(const struct sl_runtime *old, const struct sl_config *c,
                       struct sl_reload_map *m)
{
    const struct sl_output_conf **outs = sl_calloc(old->routing.nsinks + 1, sizeof *outs);
    const struct sl_input_conf **ins = sl_calloc(old->ninputs + 1, sizeof *ins);
    int rc = -ENOMEM;
    if (outs != NULL && ins != NULL) {
        for (size_t j = 0; j < old->routing.nsinks; j++)
            outs[j] = sl_sink_conf(old->routing.sinks[j]);
        for (size_t j = 0; j < old->ninputs; j++)
            ins[j] = old->inputs[j]->conf;
        struct sl_reload_old view = {outs, old->routing.nsinks, ins, old->ninputs};
        rc = sl_reload_map_build(m, &view, c);
    }
    free(outs);
    free(ins);
    return rc;
}

/* Keeps the unchanged outputs and opens the new and changed ones. */
static int build_outputs(struct reload *r, char *err, size_t errlen)
{
    struct sl_runtime *rt = r->rt;
    const struct sl_config *c = rt->config;
    for (size_t i = 0; i < c->noutputs; i++) {
        const struct sl_reload_entry *e = &r->map.out[i];
        rt->routing.nsinks = i + 1;
        if (e->action == SL_RELOAD_KEEP) {
            rt->routing.sinks[i] = r->old->routing.sinks[e->from];
            continue;
        }
        size_t n = err_at(err, errlen, c->file, c->outputs[i].line);
        int rc = sl_sink_open(&rt->routing.sinks[i], &c->outputs[i], &rt->search, err + n,
                              errlen - n);
        if (rc < 0)
            return rc;
        r->out_opened++;
    }
    return 0;
}

/* A plan for each kept input; the new and changed ones opened, unless an
 * input that is going to stop holds their address. */
static int build_inputs(struct reload *r, char *err, size_t errlen)
{
    struct sl_runtime *rt = r->rt;
    const struct sl_config *c = rt->config;
    for (size_t i = 0; i < c->ninputs; i++) {
        const struct sl_input_conf *ic = &c->inputs[i];
        const struct sl_reload_entry *e = &r->map.in[i];
        size_t n = err_at(err, errlen, c->file, ic->line);
        int rc = 0;
        if (e->action == SL_RELOAD_KEEP) {
            rc = sl_input_plan_new(&r->plans[i], ic, &rt->routing, err + n, errlen - n);
        } else if (e->action == SL_RELOAD_CLASH) {
            const struct sl_input *holder = r->old->inputs[e->from];
            snprintf(err + n, errlen - n, "input \"%s\": %s is already used by input \"%s\"",
                     ic->name, holder->address, holder->conf->name);
            rc = -EADDRINUSE;
        } else if (e->action == SL_RELOAD_OPEN) {
            rc = sl_input_open(&rt->inputs[i], ic, &rt->routing, err + n, errlen - n);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Step 2. Takes c and search. 0, or a negative errno with "FILE:LINE:
 * reason" in err, and everything built left in r for reload_abandon(). */
static int reload_build(struct sl_daemon *d, struct reload *r, struct sl_config *c,
                        struct sl_strlist *search, char *err, size_t errlen)
{
    struct sl_runtime *rt = runtime_new(d, c, search);
    if (rt == NULL) {
        snprintf(err, errlen, "%s: out of memory", d->opts->config_path);
        return -ENOMEM;
    }
    r->rt = rt;
    rt->ninputs = c->ninputs; /* slots; those still NULL at the end are dropped */
    r->plans = sl_calloc(c->ninputs ? c->ninputs : 1, sizeof *r->plans);
    int rc = r->plans == NULL ? -ENOMEM : map_running(r->old, c, &r->map);
    if (rc < 0) {
        snprintf(err, errlen, "%s: out of memory", c->file);
        return rc;
    }
    rc = build_outputs(r, err, errlen);
    return rc < 0 ? rc : build_inputs(r, err, errlen);
}

/* Step 3: every kept input delivers what it parked and holds; then all
 * swap. On timeout all go on with their old plans. */
static int reload_switch(struct reload *r, char *err, size_t errlen)
{
    struct sl_runtime *old = r->old, *rt = r->rt;
    const struct sl_config *c = rt->config;
    const struct sl_reload_entry *map = r->map.in;
    int64_t deadline = sl_now_ms() + SWITCH_TIMEOUT_MS;
    for (size_t i = 0; i < c->ninputs; i++) {
        if (map[i].action == SL_RELOAD_KEEP) {
            sl_input_switch_offer(old->inputs[map[i].from], r->plans[i]);
            r->plans[i] = NULL;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < c->ninputs && rc == 0; i++) {
        if (map[i].action != SL_RELOAD_KEEP)
            continue;
        struct sl_input *in = old->inputs[map[i].from];
        rc = sl_input_switch_wait_ready(in, deadline);
        if (rc < 0) {
            sl_log(SL_LOG_ERR, 0, "reload: input \"%s\" could not switch to the new config "
                   "within %d s: an output it feeds takes no messages; cancelling the reload",
                   in->conf->name, SWITCH_TIMEOUT_MS / 1000);
            snprintf(err, errlen, "%s:%d: input \"%s\": could not switch to the new config "
                     "within %d s (an output it feeds takes no messages)", c->file,
                     c->inputs[i].line, in->conf->name, SWITCH_TIMEOUT_MS / 1000);
        }
    }
    for (size_t i = 0; i < c->ninputs; i++) {
        if (map[i].action != SL_RELOAD_KEEP)
            continue;
        struct sl_input *in = old->inputs[map[i].from];
        if (rc < 0) {
            r->plans[i] = sl_input_switch_cancel(in);
        } else {
            sl_input_plan_free(sl_input_switch_commit(in));
            rt->inputs[i] = in; /* moved: the old runtime no longer has it */
            old->inputs[map[i].from] = NULL;
        }
    }
    return rc;
}

/* A failed step 2 or 3: closes what was built aside; the running config
 * stays as it was. */
static void reload_abandon(struct sl_daemon *d, struct reload *r)
{
    struct sl_runtime *rt = r->rt;
    if (rt != NULL) {
        /* Never started: they deliver what reached their sockets meanwhile
         * into the new outputs, which are closed (and flushed) next. */
        for (size_t i = 0; i < rt->ninputs; i++)
            sl_input_close(rt->inputs[i], DRAIN_TIMEOUT_MS);
        for (size_t i = 0; r->plans != NULL && i < rt->ninputs; i++)
            sl_input_plan_free(r->plans[i]);
        for (size_t i = 0; i < rt->routing.nsinks; i++) {
            if (r->map.out[i].action != SL_RELOAD_KEEP)
                sl_sink_close(rt->routing.sinks[i], DRAIN_TIMEOUT_MS, &d->closed);
        }
        runtime_free(rt);
    }
    reload_free_maps(r);
}

/* Step 5 for one input: opened at the address its old holder freed, and
 * started; a failure is reported, and the rest of the new config runs. */
static int commit_input(struct reload *r, size_t i, struct sl_errors *errs, char *err,
                        size_t errlen)
{
    struct sl_runtime *rt = r->rt;
    const struct sl_input_conf *ic = &rt->config->inputs[i];
    char why[1024];
    size_t n = err_at(why, sizeof why, rt->config->file, ic->line);
    int rc = 0;
    if (r->map.in[i].action == SL_RELOAD_DEFER)
        rc = sl_input_open(&rt->inputs[i], ic, &rt->routing, why + n, sizeof why - n);
    if (rc == 0 && rt->inputs[i] != NULL && (rc = sl_input_start(rt->inputs[i])) < 0) {
        snprintf(why + n, sizeof why - n, "input \"%s\": pthread_create() failed (%d: %s)",
                 ic->name, -rc, strerror(-rc));
        sl_input_close(rt->inputs[i], DRAIN_TIMEOUT_MS);
        rt->inputs[i] = NULL;
    }
    if (rc < 0) {
        sl_log(SL_LOG_ERR, 0, "reload: %s; the rest of the new config runs", why);
        errors_push(errs, why);
        if (err[0] == '\0')
            snprintf(err, errlen, "%s", why);
        return rc;
    }
    if (rt->inputs[i] != NULL) {
        sl_log(SL_LOG_INFO, 0, "input \"%s\" listening on %s", ic->name, rt->inputs[i]->address);
        r->in_started++;
    }
    return 0;
}

/* Steps 4 to 6. Errors here are reported (the first in err), and the new
 * config runs without what failed. */
static int reload_commit(struct sl_daemon *d, struct reload *r, struct sl_errors *errs,
                         char *err, size_t errlen)
{
    struct sl_runtime *old = r->old, *rt = r->rt;
    const struct sl_config *c = rt->config;
    if (!d->opts->verbose)
        sl_log_set_level(c->log_level);
    for (size_t j = 0; j < old->ninputs; j++) {
        if (old->inputs[j] != NULL) {
            sl_input_close(old->inputs[j], DRAIN_TIMEOUT_MS);
            old->inputs[j] = NULL;
            r->in_stopped++;
        }
    }
    int rc = 0;
    err[0] = '\0';
    for (size_t i = 0; i < c->ninputs; i++) {
        if (r->map.in[i].action != SL_RELOAD_KEEP) {
            int irc = commit_input(r, i, errs, err, errlen);
            rc = rc < 0 ? rc : irc;
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < rt->ninputs; i++) {
        if (rt->inputs[i] != NULL)
            rt->inputs[n++] = rt->inputs[i];
    }
    rt->ninputs = n;
    /* Removed and changed outputs last: every input that fed them has
     * stopped or switched. A kept input may still have asked one of them
     * for a room notice before its switch. */
    for (size_t j = 0; j < old->routing.nsinks; j++) {
        if (r->map.out_kept[j])
            continue;
        struct sl_sink *s = old->routing.sinks[j];
        for (size_t i = 0; i < rt->ninputs; i++)
            sl_sink_cancel_notify(s, rt->inputs[i]->wakefd);
        sl_sink_close(s, DRAIN_TIMEOUT_MS, &d->closed);
        r->out_closed++;
    }
    d->discarded_before += discarded(old);
    runtime_free(old);
    d->rt = rt;
    return rc;
}

static bool same_setting(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* The control socket and the hostname are set up once, at start. */
static void warn_start_only(const struct sl_config *old, const struct sl_config *c)
{
    if (!same_setting(old->control, c->control))
        sl_log(SL_LOG_WARNING, 0, "reload: settings.control changed; the control socket "
               "moves when sluiced restarts");
    if (!same_setting(old->hostname, c->hostname))
        sl_log(SL_LOG_WARNING, 0, "reload: settings.hostname changed; it takes effect when "
               "sluiced restarts");
}

int sl_daemon_reload_err(struct sl_daemon *d, struct sl_errors *errs, char *err, size_t errlen)
{
    static const char what[] = "reload failed, keeping the running config: ";
    struct sl_config *c;
    struct sl_strlist search;
    int rc = load_logged(d->opts, &c, &search, errs, what, err, errlen);
    if (rc < 0)
        return rc;
    struct reload r = {.old = d->rt};
    warn_start_only(d->rt->config, c);
    rc = reload_build(d, &r, c, &search, err, errlen);
    if (rc == 0)
        rc = reload_switch(&r, err, errlen);
    if (rc < 0) {
        sl_log(SL_LOG_ERR, 0, "%s%s", what, err);
        errors_push(errs, err);
        reload_abandon(d, &r);
        return rc;
    }
    rc = reload_commit(d, &r, errs, err, errlen);
    sl_log(SL_LOG_NOTICE, 0,
           "reloaded %s: %zu inputs kept, %zu started, %zu stopped; "
           "%zu outputs kept, %zu opened, %zu closed",
           d->opts->config_path, r.map.in_kept_n, r.in_started, r.in_stopped,
           r.map.out_kept_n, r.out_opened, r.out_closed);
    reload_free_maps(&r);
    return rc;
}

int sl_daemon_reload(struct sl_daemon *d, struct sl_errors *errs)
{
    char err[1024];
    return sl_daemon_reload_err(d, errs, err, sizeof err);
}

/* {=== control commands (control.h): the daemon's side of the table */
static int cmd_stats(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    if (sl_daemon_stats(ctx, b) == 0 && sl_buf_append(b, "\n", 1) == 0)
        return 0;
    b->len = 0; /* never half a JSON object */
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
 * they all have (or DRAIN_TIMEOUT_MS passed), and serves on meanwhile. */
static int ask_outputs(struct sl_daemon *d, enum sl_sink_op op, struct sl_fanout **wait,
                       int efd)
{
    const struct sl_routing *r = &d->rt->routing;
    return sl_fanout_new(wait, r->sinks, r->nsinks, op, efd, DRAIN_TIMEOUT_MS);
}

static int cmd_reopen(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    return ask_outputs(ctx, SL_SINK_REOPEN, wait, efd);
}

static int cmd_flush(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    return ask_outputs(ctx, SL_SINK_FLUSH, wait, efd);
}

static const struct sl_control_cmd commands[] = {
    {"stats", cmd_stats},
    {"reload", cmd_reload},
    {"reopen", cmd_reopen},
    {"flush", cmd_flush},
};
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

static void stats_input(struct sluice_buf *b, const struct sl_input *in)
{
    const struct sl_input_stats *s = &in->stats;
    const struct sl_input_kind *kind = in->conf->kind;
    json_str(b, in->conf->name);
    appendf(b, ":{\"type\":\"%s\",\"address\":", kind->name);
    json_str(b, in->address);
    appendf(b, ",\"received\":%llu,\"bytes\":%llu,\"parse_errors\":%llu,\"truncated\":%llu",
            LD(s->received), LD(s->bytes), LD(s->parse_errors), LD(s->truncated));
    for (const struct sl_input_counter *c = kind->counters; c->name != NULL; c++)
        appendf(b, ",\"%s\":%llu", c->name,
                LD(*(const atomic_uint_fast64_t *)((const char *)s + c->offset)));
    sl_buf_append(b, "}", 1);
}

static void stats_output(struct sluice_buf *b, struct sl_sink *k)
{
    const struct sl_output_conf *c = sl_sink_conf(k);
    struct sl_sink_stats s;
    sl_sink_stats(k, &s);
    json_str(b, c->name);
    sl_buf_append(b, ":{\"type\":", 9);
    json_str(b, c->type);
    appendf(b,
            ",\"enqueued\":%llu,\"written\":%llu,\"dropped\":%llu,\"failed\":%llu,"
            "\"queue_depth\":%zu,\"queue_capacity\":%zu,\"policy\":\"%s\"}",
            (unsigned long long)s.enqueued, (unsigned long long)s.written,
            (unsigned long long)s.dropped, (unsigned long long)s.failed, s.queue_depth,
            c->queue_capacity, c->policy == SL_POLICY_DROP ? "drop" : "block");
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
            LD(d->unrouted), d->discarded_before + discarded(d->rt));
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
            /* Answered later, in the control's loop: the reopen must not
             * hold signals and the control socket back. */
            sl_log(SL_LOG_INFO, 0, "SIGUSR1 received, reopening files");
            sl_control_run(d->control, "reopen", "SIGUSR1");
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
    ev.data.fd = sl_control_fd(d->control);
    epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
    for (;;) {
        struct epoll_event evs[4];
        int n = epoll_wait(ep, evs, 4, sl_control_timeout(d->control));
        bool control = n == 0; /* a deadline of the control's */
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd != sfd) {
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
    for (size_t i = 0; d->rt != NULL && i < d->rt->routing.nsinks; i++) {
        struct sl_sink_stats s;
        sl_sink_stats(d->rt->routing.sinks[i], &s);
        before.written += s.written;
        before.dropped += s.dropped;
        before.failed += s.failed;
        queued += s.queue_depth;
    }
    runtime_stop(d->rt, &d->closed);
    d->rt = NULL;
    uint64_t lost = (d->closed.dropped - before.dropped) + (d->closed.failed - before.failed);
    sl_log(SL_LOG_NOTICE, 0,
           "stopped: %llu messages written, %llu dropped, %llu failed, %llu unrouted, "
           "%llu lost at shutdown (%llu were queued when it began)",
           (unsigned long long)d->closed.written, (unsigned long long)d->closed.dropped,
           (unsigned long long)d->closed.failed, LD(d->unrouted), (unsigned long long)lost,
           (unsigned long long)queued);
    sl_control_close(d->control);
    d->control = NULL;
}

int sl_daemon_start(struct sl_daemon *d, const struct sl_options *o, char *err, size_t errlen)
{
    *d = (struct sl_daemon){.opts = o, .started_ms = sl_now_ms()};
    atomic_init(&d->unrouted, 0);
    struct sl_errors errs = {0};
    struct sl_config *c;
    struct sl_strlist search;
    int rc = load_logged(o, &c, &search, &errs, "", err, errlen);
    sl_errors_clear(&errs);
    if (rc < 0)
        return rc;
    set_hostname(d, c);
    const char *ctl = c->control != NULL ? c->control : "/run/sluice.ctl";
    rc = sl_control_open(&d->control, ctl, commands, sizeof commands / sizeof commands[0], d, err,
                         errlen);
    if (rc < 0) {
        sl_log(SL_LOG_ERR, 0, "%s", err);
        sl_strlist_clear(&search);
        sl_config_free(c);
        return rc;
    }
    size_t nin = c->ninputs, nout = c->noutputs;
    rc = runtime_start(d, c, &search, &d->rt, err, errlen);
    if (rc < 0) {
        sl_log(SL_LOG_ERR, 0, "%s", err);
        sl_control_close(d->control);
        d->control = NULL;
        return rc;
    }
    /* ctl lives in the config, which the runtime now owns. */
    sl_log(SL_LOG_INFO, 0, "sluiced %s started, %zu inputs, %zu outputs, control socket %s",
           PACKAGE_VERSION, nin, nout, ctl);
    return 0;
}

int sl_daemon_run(const struct sl_options *o, int ready_fd)
{
    int sfd = signals_fd();
    if (sfd < 0) {
        sl_log(SL_LOG_ERR, errno, "signalfd() failed");
        tell_ready(ready_fd, 1);
        return 1;
    }
    struct sl_daemon d;
    char err[1024];
    if (sl_daemon_start(&d, o, err, sizeof err) < 0) {
        close(sfd);
        tell_ready(ready_fd, 1);
        return 1;
    }
    if (o->pidfile != NULL)
        write_pidfile(o->pidfile);
    tell_ready(ready_fd, 0);
    serve(&d, sfd);
    sl_daemon_stop(&d);
    close(sfd);
    if (o->pidfile != NULL)
        unlink(o->pidfile);
    return 0;
}
/* }=== */
