/* SPDX-License-Identifier: MIT */
/*
 * ceiling.c: the physical limit the benchmark holds the daemons against
 * (see tests/bench/README.md).
 *
 *     ceiling --proto tcp|udp|unix --listen ADDR --out FILE
 *
 * Accepts syslog traffic and copies the bytes to FILE without parsing them:
 * what a daemon could at best do with the same kernel, disk and sender.
 *
 * tcp: listens on HOST:PORT or [V6]:PORT (port 0 for a free one), epoll over
 * any number of connections, read()s up to 256 KiB and write()s it to FILE.
 * Only newline-framed senders make sense here: bytes are copied as they are.
 * So that lines from different connections never interleave mid-line, each
 * write stops after the chunk's last '\n' and the partial line waits for the
 * connection's next read (or its end).
 * udp, unix (a SOCK_DGRAM socket at path ADDR, like /dev/log; a stale socket
 * there is removed first): recvmmsg() batches of 256 datagrams, each
 * appended with a '\n' to one buffer that goes out in one write().
 *
 * FILE is opened O_WRONLY|O_CREAT|O_TRUNC|O_APPEND. Once bound, one line
 * goes to stdout: "listening on 127.0.0.1:PORT" (the real port) or
 * "listening on PATH". SIGTERM or SIGINT end it cleanly with status 0, after
 * writing out any partial lines it holds. Single-threaded by design.
 */
/* config.h (included by the build) defines _GNU_SOURCE for recvmmsg(). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hostport.h"

#define CHUNK (256 * 1024)        /* tcp read size */
#define DGRAM_BATCH 256
#define DGRAM_MAX 65536           /* larger datagrams are truncated */
#define DGRAM_ROUNDS 64           /* recvmmsg() calls per wakeup, so signals get a turn */

enum proto { PROTO_TCP, PROTO_UDP, PROTO_UNIX };
enum kind { KIND_SIGNAL, KIND_LISTEN, KIND_CONN, KIND_DGRAM };

/* One watched descriptor; epoll_event.data.ptr points at it. A connection's
 * carry holds its partial last line (owned, freed with the connection);
 * open connections are linked from `conns` so the end can flush them. */
struct watch {
    enum kind kind;
    int fd;
    char *carry;
    size_t carry_len;
    size_t carry_cap;
    struct watch *prev, *next;
};

static struct watch *conns;

static int out_fd = -1;
static const char *out_path;

static void usage(void)
{
    fprintf(stderr, "usage: ceiling --proto tcp|udp|unix --listen ADDR --out FILE\n");
}

/* Writes all of buf to FILE, or exits: a ceiling that lost bytes is no
 * measurement. */
static void write_out(const char *buf, size_t len)
{
    if (len == 0)
        return;
    while (len > 0) {
        ssize_t w = write(out_fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "ceiling: write() \"%s\" failed (%d: %s)\n", out_path, errno,
                    strerror(errno));
            exit(1);
        }
        buf += w;
        len -= (size_t)w;
    }
}

/* {=== binding */
/* A bound (and for tcp listening) non-blocking socket; prints the
 * "listening on" line. Exits on failure. */
static int open_listener(enum proto proto, const char *addr)
{
    if (proto == PROTO_UNIX) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        if (strlen(addr) >= sizeof sun.sun_path) {
            fprintf(stderr, "ceiling: socket path too long: \"%s\"\n", addr);
            exit(2);
        }
        strcpy(sun.sun_path, addr);
        struct stat st;
        if (lstat(addr, &st) == 0) {
            if (!S_ISSOCK(st.st_mode)) {
                fprintf(stderr, "ceiling: \"%s\" exists and is not a socket\n", addr);
                exit(1);
            }
            unlink(addr);
        }
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
            fprintf(stderr, "ceiling: bind() \"%s\" failed (%d: %s)\n", addr, errno,
                    strerror(errno));
            exit(1);
        }
        int sz = 8 * 1024 * 1024; /* capped at rmem_max */
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        printf("listening on %s\n", addr);
        fflush(stdout);
        return fd;
    }

    char host[256];
    const char *port;
    if (split_hostport(addr, host, sizeof host, &port) < 0) {
        fprintf(stderr, "ceiling: --listen wants HOST:PORT or [IPV6]:PORT: \"%s\"\n", addr);
        usage();
        exit(2);
    }
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = proto == PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM,
        .ai_flags = AI_NUMERICSERV | AI_PASSIVE,
    };
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "ceiling: getaddrinfo() \"%s\" failed (%s)\n", addr, gai_strerror(rc));
        exit(1);
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "ceiling: socket() failed (%d: %s)\n", errno, strerror(errno));
        exit(1);
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        fprintf(stderr, "ceiling: bind() \"%s\" failed (%d: %s)\n", addr, errno,
                strerror(errno));
        exit(1);
    }
    freeaddrinfo(ai);
    if (proto == PROTO_TCP && listen(fd, 1024) < 0) {
        fprintf(stderr, "ceiling: listen() \"%s\" failed (%d: %s)\n", addr, errno,
                strerror(errno));
        exit(1);
    }
    if (proto == PROTO_UDP) {
        int sz = 8 * 1024 * 1024; /* capped at rmem_max */
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }

    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char text[INET6_ADDRSTRLEN] = "?";
    unsigned bound_port = 0;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
        bound_port = ntohs(sin->sin_port);
        printf("listening on %s:%u\n", text, bound_port);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
        bound_port = ntohs(sin6->sin6_port);
        printf("listening on [%s]:%u\n", text, bound_port);
    }
    fflush(stdout);
    return fd;
}
/* }=== */

/* {=== tcp */
static void watch_add(int ep, struct watch *w)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, w->fd, &ev) < 0) {
        fprintf(stderr, "ceiling: epoll_ctl() failed (%d: %s)\n", errno, strerror(errno));
        exit(1);
    }
}

static void accept_all(int ep, struct watch *lw)
{
    for (;;) {
        int fd = accept4(lw->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fprintf(stderr, "ceiling: accept4() failed (%d: %s)\n", errno,
                        strerror(errno));
            return;
        }
        struct watch *w = calloc(1, sizeof *w);
        if (w == NULL) {
            fprintf(stderr, "ceiling: out of memory\n");
            exit(1);
        }
        w->kind = KIND_CONN;
        w->fd = fd;
        watch_add(ep, w);
        w->next = conns;
        if (conns != NULL)
            conns->prev = w;
        conns = w;
    }
}

static void conn_close(struct watch *w)
{
    write_out(w->carry, w->carry_len);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        conns = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    close(w->fd); /* also leaves the epoll set */
    free(w->carry);
    free(w);
}

/* One read from a connection into buf (CHUNK bytes), behind its carry. */
static void conn_read(struct watch *w, char *buf)
{
    if (w->carry_len > 0)
        memcpy(buf, w->carry, w->carry_len);
    ssize_t r = read(w->fd, buf + w->carry_len, CHUNK - w->carry_len);
    if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (r <= 0) { /* end of stream or ECONNRESET: keep what came */
        conn_close(w);
        return;
    }
    size_t len = w->carry_len + (size_t)r;
    const char *nl = memrchr(buf, '\n', len);
    size_t whole = nl != NULL ? (size_t)(nl - buf) + 1 : 0;
    if (whole == 0 && len == CHUNK)
        whole = len; /* a line longer than a chunk: copy it in pieces */
    write_out(buf, whole);
    w->carry_len = len - whole;
    if (w->carry_len > w->carry_cap) {
        char *c = realloc(w->carry, CHUNK);
        if (c == NULL) {
            fprintf(stderr, "ceiling: out of memory\n");
            exit(1);
        }
        w->carry = c;
        w->carry_cap = CHUNK;
    }
    if (w->carry_len > 0)
        memcpy(w->carry, buf + whole, w->carry_len);
}
/* }=== */

/* {=== datagrams */
struct dgram {
    struct mmsghdr msgs[DGRAM_BATCH];
    struct iovec iov[DGRAM_BATCH];
    char *slots;                  /* DGRAM_BATCH x DGRAM_MAX */
    char *out;                    /* DGRAM_BATCH x (DGRAM_MAX + 1) */
};

static struct dgram *dgram_new(void)
{
    struct dgram *d = calloc(1, sizeof *d);
    if (d == NULL || (d->slots = malloc((size_t)DGRAM_BATCH * DGRAM_MAX)) == NULL ||
        (d->out = malloc((size_t)DGRAM_BATCH * (DGRAM_MAX + 1))) == NULL) {
        fprintf(stderr, "ceiling: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < DGRAM_BATCH; i++) {
        d->iov[i] = (struct iovec){ .iov_base = d->slots + (size_t)i * DGRAM_MAX,
                                    .iov_len = DGRAM_MAX };
        d->msgs[i].msg_hdr.msg_iov = &d->iov[i];
        d->msgs[i].msg_hdr.msg_iovlen = 1;
    }
    return d;
}

static void dgram_read(struct dgram *d, int fd)
{
    for (int round = 0; round < DGRAM_ROUNDS; round++) {
        int r = recvmmsg(fd, d->msgs, DGRAM_BATCH, MSG_DONTWAIT, NULL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fprintf(stderr, "ceiling: recvmmsg() failed (%d: %s)\n", errno,
                        strerror(errno));
            return;
        }
        char *p = d->out;
        for (int i = 0; i < r; i++) {
            size_t n = d->msgs[i].msg_len;
            memcpy(p, d->iov[i].iov_base, n);
            p += n;
            *p++ = '\n';
        }
        write_out(d->out, (size_t)(p - d->out));
        if (r < DGRAM_BATCH)
            return;
    }
}
/* }=== */

int main(int argc, char **argv)
{
    const char *proto_name = NULL, *listen_addr = NULL;
    static const struct option longopts[] = {
        { "proto", required_argument, NULL, 'p' },
        { "listen", required_argument, NULL, 'l' },
        { "out", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            proto_name = optarg;
            break;
        case 'l':
            listen_addr = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 2;
        }
    }
    if (optind < argc || proto_name == NULL || listen_addr == NULL || out_path == NULL) {
        usage();
        return 2;
    }
    enum proto proto;
    if (strcmp(proto_name, "tcp") == 0) {
        proto = PROTO_TCP;
    } else if (strcmp(proto_name, "udp") == 0) {
        proto = PROTO_UDP;
    } else if (strcmp(proto_name, "unix") == 0) {
        proto = PROTO_UNIX;
    } else {
        fprintf(stderr, "ceiling: --proto wants tcp, udp or unix: \"%s\"\n", proto_name);
        usage();
        return 2;
    }

    out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) {
        fprintf(stderr, "ceiling: open() \"%s\" failed (%d: %s)\n", out_path, errno,
                strerror(errno));
        return 1;
    }

    /* Signals arrive through a signalfd in the epoll set: no race between
     * checking a flag and sleeping in epoll_wait(). */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    struct watch sw = { .kind = KIND_SIGNAL, .fd = signalfd(-1, &mask, SFD_CLOEXEC) };
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (sw.fd < 0 || ep < 0) {
        fprintf(stderr, "ceiling: signalfd()/epoll_create1() failed (%d: %s)\n", errno,
                strerror(errno));
        return 1;
    }
    watch_add(ep, &sw);

    struct watch lw = { .kind = proto == PROTO_TCP ? KIND_LISTEN : KIND_DGRAM,
                        .fd = open_listener(proto, listen_addr) };
    watch_add(ep, &lw);
    char *buf = proto == PROTO_TCP ? malloc(CHUNK) : NULL;
    struct dgram *d = proto == PROTO_TCP ? NULL : dgram_new();
    if (proto == PROTO_TCP && buf == NULL) {
        fprintf(stderr, "ceiling: out of memory\n");
        return 1;
    }

    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "ceiling: epoll_wait() failed (%d: %s)\n", errno, strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct watch *w = evs[i].data.ptr;
            switch (w->kind) {
            case KIND_SIGNAL:
                goto stop;
            case KIND_LISTEN:
                accept_all(ep, w);
                break;
            case KIND_CONN:
                conn_read(w, buf);
                break;
            case KIND_DGRAM:
                dgram_read(d, w->fd);
                break;
            }
        }
    }

stop:
    /* What is left is the partial last line of each open connection. */
    while (conns != NULL)
        conn_close(conns);
    if (proto == PROTO_UNIX)
        unlink(listen_addr);
    if (d != NULL) {
        free(d->slots);
        free(d->out);
        free(d);
    }
    free(buf);
    close(out_fd);
    return 0;
}
