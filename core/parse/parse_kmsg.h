/* SPDX-License-Identifier: MIT */
/*
 * parse_kmsg.h: one record of the kernel's log as /dev/kmsg gives it
 * (Documentation/ABI/testing/dev-kmsg in the kernel's tree):
 *
 *     PRI,SEQ,USEC,FLAGS[,MORE...];TEXT\n
 *      KEY=VALUE\n                        (the dictionary: SUBSYSTEM, DEVICE)
 *
 * PRI is facility * 8 + severity (facility 0, kern, for what the kernel
 * itself logs; what a program wrote to /dev/kmsg keeps its own, user by
 * default); SEQ the record's sequence number; USEC the time of the record
 * in microseconds since boot, on the kernel's local_clock(), which runs
 * with CLOCK_MONOTONIC and, like it, stops in suspend; FLAGS '-', or 'c' /
 * '+' for the fragments of a continued line that kernels before 4.9 kept
 * as records of their own. Kernel 3.5 wrote no FLAGS. The kernel writes
 * every byte of TEXT and of a VALUE below 0x20 or above 0x7e, and '\\',
 * as "\xNN", so a record is one line of printable text plus its
 * dictionary lines.
 *
 * A pure parser: bytes in the builder's message, fields out, no I/O, no
 * clock of its own (the caller says what boot was in wall time).
 * Thread: the builder's.
 */
#ifndef SL_PARSE_KMSG_H
#define SL_PARSE_KMSG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/msg.h"

struct sl_parse_ctx;

/* What the input tells the parser, and what the parser tells back about
 * the record it read. */
struct sl_kmsg_info {
    /* in: CLOCK_REALTIME - CLOCK_MONOTONIC in nanoseconds, read by the
     * input once per batch: USEC + this is the record's wall time. */
    int64_t boot_wall_ns;
    /* out, set on every return but -EBADMSG */
    uint64_t seq;      /* SEQ, for the input's count of missed records */
    uint32_t dropped;  /* dictionary lines not kept: bad, or past the limit */
};

/* Parses b->m->raw as one /dev/kmsg record (its final '\n' may be there or
 * not), under msg.h's parser-hook contract, so it is an
 * sl_msg_fields_parser itself with arg a struct sl_kmsg_info *:
 *  - pri, facility, severity from PRI (a facility past local7, which only a
 *    program writing to /dev/kmsg can give, becomes user: -EINVAL then, the
 *    message still delivered and counted a parse error);
 *  - msg = TEXT with its \xNN escapes undone (a span of raw when it has
 *    none, else bytes reserved in the message); raw stays as read;
 *  - ts = USEC + info->boot_wall_ns (SL_TIME_VALID, 6 digits, the local
 *    offset of ctx); hostname = ctx's; app_name "kernel", as rsyslog's
 *    imklog writes; format SL_FMT_UNPARSED;
 *  - extra fields, journald's names: _KERNEL_SEQNUM = SEQ,
 *    _SOURCE_MONOTONIC_TIMESTAMP = USEC, and _KERNEL_KEY = VALUE (unescaped)
 *    for each dictionary line (_KERNEL_SUBSYSTEM, _KERNEL_DEVICE); a line
 *    that is no " KEY=VALUE", a key no field may have, or one past
 *    SL_MSG_MAX_FIELDS is skipped and counted in info->dropped.
 * 0, -EINVAL (delivered, as above), -ENOMEM (an escaped text found no room:
 * delivered with msg as escaped), or -EBADMSG when the header is not
 * "PRI,SEQ,USEC[,...];" with decimal numbers: the caller drops the record
 * whole. ctx may be NULL (no hostname, offset 0). */
int sl_parse_kmsg(struct sl_msg_builder *b, const struct sl_parse_ctx *ctx, void *info);

#endif /* SL_PARSE_KMSG_H */
