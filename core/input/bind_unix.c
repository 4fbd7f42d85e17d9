/* SPDX-License-Identifier: MIT */
/*
 * bind_unix.c: a unix socket at the input's path, datagram (the unix kind)
 * or stream (native_stream), with the mode of the input's conf.
 *
 * The socket file gets its mode at bind(), never by a path afterwards: a
 * chmod(path) after bind() follows whatever is at the path by then, and
 * whoever may write to the socket's directory can put a symlink to any file
 * there in between (a root-owned 0600 file made 0666). bind() creates the
 * file with the socket inode's mode less the umask, so the mode is set on
 * the fd (fchmod) before bind() and the umask is cleared for that one call.
 * The umask is the process's, shared by every thread: an output's worker
 * creating a file meanwhile would get its mode unmasked. So bind() runs on
 * a short-lived thread of its own that first unshares its filesystem
 * attributes (unshare(CLONE_FS): cwd, root and umask), whose umask is then
 * nobody else's. Where unshare() is refused (seccomp in some containers),
 * the socket keeps the fchmod()ed mode less the umask, and that is logged.
 *
 * A socket systemd passed at the path is taken instead (activation.h): its
 * file, mode and owner are the socket unit's, and it is never unlinked.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "input/input_impl.h"
#include "common/log.h"
#include "common/util.h"

struct bind_job {
    int fd;
    const struct sockaddr_un *sa;
    mode_t mode;
    bool private_umask; /* out: unshare() worked, the mode is exact */
    int unshare_err;    /* out: why not */
    int rc;             /* out: 0 or a negative errno from bind() */
};

/* The bind thread (see the top): private umask 0, then bind(). */
static void *bind_private(void *arg)
{
    struct bind_job *j = arg;
    if (unshare(CLONE_FS) == 0) {
        umask(0);
        j->private_umask = true;
    } else {
        j->unshare_err = errno;
    }
    j->rc = bind(j->fd, (const struct sockaddr *)j->sa, sizeof *j->sa) < 0 ? -errno : 0;
    return NULL;
}

/* Binds fd to sa with the file mode `mode`, by no path lookup but bind()'s
 * own (see the top). Main thread, from open. 0 or a negative errno. */
static int bind_with_mode(struct sl_input *in, int fd, const struct sockaddr_un *sa, mode_t mode)
{
    if (fchmod(fd, mode) < 0)
        return -errno;
    struct bind_job j = {.fd = fd, .sa = sa, .mode = mode};
    pthread_t th;
    int rc = pthread_create(&th, NULL, bind_private, &j);
    if (rc != 0)
        return -rc;
    pthread_join(th, NULL);
    if (j.rc == 0 && !j.private_umask) {
        mode_t mask = umask(0);
        umask(mask); /* only read: nothing else creates files between the two */
        if (mode & mask)
            sl_log(SL_LOG_WARNING, j.unshare_err,
                   "input \"%s\": unshare(CLONE_FS) failed, so the socket \"%s\" has mode "
                   "%04o (the umask %04o applies), not %04o", in->conf->name, sa->sun_path,
                   (unsigned)(mode & ~mask), (unsigned)mask, (unsigned)mode);
    }
    return j.rc;
}

int sl_input_bind_unix(struct sl_input *in, int socktype, char *err, size_t errlen)
{
    const char *path = in->conf->path;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "input \"%s\": socket path \"%s\" is too long", in->conf->name, path);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    struct sl_activation_want w = {.path = path, .socktype = socktype};
    int pfd = sl_input_take_passed(in, &w);
    if (pfd != -ENOENT) {
        if (pfd < 0)
            snprintf(err, errlen, "input \"%s\": cannot take the passed socket \"%s\" (%d: %s)",
                     in->conf->name, path, -pfd, strerror(-pfd));
        return pfd;
    }
    pid_t holder = 0;
    char why[320];
    int rc = sl_mkdir_parents(path);
    if (rc < 0) {
        snprintf(err, errlen, "input \"%s\": cannot create the directory of \"%s\" (%d: %s)",
                 in->conf->name, path, -rc, strerror(-rc));
        return rc;
    }
    rc = sl_claim_socket_path(path, &holder); /* one daemon per socket (sluiced(8)) */
    if (rc < 0) {
        snprintf(err, errlen, "input \"%s\": \"%s\" %s", in->conf->name, path,
                 sl_socket_path_problem(rc, holder, why, sizeof why));
        return rc;
    }
    int fd = socket(AF_UNIX, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    rc = fd < 0 ? -errno : bind_with_mode(in, fd, &sa, in->conf->mode & 07777);
    const char *call = "bind";
    if (rc == 0 && socktype == SOCK_STREAM && listen(fd, SOMAXCONN) < 0) {
        rc = -errno;
        call = "listen";
        unlink(path);
    }
    if (rc < 0) {
        snprintf(err, errlen, "input \"%s\": %s() \"%s\" failed (%d: %s)", in->conf->name, call,
                 path, -rc, strerror(-rc));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    snprintf(in->address, sizeof in->address, "%s", path);
    return fd;
}
