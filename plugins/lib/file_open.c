/*
 * file_open.c: creating and opening a plugin's output file (plugin_lib.h).
 *
 * Creation comes first (O_CREAT | O_EXCL, which never follows a symlink),
 * so a file we make is one we know is new and gets its owner and mode on
 * the fd, with no window where another name points at it. Only when the
 * file exists do we open it, refusing a symlink nobody we trust made.
 */
#include "lib/plugin_lib.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APPEND_FLAGS (O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY)

/* Creates the missing parent directories of path, as mkdir -p does. */
static int make_parents(const char *path, mode_t mode)
{
    char *dir = strdup(path);
    if (dir == NULL)
        return -ENOMEM;
    int rc = 0;
    for (char *p = strchr(dir + 1, '/'); p != NULL && rc == 0; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdir(dir, mode) < 0 && errno != EEXIST)
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

/* A symlink is trusted when root or the daemon's user made it. */
static bool trusted_link(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode)
           && (st.st_uid == 0 || st.st_uid == geteuid());
}

static int open_existing(const char *path)
{
    int fd = open(path, APPEND_FLAGS | O_NOFOLLOW);
    if (fd < 0 && errno == ELOOP && trusted_link(path))
        fd = open(path, APPEND_FLAGS);
    return fd >= 0 ? fd : -errno;
}

int spl_file_open(const char *path, const struct spl_file_opts *o, const char **call)
{
    *call = "open";
    for (int tries = 0; tries < 3; tries++) {
        int fd = create_new(path, o, call);
        if (fd >= 0 || (fd != -ENOENT && fd != -EEXIST))
            return fd;
        if (fd == -ENOENT) {
            int rc = make_parents(path, o->dir_mode);
            if (rc < 0) {
                *call = "mkdir";
                return rc;
            }
            continue;
        }
        fd = open_existing(path);
        if (fd != -ENOENT)
            return fd;
        /* Removed between the two opens: try again. */
    }
    return -ENOENT;
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
