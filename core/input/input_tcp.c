/* SPDX-License-Identifier: MIT */
/*
 * input_tcp.c: syslog over TCP, RFC 6587 framing (framing.h), on the
 * stream inputs' connection code (input_stream.h).
 */
#include <errno.h>
#include <sys/socket.h>

#include "input/input_impl.h"
#include "input/input_stream.h"

/* RFC 6587 frames; messages by sl_input_message (RFC 5424 or 3164). */
static const struct sl_stream_proto tcp_proto = {.framing = SL_FRAMING_SYSLOG};

static int tcp_open(struct sl_input *in, char *err, size_t errlen)
{
    int lfd = sl_input_bind_inet(in, SOCK_STREAM, err, errlen);
    if (lfd < 0)
        return lfd;
    return sl_stream_open(in, lfd, &tcp_proto, err, errlen);
}

static const struct sl_input_key tcp_keys[] = {
    SL_INPUT_KEY_LISTEN_ENTRY,
    SL_INPUT_KEY_MAX_MESSAGE_ENTRY,
    SL_INPUT_KEY_STREAM_ENTRIES,
    {NULL},
};

static const struct sl_input_counter tcp_counters[] = {
    {"framing_errors", offsetof(struct sl_input_stats, framing_errors)},
    SL_INPUT_COUNTER_STREAM_ENTRIES,
    {NULL},
};

const struct sl_input_kind sl_input_tcp = {
    .name = "tcp",
    .keys = tcp_keys,
    .ops = {
        .open = tcp_open,
        .event = sl_stream_event,
        .resume = sl_stream_resume,
        .tick = sl_stream_tick,
        .drain = sl_stream_drain,
        .unpark = sl_stream_unpark,
        .close = sl_stream_close,
    },
    .parse = sl_parse,
    .counters = tcp_counters,
    .descriptors = sl_stream_descriptors,
};
