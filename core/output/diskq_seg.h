/* SPDX-License-Identifier: MIT */
/*
 * diskq_seg.h: the disk queue's files (diskq.h): segment headers, records,
 * the state file's two slots, and the recovery scan run at open.
 *
 * A segment file NNNNNNNNNNNNNNNN.seg (16 hex digits, its id; ids increase):
 *   header, 32 bytes: "SLQSEG\0\0", u32 version (1), u32 crc32c of the
 *   header with this field zero, u64 segment id, u64 seq of its first record
 *   records: u32 magic "SLRQ", u32 len, u32 crc32c over (the 4 len bytes +
 *   payload), len bytes of payload (msg_codec.h)
 * The state file `state`: two 512-byte slots at 0 and 512, each
 *   u32 magic "SLQS", u32 version (1), u64 generation, u64 ack segment id,
 *   u64 ack offset, u64 ack seq, u32 crc32c of the 40 bytes before it.
 * A write goes to slot generation % 2, so the slot it may tear is never
 * the one holding the last good state; the reader takes the valid slot
 * with the higher generation. Every number is little-endian.
 *
 * One checksum per record, not per file, so that damage costs the records
 * it touches and not the file (the design users of one-checksum-per-file
 * queues report losing whole files to).
 */
#ifndef SL_DISKQ_SEG_H
#define SL_DISKQ_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_DQ_SEG_VERSION 1
#define SL_DQ_SEG_HDR 32
#define SL_DQ_REC_MAGIC 0x51524c53u /* "SLRQ" read as little-endian */
#define SL_DQ_REC_HDR 12
#define SL_DQ_REC_MAX (64u << 20) /* a record's payload; an input caps messages far below */
#define SL_DQ_SLOT 512

/* Thread: any. The 32 header bytes of segment id whose first record is
 * first_seq, into out (the caller's). */
void sl_dq_seg_header(unsigned char *out, uint64_t id, uint64_t first_seq);
/* Thread: any. 0 when in[0..32) is a valid version 1 header, with its id
 * and first seq; -EINVAL otherwise. */
int sl_dq_seg_header_check(const unsigned char *in, uint64_t *id, uint64_t *first_seq);

/* Thread: any. The 12 record header bytes for payload[0..len), into out. */
void sl_dq_rec_header(unsigned char *out, const unsigned char *payload, uint32_t len);
/* Thread: any. Checks the record at p[0..n) (borrowed): its whole size
 * (header + payload) when magic, length and crc hold; 0 when p holds
 * less than the record its header announces (or less than a header);
 * -1 when it is not a valid record. */
long sl_dq_rec_check(const unsigned char *p, size_t n);

/* Thread: any. Where the next valid record in p[0..len) (borrowed) starts
 * at or after from, or len: a byte-by-byte search for a record whose
 * magic, length and crc all hold (odds of a false one about 2^-64). */
size_t sl_dq_resync(const unsigned char *p, size_t len, size_t from);

/* The acknowledged position: every record before (seg, off) is done. */
struct sl_dq_state {
    uint64_t gen, seg, off, seq;
};

/* Reads the state file at fd: 0 with the newest valid slot in *st, and in
 * *bad how many slots were present but invalid; -ENOENT when neither slot
 * is valid (*bad says whether there was anything at all). */
int sl_dq_state_read(int fd, struct sl_dq_state *st, int *bad);
/* Writes st into slot st->gen % 2 of fd. 0 or a negative errno. */
int sl_dq_state_write(int fd, const struct sl_dq_state *st);

/* {=== recovery at open */
/* A segment found good (or repaired) at open. */
struct sl_dq_found {
    uint64_t id;
    uint64_t size;      /* bytes of the file */
    uint64_t first_off; /* offset of its first unacknowledged record (size: none) */
    uint64_t nrec;      /* unacknowledged records in it */
};

struct sl_dq_recovery {
    struct sl_dq_found *segs; /* owned, ascending ids; free() */
    size_t nsegs;
    uint64_t next_id;         /* the id for the next segment */
    uint64_t ack_seq;         /* the state's ack seq (0 without state) */
    uint64_t replayed, corrupt, torn, bad_segments;
};

/* Scans the queue directory dirfd (borrowed; the caller holds its lock):
 * reads the state, checks every segment, cuts a torn tail of the last
 * one, rewrites a segment with damaged records without them (the damaged
 * file kept as damaged/<id>.seg.<unix time>), moves aside a segment whose
 * header is bad, removes segments wholly acknowledged, and fills *r.
 * Every finding is logged with the queue's name, the segment id and the
 * offset. Thread: the opener. 0, or a negative errno (with err) when the
 * directory itself cannot be read or written. */
int sl_dq_recover(int dirfd, const char *name, struct sl_dq_recovery *r, char *err,
                  size_t errlen);
/* }=== */

/* Thread: any. Writes "NNNNNNNNNNNNNNNN.seg" for id into buf (>= 24 bytes). */
void sl_dq_seg_name(char *buf, size_t len, uint64_t id);

#endif /* SL_DISKQ_SEG_H */
