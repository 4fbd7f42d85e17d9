/* SPDX-License-Identifier: MIT */
/*
 * format.h: turning a message into one line of output.
 *
 * Formats: "raw" (the bytes received), "rsyslog" (what Debian's rsyslog
 * writes by default, RSYSLOG_FileFormat: "2026-11-22T10:00:00.123456+01:00
 * host tag[pid]: msg"), "rfc3164" (the traditional file format
 * "Mmm dd hh:mm:ss host tag[pid]: msg", RSYSLOG_TraditionalFileFormat; both
 * byte for byte as rsyslog, tests/integration/test_rsyslog_bytes.py),
 * "rfc5424" (the message re-serialised per RFC 5424 section 6, its extra
 * fields as one more SD element, "fields@32473"), "json" (one object, keys
 * as in sluice.lua(5); a last key "fields" holds the extra fields its input
 * or a transform gave it, when there are any, a binary value as
 * {"base64":"..."}), or a template: any text with {field} placeholders,
 * {fields.KEY} for an extra field, {tag} for rsyslog's %syslogtag%, "{{"
 * and "}}" for literal braces. Extra fields appear only in json, rfc5424
 * and templates.
 *
 * Every format writes exactly one line ending in '\n'. In the text formats,
 * control bytes in message fields are written as rsyslog does ("#012" for
 * LF, octal), so a message can never split into two lines; TAB is kept but in
 * "rsyslog" and "rfc3164", as rsyslog escapes it on reception by default. JSON
 * strings are always valid JSON and valid UTF-8: invalid UTF-8 bytes become
 * the text \\xNN, control bytes \uXXXX escapes.
 *
 * Thread: a format object is used by one thread at a time (it caches the last
 * formatted second).
 */
#ifndef SL_FORMAT_H
#define SL_FORMAT_H

#include <stddef.h>

#include "common/msg.h"
#include "sluice-plugin.h"

struct sl_format;

/* Compiles `spec`. On failure returns -EINVAL with a reason in err, e.g.
 * "unknown field {hostnme} in template". */
int sl_format_new(const char *spec, struct sl_format **out, char *err, size_t errlen);
void sl_format_free(struct sl_format *f); /* NULL is a no-op */

/* Appends one line for m to buf, growing it. 0 or -ENOMEM. */
int sl_format_append(struct sl_format *f, const struct sl_msg *m, struct sluice_buf *buf);

/* Field names as used in templates, matches and Lua: "pri", "facility",
 * "severity", "version", "timestamp", "received", "hostname", "app_name",
 * "procid", "msgid", "sd", "msg", "raw", "input", "peer", "pid", "uid",
 * "gid". Returns the enum sluice_field or -1. */
int sl_field_from_name(const char *name, size_t len);

/* Buffer helpers shared with plugins through the host table. */
int sl_buf_reserve(struct sluice_buf *b, size_t more);
int sl_buf_append(struct sluice_buf *b, const void *data, size_t len);

/* RFC 3339 text of t ("2026-11-22T10:00:00.123456+01:00"), with the
 * fractional digits and offset it was given; an RFC 3164 time gets the local
 * offset. Writes at most 40 bytes plus NUL into out; returns the length. */
size_t sl_time_rfc3339(const struct sl_time *t, char *out);

/* For rewrite.c: the text of m in its own syntax, as a rewrite's raw. An
 * RFC 5424 message is written as the "rfc5424" format writes it but for
 * the extra fields' SD element (fields are no part of its syntax), any other
 * as "<PRI>" followed by the "rfc3164" format's line; no newline, control
 * bytes escaped as in the text formats. sl_format_origin_len() is the exact
 * length that sl_format_origin() writes into out (no NUL is added). */
size_t sl_format_origin_len(const struct sl_msg *m);
size_t sl_format_origin(const struct sl_msg *m, char *out);

#endif /* SL_FORMAT_H */
