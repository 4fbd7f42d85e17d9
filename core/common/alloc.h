/* SPDX-License-Identifier: MIT */
/*
 * alloc.h: the one allocation wrapper of the daemon (as fluent-bit's
 * flb_malloc), so tests can make any allocation fail and walk every error
 * path. Each behaves as its libc namesake; free() stays free().
 *
 * Thread: any.
 */
#ifndef SL_ALLOC_H
#define SL_ALLOC_H

#include <stddef.h>

void *sl_malloc(size_t size);
void *sl_calloc(size_t n, size_t size);
void *sl_realloc(void *p, size_t size);
char *sl_strdup(const char *s);
char *sl_strndup(const char *s, size_t n);

/* For tests: the next `n` allocations succeed and the one after fails (and
 * every one after that, until the next call); n < 0 turns failures off (the
 * default). Returns how many allocations were made since the last call while
 * failures were armed, so a test can arm with LONG_MAX to count a path's
 * allocations, then fail each in turn. */
long sl_alloc_fail_after(long n);

#endif /* SL_ALLOC_H */
