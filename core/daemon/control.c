/*
 * control.c: the control socket. Served on the main thread, one short
 * request at a time: a client that sends nothing is dropped after a second,
 * so it cannot stall signal handling for long.
 *
 * DESIGN: commands that need every output (reopen, flush) must not hold the
 * main loop while the outputs work, or one slow reopen() would hold back
 * `stats` and SIGTERM. Such a command hands back a fanout; the client's
 * connection waits in `pending` with it, and is answered from the main loop
 * when the outputs have all answered (each answer writes the control's
 * eventfd, `efd`, which sits in the control's own epoll set beside the
 * listening socket) or the fanout's deadline has passed. A fanout that
 * passed its deadline unanswered stays in `pending`, already answered as
 * late, until its outputs answer: they borrow its tickets until then.
 * efd outlives every output (sl_control_close() comes after they close),
 * so an answer never writes to a closed or reused fd.
 */
#include "daemon/control.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/util.h"
#include "format/format.h"
#include "common/clock.h"

struct pending {
    int fd;              /* the client; -1 for a command a signal ran */
    struct sl_fanout *f; /* owned */
    const char *why;     /* for the log when fd < 0: static */
    bool answered;
};

struct sl_control {
    int fd;  /* listening; -1 after sl_control_stop() */
    int ep;  /* epoll set of fd and efd: what sl_control_fd() returns */
    int efd; /* eventfd the outputs answer requests on */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    const struct sl_control_cmd *cmds; /* borrowed */
    size_t ncmds;
    void *ctx;
    struct pending *pending;
    size_t npending, cap;
};

/* {=== opening */
static int bind_socket(struct sl_control *c, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "control socket path \"%s\" is too long", path);
        return -ENAMETOOLONG;
    }
    memcpy(c->path, path, strlen(path) + 1);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int rc = sl_mkdir_parents(path);
    if (rc == 0)
        rc = sl_remove_stale_socket(path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    mode_t old = umask(0177); /* the socket file: 0600 */
    bool bound = false;
    if (rc < 0 || c->fd < 0 || !(bound = bind(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0) ||
        listen(c->fd, 16) < 0) {
        rc = rc < 0 ? rc : -errno;
        snprintf(err, errlen, "control socket: bind() \"%s\" failed (%d: %s)", path, -rc,
                 strerror(-rc));
        if (bound)
            unlink(path); /* ours: never a socket another daemon holds */
    }
    umask(old);
    return rc;
}

static int watch(int ep, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void close_fds(struct sl_control *c)
{
    if (c->fd >= 0)
        close(c->fd);
    if (c->ep >= 0)
        close(c->ep);
    if (c->efd >= 0)
        close(c->efd);
}

int sl_control_open(struct sl_control **out, const char *path, const struct sl_control_cmd *cmds,
                    size_t ncmds, void *ctx, char *err, size_t errlen)
{
    struct sl_control *c = sl_calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "control socket \"%s\": out of memory", path);
        return -ENOMEM;
    }
    *c = (struct sl_control){.fd = -1, .ep = -1, .efd = -1, .cmds = cmds, .ncmds = ncmds,
                             .ctx = ctx};
    int rc = bind_socket(c, path, err, errlen);
    bool bound = rc == 0;
    if (rc == 0) {
        c->ep = epoll_create1(EPOLL_CLOEXEC);
        c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->ep < 0 || c->efd < 0 || (rc = watch(c->ep, c->fd)) < 0
            || (rc = watch(c->ep, c->efd)) < 0) {
            rc = rc < 0 ? rc : -errno;
            snprintf(err, errlen, "control socket \"%s\": epoll or eventfd failed (%d: %s)", path,
                     -rc, strerror(-rc));
        }
    }
    if (rc < 0) {
        close_fds(c);
        if (bound)
            unlink(c->path);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int sl_control_fd(const struct sl_control *c)
{
    return c->ep;
}
/* }=== */

/* {=== answering */
static void reply(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        data += w;
        len -= (size_t)w;
    }
}

/* Sends b to the client (and closes it), or, for a signal's command, logs
 * its error lines. */
static void deliver(int fd, const char *why, const struct sluice_buf *b)
{
    if (fd >= 0) {
        reply(fd, b->data, b->len);
        close(fd);
        return;
    }
    for (size_t at = 0; at < b->len;) {
        const char *line = b->data + at;
        const char *nl = memchr(line, '\n', b->len - at);
        size_t len = nl != NULL ? (size_t)(nl - line) : b->len - at;
        if (len > 7 && memcmp(line, "error: ", 7) == 0)
            sl_log(SL_LOG_ERR, 0, "%s: %.*s", why, (int)(len - 7), line + 7);
        at += len + 1;
    }
}

/* The answer of a command that failed without saying why. */
static void generic_error(struct sluice_buf *b, int rc)
{
    char line[128];
    int n = snprintf(line, sizeof line, "error: %s\n", strerror(-rc));
    b->len = 0;
    if (n > 0)
        sl_buf_append(b, line, (size_t)n);
}

static void finish(struct pending *p)
{
    struct sluice_buf b = {0};
    int rc = sl_fanout_answer(p->f, &b);
    if (rc == -ENOMEM)
        generic_error(&b, rc);
    deliver(p->fd, p->why, &b);
    free(b.data);
    p->answered = true;
    p->fd = -1;
}

/* Answers what is complete or late, and forgets what is answered and no
 * longer borrowed by any output. */
static void settle(struct sl_control *c)
{
    int64_t now = sl_now_ms();
    size_t keep = 0;
    for (size_t i = 0; i < c->npending; i++) {
        struct pending *p = &c->pending[i];
        bool done = sl_fanout_done(p->f);
        if (!p->answered && (done || sl_fanout_expired(p->f, now)))
            finish(p);
        if (p->answered && done)
            sl_fanout_free(p->f);
        else
            c->pending[keep++] = *p;
    }
    c->npending = keep;
}

int sl_control_timeout(const struct sl_control *c)
{
    int64_t now = sl_now_ms(), soonest = -1;
    for (size_t i = 0; i < c->npending; i++) {
        if (c->pending[i].answered)
            continue;
        int64_t left = sl_fanout_deadline(c->pending[i].f) - now;
        if (left < 0)
            left = 0;
        if (soonest < 0 || left < soonest)
            soonest = left;
    }
    return soonest > 1000000 ? 1000000 : (int)soonest;
}
/* }=== */

/* {=== running commands */
static const struct sl_control_cmd *find(const struct sl_control *c, const char *name)
{
    for (size_t i = 0; i < c->ncmds; i++) {
        if (strcmp(c->cmds[i].name, name) == 0)
            return &c->cmds[i];
    }
    return NULL;
}

static void unknown(const struct sl_control *c, const char *name, struct sluice_buf *b)
{
    char line[256];
    int n = snprintf(line, sizeof line, "error: unknown command \"%.64s\" (", name);
    for (size_t i = 0; i < c->ncmds && n > 0 && (size_t)n < sizeof line; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s%s", i ? ", " : "", c->cmds[i].name);
    if (n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, ")\n");
    if (n > 0)
        sl_buf_append(b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Runs name for the client fd (or for a signal, fd -1): answers at once,
 * or leaves the client waiting in c->pending. */
static void dispatch(struct sl_control *c, int fd, const char *name, const char *why)
{
    struct sluice_buf b = {0};
    struct sl_fanout *f = NULL;
    const struct sl_control_cmd *cmd = find(c, name);
    int rc = 0;
    if (cmd == NULL) {
        unknown(c, name, &b);
    } else if (c->npending == c->cap) {
        /* Room first: a fanout, once sent, must be kept until it is done. */
        size_t cap = c->cap ? c->cap * 2 : 8;
        struct pending *v = sl_realloc(c->pending, cap * sizeof *v);
        if (v == NULL)
            rc = -ENOMEM;
        else
            c->pending = v, c->cap = cap;
    }
    if (cmd != NULL && rc == 0)
        rc = cmd->run(c->ctx, &b, &f, c->efd);
    if (f != NULL) {
        c->pending[c->npending++] = (struct pending){.fd = fd, .f = f, .why = why};
        free(b.data);
        settle(c); /* no output at all: done already */
        return;
    }
    if (rc < 0 && b.len == 0)
        generic_error(&b, rc);
    deliver(fd, why, &b);
    free(b.data);
}

void sl_control_run(struct sl_control *c, const char *name, const char *why)
{
    dispatch(c, -1, name, why);
}

/* Accepts one client and reads its command line. */
static void serve_client(struct sl_control *c)
{
    int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char line[128];
    size_t len = 0;
    while (len < sizeof line - 1) {
        ssize_t r = read(fd, line + len, sizeof line - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        if (memchr(line, '\n', len) != NULL)
            break;
    }
    line[len] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (len == 0) {
        close(fd);
        return;
    }
    dispatch(c, fd, line, "control");
}

void sl_control_serve(struct sl_control *c)
{
    struct epoll_event evs[2];
    int n = epoll_wait(c->ep, evs, 2, 0);
    for (int i = 0; i < n; i++) {
        if (evs[i].data.fd == c->efd) {
            uint64_t v;
            ssize_t r = read(c->efd, &v, sizeof v);
            (void)r;
        } else if (c->fd >= 0 && evs[i].data.fd == c->fd) {
            serve_client(c);
        }
    }
    settle(c);
}
/* }=== */

void sl_control_stop(struct sl_control *c)
{
    if (c == NULL || c->fd < 0)
        return;
    close(c->fd); /* leaves the epoll set with it */
    c->fd = -1;
    unlink(c->path);
}

void sl_control_close(struct sl_control *c)
{
    if (c == NULL)
        return;
    sl_control_stop(c);
    settle(c);
    for (size_t i = 0; i < c->npending; i++) {
        struct pending *p = &c->pending[i];
        if (!p->answered)
            finish(p);
    }
    if (c->npending > 0) {
        /* An output still holds a ticket, so it still runs and may write
         * efd: leave both rather than free what it borrows. */
        sl_log(SL_LOG_ERR, 0, "control: %zu requests to outputs still unanswered at close",
               c->npending);
        c->efd = -1;
    } else {
        free(c->pending);
    }
    close_fds(c);
    free(c);
}
