/* SPDX-License-Identifier: MIT */
/*
 * control.c: the control socket, served on the main thread without ever
 * blocking it, so one client's slowness costs only that client.
 *
 * DESIGN: every client is a non-blocking socket in the control's epoll set
 * (which sits in the main loop's), with its own request buffer, filled as
 * bytes come until the line is complete, and its own answer buffer,
 * written as the socket takes it (EPOLLOUT). A client has REQUEST_MS to
 * send its line and ANSWER_MS to read the answer, then it is dropped; at
 * most MAX_CLIENTS are connected at once, and one more is accepted and
 * closed at once (so the backlog does not fill with clients nobody
 * serves). Before, one client was served at a time with blocking reads
 * and writes: 20 idle clients delayed `stats` by 18 s, and a client that
 * did not read its answer held SIGTERM back.
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

#define MAX_CLIENTS 64
#define REQUEST_MS 1000  /* to send the command line */
#define ANSWER_MS 10000  /* to read the answer */

/* One connected client: reading its line, waiting for a command's outputs
 * (out of the epoll set), or being written its answer. */
struct client {
    struct client *prev, *next;
    int fd;
    bool waiting;        /* a fanout answers it: no deadline, not watched */
    int64_t deadline_ms; /* reading or writing: dropped after it */
    size_t inlen;
    char in[128];
    struct sluice_buf out; /* owned: the answer */
    size_t off;            /* how much of it is written */
};

struct pending {
    struct client *cl;   /* the client; NULL for a command a signal ran */
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
    struct client *clients; /* owned */
    size_t nclients;
    struct sl_ratelimit full_log;
    struct sl_ratelimit accept_log;
    int64_t resume_ms; /* > 0: the listener is out of the set until then */
};

/* How long the listener rests when accept() fails for want of descriptors
 * or memory: level-triggered, it would stay readable and spin the loop. */
#define ACCEPT_PAUSE_MS 100

/* epoll tags of the two fds that are not clients */
static char tag_listen, tag_efd;

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
    pid_t holder = 0;
    char why[320];
    if (rc == 0 && (rc = sl_claim_socket_path(path, &holder)) < 0) {
        snprintf(err, errlen, "control socket \"%s\" %s", path,
                 sl_socket_path_problem(rc, holder, why, sizeof why));
        return rc;
    }
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    mode_t old = umask(0177); /* the socket file: 0600 */
    bool bound = false;
    if (rc < 0 || c->fd < 0 || !(bound = bind(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0) ||
        listen(c->fd, MAX_CLIENTS) < 0) {
        rc = rc < 0 ? rc : -errno;
        snprintf(err, errlen, "control socket: bind() \"%s\" failed (%d: %s)", path, -rc,
                 strerror(-rc));
        if (bound)
            unlink(path); /* ours: never a socket another daemon holds */
    }
    umask(old);
    return rc;
}

static int watch(int ep, int fd, void *tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
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
                             .ctx = ctx, .full_log = {.interval = 10, .burst = 1},
                             .accept_log = {.interval = 60, .burst = 1}};
    int rc = bind_socket(c, path, err, errlen);
    bool bound = rc == 0;
    if (rc == 0) {
        c->ep = epoll_create1(EPOLL_CLOEXEC);
        c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->ep < 0 || c->efd < 0 || (rc = watch(c->ep, c->fd, &tag_listen)) < 0
            || (rc = watch(c->ep, c->efd, &tag_efd)) < 0) {
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

/* {=== clients */
static void client_drop(struct sl_control *c, struct client *cl)
{
    if (cl->prev != NULL)
        cl->prev->next = cl->next;
    else
        c->clients = cl->next;
    if (cl->next != NULL)
        cl->next->prev = cl->prev;
    close(cl->fd); /* leaves the epoll set with it */
    free(cl->out.data);
    free(cl);
    c->nclients--;
}

/* EPOLLIN or EPOLLOUT (out), or out of the set (neither). */
static void client_watch(struct sl_control *c, struct client *cl, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = cl};
    epoll_ctl(c->ep, events ? EPOLL_CTL_MOD : EPOLL_CTL_DEL, cl->fd, &ev);
}

/* Writes what the socket takes; drops the client once all is written, or
 * when it cannot be. */
static void client_write(struct sl_control *c, struct client *cl)
{
    while (cl->off < cl->out.len) {
        ssize_t w = send(cl->fd, cl->out.data + cl->off, cl->out.len - cl->off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return; /* the rest when EPOLLOUT says */
        if (w <= 0)
            break;
        cl->off += (size_t)w;
    }
    client_drop(c, cl);
}

/* Takes b's text as cl's answer and starts writing it. */
static void client_answer(struct sl_control *c, struct client *cl, struct sluice_buf *b)
{
    cl->out = *b;
    *b = (struct sluice_buf){0};
    cl->waiting = false;
    cl->deadline_ms = sl_now_ms() + ANSWER_MS;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = cl};
    epoll_ctl(c->ep, EPOLL_CTL_ADD, cl->fd, &ev); /* out of the set while it ran */
    client_write(c, cl);
}

/* Drops the clients whose deadline passed (not those a fanout answers). */
static void client_expire(struct sl_control *c, int64_t now)
{
    struct client *next;
    for (struct client *cl = c->clients; cl != NULL; cl = next) {
        next = cl->next;
        if (!cl->waiting && now >= cl->deadline_ms)
            client_drop(c, cl);
    }
}
/* }=== */

/* {=== answering */
/* Sends b to the client (then closes it), or, for a signal's command
 * (cl NULL), logs its error lines. Takes b's text. */
static void deliver(struct sl_control *c, struct client *cl, const char *why,
                    struct sluice_buf *b)
{
    if (cl != NULL) {
        client_answer(c, cl, b);
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
    free(b->data);
    *b = (struct sluice_buf){0};
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

static void finish(struct sl_control *c, struct pending *p)
{
    struct sluice_buf b = {0};
    int rc = sl_fanout_answer(p->f, &b);
    if (rc == -ENOMEM)
        generic_error(&b, rc);
    deliver(c, p->cl, p->why, &b);
    p->answered = true;
    p->cl = NULL;
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
            finish(c, p);
        if (p->answered && done)
            sl_fanout_free(p->f);
        else
            c->pending[keep++] = *p;
    }
    c->npending = keep;
}

static void sooner(int64_t *soonest, int64_t left)
{
    if (left < 0)
        left = 0;
    if (*soonest < 0 || left < *soonest)
        *soonest = left;
}

int sl_control_timeout(const struct sl_control *c)
{
    int64_t now = sl_now_ms(), soonest = -1;
    for (size_t i = 0; i < c->npending; i++) {
        if (!c->pending[i].answered)
            sooner(&soonest, sl_fanout_deadline(c->pending[i].f) - now);
    }
    for (const struct client *cl = c->clients; cl != NULL; cl = cl->next) {
        if (!cl->waiting)
            sooner(&soonest, cl->deadline_ms - now);
    }
    if (c->resume_ms > 0)
        sooner(&soonest, c->resume_ms - now);
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

/* Runs name for client cl (or for a signal, NULL): answers at once, or
 * leaves the client waiting in c->pending. */
static void dispatch(struct sl_control *c, struct client *cl, const char *name,
                     const char *why)
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
    if (cmd != NULL && rc == 0 && cl != NULL && cmd->log != NULL)
        sl_log(SL_LOG_NOTICE, 0, "%s requested on the control socket, %s", cmd->name, cmd->log);
    if (cmd != NULL && rc == 0)
        rc = cmd->run(c->ctx, &b, &f, c->efd);
    if (f != NULL) {
        if (cl != NULL)
            cl->waiting = true;
        c->pending[c->npending++] = (struct pending){.cl = cl, .f = f, .why = why};
        free(b.data);
        settle(c); /* no output at all: done already */
        return;
    }
    if (rc < 0 && b.len == 0)
        generic_error(&b, rc);
    deliver(c, cl, why, &b);
}

void sl_control_run(struct sl_control *c, const char *name, const char *why)
{
    dispatch(c, NULL, name, why);
}

/* Accepts every client waiting, up to MAX_CLIENTS connected. */
/* Takes the listener out of the set for ACCEPT_PAUSE_MS (sl_control_serve
 * puts it back), logging at most once a minute. */
static void pause_listener(struct sl_control *c, int errnum)
{
    if (sl_ratelimit_ok(&c->accept_log))
        sl_log(SL_LOG_ERR, errnum, "control: accept4() \"%s\" failed, pausing for %d ms", c->path,
               ACCEPT_PAUSE_MS);
    epoll_ctl(c->ep, EPOLL_CTL_DEL, c->fd, NULL);
    c->resume_ms = sl_now_ms() + ACCEPT_PAUSE_MS;
}

/* Puts a paused listener back once its pause is over. */
static void resume_listener(struct sl_control *c, int64_t now)
{
    if (c->resume_ms == 0 || now < c->resume_ms || c->fd < 0)
        return;
    c->resume_ms = 0;
    watch(c->ep, c->fd, &tag_listen);
}

static void accept_clients(struct sl_control *c)
{
    for (;;) {
        int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                pause_listener(c, errno);
            return;
        }
        struct client *cl = c->nclients < MAX_CLIENTS ? sl_calloc(1, sizeof *cl) : NULL;
        if (cl == NULL) {
            if (sl_ratelimit_ok(&c->full_log))
                sl_log(SL_LOG_WARNING, 0, "control: %zu clients connected, closing a new one",
                       c->nclients);
            close(fd);
            continue;
        }
        cl->fd = fd;
        cl->deadline_ms = sl_now_ms() + REQUEST_MS;
        if (watch(c->ep, fd, cl) < 0) {
            close(fd);
            free(cl);
            continue;
        }
        cl->next = c->clients;
        if (c->clients != NULL)
            c->clients->prev = cl;
        c->clients = cl;
        c->nclients++;
    }
}

/* Reads what the client sent; once its line is complete (a newline, a full
 * buffer, or the end of its data), runs it. */
static void client_read(struct sl_control *c, struct client *cl)
{
    bool eof = false;
    while (cl->inlen < sizeof cl->in - 1 && memchr(cl->in, '\n', cl->inlen) == NULL) {
        ssize_t r = read(cl->fd, cl->in + cl->inlen, sizeof cl->in - 1 - cl->inlen);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return; /* the rest later */
        if (r <= 0) {
            eof = true;
            break;
        }
        cl->inlen += (size_t)r;
    }
    if (cl->inlen == 0 && eof) {
        client_drop(c, cl);
        return;
    }
    cl->in[cl->inlen] = '\0';
    cl->in[strcspn(cl->in, "\r\n")] = '\0';
    client_watch(c, cl, 0); /* nothing more is read from it */
    dispatch(c, cl, cl->in, "control");
}

static void client_event(struct sl_control *c, struct client *cl)
{
    if (cl->out.data != NULL || cl->out.len > 0)
        client_write(c, cl);
    else if (!cl->waiting)
        client_read(c, cl);
}

void sl_control_serve(struct sl_control *c)
{
    struct epoll_event evs[32];
    int n;
    do {
        n = epoll_wait(c->ep, evs, 32, 0);
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == &tag_efd) {
                uint64_t v;
                ssize_t r = read(c->efd, &v, sizeof v);
                (void)r;
            } else if (tag == &tag_listen) {
                if (c->fd >= 0)
                    accept_clients(c);
            } else {
                client_event(c, tag);
            }
        }
    } while (n == 32);
    settle(c);
    client_expire(c, sl_now_ms());
    resume_listener(c, sl_now_ms());
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
            finish(c, p);
    }
    /* What the socket did not take at once is not waited for. */
    while (c->clients != NULL)
        client_drop(c, c->clients);
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
