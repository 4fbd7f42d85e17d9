/*
 * framing.h: RFC 6587 framing of a syslog byte stream (TCP, unix stream).
 *
 * Detected per frame: a frame that starts with a digit 1-9 is octet-counted
 * ("MSGLEN SP MSG"); anything else is non-transparent, ended by LF (a CR
 * before the LF is dropped too). Frames longer than max_message are cut to
 * max_message bytes, flagged, and the rest of them skipped, even across
 * reads: an oversized frame never stalls or kills the connection.
 *
 * The framer holds no bytes: the caller keeps a buffer, feeds what it has,
 * drops what was consumed and keeps the rest for the next read. A buffer of
 * max_message + SL_FRAMER_HEADROOM bytes is always enough to make progress.
 *
 * Thread: one framer per connection, used by one thread.
 */
#ifndef SL_FRAMING_H
#define SL_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Room for the longest MSGLEN and its SP on top of max_message. */
#define SL_FRAMER_HEADROOM 16

enum sl_frame_flags {
    SL_FRAME_TRUNCATED = 1 << 0 /* the frame was longer than max_message */
};

struct sl_framer {
    size_t max_message;
    uint64_t skip;     /* bytes of an oversized octet-counted frame still to discard */
    bool skip_to_lf;   /* discarding the rest of an oversized LF frame */
};

void sl_framer_init(struct sl_framer *f, size_t max_message);

/*
 * Looks for the next frame at the start of buf[0..len).
 *   > 0: that many bytes were consumed. If *frame is not NULL, they held one
 *        frame: (*frame, *frame_len) points into buf, *flags says whether it
 *        was cut. If *frame is NULL, the bytes were discarded (the tail of an
 *        oversized frame, or an empty LF frame).
 *   0:   more bytes are needed. With eof, a final LF frame without its LF is
 *        returned as a frame instead, so 0 with eof means nothing is left.
 *   -EPROTO: the octet count is malformed (a MSGLEN not followed by SP, or
 *        longer than 10 digits), or, with eof, the stream ends inside an
 *        octet-counted frame. The stream cannot be resynchronised: the
 *        caller counts the error and closes the connection.
 */
ssize_t sl_framer_next(struct sl_framer *f, const char *buf, size_t len, bool eof,
                       const char **frame, size_t *frame_len, unsigned *flags);

#endif /* SL_FRAMING_H */
