/* SPDX-License-Identifier: MIT */
/*
 * transport.h: the byte stream under a stream input (plain TCP now; TLS and
 * RELP next), in the manner of redis's ConnectionType.
 *
 * input_stream.c keeps everything a stream input does with a connection: the
 * list of them, the buffer and the framer, parking, the idle timeout, the
 * drain at stop. It reaches the bytes only through a struct sl_transport, so
 * a TLS transport is a second implementation of these few ops, not a branch
 * inside the connection code:
 *
 *   accept4() ---> accept()        once per connection: set up (TLS: start
 *                                  the handshake); a failure closes it
 *   EPOLLIN/OUT -> read()          once per readiness event: one indirect
 *                                  call per read, none per message
 *                  write()         answers to the peer (RELP acks, later)
 *   closing -----> shutdown()      stop sending (TLS: close_notify)
 *                  close()         free the transport's state, close the fd
 *
 * "Would block" has two forms. read() and write() return -EAGAIN and say in
 * *want what the transport waits for: SL_TRANSPORT_WANT_READ (the usual:
 * call again when the fd is readable) or SL_TRANSPORT_WANT_WRITE (a TLS
 * read that must first send, as in a renegotiation: the caller adds EPOLLOUT
 * to the fd's interest and calls read() again when it is writable, then
 * drops EPOLLOUT once a read returns anything else, or level-triggered
 * EPOLLOUT would spin the loop).
 *
 * Thread: a connection and its transport state belong to the input thread
 * that accepted it. A struct sl_transport is immutable and shared.
 */
#ifndef SL_TRANSPORT_H
#define SL_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

enum sl_transport_want {
    SL_TRANSPORT_WANT_READ = 1 << 0,  /* wait for the fd to be readable */
    SL_TRANSPORT_WANT_WRITE = 1 << 1  /* wait for the fd to be writable */
};

/* One connection as its transport sees it. Embedded in the input's own
 * connection struct; fd is the accepted, non-blocking socket. */
struct sl_transport_conn {
    int fd;      /* owned: close() closes it */
    void *state; /* the transport's own (a TLS session); NULL for plain */
};

struct sl_transport {
    /* For log lines: "tcp", "tls". Static storage. */
    const char *name;
    /* Sets up c, a connection just accepted (c->fd set, c->state NULL).
     * ctx is the listener's (a TLS context; NULL for plain), borrowed: the
     * input kind that chose the transport owns it and keeps it until its
     * last connection is closed. 0, or a negative errno with a reason in
     * err; a failed accept leaves c->state NULL and c->fd open, and the
     * caller closes the fd without calling shutdown() or close(). It need
     * not finish a handshake that takes round trips: read() may go on with
     * it, returning -EAGAIN (and what it waits for) until bytes come, while
     * the idle timeout runs from the accept. */
    int (*accept)(struct sl_transport_conn *c, void *ctx, char *err, size_t errlen);
    /* Reads up to len bytes into buf (len > 0).
     *   > 0      that many bytes.
     *   0        the peer ended the stream in order.
     *   -EAGAIN  nothing now; *want says what to wait for (see the top).
     *   other    a negative errno: the stream is broken (-ECONNRESET, a TLS
     *            error); what was read before it still counts.
     * A signal never shows: the transport retries EINTR itself. */
    ssize_t (*read)(struct sl_transport_conn *c, char *buf, size_t len, unsigned *want);
    /* Writes up to len bytes of buf; the same contract as read(), except
     * that 0 is returned only for len == 0. */
    ssize_t (*write)(struct sl_transport_conn *c, const char *buf, size_t len, unsigned *want);
    /* Stops sending, best effort, before close(); errors are ignored (the
     * peer may be gone already). */
    void (*shutdown)(struct sl_transport_conn *c);
    /* Frees c->state and closes c->fd. The transport forgets c. */
    void (*close)(struct sl_transport_conn *c);
};

/* The plain TCP transport: read(2), write(2), shutdown(2), close(2). */
extern const struct sl_transport sl_transport_plain;

#endif /* SL_TRANSPORT_H */
