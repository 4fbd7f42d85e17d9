/* SPDX-License-Identifier: MIT */
/*
 * zstd_out.c: zstd writing for the plugins (zstd_out.h).
 *
 * Everything goes through ZSTD_compressStream2(): ZSTD_e_continue while a
 * frame is fed, ZSTD_e_end to close it. Output lands straight in the
 * caller's buffer, grown by ZSTD_CStreamOutSize() before each call, so no
 * intermediate copy is made. Frames carry a content checksum (zstd -t then
 * checks the decoded bytes too, not only the framing).
 */
#define _POSIX_C_SOURCE 200809L

#include "lib/zstd_out.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <zstd.h>

/* Room for at least more bytes after out->len. */
static int reserve(struct sluice_buf *out, size_t more)
{
    if (out->cap - out->len >= more)
        return 0;
    if (more > SIZE_MAX / 2 - out->len)
        return -ENOMEM;
    size_t cap = out->cap * 2 > out->len + more ? out->cap * 2 : out->len + more;
    char *d = realloc(out->data, cap);
    if (d == NULL)
        return -ENOMEM;
    out->data = d;
    out->cap = cap;
    return 0;
}

int spl_zstd_check(int level, int workers, char *err, size_t errlen)
{
    ZSTD_bounds lv = ZSTD_cParam_getBounds(ZSTD_c_compressionLevel);
    if (level != 0 && (level < lv.lowerBound || level > lv.upperBound)) {
        snprintf(err, errlen, "level %d is outside zstd's %d .. %d", level, lv.lowerBound,
                 lv.upperBound);
        return -EINVAL;
    }
    ZSTD_bounds w = ZSTD_cParam_getBounds(ZSTD_c_nbWorkers);
    if (workers < 0 || (workers > 0 && (ZSTD_isError(w.error) || workers > w.upperBound))) {
        snprintf(err, errlen, "workers %d: this libzstd takes 0 .. %d", workers,
                 ZSTD_isError(w.error) ? 0 : w.upperBound);
        return -EINVAL;
    }
    return 0;
}

int spl_zstd_init(struct spl_zstd *z, int level, int workers, char *err, size_t errlen)
{
    *z = (struct spl_zstd){0};
    int rc = spl_zstd_check(level, workers, err, errlen);
    if (rc < 0)
        return rc;
    ZSTD_CCtx *c = ZSTD_createCCtx();
    if (c == NULL) {
        snprintf(err, errlen, "out of memory for a zstd context");
        return -ENOMEM;
    }
    size_t e = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(e))
        e = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(e) && workers > 0)
        e = ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, workers);
    if (ZSTD_isError(e)) {
        snprintf(err, errlen, "zstd: %s", ZSTD_getErrorName(e));
        ZSTD_freeCCtx(c);
        return -EINVAL;
    }
    z->cctx = c;
    return 0;
}

void spl_zstd_free(struct spl_zstd *z)
{
    ZSTD_freeCCtx(z->cctx); /* NULL is a no-op */
    *z = (struct spl_zstd){0};
}

/* One ZSTD_compressStream2() loop over in, with op, until zstd has taken
 * all of in (and, for ZSTD_e_end, flushed the whole frame). */
static int run(struct spl_zstd *z, ZSTD_inBuffer *in, ZSTD_EndDirective op,
               struct sluice_buf *out)
{
    for (;;) {
        if (reserve(out, ZSTD_CStreamOutSize()) < 0)
            return -ENOMEM;
        ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len, 0};
        size_t left = ZSTD_compressStream2(z->cctx, &ob, in, op);
        out->len += ob.pos;
        if (ZSTD_isError(left)) {
            ZSTD_CCtx_reset(z->cctx, ZSTD_reset_session_only);
            z->in_frame = false;
            return -EIO;
        }
        /* continue: done once the input is taken; end: once nothing is
         * left to flush (left is then 0). */
        if (op == ZSTD_e_end ? left == 0 : in->pos == in->size)
            return 0;
    }
}

int spl_zstd_feed(struct spl_zstd *z, const void *data, size_t len, struct sluice_buf *out)
{
    if (len == 0)
        return 0;
    ZSTD_inBuffer in = {data, len, 0};
    z->in_frame = true;
    return run(z, &in, ZSTD_e_continue, out);
}

int spl_zstd_end(struct spl_zstd *z, struct sluice_buf *out)
{
    if (!z->in_frame)
        return 0;
    ZSTD_inBuffer in = {NULL, 0, 0};
    int rc = run(z, &in, ZSTD_e_end, out);
    z->in_frame = false;
    return rc;
}

/* Writes all of b, retrying EINTR and short writes. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int spl_zstd_file(int src, int dst, int level, const char **call)
{
    char err[128];
    struct spl_zstd z;
    struct sluice_buf out = {0};
    *call = "zstd";
    int rc = spl_zstd_init(&z, level, 0, err, sizeof err);
    size_t chunk = ZSTD_CStreamInSize();
    char *in = rc == 0 ? malloc(chunk) : NULL;
    if (rc == 0 && in == NULL)
        rc = -ENOMEM;
    z.in_frame = true; /* an empty file still becomes one (empty) frame */
    while (rc == 0) {
        ssize_t n = read(src, in, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            *call = "read";
            break;
        }
        out.len = 0;
        rc = n == 0 ? spl_zstd_end(&z, &out) : spl_zstd_feed(&z, in, (size_t)n, &out);
        if (rc == 0 && (rc = write_all(dst, out.data, out.len)) < 0)
            *call = "write";
        if (n == 0)
            break;
    }
    free(in);
    free(out.data);
    spl_zstd_free(&z);
    return rc;
}

size_t spl_zstd_whole(const void *data, size_t len)
{
    const char *p = data;
    size_t off = 0;
    while (off < len) {
        size_t n = ZSTD_findFrameCompressedSize(p + off, len - off);
        if (ZSTD_isError(n) || n == 0 || n > len - off)
            break; /* torn or not zstd: the whole frames end here */
        off += n;
    }
    return off;
}
