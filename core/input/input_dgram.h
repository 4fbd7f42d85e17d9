/* SPDX-License-Identifier: MIT */
/*
 * input_dgram.h: reading datagram sockets (unix and udp) in batches with
 * recvmmsg(), shared by input_unix.c and input_udp.c.
 */
#ifndef SL_INPUT_DGRAM_H
#define SL_INPUT_DGRAM_H

#include <sys/socket.h>

#include "input/input_impl.h"

struct sl_dgram;

/* {=== a kind's own reading of each datagram (the journal's native protocol)
 *
 * By default each datagram is a syslog message (sl_input_message). A kind
 * that reads datagrams otherwise sets a reader: it gets each datagram with
 * the kernel's credentials and the descriptors that came with it
 * (SCM_RIGHTS), and makes the message itself. */
#define SL_DGRAM_MAX_FDS 8 /* room for this many per datagram; more: ctl_cut */

struct sl_dgram_packet {
    const char *data; /* borrowed until the reader returns; not trimmed */
    size_t len;       /* bytes received, at most the slot (max_message + 4) */
    bool cut;         /* MSG_TRUNC: the datagram was longer than the slot */
    bool ctl_cut;     /* MSG_CTRUNC: some control data (descriptors) was lost */
    const struct ucred *cred; /* the sender's (SO_PASSCRED), or NULL */
    const int *fds;   /* received with it; the dgram layer closes them after
                       * the reader returns, whatever it did: never close
                       * them, never keep them */
    unsigned nfds;
};

/* Makes the message for one datagram (one reference, the caller's), or
 * NULL when it makes none (the reader counted why). Thread: the input's. */
typedef struct sl_msg *sl_dgram_reader(struct sl_input *in, void *arg,
                                       const struct sl_dgram_packet *pkt);
/* }=== */

/* Watches fd (bound, non-blocking), which it takes on success; on failure
 * fd stays the caller's and err says why. with_peer: record the sender's
 * address (udp); otherwise the kernel's credentials (unix). Main thread,
 * from the kind's open. */
int sl_dgram_new(struct sl_input *in, int fd, bool with_peer, struct sl_dgram **out, char *err,
                 size_t errlen);
void sl_dgram_free(struct sl_input *in, struct sl_dgram *d); /* closes fd */
/* Gives each datagram to read(in, arg, pkt) instead of the syslog path,
 * with room for SL_DGRAM_MAX_FDS descriptors in its control data. arg is
 * borrowed and must outlive d. Main thread, from the kind's open, before
 * the input's thread starts. */
void sl_dgram_set_reader(struct sl_dgram *d, sl_dgram_reader *read, void *arg);
/* The arg given to sl_dgram_set_reader (NULL without one), still the kind's. */
void *sl_dgram_reader_arg(const struct sl_dgram *d);

void sl_dgram_event(struct sl_input *in, void *tag, uint32_t events);
void sl_dgram_resume(struct sl_input *in);
/* The drains at stop (the input's thread, or the main thread when it never
 * started): sl_dgram_drain reads at most what the socket held when it
 * began; sl_dgram_drain_shut, for a socket shut for reading (nothing more
 * arrives), reads until it is empty. Both stop at the deadline. */
void sl_dgram_drain(struct sl_input *in);
void sl_dgram_drain_shut(struct sl_input *in);
bool sl_dgram_unpark(struct sl_input *in);
/* The kind's refresh_stats (kind.h): kernel_drops from SO_MEMINFO, which
 * counts drops as they happen; SO_RXQ_OVFL only tells them with the next
 * datagram read, so a socket that is not read (parked, or quiet after a
 * burst) would show a stale count. Thread: main, while the input runs. */
void sl_dgram_refresh_stats(struct sl_input *in);
/* The socket, still d's. */
int sl_dgram_fd(const struct sl_dgram *d);

#endif /* SL_INPUT_DGRAM_H */
