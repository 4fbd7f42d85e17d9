/* SPDX-License-Identifier: MIT */
/* test_overload.c: what an output does with what its queue cannot take
 * (core/output/overload.c): drop, block, block_timeout's stall and
 * drop_severity above high_water, over a real memory queue. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "output/diskq.h"
#include "output/overload.h"

struct fixture {
    struct sl_queue *q;
    struct sl_overload ov;
    atomic_uint_fast64_t enqueued;
    int efd; /* a producer's room fd */
};

static struct sl_msg *mk(int severity)
{
    struct sl_msg *m = sl_msg_new_heap("x", 1, "test");
    assert_non_null(m);
    m->severity = (uint8_t)severity;
    return m;
}

static void setup_with(struct fixture *f, size_t capacity, struct sl_queue_conf qc)
{
    qc.capacity = capacity;
    assert_int_equal(sl_queue_new(&f->q, capacity, 0), 0);
    assert_int_equal(sl_overload_init(&f->ov, "t", &qc), 0);
    atomic_init(&f->enqueued, 0);
    f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(f->efd >= 0);
}

static void teardown_f(struct fixture *f)
{
    sl_overload_cancel_notify(&f->ov, f->q, f->efd);
    sl_overload_destroy(&f->ov);
    sl_queue_free(f->q);
    close(f->efd);
}

/* Pops and releases everything queued; returns how many. */
static size_t drain(struct fixture *f)
{
    struct sl_msg *out[64];
    size_t total = 0, n;
    while ((n = sl_queue_pop(f->q, out, 64, 0)) > 0) {
        sl_queue_commit(f->q, n);
        for (size_t i = 0; i < n; i++)
            sl_msg_unref(out[i]);
        total += n;
    }
    return total;
}

static bool fired(int efd)
{
    uint64_t v;
    return read(efd, &v, sizeof v) == (ssize_t)sizeof v;
}

static uint64_t count(struct fixture *f, enum sl_drop_reason r)
{
    struct sl_drop_counts c;
    sl_overload_counts(&f->ov, &c);
    return c.by[r];
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void free_all(struct sl_msg **m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sl_msg_unref(m[i]);
}

static void drop_counts_the_overflow_as_full(void **state)
{
    (void)state;
    struct fixture f;
    struct sl_queue_conf qc = SL_QUEUE_CONF_DEFAULT;
    qc.policy = SL_POLICY_DROP;
    setup_with(&f, 4, qc);
    struct sl_msg *m[10];
    for (int i = 0; i < 10; i++)
        m[i] = mk(6);
    assert_int_equal(sl_overload_offer(&f.ov, f.q, m, 10, f.efd, &f.enqueued), 10);
    assert_int_equal(atomic_load(&f.enqueued), 4);
    assert_int_equal(count(&f, SL_DROP_FULL), 6);
    assert_false(fired(f.efd));
    assert_int_equal(drain(&f), 4);
    teardown_f(&f);
}

static void block_hands_back_the_rest_and_wakes_at_room(void **state)
{
    (void)state;
    struct fixture f;
    setup_with(&f, 4, SL_QUEUE_CONF_DEFAULT);
    struct sl_msg *m[10];
    for (int i = 0; i < 10; i++)
        m[i] = mk(6);
    assert_int_equal(sl_overload_offer(&f.ov, f.q, m, 10, f.efd, &f.enqueued), 4);
    assert_false(fired(f.efd));
    assert_int_equal(drain(&f), 4);
    assert_true(fired(f.efd));
    assert_int_equal(count(&f, SL_DROP_FULL) + count(&f, SL_DROP_TIMEOUT), 0);
    free_all(m + 4, 6);
    teardown_f(&f);
}

/* A producer finds the clock past due: the output stalls, what it refuses
 * is dropped at once, and parked producers are woken; room ends it. */
static void block_timeout_stalls_and_room_ends_it(void **state)
{
    (void)state;
    struct fixture f;
    struct sl_queue_conf qc = SL_QUEUE_CONF_DEFAULT;
    qc.block_timeout_ms = 300;
    setup_with(&f, 4, qc);
    struct sl_msg *m[8];
    for (int i = 0; i < 8; i++)
        m[i] = mk(6);
    assert_int_equal(sl_overload_offer(&f.ov, f.q, m, 6, f.efd, &f.enqueued), 4);
    assert_false(sl_overload_stalled(&f.ov));
    sleep_ms(350);
    int other = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(other >= 0);
    /* another producer's offer, past block_timeout: stalled, dropped */
    assert_int_equal(sl_overload_offer(&f.ov, f.q, m + 4, 2, other, &f.enqueued), 2);
    assert_true(sl_overload_stalled(&f.ov));
    assert_int_equal(count(&f, SL_DROP_TIMEOUT), 2);
    assert_true(fired(f.efd)); /* the parked producer is told to offer again */
    assert_int_equal(sl_overload_offer(&f.ov, f.q, m + 6, 2, f.efd, &f.enqueued), 2);
    assert_int_equal(count(&f, SL_DROP_TIMEOUT), 4);
    sl_overload_tick(&f.ov, f.q, sl_now_ms()); /* asks the queue for room */
    assert_true(sl_overload_stalled(&f.ov));
    assert_int_equal(drain(&f), 4);
    sl_overload_tick(&f.ov, f.q, sl_now_ms());
    assert_false(sl_overload_stalled(&f.ov));
    /* blocking normally again: refused, not dropped */
    struct sl_msg *more[6];
    for (int i = 0; i < 6; i++)
        more[i] = mk(6);
    assert_int_equal(sl_overload_offer(&f.ov, f.q, more, 6, f.efd, &f.enqueued), 4);
    assert_int_equal(count(&f, SL_DROP_TIMEOUT), 4);
    free_all(more + 4, 2);
    drain(&f);
    sl_overload_cancel_notify(&f.ov, f.q, other);
    close(other);
    teardown_f(&f);
}

/* The worker's tick stalls an output whose producers all sleep parked. */
static void the_worker_stalls_an_output_nobody_offers_to(void **state)
{
    (void)state;
    struct fixture f;
    struct sl_queue_conf qc = SL_QUEUE_CONF_DEFAULT;
    qc.block_timeout_ms = 100;
    setup_with(&f, 2, qc);
    struct sl_msg *m[3] = {mk(6), mk(6), mk(6)};
    assert_int_equal(sl_overload_offer(&f.ov, f.q, m, 3, f.efd, &f.enqueued), 2);
    sl_overload_tick(&f.ov, f.q, sl_now_ms());
    assert_false(sl_overload_stalled(&f.ov));
    assert_false(fired(f.efd));
    sleep_ms(150);
    sl_overload_tick(&f.ov, f.q, sl_now_ms());
    assert_true(sl_overload_stalled(&f.ov));
    assert_true(fired(f.efd));
    assert_int_equal(sl_overload_offer(&f.ov, f.q, m + 2, 1, f.efd, &f.enqueued), 1);
    assert_int_equal(count(&f, SL_DROP_TIMEOUT), 1);
    drain(&f);
    teardown_f(&f);
}

static struct sl_queue_conf by_severity(enum sl_policy policy, double high_water)
{
    struct sl_queue_conf qc = SL_QUEUE_CONF_DEFAULT;
    qc.policy = policy;
    qc.drop_by_severity = true;
    qc.drop_severity = 6; /* info and debug */
    qc.high_water = high_water;
    return qc;
}

static void drop_severity_spares_the_severe(void **state)
{
    (void)state;
    struct fixture f;
    setup_with(&f, 10, by_severity(SL_POLICY_DROP, 0.5));
    struct sl_msg *a[6];
    for (int i = 0; i < 6; i++)
        a[i] = mk(6);
    assert_int_equal(sl_overload_offer(&f.ov, f.q, a, 6, -1, &f.enqueued), 6); /* under 5 */
    assert_int_equal(count(&f, SL_DROP_SEVERITY), 0);
    int sev[6] = {3, 6, 3, 7, 6, 3};
    struct sl_msg *b[6];
    for (int i = 0; i < 6; i++)
        b[i] = mk(sev[i]);
    assert_int_equal(sl_overload_offer(&f.ov, f.q, b, 6, -1, &f.enqueued), 6);
    assert_int_equal(count(&f, SL_DROP_SEVERITY), 3);
    assert_int_equal(atomic_load(&f.enqueued), 9);
    struct sl_msg *c[3] = {mk(2), mk(0), mk(4)};
    assert_int_equal(sl_overload_offer(&f.ov, f.q, c, 3, -1, &f.enqueued), 3);
    assert_int_equal(atomic_load(&f.enqueued), 10);
    assert_int_equal(count(&f, SL_DROP_FULL), 2);
    struct sl_msg *out[16];
    size_t n = sl_queue_pop(f.q, out, 16, 0);
    assert_int_equal(n, 10);
    int want[10] = {6, 6, 6, 6, 6, 6, 3, 3, 3, 2};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i]->severity, want[i]);
    sl_queue_commit(f.q, n);
    free_all(out, n);
    teardown_f(&f);
}

/* Under block, what is handed back is a suffix of the batch: a dropped
 * message is never among the ones the caller still owns. */
static void block_with_severity_hands_back_a_suffix(void **state)
{
    (void)state;
    struct fixture f;
    setup_with(&f, 4, by_severity(SL_POLICY_BLOCK, 0.25)); /* past 1 */
    struct sl_msg *a[2] = {mk(3), mk(3)};
    assert_int_equal(sl_overload_offer(&f.ov, f.q, a, 2, -1, &f.enqueued), 2);
    int sev[6] = {3, 6, 3, 3, 3, 6};
    struct sl_msg *b[6];
    for (int i = 0; i < 6; i++)
        b[i] = mk(sev[i]);
    assert_int_equal(sl_overload_offer(&f.ov, f.q, b, 6, f.efd, &f.enqueued), 3);
    assert_int_equal(count(&f, SL_DROP_SEVERITY), 1);
    for (int i = 3; i < 6; i++) /* still the caller's, alive */
        assert_int_equal(atomic_load(&b[i]->refs), 1);
    free_all(b + 3, 3);
    drain(&f);
    teardown_f(&f);
}

/* A disk queue's overflow decides, not its policy's name. */
static void disk_overflow_is_the_refusal(void **state)
{
    (void)state;
    struct fixture f;
    struct sl_queue_conf qc = SL_QUEUE_CONF_DEFAULT;
    qc.policy = SL_POLICY_DISK;
    qc.overflow = SL_POLICY_DROP;
    setup_with(&f, 2, qc);
    struct sl_msg *m[3] = {mk(6), mk(6), mk(6)};
    assert_int_equal(sl_overload_offer(&f.ov, f.q, m, 3, -1, &f.enqueued), 3);
    assert_int_equal(count(&f, SL_DROP_FULL), 1);
    drain(&f);
    teardown_f(&f);
}

/* A disk queue's fill is its bytes against disk.max_size: its memory part
 * is a cache that never refuses, so its depth says nothing of room. */
static void drop_severity_of_a_disk_queue_looks_at_its_bytes(void **state)
{
    (void)state;
    char dir[] = "/tmp/sluice-overload-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char qdir[64];
    snprintf(qdir, sizeof qdir, "%s/q", dir);
    struct sl_diskq_conf dc = {.dir = qdir, .mem_capacity = 4, .max_size = 1 << 16,
                               .sync = SL_DISK_SYNC_NONE, .name = "t"};
    struct fixture f;
    char err[256];
    assert_int_equal(sl_diskq_open(&f.q, &dc, err, sizeof err), 0);
    struct sl_queue_conf qc = by_severity(SL_POLICY_DISK, 0.5);
    qc.capacity = 4; /* far less than what the disk holds */
    qc.disk_max_size = dc.max_size;
    assert_int_equal(sl_overload_init(&f.ov, "t", &qc), 0);
    atomic_init(&f.enqueued, 0);
    f.efd = -1;
    size_t kept = 0;
    struct sl_queue_stats st;
    do { /* info messages enter until half the disk is used */
        struct sl_msg *m = mk(6);
        assert_int_equal(sl_overload_offer(&f.ov, f.q, &m, 1, -1, &f.enqueued), 1);
        sl_queue_stats(f.q, &st);
        kept++;
    } while (st.disk_bytes <= dc.max_size / 2 && kept < 100000);
    assert_true(kept > 8); /* past the memory part's capacity: depth did not decide */
    assert_int_equal(count(&f, SL_DROP_SEVERITY), 0);
    struct sl_msg *b[2] = {mk(6), mk(3)};
    assert_int_equal(sl_overload_offer(&f.ov, f.q, b, 2, -1, &f.enqueued), 2);
    assert_int_equal(count(&f, SL_DROP_SEVERITY), 1);
    assert_int_equal(atomic_load(&f.enqueued), kept + 1);
    assert_int_equal(drain(&f), kept + 1);
    sl_overload_destroy(&f.ov);
    sl_queue_free(f.q);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(drop_counts_the_overflow_as_full),
        cmocka_unit_test(block_hands_back_the_rest_and_wakes_at_room),
        cmocka_unit_test(block_timeout_stalls_and_room_ends_it),
        cmocka_unit_test(the_worker_stalls_an_output_nobody_offers_to),
        cmocka_unit_test(drop_severity_spares_the_severe),
        cmocka_unit_test(block_with_severity_hands_back_a_suffix),
        cmocka_unit_test(disk_overflow_is_the_refusal),
        cmocka_unit_test(drop_severity_of_a_disk_queue_looks_at_its_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
