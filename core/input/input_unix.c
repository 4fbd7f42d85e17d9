/*
 * input_unix.c: the /dev/log role: a unix datagram socket at a path, with
 * the sender's pid/uid/gid taken from the kernel (SO_PASSCRED), which a
 * sender cannot forge.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "input/input_dgram.h"
#include "common/util.h"

static int unix_open(struct sl_input *in, char *err, size_t errlen)
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
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        chmod(path, in->conf->mode) < 0) {
        rc = -errno;
        snprintf(err, errlen, "input \"%s\": bind() \"%s\" failed (%d: %s)", in->conf->name, path,
                 errno, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    if (in->conf->rcvbuf > 0)
        sl_input_set_rcvbuf(in, fd, in->conf->rcvbuf);
    snprintf(in->address, sizeof in->address, "%s", path);
    struct sl_dgram *d;
    rc = sl_dgram_new(in, fd, false, &d, err, errlen);
    if (rc < 0) {
        close(fd);
        unlink(path);
        return rc;
    }
    in->impl = d;
    return 0;
}

static void unix_close(struct sl_input *in)
{
    sl_dgram_free(in, in->impl);
    in->impl = NULL;
    unlink(in->conf->path);
}

static const struct sl_input_key unix_keys[] = {
    {"path", SL_INPUT_KEY_PATH, offsetof(struct sl_input_conf, path), 0, 0, true, true},
    SL_INPUT_KEY_MAX_MESSAGE_ENTRY,
    SL_INPUT_KEY_RCVBUF_ENTRY,
    {"mode", SL_INPUT_KEY_MODE, offsetof(struct sl_input_conf, mode), 0, 0777, false, false},
    {NULL},
};

static const struct sl_input_counter unix_counters[] = {
    {"kernel_drops", offsetof(struct sl_input_stats, kernel_drops)},
    {NULL},
};

const struct sl_input_kind sl_input_unix = {
    .name = "unix",
    .keys = unix_keys,
    .ops = {
        .open = unix_open,
        .event = sl_dgram_event,
        .resume = sl_dgram_resume,
        .drain = sl_dgram_drain,
        .unpark = sl_dgram_unpark,
        .close = unix_close,
    },
    .parse = sl_parse,
    .counters = unix_counters,
};
