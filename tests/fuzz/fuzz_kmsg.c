/* SPDX-License-Identifier: MIT */
/*
 * fuzz_kmsg.c: libFuzzer target for the /dev/kmsg record parser. A record
 * is dropped whole or becomes a message whose text fields all lie in the
 * message's own bytes (raw, or what the parser reserved for the unescaped
 * text) or are the static "kernel"; the text is never longer than the
 * record; the fields kept number at most SL_MSG_MAX_FIELDS, every key one
 * a field may have; and the time is a valid one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_check.h"
#include "parse/parse.h"
#include "parse/parse_kmsg.h"

/* s is NIL, or inside [lo, hi). */
static void check_inside(struct sl_str s, const char *lo, const char *hi)
{
    if (s.p == NULL) {
        CHECK(s.len == 0);
        return;
    }
    CHECK(s.p >= lo && s.p <= hi && s.len <= (size_t)(hi - s.p));
}

static void check_message(const struct sl_msg *m, size_t size, const struct sl_kmsg_info *k)
{
    CHECK(m->raw.len == size);
    CHECK(m->severity <= 7 && m->facility <= 23 && m->pri == m->facility * 8 + m->severity);
    CHECK(m->ts.flags == SL_TIME_VALID && m->ts.nsec >= 0 && m->ts.nsec < 1000000000);
    CHECK(m->msg.p != NULL && m->msg.len <= size);
    CHECK(m->app_name.len == 6 && memcmp(m->app_name.p, "kernel", 6) == 0);
    CHECK(m->nfields <= SL_MSG_MAX_FIELDS);
    CHECK(m->nfields + k->dropped >= 2); /* the sequence number and the time, kept or counted */
    /* The message's bytes: from the struct to the end of its last field's value. */
    const char *lo = (const char *)m, *hi = m->raw.p + m->raw.len;
    for (uint32_t i = 0; i < m->nfields; i++) {
        const struct sl_str *v = &m->fields[i].value;
        if (v->p + v->len > hi)
            hi = v->p + v->len;
    }
    check_inside(m->msg, lo, hi);
    check_span(m, m->procid, 0);
    check_span(m, m->timestamp, 0);
    for (uint32_t i = 0; i < m->nfields; i++) {
        CHECK(sl_msg_field_key_ok(m->fields[i].key.p, m->fields[i].key.len));
        CHECK(m->fields[i].key.p[0] == '_');
        check_inside(m->fields[i].value, lo, hi);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "fuzz");
    struct sl_parse_ctx ctx = {.hostname = {"h", 1}};
    struct sl_msg_builder b;
    if (sl_msg_build_begin(&b, &pool, (const char *)data, size, NULL, 0) == 0) {
        struct sl_kmsg_info k = {.boot_wall_ns = size % 2 ? -1234567890123ll : 1700000000123456789ll};
        int rc = sl_parse_kmsg(&b, &ctx, &k);
        if (rc == -EBADMSG) {
            sl_msg_build_abort(&b);
        } else {
            CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
            struct sl_msg *m = sl_msg_build_end(&b);
            check_message(m, size, &k);
            sl_msg_unref(m);
        }
    }
    sl_msgpool_release(&pool);
    return 0;
}
