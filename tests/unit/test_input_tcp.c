/* SPDX-License-Identifier: MIT */
/*
 * test_input_tcp.c: input_tcp.c's connection code, driven through a fake
 * transport, without the daemon.
 *
 * This binary links input_tcp.c with framing.c and the common code, and
 * stands in for the rest at link time (as cmocka's examples swap a module):
 *  - sl_transport_plain, the transport the tcp kind opens with, is the fake
 *    below (transport_plain.c is not linked): each accepted connection takes
 *    the next script, whose reads hand out chosen slices, EAGAIN (for reading
 *    or for writing), the end of the stream or an error;
 *  - input.c's functions for the kinds (sl_input_message, dispatch, retry,
 *    watch, ...) are fakes that record frames and can play a full queue.
 * Connections are real loopback sockets (accept4() is real, and so is the
 * epoll set), but the bytes come from the script, not from the socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "input/input_impl.h"
#include "input/kind.h"
#include "input/transport.h"
#include "common/clock.h"

/* The tcp kind's ops: the one name this test takes from its ops table. */
extern const struct sl_input_kind sl_input_tcp;
#define TCP_OPS (&sl_input_tcp.ops)

/* {=== the fake transport */
enum step_kind { BYTES, AGAIN_READ, AGAIN_WRITE, END, BROKEN };

struct step {
    enum step_kind kind;
    const char *bytes; /* BYTES: NUL-terminated */
    int err;           /* BROKEN: a positive errno */
};

#define MAX_STEPS 64

struct script {
    struct step steps[MAX_STEPS];
    size_t nsteps, next;
    int accept_rc;   /* what accept() returns */
    unsigned reads;  /* read() calls */
    bool shut, closed;
    int fd;
};

/* Test state: the scripts the next connections take, and what the fakes saw. */
static struct {
    struct script *pending[8];
    size_t npending;
    struct sl_msgpool pool;
    char frames[64][256];
    size_t nframes;
    bool full;          /* the fake queue takes nothing */
    bool may_wait;      /* sl_input_may_wait() */
    size_t dropped;     /* by sl_parked_drop() */
    void *tag_of[1024]; /* by fd: the tag watched, NULL when not watched */
    int port;
} g;

static int fake_accept(struct sl_transport_conn *c, void *ctx, char *err, size_t errlen)
{
    assert_null(ctx); /* the tcp kind has no listener state for this transport */
    assert_null(c->state);
    assert_true(g.npending > 0);
    struct script *s = g.pending[0];
    memmove(g.pending, g.pending + 1, --g.npending * sizeof g.pending[0]);
    s->fd = c->fd;
    if (s->accept_rc < 0) {
        snprintf(err, errlen, "the script refuses");
        return s->accept_rc;
    }
    c->state = s;
    return 0;
}

static ssize_t fake_read(struct sl_transport_conn *c, char *buf, size_t len, unsigned *want)
{
    struct script *s = c->state;
    s->reads++;
    if (s->next == s->nsteps) {
        *want = SL_TRANSPORT_WANT_READ;
        return -EAGAIN;
    }
    struct step *st = &s->steps[s->next];
    switch (st->kind) {
    case BYTES: {
        size_t n = strlen(st->bytes);
        if (n > len) { /* the rest on the next read */
            memcpy(buf, st->bytes, len);
            st->bytes += len;
            return (ssize_t)len;
        }
        memcpy(buf, st->bytes, n);
        s->next++;
        return (ssize_t)n;
    }
    case AGAIN_READ: s->next++; *want = SL_TRANSPORT_WANT_READ; return -EAGAIN;
    case AGAIN_WRITE: s->next++; *want = SL_TRANSPORT_WANT_WRITE; return -EAGAIN;
    case END: s->next++; return 0;
    case BROKEN: s->next++; return -st->err;
    }
    return -EINVAL;
}

static ssize_t fake_write(struct sl_transport_conn *c, const char *buf, size_t len, unsigned *want)
{
    fail_msg("the tcp input writes nothing yet");
    return -EINVAL;
}

static void fake_shutdown(struct sl_transport_conn *c)
{
    struct script *s = c->state;
    assert_false(s->closed);
    s->shut = true;
}

static void fake_close(struct sl_transport_conn *c)
{
    struct script *s = c->state;
    assert_false(s->closed);
    s->closed = true;
    close(c->fd);
}

const struct sl_transport sl_transport_plain = {
    .name = "fake",
    .accept = fake_accept,
    .read = fake_read,
    .write = fake_write,
    .shutdown = fake_shutdown,
    .close = fake_close,
};
/* }=== */

/* {=== input.c's side, faked */
struct sl_msg *sl_input_message(struct sl_input *in, const char *raw, size_t len,
                                const char *peer, size_t peer_len, unsigned flags)
{
    assert_true(g.nframes < 64 && len < 256);
    memcpy(g.frames[g.nframes], raw, len);
    g.frames[g.nframes++][len] = '\0';
    return sl_msg_new(&g.pool, raw, len, peer, peer_len);
}

static void park(struct sl_parked *p, struct sl_msg *m)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->v = realloc(p->v, p->cap * sizeof *p->v);
        assert_non_null(p->v);
    }
    p->v[p->n++] = (struct sl_parked_entry){m, 0};
}

bool sl_input_dispatch(struct sl_input *in, struct sl_msg **msgs, size_t n,
                       struct sl_parked *parked)
{
    for (size_t i = 0; i < n; i++) {
        if (g.full)
            park(parked, msgs[i]);
        else
            sl_msg_unref(msgs[i]);
    }
    return !g.full || n == 0;
}

bool sl_input_retry(struct sl_input *in, struct sl_parked *parked)
{
    if (g.full)
        return parked->n == 0;
    for (size_t i = 0; i < parked->n; i++)
        sl_msg_unref(parked->v[i].m);
    parked->n = 0;
    return true;
}

void sl_parked_drop(struct sl_input *in, struct sl_parked *parked)
{
    for (size_t i = 0; i < parked->n; i++)
        sl_msg_unref(parked->v[i].m);
    g.dropped += parked->n;
    free(parked->v);
    *parked = (struct sl_parked){0};
}

int sl_input_watch(struct sl_input *in, int fd, void *tag, bool on)
{
    assert_true(fd >= 0 && fd < 1024);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
    if (epoll_ctl(in->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) < 0)
        return -errno;
    g.tag_of[fd] = on ? tag : NULL;
    return 0;
}

int sl_input_bind_inet(struct sl_input *in, int socktype, char *err, size_t errlen)
{
    int fd = socket(AF_INET, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    g.port = ntohs(a.sin_port);
    return fd;
}

size_t sl_sockaddr_text(const void *sa, char *buf, size_t len, bool with_port)
{
    return (size_t)snprintf(buf, len, "peer");
}

bool sl_input_may_wait(struct sl_input *in)
{
    return g.may_wait;
}

void sl_input_wait_room(struct sl_input *in)
{
}

/* sink.c's today; weak, so that a copy moved into the common code wins. */
__attribute__((weak)) int64_t sl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
/* }=== */

/* {=== fixture */
struct fx {
    struct sl_input in;
    struct sl_input_conf conf;
    int clients[8];
    size_t nclients;
    struct script scripts[8]; /* the connections' scripts outlive the test body */
    size_t nscripts;
};

/* A new, empty script. */
static struct script *script(struct fx *f)
{
    assert_true(f->nscripts < 8);
    return &f->scripts[f->nscripts++];
}

static int setup(void **state)
{
    memset(&g, 0, sizeof g);
    sl_msgpool_init(&g.pool, "tcp");
    struct fx *f = calloc(1, sizeof *f);
    f->conf = (struct sl_input_conf){.name = "tcp", .max_message = 64, .max_connections = 8};
    f->in.conf = &f->conf;
    f->in.ops = TCP_OPS;
    f->in.epfd = epoll_create1(EPOLL_CLOEXEC);
    assert_true(f->in.epfd >= 0);
    char err[256];
    assert_int_equal(f->in.ops->open(&f->in, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    f->in.ops->close(&f->in);
    for (size_t i = 0; i < f->nclients; i++)
        close(f->clients[i]);
    close(f->in.epfd);
    sl_msgpool_release(&g.pool);
    free(f);
    return 0;
}

/* A connection that will play s: a client connects, the input accepts.
 * Returns the tag its events come with (NULL when it was not kept). */
static void *connect_with(struct fx *f, struct script *s)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    f->clients[f->nclients++] = fd;
    g.pending[g.npending++] = s;
    f->in.ops->event(&f->in, f->in.impl, EPOLLIN);
    assert_int_equal(g.npending, 0);
    return s->fd >= 0 && s->fd < 1024 ? g.tag_of[s->fd] : NULL;
}

static void add(struct script *s, enum step_kind k, const char *bytes, int err)
{
    assert_true(s->nsteps < MAX_STEPS);
    s->steps[s->nsteps++] = (struct step){k, bytes, err};
}

/* Adds `text` as reads of `slice` bytes each. */
static void add_sliced(struct script *s, const char *text, size_t slice)
{
    static char pieces[4096];
    static size_t used;
    for (size_t off = 0, n = strlen(text); off < n; off += slice) {
        size_t k = n - off < slice ? n - off : slice;
        assert_true(used + k + 1 <= sizeof pieces);
        memcpy(pieces + used, text + off, k);
        pieces[used + k] = '\0';
        add(s, BYTES, pieces + used, 0);
        used += k + 1;
    }
}

/* One readiness event per remaining step: the connection reads once each. */
static void run(struct fx *f, void *tag, struct script *s)
{
    while (s->next < s->nsteps && !s->closed)
        f->in.ops->event(&f->in, tag, EPOLLIN);
}

static uint64_t stat_of(atomic_uint_fast64_t *c)
{
    return atomic_load(c);
}
/* }=== */

static void octet_counted_frames_in_one_byte_reads(void **state)
{
    struct fx *f = *state;
    struct script *s = script(f);
    add_sliced(s, "9 <13>hello4 <1>x", 1);
    void *tag = connect_with(f, s);
    assert_non_null(tag);
    run(f, tag, s);
    assert_int_equal(s->reads, s->nsteps); /* one read per event */
    assert_int_equal(g.nframes, 2);
    assert_string_equal(g.frames[0], "<13>hello");
    assert_string_equal(g.frames[1], "<1>x");
    assert_false(s->closed);
    assert_int_equal(stat_of(&f->in.stats.connections), 1);
}

static void lf_frames_split_and_joined_across_reads(void **state)
{
    struct fx *f = *state;
    struct script *s = script(f);
    add(s, BYTES, "<13>a\n<13>b", 0);
    add(s, BYTES, "b\n<13>c\n<13", 0);
    add(s, BYTES, ">d\n", 0);
    void *tag = connect_with(f, s);
    run(f, tag, s);
    assert_int_equal(g.nframes, 4);
    assert_string_equal(g.frames[0], "<13>a");
    assert_string_equal(g.frames[1], "<13>bb");
    assert_string_equal(g.frames[2], "<13>c");
    assert_string_equal(g.frames[3], "<13>d");
}

static void would_block_keeps_the_connection_and_its_bytes(void **state)
{
    struct fx *f = *state;
    struct script *s = script(f);
    add(s, BYTES, "<13>par", 0);
    add(s, AGAIN_READ, NULL, 0);
    add(s, BYTES, "tial\n", 0);
    void *tag = connect_with(f, s);
    run(f, tag, s);
    assert_int_equal(g.nframes, 1);
    assert_string_equal(g.frames[0], "<13>partial");
    assert_false(s->closed);
    assert_ptr_equal(g.tag_of[s->fd], tag); /* still watched */
}

static void peer_closing_mid_frame_is_a_framing_error(void **state)
{
    struct fx *f = *state;
    struct script *s = script(f);
    add(s, BYTES, "5 <13>a20 <13>sh", 0);
    add(s, BYTES, "ort", 0);
    add(s, END, NULL, 0);
    void *tag = connect_with(f, s);
    run(f, tag, s);
    assert_int_equal(g.nframes, 1); /* what came before, not the cut frame */
    assert_string_equal(g.frames[0], "<13>a");
    assert_int_equal(stat_of(&f->in.stats.framing_errors), 1);
    assert_true(s->shut);
    assert_true(s->closed);
    assert_int_equal(stat_of(&f->in.stats.connections), 0);
}

static void end_of_stream_ends_a_last_frame_without_lf(void **state)
{
    struct fx *f = *state;
    struct script *s = script(f);
    add(s, BYTES, "<13>one\n<13>last", 0);
    add(s, END, NULL, 0);
    void *tag = connect_with(f, s);
    run(f, tag, s);
    assert_int_equal(g.nframes, 2);
    assert_string_equal(g.frames[1], "<13>last");
    assert_int_equal(stat_of(&f->in.stats.framing_errors), 0);
    assert_true(s->closed);
}

static void a_broken_stream_delivers_what_came_before(void **state)
{
    struct fx *f = *state;
    struct script *s = script(f);
    add(s, BYTES, "<13>x\n<13>y", 0);
    add(s, BROKEN, NULL, ECONNRESET);
    add(s, BYTES, "<13>never\n", 0);
    void *tag = connect_with(f, s);
    run(f, tag, s);
    assert_int_equal(g.nframes, 2);
    assert_string_equal(g.frames[0], "<13>x");
    assert_string_equal(g.frames[1], "<13>y");
    assert_int_equal(stat_of(&f->in.stats.framing_errors), 0);
    assert_true(s->closed);
    assert_int_equal(s->next, 2); /* nothing read after the error */
}

/* What the epoll set reports for the connection now, without waiting. */
static uint32_t ready_events(struct fx *f, void *tag)
{
    struct epoll_event ev[4];
    int n = epoll_wait(f->in.epfd, ev, 4, 0);
    for (int i = 0; i < n; i++) {
        if (ev[i].data.ptr == tag)
            return ev[i].events;
    }
    return 0;
}

/* A transport that must write before it can read (TLS) gets EPOLLOUT in
 * the interest, is read again when writable, and loses EPOLLOUT as soon as
 * a read returns something else (level-triggered, it would spin). */
static void want_write_adds_epollout_until_a_read_returns(void **state)
{
    struct fx *f = *state;
    struct script *s = script(f);
    add(s, AGAIN_WRITE, NULL, 0);
    add(s, BYTES, "<13>after\n", 0);
    void *tag = connect_with(f, s);
    assert_int_equal(ready_events(f, tag), 0); /* nothing sent, not asked to write */
    f->in.ops->event(&f->in, tag, EPOLLIN);
    assert_true(ready_events(f, tag) & EPOLLOUT); /* a connected socket is writable */
    f->in.ops->event(&f->in, tag, EPOLLOUT);
    assert_int_equal(g.nframes, 1);
    assert_string_equal(g.frames[0], "<13>after");
    assert_int_equal(ready_events(f, tag), 0);
}

/* A connection watched again after a pause can still ask for EPOLLOUT:
 * the interest is changed on the fd as it is now in the set. */
static void want_write_after_a_pause(void **state)
{
    struct fx *f = *state;
    struct script *s = script(f);
    add(s, BYTES, "<13>a\n", 0);
    add(s, AGAIN_WRITE, NULL, 0);
    add(s, BYTES, "<13>b\n", 0);
    void *tag = connect_with(f, s);
    g.full = true;
    f->in.ops->event(&f->in, tag, EPOLLIN); /* a parked: paused */
    assert_null(g.tag_of[s->fd]);
    g.full = false;
    f->in.ops->resume(&f->in);
    assert_ptr_equal(g.tag_of[s->fd], tag);
    f->in.ops->event(&f->in, tag, EPOLLIN);
    assert_true(ready_events(f, tag) & EPOLLOUT);
    f->in.ops->event(&f->in, tag, EPOLLOUT);
    assert_int_equal(ready_events(f, tag), 0);
    assert_int_equal(g.nframes, 2);
}

static void a_parked_connection_is_not_read_until_room(void **state)
{
    struct fx *f = *state;
    struct script *s = script(f);
    add(s, BYTES, "<13>a\n<13>b", 0);
    add(s, BYTES, "\n", 0);
    void *tag = connect_with(f, s);
    g.full = true;
    f->in.ops->event(&f->in, tag, EPOLLIN);
    assert_int_equal(g.nframes, 1);
    assert_null(g.tag_of[s->fd]); /* out of the epoll set */
    unsigned reads = s->reads;
    f->in.ops->event(&f->in, tag, EPOLLIN); /* a stale event: not read */
    assert_int_equal(s->reads, reads);
    f->in.ops->resume(&f->in); /* still full: stays paused */
    assert_null(g.tag_of[s->fd]);
    g.full = false;
    f->in.ops->resume(&f->in);
    assert_ptr_equal(g.tag_of[s->fd], tag);
    run(f, tag, s);
    assert_int_equal(g.nframes, 2);
    assert_string_equal(g.frames[1], "<13>b");
}

static void a_failed_setup_closes_the_connection(void **state)
{
    struct fx *f = *state;
    struct script *bad = script(f);
    bad->accept_rc = -EPROTO;
    assert_null(connect_with(f, bad));
    assert_int_equal(stat_of(&f->in.stats.connections), 0);
    assert_int_equal(stat_of(&f->in.stats.accepted), 0);
    assert_false(bad->shut); /* never set up: not the transport's to close */
    assert_false(bad->closed);
    /* The client sees the close. */
    struct pollfd p = {.fd = f->clients[0], .events = POLLIN};
    assert_int_equal(poll(&p, 1, 1000), 1);
    char c;
    assert_int_equal(recv(f->clients[0], &c, 1, 0), 0);
    /* The next connection is fine. */
    struct script *good = script(f);
    add(good, BYTES, "<13>ok\n", 0);
    void *tag = connect_with(f, good);
    run(f, tag, good);
    assert_int_equal(g.nframes, 1);
    assert_int_equal(stat_of(&f->in.stats.accepted), 1);
}

static void drain_reads_to_the_end(void **state)
{
    struct fx *f = *state;
    struct script *s = script(f);
    add(s, BYTES, "<13>a\n<13>b", 0);
    add(s, AGAIN_READ, NULL, 0);
    add(s, BYTES, "\n<13>c", 0);
    add(s, END, NULL, 0);
    connect_with(f, s);
    /* The fake's bytes are not the socket's; a byte there lets the drain's
     * poll() after the would-block see the sender still sending. */
    assert_int_equal(send(f->clients[0], "x", 1, 0), 1);
    g.may_wait = true;
    f->in.ops->drain(&f->in);
    assert_int_equal(g.nframes, 3);
    assert_string_equal(g.frames[2], "<13>c");
    assert_int_equal(s->next, s->nsteps);
}

/* A drain whose transport must write first waits for the socket to be
 * writable, not readable: a connected socket is writable at once, so the
 * drain goes on reading (waiting for POLLIN, it would give up after 100 ms
 * and lose what follows). */
static void drain_waits_for_what_the_transport_wants(void **state)
{
    struct fx *f = *state;
    struct script *s = script(f);
    add(s, BYTES, "<13>a\n", 0);
    add(s, AGAIN_WRITE, NULL, 0);
    add(s, BYTES, "<13>b\n", 0);
    add(s, END, NULL, 0);
    connect_with(f, s);
    g.may_wait = true;
    f->in.ops->drain(&f->in);
    assert_int_equal(g.nframes, 2);
    assert_string_equal(g.frames[1], "<13>b");
    assert_int_equal(s->next, s->nsteps);
}

static void close_shuts_down_every_connection(void **state)
{
    struct fx *f = *state;
    struct script *a = script(f), *b = script(f);
    connect_with(f, a);
    connect_with(f, b);
    assert_int_equal(stat_of(&f->in.stats.connections), 2);
    f->in.ops->close(&f->in);
    assert_true(a->shut && a->closed && b->shut && b->closed);
    assert_int_equal(stat_of(&f->in.stats.connections), 0);
    assert_null(f->in.impl); /* teardown's close is a no-op now */
}

static bool listener_watched(struct fx *f)
{
    for (size_t i = 0; i < 1024; i++) {
        if (g.tag_of[i] == f->in.impl)
            return true;
    }
    return false;
}

/* accept4() failing with EMFILE takes the listener out of the epoll set
 * (level-triggered, it would stay readable and spin the loop), counts it,
 * and a tick after the back-off puts it back, when the waiting connection
 * is taken. */
static void out_of_descriptors_pauses_accepting(void **state)
{
    struct fx *f = *state;
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(client, (struct sockaddr *)&a, sizeof a), 0);
    f->clients[f->nclients++] = client;
    /* Every descriptor below a lowered limit taken. */
    int held[64], nheld = 0;
    struct rlimit low = {.rlim_cur = (rlim_t)client + 8, .rlim_max = old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    for (int fd; nheld < 64 && (fd = dup(client)) >= 0;)
        held[nheld++] = fd;
    assert_int_equal(errno, EMFILE);
    f->in.ops->event(&f->in, f->in.impl, EPOLLIN);
    assert_false(listener_watched(f));
    assert_int_equal(stat_of(&f->in.stats.refused_fds), 1);
    assert_int_equal(stat_of(&f->in.stats.connections), 0);
    for (int i = 0; i < nheld; i++)
        close(held[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    nanosleep(&(struct timespec){0, 150 * 1000000}, NULL); /* past the back-off */
    f->in.ops->tick(&f->in);
    assert_true(listener_watched(f));
    struct script *s = script(f);
    g.pending[g.npending++] = s;
    f->in.ops->event(&f->in, f->in.impl, EPOLLIN);
    assert_int_equal(g.npending, 0);
    assert_int_equal(stat_of(&f->in.stats.connections), 1);
}

/* A connection handed a descriptor within the reserve of the limit is
 * closed at once and counted: the rest of the daemon keeps a few. */
static void a_connection_in_the_descriptor_reserve_is_refused(void **state)
{
    struct fx *f = *state;
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    f->in.ops->close(&f->in); /* reopened below the lowered limit */
    int probe = dup(0);
    close(probe);
    struct rlimit low = {.rlim_cur = (rlim_t)probe + 10, .rlim_max = old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    char err[256];
    assert_int_equal(f->in.ops->open(&f->in, err, sizeof err), 0); /* the listener: probe */
    /* The client takes probe + 1; accepted, probe + 2 is within 8 of the limit. */
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(client, (struct sockaddr *)&a, sizeof a), 0);
    f->clients[f->nclients++] = client;
    f->in.ops->event(&f->in, f->in.impl, EPOLLIN);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(stat_of(&f->in.stats.refused_fds), 1);
    assert_int_equal(stat_of(&f->in.stats.connections), 0);
    assert_true(listener_watched(f)); /* refusing is no reason to stop accepting */
    struct pollfd p = {.fd = client, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 1000), 1);
    char c;
    assert_true(recv(client, &c, 1, 0) <= 0); /* the client sees the close */
}

/* One address past max_connections_per_peer is refused; counted apart. */
static void a_peer_past_its_limit_is_refused(void **state)
{
    struct fx *f = *state;
    f->conf.max_connections_per_peer = 2;
    connect_with(f, script(f));
    connect_with(f, script(f));
    assert_int_equal(stat_of(&f->in.stats.connections), 2);
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(client, (struct sockaddr *)&a, sizeof a), 0);
    f->clients[f->nclients++] = client;
    f->in.ops->event(&f->in, f->in.impl, EPOLLIN); /* takes no script: refused first */
    assert_int_equal(stat_of(&f->in.stats.refused_per_peer), 1);
    assert_int_equal(stat_of(&f->in.stats.refused), 0);
    assert_int_equal(stat_of(&f->in.stats.connections), 2);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(octet_counted_frames_in_one_byte_reads),
        T(lf_frames_split_and_joined_across_reads),
        T(would_block_keeps_the_connection_and_its_bytes),
        T(peer_closing_mid_frame_is_a_framing_error),
        T(end_of_stream_ends_a_last_frame_without_lf),
        T(a_broken_stream_delivers_what_came_before),
        T(want_write_adds_epollout_until_a_read_returns),
        T(want_write_after_a_pause),
        T(a_parked_connection_is_not_read_until_room),
        T(a_failed_setup_closes_the_connection),
        T(drain_reads_to_the_end),
        T(drain_waits_for_what_the_transport_wants),
        T(close_shuts_down_every_connection),
        T(out_of_descriptors_pauses_accepting),
        T(a_connection_in_the_descriptor_reserve_is_refused),
        T(a_peer_past_its_limit_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
