/* SPDX-License-Identifier: MIT */
/*
 * batch.c: the resumable batch buffer (plugin_lib.h).
 *
 * A batch is formatted once into one reused buffer and written with as few
 * calls as the kernel allows. When a write fails the rest stays, and the
 * batch contract (sluice-plugin.h) guarantees the next write() is the same
 * batch unless abandon() came first: so the plugin writes the rest instead
 * of formatting anew, and nothing is lost or written twice.
 *
 * Where each message ends is recorded at fill, so progress() can say how
 * many are written in full when the daemon gives a batch up at shutdown
 * (it counts those as written, only the rest as lost). One size_t per
 * message in an array kept across batches, as the buffer is.
 */
#include "lib/plugin_lib.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Room for n ends: one realloc when the batch is the largest yet. */
static int reserve_ends(struct spl_batch *b, size_t n)
{
    if (n <= b->cap)
        return 0;
    size_t cap = b->cap * 2 > n ? b->cap * 2 : n;
    if (cap > SIZE_MAX / sizeof *b->ends)
        return -ENOMEM;
    size_t *e = realloc(b->ends, cap * sizeof *e);
    if (e == NULL)
        return -ENOMEM;
    b->ends = e;
    b->cap = cap;
    return 0;
}

int spl_batch_fill(struct spl_batch *b, const struct sluice_host *host, sluice_format *f,
                   const sluice_msg *const *msgs, size_t n)
{
    spl_batch_drop(b);
    if (reserve_ends(b, n) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (host->format_append(f, msgs[i], &b->buf) < 0) {
            spl_batch_drop(b);
            return -ENOMEM;
        }
        b->ends[i] = b->buf.len;
        b->n = i + 1;
    }
    return 0;
}

size_t spl_batch_done(const struct spl_batch *b)
{
    /* ends[] is sorted: the first end past off, by bisection. */
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->ends[mid] <= b->off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int spl_batch_write(struct spl_batch *b, spl_write_fn wr, void *ctx)
{
    while (b->off < b->buf.len) {
        ssize_t w = wr(ctx, b->buf.data + b->off, b->buf.len - b->off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno != 0 ? -errno : -EIO;
        if (w == 0)
            return -EIO; /* a writer that takes nothing and says no error */
        b->off += (size_t)w;
    }
    spl_batch_drop(b);
    return 0;
}

static ssize_t write_fd(void *ctx, const void *data, size_t len)
{
    return write(*(const int *)ctx, data, len);
}

int spl_batch_write_fd(struct spl_batch *b, int fd)
{
    return spl_batch_write(b, write_fd, &fd);
}

void spl_batch_drop(struct spl_batch *b)
{
    b->buf.len = 0;
    b->off = 0;
    b->n = 0;
}

void spl_batch_free(struct spl_batch *b)
{
    free(b->buf.data);
    free(b->ends);
    *b = (struct spl_batch){0};
}
