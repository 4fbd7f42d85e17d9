/* SPDX-License-Identifier: MIT */
/*
 * test_input_dgram.c: what a datagram input (input_dgram.c) counts of what
 * it reads: a message of max_message bytes with the LF (CR LF, NULs) a
 * sender adds is whole, not truncated; one byte more is truncated. Through
 * a real udp input on 127.0.0.1 and its thread, without outputs (the
 * messages go unrouted).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "input/input.h"

struct fixture {
    struct sl_config *c;
    struct sl_routing routing;
    struct sl_input *in;
    struct sockaddr_in addr;
};

static int setup(void **state)
{
    struct fixture *x = calloc(1, sizeof *x);
    const char *text = "input 'u' { type = 'udp', listen = '127.0.0.1:0', max_message = 100 }\n";
    struct sl_errors errs = {0};
    assert_int_equal(sl_config_load_text(text, strlen(text), "dgram.lua", &x->c, &errs), 0);
    sl_errors_clear(&errs);
    static atomic_uint_fast64_t unrouted;
    x->routing = (struct sl_routing){.unrouted = &unrouted, .hostname = {"h", 1}};
    assert_int_equal(sl_router_init(&x->routing.router, x->c, "h"), 0);
    char err[512] = "";
    assert_int_equal(sl_input_open(&x->in, &x->c->inputs[0], &x->routing, err, sizeof err), 0);
    const char *a = sl_input_address(x->in); /* "127.0.0.1:PORT" */
    x->addr = (struct sockaddr_in){.sin_family = AF_INET,
                                   .sin_port = htons((uint16_t)atoi(strchr(a, ':') + 1)),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(sl_input_start(x->in), 0);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *x = *state;
    sl_input_close(x->in, 1000);
    sl_router_free(&x->routing.router);
    sl_config_free(x->c);
    free(x);
    return 0;
}

/* Sends len bytes of p and waits (5 s at most) until the input has read it. */
static void send_one(struct fixture *x, const char *p, size_t len)
{
    const struct sl_input_stats *s = sl_input_stats_of(x->in);
    uint64_t before = atomic_load(&s->received);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(sendto(fd, p, len, 0, (struct sockaddr *)&x->addr, sizeof x->addr),
                     (ssize_t)len);
    close(fd);
    int64_t deadline = sl_now_ms() + 5000;
    while (atomic_load(&s->received) == before && sl_now_ms() < deadline)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    assert_int_equal(atomic_load(&s->received), before + 1);
}

/* A message of n bytes ("<13>xxx..."), then its ending. */
static size_t message(char *buf, size_t n, const char *ending)
{
    memcpy(buf, "<13>", 4);
    memset(buf + 4, 'x', n - 4);
    size_t e = strlen(ending);
    memcpy(buf + n, ending, e + 1);
    return n + e;
}

static void max_message_and_its_lf_are_not_truncated(void **state)
{
    struct fixture *x = *state;
    const struct sl_input_stats *s = sl_input_stats_of(x->in);
    char buf[256];
    send_one(x, buf, message(buf, 100, "\n"));
    assert_int_equal(atomic_load(&s->truncated), 0);
    assert_int_equal(atomic_load(&s->bytes), 100);
    send_one(x, buf, message(buf, 100, "\r\n"));
    send_one(x, buf, message(buf, 100, "\n") + 1); /* and its NUL */
    assert_int_equal(atomic_load(&s->truncated), 0);
    assert_int_equal(atomic_load(&s->bytes), 300);
}

static void one_byte_more_is_truncated(void **state)
{
    struct fixture *x = *state;
    const struct sl_input_stats *s = sl_input_stats_of(x->in);
    char buf[256];
    send_one(x, buf, message(buf, 101, "\n"));
    assert_int_equal(atomic_load(&s->truncated), 1);
    assert_int_equal(atomic_load(&s->bytes), 100);
    send_one(x, buf, message(buf, 200, "")); /* longer than the slot too */
    assert_int_equal(atomic_load(&s->truncated), 2);
    assert_int_equal(atomic_load(&s->bytes), 200);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(max_message_and_its_lf_are_not_truncated),
        T(one_byte_more_is_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
