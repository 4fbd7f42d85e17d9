/* SPDX-License-Identifier: MIT */
/*
 * slow.c: a test plugin that writes like the file plugin, one line per
 * message, but sleeps delay_ms after each message, so integration tests can
 * fill an output's queue and watch the drop and block policies. reopen()
 * takes reopen_ms and answers RETRY with reopen_fails, and flush() answers
 * RETRY with flush_fails, so tests can watch how the daemon waits for and
 * reports them. write() answers RETRY, writing nothing, with write_fails:
 * a stuck output (a full disk), for shutdown and reload tests.
 * batch_delay_ms sleeps once per write() instead: an output slower than
 * its senders by a rate rather than per message (the disk queue's load test).
 *
 *     output "slow" { type = "slow", path = "out.log", format = "raw", delay_ms = 10,
 *                     reopen_ms = 500, reopen_fails = true, flush_fails = false,
 *                     write_fails = false }
 */
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC, nanosleep under -std=c11 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sluice-plugin.h"

struct slow {
    const struct sluice_host *host;
    const sluice_config *cfg;
    const char *path;      /* borrowed from the config until close() */
    sluice_format *fmt;    /* owned */
    long long delay_ms;
    long long batch_delay_ms;
    long long reopen_ms;
    int reopen_fails, flush_fails, write_fails;
    int fd;
    struct sluice_buf buf; /* owned: one line */
};

static const char *const slow_keys[] = {"path",      "format",       "delay_ms", "reopen_ms",
                                        "reopen_fails", "flush_fails", "write_fails",
                                        "batch_delay_ms", NULL};

static void slow_close(void *state)
{
    struct slow *s = state;
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    s->host->format_free(s->fmt);
    free(s->buf.data);
    free(s);
}

static int read_config(struct slow *s, char *err, size_t errlen)
{
    const char *format = "raw";
    if (s->host->config_string(s->cfg, "path", &s->path) < 0) {
        snprintf(err, errlen, "key \"path\" (a string) is required");
        return -EINVAL;
    }
    if (s->host->config_string(s->cfg, "format", &format) == -EINVAL) {
        snprintf(err, errlen, "key \"format\" must be a string");
        return -EINVAL;
    }
    s->delay_ms = 10;
    int rc = s->host->config_int(s->cfg, "delay_ms", &s->delay_ms);
    if (rc == -EINVAL || s->delay_ms < 0 || s->delay_ms > 60000) {
        snprintf(err, errlen, "key \"delay_ms\" must be an integer from 0 to 60000");
        return -EINVAL;
    }
    s->batch_delay_ms = 0;
    rc = s->host->config_int(s->cfg, "batch_delay_ms", &s->batch_delay_ms);
    if (rc == -EINVAL || s->batch_delay_ms < 0 || s->batch_delay_ms > 60000) {
        snprintf(err, errlen, "key \"batch_delay_ms\" must be an integer from 0 to 60000");
        return -EINVAL;
    }
    s->reopen_ms = 0;
    rc = s->host->config_int(s->cfg, "reopen_ms", &s->reopen_ms);
    if (rc == -EINVAL || s->reopen_ms < 0 || s->reopen_ms > 60000) {
        snprintf(err, errlen, "key \"reopen_ms\" must be an integer from 0 to 60000");
        return -EINVAL;
    }
    if (s->host->config_bool(s->cfg, "reopen_fails", &s->reopen_fails) == -EINVAL
        || s->host->config_bool(s->cfg, "flush_fails", &s->flush_fails) == -EINVAL
        || s->host->config_bool(s->cfg, "write_fails", &s->write_fails) == -EINVAL) {
        snprintf(err, errlen, "keys \"reopen_fails\", \"flush_fails\" and \"write_fails\" "
                 "are booleans");
        return -EINVAL;
    }
    return s->host->format_new(format, &s->fmt, err, errlen);
}

static int slow_open(const struct sluice_host *host, const sluice_config *cfg, void **state,
                     char *err, size_t errlen)
{
    struct slow *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    s->host = host;
    s->cfg = cfg;
    s->fd = -1;
    int rc = read_config(s, err, errlen);
    if (rc == 0) {
        s->fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (s->fd < 0) {
            rc = -errno;
            snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", s->path, -rc, strerror(-rc));
        }
    }
    if (rc < 0) {
        slow_close(s);
        return rc;
    }
    *state = s;
    return 0;
}

static void sleep_ms(long long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* One write() per message, then the delay: a deliberately slow output. */
static int slow_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    struct slow *s = state;
    if (s->write_fails)
        return SLUICE_RETRY;
    for (size_t i = 0; i < n; i++) {
        s->buf.len = 0;
        if (s->host->format_append(s->fmt, msgs[i], &s->buf) < 0)
            return SLUICE_FATAL;
        for (size_t off = 0; off < s->buf.len;) {
            ssize_t w = write(s->fd, s->buf.data + off, s->buf.len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                s->host->log(s->cfg, SLUICE_LOG_ERR, "write() \"%s\" failed (%d: %s)", s->path,
                             errno, strerror(errno));
                return SLUICE_FATAL;
            }
            off += (size_t)w;
        }
        if (s->delay_ms > 0)
            sleep_ms(s->delay_ms);
    }
    if (s->batch_delay_ms > 0)
        sleep_ms(s->batch_delay_ms);
    return SLUICE_OK;
}

/* Keeps writing to the same file: the test is in how long it takes and
 * what it answers. */
static int slow_reopen(void *state)
{
    struct slow *s = state;
    if (s->reopen_ms > 0)
        sleep_ms(s->reopen_ms);
    if (s->reopen_fails) {
        s->host->log(s->cfg, SLUICE_LOG_ERR, "reopen_fails is set: reopen() answers RETRY");
        return SLUICE_RETRY;
    }
    return SLUICE_OK;
}

static int slow_flush(void *state)
{
    struct slow *s = state;
    return s->flush_fails ? SLUICE_RETRY : SLUICE_OK;
}

static const struct sluice_output_plugin slow_plugin = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_output_plugin),
    .name = "slow",
    .description = "test plugin: the file plugin's lines, delay_ms per message",
    .keys = slow_keys,
    .open = slow_open,
    .write = slow_write,
    .flush = slow_flush,
    .reopen = slow_reopen,
    .close = slow_close,
};

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void);

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void)
{
    return &slow_plugin;
}
