/* SPDX-License-Identifier: MIT */
/*
 * fuzz_framing.c: libFuzzer target for core/input/framing.c.
 *
 * The first input byte picks max_message (low 3 bits) and how the rest is
 * cut into reads (high 5 bits). The rest goes through a connection buffer of
 * exactly max_message + SL_FRAMER_HEADROOM bytes, as input_tcp keeps one:
 * unconsumed bytes stay, the next read is appended, eof at the end. Checks:
 *   - every frame lies inside the bytes the buffer holds, 0 < len <= max;
 *   - the framer always makes progress in a full buffer and the loop ends;
 *   - at eof, 0 means the buffer is empty;
 *   - the frames and the outcome do not depend on how the stream was cut
 *     (the same stream fed in the largest possible reads is the reference).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input/framing.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            abort();                                                         \
        }                                                                    \
    } while (0)

static const size_t max_messages[8] = {1, 2, 3, 8, 16, 64, 255, 4096};

/* What a run produced, reduced to something two runs can compare. */
struct outcome {
    uint64_t hash;
    size_t frames;
    size_t truncated;
    int err;
};

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 0x100000001b3ULL; /* FNV-1a */
}

/* Size of the next read: pattern 0 = as much as fits, 1 = one byte, else
 * sizes from a small xorshift sequence, 1..(pattern * 4). */
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

static void record(struct outcome *o, const char *frame, size_t len, unsigned flags)
{
    mix(&o->hash, &len, sizeof len);
    mix(&o->hash, frame, len);
    mix(&o->hash, &flags, sizeof flags);
    o->frames++;
    if (flags & SL_FRAME_TRUNCATED)
        o->truncated++;
}

/* Frames everything buf holds; returns bytes consumed, or a negative errno. */
static ssize_t drain(struct sl_framer *f, const char *buf, size_t have, bool eof,
                     struct outcome *o)
{
    size_t off = 0;
    for (;;) {
        const char *frame;
        size_t len;
        unsigned flags;
        ssize_t r = sl_framer_next(f, buf + off, have - off, eof, &frame, &len, &flags);
        if (r < 0) {
            CHECK(r == -EPROTO);
            return r;
        }
        if (r == 0)
            return (ssize_t)off;
        CHECK((size_t)r <= have - off);
        if (frame != NULL) {
            CHECK(frame >= buf + off && frame + len <= buf + off + (size_t)r);
            CHECK(len > 0 && len <= f->max_message);
            CHECK((flags & ~(unsigned)SL_FRAME_TRUNCATED) == 0);
            record(o, frame, len, flags);
        }
        off += (size_t)r;
    }
}

static void run(const uint8_t *data, size_t size, size_t max, unsigned pattern,
                struct outcome *o)
{
    struct sl_framer f;
    sl_framer_init(&f, max);
    size_t cap = max + SL_FRAMER_HEADROOM;
    char *buf = malloc(cap); /* exact size, so ASan sees any overrun */
    CHECK(buf != NULL);
    *o = (struct outcome){.hash = 0xcbf29ce484222325ULL};
    uint32_t rng = 0x9e3779b9u ^ (uint32_t)size;
    size_t pos = 0, have = 0, rounds = 0;
    for (;;) {
        /* Each round reads at least one byte or ends: the loop is bounded. */
        CHECK(++rounds <= size + 2);
        size_t n = next_chunk(pattern, &rng);
        if (n > cap - have)
            n = cap - have;
        if (n > size - pos)
            n = size - pos;
        memcpy(buf + have, data + pos, n);
        pos += n;
        have += n;
        bool eof = pos == size;
        ssize_t used = drain(&f, buf, have, eof, o);
        if (used < 0) {
            o->err = (int)used;
            break;
        }
        have -= (size_t)used;
        memmove(buf, buf + used, have);
        if (eof) {
            CHECK(have == 0); /* 0 with eof means nothing is left */
            break;
        }
        CHECK(have < cap); /* a full buffer must always make progress */
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t max = max_messages[data[0] & 7];
    unsigned pattern = data[0] >> 3;
    struct outcome whole, cut;
    run(data + 1, size - 1, max, 0, &whole);
    run(data + 1, size - 1, max, pattern, &cut);
    CHECK(whole.err == cut.err);
    CHECK(whole.frames == cut.frames);
    CHECK(whole.truncated == cut.truncated);
    CHECK(whole.hash == cut.hash);
    return 0;
}
