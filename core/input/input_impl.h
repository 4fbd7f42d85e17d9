/* SPDX-License-Identifier: MIT */
/*
 * input_impl.h: the kind-facing half of an input (input.h is the half the
 * daemon sees, where struct sl_input is opaque). Included by input.c and the
 * kinds (input_*.c) only, and by their unit tests.
 *
 * Threads: the fields of struct sl_input say who changes them; the
 * functions below are called from a kind's ops, on the thread the op runs
 * on (kind.h).
 */
#ifndef SL_INPUT_IMPL_H
#define SL_INPUT_IMPL_H

#include "input/activation.h"
#include "input/framing.h"
#include "input/input.h"
#include "input/ratelimit.h"

/* Messages of one source that a block-policy queue could not take yet.
 * An entry points at its sink, not at an index of the plan, so parked
 * messages follow their output across a reload (a kept or changed output
 * is the same sink, wherever the new config lists it); those of a removed
 * output are given up when the input switches (input.c, forget_removed). */
struct sl_parked {
    struct sl_parked_entry {
        struct sl_msg *m;
        struct sl_sink *sink; /* borrowed: the plan's routing holds it */
    } *v;
    size_t n, cap;
    unsigned gen; /* the in->plan_gen its entries were checked against */
};

enum sl_plan_state {
    SL_PLAN_NONE,    /* nothing offered */
    SL_PLAN_OFFERED, /* main offered plan_next; the thread has not seen it yet */
    SL_PLAN_READY,   /* the thread is between batches and holds */
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
    /* Set at open: its socket was passed by systemd (activation.h), so it
     * is never unlinked nor shut down: the service manager keeps it. */
    bool passed;
    struct sl_input_stats stats;
    void *impl; /* the kind's own state */
    /* Owned; NULL without a ratelimit key. Made at open from the conf's
     * values, which a kept input's new plan has equal (reload keeps only
     * an input whose keys are all equal), so the budgets outlive a reload. */
    struct sl_ratelimiter *ratelimit;
    /* per-output batch buffers for dispatch, nsinks x SL_DISPATCH_MAX */
    struct sl_msg **outbuf;
    size_t *outlen;
    struct sl_density *density; /* per output: how much of what is read it takes */
    /* the switch to a new plan (see the top) */
    pthread_mutex_t plan_mu;
    pthread_cond_t plan_cv;
    enum sl_plan_state plan_state;   /* under plan_mu */
    struct sl_input_plan *plan_next; /* under plan_mu */
    bool exited;                     /* under plan_mu: the thread has returned */
    atomic_bool plan_pending;        /* a hint for the loop: look at plan_state */
    unsigned plan_gen;               /* input thread: plans swapped in so far */
};

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
 * hook's contract): parse(b, ctx, arg) runs on the message's copy of raw
 * and adds the fields. -EBADMSG from it drops the entry whole: nothing is
 * delivered, it counts as received and malformed, and NULL comes back
 * with *rc = -EBADMSG. Another negative return is a parse error: the
 * message, as far as parse got, is still delivered, with
 * SL_MSG_PARSE_ERROR. NULL with *rc = -ENOMEM when memory ran out; *rc is
 * parse's return otherwise (rc may be NULL). */
struct sl_msg *sl_input_message_fields(struct sl_input *in, sl_msg_fields_parser *parse,
                                       void *arg, const char *raw, size_t len, const char *peer,
                                       size_t peer_len, unsigned flags, int *rc);
/* Drops from msgs[0..n) (parsed: severity is known) what the input's
 * ratelimit suppresses, releasing and counting each (suppressed), and
 * returns how many are left, in their order, in msgs[0..). n without a
 * ratelimit key. It reads the clock once: call it once per read (a batch,
 * or the part of one a read added), after parsing and before
 * sl_input_dispatch(). A kind whose messages carry the
 * kernel's credentials and that calls this may list
 * SL_INPUT_KEY_RATELIMIT_ENTRY (kind.h) among its keys. */
size_t sl_input_ratelimit(struct sl_input *in, struct sl_msg **msgs, size_t n);
/* Routes and pushes msgs[0..n) (taking their references). What a block
 * queue refuses is parked on `parked`. Returns true when nothing was parked. */
bool sl_input_dispatch(struct sl_input *in, struct sl_msg **msgs, size_t n,
                       struct sl_parked *parked);
/* Pushes parked messages again, in order, giving up (and counting) those
 * whose output the current plan no longer has; true when none is left.
 * After a switch to a new plan, every source's list goes through here
 * before anything else touches it (unpark), while removed outputs are
 * still open. */
bool sl_input_retry(struct sl_input *in, struct sl_parked *parked);
/* Releases parked messages, counting them as abandoned at their outputs
 * (sl_sink_abandon: not dropped, the drop policy's counter). */
void sl_parked_drop(struct sl_input *in, struct sl_parked *parked);
/* Adds fd to the epoll set for reading (on), or takes it out (a paused
 * source: out of the set, even a hang-up cannot spin the loop); tag comes
 * back in event(). */
int sl_input_watch(struct sl_input *in, int fd, void *tag, bool on);
/* The binding of every socket kind: the two below first take the socket
 * systemd passed at the input's address, when there is one (activation.h;
 * then in->passed is set, nothing is bound and no path made or unlinked),
 * and bind their own otherwise. */
/* Binds a udp or tcp socket (socktype) to conf host:port, non-blocking,
 * and fills in->address with the bound address. Returns the fd or a
 * negative errno with a reason in err. */
int sl_input_bind_inet(struct sl_input *in, int socktype, char *err, size_t errlen);
/* Binds a unix socket of socktype (SOCK_DGRAM, or SOCK_STREAM, which it
 * also listens on) to conf path, non-blocking, with the file mode conf
 * mode, set at bind() whatever the umask (bind_unix.c says how), making
 * the path's directories and removing a socket an earlier run left there;
 * fills in->address with the path. Returns the fd or a negative errno
 * with a reason in err. The caller removes the path when done, through
 * sl_input_unlink_path. */
int sl_input_bind_unix(struct sl_input *in, int socktype, char *err, size_t errlen);
/* Removes the input's socket path, unless its socket was passed. */
void sl_input_unlink_path(struct sl_input *in);
/* The passed socket matching w (activation.h) as the input's, logged, with
 * in->passed and in->address set; -ENOENT when none matches. */
int sl_input_take_passed(struct sl_input *in, const struct sl_activation_want *w);
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

#endif /* SL_INPUT_IMPL_H */
