/* SPDX-License-Identifier: MIT */
/*
 * format.c: turning a message into one line of output (format.h): the
 * format object, the dispatch, and the fixed text formats.
 *
 * This is the hot path of every output: millions of lines a second. So a line
 * costs one bounds computation, one sl_buf_reserve() for the worst case, and
 * then plain stores through a cursor (writer.h); field text is copied in runs
 * with memcpy() and only bytes that need escaping are touched one by one.
 *
 * The jobs each have their file: time stamps in stamp.c (with the cache of
 * the last second formatted), the json format in json.c, templates in
 * template.c. Every renderer writes at most line_bound() bytes;
 * sl_format_append() asserts that invariant after each line.
 */
#include "format/format.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/json.h"
#include "format/stamp.h"
#include "format/template.h"
#include "format/writer.h"
#include "parse/parse.h"
#include "common/util.h"
#include "common/alloc.h"

enum kind { K_RAW, K_RFC3164, K_RFC5424, K_JSON, K_RSYSLOG, K_TEMPLATE };

struct sl_format {
    enum kind kind;
    struct sl_template tpl; /* K_TEMPLATE */
    struct sl_stamps stamps;
    struct sl_json json;    /* K_JSON */
};

/* {=== buffers */
int sl_buf_reserve(struct sluice_buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    if (more > SIZE_MAX / 4 - b->len)
        return -ENOMEM;
    size_t cap = b->cap < 256 ? 256 : b->cap;
    while (cap - b->len < more)
        cap *= 2; /* geometric, so n appends cost O(n) copying in all */
    char *p = sl_realloc(b->data, cap);
    if (p == NULL)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int sl_buf_append(struct sluice_buf *b, const void *data, size_t len)
{
    if (sl_buf_reserve(b, len) < 0)
        return -ENOMEM;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}
/* }=== */

/* {=== the fixed formats */
static char *render_raw(const struct sl_msg *m, char *w)
{
    struct sl_str raw = raw_line(m);
    return put_text(w, raw.p, raw.len);
}

/* What rsyslog's file formats write after the host:
 * " %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%", with TAB
 * escaped as rsyslog escapes it on reception. rsyslog's msg is what
 * follows the TAG, so for an RFC 3164 TAG as sent it begins with the SP
 * our parser ate (or, with none eaten, with a byte that is not SP): the
 * space is always written. A RFC 5424 MSG keeps its BOM in rsyslog. */
static char *render_tag_msg(const struct sl_msg *m, char *w)
{
    struct sl_str msg = m->msg;
    if (msg.p == NULL)
        msg.len = 0;
    if (msg.len > 0 && msg.p[msg.len - 1] == '\n')
        msg.len--;
    bool sent = tag_sent(m).p != NULL;
    if (!sent && m->format != SL_FMT_RFC5424 && m->app_name.len == 0) {
        /* No TAG (unparsed text): " msg", or nothing. */
        if (msg.len > 0)
            *w++ = ' ';
        return put_text_rs(w, msg.p, msg.len);
    }
    *w++ = ' ';
    w = put_tag(w, m, true);
    bool bom = (m->flags & SL_MSG_BOM) != 0;
    if (sent || bom || msg.len == 0 || msg.p[0] != ' ')
        *w++ = ' ';
    if (bom)
        w = PUT_LIT(w, "\xef\xbb\xbf");
    return put_text_rs(w, msg.p, msg.len);
}

/* rsyslog's RSYSLOG_TraditionalFileFormat, byte for byte:
 * "%TIMESTAMP% %HOSTNAME%" and render_tag_msg(). */
static char *render_rfc3164(struct sl_stamps *s, const struct sl_msg *m, char *w)
{
    w = sl_stamp_bsd(&s->bsd, msg_time(m), w);
    *w++ = ' ';
    w = put_field(w, m->hostname);
    return render_tag_msg(m, w);
}

/* rsyslog's RSYSLOG_FileFormat (Debian's default since 11):
 * "%TIMESTAMP:::date-rfc3339% %HOSTNAME%" and render_tag_msg(). */
static char *render_rsyslog(struct sl_stamps *s, const struct sl_msg *m, char *w)
{
    w = sl_stamp_rfc3339(&s->ts, msg_time(m), w);
    *w++ = ' ';
    w = put_field(w, m->hostname);
    return render_tag_msg(m, w);
}

/* A rewrite's raw for a message not in RFC 5424 (sl_format_origin):
 * "Mmm dd hh:mm:ss host tag[pid]: msg" from the parsed fields, so that
 * parsing it again gives the same fields. */
static char *render_origin_3164(struct sl_stamps *s, const struct sl_msg *m, char *w)
{
    w = sl_stamp_bsd(&s->bsd, msg_time(m), w);
    *w++ = ' ';
    w = put_field(w, m->hostname);
    if (m->app_name.p != NULL && m->app_name.len > 0) {
        *w++ = ' ';
        w = put_text(w, m->app_name.p, m->app_name.len);
        if (m->procid.p != NULL && m->procid.len > 0) {
            *w++ = '[';
            w = put_text(w, m->procid.p, m->procid.len);
            *w++ = ']';
        }
        *w++ = ':';
    }
    if (m->msg.p != NULL && m->msg.len > 0) {
        *w++ = ' ';
        w = put_text(w, m->msg.p, m->msg.len);
    }
    return w;
}

/* {=== the extra fields as an SD element, in "rfc5424"
 *
 * A message's extra fields (a journal entry's, or what a transform set)
 * go into one SD element of their own, after the message's own SD, so a
 * relay in RFC 5424 passes them on. Its SD-ID must be private
 * ("name@<enterprise number>", RFC 5424 6.3.2) and sluice has no IANA
 * Private Enterprise Number: 32473 is the one RFC 5612 reserves for
 * documentation and examples, which RFC 5424's own examples use too, so
 * no vendor's elements are under it (should sluice get a number of its
 * own, FIELDS_SD_ID is the one place in the code). A key is a valid
 * PARAM-NAME as it is (the key rule is a subset of SD-NAME's bytes) but
 * for SD-NAME's 32 bytes at most: a longer key has no name to go under
 * and is left out of this format (json and templates still write it). */
#define FIELDS_SD_ID "fields@32473"
#define SD_NAME_MAX 32

/* Every input and transform gives keys that sl_msg_field_key_ok() takes;
 * checked again since a key that is not one would break the SD syntax. */
static bool sd_key_fits(struct sl_str key)
{
    return key.len <= SD_NAME_MAX && sl_msg_field_key_ok(key.p, key.len);
}

/* A PARAM-VALUE: '"', '\\' and ']' backslash-escaped (6.3.3); a control
 * byte and a byte that is not valid UTF-8 (PARAM-VALUE is UTF-8) as "#ooo",
 * rsyslog's escape, which the text formats use for control bytes. At most
 * 4 bytes per byte. */
static char *put_sd_param_value(char *w, struct sl_str v)
{
    const unsigned char *p = (const unsigned char *)v.p, *end = p + v.len;
    while (p < end) {
        unsigned char c = *p;
        size_t len = c < 0x80 ? (is_ctl(c) ? 0 : 1) : utf8_len(p, (size_t)(end - p));
        if (len == 0) {
            w[0] = '#';
            w[1] = (char)('0' + (c >> 6));
            w[2] = (char)('0' + ((c >> 3) & 7));
            w[3] = (char)('0' + (c & 7));
            w += 4;
            p++;
            continue;
        }
        if (c == '"' || c == '\\' || c == ']')
            *w++ = '\\';
        w = put(w, (const char *)p, len);
        p += len;
    }
    return w;
}

/* The most bytes put_sd() writes beyond 4 * sd.len + 1. */
static size_t fields_sd_bound(const struct sl_msg *m)
{
    size_t n = sizeof "[" FIELDS_SD_ID "]";
    for (uint32_t i = 0; i < m->nfields; i++)
        n += 4 + (size_t)m->fields[i].key.len + 4 * (size_t)m->fields[i].value.len;
    return n;
}

/* The ']' that closes the message's own element of SD-ID FIELDS_SD_ID (a
 * relay's sluice wrote it), or NULL when it has none. */
static const char *own_fields_close(const struct sl_msg *m)
{
    if (m->sd.p == NULL || m->format != SL_FMT_RFC5424)
        return NULL;
    struct sl_sd_iter it;
    struct sl_str id, name, value;
    sl_sd_iter_init(&it, m->sd);
    while (sl_sd_next_element(&it, &id)) {
        if (id.len != sizeof FIELDS_SD_ID - 1 || memcmp(id.p, FIELDS_SD_ID, id.len) != 0)
            continue;
        while (sl_sd_next_param(&it, &name, &value))
            ;
        return it.p > m->sd.p && it.p[-1] == ']' ? it.p - 1 : NULL;
    }
    return NULL;
}

/* STRUCTURED-DATA: the message's own as sent ("-" when none), then, with
 * `fields`, the extra fields' element; "-" only when both are empty. When
 * the message has an element of that SD-ID already, the fields go at its
 * end instead: an SD-ID must not appear twice (6.3.2), a PARAM-NAME may
 * (7.2.5). */
static char *put_sd(char *w, const struct sl_msg *m, bool fields)
{
    uint32_t n = 0;
    for (uint32_t i = 0; fields && i < m->nfields; i++)
        n += sd_key_fits(m->fields[i].key);
    if (n == 0)
        return put_field(w, m->sd);
    const char *close = own_fields_close(m);
    if (close != NULL) {
        w = put_text(w, m->sd.p, (size_t)(close - m->sd.p));
    } else {
        if (m->sd.p != NULL && m->sd.len > 0)
            w = put_text(w, m->sd.p, m->sd.len);
        w = PUT_LIT(w, "[" FIELDS_SD_ID);
    }
    for (uint32_t i = 0; i < m->nfields; i++) {
        const struct sl_field *x = &m->fields[i];
        if (!sd_key_fits(x->key))
            continue;
        *w++ = ' ';
        w = put(w, x->key.p, x->key.len);
        w = PUT_LIT(w, "=\"");
        w = put_sd_param_value(w, x->value);
        *w++ = '"';
    }
    if (close != NULL)
        return put_text(w, close, (size_t)(m->sd.p + m->sd.len - close));
    *w++ = ']';
    return w;
}
/* }=== */

/* RFC 5424 section 6, the extra fields in an SD element of their own with
 * `fields` (the format; a rewrite's raw text has none: they are no part of
 * the message's own syntax). The BOM is not written back: MSG-ANY is
 * legal, and a BOM in the middle of a text file only confuses tools that
 * read it. */
static char *render_rfc5424(struct sl_stamps *s, const struct sl_msg *m, bool fields, char *w)
{
    *w++ = '<';
    w = put_uint(w, m->pri);
    w = PUT_LIT(w, ">1 ");
    w = sl_stamp_rfc3339(&s->ts, msg_time(m), w);
    *w++ = ' ';
    w = put_field(w, m->hostname);
    *w++ = ' ';
    w = put_field(w, m->app_name);
    *w++ = ' ';
    w = put_field(w, m->procid);
    *w++ = ' ';
    w = put_field(w, m->msgid);
    *w++ = ' ';
    w = put_sd(w, m, fields);
    if (m->msg.p != NULL && m->msg.len > 0) {
        *w++ = ' ';
        w = put_text(w, m->msg.p, m->msg.len);
    }
    return w;
}
/* }=== */

/* {=== a rewrite's raw text (rewrite.c): measured exactly, then written */
/* The length put_text() writes for p[0..n): 4 bytes per control byte. */
static size_t text_len(const char *p, size_t n)
{
    const char *end = p + n;
    size_t len = n;
    while ((p = skip_clean(p, end)) < end) {
        len += 3;
        p++;
    }
    return len;
}

/* The length put_field() writes. */
static size_t field_len(struct sl_str s)
{
    return s.p == NULL || s.len == 0 ? 1 : text_len(s.p, s.len);
}

static size_t uint_len(unsigned long long v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Mirrors render_rfc5424() and "<PRI>" + render_origin_3164() byte for byte;
 * sl_format_origin() asserts that the two agree. */
size_t sl_format_origin_len(const struct sl_msg *m)
{
    size_t n = 2 + uint_len(m->pri); /* "<PRI>" */
    if (m->format == SL_FMT_RFC5424) {
        char t[TIME_MAX_LEN + 1];
        n += 2 + sl_time_rfc3339(msg_time(m), t) + 5; /* "1 " TIME and five spaces */
        n += field_len(m->hostname) + field_len(m->app_name) + field_len(m->procid)
             + field_len(m->msgid) + field_len(m->sd);
    } else {
        n += 15 + 1 + field_len(m->hostname); /* "Mmm dd hh:mm:ss HOST" */
        if (m->app_name.p != NULL && m->app_name.len > 0) {
            n += 1 + text_len(m->app_name.p, m->app_name.len) + 1; /* " TAG" ":" */
            if (m->procid.p != NULL && m->procid.len > 0)
                n += 2 + text_len(m->procid.p, m->procid.len);
        }
    }
    if (m->msg.p != NULL && m->msg.len > 0)
        n += 1 + text_len(m->msg.p, m->msg.len);
    return n;
}

size_t sl_format_origin(const struct sl_msg *m, char *out)
{
    struct sl_stamps s = {0};
    char *w = out;
    if (m->format == SL_FMT_RFC5424) {
        w = render_rfc5424(&s, m, false, w);
    } else {
        *w++ = '<';
        w = put_uint(w, m->pri);
        *w++ = '>';
        w = render_origin_3164(&s, m, w);
    }
    assert((size_t)(w - out) == sl_format_origin_len(m));
    return (size_t)(w - out);
}
/* }=== */

/* {=== the format object */
static int unknown_format(const char *spec, char *err, size_t errlen)
{
    static const char *const names[] = {"raw", "rfc3164", "rfc5424", "json", "rsyslog"};
    const char *near = sl_closest(spec, strlen(spec), names, sizeof names / sizeof names[0]);
    if (near != NULL) {
        snprintf(err, errlen, "unknown format '%s', did you mean '%s'?", spec, near);
        return -EINVAL;
    }
    snprintf(err, errlen, "unknown format \"%s\": use raw, rfc3164, rfc5424, json, rsyslog or a "
             "template with {field} placeholders", spec);
    return -EINVAL;
}

int sl_format_new(const char *spec, struct sl_format **out, char *err, size_t errlen)
{
    static const struct { const char *name; enum kind kind; } fixed[] = {
        {"raw", K_RAW}, {"rfc3164", K_RFC3164}, {"rfc5424", K_RFC5424}, {"json", K_JSON},
        {"rsyslog", K_RSYSLOG},
    };
    struct sl_format *f = sl_calloc(1, sizeof *f);
    if (f == NULL)
        return -ENOMEM;
    f->kind = K_TEMPLATE;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (strcmp(spec, fixed[i].name) == 0)
            f->kind = fixed[i].kind;
    }
    int rc = 0;
    if (f->kind == K_TEMPLATE) {
        /* Text without a placeholder is far more likely a misspelt format
         * name than a template meant to write the same line every time. */
        rc = strchr(spec, '{') == NULL ? unknown_format(spec, err, errlen)
                                       : sl_template_compile(&f->tpl, spec, err, errlen);
    }
    if (rc < 0) {
        if (rc == -ENOMEM)
            snprintf(err, errlen, "out of memory");
        sl_format_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void sl_format_free(struct sl_format *f)
{
    if (f == NULL)
        return;
    sl_template_free(&f->tpl);
    sl_json_free(&f->json);
    free(f);
}

/* The most bytes the line for m can take, newline included. */
static size_t line_bound(const struct sl_format *f, const struct sl_msg *m)
{
    switch (f->kind) {
    case K_RAW: return 4 * (size_t)m->raw.len + 1;
    case K_RFC3164:
    case K_RSYSLOG: return 4 * text_total(m) + 2 * TIME_MAX_LEN + 64;
    case K_RFC5424: return 4 * text_total(m) + 2 * TIME_MAX_LEN + 64 + fields_sd_bound(m);
    case K_JSON: return sl_json_bound(m);
    case K_TEMPLATE: break;
    }
    return sl_template_bound(&f->tpl, m);
}

int sl_format_append(struct sl_format *f, const struct sl_msg *m, struct sluice_buf *buf)
{
    size_t bound = line_bound(f, m);
    if (sl_buf_reserve(buf, bound) < 0)
        return -ENOMEM;
    if (f->kind == K_JSON && sl_json_prepare(&f->json, m) < 0)
        return -ENOMEM;
    char *start = buf->data + buf->len, *w = start;
    switch (f->kind) {
    case K_RAW: w = render_raw(m, w); break;
    case K_RFC3164: w = render_rfc3164(&f->stamps, m, w); break;
    case K_RFC5424: w = render_rfc5424(&f->stamps, m, true, w); break;
    case K_RSYSLOG: w = render_rsyslog(&f->stamps, m, w); break;
    case K_JSON: w = sl_json_render(&f->json, &f->stamps, m, w); break;
    case K_TEMPLATE: w = sl_template_render(&f->tpl, &f->stamps, m, w); break;
    }
    *w++ = '\n';
    assert((size_t)(w - start) <= bound);
    buf->len += (size_t)(w - start);
    return 0;
}
/* }=== */
