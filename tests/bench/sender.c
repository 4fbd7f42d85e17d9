/* SPDX-License-Identifier: MIT */
/*
 * sender.c: the benchmark's load generator (see tests/bench/README.md).
 *
 *     sender --proto tcp|udp|unix --target ADDR --count N [--conns K]
 *            [--framing lf|octet] [--rate R] [--batch B] [--size S]
 *            [--syntax rfc5424|rfc3164|native]
 *
 * Sends N RFC 5424 messages of S bytes each (default 200, never shorter than
 * the header), padded with 'x':
 *
 *     <134>1 2026-11-22T10:00:00.000000Z benchhost benchapp 1234 ID47 - c=CC s=SSSSSSSSS xxx...
 *
 * where CC is the connection index and SSSSSSSSS the per-connection sequence
 * number from 0, so a reader can check that nothing was lost or reordered.
 * --syntax rfc3164 sends "<134>Nov 22 10:00:00 benchhost benchapp[1234]: c=CC
 * s=SSSSSSSSS xxx..." instead; --syntax native (unix only) a journal entry
 * of five fields, PRIORITY, SYSLOG_FACILITY, SYSLOG_IDENTIFIER, SYSLOG_PID
 * and MESSAGE=c=CC s=SSSSSSSSS xxx... with its LF, S bytes in all.
 *
 * tcp: K blocking connections (default 1), one thread each, the first
 * sending N/K plus the remainder, the others N/K. Framing is a trailing "\n"
 * (lf, the default) or a "LEN " prefix (octet, RFC 6587). B messages
 * (default 256) go out in one write() loop.
 * udp: one connected socket, one datagram per message, sendmmsg() in batches
 * of B; failed sends are counted in "errors" and skipped.
 * unix: the same on a blocking SOCK_DGRAM unix socket (ADDR is its path,
 * like /dev/log); the kernel blocks the sender while the reader's queue is
 * full, and EAGAIN/ENOBUFS are retried after a short sleep, so nothing is
 * lost.
 * --rate R paces the total to R messages/s (R/K per connection): every 1 ms
 * the quota due is sent, and the thread sleeps to the next slot in between.
 *
 * At the end one JSON line goes to stdout:
 *     {"sent":N,"first_ns":T0,"last_ns":T1,"conns":K,"errors":E}
 * T0 is CLOCK_REALTIME just before the first send, T1 just after the last
 * send returned (over all connections). Exit status 0; 1 when a connection
 * fails (the JSON line is still printed if sending had started); 2 on usage
 * errors.
 *
 * Speed matters more than generality here: every message of a run has the
 * same length, so a connection builds its batch buffer once from a template
 * and afterwards only rewrites the nine sequence digits of each slot.
 */
/* config.h (included by the build) defines _GNU_SOURCE for sendmmsg(). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hostport.h"

/* Connection index and sequence number; the 'x' padding follows. */
#define HEADER_FMT "<134>1 2026-11-22T10:00:00.000000Z benchhost benchapp 1234 ID47 - c=%02u s=%09llu "
#define HEADER_3164_FMT "<134>Nov 22 10:00:00 benchhost benchapp[1234]: c=%02u s=%09llu "
#define HEADER_NATIVE_FMT "PRIORITY=6\nSYSLOG_FACILITY=16\nSYSLOG_IDENTIFIER=benchapp\n" \
                          "SYSLOG_PID=1234\nMESSAGE=c=%02u s=%09llu "
#define MAX_CONNS 100             /* c=%02u stays two digits */
#define MAX_SEQ 999999999ULL      /* s=%09llu stays nine digits */
#define MAX_SIZE (1024 * 1024)
#define MAX_BATCH_BYTES (64u * 1024 * 1024)
#define NS_PER_S 1000000000LL
#define SLOT_NS 1000000LL         /* pacing granularity: 1 ms */

enum proto { PROTO_TCP, PROTO_UDP, PROTO_UNIX };

struct opts {
    enum proto proto;
    const char *target;
    unsigned long long count;
    unsigned conns;
    bool octet;
    unsigned long long rate;      /* 0: as fast as possible */
    unsigned batch;
    unsigned size;
    const char *header_fmt;       /* HEADER_FMT, HEADER_3164_FMT or HEADER_NATIVE_FMT */
    bool native;                  /* the last byte of a message is its LF */
};

/* One connection (tcp) or the one socket (udp, unix); owned by main(),
 * written only by its own thread until pthread_join(). */
struct conn {
    const struct opts *o;
    pthread_t thread;
    int fd;
    unsigned index;
    unsigned long long count;     /* messages to send */
    unsigned long long rate;      /* this connection's share, 0: unpaced */
    unsigned long long sent;
    unsigned long long errors;
    long long first_ns;           /* 0 until the first send */
    long long last_ns;
    bool failed;
};

/* The shape of one slot in a batch buffer; the same for every connection. */
static size_t msg_len;            /* the message alone, S or the header length */
static size_t slot_len;           /* with framing */
static size_t prefix_len;         /* "LEN " for octet framing */
static size_t seq_off;            /* offset of the nine sequence digits in a slot */

/* {=== helpers */
static long long clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void put_digits(char *p, unsigned long long v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: sender --proto tcp|udp|unix --target ADDR --count N [--conns K]\n"
            "              [--framing lf|octet] [--rate R] [--batch B] [--size S]\n"
            "              [--syntax rfc5424|rfc3164|native]\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "sender: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    usage();
    return 2;
}

static bool parse_number(const char *s, unsigned long long min, unsigned long long max,
                         unsigned long long *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}
/* }=== */

/* {=== connecting */
/* A connected socket of the given protocol, or -1 with a message on stderr. */
static int open_conn(const struct opts *o)
{
    if (o->proto == PROTO_UNIX) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        if (strlen(o->target) >= sizeof sun.sun_path) {
            fprintf(stderr, "sender: socket path too long: \"%s\"\n", o->target);
            return -1;
        }
        strcpy(sun.sun_path, o->target);
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            fprintf(stderr, "sender: socket() failed (%d: %s)\n", errno, strerror(errno));
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
            fprintf(stderr, "sender: connect() \"%s\" failed (%d: %s)\n", o->target, errno,
                    strerror(errno));
            close(fd);
            return -1;
        }
        return fd;
    }

    char host[256];
    const char *port = "";
    split_hostport(o->target, host, sizeof host, &port); /* checked in main() */
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = o->proto == PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM,
        .ai_flags = AI_NUMERICSERV,
    };
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "sender: getaddrinfo() \"%s\" failed (%s)\n", o->target,
                gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "sender: socket() failed (%d: %s)\n", errno, strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        fprintf(stderr, "sender: connect() \"%s\" failed (%d: %s)\n", o->target, errno,
                strerror(errno));
        close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    if (o->proto == PROTO_UDP) {
        /* A deeper send queue absorbs bursts; the kernel caps it at wmem_max. */
        int sz = 4 * 1024 * 1024;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    }
    return fd;
}
/* }=== */

/* {=== sending */
/* A batch buffer of `batch` slots, each a copy of this connection's message. */
static char *make_batch(const struct opts *o, unsigned index)
{
    char *buf = malloc(slot_len * o->batch);
    if (buf == NULL)
        return NULL;
    char *slot = buf;
    char num[32];
    if (o->octet && o->proto == PROTO_TCP) {
        snprintf(num, sizeof num, "%zu ", msg_len);
        memcpy(slot, num, prefix_len);
    }
    /* Formatted aside: snprintf's NUL must not land past the slot. */
    char header[128];
    int n = snprintf(header, sizeof header, o->header_fmt, index, 0ULL);
    char *m = slot + prefix_len;
    memcpy(m, header, (size_t)n);
    memset(m + n, 'x', msg_len - (size_t)n);
    if (o->native)
        m[msg_len - 1] = '\n'; /* the entry's last field ends with its LF */
    if (o->proto == PROTO_TCP && !o->octet)
        m[msg_len] = '\n';
    for (unsigned i = 1; i < o->batch; i++)
        memcpy(buf + i * slot_len, buf, slot_len);
    return buf;
}

/* Fills slots 0 .. n-1 with sequence numbers seq .. seq+n-1. */
static void number_batch(char *buf, size_t n, unsigned long long seq)
{
    for (size_t i = 0; i < n; i++)
        put_digits(buf + i * slot_len + seq_off, seq + i, 9);
}

/* How many of `want` messages may go now, given `done` sent since `start`
 * (CLOCK_MONOTONIC) at c->rate per second. Sleeps to the next 1 ms slot
 * while none is due; never returns 0. */
static size_t paced(const struct conn *c, long long start, unsigned long long done, size_t want)
{
    for (;;) {
        long long el = clock_ns(CLOCK_MONOTONIC) - start;
        /* Split so rate * elapsed cannot overflow. */
        unsigned long long due = c->rate * (unsigned long long)(el / NS_PER_S) +
                                 c->rate * (unsigned long long)(el % NS_PER_S) / NS_PER_S + 1;
        if (due > done)
            return due - done < want ? (size_t)(due - done) : want;
        long long next = start + (el / SLOT_NS + 1) * SLOT_NS;
        struct timespec ts = { .tv_sec = next / NS_PER_S, .tv_nsec = next % NS_PER_S };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
    }
}

/* Writes all of buf; returns the bytes written, < len on failure (errno set). */
static size_t write_all(int fd, const char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        off += (size_t)w;
    }
    return off;
}

/* Sends slots 0 .. n-1 as datagrams; false on a fatal error (unix only). */
static bool send_datagrams(struct conn *c, struct mmsghdr *msgs, size_t n)
{
    size_t i = 0;
    while (i < n) {
        int r = sendmmsg(c->fd, msgs + i, (unsigned)(n - i), 0);
        if (r > 0) {
            i += (size_t)r;
            c->sent += (unsigned long long)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (c->o->proto == PROTO_UNIX) {
            if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
                struct timespec ts = { .tv_nsec = 50000 };
                nanosleep(&ts, NULL);
                continue;
            }
            fprintf(stderr, "sender: sendmmsg() \"%s\" failed (%d: %s)\n", c->o->target,
                    errno, strerror(errno));
            return false;
        }
        /* udp: ENOBUFS, ECONNREFUSED (an ICMP error from an earlier
         * datagram), ...: count the datagram lost and move on. */
        c->errors++;
        i++;
    }
    return true;
}

static void *run_conn(void *arg)
{
    struct conn *c = arg;
    const struct opts *o = c->o;
    char *buf = make_batch(o, c->index);
    struct mmsghdr *msgs = NULL;
    struct iovec *iov = NULL;
    if (buf != NULL && o->proto != PROTO_TCP) {
        msgs = calloc(o->batch, sizeof *msgs);
        iov = calloc(o->batch, sizeof *iov);
        if (msgs != NULL && iov != NULL) {
            for (unsigned i = 0; i < o->batch; i++) {
                iov[i] = (struct iovec){ .iov_base = buf + i * slot_len, .iov_len = slot_len };
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
        }
    }
    if (buf == NULL || (o->proto != PROTO_TCP && (msgs == NULL || iov == NULL))) {
        fprintf(stderr, "sender: out of memory\n");
        c->failed = true;
        goto out;
    }

    long long start = clock_ns(CLOCK_MONOTONIC);
    unsigned long long done = 0;  /* sent or counted as an error */
    while (done < c->count) {
        size_t n = c->count - done < o->batch ? (size_t)(c->count - done) : o->batch;
        if (c->rate > 0)
            n = paced(c, start, done, n);
        number_batch(buf, n, done);
        if (c->first_ns == 0)
            c->first_ns = clock_ns(CLOCK_REALTIME);
        if (o->proto == PROTO_TCP) {
            size_t len = n * slot_len;
            size_t w = write_all(c->fd, buf, len);
            c->sent += w / slot_len;
            if (w < len) {
                fprintf(stderr, "sender: write() \"%s\" failed (%d: %s)\n", o->target, errno,
                        strerror(errno));
                c->errors++;
                c->failed = true;
                break;
            }
        } else if (!send_datagrams(c, msgs, n)) {
            c->failed = true;
            break;
        }
        done += n;
    }
    c->last_ns = clock_ns(CLOCK_REALTIME);

out:
    if (o->proto == PROTO_TCP)
        shutdown(c->fd, SHUT_WR);
    close(c->fd);
    free(iov);
    free(msgs);
    free(buf);
    return NULL;
}
/* }=== */

int main(int argc, char **argv)
{
    struct opts o = { .conns = 1, .batch = 256, .size = 200, .header_fmt = HEADER_FMT };
    const char *proto = NULL;
    bool have_count = false, have_conns = false, have_batch = false;
    static const struct option longopts[] = {
        { "proto", required_argument, NULL, 'p' },
        { "target", required_argument, NULL, 't' },
        { "count", required_argument, NULL, 'n' },
        { "conns", required_argument, NULL, 'k' },
        { "framing", required_argument, NULL, 'f' },
        { "rate", required_argument, NULL, 'r' },
        { "batch", required_argument, NULL, 'b' },
        { "size", required_argument, NULL, 's' },
        { "syntax", required_argument, NULL, 'y' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    unsigned long long v;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            proto = optarg;
            break;
        case 't':
            o.target = optarg;
            break;
        case 'n':
            if (!parse_number(optarg, 0, ULLONG_MAX, &o.count))
                return usage_error("--count wants a number: \"%s\"", optarg);
            have_count = true;
            break;
        case 'k':
            if (!parse_number(optarg, 1, MAX_CONNS, &v))
                return usage_error("--conns wants a number from 1 to 100: \"%s\"", optarg);
            o.conns = (unsigned)v;
            have_conns = true;
            break;
        case 'f':
            if (strcmp(optarg, "lf") == 0)
                o.octet = false;
            else if (strcmp(optarg, "octet") == 0)
                o.octet = true;
            else
                return usage_error("--framing wants lf or octet: \"%s\"", optarg);
            break;
        case 'r':
            if (!parse_number(optarg, 1, 1000000000ULL, &o.rate))
                return usage_error("--rate wants messages per second, 1 or more: \"%s\"",
                                   optarg);
            break;
        case 'b':
            if (!parse_number(optarg, 1, 65536, &v))
                return usage_error("--batch wants a number from 1 to 65536: \"%s\"", optarg);
            o.batch = (unsigned)v;
            have_batch = true;
            break;
        case 's':
            if (!parse_number(optarg, 1, MAX_SIZE, &v))
                return usage_error("--size wants a number from 1 to 1048576: \"%s\"", optarg);
            o.size = (unsigned)v;
            break;
        case 'y':
            if (strcmp(optarg, "rfc5424") == 0)
                o.header_fmt = HEADER_FMT;
            else if (strcmp(optarg, "rfc3164") == 0)
                o.header_fmt = HEADER_3164_FMT;
            else if (strcmp(optarg, "native") == 0)
                o.header_fmt = HEADER_NATIVE_FMT, o.native = true;
            else
                return usage_error("--syntax wants rfc5424, rfc3164 or native: \"%s\"", optarg);
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 2;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument \"%s\"", argv[optind]);
    if (proto == NULL || o.target == NULL || !have_count) {
        fprintf(stderr, "sender: --proto, --target and --count are required\n");
        usage();
        return 2;
    }
    if (strcmp(proto, "tcp") == 0)
        o.proto = PROTO_TCP;
    else if (strcmp(proto, "udp") == 0)
        o.proto = PROTO_UDP;
    else if (strcmp(proto, "unix") == 0)
        o.proto = PROTO_UNIX;
    else
        return usage_error("--proto wants tcp, udp or unix: \"%s\"", proto);
    if (o.native && o.proto != PROTO_UNIX)
        return usage_error("--syntax native is for unix: %s", proto);
    if (o.proto != PROTO_TCP && have_conns && o.conns != 1)
        return usage_error("--conns is for tcp; %s uses one socket", proto);
    if (o.rate > 0 && o.rate < o.conns)
        return usage_error("--rate must be at least --conns", "");
    if (o.proto != PROTO_UNIX) {
        char host[256];
        const char *port;
        if (split_hostport(o.target, host, sizeof host, &port) < 0)
            return usage_error("--target wants HOST:PORT or [IPV6]:PORT: \"%s\"", o.target);
    }
    /* The first connection sends the most; its last number must fit s=%09llu. */
    if (o.count / o.conns + o.count % o.conns > MAX_SEQ + 1)
        return usage_error("--count: at most 1000000000 messages per connection", "");

    /* The message layout, from the header of connection 0. */
    char header[128];
    int hl = snprintf(header, sizeof header, o.header_fmt, 0u, 0ULL);
    hl += o.native; /* and the LF */
    msg_len = o.size < (unsigned)hl ? (size_t)hl : o.size;
    prefix_len = 0;
    if (o.proto == PROTO_TCP && o.octet)
        prefix_len = (size_t)snprintf(NULL, 0, "%zu ", msg_len);
    slot_len = prefix_len + msg_len + (o.proto == PROTO_TCP && !o.octet ? 1 : 0);
    seq_off = prefix_len + (size_t)(strstr(header, " s=") - header) + 3;
    if (!have_batch && slot_len * o.batch > MAX_BATCH_BYTES)
        o.batch = (unsigned)(MAX_BATCH_BYTES / slot_len); /* huge messages: fewer a batch */
    if (slot_len * o.batch > MAX_BATCH_BYTES)
        return usage_error("--batch times --size must stay under 64 MiB", "");

    /* A peer that goes away must fail write() with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);

    /* Connect everything before sending anything, so a refused connection
     * fails the run cleanly. */
    struct conn *conns = calloc(o.conns, sizeof *conns);
    if (conns == NULL) {
        fprintf(stderr, "sender: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < o.conns; i++) {
        struct conn *c = &conns[i];
        c->o = &o;
        c->index = i;
        c->count = o.count / o.conns + (i == 0 ? o.count % o.conns : 0);
        c->rate = o.rate / o.conns + (i < o.rate % o.conns ? 1 : 0);
        c->fd = open_conn(&o);
        if (c->fd < 0) {
            for (unsigned j = 0; j < i; j++)
                close(conns[j].fd);
            free(conns);
            return 1;
        }
    }

    bool failed = false;
    if (o.conns == 1) {
        run_conn(&conns[0]);
    } else {
        unsigned started = 0;
        for (; started < o.conns; started++) {
            int rc = pthread_create(&conns[started].thread, NULL, run_conn, &conns[started]);
            if (rc != 0) {
                fprintf(stderr, "sender: pthread_create() failed (%d: %s)\n", rc, strerror(rc));
                failed = true;
                break;
            }
        }
        for (unsigned i = 0; i < started; i++)
            pthread_join(conns[i].thread, NULL);
        for (unsigned i = started; i < o.conns; i++)
            close(conns[i].fd);
    }

    unsigned long long sent = 0, errors = 0;
    long long first = 0, last = 0;
    for (unsigned i = 0; i < o.conns; i++) {
        const struct conn *c = &conns[i];
        sent += c->sent;
        errors += c->errors;
        failed = failed || c->failed;
        if (c->first_ns != 0 && (first == 0 || c->first_ns < first))
            first = c->first_ns;
        if (c->last_ns > last)
            last = c->last_ns;
    }
    if (first == 0) /* --count 0 */
        first = last = clock_ns(CLOCK_REALTIME);
    printf("{\"sent\":%llu,\"first_ns\":%lld,\"last_ns\":%lld,\"conns\":%u,\"errors\":%llu}\n",
           sent, first, last, o.conns, errors);
    free(conns);
    return failed ? 1 : 0;
}
