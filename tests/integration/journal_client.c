/* SPDX-License-Identifier: MIT */
/*
 * journal_client.c: libsystemd's sd_journal_sendv() as a real journal
 * client uses it.
 *
 *     journal_client TEXT [BIG]
 *
 * Prints its pid on stdout, then sends one entry: MESSAGE=TEXT,
 * PRIORITY=4, SYSLOG_IDENTIFIER=journal-client, CUSTOM_FIELD=custom, and
 * MULTI="line one\nline two" (sd_journal_sendv writes a value with a
 * newline in the binary form). With BIG (a byte count), a field BIG_FIELD
 * of that many 'x' too, which sd_journal_sendv passes as a sealed memfd
 * when the datagram does not fit. Exits 0 when sd_journal_sendv returned
 * 0, else 1 with its error. test_native.py runs it in a mount namespace
 * where /run/systemd/journal/socket is the daemon's socket. Built only
 * when ./configure finds libsystemd.
 */
#define _POSIX_C_SOURCE 200809L /* getpid() under -std=c11 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

/* One iovec for "KEY=VALUE" (KEY= included in key). */
static struct iovec field(const char *key, const char *value, size_t vlen)
{
    size_t klen = strlen(key);
    char *p = malloc(klen + vlen);
    if (p == NULL) {
        perror("journal_client: malloc");
        exit(1);
    }
    memcpy(p, key, klen);
    memcpy(p + klen, value, vlen);
    return (struct iovec){p, klen + vlen};
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: journal_client TEXT [BIG]\n");
        return 2;
    }
    printf("%ld\n", (long)getpid());
    fflush(stdout);
    struct iovec iov[6];
    int n = 0;
    iov[n++] = field("MESSAGE=", argv[1], strlen(argv[1]));
    iov[n++] = field("PRIORITY=", "4", 1);
    iov[n++] = field("SYSLOG_IDENTIFIER=", "journal-client", 14);
    iov[n++] = field("CUSTOM_FIELD=", "custom", 6);
    iov[n++] = field("MULTI=", "line one\nline two", 17);
    if (argc == 3) {
        size_t big = strtoul(argv[2], NULL, 10);
        char *x = malloc(big);
        if (x == NULL) {
            perror("journal_client: malloc");
            return 1;
        }
        memset(x, 'x', big);
        iov[n++] = field("BIG_FIELD=", x, big);
        free(x);
    }
    int rc = sd_journal_sendv(iov, n);
    if (rc < 0) {
        fprintf(stderr, "journal_client: sd_journal_sendv() failed (%d: %s)\n", -rc,
                strerror(-rc));
        return 1;
    }
    for (int i = 0; i < n; i++)
        free(iov[i].iov_base);
    return 0;
}
