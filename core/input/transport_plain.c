/* SPDX-License-Identifier: MIT */
/*
 * transport_plain.c: the plain TCP transport (transport.h): the socket's
 * own bytes, no state of its own. The tcp input's behaviour before there
 * were transports, moved here unchanged: EINTR is retried, a reset is a
 * broken stream.
 */
#include "input/transport.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

static int plain_accept(struct sl_transport_conn *c, void *ctx, char *err, size_t errlen)
{
    return 0; /* nothing to set up: the socket is the stream */
}

/* The result of read(2) or write(2) in the transport's contract. */
static ssize_t result(ssize_t r, unsigned *want, unsigned wait_for)
{
    if (r >= 0)
        return r;
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK) {
        *want = wait_for;
        return -EAGAIN;
    }
    return -e;
}

static ssize_t plain_read(struct sl_transport_conn *c, char *buf, size_t len, unsigned *want)
{
    ssize_t r;
    do
        r = read(c->fd, buf, len);
    while (r < 0 && errno == EINTR);
    return result(r, want, SL_TRANSPORT_WANT_READ);
}

static ssize_t plain_write(struct sl_transport_conn *c, const char *buf, size_t len,
                           unsigned *want)
{
    ssize_t r;
    /* send(), not write(): a peer that is gone is -EPIPE, not a SIGPIPE. */
    do
        r = send(c->fd, buf, len, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    return result(r, want, SL_TRANSPORT_WANT_WRITE);
}

static void plain_shutdown(struct sl_transport_conn *c)
{
    (void)shutdown(c->fd, SHUT_WR); /* ENOTCONN when the peer reset: fine */
}

static void plain_close(struct sl_transport_conn *c)
{
    close(c->fd);
    c->fd = -1;
}

const struct sl_transport sl_transport_plain = {
    .name = "tcp",
    .accept = plain_accept,
    .read = plain_read,
    .write = plain_write,
    .shutdown = plain_shutdown,
    .close = plain_close,
};
