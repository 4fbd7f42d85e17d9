/* SPDX-License-Identifier: MIT */
/*
 * file_open.c: creating and opening a plugin's output file (plugin_lib.h).
 *
 * Creation comes first (O_CREAT | O_EXCL, which never follows a symlink),
 * so a file we make is one we know is new and gets its owner and mode on
 * the fd, with no window where another name points at it. Only when the
 * file exists do we open it, with O_NOFOLLOW unless the administrator
 * allowed symlinks (follow_symlinks): the one test that cannot be raced,
 * where checking a link's owner first and then opening could be.
 */
#include "lib/plugin_lib.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APPEND_FLAGS (O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY)

/* A directory we were about to create exists as a symlink: one root or
 * the daemon's user made is the administrator's (/var/log on another
 * disk); another user's may point anywhere, so it is not followed. */
static int check_existing_dir(const char *dir, const struct spl_file_opts *o)
{
    struct stat st;
    if (lstat(dir, &st) < 0)
        return -errno;
    if (S_ISLNK(st.st_mode) && !o->follow_symlinks && st.st_uid != 0 && st.st_uid != geteuid())
        return -ELOOP;
    return 0;
}

/* Creates the missing parent directories of path, as mkdir -p does, but
 * refusing a foreign symlink where a directory should be. */
static int make_parents(const char *path, const struct spl_file_opts *o)
{
    char *dir = strdup(path);
    if (dir == NULL)
        return -ENOMEM;
    int rc = 0;
    char *p = dir + strspn(dir, "/"); /* "/" and "//" are not made */
    for (p = strchr(p, '/'); p != NULL && rc == 0; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdir(dir, o->dir_mode) == 0)
            rc = 0;
        else if (errno == EEXIST)
            rc = check_existing_dir(dir, o);
        else
            rc = -errno;
        *p = '/';
    }
    free(dir);
    return rc;
}

/* The new file at fd gets o's owner, then its mode (chown may clear the
 * set-id bits, so chmod comes second). */
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

static int create_new(const char *path, const struct spl_file_opts *o, const char **call)
{
    int fd = open(path, APPEND_FLAGS | O_CREAT | O_EXCL, o->mode & 0777);
    if (fd < 0)
        return -errno;
    int rc = set_owner_mode(fd, o, call);
    if (rc < 0) {
        close(fd);
        (void)unlink(path); /* ours, just made: not left with the wrong owner */
        return rc;
    }
    return fd;
}

static int open_existing(const char *path, const struct spl_file_opts *o)
{
    int fd = open(path, APPEND_FLAGS | (o->follow_symlinks ? 0 : O_NOFOLLOW));
    return fd >= 0 ? fd : -errno;
}

int spl_file_open(const char *path, const struct spl_file_opts *o, const char **call)
{
    *call = "open";
    if (path[0] == '\0')
        return -ENOENT; /* as open("") says; the checker refuses it first */
    for (int tries = 0; tries < 3; tries++) {
        int fd = create_new(path, o, call);
        if (fd >= 0 || (fd != -ENOENT && fd != -EEXIST))
            return fd;
        if (fd == -ENOENT) {
            if (o->no_parents)
                return fd;
            int rc = make_parents(path, o);
            if (rc < 0) {
                *call = "mkdir";
                return rc;
            }
            continue;
        }
        fd = open_existing(path, o);
        if (fd != -ENOENT)
            return fd;
        /* Removed between the two opens: try again. */
    }
    return -ENOENT;
}

int spl_file_torn(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_size == 0)
        return 0;
    /* fd is write-only; /proc reopens its very inode for reading (no path
     * to race), as far as the file's permissions let us. */
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    int rd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (rd < 0)
        return -errno;
    char last;
    ssize_t n = pread(rd, &last, 1, st.st_size - 1);
    int e = errno;
    close(rd);
    if (n < 0)
        return -e;
    return n == 1 && last != '\n';
}

int spl_file_unlinked(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    return st.st_nlink == 0;
}

/* A decimal id, the whole string, within the id type's range. */
static int parse_id(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0')
        return -ENOENT; /* not a number: a name */
    if (errno != 0 || v >= max) /* (id_t)-1 means "unchanged" to chown */
        return -EINVAL;
    *out = v;
    return 0;
}

int spl_user_id(const char *name, uid_t *out)
{
    unsigned long v;
    if (name[0] == '\0')
        return -EINVAL;
    int rc = parse_id(name, (unsigned long)(uid_t)-1, &v);
    if (rc != -ENOENT) {
        if (rc == 0)
            *out = (uid_t)v;
        return rc;
    }
    char buf[4096];
    struct passwd pw, *res = NULL;
    rc = getpwnam_r(name, &pw, buf, sizeof buf, &res);
    if (res == NULL)
        return rc != 0 ? -rc : -ENOENT;
    *out = pw.pw_uid;
    return 0;
}

int spl_group_id(const char *name, gid_t *out)
{
    unsigned long v;
    if (name[0] == '\0')
        return -EINVAL;
    int rc = parse_id(name, (unsigned long)(gid_t)-1, &v);
    if (rc != -ENOENT) {
        if (rc == 0)
            *out = (gid_t)v;
        return rc;
    }
    char buf[4096];
    struct group gr, *res = NULL;
    rc = getgrnam_r(name, &gr, buf, sizeof buf, &res);
    if (res == NULL)
        return rc != 0 ? -rc : -ENOENT;
    *out = gr.gr_gid;
    return 0;
}
