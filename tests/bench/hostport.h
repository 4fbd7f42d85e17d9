/* SPDX-License-Identifier: MIT */
/* hostport.h: "HOST:PORT" / "[V6]:PORT" splitting for the benchmark tools. */
#ifndef SL_BENCH_HOSTPORT_H
#define SL_BENCH_HOSTPORT_H

#include <errno.h>
#include <string.h>

/* Splits addr into host (copied, brackets dropped) and port (pointing into
 * addr); 0 or -EINVAL. */
static inline int split_hostport(const char *addr, char *host, size_t hostlen, const char **port)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon[1] == '\0')
        return -EINVAL;
    const char *h = addr;
    size_t n = (size_t)(colon - addr);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n == 0 || n >= hostlen)
        return -EINVAL;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = colon + 1;
    return 0;
}

#endif /* SL_BENCH_HOSTPORT_H */
