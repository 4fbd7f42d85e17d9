/* SPDX-License-Identifier: MIT */
/*
 * badabi.c: a plugin built for an ABI this sluiced does not speak. The loader
 * must refuse it by name and path, before calling anything but the entry
 * point; the callbacks below fail loudly if it ever does.
 */
#include <errno.h>
#include <stdio.h>

#include "sluice-plugin.h"

static int badabi_open(const struct sluice_host *host, const sluice_config *cfg, void **state,
                       char *err, size_t errlen)
{
    snprintf(err, errlen, "badabi: open() must never be called");
    return -EPROTO;
}

static int badabi_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    return SLUICE_FATAL;
}

static void badabi_close(void *state)
{
}

static const struct sluice_output_plugin badabi_plugin = {
    .abi_version = 99,
    .size = sizeof(struct sluice_output_plugin),
    .name = "badabi",
    .description = "test plugin claiming ABI version 99",
    .keys = NULL,
    .open = badabi_open,
    .write = badabi_write,
    .close = badabi_close,
};

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void);

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void)
{
    return &badabi_plugin;
}
