/* SPDX-License-Identifier: MIT */
/*
 * devlog_sender.c: many slow local senders as real programs are, through
 * glibc's syslog(3) (issue 14; see tests/bench/README.md).
 *
 *     devlog_sender --procs P --count N [--rate R] [--tag TAG]
 *
 * Forks P children. Child k calls openlog(TAG, LOG_NDELAY, LOG_USER) and
 * then syslog(LOG_INFO, "s=K i=I t=T") for I = 0 .. its share - 1 (N/P, the
 * first N%P children one more), where T is CLOCK_REALTIME in nanoseconds
 * just before the call, so a reader of the output can tell lost, duplicated
 * and reordered lines per sender and the time from send to disk. glibc
 * always writes to _PATH_LOG (/dev/log): bench_devlog.py runs this in a
 * mount namespace where /dev/log is the daemon's socket.
 *
 * All children start at the same instant (the parent picks it 100 ms
 * ahead; each sleeps to it with an absolute deadline), so forking 64 of
 * them is not part of the measurement. --rate R paces the total to R
 * messages/s: child k sends message I at start + (I * P + k) / R seconds
 * (clock_nanosleep, TIMER_ABSTIME, CLOCK_MONOTONIC), so the senders take
 * turns and the load is even. Without it they go as fast as syslog() lets
 * them.
 *
 * Every syslog() call is timed (CLOCK_MONOTONIC around it). Each child
 * prints one JSON line on stdout,
 *     {"sender":K,"sent":N,"first_ns":T0,"last_ns":T1,"max_call_ns":M,"late":L}
 * (T0, T1: CLOCK_REALTIME before the first and after the last call; L: the
 * paced messages sent more than 1 ms after their deadline), and the parent,
 * once all have exited, one more:
 *     {"procs":P,"sent":N,"failed":F,"cpu_s":C}
 * where C is the children's user+system time (getrusage RUSAGE_CHILDREN)
 * and F how many children did not exit 0. Exit status 0; 1 when a child
 * failed; 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L /* clock_nanosleep(), getopt() under -std=c11 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 1024
#define START_DELAY_NS 100000000LL /* time for the parent to fork them all */
#define LATE_NS 1000000LL

struct plan {
    long procs;
    long count;
    long rate;          /* messages/s over all children; 0: unpaced */
    const char *tag;
};

static int64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t mono_ns)
{
    struct timespec ts = { .tv_sec = mono_ns / 1000000000LL, .tv_nsec = mono_ns % 1000000000LL };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* One child's whole life: its share of the messages from `start` (a
 * CLOCK_MONOTONIC instant), its JSON line, and _exit(). */
static void child(const struct plan *p, long k, int64_t start)
{
    long share = p->count / p->procs + (k < p->count % p->procs ? 1 : 0);
    int64_t max_call = 0, first = 0, last = 0;
    long late = 0;

    openlog(p->tag, LOG_NDELAY, LOG_USER);
    sleep_until(start);
    for (long i = 0; i < share; i++) {
        if (p->rate > 0) {
            int64_t due = start + (int64_t)((double)(i * p->procs + k) * 1e9 / (double)p->rate);
            if (now_ns(CLOCK_MONOTONIC) < due)
                sleep_until(due);
            else if (now_ns(CLOCK_MONOTONIC) - due > LATE_NS)
                late++;
        }
        int64_t t = now_ns(CLOCK_REALTIME);
        if (i == 0)
            first = t;
        int64_t m0 = now_ns(CLOCK_MONOTONIC);
        syslog(LOG_INFO, "s=%ld i=%ld t=%" PRId64, k, i, t);
        int64_t took = now_ns(CLOCK_MONOTONIC) - m0;
        if (took > max_call)
            max_call = took;
    }
    last = now_ns(CLOCK_REALTIME);
    closelog();
    printf("{\"sender\":%ld,\"sent\":%ld,\"first_ns\":%" PRId64 ",\"last_ns\":%" PRId64
           ",\"max_call_ns\":%" PRId64 ",\"late\":%ld}\n",
           k, share, first, last, max_call, late);
    fflush(stdout);
    _exit(ferror(stdout) ? 1 : 0);
}

static long number(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "devlog_sender: %s must be a number from %ld to %ld: \"%s\"\n",
                opt, min, max, s);
        exit(2);
    }
    return v;
}

static void usage(void)
{
    fprintf(stderr, "usage: devlog_sender --procs P --count N [--rate R] [--tag TAG]\n");
    exit(2);
}

static void parse(int argc, char **argv, struct plan *p)
{
    static const struct option opts[] = {
        { "procs", required_argument, NULL, 'p' }, { "count", required_argument, NULL, 'n' },
        { "rate", required_argument, NULL, 'r' },  { "tag", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    *p = (struct plan){ .procs = 0, .count = -1, .rate = 0, .tag = "devlogbench" };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': p->procs = number("--procs", optarg, 1, MAX_PROCS); break;
        case 'n': p->count = number("--count", optarg, 0, LONG_MAX / MAX_PROCS); break;
        case 'r': p->rate = number("--rate", optarg, 1, 100000000); break;
        case 't': p->tag = optarg; break;
        default: usage();
        }
    }
    if (optind != argc || p->procs == 0 || p->count < 0)
        usage();
}

int main(int argc, char **argv)
{
    struct plan p;
    parse(argc, argv, &p);
    fflush(stdout);
    int64_t start = now_ns(CLOCK_MONOTONIC) + START_DELAY_NS;
    long forked = 0, failed = 0;
    for (long k = 0; k < p.procs; k++) {
        pid_t pid = fork();
        if (pid == 0)
            child(&p, k, start);
        if (pid < 0) {
            fprintf(stderr, "devlog_sender: fork() failed (%d: %s)\n", errno, strerror(errno));
            failed++;
            break;
        }
        forked++;
    }
    for (long k = 0; k < forked; k++) {
        int status;
        if (wait(&status) < 0)
            break;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("{\"procs\":%ld,\"sent\":%ld,\"failed\":%ld,\"cpu_s\":%.3f}\n", p.procs,
           failed ? -1 : p.count, failed, cpu);
    return failed ? 1 : 0;
}
