/* SPDX-License-Identifier: MIT */
/*
 * tpl.h: perproc's `name` template, "{app_name}/{pid}.log": compiled once
 * (with every rule that keeps the names safe checked there, so --check
 * reports it), rendered per message into a path relative to `dir`.
 *
 * Text between fields is the administrator's and is copied as it is; '/'
 * in it makes subdirectories. Each field's value becomes encoded text
 * (lib/name_enc.h) inside one component, so no value can add a '/', a
 * "." or a "..". Fields: the text fields of a message by their template
 * names (app_name, procid, hostname, msgid, facility, severity, input,
 * peer, ...), the numbers (pri, version, uid, gid), {pid} (the kernel's
 * pid for a message from a unix socket, else PROCID) and {fields.KEY}.
 *
 * Threads: compile on either thread (no side effect); render on the
 * worker; a compiled template is read-only.
 */
#ifndef PP_TPL_H
#define PP_TPL_H

#include <stdbool.h>
#include <stddef.h>

#include "sluice-plugin.h"

#define PP_NAME_MAX 1024 /* the longest rendered name, '/'s included */

struct pp_part;

struct pp_tpl {
    struct pp_part *parts; /* owned */
    size_t n;
    char *text;            /* owned: the literal runs and extra-field keys */
};

/* Compiles spec into t (which starts as {0}); with rotate, the last
 * component must end in literal text whose last byte is not a digit (so a
 * live name never ends like the ".N" of an old rotated one). Returns 0,
 * or -EINVAL with the reason in err (-ENOMEM: "out of memory"); t is then
 * freed. */
int pp_tpl_compile(struct pp_tpl *t, const char *spec, bool rotate, char *err, size_t errlen);

/* Renders m's name into out (room for PP_NAME_MAX + 1 bytes, NUL-ended);
 * returns its length. h's accessors are called; m is only read. */
size_t pp_tpl_render(const struct pp_tpl *t, const struct sluice_host *h, const sluice_msg *m,
                     char *out);

void pp_tpl_free(struct pp_tpl *t); /* t is {0} after; {0} is a no-op */

#endif /* PP_TPL_H */
