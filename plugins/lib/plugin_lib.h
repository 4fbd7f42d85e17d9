/* SPDX-License-Identifier: MIT */
/*
 * plugin_lib.h: code the output plugins share, as a libtool convenience
 * library (plugins/lib/libsluiceplugin.la) linked into each plugin, so a
 * plugin still reads as plain C against sluice-plugin.h and this header,
 * and includes nothing of the daemon's. Prefix spl_ ("sluice plugin lib").
 *
 *   files    spl_file_open(): append to a file, creating it with a mode, an
 *            owner, a group and its parent directories, without following
 *            a symlink (unless asked to); spl_file_torn() and
 *            spl_file_unlinked(): a torn last line, a deleted file.
 *   batches  struct spl_batch: a batch formatted once, written as far as
 *            the kernel takes it, the rest kept for the retry and dropped
 *            on abandon(), as the batch contract of sluice-plugin.h has it;
 *            spl_batch_done(): the messages written whole, for progress().
 *   backoff  struct spl_backoff: a delay doubling to a cap, for reconnects
 *            driven from tick().
 *   errors   spl_err_add(): several reasons in one err, for check().
 *
 * With their own headers: rotate.h (size rotation), zstd_out.h, and for
 * outputs whose file names come from messages (perproc): name_enc.h (a
 * field value as one safe, injective file name component), sha256.h (what
 * it shortens long values with) and beneath.h (opening files beneath a
 * directory fd, never through a symlink: openat2() or a per-component walk).
 *
 * Threads: nothing here keeps global state; each function is safe on any
 * thread for objects that thread owns (an instance's worker, as a rule).
 */
#ifndef SPL_PLUGIN_LIB_H
#define SPL_PLUGIN_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sluice-plugin.h"

/* {=== files */
struct spl_file_opts {
    mode_t mode;     /* permissions of a file we create, exactly, whatever the umask */
    uid_t owner;     /* owner of a file we create; (uid_t)-1: the daemon's */
    gid_t group;     /* group of a file we create; (gid_t)-1: the daemon's */
    mode_t dir_mode; /* missing parent directories are created with it (and the umask) */
    bool follow_symlinks; /* the administrator allows a symlink as the file itself */
    bool no_parents; /* create_dirs = false: a missing directory is -ENOENT, never made */
};
#define SPL_FILE_OPTS_INIT {0640, (uid_t)-1, (gid_t)-1, 0755, false, false}

/* Opens path for appending (O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY).
 * A missing file is created with o's mode, owner and group (fchown, then
 * fchmod, on the new fd) after its missing parents (unless o->no_parents:
 * then a missing directory is -ENOENT from "open"); an existing file keeps
 * its owner and permissions.
 *
 * Symlinks: the file itself is opened with O_NOFOLLOW unless
 * o->follow_symlinks, so a link anyone planted where the file should be is
 * -ELOOP, never followed (a daemon running as root would append a remote
 * sender's text to whatever it points at). While creating missing parents,
 * a component that exists as a symlink is followed only when root or the
 * daemon's user owns it (/var/log linked to another disk), or with
 * o->follow_symlinks; another user's is -ELOOP (call "mkdir"). Existing
 * directories further up are the administrator's: open() resolves them as
 * the kernel does, as rsyslog and syslog-ng do for every component.
 *
 * Returns the fd (the caller owns it), or a negative errno with *call set
 * to the name of the call that failed ("open", "mkdir", "fchown",
 * "fchmod"), for the log line; an empty path is -ENOENT. A file created
 * but not given its owner is removed again, so a later attempt does not
 * find it with the wrong one. */
int spl_file_open(const char *path, const struct spl_file_opts *o, const char **call);

/* True (1) when the regular file open at fd is not empty and does not end
 * in '\n': its last line was torn (a kill -9, a full disk at shutdown), and
 * a line-oriented writer should write "\n" before its first line so the two
 * are not joined. 0 when it ends in '\n', is empty or is not a regular file;
 * a negative errno when its end cannot be read (the fd is write-only: it is
 * read through /proc/self/fd, which may refuse). fd stays the caller's. */
int spl_file_torn(int fd);

/* True (1) when the file open at fd has no name left (st_nlink 0: it, or
 * its directory, was deleted), so what is written to it is lost; 0
 * otherwise, or a negative errno from fstat(). One fstat(): cheap enough
 * for once a batch. */
int spl_file_unlinked(int fd);

/* A user or group as the config names it: a name from the system's
 * databases, or a decimal number. -ENOENT for an unknown name, -EINVAL for
 * an empty string or an out-of-range number. Reads /etc/passwd or
 * /etc/group (through NSS), nothing else: fit for check(). */
int spl_user_id(const char *name, uid_t *out);
int spl_group_id(const char *name, gid_t *out);
/* }=== */

/* {=== keys several plugins share (keys.c) */
/* An octal string "0000" .. "0777" (permission bits only: set-uid,
 * set-gid or sticky on a log file is a typo or worse): 0, or -EINVAL. */
int spl_parse_mode(const char *s, mode_t *out);

/* Reads the mode key `key` into *out (def, also in the reason, when
 * absent), adding the reason of a bad value to err with spl_err_add(). */
void spl_read_mode(const struct sluice_host *h, const sluice_config *cfg, const char *key,
                   const char *def, mode_t *out, char *err, size_t errlen);

/* Reads the keys owner and group (names or numbers) into o->owner and
 * o->group, left as they are when absent; each bad one's reason to err. */
void spl_read_owner(const struct sluice_host *h, const sluice_config *cfg,
                    struct spl_file_opts *o, char *err, size_t errlen);

/* A duration as the config writes it: digits, then nothing (seconds), or
 * "ms", "s", "m", "h", "d" or "w": the milliseconds in *ms. -EINVAL for
 * anything else or an overflow; ranges are the caller's to check. */
int spl_parse_duration_ms(const char *s, int64_t *ms);
/* }=== */

/* {=== batches */
/* A formatted batch and how far it was written. Start from {0}; the owner
 * frees it with spl_batch_free(). */
struct spl_batch {
    struct sluice_buf buf; /* owned */
    size_t off;            /* bytes of buf already written */
    /* Owned: ends[i] is where message i's bytes end in buf, for
     * progress(); n of them, room for cap. Grown with the buffer, one
     * realloc a fill at most, none per message. */
    size_t *ends;
    size_t n, cap;
};

/* True when the last write stopped before the end: the next write() of the
 * plugin is this batch again (or abandon() came first, which drops it). */
static inline bool spl_batch_pending(const struct spl_batch *b)
{
    return b->off < b->buf.len;
}

/* Formats msgs[0..n) with f, replacing what b held, and records where each
 * message ends. 0, or -ENOMEM with b empty. The messages are only read
 * during the call. */
int spl_batch_fill(struct spl_batch *b, const struct sluice_host *host, sluice_format *f,
                   const sluice_msg *const *msgs, size_t n);

/* The writer spl_batch_write() calls: as write(2), returning the bytes it
 * took (> 0) or -1 with errno set. */
typedef ssize_t (*spl_write_fn)(void *ctx, const void *data, size_t len);

/* Writes the rest of b with wr, retrying EINTR. 0 when all of it is
 * written (b is then empty), or the negative errno of the failing call
 * with the rest kept for the next attempt. */
int spl_batch_write(struct spl_batch *b, spl_write_fn wr, void *ctx);

/* spl_batch_write() to a file descriptor with write(2). */
int spl_batch_write_fd(struct spl_batch *b, int fd);

/* How many messages of the pending batch, from the first, are written in
 * full (their last byte is): what progress() answers after RETRY. 0 when
 * none is pending (nothing kept, or all written and dropped). */
size_t spl_batch_done(const struct spl_batch *b);

/* Forgets the rest (abandon(), a FATAL batch); keeps the memory. */
void spl_batch_drop(struct spl_batch *b);

void spl_batch_free(struct spl_batch *b); /* frees buf.data and ends; b is {0} after */
/* }=== */

/* {=== backoff */
/* When to try again after failures: first_ms after the first, doubling
 * after each one that follows, up to max_ms; at once after a success. */
struct spl_backoff {
    uint32_t first_ms, max_ms;
    uint32_t delay_ms; /* the delay the next failure schedules */
    int64_t next_ms;   /* no attempt before this (spl_now_ms() time); 0: any time */
};

void spl_backoff_init(struct spl_backoff *b, uint32_t first_ms, uint32_t max_ms);
/* True when an attempt may be made at now_ms. */
bool spl_backoff_due(const struct spl_backoff *b, int64_t now_ms);
/* An attempt failed at now_ms: schedules the next; returns its delay. */
uint32_t spl_backoff_failed(struct spl_backoff *b, int64_t now_ms);
/* An attempt worked: the next failure waits first_ms again. */
void spl_backoff_reset(struct spl_backoff *b);
/* Milliseconds of CLOCK_MONOTONIC, the clock the backoff counts in. */
int64_t spl_now_ms(void);
/* }=== */

/* {=== errors */
/* Appends one reason to err (a NUL-terminated string the caller started
 * as ""), after a '\n' when it already holds one: check() reports each bad
 * value, and the daemon prints each reason as its own FILE:LINE error.
 * What does not fit in errlen is cut. */
void spl_err_add(char *err, size_t errlen, const char *fmt, ...) SLUICE_PRINTF(3, 4);
/* }=== */

#endif /* SPL_PLUGIN_LIB_H */
