/* SPDX-License-Identifier: MIT */
/* test_ratelimit.c: the per-sender budgets of core/input/ratelimit.c: one
 * budget per severity class, windows that end and roll over, per uid, the
 * shared bucket of senders without credentials, the fixed table (eviction,
 * a full table, 100,000 pids without an allocation) and the summary lines
 * (their text and their cap). The clock is an argument: nothing sleeps. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "input/ratelimit.h"

/* {=== fixture: the lines a limiter writes */
#define MAX_LINES 64
struct lines {
    char v[MAX_LINES][256];
    size_t n;
};

static void capture(void *ctx, const char *line)
{
    struct lines *l = ctx;
    assert_true(l->n < MAX_LINES);
    snprintf(l->v[l->n++], sizeof l->v[0], "%s", line);
}

static struct sl_ratelimiter *limiter(struct lines *l, int64_t interval_ms, unsigned burst,
                                      enum sl_ratelimit_per per, size_t senders)
{
    struct sl_ratelimit_conf c = {.interval_ms = interval_ms, .burst = burst, .per = per};
    struct sl_ratelimiter *rl = NULL;
    *l = (struct lines){0};
    assert_int_equal(sl_ratelimiter_new(&rl, &c, "devlog", senders, capture, l), 0);
    return rl;
}

/* A message from pid/uid with credentials (pid < 0: none), severity sev. */
static struct sl_msg msg(int pid, unsigned uid, unsigned sev, const char *app)
{
    struct sl_msg m = {0};
    m.severity = (uint8_t)sev;
    if (app != NULL)
        m.app_name = (struct sl_str){app, (uint32_t)strlen(app)};
    if (pid >= 0) {
        m.flags = SL_MSG_HAS_CRED;
        m.pid = pid;
        m.uid = uid;
    }
    return m;
}

/* Sends n messages; returns how many passed. */
static unsigned send(struct sl_ratelimiter *rl, int pid, unsigned uid, unsigned sev, unsigned n,
                     int64_t now)
{
    struct sl_msg m = msg(pid, uid, sev, "app");
    unsigned passed = 0;
    for (unsigned i = 0; i < n; i++)
        passed += sl_ratelimiter_admit(rl, &m, now);
    return passed;
}
/* }=== */

static void test_classes(void **state)
{
    assert_int_equal(sl_ratelimit_class(0), 0);
    assert_int_equal(sl_ratelimit_class(2), 0);
    assert_int_equal(sl_ratelimit_class(3), 1);
    assert_int_equal(sl_ratelimit_class(4), 2);
    assert_int_equal(sl_ratelimit_class(5), 3);
    assert_int_equal(sl_ratelimit_class(6), 3);
    assert_int_equal(sl_ratelimit_class(7), 4);
}

static void test_budget_per_class(void **state)
{
    struct lines l;
    struct sl_ratelimiter *rl = limiter(&l, 1000, 3, SL_RATELIMIT_PER_PID, 16);
    assert_int_equal(send(rl, 10, 0, 7, 5, 0), 3);  /* debug: 3 of 5 */
    assert_int_equal(send(rl, 10, 0, 3, 3, 0), 3);  /* its own errors all pass */
    assert_int_equal(send(rl, 10, 0, 3, 1, 0), 0);  /* and have their own budget */
    assert_int_equal(send(rl, 11, 0, 7, 3, 0), 3);  /* another pid: a budget of its own */
    /* emerg, alert and crit share a class, notice and info another */
    assert_int_equal(send(rl, 12, 0, 0, 1, 0) + send(rl, 12, 0, 1, 1, 0)
                     + send(rl, 12, 0, 2, 2, 0), 3);
    assert_int_equal(send(rl, 12, 0, 5, 2, 0) + send(rl, 12, 0, 6, 2, 0), 3);
    assert_int_equal(send(rl, 12, 0, 4, 3, 0), 3); /* warning: untouched */
    assert_int_equal(l.n, 0);                       /* no window has ended */
    sl_ratelimiter_free(rl);
}

static void test_window_rolls_over(void **state)
{
    struct lines l;
    struct sl_ratelimiter *rl = limiter(&l, 1000, 2, SL_RATELIMIT_PER_PID, 16);
    struct sl_msg m = msg(42, 0, 6, "myapp");
    assert_true(sl_ratelimiter_admit(rl, &m, 100));
    assert_true(sl_ratelimiter_admit(rl, &m, 100));
    assert_false(sl_ratelimiter_admit(rl, &m, 100));
    assert_false(sl_ratelimiter_admit(rl, &m, 1099)); /* the window opened at 100 */
    assert_int_equal(l.n, 0);
    assert_true(sl_ratelimiter_admit(rl, &m, 1100)); /* the next one */
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0], "input \"devlog\": suppressed 2 messages from pid 42 (myapp) in "
                                "the last 1 s");
    assert_true(sl_ratelimiter_admit(rl, &m, 1100));
    assert_false(sl_ratelimiter_admit(rl, &m, 1100));
    sl_ratelimiter_sweep(rl, 2099);
    assert_int_equal(l.n, 1);
    sl_ratelimiter_sweep(rl, 2100); /* a sender that stopped gets its line */
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[1], "input \"devlog\": suppressed 1 message from pid 42 (myapp) in "
                                "the last 1 s");
    sl_ratelimiter_sweep(rl, 5000); /* once */
    assert_true(sl_ratelimiter_admit(rl, &m, 5000));
    assert_int_equal(l.n, 2);
    sl_ratelimiter_free(rl);
}

static void test_per_uid(void **state)
{
    struct lines l;
    struct sl_ratelimiter *rl = limiter(&l, 500, 4, SL_RATELIMIT_PER_UID, 16);
    /* two processes of one user share its budget; another user has its own */
    assert_int_equal(send(rl, 100, 1000, 7, 3, 0) + send(rl, 101, 1000, 7, 3, 0), 4);
    assert_int_equal(send(rl, 102, 1001, 7, 4, 0), 4);
    assert_int_equal(send(rl, 101, 1000, 3, 1, 0), 1); /* its errors pass */
    sl_ratelimiter_sweep(rl, 500);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0], "input \"devlog\": suppressed 2 messages from uid 1000 in the "
                                "last 500 ms");
    sl_ratelimiter_free(rl);
}

static void test_senders_without_credentials_share_a_bucket(void **state)
{
    struct lines l;
    struct sl_ratelimiter *rl = limiter(&l, 30000, 5, SL_RATELIMIT_PER_PID, 16);
    struct sl_msg a = msg(-1, 0, 6, "a"), b = msg(-1, 0, 6, "b");
    a.pid = 1, b.pid = 2; /* not trusted: not counted as pids */
    unsigned passed = 0;
    for (int i = 0; i < 5; i++)
        passed += sl_ratelimiter_admit(rl, &a, 0) + sl_ratelimiter_admit(rl, &b, 0);
    assert_int_equal(passed, 5);
    assert_int_equal(send(rl, 1, 0, 6, 5, 0), 5); /* the real pid 1 is another sender */
    assert_int_equal(sl_ratelimiter_used(rl), 1);
    sl_ratelimiter_sweep(rl, 30000);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0], "input \"devlog\": suppressed 5 messages from senders without "
                                "credentials in the last 30 s");
    sl_ratelimiter_free(rl);
}

static void test_quiet_sender_is_evicted_first(void **state)
{
    struct lines l;
    struct sl_ratelimiter *rl = limiter(&l, 1000, 2, SL_RATELIMIT_PER_PID, 4);
    for (int pid = 1; pid <= 4; pid++)
        assert_int_equal(send(rl, pid, 0, 6, 1, pid), 1);
    assert_int_equal(send(rl, 3, 0, 6, 4, 600), 1); /* 3 suppressed, seen last */
    /* At 1002, pids 1 and 2 have been quiet for a whole interval: the least
     * recently seen goes first, then the next; 3 and 4 stay. */
    assert_int_equal(send(rl, 5, 0, 6, 1, 1002), 1);
    assert_int_equal(send(rl, 6, 0, 6, 1, 1002), 1);
    assert_int_equal(sl_ratelimiter_used(rl), 4);
    assert_int_equal(send(rl, 3, 0, 6, 1, 1002), 0); /* kept its window */
    /* 4 was seen at 4, so it is quiet enough at 1004: evicted now. */
    assert_int_equal(send(rl, 7, 0, 6, 1, 1004), 1);
    /* back, but every entry is live now: the shared overflow bucket */
    assert_int_equal(send(rl, 4, 0, 6, 2, 1004), 2);
    /* 3's line comes with the sweep after its window, as if never touched */
    sl_ratelimiter_sweep(rl, 1600);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0], "input \"devlog\": suppressed 4 messages from pid 3 (app) in "
                                "the last 1 s");
    sl_ratelimiter_free(rl);
}

static void test_evicted_sender_gets_its_line(void **state)
{
    struct lines l;
    struct sl_ratelimiter *rl = limiter(&l, 1000, 1, SL_RATELIMIT_PER_PID, 1);
    assert_int_equal(send(rl, 9, 0, 7, 3, 0), 1);
    assert_int_equal(send(rl, 10, 0, 7, 1, 5000), 1); /* evicts 9 before any sweep */
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0], "input \"devlog\": suppressed 2 messages from pid 9 (app) in "
                                "the last 1 s");
    sl_ratelimiter_free(rl);
}

/* A full table of live senders: a new sender shares one overflow bucket
 * and evicts nobody, so a flooder keeps its spent budget however many
 * pids a fork loop makes. */
static void test_full_table_of_live_senders(void **state)
{
    struct lines l;
    struct sl_ratelimiter *rl = limiter(&l, 1000, 10, SL_RATELIMIT_PER_PID, 8);
    assert_int_equal(send(rl, 1, 0, 7, 100, 0), 10); /* the flooder */
    for (int pid = 2; pid <= 8; pid++)
        assert_int_equal(send(rl, pid, 0, 6, 1, 1), 1);
    unsigned passed = 0;
    for (int pid = 100; pid < 200; pid++)
        passed += send(rl, pid, 0, 7, 1, 2);
    assert_int_equal(passed, 10);                   /* one budget for all of them */
    assert_int_equal(send(rl, 1, 0, 7, 5, 3), 0);   /* still spent */
    assert_int_equal(send(rl, 150, 0, 3, 1, 3), 1); /* their errors: a class of its own */
    assert_int_equal(sl_ratelimiter_used(rl), 8);
    sl_ratelimiter_sweep(rl, 1002);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0], "input \"devlog\": suppressed 95 messages from pid 1 (app) in "
                                "the last 1 s");
    assert_string_equal(l.v[1], "input \"devlog\": suppressed 90 messages from new senders "
                                "while all 8 tracked senders were live in the last 1 s");
    sl_ratelimiter_free(rl);
}

/* 100,000 pids, as a fork loop makes them: the table never grows (no
 * allocation after new), and a steady sender's errors all pass. */
static void test_100000_pids_in_bounded_memory(void **state)
{
    struct lines l;
    struct sl_ratelimiter *rl = limiter(&l, 1000, 3, SL_RATELIMIT_PER_PID, SL_RATELIMIT_SENDERS);
    sl_alloc_fail_after(LONG_MAX); /* count allocations from here */
    unsigned victim = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t now = i / 20; /* 20 new pids a millisecond: the table overflows */
        send(rl, 1000 + i, 0, 7, 2, now);
        if (i % 100 == 0)
            victim += send(rl, 1, 0, 3, 1, now);
        assert_true(sl_ratelimiter_used(rl) <= SL_RATELIMIT_SENDERS);
        if (i % 1000 == 0)
            sl_ratelimiter_sweep(rl, now);
    }
    assert_int_equal(sl_alloc_fail_after(-1), 0);
    assert_int_equal(sl_ratelimiter_used(rl), SL_RATELIMIT_SENDERS);
    /* 1000 errors over 5 s, 3 per window of 1 s: every window's first 3 pass. */
    assert_true(victim >= 3 * 5);
    assert_true(l.n <= 6 * (SL_RATELIMIT_LINES + 1)); /* lines capped per interval */
    sl_ratelimiter_free(rl);
}

static void test_lines_are_capped(void **state)
{
    struct lines l;
    struct sl_ratelimiter *rl = limiter(&l, 1000, 1, SL_RATELIMIT_PER_PID, 64);
    for (int pid = 1; pid <= SL_RATELIMIT_LINES + 10; pid++)
        send(rl, pid, 0, 7, 1 + (unsigned)pid, 0);
    sl_ratelimiter_sweep(rl, 1000);
    assert_int_equal(l.n, SL_RATELIMIT_LINES);
    sl_ratelimiter_sweep(rl, 1999);
    assert_int_equal(l.n, SL_RATELIMIT_LINES);
    sl_ratelimiter_sweep(rl, 2000); /* the line window ended: the rest in one line */
    assert_int_equal(l.n, SL_RATELIMIT_LINES + 1);
    /* pids 21..30 suppressed 21..30 messages each: 255 */
    assert_string_equal(l.v[SL_RATELIMIT_LINES], "input \"devlog\": ... and 10 more senders "
                                                 "(255 messages suppressed) in the last 1 s");
    sl_ratelimiter_sweep(rl, 9000);
    assert_int_equal(l.n, SL_RATELIMIT_LINES + 1);
    sl_ratelimiter_free(rl);
}

static void test_name_is_sanitized_and_cut(void **state)
{
    struct lines l;
    struct sl_ratelimiter *rl = limiter(&l, 1000, 1, SL_RATELIMIT_PER_PID, 4);
    struct sl_msg m = msg(7, 0, 6, "evil\napp\"(x)\033[2J-and-a-name-that-goes-on-and-on");
    sl_ratelimiter_admit(rl, &m, 0);
    sl_ratelimiter_admit(rl, &m, 0);
    struct sl_msg nameless = msg(8, 0, 6, NULL);
    sl_ratelimiter_admit(rl, &nameless, 0);
    sl_ratelimiter_admit(rl, &nameless, 0);
    sl_ratelimiter_sweep(rl, 1000);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0], "input \"devlog\": suppressed 1 message from pid 7 "
                                "(evil?app??x??[2J-and-a-name-that) in the last 1 s");
    assert_string_equal(l.v[1], "input \"devlog\": suppressed 1 message from pid 8 in the last "
                                "1 s");
    sl_ratelimiter_free(rl);
}

static void test_new_refuses_bad_arguments(void **state)
{
    struct sl_ratelimit_conf c = {.interval_ms = 1000, .burst = 1};
    struct sl_ratelimiter *rl = NULL;
    assert_int_equal(sl_ratelimiter_new(&rl, &c, "x", 0, capture, NULL), -EINVAL);
    assert_int_equal(sl_ratelimiter_new(&rl, &c, "x", 65535, capture, NULL), -EINVAL);
    c.interval_ms = 0;
    assert_int_equal(sl_ratelimiter_new(&rl, &c, "x", 4, capture, NULL), -EINVAL);
    c.interval_ms = 1000;
    for (long n = 0; n < 4; n++) {
        sl_alloc_fail_after(n);
        int rc = sl_ratelimiter_new(&rl, &c, "x", 4, capture, NULL);
        sl_alloc_fail_after(-1);
        if (rc == 0) {
            sl_ratelimiter_free(rl);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
    }
    sl_ratelimiter_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_budget_per_class),
        cmocka_unit_test(test_window_rolls_over),
        cmocka_unit_test(test_per_uid),
        cmocka_unit_test(test_senders_without_credentials_share_a_bucket),
        cmocka_unit_test(test_quiet_sender_is_evicted_first),
        cmocka_unit_test(test_evicted_sender_gets_its_line),
        cmocka_unit_test(test_full_table_of_live_senders),
        cmocka_unit_test(test_100000_pids_in_bounded_memory),
        cmocka_unit_test(test_lines_are_capped),
        cmocka_unit_test(test_name_is_sanitized_and_cut),
        cmocka_unit_test(test_new_refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
