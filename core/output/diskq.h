/* SPDX-License-Identifier: MIT */
/*
 * diskq.h: the disk queue, the second implementation of the queue
 * interface (queue.h): a write-ahead queue in segment files under one
 * directory, for `queue = { policy = "disk" }` (sluice.lua(5)).
 *
 * A message counts as enqueued once its record is in a segment (push
 * returns it as taken only then); it leaves the disk once the worker
 * commits it, after the plugin returned OK for it (the acknowledgement).
 * The newest records are also kept in memory (a cache bounded by
 * mem_capacity messages and mem_bytes), so a worker that keeps up never
 * reads the disk, and one that fell behind reads the segments, in order,
 * never a record twice and never skipping one. At open, everything not
 * acknowledged is replayed first; a torn tail or a damaged record is
 * reported in the log and the stats, and the rest replayed
 * (diskq_seg.h). The queue is persistent (struct sl_queue): what was
 * popped and not committed is still there at the next open.
 */
#ifndef SL_DISKQ_H
#define SL_DISKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf/lua_config.h"
#include "output/queue.h"

/* Whom a queue's files are for. Root starting a daemon that drops to
 * settings.user gives them to that user (give), who must go on adding,
 * reading and removing segments after the drop; otherwise they stay the
 * daemon's own. */
struct sl_diskq_owner {
    bool give;
    uid_t uid;
    gid_t gid;
};

struct sl_diskq_conf {
    const char *dir;            /* the queue's directory: state_dir/<output> */
    size_t mem_capacity;        /* messages the memory part holds (>= 1) */
    size_t mem_bytes;           /* their raw bytes (0: no byte bound) */
    uint64_t max_size;          /* bytes of segments; past it push refuses */
    uint64_t segment_size;      /* 0: min(max_size / 8, 16 MiB), at least 64 KiB */
    enum sl_disk_sync sync;     /* when appends and the ack are made durable */
    int sync_ms;                /* SL_DISK_SYNC_INTERVAL: at most this apart */
    const char *name;           /* for log lines: the output's name */
    struct sl_diskq_owner owner;
};

/* Opens (and recovers) the queue in c->dir, creating that directory (mode
 * 0700; its parent must exist) and locking it, so two daemons never share
 * one queue. Every file is opened beneath the directory without following
 * a symbolic link; a directory not owned by the daemon's user (or by
 * c->owner's, when given), or writable by group or others, is refused.
 * With c->owner.give, the directory and every file in it are given to
 * that user and group (fchown, never following a link) once it is open. c is borrowed for the call. 0 with the
 * queue in *out, or a negative errno with a reason in err and nothing
 * left open. Thread: any (one opener per directory). */
int sl_diskq_open(struct sl_queue **out, const struct sl_diskq_conf *c, char *err,
                  size_t errlen);

/* The segment size a queue bounded by max_size uses when none is given
 * (and the largest it uses when one is: at most max_size / 2, so that the
 * segment being written never holds the whole bound by itself). */
uint64_t sl_diskq_segment_size(uint64_t max_size, uint64_t asked);

#endif /* SL_DISKQ_H */
