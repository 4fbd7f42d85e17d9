/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rfc5424.c: libFuzzer target for the RFC 5424 parser and sl_parse.
 * Every span a parser sets must lie inside raw; a message the strict parser
 * accepts must have fields within their RFC limits and an SD text that the
 * iterator walks to its very end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_check.h"
#include "parse/parse.h"

static void walk_sd(struct sl_str sd)
{
    struct sl_sd_iter it;
    struct sl_str id, name, value;
    sl_sd_iter_init(&it, sd);
    while (sl_sd_next_element(&it, &id)) {
        CHECK(id.p >= sd.p && id.p + id.len <= sd.p + sd.len);
        CHECK(id.len >= 1 && id.len <= 32);
        while (sl_sd_next_param(&it, &name, &value)) {
            CHECK(name.p >= sd.p && name.p + name.len <= sd.p + sd.len);
            CHECK(value.p >= sd.p && value.p + value.len <= sd.p + sd.len);
            CHECK(name.len >= 1 && name.len <= 32);
            char *out = malloc(value.len + 1);
            CHECK(out != NULL);
            CHECK(sl_sd_unescape(value, out) <= value.len);
            free(out);
        }
    }
    /* A validated SD text is read completely, not given up on half way. */
    CHECK(it.p == it.end);
}

static void check_strict(const struct sl_msg *m)
{
    CHECK(m->format == SL_FMT_RFC5424);
    CHECK(m->pri <= 191 && m->facility == m->pri >> 3 && m->severity == (m->pri & 7));
    CHECK(m->version >= 1 && m->version <= 999);
    check_span(m, m->timestamp, 32 + 9);
    check_span(m, m->hostname, 255);
    check_span(m, m->app_name, 48);
    check_span(m, m->procid, 128);
    check_span(m, m->msgid, 32);
    check_span(m, m->sd, UINT32_MAX);
    check_span(m, m->msg, UINT32_MAX);
    CHECK((m->timestamp.p != NULL) == ((m->ts.flags & SL_TIME_VALID) != 0));
    CHECK(m->ts.nsec >= 0 && m->ts.nsec <= 999999999 && m->ts.frac_digits <= 9);
    CHECK(m->ts.tzoff_min > -24 * 60 && m->ts.tzoff_min < 24 * 60);
    if (m->sd.p != NULL)
        walk_sd(m->sd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_msg *m = sl_msg_new_heap((const char *)data, size, "fuzz");
    if (m == NULL)
        return 0;
    if (sl_parse_rfc5424(m) == 0)
        check_strict(m);

    static const char host[] = "fuzzhost";
    struct sl_parse_ctx ctx = {.hostname = {host, sizeof host - 1}, .now = 1767225600,
                               .tzoff_min = 60};
    int rc = sl_parse(m, &ctx);
    CHECK(m->pri <= 191 && m->facility <= 23 && m->severity <= 7);
    if (rc != 0) {
        CHECK(m->format == SL_FMT_UNPARSED && (m->flags & SL_MSG_PARSE_ERROR));
        CHECK(m->msg.p == m->raw.p && m->msg.len == m->raw.len);
    } else if (m->format == SL_FMT_RFC5424) {
        check_strict(m);
    } else {
        CHECK(m->format == SL_FMT_RFC3164);
        check_span(m, m->msg, UINT32_MAX);
        check_span(m, m->app_name, 48);
    }
    sl_msg_unref(m);
    return 0;
}
