/* SPDX-License-Identifier: MIT */
/*
 * test_input_kmsg.c: what the kmsg input (input_kmsg.c) counts of what it
 * reads, through a real input and its thread, against a scripted
 * /dev/kmsg: open() and read() are wrapped (-Wl,--wrap), so that opening
 * "/dev/kmsg" gives an eventfd (readable while records are scripted) whose
 * reads play the kernel's part: one record per read(), EAGAIN when none is
 * left, EPIPE, and EINVAL for a buffer too small (the record then skipped,
 * as the kernel skips it). Without outputs: the messages go unrouted.
 *
 * Checked: a gap in the sequence numbers counts as missed (not before the
 * first record read), after EPIPE too; a record larger than the buffer is
 * lost, counted missed, and the buffer grows for the next; a malformed
 * record is counted and its unknown number starts the count afresh; a bad
 * dictionary line is counted as fields_dropped; a burst of more than a
 * batch is read whole.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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

#include "common/clock.h"
#include "input/input.h"

/* {=== the scripted device */
#define SCRIPT_MAX 4096

struct item {
    char *rec; /* NULL: fail with err */
    int err;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct item script[SCRIPT_MAX];
static size_t head, tail;
static int fake_fd = -1;

int __real_open(const char *path, int flags, ...);
ssize_t __real_read(int fd, void *buf, size_t n);

int __wrap_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int mode = (flags & O_CREAT) ? va_arg(ap, int) : 0;
    va_end(ap);
    if (strcmp(path, "/dev/kmsg") != 0)
        return __real_open(path, flags, mode);
    fake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fake_fd;
}

ssize_t __wrap_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n)
{
    if (fd < 0 || fd != fake_fd)
        return __real_read(fd, buf, n);
    pthread_mutex_lock(&mu);
    if (head == tail) { /* empty: no longer readable */
        uint64_t v;
        ssize_t r = __real_read(fd, &v, sizeof v);
        (void)r;
        pthread_mutex_unlock(&mu);
        errno = EAGAIN;
        return -1;
    }
    struct item it = script[head++];
    pthread_mutex_unlock(&mu);
    ssize_t rc;
    if (it.rec == NULL) {
        errno = it.err;
        rc = -1;
    } else if (strlen(it.rec) > n) {
        errno = EINVAL; /* and the kernel has moved past it */
        rc = -1;
    } else {
        memcpy(buf, it.rec, strlen(it.rec));
        rc = (ssize_t)strlen(it.rec);
    }
    free(it.rec);
    return rc;
}

static void push(const char *rec, int err)
{
    pthread_mutex_lock(&mu);
    assert_true(tail < SCRIPT_MAX);
    script[tail++] = (struct item){rec ? strdup(rec) : NULL, err};
    pthread_mutex_unlock(&mu);
    uint64_t one = 1;
    assert_int_equal(write(fake_fd, &one, sizeof one), sizeof one);
}

static void push_record(uint64_t seq, const char *text)
{
    char r[256];
    snprintf(r, sizeof r, "6,%llu,1000,-;%s\n", (unsigned long long)seq, text);
    push(r, 0);
}

/* A record of about len bytes, number seq. */
static void push_large(uint64_t seq, size_t len)
{
    char *r = malloc(len + 64);
    int n = snprintf(r, 64, "6,%llu,1000,-;", (unsigned long long)seq);
    memset(r + n, 'x', len);
    strcpy(r + n + len, "\n");
    push(r, 0);
    free(r);
}
/* }=== */

struct fixture {
    struct sl_config *c;
    struct sl_routing routing;
    struct sl_input *in;
};

static atomic_uint_fast64_t unrouted;

static int setup(void **state)
{
    struct fixture *x = calloc(1, sizeof *x);
    const char *text = "input 'k' { type = 'kmsg', from = 'boot' }\n";
    struct sl_errors errs = {0};
    assert_int_equal(sl_config_load_text(text, strlen(text), "kmsg.lua", &x->c, &errs), 0);
    sl_errors_clear(&errs);
    atomic_store(&unrouted, 0);
    x->routing = (struct sl_routing){.unrouted = &unrouted, .hostname = {"h", 1}};
    assert_int_equal(sl_router_init(&x->routing.router, x->c, "h"), 0);
    head = tail = 0;
    char err[512] = "";
    assert_int_equal(sl_input_open(&x->in, &x->c->inputs[0], &x->routing, err, sizeof err), 0);
    assert_true(fake_fd >= 0);
    assert_string_equal(sl_input_address(x->in), "/dev/kmsg");
    assert_int_equal(sl_input_start(x->in), 0);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *x = *state;
    sl_input_close(x->in, 1000);
    fake_fd = -1;
    sl_router_free(&x->routing.router);
    sl_config_free(x->c);
    free(x);
    return 0;
}

static uint64_t stat_of(struct fixture *x, size_t offset)
{
    const char *s = (const char *)sl_input_stats_of(x->in);
    return atomic_load((const atomic_uint_fast64_t *)(s + offset));
}

#define STAT(x, f) stat_of(x, offsetof(struct sl_input_stats, f))

/* Waits (5 s at most) until the input has taken every scripted read and
 * received `received` records. */
static void wait_received(struct fixture *x, uint64_t received)
{
    int64_t deadline = sl_now_ms() + 5000;
    for (;;) {
        pthread_mutex_lock(&mu);
        bool drained = head == tail;
        pthread_mutex_unlock(&mu);
        if ((drained && STAT(x, received) >= received) || sl_now_ms() > deadline)
            break;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    assert_int_equal(STAT(x, received), received);
}

static void gaps_count_as_missed(void **state)
{
    struct fixture *x = *state;
    push_record(10, "first: what came before it is not ours to count");
    push_record(11, "b");
    push_record(15, "after a gap of three");
    wait_received(x, 3);
    assert_int_equal(STAT(x, missed), 3);
    /* EPIPE: overwritten; the next read gives the oldest left. */
    push(NULL, EPIPE);
    push_record(20, "after EPIPE");
    wait_received(x, 4);
    assert_int_equal(STAT(x, missed), 3 + 4);
    assert_int_equal(atomic_load(&unrouted), 4);
    assert_int_equal(STAT(x, malformed), 0);
}

static void a_record_past_the_buffer_is_missed_and_the_buffer_grows(void **state)
{
    struct fixture *x = *state;
    push_record(1, "a");
    push_large(2, 20000); /* past the 16 KiB buffer: lost */
    push_record(3, "b");
    wait_received(x, 2);
    assert_int_equal(STAT(x, missed), 1);
    push_large(4, 20000); /* the buffer is 32 KiB now */
    wait_received(x, 3);
    assert_int_equal(STAT(x, missed), 1);
}

static void malformed_and_dropped_fields_are_counted(void **state)
{
    struct fixture *x = *state;
    push_record(1, "a");
    push("not a record\n", 0);
    push_record(9, "its number unknown, the gap after it is not counted");
    push("6,10,1000,-;with a bad line\n BAD KEY=1\n DEVICE=+pci:0\n", 0);
    wait_received(x, 4); /* the malformed one counts as received */
    assert_int_equal(STAT(x, malformed), 1);
    assert_int_equal(STAT(x, missed), 0);
    assert_int_equal(STAT(x, fields_dropped), 1);
    assert_int_equal(atomic_load(&unrouted), 3);
}

static void a_burst_is_read_whole(void **state)
{
    struct fixture *x = *state;
    for (uint64_t i = 0; i < 2000; i++)
        push_record(100 + i, "burst");
    wait_received(x, 2000);
    assert_int_equal(STAT(x, missed), 0);
    assert_int_equal(atomic_load(&unrouted), 2000);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(gaps_count_as_missed),
        T(a_record_past_the_buffer_is_missed_and_the_buffer_grows),
        T(malformed_and_dropped_fields_are_counted),
        T(a_burst_is_read_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
