/* SPDX-License-Identifier: MIT */
/*
 * fuzz_export.c: libFuzzer target for the journal export format: the
 * framer (SL_FRAMING_EXPORT, framing_export.c) and the entry parser
 * (parse_export.c) together, as native_stream runs them.
 *
 * The first input byte picks max_message (low 3 bits), trusted (bit 3) and
 * how the rest is cut into reads (high 4 bits); the rest is the stream,
 * through a connection buffer of exactly max_message + SL_FRAMER_HEADROOM
 * bytes, as input_stream.c keeps one. Checks:
 *   - the framer never fails, always makes progress in a full buffer, and
 *     at eof consumes everything;
 *   - every frame lies inside the bytes consumed, 0 < len <= max_message;
 *   - each frame parses or is refused whole (-EBADMSG); a parsed message
 *     has its header fields inside its raw bytes, valid keys, at most
 *     SL_MSG_MAX_FIELDS fields, credentials only when trusted;
 *   - the frames, their outcomes and the too large count do not depend on
 *     how the stream was cut into reads.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "input/framing.h"
#include "parse/parse_export.h"
#include "parse/parse_native.h"

static const size_t max_messages[8] = {1, 2, 9, 16, 40, 64, 255, 4096};

struct outcome {
    uint64_t hash;
    size_t frames, parsed, too_large;
};

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 0x100000001b3ULL; /* FNV-1a */
}

static size_t next_chunk(unsigned pattern, uint32_t *rng)
{
    if (pattern == 0)
        return SIZE_MAX;
    if (pattern == 1)
        return 1;
    *rng ^= *rng << 13;
    *rng ^= *rng >> 17;
    *rng ^= *rng << 5;
    return 1 + *rng % (pattern * 4);
}

/* Parses one frame as native_stream does, checking the message. */
static void parse_frame(struct sl_msgpool *pool, const char *frame, size_t len, bool trusted,
                        struct outcome *o)
{
    struct sl_msg_builder b;
    if (sl_msg_build_begin(&b, pool, frame, len, NULL, 0) < 0)
        return;
    struct sl_export_counts c;
    int rc = sl_parse_export(&b, trusted, &c);
    mix(&o->hash, &rc, sizeof rc);
    if (rc < 0) {
        CHECK(rc == -EBADMSG);
        sl_msg_build_abort(&b);
        return;
    }
    struct sl_msg *m = sl_msg_build_end(&b);
    o->parsed++;
    CHECK(m->nfields <= SL_MSG_MAX_FIELDS);
    CHECK(m->severity <= 7 && m->facility <= 23);
    CHECK(trusted || !(m->flags & SL_MSG_HAS_CRED));
    CHECK(!(m->ts.flags & SL_TIME_VALID) || (m->ts.nsec >= 0 && m->ts.nsec <= 999999999));
    check_span(m, m->msg, UINT32_MAX);
    check_span(m, m->app_name, UINT32_MAX);
    check_span(m, m->procid, UINT32_MAX);
    check_span(m, m->timestamp, UINT32_MAX);
    check_span(m, m->hostname, UINT32_MAX);
    for (uint32_t i = 0; i < m->nfields; i++)
        CHECK(sl_native_key_ok(m->fields[i].key.p, m->fields[i].key.len));
    mix(&o->hash, &m->nfields, sizeof m->nfields);
    mix(&o->hash, &m->pri, sizeof m->pri);
    sl_msg_unref(m);
}

/* Frames everything buf holds; returns the bytes consumed. */
static size_t drain(struct sl_framer *f, struct sl_msgpool *pool, const char *buf, size_t have,
                    bool eof, bool trusted, struct outcome *o)
{
    size_t off = 0;
    for (;;) {
        const char *frame;
        size_t len;
        unsigned flags;
        ssize_t r = sl_framer_next(f, buf + off, have - off, eof, &frame, &len, &flags);
        CHECK(r >= 0);
        if (r == 0)
            return off;
        CHECK((size_t)r <= have - off);
        CHECK((flags & ~(unsigned)SL_FRAME_TOO_LARGE) == 0);
        CHECK(!(flags & SL_FRAME_TOO_LARGE) || frame == NULL);
        if (flags & SL_FRAME_TOO_LARGE)
            o->too_large++;
        if (frame != NULL) {
            CHECK(frame >= buf + off && frame + len <= buf + off + (size_t)r);
            CHECK(len > 0 && len <= f->max_message);
            mix(&o->hash, &len, sizeof len);
            mix(&o->hash, frame, len);
            o->frames++;
            parse_frame(pool, frame, len, trusted, o);
        }
        off += (size_t)r;
    }
}

static void run(const uint8_t *data, size_t size, size_t max, bool trusted, unsigned pattern,
                struct outcome *o)
{
    struct sl_framer f;
    sl_framer_init_as(&f, SL_FRAMING_EXPORT, max);
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "fuzz");
    size_t cap = max + SL_FRAMER_HEADROOM;
    char *buf = malloc(cap); /* exact size, so ASan sees any overrun */
    CHECK(buf != NULL);
    *o = (struct outcome){.hash = 0xcbf29ce484222325ULL};
    uint32_t rng = 0x9e3779b9u ^ (uint32_t)size;
    size_t pos = 0, have = 0, rounds = 0;
    for (;;) {
        CHECK(++rounds <= size + 2); /* each round reads a byte or ends */
        size_t n = next_chunk(pattern, &rng);
        if (n > cap - have)
            n = cap - have;
        if (n > size - pos)
            n = size - pos;
        memcpy(buf + have, data + pos, n);
        pos += n;
        have += n;
        bool eof = pos == size;
        size_t used = drain(&f, &pool, buf, have, eof, trusted, o);
        have -= used;
        memmove(buf, buf + used, have);
        if (eof) {
            CHECK(have == 0);
            break;
        }
        CHECK(have < cap);
    }
    free(buf);
    sl_msgpool_release(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t max = max_messages[data[0] & 7];
    bool trusted = (data[0] & 8) != 0;
    unsigned pattern = data[0] >> 4;
    struct outcome whole, cut;
    run(data + 1, size - 1, max, trusted, 0, &whole);
    run(data + 1, size - 1, max, trusted, pattern, &cut);
    CHECK(whole.frames == cut.frames);
    CHECK(whole.parsed == cut.parsed);
    CHECK(whole.too_large == cut.too_large);
    CHECK(whole.hash == cut.hash);
    return 0;
}
