/* SPDX-License-Identifier: MIT */
/*
 * sha256.h: SHA-256 (FIPS 180-4), small and dependency-free, for the name
 * encoder (name_enc.h), which shortens an over-long value to a prefix and
 * the hash of the whole. Not constant-time and not meant for secrets.
 *
 * Threads: none of its own; a context belongs to its caller.
 */
#ifndef SPL_SHA256_H
#define SPL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SPL_SHA256_LEN 32

struct spl_sha256 {
    uint32_t h[8];
    uint64_t bytes;       /* message length so far */
    unsigned char block[64];
    size_t used;          /* bytes of block filled */
};

void spl_sha256_init(struct spl_sha256 *c);
/* Adds data[0..len) to the message; data is only read during the call. */
void spl_sha256_update(struct spl_sha256 *c, const void *data, size_t len);
/* Writes the digest into out and leaves c unusable until the next init. */
void spl_sha256_final(struct spl_sha256 *c, unsigned char out[SPL_SHA256_LEN]);
/* The three calls in one. */
void spl_sha256(const void *data, size_t len, unsigned char out[SPL_SHA256_LEN]);

#endif /* SPL_SHA256_H */
