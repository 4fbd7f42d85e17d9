/* SPDX-License-Identifier: MIT */
/*
 * diskq_seg.c: the disk queue's file formats and its recovery scan
 * (diskq_seg.h).
 *
 * Recovery trusts no byte of any file. For each segment, in id order:
 * the header is checked (magic, version, crc, the id matching the file's
 * name); then every record from the header on (magic, length, crc). A bad
 * record is skipped by resyncing: the scan looks, byte by byte, for the
 * next offset where a whole record checks out, which a random byte
 * sequence passes with odds of about 2^-64 (magic and crc). What happens
 * to the bad bytes depends on where they are:
 *  - at the end of the last segment with no good record after them: a
 *    torn tail, the append a crash interrupted; it is cut (ftruncate) and
 *    counted in `torn`;
 *  - anywhere else: damage; counted in `corrupt`, and the segment is
 *    rewritten with its good unacknowledged records only (to a .tmp file,
 *    synced, renamed over it, keeping its id so the order holds), after a
 *    hard link of the original has been made as damaged/<id>.seg.<time>
 *    for the operator: nothing good is lost, and nothing bad is replayed.
 * A segment whose header is bad is treated as damage too (rewritten with
 * a good header, its good records kept): each record carries its own
 * checksum, so a bad header is no reason to lose them. A segment that is
 * a symbolic link, cannot be read, or is shorter than a header (and not
 * the last one, which a crash at creation leaves so) is moved to damaged/.
 */
#include "output/diskq_seg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/crc32c.h"
#include "common/log.h"

static const unsigned char seg_magic[8] = {'S', 'L', 'Q', 'S', 'E', 'G', 0, 0};
#define STATE_MAGIC 0x53514c53u /* "SLQS" */
#define STATE_VERSION 1
#define SLOT_BYTES 44

/* {=== little-endian fields */
static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
/* }=== */

/* {=== headers, records, state slots */
void sl_dq_seg_header(unsigned char *out, uint64_t id, uint64_t first_seq)
{
    memcpy(out, seg_magic, 8);
    put_le(out + 8, SL_DQ_SEG_VERSION, 4);
    put_le(out + 12, 0, 4);
    put_le(out + 16, id, 8);
    put_le(out + 24, first_seq, 8);
    put_le(out + 12, sl_crc32c(0, out, SL_DQ_SEG_HDR), 4);
}

int sl_dq_seg_header_check(const unsigned char *in, uint64_t *id, uint64_t *first_seq)
{
    unsigned char h[SL_DQ_SEG_HDR];
    memcpy(h, in, sizeof h);
    uint32_t crc = (uint32_t)get_le(h + 12, 4);
    put_le(h + 12, 0, 4);
    if (memcmp(h, seg_magic, 8) != 0 || get_le(h + 8, 4) != SL_DQ_SEG_VERSION
        || sl_crc32c(0, h, sizeof h) != crc)
        return -EINVAL;
    *id = get_le(h + 16, 8);
    *first_seq = get_le(h + 24, 8);
    return 0;
}

void sl_dq_rec_header(unsigned char *out, const unsigned char *payload, uint32_t len)
{
    put_le(out, SL_DQ_REC_MAGIC, 4);
    put_le(out + 4, len, 4);
    uint32_t crc = sl_crc32c(0, out + 4, 4);
    put_le(out + 8, sl_crc32c(crc, payload, len), 4);
}

long sl_dq_rec_check(const unsigned char *p, size_t n)
{
    if (n < 4)
        return 0;
    if (get_le(p, 4) != SL_DQ_REC_MAGIC)
        return -1;
    if (n < SL_DQ_REC_HDR)
        return 0;
    uint64_t len = get_le(p + 4, 4);
    if (len == 0 || len > SL_DQ_REC_MAX)
        return -1;
    if (n - SL_DQ_REC_HDR < len)
        return 0;
    uint32_t crc = sl_crc32c(sl_crc32c(0, p + 4, 4), p + SL_DQ_REC_HDR, (size_t)len);
    if (crc != (uint32_t)get_le(p + 8, 4))
        return -1;
    return (long)(SL_DQ_REC_HDR + len);
}

static bool slot_parse(const unsigned char *p, struct sl_dq_state *st)
{
    if (get_le(p, 4) != STATE_MAGIC || get_le(p + 4, 4) != STATE_VERSION
        || get_le(p + 40, 4) != sl_crc32c(0, p, 40))
        return false;
    st->gen = get_le(p + 8, 8);
    st->seg = get_le(p + 16, 8);
    st->off = get_le(p + 24, 8);
    st->seq = get_le(p + 32, 8);
    return true;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

int sl_dq_state_read(int fd, struct sl_dq_state *st, int *bad)
{
    unsigned char buf[2 * SL_DQ_SLOT];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    if (n < 0)
        return -errno;
    *bad = 0;
    bool found = false;
    for (int i = 0; i < 2; i++) {
        struct sl_dq_state s;
        if ((size_t)n < (size_t)i * SL_DQ_SLOT + SLOT_BYTES) {
            *bad += n > i * SL_DQ_SLOT; /* a slot cut short */
            continue;
        }
        if (!slot_parse(buf + i * SL_DQ_SLOT, &s)) {
            *bad += !all_zero(buf + i * SL_DQ_SLOT, SLOT_BYTES); /* zeroes: never written */
            continue;
        }
        if (!found || s.gen > st->gen)
            *st = s;
        found = true;
    }
    return found ? 0 : -ENOENT;
}

int sl_dq_state_write(int fd, const struct sl_dq_state *st)
{
    unsigned char p[SL_DQ_SLOT] = {0};
    put_le(p, STATE_MAGIC, 4);
    put_le(p + 4, STATE_VERSION, 4);
    put_le(p + 8, st->gen, 8);
    put_le(p + 16, st->seg, 8);
    put_le(p + 24, st->off, 8);
    put_le(p + 32, st->seq, 8);
    put_le(p + 40, sl_crc32c(0, p, 40), 4);
    ssize_t w = pwrite(fd, p, sizeof p, (off_t)(st->gen % 2) * SL_DQ_SLOT);
    if (w < 0)
        return -errno;
    return w == (ssize_t)sizeof p ? 0 : -EIO;
}

void sl_dq_seg_name(char *buf, size_t len, uint64_t id)
{
    snprintf(buf, len, "%016" PRIx64 ".seg", id);
}
/* }=== */

/* {=== recovery */
/* The id of a name "NNNNNNNNNNNNNNNN.seg", or false for any other name. */
static bool seg_id_of(const char *name, uint64_t *id)
{
    if (strlen(name) != 20 || strcmp(name + 16, ".seg") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = (v << 4) | (uint64_t)d;
    }
    *id = v;
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The segment ids in the directory, ascending (owned by the caller), and
 * leftover .tmp files of an interrupted rewrite removed. */
static int list_segments(int dirfd, uint64_t **ids, size_t *n)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return -e;
    }
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        uint64_t id;
        size_t len = strlen(e->d_name);
        if (len == 24 && strcmp(e->d_name + 20, ".tmp") == 0) {
            unlinkat(dirfd, e->d_name, 0);
            continue;
        }
        if (!seg_id_of(e->d_name, &id))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            uint64_t *p = sl_realloc(*ids, cap * sizeof *p);
            if (p == NULL) {
                rc = -ENOMEM;
                break;
            }
            *ids = p;
        }
        (*ids)[(*n)++] = id;
    }
    closedir(d);
    if (*n > 0)
        qsort(*ids, *n, sizeof **ids, cmp_u64);
    return rc;
}

/* Reads the whole of segment `name` (owned buffer in *buf, its size in
 * *len). -ELOOP for a symlink, -EINVAL for what is not a regular file. */
static int slurp(int dirfd, const char *name, unsigned char **buf, size_t *len)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > (4ull << 30)) {
        close(fd);
        return -EINVAL;
    }
    unsigned char *p = sl_malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (p != NULL && got < (size_t)st.st_size) {
        ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (p == NULL)
        return -ENOMEM;
    *buf = p;
    *len = got;
    return 0;
}

size_t sl_dq_resync(const unsigned char *p, size_t len, size_t from)
{
    for (size_t o = from; o + SL_DQ_REC_HDR <= len; o++) {
        if (p[o] == (SL_DQ_REC_MAGIC & 0xff) && sl_dq_rec_check(p + o, len - o) > 0)
            return o;
    }
    return len;
}

/* Moves or links `name` to damaged/<name>.<unix time>; link when keep
 * (the caller replaces name next), rename otherwise. */
static int put_aside(int dirfd, const char *name, bool keep)
{
    if (mkdirat(dirfd, "damaged", 0700) < 0 && errno != EEXIST)
        return -errno;
    char to[64];
    snprintf(to, sizeof to, "damaged/%s.%lld", name, (long long)time(NULL));
    int rc = keep ? linkat(dirfd, name, dirfd, to, 0) : renameat(dirfd, name, dirfd, to);
    return rc < 0 ? -errno : 0;
}

/* The scan of one segment's records (see the top). */
struct scan {
    size_t end;       /* where the good data ends (a torn tail starts) */
    uint64_t nrec;    /* good unacknowledged records */
    uint64_t damaged; /* bad regions before end */
    size_t first_off; /* the first good unacknowledged record */
    size_t ack_off;
};

static void scan_records(const unsigned char *p, size_t len, struct scan *s, const char *name,
                         uint64_t id)
{
    size_t o = SL_DQ_SEG_HDR;
    s->end = len;
    s->first_off = len;
    while (o < len) {
        long r = sl_dq_rec_check(p + o, len - o);
        if (r > 0) {
            if (o >= s->ack_off) {
                if (s->nrec++ == 0)
                    s->first_off = o;
            }
            o += (size_t)r;
            continue;
        }
        size_t next = sl_dq_resync(p, len, o + 1);
        if (next == len) { /* nothing good after: a tail */
            s->end = o;
            return;
        }
        sl_log(SL_LOG_ERR, 0, "disk queue \"%s\": segment %016llx: damaged record at offset %zu "
               "(%zu bytes skipped up to the next good record)", name, (unsigned long long)id, o,
               next - o);
        s->damaged++;
        o = next;
    }
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Rewrites segment `name` with its good unacknowledged records only (the
 * original linked into damaged/ first). */
static int rewrite(int dirfd, const char *name, uint64_t id, const unsigned char *p,
                   const struct scan *s, uint64_t *size)
{
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    unsigned char h[SL_DQ_SEG_HDR];
    uint64_t id0, seq0;
    if (sl_dq_seg_header_check(p, &id0, &seq0) < 0)
        seq0 = 0; /* informational only: seqs are counted at open (diskq_open.c) */
    sl_dq_seg_header(h, id, seq0);
    int rc = write_all(fd, h, sizeof h);
    uint64_t total = sizeof h;
    for (size_t o = s->first_off; rc == 0 && o < s->end;) {
        long r = sl_dq_rec_check(p + o, s->end - o);
        if (r <= 0) {
            o = sl_dq_resync(p, s->end, o + 1);
            continue;
        }
        rc = write_all(fd, p + o, (size_t)r);
        total += (uint64_t)r;
        o += (size_t)r;
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc == 0)
        rc = put_aside(dirfd, name, true);
    if (rc == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
        rc = -errno;
    if (rc < 0)
        unlinkat(dirfd, tmp, 0);
    *size = total;
    return rc;
}

/* One segment: checked, cut, rewritten or moved aside; appended to r->segs
 * when it is kept. ack_off: records before it are acknowledged. */
static int recover_one(int dirfd, const char *name, uint64_t id, size_t ack_off, bool last,
                       struct sl_dq_recovery *r)
{
    char fname[32];
    sl_dq_seg_name(fname, sizeof fname, id);
    unsigned char *p = NULL;
    size_t len = 0;
    int rc = slurp(dirfd, fname, &p, &len);
    uint64_t hid = 0, hseq;
    if (rc == -ENOMEM)
        return rc;
    if (rc == 0 && len < SL_DQ_SEG_HDR && last) { /* created, header not yet written */
        sl_log(SL_LOG_WARNING, 0, "disk queue \"%s\": segment %016llx: %zu bytes, shorter than a "
               "header (torn at creation): removed", name, (unsigned long long)id, len);
        r->torn++;
        free(p);
        unlinkat(dirfd, fname, 0);
        return 0;
    }
    if (rc < 0 || len < SL_DQ_SEG_HDR) {
        sl_log(SL_LOG_ERR, rc < 0 ? -rc : 0, "disk queue \"%s\": segment %016llx: %s: moved to "
               "damaged/, its records are not replayed", name, (unsigned long long)id,
               rc == -ELOOP ? "a symbolic link" : rc < 0 ? "cannot be read" : "shorter than a header");
        r->bad_segments++;
        free(p);
        rc = put_aside(dirfd, fname, false);
        if (rc < 0) /* never replayed either way; reported again at the next start */
            sl_log(SL_LOG_ERR, -rc, "disk queue \"%s\": moving segment %016llx to damaged/ "
                   "failed", name, (unsigned long long)id);
        return 0;
    }
    /* A bad header costs no record: each is checked on its own, and the
     * segment is rewritten with a good header (the id is its name's). */
    bool bad_header = sl_dq_seg_header_check(p, &hid, &hseq) < 0 || hid != id;
    if (bad_header)
        sl_log(SL_LOG_ERR, 0, "disk queue \"%s\": segment %016llx: bad header; its records are "
               "checked one by one", name, (unsigned long long)id);
    struct scan s = {.ack_off = ack_off};
    scan_records(p, len, &s, name, id);
    uint64_t size = len;
    if (s.end < len && !last)
        s.damaged++; /* a cut in a middle segment is damage, not a torn append */
    s.damaged += bad_header;
    if (s.damaged > 0) {
        r->corrupt += s.damaged;
        r->bad_segments++;
        rc = rewrite(dirfd, fname, id, p, &s, &size);
        if (rc < 0)
            sl_log(SL_LOG_ERR, -rc, "disk queue \"%s\": segment %016llx: rewriting it without "
                   "its damaged records failed", name, (unsigned long long)id);
        else
            sl_log(SL_LOG_ERR, 0, "disk queue \"%s\": segment %016llx: rewritten with its %llu "
                   "good records; the damaged file kept in damaged/", name,
                   (unsigned long long)id, (unsigned long long)s.nrec);
        s.first_off = SL_DQ_SEG_HDR;
    } else if (s.end < len) {
        sl_log(SL_LOG_WARNING, 0, "disk queue \"%s\": segment %016llx: torn tail at offset %zu "
               "(%zu bytes of an interrupted append) cut", name, (unsigned long long)id, s.end,
               len - s.end);
        int fd = openat(dirfd, fname, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        rc = fd < 0 || ftruncate(fd, (off_t)s.end) < 0 ? -errno : 0;
        if (fd >= 0)
            close(fd);
        r->torn++;
        size = s.end;
    }
    free(p);
    if (rc < 0)
        return rc;
    struct sl_dq_found *f = &r->segs[r->nsegs++];
    *f = (struct sl_dq_found){id, size, s.nrec > 0 ? s.first_off : size, s.nrec};
    r->replayed += s.nrec;
    return 0;
}

int sl_dq_recover(int dirfd, const char *name, struct sl_dq_recovery *r, char *err,
                  size_t errlen)
{
    memset(r, 0, sizeof *r);
    struct sl_dq_state st = {0};
    int bad = 0, have = -ENOENT;
    int sfd = openat(dirfd, "state", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd >= 0) {
        have = sl_dq_state_read(sfd, &st, &bad);
        close(sfd);
    }
    uint64_t *ids = NULL;
    size_t n = 0;
    int rc = list_segments(dirfd, &ids, &n);
    if (rc < 0) {
        snprintf(err, errlen, "disk queue \"%s\": cannot list its directory (%d: %s)", name,
                 -rc, strerror(-rc));
        free(ids);
        return rc;
    }
    if (bad > 0 && have == 0)
        sl_log(SL_LOG_WARNING, 0, "disk queue \"%s\": one state slot is damaged; the other "
               "(generation %llu) is used", name, (unsigned long long)st.gen);
    if (have < 0 && n > 0) {
        sl_log(SL_LOG_ERR, 0, "disk queue \"%s\": no valid state (%s) with %zu segments: every "
               "segment is replayed from its start", name, bad ? "both slots damaged" : "missing", n);
        r->corrupt += bad > 0;
    }
    r->segs = sl_calloc(n ? n : 1, sizeof *r->segs);
    if (r->segs == NULL) {
        free(ids);
        snprintf(err, errlen, "disk queue \"%s\": out of memory", name);
        return -ENOMEM;
    }
    r->ack_seq = have == 0 ? st.seq : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char fname[32];
        sl_dq_seg_name(fname, sizeof fname, ids[i]);
        r->next_id = ids[i] + 1;
        if (have == 0 && ids[i] < st.seg) { /* acknowledged; its unlink was interrupted */
            unlinkat(dirfd, fname, 0);
            continue;
        }
        size_t ack_off = have == 0 && ids[i] == st.seg ? (size_t)st.off : 0;
        rc = recover_one(dirfd, name, ids[i], ack_off, i + 1 == n, r);
    }
    if (have == 0 && st.seg >= r->next_id)
        r->next_id = st.seg + 1;
    free(ids);
    /* the renames, cuts and unlinks above, made durable before anything
     * is appended after them */
    if (r->torn + r->bad_segments > 0 && fsync(dirfd) < 0)
        sl_log(SL_LOG_ERR, errno, "disk queue \"%s\": fsync() of its directory failed", name);
    if (rc < 0) {
        snprintf(err, errlen, "disk queue \"%s\": recovery failed (%d: %s)", name, -rc,
                 strerror(-rc));
        free(r->segs);
        r->segs = NULL;
    }
    return rc;
}
/* }=== */
