/* SPDX-License-Identifier: MIT */
/* test_clock.c: the monotonic clock helpers (common/clock.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "common/clock.h"

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* sl_now_ms is CLOCK_MONOTONIC in milliseconds, and it moves with time. */
static void now_is_monotonic_ms(void **state)
{
    int64_t before = mono_ms();
    int64_t a = sl_now_ms();
    assert_true(a >= before && a <= mono_ms());
    struct timespec nap = {0, 30 * 1000000L};
    nanosleep(&nap, NULL);
    int64_t b = sl_now_ms();
    assert_true(b - a >= 30);
    assert_true(b - a < 5000); /* milliseconds, not microseconds */
}

static int64_t ts_ms(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The deadline is ms later on the same clock, with tv_nsec normalised even
 * when the milliseconds carry into the next second. */
static void after_ms_is_normalised(void **state)
{
    static const int64_t cases[] = {0, 1, 999, 1000, 1500, 61999};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t before = mono_ms();
        struct timespec t = sl_clock_after_ms(cases[i]);
        int64_t after = mono_ms();
        assert_true(t.tv_nsec >= 0 && t.tv_nsec < 1000000000);
        assert_true(ts_ms(t) >= before + cases[i]);
        assert_true(ts_ms(t) <= after + cases[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(now_is_monotonic_ms),
        cmocka_unit_test(after_ms_is_normalised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
