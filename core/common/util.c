/* SPDX-License-Identifier: MIT */
/* util.c: small helpers several modules share. */
#include "config.h" /* _GNU_SOURCE (AC_USE_SYSTEM_EXTENSIONS): struct ucred */

#include "common/util.h"
#include "common/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_NAME 64

size_t sl_edit_distance(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen > MAX_NAME || blen > MAX_NAME)
        return SIZE_MAX;
    size_t row[MAX_NAME + 1];
    for (size_t j = 0; j <= blen; j++)
        row[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[blen];
}

/* Connects to the socket at path with a socket of type; 1 when someone is
 * behind it (*holder its pid, when the kernel says), 0 when nobody is
 * (ECONNREFUSED), -EPROTOTYPE when it is of another type, another
 * negative errno when it cannot tell. Non-blocking: a stream listener
 * whose backlog is full (EAGAIN) is someone too. */
static int probe_socket(const char *path, int type, pid_t *holder)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EAGAIN
                 || errno == EINPROGRESS ? 1 : errno == ECONNREFUSED ? 0 : -errno;
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (rc == 1 && holder != NULL && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0
        && cred.pid > 0)
        *holder = cred.pid;
    close(fd);
    return rc;
}

int sl_claim_socket_path(const char *path, pid_t *holder)
{
    if (holder != NULL)
        *holder = 0;
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISLNK(st.st_mode))
        return -ELOOP;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    /* A datagram socket (/dev/log), else a stream one (a control socket);
     * a type that does not match answers EPROTOTYPE. */
    static const int types[] = {SOCK_DGRAM, SOCK_STREAM, SOCK_SEQPACKET};
    int rc = -EPROTOTYPE;
    for (size_t i = 0; rc == -EPROTOTYPE && i < sizeof types / sizeof types[0]; i++)
        rc = probe_socket(path, types[i], holder);
    if (rc == 1)
        return -EADDRINUSE;
    if (rc < 0)
        return rc;
    return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int sl_remove_stale_socket(const char *path)
{
    return sl_claim_socket_path(path, NULL);
}

const char *sl_socket_path_problem(int rc, pid_t holder, char *buf, size_t len)
{
    switch (rc) {
    case -EADDRINUSE:
        if (holder > 0)
            snprintf(buf, len, "is a live socket: pid %ld receives on it (another daemon? stop "
                               "it first)", (long)holder);
        else
            snprintf(buf, len, "is a live socket: another process receives on it (another "
                               "daemon? stop it first)");
        break;
    case -ELOOP:
        snprintf(buf, len, "is a symbolic link, which sluiced never follows nor removes (a "
                           "/dev/log that links to journald's socket: to run beside journald, "
                           "take over syslog.socket, /run/systemd/journal/syslog, or choose "
                           "another path)");
        break;
    case -EEXIST: snprintf(buf, len, "exists and is not a socket"); break;
    default: snprintf(buf, len, "cannot be used (%d: %s)", -rc, strerror(-rc)); break;
    }
    return buf;
}

int sl_mkdir_parents(const char *path)
{
    char *dir = sl_strdup(path);
    if (dir == NULL)
        return -ENOMEM;
    int rc = 0;
    for (char *p = dir + 1; *p != '\0' && rc == 0; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            rc = -errno;
        *p = '/';
    }
    free(dir);
    return rc;
}

#define HINT_MAX_LEN 32 /* typos are short; past this, no hint */
#define HINT_MAX_EDITS 2

const char *sl_closest(const char *word, size_t wlen, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = HINT_MAX_EDITS + 1;
    for (size_t i = 0; wlen <= HINT_MAX_LEN && i < n && cands[i] != NULL; i++) {
        size_t clen = strlen(cands[i]);
        if (clen > HINT_MAX_LEN)
            continue;
        size_t d = sl_edit_distance(word, wlen, cands[i], clen);
        if (d < best_d && d < wlen) {
            best = cands[i];
            best_d = d;
        }
    }
    return best;
}

void sl_thread_name(const char *prefix, const char *name)
{
    char buf[16]; /* TASK_COMM_LEN */
    snprintf(buf, sizeof buf, "%s:%s", prefix, name);
    (void)pthread_setname_np(pthread_self(), buf);
}
