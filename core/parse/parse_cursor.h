/* SPDX-License-Identifier: MIT */
/*
 * parse_cursor.h: the byte cursor both parsers walk m->raw with. Private to
 * parse_rfc5424.c and parse_rfc3164.c. raw is not NUL-terminated: every read
 * checks the cursor against the end first.
 */
#ifndef SL_PARSE_CURSOR_H
#define SL_PARSE_CURSOR_H

#include <errno.h>
#include <stdbool.h>

#include "common/msg.h"

struct cur {
    const char *p, *end;
};

static inline bool at(const struct cur *c, char ch)
{
    return c->p < c->end && *c->p == ch;
}

static inline bool eat(struct cur *c, char ch)
{
    if (!at(c, ch))
        return false;
    c->p++;
    return true;
}

static inline bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Reads exactly n digits into *out. */
static inline bool digits(struct cur *c, int n, int *out)
{
    if (c->end - c->p < n)
        return false;
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(c->p[i]))
            return false;
        v = v * 10 + (c->p[i] - '0');
    }
    c->p += n;
    *out = v;
    return true;
}

/* PRI = "<" 1*3DIGIT ">" in 0..191; sets pri, facility, severity. RFC 5424
 * refuses a leading zero ("<002>": no RFC 5424 sender writes one, so it
 * marks text that only looks like RFC 5424); RFC 3164 tolerates it. */
static inline int parse_pri(struct cur *c, struct sl_msg *m, bool leading_zero_ok)
{
    if (!eat(c, '<'))
        return -EINVAL;
    const char *s = c->p;
    unsigned v = 0;
    while (c->p < c->end && is_digit(*c->p) && c->p - s < 3)
        v = v * 10 + (unsigned)(*c->p++ - '0');
    size_t n = (size_t)(c->p - s);
    if (n == 0 || (!leading_zero_ok && n > 1 && *s == '0') || v > 191 || !eat(c, '>'))
        return -EINVAL;
    m->pri = (uint8_t)v;
    m->facility = (uint8_t)(v >> 3);
    m->severity = (uint8_t)(v & 7);
    return 0;
}

#endif /* SL_PARSE_CURSOR_H */
