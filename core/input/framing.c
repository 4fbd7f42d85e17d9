/* SPDX-License-Identifier: MIT */
/*
 * framing.c: RFC 6587 framing, detected frame by frame.
 *
 * The framer keeps no bytes, only what it still has to discard of an
 * oversized frame, so a connection costs one buffer of max_message +
 * SL_FRAMER_HEADROOM bytes and nothing here ever asks for more than that
 * before it makes progress:
 *   - an octet-counted frame needs its header (at most 11 bytes) plus
 *     min(MSGLEN, max_message) bytes;
 *   - an LF frame needs max_message + 2 bytes (room for a CR LF that ends a
 *     frame of exactly max_message bytes) before it is declared oversized.
 */
#include "input/framing.h"

#include <errno.h>
#include <string.h>

#include "input/framing_export.h"

/* RFC 6587: MSG-LEN = NONZERO-DIGIT 0*9DIGIT fits 10 digits; longer is junk. */
#define MSGLEN_MAX_DIGITS 10

void sl_framer_init(struct sl_framer *f, size_t max_message)
{
    sl_framer_init_as(f, SL_FRAMING_SYSLOG, max_message);
}

void sl_framer_init_as(struct sl_framer *f, enum sl_framing framing, size_t max_message)
{
    /* A zero limit could never deliver a byte; one byte still makes progress.
     * A message's length is a uint32_t (msg.h), which also keeps max + 2 and
     * the caller's max + SL_FRAMER_HEADROOM from overflowing. */
    if (max_message == 0)
        max_message = 1;
    if (max_message > UINT32_MAX)
        max_message = UINT32_MAX;
    *f = (struct sl_framer){.framing = framing, .max_message = max_message};
}

static ssize_t found(const char *p, size_t n, unsigned flags, size_t used,
                     const char **frame, size_t *frame_len, unsigned *fflags)
{
    *frame = p;
    *frame_len = n;
    *fflags = flags;
    return (ssize_t)used;
}

/* {=== discarding the tail of an oversized frame */
static ssize_t skip_counted(struct sl_framer *f, size_t len)
{
    size_t n = f->skip < len ? (size_t)f->skip : len;
    f->skip -= n;
    return (ssize_t)n;
}

static ssize_t skip_line(struct sl_framer *f, const char *buf, size_t len)
{
    const char *lf = memchr(buf, '\n', len);
    if (lf == NULL)
        return (ssize_t)len;
    f->skip_to_lf = false;
    return lf - buf + 1;
}
/* }=== */

/* {=== octet counting: MSGLEN SP MSG */
static ssize_t octet_counted(struct sl_framer *f, const char *buf, size_t len, bool eof,
                             const char **frame, size_t *frame_len, unsigned *flags)
{
    uint64_t msglen = 0;
    size_t i = 0;
    while (i < len && buf[i] >= '0' && buf[i] <= '9') {
        if (i == MSGLEN_MAX_DIGITS)
            return -EPROTO;
        msglen = msglen * 10 + (uint64_t)(buf[i] - '0');
        i++;
    }
    if (i == len)
        return eof ? -EPROTO : 0; /* the header is cut by the end of the stream */
    if (buf[i] != ' ')
        return -EPROTO;

    size_t hdr = i + 1;
    bool cut = msglen > f->max_message;
    size_t take = cut ? f->max_message : (size_t)msglen;
    if (len - hdr < take)
        return eof ? -EPROTO : 0; /* the MSG is cut by the end of the stream */
    if (cut)
        f->skip = msglen - take;
    return found(buf + hdr, take, cut ? SL_FRAME_TRUNCATED : 0, hdr + take,
                 frame, frame_len, flags);
}
/* }=== */

/* {=== non-transparent framing: MSG LF, a CR before the LF dropped */
static ssize_t lf_framed(struct sl_framer *f, const char *buf, size_t len, bool eof,
                         const char **frame, size_t *frame_len, unsigned *flags)
{
    size_t max = f->max_message;
    /* max + 2 bytes decide: a frame of exactly max bytes may end in CR LF. */
    size_t window = len < max + 2 ? len : max + 2;
    const char *lf = memchr(buf, '\n', window);
    if (lf != NULL) {
        size_t used = (size_t)(lf - buf) + 1;
        size_t n = used - 1;
        if (n > 0 && buf[n - 1] == '\r')
            n--;
        if (n == 0)
            return (ssize_t)used; /* an empty frame: nothing to deliver */
        if (n > max)
            return found(buf, max, SL_FRAME_TRUNCATED, used, frame, frame_len, flags);
        return found(buf, n, 0, used, frame, frame_len, flags);
    }
    if (window == max + 2) {
        /* No LF within reach: deliver the head, drop the rest up to the LF. */
        f->skip_to_lf = true;
        return found(buf, max, SL_FRAME_TRUNCATED, max, frame, frame_len, flags);
    }
    if (!eof)
        return 0;
    /* The last frame of the stream may lack its LF; it is still a frame. */
    if (len > max)
        return found(buf, max, SL_FRAME_TRUNCATED, len, frame, frame_len, flags);
    return found(buf, len, 0, len, frame, frame_len, flags);
}
/* }=== */

ssize_t sl_framer_next(struct sl_framer *f, const char *buf, size_t len, bool eof,
                       const char **frame, size_t *frame_len, unsigned *flags)
{
    *frame = NULL;
    *frame_len = 0;
    *flags = 0;
    if (f->framing == SL_FRAMING_EXPORT)
        return sl_framer_next_export(f, buf, len, eof, frame, frame_len, flags);
    if (len == 0)
        return 0; /* with eof, a frame still being skipped simply ends here */
    if (f->skip > 0)
        return skip_counted(f, len);
    if (f->skip_to_lf)
        return skip_line(f, buf, len);
    if (buf[0] >= '1' && buf[0] <= '9')
        return octet_counted(f, buf, len, eof, frame, frame_len, flags);
    return lf_framed(f, buf, len, eof, frame, frame_len, flags);
}
