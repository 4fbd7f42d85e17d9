/* SPDX-License-Identifier: MIT */
/*
 * ratelimit.h: a budget per sender, for the datagram inputs whose messages
 * carry the kernel's credentials (SCM_CREDENTIALS: the unix input, where
 * every process of the machine shares /dev/log; a journal input later),
 * so that one program stuck in a loop cannot fill every queue:
 *
 *   input "devlog" { type = "unix", path = "/dev/log",
 *                    ratelimit = { interval = "30s", burst = 10000, per = "pid" } }
 *
 * A sender is the trusted pid (or, per = "uid", the trusted uid) of a
 * message with SL_MSG_HAS_CRED; every message without credentials is one
 * shared "unknown sender". Each sender may pass `burst` messages per
 * `interval` in each severity class, the classes journald keeps: emerg to
 * crit (0-2), err (3), warning (4), notice and info (5-6), debug (7); so a
 * debug flood never suppresses an error, its own or another program's.
 * A sender's window opens with its first message and ends `interval`
 * later; the next message after that opens the next one.
 *
 * Suppressed messages are the caller's to release and count. The limiter
 * writes one line per sender and window in which it suppressed something,
 * when that window ends (on the sender's next message, or at the sweep
 * the input thread runs about once a second, so a sender that stopped
 * gets its line too), as journald does:
 *
 *   input "devlog": suppressed 5123 messages from pid 4242 (myapp) in the last 30 s
 *
 * at most SL_RATELIMIT_LINES of them per interval, then one line for the
 * rest ("... and K more senders"): a fork loop makes a sender per pid, and
 * the lines about them must not become the flood.
 *
 * Memory is fixed when the limiter is made: a table of SL_RATELIMIT_SENDERS
 * senders (ratelimit.c says what happens when it is full). The clock is an
 * argument (milliseconds of sl_now_ms(), read once per batch by the
 * caller), so tests need not sleep.
 *
 * Thread: the thread that owns the limiter (an input's), for every
 * function; nothing here locks.
 */
#ifndef SL_INPUT_RATELIMIT_H
#define SL_INPUT_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/msg.h"
#include "conf/lua_config.h"

#define SL_RATELIMIT_SENDERS 4096 /* senders an input tracks at once */
#define SL_RATELIMIT_CLASSES 5
#define SL_RATELIMIT_LINES 20     /* summary lines per interval and input */
#define SL_RATELIMIT_NAME 32      /* bytes of a sender's app_name in its line */

/* Where the limiter's lines go: line is a NUL-terminated text, valid for
 * the call only. The daemon's is sl_log() at warning (input.c). */
typedef void sl_ratelimiter_report_fn(void *ctx, const char *line);

struct sl_ratelimiter;

/* Makes a limiter with c's settings (copied; c->interval_ms > 0) for the
 * input named input (copied, cut at 63 bytes), tracking at most senders
 * senders (1 to 65534; SL_RATELIMIT_SENDERS in the daemon), whose lines
 * go to report(ctx, line); ctx is borrowed and must outlive the limiter.
 * 0 or -ENOMEM (or -EINVAL for a bad argument); nothing is allocated
 * afterwards. */
int sl_ratelimiter_new(struct sl_ratelimiter **out, const struct sl_ratelimit_conf *c,
                       const char *input, size_t senders, sl_ratelimiter_report_fn *report,
                       void *ctx);
/* Frees it without a line for the windows in progress (their messages are
 * in the input's suppressed counter). NULL is a no-op. */
void sl_ratelimiter_free(struct sl_ratelimiter *rl);

/* Charges m (borrowed; parsed, so its severity is known) to its sender at
 * now_ms: true when it may pass, false when its sender's budget for its
 * class is spent (the caller drops it). now_ms never goes back. */
bool sl_ratelimiter_admit(struct sl_ratelimiter *rl, const struct sl_msg *m, int64_t now_ms);

/* Writes the lines of windows that ended by now_ms (and the "more senders"
 * line of a line window that ended). Cheap when nothing was suppressed. */
void sl_ratelimiter_sweep(struct sl_ratelimiter *rl, int64_t now_ms);

/* The senders in the table now (for tests: never more than it was made
 * with). */
size_t sl_ratelimiter_used(const struct sl_ratelimiter *rl);

/* The class of a severity: 0 for 0-2, 1 for 3, 2 for 4, 3 for 5-6, 4 for 7. */
unsigned sl_ratelimit_class(unsigned severity);

#endif /* SL_INPUT_RATELIMIT_H */
