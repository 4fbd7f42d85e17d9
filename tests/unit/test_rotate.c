/* SPDX-License-Identifier: MIT */
/*
 * test_rotate.c: plugins/lib/rotate.c and rotate_zstd.c on a temporary
 * directory, with the clock injected: period boundaries in Europe/Berlin
 * (DST at the end of March and October), when a file is due, the names
 * (dated, with counters), keep with dated names, max_age, the shift moving
 * .zst files, and what a restart makes right after a crash; then the
 * compressor thread itself, checked against libzstd's decoder.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zstd.h>

#include "lib/rotate.h"

static time_t fake_now;
static time_t fake_clock(void)
{
    return fake_now;
}

struct dir {
    char path[256];
    int fd;
};

static int dir_setup(void **state)
{
    struct dir *d = calloc(1, sizeof *d);
    snprintf(d->path, sizeof d->path, "/tmp/test_rotate.XXXXXX");
    assert_non_null(mkdtemp(d->path));
    d->fd = open(d->path, O_RDONLY | O_DIRECTORY);
    assert_true(d->fd >= 0);
    *state = d;
    return 0;
}

static int dir_teardown(void **state)
{
    struct dir *d = *state;
    DIR *dd = opendir(d->path);
    struct dirent *e;
    while ((e = readdir(dd)) != NULL)
        if (e->d_name[0] != '.')
            unlinkat(d->fd, e->d_name, 0);
    closedir(dd);
    close(d->fd);
    rmdir(d->path);
    free(d);
    return 0;
}

/* Creates name in d with content and the given mtime (0: now). */
static void put(struct dir *d, const char *name, const char *content, time_t mtime)
{
    int fd = openat(d->fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    if (mtime != 0) {
        struct timespec t[2] = {{mtime, 0}, {mtime, 0}};
        assert_int_equal(futimens(fd, t), 0);
    }
    close(fd);
}

static bool exists(struct dir *d, const char *name)
{
    struct stat st;
    return fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The names in d, sorted, joined with ' '. */
static void listing(struct dir *d, char *out, size_t len)
{
    struct dirent **v;
    int n = scandir(d->path, &v, NULL, alphasort);
    assert_true(n >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (v[i]->d_name[0] != '.') {
            size_t l = strlen(out);
            snprintf(out + l, len - l, "%s%s", l != 0 ? " " : "", v[i]->d_name);
        }
        free(v[i]);
    }
    free(v);
}

/* {=== time */
static void berlin(void)
{
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
}

static void test_period_boundaries(void **state)
{
    (void)state;
    berlin();
    /* Thursday 2026-12-03 14:37:12 CET (13:37:12 UTC). */
    assert_int_equal(spl_rot_period_start(SPL_ROT_HOUR, 1796305032), 1796302800);
    assert_int_equal(spl_rot_period_start(SPL_ROT_DAY, 1796305032), 1796252400);
    assert_int_equal(spl_rot_period_start(SPL_ROT_WEEK, 1796305032), 1795993200); /* Mon 30 Nov */
    assert_int_equal(spl_rot_period_start(SPL_ROT_NEVER, 1796305032), 1796305032);
    /* A boundary is its own period's start; a second before is the last one's. */
    assert_int_equal(spl_rot_period_start(SPL_ROT_DAY, 1796252400), 1796252400);
    assert_int_equal(spl_rot_period_start(SPL_ROT_DAY, 1796252399), 1796252400 - 86400);
    assert_int_equal(spl_rot_period_start(SPL_ROT_WEEK, 1795993199), 1795993200 - 7 * 86400);
}

/* Sunday 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC); the day
 * has 23 hours. */
static void test_period_dst_march(void **state)
{
    (void)state;
    berlin();
    assert_int_equal(spl_rot_period_start(SPL_ROT_DAY, 1774778400), 1774738800); /* 00:00 CET */
    assert_int_equal(spl_rot_period_start(SPL_ROT_DAY, 1774821599), 1774738800);
    assert_int_equal(spl_rot_period_start(SPL_ROT_DAY, 1774821600), 1774821600); /* 30 Mar 00:00 CEST */
    assert_int_equal(1774821600 - 1774738800, 23 * 3600);
    assert_int_equal(spl_rot_period_start(SPL_ROT_HOUR, 1774745999), 1774742400); /* 01:59:59 CET */
    assert_int_equal(spl_rot_period_start(SPL_ROT_HOUR, 1774747800), 1774746000); /* 03:30 CEST */
    /* Weeks: Sunday belongs to the week of Monday the 23rd (CET), Tuesday
     * the 31st to the one of Monday the 30th (CEST). */
    assert_int_equal(spl_rot_period_start(SPL_ROT_WEEK, 1774778400), 1774220400);
    assert_int_equal(spl_rot_period_start(SPL_ROT_WEEK, 1774951200), 1774821600);
}

/* Sunday 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:xx
 * comes twice, as two hours, and the day has 25 hours. */
static void test_period_dst_october(void **state)
{
    (void)state;
    berlin();
    assert_int_equal(spl_rot_period_start(SPL_ROT_HOUR, 1792888200), 1792886400); /* 02:30 CEST */
    assert_int_equal(spl_rot_period_start(SPL_ROT_HOUR, 1792891800), 1792890000); /* 02:30 CET */
    assert_int_equal(spl_rot_period_start(SPL_ROT_DAY, 1792926000), 1792879200); /* 00:00 CEST */
    assert_int_equal(spl_rot_period_start(SPL_ROT_DAY, 1792969199), 1792879200);
    assert_int_equal(spl_rot_period_start(SPL_ROT_DAY, 1792969200), 1792969200); /* 26 Oct CET */
    assert_int_equal(1792969200 - 1792879200, 25 * 3600);
}

/* Due: by mtime against the period of now; never when empty. */
static void test_due_by_time(void **state)
{
    struct dir *d = *state;
    berlin();
    struct spl_rotation r = {.every = SPL_ROT_HOUR, .keep = 3, .clock = fake_clock};
    put(d, "m", "one\n", 1796305032); /* 14:37:12 */
    int fd = openat(d->fd, "m", O_RDONLY);
    fake_now = 1796305032 + 1000; /* 14:53:52: the same hour */
    assert_int_equal(spl_rot_due(&r, fd), 0);
    fake_now = 1796306400; /* 15:00:00 */
    assert_int_equal(spl_rot_due(&r, fd), 1);
    r.every = SPL_ROT_DAY;
    assert_int_equal(spl_rot_due(&r, fd), 0);
    fake_now = 1796252400 + 86400; /* the next midnight */
    assert_int_equal(spl_rot_due(&r, fd), 1);
    close(fd);
    put(d, "m", "", 1796305032); /* empty: notifempty */
    fd = openat(d->fd, "m", O_RDONLY);
    assert_int_equal(spl_rot_due(&r, fd), 0);
    close(fd);
    /* size alone, and either of the two */
    put(d, "m", "0123456789", 1796305032); /* a fixed day, not the real clock's */
    fd = openat(d->fd, "m", O_RDONLY);
    r = (struct spl_rotation){.size = 10, .keep = 3, .clock = fake_clock};
    assert_int_equal(spl_rot_due(&r, fd), 1);
    r.size = 11;
    assert_int_equal(spl_rot_due(&r, fd), 0);
    r.every = SPL_ROT_DAY;
    assert_int_equal(spl_rot_due(&r, fd), 1); /* its mtime is the day before fake_now */
    close(fd);
}
/* }=== */

/* {=== names */
static void test_parse_names(void **state)
{
    (void)state;
    struct spl_rot_name n;
    assert_int_equal(spl_rot_parse_name("m", "m.1", &n), 1);
    assert_int_equal(n.index, 1);
    assert_int_equal(spl_rot_parse_name("m", "m.12.zst", &n), 1);
    assert_true(n.index == 12 && n.zst && !n.tmp);
    assert_int_equal(spl_rot_parse_name("m", "m.3.zst.tmp", &n), 1);
    assert_true(n.index == 3 && n.zst && n.tmp);
    assert_int_equal(spl_rot_parse_name("m", "m-2026-12-03", &n), 1);
    assert_string_equal(n.date, "2026-12-03");
    assert_int_equal(spl_rot_parse_name("m", "m-2026-12-03-14.2.zst", &n), 1);
    assert_string_equal(n.date, "2026-12-03-14");
    assert_true(n.counter == 2 && n.zst);
    const char *not_ours[] = {"m", "m.0", "m.01", "m.1.gz", "m.1x", "mx.1", "m-2026-13-01",
                              "m-2026-12-3", "m-2026-12-03.bak", "m-2026-12-03.0",
                              "m-2026-12-03-24", "m.tmp", "m.1.tmp", "m-notes", "n.1", NULL};
    for (int i = 0; not_ours[i] != NULL; i++)
        assert_int_equal(spl_rot_parse_name("m", not_ours[i], &n), 0);
    char out[64];
    n = (struct spl_rot_name){.date = "2026-12-03", .counter = 4, .zst = true};
    spl_rot_format_name("m", &n, out, sizeof out);
    assert_string_equal(out, "m-2026-12-03.4.zst");
}

/* suffix = "date": the day (or hour) of the file's lines, a counter when
 * taken (by the file or its .zst); with size alone, the day of now. */
static void test_dated_shift_counters(void **state)
{
    struct dir *d = *state;
    berlin();
    struct spl_rotation r = {.every = SPL_ROT_DAY, .keep = 5, .dated = true,
                             .clock = fake_clock};
    const char *call;
    char name[256], ls[1024];
    fake_now = 1796305032 + 86400;
    for (int i = 0; i < 3; i++) {
        put(d, "m", "x\n", 1796305032);
        spl_rot_begin(&r);
        assert_int_equal(spl_rot_shift_at(d->fd, "m", &r, &call, name, sizeof name), 0);
        assert_int_equal(r.next, 0);
    }
    assert_string_equal(name, "m-2026-12-03.2");
    listing(d, ls, sizeof ls);
    assert_string_equal(ls, "m-2026-12-03 m-2026-12-03.1 m-2026-12-03.2");
    put(d, "m-2026-12-04.zst", "z", 0);
    put(d, "m", "y\n", 1796305032 + 86400);
    assert_int_equal(spl_rot_shift_at(d->fd, "m", &r, &call, name, sizeof name), 0);
    assert_string_equal(name, "m-2026-12-04.1");
    r.every = SPL_ROT_HOUR;
    put(d, "m", "h\n", 1796305032);
    assert_int_equal(spl_rot_shift_at(d->fd, "m", &r, &call, name, sizeof name), 0);
    assert_string_equal(name, "m-2026-12-03-14");
    r.every = SPL_ROT_NEVER;
    r.size = 4096;
    put(d, "m", "s\n", 1796305032);
    assert_int_equal(spl_rot_shift_at(d->fd, "m", &r, &call, name, sizeof name), 0);
    assert_string_equal(name, "m-2026-12-04.2"); /* the day of now */
    /* A missing PATH (a crash after the rename): nothing to do. */
    assert_int_equal(spl_rot_shift_at(d->fd, "m", &r, &call, name, sizeof name), 0);
}

/* keep with dated names deletes the oldest, a file and its .zst as one,
 * and nothing that is not exactly ours. */
static void test_keep_dated(void **state)
{
    struct dir *d = *state;
    struct spl_rotation r = {.every = SPL_ROT_DAY, .keep = 2, .dated = true,
                             .clock = fake_clock};
    const char *mine[] = {"m-2026-11-30", "m-2026-12-01.zst", "m-2026-12-02",
                          "m-2026-12-02.zst", "m-2026-12-02.1.zst", "m-2026-12-03", NULL};
    const char *others[] = {"m", "m-2026-11-29.bak", "mx-2026-11-01", "m-notes", "m.1",
                            "m-2026-11-28.zst.tmp", "old-2026-11-01", NULL};
    for (int i = 0; mine[i] != NULL; i++)
        put(d, mine[i], "x\n", 0);
    for (int i = 0; others[i] != NULL; i++)
        put(d, others[i], "x\n", 0);
    fake_now = time(NULL);
    const char *call;
    char name[256], ls[1024];
    assert_int_equal(spl_rot_prune_at(d->fd, "m", &r, &call, name, sizeof name), 0);
    listing(d, ls, sizeof ls);
    assert_string_equal(ls, "m m-2026-11-28.zst.tmp m-2026-11-29.bak m-2026-12-02.1.zst "
                        "m-2026-12-03 m-notes m.1 mx-2026-11-01 old-2026-11-01");
}

/* max_age: old files older than it go (numbered and dated), nothing else. */
static void test_max_age(void **state)
{
    struct dir *d = *state;
    time_t now = 1796305032;
    struct spl_rotation r = {.size = 4096, .keep = 10, .max_age = 3600, .clock = fake_clock};
    fake_now = now;
    put(d, "m", "x\n", now - 7200); /* the live file: never */
    put(d, "m.1", "x\n", now - 60);
    put(d, "m.2.zst", "x\n", now - 3599);
    put(d, "m.3", "x\n", now - 3601);
    put(d, "m.4.zst", "x\n", now - 86400);
    put(d, "m.5.zst.tmp", "x\n", now - 86400);
    put(d, "m-2026-01-01", "x\n", now - 86400); /* the other suffix's */
    const char *call;
    char name[256], ls[1024];
    assert_int_equal(spl_rot_prune_at(d->fd, "m", &r, &call, name, sizeof name), 0);
    listing(d, ls, sizeof ls);
    assert_string_equal(ls, "m m-2026-01-01 m.1 m.2.zst m.5.zst.tmp");
    r = (struct spl_rotation){.every = SPL_ROT_DAY, .keep = 10, .dated = true, .max_age = 3600,
                              .clock = fake_clock};
    assert_int_equal(spl_rot_prune_at(d->fd, "m", &r, &call, name, sizeof name), 0);
    listing(d, ls, sizeof ls);
    assert_string_equal(ls, "m m.1 m.2.zst m.5.zst.tmp");
}
/* }=== */

/* {=== compression */
/* The numbered shift moves PATH.i.zst with PATH.i, gaps and all. */
static void test_shift_moves_zst(void **state)
{
    struct dir *d = *state;
    struct spl_rotation r = {.size = 4096, .keep = 3};
    put(d, "m", "0\n", 0);
    put(d, "m.1.zst", "1\n", 0);
    put(d, "m.2", "2\n", 0);
    put(d, "m.3.zst", "3\n", 0); /* the oldest: deleted */
    const char *call;
    char name[256], ls[1024];
    spl_rot_begin(&r);
    assert_int_equal(spl_rot_shift_at(d->fd, "m", &r, &call, name, sizeof name), 0);
    assert_string_equal(name, "m.1");
    listing(d, ls, sizeof ls);
    assert_string_equal(ls, "m.1 m.2.zst m.3");
}

/* After a crash: a .zst.tmp is deleted, a file whose .zst exists is
 * deleted, an uncompressed old file is left for the compressor; a tmp a
 * live compressor holds (flock) is left alone. */
static void test_recovery(void **state)
{
    struct dir *d = *state;
    put(d, "m", "live\n", 0);
    put(d, "m.1", "one\n", 0);
    put(d, "m.1.zst", "complete\n", 0);
    put(d, "m.2.zst.tmp", "torn", 0);
    put(d, "m.3", "three\n", 0);
    put(d, "m-2026-12-03", "d\n", 0);
    put(d, "m-2026-12-03.zst", "dz\n", 0);
    put(d, "m-2026-12-04.1.zst.tmp", "torn", 0);
    put(d, "other.1.zst.tmp", "not ours", 0);
    put(d, "m.5.zst.tmp", "at work", 0); /* a live compressor's (a reload): locked */
    int busy = openat(d->fd, "m.5.zst.tmp", O_RDONLY);
    assert_int_equal(flock(busy, LOCK_EX), 0);
    const char *call;
    char name[256], ls[1024];
    assert_int_equal(spl_rot_recover_at(d->fd, "m", &call, name, sizeof name), 0);
    listing(d, ls, sizeof ls);
    assert_string_equal(ls, "m m-2026-12-03.zst m.1.zst m.3 m.5.zst.tmp other.1.zst.tmp");
    close(busy); /* its owner died: the next recovery deletes it */
    assert_int_equal(spl_rot_recover_at(d->fd, "m", &call, name, sizeof name), 0);
    assert_false(exists(d, "m.5.zst.tmp"));
}

/* Decompresses d/name whole (one or more frames); malloc'd, NUL-ended. */
static char *unzstd(struct dir *d, const char *name)
{
    int fd = openat(d->fd, name, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char *in = malloc((size_t)st.st_size + 1);
    assert_int_equal(read(fd, in, (size_t)st.st_size), st.st_size);
    close(fd);
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap + 1);
    ZSTD_inBuffer ib = {in, (size_t)st.st_size, 0};
    while (ib.pos < ib.size) {
        ZSTD_outBuffer ob = {out + n, cap - n, 0};
        assert_false(ZSTD_isError(ZSTD_decompressStream(dc, &ob, &ib)));
        n += ob.pos;
        if (n == cap)
            out = realloc(out, (cap *= 2) + 1);
    }
    ZSTD_freeDCtx(dc);
    out[n] = '\0';
    free(in);
    return out;
}

/* The thread compresses what waits (oldest first), keeps the old file's
 * mtime, leaves no tmp, and is woken by a shift for the next one. */
static void test_compressor(void **state)
{
    struct dir *d = *state;
    struct spl_rotation r = {.size = 4096, .keep = 4, .compress = true};
    char big[70000];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (i % 61 == 60) ? '\n' : (char)('a' + i % 26);
    big[sizeof big - 1] = '\0';
    put(d, "m", "live\n", 0);
    put(d, "m.1", big, 1796305032);
    put(d, "m.2", "two\n", 0);
    put(d, "m.3.zst", "already\n", 0);
    char err[256];
    assert_int_equal(spl_rot_zstd_start(&r, d->fd, "m", err, sizeof err), 0);
    /* A shift while the thread may be at work: everything still lands once. */
    const char *call;
    char name[256], ls[1024];
    spl_rot_begin(&r);
    assert_int_equal(spl_rot_shift_at(d->fd, "m", &r, &call, name, sizeof name), 0);
    spl_rot_zstd_stop(&r, true);
    assert_null(r.z);
    listing(d, ls, sizeof ls);
    assert_string_equal(ls, "m.1.zst m.2.zst m.3.zst m.4.zst");
    char *s = unzstd(d, "m.1.zst");
    assert_string_equal(s, "live\n");
    free(s);
    s = unzstd(d, "m.2.zst");
    assert_string_equal(s, big);
    free(s);
    s = unzstd(d, "m.3.zst");
    assert_string_equal(s, "two\n");
    free(s);
    struct stat st;
    assert_int_equal(fstatat(d->fd, "m.2.zst", &st, 0), 0);
    assert_int_equal(st.st_mtime, 1796305032);
    (void)exists;
}

/* Shifts while a compression is under way: the file being compressed
 * moves from m.1 to m.4, and its .zst lands as m.4.zst, not under the
 * name it had when the compression began. */
static void test_compressor_shift_under_way(void **state)
{
    struct dir *d = *state;
    struct spl_rotation r = {.size = 4096, .keep = 9, .compress = true};
    size_t len = 48u << 20;
    char *big = malloc(len + 1);
    unsigned x = 12345;
    for (size_t i = 0; i < len; i++) { /* digits zstd cannot squeeze fast */
        x = x * 1103515245u + 12345u;
        big[i] = (i % 80 == 79) ? '\n' : (char)('0' + (x >> 16) % 10);
    }
    big[len] = '\0';
    put(d, "m.1", big, 0);
    char err[256], name[256], ls[1024];
    const char *call;
    assert_int_equal(spl_rot_zstd_start(&r, d->fd, "m", err, sizeof err), 0);
    for (int i = 0; i < 5000 && !exists(d, "m.1.zst.tmp") && !exists(d, "m.1.zst"); i++)
        usleep(1000);
    for (int i = 0; i < 3; i++) {
        char text[8];
        snprintf(text, sizeof text, "%d\n", i);
        put(d, "m", text, 0);
        spl_rot_begin(&r);
        assert_int_equal(spl_rot_shift_at(d->fd, "m", &r, &call, name, sizeof name), 0);
    }
    spl_rot_zstd_stop(&r, true);
    listing(d, ls, sizeof ls);
    assert_string_equal(ls, "m.1.zst m.2.zst m.3.zst m.4.zst");
    char *got = unzstd(d, "m.4.zst");
    assert_true(strcmp(got, big) == 0);
    free(got);
    got = unzstd(d, "m.3.zst");
    assert_string_equal(got, "0\n");
    free(got);
    got = unzstd(d, "m.1.zst");
    assert_string_equal(got, "2\n");
    free(got);
    free(big);
}

/* Dated names: every waiting one, and a stop without drain leaves the
 * rest as it is (whole, uncompressed), with no tmp. */
static void test_compressor_dated(void **state)
{
    struct dir *d = *state;
    struct spl_rotation r = {.every = SPL_ROT_DAY, .keep = 9, .dated = true, .compress = true};
    put(d, "m-2026-12-01", "a\n", 0);
    put(d, "m-2026-12-01.1", "b\n", 0);
    put(d, "m-2026-12-02-07", "c\n", 0);
    char err[256], ls[1024];
    assert_int_equal(spl_rot_zstd_start(&r, d->fd, "m", err, sizeof err), 0);
    spl_rot_zstd_stop(&r, true);
    listing(d, ls, sizeof ls);
    assert_string_equal(ls, "m-2026-12-01.1.zst m-2026-12-01.zst m-2026-12-02-07.zst");
    char *s = unzstd(d, "m-2026-12-01.1.zst");
    assert_string_equal(s, "b\n");
    free(s);
    put(d, "m-2026-12-05", "e\n", 0);
    assert_int_equal(spl_rot_zstd_start(&r, d->fd, "m", err, sizeof err), 0);
    spl_rot_zstd_stop(&r, false);
    listing(d, ls, sizeof ls);
    assert_true(strstr(ls, ".tmp") == NULL);
    assert_true(exists(d, "m-2026-12-05") != exists(d, "m-2026-12-05.zst"));
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_boundaries),
        cmocka_unit_test(test_period_dst_march),
        cmocka_unit_test(test_period_dst_october),
        cmocka_unit_test_setup_teardown(test_due_by_time, dir_setup, dir_teardown),
        cmocka_unit_test(test_parse_names),
        cmocka_unit_test_setup_teardown(test_dated_shift_counters, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_keep_dated, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_max_age, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_shift_moves_zst, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_recovery, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_compressor, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_compressor_shift_under_way, dir_setup,
                                        dir_teardown),
        cmocka_unit_test_setup_teardown(test_compressor_dated, dir_setup, dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
