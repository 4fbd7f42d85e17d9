/* SPDX-License-Identifier: MIT */
/*
 * reload.c: reloading the config (SIGHUP, sluicectl reload) in the steps
 * below: reload_build (2), reload_switch (3), reload_abandon (when 2 or 3
 * fails) and reload_commit (4 to 6). What to keep, open or close is
 * decided in reload_map.c; what a runtime is, in runtime.h.
 *
 * Thread: main. The input threads and the output workers run on meanwhile;
 * step 3 waits for the kept inputs to end a batch, step 4 for the inputs
 * that stop; nothing waits for an output.
 *
 * Reload keeps what did not change and loses or repeats no message:
 *
 * 1. Load and check the new config whole; a bad one is reported and the
 *    running config stays.
 * 2. Build aside, touching nothing that runs: the new routing, where an
 *    output whose settings are unchanged (sl_output_conf_equal) is the
 *    running sink moved to its new index (same queue, worker, open files,
 *    counters), a changed one (same name) is the running sink moved too,
 *    with a new plugin instance opened aside for it (sink.h), and a new
 *    output is a newly opened sink; a plan
 *    (input.h) for every kept input (same name, same settings); the new and
 *    changed inputs, opened and bound but not started, unless a running
 *    input that this reload stops holds their address (they wait for step
 *    5). Which is which is decided from settings alone, in reload_map.c.
 *    Any failure closes all that was built aside, and the running config
 *    stays.
 * 3. Switch the kept inputs to their plans: each ends its batch and holds;
 *    once all hold, all swap, keeping their sockets, connections and what
 *    they parked, which points at sinks and so follows a kept or changed
 *    output (what was parked for a removed one is given up and counted as
 *    dropped there). An input that cannot get there within
 *    SWITCH_TIMEOUT_MS cancels the whole reload, as in 2.
 * 4. Stop the removed and changed inputs: they deliver what they read and
 *    what the kernel holds into the old outputs.
 * 5. Open the changed inputs whose address was held (a failure now is
 *    logged and reported; the rest of the new config runs), start the new
 *    ones.
 * 6. Hand each changed output its new instance (its worker switches
 *    between batches, so old and new never write at once and order
 *    holds); start stopping the removed outputs, which drain on their own
 *    (sl_daemon_retire: closed from the main loop once done, their
 *    counters going to d->closed); then free the old config: nothing
 *    borrows it any more.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/reload_map.h"
#include "daemon/runtime.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "output/sink.h"

#define SWITCH_TIMEOUT_MS 10000 /* for all kept inputs to take a new plan */

/* What a reload builds aside, and how the new config maps onto the old. */
struct reload {
    struct sl_runtime *old; /* running */
    struct sl_runtime *rt;  /* the new one; inputs[i] NULL until opened or moved */
    const struct sl_privs *privs; /* the daemon's: what it dropped to at start */
    struct sl_reload_map map;
    struct sl_input_plan **plans; /* per kept input, until handed over */
    struct sl_sink_instance **next; /* per changed output, until handed over */
    size_t in_started, in_stopped, out_opened, out_closed;
};

static void reload_free_maps(struct reload *r)
{
    sl_reload_map_free(&r->map);
    free(r->plans);
    free(r->next);
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
            ins[j] = sl_input_conf_of(old->inputs[j]);
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
    /* A queue opened now is the running daemon's own: it dropped to
     * settings.user at start, if at all, and a new settings.user waits for
     * a restart. */
    const struct sl_state_dir state = {c->state_dir, {.give = false}};
    for (size_t i = 0; i < c->noutputs; i++) {
        const struct sl_reload_entry *e = &r->map.out[i];
        rt->routing.nsinks = i + 1;
        if (e->action == SL_RELOAD_KEEP) {
            rt->routing.sinks[i] = r->old->routing.sinks[e->from];
            continue;
        }
        size_t n = sl_runtime_err_at(err, errlen, c->outputs[i].file ? c->outputs[i].file : c->file,
                                     c->outputs[i].line);
        int rc;
        if (e->action == SL_RELOAD_CHANGE) {
            rt->routing.sinks[i] = r->old->routing.sinks[e->from];
            rc = sl_sink_instance_open(&r->next[i], &c->outputs[i], &rt->search, err + n,
                                       errlen - n);
        } else {
            rc = sl_sink_open(&rt->routing.sinks[i], &c->outputs[i], &rt->search, &state,
                              err + n, errlen - n);
            r->out_opened += rc == 0;
        }
        if (rc < 0) {
            sl_privs_explain(r->privs, rc, NULL, err, errlen);
            return rc;
        }
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
        size_t n = sl_runtime_err_at(err, errlen, ic->file ? ic->file : c->file, ic->line);
        int rc = 0;
        if (e->action == SL_RELOAD_KEEP) {
            rc = sl_input_plan_new(&r->plans[i], ic, &rt->routing, err + n, errlen - n);
        } else if (e->action == SL_RELOAD_CLASH) {
            const struct sl_input *holder = r->old->inputs[e->from];
            snprintf(err + n, errlen - n, "input \"%s\": %s is already used by input \"%s\"",
                     ic->name, sl_input_address(holder), sl_input_conf_of(holder)->name);
            rc = -EADDRINUSE;
        } else if (e->action == SL_RELOAD_OPEN) {
            rc = sl_input_open(&rt->inputs[i], ic, &rt->routing, err + n, errlen - n);
            sl_privs_explain(r->privs, rc, ic->port, err, errlen);
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
    struct sl_runtime *rt = sl_runtime_new(d, c, search);
    if (rt == NULL) {
        snprintf(err, errlen, "%s: out of memory", d->opts->config_path);
        return -ENOMEM;
    }
    r->rt = rt;
    rt->ninputs = c->ninputs; /* slots; those still NULL at the end are dropped */
    r->plans = sl_calloc(c->ninputs ? c->ninputs : 1, sizeof *r->plans);
    r->next = sl_calloc(c->noutputs ? c->noutputs : 1, sizeof *r->next);
    int rc = r->plans == NULL || r->next == NULL ? -ENOMEM : map_running(r->old, c, &r->map);
    if (rc < 0) {
        snprintf(err, errlen, "%s: out of memory", c->file);
        return rc;
    }
    /* Room to retire the removed outputs at commit, which must not fail. */
    if (sl_daemon_retire_reserve(d, r->old->routing.nsinks - r->map.out_kept_n
                                        - r->map.out_changed_n) < 0) {
        snprintf(err, errlen, "%s: out of memory", c->file);
        return -ENOMEM;
    }
    rc = build_outputs(r, err, errlen);
    return rc < 0 ? rc : build_inputs(r, err, errlen);
}

/* Step 3: every kept input ends its batch and holds; then all swap. On
 * timeout all go on with their old plans. */
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
                   "within %d s (%s); cancelling the reload", sl_input_conf_of(in)->name,
                   SWITCH_TIMEOUT_MS / 1000, rc == -ESRCH ? "its thread has ended"
                                                          : "it did not end its batch");
            snprintf(err, errlen, "%s:%d: input \"%s\": could not switch to the new config "
                     "within %d s", c->inputs[i].file ? c->inputs[i].file : c->file, c->inputs[i].line, sl_input_conf_of(in)->name,
                     SWITCH_TIMEOUT_MS / 1000);
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
            sl_input_close(rt->inputs[i], SL_DRAIN_TIMEOUT_MS);
        for (size_t i = 0; r->plans != NULL && i < rt->ninputs; i++)
            sl_input_plan_free(r->plans[i]);
        for (size_t i = 0; i < rt->routing.nsinks; i++) {
            if (r->map.out[i].action == SL_RELOAD_OPEN)
                sl_sink_close(rt->routing.sinks[i], SL_DRAIN_TIMEOUT_MS, &d->closed);
            sl_sink_instance_free(r->next[i]);
        }
        sl_runtime_free(rt);
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
    size_t n = sl_runtime_err_at(why, sizeof why, ic->file ? ic->file : rt->config->file, ic->line);
    int rc = 0;
    if (r->map.in[i].action == SL_RELOAD_DEFER) {
        rc = sl_input_open(&rt->inputs[i], ic, &rt->routing, why + n, sizeof why - n);
        sl_privs_explain(r->privs, rc, ic->port, why, sizeof why);
    }
    if (rc == 0 && rt->inputs[i] != NULL && (rc = sl_input_start(rt->inputs[i])) < 0) {
        snprintf(why + n, sizeof why - n, "input \"%s\": pthread_create() failed (%d: %s)",
                 ic->name, -rc, strerror(-rc));
        sl_input_close(rt->inputs[i], SL_DRAIN_TIMEOUT_MS);
        rt->inputs[i] = NULL;
    }
    if (rc < 0) {
        sl_log(SL_LOG_ERR, 0, "reload: %s; the rest of the new config runs", why);
        sl_errors_push(errs, why);
        if (err[0] == '\0')
            snprintf(err, errlen, "%s", why);
        return rc;
    }
    if (rt->inputs[i] != NULL) {
        sl_log(SL_LOG_INFO, 0, "input \"%s\" listening on %s", ic->name, sl_input_address(rt->inputs[i]));
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
            sl_input_close(old->inputs[j], SL_DRAIN_TIMEOUT_MS);
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
    for (size_t i = 0; i < c->noutputs; i++) {
        if (r->next[i] != NULL)
            sl_sink_change(rt->routing.sinks[i], r->next[i]);
        r->next[i] = NULL;
    }
    /* Removed outputs last: every input that fed them has stopped or
     * switched. A kept input may still have asked one of them for a room
     * notice before its switch. */
    for (size_t j = 0; j < old->routing.nsinks; j++) {
        if (r->map.out_kept[j])
            continue;
        struct sl_sink *s = old->routing.sinks[j];
        for (size_t i = 0; i < rt->ninputs; i++)
            sl_input_forget_sink(rt->inputs[i], s);
        sl_daemon_retire(d, s);
        r->out_closed++;
    }
    d->discarded_before += sl_runtime_discarded(old);
    sl_runtime_free(old);
    d->rt = rt;
    return rc;
}

static bool same_setting(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* The control socket, the hostname and the ids are set up once, at start. */
static void warn_start_only(const struct sl_config *old, const struct sl_config *c)
{
    if (!same_setting(old->control, c->control))
        sl_log(SL_LOG_WARNING, 0, "reload: settings.control changed; the control socket "
               "moves when sluiced restarts");
    if (!same_setting(old->metrics_host, c->metrics_host)
        || !same_setting(old->metrics_port, c->metrics_port))
        sl_log(SL_LOG_WARNING, 0, "reload: settings.metrics changed; the metrics endpoint moves "
               "when sluiced restarts");
    if (!same_setting(old->hostname, c->hostname))
        sl_log(SL_LOG_WARNING, 0, "reload: settings.hostname changed; it takes effect when "
               "sluiced restarts");
    /* Dropped privileges do not come back, and a second drop would need
     * root: the daemon keeps running as it started. */
    if (!same_setting(old->user, c->user) || !same_setting(old->group, c->group))
        sl_log(SL_LOG_WARNING, 0, "reload: settings.user or settings.group changed; sluiced "
               "keeps running as it started, and the new ones take a restart");
}

static int reload_once(struct sl_daemon *d, struct sl_errors *errs, char *err, size_t errlen)
{
    static const char what[] = "reload failed, keeping the running config: ";
    struct sl_config *c;
    struct sl_strlist search;
    int rc = sl_daemon_load_logged(d->opts, &c, &search, errs, what, err, errlen);
    if (rc < 0)
        return rc;
    struct reload r = {.old = d->rt, .privs = &d->privs};
    warn_start_only(d->rt->config, c);
    rc = reload_build(d, &r, c, &search, err, errlen);
    if (rc == 0)
        rc = reload_switch(&r, err, errlen);
    if (rc < 0) {
        sl_log(SL_LOG_ERR, 0, "%s%s", what, err);
        sl_errors_push(errs, err);
        reload_abandon(d, &r);
        return rc;
    }
    rc = reload_commit(d, &r, errs, err, errlen);
    sl_log(SL_LOG_NOTICE, 0,
           "reloaded %s: %zu inputs kept, %zu started, %zu stopped; "
           "%zu outputs kept, %zu changed, %zu opened, %zu closed",
           d->opts->config_path, r.map.in_kept_n, r.in_started, r.in_stopped,
           r.map.out_kept_n, r.map.out_changed_n, r.out_opened, r.out_closed);
    reload_free_maps(&r);
    return rc;
}

/* Every reload goes through here, so status tells the last one's result. */
int sl_daemon_reload_err(struct sl_daemon *d, struct sl_errors *errs, char *err, size_t errlen)
{
    err[0] = '\0';
    sl_notify_reloading();
    int rc = reload_once(d, errs, err, errlen);
    sl_notify_ready(); /* a refused reload leaves the old config running */
    d->reloads++;
    d->last_reload = time(NULL);
    d->last_reload_ok = rc == 0;
    if (rc < 0)
        d->reloads_failed++;
    snprintf(d->last_reload_error, sizeof d->last_reload_error, "%s",
             rc == 0 ? "" : err[0] != '\0' ? err : errs->n > 0 ? errs->v[0] : "failed");
    return rc;
}

int sl_daemon_reload(struct sl_daemon *d, struct sl_errors *errs)
{
    char err[1024];
    return sl_daemon_reload_err(d, errs, err, sizeof err);
}
