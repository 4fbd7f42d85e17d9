/* SPDX-License-Identifier: MIT */
/*
 * input_unix.h: the unix datagram socket at conf->path (input_unix.c),
 * for the kinds that listen on one: unix (syslog) and native (the
 * journal's protocol), which differ only in how a datagram is read
 * (sl_dgram_set_reader).
 */
#ifndef SL_INPUT_UNIX_H
#define SL_INPUT_UNIX_H

#include "input/input_dgram.h"

/* Binds a unix datagram socket at in->conf->path with in->conf->mode
 * (made exactly, by no path lookup but bind()'s own), asks for the
 * sender's credentials on each datagram, fills in->address and watches it
 * through a new sl_dgram in *out (not yet in->impl: the caller sets it).
 * 0, or a negative errno with a reason in err (nothing left open, the
 * path removed). Main thread, from the kind's open. */
int sl_unix_dgram_open(struct sl_input *in, struct sl_dgram **out, char *err, size_t errlen);
/* The kind's drain: removes the path, shuts the socket for reading and
 * reads what the kernel holds (in->impl is the sl_dgram). */
void sl_unix_dgram_drain(struct sl_input *in);
/* The kind's close: frees in->impl (the sl_dgram) and closes the socket. */
void sl_unix_dgram_close(struct sl_input *in);

#endif /* SL_INPUT_UNIX_H */
