/* SPDX-License-Identifier: MIT */
/* input_udp.c: syslog over UDP (RFC 5426): one message per datagram. */
#include <stddef.h>
#include <unistd.h>

#include "input/input_dgram.h"

static int udp_open(struct sl_input *in, char *err, size_t errlen)
{
    int fd = sl_input_bind_inet(in, SOCK_DGRAM, err, errlen);
    if (fd < 0)
        return fd;
    struct sl_dgram *d;
    int rc = sl_dgram_new(in, fd, true, &d, err, errlen);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    in->impl = d;
    return 0;
}

static void udp_close(struct sl_input *in)
{
    sl_dgram_free(in, in->impl);
    in->impl = NULL;
}

static const struct sl_input_key udp_keys[] = {
    SL_INPUT_KEY_LISTEN_ENTRY,
    SL_INPUT_KEY_MAX_MESSAGE_ENTRY,
    SL_INPUT_KEY_RCVBUF_ENTRY,
    SL_INPUT_KEY_COALESCE_ENTRY,
    {NULL},
};

/* What the kernel dropped (SO_MEMINFO, SO_RXQ_OVFL): UDP cannot be paused. */
static const struct sl_input_counter udp_counters[] = {
    {"kernel_drops", offsetof(struct sl_input_stats, kernel_drops)},
    {NULL},
};

const struct sl_input_kind sl_input_udp = {
    .name = "udp",
    .keys = udp_keys,
    .ops = {
        .open = udp_open,
        .event = sl_dgram_event,
        .resume = sl_dgram_resume,
        .drain = sl_dgram_drain,
        .unpark = sl_dgram_unpark,
        .close = udp_close,
        .refresh_stats = sl_dgram_refresh_stats,
    },
    .parse = sl_parse,
    .counters = udp_counters,
};
