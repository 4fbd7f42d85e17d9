/* SPDX-License-Identifier: MIT */
/*
 * peers.h: how many connections each source address has open, for a
 * stream input's max_connections_per_peer.
 *
 * A hash table of addresses and counts, open addressing with linear
 * probing, grown by doubling when half full and never shrunk; an address
 * leaves it when its count falls to 0. The hash is keyed with random bits
 * drawn at init, so a sender who picks its addresses (an IPv6 /64 has 2^64)
 * cannot aim them all at one chain. Lookups cost O(1) on average however
 * many connections are open, where scanning the connections would cost
 * O(max_connections) per accept under a flood of them.
 *
 * Thread: a table belongs to the input thread that accepts the
 * connections (or the main thread before it starts); no locks.
 */
#ifndef SL_PEERS_H
#define SL_PEERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address as IPv6; IPv4 as ::ffff:a.b.c.d, so a dual-stack listener
 * counts one host once whichever way it comes. */
struct sl_peer_key {
    uint8_t a[16];
};

struct sl_peers {
    struct sl_peer_slot *v; /* owned; NULL until the first add */
    size_t cap, n;          /* cap a power of two; n slots in use */
    uint64_t k0, k1;        /* the hash's key */
};

/* The key of a connection's source address (AF_INET or AF_INET6; any
 * other family is all zeros, one key for all). */
void sl_peer_key_of(const struct sockaddr_storage *ss, struct sl_peer_key *k);

/* An empty table with a fresh random key. */
void sl_peers_init(struct sl_peers *p);
/* Frees the slots; p is empty afterwards. */
void sl_peers_free(struct sl_peers *p);

/* Connections counted for k now (0 when absent). */
unsigned sl_peers_count(const struct sl_peers *p, const struct sl_peer_key *k);
/* One more for k. 0, or -ENOMEM with the table unchanged. */
int sl_peers_add(struct sl_peers *p, const struct sl_peer_key *k);
/* One less for k, which must have been added. */
void sl_peers_remove(struct sl_peers *p, const struct sl_peer_key *k);

#endif /* SL_PEERS_H */
