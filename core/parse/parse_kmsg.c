/* SPDX-License-Identifier: MIT */
/*
 * parse_kmsg.c: a /dev/kmsg record (parse_kmsg.h).
 *
 * The header is read first and alone decides whether the record is one:
 * a record that is not is dropped whole (-EBADMSG) before anything is
 * added. Then the text, then the dictionary. Adding bytes (the unescaped
 * text, a field) may move the message (msg.h), so what is kept across
 * those calls are offsets into raw, never pointers, and b->m is read
 * again after each.
 */
#include "parse/parse_kmsg.h"

#include <errno.h>
#include <string.h>

#include "parse/parse.h"

#define KMSG_KEY_PREFIX "_KERNEL_"
#define KMSG_MAX_PRI 2047 /* the kernel's facility is a byte: 255 * 8 + 7 */

/* The header's numbers, as offsets into raw. */
struct header {
    uint64_t pri, seq, usec;
    size_t seq_at, seq_len, usec_at, usec_len;
    size_t text_at; /* past the ';' */
};

/* Reads a decimal number of 1..20 digits at *at that fits 64 bits and is
 * followed by one of the bytes in `ends`, which it leaves *at on. */
static bool number(const char *p, size_t len, size_t *at, uint64_t *out, const char *ends)
{
    size_t i = *at;
    uint64_t v = 0;
    while (i < len && p[i] >= '0' && p[i] <= '9' && i - *at < 20) {
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        i++;
    }
    if (i == *at || i == len || strchr(ends, p[i]) == NULL || p[i] == '\0')
        return false;
    *out = v;
    *at = i;
    return true;
}

/* "PRI,SEQ,USEC[,FLAGS[,MORE]];": FLAGS and what follows it (",caller=T1"
 * with CONFIG_PRINTK_CALLER) are the kernel's and only skipped: raw keeps
 * them. No '\n' may come before the ';'. */
static bool header(const char *p, size_t len, struct header *h)
{
    size_t at = 0;
    if (!number(p, len, &at, &h->pri, ",") || h->pri > KMSG_MAX_PRI)
        return false;
    h->seq_at = ++at;
    if (!number(p, len, &at, &h->seq, ","))
        return false;
    h->seq_len = at - h->seq_at;
    h->usec_at = ++at;
    if (!number(p, len, &at, &h->usec, ",;"))
        return false;
    h->usec_len = at - h->usec_at;
    const char *line_end = memchr(p + at, '\n', len - at);
    const char *semi = memchr(p + at, ';', (line_end ? (size_t)(line_end - p) : len) - at);
    if (semi == NULL)
        return false;
    h->text_at = (size_t)(semi - p) + 1;
    return true;
}

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Copies in[0..n) to out undoing "\xNN"; any other backslash stays as it
 * is (the kernel writes none). Returns the length written, at most n. */
static size_t unescape(const char *in, size_t n, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (in[i] == '\\' && n - i >= 4 && in[i + 1] == 'x' && (hi = hex(in[i + 2])) >= 0
            && (lo = hex(in[i + 3])) >= 0) {
            out[w++] = (char)(hi << 4 | lo);
            i += 3;
        } else {
            out[w++] = in[i];
        }
    }
    return w;
}

/* raw[at..at+n) unescaped into bytes of the message's own: *out is their
 * place (a span that moves with the message). -ENOMEM without room. */
static int unescaped(struct sl_msg_builder *b, size_t at, size_t n, struct sl_str *out)
{
    if (memchr(b->m->raw.p + at, '\\', n) == NULL) {
        *out = (struct sl_str){b->m->raw.p + at, (uint32_t)n};
        return 0;
    }
    char *w = sl_msg_build_reserve(b, n);
    if (w == NULL)
        return -ENOMEM;
    /* b->m may have moved: raw is read from where it is now. */
    *out = (struct sl_str){w, (uint32_t)unescape(b->m->raw.p + at, n, w)};
    return 0;
}

/* The header fields: priority, time, host, tag. */
static int map_header(struct sl_msg *m, const struct header *h, const struct sl_parse_ctx *ctx,
                      const struct sl_kmsg_info *k)
{
    int rc = 0;
    m->format = SL_FMT_UNPARSED;
    m->severity = (uint8_t)(h->pri & 7);
    m->facility = (uint8_t)(h->pri >> 3);
    if (m->facility > 23) { /* only a program's write can say so */
        m->facility = 1;
        rc = -EINVAL;
    }
    m->pri = (uint8_t)(m->facility * 8 + m->severity);
    int64_t ns = k->boot_wall_ns % 1000000000;
    int64_t sec = (int64_t)(h->usec / 1000000) + k->boot_wall_ns / 1000000000;
    ns += (int64_t)(h->usec % 1000000) * 1000;
    if (ns < 0) {
        ns += 1000000000;
        sec--;
    } else if (ns >= 1000000000) {
        ns -= 1000000000;
        sec++;
    }
    m->ts = (struct sl_time){.sec = sec, .nsec = (int32_t)ns, .frac_digits = 6,
                             .tzoff_min = ctx ? (int16_t)ctx->tzoff_min : 0,
                             .flags = SL_TIME_VALID};
    m->hostname = ctx ? ctx->hostname : SL_STR_NIL;
    m->app_name = (struct sl_str){"kernel", 6};
    m->timestamp = SL_STR_NIL;
    return rc;
}

/* A field whose value is raw[at..at+n) as it is. */
static int raw_field(struct sl_msg_builder *b, const char *key, size_t at, size_t n)
{
    return sl_msg_build_field(b, key, strlen(key), b->m->raw.p + at, n);
}

/* One dictionary line raw[at..end): " KEY=VALUE" becomes _KERNEL_KEY. */
static int dict_line(struct sl_msg_builder *b, size_t at, size_t end)
{
    const char *p = b->m->raw.p;
    const char *eq = memchr(p + at, '=', end - at);
    if (end - at < 2 || p[at] != ' ' || eq == NULL || eq == p + at + 1)
        return -EINVAL;
    size_t klen = (size_t)(eq - p) - at - 1;
    char key[SL_MSG_MAX_FIELD_KEY + 1];
    size_t plen = sizeof KMSG_KEY_PREFIX - 1;
    if (plen + klen > SL_MSG_MAX_FIELD_KEY)
        return -EINVAL;
    memcpy(key, KMSG_KEY_PREFIX, plen);
    memcpy(key + plen, p + at + 1, klen);
    size_t v = (size_t)(eq - p) + 1;
    struct sl_str value;
    int rc = unescaped(b, v, end - v, &value);
    if (rc < 0)
        return rc;
    /* value may be bytes of the message: the builder copies them before
     * anything moves (msg.h). */
    return sl_msg_build_field(b, key, plen + klen, value.p, value.len);
}

/* Every line after the text, from raw offset at on. */
static void dictionary(struct sl_msg_builder *b, size_t at, struct sl_kmsg_info *k)
{
    size_t len = b->m->raw.len;
    while (at < len) {
        const char *nl = memchr(b->m->raw.p + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - b->m->raw.p) : len;
        int rc = end > at ? dict_line(b, at, end) : 0; /* the last '\n' ends no line */
        if (rc < 0 && rc != -EEXIST)
            k->dropped++; /* -EEXIST: a repeated key, the first value stays */
        at = end + 1;
    }
}

int sl_parse_kmsg(struct sl_msg_builder *b, const struct sl_parse_ctx *ctx, void *arg)
{
    struct sl_kmsg_info dummy = {0}, *k = arg ? arg : &dummy;
    struct header h;
    if (!header(b->m->raw.p, b->m->raw.len, &h))
        return -EBADMSG;
    k->seq = h.seq;
    k->dropped = 0;
    int rc = map_header(b->m, &h, ctx, k);
    const char *nl = memchr(b->m->raw.p + h.text_at, '\n', b->m->raw.len - h.text_at);
    size_t text_end = nl ? (size_t)(nl - b->m->raw.p) : b->m->raw.len;
    struct sl_str text;
    int trc = unescaped(b, h.text_at, text_end - h.text_at, &text);
    if (trc < 0) { /* no room to undo the escapes: the text as the kernel wrote it */
        text = (struct sl_str){b->m->raw.p + h.text_at, (uint32_t)(text_end - h.text_at)};
        rc = trc;
    }
    b->m->msg = text;
    if (raw_field(b, "_KERNEL_SEQNUM", h.seq_at, h.seq_len) < 0)
        k->dropped++;
    if (raw_field(b, "_SOURCE_MONOTONIC_TIMESTAMP", h.usec_at, h.usec_len) < 0)
        k->dropped++;
    dictionary(b, text_end + 1, k);
    return rc;
}
