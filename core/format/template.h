/* SPDX-License-Identifier: MIT */
/*
 * template.h: templates, the formats written as text with {field}
 * placeholders (format.h): {fields.KEY} for an extra field, "{{" and "}}"
 * for literal braces.
 *
 * A template is compiled once into literal runs and fields, so a line is
 * one pass over the parts.
 *
 * Thread: a compiled template is read-only and may be rendered from any
 * thread; the stamp caches passed in are the caller's.
 */
#ifndef SL_FORMAT_TEMPLATE_H
#define SL_FORMAT_TEMPLATE_H

#include <stddef.h>

#include "common/msg.h"
#include "format/stamp.h"

struct sl_template_part;

/* Zeroed is empty; owned by the format object. */
struct sl_template {
    struct sl_template_part *parts;
    size_t nparts;
    char *lit; /* literal text of the template, unescaped, and extra fields' keys */
    size_t litlen;
};

/* Compiles spec into t (zeroed). -EINVAL with a reason in err, e.g.
 * "unknown field {hostnme} in template, did you mean {hostname}?", or
 * -ENOMEM with err untouched. On failure t may hold parts: free it. */
int sl_template_compile(struct sl_template *t, const char *spec, char *err, size_t errlen);

/* Frees what t holds (not t itself). */
void sl_template_free(struct sl_template *t);

/* The most bytes m's line through t takes, its newline included. */
size_t sl_template_bound(const struct sl_template *t, const struct sl_msg *m);

/* Writes m through t at w (no newline), its times through s. Returns the
 * advanced cursor; the caller reserved sl_template_bound(t, m) bytes. */
char *sl_template_render(const struct sl_template *t, struct sl_stamps *s,
                         const struct sl_msg *m, char *w);

#endif /* SL_FORMAT_TEMPLATE_H */
