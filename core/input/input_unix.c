/* SPDX-License-Identifier: MIT */
/*
 * input_unix.c: the /dev/log role: a unix datagram socket at a path, with
 * the sender's pid/uid/gid taken from the kernel (SO_PASSCRED), which a
 * sender cannot forge.
 *
 * The socket file and its mode: sl_input_bind_unix (bind_unix.c).
 *
 * At stop the path is removed and the socket shut for reading before the
 * last reads (sl_unix_dgram_drain), so a late sender gets an error (ENOENT for one
 * that sends to the path, EPIPE for one connected, as syslog(3) is)
 * instead of a datagram nobody reads.
 */
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#include "input/input_unix.h"

int sl_unix_dgram_open(struct sl_input *in, struct sl_dgram **out, char *err, size_t errlen)
{
    int fd = sl_input_bind_unix(in, SOCK_DGRAM, err, errlen);
    if (fd < 0)
        return fd;
    if (in->conf->rcvbuf > 0)
        sl_input_set_rcvbuf(in, fd, in->conf->rcvbuf);
    int rc = sl_dgram_new(in, fd, false, out, err, errlen);
    if (rc < 0) {
        close(fd);
        sl_input_unlink_path(in); /* never a passed socket's */
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
    /* A passed socket is the service manager's: it keeps its name, and
     * stays open for reading for the next sluiced (or the same one's
     * reopened input); a shutdown would end it for all of them. */
    if (in->passed) {
        sl_dgram_drain(in);
        return;
    }
    sl_input_unlink_path(in);
    if (shutdown(sl_dgram_fd(in->impl), SHUT_RD) == 0)
        sl_dgram_drain_shut(in);
    else
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
    SL_INPUT_KEY_COALESCE_ENTRY,
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
    .senders_wait = true,
};
