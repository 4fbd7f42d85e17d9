/* SPDX-License-Identifier: MIT */
/*
 * oldabi.c: a plugin as built against an older header of ABI version 1,
 * whose descriptor ends before the members appended since. Built twice:
 * oldabi_v1 (OLDABI_LAST=close: the first release, no check()) and
 * oldabi_check (OLDABI_LAST=check: before abandon() and tick()).
 *
 * The old descriptor is followed in memory by trap pointers, so a loader
 * that reads past `size` sees non-NULL members even without ASan (which
 * would report the overflow as well).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "sluice-plugin.h"

#if !defined(OLDABI_LAST_CLOSE) && !defined(OLDABI_LAST_CHECK)
#error "build with -DOLDABI_LAST_CLOSE or -DOLDABI_LAST_CHECK"
#endif

/* The descriptor as the older header declared it. */
struct old_descriptor {
    uint32_t abi_version;
    uint32_t size;
    const char *name;
    const char *description;
    const char *const *keys;
    int (*open)(const struct sluice_host *, const sluice_config *, void **, char *, size_t);
    int (*write)(void *, const sluice_msg *const *, size_t);
    int (*flush)(void *);
    int (*reopen)(void *);
    void (*close)(void *);
#ifdef OLDABI_LAST_CHECK
    int (*check)(const struct sluice_host *, const sluice_config *, char *, size_t);
#endif
};

#ifdef OLDABI_LAST_CHECK
#define OLDABI_NAME "oldabi_check"
_Static_assert(sizeof(struct old_descriptor) == offsetof(struct sluice_output_plugin, abandon),
               "the old descriptor ends where abandon() begins");
#else
#define OLDABI_NAME "oldabi_v1"
_Static_assert(sizeof(struct old_descriptor) == offsetof(struct sluice_output_plugin, check),
               "the old descriptor ends where check() begins");
#endif

static int old_open(const struct sluice_host *host, const sluice_config *cfg, void **state,
                    char *err, size_t errlen)
{
    *state = NULL;
    return 0;
}

static int old_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    return SLUICE_OK;
}

static void old_close(void *state)
{
}

#ifdef OLDABI_LAST_CHECK
static int old_check(const struct sluice_host *host, const sluice_config *cfg, char *err,
                     size_t errlen)
{
    snprintf(err, errlen, "oldabi: check() was called");
    return -EINVAL;
}
#endif

/* Never a member the loader may read: what lies past the old end. */
static void trap(void)
{
}

static const struct {
    struct old_descriptor d;
    void (*after[4])(void);
} old = {
    .d = {
        .abi_version = SLUICE_PLUGIN_ABI_VERSION,
        .size = sizeof(struct old_descriptor),
        .name = OLDABI_NAME,
        .description = "test plugin with a descriptor from an older header",
        .open = old_open,
        .write = old_write,
        .close = old_close,
#ifdef OLDABI_LAST_CHECK
        .check = old_check,
#endif
    },
    .after = {trap, trap, trap, trap},
};

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void);

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void)
{
    return (const struct sluice_output_plugin *)&old.d;
}
