/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rfc3164.c: libFuzzer target for the RFC 3164 parser. Every span must
 * lie inside raw (the hostname may instead be the one ctx supplies), within
 * the parser's limits, and in order: HOSTNAME before TAG before MSG.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_check.h"
#include "parse/parse.h"

static const char host[] = "fuzzhost";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_msg *m = sl_msg_new_heap((const char *)data, size, "fuzz");
    if (m == NULL)
        return 0;
    /* 2026-01-01T00:00:00Z seen from UTC+01:00: a New Year for inference. */
    struct sl_parse_ctx ctx = {.hostname = {host, sizeof host - 1}, .now = 1767225600,
                               .tzoff_min = 60};
    if (sl_parse_rfc3164(m, &ctx) == 0) {
        CHECK(m->format == SL_FMT_RFC3164);
        CHECK(m->pri <= 191 && m->facility == m->pri >> 3 && m->severity == (m->pri & 7));
        check_span(m, m->timestamp, UINT32_MAX);
        if (m->hostname.p != host)
            check_span(m, m->hostname, 255);
        check_span(m, m->app_name, 48);
        check_span(m, m->procid, UINT32_MAX);
        CHECK(m->msgid.p == NULL && m->sd.p == NULL);
        CHECK(m->msg.p != NULL);
        check_span(m, m->msg, UINT32_MAX);
        CHECK((m->timestamp.p != NULL) == ((m->ts.flags & SL_TIME_VALID) != 0));
        CHECK(m->ts.nsec >= 0 && m->ts.nsec <= 999999999 && m->ts.frac_digits <= 9);
        if (m->app_name.p != NULL)
            CHECK(m->app_name.p + m->app_name.len <= m->msg.p);
        if (m->timestamp.p != NULL && m->hostname.p != host)
            CHECK(m->timestamp.p + m->timestamp.len < m->hostname.p);
    }
    sl_msg_unref(m);
    return 0;
}
