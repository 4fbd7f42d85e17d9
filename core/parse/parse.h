/* SPDX-License-Identifier: MIT */
/*
 * parse.h: RFC 5424 and RFC 3164 parsers, run once per message, in place.
 *
 * Parsers read m->raw and set the other fields of m to spans inside it (or to
 * ctx strings, for a filled-in hostname). They never allocate and never write
 * to the raw bytes. Thread: any (they touch only m and read ctx).
 */
#ifndef SL_PARSE_H
#define SL_PARSE_H

#include <stdbool.h>
#include <time.h>

#include "common/msg.h"

struct sl_parse_ctx {
    /* Filled into hostname when an RFC 3164 message has none (the local
     * hostname for unix sockets, the peer address for the network).
     * Borrowed: must outlive every message parsed with it. */
    struct sl_str hostname;
    /* "Now" and the local UTC offset, for RFC 3164's year-less timestamps:
     * the year is the one that puts the time nearest to now (a December
     * message read in January belongs to last year). */
    time_t now;
    int tzoff_min;
};

/* RFC 5424, strictly (section 6). Returns 0, or -EINVAL when the message is
 * not RFC 5424; then m's fields are unspecified. */
int sl_parse_rfc5424(struct sl_msg *m);

/* RFC 3164 as real senders write it: "<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG",
 * with HOST optional (glibc syslog(3) omits it), TAG optional, an RFC 3339
 * timestamp accepted in place of the BSD one, and a missing timestamp
 * tolerated (received time used). Returns 0, or -EINVAL without a valid PRI. */
int sl_parse_rfc3164(struct sl_msg *m, const struct sl_parse_ctx *ctx);

/* Auto-detects per message ("<PRI>1 " is RFC 5424, else RFC 3164). Never
 * fails: a message that is neither gets msg = the whole raw text, facility
 * user, severity notice, format SL_FMT_UNPARSED and SL_MSG_PARSE_ERROR; the
 * caller counts it. Returns 0 when parsed, -EINVAL when it fell back. */
int sl_parse(struct sl_msg *m, const struct sl_parse_ctx *ctx);

/* {=== STRUCTURED-DATA: walking a validated SD text (m->sd of an RFC 5424
 * message). No allocation; values come with their escapes in place. */
struct sl_sd_iter {
    const char *p, *end;
};

void sl_sd_iter_init(struct sl_sd_iter *it, struct sl_str sd);
/* Moves to the next SD-ELEMENT and returns its SD-ID; false at the end. */
bool sl_sd_next_element(struct sl_sd_iter *it, struct sl_str *id);
/* Next SD-PARAM of the current element: name and value as sent (escapes
 * \" \\ \] still in place); false at the element's end. */
bool sl_sd_next_param(struct sl_sd_iter *it, struct sl_str *name, struct sl_str *value);
/* Copies value into out (which holds value.len bytes) without the backslash
 * of \" \\ \]; any other backslash is kept, as RFC 5424 6.3.3 says.
 * Returns the length written. */
size_t sl_sd_unescape(struct sl_str value, char *out);
/* }=== */

/* Fills ctx->now and ctx->tzoff_min from the clock. */
void sl_parse_ctx_now(struct sl_parse_ctx *ctx);

/* {=== calendar helpers shared by the parsers (proleptic Gregorian, UTC) */
/* True when mon is 1..12 and day exists in that month of year y. */
bool sl_parse_valid_date(int y, int mon, int day);
/* Days from 1970-01-01 to y-mon-day (negative before). No timegm(): it is
 * not C11, and mktime() would read the local zone. */
int64_t sl_parse_days_from_civil(int64_t y, int mon, int day);
/* }=== */

#endif /* SL_PARSE_H */
