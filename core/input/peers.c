/* SPDX-License-Identifier: MIT */
/* peers.c: connections per source address (peers.h). */
#include "input/peers.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/alloc.h"

struct sl_peer_slot {
    struct sl_peer_key key;
    uint32_t count; /* 0: an empty slot */
};

void sl_peer_key_of(const struct sockaddr_storage *ss, struct sl_peer_key *k)
{
    memset(k, 0, sizeof *k);
    if (ss->ss_family == AF_INET6) {
        memcpy(k->a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
    } else if (ss->ss_family == AF_INET) {
        k->a[10] = k->a[11] = 0xff;
        memcpy(k->a + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    }
}

void sl_peers_init(struct sl_peers *p)
{
    *p = (struct sl_peers){0};
    uint64_t key[2];
    if (getrandom(key, sizeof key, GRND_NONBLOCK) != (ssize_t)sizeof key) {
        /* Early at boot the pool may not be ready: still vary per run. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uintptr_t)p;
        key[1] = (uint64_t)ts.tv_sec ^ (uintptr_t)&ts;
    }
    p->k0 = key[0];
    p->k1 = key[1];
}

void sl_peers_free(struct sl_peers *p)
{
    free(p->v);
    p->v = NULL;
    p->cap = p->n = 0;
}

/* splitmix64's finalizer: every input bit moves every output bit. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static size_t home(const struct sl_peers *p, const struct sl_peer_key *k)
{
    uint64_t a, b;
    memcpy(&a, k->a, 8);
    memcpy(&b, k->a + 8, 8);
    return (size_t)mix(mix(a ^ p->k0) ^ b ^ p->k1) & (p->cap - 1);
}

/* The slot holding k, or the empty slot where it would go. cap > 0. */
static size_t find(const struct sl_peers *p, const struct sl_peer_key *k)
{
    size_t i = home(p, k);
    while (p->v[i].count != 0 && memcmp(&p->v[i].key, k, sizeof *k) != 0)
        i = (i + 1) & (p->cap - 1);
    return i;
}

unsigned sl_peers_count(const struct sl_peers *p, const struct sl_peer_key *k)
{
    return p->cap == 0 ? 0 : p->v[find(p, k)].count;
}

/* Doubles the table (16 slots at first), placing every entry again. */
static int grow(struct sl_peers *p)
{
    size_t cap = p->cap ? p->cap * 2 : 16;
    struct sl_peer_slot *v = sl_calloc(cap, sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    struct sl_peers next = {.v = v, .cap = cap, .n = p->n, .k0 = p->k0, .k1 = p->k1};
    for (size_t i = 0; i < p->cap; i++) {
        if (p->v[i].count != 0)
            v[find(&next, &p->v[i].key)] = p->v[i];
    }
    free(p->v);
    *p = next;
    return 0;
}

int sl_peers_add(struct sl_peers *p, const struct sl_peer_key *k)
{
    /* At most half full: probes stay short, and an empty slot ends each. */
    if ((p->n + 1) * 2 > p->cap && grow(p) < 0)
        return -ENOMEM;
    struct sl_peer_slot *s = &p->v[find(p, k)];
    if (s->count == 0) {
        s->key = *k;
        p->n++;
    }
    s->count++;
    return 0;
}

void sl_peers_remove(struct sl_peers *p, const struct sl_peer_key *k)
{
    if (p->cap == 0)
        return;
    size_t m = p->cap - 1, i = find(p, k);
    if (p->v[i].count == 0 || --p->v[i].count > 0)
        return;
    /* Backward-shift deletion: move up each later entry of the run that may
     * sit in the hole (its home is not between the hole and itself), so no
     * probe meets an empty slot before its key; no tombstones. */
    for (size_t j = (i + 1) & m; p->v[j].count != 0; j = (j + 1) & m) {
        size_t h = home(p, &p->v[j].key);
        if (((j - h) & m) >= ((j - i) & m)) {
            p->v[i] = p->v[j];
            i = j;
        }
    }
    p->v[i].count = 0;
    p->n--;
}
