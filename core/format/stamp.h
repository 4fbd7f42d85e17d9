/* SPDX-License-Identifier: MIT */
/*
 * stamp.h: the time stamps formats write: RFC 3339 ("2026-11-22T10:00:00.123456+01:00",
 * as RFC 5424 and json write it) and RFC 3164 ("Nov 22 10:00:00", local time).
 *
 * A cache keeps the text of the last second written, so consecutive
 * messages from the same second pay a 19-byte memcpy for it.
 *
 * Thread: a cache is used by one thread at a time; sl_time_rfc3339()
 * (format.h) uses none and may run on any thread.
 */
#ifndef SL_FORMAT_STAMP_H
#define SL_FORMAT_STAMP_H

#include <stdint.h>

#include "common/msg.h"

#define TIME_MAX_LEN 40 /* sl_time_rfc3339's bound */

/* The text of the last second written. mode 0 means empty: a zeroed
 * cache is ready to use. */
struct sl_stamp_cache {
    int64_t sec;
    int16_t tzoff;
    uint8_t mode;
    uint8_t sfxlen;
    char text[20]; /* "YYYY-MM-DDThh:mm:ss", or "Mmm dd hh:mm:ss" */
    char sfx[8];   /* "Z" or "+hh:mm" */
};

/* A format's caches: one per stamp it may write in a line. */
struct sl_stamps {
    struct sl_stamp_cache ts, rcv, bsd;
};

/* Writes t as RFC 3339 at w through c, with the fractional digits and
 * offset it was given (the local offset when it has none): at most
 * TIME_MAX_LEN bytes. Returns the advanced cursor. */
char *sl_stamp_rfc3339(struct sl_stamp_cache *c, const struct sl_time *t, char *w);

/* Writes t as "Mmm dd hh:mm:ss", as RFC 3164 and rsyslog write it: in the
 * offset it was sent with, or in local time when it has none (rsyslog's
 * date-rfc3164). 15 bytes. Returns the advanced cursor. */
char *sl_stamp_bsd(struct sl_stamp_cache *c, const struct sl_time *t, char *w);

#endif /* SL_FORMAT_STAMP_H */
