/* SPDX-License-Identifier: MIT */
/*
 * flaky.c: a test plugin that writes like the file plugin, one line per
 * message, but fails while the file fail_file exists: its write() then
 * answers fail_with ("fatal", the default, or "retry") without writing, so
 * integration tests can make an output fail for a while, as a read-only
 * file system or an immutable file does, and then recover, without root.
 *
 *     output "f" { type = "flaky", path = "out.log", format = "raw",
 *                  fail_file = "fail", fail_with = "fatal" }
 *
 * Its own counters (sluice-plugin.h: counters, stats()), for the stats
 * test: refused (write() calls it failed) and lines (lines written).
 */
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC under -std=c11 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sluice-plugin.h"

struct flaky {
    const struct sluice_host *host;
    const sluice_config *cfg;
    const char *path, *fail_file; /* borrowed from the config until close() */
    int fail_with;
    sluice_format *fmt; /* owned */
    int fd;
    struct sluice_buf buf; /* owned: the batch's lines */
    unsigned long long refused, lines; /* worker only, as stats() is */
};

static const char *const flaky_keys[] = {"path", "format", "fail_file", "fail_with", NULL};

static void flaky_close(void *state)
{
    struct flaky *s = state;
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    s->host->format_free(s->fmt);
    free(s->buf.data);
    free(s);
}

static int read_config(struct flaky *s, char *err, size_t errlen)
{
    const char *format = "raw", *with = "fatal";
    if (s->host->config_string(s->cfg, "path", &s->path) < 0
        || s->host->config_string(s->cfg, "fail_file", &s->fail_file) < 0) {
        snprintf(err, errlen, "keys \"path\" and \"fail_file\" (strings) are required");
        return -EINVAL;
    }
    (void)s->host->config_string(s->cfg, "format", &format);
    (void)s->host->config_string(s->cfg, "fail_with", &with);
    if (strcmp(with, "fatal") != 0 && strcmp(with, "retry") != 0) {
        snprintf(err, errlen, "key \"fail_with\" is \"fatal\" or \"retry\"");
        return -EINVAL;
    }
    s->fail_with = strcmp(with, "fatal") == 0 ? SLUICE_FATAL : SLUICE_RETRY;
    return s->host->format_new(format, &s->fmt, err, errlen);
}

static int flaky_open(const struct sluice_host *host, const sluice_config *cfg, void **state,
                      char *err, size_t errlen)
{
    struct flaky *s = calloc(1, sizeof *s);
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
        flaky_close(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* Nothing is written while fail_file exists, so a retry after either
 * answer writes the whole batch once. */
static int flaky_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    struct flaky *s = state;
    if (access(s->fail_file, F_OK) == 0) {
        s->refused++;
        return s->fail_with;
    }
    s->buf.len = 0;
    for (size_t i = 0; i < n; i++) {
        if (s->host->format_append(s->fmt, msgs[i], &s->buf) < 0)
            return SLUICE_RETRY;
    }
    for (size_t off = 0; off < s->buf.len;) {
        ssize_t w = write(s->fd, s->buf.data + off, s->buf.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return SLUICE_FATAL; /* a test's own file: not expected */
        off += (size_t)w;
    }
    s->lines += n;
    return SLUICE_OK;
}

static const char *const flaky_counters[] = {"refused", "lines", NULL};

static void flaky_stats(void *state, unsigned long long *values)
{
    const struct flaky *s = state;
    values[0] = s->refused;
    values[1] = s->lines;
}

static const struct sluice_output_plugin flaky_plugin = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_output_plugin),
    .name = "flaky",
    .description = "test plugin: the file plugin's lines, failing while fail_file exists",
    .keys = flaky_keys,
    .open = flaky_open,
    .write = flaky_write,
    .close = flaky_close,
    .counters = flaky_counters,
    .stats = flaky_stats,
};

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void);

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void)
{
    return &flaky_plugin;
}
