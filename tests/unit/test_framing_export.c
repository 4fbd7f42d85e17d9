/* SPDX-License-Identifier: MIT */
/*
 * test_framing_export.c: the journal export framer (framing.h,
 * framing_export.c): entry boundaries across reads of every size, binary
 * values that hold empty lines, entries over max_message skipped to their
 * end, resynchronising after a broken binary value, and the end of the
 * stream.
 */
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

/* What a stream made: its frames (concatenated, with their lengths) and
 * how many entries were too large. */
struct run {
    char bytes[8192];
    size_t used;
    size_t len[32];
    size_t frames;
    size_t too_large;
};

/* Feeds s[0..n) in reads of `chunk` bytes through a connection buffer of
 * max + SL_FRAMER_HEADROOM bytes, as input_stream.c keeps one, then eof. */
static void feed(const char *s, size_t n, size_t max, size_t chunk, struct run *r)
{
    struct sl_framer f;
    sl_framer_init_as(&f, SL_FRAMING_EXPORT, max);
    size_t cap = max + SL_FRAMER_HEADROOM;
    char *buf = malloc(cap);
    size_t have = 0, at = 0;
    memset(r, 0, sizeof *r);
    for (;;) {
        bool eof = at == n;
        size_t off = 0;
        for (;;) {
            const char *frame;
            size_t flen;
            unsigned flags;
            ssize_t k = sl_framer_next(&f, buf + off, have - off, eof, &frame, &flen, &flags);
            assert_true(k >= 0);
            if (k == 0)
                break;
            off += (size_t)k;
            if (flags & SL_FRAME_TOO_LARGE)
                r->too_large++;
            if (frame != NULL) {
                assert_true(flen <= max && r->frames < 32 && r->used + flen <= sizeof r->bytes);
                memcpy(r->bytes + r->used, frame, flen);
                r->used += flen;
                r->len[r->frames++] = flen;
            }
        }
        memmove(buf, buf + off, have - off);
        have -= off;
        if (eof) {
            assert_int_equal(have, 0); /* at eof everything is consumed */
            break;
        }
        assert_true(have < cap); /* the framer always makes room */
        size_t take = n - at < chunk ? n - at : chunk;
        take = take < cap - have ? take : cap - have;
        memcpy(buf + have, s + at, take);
        have += take;
        at += take;
    }
    free(buf);
}

/* The frame i of r. */
static const char *frame_at(const struct run *r, size_t i)
{
    size_t off = 0;
    for (size_t j = 0; j < i; j++)
        off += r->len[j];
    return r->bytes + off;
}

static void assert_frame(const struct run *r, size_t i, const char *want, size_t wlen)
{
    assert_true(i < r->frames);
    assert_int_equal(r->len[i], wlen);
    assert_memory_equal(frame_at(r, i), want, wlen);
}

#define S(lit) lit, sizeof lit - 1

/* Every read size, from one byte to all at once, gives the same frames. */
static void check_all_chunks(const char *s, size_t n, size_t max, const struct run *want)
{
    for (size_t chunk = 1; chunk <= n + 1; chunk++) {
        struct run r;
        feed(s, n, max, chunk, &r);
        assert_int_equal(r.frames, want->frames);
        assert_int_equal(r.too_large, want->too_large);
        assert_int_equal(r.used, want->used);
        assert_memory_equal(r.bytes, want->bytes, r.used);
    }
}

static void entries_and_binary_values(void **state)
{
    (void)state;
    static const char s[] = "A=1\nB=2\n\n"
                            "BLOB\n\x06\0\0\0\0\0\0\0" "a\n\n\0\n\n\nC=3\n\n"
                            "\n\n"  /* empty lines between entries: nothing */
                            "D=4\n\n";
    struct run r;
    feed(s, sizeof s - 1, 256, 4096, &r);
    assert_int_equal(r.frames, 3);
    assert_frame(&r, 0, S("A=1\nB=2\n"));
    assert_frame(&r, 1, S("BLOB\n\x06\0\0\0\0\0\0\0" "a\n\n\0\n\n\nC=3\n"));
    assert_frame(&r, 2, S("D=4\n"));
    assert_int_equal(r.too_large, 0);
    check_all_chunks(s, sizeof s - 1, 256, &r);
}

/* An entry of exactly max_message bytes is whole; one byte more is too
 * large, and the entries around it come through. */
static void size_limit(void **state)
{
    (void)state;
    static const char s[] = "M=12345\n\n"   /* 8 bytes: fits */
                            "M=123456\n\n"  /* 9 bytes: too large */
                            "N=1\n\n";
    struct run r;
    feed(s, sizeof s - 1, 8, 4096, &r);
    assert_int_equal(r.frames, 2);
    assert_frame(&r, 0, S("M=12345\n"));
    assert_frame(&r, 1, S("N=1\n"));
    assert_int_equal(r.too_large, 1);
    check_all_chunks(s, sizeof s - 1, 8, &r);
}

/* A too large entry is skipped by its structure: an empty line inside a
 * binary value does not end it, and a binary value longer than the
 * buffer is passed by its count, across many reads. */
static void too_large_skipped_by_structure(void **state)
{
    (void)state;
    char s[2048];
    size_t n = 0;
    memcpy(s + n, "A=1\n\n", 5), n += 5;
    memcpy(s + n, "BIG\n", 4), n += 4;
    uint64_t big = 1000;
    for (int i = 0; i < 8; i++)
        s[n++] = (char)(big >> (8 * i));
    for (size_t i = 0; i < big; i++)
        s[n++] = i % 3 == 0 ? '\n' : 'x'; /* empty lines all through the value */
    s[n++] = '\n';
    memcpy(s + n, "T=after\n\nZ=2\n\n", 14), n += 14;
    struct run r;
    feed(s, n, 64, 4096, &r);
    assert_int_equal(r.frames, 2);
    assert_frame(&r, 0, S("A=1\n"));
    assert_frame(&r, 1, S("Z=2\n"));
    assert_int_equal(r.too_large, 1);
    check_all_chunks(s, n, 64, &r);
}

/* A binary value not closed by "\n", or with a length no journal writes:
 * the framer reads on to the next empty line, returns that (the parser
 * refuses it), and the next entry is whole. */
static void resync_after_broken_binary(void **state)
{
    (void)state;
    static const char s[] = "BLOB\n\x02\0\0\0\0\0\0\0abcd\nBIN\n\x01\0\0\0\0\0\0\0x\n\nGOOD=1\n\n"
                            "HUGE\n\0\0\0\0\0\0\0\x40" "\n\x01\nX=1\n\nGOOD=2\n\n";
    struct run r;
    feed(s, sizeof s - 1, 256, 4096, &r);
    assert_int_equal(r.frames, 4);
    /* Read as text after "ab": the "\n\x01..." of BIN's length does not end it. */
    assert_frame(&r, 0, S("BLOB\n\x02\0\0\0\0\0\0\0abcd\nBIN\n\x01\0\0\0\0\0\0\0x\n"));
    assert_frame(&r, 1, S("GOOD=1\n"));
    assert_frame(&r, 2, S("HUGE\n\0\0\0\0\0\0\0\x40" "\n\x01\nX=1\n"));
    assert_frame(&r, 3, S("GOOD=2\n"));
    check_all_chunks(s, sizeof s - 1, 256, &r);
}

/* The end of the stream ends the last entry: whole without its empty
 * line, or cut inside a field (returned too: the parser refuses it). A
 * too large one is just gone. */
static void end_of_stream(void **state)
{
    (void)state;
    struct run r;
    feed(S("A=1\n\nB=2\n"), 256, 4096, &r);
    assert_int_equal(r.frames, 2);
    assert_frame(&r, 1, S("B=2\n"));
    check_all_chunks(S("A=1\n\nB=2\n"), 256, &r);

    feed(S("A=1\n\nBLOB\n\x09\0\0\0\0\0\0\0ab"), 256, 4096, &r);
    assert_int_equal(r.frames, 2);
    assert_frame(&r, 1, S("BLOB\n\x09\0\0\0\0\0\0\0ab"));

    feed(S("A=1\n\nM=0123456789abcdef"), 8, 4096, &r);
    assert_int_equal(r.frames, 1);
    assert_int_equal(r.too_large, 1);

    feed(S("\n\n\n"), 8, 4096, &r);
    assert_int_equal(r.frames, 0);
}

/* The RFC 6587 framer is still the default, and unchanged. */
static void syslog_default(void **state)
{
    (void)state;
    struct sl_framer f;
    sl_framer_init(&f, 64);
    assert_int_equal(f.framing, SL_FRAMING_SYSLOG);
    const char *frame;
    size_t len;
    unsigned flags;
    assert_int_equal(sl_framer_next(&f, S("a\n\nb\n"), false, &frame, &len, &flags), 2);
    assert_int_equal(len, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(entries_and_binary_values),
        cmocka_unit_test(size_limit),
        cmocka_unit_test(too_large_skipped_by_structure),
        cmocka_unit_test(resync_after_broken_binary),
        cmocka_unit_test(end_of_stream),
        cmocka_unit_test(syslog_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
