/* SPDX-License-Identifier: MIT */
/*
 * plugin.h: finding, loading and checking output plugins, and the host
 * function table they are given.
 *
 * A plugin of type NAME is found as DIR/NAME.so, DIR/NAME/.libs/NAME.so
 * (libtool's build tree, so a build's plugins/ folder works as a DIR) or
 * DIR/.libs/NAME.so, for each DIR of the search path in order: the
 * caller's dirs (sluiced's -P, then settings.plugin_path), then
 * $SLUICE_PLUGIN_PATH, then the installed directory. This file is the one
 * place that reads $SLUICE_PLUGIN_PATH. The loader checks, before anything
 * else, that the entry symbol exists and that the descriptor's abi_version
 * and size are ones this daemon knows, and refuses the plugin by name and
 * path otherwise.
 *
 * Threads (who calls what, where):
 *   main thread   sl_plugin_load(), sl_plugin_unload(), sl_plugin_check(),
 *                 and through the sink: the plugin's open(), check(), the
 *                 last flush() at shutdown, and close() (after the output's
 *                 worker has stopped);
 *   sink worker   the plugin's write(), abandon(), tick(), flush() and
 *                 reopen() (sluicectl, SIGUSR1), one at a time per
 *                 instance, so an instance's state needs no lock;
 *   any thread    sl_plugin_host() and every host function, which keep no
 *                 state but a format object's, used by one thread at a time.
 * Instances of one plugin run on their own workers at once: what a plugin
 * shares between instances needs its own lock. A struct sl_plugin is
 * read-only once sl_plugin_load() returns, so the worker reads p->api
 * without a lock; the main thread unloads it after close().
 */
#ifndef SL_PLUGIN_H
#define SL_PLUGIN_H

#include "conf/lua_config.h"
#include "sluice-plugin.h"

/* Room for a plugin counter's name and its NUL (the loader refuses longer). */
#define SL_COUNTER_NAME 32

struct sl_plugin {
    char *name;   /* owned: the type (or the plugin path) it was loaded as */
    char *path;   /* owned: the file dlopen() opened */
    void *handle; /* owned: dlclose() in sl_plugin_unload() */
    /* Points at desc: the plugin's descriptor copied as far as its size
     * goes, so members appended after the plugin was built are NULL and
     * may be read directly; api->size stays the plugin's own. */
    const struct sluice_output_plugin *api;
    struct sluice_output_plugin desc;
};

/* Loads the plugin for type `name`, or the file `path` when not NULL,
 * searching `search` (borrowed) then $SLUICE_PLUGIN_PATH then the
 * installed directory; *out is the caller's, for sl_plugin_unload().
 * On failure returns a negative errno and a reason in err, like
 * `plugin "file": "/x/file.so" has ABI version 7, this sluiced speaks 1`. */
int sl_plugin_load(const char *name, const char *path, const struct sl_strlist *search,
                   struct sl_plugin **out, char *err, size_t errlen);
void sl_plugin_unload(struct sl_plugin *p); /* NULL is a no-op */

/* Appends "FILE:LINE: output "NAME": unknown key 'K' for type "T"" (with
 * sl_closest()'s "did you mean") for each key of o the plugin does not
 * list, then, whatever the keys, each reason of the plugin's own check()
 * (a bad format, a missing path), if it has one: its err may hold several,
 * separated by '\n', each appended as "FILE:LINE: output "NAME" (T): reason".
 * Borrows p and o; errs owns what is appended. Main thread. */
void sl_plugin_check(const struct sl_plugin *p, const struct sl_output_conf *o,
                     struct sl_errors *errs);

/* Appends to out the name of every plugin found on the search path (the
 * layouts sl_plugin_load() looks for; each name once), for a "did you
 * mean" on an unknown type. 0, or -ENOMEM with out holding what was
 * found. Thread: any. */
int sl_plugin_names(const struct sl_strlist *search, struct sl_strlist *out);

/* The host function table handed to open(). Static, valid forever. */
const struct sluice_host *sl_plugin_host(void);

/* The sluice_config handle for an output's settings. */
static inline const sluice_config *sl_plugin_config(const struct sl_output_conf *o)
{
    return (const sluice_config *)o;
}

#endif /* SL_PLUGIN_H */
