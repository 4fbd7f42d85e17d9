/* SPDX-License-Identifier: MIT */
/*
 * sluicectl_top.c: `sluicectl top`, a live view of the daemon's counters
 * for a person: messages per second in and out of each input and output,
 * queue fill, drops.
 *
 * DESIGN: every DELAY seconds it connects, asks `counters` (lines, read by
 * sluicectl_counters.c, so sluicectl needs no JSON parser) and shows the
 * rates since the sample before, over the time between the two on the
 * monotonic clock (the wall clock may jump; a slow answer stretches the
 * interval it is divided by, so the rates stay true). The first refresh
 * comes at once, with totals and no rates yet.
 *
 * On a terminal the screen is cleared and redrawn with two plain ANSI
 * escapes (home, clear): no curses library for one table. Elsewhere (a
 * pipe, a test) each refresh is printed after the one before, as `top -b`
 * does, without escapes. When standard input is a terminal it is put in
 * non-canonical mode without echo, so a single q quits; the saved mode is
 * put back on every way out: q, the iterations done, the daemon gone,
 * SIGINT, SIGTERM and SIGHUP (caught, not left to kill us mid-screen), and
 * for the time it is stopped by Ctrl-Z (SIGTSTP: the mode is put back,
 * then it stops itself; on SIGCONT it takes the keys again and redraws).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "sluicectl.h"
#include "sluicectl_counters.h"

#define ANSWER_MAX (16u << 20)   /* a counters answer larger than this is refused */
#define ANSWER_TIMEOUT_S 5       /* a daemon that does not answer in time is gone */
#define DELAY_MIN 0.1
#define DELAY_MAX 3600.0

struct top {
    const char *path;
    double delay;    /* seconds between refreshes */
    long iterations; /* refreshes before it exits; 0: until q */
    bool screen;     /* stdout is a terminal: redraw in place */
    bool keys;       /* stdin is a terminal: read q */
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: sluicectl [-s SOCKET] top [-d SECS] [-n N]\n"
                 "  -d, --delay SECS       seconds between refreshes (default 1)\n"
                 "  -n, --iterations N     exit after N refreshes (default: until q)\n"
                 "  -s, --socket SOCKET    the daemon's control socket\n"
                 "Keys: q quits, space refreshes now. See sluicectl(1).\n");
}

/* {=== the terminal: keys without Enter, and its mode put back */
static volatile sig_atomic_t got_signal; /* a signal that ends us */
static volatile sig_atomic_t got_stop;   /* SIGTSTP: stop, the terminal put back */
static struct termios saved_tty;
static bool tty_changed;

static void on_signal(int sig)
{
    got_signal = sig;
}

static void on_stop(int sig)
{
    (void)sig;
    got_stop = 1;
}

/* SIGINT, SIGTERM and SIGHUP set got_signal, SIGTSTP got_stop, and they
 * interrupt poll() (no SA_RESTART), so the loop puts the terminal back
 * before it exits or stops. */
static void catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_stop;
    sigaction(SIGTSTP, &sa, NULL);
}

static void tty_keys(void)
{
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &saved_tty) < 0)
        return;
    t = saved_tty;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO); /* ISIG stays: Ctrl-C is SIGINT */
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
        tty_changed = true;
}

static void tty_restore(void)
{
    if (tty_changed)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    tty_changed = false;
}

/* Ctrl-Z: the terminal as the shell wants it, then stopped (SIGSTOP, which
 * stops even a process the shell's job control does not see); once
 * continued, the keys again. */
static void suspend(const struct top *t)
{
    tty_restore();
    fflush(stdout);
    raise(SIGSTOP);
    got_stop = 0;
    if (t->keys)
        tty_keys();
}
/* }=== */

/* {=== a sample */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Reads the whole answer on fd into *text (malloc'd, the caller's). 0, or
 * -1 having said why. */
static int read_answer(int fd, const char *path, char **text, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    for (ssize_t r = 1; buf != NULL && r > 0;) {
        if (n == cap) {
            char *more = cap < ANSWER_MAX ? realloc(buf, cap * 2) : NULL;
            if (more == NULL) {
                fprintf(stderr, "sluicectl: top: the answer of \"%s\" is too large\n", path);
                free(buf);
                return -1;
            }
            buf = more, cap *= 2;
        }
        r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR && !got_signal) {
            r = 1;
        } else if (r < 0 && errno == EINTR) {
            free(buf); /* a signal asked us to quit: nothing to say */
            return -1;
        } else if (r < 0) {
            fprintf(stderr, "sluicectl: read() \"%s\" failed (%d: %s)\n", path, errno,
                    errno == EAGAIN ? "no answer in time" : strerror(errno));
            free(buf);
            return -1;
        } else {
            n += (size_t)r;
        }
    }
    if (buf == NULL) {
        fprintf(stderr, "sluicectl: top: out of memory\n");
        return -1;
    }
    *text = buf, *len = n;
    return 0;
}

/* Asks the daemon for its counters into s (freed before). 0; or, having
 * said why, -1 when the daemon cannot be reached or read, -2 for an answer
 * that is no counters. */
static int sample(const struct top *t, struct sl_counters *s)
{
    sl_counters_free(s);
    int fd = sl_ctl_ask(t->path, "counters");
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = ANSWER_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char *text = NULL;
    size_t len = 0, bad = 0;
    int rc = read_answer(fd, t->path, &text, &len);
    close(fd);
    if (rc < 0)
        return -1;
    if (len == 0 || (len >= 6 && memcmp(text, "error:", 6) == 0)) {
        if (len == 0)
            fprintf(stderr, "sluicectl: top: \"%s\" answered nothing\n", t->path);
        else /* the daemon's error line, with its newline */
            fprintf(stderr, "sluicectl: top: \"%s\" answered %.*s", t->path,
                    (int)(len > 200 ? 200 : len), text);
        rc = -2;
    } else if ((rc = sl_counters_parse(s, text, len, &bad)) < 0) {
        fprintf(stderr, "sluicectl: top: cannot read line %zu of the counters of \"%s\"%s\n",
                bad, t->path, rc == -ENOMEM ? ": out of memory" : "");
        rc = -2;
    }
    free(text);
    return rc;
}
/* }=== */

/* {=== drawing */
static int name_width(const struct sl_counters *s)
{
    int w = 8;
    for (size_t i = 0; i < s->n; i++) {
        int n = (int)strlen(s->v[i].name);
        w = n > w ? n : w;
    }
    return w;
}

/* A rate as text: "-" when there is none yet. */
static const char *rate(char *buf, size_t len, bool have, double v)
{
    if (!have)
        return "-";
    snprintf(buf, len, "%.1f", v);
    return buf;
}

static void header(const struct top *t, const struct sl_counters *s)
{
    long long up = s->uptime;
    char when[48];
    if (up >= 86400)
        snprintf(when, sizeof when, "%lldd %02lld:%02lld:%02lld", up / 86400, up / 3600 % 24,
                 up / 60 % 60, up % 60);
    else
        snprintf(when, sizeof when, "%02lld:%02lld:%02lld", up / 3600, up / 60 % 60, up % 60);
    printf("sluiced pid %ld, version %s, up %s, unrouted %llu, every %gs\n", s->pid,
           s->version[0] ? s->version : "?", when, s->unrouted, t->delay);
}

static void inputs(const struct sl_counters *prev, const struct sl_counters *cur, double secs,
                   int w)
{
    printf("\n%-*s %10s %12s %10s %12s\n", w, "INPUT", "MSGS/S", "BYTES/S", "ERRORS/S",
           "RECEIVED");
    for (size_t i = 0; i < cur->n; i++) {
        const struct sl_counters_obj *o = &cur->v[i];
        if (o->kind != SL_COUNTERS_INPUT)
            continue;
        struct sl_counters_rate r;
        bool have = prev != NULL
                    && sl_counters_rate(sl_counters_find(prev, o->kind, o->name), o, secs, &r);
        char a[32], b[32], c[32];
        printf("%-*s %10s %12s %10s %12llu\n", w, o->name, rate(a, sizeof a, have, r.received),
               rate(b, sizeof b, have, r.bytes), rate(c, sizeof c, have, r.errors), o->received);
    }
}

static void outputs(const struct sl_counters *prev, const struct sl_counters *cur, double secs,
                    int w)
{
    printf("\n%-*s %10s %10s %12s %17s %5s %10s %10s %10s %s\n", w, "OUTPUT", "IN/S",
           "WRITTEN/S", "WRITTEN", "QUEUE", "FILL", "DROPS/S", "DROPPED", "FAILED", "STATE");
    for (size_t i = 0; i < cur->n; i++) {
        const struct sl_counters_obj *o = &cur->v[i];
        if (o->kind != SL_COUNTERS_OUTPUT)
            continue;
        struct sl_counters_rate r;
        bool have = prev != NULL
                    && sl_counters_rate(sl_counters_find(prev, o->kind, o->name), o, secs, &r);
        char a[32], b[32], c[32], queue[48], fill[16];
        snprintf(queue, sizeof queue, "%llu/%llu", o->depth, o->capacity);
        if (o->capacity > 0)
            snprintf(fill, sizeof fill, "%.0f%%", 100.0 * (double)o->depth / (double)o->capacity);
        else
            snprintf(fill, sizeof fill, "-");
        printf("%-*s %10s %10s %12llu %17s %5s %10s %10llu %10llu %s\n", w, o->name,
               rate(a, sizeof a, have, r.enqueued), rate(b, sizeof b, have, r.written),
               o->written, queue, fill, rate(c, sizeof c, have, r.dropped), o->dropped,
               o->failed, o->retrying ? "retrying" : "ok");
    }
}

/* One refresh: cur, with rates since prev (NULL: none yet) secs before. */
static void draw(const struct top *t, const struct sl_counters *prev,
                 const struct sl_counters *cur, double secs)
{
    if (t->screen)
        fputs("\033[H\033[2J", stdout); /* home, clear the screen */
    header(t, cur);
    int w = name_width(cur);
    inputs(prev, cur, secs, w);
    outputs(prev, cur, secs, w);
    if (t->screen && t->keys)
        fputs("\nq: quit, space: refresh now\n", stdout);
    else if (!t->screen)
        putchar('\n'); /* refreshes apart, as top -b */
    fflush(stdout);
}
/* }=== */

/* {=== the loop */
enum wake { WAKE_TIME, WAKE_QUIT, WAKE_STOP };

/* Waits until the deadline (monotonic seconds), a key, or a signal. */
static enum wake wait_until(const struct top *t, double deadline)
{
    for (;;) {
        if (got_signal)
            return WAKE_QUIT;
        if (got_stop)
            return WAKE_STOP;
        double left = deadline - now_s();
        if (left <= 0)
            return WAKE_TIME;
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&p, t->keys ? 1 : 0, (int)(left * 1000) + 1);
        if (n <= 0 || !(p.revents & (POLLIN | POLLHUP)))
            continue; /* the time, or a signal: looked at above */
        char key;
        if (read(STDIN_FILENO, &key, 1) != 1)
            return WAKE_QUIT; /* the terminal went away */
        if (key == 'q' || key == 'Q')
            return WAKE_QUIT;
        if (key == ' ')
            return WAKE_TIME;
    }
}

static int run(const struct top *t)
{
    struct sl_counters prev = {0}, cur = {0};
    int rc = 0;
    if (sample(t, &cur) < 0) {
        rc = 1;
        goto out;
    }
    double prev_t = 0, cur_t = now_s();
    draw(t, NULL, &cur, 0);
    for (long done = 1; t->iterations == 0 || done < t->iterations; done++) {
        enum wake why = wait_until(t, cur_t + t->delay);
        if (why == WAKE_QUIT)
            break;
        if (why == WAKE_STOP)
            suspend(t); /* and a refresh at once when continued */
        struct sl_counters swap = prev;
        prev = cur, cur = swap, prev_t = cur_t;
        int got = sample(t, &cur);
        if (got < 0) {
            if (got == -1 && !got_signal)
                fprintf(stderr, "sluicectl: top: sluiced on \"%s\" is gone\n", t->path);
            if (!got_signal)
                rc = 1;
            break;
        }
        cur_t = now_s();
        /* Another pid is another daemon: its counters started again. */
        draw(t, cur.pid == prev.pid ? &prev : NULL, &cur, cur_t - prev_t);
    }
out:
    sl_counters_free(&prev);
    sl_counters_free(&cur);
    return rc;
}

/* A number from text within [min, max]; false otherwise. */
static bool option_number(const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(text, &end);
    return errno == 0 && end != text && *end == '\0' && *out >= min && *out <= max;
}

int sl_ctl_top(const char *path, int argc, char **argv)
{
    static const struct option longs[] = {
        {"delay", required_argument, NULL, 'd'}, {"iterations", required_argument, NULL, 'n'},
        {"socket", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct top t = {.path = path, .delay = 1.0};
    double n;
    int opt;
    optind = 0; /* glibc: start again on our argv (main's getopt ran before) */
    while ((opt = getopt_long(argc, argv, "+d:n:s:h", longs, NULL)) != -1) {
        switch (opt) {
        case 'd':
            if (!option_number(optarg, DELAY_MIN, DELAY_MAX, &t.delay)) {
                fprintf(stderr, "sluicectl: top: --delay wants seconds from %g to %g, got \"%s\"\n",
                        DELAY_MIN, DELAY_MAX, optarg);
                return 2;
            }
            break;
        case 'n':
            if (!option_number(optarg, 1, 1e9, &n) || n != (double)(long)n) {
                fprintf(stderr, "sluicectl: top: --iterations wants a whole number from 1, "
                        "got \"%s\"\n", optarg);
                return 2;
            }
            t.iterations = (long)n;
            break;
        case 's': t.path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "sluicectl: top: unexpected \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    t.screen = isatty(STDOUT_FILENO) == 1;
    t.keys = isatty(STDIN_FILENO) == 1;
    catch_signals();
    if (t.keys)
        tty_keys();
    int rc = run(&t);
    tty_restore();
    fflush(stdout);
    /* q and Ctrl-C are how one quits: 0. SIGTERM and SIGHUP end us as
     * they would have, the terminal put back first. */
    if (got_signal == SIGTERM || got_signal == SIGHUP) {
        signal(got_signal, SIG_DFL);
        raise(got_signal);
    }
    return rc;
}
/* }=== */
