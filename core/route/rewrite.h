/* SPDX-License-Identifier: MIT */
/*
 * rewrite.h: copy-on-write rewrites of a message, for route transforms.
 *
 * A message is immutable once parsed and is shared by every output that
 * takes it. A transform that changes a field therefore never touches it: it
 * makes a new heap message that points at the original's bytes for the
 * fields it did not change (holding a reference on the original, in
 * m->base) and owns copies of the ones it did. Outputs of other routes keep
 * seeing the message as received.
 *
 * The rewrite's raw text is rendered again from its fields in the
 * original's own syntax (RFC 5424 stays RFC 5424, RFC 3164 stays RFC 3164,
 * an unparsed message becomes its new msg), and SL_MSG_REWRITTEN is set, so
 * an output writing "raw" writes what the transform made of it: a redacted
 * password must not survive in any format.
 *
 * Thread: any.
 */
#ifndef SL_REWRITE_H
#define SL_REWRITE_H

#include <stddef.h>

#include "common/msg.h"

enum sl_edit_set {
    SL_EDIT_MSG = 1 << 0,
    SL_EDIT_APP_NAME = 1 << 1,
    SL_EDIT_HOSTNAME = 1 << 2,
    SL_EDIT_MSGID = 1 << 3,
    SL_EDIT_SEVERITY = 1 << 4,
    SL_EDIT_FACILITY = 1 << 5,
    SL_EDIT_FIELDS = 1 << 6
};

/* What a transform changed. Only the members whose bit is in `set` are
 * read. A text member with p == NULL sets the field to NIL. The caller owns
 * every byte referred to; sl_msg_rewrite() copies what it keeps. */
struct sl_msg_edit {
    unsigned set; /* enum sl_edit_set */
    struct sl_str msg, app_name, hostname, msgid;
    uint8_t severity; /* 0..7 */
    uint8_t facility; /* 0..23 */
    /* SL_EDIT_FIELDS: the message's complete new set of extra fields, keys
     * unique, in the order outputs should show them. */
    const struct sl_field *fields;
    size_t nfields;
};

/* The longest field values a rewrite accepts (RFC 5424 section 6 for
 * app_name, hostname and msgid, which must also be printable US-ASCII
 * without spaces, and not empty: NIL is p == NULL); sl_msg_edit_check()
 * enforces them. An extra field's key is 1..SL_REWRITE_MAX_FIELD_KEY
 * letters, digits, '_', '-' or '.' (so {fields.KEY} in a template and a
 * JSON key need no quoting); its value is any bytes, p == NULL meaning "". */
#define SL_REWRITE_MAX_HOSTNAME 255
#define SL_REWRITE_MAX_APP_NAME 48
#define SL_REWRITE_MAX_MSGID 32
/* The same limits as fields an input gives a message (msg.h). */
#define SL_REWRITE_MAX_FIELDS SL_MSG_MAX_FIELDS
#define SL_REWRITE_MAX_FIELD_KEY SL_MSG_MAX_FIELD_KEY

/* Checks an edit before it is applied: 0, or -EINVAL with a reason in err
 * ("app_name: 49 bytes, at most 48", "hostname: byte 0x20 at offset 3 is not
 * printable US-ASCII without spaces", "fields: key 'a b' ..."). */
int sl_msg_edit_check(const struct sl_msg_edit *e, char *err, size_t errlen);

/* A new message (one reference, the caller's) with e applied to orig, or
 * NULL when out of memory (one malloc; sl_msg_unref() frees it). orig is not changed; the rewrite takes a
 * reference on it (or on orig->base, when orig is itself a rewrite, so
 * chains never grow). e must have passed sl_msg_edit_check(). */
struct sl_msg *sl_msg_rewrite(struct sl_msg *orig, const struct sl_msg_edit *e);

#endif /* SL_REWRITE_H */
