/* SPDX-License-Identifier: MIT */
/*
 * input_stream.h: what the stream kinds of input share (input_stream.c):
 * a listening socket and its connections, each with its buffer and
 * framer, parking under backpressure, limits on connections, the idle
 * timeout and the drain at stop. A kind binds its socket, hands it over
 * with a struct sl_stream_proto (how to frame its bytes and make messages
 * of the frames), and lists the sl_stream_* ops in its descriptor:
 *
 *   tcp            TCP, RFC 6587 syslog frames   (input_tcp.c)
 *   native_stream  TCP or a unix stream socket,  (input_native_stream.c)
 *                  journal export entries
 *
 * Threads: as the ops of kind.h, whose places these functions take.
 */
#ifndef SL_INPUT_STREAM_H
#define SL_INPUT_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input/framing.h"
#include "input/input_impl.h"

struct sl_stream_proto {
    enum sl_framing framing; /* each connection's framer */
    /* The message for one frame, from the input's pool (input thread),
     * with what the kind counts; NULL for none (out of memory, or an entry
     * the kind dropped and counted). NULL here: sl_input_message (syslog).
     * peer is NULL for a unix socket's connection. */
    struct sl_msg *(*message)(struct sl_input *in, const char *frame, size_t len,
                              const char *peer, size_t peer_len, unsigned flags);
};

/* The keys and counters of every stream kind, for their tables (kind.h),
 * after its address keys and max_message. */
#define SL_INPUT_KEY_STREAM_ENTRIES \
    {"idle_timeout", SL_INPUT_KEY_INT, offsetof(struct sl_input_conf, idle_timeout), 0, 1 << 30, \
     false, false}, \
    SL_INPUT_KEY_RCVBUF_ENTRY, \
    {"max_connections", SL_INPUT_KEY_UINT, offsetof(struct sl_input_conf, max_connections), 1, \
     1 << 20, false, false}, \
    {"max_connections_per_peer", SL_INPUT_KEY_UINT, \
     offsetof(struct sl_input_conf, max_connections_per_peer), 0, 1 << 20, false, false}
#define SL_INPUT_COUNTER_STREAM_ENTRIES \
    {"connections", offsetof(struct sl_input_stats, connections)}, \
    {"accepted", offsetof(struct sl_input_stats, accepted)}, \
    {"refused", offsetof(struct sl_input_stats, refused)}, \
    {"refused_per_peer", offsetof(struct sl_input_stats, refused_per_peer)}, \
    {"refused_fds", offsetof(struct sl_input_stats, refused_fds)}, \
    {"idle_closed", offsetof(struct sl_input_stats, idle_closed)}

/* From a kind's open op (main thread): serves the listening socket lfd
 * (bound, listening, non-blocking; in->address set) with proto (static
 * storage). Takes lfd, even on failure. 0, or a negative errno with a
 * reason in err (in->impl stays NULL then). */
int sl_stream_open(struct sl_input *in, int lfd, const struct sl_stream_proto *proto, char *err,
                   size_t errlen);

/* The ops, for the kind's descriptor (kind.h says which thread runs each). */
void sl_stream_event(struct sl_input *in, void *tag, uint32_t events);
void sl_stream_resume(struct sl_input *in);
void sl_stream_tick(struct sl_input *in);
void sl_stream_drain(struct sl_input *in);
bool sl_stream_unpark(struct sl_input *in);
void sl_stream_close(struct sl_input *in); /* closes the listener too; in->impl NULL is a no-op */
/* The descriptors an input with conf c holds: the listener, and one per
 * connection (kind.h's descriptors). */
unsigned sl_stream_descriptors(const struct sl_input_conf *c);

#endif /* SL_INPUT_STREAM_H */
