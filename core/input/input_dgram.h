/*
 * input_dgram.h: reading datagram sockets (unix and udp) in batches with
 * recvmmsg(), shared by input_unix.c and input_udp.c.
 */
#ifndef SL_INPUT_DGRAM_H
#define SL_INPUT_DGRAM_H

#include <sys/socket.h>

#include "input/input_impl.h"

struct sl_dgram;

/* Watches fd (bound, non-blocking), which it takes on success; on failure
 * fd stays the caller's and err says why. with_peer: record the sender's
 * address (udp); otherwise the kernel's credentials (unix). Main thread,
 * from the kind's open. */
int sl_dgram_new(struct sl_input *in, int fd, bool with_peer, struct sl_dgram **out, char *err,
                 size_t errlen);
void sl_dgram_free(struct sl_input *in, struct sl_dgram *d); /* closes fd */

void sl_dgram_event(struct sl_input *in, void *tag, uint32_t events);
void sl_dgram_resume(struct sl_input *in);
void sl_dgram_drain(struct sl_input *in);
bool sl_dgram_unpark(struct sl_input *in);
/* The kind's refresh_stats (kind.h): kernel_drops from SO_MEMINFO, which
 * counts drops as they happen; SO_RXQ_OVFL only tells them with the next
 * datagram read, so a socket that is not read (parked, or quiet after a
 * burst) would show a stale count. Thread: main, while the input runs. */
void sl_dgram_refresh_stats(struct sl_input *in);
/* The socket, still d's. */
int sl_dgram_fd(const struct sl_dgram *d);

#endif /* SL_INPUT_DGRAM_H */
