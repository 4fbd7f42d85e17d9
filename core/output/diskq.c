/* SPDX-License-Identifier: MIT */
/*
 * diskq.c: the disk queue (diskq.h); its file formats and recovery are in
 * diskq_seg.c.
 *
 * DESIGN (open and recovery: diskq_open.c, diskq_seg.c)
 *
 * Shape. A list of segments, oldest first; producers append to the last
 * one (the tail) under q->lock, with one write() per push (per 512
 * records), and roll to a new segment once the tail passes segment_size.
 * Every record gets a sequence number (seq), contiguous in this process:
 * ack_seq <= read_seq <= next_seq, where records before ack_seq are
 * acknowledged, those in [ack_seq, read_seq) popped and not yet committed,
 * and those in [read_seq, next_seq) waiting. The memory part is a ring of
 * the newest waiting records, seqs [next_seq - ccount, next_seq): a push
 * that finds it full evicts its oldest entry (that record is on disk), so
 * a worker that keeps up pops references from memory and one that fell
 * behind reads the segments up to the ring's oldest seq and then joins
 * the ring: never twice, never a gap, since both are counted in seqs.
 *
 * Why the worker reads the disk without the lock. Reading and decoding a
 * batch of 2,048 records takes a few hundred microseconds; producers must
 * not wait for it. The worker snapshots, under the lock, how many records
 * lie before the ring (they are all written: push counts a record only
 * after its write() returned) and then reads them with its own fd. The
 * segment nodes it walks are freed only by commit, which is the worker's
 * too; a node's `end` (its size once sealed) and `next` are atomics the
 * roller publishes with release order, and the worker never reads past
 * the records it counted.
 *
 * Sync. "batch": the push that appended fdatasyncs before it returns, on
 * a dup of the tail's fd taken under the lock, but outside the lock, so
 * producers and the worker do not stall behind one producer's flush. The
 * ordering holds without the lock: a push returns (and its messages count
 * as enqueued) only after a flush that started after its own write()
 * returned, and fdatasync covers every byte written to the file before
 * it; a roll flushes the segment it seals, under the lock, before the
 * segment can be closed, so a flush outside the lock only ever concerns
 * the bytes of one file. The dup keeps the file open for that flush even
 * if the segment is sealed and closed meanwhile. "interval": the push
 * that finds sync_ms passed since the last flush does the same; pop,
 * which the worker calls at least every 100 ms, flushes what is pending,
 * so nothing waits much longer than sync_ms. "none": never (the page cache
 * survives the process). The state slot is written by each commit and
 * flushed likewise (batch: every commit; interval: at most every sync_ms).
 *
 * Bounds and room. Push refuses a record that would take the segment
 * files past max_size (counted in `full`), unless nothing is
 * unacknowledged, so a single record larger than the bound cannot wedge
 * the queue. Room (notify_room) is disk_bytes <= max_size / 2, the memory
 * queue's hysteresis. Disk bytes shrink only when a wholly acknowledged
 * segment is deleted, so a commit that acknowledges everything while the
 * disk is over half full seals the tail early and deletes it: without
 * that a tail holding the bound by itself would never shrink.
 *
 * Lock discipline. q->lock guards the segment list, the tail's fd and
 * offset, the ring, the seqs and the counters. System calls under it:
 * the appends (the ordering of records is the order of the writes), a
 * roll's flush and directory sync (once per segment), and eventfd writes
 * (as queue.c, so cancel_notify is final). No other lock is taken with it.
 */
#include "output/diskq_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "output/diskq_seg.h"
#include "output/msg_codec.h"


/* {=== small helpers */
static void fsync_dir(struct diskq *q)
{
    if (q->sync != SL_DISK_SYNC_NONE && fsync(q->dirfd) < 0)
        sl_log(SL_LOG_ERR, errno, "disk queue \"%s\": fsync() of its directory failed", q->name);
}

/* A flush outside the lock (see DESIGN: Sync) of a dup'ed fd. */
static void flush_fd(struct diskq *q, int fd)
{
    if (fd < 0)
        return;
    if (fdatasync(fd) < 0)
        sl_log(SL_LOG_ERR, errno, "disk queue \"%s\": fdatasync() failed", q->name);
    close(fd);
}

static bool has_room(const struct diskq *q)
{
    return q->disk_bytes <= q->max_size / 2 && !q->write_failing;
}

static void wake_consumer(struct diskq *q, bool *wake)
{
    *wake = q->waiting;
    q->waiting = false;
}
/* }=== */

/* {=== segments (q->lock held) */
/* Seals the tail (flushed, unless sync none) and starts segment next_id
 * as the new tail. On failure the old tail stays the tail. */
int sl_diskq_roll(struct diskq *q)
{
    char name[32];
    uint64_t id = q->next_id;
    sl_dq_seg_name(name, sizeof name, id);
    struct seg *s = sl_calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    int fd = openat(q->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    unsigned char h[SL_DQ_SEG_HDR];
    sl_dq_seg_header(h, id, q->next_seq);
    if (fd < 0 || write(fd, h, sizeof h) != (ssize_t)sizeof h) {
        int e = fd < 0 ? errno : ENOSPC;
        if (fd >= 0) {
            close(fd);
            unlinkat(q->dirfd, name, 0);
        }
        free(s);
        return -e;
    }
    q->next_id++;
    if (q->wfd >= 0) {
        if (q->sync != SL_DISK_SYNC_NONE && fdatasync(q->wfd) < 0)
            sl_log(SL_LOG_ERR, errno, "disk queue \"%s\": fdatasync() failed", q->name);
        close(q->wfd);
        atomic_store_explicit(&q->tail->end, q->woff, memory_order_release);
    }
    s->id = id;
    s->first_seq = q->next_seq;
    s->size = SL_DQ_SEG_HDR;
    atomic_init(&s->end, SEALING);
    atomic_init(&s->next, NULL);
    if (q->tail != NULL)
        atomic_store_explicit(&q->tail->next, s, memory_order_release);
    else
        q->head = s;
    q->tail = s;
    q->wfd = fd;
    q->woff = SL_DQ_SEG_HDR;
    q->nsegs++;
    q->disk_bytes += SL_DQ_SEG_HDR;
    fsync_dir(q);
    return 0;
}
/* }=== */

/* {=== push */
/* Writes the encoded records ebuf[0..len) at the tail's end, cutting a
 * partial write off again. */
static int append(struct diskq *q, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(q->wfd, q->ebuf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            if (ftruncate(q->wfd, (off_t)q->woff) < 0 || lseek(q->wfd, (off_t)q->woff, SEEK_SET) < 0)
                sl_log(SL_LOG_ERR, errno, "disk queue \"%s\": cannot cut a failed append", q->name);
            return -e;
        }
        done += (size_t)w;
    }
    return 0;
}

static void cache_evict(struct diskq *q)
{
    struct centry *e = &q->ring[q->chead];
    q->cbytes -= e->m->raw.len;
    sl_msg_unref(e->m);
    q->chead = (q->chead + 1) % q->mem_cap;
    q->ccount--;
}

/* Takes m's reference: into the ring (evicting its oldest entries), or
 * released at once when it can never fit (it is on disk either way). */
static void cache_add(struct diskq *q, struct sl_msg *m, struct pos start, struct pos end)
{
    while (q->ccount > 0 && (q->ccount == q->mem_cap
                             || (q->mem_bytes && q->cbytes + m->raw.len > q->mem_bytes)))
        cache_evict(q);
    q->ring[(q->chead + q->ccount) % q->mem_cap] = (struct centry){m, start, end};
    q->ccount++;
    q->cbytes += m->raw.len;
}

static bool ensure_ebuf(struct diskq *q, size_t need)
{
    if (need <= q->ebuf_cap)
        return true;
    size_t cap = q->ebuf_cap ? q->ebuf_cap : 64 << 10;
    while (cap < need)
        cap *= 2;
    unsigned char *p = sl_realloc(q->ebuf, cap);
    if (p == NULL)
        return false;
    q->ebuf = p;
    q->ebuf_cap = cap;
    return true;
}

/* A push's records in flight: the encoded bytes and where each ends. */
struct pending {
    size_t bytes, n, first; /* n records from msgs[first] */
    uint64_t ends[FLUSH_RECORDS];
};

static int flush_pending(struct diskq *q, struct sl_msg *const *msgs, struct pending *p)
{
    if (p->n == 0)
        return 0;
    int rc = append(q, p->bytes);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < p->n; i++)
        cache_add(q, msgs[p->first + i], (struct pos){q->tail, i ? p->ends[i - 1] : q->woff},
                  (struct pos){q->tail, p->ends[i]});
    q->woff += p->bytes;
    q->tail->size = q->woff;
    q->disk_bytes += p->bytes;
    q->next_seq += p->n;
    p->first += p->n;
    p->n = 0;
    p->bytes = 0;
    return 0;
}

/* Whether record rec (bytes) may be added now (see DESIGN: Bounds). */
static bool fits(const struct diskq *q, const struct pending *p, uint64_t rec)
{
    if (q->disk_bytes + p->bytes + rec <= q->max_size)
        return true;
    return q->ack_seq == q->next_seq && p->n == 0;
}

static int push_one(struct diskq *q, struct sl_msg *m, struct sl_msg *const *msgs,
                    struct pending *p)
{
    size_t sz = sl_msg_encoded_size(m);
    if (sz == 0 || sz > SL_DQ_REC_MAX)
        return -E2BIG;
    uint64_t rec = SL_DQ_REC_HDR + sz;
    bool rolls = q->woff + p->bytes + rec > q->seg_size && q->woff + p->bytes > SL_DQ_SEG_HDR;
    if (!fits(q, p, rec + (rolls ? SL_DQ_SEG_HDR : 0))) /* a new segment's header counts too */
        return -EOVERFLOW;
    if (p->n == FLUSH_RECORDS || rolls) {
        int rc = flush_pending(q, msgs, p);
        if (rc == 0 && q->woff + rec > q->seg_size && q->woff > SL_DQ_SEG_HDR)
            rc = sl_diskq_roll(q);
        if (rc < 0)
            return rc;
    }
    if (!ensure_ebuf(q, p->bytes + rec))
        return -ENOMEM;
    unsigned char *at = q->ebuf + p->bytes;
    sl_msg_encode(m, at + SL_DQ_REC_HDR, sz);
    sl_dq_rec_header(at, at + SL_DQ_REC_HDR, (uint32_t)sz);
    p->bytes += rec;
    p->ends[p->n++] = q->woff + p->bytes;
    return 0;
}

static void push_failed(struct diskq *q, int rc)
{
    if (rc == -EOVERFLOW) { /* max_size: the overflow policy's business */
        q->st.full++;
        return;
    }
    if (rc == -E2BIG) { /* a record over SL_DQ_REC_MAX: no input makes one (max_message) */
        q->st.full++;
        if (sl_ratelimit_ok(&q->errlog))
            sl_log(SL_LOG_ERR, 0, "disk queue \"%s\": a message too large for a record is "
                   "refused", q->name);
        return;
    }
    q->write_failing = true;
    if (sl_ratelimit_ok(&q->errlog))
        sl_log(SL_LOG_ERR, -rc, "disk queue \"%s\": append to segment %016llx failed; the "
               "messages stay with their input", q->name, (unsigned long long)q->tail->id);
}

/* The fd a flush outside the lock uses, or -1 for none (see DESIGN). */
static int flush_due(struct diskq *q, int64_t now)
{
    if (q->sync == SL_DISK_SYNC_NONE)
        return -1;
    if (q->sync == SL_DISK_SYNC_INTERVAL && now - q->last_sync_ms < q->sync_ms) {
        q->sync_pending = true;
        return -1;
    }
    q->sync_pending = false;
    q->last_sync_ms = now;
    return fcntl(q->wfd, F_DUPFD_CLOEXEC, 0);
}

static size_t diskq_push(struct sl_queue *base, struct sl_msg *const *msgs, size_t n)
{
    struct diskq *q = (struct diskq *)base;
    struct pending p = {0};
    pthread_mutex_lock(&q->lock);
    uint64_t before = q->next_seq;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = push_one(q, msgs[i], msgs, &p);
    int frc = flush_pending(q, msgs, &p);
    if (rc == 0)
        rc = frc;
    if (rc < 0)
        push_failed(q, rc);
    size_t taken = (size_t)(q->next_seq - before);
    if (taken > 0 && (rc == 0 || rc == -EOVERFLOW))
        q->write_failing = false; /* appends work again */
    int sfd = taken > 0 ? flush_due(q, sl_now_ms()) : -1;
    bool wake = false;
    if (taken > 0)
        wake_consumer(q, &wake);
    pthread_mutex_unlock(&q->lock);
    if (wake)
        pthread_cond_signal(&q->nonempty);
    flush_fd(q, sfd);
    return taken;
}
/* }=== */

/* {=== pop: the worker */
/* Makes rbuf hold the bytes of segment s from off on, at least need of
 * them if the file has them. */
/* The worker's read fd on segment s, opened when it changes. */
static int seg_fd(struct diskq *q, const struct seg *s)
{
    if (q->rfd < 0 || q->rfd_id != s->id) {
        if (q->rfd >= 0)
            close(q->rfd);
        char name[32];
        sl_dq_seg_name(name, sizeof name, s->id);
        q->rfd = openat(q->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (q->rfd < 0)
            return -errno;
        q->rfd_id = s->id;
    }
    return 0;
}

static int fill(struct diskq *q, struct seg *s, uint64_t off, size_t need)
{
    int rc = seg_fd(q, s);
    if (rc < 0)
        return rc;
    size_t want = need > RBUF_SIZE ? need : RBUF_SIZE;
    if (s->id == q->rd_tail_id && off + want > q->rd_woff)
        want = q->rd_woff > off ? (size_t)(q->rd_woff - off) : 0;
    if (want > q->rbuf_cap) {
        unsigned char *b = sl_realloc(q->rbuf, want);
        if (b == NULL)
            return -ENOMEM;
        q->rbuf = b;
        q->rbuf_cap = want;
    }
    ssize_t r = pread(q->rfd, q->rbuf, want, (off_t)off);
    if (r < 0)
        return -errno;
    q->rbuf_id = s->id;
    q->rbuf_off = off;
    q->rbuf_len = (size_t)r;
    return 0;
}

/* The record at q->rpos: its bytes in *rec (into rbuf) and its size.
 * -EIO when what is there is not a valid record. */
static int read_record(struct diskq *q, const unsigned char **rec, size_t *len)
{
    struct pos *p = &q->rpos;
    uint64_t end = atomic_load_explicit(&p->seg->end, memory_order_acquire);
    if (p->off >= end) { /* sealed, and read to its end: the next one */
        struct seg *next = atomic_load_explicit(&p->seg->next, memory_order_acquire);
        if (next == NULL)
            return -EIO; /* never: a sealed segment has a successor */
        p->seg = next;
        p->off = SL_DQ_SEG_HDR;
    }
    for (int pass = 0; pass < 2; pass++) {
        bool in = q->rbuf_id == p->seg->id && q->rbuf_len > 0 && p->off >= q->rbuf_off
                  && p->off < q->rbuf_off + q->rbuf_len;
        size_t have = in ? (size_t)(q->rbuf_off + q->rbuf_len - p->off) : 0;
        const unsigned char *at = in ? q->rbuf + (p->off - q->rbuf_off) : NULL;
        long r = in ? sl_dq_rec_check(at, have) : 0;
        if (r > 0) {
            *rec = at;
            *len = (size_t)r;
            return 0;
        }
        if (r < 0 || pass == 1)
            return -EIO;
        size_t need = SL_DQ_REC_HDR;
        if (have >= 8) { /* the header is there: read the whole record */
            need = SL_DQ_REC_HDR + (size_t)(at[4] | at[5] << 8 | at[6] << 16 | (uint32_t)at[7] << 24);
            if (need > SL_DQ_REC_HDR + SL_DQ_REC_MAX)
                return -EIO;
        }
        int rc = fill(q, p->seg, p->off, need);
        if (rc < 0)
            return rc;
    }
    return -EIO;
}

static bool popped_room(struct diskq *q, size_t max)
{
    if (max <= q->popped_cap)
        return true;
    struct pos *p = sl_realloc(q->popped, max * sizeof *p);
    if (p == NULL)
        return false;
    q->popped = p;
    q->popped_cap = max;
    return true;
}

/* Where the records after damage at q->rpos can be trusted again: the
 * end of what the worker may read in that segment (its end, or where the
 * ring's records start in it), and the seq of the record there. q->lock
 * held. */
static void damage_limit(struct diskq *q, uint64_t *limit, uint64_t *limit_seq)
{
    struct seg *s = q->rpos.seg, *next = atomic_load_explicit(&s->next, memory_order_acquire);
    uint64_t ring_lo = q->next_seq - q->ccount;
    if (q->ccount > 0 && q->ring[q->chead].start.seg == s) {
        *limit = q->ring[q->chead].start.off;
        *limit_seq = ring_lo;
    } else if (next != NULL) {
        *limit = atomic_load_explicit(&s->end, memory_order_acquire);
        *limit_seq = next->first_seq;
    } else {
        *limit = q->woff;
        *limit_seq = q->next_seq;
    }
}

/* Counts the good records from the first one at or after q->rpos.off + 1
 * up to limit, in a copy of those bytes: where it starts in *found. */
static int count_after_damage(struct diskq *q, uint64_t limit, uint64_t *found, uint64_t *k)
{
    uint64_t from = q->rpos.off;
    *found = limit;
    *k = 0;
    if (limit <= from)
        return 0;
    size_t len = (size_t)(limit - from);
    int rc = seg_fd(q, q->rpos.seg);
    unsigned char *p = rc == 0 ? sl_malloc(len) : NULL;
    if (p == NULL)
        return rc < 0 ? rc : -ENOMEM;
    ssize_t r = pread(q->rfd, p, len, (off_t)from);
    if (r != (ssize_t)len) {
        free(p);
        return r < 0 ? -errno : -EIO;
    }
    size_t o = sl_dq_resync(p, len, 1);
    *found = from + o;
    while (o < len) {
        long rec = sl_dq_rec_check(p + o, len - o);
        if (rec <= 0) {
            o = sl_dq_resync(p, len, o + 1); /* damaged again: not counted, skipped */
            continue;
        }
        (*k)++;
        o += (size_t)rec;
    }
    free(p);
    return 0;
}

/* After a record that cannot be read at q->rpos: resyncs on the next good
 * record of that segment, as recovery does, so damage costs only the
 * records it touches. The seq of that record is known by counting back
 * from the end of what may be read there, whose seq is known (the next
 * segment's first, or the ring's oldest). A count that does not fit
 * (more damage than bytes can say) skips to that end instead. Counts
 * what was skipped. Worker. */
static void skip_damage(struct diskq *q, uint64_t *seq, int why)
{
    uint64_t limit, limit_seq, found, k;
    pthread_mutex_lock(&q->lock);
    damage_limit(q, &limit, &limit_seq);
    pthread_mutex_unlock(&q->lock);
    if (count_after_damage(q, limit, &found, &k) < 0 || k > limit_seq - *seq) {
        found = limit;
        k = 0;
    }
    uint64_t to_seq = limit_seq - k, off = q->rpos.off;
    pthread_mutex_lock(&q->lock);
    q->st.corrupt += to_seq - *seq;
    pthread_mutex_unlock(&q->lock);
    if (sl_ratelimit_ok(&q->errlog))
        sl_log(SL_LOG_ERR, why, "disk queue \"%s\": segment %016llx: the record at offset %llu "
               "cannot be read: %llu records skipped up to offset %llu", q->name,
               (unsigned long long)q->rpos.seg->id, (unsigned long long)off,
               (unsigned long long)(to_seq - *seq), (unsigned long long)found);
    q->rpos.off = found; /* the segment's end: read_record moves on; the ring's: memory */
    *seq = to_seq;
}

/* Reads up to k records from disk into out[] (heap messages). Advances
 * *seq past what it read or skipped. Without the lock (DESIGN). */
static size_t read_disk(struct diskq *q, struct sl_msg **out, size_t k, uint64_t *seq,
                        uint64_t stop_seq)
{
    size_t got = 0;
    while (*seq < stop_seq && got < k) {
        const unsigned char *rec;
        size_t len;
        int rc = read_record(q, &rec, &len);
        if (rc < 0) {
            skip_damage(q, seq, -rc);
            break;
        }
        struct sl_msg *m;
        rc = sl_msg_decode(rec + SL_DQ_REC_HDR, len - SL_DQ_REC_HDR, &m);
        q->rpos.off += len;
        (*seq)++;
        if (rc < 0) { /* a good crc over bytes that are no message: skip this one */
            pthread_mutex_lock(&q->lock);
            q->st.corrupt++;
            pthread_mutex_unlock(&q->lock);
            if (sl_ratelimit_ok(&q->errlog))
                sl_log(SL_LOG_ERR, -rc, "disk queue \"%s\": segment %016llx: a record before "
                       "offset %llu does not decode: skipped", q->name,
                       (unsigned long long)q->rpos.seg->id, (unsigned long long)q->rpos.off);
            continue;
        }
        q->popped[got] = q->rpos;
        out[got++] = m;
    }
    return got;
}

static void wait_nonempty(struct diskq *q, int timeout_ms)
{
    if (timeout_ms == 0)
        return;
    struct timespec deadline = {0, 0};
    if (timeout_ms > 0)
        deadline = sl_clock_after_ms(timeout_ms);
    while (q->read_seq == q->next_seq && !q->closed && !q->kicked) {
        q->waiting = true;
        int rc = timeout_ms < 0 ? pthread_cond_wait(&q->nonempty, &q->lock)
                                : pthread_cond_timedwait(&q->nonempty, &q->lock, &deadline);
        q->waiting = false;
        if (rc == ETIMEDOUT)
            return;
    }
}

/* Takes records from the ring while they are the next ones. */
static size_t take_memory(struct diskq *q, struct sl_msg **out, size_t got, size_t max)
{
    while (got < max && q->ccount > 0 && q->next_seq - q->ccount == q->read_seq) {
        struct centry *e = &q->ring[q->chead];
        out[got] = e->m;
        q->popped[got++] = e->end;
        q->rpos = e->end;
        q->cbytes -= e->m->raw.len;
        q->chead = (q->chead + 1) % q->mem_cap;
        q->ccount--;
        q->read_seq++;
    }
    return got;
}

static size_t diskq_pop(struct sl_queue *base, struct sl_msg **out, size_t max, int timeout_ms)
{
    struct diskq *q = (struct diskq *)base;
    if (max == 0 || !popped_room(q, max))
        return 0;
    pthread_mutex_lock(&q->lock);
    if (q->read_seq == q->next_seq && !q->closed && !q->kicked)
        wait_nonempty(q, timeout_ms);
    q->kicked = false;
    int64_t now = sl_now_ms();
    int sfd = q->sync_pending && now - q->last_sync_ms >= q->sync_ms ? flush_due(q, now) : -1;
    if (q->write_failing)
        sl_room_fire(&q->notify); /* the producers retry about every pop timeout */
    uint64_t seq = q->read_seq, ring_lo = q->next_seq - q->ccount;
    q->rd_tail_id = q->tail->id;
    q->rd_woff = q->woff;
    size_t got = 0;
    if (seq < ring_lo) {
        pthread_mutex_unlock(&q->lock);
        got = read_disk(q, out, max, &seq, ring_lo);
        pthread_mutex_lock(&q->lock);
        q->st.read_from_disk += got;
        q->read_seq = seq;
    }
    got = take_memory(q, out, got, max);
    q->popped_n = got;
    q->pop_end = q->rpos;
    q->pop_end_seq = q->read_seq;
    pthread_mutex_unlock(&q->lock);
    flush_fd(q, sfd);
    return got;
}
/* }=== */

/* {=== commit: the acknowledgement */
/* Writes the state slot for the ack position and flushes it as the sync
 * mode says. The worker's. */
void sl_diskq_write_state(struct diskq *q, uint64_t ack_seq)
{
    struct sl_dq_state st = {++q->gen, q->ack.seg->id, q->ack.off, ack_seq};
    int rc = sl_dq_state_write(q->statefd, &st);
    if (rc < 0 && sl_ratelimit_ok(&q->errlog))
        sl_log(SL_LOG_ERR, -rc, "disk queue \"%s\": writing its state failed (what was "
               "acknowledged since may be delivered again after a restart)", q->name);
    int64_t now = sl_now_ms();
    bool flush = q->sync == SL_DISK_SYNC_BATCH
                 || (q->sync == SL_DISK_SYNC_INTERVAL && now - q->last_state_sync_ms >= q->sync_ms);
    if (rc == 0 && flush) {
        if (fdatasync(q->statefd) < 0)
            sl_log(SL_LOG_ERR, errno, "disk queue \"%s\": fdatasync() of its state failed", q->name);
        q->last_state_sync_ms = now;
    }
}

/* Past the end of a sealed segment is the start of the next one. */
static struct pos normalize(struct pos p)
{
    struct seg *next = atomic_load_explicit(&p.seg->next, memory_order_acquire);
    if (next != NULL && p.off >= atomic_load_explicit(&p.seg->end, memory_order_acquire))
        return (struct pos){next, SL_DQ_SEG_HDR};
    return p;
}

/* Detaches the segments before the ack position (q->lock held); the
 * caller unlinks and frees them, and only then takes their bytes off
 * disk_bytes (delete_segments), so that the writer never fills what is
 * still on disk: max_size holds at every moment, not only between commits. */
static struct seg *detach_acked(struct diskq *q)
{
    struct seg *gone = q->head, *last = NULL;
    while (q->head != q->ack.seg) {
        last = q->head;
        q->nsegs--;
        q->head = atomic_load_explicit(&last->next, memory_order_relaxed);
    }
    if (last == NULL)
        return NULL;
    atomic_store_explicit(&last->next, NULL, memory_order_relaxed);
    return gone;
}

/* Unlinks and frees the detached segments s, then gives their bytes back
 * to the budget and tells the waiting inputs (q->lock not held). */
static void delete_segments(struct diskq *q, struct seg *s)
{
    bool any = s != NULL;
    uint64_t freed = 0;
    while (s != NULL) {
        freed += s->size;
        struct seg *next = atomic_load_explicit(&s->next, memory_order_relaxed);
        char name[32];
        sl_dq_seg_name(name, sizeof name, s->id);
        if (unlinkat(q->dirfd, name, 0) < 0 && errno != ENOENT)
            sl_log(SL_LOG_ERR, errno, "disk queue \"%s\": unlink() \"%s\" failed", q->name, name);
        if (q->rfd >= 0 && q->rfd_id == s->id) {
            close(q->rfd);
            q->rfd = -1;
        }
        free(s);
        s = next;
    }
    if (!any)
        return;
    fsync_dir(q);
    pthread_mutex_lock(&q->lock);
    q->disk_bytes -= freed;
    if (q->notify.n > 0 && has_room(q))
        sl_room_fire(&q->notify);
    pthread_mutex_unlock(&q->lock);
}

static void diskq_commit(struct sl_queue *base, size_t n)
{
    struct diskq *q = (struct diskq *)base;
    if (n == 0)
        return;
    if (n > q->popped_n)
        n = q->popped_n; /* a caller bug: never acknowledge what was not popped */
    pthread_mutex_lock(&q->lock);
    if (n == q->popped_n) { /* the whole pop, and what it skipped as damaged */
        q->ack_seq = q->pop_end_seq;
        q->ack = q->pop_end;
    } else { /* a partial commit (queue.h): only before close */
        q->ack_seq += n;
        q->ack = q->popped[n - 1];
    }
    /* Everything acknowledged and the disk over half full: seal the tail
     * now so that it can go (DESIGN: Bounds). */
    if (q->ack_seq == q->next_seq && q->ack.seg == q->tail && q->ack.off == q->woff
        && q->woff > SL_DQ_SEG_HDR && q->disk_bytes > q->max_size / 2 && sl_diskq_roll(q) < 0)
        sl_log(SL_LOG_ERR, errno, "disk queue \"%s\": cannot start a new segment", q->name);
    q->ack = normalize(q->ack);
    /* rpos at the end of a sealed segment that is about to go: onwards */
    q->rpos = normalize(q->rpos);
    struct seg *gone = detach_acked(q);
    uint64_t ack_seq = q->ack_seq;
    if (q->notify.n > 0 && has_room(q))
        sl_room_fire(&q->notify);
    pthread_mutex_unlock(&q->lock);
    q->popped_n = 0;
    sl_diskq_write_state(q, ack_seq);
    delete_segments(q, gone);
}
/* }=== */

/* {=== the rest of the interface */
static void diskq_notify_room(struct sl_queue *base, int efd)
{
    struct diskq *q = (struct diskq *)base;
    pthread_mutex_lock(&q->lock);
    if (has_room(q) || sl_room_add(&q->notify, efd) != 0)
        sl_room_signal(efd);
    pthread_mutex_unlock(&q->lock);
}

static void diskq_cancel_notify(struct sl_queue *base, int efd)
{
    struct diskq *q = (struct diskq *)base;
    pthread_mutex_lock(&q->lock);
    sl_room_remove(&q->notify, efd);
    pthread_mutex_unlock(&q->lock);
}

static void diskq_close(struct sl_queue *base)
{
    struct diskq *q = (struct diskq *)base;
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    bool wake;
    wake_consumer(q, &wake);
    pthread_mutex_unlock(&q->lock);
    if (wake)
        pthread_cond_signal(&q->nonempty);
}

static void diskq_wake(struct sl_queue *base)
{
    struct diskq *q = (struct diskq *)base;
    pthread_mutex_lock(&q->lock);
    q->kicked = true;
    bool wake;
    wake_consumer(q, &wake);
    pthread_mutex_unlock(&q->lock);
    if (wake)
        pthread_cond_signal(&q->nonempty);
}

static size_t diskq_depth(struct sl_queue *base)
{
    struct diskq *q = (struct diskq *)base;
    pthread_mutex_lock(&q->lock);
    size_t n = (size_t)(q->next_seq - q->read_seq);
    pthread_mutex_unlock(&q->lock);
    return n;
}

static void diskq_stats(struct sl_queue *base, struct sl_queue_stats *out)
{
    struct diskq *q = (struct diskq *)base;
    pthread_mutex_lock(&q->lock);
    *out = q->st;
    out->depth = (size_t)(q->next_seq - q->read_seq);
    out->disk_bytes = q->disk_bytes;
    out->segments = q->nsegs;
    pthread_mutex_unlock(&q->lock);
}

/* Closes the files and frees everything; what is on disk stays for the
 * next open (acknowledged up to the last commit). */
static void diskq_free(struct sl_queue *base)
{
    struct diskq *q = (struct diskq *)base;
    if (q == NULL)
        return;
    while (q->ccount > 0)
        cache_evict(q);
    if (q->wfd >= 0) {
        if (q->sync != SL_DISK_SYNC_NONE && fdatasync(q->wfd) < 0)
            sl_log(SL_LOG_ERR, errno, "disk queue \"%s\": fdatasync() failed", q->name);
        close(q->wfd);
    }
    if (q->statefd >= 0 && q->sync != SL_DISK_SYNC_NONE)
        fdatasync(q->statefd);
    for (struct seg *s = q->head, *next; s != NULL; s = next) {
        next = atomic_load_explicit(&s->next, memory_order_relaxed);
        free(s);
    }
    if (q->rfd >= 0)
        close(q->rfd);
    if (q->statefd >= 0)
        close(q->statefd);
    if (q->lockfd >= 0)
        close(q->lockfd); /* releases the flock */
    if (q->dirfd >= 0)
        close(q->dirfd);
    pthread_cond_destroy(&q->nonempty);
    pthread_mutex_destroy(&q->lock);
    free(q->ring);
    free(q->ebuf);
    free(q->rbuf);
    free(q->popped);
    sl_room_free(&q->notify);
    free(q->name);
    free(q);
}

const struct sl_queue_ops sl_diskq_ops = {
    .push = diskq_push,
    .pop = diskq_pop,
    .commit = diskq_commit,
    .depth = diskq_depth,
    .close = diskq_close,
    .notify_room = diskq_notify_room,
    .cancel_notify = diskq_cancel_notify,
    .wake = diskq_wake,
    .free = diskq_free,
    .stats = diskq_stats,
};
/* }=== */
