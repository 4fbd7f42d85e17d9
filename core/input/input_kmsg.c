/* SPDX-License-Identifier: MIT */
/*
 * input_kmsg.c: the kernel's log, read from /dev/kmsg, the role of
 * rsyslog's imklog / imkmsg and of journald's kmsg reader.
 *
 * Every read() of /dev/kmsg gives one record (parse_kmsg.h), or EAGAIN
 * when none is left (the fd is non-blocking), EINVAL when the buffer is
 * smaller than the record (which the kernel then skips: the buffer is
 * larger than any record it makes), or EPIPE when records this fd had not read yet
 * were overwritten in the kernel's ring: the next read() then gives the
 * oldest record left, so what was lost shows as a gap in the sequence
 * numbers, which is what `missed` counts (journald's "Missed N kernel
 * messages"). A wake-up reads up to BATCH records and routes them in one
 * go. Under backpressure the fd leaves the epoll set as a datagram
 * socket's does: the kernel's ring is the buffer then, and what it
 * overwrites in the meantime is counted as missed when reading resumes.
 *
 * Each fd has a position of its own, so nothing another reader does
 * (dmesg, journald, dmesg -C) changes what this one reads. At open, `from`
 * places it: "boot" leaves it on the oldest record the ring holds, "now"
 * moves it past the last (lseek SEEK_END), and "auto" does the first
 * while the machine has been up less than BOOT_SECONDS and the second
 * after: at boot the daemon gets the boot's messages, a restart does not
 * log them all again. This is rsyslog imkmsg's default (readMode
 * "full-boot", expectedBootCompleteSeconds 90).
 *
 * Opening /dev/kmsg for reading needs CAP_SYSLOG where
 * kernel.dmesg_restrict is 1 (the kernel refuses with EPERM); there is one
 * kernel log, so the config allows one input of this kind (kind.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "input/input_impl.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "parse/parse_kmsg.h"

#define KMSG_PATH "/dev/kmsg"
#define BATCH 256 /* records routed together; at most SL_DISPATCH_MAX */
/* A record is at most CONSOLE_EXT_LOG_MAX (8 KiB) of header, text and
 * dictionary; a buffer that is still too small (EINVAL) doubles up to
 * BUF_MAX. */
#define BUF_START (16 * 1024)
#define BUF_MAX (1024 * 1024)
#define BOOT_SECONDS 90
#define MISSED_LOG_MS 10000 /* at most one line about missed records this often */

struct kmsg {
    int fd;
    bool paused;
    bool dead; /* a read error that is no passing one: logged, not read again */
    struct sl_parked parked;
    char *buf;
    size_t cap;
    bool have_seq;     /* next_seq is known: a record was read */
    uint64_t next_seq; /* the sequence number the next record should have */
    uint64_t missed_unlogged;
    int64_t missed_logged_ms;
    struct sl_kmsg_info info;
};

/* One writer per counter, the input thread (input.c's bump). */
static void bump(atomic_uint_fast64_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC in nanoseconds: what a record's USEC is
 * added to. Read once per batch: it changes only when the wall clock is
 * set or after a suspend. */
static int64_t boot_wall_ns(void)
{
    struct timespec rt, mono;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    return (int64_t)(rt.tv_sec - mono.tv_sec) * 1000000000 + (rt.tv_nsec - mono.tv_nsec);
}

/* Whether the records the ring holds at open are read (see the top). */
static bool reads_backlog(int from)
{
    if (from != SL_FROM_AUTO)
        return from == SL_FROM_BOOT;
    struct timespec up;
    return clock_gettime(CLOCK_BOOTTIME, &up) == 0 && up.tv_sec < BOOT_SECONDS;
}

/* Counts the records between the last one read and this one (seq). */
static void count_gap(struct sl_input *in, struct kmsg *k, uint64_t seq)
{
    if (k->have_seq && seq > k->next_seq) {
        uint64_t gap = seq - k->next_seq;
        bump(&in->stats.missed, gap);
        k->missed_unlogged += gap;
    }
    k->have_seq = true;
    k->next_seq = seq + 1;
    if (k->missed_unlogged == 0)
        return;
    int64_t now = sl_now_ms();
    if (now - k->missed_logged_ms >= MISSED_LOG_MS) {
        sl_log(SL_LOG_WARNING, 0,
               "input \"%s\": missed %llu kernel log records (a gap in their sequence "
               "numbers: overwritten in the kernel's ring, or lost, before they were read)",
               in->conf->name, (unsigned long long)k->missed_unlogged);
        k->missed_unlogged = 0;
        k->missed_logged_ms = now;
    }
}

/* A record too large for the buffer (EINVAL): the kernel has moved past
 * it already, so it is lost, and the gap counts it as missed; a larger
 * buffer (up to BUF_MAX) keeps the next ones. */
static void grow(struct sl_input *in, struct kmsg *k)
{
    char *nb = k->cap < BUF_MAX ? sl_realloc(k->buf, k->cap * 2) : NULL;
    sl_log(SL_LOG_WARNING, 0, "input \"%s\": a kernel log record over %zu bytes was lost%s",
           in->conf->name, k->cap, nb != NULL ? "; reading with a larger buffer now" : "");
    if (nb != NULL) {
        k->buf = nb;
        k->cap *= 2;
    }
}

/* One record into k->buf: its length, or 0 when none is left (or the
 * input is dead now). */
static size_t read_record(struct sl_input *in, struct kmsg *k)
{
    for (int tries = 0; tries < 64; tries++) {
        ssize_t n = read(k->fd, k->buf, k->cap);
        if (n > 0)
            return (size_t)n;
        if (n == 0 || errno == EAGAIN)
            return 0;
        if (errno == EINTR || errno == EPIPE) /* EPIPE: the gap tells how many */
            continue;
        if (errno == EINVAL) {
            grow(in, k);
            continue;
        }
        sl_log(SL_LOG_ERR, errno, "input \"%s\": read() \"%s\" failed; not reading it again",
               in->conf->name, KMSG_PATH);
        k->dead = true;
        sl_input_watch(in, k->fd, k, false);
        return 0;
    }
    return 0; /* overwritten as fast as it is read: the next wake-up goes on */
}

/* Parses one record of len bytes in k->buf into a message, or NULL. */
static struct sl_msg *message(struct sl_input *in, struct kmsg *k, size_t len)
{
    if (k->buf[len - 1] == '\n')
        len--; /* raw: the record without the newline that ends it */
    int rc;
    struct sl_msg *m = sl_input_message_fields(in, sl_parse_kmsg, &k->info, k->buf, len, NULL,
                                               0, 0, &rc);
    if (m != NULL) {
        count_gap(in, k, k->info.seq);
        if (k->info.dropped > 0)
            bump(&in->stats.fields_dropped, k->info.dropped);
    } else if (rc == -EBADMSG) {
        /* Counted malformed; its number is unknown, so the next gap would
         * count it again as missed: the next record starts afresh. */
        k->have_seq = false;
    }
    return m;
}

/* Reads up to BATCH records and routes them; returns how many were read. */
static size_t read_batch(struct sl_input *in, struct kmsg *k)
{
    struct sl_msg *batch[BATCH];
    size_t nb = 0, nread = 0;
    k->info.boot_wall_ns = boot_wall_ns();
    while (nread < BATCH && !k->dead) {
        size_t len = read_record(in, k);
        if (len == 0)
            break;
        nread++;
        struct sl_msg *m = message(in, k, len);
        if (m != NULL)
            batch[nb++] = m;
    }
    if (nb > 0 && !sl_input_dispatch(in, batch, nb, &k->parked) && !k->paused) {
        k->paused = true; /* so resume retries what is parked, dead or not */
        if (!k->dead)
            sl_input_watch(in, k->fd, k, false);
    }
    return nread;
}

static void kmsg_event(struct sl_input *in, void *tag, uint32_t events)
{
    struct kmsg *k = tag;
    if (!k->paused && !k->dead)
        read_batch(in, k);
}

static void kmsg_resume(struct sl_input *in)
{
    struct kmsg *k = in->impl;
    if (!k->paused || !sl_input_retry(in, &k->parked))
        return;
    k->paused = false;
    if (!k->dead)
        sl_input_watch(in, k->fd, k, true);
}

static bool kmsg_unpark(struct sl_input *in)
{
    struct kmsg *k = in->impl;
    return sl_input_retry(in, &k->parked);
}

/* At stop: what the ring holds for this fd, until the deadline. */
static void kmsg_drain(struct sl_input *in)
{
    struct kmsg *k = in->impl;
    for (;;) {
        while (!sl_input_retry(in, &k->parked) && sl_input_may_wait(in))
            sl_input_wait_room(in);
        if (k->parked.n > 0 || k->dead || !sl_input_may_wait(in) || read_batch(in, k) == 0)
            return;
    }
}

static void kmsg_close(struct sl_input *in)
{
    struct kmsg *k = in->impl;
    if (k == NULL)
        return;
    sl_parked_drop(in, &k->parked);
    close(k->fd);
    free(k->buf);
    free(k);
    in->impl = NULL;
}

/* open()'s failure in words a reader can act on. */
static const char *open_hint(int e)
{
    if (e == EPERM || e == EACCES)
        return ": reading the kernel log needs root or CAP_SYSLOG (kernel.dmesg_restrict)";
    if (e == ENOENT)
        return ": this system has no kernel log device (a container without /dev/kmsg?)";
    return "";
}

static int kmsg_open(struct sl_input *in, char *err, size_t errlen)
{
    const char *name = in->conf->name;
    /* open() checks the right to read (kernel.dmesg_restrict). No read
     * may probe it: one into too small a buffer (rsyslog's read(fd, NULL,
     * 0)) costs the record, which the kernel skips as it fails. */
    int fd = open(KMSG_PATH, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "input \"%s\": open() \"%s\" failed (%d: %s)%s", name, KMSG_PATH,
                 e, strerror(e), open_hint(e));
        return -e;
    }
    if (!reads_backlog(in->conf->from) && lseek(fd, 0, SEEK_END) < 0)
        sl_log(SL_LOG_WARNING, errno, "input \"%s\": lseek() \"%s\" to its end failed, so "
               "the records already there are read too", name, KMSG_PATH);
    struct kmsg *k = sl_calloc(1, sizeof *k);
    char *buf = sl_malloc(BUF_START);
    int rc = k != NULL && buf != NULL ? 0 : -ENOMEM;
    if (rc == 0) {
        *k = (struct kmsg){.fd = fd, .buf = buf, .cap = BUF_START, .missed_logged_ms = INT64_MIN / 2};
        rc = sl_input_watch(in, fd, k, true);
    }
    if (rc < 0) {
        snprintf(err, errlen, "input \"%s\": %s (%d: %s)", name,
                 rc == -ENOMEM ? "out of memory" : "epoll_ctl() failed", -rc, strerror(-rc));
        free(buf);
        free(k);
        close(fd);
        return rc;
    }
    snprintf(in->address, sizeof in->address, "%s", KMSG_PATH);
    in->impl = k;
    return 0;
}

static const char *const from_choices[] = {"auto", "boot", "now", NULL}; /* enum sl_input_from */

static const struct sl_input_key kmsg_keys[] = {
    {"from", SL_INPUT_KEY_CHOICE, offsetof(struct sl_input_conf, from), 0, 0, false, false},
    {NULL},
};

static const struct sl_input_choice kmsg_choices[] = {
    {"from", from_choices},
    {NULL},
};

static const struct sl_input_counter kmsg_counters[] = {
    {"missed", offsetof(struct sl_input_stats, missed)},
    {"malformed", offsetof(struct sl_input_stats, malformed)},
    {"fields_dropped", offsetof(struct sl_input_stats, fields_dropped)},
    {NULL},
};

const struct sl_input_kind sl_input_kmsg = {
    .name = "kmsg",
    .keys = kmsg_keys,
    .ops = {
        .open = kmsg_open,
        .event = kmsg_event,
        .resume = kmsg_resume,
        .drain = kmsg_drain,
        .unpark = kmsg_unpark,
        .close = kmsg_close,
    },
    .parse = sl_parse, /* unused: records go through sl_parse_kmsg (sl_input_message_fields) */
    .counters = kmsg_counters,
    .choices = kmsg_choices,
};
