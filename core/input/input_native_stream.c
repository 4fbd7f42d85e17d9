/* SPDX-License-Identifier: MIT */
/*
 * input_native_stream.c: the systemd journal export format over a stream,
 * a unix stream socket at `path` or TCP at `listen`: what
 * `journalctl -o export | socat - UNIX-CONNECT:PATH` sends, and journald's
 * ForwardToSocket= (systemd 256 and later).
 *
 * The connections are the stream inputs' (input_stream.h: limits, idle
 * timeout, parking under backpressure, the drain at stop); the framer
 * cuts entries at their empty lines, aware of binary values
 * (SL_FRAMING_EXPORT, framing.h), and parse_export.h makes each one a
 * message with its fields. What an entry can be refused for, and where it
 * is counted:
 *   longer than max_message        too_large (the framer skips it)
 *   malformed, or cut by the end   malformed (the parser refuses it; the
 *   of the connection                        framer resyncs at the next
 *                                            empty line)
 *   fields past SL_MSG_MAX_FIELDS  fields_dropped (the entry is kept)
 *
 * Credentials. The entry's _PID, _UID and _GID were recorded by the
 * journal that wrote it, but reach us through whoever holds the socket:
 * they become the message's pid/uid/gid (SL_MSG_HAS_CRED, what per-pid
 * routes and templates trust) only with `trusted = true`. Either way they
 * are kept as fields, with the rest of the '_' and "__" fields.
 *
 * At stop a unix path is removed before the last reads, as the unix kind
 * does, so a late sender gets ECONNREFUSED or ENOENT, not a connection
 * nobody reads.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "input/input_impl.h"
#include "input/input_stream.h"
#include "parse/parse_export.h"

/* What the parser hook takes and gives back, per entry. */
struct export_arg {
    bool trusted;
    struct sl_export_counts counts;
};

static int export_fields(struct sl_msg_builder *b, const struct sl_parse_ctx *ctx, void *arg)
{
    struct export_arg *a = arg;
    return sl_parse_export(b, a->trusted, &a->counts);
}

static struct sl_msg *export_message(struct sl_input *in, const char *frame, size_t len,
                                     const char *peer, size_t peer_len, unsigned flags)
{
    struct export_arg a = {.trusted = in->conf->trusted};
    struct sl_msg *m = sl_input_message_fields(in, export_fields, &a, frame, len, peer, peer_len,
                                               flags, NULL);
    if (a.counts.dropped > 0)
        atomic_fetch_add_explicit(&in->stats.fields_dropped, a.counts.dropped,
                                  memory_order_relaxed);
    return m;
}

static const struct sl_stream_proto export_proto = {
    .framing = SL_FRAMING_EXPORT,
    .message = export_message,
};

static int native_stream_open(struct sl_input *in, char *err, size_t errlen)
{
    bool unix_path = in->conf->path != NULL;
    int lfd = unix_path ? sl_input_bind_unix(in, SOCK_STREAM, err, errlen)
                        : sl_input_bind_inet(in, SOCK_STREAM, err, errlen);
    if (lfd < 0)
        return lfd;
    int rc = sl_stream_open(in, lfd, &export_proto, err, errlen);
    if (rc < 0)
        sl_input_unlink_path(in); /* never a passed socket's */
    return rc;
}

/* Stopping (see the top): the name first, then what is buffered. */
static void native_stream_drain(struct sl_input *in)
{
    sl_input_unlink_path(in); /* never a passed socket's */
    sl_stream_drain(in);
}

/* Either path or listen (the loader takes exactly one of a kind's address
 * keys when none is required: kind.h). */
static const struct sl_input_key native_stream_keys[] = {
    {"path", SL_INPUT_KEY_PATH, offsetof(struct sl_input_conf, path), 0, 0, false, true},
    {"listen", SL_INPUT_KEY_LISTEN, 0, 0, 0, false, true},
    SL_INPUT_KEY_MAX_MESSAGE_ENTRY,
    SL_INPUT_KEY_STREAM_ENTRIES,
    {"mode", SL_INPUT_KEY_MODE, offsetof(struct sl_input_conf, mode), 0, 0777, false, false},
    {"trusted", SL_INPUT_KEY_BOOL, offsetof(struct sl_input_conf, trusted), 0, 0, false, false},
    {NULL},
};

static const struct sl_input_counter native_stream_counters[] = {
    SL_INPUT_COUNTER_STREAM_ENTRIES,
    {"malformed", offsetof(struct sl_input_stats, malformed)},
    {"too_large", offsetof(struct sl_input_stats, too_large)},
    {"fields_dropped", offsetof(struct sl_input_stats, fields_dropped)},
    {NULL},
};

const struct sl_input_kind sl_input_native_stream = {
    .name = "native_stream",
    .keys = native_stream_keys,
    .ops = {
        .open = native_stream_open,
        .event = sl_stream_event,
        .resume = sl_stream_resume,
        .tick = sl_stream_tick,
        .drain = native_stream_drain,
        .unpark = sl_stream_unpark,
        .close = sl_stream_close,
    },
    .parse = sl_parse, /* unused: every message comes through export_message */
    .counters = native_stream_counters,
    .descriptors = sl_stream_descriptors,
    .senders_wait = true, /* journald (ForwardToSocket=) waits for a slow socket */
};
