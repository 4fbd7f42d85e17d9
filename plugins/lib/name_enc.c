/* SPDX-License-Identifier: MIT */
/*
 * name_enc.c: a field value as one file name component (name_enc.h).
 *
 * Why this shape: percent-encoding is what users already read (URLs,
 * systemd's unit escaping is close), it keeps ordinary program names such
 * as "nginx", "php-fpm7.4" or "CRON" unchanged, so an administrator finds
 * a program's file by its name, and decoding it is one rule. Escaping a
 * leading '.' or '-' rules out ".", "..", hidden files and names a shell
 * command would take for options (rm -rf). The length cut keeps a
 * component within NAME_MAX with room for the template's own text.
 */
#include "lib/name_enc.h"

#include <assert.h>
#include <string.h>

#include "lib/sha256.h"

static const char hexdig[] = "0123456789ABCDEF";

bool spl_name_kept(unsigned char c, bool first, const char *extra)
{
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool kept = alnum || c == '_' || c == '+' || c == ',' || c == '=' || c == '@' ||
                (!first && (c == '-' || c == '.'));
    return kept && !(c != '\0' && extra != NULL && strchr(extra, c) != NULL);
}

/* The encoding of one byte (1 or 3 bytes) at unit[0..). */
static size_t encode_byte(unsigned char c, bool first, const char *extra, char unit[3])
{
    if (spl_name_kept(c, first, extra)) {
        unit[0] = (char)c;
        return 1;
    }
    unit[0] = '%';
    unit[1] = hexdig[c >> 4];
    unit[2] = hexdig[c & 15];
    return 3;
}

/* Encodes as much of value as fits in limit bytes of out, whole units
 * only; returns the bytes written and sets *all when the value ended. */
static size_t encode_upto(const char *value, size_t len, size_t limit, const char *extra,
                          char *out, bool *all)
{
    size_t w = 0, i;
    for (i = 0; i < len; i++) {
        char unit[3];
        size_t u = encode_byte((unsigned char)value[i], i == 0, extra, unit);
        if (w + u > limit)
            break;
        memcpy(out + w, unit, u);
        w += u;
    }
    *all = i == len;
    return w;
}

size_t spl_name_encode(const char *value, size_t len, size_t room, const char *extra, char *out)
{
    assert(room >= SPL_NAME_MIN_ROOM && room <= SPL_NAME_MAX);
    if (value == NULL || len == 0) {
        out[0] = '%';
        out[1] = '\0';
        return 1;
    }
    bool all;
    size_t w = encode_upto(value, len, room, extra, out, &all);
    if (!all) { /* too long: a prefix and the hash of the whole value */
        unsigned char d[SPL_SHA256_LEN];
        w = encode_upto(value, len, room - SPL_NAME_HASHED, extra, out, &all);
        spl_sha256(value, len, d);
        out[w++] = '~';
        for (int i = 0; i < 16; i++) {
            out[w++] = "0123456789abcdef"[d[i] >> 4];
            out[w++] = "0123456789abcdef"[d[i] & 15];
        }
    }
    out[w] = '\0';
    return w;
}
