/*
 * control.c: the control socket. Served on the main thread, one short
 * request at a time: a client that sends nothing is dropped after a second,
 * so it cannot stall signal handling for long.
 */
#include "daemon/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "common/log.h"
#include "common/util.h"
#include "common/alloc.h"

struct sl_control {
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

int sl_control_open(struct sl_control **out, const char *path, char *err, size_t errlen)
{
    struct sl_control *c = sl_calloc(1, sizeof *c);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (c == NULL)
        return -ENOMEM;
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "control socket path \"%s\" is too long", path);
        free(c);
        return -ENAMETOOLONG;
    }
    memcpy(c->path, path, strlen(path) + 1);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int rc = sl_mkdir_parents(path);
    if (rc == 0)
        rc = sl_remove_stale_socket(path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(0177); /* the socket file: 0600 */
    if (rc < 0 || c->fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(c->fd, 16) < 0) {
        rc = rc < 0 ? rc : -errno;
        umask(old);
        snprintf(err, errlen, "control socket: bind() \"%s\" failed (%d: %s)", path, -rc,
                 strerror(-rc));
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        return rc;
    }
    umask(old);
    *out = c;
    return 0;
}

int sl_control_fd(const struct sl_control *c)
{
    return c->fd;
}

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

static void reply_errors(int fd, const struct sl_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++) {
        reply(fd, "error: ", 7);
        reply(fd, errs->v[i], strlen(errs->v[i]));
        reply(fd, "\n", 1);
    }
    if (errs->n == 0)
        reply(fd, "error: failed\n", 14);
}

static void run(struct sl_daemon *d, int fd, const char *cmd)
{
    if (strcmp(cmd, "stats") == 0) {
        struct sluice_buf b = {0};
        if (sl_daemon_stats(d, &b) == 0 && sl_buf_append(&b, "\n", 1) == 0)
            reply(fd, b.data, b.len);
        else
            reply(fd, "error: out of memory\n", 21);
        free(b.data);
    } else if (strcmp(cmd, "reload") == 0) {
        struct sl_errors errs = {0};
        if (sl_daemon_reload(d, &errs) == 0)
            reply(fd, "ok\n", 3);
        else
            reply_errors(fd, &errs);
        sl_errors_clear(&errs);
    } else if (strcmp(cmd, "reopen") == 0) {
        if (sl_daemon_reopen(d) == 0)
            reply(fd, "ok\n", 3);
        else
            reply(fd, "error: an output did not reopen in time\n", 40);
    } else if (strcmp(cmd, "flush") == 0) {
        if (sl_daemon_flush(d) == 0)
            reply(fd, "ok\n", 3);
        else
            reply(fd, "error: an output did not flush in time\n", 39);
    } else {
        char msg[160];
        int n = snprintf(msg, sizeof msg,
                         "error: unknown command \"%.64s\" (stats, reload, reopen, flush)\n", cmd);
        reply(fd, msg, (size_t)n);
    }
}

void sl_control_serve(struct sl_control *c, struct sl_daemon *d)
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
    if (len > 0)
        run(d, fd, line);
    close(fd);
}

void sl_control_close(struct sl_control *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    unlink(c->path);
    free(c);
}
