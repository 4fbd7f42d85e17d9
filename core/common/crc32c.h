/* SPDX-License-Identifier: MIT */
/*
 * crc32c.h: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of the disk queue's records, segment headers and state slots
 * (output/diskq_seg.c). Chosen over zlib's CRC-32 because it detects more
 * of the burst errors a torn or misdirected write leaves, and because
 * x86-64 computes it in hardware (SSE4.2 crc32), chosen at run time.
 */
#ifndef SL_CRC32C_H
#define SL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Thread: any. The CRC-32C of p[0..n) continued from crc, the value a
 * previous call returned (0 to start): sl_crc32c(sl_crc32c(0, a, x), b, y)
 * is the CRC of a then b. crc32c("123456789") == 0xE3069283. */
uint32_t sl_crc32c(uint32_t crc, const void *p, size_t n);

/* Thread: any. The same, always in portable C (slice-by-8): what
 * sl_crc32c() uses without SSE4.2, exported so tests check it on any CPU. */
uint32_t sl_crc32c_sw(uint32_t crc, const void *p, size_t n);

#endif /* SL_CRC32C_H */
