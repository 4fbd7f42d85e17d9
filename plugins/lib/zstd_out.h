/* SPDX-License-Identifier: MIT */
/*
 * zstd_out.h: zstd writing for the plugins, written once (libzstd's
 * streaming API, no framing of our own): the archive output's frames, and
 * the compression of rotated files (rotate = { compress = "zstd" }).
 *
 *   struct spl_zstd    a compression stream: bytes fed, frames ended,
 *                      compressed output appended to a caller's buffer;
 *   spl_zstd_file()    one whole file compressed into another, as one frame;
 *   spl_zstd_whole()   how much of a buffer is complete frames, to cut a
 *                      file a crash left with a torn last frame.
 *
 * Threads: a struct spl_zstd belongs to one thread at a time (the worker of
 * its instance); the functions keep no global state.
 */
#ifndef SPL_ZSTD_OUT_H
#define SPL_ZSTD_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include "sluice-plugin.h"

#define SPL_ZSTD_DEFAULT_LEVEL 3

struct spl_zstd {
    void *cctx;    /* owned ZSTD_CCtx */
    bool in_frame; /* bytes were fed since the last frame ended */
};

/* Whether level is one this libzstd accepts (ZSTD_minCLevel() ..
 * ZSTD_maxCLevel(), 0 meaning its default) and workers one it can use (0,
 * or more when it was built with threads: Debian's is). 0, or -EINVAL
 * with a reason in err. For check(): no side effect. */
int spl_zstd_check(int level, int workers, char *err, size_t errlen);

/* A stream at level with workers of zstd's own threads (0: compression on
 * the calling thread). 0, or a negative errno with a reason in err. */
int spl_zstd_init(struct spl_zstd *z, int level, int workers, char *err, size_t errlen);
void spl_zstd_free(struct spl_zstd *z); /* z is {0} after; {0} is a no-op */

/* Compresses data[0..len) into the frame under way (begun by the first
 * bytes after an end), appending what zstd gives back to out (grown with
 * realloc, the caller's). zstd may keep bytes until the frame ends. 0, or
 * -ENOMEM, or -EIO for an error zstd reports (the stream is reset: the
 * frame under way is lost, the next bytes begin a new one). */
int spl_zstd_feed(struct spl_zstd *z, const void *data, size_t len, struct sluice_buf *out);

/* Ends the frame under way, appending its rest to out: what is in out is
 * then a complete frame, which zstd -t accepts and zstdcat decodes alone.
 * Nothing when nothing was fed since the last end. 0, -ENOMEM or -EIO. */
int spl_zstd_end(struct spl_zstd *z, struct sluice_buf *out);

/* Compresses what is left to read of src (a file fd, read to its end) into
 * dst (written at its offset) as one frame, at level, on the calling
 * thread. Both fds stay the caller's; nothing is synced. 0, or a negative
 * errno with *call naming what failed ("read", "write", "zstd"). */
int spl_zstd_file(int src, int dst, int level, const char **call);

/* The length of the longest prefix of data[0..len) that is a sequence of
 * complete zstd frames (skippable frames included): what a file that may
 * end in a frame torn by a crash is cut back to. */
size_t spl_zstd_whole(const void *data, size_t len);

#endif /* SPL_ZSTD_OUT_H */
