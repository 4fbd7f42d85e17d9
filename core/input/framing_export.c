/* SPDX-License-Identifier: MIT */
/*
 * framing_export.c: entries of the journal export format in a byte stream
 * (framing.h has the contract).
 *
 * An entry ends at an empty line, but a binary value may hold "\n\n", so
 * the framer walks the fields: a line with an '=' is a text field; a line
 * without one is a binary field's key, followed by an 8-byte little-endian
 * length, that many bytes and a "\n". The walk is a small state machine
 * that stops anywhere (between two reads, inside a length) and goes on
 * from there, so it never needs an entry's bytes twice and holds none:
 *
 *   LINE_START --'\n'--> end of the entry
 *       |other
 *   IN_LINE --'\n' after an '='--> LINE_START
 *       |'\n', no '='
 *   LENGTH (8 bytes) --> DATA (length bytes) --> DATA_END --'\n'--> LINE_START
 *       |length > SL_EXPORT_DATA_MAX                |other
 *       +-------------------------------------> RESYNC_LINE <--> RESYNC_START --'\n'--> end
 *
 * RESYNC: the structure is lost (a binary value not closed by "\n", a
 * length no journal writes); lines are read as text to the next empty
 * line, the likeliest end of the broken entry, so the ones after it come
 * through. The parser then refuses the broken one (parse_export.h).
 *
 * Limits. An entry's frame is at most max_message bytes; the empty line
 * that ends it is one byte more, within the caller's SL_FRAMER_HEADROOM.
 * Once max_message + 1 bytes hold no end, the entry is too large: those
 * bytes are consumed (SL_FRAME_TOO_LARGE) and the walk goes on discarding
 * what it passes to the entry's end, a binary value's bytes by count.
 */
#include "input/framing_export.h"

#include <string.h>

enum scan_state {
    LINE_START = 0, /* at the start of a line: an empty one ends the entry */
    IN_LINE,        /* in a field's line (text, or a binary value's key) */
    LENGTH,         /* in a binary value's 8-byte length */
    DATA,           /* in a binary value's bytes */
    DATA_END,       /* after them: a "\n" must follow */
    RESYNC_START,   /* lost: at the start of a line */
    RESYNC_LINE     /* lost: in a line */
};

/* Walks buf[from..to) from the state in s. True, with *end the index of
 * the '\n' of the empty line that ends the entry, when it gets there;
 * false, with s->pos = to, when it ran out of bytes first. */
static bool walk(struct sl_export_scan *s, const char *buf, size_t from, size_t to, size_t *end)
{
    size_t i = from;
    while (i < to) {
        const char *nl;
        switch (s->state) {
        case LINE_START:
        case RESYNC_START:
            if (buf[i] == '\n') {
                *end = i;
                return true;
            }
            s->state = s->state == LINE_START ? IN_LINE : RESYNC_LINE;
            s->eq = false;
            break;
        case IN_LINE:
        case RESYNC_LINE: {
            nl = memchr(buf + i, '\n', to - i);
            size_t stop = nl != NULL ? (size_t)(nl - buf) : to;
            if (!s->eq && memchr(buf + i, '=', stop - i) != NULL)
                s->eq = true;
            i = stop;
            if (nl == NULL)
                break;
            i++;
            if (s->state == RESYNC_LINE || s->eq) {
                s->state = s->state == RESYNC_LINE ? RESYNC_START : LINE_START;
            } else {
                s->state = LENGTH;
                s->nlen = 0;
                s->left = 0;
            }
            break;
        }
        case LENGTH:
            s->left |= (uint64_t)(unsigned char)buf[i++] << (8 * s->nlen);
            if (++s->nlen < 8)
                break;
            s->state = s->left > SL_EXPORT_DATA_MAX ? RESYNC_LINE : s->left > 0 ? DATA : DATA_END;
            break;
        case DATA: {
            size_t take = s->left < to - i ? (size_t)s->left : to - i;
            i += take;
            s->left -= take;
            if (s->left == 0)
                s->state = DATA_END;
            break;
        }
        case DATA_END:
            if (buf[i] == '\n') {
                i++;
                s->state = LINE_START;
            } else {
                s->state = RESYNC_LINE; /* this byte starts the line read as text */
                s->eq = false;
            }
            break;
        }
    }
    s->pos = to;
    return false;
}

static ssize_t entry(struct sl_export_scan *s, const char *buf, size_t n, size_t used,
                     const char **frame, size_t *frame_len)
{
    *s = (struct sl_export_scan){0};
    *frame = buf;
    *frame_len = n;
    return (ssize_t)used;
}

/* The rest of a too large entry, discarded as it is walked. */
static ssize_t skip(struct sl_export_scan *s, const char *buf, size_t len, bool eof)
{
    size_t end;
    if (walk(s, buf, 0, len, &end)) {
        *s = (struct sl_export_scan){0};
        return (ssize_t)(end + 1);
    }
    s->pos = 0; /* what was walked is consumed */
    if (eof)
        *s = (struct sl_export_scan){0}; /* the stream ends the entry */
    return (ssize_t)len;
}

ssize_t sl_framer_next_export(struct sl_framer *f, const char *buf, size_t len, bool eof,
                              const char **frame, size_t *frame_len, unsigned *flags)
{
    struct sl_export_scan *s = &f->ex;
    if (s->skipping)
        return skip(s, buf, len, eof);
    if (len == 0)
        return 0;
    if (s->pos > len)
        *s = (struct sl_export_scan){0}; /* not the bytes it scanned: walk them again */
    if (s->pos == 0 && buf[0] == '\n') { /* empty lines between entries */
        size_t n = 1;
        while (n < len && buf[n] == '\n')
            n++;
        return (ssize_t)n;
    }
    size_t max = f->max_message;
    size_t window = len < max + 1 ? len : max + 1;
    size_t end;
    if (walk(s, buf, s->pos, window, &end))
        return entry(s, buf, end, end + 1, frame, frame_len);
    if (window == max + 1) {
        /* max + 1 bytes and no end: longer than max_message. */
        s->skipping = true;
        s->pos = 0;
        *flags = SL_FRAME_TOO_LARGE;
        return (ssize_t)window;
    }
    if (!eof)
        return 0;
    return entry(s, buf, len, len, frame, frame_len); /* the last one, whole or cut */
}
