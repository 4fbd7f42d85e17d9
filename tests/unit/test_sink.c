/* SPDX-License-Identifier: MIT */
/* test_sink.c: one output's worker (core/output/sink.c), driven through a
 * fake plugin whose descriptor is built here and handed to
 * sl_sink_open_with(), so no shared object is loaded. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "output/diskq.h"
#include "output/fanout.h"
#include "output/sink.h"

/* {=== the fake plugin: answers as the test sets them, counts every call */
struct fake {
    atomic_int write_answer, reopen_answer, flush_answer, tick_answer;
    atomic_int reopen_ms; /* how long reopen() takes */
    atomic_uint writes, written, abandons, reopens, flushes, ticks, opens, closes;
    atomic_uint retries_left; /* write answers RETRY this often, then write_answer */
    atomic_uint fatals_left;  /* then FATAL this often, then write_answer */
    atomic_size_t progress;   /* what progress() says is written of a RETRY batch */
    atomic_uint progress_calls;
    atomic_uintptr_t last_first; /* the first message of the last batch offered */
    atomic_size_t last_n;
};

static struct fake F;

/* What the worker did, in order ("pop 3", "write 3", "commit 3"), written
 * only by the worker and read after sl_sink_close() joined it. */
static char events[4096];

static void event(const char *what, size_t n)
{
    size_t len = strlen(events);
    snprintf(events + len, sizeof events - len, "%s%s %zu", len ? ", " : "", what, n);
}

static void fake_reset(void)
{
    memset(&F, 0, sizeof F); /* every answer SLUICE_OK */
    events[0] = '\0';
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int fake_open(const struct sluice_host *host, const sluice_config *cfg, void **state,
                     char *err, size_t errlen)
{
    atomic_fetch_add(&F.opens, 1);
    *state = &F;
    return 0;
}

static int fake_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    atomic_fetch_add(&F.writes, 1);
    event("write", n);
    atomic_store(&F.last_first, (uintptr_t)msgs[0]);
    atomic_store(&F.last_n, n);
    unsigned left = atomic_load(&F.retries_left);
    if (left > 0) {
        atomic_store(&F.retries_left, left - 1);
        return SLUICE_RETRY;
    }
    left = atomic_load(&F.fatals_left);
    if (left > 0) {
        atomic_store(&F.fatals_left, left - 1);
        return SLUICE_FATAL;
    }
    int rc = atomic_load(&F.write_answer);
    if (rc == SLUICE_OK)
        atomic_fetch_add(&F.written, (unsigned)n);
    return rc;
}

static int fake_reopen(void *state)
{
    int ms = atomic_load(&F.reopen_ms);
    if (ms > 0)
        sleep_ms(ms);
    atomic_fetch_add(&F.reopens, 1);
    return atomic_load(&F.reopen_answer);
}

static int fake_flush(void *state)
{
    atomic_fetch_add(&F.flushes, 1);
    return atomic_load(&F.flush_answer);
}

static void fake_close(void *state)
{
    atomic_fetch_add(&F.closes, 1);
}

static void fake_abandon(void *state)
{
    atomic_fetch_add(&F.abandons, 1);
}

static int fake_tick(void *state)
{
    atomic_fetch_add(&F.ticks, 1);
    return atomic_load(&F.tick_answer);
}

static size_t fake_progress(void *state)
{
    atomic_fetch_add(&F.progress_calls, 1);
    return atomic_load(&F.progress);
}

static const struct sluice_output_plugin fake_api = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_output_plugin),
    .name = "fake",
    .open = fake_open,
    .write = fake_write,
    .flush = fake_flush,
    .reopen = fake_reopen,
    .close = fake_close,
    .abandon = fake_abandon,
    .tick = fake_tick,
    .progress = fake_progress,
};

/* The same plugin as built before abandon() and tick() were appended: its
 * size ends before them, so the daemon must not read them. */
static struct sluice_output_plugin old_api;

static struct sl_output_conf conf(const char *name, size_t capacity, enum sl_policy policy)
{
    return (struct sl_output_conf){.name = (char *)name, .type = "fake",
                                   .queue = {.capacity = capacity, .policy = policy},
                                   .file = "sluice.lua", .line = 1};
}

static struct sl_sink *open_fake(const struct sluice_output_plugin *api, size_t capacity,
                                 enum sl_policy policy)
{
    struct sl_output_conf c = conf("fake", capacity, policy);
    struct sl_sink *s = NULL;
    char err[256] = "";
    int rc = sl_sink_open_with(&s, &c, api, NULL, err, sizeof err);
    if (rc != 0)
        fail_msg("sl_sink_open_with: %d %s", rc, err);
    return s;
}

static void push_n(struct sl_sink *s, size_t n)
{
    struct sl_msg *m[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        m[i] = sl_msg_new_heap("<14>hello", 9, "test");
        assert_non_null(m[i]);
    }
    assert_int_equal(sl_sink_offer(s, m, n, -1), n);
}

/* Polls until *c reaches want or ms pass; returns the last value. */
static unsigned wait_count(atomic_uint *c, unsigned want, int ms)
{
    int64_t end = now_ms() + ms;
    while (atomic_load(c) < want && now_ms() < end)
        sleep_ms(2);
    return atomic_load(c);
}
/* }=== */

/* {=== batch identity and tick (the ABI's appended members) */
static void test_given_up_retry_is_abandoned(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_RETRY);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    push_n(s, 3);
    assert_true(wait_count(&F.writes, 1, 2000) >= 1);
    struct sl_sink_totals t = {0};
    sl_sink_close(s, 50, &t);
    assert_int_equal(atomic_load(&F.abandons), 1);
    assert_int_equal(t.abandoned, 3);
    assert_int_equal(t.failed, 0);
    assert_int_equal(t.written, 0);
    assert_int_equal(atomic_load(&F.closes), 1);
}

static void test_retry_then_ok_is_not_abandoned(void **state)
{
    fake_reset();
    atomic_store(&F.retries_left, 2);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    push_n(s, 5);
    assert_true(wait_count(&F.written, 5, 3000) == 5);
    struct sl_sink_totals t = {0};
    sl_sink_close(s, 1000, &t);
    assert_int_equal(atomic_load(&F.writes), 3); /* the same batch thrice */
    assert_int_equal(atomic_load(&F.abandons), 0);
    assert_int_equal(t.written, 5);
    assert_int_equal(t.failed, 0);
}

/* A FATAL batch kept nothing in the plugin: given up at the deadline, it
 * needs no abandon() and counts nothing as written. */
static void test_fatal_is_not_abandoned(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_FATAL);
    atomic_store(&F.progress, 2);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    push_n(s, 4);
    assert_true(wait_count(&F.writes, 1, 2000) >= 1);
    struct sl_sink_totals t = {0};
    sl_sink_close(s, 50, &t);
    assert_int_equal(atomic_load(&F.abandons), 0);
    assert_int_equal(atomic_load(&F.progress_calls), 0);
    assert_int_equal(t.abandoned, 4);
    assert_int_equal(t.written, 0);
}

/* Issue item 10: under block, a write error is never a reason to discard.
 * A plugin that answers FATAL (EROFS, EPERM) for a while and then works
 * gets every message written, once, and the stats show the streak. */
static void test_block_keeps_a_fatal_batch_until_it_works(void **state)
{
    fake_reset();
    atomic_store(&F.fatals_left, 5);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    push_n(s, 4);
    assert_true(wait_count(&F.writes, 2, 2000) >= 2);
    struct sl_sink_stats st;
    sl_sink_stats(s, &st);
    assert_true(st.retrying);
    assert_int_equal(st.last_error, SLUICE_FATAL);
    assert_true(wait_count(&F.written, 4, 5000) == 4);
    struct sl_sink_totals t = {0};
    sl_sink_close(s, 1000, &t);
    assert_int_equal(atomic_load(&F.writes), 6); /* 5 refused, 1 written */
    assert_int_equal(t.written, 4);
    assert_int_equal(t.failed, 0);
    assert_int_equal(t.abandoned, 0);
}

/* Under drop, too, a refused batch is offered again (as syslog-ng keeps
 * retrying a failing destination): what is lost is only what did not fit
 * the queue meanwhile, counted as dropped. */
static void test_drop_keeps_a_fatal_batch_and_drops_only_the_overflow(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_FATAL);
    struct sl_sink *s = open_fake(&fake_api, 4, SL_POLICY_DROP);
    push_n(s, 4);
    assert_true(wait_count(&F.writes, 2, 2000) >= 2); /* the worker holds those 4 */
    push_n(s, 10); /* 4 fit the queue, 6 are dropped */
    struct sl_sink_stats st;
    sl_sink_stats(s, &st);
    assert_true(st.retrying);
    assert_true(st.write_errors >= 2);
    atomic_store(&F.write_answer, SLUICE_OK);
    assert_true(wait_count(&F.written, 8, 5000) == 8);
    sl_sink_stats(s, &st);
    assert_false(st.retrying);
    struct sl_sink_totals t = {0};
    sl_sink_close(s, 1000, &t);
    assert_int_equal(t.written, 8);
    assert_int_equal(t.dropped, 6);
    assert_int_equal(t.failed, 0);
    assert_int_equal(t.abandoned, 0);
}

/* Issue item 12: a batch given up at shutdown after a RETRY with progress
 * (the plugin wrote part of it: a partial write()) counts only its
 * unwritten part as lost; the written part is written. */
static void test_shutdown_counts_only_the_unwritten_part_lost(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_RETRY);
    atomic_store(&F.progress, 3);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    push_n(s, 5);
    assert_true(wait_count(&F.writes, 1, 2000) >= 1);
    struct sl_sink_totals t = {0};
    sl_sink_close(s, 50, &t);
    assert_int_equal(atomic_load(&F.abandons), 1);
    assert_int_equal(t.written, 3);
    assert_int_equal(t.abandoned, 2);
    assert_int_equal(t.failed, 0);
}

/* A reload replaces the instance while a batch waits for its retry: what
 * the old instance wrote of it (progress()) is not offered to the new one,
 * which would write it twice. */
static void test_swap_mid_batch_offers_only_the_unwritten_rest(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_RETRY);
    atomic_store(&F.progress, 3);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    push_n(s, 5);
    assert_true(wait_count(&F.writes, 1, 2000) >= 1);
    struct sl_output_conf c = conf("fake", 100, SL_POLICY_BLOCK);
    struct sl_sink_instance *next = NULL;
    char err[256] = "";
    assert_int_equal(sl_sink_instance_open_with(&next, &c, &fake_api, err, sizeof err), 0);
    sl_sink_change(s, next);
    assert_int_equal(wait_count(&F.abandons, 1, 2000), 1); /* the old one let it go */
    atomic_store(&F.write_answer, SLUICE_OK);
    assert_true(wait_count(&F.written, 2, 2000) >= 2);
    struct sl_sink_totals t = {0};
    sl_sink_close(s, 1000, &t);
    assert_int_equal(atomic_load(&F.last_n), 2);
    assert_int_equal(atomic_load(&F.written), 2);
    assert_int_equal(t.written, 5);
    assert_int_equal(t.abandoned, 0);
}

/* A reload's new policy applies to the next offer, while the queue keeps
 * its size and its kind (a memory queue does not become a disk one). */
static void test_change_applies_the_policy_and_keeps_the_queue(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_RETRY); /* stuck: the queue fills */
    struct sl_sink *s = open_fake(&fake_api, 4, SL_POLICY_BLOCK);
    struct sl_msg *m[12];
    for (int i = 0; i < 12; i++)
        m[i] = sl_msg_new_heap("x", 1, "t");
    assert_true(sl_sink_offer(s, m, 1, -1) == 1);
    assert_true(wait_count(&F.writes, 1, 2000) >= 1); /* the worker holds it */
    size_t taken = sl_sink_offer(s, m + 1, 5, -1);
    assert_int_equal(taken, 4); /* blocks: the rest is handed back */
    struct sl_output_conf c = conf("fake", 1000, SL_POLICY_DISK);
    c.queue.policy = SL_POLICY_DROP;
    struct sl_sink_instance *next = NULL;
    char err[256] = "";
    assert_int_equal(sl_sink_instance_open_with(&next, &c, &fake_api, err, sizeof err), 0);
    sl_sink_change(s, next);
    assert_int_equal(sl_sink_conf(s)->queue.capacity, 4);
    assert_int_equal(sl_sink_conf(s)->queue.policy, SL_POLICY_DROP);
    assert_int_equal(sl_sink_offer(s, m + 6, 6, -1), 6); /* drops now */
    struct sl_sink_stats st;
    sl_sink_stats(s, &st);
    assert_int_equal(st.dropped_full, 6);
    assert_int_equal(st.dropped, 6);
    sl_msg_unref(m[5]); /* handed back by the blocking offer, never offered again */
    sl_sink_close(s, 50, NULL);
}

/* A progress() past the batch is a plugin bug: it counts the batch, no more. */
static void test_progress_past_the_batch_is_clamped(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_RETRY);
    atomic_store(&F.progress, 99);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    push_n(s, 2);
    assert_true(wait_count(&F.writes, 1, 2000) >= 1);
    struct sl_sink_totals t = {0};
    sl_sink_close(s, 50, &t);
    assert_int_equal(t.written, 2);
    assert_int_equal(t.abandoned, 0);
}

/* Item 5: one message at a time into a refusing plugin, 8 tries: the old
 * worker logged a line per refused batch, the new one a line when the
 * streak starts, at most one more a minute, and one when it ends. */
static void refused_eight_times(void)
{
    atomic_store(&F.fatals_left, 8);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    for (unsigned i = 0; i < 8; i++) {
        push_n(s, 1);
        assert_true(wait_count(&F.writes, i + 1, 3000) >= i + 1);
    }
    assert_true(wait_count(&F.written, 8, 5000) == 8);
    sl_sink_close(s, 1000, NULL);
}

static int count_logged(void (*fn)(void), const char *needle);

static void test_write_errors_are_rate_limited_in_the_log(void **state)
{
    fake_reset();
    int n = count_logged(refused_eight_times, "output \"fake\"");
    assert_true(n >= 1);
    assert_true(n <= 3);
}

static void test_tick_while_idle(void **state)
{
    fake_reset();
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    sleep_ms(450);
    unsigned ticks = atomic_load(&F.ticks);
    sl_sink_close(s, 1000, NULL);
    /* About every 100 ms: 4 in 450 ms, give or take a slow machine. */
    assert_true(ticks >= 2);
    assert_true(ticks <= 6);
}

static void test_tick_under_load(void **state)
{
    fake_reset();
    struct sl_sink *s = open_fake(&fake_api, 1000, SL_POLICY_BLOCK);
    int64_t end = now_ms() + 400;
    while (now_ms() < end) {
        push_n(s, 8);
        sleep_ms(1);
    }
    unsigned ticks = atomic_load(&F.ticks);
    sl_sink_close(s, 1000, NULL);
    assert_true(ticks >= 2);
}

/* Runs fn with the daemon's log (stderr) going to a temporary file, and
 * returns how often `needle` occurs in what was logged. */
static int count_logged(void (*fn)(void), const char *needle)
{
    char path[] = "/tmp/test_sink_log_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    char buf[8192];
    ssize_t len = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    assert_true(len >= 0);
    buf[len] = '\0';
    int n = 0;
    for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void failing_ticks(void)
{
    atomic_store(&F.tick_answer, SLUICE_RETRY);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    assert_true(wait_count(&F.ticks, 3, 2000) >= 3);
    atomic_store(&F.tick_answer, SLUICE_OK);
    unsigned at = atomic_load(&F.ticks);
    assert_true(wait_count(&F.ticks, at + 2, 2000) >= at + 2);
    atomic_store(&F.tick_answer, SLUICE_FATAL);
    at = atomic_load(&F.ticks);
    assert_true(wait_count(&F.ticks, at + 3, 2000) >= at + 3);
    sl_sink_close(s, 1000, NULL);
}

/* Called on while it fails, logged once per streak of failures. */
static void test_failing_tick_is_logged_once_per_streak(void **state)
{
    fake_reset();
    assert_int_equal(count_logged(failing_ticks, "tick() answered"), 2);
}

static void test_tick_while_retrying(void **state)
{
    /* A plugin that reconnects in tick() must get there while its write()
     * answers RETRY. */
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_RETRY);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    push_n(s, 1);
    assert_true(wait_count(&F.writes, 1, 2000) >= 1);
    unsigned at = atomic_load(&F.ticks);
    sleep_ms(450);
    unsigned ticks = atomic_load(&F.ticks) - at;
    sl_sink_close(s, 30, NULL);
    assert_true(ticks >= 2);
}

static void test_old_descriptor_without_abandon_and_tick(void **state)
{
    fake_reset();
    old_api = fake_api;
    old_api.size = (uint32_t)offsetof(struct sluice_output_plugin, abandon);
    atomic_store(&F.write_answer, SLUICE_RETRY);
    struct sl_sink *s = open_fake(&old_api, 100, SL_POLICY_BLOCK);
    push_n(s, 2);
    assert_true(wait_count(&F.writes, 1, 2000) >= 1);
    sleep_ms(250);
    struct sl_sink_totals t = {0};
    sl_sink_close(s, 50, &t);
    assert_int_equal(atomic_load(&F.ticks), 0);
    assert_int_equal(atomic_load(&F.abandons), 0);
    assert_int_equal(t.abandoned, 2);
}
/* }=== */

/* {=== requests: reopen and flush, answered on an eventfd */
static int new_eventfd(void)
{
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(efd >= 0);
    return efd;
}

/* Waits up to ms for efd to be written; true when it was. */
static bool wait_event(int efd, int ms)
{
    struct pollfd p = {.fd = efd, .events = POLLIN};
    if (poll(&p, 1, ms) != 1)
        return false;
    uint64_t v;
    return read(efd, &v, sizeof v) == sizeof v;
}

static void test_reopen_answered_at_once_when_idle(void **state)
{
    fake_reset();
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    sleep_ms(30); /* the worker is asleep in pop */
    int efd = new_eventfd();
    struct sl_sink_ticket t = {.efd = efd};
    int64_t t0 = now_ms();
    sl_sink_request(s, SL_SINK_REOPEN, &t);
    assert_true(wait_event(efd, 2000));
    /* Not when a 100 ms pop timed out: at once. */
    assert_true(now_ms() - t0 < 50);
    assert_true(atomic_load(&t.done));
    assert_int_equal(t.status, 0);
    assert_int_equal(atomic_load(&F.reopens), 1);
    sl_sink_close(s, 1000, NULL);
    close(efd);
}

static void test_reopen_while_retrying(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_RETRY);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    push_n(s, 1);
    assert_true(wait_count(&F.writes, 1, 2000) >= 1);
    sleep_ms(300); /* deep in the backoff: pauses of 160 ms and more */
    int efd = new_eventfd();
    struct sl_sink_ticket t = {.efd = efd};
    int64_t t0 = now_ms();
    sl_sink_request(s, SL_SINK_REOPEN, &t);
    assert_true(wait_event(efd, 2000));
    assert_true(now_ms() - t0 < 100);
    assert_int_equal(t.status, 0);
    sl_sink_close(s, 30, NULL);
    close(efd);
}

static void test_failed_reopen_and_flush_are_answered(void **state)
{
    fake_reset();
    atomic_store(&F.reopen_answer, SLUICE_RETRY);
    atomic_store(&F.flush_answer, SLUICE_FATAL);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    int efd = new_eventfd();
    struct sl_sink_ticket r = {.efd = efd}, f = {.efd = efd};
    sl_sink_request(s, SL_SINK_REOPEN, &r);
    sl_sink_request(s, SL_SINK_FLUSH, &f);
    int64_t end = now_ms() + 2000;
    while (!(atomic_load(&r.done) && atomic_load(&f.done)) && now_ms() < end)
        wait_event(efd, 100);
    assert_true(atomic_load(&r.done) && atomic_load(&f.done));
    assert_int_equal(r.status, -EIO);
    assert_int_equal(f.status, -EIO);
    sl_sink_close(s, 1000, NULL);
    close(efd);
}

static void test_waiting_requests_share_one_call(void **state)
{
    fake_reset();
    atomic_store(&F.reopen_ms, 200);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    struct sl_sink_ticket t[4] = {{.efd = -1}, {.efd = -1}, {.efd = -1}, {.efd = -1}};
    sl_sink_request(s, SL_SINK_REOPEN, &t[0]);
    sleep_ms(50); /* the first reopen is under way: the others wait for the next */
    for (int i = 1; i < 4; i++)
        sl_sink_request(s, SL_SINK_REOPEN, &t[i]);
    assert_true(wait_count(&F.reopens, 2, 3000) == 2);
    sleep_ms(50);
    for (int i = 0; i < 4; i++)
        assert_true(atomic_load(&t[i].done));
    assert_int_equal(atomic_load(&F.reopens), 2);
    sl_sink_close(s, 1000, NULL);
}

static void test_flush_waits_for_what_was_queued(void **state)
{
    fake_reset();
    atomic_store(&F.retries_left, 3); /* 10 + 20 + 40 ms of backoff */
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    push_n(s, 5);
    struct sl_sink_ticket t = {.efd = -1};
    sl_sink_request(s, SL_SINK_FLUSH, &t);
    int64_t end = now_ms() + 3000;
    while (!atomic_load(&t.done) && now_ms() < end)
        sleep_ms(1);
    assert_true(atomic_load(&t.done));
    assert_int_equal(atomic_load(&F.written), 5); /* written before the flush answered */
    assert_int_equal(atomic_load(&F.flushes), 1);
    sl_sink_close(s, 1000, NULL);
}

static void test_close_answers_what_waits(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_RETRY);
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    push_n(s, 1);
    assert_true(wait_count(&F.writes, 1, 2000) >= 1);
    /* The worker retries its batch: the flush waits for it until close
     * gives the batch up; then the final flush() answers it. */
    int efd = new_eventfd();
    struct sl_sink_ticket f = {.efd = efd};
    sl_sink_request(s, SL_SINK_FLUSH, &f);
    sleep_ms(30);
    assert_false(atomic_load(&f.done));
    sl_sink_close(s, 50, NULL);
    assert_true(atomic_load(&f.done));
    assert_int_equal(f.status, 0);
    assert_true(wait_event(efd, 0));
    close(efd);
}

static void test_fanout_names_each_failure(void **state)
{
    fake_reset();
    struct sl_output_conf ca = conf("a", 100, SL_POLICY_BLOCK);
    struct sl_output_conf cb = conf("b", 100, SL_POLICY_BLOCK);
    struct sl_sink *s[2];
    char err[128];
    assert_int_equal(sl_sink_open_with(&s[0], &ca, &fake_api, NULL, err, sizeof err), 0);
    static struct sluice_output_plugin failing;
    failing = fake_api;
    failing.reopen = NULL; /* no reopen: OK at once */
    failing.flush = fake_flush;
    assert_int_equal(sl_sink_open_with(&s[1], &cb, &failing, NULL, err, sizeof err), 0);
    atomic_store(&F.reopen_answer, SLUICE_RETRY);
    int efd = new_eventfd();
    struct sl_fanout *f;
    assert_int_equal(sl_fanout_new(&f, s, 2, SL_SINK_REOPEN, efd, 5000), 0);
    int64_t end = now_ms() + 3000;
    while (!sl_fanout_done(f) && now_ms() < end)
        wait_event(efd, 100);
    assert_true(sl_fanout_done(f));
    struct sluice_buf b = {0};
    assert_int_equal(sl_fanout_answer(f, &b), -EIO);
    assert_non_null(b.data);
    assert_true(b.len == strlen("error: output \"a\": reopen() failed\n"));
    assert_memory_equal(b.data, "error: output \"a\": reopen() failed\n", b.len);
    free(b.data);
    sl_fanout_free(f);
    /* late: a deadline passes before a slow reopen answers */
    atomic_store(&F.reopen_answer, SLUICE_OK);
    atomic_store(&F.reopen_ms, 300);
    assert_int_equal(sl_fanout_new(&f, s, 2, SL_SINK_REOPEN, efd, 50), 0);
    sleep_ms(100);
    assert_true(sl_fanout_expired(f, now_ms()));
    b = (struct sluice_buf){0};
    assert_int_equal(sl_fanout_answer(f, &b), -EIO);
    assert_non_null(strstr(b.data, "output \"a\": did not reopen within 50 ms"));
    free(b.data);
    sl_sink_close(s[0], 1000, NULL); /* answers, if the worker has not */
    sl_sink_close(s[1], 1000, NULL);
    assert_true(sl_fanout_done(f));
    sl_fanout_free(f);
    close(efd);
}
/* Every allocation of sl_fanout_new() and sl_sink_open_with() failing in
 * turn: each fails whole, with -ENOMEM (and a reason, for the sink), and
 * sends no request, so nothing borrows a ticket of a fanout never made.
 * Under ASan, whatever a failing path leaves behind is a leak. */
static void test_out_of_memory(void **state)
{
    fake_reset();
    struct sl_output_conf c = conf("oom", 100, SL_POLICY_BLOCK);
    for (long n = 0;; n++) {
        struct sl_sink *s = NULL;
        char err[256] = "";
        sl_alloc_fail_after(n);
        int rc = sl_sink_open_with(&s, &c, &fake_api, NULL, err, sizeof err);
        long made = sl_alloc_fail_after(-1);
        if (rc == 0) {
            assert_true(made <= n);
            sl_sink_close(s, 1000, NULL);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
        assert_non_null(strstr(err, "output \"oom\""));
        assert_true(n < 100);
    }
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    for (long n = 0;; n++) {
        struct sl_fanout *f = NULL;
        sl_alloc_fail_after(n);
        int rc = sl_fanout_new(&f, &s, 1, SL_SINK_REOPEN, -1, 1000);
        sl_alloc_fail_after(-1);
        if (rc == 0) {
            int64_t end = now_ms() + 2000;
            while (!sl_fanout_done(f) && now_ms() < end)
                sleep_ms(1);
            assert_true(sl_fanout_done(f));
            sl_fanout_free(f);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
        assert_true(n < 100);
    }
    sleep_ms(20);
    assert_int_equal(atomic_load(&F.reopens), 1); /* only the fanout that was made asked */
    sl_sink_close(s, 1000, NULL);
}
/* }=== */

/* {=== the policy, the counters, and the queue's pop -> write -> commit */

/* A queue that records the consumer's calls and hands them on to a memory
 * queue: a second implementation of the interface, as a disk queue will be. */
struct watchq {
    struct sl_queue base;
    struct sl_queue *inner;
};

static struct sl_queue *inner(struct sl_queue *q)
{
    return ((struct watchq *)q)->inner;
}

static size_t w_push(struct sl_queue *q, struct sl_msg *const *m, size_t n)
{
    return sl_queue_push(inner(q), m, n);
}

static size_t w_pop(struct sl_queue *q, struct sl_msg **out, size_t max, int timeout_ms)
{
    size_t n = sl_queue_pop(inner(q), out, max, timeout_ms);
    if (n > 0)
        event("pop", n);
    return n;
}

static void w_commit(struct sl_queue *q, size_t n)
{
    event("commit", n);
    sl_queue_commit(inner(q), n);
}

static size_t w_depth(struct sl_queue *q) { return sl_queue_depth(inner(q)); }
static void w_close(struct sl_queue *q) { sl_queue_close(inner(q)); }
static void w_notify(struct sl_queue *q, int efd) { sl_queue_notify_room(inner(q), efd); }
static void w_cancel(struct sl_queue *q, int efd) { sl_queue_cancel_notify(inner(q), efd); }
static void w_wake(struct sl_queue *q) { sl_queue_wake(inner(q)); }

static void w_free(struct sl_queue *q)
{
    sl_queue_free(inner(q));
    free(q);
}

static const struct sl_queue_ops watch_ops = {
    .push = w_push, .pop = w_pop, .commit = w_commit, .depth = w_depth, .close = w_close,
    .notify_room = w_notify, .cancel_notify = w_cancel, .wake = w_wake, .free = w_free,
};

static struct sl_queue *watch_queue(size_t capacity)
{
    struct watchq *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->base.ops = &watch_ops;
    assert_int_equal(sl_queue_new(&w->inner, capacity, 0), 0);
    return &w->base;
}

static struct sl_sink *open_watched(size_t capacity)
{
    struct sl_output_conf c = conf("watched", capacity, SL_POLICY_BLOCK);
    struct sl_sink *s = NULL;
    char err[256] = "";
    assert_int_equal(sl_sink_open_with(&s, &c, &fake_api, watch_queue(capacity), err,
                                       sizeof err), 0);
    return s;
}

static void make_msgs(struct sl_msg **m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        m[i] = sl_msg_new_heap("<14>hello", 9, "test");
        assert_non_null(m[i]);
    }
}

static void unref_all(struct sl_msg **m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sl_msg_unref(m[i]);
}

/* A persistent queue (the disk queue): a batch still refused at the
 * shutdown deadline is not abandoned; what progress() says was written is
 * acknowledged and the rest stays on disk, replayed at the next open. */
static void test_persistent_queue_keeps_the_rest_at_shutdown(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_RETRY);
    atomic_store(&F.progress, 3);
    char top[] = "/tmp/test_sink_dq.XXXXXX", dir[64];
    assert_non_null(mkdtemp(top));
    snprintf(dir, sizeof dir, "%s/out", top);
    struct sl_diskq_conf dc = {.dir = dir, .mem_capacity = 10, .max_size = 1 << 20,
                               .sync = SL_DISK_SYNC_NONE, .name = "fake"};
    struct sl_queue *q;
    char err[256] = "";
    assert_int_equal(sl_diskq_open(&q, &dc, err, sizeof err), 0);
    struct sl_output_conf c = conf("fake", 10, SL_POLICY_DISK);
    struct sl_sink *s;
    assert_int_equal(sl_sink_open_with(&s, &c, &fake_api, q, err, sizeof err), 0);
    push_n(s, 50);
    push_n(s, 50);
    wait_count(&F.writes, 2, 2000);
    struct sl_sink_totals totals = {0};
    sl_sink_close(s, 100, &totals);
    assert_int_equal(totals.abandoned, 0);
    assert_int_equal(totals.written, 3);
    assert_int_equal(sl_diskq_open(&q, &dc, err, sizeof err), 0);
    struct sl_queue_stats st;
    sl_queue_stats(q, &st);
    assert_int_equal(st.replayed, 97); /* 100 - the 3 progress() said were written */
    sl_queue_free(q);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    assert_int_equal(system(cmd), 0);
}

static void test_commit_after_write(void **state)
{
    fake_reset();
    struct sl_sink *s = open_watched(100);
    push_n(s, 3);
    assert_true(wait_count(&F.written, 3, 2000) == 3);
    sl_sink_close(s, 1000, NULL);
    assert_string_equal(events, "pop 3, write 3, commit 3");
}

static void test_retry_offers_the_same_batch_then_commits(void **state)
{
    fake_reset();
    atomic_store(&F.retries_left, 2);
    struct sl_sink *s = open_watched(100);
    struct sl_msg *m[4];
    make_msgs(m, 4);
    for (int i = 0; i < 4; i++)
        sl_msg_ref(m[i]); /* ours, to compare addresses with */
    assert_int_equal(sl_sink_offer(s, m, 4, -1), 4);
    assert_true(wait_count(&F.written, 4, 3000) == 4);
    assert_ptr_equal((void *)atomic_load(&F.last_first), m[0]);
    assert_int_equal(atomic_load(&F.last_n), 4);
    sl_sink_close(s, 1000, NULL);
    assert_string_equal(events, "pop 4, write 4, write 4, write 4, commit 4");
    unref_all(m, 4);
}

static void test_given_up_batch_is_committed(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_RETRY);
    struct sl_sink *s = open_watched(100);
    push_n(s, 2);
    assert_true(wait_count(&F.writes, 1, 2000) >= 1);
    sl_sink_close(s, 30, NULL);
    /* Given up (abandoned, counted failed): it is never offered again. */
    assert_non_null(strstr(events, "commit 2"));
    assert_int_equal(atomic_load(&F.abandons), 1);
}

static void test_offer_block_hands_back_the_rest(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_RETRY); /* the worker holds what it pops */
    struct sl_sink *s = open_fake(&fake_api, 4, SL_POLICY_BLOCK);
    struct sl_msg *m[10];
    make_msgs(m, 10);
    int efd = new_eventfd();
    size_t took = sl_sink_offer(s, m, 10, efd);
    assert_int_equal(took, 4);
    /* The worker pops the 4 (and retries them): the queue has room, and
     * the caller is told so. */
    assert_true(wait_event(efd, 2000));
    struct sl_sink_stats st;
    sl_sink_stats(s, &st);
    assert_int_equal(st.enqueued, 4);
    assert_int_equal(st.dropped, 0);
    /* What was handed back goes in on the next offer. */
    assert_int_equal(sl_sink_offer(s, m + 4, 4, efd), 4);
    sl_sink_abandon(s, m + 8, 2); /* parked, never offered: abandoned, not dropped */
    sl_sink_stats(s, &st);
    assert_int_equal(st.enqueued, 8);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.abandoned, 2);
    struct sl_sink_totals t = {0};
    sl_sink_close(s, 30, &t);
    assert_int_equal(t.abandoned, 10);
    assert_int_equal(t.dropped, 0);
    close(efd);
}

static void test_offer_drop_counts_what_did_not_fit(void **state)
{
    fake_reset();
    atomic_store(&F.write_answer, SLUICE_RETRY);
    struct sl_sink *s = open_fake(&fake_api, 4, SL_POLICY_DROP);
    struct sl_msg *m[10];
    make_msgs(m, 10); /* run under ASan: a message the sink forgets leaks */
    int efd = new_eventfd();
    assert_int_equal(sl_sink_offer(s, m, 10, efd), 10);
    struct sl_sink_stats st;
    sl_sink_stats(s, &st);
    assert_int_equal(st.enqueued, 4);
    assert_int_equal(st.dropped, 6);
    assert_false(wait_event(efd, 50)); /* a drop output asks for no room */
    sl_sink_close(s, 30, NULL);
    close(efd);
}

static void test_counters(void **state)
{
    fake_reset();
    struct sl_sink *s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    push_n(s, 7);
    assert_true(wait_count(&F.written, 7, 2000) == 7);
    struct sl_sink_stats st;
    int64_t end = now_ms() + 2000;
    do
        sl_sink_stats(s, &st);
    while (st.written < 7 && now_ms() < end);
    assert_int_equal(st.enqueued, 7);
    assert_int_equal(st.written, 7);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.queue_depth, 0);
    assert_string_equal(sl_sink_name(s), "fake");
    assert_int_equal(sl_sink_conf(s)->queue.capacity, 100);
    atomic_store(&F.write_answer, SLUICE_FATAL);
    push_n(s, 2);
    assert_true(wait_count(&F.writes, 3, 2000) >= 3);
    sl_sink_stats(s, &st);
    assert_true(st.write_errors >= 1);
    struct sl_sink_totals t = {0};
    sl_sink_close(s, 50, &t);
    assert_int_equal(t.written, 7);
    assert_int_equal(t.abandoned, 2);
}

/* A plugin's own counters (counters, stats()): read on the worker after
 * its writes and ticks, shown by name, in its order. */
static const char *const fake_counter_names[] = {"writes", "ticks", NULL};

static void fake_stats(void *state, unsigned long long *values)
{
    values[0] = atomic_load(&F.writes);
    values[1] = atomic_load(&F.ticks);
}

struct seen {
    char names[4][SL_COUNTER_NAME];
    unsigned long long values[4];
    size_t n;
};

static void record(void *ctx, const char *name, unsigned long long value)
{
    struct seen *w = ctx;
    assert_true(w->n < 4);
    snprintf(w->names[w->n], SL_COUNTER_NAME, "%s", name);
    w->values[w->n++] = value;
}

static void test_plugin_counters(void **state)
{
    fake_reset();
    struct sluice_output_plugin api = fake_api;
    api.counters = fake_counter_names;
    api.stats = fake_stats;
    struct sl_sink *s = open_fake(&api, 100, SL_POLICY_BLOCK);
    struct seen w = {0};
    sl_sink_counters(s, record, &w); /* before any write: named, zero */
    assert_int_equal(w.n, 2);
    assert_string_equal(w.names[0], "writes");
    assert_string_equal(w.names[1], "ticks");
    assert_int_equal(w.values[0], 0);
    push_n(s, 3);
    assert_true(wait_count(&F.written, 3, 2000) == 3);
    int64_t end = now_ms() + 2000;
    do {
        w.n = 0;
        sl_sink_counters(s, record, &w);
    } while ((w.values[0] < 1 || w.values[1] < 1) && now_ms() < end);
    assert_true(w.values[0] >= 1); /* collected after the write */
    assert_true(w.values[1] >= 1); /* and after a tick */
    sl_sink_close(s, 50, NULL);

    /* Without them (the fake as it is), nothing is shown. */
    s = open_fake(&fake_api, 100, SL_POLICY_BLOCK);
    w.n = 0;
    sl_sink_counters(s, record, &w);
    assert_int_equal(w.n, 0);
    sl_sink_close(s, 50, NULL);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugin_counters),
        cmocka_unit_test(test_given_up_retry_is_abandoned),
        cmocka_unit_test(test_retry_then_ok_is_not_abandoned),
        cmocka_unit_test(test_fatal_is_not_abandoned),
        cmocka_unit_test(test_block_keeps_a_fatal_batch_until_it_works),
        cmocka_unit_test(test_drop_keeps_a_fatal_batch_and_drops_only_the_overflow),
        cmocka_unit_test(test_shutdown_counts_only_the_unwritten_part_lost),
        cmocka_unit_test(test_progress_past_the_batch_is_clamped),
        cmocka_unit_test(test_change_applies_the_policy_and_keeps_the_queue),
        cmocka_unit_test(test_swap_mid_batch_offers_only_the_unwritten_rest),
        cmocka_unit_test(test_write_errors_are_rate_limited_in_the_log),
        cmocka_unit_test(test_tick_while_idle),
        cmocka_unit_test(test_tick_under_load),
        cmocka_unit_test(test_failing_tick_is_logged_once_per_streak),
        cmocka_unit_test(test_tick_while_retrying),
        cmocka_unit_test(test_old_descriptor_without_abandon_and_tick),
        cmocka_unit_test(test_reopen_while_retrying),
        cmocka_unit_test(test_reopen_answered_at_once_when_idle),
        cmocka_unit_test(test_failed_reopen_and_flush_are_answered),
        cmocka_unit_test(test_waiting_requests_share_one_call),
        cmocka_unit_test(test_flush_waits_for_what_was_queued),
        cmocka_unit_test(test_close_answers_what_waits),
        cmocka_unit_test(test_fanout_names_each_failure),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_commit_after_write),
        cmocka_unit_test(test_persistent_queue_keeps_the_rest_at_shutdown),
        cmocka_unit_test(test_retry_offers_the_same_batch_then_commits),
        cmocka_unit_test(test_given_up_batch_is_committed),
        cmocka_unit_test(test_offer_block_hands_back_the_rest),
        cmocka_unit_test(test_offer_drop_counts_what_did_not_fit),
        cmocka_unit_test(test_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
