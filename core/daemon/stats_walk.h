/* SPDX-License-Identifier: MIT */
/*
 * stats_walk.h: reads the stats object (sl_daemon_stats) back and hands
 * each value to a visitor, so every view of the counters (GET /metrics in
 * prometheus.c, the `counters` lines in counters.c) comes from the one walk
 * `sluicectl stats` prints and none can disagree with it.
 *
 * The object is the daemon's own: keys are [a-z0-9_], input and output
 * names [A-Za-z0-9_.-] (lua_config.c refuses others), strings escaped as
 * JSON, at most six levels deep. The walk knows its shape:
 *
 *   top level          section ""
 *   inputs.NAME.KEY    section "inputs",  object NAME
 *   outputs.NAME.KEY   section "outputs", object NAME; outputs.NAME.disk.KEY
 *                      and outputs.NAME.plugin.KEY have sub "disk", "plugin"
 *   routes[i].KEY      section "routes",  object the route's line ("12"),
 *                      which is not handed over as a value of its own
 *
 * Thread: any; the visitor's callbacks run on the caller's thread.
 */
#ifndef SL_STATS_WALK_H
#define SL_STATS_WALK_H

#include <stddef.h>

/* Where a value is. The strings are the walk's: valid during the call. */
struct sl_stats_at {
    const char *section; /* "", "inputs", "outputs", "routes" */
    const char *object;  /* the input's or output's name, a route's line; "" at the top */
    const char *sub;     /* "", "disk", "plugin" */
    const char *key;     /* the member's key; "" for begin and end */
};

struct sl_stats_visitor {
    /* A number, as its text; true and false come as "1" and "0". */
    void (*number)(void *ctx, const struct sl_stats_at *at, const char *value);
    /* A string, its escapes undone. */
    void (*string)(void *ctx, const struct sl_stats_at *at, const char *value);
    /* Before and after an input's, output's or route's members; NULL: none. */
    void (*begin)(void *ctx, const struct sl_stats_at *at);
    void (*end)(void *ctx, const struct sl_stats_at *at);
};

/* Walks json[0..len) (borrowed), calling v's callbacks with ctx in the
 * object's order. 0, or -EINVAL for an object it cannot read (the
 * callbacks may have run for what came before). */
int sl_stats_walk(const char *json, size_t len, const struct sl_stats_visitor *v, void *ctx);

#endif /* SL_STATS_WALK_H */
