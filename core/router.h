/*
 * router.h: deciding which outputs take a message.
 *
 * Routes are tried in config order; every condition a route states must hold
 * (facility and severity as bit masks, app_name / hostname / input as exact
 * lists, msg_contains as a substring). A message goes to the union of the
 * outputs of the routes it matches, each output once, until a matching route
 * says final. Declarative matches are evaluated here in C and never enter Lua.
 *
 * Thread: any; the router is immutable once built.
 */
#ifndef SL_ROUTER_H
#define SL_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "lua_config.h"
#include "msg.h"

/* Outputs are numbered as in sl_config.outputs; at most this many. */
#define SL_MAX_OUTPUTS 256

struct sl_router {
    const struct sl_config *config; /* borrowed: must outlive the router */
};

void sl_router_init(struct sl_router *r, const struct sl_config *config);

/* True when route rc takes m. */
bool sl_route_matches(const struct sl_route_conf *rc, const struct sl_msg *m);

/* Writes the indices of the outputs that take m into out[] (room for
 * config->noutputs entries), each once, in order of first appearance, and
 * returns how many. 0 means unrouted. */
size_t sl_router_route(const struct sl_router *r, const struct sl_msg *m, uint16_t *out);

#endif /* SL_ROUTER_H */
