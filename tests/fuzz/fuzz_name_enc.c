/* SPDX-License-Identifier: MIT */
/*
 * fuzz_name_enc.c: libFuzzer target for plugins/lib/name_enc.c, the
 * perproc file name encoder.
 *
 * Byte 0 picks the room (SPL_NAME_MIN_ROOM .. SPL_NAME_MAX) and whether a
 * separator is escaped too; byte 1 where the rest splits into two values.
 * Checks, for each value: the name is 1..room bytes of printable ASCII
 * without '/', not "." or "..", not starting with '.' or '-', every '%'
 * alone or before two uppercase hex digits up to a '~' and 32 hex digits
 * (a shortened one); an unshortened name decodes to the value; and two
 * different values never get the same name.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/name_enc.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            abort();                                                         \
        }                                                                    \
    } while (0)

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Checks name (n bytes) for value v[0..len); returns whether it was cut. */
static int check_name(const char *name, size_t n, size_t room, const uint8_t *v, size_t len)
{
    CHECK(n >= 1 && n <= room && strlen(name) == n);
    CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
    CHECK(name[0] != '.' && name[0] != '-');
    for (size_t i = 0; i < n; i++)
        CHECK(name[i] > 0x20 && name[i] < 0x7f && name[i] != '/');
    if (n == 1 && name[0] == '%') {
        CHECK(len == 0);
        return 0;
    }
    const char *tilde = strchr(name, '~');
    size_t end = tilde != NULL ? (size_t)(tilde - name) : n;
    if (tilde != NULL) {
        CHECK(n - end == SPL_NAME_HASHED);
        CHECK(strspn(tilde + 1, "0123456789abcdef") == 32);
    }
    size_t k = 0;
    for (size_t i = 0; i < end; i++, k++) {
        uint8_t b = (uint8_t)name[i];
        if (name[i] == '%') {
            CHECK(i + 2 < end); /* never a %XX cut short */
            int hi = hexval(name[i + 1]), lo = hexval(name[i + 2]);
            CHECK(hi >= 0 && lo >= 0);
            b = (uint8_t)(hi * 16 + lo);
            i += 2;
        }
        CHECK(k < len && b == v[k]); /* the name decodes to the value (its prefix if cut) */
    }
    CHECK(tilde != NULL || k == len);
    return tilde != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t room = SPL_NAME_MIN_ROOM + data[0] % (SPL_NAME_MAX - SPL_NAME_MIN_ROOM + 1);
    const char *extra = (data[0] & 0x80) ? "-" : NULL;
    const uint8_t *rest = data + 2;
    size_t nrest = size - 2, cut = nrest == 0 ? 0 : data[1] % (nrest + 1);
    const uint8_t *a = rest, *b = rest + cut;
    size_t alen = cut, blen = nrest - cut;
    char na[SPL_NAME_MAX + 1], nb[SPL_NAME_MAX + 1];
    size_t la = spl_name_encode((const char *)a, alen, room, extra, na);
    size_t lb = spl_name_encode((const char *)b, blen, room, extra, nb);
    check_name(na, la, room, a, alen);
    check_name(nb, lb, room, b, blen);
    if (la == lb && memcmp(na, nb, la) == 0)
        CHECK(alen == blen && memcmp(a, b, alen) == 0);
    if (extra != NULL)
        CHECK(memchr(na, '-', la) == NULL); /* the separator is escaped (the hash has none) */
    return 0;
}
