/*
 * input_unix.c: the /dev/log role: a unix datagram socket at a path, with
 * the sender's pid/uid/gid taken from the kernel (SO_PASSCRED), which a
 * sender cannot forge.
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
 * At stop the path is removed and the socket shut for reading before the
 * last reads (sl_unix_dgram_drain), so a late sender gets an error (ENOENT for one
 * that sends to the path, EPIPE for one connected, as syslog(3) is)
 * instead of a datagram nobody reads.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "input/input_unix.h"
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

int sl_unix_dgram_open(struct sl_input *in, struct sl_dgram **out, char *err, size_t errlen)
{
    const char *path = in->conf->path;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "input \"%s\": socket path \"%s\" is too long", in->conf->name, path);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int rc = sl_mkdir_parents(path);
    if (rc == 0)
        rc = sl_remove_stale_socket(path);
    if (rc < 0) {
        snprintf(err, errlen, "input \"%s\": cannot use \"%s\" (%d: %s)", in->conf->name, path,
                 -rc, rc == -EEXIST ? "exists and is not a socket" : strerror(-rc));
        return rc;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    rc = fd < 0 ? -errno : bind_with_mode(in, fd, &sa, in->conf->mode & 07777);
    if (rc < 0) {
        snprintf(err, errlen, "input \"%s\": bind() \"%s\" failed (%d: %s)", in->conf->name, path,
                 -rc, strerror(-rc));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    if (in->conf->rcvbuf > 0)
        sl_input_set_rcvbuf(in, fd, in->conf->rcvbuf);
    snprintf(in->address, sizeof in->address, "%s", path);
    rc = sl_dgram_new(in, fd, false, out, err, errlen);
    if (rc < 0) {
        close(fd);
        unlink(path);
    }
    return rc;
}

static int unix_open(struct sl_input *in, char *err, size_t errlen)
{
    struct sl_dgram *d;
    int rc = sl_unix_dgram_open(in, &d, err, errlen);
    if (rc == 0)
        in->impl = d;
    return rc;
}

/* Stopping (see the top): no name, no more datagrams, then read what the
 * kernel queued. Every send() that succeeded before the shutdown is in the
 * queue, and the queue stays readable after it. The drain runs once per
 * input, before close, so the path is removed once, here. */
void sl_unix_dgram_drain(struct sl_input *in)
{
    unlink(in->conf->path);
    shutdown(sl_dgram_fd(in->impl), SHUT_RD);
    sl_dgram_drain(in);
}

void sl_unix_dgram_close(struct sl_input *in)
{
    sl_dgram_free(in, in->impl);
    in->impl = NULL;
}

static const struct sl_input_key unix_keys[] = {
    {"path", SL_INPUT_KEY_PATH, offsetof(struct sl_input_conf, path), 0, 0, true, true},
    SL_INPUT_KEY_MAX_MESSAGE_ENTRY,
    SL_INPUT_KEY_RCVBUF_ENTRY,
    {"mode", SL_INPUT_KEY_MODE, offsetof(struct sl_input_conf, mode), 0, 0777, false, false},
    SL_INPUT_KEY_RATELIMIT_ENTRY, /* the kernel's credentials say who sent each message */
    {NULL},
};

static const struct sl_input_counter unix_counters[] = {
    {"kernel_drops", offsetof(struct sl_input_stats, kernel_drops)},
    {"suppressed", offsetof(struct sl_input_stats, suppressed)},
    {NULL},
};

const struct sl_input_kind sl_input_unix = {
    .name = "unix",
    .keys = unix_keys,
    .ops = {
        .open = unix_open,
        .event = sl_dgram_event,
        .resume = sl_dgram_resume,
        .drain = sl_unix_dgram_drain,
        .unpark = sl_dgram_unpark,
        .close = sl_unix_dgram_close,
        .refresh_stats = sl_dgram_refresh_stats,
    },
    .parse = sl_parse,
    .counters = unix_counters,
};
