/* SPDX-License-Identifier: MIT */
/* test_crc32c.c: CRC-32C (core/common/crc32c.c), the portable path and
 * the one the CPU picks, against the check value and RFC 3720's vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/crc32c.h"

typedef uint32_t crc_fn(uint32_t, const void *, size_t);

static void check_vectors(crc_fn *f)
{
    unsigned char b[32];
    assert_int_equal(f(0, "123456789", 9), 0xE3069283u);
    memset(b, 0, sizeof b); /* RFC 3720, B.4: 32 bytes of zeroes */
    assert_int_equal(f(0, b, sizeof b), 0x8A9136AAu);
    memset(b, 0xff, sizeof b); /* 32 bytes of ones */
    assert_int_equal(f(0, b, sizeof b), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) /* 32 incrementing bytes */
        b[i] = (unsigned char)i;
    assert_int_equal(f(0, b, sizeof b), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) /* 32 decrementing bytes */
        b[i] = (unsigned char)(31 - i);
    assert_int_equal(f(0, b, sizeof b), 0x113FDB5Cu);
    assert_int_equal(f(0, "", 0), 0u);
}

static void vectors_portable(void **state)
{
    (void)state;
    check_vectors(sl_crc32c_sw);
}

static void vectors_dispatched(void **state)
{
    (void)state;
    check_vectors(sl_crc32c);
}

/* Continuing a CRC over pieces gives the CRC of the whole, at every split
 * and alignment, and the two paths agree on every length. */
static void pieces_and_paths_agree(void **state)
{
    (void)state;
    unsigned char buf[301];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    for (size_t len = 0; len <= 64; len++) {
        for (size_t off = 0; off < 8; off++) {
            uint32_t whole = sl_crc32c_sw(0, buf + off, len);
            assert_int_equal(sl_crc32c(0, buf + off, len), whole);
            for (size_t cut = 0; cut <= len; cut++) {
                uint32_t c = sl_crc32c_sw(0, buf + off, cut);
                assert_int_equal(sl_crc32c_sw(c, buf + off + cut, len - cut), whole);
                c = sl_crc32c(0, buf + off, cut);
                assert_int_equal(sl_crc32c(c, buf + off + cut, len - cut), whole);
            }
        }
    }
    assert_int_equal(sl_crc32c(0, buf, sizeof buf), sl_crc32c_sw(0, buf, sizeof buf));
}

/* One flipped bit anywhere changes the CRC. */
static void a_bit_flip_shows(void **state)
{
    (void)state;
    unsigned char buf[100];
    memset(buf, 0x5a, sizeof buf);
    uint32_t good = sl_crc32c(0, buf, sizeof buf);
    for (size_t i = 0; i < sizeof buf * 8; i++) {
        buf[i / 8] ^= (unsigned char)(1u << (i % 8));
        assert_int_not_equal(sl_crc32c(0, buf, sizeof buf), good);
        buf[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors_portable),
        cmocka_unit_test(vectors_dispatched),
        cmocka_unit_test(pieces_and_paths_agree),
        cmocka_unit_test(a_bit_flip_shows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
