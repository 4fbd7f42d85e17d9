/* SPDX-License-Identifier: MIT */
/*
 * filter.h: route functions in Lua (where, transform), run per message.
 *
 * Each input thread owns one struct sl_filter: a Lua state of its own that
 * ran the config's text (sl_config.source) once when it was made, with the
 * same declarations as the config loader, keeping each route's where and
 * transform functions by route index. Nothing is shared between threads, so
 * no lock is taken per message.
 *
 * Inside a function only the safe libraries exist (base without dofile,
 * loadfile and binary chunks; string, table, math, utf8) and `sluice`
 * (severity, facility, log, hostname). Every call is bounded: a call that
 * runs for more than SL_FILTER_TIME_LIMIT_MS is stopped by an instruction
 * count hook armed in that call (see watchdog.c), and the state's allocator
 * refuses to grow past SL_FILTER_MEMORY_LIMIT. An
 * error in a call is returned, never raised: the caller counts it and
 * applies the route's on_error.
 *
 * The message reaches Lua as `m`, a proxy (a light userdata with a shared
 * metatable, so a call allocates nothing for it) that reads a field from the
 * parsed message only when the function asks for it. It is valid only
 * during the call: every call gets a new token, and a proxy kept from an
 * earlier call raises "message used after its function returned".
 *
 * Thread: one thread at a time per filter (it may be made on one thread and
 * handed to another, with the usual happens-before).
 */
#ifndef SL_FILTER_H
#define SL_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/lua_config.h"
#include "common/msg.h"

#define SL_FILTER_TIME_LIMIT_MS 100 /* per call; stopped within 50 ms more */
#define SL_FILTER_MEMORY_LIMIT (32u << 20)  /* per state, bytes */

struct sl_filter;

/* Makes a filter for config c, whose routes' functions it loads by running
 * c->source. hostname is what sluice.hostname() returns. 0, or a negative
 * errno with a reason in err. c must outlive the filter. */
int sl_filter_new(const struct sl_config *c, const char *hostname, struct sl_filter **out,
                  char *err, size_t errlen);
void sl_filter_free(struct sl_filter *f); /* NULL is a no-op */

enum sl_filter_result {
    SL_FILTER_NO = 0, /* where returned a false value */
    SL_FILTER_YES,    /* where returned a true value; transform succeeded */
    SL_FILTER_ERROR   /* the function failed; the reason is in the filter's last error */
};

/* Runs route `route`'s where function on m. */
enum sl_filter_result sl_filter_where(struct sl_filter *f, size_t route, const struct sl_msg *m);

/* Runs route `route`'s transform function on m. On SL_FILTER_YES, *out is m
 * itself (no reference taken) when the function changed nothing, or a new
 * rewrite of m (rewrite.h) holding one reference, which the caller owns. On
 * error *out is NULL and nothing is kept. */
enum sl_filter_result sl_filter_transform(struct sl_filter *f, size_t route, struct sl_msg *m,
                                          struct sl_msg **out);

/* The reason for the last SL_FILTER_ERROR, "FILE:LINE: text" as Lua gives
 * it (the function's own position). Valid until the next call. */
const char *sl_filter_error(const struct sl_filter *f);

#endif /* SL_FILTER_H */
