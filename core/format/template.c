/* SPDX-License-Identifier: MIT */
/*
 * template.c: {field} templates (template.h): compiled once, rendered per
 * line with the shared cursor writers (writer.h).
 */
#include "format/template.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "common/fields.h"
#include "format/writer.h"
#include "common/util.h"
#include "common/alloc.h"

/* One piece of a template: literal text (field == 0), a field, or an extra
 * field {fields.KEY} (field == F_EXTRA). */
struct sl_template_part {
    int field;       /* enum sluice_field, 0 for a literal, or F_EXTRA */
    size_t off, len; /* a literal's, or an extra field's key's, span in sl_template.lit */
};

#define F_EXTRA (-1)
#define EXTRA_PREFIX "fields."
/* {tag}: rsyslog's %syslogtag% (put_tag). A template field only, not in
 * the field table: it is no member of the message but read back from raw
 * or built, and Lua and matches have app_name and procid. */
#define F_TAG (-2)
#define TAG_NAME "tag"

/* {=== field names */
static const char *const field_names[SL_FIELD_END] = SL_FIELD_NAMES;

int sl_field_from_name(const char *name, size_t len)
{
    for (int i = 1; i < SL_FIELD_END; i++) {
        if (strlen(field_names[i]) == len && memcmp(field_names[i], name, len) == 0)
            return i;
    }
    return -1;
}

/* The field name nearest name[0..len), or NULL (sl_closest's rule). */
static const char *closest_field(const char *name, size_t len)
{
    return sl_closest(name, len, field_names + 1, SL_FIELD_END - 1);
}
/* }=== */

/* {=== rendering and compiling */
/* The text of a text field (raw without its line end); NIL for the others. */
static struct sl_str text_of(const struct sl_msg *m, int field)
{
    struct sl_str s;
    if (field == SLUICE_FIELD_RAW)
        return raw_line(m);
    return sl_field_text(m, field, &s) == 0 ? s : SL_STR_NIL;
}

/* The value of the extra field a part names; NIL when the message lacks it. */
static struct sl_str extra_of(const struct sl_template *t, const struct sl_msg *m,
                              const struct sl_template_part *pt)
{
    const struct sl_field *x = sl_msg_extra(m, t->lit + pt->off, pt->len);
    return x != NULL ? x->value : SL_STR_NIL;
}

static char *put_cred(char *w, const struct sl_msg *m, unsigned long long v)
{
    return (m->flags & SL_MSG_HAS_CRED) ? put_uint(w, v) : w;
}

static char *render_field(struct sl_stamps *s, const struct sl_msg *m, int field, char *w)
{
    switch (field) {
    case SLUICE_FIELD_PRI: return put_uint(w, m->pri);
    case SLUICE_FIELD_FACILITY: return put_name(w, sl_facility_name(m->facility));
    case SLUICE_FIELD_SEVERITY: return put_name(w, sl_severity_name(m->severity));
    case SLUICE_FIELD_VERSION: return put_uint(w, m->version);
    case SLUICE_FIELD_TIMESTAMP: return sl_stamp_rfc3339(&s->ts, msg_time(m), w);
    case SLUICE_FIELD_RECEIVED: return sl_stamp_rfc3339(&s->rcv, &m->received, w);
    case SLUICE_FIELD_PID: return put_cred(w, m, (unsigned long long)m->pid);
    case SLUICE_FIELD_UID: return put_cred(w, m, (unsigned long long)m->uid);
    case SLUICE_FIELD_GID: return put_cred(w, m, (unsigned long long)m->gid);
    default: return put_field(w, text_of(m, field));
    }
}

char *sl_template_render(const struct sl_template *t, struct sl_stamps *s,
                         const struct sl_msg *m, char *w)
{
    for (size_t i = 0; i < t->nparts; i++) {
        const struct sl_template_part *pt = &t->parts[i];
        if (pt->field == 0)
            w = put(w, t->lit + pt->off, pt->len);
        else if (pt->field == F_EXTRA)
            w = put_field(w, extra_of(t, m, pt));
        else if (pt->field == F_TAG)
            w = put_tag(w, m, false);
        else
            w = render_field(s, m, pt->field, w);
    }
    return w;
}

static int add_part(struct sl_template *t, int field, size_t off, size_t len)
{
    if (field == 0 && len == 0)
        return 0; /* an empty literal run */
    struct sl_template_part *p = sl_realloc(t->parts, (t->nparts + 1) * sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    t->parts = p;
    t->parts[t->nparts++] = (struct sl_template_part){field, off, len};
    return 0;
}

static int unknown_field(const char *name, size_t len, char *err, size_t errlen)
{
    const char *near = closest_field(name, len);
    if (near == NULL && sl_closest(name, len, (const char *const[]){TAG_NAME}, 1) != NULL)
        near = TAG_NAME;
    if (near != NULL)
        snprintf(err, errlen, "unknown field {%.*s} in template, did you mean {%s}?", (int)len,
                 name, near);
    else
        snprintf(err, errlen, "unknown field {%.*s} in template (fields:" SL_FIELD_NAME_LIST
                 " " TAG_NAME " fields.KEY)", (int)len, name);
    return -EINVAL;
}

/* A key no input or transform can give a message (sl_msg_field_key_ok()
 * is what the builder and the rewriter both enforce): the placeholder
 * would always be empty, so it is a typo, refused at --check. The name is
 * shown with bytes outside printable ASCII as \xHH: a newline in it must
 * not split the FILE:LINE error in two. */
static int unsettable_key(const char *name, size_t len, char *err, size_t errlen)
{
    char shown[4 * 80 + 1];
    size_t n = 0;
    for (size_t i = 0; i < len && n + 5 <= sizeof shown; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x20 && c < 0x7f)
            shown[n++] = (char)c;
        else
            n += (size_t)snprintf(shown + n, sizeof shown - n, "\\x%02x", c);
    }
    shown[n] = '\0';
    snprintf(err, errlen, "{%s} in template can never be set: a field key is 1 to %d letters, "
             "digits, '_', '-' or '.'", shown, SL_MSG_MAX_FIELD_KEY);
    return -EINVAL;
}

/* Splits spec into literal runs and {field}s; "{{" and "}}" are braces.
 * A lone "}" is an error rather than a literal, so that "{msg}}" (a typo)
 * does not silently write a brace. The line's '\n' is added after the last
 * part, so a template never spans lines. */
int sl_template_compile(struct sl_template *t, const char *spec, char *err, size_t errlen)
{
    size_t n = strlen(spec), start = 0;
    t->lit = sl_malloc(n + 1);
    if (t->lit == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char c = spec[i];
        if ((c == '{' || c == '}') && spec[i + 1] == c) {
            t->lit[t->litlen++] = c;
            i++;
        } else if (c == '}') {
            snprintf(err, errlen, "unmatched } in template (write }} for a literal brace)");
            return -EINVAL;
        } else if (c == '{') {
            const char *close = strchr(spec + i + 1, '}');
            if (close == NULL) {
                snprintf(err, errlen, "unterminated { in template (write {{ for a literal brace)");
                return -EINVAL;
            }
            size_t len = (size_t)(close - spec) - i - 1;
            const char *name = spec + i + 1;
            size_t plen = sizeof EXTRA_PREFIX - 1;
            if (len >= plen && memcmp(name, EXTRA_PREFIX, plen) == 0) {
                /* {fields.KEY}: the key goes into lit after the literal
                 * run before it, and is not part of any literal. */
                if (len == plen) {
                    snprintf(err, errlen, "{fields.} in template needs a key, as in "
                             "{fields.user}");
                    return -EINVAL;
                }
                if (!sl_msg_field_key_ok(name + plen, len - plen))
                    return unsettable_key(name, len, err, errlen);
                size_t key = t->litlen;
                memcpy(t->lit + key, name + plen, len - plen);
                t->litlen += len - plen;
                if (add_part(t, 0, start, key - start) < 0 ||
                    add_part(t, F_EXTRA, key, len - plen) < 0)
                    return -ENOMEM;
            } else {
                int field = sl_field_from_name(name, len);
                if (len == sizeof TAG_NAME - 1 && memcmp(name, TAG_NAME, len) == 0)
                    field = F_TAG;
                if (field == -1)
                    return unknown_field(name, len, err, errlen);
                if (add_part(t, 0, start, t->litlen - start) < 0 ||
                    add_part(t, field, 0, 0) < 0)
                    return -ENOMEM;
            }
            start = t->litlen;
            i += len + 1;
        } else {
            t->lit[t->litlen++] = c;
        }
    }
    return add_part(t, 0, start, t->litlen - start) < 0 ? -ENOMEM : 0;
}

void sl_template_free(struct sl_template *t)
{
    free(t->parts);
    free(t->lit);
}

size_t sl_template_bound(const struct sl_template *t, const struct sl_msg *m)
{
    size_t n = 1;
    for (size_t i = 0; i < t->nparts; i++) {
        const struct sl_template_part *pt = &t->parts[i];
        if (pt->field == 0)
            n += pt->len;
        else if (pt->field == F_EXTRA)
            n += 4 * (size_t)extra_of(t, m, pt).len + 1;
        else if (pt->field == F_TAG)
            n += tag_bound(m);
        else
            n += 4 * (size_t)text_of(m, pt->field).len + TIME_MAX_LEN;
    }
    return n;
}
/* }=== */
