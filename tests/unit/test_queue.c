/* SPDX-License-Identifier: MIT */
/* test_queue.c: the bounded output queue (core/output/queue.c). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
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

#include "output/queue.h"

/* {=== helpers */

/* A heap message whose raw bytes are a tag (first 8 bytes) plus padding. */
static struct sl_msg *mk(uint64_t tag, size_t len)
{
    char raw[256] = {0};
    if (len < sizeof tag)
        len = sizeof tag;
    assert_true(len <= sizeof raw);
    memcpy(raw, &tag, sizeof tag);
    struct sl_msg *m = sl_msg_new_heap(raw, len, "test");
    assert_non_null(m);
    return m;
}

static uint64_t tag_of(const struct sl_msg *m)
{
    uint64_t tag;
    memcpy(&tag, m->raw.p, sizeof tag);
    return tag;
}

static void unref_all(struct sl_msg **m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sl_msg_unref(m[i]);
}

static struct sl_queue *new_queue(size_t capacity, size_t max_bytes)
{
    struct sl_queue *q = NULL;
    assert_int_equal(sl_queue_new(&q, capacity, max_bytes), 0);
    assert_non_null(q);
    return q;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int new_eventfd(void)
{
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(efd >= 0);
    return efd;
}

/* Reads and resets the eventfd; 0 when nothing was written. */
static uint64_t take_event(int efd)
{
    uint64_t v = 0;
    if (read(efd, &v, sizeof v) != sizeof v)
        return 0;
    return v;
}
/* }=== */

/* {=== single thread */
static void test_new_rejects_zero_capacity(void **state)
{
    struct sl_queue *q = NULL;
    assert_int_equal(sl_queue_new(&q, 0, 0), -EINVAL);
    sl_queue_free(NULL); /* a no-op */
}

static void test_order(void **state)
{
    struct sl_queue *q = new_queue(8, 0);
    struct sl_msg *in[20], *out[20];
    size_t got = 0;
    /* 20 messages through a ring of 8, so the indices wrap twice. */
    for (uint64_t i = 0; i < 20; i++)
        in[i] = mk(i, 8);
    size_t pushed = 0;
    while (got < 20) {
        pushed += sl_queue_push(q, in + pushed, 20 - pushed > 3 ? 3 : 20 - pushed);
        got += sl_queue_pop(q, out + got, 2, 0);
    }
    assert_int_equal(pushed, 20);
    for (uint64_t i = 0; i < 20; i++)
        assert_int_equal(tag_of(out[i]), i);
    unref_all(out, 20);
    sl_queue_free(q);
}

static void test_bound_by_count(void **state)
{
    struct sl_queue *q = new_queue(4, 0);
    struct sl_msg *in[6], *out[6];
    for (uint64_t i = 0; i < 6; i++)
        in[i] = mk(i, 8);
    assert_int_equal(sl_queue_push(q, in, 6), 4);
    assert_int_equal(sl_queue_depth(q), 4);
    assert_int_equal(sl_queue_push(q, in + 4, 2), 0);
    assert_int_equal(sl_queue_pop(q, out, 6, 0), 4);
    for (uint64_t i = 0; i < 4; i++)
        assert_ptr_equal(out[i], in[i]);
    unref_all(out, 4);
    unref_all(in + 4, 2); /* never taken: still ours */
    sl_queue_free(q);
}

static void test_bound_by_bytes(void **state)
{
    struct sl_queue *q = new_queue(100, 100);
    struct sl_msg *in[4] = {mk(0, 40), mk(1, 40), mk(2, 40), mk(3, 10)};
    struct sl_msg *out[4];
    /* 80 + 40 > 100: the third stops the batch, and the fourth, which
     * would fit, is not taken past it, to keep the order. */
    assert_int_equal(sl_queue_push(q, in, 4), 2);
    assert_int_equal(sl_queue_push(q, in + 3, 1), 1); /* 80 + 10 fits */
    assert_int_equal(sl_queue_pop(q, out, 1, 0), 1);   /* 50 left */
    assert_int_equal(sl_queue_push(q, in + 2, 1), 1);  /* 50 + 40 fits */
    assert_int_equal(sl_queue_pop(q, out + 1, 3, 0), 3);
    assert_int_equal(tag_of(out[0]), 0);
    assert_int_equal(tag_of(out[1]), 1);
    assert_int_equal(tag_of(out[2]), 3);
    assert_int_equal(tag_of(out[3]), 2);
    unref_all(out, 4);
    sl_queue_free(q);
}

static void test_message_larger_than_max_bytes(void **state)
{
    struct sl_queue *q = new_queue(10, 16);
    struct sl_msg *big = mk(1, 100), *small = mk(2, 8), *out[2];
    /* Alone it goes in, or it would wedge the queue for ever. */
    assert_int_equal(sl_queue_push(q, &big, 1), 1);
    assert_int_equal(sl_queue_push(q, &small, 1), 0);
    assert_int_equal(sl_queue_pop(q, out, 2, 0), 1);
    assert_ptr_equal(out[0], big);
    assert_int_equal(sl_queue_push(q, &small, 1), 1);
    assert_int_equal(sl_queue_pop(q, out + 1, 2, 0), 1);
    unref_all(out, 2);
    sl_queue_free(q);
}

static void test_partial_pushes(void **state)
{
    struct sl_queue *q = new_queue(4, 0);
    struct sl_msg *in[10], *out[10];
    for (uint64_t i = 0; i < 10; i++)
        in[i] = mk(i, 8);
    size_t pushed = sl_queue_push(q, in, 10);
    assert_int_equal(pushed, 4);
    size_t got = sl_queue_pop(q, out, 2, 0);
    assert_int_equal(got, 2);
    assert_int_equal(sl_queue_push(q, in + pushed, 10 - pushed), 2);
    pushed += 2;
    got += sl_queue_pop(q, out + got, 10, 0);
    assert_int_equal(got, 6);
    pushed += sl_queue_push(q, in + pushed, 10 - pushed);
    assert_int_equal(pushed, 10);
    got += sl_queue_pop(q, out + got, 10, 0);
    assert_int_equal(got, 10);
    for (uint64_t i = 0; i < 10; i++)
        assert_int_equal(tag_of(out[i]), i);
    unref_all(out, 10);
    sl_queue_free(q);
}

static void test_pop_timeout(void **state)
{
    struct sl_queue *q = new_queue(4, 0);
    struct sl_msg *out[1];
    int64_t t0 = now_ms();
    assert_int_equal(sl_queue_pop(q, out, 1, 0), 0);
    assert_true(now_ms() - t0 < 50);
    t0 = now_ms();
    assert_int_equal(sl_queue_pop(q, out, 1, 100), 0);
    int64_t took = now_ms() - t0;
    assert_true(took >= 95);
    assert_true(took < 2000);
    sl_queue_free(q);
}

static void test_free_releases_queued(void **state)
{
    /* Run under ASan/LSan: a leak here fails the build's test. */
    struct sl_queue *q = new_queue(4, 0);
    struct sl_msg *in[3] = {mk(0, 8), mk(1, 8), mk(2, 8)};
    sl_msg_ref(in[0]);
    assert_int_equal(sl_queue_push(q, in, 3), 3);
    sl_queue_free(q);
    assert_int_equal(atomic_load(&in[0]->refs), 1); /* only our extra ref */
    sl_msg_unref(in[0]);
}

static void test_close_drains(void **state)
{
    struct sl_queue *q = new_queue(8, 0);
    struct sl_msg *in[4] = {mk(0, 8), mk(1, 8), mk(2, 8), mk(3, 8)};
    struct sl_msg *out[4];
    assert_int_equal(sl_queue_push(q, in, 3), 3);
    sl_queue_close(q);
    /* Still delivered after close. */
    assert_int_equal(sl_queue_push(q, in + 3, 1), 1);
    assert_int_equal(sl_queue_pop(q, out, 2, -1), 2);
    assert_int_equal(sl_queue_pop(q, out + 2, 4, -1), 2);
    /* Closed and empty: returns at once, even with an infinite timeout. */
    int64_t t0 = now_ms();
    assert_int_equal(sl_queue_pop(q, out, 4, -1), 0);
    assert_true(now_ms() - t0 < 50);
    unref_all(out, 4);
    sl_queue_free(q);
}
/* }=== */

/* {=== a consumer asleep */
struct sleeper {
    struct sl_queue *q;
    struct sl_msg *out[4];
    size_t got;
    int64_t took_ms;
};

static void *sleep_in_pop(void *arg)
{
    struct sleeper *s = arg;
    int64_t t0 = now_ms();
    s->got = sl_queue_pop(s->q, s->out, 4, -1);
    s->took_ms = now_ms() - t0;
    return NULL;
}

static void test_push_wakes_consumer(void **state)
{
    struct sleeper s = {.q = new_queue(4, 0)};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sleep_in_pop, &s), 0);
    usleep(50 * 1000);
    struct sl_msg *m = mk(7, 8);
    assert_int_equal(sl_queue_push(s.q, &m, 1), 1);
    pthread_join(t, NULL);
    assert_int_equal(s.got, 1);
    assert_ptr_equal(s.out[0], m);
    unref_all(s.out, 1);
    sl_queue_free(s.q);
}

static void test_close_wakes_consumer(void **state)
{
    struct sleeper s = {.q = new_queue(4, 0)};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sleep_in_pop, &s), 0);
    usleep(50 * 1000);
    sl_queue_close(s.q);
    pthread_join(t, NULL);
    assert_int_equal(s.got, 0);
    assert_true(s.took_ms < 5000);
    sl_queue_free(s.q);
}

static void test_wake_wakes_consumer(void **state)
{
    struct sleeper s = {.q = new_queue(4, 0)};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sleep_in_pop, &s), 0);
    usleep(50 * 1000);
    int64_t t0 = now_ms();
    sl_queue_wake(s.q);
    pthread_join(t, NULL);
    assert_int_equal(s.got, 0); /* woken with nothing to pop */
    assert_true(now_ms() - t0 < 1000);
    /* The wake is used up: the next pop waits its timeout again. */
    struct sl_msg *out[1];
    t0 = now_ms();
    assert_int_equal(sl_queue_pop(s.q, out, 1, 100), 0);
    assert_true(now_ms() - t0 >= 95);
    sl_queue_free(s.q);
}

static void test_wake_before_pop(void **state)
{
    /* A wake while the consumer is busy elsewhere is not lost. */
    struct sl_queue *q = new_queue(4, 0);
    sl_queue_wake(q);
    struct sl_msg *out[1];
    int64_t t0 = now_ms();
    assert_int_equal(sl_queue_pop(q, out, 1, -1), 0);
    assert_true(now_ms() - t0 < 1000);
    sl_queue_free(q);
}
/* }=== */

/* {=== room notifications */

/* Fills q (capacity 8) with tags 0..7. */
static void fill8(struct sl_queue *q)
{
    struct sl_msg *in[8];
    for (uint64_t i = 0; i < 8; i++)
        in[i] = mk(i, 8);
    assert_int_equal(sl_queue_push(q, in, 8), 8);
}

static void pop_and_drop(struct sl_queue *q, size_t n)
{
    struct sl_msg *out[16];
    assert_int_equal(sl_queue_pop(q, out, n, 0), n);
    unref_all(out, n);
}

static void test_notify_fires_at_half(void **state)
{
    struct sl_queue *q = new_queue(8, 0);
    int efd = new_eventfd();
    fill8(q);
    sl_queue_notify_room(q, efd);
    assert_int_equal(take_event(efd), 0);
    pop_and_drop(q, 3); /* depth 5 > 4 */
    assert_int_equal(take_event(efd), 0);
    pop_and_drop(q, 1); /* depth 4 = capacity / 2 */
    assert_int_equal(take_event(efd), 1);
    /* One-shot: later pops write nothing more. */
    pop_and_drop(q, 4);
    assert_int_equal(take_event(efd), 0);
    close(efd);
    sl_queue_free(q);
}

static void test_notify_at_once_when_roomy(void **state)
{
    struct sl_queue *q = new_queue(8, 0);
    int efd = new_eventfd();
    sl_queue_notify_room(q, efd); /* empty */
    assert_int_equal(take_event(efd), 1);
    struct sl_msg *in[4] = {mk(0, 8), mk(1, 8), mk(2, 8), mk(3, 8)};
    assert_int_equal(sl_queue_push(q, in, 4), 4);
    sl_queue_notify_room(q, efd); /* exactly half */
    assert_int_equal(take_event(efd), 1);
    pop_and_drop(q, 4);
    assert_int_equal(take_event(efd), 0); /* nothing was pending */
    close(efd);
    sl_queue_free(q);
}

static void test_notify_twice_writes_once(void **state)
{
    struct sl_queue *q = new_queue(8, 0);
    int a = new_eventfd(), b = new_eventfd();
    fill8(q);
    sl_queue_notify_room(q, a);
    sl_queue_notify_room(q, a);
    sl_queue_notify_room(q, b);
    pop_and_drop(q, 8);
    assert_int_equal(take_event(a), 1);
    assert_int_equal(take_event(b), 1);
    close(a);
    close(b);
    sl_queue_free(q);
}

static void test_cancel_notify(void **state)
{
    struct sl_queue *q = new_queue(8, 0);
    int a = new_eventfd(), b = new_eventfd();
    fill8(q);
    sl_queue_notify_room(q, a);
    sl_queue_notify_room(q, b);
    sl_queue_cancel_notify(q, a);
    sl_queue_cancel_notify(q, a); /* harmless when not pending */
    pop_and_drop(q, 8);
    assert_int_equal(take_event(a), 0);
    assert_int_equal(take_event(b), 1);
    close(a);
    close(b);
    sl_queue_free(q);
}

static void test_notify_waits_for_bytes_too(void **state)
{
    /* Few messages but most of the bytes: no room yet for a waiting batch. */
    struct sl_queue *q = new_queue(8, 100);
    int efd = new_eventfd();
    struct sl_msg *in[3] = {mk(0, 40), mk(1, 40), mk(2, 10)};
    assert_int_equal(sl_queue_push(q, in, 3), 3); /* 90 bytes */
    sl_queue_notify_room(q, efd);
    assert_int_equal(take_event(efd), 0);
    pop_and_drop(q, 1); /* 50 bytes: half */
    assert_int_equal(take_event(efd), 1);
    pop_and_drop(q, 2);
    close(efd);
    sl_queue_free(q);
}
/* }=== */

/* {=== many producers, one consumer */
#define PRODUCERS 4
#define PER_PRODUCER 100000
#define SMALL_CAPACITY 64

struct producer {
    struct sl_queue *q;
    unsigned id;
    unsigned stalls; /* waits for room that timed out: lost wakeups */
    unsigned failures;
};

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Waits for room the way an input thread does: ask, then poll the eventfd. */
static void wait_for_room(struct producer *p, int efd)
{
    sl_queue_notify_room(p->q, efd);
    struct pollfd pfd = {.fd = efd, .events = POLLIN};
    if (poll(&pfd, 1, 10000) != 1)
        p->stalls++;
    take_event(efd);
}

static void *produce(void *arg)
{
    struct producer *p = arg;
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) {
        p->failures++;
        return NULL;
    }
    uint32_t rng = 2463534242u + p->id;
    struct sl_msg *batch[40];
    uint32_t seq = 0;
    while (seq < PER_PRODUCER) {
        size_t n = 1 + xorshift(&rng) % 40;
        if (n > PER_PRODUCER - seq)
            n = PER_PRODUCER - seq;
        for (size_t i = 0; i < n; i++) {
            uint64_t tag = (uint64_t)p->id << 32 | (seq + i);
            char raw[sizeof tag];
            memcpy(raw, &tag, sizeof tag);
            batch[i] = sl_msg_new_heap(raw, sizeof raw, "t");
            if (batch[i] == NULL) {
                p->failures++;
                unref_all(batch, i);
                close(efd);
                return NULL;
            }
        }
        size_t done = 0;
        while (done < n) {
            size_t took = sl_queue_push(p->q, batch + done, n - done);
            done += took;
            /* Half the time wait for room, half the time just retry. */
            if (done < n && (xorshift(&rng) & 1))
                wait_for_room(p, efd);
        }
        seq += (uint32_t)n;
    }
    sl_queue_cancel_notify(p->q, efd);
    close(efd);
    return NULL;
}

static void test_concurrent_producers(void **state)
{
    alarm(120); /* bounded even if a wakeup is lost for good */
    struct sl_queue *q = new_queue(SMALL_CAPACITY, 0);
    struct producer prod[PRODUCERS];
    pthread_t threads[PRODUCERS];
    for (unsigned i = 0; i < PRODUCERS; i++) {
        prod[i] = (struct producer){.q = q, .id = i};
        assert_int_equal(pthread_create(&threads[i], NULL, produce, &prod[i]), 0);
    }

    uint32_t next[PRODUCERS] = {0};
    size_t total = 0, bad = 0;
    struct sl_msg *out[32];
    while (total < (size_t)PRODUCERS * PER_PRODUCER) {
        size_t n = sl_queue_pop(q, out, 1 + total % 32, 10000);
        if (n == 0)
            break; /* 10 s with nothing: fails below */
        for (size_t i = 0; i < n; i++) {
            uint64_t tag = tag_of(out[i]);
            unsigned id = (unsigned)(tag >> 32);
            /* Every message exactly once, each producer's in order. */
            if (id >= PRODUCERS || (uint32_t)tag != next[id])
                bad++;
            else
                next[id]++;
            sl_msg_unref(out[i]);
        }
        total += n;
    }
    for (unsigned i = 0; i < PRODUCERS; i++)
        pthread_join(threads[i], NULL);
    alarm(0);

    assert_int_equal(bad, 0);
    assert_int_equal(total, (size_t)PRODUCERS * PER_PRODUCER);
    for (unsigned i = 0; i < PRODUCERS; i++) {
        assert_int_equal(next[i], PER_PRODUCER);
        assert_int_equal(prod[i].stalls, 0);
        assert_int_equal(prod[i].failures, 0);
    }
    assert_int_equal(sl_queue_depth(q), 0);
    sl_queue_free(q);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_zero_capacity),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_bound_by_count),
        cmocka_unit_test(test_bound_by_bytes),
        cmocka_unit_test(test_message_larger_than_max_bytes),
        cmocka_unit_test(test_partial_pushes),
        cmocka_unit_test(test_pop_timeout),
        cmocka_unit_test(test_free_releases_queued),
        cmocka_unit_test(test_close_drains),
        cmocka_unit_test(test_push_wakes_consumer),
        cmocka_unit_test(test_close_wakes_consumer),
        cmocka_unit_test(test_wake_wakes_consumer),
        cmocka_unit_test(test_wake_before_pop),
        cmocka_unit_test(test_notify_fires_at_half),
        cmocka_unit_test(test_notify_at_once_when_roomy),
        cmocka_unit_test(test_notify_twice_writes_once),
        cmocka_unit_test(test_cancel_notify),
        cmocka_unit_test(test_notify_waits_for_bytes_too),
        cmocka_unit_test(test_concurrent_producers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
