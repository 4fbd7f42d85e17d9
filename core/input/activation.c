/* SPDX-License-Identifier: MIT */
/*
 * activation.c: the table of sockets systemd passed (activation.h draws
 * the design), and the address matching.
 */
#include "config.h"

#include "input/activation.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "common/alloc.h"
#include "common/log.h"

struct passed {
    int fd;
    char *name;  /* owned: LISTEN_FDNAMES' (systemd's "unknown" when unnamed) */
    bool taken;  /* an input has had a dup of it */
};

struct sl_activation {
    struct passed *v;
    size_t n;
};

/* {=== matching */
static bool same_inet(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port
           && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* systemd's ListenStream=514 is [::]:514, dual-stack (BindIPv6Only=default):
 * it is also 0.0.0.0:514, which a config written for IPv4 names. */
static bool any_v4_in_v6(const struct sockaddr *want, const struct sockaddr *sa)
{
    if (want->sa_family != AF_INET || sa->sa_family != AF_INET6)
        return false;
    const struct sockaddr_in *x = (const void *)want;
    const struct sockaddr_in6 *y = (const void *)sa;
    return x->sin_addr.s_addr == htonl(INADDR_ANY) && x->sin_port == y->sin6_port
           && memcmp(&y->sin6_addr, &in6addr_any, sizeof in6addr_any) == 0;
}

bool sl_activation_match(const struct sockaddr *sa, socklen_t salen, int socktype,
                         bool listening, const struct sl_activation_want *w)
{
    if (socktype != w->socktype || (socktype == SOCK_STREAM && !listening))
        return false;
    if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const void *)sa;
        size_t max = salen > offsetof(struct sockaddr_un, sun_path)
                         ? salen - offsetof(struct sockaddr_un, sun_path) : 0;
        if (max > sizeof un->sun_path)
            max = sizeof un->sun_path;
        /* An abstract socket (sun_path[0] == 0) has no path to match. */
        return w->path != NULL && max > 0 && un->sun_path[0] != '\0'
               && strnlen(un->sun_path, max) == strlen(w->path)
               && memcmp(un->sun_path, w->path, strlen(w->path)) == 0;
    }
    if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || w->path != NULL
        || w->port == NULL)
        return false;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = socktype,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(w->host, w->port, &hints, &ai) != 0)
        return false;
    bool same = false;
    for (const struct addrinfo *p = ai; p != NULL && !same; p = p->ai_next)
        same = same_inet(p->ai_addr, sa) || any_v4_in_v6(p->ai_addr, sa);
    freeaddrinfo(ai);
    return same;
}

/* Whether passed socket fd is what w asks for (getsockname, SO_TYPE,
 * SO_ACCEPTCONN). */
static bool fd_matches(int fd, const struct sl_activation_want *w)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int type = 0, acc = 0;
    socklen_t tl = sizeof type, al = sizeof acc;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0
        || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
        return false;
    if (type == SOCK_STREAM && getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0)
        return false;
    return sl_activation_match((const struct sockaddr *)&ss, sl, type, acc != 0, w);
}
/* }=== */

/* {=== the table */
#ifdef HAVE_LIBSYSTEMD
/* Moves n passed fds (and the names, whose array it frees) into a new table. */
static int build(struct sl_activation **out, int n, char **names)
{
    struct sl_activation *a = sl_calloc(1, sizeof *a);
    struct passed *v = sl_calloc((size_t)n, sizeof *v);
    if (a == NULL || v == NULL) {
        free(a);
        free(v);
        for (int i = 0; i < n; i++)
            close(SD_LISTEN_FDS_START + i);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        /* Not inherited by what sluiced runs (a plugin's helper). */
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        v[i] = (struct passed){.fd = fd, .name = names != NULL ? names[i] : NULL};
        sl_log(SL_LOG_INFO, 0, "socket activation: fd %d (%s) passed by the service manager",
               fd, v[i].name != NULL ? v[i].name : "unnamed");
    }
    free(names); /* the strings are the table's now */
    a->v = v;
    a->n = (size_t)n;
    *out = a;
    return 0;
}

int sl_activation_collect(struct sl_activation **out)
{
    *out = NULL;
    char **names = NULL;
    int n = sd_listen_fds_with_names(1, &names);
    if (n < 0) {
        sl_log(SL_LOG_ERR, -n, "sd_listen_fds_with_names() failed");
        return n;
    }
    if (n == 0) {
        free(names);
        return 0;
    }
    int rc = build(out, n, names);
    if (rc < 0) {
        for (int i = 0; names != NULL && i < n; i++)
            free(names[i]);
        free(names);
        sl_log(SL_LOG_ERR, -rc, "socket activation: out of memory");
    }
    return rc;
}
#else
int sl_activation_collect(struct sl_activation **out)
{
    *out = NULL;
    if (getenv("LISTEN_FDS") != NULL)
        sl_log(SL_LOG_WARNING, 0, "LISTEN_FDS is set but sluiced was built without libsystemd: "
               "the passed sockets are ignored and every input binds its own");
    return 0;
}
#endif

void sl_activation_free(struct sl_activation *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i].fd >= 0)
            close(a->v[i].fd);
        free(a->v[i].name);
    }
    free(a->v);
    free(a);
}

int sl_activation_take(struct sl_activation *a, const struct sl_activation_want *w,
                       const char **name)
{
    for (size_t i = 0; a != NULL && i < a->n; i++) {
        struct passed *p = &a->v[i];
        if (p->fd < 0 || !fd_matches(p->fd, w))
            continue;
        int fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        /* O_NONBLOCK is the socket's (shared by every dup), as the
         * inputs' own sockets are. */
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        p->taken = true;
        *name = p->name != NULL ? p->name : "unnamed";
        return fd;
    }
    return -ENOENT;
}

void sl_activation_close_unused(struct sl_activation *a)
{
    for (size_t i = 0; a != NULL && i < a->n; i++) {
        struct passed *p = &a->v[i];
        if (p->taken || p->fd < 0)
            continue;
        sl_log(SL_LOG_WARNING, 0, "socket activation: fd %d (%s) matches no input's address "
               "and type; closed", p->fd, p->name != NULL ? p->name : "unnamed");
        close(p->fd);
        p->fd = -1;
    }
}
/* }=== */
