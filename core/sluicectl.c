/* SPDX-License-Identifier: MIT */
/* sluicectl.c: sends one command to sluiced's control socket and prints
 * the answer; `top` is sluicectl_top.c. Exit status: 0 ok, 1 an error
 * answer or no daemon, 2 usage. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sluicectl.h"

#define DEFAULT_SOCKET "/run/sluice/control.sock"

static const char *const commands[] = {"stats", "status", "counters", "reload", "reopen",
                                      "flush",  "top",    NULL};

static void usage(FILE *out)
{
    fprintf(out, "Usage: sluicectl [-s SOCKET] COMMAND\n"
                 "       sluicectl [-s SOCKET] stats [--pretty]\n"
                 "       sluicectl [-s SOCKET] top [-d SECS] [-n N]\n"
                 "Commands:\n"
                 "  stats     the counters, as one line of JSON (--pretty: indented)\n"
                 "  status    pid, config file, uptime, the last reload and its result\n"
                 "  counters  the counters as lines: daemon, input NAME, output NAME, route LINE,\n"
                 "            then KEY=VALUE pairs\n"
                 "  top       a live view: messages per second in and out of each input and\n"
                 "            output, queue fill, drops (-d, --delay SECS between refreshes,\n"
                 "            default 1; -n, --iterations N refreshes, then exit; q quits)\n"
                 "  reload    read the config again and switch to it (as SIGHUP, without reopening)\n"
                 "  reopen    reopen every output's files (as SIGUSR1)\n"
                 "  flush     make what the outputs wrote durable\n"
                 "Options:\n"
                 "  -s, --socket SOCKET  the daemon's control socket (default $SLUICE_CONTROL or "
                 DEFAULT_SOCKET ")\n"
                 "  -h, --help           this text\n"
                 "  -V, --version        the version\n"
                 "See sluicectl(1).\n");
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        /* MSG_NOSIGNAL: a daemon that closed at once (64 clients already)
         * gets a message, not a sluicectl killed by SIGPIPE. */
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* {=== stats --pretty: re-indents the daemon's one-line JSON, two spaces a
 * level, a key and its value on one line; strings are copied as they are. */
struct pretty {
    int depth;
    bool in_string, escaped, empty; /* empty: just after { or [ */
};

static void newline(const struct pretty *p)
{
    putchar('\n');
    for (int i = 0; i < p->depth; i++)
        fputs("  ", stdout);
}

static void pretty_byte(struct pretty *p, char ch)
{
    if (p->in_string) {
        putchar(ch);
        p->in_string = p->escaped || ch != '"';
        p->escaped = !p->escaped && ch == '\\';
        return;
    }
    bool was_empty = p->empty;
    if (was_empty && ch != '}' && ch != ']') {
        p->depth++;
        newline(p);
    }
    p->empty = false;
    switch (ch) {
    case '{':
    case '[': putchar(ch); p->empty = true; return;
    case '}':
    case ']':
        if (p->depth > 0 && !was_empty) {
            p->depth--;
            newline(p);
        }
        putchar(ch);
        return;
    case ',': putchar(ch); newline(p); return;
    case ':': fputs(": ", stdout); return;
    case '"': p->in_string = true; putchar(ch); return;
    case '\n': return; /* the answer's end; one is written at the end */
    default: putchar(ch); return;
    }
}
/* }=== */

int sl_ctl_ask(const char *path, const char *cmd)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "sluicectl: socket path \"%s\" is too long\n", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "sluicectl: connect() \"%s\" failed (%d: %s)%s\n", path, errno,
                strerror(errno), errno == ENOENT ? ": is sluiced running? (-s SOCKET names "
                "another control socket)" : "");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* The line in one send, so the daemon never sees the command without
     * its newline (commands are short: the daemon reads 127 bytes). */
    char line[128];
    int n = snprintf(line, sizeof line, "%s\n", cmd);
    if (n < 0 || (size_t)n >= sizeof line) {
        fprintf(stderr, "sluicectl: command \"%.32s...\" is too long\n", cmd);
        close(fd);
        return -1;
    }
    if (send_all(fd, line, (size_t)n) < 0) {
        fprintf(stderr, "sluicectl: send() \"%s\" failed (%d: %s)\n", path, errno,
                strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Prints the answer on fd (re-indented when pretty and it is not an
 * error); the exit status. */
static int answer(int fd, const char *path, bool pretty)
{
    char buf[8192];
    ssize_t r;
    int rc = 0;
    bool first = true;
    struct pretty p = {0};
    while ((r = read(fd, buf, sizeof buf)) > 0) {
        if (first && r >= 6 && memcmp(buf, "error:", 6) == 0)
            rc = 1, pretty = false;
        first = false;
        if (!pretty)
            fwrite(buf, 1, (size_t)r, stdout);
        for (ssize_t i = 0; pretty && i < r; i++)
            pretty_byte(&p, buf[i]);
    }
    if (pretty && !first)
        putchar('\n');
    if (first) {
        fprintf(stderr, "sluicectl: no answer from \"%s\"\n", path);
        rc = 1;
    }
    return rc;
}

static bool known(const char *cmd)
{
    for (size_t i = 0; commands[i] != NULL; i++) {
        if (strcmp(cmd, commands[i]) == 0)
            return true;
    }
    return false;
}

/* The options before the command (stop_at_command: the first word ends
 * them, as top's are its own) or after it. -1 to go on, else the exit
 * status. */
static int options(int argc, char **argv, bool stop_at_command, const char **path, bool *pretty)
{
    static const struct option longs[] = {
        {"socket", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {"pretty", no_argument, NULL, 'p'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, stop_at_command ? "+s:hV" : "s:hV", longs, NULL))
           != -1) {
        switch (opt) {
        case 's': *path = optarg; break;
        case 'p': *pretty = true; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("sluicectl %s\n", PACKAGE_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    const char *path = getenv("SLUICE_CONTROL");
    if (path == NULL || path[0] == '\0')
        path = DEFAULT_SOCKET;
    bool pretty = false;
    int rc = options(argc, argv, true, &path, &pretty);
    if (rc >= 0)
        return rc;
    /* Below, getopt's errors name argv[0]: the program, not the command. */
    if (optind < argc && strcmp(argv[optind], "top") == 0 && !pretty) {
        argv[optind] = argv[0];
        return sl_ctl_top(path, argc - optind, argv + optind);
    }
    /* The others take their options after the command too: stats --pretty. */
    int at = optind;
    if (at >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[at];
    argv[at] = argv[0];
    optind = 0; /* glibc: start again, on the words after the command */
    if ((rc = options(argc - at, argv + at, false, &path, &pretty)) >= 0)
        return rc;
    if (optind != argc - at) { /* a word left over */
        usage(stderr);
        return 2;
    }
    if (!known(cmd) || (pretty && strcmp(cmd, "stats") != 0)) {
        if (!known(cmd))
            fprintf(stderr, "sluicectl: unknown command \"%s\"\n", cmd);
        else
            fprintf(stderr, "sluicectl: --pretty is for stats\n");
        usage(stderr);
        return 2;
    }
    int fd = sl_ctl_ask(path, cmd);
    if (fd < 0)
        return 1;
    rc = answer(fd, path, pretty);
    close(fd);
    return rc;
}
