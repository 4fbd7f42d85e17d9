/* SPDX-License-Identifier: MIT */
/* test_name_enc.c: the perproc name encoder (plugins/lib/name_enc.c) and
 * the SHA-256 it shortens long values with (plugins/lib/sha256.c):
 * FIPS 180-4's example vectors, the documented examples, and on a large
 * adversarial and random set: injective (decoding gives the value back,
 * and no two values share a name), never a component that is ".", "..",
 * empty, holds '/', NUL or a control byte, starts with '.' or '-', or is
 * longer than its room. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/name_enc.h"
#include "lib/sha256.h"

/* {=== SHA-256 */
static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void expect_sha(const char *msg, size_t len, const char *want)
{
    unsigned char d[SPL_SHA256_LEN];
    char got[65];
    spl_sha256(msg, len, d);
    hex(d, sizeof d, got);
    assert_string_equal(got, want);
}

/* FIPS 180-4 (and its example documents): one block, two blocks, the
 * empty message, the 896-bit one, and a million 'a' fed in odd chunks,
 * so a block filled across two updates is covered. */
static void test_sha256_vectors(void **state)
{
    expect_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    expect_sha(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                       "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    expect_sha(four, strlen(four),
               "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    expect_sha(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    struct spl_sha256 c;
    unsigned char d[SPL_SHA256_LEN];
    char got[65];
    spl_sha256_init(&c);
    for (size_t off = 0, step = 1; off < 1000000; off += step, step = step % 131 + 7)
        spl_sha256_update(&c, a + off, off + step > 1000000 ? 1000000 - off : step);
    spl_sha256_final(&c, d);
    hex(d, sizeof d, got);
    assert_string_equal(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
    /* 55, 56 and 64 bytes: the padding's edges (length in the same
     * block, in the next, a whole block of padding). */
    expect_sha("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 55,
               "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    expect_sha("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 56,
               "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    expect_sha("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64,
               "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}
/* }=== */

/* {=== the encoder */
static size_t enc(const char *v, size_t len, char *out)
{
    return spl_name_encode(v, len, SPL_NAME_MAX, NULL, out);
}

static void expect_enc(const char *v, size_t len, const char *want)
{
    char out[SPL_NAME_MAX + 1];
    size_t n = enc(v, len, out);
    assert_int_equal(n, strlen(out));
    assert_string_equal(out, want);
}

/* The examples sluice.lua(5) gives. */
static void test_documented_examples(void **state)
{
    expect_enc("nginx", 5, "nginx");
    expect_enc("php-fpm7.4", 10, "php-fpm7.4");
    expect_enc("CRON", 4, "CRON");
    expect_enc("..", 2, "%2E.");
    expect_enc(".", 1, "%2E");
    expect_enc("../../etc", 9, "%2E.%2F..%2Fetc");
    expect_enc("a/b", 3, "a%2Fb");
    expect_enc("-rf", 3, "%2Drf");
    expect_enc("%2e%2e", 6, "%252e%252e");
    expect_enc("%", 1, "%25");
    expect_enc("", 0, "%");
    expect_enc(NULL, 0, "%");
    expect_enc("a b~c", 5, "a%20b%7Ec");
    expect_enc("\xc3\xa9t\xc3\xa9", 5, "%C3%A9t%C3%A9"); /* été */
    expect_enc("\xff\xfe", 2, "%FF%FE");
    expect_enc("a\0b\n", 4, "a%00b%0A");
    expect_enc("user@host,x=1+2", 15, "user@host,x=1+2");
}

/* The inverse for names that were not shortened: -1 when name is no
 * encoding at all. */
static long decode(const char *name, char *out)
{
    size_t n = 0;
    if (strcmp(name, "%") == 0)
        return 0;
    for (size_t i = 0; name[i] != '\0'; i++) {
        if (name[i] != '%') {
            out[n++] = name[i];
            continue;
        }
        unsigned v;
        if (sscanf(name + i + 1, "%2X", &v) != 1)
            return -1;
        out[n++] = (char)v;
        i += 2;
    }
    return (long)n;
}

/* What no encoding may be, whatever the value. */
static void check_component(const char *name, size_t n, size_t room)
{
    assert_true(n >= 1 && n <= room);
    assert_int_equal(strlen(name), n);
    assert_false(strcmp(name, ".") == 0 || strcmp(name, "..") == 0);
    assert_false(name[0] == '.' || name[0] == '-');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        assert_true(c > 0x20 && c < 0x7f && c != '/');
    }
    /* A cut never splits a %XX: every % is alone or has two hex digits. */
    const char *tilde = strchr(name, '~');
    for (const char *p = name; *p != '\0' && (tilde == NULL || p < tilde); p++) {
        if (*p == '%' && n > 1) {
            assert_true(strchr("0123456789ABCDEF", p[1]) != NULL && p[1] != '\0');
            assert_true(strchr("0123456789ABCDEF", p[2]) != NULL && p[2] != '\0');
        }
    }
    if (tilde != NULL) {
        assert_int_equal(strlen(tilde), SPL_NAME_HASHED);
        assert_int_equal(strspn(tilde + 1, "0123456789abcdef"), 32);
    }
}

struct pair {
    char name[SPL_NAME_MAX + 1];
    size_t idx;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct pair *)a)->name, ((const struct pair *)b)->name);
}

/* A value of the set: the adversarial ones first, then random ones from
 * alphabets that stress the rules (dots, dashes, percents, hex digits,
 * tildes, bytes past ASCII), of lengths around the cut. */
static size_t value_at(size_t k, char *v, uint64_t *rng)
{
    static const char *const hostile[] = {"..", ".", "../../etc", "a/b", "-rf", "%2e%2e",
                                          "%", "", "%25", "%2E.", "~", "a~0123", ".hidden",
                                          "-", "--", "/", "//", "a\n", "\t", "\x7f",
                                          "\xc3\xa9", "\xc3", "\xed\xa0\x80", "%%", "%2"};
    size_t nh = sizeof hostile / sizeof *hostile;
    if (k < nh) {
        memcpy(v, hostile[k], strlen(hostile[k]));
        return strlen(hostile[k]);
    }
    static const char alpha[] = "..--%%~aF09/_\x01\x80\xff";
    *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t r = *rng >> 33;
    size_t len = (r % 4 == 0) ? 40 + r % 40 : r % 8; /* short ones collide most */
    if (k % 97 == 0)
        len = 150 + r % 300; /* around and past the cut */
    for (size_t i = 0; i < len; i++) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned b = (unsigned)(*rng >> 40);
        v[i] = (k % 3 == 0) ? (char)(b & 0xff) : alpha[b % (sizeof alpha - 1)];
    }
    return len;
}

static void test_injective_and_safe(void **state)
{
    enum { N = 60000 };
    struct pair *p = malloc(N * sizeof *p);
    char (*vals)[512] = malloc(N * sizeof *vals);
    size_t *lens = malloc(N * sizeof *lens);
    assert_true(p != NULL && vals != NULL && lens != NULL);
    uint64_t rng = 42;
    for (size_t k = 0; k < N; k++) {
        lens[k] = value_at(k, vals[k], &rng);
        size_t n = enc(vals[k], lens[k], p[k].name);
        p[k].idx = k;
        check_component(p[k].name, n, SPL_NAME_MAX);
        if (strchr(p[k].name, '~') == NULL) {
            char back[600];
            long m = decode(p[k].name, back);
            assert_int_equal(m, (long)lens[k]);
            assert_memory_equal(back, vals[k], lens[k]);
        } else {
            assert_true(lens[k] * 3 > SPL_NAME_MAX); /* only what did not fit is cut */
        }
    }
    qsort(p, N, sizeof *p, by_name);
    for (size_t k = 1; k < N; k++) {
        if (strcmp(p[k - 1].name, p[k].name) != 0)
            continue;
        size_t a = p[k - 1].idx, b = p[k].idx;
        assert_int_equal(lens[a], lens[b]); /* the same name: the same value */
        assert_memory_equal(vals[a], vals[b], lens[a]);
    }
    free(p);
    free(vals);
    free(lens);
}

/* 48 bytes fit whole; 10 KB become a prefix and the hash, different for
 * values that differ only in their last byte; a value of escapes is cut
 * between two %XX. */
static void test_long_values(void **state)
{
    char v[10240], out[SPL_NAME_MAX + 1], out2[SPL_NAME_MAX + 1];
    memset(v, 'x', sizeof v);
    assert_int_equal(enc(v, 48, out), 48);
    size_t n = enc(v, sizeof v, out);
    check_component(out, n, SPL_NAME_MAX);
    assert_int_equal(n, SPL_NAME_MAX);
    assert_int_equal(strspn(out, "x"), SPL_NAME_MAX - SPL_NAME_HASHED);
    v[sizeof v - 1] = 'y';
    enc(v, sizeof v, out2);
    assert_string_not_equal(out, out2);
    assert_memory_equal(out, out2, SPL_NAME_MAX - SPL_NAME_HASHED);
    memset(v, '/', sizeof v);
    n = enc(v, sizeof v, out);
    check_component(out, n, SPL_NAME_MAX);
    assert_int_equal(strchr(out, '~') - out, (SPL_NAME_MAX - SPL_NAME_HASHED) / 3 * 3);
    /* Exactly the room is not cut; one unit more is. */
    memset(v, 'x', sizeof v);
    assert_null(strchr((enc(v, SPL_NAME_MAX, out), out), '~'));
    assert_non_null(strchr((enc(v, SPL_NAME_MAX + 1, out), out), '~'));
}

/* A smaller room (fields sharing a component) and a separator escaped. */
static void test_room_and_extra(void **state)
{
    char v[300], out[SPL_NAME_MAX + 1];
    memset(v, 'a', sizeof v);
    size_t n = spl_name_encode(v, sizeof v, SPL_NAME_MIN_ROOM, NULL, out);
    check_component(out, n, SPL_NAME_MIN_ROOM);
    assert_int_equal(n, SPL_NAME_MIN_ROOM);
    n = spl_name_encode("a-b.c", 5, SPL_NAME_MAX, "-", out);
    assert_string_equal(out, "a%2Db.c");
    n = spl_name_encode("a-b.c", 5, SPL_NAME_MAX, ".", out);
    assert_string_equal(out, "a-b%2Ec");
    assert_false(spl_name_kept('-', false, "-"));
    assert_true(spl_name_kept('-', false, "."));
    assert_false(spl_name_kept('-', true, NULL));
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_documented_examples),
        cmocka_unit_test(test_injective_and_safe),
        cmocka_unit_test(test_long_values),
        cmocka_unit_test(test_room_and_extra),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
