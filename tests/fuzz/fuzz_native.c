/* SPDX-License-Identifier: MIT */
/*
 * fuzz_native.c: libFuzzer target for the journal native protocol parser.
 * Every header field set must lie inside the message's raw bytes, and the
 * fields kept must number at most SL_MSG_MAX_FIELDS with valid keys.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_check.h"
#include "parse/parse_native.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "fuzz");
    struct sl_msg_builder b;
    if (sl_msg_build_begin(&b, &pool, (const char *)data, size, NULL, 0) == 0) {
        struct sl_native_counts c;
        if (sl_parse_native(&b, &c) < 0) {
            sl_msg_build_abort(&b);
        } else {
            struct sl_msg *m = sl_msg_build_end(&b);
            CHECK(m->nfields <= SL_MSG_MAX_FIELDS);
            CHECK(m->severity <= 7 && m->facility <= 23);
            check_span(m, m->msg, UINT32_MAX);
            check_span(m, m->app_name, UINT32_MAX);
            check_span(m, m->procid, UINT32_MAX);
            check_span(m, m->timestamp, UINT32_MAX);
            for (uint32_t i = 0; i < m->nfields; i++)
                CHECK(sl_native_key_ok(m->fields[i].key.p, m->fields[i].key.len));
            sl_msg_unref(m);
        }
    }
    sl_msgpool_release(&pool);
    return 0;
}
