/* SPDX-License-Identifier: MIT */
/* test_transport.c: the plain TCP transport (core/input/transport_plain.c)
 * against its contract in transport.h, over loopback TCP connections. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "input/transport.h"

static const struct sl_transport *tp = &sl_transport_plain;

/* A connected pair: ours (non-blocking, set up by the transport) and the
 * peer's (blocking). */
struct pair {
    struct sl_transport_conn c;
    int peer;
};

static int setup(void **state)
{
    struct pair *p = calloc(1, sizeof *p);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    p->peer = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(p->peer, (struct sockaddr *)&a, sizeof a), 0);
    p->c.fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    assert_true(p->c.fd >= 0);
    close(l);
    char err[64];
    assert_int_equal(tp->accept(&p->c, NULL, err, sizeof err), 0);
    assert_null(p->c.state); /* plain keeps no state */
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct pair *p = *state;
    if (p->c.fd >= 0)
        tp->close(&p->c);
    if (p->peer >= 0)
        close(p->peer);
    free(p);
    return 0;
}

static void wait_readable(int fd)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 2000), 1);
}

static void name_for_logs(void **state)
{
    assert_string_equal(tp->name, "tcp");
}

static void read_gives_the_bytes_then_would_block(void **state)
{
    struct pair *p = *state;
    char buf[16];
    unsigned want = 0;
    assert_int_equal(tp->read(&p->c, buf, sizeof buf, &want), -EAGAIN);
    assert_int_equal(want, SL_TRANSPORT_WANT_READ);
    assert_int_equal(send(p->peer, "hello", 5, 0), 5);
    wait_readable(p->c.fd);
    want = 0;
    assert_int_equal(tp->read(&p->c, buf, 3, &want), 3);
    assert_memory_equal(buf, "hel", 3);
    assert_int_equal(tp->read(&p->c, buf, sizeof buf, &want), 2);
    assert_memory_equal(buf, "lo", 2);
    assert_int_equal(want, 0); /* set only with -EAGAIN */
}

static void read_after_the_peer_closed_is_zero(void **state)
{
    struct pair *p = *state;
    char buf[16];
    unsigned want = 0;
    assert_int_equal(send(p->peer, "x", 1, 0), 1);
    close(p->peer);
    p->peer = -1;
    wait_readable(p->c.fd);
    assert_int_equal(tp->read(&p->c, buf, sizeof buf, &want), 1);
    assert_int_equal(tp->read(&p->c, buf, sizeof buf, &want), 0);
}

static void a_reset_is_a_broken_stream(void **state)
{
    struct pair *p = *state;
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close() sends RST */
    assert_int_equal(setsockopt(p->peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(p->peer);
    p->peer = -1;
    wait_readable(p->c.fd);
    char buf[16];
    unsigned want = 0;
    assert_int_equal(tp->read(&p->c, buf, sizeof buf, &want), -ECONNRESET);
    /* Writing to it is an error too, and no SIGPIPE kills the test. */
    ssize_t w = tp->write(&p->c, "x", 1, &want);
    assert_true(w == -EPIPE || w == -ECONNRESET);
}

static void write_until_the_socket_is_full(void **state)
{
    struct pair *p = *state;
    static char big[1 << 16];
    unsigned want = 0;
    size_t total = 0;
    ssize_t w;
    while ((w = tp->write(&p->c, big, sizeof big, &want)) > 0) {
        total += (size_t)w;
        assert_true(total < (256u << 20)); /* a full socket must say so */
    }
    assert_int_equal(w, -EAGAIN);
    assert_int_equal(want, SL_TRANSPORT_WANT_WRITE);
    /* The peer gets the first bytes. */
    char got[4];
    assert_int_equal(recv(p->peer, got, sizeof got, MSG_WAITALL), 4);
    assert_int_equal(got[0], 0);
}

static void shutdown_ends_our_side_only(void **state)
{
    struct pair *p = *state;
    tp->shutdown(&p->c);
    char b;
    assert_int_equal(recv(p->peer, &b, 1, 0), 0); /* the peer sees the end */
    assert_int_equal(send(p->peer, "y", 1, 0), 1); /* and can still send */
    wait_readable(p->c.fd);
    unsigned want = 0;
    char buf[4];
    assert_int_equal(tp->read(&p->c, buf, sizeof buf, &want), 1);
    assert_int_equal(buf[0], 'y');
    tp->shutdown(&p->c); /* twice, or after the peer went: no harm */
}

static void close_closes_the_fd(void **state)
{
    struct pair *p = *state;
    int fd = p->c.fd;
    tp->close(&p->c);
    assert_int_equal(p->c.fd, -1);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    assert_int_equal(errno, EBADF);
    char b;
    assert_int_equal(recv(p->peer, &b, 1, 0), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(name_for_logs),
        T(read_gives_the_bytes_then_would_block),
        T(read_after_the_peer_closed_is_zero),
        T(a_reset_is_a_broken_stream),
        T(write_until_the_socket_is_full),
        T(shutdown_ends_our_side_only),
        T(close_closes_the_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
