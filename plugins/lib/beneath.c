/* SPDX-License-Identifier: MIT */
/*
 * beneath.c: opening files beneath a directory fd, never through a
 * symlink (beneath.h).
 *
 * Why both ways: openat2() does the whole check in the kernel, in one
 * call, for the common case (the file exists: every reopen of an evicted
 * or rotated file). Creating needs mkdirat() between the steps anyway, so
 * it walks; and a kernel before 5.6, or a seccomp filter that answers
 * ENOSYS, gets the same guarantee from the walk. The walk is safe by
 * construction: each step resolves one name, with O_NOFOLLOW, relative to
 * a directory fd the step before opened, so there is no path left to
 * race; a symlink swapped in after a step is met by the next one.
 */
#include "lib/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define APPEND_FLAGS (O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)

/* {=== the checks */
/* rel's components are all names: no empty one, ".", "..", or a '/' at
 * either end. */
static bool rel_ok(const char *rel, size_t len)
{
    size_t start = 0;
    if (len == 0)
        return false;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && rel[i] != '/')
            continue;
        size_t n = i - start;
        if (n == 0 || (n == 1 && rel[start] == '.') ||
            (n == 2 && rel[start] == '.' && rel[start + 1] == '.'))
            return false;
        start = i + 1;
    }
    return memchr(rel, '\0', len) == NULL;
}

/* A file opened at fd is a regular one: else -ENXIO (closed). */
static int regular_only(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -ENXIO;
    }
    return fd;
}

/* A failed open of name in dfd with O_NOFOLLOW: the kernel says ENOTDIR
 * for a symlink opened with O_DIRECTORY, and ELOOP otherwise; say ELOOP
 * for every symlink, so the caller counts one cause as one error. */
static int link_is_loop(int dfd, const char *name, int e)
{
    struct stat st;
    if ((e == ENOTDIR || e == ELOOP) && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode))
        return -ELOOP;
    return -e;
}
/* }=== */

/* {=== the walk */
/* Opens the directory name (one component) in dfd, creating it with mode
 * when create and it is missing. */
static int step_dir(int dfd, const char *name, bool create, mode_t mode, const char **call)
{
    for (int tries = 0; tries < 3; tries++) {
        int fd = openat(dfd, name, DIR_FLAGS);
        if (fd >= 0)
            return fd;
        if (errno != ENOENT || !create)
            return link_is_loop(dfd, name, errno);
        if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST) {
            *call = "mkdir";
            return -errno;
        }
        /* Made (or made by someone else meanwhile): open it, as a name. */
    }
    return -ENOENT;
}

/* Walks rel[0..len) from dfd, one directory at a time; returns an fd of
 * the last one (a new fd of dfd for len 0). */
static int walk(int dfd, const char *rel, size_t len, bool create, mode_t mode, const char **call)
{
    int cur = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    if (cur < 0)
        return -errno;
    char name[256];
    size_t i = 0;
    while (i < len) {
        size_t n = strcspn(rel + i, "/");
        if (n > len - i)
            n = len - i;
        if (n >= sizeof name) {
            close(cur);
            return -ENAMETOOLONG;
        }
        memcpy(name, rel + i, n);
        name[n] = '\0';
        int next = step_dir(cur, name, create, mode, call);
        close(cur);
        if (next < 0)
            return next;
        cur = next;
        i += n + 1;
    }
    return cur;
}

static int set_owner_mode(int fd, const struct spl_file_opts *o, const char **call)
{
    if ((o->owner != (uid_t)-1 || o->group != (gid_t)-1) && fchown(fd, o->owner, o->group) < 0) {
        *call = "fchown";
        return -errno;
    }
    if (fchmod(fd, o->mode) < 0) {
        *call = "fchmod";
        return -errno;
    }
    return 0;
}

/* The file base in the directory pfd: created new (with o's owner and
 * mode), or opened as it is, never through a link. */
static int open_in(int pfd, const char *base, const struct spl_file_opts *o, const char **call)
{
    for (int tries = 0; tries < 3; tries++) {
        int fd = openat(pfd, base, APPEND_FLAGS | O_CREAT | O_EXCL | O_NOFOLLOW, o->mode & 0777);
        if (fd >= 0) {
            int rc = set_owner_mode(fd, o, call);
            if (rc < 0) {
                close(fd);
                (void)unlinkat(pfd, base, 0); /* ours, just made: not left with the wrong owner */
                return rc;
            }
            return fd;
        }
        if (errno != EEXIST)
            return link_is_loop(pfd, base, errno);
        fd = openat(pfd, base, APPEND_FLAGS | O_NOFOLLOW);
        if (fd >= 0)
            return regular_only(fd);
        if (errno != ENOENT)
            return link_is_loop(pfd, base, errno);
        /* Removed between the two opens: try again. */
    }
    return -ENOENT;
}
/* }=== */

/* openat2() of an existing file: the fd, a negative errno, or -ENOSYS. */
static int open_existing2(int dfd, const char *rel)
{
    struct open_how how = {
        .flags = APPEND_FLAGS,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    for (int tries = 0; tries < 3; tries++) {
        long fd = syscall(SYS_openat2, dfd, rel, &how, sizeof how);
        if (fd >= 0)
            return regular_only((int)fd);
        if (errno != EAGAIN) /* EAGAIN: a rename raced the lookup */
            return -errno;
    }
    return -EAGAIN;
}

int spl_beneath_open(struct spl_beneath *b, int dfd, const char *rel,
                     const struct spl_file_opts *o, const char **call)
{
    *call = "open";
    size_t len = strlen(rel);
    if (!rel_ok(rel, len))
        return -EINVAL;
    if (!b->no_openat2) {
        int fd = open_existing2(dfd, rel);
        if (fd != -ENOSYS && fd != -ENOENT)
            return fd;
        b->no_openat2 = fd == -ENOSYS;
    }
    const char *slash = strrchr(rel, '/');
    size_t dirlen = slash != NULL ? (size_t)(slash - rel) : 0;
    int pfd = walk(dfd, rel, dirlen, true, o->dir_mode, call);
    if (pfd < 0)
        return pfd;
    int fd = open_in(pfd, slash != NULL ? slash + 1 : rel, o, call);
    close(pfd);
    return fd;
}

int spl_beneath_dir(int dfd, const char *rel, size_t len)
{
    const char *call;
    if (len > 0 && !rel_ok(rel, len))
        return -EINVAL;
    return walk(dfd, rel, len, false, 0, &call);
}

/* {=== the administrator's directory */
/* As file_open.c's check_existing_dir: a symlink where we would have made
 * a directory is followed when root or we own it. */
static int check_existing(const char *dir, const struct spl_file_opts *o)
{
    struct stat st;
    if (lstat(dir, &st) < 0)
        return -errno;
    if (S_ISLNK(st.st_mode) && !o->follow_symlinks && st.st_uid != 0 && st.st_uid != geteuid())
        return -ELOOP;
    return 0;
}

int spl_dir_open(const char *path, const struct spl_file_opts *o, const char **call)
{
    *call = "mkdir";
    if (path[0] == '\0')
        return -ENOENT;
    char *dir = strdup(path);
    if (dir == NULL)
        return -ENOMEM;
    int rc = 0;
    char *p = dir + strspn(dir, "/"); /* "/" is not made */
    while (rc == 0 && *p != '\0') {
        char *end = p + strcspn(p, "/");
        char saved = *end;
        *end = '\0';
        if (mkdir(dir, o->dir_mode) < 0)
            rc = errno == EEXIST ? check_existing(dir, o) : -errno;
        *end = saved;
        p = end + strspn(end, "/");
    }
    if (rc == 0) {
        *call = "open";
        rc = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        rc = rc >= 0 ? rc : -errno;
    }
    free(dir);
    return rc;
}
/* }=== */
