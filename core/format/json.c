/*
 * json.c: the "json" format (json.h).
 *
 * Escaping works in runs as the text formats do: bytes that need nothing
 * are copied with memcpy, the rest one by one (\uXXXX for control bytes,
 * \\xNN for each byte that is not valid UTF-8, as syslog-ng's format-json
 * writes it: an escaped backslash, so the line stays valid JSON and the
 * byte's value survives instead of collapsing into U+FFFD). STRUCTURED-DATA becomes an
 * object of objects; repeated names are found with the seen sets below in
 * linear time, whatever a hostile sender packs into 64 KiB.
 */
#include "format/json.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "format/writer.h"
#include "parse/parse.h"
#include "common/alloc.h"

/* {=== seen sets */
/*
 * A set of byte strings, for finding repeated SD-IDs and PARAM-NAMEs in
 * linear time: a hostile 64 KiB message can carry thousands of them. Open
 * addressing; entries of older generations count as empty, so clearing is
 * O(1) and the table is reused from message to message.
 */
struct sl_json_seen_slot {
    const char *p;
    uint32_t len;
    uint32_t gen;
};

static void seen_clear(struct sl_json_seen *s)
{
    s->n = 0;
    if (++s->gen == 0) {
        memset(s->v, 0, s->cap * sizeof *s->v);
        s->gen = 1;
    }
}

static size_t seen_hash(const char *p, uint32_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return (size_t)h;
}

/* Finds k, or the empty slot where it belongs. */
static struct sl_json_seen_slot *seen_find(struct sl_json_seen *s, const char *p, uint32_t len)
{
    size_t mask = s->cap - 1;
    for (size_t i = seen_hash(p, len) & mask;; i = (i + 1) & mask) {
        struct sl_json_seen_slot *e = &s->v[i];
        if (e->gen != s->gen || (e->len == len && memcmp(e->p, p, len) == 0))
            return e;
    }
}

static int seen_grow(struct sl_json_seen *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    struct sl_json_seen_slot *old = s->v;
    size_t oldcap = s->cap;
    s->v = sl_calloc(cap, sizeof *s->v);
    if (s->v == NULL) {
        s->v = old;
        return -ENOMEM;
    }
    s->cap = cap;
    uint32_t gen = s->gen;
    s->gen = 1;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].gen == gen)
            *seen_find(s, old[i].p, old[i].len) = (struct sl_json_seen_slot){old[i].p, old[i].len, 1};
    }
    free(old);
    return 0;
}

/* True when p[0..len) was added before (since the last clear); adds it.
 * Out of memory, it answers "not seen": a repeated key beats a lost line. */
static bool seen_add(struct sl_json_seen *s, struct sl_str k)
{
    if ((s->n + 1) * 2 > s->cap && seen_grow(s) < 0)
        return false;
    struct sl_json_seen_slot *e = seen_find(s, k.p, k.len);
    if (e->gen == s->gen)
        return true;
    *e = (struct sl_json_seen_slot){k.p, k.len, s->gen};
    s->n++;
    return false;
}
/* }=== */

/* {=== JSON strings */
/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0: no
 * overlongs, no surrogates, nothing past U+10FFFF (Unicode table 3-7). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len = c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
    if (len == 0 || n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    }
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
        (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return len;
}

/* The body of a JSON string: at most 6n bytes. */
static char *put_json_body(char *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            p++;
        w = put(w, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        if (*p == '"' || *p == '\\') {
            *w++ = '\\';
            *w++ = (char)*p++;
        } else if (*p < 0x80) {
            w = PUT_LIT(w, "\\u00");
            *w++ = hex[*p >> 4];
            *w++ = hex[*p++ & 15];
        } else {
            size_t len = utf8_len(p, (size_t)(end - p));
            if (len > 0) {
                w = put(w, (const char *)p, len);
                p += len;
            } else {
                /* "\\xNN": 5 bytes, within the 6n bound */
                w = PUT_LIT(w, "\\\\x");
                *w++ = hex[*p >> 4];
                *w++ = hex[*p++ & 15];
            }
        }
    }
    return w;
}

static char *put_json_str(char *w, const char *s, size_t n)
{
    *w++ = '"';
    w = put_json_body(w, s, n);
    *w++ = '"';
    return w;
}

/* A JSON string, or null when NIL: at most 6n + 4 bytes. */
static char *put_json_field(char *w, struct sl_str s)
{
    if (s.p == NULL)
        return PUT_LIT(w, "null");
    return put_json_str(w, s.p, s.len);
}
/* }=== */

/* {=== the object */
/*
 * STRUCTURED-DATA as an object of objects with unescaped values. JSON
 * objects should not repeat keys, and RFC 5424 allows a PARAM-NAME more than
 * once in an element: the first occurrence wins (a repeated SD-ID, which the
 * RFC forbids, likewise), found with the seen sets in linear time.
 * At most 6 * sd.len + 16.
 */
static char *put_json_sd(struct sl_json *j, const struct sl_msg *m, char *w)
{
    if (m->sd.p == NULL || m->format != SL_FMT_RFC5424)
        return PUT_LIT(w, "null");
    struct sl_sd_iter it;
    struct sl_str id, name, value;
    bool first_el = true;
    *w++ = '{';
    sl_sd_iter_init(&it, m->sd);
    seen_clear(&j->ids);
    while (sl_sd_next_element(&it, &id)) {
        bool skip = seen_add(&j->ids, id);
        if (!skip) {
            if (!first_el)
                *w++ = ',';
            first_el = false;
            w = put_json_str(w, id.p, id.len);
            w = PUT_LIT(w, ":{");
        }
        bool first = true;
        seen_clear(&j->names);
        while (sl_sd_next_param(&it, &name, &value)) {
            if (skip || seen_add(&j->names, name))
                continue;
            if (!first)
                *w++ = ',';
            first = false;
            w = put_json_str(w, name.p, name.len);
            *w++ = ':';
            size_t n = sl_sd_unescape(value, j->scratch.data);
            w = put_json_str(w, j->scratch.data, n);
        }
        if (!skip)
            *w++ = '}';
    }
    *w++ = '}';
    return w;
}

/* The RFC 5424 NILVALUE timestamp is null: the sender gave no time, and
 * writing the received time there would claim one. Other formats without
 * a time of their own keep the received time, as before. */
static char *put_json_time(struct sl_stamps *st, const struct sl_msg *m, char *w)
{
    w = PUT_LIT(w, ",\"timestamp\":");
    if (m->format == SL_FMT_RFC5424 && m->timestamp.p == NULL) {
        w = PUT_LIT(w, "null");
    } else {
        *w++ = '"';
        w = sl_stamp_rfc3339(&st->ts, msg_time(m), w);
        *w++ = '"';
    }
    w = PUT_LIT(w, ",\"received\":\"");
    w = sl_stamp_rfc3339(&st->rcv, &m->received, w);
    *w++ = '"';
    return w;
}

char *sl_json_render(struct sl_json *j, struct sl_stamps *st, const struct sl_msg *m,
                     char *w)
{
    w = PUT_LIT(w, "{\"pri\":");
    w = put_uint(w, m->pri);
    w = PUT_LIT(w, ",\"facility\":\"");
    w = put_name(w, sl_facility_name(m->facility));
    w = PUT_LIT(w, "\",\"severity\":\"");
    w = put_name(w, sl_severity_name(m->severity));
    w = PUT_LIT(w, "\",\"version\":");
    w = put_uint(w, m->version);
    w = put_json_time(st, m, w);
    w = PUT_LIT(w, ",\"hostname\":");
    w = put_json_field(w, m->hostname);
    w = PUT_LIT(w, ",\"app_name\":");
    w = put_json_field(w, m->app_name);
    w = PUT_LIT(w, ",\"procid\":");
    w = put_json_field(w, m->procid);
    w = PUT_LIT(w, ",\"msgid\":");
    w = put_json_field(w, m->msgid);
    w = PUT_LIT(w, ",\"sd\":");
    w = put_json_sd(j, m, w);
    w = PUT_LIT(w, ",\"msg\":");
    w = put_json_field(w, m->msg);
    w = PUT_LIT(w, ",\"input\":");
    w = put_json_field(w, m->input);
    if (m->flags & SL_MSG_HAS_CRED) {
        w = PUT_LIT(w, ",\"pid\":");
        w = put_uint(w, (unsigned long long)m->pid);
        w = PUT_LIT(w, ",\"uid\":");
        w = put_uint(w, (unsigned long long)m->uid);
        w = PUT_LIT(w, ",\"gid\":");
        w = put_uint(w, (unsigned long long)m->gid);
    }
    if (m->nfields > 0) {
        w = PUT_LIT(w, ",\"fields\":{");
        for (uint32_t i = 0; i < m->nfields; i++) {
            if (i > 0)
                *w++ = ',';
            w = put_json_str(w, m->fields[i].key.p, m->fields[i].key.len);
            *w++ = ':';
            struct sl_str v = m->fields[i].value;
            w = put_json_str(w, v.p != NULL ? v.p : "", v.len);
        }
        *w++ = '}';
    }
    *w++ = '}';
    return w;
}

/* JSON bytes of the "fields" object: quotes, colon and comma around each. */
static size_t fields_bound(const struct sl_msg *m)
{
    size_t n = m->nfields > 0 ? sizeof ",\"fields\":{}" : 0;
    for (uint32_t i = 0; i < m->nfields; i++)
        n += 6 * ((size_t)m->fields[i].key.len + m->fields[i].value.len) + 6;
    return n;
}

size_t sl_json_bound(const struct sl_msg *m)
{
    return 6 * text_total(m) + 16 + 512 + 2 * TIME_MAX_LEN + fields_bound(m); /* two stamps */
}

int sl_json_prepare(struct sl_json *j, const struct sl_msg *m)
{
    return m->sd.p != NULL ? sl_buf_reserve(&j->scratch, m->sd.len) : 0;
}

void sl_json_free(struct sl_json *j)
{
    free(j->scratch.data);
    free(j->ids.v);
    free(j->names.v);
}
/* }=== */
