/* SPDX-License-Identifier: MIT */
/*
 * diskq_impl.h: what diskq.c (the queue's operations) and diskq_open.c
 * (open and recovery's adoption) share. Not for any other file.
 */
#ifndef SL_DISKQ_IMPL_H
#define SL_DISKQ_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "output/diskq.h"
#include "output/room.h"

#define FLUSH_RECORDS 512 /* records per write() at most */
#define RBUF_SIZE (256u << 10)
#define SEALING UINT64_MAX /* seg->end while it is the tail */

struct seg {
    uint64_t id;
    uint64_t first_seq;            /* the seq of its first waiting record */
    uint64_t size;                 /* bytes; under q->lock */
    _Atomic uint64_t end;          /* its size once sealed, SEALING before */
    _Atomic(struct seg *) next;    /* set once, by the roller */
};

/* A place in the segments: a record boundary. */
struct pos {
    struct seg *seg;
    uint64_t off;
};

struct centry {
    struct sl_msg *m;      /* one reference, the ring's */
    struct pos start, end; /* its record's, in the segments */
};

struct diskq {
    struct sl_queue base; /* first: a struct sl_queue * is a struct diskq * */
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    char *name; /* owned, for log lines */
    int dirfd, lockfd, statefd;
    uint64_t max_size, seg_size;
    enum sl_disk_sync sync;
    int sync_ms;

    /* under lock */
    struct seg *head, *tail;
    int wfd;       /* the tail's */
    uint64_t woff; /* the tail's size */
    uint64_t next_id, nsegs, disk_bytes;
    uint64_t ack_seq, read_seq, next_seq;
    struct centry *ring;
    size_t mem_cap, mem_bytes, chead, ccount, cbytes;
    unsigned char *ebuf; /* the encoding of one push's records */
    size_t ebuf_cap;
    int64_t last_sync_ms;
    bool sync_pending, write_failing, closed, waiting, kicked;
    struct sl_room_fds notify; /* producers waiting for room */
    struct sl_queue_stats st;
    struct sl_ratelimit errlog;

    /* the worker's (the consumer's) alone */
    struct pos rpos; /* the next record to read from disk */
    struct pos ack;
    struct pos *popped; /* popped[i]: just after the i-th record of the last pop */
    size_t popped_n, popped_cap;
    struct pos pop_end;   /* where the last pop left off: past what it skipped too */
    uint64_t pop_end_seq;
    int rfd;
    uint64_t rfd_id;
    /* The tail and its size when the last pop looked: the reader reads no
     * byte of the tail past it, since a failed append is cut back off and
     * its offsets written again (diskq.c: append). */
    uint64_t rd_tail_id, rd_woff;
    unsigned char *rbuf;
    size_t rbuf_cap, rbuf_len;
    uint64_t rbuf_id, rbuf_off;
    uint64_t gen;
    int64_t last_state_sync_ms;
};


/* The queue's operations (diskq.c); constant. */
extern const struct sl_queue_ops sl_diskq_ops;

/* q->lock held (or the opener's before the queue is shared). Seals the
 * tail and starts segment next_id as the new tail (diskq.c: DESIGN). */
int sl_diskq_roll(struct diskq *q);
/* The worker's (or the opener's). Writes the state slot for q->ack and
 * ack_seq, flushed as the sync mode says. */
void sl_diskq_write_state(struct diskq *q, uint64_t ack_seq);

#endif /* SL_DISKQ_IMPL_H */
