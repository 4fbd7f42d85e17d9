/* SPDX-License-Identifier: MIT */
/*
 * oot_plugin.c: an output plugin built out of tree, the way a user would
 * build one, against the installed sluice-plugin.h found by pkg-config:
 *
 *     cc -shared -fPIC $(pkg-config --cflags sluice-plugin) -o oot.so oot_plugin.c
 *
 * test_out_of_tree_plugin.py builds it and runs it in the real daemon. It
 * writes one "{app_name}: {msg}" line per message to the file named by the
 * "path" key, formatted by the host (host->format_new, host->format_append),
 * so it exercises the config getters, the formatter and the log function.
 * It must include nothing of the daemon's but the public header.
 */
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC, even under -std=c11 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice-plugin.h>

struct oot {
    const struct sluice_host *host;
    const sluice_config *cfg;
    const char *path;     /* borrowed from the host until close() */
    sluice_format *fmt;   /* owned */
    int fd;
    struct sluice_buf buf; /* owned; data freed in close() */
    size_t off;            /* bytes of buf already written; off < buf.len: a retry pends */
};

static const char *const oot_keys[] = { "path", NULL };

static int open_file(struct oot *s)
{
    int fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = fd;
    return 0;
}

static void oot_close(void *state)
{
    struct oot *s = state;
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    s->host->format_free(s->fmt);
    free(s->buf.data);
    free(s);
}

static int oot_open(const struct sluice_host *host, const sluice_config *cfg, void **state,
                    char *err, size_t errlen)
{
    if (host->abi_version != SLUICE_PLUGIN_ABI_VERSION) {
        snprintf(err, errlen, "host speaks ABI %u, plugin %d", (unsigned)host->abi_version,
                 SLUICE_PLUGIN_ABI_VERSION);
        return -EINVAL;
    }
    struct oot *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    s->host = host;
    s->cfg = cfg;
    s->fd = -1;

    int rc = host->config_string(cfg, "path", &s->path);
    if (rc < 0) {
        snprintf(err, errlen, "%s", rc == -ENOENT ? "key \"path\" is required"
                                                  : "key \"path\" must be a string");
        goto fail;
    }
    rc = host->format_new("{app_name}: {msg}", &s->fmt, err, errlen);
    if (rc < 0)
        goto fail;
    rc = open_file(s);
    if (rc < 0) {
        snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", s->path, -rc, strerror(-rc));
        goto fail;
    }
    host->log(cfg, SLUICE_LOG_INFO, "oot plugin writing to \"%s\"", s->path);
    *state = s;
    return 0;

fail:
    oot_close(s);
    return rc;
}

static int oot_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    struct oot *s = state;

    /* After SLUICE_RETRY the same batch comes again (unless abandon() was
     * called, which empties buf): finish what is left of it rather than
     * formatting it twice. */
    if (s->off == s->buf.len) {
        s->buf.len = 0;
        s->off = 0;
        for (size_t i = 0; i < n; i++) {
            if (s->host->format_append(s->fmt, msgs[i], &s->buf) < 0) {
                s->buf.len = 0;
                return SLUICE_RETRY;
            }
        }
    }
    while (s->off < s->buf.len) {
        ssize_t w = write(s->fd, s->buf.data + s->off, s->buf.len - s->off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            s->host->log(s->cfg, SLUICE_LOG_ERR, "write() \"%s\" failed (%d: %s)", s->path,
                         errno, strerror(errno));
            return SLUICE_RETRY;
        }
        s->off += (size_t)w;
    }
    return SLUICE_OK;
}

/* The daemon gave up the batch that answered RETRY: drop its rest, so the
 * next batch is formatted and written, not reported written unseen. */
static void oot_abandon(void *state)
{
    struct oot *s = state;
    s->buf.len = 0;
    s->off = 0;
}

static int oot_reopen(void *state)
{
    struct oot *s = state;
    int rc = open_file(s);
    if (rc < 0) {
        s->host->log(s->cfg, SLUICE_LOG_ERR, "open() \"%s\" failed (%d: %s)", s->path, -rc,
                     strerror(-rc));
        return SLUICE_RETRY;
    }
    return SLUICE_OK;
}

static const struct sluice_output_plugin oot_plugin = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_output_plugin),
    .name = "oot",
    .description = "test plugin built out of tree: \"{app_name}: {msg}\" lines",
    .keys = oot_keys,
    .open = oot_open,
    .write = oot_write,
    .flush = NULL,
    .reopen = oot_reopen,
    .close = oot_close,
    .abandon = oot_abandon,
};

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void);

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void)
{
    return &oot_plugin;
}
