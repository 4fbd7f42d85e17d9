/* SPDX-License-Identifier: MIT */
/*
 * file.c: the `file` output plugin: one line per message, appended to a file.
 *
 *     output "messages" { type = "file", path = "var/log/messages", format = "rfc3164",
 *                         mode = "0640", owner = "root", group = "adm", sync = "none",
 *                         rotate = { size = "64M", every = "day", keep = 8,
 *                                    suffix = "date", max_age = "30d", compress = "zstd" } }
 *
 * A batch is formatted into one reused buffer and written with as few
 * write() calls as the kernel allows. When a write fails, whatever the
 * error (a full disk, EFBIG, a read-only file system, an immutable file,
 * EIO), the unwritten rest stays in the buffer and write() answers
 * SLUICE_RETRY; the header's batch contract says the next write() is the same
 * batch again unless abandon() came first, so we write that rest instead of
 * formatting the batch anew: nothing is lost and nothing is written twice.
 * Never SLUICE_FATAL: it says the plugin kept nothing, and the daemon then
 * offers the batch anew (it retries FATAL too), so the part already written
 * would be written again. abandon() drops the rest; progress() says how
 * many lines of it are written whole. reopen() follows logrotate's
 * rename-then-signal. rotate makes the plugin rotate the file itself,
 * between batches, by size (before each batch) or time (also from tick(),
 * so an idle file rotates at its boundary too); old files are pruned by
 * keep and max_age and compressed by a thread of this instance (rotate.c,
 * rotate_zstd.c: the write path only renames).
 *
 * Hardening, each for a way the file could go wrong under the daemon:
 *  - the file is opened with O_NOFOLLOW unless follow_symlinks = true
 *    (plugin_lib.h: spl_file_open);
 *  - a file whose last line was torn (kill -9, a full disk at stop) gets a
 *    '\n' before our first line, so the two are not joined into one;
 *  - a file deleted under us (st_nlink 0, checked once a batch) is opened
 *    anew, its directory recreated, rather than written into nothing;
 *  - EFBIG (past RLIMIT_FSIZE; the daemon ignores SIGXFSZ) waits, as a
 *    full disk does;
 *  - a failure streak is logged once, at its first error, and its end
 *    once: the worker retries about once a second and logs the streak
 *    itself, rate-limited.
 *
 * Creating the file and the batch buffer are plugins/lib's (plugin_lib.h).
 * This file includes nothing of the daemon's: only the public header and
 * that library's.
 */
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC, fdatasync under -std=c11 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "sluice-plugin.h"
#include "lib/rotate.h"
#include "lib/plugin_lib.h"

struct file_out {
    const struct sluice_host *host;
    const sluice_config *cfg;
    const char *path;      /* borrowed from the config until close() */
    sluice_format *fmt;    /* owned */
    struct spl_file_opts create; /* mode, owner and group of a file we create */
    bool sync; /* sync = "batch" (or true): fdatasync after each batch */
    int fd;
    struct spl_batch batch; /* owned: the formatted batch; pending: a retry */
    bool failing; /* the last write failed: log its start and then once a minute */
    int64_t next_fail_log_ms; /* spl_now_ms() time of the next "still failing" line */
    unsigned long long write_errors, last_errno, fail_tries; /* counters (stats) */
    bool check_end; /* opened: look at the file's end before our first write */
    bool torn;      /* the file ends without '\n': write one before our first line */
    struct spl_rotation rot; /* rotate.size and rotate.keep; the shift under way */
    /* The shift is done but the new PATH could not be opened: lines go on
     * to the old file (now PATH.1) and each batch tries the open again. */
    bool rot_open;
    bool rot_failing; /* the last rotation step failed: log once per streak */
    bool prune_failing; /* the last pruning failed: log once per streak */
    int64_t next_prune_ms; /* spl_now_ms() time of the next max_age look from tick() */
};

static const char *const file_keys[] = {
    "path", "format", "mode", "owner", "group", "sync", "follow_symlinks", "create_dirs",
    "rotate.size", "rotate.keep", "rotate.every", "rotate.suffix", "rotate.max_age",
    "rotate.compress", NULL};

#define PRUNE_EVERY_MS 60000 /* max_age from tick(): once a minute is exact enough */

/* {=== reading the config */
/* A '{' with a '}' after it: a template ("logs/{app_name}.log"), which
 * this output would not expand but create as a file of that very name. A
 * lone brace is a name: only what is surely a mistake is refused. */
static bool looks_like_template(const char *path)
{
    const char *brace = strchr(path, '{');
    return brace != NULL && strchr(brace + 1, '}') != NULL;
}

/* sync = "none" | "batch", or the boolean it was before (true: "batch"). */
static void read_sync(struct file_out *s, int *sync, char *err, size_t errlen)
{
    const char *v;
    if (s->host->config_bool(s->cfg, "sync", sync) != -EINVAL)
        return;
    if (s->host->config_string(s->cfg, "sync", &v) == 0
        && (strcmp(v, "none") == 0 || strcmp(v, "batch") == 0)) {
        *sync = v[0] == 'b';
        return;
    }
    spl_err_add(err, errlen, "key \"sync\" must be \"none\" or \"batch\" (or true or false)");
}

/* Reads the keys, reporting each bad one in err (reasons separated by
 * '\n', as check() may). */
static int read_config(struct file_out *s, char *err, size_t errlen)
{
    const struct sluice_host *h = s->host;
    const char *format = "rfc3164";
    int sync = 0, follow = 0, rc;

    err[0] = '\0';
    if ((rc = h->config_string(s->cfg, "path", &s->path)) < 0)
        spl_err_add(err, errlen, "key \"path\" %s", rc == -ENOENT ? "is required"
                                                                   : "must be a string");
    else if (s->path[0] == '\0')
        spl_err_add(err, errlen, "key \"path\" must not be empty");
    else if (looks_like_template(s->path))
        spl_err_add(err, errlen, "key \"path\": \"%s\" looks like a template, but a file "
                    "output writes one file, named as written: for one file per program use "
                    "type = \"perproc\" with dir and name = \"{app_name}.log\", or for "
                    "files by date type = \"archive\" with {date}", s->path);
    if (h->config_string(s->cfg, "format", &format) == -EINVAL) {
        spl_err_add(err, errlen, "key \"format\" must be a string");
        format = NULL;
    }
    spl_read_mode(h, s->cfg, "mode", "0640", &s->create.mode, err, errlen);
    spl_read_owner(h, s->cfg, &s->create, err, errlen);
    read_sync(s, &sync, err, errlen);
    s->sync = sync != 0;
    int dirs = 1;
    if (h->config_bool(s->cfg, "create_dirs", &dirs) == -EINVAL)
        spl_err_add(err, errlen, "key \"create_dirs\" must be true or false");
    s->create.no_parents = dirs == 0;
    if (h->config_bool(s->cfg, "follow_symlinks", &follow) == -EINVAL)
        spl_err_add(err, errlen, "key \"follow_symlinks\" must be true or false");
    s->create.follow_symlinks = follow != 0;
    spl_rot_read_config(h, s->cfg, &s->rot, err, errlen);
    if (format != NULL) {
        char ferr[256] = "";
        if (h->format_new(format, &s->fmt, ferr, sizeof ferr) < 0)
            spl_err_add(err, errlen, "%s", ferr[0] != '\0' ? ferr : "bad format");
    }
    return err[0] != '\0' ? -EINVAL : 0;
}
/* }=== */

/* {=== opening */
static void file_close(void *state)
{
    struct file_out *s = state;
    if (s == NULL)
        return;
    spl_rot_zstd_stop(&s->rot, false); /* what waits is compressed at the next start */
    if (s->fd >= 0) {
        if (s->sync)
            (void)fdatasync(s->fd);
        close(s->fd);
    }
    s->host->format_free(s->fmt);
    spl_batch_free(&s->batch);
    free(s);
}

static struct file_out *file_new(const struct sluice_host *host, const sluice_config *cfg)
{
    struct file_out *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->host = host;
    s->cfg = cfg;
    s->fd = -1;
    s->create = (struct spl_file_opts)SPL_FILE_OPTS_INIT;
    return s;
}

/* Every bad key, each its own reason (see read_config). */
static int file_check(const struct sluice_host *host, const sluice_config *cfg, char *err,
                      size_t errlen)
{
    struct file_out *s = file_new(host, cfg);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = read_config(s, err, errlen);
    file_close(s);
    return rc;
}

/* Opens the path (creating what is missing). The fd, or a negative errno
 * with *call named. Either thread (open() or the worker). Whether the file
 * ends in a torn line is looked at only before our first write (see
 * end_torn_line): at open, another instance of this output may still be
 * writing to the file (a reload changing the output opens the new instance
 * while the old one finishes its batch), and its line half written is not
 * torn. */
static int open_path(struct file_out *s, const char **call)
{
    return spl_file_open(s->path, &s->create, call);
}

/* Puts fd in place of the file we had (closed after its data is synced,
 * when sync asks for that). Worker thread. */
static void replace_fd(struct file_out *s, int fd)
{
    if (s->sync)
        (void)fdatasync(s->fd);
    close(s->fd);
    s->fd = fd;
    s->check_end = true;
}

/* compress: what a crash left is made right (rotate_zstd.c), then the
 * thread starts and compresses what waits. A recovery that fails is said
 * and open() goes on: the files stay as they are, nothing is lost. */
static int start_compressor(struct file_out *s, char *err, size_t errlen)
{
    const char *base, *call;
    char name[600];
    int dfd = spl_rot_open_dir(s->path, &base);
    if (dfd < 0) {
        snprintf(err, errlen, "open() the directory of \"%s\" failed (%d: %s)", s->path, -dfd,
                 strerror(-dfd));
        return dfd;
    }
    int rc = spl_rot_recover_at(dfd, base, &call, name, sizeof name);
    if (rc < 0)
        s->host->log(s->cfg, SLUICE_LOG_WARNING, "%s() \"%s\" failed (%d: %s) cleaning up "
                     "after a crash beside \"%s\"", call, name, -rc, strerror(-rc), s->path);
    rc = spl_rot_zstd_start(&s->rot, dfd, base, err, errlen);
    close(dfd);
    return rc;
}

/* open() gives one reason: the first bad key (check() gives them all). */
static int file_open(const struct sluice_host *host, const sluice_config *cfg, void **state,
                     char *err, size_t errlen)
{
    struct file_out *s = file_new(host, cfg);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = read_config(s, err, errlen);
    if (rc < 0) {
        err[strcspn(err, "\n")] = '\0';
        file_close(s);
        return rc;
    }
    const char *call;
    rc = open_path(s, &call);
    if (rc < 0) {
        snprintf(err, errlen, "%s() \"%s\" failed (%d: %s)", call, s->path, -rc, strerror(-rc));
        file_close(s);
        return rc;
    }
    s->fd = rc;
    s->check_end = true;
    if (s->rot.compress && (rc = start_compressor(s, err, errlen)) < 0) {
        file_close(s);
        return rc;
    }
    *state = s;
    return 0;
}
/* }=== */

/* {=== writing */
#define FAIL_LOG_MS 60000 /* a lasting failure is said again this often */

/* A write (or the open before it) failed with errno e in call: logged when
 * the streak starts and then once a minute with the errno, so a full disk
 * is in the log while it lasts but does not flood it; counted for stats
 * (write_errors, last_errno). Worker thread. */
static void write_failed(struct file_out *s, const char *call, int e)
{
    int64_t now = spl_now_ms();
    s->write_errors++;
    s->last_errno = (unsigned long long)e;
    s->fail_tries++;
    if (!s->failing)
        s->host->log(s->cfg, SLUICE_LOG_ERR, "%s() \"%s\" failed (%d: %s), will retry", call,
                     s->path, e, strerror(e));
    else if (now >= s->next_fail_log_ms)
        s->host->log(s->cfg, SLUICE_LOG_ERR, "%s() \"%s\" still fails (%d: %s) after %llu "
                     "tries; retrying", call, s->path, e, strerror(e), s->fail_tries);
    else
        return;
    s->failing = true;
    s->next_fail_log_ms = now + FAIL_LOG_MS;
}

static void write_worked(struct file_out *s)
{
    if (s->failing)
        s->host->log(s->cfg, SLUICE_LOG_NOTICE, "write() \"%s\" works again after %llu failed "
                     "tries", s->path, s->fail_tries);
    s->failing = false;
    s->fail_tries = 0;
    s->last_errno = 0;
}

/* The file was deleted under us, or its directory (rm -rf): what we write
 * would go nowhere, so open the path anew, recreating the directory. Said
 * once; while the new open fails, the batch waits (RETRY), logged once a
 * failure streak. One fstat() a batch. Worker thread. */
static int reopen_if_deleted(struct file_out *s)
{
    if (spl_file_unlinked(s->fd) != 1)
        return SLUICE_OK;
    if (!s->failing)
        s->host->log(s->cfg, SLUICE_LOG_WARNING, "\"%s\" was deleted while open, opening it "
                     "anew", s->path);
    const char *call;
    int fd = open_path(s, &call);
    if (fd < 0) {
        write_failed(s, call, -fd);
        return SLUICE_RETRY;
    }
    replace_fd(s, fd);
    return SLUICE_OK;
}

/* A file that ends in a torn line gets its '\n' before our first byte:
 * looked at once per open, at the first write, on the worker, when no
 * other instance of this output writes any more. 0 or a negative errno
 * (the next try writes it then). */
static int end_torn_line(struct file_out *s)
{
    if (s->check_end) {
        int t = spl_file_torn(s->fd);
        if (t < 0) /* a write-only file: we cannot tell, and say so once an open */
            s->host->log(s->cfg, SLUICE_LOG_WARNING, "reading the end of \"%s\" failed (%d: %s): "
                         "a torn last line there would be joined to our first", s->path, -t,
                         strerror(-t));
        s->torn = t == 1;
        s->check_end = false;
    }
    ssize_t w = 0;
    while (s->torn && (w = write(s->fd, "\n", 1)) < 0 && errno == EINTR)
        ;
    if (w < 0)
        return -errno;
    s->torn = false;
    return 0;
}

/* A rotation step failed: said once a streak, with the call, the file
 * and errno; lines go on to the file we have meanwhile. */
static void rotation_failed(struct file_out *s, const char *call, const char *name, int e)
{
    if (!s->rot_failing)
        s->host->log(s->cfg, SLUICE_LOG_ERR, "%s() \"%s\" failed (%d: %s) rotating \"%s\", "
                     "still writing to the current file, will retry", call, name, e, strerror(e),
                     s->path);
    s->rot_failing = true;
}

/* keep (dated names) and max_age: a failure is logged once a streak and
 * the rest is still tried; it deletes only old files of ours. */
static void prune(struct file_out *s)
{
    const char *call;
    char name[4200];
    int rc = spl_rot_prune(s->path, &s->rot, &call, name, sizeof name);
    if (rc < 0 && !s->prune_failing)
        s->host->log(s->cfg, SLUICE_LOG_ERR, "%s() \"%s\" failed (%d: %s) deleting old files "
                     "of \"%s\", will retry", call, name, -rc, strerror(-rc), s->path);
    s->prune_failing = rc < 0;
    s->next_prune_ms = spl_now_ms() + PRUNE_EVERY_MS;
}

/* Before a new batch (never inside one: a pending batch finishes in the
 * file it started in): when the file has reached rotate.size, shift the
 * old files and open a new PATH (rotate.c says why each step is safe).
 * A step that fails is logged once and tried again at the next batch,
 * resuming where it stopped; the batch is written to the file we have,
 * which may then pass size: a stuck rotation (a read-only directory, a
 * directory where PATH.3 should be) must not stop the output. */
static void rotate_if_due(struct file_out *s)
{
    const char *call;
    char name[4200];
    if (!s->rot_open) {
        int due = spl_rot_due(&s->rot, s->fd);
        if (due <= 0 && s->rot.next == 0)
            return; /* an fstat() error: the write that follows will say */
        spl_rot_begin(&s->rot);
        int rc = spl_rot_shift(s->path, &s->rot, &call, name, sizeof name);
        if (rc < 0) {
            rotation_failed(s, call, name, -rc);
            return;
        }
        s->rot_open = true;
    }
    int fd = open_path(s, &call);
    if (fd < 0) {
        rotation_failed(s, call, s->path, -fd);
        return;
    }
    replace_fd(s, fd);
    s->rot_open = false;
    if (s->rot_failing)
        s->host->log(s->cfg, SLUICE_LOG_NOTICE, "rotating \"%s\" works again", s->path);
    s->rot_failing = false;
    prune(s);
}

static int file_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    struct file_out *s = state;
    if (reopen_if_deleted(s) != SLUICE_OK)
        return SLUICE_RETRY;
    if (!spl_batch_pending(&s->batch))
        rotate_if_due(s);
    /* Unwritten bytes mean this is the batch that answered RETRY: a
     * batch the daemon gave up was dropped by abandon(). */
    if (!spl_batch_pending(&s->batch) && spl_batch_fill(&s->batch, s->host, s->fmt, msgs, n) < 0) {
        s->host->log(s->cfg, SLUICE_LOG_ERR, "out of memory formatting %zu messages", n);
        return SLUICE_RETRY;
    }
    int e = -end_torn_line(s);
    if (e == 0)
        e = -spl_batch_write_fd(&s->batch, s->fd);
    if (e == 0) {
        write_worked(s);
        /* The bytes are the kernel's now: retrying after a failed
         * fdatasync() would only write them twice. */
        if (s->sync && fdatasync(s->fd) < 0)
            s->host->log(s->cfg, SLUICE_LOG_ERR, "fdatasync() \"%s\" failed (%d: %s)", s->path,
                         errno, strerror(errno));
        return SLUICE_OK;
    }
    /* Whatever e is: an administrator clears a read-only file system or an
     * immutable file as a full disk clears, and the written part must not
     * be written again (see the top of this file). */
    write_failed(s, "write", e);
    return SLUICE_RETRY;
}

/* The daemon gave up the batch that answered RETRY: its rest must not leak
 * into the next batch. Worker thread. */
static void file_abandon(void *state)
{
    struct file_out *s = state;
    spl_batch_drop(&s->batch);
}

/* The daemon gives up the batch that answered RETRY (shutdown): the lines
 * whose last byte is written count as written, only the rest as lost.
 * Worker thread. */
static size_t file_progress(void *state)
{
    struct file_out *s = state;
    return spl_batch_done(&s->batch);
}

static int file_flush(void *state)
{
    struct file_out *s = state;
    if (fdatasync(s->fd) < 0 && errno != EINVAL) { /* EINVAL: a pipe or tty */
        s->host->log(s->cfg, SLUICE_LOG_ERR, "fdatasync() \"%s\" failed (%d: %s)", s->path, errno,
                     strerror(errno));
        return SLUICE_RETRY;
    }
    return SLUICE_OK;
}

/* Time's work, on the worker between batches: a rotation by every that
 * no batch came to make (an idle file rotates at its boundary as well),
 * max_age once a minute, and the compressor's failures said. Never inside
 * a batch that answered RETRY: it finishes in the file it started in. */
static int file_tick(void *state)
{
    struct file_out *s = state;
    const char *call;
    char name[600];
    int e;
    while (spl_rot_zstd_error(&s->rot, &call, name, sizeof name, &e) == 1)
        s->host->log(s->cfg, SLUICE_LOG_ERR, "%s() \"%s\" failed (%d: %s) compressing an old "
                     "file of \"%s\", left uncompressed", call, name, e, strerror(e), s->path);
    if (spl_batch_pending(&s->batch) || !spl_rot_on(&s->rot))
        return SLUICE_OK;
    if (s->rot.every != SPL_ROT_NEVER || s->rot.next != 0 || s->rot_open)
        rotate_if_due(s);
    if (s->rot.max_age != 0 && spl_now_ms() >= s->next_prune_ms)
        prune(s);
    return SLUICE_OK;
}

/* logrotate renamed the file: open the path anew. If that fails, keep
 * writing to the old file rather than losing messages. */
static int file_reopen(void *state)
{
    struct file_out *s = state;
    const char *call;
    int fd = open_path(s, &call);
    if (fd < 0) {
        s->host->log(s->cfg, SLUICE_LOG_ERR, "%s() \"%s\" failed (%d: %s), still writing to "
                     "the old file", call, s->path, -fd, strerror(-fd));
        return SLUICE_RETRY;
    }
    replace_fd(s, fd);
    s->rot_open = false; /* a rotation waiting for its new PATH has it */
    return SLUICE_OK;
}
/* }=== */
/* Its own counters (sluice-plugin.h): failed write() or open() calls, and
 * the errno of the failure under way (0: none), so that stats say why an
 * output is "retrying" (28: the disk is full). */
static const char *const file_counters[] = {"write_errors", "last_errno", NULL};

static void file_stats(void *state, unsigned long long *v)
{
    const struct file_out *s = state;
    v[0] = s->write_errors;
    v[1] = s->last_errno;
}

static const struct sluice_output_plugin file_plugin = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_output_plugin),
    .name = "file",
    .description = "appends one formatted line per message to a file",
    .keys = file_keys,
    .open = file_open,
    .write = file_write,
    .flush = file_flush,
    .reopen = file_reopen,
    .close = file_close,
    .check = file_check,
    .abandon = file_abandon,
    .progress = file_progress,
    .tick = file_tick,
    .counters = file_counters,
    .stats = file_stats,
};

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void);

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void)
{
    return &file_plugin;
}
