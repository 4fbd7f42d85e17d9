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
 * Symlinks: rename and unlink act on a name, never on what a symlink
 * points at, so a link planted as PATH.3 is moved or deleted as a link,
 * harmless; PATH itself is never opened through a link (O_NOFOLLOW).
 */
#define _POSIX_C_SOURCE 200809L /* renameat, unlinkat, O_DIRECTORY, O_CLOEXEC */

#include "lib/rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/plugin_lib.h"

void spl_rot_read_config(const struct sluice_host *h, const sluice_config *cfg, struct spl_rotation *r,
                     char *err, size_t errlen)
{
    unsigned long long size = 0;
    long long keep = SPL_ROT_DEFAULT_KEEP;
    int rs = h->config_size(cfg, "rotate.size", &size);
    int rk = h->config_int(cfg, "rotate.keep", &keep);
    *r = (struct spl_rotation){0};
    if (rs == -EINVAL || (rs == 0 && size < SPL_ROT_MIN_SIZE))
        spl_err_add(err, errlen, "key \"rotate.size\" must be a size of at least 4K, in bytes "
                    "or such as \"64M\"");
    if (rk == -EINVAL || keep < 1 || keep > SPL_ROT_MAX_KEEP)
        spl_err_add(err, errlen, "key \"rotate.keep\" must be an integer from 1 to %d",
                    SPL_ROT_MAX_KEEP);
    else if (rk == 0 && rs == -ENOENT)
        spl_err_add(err, errlen, "key \"rotate.keep\" needs rotate.size: a file rotates when "
                    "it reaches that size");
    if (rs == 0 && size >= SPL_ROT_MIN_SIZE && keep >= 1 && keep <= SPL_ROT_MAX_KEEP) {
        r->size = size;
        r->keep = (unsigned)keep;
    }
}

int spl_rot_due(const struct spl_rotation *r, int fd)
{
    if (r->size == 0)
        return 0;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    return S_ISREG(st.st_mode) && (unsigned long long)st.st_size >= r->size;
}

void spl_rot_begin(struct spl_rotation *r)
{
    if (r->next == 0)
        r->next = r->keep + 1;
}

/* base with ".i" appended, or base itself for i = 0. */
static void old_name(char *out, size_t len, const char *base, unsigned i)
{
    if (i == 0)
        snprintf(out, len, "%s", base);
    else
        snprintf(out, len, "%s.%u", base, i);
}

/* The directory of path, opened, and *base pointed at its last component. */
static int open_dir(const char *path, const char **base)
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

int spl_rot_shift_at(int dfd, const char *base, struct spl_rotation *r, const char **call,
                     char *name, size_t namelen)
{
    char from[4096], to[4096];
    int rc = 0;
    *call = "open";
    snprintf(name, namelen, "%s", base);
    if (r->next == r->keep + 1) {
        old_name(to, sizeof to, base, r->keep);
        if (unlinkat(dfd, to, 0) < 0 && errno != ENOENT) {
            rc = -errno;
            *call = "unlink";
        } else {
            r->next = r->keep;
        }
    }
    for (; rc == 0 && r->next >= 1; r->next--) {
        old_name(from, sizeof from, base, r->next - 1);
        old_name(to, sizeof to, base, r->next);
        /* A missing PATH.i is a gap (fewer old files yet, or a crash):
         * nothing to move. A missing PATH is one a crash left unmade. */
        if (renameat(dfd, from, dfd, to) < 0 && errno != ENOENT) {
            rc = -errno;
            *call = "rename";
            break;
        }
    }
    /* The name the log line gives: the file deleted, or the one moved. */
    if (rc < 0)
        old_name(name, namelen, base, *call[0] == 'u' ? r->keep : r->next - 1);
    return rc;
}

int spl_rot_shift(const char *path, struct spl_rotation *r, const char **call, char *name,
                  size_t namelen)
{
    const char *base;
    *call = "open";
    snprintf(name, namelen, "%s", path);
    int dfd = open_dir(path, &base);
    if (dfd < 0)
        return dfd;
    int rc = spl_rot_shift_at(dfd, base, r, call, name, namelen);
    if (rc < 0) { /* the log line names the file by the output's path */
        size_t dirlen = (size_t)(base - path);
        char rel[4096];
        snprintf(rel, sizeof rel, "%s", name);
        snprintf(name, namelen, "%.*s%s", (int)dirlen, path, rel);
    }
    close(dfd);
    return rc;
}
