/* SPDX-License-Identifier: MIT */
/*
 * fanout.h: one request (reopen or flush) to many outputs at once.
 *
 * The request goes to every sink before any answer is awaited, so the
 * workers do it in parallel and the whole takes about as long as the
 * slowest output, not the sum. Nothing here blocks: the owner watches the
 * eventfd it gave (each answer writes to it) and asks sl_fanout_done()
 * when it fires, and sl_fanout_expired() when its deadline passes.
 *
 * Thread: the owner's (the daemon's main thread); the sinks' workers write
 * only the tickets, as sink.h says.
 */
#ifndef SL_FANOUT_H
#define SL_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output/sink.h"
#include "sluice-plugin.h"
#include "common/clock.h"

struct sl_fanout;

/* Sends op to sinks[0..n) (borrowed for this call only: the fanout keeps
 * their names, and each sink borrows its ticket until it answers). efd is
 * borrowed and must stay open until every one of these sinks has answered
 * or closed (sink.h). timeout_ms is how long sl_fanout_answer() waits
 * before it calls an output late. 0, or -ENOMEM with nothing sent. */
int sl_fanout_new(struct sl_fanout **out, struct sl_sink *const *sinks, size_t n,
                  enum sl_sink_op op, int efd, int timeout_ms);

/* True once every sink has answered. */
bool sl_fanout_done(const struct sl_fanout *f);

/* The deadline (sl_now_ms() time), and whether it has passed. */
int64_t sl_fanout_deadline(const struct sl_fanout *f);
bool sl_fanout_expired(const struct sl_fanout *f, int64_t now_ms);

/* Appends the answer for a control client to b: "ok\n", or one line
 * "error: output \"NAME\": reopen() failed" (or "... did not reopen within
 * 10 s", "... closed before it reopened") per output that did not answer
 * 0. Returns 0 when every output answered 0, -EIO otherwise, or -ENOMEM. */
int sl_fanout_answer(const struct sl_fanout *f, struct sluice_buf *b);

/* Frees f; only once sl_fanout_done(), since the sinks borrow its tickets
 * until then. NULL is a no-op. */
void sl_fanout_free(struct sl_fanout *f);

#endif /* SL_FANOUT_H */
