/* SPDX-License-Identifier: MIT */
/*
 * fuzz_format.c: libFuzzer target for the output formats (core/format/):
 * hostile structured data (json's grouping of repeated SD-IDs and
 * PARAM-NAMEs) and hostile extra-field values (json's base64, rfc5424's
 * fields@32473 element, templates).
 *
 * Input: a message's bytes, then optionally "\n" and extra fields, one
 * "KEY=VALUE" a line (VALUE any bytes but LF; a key sl_msg_field_key_ok()
 * refuses, or one given before, is skipped, as the builder skips it).
 *
 * What must hold, for every message: each format writes one line within
 * its bound (sl_format_append() asserts the bound); json is valid UTF-8
 * and valid JSON; a message parsed as RFC 5424 comes out of "rfc5424" as a
 * line the strict parser takes again, with one fields@32473 element at
 * most, holding a parameter for every field whose key is an SD-NAME.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "format/format.h"
#include "parse/parse.h"

#define MAX_FIELDS 16

/* {=== a small JSON checker: one well-formed value, valid UTF-8 */
static bool utf8_ok(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i], len = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2
                                 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
        if (len == 0 || i + len > n)
            return false;
        for (unsigned k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
        }
        if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
            (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f))
            return false;
        i += len;
    }
    return true;
}

static const char *j_value(const char *p, const char *end, int depth);

static const char *j_string(const char *p, const char *end)
{
    if (p >= end || *p++ != '"')
        return NULL;
    while (p < end && *p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            if (++p >= end)
                return NULL;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++) {
                    if (p + i >= end || strchr("0123456789abcdefABCDEF", p[i]) == NULL)
                        return NULL;
                }
                p += 4;
            } else if (strchr("\"\\/bfnrt", *p) == NULL) {
                return NULL;
            }
        }
        p++;
    }
    return p < end ? p + 1 : NULL;
}

static const char *j_members(const char *p, const char *end, char close, int depth)
{
    p++;
    if (p < end && *p == close)
        return p + 1;
    for (;;) {
        if (close == '}') {
            p = j_string(p, end);
            if (p == NULL || p >= end || *p++ != ':')
                return NULL;
        }
        p = j_value(p, end, depth + 1);
        if (p == NULL || p >= end)
            return NULL;
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static const char *j_value(const char *p, const char *end, int depth)
{
    if (p >= end || depth > 8)
        return NULL;
    if (*p == '{' || *p == '[')
        return j_members(p, end, *p == '{' ? '}' : ']', depth);
    if (*p == '"')
        return j_string(p, end);
    if ((size_t)(end - p) >= 4 && memcmp(p, "null", 4) == 0)
        return p + 4;
    const char *s = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p > s ? p : NULL;
}
/* }=== */

/* Reads "KEY=VALUE" lines into f; returns how many fields. */
static uint32_t read_fields(const char *p, const char *end, struct sl_field *f)
{
    uint32_t n = 0;
    while (p < end && n < MAX_FIELDS) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        const char *eq = memchr(p, '=', (size_t)(eol - p));
        if (eq != NULL && sl_msg_field_key_ok(p, (size_t)(eq - p))) {
            struct sl_str key = {p, (uint32_t)(eq - p)};
            bool dup = false;
            for (uint32_t i = 0; i < n; i++)
                dup = dup || (f[i].key.len == key.len && memcmp(f[i].key.p, key.p, key.len) == 0);
            if (!dup)
                f[n++] = (struct sl_field){key, {eq + 1, (uint32_t)(eol - eq - 1)}};
        }
        p = eol + 1;
    }
    return n;
}

/* The line m makes in spec, its '\n' checked and cut. The caller frees it. */
static char *render(const char *spec, const struct sl_msg *m, size_t *len)
{
    struct sl_format *f = NULL;
    char err[256];
    CHECK(sl_format_new(spec, &f, err, sizeof err) == 0);
    struct sluice_buf b = {0};
    CHECK(sl_format_append(f, m, &b) == 0);
    sl_format_free(f);
    CHECK(b.len > 0 && b.data[b.len - 1] == '\n');
    CHECK(memchr(b.data, '\n', b.len - 1) == NULL);
    *len = b.len - 1;
    return b.data;
}

static void check_json(const struct sl_msg *m)
{
    size_t n;
    char *j = render("json", m, &n);
    CHECK(utf8_ok((const unsigned char *)j, n));
    CHECK(j_value(j, j + n, 0) == j + n);
    free(j);
}

/* The fields@32473 elements of sd and the parameters in them. */
static void count_ours(struct sl_str sd, uint32_t *elements, uint32_t *params)
{
    struct sl_sd_iter it;
    struct sl_str id, name, value;
    *elements = *params = 0;
    if (sd.p == NULL)
        return;
    sl_sd_iter_init(&it, sd);
    while (sl_sd_next_element(&it, &id)) {
        bool ours = id.len == 12 && memcmp(id.p, "fields@32473", 12) == 0;
        *elements += ours;
        while (sl_sd_next_param(&it, &name, &value))
            *params += ours;
    }
}

/* The strict parser takes the rfc5424 line again, and its fields@32473
 * elements hold the message's own parameters of them and one per field
 * whose key fits an SD-NAME: in an element of their own when it had none,
 * else in its first. */
static void check_rfc5424_again(const struct sl_msg *m)
{
    uint32_t want = 0, own_el, own, el, got;
    for (uint32_t i = 0; i < m->nfields; i++)
        want += m->fields[i].key.len <= 32;
    count_ours(m->sd, &own_el, &own);
    size_t n;
    char *l = render("rfc5424", m, &n);
    struct sl_msg *r = sl_msg_new_heap(l, n, "again");
    CHECK(r != NULL);
    CHECK(sl_parse_rfc5424(r) == 0);
    count_ours(r->sd, &el, &got);
    CHECK(el == own_el + (own_el == 0 && want > 0));
    CHECK(got == own + want);
    sl_msg_unref(r);
    free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    const char *nl = memchr(p, '\n', size);
    size_t len = nl != NULL ? (size_t)(nl - p) : size;
    struct sl_msg *m = sl_msg_new_heap(p, len, "fuzz");
    if (m == NULL)
        return 0;
    static const char host[] = "fuzzhost";
    struct sl_parse_ctx ctx = {.hostname = {host, sizeof host - 1}, .now = 1767225600,
                               .tzoff_min = 60};
    sl_parse(m, &ctx);
    struct sl_field fields[MAX_FIELDS];
    m->nfields = nl != NULL ? read_fields(nl + 1, end, fields) : 0;
    m->fields = m->nfields > 0 ? fields : NULL;

    static const char *const text[] = {"raw", "rfc3164", "rsyslog", "rfc5424",
                                       "{msg}|{sd}|{fields.a}|{fields.b}|{tag}"};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        size_t n;
        free(render(text[i], m, &n));
    }
    check_json(m);
    if (m->format == SL_FMT_RFC5424)
        check_rfc5424_again(m);
    sl_msg_unref(m);
    return 0;
}
