/* SPDX-License-Identifier: MIT */
/*
 * rewrite.c: copy-on-write rewrites of a message, for route transforms.
 *
 * A rewrite is one malloc'ed block:
 *
 *     [struct sl_msg][struct sl_field x nfields][bytes: edited texts,
 *      field keys and values, the re-rendered raw]
 *
 * Every struct sl_str of the rewrite points either into this block (what
 * the edit, or an earlier rewrite, changed) or where the base message's own
 * field points (its chunk, a heap message's bytes, or the parse context's
 * borrowed hostname), which the reference held in m->base keeps alive.
 *
 * base is never a rewrite: a rewrite of a rewrite holds the first base and
 * copies whatever the rewrite in between owned, so a chain of transforms
 * costs one block each and frees in any order. A field of a rewrite that
 * was not changed since the base is the same (pointer, length) pair as the
 * base's; one that differs lives in the rewrite's block, and that is how a
 * rewrite of a rewrite knows what to copy.
 *
 * The raw text is measured exactly before the malloc (format.h,
 * sl_format_origin_len), so the block carries no slack however long the
 * message.
 */
#include "route/rewrite.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "common/alloc.h"

/* {=== checking an edit */
static bool printusascii(unsigned char c)
{
    return c >= 33 && c <= 126;
}

/* A header field of RFC 5424 section 6: NIL, or 1..max PRINTUSASCII. */
static int check_header(const char *name, struct sl_str s, size_t max, char *err, size_t errlen)
{
    if (s.p == NULL)
        return 0;
    if (s.len == 0) {
        snprintf(err, errlen, "%s: empty (nil sets it to none)", name);
        return -EINVAL;
    }
    if (s.len > max) {
        snprintf(err, errlen, "%s: %lu bytes, at most %zu", name, (unsigned long)s.len, max);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!printusascii(c)) {
            snprintf(err, errlen, "%s: byte 0x%02x at offset %lu is not printable US-ASCII "
                     "without spaces", name, c, (unsigned long)i);
            return -EINVAL;
        }
    }
    return 0;
}

/* The key as it may be shown in a message: unprintable bytes as '?'. */
static void show_key(struct sl_str k, char *out, size_t outlen)
{
    size_t n = k.len < outlen - 1 ? k.len : outlen - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k.p[i];
        out[i] = c >= 32 && c < 127 ? (char)c : '?';
    }
    out[n] = '\0';
}

static int check_fields(const struct sl_field *fields, size_t n, char *err, size_t errlen)
{
    char shown[SL_REWRITE_MAX_FIELD_KEY + 1];
    if (n > SL_REWRITE_MAX_FIELDS) {
        snprintf(err, errlen, "fields: %zu fields, at most %d", n, SL_REWRITE_MAX_FIELDS);
        return -EINVAL;
    }
    if (n > 0 && fields == NULL) {
        snprintf(err, errlen, "fields: %zu fields but no array", n);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        struct sl_str k = fields[i].key, v = fields[i].value;
        if (k.p == NULL || k.len == 0) {
            snprintf(err, errlen, "fields: an empty key");
            return -EINVAL;
        }
        show_key(k, shown, sizeof shown);
        if (k.len > SL_REWRITE_MAX_FIELD_KEY) {
            snprintf(err, errlen, "fields: key '%s...': %lu bytes, at most %d", shown,
                     (unsigned long)k.len, SL_REWRITE_MAX_FIELD_KEY);
            return -EINVAL;
        }
        for (uint32_t j = 0; j < k.len; j++) {
            unsigned char c = (unsigned char)k.p[j];
            if (!sl_msg_field_key_byte(c)) {
                snprintf(err, errlen, "fields: key '%s': byte 0x%02x at offset %lu is not a "
                         "letter, digit, '_', '-' or '.'", shown, c, (unsigned long)j);
                return -EINVAL;
            }
        }
        if (v.p == NULL && v.len > 0) {
            snprintf(err, errlen, "fields: key '%s': a value of %lu bytes at NULL", shown,
                     (unsigned long)v.len);
            return -EINVAL;
        }
        /* At most 64 keys: quadratic is cheaper than hashing them. */
        for (size_t j = 0; j < i; j++) {
            if (fields[j].key.len == k.len && memcmp(fields[j].key.p, k.p, k.len) == 0) {
                snprintf(err, errlen, "fields: key '%s' given twice", shown);
                return -EINVAL;
            }
        }
    }
    return 0;
}

int sl_msg_edit_check(const struct sl_msg_edit *e, char *err, size_t errlen)
{
    int rc = 0;
    if ((e->set & SL_EDIT_MSG) && e->msg.p == NULL && e->msg.len > 0) {
        snprintf(err, errlen, "msg: %lu bytes at NULL", (unsigned long)e->msg.len);
        return -EINVAL;
    }
    if ((e->set & SL_EDIT_APP_NAME) &&
        (rc = check_header("app_name", e->app_name, SL_REWRITE_MAX_APP_NAME, err, errlen)) < 0)
        return rc;
    if ((e->set & SL_EDIT_HOSTNAME) &&
        (rc = check_header("hostname", e->hostname, SL_REWRITE_MAX_HOSTNAME, err, errlen)) < 0)
        return rc;
    if ((e->set & SL_EDIT_MSGID) &&
        (rc = check_header("msgid", e->msgid, SL_REWRITE_MAX_MSGID, err, errlen)) < 0)
        return rc;
    if ((e->set & SL_EDIT_SEVERITY) && e->severity > 7) {
        snprintf(err, errlen, "severity: %u, not 0..7", (unsigned)e->severity);
        return -EINVAL;
    }
    if ((e->set & SL_EDIT_FACILITY) && e->facility > 23) {
        snprintf(err, errlen, "facility: %u, not 0..23", (unsigned)e->facility);
        return -EINVAL;
    }
    if (e->set & SL_EDIT_FIELDS)
        return check_fields(e->fields, e->nfields, err, errlen);
    return 0;
}
/* }=== */

/* {=== making the rewrite */
/* One text field of the rewrite while it is being planned: where its bytes
 * come from, and whether they are copied into the block. */
struct plan {
    struct sl_str *dst; /* the member of the new message */
    struct sl_str src;
    bool copy;
};

/* Decides where field `dst` (a member of the new message n, a copy of
 * orig) takes its text from: the edit when it sets the field, else orig's,
 * copied when it lives in orig's own block (orig is a rewrite that changed
 * it), else shared with the base. */
static void plan_text(struct plan *p, struct sl_str *dst, bool edited, struct sl_str edit,
                      struct sl_str orig_s, struct sl_str base_s, bool orig_is_rewrite)
{
    p->dst = dst;
    if (edited) {
        p->src = edit;
        p->copy = edit.p != NULL;
    } else {
        p->src = orig_s;
        p->copy = orig_is_rewrite && orig_s.p != NULL
                  && (orig_s.p != base_s.p || orig_s.len != base_s.len);
    }
}

/* Every member of orig but the reference count, which other threads may be
 * changing (so a struct copy would race), and the owners. */
static void copy_header(struct sl_msg *n, const struct sl_msg *o)
{
    memset(n, 0, sizeof *n);
    atomic_init(&n->refs, 1);
    n->pri = o->pri;
    n->facility = o->facility;
    n->severity = o->severity;
    n->version = o->version;
    n->format = o->format;
    n->flags = o->flags;
    n->timestamp = o->timestamp;
    n->hostname = o->hostname;
    n->app_name = o->app_name;
    n->procid = o->procid;
    n->msgid = o->msgid;
    n->sd = o->sd;
    n->msg = o->msg;
    n->raw = o->raw;
    n->input = o->input;
    n->peer = o->peer;
    n->ts = o->ts;
    n->received = o->received;
    n->pid = o->pid;
    n->uid = o->uid;
    n->gid = o->gid;
    n->fields = o->fields;
    n->nfields = o->nfields;
}

/* Adds a to *total unless it would overflow; false then. */
static bool add_size(size_t *total, size_t a)
{
    if (a > SIZE_MAX - *total)
        return false;
    *total += a;
    return true;
}

struct sl_msg *sl_msg_rewrite(struct sl_msg *orig, const struct sl_msg_edit *e)
{
    bool orig_is_rewrite = orig->base != NULL;
    struct sl_msg *base = orig_is_rewrite ? orig->base : orig;

    /* The new message on the stack first: its header is orig's with the
     * edit applied, so the raw text can be measured before the malloc. */
    struct sl_msg n;
    copy_header(&n, orig);
    n.base = base;
    n.flags = (uint8_t)((orig->flags | SL_MSG_REWRITTEN) & ~SL_MSG_BOM); /* raw has no BOM */
    if (e->set & SL_EDIT_SEVERITY)
        n.severity = e->severity;
    if (e->set & SL_EDIT_FACILITY)
        n.facility = e->facility;
    n.pri = (uint8_t)(n.facility * 8 + n.severity);

    struct plan plans[4];
    plan_text(&plans[0], &n.msg, e->set & SL_EDIT_MSG, e->msg, orig->msg, base->msg,
              orig_is_rewrite);
    plan_text(&plans[1], &n.app_name, e->set & SL_EDIT_APP_NAME, e->app_name, orig->app_name,
              base->app_name, orig_is_rewrite);
    plan_text(&plans[2], &n.hostname, e->set & SL_EDIT_HOSTNAME, e->hostname, orig->hostname,
              base->hostname, orig_is_rewrite);
    plan_text(&plans[3], &n.msgid, e->set & SL_EDIT_MSGID, e->msgid, orig->msgid, base->msgid,
              orig_is_rewrite);
    for (size_t i = 0; i < 4; i++)
        *plans[i].dst = plans[i].src;

    /* Extra fields: the edit's, or orig's. A base's fields stay where they
     * are (the reference keeps them); a rewrite's live in its block. */
    const struct sl_field *fields = orig->fields;
    size_t nfields = orig->nfields;
    bool copy_fields = orig_is_rewrite;
    if (e->set & SL_EDIT_FIELDS) {
        fields = e->fields;
        nfields = e->nfields;
        copy_fields = true;
    }
    if (nfields == 0) {
        fields = NULL;
        copy_fields = false;
    }
    n.fields = fields;
    n.nfields = (uint32_t)nfields;

    size_t total = sizeof n, rawlen = 0;
    bool ok = true;
    for (size_t i = 0; i < 4; i++) {
        if (plans[i].copy)
            ok = ok && add_size(&total, plans[i].src.len);
    }
    if (copy_fields) {
        ok = ok && add_size(&total, nfields * sizeof *fields);
        for (size_t i = 0; i < nfields; i++)
            ok = ok && add_size(&total, fields[i].key.len) && add_size(&total, fields[i].value.len);
    }
    if (n.format != SL_FMT_UNPARSED) {
        rawlen = sl_format_origin_len(&n);
        ok = ok && rawlen <= UINT32_MAX && add_size(&total, rawlen);
    }
    if (!ok)
        return NULL;

    struct sl_msg *m = sl_malloc(total);
    if (m == NULL)
        return NULL;
    copy_header(m, &n);
    m->base = base;
    /* The field array comes first: it needs pointer alignment, which the
     * end of struct sl_msg has. */
    char *w = (char *)(m + 1);
    if (copy_fields) {
        struct sl_field *copy = (struct sl_field *)w;
        w += nfields * sizeof *copy;
        for (size_t i = 0; i < nfields; i++) {
            struct sl_str k = fields[i].key, v = fields[i].value;
            memcpy(w, k.p, k.len);
            copy[i].key = (struct sl_str){w, k.len};
            w += k.len;
            if (v.len > 0)
                memcpy(w, v.p, v.len);
            copy[i].value = (struct sl_str){w, v.len}; /* "" stays present, not NIL */
            w += v.len;
        }
        m->fields = copy;
    }
    for (size_t i = 0; i < 4; i++) {
        if (!plans[i].copy)
            continue;
        struct sl_str *dst = (struct sl_str *)((char *)m + ((char *)plans[i].dst - (char *)&n));
        if (plans[i].src.len > 0)
            memcpy(w, plans[i].src.p, plans[i].src.len);
        *dst = (struct sl_str){w, plans[i].src.len};
        w += plans[i].src.len;
    }
    /* An unparsed message is its msg; the raw of any other is rendered
     * from the final fields. raw is never NULL: outputs copy from it. */
    if (m->format == SL_FMT_UNPARSED) {
        m->raw = m->msg.p != NULL ? m->msg : (struct sl_str){w, 0};
    } else {
        size_t len = sl_format_origin(m, w);
        m->raw = (struct sl_str){w, (uint32_t)len};
        w += len;
    }
    sl_msg_ref(base);
    return m;
}
/* }=== */
