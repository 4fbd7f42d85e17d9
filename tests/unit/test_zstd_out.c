/* SPDX-License-Identifier: MIT */
/*
 * test_zstd_out.c: plugins/lib/zstd_out.c, checked against libzstd's own
 * decoder: frames decode alone and in sequence, a torn last frame is found,
 * a whole file compresses to what zstd -d gives back, bad levels are
 * refused.
 */
#define _GNU_SOURCE /* memfd_create */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <zstd.h>

#include "lib/zstd_out.h"

/* Decodes every frame of data[0..len) into out (malloc'd); its length. */
static size_t decode_all(const char *data, size_t len, char **out)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    size_t cap = 1 << 20, n = 0;
    *out = malloc(cap);
    ZSTD_inBuffer in = {data, len, 0};
    while (in.pos < in.size) {
        ZSTD_outBuffer ob = {*out + n, cap - n, 0};
        size_t r = ZSTD_decompressStream(d, &ob, &in);
        assert_false(ZSTD_isError(r));
        n += ob.pos;
        if (n == cap)
            *out = realloc(*out, cap *= 2);
    }
    ZSTD_freeDCtx(d);
    return n;
}

/* Lines "line N\n" for N in [from, to). */
static void lines(struct sluice_buf *b, int from, int to)
{
    for (int i = from; i < to; i++) {
        char l[32];
        int n = snprintf(l, sizeof l, "line %d\n", i);
        if (b->cap - b->len < (size_t)n) {
            b->cap = b->cap * 2 + 64;
            b->data = realloc(b->data, b->cap);
        }
        memcpy(b->data + b->len, l, (size_t)n);
        b->len += (size_t)n;
    }
}

static void test_frames_decode_in_sequence(void **state)
{
    (void)state;
    char err[128];
    struct spl_zstd z;
    assert_int_equal(spl_zstd_init(&z, 3, 0, err, sizeof err), 0);
    struct sluice_buf plain = {0}, out = {0};
    lines(&plain, 0, 5000);
    size_t half = plain.len / 2;
    assert_int_equal(spl_zstd_feed(&z, plain.data, half, &out), 0);
    assert_int_equal(spl_zstd_end(&z, &out), 0);
    size_t first = out.len;
    assert_int_equal(spl_zstd_whole(out.data, out.len), first);
    assert_int_equal(spl_zstd_end(&z, &out), 0); /* nothing fed: no empty frame */
    assert_int_equal(out.len, first);
    assert_int_equal(spl_zstd_feed(&z, plain.data + half, plain.len - half, &out), 0);
    assert_int_equal(spl_zstd_end(&z, &out), 0);
    assert_true(out.len > first);
    assert_int_equal(spl_zstd_whole(out.data, out.len), out.len);
    char *dec;
    size_t n = decode_all(out.data, out.len, &dec);
    assert_int_equal(n, plain.len);
    assert_memory_equal(dec, plain.data, n);
    /* A torn second frame: the whole ones end after the first. */
    for (size_t cut = first + 1; cut < out.len; cut += (out.len - first) / 7 + 1)
        assert_int_equal(spl_zstd_whole(out.data, cut), first);
    assert_int_equal(spl_zstd_whole(out.data, first - 1), 0);
    assert_int_equal(spl_zstd_whole("not zstd at all", 15), 0);
    free(dec);
    free(plain.data);
    free(out.data);
    spl_zstd_free(&z);
    spl_zstd_free(&z); /* {0}: a no-op */
}

static void test_file_compresses_whole(void **state)
{
    (void)state;
    struct sluice_buf plain = {0};
    lines(&plain, 0, 100000);
    int src = memfd_create("src", 0), dst = memfd_create("dst", 0);
    assert_true(src >= 0 && dst >= 0);
    assert_int_equal(write(src, plain.data, plain.len), (ssize_t)plain.len);
    assert_int_equal(lseek(src, 0, SEEK_SET), 0);
    const char *call = NULL;
    assert_int_equal(spl_zstd_file(src, dst, 3, &call), 0);
    off_t zlen = lseek(dst, 0, SEEK_CUR);
    assert_true(zlen > 0 && (size_t)zlen < plain.len / 4);
    char *z = malloc((size_t)zlen);
    assert_int_equal(pread(dst, z, (size_t)zlen, 0), zlen);
    assert_int_equal(spl_zstd_whole(z, (size_t)zlen), (size_t)zlen);
    char *dec;
    size_t n = decode_all(z, (size_t)zlen, &dec);
    assert_int_equal(n, plain.len);
    assert_memory_equal(dec, plain.data, n);
    free(dec);
    free(z);
    /* An empty file is one empty frame, still a valid .zst. */
    int e = memfd_create("empty", 0), ez = memfd_create("ez", 0);
    assert_int_equal(spl_zstd_file(e, ez, 3, &call), 0);
    char buf[64];
    ssize_t m = pread(ez, buf, sizeof buf, 0);
    assert_true(m > 0);
    assert_int_equal(spl_zstd_whole(buf, (size_t)m), (size_t)m);
    /* A read error names the call. */
    assert_int_equal(spl_zstd_file(-1, dst, 3, &call), -EBADF);
    assert_string_equal(call, "read");
    close(e);
    close(ez);
    close(src);
    close(dst);
    free(plain.data);
}

static void test_bad_levels_refused(void **state)
{
    (void)state;
    char err[128];
    struct spl_zstd z;
    assert_int_equal(spl_zstd_check(3, 0, err, sizeof err), 0);
    assert_int_equal(spl_zstd_check(19, 2, err, sizeof err), 0);
    assert_int_equal(spl_zstd_check(99, 0, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "level 99"));
    assert_int_equal(spl_zstd_check(3, -1, err, sizeof err), -EINVAL);
    assert_int_equal(spl_zstd_init(&z, 99, 0, err, sizeof err), -EINVAL);
    assert_null(z.cctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_decode_in_sequence),
        cmocka_unit_test(test_file_compresses_whole),
        cmocka_unit_test(test_bad_levels_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
