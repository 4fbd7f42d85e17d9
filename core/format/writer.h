/* SPDX-License-Identifier: MIT */
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

/* is_ctl(), and TAB too when `tab`: rsyslog escapes TAB by default
 * ($EscapeControlCharacterTab on), so its formats do (put_text_rs). */
static inline bool is_ctl_tab(unsigned char c, bool tab)
{
    return is_ctl(c) || (tab && c == '\t');
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
static inline const char *skip_clean_tab(const char *p, const char *end, bool tab)
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
        while (p < stop && !is_ctl_tab((unsigned char)*p, tab))
            p++;
        if (p < stop || p == end)
            return p;
    }
}

static inline const char *skip_clean(const char *p, const char *end)
{
    return skip_clean_tab(p, end, false);
}

/* Text with control bytes as "#ooo" (rsyslog's escaping), TAB too when
 * `tab`: at most 4n bytes. `tab` is a constant at every call, so each
 * inlined copy keeps one loop. */
static inline char *put_text_tab(char *w, const char *p, size_t n, bool tab)
{
    const char *end = p + n;
    while (p < end) {
        const char *run = p;
        p = skip_clean_tab(p, end, tab);
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

/* Text as the sluice formats write it: TAB kept. */
static inline char *put_text(char *w, const char *p, size_t n)
{
    return put_text_tab(w, p, n, false);
}

/* Text as rsyslog writes it: TAB as "#011" too. */
static inline char *put_text_rs(char *w, const char *p, size_t n)
{
    return put_text_tab(w, p, n, true);
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0: no
 * overlongs, no surrogates, nothing past U+10FFFF (Unicode table 3-7). */
static inline size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len = c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
    if (len == 0 || n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    }
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
        (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return len;
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

/* {=== the TAG, as rsyslog's %syslogtag% gives it ({tag}, and the formats
 * "rsyslog" and "rfc3164") */

/* The RFC 3164 TAG as sent, read back from the received bytes: the parser
 * splits it into app_name and procid, and drops the ':' and one SP after
 * it, but it lies in raw from app_name to msg. So "prog[123]:", "prog:",
 * "prog[]:", or "prog" when a space ended it, as rsyslog keeps it. NIL for
 * other messages and for a rewritten one (its fields may point elsewhere). */
static inline struct sl_str tag_sent(const struct sl_msg *m)
{
    if (m->format != SL_FMT_RFC3164 || (m->flags & SL_MSG_REWRITTEN) || m->app_name.len == 0
        || m->app_name.p == NULL || m->msg.p == NULL)
        return SL_STR_NIL;
    uintptr_t a = (uintptr_t)m->app_name.p, b = (uintptr_t)m->msg.p, r = (uintptr_t)m->raw.p;
    if (a < r || b < a + m->app_name.len || b > r + m->raw.len)
        return SL_STR_NIL; /* not the parser's layout: build it instead */
    uint32_t n = (uint32_t)(b - a);
    if (m->app_name.p[n - 1] == ' ')
        n--; /* the SP the parser ate; rsyslog counts it as the message's */
    return (struct sl_str){m->app_name.p, n};
}

/* The most bytes put_tag() writes: the sent TAG is at most app_name,
 * procid, "[]" and ':'; a built one, "-" or app_name, "[procid]" and ':'. */
static inline size_t tag_bound(const struct sl_msg *m)
{
    return 4 * ((size_t)m->app_name.len + m->procid.len) + 12;
}

/* Writes the TAG: as sent (tag_sent), or built as rsyslog builds it for a
 * message that has none: "APP-NAME[PROCID]", "APP-NAME" with no PROCID,
 * "-" for a NIL RFC 5424 APP-NAME; a rewritten RFC 3164 message gets the
 * ':' it is almost always sent with. Nothing when there is no APP-NAME
 * (unparsed text). `tab` as put_text_tab(). */
static inline char *put_tag(char *w, const struct sl_msg *m, bool tab)
{
    struct sl_str sent = tag_sent(m);
    if (sent.p != NULL)
        return put_text_tab(w, sent.p, sent.len, tab);
    bool is5424 = m->format == SL_FMT_RFC5424;
    if (m->app_name.p == NULL || m->app_name.len == 0) {
        if (!is5424)
            return w;
        *w++ = '-';
    } else {
        w = put_text_tab(w, m->app_name.p, m->app_name.len, tab);
    }
    if (m->procid.p != NULL && m->procid.len > 0) {
        *w++ = '[';
        w = put_text_tab(w, m->procid.p, m->procid.len, tab);
        *w++ = ']';
    }
    if (!is5424)
        *w++ = ':';
    return w;
}
/* }=== */

#endif /* SL_FORMAT_WRITER_H */
