/* SPDX-License-Identifier: MIT */
/*
 * activation.h: the sockets systemd passed (socket activation: LISTEN_FDS,
 * LISTEN_FDNAMES, read with sd_listen_fds_with_names), matched to inputs by
 * address as rsyslog's imuxsock does, so one config runs with activation
 * and without.
 *
 * DESIGN. The daemon collects the passed sockets once, at start, into a
 * table it owns for as long as it runs. An input's binding (bind_unix.c,
 * input.c's sl_input_bind_inet: the one place that answers "a socket for
 * this input") asks the table first; a socket of the kind's family and type
 * at the input's address comes back as a dup(), and then nothing is bound,
 * nothing is created or unlinked at the path. The table keeps its own
 * descriptor, so an input a reload changed and reopens at the same address
 * gets the same socket again (and a datagram queued meanwhile is read, not
 * lost); closing an input closes only its dup. Passed sockets no input
 * takes at start are logged and closed (sl_activation_close_unused).
 * Without libsystemd the table is always empty and a LISTEN_FDS in the
 * environment is logged once and ignored.
 *
 * Thread: main (start, reload, stop), except sl_activation_match: any.
 */
#ifndef SL_ACTIVATION_H
#define SL_ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct sl_activation;

/* What an input's binding looks for: a unix socket at path, or an inet one
 * at host:port (path NULL), of the given type (SOCK_DGRAM, SOCK_STREAM). */
struct sl_activation_want {
    const char *path;
    const char *host, *port;
    int socktype;
};

/* Takes the passed sockets (and removes LISTEN_* from the environment, so
 * nothing sluiced starts sees them). *out is NULL when none were passed.
 * 0 or a negative errno (logged). The table owns the descriptors. */
int sl_activation_collect(struct sl_activation **out);
/* Closes every descriptor the table holds and frees it; NULL is a no-op.
 * Inputs' dups stay theirs. */
void sl_activation_free(struct sl_activation *a);
/* A new descriptor (dup, close-on-exec, non-blocking) of the passed socket
 * matching w, or -ENOENT when none matches (then bind as usual); a NULL
 * table matches nothing. *name gets the socket's LISTEN_FDNAMES name
 * (borrowed from the table). The caller owns the descriptor. */
int sl_activation_take(struct sl_activation *a, const struct sl_activation_want *w,
                       const char **name);
/* Logs each passed socket no input took, and closes it. */
void sl_activation_close_unused(struct sl_activation *a);
/* True when the socket at sa (of family, type and listening state as
 * getsockopt tells) is what w asks for: a unix path equal to w->path, or
 * an inet address one of w->host:port's (getaddrinfo, AI_PASSIVE) is
 * equal to (and [::]:PORT, systemd's dual-stack default, for 0.0.0.0:PORT);
 * a stream socket must be listening. Thread: any. */
bool sl_activation_match(const struct sockaddr *sa, socklen_t salen, int socktype,
                         bool listening, const struct sl_activation_want *w);

#endif /* SL_ACTIVATION_H */
