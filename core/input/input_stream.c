/* SPDX-License-Identifier: MIT */
/*
 * input_stream.c: the connections of a stream input (input_stream.h): a
 * listening socket, TCP or unix stream, and many connections on one epoll
 * loop, each cut into frames by its framer (framing.h: RFC 6587 for the
 * tcp kind, the journal export format for native_stream).
 *
 * Each connection has a buffer of max_message + headroom bytes (at least
 * 64 KiB so reads are large): a read appends to it, the framer cuts frames
 * out of it, and what is left of an incomplete frame moves to the front. A
 * connection whose messages were parked (a block-policy queue was full) is
 * taken out of the epoll set, so its kernel buffer fills and the sender
 * slows down, while the other connections keep flowing.
 *
 * The bytes come through a transport (transport.h): plain TCP here, TLS or
 * RELP later on the same connection code. A transport read that must first
 * write (TLS) adds EPOLLOUT to the connection's interest until a read
 * returns something else; sl_input_watch() itself only knows EPOLLIN.
 *
 * Descriptors. Each connection holds one, and the process has
 * RLIMIT_NOFILE of them for everything: connections of every input, the
 * outputs' files, the control socket, what a reload opens. So a connection
 * is refused (accepted and closed at once) when accept4() hands out a
 * descriptor within reserve_fds() of the limit: the kernel hands out the
 * lowest free one, so all below it are taken, and the rest of the daemon
 * keeps a few. When accept4() fails for want of descriptors or memory
 * anyway (the reserve went elsewhere, or ENFILE: the system's), the
 * listener leaves the epoll set for ACCEPT_BACKOFF_MS at least, up to the
 * next tick, or until a connection closes: it stays readable, and a
 * level-triggered loop would spin on it. The backlog waits meanwhile.
 *
 * Every line a sender can cause (a refusal, a bad frame, an idle close, a
 * failed accept) goes through a rate limit (struct sl_ratelimit) and has a
 * counter, so a flood of them costs neither the log nor the CPU.
 *
 * What differs between the stream kinds is a struct sl_stream_proto: the
 * framing, and the hook that turns a frame into a message (none for
 * syslog: sl_input_message, called directly on the hot path). The
 * listening socket is the kind's: TCP (sl_input_bind_inet) or a unix
 * stream socket (sl_input_bind_unix), whose connections carry no peer
 * address (their messages' peer is NIL, as the unix kind's are) and count
 * as one peer for max_connections_per_peer.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "input/framing.h"
#include "input/input_impl.h"
#include "input/input_stream.h"
#include "input/peers.h"
#include "input/transport.h"
#include "common/log.h"
#include "common/alloc.h"
#include "common/clock.h"

#define MIN_BUFFER (64 * 1024)
#define ACCEPT_BACKOFF_MS 100
#define DRAIN_QUIET_MS 100 /* a stopping connection quiet this long has sent all */

struct conn {
    struct conn *prev, *next;
    bool local;  /* from a unix socket: its messages carry no peer address */
    struct sl_transport_conn tc; /* the socket and the transport's state */
    bool paused; /* out of the epoll set while messages are parked */
    bool want_write; /* the transport waits for EPOLLOUT to go on reading */
    bool eof;    /* the peer closed; deliver what is left, then close */
    bool broken; /* framing error; deliver what came before, then close */
    int64_t last_ms;
    struct sl_peer_key key; /* counted in the stream's peers */
    struct sl_framer framer;
    struct sl_parked parked;
    size_t len, cap;
    char *buf;
    size_t peer_len;
    char peer[64];
};

struct stream {
    int lfd;
    const struct sl_stream_proto *proto; /* static storage */
    const struct sl_transport *tp; /* every connection's */
    void *tp_ctx;                  /* the transport's listener state; NULL for plain */
    struct conn *conns;
    struct sl_peers peers;  /* open connections per source address */
    int fd_limit;           /* RLIMIT_NOFILE's soft limit when opened */
    bool accept_paused;     /* the listener is out of the epoll set (see the top) */
    int64_t accept_paused_ms;
    struct sl_ratelimit framing_log;
    struct sl_ratelimit refused_log;
    struct sl_ratelimit peer_log;
    struct sl_ratelimit setup_log;
    struct sl_ratelimit accept_log;
    struct sl_ratelimit idle_log;
};

static struct stream *stream_of(struct sl_input *in)
{
    return in->impl;
}

static void conn_close(struct sl_input *in, struct conn *c)
{
    struct stream *t = stream_of(in);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    t->tp->shutdown(&c->tc);
    t->tp->close(&c->tc);
    sl_peers_remove(&t->peers, &c->key);
    sl_parked_drop(in, &c->parked);
    free(c->buf);
    free(c);
    atomic_fetch_sub_explicit(&in->stats.connections, 1, memory_order_relaxed);
}

/* The message for one frame, through the kind's hook or, for syslog (the
 * tcp kind), straight to sl_input_message without an indirect call. */
static struct sl_msg *frame_message(struct sl_input *in, const struct conn *c, const char *frame,
                                    size_t len, unsigned flags)
{
    const char *peer = c->local ? NULL : c->peer;
    size_t peer_len = c->local ? 0 : c->peer_len;
    const struct sl_stream_proto *proto = stream_of(in)->proto;
    if (proto->message == NULL)
        return sl_input_message(in, frame, len, peer, peer_len, flags);
    return proto->message(in, frame, len, peer, peer_len, flags);
}

/* An entry over max_message, which the framer discards (framing.h):
 * received, as the sender sent it, and too_large, as why it went nowhere. */
static void too_large(struct sl_input *in, const struct conn *c)
{
    atomic_fetch_add_explicit(&in->stats.received, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&in->stats.too_large, 1, memory_order_relaxed);
    if (sl_ratelimit_ok(&stream_of(in)->framing_log))
        sl_log(SL_LOG_WARNING, 0,
               "input \"%s\": an entry from %.*s is longer than max_message (%zu bytes), "
               "dropping it", in->conf->name, (int)c->peer_len, c->peer, in->conf->max_message);
}

/* Cuts frames out of the buffer and dispatches them in batches. Returns
 * false when messages were parked; the unprocessed bytes stay buffered. */
static bool process(struct sl_input *in, struct conn *c)
{
    struct sl_msg *batch[SL_DISPATCH_MAX];
    size_t n = 0, off = 0;
    bool flowing = true;
    while (flowing && !c->broken) {
        const char *frame;
        size_t flen;
        unsigned flags = 0;
        ssize_t k = sl_framer_next(&c->framer, c->buf + off, c->len - off, c->eof, &frame, &flen,
                                   &flags);
        if (k == 0)
            break;
        if (k < 0) {
            atomic_fetch_add_explicit(&in->stats.framing_errors, 1, memory_order_relaxed);
            if (sl_ratelimit_ok(&stream_of(in)->framing_log))
                sl_log(SL_LOG_WARNING, 0,
                       "input \"%s\": malformed or incomplete octet-counted frame from %.*s, closing the connection",
                       in->conf->name, (int)c->peer_len, c->peer);
            c->broken = true;
            break;
        }
        off += (size_t)k;
        if (frame != NULL) {
            struct sl_msg *m = frame_message(in, c, frame, flen, flags);
            if (m != NULL)
                batch[n++] = m;
        } else if (flags & SL_FRAME_TOO_LARGE) {
            too_large(in, c);
        }
        if (n == SL_DISPATCH_MAX) {
            flowing = sl_input_dispatch(in, batch, n, &c->parked);
            n = 0;
        }
    }
    if (n > 0)
        flowing = sl_input_dispatch(in, batch, n, &c->parked) && flowing;
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return flowing;
}

/* EPOLLOUT on or off in a watched connection's interest (see the top). */
static void watch_write(struct sl_input *in, struct conn *c)
{
    struct epoll_event ev = {.events = EPOLLIN | (c->want_write ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(in->epfd, EPOLL_CTL_MOD, c->tc.fd, &ev) < 0 &&
        sl_ratelimit_ok(&stream_of(in)->setup_log))
        sl_log(SL_LOG_ERR, errno, "input \"%s\": epoll_ctl() on a connection from %.*s failed",
               in->conf->name, (int)c->peer_len, c->peer);
}

static void set_want_write(struct sl_input *in, struct conn *c, bool on)
{
    if (c->want_write == on)
        return;
    c->want_write = on;
    if (!c->paused) /* a paused one gets it when it is watched again */
        watch_write(in, c);
}

static void set_paused(struct sl_input *in, struct conn *c, bool paused)
{
    if (c->paused == paused)
        return;
    c->paused = paused;
    sl_input_watch(in, c->tc.fd, c, !paused);
    if (!paused && c->want_write)
        watch_write(in, c);
}

/* {=== accepting */
/* The listener back in the epoll set after a pause (see the top). */
static void accept_resume(struct sl_input *in)
{
    struct stream *t = stream_of(in);
    if (t->accept_paused && sl_input_watch(in, t->lfd, t, true) == 0)
        t->accept_paused = false;
}

/* accept4() failed with err, which retrying now would not cure: pause. */
static void accept_pause(struct sl_input *in, int err)
{
    struct stream *t = stream_of(in);
    bool fds = err == EMFILE || err == ENFILE;
    if (fds)
        atomic_fetch_add_explicit(&in->stats.refused_fds, 1, memory_order_relaxed);
    if (sl_ratelimit_ok(&t->accept_log))
        sl_log(SL_LOG_WARNING, err, "input \"%s\": accept4() failed, not accepting for %d ms%s",
               in->conf->name, ACCEPT_BACKOFF_MS,
               fds ? " (raise the descriptor limit, or lower max_connections)" : "");
    if (!t->accept_paused && sl_input_watch(in, t->lfd, t, false) == 0) {
        t->accept_paused = true;
        t->accept_paused_ms = sl_now_ms();
    }
}

/* Descriptors kept for the rest of the daemon (see the top): 1/16 of the
 * limit, at least 8 and at most 64 (a reload opens a few per input and
 * output). */
static int reserve_fds(const struct stream *t)
{
    int r = t->fd_limit / 16;
    return r < 8 ? 8 : r > 64 ? 64 : r;
}

static int fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > INT32_MAX)
        return INT32_MAX;
    return (int)rl.rlim_cur;
}
/* }=== */

/* After reading or resuming: pause, close, or keep going. */
static void settle(struct sl_input *in, struct conn *c, bool flowing)
{
    if (!flowing) {
        set_paused(in, c, true);
        return;
    }
    if (c->eof || c->broken) {
        conn_close(in, c);
        accept_resume(in); /* a descriptor is free again */
        return;
    }
    set_paused(in, c, false);
}

static void conn_read(struct sl_input *in, struct conn *c)
{
    unsigned want = SL_TRANSPORT_WANT_READ;
    ssize_t r = stream_of(in)->tp->read(&c->tc, c->buf + c->len, c->cap - c->len, &want);
    if (r == -EAGAIN) {
        set_want_write(in, c, want & SL_TRANSPORT_WANT_WRITE);
        return;
    }
    set_want_write(in, c, false);
    if (r < 0) {
        c->eof = true; /* reset by peer: deliver what we have */
    } else if (r == 0) {
        c->eof = true;
    } else {
        c->len += (size_t)r;
        c->last_ms = sl_now_ms();
    }
    settle(in, c, process(in, c));
}

/* A connection's peer for log lines: its address, or for a unix socket,
 * which has none, the process the kernel says connected (SO_PEERCRED).
 * Returns the length. */
static size_t peer_text(int fd, const struct sockaddr_storage *ss, char *buf, size_t len)
{
    if (ss->ss_family != AF_UNIX)
        return sl_sockaddr_text(ss, buf, len, false);
    struct ucred cr;
    socklen_t crlen = sizeof cr;
    int n = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0
                ? snprintf(buf, len, "pid %ld uid %lu", (long)cr.pid, (unsigned long)cr.uid)
                : snprintf(buf, len, "a local process");
    return n < 0 ? 0 : ((size_t)n >= len ? len - 1 : (size_t)n);
}

/* The transport's set-up of a connection just accepted; logs a failure. */
static int conn_setup(struct sl_input *in, struct conn *c)
{
    struct stream *t = stream_of(in);
    char why[256] = "";
    int rc = t->tp->accept(&c->tc, t->tp_ctx, why, sizeof why);
    if (rc < 0 && sl_ratelimit_ok(&t->setup_log))
        sl_log(SL_LOG_WARNING, -rc, "input \"%s\": %s set-up of a connection from %.*s failed: %s",
               in->conf->name, t->tp->name, (int)c->peer_len, c->peer, why);
    return rc;
}

/* Keeps fd, a connection just accepted from ss: its buffer, the
 * transport's set-up, the list, the counts and the watch. Closes fd when
 * it cannot. */
static void conn_add(struct sl_input *in, int fd, const struct sockaddr_storage *ss)
{
    struct stream *t = stream_of(in);
    struct conn *c = sl_calloc(1, sizeof *c);
    size_t cap = in->conf->max_message + SL_FRAMER_HEADROOM;
    cap = cap < MIN_BUFFER ? MIN_BUFFER : cap;
    if (c != NULL)
        c->buf = sl_malloc(cap);
    if (c != NULL)
        sl_peer_key_of(ss, &c->key);
    if (c == NULL || c->buf == NULL || sl_peers_add(&t->peers, &c->key) < 0) {
        if (sl_ratelimit_ok(&t->accept_log))
            sl_log(SL_LOG_ERR, ENOMEM, "input \"%s\": refusing a connection", in->conf->name);
        if (c != NULL)
            free(c->buf);
        free(c);
        close(fd);
        return;
    }
    c->tc.fd = fd;
    c->cap = cap;
    c->last_ms = sl_now_ms();
    sl_framer_init_as(&c->framer, t->proto->framing, in->conf->max_message);
    c->local = ss->ss_family == AF_UNIX;
    c->peer_len = peer_text(fd, ss, c->peer, sizeof c->peer);
    if (conn_setup(in, c) < 0) {
        sl_peers_remove(&t->peers, &c->key);
        free(c->buf);
        free(c);
        close(fd); /* never set up: not the transport's to close */
        return;
    }
    c->next = t->conns;
    if (t->conns != NULL)
        t->conns->prev = c;
    t->conns = c;
    atomic_fetch_add_explicit(&in->stats.connections, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&in->stats.accepted, 1, memory_order_relaxed);
    sl_input_watch(in, fd, c, true);
}

/* An error of accept4() that is the pending connection's, not ours: the
 * next one may be fine (accept(2) asks to retry these as EAGAIN). */
static bool accept_retry(int err)
{
    switch (err) {
    case EINTR: case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT:
    case EHOSTDOWN: case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
    case EPERM: /* a firewall rule refused it */
        return true;
    default:
        return false;
    }
}

/* Why fd, just accepted from ss, may not stay: "" when it may. Each
 * refusal is counted first: a sender that sees the close sees the count. */
static const char *refusal(struct sl_input *in, int fd, const struct sockaddr_storage *ss)
{
    struct stream *t = stream_of(in);
    if (fd >= t->fd_limit - reserve_fds(t)) {
        atomic_fetch_add_explicit(&in->stats.refused_fds, 1, memory_order_relaxed);
        return sl_ratelimit_ok(&t->accept_log) ? "too few descriptors left: raise the limit "
                                                 "(ulimit -n), or lower max_connections" : NULL;
    }
    if (atomic_load_explicit(&in->stats.connections, memory_order_relaxed) >=
        in->conf->max_connections) {
        atomic_fetch_add_explicit(&in->stats.refused, 1, memory_order_relaxed);
        return sl_ratelimit_ok(&t->refused_log) ? "max_connections" : NULL;
    }
    struct sl_peer_key k;
    sl_peer_key_of(ss, &k);
    unsigned per_peer = in->conf->max_connections_per_peer;
    if (per_peer > 0 && sl_peers_count(&t->peers, &k) >= per_peer) {
        atomic_fetch_add_explicit(&in->stats.refused_per_peer, 1, memory_order_relaxed);
        return sl_ratelimit_ok(&t->peer_log) ? "max_connections_per_peer" : NULL;
    }
    return "";
}

static void accept_all(struct sl_input *in)
{
    struct stream *t = stream_of(in);
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(t->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (accept_retry(errno))
                continue;
            accept_pause(in, errno);
            return;
        }
        const char *why = refusal(in, fd, &ss);
        if (why != NULL && why[0] == '\0') {
            conn_add(in, fd, &ss);
            continue;
        }
        /* Accepted and closed at once, so the sender sees it and the
         * backlog does not fill with connections nobody will read. */
        char peer[64] = "";
        if (why != NULL)
            peer_text(fd, &ss, peer, sizeof peer);
        close(fd);
        if (why != NULL)
            sl_log(SL_LOG_WARNING, 0, "input \"%s\": closing a new connection from %s (%s)",
                   in->conf->name, peer, why);
    }
}

/* {=== ops */
int sl_stream_open(struct sl_input *in, int lfd, const struct sl_stream_proto *proto, char *err,
                   size_t errlen)
{
    struct stream *t = sl_calloc(1, sizeof *t);
    if (t == NULL) {
        snprintf(err, errlen, "input \"%s\": out of memory", in->conf->name);
        close(lfd);
        return -ENOMEM;
    }
    t->proto = proto;
    t->framing_log.interval = 10;
    t->framing_log.burst = 5;
    t->refused_log.interval = 10;
    t->refused_log.burst = 1;
    t->peer_log.interval = 10;
    t->peer_log.burst = 1;
    t->setup_log.interval = 10;
    t->setup_log.burst = 5;
    t->accept_log.interval = 10;
    t->accept_log.burst = 1;
    t->idle_log.interval = 10;
    t->idle_log.burst = 5;
    t->fd_limit = fd_limit();
    sl_peers_init(&t->peers);
    t->tp = &sl_transport_plain;
    t->lfd = lfd;
    /* The listener's tag is the stream struct itself; connections are tagged
     * with their struct conn. */
    int rc = sl_input_watch(in, t->lfd, t, true);
    if (rc < 0) {
        snprintf(err, errlen, "input \"%s\": epoll_ctl() failed (%d: %s)", in->conf->name, -rc,
                 strerror(-rc));
        close(t->lfd); /* a failed open leaves nothing for close() */
        free(t);
        return rc;
    }
    in->impl = t;
    return 0;
}

void sl_stream_event(struct sl_input *in, void *tag, uint32_t events)
{
    if (tag == in->impl) {
        accept_all(in);
        return;
    }
    struct conn *c = tag;
    if (!c->paused)
        conn_read(in, c);
}

void sl_stream_resume(struct sl_input *in)
{
    struct conn *next;
    for (struct conn *c = stream_of(in)->conns; c != NULL; c = next) {
        next = c->next;
        if (!c->paused || !sl_input_retry(in, &c->parked))
            continue;
        /* Parked messages are in; go on with what is still buffered. */
        settle(in, c, process(in, c));
    }
}

void sl_stream_tick(struct sl_input *in)
{
    struct stream *t = stream_of(in);
    if (t->accept_paused && sl_now_ms() - t->accept_paused_ms >= ACCEPT_BACKOFF_MS)
        accept_resume(in);
    if (in->conf->idle_timeout <= 0)
        return;
    int64_t limit = sl_now_ms() - (int64_t)in->conf->idle_timeout * 1000;
    struct conn *next;
    for (struct conn *c = t->conns; c != NULL; c = next) {
        next = c->next;
        if (!c->paused && c->last_ms < limit) {
            atomic_fetch_add_explicit(&in->stats.idle_closed, 1, memory_order_relaxed);
            if (sl_ratelimit_ok(&t->idle_log))
                sl_log(SL_LOG_INFO, 0, "input \"%s\": closing idle connection from %.*s",
                       in->conf->name, (int)c->peer_len, c->peer);
            c->eof = true;
            settle(in, c, process(in, c));
        }
    }
}

/* How many more bytes a stopping connection may read: what the kernel
 * holds for it now (FIONREAD), plus what the sender's kernel may already
 * have queued towards us behind our window: at most its send buffer,
 * whose largest default on Linux (net.ipv4.tcp_wmem) is 4 MiB. */
#define SENDER_QUEUE_MAX (4u << 20)
static size_t drain_budget(const struct conn *c)
{
    int queued = 0;
    if (ioctl(c->tc.fd, FIONREAD, &queued) < 0 || queued < 0)
        queued = 0;
    return (size_t)queued + SENDER_QUEUE_MAX;
}

/* Stopping: deliver what is buffered, waiting for queue room until the
 * deadline. "Buffered" (sluiced(8), SHUTDOWN) is what this connection's
 * buffer holds and what the kernels hold for it: it is read until it has
 * been quiet for DRAIN_QUIET_MS, and never more than drain_budget(), so a
 * sender that keeps sending is not read on. The part of a line that the
 * budget cut is not delivered: the rest of it was never read. */
static void drain_conn(struct sl_input *in, struct conn *c)
{
    size_t left = drain_budget(c);
    for (;;) {
        while (!sl_input_retry(in, &c->parked) && sl_input_may_wait(in))
            sl_input_wait_room(in);
        if (c->parked.n > 0)
            return; /* out of time: conn_close() counts them as dropped */
        /* What is buffered first, even after the peer closed: a paused
         * connection may hold frames read before its eof. */
        if (!process(in, c))
            continue;
        if (c->eof || c->broken || left == 0)
            return;
        /* Past the deadline nothing more is read: a peer that sends as fast
         * as the input routes (a route function that meets its time limit on
         * every message) would keep the drain going for ever. */
        if (!sl_input_may_wait(in))
            return;
        size_t room = c->cap - c->len < left ? c->cap - c->len : left;
        unsigned want = SL_TRANSPORT_WANT_READ;
        ssize_t r = stream_of(in)->tp->read(&c->tc, c->buf + c->len, room, &want);
        if (r > 0) {
            c->len += (size_t)r;
            left -= (size_t)r;
        } else if (r == -EAGAIN) {
            /* The sender's kernel may still be pushing what it had queued
             * before the stop as our window opens (and a transport such as
             * TLS may have to write first): a moment's wait, within the
             * budget and the deadline, before calling it done. */
            short ev = (want & SL_TRANSPORT_WANT_WRITE) ? POLLOUT : POLLIN;
            struct pollfd p = {.fd = c->tc.fd, .events = ev};
            if (!sl_input_may_wait(in) || poll(&p, 1, DRAIN_QUIET_MS) <= 0)
                c->eof = true;
        } else {
            c->eof = true; /* nothing more in the kernel (or closed): the rest is a frame */
        }
    }
}

void sl_stream_drain(struct sl_input *in)
{
    for (struct conn *c = stream_of(in)->conns; c != NULL; c = c->next)
        drain_conn(in, c);
}

/* Before a switch to a new plan: parked messages in, nothing new read. */
bool sl_stream_unpark(struct sl_input *in)
{
    bool none = true;
    for (struct conn *c = stream_of(in)->conns; c != NULL; c = c->next) {
        if (!sl_input_retry(in, &c->parked))
            none = false;
    }
    return none;
}

void sl_stream_close(struct sl_input *in)
{
    struct stream *t = stream_of(in);
    if (t == NULL)
        return;
    while (t->conns != NULL)
        conn_close(in, t->conns);
    sl_peers_free(&t->peers);
    close(t->lfd);
    free(t);
    in->impl = NULL;
}
/* }=== */

/* A listener, and a connection each. */
unsigned sl_stream_descriptors(const struct sl_input_conf *c)
{
    return 1 + c->max_connections;
}
