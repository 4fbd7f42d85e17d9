/* SPDX-License-Identifier: MIT */
/*
 * syslog_client.c: glibc's syslog(3) as a real local program uses it.
 *
 *     syslog_client COUNT TAG [TEXT]
 *
 * Prints its pid on stdout (so a test can match it against the message's
 * procid and the kernel's SO_PASSCRED pid), then calls
 * openlog(TAG, LOG_PID | LOG_NDELAY, LOG_USER) and
 * syslog(LOG_INFO, "%s %d", TEXT, i) for i = 0 .. COUNT-1, and closelog().
 * TEXT defaults to "message". test_glibc_syslog.py runs it in a mount
 * namespace where /dev/log is the daemon's socket.
 */
#define _POSIX_C_SOURCE 200809L /* getpid() under -std=c11 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: syslog_client COUNT TAG [TEXT]\n");
        return 2;
    }
    char *end;
    errno = 0;
    long count = strtol(argv[1], &end, 10);
    if (errno != 0 || end == argv[1] || *end != '\0' || count < 0 || count > INT_MAX) {
        fprintf(stderr, "syslog_client: COUNT must be a number from 0 to %d: \"%s\"\n",
                INT_MAX, argv[1]);
        return 2;
    }
    const char *text = argc == 4 ? argv[3] : "message";

    printf("%ld\n", (long)getpid());
    fflush(stdout);

    openlog(argv[2], LOG_PID | LOG_NDELAY, LOG_USER);
    for (int i = 0; i < (int)count; i++)
        syslog(LOG_INFO, "%s %d", text, i);
    closelog();
    return 0;
}
