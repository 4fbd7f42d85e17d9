/* SPDX-License-Identifier: MIT */
/*
 * rotate_zstd.c: compressing an output's old files in the background
 * (rotate = { compress = "zstd" }, rotate.h).
 *
 * DESIGN. One thread per output instance, started at open() when compress
 * is on and joined at close(), so compression never runs on the write
 * path: the worker only renames (the shift) and wakes this thread. The
 * thread keeps no queue: it looks in the directory for old files of base
 * that have no .zst yet, oldest first, so a restart, a failed file and a
 * backlog are all the same case. For each:
 *
 *   1. (under mu) pick NAME, open it read-only, note its inode
 *   2. compress it into NAME.zst.tmp (O_EXCL: never someone else's),
 *      owner, mode and times of NAME, then fdatasync
 *   3. (under mu) find NAME's current name: a shift may have moved it
 *      (numbered names: PATH.3 became PATH.4; the shift tells us, under
 *      the same mu, spl_rot_zstd_moved). If that name is still the inode
 *      of 1: rename NAME.zst.tmp -> CUR.zst, fsync the directory, unlink
 *      CUR. If it is not (deleted by keep or max_age): unlink the tmp.
 *
 * The shift and the pruning take mu too, so 3 never interleaves with a
 * rename of the old files, and between two shifts at most one of CUR and
 * CUR.zst exists. kill -9 at any instant:
 *  - before the rename in 3: NAME is whole, a NAME.zst.tmp may stand
 *    beside it; spl_rot_recover_at() deletes the tmp at the next start and
 *    this thread compresses NAME again;
 *  - between rename and unlink: CUR and CUR.zst both exist; the .zst is
 *    complete (renamed only after fdatasync), so recovery unlinks CUR.
 * So each line is in exactly one file once recovery ran, and a half
 * written .zst never has a name that is not .tmp.
 *
 * A file that fails (a read error, a full disk) is left as it is, logged
 * by the worker (spl_rot_zstd_error) and not tried again until the next
 * start, so a bad file does not spin the thread.
 *
 * A reload opens the new instance while the old one may still compress:
 * the tmp is created O_EXCL and flock()ed while written, so the new
 * instance's recovery leaves a locked tmp alone and its thread skips a
 * file whose tmp exists; the old one finishes it.
 *
 * Level: SPL_ZSTD_DEFAULT_LEVEL (3): about 400 MB/s of log text on one
 * core, faster than a file output writes, so the thread keeps up.
 */
#ifndef _GNU_SOURCE /* config.h (AC_USE_SYSTEM_EXTENSIONS) defines it in the tree */
#define _GNU_SOURCE /* syscall(), SYS_gettid; also openat, renameat, futimens, fdatasync */
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/rotate.h"
#include "lib/rotate_priv.h"
#include "lib/zstd_out.h"

#define COMPRESS_NICE 10 /* weight 110 against the write path's 1024 */
#define MAX_FAILED 64 /* inodes not tried again; past that the oldest is forgotten */

struct spl_rot_zstd {
    pthread_mutex_t mu; /* guards everything below but the constant part */
    pthread_cond_t cv;
    pthread_t thread;
    /* constant after start */
    int dfd;    /* owned: a dup of the caller's directory fd */
    char *base; /* owned copy */
    unsigned keep;
    bool dated;
    /* under mu */
    bool work, stop, drain;
    bool busy;       /* a compression is under way (steps 1 to 3) */
    unsigned index;  /* numbered: its current index; 0: deleted meanwhile */
    dev_t failed_dev[MAX_FAILED];
    ino_t failed_ino[MAX_FAILED];
    unsigned nfailed;
    bool err_new; /* an error since spl_rot_zstd_error() last asked */
    const char *err_call;
    char err_name[4200];
    int err_no;
};

void spl_rot_zstd_lock(struct spl_rot_zstd *z)
{
    if (z != NULL)
        pthread_mutex_lock(&z->mu);
}

void spl_rot_zstd_unlock(struct spl_rot_zstd *z)
{
    if (z != NULL)
        pthread_mutex_unlock(&z->mu);
}

void spl_rot_zstd_moved(struct spl_rot_zstd *z, unsigned from, unsigned to)
{
    if (z != NULL && z->busy && !z->dated && from != 0 && z->index == from)
        z->index = to;
}

void spl_rot_zstd_work_locked(struct spl_rot_zstd *z)
{
    if (z == NULL)
        return;
    z->work = true;
    pthread_cond_signal(&z->cv);
}

/* {=== the thread */
static bool failed_before(const struct spl_rot_zstd *z, const struct stat *st)
{
    for (unsigned i = 0; i < z->nfailed && i < MAX_FAILED; i++)
        if (z->failed_dev[i] == st->st_dev && z->failed_ino[i] == st->st_ino)
            return true;
    return false;
}

/* Under mu: remembers the file so it is not tried again, and (call not
 * NULL) the failure for the worker's log. */
static void failed(struct spl_rot_zstd *z, const struct stat *st, const char *call,
                   const char *name, int e)
{
    unsigned slot = z->nfailed++ % MAX_FAILED;
    z->failed_dev[slot] = st->st_dev;
    z->failed_ino[slot] = st->st_ino;
    if (call == NULL)
        return; /* not an error: only not ours to try again */
    z->err_new = true;
    z->err_call = call;
    snprintf(z->err_name, sizeof z->err_name, "%s", name);
    z->err_no = e;
}

/* Whether name (plain, uncompressed) waits for us: a regular file, not
 * failed before, with no .zst beside it. Opened into *fd then. */
static bool waiting(struct spl_rot_zstd *z, const struct spl_rot_name *n, int *fd,
                    struct stat *st)
{
    char name[4200], zname[4200];
    struct spl_rot_name zn = *n;
    struct stat zst;
    spl_rot_format_name(z->base, n, name, sizeof name);
    if (fstatat(z->dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st->st_mode)
        || failed_before(z, st))
        return false;
    zn.zst = true;
    spl_rot_format_name(z->base, &zn, zname, sizeof zname);
    if (fstatat(z->dfd, zname, &zst, AT_SYMLINK_NOFOLLOW) == 0)
        return false;
    *fd = openat(z->dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    return *fd >= 0 && fstat(*fd, st) == 0 && S_ISREG(st->st_mode);
}

/* Under mu: the oldest old file that waits, opened (step 1). */
static bool pick(struct spl_rot_zstd *z, struct spl_rot_name *job, int *fd, struct stat *st)
{
    *fd = -1;
    if (!z->dated) {
        for (unsigned i = z->keep; i >= 1; i--) {
            *job = (struct spl_rot_name){.index = i};
            if (waiting(z, job, fd, st))
                return true;
            if (*fd >= 0)
                close(*fd), *fd = -1;
        }
        return false;
    }
    struct spl_rot_entry *v;
    size_t n;
    if (spl_rot_list(z->dfd, z->base, &v, &n) < 0)
        return false; /* tried again at the next wakeup */
    bool found = false;
    for (;;) { /* the oldest waiting one: the least not yet refused */
        const struct spl_rot_entry *best = NULL;
        for (size_t i = 0; i < n; i++)
            if (v[i].n.index == 0 && !v[i].n.zst
                && (best == NULL || spl_rot_name_cmp(&v[i].n, &best->n) < 0))
                best = &v[i];
        if (best == NULL)
            break;
        *job = best->n;
        if ((found = waiting(z, job, fd, st)))
            break;
        if (*fd >= 0)
            close(*fd), *fd = -1;
        v[best - v].n.zst = true; /* refused: out of the running */
    }
    free(v);
    return found;
}

/* Step 2: src into the new tmp (its name in tmp), synced. 0 or a negative
 * errno with *call set. */
static int compress_to_tmp(struct spl_rot_zstd *z, int src, const struct stat *st,
                           const char *tmp, const char **call)
{
    *call = "open";
    int dst = openat(z->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     st->st_mode & 0777);
    if (dst < 0)
        return -errno;
    /* Held until close (or our death): recovery leaves a locked tmp alone. */
    (void)flock(dst, LOCK_EX | LOCK_NB);
    (void)fchown(dst, st->st_uid, st->st_gid); /* as root: the old file's owner; else ours */
    (void)fchmod(dst, st->st_mode & 0777);
    int rc = spl_zstd_file(src, dst, SPL_ZSTD_DEFAULT_LEVEL, call);
    /* The old file's times, so max_age counts from its last line. */
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (rc == 0 && futimens(dst, times) < 0)
        rc = -errno, *call = "futimens";
    if (rc == 0 && fdatasync(dst) < 0)
        rc = -errno, *call = "fdatasync";
    close(dst);
    if (rc < 0)
        (void)unlinkat(z->dfd, tmp, 0);
    return rc;
}

/* Step 3, under mu: the tmp becomes CUR.zst and CUR goes, if CUR is still
 * the file compressed. */
static void finish(struct spl_rot_zstd *z, struct spl_rot_name *job, const struct stat *st,
                   const char *tmp)
{
    char cur[4200], zst[4200];
    struct stat now;
    if (!z->dated)
        job->index = z->index;
    spl_rot_format_name(z->base, job, cur, sizeof cur);
    job->zst = true;
    spl_rot_format_name(z->base, job, zst, sizeof zst);
    if ((!z->dated && job->index == 0) || fstatat(z->dfd, cur, &now, AT_SYMLINK_NOFOLLOW) < 0
        || now.st_ino != st->st_ino || now.st_dev != st->st_dev) {
        (void)unlinkat(z->dfd, tmp, 0); /* deleted meanwhile: keep or max_age */
        return;
    }
    if (renameat(z->dfd, tmp, z->dfd, zst) < 0) {
        failed(z, st, "rename", tmp, errno);
        (void)unlinkat(z->dfd, tmp, 0);
        return;
    }
    (void)fsync(z->dfd); /* the .zst's name on disk before the old file's goes */
    if (unlinkat(z->dfd, cur, 0) < 0)
        failed(z, st, "unlink", cur, errno); /* the pair: recovery unlinks it */
}

/* Steps 2 and 3 for the file picked; mu is held on entry and exit. */
static void compress_one(struct spl_rot_zstd *z, struct spl_rot_name *job, int src,
                         const struct stat *st)
{
    char tmp[4200];
    const char *call;
    struct spl_rot_name tn = *job;
    tn.zst = tn.tmp = true;
    spl_rot_format_name(z->base, &tn, tmp, sizeof tmp);
    z->busy = true;
    pthread_mutex_unlock(&z->mu);
    int rc = compress_to_tmp(z, src, st, tmp, &call);
    close(src);
    pthread_mutex_lock(&z->mu);
    if (rc == 0)
        finish(z, job, st, tmp);
    else if (rc == -EEXIST) /* another instance's, at work on it (a reload): its file now */
        failed(z, st, NULL, tmp, 0);
    else
        failed(z, st, call, tmp, -rc);
    z->busy = false;
}

/* Linux gives each thread its own nice value: the compressor's is raised
 * so that it takes the CPU the write path leaves (measured on 2 cores: at
 * the same priority it took a core from the sender and the worker, and
 * rotation with compression ran at 0.88x of no rotation). Under a load
 * that never pauses it falls behind and old files wait uncompressed,
 * which loses nothing. A failure (no such thing elsewhere) leaves it as
 * it is. */
static void lower_priority(void)
{
#ifdef __linux__
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), COMPRESS_NICE);
#endif
}

static void *run(void *arg)
{
    struct spl_rot_zstd *z = arg;
    lower_priority();
    pthread_mutex_lock(&z->mu);
    for (;;) {
        if (z->stop && !z->drain)
            break;
        z->work = false;
        struct spl_rot_name job;
        struct stat st;
        int src;
        if (pick(z, &job, &src, &st)) {
            z->index = job.index;
            compress_one(z, &job, src, &st);
            continue;
        }
        if (z->stop)
            break; /* drained */
        while (!z->work && !z->stop)
            pthread_cond_wait(&z->cv, &z->mu);
    }
    pthread_mutex_unlock(&z->mu);
    return NULL;
}
/* }=== */

/* {=== the worker's side */
int spl_rot_zstd_start(struct spl_rotation *r, int dfd, const char *base, char *err,
                       size_t errlen)
{
    struct spl_rot_zstd *z = calloc(1, sizeof *z);
    if (z == NULL || (z->base = strdup(base)) == NULL) {
        free(z);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    z->keep = r->keep;
    z->dated = r->dated;
    z->work = true;
    z->dfd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    int rc = z->dfd < 0 ? errno : 0;
    if (rc == 0 && (rc = pthread_mutex_init(&z->mu, NULL)) == 0
        && (rc = pthread_cond_init(&z->cv, NULL)) != 0)
        pthread_mutex_destroy(&z->mu);
    if (rc == 0 && (rc = pthread_create(&z->thread, NULL, run, z)) != 0) {
        pthread_cond_destroy(&z->cv);
        pthread_mutex_destroy(&z->mu);
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s() failed (%d: %s) starting the compressor of \"%s\"",
                 z->dfd < 0 ? "fcntl" : "pthread_create", rc, strerror(rc), base);
        if (z->dfd >= 0)
            close(z->dfd);
        free(z->base);
        free(z);
        return -rc;
    }
    r->z = z;
    return 0;
}

void spl_rot_zstd_kick(struct spl_rotation *r)
{
    spl_rot_zstd_lock(r->z);
    spl_rot_zstd_work_locked(r->z);
    spl_rot_zstd_unlock(r->z);
}

int spl_rot_zstd_error(struct spl_rotation *r, const char **call, char *name, size_t namelen,
                       int *errnum)
{
    struct spl_rot_zstd *z = r->z;
    if (z == NULL)
        return 0;
    pthread_mutex_lock(&z->mu);
    int had = z->err_new;
    if (had) {
        *call = z->err_call;
        snprintf(name, namelen, "%s", z->err_name);
        *errnum = z->err_no;
        z->err_new = false;
    }
    pthread_mutex_unlock(&z->mu);
    return had;
}

void spl_rot_zstd_stop(struct spl_rotation *r, bool drain)
{
    struct spl_rot_zstd *z = r->z;
    if (z == NULL)
        return;
    pthread_mutex_lock(&z->mu);
    z->stop = true;
    z->drain = drain;
    pthread_cond_signal(&z->cv);
    pthread_mutex_unlock(&z->mu);
    pthread_join(z->thread, NULL);
    pthread_cond_destroy(&z->cv);
    pthread_mutex_destroy(&z->mu);
    close(z->dfd);
    free(z->base);
    free(z);
    r->z = NULL;
}
/* }=== */

/* {=== recovery */
/* Whether a compressor alive holds the tmp name (its flock): the instance
 * a reload replaces may still be at work beside the new one. A tmp of a
 * process that died has no lock left. */
static bool locked(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

int spl_rot_recover_at(int dfd, const char *base, const char **call, char *name,
                       size_t namelen)
{
    struct spl_rot_entry *v;
    size_t n;
    *call = "opendir";
    snprintf(name, namelen, ".");
    int rc = spl_rot_list(dfd, base, &v, &n), first = 0;
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char victim[4200];
        struct stat st;
        struct spl_rot_name zn = v[i].n;
        zn.zst = true;
        spl_rot_format_name(base, &zn, victim, sizeof victim);
        if (v[i].n.zst && !v[i].n.tmp)
            continue;
        /* A tmp goes; a plain file goes when its .zst is there. */
        if (!v[i].n.tmp && fstatat(dfd, victim, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        spl_rot_format_name(base, &v[i].n, victim, sizeof victim);
        if (v[i].n.tmp && locked(dfd, victim))
            continue;
        if (unlinkat(dfd, victim, 0) < 0 && errno != ENOENT && first == 0) {
            first = -errno;
            *call = "unlink";
            snprintf(name, namelen, "%s", victim);
        }
    }
    free(v);
    return first;
}
/* }=== */
