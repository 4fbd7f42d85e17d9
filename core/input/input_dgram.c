/* SPDX-License-Identifier: MIT */
/*
 * input_dgram.c: one recvmmsg() call reads up to VLEN datagrams into slots
 * of max_message + TRAIL bytes (only touched pages cost memory), which
 * become one batch of messages. Trailing NULs and one trailing LF (CR LF)
 * are dropped, as senders like Python's SysLogHandler add them; what is
 * left past max_message is cut and counted as truncated. The slot's TRAIL
 * bytes are room for that ending, so that a message of exactly max_message
 * bytes and its LF is not taken for a longer one.
 *
 * Descriptors a sender passes (SCM_RIGHTS) are always closed: a syslog
 * datagram carries none, and the control buffer has room for two next to
 * the credentials, which a hostile sender could otherwise pile up in our
 * descriptor table, two per datagram. A kind with a reader
 * (sl_dgram_set_reader: the journal's memfds) gets room for
 * SL_DGRAM_MAX_FDS and sees them before they are closed. Received with
 * MSG_CMSG_CLOEXEC, so none leaks into a child even for that moment.
 *
 * Datagram sockets cannot be paused per sender: while messages are parked,
 * the socket is simply not read; a unix datagram sender then blocks in
 * send() (as with rsyslog), and the kernel drops udp, which SO_RXQ_OVFL
 * lets us count.
 */
#include "input/input_dgram.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#ifdef SO_MEMINFO
#include <linux/sock_diag.h> /* SK_MEMINFO_DROPS, SK_MEMINFO_RMEM_ALLOC */
#else
enum { SK_MEMINFO_RMEM_ALLOC, SK_MEMINFO_DROPS }; /* unread: meminfo() says false */
#endif

#include "common/clock.h"
#include "common/log.h"
#include "common/alloc.h"
#include "input/gather.h"

#define VLEN 32
#define TRAIL 4 /* CR LF NUL and one more NUL: an ending trim() drops */
#define BATCH 256 /* datagrams routed together; at most SL_DISPATCH_MAX */
/* A slot's bytes past this that a large datagram touched go back to the
 * kernel once it is read (the journal's max_message is 4 MiB: 32 slots of
 * it would otherwise stay resident after one burst of large entries). */
#define SLOT_RESIDENT (256 * 1024)
#define CTL_SIZE (CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(uint32_t)))
#define CTL_FDS_SIZE (CTL_SIZE + CMSG_SPACE(SL_DGRAM_MAX_FDS * sizeof(int)))

struct sl_dgram {
    int fd;
    bool with_peer;
    bool paused;
    bool slack_set; /* the input thread's timer slack is narrowed (gather) */
    struct sl_parked parked;
    struct sl_gather gather; /* the pause after a small read (coalesce) */
    size_t max;  /* max_message */
    size_t slot; /* max + TRAIL */
    char *bufs;
    sl_dgram_reader *read; /* NULL: syslog messages */
    void *read_arg;
    size_t ctl_len; /* CTL_SIZE, or CTL_FDS_SIZE with a reader */
    struct mmsghdr hdrs[VLEN];
    struct iovec iov[VLEN];
    struct sockaddr_storage addrs[VLEN];
    union {
        char buf[CTL_FDS_SIZE];
        struct cmsghdr align;
    } ctl[VLEN];
    /* The text of the last sender's address, reused while it repeats. */
    struct sockaddr_storage last_addr;
    socklen_t last_addr_len;
    size_t peer_len;
    char peer[64];
};

/* What the socket holds before its senders block (unix) or lose
 * datagrams (udp), in datagrams: the pause after a small read keeps within
 * half of it (gather.h). */
static size_t socket_room(int fd, bool udp)
{
    if (!udp)
        return sl_gather_unix_room();
    int rcvbuf = 0;
    socklen_t len = sizeof rcvbuf;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) < 0 || rcvbuf < 0)
        rcvbuf = 0;
    return sl_gather_udp_room((size_t)rcvbuf);
}

int sl_dgram_new(struct sl_input *in, int fd, bool with_peer, struct sl_dgram **out, char *err,
                 size_t errlen)
{
    struct sl_dgram *d = sl_calloc(1, sizeof *d);
    if (d != NULL) {
        d->fd = fd;
        d->with_peer = with_peer;
        d->max = in->conf->max_message;
        d->slot = d->max + TRAIL;
        d->ctl_len = CTL_SIZE;
        d->bufs = sl_malloc(d->slot * VLEN);
    }
    if (d == NULL || d->bufs == NULL) {
        snprintf(err, errlen, "input \"%s\": out of memory", in->conf->name);
        free(d);
        return -ENOMEM;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    if (!with_peer)
        setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    sl_gather_init(&d->gather, (int64_t)in->conf->coalesce_ms * 1000000, socket_room(fd, with_peer));
    int rc = sl_input_watch(in, fd, d, true);
    if (rc < 0) {
        snprintf(err, errlen, "input \"%s\": epoll_ctl() failed (%d: %s)", in->conf->name, -rc,
                 strerror(-rc));
        free(d->bufs);
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void sl_dgram_set_reader(struct sl_dgram *d, sl_dgram_reader *read, void *arg)
{
    d->read = read;
    d->read_arg = arg;
    d->ctl_len = CTL_FDS_SIZE;
}

void *sl_dgram_reader_arg(const struct sl_dgram *d)
{
    return d->read_arg;
}

void sl_dgram_free(struct sl_input *in, struct sl_dgram *d)
{
    if (d == NULL)
        return;
    sl_parked_drop(in, &d->parked);
    close(d->fd);
    free(d->bufs);
    free(d);
}

static void prepare(struct sl_dgram *d)
{
    for (int i = 0; i < VLEN; i++) {
        d->iov[i] = (struct iovec){d->bufs + (size_t)i * d->slot, d->slot};
        d->hdrs[i].msg_hdr = (struct msghdr){
            .msg_name = d->with_peer ? &d->addrs[i] : NULL,
            .msg_namelen = d->with_peer ? sizeof d->addrs[i] : 0,
            .msg_iov = &d->iov[i],
            .msg_iovlen = 1,
            .msg_control = d->ctl[i].buf,
            .msg_controllen = d->ctl_len,
        };
    }
}

static void peer_text(struct sl_dgram *d, const struct msghdr *h)
{
    if (h->msg_namelen == d->last_addr_len &&
        memcmp(h->msg_name, &d->last_addr, h->msg_namelen) == 0)
        return;
    memcpy(&d->last_addr, h->msg_name, h->msg_namelen);
    d->last_addr_len = h->msg_namelen;
    d->peer_len = sl_sockaddr_text(h->msg_name, d->peer, sizeof d->peer, false);
}

/* Raises *c to v, never lowers it: the input thread stores what a
 * datagram's SO_RXQ_OVFL said when it was queued, the main thread what
 * SO_MEMINFO says now (sl_dgram_refresh_stats), and the older of the two
 * must not win. */
static void store_max(atomic_uint_fast64_t *c, uint64_t v)
{
    uint_fast64_t cur = atomic_load_explicit(c, memory_order_relaxed);
    while (cur < v && !atomic_compare_exchange_weak_explicit(c, &cur, v, memory_order_relaxed,
                                                             memory_order_relaxed))
        ;
}

/* Closes the n descriptors of an SCM_RIGHTS message at data (unaligned). */
static void close_fds(const unsigned char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int fd;
        memcpy(&fd, data + i * sizeof fd, sizeof fd);
        close(fd);
    }
}

/* How many descriptors the SCM_RIGHTS message c holds. */
static size_t nfds_of(const struct cmsghdr *c)
{
    return (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
}

/* Reads the kernel's credentials and drop counter from the control data,
 * and closes what descriptors came (see the top). */
static void control_data(struct sl_input *in, struct msghdr *h, struct sl_msg *m)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level != SOL_SOCKET)
            continue;
        if (c->cmsg_type == SCM_CREDENTIALS && m != NULL) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            m->pid = cred.pid;
            m->uid = cred.uid;
            m->gid = cred.gid;
            m->flags |= SL_MSG_HAS_CRED;
        } else if (c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t drops;
            memcpy(&drops, CMSG_DATA(c), sizeof drops);
            store_max(&in->stats.kernel_drops, drops);
        } else if (c->cmsg_type == SCM_RIGHTS) {
            close_fds(CMSG_DATA(c), nfds_of(c));
        }
    }
}

/* A reader's datagram (sl_dgram_set_reader): its control data into pkt,
 * the reader's message, then every descriptor closed. */
static struct sl_msg *read_packet(struct sl_input *in, struct sl_dgram *d, struct msghdr *h,
                                  const char *p, size_t len)
{
    struct ucred cred;
    int fds[SL_DGRAM_MAX_FDS];
    struct sl_dgram_packet pkt = {
        .data = p, .len = len, .fds = fds,
        .cut = (h->msg_flags & MSG_TRUNC) != 0,
        .ctl_cut = (h->msg_flags & MSG_CTRUNC) != 0,
    };
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level != SOL_SOCKET)
            continue;
        if (c->cmsg_type == SCM_CREDENTIALS) {
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            pkt.cred = &cred;
        } else if (c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t drops;
            memcpy(&drops, CMSG_DATA(c), sizeof drops);
            store_max(&in->stats.kernel_drops, drops);
        } else if (c->cmsg_type == SCM_RIGHTS) {
            /* One SCM_RIGHTS message per datagram in practice; any past
             * the room are closed now, and the reader told (ctl_cut). */
            size_t n = nfds_of(c), take = n;
            if (take > SL_DGRAM_MAX_FDS - pkt.nfds) {
                take = SL_DGRAM_MAX_FDS - pkt.nfds;
                pkt.ctl_cut = true;
            }
            memcpy(fds + pkt.nfds, CMSG_DATA(c), take * sizeof(int));
            pkt.nfds += (unsigned)take;
            close_fds(CMSG_DATA(c) + take * sizeof(int), n - take);
        }
    }
    struct sl_msg *m = d->read(in, d->read_arg, &pkt);
    for (unsigned i = 0; i < pkt.nfds; i++)
        close(fds[i]);
    return m;
}

/* Gives back the pages of slot p past SLOT_RESIDENT that a datagram of
 * len bytes touched (see SLOT_RESIDENT); its message has its own copy.
 * Whole pages inside the slot only: madvise() rounds a length up, and the
 * page the datagram ends in may hold the next slot's unread datagram. */
static void release_slot(char *p, size_t len)
{
    if (len <= SLOT_RESIDENT)
        return;
    uintptr_t mask = (uintptr_t)sysconf(_SC_PAGESIZE) - 1;
    uintptr_t from = ((uintptr_t)p + SLOT_RESIDENT + mask) & ~mask;
    uintptr_t to = ((uintptr_t)p + len) & ~mask;
    if (to > from)
        madvise((void *)from, to - from, MADV_DONTNEED);
}

static size_t trim(const char *p, size_t len)
{
    while (len > 0 && p[len - 1] == '\0')
        len--;
    if (len > 0 && p[len - 1] == '\n')
        len--;
    if (len > 0 && p[len - 1] == '\r')
        len--;
    return len;
}

/* One recvmmsg() into batch[]: returns how many datagrams were read. */
static int receive(struct sl_input *in, struct sl_dgram *d, struct sl_msg **batch, size_t *nb)
{
    prepare(d);
    int n = recvmmsg(d->fd, d->hdrs, VLEN, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, NULL);
    if (n <= 0) {
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            sl_log(SL_LOG_WARNING, errno, "input \"%s\": recvmmsg() failed", in->conf->name);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        struct msghdr *h = &d->hdrs[i].msg_hdr;
        char *p = d->iov[i].iov_base;
        if (d->read != NULL) {
            struct sl_msg *m = read_packet(in, d, h, p, d->hdrs[i].msg_len);
            if (m != NULL)
                batch[(*nb)++] = m;
            release_slot(p, d->hdrs[i].msg_len);
            continue;
        }
        bool cut = (h->msg_flags & MSG_TRUNC) != 0; /* longer than the slot */
        size_t len = cut ? d->hdrs[i].msg_len : trim(p, d->hdrs[i].msg_len);
        if (len > d->max) {
            len = d->max;
            cut = true;
        }
        unsigned flags = cut ? SL_FRAME_TRUNCATED : 0;
        if (d->with_peer)
            peer_text(d, h);
        struct sl_msg *m = sl_input_message(in, p, len, d->with_peer ? d->peer : NULL,
                                            d->with_peer ? d->peer_len : 0, flags);
        control_data(in, h, m);
        if (m != NULL)
            batch[(*nb)++] = m;
    }
    return n;
}

static void pause_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/*
 * Reads until the socket is empty or BATCH datagrams are in, then, when
 * that is a small batch and the input coalesces, sleeps a bounded while
 * for more (gather.h) and reads again, and routes the whole in one go. A
 * unix socket holds only net.unix.max_dgram_qlen (often 10) datagrams:
 * dispatching each handful would cost a queue lock, a worker wake-up and a
 * write() per handful, while the sender, blocked, refills the socket as
 * fast as we empty it. The drain (gather false) never waits. Returns how
 * many datagrams were read, 0 when none.
 */
static size_t read_batch(struct sl_input *in, struct sl_dgram *d, bool gather)
{
    struct sl_msg *batch[BATCH];
    size_t nb = 0, nread = 0;
    int n;
    int64_t first = 0;
    for (;;) {
        do {
            size_t before = nb;
            n = receive(in, d, batch, &nb);
            nread += (size_t)n;
            /* What a sender's budget refuses goes at once (no-op without a
             * ratelimit key), not after the pause: the read counted them
             * received, and a reader of the stats sees suppressed agree. */
            nb = before + sl_input_ratelimit(in, batch + before, nb - before);
        } while (n > 0 && nb + VLEN <= BATCH);
        if (!gather || d->gather.window_ns == 0 || nread == 0 || nb + VLEN > BATCH)
            break;
        int64_t now = sl_now_ns();
        if (first == 0)
            first = now;
        int64_t pause = sl_gather_pause(&d->gather, nread, first, now);
        if (pause <= 0)
            break;
        if (!d->slack_set) {
            /* The thread's timer slack (50 µs by default) would stretch the
             * short pauses that keep a unix socket from filling. */
            prctl(PR_SET_TIMERSLACK, 10000UL);
            d->slack_set = true;
        }
        pause_ns(pause);
    }
    if (gather && nread > 0 && d->gather.window_ns > 0)
        sl_gather_routed(&d->gather, nread, sl_now_ns());
    if (nb > 0 && !sl_input_dispatch(in, batch, nb, &d->parked) && !d->paused) {
        d->paused = true;
        sl_input_watch(in, d->fd, d, false);
    }
    return nread;
}

void sl_dgram_event(struct sl_input *in, void *tag, uint32_t events)
{
    struct sl_dgram *d = tag;
    if (!d->paused)
        read_batch(in, d, true);
}

void sl_dgram_resume(struct sl_input *in)
{
    struct sl_dgram *d = in->impl;
    if (!d->paused || !sl_input_retry(in, &d->parked))
        return;
    d->paused = false;
    sl_input_watch(in, d->fd, d, true);
}

bool sl_dgram_unpark(struct sl_input *in)
{
    struct sl_dgram *d = in->impl;
    return sl_input_retry(in, &d->parked);
}

/* Reads the kernel's SK_MEMINFO counter `var` for the socket into *out;
 * false when the kernel does not say (no SO_MEMINFO, an older kernel). */
static bool meminfo(const struct sl_dgram *d, unsigned var, uint64_t *out)
{
#ifdef SO_MEMINFO
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t len = sizeof mem;
    if (getsockopt(d->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 && len > var * sizeof mem[0]) {
        *out = mem[var];
        return true;
    }
#endif
    (void)d, (void)var, (void)out;
    return false;
}

void sl_dgram_refresh_stats(struct sl_input *in)
{
    /* Without SO_MEMINFO the count comes with the next datagram read
     * (SO_RXQ_OVFL). */
    uint64_t drops;
    if (meminfo(in->impl, SK_MEMINFO_DROPS, &drops))
        store_max(&in->stats.kernel_drops, drops);
}

int sl_dgram_fd(const struct sl_dgram *d)
{
    return d->fd;
}

/* The bytes the socket's receive queue holds now, with the kernel's
 * overhead per datagram (so at least the payload queued); UINT64_MAX when
 * the kernel does not say. */
static uint64_t queued_bytes(const struct sl_dgram *d)
{
    uint64_t n;
    return meminfo(d, SK_MEMINFO_RMEM_ALLOC, &n) ? n : UINT64_MAX;
}

/* Reads what is queued and routes it, until the socket is empty, or
 * past the bytes (stats.bytes) or datagrams given, or the deadline. */
static void drain(struct sl_input *in, uint64_t bytes, size_t count)
{
    struct sl_dgram *d = in->impl;
    uint64_t start = atomic_load(&in->stats.bytes);
    size_t counted = 0;
    for (;;) {
        while (!sl_input_retry(in, &d->parked) && sl_input_may_wait(in))
            sl_input_wait_room(in);
        /* Past the deadline nothing more is read (input_stream.c's drain). */
        size_t n = 0;
        if (d->parked.n > 0 || !sl_input_may_wait(in) || (n = read_batch(in, d, false)) == 0)
            return;
        counted += n;
        if (atomic_load(&in->stats.bytes) - start >= bytes || counted >= count)
            return;
    }
}

void sl_dgram_drain(struct sl_input *in)
{
    struct sl_dgram *d = in->impl;
    /* What is buffered at the stop is what the kernel holds now: a sender
     * that keeps sending (a UDP flood, which nothing can pause) must not
     * keep the drain reading until the deadline. A UDP socket's kernel
     * counts the bytes queued. A unix one's does not (its datagrams are
     * charged to their senders: SK_MEMINFO_RMEM_ALLOC stays 0), but it
     * holds at most its room of them (max_dgram_qlen, 512 under systemd:
     * more than one batch). */
    if (d->with_peer)
        drain(in, queued_bytes(d), SIZE_MAX);
    else
        drain(in, UINT64_MAX, d->gather.room);
}

void sl_dgram_drain_shut(struct sl_input *in)
{
    /* Nothing arrives after the shutdown: what is queued is all there is. */
    drain(in, UINT64_MAX, SIZE_MAX);
}
