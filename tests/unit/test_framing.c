/* SPDX-License-Identifier: MIT */
/* test_framing.c: RFC 6587 framing (core/input/framing.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "input/framing.h"

/* {=== a connection, as an input keeps one */

/* Frames as they came out, copied, and the error that ended the stream. */
struct result {
    size_t n;
    struct {
        char *p;
        size_t len;
        unsigned flags;
    } f[64];
    int err;
};

static void result_add(struct result *r, const char *p, size_t len, unsigned flags)
{
    assert_true(r->n < 64);
    r->f[r->n].p = malloc(len ? len : 1);
    assert_non_null(r->f[r->n].p);
    memcpy(r->f[r->n].p, p, len);
    r->f[r->n].len = len;
    r->f[r->n].flags = flags;
    r->n++;
}

static void result_free(struct result *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i].p);
    r->n = 0;
}

/* Frames what buf holds; returns bytes consumed or a negative errno. */
static ssize_t drain(struct sl_framer *f, const char *buf, size_t have, bool eof,
                     struct result *r)
{
    size_t off = 0;
    for (;;) {
        const char *frame;
        size_t len;
        unsigned flags;
        ssize_t n = sl_framer_next(f, buf + off, have - off, eof, &frame, &len, &flags);
        if (n <= 0)
            return n < 0 ? n : (ssize_t)off;
        assert_true((size_t)n <= have - off);
        if (frame != NULL) {
            assert_true(frame >= buf + off && frame + len <= buf + off + n);
            assert_true(len <= f->max_message);
            result_add(r, frame, len, flags);
        }
        off += (size_t)n;
    }
}

/*
 * Feeds stream[0..len) in reads of chunks[i] bytes (cycled; 0 means as much
 * as fits) through a buffer of exactly max + SL_FRAMER_HEADROOM bytes that
 * keeps what the framer did not consume, then eof. Fails the test if the
 * framer stalls in a full buffer or leaves bytes at eof.
 */
static void feed(size_t max, const char *stream, size_t len, const size_t *chunks,
                 size_t nchunks, struct result *r)
{
    struct sl_framer f;
    sl_framer_init(&f, max);
    size_t cap = max + SL_FRAMER_HEADROOM;
    char *buf = malloc(cap);
    assert_non_null(buf);
    memset(r, 0, sizeof *r);
    size_t pos = 0, have = 0;
    for (size_t i = 0;; i++) {
        size_t n = chunks[i % nchunks];
        if (n == 0 || n > cap - have)
            n = cap - have;
        if (n > len - pos)
            n = len - pos;
        memcpy(buf + have, stream + pos, n);
        pos += n;
        have += n;
        bool eof = pos == len;
        ssize_t used = drain(&f, buf, have, eof, r);
        if (used < 0) {
            r->err = (int)used;
            break;
        }
        have -= (size_t)used;
        memmove(buf, buf + used, have);
        if (eof) {
            assert_int_equal(have, 0);
            break;
        }
        assert_true(have < cap);
    }
    free(buf);
}

static void feed_whole(size_t max, const char *stream, size_t len, struct result *r)
{
    static const size_t all[] = {0};
    feed(max, stream, len, all, 1, r);
}

struct want {
    const char *p;
    size_t len;
    unsigned flags;
};

#define F(s) {s, sizeof(s) - 1, 0}
#define T(s) {s, sizeof(s) - 1, SL_FRAME_TRUNCATED}

static void check(const struct result *r, const struct want *w, size_t n, int err)
{
    assert_int_equal(r->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r->f[i].len, w[i].len);
        assert_memory_equal(r->f[i].p, w[i].p, w[i].len);
        assert_int_equal(r->f[i].flags, w[i].flags);
    }
    assert_int_equal(r->err, err);
}

#define S(lit) lit, sizeof(lit) - 1
#define N(arr) (sizeof(arr) / sizeof((arr)[0]))

static void expect_whole(size_t max, const char *s, size_t len, const struct want *w,
                         size_t n, int err)
{
    struct result r;
    feed_whole(max, s, len, &r);
    check(&r, w, n, err);
    result_free(&r);
}
/* }=== */

/* {=== one call at a time */
static ssize_t next(struct sl_framer *f, const char *s, size_t len, bool eof,
                    const char **frame, size_t *flen, unsigned *flags)
{
    return sl_framer_next(f, s, len, eof, frame, flen, flags);
}

static void test_octet_counted(void **state)
{
    struct sl_framer f;
    sl_framer_init(&f, 64);
    const char *frame;
    size_t len;
    unsigned flags;
    const char s[] = "5 hello5 world";
    assert_int_equal(next(&f, S(s), false, &frame, &len, &flags), 7);
    assert_ptr_equal(frame, s + 2);
    assert_int_equal(len, 5);
    assert_int_equal(flags, 0);
    assert_int_equal(next(&f, s + 7, 7, false, &frame, &len, &flags), 7);
    assert_memory_equal(frame, "world", 5);
    assert_int_equal(next(&f, s + 14, 0, false, &frame, &len, &flags), 0);
    assert_null(frame);
}

static void test_octet_counted_binary(void **state)
{
    /* MSG-LEN counts octets; LF and NUL inside are data. */
    const char s[] = "5 a\n\0b\n7 \xc3\xb8\r\n\0xy";
    const struct want w[] = {{"a\n\0b\n", 5, 0}, {"\xc3\xb8\r\n\0xy", 7, 0}};
    expect_whole(64, s, sizeof s - 1, w, N(w), 0);
}

static void test_lf_framed(void **state)
{
    struct sl_framer f;
    sl_framer_init(&f, 64);
    const char *frame;
    size_t len;
    unsigned flags;
    const char s[] = "<13>hello\n<14>world\n";
    assert_int_equal(next(&f, S(s), false, &frame, &len, &flags), 10);
    assert_ptr_equal(frame, s);
    assert_int_equal(len, 9);
    assert_int_equal(flags, 0);
    assert_int_equal(next(&f, s + 10, 10, false, &frame, &len, &flags), 10);
    assert_memory_equal(frame, "<14>world", 9);
    /* No LF yet: more bytes needed. */
    assert_int_equal(next(&f, S("<15>partial"), false, &frame, &len, &flags), 0);
    assert_null(frame);
}

static void test_crlf(void **state)
{
    const struct want w[] = {F("a"), F("b\rc"), F("d\r\r"), F("e")};
    expect_whole(64, S("a\r\nb\rc\nd\r\r\r\ne\n"), w, N(w), 0);
}

static void test_empty_frames(void **state)
{
    struct sl_framer f;
    sl_framer_init(&f, 64);
    const char *frame = "x";
    size_t len;
    unsigned flags;
    assert_int_equal(next(&f, S("\n"), false, &frame, &len, &flags), 1);
    assert_null(frame);
    assert_int_equal(next(&f, S("\r\nx\n"), false, &frame, &len, &flags), 2);
    assert_null(frame);
    const struct want w[] = {F("x"), F("y")};
    expect_whole(64, S("\n\n\r\nx\n\n\r\n\ny\n\n"), w, N(w), 0);
}

static void test_mixed_framing(void **state)
{
    /* Detected per frame: digit 1-9 counts octets, anything else is LF. */
    const char s[] = "5 hello<13>lf frame\n11 octet\nframe<14>crlf\r\n"
                     "3 abc\n05 leading zero\n6 x\r\ny\nz<15>last";
    const struct want w[] = {F("hello"),         F("<13>lf frame"), F("octet\nframe"),
                             F("<14>crlf"),      F("abc"),          F("05 leading zero"),
                             F("x\r\ny\nz"),     F("<15>last")};
    expect_whole(64, S(s), w, N(w), 0);
}

static void test_header_split_across_reads(void **state)
{
    struct sl_framer f;
    sl_framer_init(&f, 64);
    const char *frame;
    size_t len;
    unsigned flags;
    char buf[32] = "1";
    assert_int_equal(next(&f, buf, 1, false, &frame, &len, &flags), 0);
    memcpy(buf, "12", 2);
    assert_int_equal(next(&f, buf, 2, false, &frame, &len, &flags), 0);
    memcpy(buf, "12 ", 3);
    assert_int_equal(next(&f, buf, 3, false, &frame, &len, &flags), 0);
    memcpy(buf, "12 hello world", 14);
    assert_int_equal(next(&f, buf, 14, false, &frame, &len, &flags), 0);
    memcpy(buf, "12 hello world!", 15);
    assert_int_equal(next(&f, buf, 15, false, &frame, &len, &flags), 15);
    assert_memory_equal(frame, "hello world!", 12);
}
/* }=== */

/* {=== how the stream is cut must not matter */
static const char mixed[] = "5 hello<13>lf frame\n11 octet\nframe\n\n<14>crlf\r\n"
                            "12 twelve bytes40 0123456789012345678901234567890123456789"
                            "abcdefghijklmnopqrstuvwxyz0123456789\n8 x\r\ny\nz\r\n<15>end";
static const struct want mixed_want[] = {
    F("hello"),           F("<13>lf frame"), F("octet\nframe"), F("<14>crlf"),
    F("twelve bytes"),    T("012345678901234567890123"),
    T("abcdefghijklmnopqrstuvwx"),           F("x\r\ny\nz\r\n"), F("<15>end"),
};
#define MIXED_MAX 24

static void test_every_split_point(void **state)
{
    size_t len = sizeof mixed - 1;
    struct result r;
    for (size_t i = 1; i < len; i++) {
        for (size_t j = i; j < len; j++) {
            size_t chunks[] = {i, j - i ? j - i : 1, 0};
            feed(MIXED_MAX, mixed, len, chunks, 3, &r);
            check(&r, mixed_want, N(mixed_want), 0);
            result_free(&r);
        }
    }
}

static void test_byte_by_byte(void **state)
{
    static const size_t one[] = {1};
    struct result r;
    feed(MIXED_MAX, mixed, sizeof mixed - 1, one, 1, &r);
    check(&r, mixed_want, N(mixed_want), 0);
    result_free(&r);
}

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void test_random_chunks(void **state)
{
    uint32_t seed = 12345;
    struct result r;
    for (int round = 0; round < 2000; round++) {
        size_t chunks[16];
        for (size_t i = 0; i < 16; i++)
            chunks[i] = 1 + xorshift(&seed) % 30;
        feed(MIXED_MAX, mixed, sizeof mixed - 1, chunks, 16, &r);
        check(&r, mixed_want, N(mixed_want), 0);
        result_free(&r);
    }
}
/* }=== */

/* {=== oversized frames */
static void test_octet_oversize_bounds(void **state)
{
    const struct want below[] = {F("abcdefg"), F("ok")};
    expect_whole(8, S("7 abcdefg2 ok"), below, N(below), 0);
    const struct want at[] = {F("abcdefgh"), F("ok")};
    expect_whole(8, S("8 abcdefgh2 ok"), at, N(at), 0);
    const struct want above[] = {T("abcdefgh"), F("ok")};
    expect_whole(8, S("9 abcdefghi2 ok"), above, N(above), 0);
}

static void test_octet_oversize_skipped_across_reads(void **state)
{
    struct sl_framer f;
    sl_framer_init(&f, 8);
    const char *frame;
    size_t len;
    unsigned flags;
    /* 30 octets: 8 delivered, 22 skipped in pieces as they arrive. */
    assert_int_equal(next(&f, S("30 abcdefgh"), false, &frame, &len, &flags), 11);
    assert_memory_equal(frame, "abcdefgh", 8);
    assert_int_equal(flags, SL_FRAME_TRUNCATED);
    assert_int_equal(next(&f, S("0123456789"), false, &frame, &len, &flags), 10);
    assert_null(frame);
    assert_int_equal(next(&f, S("012345"), false, &frame, &len, &flags), 6);
    assert_null(frame);
    assert_int_equal(next(&f, S("0123452 ok"), false, &frame, &len, &flags), 6);
    assert_null(frame);
    assert_int_equal(next(&f, S("2 ok"), false, &frame, &len, &flags), 4);
    assert_memory_equal(frame, "ok", 2);
    assert_int_equal(flags, 0);

    /* The same through a connection buffer, in reads of 5. */
    char s[256];
    int n = snprintf(s, sizeof s, "200 %0200d2 ok", 0);
    static const size_t five[] = {5};
    struct result r;
    feed(8, s, (size_t)n, five, 1, &r);
    const struct want w[] = {T("00000000"), F("ok")};
    check(&r, w, N(w), 0);
    result_free(&r);
}

static void test_octet_msglen_ten_digits(void **state)
{
    /* The largest MSG-LEN we accept: cut, and 9999999991 octets to skip. */
    struct sl_framer f;
    sl_framer_init(&f, 8);
    const char *frame;
    size_t len;
    unsigned flags;
    assert_int_equal(next(&f, S("9999999999 abcdefghij"), false, &frame, &len, &flags), 19);
    assert_int_equal(flags, SL_FRAME_TRUNCATED);
    assert_int_equal(f.skip, 9999999991ULL);
}

static void test_lf_oversize_bounds(void **state)
{
    const struct want below[] = {F("abcdefg"), F("ok")};
    expect_whole(8, S("abcdefg\nok\n"), below, N(below), 0);
    const struct want at[] = {F("abcdefgh"), F("ok")};
    expect_whole(8, S("abcdefgh\nok\n"), at, N(at), 0);
    expect_whole(8, S("abcdefgh\r\nok\n"), at, N(at), 0);
    const struct want above[] = {T("abcdefgh"), F("ok")};
    expect_whole(8, S("abcdefghi\nok\n"), above, N(above), 0);
    expect_whole(8, S("abcdefghi\r\nok\n"), above, N(above), 0);
    expect_whole(8, S("abcdefgh\r\r\nok\n"), above, N(above), 0);
}

static void test_lf_oversize_skipped_across_reads(void **state)
{
    struct sl_framer f;
    sl_framer_init(&f, 8);
    const char *frame;
    size_t len;
    unsigned flags;
    /* No LF within max + 2 bytes: the head is delivered at once. */
    assert_int_equal(next(&f, S("abcdefghij"), false, &frame, &len, &flags), 8);
    assert_memory_equal(frame, "abcdefgh", 8);
    assert_int_equal(flags, SL_FRAME_TRUNCATED);
    assert_int_equal(next(&f, S("ij"), false, &frame, &len, &flags), 2);
    assert_null(frame);
    assert_int_equal(next(&f, S("klmnop"), false, &frame, &len, &flags), 6);
    assert_null(frame);
    assert_int_equal(next(&f, S("q\nok\n"), false, &frame, &len, &flags), 2);
    assert_null(frame);
    assert_int_equal(next(&f, S("ok\n"), false, &frame, &len, &flags), 3);
    assert_memory_equal(frame, "ok", 2);

    /* A 300-byte line through a 24-byte buffer, in reads of 7. */
    char s[400];
    memset(s, 'x', 300);
    memcpy(s + 300, "\n<1>next\n", 9);
    static const size_t seven[] = {7};
    struct result r;
    feed(8, s, 309, seven, 1, &r);
    const struct want w[] = {T("xxxxxxxx"), F("<1>next")};
    check(&r, w, N(w), 0);
    result_free(&r);
}
/* }=== */

/* {=== malformed octet counts */
static void expect_eproto(const char *s, size_t len, bool eof)
{
    struct sl_framer f;
    sl_framer_init(&f, 64);
    const char *frame;
    size_t flen;
    unsigned flags;
    assert_int_equal(next(&f, s, len, eof, &frame, &flen, &flags), -EPROTO);
    assert_null(frame);
}

static void test_malformed_msglen(void **state)
{
    expect_eproto(S("5x hello"), false);       /* non-digit in MSGLEN */
    expect_eproto(S("1q 0123456789"), false);
    expect_eproto(S("16<1>1 - - -"), false);   /* no SP */
    expect_eproto(S("5\nhello"), false);
    expect_eproto(S("12345678901"), false);    /* 11 digits: no need to wait */
    expect_eproto(S("12345678901 x"), false);

    /* 10 digits, no SP yet: wait. */
    struct sl_framer f;
    sl_framer_init(&f, 64);
    const char *frame;
    size_t len;
    unsigned flags;
    assert_int_equal(next(&f, S("1234567890"), false, &frame, &len, &flags), 0);

    /* A good frame before a bad one is still delivered. */
    const struct want w[] = {F("<1>1 - - - - - -")};
    expect_whole(64, S("16 <1>1 - - - - - -16<1>1"), w, N(w), -EPROTO);
    const struct want a[] = {F("a")};
    expect_whole(64, S("1 a5 hell"), a, N(a), -EPROTO); /* cut at eof */
}

static void test_leading_zero_is_lf_framed(void **state)
{
    /* RFC 6587: MSG-LEN = NONZERO-DIGIT *DIGIT, so "0..." is not a count. */
    const struct want w[] = {F("05 hello"), F("0"), F("007 x")};
    expect_whole(64, S("05 hello\n0\n007 x\n"), w, N(w), 0);
}
/* }=== */

/* {=== end of stream */
static void test_eof(void **state)
{
    struct sl_framer f;
    sl_framer_init(&f, 64);
    const char *frame;
    size_t len;
    unsigned flags;
    assert_int_equal(next(&f, "", 0, true, &frame, &len, &flags), 0);
    assert_null(frame);
    /* Without LF: the last frame is delivered at eof, not before. */
    assert_int_equal(next(&f, S("<13>last"), false, &frame, &len, &flags), 0);
    assert_int_equal(next(&f, S("<13>last"), true, &frame, &len, &flags), 8);
    assert_memory_equal(frame, "<13>last", 8);
    assert_int_equal(flags, 0);
    /* With LF: an ordinary frame, then nothing. */
    assert_int_equal(next(&f, S("<13>last\n"), true, &frame, &len, &flags), 9);
    assert_int_equal(len, 8);

    const struct want two[] = {F("a"), F("b")};
    expect_whole(64, S("a\nb"), two, N(two), 0);
    expect_whole(64, S("a\nb\n"), two, N(two), 0);
    expect_whole(64, S("a\r\nb\r\n"), two, N(two), 0);
    const struct want cut[] = {T("abcd")};
    expect_whole(4, S("abcdef"), cut, N(cut), 0);
    const struct want cr[] = {F("a\r")}; /* a CR ends nothing without its LF */
    expect_whole(4, S("a\r"), cr, N(cr), 0);
}

static void test_eof_inside_octet_frame(void **state)
{
    expect_eproto(S("1"), true);
    expect_eproto(S("16"), true);
    expect_eproto(S("16 "), true);
    expect_eproto(S("16 <1>1"), true);
    /* An oversized frame being skipped just ends. */
    const struct want w[] = {T("abcd")};
    expect_whole(4, S("10 abcdef"), w, N(w), 0);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_octet_counted),
        cmocka_unit_test(test_octet_counted_binary),
        cmocka_unit_test(test_lf_framed),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_empty_frames),
        cmocka_unit_test(test_mixed_framing),
        cmocka_unit_test(test_header_split_across_reads),
        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_random_chunks),
        cmocka_unit_test(test_octet_oversize_bounds),
        cmocka_unit_test(test_octet_oversize_skipped_across_reads),
        cmocka_unit_test(test_octet_msglen_ten_digits),
        cmocka_unit_test(test_lf_oversize_bounds),
        cmocka_unit_test(test_lf_oversize_skipped_across_reads),
        cmocka_unit_test(test_malformed_msglen),
        cmocka_unit_test(test_leading_zero_is_lf_framed),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_eof_inside_octet_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
