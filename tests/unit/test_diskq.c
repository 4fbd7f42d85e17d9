/* SPDX-License-Identifier: MIT */
/* test_diskq.c: the disk queue (core/output/diskq.c, diskq_seg.c), in
 * temporary directories. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "output/diskq.h"
#include "output/diskq_seg.h"

/* {=== helpers */
struct fx {
    char top[64];  /* the state_dir */
    char dir[96];  /* the queue's directory in it */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->top, sizeof f->top, "/tmp/test_diskq.XXXXXX");
    if (mkdtemp(f->top) == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/q", f->top);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->top);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static struct sl_diskq_conf conf(const struct fx *f, uint64_t max_size, size_t mem)
{
    return (struct sl_diskq_conf){.dir = f->dir, .mem_capacity = mem, .mem_bytes = 0,
                                  .max_size = max_size, .sync = SL_DISK_SYNC_NONE,
                                  .name = "test"};
}

static struct sl_queue *open_q(const struct sl_diskq_conf *c)
{
    struct sl_queue *q = NULL;
    char err[256] = "";
    int rc = sl_diskq_open(&q, c, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "open: %s\n", err);
    assert_int_equal(rc, 0);
    assert_true(q->persistent);
    return q;
}

/* A heap message whose raw bytes are a tag (first 8 bytes) plus padding. */
static struct sl_msg *mk(uint64_t tag, size_t len)
{
    char raw[512];
    memset(raw, 'x', sizeof raw);
    if (len < 8)
        len = 8;
    memcpy(raw, &tag, 8);
    struct sl_msg *m = sl_msg_new_heap(raw, len, "test");
    assert_non_null(m);
    return m;
}

static uint64_t tag_of(const struct sl_msg *m)
{
    uint64_t t;
    memcpy(&t, m->raw.p, 8);
    return t;
}

/* Pushes tags [from, to), each alone; asserts they are all taken. */
static void push_range(struct sl_queue *q, uint64_t from, uint64_t to, size_t len)
{
    for (uint64_t t = from; t < to; t++) {
        struct sl_msg *m = mk(t, len);
        assert_int_equal(sl_queue_push(q, &m, 1), 1);
    }
}

/* Pops up to max, checks the tags continue from *next, commits them
 * (unless !commit) and returns how many. */
static size_t pop_check(struct sl_queue *q, uint64_t *next, size_t max, bool commit)
{
    struct sl_msg *out[4096];
    size_t n = sl_queue_pop(q, out, max, 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(tag_of(out[i]), *next);
        (*next)++;
        sl_msg_unref(out[i]);
    }
    if (commit && n > 0)
        sl_queue_commit(q, n);
    return n;
}

static void drain(struct sl_queue *q, uint64_t *next, size_t batch)
{
    while (pop_check(q, next, batch, true) > 0)
        ;
}

static struct sl_queue_stats stats(struct sl_queue *q)
{
    struct sl_queue_stats s;
    sl_queue_stats(q, &s);
    return s;
}

static int count_dir(const char *path, const char *suffix)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        n += e->d_name[0] != '.' && l >= sl && strstr(e->d_name, suffix) != NULL;
    }
    closedir(d);
    return n;
}

/* The name of the i-th segment (ascending) of dir, into buf. */
static void nth_segment(const char *dir, int i, char *buf, size_t len)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    assert_true(n > 0);
    int k = 0;
    buf[0] = '\0';
    for (int j = 0; j < n; j++) {
        if (strstr(list[j]->d_name, ".seg") != NULL && strlen(list[j]->d_name) == 20
            && k++ == i)
            snprintf(buf, len, "%s/%s", dir, list[j]->d_name);
        free(list[j]);
    }
    free(list);
    assert_true(buf[0] != '\0');
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}
/* }=== */

static void order_across_segments(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 8u << 20, 100000); /* segments of 1 MiB */
    struct sl_queue *q = open_q(&c);
    push_range(q, 0, 20000, 200); /* ~4.4 MB: several segments */
    assert_true(stats(q).segments >= 4);
    assert_int_equal(sl_queue_depth(q), 20000);
    uint64_t next = 0;
    drain(q, &next, 2048);
    assert_int_equal(next, 20000);
    assert_int_equal(stats(q).read_from_disk, 0); /* all from memory */
    assert_true(stats(q).segments <= 2);
    sl_queue_free(q);
}

static void slow_consumer_reads_disk(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 8u << 20, 100); /* memory keeps the newest 100 */
    struct sl_queue *q = open_q(&c);
    uint64_t next = 0, pushed = 0;
    for (int round = 0; round < 50; round++) { /* producer ahead of the consumer */
        push_range(q, pushed, pushed + 300, 150);
        pushed += 300;
        pop_check(q, &next, 128, true);
    }
    drain(q, &next, 97);
    assert_int_equal(next, pushed);
    struct sl_queue_stats s = stats(q);
    assert_true(s.read_from_disk > 0);
    assert_true(s.read_from_disk < pushed); /* and some from memory */
    assert_int_equal(s.depth, 0);
    sl_queue_free(q);
}

static void reopen_replays_uncommitted(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 8u << 20, 1000);
    struct sl_queue *q = open_q(&c);
    push_range(q, 0, 100, 100);
    uint64_t next = 0;
    pop_check(q, &next, 50, false); /* popped, never committed */
    sl_queue_free(q);
    q = open_q(&c);
    assert_int_equal(stats(q).replayed, 100);
    assert_int_equal(sl_queue_depth(q), 100);
    next = 0;
    drain(q, &next, 30);
    assert_int_equal(next, 100);
    sl_queue_free(q);
    q = open_q(&c); /* everything was acknowledged */
    assert_int_equal(stats(q).replayed, 0);
    assert_int_equal(sl_queue_depth(q), 0);
    sl_queue_free(q);
}

static void reopen_after_partial_commit(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 8u << 20, 1000);
    struct sl_queue *q = open_q(&c);
    push_range(q, 0, 100, 100);
    uint64_t next = 0;
    assert_int_equal(pop_check(q, &next, 60, false), 60);
    sl_queue_commit(q, 25); /* the plugin wrote 25 of the 60 (queue.h) */
    sl_queue_free(q);
    q = open_q(&c);
    assert_int_equal(stats(q).replayed, 75);
    next = 25;
    drain(q, &next, 64);
    assert_int_equal(next, 100);
    sl_queue_free(q);
}

static void torn_state_slot_uses_the_other(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 8u << 20, 1000);
    struct sl_queue *q = open_q(&c); /* state generation 1: ack 0 */
    push_range(q, 0, 20, 100);
    uint64_t next = 0;
    pop_check(q, &next, 10, true); /* generation 2: ack 10 */
    pop_check(q, &next, 10, true); /* generation 3: ack 20, in slot 1 */
    sl_queue_free(q);
    char path[160];
    snprintf(path, sizeof path, "%s/state", f->dir);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    char junk[SL_DQ_SLOT];
    memset(junk, 0xa5, sizeof junk);
    assert_int_equal(pwrite(fd, junk, 100, SL_DQ_SLOT + 7), 100); /* a torn write of slot 1 */
    close(fd);
    q = open_q(&c); /* slot 0, generation 2: ack 10 */
    assert_int_equal(stats(q).replayed, 10);
    next = 10;
    drain(q, &next, 64);
    assert_int_equal(next, 20);
    sl_queue_free(q);
}

static void both_slots_bad_replays_everything(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 8u << 20, 1000);
    struct sl_queue *q = open_q(&c);
    push_range(q, 0, 20, 100);
    uint64_t next = 0;
    pop_check(q, &next, 15, true);
    sl_queue_free(q);
    char path[160];
    snprintf(path, sizeof path, "%s/state", f->dir);
    int fd = open(path, O_WRONLY);
    char junk[2 * SL_DQ_SLOT];
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(pwrite(fd, junk, sizeof junk, 0), (ssize_t)sizeof junk); /* both slots */
    close(fd);
    q = open_q(&c);
    struct sl_queue_stats s = stats(q);
    assert_int_equal(s.replayed, 20); /* from the start of every segment */
    assert_int_equal(s.corrupt, 1);
    next = 0;
    drain(q, &next, 64);
    assert_int_equal(next, 20);
    sl_queue_free(q);
}

static void torn_tail_is_cut(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 8u << 20, 1000);
    struct sl_queue *q = open_q(&c);
    push_range(q, 0, 10, 100);
    sl_queue_free(q);
    char seg[160];
    nth_segment(f->dir, 0, seg, sizeof seg);
    off_t good = file_size(seg);
    /* half a record: a header announcing 100 bytes, and 30 of them */
    unsigned char part[42] = {0x53, 0x4c, 0x52, 0x51, 100, 0, 0, 0, 1, 2, 3, 4};
    int fd = open(seg, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, part, sizeof part), (ssize_t)sizeof part);
    close(fd);
    q = open_q(&c);
    struct sl_queue_stats s = stats(q);
    assert_int_equal(s.torn, 1);
    assert_int_equal(s.corrupt, 0);
    assert_int_equal(s.replayed, 10);
    assert_int_equal(file_size(seg), good);
    uint64_t next = 0;
    drain(q, &next, 64);
    assert_int_equal(next, 10);
    sl_queue_free(q);
}

static void damaged_record_in_a_middle_segment(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 1u << 20, 100000); /* segments of 128 KiB */
    struct sl_queue *q = open_q(&c);
    push_range(q, 0, 3000, 200); /* ~640 KB: 5 segments or so */
    assert_true(stats(q).segments >= 4);
    sl_queue_free(q);
    char seg[160];
    nth_segment(f->dir, 1, seg, sizeof seg);
    int fd = open(seg, O_RDWR);
    unsigned char b;
    off_t at = SL_DQ_SEG_HDR + 3 * (SL_DQ_REC_HDR + 40) + 5; /* inside an early record */
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
    q = open_q(&c);
    struct sl_queue_stats s = stats(q);
    assert_int_equal(s.corrupt, 1);
    assert_int_equal(s.bad_segments, 1);
    assert_int_equal(s.replayed, 2999);
    char damaged[160];
    snprintf(damaged, sizeof damaged, "%s/damaged", f->dir);
    assert_int_equal(count_dir(damaged, ".seg."), 1);
    struct sl_msg *out[512];
    uint64_t expect = 0, missing = UINT64_MAX;
    size_t n;
    while ((n = sl_queue_pop(q, out, 512, 0)) > 0) {
        for (size_t i = 0; i < n; i++) {
            uint64_t t = tag_of(out[i]);
            if (t != expect) { /* exactly one gap, of one record */
                assert_int_equal(missing, UINT64_MAX);
                assert_int_equal(t, expect + 1);
                missing = expect;
            }
            expect = t + 1;
            sl_msg_unref(out[i]);
        }
        sl_queue_commit(q, n);
    }
    assert_int_equal(expect, 3000);
    assert_true(missing != UINT64_MAX);
    sl_queue_free(q);
}

/* A damaged header costs no record: the segment is rewritten with a good
 * one, every record delivered, the original kept aside. */
static void damaged_header_keeps_its_records(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 1u << 20, 100000);
    struct sl_queue *q = open_q(&c);
    push_range(q, 0, 2000, 200);
    sl_queue_free(q);
    char seg[160];
    nth_segment(f->dir, 1, seg, sizeof seg);
    int fd = open(seg, O_RDWR);
    assert_int_equal(pwrite(fd, "X", 1, 3), 1); /* the magic */
    close(fd);
    q = open_q(&c);
    struct sl_queue_stats s = stats(q);
    assert_int_equal(s.bad_segments, 1);
    assert_int_equal(s.corrupt, 1);
    assert_int_equal(s.replayed, 2000);
    uint64_t next = 0;
    drain(q, &next, 256);
    assert_int_equal(next, 2000);
    char damaged[160];
    snprintf(damaged, sizeof damaged, "%s/damaged", f->dir);
    assert_int_equal(count_dir(damaged, ".seg."), 1);
    sl_queue_free(q);
}

static bool readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) == 1;
}

static void max_size_refuses_then_room(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 512u << 10, 100000); /* segments of 64 KiB */
    struct sl_queue *q = open_q(&c);
    uint64_t t = 0;
    for (;; t++) {
        struct sl_msg *m = mk(t, 300);
        if (sl_queue_push(q, &m, 1) == 0) {
            sl_msg_unref(m);
            break;
        }
    }
    struct sl_queue_stats s = stats(q);
    assert_int_equal(s.full, 1);
    assert_true(s.disk_bytes <= c.max_size);
    assert_true(s.disk_bytes > c.max_size - 400);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    sl_queue_notify_room(q, efd);
    assert_false(readable(efd, 0));
    uint64_t next = 0;
    pop_check(q, &next, 100, true); /* not yet half */
    assert_false(readable(efd, 0));
    drain(q, &next, 256);
    assert_int_equal(next, t);
    assert_true(readable(efd, 0));
    assert_true(stats(q).disk_bytes <= c.max_size / 2);
    push_range(q, t, t + 100, 300); /* room again */
    sl_queue_cancel_notify(q, efd);
    close(efd);
    sl_queue_free(q);
}

/* A segment_size equal to max_size is capped at half, so the queue can
 * always drain back under the bound. */
static void drains_with_one_large_segment(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 256u << 10, 10);
    c.segment_size = 256u << 10;
    struct sl_queue *q = open_q(&c);
    uint64_t t = 0, next = 0;
    for (int round = 0; round < 5; round++) {
        for (;; t++) {
            struct sl_msg *m = mk(t, 400);
            if (sl_queue_push(q, &m, 1) == 0) {
                sl_msg_unref(m);
                break;
            }
        }
        drain(q, &next, 100);
        assert_int_equal(next, t);
        assert_true(stats(q).disk_bytes <= c.max_size / 2);
    }
    sl_queue_free(q);
}

static void sync_modes_run(void **state)
{
    struct fx *f = *state;
    enum sl_disk_sync modes[] = {SL_DISK_SYNC_BATCH, SL_DISK_SYNC_INTERVAL, SL_DISK_SYNC_NONE};
    uint64_t next = 0, t = 0;
    for (size_t i = 0; i < 3; i++) {
        struct sl_diskq_conf c = conf(f, 4u << 20, 50);
        c.sync = modes[i];
        c.sync_ms = 10;
        struct sl_queue *q = open_q(&c);
        for (int k = 0; k < 5; k++) {
            push_range(q, t, t + 200, 100);
            t += 200;
            struct timespec ts = {0, 15 * 1000 * 1000};
            nanosleep(&ts, NULL); /* past sync_ms: the next push or pop flushes */
            pop_check(q, &next, 150, true);
        }
        drain(q, &next, 64);
        assert_int_equal(next, t);
        sl_queue_free(q);
    }
}

static void second_open_refused(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 4u << 20, 50);
    struct sl_queue *q = open_q(&c), *q2 = NULL;
    char err[256];
    assert_int_equal(sl_diskq_open(&q2, &c, err, sizeof err), -EBUSY);
    assert_non_null(strstr(err, "in use"));
    sl_queue_free(q);
    q = open_q(&c); /* free let go of the lock */
    sl_queue_free(q);
}

static void unsafe_places_refused(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 4u << 20, 50);
    struct sl_queue *q = NULL;
    char err[256];
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no/such", f->top);
    c.dir = missing; /* the parent does not exist: not created */
    assert_int_equal(sl_diskq_open(&q, &c, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "state_dir must exist"));
    c.dir = f->dir;
    assert_int_equal(mkdir(f->dir, 0777), 0);
    assert_int_equal(chmod(f->dir, 0777), 0);
    assert_int_equal(sl_diskq_open(&q, &c, err, sizeof err), -EPERM);
    assert_non_null(strstr(err, "writable by group or others"));
    assert_int_equal(chmod(f->dir, 0700), 0);
    char link[160];
    snprintf(link, sizeof link, "%s/l", f->top);
    assert_int_equal(symlink(f->dir, link), 0);
    c.dir = link; /* the directory itself a link */
    assert_true(sl_diskq_open(&q, &c, err, sizeof err) < 0);
}

/* Root opening a queue for settings.user gives the directory and its files
 * to that user, through no link; a directory of a third user is refused. */
static void given_to_owner(void **state)
{
    struct fx *f = *state;
    if (geteuid() != 0) {
        printf("skipped: giving files to another user needs root\n");
        return;
    }
    struct sl_diskq_conf c = conf(f, 4u << 20, 50);
    c.owner = (struct sl_diskq_owner){.give = true, .uid = 65534, .gid = 65534};
    struct sl_queue *q = open_q(&c);
    push_range(q, 0, 10, 100);
    sl_queue_free(q);
    char target[160], link[160];
    snprintf(target, sizeof target, "%s/victim", f->top);
    FILE *v = fopen(target, "w");
    fclose(v);
    snprintf(link, sizeof link, "%s/odd-link", f->dir);
    assert_int_equal(symlink(target, link), 0);
    q = open_q(&c);
    sl_queue_free(q);
    struct stat st;
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_uid, 0); /* the link's target was not given away */
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, "..") == 0)
            continue;
        char p[400];
        snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_uid, 65534);
        assert_int_equal(st.st_gid, 65534);
        files++;
    }
    closedir(d);
    assert_true(files >= 5); /* . lock state a segment the link */
    assert_int_equal(chown(f->dir, 12345, 12345), 0);
    char err[256];
    assert_int_equal(sl_diskq_open(&q, &c, err, sizeof err), -EPERM);
    assert_non_null(strstr(err, "owned by another user"));
}

static void symlinked_segment_refused(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 4u << 20, 50);
    struct sl_queue *q = open_q(&c);
    push_range(q, 0, 10, 100);
    sl_queue_free(q);
    /* a segment that is a link to a file of someone else's: the target is
     * never opened nor written */
    char target[160], seg[160];
    snprintf(target, sizeof target, "%s/victim", f->top);
    FILE *v = fopen(target, "w");
    fputs("precious", v);
    fclose(v);
    snprintf(seg, sizeof seg, "%s/00000000000000ff.seg", f->dir);
    assert_int_equal(symlink(target, seg), 0);
    q = open_q(&c);
    struct sl_queue_stats s = stats(q);
    assert_int_equal(s.bad_segments, 1);
    assert_int_equal(s.replayed, 10);
    assert_int_equal(file_size(target), 8);
    assert_int_equal(access(seg, F_OK), -1); /* moved aside */
    uint64_t next = 0;
    drain(q, &next, 64);
    assert_int_equal(next, 10);
    sl_queue_free(q);
}

/* Damage that appears while the queue runs (a disk error under a segment
 * the worker has not read yet): the read is refused by the checksum, the
 * worker resyncs on the next good record, and only the damaged record is
 * lost (counted); everything after is delivered, in order. */
static void damage_while_reading(void **state, uint64_t max_size, uint64_t count, int nth)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, max_size, 10); /* memory keeps 10: the rest is read */
    struct sl_queue *q = open_q(&c);
    push_range(q, 0, count, 200);
    char seg[160];
    nth_segment(f->dir, nth, seg, sizeof seg);
    int fd = open(seg, O_RDWR);
    unsigned char b;
    off_t at = file_size(seg) / 2;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x01;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
    struct sl_msg *out[512];
    uint64_t expect = 0, lost = 0;
    size_t n;
    while ((n = sl_queue_pop(q, out, 512, 0)) > 0) {
        for (size_t i = 0; i < n; i++) {
            uint64_t t = tag_of(out[i]);
            assert_true(t >= expect); /* in order, never twice */
            lost += t - expect;
            expect = t + 1;
            sl_msg_unref(out[i]);
        }
        sl_queue_commit(q, n);
    }
    assert_int_equal(expect, count);
    struct sl_queue_stats s = stats(q);
    assert_int_equal(lost, 1); /* the damaged record alone */
    assert_int_equal(s.corrupt, lost);
    assert_int_equal(s.depth, 0);
    sl_queue_free(q);
}

static void damage_found_while_reading(void **state)
{
    damage_while_reading(state, 1u << 20, 3000, 1); /* a sealed segment */
}

static void damage_in_the_tail_found_while_reading(void **state)
{
    damage_while_reading(state, 64u << 20, 500, 0); /* the segment being written */
}

/* {=== several producers and the consumer at once (run under TSan too) */
#define PRODUCERS 4
#define PER_PRODUCER 20000

struct prod {
    struct sl_queue *q;
    uint64_t id;
};

static void *producer(void *arg)
{
    struct prod *p = arg;
    struct sl_msg *batch[32];
    for (uint64_t i = 0; i < PER_PRODUCER;) {
        size_t n = 0;
        for (; n < 32 && i + n < PER_PRODUCER; n++)
            batch[n] = mk(p->id << 32 | (i + n), 64 + (i % 100));
        size_t off = 0;
        while (off < n) {
            size_t k = sl_queue_push(p->q, batch + off, n - off);
            off += k;
            if (k == 0) {
                struct timespec ts = {0, 200 * 1000};
                nanosleep(&ts, NULL); /* full: the consumer drains */
            }
        }
        i += n;
    }
    return NULL;
}

static void producers_and_consumer(void **state)
{
    struct fx *f = *state;
    struct sl_diskq_conf c = conf(f, 2u << 20, 500);
    c.sync = SL_DISK_SYNC_INTERVAL;
    c.sync_ms = 5;
    struct sl_queue *q = open_q(&c);
    pthread_t th[PRODUCERS];
    struct prod p[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        p[i] = (struct prod){q, (uint64_t)i};
        assert_int_equal(pthread_create(&th[i], NULL, producer, &p[i]), 0);
    }
    uint64_t seen[PRODUCERS] = {0}, total = 0;
    struct sl_msg *out[2048];
    while (total < (uint64_t)PRODUCERS * PER_PRODUCER) {
        size_t n = sl_queue_pop(q, out, 2048, 100);
        for (size_t i = 0; i < n; i++) {
            uint64_t t = tag_of(out[i]), who = t >> 32;
            assert_true(who < PRODUCERS);
            assert_int_equal(t & 0xffffffffu, seen[who]); /* in order, no gap, no repeat */
            seen[who]++;
            sl_msg_unref(out[i]);
        }
        if (n > 0)
            sl_queue_commit(q, n);
        total += n;
        if (total % 7 == 0) { /* now and then a slow write: the disk takes over */
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(sl_queue_depth(q), 0);
    sl_queue_free(q);
}
/* }=== */

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(order_across_segments),
        T(slow_consumer_reads_disk),
        T(reopen_replays_uncommitted),
        T(reopen_after_partial_commit),
        T(torn_state_slot_uses_the_other),
        T(both_slots_bad_replays_everything),
        T(torn_tail_is_cut),
        T(damaged_record_in_a_middle_segment),
        T(damaged_header_keeps_its_records),
        T(damage_found_while_reading),
        T(damage_in_the_tail_found_while_reading),
        T(max_size_refuses_then_room),
        T(drains_with_one_large_segment),
        T(sync_modes_run),
        T(second_open_refused),
        T(unsafe_places_refused),
        T(given_to_owner),
        T(symlinked_segment_refused),
        T(producers_and_consumer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
