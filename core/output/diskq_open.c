/* SPDX-License-Identifier: MIT */
/*
 * diskq_open.c: opening a disk queue (diskq.h): its directory, made safe
 * and locked, then the segments recovery kept (diskq_seg.c) adopted as the
 * queue's list, and a fresh tail.
 */
#include "output/diskq_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "output/diskq_seg.h"

uint64_t sl_diskq_segment_size(uint64_t max_size, uint64_t asked)
{
    uint64_t s = asked ? asked : max_size / 8;
    if (!asked && s > (16u << 20))
        s = 16u << 20;
    if (s > max_size / 2)
        s = max_size / 2;
    return s < (64u << 10) ? 64u << 10 : s;
}

/* {=== open */
/* Creates (mode 0700, not its parents) and opens the directory, refusing
 * one another user could write into or that is a link. Its owner may be
 * the daemon's user or the one its files are given to (owner). */
static int open_dir(struct diskq *q, const char *dir, const struct sl_diskq_owner *owner,
                    char *err, size_t errlen)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        int e = errno;
        snprintf(err, errlen, "disk queue \"%s\": mkdir() \"%s\" failed (%d: %s)%s", q->name,
                 dir, e, strerror(e), e == ENOENT ? ": settings.state_dir must exist" : "");
        return -e;
    }
    q->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (q->dirfd < 0 || fstat(q->dirfd, &st) < 0) {
        int e = errno;
        snprintf(err, errlen, "disk queue \"%s\": open() \"%s\" failed (%d: %s)", q->name, dir,
                 e, strerror(e));
        return -e;
    }
    bool ours = st.st_uid == geteuid() || (owner->give && st.st_uid == owner->uid);
    if (!ours || (st.st_mode & 022) != 0) {
        snprintf(err, errlen, "disk queue \"%s\": \"%s\" is %s: refused (it must belong to the "
                 "daemon's user and be writable by it alone)", q->name, dir,
                 !ours ? "owned by another user" : "writable by group or others");
        return -EPERM;
    }
    q->lockfd = openat(q->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (q->lockfd < 0 || flock(q->lockfd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        snprintf(err, errlen, "disk queue \"%s\": \"%s/lock\": %s (%d: %s)", q->name, dir,
                 e == EWOULDBLOCK ? "the queue is in use by another process" : "cannot lock",
                 e, strerror(e));
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    q->statefd = openat(q->dirfd, "state", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (q->statefd < 0) {
        int e = errno;
        snprintf(err, errlen, "disk queue \"%s\": open() \"%s/state\" failed (%d: %s)", q->name,
                 dir, e, strerror(e));
        return -e;
    }
    return 0;
}

/* Gives the directory and what is in it (lock, state, segments, damaged/
 * itself) to owner, so that the user the daemon drops to after start can
 * go on with the queue. Entries are changed where they are, never through
 * a link (AT_SYMLINK_NOFOLLOW): recovery made every name here. */
static int give_files(struct diskq *q, const char *dir, const struct sl_diskq_owner *owner,
                      char *err, size_t errlen)
{
    int fd = dup(q->dirfd);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    int rc = d == NULL ? -errno : 0;
    if (d == NULL && fd >= 0)
        close(fd);
    if (rc == 0 && fchown(q->dirfd, owner->uid, owner->gid) < 0)
        rc = -errno;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0
            && fchownat(q->dirfd, e->d_name, owner->uid, owner->gid, AT_SYMLINK_NOFOLLOW) < 0)
            rc = -errno;
    }
    if (d != NULL)
        closedir(d);
    if (rc < 0)
        snprintf(err, errlen, "disk queue \"%s\": cannot give \"%s\" to uid %ld gid %ld, the "
                 "user of settings.user (%d: %s)", q->name, dir, (long)owner->uid,
                 (long)owner->gid, -rc, strerror(-rc));
    return rc;
}

/* The segments recovery kept become the list; those with nothing left to
 * deliver are deleted. Then a new tail, so appends never follow bytes a
 * crash may have left. */
static int adopt(struct diskq *q, const struct sl_dq_recovery *r)
{
    uint64_t seq = r->ack_seq;
    q->ack_seq = q->read_seq = seq;
    for (size_t i = 0; i < r->nsegs; i++) {
        const struct sl_dq_found *f = &r->segs[i];
        char name[32];
        sl_dq_seg_name(name, sizeof name, f->id);
        if (f->nrec == 0) {
            unlinkat(q->dirfd, name, 0);
            continue;
        }
        struct seg *s = sl_calloc(1, sizeof *s);
        if (s == NULL)
            return -ENOMEM;
        s->id = f->id;
        s->first_seq = seq;
        s->size = f->size;
        atomic_init(&s->end, f->size);
        atomic_init(&s->next, NULL);
        if (q->tail != NULL)
            atomic_store_explicit(&q->tail->next, s, memory_order_relaxed);
        else
            q->head = s;
        if (q->ack.seg == NULL)
            q->ack = (struct pos){s, f->first_off};
        q->tail = s;
        q->nsegs++;
        q->disk_bytes += f->size;
        seq += f->nrec;
    }
    q->next_seq = seq;
    q->next_id = r->next_id;
    int rc = sl_diskq_roll(q);
    if (rc < 0)
        return rc;
    if (q->ack.seg == NULL)
        q->ack = (struct pos){q->tail, SL_DQ_SEG_HDR};
    q->rpos = q->ack;
    return 0;
}

static int init_locks(struct diskq *q)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc == 0) {
        rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        if (rc == 0)
            rc = pthread_cond_init(&q->nonempty, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (rc == 0 && (rc = pthread_mutex_init(&q->lock, NULL)) != 0)
        pthread_cond_destroy(&q->nonempty);
    return -rc;
}

static int diskq_new(struct diskq **out, const struct sl_diskq_conf *c)
{
    struct diskq *q = sl_calloc(1, sizeof *q);
    if (q == NULL)
        return -ENOMEM;
    q->dirfd = q->lockfd = q->statefd = q->wfd = q->rfd = -1;
    q->name = sl_strdup(c->name ? c->name : c->dir);
    q->mem_cap = c->mem_capacity ? c->mem_capacity : 1;
    q->ring = sl_calloc(q->mem_cap, sizeof *q->ring);
    if (q->name == NULL || q->ring == NULL || init_locks(q) < 0) {
        free(q->name);
        free(q->ring);
        free(q);
        return -ENOMEM;
    }
    q->mem_bytes = c->mem_bytes;
    q->max_size = c->max_size;
    q->seg_size = sl_diskq_segment_size(c->max_size, c->segment_size);
    q->sync = c->sync;
    q->sync_ms = c->sync_ms > 0 ? c->sync_ms : 1000;
    q->errlog.interval = 60;
    q->errlog.burst = 10;
    q->base.ops = &sl_diskq_ops;
    q->base.persistent = true;
    q->last_sync_ms = q->last_state_sync_ms = sl_now_ms();
    *out = q;
    return 0;
}

int sl_diskq_open(struct sl_queue **out, const struct sl_diskq_conf *c, char *err,
                  size_t errlen)
{
    struct diskq *q;
    if (c->max_size < 2 * SL_DQ_SEG_HDR || diskq_new(&q, c) < 0) {
        snprintf(err, errlen, "disk queue \"%s\": %s", c->name ? c->name : c->dir,
                 c->max_size < 2 * SL_DQ_SEG_HDR ? "max_size is too small" : "out of memory");
        return c->max_size < 2 * SL_DQ_SEG_HDR ? -EINVAL : -ENOMEM;
    }
    int rc = open_dir(q, c->dir, &c->owner, err, errlen);
    struct sl_dq_recovery r = {0};
    if (rc == 0)
        rc = sl_dq_recover(q->dirfd, q->name, &r, err, errlen);
    if (rc == 0 && (rc = adopt(q, &r)) < 0)
        snprintf(err, errlen, "disk queue \"%s\": cannot start a segment in \"%s\" (%d: %s)",
                 q->name, c->dir, -rc, strerror(-rc));
    if (rc == 0) {
        q->gen = 0;
        struct sl_dq_state st;
        int bad;
        if (sl_dq_state_read(q->statefd, &st, &bad) == 0)
            q->gen = st.gen;
        sl_diskq_write_state(q, q->ack_seq);
        q->st.replayed = r.replayed;
        q->st.corrupt = r.corrupt;
        q->st.torn = r.torn;
        q->st.bad_segments = r.bad_segments;
        if (r.replayed > 0)
            sl_log(SL_LOG_NOTICE, 0, "disk queue \"%s\": %llu unacknowledged messages found, "
                   "delivered first", q->name, (unsigned long long)r.replayed);
    }
    if (rc == 0 && c->owner.give)
        rc = give_files(q, c->dir, &c->owner, err, errlen);
    free(r.segs);
    if (rc < 0) {
        sl_diskq_ops.free(&q->base);
        return rc;
    }
    *out = &q->base;
    return 0;
}
/* }=== */
