/* SPDX-License-Identifier: MIT */
/*
 * msg_codec.c: a message as bytes and back (msg_codec.h).
 *
 * The decoder reads bytes that were on a disk, where any byte may be
 * wrong even when the record's CRC holds (a bug of an older version, a
 * hand-edited file), so it trusts nothing: one pass parses the whole
 * input into span descriptors, checking every length against what is
 * left, and only then is the message allocated and filled; the filling
 * pass reads nothing the first did not check.
 */
#include "output/msg_codec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

enum { SPAN_NIL = 0, SPAN_LIT = 1, SPAN_RAW = 2 };
#define HEAD_BYTES (8 + 16 + 16 + 16) /* up to and including nfields */
#define NSPANS 9                      /* the text fields after raw */
#define SPAN_MAX 0x7fffffffu

#define MSG_TEXT(m)                                                                       \
    {&(m)->timestamp, &(m)->hostname, &(m)->app_name, &(m)->procid, &(m)->msgid, &(m)->sd, \
     &(m)->msg, &(m)->input, &(m)->peer}

/* {=== encoding */
static bool in_raw(struct sl_str s, struct sl_str raw)
{
    uintptr_t p = (uintptr_t)s.p, r = (uintptr_t)raw.p;
    return s.p != NULL && raw.p != NULL && s.len > 0 && p >= r && p + s.len <= r + raw.len;
}

/* The bytes span s takes, raw being the message's raw (NIL: none). */
static size_t span_size(struct sl_str s, struct sl_str raw)
{
    if (s.p == NULL)
        return 1;
    if (in_raw(s, raw))
        return 9;
    return 5 + (size_t)s.len;
}

size_t sl_msg_encoded_size(const struct sl_msg *m)
{
    const struct sl_str none = SL_STR_NIL;
    struct sl_str *text[] = MSG_TEXT((struct sl_msg *)m);
    if (m->raw.len > SPAN_MAX || m->nfields > SL_MSG_MAX_FIELDS)
        return 0;
    size_t n = HEAD_BYTES + span_size(m->raw, none);
    for (size_t i = 0; i < NSPANS; i++) {
        if (text[i]->len > SPAN_MAX)
            return 0;
        n += span_size(*text[i], m->raw);
    }
    for (uint32_t i = 0; i < m->nfields; i++) {
        const struct sl_field *f = &m->fields[i];
        if (f->key.len > SPAN_MAX || f->value.len > SPAN_MAX)
            return 0;
        n += span_size(f->key, m->raw) + span_size(f->value, m->raw);
    }
    return n;
}

static unsigned char *put_u8(unsigned char *p, unsigned v)
{
    *p = (unsigned char)v;
    return p + 1;
}

static unsigned char *put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + bytes;
}

static unsigned char *put_time(unsigned char *p, const struct sl_time *t)
{
    p = put_le(p, (uint64_t)t->sec, 8);
    p = put_le(p, (uint32_t)t->nsec, 4);
    p = put_le(p, (uint16_t)t->tzoff_min, 2);
    p = put_u8(p, t->frac_digits);
    return put_u8(p, t->flags);
}

static unsigned char *put_span(unsigned char *p, struct sl_str s, struct sl_str raw)
{
    if (s.p == NULL)
        return put_u8(p, SPAN_NIL);
    if (in_raw(s, raw)) {
        p = put_u8(p, SPAN_RAW);
        p = put_le(p, (uint64_t)(s.p - raw.p), 4);
        return put_le(p, s.len, 4);
    }
    p = put_u8(p, SPAN_LIT);
    p = put_le(p, s.len, 4);
    if (s.len > 0)
        memcpy(p, s.p, s.len);
    return p + s.len;
}

void sl_msg_encode(const struct sl_msg *m, unsigned char *buf, size_t size)
{
    const struct sl_str none = SL_STR_NIL;
    struct sl_str *text[] = MSG_TEXT((struct sl_msg *)m);
    unsigned char *p = buf;
    p = put_u8(p, SL_MSG_CODEC_VERSION);
    p = put_u8(p, m->pri);
    p = put_u8(p, m->facility);
    p = put_u8(p, m->severity);
    p = put_u8(p, (uint8_t)(m->version & 0xff));
    p = put_u8(p, m->format);
    p = put_u8(p, m->flags);
    /* Once a padding byte that had to be 0: VERSION's high byte, so a
     * record written before VERSION took three digits reads the same. */
    p = put_u8(p, (uint8_t)(m->version >> 8));
    p = put_time(p, &m->ts);
    p = put_time(p, &m->received);
    p = put_le(p, (uint32_t)m->pid, 4);
    p = put_le(p, (uint32_t)m->uid, 4);
    p = put_le(p, (uint32_t)m->gid, 4);
    p = put_le(p, m->nfields, 4);
    p = put_span(p, m->raw, none);
    for (size_t i = 0; i < NSPANS; i++)
        p = put_span(p, *text[i], m->raw);
    for (uint32_t i = 0; i < m->nfields; i++) {
        p = put_span(p, m->fields[i].key, m->raw);
        p = put_span(p, m->fields[i].value, m->raw);
    }
    (void)size;
    (void)buf;
}
/* }=== */

/* {=== decoding */
struct reader {
    const unsigned char *p;
    size_t n, at;
    bool bad; /* a read went past the end: every later read gives 0 */
};

static uint64_t get_le(struct reader *r, int bytes)
{
    if (r->bad || r->n - r->at < (size_t)bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | r->p[r->at + (size_t)i];
    r->at += (size_t)bytes;
    return v;
}

static void get_time(struct reader *r, struct sl_time *t)
{
    t->sec = (int64_t)get_le(r, 8);
    t->nsec = (int32_t)(uint32_t)get_le(r, 4);
    t->tzoff_min = (int16_t)(uint16_t)get_le(r, 2);
    t->frac_digits = (uint8_t)get_le(r, 1);
    t->flags = (uint8_t)get_le(r, 1);
}

/* A span as read, checked: a literal's bytes are r->p[at..at+len), a
 * raw span's raw[at..at+len). */
struct span {
    uint8_t kind;
    uint32_t at, len;
};

static bool get_span(struct reader *r, struct span *s, uint32_t raw_len, bool raw_allowed)
{
    s->kind = (uint8_t)get_le(r, 1);
    s->at = s->len = 0;
    if (r->bad)
        return false;
    switch (s->kind) {
    case SPAN_NIL:
        return true;
    case SPAN_LIT:
        s->len = (uint32_t)get_le(r, 4);
        if (r->bad || s->len > SPAN_MAX || r->n - r->at < s->len)
            return false;
        s->at = (uint32_t)r->at;
        r->at += s->len;
        return true;
    case SPAN_RAW: {
        uint64_t off = get_le(r, 4), len = get_le(r, 4);
        if (r->bad || !raw_allowed || len == 0 || off > raw_len || len > raw_len - off)
            return false;
        s->at = (uint32_t)off;
        s->len = (uint32_t)len;
        return true;
    }
    default:
        return false;
    }
}

struct parsed {
    struct sl_msg head; /* the numbers */
    struct span raw, text[NSPANS], fields[2 * SL_MSG_MAX_FIELDS];
    size_t lit_bytes;   /* the literal bytes to copy */
};

static bool numbers_ok(const struct sl_msg *m)
{
    return m->facility <= 23 && m->severity <= 7 && m->version <= 999
           && m->format <= SL_FMT_RFC5424
           && m->ts.nsec >= 0 && m->ts.nsec <= 999999999 && m->ts.frac_digits <= 9
           && m->received.nsec >= 0 && m->received.nsec <= 999999999
           && m->received.frac_digits <= 9;
}

static int parse_head(struct reader *r, struct sl_msg *m)
{
    if (get_le(r, 1) != SL_MSG_CODEC_VERSION)
        return -EINVAL;
    m->pri = (uint8_t)get_le(r, 1);
    m->facility = (uint8_t)get_le(r, 1);
    m->severity = (uint8_t)get_le(r, 1);
    m->version = (uint16_t)get_le(r, 1);
    m->format = (uint8_t)get_le(r, 1);
    m->flags = (uint8_t)get_le(r, 1);
    m->version |= (uint16_t)(get_le(r, 1) << 8);
    get_time(r, &m->ts);
    get_time(r, &m->received);
    m->pid = (pid_t)(int32_t)(uint32_t)get_le(r, 4);
    m->uid = (uid_t)get_le(r, 4);
    m->gid = (gid_t)get_le(r, 4);
    uint64_t nf = get_le(r, 4);
    if (r->bad || nf > SL_MSG_MAX_FIELDS || !numbers_ok(m))
        return -EINVAL;
    m->nfields = (uint32_t)nf;
    return 0;
}

static int parse(const unsigned char *p, size_t n, struct parsed *x)
{
    struct reader r = {p, n, 0, false};
    memset(&x->head, 0, sizeof x->head);
    if (parse_head(&r, &x->head) < 0)
        return -EINVAL;
    if (!get_span(&r, &x->raw, 0, false))
        return -EINVAL;
    uint32_t raw_len = x->raw.len;
    x->lit_bytes = x->raw.len;
    for (size_t i = 0; i < NSPANS; i++) {
        if (!get_span(&r, &x->text[i], raw_len, true))
            return -EINVAL;
        x->lit_bytes += x->text[i].kind == SPAN_LIT ? x->text[i].len : 0;
    }
    for (uint32_t i = 0; i < 2 * x->head.nfields; i++) {
        struct span *s = &x->fields[i];
        if (!get_span(&r, s, raw_len, true))
            return -EINVAL;
        bool key = i % 2 == 0;
        if (key && s->kind == SPAN_NIL)
            return -EINVAL;
        if (key && s->kind == SPAN_LIT && !sl_msg_field_key_ok((const char *)p + s->at, s->len))
            return -EINVAL;
        if (key && s->kind == SPAN_RAW && !sl_msg_field_key_ok((const char *)p + x->raw.at + s->at, s->len))
            return -EINVAL;
        x->lit_bytes += s->kind == SPAN_LIT ? s->len : 0;
    }
    return r.at == n ? 0 : -EINVAL;
}

/* Points *out at span s's bytes in the new message: raw's copy for a raw
 * span, else the literal copied to *tail. */
static void place(struct sl_str *out, const struct span *s, const unsigned char *p,
                  char *raw, char **tail)
{
    switch (s->kind) {
    case SPAN_NIL:
        *out = SL_STR_NIL;
        return;
    case SPAN_RAW:
        *out = (struct sl_str){raw + s->at, s->len};
        return;
    default:
        memcpy(*tail, p + s->at, s->len);
        *out = (struct sl_str){*tail, s->len};
        *tail += s->len;
    }
}

static bool keys_unique(const struct sl_msg *m)
{
    for (uint32_t i = 0; i < m->nfields; i++) {
        for (uint32_t j = 0; j < i; j++) {
            const struct sl_str *a = &m->fields[i].key, *b = &m->fields[j].key;
            if (a->len == b->len && memcmp(a->p, b->p, a->len) == 0)
                return false;
        }
    }
    return true;
}

int sl_msg_decode(const unsigned char *p, size_t n, struct sl_msg **out)
{
    struct parsed *x = sl_malloc(sizeof *x);
    if (x == NULL)
        return -ENOMEM;
    int rc = parse(p, n, x);
    struct sl_msg *m = NULL;
    size_t head = sizeof *m + x->head.nfields * sizeof(struct sl_field);
    if (rc == 0 && (m = sl_malloc(head + x->lit_bytes + 1)) == NULL)
        rc = -ENOMEM;
    if (rc < 0) {
        free(x);
        return rc;
    }
    /* [struct sl_msg][sl_field x n][raw][the literals] */
    *m = x->head;
    atomic_init(&m->refs, 1);
    struct sl_field *fields = (struct sl_field *)(m + 1);
    char *raw = (char *)m + head, *tail = raw;
    place(&m->raw, &x->raw, p, raw, &tail);
    struct sl_str *text[] = MSG_TEXT(m);
    for (size_t i = 0; i < NSPANS; i++)
        place(text[i], &x->text[i], p, raw, &tail);
    for (uint32_t i = 0; i < m->nfields; i++) {
        place(&fields[i].key, &x->fields[2 * i], p, raw, &tail);
        place(&fields[i].value, &x->fields[2 * i + 1], p, raw, &tail);
    }
    m->fields = m->nfields > 0 ? fields : NULL;
    m->chunk = NULL;
    m->base = NULL;
    free(x);
    if (!keys_unique(m)) { /* a field's key twice: its table in Lua would lose one */
        free(m);
        return -EINVAL;
    }
    *out = m;
    return 0;
}
/* }=== */
