/*
 * input_dgram.h: reading datagram sockets (unix and udp) in batches with
 * recvmmsg(), shared by input_unix.c and input_udp.c.
 */
#ifndef SL_INPUT_DGRAM_H
#define SL_INPUT_DGRAM_H

#include <sys/socket.h>

#include "input/input.h"

struct sl_dgram;

/* Takes fd (bound, non-blocking) and watches it. with_peer: record the
 * sender's address (udp); otherwise the kernel's credentials (unix). */
int sl_dgram_new(struct sl_input *in, int fd, bool with_peer, struct sl_dgram **out);
void sl_dgram_free(struct sl_input *in, struct sl_dgram *d); /* closes fd */

void sl_dgram_event(struct sl_input *in, void *tag, uint32_t events);
void sl_dgram_resume(struct sl_input *in);
void sl_dgram_drain(struct sl_input *in);
bool sl_dgram_unpark(struct sl_input *in);

#endif /* SL_INPUT_DGRAM_H */
