/*
 * writer.h: the cursor writers every format shares (format.c, stamp.c,
 * json.c, template.c).
 *
 * Each returns the advanced cursor and never checks for room: the caller
 * reserved the line's bound first (format.c's line_bound). They are inline
 * in this header because they run for every field of every line: moving
 * them behind a call would add one per field.
 *
 * Thread: any (they touch only the bytes they are given).
 */
#ifndef SL_FORMAT_WRITER_H
#define SL_FORMAT_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/msg.h"

#define NUM_MAX_LEN 20  /* digits of a 64-bit number */

static inline char *put(char *w, const char *p, size_t n)
{
    memcpy(w, p, n);
    return w + n;
}

#define PUT_LIT(w, s) put((w), (s), sizeof(s) - 1)

static inline char *put_uint(char *w, unsigned long long v)
{
    char tmp[NUM_MAX_LEN];
    size_t n = 0;
    do {
        tmp[sizeof tmp - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    return put(w, tmp + sizeof tmp - n, n);
}

static inline bool is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* True when none of the 8 bytes of x is a control byte (< 0x20 or 0x7f).
 * The classic "has a byte less than n" test (exact for n <= 0x80) and "has
 * a zero byte" on x ^ 0x7f..; TAB also fails it and is sorted out byte by
 * byte, which is rare. */
static inline bool word_clean(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t below = (x - ones * 0x20) & ~x & highs;
    uint64_t y = x ^ (ones * 0x7f);
    uint64_t del = (y - ones) & ~y & highs;
    return (below | del) == 0;
}

/* The first control byte in [p, end), or end: a word at a time, since
 * almost every byte of a log line is clean. */
static inline const char *skip_clean(const char *p, const char *end)
{
    for (;;) {
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, sizeof x);
            if (!word_clean(x))
                break;
            p += 8;
        }
        const char *stop = end - p >= 8 ? p + 8 : end;
        while (p < stop && !is_ctl((unsigned char)*p))
            p++;
        if (p < stop || p == end)
            return p;
    }
}

/* Text with control bytes as "#ooo" (rsyslog's escaping): at most 4n bytes. */
static inline char *put_text(char *w, const char *p, size_t n)
{
    const char *end = p + n;
    while (p < end) {
        const char *run = p;
        p = skip_clean(p, end);
        w = put(w, run, (size_t)(p - run));
        if (p == end)
            break;
        unsigned char c = (unsigned char)*p++;
        w[0] = '#';
        w[1] = (char)('0' + (c >> 6));
        w[2] = (char)('0' + ((c >> 3) & 7));
        w[3] = (char)('0' + (c & 7));
        w += 4;
    }
    return w;
}

/* A text field, "-" when NIL: at most 4 * len + 1 bytes. */
static inline char *put_field(char *w, struct sl_str s)
{
    if (s.p == NULL || s.len == 0)
        return PUT_LIT(w, "-");
    return put_text(w, s.p, s.len);
}

static inline char *put_name(char *w, const char *name)
{
    return name != NULL ? put(w, name, strlen(name)) : PUT_LIT(w, "-");
}

/* The raw bytes without the line end a sender may have left on them, which
 * would otherwise show up as "#012" at the end of every line. */
static inline struct sl_str raw_line(const struct sl_msg *m)
{
    struct sl_str s = m->raw;
    while (s.len > 0 && memchr("\n\r", s.p[s.len - 1], 3) != NULL) /* LF, CR or NUL */
        s.len--;
    return s;
}

/* The message's own time, or when it was received if it has none. */
static inline const struct sl_time *msg_time(const struct sl_msg *m)
{
    return (m->ts.flags & SL_TIME_VALID) ? &m->ts : &m->received;
}

/* The bytes of m's text fields but raw: a part of each text format's bound. */
static inline size_t text_total(const struct sl_msg *m)
{
    return (size_t)m->hostname.len + m->app_name.len + m->procid.len + m->msgid.len
           + m->sd.len + m->msg.len + m->input.len;
}

#endif /* SL_FORMAT_WRITER_H */
