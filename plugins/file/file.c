/*
 * file.c: the `file` output plugin: one line per message, appended to a file.
 *
 *     output "messages" { type = "file", path = "var/log/messages", format = "rfc3164",
 *                         mode = "0640", sync = false }
 *
 * A batch is formatted into one reused buffer and written with as few
 * write() calls as the kernel allows. When the disk is full (or another error
 * that may pass) the unwritten rest stays in the buffer and write() answers
 * SLUICE_RETRY; the header's batch contract says the next write() is the same
 * batch again unless abandon() came first, so we write that rest instead of
 * formatting the batch anew: nothing is lost and nothing is written twice.
 * abandon() drops the rest. reopen() follows logrotate's rename-then-signal.
 *
 * This file includes nothing of the daemon's but the public header.
 */
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC, fdatasync under -std=c11 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sluice-plugin.h"

struct file_out {
    const struct sluice_host *host;
    const sluice_config *cfg;
    const char *path;      /* borrowed from the config until close() */
    sluice_format *fmt;    /* owned */
    mode_t mode;
    bool sync;
    int fd;
    struct sluice_buf buf; /* owned: the formatted batch */
    size_t off;            /* bytes of buf already written; off < buf.len: a retry pends */
    bool failing; /* the last write failed: log once per failure streak */
};

static const char *const file_keys[] = {"path", "format", "mode", "sync", NULL};

/* {=== opening */
/* Creates the missing parent directories of path, as mkdir -p does. */
static int make_parents(const char *path)
{
    char *dir = strdup(path);
    if (dir == NULL)
        return -ENOMEM;
    int rc = 0;
    for (char *p = strchr(dir + 1, '/'); p != NULL && rc == 0; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            rc = -errno;
        *p = '/';
    }
    free(dir);
    return rc;
}

/* Opens path for appending. A file we create gets exactly `mode`, whatever
 * the daemon's umask; an existing file keeps its permissions. */
static int open_path(const char *path, mode_t mode)
{
    const int flags = O_WRONLY | O_APPEND | O_CLOEXEC;
    for (int tries = 0; tries < 3; tries++) {
        int fd = open(path, flags | O_CREAT | O_EXCL, mode);
        if (fd >= 0) {
            (void)fchmod(fd, mode);
            return fd;
        }
        if (errno == ENOENT) {
            int rc = make_parents(path);
            if (rc < 0)
                return rc;
            continue;
        }
        if (errno != EEXIST)
            return -errno;
        fd = open(path, flags);
        if (fd >= 0 || errno != ENOENT)
            return fd >= 0 ? fd : -errno;
        /* Removed between the two opens: try again. */
    }
    return -ENOENT;
}

static int parse_mode(const char *s, mode_t *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 8);
    if (s[0] < '0' || s[0] > '7' || *end != '\0' || errno != 0 || v > 07777)
        return -EINVAL;
    *out = (mode_t)v;
    return 0;
}

/* Reads the keys; on failure writes the reason into err. */
static int read_config(struct file_out *s, char *err, size_t errlen)
{
    const struct sluice_host *h = s->host;
    const char *format = "rfc3164", *mode = "0640";
    int sync = 0, rc;

    if ((rc = h->config_string(s->cfg, "path", &s->path)) < 0) {
        snprintf(err, errlen, "key \"path\" %s", rc == -ENOENT ? "is required"
                                                                : "must be a string");
        return -EINVAL;
    }
    if ((rc = h->config_string(s->cfg, "format", &format)) == -EINVAL) {
        snprintf(err, errlen, "key \"format\" must be a string");
        return -EINVAL;
    }
    /* Lua has no octal literals: mode = 0640 would be decimal 640. */
    if ((rc = h->config_string(s->cfg, "mode", &mode)) == -EINVAL
        || parse_mode(mode, &s->mode) < 0) {
        snprintf(err, errlen, "key \"mode\" must be a string of octal digits such as \"0640\"");
        return -EINVAL;
    }
    if ((rc = h->config_bool(s->cfg, "sync", &sync)) == -EINVAL) {
        snprintf(err, errlen, "key \"sync\" must be true or false");
        return -EINVAL;
    }
    s->sync = sync != 0;
    return h->format_new(format, &s->fmt, err, errlen);
}

static void file_close(void *state)
{
    struct file_out *s = state;
    if (s == NULL)
        return;
    if (s->fd >= 0) {
        if (s->sync)
            (void)fdatasync(s->fd);
        close(s->fd);
    }
    s->host->format_free(s->fmt);
    free(s->buf.data);
    free(s);
}

static int file_check(const struct sluice_host *host, const sluice_config *cfg, char *err,
                      size_t errlen)
{
    struct file_out *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    s->host = host;
    s->cfg = cfg;
    s->fd = -1;
    int rc = read_config(s, err, errlen);
    file_close(s);
    return rc;
}

static int file_open(const struct sluice_host *host, const sluice_config *cfg, void **state,
                     char *err, size_t errlen)
{
    struct file_out *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    s->host = host;
    s->cfg = cfg;
    s->fd = -1;
    int rc = read_config(s, err, errlen);
    if (rc < 0) {
        file_close(s);
        return rc;
    }
    rc = open_path(s->path, s->mode);
    if (rc < 0) {
        snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", s->path, -rc, strerror(-rc));
        file_close(s);
        return rc;
    }
    s->fd = rc;
    *state = s;
    return 0;
}
/* }=== */

/* {=== writing */
/* Errors a full disk, a quota or a flaky device give: they may pass. */
static bool may_pass(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EIO || e == EAGAIN || e == EWOULDBLOCK;
}

/* Writes what is left of buf. 0, or the errno of the write that failed. */
static int write_rest(struct file_out *s)
{
    while (s->off < s->buf.len) {
        ssize_t w = write(s->fd, s->buf.data + s->off, s->buf.len - s->off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        s->off += (size_t)w;
    }
    return 0;
}

static int format_batch(struct file_out *s, const sluice_msg *const *msgs, size_t n)
{
    s->buf.len = 0;
    s->off = 0;
    for (size_t i = 0; i < n; i++) {
        if (s->host->format_append(s->fmt, msgs[i], &s->buf) < 0) {
            s->buf.len = 0;
            return -ENOMEM;
        }
    }
    return 0;
}

static int file_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    struct file_out *s = state;
    /* Unwritten bytes mean this is the batch that answered RETRY: a
     * batch the daemon gave up was dropped by abandon(). */
    bool retried = s->off < s->buf.len;
    if (!retried && format_batch(s, msgs, n) < 0) {
        s->host->log(s->cfg, SLUICE_LOG_ERR, "out of memory formatting %zu messages", n);
        return SLUICE_RETRY;
    }
    int e = write_rest(s);
    if (e == 0) {
        if (s->failing)
            s->host->log(s->cfg, SLUICE_LOG_NOTICE, "write() \"%s\" works again", s->path);
        s->failing = false;
        /* The bytes are the kernel's now: retrying after a failed
         * fdatasync() would only write them twice. */
        if (s->sync && fdatasync(s->fd) < 0)
            s->host->log(s->cfg, SLUICE_LOG_ERR, "fdatasync() \"%s\" failed (%d: %s)", s->path,
                         errno, strerror(errno));
        return SLUICE_OK;
    }
    if (!s->failing || !may_pass(e))
        s->host->log(s->cfg, SLUICE_LOG_ERR, "write() \"%s\" failed (%d: %s)%s", s->path, e,
                     strerror(e), may_pass(e) ? ", will retry" : "");
    if (may_pass(e)) {
        s->failing = true;
        return SLUICE_RETRY;
    }
    s->buf.len = s->off = 0;
    return SLUICE_FATAL;
}

/* The daemon gave up the batch that answered RETRY: its rest must not leak
 * into the next batch. Worker thread. */
static void file_abandon(void *state)
{
    struct file_out *s = state;
    s->buf.len = s->off = 0;
}

static int file_flush(void *state)
{
    struct file_out *s = state;
    if (fdatasync(s->fd) < 0 && errno != EINVAL) { /* EINVAL: a pipe or tty */
        s->host->log(s->cfg, SLUICE_LOG_ERR, "fdatasync() \"%s\" failed (%d: %s)", s->path, errno,
                     strerror(errno));
        return SLUICE_RETRY;
    }
    return SLUICE_OK;
}

/* logrotate renamed the file: open the path anew. If that fails, keep
 * writing to the old file rather than losing messages. */
static int file_reopen(void *state)
{
    struct file_out *s = state;
    int fd = open_path(s->path, s->mode);
    if (fd < 0) {
        s->host->log(s->cfg, SLUICE_LOG_ERR, "open() \"%s\" failed (%d: %s), still writing to "
                     "the old file", s->path, -fd, strerror(-fd));
        return SLUICE_RETRY;
    }
    if (s->sync)
        (void)fdatasync(s->fd);
    close(s->fd);
    s->fd = fd;
    return SLUICE_OK;
}
/* }=== */

static const struct sluice_output_plugin file_plugin = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_output_plugin),
    .name = "file",
    .description = "appends one formatted line per message to a file",
    .keys = file_keys,
    .open = file_open,
    .write = file_write,
    .flush = file_flush,
    .reopen = file_reopen,
    .close = file_close,
    .check = file_check,
    .abandon = file_abandon,
};

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void);

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void)
{
    return &file_plugin;
}
