/* SPDX-License-Identifier: MIT */
/*
 * archive_file.c: path templates, the repair scan and config values of the
 * archive output (archive_file.h).
 *
 * Why the scan refuses rather than cuts: a torn frame is what a kill -9
 * leaves (we write compressed bytes as zstd emits them, so the frame under
 * way is partly in the file), and it always begins with zstd's magic
 * number at the end of the last whole frame. Anything else there (a text
 * log someone pointed the path at, a corrupt block in the middle, another
 * program's data) cut back to the last whole frame could destroy a whole
 * file of someone else's data; we leave it as it is and say so.
 */
#define _POSIX_C_SOURCE 200809L /* localtime_r, mmap */

#include "archive/archive_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "lib/plugin_lib.h"
#include "lib/zstd_out.h"

/* {=== templates */
int arc_tmpl_parse(struct arc_tmpl *t, const char *path, char *err, size_t errlen)
{
    *t = (struct arc_tmpl){.path = path};
    for (const char *p = strchr(path, '{'); p != NULL; p = strchr(p + 1, '{')) {
        const char *close = strchr(p + 1, '}');
        if (close == NULL)
            break; /* a lone brace: part of the name */
        size_t n = (size_t)(close - p - 1);
        if (n == 4 && memcmp(p + 1, "date", 4) == 0)
            t->has_date = true;
        else if (n == 4 && memcmp(p + 1, "hour", 4) == 0)
            t->has_hour = true;
        else {
            snprintf(err, errlen, "key \"path\": \"{%.*s}\" is not a placeholder of an archive "
                     "path: only {date} (YYYY-MM-DD) and {hour} (HH) are, in the local time "
                     "of reception", (int)(n > 64 ? 64 : n), p + 1);
            return -EINVAL;
        }
        p = close;
    }
    return 0;
}

/* [*start, *end) of the local hour or day of sec, whose broken-down local
 * time is tm. */
static void span_of(const struct arc_tmpl *t, int64_t sec, const struct tm *tm, int64_t *start,
                    int64_t *end)
{
    if (t->has_hour) {
        /* Local minutes and seconds count from the start of the local
         * hour, whatever the offset (+05:30 included). */
        *start = sec - tm->tm_min * 60 - tm->tm_sec;
        *end = *start + 3600;
    } else {
        struct tm a = {.tm_year = tm->tm_year, .tm_mon = tm->tm_mon, .tm_mday = tm->tm_mday,
                       .tm_isdst = -1};
        struct tm b = a;
        b.tm_mday++; /* mktime() normalizes the 32nd */
        *start = (int64_t)mktime(&a);
        *end = (int64_t)mktime(&b);
    }
    if (!(*start <= sec && sec < *end)) { /* a zone mktime() cannot follow: one second */
        *start = sec;
        *end = sec + 1;
    }
}

int arc_tmpl_expand(const struct arc_tmpl *t, int64_t sec, char *out, size_t outlen,
                    int64_t *start, int64_t *end)
{
    *start = INT64_MIN;
    *end = INT64_MAX;
    struct tm tm = {0};
    time_t tt = (time_t)sec;
    if ((t->has_date || t->has_hour) && localtime_r(&tt, &tm) == NULL)
        return -EINVAL;
    size_t o = 0;
    for (const char *p = t->path; *p != '\0';) {
        char piece[16];
        size_t n;
        const char *src = piece;
        if ((t->has_date && strncmp(p, "{date}", 6) == 0)) {
            n = strftime(piece, sizeof piece, "%Y-%m-%d", &tm);
            p += 6;
        } else if (t->has_hour && strncmp(p, "{hour}", 6) == 0) {
            n = strftime(piece, sizeof piece, "%H", &tm);
            p += 6;
        } else {
            src = p++;
            n = 1;
        }
        if (o + n >= outlen)
            return -ENAMETOOLONG;
        memcpy(out + o, src, n);
        o += n;
    }
    if (outlen == 0)
        return -ENAMETOOLONG;
    out[o] = '\0';
    if (t->has_date || t->has_hour)
        span_of(t, sec, &tm, start, end);
    return 0;
}
/* }=== */

/* {=== repair */
/* Whether p[0..n) (n > 0) begins with a frame's magic number (zstd's, or
 * a skippable frame's), or is the start of one. */
static bool magic_start(const unsigned char *p, size_t n)
{
    static const unsigned char zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    static const unsigned char skip_magic[4] = {0x50, 0x2A, 0x4D, 0x18}; /* 0x184D2A5? */
    size_t k = n < 4 ? n : 4;
    bool z = memcmp(p, zstd_magic, k) == 0;
    bool s = (p[0] & 0xF0) == 0x50 && memcmp(p + 1, skip_magic + 1, k - 1) == 0;
    return z || s;
}

/* Whether tail[0..n) (n > 0), what follows the whole frames, is a frame
 * cut short: it starts as a frame does and zstd finds it short. */
static bool is_torn(const unsigned char *tail, size_t n)
{
    if (!magic_start(tail, n))
        return false;
    if (n < 4)
        return true;
    size_t r = ZSTD_findFrameCompressedSize(tail, n);
    return ZSTD_isError(r) && ZSTD_getErrorCode(r) == ZSTD_error_srcSize_wrong;
}

/* Mapped, not read: an archive of a day may be gigabytes, and zstd walks
 * only the frame and block headers. The risk that comes with a mapping:
 * another process cutting the file during the scan makes the pages past
 * its new end raise SIGBUS. Only the worker of the one instance writing
 * the file runs this (open() reads only its head), so that other process
 * is an administrator truncating an archive the daemon is opening. */
int arc_scan(int fd, off_t *size, off_t *whole, const char **call)
{
    char proc[64];
    struct stat st;
    *size = *whole = 0;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    int rfd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (rfd < 0) {
        *call = "open";
        return -errno;
    }
    int rc = 0;
    if (fstat(rfd, &st) < 0) {
        *call = "fstat";
        rc = -errno;
    } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, rfd, 0);
        if (p == MAP_FAILED) {
            *call = "mmap";
            rc = -errno;
        } else {
            size_t w = spl_zstd_whole(p, (size_t)st.st_size);
            *size = st.st_size;
            *whole = (off_t)w;
            if (w < (size_t)st.st_size && !is_torn((const unsigned char *)p + w,
                                                   (size_t)st.st_size - w))
                rc = -EILSEQ;
            munmap(p, (size_t)st.st_size);
        }
    }
    close(rfd);
    return rc;
}
int arc_head_ok(int fd, off_t *size)
{
    struct stat st;
    unsigned char head[4];
    *size = 0;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_size == 0)
        return 0;
    *size = st.st_size;
    ssize_t n;
    while ((n = pread(fd, head, sizeof head, 0)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return -errno;
    return n > 0 && !magic_start(head, (size_t)n) ? -EILSEQ : 0;
}
/* }=== */

/* {=== config values */
int arc_duration_ms(const char *s, int64_t *ms)
{
    int64_t v;
    if (spl_parse_duration_ms(s, &v) < 0 || v < 1 || v > 86400000)
        return -EINVAL;
    *ms = v;
    return 0;
}

/* }=== */
