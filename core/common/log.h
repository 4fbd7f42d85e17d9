/* SPDX-License-Identifier: MIT */
/*
 * log.h: the daemon's own log.
 *
 * Lines go to stderr as "2026-11-22T10:00:00.123Z sluiced[pid]: LEVEL: text",
 * written with one write() so threads do not interleave. The daemon's log is
 * never routed through an output queue, which could be the thing that is
 * stuck. Messages name the call, the argument and the error, as nginx does:
 *   bind() "127.0.0.1:5514" failed (98: Address already in use)
 *
 * The text is the daemon's, but it often carries a sender's bytes (a peer
 * name, a Lua error raised from message data): every control byte in it is
 * written as '#' and three octal digits ("#012" for a newline, "#033" for
 * ESC), as rsyslog escapes them, so no line can be forged or a terminal
 * driven through the log.
 *
 * Thread: any.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum sl_log_level {
    SL_LOG_ERR = 3,
    SL_LOG_WARNING = 4,
    SL_LOG_NOTICE = 5,
    SL_LOG_INFO = 6,
    SL_LOG_DEBUG = 7
};

/* Logs at `level`; when errnum is not 0, appends " (errnum: strerror)". */
void sl_log(int level, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sl_vlog(int level, int errnum, const char *fmt, va_list ap);

/* Lines above this level are not written. Default SL_LOG_INFO. */
void sl_log_set_level(int level);
/* True when a line at level would be written. */
bool sl_log_enabled(int level);

/* A limit of `burst` lines per `interval` seconds for one source of lines a
 * hostile sender could trigger. Zero-initialise, then set the two limits. */
struct sl_ratelimit {
    unsigned interval;
    unsigned burst;
    _Atomic int64_t window_start;
    atomic_uint count;
    atomic_uint suppressed;
};

/* True when a line may be written now. When a new window opens after lines
 * were suppressed, logs how many were. */
bool sl_ratelimit_ok(struct sl_ratelimit *rl);

#endif /* SL_LOG_H */
