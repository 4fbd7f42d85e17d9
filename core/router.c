/*
 * router.c: declarative routes evaluated in C.
 *
 * DESIGN: the router is a pure function of the config and the message, with
 * no state of its own, so any number of input threads share it without a
 * lock. The work per message is a few mask tests and, only for routes that
 * name them, short list compares and one memmem(); outputs are de-duplicated
 * with a small stack bitmap so fan-out never sends a message twice to one
 * output.
 */
#include "router.h"

#include <string.h>

void sl_router_init(struct sl_router *r, const struct sl_config *config)
{
    r->config = config;
}

static bool list_matches(const struct sl_strlist *l, struct sl_str s)
{
    if (l->n == 0)
        return true;
    if (s.p == NULL)
        return false;
    return sl_strlist_has(l, s.p, s.len);
}

bool sl_route_matches(const struct sl_route_conf *rc, const struct sl_msg *m)
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
    return true;
}

size_t sl_router_route(const struct sl_router *r, const struct sl_msg *m, uint16_t *out)
{
    uint64_t seen[SL_MAX_OUTPUTS / 64] = {0};
    size_t n = 0;
    const struct sl_config *c = r->config;
    for (size_t i = 0; i < c->nroutes; i++) {
        const struct sl_route_conf *rc = &c->routes[i];
        if (!sl_route_matches(rc, m))
            continue;
        for (size_t k = 0; k < rc->nto; k++) {
            size_t o = rc->to[k];
            if (seen[o / 64] & (1ull << (o % 64)))
                continue;
            seen[o / 64] |= 1ull << (o % 64);
            out[n++] = (uint16_t)o;
        }
        if (rc->final)
            break;
    }
    return n;
}
