/*
 * plugin.h: finding, loading and checking output plugins, and the host
 * function table they are given.
 *
 * A plugin of type NAME is found as DIR/NAME.so, or DIR/NAME/.libs/NAME.so
 * (libtool's build tree, so a build's plugins/ folder works as a DIR), for
 * each DIR of the search path in order. The loader checks, before anything
 * else, that the entry symbol exists and that the descriptor's abi_version
 * and size are ones this daemon knows, and refuses the plugin by name and
 * path otherwise.
 */
#ifndef SL_PLUGIN_H
#define SL_PLUGIN_H

#include "conf/lua_config.h"
#include "sluice-plugin.h"

struct sl_plugin {
    char *name;
    char *path;
    void *handle;
    const struct sluice_output_plugin *api;
};

/* Loads the plugin for type `name`, or the file `path` when not NULL.
 * On failure returns a negative errno and a reason in err, like
 * `plugin "file": "/x/file.so" has ABI version 7, this sluiced speaks 1`. */
int sl_plugin_load(const char *name, const char *path, const struct sl_strlist *search,
                   struct sl_plugin **out, char *err, size_t errlen);
void sl_plugin_unload(struct sl_plugin *p); /* NULL is a no-op */

/* Appends "FILE:LINE: output "NAME": unknown key "K" for type "T"" (with a
 * "did you mean" where close) for each key of o the plugin does not list;
 * when every key is known, also the complaint of the plugin's own check()
 * (a bad format, a missing path), if it has one. */
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
