/* SPDX-License-Identifier: MIT */
/*
 * rotate.c: size rotation of an output's files (rotate.h).
 *
 * DESIGN. A shift is a sequence of single renames in PATH's directory,
 * done through one directory fd (renameat(), unlinkat()), so every step
 * acts on the same directory even if a name above it changes meanwhile:
 *
 *   1. unlink PATH.keep                      (the oldest goes, as asked)
 *   2. rename PATH.(i-1) -> PATH.i, for i = keep .. 2
 *   3. rename PATH -> PATH.1
 *   4. open a new PATH (file.c: spl_file_open, O_CREAT | O_EXCL, then
 *      O_NOFOLLOW), and only then close the old fd
 *
 * Each rename is atomic and its target is free (the step before moved it
 * away), so at every instant each file has exactly one name and each
 * written line is in exactly one file, whenever kill -9 comes:
 *  - before 3: PATH is untouched; the restarted daemon appends to it and
 *    rotates again at its next batch. The old files may have a gap (one
 *    name free in the middle); the next shift moves the gap up and out,
 *    so at worst one old file fewer is kept for a while, never a line
 *    twice or lost (other than the oldest file, which 1 deletes anyway).
 *  - after 3, before 4: there is no PATH; the restart creates it. The
 *    lines are all in PATH.1 and older.
 *  - a batch is never split: the shift runs before a new batch is
 *    formatted, never while one is pending (its retry finishes in the
 *    file it started in), so a file ends in a whole line and may pass
 *    size by at most one batch.
 * A failed step leaves r->next at that step: the next try resumes there
 * and deletes nothing more. A restart forgets where a failed shift
 * stopped and begins anew (one more old file deleted: the gap case).
 *
 * Each step renames PATH.(i-1).zst to PATH.i.zst as well (ENOENT: none),
 * so compressed old files move with the others. Between two shifts at
 * most one of PATH.i and PATH.i.zst exists: the compressor replaces one by
 * the other under the mutex the shift also holds (rotate_zstd.c), and the
 * pair a crash may leave is resolved at start (spl_rot_recover_at) before
 * any shift.
 *
 * Dated names (suffix = "date") need no shift: PATH is renamed to a name
 * that is free (the counter goes up until it is), one atomic rename, the
 * same case as step 3 above; the oldest are then deleted by
 * spl_rot_prune_at, which only ever deletes.
 *
 * Time: every rotates a file whose mtime (its last write) lies before the
 * start of the current period, so the same test covers a boundary passed
 * while running and one passed while the daemon was down, and an empty
 * file (nothing written since) never rotates. Periods are cut in local
 * time by mktime(), which handles DST: a day of 23 or 25 hours still
 * begins at 00:00. The dated name is the period the lines belong to, the
 * one of the mtime (with size alone: the day of the rotation).
 *
 * Symlinks: rename and unlink act on a name, never on what a symlink
 * points at, so a link planted as PATH.3 is moved or deleted as a link,
 * harmless; PATH itself is never opened through a link (O_NOFOLLOW).
 */
#define _POSIX_C_SOURCE 200809L /* renameat, unlinkat, O_DIRECTORY, O_CLOEXEC, localtime_r */

#include "lib/rotate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/plugin_lib.h"
#include "lib/rotate_priv.h"

#define MAX_COUNTER 9999 /* dated names in one period: PATH-DATE .. PATH-DATE.9999 */

/* {=== config */
/* "30d", "12h", "90m", "45s", "2w" or plain digits (seconds): whole
 * seconds > 0, or -1 (spl_parse_duration_ms() reads it, as every
 * plugin's durations). */
static long long parse_duration(const char *s)
{
    int64_t ms;
    if (spl_parse_duration_ms(s, &ms) < 0 || ms < 1000)
        return -1;
    return ms / 1000;
}

/* rotate.every; false when it is absent. */
static bool read_every(const struct sluice_host *h, const sluice_config *cfg,
                       enum spl_rot_every *every, char *err, size_t errlen)
{
    const char *s;
    int rc = h->config_string(cfg, "rotate.every", &s);
    *every = SPL_ROT_NEVER;
    if (rc == -ENOENT)
        return false;
    if (rc == 0 && strcmp(s, "hour") == 0)
        *every = SPL_ROT_HOUR;
    else if (rc == 0 && strcmp(s, "day") == 0)
        *every = SPL_ROT_DAY;
    else if (rc == 0 && strcmp(s, "week") == 0)
        *every = SPL_ROT_WEEK;
    else
        spl_err_add(err, errlen, "key \"rotate.every\" must be \"hour\", \"day\" or \"week\"");
    return true;
}

/* rotate.suffix, .compress and .max_age; each bad one said in err. */
static void read_extras(const struct sluice_host *h, const sluice_config *cfg,
                        struct spl_rotation *r, char *err, size_t errlen)
{
    const char *s;
    int rc = h->config_string(cfg, "rotate.suffix", &s);
    if (rc == 0 && strcmp(s, "date") == 0)
        r->dated = true;
    else if (rc != -ENOENT && !(rc == 0 && strcmp(s, "number") == 0))
        spl_err_add(err, errlen, "key \"rotate.suffix\" must be \"number\" (PATH.1, PATH.2, "
                    "...) or \"date\" (PATH-2026-12-03)");
    rc = h->config_string(cfg, "rotate.compress", &s);
    if (rc == 0 && strcmp(s, "zstd") == 0)
        r->compress = true;
    else if (rc != -ENOENT)
        spl_err_add(err, errlen, "key \"rotate.compress\" must be \"zstd\", the one "
                    "compression offered");
    long long age;
    rc = h->config_int(cfg, "rotate.max_age", &age);
    if (rc == -EINVAL && h->config_string(cfg, "rotate.max_age", &s) == 0)
        age = parse_duration(s), rc = 0;
    if (rc == 0 && age > 0)
        r->max_age = age;
    else if (rc != -ENOENT)
        spl_err_add(err, errlen, "key \"rotate.max_age\" must be a duration such as \"30d\", "
                    "\"12h\", \"90m\" (units s, m, h, d, w) or a number of seconds");
}

void spl_rot_read_config(const struct sluice_host *h, const sluice_config *cfg, struct spl_rotation *r,
                     char *err, size_t errlen)
{
    unsigned long long size = 0;
    long long keep = SPL_ROT_DEFAULT_KEEP;
    int rs = h->config_size(cfg, "rotate.size", &size);
    int rk = h->config_int(cfg, "rotate.keep", &keep);
    enum spl_rot_every every;
    *r = (struct spl_rotation){0};
    bool every_given = read_every(h, cfg, &every, err, errlen);
    read_extras(h, cfg, r, err, errlen);
    bool size_ok = rs == 0 && size >= SPL_ROT_MIN_SIZE;
    if (rs == -EINVAL || (rs == 0 && size < SPL_ROT_MIN_SIZE))
        spl_err_add(err, errlen, "key \"rotate.size\" must be a size of at least 4K, in bytes "
                    "or such as \"64M\"");
    bool keep_ok = rk != -EINVAL && keep >= 1 && keep <= SPL_ROT_MAX_KEEP;
    if (!keep_ok)
        spl_err_add(err, errlen, "key \"rotate.keep\" must be an integer from 1 to %d",
                    SPL_ROT_MAX_KEEP);
    bool extras = rk == 0 || r->dated || r->compress || r->max_age != 0;
    if (extras && rs == -ENOENT && !every_given)
        spl_err_add(err, errlen, "the keys of \"rotate\" need rotate.size or rotate.every: "
                    "a file rotates when it reaches that size or at that time");
    /* A bad value anywhere in rotate: nothing rotates (open() refuses it anyway). */
    if (!keep_ok || (rs != -ENOENT && !size_ok) || (!size_ok && every == SPL_ROT_NEVER)) {
        *r = (struct spl_rotation){0};
        return;
    }
    r->size = size_ok ? size : 0;
    r->keep = (unsigned)keep;
    r->every = every;
}
/* }=== */

/* {=== when */
time_t spl_rot_now(const struct spl_rotation *r)
{
    return r->clock != NULL ? r->clock() : time(NULL);
}

time_t spl_rot_period_start(enum spl_rot_every every, time_t t)
{
    struct tm tm;
    if (every == SPL_ROT_NEVER || localtime_r(&t, &tm) == NULL)
        return t;
    if (every == SPL_ROT_HOUR) /* DST moves whole hours here: the hour begins at :00 */
        return t - tm.tm_min * 60 - tm.tm_sec;
    if (every == SPL_ROT_WEEK)
        tm.tm_mday -= (tm.tm_wday + 6) % 7; /* back to Monday; mktime() normalizes */
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1; /* midnight's own offset, not the one of t */
    time_t start = mktime(&tm);
    return start == (time_t)-1 || start > t ? t : start;
}

int spl_rot_due(const struct spl_rotation *r, int fd)
{
    if (!spl_rot_on(r))
        return 0;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_size == 0) /* an empty file: nothing to keep */
        return 0;
    if (r->size != 0 && (unsigned long long)st.st_size >= r->size)
        return 1;
    return r->every != SPL_ROT_NEVER
           && st.st_mtime < spl_rot_period_start(r->every, spl_rot_now(r));
}

void spl_rot_begin(struct spl_rotation *r)
{
    if (r->next == 0)
        r->next = r->keep + 1;
}
/* }=== */

/* {=== names */
/* Up to 9 digits, no leading zero, >= 1; the number, or 0 with *p unmoved. */
static unsigned parse_num(const char **p)
{
    const char *s = *p;
    unsigned v = 0;
    int n = 0;
    if (*s < '1' || *s > '9')
        return 0;
    for (; isdigit((unsigned char)*s) && n < 9; s++, n++)
        v = v * 10 + (unsigned)(*s - '0');
    if (isdigit((unsigned char)*s))
        return 0;
    *p = s;
    return v;
}

/* Two digits from lo to hi at *p: the value, or -1. */
static int two(const char *p, int lo, int hi)
{
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return -1;
    int v = (p[0] - '0') * 10 + (p[1] - '0');
    return v >= lo && v <= hi ? v : -1;
}

/* "YYYY-MM-DD" or "YYYY-MM-DD-HH" at *p into date; the length, or 0. */
static size_t parse_date(const char *p, char *date)
{
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)p[i]))
            return 0;
    if (p[4] != '-' || two(p + 5, 1, 12) < 0 || p[7] != '-' || two(p + 8, 1, 31) < 0)
        return 0;
    size_t len = 10;
    if (p[10] == '-' && two(p + 11, 0, 23) >= 0)
        len = 13;
    memcpy(date, p, len);
    date[len] = '\0';
    return len;
}

int spl_rot_parse_name(const char *base, const char *name, struct spl_rot_name *out)
{
    size_t bl = strlen(base);
    *out = (struct spl_rot_name){0};
    if (strncmp(name, base, bl) != 0)
        return 0;
    const char *p = name + bl + 1;
    if (name[bl] == '.') {
        if ((out->index = parse_num(&p)) == 0)
            return 0;
    } else if (name[bl] == '-') {
        size_t len = parse_date(p, out->date);
        if (len == 0)
            return 0;
        p += len;
        if (p[0] == '.' && isdigit((unsigned char)p[1])) {
            p++;
            if ((out->counter = parse_num(&p)) == 0)
                return 0;
        }
    } else {
        return 0;
    }
    if (strcmp(p, ".zst") == 0)
        out->zst = true;
    else if (strcmp(p, ".zst.tmp") == 0)
        out->zst = out->tmp = true;
    else if (*p != '\0')
        return 0;
    return 1;
}

int spl_rot_name_cmp(const struct spl_rot_name *a, const struct spl_rot_name *b)
{
    if (a->index != b->index) /* numbered: a higher index is older */
        return a->index > b->index ? -1 : 1;
    int c = strcmp(a->date, b->date);
    if (c != 0)
        return c;
    return a->counter < b->counter ? -1 : a->counter > b->counter;
}

void spl_rot_format_name(const char *base, const struct spl_rot_name *n, char *out, size_t len)
{
    const char *ext = n->tmp ? ".zst.tmp" : n->zst ? ".zst" : "";
    if (n->index != 0)
        snprintf(out, len, "%s.%u%s", base, n->index, ext);
    else if (n->counter != 0)
        snprintf(out, len, "%s-%s.%u%s", base, n->date, n->counter, ext);
    else
        snprintf(out, len, "%s-%s%s", base, n->date, ext);
}

int spl_rot_list(int dfd, const char *base, struct spl_rot_entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return -e;
    }
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        struct spl_rot_entry e = {0};
        struct stat st;
        if (!spl_rot_parse_name(base, de->d_name, &e.n)
            || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* not ours, or gone since readdir */
        e.mtime = st.st_mtime;
        if (*n == cap) {
            cap = cap != 0 ? cap * 2 : 16;
            struct spl_rot_entry *grown = realloc(*out, cap * sizeof **out);
            if (grown == NULL) {
                rc = -ENOMEM;
                break;
            }
            *out = grown;
        }
        (*out)[(*n)++] = e;
    }
    closedir(d);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}
/* }=== */

/* {=== the shift */
/* base with ".i" appended, or base itself for i = 0; ".zst" after with zst. */
static void old_name(char *out, size_t len, const char *base, unsigned i, bool zst)
{
    if (i == 0)
        snprintf(out, len, "%s", base);
    else
        snprintf(out, len, "%s.%u%s", base, i, zst ? ".zst" : "");
}

int spl_rot_open_dir(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        *base = path;
        int fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd >= 0 ? fd : -errno;
    }
    *base = slash + 1;
    size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/x": the root */
    char *dir = strndup(path, n);
    if (dir == NULL)
        return -ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = errno;
    free(dir);
    return fd >= 0 ? fd : -e;
}

/* rename(), or unlink() with to NULL, where a missing from is no error. */
static int move(int dfd, const char *from, const char *to)
{
    int rc = to != NULL ? renameat(dfd, from, dfd, to) : unlinkat(dfd, from, 0);
    return rc < 0 && errno != ENOENT ? -errno : 0;
}

/* PATH.i and PATH.i.zst one up, from r->next on: see the top of this file.
 * Under the compressor's lock. */
static int shift_numbered(int dfd, const char *base, struct spl_rotation *r, const char **call,
                          char *name, size_t namelen)
{
    char from[4096], to[4096];
    int rc = 0;
    if (r->next == r->keep + 1) {
        *call = "unlink";
        for (int zst = 0; zst <= 1 && rc == 0; zst++) {
            old_name(to, sizeof to, base, r->keep, zst);
            rc = move(dfd, to, NULL);
        }
        if (rc < 0) {
            snprintf(name, namelen, "%s", to);
            return rc;
        }
        spl_rot_zstd_moved(r->z, r->keep, 0);
        r->next = r->keep;
    }
    *call = "rename";
    for (; r->next >= 1; r->next--) {
        /* A missing PATH.i is a gap (fewer old files yet, or a crash):
         * nothing to move. A missing PATH is one a crash left unmade. */
        for (int zst = 0; zst <= 1 && rc == 0; zst++) {
            old_name(from, sizeof from, base, r->next - 1, zst);
            old_name(to, sizeof to, base, r->next, zst);
            if (r->next - 1 > 0 || !zst)
                rc = move(dfd, from, to);
        }
        if (rc < 0) {
            snprintf(name, namelen, "%s", from);
            return rc;
        }
        spl_rot_zstd_moved(r->z, r->next - 1, r->next);
    }
    old_name(name, namelen, base, 1, false);
    return 0;
}

/* The dated name for the file base (mtime: its last write), free in the
 * directory in none of its forms (plain, .zst, .zst.tmp). */
static int dated_name(int dfd, const char *base, const struct spl_rotation *r, time_t mtime,
                      char *out, size_t len)
{
    struct spl_rot_name n = {0};
    time_t when = r->every != SPL_ROT_NEVER ? spl_rot_period_start(r->every, mtime)
                                            : spl_rot_now(r);
    struct tm tm;
    if (localtime_r(&when, &tm) == NULL)
        return -EOVERFLOW;
    strftime(n.date, sizeof n.date, r->every == SPL_ROT_HOUR ? "%Y-%m-%d-%H" : "%Y-%m-%d", &tm);
    for (n.counter = 0; n.counter <= MAX_COUNTER; n.counter++) {
        bool free_name = true;
        for (int form = 0; form < 3 && free_name; form++) {
            struct stat st;
            n.zst = form > 0;
            n.tmp = form > 1;
            spl_rot_format_name(base, &n, out, len);
            free_name = fstatat(dfd, out, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
        }
        if (free_name) {
            n.zst = n.tmp = false;
            spl_rot_format_name(base, &n, out, len);
            return 0;
        }
    }
    return -EEXIST;
}

static int shift_dated(int dfd, const char *base, struct spl_rotation *r, const char **call,
                       char *name, size_t namelen)
{
    struct stat st;
    char to[4096];
    *call = "stat";
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno; /* none: a crash left it unmade */
    int rc = dated_name(dfd, base, r, st.st_mtime, to, sizeof to);
    if (rc < 0)
        return rc;
    *call = "rename";
    if (renameat(dfd, base, dfd, to) < 0)
        return -errno;
    snprintf(name, namelen, "%s", to);
    return 0;
}

int spl_rot_shift_at(int dfd, const char *base, struct spl_rotation *r, const char **call,
                     char *name, size_t namelen)
{
    *call = "open";
    snprintf(name, namelen, "%s", base);
    spl_rot_zstd_lock(r->z);
    int rc = r->dated ? shift_dated(dfd, base, r, call, name, namelen)
                      : shift_numbered(dfd, base, r, call, name, namelen);
    if (rc == 0) {
        r->next = 0;
        spl_rot_zstd_work_locked(r->z);
    }
    spl_rot_zstd_unlock(r->z);
    return rc;
}

typedef int (*at_fn)(int dfd, const char *base, struct spl_rotation *r, const char **call,
                     char *name, size_t namelen);

/* fn in path's directory; name then given with that directory, as the
 * log line (or the caller) names files by the output's path. */
static int in_dir_of(const char *path, at_fn fn, struct spl_rotation *r, const char **call,
                     char *name, size_t namelen)
{
    const char *base;
    *call = "open";
    snprintf(name, namelen, "%s", path);
    int dfd = spl_rot_open_dir(path, &base);
    if (dfd < 0)
        return dfd;
    int rc = fn(dfd, base, r, call, name, namelen);
    size_t dirlen = (size_t)(base - path);
    char rel[4096];
    snprintf(rel, sizeof rel, "%s", name);
    snprintf(name, namelen, "%.*s%s", (int)dirlen, path, rel);
    close(dfd);
    return rc;
}

int spl_rot_shift(const char *path, struct spl_rotation *r, const char **call, char *name,
                  size_t namelen)
{
    return in_dir_of(path, spl_rot_shift_at, r, call, name, namelen);
}
/* }=== */

/* {=== pruning */
static int by_age(const void *a, const void *b) /* newest first */
{
    return -spl_rot_name_cmp(&((const struct spl_rot_entry *)a)->n,
                             &((const struct spl_rot_entry *)b)->n);
}

/* Whether e goes: beyond keep (dated; *kept counts the names kept so far,
 * a file and its .zst as one), or older than max_age. */
static bool doomed(const struct spl_rotation *r, const struct spl_rot_entry *e,
                   const struct spl_rot_entry *prev, unsigned *kept, time_t now)
{
    bool same = prev != NULL && spl_rot_name_cmp(&prev->n, &e->n) == 0;
    if (!same)
        (*kept)++;
    if (r->dated && *kept > r->keep)
        return true;
    return r->max_age != 0 && e->mtime < now - r->max_age;
}

int spl_rot_prune_at(int dfd, const char *base, struct spl_rotation *r, const char **call,
                     char *name, size_t namelen)
{
    if (!r->dated && r->max_age == 0)
        return 0; /* numbered names: the shift deletes what is past keep */
    struct spl_rot_entry *v;
    size_t n;
    *call = "opendir";
    snprintf(name, namelen, ".");
    spl_rot_zstd_lock(r->z);
    int rc = spl_rot_list(dfd, base, &v, &n), first = 0;
    if (rc < 0) {
        spl_rot_zstd_unlock(r->z);
        return rc;
    }
    qsort(v, n, sizeof *v, by_age);
    time_t now = spl_rot_now(r);
    unsigned kept = 0;
    const struct spl_rot_entry *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        if (v[i].n.tmp || (r->dated != (v[i].n.index == 0)))
            continue; /* the compressor's, or a name of the other suffix */
        bool gone = doomed(r, &v[i], prev, &kept, now);
        prev = &v[i];
        char victim[4096];
        spl_rot_format_name(base, &v[i].n, victim, sizeof victim);
        if (gone && unlinkat(dfd, victim, 0) < 0 && errno != ENOENT && first == 0) {
            first = -errno;
            *call = "unlink";
            snprintf(name, namelen, "%s", victim);
        }
        if (gone && !v[i].n.zst)
            spl_rot_zstd_moved(r->z, v[i].n.index, 0);
    }
    spl_rot_zstd_unlock(r->z);
    free(v);
    return first;
}
/* }=== */

int spl_rot_prune(const char *path, struct spl_rotation *r, const char **call, char *name,
                  size_t namelen)
{
    return in_dir_of(path, spl_rot_prune_at, r, call, name, namelen);
}
