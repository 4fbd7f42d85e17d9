/* SPDX-License-Identifier: MIT */
/*
 * router.c: declarative routes evaluated in C.
 *
 * DESIGN: the router is a pure function of the config and the message, with
 * no state of its own, so any number of input threads share it without a
 * lock. The work per message is a few mask tests and, only for routes that
 * name them, short list compares, one memmem(), prefix and suffix memcmp()s
 * and PCRE2 matches; outputs are de-duplicated with a small stack bitmap so
 * fan-out never sends a message twice to one output.
 *
 * Regular expressions were compiled (and JIT-compiled where the JIT works)
 * when the config loaded; compiled code is read-only and shared. What a
 * match writes (pcre2_match_data, which since PCRE2 10.41 also keeps the
 * interpreter's backtracking frames for reuse, and the JIT stack) belongs to
 * one thread: the caller's struct sl_route_scratch, made once per input, so
 * a message costs no allocation. The scratch's match context bounds every
 * match (router.h), and a match that fails for any reason but "no match" is
 * taken as no match and logged at a limited rate: a hostile message can
 * make a bad pattern slow, never stuck.
 *
 * Route functions run in the scratch's own Lua state (filter.h), made only
 * when the config has some: a config without them never makes a Lua state,
 * and a where-only route allocates nothing per message. A transform's
 * rewrite is made only when the route still has an output to send it to.
 */
#include "route/router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "route/filter.h"
#include "common/log.h"
#include "common/alloc.h"

struct sl_route_scratch {
    pcre2_match_data *md;    /* NULL when the config has no pattern */
    pcre2_match_context *mc; /* the limits; the JIT stack */
    pcre2_jit_stack *jit;    /* NULL: the JIT's 32 KiB default, or no JIT */
    const char *file;        /* borrowed from the config, for log lines: a route's own
                              * file (sl_route_conf.file) when it has one */
    struct sl_ratelimit log; /* match errors */
    bool match_failed;       /* the last sl_route_matches() met a match error */
    struct sl_filter *filter;     /* NULL when the config has no route functions */
    struct sl_ratelimit lua_log;  /* route function errors */
    bool dropped;                 /* the last message ended at a drop route */
};

static uint32_t pattern_pairs(const struct sl_regex *re)
{
    uint32_t captures = 0;
    if (re->code == NULL || pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &captures) != 0)
        return 0;
    return captures + 1;
}

int sl_router_init(struct sl_router *r, const struct sl_config *config, const char *hostname)
{
    r->config = config;
    r->hostname = hostname;
    r->ovector_pairs = 0;
    r->routes = sl_calloc(config->nroutes ? config->nroutes : 1, sizeof *r->routes);
    if (r->routes == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < config->nroutes; i++) {
        atomic_init(&r->routes[i].errors, 0);
        atomic_init(&r->routes[i].discarded, 0);
    }
    for (size_t i = 0; i < config->nroutes; i++) {
        const struct sl_route_conf *rc = &config->routes[i];
        const struct sl_regex *res[] = {&rc->msg_match, &rc->app_name_match, &rc->hostname_match};
        for (size_t k = 0; k < sizeof res / sizeof res[0]; k++) {
            uint32_t n = pattern_pairs(res[k]);
            if (n > r->ovector_pairs)
                r->ovector_pairs = n;
        }
    }
    return 0;
}

void sl_router_free(struct sl_router *r)
{
    free(r->routes);
    r->routes = NULL;
}

/* {=== the per-thread scratch */
void sl_router_scratch_free(struct sl_route_scratch *s)
{
    if (s == NULL)
        return;
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mc);
    pcre2_jit_stack_free(s->jit);
    sl_filter_free(s->filter);
    free(s);
}

bool sl_route_scratch_dropped(const struct sl_route_scratch *s)
{
    return s->dropped;
}

int sl_router_scratch_new(const struct sl_router *r, struct sl_route_scratch **out, char *err,
                          size_t errlen)
{
    struct sl_route_scratch *s = sl_calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->file = r->config->file != NULL ? r->config->file : "config";
    s->log.interval = 10;
    s->log.burst = 5;
    s->lua_log.interval = 10;
    s->lua_log.burst = 5;
    if (r->config->has_lua) {
        int rc = sl_filter_new(r->config, r->hostname, &s->filter, err, errlen);
        if (rc < 0) {
            sl_router_scratch_free(s);
            return rc;
        }
    }
    if (r->ovector_pairs > 0) {
        s->md = pcre2_match_data_create(r->ovector_pairs, NULL);
        s->mc = pcre2_match_context_create(NULL);
        if (s->md == NULL || s->mc == NULL) {
            sl_router_scratch_free(s);
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        pcre2_set_match_limit(s->mc, SL_ROUTE_MATCH_LIMIT);
        pcre2_set_depth_limit(s->mc, SL_ROUTE_DEPTH_LIMIT);
        pcre2_set_heap_limit(s->mc, SL_ROUTE_HEAP_LIMIT_KIB);
        /* NULL without a JIT (or memory for the stack): matches then use
         * the interpreter, or the JIT's small default stack. */
        s->jit = pcre2_jit_stack_create(32 * 1024, SL_ROUTE_JIT_STACK, NULL);
        if (s->jit != NULL)
            pcre2_jit_stack_assign(s->mc, NULL, s->jit);
    }
    *out = s;
    return 0;
}
/* }=== */

/* {=== conditions */
static bool list_matches(const struct sl_strlist *l, struct sl_str s)
{
    if (l->n == 0)
        return true;
    if (s.p == NULL)
        return false;
    return sl_strlist_has(l, s.p, s.len);
}

/* A NIL field (p NULL) never matches a stated condition. */
static bool prefix_matches(const char *prefix, struct sl_str s)
{
    if (prefix == NULL)
        return true;
    size_t n = strlen(prefix);
    return s.p != NULL && s.len >= n && memcmp(s.p, prefix, n) == 0;
}

static bool suffix_matches(const char *suffix, struct sl_str s)
{
    if (suffix == NULL)
        return true;
    size_t n = strlen(suffix);
    return s.p != NULL && s.len >= n && memcmp(s.p + s.len - n, suffix, n) == 0;
}

/* Every fields = { ... } condition holds: on the extra fields the message
 * came with (the native inputs'), not a route's transform's. */
static bool fields_match(const struct sl_route_conf *rc, const struct sl_msg *m)
{
    for (size_t i = 0; i < rc->nfields; i++) {
        const struct sl_field_match *fm = &rc->fields[i];
        const struct sl_field *x = sl_msg_extra(m, fm->key, fm->key_len);
        bool ok = fm->want == SL_FIELD_PRESENT ? x != NULL
                  : fm->want == SL_FIELD_ABSENT ? x == NULL
                  : x != NULL && sl_strlist_has(&fm->values, x->value.p, x->value.len);
        if (!ok)
            return false;
    }
    return true;
}

static bool regex_matches(const struct sl_route_conf *rc, const char *key,
                          const struct sl_regex *re, struct sl_route_scratch *s, struct sl_str v)
{
    if (re->code == NULL)
        return true;
    if (v.p == NULL)
        return false;
    int got = pcre2_match(re->code, (PCRE2_SPTR)v.p, v.len, 0, 0, s->md, s->mc);
    if (got >= 0) /* 0: the ovector is too small, which it never is; still a match */
        return true;
    if (got != PCRE2_ERROR_NOMATCH)
        s->match_failed = true;
    if (got != PCRE2_ERROR_NOMATCH && sl_ratelimit_ok(&s->log)) {
        PCRE2_UCHAR text[128];
        if (pcre2_get_error_message(got, text, sizeof text) < 0)
            strcpy((char *)text, "unknown error");
        sl_log(SL_LOG_WARNING, 0, "route at %s:%d: key '%s': pcre2_match() failed (%d: %s), "
               "taken as no match", rc->file != NULL ? rc->file : s->file, rc->line, key, got, (const char *)text);
    }
    return false;
}

bool sl_route_matches(const struct sl_route_conf *rc, struct sl_route_scratch *s,
                      const struct sl_msg *m)
{
    if (!(rc->facility_mask & (1u << m->facility)))
        return false;
    if (!(rc->severity_mask & (1u << m->severity)))
        return false;
    if (!list_matches(&rc->app_names, m->app_name))
        return false;
    if (!list_matches(&rc->hostnames, m->hostname))
        return false;
    if (!list_matches(&rc->inputs, m->input))
        return false;
    if (rc->msg_contains != NULL) {
        size_t n = strlen(rc->msg_contains);
        if (m->msg.p == NULL || memmem(m->msg.p, m->msg.len, rc->msg_contains, n) == NULL)
            return false;
    }
    if (!prefix_matches(rc->msg_prefix, m->msg) || !suffix_matches(rc->msg_suffix, m->msg))
        return false;
    if (!fields_match(rc, m))
        return false;
    /* The dearest tests last, so cheaper ones spare them. */
    return regex_matches(rc, "app_name_match", &rc->app_name_match, s, m->app_name)
        && regex_matches(rc, "hostname_match", &rc->hostname_match, s, m->hostname)
        && regex_matches(rc, "msg_match", &rc->msg_match, s, m->msg);
}
/* }=== */

/* {=== route functions */
/* Counts a failed where or transform and logs it at a limited rate.
 * Returns true when the route is still taken (on_error = "pass"). */
static bool function_failed(const struct sl_router *r, struct sl_route_scratch *s, size_t i,
                            const char *which)
{
    const struct sl_route_conf *rc = &r->config->routes[i];
    bool pass = rc->on_error == SL_ON_ERROR_PASS;
    atomic_fetch_add_explicit(&r->routes[i].errors, 1, memory_order_relaxed);
    if (sl_ratelimit_ok(&s->lua_log))
        sl_log(SL_LOG_WARNING, 0, "route at %s:%d: %s failed: %s; message %s (on_error = %s)",
               rc->file != NULL ? rc->file : s->file, rc->line, which, sl_filter_error(s->filter), pass ? "passed" : "skipped",
               pass ? "pass" : "skip");
    return pass;
}

/* Runs route i's where function: true when the route is taken. */
static bool where_holds(const struct sl_router *r, struct sl_route_scratch *s, size_t i,
                        const struct sl_msg *m)
{
    switch (sl_filter_where(s->filter, i, m)) {
    case SL_FILTER_YES: return true;
    case SL_FILTER_NO: return false;
    default: return function_failed(r, s, i, "where");
    }
}

/* True when some output of rc has not been taken yet. */
static bool has_new_output(const struct sl_route_conf *rc, const uint64_t *seen)
{
    for (size_t k = 0; k < rc->nto; k++) {
        if (!(seen[rc->to[k] / 64] & (1ull << (rc->to[k] % 64))))
            return true;
    }
    return false;
}
/* }=== */

size_t sl_router_route(const struct sl_router *r, struct sl_route_scratch *s, struct sl_msg *m,
                       struct sl_route_out *out)
{
    uint64_t seen[SL_MAX_OUTPUTS / 64] = {0};
    size_t n = 0;
    const struct sl_config *c = r->config;
    s->dropped = false;
    for (size_t i = 0; i < c->nroutes; i++) {
        const struct sl_route_conf *rc = &c->routes[i];
        s->match_failed = false;
        if (!sl_route_matches(rc, s, m)) {
            if (s->match_failed) /* a regular expression hit its limits */
                atomic_fetch_add_explicit(&r->routes[i].errors, 1, memory_order_relaxed);
            continue;
        }
        if (rc->has_where && !where_holds(r, s, i, m))
            continue;
        if (rc->drop) {
            atomic_fetch_add_explicit(&r->routes[i].discarded, 1, memory_order_relaxed);
            s->dropped = true;
            break;
        }
        struct sl_msg *x = NULL; /* what this route sends: NULL is m as received */
        if (rc->has_transform && has_new_output(rc, seen)) {
            struct sl_msg *t = NULL;
            if (sl_filter_transform(s->filter, i, m, &t) == SL_FILTER_ERROR) {
                if (!function_failed(r, s, i, "transform"))
                    continue; /* skip: not taken, final or not */
            } else if (t != m) {
                x = t;
            }
        }
        bool used = false;
        for (size_t k = 0; k < rc->nto; k++) {
            size_t o = rc->to[k];
            if (seen[o / 64] & (1ull << (o % 64)))
                continue;
            seen[o / 64] |= 1ull << (o % 64);
            out[n++] = (struct sl_route_out){(uint16_t)o, x == NULL ? NULL : used ? sl_msg_ref(x) : x};
            used = true;
        }
        if (x != NULL && !used)
            sl_msg_unref(x);
        if (rc->final)
            break;
    }
    return n;
}
