/* SPDX-License-Identifier: MIT */
/*
 * gather.c: the pause of a datagram input between a small read and the
 * next (gather.h says why and the rule).
 */
#include "input/gather.h"

#include <stdio.h>

#define RATE_WEIGHT 0.25   /* of the newest cycle in the rate's EWMA */
#define UDP_TRUESIZE 1024  /* bytes the kernel charges a small datagram (skb, data) */

void sl_gather_init(struct sl_gather *g, int64_t window_ns, size_t room)
{
    *g = (struct sl_gather){.window_ns = window_ns > 0 ? window_ns : 0,
                            .room = room > 0 ? room : 1};
}

int64_t sl_gather_pause(const struct sl_gather *g, size_t n, int64_t first_ns, int64_t now_ns)
{
    if (g->window_ns == 0 || n >= SL_GATHER_ENOUGH)
        return 0;
    int64_t left = first_ns + g->window_ns - now_ns;
    if (left <= 0)
        return 0;
    /* Half the socket's room at the measured rate: the other half is for
     * the rate's error and the bursts the average hides. */
    double fill = g->rate > 0 ? (double)(g->room / 2 + 1) / g->rate : (double)left;
    return fill < (double)left ? (int64_t)fill : left;
}

void sl_gather_routed(struct sl_gather *g, size_t n, int64_t now_ns)
{
    if (g->last_ns > 0 && now_ns > g->last_ns) {
        double r = (double)n / (double)(now_ns - g->last_ns);
        g->rate = g->rate > 0 ? g->rate + RATE_WEIGHT * (r - g->rate) : r;
    }
    g->last_ns = now_ns;
}

size_t sl_gather_unix_room(void)
{
    unsigned long qlen = 10;
    FILE *f = fopen("/proc/sys/net/unix/max_dgram_qlen", "re");
    if (f != NULL) {
        if (fscanf(f, "%lu", &qlen) != 1 || qlen == 0)
            qlen = 10;
        fclose(f);
    }
    /* The kernel lets a sender queue while the queue is not above qlen. */
    return (size_t)qlen + 1;
}

size_t sl_gather_udp_room(size_t rcvbuf)
{
    size_t room = rcvbuf / UDP_TRUESIZE;
    return room > 2 ? room : 2;
}
