/* SPDX-License-Identifier: MIT */
/*
 * json.c: the "json" format (json.h).
 *
 * Escaping works in runs as the text formats do: bytes that need nothing
 * are copied with memcpy, the rest one by one (\uXXXX for control bytes,
 * \\xNN for each byte that is not valid UTF-8, as syslog-ng's format-json
 * writes it: an escaped backslash, so the line stays valid JSON and the
 * byte's value survives instead of collapsing into U+FFFD). An extra
 * field's value that is binary is written as {"base64":"..."} instead.
 * STRUCTURED-DATA becomes an object of objects, a repeated PARAM-NAME an
 * array of its values; repeats are grouped with the seen sets below in
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
 * A map of byte strings, each with a tag, to the order in which they were
 * first added: for grouping SD-IDs, and PARAM-NAMEs within their SD-ID (the
 * tag), in linear time: a hostile 64 KiB message can carry thousands of
 * them. Open addressing; entries of older generations count as empty, so
 * clearing is O(1) and the table is reused from message to message.
 */
struct sl_json_seen_slot {
    const char *p;
    uint32_t len;
    uint32_t tag;
    uint32_t idx; /* the order of first arrival: 0, 1, ... */
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

static size_t seen_hash(uint32_t tag, const char *p, uint32_t len)
{
    uint64_t h = 1469598103934665603ull ^ tag; /* FNV-1a */
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return (size_t)h;
}

/* Finds (tag, p[0..len)), or the empty slot where it belongs. */
static struct sl_json_seen_slot *seen_find(struct sl_json_seen *s, uint32_t tag, const char *p,
                                           uint32_t len)
{
    size_t mask = s->cap - 1;
    for (size_t i = seen_hash(tag, p, len) & mask;; i = (i + 1) & mask) {
        struct sl_json_seen_slot *e = &s->v[i];
        if (e->gen != s->gen || (e->tag == tag && e->len == len && memcmp(e->p, p, len) == 0))
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
        if (old[i].gen == gen) {
            struct sl_json_seen_slot *e = seen_find(s, old[i].tag, old[i].p, old[i].len);
            *e = old[i];
            e->gen = 1;
        }
    }
    free(old);
    return 0;
}

/* The order of first arrival of (tag, k): s->n when it is new, and then
 * added. -ENOMEM when it is new and there is no room. */
static int64_t seen_add(struct sl_json_seen *s, uint32_t tag, struct sl_str k)
{
    if ((s->n + 1) * 2 > s->cap && seen_grow(s) < 0)
        return -ENOMEM;
    struct sl_json_seen_slot *e = seen_find(s, tag, k.p, k.len);
    if (e->gen == s->gen)
        return e->idx;
    *e = (struct sl_json_seen_slot){k.p, k.len, tag, (uint32_t)s->n, s->gen};
    return (int64_t)s->n++;
}
/* }=== */

/* {=== STRUCTURED-DATA, grouped
 *
 * RFC 5424 7.2.5 lets a PARAM-NAME repeat within an element
 * ([origin ip="192.0.2.1" ip="192.0.2.129"]), and a JSON object should not
 * repeat keys: so each name is written once, its value a string when it came
 * once and an array of every value, in order, when it came more often. An
 * SD-ID given twice (which 6.3.2 forbids) is merged into the first, as Lua's
 * m.sd merges it, so no value is dropped. sl_json_prepare() builds the
 * groups as lists in arrays (the order of first arrival is the seen sets'
 * index), and the render walks them.
 */
#define NONE UINT32_MAX

struct sl_json_sd_id {
    struct sl_str id;
    uint32_t first, last; /* its names, in names[] */
};

struct sl_json_sd_name {
    struct sl_str name;
    uint32_t next;        /* the next name of the same SD-ID */
    uint32_t first, last; /* its values, in values[] */
    uint32_t count;
};

struct sl_json_sd_value {
    struct sl_str value; /* escapes in place */
    uint32_t next;
};

/* arr (n elements of `size` bytes, room for *cap) with room for one more:
 * arr itself, or moved, *cap updated; NULL, arr untouched, without memory.
 * n stays below sd.len, so doubling *cap cannot overflow. */
static void *room(void *arr, uint32_t *cap, uint32_t n, size_t size)
{
    if (n < *cap)
        return arr;
    uint32_t c = *cap ? *cap * 2 : 16;
    void *p = sl_realloc(arr, (size_t)c * size);
    if (p != NULL)
        *cap = c;
    return p;
}

static int sd_add_value(struct sl_json *j, uint32_t g, struct sl_str name, struct sl_str value)
{
    struct sl_json_sd *sd = &j->sd;
    int64_t k = seen_add(&j->names, g, name);
    struct sl_json_sd_value *values =
        k < 0 ? NULL : room(sd->values, &sd->capvalues, sd->nvalues, sizeof *values);
    if (values == NULL)
        return -ENOMEM;
    sd->values = values;
    uint32_t v = sd->nvalues++;
    sd->values[v] = (struct sl_json_sd_value){value, NONE};
    if ((uint32_t)k == sd->nnames) { /* a new name of SD-ID g */
        struct sl_json_sd_name *names = room(sd->names, &sd->capnames, sd->nnames, sizeof *names);
        if (names == NULL)
            return -ENOMEM;
        sd->names = names;
        sd->names[sd->nnames++] = (struct sl_json_sd_name){name, NONE, v, v, 1};
        struct sl_json_sd_id *id = &sd->ids[g];
        if (id->last == NONE)
            id->first = (uint32_t)k;
        else
            sd->names[id->last].next = (uint32_t)k;
        id->last = (uint32_t)k;
        return 0;
    }
    struct sl_json_sd_name *n = &sd->names[k];
    sd->values[n->last].next = v;
    n->last = v;
    n->count++;
    return 0;
}

/* Groups m's SD into j->sd. */
static int sd_group(struct sl_json *j, const struct sl_msg *m)
{
    struct sl_json_sd *sd = &j->sd;
    sd->nids = sd->nnames = sd->nvalues = 0;
    seen_clear(&j->ids);
    seen_clear(&j->names);
    if (m->sd.p == NULL || m->format != SL_FMT_RFC5424)
        return 0;
    struct sl_sd_iter it;
    struct sl_str id, name, value;
    sl_sd_iter_init(&it, m->sd);
    while (sl_sd_next_element(&it, &id)) {
        int64_t g = seen_add(&j->ids, 0, id);
        if (g < 0)
            return -ENOMEM;
        if ((uint32_t)g == sd->nids) {
            struct sl_json_sd_id *ids = room(sd->ids, &sd->capids, sd->nids, sizeof *ids);
            if (ids == NULL)
                return -ENOMEM;
            sd->ids = ids;
            sd->ids[sd->nids++] = (struct sl_json_sd_id){id, NONE, NONE};
        }
        while (sl_sd_next_param(&it, &name, &value)) {
            if (sd_add_value(j, (uint32_t)g, name, value) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}
/* }=== */

/* {=== JSON strings */
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
static char *put_sd_value(struct sl_json *j, struct sl_str value, char *w)
{
    size_t n = sl_sd_unescape(value, j->scratch.data);
    return put_json_str(w, j->scratch.data, n);
}

/* STRUCTURED-DATA as an object of objects with unescaped values, from the
 * groups sd_group() made of m->sd (see there). Never more than the SD text
 * escaped 6 times over: per parameter, a name and a value in at least
 * name + value + 4 bytes (' ', '=' and two quotes) become at most
 * 6 (name + value) + 7 (quotes, ':', ',', '['), and a ']' per name is paid
 * by its ' ' of the first value. At most 6 * sd.len + 16. */
static char *put_json_sd(struct sl_json *j, const struct sl_msg *m, char *w)
{
    if (m->sd.p == NULL || m->format != SL_FMT_RFC5424)
        return PUT_LIT(w, "null");
    const struct sl_json_sd *sd = &j->sd;
    *w++ = '{';
    for (uint32_t g = 0; g < sd->nids; g++) {
        if (g > 0)
            *w++ = ',';
        w = put_json_str(w, sd->ids[g].id.p, sd->ids[g].id.len);
        w = PUT_LIT(w, ":{");
        for (uint32_t k = sd->ids[g].first; k != NONE; k = sd->names[k].next) {
            const struct sl_json_sd_name *n = &sd->names[k];
            if (k != sd->ids[g].first)
                *w++ = ',';
            w = put_json_str(w, n->name.p, n->name.len);
            *w++ = ':';
            if (n->count == 1) {
                w = put_sd_value(j, sd->values[n->first].value, w);
                continue;
            }
            *w++ = '[';
            for (uint32_t v = n->first; v != NONE; v = sd->values[v].next) {
                if (v != n->first)
                    *w++ = ',';
                w = put_sd_value(j, sd->values[v].value, w);
            }
            *w++ = ']';
        }
        *w++ = '}';
    }
    *w++ = '}';
    return w;
}

/* True when an extra field's value is binary in journalctl's sense
 * (systemd's utf8_is_printable(), which its json output goes by): bytes
 * that are not valid UTF-8, or a control character other than TAB and LF
 * (C0, DEL, and the C1 range U+0080..U+009F). */
static bool is_binary(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
                return true;
            p++;
            continue;
        }
        size_t len = utf8_len(p, (size_t)(end - p));
        if (len == 0 || (c == 0xc2 && p[1] < 0xa0))
            return true;
        p += len;
    }
    return false;
}

/* n bytes as standard base64 with padding (RFC 4648 section 4): 4 bytes
 * for every 3 or part of 3. */
static char *put_base64(char *w, const unsigned char *p, size_t n)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (; n >= 3; p += 3, n -= 3) {
        uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        *w++ = b64[v >> 18];
        *w++ = b64[(v >> 12) & 63];
        *w++ = b64[(v >> 6) & 63];
        *w++ = b64[v & 63];
    }
    if (n > 0) {
        uint32_t v = (uint32_t)p[0] << 16 | (n == 2 ? (uint32_t)p[1] << 8 : 0);
        *w++ = b64[v >> 18];
        *w++ = b64[(v >> 12) & 63];
        *w++ = n == 2 ? b64[(v >> 6) & 63] : '=';
        *w++ = '=';
    }
    return w;
}

/* An extra field's value: a string, or {"base64":"..."} when it is binary
 * (is_binary), so its bytes survive exactly, as journalctl -o json keeps
 * them (it writes an array of numbers). Header fields keep the \\xNN rule:
 * they are text by definition, and a reader expects a string there. */
static char *put_json_extra(char *w, struct sl_str v)
{
    const char *p = v.p != NULL ? v.p : "";
    if (!is_binary(p, v.len))
        return put_json_str(w, p, v.len);
    w = PUT_LIT(w, "{\"base64\":\"");
    w = put_base64(w, (const unsigned char *)p, v.len);
    return PUT_LIT(w, "\"}");
}

static char *put_json_fields(const struct sl_msg *m, char *w)
{
    w = PUT_LIT(w, ",\"fields\":{");
    for (uint32_t i = 0; i < m->nfields; i++) {
        if (i > 0)
            *w++ = ',';
        w = put_json_str(w, m->fields[i].key.p, m->fields[i].key.len);
        *w++ = ':';
        w = put_json_extra(w, m->fields[i].value);
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
    if (m->nfields > 0)
        w = put_json_fields(m, w);
    *w++ = '}';
    return w;
}

/* JSON bytes of the "fields" object: quotes, colon and comma around each,
 * and a value escaped 6 times over or {"base64":"..."}: 13 bytes and 4 for
 * every 3 or part of 3, within 6 per byte + 16. */
static size_t fields_bound(const struct sl_msg *m)
{
    size_t n = m->nfields > 0 ? sizeof ",\"fields\":{}" : 0;
    for (uint32_t i = 0; i < m->nfields; i++)
        n += 6 * ((size_t)m->fields[i].key.len + m->fields[i].value.len) + 6 + 16;
    return n;
}

size_t sl_json_bound(const struct sl_msg *m)
{
    return 6 * text_total(m) + 16 + 512 + 2 * TIME_MAX_LEN + fields_bound(m); /* two stamps */
}

int sl_json_prepare(struct sl_json *j, const struct sl_msg *m)
{
    if (m->sd.p != NULL && sl_buf_reserve(&j->scratch, m->sd.len) < 0)
        return -ENOMEM;
    return sd_group(j, m);
}

void sl_json_free(struct sl_json *j)
{
    free(j->scratch.data);
    free(j->ids.v);
    free(j->names.v);
    free(j->sd.ids);
    free(j->sd.names);
    free(j->sd.values);
}
/* }=== */
