/* SPDX-License-Identifier: MIT */
/*
 * alloc.c: allocation with failure injection for tests.
 *
 * The failure point is the only global of this module: it is a test hook,
 * and the daemon truly has one heap. When it is off (the default) an
 * allocation costs one relaxed atomic load more than libc's.
 */
#include "common/alloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_after = -1; /* allocations left before failing; -1: off */
static atomic_long made;            /* allocations since the last sl_alloc_fail_after() */

long sl_alloc_fail_after(long n)
{
    atomic_store(&fail_after, n < 0 ? -1 : n);
    return atomic_exchange(&made, 0);
}

/* True when this allocation is to fail. */
static bool injected(void)
{
    if (atomic_load_explicit(&fail_after, memory_order_relaxed) < 0)
        return false;
    atomic_fetch_add_explicit(&made, 1, memory_order_relaxed);
    long left = atomic_load(&fail_after);
    while (left > 0 && !atomic_compare_exchange_weak(&fail_after, &left, left - 1)) {
    }
    if (left != 0)
        return false;
    errno = ENOMEM;
    return true;
}

void *sl_malloc(size_t size)
{
    return injected() ? NULL : malloc(size);
}

void *sl_calloc(size_t n, size_t size)
{
    return injected() ? NULL : calloc(n, size);
}

void *sl_realloc(void *p, size_t size)
{
    return injected() ? NULL : realloc(p, size);
}

char *sl_strdup(const char *s)
{
    return injected() ? NULL : strdup(s);
}

char *sl_strndup(const char *s, size_t n)
{
    return injected() ? NULL : strndup(s, n);
}
