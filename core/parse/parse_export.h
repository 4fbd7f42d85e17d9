/* SPDX-License-Identifier: MIT */
/*
 * parse_export.h: one entry of the systemd journal export format
 * (https://systemd.io/JOURNAL_EXPORT_FORMATS/), as the export framer
 * (input/framing.h) cuts it out of a stream: fields "KEY=VALUE\n", or
 * binary "KEY\n" + a 64-bit little-endian length + that many bytes + "\n",
 * the same encoding as the native protocol's (parse_native.h), without the
 * empty line that ends the entry. A pure parser: bytes in the builder's
 * message, fields out, no I/O. Thread: the builder's.
 */
#ifndef SL_PARSE_EXPORT_H
#define SL_PARSE_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/msg.h"

/* What an entry had that was not kept, for the kind's counters. */
struct sl_export_counts {
    uint32_t dropped; /* fields past SL_MSG_MAX_FIELDS (or refused by the builder) */
};

/* Parses b->m->raw as one export entry into b's fields, under msg.h's
 * parser-hook contract. Every field is kept as an extra field, the
 * journal's own included: the trusted "_" fields (_PID, _HOSTNAME, ...)
 * and the "__" metadata (__CURSOR, __REALTIME_TIMESTAMP, __SEQNUM, ...),
 * as they came; the first SL_MSG_MAX_FIELDS of them, the rest skipped and
 * counted (dropped). Header fields as the native parser maps them
 * (MESSAGE, PRIORITY, SYSLOG_FACILITY, SYSLOG_IDENTIFIER, SYSLOG_PID,
 * SYSLOG_TIMESTAMP), and:
 *   __REALTIME_TIMESTAMP (microseconds since the epoch)  m->ts
 *   _HOSTNAME                                            m->hostname
 *   _PID, _UID, _GID, with trusted only, all three valid m->pid, uid, gid
 *                                                        and SL_MSG_HAS_CRED
 * The first value of a key given twice counts. The "_" fields say what the
 * journal that wrote the entry recorded, and are only as true as whoever
 * sends the stream: trusted says that sender is believed. c may be NULL.
 * 0, or -EBADMSG for a malformed entry (a bad key, a binary length past
 * the end, a missing '\n', no field at all): the caller then aborts the
 * build, so the entry is dropped whole. */
int sl_parse_export(struct sl_msg_builder *b, bool trusted, struct sl_export_counts *c);

#endif /* SL_PARSE_EXPORT_H */
