/* SPDX-License-Identifier: MIT */
/* test_gather.c: the pause of a datagram input after a small read
 * (core/input/gather.c): none when off or when the batch is large, never
 * past the window counted from the first datagram, cut so the socket fills
 * to at most about half of its room at the learned rate, and the rate's
 * learning. Times are arguments: nothing sleeps. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "input/gather.h"

#define MS 1000000LL
#define US 1000LL

static void off_never_waits(void **state)
{
    (void)state;
    struct sl_gather g;
    sl_gather_init(&g, 0, 100);
    assert_int_equal(sl_gather_pause(&g, 1, 10 * MS, 10 * MS), 0);
    sl_gather_init(&g, -5, 100); /* a negative window is off, not a wait */
    assert_int_equal(sl_gather_pause(&g, 1, 10 * MS, 10 * MS), 0);
}

static void large_batch_waits_for_nothing(void **state)
{
    (void)state;
    struct sl_gather g;
    sl_gather_init(&g, 2 * MS, 512);
    assert_int_equal(sl_gather_pause(&g, SL_GATHER_ENOUGH, 0, 0), 0);
    assert_int_equal(sl_gather_pause(&g, SL_GATHER_ENOUGH + 100, 0, 0), 0);
    assert_true(sl_gather_pause(&g, SL_GATHER_ENOUGH - 1, 0, 0) > 0);
}

static void never_past_the_window(void **state)
{
    (void)state;
    struct sl_gather g;
    sl_gather_init(&g, 2 * MS, 512);
    /* No rate learned yet: the rest of the window. */
    assert_int_equal(sl_gather_pause(&g, 1, 100 * MS, 100 * MS), 2 * MS);
    assert_int_equal(sl_gather_pause(&g, 1, 100 * MS, 100 * MS + 1500 * US), 500 * US);
    assert_int_equal(sl_gather_pause(&g, 1, 100 * MS, 102 * MS), 0);
    assert_int_equal(sl_gather_pause(&g, 1, 100 * MS, 150 * MS), 0);
}

static void learned_rate(struct sl_gather *g, size_t per_ms)
{
    /* Cycles of 1 ms, per_ms datagrams each: the EWMA settles there. */
    for (int i = 1; i <= 50; i++)
        sl_gather_routed(g, per_ms, i * MS);
}

static void the_socket_never_fills(void **state)
{
    (void)state;
    struct sl_gather g;
    /* A unix socket of qlen 10 (room 11) at 100 datagrams per ms: six
     * arrive in 60 µs, the pause is about that, not the 2 ms window. */
    sl_gather_init(&g, 2 * MS, 11);
    learned_rate(&g, 100);
    int64_t p = sl_gather_pause(&g, 1, 0, 0);
    assert_true(p > 55 * US && p < 65 * US);
    /* qlen 512 at the same rate: the window is the bound. */
    sl_gather_init(&g, 2 * MS, 513);
    learned_rate(&g, 100);
    assert_int_equal(sl_gather_pause(&g, 1, 0, 0), 2 * MS);
    /* Slow senders (10,000 a second) on qlen 10: six arrive in 600 µs, a
     * batch of six for one wake-up. */
    sl_gather_init(&g, 2 * MS, 11);
    learned_rate(&g, 10);
    p = sl_gather_pause(&g, 1, 0, 0);
    assert_true(p > 550 * US && p < 650 * US);
}

static void rate_follows_the_traffic(void **state)
{
    (void)state;
    struct sl_gather g;
    sl_gather_init(&g, 2 * MS, 11);
    sl_gather_routed(&g, 5, 1 * MS); /* the first batch: nothing to measure against */
    assert_true(g.rate == 0);
    sl_gather_routed(&g, 10, 2 * MS);
    assert_true(g.rate > 9.99e-6 && g.rate < 10.01e-6); /* 10 per ms */
    learned_rate(&g, 1);  /* the traffic slows: the rate comes down, the pause grows */
    int64_t slow = sl_gather_pause(&g, 1, 0, 0);
    learned_rate(&g, 200);
    int64_t fast = sl_gather_pause(&g, 1, 0, 0);
    assert_true(fast < slow);
    assert_true(fast > 0);
    /* A clock that did not move (two batches in one ns) teaches nothing. */
    double before = g.rate;
    sl_gather_routed(&g, 30, g.last_ns);
    assert_true(g.rate == before);
}

static void rooms(void **state)
{
    (void)state;
    assert_true(sl_gather_unix_room() >= 2);
    assert_int_equal(sl_gather_udp_room(0), 2);
    assert_int_equal(sl_gather_udp_room(4 << 20), 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(off_never_waits),
        cmocka_unit_test(large_batch_waits_for_nothing),
        cmocka_unit_test(never_past_the_window),
        cmocka_unit_test(the_socket_never_fills),
        cmocka_unit_test(rate_follows_the_traffic),
        cmocka_unit_test(rooms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
