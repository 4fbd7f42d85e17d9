/* SPDX-License-Identifier: MIT */
/*
 * fuzz_msg_codec.c: libFuzzer target for the disk queue's message codec
 * (core/output/msg_codec.c).
 *
 * The input is taken two ways. As encoded bytes: whatever decodes must
 * re-encode to exactly the same bytes (the form is canonical), with every
 * text field inside the decoded message's own allocation. As a received
 * message: parsed (RFC 5424 or 3164), encoded, decoded, and compared
 * field by field with the original, NIL distinct from empty.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "output/msg_codec.h"
#include "parse/parse.h"

static void same_str(struct sl_str a, struct sl_str b)
{
    CHECK((a.p == NULL) == (b.p == NULL));
    CHECK(a.len == b.len);
    CHECK(a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void same_msg(const struct sl_msg *a, const struct sl_msg *b)
{
    CHECK(a->pri == b->pri && a->facility == b->facility && a->severity == b->severity);
    CHECK(a->version == b->version && a->format == b->format && a->flags == b->flags);
    const struct sl_str *sa[] = {&a->timestamp, &a->hostname, &a->app_name, &a->procid,
                                 &a->msgid, &a->sd, &a->msg, &a->raw, &a->input, &a->peer};
    const struct sl_str *sb[] = {&b->timestamp, &b->hostname, &b->app_name, &b->procid,
                                 &b->msgid, &b->sd, &b->msg, &b->raw, &b->input, &b->peer};
    for (size_t i = 0; i < sizeof sa / sizeof sa[0]; i++)
        same_str(*sa[i], *sb[i]);
    CHECK(memcmp(&a->ts, &b->ts, sizeof a->ts) == 0 || (a->ts.sec == b->ts.sec
          && a->ts.nsec == b->ts.nsec && a->ts.tzoff_min == b->ts.tzoff_min
          && a->ts.frac_digits == b->ts.frac_digits && a->ts.flags == b->ts.flags));
    CHECK(a->nfields == b->nfields);
}

static unsigned char *encode(const struct sl_msg *m, size_t *n)
{
    *n = sl_msg_encoded_size(m);
    CHECK(*n > 0);
    unsigned char *buf = malloc(*n);
    CHECK(buf != NULL);
    sl_msg_encode(m, buf, *n);
    return buf;
}

static void as_encoded(const uint8_t *data, size_t size)
{
    struct sl_msg *m;
    if (sl_msg_decode(data, size, &m) != 0)
        return;
    const char *lo = (const char *)m, *hi = lo + sizeof *m + m->nfields * sizeof(struct sl_field)
                                            + size;
    const struct sl_str *s[] = {&m->timestamp, &m->hostname, &m->app_name, &m->procid,
                                &m->msgid, &m->sd, &m->msg, &m->raw, &m->input, &m->peer};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        CHECK(s[i]->p == NULL || (s[i]->p >= lo && s[i]->p + s[i]->len <= hi));
    for (uint32_t i = 0; i < m->nfields; i++)
        CHECK(sl_msg_field_key_ok(m->fields[i].key.p, m->fields[i].key.len));
    size_t n;
    unsigned char *again = encode(m, &n);
    CHECK(n == size && memcmp(again, data, size) == 0);
    free(again);
    sl_msg_unref(m);
}

static void as_received(const uint8_t *data, size_t size)
{
    struct sl_msg *m = sl_msg_new_heap((const char *)data, size, "fuzz");
    if (m == NULL)
        return;
    struct sl_parse_ctx ctx = {.hostname = {"fuzzhost", 8}, .now = 1767225600};
    sl_parse(m, &ctx);
    size_t n;
    unsigned char *buf = encode(m, &n);
    struct sl_msg *d;
    CHECK(sl_msg_decode(buf, n, &d) == 0);
    same_msg(m, d);
    free(buf);
    sl_msg_unref(d);
    sl_msg_unref(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    as_encoded(data, size);
    as_received(data, size);
    return 0;
}
