/* SPDX-License-Identifier: MIT */
/*
 * parse_native.h: the systemd journal's native protocol, one entry per
 * datagram (or memfd): fields "KEY=VALUE\n", or binary "KEY\n" + a 64-bit
 * little-endian length + that many bytes + "\n". A pure parser: bytes in
 * the builder's message, fields out, no I/O. Thread: the builder's.
 */
#ifndef SL_PARSE_NATIVE_H
#define SL_PARSE_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/msg.h"

/* The most fields an entry may have; past it the entry is malformed and
 * dropped whole (journald's ENTRY_FIELD_COUNT_MAX: it ignores the entry).
 * Between SL_MSG_MAX_FIELDS and this, the first fields are kept and the
 * rest counted (dropped). */
#define SL_NATIVE_MAX_FIELDS 1024

/* What an entry had that was not kept, for the kind's counters. */
struct sl_native_counts {
    uint32_t forged;  /* keys starting with '_': only the daemon sets those */
    uint32_t dropped; /* fields past SL_MSG_MAX_FIELDS (or refused by the builder) */
};

/* True when key[0..len) is a journal field name: [A-Z0-9_], 1..64 bytes,
 * not starting with a digit (journald's journal_field_valid()). Thread: any. */
bool sl_native_key_ok(const char *key, size_t len);

/* Parses b->m->raw as one journal entry into b's fields, under msg.h's
 * parser-hook contract, and maps MESSAGE, PRIORITY, SYSLOG_FACILITY,
 * SYSLOG_IDENTIFIER, SYSLOG_PID and SYSLOG_TIMESTAMP to the header fields
 * (every field, mapped or not, is also an extra field). Keys starting with
 * '_' are skipped and counted (forged); fields past SL_MSG_MAX_FIELDS are
 * skipped and counted (dropped): the first ones are kept. c may be NULL.
 * 0, or -EBADMSG for a malformed entry (bad key, truncated length, length
 * past the end, missing '\n', no field at all, more than
 * SL_NATIVE_MAX_FIELDS fields): the caller then aborts the
 * build, so the entry is dropped whole. */
int sl_parse_native(struct sl_msg_builder *b, struct sl_native_counts *c);

/* {=== the pieces, shared with the export format's parser (parse_export.h),
 * whose fields are encoded alike. Thread: the builder's. */
/* One field of the entry p[0..len) at offset *at: the key at p + *k,
 * *klen bytes, and the value at p + *v, *vlen bytes, and *at moves past
 * it. 0, or -EBADMSG when malformed (a bad key, a binary length past the
 * end, a missing '\n'). Offsets, not pointers, so they outlive a move of
 * the message (msg.h). */
int sl_native_next_field(const char *p, size_t len, size_t *at, size_t *k, size_t *klen,
                         size_t *v, size_t *vlen);
/* Maps a field to the header field it names (MESSAGE, PRIORITY,
 * SYSLOG_FACILITY, SYSLOG_IDENTIFIER, SYSLOG_PID, SYSLOG_TIMESTAMP); the
 * first value wins. Others change nothing. The value stays a span of m. */
void sl_native_map_field(struct sl_msg *m, const char *k, size_t klen, const char *v,
                         size_t vlen);
/* An entry's header fields before its first field (user.info, no msg),
 * and after its last (an empty msg without MESSAGE). */
void sl_native_entry_begin(struct sl_msg *m);
void sl_native_entry_end(struct sl_msg *m);
/* }=== */

#endif /* SL_PARSE_NATIVE_H */
