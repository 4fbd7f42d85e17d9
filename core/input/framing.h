/* SPDX-License-Identifier: MIT */
/*
 * framing.h: finding frames in a byte stream (TCP, unix stream), in one of
 * two framings (enum sl_framing): RFC 6587 for syslog, below, or the
 * journal export format (further down).
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

enum sl_framing {
    SL_FRAMING_SYSLOG = 0, /* RFC 6587, octet-counted or LF, frame by frame */
    SL_FRAMING_EXPORT      /* the journal export format: an entry ends at an empty line */
};

enum sl_frame_flags {
    SL_FRAME_TRUNCATED = 1 << 0, /* the frame was longer than max_message */
    /* export: the bytes consumed began an entry longer than max_message,
     * which is discarded whole (no frame) as it goes on; once per entry */
    SL_FRAME_TOO_LARGE = 1 << 1
};

/* Where the export framer stopped in the entry at the start of the buffer
 * (framing_export.c); all zeros at an entry boundary. */
struct sl_export_scan {
    size_t pos;     /* bytes of the pending entry scanned so far */
    uint64_t left;  /* a binary value's length, then its bytes still to pass */
    uint8_t state;  /* framing_export.c's enum scan_state */
    uint8_t nlen;   /* bytes of a binary value's 8-byte length read */
    bool eq;        /* the line being scanned has an '=' */
    bool skipping;  /* the entry is over max_message: discarding it */
};

struct sl_framer {
    enum sl_framing framing;
    size_t max_message;
    uint64_t skip;     /* bytes of an oversized octet-counted frame still to discard */
    bool skip_to_lf;   /* discarding the rest of an oversized LF frame */
    struct sl_export_scan ex; /* SL_FRAMING_EXPORT */
};

/* A framer for RFC 6587 (sl_framer_init) or for framing. */
void sl_framer_init(struct sl_framer *f, size_t max_message);
void sl_framer_init_as(struct sl_framer *f, enum sl_framing framing, size_t max_message);

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

/*
 * The journal export format (https://systemd.io/JOURNAL_EXPORT_FORMATS/):
 * an entry is fields, each "KEY=VALUE\n" or "KEY\n" + a 64-bit
 * little-endian length + that many bytes + "\n", and ends at an empty
 * line. The framer walks the fields, so an empty line inside a binary
 * value ends nothing; the frame it returns is the entry without its empty
 * line (every field's "\n" kept), for an entry parser (parse_export.h) to
 * read. sl_framer_next's contract holds, with these cases:
 *   - empty lines between entries are consumed, no frame;
 *   - an entry longer than max_message is discarded as it comes, to its
 *     empty line, even across reads: the first bytes consumed of it come
 *     with SL_FRAME_TOO_LARGE (once per entry), the rest with no flag;
 *   - a binary value not followed by "\n", or longer than
 *     SL_EXPORT_DATA_MAX, means the framer lost the fields' structure: it
 *     reads on line by line to the next empty line and returns that as the
 *     frame, for the parser to refuse (what follows arrives whole);
 *   - with eof, what is pending (an entry without its empty line, or cut
 *     inside a field) is returned as a frame: the parser keeps a whole
 *     last entry and refuses a cut one;
 *   - -EPROTO never: the stream resynchronises at every empty line.
 * The framer remembers how far it scanned the entry at the start of buf,
 * so a long entry costs one pass however it was cut into reads: call it
 * again with the bytes it did not consume still at the start of buf (what
 * the caller's buffer does anyway).
 */
/* journald's own bound on a field (DATA_SIZE_MAX in journal-importer.h):
 * a longer binary length is junk, not a value to skip over. */
#define SL_EXPORT_DATA_MAX (768ull << 20)

#endif /* SL_FRAMING_H */
