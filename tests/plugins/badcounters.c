/* SPDX-License-Identifier: MIT */
/*
 * badcounters.c: a plugin whose counter names the stats JSON could not
 * carry as keys ("Open Files" has a capital and a space). The loader must
 * refuse it by name and path before calling anything but the entry point;
 * the callbacks below fail loudly if it ever does.
 */
#include <errno.h>
#include <stdio.h>

#include "sluice-plugin.h"

static int bc_open(const struct sluice_host *host, const sluice_config *cfg, void **state,
                   char *err, size_t errlen)
{
    snprintf(err, errlen, "badcounters: open() must never be called");
    return -EPROTO;
}

static int bc_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    return SLUICE_FATAL;
}

static void bc_close(void *state)
{
}

static void bc_stats(void *state, unsigned long long *values)
{
    values[0] = 0;
}

static const char *const bc_counters[] = {"Open Files", NULL};

static const struct sluice_output_plugin bc_plugin = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_output_plugin),
    .name = "badcounters",
    .description = "test plugin with a counter name the stats cannot show",
    .open = bc_open,
    .write = bc_write,
    .close = bc_close,
    .counters = bc_counters,
    .stats = bc_stats,
};

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void);

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void)
{
    return &bc_plugin;
}
