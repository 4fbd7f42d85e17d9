/* SPDX-License-Identifier: MIT */
/*
 * router.h: deciding which outputs take a message.
 *
 * Routes are tried in config order; every condition a route states must hold
 * (facility and severity as bit masks, app_name / hostname / input as exact
 * lists, msg_contains as a substring, msg_prefix / msg_suffix as byte
 * compares, fields as the extra fields the message came with (one of some
 * values, present, absent), msg_match / app_name_match / hostname_match as
 * PCRE2 regular expressions compiled when the config loaded). A message goes to the union
 * of the outputs of the routes it matches, each output once, until a
 * matching route says final. Declarative matches are evaluated here in C and
 * never enter Lua; a route's where function (filter.h) runs only once they
 * all hold. A route taken with drop = true ends routing: the message goes
 * to no further output. A route's transform changes what that route sends
 * (a copy-on-write rewrite); every route starts from the message as
 * received, and an output takes the message from the first route that
 * sends it there.
 *
 * Thread: any; the router is immutable once built. A regular expression
 * match needs room that cannot be shared, so each thread that routes holds
 * its own struct sl_route_scratch.
 */
#ifndef SL_ROUTER_H
#define SL_ROUTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/lua_config.h"
#include "common/msg.h"

/* Outputs are numbered as in sl_config.outputs; at most this many. */
#define SL_MAX_OUTPUTS 256

/* Bounds on one regular expression match, so that a pattern that
 * backtracks catastrophically ("(a+)+$") cannot stall an input thread: a
 * match that reaches one fails, counts as no match and is logged (at a
 * limited rate). MATCH is pcre2_set_match_limit() (backtracking steps; the
 * JIT counts them too), DEPTH pcre2_set_depth_limit() (nested backtracking
 * points), HEAP pcre2_set_heap_limit() in KiB, JIT_STACK the most stack the
 * JIT may grow to, in bytes. */
#define SL_ROUTE_MATCH_LIMIT 1000000u
#define SL_ROUTE_DEPTH_LIMIT 100000u
#define SL_ROUTE_HEAP_LIMIT_KIB (16u * 1024)
#define SL_ROUTE_JIT_STACK (1024u * 1024)

/* Per route counters. Thread: any (atomic). */
struct sl_route_stats {
    atomic_uint_fast64_t errors;    /* where or transform failed; a regex match failed */
    atomic_uint_fast64_t discarded; /* messages a drop route took */
};

struct sl_router {
    const struct sl_config *config; /* borrowed: must outlive the router */
    uint32_t ovector_pairs;         /* most any pattern of config needs; 0: no pattern */
    const char *hostname;           /* borrowed: what sluice.hostname() returns */
    struct sl_route_stats *routes;  /* owned; one per config route */
};

/* Sets r up for config (both borrowed; they must outlive r). 0, or -ENOMEM
 * (r then needs no sl_router_free). */
int sl_router_init(struct sl_router *r, const struct sl_config *config, const char *hostname);
void sl_router_free(struct sl_router *r);

/* What one thread needs to match regular expressions: match data sized for
 * the router's largest pattern, a match context with the limits above and a
 * JIT stack. Made once per thread (per input), so routing allocates nothing
 * per message. Serves only routers of the config it was made for. */
struct sl_route_scratch;

/* Creates *out for r (initialised); the caller owns it and frees it with
 * sl_router_scratch_free(). It borrows r (counters) and r's config (the
 * file name in log lines). When the config has route functions it also
 * makes the thread's Lua state (filter.h), which runs the config again:
 * 0, or -ENOMEM / -EINVAL with a reason in err. Thread: any; the scratch
 * is then used by one thread at a time. */
int sl_router_scratch_new(const struct sl_router *r, struct sl_route_scratch **out, char *err,
                          size_t errlen);
void sl_router_scratch_free(struct sl_route_scratch *s); /* NULL is a no-op */

/* True when the last sl_router_route() with s ended at a drop route (the
 * message was discarded, not unrouted). */
bool sl_route_scratch_dropped(const struct sl_route_scratch *s);

/* True when route rc takes m. s is the calling thread's own scratch. */
bool sl_route_matches(const struct sl_route_conf *rc, struct sl_route_scratch *s,
                      const struct sl_msg *m);

/* One output that takes a message: m NULL means the message as received,
 * else a rewrite made by a route's transform, holding one reference that
 * this entry owns. */
struct sl_route_out {
    uint16_t output;
    struct sl_msg *m;
};

/* Writes the outputs that take m into out[] (room for config->noutputs
 * entries), each once, in order of first appearance, and returns how many.
 * 0 means unrouted, or discarded (see sl_route_scratch_dropped()). Counts
 * function errors and drops in r->routes. s is the calling thread's own
 * scratch (see above). m is not changed; a rewrite refers to it. */
size_t sl_router_route(const struct sl_router *r, struct sl_route_scratch *s, struct sl_msg *m,
                       struct sl_route_out *out);

#endif /* SL_ROUTER_H */
