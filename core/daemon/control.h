/* SPDX-License-Identifier: MIT */
/*
 * control.h: the control socket sluicectl talks to.
 *
 * A unix stream socket (mode 0600). A client sends one line, a command
 * name ("stats", "status", "counters", "reload", "reopen", "flush"), and
 * reads the answer until the daemon closes: the stats JSON, lines, "ok",
 * or "error: ..." lines.
 *
 * The commands come from the daemon as a table (as nginx's command
 * tables), so this file knows nothing of the daemon. A command answers at
 * once, or hands back a fanout (output/fanout.h) to wait for: the client's
 * answer is then sent when every output has answered or the fanout's
 * deadline has passed, and meanwhile the main loop goes on serving other
 * clients and signals.
 *
 * Thread: main.
 */
#ifndef SL_CONTROL_H
#define SL_CONTROL_H

#include <stddef.h>

#include "output/fanout.h"
#include "sluice-plugin.h"

struct sl_control;

/* Runs a command with the daemon's ctx. Either appends the whole answer
 * (ending in a newline) to *answer, or sets *wait to a fanout whose tickets
 * answer on efd (the control's own eventfd, open until sl_control_close);
 * the control then owns the fanout. Returns 0, or a negative errno with
 * the error lines in *answer (or nothing, for a generic one). */
typedef int (*sl_control_fn)(void *ctx, struct sluice_buf *answer, struct sl_fanout **wait,
                             int efd);

struct sl_control_cmd {
    const char *name;
    sl_control_fn run;
    /* When a client asks (not a signal's sl_control_run), the control logs
     * "NAME requested on the control socket, LOG" first; NULL: nothing (a
     * command that changes nothing). */
    const char *log;
};

/* Binds path (removing a stale socket, creating the parent directory) and
 * serves cmds[0..ncmds) (borrowed: static, or outliving the control) with
 * ctx. Returns 0, or a negative errno with a reason in err. */
int sl_control_open(struct sl_control **out, const char *path, const struct sl_control_cmd *cmds,
                    size_t ncmds, void *ctx, char *err, size_t errlen);

/* An fd for the main loop's poll: readable when a client connects or an
 * output answered a request. */
int sl_control_fd(const struct sl_control *c);

/* How long the main loop may sleep before it must call sl_control_serve()
 * for a deadline (ms), or -1 for as long as it likes. */
int sl_control_timeout(const struct sl_control *c);

/* Serves what is ready: new clients, the bytes of their requests, the
 * answers their sockets take, answers that are complete, deadlines that
 * have passed (a client has a second to send its line, ten to read its
 * answer; at most 64 are connected). Never blocks: not on a client, not
 * on an output. */
void sl_control_serve(struct sl_control *c);

/* Runs command name for the daemon itself (a signal): nobody reads the
 * answer, so an error answer is logged, naming `why` ("SIGUSR1"). */
void sl_control_run(struct sl_control *c, const char *name, const char *why);

/* Stops taking clients and removes the socket; what waits for outputs
 * still gets its answer, in sl_control_close(). */
void sl_control_stop(struct sl_control *c);

/* Answers what still waits and frees everything. Call it after the
 * outputs are closed: a fanout waits until every output has answered (and
 * closing one answers). NULL is a no-op. */
void sl_control_close(struct sl_control *c);

#endif /* SL_CONTROL_H */
