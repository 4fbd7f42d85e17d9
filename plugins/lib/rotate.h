/* SPDX-License-Identifier: MIT */
/*
 * rotate.h: rotation of an output's files, shared by the plugins that
 * write files (file, perproc):
 *
 *     rotate = { size = "64M", every = "day", keep = 8, suffix = "date",
 *                max_age = "30d", compress = "zstd" }
 *
 * A file rotates when it reaches size, or (every) when its last write lies
 * in an earlier hour, day or week (local time; weeks begin on Monday) than
 * now; an empty file never rotates. Numbered names (the default): PATH is
 * renamed to PATH.1 (the newest old file), PATH.1 to PATH.2, and so on up
 * to PATH.keep; what was PATH.keep is deleted. Dated names (suffix =
 * "date"): PATH is renamed to PATH-YYYY-MM-DD (-HH added for every =
 * "hour"), the period its lines belong to, with .1, .2 ... added when that
 * name is taken (a higher counter is newer); spl_rot_prune_at() then keeps
 * the newest keep of them. max_age deletes old files by mtime. compress
 * starts one thread per instance that compresses each old file into
 * NAME.zst (rotate_zstd.c). The sequences, and why a kill -9 at any point
 * loses and duplicates nothing, are in rotate.c and rotate_zstd.c.
 *
 * Every call that touches files has an _at form on a directory fd and a
 * base name (one component), for a plugin that keeps its files in a
 * directory fd (perproc).
 *
 * Threads: a struct spl_rotation belongs to one instance's worker (check
 * and config reading: either thread, no side effect); its compressor
 * thread shares only what rotate_zstd.c guards with its mutex.
 */
#ifndef SPL_ROTATE_H
#define SPL_ROTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "sluice-plugin.h"

#define SPL_ROT_MIN_SIZE 4096ULL /* a smaller file would rotate every few lines */
#define SPL_ROT_DEFAULT_KEEP 7   /* Debian's logrotate rule for rsyslog's /var/log/syslog */
#define SPL_ROT_MAX_KEEP 1000

enum spl_rot_every { SPL_ROT_NEVER, SPL_ROT_HOUR, SPL_ROT_DAY, SPL_ROT_WEEK };

struct spl_rot_zstd; /* rotate_zstd.c: the compressor thread */

struct spl_rotation {
    unsigned long long size; /* rotate once PATH has this many bytes; 0: never */
    unsigned keep;           /* old files kept, PATH.1 .. PATH.keep (or keep dated ones) */
    /* The shift under way, resumed where it stopped after a failure, so a
     * retry never deletes a second file: 0 none; keep + 1: delete
     * PATH.keep next; i in [1, keep]: rename PATH.(i-1) (PATH for i = 1)
     * to PATH.i next. Dated names: keep + 1 while one is asked for. */
    unsigned next;
    /* Appended for issue 10; {0} in all of them is the size rotation above. */
    enum spl_rot_every every; /* rotate at the start of each period; SPL_ROT_NEVER: never */
    bool dated;               /* suffix = "date" */
    bool compress;            /* compress = "zstd": the caller starts spl_rot_zstd_start() */
    long long max_age;        /* seconds; old files with an older mtime are deleted; 0: none */
    time_t (*clock)(void);    /* the time now; NULL: time(). Tests inject one. */
    struct spl_rot_zstd *z;   /* owned: the compressor, once started; NULL: none */
};

/* Whether r rotates at all (size or every). */
static inline bool spl_rot_on(const struct spl_rotation *r)
{
    return r->size != 0 || r->every != SPL_ROT_NEVER;
}

/* Reads rotate.size, .every, .keep, .suffix, .max_age and .compress into
 * r (all off when absent), adding each bad value's reason to err with
 * spl_err_add(). r->clock and r->z are NULL after it. */
void spl_rot_read_config(const struct sluice_host *h, const sluice_config *cfg, struct spl_rotation *r,
                     char *err, size_t errlen);

/* Whether the file open at fd is due: not empty, and it has reached r's
 * size, or (every) its mtime lies before the period of now began. 1 yes,
 * 0 no, or a negative errno from fstat(). */
int spl_rot_due(const struct spl_rotation *r, int fd);

/* The start of the period (local time, as the TZ of the process says)
 * that holds t: the hour, the day at 00:00, the week at Monday 00:00. t
 * itself for SPL_ROT_NEVER. Thread: any (localtime_r, mktime). */
time_t spl_rot_period_start(enum spl_rot_every every, time_t t);

/* r->clock(), or time() without one. */
time_t spl_rot_now(const struct spl_rotation *r);

/* Starts a shift (r->next = keep + 1) unless one is under way. */
void spl_rot_begin(struct spl_rotation *r);

/* Carries out the shift of path's old files, from r->next on, up to and
 * including PATH -> PATH.1; then r->next is 0 and the caller opens a new
 * PATH. Each step moves PATH.i.zst with PATH.i. Dated names: the one
 * rename PATH -> PATH-DATE[.N]. 0 with name set to the old file's new
 * name (base-relative for _at), or a negative errno with *call ("open",
 * "unlink", "rename", "stat") and name (the file it concerns) set for
 * the log line; r->next then says where the next call resumes. The
 * caller's fd still writes to the old file, under whichever name it has
 * now. With a compressor, the shift holds its mutex and tells it the new
 * name of a file it is compressing, then wakes it for the new old file.
 * After 0, the caller prunes (spl_rot_prune_at). */
int spl_rot_shift(const char *path, struct spl_rotation *r, const char **call, char *name,
                  size_t namelen);

/* The same in the directory open at dfd (the caller's), for the file named
 * base there (one component, no '/'): what a plugin that opens its files
 * relative to a directory fd (perproc) calls, so no name is resolved
 * again from the root. name is then base-relative. */
int spl_rot_shift_at(int dfd, const char *base, struct spl_rotation *r, const char **call,
                     char *name, size_t namelen);

/* The directory of path, opened (O_DIRECTORY, the caller's fd), with
 * *base pointed at path's last component; or a negative errno. */
int spl_rot_open_dir(const char *path, const char **base);

/* {=== names */
/* One of base's old files, as spl_rot_parse_name() reads its name. */
struct spl_rot_name {
    unsigned index;   /* numbered: base.INDEX (>= 1); 0: dated */
    char date[16];    /* dated: "2026-12-03" or "2026-12-03-14"; "" when numbered */
    unsigned counter; /* dated: the .N after the date; 0: none */
    bool zst;         /* ends in ".zst" */
    bool tmp;         /* ends in ".zst.tmp": a compression under way or torn */
};

/* 1 when name is exactly one of the names this module gives base's old
 * files (base.N, base-YYYY-MM-DD[-HH][.N], each with or without .zst or
 * .zst.tmp), with *out filled; 0 for any other name. Thread: any. */
int spl_rot_parse_name(const char *base, const char *name, struct spl_rot_name *out);

/* Orders two dated names of one base: < 0 when a is older. */
int spl_rot_name_cmp(const struct spl_rot_name *a, const struct spl_rot_name *b);

/* Writes the name n stands for (for base) into out. */
void spl_rot_format_name(const char *base, const struct spl_rot_name *n, char *out, size_t len);
/* }=== */

/* {=== deleting old files */
/* Deletes base's old files beyond r->keep (dated names: the oldest; a
 * file and its .zst count as one) and those whose mtime is more than
 * r->max_age before now. Only names spl_rot_parse_name() accepts, never
 * .zst.tmp (the compressor's), never anything else in the directory;
 * takes the compressor's mutex when there is one. 0, or the first
 * negative errno with *call and name set (the rest is still tried). */
int spl_rot_prune_at(int dfd, const char *base, struct spl_rotation *r, const char **call,
                     char *name, size_t namelen);
/* The same for path (its directory opened for the call); name is then
 * given with path's directory. */
int spl_rot_prune(const char *path, struct spl_rotation *r, const char **call, char *name,
                  size_t namelen);
/* }=== */

/* {=== compression (rotate_zstd.c) */
/* What a crash may have left, made right before the compressor starts:
 * base's .zst.tmp files deleted (never complete: renamed only after
 * fdatasync), and where NAME and NAME.zst both exist, NAME deleted (the
 * .zst is complete for the same reason). Uncompressed old files are left
 * for the compressor. 0, or the first negative errno with *call and name
 * set (the rest is still tried). Either thread, before spl_rot_zstd_start. */
int spl_rot_recover_at(int dfd, const char *base, const char **call, char *name,
                       size_t namelen);

/* Starts r's compressor thread for base in the directory open at dfd
 * (duplicated: dfd stays the caller's; base is copied). It compresses
 * every uncompressed old file of base, oldest first, into NAME.zst.tmp,
 * fdatasyncs it, renames it to NAME.zst and deletes NAME; then sleeps
 * until a shift wakes it. 0, or a negative errno with a reason in err.
 * Worker thread (or open()). */
int spl_rot_zstd_start(struct spl_rotation *r, int dfd, const char *base, char *err,
                       size_t errlen);

/* Wakes the compressor to look for work (a shift does it itself). */
void spl_rot_zstd_kick(struct spl_rotation *r);

/* The compressor's failures since the last call, for the worker's log: 1
 * with *call, name and *errnum of the latest set, 0 when there was none.
 * A file that failed is left uncompressed and not tried again until the
 * next start. */
int spl_rot_zstd_error(struct spl_rotation *r, const char **call, char *name, size_t namelen,
                       int *errnum);

/* Stops and joins the compressor (r->z is NULL after; none: a no-op). A
 * compression under way is finished first; with drain, every file
 * waiting is compressed too (tests), else they wait for the next start. */
void spl_rot_zstd_stop(struct spl_rotation *r, bool drain);
/* }=== */

#endif /* SPL_ROTATE_H */
