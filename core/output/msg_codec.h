/* SPDX-License-Identifier: MIT */
/*
 * msg_codec.h: a struct sl_msg as bytes and back, for the disk queue's
 * records (diskq.h). Every field is kept: the numbers, each text field
 * with NIL (p == NULL) distinct from empty, both times, the kernel's
 * credentials and the extra fields, so a message read back from disk is
 * written exactly as the one that was queued.
 *
 * Layout (little-endian), codec version 1:
 *   u8 codec version, u8 pri, facility, severity, version, format, flags, u8 0
 *   ts, received: i64 sec, i32 nsec, i16 tzoff_min, u8 frac_digits, u8 flags
 *   i32 pid, u32 uid, u32 gid, u32 nfields
 *   raw:   span (NIL or literal)
 *   timestamp hostname app_name procid msgid sd msg input peer: span each
 *   nfields x (key span, value span)
 * span: u8 kind; 0 NIL; 1 literal: u32 len, len bytes; 2 inside raw:
 * u32 offset, u32 len (len > 0). Parsed fields are spans of raw, so kind 2
 * stores them in 9 bytes instead of copying them; the form is canonical
 * (the decoder refuses an empty kind 2), so what decodes re-encodes to
 * the same bytes.
 */
#ifndef SL_MSG_CODEC_H
#define SL_MSG_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/msg.h"

#define SL_MSG_CODEC_VERSION 1

/* Thread: any. The bytes sl_msg_encode() writes for m (borrowed), or 0
 * when m cannot be encoded (a text field of 2 GiB or more: never made by
 * an input, which caps messages far below). */
size_t sl_msg_encoded_size(const struct sl_msg *m);

/* Thread: any. Writes m (borrowed) into buf[0..size), where size is what
 * sl_msg_encoded_size(m) returned (the caller's buffer; nothing kept).
 * A rewrite (m->base) is encoded as the self-contained message it is:
 * what it shares with its base is copied. */
void sl_msg_encode(const struct sl_msg *m, unsigned char *buf, size_t size);

/* Thread: any. Builds one heap message, in one allocation (as
 * sl_msg_copy_out() does), from p[0..n) (borrowed), which must be exactly
 * one encoded message. One reference, the caller's, in *out. -EINVAL for
 * anything inconsistent (a length past the end, bytes left over, an
 * unknown version or span kind, a field count past SL_MSG_MAX_FIELDS, a
 * key sl_msg_field_key_ok() refuses, a facility, severity, format or
 * nanosecond out of range), -ENOMEM; never reads outside p[0..n). */
int sl_msg_decode(const unsigned char *p, size_t n, struct sl_msg **out);

#endif /* SL_MSG_CODEC_H */
