/*
 * input.h: input threads, whatever their kind (kind.h: unix datagram, udp,
 * tcp).
 *
 * Each input runs one thread with its own epoll loop, message pool, parse
 * context and route scratch (for regular expressions). A read produces a
 * batch of messages, which is parsed, routed and offered to the outputs in
 * one go (one lock per output per batch).
 *
 * Backpressure: a source (a tcp connection, or a datagram socket) whose
 * messages did not all fit a block-policy queue keeps them "parked" and is not
 * read again until the queue has room; the input's other sources keep
 * flowing. A drop-policy output's sink drops and counts what does not fit
 * (sl_sink_offer), so the input parks only for block-policy outputs.
 *
 * Reload: what an input routes with (its routing, route scratch, dispatch
 * buffers sized by the number of outputs, and its own copy of its conf) is
 * a "plan". The main thread builds a new plan aside and hands it over; the
 * input thread takes it between batches, so a kept input keeps its sockets,
 * its tcp connections, its buffered bytes and its counters:
 *
 *   main                                  input thread
 *   sl_input_switch_offer(in, plan) ----> (epoll loop) stops reading, delivers
 *                                         its parked messages to the current
 *                                         outputs, waiting for room (they run)
 *   sl_input_switch_wait_ready() <------- nothing parked: READY, holds
 *   (every kept input READY, or cancel
 *    them all after 10 s)
 *   sl_input_switch_commit() ----------> swaps in the plan, DONE; resumes
 *   frees the old plan it gets back       reading with the new outputs
 *
 * A parked entry holds an output index of the current plan, so the swap
 * happens only with nothing parked; holding every kept input READY until
 * all are lets the whole reload still be cancelled when one cannot get
 * there (an output that takes nothing for 10 s).
 */
#ifndef SL_INPUT_H
#define SL_INPUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "input/framing.h"
#include "input/kind.h"
#include "conf/lua_config.h"
#include "common/msg.h"
#include "parse/parse.h"
#include "route/router.h"
#include "output/sink.h"
#include "common/clock.h"

/* What inputs need from the daemon: where messages go. Immutable while the
 * input runs. */
struct sl_routing {
    struct sl_router router;
    struct sl_sink **sinks; /* indexed like config->outputs */
    size_t nsinks;
    atomic_uint_fast64_t *unrouted; /* the daemon's counter */
    struct sl_str hostname;         /* the local hostname, for RFC 3164 without one */
};

struct sl_input_stats {
    atomic_uint_fast64_t received;
    atomic_uint_fast64_t bytes;
    atomic_uint_fast64_t parse_errors;
    atomic_uint_fast64_t truncated;
    atomic_uint_fast64_t framing_errors;
    atomic_uint_fast64_t connections; /* open now (tcp) */
    atomic_uint_fast64_t accepted;    /* ever (tcp) */
    atomic_uint_fast64_t refused;     /* over max_connections (tcp) */
    atomic_uint_fast64_t kernel_drops;
};

/* Messages of one source that a block-policy queue could not take yet. */
struct sl_parked {
    struct sl_parked_entry {
        struct sl_msg *m;
        uint16_t sink;
    } *v;
    size_t n, cap;
};

struct sl_input;

/* What an input routes with; see the comment at the top. */
struct sl_input_plan {
    struct sl_input_conf *conf;       /* owned deep copy */
    const struct sl_routing *routing; /* borrowed from the daemon's runtime */
    struct sl_route_scratch *scratch; /* owned; for the thread that uses the plan */
    struct sl_msg **outbuf;           /* owned; routing->nsinks x SL_DISPATCH_MAX */
    size_t *outlen;                   /* owned; routing->nsinks */
};

enum sl_plan_state {
    SL_PLAN_NONE,    /* nothing offered */
    SL_PLAN_OFFERED, /* main offered plan_next; the thread is unparking */
    SL_PLAN_READY,   /* the thread has nothing parked and holds */
    SL_PLAN_GO,      /* main: swap */
    SL_PLAN_CANCEL,  /* main: withdrawn; the thread answers NONE */
    SL_PLAN_DONE     /* swapped: plan_next holds the old plan */
};

struct sl_input {
    /* The current plan (struct sl_input_plan), field by field; only the
     * input thread changes them, while main waits in the switch. */
    const struct sl_input_conf *conf; /* owned deep copy */
    const struct sl_routing *routing; /* borrowed from the daemon */
    const struct sl_input_ops *ops;   /* &conf->kind->ops */
    int epfd;
    int wakefd; /* eventfd: stop requests and queue-room notices */
    pthread_t thread;
    bool started;
    atomic_bool stop;
    int64_t stop_deadline_ms;
    struct sl_msgpool pool;
    struct sl_parse_ctx pctx;
    struct sl_route_scratch *scratch; /* this thread's, for the router's regexes */
    char address[128]; /* what it is bound to, for stats and logs */
    struct sl_input_stats stats;
    void *impl; /* the kind's own state */
    /* per-output batch buffers for dispatch, nsinks x SL_DISPATCH_MAX */
    struct sl_msg **outbuf;
    size_t *outlen;
    /* the switch to a new plan (see the top) */
    pthread_mutex_t plan_mu;
    pthread_cond_t plan_cv;
    enum sl_plan_state plan_state;   /* under plan_mu */
    struct sl_input_plan *plan_next; /* under plan_mu */
    bool exited;                     /* under plan_mu: the thread has returned */
    atomic_bool plan_pending;        /* a hint for the loop: look at plan_state */
};

#define SL_DISPATCH_MAX 1024

/* Creates the input and binds its socket (so a port in use fails start-up),
 * without starting its thread. The input keeps a deep copy of conf and
 * borrows routing, which must outlive it or its switch to another plan. */
int sl_input_open(struct sl_input **out, const struct sl_input_conf *conf,
                  const struct sl_routing *routing, char *err, size_t errlen);

/* Builds a plan: a copy of conf, a route scratch for routing's router,
 * dispatch buffers for routing's outputs. 0, or a negative errno with a
 * reason in err. Thread: any (main, for reload). */
int sl_input_plan_new(struct sl_input_plan **out, const struct sl_input_conf *conf,
                      const struct sl_routing *routing, char *err, size_t errlen);
void sl_input_plan_free(struct sl_input_plan *p); /* NULL is a no-op */

/* {=== switching a running input to another plan (main thread; see the top).
 * offer takes plan. Then either commit, which returns the input's old plan
 * (the caller frees it), or cancel, which returns the plan offered. */
void sl_input_switch_offer(struct sl_input *in, struct sl_input_plan *plan);
/* Waits until the input has delivered what it had parked and holds, up to
 * deadline_ms (sl_now_ms() time). 0, or -ETIMEDOUT, or -ESRCH when the
 * input thread is gone. */
int sl_input_switch_wait_ready(struct sl_input *in, int64_t deadline_ms);
struct sl_input_plan *sl_input_switch_commit(struct sl_input *in);
struct sl_input_plan *sl_input_switch_cancel(struct sl_input *in);
/* }=== */
int sl_input_start(struct sl_input *in);
/* Stops reading, delivers what was read and what the kernel still holds
 * (waiting for queue room until timeout_ms), closes and frees. */
void sl_input_close(struct sl_input *in, int timeout_ms);

/* {=== for the kinds of input (input_*.c; their descriptor is in kind.h)
 *
 * Threads: what follows is called from a kind's ops, on the thread the op
 * runs on (kind.h): the input's own thread, or the main thread for open,
 * close and the drain of an input that never started; never from two
 * threads at once for one input. sl_sockaddr_text is Thread: any. */

/* Parses a frame into a new message from the input's pool (NULL on ENOMEM),
 * counting it; peer may be NULL. */
struct sl_msg *sl_input_message(struct sl_input *in, const char *raw, size_t len,
                                const char *peer, size_t peer_len, unsigned flags);
/* The same for a kind whose parser fills fields (msg.h, the builder and its
 * hook's contract): parse runs on the message's copy of raw and adds the
 * fields; a negative return is counted as a parse error (the message, as
 * far as parse got, is still delivered, with SL_MSG_PARSE_ERROR). NULL on
 * ENOMEM. */
struct sl_msg *sl_input_message_fields(struct sl_input *in, sl_msg_fields_parser *parse,
                                       const char *raw, size_t len, const char *peer,
                                       size_t peer_len, unsigned flags);
/* Routes and pushes msgs[0..n) (taking their references). What a block
 * queue refuses is parked on `parked`. Returns true when nothing was parked. */
bool sl_input_dispatch(struct sl_input *in, struct sl_msg **msgs, size_t n,
                       struct sl_parked *parked);
/* Pushes parked messages again, in order; true when none is left. */
bool sl_input_retry(struct sl_input *in, struct sl_parked *parked);
/* Releases parked messages, counting them as dropped at their outputs. */
void sl_parked_drop(struct sl_input *in, struct sl_parked *parked);
/* Adds fd to the epoll set for reading (on), or takes it out (a paused
 * source: out of the set, even a hang-up cannot spin the loop); tag comes
 * back in event(). */
int sl_input_watch(struct sl_input *in, int fd, void *tag, bool on);
/* Binds a udp or tcp socket (socktype) to conf host:port, non-blocking,
 * and fills in->address with the bound address. Returns the fd or a
 * negative errno with a reason in err. */
int sl_input_bind_inet(struct sl_input *in, int socktype, char *err, size_t errlen);
/* Asks for a receive buffer of want bytes; logs when the kernel grants
 * less (net.core.rmem_max caps it). */
void sl_input_set_rcvbuf(struct sl_input *in, int fd, size_t want);
/* The text of an address ("192.0.2.1", or with_port "192.0.2.1:514" /
 * "[::1]:514"); returns its length. */
size_t sl_sockaddr_text(const void *sa, char *buf, size_t len, bool with_port);
/* Sets ctx time fields once per batch. */
void sl_input_tick_clock(struct sl_input *in);
/* True while stopping and the deadline has not passed. */
bool sl_input_may_wait(struct sl_input *in);
/* Blocks up to 100 ms for a queue-room notice (used while stopping). */
void sl_input_wait_room(struct sl_input *in);
/* }=== */

#endif /* SL_INPUT_H */
