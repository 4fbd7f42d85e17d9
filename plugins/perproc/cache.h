/* SPDX-License-Identifier: MIT */
/*
 * cache.h: perproc's open files, by name: a hash table for the lookup of
 * each message's file and a list in order of use, so that the least
 * recently used file is the one closed when max_open are open (rsyslog's
 * dynaFileCache, syslog-ng's file() with max-files-open).
 *
 * The hash is FNV-1a with a random seed per instance: names are chosen
 * by senders, and with the seed they cannot aim at one chain; a chain is
 * at most the max_open files anyway.
 *
 * Threads: the worker's (open() and close() build and free it).
 */
#ifndef PP_CACHE_H
#define PP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/rotate.h"

/* One open file. The cache owns the struct and the name; the plugin owns
 * the fd (it closes it before pp_cache_remove()). */
struct pp_file {
    struct pp_file *hnext;      /* hash chain */
    struct pp_file *prev, *next; /* use order: prev is more recent */
    uint64_t hash;
    int fd;
    unsigned round;   /* the write round that last took it (perproc.c); pinned while unfinished */
    int64_t used_ms;  /* opened or last written (spl_now_ms), for idle_close */
    int64_t checked_ms; /* last looked at for deletion */
    bool check_end;   /* opened: look at its end before our first write */
    bool torn;        /* it ends without '\n': write one before our first line */
    struct spl_rotation rot; /* rotate's settings and the shift under way */
    bool rot_failing; /* the last rotation step failed: said once a streak */
    /* Its lines in the current round: messages head .. tail (linked through
     * the round's next[]), bytes [start, end) of the round's buffer, of
     * which [start, off) are written. */
    size_t head, tail;
    size_t start, end, off;
    size_t namelen;
    char name[];      /* relative to dir, NUL-ended */
};

struct pp_cache {
    struct pp_file **table; /* owned: mask + 1 chains */
    size_t mask;
    struct pp_file *first, *last; /* most and least recently used */
    size_t n;                     /* files in it */
    uint64_t seed;
};

/* Room for max_open files (the table at twice that, a power of two). 0 or
 * -ENOMEM. */
int pp_cache_init(struct pp_cache *c, size_t max_open);
uint64_t pp_cache_hash(const struct pp_cache *c, const char *name, size_t len);
/* The file named name[0..len) with hash h, or NULL. */
struct pp_file *pp_cache_find(const struct pp_cache *c, uint64_t h, const char *name, size_t len);
/* Adds a file (fd is the caller's until it removes it) as the most recent;
 * NULL when out of memory. */
struct pp_file *pp_cache_add(struct pp_cache *c, uint64_t h, const char *name, size_t len, int fd);
/* Makes f the most recently used. */
void pp_cache_touch(struct pp_cache *c, struct pp_file *f);
/* Takes f out and frees it (its fd must be closed already). */
void pp_cache_remove(struct pp_cache *c, struct pp_file *f);
/* Frees the table; the files must have been removed. */
void pp_cache_free(struct pp_cache *c);

#endif /* PP_CACHE_H */
