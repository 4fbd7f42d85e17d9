/* SPDX-License-Identifier: MIT */
/*
 * cache.c: perproc's open files by name and in order of use (cache.h).
 */
#include "perproc/cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int pp_cache_init(struct pp_cache *c, size_t max_open)
{
    size_t size = 16;
    while (size < 2 * max_open)
        size *= 2;
    *c = (struct pp_cache){0};
    c->table = calloc(size, sizeof *c->table);
    if (c->table == NULL)
        return -ENOMEM;
    c->mask = size - 1;
    if (getrandom(&c->seed, sizeof c->seed, GRND_NONBLOCK) != (ssize_t)sizeof c->seed)
        c->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
    return 0;
}

uint64_t pp_cache_hash(const struct pp_cache *c, const char *name, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ c->seed;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)name[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

struct pp_file *pp_cache_find(const struct pp_cache *c, uint64_t h, const char *name, size_t len)
{
    for (struct pp_file *f = c->table[h & c->mask]; f != NULL; f = f->hnext) {
        if (f->hash == h && f->namelen == len && memcmp(f->name, name, len) == 0)
            return f;
    }
    return NULL;
}

static void unlink_use(struct pp_cache *c, struct pp_file *f)
{
    if (f->prev != NULL)
        f->prev->next = f->next;
    else
        c->first = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
    else
        c->last = f->prev;
    f->prev = f->next = NULL;
}

static void push_first(struct pp_cache *c, struct pp_file *f)
{
    f->prev = NULL;
    f->next = c->first;
    if (c->first != NULL)
        c->first->prev = f;
    c->first = f;
    if (c->last == NULL)
        c->last = f;
}

struct pp_file *pp_cache_add(struct pp_cache *c, uint64_t h, const char *name, size_t len, int fd)
{
    struct pp_file *f = calloc(1, sizeof *f + len + 1);
    if (f == NULL)
        return NULL;
    f->hash = h;
    f->fd = fd;
    f->namelen = len;
    memcpy(f->name, name, len);
    f->name[len] = '\0';
    f->hnext = c->table[h & c->mask];
    c->table[h & c->mask] = f;
    push_first(c, f);
    c->n++;
    return f;
}

void pp_cache_touch(struct pp_cache *c, struct pp_file *f)
{
    if (c->first == f)
        return;
    unlink_use(c, f);
    push_first(c, f);
}

void pp_cache_remove(struct pp_cache *c, struct pp_file *f)
{
    struct pp_file **p = &c->table[f->hash & c->mask];
    while (*p != f)
        p = &(*p)->hnext;
    *p = f->hnext;
    unlink_use(c, f);
    c->n--;
    free(f);
}

void pp_cache_free(struct pp_cache *c)
{
    free(c->table);
    *c = (struct pp_cache){0};
}
